//! End to end on the embedded backend, through the real HTTP API, the real
//! SNS-style POSTs between services and the real SQLite files: submit →
//! annotate → download → window → archive → upgrade → restore. Windows are
//! a few seconds: long enough to download in, whole seconds as in records.

mod support;

use std::time::Duration;

use gas::config::Config;
use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use support::{test_vcf, Api};

struct System {
    running: Running,
    api: Api,
    _data: tempfile::TempDir,
}

impl System {
    async fn start(window_secs: u64, tweak: impl FnOnce(&mut Config)) -> System {
        let data = tempfile::tempdir().unwrap();
        let mut config = support::quick_config(data.path(), window_secs);
        config.ann_workers = 2;
        tweak(&mut config);
        let running = dev::start(config, Services::ALL)
            .await
            .expect("system starts");
        let api = Api::new(format!("http://{}", running.web_addr.unwrap()));
        System {
            running,
            api,
            _data: data,
        }
    }

    async fn user(&self, email: &str, role: Role) -> String {
        let (_, token) = gas::users::add_user(&self.running.ports, email, role, None)
            .await
            .unwrap();
        token
    }

    async fn record(&self, job_id: &str) -> gas_jobs::Job {
        self.running.ports.jobs.get(job_id).await.unwrap().unwrap()
    }

    /// The bytes of the job's variant index in hot storage, if it is there.
    async fn hot_index(&self, job_id: &str) -> Option<Vec<u8>> {
        let job = self.record(job_id).await;
        let key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
        match self.running.ports.results.get(&key).await {
            Ok(body) => Some(gas_storage::collect(body).await.unwrap()),
            Err(gas_storage::BlobError::NotFound(_)) => None,
            Err(e) => panic!("reading {key}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn free_job_is_archived_after_the_window_and_restored_on_upgrade() {
    let system = System::start(3, |_| {}).await;
    let token = system.user("free@example.org", Role::Free).await;
    let job_id = system.api.submit_ok(&token, "test.vcf", test_vcf()).await;

    let job = system.api.completed(&token, &job_id).await;
    assert_eq!(job["results_state"], "available");
    assert!(job["download_until"].as_i64().is_some());
    let before = system.api.download(&token, &job_id).await;
    let text = String::from_utf8(before.clone()).unwrap();
    assert!(text.contains("##INFO=<ID=VC"), "annotated header");
    if support::sample("test.vcf").is_some() {
        assert!(
            text.contains("GENE=MT-"),
            "mitochondrial genes from the built-in gene track"
        );
    }
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.contains("VC=")),
        "every record annotated"
    );
    let log = system
        .api
        .get(&token, &format!("/api/v1/jobs/{job_id}/log"))
        .await;
    assert_eq!(log.status(), reqwest::StatusCode::OK);
    assert!(!log.text().await.unwrap().is_empty());
    assert!(
        system.record(&job_id).await.archive_execution_id.is_some(),
        "a free job has an archive timer"
    );
    let index = system
        .hot_index(&job_id)
        .await
        .expect("a completed job has a variant index");

    // After the window: archived, blob gone, download refused with "upgrade".
    let job = system
        .api
        .wait_for(&token, &job_id, Duration::from_secs(30), "archived", |j| {
            j["results_state"] == "archived"
        })
        .await;
    let record = system.record(&job_id).await;
    assert!(record.results_file_archive_id.is_some());
    assert!(
        record.archive_execution_id.is_none(),
        "the fired timer is forgotten"
    );
    let result_key = record.s3_key_result_file.clone().unwrap();
    assert_eq!(
        system
            .running
            .ports
            .results
            .head(&result_key)
            .await
            .unwrap(),
        None,
        "results blob deleted"
    );
    assert!(
        record.variants_archive_id.is_some(),
        "the index is archived"
    );
    assert_eq!(
        system.hot_index(&job_id).await,
        None,
        "index blob deleted with the results"
    );
    let (status, body) = system.api.results_refusal(&token, &job_id).await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(body["reason"], "upgrade", "{body}");
    assert_eq!(job["job_status"], "COMPLETED");

    // Upgrade → restored, same bytes.
    system.api.upgrade(&token).await;
    system
        .api
        .wait_for(&token, &job_id, Duration::from_secs(30), "restored", |j| {
            j["results_state"] == "available"
        })
        .await;
    let after = system.api.download(&token, &job_id).await;
    assert_eq!(
        after, before,
        "restored bytes equal the bytes downloaded before archiving"
    );
    let record = system.record(&job_id).await;
    assert!(record.results_file_archive_id.is_none() && record.retrieval_job_id.is_none());
    assert!(
        record.variants_archive_id.is_none() && record.variants_retrieval_job_id.is_none(),
        "{record:?}"
    );
    assert!(
        system.hot_index(&job_id).await == Some(index),
        "the restored index equals the index before archiving"
    );

    // The completion email is in the outbox, addressed to the user.
    let outbox = system.running.config.data_dir.join("outbox");
    let email = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .find(|text| text.contains(&job_id))
        .expect("an email about the job");
    assert!(
        email.contains("To: free@example.org")
            && email.contains("Subject: GAS: annotation of test.vcf is complete")
    );

    // Operators see what happened.
    let metrics = |addr: std::net::SocketAddr| async move {
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let running = &system.running;
    assert!(metrics(running.web_addr.unwrap())
        .await
        .contains("gas_web_jobs_submitted_total"));
    assert!(metrics(running.util_addr.unwrap())
        .await
        .contains("gas_util_archived_total"));
    assert!(metrics(running.ann_addr.unwrap())
        .await
        .contains("gas_ann_jobs_total"));
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn premium_jobs_and_upgrades_inside_the_window_are_never_archived() {
    // Expedited refused: restores would take the standard tier (not needed
    // here, but nothing may be archived at all).
    let system = System::start(3, |c| c.refuse_expedited = true).await;
    let premium = system.user("premium@example.org", Role::Premium).await;
    let free = system.user("upgrader@example.org", Role::Free).await;
    let premium_job = system.api.submit_ok(&premium, "test.vcf", test_vcf()).await;
    let free_job = system.api.submit_ok(&free, "test.vcf", test_vcf()).await;

    let job = system.api.completed(&premium, &premium_job).await;
    // An input on another assembly completes, and the job says so.
    if let Some(ncbi36) = support::sample("premium_1.vcf") {
        let job_id = system
            .api
            .submit_ok(&premium, "premium_1.vcf", ncbi36)
            .await;
        let job = system.api.completed(&premium, &job_id).await;
        let warnings = job["annotation_warnings"].as_str().unwrap_or_default();
        assert!(
            warnings.contains("NCBI36"),
            "the assembly warning reaches the job: {job}"
        );
    }
    assert!(
        job.get("download_until").is_none(),
        "premium downloads have no deadline"
    );
    assert!(
        system
            .record(&premium_job)
            .await
            .archive_execution_id
            .is_none(),
        "no timer for premium users"
    );
    system.api.completed(&free, &free_job).await;
    let timer = system.record(&free_job).await.archive_execution_id;
    assert!(timer.is_some(), "a free job has an archive timer");

    system.api.upgrade(&free).await;
    assert!(
        system
            .record(&free_job)
            .await
            .archive_execution_id
            .is_none(),
        "the upgrade stopped the timer"
    );

    // Well past the window and several drains.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for (token, job_id) in [(&premium, &premium_job), (&free, &free_job)] {
        let record = system.record(job_id).await;
        assert!(
            record.results_file_archive_id.is_none(),
            "{job_id} must not be archived"
        );
        let job = system.api.job(token, job_id).await;
        assert_eq!(job["results_state"], "available");
        assert!(!system.api.download(token, job_id).await.is_empty());
    }
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_falls_back_to_the_standard_tier() {
    let system = System::start(3, |c| c.refuse_expedited = true).await;
    let token = system.user("slow@example.org", Role::Free).await;
    let job_id = system.api.submit_ok(&token, "test.vcf", test_vcf()).await;
    system.api.completed(&token, &job_id).await;
    let before = system.api.download(&token, &job_id).await;
    let index = system.hot_index(&job_id).await;
    assert!(index.is_some(), "a completed job has a variant index");
    system
        .api
        .wait_for(&token, &job_id, Duration::from_secs(30), "archived", |j| {
            j["results_state"] == "archived"
        })
        .await;
    assert_eq!(
        system.hot_index(&job_id).await,
        None,
        "the index is archived"
    );
    gas::users::set_role(&system.running.ports, "slow@example.org", Role::Premium)
        .await
        .unwrap();
    system
        .api
        .wait_for(&token, &job_id, Duration::from_secs(30), "restored", |j| {
            j["results_state"] == "available"
        })
        .await;
    assert_eq!(system.api.download(&token, &job_id).await, before);
    assert!(
        system.hot_index(&job_id).await == index,
        "the index restored"
    );
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_on_another_util_address_keeps_one_subscription_per_webhook() {
    let data = tempfile::tempdir().unwrap();
    let config = || Config {
        data_dir: data.path().to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    let first = dev::start(config(), Services::ALL).await.unwrap();
    let first_util = first.util_addr.unwrap();
    first.stop().await;
    let second = dev::start(config(), Services::ALL).await.unwrap();
    let second_util = second.util_addr.unwrap();
    assert_ne!(first_util, second_util);

    let messaging =
        gas_messaging::local::LocalMessaging::open(&data.path().join("messaging.sqlite")).unwrap();
    assert_only_util_subscribed(&messaging, second_util).await;

    // An admin command (or a web process) configured with other addresses
    // leaves util's subscriptions where they are.
    let elsewhere = Config {
        util_addr: "127.0.0.1:9".parse().unwrap(),
        ..config()
    };
    gas::users::add_user(
        &gas::system::open(&elsewhere).await.unwrap().0,
        "admin-made@example.org",
        Role::Free,
        None,
    )
    .await
    .unwrap();
    let web_only = dev::start(
        elsewhere,
        Services {
            web: true,
            ann: false,
            util: false,
        },
    )
    .await
    .unwrap();
    assert_only_util_subscribed(&messaging, second_util).await;
    web_only.stop().await;
    second.stop().await;
}

/// Each webhook topic has one HTTP subscription, to `util`.
async fn assert_only_util_subscribed(
    messaging: &gas_messaging::local::LocalMessaging,
    util: std::net::SocketAddr,
) {
    for webhook in ["archive", "restore", "thaw"] {
        let topic = messaging.topic(&format!("gas-{webhook}")).unwrap();
        let endpoints: Vec<String> = topic
            .http_subscriptions()
            .await
            .unwrap()
            .into_iter()
            .map(|(_, endpoint)| endpoint)
            .collect();
        assert_eq!(
            endpoints,
            vec![format!("http://{util}/{webhook}")],
            "{webhook}: only util's own address may be subscribed"
        );
    }
}

/// A web process that dies between recording a job and queueing its request
/// leaves a PENDING job nothing would run: the owner's next look at it after
/// `requeue_after` queues the request again, and the job runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_whose_request_was_lost_runs_once_its_owner_looks() {
    let system = System::start(60, |c| c.requeue_after = 1).await;
    let (user, token) =
        gas::users::add_user(&system.running.ports, "lost@example.org", Role::Free, None)
            .await
            .unwrap();
    // What submitting does up to the crash: the input stored, the job
    // recorded; its request is never published.
    let job_id = &uuid::Uuid::new_v4().to_string();
    let key = format!("gas/{}/{job_id}~test.vcf", user.user_id);
    let inputs = &system.running.ports.inputs;
    inputs
        .put(&key, gas_storage::bytes_stream(test_vcf()))
        .await
        .unwrap();
    let job = gas_jobs::Job::new_pending(
        job_id,
        &user.user_id,
        "test.vcf",
        inputs.bucket(),
        &key,
        gas_jobs::now_epoch(),
    );
    system.running.ports.jobs.create(&job).await.unwrap();

    // Nothing runs it while nobody looks.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let record = system.record(job_id).await;
    assert_eq!(record.job_status, gas_jobs::JobStatus::Pending);
    assert_eq!(record.requeued_at, None);

    // The owner looks (the API's job detail): requeued, annotated, done.
    let shown = system.api.completed(&token, job_id).await;
    assert_eq!(shown["results_state"], "available");
    assert!(
        shown.get("requeued_at").is_none(),
        "bookkeeping stays internal"
    );
    let record = system.record(job_id).await;
    assert!(record.requeued_at.is_some(), "the stall was recorded");
    let results = system.api.download(&token, job_id).await;
    assert!(String::from_utf8(results).unwrap().contains("VC="));
}
