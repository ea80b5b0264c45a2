//! Sign-up, sign-in and sign-out pages.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gas_jobs::Role;
use serde::Deserialize;

use super::{render, Layout, PageError};
use crate::accounts::{self, AccountError, MIN_PASSWORD};
use crate::csrf::CsrfToken;
use crate::session::{self, Viewer};
use crate::WebState;

type AppState = State<Arc<WebState>>;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    min_password: usize,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    next: String,
    /// (id, button label) of each OpenID Connect provider.
    providers: Vec<(String, String)>,
    /// Set while a provider's sign-in waits to be linked to this account.
    linking: Option<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    layout: Layout,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only paths of this site are followed after sign-in (no open redirect).
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local {
        next
    } else {
        "/annotations"
    }
}

pub async fn signup_form(Viewer(user): Viewer, csrf: CsrfToken) -> Response {
    if user.is_some() {
        return Redirect::to("/annotations").into_response();
    }
    signup_page(StatusCode::OK, &csrf, String::new(), None)
}

fn signup_page(
    status: StatusCode,
    csrf: &CsrfToken,
    email: String,
    error: Option<String>,
) -> Response {
    render(
        status,
        &SignupPage {
            layout: Layout::new("Sign up", None, csrf, "signup"),
            email,
            error,
            min_password: MIN_PASSWORD,
        },
    )
}

pub async fn signup(
    State(state): AppState,
    csrf: CsrfToken,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    let created = accounts::create_account(
        state.ports.users.as_ref(),
        &form.email,
        Role::Free,
        Some(&form.password),
    )
    .await;
    let user = match created {
        Ok(user) => user,
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e @ AccountError::Hash(_)) => {
            return Err(PageError(crate::ApiError::Internal(e.into())))
        }
        Err(e @ AccountError::EmailTaken) => {
            return Ok(signup_page(
                StatusCode::CONFLICT,
                &csrf,
                form.email,
                Some(e.to_string()),
            ))
        }
        Err(e) => {
            return Ok(signup_page(
                StatusCode::BAD_REQUEST,
                &csrf,
                form.email,
                Some(e.to_string()),
            ))
        }
    };
    tracing::info!(user_id = %user.user_id, "account created");
    metrics::counter!("gas_web_signups_total").increment(1);
    let cookie = session::start(&state, &user).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/annotate")).into_response())
}

pub async fn login_form(
    State(state): AppState,
    Viewer(user): Viewer,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = q.next.unwrap_or_default();
    if user.is_some() {
        return Redirect::to(safe_next(&next)).into_response();
    }
    let email = pending_link(&state, &headers)
        .map(|l| l.email)
        .unwrap_or_default();
    login_page(&state, &headers, StatusCode::OK, &csrf, email, None, next)
}

fn login_page(
    state: &WebState,
    headers: &HeaderMap,
    status: StatusCode,
    csrf: &CsrfToken,
    email: String,
    error: Option<String>,
    next: String,
) -> Response {
    let providers = state
        .ports
        .identity_providers
        .iter()
        .map(|p| (p.settings.id.clone(), p.settings.name.clone()))
        .collect();
    let linking = pending_link(state, headers).map(|l| l.provider_name);
    render(
        status,
        &LoginPage {
            layout: Layout::new("Sign in", None, csrf, "login"),
            email,
            error,
            next,
            providers,
            linking,
        },
    )
}

pub async fn login(
    State(state): AppState,
    csrf: CsrfToken,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    let signed_in =
        accounts::sign_in(state.ports.users.as_ref(), &form.email, &form.password).await;
    let refuse = |status: StatusCode, e: AccountError| {
        login_page(
            &state,
            &headers,
            status,
            &csrf,
            form.email.clone(),
            Some(e.to_string()),
            form.next.clone(),
        )
    };
    let user = match signed_in {
        Ok(user) => user,
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e @ AccountError::Throttled { retry_after }) => {
            let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, e);
            if let Ok(value) = retry_after.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Ok(response);
        }
        Err(e) => return Ok(refuse(StatusCode::UNAUTHORIZED, e)),
    };
    // A provider's sign-in waiting for this account is linked now that
    // the person has proved they own it.
    let mut response = Redirect::to(safe_next(&form.next)).into_response();
    if let Some(link) = pending_link(&state, &headers) {
        if link.user_id == user.user_id {
            link_identity(&state, &link).await?;
        }
        response.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(&state, LINK_COOKIE, "", 0),
        );
    }
    let cookie = session::start(&state, &user).await?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Sign-out is a POST (a link could be followed by another site); this
/// page offers the button to anyone who arrives by the old GET route.
pub async fn logout_form(Viewer(user): Viewer, csrf: CsrfToken) -> Response {
    render(
        StatusCode::OK,
        &LogoutPage {
            layout: Layout::new("Sign out", user.as_ref(), &csrf, "logout"),
        },
    )
}

pub async fn logout(State(state): AppState, headers: HeaderMap) -> Result<Response, PageError> {
    let cookie = session::end(&state, &headers).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_the_site() {
        assert_eq!(safe_next("/annotations/1"), "/annotations/1");
        assert_eq!(safe_next("//evil.example/x"), "/annotations");
        assert_eq!(safe_next("https://evil.example/"), "/annotations");
        assert_eq!(safe_next("/\\evil.example"), "/annotations");
        assert_eq!(safe_next(""), "/annotations");
    }
}

// --- OpenID Connect ---

/// The cookie carrying a provider sign-in in flight (sealed).
const OIDC_COOKIE: &str = "gas_oidc";
/// The cookie carrying a provider identity waiting to be linked (sealed).
const LINK_COOKIE: &str = "gas_link";
/// How long a sign-in at a provider, or a pending link, may take.
const OIDC_TTL: i64 = 600;

/// A provider's identity whose email belongs to an existing password
/// account: it is linked after the person signs in with that password.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct PendingLink {
    issuer: String,
    subject: String,
    user_id: String,
    email: String,
    provider_name: String,
}

fn pending_link(state: &WebState, headers: &HeaderMap) -> Option<PendingLink> {
    let sealed = session::cookie(headers, LINK_COOKIE)?;
    crate::signed::open(&state.settings.secret_key, sealed, gas_jobs::now_epoch())
}

async fn link_identity(state: &WebState, link: &PendingLink) -> Result<(), PageError> {
    let record = gas_jobs::IdentityLink {
        issuer: link.issuer.clone(),
        subject: link.subject.clone(),
        user_id: link.user_id.clone(),
        created_at: gas_jobs::now_epoch(),
    };
    match state.ports.users.link_identity(&record).await {
        // Linked meanwhile (another tab): the same outcome.
        Ok(()) | Err(gas_jobs::StoreError::AlreadyExists(_)) => {
            tracing::info!(user_id = %link.user_id, issuer = %link.issuer, "identity linked");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn redirect_uri(state: &WebState) -> String {
    format!(
        "{}/login/callback",
        state.settings.public_url.trim_end_matches('/')
    )
}

fn provider(state: &WebState, id: &str) -> Option<Arc<crate::oidc::Provider>> {
    state
        .ports
        .identity_providers
        .iter()
        .find(|p| p.settings.id == id)
        .cloned()
}

pub async fn oidc_begin(
    State(state): AppState,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let provider = provider(&state, &id).ok_or(crate::ApiError::NotFound)?;
    let next = q.next.unwrap_or_default();
    let (url, pending) = match provider
        .begin(&redirect_uri(&state), safe_next(&next))
        .await
    {
        Ok(begun) => begun,
        Err(e) => {
            tracing::warn!(provider = %id, error = %e, "could not start a provider sign-in");
            return Ok(super::error_page(
                StatusCode::BAD_GATEWAY,
                "Sign-in is unavailable",
                &format!(
                    "{} could not be reached. Try again later, or sign in with your password.",
                    provider.settings.name
                ),
            ));
        }
    };
    let sealed = crate::signed::seal(
        &state.settings.secret_key,
        &pending,
        gas_jobs::now_epoch() + OIDC_TTL,
    );
    let cookie = session::set_cookie(&state, OIDC_COOKIE, &sealed, OIDC_TTL);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn refused_sign_in(message: &str) -> Response {
    super::error_page(StatusCode::UNAUTHORIZED, "Sign-in failed", message)
}

pub async fn oidc_callback(
    State(state): AppState,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, PageError> {
    let now = gas_jobs::now_epoch();
    let clear = session::set_cookie(&state, OIDC_COOKIE, "", 0);
    let pending: Option<crate::oidc::Pending> = session::cookie(&headers, OIDC_COOKIE)
        .and_then(|sealed| crate::signed::open(&state.settings.secret_key, sealed, now));
    let Some(pending) = pending else {
        return Ok(refused_sign_in(
            "This sign-in expired or was started elsewhere. Please start again.",
        ));
    };
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or_default();
        tracing::info!(error = %error, detail = %detail, "the provider refused the sign-in");
        return Ok((
            [(header::SET_COOKIE, clear)],
            refused_sign_in("The sign-in was cancelled or refused at the provider."),
        )
            .into_response());
    }
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| crate::csrf::constant_time_eq(&pending.state, s));
    let (Some(code), true) = (q.code.as_deref(), state_ok) else {
        return Ok((
            [(header::SET_COOKIE, clear)],
            refused_sign_in(
                "This sign-in does not match the one started here. Please start again.",
            ),
        )
            .into_response());
    };
    let Some(provider) = provider(&state, &pending.provider) else {
        return Ok(refused_sign_in(
            "That sign-in provider is no longer offered.",
        ));
    };
    let identity = match provider
        .finish(code, &redirect_uri(&state), &pending, now)
        .await
    {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(provider = %pending.provider, error = %e, "provider sign-in refused");
            metrics::counter!("gas_web_oidc_refused_total").increment(1);
            return Ok((
                [(header::SET_COOKIE, clear)],
                refused_sign_in(
                    "The provider's answer could not be verified, so you are not signed in.",
                ),
            )
                .into_response());
        }
    };
    let users = state.ports.users.as_ref();
    // A returning person: found by the provider's subject.
    if let Some(user) = users
        .find_by_identity(&identity.issuer, &identity.subject)
        .await?
    {
        let session = session::start(&state, &user).await?;
        let mut response = Redirect::to(safe_next(&pending.next)).into_response();
        response.headers_mut().append(header::SET_COOKIE, clear);
        response.headers_mut().append(header::SET_COOKIE, session);
        return Ok(response);
    }
    let Some(email) = identity
        .email
        .clone()
        .filter(|e| accounts::looks_like_email(e))
    else {
        return Ok(refused_sign_in(&format!(
            "{} did not share an email address, which GAS needs for your account. Allow the email scope and try again.",
            provider.settings.name
        )));
    };
    if let Some(existing) = users.find_by_email(&email).await? {
        // Someone already has this email: only its owner may attach this
        // sign-in, by proving the password once.
        if !identity.email_verified || existing.password_hash.is_none() {
            return Ok(refused_sign_in(&format!(
                "An account with {email} already exists. Sign in the way you did before."
            )));
        }
        let link = PendingLink {
            issuer: identity.issuer,
            subject: identity.subject,
            user_id: existing.user_id,
            email: existing.email.clone(),
            provider_name: provider.settings.name.clone(),
        };
        let sealed = crate::signed::seal(&state.settings.secret_key, &link, now + OIDC_TTL);
        let mut response =
            Redirect::to(&format!("/login?next={}", url_encode(&pending.next))).into_response();
        response.headers_mut().append(header::SET_COOKIE, clear);
        response.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(&state, LINK_COOKIE, &sealed, OIDC_TTL),
        );
        return Ok(response);
    }
    // A first sign-in: a new free account, linked to this identity.
    let user = match accounts::create_account(users, &email, Role::Free, None).await {
        Ok(user) => user,
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e) => return Ok(refused_sign_in(&e.to_string())),
    };
    let link = PendingLink {
        issuer: identity.issuer,
        subject: identity.subject,
        user_id: user.user_id.clone(),
        email,
        provider_name: provider.settings.name.clone(),
    };
    link_identity(&state, &link).await?;
    tracing::info!(user_id = %user.user_id, provider = %pending.provider, "account created at first provider sign-in");
    let session = session::start(&state, &user).await?;
    let mut response = Redirect::to(safe_next(&pending.next)).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear);
    response.headers_mut().append(header::SET_COOKIE, session);
    Ok(response)
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
