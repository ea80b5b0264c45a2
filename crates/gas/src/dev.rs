//! Starting services: all three in one process (`gas dev`), or one each
//! (`gas web|ann|util`), from the same configuration and wiring.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::info;

use crate::config::Config;
use crate::serve::{bind, serve};
use crate::system::{self, Ports};

/// Which services a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services {
    pub web: bool,
    pub ann: bool,
    pub util: bool,
}

impl Services {
    pub const ALL: Services = Services {
        web: true,
        ann: true,
        util: true,
    };
}

/// A running system; dropping it does not stop it, [`Running::stop`] does.
pub struct Running {
    pub web_addr: Option<SocketAddr>,
    pub util_addr: Option<SocketAddr>,
    pub ann_addr: Option<SocketAddr>,
    pub config: Config,
    pub ports: Ports,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Signals every task to stop and waits for them.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until a task ends on its own (a server failed) or `signal` resolves.
    pub async fn wait(mut self, signal: impl std::future::Future<Output = ()>) {
        tokio::select! {
            _ = signal => info!("shutting down"),
            _ = self.tasks.join_next() => info!("a service stopped; shutting down"),
        }
        self.stop().await;
    }
}

/// Binds the listeners (port 0 picks a free port; the public URLs then
/// follow the bound addresses), opens the backend and starts `services`.
pub async fn start(mut config: Config, services: Services) -> Result<Running> {
    // Installed before anything counts, or early counts would be lost.
    crate::telemetry::metrics();
    let web_listener = match services.web {
        true => Some(bind(config.web_addr, "web").await?),
        false => None,
    };
    let util_listener = match services.util {
        true => Some(bind(config.util_addr, "util").await?),
        false => None,
    };
    let ann_listener = match services.ann {
        true => Some(bind(config.ann_addr, "ann").await?),
        false => None,
    };
    if let Some(l) = &web_listener {
        config.web_addr = l.local_addr()?;
    }
    if let Some(l) = &util_listener {
        config.util_addr = l.local_addr()?;
    }
    if let Some(l) = &ann_listener {
        config.ann_addr = l.local_addr()?;
    }

    let (ports, extras) = system::open(&config).await?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    if services.util {
        extras.prepare_util().await?;
        // The util process also runs the backend's own machinery (timers,
        // deliveries, retrievals) so that one of them exists per installation.
        extras.spawn_workers(&mut tasks, shutdown_rx.clone());
    }
    let mut running = Running {
        web_addr: None,
        util_addr: None,
        ann_addr: None,
        config: config.clone(),
        ports: ports.clone(),
        shutdown,
        tasks,
    };
    let tasks = &mut running.tasks;
    if let Some(listener) = web_listener {
        running.web_addr = Some(listener.local_addr()?);
        let router = system::web_router(&config, &ports, extras.as_ref())?;
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { log_exit("web", serve(listener, router, rx).await) });
    }
    if let Some(listener) = util_listener {
        running.util_addr = Some(listener.local_addr()?);
        let util = system::util(&config, &ports, extras.as_ref());
        system::spawn_drains(&config, &util, tasks, &shutdown_rx);
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { log_exit("util", serve(listener, util.router, rx).await) });
    }
    if let Some(listener) = ann_listener {
        running.ann_addr = Some(listener.local_addr()?);
        let runner = system::runner(&config, &ports)?;
        system::spawn_runners(&config, &runner, tasks, &shutdown_rx);
        let router =
            crate::serve::with_ops_routes(axum::Router::new(), "ann", Arc::clone(&ports.jobs));
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { log_exit("ann", serve(listener, router, rx).await) });
    }
    Ok(running)
}

fn log_exit(service: &str, result: Result<()>) {
    match result {
        Ok(()) => info!(service, "stopped"),
        Err(e) => tracing::error!(service, error = format!("{e:#}"), "stopped with an error"),
    }
}
