//! End to end on the embedded backend, through the real HTTP API, the real
//! SNS-style POSTs between services and the real SQLite files: submit →
//! annotate → download → window → archive → upgrade → restore.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gas::config::Config;
use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use reqwest::{redirect, Client, StatusCode};
use serde_json::Value;

fn sample(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/samples")
        .join(name);
    std::fs::read(path).ok()
}

/// A small valid VCF, for when the shared samples are not beside the checkout.
const SMALL_VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
MT\t73\t.\tA\tG\t50\tPASS\tDP=10\nMT\t150\t.\tC\tT\t50\tPASS\t.\nMT\t200\t.\tA\tC,AT\t50\tPASS\t.\n";

fn test_vcf() -> Vec<u8> {
    sample("test.vcf").unwrap_or_else(|| {
        eprintln!("shared samples not found; using a built-in VCF");
        SMALL_VCF.as_bytes().to_vec()
    })
}

struct System {
    running: Running,
    http: Client,
    web: String,
    _data: tempfile::TempDir,
}

impl System {
    async fn start(window_secs: u64, tweak: impl FnOnce(&mut Config)) -> System {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: data.path().to_path_buf(),
            web_addr: "127.0.0.1:0".parse().unwrap(),
            util_addr: "127.0.0.1:0".parse().unwrap(),
            ann_addr: "127.0.0.1:0".parse().unwrap(),
            free_access_window: window_secs,
            drain_interval: 1,
            restore_poll_interval: 1,
            visibility_timeout: 5,
            expedited_retrieval_ms: 300,
            standard_retrieval_ms: 600,
            ann_workers: 2,
            ..Config::default()
        };
        tweak(&mut config);
        let running = dev::start(config, Services::ALL)
            .await
            .expect("system starts");
        let web = format!("http://{}", running.web_addr.unwrap());
        let http = Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        System {
            running,
            http,
            web,
            _data: data,
        }
    }

    async fn user(&self, email: &str, role: Role) -> String {
        let (_, token) = gas::users::add_user(&self.running.ports, email, role, None)
            .await
            .unwrap();
        token
    }

    async fn submit(&self, token: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        self.http
            .post(format!("{}/api/v1/jobs", self.web))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    async fn submit_ok(&self, token: &str, name: &str, bytes: Vec<u8>) -> String {
        let response = self.submit(token, name, bytes).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let job: Value = response.json().await.unwrap();
        assert_eq!(job["job_status"], "PENDING");
        job["job_id"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.web))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn job(&self, token: &str, job_id: &str) -> Value {
        let response = self.get(token, &format!("/api/v1/jobs/{job_id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Polls the job until `done` holds, failing after `limit`.
    async fn wait_for(
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

    async fn completed(&self, token: &str, job_id: &str) -> Value {
        self.wait_for(token, job_id, Duration::from_secs(60), "COMPLETED", |j| {
            assert_ne!(j["job_status"], "FAILED", "job failed: {j}");
            j["job_status"] == "COMPLETED"
        })
        .await
    }

    /// Follows the results redirect and returns the bytes.
    async fn download(&self, token: &str, job_id: &str) -> Vec<u8> {
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

    async fn results_refusal(&self, token: &str, job_id: &str) -> (StatusCode, Value) {
        let response = self
            .get(token, &format!("/api/v1/jobs/{job_id}/results"))
            .await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn record(&self, job_id: &str) -> gas_jobs::Job {
        self.running.ports.jobs.get(job_id).await.unwrap().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn free_job_is_archived_after_the_window_and_restored_on_upgrade() {
    let system = System::start(2, |_| {}).await;
    let token = system.user("free@example.org", Role::Free).await;
    let job_id = system.submit_ok(&token, "test.vcf", test_vcf()).await;

    let job = system.completed(&token, &job_id).await;
    assert_eq!(job["results_state"], "available");
    assert!(job["download_until"].as_i64().is_some());
    let before = system.download(&token, &job_id).await;
    let text = String::from_utf8(before.clone()).unwrap();
    assert!(text.contains("##INFO=<ID=VC"), "annotated header");
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.contains("VC=")),
        "every record annotated"
    );
    let log = system
        .get(&token, &format!("/api/v1/jobs/{job_id}/log"))
        .await;
    assert_eq!(log.status(), StatusCode::OK);
    assert!(!log.text().await.unwrap().is_empty());
    assert!(
        system.record(&job_id).await.archive_execution_id.is_some(),
        "a free job has an archive timer"
    );

    // After the window: archived, blob gone, download refused with "upgrade".
    let job = system
        .wait_for(&token, &job_id, Duration::from_secs(30), "archived", |j| {
            j["results_state"] == "archived"
        })
        .await;
    let record = system.record(&job_id).await;
    assert!(record.results_file_archive_id.is_some());
    assert!(
        record.archive_execution_id.is_none(),
        "the fired timer is forgotten"
    );
    let result_key = record.s3_key_result_file.clone().unwrap();
    assert_eq!(
        system
            .running
            .ports
            .results
            .head(&result_key)
            .await
            .unwrap(),
        None,
        "results blob deleted"
    );
    let (status, body) = system.results_refusal(&token, &job_id).await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(body["reason"], "upgrade", "{body}");
    assert_eq!(job["job_status"], "COMPLETED");

    // Upgrade → restored, same bytes.
    let upgraded = system
        .http
        .post(format!("{}/api/v1/me/upgrade", system.web))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(upgraded.status(), StatusCode::OK);
    system
        .wait_for(&token, &job_id, Duration::from_secs(30), "restored", |j| {
            j["results_state"] == "available"
        })
        .await;
    let after = system.download(&token, &job_id).await;
    assert_eq!(
        after, before,
        "restored bytes equal the bytes downloaded before archiving"
    );
    let record = system.record(&job_id).await;
    assert!(record.results_file_archive_id.is_none() && record.retrieval_job_id.is_none());
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn premium_jobs_and_upgrades_inside_the_window_are_never_archived() {
    // Expedited refused: restores would take the standard tier (not needed
    // here, but nothing may be archived at all).
    let system = System::start(3, |c| c.refuse_expedited = true).await;
    let premium = system.user("premium@example.org", Role::Premium).await;
    let free = system.user("upgrader@example.org", Role::Free).await;
    let premium_job = system.submit_ok(&premium, "test.vcf", test_vcf()).await;
    let free_job = system.submit_ok(&free, "test.vcf", test_vcf()).await;

    let job = system.completed(&premium, &premium_job).await;
    assert!(
        job.get("download_until").is_none(),
        "premium downloads have no deadline"
    );
    assert!(
        system
            .record(&premium_job)
            .await
            .archive_execution_id
            .is_none(),
        "no timer for premium users"
    );
    system.completed(&free, &free_job).await;
    let timer = system.record(&free_job).await.archive_execution_id;
    assert!(timer.is_some(), "a free job has an archive timer");

    let upgraded = system
        .http
        .post(format!("{}/api/v1/me/upgrade", system.web))
        .bearer_auth(&free)
        .send()
        .await
        .unwrap();
    assert_eq!(upgraded.status(), StatusCode::OK);
    assert!(
        system
            .record(&free_job)
            .await
            .archive_execution_id
            .is_none(),
        "the upgrade stopped the timer"
    );

    // Well past the window and several drains.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for (token, job_id) in [(&premium, &premium_job), (&free, &free_job)] {
        let record = system.record(job_id).await;
        assert!(
            record.results_file_archive_id.is_none(),
            "{job_id} must not be archived"
        );
        let job = system.job(token, job_id).await;
        assert_eq!(job["results_state"], "available");
        assert!(!system.download(token, job_id).await.is_empty());
    }
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_falls_back_to_the_standard_tier() {
    let system = System::start(2, |c| c.refuse_expedited = true).await;
    let token = system.user("slow@example.org", Role::Free).await;
    let job_id = system.submit_ok(&token, "test.vcf", test_vcf()).await;
    system.completed(&token, &job_id).await;
    let before = system.download(&token, &job_id).await;
    system
        .wait_for(&token, &job_id, Duration::from_secs(30), "archived", |j| {
            j["results_state"] == "archived"
        })
        .await;
    gas::users::set_role(&system.running.ports, "slow@example.org", Role::Premium)
        .await
        .unwrap();
    system
        .wait_for(&token, &job_id, Duration::from_secs(30), "restored", |j| {
            j["results_state"] == "available"
        })
        .await;
    assert_eq!(system.download(&token, &job_id).await, before);
    system.running.stop().await;
}
