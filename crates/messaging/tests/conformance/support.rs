//! Shared fixtures: one RSA key per test binary, a temporary database, and a
//! tiny HTTP server standing in for the util service (subscriber endpoint
//! and certificate route).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use gas_messaging::local::{sns_cert_url, LocalMessaging, LocalSns};
use gas_messaging::sns::SnsSigner;
use rsa::RsaPrivateKey;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// RSA key generation is slow: one key for the whole binary.
pub fn key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| SnsSigner::generate_key().expect("generate key"))
        .clone()
}

pub fn signer(cert_url: &str) -> SnsSigner {
    SnsSigner::from_key(key(), cert_url).expect("signer")
}

/// A database in a fresh temporary directory (kept alive by the guard).
pub fn messaging() -> (LocalMessaging, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let messaging = LocalMessaging::open(&dir.path().join("messaging.sqlite")).expect("open");
    (messaging, dir)
}

/// One POST the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    cert_fetches: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
    cert_pem: Arc<String>,
}

/// The test's stand-in for the util service: `POST /hook` records deliveries
/// and answers with a settable status; `GET /_sns/cert.pem` and
/// `GET /other/cert.pem` serve the certificate and count fetches.
pub struct Server {
    pub addr: SocketAddr,
    shared: Shared,
}

impl Server {
    pub async fn bind() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").await.expect("bind")
    }

    pub fn base_url(addr: SocketAddr) -> String {
        format!("http://{addr}/_sns")
    }

    /// The embedded SNS service with its base URL on this listener.
    pub fn sns(messaging: &LocalMessaging, listener: &TcpListener) -> LocalSns {
        let base = Self::base_url(listener.local_addr().expect("addr"));
        messaging
            .sns(&base, Arc::new(signer(&sns_cert_url(&base))))
            .expect("sns")
    }

    pub fn start(listener: TcpListener, cert_pem: &str) -> Self {
        let addr = listener.local_addr().expect("addr");
        let shared = Shared {
            status: Arc::new(AtomicU16::new(200)),
            cert_pem: Arc::new(cert_pem.to_owned()),
            ..Shared::default()
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .route("/_sns/cert.pem", get(cert))
            .route("/other/cert.pem", get(cert))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn cert_fetches(&self) -> usize {
        self.shared.cert_fetches.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `n` POSTs have arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} deliveries arrived",
                received.len()
            );
            let _ = tokio::time::timeout(Duration::from_millis(200), arrived).await;
        }
    }
}

async fn hook(State(shared): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    shared
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    shared.arrived.notify_waiters();
    StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap()
}

async fn cert(State(shared): State<Shared>) -> String {
    shared.cert_fetches.fetch_add(1, Ordering::SeqCst);
    shared.cert_pem.as_str().to_owned()
}
