//! Errors of the DynamoDB adapters, carried inside [`StoreError::Backend`].

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

use crate::StoreError;

type BoxError = Box<dyn Error + Send + Sync>;

/// What went wrong below the port's own errors.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DynamoError {
    /// A DynamoDB request failed (network, throttling after the SDK's
    /// retries, validation, missing table, ...). The message carries the
    /// SDK's whole error context; the source is the SDK error itself.
    #[error("DynamoDB {operation} on table {table} failed: {context}")]
    Request {
        operation: &'static str,
        table: String,
        context: String,
        #[source]
        source: BoxError,
    },
    /// An item does not have the shape of a record.
    #[error("item {key:?}: attribute {attribute}: {problem}")]
    BadItem {
        key: String,
        attribute: &'static str,
        problem: String,
    },
    /// A value of a record cannot be stored as a DynamoDB attribute.
    #[error("attribute {attribute}: {problem}")]
    BadValue {
        attribute: &'static str,
        problem: String,
    },
    /// A table exists with another layout, or never became usable.
    #[error("table {table}: {problem}")]
    Table { table: String, problem: String },
    /// A request kept being cancelled by concurrent writes, or left work
    /// unprocessed under throttling, through every retry.
    #[error("DynamoDB {operation} on table {table}: gave up after {attempts} attempts (contention or throttling)")]
    Contended {
        operation: &'static str,
        table: String,
        attempts: u32,
    },
}

impl From<DynamoError> for StoreError {
    fn from(e: DynamoError) -> Self {
        StoreError::backend(e)
    }
}

/// A failed SDK call as a [`StoreError::Backend`], keeping the SDK error as
/// the source.
pub(crate) fn request_failed<E, R>(
    operation: &'static str,
    table: &str,
    err: SdkError<E, R>,
) -> StoreError
where
    E: Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let context = DisplayErrorContext(&err).to_string();
    tracing::warn!(operation, table, error = %context, "DynamoDB request failed");
    DynamoError::Request {
        operation,
        table: table.to_string(),
        context,
        source: Box::new(err),
    }
    .into()
}

/// A builder refused its input: a bug in this adapter, reported as a
/// backend failure rather than a panic.
pub(crate) fn build_failed(
    what: &'static str,
    table: &str,
    err: aws_smithy_types::error::operation::BuildError,
) -> StoreError {
    DynamoError::Request {
        operation: what,
        table: table.to_string(),
        context: err.to_string(),
        source: Box::new(err),
    }
    .into()
}
