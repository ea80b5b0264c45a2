"""The archive timer Terraform deploys is the definition the code provisions."""

import json
import re

import rust_sources as rust
import terraform as tf

TIMER_RS = rust.REPO / "crates/messaging/src/aws/timer.rs"
ASL = tf.INFRA / "archive_timer.asl.json"


def test_code_embeds_the_infra_definition_file():
    text = TIMER_RS.read_text()
    included = re.findall(r'ARCHIVE_TIMER_DEFINITION:\s*&str\s*=\s*include_str!\("([^"]+)"\)', text)
    assert len(included) == 1, "timer.rs no longer include_str!s the definition"
    assert (TIMER_RS.parent / included[0]).resolve() == ASL.resolve()


def test_terraform_deploys_the_same_file_with_the_archive_topic():
    machine = tf.resource("aws_sfn_state_machine", "archive_timer")
    path, variables = tf.templatefile_call(tf.expression(machine["definition"]))
    assert path == '"${path.module}/archive_timer.asl.json"'
    assert variables.replace(" ", "") == '{archive_topic_arn=aws_sns_topic.channel["archive"].arn}'
    assert tf.render_name(machine["name"]) == "PREFIX-archive-timer"


def test_placeholder_is_the_codes_and_the_only_one():
    placeholder = re.search(r'TOPIC_ARN_PLACEHOLDER:\s*&str\s*=\s*"([^"]+)"', TIMER_RS.read_text()).group(1)
    text = ASL.read_text()
    assert tf.template_placeholders(text) == {placeholder.removeprefix("${").removesuffix("}")}
    topic = "arn:aws:sns:us-east-1:111122223333:gas-archive"
    definition = json.loads(tf.render_template(text, {"archive_topic_arn": topic}))
    publish = [s for s in definition["States"].values() if s.get("Resource") == "arn:aws:states:::sns:publish"]
    assert len(publish) == 1 and publish[0]["Parameters"]["TopicArn"] == topic


def test_the_timer_role_is_the_machines():
    machine = tf.resource("aws_sfn_state_machine", "archive_timer")
    assert tf.expression(machine["role_arn"]) == "aws_iam_role.archive_timer.arn"


def test_arns_built_by_string_use_the_partition():
    """No ARN is spelled with the aws partition: in aws-cn or aws-us-gov it
    would name nothing. The shared definition file says arn:aws:states:::
    (gas provision sends it as is); Terraform puts the partition in before
    deploying it."""
    assert tf.local("partition") == "${data.aws_partition.current.partition}"
    rewrite = '"arn:aws:states:::", "arn:${local.partition}:states:::"'
    for path in tf.tf_files():
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines()).replace(rewrite, "")
        assert "arn:aws:" not in code, f"{path.name} builds an ARN with the aws partition spelled out"
    text = ASL.read_text()
    arns = re.findall(r'"(arn:[^"]*)"', text)
    assert arns and all(a.startswith("arn:aws:states:::") for a in arns), arns
    machine = tf.resource("aws_sfn_state_machine", "archive_timer")
    expr = tf.expression(machine["definition"])
    assert expr.startswith("replace(templatefile(")
    assert expr.endswith(', "arn:aws:states:::", "arn:${local.partition}:states:::")'), expr
