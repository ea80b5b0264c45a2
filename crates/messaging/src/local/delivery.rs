use std::time::Duration;

use gas_sqlite::now_millis;
use gas_sqlite::rusqlite::params;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use super::{millis, pause, sql_error, LocalSns, Shutdown, OUTBOX_KEY};
use crate::sns::{MessageType, SnsMessage};
use crate::MessagingError;

/// How many outbox rows one step claims and sends concurrently.
const BATCH: usize = 16;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// A claimed row is someone else's to retry after this; longer than a send.
const LEASE: Duration = Duration::from_secs(30);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// Attempts before a delivery is given up (about 45 minutes of retries).
const MAX_ATTEMPTS: u32 = 50;
const IDLE_POLL: Duration = Duration::from_millis(250);

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Sends the topic outbox to HTTP subscribers as Amazon SNS does: the signed
/// JSON envelope (SignatureVersion 2), `Content-Type: text/plain;
/// charset=UTF-8`, and the `x-amz-sns-message-type`, `x-amz-sns-message-id`,
/// `x-amz-sns-topic-arn` (and, for notifications,
/// `x-amz-sns-subscription-arn`) headers.
///
/// A 2xx answer completes a delivery; anything else (an error status, a
/// refused connection, a 10 s timeout) retries it after 1 s, doubling up to
/// 60 s, and gives it up after 50 attempts. Each step claims its rows with a
/// 30 s lease, so processes sharing the database do not send the same row at
/// the same moment; delivery is at least once. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpDelivery {
    sns: LocalSns,
    client: reqwest::Client,
}

/// An outbox row claimed for sending.
#[derive(Debug)]
struct Claimed {
    id: i64,
    subscription_arn: String,
    topic_arn: String,
    endpoint: String,
    kind: MessageType,
    message_id: String,
    message: String,
    token: Option<String>,
    published_at: i64,
    attempts: u32,
}

impl HttpDelivery {
    pub(super) fn new(sns: LocalSns) -> Result<Self, MessagingError> {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("GAS embedded SNS")
            .build()
            .map_err(MessagingError::backend)?;
        Ok(Self { sns, client })
    }

    /// Sends up to one batch of due deliveries; returns how many were
    /// accepted (2xx).
    pub async fn deliver_due(&self) -> Result<usize, MessagingError> {
        let claimed = self.claim().await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let mut sends = JoinSet::new();
        for row in claimed {
            let this = self.clone();
            sends.spawn(async move {
                let outcome = this.send(&row).await;
                (row, outcome)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = sends.join_next().await {
            match joined {
                Ok(outcome) => outcomes.push(outcome),
                // The row's lease expires and it is sent again.
                Err(e) => tracing::error!(error = %e, "SNS delivery task failed"),
            }
        }
        self.record(outcomes).await
    }

    /// Delivers until `shutdown`: at once after a publish in this process,
    /// else every 250 ms.
    pub async fn run(self, mut shutdown: Shutdown) {
        let wake = self.sns.messaging().wakeups.get(OUTBOX_KEY);
        tracing::info!("SNS HTTP delivery started");
        loop {
            let busy = match self.deliver_due().await {
                Ok(n) => n == BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "SNS HTTP delivery step failed");
                    false
                }
            };
            let period = if busy { Duration::ZERO } else { IDLE_POLL };
            if pause(&mut shutdown, period, Some(&wake)).await {
                break;
            }
        }
        tracing::info!("SNS HTTP delivery stopped");
    }

    async fn claim(&self) -> Result<Vec<Claimed>, MessagingError> {
        self.sns
            .messaging()
            .db
            .call(|conn| {
                let now = now_millis();
                let mut stmt = conn.prepare_cached(
                    "UPDATE sns_outbox SET lease_until = ?2
                     WHERE id IN (SELECT id FROM sns_outbox WHERE due_at <= ?1 AND lease_until <= ?1
                                  ORDER BY due_at, id LIMIT ?3)
                     RETURNING id, subscription_arn, topic_arn, endpoint, kind, message_id, message,
                               token, published_at, attempts",
                )?;
                let rows =
                    stmt.query_map(params![now, now + millis(LEASE), BATCH as i64], |row| {
                        let kind = match row.get_ref(4)?.as_str()? {
                            "SubscriptionConfirmation" => MessageType::SubscriptionConfirmation,
                            _ => MessageType::Notification,
                        };
                        Ok(Claimed {
                            id: row.get(0)?,
                            subscription_arn: row.get(1)?,
                            topic_arn: row.get(2)?,
                            endpoint: row.get(3)?,
                            kind,
                            message_id: row.get(5)?,
                            message: row.get(6)?,
                            token: row.get(7)?,
                            published_at: row.get(8)?,
                            attempts: row.get(9)?,
                        })
                    })?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(sql_error)
    }

    /// The signed envelope for `row`.
    fn envelope(&self, row: &Claimed) -> Result<SnsMessage, MessagingError> {
        let timestamp =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.published_at) * 1_000_000)
                .map_err(MessagingError::backend)?
                .format(TIMESTAMP)
                .map_err(MessagingError::backend)?;
        let confirmation = row.kind == MessageType::SubscriptionConfirmation;
        let mut message = SnsMessage {
            message_type: row.kind,
            message_id: row.message_id.clone(),
            token: row.token.clone().filter(|_| confirmation),
            topic_arn: row.topic_arn.clone(),
            subject: None,
            message: row.message.clone(),
            subscribe_url: row
                .token
                .as_deref()
                .filter(|_| confirmation)
                .map(|token| self.sns.subscribe_url(&row.topic_arn, token)),
            unsubscribe_url: (!confirmation)
                .then(|| self.sns.unsubscribe_url(&row.subscription_arn)),
            timestamp,
            signature_version: None,
            signature: None,
            signing_cert_url: None,
        };
        self.sns
            .signer()
            .sign(&mut message)
            .map_err(MessagingError::backend)?;
        Ok(message)
    }

    /// POSTs `row`; Err describes why it is to be retried.
    async fn send(&self, row: &Claimed) -> Result<(), String> {
        let message = self.envelope(row).map_err(|e| e.to_string())?;
        let body = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(&row.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", row.kind.as_str())
            .header("x-amz-sns-message-id", &row.message_id)
            .header("x-amz-sns-topic-arn", &row.topic_arn);
        if row.kind == MessageType::Notification {
            request = request.header("x-amz-sns-subscription-arn", &row.subscription_arn);
        }
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", response.status()))
        }
    }

    /// Deletes delivered rows, reschedules or gives up the others; returns
    /// how many were delivered.
    async fn record(
        &self,
        outcomes: Vec<(Claimed, Result<(), String>)>,
    ) -> Result<usize, MessagingError> {
        let mut delivered = Vec::new();
        let mut retries = Vec::new();
        let mut given_up = Vec::new();
        let now = now_millis();
        for (row, outcome) in outcomes {
            match outcome {
                Ok(()) => {
                    tracing::debug!(endpoint = %row.endpoint, kind = row.kind.as_str(), message_id = %row.message_id, "delivered");
                    delivered.push(row.id);
                }
                Err(reason) => {
                    let attempts = row.attempts + 1;
                    if attempts >= MAX_ATTEMPTS {
                        tracing::error!(endpoint = %row.endpoint, kind = row.kind.as_str(), message_id = %row.message_id,
                            attempts, %reason, "SNS HTTP delivery given up");
                        given_up.push(row.id);
                    } else {
                        let delay = retry_delay(attempts);
                        tracing::warn!(endpoint = %row.endpoint, kind = row.kind.as_str(), message_id = %row.message_id,
                            attempts, %reason, retry_in = ?delay, "SNS HTTP delivery failed");
                        retries.push((row.id, attempts, now + millis(delay)));
                    }
                }
            }
        }
        let count = delivered.len();
        self.sns
            .messaging()
            .db
            .call(move |conn| {
                let tx = conn.transaction()?;
                for id in delivered.into_iter().chain(given_up) {
                    tx.prepare_cached("DELETE FROM sns_outbox WHERE id = ?1")?.execute([id])?;
                }
                for (id, attempts, due_at) in retries {
                    tx.prepare_cached("UPDATE sns_outbox SET attempts = ?2, due_at = ?3, lease_until = 0 WHERE id = ?1")?
                        .execute(params![id, attempts, due_at])?;
                }
                tx.commit()
            })
            .await
            .map_err(sql_error)?;
        Ok(count)
    }
}

/// The wait after the `attempts`-th failure: 1 s, doubling, at most 60 s.
fn retry_delay(attempts: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(16))
        .min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_a_minute() {
        let secs: Vec<u64> = (1..=8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(retry_delay(MAX_ATTEMPTS), MAX_RETRY);
    }

    #[test]
    fn timestamps_have_millis_and_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_335_920_046_655 * 1_000_000).unwrap();
        assert_eq!(t.format(TIMESTAMP).unwrap(), "2012-05-02T00:54:06.655Z");
    }
}
