//! [`S3ClassArchiveStore`]: the [`ArchiveStore`] port on S3 objects in a
//! cold storage class (DEEP_ARCHIVE by default, or GLACIER).
//!
//! How each point of the port's contract maps to S3:
//! - `archive(name, body)`: streamed into `<prefix><name>` with the storage
//!   class, like [`crate::s3::S3BlobStore::put`] (PutObject, or a multipart
//!   upload aborted on failure). The id is that key: derived from the name,
//!   so archiving the same name again replaces the object instead of
//!   duplicating it ("same name, same id").
//! - `start_retrieval`: RestoreObject with the tier (Expedited, Standard,
//!   Bulk) and a number of days the restored copy stays. S3 keeps one
//!   restore per object, so the retrieval id is the tier and the archive key
//!   (`<tier>:<key>`). A restore already running (`RestoreAlreadyInProgress`,
//!   409) is that same retrieval; `GlacierExpeditedRetrievalNotAvailable`
//!   (503) is [`ArchiveError::InsufficientCapacity`]; a missing object is
//!   [`ArchiveError::NotFound`]. (DEEP_ARCHIVE has no Expedited tier: S3
//!   refuses it, and callers fall back to Standard as for lack of capacity.)
//! - `retrieval_status`: HeadObject's `x-amz-restore`:
//!   `ongoing-request="true"` is in progress, `ongoing-request="false"` done.
//!   Completion can also arrive as S3's `s3:ObjectRestore:Completed` event
//!   where the bucket's notifications are configured; polling is the safety
//!   net.
//! - `retrieval_output`: GetObject, streamed; `InvalidObjectState` (not
//!   restored yet) is [`ArchiveError::NotReady`].
//! - `delete`: DeleteObject (S3 answers success for a missing key). A
//!   finished restore lives on the object itself, so deleting it would take
//!   the retrieval's output along, against the contract ("retrievals already
//!   finished stay readable until they expire"): when the object has a
//!   finished restore, `delete` first copies it (server side, no bytes
//!   through this process) to `<prefix>.retrieved/<name>` in STANDARD, where
//!   the retrieval reads it from. [`S3ClassArchiveStore::provision`] sets the
//!   lifecycle rule that expires those copies after the restore's days.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ExpirationStatus, GlacierJobParameters,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, RestoreRequest, StorageClass,
};
use aws_sdk_s3::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tracing::{debug, info};

use crate::s3::{ObjectUpload, UploadError, DEFAULT_PART_SIZE};
use crate::sdk::{body_stream, http_status, AwsError};
use crate::{validate_key, ArchiveError, ArchiveStore, ByteStream, RetrievalStatus, Tier};

/// Where finished retrievals of deleted archives are kept, under the prefix.
const RETAINED: &str = ".retrieved/";
/// CopyObject's limit; larger objects are copied part by part.
const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;
/// Part size of a multipart copy.
const COPY_PART: u64 = 512 * 1024 * 1024;
/// Parts in flight when archiving: one fewer than for hot results, as the
/// vault store uses. Archiving is not waited on by anyone, and `gas util`'s
/// whole process stays under 64 MiB with 4 parts of 8 MiB held at once.
const ARCHIVE_CONCURRENCY: usize = 3;

/// Cold storage as S3 objects in an archive storage class. See the module
/// documentation.
#[derive(Debug, Clone)]
pub struct S3ClassArchiveStore {
    client: Client,
    bucket: String,
    prefix: String,
    storage_class: StorageClass,
    restore_days: i32,
    part_size: usize,
    concurrency: usize,
}

/// Where a retrieval's bytes are.
enum Located {
    /// Restore still running.
    InProgress,
    /// Readable at this key.
    At(String),
    /// No such retrieval (never started, expired, or its archive is gone).
    Nowhere,
}

impl S3ClassArchiveStore {
    /// Archives under `<prefix><name>` in `bucket`, in `storage_class`
    /// (`StorageClass::DeepArchive` is the usual choice, `Glacier` the faster
    /// and dearer one). Restored copies stay 1 day; uploads use 8 MiB parts,
    /// 3 in flight. The store's client is `client` with the interceptor that
    /// keeps reads of composite checksums quiet, as for
    /// [`crate::s3::S3BlobStore::new`].
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        storage_class: StorageClass,
    ) -> Self {
        Self {
            client: crate::s3::quiet_composite_checksums(client),
            bucket: bucket.into(),
            prefix: prefix.into(),
            storage_class,
            restore_days: 1,
            part_size: DEFAULT_PART_SIZE,
            concurrency: ARCHIVE_CONCURRENCY,
        }
    }

    /// How many days a restored copy (and a retained one) stays readable.
    pub fn with_restore_days(mut self, days: u16) -> Self {
        self.restore_days = i32::from(days.max(1));
        self
    }

    /// Multipart part size (at least 5 MiB) and parts in flight.
    pub fn with_multipart(mut self, part_size: usize, concurrency: usize) -> Self {
        self.part_size = part_size.max(crate::s3::MIN_PART_SIZE);
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if needed and sets its lifecycle rules: abort
    /// multipart uploads left incomplete for a day, and expire the copies
    /// kept for finished retrievals of deleted archives after the restore
    /// days. Idempotent.
    pub async fn provision(&self) -> Result<(), AwsError> {
        const OP: &str = "s3:PutBucketLifecycleConfiguration";
        // One lifecycle configuration with both rules: a second put would
        // replace the first.
        crate::s3::create_bucket(&self.client, &self.bucket).await?;
        let abort = crate::s3::abort_incomplete_uploads_rule()?;
        let expire = LifecycleRule::builder()
            .id("gas-expire-retained-retrievals")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(format!("{}{RETAINED}", self.prefix))
                    .build(),
            )
            .expiration(
                LifecycleExpiration::builder()
                    .days(self.restore_days)
                    .build(),
            )
            .build()
            .map_err(|e| AwsError::new(OP, e))?;
        crate::s3::put_lifecycle(&self.client, &self.bucket, vec![abort, expire]).await
    }

    /// The key of archive `name`; names are plain (no `/`, `\`, NUL, `..`).
    fn key_for(&self, name: &str) -> Result<String, ArchiveError> {
        let key = format!("{}{name}", self.prefix);
        let plain = !name.is_empty()
            && !name.contains(['/', '\\', '\0'])
            && !name.contains("..")
            && validate_key(&key).is_ok();
        if plain {
            Ok(key)
        } else {
            Err(ArchiveError::backend(AwsError::message(
                "s3:PutObject",
                format!("invalid archive name {name:?}"),
            )))
        }
    }

    /// The name of an archive id of ours, or `None` for any other string.
    fn name_of<'a>(&self, archive_id: &'a str) -> Option<&'a str> {
        let name = archive_id.strip_prefix(self.prefix.as_str())?;
        self.key_for(name).ok().map(|_| name)
    }

    fn retained_key(&self, name: &str) -> String {
        format!("{}{RETAINED}{name}", self.prefix)
    }

    fn parse_retrieval<'a>(&self, retrieval_id: &'a str) -> Option<(Tier, &'a str)> {
        let (tier, key) = retrieval_id.split_once(':')?;
        let tier = match tier {
            "Expedited" => Tier::Expedited,
            "Standard" => Tier::Standard,
            "Bulk" => Tier::Bulk,
            _ => return None,
        };
        self.name_of(key).map(|_| (tier, key))
    }

    async fn head(&self, key: &str) -> Result<Option<HeadObjectOutput>, ArchiveError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) if head_missing(&e) => Ok(None),
            Err(e) => Err(ArchiveError::backend(AwsError::new("s3:HeadObject", e))),
        }
    }

    /// Finds a retrieval's bytes: the archive object while its restore runs
    /// or once it finished; else the copy kept when it was deleted.
    async fn locate(&self, key: &str) -> Result<Located, ArchiveError> {
        if let Some(head) = self.head(key).await? {
            match restore_state(&head) {
                Restore::Ongoing => return Ok(Located::InProgress),
                Restore::Done | Restore::NotNeeded => return Ok(Located::At(key.to_string())),
                Restore::None => {}
            }
        }
        let name = self.name_of(key).unwrap_or_default();
        let retained = self.retained_key(name);
        Ok(match self.head(&retained).await? {
            Some(_) => Located::At(retained),
            None => Located::Nowhere,
        })
    }

    /// Copies a restored object to `to` in STANDARD, server side. The copy's
    /// checksum: CopyObject keeps the source's algorithm and gives the copy
    /// a checksum of its whole body (our archives' FULL_OBJECT CRC32); the
    /// multipart copy names no algorithm, and S3 gives such uploads a
    /// FULL_OBJECT CRC64NVME. Either way the SDK validates reads of the copy
    /// and has no part-level checksum to warn about.
    async fn copy_restored(&self, from: &str, to: &str, size: u64) -> Result<(), ArchiveError> {
        let source = format!("{}/{}", self.bucket, url_path_encode(from));
        if size <= MAX_SINGLE_COPY {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(to)
                .copy_source(&source)
                .storage_class(StorageClass::Standard)
                .send()
                .await
                .map_err(|e| ArchiveError::backend(AwsError::new("s3:CopyObject", e)))?;
            return Ok(());
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(to)
            .storage_class(StorageClass::Standard)
            .send()
            .await
            .map_err(|e| ArchiveError::backend(AwsError::new("s3:CreateMultipartUpload", e)))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let result = self.copy_parts(&source, to, &upload_id, size).await;
        if result.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(to)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn copy_parts(
        &self,
        source: &str,
        to: &str,
        upload_id: &str,
        size: u64,
    ) -> Result<(), ArchiveError> {
        let mut parts = Vec::new();
        let mut start = 0u64;
        while start < size {
            let end = (start + COPY_PART).min(size) - 1;
            let number = parts.len() as i32 + 1;
            let out = self
                .client
                .upload_part_copy()
                .bucket(&self.bucket)
                .key(to)
                .upload_id(upload_id)
                .part_number(number)
                .copy_source(source)
                .copy_source_range(format!("bytes={start}-{end}"))
                .send()
                .await
                .map_err(|e| ArchiveError::backend(AwsError::new("s3:UploadPartCopy", e)))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(
                        out.copy_part_result()
                            .and_then(|r| r.e_tag())
                            .map(str::to_string),
                    )
                    .build(),
            );
            start = end + 1;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(to)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ArchiveError::backend(AwsError::new("s3:CompleteMultipartUpload", e)))?;
        Ok(())
    }
}

fn head_missing(e: &SdkError<HeadObjectError, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    e.as_service_error().is_some_and(|s| s.is_not_found()) || http_status(e) == Some(404)
}

/// An object's restore, from HeadObject.
#[derive(Debug, PartialEq, Eq)]
enum Restore {
    /// `x-amz-restore: ongoing-request="true"`.
    Ongoing,
    /// `x-amz-restore: ongoing-request="false", expiry-date=...`.
    Done,
    /// No restore (never requested, or expired).
    None,
    /// The object is not in a class that needs one: readable as it is.
    NotNeeded,
}

fn restore_state(head: &HeadObjectOutput) -> Restore {
    let archived = matches!(
        head.storage_class(),
        Some(StorageClass::Glacier | StorageClass::DeepArchive)
    );
    match head.restore() {
        Some(h) if h.contains("ongoing-request=\"true\"") => Restore::Ongoing,
        Some(h) if h.contains("ongoing-request=\"false\"") => Restore::Done,
        _ if !archived => Restore::NotNeeded,
        _ => Restore::None,
    }
}

/// Percent-encodes a key for `x-amz-copy-source` (keeping `/`).
fn url_path_encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl ArchiveStore for S3ClassArchiveStore {
    async fn archive(&self, name: &str, body: ByteStream) -> Result<String, ArchiveError> {
        let key = self.key_for(name)?;
        let size = ObjectUpload {
            client: &self.client,
            bucket: &self.bucket,
            key: &key,
            storage_class: Some(&self.storage_class),
            part_size: self.part_size,
            concurrency: self.concurrency,
        }
        .run(body)
        .await
        .map_err(|e| match e {
            UploadError::Body(e) => ArchiveError::Body(e),
            UploadError::Aws(e) => ArchiveError::backend(e),
        })?;
        info!(bucket = %self.bucket, key, bytes = size, class = %self.storage_class, "archived");
        Ok(key)
    }

    async fn start_retrieval(
        &self,
        archive_id: &str,
        tier: Tier,
        description: &str,
    ) -> Result<String, ArchiveError> {
        if self.name_of(archive_id).is_none() {
            return Err(ArchiveError::NotFound(archive_id.to_string()));
        }
        let request = RestoreRequest::builder()
            .days(self.restore_days)
            .glacier_job_parameters(
                GlacierJobParameters::builder()
                    .tier(aws_sdk_s3::types::Tier::from(tier.as_str()))
                    .build()
                    .map_err(|e| ArchiveError::backend(AwsError::new("s3:RestoreObject", e)))?,
            )
            .build();
        let sent = self
            .client
            .restore_object()
            .bucket(&self.bucket)
            .key(archive_id)
            .restore_request(request)
            .send()
            .await;
        match sent {
            Ok(_) => {}
            Err(e) if e.code() == Some("RestoreAlreadyInProgress") => {
                debug!(key = archive_id, "restore already in progress")
            }
            Err(e)
                if e.code() == Some("GlacierExpeditedRetrievalNotAvailable")
                    || (tier == Tier::Expedited && http_status(&e) == Some(503)) =>
            {
                return Err(ArchiveError::InsufficientCapacity(tier));
            }
            Err(e) if e.code() == Some("NoSuchKey") || http_status(&e) == Some(404) => {
                return Err(ArchiveError::NotFound(archive_id.to_string()));
            }
            // Not in an archive class (e.g. configured STANDARD): it is
            // readable as it is, so the retrieval is done at once.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_object_already_in_active_tier_error()) => {}
            Err(e) => return Err(ArchiveError::backend(AwsError::new("s3:RestoreObject", e))),
        }
        info!(
            key = archive_id,
            tier = tier.as_str(),
            description,
            "restore started"
        );
        Ok(format!("{}:{archive_id}", tier.as_str()))
    }

    async fn retrieval_status(&self, retrieval_id: &str) -> Result<RetrievalStatus, ArchiveError> {
        let Some((_, key)) = self.parse_retrieval(retrieval_id) else {
            return Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string()));
        };
        match self.locate(key).await? {
            Located::InProgress => Ok(RetrievalStatus::InProgress),
            Located::At(_) => Ok(RetrievalStatus::Succeeded),
            Located::Nowhere => Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string())),
        }
    }

    async fn retrieval_output(&self, retrieval_id: &str) -> Result<ByteStream, ArchiveError> {
        let Some((_, key)) = self.parse_retrieval(retrieval_id) else {
            return Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string()));
        };
        let at = match self.locate(key).await? {
            Located::InProgress => return Err(ArchiveError::NotReady(retrieval_id.to_string())),
            Located::Nowhere => {
                return Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string()))
            }
            Located::At(at) => at,
        };
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&at)
            .send()
            .await
        {
            Ok(out) => Ok(body_stream(out.body)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_invalid_object_state()) =>
            {
                Err(ArchiveError::NotReady(retrieval_id.to_string()))
            }
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                    || http_status(&e) == Some(404) =>
            {
                Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string()))
            }
            Err(e) => Err(ArchiveError::backend(AwsError::new("s3:GetObject", e))),
        }
    }

    async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        let Some(name) = self.name_of(archive_id) else {
            return Ok(());
        };
        let Some(head) = self.head(archive_id).await? else {
            return Ok(());
        };
        if restore_state(&head) == Restore::Done {
            let size = head.content_length().unwrap_or(0).try_into().unwrap_or(0);
            let retained = self.retained_key(name);
            self.copy_restored(archive_id, &retained, size).await?;
            debug!(key = archive_id, retained, "kept a finished retrieval");
        }
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(archive_id)
            .send()
            .await
            .map_err(|e| ArchiveError::backend(AwsError::new("s3:DeleteObject", e)))?;
        info!(bucket = %self.bucket, key = archive_id, "archive deleted");
        Ok(())
    }
}

/// Time a restore of `tier` takes on S3, per the documentation (upper
/// bounds; for the caller's polling interval).
pub fn typical_restore_time(storage_class: &StorageClass, tier: Tier) -> Duration {
    let hours = |h: u64| Duration::from_secs(h * 3600);
    match (storage_class, tier) {
        (StorageClass::DeepArchive, Tier::Bulk) => hours(48),
        (StorageClass::DeepArchive, _) => hours(12),
        (_, Tier::Expedited) => Duration::from_secs(5 * 60),
        (_, Tier::Standard) => hours(5),
        (_, Tier::Bulk) => hours(12),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> S3ClassArchiveStore {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build();
        S3ClassArchiveStore::new(
            Client::from_conf(conf),
            "b",
            "archive/",
            StorageClass::DeepArchive,
        )
    }

    #[test]
    fn ids_derive_from_names() {
        let s = store();
        assert_eq!(s.key_for("job-1").unwrap(), "archive/job-1");
        for bad in ["", "a/b", "..", "a..b", "x\\y", "n\0"] {
            assert!(s.key_for(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(s.name_of("archive/job-1"), Some("job-1"));
        assert_eq!(s.name_of("other/job-1"), None);
        assert_eq!(s.name_of("archive/.retrieved/job-1"), None);
        assert_eq!(
            s.parse_retrieval("Expedited:archive/job-1"),
            Some((Tier::Expedited, "archive/job-1"))
        );
        assert_eq!(s.parse_retrieval("Fast:archive/job-1"), None);
        assert_eq!(s.parse_retrieval("retrieval-123"), None);
    }

    #[test]
    fn restore_header() {
        let head = |class: Option<StorageClass>, restore: Option<&str>| {
            HeadObjectOutput::builder()
                .set_storage_class(class)
                .set_restore(restore.map(str::to_string))
                .build()
        };
        let deep = || Some(StorageClass::DeepArchive);
        assert_eq!(
            restore_state(&head(deep(), Some("ongoing-request=\"true\""))),
            Restore::Ongoing
        );
        assert_eq!(
            restore_state(&head(
                deep(),
                Some("ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"")
            )),
            Restore::Done
        );
        assert_eq!(restore_state(&head(deep(), None)), Restore::None);
        assert_eq!(restore_state(&head(None, None)), Restore::NotNeeded);
    }

    #[test]
    fn copy_source_is_encoded() {
        assert_eq!(url_path_encode("archive/a b+é"), "archive/a%20b%2B%C3%A9");
    }
}
