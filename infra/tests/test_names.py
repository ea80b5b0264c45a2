"""Every queue, topic, table, bucket, vault and state machine that `gas
provision` creates exists in Terraform under the same name, built from the
prefix the same way (`Config::aws_name`: `<prefix>-<what>`), with the same
shape where the code depends on it."""

import re

import rust_sources as rust
import terraform as tf

AWS_RS = rust.REPO / "crates/gas/src/aws.rs"
CONFIG_RS = rust.REPO / "crates/gas/src/config.rs"


def code() -> str:
    return re.sub(r"\s+", "", rust.load_sources()[AWS_RS].code)


def const_list(name: str) -> list[str]:
    m = re.search(rf"const{name}:\[&str;\d+\]=\[([^\]]*)\]", code())
    assert m, f"aws.rs has no const {name}"
    return re.findall(r'"([\w-]+)"', m.group(1))


def provision_text() -> str:
    return "".join(t for fn, t in rust.load_sources()[AWS_RS].functions if fn in ("provision", "archive_s3_class"))


def test_names_derive_from_the_prefix_as_in_the_code():
    text = re.sub(r"\s+", "", CONFIG_RS.read_text())
    assert 'format!("{}-{what}",self.aws_prefix)' in text


# --- The prefix: required, and unique enough for global names ---------------------


def prefix_rules() -> list:
    """The prefix variable's validations as Python predicates. Every block
    must be one of the shapes below, so that none goes unchecked here."""
    rules = []
    for block in tf.blocks(tf.module()["variable"]["prefix"], "validation"):
        condition = tf.expression(block["condition"])
        parts = [p.strip() for p in condition.split(" && ")]
        for part in parts:
            m = re.fullmatch(r'can\(regex\("([^"\\]+)", var\.prefix\)\)', part)
            if m:
                rules.append(lambda p, rx=m.group(1): re.search(rx, p) is not None)
                continue
            m = re.fullmatch(r'!can\(regex\("([^"\\]+)", var\.prefix\)\)', part)
            if m:
                rules.append(lambda p, rx=m.group(1): re.search(rx, p) is None)
                continue
            m = re.fullmatch(r"length\(var\.prefix\) (>=|<=) (\d+)", part)
            if m:
                rules.append(lambda p, op=m.group(1), n=int(m.group(2)): len(p) >= n if op == ">=" else len(p) <= n)
                continue
            m = re.fullmatch(r"!contains\(\[([^\]]*)\], var\.prefix\)", part)
            if m:
                refused = re.findall(r'"([^"]*)"', m.group(1))
                rules.append(lambda p, refused=refused: p not in refused)
                continue
            raise AssertionError(f"prefix validation {part!r}: the test reads only regex, length and contains conditions")
    return rules


def prefix_is_valid(prefix: str) -> bool:
    return all(rule(prefix) for rule in prefix_rules())


def prefix_length_bounds() -> tuple[int, int]:
    text = " ".join(tf.expression(b["condition"]) for b in tf.blocks(tf.module()["variable"]["prefix"], "validation"))
    return int(re.search(r"length\(var\.prefix\) >= (\d+)", text).group(1)), int(re.search(r"length\(var\.prefix\) <= (\d+)", text).group(1))


def test_prefix_is_required_and_refuses_the_obvious():
    """S3 bucket names are global: with the code's default prefix "gas" the
    buckets would be gas-inputs, gas-results, gas-archive, which exist
    (in someone else's account) and make the apply fail. No default, and
    the obvious ones are refused."""
    body = tf.module()["variable"]["prefix"]
    assert "default" not in body, "prefix must be chosen per installation"
    code_default = re.search(r'aws_prefix:"(\w+)"\.into\(\)', re.sub(r"\s+", "", CONFIG_RS.read_text())).group(1)
    for obvious in (code_default, "gas", "gas-prod", "gas-dev", "gas-test", "gas-staging", "gas-demo", "example"):
        assert not prefix_is_valid(obvious), f"prefix {obvious!r} should be refused"
    for invalid in ("Acme-gas", "acme_gas", "acme--gas", "acme-gas-", "-acme-gas", "9acme-gas", "a" * 25, "sthree-acme", "amzn-s3-demo-acme"):
        assert not prefix_is_valid(invalid), f"prefix {invalid!r} should be refused"
    for good in ("acme-gas", "acme-gas-prod", "uni-lab7-gas"):
        assert prefix_is_valid(good), f"prefix {good!r} should be accepted"
    example = tf.example_tfvars()["prefix"]
    assert prefix_is_valid(example) and example != code_default


# The naming rules of each kind of resource the prefix names.
NAME_RULES = {
    "aws_s3_bucket": ("bucket", r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?<!-s3alias)(?<!--ol-s3)"),
    "aws_lb": ("name", r"(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?"),
    "aws_lb_target_group": ("name", r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?"),
    "aws_sqs_queue": ("name", r"[a-zA-Z0-9_-]{1,80}"),
    "aws_sns_topic": ("name", r"[a-zA-Z0-9_-]{1,256}"),
    "aws_dynamodb_table": ("name", r"[a-zA-Z0-9_.-]{3,255}"),
    "aws_iam_role": ("name", r"[\w+=,.@-]{1,64}"),
    "aws_iam_instance_profile": ("name", r"[\w+=,.@-]{1,128}"),
    "aws_sfn_state_machine": ("name", r"[a-zA-Z0-9_-]{1,80}"),
    "aws_launch_template": ("name", r"[a-zA-Z0-9().\-/_]{3,128}"),
    "aws_autoscaling_group": ("name", r".{1,255}"),
    "aws_autoscaling_policy": ("name", r".{1,255}"),
    "aws_security_group": ("name", r".{1,255}"),
    "aws_glacier_vault": ("name", r"[a-zA-Z0-9_.-]{1,255}"),
    "aws_kms_alias": ("name", r"alias/(?!aws/)[a-zA-Z0-9/_-]{1,250}"),
    "aws_cloudwatch_log_group": ("name", r"[a-zA-Z0-9_/.#-]{1,512}"),
}


def test_every_name_the_prefix_makes_is_valid_at_either_length():
    low, high = prefix_length_bounds()
    for prefix in ("a" * low, "a" * high, "a" + "-b" * ((high - 1) // 2)):
        assert prefix_is_valid(prefix), prefix
        for rtype, (attribute, rule) in NAME_RULES.items():
            names = tf.names(rtype, attribute, prefix)
            assert names, f"no {rtype}"
            for name, address in names.items():
                assert re.fullmatch(rule, name), f"{address}: {name!r} ({len(name)} characters) breaks the rules of its kind"


def test_channels_and_webhooks_match_the_code():
    assert tf.local("channels") == const_list("CHANNELS")
    assert tf.local("webhooks") == const_list("WEBHOOKS")
    # Every channel but restore has a dead-letter queue.
    assert 'letredrive=(what!="restore").then_some((dead_letter_queue.as_str(),config.max_receives));' in code()
    assert 'letdead_letter_queue=name(&format!("{what}-dlq"));' in code()
    assert tf.local("dead_lettered_channels") == [c for c in const_list("CHANNELS") if c != "restore"]


def test_tables():
    text = re.sub(r"\s+", "", provision_text())
    assert 'gas_jobs::dynamo::provision(&clients.dynamo,&name("annotations"),&name("users"))' in text
    assert set(tf.names("aws_dynamodb_table")) == {"PREFIX-annotations", "PREFIX-users"}


def test_buckets_and_vault():
    text = re.sub(r"\s+", "", provision_text())
    for bucket in ("inputs", "results"):
        assert f'provision_bucket(&clients.s3,&name("{bucket}"))' in text
    assert 'config.aws_name("archive")' in text
    assert set(tf.names("aws_s3_bucket", "bucket")) == {"PREFIX-inputs", "PREFIX-results", "PREFIX-archive"}
    assert set(tf.names("aws_glacier_vault")) == {"PREFIX-archive"}
    assert tf.resource("aws_s3_bucket", "archive")["count"] == "${local.s3_cold_storage ? 1 : 0}"
    assert tf.resource("aws_glacier_vault", "archive")["count"] == "${local.glacier_cold_storage ? 1 : 0}"


def test_queues_and_topics():
    channels = const_list("CHANNELS")
    queues = tf.names("aws_sqs_queue")
    dead = [c for c in channels if c != "restore"]
    assert set(queues) == {f"PREFIX-{c}" for c in channels} | {f"PREFIX-{c}-dlq" for c in dead}
    topics = tf.names("aws_sns_topic")
    assert {f"PREFIX-{c}" for c in channels} <= set(topics)
    assert set(topics) - {f"PREFIX-{c}" for c in channels} == {"PREFIX-alarms"}


def test_state_machine():
    assert 'name("archive-timer")' in re.sub(r"\s+", "", provision_text())
    assert set(tf.names("aws_sfn_state_machine")) == {"PREFIX-archive-timer"}


def test_queue_settings_match_the_code_and_configuration():
    queue = tf.resource("aws_sqs_queue", "channel")
    dead = tf.resource("aws_sqs_queue", "dead_letter")
    assert queue["visibility_timeout_seconds"] == dead["visibility_timeout_seconds"] == "${var.visibility_timeout}"
    assert "deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn" in queue["redrive_policy"]
    assert "maxReceiveCount = var.max_receives" in queue["redrive_policy"]
    assert "contains(local.dead_lettered_channels, each.key)" in queue["redrive_policy"]
    retention = re.search(r"DLQ_RETENTION:Duration=Duration::from_secs\(([\d*]+)\)", re.sub(r"\s+", "", (rust.REPO / "crates/messaging/src/aws/provision.rs").read_text()))
    assert dead["message_retention_seconds"] == eval(retention.group(1))  # noqa: S307 (digits and *)


def test_subscriptions_match_the_code():
    queue = tf.resource("aws_sns_topic_subscription", "queue")
    assert queue["protocol"] == "sqs" and queue["raw_message_delivery"] is True
    assert tf.for_each_keys(queue) == const_list("CHANNELS")
    webhook = tf.resource("aws_sns_topic_subscription", "webhook")
    assert tf.for_each_keys(webhook) == const_list("WEBHOOKS")
    assert webhook["protocol"] == "https"
    # gas provision subscribes `{util}/{what}`; util's public URL is the https host.
    assert 'subscribe_http(&clients.sns,&topics[what],&format!("{util}/{what}"))' in code()
    assert webhook["endpoint"] == "${local.public_url}/${each.key}"
    assert tf.local("public_url").startswith("https://")


def test_table_keys_and_index_match_provisioning():
    text = re.sub(r"\s+", "", (rust.REPO / "crates/jobs/src/dynamo/provision.rs").read_text())
    index = re.search(r'pubconstUSER_ID_INDEX:&str="(\w+)"', re.sub(r"\s+", "", (rust.REPO / "crates/jobs/src/dynamo/mod.rs").read_text())).group(1)
    assert 'key(table,"job_id",KeyType::Hash)' in text and 'key(table,"user_id",KeyType::Hash)' in text
    assert 'key(table,"submit_time",KeyType::Range)' in text
    jobs, users = tf.resource("aws_dynamodb_table", "annotations"), tf.resource("aws_dynamodb_table", "users")
    assert jobs["hash_key"] == "job_id" and users["hash_key"] == "user_id"
    assert jobs["billing_mode"] == users["billing_mode"] == "PAY_PER_REQUEST"
    gsi = tf.blocks(jobs, "global_secondary_index")
    assert [(g["name"], g["hash_key"], g["range_key"], g["projection_type"]) for g in gsi] == [(index, "user_id", "submit_time", "ALL")]
    types = {a["name"]: a["type"] for a in tf.blocks(jobs, "attribute")}
    assert types == {"job_id": "S", "user_id": "S", "submit_time": "N"}


def test_lifecycle_rules_match_provisioning():
    s3 = re.sub(r"\s+", "", (rust.REPO / "crates/storage/src/s3/mod.rs").read_text())
    s3_class = re.sub(r"\s+", "", (rust.REPO / "crates/storage/src/s3_class.rs").read_text())
    abort_id = re.search(r'\.id\("(gas-abort-[\w-]+)"\)', s3).group(1)
    abort_days = int(re.search(r"\.days_after_initiation\((\d+)\)", s3).group(1))
    for bucket in ("inputs", "results", "archive"):
        rules = {r["id"]: r for r in tf.blocks(tf.resource("aws_s3_bucket_lifecycle_configuration", bucket), "rule")}
        assert abort_id in rules, f"{bucket}: no {abort_id}"
        assert tf.blocks(rules[abort_id], "abort_incomplete_multipart_upload")[0]["days_after_initiation"] == abort_days
    # The archive's rule for copies kept past a delete: same id, prefix, days.
    expire_id = re.search(r'\.id\("(gas-expire-[\w-]+)"\)', s3_class).group(1)
    retained = re.search(r'constRETAINED:&str="([^"]+)"', s3_class).group(1)
    archive_prefix = re.search(r'config\.aws_name\("archive"\),"([^"]+)"', code()).group(1)
    restore_days = int(re.search(r"restore_days:(\d+),", s3_class).group(1))
    assert "with_restore_days" not in code(), "aws.rs now sets restore days: compare them here"
    rules = {r["id"]: r for r in tf.blocks(tf.resource("aws_s3_bucket_lifecycle_configuration", "archive"), "rule")}
    assert tf.interpolate(tf.blocks(rules[expire_id], "filter")[0]["prefix"]) == archive_prefix + retained
    assert tf.blocks(rules[expire_id], "expiration")[0]["days"] == restore_days
    assert tf.local("archive_key_prefix") == archive_prefix
    notification = tf.resource("aws_s3_bucket_notification", "archive_restored")
    topic = tf.blocks(notification, "topic")[0]
    assert topic["events"] == ["s3:ObjectRestore:Completed"]
    assert topic["topic_arn"] == '${aws_sns_topic.channel["thaw"].arn}'
    assert tf.interpolate(topic["filter_prefix"]) == archive_prefix
