//! Jobs as their owner sees them, decided once for both faces: whose job
//! it is, where its results are ([`ResultsState`]), until when a free user
//! may download, and why results or a log cannot be had now
//! ([`Refusal`]).

use futures::StreamExt;
use gas_jobs::{now_epoch, Job, JobStatus, Page, Role, StoreError, User};

use crate::domain::charts::Summary;
use crate::domain::error::{Error, Refusal};
use crate::domain::ports::Ports;
use crate::domain::requeue::requeue_if_stalled;

/// Where a completed job's results are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsState {
    /// Hot: downloadable (within a free user's window).
    Available,
    /// Cold, no restore under way yet.
    Archived,
    /// A retrieval from cold storage is under way.
    Restoring,
}

impl ResultsState {
    /// The API's name (`results_state`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResultsState::Available => "available",
            ResultsState::Archived => "archived",
            ResultsState::Restoring => "restoring",
        }
    }

    /// Where `job`'s results are; `None` until it completes.
    pub fn of(job: &Job) -> Option<Self> {
        if job.job_status != JobStatus::Completed {
            return None;
        }
        Some(
            match (&job.results_file_archive_id, &job.retrieval_job_id) {
                (None, _) => ResultsState::Available,
                (Some(_), None) => ResultsState::Archived,
                (Some(_), Some(_)) => ResultsState::Restoring,
            },
        )
    }
}

/// Until when a free user may download (epoch seconds): the end of the
/// job's current window, which starts at completion or, after the user
/// came back from Premium, when that window started again; `None` for
/// premium users and unfinished jobs.
pub fn download_until(job: &Job, role: Role, window_secs: i64) -> Option<i64> {
    match role {
        Role::Premium => None,
        Role::Free => job.window_start().map(|t| t + window_secs),
    }
}

/// The caller's own job (requeued if it stalled); anyone else's is
/// indistinguishable from none.
pub async fn own_job(ports: Ports<'_>, user: &User, job_id: &str) -> Result<Job, Error> {
    match ports.jobs.get(job_id).await? {
        Some(job) if job.user_id == user.user_id => Ok(requeue_if_stalled(ports, job).await),
        _ => Err(Error::NotFound),
    }
}

/// A page of the user's jobs, newest first, each requeued if it stalled.
pub async fn list_jobs(
    ports: Ports<'_>,
    user: &User,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Job>, Error> {
    let page = match ports.jobs.list_for_user(&user.user_id, limit, cursor).await {
        Ok(page) => page,
        Err(StoreError::BadCursor) => return Err(Error::BadCursor),
        Err(e) => return Err(e.into()),
    };
    let mut items = Vec::with_capacity(page.items.len());
    for job in page.items {
        items.push(requeue_if_stalled(ports, job).await);
    }
    Ok(Page {
        items,
        next: page.next,
    })
}

/// Whether `user` may download `job`'s results now, and if not, why: the
/// paywall rule. A free user's window ends at its due second; archived
/// results are past the window for a free user whatever the clocks say.
pub fn results_access(job: &Job, user: &User, window_secs: i64, now: i64) -> Result<(), Refusal> {
    if job.job_status != JobStatus::Completed || job.s3_key_result_file.is_none() {
        return Err(Refusal::ResultsNotReady(job.job_status));
    }
    if user.role == Role::Free {
        let until = download_until(job, user.role, window_secs);
        let window_over = until.is_some_and(|until| now >= until);
        if window_over || job.results_file_archive_id.is_some() {
            return Err(Refusal::WindowOver);
        }
    }
    match ResultsState::of(job) {
        Some(ResultsState::Available) => Ok(()),
        Some(ResultsState::Restoring) => Err(Refusal::Restoring),
        _ => Err(Refusal::Archived),
    }
}

/// A short-lived URL of the job's results for `user`, or why they cannot
/// have one now. The API and the pages both answer with this.
pub async fn results_url(ports: Ports<'_>, user: &User, job: &Job) -> Result<String, Error> {
    results_access(job, user, ports.rules.window_secs(), now_epoch())?;
    let result_key = job.s3_key_result_file.as_deref().unwrap_or_default();
    let file_name = result_key.rsplit('~').next().unwrap_or("results.vcf");
    Ok(ports
        .results
        .download_url(result_key, ports.rules.download_ttl, file_name)
        .await?)
}

/// The key of the job's log, once it has one.
pub fn log_key(job: &Job) -> Result<&str, Refusal> {
    job.s3_key_log_file
        .as_deref()
        .ok_or(Refusal::LogNotReady(job.job_status))
}

/// Logs and statistics are small; a page shows at most this much.
pub const MAX_TEXT: usize = 1024 * 1024;

/// Reads a small text object of the results store (a log, statistics), at
/// most [`MAX_TEXT`] bytes, with a note where it was cut.
pub async fn read_text(ports: Ports<'_>, key: &str) -> Result<String, Error> {
    let mut body = ports.results.get(key).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT {
            bytes.truncate(MAX_TEXT);
            bytes.extend_from_slice(b"\n[... cut: the rest is too long to show here]\n");
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The job's statistics, if it completed and they were stored (jobs from
/// before the statistics existed have none: their page shows no pictures).
pub async fn statistics(ports: Ports<'_>, job: &Job) -> Option<Summary> {
    if job.job_status != JobStatus::Completed {
        return None;
    }
    let key = gas_jobs::keys::stats_key(&job.s3_key_input_file);
    let text = match read_text(ports, &key).await {
        Ok(text) => text,
        Err(e) => {
            tracing::debug!(job_id = %job.job_id, error = ?e, "no statistics for the pictures");
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(summary) => Some(summary),
        Err(e) => {
            tracing::warn!(job_id = %job.job_id, error = %e, "unreadable statistics");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> User {
        User {
            user_id: "u".into(),
            email: "u@example.org".into(),
            role,
            created_at: 0,
            password_hash: None,
            api_token_sha256: None,
        }
    }

    fn completed(at: i64) -> Job {
        let mut job = Job::new_pending("j", "u", "in.vcf", "b", "k", at - 5);
        job.job_status = JobStatus::Completed;
        job.complete_time = Some(at);
        job.s3_key_result_file = Some("r".into());
        job
    }

    #[test]
    fn results_follow_plan_window_and_archive() {
        let (free, premium) = (user(Role::Free), user(Role::Premium));
        let job = completed(1000);
        assert_eq!(results_access(&job, &free, 300, 1299), Ok(()));
        assert_eq!(
            results_access(&job, &free, 300, 1300),
            Err(Refusal::WindowOver),
            "the due second is over"
        );
        assert_eq!(results_access(&job, &premium, 300, 9999), Ok(()));
        let mut archived = job.clone();
        archived.results_file_archive_id = Some("a".into());
        assert_eq!(ResultsState::of(&archived), Some(ResultsState::Archived));
        assert_eq!(
            results_access(&archived, &free, 300, 1001),
            Err(Refusal::WindowOver),
            "archived is over for a free user whatever the clocks say"
        );
        assert_eq!(
            results_access(&archived, &premium, 300, 1001),
            Err(Refusal::Archived)
        );
        archived.retrieval_job_id = Some("r".into());
        assert_eq!(ResultsState::of(&archived), Some(ResultsState::Restoring));
        assert_eq!(
            results_access(&archived, &premium, 300, 1001),
            Err(Refusal::Restoring)
        );
        let mut running = job;
        running.job_status = JobStatus::Running;
        assert_eq!(ResultsState::of(&running), None);
        assert_eq!(
            results_access(&running, &premium, 300, 0),
            Err(Refusal::ResultsNotReady(JobStatus::Running))
        );
        assert_eq!(
            log_key(&running),
            Err(Refusal::LogNotReady(JobStatus::Running))
        );
    }
}
