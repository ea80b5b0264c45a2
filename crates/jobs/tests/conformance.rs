//! Runs the conformance suite on the SQLite adapters, each check on its own
//! database file, plus what only a shared file can show: stores in separate
//! connections race on the same job and exactly one wins.

use std::path::PathBuf;
use std::sync::Arc;

use gas_jobs::conformance as suite;
use gas_jobs::sqlite::{SqliteJobStore, SqliteUserStore};
use gas_jobs::{Job, JobStatus, JobStore, StoreError, UserStore};

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn temp_db() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gas.sqlite");
    Db { _dir: dir, path }
}

macro_rules! job_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let db = temp_db();
            let store = SqliteJobStore::open(&db.path).expect("open job store");
            suite::$name(&store).await;
        }
    )*};
}

macro_rules! user_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let db = temp_db();
            let store = SqliteUserStore::open(&db.path).expect("open user store");
            suite::$name(&store).await;
        }
    )*};
}

job_checks!(
    create_and_get,
    create_duplicate_is_refused,
    claim_once,
    claim_after_lease_expiry,
    record_progress_only_while_running,
    complete_only_from_running,
    fail_from_pending_or_running,
    execution_id,
    record_archive_conditions,
    record_retrieval_conditions,
    clear_retrieval_conditions,
    clear_archive_conditions,
    index_archive_conditions,
    missing_jobs_are_not_found,
    list_pages_newest_first,
    list_only_own_jobs,
    list_bad_cursor,
    list_clamps_limit,
    restart_window_conditions,
    input_etag_is_kept,
);

user_checks!(
    user_create_and_find,
    user_duplicates_are_refused,
    user_set_role,
    user_set_token_replaces_old,
    user_set_password_hash,
    user_missing,
    sessions_find_until_expiry,
    sessions_are_deleted_everywhere,
    session_needs_a_user,
    tokens_add_list_revoke,
    tokens_share_one_space,
    sign_in_failures_count_and_reset,
    payment_events_are_recorded_once,
    identities_link_once,
);

/// Both suites at once on one shared file, as the services use it, and the
/// in-memory stores.
#[tokio::test]
async fn whole_suites_share_one_file() {
    let db = temp_db();
    let jobs = SqliteJobStore::open(&db.path).expect("open job store");
    let users = SqliteUserStore::from_sqlite(jobs.sqlite().clone())
        .await
        .expect("user store on the same connection");
    suite::job_store_suite(&jobs).await;
    suite::user_store_suite(&users).await;

    // A second opening of the file sees what the first wrote.
    let reopened = SqliteUserStore::open(&db.path).expect("reopen");
    suite::user_store_suite(&reopened).await;

    suite::job_store_suite(&SqliteJobStore::open_in_memory().expect("in memory")).await;
    suite::user_store_suite(&SqliteUserStore::open_in_memory().expect("in memory")).await;
}

/// Two runners with their own connections claim the same jobs at the same
/// moment: every job has exactly one winner, the loser sees ConditionFailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_have_one_winner() {
    let db = temp_db();
    let a: Arc<dyn JobStore> = Arc::new(SqliteJobStore::open(&db.path).expect("open a"));
    let b: Arc<dyn JobStore> = Arc::new(SqliteJobStore::open(&db.path).expect("open b"));
    let now = 1_700_000_000;
    for round in 0..25 {
        let job_id = format!("race-{round}");
        a.create(&Job::new_pending(
            &job_id, "u1", "in.vcf", "inputs", "k", now,
        ))
        .await
        .expect("create");
        let (ra, rb) = tokio::join!(
            spawn_claim(Arc::clone(&a), job_id.clone(), now, now + 100),
            spawn_claim(Arc::clone(&b), job_id.clone(), now, now + 200),
        );
        let winners: Vec<Job> = [ra, rb]
            .into_iter()
            .filter_map(|r| match r {
                Ok(job) => Some(job),
                Err(StoreError::ConditionFailed(_)) => None,
                Err(e) => panic!("claim of {job_id} failed unexpectedly: {e:?}"),
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {} winners", winners.len());
        let stored = b.get(&job_id).await.expect("get").expect("job");
        assert_eq!(stored.job_status, JobStatus::Running);
        assert_eq!(stored.lease_expires, winners[0].lease_expires);
    }
}

async fn spawn_claim(
    store: Arc<dyn JobStore>,
    job_id: String,
    now: i64,
    lease_until: i64,
) -> Result<Job, StoreError> {
    tokio::spawn(async move { store.claim(&job_id, now, lease_until).await })
        .await
        .expect("claim task")
}

/// Users written through one connection are visible through another.
#[tokio::test]
async fn users_are_shared_between_connections() {
    let db = temp_db();
    let one = SqliteUserStore::open(&db.path).expect("open");
    let two = SqliteUserStore::open(&db.path).expect("open");
    let user = gas_jobs::User {
        user_id: "u-shared".into(),
        email: "Shared@Example.org".into(),
        role: gas_jobs::Role::Free,
        created_at: 1,
        password_hash: None,
        api_token_sha256: Some("abc".into()),
    };
    one.create(&user).await.expect("create");
    assert_eq!(
        two.find_by_email("shared@example.org").await.expect("find"),
        Some(user)
    );
}

/// A file made before `window_started` existed gets the column when a store
/// opens it, and its jobs read back and restart their windows.
#[tokio::test]
async fn an_older_file_gains_the_window_column() {
    let db = temp_db();
    {
        let conn = gas_sqlite::rusqlite::Connection::open(&db.path).expect("open");
        conn.execute_batch(
            "CREATE TABLE jobs (
                job_id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL,
                input_file_name TEXT NOT NULL, s3_inputs_bucket TEXT NOT NULL,
                s3_key_input_file TEXT NOT NULL, submit_time INTEGER NOT NULL,
                job_status TEXT NOT NULL, s3_results_bucket TEXT, s3_key_result_file TEXT,
                s3_key_log_file TEXT, complete_time INTEGER, results_file_archive_id TEXT,
                archive_execution_id TEXT, retrieval_job_id TEXT, failure_reason TEXT,
                progress REAL NOT NULL DEFAULT 0, lease_expires INTEGER, annotation_warnings TEXT);
             INSERT INTO jobs (job_id, user_id, input_file_name, s3_inputs_bucket,
                s3_key_input_file, submit_time, job_status, s3_results_bucket,
                s3_key_result_file, complete_time, progress)
             VALUES ('old-job', 'u1', 'in.vcf', 'inputs', 'k', 1, 'COMPLETED', 'results', 'r', 5, 1);",
        )
        .expect("an older schema");
    }
    let store = SqliteJobStore::open(&db.path).expect("open an older file");
    let job = store.get("old-job").await.expect("get").expect("job");
    assert_eq!(job.window_started, None);
    assert_eq!(job.window_start(), Some(5));
    let restarted = store
        .restart_window("old-job", 50, "exec")
        .await
        .expect("restart_window");
    assert_eq!(restarted.window_started, Some(50));
    // Opening again (the column now there) is fine too.
    SqliteJobStore::open(&db.path).expect("reopen");
}

/// A file made before `input_etag` existed (with every column before it)
/// gets the column when a store opens it: its jobs read back without an
/// etag, run their transitions, and new jobs keep theirs.
#[tokio::test]
async fn an_older_file_gains_the_input_etag_column() {
    let db = temp_db();
    {
        let conn = gas_sqlite::rusqlite::Connection::open(&db.path).expect("open");
        conn.execute_batch(
            "CREATE TABLE jobs (
                job_id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL,
                input_file_name TEXT NOT NULL, s3_inputs_bucket TEXT NOT NULL,
                s3_key_input_file TEXT NOT NULL, submit_time INTEGER NOT NULL,
                job_status TEXT NOT NULL, s3_results_bucket TEXT, s3_key_result_file TEXT,
                s3_key_log_file TEXT, complete_time INTEGER, results_file_archive_id TEXT,
                archive_execution_id TEXT, retrieval_job_id TEXT, failure_reason TEXT,
                progress REAL NOT NULL DEFAULT 0, lease_expires INTEGER, annotation_warnings TEXT,
                window_started INTEGER, requeued_at INTEGER);
             INSERT INTO jobs (job_id, user_id, input_file_name, s3_inputs_bucket,
                s3_key_input_file, submit_time, job_status)
             VALUES ('old-pending', 'u1', 'in.vcf', 'inputs', 'k', 1, 'PENDING');",
        )
        .expect("an older schema");
    }
    let store = SqliteJobStore::open(&db.path).expect("open an older file");
    let job = store.get("old-pending").await.expect("get").expect("job");
    assert_eq!(job.input_etag, None);
    let claimed = store.claim("old-pending", 2, 100).await.expect("claim");
    assert_eq!(claimed.input_etag, None);

    let mut new = Job::new_pending("new-job", "u1", "in.vcf", "inputs", "k2", 3);
    new.input_etag = Some("\"abc\"".into());
    store.create(&new).await.expect("create");
    assert_eq!(store.get("new-job").await.expect("get"), Some(new));
    SqliteJobStore::open(&db.path).expect("reopen");
}
