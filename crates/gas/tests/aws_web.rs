//! The upload page on the AWS backend against moto: the browser's file goes
//! straight to S3 with the presigned POST the page renders, S3 sends the
//! browser back, and the web app checks the object before it makes a job.
//! moto enforces none of the policy's conditions, so what the policy would
//! stop on S3 (an object over the plan's limit, one under another key) is
//! exactly what reaches the web app here, and must be deleted and refused.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::browser::Browser;
use support::s3_form::UploadForm;
use support::{free_port, test_vcf};

struct Web {
    child: Child,
    base: String,
    prefix: String,
    endpoint: String,
    _scratch: tempfile::TempDir,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(test: &str) -> Option<Web> {
    let endpoint = gas_testkit::aws_endpoint(test)?;
    let scratch = tempfile::tempdir().unwrap();
    let prefix = format!("w{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let port = free_port();
    let gas = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gas"));
        command
            .args(args)
            .env("GAS_BACKEND", "aws")
            .env("GAS_AWS_ENDPOINT_URL", &endpoint)
            .env("GAS_AWS_PREFIX", &prefix)
            .env("GAS_WEB_ADDR", format!("127.0.0.1:{port}"))
            .env("GAS_DATA_DIR", scratch.path())
            .env("GAS_FREE_UPLOAD_LIMIT", "20000")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", gas_testkit::REGION);
        command
    };
    let provisioned = gas(&["provision"]).stdout(Stdio::null()).status().unwrap();
    assert!(provisioned.success(), "gas provision failed");
    let child = gas(&["web"]).stdout(Stdio::null()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "gas web did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Some(Web {
        child,
        base,
        prefix,
        endpoint,
        _scratch: scratch,
    })
}

impl Web {
    async fn s3(&self) -> aws_sdk_s3::Client {
        let sdk = gas_testkit::sdk_config(&self.endpoint).await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        )
    }

    fn bucket(&self) -> String {
        format!("{}-inputs", self.prefix)
    }

    async fn exists(&self, key: &str) -> bool {
        self.s3()
            .await
            .head_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .is_ok()
    }
}

#[tokio::test]
async fn presigned_uploads_become_jobs_only_when_they_pass_the_checks() {
    let Some(web) = start("presigned_uploads_become_jobs_only_when_they_pass_the_checks").await
    else {
        return;
    };
    let mut browser = Browser::new(&web.base);
    browser.sign_up("ada@example.org").await;
    let page = browser.get("/annotate").await;
    assert_eq!(page.status, StatusCode::OK);
    let form = UploadForm::parse(&page.body);
    assert!(
        form.action.starts_with(&web.endpoint),
        "the form posts to S3: {}",
        form.action
    );
    assert!(
        !form.fields.iter().any(|(n, _)| n == "csrf_token"),
        "S3 gets no CSRF token"
    );
    let key_field = form
        .fields
        .iter()
        .find(|(n, _)| n == "key")
        .unwrap()
        .1
        .clone();
    let prefix = key_field
        .strip_suffix("${filename}")
        .expect("key ends in ${filename}")
        .to_string();
    assert!(
        prefix.starts_with("gas/") && prefix.ends_with('~'),
        "{prefix}"
    );
    for name in ["policy", "x-amz-signature", "success_action_redirect"] {
        assert!(
            form.fields.iter().any(|(n, _)| n == name),
            "the form lacks {name}"
        );
    }

    // A good upload: S3 sends the browser back, the web app makes the job.
    let key = format!("{prefix}test.vcf");
    let back = form.post(Some(&key), "in.vcf", test_vcf()).await;
    assert!(
        back.starts_with(&format!("{}/annotate/uploaded?", web.base)),
        "{back}"
    );
    let page = browser.get(&back).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let job_page = page.location.unwrap();
    assert!(job_page.starts_with("/annotations/"));
    let job = browser.get(&job_page).await;
    assert_eq!(job.status, StatusCode::OK);
    assert!(job.body.contains("test.vcf"));
    assert!(web.exists(&key).await);
    // The same redirect again makes no second job.
    let again = browser.get(&back).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        web.exists(&key).await,
        "a replay must not delete a job's input"
    );

    // Over the plan's limit (the policy says so; moto does not check): deleted, no job.
    let form = UploadForm::parse(&browser.get("/annotate").await.body);
    let prefix = form
        .fields
        .iter()
        .find(|(n, _)| n == "key")
        .unwrap()
        .1
        .replace("${filename}", "");
    let key = format!("{prefix}big.vcf");
    let mut big = b"##fileformat=VCFv4.2\n".to_vec();
    big.resize(30_000, b'#');
    let back = form.post(Some(&key), "in.vcf", big).await;
    let page = browser.get(&back).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        !web.exists(&key).await,
        "an over-limit object must be deleted"
    );

    // Not a VCF: deleted, no job.
    let key = format!("{prefix}sheet.vcf");
    let back = form
        .post(Some(&key), "in.vcf", b"PK\x03\x04 a spreadsheet".to_vec())
        .await;
    let page = browser.get(&back).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(!web.exists(&key).await);

    // A key outside the user's prefix (another user's, or nobody's): deleted, 404.
    for key in [
        format!("gas/someone-else/{}~x.vcf", uuid::Uuid::new_v4()),
        "elsewhere/x.vcf".to_string(),
    ] {
        let back = form.post(Some(&key), "in.vcf", test_vcf()).await;
        let page = browser.get(&back).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{key}");
        assert!(!web.exists(&key).await, "{key} must be deleted");
    }
    // A job id the server did not make: deleted.
    let key = format!(
        "{}not-a-job-id~x.vcf",
        prefix.rsplit_once('/').unwrap().0.to_string() + "/"
    );
    let back = form.post(Some(&key), "in.vcf", test_vcf()).await;
    assert_eq!(browser.get(&back).await.status, StatusCode::BAD_REQUEST);
    assert!(!web.exists(&key).await);

    // One job in all.
    let list = browser.get("/annotations").await.body;
    assert_eq!(list.matches("href=\"/annotations/").count(), 1, "{list}");
}

/// Finding 11 of the security review: a stack whose services cannot read
/// their own tables (a missing KMS grant) kept `/healthz` green. `/readyz`,
/// the load balancer's check, reads the job store: here the table goes
/// away under a running web service, which then answers 503 there while
/// `/healthz` still says the process serves.
#[tokio::test]
async fn readiness_fails_when_the_job_store_cannot_be_read() {
    let Some(web) = start("readiness_fails_when_the_job_store_cannot_be_read").await else {
        return;
    };
    let ready = reqwest::get(format!("{}/readyz", web.base)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let sdk = gas_testkit::sdk_config(&web.endpoint).await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(format!("{}-annotations", web.prefix))
        .send()
        .await
        .unwrap();
    let ready = reqwest::get(format!("{}/readyz", web.base)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = ready.text().await.unwrap();
    assert!(text.contains("job store"), "{text}");
    assert!(!text.contains("ResourceNotFound"), "no internals: {text}");
    let health = reqwest::get(format!("{}/healthz", web.base)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
