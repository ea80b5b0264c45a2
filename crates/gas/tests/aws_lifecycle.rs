//! End to end on the AWS adapters against moto's server, with web, ann and
//! util as separate `gas` processes configured only through `GAS_*`
//! variables: the real state machine waits out the window and publishes,
//! SNS delivers to the archive queue and POSTs to util, util archives
//! (with either cold store), an upgrade stops a pending execution and
//! restores archived results.
//!
//! Needs `GAS_TEST_AWS_ENDPOINT` (the test command starts moto and sets it);
//! without it the tests say so and pass, unless `GAS_REQUIRE_AWS_TESTS=1`.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{free_port, test_vcf, wait_for_service, Api};

/// The three services as child processes, killed on drop.
struct Deployment {
    env: Vec<(String, String)>,
    children: Vec<(String, Child)>,
    api: Api,
    _scratch: tempfile::TempDir,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Deployment {
    fn gas(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gas"));
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Runs a `gas` command to completion; returns its standard output.
    fn run(&self, args: &[&str]) -> String {
        let output = self.gas(args).stderr(Stdio::inherit()).output().unwrap();
        assert!(output.status.success(), "gas {args:?} failed");
        String::from_utf8(output.stdout).unwrap()
    }

    fn user(&self, email: &str, role: &str) -> String {
        let out = self.run(&["user", "add", email, "--role", role]);
        out.lines().last().unwrap().trim().to_string()
    }

    async fn start(endpoint: &str, cold_storage: &str) -> Deployment {
        let scratch = tempfile::tempdir().unwrap();
        let prefix = format!("t{}", &uuid_hex()[..10]);
        let (web, util, ann) = (free_port(), free_port(), free_port());
        let env: Vec<(String, String)> = [
            ("GAS_BACKEND", "aws".to_string()),
            ("GAS_AWS_ENDPOINT_URL", endpoint.to_string()),
            ("GAS_AWS_PREFIX", prefix),
            ("GAS_COLD_STORAGE", cold_storage.to_string()),
            ("GAS_FREE_ACCESS_WINDOW", "3".to_string()),
            ("GAS_WEB_ADDR", format!("127.0.0.1:{web}")),
            ("GAS_UTIL_ADDR", format!("127.0.0.1:{util}")),
            ("GAS_ANN_ADDR", format!("127.0.0.1:{ann}")),
            ("GAS_DATA_DIR", scratch.path().display().to_string()),
            ("GAS_DRAIN_INTERVAL", "2".to_string()),
            ("GAS_RESTORE_POLL_INTERVAL", "1".to_string()),
            ("GAS_VISIBILITY_TIMEOUT", "10".to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("RUST_LOG", "info".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut deployment = Deployment {
            env,
            children: Vec::new(),
            api: Api::new(format!("http://127.0.0.1:{web}")),
            _scratch: scratch,
        };
        deployment.run(&["provision"]);
        for (service, port) in [("util", util), ("ann", ann), ("web", web)] {
            let child = deployment
                .gas(&[service])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            // Kept before the wait, so that a failed wait still kills it.
            deployment.children.push((service.to_string(), child));
            let (_, child) = deployment.children.last_mut().unwrap();
            wait_for_service(port, service, child).await;
        }
        deployment
    }
}

fn uuid_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:016x}{:016x}", h.finish(), std::process::id())
}

async fn lifecycle(cold_storage: &str) {
    let Some(endpoint) = gas_testkit::aws_endpoint("AWS lifecycle") else {
        return;
    };
    let system = Deployment::start(&endpoint, cold_storage).await;
    let api = &system.api;
    let free = system.user("free@example.org", "free");
    let premium = system.user("premium@example.org", "premium");
    let early = system.user("early@example.org", "free");

    let free_job = api.submit_ok(&free, "test.vcf", test_vcf()).await;
    let premium_job = api.submit_ok(&premium, "test.vcf", test_vcf()).await;
    let early_job = api.submit_ok(&early, "test.vcf", test_vcf()).await;
    api.completed(&free, &free_job).await;
    let before = api.download(&free, &free_job).await;
    assert!(String::from_utf8_lossy(&before).contains("VC="));
    // The variant table reads the index and the results through the web
    // process's cache of S3 objects.
    let table = variants(api, &free, &free_job, "impact=LOW&limit=500").await;
    let total = table["total"].as_u64().unwrap();
    assert!(total > 0, "{table}");
    api.completed(&early, &early_job).await;
    // An upgrade inside the window stops the pending execution.
    api.upgrade(&early).await;
    api.completed(&premium, &premium_job).await;

    // The state machine waits out the window, SNS posts to util, util archives.
    api.wait_state(&free, &free_job, "archived", Duration::from_secs(60))
        .await;
    let (status, body) = api.results_refusal(&free, &free_job).await;
    assert!(status.is_client_error());
    assert_eq!(body["reason"], "upgrade", "{body}");
    let refused = api
        .get(&free, &format!("/api/v1/jobs/{free_job}/variants"))
        .await;
    assert_eq!(refused.status().as_u16(), 403);
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["reason"], "upgrade", "{refused}");

    // Neither the premium job nor the upgraded one is archived.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (token, job) in [(&premium, &premium_job), (&early, &early_job)] {
        assert_eq!(
            api.job(token, job).await["results_state"],
            "available",
            "{job}"
        );
        assert!(!api.download(token, job).await.is_empty());
        // The same input, the same table (another job's objects).
        let other = variants(api, token, job, "impact=LOW&limit=500").await;
        assert_eq!(other["total"], table["total"], "{job}");
        assert_eq!(other["variants"], table["variants"], "{job}");
    }
    // An export streams the whole filtered set.
    let export = api
        .get(
            &premium,
            &format!("/api/v1/jobs/{premium_job}/variants?impact=LOW&format=tsv"),
        )
        .await;
    assert!(export.status().is_success());
    let tsv = export.text().await.unwrap();
    assert_eq!(
        tsv.lines().count() as u64,
        total + 1,
        "a header and a line each"
    );

    // Upgrade → restored (S3 class: RestoreObject; vault: moto's retrieval,
    // seen by polling), the same bytes.
    api.upgrade(&free).await;
    api.wait_state(&free, &free_job, "available", Duration::from_secs(90))
        .await;
    assert_eq!(api.download(&free, &free_job).await, before);
    let again = variants(api, &free, &free_job, "impact=LOW&limit=500").await;
    assert_eq!(again, table, "the table after the restore");
}

/// A page of a job's variant table (200 expected).
async fn variants(api: &Api, token: &str, job: &str, query: &str) -> serde_json::Value {
    let response = api
        .get(token, &format!("/api/v1/jobs/{job}/variants?{query}"))
        .await;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_on_moto_with_the_s3_cold_storage_class() {
    lifecycle("s3-class").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_on_moto_with_a_glacier_vault() {
    lifecycle("glacier-vault").await;
}
