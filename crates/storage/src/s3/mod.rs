//! [`S3BlobStore`]: the [`BlobStore`] port on an S3 bucket.
//!
//! How each point of the port's contract maps to S3:
//! - keys: checked with [`validate_key`] before any call, so S3 (which
//!   accepts `a//b` or `../x` as names) refuses what the directory adapter
//!   refuses;
//! - `put`: streamed; a body of at most one part is one PutObject, a larger
//!   one a multipart upload (CreateMultipartUpload → UploadPart, a bounded
//!   number in parallel → CompleteMultipartUpload). S3 makes an object
//!   visible only when PutObject or CompleteMultipartUpload succeeds, which
//!   gives the contract's atomicity and replacement; a body that fails
//!   aborts the multipart upload (AbortMultipartUpload), so nothing is left
//!   and the previous object stays;
//! - `get`: GetObject, its body streamed as it arrives and checked by the
//!   SDK against the object's CRC32 (a mismatch fails the stream; see
//!   `checksum.rs` for multipart objects); `NoSuchKey` (or a 404) is
//!   [`BlobError::NotFound`];
//! - `head`: HeadObject's Content-Length; a 404 is `None`;
//! - `stat`: HeadObject's Content-Length and ETag (S3 gives every object a
//!   new ETag when it is written with other bytes); `get_if_match`:
//!   GetObject with `If-Match: <etag>`, which S3 answers with 412
//!   PreconditionFailed ([`BlobError::Changed`]) when the object is another
//!   version, and otherwise serves that version whole;
//! - `delete`: DeleteObject, which S3 answers with success for a missing
//!   key too;
//! - `download_url`: a presigned GetObject URL (SigV4 query signature,
//!   valid for `ttl`, at most 7 days), with `response-content-disposition`
//!   so that the browser saves it as the file name; S3 refuses it once
//!   expired or altered.
//!
//! Beyond the port: [`S3BlobStore::presigned_post`] for browser uploads
//! straight into the bucket, and [`provision_bucket`].

mod checksum;
mod post;
mod upload;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::{ProvideCredentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
};
use aws_sdk_s3::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tracing::{debug, info};

pub(crate) use checksum::quiet_composite_checksums;
pub use post::PresignedPost;
pub(crate) use upload::{ObjectUpload, UploadError};
pub use upload::{DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, MIN_PART_SIZE};

use crate::sdk::{body_stream, http_status, AwsError};
use crate::{validate_key, BlobError, BlobStore, ByteStream, ObjectInfo};

/// An S3 bucket as a [`BlobStore`]. See the module documentation.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    part_size: usize,
    concurrency: usize,
    post_credentials: Option<(SharedCredentialsProvider, Region)>,
}

impl S3BlobStore {
    /// The store on `bucket`, with 8 MiB parts, 4 in flight. The store's
    /// client is `client` with an interceptor that keeps reads of objects
    /// with composite checksums quiet (see `checksum.rs`).
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client: quiet_composite_checksums(client),
            bucket: bucket.into(),
            part_size: DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            post_credentials: None,
        }
    }

    /// Sets the multipart part size (at least S3's 5 MiB minimum; smaller
    /// values are raised to it) and how many parts upload at once. A put
    /// holds about `part_size × (concurrency + 1)` bytes.
    pub fn with_multipart(mut self, part_size: usize, concurrency: usize) -> Self {
        self.part_size = part_size.max(MIN_PART_SIZE);
        self.concurrency = concurrency.max(1);
        self
    }

    /// The credentials and region that sign [`Self::presigned_post`] forms
    /// (usually the `SdkConfig`'s `credentials_provider()` and `region()`).
    /// Without them, `presigned_post` fails.
    pub fn with_presigned_post(
        mut self,
        credentials: SharedCredentialsProvider,
        region: Region,
    ) -> Self {
        self.post_credentials = Some((credentials, region));
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// HeadObject of `key`; `None` when there is no such object.
    async fn head_object(&self, key: &str) -> Result<Option<HeadObjectOutput>, BlobError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || http_status(&e) == Some(404) =>
            {
                Ok(None)
            }
            Err(e) => Err(BlobError::backend(AwsError::new("s3:HeadObject", e))),
        }
    }

    /// A form for a browser to upload one object directly into the bucket,
    /// under `key_prefix`, of at most `max_bytes`, within `ttl`. The policy
    /// carries the bucket, `starts-with $key <prefix>`,
    /// `content-length-range 0..max_bytes` and the SigV4 credential, date
    /// and algorithm; S3 checks every one of them.
    pub async fn presigned_post(
        &self,
        key_prefix: &str,
        max_bytes: u64,
        ttl: Duration,
        redirect: Option<&str>,
    ) -> Result<PresignedPost, BlobError> {
        const OP: &str = "s3:PresignedPost";
        if key_prefix.starts_with('/') || key_prefix.split('/').any(|s| s == "..") {
            return Err(BlobError::InvalidKey(key_prefix.to_string()));
        }
        // The S3 client's configuration does not expose its credentials
        // provider, so the constructor must be given one.
        let Some((provider, region)) = &self.post_credentials else {
            return Err(BlobError::backend(AwsError::message(
                OP,
                "no credentials to sign with: build the store with_presigned_post",
            )));
        };
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| BlobError::backend(AwsError::new(OP, e)))?;
        let url = self.bucket_url().await?;
        let signing = post::PostSigning {
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            region: region.as_ref(),
            now: time::OffsetDateTime::now_utc(),
        };
        Ok(post::presigned_post(
            url,
            &self.bucket,
            key_prefix,
            max_bytes,
            ttl,
            redirect,
            &signing,
        ))
    }

    /// The bucket's URL as the SDK resolves it (virtual-hosted on AWS,
    /// path-style on an emulator with `force_path_style`): a presigned URL of
    /// a probe key, without the key and query.
    async fn bucket_url(&self) -> Result<String, BlobError> {
        const PROBE: &str = "gas-probe";
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(PROBE)
            .presigned(presigning(Duration::from_secs(60))?)
            .await
            .map_err(|e| BlobError::backend(AwsError::new("s3:PresignedPost", e)))?;
        let mut url = url::Url::parse(presigned.uri()).map_err(BlobError::backend)?;
        url.set_query(None);
        let path = url.path().strip_suffix(PROBE).unwrap_or("/").to_string();
        url.set_path(&path);
        Ok(url.to_string())
    }
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(ttl)
        .map_err(|e| BlobError::backend(AwsError::new("s3:Presign", e)))
}

/// `attachment` with the name both as a plain quoted string (ASCII, quotes
/// and backslashes replaced) and RFC 5987-encoded for any other character.
fn content_disposition(file_name: &str) -> String {
    let plain: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, BlobError> {
        validate_key(key)?;
        ObjectUpload {
            client: &self.client,
            bucket: &self.bucket,
            key,
            storage_class: None,
            part_size: self.part_size,
            concurrency: self.concurrency,
        }
        .run(body)
        .await
        .map_err(|e| match e {
            UploadError::Body(e) => BlobError::Body(e),
            UploadError::Aws(e) => BlobError::backend(e),
        })
    }

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        validate_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(body_stream(out.body)),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                    || http_status(&e) == Some(404) =>
            {
                Err(BlobError::NotFound(key.to_string()))
            }
            Err(e) => Err(BlobError::backend(AwsError::new("s3:GetObject", e))),
        }
    }

    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        let Some(out) = self.head_object(key).await? else {
            return Ok(None);
        };
        let etag = out.e_tag().filter(|e| !e.is_empty()).ok_or_else(|| {
            BlobError::backend(AwsError::message(
                "s3:HeadObject",
                format!("no ETag for {key}"),
            ))
        })?;
        Ok(Some(ObjectInfo {
            size: out.content_length().unwrap_or(0).try_into().unwrap_or(0),
            etag: etag.to_string(),
        }))
    }

    async fn get_if_match(&self, key: &str, etag: &str) -> Result<ByteStream, BlobError> {
        validate_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .if_match(etag)
            .send()
            .await
        {
            Ok(out) => Ok(body_stream(out.body)),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                    || http_status(&e) == Some(404) =>
            {
                Err(BlobError::NotFound(key.to_string()))
            }
            Err(e) if http_status(&e) == Some(412) || e.code() == Some("PreconditionFailed") => {
                Err(BlobError::Changed(key.to_string()))
            }
            Err(e) => Err(BlobError::backend(AwsError::new("s3:GetObject", e))),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| BlobError::backend(AwsError::new("s3:DeleteObject", e)))?;
        debug!(bucket = %self.bucket, key, "object deleted");
        Ok(())
    }

    async fn download_url(
        &self,
        key: &str,
        ttl: Duration,
        file_name: &str,
    ) -> Result<String, BlobError> {
        validate_key(key)?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition(file_name))
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| BlobError::backend(AwsError::new("s3:PresignGetObject", e)))?;
        Ok(presigned.uri().to_string())
    }
}

/// Creates `bucket` if it does not exist yet (in the client's region), and
/// sets a lifecycle rule that aborts multipart uploads left incomplete for a
/// day. Idempotent: a bucket this account already owns is fine; one owned by
/// another account is an error.
pub async fn provision_bucket(client: &Client, bucket: &str) -> Result<(), AwsError> {
    create_bucket(client, bucket).await?;
    put_lifecycle(client, bucket, vec![abort_incomplete_uploads_rule()?]).await
}

/// Creates `bucket` in the client's region unless this account owns it.
pub(crate) async fn create_bucket(client: &Client, bucket: &str) -> Result<(), AwsError> {
    let region = client.config().region().map(|r| r.as_ref().to_string());
    let mut create = client.create_bucket().bucket(bucket);
    if let Some(region) = region.filter(|r| r != "us-east-1") {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => info!(bucket, "bucket created"),
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {
            debug!(bucket, "bucket exists")
        }
        Err(e) => return Err(AwsError::new("s3:CreateBucket", e)),
    }
    Ok(())
}

/// Aborts multipart uploads left incomplete for a day (a crashed upload
/// would otherwise be billed forever).
pub(crate) fn abort_incomplete_uploads_rule() -> Result<LifecycleRule, AwsError> {
    LifecycleRule::builder()
        .id("gas-abort-incomplete-multipart-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::new("s3:PutBucketLifecycleConfiguration", e))
}

pub(crate) async fn put_lifecycle(
    client: &Client,
    bucket: &str,
    rules: Vec<LifecycleRule>,
) -> Result<(), AwsError> {
    const OP: &str = "s3:PutBucketLifecycleConfiguration";
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(|e| AwsError::new(OP, e))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::new(OP, e))?;
    Ok(())
}

#[async_trait]
impl crate::BrowserUpload for S3BlobStore {
    async fn upload_form(
        &self,
        key_prefix: &str,
        max_bytes: u64,
        ttl: Duration,
        redirect: &str,
    ) -> Result<PresignedPost, BlobError> {
        self.presigned_post(key_prefix, max_bytes, ttl, Some(redirect))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn content_disposition_escapes_names() {
        assert_eq!(
            content_disposition("a.vcf"),
            "attachment; filename=\"a.vcf\"; filename*=UTF-8''a.vcf"
        );
        assert_eq!(
            content_disposition("ré \"x\".vcf"),
            "attachment; filename=\"r_ _x_.vcf\"; filename*=UTF-8''r%C3%A9%20%22x%22.vcf"
        );
    }
}
