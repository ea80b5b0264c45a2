#!/usr/bin/env bash
# EC2 user data for one GAS service instance (Amazon Linux 2023: dnf, the
# AWS CLI v2, systemd). Terraform (infra/asg.tf) renders it with
# templatefile(); every dollar-brace placeholder is filled in there:
#   service         web, ann or util
#   region          the AWS region
#   release_bucket, release_key, release_sha256
#                   where the gas binary is and the digest it must have
#   config          the text of /etc/gas/gas.toml (aws/gas.toml.tftpl)
#   unit            the text of aws/systemd/gas-<service>.service
#   log_group       the CloudWatch log group of this service
# So that templatefile() leaves them alone, the script's own variables are
# written without braces. cloud-init logs the run to
# /var/log/cloud-init-output.log; a failure leaves the instance unhealthy,
# and the group replaces it.
set -euo pipefail

service='${service}'
export AWS_REGION='${region}'

# The CloudWatch agent ships the service's log; logrotate bounds the file.
dnf install -y -q amazon-cloudwatch-agent logrotate

# The service's own user: no login, no home besides its state directory.
id -u gas >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/lib/gas --shell /usr/sbin/nologin gas

# The release binary, refused unless it has the digest Terraform was given.
download=$(mktemp)
aws s3 cp --only-show-errors 's3://${release_bucket}/${release_key}' "$download"
printf '%s  %s\n' '${release_sha256}' "$download" | sha256sum --check --quiet -
install -o root -g root -m 0755 "$download" /usr/local/bin/gas
rm -f "$download"

# The configuration: root writes it, the service reads it.
install -d -o root -g gas -m 0750 /etc/gas
cat >/etc/gas/gas.toml <<'GAS_TOML'
${config}
GAS_TOML
# The SDK would find the region in the instance metadata too; saying it
# spares a lookup and makes `gas user add` on the instance work as is.
echo "AWS_REGION=$AWS_REGION" >/etc/gas/env
chown root:gas /etc/gas/gas.toml /etc/gas/env
chmod 0640 /etc/gas/gas.toml /etc/gas/env

# systemd appends the service's output (JSON lines) to this file, which the
# agent ships; copytruncate because systemd keeps the file open.
install -d -o root -g root -m 0755 /var/log/gas
# Made here so that the agent's own user can read it whatever the unit's
# umask; systemd appends to an existing file as it is.
install -o root -g root -m 0644 /dev/null "/var/log/gas/gas-$service.log"
cat >/etc/logrotate.d/gas <<'LOGROTATE'
/var/log/gas/*.log {
    daily
    rotate 7
    maxsize 100M
    missingok
    notifempty
    compress
    delaycompress
    copytruncate
}
LOGROTATE

agent_config=/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
cat >"$agent_config" <<'AGENT'
{
  "agent": { "run_as_user": "cwagent" },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          {
            "file_path": "/var/log/gas/gas-${service}.log",
            "log_group_name": "${log_group}",
            "log_stream_name": "{instance_id}"
          }
        ]
      }
    }
  }
}
AGENT
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$agent_config"

cat >"/etc/systemd/system/gas-$service.service" <<'GAS_UNIT'
${unit}
GAS_UNIT
systemctl daemon-reload
systemctl enable --now "gas-$service.service"
