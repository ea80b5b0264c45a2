"""Each service's IAM policy allows exactly what its code calls.

The required permissions are derived from the Rust sources, not listed by
hand: the SDK operations each adapter makes (rust_sources.py), the resource
each port's adapter is built on (crates/gas/src/aws.rs), and the ports each
service is given (crates/gas/src/system.rs). They are compared, as sets of
(action, resource) pairs, with the policy documents of infra/iam.tf. A new
SDK call, a new port, or a port given to another service fails here until
the policy says the same.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import rust_sources as rust
import terraform as tf

AWS_RS = rust.REPO / "crates/gas/src/aws.rs"
SYSTEM_RS = rust.REPO / "crates/gas/src/system.rs"
PORTS_RS = rust.REPO / "crates/gas/src/ports.rs"

# Which function of system.rs builds each service from the ports.
SERVICE_BUILDERS = {"web": "web_router", "ann": "runner", "util": "util"}

# Port → the adapter it is on AWS, the resource it is built on, and the
# code in aws.rs `open` that says so (whitespace removed). With cold storage
# the archive port depends on the mode.
TOPIC, QUEUE = r"{port}:topic\(\"{name}\"\)", r"{port}:queue\(\"{name}\"\)"
PORT_WIRING = {
    "jobs": ("DynamoJobStore", "annotations", [r'jobs:Arc::new\(DynamoJobStore::new\(clients\.dynamo\.clone\(\),config\.aws_name\("annotations"\)']),
    "users": ("DynamoUserStore", "users", [r'users:Arc::new\(DynamoUserStore::new\(clients\.dynamo\.clone\(\),config\.aws_name\("users"\)']),
    "inputs": ("S3BlobStore", "inputs", [r'S3BlobStore::new\(clients\.s3\.clone\(\),config\.aws_name\("inputs"\)\)']),
    "browser_upload": ("S3BlobStore", "inputs", [r"inputs=inputs\.with_presigned_post\(", r"Arc::clone\(&inputs\)asArc<dyngas_storage::BrowserUpload>"]),
    "results": ("S3BlobStore", "results", [r'results:Arc::new\(S3BlobStore::new\(clients\.s3\.clone\(\),config\.aws_name\("results"\)']),
    "archive": (None, "archive", [r"archive:archive_store\("]),
    "archive_timer": ("SfnTimer", "archive-timer", [r"archive_timer:Arc::new\(SfnTimer::new\(clients\.sfn\.clone\(\),timer_arn\)\)", r'find_state_machine\(&clients\.sfn,&config\.aws_name\("archive-timer"\)\)']),
    "verifier": (None, None, [r"verifier,"]),
    "mailer": ("SesMailer", "ses-identity", [r"mailer:Arc::new\(SesMailer::new\(clients\.ses\.clone\(\),config\.email_from\.clone\(\)\)"]),
}
CHANNELS = ["requests", "results", "archive", "restore", "thaw"]
for channel in CHANNELS:
    PORT_WIRING[f"{channel}_topic"] = ("SnsTopic", channel, [TOPIC.format(port=f"{channel}_topic", name=channel), r"Arc::new\(SnsTopic::new\(clients\.sns\.clone\(\),topics\[what\]\.clone\(\)\)\)"])
    PORT_WIRING[f"{channel}_queue"] = ("SqsQueue", channel, [QUEUE.format(port=f"{channel}_queue", name=channel), r"Arc::new\(SqsQueue::new\(clients\.sqs\.clone\(\),url\)\)"])

COLD_STORES = {
    "s3-class": ("S3ClassArchiveStore", r'S3ClassArchiveStore::new\(clients\.s3\.clone\(\),config\.aws_name\("archive"\)'),
    "glacier-vault": ("GlacierVaultStore", r'GlacierVaultStore::new\(clients\.glacier\.clone\(\),config\.aws_name\("archive"\)'),
}

# Needs of the instances themselves, besides the code: the user data copies
# the release binary; the CloudWatch agent writes the service's log group;
# the SSM agent opens operators' Session Manager shells (the actions of
# AWS's own minimal Session Manager instance policy, none of which takes a
# resource). The secrets the user data reads are in secret_needs().
SESSION_MANAGER = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
INSTANCE_NEEDS = (
    [("s3:GetObject", "release")]
    + [(action, "log-group:{service}") for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")]
    + [(action, "*") for action in SESSION_MANAGER]
)

# Whether the optional secrets are configured: none; SSM parameters under
# the AWS managed aws/ssm key (whose key policy lets the account's
# principals decrypt through SSM); parameters under a customer managed key.
SECRET_SETTINGS = {"no-secrets": (False, False), "secrets": (True, False), "secrets-own-key": (True, True)}
USER_DATA = rust.REPO / "aws/user-data.sh"


def squeezed(path: Path) -> str:
    """The code without whitespace or trailing commas, for patterns."""
    return re.sub(r",([)\]}])", r"\1", re.sub(r"\s+", "", rust.load_sources()[path].code))


def function_text(path: Path, name: str) -> str:
    texts = [text for fn, text in rust.load_sources()[path].functions if fn == name]
    assert texts, f"{path.name} has no fn {name}"
    return "".join(texts)


# --- From SDK calls to IAM ------------------------------------------------------------

S3_ACTIONS = {
    "GetObject": ["s3:GetObject", "s3:ListBucket"],
    "HeadObject": ["s3:GetObject", "s3:ListBucket"],
    "PutObject": ["s3:PutObject"],
    "CreateMultipartUpload": ["s3:PutObject"],
    "UploadPart": ["s3:PutObject"],
    "CompleteMultipartUpload": ["s3:PutObject"],
    "AbortMultipartUpload": ["s3:AbortMultipartUpload"],
    "CopyObject": ["s3:GetObject", "s3:PutObject"],
    "UploadPartCopy": ["s3:GetObject", "s3:PutObject"],
    "DeleteObject": ["s3:DeleteObject"],
    "RestoreObject": ["s3:RestoreObject"],
    "ListObjectsV2": ["s3:ListBucket"],
}
DYNAMODB_KEY_USE = {
    (action, "kms-key:dynamodb")
    for action in ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant")
}
TRANSACT_ITEMS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}
SQS_BATCHES = {"DeleteMessageBatch": "DeleteMessage", "ChangeMessageVisibilityBatch": "ChangeMessageVisibility", "SendMessageBatch": "SendMessage"}


def encrypted_with_stack_key(kind: str, logical: str) -> bool:
    """Whether the table, topic or bucket `logical` (its name without the
    prefix) is encrypted with the stack's customer managed key (kms.tf)."""
    key = "${aws_kms_key.gas.arn}"
    if kind == "table":
        for body in tf.resources("aws_dynamodb_table").values():
            if tf.render_name(body["name"]) == f"PREFIX-{logical}":
                return any(b.get("kms_key_arn") == key for b in tf.blocks(body, "server_side_encryption"))
    if kind == "topic":
        body = tf.resource("aws_sns_topic", "channel")
        return body.get("kms_master_key_id") == key
    if kind == "bucket":
        for name, body in tf.resources("aws_s3_bucket").items():
            if tf.render_name(body["bucket"]) == f"PREFIX-{logical}":
                sse = tf.resource("aws_s3_bucket_server_side_encryption_configuration", name)
                defaults = [d for r in tf.blocks(sse, "rule") for d in tf.blocks(r, "apply_server_side_encryption_by_default")]
                return any("aws_kms_key.gas" in str(d.get("kms_master_key_id", "")) for d in defaults)
    raise AssertionError(f"no {kind} {logical} in infra/")


def iam_needs(call: rust.Call, resource: str, context: str) -> set[tuple[str, str]]:
    """The (action, resource) pairs one SDK call needs. `context` is the code
    of the adapter that makes it (for transactions and queries). A customer
    managed key is `kms-key:<service>`: usable only through that service
    (the statement's kms:ViaService)."""
    prefix, op = rust.SDK_CRATES[call.crate][1], call.operation
    if prefix == "s3":
        assert op in S3_ACTIONS, f"{call.path.name}: say in S3_ACTIONS which IAM actions s3 {op} needs"
        needs = {(a, f"bucket:{resource}" if a == "s3:ListBucket" else f"objects:{resource}") for a in S3_ACTIONS[op]}
        if encrypted_with_stack_key("bucket", resource):
            # Under a customer managed key S3 uses the key as the caller:
            # reads decrypt, writes make data keys (multipart parts decrypt).
            by_action = {"s3:GetObject": ["kms:Decrypt"], "s3:PutObject": ["kms:GenerateDataKey", "kms:Decrypt"]}
            needs |= {(k, "kms-key:s3") for a in S3_ACTIONS[op] for k in by_action.get(a, [])}
        return needs
    if prefix == "dynamodb":
        if op == "TransactWriteItems":
            kinds = [action for kind, action in TRANSACT_ITEMS.items() if re.search(rf"\b{kind}::builder\(", context)]
            assert kinds, f"{call.path.name}: a transaction without Put/Update/Delete/ConditionCheck items?"
            needs = {(a, f"table:{resource}") for a in kinds}
        elif op == "Query" and re.findall(r"\.index_name\((\w+)\)", function_text(call.path, call.function)):
            index = re.findall(r"\.index_name\((\w+)\)", function_text(call.path, call.function))
            assert len(index) == 1
            name = re.search(rf'const\s+{index[0]}\s*:\s*&str\s*=\s*"([^"]+)"', "".join(s.code for s in rust.load_sources().values()))
            needs = {("dynamodb:Query", f"index:{resource}/{name.group(1) if name else index[0]}")}
        else:
            needs = {(f"dynamodb:{op}", f"table:{resource}")}
        if encrypted_with_stack_key("table", resource):
            # DynamoDB's documentation lists these for the principals that
            # use a table under a customer managed key (its example key
            # policy grants them through DynamoDB to every principal of the
            # account authorised to use DynamoDB).
            needs |= DYNAMODB_KEY_USE
        return needs
    if prefix == "sqs":
        return {(f"sqs:{SQS_BATCHES.get(op, op)}", f"queue:{resource}")}
    if prefix == "sns":
        if op == "Publish" and encrypted_with_stack_key("topic", resource):
            # SNS encrypts the message under the topic's key, as the caller.
            return {("sns:Publish", f"topic:{resource}"), ("kms:GenerateDataKey", "kms-key:sns"), ("kms:Decrypt", "kms-key:sns")}
        return {(f"sns:{op}", f"topic:{resource}")}
    if prefix == "states":
        kinds = {"StartExecution": "state-machine", "StopExecution": "executions", "DescribeExecution": "executions"}
        assert op in kinds, f"{call.path.name}: say which resource states:{op} acts on"
        return {(f"states:{op}", f"{kinds[op]}:{resource}")}
    if prefix == "glacier":
        return {(f"glacier:{op}", f"vault:{resource}")}
    if prefix == "ses":
        assert op == "SendEmail", f"{call.path.name}: say which resource ses {op} acts on"
        return {("ses:SendEmail", "ses-identity")}
    raise AssertionError(f"no IAM mapping for {call.crate} {op}")


def open_needs() -> set[tuple[str, str]]:
    """What every service's start-up (aws.rs `open` and its helpers) calls."""
    needs = set()
    for call in rust.runtime_calls(AWS_RS):
        prefix, op = rust.SDK_CRATES[call.crate][1], call.operation
        if (prefix, op) == ("sqs", "GetQueueUrl"):
            assert re.search(r"forwhatinCHANNELS\{letname=config\.aws_name\(what\);leturl=clients\.sqs\.get_queue_url\(\)", squeezed(AWS_RS))
            needs |= {("sqs:GetQueueUrl", f"queue:{c}") for c in CHANNELS}
        elif (prefix, op) in {("sns", "ListTopics"), ("states", "ListStateMachines")}:
            needs.add((f"{prefix}:{op}", "*"))  # neither takes a resource
        else:
            raise AssertionError(f"aws.rs: {call.function} calls {prefix} {op} at start-up: add it here and to every role")
    return needs


def adapter_needs(adapter: str, resource: str) -> set[tuple[str, str]]:
    units = rust.adapter_units(adapter)
    context = "".join(
        rust.load_sources()[p].code if f is None else function_text(p, f) for p, f in units
    )
    return set().union(*[iam_needs(call, resource, context) for call in rust.adapter_calls(adapter)])


def service_ports(service: str) -> set[str]:
    text = function_text(SYSTEM_RS, SERVICE_BUILDERS[service])
    used = set()
    for m in re.finditer(r"\bports\.(\w+)(\.arn\(\))?", text):
        if not m.group(2):  # a topic's ARN is a local value, no call
            used.add(m.group(1))
    return used


def port_adapter(port: str, cold_storage: str) -> tuple[str | None, str | None]:
    adapter, resource, _ = PORT_WIRING[port]
    if port == "archive":
        adapter = COLD_STORES[cold_storage][0]
    return adapter, resource


def secret_readers() -> set[str]:
    """The services whose user data reads secrets from SSM (`env_secret`
    inside an `if [ "$service" = X ]` block of aws/user-data.sh)."""
    text = USER_DATA.read_text()
    readers = {m.group(1) for m in re.finditer(r'if \[ "\$service" = (\w+) \]; then\n(.*?)\nfi\n', text, re.S) if "env_secret " in m.group(2)}
    outside = re.sub(r'if \[ "\$service" = \w+ \]; then\n.*?\nfi\n', "", text, flags=re.S)
    assert not re.search(r"^\s*env_secret ", outside, re.M), "user-data.sh reads secrets outside a service's block: say here who"
    return readers


def secret_needs(service: str, secrets: str) -> set[tuple[str, str]]:
    """`aws ssm get-parameter --with-decryption` of each configured secret
    parameter, by ARN; a customer managed key of theirs is used through SSM."""
    parameters, own_key = SECRET_SETTINGS[secrets]
    if service not in secret_readers() or not parameters:
        return set()
    assert "aws ssm get-parameter --with-decryption" in USER_DATA.read_text()
    needs = {("ssm:GetParameter", "secret-parameters")}
    if own_key:
        needs.add(("kms:Decrypt", "secrets-key:ssm"))
    return needs


def required(service: str, cold_storage: str, secrets: str = "no-secrets") -> set[tuple[str, str]]:
    needs = open_needs()
    for port in service_ports(service):
        adapter, resource = port_adapter(port, cold_storage)
        if adapter:
            needs |= adapter_needs(adapter, resource)
    needs |= {(a, r.format(service=service)) for a, r in INSTANCE_NEEDS}
    needs |= secret_needs(service, secrets)
    return needs


# --- From Terraform to the same pairs --------------------------------------------------


def logical_resource(expr: str) -> list[str]:
    """What a policy's resource expression names, in the terms above."""
    if expr == "*":
        return ["*"]
    m = re.fullmatch(r"\$\{\[for (\w+) in local\.channels : aws_sqs_queue\.channel\[\1\]\.arn\]\}", expr)
    if m:
        return [f"queue:{c}" for c in tf.local("channels")]
    m = re.fullmatch(r'\$\{aws_(\w+)\.(\w+)(?:\["(\w+)"\]|\[0\])?\.arn\}(.*)', expr)
    if m:
        rtype, name, key, rest = m.groups()
        rtype = f"aws_{rtype}"
        if rtype == "aws_kms_key":
            return ["kms-key"]
        if rtype == "aws_cloudwatch_log_group":
            assert rest == ":*", expr
            return [f"log-group:{key}"]
        body = tf.resource(rtype, name)
        attribute = "bucket" if rtype == "aws_s3_bucket" else "name"
        logical = tf.render_name(body[attribute], "PREFIX", key).removeprefix("PREFIX-")
        kind = {
            "aws_sqs_queue": "queue",
            "aws_sns_topic": "topic",
            "aws_s3_bucket": "objects" if rest == "/*" else "bucket",
            "aws_dynamodb_table": "table",
            "aws_glacier_vault": "vault",
            "aws_sfn_state_machine": "state-machine",
        }[rtype]
        if rtype == "aws_dynamodb_table" and rest.startswith("/index/"):
            return [f"index:{logical}/{rest.removeprefix('/index/')}"]
        assert rest in ("", "/*"), expr
        return [f"{kind}:{logical}"]
    if expr == "${local.secret_parameter_arns}":
        return ["secret-parameters"]
    if expr == "${var.secret_parameters_kms_key_arn}":
        return ["secrets-key"]
    m = re.fullmatch(r"\$\{local\.(\w+)\}", expr)
    if m:
        value = tf.local(m.group(1))
        if re.search(r":execution:\$\{var\.prefix\}-archive-timer:\*$", value):
            return ["executions:archive-timer"]
        if re.search(r":identity/\$\{var\.ses_identity\}$", value):
            return ["ses-identity"]
        if value.endswith(":s3:::${var.release_bucket}/${var.release_key}"):
            return ["release"]
    raise AssertionError(f"the test cannot tell what {expr!r} names")


# The switches of the policies' dynamic statements → when they are on.
DYNAMIC_SWITCHES = {
    r'local\.s3_cold_storage \? \["\w+"\] : \[\]': lambda cold, secrets: cold == "s3-class",
    r'local\.glacier_cold_storage \? \["\w+"\] : \[\]': lambda cold, secrets: cold == "glacier-vault",
    r'length\(local\.secret_parameter_arns\) > 0 \? \["\w+"\] : \[\]': lambda cold, secrets: SECRET_SETTINGS[secrets][0],
    r'length\(local\.secret_parameter_arns\) > 0 && var\.secret_parameters_kms_key_arn != "" \? \["\w+"\] : \[\]': lambda cold, secrets: all(
        SECRET_SETTINGS[secrets]
    ),
}


def statements(document: dict, cold_storage: str, secrets: str = "no-secrets") -> list[dict]:
    found = list(tf.blocks(document, "statement"))
    for dynamic in tf.blocks(document, "dynamic"):
        block = dynamic["statement"]
        condition = tf.expression(block["for_each"])
        switches = [on for pattern, on in DYNAMIC_SWITCHES.items() if re.fullmatch(pattern, condition)]
        assert len(switches) == 1, f"dynamic statement for_each {condition!r}: the test reads only the switches in DYNAMIC_SWITCHES"
        if switches[0](cold_storage, secrets):
            found.extend(tf.blocks(block, "content"))
    return found


def via_service(statement: dict) -> str | None:
    """The service of a statement's kms:ViaService condition, if it has one."""
    conditions = tf.blocks(statement, "condition")
    via = [c for c in conditions if c["variable"] == "kms:ViaService"]
    if not via:
        return None
    assert len(via) == 1 and via[0]["test"] == "StringEquals" and len(via[0]["values"]) == 1, statement
    m = re.fullmatch(r"(\w+)\.\$\{var\.region\}\.amazonaws\.com", via[0]["values"][0])
    assert m, f"kms:ViaService {via[0]['values']}: the test reads <service>.${{var.region}}.amazonaws.com"
    return m.group(1)


def granted(document: dict, cold_storage: str, secrets: str = "no-secrets") -> set[tuple[str, str]]:
    pairs = set()
    for statement in statements(document, cold_storage, secrets):
        assert statement.get("effect", "Allow") == "Allow"
        resources = statement["resources"]
        resources = resources if isinstance(resources, list) else [resources]
        logical = [r for expr in resources for r in logical_resource(expr)]
        via = via_service(statement)
        if via:
            # A key usable only through one service is another grant than
            # the same key through another.
            logical = [f"{r}:{via}" for r in logical]
        pairs |= set(itertools.product(statement["actions"], logical))
    return pairs


def policy_document(service: str) -> dict:
    policy = tf.resource("aws_iam_role_policy", "service")
    assert tf.expression(policy["role"]) == "aws_iam_role.service[each.key].id"
    assert tf.expression(policy["policy"]) == "local.service_policies[each.key]"
    assert tf.expression(tf.local("service_policies")[service]) == f"data.aws_iam_policy_document.{service}.json"
    return tf.data("aws_iam_policy_document", service)


# --- The tests -------------------------------------------------------------------------


def test_ports_are_wired_as_the_test_assumes():
    """aws.rs builds each port on the adapter and resource PORT_WIRING says."""
    code = squeezed(AWS_RS)
    fields = re.search(r"pubstructPorts\{(.*?)\}", squeezed(PORTS_RS)).group(1)
    ports = set(re.findall(r"pub(\w+):", fields))
    assert ports == set(PORT_WIRING), f"Ports changed: say in PORT_WIRING how {sorted(ports ^ set(PORT_WIRING))} are built"
    for port, (_, _, evidence) in PORT_WIRING.items():
        for pattern in evidence:
            assert re.search(pattern, code), f"aws.rs no longer builds {port} as PORT_WIRING says ({pattern})"
    for mode, (_, pattern) in COLD_STORES.items():
        assert re.search(pattern, code), f"aws.rs: cold store {mode} is no longer built as COLD_STORES says"
    assert re.search(r"forwhatinCHANNELS\{ifarn\.rsplit\(':'\)\.next\(\)==Some\(config\.aws_name\(what\)", code)
    assert re.search(r'constCHANNELS:\[&str;5\]=\["requests","results","archive","restore","thaw"\]', code)


def test_every_runtime_sdk_call_belongs_to_an_adapter_or_start_up():
    """No SDK call escapes the derivation: each file that makes one at run
    time is part of an adapter wired to a port, or is aws.rs `open`."""
    covered = {AWS_RS}
    adapters = {a for a, _, _ in PORT_WIRING.values() if a} | {a for a, _ in COLD_STORES.values()}
    for adapter in adapters:
        covered |= {p for p, _ in rust.adapter_units(adapter)}
    stray = {
        source.rel: sorted({c.operation for c in rust.runtime_calls(path)})
        for path, source in rust.load_sources().items()
        if rust.runtime_calls(path) and path not in covered
    }
    assert not stray, f"SDK calls outside every adapter (wire them to a port, or make them provisioning-only or an operator's command): {stray}"


def test_operator_commands_are_no_service_code():
    """The operators' commands (`gas dlq`, with operator credentials) may
    call what no service role allows, so no service may reach them: only the
    `gas` command's main.rs names them. Queue::depth (GetQueueAttributes),
    which only they call, is then in no service's needs."""
    main = rust.REPO / "crates/gas/src/main.rs"
    commands = {p for pattern in rust.OPERATOR_COMMANDS for p in rust.REPO.glob(pattern)}
    assert commands, "rust_sources.OPERATOR_COMMANDS names no file"
    for command in commands:
        module = command.stem
        users = [
            source.rel
            for path, source in rust.load_sources().items()
            if path not in commands | {main} and re.search(rf"\b{module}::", source.code)
        ]
        assert not users, f"{command.name} is an operator's command, yet {users} use it"
    assert ("sqs:GetQueueAttributes", "queue:requests") not in adapter_needs("SqsQueue", "requests")


def test_services_use_known_ports():
    for service in SERVICE_BUILDERS:
        unknown = service_ports(service) - set(PORT_WIRING)
        assert not unknown, f"{service} uses ports the test does not know: {unknown}"


def test_adapters_call_what_the_policies_were_written_for():
    """A readable summary: the derivation sees the calls one expects."""
    assert ("s3:RestoreObject", "objects:archive") in adapter_needs("S3ClassArchiveStore", "archive")
    assert ("dynamodb:Query", "index:annotations/user_id_index") in adapter_needs("DynamoJobStore", "annotations")
    assert ("sqs:DeleteMessage", "queue:requests") in adapter_needs("SqsQueue", "requests")
    assert ("states:StopExecution", "executions:archive-timer") in adapter_needs("SfnTimer", "archive-timer")
    # A presigned POST makes the browser's upload the signer's PutObject.
    assert ("s3:PutObject", "objects:inputs") in adapter_needs("S3BlobStore", "inputs")


@pytest.mark.parametrize("secrets", sorted(SECRET_SETTINGS))
@pytest.mark.parametrize("cold_storage", ["s3-class", "glacier-vault"])
@pytest.mark.parametrize("service", sorted(SERVICE_BUILDERS))
def test_policy_allows_exactly_what_the_service_calls(service, cold_storage, secrets):
    need = required(service, cold_storage, secrets)
    have = granted(policy_document(service), cold_storage, secrets)
    missing, extra = sorted(need - have), sorted(have - need)
    assert not missing and not extra, (
        f"{service} ({cold_storage}, {secrets}): the code calls but the policy does not allow {missing}; "
        f"the policy allows but the code does not call {extra}"
    )


def test_no_service_touches_another_services_resources():
    """The issue's three examples, on top of the exact comparison above."""
    for mode in COLD_STORES:
        web, ann, util = (granted(policy_document(s), mode) for s in ("web", "ann", "util"))
        cold = {r for _, r in web | ann | util if r.endswith(":archive") and r.split(":")[0] in ("objects", "bucket", "vault")}
        assert not {r for _, r in web} & cold, "web must not touch the cold store"
        assert not {a for a, _ in ann} & {"s3:RestoreObject", "glacier:InitiateJob", "glacier:GetJobOutput"}, "ann must not restore"
        assert not {r for _, r in util} & {"objects:inputs", "bucket:inputs"}, "util must not accept uploads"
        assert ("sqs:ReceiveMessage", "queue:requests") not in web | util, "only ann consumes job requests"


def test_roles_have_no_other_policies():
    """The inline policy above only: no AWS managed policy, whose wildcards
    would widen the roles (AmazonSSMManagedInstanceCore, for one, lets an
    instance read every SSM parameter of the account)."""
    inline = {name for name, body in tf.resources("aws_iam_role_policy").items() if "aws_iam_role.service" in body["role"]}
    assert inline == {"service"}
    for rtype in ("aws_iam_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_role_policies_exclusive"):
        for name in tf.resources(rtype):
            raise AssertionError(f"{rtype}.{name}: managed policies would widen the roles")
    for name, role in tf.resources("aws_iam_role").items():
        assert "managed_policy_arns" not in role, f"aws_iam_role.{name}: managed policies would widen the roles"


def test_archive_timer_role_only_publishes_archive_requests():
    document = tf.data("aws_iam_policy_document", "archive_timer")
    assert granted(document, "s3-class") == {
        ("sns:Publish", "topic:archive"),
        ("kms:GenerateDataKey", "kms-key:sns"),
        ("kms:Decrypt", "kms-key:sns"),
    }


def test_kms_use_is_only_through_the_services_that_encrypt_with_the_key():
    """No role may use a key directly: every KMS statement names the key and
    the one service that encrypts with it (kms:ViaService)."""
    documents = {s: policy_document(s) for s in SERVICE_BUILDERS} | {"archive_timer": tf.data("aws_iam_policy_document", "archive_timer")}
    for name, document in documents.items():
        for statement in statements(document, "s3-class", "secrets-own-key"):
            if any(a.startswith("kms:") for a in statement["actions"]):
                assert all(a.startswith("kms:") for a in statement["actions"]), f"{name}: KMS actions in a statement of their own"
                via = via_service(statement)
                assert via in ("sns", "dynamodb", "s3", "ssm"), f"{name}: {statement.get('sid')} must use the key only through a service"
                assert [c["variable"] for c in tf.blocks(statement, "condition")] == ["kms:ViaService"]
                assert statement["resources"] in (["${aws_kms_key.gas.arn}"], ["${var.secret_parameters_kms_key_arn}"]), name


def test_every_role_that_touches_a_table_may_decrypt_it_through_dynamodb():
    """The issue's case, on top of the exact comparison: both tables are
    encrypted with the stack's key, and DynamoDB uses it as the caller, so
    a role with table actions but no key through DynamoDB reads nothing."""
    for table in ("annotations", "users"):
        body = tf.resource("aws_dynamodb_table", table)
        assert tf.blocks(body, "server_side_encryption")[0]["kms_key_arn"] == "${aws_kms_key.gas.arn}"
    # An IAM grant counts only if the key policy lets IAM policies grant it:
    # the account root statement does.
    key_policy = re.sub(r"\s+", " ", tf.local("kms_statements"))
    assert 'Principal = {AWS = "arn:${local.partition}:iam::${local.account}:root"}, Action = "kms:*", Resource = "*"}' in key_policy
    assert tf.resource("aws_kms_key", "gas")["policy"].replace(" ", "").endswith("Statement=local.kms_statements})}")
    for service in SERVICE_BUILDERS:
        have = granted(policy_document(service), "s3-class")
        if any(a.startswith("dynamodb:") for a, _ in have):
            assert DYNAMODB_KEY_USE <= have, service
        # Through SNS the key stays what publishing needs, and no more.
        assert {a for a, r in have if r == "kms-key:sns"} <= {"kms:GenerateDataKey", "kms:Decrypt"}, service


def test_buckets_need_no_key_grant():
    """The buckets use SSE-KMS under the AWS managed aws/s3 key, whose key
    policy lets every principal of the account that S3 authorises use it
    through S3: no role needs a KMS grant for them. Put a bucket under the
    stack's key and the exact comparison above asks for kms-key:s3."""
    for bucket in ("inputs", "results", "archive"):
        sse = tf.resource("aws_s3_bucket_server_side_encryption_configuration", bucket)
        default = tf.blocks(tf.blocks(sse, "rule")[0], "apply_server_side_encryption_by_default")[0]
        assert default["sse_algorithm"] == "aws:kms" and "kms_master_key_id" not in default, bucket
        assert not encrypted_with_stack_key("bucket", bucket)
    assert re.search(r"AWS-managed aws/s3 key", (tf.INFRA / "kms.tf").read_text()), "kms.tf says which key the buckets use"


def test_secrets_are_read_by_their_parameter_arns_only():
    """The secrets the web user data reads are allowed by ARN, built from
    exactly the variables the user data reads; nothing else allows
    ssm:GetParameter(s) (no managed policy, no wildcard)."""
    text = USER_DATA.read_text()
    read = set(re.findall(r"env_secret GAS_\w+ '\$\{(\w+)\}'", text))
    assert read, "user-data.sh reads no secret?"
    listed = tf.local("secret_parameters")
    assert sorted(listed.removeprefix("${compact([").removesuffix("])}").replace("var.", "").split(", ")) == sorted(read)
    arns = tf.local("secret_parameter_arns")
    assert arns == '${[for name in local.secret_parameters : "arn:${local.partition}:ssm:${var.region}:${local.account}:parameter/${trimprefix(name, "/")}"]}'
    assert secret_readers() == {"web"}
    for service in SERVICE_BUILDERS:
        for secrets in SECRET_SETTINGS:
            for statement in statements(policy_document(service), "s3-class", secrets):
                ssm = [a for a in statement["actions"] if a.startswith("ssm:") and a != "ssm:UpdateInstanceInformation"]
                if ssm:
                    assert ssm == ["ssm:GetParameter"] and statement["resources"] == "${local.secret_parameter_arns}", (service, statement)
    # A customer managed key of the parameters is optional, and only via SSM.
    assert tf.variable_default("secret_parameters_kms_key_arn") == ""
