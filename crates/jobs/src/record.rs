//! The records: a job (attribute names of the original GAS, DESIGN
//! section 4) and a user profile.

use serde::{Deserialize, Serialize};

/// Where a job is in its life. Transitions only move forward:
/// PENDING → RUNNING → COMPLETED | FAILED (PENDING → FAILED for inputs that
/// cannot be read at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => JobStatus::Pending,
            "RUNNING" => JobStatus::Running,
            "COMPLETED" => JobStatus::Completed,
            "FAILED" => JobStatus::Failed,
            _ => return None,
        })
    }
}

/// One annotation job. Field names are the original GAS attribute names
/// (DESIGN section 4) so that tables and tooling carry over; the fields after
/// `results_file_archive_id` are ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub user_id: String,
    pub input_file_name: String,
    pub s3_inputs_bucket: String,
    pub s3_key_input_file: String,
    /// Epoch seconds.
    pub submit_time: i64,
    pub job_status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_results_bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_result_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_log_file: Option<String>,
    /// Epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_time: Option<i64>,
    /// Set once the results live in cold storage (the results blob is then
    /// deleted); cleared when a restore has copied them back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_file_archive_id: Option<String>,
    /// The archive timer's execution (Step Functions execution ARN on AWS)
    /// while one is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_execution_id: Option<String>,
    /// The cold-storage retrieval under way for a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_job_id: Option<String>,
    /// Why the job failed, in words a user can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// What the annotator warned about (one warning a line), e.g. an input
    /// on another assembly than the reference tracks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_warnings: Option<String>,
    /// Fraction of the input read, 0..=1.
    #[serde(default)]
    pub progress: f64,
    /// Until when the runner that claimed the job holds it (epoch seconds).
    /// A RUNNING job whose lease ran out is claimable again: its runner died.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires: Option<i64>,
    /// When the free download window started again after the job completed
    /// (epoch seconds): a premium user who became free gets a fresh window
    /// for each hot result. `None`: the window starts at `complete_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_started: Option<i64>,
    /// When the job's request was last published again because the job
    /// stayed PENDING too long (epoch seconds): the first request may have
    /// been lost to a crash between recording the job and queueing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeued_at: Option<i64>,
    /// The version of the input that was checked when the job was
    /// submitted (the object's etag, as the inputs store's `stat` gave it):
    /// the runner reads only that version, so an input replaced after its
    /// check (a browser's upload form can be posted again while it is
    /// valid) fails the job instead of running unchecked bytes. `None`: the
    /// input never left the service's hands before the job existed (an
    /// upload streamed through the web service), so there is nothing to pin.
    ///
    /// Not in the record's JSON, which is what the API shows: this is
    /// bookkeeping between the stores, the web service and the runner.
    #[serde(skip)]
    pub input_etag: Option<String>,
    /// Set together with `results_file_archive_id` when the job's variant
    /// index (`keys::variants_key`) was archived beside its results, as an
    /// archive of its own (its blob is then deleted too); cleared with it
    /// once a restore has copied both back. `None` on an archived job: it
    /// had no index, or was archived before indexes followed the results
    /// (its index, if any, stayed hot).
    ///
    /// Not in the record's JSON (bookkeeping of the archive and restore
    /// steps; `results_file_archive_id` already says where the results are).
    #[serde(skip)]
    pub variants_archive_id: Option<String>,
    /// The cold-storage retrieval of the index's archive during a restore,
    /// beside `retrieval_job_id` (the results'). Not in the record's JSON.
    #[serde(skip)]
    pub variants_retrieval_job_id: Option<String>,
}

impl Job {
    /// A new PENDING job for an uploaded input.
    pub fn new_pending(
        job_id: impl Into<String>,
        user_id: impl Into<String>,
        input_file_name: impl Into<String>,
        inputs_bucket: impl Into<String>,
        input_key: impl Into<String>,
        submit_time: i64,
    ) -> Self {
        Job {
            job_id: job_id.into(),
            user_id: user_id.into(),
            input_file_name: input_file_name.into(),
            s3_inputs_bucket: inputs_bucket.into(),
            s3_key_input_file: input_key.into(),
            submit_time,
            job_status: JobStatus::Pending,
            s3_results_bucket: None,
            s3_key_result_file: None,
            s3_key_log_file: None,
            complete_time: None,
            results_file_archive_id: None,
            archive_execution_id: None,
            retrieval_job_id: None,
            failure_reason: None,
            annotation_warnings: None,
            progress: 0.0,
            lease_expires: None,
            window_started: None,
            requeued_at: None,
            input_etag: None,
            variants_archive_id: None,
            variants_retrieval_job_id: None,
        }
    }

    /// When the job's current free download window started: a restarted
    /// window's start, else the completion time (`None` before completion).
    pub fn window_start(&self) -> Option<i64> {
        self.window_started.or(self.complete_time)
    }

    /// The parts of the job's state that transition conditions look at, for
    /// [`crate::StoreError::ConditionFailed`] messages (every adapter words
    /// them the same way).
    pub(crate) fn describe_state(&self) -> String {
        let mut s = self.job_status.as_str().to_string();
        if let Some(lease) = self.lease_expires {
            s.push_str(&format!(", lease until {lease}"));
        }
        if let Some(at) = self.requeued_at {
            s.push_str(&format!(", requeued at {at}"));
        }
        match &self.results_file_archive_id {
            Some(a) => s.push_str(&format!(", archive id {a}")),
            None => s.push_str(", no archive id"),
        }
        if let Some(r) = &self.retrieval_job_id {
            s.push_str(&format!(", retrieval {r}"));
        }
        if let Some(a) = &self.variants_archive_id {
            s.push_str(&format!(", index archive id {a}"));
        }
        if let Some(r) = &self.variants_retrieval_job_id {
            s.push_str(&format!(", index retrieval {r}"));
        }
        if let Some(e) = &self.archive_execution_id {
            s.push_str(&format!(", archive timer {e}"));
        }
        s
    }
}

/// What a runner records when a job completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub results_bucket: String,
    pub result_key: String,
    pub log_key: String,
    pub complete_time: i64,
    /// The annotator's warnings, one a line; `None` when there were none.
    pub warnings: Option<String>,
}

/// A user's plan. Free users lose hot access to results after the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Free,
    Premium,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Free => "free",
            Role::Premium => "premium",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "free" | "free_user" => Some(Role::Free),
            "premium" | "premium_user" => Some(Role::Premium),
            _ => None,
        }
    }
}

/// A user profile. Secrets are stored only as hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    /// Epoch seconds.
    pub created_at: i64,
    /// PHC string (argon2id), if the user can sign in with a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// Hex SHA-256 of the user's API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_sha256: Option<String>,
}

/// A signed-in browser session. The cookie carries a random secret; the
/// store keeps only its SHA-256 (hex), so a copy of the store signs no one in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub session_sha256: String,
    pub user_id: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds; the session ends then.
    pub expires_at: i64,
}

/// One of a user's API tokens. The token is shown once when it is made;
/// the store keeps its SHA-256 (hex) and what the user named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// A public id, to list and revoke the token by.
    pub token_id: String,
    pub user_id: String,
    pub name: String,
    pub token_sha256: String,
    /// Epoch seconds.
    pub created_at: i64,
}

/// Failed sign-ins of one user since the last successful one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInFailures {
    pub count: u32,
    /// Epoch seconds of the latest failure.
    pub last_at: Option<i64>,
}

/// A user's sign-in at an OpenID Connect provider: the provider's issuer
/// URL and its stable subject id for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    /// Epoch seconds.
    pub created_at: i64,
}
