//! [`GlacierVaultStore`]: the [`ArchiveStore`] port on an Amazon Glacier
//! vault (for accounts that have one: the vault service takes no new
//! customers since 2025-12-15; [`crate::s3_class`] is the default).
//!
//! How each point of the port's contract maps to Glacier:
//! - `archive(name, body)`: streamed; a body up to
//!   [`GlacierSettings::multipart_threshold`] is one UploadArchive with its
//!   tree hash, a larger one a multipart upload with per-part tree hashes,
//!   parts in parallel (see `upload`). The archive description is the name
//!   (printable ASCII; other bytes `%XX`-escaped). Glacier chooses archive
//!   ids itself, so **the "same name, same id" promise does not hold here**:
//!   archiving a name twice makes two archives, and callers delete the
//!   duplicate (DESIGN, invariant 1).
//! - `start_retrieval`: InitiateJob of type `archive-retrieval` with the
//!   tier, `Description` = the description given, and the SNS topic of the
//!   settings (Glacier publishes its job-completion JSON there). The
//!   retrieval id is the job id. `InsufficientCapacityException` is
//!   [`ArchiveError::InsufficientCapacity`]; `ResourceNotFoundException`
//!   (no such archive) is [`ArchiveError::NotFound`].
//! - `retrieval_status`: DescribeJob: `Completed` with `StatusCode`
//!   Succeeded/Failed, else in progress; an unknown job is
//!   [`ArchiveError::RetrievalNotFound`].
//! - `retrieval_output`: DescribeJob (not completed: [`ArchiveError::NotReady`]),
//!   then GetJobOutput, streamed, and checked against the tree hash Glacier
//!   sends with it: a mismatch fails the stream's last read. Glacier keeps a
//!   job's output for 24 hours, also after the archive is deleted.
//! - `delete`: DeleteArchive; `ResourceNotFoundException` is success.

mod upload;

use async_trait::async_trait;
use aws_sdk_glacier::types::JobParameters;
use aws_sdk_glacier::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::StreamExt;
use tracing::{debug, info, warn};

use crate::sdk::{body_stream, http_status, AwsError};
use crate::treehash::{self, TreeHasher};
use crate::{ArchiveError, ArchiveStore, ByteStream, RetrievalStatus, Tier};

const MIB: usize = 1024 * 1024;

/// How the vault adapter uploads and announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlacierSettings {
    /// Bodies up to this size go in one UploadArchive (held in memory);
    /// larger ones in parts. Default 8 MiB.
    pub multipart_threshold: usize,
    /// Part size of multipart uploads: 1 MiB × 2^n, at most 4 GiB.
    /// Default 8 MiB.
    pub part_size: usize,
    /// Parts in flight at once (at least 1). Default 3. An upload holds
    /// about `part_size × (concurrency + 1)` bytes.
    pub concurrency: usize,
    /// The SNS topic ARN Glacier notifies when a retrieval job completes.
    pub sns_topic: Option<String>,
}

impl Default for GlacierSettings {
    fn default() -> Self {
        Self {
            multipart_threshold: 8 * MIB,
            part_size: 8 * MIB,
            concurrency: 3,
            sns_topic: None,
        }
    }
}

/// Settings Glacier would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("part size {0} is not 1 MiB × 2^n (at most 4 GiB)")]
    PartSize(usize),
    #[error("concurrency must be at least 1")]
    Concurrency,
}

impl GlacierSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !treehash::valid_part_size(self.part_size) {
            return Err(SettingsError::PartSize(self.part_size));
        }
        if self.concurrency == 0 {
            return Err(SettingsError::Concurrency);
        }
        Ok(())
    }

    /// The nearest settings Glacier accepts: the part size rounded down to
    /// 1 MiB × 2^n within 1 MiB..4 GiB, concurrency at least 1.
    fn normalized(mut self) -> Self {
        let clamped = self.part_size.clamp(MIB, 4096 * MIB);
        // Largest power of two not above `clamped`.
        self.part_size = 1usize << (usize::BITS - 1 - clamped.leading_zeros());
        self.concurrency = self.concurrency.max(1);
        self
    }
}

/// A Glacier vault as an [`ArchiveStore`]. See the module documentation.
#[derive(Debug, Clone)]
pub struct GlacierVaultStore {
    client: Client,
    vault: String,
    settings: GlacierSettings,
}

impl GlacierVaultStore {
    /// The store on `vault`. Settings Glacier would refuse are corrected
    /// (see [`GlacierSettings`]) with a warning; [`Self::try_new`] refuses
    /// them instead.
    pub fn new(client: Client, vault: impl Into<String>, settings: GlacierSettings) -> Self {
        if let Err(e) = settings.validate() {
            warn!(error = %e, "glacier settings corrected");
        }
        Self {
            client,
            vault: vault.into(),
            settings: settings.normalized(),
        }
    }

    pub fn try_new(
        client: Client,
        vault: impl Into<String>,
        settings: GlacierSettings,
    ) -> Result<Self, SettingsError> {
        settings.validate()?;
        Ok(Self::new(client, vault, settings))
    }

    pub fn settings(&self) -> &GlacierSettings {
        &self.settings
    }

    pub fn vault(&self) -> &str {
        &self.vault
    }

    async fn describe(&self, job_id: &str) -> Result<JobState, ArchiveError> {
        let job = match self
            .client
            .describe_job()
            .vault_name(&self.vault)
            .job_id(job_id)
            .send()
            .await
        {
            Ok(job) => job,
            Err(e)
                if not_found(&e)
                    || e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(ArchiveError::RetrievalNotFound(job_id.to_string()))
            }
            Err(e) => {
                return Err(ArchiveError::backend(AwsError::new(
                    "glacier:DescribeJob",
                    e,
                )))
            }
        };
        use aws_sdk_glacier::types::StatusCode;
        Ok(match (job.completed(), job.status_code()) {
            (true, Some(StatusCode::Succeeded)) => JobState::Succeeded,
            (true, Some(StatusCode::Failed)) => JobState::Failed(
                job.status_message()
                    .unwrap_or("the retrieval job failed")
                    .to_string(),
            ),
            _ => JobState::InProgress,
        })
    }
}

enum JobState {
    InProgress,
    Succeeded,
    Failed(String),
}

fn not_found<E: ProvideErrorMetadata>(
    e: &aws_sdk_glacier::error::SdkError<E, aws_sdk_glacier::config::http::HttpResponse>,
) -> bool {
    e.code() == Some("ResourceNotFoundException") || http_status(e) == Some(404)
}

/// Glacier descriptions are printable ASCII of at most 1024 characters:
/// other bytes (and `%`) become `%XX`.
fn description(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    let mut cut = out.len().min(1024);
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}

/// Passes `body` through, checking at its end that its tree hash is
/// `expected` (hex).
fn verified(body: ByteStream, expected: String) -> ByteStream {
    struct State {
        body: ByteStream,
        hasher: Option<TreeHasher>,
        expected: String,
    }
    let state = State {
        body,
        hasher: Some(TreeHasher::new()),
        expected,
    };
    Box::pin(futures::stream::unfold(state, |mut s| async move {
        let hasher = s.hasher.as_mut()?;
        match s.body.next().await {
            Some(Ok(chunk)) => {
                hasher.update(&chunk);
                Some((Ok(chunk), s))
            }
            Some(Err(e)) => {
                s.hasher = None;
                Some((Err(e), s))
            }
            None => {
                let got = hex::encode(s.hasher.take()?.finish());
                if got.eq_ignore_ascii_case(&s.expected) {
                    None
                } else {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "retrieval output tree hash {got} differs from Glacier's {}",
                            s.expected
                        ),
                    );
                    Some((Err(e), s))
                }
            }
        }
    }))
}

#[async_trait]
impl ArchiveStore for GlacierVaultStore {
    async fn archive(&self, name: &str, body: ByteStream) -> Result<String, ArchiveError> {
        let description = description(name);
        let stored = upload::ArchiveUpload {
            client: &self.client,
            vault: &self.vault,
            description: &description,
            threshold: self.settings.multipart_threshold,
            part_size: self.settings.part_size,
            concurrency: self.settings.concurrency,
        }
        .run(body)
        .await?;
        info!(vault = %self.vault, name, bytes = stored.size, "archived");
        Ok(stored.archive_id)
    }

    async fn start_retrieval(
        &self,
        archive_id: &str,
        tier: Tier,
        description: &str,
    ) -> Result<String, ArchiveError> {
        let params = JobParameters::builder()
            .r#type("archive-retrieval")
            .archive_id(archive_id)
            .tier(tier.as_str())
            .description(self::description(description))
            .set_sns_topic(self.settings.sns_topic.clone())
            .build();
        let out = match self
            .client
            .initiate_job()
            .vault_name(&self.vault)
            .job_parameters(params)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.code() == Some("InsufficientCapacityException")
                    || e.as_service_error()
                        .is_some_and(|s| s.is_insufficient_capacity_exception()) =>
            {
                return Err(ArchiveError::InsufficientCapacity(tier))
            }
            Err(e)
                if not_found(&e)
                    || e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(ArchiveError::NotFound(archive_id.to_string()))
            }
            Err(e) => {
                return Err(ArchiveError::backend(AwsError::new(
                    "glacier:InitiateJob",
                    e,
                )))
            }
        };
        let job_id = out.job_id().unwrap_or_default().to_string();
        if job_id.is_empty() {
            return Err(ArchiveError::backend(AwsError::message(
                "glacier:InitiateJob",
                "the response carries no job id",
            )));
        }
        info!(vault = %self.vault, job_id, tier = tier.as_str(), description, "retrieval started");
        Ok(job_id)
    }

    async fn retrieval_status(&self, retrieval_id: &str) -> Result<RetrievalStatus, ArchiveError> {
        Ok(match self.describe(retrieval_id).await? {
            JobState::InProgress => RetrievalStatus::InProgress,
            JobState::Succeeded => RetrievalStatus::Succeeded,
            JobState::Failed(why) => RetrievalStatus::Failed(why),
        })
    }

    async fn retrieval_output(&self, retrieval_id: &str) -> Result<ByteStream, ArchiveError> {
        match self.describe(retrieval_id).await? {
            JobState::InProgress => return Err(ArchiveError::NotReady(retrieval_id.to_string())),
            JobState::Failed(why) => {
                return Err(ArchiveError::backend(AwsError::message(
                    "glacier:GetJobOutput",
                    format!("retrieval {retrieval_id} failed: {why}"),
                )))
            }
            JobState::Succeeded => {}
        }
        let out = match self
            .client
            .get_job_output()
            .vault_name(&self.vault)
            .job_id(retrieval_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if not_found(&e)
                    || e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string()))
            }
            Err(e) => {
                return Err(ArchiveError::backend(AwsError::new(
                    "glacier:GetJobOutput",
                    e,
                )))
            }
        };
        let checksum = out.checksum().map(str::to_string);
        let body = body_stream(out.body);
        Ok(match checksum {
            Some(expected) => verified(body, expected),
            None => {
                debug!(job_id = retrieval_id, "job output without a tree hash");
                body
            }
        })
    }

    async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        match self
            .client
            .delete_archive()
            .vault_name(&self.vault)
            .archive_id(archive_id)
            .send()
            .await
        {
            Ok(_) => {
                info!(vault = %self.vault, archive_id, "archive deleted");
                Ok(())
            }
            Err(e)
                if not_found(&e)
                    || e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(ArchiveError::backend(AwsError::new(
                "glacier:DeleteArchive",
                e,
            ))),
        }
    }
}

/// Creates `vault` if it does not exist (CreateVault is idempotent).
pub async fn provision_vault(client: &Client, vault: &str) -> Result<(), AwsError> {
    client
        .create_vault()
        .vault_name(vault)
        .send()
        .await
        .map_err(|e| AwsError::new("glacier:CreateVault", e))?;
    info!(vault, "vault ready");
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn settings_are_validated_and_normalized() {
        assert_eq!(GlacierSettings::default().validate(), Ok(()));
        let odd = GlacierSettings {
            part_size: 3 * MIB,
            ..GlacierSettings::default()
        };
        assert_eq!(odd.validate(), Err(SettingsError::PartSize(3 * MIB)));
        assert_eq!(odd.normalized().part_size, 2 * MIB);
        let tiny = GlacierSettings {
            part_size: 10,
            concurrency: 0,
            ..GlacierSettings::default()
        };
        let n = tiny.normalized();
        assert_eq!((n.part_size, n.concurrency), (MIB, 1));
    }

    #[test]
    fn descriptions_are_printable_ascii() {
        assert_eq!(description("job-1 x"), "job-1 x");
        assert_eq!(description("é%\n"), "%C3%A9%25%0A");
        assert_eq!(description(&"a".repeat(2000)).len(), 1024);
    }

    #[tokio::test]
    async fn output_is_checked_against_the_tree_hash() {
        let data = Bytes::from(vec![5u8; 3 * MIB + 7]);
        let good = hex::encode(treehash::tree_hash(&data));
        let out = crate::collect(verified(crate::bytes_stream(data.clone()), good))
            .await
            .unwrap();
        assert_eq!(out.len(), data.len());
        let bad = hex::encode([0u8; 32]);
        let err = crate::collect(verified(crate::bytes_stream(data), bad))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
