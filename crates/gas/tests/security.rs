//! What a penetration test found (issue 15 and docs/SECURITY.md), each as
//! the attack it was, over real HTTP on the embedded backend: a multipart
//! POST without a CSRF token, a huge first form field, answers without
//! `nosniff` or HSTS, a readiness check that does not read the data, and
//! logs written to a file in colour. Premium without paying is in
//! `stripe.rs` (it needs a paying provider), the sign-in findings in
//! `sign_in.rs`, the ID token ones in `oidc.rs`.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gas::config::Config;
use gas::dev::{self, Running, Services};
use reqwest::StatusCode;
use support::browser::Browser;
use support::{free_port, test_vcf};

struct System {
    running: Running,
    base: String,
    _data: tempfile::TempDir,
}

async fn start(tweak: impl FnOnce(&mut Config)) -> System {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: data.path().to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    tweak(&mut config);
    let running = dev::start(config, Services::ALL).await.unwrap();
    let base = format!("http://{}", running.web_addr.unwrap());
    System {
        running,
        base,
        _data: data,
    }
}

/// A multipart body of `fields` (name, value) in that order.
fn multipart(fields: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "gasTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, value) in fields {
        let disposition = if *name == "file" {
            format!("form-data; name=\"{name}\"; filename=\"test.vcf\"")
        } else {
            format!("form-data; name=\"{name}\"")
        };
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(browser: &mut Browser, path: &str, fields: &[(&str, &[u8])]) -> StatusCode {
    let (content_type, body) = multipart(fields);
    let response = browser
        .http
        .post(format!("{}{path}", browser.base))
        .header("cookie", browser.cookie_header())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    browser.take(response).await.status
}

async fn sign_in(system: &System, email: &str) -> Browser {
    let mut browser = Browser::new(&system.base);
    browser.sign_up(email).await;
    if browser.get("/annotations").await.status != StatusCode::OK {
        // Sign-up that does not sign in at once: sign in.
        let page = browser
            .submit(
                "/login",
                "/login",
                &[("email", email), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    assert_eq!(browser.get("/annotations").await.status, StatusCode::OK);
    browser
}

/// Finding 3: the CSRF layer let any multipart POST through on the strength
/// of the cookie's presence, and sign-out and token revocation read no
/// body, so another site could sign a user out or revoke their tokens.
#[tokio::test]
async fn a_multipart_post_without_the_token_changes_nothing() {
    let system = start(|_| {}).await;
    let mut browser = sign_in(&system, "ada@example.org").await;
    let user = system
        .running
        .ports
        .users
        .find_by_email("ada@example.org")
        .await
        .unwrap()
        .unwrap();
    let (_, token) =
        gas_web::accounts::create_token(system.running.ports.users.as_ref(), &user, "laptop")
            .await
            .unwrap();
    let revoke = format!("/profile/tokens/{}/revoke", token.token_id);

    for fields in [
        vec![],
        vec![("name", b"x".as_slice())],
        vec![("csrf_token", b"wrong".as_slice())],
    ] {
        for path in ["/logout", revoke.as_str(), "/profile/tokens", "/subscribe"] {
            let status = post_multipart(&mut browser, path, &fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} with {fields:?}");
        }
    }
    assert_eq!(
        browser.get("/annotations").await.status,
        StatusCode::OK,
        "still signed in"
    );
    let tokens = system
        .running
        .ports
        .users
        .list_tokens(&user.user_id)
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1, "the token was not revoked");

    // With the page's token as the first field, the same post works.
    let csrf = browser.get("/profile").await.csrf();
    let status = post_multipart(&mut browser, &revoke, &[("csrf_token", csrf.as_bytes())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tokens = system
        .running
        .ports
        .users
        .list_tokens(&user.user_id)
        .await
        .unwrap();
    assert!(tokens.is_empty(), "revoked with the right token");
    system.running.stop().await;
}

/// Finding 6: the upload page read its first field whole (with a body
/// limit of about 1 GiB) before it refused a wrong token. Now the first
/// field is read only up to a few KiB, and no other non-file field may be
/// longer than a few KiB either.
#[tokio::test]
async fn huge_form_fields_are_refused_without_being_held() {
    let system = start(|_| {}).await;
    let mut browser = sign_in(&system, "ada@example.org").await;
    let csrf = browser.get("/annotate").await.csrf();

    // A 64 MiB first field: refused after its first few KiB. The server may
    // close the connection before the client has sent it all; either way
    // nothing is accepted.
    let huge = vec![b'a'; 64 << 20];
    let (content_type, body) = multipart(&[("csrf_token", &huge), ("file", &test_vcf())]);
    let started = Instant::now();
    let response = browser
        .http
        .post(format!("{}/annotate", system.base))
        .header("cookie", browser.cookie_header())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert!(started.elapsed() < Duration::from_secs(30));

    // The right token, then a 64 KiB text field before the file: 400.
    let long = vec![b'b'; 64 << 10];
    let status = post_multipart(
        &mut browser,
        "/annotate",
        &[
            ("csrf_token", csrf.as_bytes()),
            ("note", &long),
            ("file", &test_vcf()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A short one is fine.
    let status = post_multipart(
        &mut browser,
        "/annotate",
        &[
            ("csrf_token", csrf.as_bytes()),
            ("note", b"hello"),
            ("file", &test_vcf()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let jobs = system
        .running
        .ports
        .jobs
        .list_for_user(
            &system
                .running
                .ports
                .users
                .find_by_email("ada@example.org")
                .await
                .unwrap()
                .unwrap()
                .user_id,
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        jobs.items.len(),
        1,
        "only the well-formed upload made a job"
    );
    system.running.stop().await;
}

/// Finding 4: JSON answers had no `X-Content-Type-Options: nosniff`, and
/// nothing had `Strict-Transport-Security` behind https.
#[tokio::test]
async fn every_answer_says_nosniff_and_https_adds_hsts() {
    for https in [false, true] {
        let system = start(|c| {
            if https {
                c.web_public_url = Some("https://gas.example.org".into());
            }
        })
        .await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for path in [
            "/api/v1/jobs",
            "/api/v1/jobs/nope",
            "/api/v1/openapi.json",
            "/",
            "/login",
            "/annotations",
            "/assets/style.css",
            "/stripe/webhook",
        ] {
            let response = http
                .get(format!("{}{path}", system.base))
                .send()
                .await
                .unwrap();
            let headers = response.headers();
            assert_eq!(
                headers
                    .get("x-content-type-options")
                    .map(|v| v.to_str().unwrap()),
                Some("nosniff"),
                "{path}: {}",
                response.status()
            );
            let hsts = headers
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_string());
            if https {
                assert_eq!(hsts.as_deref(), Some("max-age=31536000"), "{path}");
            } else {
                assert_eq!(hsts, None, "{path}: no HSTS over plain http");
            }
        }
        system.running.stop().await;
    }
}

/// Finding 11's code half: `/readyz` reads the job store (the load
/// balancer's check), while `/healthz` only says the process serves. The
/// AWS side, where the store cannot be read, is in `aws_web.rs`.
#[tokio::test]
async fn readiness_reads_the_job_store() {
    let system = start(|_| {}).await;
    for (addr, service) in [
        (system.running.web_addr, "web"),
        (system.running.util_addr, "util"),
        (system.running.ann_addr, "ann"),
    ] {
        let base = format!("http://{}", addr.unwrap());
        let response = reqwest::get(format!("{base}/readyz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{service}");
        assert_eq!(response.text().await.unwrap(), format!("{service} ready\n"));
    }
    system.running.stop().await;
}

/// Finding 17: `gas web 2> file` wrote ANSI colour codes into the file.
#[tokio::test]
async fn logs_to_a_file_have_no_colour_codes() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("web.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gas"))
        .arg("web")
        .env("GAS_DATA_DIR", data.path())
        .env("GAS_WEB_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("GAS_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "gas web did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("INFO"), "the log has lines: {text}");
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes in a file: {text:?}"
    );
}
