use gas_jobs::{Job, JobStatus, Role};
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

/// Until when a free user may download (epoch seconds); `None` for premium
/// users and unfinished jobs.
pub fn download_until(job: &Job, role: Role, window_secs: i64) -> Option<i64> {
    match role {
        Role::Premium => None,
        Role::Free => job.complete_time.map(|t| t + window_secs),
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
    map.remove("lease_expires");
    map.insert("results_state".into(), results_state(job).into());
    if let Some(until) = download_until(job, role, window_secs) {
        map.insert("download_until".into(), until.into());
    }
    Value::Object(map)
}
