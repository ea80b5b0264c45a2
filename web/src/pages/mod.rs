//! The web app's pages (DESIGN section 6 routes), server-rendered with
//! compiled templates from `web/templates/`: the other face of the web
//! app. Its own extractors ([`extract`]), CSRF layer ([`csrf`]), rendering
//! ([`render`]) and error page ([`error`]: one match from a domain refusal
//! to status and words), and one module per page family. Handlers read the
//! session, call the domain and render; what a page shows of a job (its
//! phase, the window, what may be downloaded) is computed in Rust, in
//! [`job`], from the domain's job view, which the JSON API uses too. It
//! uses the floors below, never the API.

mod accounts;
mod annotate;
mod annotations;
mod assets;
mod csrf;
mod error;
mod extract;
mod home;
mod job;
mod profile;
mod render;
mod subscribe;
mod variants;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::state::WebState;

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
        .route("/annotations/{id}/variants", get(variants::table))
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
        .layer(from_fn_with_state(state, csrf::layer))
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
