//! `gas dlq list|show|redrive`: the dead-letter queues of an installation,
//! for operators.
//!
//! Every queue but restore moves a message that failed `max_receives` times
//! to `<prefix>-<queue>-dlq` (the embedded backend's queues and
//! `gas provision` name them so, and so does Terraform). [`open`] opens
//! those queues and their sources only, no other resource, so on AWS the
//! commands need SQS permissions on eight queues and nothing else; the
//! functions below take the opened queues and return what `main.rs` prints.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use gas_messaging::local::{LocalMessaging, QueueSettings, Redrive};
use gas_messaging::{MessagingError, Queue, QueueMessage};

use crate::config::{Backend, Config};

/// The queues with a dead-letter queue (restore has none: a restore request
/// stays queued while its retrievals run).
pub const DEAD_LETTERED: [&str; 4] = ["requests", "results", "archive", "thaw"];

/// The most messages one receive returns.
const BATCH: usize = 10;
/// How long a receive waits for a first message. Long polling (above zero)
/// makes SQS look at all its servers, so an empty answer means empty.
const POLL: Duration = Duration::from_secs(1);

/// A dead-letter queue and the queue whose failed messages it holds.
#[derive(Clone)]
pub struct DeadLetterQueue {
    /// The source queue's short name: `requests`, `results`, `archive` or
    /// `thaw`.
    pub channel: &'static str,
    /// Where the failed messages came from, and where redrive puts them.
    pub source: Arc<dyn Queue>,
    pub dlq: Arc<dyn Queue>,
}

impl DeadLetterQueue {
    /// Whether `name` names this dead-letter queue: the short name
    /// (`archive`), the dead-letter queue's name (`gas-archive-dlq`) or the
    /// source queue's (`gas-archive`).
    pub fn is_named(&self, name: &str) -> bool {
        name == self.channel || name == self.dlq.name() || name == self.source.name()
    }
}

/// Opens every dead-letter queue of the configured installation with its
/// source queue, in the order of [`DEAD_LETTERED`]. Makes nothing: a missing
/// queue (or, embedded, a missing data directory) is an error.
pub async fn open(config: &Config) -> Result<Vec<DeadLetterQueue>> {
    match config.backend {
        Backend::Embedded => open_embedded(config),
        Backend::Aws => open_aws(config).await,
    }
}

fn open_embedded(config: &Config) -> Result<Vec<DeadLetterQueue>> {
    let path = config.data_dir.join("messaging.sqlite");
    if !Path::new(&path).is_file() {
        bail!(
            "no embedded installation in {} (no messaging.sqlite): set --data-dir or GAS_DATA_DIR",
            config.data_dir.display()
        );
    }
    let messaging = LocalMessaging::open(&path)?;
    let mut queues = Vec::new();
    for channel in DEAD_LETTERED {
        let dlq_name = config.aws_name(&format!("{channel}-dlq"));
        // The settings of embedded.rs; only what a receive does depends on
        // them, and redrive only sends to the source.
        let source = messaging.queue(
            &config.aws_name(channel),
            QueueSettings {
                visibility_timeout: config.visibility(),
                redrive: Some(Redrive {
                    dead_letter_queue: dlq_name.clone(),
                    max_receives: config.max_receives,
                }),
            },
        )?;
        let dlq = messaging.queue(
            &dlq_name,
            QueueSettings {
                visibility_timeout: config.visibility(),
                redrive: None,
            },
        )?;
        queues.push(DeadLetterQueue {
            channel,
            source: Arc::new(source),
            dlq: Arc::new(dlq),
        });
    }
    Ok(queues)
}

async fn open_aws(config: &Config) -> Result<Vec<DeadLetterQueue>> {
    let sdk = crate::aws::sdk_config(config).await;
    if sdk.region().is_none() {
        bail!("no AWS region configured (set AWS_REGION)");
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut queues = Vec::new();
    for channel in DEAD_LETTERED {
        let mut opened = Vec::new();
        for name in [
            config.aws_name(channel),
            config.aws_name(&format!("{channel}-dlq")),
        ] {
            let url = sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
                .with_context(|| {
                    format!("queue {name} not found (is GAS_AWS_PREFIX the installation's?)")
                })?
                .queue_url
                .context("GetQueueUrl returned no URL")?;
            opened.push(
                Arc::new(gas_messaging::aws::SqsQueue::new(sqs.clone(), url)) as Arc<dyn Queue>,
            );
        }
        let dlq = opened.pop().context("two queues opened")?;
        let source = opened.pop().context("two queues opened")?;
        queues.push(DeadLetterQueue {
            channel,
            source,
            dlq,
        });
    }
    Ok(queues)
}

/// The dead-letter queue `name` names (see [`DeadLetterQueue::is_named`]).
pub fn find<'a>(queues: &'a [DeadLetterQueue], name: &str) -> Result<&'a DeadLetterQueue> {
    if let Some(found) = queues.iter().find(|q| q.is_named(name)) {
        return Ok(found);
    }
    if name == "restore" || name.ends_with("-restore") || name.ends_with("-restore-dlq") {
        bail!(
            "the restore queue has no dead-letter queue: \
             a restore request stays queued while its retrievals run"
        );
    }
    let known: Vec<_> = queues
        .iter()
        .map(|q| format!("{} ({})", q.channel, q.dlq.name()))
        .collect();
    bail!(
        "no dead-letter queue {name:?}; there are: {}",
        known.join(", ")
    )
}

/// One line of `gas dlq list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub queue: String,
    pub source: String,
    /// Approximately how many messages the dead-letter queue holds
    /// ([`Queue::depth`]).
    pub depth: u64,
}

/// `gas dlq list`: every dead-letter queue with its depth and source queue.
pub async fn list(queues: &[DeadLetterQueue]) -> Result<Vec<Listed>> {
    let mut listed = Vec::with_capacity(queues.len());
    for q in queues {
        let depth = q
            .dlq
            .depth()
            .await
            .with_context(|| format!("counting the messages of {}", q.dlq.name()))?;
        listed.push(Listed {
            queue: q.dlq.name().to_owned(),
            source: q.source.name().to_owned(),
            depth,
        });
    }
    Ok(listed)
}

/// A message of a dead-letter queue, as `gas dlq show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadMessage {
    pub message_id: String,
    pub body: String,
    /// How many times it has been received, the failed deliveries from the
    /// source queue included on SQS (the embedded queue counts afresh in the
    /// dead-letter queue), and this look included.
    pub receive_count: u32,
    /// When it was sent to the source queue.
    pub sent_at: Option<SystemTime>,
}

impl From<QueueMessage> for DeadMessage {
    fn from(m: QueueMessage) -> Self {
        DeadMessage {
            message_id: m.message_id,
            body: m.body,
            receive_count: m.receive_count,
            sent_at: m.sent_at,
        }
    }
}

/// `gas dlq show`: up to `max` messages of the dead-letter queue, left in
/// it. Each is received (and so hidden for the queue's visibility timeout)
/// until `max` are in hand or no other one comes, then all are made visible
/// again at once (visibility 0). A message in flight elsewhere is not seen.
pub async fn show(queue: &DeadLetterQueue, max: usize) -> Result<Vec<DeadMessage>> {
    let dlq = queue.dlq.as_ref();
    let mut held: Vec<QueueMessage> = Vec::new();
    let looked = async {
        while held.len() < max {
            let got = dlq.receive((max - held.len()).min(BATCH), POLL).await?;
            let mut new = 0;
            for message in got {
                // Seen again (its visibility ran out): keep the latest receipt.
                match held.iter_mut().find(|h| h.message_id == message.message_id) {
                    Some(seen) => *seen = message,
                    None => {
                        held.push(message);
                        new += 1;
                    }
                }
            }
            if new == 0 {
                break;
            }
        }
        Ok::<_, MessagingError>(())
    }
    .await;
    release(dlq, &held).await;
    looked.with_context(|| format!("receiving from {}", dlq.name()))?;
    Ok(held.into_iter().map(DeadMessage::from).collect())
}

/// What `gas dlq redrive` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Redriven {
    /// Messages sent to the source queue and deleted from the dead-letter
    /// queue.
    pub moved: u64,
    /// Messages left in the dead-letter queue because they were sent after
    /// the redrive began: new failures, or moved messages that failed again
    /// meanwhile. Moving those would never end; run the redrive again.
    pub left: u64,
}

/// `gas dlq redrive`: moves every message of the dead-letter queue back to
/// its source queue, each sent to the source before it is deleted from the
/// dead-letter queue. A crash between the two leaves a duplicate at worst,
/// which the consumers tolerate (DESIGN, invariant 2); running it again
/// moves what is left, and on an empty queue moves nothing.
pub async fn redrive(queue: &DeadLetterQueue) -> Result<Redriven> {
    let (source, dlq) = (queue.source.as_ref(), queue.dlq.as_ref());
    let began = SystemTime::now();
    let mut done = Redriven::default();
    let mut held: Vec<QueueMessage> = Vec::new();
    let mut unmoved: Vec<QueueMessage> = Vec::new();
    let moving = async {
        loop {
            let got = dlq
                .receive(BATCH, POLL)
                .await
                .with_context(|| format!("receiving from {}", dlq.name()))?;
            if got.is_empty() {
                return Ok(());
            }
            unmoved = got;
            unmoved.reverse(); // popped from the back: in the order received
            while let Some(message) = unmoved.pop() {
                if message.sent_at.is_some_and(|sent| sent >= began) {
                    // Held again after its visibility ran out: the latest
                    // receipt is the one to release.
                    held.retain(|h| h.message_id != message.message_id);
                    held.push(message);
                    continue;
                }
                if let Err(e) = move_one(source, dlq, &message).await {
                    unmoved.push(message);
                    return Err(e);
                }
                done.moved += 1;
            }
        }
    }
    .await;
    release(dlq, &held).await;
    release(dlq, &unmoved).await;
    done.left = held.len() as u64;
    moving.with_context(|| {
        format!(
            "redriving {} after moving {} messages (run it again)",
            dlq.name(),
            done.moved
        )
    })?;
    Ok(done)
}

/// Sends `message`'s body to `source`, then deletes it from `dlq`.
async fn move_one(source: &dyn Queue, dlq: &dyn Queue, message: &QueueMessage) -> Result<()> {
    source.send(&message.body).await.with_context(|| {
        format!(
            "sending message {} to {}",
            message.message_id,
            source.name()
        )
    })?;
    dlq.delete(&message.receipt).await.with_context(|| {
        format!(
            "deleting message {} from {} (it is also in {} now)",
            message.message_id,
            dlq.name(),
            source.name()
        )
    })
}

/// Makes `messages` visible again at once (best effort: one that stays
/// hidden comes back after the queue's visibility timeout anyway).
async fn release(dlq: &dyn Queue, messages: &[QueueMessage]) {
    for message in messages {
        match dlq
            .change_visibility(&message.receipt, Duration::ZERO)
            .await
        {
            Ok(()) | Err(MessagingError::NotFound(_)) => {}
            Err(e) => tracing::warn!(
                queue = dlq.name(),
                message_id = %message.message_id,
                error = %e,
                "could not make the message visible again; it will be after the visibility timeout"
            ),
        }
    }
}

/// `t` as `2026-12-02T12:00:38Z` (UTC, whole seconds).
pub fn utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (u64:
    // dates before the epoch do not occur here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc() {
        let at = |secs| utc(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_212_838), "2026-12-02T12:00:38Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
