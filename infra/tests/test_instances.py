"""The instances: the user data template and what it renders to are valid
bash, it installs what the units run, and the units are hardened and pass
`systemd-analyze verify`."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import terraform as tf

AWS = tf.REPO / "aws"
USER_DATA = AWS / "user-data.sh"
SERVICES = ["web", "ann", "util"]
UNITS = {s: AWS / "systemd" / f"gas-{s}.service" for s in SERVICES}

HARDENING = {
    "User": "gas",
    "Group": "gas",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "StateDirectory": "gas",
    "Restart": "on-failure",
    "CapabilityBoundingSet": "",
}


def user_data_call() -> str:
    return tf.expression(tf.resource("aws_launch_template", "service")["user_data"])


def rendered_user_data(service: str) -> str:
    return tf.evaluate(user_data_call(), each_key=service)


def bash_n(text: str, tmp_path: Path, name: str):
    script = tmp_path / name
    script.write_text(text)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, f"bash -n {name}: {result.stderr}"


def test_template_is_given_exactly_its_placeholders():
    path, variables = tf.templatefile_call(user_data_call())
    assert path == '"${path.module}/../aws/user-data.sh"'
    given = set(tf.template_arguments(variables, each_key="web"))
    assert given == tf.template_placeholders(USER_DATA.read_text())
    _, config_variables = tf.templatefile_call(tf.expression(tf.local("gas_config")))
    config_template = (AWS / "gas.toml.tftpl").read_text()
    assert set(tf.template_arguments(config_variables)) == tf.template_placeholders(config_template)


def test_template_is_valid_bash(tmp_path):
    bash_n(USER_DATA.read_text(), tmp_path, "user-data.sh")


@pytest.mark.parametrize("service", SERVICES)
def test_rendered_user_data_is_valid_bash(service, tmp_path):
    bash_n(rendered_user_data(service), tmp_path, f"user-data-{service}.sh")


@pytest.mark.parametrize("service", SERVICES)
def test_rendered_user_data_fits_ec2s_limit(service):
    assert len(rendered_user_data(service).encode()) < 16 * 1024, "EC2 takes at most 16 KiB of user data"


@pytest.mark.parametrize("service", SERVICES)
def test_user_data_installs_what_the_unit_runs(service):
    script = rendered_user_data(service)
    unit = UNITS[service].read_text()
    assert re.search(rf"^ExecStart=/usr/local/bin/gas {service}$", unit, re.M)
    assert 'install -o root -g root -m 0755 "$download" /usr/local/bin/gas' in script
    assert "sha256sum --check" in script
    # The unit's text is what Terraform reads from aws/systemd.
    assert unit.strip() in script
    assert f"/var/log/gas/gas-{service}.log" in script and f"append:/var/log/gas/gas-{service}.log" in unit
    assert f'"log_group_name": "/{tf.example_tfvars()["prefix"]}/{service}"' in script
    assert 'systemctl enable --now "gas-$service.service"' in script


@pytest.mark.parametrize("service", SERVICES)
def test_unit_is_hardened(service):
    directives = {}
    for line in UNITS[service].read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            directives.setdefault(key, value)
    for key, value in HARDENING.items():
        assert directives.get(key) == value, f"gas-{service}.service: {key}={directives.get(key)!r}, want {value!r}"
    # The state directory is the only writable place.
    assert not {"ReadWritePaths", "ReadWriteDirectories"} & set(directives)
    assert directives["KillSignal"] == "SIGINT", "gas shuts down gracefully on SIGINT"


def unit_sections(service: str) -> dict[str, dict[str, str]]:
    sections, current = {}, None
    for line in UNITS[service].read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            current[key] = value
    return sections


@pytest.mark.parametrize("service", SERVICES)
def test_unit_restarts_without_a_start_limit(service):
    """A service that fails at start (its role's policy not there yet, AWS
    not reachable for a while) keeps being restarted, a few seconds apart,
    instead of giving up after a burst: systemd never leaves it failed for
    good, and the load balancer's readiness check decides meanwhile."""
    sections = unit_sections(service)
    assert sections["Unit"].get("StartLimitIntervalSec") == "0", f"gas-{service}.service: StartLimitIntervalSec=0 turns the start limit off"
    assert "StartLimitBurst" not in sections["Unit"] and not {"StartLimitIntervalSec", "StartLimitBurst"} & set(sections["Service"])
    assert sections["Service"]["Restart"] == "on-failure"
    restart_sec = sections["Service"]["RestartSec"]
    assert re.fullmatch(r"\d+", restart_sec) and 1 <= int(restart_sec) <= 30, f"RestartSec={restart_sec}: a few seconds"
    text = UNITS[service].read_text()
    assert "Give up" not in text and "10 failed starts" not in text, "the comments still describe the start limit"


def test_units_pass_systemd_analyze_verify(tmp_path):
    """In a scratch root that has the distribution's units and a stub where
    the user data installs the binary (verify checks ExecStart exists)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: install Debian's systemd package (scripts/check-infra.sh does)"
    system_units = next(p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir())
    root = tmp_path / "root"
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    stub = root / "usr/local/bin/gas"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS.values():
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    result = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={root}", *[f"/etc/systemd/system/{u.name}" for u in UNITS.values()]],
        capture_output=True,
        text=True,
    )
    # verify only warns about unknown keys: any output is a failure here.
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result.stdout + result.stderr
