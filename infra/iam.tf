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
# - DynamoDB uses a table's customer managed key as the caller: every
#   GetItem, PutItem or Query needs kms:Decrypt (the table key, which
#   DynamoDB caches per caller for a few minutes) and kms:DescribeKey on it,
#   through DynamoDB only; without them every call fails with a KMS access
#   error. (CreateGrant and the other actions DynamoDB's documentation lists
#   serve creating a table or changing its key: Terraform's principal.)
#   The buckets need nothing alike: they use the AWS managed aws/s3 key
#   (kms.tf);
# - every service opens every port at start (crates/gas/src/aws.rs `open`):
#   it looks up all queue URLs, lists topics and state machines.
# Besides the code: the release binary (user data), the service's own log
# group (the CloudWatch agent), the SSM agent's Session Manager channels
# (operators' shell, instead of SSH) and, for web, the secrets its user data
# reads from SSM Parameter Store, by ARN. No AWS managed policy:
# AmazonSSMManagedInstanceCore, the usual one for the SSM agent, also allows
# ssm:GetParameter(s) on every parameter of the account, Stripe's secret
# key included, to every instance.

locals {
  archive_timer_executions = "arn:${local.partition}:states:${var.region}:${local.account}:execution:${var.prefix}-archive-timer:*"
  ses_identity_arn         = "arn:${local.partition}:ses:${var.region}:${local.account}:identity/${var.ses_identity}"
  email_from_address       = try(regex("<([^>]+)>", var.email_from)[0], trimspace(var.email_from))
  release_object_arn       = "arn:${local.partition}:s3:::${var.release_bucket}/${var.release_key}"

  # The SSM parameters the web user data reads (empty variables: features
  # off), as ARNs: a name "/gas/stripe/secret-key" is the parameter
  # ".../parameter/gas/stripe/secret-key" (one slash), in this region.
  secret_parameters     = compact([var.stripe_secret_key_parameter, var.stripe_webhook_secret_parameter, var.secret_key_parameter, var.oidc_client_secret_parameter])
  secret_parameter_arns = [for name in local.secret_parameters : "arn:${local.partition}:ssm:${var.region}:${local.account}:parameter/${trimprefix(name, "/")}"]

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

resource "aws_iam_instance_profile" "service" {
  for_each = local.service_ports
  name     = "${var.prefix}-${each.key}"
  role     = aws_iam_role.service[each.key].name
}

# --- web: pages and API; uploads, downloads, upgrades ---------------------------

data "aws_iam_policy_document" "web" {
  #checkov:skip=CKV_AWS_111:The one write on "*" is the SSM agent's Session Manager channel (OperatorShell): ssmmessages actions take no resource, and AWS's own minimal Session Manager policy grants ssm:UpdateInstanceInformation on "*" too. Every other statement names its resources.
  #checkov:skip=CKV_AWS_356:Same statement: ssmmessages actions take no resource; sns:ListTopics and states:ListStateMachines (FindTopicsAndTimer) take none either.
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
    # The permissions DynamoDB's documentation lists for principals that
    # use a table under a customer managed key (its example key policy
    # grants exactly these, through DynamoDB, to every principal of the
    # account authorised to use DynamoDB): DynamoDB acts on the key with
    # the caller's authority when its cached table key lapses.
    sid       = "EncryptedTables"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.region}.amazonaws.com"]
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
  statement {
    # The SSM agent's channels for Session Manager (operators' shell); none
    # of these actions takes a resource.
    sid = "OperatorShell"
    actions = [
      "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = length(local.secret_parameter_arns) > 0 ? ["secrets"] : []
    content {
      # The user data reads the configured secrets at boot
      # (aws ssm get-parameter --with-decryption), these and no others.
      sid       = "Secrets"
      actions   = ["ssm:GetParameter"]
      resources = local.secret_parameter_arns
    }
  }
  dynamic "statement" {
    for_each = length(local.secret_parameter_arns) > 0 && var.secret_parameters_kms_key_arn != "" ? ["secrets"] : []
    content {
      # Parameters under the AWS managed aws/ssm key need nothing more (its
      # key policy lets the account's principals decrypt through SSM); under
      # a customer managed key, this role may decrypt through SSM only.
      sid       = "SecretsKey"
      actions   = ["kms:Decrypt"]
      resources = [var.secret_parameters_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${var.region}.amazonaws.com"]
      }
    }
  }
}

# --- ann: the annotator runner --------------------------------------------------

data "aws_iam_policy_document" "ann" {
  #checkov:skip=CKV_AWS_111:The one write on "*" is the SSM agent's Session Manager channel (OperatorShell): ssmmessages actions take no resource, and AWS's own minimal Session Manager policy grants ssm:UpdateInstanceInformation on "*" too. Every other statement names its resources.
  #checkov:skip=CKV_AWS_356:Same statement: ssmmessages actions take no resource; sns:ListTopics and states:ListStateMachines (FindTopicsAndTimer) take none either.
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
    # The permissions DynamoDB's documentation lists for principals that
    # use a table under a customer managed key (its example key policy
    # grants exactly these, through DynamoDB, to every principal of the
    # account authorised to use DynamoDB): DynamoDB acts on the key with
    # the caller's authority when its cached table key lapses.
    sid       = "EncryptedTables"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.region}.amazonaws.com"]
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
  statement {
    # The SSM agent's channels for Session Manager (operators' shell); none
    # of these actions takes a resource.
    sid = "OperatorShell"
    actions = [
      "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}

# --- util: webhooks, archive, restore, notifications ---------------------------------

data "aws_iam_policy_document" "util" {
  #checkov:skip=CKV_AWS_111:The one write on "*" is the SSM agent's Session Manager channel (OperatorShell): ssmmessages actions take no resource, and AWS's own minimal Session Manager policy grants ssm:UpdateInstanceInformation on "*" too. Every other statement names its resources.
  #checkov:skip=CKV_AWS_356:Same statement: ssmmessages actions take no resource; sns:ListTopics and states:ListStateMachines (FindTopicsAndTimer) take none either.
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
    # The permissions DynamoDB's documentation lists for principals that
    # use a table under a customer managed key (its example key policy
    # grants exactly these, through DynamoDB, to every principal of the
    # account authorised to use DynamoDB): DynamoDB acts on the key with
    # the caller's authority when its cached table key lapses.
    sid       = "EncryptedTables"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = [aws_kms_key.gas.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.region}.amazonaws.com"]
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
  statement {
    # The SSM agent's channels for Session Manager (operators' shell); none
    # of these actions takes a resource.
    sid = "OperatorShell"
    actions = [
      "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}
