//! Bad input gets a clear error and changes nothing else: malformed VCFs,
//! uploads, forged SNS messages, other users' jobs.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gas::config::Config;
use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::Api;

const GOOD_VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
1\t100\t.\tA\tG\t50\tPASS\t.\n1\t200\t.\tC\tA\t50\tPASS\t.\n";

/// Line 4 has a POS that is not a number.
const BAD_VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
1\t100\t.\tA\tG\t50\tPASS\t.\n1\tabc\t.\tC\tA\t50\tPASS\t.\n";

struct System {
    running: Running,
    api: Api,
    http: Client,
    util: String,
    _data: tempfile::TempDir,
}

async fn start() -> System {
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: data.path().to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        // Only a verified notification may drain the archive queue here.
        drain_interval: 3600,
        free_upload_limit: 1024,
        ..Config::default()
    };
    let running = dev::start(config, Services::ALL).await.unwrap();
    let api = Api::new(format!("http://{}", running.web_addr.unwrap()));
    System {
        util: format!("http://{}", running.util_addr.unwrap()),
        running,
        http: api.http.clone(),
        api,
        _data: data,
    }
}

impl System {
    async fn submit(
        &self,
        token: &str,
        field: &str,
        name: &str,
        bytes: &[u8],
    ) -> reqwest::Response {
        self.api
            .submit_field(token, field, name, bytes.to_vec())
            .await
    }

    async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.api.get(token, path).await
    }

    async fn wait_finished(&self, token: &str, job_id: &str) -> Value {
        let start = Instant::now();
        loop {
            let job: Value = self
                .get(token, &format!("/api/v1/jobs/{job_id}"))
                .await
                .json()
                .await
                .unwrap();
            if job["job_status"] == "COMPLETED" || job["job_status"] == "FAILED" {
                return job;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "job never finished: {job}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_vcf_fails_with_a_readable_reason_and_the_service_keeps_serving() {
    let system = start().await;
    let (_, token) = gas::users::add_user(
        &system.running.ports,
        "bad@example.org",
        Role::Premium,
        None,
    )
    .await
    .unwrap();

    let response = system
        .submit(&token, "file", "bad.vcf", BAD_VCF.as_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let job_id = response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = system.wait_finished(&token, &job_id).await;
    assert_eq!(job["job_status"], "FAILED");
    let reason = job["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("line 4"),
        "the reason names the line: {reason}"
    );
    let log = system
        .get(&token, &format!("/api/v1/jobs/{job_id}/log"))
        .await
        .text()
        .await
        .unwrap();
    assert!(log.contains("line 4"), "the log says why: {log}");
    let (status, body) = {
        let r = system
            .get(&token, &format!("/api/v1/jobs/{job_id}/results"))
            .await;
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["reason"], "not_ready");

    // Still serving: the next job completes.
    let response = system
        .submit(&token, "file", "good.vcf", GOOD_VCF.as_bytes())
        .await;
    let job_id = response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        system.wait_finished(&token, &job_id).await["job_status"],
        "COMPLETED"
    );
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_uploads_are_refused_and_store_nothing() {
    let system = start().await;
    let (_, token) =
        gas::users::add_user(&system.running.ports, "up@example.org", Role::Free, None)
            .await
            .unwrap();

    let cases: Vec<(&str, &str, Vec<u8>, StatusCode)> = vec![
        (
            "file",
            "notes.txt",
            GOOD_VCF.as_bytes().to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "file",
            "fake.vcf",
            b"PK\x03\x04 this is a zip".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("file", "empty.vcf", Vec::new(), StatusCode::BAD_REQUEST),
        (
            "other",
            "test.vcf",
            GOOD_VCF.as_bytes().to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        // Over the free user's 1 KiB limit of this system.
        (
            "file",
            "big.vcf",
            [GOOD_VCF.as_bytes(), &vec![b'#'; 4096]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (field, name, bytes, expected) in cases {
        let response = system.submit(&token, field, name, &bytes).await;
        assert_eq!(response.status(), expected, "{field} {name}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "a clear error: {body}"
        );
    }
    let jobs: Value = system
        .get(&token, "/api/v1/jobs")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        0,
        "no job was created"
    );
    let inputs = system.running.config.data_dir.join("blobs");
    let stored: Vec<_> = walk(&inputs)
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(stored.is_empty(), "nothing stored: {stored:?}");

    let unauthenticated = system
        .http
        .get(format!("{}/api/v1/jobs", system.api.web))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let wrong = system.get("gas_not-a-token", "/api/v1/jobs").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    system.running.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_users_job_is_not_found() {
    let system = start().await;
    let ports = &system.running.ports;
    let (_, alice) = gas::users::add_user(ports, "alice@example.org", Role::Premium, None)
        .await
        .unwrap();
    let (_, bob) = gas::users::add_user(ports, "bob@example.org", Role::Premium, None)
        .await
        .unwrap();
    let response = system
        .submit(&alice, "file", "a.vcf", GOOD_VCF.as_bytes())
        .await;
    let job_id = response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    system.wait_finished(&alice, &job_id).await;

    for path in ["", "/results", "/log"] {
        let theirs = system
            .get(&bob, &format!("/api/v1/jobs/{job_id}{path}"))
            .await;
        assert_eq!(
            theirs.status(),
            StatusCode::NOT_FOUND,
            "bob reading alice's job{path}"
        );
        let missing = system
            .get(&bob, &format!("/api/v1/jobs/no-such-job{path}"))
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            theirs.text().await.unwrap(),
            missing.text().await.unwrap(),
            "indistinguishable from missing"
        );
    }
    let bobs: Value = system.get(&bob, "/api/v1/jobs").await.json().await.unwrap();
    assert_eq!(bobs["jobs"].as_array().unwrap().len(), 0);
    let alices: Value = system
        .get(&alice, "/api/v1/jobs")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alices["jobs"].as_array().unwrap().len(), 1);
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_archive_posts_are_refused_without_fetching_or_draining() {
    let system = start().await;
    // A server that counts every fetch of its "certificate".
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let app = axum::Router::new().fallback(move || {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Work waiting in the archive queue that a forged POST must not trigger.
    let queue = &system.running.ports.archive_queue;
    queue.send(r#"{"job_id":"some-job"}"#).await.unwrap();
    let topic = system.running.ports.archive_topic.arn().to_string();
    let forged = |cert_url: &str, topic: &str, version: &str| {
        json!({
            "Type": "Notification", "MessageId": "m-1", "TopicArn": topic,
            "Message": r#"{"job_id":"some-job"}"#, "Timestamp": "2026-11-28T12:00:00.000Z",
            "SignatureVersion": version, "Signature": "Zm9yZ2Vk", "SigningCertURL": cert_url,
            "UnsubscribeURL": format!("{cert_url}/unsubscribe"),
        })
        .to_string()
    };
    let cases = vec![
        ("not json".to_string(), StatusCode::BAD_REQUEST),
        (
            json!({"Type": "Notification"}).to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            forged(&format!("{evil}/cert.pem"), &topic, "2"),
            StatusCode::FORBIDDEN,
        ),
        (
            forged(&format!("{evil}/cert.pem"), &topic, "1"),
            StatusCode::FORBIDDEN,
        ),
        (
            forged(
                &format!("{}/_sns/cert.pem", system.util),
                "arn:aws:sns:local:000000000000:other",
                "2",
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            forged(&format!("{}/_sns/cert.pem", system.util), &topic, "3"),
            StatusCode::FORBIDDEN,
        ),
        // A trusted certificate URL, but the signature is not by its key.
        (
            forged(&format!("{}/_sns/cert.pem", system.util), &topic, "2"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (body, expected) in cases {
        let response = system
            .http
            .post(format!("{}/archive", system.util))
            .header("x-amz-sns-message-type", "Notification")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        0,
        "no URL of an unverified message was fetched"
    );
    let waiting = queue.receive(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(waiting.len(), 1, "the archive queue was not drained");
    system.running.stop().await;
}
