# Every AWS resource the GAS services use. `gas provision` creates the same
# set for emulators and trials; this is the production path.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

locals {
  name = { for what in ["annotations", "users", "inputs", "results", "archive", "archive-timer"] : what => "${var.prefix}-${what}" }
  # topic → queue; the webhook topics also POST to util.
  queues   = ["requests", "results", "archive", "restore", "thaw"]
  webhooks = ["archive", "restore", "thaw"]
}

# --- Job records -----------------------------------------------------------

resource "aws_dynamodb_table" "annotations" {
  name         = local.name["annotations"]
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "job_id"

  attribute {
    name = "job_id"
    type = "S"
  }
  attribute {
    name = "user_id"
    type = "S"
  }
  attribute {
    name = "submit_time"
    type = "N"
  }
  global_secondary_index {
    name            = "user_id_index"
    hash_key        = "user_id"
    range_key       = "submit_time"
    projection_type = "ALL"
  }
  point_in_time_recovery {
    enabled = true
  }
}

resource "aws_dynamodb_table" "users" {
  name         = local.name["users"]
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "user_id"
  attribute {
    name = "user_id"
    type = "S"
  }
}

# --- Objects ---------------------------------------------------------------

resource "aws_s3_bucket" "inputs" {
  bucket = local.name["inputs"]
}

resource "aws_s3_bucket" "results" {
  bucket = local.name["results"]
}

resource "aws_s3_bucket" "archive" {
  count  = var.cold_storage == "s3-class" ? 1 : 0
  bucket = local.name["archive"]
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each                = { inputs = aws_s3_bucket.inputs.id, results = aws_s3_bucket.results.id }
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Browsers upload inputs directly with presigned POSTs.
resource "aws_s3_bucket_cors_configuration" "inputs" {
  bucket = aws_s3_bucket.inputs.id
  cors_rule {
    allowed_methods = ["POST"]
    allowed_origins = [var.web_public_url]
    allowed_headers = ["*"]
  }
}

resource "aws_glacier_vault" "archive" {
  count = var.cold_storage == "glacier-vault" ? 1 : 0
  name  = local.name["archive"]
  notification {
    sns_topic = aws_sns_topic.topic["thaw"].arn
    events    = ["ArchiveRetrievalCompleted"]
  }
}

# --- Messaging -------------------------------------------------------------

resource "aws_sns_topic" "topic" {
  for_each = toset(local.queues)
  name     = "${var.prefix}-${each.key}"
}

resource "aws_sqs_queue" "dlq" {
  for_each                  = toset([for q in local.queues : q if q != "restore"])
  name                      = "${var.prefix}-${each.key}-dlq"
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "queue" {
  for_each                   = toset(local.queues)
  name                       = "${var.prefix}-${each.key}"
  visibility_timeout_seconds = 60
  receive_wait_time_seconds  = 20
  # A restore request stays queued while its retrievals run: no redrive.
  redrive_policy = each.key == "restore" ? null : jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_policy" "from_topic" {
  for_each  = toset(local.queues)
  queue_url = aws_sqs_queue.queue[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.queue[each.key].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.topic[each.key].arn } }
    }]
  })
}

resource "aws_sns_topic_subscription" "queue" {
  for_each             = toset(local.queues)
  topic_arn            = aws_sns_topic.topic[each.key].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.queue[each.key].arn
  raw_message_delivery = true
}

resource "aws_sns_topic_subscription" "webhook" {
  for_each               = toset(local.webhooks)
  topic_arn              = aws_sns_topic.topic[each.key].arn
  protocol               = "https"
  endpoint               = "${var.util_public_url}/${each.key}"
  endpoint_auto_confirms = false
}

# --- The archive timer: Wait(window) → sns:Publish --------------------------

resource "aws_iam_role" "archive_timer" {
  name = local.name["archive-timer"]
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "states.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "archive_timer" {
  role = aws_iam_role.archive_timer.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sns:Publish", Resource = aws_sns_topic.topic["archive"].arn }]
  })
}

# The same definition file `gas provision` uses.
resource "aws_sfn_state_machine" "archive_timer" {
  name     = local.name["archive-timer"]
  role_arn = aws_iam_role.archive_timer.arn
  definition = templatefile("${path.module}/archive_timer.asl.json", {
    archive_topic_arn = aws_sns_topic.topic["archive"].arn
  })
}

# --- Restore completions of the S3 cold store reach /thaw --------------------

resource "aws_sns_topic_policy" "thaw_from_s3" {
  count = var.cold_storage == "s3-class" ? 1 : 0
  arn   = aws_sns_topic.topic["thaw"].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.topic["thaw"].arn
      Condition = { ArnLike = { "aws:SourceArn" = aws_s3_bucket.archive[0].arn } }
    }]
  })
}

resource "aws_s3_bucket_notification" "archive_restored" {
  count  = var.cold_storage == "s3-class" ? 1 : 0
  bucket = aws_s3_bucket.archive[0].id
  topic {
    topic_arn     = aws_sns_topic.topic["thaw"].arn
    events        = ["s3:ObjectRestore:Completed"]
    filter_prefix = "archive/"
  }
  depends_on = [aws_sns_topic_policy.thaw_from_s3]
}
