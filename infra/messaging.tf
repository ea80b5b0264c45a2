# Topics, queues and the archive timer, as `gas provision` creates them
# (crates/gas/src/aws.rs, crates/messaging/src/aws/provision.rs): a topic per
# channel with the queue of the same name subscribed (raw delivery), a
# dead-letter queue behind every queue but restore, HTTPS subscriptions of
# the webhook topics to util, and the Step Functions timer.

resource "aws_sns_topic" "channel" {
  for_each          = toset(local.channels)
  name              = "${var.prefix}-${each.key}"
  kms_master_key_id = aws_kms_key.gas.arn
}

resource "aws_sqs_queue" "dead_letter" {
  for_each                   = toset(local.dead_lettered_channels)
  name                       = "${var.prefix}-${each.key}-dlq"
  visibility_timeout_seconds = var.visibility_timeout
  # SQS's maximum, as the code sets: time to look at what failed and redrive it.
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "channel" {
  for_each                   = toset(local.channels)
  name                       = "${var.prefix}-${each.key}"
  visibility_timeout_seconds = var.visibility_timeout
  # Four days (SQS's default, which the code keeps): longer than a Standard
  # restore from DEEP_ARCHIVE, during which a restore request stays queued.
  message_retention_seconds = 345600
  # The consumers poll with their own wait times; this only sets the default.
  receive_wait_time_seconds = 0
  sqs_managed_sse_enabled   = true
  # A restore request stays queued while its retrievals run: no redrive.
  redrive_policy = contains(local.dead_lettered_channels, each.key) ? jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = var.max_receives
  }) : null
}

data "aws_iam_policy_document" "queue_from_topic" {
  for_each = toset(local.channels)
  statement {
    sid       = "TopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.channel[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.channel[each.key].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "channel" {
  for_each  = toset(local.channels)
  queue_url = aws_sqs_queue.channel[each.key].id
  policy    = data.aws_iam_policy_document.queue_from_topic[each.key].json
}

resource "aws_sns_topic_subscription" "queue" {
  for_each             = toset(local.channels)
  topic_arn            = aws_sns_topic.channel[each.key].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.channel[each.key].arn
  raw_message_delivery = true
  depends_on           = [aws_sqs_queue_policy.channel]
}

# SNS posts the webhook topics to util through the load balancer. util
# confirms each subscription when SNS posts its SubscriptionConfirmation, so
# the subscriptions wait until util's instances are healthy behind the
# listener rule that routes these paths to them. (util also drains its
# queues every drain_interval, so nothing waits on a pending confirmation.)
resource "aws_sns_topic_subscription" "webhook" {
  for_each               = toset(local.webhooks)
  topic_arn              = aws_sns_topic.channel[each.key].arn
  protocol               = "https"
  endpoint               = "${local.public_url}/${each.key}"
  endpoint_auto_confirms = false
  depends_on             = [aws_autoscaling_group.service, aws_lb_listener_rule.webhooks, aws_route53_record.public]
}

# S3 (restore events) or Glacier (retrieval jobs) publish into the thaw
# topic as services. This replaces the default topic policy; the account's
# own principals keep the access their IAM policies give them.
data "aws_iam_policy_document" "thaw_topic" {
  statement {
    sid       = "ColdStorePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.channel["thaw"].arn]
    principals {
      type        = "Service"
      identifiers = local.s3_cold_storage ? ["s3.amazonaws.com"] : ["glacier.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_sns_topic_policy" "thaw" {
  arn    = aws_sns_topic.channel["thaw"].arn
  policy = data.aws_iam_policy_document.thaw_topic.json
}

# --- The archive timer: Wait(window) → sns:Publish ----------------------------

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "archive_timer" {
  name               = "${var.prefix}-archive-timer"
  assume_role_policy = data.aws_iam_policy_document.states_assume.json
}

data "aws_iam_policy_document" "archive_timer" {
  statement {
    sid       = "PublishArchiveRequests"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.channel["archive"].arn]
  }
  statement {
    sid       = "EncryptedTopic"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "archive_timer" {
  name   = "publish-archive-requests"
  role   = aws_iam_role.archive_timer.id
  policy = data.aws_iam_policy_document.archive_timer.json
}

# The same definition file `gas provision` uses (include_str! in
# crates/messaging/src/aws/timer.rs); templatefile() fills in the topic, and
# the service integration's ARN gets this partition (the file spells it
# arn:aws:states:::sns:publish, which names nothing in aws-cn or
# aws-us-gov).
resource "aws_sfn_state_machine" "archive_timer" {
  #checkov:skip=CKV_AWS_284:The machine is one Wait and one sns:Publish; X-Ray traces would show nothing the execution history does not.
  #checkov:skip=CKV_AWS_285:Step Functions keeps every standard execution's history for 90 days, and the ExecutionsFailed alarm (alarms.tf) reports a failed publish; log delivery would need account-wide logs permissions for the role.
  name     = "${var.prefix}-archive-timer"
  type     = "STANDARD"
  role_arn = aws_iam_role.archive_timer.arn
  definition = replace(templatefile("${path.module}/archive_timer.asl.json", {
    archive_topic_arn = aws_sns_topic.channel["archive"].arn
  }), "arn:aws:states:::", "arn:${local.partition}:states:::")
}
