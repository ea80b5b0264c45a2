//! What every service's HTTP listener has in common.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

/// `/healthz` and `/metrics`, added to every service's router.
pub fn with_ops_routes(router: Router, service: &'static str) -> Router {
    router
        .route(
            "/healthz",
            get(move || async move { format!("{service} ok\n") }),
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
    axum::serve(listener, router)
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
