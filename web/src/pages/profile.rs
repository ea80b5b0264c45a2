//! The profile page: email, plan, and the user's API tokens.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gas_jobs::{Role, User};
use serde::Deserialize;

use crate::domain::accounts;
use crate::pages::error::PageError;
use crate::pages::extract::SignedIn;
use crate::pages::render::{iso_time, render, utc_time, Layout, Nav};
use crate::primitives::csrf::CsrfToken;
use crate::state::WebState;

type AppState = State<Arc<WebState>>;

/// Tokens one user may have at once.
const MAX_TOKENS: usize = 20;

#[derive(Debug, Clone)]
struct TokenRow {
    id: String,
    name: String,
    created_iso: String,
    created_utc: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    premium: bool,
    member_since_iso: String,
    member_since_utc: String,
    tokens: Vec<TokenRow>,
    /// A token just made: shown this once.
    new_token: Option<String>,
    error: Option<String>,
}

async fn show(
    state: &WebState,
    user: &User,
    csrf: &CsrfToken,
    status: StatusCode,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let tokens = state
        .ports
        .users
        .list_tokens(&user.user_id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.token_id,
            name: t.name,
            created_iso: iso_time(t.created_at),
            created_utc: utc_time(t.created_at),
        })
        .collect();
    let mut response = render(
        status,
        &ProfilePage {
            layout: Layout::new("Profile", Some(user), csrf, Nav::Profile),
            email: user.email.clone(),
            premium: user.role == Role::Premium,
            member_since_iso: iso_time(user.created_at),
            member_since_utc: utc_time(user.created_at),
            tokens,
            new_token,
            error,
        },
    );
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub async fn page(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    show(&state, &user, &csrf, StatusCode::OK, None, None).await
}

#[derive(Debug, Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
}

pub async fn create_token(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Form(form): Form<NewToken>,
) -> Result<Response, PageError> {
    let name = form.name.trim();
    if name.is_empty() {
        let error = Some("Give the token a name, so you know later where it is used.".to_string());
        return show(&state, &user, &csrf, StatusCode::BAD_REQUEST, None, error).await;
    }
    if state.ports.users.list_tokens(&user.user_id).await?.len() >= MAX_TOKENS {
        let error = Some(format!(
            "You have {MAX_TOKENS} tokens already; revoke one first."
        ));
        return show(&state, &user, &csrf, StatusCode::BAD_REQUEST, None, error).await;
    }
    let (token, record) = accounts::create_token(state.ports.users.as_ref(), &user, name).await?;
    tracing::info!(user_id = %user.user_id, token_id = %record.token_id, "API token created");
    show(&state, &user, &csrf, StatusCode::OK, Some(token), None).await
}

pub async fn revoke_token(
    State(state): AppState,
    SignedIn(user): SignedIn,
    Path(token_id): Path<String>,
) -> Result<Response, PageError> {
    if state
        .ports
        .users
        .revoke_token(&user.user_id, &token_id)
        .await?
    {
        tracing::info!(user_id = %user.user_id, token_id = %token_id, "API token revoked");
    }
    Ok(Redirect::to("/profile").into_response())
}
