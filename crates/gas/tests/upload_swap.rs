//! The presigned upload form stays valid after its upload became a job
//! (S3 cannot make a POST policy single-use): posting it again swaps the
//! object under the job's input key. The web service records the version
//! it checked on the job; the runner reads only that version, so the job
//! fails with a reason the user can act on instead of annotating bytes
//! nobody checked. On moto, with web and ann as separate `gas` processes:
//! post the form, come back to the web app (the job is made), post the
//! form again with other bytes, then start the runner.
//!
//! Needs `GAS_TEST_AWS_ENDPOINT` (the test command starts moto and sets it);
//! without it the test says so and passes, unless `GAS_REQUIRE_AWS_TESTS=1`.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gas_jobs::dynamo::DynamoJobStore;
use gas_jobs::{JobStatus, JobStore};
use reqwest::StatusCode;
use support::browser::Browser;
use support::s3_form::UploadForm;
use support::{free_port, test_vcf, wait_for_service};

const CHANGED: &str = "the input file changed after it was submitted; please submit it again";

/// `gas` processes, killed on drop.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn a_form_posted_again_after_the_job_was_made_fails_the_job() {
    let Some(endpoint) =
        gas_testkit::aws_endpoint("a_form_posted_again_after_the_job_was_made_fails_the_job")
    else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let prefix = format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (web_port, ann_port) = (free_port(), free_port());
    let gas = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gas"));
        command
            .args(args)
            .env("GAS_BACKEND", "aws")
            .env("GAS_AWS_ENDPOINT_URL", &endpoint)
            .env("GAS_AWS_PREFIX", &prefix)
            .env("GAS_WEB_ADDR", format!("127.0.0.1:{web_port}"))
            .env("GAS_ANN_ADDR", format!("127.0.0.1:{ann_port}"))
            .env("GAS_DATA_DIR", scratch.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", gas_testkit::REGION)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        command
    };
    assert!(gas(&["provision"]).status().unwrap().success());
    let mut processes = Processes(vec![gas(&["web"]).spawn().unwrap()]);
    let base = format!("http://127.0.0.1:{web_port}");
    wait_for_service(web_port, "web", &mut processes.0[0]).await;

    // The upload, checked and made a job.
    let mut browser = Browser::new(&base);
    browser.sign_up("swap@example.org").await;
    let form = UploadForm::parse(&browser.get("/annotate").await.body);
    let key = form
        .fields
        .iter()
        .find(|(n, _)| n == "key")
        .expect("a key field")
        .1
        .replace("${filename}", "test.vcf");
    let back = form.post(Some(&key), "in.vcf", test_vcf()).await;
    let page = browser.get(&back).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let job_id = page
        .location
        .unwrap()
        .strip_prefix("/annotations/")
        .expect("sent to the job's page")
        .to_string();

    // The same form again, other bytes: S3 (and moto) takes them.
    let swapped = b"PK\x03\x04 nothing the web app ever looked at".to_vec();
    form.post(Some(&key), "in.vcf", swapped).await;

    // The runner comes to the job only now.
    processes.0.push(gas(&["ann"]).spawn().unwrap());
    let sdk = gas_testkit::sdk_config(&endpoint).await;
    let jobs = DynamoJobStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        format!("{prefix}-annotations"),
    );
    let started = Instant::now();
    let job = loop {
        let job = jobs.get(&job_id).await.unwrap().expect("the job");
        if matches!(job.job_status, JobStatus::Completed | JobStatus::Failed) {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the job is still {:?}",
            job.job_status
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        (job.job_status, job.failure_reason.as_deref()),
        (JobStatus::Failed, Some(CHANGED)),
        "the swapped input must not be annotated"
    );
    assert_eq!(job.s3_key_result_file, None, "no results were made");
    // The job page tells the user.
    let page = browser.get(&format!("/annotations/{job_id}")).await;
    assert!(
        page.body
            .contains("the input file changed after it was submitted"),
        "{}",
        page.body
    );
}
