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
