//! How AWS failures become [`MessagingError`]s.
//!
//! Every SDK error keeps its whole chain: [`AwsError`] renders it with
//! [`DisplayErrorContext`] (the SDK's own `Display` says little more than
//! "service error") and keeps it as its source. Error codes that mean the
//! request itself is wrong become [`MessagingError::Invalid`], codes that
//! mean the resource is missing become [`MessagingError::NotFound`]; the rest
//! (throttling, network, 5xx) are [`MessagingError::Backend`], which callers
//! may retry.

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::MessagingError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed or unusable AWS call.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The SDK returned an error; `context` is its whole chain.
    #[error("{operation} failed: {context}")]
    Call {
        operation: &'static str,
        context: String,
        #[source]
        source: BoxError,
    },
    /// The call succeeded but its answer lacks a field the contract needs.
    #[error("{operation} returned no {field}")]
    Incomplete {
        operation: &'static str,
        field: &'static str,
    },
    /// Some entries of a batch call failed.
    #[error("{operation} failed for {failed} of {total} entries: {details}")]
    Batch {
        operation: &'static str,
        failed: usize,
        total: usize,
        details: String,
    },
}

impl AwsError {
    pub(crate) fn incomplete(operation: &'static str, field: &'static str) -> MessagingError {
        MessagingError::backend(AwsError::Incomplete { operation, field })
    }
}

/// Error codes (across SQS, SNS and Step Functions) for a missing resource.
const NOT_FOUND_CODES: &[&str] = &[
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "NotFound",
    "NotFoundException",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
];

/// Error codes for a request that fails again if retried unchanged.
const INVALID_CODES: &[&str] = &[
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidMessageContents",
    "InvalidBatchEntryId",
    "BatchEntryIdsNotDistinct",
    "TooManyEntriesInBatchRequest",
    "EmptyBatchRequest",
    "MissingParameter",
    "ValidationException",
    "ValidationError",
    "InvalidArn",
    "InvalidName",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "AWS.SimpleQueueService.InvalidBatchEntryId",
    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "AWS.SimpleQueueService.EmptyBatchRequest",
];

/// What a failure with error `code` means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    NotFound,
    Invalid,
    Backend,
}

pub(crate) fn kind_of(code: Option<&str>) -> Kind {
    match code {
        Some(code) if NOT_FOUND_CODES.contains(&code) => Kind::NotFound,
        Some(code) if INVALID_CODES.contains(&code) => Kind::Invalid,
        _ => Kind::Backend,
    }
}

/// Turns the SDK error of `operation` on `resource` into a
/// [`MessagingError`] by its error code (see the module documentation).
pub(crate) fn failed<E>(operation: &'static str, resource: &str, err: E) -> MessagingError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let context = DisplayErrorContext(&err).to_string();
    let code = err.code().map(str::to_owned);
    match kind_of(code.as_deref()) {
        Kind::NotFound => MessagingError::NotFound(format!(
            "{resource} ({operation} answered {})",
            code.as_deref().unwrap_or("not found")
        )),
        Kind::Invalid => MessagingError::Invalid(format!("{operation} on {resource}: {context}")),
        Kind::Backend => {
            tracing::debug!(operation, resource, code = ?code, error = %context, "AWS call failed");
            MessagingError::backend(AwsError::Call {
                operation,
                context,
                source: Box::new(err),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(kind_of(Some("QueueDoesNotExist")), Kind::NotFound);
        assert_eq!(kind_of(Some("NotFound")), Kind::NotFound);
        assert_eq!(kind_of(Some("ExecutionDoesNotExist")), Kind::NotFound);
        assert_eq!(kind_of(Some("InvalidParameterValue")), Kind::Invalid);
        assert_eq!(kind_of(Some("InvalidArn")), Kind::Invalid);
        assert_eq!(kind_of(Some("ThrottlingException")), Kind::Backend);
        assert_eq!(kind_of(Some("RequestThrottled")), Kind::Backend);
        assert_eq!(kind_of(None), Kind::Backend);
    }

    #[test]
    fn incomplete_answers_are_backend_errors() {
        let e = AwsError::incomplete("SendMessage", "MessageId");
        assert!(matches!(e, MessagingError::Backend(_)));
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("SendMessage returned no MessageId"));
    }
}
