//! The web app's pages over real HTTP on the embedded backend, as a browser
//! without JavaScript would use them: accounts and sessions (cookie flags,
//! sign-out everywhere, two web processes sharing sign-ins, the sign-in
//! throttle), CSRF on every form, other users' jobs, the upload limit, the
//! download URLs, API tokens. The full journey in a real browser is
//! `scripts/browser-test.sh`.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gas::config::Config;
use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use reqwest::StatusCode;
use support::browser::{Browser, Page};
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
        free_access_window: 60,
        drain_interval: 1,
        restore_poll_interval: 1,
        visibility_timeout: 5,
        expedited_retrieval_ms: 300,
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

impl System {
    async fn wait_completed(&self, job_id: &str) -> gas_jobs::Job {
        let start = Instant::now();
        loop {
            let job = self.running.ports.jobs.get(job_id).await.unwrap().unwrap();
            match job.job_status {
                gas_jobs::JobStatus::Completed => return job,
                gas_jobs::JobStatus::Failed => panic!("job failed: {job:?}"),
                _ => {}
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "job never completed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn role_of(&self, email: &str) -> Role {
        self.running
            .ports
            .users
            .find_by_email(email)
            .await
            .unwrap()
            .unwrap()
            .role
    }
}

fn cookie_named<'a>(page: &'a Page, name: &str) -> &'a str {
    page.set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", page.set_cookies))
}

#[tokio::test]
async fn sign_up_sets_a_safe_session_cookie_and_signs_in() {
    let system = start(|_| {}).await;
    let mut browser = Browser::new(&system.base);
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Sign up"));
    let page = browser.sign_up("ada@example.org").await;
    assert_eq!(page.location.as_deref(), Some("/annotate"));
    let session = cookie_named(&page, "gas_session");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(
        !session.contains("Secure"),
        "http URLs cannot carry Secure cookies"
    );
    let annotate = browser.get("/annotate").await;
    assert_eq!(annotate.status, StatusCode::OK);
    assert!(annotate.body.contains("ada@example.org"));
    assert!(
        annotate.body.contains("150 KiB"),
        "the free limit is shown before choosing a file"
    );
    assert_eq!(system.role_of("ada@example.org").await, Role::Free);

    // The same email again, whatever its case, makes no second account
    // and signs no one in; the answer does not say the email is taken
    // (`sign_in.rs` compares it with a new email's).
    let mut other = Browser::new(&system.base);
    let page = other
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "ADA@example.org"),
                ("password", "another password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!page
        .set_cookies
        .iter()
        .any(|c| c.starts_with("gas_session=")));
    assert!(!page.body.contains("already exists"));
    let page = other
        .submit(
            "/login",
            "/login",
            &[
                ("email", "ada@example.org"),
                ("password", "another password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    // A short password is refused and makes no account.
    let page = other
        .submit(
            "/signup",
            "/signup",
            &[("email", "bo@example.org"), ("password", "short")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(system
        .running
        .ports
        .users
        .find_by_email("bo@example.org")
        .await
        .unwrap()
        .is_none());
    // Pages that need a session send strangers to sign in, and back.
    let page = Browser::new(&system.base).get("/annotations").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/login?next=%2Fannotations"));
    system.running.stop().await;
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let system = start(|c| c.web_public_url = Some("https://gas.example.org".into())).await;
    let mut browser = Browser::new(&system.base);
    let page = browser.get("/signup").await;
    assert!(cookie_named(&page, "gas_csrf").contains("; Secure"));
    let page = browser.sign_up("ada@example.org").await;
    let session = cookie_named(&page, "gas_session");
    assert!(
        session.contains("; Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    system.running.stop().await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let system = start(|_| {}).await;
    let mut browser = Browser::new(&system.base);
    browser.sign_up("ada@example.org").await;
    let user_id = system
        .running
        .ports
        .users
        .find_by_email("ada@example.org")
        .await
        .unwrap()
        .unwrap()
        .user_id;

    for token in [None, Some("wrong"), Some("")] {
        let mut form: Vec<(&str, &str)> = vec![("name", "laptop")];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        for path in ["/subscribe", "/profile/tokens", "/logout"] {
            let page = browser.post(path, &form).await;
            assert_eq!(
                page.status,
                StatusCode::FORBIDDEN,
                "{path} with token {token:?}"
            );
        }
        let page = browser.upload(token, "test.vcf", test_vcf()).await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "upload with token {token:?}"
        );
    }
    // Another site's page posting a sign-up: no token at all.
    let mut stranger = Browser::new(&system.base);
    let page = stranger
        .post(
            "/signup",
            &[("email", "eve@example.org"), ("password", "password123")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // A JSON or text body is not a form and is refused too.
    let response = reqwest::Client::new()
        .post(format!("{}/subscribe", system.base))
        .header("cookie", browser.cookie_header())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The API with the session cookie needs the page's token in a header.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/me/upgrade", system.base))
        .header("cookie", browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Nothing changed: still free, no token, no job, no account, signed in.
    let ports = &system.running.ports;
    assert_eq!(system.role_of("ada@example.org").await, Role::Free);
    assert!(ports.users.list_tokens(&user_id).await.unwrap().is_empty());
    assert!(ports
        .jobs
        .list_for_user(&user_id, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(ports
        .users
        .find_by_email("eve@example.org")
        .await
        .unwrap()
        .is_none());
    assert_eq!(browser.get("/profile").await.status, StatusCode::OK);

    // With the token, the same upgrade works.
    let page = browser.submit("/subscribe", "/subscribe", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(system.role_of("ada@example.org").await, Role::Premium);
    system.running.stop().await;
}

#[tokio::test]
async fn another_users_job_log_download_and_pictures_are_not_found() {
    let system = start(|_| {}).await;
    let mut ada = Browser::new(&system.base);
    ada.sign_up("ada@example.org").await;
    let job_id = ada.submit_job().await;
    system.wait_completed(&job_id).await;

    let paths = [
        format!("/annotations/{job_id}"),
        format!("/annotations/{job_id}/panel"),
        format!("/annotations/{job_id}/log"),
        format!("/annotations/{job_id}/download"),
        format!("/annotations/{job_id}/charts/classes.svg"),
    ];
    // The owner sees each one.
    for path in &paths {
        let page = ada.get(path).await;
        let expected = if path.ends_with("/download") {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::OK
        };
        assert_eq!(page.status, expected, "owner GET {path}");
    }
    let detail = ada.get(&paths[0]).await.body;
    assert!(
        detail.contains("id=\"download\""),
        "a completed job offers its download"
    );
    // The default configuration predicts consequences with the built-in
    // mitochondrial models, which adds the consequence and impact pictures.
    assert_eq!(detail.matches("class=\"chart\"").count(), 6, "six pictures");
    let svg = ada.get(&paths[4]).await.body;
    assert!(svg.starts_with("<svg") && svg.contains("SNV"), "{svg}");
    let log = ada.get(&paths[2]).await.body;
    assert!(log.contains("GAS annotation log"));

    // Someone else: 404 for each, exactly as for a job that does not exist.
    let mut eve = Browser::new(&system.base);
    eve.sign_up("eve@example.org").await;
    for path in &paths {
        let page = eve.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "stranger GET {path}");
        let missing = eve
            .get(&path.replace(&job_id, "00000000-0000-4000-8000-000000000000"))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(
            page.body, missing.body,
            "someone else's job must look like none"
        );
    }
    let list = eve.get("/annotations").await.body;
    assert!(!list.contains(&job_id));
    system.running.stop().await;
}

#[tokio::test]
async fn the_free_limit_is_enforced_by_the_server() {
    let system = start(|c| c.free_upload_limit = 1000).await;
    let mut browser = Browser::new(&system.base);
    browser.sign_up("ada@example.org").await;
    let token = browser.get("/annotate").await.csrf();
    let mut big = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n".to_vec();
    while big.len() <= 1000 {
        big.extend_from_slice(b"1\t100\t.\tA\tG\t50\tPASS\t.\n");
    }
    let page = browser.upload(Some(&token), "big.vcf", big).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.body.contains("1000 bytes allowed for your plan"),
        "{}",
        page.body
    );
    let page = browser
        .upload(Some(&token), "notes.vcf", b"hello".to_vec())
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let user = system
        .running
        .ports
        .users
        .find_by_email("ada@example.org")
        .await
        .unwrap()
        .unwrap();
    let jobs = system
        .running
        .ports
        .jobs
        .list_for_user(&user.user_id, 10, None)
        .await
        .unwrap();
    assert!(jobs.items.is_empty(), "a refused upload made a job");
    system.running.stop().await;
}

#[tokio::test]
async fn download_urls_refuse_tampering_and_expire() {
    let system = start(|c| c.download_url_ttl = 1).await;
    let mut browser = Browser::new(&system.base);
    browser.sign_up("ada@example.org").await;
    let job_id = browser.submit_job().await;
    system.wait_completed(&job_id).await;
    let redirect = browser
        .get(&format!("/annotations/{job_id}/download"))
        .await;
    let url = redirect.location.expect("a signed URL");
    let url = if url.starts_with('/') {
        format!("{}{url}", system.base)
    } else {
        url
    };
    let fresh = browser.get(&url).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert!(fresh.body.starts_with("##fileformat=VCF"));
    // Any change to the URL breaks it.
    let last = url.chars().last().unwrap();
    let tampered = format!(
        "{}{}",
        &url[..url.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let page = Browser::new(&system.base).get(&tampered).await;
    assert!(
        page.status.is_client_error(),
        "tampered URL: {}",
        page.status
    );
    // After its lifetime it is refused.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let page = Browser::new(&system.base).get(&url).await;
    assert!(
        page.status.is_client_error(),
        "expired URL: {}",
        page.status
    );
    system.running.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session_everywhere_it_was_used() {
    let system = start(|_| {}).await;
    let mut laptop = Browser::new(&system.base);
    laptop.sign_up("ada@example.org").await;
    let mut copy = laptop.clone(); // the same cookie used elsewhere
    assert_eq!(copy.get("/profile").await.status, StatusCode::OK);
    let page = laptop.submit("/profile", "/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(cookie_named(&page, "gas_session").contains("Max-Age=0"));
    let page = copy.get("/profile").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "the copied cookie still signs in"
    );
    // The API does not take it either.
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/me", system.base))
        .header("cookie", copy.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    system.running.stop().await;
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled() {
    let system = start(|_| {}).await;
    gas::users::add_user(
        &system.running.ports,
        "ada@example.org",
        Role::Free,
        Some("the right password"),
    )
    .await
    .unwrap();
    let mut browser = Browser::new(&system.base);
    for attempt in 1..=5 {
        let page = browser
            .submit(
                "/login",
                "/login",
                &[("email", "ada@example.org"), ("password", "wrong password")],
            )
            .await;
        let expected = if attempt < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(page.status, expected, "attempt {attempt}");
    }
    // Now even the right password waits.
    let page = browser
        .submit(
            "/login",
            "/login",
            &[
                ("email", "ada@example.org"),
                ("password", "the right password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.body.contains("try again in"));
    assert!(!page
        .set_cookies
        .iter()
        .any(|c| c.starts_with("gas_session=")));
    system.running.stop().await;
}

#[tokio::test]
async fn command_line_users_sign_in_and_tokens_are_managed_on_the_profile() {
    let system = start(|_| {}).await;
    gas::users::add_user(
        &system.running.ports,
        "ada@example.org",
        Role::Free,
        Some("the right password"),
    )
    .await
    .unwrap();
    let mut browser = Browser::new(&system.base);
    let page = browser
        .submit(
            "/login?next=/profile",
            "/login",
            &[
                ("email", "ada@example.org"),
                ("password", "the right password"),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/profile"));

    let page = browser
        .submit("/profile", "/profile/tokens", &[("name", "lab cluster")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page
        .body
        .split("id=\"new-token\" class=\"token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the new token is shown")
        .to_string();
    assert!(page.body.contains("lab cluster"));
    let api = reqwest::Client::new();
    let me = api
        .get(format!("{}/api/v1/me", system.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Revoke it from the page: the API stops taking it.
    let profile = browser.get("/profile").await.body;
    // The row of this token (`gas user add` made another one).
    let row = profile
        .split("<td>lab cluster</td>")
        .nth(1)
        .expect("the token's row");
    let revoke_path = row
        .split("action=\"/profile/tokens/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|rest| format!("/profile/tokens/{rest}"))
        .expect("a revoke form");
    assert!(!profile.contains(&token), "a token is shown only once");
    let page = browser.submit("/profile", &revoke_path, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let me = api
        .get(format!("{}/api/v1/me", system.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    system.running.stop().await;
}

/// `gas web` as a child process on a data directory.
struct WebProcess {
    child: Child,
    base: String,
}

impl Drop for WebProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn web_process(data: &std::path::Path) -> WebProcess {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(["--data-dir", data.to_str().unwrap(), "web"])
        .env("GAS_WEB_ADDR", format!("127.0.0.1:{port}"))
        .env("GAS_UTIL_ADDR", "127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "gas web did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    WebProcess { child, base }
}

#[tokio::test]
async fn two_web_processes_share_sign_ins_and_sign_outs() {
    let data = tempfile::tempdir().unwrap();
    let one = web_process(data.path()).await;
    let two = web_process(data.path()).await;
    let mut on_one = Browser::new(&one.base);
    on_one.sign_up("ada@example.org").await;
    let mut on_two = on_one.at(&two.base);
    let page = on_two.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK, "signed in on one, not on two");
    assert!(page.body.contains("ada@example.org"));
    // Signing out through two ends the session on one.
    let page = on_two.submit("/profile", "/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let mut back_on_one = on_one.clone();
    assert_eq!(
        back_on_one.get("/profile").await.status,
        StatusCode::SEE_OTHER
    );
    // And a restart keeps sign-ins: sign in again, restart one, still in.
    let mut again = Browser::new(&one.base);
    again
        .submit(
            "/login",
            "/login",
            &[
                ("email", "ada@example.org"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    drop(one);
    let restarted = web_process(data.path()).await;
    let mut after = again.at(&restarted.base);
    assert_eq!(
        after.get("/profile").await.status,
        StatusCode::OK,
        "a restart signed the user out"
    );
}
