"""docs/DEPLOY.md tells operators what infra/ needs of them, in an order
that works, and agrees with the Terraform it describes."""

import re

import terraform as tf

DEPLOY = tf.REPO / "docs/DEPLOY.md"


def text() -> str:
    return DEPLOY.read_text()


def squeezed() -> str:
    return re.sub(r"\s+", " ", text())


def test_dns_is_created_between_a_targeted_and_the_full_apply():
    """Without a Route 53 zone the operator points the host name at the load
    balancer, whose DNS name exists only once it is created, and the full
    apply needs that name to resolve (SNS confirms util's webhooks at
    https://<domain_name>/...): apply the load balancer alone first."""
    balancers = list(tf.resources("aws_lb"))
    assert len(balancers) == 1
    target = f"terraform apply -target=aws_lb.{balancers[0]}"
    doc = text()
    assert target in doc, f"DEPLOY.md: the first step is `{target}`"
    first, _, rest = doc.partition(target)
    assert "CNAME" in rest and re.search(r"terraform apply\b(?! -target)", rest), "then the record, then the full apply"
    # The name the record points at is one the operator can read after the first step.
    assert "load_balancer_dns_name" in rest or "describe-load-balancers" in rest
    assert "before `terraform apply` reaches the SNS subscriptions" not in doc, "the old, racy instruction"


def test_certificate_is_issued_before_the_apply():
    """The HTTPS listener refuses a certificate that ACM has not issued yet
    (DNS or email validation pending)."""
    doc = squeezed()
    assert "aws acm describe-certificate" in doc and "ISSUED" in doc
    deploy = doc.index("## Deploy")
    assert doc.index("ISSUED") < doc.index("terraform apply", deploy), "checked before the first apply"


def test_gas_provision_is_not_for_terraform_installs():
    """`gas provision` puts its own lifecycle configuration (replacing the
    whole one, noncurrent-version rules included) and policies on the same
    names."""
    paragraphs = [re.sub(r"\s+", " ", p) for p in text().split("\n\n")]
    warnings = [
        p for p in paragraphs
        if "gas provision" in p and "Terraform" in p and "lifecycle" in p and re.search(r"\b(Do not|Never|Don't) run `gas provision`", p)
    ]
    assert warnings, "DEPLOY.md: do not run `gas provision` against a Terraform-managed installation (it replaces the lifecycle rules)"


def test_prefix_is_required_and_the_examples_use_it():
    doc = text()
    row = next(line for line in doc.splitlines() if line.startswith("| `prefix` |"))
    assert "`gas`" not in row.split("|")[2], "prefix has no default any more"
    assert "global" in squeezed() and "bucket" in squeezed()
    # Commands name resources by the operator's prefix, not the old default.
    blocks = re.findall(r"```sh\n(.*?)```", doc, re.S)
    spans = [c for c in re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", doc, flags=re.S)) if re.search(r"\s", c.strip())]
    for command in blocks + spans:
        for name in re.findall(r"\bgas-(?:web|ann|util|requests|results|archive|inputs)(?:-dlq)?\b", command):
            raise AssertionError(f"DEPLOY.md names {name} in {command.strip()!r}: write <prefix>-...")


def test_health_checks_and_provider_are_described_as_they_are():
    doc = squeezed()
    assert "/readyz" in doc
    assert not re.search(r"health-checks every group on `/healthz`|passes `/healthz`", doc)
    assert "5.86.0" in doc
