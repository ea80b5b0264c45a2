output "instances" {
  value = { for k, i in aws_instance.service : k => i.private_ip }
}

output "archive_timer_arn" {
  value = aws_sfn_state_machine.archive_timer.arn
}
