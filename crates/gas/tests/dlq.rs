//! `gas dlq list|show|redrive` on both backends: the functions of
//! `gas::dlq` on the embedded backend, in process, and the `gas` command
//! itself on the embedded backend and on the AWS adapters against moto
//! (`GAS_TEST_AWS_ENDPOINT`; without it the AWS test says so and passes,
//! unless `GAS_REQUIRE_AWS_TESTS=1`).
//!
//! Messages reach a dead-letter queue the way they do in production (a
//! source queue received `max_receives` times without a delete) and by a
//! send to the dead-letter queue itself.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gas::config::{Backend, Config};
use gas::dlq::{self, DeadLetterQueue};
use gas_messaging::aws::SqsQueue;
use gas_messaging::Queue;

/// Long enough that a message hidden by a receive stays hidden for the
/// whole test unless something makes it visible again.
const VISIBILITY: u64 = 30;
const MAX_RECEIVES: u32 = 2;

/// Receives `body` from `queue` `max_receives` times without deleting it,
/// then once more: the adapter (or SQS) moves it to the dead-letter queue.
async fn dead_letter(queue: &dyn Queue, body: &str, max_receives: u32) {
    let id = queue.send(body).await.unwrap();
    for attempt in 1..=max_receives {
        let got = queue.receive(10, Duration::from_secs(2)).await.unwrap();
        let message = got
            .iter()
            .find(|m| m.message_id == id)
            .unwrap_or_else(|| panic!("receive {attempt} of {body:?}: got {got:?}"));
        // A failed handling that retries at once.
        queue
            .change_visibility(&message.receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    let got = queue.receive(10, Duration::from_secs(1)).await.unwrap();
    assert!(
        got.iter().all(|m| m.message_id != id),
        "{body:?} was delivered a further time instead of dead-lettered"
    );
}

/// Receives everything `queue` offers now (the messages stay hidden).
async fn drain_bodies(queue: &dyn Queue) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let got = queue.receive(10, Duration::from_secs(1)).await.unwrap();
        if got.is_empty() {
            return bodies;
        }
        for m in got {
            queue.delete(&m.receipt).await.unwrap();
            bodies.push(m.body);
        }
    }
}

fn depth_of(listed: &[dlq::Listed], queue: &str) -> u64 {
    listed
        .iter()
        .find(|l| l.queue == queue)
        .unwrap_or_else(|| panic!("{queue} not listed: {listed:?}"))
        .depth
}

fn named<'a>(queues: &'a [DeadLetterQueue], name: &str) -> &'a DeadLetterQueue {
    dlq::find(queues, name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_and_redrive_on_the_embedded_backend() {
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        backend: Backend::Embedded,
        data_dir: data.path().to_path_buf(),
        visibility_timeout: VISIBILITY,
        max_receives: MAX_RECEIVES,
        ..Config::default()
    };
    let (ports, _extras) = gas::system::open(&config).await.unwrap();

    // An archive request that failed max_receives times, and twelve job
    // requests put straight into their dead-letter queue.
    let archive_body = r#"{"job_id": "job-archive-1"}"#;
    dead_letter(ports.archive_queue.as_ref(), archive_body, MAX_RECEIVES).await;
    let queues = dlq::open(&config).await.unwrap();
    let requests = named(&queues, "requests");
    let request_bodies: BTreeSet<String> = (0..12)
        .map(|i| format!(r#"{{"job_id": "job-{i}", "user_id": "u"}}"#))
        .collect();
    for body in &request_bodies {
        requests.dlq.send(body).await.unwrap();
    }

    // list: every dead-letter queue with its source, restore has none.
    let listed = dlq::list(&queues).await.unwrap();
    let names: Vec<_> = listed
        .iter()
        .map(|l| (l.queue.as_str(), l.source.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("gas-requests-dlq", "gas-requests"),
            ("gas-results-dlq", "gas-results"),
            ("gas-archive-dlq", "gas-archive"),
            ("gas-thaw-dlq", "gas-thaw"),
        ]
    );
    assert_eq!(depth_of(&listed, "gas-archive-dlq"), 1);
    assert_eq!(depth_of(&listed, "gas-requests-dlq"), 12);
    assert_eq!(depth_of(&listed, "gas-results-dlq"), 0);
    assert_eq!(depth_of(&listed, "gas-thaw-dlq"), 0);

    // Names: short, the dead-letter queue's, the source's; restore has none.
    let archive = named(&queues, "archive");
    assert_eq!(archive.dlq.name(), "gas-archive-dlq");
    assert_eq!(named(&queues, "gas-archive-dlq").channel, "archive");
    assert_eq!(named(&queues, "gas-archive").channel, "archive");
    assert!(dlq::find(&queues, "restore").is_err());
    assert!(dlq::find(&queues, "gas-restore-dlq").is_err());

    // show: the message, left in the queue and visible again at once.
    let before = std::time::SystemTime::now();
    let shown = dlq::show(archive, 10).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].body, archive_body);
    assert!(shown[0].receive_count >= 1);
    let sent_at = shown[0]
        .sent_at
        .expect("the embedded queue records sent_at");
    assert!(sent_at <= before);
    let again = dlq::show(archive, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|m| &m.message_id).collect::<Vec<_>>(),
        [&shown[0].message_id],
        "a second show (within the {VISIBILITY} s visibility) sees the message again"
    );
    assert_eq!(archive.dlq.depth().await.unwrap(), 1);

    // show --max: at most max, all distinct, over several receives.
    let five = dlq::show(requests, 5).await.unwrap();
    assert_eq!(five.len(), 5);
    let all = dlq::show(requests, 50).await.unwrap();
    let bodies: BTreeSet<String> = all.iter().map(|m| m.body.clone()).collect();
    assert_eq!(all.len(), 12, "twelve distinct messages: {all:?}");
    assert_eq!(bodies, request_bodies);
    assert!(dlq::show(requests, 0).await.unwrap().is_empty());
    assert_eq!(requests.dlq.depth().await.unwrap(), 12);

    // redrive: back in the source queue with the same body, gone from the
    // dead-letter queue; again, it moves nothing.
    let done = dlq::redrive(archive).await.unwrap();
    assert_eq!((done.moved, done.left), (1, 0));
    assert_eq!(archive.dlq.depth().await.unwrap(), 0);
    assert_eq!(archive.source.depth().await.unwrap(), 1);
    let back = ports
        .archive_queue
        .receive(10, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, archive_body);
    assert_eq!(back[0].receive_count, 1, "a fresh message in the source");
    ports.archive_queue.delete(&back[0].receipt).await.unwrap();
    assert_eq!(dlq::redrive(archive).await.unwrap().moved, 0);

    let done = dlq::redrive(requests).await.unwrap();
    assert_eq!((done.moved, done.left), (12, 0));
    assert_eq!(requests.dlq.depth().await.unwrap(), 0);
    let moved: BTreeSet<String> = drain_bodies(ports.requests_queue.as_ref())
        .await
        .into_iter()
        .collect();
    assert_eq!(moved, request_bodies);
    let listed = dlq::list(&queues).await.unwrap();
    assert!(listed.iter().all(|l| l.depth == 0), "{listed:?}");

    // A message sent after the redrive began (a new failure, or a moved one
    // that failed again meanwhile) is left, visible, for the next run. The
    // test dates one so by moving its sent time forward in the file.
    let thaw = named(&queues, "thaw");
    thaw.dlq.send("late").await.unwrap();
    let db = gas_sqlite::rusqlite::Connection::open(data.path().join("messaging.sqlite")).unwrap();
    let changed = db
        .execute(
            "UPDATE queue_messages SET sent_at = sent_at + 3600000 WHERE body = 'late'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let done = dlq::redrive(thaw).await.unwrap();
    assert_eq!((done.moved, done.left), (0, 1));
    assert_eq!(thaw.source.depth().await.unwrap(), 0);
    let shown = dlq::show(thaw, 10).await.unwrap();
    assert_eq!(shown.len(), 1, "left visible: {shown:?}");
    assert_eq!(shown[0].body, "late");
}

/// Runs `gas` with `env`; returns its exit status and standard output.
fn gas(env: &[(&str, String)], args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn gas_ok(env: &[(&str, String)], args: &[&str]) -> String {
    let (ok, out) = gas(env, args);
    assert!(ok, "gas {args:?} failed; output:\n{out}");
    out
}

/// The depth `gas dlq list` printed for `queue`, checking its source.
fn listed_depth(out: &str, queue: &str, source: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(queue))
        .unwrap_or_else(|| panic!("{queue} not in:\n{out}"));
    let fields: Vec<_> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert_eq!(fields[2], source, "{line}");
    fields[1].parse().unwrap()
}

/// `gas dlq list|show|redrive` with the configuration of `env`, on an
/// installation whose `archive` dead-letter queue holds `archive_body` and
/// `requests` dead-letter queue holds `requests`.
fn cli_checks(env: &[(&str, String)], prefix: &str, archive_body: &str, requests: usize) {
    let dlq_name = |what: &str| format!("{prefix}-{what}-dlq");
    let source = |what: &str| format!("{prefix}-{what}");

    let out = gas_ok(env, &["dlq", "list"]);
    assert_eq!(out.lines().count(), 5, "a header and four queues:\n{out}");
    assert!(!out.contains("restore"), "restore has no dead-letter queue");
    assert_eq!(
        listed_depth(&out, &dlq_name("archive"), &source("archive")),
        1
    );
    assert_eq!(
        listed_depth(&out, &dlq_name("requests"), &source("requests")),
        requests as u64
    );
    assert_eq!(
        listed_depth(&out, &dlq_name("results"), &source("results")),
        0
    );
    assert_eq!(listed_depth(&out, &dlq_name("thaw"), &source("thaw")), 0);

    for name in ["archive".to_string(), dlq_name("archive")] {
        let out = gas_ok(env, &["dlq", "show", &name]);
        assert!(
            out.starts_with(&format!("{}: 1 message shown", dlq_name("archive"))),
            "{out}"
        );
        assert!(out.contains(&format!("  {archive_body}\n")), "{out}");
        assert!(out.contains("received "), "{out}");
        assert!(out.contains(", sent 20"), "{out}");
    }
    let out = gas_ok(env, &["dlq", "show", "requests", "--max", "2"]);
    assert!(out.contains(": 2 messages shown"), "{out}");
    let (ok, _) = gas(env, &["dlq", "show", "restore"]);
    assert!(!ok, "restore has no dead-letter queue to show");

    let out = gas_ok(env, &["dlq", "redrive", "archive"]);
    assert_eq!(
        out.trim(),
        format!(
            "moved 1 message from {} to {}",
            dlq_name("archive"),
            source("archive")
        )
    );
    let out = gas_ok(env, &["dlq", "redrive", "archive"]);
    assert!(out.starts_with("moved 0 messages"), "{out}");
    let out = gas_ok(env, &["dlq", "redrive", &dlq_name("requests")]);
    assert!(
        out.starts_with(&format!("moved {requests} messages")),
        "{out}"
    );
    let out = gas_ok(env, &["dlq", "list"]);
    assert_eq!(
        listed_depth(&out, &dlq_name("archive"), &source("archive")),
        0
    );
    assert_eq!(
        listed_depth(&out, &dlq_name("requests"), &source("requests")),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gas_dlq_command_on_the_embedded_backend() {
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("GAS_BACKEND", "embedded".to_string()),
        ("GAS_DATA_DIR", data.path().display().to_string()),
        ("GAS_AWS_PREFIX", "gas".to_string()),
        ("GAS_VISIBILITY_TIMEOUT", VISIBILITY.to_string()),
        ("GAS_MAX_RECEIVES", MAX_RECEIVES.to_string()),
    ];
    // No installation yet: an error, and nothing made.
    let (ok, _) = gas(&env, &["dlq", "list"]);
    assert!(!ok, "gas dlq list without an installation");
    assert!(!data.path().join("messaging.sqlite").exists());

    let config = Config {
        backend: Backend::Embedded,
        data_dir: data.path().to_path_buf(),
        visibility_timeout: VISIBILITY,
        max_receives: MAX_RECEIVES,
        ..Config::default()
    };
    let (ports, _extras) = gas::system::open(&config).await.unwrap();
    let archive_body = r#"{"job_id": "cli-archive"}"#;
    dead_letter(ports.archive_queue.as_ref(), archive_body, MAX_RECEIVES).await;
    let queues = dlq::open(&config).await.unwrap();
    for i in 0..3 {
        named(&queues, "requests")
            .dlq
            .send(&format!(r#"{{"job_id": "cli-{i}"}}"#))
            .await
            .unwrap();
    }

    let cli_env = env.clone();
    tokio::task::spawn_blocking(move || cli_checks(&cli_env, "gas", archive_body, 3))
        .await
        .unwrap();
    let back = drain_bodies(ports.archive_queue.as_ref()).await;
    assert_eq!(back, [archive_body]);
    assert_eq!(drain_bodies(ports.requests_queue.as_ref()).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gas_dlq_command_on_aws() {
    let Some(endpoint) = gas_testkit::aws_endpoint("the_gas_dlq_command_on_aws") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = format!("dlq{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let env = vec![
        ("GAS_BACKEND", "aws".to_string()),
        ("GAS_AWS_ENDPOINT_URL", endpoint.clone()),
        ("GAS_AWS_PREFIX", prefix.clone()),
        ("GAS_DATA_DIR", scratch.path().display().to_string()),
        ("GAS_VISIBILITY_TIMEOUT", VISIBILITY.to_string()),
        ("GAS_MAX_RECEIVES", MAX_RECEIVES.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", gas_testkit::REGION.to_string()),
    ];
    let provision_env = env.clone();
    tokio::task::spawn_blocking(move || gas_ok(&provision_env, &["provision"]))
        .await
        .unwrap();

    let sdk = gas_testkit::sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let open = |name: String| {
        let sqs = sqs.clone();
        async move {
            let url = sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("queue {name}: {e:?}"))
                .queue_url
                .unwrap();
            Arc::new(SqsQueue::new(sqs, url))
        }
    };
    let archive = open(format!("{prefix}-archive")).await;
    let archive_dlq = open(format!("{prefix}-archive-dlq")).await;
    let requests = open(format!("{prefix}-requests")).await;
    let requests_dlq = open(format!("{prefix}-requests-dlq")).await;

    // SQS moves a message received max_receives times (the provisioned
    // redrive policy), and a few go straight into the requests DLQ.
    let archive_body = r#"{"job_id": "aws-archive"}"#;
    dead_letter(archive.as_ref(), archive_body, MAX_RECEIVES).await;
    for i in 0..3 {
        requests_dlq
            .send(&format!(r#"{{"job_id": "aws-{i}"}}"#))
            .await
            .unwrap();
    }
    assert_eq!(archive_dlq.depth().await.unwrap(), 1);

    let cli_env = env.clone();
    let cli_prefix = prefix.clone();
    tokio::task::spawn_blocking(move || cli_checks(&cli_env, &cli_prefix, archive_body, 3))
        .await
        .unwrap();

    assert_eq!(archive_dlq.depth().await.unwrap(), 0);
    assert_eq!(requests_dlq.depth().await.unwrap(), 0);
    assert_eq!(drain_bodies(archive.as_ref()).await, [archive_body]);
    let moved: BTreeSet<String> = drain_bodies(requests.as_ref()).await.into_iter().collect();
    assert_eq!(
        moved,
        (0..3)
            .map(|i| format!(r#"{{"job_id": "aws-{i}"}}"#))
            .collect::<BTreeSet<_>>()
    );
}
