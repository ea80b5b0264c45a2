//! The web service: the JSON API of DESIGN section 6 (upload, job list and
//! detail, downloads within the free window, logs, upgrade).
//!
//! Users authenticate with a Bearer token (`gas user add` prints one).

mod api;
mod auth;
mod error;
mod upgrade;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use gas_jobs::{JobStore, UserStore};
use gas_messaging::{Timer, Topic};
use gas_storage::BlobStore;

pub use auth::{hash_token, new_token};
pub use error::ApiError;
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
}

/// Shared state of every handler.
pub struct WebState {
    pub ports: WebPorts,
    pub settings: WebSettings,
}

/// The API router (without `/healthz` and `/metrics`, which the binary adds
/// to every service alike).
pub fn router(state: WebState) -> Router {
    api::routes(state.settings.max_upload).with_state(Arc::new(state))
}
