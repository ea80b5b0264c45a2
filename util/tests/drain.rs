//! The drainer keeps every message of a received batch invisible until its
//! turn is over. The chaos scale-out on moto found the tail of a batch
//! handled twice: ten archive messages received at once, each taking longer
//! under load, outlived the visibility timeout while they waited, and the
//! other util process received and archived them again (and every extra
//! receive counts towards the dead-letter queue).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gas_messaging::local::{LocalMessaging, QueueSettings, Redrive};
use gas_messaging::Queue;
use gas_util::{Disposition, Drainer, MessageHandler};

/// Counts how often each body was handled; each takes `delay`; up to
/// `concurrency` at once, the most seen at once in `peak`.
struct Slow {
    delay: Duration,
    handled: Mutex<HashMap<String, usize>>,
    concurrency: usize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Slow {
    fn new(delay: Duration, concurrency: usize) -> Self {
        Slow {
            delay,
            handled: Mutex::default(),
            concurrency,
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl MessageHandler for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    async fn handle(&self, body: &str) -> anyhow::Result<Disposition> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        *self
            .handled
            .lock()
            .unwrap()
            .entry(body.to_string())
            .or_insert(0) += 1;
        Ok(Disposition::Done)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_outlasting_the_visibility_timeout_is_handled_once_by_two_drainers() {
    let visibility = Duration::from_secs(1);
    let messaging = LocalMessaging::open_in_memory().unwrap();
    let queue = |_| {
        Arc::new(
            messaging
                .queue(
                    "work",
                    QueueSettings {
                        visibility_timeout: visibility,
                        redrive: Some(Redrive {
                            dead_letter_queue: "work-dlq".into(),
                            max_receives: 2,
                        }),
                    },
                )
                .unwrap(),
        )
    };
    let (a, b) = (queue(0), queue(1));
    for n in 0..10 {
        a.send(&format!("m{n}")).await.unwrap();
    }
    // Ten messages of 300 ms each: the batch takes 3 s, three timeouts.
    let handler = Arc::new(Slow::new(Duration::from_millis(300), 1));
    let first = Drainer::new(a.clone(), handler.clone(), visibility);
    let second = Drainer::new(b, handler.clone(), visibility);
    let one = tokio::spawn(async move { first.drain().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The second drainer keeps looking while the first works through its batch.
    let two = tokio::spawn(async move {
        let mut done = 0;
        for _ in 0..40 {
            done += second.drain().await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done
    });
    let (one, two) = (one.await.unwrap(), two.await.unwrap());

    let handled = handler.handled.lock().unwrap().clone();
    let twice: Vec<_> = handled.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    assert_eq!(handled.len(), 10, "{handled:?}");
    assert_eq!(one + two, 10);
    assert_eq!(a.depth().await.unwrap(), 0);
    let dlq = messaging
        .queue("work-dlq", QueueSettings::default())
        .unwrap();
    assert_eq!(dlq.depth().await.unwrap(), 0, "nothing dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_takes_as_many_of_a_batch_at_once_as_it_allows() {
    let messaging = LocalMessaging::open_in_memory().unwrap();
    let queue = Arc::new(messaging.queue("mail", QueueSettings::default()).unwrap());
    for n in 0..25 {
        queue.send(&format!("m{n}")).await.unwrap();
    }
    let handler = Arc::new(Slow::new(Duration::from_millis(200), 4));
    let drainer = Drainer::new(queue.clone(), handler.clone(), Duration::from_secs(30));
    let started = std::time::Instant::now();
    assert_eq!(drainer.drain().await.unwrap(), 25);
    // Batches of ten, four at a time: 3 + 3 + 2 rounds of 200 ms, where
    // one at a time would take 5 s.
    assert_eq!(handler.peak.load(Ordering::SeqCst), 4);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let handled = handler.handled.lock().unwrap().clone();
    assert_eq!(handled.len(), 25);
    assert!(handled.values().all(|&n| n == 1), "{handled:?}");
    assert_eq!(queue.depth().await.unwrap(), 0);
}
