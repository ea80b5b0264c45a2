"""The configuration the user data writes (/etc/gas/gas.toml, rendered from
aws/gas.toml.tftpl by infra/asg.tf) has every key the services need on AWS,
only keys Config knows, and values that agree with the rest of infra/."""

import re
import tomllib

import pytest

import rust_sources as rust
import terraform as tf

CONFIG_RS = rust.REPO / "crates/gas/src/config.rs"

# Config fields that a deployment on AWS leaves to the code's defaults, why:
NOT_FOR_AWS = {
    "expedited_retrieval_ms": "the embedded cold store's retrieval delay",
    "standard_retrieval_ms": "the embedded cold store's retrieval delay",
    "refuse_expedited": "the embedded cold store's test switch",
    "sfn_role_arn": "only `gas provision` creates the state machine",
    "oidc_client_secret_file": "the client secret comes from SSM into the environment instead",
    "oidc_providers": "more providers go in a configuration file; the variables configure one",
}
# Optional features: the web instances' user data writes these to
# /etc/gas/env (GAS_*), only when their Terraform variable is set; secrets
# are read there from SSM Parameter Store, never rendered by Terraform.
FROM_ENVIRONMENT = {
    "secret_key": "secret_key_parameter",
    "oidc_issuer": "oidc_issuer",
    "oidc_client_id": "oidc_client_id",
    "oidc_client_secret": "oidc_client_secret_parameter",
    "oidc_name": "oidc_name",
    "stripe_secret_key": "stripe_secret_key_parameter",
    "stripe_webhook_secret": "stripe_webhook_secret_parameter",
    "stripe_price_id": "stripe_price_id",
    "stripe_publishable_key": "stripe_publishable_key",
}
SECRETS = {"secret_key", "oidc_client_secret", "stripe_secret_key", "stripe_webhook_secret"}
# Fields that must not be set on AWS: they point the services at emulators.
EMULATOR_ONLY = {"aws_endpoint_url", "sns_cert_url_prefixes"}


def config_fields() -> list[str]:
    code = rust.strip_comments_and_tests(CONFIG_RS.read_text())
    body = re.search(r"pub struct Config\s*\{(.*?)\n\}", code, re.S).group(1)
    return re.findall(r"pub (\w+):", body)


def rendered(tfvars: dict | None = None) -> dict:
    return tomllib.loads(tf.evaluate(tf.local("gas_config"), tfvars=tfvars))


def test_every_field_is_accounted_for():
    fields = set(config_fields())
    assert set(NOT_FOR_AWS) | EMULATOR_ONLY | set(FROM_ENVIRONMENT) <= fields, "a field listed here is gone from Config"


@pytest.mark.parametrize("cold_storage", ["s3-class", "glacier-vault"])
def test_rendered_configuration_has_every_required_key(cold_storage):
    config = rendered(dict(tf.example_tfvars(), cold_storage=cold_storage))
    fields = set(config_fields())
    unknown = set(config) - fields
    assert not unknown, f"keys Config does not have (figment would ignore them): {unknown}"
    required = fields - set(NOT_FOR_AWS) - EMULATOR_ONLY - set(FROM_ENVIRONMENT)
    missing = required - set(config)
    assert not missing, f"gas.toml leaves out {sorted(missing)}: add them to aws/gas.toml.tftpl (or to NOT_FOR_AWS, saying why)"
    assert not EMULATOR_ONLY & set(config)
    assert not set(FROM_ENVIRONMENT) & set(config), "optional keys come through the environment"
    assert config["backend"] == "aws"
    assert config["cold_storage"] == cold_storage


def test_values_agree_with_the_infrastructure():
    example = tf.example_tfvars()
    config = rendered()
    assert config["aws_prefix"] == example["prefix"]
    assert config["web_public_url"] == config["util_public_url"] == f"https://{example['domain_name']}"
    assert config["email_from"] == example["email_from"]
    ports = tf.local("service_ports")
    for service in ("web", "util", "ann"):
        host, port = config[f"{service}_addr"].rsplit(":", 1)
        assert host == "0.0.0.0" and int(port) == ports[service]
        assert tf.resource("aws_lb_target_group", "service")["port"] == "${each.value}"
    assert config["visibility_timeout"] == tf.variable_default("visibility_timeout")
    assert config["max_receives"] == tf.variable_default("max_receives")
    # data_dir is the units' state directory, the only writable place.
    for unit in (tf.REPO / "aws/systemd").glob("gas-*.service"):
        text = unit.read_text()
        assert re.search(r"^StateDirectory=gas$", text, re.M)
        assert config["data_dir"] == "/var/lib/gas"
        assert re.search(r"^Environment=GAS_CONFIG=/etc/gas/gas\.toml$", text, re.M)
    assert "cat >/etc/gas/gas.toml <<'GAS_TOML'" in (tf.REPO / "aws/user-data.sh").read_text()
    assert config["log_format"] == "json"
    # The client's address is the right-most X-Forwarded-For entry, which
    # the load balancer appends; the instances admit nothing else.
    assert config["trust_forwarded_for"] is True
    assert tf.resource("aws_lb", "gas")["xff_header_processing_mode"] == "append"


def test_validated_values_are_valid():
    """What Config::validate checks, checked on the rendered file."""
    config = rendered()
    assert config["ann_workers"] >= 1 and config["max_receives"] >= 1 and config["visibility_timeout"] >= 1
    assert config["s3_archive_storage_class"] in ("DEEP_ARCHIVE", "GLACIER")
    assert re.fullmatch(r"[a-z0-9-]+", config["aws_prefix"])


def test_optional_keys_come_from_variables_and_secrets_from_ssm():
    """Each optional key has its GAS_* line in the web user data, filled from
    its variable (empty by default: off); secrets from SSM parameters."""
    user_data = (tf.REPO / "aws/user-data.sh").read_text()
    for field, variable in FROM_ENVIRONMENT.items():
        helper = "env_secret" if field in SECRETS else "env_value"
        line = f"{helper} GAS_{field.upper()} '${{{variable}}}'"
        assert line in user_data, f"user-data.sh lacks {line!r}"
        assert tf.variable_default(variable) == "", f"{variable} must default to off"
        if field in SECRETS:
            assert variable.endswith("_parameter"), f"{field} must come from an SSM parameter"
