"""What the issue asks of the resources: data protected, HTTPS in front,
groups that scale and heal, and alarms on what needs an operator."""

import re

import pytest

import rust_sources as rust
import terraform as tf

BUCKETS = ["inputs", "results", "archive"]
SERVICES = ["web", "ann", "util"]


# --- Data ------------------------------------------------------------------------


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_is_encrypted_versioned_private_and_cleaned(bucket):
    sse = tf.resource("aws_s3_bucket_server_side_encryption_configuration", bucket)
    default = tf.blocks(tf.blocks(sse, "rule")[0], "apply_server_side_encryption_by_default")[0]
    assert default["sse_algorithm"] == "aws:kms"
    versioning = tf.resource("aws_s3_bucket_versioning", bucket)
    assert tf.blocks(versioning, "versioning_configuration")[0]["status"] == "Enabled"
    block = tf.resource("aws_s3_bucket_public_access_block", bucket)
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    ownership = tf.resource("aws_s3_bucket_ownership_controls", bucket)
    assert tf.blocks(ownership, "rule")[0]["object_ownership"] == "BucketOwnerEnforced"
    rules = tf.blocks(tf.resource("aws_s3_bucket_lifecycle_configuration", bucket), "rule")
    assert any(tf.blocks(r, "abort_incomplete_multipart_upload") for r in rules)
    assert any(tf.blocks(r, "noncurrent_version_expiration") for r in rules), "deleted versions must not be kept forever"
    policy = tf.resource("aws_s3_bucket_policy", bucket)
    assert f'tls_only["{bucket}"]' in policy["policy"]
    for resource in ("aws_s3_bucket_versioning", "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_public_access_block", "aws_s3_bucket_lifecycle_configuration"):
        target = tf.resource(resource, bucket)["bucket"]
        assert target in (f"${{aws_s3_bucket.{bucket}.id}}", f"${{aws_s3_bucket.{bucket}[0].id}}"), f"{resource}.{bucket} is on {target}"


def test_versioned_buckets_expire_what_each_rule_expires_in_every_version():
    """With versioning on, expiring an object only hides it behind a delete
    marker: the bytes stay as a noncurrent version. Every versioned bucket
    expires noncurrent versions everywhere, and a rule that expires current
    objects early (the archive's retained retrievals: STANDARD copies kept
    one day) expires their noncurrent versions as early, or the copies would
    cost hot storage for noncurrent_version_days more."""
    for bucket in BUCKETS:
        versioning = tf.resource("aws_s3_bucket_versioning", bucket)
        if tf.blocks(versioning, "versioning_configuration")[0]["status"] != "Enabled":
            continue
        rules = tf.blocks(tf.resource("aws_s3_bucket_lifecycle_configuration", bucket), "rule")
        everywhere = [r for r in rules if tf.blocks(r, "filter")[0].get("prefix") == "" and tf.blocks(r, "noncurrent_version_expiration")]
        assert everywhere, f"{bucket}: no rule expires noncurrent versions under every prefix"
        for rule in rules:
            days = [e["days"] for e in tf.blocks(rule, "expiration") if "days" in e]
            if days:
                noncurrent = tf.blocks(rule, "noncurrent_version_expiration")
                assert noncurrent, f"{bucket}: rule {rule['id']} expires objects but keeps their noncurrent versions"
                assert noncurrent[0]["noncurrent_days"] == days[0], f"{bucket}: rule {rule['id']}"


def test_tables_recover_and_sessions_expire():
    for table in ("annotations", "users"):
        body = tf.resource("aws_dynamodb_table", table)
        assert tf.blocks(body, "point_in_time_recovery")[0]["enabled"] is True
        assert tf.blocks(body, "server_side_encryption")[0]["enabled"] is True
    ttl = tf.blocks(tf.resource("aws_dynamodb_table", "users"), "ttl")[0]
    assert ttl == {"attribute_name": "ttl", "enabled": True}


def test_queues_and_topics_are_encrypted():
    for name, body in tf.resources("aws_sqs_queue").items():
        assert body.get("sqs_managed_sse_enabled") is True or "kms_master_key_id" in body, name
    for name, body in tf.resources("aws_sns_topic").items():
        assert body.get("kms_master_key_id") == "${aws_kms_key.gas.arn}", name
    assert tf.resource("aws_kms_key", "gas")["enable_key_rotation"] is True


# --- The load balancer -------------------------------------------------------------


def test_https_listener_with_the_certificate_and_http_redirected():
    https = tf.resource("aws_lb_listener", "https")
    assert https["protocol"] == "HTTPS" and https["port"] == 443
    assert https["certificate_arn"] == "${var.certificate_arn}"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    assert tf.blocks(https, "default_action")[0]["target_group_arn"] == '${aws_lb_target_group.service["web"].arn}'
    http = tf.resource("aws_lb_listener", "http_redirect")
    redirect = tf.blocks(tf.blocks(http, "default_action")[0], "redirect")[0]
    assert http["port"] == 80 and redirect["protocol"] == "HTTPS" and redirect["status_code"] == "HTTP_301"
    assert tf.resource("aws_lb", "gas")["drop_invalid_header_fields"] is True


def test_webhooks_route_to_util():
    rule = tf.resource("aws_lb_listener_rule", "webhooks")
    paths = tf.blocks(tf.blocks(rule, "condition")[0], "path_pattern")[0]["values"]
    assert paths == '${[for hook in local.webhooks : "/${hook}"]}'
    assert [f"/{w}" for w in tf.local("webhooks")] == ["/archive", "/restore", "/thaw"]
    assert tf.blocks(rule, "action")[0]["target_group_arn"] == '${aws_lb_target_group.service["util"].arn}'
    assert tf.resource("aws_lb_listener_rule", "webhooks")["listener_arn"] == "${aws_lb_listener.https.arn}"


def test_every_service_is_health_checked_on_readyz():
    """The load balancer, and through it the groups (health_check_type ELB),
    take a service out once it cannot read its job store (/readyz), not only
    once it stops answering HTTP (/healthz, liveness only)."""
    group = tf.resource("aws_lb_target_group", "service")
    assert tf.for_each_keys(group) == SERVICES
    check = tf.blocks(group, "health_check")[0]
    assert check["path"] == "/readyz" and check["matcher"] == "200"
    # ann serves no traffic; a listener rule that matches nothing keeps its
    # target group in use, so that the load balancer checks it.
    ann = tf.resource("aws_lb_listener_rule", "ann_health_checks")
    assert tf.blocks(ann, "action")[0]["target_group_arn"] == '${aws_lb_target_group.service["ann"].arn}'
    conditions = tf.blocks(ann, "condition")
    assert any(tf.blocks(c, "source_ip") and tf.blocks(c, "source_ip")[0]["values"] == ["127.0.0.1/32"] for c in conditions)
    assert any(tf.blocks(c, "path_pattern") and tf.blocks(c, "path_pattern")[0]["values"] == ["/readyz"] for c in conditions)
    # What operators read says the same.
    alarm = tf.resource("aws_cloudwatch_metric_alarm", "no_healthy_instance")
    assert "/readyz" in alarm["alarm_description"]
    for path in tf.tf_files() + [tf.REPO / "aws/user-data.sh"]:
        assert not re.search(r"[\"'][^\"'\n]*/healthz", path.read_text()), f"{path.name} still probes /healthz"


def test_the_services_serve_readyz_within_the_checks_timeout():
    """Every service's router has /readyz (crates/gas/src/serve.rs), and it
    answers before the load balancer's check gives up."""
    serve = re.sub(r"\s+", "", rust.strip_comments_and_tests((rust.REPO / "crates/gas/src/serve.rs").read_text()))
    assert '.route("/readyz",' in serve and '.route("/healthz",' in serve
    timeout = re.search(r"constREADINESS_TIMEOUT:Duration=Duration::from_secs\((\d+)\);", serve)
    assert timeout, "serve.rs: READINESS_TIMEOUT is how long /readyz waits; the test compares it"
    check = tf.blocks(tf.resource("aws_lb_target_group", "service"), "health_check")[0]
    assert int(timeout.group(1)) < check["timeout"] < check["interval"]


def test_metrics_are_not_public():
    rule = tf.resource("aws_lb_listener_rule", "hide_metrics")
    assert tf.blocks(tf.blocks(rule, "condition")[0], "path_pattern")[0]["values"] == ["/metrics"]
    assert tf.blocks(rule, "action")[0]["type"] == "fixed-response"


def test_instances_admit_only_the_load_balancer():
    ingress = tf.resources("aws_vpc_security_group_ingress_rule")
    for name, rule in ingress.items():
        if rule["security_group_id"].startswith("${aws_security_group.service"):
            assert rule["referenced_security_group_id"] == "${aws_security_group.alb.id}", name
            assert "cidr_ipv4" not in rule, name


# --- Scaling and healing --------------------------------------------------------------


def test_groups_wait_for_their_roles_policies():
    """An instance that boots before its role's policy exists fails its
    first AWS calls: the groups depend on every policy of the roles."""
    group = tf.resource("aws_autoscaling_group", "service")
    policies = {f"${{{rtype}.{name}}}" for rtype in ("aws_iam_role_policy", "aws_iam_role_policy_attachment") for name, body in tf.resources(rtype).items() if "aws_iam_role.service" in body["role"]}
    assert policies, "no role policy?"
    assert policies <= set(group.get("depends_on", [])), f"the groups must depend on {sorted(policies)}"


def test_groups_replace_instances_that_fail_healthz():
    group = tf.resource("aws_autoscaling_group", "service")
    assert tf.for_each_keys(group) == SERVICES
    assert group["health_check_type"] == "ELB"
    assert group["target_group_arns"] == ["${aws_lb_target_group.service[each.key].arn}"]
    refresh = tf.blocks(group, "instance_refresh")[0]
    assert refresh["strategy"] == "Rolling"
    template = tf.resource("aws_launch_template", "service")
    metadata = tf.blocks(template, "metadata_options")[0]
    assert metadata["http_tokens"] == "required"
    ebs = tf.blocks(tf.blocks(template, "block_device_mappings")[0], "ebs")[0]
    assert ebs["encrypted"] is True


def test_util_keeps_two_for_availability():
    assert tf.variable_default("util_min_size") >= 2
    validation = tf.blocks(tf.module()["variable"]["util_min_size"], "validation")[0]
    assert "var.util_min_size >= 2" in validation["condition"]
    sizes = tf.local("group_sizes")
    assert sizes["util"] == {"min": "${var.util_min_size}", "max": "${var.util_max_size}"}
    util = tf.resource("aws_autoscaling_policy", "util_cpu")
    spec = tf.blocks(tf.blocks(util, "target_tracking_configuration")[0], "predefined_metric_specification")[0]
    assert spec["predefined_metric_type"] == "ASGAverageCPUUtilization"


def test_ann_scales_on_queue_backlog_per_instance():
    policy = tf.resource("aws_autoscaling_policy", "ann_backlog")
    assert policy["autoscaling_group_name"] == '${aws_autoscaling_group.service["ann"].name}'
    tracking = tf.blocks(policy, "target_tracking_configuration")[0]
    assert tracking["target_value"] == "${var.ann_backlog_per_instance}"
    metrics = tf.blocks(tf.blocks(tracking, "customized_metric_specification")[0], "metrics")
    stats = {}
    for m in metrics:
        for stat in tf.blocks(m, "metric_stat"):
            metric = tf.blocks(stat, "metric")[0]
            dimension = tf.blocks(metric, "dimensions")[0]
            stats[m["id"]] = (metric["metric_name"], dimension["value"])
    assert stats["visible"] == ("ApproximateNumberOfMessagesVisible", '${aws_sqs_queue.channel["requests"].name}')
    assert stats["in_service"] == ("GroupInServiceInstances", '${aws_autoscaling_group.service["ann"].name}')
    returned = [m for m in metrics if m.get("return_data") is True]
    assert len(returned) == 1 and "/ in_service" in returned[0]["expression"] and "visible" in returned[0]["expression"]
    assert tf.local("group_sizes")["ann"]["min"] == "${var.ann_min_size}"
    group = tf.resource("aws_autoscaling_group", "service")
    assert "GroupInServiceInstances" in group["enabled_metrics"]


def test_ann_scales_out_from_zero():
    """With no annotator in service the backlog-per-instance metric is the
    backlog itself, which one to ann_backlog_per_instance waiting requests
    never push above the target: target tracking leaves them waiting. With
    ann_min_size = 0 a step policy takes the group from 0 to 1 once a job
    request waits and no annotator is in service."""
    policy = tf.resource("aws_autoscaling_policy", "ann_from_zero")
    assert policy["count"] == "${var.ann_min_size == 0 ? 1 : 0}"
    assert policy["autoscaling_group_name"] == '${aws_autoscaling_group.service["ann"].name}'
    assert policy["policy_type"] == "StepScaling"
    assert policy["adjustment_type"] == "ChangeInCapacity"
    steps = tf.blocks(policy, "step_adjustment")
    assert steps == [{"scaling_adjustment": 1, "metric_interval_lower_bound": 0}]
    # The instance it adds counts while it warms up: a breach that lasts
    # until the instance is in service adds no second one.
    assert policy["estimated_instance_warmup"] >= 120
    alarm = tf.resource("aws_cloudwatch_metric_alarm", "ann_from_zero")
    assert alarm["count"] == policy["count"]
    assert alarm["alarm_actions"] == ["${aws_autoscaling_policy.ann_from_zero[0].arn}"]
    assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold" and alarm["threshold"] == 1
    assert alarm["treat_missing_data"] == "notBreaching"
    queries = tf.blocks(alarm, "metric_query")
    stats = {}
    for q in queries:
        for stat in tf.blocks(q, "metric"):
            dimensions = stat["dimensions"]
            stats[q["id"]] = (stat["namespace"], stat["metric_name"], stat["stat"], stat["period"], dimensions)
    assert stats["visible"] == ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 60, {"QueueName": '${aws_sqs_queue.channel["requests"].name}'})
    assert stats["in_service"] == ("AWS/AutoScaling", "GroupInServiceInstances", "Maximum", 60, {"AutoScalingGroupName": '${aws_autoscaling_group.service["ann"].name}'})
    returned = [q for q in queries if q.get("return_data") is True]
    assert len(returned) == 1
    assert returned[0]["expression"].replace(" ", "") == "IF(visible>0ANDin_service==0,1,0)"


def test_web_scales_on_requests():
    policy = tf.resource("aws_autoscaling_policy", "web_requests")
    spec = tf.blocks(tf.blocks(policy, "target_tracking_configuration")[0], "predefined_metric_specification")[0]
    assert spec["predefined_metric_type"] == "ALBRequestCountPerTarget"
    assert 'aws_lb_target_group.service["web"].arn_suffix' in spec["resource_label"]


# --- Alarms ------------------------------------------------------------------------


def test_alarms_cover_dead_letters_old_messages_and_5xx():
    dead = tf.resource("aws_cloudwatch_metric_alarm", "dead_letters")
    assert tf.for_each_keys(dead) == tf.local("dead_lettered_channels")
    assert dead["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert dead["dimensions"] == {"QueueName": "${aws_sqs_queue.dead_letter[each.key].name}"}
    oldest = tf.resource("aws_cloudwatch_metric_alarm", "oldest_message")
    assert set(oldest["for_each"]) == {"requests", "archive"}
    assert oldest["metric_name"] == "ApproximateAgeOfOldestMessage"
    five = tf.resource("aws_cloudwatch_metric_alarm", "http_5xx")
    assert set(five["for_each"].values()) == {"HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"}
    assert five["namespace"] == "AWS/ApplicationELB"


# Alarms that act on a scaling policy instead of calling an operator.
SCALING_ALARMS = {"ann_from_zero"}


def test_every_alarm_notifies_the_operators():
    for name, alarm in tf.resources("aws_cloudwatch_metric_alarm").items():
        if name in SCALING_ALARMS:
            assert all(a.startswith("${aws_autoscaling_policy.") for a in alarm["alarm_actions"]), name
            continue
        assert alarm["alarm_actions"] == "${local.alarm_actions}", name
    assert tf.local("alarm_actions") == ["${aws_sns_topic.alarms.arn}"]
    subscription = tf.resource("aws_sns_topic_subscription", "alarm_email")
    assert subscription["protocol"] == "email" and subscription["endpoint"] == "${var.alarm_email}"
    # CloudWatch may publish into the encrypted alarm topic.
    assert re.search(r'Service\s*=\s*"cloudwatch\.amazonaws\.com"', (tf.INFRA / "kms.tf").read_text())
