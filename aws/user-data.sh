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
#   stripe_*, oidc_*, secret_key_parameter
#                   optional features (empty: off); the *_parameter ones
#                   name SSM SecureString parameters holding secrets
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

# Optional features go to the same file (GAS_* override gas.toml): Stripe
# payments and an OpenID Connect provider, for the web service only. Their
# secrets are read here from SSM Parameter Store, so that none is in
# Terraform's state or this user data.
env_value() {
  if [ -n "$2" ]; then printf '%s=%s\n' "$1" "$2" >>/etc/gas/env; fi
}
env_secret() {
  if [ -n "$2" ]; then
    value=$(aws ssm get-parameter --with-decryption --name "$2" --query Parameter.Value --output text)
    printf '%s=%s\n' "$1" "$value" >>/etc/gas/env
  fi
}
if [ "$service" = web ]; then
  env_value GAS_STRIPE_PRICE_ID '${stripe_price_id}'
  env_value GAS_STRIPE_PUBLISHABLE_KEY '${stripe_publishable_key}'
  env_secret GAS_STRIPE_SECRET_KEY '${stripe_secret_key_parameter}'
  env_secret GAS_STRIPE_WEBHOOK_SECRET '${stripe_webhook_secret_parameter}'
  env_secret GAS_SECRET_KEY '${secret_key_parameter}'
  env_value GAS_OIDC_ISSUER '${oidc_issuer}'
  env_value GAS_OIDC_CLIENT_ID '${oidc_client_id}'
  env_secret GAS_OIDC_CLIENT_SECRET '${oidc_client_secret_parameter}'
  env_value GAS_OIDC_NAME '${oidc_name}'
fi
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
