//! The JSON bodies the services exchange through topics and queues (DESIGN
//! section 4, "Messages"). They keep the original GAS field names so that
//! either side can be replaced independently.

use serde::{Deserialize, Serialize};

use crate::Job;

/// web → requests topic → ann: run this job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub job_id: String,
    pub user_id: String,
    pub input_file_name: String,
    pub s3_inputs_bucket: String,
    pub s3_key_input_file: String,
    pub submit_time: i64,
}

impl From<&Job> for JobRequest {
    fn from(job: &Job) -> Self {
        JobRequest {
            job_id: job.job_id.clone(),
            user_id: job.user_id.clone(),
            input_file_name: job.input_file_name.clone(),
            s3_inputs_bucket: job.s3_inputs_bucket.clone(),
            s3_key_input_file: job.s3_key_input_file.clone(),
            submit_time: job.submit_time,
        }
    }
}

/// ann → results topic → notify: a job finished (COMPLETED or FAILED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobComplete {
    pub job_id: String,
    pub user_id: String,
    pub complete_time: i64,
    #[serde(default)]
    pub job_status: Option<crate::JobStatus>,
    #[serde(default)]
    pub input_file_name: Option<String>,
}

/// timer → archive topic → util: the free window of this job is over.
/// Also the Step Functions execution input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRequest {
    pub job_id: String,
    /// The restarted window this timer ends (the job's `window_started` when
    /// it was started); absent for the window that starts at completion.
    /// util archives only when it is still the job's window, so a timer of
    /// an earlier window cannot cut a fresh one short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_started: Option<i64>,
}

impl ArchiveRequest {
    /// The archive timer's name for this request. Timer names are
    /// idempotent for the life of the timer store (as Step Functions
    /// execution names are), so each window needs its own: the job id for
    /// the window that starts at completion, `<job_id>-w<window_started>`
    /// for a restarted one.
    pub fn timer_name(&self) -> String {
        match self.window_started {
            None => self.job_id.clone(),
            Some(start) => format!("{}-w{start}", self.job_id),
        }
    }
}

/// web → restore topic → util: this user became premium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    pub user_id: String,
}
