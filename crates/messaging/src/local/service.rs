use std::sync::Arc;

use gas_sqlite::rusqlite::{params, OptionalExtension};
use url::Url;

use super::{sql_error, HttpDelivery, LocalMessaging};
use crate::sns::SnsSigner;
use crate::MessagingError;

/// The URL of the signing certificate served under `base_url`:
/// `{base_url}/cert.pem`.
pub fn sns_cert_url(base_url: &str) -> String {
    format!("{}/cert.pem", base_url.trim_end_matches('/'))
}

/// The embedded backend's SNS service endpoints, mounted by the util service
/// at a configured base URL (e.g. `http://127.0.0.1:8081/_sns`):
///
/// - `GET {base}/cert.pem` → [`cert_pem`](Self::cert_pem), the certificate
///   named by every `SigningCertURL`;
/// - `GET {base}/confirm?Action=ConfirmSubscription&TopicArn=..&Token=..` →
///   [`confirm_subscription`](Self::confirm_subscription), the
///   `SubscribeURL` of every `SubscriptionConfirmation`;
/// - `GET {base}/unsubscribe?Action=Unsubscribe&SubscriptionArn=..` →
///   [`unsubscribe`](Self::unsubscribe), the `UnsubscribeURL` of every
///   `Notification` (optional to mount).
///
/// Plain functions, so the util service mounts them with its own router.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalSns {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    messaging: LocalMessaging,
    base: Url,
    signer: Arc<SnsSigner>,
}

impl LocalSns {
    pub(super) fn new(
        messaging: LocalMessaging,
        base_url: &str,
        signer: Arc<SnsSigner>,
    ) -> Result<Self, MessagingError> {
        let trimmed = base_url.trim_end_matches('/');
        let base = Url::parse(trimmed)
            .map_err(|e| MessagingError::Invalid(format!("SNS base URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err(MessagingError::Invalid(format!(
                "SNS base URL {base_url:?} must be an http(s) URL without a query"
            )));
        }
        let cert_url = sns_cert_url(trimmed);
        if signer.cert_url() != cert_url {
            return Err(MessagingError::Invalid(format!(
                "the SNS signer names {} as its certificate URL, not {cert_url}",
                signer.cert_url()
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                messaging,
                base,
                signer,
            }),
        })
    }

    /// The signing certificate, PEM, to serve at `{base}/cert.pem`.
    pub fn cert_pem(&self) -> &str {
        self.inner.signer.cert_pem()
    }

    /// Confirms the subscription of `topic_arn` that `token` was sent to and
    /// returns its ARN. Confirming again succeeds; a token that matches no
    /// subscription of the topic is [`MessagingError::NotFound`].
    pub async fn confirm_subscription(
        &self,
        topic_arn: &str,
        token: &str,
    ) -> Result<String, MessagingError> {
        let (topic, tok) = (topic_arn.to_owned(), token.to_owned());
        let confirmed: Option<String> = self
            .inner
            .messaging
            .db
            .call(move |conn| {
                conn.query_row(
                    "UPDATE sns_subscriptions SET status = 'confirmed'
                     WHERE topic_arn = ?1 AND token = ?2 AND protocol = 'http'
                     RETURNING subscription_arn",
                    params![topic, tok],
                    |row| row.get(0),
                )
                .optional()
            })
            .await
            .map_err(sql_error)?;
        match confirmed {
            Some(subscription_arn) => {
                tracing::info!(topic = topic_arn, %subscription_arn, "subscription confirmed");
                Ok(subscription_arn)
            }
            None => {
                tracing::warn!(topic = topic_arn, "confirmation with an unknown token");
                Err(MessagingError::NotFound(format!(
                    "subscription of {topic_arn} with this token"
                )))
            }
        }
    }

    /// Removes a subscription and whatever it has still to deliver.
    /// Idempotent.
    pub async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), MessagingError> {
        let arn = subscription_arn.to_owned();
        let removed = self
            .inner
            .messaging
            .db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let removed = tx.execute(
                    "DELETE FROM sns_subscriptions WHERE subscription_arn = ?1",
                    [&arn],
                )?;
                tx.execute("DELETE FROM sns_outbox WHERE subscription_arn = ?1", [&arn])?;
                tx.commit()?;
                Ok(removed)
            })
            .await
            .map_err(sql_error)?;
        if removed > 0 {
            tracing::info!(subscription_arn, "unsubscribed");
        }
        Ok(())
    }

    /// The worker that POSTs the outbox to HTTP subscribers.
    pub fn delivery(&self) -> Result<HttpDelivery, MessagingError> {
        HttpDelivery::new(self.clone())
    }

    pub(super) fn messaging(&self) -> &LocalMessaging {
        &self.inner.messaging
    }

    pub(super) fn signer(&self) -> &SnsSigner {
        &self.inner.signer
    }

    pub(super) fn subscribe_url(&self, topic_arn: &str, token: &str) -> String {
        self.endpoint_url(
            "confirm",
            &[
                ("Action", "ConfirmSubscription"),
                ("TopicArn", topic_arn),
                ("Token", token),
            ],
        )
    }

    pub(super) fn unsubscribe_url(&self, subscription_arn: &str) -> String {
        self.endpoint_url(
            "unsubscribe",
            &[
                ("Action", "Unsubscribe"),
                ("SubscriptionArn", subscription_arn),
            ],
        )
    }

    fn endpoint_url(&self, segment: &str, query: &[(&str, &str)]) -> String {
        let mut url = self.inner.base.clone();
        let path = format!("{}/{segment}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut().extend_pairs(query);
        url.into()
    }
}
