//! The messaging ports: what the services rely on, whatever the backend.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// Why a messaging operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// The thing named (a receipt's message, a subscription) does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request breaks a limit or rule of the port (a batch size, a name,
    /// a message size); retrying it unchanged fails again.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend failed (database, network); retrying may succeed.
    #[error("messaging backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl MessagingError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        MessagingError::Backend(Box::new(e))
    }
}

/// The most messages one receive returns, and one batch holds (SQS's limit).
pub const MAX_BATCH: usize = 10;
/// The longest a receive may wait for a first message (SQS's limit).
pub const MAX_WAIT: Duration = Duration::from_secs(20);

/// The argument checks every [`Queue::receive`] makes before anything else.
pub(crate) fn check_receive(max: usize, wait: Duration) -> Result<(), MessagingError> {
    if !(1..=MAX_BATCH).contains(&max) {
        return Err(MessagingError::Invalid(format!(
            "max must be 1..={MAX_BATCH}, not {max}"
        )));
    }
    if wait > MAX_WAIT {
        return Err(MessagingError::Invalid("wait above 20 seconds".into()));
    }
    Ok(())
}

/// A received message. `receipt` identifies this receipt, not the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    pub body: String,
    pub receipt: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
    /// When the message was sent, where the backend records it (both
    /// adapters do). A message moved to a dead-letter queue keeps the time
    /// it was sent to its source queue.
    pub sent_at: Option<SystemTime>,
}

/// A work queue with SQS semantics.
///
/// Contract, for every adapter:
/// - Delivery is at least once; order is not guaranteed.
/// - `receive` returns at most `max` (1..=10) messages, waiting up to `wait`
///   for the first one (long polling); an empty result is not an error.
/// - A received message is invisible to other receivers for the queue's
///   visibility timeout, then is delivered again unless deleted.
/// - With a dead-letter queue configured, a message received `max_receives`
///   times and still not deleted moves there instead of being delivered again.
/// - `delete` with the receipt of the latest receipt removes the message;
///   deleting an already deleted message succeeds. A receipt made stale by a
///   later receipt of the same message leaves it in place.
/// - `change_visibility` resets the invisibility of a received message to
///   `timeout` from now (to keep a long job, or to retry sooner).
/// - `depth` counts every message the queue holds, visible or not; it is
///   approximate (see the method).
#[async_trait]
pub trait Queue: Send + Sync {
    /// The queue's name (its URL's last segment on SQS).
    fn name(&self) -> &str;
    /// Enqueues `body`; returns the message id.
    async fn send(&self, body: &str) -> Result<String, MessagingError>;
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<QueueMessage>, MessagingError>;
    async fn delete(&self, receipt: &str) -> Result<(), MessagingError>;
    async fn change_visibility(
        &self,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), MessagingError>;
    /// Approximately how many messages the queue holds: visible ones, those
    /// in flight (received, neither deleted nor visible again yet) and
    /// delayed ones. Exact on the embedded queue; on SQS the sum of the
    /// queue's `ApproximateNumberOf*` attributes, which settles within about
    /// a minute of a change. For operators and tests (`gas dlq list`), not
    /// for decisions a service makes: on AWS it needs
    /// `sqs:GetQueueAttributes`, which no service role has.
    async fn depth(&self) -> Result<u64, MessagingError>;
}

/// A fan-out topic with SNS semantics.
///
/// Contract: a successful `publish` is durable and will be delivered to every
/// confirmed subscription (queues get the SNS envelope's `Message` as their
/// body when raw delivery is on, the whole envelope otherwise; HTTP endpoints
/// get the signed SNS JSON envelope), at least once.
#[async_trait]
pub trait Topic: Send + Sync {
    /// The topic's ARN, as carried in the `TopicArn` of what it delivers.
    fn arn(&self) -> &str;
    /// Publishes `message`; returns the message id.
    async fn publish(&self, message: &str) -> Result<String, MessagingError>;
}

/// Publishes a message after a delay, like a Step Functions state machine of
/// Wait → sns:Publish.
///
/// Contract, for every adapter:
/// - `start` is idempotent by `name`: starting a name that is already
///   running returns the same execution id and starts nothing new.
/// - When `delay` has passed, `input` is published to the timer's topic, at
///   least once, unless the execution was stopped first.
/// - Pending executions survive restarts of the process that started them.
/// - `stop` is idempotent; stopping a finished or unknown execution succeeds.
#[async_trait]
pub trait Timer: Send + Sync {
    async fn start(
        &self,
        name: &str,
        input: &str,
        delay: Duration,
    ) -> Result<String, MessagingError>;
    async fn stop(&self, execution_id: &str) -> Result<(), MessagingError>;
}
