//! Plan changes: a user becomes premium ([`upgrade_user`]) or free again
//! ([`downgrade_user`]), through the paywall (`integrations/payment.rs`),
//! the payment provider's notifications (`api/webhooks.rs`) and
//! `gas user set-role ... premium`.

use std::time::Duration;

use anyhow::{Context, Result};
use gas_jobs::messages::{ArchiveRequest, RestoreRequest};
use gas_jobs::{now_epoch, Job, JobStatus, JobStore, Role, StoreError, User, UserStore};
use gas_messaging::{Timer, Topic};
use tracing::{info, warn};

/// The ports a plan change uses, as one value.
#[derive(Clone, Copy)]
pub struct PlanPorts<'a> {
    pub jobs: &'a dyn JobStore,
    pub users: &'a dyn UserStore,
    /// The archive timer: an upgrade stops its pending executions, a
    /// downgrade starts fresh windows on it.
    pub archive_timer: &'a dyn Timer,
    /// Restore requests go here when a user upgrades.
    pub restore_topic: &'a dyn Topic,
}

/// Makes a user premium: their results stay hot from now on and archived
/// ones come back.
///
/// Order matters (DESIGN section 5, invariant 3): the role changes first, so
/// every archive step that starts later skips the user, and one already
/// under way sees the change when it re-checks after recording its archive;
/// then pending timers stop (an optimisation: a fired timer is skipped
/// anyway); last, a restore request covers whatever is archived.
pub async fn upgrade_user(ports: &PlanPorts<'_>, user_id: &str) -> Result<User> {
    let PlanPorts {
        jobs,
        users,
        archive_timer,
        restore_topic,
    } = *ports;
    let user = users
        .set_role(user_id, Role::Premium)
        .await
        .context("setting the role")?;
    let mut cursor: Option<String> = None;
    loop {
        let page = jobs.list_for_user(user_id, 100, cursor.as_deref()).await?;
        for job in &page.items {
            if let Some(execution_id) = &job.archive_execution_id {
                if let Err(e) = archive_timer.stop(execution_id).await {
                    warn!(job_id = %job.job_id, error = %e, "could not stop an archive timer; it will be skipped when it fires");
                    continue;
                }
                jobs.clear_execution_id(&job.job_id).await?;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let request = serde_json::to_string(&RestoreRequest {
        user_id: user_id.to_string(),
    })?;
    restore_topic
        .publish(&request)
        .await
        .context("requesting the restore")?;
    info!(user_id, "user upgraded to premium");
    metrics::counter!("gas_web_upgrades_total").increment(1);
    Ok(user)
}

/// Makes a user free again (their Premium subscription ended): each of
/// their completed jobs whose results are hot gets a fresh free window
/// from now, and is archived after it, as any free user's job would be.
///
/// Order mirrors [`upgrade_user`] (DESIGN section 5):
/// 1. The role changes first. From then on the runner starts a timer for
///    every job it completes, and every archive step archives.
/// 2. Then every completed job with hot results and no pending archive
///    timer gets a new window: its timer is started first, under a name of
///    its own (`<job_id>-w<start>`: timer names are idempotent for the life
///    of the timer store, and the window that began at completion already
///    used the job id), and then the job records the window's start and
///    the timer in one conditional write ([`JobStore::restart_window`]).
///    A crash between the two leaves a timer whose message names a window
///    the job never recorded, which util ignores; the job keeps no timer,
///    so a repeated downgrade (the payment provider retries an event that
///    was not acknowledged) gives it one.
/// 3. A job that completes during the downgrade is covered either way: the
///    runner reads the role after the job completes, so it either sees
///    "free" and starts the timer itself, or it read "premium" before step
///    1, and then the job was completed before step 2 lists it.
///
/// Idempotent: a job whose window timer is pending is left alone (the
/// conditional write refuses it, and the extra timer is stopped), so a
/// second downgrade does not move windows the first one started. A job
/// archived, or being restored, keeps its state: a restore under way
/// finishes, and the job page then offers the results within the window
/// that the job last had (DESIGN-NOTES, "Premium with Stripe").
pub async fn downgrade_user(
    ports: &PlanPorts<'_>,
    user_id: &str,
    free_access_window: Duration,
) -> Result<User> {
    let PlanPorts {
        jobs,
        users,
        archive_timer,
        ..
    } = *ports;
    let user = users
        .set_role(user_id, Role::Free)
        .await
        .context("setting the role")?;
    let now = now_epoch();
    let mut windows = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = jobs.list_for_user(user_id, 100, cursor.as_deref()).await?;
        for job in page.items.iter().filter(|j| needs_window(j)) {
            if restart_window(jobs, archive_timer, job, now, free_access_window).await? {
                windows += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    info!(user_id, windows, "user downgraded to free");
    metrics::counter!("gas_web_downgrades_total").increment(1);
    Ok(user)
}

/// A completed job with hot results and no pending archive timer.
fn needs_window(job: &Job) -> bool {
    job.job_status == JobStatus::Completed
        && job.s3_key_result_file.is_some()
        && job.results_file_archive_id.is_none()
        && job.archive_execution_id.is_none()
}

/// Starts one job's fresh window at `now`; false when the job turned out to
/// need none (it got a timer or an archive meanwhile).
async fn restart_window(
    jobs: &dyn JobStore,
    archive_timer: &dyn Timer,
    job: &Job,
    now: i64,
    window: Duration,
) -> Result<bool> {
    let request = ArchiveRequest {
        job_id: job.job_id.clone(),
        window_started: Some(now),
    };
    let execution_id = archive_timer
        .start(
            &request.timer_name(),
            &serde_json::to_string(&request)?,
            window,
        )
        .await
        .context("starting the archive timer of a fresh window")?;
    match jobs.restart_window(&job.job_id, now, &execution_id).await {
        Ok(_) => {
            info!(job_id = %job.job_id, %execution_id, window_s = window.as_secs(), "fresh free window started");
            Ok(true)
        }
        Err(StoreError::ConditionFailed(why)) => {
            // Another downgrade or the runner gave it a timer, or it was
            // archived: ours is not needed (and would be ignored anyway)
            // unless it is the very timer recorded (a concurrent downgrade
            // in the same second started the same name).
            let recorded = jobs
                .get(&job.job_id)
                .await?
                .and_then(|j| j.archive_execution_id);
            if recorded.as_deref() != Some(execution_id.as_str()) {
                if let Err(e) = archive_timer.stop(&execution_id).await {
                    warn!(job_id = %job.job_id, error = %e, "could not stop an unneeded archive timer; util ignores it");
                }
            }
            info!(job_id = %job.job_id, %why, "no fresh window needed");
            Ok(false)
        }
        Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
