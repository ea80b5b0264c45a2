//! The embedded messaging backend: queues, topics, timers and the outbox of
//! HTTP deliveries, all in one SQLite database file.
//!
//! Several processes of one installation may open the same file; every state
//! change is a single SQLite transaction, and the background loops claim work
//! with short leases so that two processes do not do the same thing at the
//! same moment. Within a process, a send or publish wakes the long polls and
//! the delivery loop at once; across processes they poll.
//!
//! Start with [`LocalMessaging::open`]; it hands out every adapter.
//!
//! Background loops ([`SqliteTimer::run`], [`HttpDelivery::run`]) take a
//! [`Shutdown`]: a `tokio::sync::watch::Receiver<bool>`. They stop when
//! `true` is sent, or when every sender is dropped.

mod delivery;
mod queue;
mod service;
mod timer;
mod topic;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gas_sqlite::Sqlite;
use tokio::sync::{watch, Notify};

pub use delivery::HttpDelivery;
pub use queue::{QueueSettings, Redrive, SqliteQueue};
pub use service::{sns_cert_url, LocalSns};
pub use timer::SqliteTimer;
pub use topic::LocalTopic;

use crate::sns::SnsSigner;
use crate::{MessagingError, Topic};

/// Stops a background loop: send `true` (or drop every sender).
pub type Shutdown = watch::Receiver<bool>;

/// The account and region in the ARNs of the embedded backend.
const ARN_PARTITION: &str = "arn:aws";
const ARN_REGION: &str = "local";
const ARN_ACCOUNT: &str = "000000000000";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queue_messages (
    id            INTEGER PRIMARY KEY,
    queue         TEXT NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    body          TEXT NOT NULL,
    sent_at       INTEGER NOT NULL,  -- ms since the epoch
    visible_at    INTEGER NOT NULL,  -- ms since the epoch
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT UNIQUE        -- the latest receipt handle
);
CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue, visible_at);

CREATE TABLE IF NOT EXISTS sns_subscriptions (
    subscription_arn TEXT PRIMARY KEY,
    topic_arn        TEXT NOT NULL,
    protocol         TEXT NOT NULL CHECK (protocol IN ('sqs', 'http')),
    endpoint         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    token            TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (topic_arn, protocol, endpoint)
);
CREATE INDEX IF NOT EXISTS sns_subscriptions_token ON sns_subscriptions (topic_arn, token);

CREATE TABLE IF NOT EXISTS sns_outbox (
    id               INTEGER PRIMARY KEY,
    subscription_arn TEXT NOT NULL,
    topic_arn        TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('Notification', 'SubscriptionConfirmation')),
    message_id       TEXT NOT NULL,
    message          TEXT NOT NULL,
    token            TEXT,
    published_at     INTEGER NOT NULL,  -- ms; the envelope's Timestamp
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           INTEGER NOT NULL,  -- ms; next attempt
    lease_until      INTEGER NOT NULL DEFAULT 0  -- ms; claimed by a sender until then
);
CREATE INDEX IF NOT EXISTS sns_outbox_due ON sns_outbox (due_at);
CREATE INDEX IF NOT EXISTS sns_outbox_subscription ON sns_outbox (subscription_arn);

CREATE TABLE IF NOT EXISTS timer_executions (
    execution_arn TEXT PRIMARY KEY,
    state_machine TEXT NOT NULL,
    name          TEXT NOT NULL,
    input         TEXT NOT NULL,
    started_at    INTEGER NOT NULL,  -- ms
    due_at        INTEGER NOT NULL,  -- ms
    status        TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'ABORTED')),
    lease_until   INTEGER NOT NULL DEFAULT 0,  -- ms; being fired until then
    UNIQUE (state_machine, name)
);
CREATE INDEX IF NOT EXISTS timer_executions_due ON timer_executions (status, due_at);
";

/// The embedded messaging backend: one SQLite database shared by every queue,
/// topic, timer and delivery worker it hands out. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalMessaging {
    db: Sqlite,
    wakeups: Wakeups,
}

impl LocalMessaging {
    /// Opens (creating if needed) the database at `path`. Blocking: call it
    /// at start-up.
    pub fn open(path: &Path) -> Result<Self, MessagingError> {
        let db = Sqlite::open(path, SCHEMA).map_err(MessagingError::backend)?;
        tracing::info!(path = %path.display(), "opened the embedded messaging database");
        Ok(Self::with_db(db))
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Self, MessagingError> {
        Ok(Self::with_db(
            Sqlite::open_in_memory(SCHEMA).map_err(MessagingError::backend)?,
        ))
    }

    fn with_db(db: Sqlite) -> Self {
        Self {
            db,
            wakeups: Wakeups::default(),
        }
    }

    /// The queue `name` (1-80 of `A-Z a-z 0-9 - _`, as on SQS). Queues exist
    /// implicitly; `settings` apply to what this handle receives.
    pub fn queue(
        &self,
        name: &str,
        settings: QueueSettings,
    ) -> Result<SqliteQueue, MessagingError> {
        SqliteQueue::new(self.clone(), name, settings)
    }

    /// The topic `name` (1-256 of `A-Z a-z 0-9 - _`, as on SNS), ARN
    /// `arn:aws:sns:local:000000000000:<name>`.
    pub fn topic(&self, name: &str) -> Result<LocalTopic, MessagingError> {
        LocalTopic::new(self.clone(), name)
    }

    /// The timer `state_machine` (1-80 of `A-Z a-z 0-9 - _`), publishing to
    /// `topic` when executions are due.
    pub fn timer(
        &self,
        state_machine: &str,
        topic: Arc<dyn Topic>,
    ) -> Result<SqliteTimer, MessagingError> {
        SqliteTimer::new(self.clone(), state_machine, topic)
    }

    /// The SNS service endpoints (confirmation, certificate) and HTTP
    /// delivery, for endpoints mounted at `base_url`; `signer` must name
    /// [`sns_cert_url`]`(base_url)` as its certificate URL.
    pub fn sns(&self, base_url: &str, signer: Arc<SnsSigner>) -> Result<LocalSns, MessagingError> {
        LocalSns::new(self.clone(), base_url, signer)
    }
}

/// In-process wake-ups, by key: a queue's long polls, the delivery loop.
#[derive(Clone, Debug, Default)]
struct Wakeups(Arc<Mutex<HashMap<String, Arc<Notify>>>>);

impl Wakeups {
    fn get(&self, key: &str) -> Arc<Notify> {
        let mut map = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        Arc::clone(map.entry(key.to_owned()).or_default())
    }

    fn wake(&self, key: &str) {
        let map = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(notify) = map.get(key) {
            notify.notify_waiters();
        }
    }
}

fn queue_key(name: &str) -> String {
    format!("queue {name}")
}

const OUTBOX_KEY: &str = "sns outbox";

/// Checks an SQS/SNS/Step Functions style resource name.
pub(crate) fn check_name(kind: &str, name: &str, max_len: usize) -> Result<(), MessagingError> {
    let ok = !name.is_empty()
        && name.len() <= max_len
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(MessagingError::Invalid(format!(
            "{kind} name {name:?} must be 1-{max_len} of A-Z a-z 0-9 - _"
        )))
    }
}

/// The largest message body, as on SQS and SNS.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Checks a message body as SQS does: not empty, at most 256 KiB, and only
/// the characters XML allows.
pub(crate) fn check_body(body: &str) -> Result<(), MessagingError> {
    if body.is_empty() {
        return Err(MessagingError::Invalid("empty message".into()));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(MessagingError::Invalid(format!(
            "message of {} bytes exceeds {MAX_MESSAGE_BYTES}",
            body.len()
        )));
    }
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    match body.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(MessagingError::Invalid(format!(
            "message contains the disallowed character U+{:04X}",
            c as u32
        ))),
        None => Ok(()),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Waits `period`, or until `wake` is notified; returns true if the loop
/// should stop.
async fn pause(shutdown: &mut Shutdown, period: Duration, wake: Option<&Notify>) -> bool {
    if *shutdown.borrow_and_update() {
        return true;
    }
    let woken = async {
        match wake {
            Some(notify) => notify.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
        () = tokio::time::sleep(period) => false,
        () = woken => false,
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn sql_error(e: gas_sqlite::rusqlite::Error) -> MessagingError {
    MessagingError::backend(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bodies_follow_aws_rules() {
        assert!(check_name("queue", "gas-archive_1", 80).is_ok());
        assert!(check_name("queue", "", 80).is_err());
        assert!(check_name("queue", "a.b", 80).is_err());
        assert!(check_name("queue", &"a".repeat(81), 80).is_err());
        assert!(check_body("{\"job_id\":\"1\"}\n\tü😀").is_ok());
        assert!(check_body("").is_err());
        assert!(check_body("bell\u{7}").is_err());
        assert!(check_body(&"a".repeat(MAX_MESSAGE_BYTES + 1)).is_err());
    }

    #[tokio::test]
    async fn pause_stops_on_shutdown_and_on_dropped_sender() {
        let (tx, mut rx) = watch::channel(false);
        assert!(!pause(&mut rx, Duration::from_millis(1), None).await);
        tx.send(true).unwrap();
        assert!(pause(&mut rx, Duration::from_secs(60), None).await);
        let (tx, mut rx) = watch::channel(false);
        drop(tx);
        assert!(pause(&mut rx, Duration::from_secs(60), None).await);
    }
}
