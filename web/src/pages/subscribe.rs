//! Premium: the subscribe page and the upgrade behind it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gas_jobs::{JobStatus, Role, User};
use serde::Deserialize;
use tracing::{info_span, Instrument};

use crate::domain::error::Error;
use crate::integrations::payment::{
    self, CardForm, PaymentError, SubscribeError, SubscribeForm, Subscription,
};
use crate::pages::error::PageError;
use crate::pages::extract::SignedIn;
use crate::pages::render::{human_bytes, human_duration, render, Layout, Nav};
use crate::primitives::csrf::CsrfToken;
use crate::state::WebState;

type AppState = State<Arc<WebState>>;

#[derive(Template)]
#[template(path = "subscribe.html")]
struct SubscribePage {
    layout: Layout,
    premium: bool,
    welcome: bool,
    restoring: usize,
    free_window: String,
    free_limit: String,
    premium_limit: String,
    error: Option<String>,
    /// The provider's card form (Stripe.js), when it collects a card here.
    card: Option<CardForm>,
}

/// The subscribe form: the CSRF token (checked by the layer) and, for a
/// provider with a card form, the payment method its script made.
#[derive(Debug, Deserialize)]
pub struct SubscribeBody {
    #[serde(default)]
    payment_method: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SubscribeQuery {
    #[serde(default)]
    welcome: bool,
}

/// How many of the user's completed jobs are archived (so restoring, for a
/// premium user). Counted over the newest few hundred jobs.
async fn archived_jobs(state: &WebState, user: &User) -> Result<usize, Error> {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let page = state
            .ports
            .jobs
            .list_for_user(&user.user_id, 100, cursor.as_deref())
            .await?;
        count += page
            .items
            .iter()
            .filter(|j| j.job_status == JobStatus::Completed && j.results_file_archive_id.is_some())
            .count();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(count)
}

async fn show(
    state: &WebState,
    user: &User,
    csrf: &CsrfToken,
    welcome: bool,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let premium = user.role == Role::Premium;
    let restoring = if premium {
        archived_jobs(state, user).await?
    } else {
        0
    };
    let card = if premium {
        None
    } else {
        state.ports.payments.card_form()
    };
    let csp = card.as_ref().map(card_form_policy);
    let mut response = render(
        status,
        &SubscribePage {
            layout: Layout::new("Premium", Some(user), csrf, Nav::Subscribe),
            premium,
            welcome: welcome && premium,
            restoring,
            free_window: human_duration(state.settings.free_access_window.as_secs()),
            free_limit: human_bytes(state.settings.free_upload_limit),
            premium_limit: human_bytes(state.settings.max_upload),
            error,
            card,
        },
    );
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        // The page loads the provider's script, which talks to its API
        // and shows the card field in its own frame.
        response
            .headers_mut()
            .insert("content-security-policy", csp);
    }
    Ok(response)
}

/// The pages' content security policy, widened for the provider's script.
fn card_form_policy(card: &CardForm) -> String {
    let origin = url::Url::parse(&card.script_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let api = if origin == "https://js.stripe.com" {
        "https://api.stripe.com".to_string()
    } else {
        origin.clone()
    };
    format!(
        "default-src 'self'; script-src 'self' {origin}; frame-src {origin} https://hooks.stripe.com; \
         connect-src 'self' {api}; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    )
}

pub async fn page(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Query(q): Query<SubscribeQuery>,
) -> Result<Response, PageError> {
    show(&state, &user, &csrf, q.welcome, StatusCode::OK, None).await
}

pub async fn subscribe(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Form(body): Form<SubscribeBody>,
) -> Result<Response, PageError> {
    let span =
        info_span!("subscribe", user_id = %user.user_id, provider = state.ports.payments.name());
    let outcome = payment::subscribe(
        state.ports.payments.as_ref(),
        &state.plan(),
        &user,
        &SubscribeForm {
            payment_method: body.payment_method,
        },
    )
    .instrument(span)
    .await;
    match outcome {
        Ok(Subscription::AlreadyPremium(_)) => Ok(Redirect::to("/subscribe").into_response()),
        Ok(Subscription::Upgraded(_)) => {
            Ok(Redirect::to("/subscribe?welcome=true").into_response())
        }
        Ok(Subscription::Checkout(url)) => Ok(Redirect::to(&url).into_response()),
        Err(SubscribeError::Upgrade(e)) => Err(Error::Internal(e).into()),
        Err(SubscribeError::Payment(e)) => {
            tracing::warn!(user_id = %user.user_id, error = %e, "subscription not started");
            let (status, message) = match &e {
                PaymentError::Refused(why) => (
                    StatusCode::PAYMENT_REQUIRED,
                    format!("The payment was not accepted ({why}). Nothing was charged."),
                ),
                PaymentError::Backend(_) => (
                    StatusCode::BAD_GATEWAY,
                    "The payment could not be started. Nothing was charged; please try again."
                        .to_string(),
                ),
            };
            show(&state, &user, &csrf, false, status, Some(message)).await
        }
    }
}
