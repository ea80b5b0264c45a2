# The three services, one instance each, with one shared configuration.

locals {
  config = <<-TOML
    backend = "aws"
    aws_prefix = "${var.prefix}"
    cold_storage = "${var.cold_storage}"
    free_access_window = ${var.free_access_window}
    web_addr = "0.0.0.0:8080"
    util_addr = "0.0.0.0:8081"
    ann_addr = "0.0.0.0:8082"
    web_public_url = "${var.web_public_url}"
    util_public_url = "${var.util_public_url}"
    email_from = "${var.email_from}"
    log_format = "json"
  TOML

  data_arns = concat(
    [aws_dynamodb_table.annotations.arn, "${aws_dynamodb_table.annotations.arn}/index/*", aws_dynamodb_table.users.arn],
    [aws_s3_bucket.inputs.arn, "${aws_s3_bucket.inputs.arn}/*", aws_s3_bucket.results.arn, "${aws_s3_bucket.results.arn}/*"],
    [for b in aws_s3_bucket.archive : b.arn], [for b in aws_s3_bucket.archive : "${b.arn}/*"],
  )
}

resource "aws_iam_role" "service" {
  name = "${var.prefix}-service"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "service" {
  role = aws_iam_role.service.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:TransactWriteItems", "dynamodb:DescribeTable"], Resource = local.data_arns },
      { Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:RestoreObject", "s3:ListBucket", "s3:AbortMultipartUpload"], Resource = local.data_arns },
      { Effect = "Allow", Action = ["glacier:UploadArchive", "glacier:InitiateMultipartUpload", "glacier:UploadMultipartPart", "glacier:CompleteMultipartUpload", "glacier:AbortMultipartUpload", "glacier:InitiateJob", "glacier:DescribeJob", "glacier:GetJobOutput", "glacier:DeleteArchive"], Resource = [for v in aws_glacier_vault.archive : v.arn] },
      { Effect = "Allow", Action = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:SendMessage"], Resource = [for q in aws_sqs_queue.queue : q.arn] },
      { Effect = "Allow", Action = ["sns:Publish"], Resource = [for t in aws_sns_topic.topic : t.arn] },
      { Effect = "Allow", Action = ["sns:ListTopics", "states:ListStateMachines"], Resource = "*" },
      { Effect = "Allow", Action = ["sns:ConfirmSubscription"], Resource = [for t in aws_sns_topic.topic : t.arn] },
      { Effect = "Allow", Action = ["states:StartExecution", "states:StopExecution", "states:DescribeExecution"], Resource = [aws_sfn_state_machine.archive_timer.arn, replace("${aws_sfn_state_machine.archive_timer.arn}:*", ":stateMachine:", ":execution:")] },
      { Effect = "Allow", Action = ["ses:SendEmail"], Resource = "*" },
      { Effect = "Allow", Action = ["s3:GetObject"], Resource = [replace(var.artifact, "s3://", "arn:aws:s3:::"), "${replace(var.units, "s3://", "arn:aws:s3:::")}/*"] },
    ]
  })
}

resource "aws_iam_instance_profile" "service" {
  name = "${var.prefix}-service"
  role = aws_iam_role.service.name
}

resource "aws_instance" "service" {
  for_each               = toset(["web", "ann", "util"])
  ami                    = var.ami
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = var.security_group_ids
  iam_instance_profile   = aws_iam_instance_profile.service.name
  user_data = templatefile("${path.module}/../aws/user-data.sh", {
    service  = each.key
    artifact = var.artifact
    units    = var.units
    config   = local.config
  })
  tags = { Name = "${var.prefix}-${each.key}" }
}
