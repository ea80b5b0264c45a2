use async_trait::async_trait;
use gas_sqlite::now_millis;
use gas_sqlite::rusqlite::{params, OptionalExtension, TransactionBehavior};
use rand::RngCore;
use url::Url;

use super::queue::insert_message;
use super::{
    check_body, check_name, new_id, queue_key, sql_error, LocalMessaging, ARN_ACCOUNT,
    ARN_PARTITION, ARN_REGION, OUTBOX_KEY,
};
use crate::{MessagingError, Topic};

/// A fan-out [`Topic`] with SNS semantics, kept in the database.
///
/// Subscriptions:
/// - a queue ([`subscribe_queue`](Self::subscribe_queue)) is confirmed at
///   once and gets raw message delivery: its message body is exactly the
///   published message;
/// - an HTTP endpoint ([`subscribe_http`](Self::subscribe_http)) starts
///   pending and is sent a `SubscriptionConfirmation` first; it gets signed
///   `Notification`s only once confirmed (through
///   [`LocalSns::confirm_subscription`](super::LocalSns::confirm_subscription)),
///   and nothing published while it was pending.
///
/// `publish` is one transaction: the message lands in every subscribed queue
/// and in the outbox of every confirmed HTTP subscription, which
/// [`HttpDelivery`](super::HttpDelivery) empties.
#[derive(Clone, Debug)]
pub struct LocalTopic {
    messaging: LocalMessaging,
    arn: String,
}

const PROTOCOL_SQS: &str = "sqs";
const PROTOCOL_HTTP: &str = "http";

impl LocalTopic {
    pub(super) fn new(messaging: LocalMessaging, name: &str) -> Result<Self, MessagingError> {
        check_name("topic", name, 256)?;
        Ok(Self {
            messaging,
            arn: format!("{ARN_PARTITION}:sns:{ARN_REGION}:{ARN_ACCOUNT}:{name}"),
        })
    }

    /// Subscribes the queue `queue_name` (of the same database), with raw
    /// message delivery. Idempotent: returns the subscription ARN.
    pub async fn subscribe_queue(&self, queue_name: &str) -> Result<String, MessagingError> {
        check_name("queue", queue_name, 80)?;
        let (arn, queue) = (self.arn.clone(), queue_name.to_owned());
        let subscription_arn = self
            .messaging
            .db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let subscription_arn = match find(&tx, &arn, PROTOCOL_SQS, &queue)? {
                    Some((subscription_arn, _)) => subscription_arn,
                    None => {
                        let subscription_arn = format!("{arn}:{}", new_id());
                        tx.execute(
                            "INSERT INTO sns_subscriptions
                                 (subscription_arn, topic_arn, protocol, endpoint, status, created_at)
                             VALUES (?1, ?2, 'sqs', ?3, 'confirmed', ?4)",
                            params![subscription_arn, arn, queue, now_millis()],
                        )?;
                        subscription_arn
                    }
                };
                tx.commit()?;
                Ok(subscription_arn)
            })
            .await
            .map_err(sql_error)?;
        tracing::info!(topic = %self.arn, queue = queue_name, %subscription_arn, "queue subscribed");
        Ok(subscription_arn)
    }

    /// The topic's HTTP subscriptions, pending or confirmed, as
    /// (subscription ARN, endpoint), oldest first.
    pub async fn http_subscriptions(&self) -> Result<Vec<(String, String)>, MessagingError> {
        let arn = self.arn.clone();
        self.messaging
            .db
            .call(move |conn| {
                let mut statement = conn.prepare(
                    "SELECT subscription_arn, endpoint FROM sns_subscriptions
                     WHERE topic_arn = ?1 AND protocol = 'http' ORDER BY created_at, subscription_arn",
                )?;
                let rows = statement.query_map([&arn], |row| Ok((row.get(0)?, row.get(1)?)))?;
                rows.collect::<Result<Vec<(String, String)>, _>>()
            })
            .await
            .map_err(sql_error)
    }

    /// Subscribes the http(s) `endpoint`; idempotent per endpoint, returns
    /// the subscription ARN. A new subscription is pending: a
    /// `SubscriptionConfirmation` is queued for delivery, and re-subscribing
    /// a still pending endpoint queues another unless one is waiting (not
    /// being sent at this moment).
    pub async fn subscribe_http(&self, endpoint: &str) -> Result<String, MessagingError> {
        let url = Url::parse(endpoint)
            .map_err(|e| MessagingError::Invalid(format!("endpoint {endpoint:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(MessagingError::Invalid(format!(
                "endpoint {endpoint:?} is not http(s)"
            )));
        }
        let (arn, endpoint_owned) = (self.arn.clone(), endpoint.to_owned());
        let (subscription_arn, confirmation_queued) = self
            .messaging
            .db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_millis();
                let (subscription_arn, token) = match find(&tx, &arn, PROTOCOL_HTTP, &endpoint_owned)? {
                    Some((subscription_arn, None)) => {
                        tx.commit()?;
                        return Ok((subscription_arn, false));
                    }
                    Some((subscription_arn, Some(token))) => {
                        // One waiting confirmation is enough; one being
                        // sent right now may already have been answered, so
                        // it does not count.
                        let queued: bool = tx.query_row(
                            "SELECT EXISTS (SELECT 1 FROM sns_outbox
                             WHERE subscription_arn = ?1 AND kind = 'SubscriptionConfirmation'
                               AND lease_until <= ?2)",
                            params![&subscription_arn, now],
                            |row| row.get(0),
                        )?;
                        if queued {
                            tx.commit()?;
                            return Ok((subscription_arn, false));
                        }
                        (subscription_arn, token)
                    }
                    None => {
                        let subscription_arn = format!("{arn}:{}", new_id());
                        let token = new_token();
                        tx.execute(
                            "INSERT INTO sns_subscriptions
                                 (subscription_arn, topic_arn, protocol, endpoint, status, token, created_at)
                             VALUES (?1, ?2, 'http', ?3, 'pending', ?4, ?5)",
                            params![subscription_arn, arn, endpoint_owned, token, now],
                        )?;
                        (subscription_arn, token)
                    }
                };
                let message = format!(
                    "You have chosen to subscribe to the topic {arn}.\n\
                     To confirm the subscription, visit the SubscribeURL included in this message."
                );
                tx.execute(
                    "INSERT INTO sns_outbox (subscription_arn, topic_arn, endpoint, kind, message_id,
                                             message, token, published_at, due_at)
                     VALUES (?1, ?2, ?3, 'SubscriptionConfirmation', ?4, ?5, ?6, ?7, ?7)",
                    params![subscription_arn, arn, endpoint_owned, new_id(), message, token, now],
                )?;
                tx.commit()?;
                Ok((subscription_arn, true))
            })
            .await
            .map_err(sql_error)?;
        if confirmation_queued {
            tracing::info!(topic = %self.arn, endpoint, %subscription_arn, "HTTP endpoint subscribed, pending confirmation");
            self.messaging.wakeups.wake(OUTBOX_KEY);
        }
        Ok(subscription_arn)
    }
}

/// The subscription of (`topic`, `protocol`, `endpoint`): its ARN and, if
/// still pending, its token.
fn find(
    conn: &gas_sqlite::rusqlite::Connection,
    topic: &str,
    protocol: &str,
    endpoint: &str,
) -> gas_sqlite::rusqlite::Result<Option<(String, Option<String>)>> {
    conn.query_row(
        "SELECT subscription_arn, CASE status WHEN 'pending' THEN token END FROM sns_subscriptions
         WHERE topic_arn = ?1 AND protocol = ?2 AND endpoint = ?3",
        params![topic, protocol, endpoint],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
}

/// A confirmation token: 256 random bits, hex (SNS's are long hex strings).
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Topic for LocalTopic {
    fn arn(&self) -> &str {
        &self.arn
    }

    async fn publish(&self, message: &str) -> Result<String, MessagingError> {
        check_body(message)?;
        let message_id = new_id();
        let (arn, id, body) = (self.arn.clone(), message_id.clone(), message.to_owned());
        let (queues, endpoints) = self
            .messaging
            .db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_millis();
                let subscriptions = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT subscription_arn, protocol, endpoint FROM sns_subscriptions
                         WHERE topic_arn = ?1 AND status = 'confirmed'",
                    )?;
                    let rows = stmt.query_map([&arn], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                    })?;
                    rows.collect::<Result<Vec<_>, _>>()?
                };
                let (mut queues, mut endpoints) = (Vec::new(), 0usize);
                for (subscription_arn, protocol, endpoint) in subscriptions {
                    if protocol == PROTOCOL_SQS {
                        insert_message(&tx, &endpoint, &new_id(), &body, now)?;
                        queues.push(endpoint);
                    } else {
                        tx.prepare_cached(
                            "INSERT INTO sns_outbox (subscription_arn, topic_arn, endpoint, kind, message_id,
                                                     message, published_at, due_at)
                             VALUES (?1, ?2, ?3, 'Notification', ?4, ?5, ?6, ?6)",
                        )?
                        .execute(params![subscription_arn, arn, endpoint, id, body, now])?;
                        endpoints += 1;
                    }
                }
                tx.commit()?;
                Ok((queues, endpoints))
            })
            .await
            .map_err(sql_error)?;
        tracing::debug!(topic = %self.arn, %message_id, queues = queues.len(), endpoints, "published");
        for queue in &queues {
            self.messaging.wakeups.wake(&queue_key(queue));
        }
        if endpoints > 0 {
            self.messaging.wakeups.wake(OUTBOX_KEY);
        }
        Ok(message_id)
    }
}
