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
    Viewer(user): Viewer,
    csrf: CsrfToken,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = q.next.unwrap_or_default();
    if user.is_some() {
        return Redirect::to(safe_next(&next)).into_response();
    }
    login_page(StatusCode::OK, &csrf, String::new(), None, next)
}

fn login_page(
    status: StatusCode,
    csrf: &CsrfToken,
    email: String,
    error: Option<String>,
    next: String,
) -> Response {
    render(
        status,
        &LoginPage {
            layout: Layout::new("Sign in", None, csrf, "login"),
            email,
            error,
            next,
        },
    )
}

pub async fn login(
    State(state): AppState,
    csrf: CsrfToken,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    let user =
        match accounts::sign_in(state.ports.users.as_ref(), &form.email, &form.password).await {
            Ok(user) => user,
            Err(AccountError::Store(e)) => return Err(e.into()),
            Err(e @ AccountError::Throttled { retry_after }) => {
                let mut response = login_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    &csrf,
                    form.email,
                    Some(e.to_string()),
                    form.next,
                );
                if let Ok(value) = retry_after.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return Ok(response);
            }
            Err(e) => {
                return Ok(login_page(
                    StatusCode::UNAUTHORIZED,
                    &csrf,
                    form.email,
                    Some(e.to_string()),
                    form.next,
                ))
            }
        };
    let cookie = session::start(&state, &user).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to(safe_next(&form.next)),
    )
        .into_response())
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
