//! [`Topic`] on Amazon SNS.

use async_trait::async_trait;

use super::error::{failed, AwsError};
use crate::local::check_body;
use crate::{MessagingError, Topic};

/// A [`Topic`] on an SNS standard topic. Cheap to clone.
///
/// `publish` is SNS `Publish` of the message alone (no subject, no
/// attributes), checked first as the embedded topic checks it. SNS then
/// delivers it to every confirmed subscription, at least once: SQS queues
/// subscribed with raw message delivery (see
/// [`subscribe_queue`](super::subscribe_queue)) receive the message itself,
/// HTTP(S) endpoints the signed JSON envelope. A missing topic is
/// [`MessagingError::NotFound`].
#[derive(Clone, Debug)]
pub struct SnsTopic {
    client: aws_sdk_sns::Client,
    arn: String,
}

impl SnsTopic {
    /// The topic `arn`.
    pub fn new(client: aws_sdk_sns::Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }
}

#[async_trait]
impl Topic for SnsTopic {
    fn arn(&self) -> &str {
        &self.arn
    }

    async fn publish(&self, message: &str) -> Result<String, MessagingError> {
        check_body(message)?;
        let out = self
            .client
            .publish()
            .topic_arn(&self.arn)
            .message(message)
            .send()
            .await
            .map_err(|e| failed("Publish", &self.arn, e))?;
        let message_id = out
            .message_id
            .ok_or_else(|| AwsError::incomplete("Publish", "MessageId"))?;
        tracing::debug!(topic = %self.arn, %message_id, "published");
        Ok(message_id)
    }
}
