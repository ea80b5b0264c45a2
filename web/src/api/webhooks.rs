//! `POST /stripe/webhook`: the payment provider's events.
//!
//! Stripe's expectations: a 2xx for every event it need not send again
//! (handled, a repeat, or one we do not use); anything else makes it retry,
//! with backoff, for up to three days. So: a bad, stale or missing
//! signature or a body that is not an event → 400 (an attacker's post, or
//! a misconfigured secret: retrying will not help, and nothing changes); a
//! repeat of an event id already handled → 200 and nothing changes; an
//! event about something else, or about no user of ours → 200, ignored;
//! a failure of Stripe's API or of our stores → 500, and the event is not
//! recorded, so Stripe's retry handles it (every step is idempotent).
//!
//! The route sits outside the pages' CSRF layer: Stripe has no session,
//! and the signature is the check.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gas_jobs::{now_epoch, Role};
use serde_json::json;
use tracing::{info, info_span, warn, Instrument};

use crate::domain::plan::{downgrade_user, upgrade_user};
use crate::integrations::payment::{PaymentEvent, WebhookError};
use crate::state::WebState;

/// The webhook's route, to merge into the web app's router.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/stripe/webhook", post(webhook))
}

fn answer(status: StatusCode, outcome: &str) -> Response {
    (
        status,
        Json(json!({ "received": status.is_success(), "outcome": outcome })),
    )
        .into_response()
}

async fn webhook(State(state): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let payments = &state.ports.payments;
    let event = match payments.verify_notification(&headers, &body, now_epoch()) {
        Ok(event) => event,
        Err(WebhookError::NotAccepted) => {
            return answer(
                StatusCode::NOT_FOUND,
                "no payment provider takes webhooks here",
            )
        }
        Err(e) => {
            warn!(provider = payments.name(), error = %e, "payment webhook refused");
            metrics::counter!("gas_web_payment_webhooks_refused_total").increment(1);
            return answer(StatusCode::BAD_REQUEST, "refused");
        }
    };
    let span = info_span!("payment_event", event_id = %event.id, kind = %event.kind);
    handle(&state, event).instrument(span).await
}

async fn handle(state: &WebState, event: PaymentEvent) -> Response {
    let ports = &state.ports;
    match ports.users.event_recorded(&event.id).await {
        Ok(false) => {}
        Ok(true) => {
            info!("payment event handled already; ignored");
            return answer(StatusCode::OK, "duplicate");
        }
        Err(e) => {
            warn!(error = %e, "could not check the payment event");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "try again");
        }
    }
    let change = match ports.payments.plan_change(&event).await {
        Ok(change) => change,
        Err(e) => {
            warn!(error = %e, "could not read what the payment event means; the provider retries");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "try again");
        }
    };
    let outcome = match change {
        None => {
            info!("payment event changes no plan");
            "ignored"
        }
        Some(change) => match apply(state, &change.user_id, change.role).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => {
                info!(user_id = %change.user_id, "payment event for an unknown user; ignored");
                "unknown user"
            }
            Err(e) => {
                warn!(user_id = %change.user_id, error = %e, "could not change the plan; the provider retries");
                return answer(StatusCode::INTERNAL_SERVER_ERROR, "try again");
            }
        },
    };
    if let Err(e) = ports.users.record_event(&event.id, now_epoch()).await {
        // Handled but not recorded: a retry handles it again, which the
        // idempotent steps allow.
        warn!(error = %e, "could not record the payment event");
        return answer(StatusCode::INTERNAL_SERVER_ERROR, "try again");
    }
    metrics::counter!("gas_web_payment_events_total").increment(1);
    answer(StatusCode::OK, outcome)
}

/// Sets the user's plan through the same steps as every other path;
/// `None` for an unknown user.
async fn apply(
    state: &WebState,
    user_id: &str,
    role: Role,
) -> anyhow::Result<Option<&'static str>> {
    let ports = &state.ports;
    if ports.users.get(user_id).await?.is_none() {
        return Ok(None);
    }
    match role {
        Role::Premium => {
            upgrade_user(&state.plan(), user_id).await?;
            Ok(Some("premium"))
        }
        Role::Free => {
            downgrade_user(&state.plan(), user_id, state.settings.free_access_window).await?;
            Ok(Some("free"))
        }
    }
}
