use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use gas_jobs::messages::RestoreRequest;
use gas_jobs::{Job, JobStore, Role, StoreError, UserStore};
use gas_messaging::sns::unwrap_queue_body;
use gas_storage::{ArchiveError, ArchiveStore, BlobStore, RetrievalStatus, Tier};
use serde::Deserialize;
use tracing::{info, info_span, warn, Instrument};

use crate::archive::VARIANTS_ARCHIVE_SUFFIX;
use crate::drain::{Disposition, MessageHandler};

/// Brings an upgraded user's archived results back to hot storage:
/// a restore request starts a retrieval per archived job; a retrieval's
/// completion (its notification, or this handler's own polling when the
/// notification is late) copies the bytes back.
pub struct Restorer {
    pub jobs: Arc<dyn JobStore>,
    pub users: Arc<dyn UserStore>,
    pub results: Arc<dyn BlobStore>,
    pub archive: Arc<dyn ArchiveStore>,
    /// How soon to look again at a user whose retrievals are still running.
    pub poll_interval: Duration,
}

/// A cold-storage retrieval finished: Glacier's job-completion notification
/// (the embedded cold store sends the same form).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetrievalNotice {
    pub job_id: String,
    pub archive_id: String,
    /// The GAS job id, given when the retrieval started.
    pub job_description: String,
    pub status_code: String,
}

impl Restorer {
    /// Starts or advances the restore of every archived job of `user_id`.
    /// Returns `RetryAfter` while any retrieval is still running.
    pub async fn restore_user(&self, user_id: &str) -> Result<Disposition> {
        let Some(user) = self.users.get(user_id).await? else {
            return Ok(Disposition::Done);
        };
        if user.role != Role::Premium {
            info!("restore request for a free user; nothing to do");
            return Ok(Disposition::Done);
        }
        let mut pending = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .jobs
                .list_for_user(user_id, 100, cursor.as_deref())
                .await?;
            for job in page
                .items
                .iter()
                .filter(|j| j.results_file_archive_id.is_some())
            {
                let span = info_span!("restore", job_id = %job.job_id);
                if !self.advance(job).instrument(span).await? {
                    pending += 1;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if pending > 0 {
            info!(pending, "retrievals still running");
            Ok(Disposition::RetryAfter(self.poll_interval))
        } else {
            Ok(Disposition::Done)
        }
    }

    /// Moves one archived job a step towards restored; true once it is.
    /// A job whose index was archived beside its results has two
    /// retrievals, started together; the bytes are copied back once both
    /// have finished.
    async fn advance(&self, job: &Job) -> Result<bool> {
        let Some(archive_id) = job.results_file_archive_id.as_deref() else {
            return Ok(true);
        };
        let results = self
            .advance_retrieval(
                job,
                Cold::Results,
                archive_id,
                job.retrieval_job_id.as_deref(),
            )
            .await?;
        let index = match job.variants_archive_id.as_deref() {
            None => Some(None),
            Some(variants_archive_id) => self
                .advance_retrieval(
                    job,
                    Cold::Index,
                    variants_archive_id,
                    job.variants_retrieval_job_id.as_deref(),
                )
                .await?
                .map(Some),
        };
        match (results, index) {
            (Some(results), Some(index)) => self.copy_back(job, &results, index.as_deref()).await,
            _ => Ok(false),
        }
    }

    /// Moves one of a job's retrievals on: starts it if none is recorded,
    /// starts another if it failed or expired. Its id once it succeeded.
    async fn advance_retrieval(
        &self,
        job: &Job,
        cold: Cold,
        archive_id: &str,
        recorded: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(retrieval_id) = recorded else {
            self.start_retrieval(job, cold, archive_id).await?;
            return Ok(None);
        };
        match self.archive.retrieval_status(retrieval_id).await {
            Ok(RetrievalStatus::InProgress) => Ok(None),
            Ok(RetrievalStatus::Succeeded) => Ok(Some(retrieval_id.to_string())),
            Ok(RetrievalStatus::Failed(why)) => {
                warn!(%retrieval_id, why, of = cold.name(), "retrieval failed; starting another");
                self.restart_retrieval(job, cold, archive_id, retrieval_id)
                    .await?;
                Ok(None)
            }
            Err(ArchiveError::RetrievalNotFound(_)) => {
                warn!(%retrieval_id, of = cold.name(), "retrieval expired; starting another");
                self.restart_retrieval(job, cold, archive_id, retrieval_id)
                    .await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn restart_retrieval(
        &self,
        job: &Job,
        cold: Cold,
        archive_id: &str,
        old: &str,
    ) -> Result<()> {
        let cleared = match cold {
            Cold::Results => self.jobs.clear_retrieval(&job.job_id, old).await,
            Cold::Index => self.jobs.clear_variants_retrieval(&job.job_id, old).await,
        };
        match cleared {
            Ok(_) | Err(StoreError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.start_retrieval(job, cold, archive_id).await
    }

    /// Expedited first; Standard when the service has no expedited capacity.
    async fn start_retrieval(&self, job: &Job, cold: Cold, archive_id: &str) -> Result<()> {
        let retrieval_id = match self
            .archive
            .start_retrieval(archive_id, Tier::Expedited, &job.job_id)
            .await
        {
            Ok(id) => id,
            Err(ArchiveError::InsufficientCapacity(_)) => {
                info!("no expedited capacity; falling back to a standard retrieval");
                self.archive
                    .start_retrieval(archive_id, Tier::Standard, &job.job_id)
                    .await
                    .context("starting a standard retrieval")?
            }
            Err(e) => return Err(e).context("starting an expedited retrieval"),
        };
        metrics::counter!("gas_util_retrievals_started_total").increment(1);
        let recorded = match cold {
            Cold::Results => {
                self.jobs
                    .record_retrieval(&job.job_id, archive_id, &retrieval_id)
                    .await
            }
            Cold::Index => {
                self.jobs
                    .record_variants_retrieval(&job.job_id, archive_id, &retrieval_id)
                    .await
            }
        };
        match recorded {
            Ok(_) => info!(%retrieval_id, of = cold.name(), "retrieval started"),
            // A concurrent restore recorded its own; ours just finishes unused.
            Err(StoreError::ConditionFailed(why)) => info!(why, "another retrieval is recorded"),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// A retrieval of `archive_id` finished (its notification): copies the
    /// job's bytes back once all of its retrievals have, then forgets and
    /// deletes the archives. True when nothing is left to do for it.
    pub async fn thaw(&self, job_id: &str, retrieval_id: &str, archive_id: &str) -> Result<bool> {
        let Some(job) = self.jobs.get(job_id).await? else {
            return Ok(true);
        };
        let Some(recorded) = job.results_file_archive_id.as_deref() else {
            // Thawed already; a crash may have come before the delete.
            self.archive.delete(archive_id).await?;
            return Ok(true);
        };
        if recorded == archive_id && job.variants_archive_id.is_none() {
            // The results alone: this retrieval is all there is to copy.
            return self.copy_back(&job, retrieval_id, None).await;
        }
        if recorded != archive_id && job.variants_archive_id.as_deref() != Some(archive_id) {
            // A stale notice about some other archive: nothing to do here.
            return Ok(true);
        }
        // One of the job's two retrievals: both must have finished, as the
        // record says (the other's notice may not have come yet).
        if !self.still_premium(&job).await? {
            return Ok(true);
        }
        self.advance(&job).await
    }

    /// Whether the job's user is premium; when not (Premium ended while the
    /// retrieval ran) the job's retrievals are forgotten and it stays
    /// archived, as a free user's results would be.
    async fn still_premium(&self, job: &Job) -> Result<bool> {
        let role = self.users.get(&job.user_id).await?.map(|u| u.role);
        if role == Some(Role::Premium) {
            return Ok(true);
        }
        if let Some(retrieval_id) = job.retrieval_job_id.as_deref() {
            match self.jobs.clear_retrieval(&job.job_id, retrieval_id).await {
                Ok(_) | Err(StoreError::ConditionFailed(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(retrieval_id) = job.variants_retrieval_job_id.as_deref() {
            match self
                .jobs
                .clear_variants_retrieval(&job.job_id, retrieval_id)
                .await
            {
                Ok(_) | Err(StoreError::ConditionFailed(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        info!("the user is free again; the results stay archived");
        Ok(false)
    }

    /// Copies finished retrievals back: the results blob, then the index
    /// blob when the index was archived (`index`: its retrieval), then
    /// records the job hot (one write, both archive ids cleared) and deletes
    /// the archives. A crash anywhere is finished by a repeat: until the
    /// record the job is archived and the copies are made again. True when
    /// the job's results are hot.
    async fn copy_back(&self, job: &Job, results: &str, index: Option<&str>) -> Result<bool> {
        let job_id = job.job_id.as_str();
        let Some(archive_id) = job.results_file_archive_id.as_deref() else {
            return Ok(true);
        };
        let Some(result_key) = job.s3_key_result_file.as_deref() else {
            anyhow::bail!("archived job has no results key");
        };
        let variants = match (job.variants_archive_id.as_deref(), index) {
            (None, _) => None,
            (Some(variants_archive_id), Some(index)) => Some((variants_archive_id, index)),
            (Some(_), None) => anyhow::bail!("the index's archive has no finished retrieval"),
        };
        if !self.still_premium(job).await? {
            return Ok(true);
        }
        let body = match self.archive.retrieval_output(results).await {
            Ok(body) => body,
            Err(ArchiveError::NotReady(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        self.results
            .put(result_key, body)
            .await
            .context("copying the retrieval back")?;
        if let Some((_, index)) = variants {
            let body = match self.archive.retrieval_output(index).await {
                Ok(body) => body,
                Err(ArchiveError::NotReady(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            let variants_key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
            self.results
                .put(&variants_key, body)
                .await
                .context("copying the index's retrieval back")?;
        }
        let archives: Vec<&str> = std::iter::once(archive_id)
            .chain(variants.map(|(id, _)| id))
            .collect();
        match self.jobs.clear_archive(job_id, archive_id).await {
            Ok(_) => {}
            Err(StoreError::ConditionFailed(_)) => {
                // Another thaw recorded it hot first; it may have died before
                // its deletes. Archives no record names are ours to delete.
                let now = self.jobs.get(job_id).await?;
                if now.is_some_and(|j| j.results_file_archive_id.is_none()) {
                    for id in archives {
                        self.archive.delete(id).await?;
                    }
                }
                return Ok(true);
            }
            Err(e) => return Err(e.into()),
        }
        for id in &archives {
            self.archive.delete(id).await?;
        }
        info!(%archive_id, variants_archive_id = ?variants.map(|(id, _)| id), "results restored");
        metrics::counter!("gas_util_restored_total").increment(1);
        Ok(true)
    }

    /// Handles a retrieval-complete notification.
    pub async fn on_retrieval(&self, notice: &RetrievalNotice) -> Result<Disposition> {
        let job_id = notice.job_description.as_str();
        if notice.status_code != "Succeeded" {
            warn!(retrieval_id = %notice.job_id, status = %notice.status_code, "retrieval did not succeed");
            // The results' retrieval or the index's, whichever it is.
            let cleared = match self.jobs.clear_retrieval(job_id, &notice.job_id).await {
                Err(StoreError::ConditionFailed(_)) => {
                    self.jobs
                        .clear_variants_retrieval(job_id, &notice.job_id)
                        .await
                }
                other => other,
            };
            match cleared {
                Ok(job) => {
                    // Start over for the whole user (fast tier first again).
                    return self
                        .restore_user(&job.user_id)
                        .await
                        .map(|_| Disposition::Done);
                }
                Err(StoreError::ConditionFailed(_) | StoreError::NotFound(_)) => {
                    return Ok(Disposition::Done)
                }
                Err(e) => return Err(e.into()),
            }
        }
        if self
            .thaw(job_id, &notice.job_id, &notice.archive_id)
            .await?
        {
            Ok(Disposition::Done)
        } else {
            Ok(Disposition::RetryAfter(self.poll_interval))
        }
    }
}

/// Which of a job's archives a retrieval reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cold {
    /// The annotated VCF (`results_file_archive_id`).
    Results,
    /// The variant index (`variants_archive_id`).
    Index,
}

impl Cold {
    fn name(self) -> &'static str {
        match self {
            Cold::Results => "results",
            Cold::Index => "index",
        }
    }
}

/// The `/restore` queue's handler: restore requests.
pub(crate) struct RestoreRequests(pub Arc<Restorer>);

#[async_trait]
impl MessageHandler for RestoreRequests {
    fn name(&self) -> &'static str {
        "restore"
    }

    async fn handle(&self, body: &str) -> Result<Disposition> {
        let request: RestoreRequest = match serde_json::from_str(&unwrap_queue_body(body)) {
            Ok(r) => r,
            Err(e) => {
                // The restore queue has no dead-letter queue (its requests
                // are received once per poll for hours): drop it here.
                warn!(error = %e, body, "dropped a message that is not a restore request");
                return Ok(Disposition::Done);
            }
        };
        let span = info_span!("restore_user", user_id = %request.user_id);
        self.0.restore_user(&request.user_id).instrument(span).await
    }
}

/// The `/thaw` queue's handler: retrieval-complete notifications.
pub(crate) struct ThawNotices(pub Arc<Restorer>);

#[async_trait]
impl MessageHandler for ThawNotices {
    fn name(&self) -> &'static str {
        "thaw"
    }

    async fn handle(&self, body: &str) -> Result<Disposition> {
        let body = unwrap_queue_body(body);
        if let Ok(notice) = serde_json::from_str::<RetrievalNotice>(&body) {
            let span =
                info_span!("thaw", job_id = %notice.job_description, retrieval_id = %notice.job_id);
            return self.0.on_retrieval(&notice).instrument(span).await;
        }
        match serde_json::from_str::<S3Event>(&body) {
            Ok(event) => self.0.on_s3_event(&event).await,
            Err(e) => {
                warn!(error = %e, "neither a Glacier retrieval notification nor an S3 event");
                Ok(Disposition::Poison)
            }
        }
    }
}

/// S3's event notification (`ObjectRestore:Completed` for the S3
/// storage-class cold store); only what the thaw needs.
#[derive(Debug, Deserialize)]
pub struct S3Event {
    #[serde(rename = "Records", default)]
    records: Vec<S3EventRecord>,
}

#[derive(Debug, Deserialize)]
struct S3EventRecord {
    #[serde(rename = "eventName")]
    event_name: String,
    s3: S3EventEntity,
}

#[derive(Debug, Deserialize)]
struct S3EventEntity {
    object: S3EventObject,
}

#[derive(Debug, Deserialize)]
struct S3EventObject {
    key: String,
}

impl Restorer {
    /// A restored S3 object: the archive's last key segment is the job id
    /// (the S3-class store names archives by job id; the index's archive is
    /// `<job_id>.variants`). The job's own recorded retrievals are then
    /// advanced as the restore poll would.
    pub async fn on_s3_event(&self, event: &S3Event) -> Result<Disposition> {
        let mut pending = false;
        for record in &event.records {
            if !record.event_name.starts_with("ObjectRestore:Completed") {
                continue;
            }
            let Some(name) = record.s3.object.key.rsplit('/').next() else {
                continue;
            };
            // The index's archive is named after its job too.
            let job_id = name.strip_suffix(VARIANTS_ARCHIVE_SUFFIX).unwrap_or(name);
            let span = info_span!("thaw", %job_id);
            let Some(job) = self.jobs.get(job_id).instrument(span.clone()).await? else {
                continue;
            };
            if job.results_file_archive_id.is_some() && !self.advance(&job).instrument(span).await?
            {
                pending = true;
            }
        }
        Ok(if pending {
            Disposition::RetryAfter(self.poll_interval)
        } else {
            Disposition::Done
        })
    }
}

/// The handlers of the `/restore` and `/thaw` queues.
pub fn restore_handlers(
    restorer: Arc<Restorer>,
) -> (Arc<dyn MessageHandler>, Arc<dyn MessageHandler>) {
    (
        Arc::new(RestoreRequests(Arc::clone(&restorer))),
        Arc::new(ThawNotices(restorer)),
    )
}
