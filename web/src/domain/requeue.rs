//! Requeueing jobs whose request may have been lost.
//!
//! Submitting records the PENDING job, then publishes its request. A web
//! process that dies between the two leaves a job nothing will run. When
//! its owner looks at such a job (its page, the list, the API) and it has
//! been PENDING for longer than `requeue_after` (and was not requeued in
//! that time), the request is published again. One process wins the
//! conditional write that marks the job requeued, so a stall is requeued
//! once however many look. A job merely waiting in a long queue gets a
//! duplicate request, which the runner drops: only one claim succeeds.

use gas_jobs::{now_epoch, Job, JobStatus, StoreError};
use tracing::{info, warn};

use crate::domain::ports::Ports;
use crate::domain::upload::queue_request;

/// Whether `job` has been PENDING long enough at `now` to be requeued.
fn stalled(job: &Job, now: i64, after_secs: i64) -> bool {
    let mark = now - after_secs;
    job.job_status == JobStatus::Pending
        && job.submit_time <= mark
        && job.requeued_at.is_none_or(|at| at <= mark)
}

/// Publishes `job`'s request again if it has stalled (see the module
/// documentation); returns the job as it now is. Never fails the request
/// that looked: a failure is logged and the next look tries again.
pub async fn requeue_if_stalled(ports: Ports<'_>, job: Job) -> Job {
    let after = i64::try_from(ports.rules.requeue_after.as_secs()).unwrap_or(i64::MAX);
    let now = now_epoch();
    if after == 0 || !stalled(&job, now, after) {
        return job;
    }
    let marked = match ports
        .jobs
        .mark_requeued(&job.job_id, now, now - after)
        .await
    {
        Ok(marked) => marked,
        // Claimed or requeued by someone else meanwhile.
        Err(StoreError::ConditionFailed(_)) => return job,
        Err(e) => {
            warn!(job_id = %job.job_id, error = %e, "could not mark a stalled job for requeueing");
            return job;
        }
    };
    match queue_request(ports, &marked).await {
        Ok(()) => {
            info!(job_id = %job.job_id, pending_s = now - job.submit_time, "stalled job requeued");
            metrics::counter!("gas_web_jobs_requeued_total").increment(1);
        }
        Err(e) => {
            warn!(job_id = %job.job_id, error = format!("{e:#}"), "could not requeue a stalled job")
        }
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_long_pending_jobs_not_requeued_lately_stall() {
        let mut job = Job::new_pending("j", "u", "a.vcf", "b", "k", 1_000);
        assert!(!stalled(&job, 1_599, 600), "not waited long enough");
        assert!(stalled(&job, 1_600, 600));
        job.requeued_at = Some(1_600);
        assert!(!stalled(&job, 2_199, 600), "requeued lately");
        assert!(stalled(&job, 2_200, 600));
        job.job_status = JobStatus::Running;
        assert!(!stalled(&job, 9_000, 600), "claimed");
    }
}
