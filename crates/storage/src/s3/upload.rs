//! Streaming an object into S3: one PutObject for a body of at most one part,
//! a multipart upload (parts in parallel, bounded) for anything larger.
//!
//! Atomicity comes from S3 itself: an object appears only when PutObject or
//! CompleteMultipartUpload succeeds, so a body that fails midway leaves the
//! previous object (or none) in place. The multipart upload is then aborted
//! so that its parts are not kept (and billed).
//!
//! Checksums: PutObject carries the SDK's CRC32 of the body. A multipart
//! upload is made with CRC32 and `ChecksumType::FullObject`: each part
//! carries its CRC32 (S3 checks it on arrival), and the completion the CRC32
//! of the whole body, computed here from the bytes read (S3 combines the
//! parts' CRC32s and refuses the completion if they differ). The object then
//! has one checksum of its whole body, which the SDK checks on every read,
//! as for a single PutObject. Without `FullObject`, S3 would store a
//! COMPOSITE checksum (a CRC32 of the parts' CRC32s, `<base64>-<parts>`)
//! that the SDK cannot check and warns about on every read (see
//! `checksum.rs`). Turning the SDK's response validation down to
//! `WhenRequired` for such reads would quiet it too, but leave them
//! unchecked. (moto, the emulator of the tests, accepts FULL_OBJECT: it
//! computes the checksum itself and ignores the one sent.)

use std::io;

use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart, StorageClass,
};
use aws_sdk_s3::Client;
use base64::Engine as _;
use bytes::Bytes;
use tracing::{debug, warn};

use crate::parts::{upload_parts, PartReader, PartsError};
use crate::sdk::AwsError;
use crate::ByteStream;

/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The default part size.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// The default number of parts in flight.
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Debug)]
pub(crate) enum UploadError {
    Body(io::Error),
    Aws(AwsError),
}

/// Where and how to upload.
#[derive(Debug, Clone)]
pub(crate) struct ObjectUpload<'a> {
    pub(crate) client: &'a Client,
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) storage_class: Option<&'a StorageClass>,
    pub(crate) part_size: usize,
    pub(crate) concurrency: usize,
}

impl ObjectUpload<'_> {
    /// Streams `body` into the object; returns its size.
    pub(crate) async fn run(&self, body: ByteStream) -> Result<u64, UploadError> {
        let mut reader = PartReader::new(body, self.part_size.max(MIN_PART_SIZE));
        let first = reader.next_part().await.map_err(UploadError::Body)?;
        let first = match first {
            None => return self.put_single(Bytes::new()).await,
            Some(p) if p.len() < reader.part_size() => return self.put_single(p).await,
            Some(p) => p,
        };
        match reader.next_part().await.map_err(UploadError::Body)? {
            None => self.put_single(first).await,
            Some(second) => self.multipart(&mut reader, vec![first, second]).await,
        }
    }

    async fn put_single(&self, bytes: Bytes) -> Result<u64, UploadError> {
        let len = bytes.len() as u64;
        self.client
            .put_object()
            .bucket(self.bucket)
            .key(self.key)
            .set_storage_class(self.storage_class.cloned())
            .content_length(len as i64)
            .body(SdkBody::from(bytes))
            .send()
            .await
            .map_err(|e| UploadError::Aws(AwsError::new("s3:PutObject", e)))?;
        debug!(
            bucket = self.bucket,
            key = self.key,
            bytes = len,
            "object stored"
        );
        Ok(len)
    }

    async fn multipart(
        &self,
        reader: &mut PartReader,
        first: Vec<Bytes>,
    ) -> Result<u64, UploadError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .set_storage_class(self.storage_class.cloned())
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .checksum_type(ChecksumType::FullObject)
            .send()
            .await
            .map_err(|e| UploadError::Aws(AwsError::new("s3:CreateMultipartUpload", e)))?;
        let Some(upload_id) = created.upload_id().map(str::to_string) else {
            return Err(UploadError::Aws(AwsError::message(
                "s3:CreateMultipartUpload",
                "the response carries no UploadId",
            )));
        };
        let result = self.upload_and_complete(reader, first, &upload_id).await;
        if result.is_err() {
            self.abort(&upload_id).await;
        }
        result
    }

    async fn upload_and_complete(
        &self,
        reader: &mut PartReader,
        first: Vec<Bytes>,
        upload_id: &str,
    ) -> Result<u64, UploadError> {
        let uploaded = upload_parts(reader, first, self.concurrency, |part| {
            let bytes = part.bytes.clone();
            let request = self
                .client
                .upload_part()
                .bucket(self.bucket)
                .key(self.key)
                .upload_id(upload_id)
                .part_number(part.index as i32 + 1)
                .content_length(part.bytes.len() as i64)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(SdkBody::from(part.bytes));
            let part_number = part.index as i32 + 1;
            async move {
                // This part's share of the whole body's CRC32, in the part's
                // own task like the upload.
                let mut crc = crc32fast::Hasher::new();
                crc.update(&bytes);
                let out = request
                    .send()
                    .await
                    .map_err(|e| AwsError::new("s3:UploadPart", e))?;
                let completed = CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                    .build();
                Ok::<_, AwsError>((completed, crc))
            }
        })
        .await
        .map_err(|e| match e {
            PartsError::Body(e) => UploadError::Body(e),
            PartsError::Upload(e) => UploadError::Aws(e),
            PartsError::Task(e) => UploadError::Aws(AwsError::new("s3:UploadPart", e)),
        })?;
        let parts = uploaded.results.len();
        let mut whole = crc32fast::Hasher::new();
        let mut completed = Vec::with_capacity(parts);
        for (part, crc) in uploaded.results {
            whole.combine(&crc);
            completed.push(part);
        }
        let whole =
            base64::engine::general_purpose::STANDARD.encode(whole.finalize().to_be_bytes());
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(upload_id)
            .checksum_type(ChecksumType::FullObject)
            .checksum_crc32(whole)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| UploadError::Aws(AwsError::new("s3:CompleteMultipartUpload", e)))?;
        debug!(
            bucket = self.bucket,
            key = self.key,
            bytes = uploaded.size,
            parts,
            "multipart object stored"
        );
        Ok(uploaded.size)
    }

    /// Best effort: a leftover upload is not an object, only a cost; a
    /// bucket lifecycle rule (AbortIncompleteMultipartUpload) cleans up what
    /// this misses.
    async fn abort(&self, upload_id: &str) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(upload_id)
            .send()
            .await
        {
            let e = AwsError::new("s3:AbortMultipartUpload", e);
            warn!(bucket = self.bucket, key = self.key, error = %e, "aborting a multipart upload failed");
        }
    }
}
