//! The ports of job records and user profiles, with their contracts.
//!
//! Services hold them as `Arc<dyn JobStore>` / `Arc<dyn UserStore>`; every
//! adapter passes [`crate::conformance`].

use async_trait::async_trait;

use crate::{ApiToken, Completion, IdentityLink, Job, Role, Session, SignInFailures, User};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A conditional write found the record in another state; the message
    /// says which condition failed. Callers re-read and decide.
    #[error("condition failed: {0}")]
    ConditionFailed(String),
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error("job store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// One page of a listing; `next` is an opaque cursor for the following page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Durable job records.
///
/// Contract, for every adapter:
/// - Reads are strongly consistent: a read after a successful write sees it.
/// - Every state change is one atomic conditional write; when its condition
///   does not hold the record is unchanged and the call returns
///   [`StoreError::ConditionFailed`]. A missing job is [`StoreError::NotFound`].
/// - Each successful change returns the record as it is after the change.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a new job; [`StoreError::AlreadyExists`] if the id is taken.
    async fn create(&self, job: &Job) -> Result<(), StoreError>;

    async fn get(&self, job_id: &str) -> Result<Option<Job>, StoreError>;

    /// The user's jobs, newest `submit_time` first (ties by `job_id`,
    /// descending), `limit` (1..=100) a page; `cursor` is a previous page's
    /// `next`. A cursor from elsewhere is [`StoreError::BadCursor`].
    async fn list_for_user(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Job>, StoreError>;

    /// PENDING → RUNNING, or RUNNING whose lease ran out (`lease_expires <
    /// now`, or no lease at all) → RUNNING with a new lease; progress starts
    /// again at 0. This is what stops two runners from taking the same job.
    async fn claim(&self, job_id: &str, now: i64, lease_until: i64) -> Result<Job, StoreError>;

    /// Records progress (0..=1) and extends the lease; only while RUNNING.
    async fn record_progress(
        &self,
        job_id: &str,
        progress: f64,
        lease_until: i64,
    ) -> Result<Job, StoreError>;

    /// Takes on requeueing a job that may never have been queued: records
    /// `requeued_at = now` when the job is PENDING, was submitted at or
    /// before `stalled_before`, and was not requeued after `stalled_before`.
    /// The caller then publishes the job's request again (a duplicate
    /// request is a normal input: only one claim succeeds). Of callers
    /// racing on one job only one succeeds; the others get ConditionFailed.
    async fn mark_requeued(
        &self,
        job_id: &str,
        now: i64,
        stalled_before: i64,
    ) -> Result<Job, StoreError>;

    /// RUNNING → COMPLETED with the result locations; progress becomes 1.
    async fn complete(&self, job_id: &str, completion: &Completion) -> Result<Job, StoreError>;

    /// PENDING or RUNNING → FAILED with a reason for the user and, when one
    /// was written, the log's key.
    async fn fail(
        &self,
        job_id: &str,
        reason: &str,
        log_key: Option<&str>,
        complete_time: i64,
    ) -> Result<Job, StoreError>;

    /// Records the pending archive timer of a COMPLETED job.
    async fn set_execution_id(&self, job_id: &str, execution_id: &str) -> Result<Job, StoreError>;

    /// Forgets the archive timer (fired or stopped); idempotent.
    async fn clear_execution_id(&self, job_id: &str) -> Result<Job, StoreError>;

    /// Records where a COMPLETED job's results were archived, with no index
    /// archive: [`JobStore::record_archives`] with `None`.
    async fn record_archive(&self, job_id: &str, archive_id: &str) -> Result<Job, StoreError> {
        self.record_archives(job_id, archive_id, None).await
    }

    /// Records where a COMPLETED job's results were archived and, when its
    /// variant index was archived beside them, where that went
    /// (`variants_archive_id`), in one write. Holds when no archive id is
    /// recorded yet, or the same pair is (a repeated delivery); otherwise
    /// ConditionFailed and nothing changes: the caller made duplicate
    /// archives and must delete those the record does not name.
    async fn record_archives(
        &self,
        job_id: &str,
        archive_id: &str,
        variants_archive_id: Option<&str>,
    ) -> Result<Job, StoreError>;

    /// Records the retrieval started for a restore. Holds when `archive_id`
    /// is the recorded archive and no other retrieval is recorded (the same
    /// one again is fine).
    async fn record_retrieval(
        &self,
        job_id: &str,
        archive_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError>;

    /// Forgets a retrieval that failed or expired, so a restore can start
    /// another. Holds only while `retrieval_job_id` is the recorded one.
    async fn clear_retrieval(
        &self,
        job_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError>;

    /// [`JobStore::record_retrieval`] for the index's archive: holds when
    /// `variants_archive_id` is the recorded index archive and no other
    /// index retrieval is recorded (the same one again is fine).
    async fn record_variants_retrieval(
        &self,
        job_id: &str,
        variants_archive_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError>;

    /// [`JobStore::clear_retrieval`] for the index's retrieval: holds only
    /// while `retrieval_job_id` is the recorded index retrieval.
    async fn clear_variants_retrieval(
        &self,
        job_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError>;

    /// The results (and the index, if it was archived) are hot again: clears
    /// both archive ids and both retrievals in one write. Holds only while
    /// `archive_id` is the recorded results archive.
    async fn clear_archive(&self, job_id: &str, archive_id: &str) -> Result<Job, StoreError>;

    // --- fresh free windows (a premium user became free) ---

    /// Starts a new free download window for a COMPLETED job whose results
    /// are hot (no archive id) and that has no pending archive timer:
    /// records `window_started` and the new timer's `execution_id` in one
    /// conditional write. Otherwise ConditionFailed and nothing changes: the
    /// job is archived (or restoring), or another window's timer is pending
    /// (so a repeated downgrade does not move a window it already started).
    async fn restart_window(
        &self,
        job_id: &str,
        window_started: i64,
        execution_id: &str,
    ) -> Result<Job, StoreError>;
}

/// User profiles, with what signing in needs: browser sessions, API tokens
/// and the counts of recent failed sign-ins (under the caller's keys).
///
/// Contract: emails are unique (compared case-insensitively), and so are API
/// token hashes (a user's legacy `api_token_sha256` and every [`ApiToken`]
/// share one space) and session hashes; reads are strongly consistent, so a
/// session deleted through one process is gone for every other at once.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// [`StoreError::AlreadyExists`] if the user id or email is taken.
    async fn create(&self, user: &User) -> Result<(), StoreError>;
    async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError>;
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    async fn find_by_token(&self, api_token_sha256: &str) -> Result<Option<User>, StoreError>;
    async fn set_role(&self, user_id: &str, role: Role) -> Result<User, StoreError>;
    /// Replaces the user's API token hash (the old token stops working).
    async fn set_token(&self, user_id: &str, api_token_sha256: &str) -> Result<User, StoreError>;
    async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
    ) -> Result<User, StoreError>;

    /// Stores a new session of an existing user ([`StoreError::NotFound`]
    /// otherwise); [`StoreError::AlreadyExists`] if the hash is taken.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The user of the session with this hash while `now < expires_at`;
    /// `None` for an unknown, deleted or expired session.
    async fn find_session(
        &self,
        session_sha256: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError>;

    /// Ends a session; idempotent.
    async fn delete_session(&self, session_sha256: &str) -> Result<(), StoreError>;

    /// Adds an API token to an existing user ([`StoreError::NotFound`]
    /// otherwise); [`StoreError::AlreadyExists`] if its hash is taken by any
    /// token, added or legacy. [`UserStore::find_by_token`] finds it from then on.
    async fn add_token(&self, token: &ApiToken) -> Result<(), StoreError>;

    /// The user's added tokens, oldest first (the legacy token is not listed).
    async fn list_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes the user's token `token_id`: `true` if it was theirs and is
    /// now gone, `false` if they have no such token (another user's token is
    /// left alone). Idempotent.
    async fn revoke_token(&self, user_id: &str, token_id: &str) -> Result<bool, StoreError>;

    /// The failed sign-ins counted under `key` since the last success (zero
    /// for a key with none). `key` is the caller's throttle key, any string
    /// (the web app's is a hash of an email and a client address); it need
    /// not name a user, and keys are independent of each other and of users.
    async fn sign_in_failures(&self, key: &str) -> Result<SignInFailures, StoreError>;

    /// Counts one failed sign-in under the throttle key `key` at `now`: the
    /// count goes up by one when the previous failure was at or after
    /// `now - window_secs`, else starts again at one. Returns the counts
    /// after it, from the same atomic write, so that a caller may count an
    /// attempt first and let the count decide whether to check it.
    /// Concurrent calls each count (none is lost). A record whose last
    /// failure is more than `window_secs` old is worth nothing, and the
    /// adapter removes it in time (an expiry on the item, or a prune when
    /// failures are recorded), so records do not pile up.
    async fn record_sign_in_failure(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<SignInFailures, StoreError>;

    /// Forgets the failed sign-ins under `key` (after a successful one);
    /// idempotent.
    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError>;

    // --- identity links (OpenID Connect sign-in) ---

    /// Links an identity provider's subject to an existing user
    /// ([`StoreError::NotFound`] otherwise). One (issuer, subject) belongs
    /// to one user: [`StoreError::AlreadyExists`] if it is linked already,
    /// to anyone. A user may have several links.
    async fn link_identity(&self, link: &IdentityLink) -> Result<(), StoreError>;

    /// The user linked to `subject` at `issuer`, if any.
    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError>;

    // --- payment provider events (Stripe webhooks) ---

    /// Whether the payment provider's event `event_id` was recorded as
    /// handled (by [`UserStore::record_event`], in any process).
    async fn event_recorded(&self, event_id: &str) -> Result<bool, StoreError>;

    /// Records that event `event_id` was handled, at `now` (epoch seconds):
    /// `true` the first time, `false` when it was recorded already (one
    /// atomic conditional write, so of two concurrent calls exactly one gets
    /// `true`). Records may be forgotten after 30 days, long after the
    /// provider stops retrying and its signatures' tolerance has passed.
    async fn record_event(&self, event_id: &str, now: i64) -> Result<bool, StoreError>;
}
