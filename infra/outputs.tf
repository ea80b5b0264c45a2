output "public_url" {
  description = "Where browsers go, and where SNS posts the webhooks (web_public_url and util_public_url)."
  value       = local.public_url
}

output "load_balancer_dns_name" {
  description = "Point domain_name here (an alias or CNAME) when route53_zone_id is empty."
  value       = aws_lb.gas.dns_name
}

output "autoscaling_groups" {
  value = { for service, group in aws_autoscaling_group.service : service => group.name }
}

output "log_groups" {
  value = { for service, group in aws_cloudwatch_log_group.service : service => group.name }
}

output "dead_letter_queues" {
  description = "What `gas dlq list` reports on."
  value       = { for channel, queue in aws_sqs_queue.dead_letter : channel => queue.name }
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "archive_timer_arn" {
  value = aws_sfn_state_machine.archive_timer.arn
}

output "service_roles" {
  value = { for service, role in aws_iam_role.service : service => role.arn }
}
