# One customer managed key for what AWS-managed keys cannot serve:
# - SNS topics: S3 (restore events), CloudWatch (alarms) and Glacier publish
#   into them as services, and only a key policy we write can let them;
# - DynamoDB tables and CloudWatch log groups, encrypted under a key the
#   account controls (rotation, audit in CloudTrail, revocation). DynamoDB
#   uses the key as its caller: the service roles may use it through
#   DynamoDB (kms:ViaService, iam.tf), which the AccountIamPolicies
#   statement below lets IAM policies grant; the principal that creates the
#   tables (Terraform's) needs kms:CreateGrant and the rest on it as well.
# S3 buckets use SSE-KMS with the AWS-managed aws/s3 key and bucket keys:
# it lets every principal of the account that S3 authorises, so presigned
# URLs need no KMS grants, and it costs nothing a month. SQS queues use
# SQS-managed encryption, which SNS can deliver into without a key policy.

locals {
  log_group_arn_pattern = "arn:${local.partition}:logs:${var.region}:${local.account}:log-group:/${var.prefix}/*"

  kms_statements = concat(
    [
      {
        # Key administration and use stay with the account's IAM policies
        # (the service roles in iam.tf grant only what they need).
        Sid       = "AccountIamPolicies"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
      {
        Sid       = "LogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn_pattern } }
      },
    ],
    local.s3_cold_storage ? [{
      # Restore completions of the S3 cold store go to the encrypted thaw topic.
      Sid       = "S3RestoreEventsPublish"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }] : [],
    local.glacier_cold_storage ? [{
      # Retrieval completions of the vault go to the encrypted thaw topic.
      Sid       = "GlacierJobsPublish"
      Effect    = "Allow"
      Principal = { Service = "glacier.amazonaws.com" }
      Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }] : [],
  )
}

resource "aws_kms_key" "gas" {
  description             = "GAS ${var.prefix}: SNS topics, DynamoDB tables, CloudWatch log groups"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.kms_statements
  })
}

resource "aws_kms_alias" "gas" {
  name          = "alias/${var.prefix}"
  target_key_id = aws_kms_key.gas.key_id
}
