use axum::http::StatusCode;
use gas_jobs::{now_epoch, Job, JobStatus, Role, User};

use crate::error::ApiError;
use crate::WebState;
use serde_json::{Map, Value};

/// Where a completed job's results are: `available` (hot), `archived`
/// (cold, no restore yet) or `restoring` (a retrieval is under way).
pub fn results_state(job: &Job) -> Option<&'static str> {
    if job.job_status != JobStatus::Completed {
        return None;
    }
    Some(
        match (&job.results_file_archive_id, &job.retrieval_job_id) {
            (None, _) => "available",
            (Some(_), None) => "archived",
            (Some(_), Some(_)) => "restoring",
        },
    )
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

/// The job as the API shows it: the record's attribute names (DESIGN
/// section 4) plus `results_state` and `download_until`, without the
/// runner's internal lease.
pub fn job_json(job: &Job, role: Role, window_secs: i64) -> Value {
    let mut map = match serde_json::to_value(job) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    // Bookkeeping of the runners and of requeueing, not the user's business.
    map.remove("lease_expires");
    map.remove("requeued_at");
    map.insert("results_state".into(), results_state(job).into());
    if let Some(until) = download_until(job, role, window_secs) {
        map.insert("download_until".into(), until.into());
    }
    Value::Object(map)
}

/// A short-lived URL of the job's results for `user`, or why they cannot
/// have one now (`not_ready`, `upgrade`, `restoring`). The API and the pages
/// both answer with this.
pub async fn results_url(state: &WebState, user: &User, job: &Job) -> Result<String, ApiError> {
    let window = state.settings.free_access_window.as_secs() as i64;
    let Some(result_key) = job
        .s3_key_result_file
        .as_deref()
        .filter(|_| job.job_status == JobStatus::Completed)
    else {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "the job is {}; results exist only once it completes",
                job.job_status.as_str()
            ),
        ));
    };
    if user.role == Role::Free {
        let until = download_until(job, user.role, window);
        let window_over = until.is_some_and(|until| now_epoch() >= until);
        // Archived means the window is over, whatever the clocks say.
        if window_over || job.results_file_archive_id.is_some() {
            return Err(ApiError::refused(
                StatusCode::FORBIDDEN,
                "upgrade",
                "the free download window for these results is over; upgrade to premium to get them back",
            ));
        }
    }
    match results_state(job) {
        Some("available") => {}
        Some("restoring") => {
            return Err(ApiError::refused(
                StatusCode::CONFLICT,
                "restoring",
                "the results are being restored from cold storage; try again later",
            ))
        }
        _ => {
            return Err(ApiError::refused(
                StatusCode::CONFLICT,
                "restoring",
                "the results are in cold storage; a restore will start shortly",
            ))
        }
    }
    let file_name = result_key.rsplit('~').next().unwrap_or("results.vcf");
    Ok(state
        .ports
        .results
        .download_url(result_key, state.settings.download_ttl, file_name)
        .await?)
}
