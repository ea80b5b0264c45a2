use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use gas_sqlite::now_millis;
use gas_sqlite::rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{check_body, check_name, millis, new_id, queue_key, sql_error, LocalMessaging};
use crate::{MessagingError, Queue, QueueMessage};

/// How often a long poll looks at the table for messages sent by other
/// processes (sends in this process wake it at once).
const POLL_INTERVAL: Duration = Duration::from_millis(100);
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

/// How a [`SqliteQueue`] hands out messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// How long a received message stays invisible (at most 12 hours).
    pub visibility_timeout: Duration,
    /// Where messages go after too many receives.
    pub redrive: Option<Redrive>,
}

impl Default for QueueSettings {
    /// SQS's defaults: 30 s visibility, no dead-letter queue.
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(30),
            redrive: None,
        }
    }
}

/// A redrive policy: a message received `max_receives` times and still not
/// deleted moves to `dead_letter_queue` (another queue of the same database)
/// on its next receive, with its message id kept and its receive count reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_queue: String,
    /// 1..=1000, as on SQS.
    pub max_receives: u32,
}

/// A [`Queue`] in a SQLite table, with the semantics of a standard SQS queue
/// (see the trait's contract). Receipts are random; the message row keeps
/// only the latest, so an older one deletes nothing. Long polls look at the
/// table every 100 ms and wake at once on sends made in this process.
#[derive(Clone, Debug)]
pub struct SqliteQueue {
    messaging: LocalMessaging,
    name: String,
    settings: QueueSettings,
    notify: Arc<Notify>,
}

impl SqliteQueue {
    pub(super) fn new(
        messaging: LocalMessaging,
        name: &str,
        settings: QueueSettings,
    ) -> Result<Self, MessagingError> {
        check_name("queue", name, 80)?;
        if settings.visibility_timeout > MAX_VISIBILITY {
            return Err(MessagingError::Invalid(
                "visibility timeout above 12 hours".into(),
            ));
        }
        if let Some(redrive) = &settings.redrive {
            check_name("dead-letter queue", &redrive.dead_letter_queue, 80)?;
            if redrive.dead_letter_queue == name {
                return Err(MessagingError::Invalid(format!(
                    "queue {name} cannot be its own dead-letter queue"
                )));
            }
            if !(1..=1000).contains(&redrive.max_receives) {
                return Err(MessagingError::Invalid(
                    "max_receives must be 1..=1000".into(),
                ));
            }
        }
        let notify = messaging.wakeups.get(&queue_key(name));
        Ok(Self {
            messaging,
            name: name.to_owned(),
            settings,
            notify,
        })
    }

    /// One look at the table: receives up to `max` visible messages, moving
    /// to the dead-letter queue those received too often.
    async fn receive_now(&self, max: usize) -> Result<Vec<QueueMessage>, MessagingError> {
        let name = self.name.clone();
        let visibility = millis(self.settings.visibility_timeout);
        let redrive = self.settings.redrive.clone();
        let (messages, dead_lettered) = self
            .messaging
            .db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_millis();
                let candidates = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT id, message_id, body, receive_count, sent_at FROM queue_messages
                         WHERE queue = ?1 AND visible_at <= ?2 ORDER BY visible_at, id LIMIT ?3",
                    )?;
                    let rows = stmt.query_map(params![name, now, max as i64], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, u32>(3)?, row.get::<_, i64>(4)?))
                    })?;
                    rows.collect::<Result<Vec<_>, _>>()?
                };
                let mut messages = Vec::new();
                let mut dead_lettered = 0usize;
                for (id, message_id, body, receive_count, sent_at) in candidates {
                    if let Some(redrive) = redrive.as_ref().filter(|r| receive_count >= r.max_receives) {
                        tx.execute(
                            "UPDATE queue_messages SET queue = ?2, visible_at = ?3, receive_count = 0, receipt = NULL
                             WHERE id = ?1",
                            params![id, redrive.dead_letter_queue, now],
                        )?;
                        dead_lettered += 1;
                        continue;
                    }
                    let receipt = format!("{}.{}", message_id, uuid::Uuid::new_v4().simple());
                    tx.execute(
                        "UPDATE queue_messages SET visible_at = ?2, receive_count = receive_count + 1, receipt = ?3
                         WHERE id = ?1",
                        params![id, now.saturating_add(visibility), receipt],
                    )?;
                    messages.push(QueueMessage {
                        message_id,
                        body,
                        receipt,
                        receive_count: receive_count + 1,
                        sent_at: Some(epoch_millis(sent_at)),
                    });
                }
                tx.commit()?;
                Ok((messages, dead_lettered))
            })
            .await
            .map_err(sql_error)?;
        if let Some(redrive) = self.settings.redrive.as_ref().filter(|_| dead_lettered > 0) {
            tracing::warn!(
                queue = %self.name,
                dead_letter_queue = %redrive.dead_letter_queue,
                count = dead_lettered,
                "moved messages to the dead-letter queue"
            );
            self.messaging
                .wakeups
                .wake(&queue_key(&redrive.dead_letter_queue));
        }
        Ok(messages)
    }
}

/// Inserts a visible message into `queue` (in the caller's transaction).
pub(super) fn insert_message(
    conn: &Connection,
    queue: &str,
    message_id: &str,
    body: &str,
    now: i64,
) -> gas_sqlite::rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO queue_messages (queue, message_id, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![queue, message_id, body, now])?;
    Ok(())
}

/// `ms` milliseconds since the epoch (clamped at the epoch).
fn epoch_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn check_receipt(receipt: &str) -> Result<(), MessagingError> {
    if receipt.is_empty() {
        Err(MessagingError::Invalid("empty receipt handle".into()))
    } else {
        Ok(())
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, body: &str) -> Result<String, MessagingError> {
        check_body(body)?;
        let message_id = new_id();
        let (name, id, body) = (self.name.clone(), message_id.clone(), body.to_owned());
        self.messaging
            .db
            .call(move |conn| insert_message(conn, &name, &id, &body, now_millis()))
            .await
            .map_err(sql_error)?;
        tracing::debug!(queue = %self.name, %message_id, "sent");
        self.notify.notify_waiters();
        Ok(message_id)
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<QueueMessage>, MessagingError> {
        crate::ports::check_receive(max, wait)?;
        let deadline = Instant::now() + wait;
        loop {
            // Register for wake-ups before looking, so that a send between the
            // look and the wait is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let messages = self.receive_now(max).await?;
            let now = Instant::now();
            if !messages.is_empty() || now >= deadline {
                return Ok(messages);
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(POLL_INTERVAL.min(deadline - now)) => {}
            }
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), MessagingError> {
        check_receipt(receipt)?;
        let (name, receipt) = (self.name.clone(), receipt.to_owned());
        let deleted = self
            .messaging
            .db
            .call(move |conn| {
                conn.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2")?
                    .execute(params![name, receipt])
            })
            .await
            .map_err(sql_error)?;
        tracing::debug!(queue = %self.name, deleted, "delete");
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), MessagingError> {
        check_receipt(receipt)?;
        if timeout > MAX_VISIBILITY {
            return Err(MessagingError::Invalid(
                "visibility timeout above 12 hours".into(),
            ));
        }
        let (name, owned) = (self.name.clone(), receipt.to_owned());
        let changed = self
            .messaging
            .db
            .call(move |conn| {
                conn.prepare_cached(
                    "UPDATE queue_messages SET visible_at = ?3 WHERE queue = ?1 AND receipt = ?2",
                )?
                .execute(params![
                    name,
                    owned,
                    now_millis().saturating_add(millis(timeout))
                ])
            })
            .await
            .map_err(sql_error)?;
        if changed == 0 {
            return Err(MessagingError::NotFound(format!(
                "message of receipt {receipt} in queue {}",
                self.name
            )));
        }
        if timeout.is_zero() {
            self.notify.notify_waiters();
        }
        Ok(())
    }

    /// Exact: the rows of the queue, visible or not.
    async fn depth(&self) -> Result<u64, MessagingError> {
        let name = self.name.clone();
        self.messaging
            .db
            .call(move |conn| {
                conn.query_row(
                    "SELECT count(*) FROM queue_messages WHERE queue = ?1",
                    [name],
                    |row| row.get::<_, i64>(0),
                )
            })
            .await
            .map(|n| n.unsigned_abs())
            .map_err(sql_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settings_are_checked() {
        let m = LocalMessaging::open_in_memory().unwrap();
        let redrive = |dlq: &str, max_receives| QueueSettings {
            redrive: Some(Redrive {
                dead_letter_queue: dlq.into(),
                max_receives,
            }),
            ..QueueSettings::default()
        };
        assert!(m.queue("q", redrive("dlq", 3)).is_ok());
        assert!(m.queue("q", redrive("q", 3)).is_err());
        assert!(m.queue("q", redrive("dlq", 0)).is_err());
        assert!(m.queue("bad name", QueueSettings::default()).is_err());
        let q = m.queue("q", QueueSettings::default()).unwrap();
        assert!(matches!(q.send("").await, Err(MessagingError::Invalid(_))));
        assert!(matches!(
            q.receive(1, Duration::from_secs(21)).await,
            Err(MessagingError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn change_visibility_of_unknown_receipt_is_not_found() {
        let m = LocalMessaging::open_in_memory().unwrap();
        let q = m.queue("q", QueueSettings::default()).unwrap();
        let err = q
            .change_visibility("nope", Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, MessagingError::NotFound(_)), "{err}");
    }

    #[tokio::test]
    async fn queues_of_one_database_are_separate() {
        let m = LocalMessaging::open_in_memory().unwrap();
        let a = m.queue("a", QueueSettings::default()).unwrap();
        let b = m.queue("b", QueueSettings::default()).unwrap();
        a.send("x").await.unwrap();
        assert!(b.receive(10, Duration::ZERO).await.unwrap().is_empty());
        assert_eq!(a.depth().await.unwrap(), 1);
        assert_eq!(b.depth().await.unwrap(), 0);
    }
}
