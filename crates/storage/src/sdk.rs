//! What the AWS adapters share: the error type of a failed call, error
//! classification, and SDK bodies as [`ByteStream`]s.

use std::error::Error;
use std::io;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::ByteStream;

/// A failed AWS call: the operation, the SDK's full error context in the
/// message (code, message, request id, HTTP status), the error as source.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {context}")]
pub struct AwsError {
    operation: &'static str,
    context: String,
    #[source]
    source: Box<dyn Error + Send + Sync>,
}

impl AwsError {
    pub fn new(operation: &'static str, e: impl Error + Send + Sync + 'static) -> Self {
        Self {
            operation,
            context: DisplayErrorContext(&e).to_string(),
            source: Box::new(e),
        }
    }

    /// An error of ours (not the SDK's) about an operation.
    pub(crate) fn message(operation: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            operation,
            context: message.clone(),
            source: Box::new(io::Error::other(message)),
        }
    }

    /// The AWS operation that failed, e.g. `"s3:PutObject"`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

/// The HTTP status of an SDK error's raw response, if there was one. (The
/// S3 and Glacier crates re-export the same `SdkError` and response types.)
pub(crate) fn http_status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// An SDK response body as a [`ByteStream`], chunk by chunk as it arrives.
pub(crate) fn body_stream(body: aws_smithy_types::byte_stream::ByteStream) -> ByteStream {
    Box::pin(futures::stream::try_unfold(body, |mut body| async move {
        match body.try_next().await {
            Ok(Some(chunk)) => Ok(Some((chunk, body))),
            Ok(None) => Ok(None),
            Err(e) => Err(io::Error::other(e)),
        }
    }))
}
