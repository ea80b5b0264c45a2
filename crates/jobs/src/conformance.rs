//! The conformance suite every [`JobStore`] and [`UserStore`] adapter passes.
//!
//! Why a suite of plain async functions: the same checks must run on the
//! embedded SQLite adapters in every `cargo test` and on the DynamoDB adapter
//! against an emulator, so that a local adapter cannot quietly do less than
//! the cloud one. Each function takes the port as a trait object, panics
//! with a message naming the broken rule, and makes its own unique ids so
//! that all of them can share one table (and run concurrently).
//!
//! Run everything with [`job_store_suite`] and [`user_store_suite`], or call
//! the functions one by one to get one test per rule.

use crate::{
    ApiToken, Completion, IdentityLink, Job, JobStatus, JobStore, Role, Session, StoreError, User,
    UserStore,
};

/// A fixed point in time for records made by the suite (epoch seconds).
const T0: i64 = 1_700_000_000;

/// Runs every job store check.
pub async fn job_store_suite(store: &dyn JobStore) {
    create_and_get(store).await;
    create_duplicate_is_refused(store).await;
    claim_once(store).await;
    claim_after_lease_expiry(store).await;
    record_progress_only_while_running(store).await;
    complete_only_from_running(store).await;
    fail_from_pending_or_running(store).await;
    execution_id(store).await;
    record_archive_conditions(store).await;
    record_retrieval_conditions(store).await;
    clear_retrieval_conditions(store).await;
    clear_archive_conditions(store).await;
    index_archive_conditions(store).await;
    missing_jobs_are_not_found(store).await;
    list_pages_newest_first(store).await;
    list_only_own_jobs(store).await;
    list_bad_cursor(store).await;
    list_clamps_limit(store).await;
    restart_window_conditions(store).await;
    requeue_stalled_pending_jobs_once(store).await;
    input_etag_is_kept(store).await;
}

/// Runs every user store check.
pub async fn user_store_suite(store: &dyn UserStore) {
    user_create_and_find(store).await;
    user_duplicates_are_refused(store).await;
    user_set_role(store).await;
    user_set_token_replaces_old(store).await;
    user_set_password_hash(store).await;
    user_missing(store).await;
    sessions_find_until_expiry(store).await;
    sessions_are_deleted_everywhere(store).await;
    session_needs_a_user(store).await;
    tokens_add_list_revoke(store).await;
    tokens_share_one_space(store).await;
    sign_in_failures_count_and_reset(store).await;
    payment_events_are_recorded_once(store).await;
    identities_link_once(store).await;
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

fn pending_job(user_id: &str, submit_time: i64) -> Job {
    let job_id = unique("job");
    Job::new_pending(
        job_id.clone(),
        user_id,
        "sample.vcf",
        "gas-inputs",
        format!("inputs/{user_id}/{job_id}~sample.vcf"),
        submit_time,
    )
}

fn completion(job: &Job) -> Completion {
    Completion {
        results_bucket: "gas-results".into(),
        result_key: format!("results/{}/{}~sample.annot.vcf", job.user_id, job.job_id),
        log_key: format!(
            "results/{}/{}~sample.vcf.count.log",
            job.user_id, job.job_id
        ),
        complete_time: T0 + 60,
        warnings: Some("input says NCBI36 but tracks are GRCh37\nsecond warning".into()),
    }
}

async fn create(store: &dyn JobStore, job: &Job) {
    store
        .create(job)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e:?}", job.job_id));
}

/// A new PENDING job of a fresh user, stored.
async fn new_job(store: &dyn JobStore) -> Job {
    let job = pending_job(&unique("user"), T0);
    create(store, &job).await;
    job
}

/// A new COMPLETED job, stored.
async fn completed_job(store: &dyn JobStore) -> Job {
    let job = new_job(store).await;
    store
        .claim(&job.job_id, T0, T0 + 600)
        .await
        .expect("claim of a PENDING job");
    store
        .complete(&job.job_id, &completion(&job))
        .await
        .expect("complete of a RUNNING job")
}

async fn get(store: &dyn JobStore, job_id: &str) -> Job {
    store
        .get(job_id)
        .await
        .unwrap_or_else(|e| panic!("get {job_id}: {e:?}"))
        .unwrap_or_else(|| panic!("job {job_id} vanished"))
}

#[track_caller]
fn expect_condition_failed<T: std::fmt::Debug>(what: &str, r: Result<T, StoreError>) {
    match r {
        Err(StoreError::ConditionFailed(msg)) => {
            assert!(!msg.is_empty(), "{what}: ConditionFailed without a message")
        }
        other => panic!("{what}: expected ConditionFailed, got {other:?}"),
    }
}

#[track_caller]
fn expect_not_found<T: std::fmt::Debug>(what: &str, r: Result<T, StoreError>) {
    match r {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// A created job reads back field for field, including the optional ones.
pub async fn create_and_get(store: &dyn JobStore) {
    let mut job = pending_job(&unique("user"), T0);
    job.s3_results_bucket = Some("gas-results".into());
    job.failure_reason = Some("none yet".into());
    job.progress = 0.25;
    job.input_etag = Some("\"d41d8cd98f00b204e9800998ecf8427e\"".into());
    job.variants_archive_id = Some("variants-archive".into());
    job.variants_retrieval_job_id = Some("variants-retrieval".into());
    create(store, &job).await;
    assert_eq!(get(store, &job.job_id).await, job, "job read back differs");

    let plain = new_job(store).await;
    assert_eq!(get(store, &plain.job_id).await, plain);
    assert_eq!(
        store
            .get(&unique("missing"))
            .await
            .expect("get of a missing job"),
        None,
        "a missing job must read as None"
    );
}

/// Creating a job id twice is AlreadyExists and keeps the first record.
pub async fn create_duplicate_is_refused(store: &dyn JobStore) {
    let job = new_job(store).await;
    let mut other = job.clone();
    other.input_file_name = "other.vcf".into();
    match store.create(&other).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!(
            "second create of {}: expected AlreadyExists, got {r:?}",
            job.job_id
        ),
    }
    assert_eq!(
        get(store, &job.job_id).await,
        job,
        "duplicate create changed the job"
    );
}

/// PENDING → RUNNING once: a second claim while the lease holds fails.
pub async fn claim_once(store: &dyn JobStore) {
    let job = new_job(store).await;
    let claimed = store
        .claim(&job.job_id, T0, T0 + 600)
        .await
        .expect("claim of a PENDING job");
    assert_eq!(claimed.job_status, JobStatus::Running);
    assert_eq!(claimed.lease_expires, Some(T0 + 600));
    assert_eq!(
        get(store, &job.job_id).await,
        claimed,
        "claim must return the stored record"
    );

    expect_condition_failed(
        "second claim within the lease",
        store.claim(&job.job_id, T0 + 10, T0 + 610).await,
    );
    assert_eq!(
        get(store, &job.job_id).await,
        claimed,
        "failed claim changed the job"
    );
}

/// A RUNNING job whose lease ran out can be claimed again (its runner died),
/// but not a COMPLETED or FAILED one.
pub async fn claim_after_lease_expiry(store: &dyn JobStore) {
    let job = new_job(store).await;
    store
        .claim(&job.job_id, T0, T0 + 100)
        .await
        .expect("first claim");
    store
        .record_progress(&job.job_id, 0.4, T0 + 100)
        .await
        .expect("record_progress");
    expect_condition_failed(
        "claim at the lease's last second",
        store.claim(&job.job_id, T0 + 100, T0 + 200).await,
    );
    let again = store
        .claim(&job.job_id, T0 + 101, T0 + 701)
        .await
        .expect("claim of a RUNNING job whose lease ran out");
    assert_eq!(again.job_status, JobStatus::Running);
    assert_eq!(
        again.lease_expires,
        Some(T0 + 701),
        "a new claim sets the new lease"
    );
    assert_eq!(again.progress, 0.0, "a new claim starts progress again");

    let done = completed_job(store).await;
    expect_condition_failed(
        "claim of a COMPLETED job",
        store.claim(&done.job_id, T0 + 10_000, T0 + 20_000).await,
    );
    let failed = new_job(store).await;
    store
        .fail(&failed.job_id, "unreadable input", None, T0)
        .await
        .expect("fail of a PENDING job");
    expect_condition_failed(
        "claim of a FAILED job",
        store.claim(&failed.job_id, T0 + 10_000, T0 + 20_000).await,
    );
}

/// Progress and lease extension only while RUNNING.
pub async fn record_progress_only_while_running(store: &dyn JobStore) {
    let job = new_job(store).await;
    expect_condition_failed(
        "record_progress of a PENDING job",
        store.record_progress(&job.job_id, 0.5, T0 + 900).await,
    );
    store.claim(&job.job_id, T0, T0 + 600).await.expect("claim");
    let after = store
        .record_progress(&job.job_id, 0.5, T0 + 900)
        .await
        .expect("record_progress of a RUNNING job");
    assert!(
        (after.progress - 0.5).abs() < 1e-9,
        "progress not recorded: {}",
        after.progress
    );
    assert_eq!(
        after.lease_expires,
        Some(T0 + 900),
        "record_progress extends the lease"
    );
    assert_eq!(get(store, &job.job_id).await, after);
    // The extended lease protects the job from a claim after the old one.
    expect_condition_failed(
        "claim within an extended lease",
        store.claim(&job.job_id, T0 + 700, T0 + 1300).await,
    );

    let done = completed_job(store).await;
    expect_condition_failed(
        "record_progress of a COMPLETED job",
        store.record_progress(&done.job_id, 0.7, T0 + 900).await,
    );
    assert!((get(store, &done.job_id).await.progress - 1.0).abs() < 1e-9);
}

/// RUNNING → COMPLETED with the result locations; from anything else fails.
pub async fn complete_only_from_running(store: &dyn JobStore) {
    let job = new_job(store).await;
    let c = completion(&job);
    expect_condition_failed(
        "complete of a PENDING job",
        store.complete(&job.job_id, &c).await,
    );
    assert_eq!(get(store, &job.job_id).await.job_status, JobStatus::Pending);

    store.claim(&job.job_id, T0, T0 + 600).await.expect("claim");
    let done = store
        .complete(&job.job_id, &c)
        .await
        .expect("complete of a RUNNING job");
    assert_eq!(done.job_status, JobStatus::Completed);
    assert_eq!(
        done.s3_results_bucket.as_deref(),
        Some(c.results_bucket.as_str())
    );
    assert_eq!(
        done.s3_key_result_file.as_deref(),
        Some(c.result_key.as_str())
    );
    assert_eq!(done.s3_key_log_file.as_deref(), Some(c.log_key.as_str()));
    assert_eq!(done.complete_time, Some(c.complete_time));
    assert_eq!(done.annotation_warnings, c.warnings, "warnings are kept");
    assert!(
        (done.progress - 1.0).abs() < 1e-9,
        "complete sets progress to 1"
    );
    assert_eq!(get(store, &job.job_id).await, done);

    expect_condition_failed("second complete", store.complete(&job.job_id, &c).await);
    expect_condition_failed(
        "fail of a COMPLETED job",
        store.fail(&job.job_id, "late failure", None, T0 + 90).await,
    );
    assert_eq!(
        get(store, &job.job_id).await,
        done,
        "failed transitions changed the job"
    );
}

/// PENDING or RUNNING → FAILED with a reason and optional log key.
pub async fn fail_from_pending_or_running(store: &dyn JobStore) {
    let pending = new_job(store).await;
    let failed = store
        .fail(&pending.job_id, "not a VCF file", None, T0 + 5)
        .await
        .expect("fail of a PENDING job");
    assert_eq!(failed.job_status, JobStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("not a VCF file"));
    assert_eq!(failed.complete_time, Some(T0 + 5));
    assert_eq!(failed.s3_key_log_file, None);
    assert_eq!(get(store, &pending.job_id).await, failed);
    expect_condition_failed(
        "fail of a FAILED job",
        store.fail(&pending.job_id, "again", None, T0 + 6).await,
    );
    expect_condition_failed(
        "complete of a FAILED job",
        store.complete(&pending.job_id, &completion(&pending)).await,
    );

    let running = new_job(store).await;
    store
        .claim(&running.job_id, T0, T0 + 600)
        .await
        .expect("claim");
    let failed = store
        .fail(
            &running.job_id,
            "line 12: bad POS",
            Some("results/x.log"),
            T0 + 7,
        )
        .await
        .expect("fail of a RUNNING job");
    assert_eq!(failed.job_status, JobStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("line 12: bad POS"));
    assert_eq!(failed.s3_key_log_file.as_deref(), Some("results/x.log"));
    assert_eq!(get(store, &running.job_id).await, failed);
}

/// The archive timer's execution id: set on COMPLETED jobs, cleared
/// idempotently.
pub async fn execution_id(store: &dyn JobStore) {
    let pending = new_job(store).await;
    expect_condition_failed(
        "set_execution_id of a PENDING job",
        store.set_execution_id(&pending.job_id, "exec-1").await,
    );

    let job = completed_job(store).await;
    let set = store
        .set_execution_id(&job.job_id, "exec-1")
        .await
        .expect("set_execution_id of a COMPLETED job");
    assert_eq!(set.archive_execution_id.as_deref(), Some("exec-1"));
    assert_eq!(get(store, &job.job_id).await, set);

    let cleared = store
        .clear_execution_id(&job.job_id)
        .await
        .expect("clear_execution_id");
    assert_eq!(cleared.archive_execution_id, None);
    let again = store
        .clear_execution_id(&job.job_id)
        .await
        .expect("clear_execution_id is idempotent");
    assert_eq!(again, cleared);
    assert_eq!(get(store, &job.job_id).await, cleared);
}

/// record_archive: absent → set; the same id again → ok; another id →
/// ConditionFailed and unchanged; only on COMPLETED jobs.
pub async fn record_archive_conditions(store: &dyn JobStore) {
    let running = new_job(store).await;
    store
        .claim(&running.job_id, T0, T0 + 600)
        .await
        .expect("claim");
    expect_condition_failed(
        "record_archive of a RUNNING job",
        store.record_archive(&running.job_id, "arch-x").await,
    );

    let job = completed_job(store).await;
    let a1 = unique("archive");
    let recorded = store
        .record_archive(&job.job_id, &a1)
        .await
        .expect("record_archive when none is recorded");
    assert_eq!(
        recorded.results_file_archive_id.as_deref(),
        Some(a1.as_str())
    );
    assert_eq!(get(store, &job.job_id).await, recorded);

    let again = store
        .record_archive(&job.job_id, &a1)
        .await
        .expect("record_archive of the same id again (a repeated delivery)");
    assert_eq!(again, recorded);

    expect_condition_failed(
        "record_archive of a different id",
        store.record_archive(&job.job_id, &unique("archive")).await,
    );
    assert_eq!(
        get(store, &job.job_id).await,
        recorded,
        "a refused record_archive changed the job"
    );
}

/// record_retrieval holds for the recorded archive with no other retrieval.
pub async fn record_retrieval_conditions(store: &dyn JobStore) {
    let job = completed_job(store).await;
    let archive = unique("archive");
    let r1 = unique("retrieval");
    expect_condition_failed(
        "record_retrieval with no archive recorded",
        store.record_retrieval(&job.job_id, &archive, &r1).await,
    );
    store
        .record_archive(&job.job_id, &archive)
        .await
        .expect("record_archive");

    expect_condition_failed(
        "record_retrieval naming another archive",
        store
            .record_retrieval(&job.job_id, &unique("archive"), &r1)
            .await,
    );
    let recorded = store
        .record_retrieval(&job.job_id, &archive, &r1)
        .await
        .expect("record_retrieval of the recorded archive");
    assert_eq!(recorded.retrieval_job_id.as_deref(), Some(r1.as_str()));
    assert_eq!(
        recorded.results_file_archive_id.as_deref(),
        Some(archive.as_str())
    );
    assert_eq!(get(store, &job.job_id).await, recorded);

    let again = store
        .record_retrieval(&job.job_id, &archive, &r1)
        .await
        .expect("record_retrieval of the same retrieval again");
    assert_eq!(again, recorded);

    expect_condition_failed(
        "record_retrieval while another retrieval is recorded",
        store
            .record_retrieval(&job.job_id, &archive, &unique("retrieval"))
            .await,
    );
    assert_eq!(get(store, &job.job_id).await, recorded);
}

/// clear_retrieval holds only for the recorded retrieval.
pub async fn clear_retrieval_conditions(store: &dyn JobStore) {
    let job = completed_job(store).await;
    let archive = unique("archive");
    let r1 = unique("retrieval");
    store
        .record_archive(&job.job_id, &archive)
        .await
        .expect("record_archive");
    store
        .record_retrieval(&job.job_id, &archive, &r1)
        .await
        .expect("record_retrieval");

    expect_condition_failed(
        "clear_retrieval of another retrieval",
        store
            .clear_retrieval(&job.job_id, &unique("retrieval"))
            .await,
    );
    assert_eq!(
        get(store, &job.job_id).await.retrieval_job_id.as_deref(),
        Some(r1.as_str())
    );

    let cleared = store
        .clear_retrieval(&job.job_id, &r1)
        .await
        .expect("clear_retrieval of the recorded retrieval");
    assert_eq!(cleared.retrieval_job_id, None);
    assert_eq!(
        cleared.results_file_archive_id.as_deref(),
        Some(archive.as_str()),
        "clear_retrieval must keep the archive id"
    );
    assert_eq!(get(store, &job.job_id).await, cleared);

    expect_condition_failed(
        "clear_retrieval when none is recorded",
        store.clear_retrieval(&job.job_id, &r1).await,
    );

    // After clearing, a new retrieval can be recorded.
    let r2 = unique("retrieval");
    let recorded = store
        .record_retrieval(&job.job_id, &archive, &r2)
        .await
        .expect("record_retrieval after clear_retrieval");
    assert_eq!(recorded.retrieval_job_id.as_deref(), Some(r2.as_str()));
}

/// clear_archive holds only for the recorded archive and clears the
/// retrieval with it.
pub async fn clear_archive_conditions(store: &dyn JobStore) {
    let job = completed_job(store).await;
    let archive = unique("archive");
    expect_condition_failed(
        "clear_archive with no archive recorded",
        store.clear_archive(&job.job_id, &archive).await,
    );
    store
        .record_archive(&job.job_id, &archive)
        .await
        .expect("record_archive");
    let r1 = unique("retrieval");
    store
        .record_retrieval(&job.job_id, &archive, &r1)
        .await
        .expect("record_retrieval");

    expect_condition_failed(
        "clear_archive with a wrong archive id",
        store.clear_archive(&job.job_id, &unique("archive")).await,
    );
    let before = get(store, &job.job_id).await;
    assert_eq!(
        before.results_file_archive_id.as_deref(),
        Some(archive.as_str())
    );
    assert_eq!(before.retrieval_job_id.as_deref(), Some(r1.as_str()));

    let hot = store
        .clear_archive(&job.job_id, &archive)
        .await
        .expect("clear_archive of the recorded archive");
    assert_eq!(hot.results_file_archive_id, None);
    assert_eq!(hot.retrieval_job_id, None);
    assert_eq!(hot.job_status, JobStatus::Completed);
    assert_eq!(get(store, &job.job_id).await, hot);

    expect_condition_failed(
        "clear_archive a second time",
        store.clear_archive(&job.job_id, &archive).await,
    );
    // Once hot again, the results can be archived anew.
    let a2 = unique("archive");
    let rearchived = store
        .record_archive(&job.job_id, &a2)
        .await
        .expect("record_archive after clear_archive");
    assert_eq!(
        rearchived.results_file_archive_id.as_deref(),
        Some(a2.as_str())
    );
}

/// The variant index archived beside the results: `record_archives`
/// records both ids in one write (a repeat must name the same pair, an
/// index archive or none alike); the index's retrieval is recorded and
/// forgotten on its own, apart from the results'; `clear_archive` clears
/// all four. `record_archive` records no index archive.
pub async fn index_archive_conditions(store: &dyn JobStore) {
    let running = new_job(store).await;
    store
        .claim(&running.job_id, T0, T0 + 600)
        .await
        .expect("claim");
    expect_condition_failed(
        "record_archives of a RUNNING job",
        store
            .record_archives(&running.job_id, "arch-x", Some("arch-x.variants"))
            .await,
    );

    let job = completed_job(store).await;
    assert_eq!(job.variants_archive_id, None);
    let (a1, v1) = (unique("archive"), unique("variants"));
    let recorded = store
        .record_archives(&job.job_id, &a1, Some(&v1))
        .await
        .expect("record_archives when none is recorded");
    assert_eq!(
        recorded.results_file_archive_id.as_deref(),
        Some(a1.as_str())
    );
    assert_eq!(recorded.variants_archive_id.as_deref(), Some(v1.as_str()));
    assert_eq!(get(store, &job.job_id).await, recorded);
    let again = store
        .record_archives(&job.job_id, &a1, Some(&v1))
        .await
        .expect("record_archives of the same pair again (a repeated delivery)");
    assert_eq!(again, recorded);
    for (what, archive, index) in [
        (
            "another index archive",
            a1.clone(),
            Some(unique("variants")),
        ),
        ("no index archive where one is recorded", a1.clone(), None),
        (
            "another results archive",
            unique("archive"),
            Some(v1.clone()),
        ),
    ] {
        expect_condition_failed(
            &format!("record_archives of {what}"),
            store
                .record_archives(&job.job_id, &archive, index.as_deref())
                .await,
        );
        assert_eq!(
            get(store, &job.job_id).await,
            recorded,
            "a refused record_archives ({what}) changed the job"
        );
    }
    expect_condition_failed(
        "record_archive (no index) where an index archive is recorded",
        store.record_archive(&job.job_id, &a1).await,
    );

    // The index's retrieval, apart from the results'.
    let (r1, rv) = (unique("retrieval"), unique("retrieval"));
    expect_condition_failed(
        "record_variants_retrieval naming the results' archive",
        store.record_variants_retrieval(&job.job_id, &a1, &rv).await,
    );
    expect_condition_failed(
        "record_retrieval naming the index's archive",
        store.record_retrieval(&job.job_id, &v1, &r1).await,
    );
    let with_index = store
        .record_variants_retrieval(&job.job_id, &v1, &rv)
        .await
        .expect("record_variants_retrieval of the recorded index archive");
    assert_eq!(
        with_index.variants_retrieval_job_id.as_deref(),
        Some(rv.as_str())
    );
    assert_eq!(with_index.retrieval_job_id, None, "the results' untouched");
    assert_eq!(
        store
            .record_variants_retrieval(&job.job_id, &v1, &rv)
            .await
            .expect("the same index retrieval again"),
        with_index
    );
    expect_condition_failed(
        "record_variants_retrieval while another is recorded",
        store
            .record_variants_retrieval(&job.job_id, &v1, &unique("retrieval"))
            .await,
    );
    let both = store
        .record_retrieval(&job.job_id, &a1, &r1)
        .await
        .expect("record_retrieval beside the index's");
    assert_eq!(both.retrieval_job_id.as_deref(), Some(r1.as_str()));
    assert_eq!(both.variants_retrieval_job_id.as_deref(), Some(rv.as_str()));

    expect_condition_failed(
        "clear_variants_retrieval of the results' retrieval",
        store.clear_variants_retrieval(&job.job_id, &r1).await,
    );
    expect_condition_failed(
        "clear_retrieval of the index's retrieval",
        store.clear_retrieval(&job.job_id, &rv).await,
    );
    assert_eq!(get(store, &job.job_id).await, both);
    let cleared = store
        .clear_variants_retrieval(&job.job_id, &rv)
        .await
        .expect("clear_variants_retrieval of the recorded one");
    assert_eq!(cleared.variants_retrieval_job_id, None);
    assert_eq!(cleared.retrieval_job_id.as_deref(), Some(r1.as_str()));
    assert_eq!(cleared.variants_archive_id.as_deref(), Some(v1.as_str()));
    assert_eq!(get(store, &job.job_id).await, cleared);
    let rv2 = unique("retrieval");
    store
        .record_variants_retrieval(&job.job_id, &v1, &rv2)
        .await
        .expect("record_variants_retrieval after clearing");

    // Hot again: everything of the archive is forgotten at once.
    expect_condition_failed(
        "clear_archive naming the index's archive",
        store.clear_archive(&job.job_id, &v1).await,
    );
    let hot = store
        .clear_archive(&job.job_id, &a1)
        .await
        .expect("clear_archive of the recorded archive");
    assert_eq!(hot.results_file_archive_id, None);
    assert_eq!(hot.retrieval_job_id, None);
    assert_eq!(hot.variants_archive_id, None);
    assert_eq!(hot.variants_retrieval_job_id, None);
    assert_eq!(get(store, &job.job_id).await, hot);

    // A job without an index: no index archive, and the repeat is the same.
    let plain = completed_job(store).await;
    let a2 = unique("archive");
    let recorded = store
        .record_archives(&plain.job_id, &a2, None)
        .await
        .expect("record_archives without an index");
    assert_eq!(recorded.variants_archive_id, None);
    assert_eq!(
        store
            .record_archive(&plain.job_id, &a2)
            .await
            .expect("record_archive is record_archives without an index"),
        recorded
    );
    expect_condition_failed(
        "record_archives adding an index archive to a recorded archive",
        store
            .record_archives(&plain.job_id, &a2, Some(&unique("variants")))
            .await,
    );
    expect_condition_failed(
        "record_variants_retrieval with no index archive",
        store
            .record_variants_retrieval(&plain.job_id, &a2, &unique("retrieval"))
            .await,
    );
    assert_eq!(get(store, &plain.job_id).await, recorded);
}

/// Every transition on a missing job is NotFound.
pub async fn missing_jobs_are_not_found(store: &dyn JobStore) {
    let id = unique("missing");
    let c = Completion {
        results_bucket: "b".into(),
        result_key: "r".into(),
        log_key: "l".into(),
        complete_time: T0,
        warnings: None,
    };
    expect_not_found("claim", store.claim(&id, T0, T0 + 1).await);
    expect_not_found("record_progress", store.record_progress(&id, 0.5, T0).await);
    expect_not_found("complete", store.complete(&id, &c).await);
    expect_not_found("fail", store.fail(&id, "x", None, T0).await);
    expect_not_found("set_execution_id", store.set_execution_id(&id, "e").await);
    expect_not_found("clear_execution_id", store.clear_execution_id(&id).await);
    expect_not_found("record_archive", store.record_archive(&id, "a").await);
    expect_not_found(
        "record_retrieval",
        store.record_retrieval(&id, "a", "r").await,
    );
    expect_not_found("clear_retrieval", store.clear_retrieval(&id, "r").await);
    expect_not_found("clear_archive", store.clear_archive(&id, "a").await);
    expect_not_found(
        "record_archives",
        store.record_archives(&id, "a", Some("v")).await,
    );
    expect_not_found(
        "record_variants_retrieval",
        store.record_variants_retrieval(&id, "v", "r").await,
    );
    expect_not_found(
        "clear_variants_retrieval",
        store.clear_variants_retrieval(&id, "r").await,
    );
    assert_eq!(
        store.get(&id).await.expect("get"),
        None,
        "transitions created a job"
    );
}

/// Lists a user's jobs through every page with page size `limit`.
async fn list_all(store: &dyn JobStore, user_id: &str, limit: usize) -> Vec<Job> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let page = store
            .list_for_user(user_id, limit, cursor.as_deref())
            .await
            .unwrap_or_else(|e| panic!("list_for_user({user_id}, {limit}): {e:?}"));
        assert!(
            page.items.len() <= limit,
            "page larger than its limit {limit}"
        );
        if page.next.is_some() {
            assert_eq!(
                page.items.len(),
                limit,
                "a page followed by another must be full"
            );
        }
        all.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
    panic!("listing {user_id} did not end");
}

/// Pages come newest first (ties on submit_time by job_id descending),
/// without gaps or repeats, whatever the page size.
pub async fn list_pages_newest_first(store: &dyn JobStore) {
    let user = unique("user");
    let mut jobs = Vec::new();
    // Seven jobs over three distinct submit times, so pages split ties.
    for (i, t) in [0, 0, 0, 10, 10, 20, 20].into_iter().enumerate() {
        let mut job = pending_job(&user, T0 + t);
        job.input_file_name = format!("input-{i}.vcf");
        create(store, &job).await;
        jobs.push(job);
    }
    jobs.sort_by(|a, b| {
        b.submit_time
            .cmp(&a.submit_time)
            .then_with(|| b.job_id.cmp(&a.job_id))
    });
    let expected: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();

    for limit in [1, 2, 3, 7, 100] {
        let listed = list_all(store, &user, limit).await;
        let ids: Vec<&str> = listed.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(ids, expected, "listing with page size {limit}");
        assert_eq!(listed, jobs, "listed records differ from the stored ones");
    }

    // A page that is exactly the rest says so: no cursor to an empty page.
    let page = store
        .list_for_user(&user, 7, None)
        .await
        .expect("list_for_user");
    assert_eq!(page.items.len(), 7);
    // DynamoDB may return a cursor for a full last page; if so, it must lead
    // to an empty page that ends the listing.
    if let Some(next) = page.next {
        let rest = store
            .list_for_user(&user, 7, Some(&next))
            .await
            .expect("list_for_user after a full page");
        assert!(rest.items.is_empty() && rest.next.is_none());
    }

    // Jobs created after a listing started show up only on a fresh listing
    // when newer; the cursor keeps its place.
    let first = store
        .list_for_user(&user, 2, None)
        .await
        .expect("list_for_user");
    let newer = pending_job(&user, T0 + 30);
    create(store, &newer).await;
    let second = store
        .list_for_user(&user, 2, first.next.as_deref())
        .await
        .expect("list_for_user with a cursor");
    assert_eq!(
        second
            .items
            .iter()
            .map(|j| j.job_id.as_str())
            .collect::<Vec<_>>(),
        expected[2..4],
        "a new job moved the cursor"
    );
}

/// A user sees only their own jobs; a user without jobs gets an empty page.
pub async fn list_only_own_jobs(store: &dyn JobStore) {
    let alice = unique("user");
    let bob = unique("user");
    let a = pending_job(&alice, T0);
    let b = pending_job(&bob, T0);
    create(store, &a).await;
    create(store, &b).await;
    let listed = list_all(store, &alice, 10).await;
    assert_eq!(listed, vec![a], "alice's listing");
    let listed = list_all(store, &bob, 10).await;
    assert_eq!(listed, vec![b], "bob's listing");
    let nobody = store
        .list_for_user(&unique("user"), 10, None)
        .await
        .expect("list_for_user of a user without jobs");
    assert!(nobody.items.is_empty() && nobody.next.is_none());
}

/// A cursor that no listing made is BadCursor, and so is another user's.
pub async fn list_bad_cursor(store: &dyn JobStore) {
    let user = unique("user");
    for t in [0, 1, 2] {
        create(store, &pending_job(&user, T0 + t)).await;
    }
    for bad in ["not a cursor", "", "eyJ4IjoxfQ", "%%%"] {
        match store.list_for_user(&user, 1, Some(bad)).await {
            Err(StoreError::BadCursor) => {}
            r => panic!("cursor {bad:?}: expected BadCursor, got {r:?}"),
        }
    }
    let page = store.list_for_user(&user, 1, None).await.expect("list");
    let next = page.next.expect("a second page");
    match store.list_for_user(&unique("user"), 1, Some(&next)).await {
        Err(StoreError::BadCursor) => {}
        Ok(p) if p.items.is_empty() => {}
        r => panic!("another user's cursor: expected BadCursor or nothing, got {r:?}"),
    }
}

/// Limits outside 1..=100 are clamped into it.
pub async fn list_clamps_limit(store: &dyn JobStore) {
    let user = unique("user");
    for t in [0, 1] {
        create(store, &pending_job(&user, T0 + t)).await;
    }
    let page = store.list_for_user(&user, 0, None).await.expect("limit 0");
    assert_eq!(page.items.len(), 1, "limit 0 acts as 1");
    assert!(page.next.is_some());
    let page = store
        .list_for_user(&user, 10_000, None)
        .await
        .expect("limit 10000");
    assert_eq!(page.items.len(), 2);
    assert!(page.next.is_none());
}

fn new_user(email: &str) -> User {
    User {
        user_id: unique("user"),
        email: email.to_string(),
        role: Role::Free,
        created_at: T0,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        api_token_sha256: Some(unique("token")),
    }
}

fn unique_email() -> String {
    format!("{}@example.org", unique("someone"))
}

async fn create_user(store: &dyn UserStore, user: &User) {
    store
        .create(user)
        .await
        .unwrap_or_else(|e| panic!("create user {}: {e:?}", user.email));
}

/// A created user reads back by id, email (any case) and token.
pub async fn user_create_and_find(store: &dyn UserStore) {
    let email = unique_email().replace("someone", "Some.One");
    let user = new_user(&email);
    create_user(store, &user).await;
    let token = user.api_token_sha256.clone().expect("token");

    assert_eq!(
        store.get(&user.user_id).await.expect("get"),
        Some(user.clone())
    );
    assert_eq!(
        store.find_by_email(&email).await.expect("find_by_email"),
        Some(user.clone())
    );
    assert_eq!(
        store
            .find_by_email(&email.to_uppercase())
            .await
            .expect("find_by_email"),
        Some(user.clone()),
        "find_by_email must ignore case"
    );
    assert_eq!(
        store.find_by_token(&token).await.expect("find_by_token"),
        Some(user.clone())
    );
    assert_eq!(store.get(&unique("user")).await.expect("get"), None);
    assert_eq!(
        store.find_by_email(&unique_email()).await.expect("find"),
        None
    );
    assert_eq!(
        store.find_by_token(&unique("token")).await.expect("find"),
        None
    );

    // A user without password or token.
    let mut bare = new_user(&unique_email());
    bare.password_hash = None;
    bare.api_token_sha256 = None;
    bare.role = Role::Premium;
    create_user(store, &bare).await;
    assert_eq!(store.get(&bare.user_id).await.expect("get"), Some(bare));
}

/// A taken user id, email (in any case) or token is AlreadyExists.
pub async fn user_duplicates_are_refused(store: &dyn UserStore) {
    let email = unique_email();
    let user = new_user(&email);
    create_user(store, &user).await;

    let same_email = new_user(&email.to_uppercase());
    match store.create(&same_email).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("email taken in another case: expected AlreadyExists, got {r:?}"),
    }
    assert_eq!(store.get(&same_email.user_id).await.expect("get"), None);

    let mut same_id = new_user(&unique_email());
    same_id.user_id = user.user_id.clone();
    match store.create(&same_id).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("user id taken: expected AlreadyExists, got {r:?}"),
    }

    let mut same_token = new_user(&unique_email());
    same_token.api_token_sha256 = user.api_token_sha256.clone();
    match store.create(&same_token).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("token taken: expected AlreadyExists, got {r:?}"),
    }
    assert_eq!(store.get(&user.user_id).await.expect("get"), Some(user));
}

/// set_role changes the role and nothing else.
pub async fn user_set_role(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let upgraded = store
        .set_role(&user.user_id, Role::Premium)
        .await
        .expect("set_role");
    assert_eq!(
        upgraded,
        User {
            role: Role::Premium,
            ..user.clone()
        }
    );
    assert_eq!(
        store.get(&user.user_id).await.expect("get"),
        Some(upgraded.clone())
    );
    let again = store
        .set_role(&user.user_id, Role::Premium)
        .await
        .expect("set_role to the same role");
    assert_eq!(again, upgraded);
}

/// set_token replaces the token: the old one finds nobody.
pub async fn user_set_token_replaces_old(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let old = user.api_token_sha256.clone().expect("token");
    let new = unique("token");
    let updated = store
        .set_token(&user.user_id, &new)
        .await
        .expect("set_token");
    assert_eq!(updated.api_token_sha256.as_deref(), Some(new.as_str()));
    assert_eq!(
        store.find_by_token(&old).await.expect("find"),
        None,
        "old token still works"
    );
    assert_eq!(
        store.find_by_token(&new).await.expect("find"),
        Some(updated.clone())
    );

    // Another user's token cannot be taken over.
    let other = new_user(&unique_email());
    create_user(store, &other).await;
    match store.set_token(&other.user_id, &new).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("set_token to a taken token: expected AlreadyExists, got {r:?}"),
    }
    assert_eq!(
        store.find_by_token(&new).await.expect("find"),
        Some(updated)
    );
}

/// set_password_hash replaces the hash.
pub async fn user_set_password_hash(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let updated = store
        .set_password_hash(&user.user_id, "$argon2id$new")
        .await
        .expect("set_password_hash");
    assert_eq!(updated.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(store.get(&user.user_id).await.expect("get"), Some(updated));
}

/// Updates of a missing user are NotFound.
pub async fn user_missing(store: &dyn UserStore) {
    let id = unique("user");
    expect_not_found("set_role", store.set_role(&id, Role::Premium).await);
    expect_not_found("set_token", store.set_token(&id, &unique("token")).await);
    expect_not_found("set_password_hash", store.set_password_hash(&id, "h").await);
    assert_eq!(store.get(&id).await.expect("get"), None);
}

fn session_of(user: &User, expires_at: i64) -> Session {
    Session {
        session_sha256: unique("session"),
        user_id: user.user_id.clone(),
        created_at: T0,
        expires_at,
    }
}

/// A session finds its user until it expires; an unknown one finds nobody.
pub async fn sessions_find_until_expiry(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let session = session_of(&user, T0 + 100);
    store
        .create_session(&session)
        .await
        .expect("create_session");
    assert_eq!(
        store
            .find_session(&session.session_sha256, T0 + 99)
            .await
            .expect("find_session"),
        Some(user.clone())
    );
    assert_eq!(
        store
            .find_session(&session.session_sha256, T0 + 100)
            .await
            .expect("find_session"),
        None,
        "a session must end at expires_at"
    );
    assert_eq!(
        store
            .find_session(&unique("session"), T0)
            .await
            .expect("find_session"),
        None
    );
    match store.create_session(&session).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("session hash taken: expected AlreadyExists, got {r:?}"),
    }
    // A role change shows through the session at once.
    store
        .set_role(&user.user_id, Role::Premium)
        .await
        .expect("set_role");
    let found = store
        .find_session(&session.session_sha256, T0)
        .await
        .expect("find_session")
        .expect("user");
    assert_eq!(found.role, Role::Premium);
}

/// A deleted session finds nobody; deleting is idempotent and leaves the
/// user's other sessions alone.
pub async fn sessions_are_deleted_everywhere(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let (a, b) = (session_of(&user, T0 + 100), session_of(&user, T0 + 100));
    store.create_session(&a).await.expect("create_session");
    store.create_session(&b).await.expect("create_session");
    store
        .delete_session(&a.session_sha256)
        .await
        .expect("delete_session");
    store
        .delete_session(&a.session_sha256)
        .await
        .expect("delete_session again");
    store
        .delete_session(&unique("session"))
        .await
        .expect("delete an unknown session");
    assert_eq!(
        store
            .find_session(&a.session_sha256, T0)
            .await
            .expect("find_session"),
        None,
        "a deleted session still signs in"
    );
    assert_eq!(
        store
            .find_session(&b.session_sha256, T0)
            .await
            .expect("find_session"),
        Some(user)
    );
}

/// A session for a missing user is NotFound and is not stored.
pub async fn session_needs_a_user(store: &dyn UserStore) {
    let ghost = new_user(&unique_email());
    let session = session_of(&ghost, T0 + 100);
    expect_not_found("create_session", store.create_session(&session).await);
    assert_eq!(
        store
            .find_session(&session.session_sha256, T0)
            .await
            .expect("find_session"),
        None
    );
}

fn token_of(user: &User, name: &str, created_at: i64) -> ApiToken {
    ApiToken {
        token_id: unique("tok"),
        user_id: user.user_id.clone(),
        name: name.to_string(),
        token_sha256: unique("sha"),
        created_at,
    }
}

/// Added tokens find their user, list oldest first, and stop working when
/// revoked; another user cannot revoke them.
pub async fn tokens_add_list_revoke(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let other = new_user(&unique_email());
    create_user(store, &other).await;
    assert_eq!(
        store.list_tokens(&user.user_id).await.expect("list"),
        vec![]
    );

    let laptop = token_of(&user, "laptop", T0 + 1);
    let cluster = token_of(&user, "cluster", T0 + 2);
    store.add_token(&cluster).await.expect("add_token");
    store.add_token(&laptop).await.expect("add_token");
    assert_eq!(
        store.list_tokens(&user.user_id).await.expect("list"),
        vec![laptop.clone(), cluster.clone()],
        "tokens list oldest first"
    );
    for token in [&laptop, &cluster] {
        assert_eq!(
            store
                .find_by_token(&token.token_sha256)
                .await
                .expect("find_by_token"),
            Some(user.clone())
        );
    }
    // The legacy token still works beside them.
    assert_eq!(
        store
            .find_by_token(user.api_token_sha256.as_deref().expect("legacy token"))
            .await
            .expect("find_by_token"),
        Some(user.clone())
    );

    assert!(
        !store
            .revoke_token(&other.user_id, &laptop.token_id)
            .await
            .expect("revoke another's token"),
        "another user revoked a token that is not theirs"
    );
    assert_eq!(
        store
            .find_by_token(&laptop.token_sha256)
            .await
            .expect("find_by_token"),
        Some(user.clone())
    );
    assert!(store
        .revoke_token(&user.user_id, &laptop.token_id)
        .await
        .expect("revoke_token"));
    assert!(!store
        .revoke_token(&user.user_id, &laptop.token_id)
        .await
        .expect("revoke_token again"));
    assert_eq!(
        store
            .find_by_token(&laptop.token_sha256)
            .await
            .expect("find_by_token"),
        None,
        "a revoked token still works"
    );
    assert_eq!(
        store.list_tokens(&user.user_id).await.expect("list"),
        vec![cluster]
    );
    assert_eq!(
        store.list_tokens(&other.user_id).await.expect("list"),
        vec![]
    );
}

/// Token hashes are unique across added and legacy tokens; a token for a
/// missing user is NotFound.
pub async fn tokens_share_one_space(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let mut clash = token_of(&user, "clash", T0);
    clash.token_sha256 = user.api_token_sha256.clone().expect("legacy token");
    match store.add_token(&clash).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("a legacy token's hash added again: expected AlreadyExists, got {r:?}"),
    }
    let token = token_of(&user, "one", T0);
    store.add_token(&token).await.expect("add_token");
    let mut again = token_of(&user, "two", T0);
    again.token_sha256 = token.token_sha256.clone();
    match store.add_token(&again).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("a token's hash added twice: expected AlreadyExists, got {r:?}"),
    }
    let mut legacy_clash = new_user(&unique_email());
    legacy_clash.api_token_sha256 = Some(token.token_sha256.clone());
    match store.create(&legacy_clash).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("a user created with an added token's hash: expected AlreadyExists, got {r:?}"),
    }
    assert_eq!(
        store.list_tokens(&user.user_id).await.expect("list"),
        vec![token]
    );
    let ghost = new_user(&unique_email());
    expect_not_found(
        "add_token",
        store.add_token(&token_of(&ghost, "x", T0)).await,
    );
}

/// Failures count within the window, start again after it, and clear.
pub async fn sign_in_failures_count_and_reset(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let id = &user.user_id;
    assert_eq!(
        store.sign_in_failures(id).await.expect("read"),
        crate::SignInFailures::default()
    );
    for (n, at) in [(1, T0), (2, T0 + 10), (3, T0 + 70)] {
        let failures = store
            .record_sign_in_failure(id, at, 60)
            .await
            .expect("record");
        assert_eq!((failures.count, failures.last_at), (n, Some(at)));
    }
    // More than the window after the last failure: counting starts again.
    let failures = store
        .record_sign_in_failure(id, T0 + 131, 60)
        .await
        .expect("record");
    assert_eq!((failures.count, failures.last_at), (1, Some(T0 + 131)));
    assert_eq!(store.sign_in_failures(id).await.expect("read"), failures);

    // Concurrent failures all count.
    let calls: Vec<_> = (0..8)
        .map(|_| store.record_sign_in_failure(id, T0 + 140, 60))
        .collect();
    for r in futures::future::join_all(calls).await {
        r.expect("record");
    }
    assert_eq!(store.sign_in_failures(id).await.expect("read").count, 9);

    store.clear_sign_in_failures(id).await.expect("clear");
    store.clear_sign_in_failures(id).await.expect("clear again");
    assert_eq!(
        store.sign_in_failures(id).await.expect("read"),
        crate::SignInFailures::default()
    );
    sign_in_failures_take_any_key(store).await;
}

/// The key is the caller's throttle key, not a user: keys that name no
/// user (a hash of an email and an address, as the web app passes) count
/// apart from each other, and counting or clearing one never touches the
/// user whose id another key happens to be.
async fn sign_in_failures_take_any_key(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let a = format!("{:0>64}", unique("a"));
    let b = format!("{:0>64}", unique("b"));
    for (key, times) in [(&a, 3), (&b, 1)] {
        for _ in 0..times {
            store
                .record_sign_in_failure(key, T0, 60)
                .await
                .expect("record");
        }
    }
    assert_eq!(store.sign_in_failures(&a).await.expect("read").count, 3);
    assert_eq!(store.sign_in_failures(&b).await.expect("read").count, 1);
    store.clear_sign_in_failures(&b).await.expect("clear");
    assert_eq!(store.sign_in_failures(&a).await.expect("read").count, 3);
    assert_eq!(store.sign_in_failures(&b).await.expect("read").count, 0);

    // A key that is a user's id: the user is untouched by either.
    store
        .record_sign_in_failure(&user.user_id, T0, 60)
        .await
        .expect("record under a user's id");
    store
        .clear_sign_in_failures(&user.user_id)
        .await
        .expect("clear");
    assert_eq!(
        store.get(&user.user_id).await.expect("get"),
        Some(user.clone())
    );
}

// --- identity links ---

/// A linked identity finds its user; it links once, to one user; a link
/// needs a user; the same subject at another issuer is another identity.
pub async fn identities_link_once(store: &dyn UserStore) {
    let user = new_user(&unique_email());
    create_user(store, &user).await;
    let other = new_user(&unique_email());
    create_user(store, &other).await;
    let issuer = "https://auth.example.org";
    let subject = unique("sub");
    assert_eq!(
        store
            .find_by_identity(issuer, &subject)
            .await
            .expect("find"),
        None
    );
    let link = IdentityLink {
        issuer: issuer.to_string(),
        subject: subject.clone(),
        user_id: user.user_id.clone(),
        created_at: T0,
    };
    store.link_identity(&link).await.expect("link_identity");
    assert_eq!(
        store
            .find_by_identity(issuer, &subject)
            .await
            .expect("find"),
        Some(user.clone())
    );
    let stolen = IdentityLink {
        user_id: other.user_id.clone(),
        ..link.clone()
    };
    match store.link_identity(&stolen).await {
        Err(StoreError::AlreadyExists(_)) => {}
        r => panic!("an identity linked twice: expected AlreadyExists, got {r:?}"),
    }
    assert_eq!(
        store
            .find_by_identity(issuer, &subject)
            .await
            .expect("find"),
        Some(user.clone()),
        "a second link must not move the identity"
    );
    assert_eq!(
        store
            .find_by_identity("https://other.example.org", &subject)
            .await
            .expect("find"),
        None
    );
    // A second identity of the same user.
    let second = IdentityLink {
        issuer: "https://other.example.org".to_string(),
        ..link.clone()
    };
    store.link_identity(&second).await.expect("a second link");
    assert_eq!(
        store
            .find_by_identity("https://other.example.org", &subject)
            .await
            .expect("find"),
        Some(user)
    );
    let ghost = IdentityLink {
        subject: unique("sub"),
        user_id: unique("user"),
        ..link
    };
    expect_not_found("link_identity", store.link_identity(&ghost).await);
    assert_eq!(
        store
            .find_by_identity(issuer, &ghost.subject)
            .await
            .expect("find"),
        None
    );
}

// --- fresh free windows and payment events (Premium with Stripe) ---

/// restart_window: only on a COMPLETED job with hot results and no pending
/// archive timer; records the window's start and the new timer together;
/// a refused restart changes nothing; the window start reads back.
pub async fn restart_window_conditions(store: &dyn JobStore) {
    let pending = new_job(store).await;
    expect_condition_failed(
        "restart_window of a PENDING job",
        store.restart_window(&pending.job_id, T0 + 100, "w-1").await,
    );
    assert_eq!(get(store, &pending.job_id).await, pending);
    expect_not_found(
        "restart_window of a missing job",
        store
            .restart_window(&unique("missing"), T0 + 100, "w-1")
            .await,
    );

    let job = completed_job(store).await;
    assert_eq!(job.window_started, None);
    assert_eq!(job.window_start(), job.complete_time);
    let restarted = store
        .restart_window(&job.job_id, T0 + 100, "w-1")
        .await
        .expect("restart_window of a COMPLETED job with hot results and no timer");
    assert_eq!(restarted.window_started, Some(T0 + 100));
    assert_eq!(restarted.window_start(), Some(T0 + 100));
    assert_eq!(restarted.archive_execution_id.as_deref(), Some("w-1"));
    assert_eq!(
        restarted.complete_time, job.complete_time,
        "complete_time kept"
    );
    assert_eq!(get(store, &job.job_id).await, restarted);

    // A pending timer (this window's, or the runner's) stops a second restart.
    expect_condition_failed(
        "restart_window while a timer is pending",
        store.restart_window(&job.job_id, T0 + 200, "w-2").await,
    );
    assert_eq!(
        get(store, &job.job_id).await,
        restarted,
        "a refused restart changed the job"
    );

    // Once that timer is forgotten (fired or stopped), a later window may start.
    store.clear_execution_id(&job.job_id).await.expect("clear");
    let later = store
        .restart_window(&job.job_id, T0 + 300, "w-3")
        .await
        .expect("restart_window after the timer was cleared");
    assert_eq!(later.window_started, Some(T0 + 300));

    // Archived results get no window.
    let archived = completed_job(store).await;
    store
        .record_archive(&archived.job_id, &unique("archive"))
        .await
        .expect("record_archive");
    let before = get(store, &archived.job_id).await;
    expect_condition_failed(
        "restart_window of an archived job",
        store
            .restart_window(&archived.job_id, T0 + 100, "w-1")
            .await,
    );
    assert_eq!(get(store, &archived.job_id).await, before);

    // A job stored with a window start reads it back.
    let mut stored = pending_job(&unique("user"), T0);
    stored.window_started = Some(T0 + 7);
    create(store, &stored).await;
    assert_eq!(get(store, &stored.job_id).await, stored);
}

/// Payment events: recorded once (the first record says so, later ones do
/// not), seen by every later read, and of concurrent records exactly one
/// is the first.
pub async fn payment_events_are_recorded_once(store: &dyn UserStore) {
    let event = unique("evt");
    assert!(!store.event_recorded(&event).await.expect("event_recorded"));
    assert!(
        store.record_event(&event, T0).await.expect("record_event"),
        "the first record of an event must say so"
    );
    assert!(store.event_recorded(&event).await.expect("event_recorded"));
    assert!(
        !store
            .record_event(&event, T0 + 5)
            .await
            .expect("record again"),
        "a second record of an event must say it was recorded already"
    );
    assert!(!store
        .event_recorded(&unique("evt"))
        .await
        .expect("another event"));
    // An event id is not a user, whatever it looks like.
    assert_eq!(
        store.get(&format!("event#{event}")).await.expect("get"),
        None
    );

    let raced = unique("evt");
    let (a, b) = futures::join!(
        store.record_event(&raced, T0),
        store.record_event(&raced, T0)
    );
    let firsts = [a.expect("record a"), b.expect("record b")]
        .into_iter()
        .filter(|first| *first)
        .count();
    assert_eq!(
        firsts, 1,
        "two concurrent records: exactly one is the first"
    );
}

/// A PENDING job is requeued once per stall: not before it has waited,
/// not twice for one stall, again after another stall, and never once
/// claimed.
pub async fn requeue_stalled_pending_jobs_once(store: &dyn JobStore) {
    let job = new_job(store).await; // submitted at T0
    expect_condition_failed(
        "requeue of a job submitted after the stall mark",
        store.mark_requeued(&job.job_id, T0 + 5, T0 - 1).await,
    );
    assert_eq!(
        get(store, &job.job_id).await,
        job,
        "failed requeue changed the job"
    );

    let marked = store
        .mark_requeued(&job.job_id, T0 + 600, T0)
        .await
        .expect("requeue of a stalled PENDING job");
    assert_eq!(marked.requeued_at, Some(T0 + 600));
    assert_eq!(marked.job_status, JobStatus::Pending);
    assert_eq!(
        get(store, &job.job_id).await,
        marked,
        "requeue must return the stored record"
    );
    // A second caller for the same stall (the same mark) loses.
    expect_condition_failed(
        "second requeue of one stall",
        store.mark_requeued(&job.job_id, T0 + 601, T0 + 1).await,
    );
    // After another stall it may be requeued again.
    let again = store
        .mark_requeued(&job.job_id, T0 + 1200, T0 + 600)
        .await
        .expect("requeue after a second stall");
    assert_eq!(again.requeued_at, Some(T0 + 1200));

    // Claimed, it is no longer anyone's to requeue; the mark stays as it was.
    let claimed = store
        .claim(&job.job_id, T0 + 1300, T0 + 1900)
        .await
        .expect("claim of a requeued job");
    assert_eq!(claimed.requeued_at, Some(T0 + 1200));
    expect_condition_failed(
        "requeue of a RUNNING job",
        store.mark_requeued(&job.job_id, T0 + 9000, T0 + 8000).await,
    );
    match store.mark_requeued(&unique("missing"), T0, T0).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("requeue of a missing job: {other:?}"),
    }
}

/// The input version recorded when a job is submitted reads back, and every
/// transition keeps it (the runner reads it after its claim); a job made
/// without one has none.
pub async fn input_etag_is_kept(store: &dyn JobStore) {
    let etag = Some("\"9b2cf535f27731c974343645a3985328-2\"".to_string());
    let mut job = pending_job(&unique("user"), T0);
    job.input_etag = etag.clone();
    create(store, &job).await;
    assert_eq!(
        get(store, &job.job_id).await.input_etag,
        etag,
        "the input's etag did not read back"
    );
    let marked = store
        .mark_requeued(&job.job_id, T0 + 600, T0 + 600)
        .await
        .expect("mark_requeued of a stalled job");
    assert_eq!(
        marked.input_etag, etag,
        "mark_requeued lost the input's etag"
    );
    let claimed = store
        .claim(&job.job_id, T0, T0 + 600)
        .await
        .expect("claim of a PENDING job");
    assert_eq!(claimed.input_etag, etag, "claim lost the input's etag");
    let progressed = store
        .record_progress(&job.job_id, 0.5, T0 + 900)
        .await
        .expect("record_progress while RUNNING");
    assert_eq!(progressed.input_etag, etag);
    let failed = store
        .fail(&job.job_id, "the input file changed", None, T0 + 60)
        .await
        .expect("fail of a RUNNING job");
    assert_eq!(failed.input_etag, etag, "fail lost the input's etag");
    assert_eq!(get(store, &job.job_id).await.input_etag, etag);

    let completed = completed_job(store).await;
    assert_eq!(
        completed.input_etag, None,
        "a job made without an etag has one"
    );
    assert_eq!(get(store, &completed.job_id).await.input_etag, None);
}
