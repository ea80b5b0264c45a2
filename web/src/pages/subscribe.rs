//! Premium: the subscribe page and the upgrade behind it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gas_jobs::{JobStatus, Role, User};
use serde::Deserialize;
use tracing::{info_span, Instrument};

use super::{human_bytes, render, Layout, PageError};
use crate::csrf::CsrfToken;
use crate::error::ApiError;
use crate::payment::Checkout;
use crate::session::SignedIn;
use crate::WebState;

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
}

#[derive(Debug, Deserialize)]
pub struct SubscribeQuery {
    #[serde(default)]
    welcome: bool,
}

/// How many of the user's completed jobs are archived (so restoring, for a
/// premium user). Counted over the newest few hundred jobs.
async fn archived_jobs(state: &WebState, user: &User) -> Result<usize, ApiError> {
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
    Ok(render(
        status,
        &SubscribePage {
            layout: Layout::new("Premium", Some(user), csrf, "subscribe"),
            premium,
            welcome: welcome && premium,
            restoring,
            free_window: super::home::human_duration(state.settings.free_access_window.as_secs()),
            free_limit: human_bytes(state.settings.free_upload_limit),
            premium_limit: human_bytes(state.settings.max_upload),
            error,
        },
    ))
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
) -> Result<Response, PageError> {
    if user.role == Role::Premium {
        return Ok(Redirect::to("/subscribe").into_response());
    }
    let span =
        info_span!("subscribe", user_id = %user.user_id, provider = state.ports.payments.name());
    let checkout = state
        .ports
        .payments
        .start_subscription(&user)
        .instrument(span.clone())
        .await;
    match checkout {
        Ok(Checkout::Paid) => {
            let ports = &state.ports;
            crate::upgrade_user(
                ports.jobs.as_ref(),
                ports.users.as_ref(),
                ports.archive_timer.as_ref(),
                ports.restore_topic.as_ref(),
                &user.user_id,
            )
            .instrument(span)
            .await
            .map_err(ApiError::from)?;
            Ok(Redirect::to("/subscribe?welcome=true").into_response())
        }
        Ok(Checkout::Redirect(url)) => Ok(Redirect::to(&url).into_response()),
        Err(e) => {
            tracing::warn!(user_id = %user.user_id, error = %e, "subscription not started");
            show(
                &state,
                &user,
                &csrf,
                false,
                StatusCode::BAD_GATEWAY,
                Some(
                    "The payment could not be started. Nothing was charged; please try again."
                        .into(),
                ),
            )
            .await
        }
    }
}
