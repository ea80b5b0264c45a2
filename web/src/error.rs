use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

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

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_reason().0
    }

    /// The stable code clients act on (`upgrade`, `restoring`, ...).
    pub fn reason(&self) -> &'static str {
        self.status_and_reason().1
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

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::Internal(anyhow::Error::new(e))
            }
        }
    )*};
}
internal_from!(
    gas_jobs::StoreError,
    gas_storage::BlobError,
    gas_messaging::MessagingError,
    serde_json::Error
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

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}
