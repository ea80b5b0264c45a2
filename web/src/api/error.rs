//! The API's errors: where a domain refusal becomes a status, a stable
//! reason code and words, in one match ([`From<Error>`], [`From<Refusal>`],
//! [`From<SubscribeError>`]), answered as `{"error", "reason"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::domain::error::{Error, Refusal};
use crate::integrations::payment::{PaymentError, SubscribeError};

/// What an API call answers when it cannot do what was asked. Clients get a
/// JSON body `{"error": message, "reason": code}`; internal failures are
/// logged here, once, and reach the client only as "internal error".
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("sign in required")]
    Unauthorized,
    /// Missing, or someone else's: the two must look the same.
    #[error("no such job")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    /// The request is valid but the resource is not in a state to serve it;
    /// `reason` is a stable code clients act on (`upgrade`, `restoring`,
    /// `not_ready`, ...).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        message: String,
        reason: &'static str,
    },
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn refused(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::Refused {
            status,
            message: message.into(),
            reason,
        }
    }

    /// A call made with a session cookie that changes something, without
    /// the page's token.
    pub fn csrf() -> Self {
        ApiError::refused(
            StatusCode::FORBIDDEN,
            "csrf",
            "a call made with a session cookie needs the page's X-CSRF-Token header",
        )
    }

    fn status_and_reason(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Refused { status, reason, .. } => (*status, reason),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = self.status_and_reason();
        match &self {
            ApiError::Internal(e) | ApiError::Unavailable(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed")
            }
            _ => tracing::debug!(%status, error = %self, "request refused"),
        }
        let mut response = (
            status,
            Json(json!({ "error": self.to_string(), "reason": reason })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound => ApiError::NotFound,
            Error::Invalid(message) => ApiError::BadRequest(message),
            Error::TooLarge(message) => ApiError::TooLarge(message),
            Error::BadCursor => ApiError::BadRequest("invalid cursor".into()),
            Error::Refused(refusal) => refusal.into(),
            Error::Unavailable(e) => ApiError::Unavailable(e),
            Error::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        use StatusCode as S;
        let (status, reason, message) = match refusal {
            Refusal::ResultsNotReady(status) => (
                S::CONFLICT,
                "not_ready",
                format!(
                    "the job is {}; results exist only once it completes",
                    status.as_str()
                ),
            ),
            Refusal::LogNotReady(status) => (
                S::CONFLICT,
                "not_ready",
                format!(
                    "the job is {}; its log is written when it ends",
                    status.as_str()
                ),
            ),
            Refusal::WindowOver => (
                S::FORBIDDEN,
                "upgrade",
                "the free download window for these results is over; upgrade to premium to get them back".into(),
            ),
            Refusal::Restoring => (
                S::CONFLICT,
                "restoring",
                "the results are being restored from cold storage; try again later".into(),
            ),
            Refusal::Archived => (
                S::CONFLICT,
                "restoring",
                "the results are in cold storage; a restore will start shortly".into(),
            ),
            Refusal::Duplicate => (
                S::CONFLICT,
                "duplicate",
                "this upload was already submitted".into(),
            ),
            Refusal::NoVariantIndex => (
                S::CONFLICT,
                "no_index",
                "this job has no variant table; its results can still be downloaded".into(),
            ),
        };
        ApiError::refused(status, reason, message)
    }
}

/// Why asking for Premium through the API changed nothing.
impl From<SubscribeError> for ApiError {
    fn from(e: SubscribeError) -> Self {
        match e {
            SubscribeError::Payment(PaymentError::Refused(why)) => ApiError::refused(
                StatusCode::PAYMENT_REQUIRED,
                "payment_required",
                format!(
                    "Premium is paid for first; the payment provider refused ({why}). \
                     Subscribe on the web app's /subscribe page, or send the payment_method \
                     your provider's script made. Nothing was charged."
                ),
            ),
            SubscribeError::Payment(e @ PaymentError::Backend(_)) => {
                tracing::warn!(error = %e, "the payment provider failed");
                ApiError::refused(
                    StatusCode::BAD_GATEWAY,
                    "payment_unavailable",
                    "the payment provider could not be reached; nothing was charged, try again",
                )
            }
            SubscribeError::Upgrade(e) => ApiError::Internal(e),
        }
    }
}

macro_rules! domain_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                Error::from(e).into()
            }
        }
    )*};
}
domain_from!(
    gas_jobs::StoreError,
    gas_storage::BlobError,
    gas_messaging::MessagingError,
    serde_json::Error,
    anyhow::Error
);

impl ApiError {
    /// What an axum extractor refused (a query string, a path or a
    /// multipart body it could not read), as the API's own error body:
    /// axum's own rejections answer in plain text.
    fn rejected(status: StatusCode, message: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(message)
        } else if status.is_client_error() {
            ApiError::BadRequest(message)
        } else {
            ApiError::Internal(anyhow::anyhow!(message))
        }
    }
}

macro_rules! rejection_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::rejected(e.status(), e.body_text())
            }
        }
    )*};
}
rejection_from!(
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::PathRejection,
    axum::extract::multipart::MultipartRejection,
    axum::extract::multipart::MultipartError
);
