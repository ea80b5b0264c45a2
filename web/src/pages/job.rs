//! What a job page shows, decided once in Rust: the job's phase for this
//! viewer, the download window, and how the page keeps itself current.

use gas_jobs::{now_epoch, Job, JobStatus, Role, User};

use crate::domain::error::Refusal;
use crate::domain::jobs::{download_until, results_access};
use crate::pages::render::{iso_time, utc_time};

/// Where a job stands, as its owner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Queued,
    Running,
    Failed,
    /// Results downloadable now.
    Ready,
    /// A free user's window is over (or the results are archived).
    Upgrade,
    /// A premium user's results are coming back from cold storage.
    Restoring,
}

impl Phase {
    /// The name pages use in classes and `data-phase` (the page's script
    /// reads it).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Failed => "failed",
            Phase::Ready => "ready",
            Phase::Upgrade => "upgrade",
            Phase::Restoring => "restoring",
        }
    }

    /// The phase a refusal of the results shows (the upgrade offer, or
    /// "restoring"), on every page that offers something of the results.
    pub fn of_refusal(refusal: Refusal) -> Option<Phase> {
        match refusal {
            Refusal::WindowOver => Some(Phase::Upgrade),
            Refusal::Restoring | Refusal::Archived => Some(Phase::Restoring),
            _ => None,
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One job, ready for a template.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: String,
    pub file_name: String,
    pub status: &'static str,
    pub phase: Phase,
    pub progress_pct: u32,
    pub submitted_iso: String,
    pub submitted_utc: String,
    pub completed_iso: String,
    pub completed_utc: String,
    /// For free users with results in their window: when it ends.
    pub until_epoch: i64,
    pub until_iso: String,
    pub until_utc: String,
    pub seconds_left: i64,
    pub failure_reason: String,
    pub warnings: Vec<String>,
    pub has_log: bool,
    /// How often the page asks for news, ms (0: nothing will change by
    /// itself, except a countdown reaching zero).
    pub poll_ms: u32,
    /// A short label for the job list.
    pub results_label: &'static str,
}

pub fn phase(job: &Job, user: &User, window_secs: i64, now: i64) -> Phase {
    match job.job_status {
        JobStatus::Pending => Phase::Queued,
        JobStatus::Running => Phase::Running,
        JobStatus::Failed => Phase::Failed,
        // The paywall rule is the domain's: the page shows what a download
        // would answer now.
        JobStatus::Completed => match results_access(job, user, window_secs, now) {
            Ok(()) => Phase::Ready,
            // A completed job without a results key is not one the runner
            // leaves; its download says so.
            Err(refusal) => Phase::of_refusal(refusal).unwrap_or(Phase::Ready),
        },
    }
}

pub fn view(job: &Job, user: &User, window_secs: i64) -> JobView {
    let now = now_epoch();
    let phase = phase(job, user, window_secs, now);
    let until = match (phase, user.role) {
        (Phase::Ready, Role::Free) => download_until(job, user.role, window_secs),
        _ => None,
    };
    let (completed_iso, completed_utc) = job
        .complete_time
        .map(|t| (iso_time(t), utc_time(t)))
        .unwrap_or_default();
    JobView {
        id: job.job_id.clone(),
        file_name: job.input_file_name.clone(),
        status: job.job_status.as_str(),
        phase,
        progress_pct: (job.progress.clamp(0.0, 1.0) * 100.0).round() as u32,
        submitted_iso: iso_time(job.submit_time),
        submitted_utc: utc_time(job.submit_time),
        completed_iso,
        completed_utc,
        until_epoch: until.unwrap_or(0),
        until_iso: until.map(iso_time).unwrap_or_default(),
        until_utc: until.map(utc_time).unwrap_or_default(),
        seconds_left: until.map(|u| (u - now).max(0)).unwrap_or(0),
        failure_reason: job.failure_reason.clone().unwrap_or_default(),
        warnings: job
            .annotation_warnings
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        has_log: job.s3_key_log_file.is_some(),
        poll_ms: match phase {
            Phase::Queued | Phase::Running => 1000,
            Phase::Restoring => 2000,
            Phase::Failed | Phase::Ready | Phase::Upgrade => 0,
        },
        results_label: match phase {
            Phase::Queued => "Waiting",
            Phase::Running => "Annotating",
            Phase::Failed => "—",
            Phase::Ready => "Ready to download",
            Phase::Upgrade => "Archived (upgrade to download)",
            Phase::Restoring => "Restoring",
        },
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
    fn phases_follow_plan_window_and_archive() {
        let (free, premium) = (user(Role::Free), user(Role::Premium));
        let job = completed(1000);
        assert_eq!(phase(&job, &free, 300, 1299), Phase::Ready);
        assert_eq!(
            phase(&job, &free, 300, 1300),
            Phase::Upgrade,
            "the due second is over"
        );
        assert_eq!(phase(&job, &premium, 300, 9999), Phase::Ready);
        let mut archived = job.clone();
        archived.results_file_archive_id = Some("a".into());
        assert_eq!(phase(&archived, &free, 300, 1001), Phase::Upgrade);
        assert_eq!(phase(&archived, &premium, 300, 1001), Phase::Restoring);
        let mut pending = job;
        pending.job_status = JobStatus::Pending;
        assert_eq!(phase(&pending, &free, 300, 0), Phase::Queued);
    }
}
