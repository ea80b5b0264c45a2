//! [`Queue`] on Amazon SQS.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};

use super::error::{failed, AwsError};
use super::{check_receipt, whole_seconds};
use crate::local::check_body;
use crate::ports::MAX_BATCH;
use crate::{MessagingError, Queue, QueueMessage};

/// SQS's limit on a visibility timeout.
pub(super) const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

/// A [`Queue`] on an SQS standard queue. Cheap to clone.
///
/// How each point of the contract maps to SQS:
/// - `send` is `SendMessage`; the body is checked first as the embedded queue
///   checks it (not empty, at most 256 KiB, only characters XML allows).
/// - `receive(max, wait)` is `ReceiveMessage` with `MaxNumberOfMessages` =
///   `max` (1..=10, else [`MessagingError::Invalid`] without calling SQS),
///   `WaitTimeSeconds` = `wait` rounded up to whole seconds (at most 20, else
///   `Invalid`): long polling returns as soon as a message arrives. The
///   system attributes `ApproximateReceiveCount` and `SentTimestamp` become
///   [`QueueMessage::receive_count`] and [`QueueMessage::sent_at`].
/// - Visibility timeouts and dead-letter redrive are the queue's attributes
///   (see [`create_queue`](super::create_queue)); SQS enforces them.
/// - `delete` is `DeleteMessage`; `ReceiptHandleIsInvalid` (what SQS may
///   answer for a message that is already gone) is success, so deleting twice
///   succeeds.
/// - `change_visibility` is `ChangeMessageVisibility` with the timeout
///   rounded up to whole seconds (at most 12 hours); a receipt whose message
///   is gone or no longer in flight is [`MessagingError::NotFound`].
/// - `depth` is `GetQueueAttributes`: the sum of
///   `ApproximateNumberOfMessages`, `...NotVisible` and `...Delayed`.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    name: String,
}

impl SqsQueue {
    /// The queue at `queue_url`; its name is the URL's last path segment.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        let url = queue_url.into();
        let name = queue_name_of(&url).to_owned();
        Self { client, url, name }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Deletes up to 10 received messages in one `DeleteMessageBatch` call
    /// (the util drain deletes what one receive returned). Receipts of
    /// messages already gone count as deleted; more than 10 receipts, or an
    /// empty one, is [`MessagingError::Invalid`]; any other failed entry fails
    /// the call (deleting again is harmless).
    pub async fn delete_batch(&self, receipts: &[String]) -> Result<(), MessagingError> {
        if receipts.is_empty() {
            return Ok(());
        }
        if receipts.len() > MAX_BATCH {
            return Err(MessagingError::Invalid(format!(
                "at most {MAX_BATCH} receipts a batch, not {}",
                receipts.len()
            )));
        }
        let mut entries = Vec::with_capacity(receipts.len());
        for (i, receipt) in receipts.iter().enumerate() {
            check_receipt(receipt)?;
            let entry = DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(receipt)
                .build()
                .map_err(|e| MessagingError::Invalid(format!("batch entry {i}: {e}")))?;
            entries.push(entry);
        }
        let out = self
            .client
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| failed("DeleteMessageBatch", &self.name, e))?;
        let failures: Vec<_> = out
            .failed()
            .iter()
            .filter(|f| f.code() != RECEIPT_HANDLE_IS_INVALID)
            .collect();
        tracing::debug!(
            queue = %self.name,
            deleted = out.successful().len(),
            gone = out.failed().len() - failures.len(),
            failed = failures.len(),
            "delete batch"
        );
        if failures.is_empty() {
            return Ok(());
        }
        let details = failures
            .iter()
            .map(|f| {
                format!(
                    "entry {}: {} ({})",
                    f.id(),
                    f.code(),
                    f.message().unwrap_or("no message")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        if failures.iter().all(|f| f.sender_fault()) {
            Err(MessagingError::Invalid(format!(
                "DeleteMessageBatch on {}: {details}",
                self.name
            )))
        } else {
            Err(MessagingError::backend(AwsError::Batch {
                operation: "DeleteMessageBatch",
                failed: failures.len(),
                total: receipts.len(),
                details,
            }))
        }
    }
}

const RECEIPT_HANDLE_IS_INVALID: &str = "ReceiptHandleIsInvalid";

/// The last path segment of a queue URL (the whole string if it has none).
fn queue_name_of(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// Converts a message SQS returned into the port's form.
fn to_queue_message(
    queue: &str,
    message: aws_sdk_sqs::types::Message,
) -> Result<QueueMessage, MessagingError> {
    let receive_count = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse::<u32>().ok());
    let receive_count = receive_count.unwrap_or_else(|| {
        tracing::warn!(queue, "SQS returned no ApproximateReceiveCount; taking 1");
        1
    });
    let sent_at = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    let aws_sdk_sqs::types::Message {
        message_id,
        receipt_handle,
        body,
        ..
    } = message;
    Ok(QueueMessage {
        message_id: message_id
            .ok_or_else(|| AwsError::incomplete("ReceiveMessage", "MessageId"))?,
        receipt: receipt_handle
            .ok_or_else(|| AwsError::incomplete("ReceiveMessage", "ReceiptHandle"))?,
        body: body.unwrap_or_default(),
        receive_count,
        sent_at,
    })
}

#[async_trait]
impl Queue for SqsQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, body: &str) -> Result<String, MessagingError> {
        check_body(body)?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| failed("SendMessage", &self.name, e))?;
        let message_id = out
            .message_id
            .ok_or_else(|| AwsError::incomplete("SendMessage", "MessageId"))?;
        tracing::debug!(queue = %self.name, %message_id, "sent");
        Ok(message_id)
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<QueueMessage>, MessagingError> {
        crate::ports::check_receive(max, wait)?;
        // Both fit an i32: max ≤ 10, wait ≤ 20 s.
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max as i32)
            .wait_time_seconds(whole_seconds(wait) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| failed("ReceiveMessage", &self.name, e))?;
        let messages = out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| to_queue_message(&self.name, m))
            .collect::<Result<Vec<_>, _>>()?;
        if !messages.is_empty() {
            tracing::debug!(queue = %self.name, count = messages.len(), "received");
        }
        Ok(messages)
    }

    async fn delete(&self, receipt: &str) -> Result<(), MessagingError> {
        check_receipt(receipt)?;
        match self
            .client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => {
                tracing::debug!(queue = %self.name, "deleted");
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                tracing::debug!(queue = %self.name, "delete: receipt handle no longer valid; message already gone");
                Ok(())
            }
            Err(e) => Err(failed("DeleteMessage", &self.name, e)),
        }
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
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            // At most 43 200: fits an i32.
            .visibility_timeout(whole_seconds(timeout) as i32)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The timeout was checked above, so an invalid parameter is the
            // receipt: SQS answers "Message does not exist or is not available
            // for visibility timeout change" this way.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_receipt_handle_is_invalid() || s.is_message_not_inflight()
                }) || aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("InvalidParameterValue") =>
            {
                Err(MessagingError::NotFound(format!(
                    "message of receipt {receipt} in queue {}",
                    self.name
                )))
            }
            Err(e) => Err(failed("ChangeMessageVisibility", &self.name, e)),
        }
    }

    async fn depth(&self) -> Result<u64, MessagingError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .set_attribute_names(Some(
                DEPTH_ATTRIBUTES.iter().map(|(a, _)| a.clone()).collect(),
            ))
            .send()
            .await
            .map_err(|e| failed("GetQueueAttributes", &self.name, e))?;
        let attributes = out.attributes.unwrap_or_default();
        let mut depth = 0u64;
        for (attribute, name) in DEPTH_ATTRIBUTES {
            let count = attributes
                .get(&attribute)
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| AwsError::incomplete("GetQueueAttributes", name))?;
            depth = depth.saturating_add(count);
        }
        Ok(depth)
    }
}

/// The attributes whose sum is a queue's depth, with their names.
const DEPTH_ATTRIBUTES: [(QueueAttributeName, &str); 3] = [
    (
        QueueAttributeName::ApproximateNumberOfMessages,
        "ApproximateNumberOfMessages",
    ),
    (
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        "ApproximateNumberOfMessagesNotVisible",
    ),
    (
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        "ApproximateNumberOfMessagesDelayed",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_last_url_segment() {
        assert_eq!(
            queue_name_of("https://sqs.us-east-1.amazonaws.com/123456789012/gas-archive"),
            "gas-archive"
        );
        assert_eq!(queue_name_of("http://127.0.0.1:5000/123456789012/q/"), "q");
        assert_eq!(queue_name_of("q"), "q");
    }
}
