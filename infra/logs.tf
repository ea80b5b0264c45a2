# The services' logs (JSON lines, log_format = "json"), shipped by the
# CloudWatch agent that the user data installs: /<prefix>/web, /<prefix>/ann,
# /<prefix>/util, one stream per instance.

resource "aws_cloudwatch_log_group" "service" {
  for_each          = local.service_ports
  name              = "/${var.prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.gas.arn
}
