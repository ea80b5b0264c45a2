# What an installation sets. docs/DEPLOY.md has a table of these with
# advice; infra/example.tfvars is a filled-in example.

# --- Naming and place ---------------------------------------------------------

# No default: S3 bucket names are global, across every AWS account, and the
# code's default "gas" would make gas-inputs, gas-results and gas-archive,
# which exist already in someone else's account (the apply would fail).
variable "prefix" {
  description = "Every resource name derives from it (GAS_AWS_PREFIX): <prefix>-annotations, <prefix>-inputs, ... Bucket names are global: choose one nobody else has, e.g. your organisation's name and the installation's purpose (acme-gas-prod)."
  type        = string
  validation {
    # Valid in every name it makes: lowercase letters, digits and single
    # dashes, from a letter to a letter or digit. At most 24 characters, so
    # that <prefix>-util (a target group) and <prefix>-alb fit the load
    # balancer's 32; every other name (S3 63, SQS and Step Functions 80,
    # IAM roles 64) has room to spare. At least 6, for names of one's own.
    condition     = length(var.prefix) >= 6 && length(var.prefix) <= 24 && can(regex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$", var.prefix))
    error_message = "prefix: 6 to 24 characters, lowercase letters, digits and single dashes, starting with a letter and ending with a letter or digit."
  }
  validation {
    # The first names anyone would try: someone else has their buckets.
    condition     = !contains(["gas-dev", "gas-test", "gas-prod", "gas-production", "gas-demo", "gas-stage", "gas-staging", "gas-trial", "gas-example", "example", "example-gas", "my-gas", "test-gas"], var.prefix)
    error_message = "prefix: bucket names are global, and this one is too obvious to be free; add your organisation's name (e.g. acme-gas-prod)."
  }
  validation {
    # S3 reserves bucket names that begin so.
    condition     = !can(regex("^(sthree|amzn-s3-demo)(-|$)", var.prefix))
    error_message = "prefix: S3 reserves bucket names beginning with sthree- or amzn-s3-demo-."
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

# --- Public endpoint ----------------------------------------------------------

variable "domain_name" {
  description = "The host name browsers and SNS use (e.g. gas.example.org); the certificate must cover it."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name, in this region, for the HTTPS listener."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone in which to create domain_name as an alias of the load balancer; empty to manage DNS elsewhere."
  type        = string
  default     = ""
}

# --- Network ------------------------------------------------------------------

variable "vpc_id" {
  type = string
}

variable "alb_subnet_ids" {
  description = "Public subnets for the load balancer, in at least two availability zones."
  type        = list(string)
}

variable "instance_subnet_ids" {
  description = "Subnets for the instances, in at least two availability zones. They must reach AWS APIs over HTTPS (a NAT gateway, or instance_public_ip in public subnets)."
  type        = list(string)
}

variable "instance_public_ip" {
  description = "Give instances public IPv4 addresses (for public subnets without NAT). Their security groups still admit only the load balancer."
  type        = bool
  default     = false
}

# --- Release and instances ----------------------------------------------------

variable "release_bucket" {
  description = "S3 bucket holding release binaries (built with `cargo build --release -p gas` for the instances' architecture)."
  type        = string
}

variable "release_key" {
  description = "Object key of the gas binary to run, e.g. releases/1.4.0/gas-aarch64-linux. Changing it rolls every group to the new release."
  type        = string
}

variable "release_sha256" {
  description = "SHA-256 (hex) of that binary; the user data refuses any other bytes."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.release_sha256))
    error_message = "release_sha256: 64 lowercase hex digits."
  }
}

variable "architecture" {
  description = "arm64 (t4g, Graviton) or x86_64 (t3); must match the binary and instance_types."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture: arm64 or x86_64."
  }
}

variable "ami_id" {
  description = "AMI to boot (Amazon Linux 2023 or compatible: dnf, the AWS CLI v2, systemd). Empty: the latest Amazon Linux 2023 for the architecture, looked up at apply time, so a new AMI rolls the groups; pin it for reproducible applies."
  type        = string
  default     = ""
}

variable "instance_types" {
  description = "Instance type per service."
  type        = map(string)
  default     = { web = "t4g.small", ann = "t4g.medium", util = "t4g.small" }
}

variable "root_volume_gb" {
  description = "Root volume per service, GiB. ann keeps the running jobs' inputs and results in its state directory."
  type        = map(number)
  default     = { web = 10, ann = 30, util = 10 }
}

# --- Scaling ------------------------------------------------------------------

variable "web_min_size" {
  type    = number
  default = 1
}

variable "web_max_size" {
  type    = number
  default = 4
}

variable "web_requests_per_target" {
  description = "Target of web's scaling: load balancer requests per instance per minute."
  type        = number
  default     = 1000
}

variable "ann_min_size" {
  description = "Fewest annotator instances (0 lets an idle installation run none: a job then waits for one to boot)."
  type        = number
  default     = 1
  validation {
    condition     = var.ann_min_size >= 0
    error_message = "ann_min_size: at least 0."
  }
}

variable "ann_max_size" {
  type    = number
  default = 8
}

variable "ann_backlog_per_instance" {
  description = "Target of ann's scaling: visible job requests per in-service annotator instance."
  type        = number
  default     = 4
}

variable "util_min_size" {
  description = "Fewest util instances: at least two, so SNS always has a webhook to post to."
  type        = number
  default     = 2
  validation {
    condition     = var.util_min_size >= 2
    error_message = "util_min_size: at least 2, for availability."
  }
}

variable "util_max_size" {
  type    = number
  default = 4
}

variable "util_cpu_target" {
  description = "Target of util's scaling: average CPU utilisation, percent."
  type        = number
  default     = 60
}

# --- Service configuration (written to /etc/gas/gas.toml) ----------------------

variable "free_access_window" {
  description = "Seconds free users may download results (free_access_window)."
  type        = number
  default     = 300
}

variable "free_upload_limit" {
  description = "Largest upload of a free user, bytes (free_upload_limit)."
  type        = number
  default     = 153600
}

variable "max_upload" {
  description = "Largest upload of anyone, bytes (max_upload)."
  type        = number
  default     = 1073741824
}

variable "session_ttl" {
  description = "Seconds a web sign-in lasts (session_ttl); DynamoDB deletes expired sessions by their ttl attribute."
  type        = number
  default     = 1209600
}

variable "requeue_after" {
  description = "Seconds a job may stay PENDING before its owner's next look at it queues its request again (requeue_after); 0 turns it off."
  type        = number
  default     = 600
}

variable "ann_workers" {
  description = "Jobs one annotator instance runs at once (ann_workers)."
  type        = number
  default     = 2
}

variable "cold_storage" {
  description = "s3-class (default) or glacier-vault (only accounts that still have Glacier vaults: Glacier takes no new customers since 2025-12-15)."
  type        = string
  default     = "s3-class"
  validation {
    condition     = contains(["s3-class", "glacier-vault"], var.cold_storage)
    error_message = "cold_storage: s3-class or glacier-vault."
  }
}

variable "s3_archive_storage_class" {
  description = "Storage class of archives in the S3 cold store: DEEP_ARCHIVE (cheapest, restores in hours) or GLACIER."
  type        = string
  default     = "DEEP_ARCHIVE"
  validation {
    condition     = contains(["DEEP_ARCHIVE", "GLACIER"], var.s3_archive_storage_class)
    error_message = "s3_archive_storage_class: DEEP_ARCHIVE or GLACIER."
  }
}

variable "visibility_timeout" {
  description = "Seconds a received message stays invisible (the queues' and the services' visibility_timeout)."
  type        = number
  default     = 60
}

variable "max_receives" {
  description = "Receives after which a message moves to its dead-letter queue (the queues' maxReceiveCount and the services' max_receives)."
  type        = number
  default     = 5
}

variable "email_from" {
  description = "Sender of notifications, e.g. \"GAS <noreply@example.org>\"; its address must belong to ses_identity."
  type        = string
}

variable "ses_identity" {
  description = "The verified SES identity (a domain or an address) that email_from belongs to; util may send only as it."
  type        = string
}

# --- Data protection and operations ---------------------------------------------

variable "deletion_protection" {
  description = "Protect the tables and the load balancer from deletion (turn off only to tear a trial down)."
  type        = bool
  default     = true
}

variable "noncurrent_version_days" {
  description = "Days a deleted or overwritten object version is kept before S3 expires it."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the services' logs."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the email AWS sends)."
  type        = string
}

variable "requests_age_alarm_seconds" {
  description = "Alarm when the oldest job request has waited this long."
  type        = number
  default     = 900
}

variable "archive_age_alarm_seconds" {
  description = "Alarm when the oldest archive request has waited this long (util drains every 30 s)."
  type        = number
  default     = 900
}

variable "alb_5xx_alarm_count" {
  description = "Alarm when the load balancer or its targets answer more 5xx than this in 5 minutes."
  type        = number
  default     = 10
}

# --- Premium with Stripe, and an OpenID Connect sign-in -----------------------
# Empty means off. Secrets are not Terraform values: each names an SSM
# Parameter Store SecureString (e.g. "/gas/stripe/secret-key") that the web
# instances read at boot into /etc/gas/env, so no secret is in the state,
# the launch template or the user data.

variable "stripe_price_id" {
  description = "Stripe Price (or Plan) id of Premium; with the two Stripe parameters below, Stripe takes payments. Empty: upgrades are immediate and free."
  type        = string
  default     = ""
}

variable "stripe_publishable_key" {
  description = "Stripe publishable key (pk_...), which the subscribe page's Stripe.js starts with."
  type        = string
  default     = ""
}

variable "stripe_secret_key_parameter" {
  description = "Name of the SSM SecureString parameter holding the Stripe secret key (sk_...)."
  type        = string
  default     = ""
}

variable "stripe_webhook_secret_parameter" {
  description = "Name of the SSM SecureString parameter holding the signing secret (whsec_...) of the Stripe webhook endpoint <public URL>/stripe/webhook."
  type        = string
  default     = ""
}

variable "secret_key_parameter" {
  description = "Name of the SSM SecureString parameter holding the web app's signing key (any long random string), the same for every web instance; needed with an OpenID Connect provider."
  type        = string
  default     = ""
}

variable "oidc_issuer" {
  description = "OpenID Connect provider's issuer URL (e.g. https://auth.globus.org). Empty: password sign-in only."
  type        = string
  default     = ""
}

variable "oidc_client_id" {
  description = "The client id GAS is registered under at the OpenID Connect provider."
  type        = string
  default     = ""
}

variable "oidc_client_secret_parameter" {
  description = "Name of the SSM SecureString parameter holding the OpenID Connect client secret."
  type        = string
  default     = ""
}

variable "oidc_name" {
  description = "The sign-in button's label for the OpenID Connect provider (default: its host)."
  type        = string
  default     = ""
}

variable "secret_parameters_kms_key_arn" {
  description = "ARN of the customer managed KMS key the secret parameters above are encrypted with; empty for the AWS managed aws/ssm key (the default of SecureString parameters), which needs no grant."
  type        = string
  default     = ""
  validation {
    condition     = var.secret_parameters_kms_key_arn == "" || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/", var.secret_parameters_kms_key_arn))
    error_message = "secret_parameters_kms_key_arn: empty, or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}
