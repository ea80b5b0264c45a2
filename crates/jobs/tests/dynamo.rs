//! Runs the conformance suite on the DynamoDB adapters against the AWS
//! emulator named by `GAS_TEST_AWS_ENDPOINT` (moto's server; the project's
//! test command starts it), each check as its own test on tables shared by
//! this run, plus what only DynamoDB can show: racing claims from separate
//! clients, idempotent provisioning, the item layout, guard items.
//!
//! Without `GAS_TEST_AWS_ENDPOINT` every test prints a notice and passes,
//! unless `GAS_REQUIRE_AWS_TESTS=1`, which makes a missing emulator a failure.

use std::sync::{Arc, OnceLock};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use gas_jobs::conformance as suite;
use gas_jobs::dynamo::{provision, DynamoJobStore, DynamoUserStore, USER_ID_INDEX};
use gas_jobs::{Job, JobStatus, JobStore, StoreError, User, UserStore};
use tokio::sync::OnceCell;

fn endpoint() -> Option<String> {
    gas_testkit::aws_endpoint("DynamoDB adapter tests")
}

/// A client of the emulator. Each test makes its own: SDK clients keep
/// connections tied to the runtime that opened them, and every test has its
/// own runtime.
async fn client(endpoint: &str) -> Client {
    let sdk = gas_testkit::sdk_config(endpoint).await;
    Client::new(&sdk)
}

/// A suffix that keeps this run's tables apart from other runs' on a shared
/// emulator.
fn run_suffix() -> &'static str {
    static SUFFIX: OnceLock<String> = OnceLock::new();
    SUFFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_string())
}

fn jobs_table() -> String {
    format!("gas-test-annotations-{}", run_suffix())
}

fn users_table() -> String {
    format!("gas-test-users-{}", run_suffix())
}

/// This run's tables, provisioned once, and a client; `None` to skip.
async fn tables() -> Option<Client> {
    static PROVISIONED: OnceCell<()> = OnceCell::const_new();
    let endpoint = endpoint()?;
    let client = client(&endpoint).await;
    PROVISIONED
        .get_or_init(|| async {
            provision(&client, &jobs_table(), &users_table())
                .await
                .expect("provision the test tables");
        })
        .await;
    Some(client)
}

async fn job_store() -> Option<DynamoJobStore> {
    Some(DynamoJobStore::new(tables().await?, jobs_table()))
}

async fn user_store() -> Option<DynamoUserStore> {
    Some(DynamoUserStore::new(tables().await?, users_table()))
}

macro_rules! job_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let Some(store) = job_store().await else { return };
            suite::$name(&store).await;
        }
    )*};
}

macro_rules! user_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let Some(store) = user_store().await else { return };
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

/// Both suites at once on the shared tables, as the services use them.
#[tokio::test]
async fn whole_suites_share_the_tables() {
    let Some(jobs) = job_store().await else {
        return;
    };
    let Some(users) = user_store().await else {
        return;
    };
    suite::job_store_suite(&jobs).await;
    suite::user_store_suite(&users).await;
}

/// Two runners with their own clients claim the same jobs at the same
/// moment: every job has exactly one winner, the loser sees ConditionFailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_have_one_winner() {
    let Some(endpoint) = endpoint() else { return };
    // Provision (once) before making the racing clients.
    let Some(_) = tables().await else { return };
    let a: Arc<dyn JobStore> = Arc::new(DynamoJobStore::new(client(&endpoint).await, jobs_table()));
    let b: Arc<dyn JobStore> = Arc::new(DynamoJobStore::new(client(&endpoint).await, jobs_table()));
    let now = 1_700_000_000;
    let user = format!("race-user-{}", uuid::Uuid::new_v4());
    for round in 0..25 {
        let job_id = format!("race-{}-{round}", uuid::Uuid::new_v4());
        a.create(&Job::new_pending(
            &job_id, &user, "in.vcf", "inputs", "k", now,
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

/// Provisioning is idempotent, and completes a jobs table that lacks the GSI.
#[tokio::test]
async fn provision_is_idempotent() {
    let Some(endpoint) = endpoint() else { return };
    let client = client(&endpoint).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (jobs, users) = (
        format!("gas-prov-jobs-{suffix}"),
        format!("gas-prov-users-{suffix}"),
    );
    provision(&client, &jobs, &users)
        .await
        .expect("first provision");
    provision(&client, &jobs, &users)
        .await
        .expect("second provision");
    assert_has_user_index(&client, &jobs).await;
    let store = DynamoJobStore::new(client.clone(), &jobs);
    suite::list_pages_newest_first(&store).await;

    // A jobs table made elsewhere without the GSI gets it.
    let bare = format!("gas-prov-bare-{suffix}");
    client
        .create_table()
        .table_name(&bare)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("job_id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("job_id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create a table without the GSI");
    provision(&client, &bare, &users)
        .await
        .expect("provision adds the GSI");
    assert_has_user_index(&client, &bare).await;

    // A table keyed otherwise is refused, not silently used.
    match provision(&client, &users, &users).await {
        Err(StoreError::Backend(e)) => assert!(e.to_string().contains("key schema"), "{e}"),
        r => panic!("a users table as the jobs table: expected an error, got {r:?}"),
    }
}

async fn assert_has_user_index(client: &Client, table: &str) {
    let desc = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    assert!(
        desc.global_secondary_indexes()
            .iter()
            .any(|i| i.index_name() == Some(USER_ID_INDEX)),
        "{table} lacks {USER_ID_INDEX}"
    );
}

/// The stored item uses the record's attribute names, and a cleared field
/// is an absent attribute.
#[tokio::test]
async fn items_use_the_record_attribute_names() {
    let Some(store) = job_store().await else {
        return;
    };
    let client = tables().await.expect("tables");
    let job_id = format!("layout-{}", uuid::Uuid::new_v4());
    let job = Job::new_pending(
        &job_id,
        "layout-user",
        "in.vcf",
        "inputs",
        "k",
        1_700_000_000,
    );
    store.create(&job).await.expect("create");
    store.claim(&job_id, 1, 1_800_000_000).await.expect("claim");
    let completion = gas_jobs::Completion {
        results_bucket: "results".into(),
        result_key: "r".into(),
        log_key: "l".into(),
        complete_time: 1_700_000_100,
        warnings: None,
    };
    store
        .complete(&job_id, &completion)
        .await
        .expect("complete");
    store.set_execution_id(&job_id, "exec").await.expect("set");
    store.clear_execution_id(&job_id).await.expect("clear");

    let item = client
        .get_item()
        .table_name(jobs_table())
        .key("job_id", AttributeValue::S(job_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
        .expect("item");
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "complete_time",
            "input_file_name",
            "job_id",
            "job_status",
            "progress",
            "s3_inputs_bucket",
            "s3_key_input_file",
            "s3_key_log_file",
            "s3_key_result_file",
            "s3_results_bucket",
            "submit_time",
            "user_id",
        ],
        "lease_expires and archive_execution_id must be removed, not nulled"
    );
    assert_eq!(
        item.get("job_status"),
        Some(&AttributeValue::S("COMPLETED".into()))
    );
    assert_eq!(
        item.get("submit_time"),
        Some(&AttributeValue::N("1700000000".into()))
    );
}

/// Many jobs sharing submit times list in (submit_time, job_id) descending
/// order across every page boundary, whatever the page size.
#[tokio::test]
async fn list_orders_large_ties_across_pages() {
    let Some(store) = job_store().await else {
        return;
    };
    let user = format!("ties-{}", uuid::Uuid::new_v4());
    let mut jobs = Vec::new();
    for i in 0..24 {
        let job = Job::new_pending(
            format!("job-{}", uuid::Uuid::new_v4()),
            &user,
            "in.vcf",
            "inputs",
            "k",
            1_700_000_000 + (i % 3),
        );
        store.create(&job).await.expect("create");
        jobs.push(job);
    }
    jobs.sort_by(|a, b| {
        b.submit_time
            .cmp(&a.submit_time)
            .then_with(|| b.job_id.cmp(&a.job_id))
    });
    for limit in [1, 4, 5, 8, 9, 23, 24, 25] {
        let mut listed = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .list_for_user(&user, limit, cursor.as_deref())
                .await
                .expect("list");
            assert!(page.items.len() <= limit);
            listed.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(listed, jobs, "page size {limit}");
    }
}

/// Guard items are not users, and the email guard follows case-folding.
#[tokio::test]
async fn guard_items_are_not_users() {
    let Some(store) = user_store().await else {
        return;
    };
    let email = format!("Guard.{}@Example.org", uuid::Uuid::new_v4());
    let user = User {
        user_id: format!("user-{}", uuid::Uuid::new_v4()),
        email: email.clone(),
        role: gas_jobs::Role::Free,
        created_at: 1,
        password_hash: None,
        api_token_sha256: Some(format!("tok-{}", uuid::Uuid::new_v4())),
    };
    store.create(&user).await.expect("create");
    let guard = format!("email#{}", email.to_lowercase());
    assert_eq!(store.get(&guard).await.expect("get"), None);
    match store.set_role(&guard, gas_jobs::Role::Premium).await {
        Err(StoreError::NotFound(_)) => {}
        r => panic!("set_role on a guard item: expected NotFound, got {r:?}"),
    }
    assert_eq!(
        store
            .find_by_email(&format!("  {}  ", email.to_uppercase()))
            .await
            .expect("find"),
        Some(user)
    );
}
