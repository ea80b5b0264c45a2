//! What every handler shares: the ports, the settings and this process's
//! sign-in guards. It lends the lower floors the one value each takes
//! ([`WebState::domain`], [`WebState::plan`], [`WebState::sessions`]), so
//! that they never see this type, and both HTTP faces read it.

use std::sync::Arc;
use std::time::Duration;

use gas_jobs::{JobStore, UserStore};
use gas_messaging::{Timer, Topic};
use gas_storage::{BlobStore, BrowserUpload};

use crate::domain::accounts::SignInGuards;
use crate::domain::plan::PlanPorts;
use crate::domain::ports::{Ports, Rules};
use crate::domain::variants::IndexCache;
use crate::integrations::oidc;
use crate::integrations::payment::PaymentProvider;
use crate::primitives::session::Sessions;

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
    /// publishes its request again (zero: never). See `domain/requeue.rs`.
    pub requeue_after: Duration,
    /// Password hashes run at once (0: twice the available cores); see
    /// `domain::accounts::PasswordGate`.
    pub password_hash_concurrency: usize,
    /// The client's address is the right-most `X-Forwarded-For` entry (set
    /// behind a load balancer that appends it), not the TCP peer.
    pub trust_forwarded_for: bool,
}

impl WebSettings {
    /// Whether cookies are Secure: the app is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Shared state of every handler.
pub struct WebState {
    pub ports: WebPorts,
    pub settings: WebSettings,
    /// The part of the settings the domain reads (made from `settings`).
    rules: Rules,
    /// What bounds password work and guessing in this process (sized from
    /// the settings by [`WebState::new`]).
    pub sign_in: SignInGuards,
    /// Local copies of the variant indexes this process reads.
    pub variant_indexes: IndexCache,
}

impl WebState {
    pub fn new(ports: WebPorts, settings: WebSettings) -> Self {
        let sign_in = SignInGuards::new(settings.password_hash_concurrency);
        let rules = Rules {
            free_access_window: settings.free_access_window,
            free_upload_limit: settings.free_upload_limit,
            max_upload: settings.max_upload,
            download_ttl: settings.download_ttl,
            key_prefix: settings.key_prefix.clone(),
            requeue_after: settings.requeue_after,
        };
        WebState {
            ports,
            settings,
            rules,
            sign_in,
            variant_indexes: IndexCache::default(),
        }
    }

    /// The domain operations' ports.
    pub fn domain(&self) -> Ports<'_> {
        let ports = &self.ports;
        Ports {
            jobs: ports.jobs.as_ref(),
            users: ports.users.as_ref(),
            inputs: ports.inputs.as_ref(),
            results: ports.results.as_ref(),
            requests_topic: ports.requests_topic.as_ref(),
            restore_topic: ports.restore_topic.as_ref(),
            archive_timer: ports.archive_timer.as_ref(),
            rules: &self.rules,
        }
    }

    /// The ports of a plan change.
    pub fn plan(&self) -> PlanPorts<'_> {
        self.domain().plan()
    }

    /// The session operations.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions {
            users: self.ports.users.as_ref(),
            ttl: self.settings.session_ttl,
            secure: self.settings.secure_cookies(),
        }
    }

    /// The free window, seconds.
    pub fn window_secs(&self) -> i64 {
        self.rules.window_secs()
    }
}
