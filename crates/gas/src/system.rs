//! Wires the three services onto one backend's ports. Nothing here knows
//! which backend it is: `embedded` (and, later, `aws`) build the [`Ports`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use gas_ann::{Runner, RunnerPorts, RunnerSettings};
use gas_jobs::{JobStore, UserStore};
use gas_messaging::sns::SnsVerifier;
use gas_messaging::{Queue, Timer, Topic};
use gas_storage::{ArchiveStore, BlobStore, BrowserUpload};
use gas_util::{Archiver, Drainer, Endpoint, Mailer, Notifier, Restorer, WebhookState};
use gas_web::{WebPorts, WebSettings, WebState};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;

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
    /// Starts the backend's workers; they stop when `shutdown` turns true.
    fn spawn_workers(&self, tasks: &mut JoinSet<()>, shutdown: watch::Receiver<bool>);
}

pub fn web_router(config: &Config, ports: &Ports, extras: &dyn BackendExtras) -> Router {
    let state = WebState {
        ports: WebPorts {
            jobs: Arc::clone(&ports.jobs),
            users: Arc::clone(&ports.users),
            inputs: Arc::clone(&ports.inputs),
            results: Arc::clone(&ports.results),
            requests_topic: Arc::clone(&ports.requests_topic),
            restore_topic: Arc::clone(&ports.restore_topic),
            archive_timer: Arc::clone(&ports.archive_timer),
            payments: Arc::new(gas_web::InstantPayments),
            browser_upload: ports.browser_upload.clone(),
        },
        settings: WebSettings {
            free_access_window: config.free_window(),
            free_upload_limit: config.free_upload_limit,
            max_upload: config.max_upload,
            download_ttl: Duration::from_secs(config.download_url_ttl),
            key_prefix: config.key_prefix.clone(),
            public_url: config.web_url(),
            session_ttl: Duration::from_secs(config.session_ttl),
        },
    };
    crate::serve::with_ops_routes(gas_web::router(state).merge(extras.web_routes()), "web")
}

/// Loads the configured reference tracks (once per runner process).
pub fn annotation_tracks(config: &Config) -> Result<Vec<gas_annotate::Track>> {
    let mut tracks = Vec::new();
    let mut paths = Vec::new();
    for entry in &config.annotation_tracks {
        if entry == "builtin" {
            tracks.extend(
                gas_annotate::reference::default_tracks().context("loading the built-in tracks")?,
            );
        } else {
            paths.push(std::path::PathBuf::from(entry));
        }
    }
    tracks.extend(gas_annotate::Track::load_all(&paths).context("loading the annotation tracks")?);
    for track in &tracks {
        tracing::info!(
            track = track.name(),
            records = track.records(),
            assembly = track.assembly(),
            "annotation track loaded"
        );
    }
    Ok(tracks)
}

pub fn runner(config: &Config, ports: &Ports) -> Result<Arc<Runner>> {
    let mut settings = RunnerSettings::new(config.data_dir.join("scratch"), config.free_window());
    settings.annotate.tracks = annotation_tracks(config)?;
    settings.lease = config.visibility().max(Duration::from_secs(30)) * 2;
    settings.heartbeat = settings.lease / 4;
    Ok(Arc::new(Runner::new(
        RunnerPorts {
            jobs: Arc::clone(&ports.jobs),
            users: Arc::clone(&ports.users),
            inputs: Arc::clone(&ports.inputs),
            results: Arc::clone(&ports.results),
            requests: Arc::clone(&ports.requests_queue),
            completions: Arc::clone(&ports.results_topic),
            archive_timer: Arc::clone(&ports.archive_timer),
        },
        settings,
    )))
}

/// The util service: its webhooks and the drainers behind them.
pub struct Util {
    pub router: Router,
    pub drainers: Vec<Arc<Drainer>>,
}

pub fn util(config: &Config, ports: &Ports, extras: &dyn BackendExtras) -> Util {
    let visibility = config.visibility();
    let archiver = Arc::new(Archiver {
        jobs: Arc::clone(&ports.jobs),
        users: Arc::clone(&ports.users),
        results: Arc::clone(&ports.results),
        archive: Arc::clone(&ports.archive),
        restore_topic: Arc::clone(&ports.restore_topic),
    });
    let restorer = Arc::new(Restorer {
        jobs: Arc::clone(&ports.jobs),
        users: Arc::clone(&ports.users),
        results: Arc::clone(&ports.results),
        archive: Arc::clone(&ports.archive),
        poll_interval: Duration::from_secs(config.restore_poll_interval),
    });
    let (restore_handler, thaw_handler) = gas_util::restore_handlers(restorer);
    let notifier = Arc::new(Notifier {
        users: Arc::clone(&ports.users),
        mailer: Arc::clone(&ports.mailer),
        web_url: config.web_url(),
    });
    let archive = Arc::new(Drainer::new(
        Arc::clone(&ports.archive_queue),
        archiver,
        visibility,
    ));
    let restore = Arc::new(Drainer::new(
        Arc::clone(&ports.restore_queue),
        restore_handler,
        visibility,
    ));
    let thaw = Arc::new(Drainer::new(
        Arc::clone(&ports.thaw_queue),
        thaw_handler,
        visibility,
    ));
    let notify = Arc::new(Drainer::new(
        Arc::clone(&ports.results_queue),
        notifier,
        visibility,
    ));
    let state = WebhookState {
        verifier: Arc::clone(&ports.verifier),
        http: reqwest::Client::new(),
        archive: Endpoint::new(ports.archive_topic.arn(), Arc::clone(&archive)),
        restore: Endpoint::new(ports.restore_topic.arn(), Arc::clone(&restore)),
        thaw: Endpoint::new(ports.thaw_topic.arn(), Arc::clone(&thaw)),
    };
    let router = gas_util::router(state).merge(extras.util_routes());
    Util {
        router: crate::serve::with_ops_routes(router, "util"),
        drainers: vec![archive, restore, thaw, notify],
    }
}

/// Starts the util service's periodic drains (the notifier has no webhook,
/// so for it this is the only drain; it runs more often).
pub fn spawn_drains(
    config: &Config,
    util: &Util,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    for drainer in &util.drainers {
        let every = if drainer.name() == "notify" {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(config.drain_interval.max(1))
        };
        tasks.spawn(Arc::clone(drainer).run_periodic(every, shutdown.clone()));
    }
}

pub fn spawn_runners(
    config: &Config,
    runner: &Arc<Runner>,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    for _ in 0..config.ann_workers {
        tasks.spawn(Arc::clone(runner).run(shutdown.clone()));
    }
}

pub type BoxedExtras = Box<dyn BackendExtras>;

/// Creates the configured backend's resources (idempotent).
pub async fn provision(config: &Config) -> Result<()> {
    match config.backend {
        crate::config::Backend::Embedded => crate::embedded::open(config).await.map(|_| ()),
        crate::config::Backend::Aws => crate::aws::provision(config).await,
    }
}

/// Opens the configured backend.
pub async fn open(config: &Config) -> Result<(Ports, BoxedExtras)> {
    match config.backend {
        crate::config::Backend::Embedded => crate::embedded::open(config).await,
        crate::config::Backend::Aws => crate::aws::open(config).await,
    }
}
