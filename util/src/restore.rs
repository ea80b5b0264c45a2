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
    async fn advance(&self, job: &Job) -> Result<bool> {
        let Some(archive_id) = job.results_file_archive_id.as_deref() else {
            return Ok(true);
        };
        let Some(retrieval_id) = job.retrieval_job_id.as_deref() else {
            self.start_retrieval(job, archive_id).await?;
            return Ok(false);
        };
        match self.archive.retrieval_status(retrieval_id).await {
            Ok(RetrievalStatus::InProgress) => Ok(false),
            Ok(RetrievalStatus::Succeeded) => {
                self.thaw(&job.job_id, retrieval_id, archive_id).await
            }
            Ok(RetrievalStatus::Failed(why)) => {
                warn!(%retrieval_id, why, "retrieval failed; starting another");
                self.restart_retrieval(job, archive_id, retrieval_id)
                    .await?;
                Ok(false)
            }
            Err(ArchiveError::RetrievalNotFound(_)) => {
                warn!(%retrieval_id, "retrieval expired; starting another");
                self.restart_retrieval(job, archive_id, retrieval_id)
                    .await?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn restart_retrieval(&self, job: &Job, archive_id: &str, old: &str) -> Result<()> {
        match self.jobs.clear_retrieval(&job.job_id, old).await {
            Ok(_) | Err(StoreError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.start_retrieval(job, archive_id).await
    }

    /// Expedited first; Standard when the service has no expedited capacity.
    async fn start_retrieval(&self, job: &Job, archive_id: &str) -> Result<()> {
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
        match self
            .jobs
            .record_retrieval(&job.job_id, archive_id, &retrieval_id)
            .await
        {
            Ok(_) => info!(%retrieval_id, "retrieval started"),
            // A concurrent restore recorded its own; ours just finishes unused.
            Err(StoreError::ConditionFailed(why)) => info!(why, "another retrieval is recorded"),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Copies a finished retrieval back to the results blob, then forgets
    /// and deletes the archive. True when the job's results are hot.
    pub async fn thaw(&self, job_id: &str, retrieval_id: &str, archive_id: &str) -> Result<bool> {
        let Some(job) = self.jobs.get(job_id).await? else {
            return Ok(true);
        };
        match job.results_file_archive_id.as_deref() {
            Some(recorded) if recorded == archive_id => {}
            // A stale notice about some other archive: nothing to do here.
            Some(_) => return Ok(true),
            None => {
                // Thawed already; a crash may have come before the delete.
                self.archive.delete(archive_id).await?;
                return Ok(true);
            }
        }
        let Some(result_key) = job.s3_key_result_file.as_deref() else {
            anyhow::bail!("archived job has no results key");
        };
        // The user became free again while the retrieval ran (Premium
        // ended): the results stay archived, as a free user's would be.
        let role = self.users.get(&job.user_id).await?.map(|u| u.role);
        if role != Some(Role::Premium) {
            match self.jobs.clear_retrieval(job_id, retrieval_id).await {
                Ok(_) | Err(StoreError::ConditionFailed(_)) => {}
                Err(e) => return Err(e.into()),
            }
            info!("the user is free again; the results stay archived");
            return Ok(true);
        }
        let body = match self.archive.retrieval_output(retrieval_id).await {
            Ok(body) => body,
            Err(ArchiveError::NotReady(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        self.results
            .put(result_key, body)
            .await
            .context("copying the retrieval back")?;
        match self.jobs.clear_archive(job_id, archive_id).await {
            Ok(_) => {}
            Err(StoreError::ConditionFailed(_)) => return Ok(true),
            Err(e) => return Err(e.into()),
        }
        self.archive.delete(archive_id).await?;
        info!(%archive_id, "results restored");
        metrics::counter!("gas_util_restored_total").increment(1);
        Ok(true)
    }

    /// Handles a retrieval-complete notification.
    pub async fn on_retrieval(&self, notice: &RetrievalNotice) -> Result<Disposition> {
        let job_id = notice.job_description.as_str();
        if notice.status_code != "Succeeded" {
            warn!(retrieval_id = %notice.job_id, status = %notice.status_code, "retrieval did not succeed");
            match self.jobs.clear_retrieval(job_id, &notice.job_id).await {
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
    /// (the S3-class store names archives by job id). The job's own
    /// recorded retrieval is then advanced as the restore poll would.
    pub async fn on_s3_event(&self, event: &S3Event) -> Result<Disposition> {
        let mut pending = false;
        for record in &event.records {
            if !record.event_name.starts_with("ObjectRestore:Completed") {
                continue;
            }
            let Some(job_id) = record.s3.object.key.rsplit('/').next() else {
                continue;
            };
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
