#!/usr/bin/env bash
# EC2 user data for one GAS service instance. Terraform (infra/) renders it
# with templatefile(): ${service} is web, ann or util; ${artifact} is the
# s3:// URL of the release binary; ${config} is the gas.toml text.
set -euo pipefail

id -u gas >/dev/null 2>&1 || useradd --system --home /var/lib/gas --shell /usr/sbin/nologin gas
install -d -o gas -g gas /var/lib/gas /etc/gas

# The instance profile grants read access to the artifact bucket.
aws s3 cp "${artifact}" /usr/local/bin/gas
chmod 0755 /usr/local/bin/gas

cat >/etc/gas/gas.toml <<'TOML'
${config}
TOML
chmod 0644 /etc/gas/gas.toml

aws s3 cp "${units}/gas-${service}.service" /etc/systemd/system/gas-${service}.service
systemctl daemon-reload
systemctl enable --now gas-${service}.service
