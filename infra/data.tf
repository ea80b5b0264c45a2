# Where the records and the bytes live. Names, keys and lifecycle rules are
# the ones `gas provision` creates (crates/jobs/src/dynamo/provision.rs,
# crates/storage/src/s3/mod.rs, crates/storage/src/s3_class.rs); the tests in
# tests/infra compare them.

# --- Job records and users (DynamoDB) -------------------------------------------

resource "aws_dynamodb_table" "annotations" {
  name                        = "${var.prefix}-annotations"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "job_id"
  deletion_protection_enabled = var.deletion_protection

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
  # A user's jobs, newest first (the code's USER_ID_INDEX).
  global_secondary_index {
    name            = "user_id_index"
    hash_key        = "user_id"
    range_key       = "submit_time"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.gas.arn
  }
}

# Users, the guard items that keep emails and tokens unique, and browser
# sessions, which carry a `ttl` (epoch seconds) so DynamoDB deletes them once
# expired (the code also ignores expired ones, as deletion lags by hours).
resource "aws_dynamodb_table" "users" {
  name                        = "${var.prefix}-users"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "user_id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "user_id"
    type = "S"
  }
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.gas.arn
  }
}

# --- Inputs: what users upload --------------------------------------------------

resource "aws_s3_bucket" "inputs" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a bucket of their own; the web service logs every upload it accepts, and CloudTrail data events can be enabled account-wide if an audit trail is required.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage for uploads whose results are already kept; restore from a region outage is out of scope for this stack.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to object events here: the web service creates the job itself after checking the upload.
  bucket = "${var.prefix}-inputs"
}

resource "aws_s3_bucket_ownership_controls" "inputs" {
  bucket = aws_s3_bucket.inputs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "inputs" {
  bucket                  = aws_s3_bucket.inputs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "inputs" {
  bucket = aws_s3_bucket.inputs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "inputs" {
  bucket = aws_s3_bucket.inputs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "inputs" {
  bucket     = aws_s3_bucket.inputs.id
  depends_on = [aws_s3_bucket_versioning.inputs]
  # The rule `gas provision` sets: a crashed multipart upload is not billed forever.
  rule {
    id     = "gas-abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {
      prefix = ""
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }
}

# Browsers upload inputs straight to S3 with the presigned POST the web
# service renders.
resource "aws_s3_bucket_cors_configuration" "inputs" {
  bucket = aws_s3_bucket.inputs.id
  cors_rule {
    allowed_methods = ["POST"]
    allowed_origins = [local.public_url]
    allowed_headers = ["*"]
    max_age_seconds = 3000
  }
}

resource "aws_s3_bucket_policy" "inputs" {
  bucket     = aws_s3_bucket.inputs.id
  policy     = data.aws_iam_policy_document.tls_only["inputs"].json
  depends_on = [aws_s3_bucket_public_access_block.inputs]
}

# --- Results: annotated files and logs --------------------------------------------
# Versioned: the archive step deletes a results file once its archive is
# recorded, and a mistaken delete must not lose a user's results.

resource "aws_s3_bucket" "results" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a bucket of their own; downloads are presigned by the web service, which logs each one.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage; results can be recomputed from the inputs, and the archive keeps a cold copy.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to object events here: completion is announced on the results topic by the annotator.
  bucket = "${var.prefix}-results"
}

resource "aws_s3_bucket_ownership_controls" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "results" {
  bucket                  = aws_s3_bucket.results.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  bucket = aws_s3_bucket.results.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "results" {
  bucket = aws_s3_bucket.results.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket     = aws_s3_bucket.results.id
  depends_on = [aws_s3_bucket_versioning.results]
  rule {
    id     = "gas-abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {
      prefix = ""
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  # An archived results file must stop costing hot storage soon after the
  # archive step deletes it.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }
}

resource "aws_s3_bucket_policy" "results" {
  bucket     = aws_s3_bucket.results.id
  policy     = data.aws_iam_policy_document.tls_only["results"].json
  depends_on = [aws_s3_bucket_public_access_block.results]
}

# --- Archive: the S3 cold store (cold_storage = "s3-class") -----------------------
# Versioned: an archive is the only copy of a free user's results.

resource "aws_s3_bucket" "archive" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a bucket of their own; util logs every archive, restore and delete it makes.
  #checkov:skip=CKV_AWS_144:Cross-region replication of DEEP_ARCHIVE objects doubles the cold store's cost; out of scope for this stack.
  count  = local.s3_cold_storage ? 1 : 0
  bucket = "${var.prefix}-archive"
}

resource "aws_s3_bucket_ownership_controls" "archive" {
  count  = local.s3_cold_storage ? 1 : 0
  bucket = aws_s3_bucket.archive[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "archive" {
  count                   = local.s3_cold_storage ? 1 : 0
  bucket                  = aws_s3_bucket.archive[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "archive" {
  count  = local.s3_cold_storage ? 1 : 0
  bucket = aws_s3_bucket.archive[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "archive" {
  count  = local.s3_cold_storage ? 1 : 0
  bucket = aws_s3_bucket.archive[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

# The two rules S3ClassArchiveStore::provision sets, in one configuration (a
# second one would replace the first), plus the expiry of old versions.
resource "aws_s3_bucket_lifecycle_configuration" "archive" {
  count      = local.s3_cold_storage ? 1 : 0
  bucket     = aws_s3_bucket.archive[0].id
  depends_on = [aws_s3_bucket_versioning.archive]
  rule {
    id     = "gas-abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {
      prefix = ""
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  # Copies of finished retrievals kept past an archive's deletion expire
  # after the restore's days (1, as the code restores for). The bucket is
  # versioned, so expiring a copy only hides it behind a delete marker: its
  # bytes (STANDARD, the size of a results file) go the day after, not
  # noncurrent_version_days later.
  rule {
    id     = "gas-expire-retained-retrievals"
    status = "Enabled"
    filter {
      prefix = "${local.archive_key_prefix}.retrieved/"
    }
    expiration {
      days = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }
}

resource "aws_s3_bucket_policy" "archive" {
  count      = local.s3_cold_storage ? 1 : 0
  bucket     = aws_s3_bucket.archive[0].id
  policy     = data.aws_iam_policy_document.tls_only["archive"].json
  depends_on = [aws_s3_bucket_public_access_block.archive]
}

# Restore completions reach util's /thaw through the thaw topic (the S3
# storage class's counterpart of Glacier's job notification).
resource "aws_s3_bucket_notification" "archive_restored" {
  count  = local.s3_cold_storage ? 1 : 0
  bucket = aws_s3_bucket.archive[0].id
  topic {
    topic_arn     = aws_sns_topic.channel["thaw"].arn
    events        = ["s3:ObjectRestore:Completed"]
    filter_prefix = local.archive_key_prefix
  }
  depends_on = [aws_sns_topic_policy.thaw]
}

# Every bucket refuses requests that are not over TLS.
data "aws_iam_policy_document" "tls_only" {
  for_each = toset(concat(["inputs", "results"], local.s3_cold_storage ? ["archive"] : []))
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["arn:${local.partition}:s3:::${var.prefix}-${each.key}", "arn:${local.partition}:s3:::${var.prefix}-${each.key}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# --- Archive: a Glacier vault (cold_storage = "glacier-vault") ---------------------

# No vault notification configuration: the adapter names the thaw topic in
# each retrieval job it starts (GlacierSettings::sns_topic), and a vault-wide
# one would deliver every completion twice.
resource "aws_glacier_vault" "archive" {
  count = local.glacier_cold_storage ? 1 : 0
  name  = "${var.prefix}-archive"
}
