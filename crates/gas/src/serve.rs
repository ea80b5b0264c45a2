//! What every service's HTTP listener has in common.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gas_jobs::JobStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

/// How long `/readyz` waits for the job store before it calls the service
/// not ready (a load balancer's check times out after a few seconds).
const READINESS_TIMEOUT: Duration = Duration::from_secs(3);

/// A job id no job has (ids are UUIDs): reading it proves the store answers
/// and that this process may read it, without touching anyone's data.
const READINESS_PROBE_ID: &str = "readiness-probe";

/// `/healthz`, `/readyz` and `/metrics`, added to every service's router.
///
/// `/healthz` says the process serves HTTP (liveness: restart it if not).
/// `/readyz` also reads the job store, so that a service that cannot reach
/// its data (a missing KMS grant, a table that is gone, a database that
/// cannot be opened) is taken out of the load balancer instead of answering
/// every real request with a 500; the load balancer's health check uses it.
pub fn with_ops_routes(router: Router, service: &'static str, jobs: Arc<dyn JobStore>) -> Router {
    router
        .route(
            "/healthz",
            get(move || async move { format!("{service} ok\n") }),
        )
        .route(
            "/readyz",
            get(move || {
                let jobs = Arc::clone(&jobs);
                async move { readiness(service, jobs.as_ref()).await }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                let handle = crate::telemetry::metrics();
                handle.run_upkeep();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }),
        )
        .layer(TraceLayer::new_for_http())
}

/// Whether `service` can read its job store, as `/readyz` answers it.
async fn readiness(service: &'static str, jobs: &dyn JobStore) -> (StatusCode, String) {
    match tokio::time::timeout(READINESS_TIMEOUT, jobs.get(READINESS_PROBE_ID)).await {
        Ok(Ok(_)) => (StatusCode::OK, format!("{service} ready\n")),
        Ok(Err(e)) => {
            tracing::warn!(service, error = %e, "not ready: the job store cannot be read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{service} not ready: the job store cannot be read\n"),
            )
        }
        Err(_) => {
            tracing::warn!(service, "not ready: the job store did not answer in time");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{service} not ready: the job store did not answer in time\n"),
            )
        }
    }
}

pub async fn bind(addr: SocketAddr, service: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("{service}: cannot listen on {addr}"))
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    // The peer's address reaches handlers as `ConnectInfo` (the sign-in
    // throttle counts attempts per client address).
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
    })
    .await
    .context("serving HTTP")
}
