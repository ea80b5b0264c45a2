"""Every Terraform file parses, and what infra/ and aws/ hold is portable."""

import re

import pytest

import terraform as tf


@pytest.mark.parametrize("path", tf.tf_files(), ids=lambda p: p.name)
def test_terraform_file_parses(path):
    parsed = tf.parse(path)
    assert parsed, f"{path.name} is empty"


def test_example_variables_parse_and_name_only_declared_variables():
    declared = set(tf.module()["variable"])
    example = tf.example_tfvars()
    assert set(example) <= declared, f"example.tfvars sets undeclared {set(example) - declared}"
    required = {name for name, body in tf.module()["variable"].items() if "default" not in body}
    assert required <= set(example), f"example.tfvars lacks required {required - set(example)}"


def test_no_machine_paths_or_registry_hosts():
    """Files that travel with the repository name no host's own paths."""
    files = [p for p in (tf.REPO / "infra").iterdir() if p.is_file()]
    files += [p for p in (tf.REPO / "aws").rglob("*") if p.is_file()]
    files += [tf.REPO / "docs/DEPLOY.md", tf.REPO / "scripts/check-infra.sh"]
    files += [p for p in (tf.REPO / "infra/tests").glob("*.py") if p.name != "test_files.py"]
    for path in files:
        text = path.read_text()
        for pattern in (r"/wor[k]/", r"/roo[t]/", r"/home/\w", r"pypi\.org", r"files\.pythonhosted", r"deb\.debian\.org", r"registry\.npmjs"):
            assert not re.search(pattern, text), f"{path.relative_to(tf.REPO)} mentions {pattern}"


def allowed(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint ("op version, ...") allows a
    version (plain x.y.z; the operators Terraform has, but ~>)."""
    def key(v: str) -> tuple[int, ...]:
        parts = [int(x) for x in v.split(".")]
        return tuple(parts + [0] * (3 - len(parts)))

    ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b, "!=": lambda a, b: a != b, "=": lambda a, b: a == b}
    for part in constraint.split(","):
        m = re.fullmatch(r"\s*(>=|<=|!=|>|<|=)?\s*(\d+(?:\.\d+){0,2})\s*", part)
        assert m, f"constraint {part!r}: the test reads only >=, <=, >, <, != and ="
        if not ops[m.group(1) or "="](key(version), key(m.group(2))):
            return False
    return True


def test_aws_provider_skips_the_release_that_breaks_lifecycle_rules():
    """AWS provider 5.86.0 rewrote aws_s3_bucket_lifecycle_configuration and
    fails with "Provider produced inconsistent result" on rules whose filter
    is empty or has prefix = "" (every bucket here has them); 5.87.0 fixed
    it. The constraint keeps terraform init from choosing it."""
    terraform = tf.parse(tf.INFRA / "main.tf")["terraform"][0]
    aws = terraform["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    constraint = aws["version"]
    assert not allowed(constraint, "5.86.0"), constraint
    for version in ("5.85.0", "5.87.0", "5.100.0", "6.0.0"):
        assert allowed(constraint, version), f"{constraint} should allow {version}"
    assert any(tf.blocks(r, "filter") and tf.blocks(r, "filter")[0].get("prefix") == "" for r in tf.blocks(tf.resource("aws_s3_bucket_lifecycle_configuration", "inputs"), "rule"))
