//! The caller's own account: who they are, and Premium.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{info_span, Instrument};

use crate::api::auth::CurrentUser;
use crate::api::error::ApiError;
use crate::integrations::payment::{self, SubscribeForm, Subscription};
use crate::state::WebState;

/// What the API shows of a user (never the secrets' hashes).
fn profile(user: &gas_jobs::User) -> Value {
    json!({ "user_id": user.user_id, "email": user.email, "role": user.role })
}

pub async fn me(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(profile(&user))
}

/// What `POST /api/v1/me/upgrade` may carry: for a provider that takes a
/// card, the payment method its script made (Stripe: `pm_...`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpgradeBody {
    /// Absent, or a string: `null` is refused as the document says.
    #[serde(default, deserialize_with = "present_string")]
    payment_method: Option<String>,
}

fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// Premium through the API, behind the same paywall as the subscribe page
/// (`payment::subscribe`): the payment provider decides.
pub async fn upgrade(
    State(state): State<Arc<WebState>>,
    CurrentUser(user): CurrentUser,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: UpgradeBody = if body.iter().all(u8::is_ascii_whitespace) {
        UpgradeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body must be empty or a JSON object {{\"payment_method\": \"...\"}}: {e}"
            ))
        })?
    };
    let form = SubscribeForm {
        payment_method: body.payment_method,
    };
    let payments = state.ports.payments.as_ref();
    let span = info_span!("upgrade", user_id = %user.user_id, provider = payments.name());
    let outcome = payment::subscribe(payments, &state.plan(), &user, &form)
        .instrument(span)
        .await?;
    match outcome {
        Subscription::Upgraded(user) | Subscription::AlreadyPremium(user) => {
            Ok(Json(profile(&user)))
        }
        Subscription::Checkout(url) => Err(ApiError::refused(
            StatusCode::PAYMENT_REQUIRED,
            "payment_required",
            format!("Premium is paid for first: finish at {url}"),
        )),
    }
}
