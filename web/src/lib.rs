//! The web service: the web app's pages (sign-up and sign-in, upload, job
//! list and detail with live progress and pictures, downloads within the
//! free window, Premium, profile and API tokens) and the JSON API of
//! DESIGN section 6.
//!
//! People sign in with a session cookie; programs with a Bearer token
//! (`gas user add` prints one, the profile page makes more).

// The floors, bottom to top (docs/DESIGN-NOTES.md, "Floor plan of web/"):
// each imports only the ones listed before it.
mod api;
mod domain;
mod integrations;
mod pages;
mod primitives;
mod state;

use std::sync::Arc;

use axum::Router;

pub use domain::accounts;
pub use domain::plan::{downgrade_user, upgrade_user, PlanPorts};
pub use integrations::payment::{Checkout, InstantPayments, PaymentError, PaymentProvider};
pub use integrations::{oidc, payment, stripe};
pub use primitives::secret::{hash_token, new_token, random_key};
pub use state::{WebPorts, WebSettings, WebState};

/// The pages and the API (without `/healthz` and `/metrics`, which the
/// binary adds to every service alike).
pub fn router(state: WebState) -> Router {
    let state = Arc::new(state);
    let hsts = state.settings.public_url.starts_with("https://");
    api::routes(state.settings.max_upload)
        .merge(pages::routes(Arc::clone(&state)))
        .with_state(state)
        .layer(axum::middleware::from_fn(move |request, next| {
            transport_headers(hsts, request, next)
        }))
}

/// Headers every answer gets, JSON as well as pages: no MIME sniffing (a
/// JSON error echoing user input must never be read as HTML), and, when
/// the service is reached over https, Strict-Transport-Security so that a
/// browser never falls back to plain http for it.
async fn transport_headers(
    hsts: bool,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if hsts {
        // A year, the span browsers' preload lists ask for; subdomains are
        // the operator's to vouch for, so they are not included.
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    response
}
