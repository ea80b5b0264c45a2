# One role per service, allowed exactly the actions on the resources that
# the service's code calls. Derived from the AWS SDK calls of the adapters
# (crates/jobs/src/dynamo, crates/storage/src/{s3,s3_class.rs,glacier},
# crates/messaging/src/aws, util/src/ses.rs) and the ports each service is
# given (crates/gas/src/system.rs: web_router, runner, util);
# tests/infra/test_iam.py derives the same from the sources and compares.
#
# How SDK operations become IAM actions:
# - HeadObject, and the source of CopyObject/UploadPartCopy, need s3:GetObject;
#   multipart uploads and copies need s3:PutObject (and AbortMultipartUpload);
# - s3:ListBucket on a bucket whose objects a service reads makes a missing
#   key answer 404 (the adapters' NotFound) instead of 403;
# - TransactWriteItems needs the action of each item kind it writes (PutItem,
#   UpdateItem, DeleteItem, ConditionCheckItem); DeleteMessageBatch needs
#   sqs:DeleteMessage;
# - sns:Publish to a topic encrypted with the stack's key needs
#   kms:GenerateDataKey and kms:Decrypt on it, through SNS only;
# - every service opens every port at start (crates/gas/src/aws.rs `open`):
#   it looks up all queue URLs, lists topics and state machines.
# Besides the code: the release binary (user data), the service's own log
# group (the CloudWatch agent) and the SSM agent's managed policy (operators'
# shell, instead of SSH).

locals {
  archive_timer_executions = "arn:${local.partition}:states:${var.region}:${local.account}:execution:${var.prefix}-archive-timer:*"
  ses_identity_arn         = "arn:${local.partition}:ses:${var.region}:${local.account}:identity/${var.ses_identity}"
  email_from_address       = try(regex("<([^>]+)>", var.email_from)[0], trimspace(var.email_from))
  release_object_arn       = "arn:${local.partition}:s3:::${var.release_bucket}/${var.release_key}"

  service_policies = {
    web  = data.aws_iam_policy_document.web.json
    ann  = data.aws_iam_policy_document.ann.json
    util = data.aws_iam_policy_document.util.json
  }
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "service" {
  for_each           = local.service_ports
  name               = "${var.prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "service" {
  for_each = local.service_ports
  name     = "gas-${each.key}"
  role     = aws_iam_role.service[each.key].id
  policy   = local.service_policies[each.key]
}

resource "aws_iam_role_policy_attachment" "ssm" {
  for_each   = local.service_ports
  role       = aws_iam_role.service[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "service" {
  for_each = local.service_ports
  name     = "${var.prefix}-${each.key}"
  role     = aws_iam_role.service[each.key].name
}

# --- web: pages and API; uploads, downloads, upgrades ---------------------------

data "aws_iam_policy_document" "web" {
  statement {
    sid       = "FindQueues"
    actions   = ["sqs:GetQueueUrl"]
    resources = [for c in local.channels : aws_sqs_queue.channel[c].arn]
  }
  statement {
    # Neither call can be limited to resources.
    sid       = "FindTopicsAndTimer"
    actions   = ["sns:ListTopics", "states:ListStateMachines"]
    resources = ["*"]
  }
  statement {
    sid       = "JobRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.annotations.arn]
  }
  statement {
    sid       = "JobsOfAUser"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.annotations.arn}/index/user_id_index"]
  }
  statement {
    sid       = "Users"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    resources = [aws_dynamodb_table.users.arn]
  }
  statement {
    # Uploads through the API and the presigned POST it signs; downloads
    # through the presigned URLs it signs.
    sid       = "InputsAndResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.inputs.arn}/*", "${aws_s3_bucket.results.arn}/*"]
  }
  statement {
    sid       = "MissingObjectsAnswer404"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.inputs.arn, aws_s3_bucket.results.arn]
  }
  statement {
    sid       = "PublishJobAndRestoreRequests"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.channel["requests"].arn, aws_sns_topic.channel["restore"].arn]
  }
  statement {
    sid       = "EncryptedTopics"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "ArchiveTimer"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.archive_timer.arn]
  }
  statement {
    # An upgrade stops the user's pending timers.
    sid       = "ArchiveTimerExecutions"
    actions   = ["states:StopExecution", "states:DescribeExecution"]
    resources = [local.archive_timer_executions]
  }
  statement {
    sid       = "ReleaseBinary"
    actions   = ["s3:GetObject"]
    resources = [local.release_object_arn]
  }
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.service["web"].arn}:*"]
  }
}

# --- ann: the annotator runner --------------------------------------------------

data "aws_iam_policy_document" "ann" {
  statement {
    sid       = "FindQueues"
    actions   = ["sqs:GetQueueUrl"]
    resources = [for c in local.channels : aws_sqs_queue.channel[c].arn]
  }
  statement {
    sid       = "FindTopicsAndTimer"
    actions   = ["sns:ListTopics", "states:ListStateMachines"]
    resources = ["*"]
  }
  statement {
    sid       = "JobRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.annotations.arn]
  }
  statement {
    sid       = "JobsOfAUser"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.annotations.arn}/index/user_id_index"]
  }
  statement {
    # The runner reads the user's role to decide on the archive timer; the
    # grant is the user store adapter's, as for every port.
    sid       = "Users"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    resources = [aws_dynamodb_table.users.arn]
  }
  statement {
    sid       = "InputsAndResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.inputs.arn}/*", "${aws_s3_bucket.results.arn}/*"]
  }
  statement {
    sid       = "MissingObjectsAnswer404"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.inputs.arn, aws_s3_bucket.results.arn]
  }
  statement {
    sid       = "ConsumeJobRequests"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"]
    resources = [aws_sqs_queue.channel["requests"].arn]
  }
  statement {
    sid       = "PublishCompletions"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.channel["results"].arn]
  }
  statement {
    sid       = "EncryptedTopics"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "ArchiveTimer"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.archive_timer.arn]
  }
  statement {
    sid       = "ArchiveTimerExecutions"
    actions   = ["states:StopExecution", "states:DescribeExecution"]
    resources = [local.archive_timer_executions]
  }
  statement {
    sid       = "ReleaseBinary"
    actions   = ["s3:GetObject"]
    resources = [local.release_object_arn]
  }
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.service["ann"].arn}:*"]
  }
}

# --- util: webhooks, archive, restore, notifications ---------------------------------

data "aws_iam_policy_document" "util" {
  statement {
    sid       = "FindQueues"
    actions   = ["sqs:GetQueueUrl"]
    resources = [for c in local.channels : aws_sqs_queue.channel[c].arn]
  }
  statement {
    sid       = "FindTopicsAndTimer"
    actions   = ["sns:ListTopics", "states:ListStateMachines"]
    resources = ["*"]
  }
  statement {
    sid       = "JobRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.annotations.arn]
  }
  statement {
    sid       = "JobsOfAUser"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.annotations.arn}/index/user_id_index"]
  }
  statement {
    sid       = "Users"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    resources = [aws_dynamodb_table.users.arn]
  }
  statement {
    # Archive reads and deletes results; restore writes them back.
    sid       = "Results"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.results.arn}/*"]
  }
  statement {
    sid       = "MissingResultsAnswer404"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.results.arn]
  }
  dynamic "statement" {
    for_each = local.s3_cold_storage ? ["archive"] : []
    content {
      # Archive (multipart, storage class), restore, read the restored copy,
      # keep it past a delete (server-side copy), delete.
      sid       = "ColdStoreObjects"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:RestoreObject"]
      resources = ["${aws_s3_bucket.archive[0].arn}/*"]
    }
  }
  dynamic "statement" {
    for_each = local.s3_cold_storage ? ["archive"] : []
    content {
      sid       = "MissingArchivesAnswer404"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.archive[0].arn]
    }
  }
  dynamic "statement" {
    for_each = local.glacier_cold_storage ? ["archive"] : []
    content {
      sid = "ColdStoreVault"
      actions = [
        "glacier:UploadArchive", "glacier:InitiateMultipartUpload", "glacier:UploadMultipartPart",
        "glacier:CompleteMultipartUpload", "glacier:AbortMultipartUpload", "glacier:InitiateJob",
        "glacier:DescribeJob", "glacier:GetJobOutput", "glacier:DeleteArchive",
      ]
      resources = [aws_glacier_vault.archive[0].arn]
    }
  }
  statement {
    # The webhooks' queues, and the job-complete notifications for email.
    sid     = "ConsumeArchiveRestoreThawAndCompletions"
    actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"]
    resources = [
      aws_sqs_queue.channel["archive"].arn, aws_sqs_queue.channel["restore"].arn,
      aws_sqs_queue.channel["thaw"].arn, aws_sqs_queue.channel["results"].arn,
    ]
  }
  statement {
    # A user who became premium during an archive gets a restore requested.
    sid       = "PublishRestoreRequests"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.channel["restore"].arn]
  }
  statement {
    sid       = "EncryptedTopics"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "SendNotifications"
    actions   = ["ses:SendEmail"]
    resources = [local.ses_identity_arn]
    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = [local.email_from_address]
    }
  }
  statement {
    sid       = "ReleaseBinary"
    actions   = ["s3:GetObject"]
    resources = [local.release_object_arn]
  }
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.service["util"].arn}:*"]
  }
}
