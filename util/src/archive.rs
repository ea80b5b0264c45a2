use std::sync::Arc;

use anyhow::{Context, Result};
use async_trait::async_trait;
use gas_jobs::messages::{ArchiveRequest, RestoreRequest};
use gas_jobs::{Job, JobStatus, JobStore, Role, StoreError, UserStore};
use gas_messaging::{sns::unwrap_queue_body, Topic};
use gas_storage::{ArchiveStore, BlobError, BlobStore};
use tracing::{info, info_span, warn, Instrument};

use crate::drain::{Disposition, MessageHandler};

/// What [`Archiver::archive_job`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveOutcome {
    /// The results moved to cold storage under this archive id.
    Archived(String),
    /// The results were already archived (a repeated delivery); any step a
    /// crash interrupted was finished.
    AlreadyArchived,
    /// The user is premium: results stay hot.
    SkippedPremium,
    /// Nothing to archive: no such job, or it has no results.
    NothingToArchive,
    /// The message ends an earlier window than the job's current one (the
    /// user became free again and the job got a fresh window, whose own
    /// timer archives it): nothing done.
    EarlierWindow,
}

/// Moves free users' results to cold storage once their window is over.
pub struct Archiver {
    pub jobs: Arc<dyn JobStore>,
    pub users: Arc<dyn UserStore>,
    pub results: Arc<dyn BlobStore>,
    pub archive: Arc<dyn ArchiveStore>,
    /// Where a restore request goes when an upgrade raced this archive.
    pub restore_topic: Arc<dyn Topic>,
}

/// The name of the archive that holds a job's variant index, beside the
/// results' archive (named by the job id): the same name again after a
/// crash replaces it (directory and S3-class stores), and the S3-class
/// store's restore event names it by this key's last segment.
pub fn variants_archive_name(job_id: &str) -> String {
    format!("{job_id}{VARIANTS_ARCHIVE_SUFFIX}")
}

/// What [`variants_archive_name`] appends to the job id.
pub const VARIANTS_ARCHIVE_SUFFIX: &str = ".variants";

impl Archiver {
    /// Archives one job's results, following DESIGN section 5: upload the
    /// archive → record its id (conditional) → delete the results blob.
    /// The job's variant index (`keys::variants_key`), when it has one,
    /// goes along in an archive of its own: both are uploaded before the
    /// one write that records both ids, and both blobs are deleted after
    /// it. Safe to repeat at any point: a repeat finishes what a crash left.
    pub async fn archive_job(&self, job_id: &str) -> Result<ArchiveOutcome> {
        let Some(job) = self.jobs.get(job_id).await? else {
            return Ok(ArchiveOutcome::NothingToArchive);
        };
        let Some(result_key) = job.s3_key_result_file.clone() else {
            return Ok(ArchiveOutcome::NothingToArchive);
        };
        if job.job_status != JobStatus::Completed {
            return Ok(ArchiveOutcome::NothingToArchive);
        }
        let variants_key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
        // The role is read now, not when the timer started: an upgrade in
        // the window must keep the results hot.
        if self.role_of(&job.user_id).await? == Role::Premium {
            if job.results_file_archive_id.is_some() {
                // An earlier delivery recorded the archive and stopped before
                // its own second look at the role; the upgrade's restore may
                // have run before that record and found nothing archived.
                // Restores are idempotent: ask for one.
                self.request_restore(&job.user_id).await?;
                info!("user is premium and the results are archived; restore requested");
            } else {
                info!("user is premium; results stay hot");
            }
            self.jobs.clear_execution_id(job_id).await?;
            return Ok(ArchiveOutcome::SkippedPremium);
        }
        if job.results_file_archive_id.is_some() {
            // Recorded before a crash that came before the blobs' deletion.
            // The index blob goes only when its archive is recorded: a job
            // archived before indexes followed the results keeps it hot.
            self.delete_hot(&job, &result_key, &variants_key).await?;
            self.jobs.clear_execution_id(job_id).await?;
            return Ok(ArchiveOutcome::AlreadyArchived);
        }

        let body = match self.results.get(&result_key).await {
            Ok(body) => body,
            Err(BlobError::NotFound(key)) => {
                // With the order above this cannot happen; if it does the
                // record must not claim an archive that holds nothing.
                anyhow::bail!("results blob {key} is missing and no archive is recorded");
            }
            Err(e) => return Err(e.into()),
        };
        let archive_id = self
            .archive
            .archive(job_id, body)
            .await
            .context("uploading the archive")?;
        // Every results upload (the index's are not counted), kept or not:
        // above gas_util_archived_total when deliveries raced or a crash
        // came between upload and record.
        metrics::counter!("gas_util_archive_uploads_total").increment(1);
        // The index is written before the job is recorded COMPLETED, so it
        // is here now or never was (`409 no_index`): then the results go
        // alone, as before indexes existed.
        let variants_archive_id = match self.results.get(&variants_key).await {
            Ok(body) => Some(
                self.archive
                    .archive(&variants_archive_name(job_id), body)
                    .await
                    .context("uploading the index's archive")?,
            ),
            Err(BlobError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        match self
            .jobs
            .record_archives(job_id, &archive_id, variants_archive_id.as_deref())
            .await
        {
            Ok(_) => {}
            Err(StoreError::ConditionFailed(_)) => {
                // Another delivery archived it first; ours are duplicates
                // unless the store named them the same.
                let current = self.jobs.get(job_id).await?.context("the job vanished")?;
                let mine = [Some(&archive_id), variants_archive_id.as_ref()];
                let recorded = [
                    current.results_file_archive_id.as_ref(),
                    current.variants_archive_id.as_ref(),
                ];
                for id in mine.into_iter().flatten() {
                    if !recorded.contains(&Some(id)) {
                        self.archive.delete(id).await?;
                        info!(archive_id = %id, "deleted a duplicate archive");
                        metrics::counter!("gas_util_archive_duplicates_deleted_total").increment(1);
                    }
                }
                if current.results_file_archive_id.is_some() {
                    self.delete_hot(&current, &result_key, &variants_key)
                        .await?;
                }
                self.jobs.clear_execution_id(job_id).await?;
                return Ok(ArchiveOutcome::AlreadyArchived);
            }
            Err(e) => return Err(e.into()),
        }
        self.results.delete(&result_key).await?;
        if variants_archive_id.is_some() {
            self.results.delete(&variants_key).await?;
        }

        // An upgrade between the role check above and the record may have
        // started a restore that did not yet see this archive: restore it too.
        if self.role_of(&job.user_id).await? == Role::Premium {
            self.request_restore(&job.user_id).await?;
            info!("user upgraded during the archive; restore requested");
        }
        self.jobs.clear_execution_id(job_id).await?;
        info!(%archive_id, variants_archive_id = ?variants_archive_id, "results archived");
        metrics::counter!("gas_util_archived_total").increment(1);
        Ok(ArchiveOutcome::Archived(archive_id))
    }

    /// Deletes the hot copies of what `job`'s record says is archived: the
    /// results blob, and the index blob when the index's archive is
    /// recorded too. Deleting what is gone already succeeds.
    async fn delete_hot(&self, job: &Job, result_key: &str, variants_key: &str) -> Result<()> {
        self.results.delete(result_key).await?;
        if job.variants_archive_id.is_some() {
            self.results.delete(variants_key).await?;
        }
        Ok(())
    }

    /// Archives the job of an archive message, if the window the message
    /// ends is still the job's window: a timer of an earlier window (one an
    /// upgrade could not stop, or whose message waited in the queue while
    /// the user was premium) must not cut short the fresh window a
    /// downgrade started. Windows are told apart by their start, which the
    /// message carries, not by clocks.
    pub async fn archive_window(&self, request: &ArchiveRequest) -> Result<ArchiveOutcome> {
        if let Some(job) = self.jobs.get(&request.job_id).await? {
            if job.window_started != request.window_started && job.results_file_archive_id.is_none()
            {
                info!(
                    message_window = ?request.window_started,
                    job_window = ?job.window_started,
                    "archive message of an earlier window; the current window's timer archives"
                );
                return Ok(ArchiveOutcome::EarlierWindow);
            }
        }
        self.archive_job(&request.job_id).await
    }

    async fn request_restore(&self, user_id: &str) -> Result<()> {
        let request = serde_json::to_string(&RestoreRequest {
            user_id: user_id.to_string(),
        })?;
        self.restore_topic.publish(&request).await?;
        Ok(())
    }

    async fn role_of(&self, user_id: &str) -> Result<Role> {
        // A deleted user's results are not kept hot for anyone.
        Ok(self
            .users
            .get(user_id)
            .await?
            .map(|u| u.role)
            .unwrap_or(Role::Free))
    }
}

#[async_trait]
impl MessageHandler for Archiver {
    fn name(&self) -> &'static str {
        "archive"
    }

    async fn handle(&self, body: &str) -> Result<Disposition> {
        let request: ArchiveRequest = match serde_json::from_str(&unwrap_queue_body(body)) {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "not an archive request");
                return Ok(Disposition::Poison);
            }
        };
        let span = info_span!("archive", job_id = %request.job_id);
        self.archive_window(&request).instrument(span).await?;
        Ok(Disposition::Done)
    }
}
