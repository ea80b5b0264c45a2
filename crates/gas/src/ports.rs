//! The ports every service uses, as one backend provides them. A leaf the
//! backends (`embedded`, `aws`) build and `system` wires: neither backend
//! imports `system`, and `system` picks a backend without knowing its
//! insides.

use std::sync::Arc;

use anyhow::Result;
use axum::Router;
use gas_jobs::{JobStore, UserStore};
use gas_messaging::sns::SnsVerifier;
use gas_messaging::{Queue, Timer, Topic};
use gas_storage::{ArchiveStore, BlobStore, BrowserUpload};
use gas_util::Mailer;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Every port the services use, on one backend.
#[derive(Clone)]
pub struct Ports {
    pub jobs: Arc<dyn JobStore>,
    pub users: Arc<dyn UserStore>,
    pub inputs: Arc<dyn BlobStore>,
    /// Browser uploads straight into the inputs bucket, where offered.
    pub browser_upload: Option<Arc<dyn BrowserUpload>>,
    pub results: Arc<dyn BlobStore>,
    pub archive: Arc<dyn ArchiveStore>,
    pub requests_topic: Arc<dyn Topic>,
    pub results_topic: Arc<dyn Topic>,
    pub archive_topic: Arc<dyn Topic>,
    pub restore_topic: Arc<dyn Topic>,
    pub thaw_topic: Arc<dyn Topic>,
    pub requests_queue: Arc<dyn Queue>,
    pub results_queue: Arc<dyn Queue>,
    pub archive_queue: Arc<dyn Queue>,
    pub restore_queue: Arc<dyn Queue>,
    pub thaw_queue: Arc<dyn Queue>,
    pub archive_timer: Arc<dyn Timer>,
    pub verifier: Arc<SnsVerifier>,
    pub mailer: Arc<dyn Mailer>,
}

/// What a backend adds to the services besides its ports: routes that
/// stand in for cloud endpoints, and background workers that stand in for
/// cloud machinery (timers firing, HTTP deliveries, retrievals finishing).
pub trait BackendExtras: Send + Sync {
    fn web_routes(&self) -> Router {
        Router::new()
    }
    fn util_routes(&self) -> Router {
        Router::new()
    }
    /// Readies what the util service needs of the backend before it
    /// serves (e.g. its webhook subscriptions); only the util process calls it.
    fn prepare_util(&self) -> futures::future::BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Starts the backend's workers; they stop when `shutdown` turns true.
    fn spawn_workers(&self, tasks: &mut JoinSet<()>, shutdown: watch::Receiver<bool>);
}

/// A backend's extras, boxed.
pub type BoxedExtras = Box<dyn BackendExtras>;
