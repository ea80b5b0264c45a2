use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use gas_messaging::sns::{MessageType, SnsMessage, SnsVerifier};
use serde_json::json;
use tracing::{info, warn};

use crate::drain::Drainer;

/// SNS messages are at most 256 KiB; anything larger is not one.
const MAX_SNS_BODY: usize = 256 * 1024 + 4096;

/// One webhook: the topic it accepts and the queue it drains.
#[derive(Clone)]
pub struct Endpoint {
    pub topic_arn: String,
    pub drainer: Arc<Drainer>,
}

/// What the webhooks need.
#[derive(Clone)]
pub struct WebhookState {
    pub verifier: Arc<SnsVerifier>,
    /// Client for SubscribeURL confirmations.
    pub http: reqwest::Client,
    pub archive: Endpoint,
    pub restore: Endpoint,
    pub thaw: Endpoint,
}

impl Endpoint {
    pub fn new(topic_arn: impl Into<String>, drainer: Arc<Drainer>) -> Self {
        Endpoint {
            topic_arn: topic_arn.into(),
            drainer,
        }
    }
}

/// `POST /archive`, `/restore`, `/thaw`.
pub fn router(state: WebhookState) -> Router {
    Router::new()
        .route(
            "/archive",
            post(
                |s: State<Arc<WebhookState>>, h: HeaderMap, b: Bytes| async move {
                    receive(&s, &s.archive, "archive", &h, &b).await
                },
            ),
        )
        .route(
            "/restore",
            post(
                |s: State<Arc<WebhookState>>, h: HeaderMap, b: Bytes| async move {
                    receive(&s, &s.restore, "restore", &h, &b).await
                },
            ),
        )
        .route(
            "/thaw",
            post(
                |s: State<Arc<WebhookState>>, h: HeaderMap, b: Bytes| async move {
                    receive(&s, &s.thaw, "thaw", &h, &b).await
                },
            ),
        )
        .layer(DefaultBodyLimit::max(MAX_SNS_BODY))
        .with_state(Arc::new(state))
}

fn reject(status: StatusCode, endpoint: &'static str, error: &str) -> Response {
    metrics::counter!("gas_util_webhook_total", "endpoint" => endpoint, "result" => "rejected")
        .increment(1);
    (status, Json(json!({ "error": error }))).into_response()
}

/// Verifies, then acts. Nothing here fetches a URL or touches a queue before
/// the message's signature has been verified.
async fn receive(
    state: &WebhookState,
    endpoint: &Endpoint,
    name: &'static str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let message = match SnsMessage::parse(body) {
        Ok(m) => m,
        Err(e) => {
            warn!(endpoint = name, error = %e, "rejected a malformed SNS message");
            return reject(StatusCode::BAD_REQUEST, name, "not an SNS message");
        }
    };
    if let Some(declared) = headers
        .get("x-amz-sns-message-type")
        .and_then(|v| v.to_str().ok())
    {
        if declared != message.message_type.as_str() {
            return reject(
                StatusCode::BAD_REQUEST,
                name,
                "message type header disagrees with the body",
            );
        }
    }
    if message.topic_arn != endpoint.topic_arn {
        warn!(endpoint = name, topic = %message.topic_arn, "message from an unexpected topic");
        return reject(StatusCode::FORBIDDEN, name, "topic not accepted here");
    }
    if let Err(e) = state.verifier.verify(&message).await {
        warn!(endpoint = name, error = %e, "rejected an SNS message that failed verification");
        return reject(StatusCode::FORBIDDEN, name, "signature verification failed");
    }

    match message.message_type {
        MessageType::SubscriptionConfirmation => confirm(state, &message, name).await,
        MessageType::Notification => {
            endpoint.drainer.trigger();
            metrics::counter!("gas_util_webhook_total", "endpoint" => name, "result" => "notification")
                .increment(1);
            StatusCode::OK.into_response()
        }
        MessageType::UnsubscribeConfirmation => {
            warn!(endpoint = name, "unsubscribed from {}", message.topic_arn);
            StatusCode::OK.into_response()
        }
    }
}

async fn confirm(state: &WebhookState, message: &SnsMessage, name: &'static str) -> Response {
    let Some(url) = message.subscribe_url.as_deref() else {
        return reject(
            StatusCode::BAD_REQUEST,
            name,
            "confirmation without SubscribeURL",
        );
    };
    if !state.verifier.is_trusted_url(url) {
        warn!(
            endpoint = name,
            url, "SubscribeURL outside the trusted prefixes"
        );
        return reject(StatusCode::FORBIDDEN, name, "untrusted SubscribeURL");
    }
    let confirmed = state
        .http
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .and_then(|r| r.error_for_status());
    match confirmed {
        Ok(_) => {
            info!(endpoint = name, topic = %message.topic_arn, "subscription confirmed");
            metrics::counter!("gas_util_webhook_total", "endpoint" => name, "result" => "confirmed")
                .increment(1);
            StatusCode::OK.into_response()
        }
        Err(e) => {
            warn!(endpoint = name, error = %e, "could not confirm the subscription");
            // SNS sends the confirmation again on a non-2xx answer.
            reject(StatusCode::BAD_GATEWAY, name, "confirmation failed")
        }
    }
}
