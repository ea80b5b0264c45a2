//! The web router on the embedded adapters, driven in-process with
//! `tower::ServiceExt::oneshot` (no socket), and one helper per way of
//! signing in: [`CookieUser`] (a browser: session and form-token cookies)
//! and [`TokenUser`] (a program: a Bearer token).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use gas_jobs::sqlite::{SqliteJobStore, SqliteUserStore};
use gas_jobs::{Completion, Job, JobStore, Role, User, UserStore};
use gas_storage::dir::{DirBlobStore, UrlSigner};
use gas_storage::BlobStore;
use gas_web::{InstantPayments, PaymentProvider, WebPorts, WebSettings, WebState};
use tower::ServiceExt;

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";
/// The free window of every test app, seconds.
pub const WINDOW: i64 = 60;
/// The base URL the app believes it is served at.
pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// A web app on in-memory stores and a temporary directory.
pub struct TestApp {
    router: Router,
    pub jobs: Arc<SqliteJobStore>,
    pub users: Arc<SqliteUserStore>,
    pub results: Arc<DirBlobStore>,
    dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `reason` of an API error body.
    pub fn reason(&self) -> String {
        self.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The value a `Set-Cookie` header gives cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next()?.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// The value of the page's first `name="csrf_token"` field.
    pub fn csrf_field(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf_token\" value=\"")
            .expect("the page has a form token");
        let rest = &self.body[at + 25..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl TestApp {
    /// An app whose payments are the embedded instant provider.
    pub fn new() -> Self {
        Self::with_payments(Arc::new(InstantPayments))
    }

    pub fn with_payments(payments: Arc<dyn PaymentProvider>) -> Self {
        let dir = std::env::temp_dir().join(format!("gas-web-router-{}", uuid::Uuid::new_v4()));
        let messaging = gas_messaging::local::LocalMessaging::open_in_memory().unwrap();
        let requests = Arc::new(messaging.topic("requests").unwrap());
        let restore = Arc::new(messaging.topic("restore").unwrap());
        let archive = Arc::new(messaging.topic("archive").unwrap());
        let timer = Arc::new(messaging.timer("archive", archive).unwrap());
        let signer = || UrlSigner::new([7; 32], PUBLIC_URL.parse().unwrap()).unwrap();
        let inputs =
            Arc::new(DirBlobStore::new(dir.join("inputs"), "inputs".into(), signer()).unwrap());
        let results =
            Arc::new(DirBlobStore::new(dir.join("results"), "results".into(), signer()).unwrap());
        let jobs = Arc::new(SqliteJobStore::open_in_memory().unwrap());
        let users = Arc::new(SqliteUserStore::open_in_memory().unwrap());
        let ports = WebPorts {
            jobs: Arc::clone(&jobs) as _,
            users: Arc::clone(&users) as _,
            inputs,
            results: Arc::clone(&results) as _,
            requests_topic: requests,
            restore_topic: restore,
            archive_timer: timer,
            payments,
            browser_upload: None,
            identity_providers: Vec::new(),
        };
        let settings = WebSettings {
            free_access_window: Duration::from_secs(WINDOW as u64),
            free_upload_limit: 10_000,
            max_upload: 100_000,
            download_ttl: Duration::from_secs(60),
            key_prefix: "gas".into(),
            public_url: PUBLIC_URL.into(),
            session_ttl: Duration::from_secs(600),
            secret_key: vec![9; 32],
            requeue_after: Duration::ZERO,
            password_hash_concurrency: 2,
            trust_forwarded_for: false,
        };
        TestApp {
            router: gas_web::router(WebState::new(ports, settings)),
            jobs,
            users,
            results,
            dir,
        }
    }

    /// Sends one request through the router.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// A GET with these `Cookie` pairs (`name=value`).
    pub async fn get(&self, path: &str, cookies: &[String]) -> Answer {
        let mut request = Request::get(path);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// A user made the way `gas user add` makes one, with a password.
    pub async fn account(&self, email: &str, role: Role) -> User {
        gas_web::accounts::create_account(self.users.as_ref(), email, role, Some(PASSWORD))
            .await
            .unwrap()
    }

    /// A browser that has not signed in, holding the form-token cookie the
    /// sign-in page gave it.
    pub async fn browser(&self) -> Browser<'_> {
        let page = self.get("/login", &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        let secret = page.set_cookie("gas_csrf").expect("a form-token cookie");
        Browser {
            app: self,
            cookies: vec![format!("gas_csrf={secret}")],
            token: page.csrf_field(),
        }
    }

    /// A user signed in through the sign-in form: a browser with a session.
    pub async fn cookie_user(&self, email: &str, role: Role) -> CookieUser<'_> {
        let user = self.account(email, role).await;
        let mut browser = self.browser().await;
        let token = browser.token.clone();
        let answer = browser
            .post_form(
                "/login",
                &[
                    ("csrf_token", token.as_str()),
                    ("email", email),
                    ("password", PASSWORD),
                    ("next", "/annotations"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let session = answer.set_cookie("gas_session").expect("a session cookie");
        browser.cookies.push(format!("gas_session={session}"));
        CookieUser { browser, user }
    }

    /// A user with an API token, as `gas user add` prints one.
    pub async fn token_user(&self, email: &str, role: Role) -> TokenUser<'_> {
        let user = self.account(email, role).await;
        let (token, _) = gas_web::accounts::create_token(self.users.as_ref(), &user, "tests")
            .await
            .unwrap();
        TokenUser {
            app: self,
            user,
            token,
        }
    }

    /// A job of `user` that completed at `complete_time`, with results,
    /// a log and statistics stored.
    pub async fn completed_job(&self, user: &User, complete_time: i64) -> Job {
        let job_id = uuid::Uuid::new_v4().to_string();
        let input = format!("gas/{}/{job_id}~in.vcf", user.user_id);
        let job = Job::new_pending(&job_id, &user.user_id, "in.vcf", "inputs", &input, 1);
        self.jobs.create(&job).await.unwrap();
        let results = format!("gas/{}/{job_id}~in.annot.vcf", user.user_id);
        let log = format!("gas/{}/{job_id}~in.vcf.count.log", user.user_id);
        for (key, text) in [
            (results.as_str(), "##fileformat=VCFv4.2\n"),
            (log.as_str(), "annotated 0 records\n"),
            (
                gas_jobs::keys::stats_key(&input).as_str(),
                r#"{"variants": 3}"#,
            ),
        ] {
            let bytes = Bytes::from(text.to_string());
            let body = Box::pin(futures::stream::once(async move { Ok(bytes) }));
            self.results.put(key, body).await.unwrap();
        }
        self.jobs
            .claim(&job_id, complete_time - 1, complete_time + 60)
            .await
            .unwrap();
        let completion = Completion {
            results_bucket: "results".into(),
            result_key: results,
            log_key: log,
            complete_time,
            warnings: None,
        };
        self.jobs.complete(&job_id, &completion).await.unwrap()
    }

    /// Moves a completed job's results to cold storage (as util records it).
    pub async fn archive(&self, job_id: &str) -> Job {
        self.jobs.record_archive(job_id, "archive-1").await.unwrap()
    }

    /// Starts a restore of an archived job (as util records it).
    pub async fn restoring(&self, job_id: &str) -> Job {
        self.jobs
            .record_retrieval(job_id, "archive-1", "retrieval-1")
            .await
            .unwrap()
    }

    /// The user as the store has them now.
    pub async fn user(&self, user_id: &str) -> User {
        self.users.get(user_id).await.unwrap().unwrap()
    }
}

/// A browser: cookies, and the form token of the last page it read.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: Vec<String>,
    /// The form token of the sign-in page this browser was given.
    pub token: String,
}

impl Browser<'_> {
    pub async fn get(&self, path: &str) -> Answer {
        self.app.get(path, &self.cookies).await
    }

    /// A urlencoded form post, exactly these fields (the token is one).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, self.cookies.join("; "))
            .body(Body::from(body))
            .unwrap();
        self.app.send(request).await
    }

    /// A multipart post: text fields in order, then the file.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &[u8]),
    ) -> Answer {
        let (content_type, body) = multipart(fields, file);
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::COOKIE, self.cookies.join("; "))
            .body(Body::from(body))
            .unwrap();
        self.app.send(request).await
    }
}

/// A user signed in with the session cookie (crates.io's MockCookieUser).
pub struct CookieUser<'a> {
    pub browser: Browser<'a>,
    pub user: User,
}

impl CookieUser<'_> {
    pub async fn get(&self, path: &str) -> Answer {
        self.browser.get(path).await
    }

    /// A form post carrying this browser's form token first.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf_token", self.browser.token.as_str())];
        all.extend_from_slice(fields);
        self.browser.post_form(path, &all).await
    }

    /// An API call with the session cookie, with or without the page's
    /// token in `X-CSRF-Token`.
    pub async fn api(&self, method: Method, path: &str, with_header: bool) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, self.browser.cookies.join("; "));
        if with_header {
            request = request.header("x-csrf-token", &self.browser.token);
        }
        self.browser
            .app
            .send(request.body(Body::empty()).unwrap())
            .await
    }
}

/// A program with an API token (crates.io's MockTokenUser).
pub struct TokenUser<'a> {
    pub app: &'a TestApp,
    pub user: User,
    pub token: String,
}

impl TokenUser<'_> {
    /// A call with `Authorization: Bearer`, and these cookies besides.
    pub async fn call(&self, method: Method, path: &str, cookies: &[String]) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        self.app.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, &[]).await
    }

    /// Uploads `bytes` as the multipart field `file` named `name`.
    pub async fn upload(&self, name: &str, bytes: &[u8]) -> Answer {
        let (content_type, body) = multipart(&[], (name, bytes));
        let request = Request::post("/api/v1/jobs")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.app.send(request).await
    }
}

/// A multipart body: text fields in order, then `file`.
pub fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "gasTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: text/plain\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A VCF the upload checks accept.
pub const VCF: &[u8] = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\t.\t.\n";
