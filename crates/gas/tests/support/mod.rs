//! A client of the JSON API for the end-to-end tests, whatever backend and
//! process layout serves it.

#![allow(dead_code)] // each test binary uses its own subset

pub mod browser;
pub mod s3_form;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::{redirect, Client, StatusCode};
use serde_json::Value;

/// A whole system's configuration for a test, on the embedded backend:
/// data in `data`, every address a free port, a free window of
/// `window_secs`, and timers short enough for a test to wait out.
pub fn quick_config(data: &std::path::Path, window_secs: u64) -> gas::config::Config {
    gas::config::Config {
        data_dir: data.to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        free_access_window: window_secs,
        drain_interval: 1,
        restore_poll_interval: 1,
        visibility_timeout: 5,
        expedited_retrieval_ms: 300,
        standard_retrieval_ms: 600,
        ..gas::config::Config::default()
    }
}

/// A TCP port free on 127.0.0.1 now (for a child process to bind), and
/// never one this process handed out before.
///
/// The port is free only until someone binds it, and a test's child binds
/// it seconds later (after `gas provision`). The kernel may give the same
/// port to a test running beside it meanwhile; the first child to start
/// then holds it, and the other test talks to a stranger (the likely cause
/// of a lifecycle test's upload answered 404, as if its web service were
/// the other test's util). Within a test binary, ports are therefore
/// handed out once.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until the `service` (`web`, `ann`, `util`) that `child` runs
/// answers `/healthz` on `port`. Fails at once, naming the cause, when the
/// child has exited (it could not bind the port, say) or when another
/// service answers there; after 60 s otherwise.
pub async fn wait_for_service(port: u16, service: &str, child: &mut std::process::Child) {
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let expected = format!("{service} ok");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("gas {service} exited ({status}) before it answered on port {port}");
        }
        if let Ok(response) = reqwest::get(&url).await {
            let body = response.text().await.unwrap_or_default();
            if body.trim() == expected {
                return;
            }
            panic!(
                "port {port} answers {:?}, not {expected:?}: another process holds it",
                body.trim()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{url} never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A sample VCF beside the checkout (`../shared/data/samples`).
pub fn sample(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/samples")
        .join(name);
    std::fs::read(path).ok()
}

/// A small valid VCF, for when the shared samples are not beside the checkout.
pub const SMALL_VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
MT\t73\t.\tA\tG\t50\tPASS\tDP=10\nMT\t150\t.\tC\tT\t50\tPASS\t.\nMT\t200\t.\tA\tC,AT\t50\tPASS\t.\n";

pub fn test_vcf() -> Vec<u8> {
    sample("test.vcf").unwrap_or_else(|| {
        eprintln!("shared samples not found; using a built-in VCF");
        SMALL_VCF.as_bytes().to_vec()
    })
}

pub struct Api {
    pub http: Client,
    pub web: String,
}

impl Api {
    pub fn new(web: String) -> Api {
        let http = Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        Api { http, web }
    }

    pub async fn submit(&self, token: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.submit_field(token, "file", name, bytes).await
    }

    /// Uploads `bytes` as the multipart field `field`.
    pub async fn submit_field(
        &self,
        token: &str,
        field: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part(field.to_string(), part);
        self.http
            .post(format!("{}/api/v1/jobs", self.web))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn submit_ok(&self, token: &str, name: &str, bytes: Vec<u8>) -> String {
        let response = self.submit(token, name, bytes).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let job: Value = response.json().await.unwrap();
        assert_eq!(job["job_status"], "PENDING");
        job["job_id"].as_str().unwrap().to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.web))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn job(&self, token: &str, job_id: &str) -> Value {
        let response = self.get(token, &format!("/api/v1/jobs/{job_id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Polls the job until `done` holds, failing after `limit`.
    pub async fn wait_for(
        &self,
        token: &str,
        job_id: &str,
        limit: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let job = self.job(token, job_id).await;
            if done(&job) {
                return job;
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; job is {job}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn completed(&self, token: &str, job_id: &str) -> Value {
        self.wait_for(token, job_id, Duration::from_secs(60), "COMPLETED", |j| {
            assert_ne!(j["job_status"], "FAILED", "job failed: {j}");
            j["job_status"] == "COMPLETED"
        })
        .await
    }

    pub async fn wait_state(
        &self,
        token: &str,
        job_id: &str,
        state: &str,
        limit: Duration,
    ) -> Value {
        self.wait_for(token, job_id, limit, state, |j| j["results_state"] == state)
            .await
    }

    /// Follows the results redirect and returns the bytes.
    pub async fn download(&self, token: &str, job_id: &str) -> Vec<u8> {
        let response = self
            .get(token, &format!("/api/v1/jobs/{job_id}/results"))
            .await;
        assert!(
            response.status().is_redirection(),
            "expected a redirect, got {}",
            response.status()
        );
        let url = response.headers()["location"].to_str().unwrap().to_string();
        let file = self.http.get(&url).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK, "download URL {url}");
        file.bytes().await.unwrap().to_vec()
    }

    pub async fn results_refusal(&self, token: &str, job_id: &str) -> (StatusCode, Value) {
        let response = self
            .get(token, &format!("/api/v1/jobs/{job_id}/results"))
            .await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn upgrade(&self, token: &str) {
        let response = self
            .http
            .post(format!("{}/api/v1/me/upgrade", self.web))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
