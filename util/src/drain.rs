use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use gas_messaging::{Queue, QueueMessage};
use tokio::sync::{watch, Mutex};
use tracing::{debug, warn, Instrument};

/// What to do with a message after handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Its effect is done: delete it.
    Done,
    /// Not finished (e.g. a retrieval still running): look again after this.
    RetryAfter(Duration),
    /// It can never be handled: leave it for the dead-letter queue.
    Poison,
}

/// Handles one message body. Must be idempotent: deliveries repeat.
#[async_trait]
pub trait MessageHandler: Send + Sync {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;

    /// How many messages of a received batch it handles at once. One by
    /// default: the handlers that move results hold up to 32 MiB of parts
    /// each, and `gas util` stays under 64 MiB (docs/BENCHMARKS.md); those
    /// that only wait on a service (e-mail) may take a whole batch at once.
    fn concurrency(&self) -> usize {
        1
    }

    async fn handle(&self, body: &str) -> anyhow::Result<Disposition>;
}

/// Drains a queue into a handler: receives up to ten at a time until the
/// queue has nothing visible, keeping each message invisible while its
/// handler runs (archives of large files take a while).
pub struct Drainer {
    queue: Arc<dyn Queue>,
    handler: Arc<dyn MessageHandler>,
    visibility: Duration,
    running: Mutex<()>,
    again: AtomicBool,
}

impl Drainer {
    /// `visibility` is the queue's visibility timeout; the drainer renews it
    /// at a third of that while a handler runs.
    pub fn new(
        queue: Arc<dyn Queue>,
        handler: Arc<dyn MessageHandler>,
        visibility: Duration,
    ) -> Self {
        Drainer {
            queue,
            handler,
            visibility,
            running: Mutex::new(()),
            again: AtomicBool::new(false),
        }
    }

    pub fn name(&self) -> &'static str {
        self.handler.name()
    }

    /// Receives and handles until a receive comes back empty; returns how
    /// many messages were handled to completion (deleted).
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut done = 0;
        loop {
            // Only as many as are handled at once: a received message counts
            // towards the dead-letter queue, and one waiting in a batch when
            // the process dies has been received for nothing.
            let at_once = self.handler.concurrency().clamp(1, 10);
            let batch = self.queue.receive(at_once, Duration::ZERO).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            // Every message of the batch stays invisible until its own turn
            // is over, not only the one being handled: otherwise the tail of
            // a slow batch times out while it waits, another process handles
            // it too, and each extra receive counts towards the dead-letter
            // queue.
            let keepalives: Vec<KeepAlive> = batch
                .iter()
                .map(|m| self.spawn_keepalive(&m.receipt))
                .collect();
            done +=
                futures::stream::iter(batch.into_iter().zip(keepalives))
                    .map(|(message, keepalive)| async move {
                        self.handle_one(&message, keepalive).await
                    })
                    .buffer_unordered(self.handler.concurrency().max(1))
                    .filter(|&deleted| std::future::ready(deleted))
                    .count()
                    .await;
        }
    }

    /// Starts a drain in the background unless one is running, in which case
    /// that one drains once more when it ends (so nothing sent meanwhile waits
    /// for the periodic drain).
    pub fn trigger(self: &Arc<Self>) {
        self.again.store(true, Ordering::SeqCst);
        let this = Arc::clone(self);
        tokio::spawn(
            async move {
                let Ok(_guard) = this.running.try_lock() else {
                    return;
                };
                while this.again.swap(false, Ordering::SeqCst) {
                    if let Err(e) = this.drain().await {
                        warn!(error = format!("{e:#}"), "drain failed");
                    }
                }
            }
            .in_current_span(),
        );
    }

    /// Drains every `every` until `shutdown`: the safety net for messages
    /// whose notification never came.
    pub async fn run_periodic(
        self: Arc<Self>,
        every: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        // The first drain comes one period after start, not at once: a
        // process that just started has its webhooks for what is new.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                _ = tick.tick() => self.trigger(),
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    async fn handle_one(&self, message: &QueueMessage, keepalive: KeepAlive) -> bool {
        let name = self.handler.name();
        let result = self.handler.handle(&message.body).await;
        drop(keepalive);
        let disposition = match result {
            Ok(d) => d,
            Err(e) => {
                // Transient until proven otherwise: it comes back after the
                // visibility timeout, and the redrive policy bounds retries.
                warn!(handler = name, message_id = %message.message_id, error = format!("{e:#}"), "handler failed; will retry");
                metrics::counter!("gas_util_messages_total", "handler" => name, "result" => "error").increment(1);
                return false;
            }
        };
        let outcome = match disposition {
            Disposition::Done => self.queue.delete(&message.receipt).await.map(|_| "done"),
            Disposition::RetryAfter(after) => self
                .queue
                .change_visibility(&message.receipt, after)
                .await
                .map(|_| "retry"),
            Disposition::Poison => Ok("poison"),
        };
        match outcome {
            Ok(result) => {
                debug!(handler = name, message_id = %message.message_id, result, "message handled");
                metrics::counter!("gas_util_messages_total", "handler" => name, "result" => result)
                    .increment(1);
                result == "done"
            }
            Err(e) => {
                warn!(handler = name, error = %e, "could not settle the message");
                false
            }
        }
    }

    fn spawn_keepalive(&self, receipt: &str) -> KeepAlive {
        let queue = Arc::clone(&self.queue);
        let receipt = receipt.to_string();
        let visibility = self.visibility;
        KeepAlive(tokio::spawn(async move {
            let every = (visibility / 3).max(Duration::from_millis(200));
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = queue.change_visibility(&receipt, visibility).await {
                    warn!(error = %e, "could not extend a message's visibility");
                }
            }
        }))
    }
}

/// Renews a received message's visibility until dropped (also when a drain
/// is dropped midway: the message then comes back after the timeout).
struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}
