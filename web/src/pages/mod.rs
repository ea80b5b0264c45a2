//! The web app's pages (DESIGN section 6 routes), server-rendered with
//! compiled templates from `web/templates/`. Handlers read the session,
//! call the ports and render; what a page shows of a job (its phase, the
//! window, what may be downloaded) is computed in Rust, in [`job`], and the
//! JSON API agrees with it because both use [`crate::view`].

mod accounts;
mod annotate;
mod annotations;
mod assets;
mod home;
mod job;
mod profile;
mod subscribe;

use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gas_jobs::{Role, User};

use crate::csrf::CsrfToken;
use crate::error::ApiError;
use crate::WebState;

pub fn routes(state: Arc<WebState>) -> Router<Arc<WebState>> {
    let max_upload = usize::try_from(state.settings.max_upload)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/", get(home::home))
        .route("/signup", get(accounts::signup_form).post(accounts::signup))
        .route("/login", get(accounts::login_form).post(accounts::login))
        .route("/logout", get(accounts::logout_form).post(accounts::logout))
        .route("/login/oidc/{provider}", get(accounts::oidc_begin))
        .route("/login/callback", get(accounts::oidc_callback))
        .route(
            "/annotate",
            get(annotate::form)
                .post(annotate::upload)
                .layer(DefaultBodyLimit::max(max_upload)),
        )
        .route("/annotate/uploaded", get(annotate::uploaded))
        .route("/annotations", get(annotations::list))
        .route("/annotations/{id}", get(annotations::detail))
        .route("/annotations/{id}/panel", get(annotations::panel))
        .route("/annotations/{id}/log", get(annotations::log))
        .route("/annotations/{id}/download", get(annotations::download))
        .route(
            "/annotations/{id}/charts/{chart}",
            get(annotations::chart_svg),
        )
        .route(
            "/subscribe",
            get(subscribe::page).post(subscribe::subscribe),
        )
        .route("/profile", get(profile::page))
        .route("/profile/tokens", post(profile::create_token))
        .route("/profile/tokens/{id}/revoke", post(profile::revoke_token))
        .layer(from_fn_with_state(state, crate::csrf::layer))
        .route("/assets/{file}", get(assets::serve))
        .layer(from_fn(security_headers))
}

/// Headers every page gets: no framing, no MIME sniffing, scripts and
/// styles only from this origin, referrers kept in the site.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// What every page's frame needs: the title, who is signed in, the form
/// token (for the sign-out button).
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub email: Option<String>,
    pub premium: bool,
    pub csrf: String,
    /// The navigation entry to mark as current.
    pub current: &'static str,
}

impl Layout {
    pub fn new(
        title: impl Into<String>,
        user: Option<&User>,
        csrf: &CsrfToken,
        current: &'static str,
    ) -> Self {
        Layout {
            title: title.into(),
            email: user.map(|u| u.email.clone()),
            premium: user.is_some_and(|u| u.role == Role::Premium),
            csrf: csrf.0.clone(),
            current,
        }
    }
}

/// Renders a template into a response with `status`.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

/// A plain error page (no session needed to draw it).
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let layout = Layout {
        title: heading.to_string(),
        email: None,
        premium: false,
        csrf: String::new(),
        current: "",
    };
    let mut response = render(
        status,
        &ErrorPage {
            layout,
            status: status.as_u16(),
            heading,
            message,
        },
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error as a page: the API's errors, worded for people. Internal
/// failures are logged once, here, and shown only as "something went wrong".
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self.0 {
            ApiError::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not yours to see.",
            ),
            ApiError::Unauthorized => axum::response::Redirect::to("/login").into_response(),
            ApiError::Internal(e) | ApiError::Unavailable(e) => {
                tracing::error!(error = format!("{e:#}"), "page failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "GAS could not finish this request. Please try again in a moment.",
                )
            }
            other => {
                let status = other.status();
                error_page(status, "That did not work", &other.to_string())
            }
        }
    }
}

/// Formats epoch seconds as RFC 3339 (for `<time datetime>`; the page's
/// script shows it in the viewer's time zone).
pub fn iso_time(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Formats epoch seconds for people without JavaScript: UTC, to the second.
pub fn utc_time(epoch: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Human units for a byte count.
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    match n {
        n if n >= KIB * KIB * KIB => format!("{:.1} GiB", n as f64 / (KIB * KIB * KIB) as f64),
        n if n >= KIB * KIB => format!("{:.1} MiB", n as f64 / (KIB * KIB) as f64),
        n if n >= KIB => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

/// The client's address for the sign-in limits, read where requests are:
/// the accounts module knows addresses, not requests.
impl axum::extract::FromRequestParts<Arc<WebState>> for crate::accounts::ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        // Present when the server was made with
        // `into_make_service_with_connect_info`, as `gas` serves it.
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0);
        Ok(crate::accounts::ClientAddr::from_parts(
            &parts.headers,
            peer,
            state.settings.trust_forwarded_for,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes_read_well() {
        assert_eq!(iso_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(human_bytes(150 * 1024), "150 KiB");
        assert_eq!(human_bytes(1024 * 1024 * 1024), "1.0 GiB");
        assert_eq!(human_bytes(10), "10 bytes");
    }
}
