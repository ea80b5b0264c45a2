//! The web service: the web app's pages (sign-up and sign-in, upload, job
//! list and detail with live progress and pictures, downloads within the
//! free window, Premium, profile and API tokens) and the JSON API of
//! DESIGN section 6.
//!
//! People sign in with a session cookie; programs with a Bearer token
//! (`gas user add` prints one, the profile page makes more).

pub mod accounts;
mod api;
mod auth;
mod charts;
mod csrf;
mod downgrade;
mod error;
pub mod oidc;
mod openapi;
mod pages;
pub mod payment;
mod requeue;
mod session;
mod signed;
pub mod stripe;
mod upgrade;
mod upload;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use gas_jobs::{JobStore, UserStore};
use gas_messaging::{Timer, Topic};
use gas_storage::{BlobStore, BrowserUpload};

pub use auth::{hash_token, new_token};
pub use downgrade::downgrade_user;
pub use error::ApiError;
pub use payment::{Checkout, InstantPayments, PaymentError, PaymentProvider};
pub use upgrade::upgrade_user;

/// The ports the web service talks to.
#[derive(Clone)]
pub struct WebPorts {
    pub jobs: Arc<dyn JobStore>,
    pub users: Arc<dyn UserStore>,
    pub inputs: Arc<dyn BlobStore>,
    pub results: Arc<dyn BlobStore>,
    /// Job requests go here (fanned out to the runners' queue).
    pub requests_topic: Arc<dyn Topic>,
    /// Restore requests go here when a user upgrades.
    pub restore_topic: Arc<dyn Topic>,
    /// The archive timer, whose pending executions an upgrade stops.
    pub archive_timer: Arc<dyn Timer>,
    /// Who takes payment for Premium.
    pub payments: Arc<dyn PaymentProvider>,
    /// Uploads straight from the browser into the inputs bucket, where the
    /// inputs store offers them (S3); without, the upload page posts here.
    pub browser_upload: Option<Arc<dyn BrowserUpload>>,
    /// OpenID Connect providers people may sign in with, besides a password.
    pub identity_providers: Vec<Arc<oidc::Provider>>,
}

#[derive(Debug, Clone)]
pub struct WebSettings {
    /// How long free users may download results after completion.
    pub free_access_window: Duration,
    /// Largest upload a free user may make (bytes).
    pub free_upload_limit: u64,
    /// Largest upload anyone may make (bytes).
    pub max_upload: u64,
    /// Lifetime of a download URL.
    pub download_ttl: Duration,
    /// First segment of every object key.
    pub key_prefix: String,
    /// The app's base URL as browsers reach it; `https://` makes cookies
    /// Secure.
    pub public_url: String,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Signs what browsers carry back to us (the same in every process).
    pub secret_key: Vec<u8>,
    /// How long a job may stay PENDING before its owner's next look at it
    /// publishes its request again (zero: never). See `requeue.rs`.
    pub requeue_after: Duration,
    /// Password hashes run at once (0: twice the available cores); see
    /// [`accounts::PasswordGate`].
    pub password_hash_concurrency: usize,
    /// The client's address is the right-most `X-Forwarded-For` entry (set
    /// behind a load balancer that appends it), not the TCP peer.
    pub trust_forwarded_for: bool,
}

/// Shared state of every handler.
pub struct WebState {
    pub ports: WebPorts,
    pub settings: WebSettings,
    /// What bounds password work and guessing in this process (sized from
    /// the settings by [`WebState::new`]).
    pub sign_in: accounts::SignInGuards,
}

impl WebState {
    pub fn new(ports: WebPorts, settings: WebSettings) -> Self {
        let sign_in = accounts::SignInGuards::new(settings.password_hash_concurrency);
        WebState {
            ports,
            settings,
            sign_in,
        }
    }
}

/// The pages and the API (without `/healthz` and `/metrics`, which the
/// binary adds to every service alike).
pub fn router(state: WebState) -> Router {
    let state = Arc::new(state);
    let hsts = state.settings.public_url.starts_with("https://");
    api::routes(state.settings.max_upload)
        .merge(pages::routes(Arc::clone(&state)))
        .merge(stripe::routes())
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
