//! The conformance suites against the embedded adapters, and what only the
//! embedded backend promises: processes sharing one database file.

use std::sync::Arc;
use std::time::Duration;

use gas_messaging::conformance;
use gas_messaging::local::{LocalMessaging, QueueSettings, Redrive};
use gas_messaging::{Queue, Timer, Topic};
use tokio::sync::watch;

use crate::support::messaging;

const VISIBILITY: Duration = Duration::from_secs(1);

fn settings() -> QueueSettings {
    QueueSettings {
        visibility_timeout: VISIBILITY,
        redrive: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queue_passes_the_queue_suite() {
    let (m, _dir) = messaging();
    let queue = m.queue("conformance", settings()).unwrap();
    conformance::queue::suite(&queue, VISIBILITY).await;
    assert_eq!(queue.depth().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queue_redrives_to_its_dead_letter_queue() {
    let (m, _dir) = messaging();
    let dlq = m.queue("conformance-dlq", settings()).unwrap();
    let queue = m
        .queue(
            "conformance",
            QueueSettings {
                visibility_timeout: VISIBILITY,
                redrive: Some(Redrive {
                    dead_letter_queue: dlq.name().to_owned(),
                    max_receives: 2,
                }),
            },
        )
        .unwrap();
    conformance::queue::redrive(&queue, &dlq, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_topic_passes_the_topic_suite() {
    let (m, _dir) = messaging();
    let topic = m.topic("conformance").unwrap();
    let a = m.queue("fan-out-a", settings()).unwrap();
    let b = m.queue("fan-out-b", settings()).unwrap();
    let sub_a = topic.subscribe_queue(a.name()).await.unwrap();
    assert_eq!(
        topic.subscribe_queue(a.name()).await.unwrap(),
        sub_a,
        "subscribe is idempotent"
    );
    topic.subscribe_queue(b.name()).await.unwrap();
    assert_eq!(topic.arn(), "arn:aws:sns:local:000000000000:conformance");
    conformance::topic::fan_out(&topic, &a, &b).await;
    assert_eq!(a.depth().await.unwrap(), 0, "each message once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_timer_passes_the_timer_suite() {
    let (m, _dir) = messaging();
    let topic = m.topic("archive").unwrap();
    let queue = m.queue("archive", settings()).unwrap();
    topic.subscribe_queue(queue.name()).await.unwrap();
    let timer = m.timer("archive", Arc::new(topic)).unwrap();
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(timer.clone().run(Duration::from_millis(100), shutdown));
    conformance::timer::delayed_publish(&timer, &queue).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("the timer loop stops on shutdown")
        .unwrap();
}

/// Two handles on one file stand for two processes of one installation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_share_queues_and_timers_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messaging.sqlite");
    let web = LocalMessaging::open(&path).unwrap();
    let util = LocalMessaging::open(&path).unwrap();

    // A long poll in one process sees a send of the other (by polling).
    let sender = web.queue("requests", settings()).unwrap();
    let receiver = util.queue("requests", settings()).unwrap();
    let started = tokio::time::Instant::now();
    let (got, _) = tokio::join!(receiver.receive(10, Duration::from_secs(5)), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sender.send("hello").await.unwrap()
    });
    assert_eq!(got.unwrap()[0].body, "hello");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A timer started by one process fires from another after a restart.
    let topic = web.topic("archive").unwrap();
    topic.subscribe_queue("archive").await.unwrap();
    let timer = web.timer("archive", Arc::new(topic)).unwrap();
    timer
        .start("job-1", r#"{"job_id":"job-1"}"#, Duration::from_millis(300))
        .await
        .unwrap();
    drop((timer, web));

    let reopened = LocalMessaging::open(&path).unwrap();
    let timer = reopened
        .timer("archive", Arc::new(reopened.topic("archive").unwrap()))
        .unwrap();
    assert_eq!(timer.fire_due().await.unwrap(), 0, "not due yet");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(timer.fire_due().await.unwrap(), 1);
    let archive = util.queue("archive", settings()).unwrap();
    let got = archive.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, r#"{"job_id":"job-1"}"#);
}
