# Alarms, sent to one topic that operators subscribe to (alarm_email; add
# more subscriptions to it as needed). docs/DEPLOY.md says what to do about
# each one.

resource "aws_sns_topic" "alarms" {
  name              = "${var.prefix}-alarms"
  kms_master_key_id = aws_kms_key.gas.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
}

# A message in a dead-letter queue failed max_receives times: it needs a
# look (`gas dlq show QUEUE`) and, once fixed, `gas dlq redrive QUEUE`.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each            = toset(local.dead_lettered_channels)
  alarm_name          = "${var.prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "Messages of ${each.key} failed ${var.max_receives} times and wait in ${aws_sqs_queue.dead_letter[each.key].name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Work that waits too long: no annotator keeps up (or none runs), or util
# does not drain the archive queue.
resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = {
    requests = var.requests_age_alarm_seconds
    archive  = var.archive_age_alarm_seconds
  }
  alarm_name          = "${var.prefix}-${each.key}-queue-too-old"
  alarm_description   = "The oldest message of ${aws_sqs_queue.channel[each.key].name} has waited over ${each.value} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.channel[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# 5xx at the load balancer: its own (no healthy target, timeouts) and the
# services' answers.
resource "aws_cloudwatch_metric_alarm" "http_5xx" {
  for_each = {
    balancer = "HTTPCode_ELB_5XX_Count"
    services = "HTTPCode_Target_5XX_Count"
  }
  alarm_name          = "${var.prefix}-${each.key}-5xx"
  alarm_description   = "More than ${var.alb_5xx_alarm_count} ${each.value} in 5 minutes at ${aws_lb.gas.name}."
  namespace           = "AWS/ApplicationELB"
  metric_name         = each.value
  dimensions          = { LoadBalancer = aws_lb.gas.arn_suffix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alb_5xx_alarm_count
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# A group with no healthy instance for 5 minutes: a release that does not
# start, or instances that cannot reach AWS or read their job store
# (/readyz fails).
resource "aws_cloudwatch_metric_alarm" "no_healthy_instance" {
  for_each            = { for service, size in local.group_sizes : service => size if size.min > 0 }
  alarm_name          = "${var.prefix}-${each.key}-no-healthy-instance"
  alarm_description   = "No ${each.key} instance passes /readyz (it serves and can read its job store)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = { LoadBalancer = aws_lb.gas.arn_suffix, TargetGroup = aws_lb_target_group.service[each.key].arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# An archive timer that could not publish after its retries: that job's
# results would stay hot (util's drain does not see a message never sent).
resource "aws_cloudwatch_metric_alarm" "archive_timer_failed" {
  alarm_name          = "${var.prefix}-archive-timer-failed"
  alarm_description   = "An execution of ${aws_sfn_state_machine.archive_timer.name} failed."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.archive_timer.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
