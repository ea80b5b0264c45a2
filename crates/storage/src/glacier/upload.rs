//! Streaming an archive into a Glacier vault: one UploadArchive up to the
//! threshold, a multipart upload above it.
//!
//! Multipart (InitiateMultipartUpload → UploadMultipartPart × n →
//! CompleteMultipartUpload): every part but the last is `part_size` bytes
//! (1 MiB × 2^n), sent with `Content-Range: bytes <first>-<last>/*` and its
//! own tree hash (`x-amz-sha256-tree-hash`); at most `concurrency` parts are
//! in flight, each hashed in a blocking task. The completion carries the
//! archive size and the whole archive's tree hash, combined from the parts'
//! (see [`crate::treehash::combine`]). Any failure aborts the upload
//! (AbortMultipartUpload), so no half archive stays.
//!
//! The SDK adds the linear SHA-256 (`x-amz-content-sha256`) of each request
//! body itself; the tree hash headers set here are kept as they are.

use aws_sdk_glacier::primitives::ByteStream as SdkBody;
use aws_sdk_glacier::Client;
use bytes::{Bytes, BytesMut};
use tracing::{debug, warn};

use crate::parts::{upload_parts, Part, PartReader, PartsError};
use crate::sdk::AwsError;
use crate::treehash::{self, Hash};
use crate::{ArchiveError, ByteStream};

/// Where and how to upload.
#[derive(Debug, Clone)]
pub(crate) struct ArchiveUpload<'a> {
    pub(crate) client: &'a Client,
    pub(crate) vault: &'a str,
    pub(crate) description: &'a str,
    pub(crate) threshold: usize,
    pub(crate) part_size: usize,
    pub(crate) concurrency: usize,
}

/// A stored archive.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) archive_id: String,
    pub(crate) size: u64,
}

impl ArchiveUpload<'_> {
    pub(crate) async fn run(&self, body: ByteStream) -> Result<Stored, ArchiveError> {
        let mut reader = PartReader::new(body, self.part_size);
        // Read parts until the body ends (a single upload) or passes the
        // threshold (multipart, starting with the parts read).
        let mut first = Vec::new();
        let mut read = 0usize;
        while read <= self.threshold {
            match reader.next_part().await.map_err(ArchiveError::Body)? {
                Some(part) => {
                    read += part.len();
                    first.push(part);
                }
                None => return self.single(first, read).await,
            }
        }
        self.multipart(&mut reader, first).await
    }

    async fn single(&self, parts: Vec<Bytes>, len: usize) -> Result<Stored, ArchiveError> {
        let body = match parts.len() {
            1 => parts.into_iter().next().unwrap_or_default(),
            _ => {
                let mut all = BytesMut::with_capacity(len);
                for p in &parts {
                    all.extend_from_slice(p);
                }
                all.freeze()
            }
        };
        let checksum = hex::encode(hash_blocking(body.clone()).await?);
        let out = self
            .client
            .upload_archive()
            .vault_name(self.vault)
            .archive_description(self.description)
            .checksum(&checksum)
            .body(SdkBody::from(body))
            .send()
            .await
            .map_err(|e| ArchiveError::backend(AwsError::new("glacier:UploadArchive", e)))?;
        let archive_id = out.archive_id().unwrap_or_default().to_string();
        if archive_id.is_empty() {
            return Err(ArchiveError::backend(AwsError::message(
                "glacier:UploadArchive",
                "the response carries no archive id",
            )));
        }
        debug!(
            vault = self.vault,
            bytes = len,
            "archive uploaded in one request"
        );
        Ok(Stored {
            archive_id,
            size: len as u64,
        })
    }

    async fn multipart(
        &self,
        reader: &mut PartReader,
        first: Vec<Bytes>,
    ) -> Result<Stored, ArchiveError> {
        let out = self
            .client
            .initiate_multipart_upload()
            .vault_name(self.vault)
            .archive_description(self.description)
            .part_size(self.part_size.to_string())
            .send()
            .await
            .map_err(|e| {
                ArchiveError::backend(AwsError::new("glacier:InitiateMultipartUpload", e))
            })?;
        let Some(upload_id) = out.upload_id().map(str::to_string) else {
            return Err(ArchiveError::backend(AwsError::message(
                "glacier:InitiateMultipartUpload",
                "the response carries no upload id",
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
    ) -> Result<Stored, ArchiveError> {
        let uploaded = upload_parts(reader, first, self.concurrency, |part: Part| {
            let client = self.client.clone();
            let vault = self.vault.to_string();
            let upload_id = upload_id.to_string();
            async move { upload_part(&client, &vault, &upload_id, part).await }
        })
        .await
        .map_err(|e| match e {
            PartsError::Body(e) => ArchiveError::Body(e),
            PartsError::Upload(e) => e,
            PartsError::Task(e) => {
                ArchiveError::backend(AwsError::new("glacier:UploadMultipartPart", e))
            }
        })?;
        let parts = uploaded.results.len();
        let checksum = hex::encode(treehash::combine(&uploaded.results));
        let out = self
            .client
            .complete_multipart_upload()
            .vault_name(self.vault)
            .upload_id(upload_id)
            .archive_size(uploaded.size.to_string())
            .checksum(&checksum)
            .send()
            .await
            .map_err(|e| {
                ArchiveError::backend(AwsError::new("glacier:CompleteMultipartUpload", e))
            })?;
        let archive_id = out.archive_id().unwrap_or_default().to_string();
        if archive_id.is_empty() {
            return Err(ArchiveError::backend(AwsError::message(
                "glacier:CompleteMultipartUpload",
                "the response carries no archive id",
            )));
        }
        debug!(
            vault = self.vault,
            bytes = uploaded.size,
            parts,
            "archive uploaded in parts"
        );
        Ok(Stored {
            archive_id,
            size: uploaded.size,
        })
    }

    /// Best effort: Glacier drops an incomplete upload after 24 hours anyway.
    async fn abort(&self, upload_id: &str) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .vault_name(self.vault)
            .upload_id(upload_id)
            .send()
            .await
        {
            let e = AwsError::new("glacier:AbortMultipartUpload", e);
            warn!(vault = self.vault, error = %e, "aborting a multipart upload failed");
        }
    }
}

/// Uploads one part with its range and tree hash; returns the tree hash.
async fn upload_part(
    client: &Client,
    vault: &str,
    upload_id: &str,
    part: Part,
) -> Result<Hash, ArchiveError> {
    let len = part.bytes.len() as u64;
    let hash = hash_blocking(part.bytes.clone()).await?;
    let last = part.offset + len.saturating_sub(1);
    client
        .upload_multipart_part()
        .vault_name(vault)
        .upload_id(upload_id)
        .range(format!("bytes {}-{last}/*", part.offset))
        .checksum(hex::encode(hash))
        .body(SdkBody::from(part.bytes))
        .send()
        .await
        .map_err(|e| ArchiveError::backend(AwsError::new("glacier:UploadMultipartPart", e)))?;
    Ok(hash)
}

/// The tree hash of `bytes`, off the async threads.
async fn hash_blocking(bytes: Bytes) -> Result<Hash, ArchiveError> {
    tokio::task::spawn_blocking(move || treehash::tree_hash(&bytes))
        .await
        .map_err(|e| ArchiveError::backend(AwsError::new("treehash", e)))
}
