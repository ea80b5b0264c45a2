# GAS on AWS: one root module, one file per concern.
#   main.tf       provider, names shared by every file
#   variables.tf  what an installation sets (docs/DEPLOY.md explains each)
#   kms.tf        the key that encrypts topics, tables and log groups
#   data.tf       DynamoDB tables, S3 buckets, the Glacier vault
#   messaging.tf  SNS topics, SQS queues and dead-letter queues, the timer
#   network.tf    security groups
#   alb.tf        the HTTPS load balancer and its routing
#   iam.tf        one role per service, allowed what that service's code calls
#   asg.tf        launch templates, auto scaling groups, scaling policies
#   logs.tf       CloudWatch log groups
#   alarms.tf     alarms and the topic operators subscribe to
#   outputs.tf
# `gas provision` creates the same data and messaging resources with the same
# names for emulators and trials; tests/infra checks that they agree. Never
# run it against an installation this module manages: its bucket lifecycle
# configuration would replace the one below (docs/DEPLOY.md).

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # instance_refresh max_healthy_percentage and metric-math target
      # tracking need a recent 5.x. Not 5.86.0: its rewrite of
      # aws_s3_bucket_lifecycle_configuration fails ("Provider produced
      # inconsistent result") on rules with filter { prefix = "" }, which
      # every bucket here has; 5.87.0 fixed it.
      version = ">= 5.60, != 5.86.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Application  = "gas"
      Installation = var.prefix
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  # The code's CHANNELS (crates/gas/src/aws.rs): one topic each, with the
  # queue of the same name subscribed to it.
  channels = ["requests", "results", "archive", "restore", "thaw"]
  # Channels whose queue moves poison messages to `<name>-dlq`: every one but
  # restore, whose request stays queued while its retrievals run.
  dead_lettered_channels = ["requests", "results", "archive", "thaw"]
  # The code's WEBHOOKS: topics that also POST to util's path of the same name.
  webhooks = ["archive", "restore", "thaw"]

  # Each service's listener port (the code's defaults: web 8080, util 8081,
  # ann 8082 for /healthz and /metrics).
  service_ports = { web = 8080, ann = 8082, util = 8081 }

  # Browsers reach web and SNS reaches util under one https host.
  public_url = "https://${var.domain_name}"

  s3_cold_storage      = var.cold_storage == "s3-class"
  glacier_cold_storage = var.cold_storage == "glacier-vault"
  # The S3 cold store keeps archives under this key prefix (crates/gas/src/aws.rs).
  archive_key_prefix = "archive/"
}
