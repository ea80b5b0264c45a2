//! The web app's rules at its HTTP edge, on the embedded adapters, with no
//! socket: the router is called in-process. The whole-system journeys
//! (annotate, archive, restore, pay) stay in `crates/gas/tests`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use gas_jobs::{now_epoch, JobStore, Role, User, UserStore};
use gas_web::payment::{
    Checkout, PaymentError, PaymentEvent, PlanChange, SubscribeForm, WebhookError,
};
use gas_web::PaymentProvider;

use support::{TestApp, VCF, WINDOW};

// --- CSRF ---

#[tokio::test]
async fn forms_without_the_right_token_are_refused_before_any_handler() {
    let app = TestApp::new();
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let tokens = || async { app.users.list_tokens(&ada.user.user_id).await.unwrap() };

    // No token, a wrong one, a token of another browser's cookie.
    let other = app.browser().await;
    for (what, fields) in [
        ("no token", vec![("name", "laptop")]),
        (
            "a wrong token",
            vec![("csrf_token", "0000"), ("name", "laptop")],
        ),
        (
            "another browser's token",
            vec![("csrf_token", other.token.as_str()), ("name", "laptop")],
        ),
    ] {
        let answer = ada.browser.post_form("/profile/tokens", &fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}");
        assert!(answer.body.contains("This form has expired"), "{what}");
    }
    assert!(tokens().await.is_empty(), "no token was made");

    // A body of another type is refused whatever it carries.
    let json = Request::post("/profile/tokens")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, ada.browser.cookies.join("; "))
        .body(Body::from(format!(
            r#"{{"csrf_token": "{}", "name": "laptop"}}"#,
            ada.browser.token
        )))
        .unwrap();
    assert_eq!(app.send(json).await.status, StatusCode::FORBIDDEN);

    // Sign-out without the token leaves the session alive.
    let answer = ada.browser.post_form("/logout", &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(ada.get("/profile").await.status, StatusCode::OK);

    // With the token, the same form works.
    let answer = ada
        .post_form("/profile/tokens", &[("name", "laptop")])
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(tokens().await.len(), 1);
}

#[tokio::test]
async fn an_upload_must_carry_the_token_as_its_first_field() {
    let app = TestApp::new();
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let token = ada.browser.token.clone();
    let no_token = ada
        .browser
        .post_multipart("/annotate", &[], ("a.vcf", VCF))
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = ada
        .browser
        .post_multipart("/annotate", &[("csrf_token", "nope")], ("a.vcf", VCF))
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let listed = app.jobs.list_for_user(&ada.user.user_id, 10, None).await;
    assert!(listed.unwrap().items.is_empty(), "no job was made");

    let ok = ada
        .browser
        .post_multipart("/annotate", &[("csrf_token", &token)], ("a.vcf", VCF))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let jobs = app.jobs.list_for_user(&ada.user.user_id, 10, None).await;
    let jobs = jobs.unwrap().items;
    assert_eq!(jobs.len(), 1);
    assert_eq!(ok.location(), format!("/annotations/{}", jobs[0].job_id));
    assert_eq!(jobs[0].input_file_name, "a.vcf");
}

// --- Who is signed in ---

#[tokio::test]
async fn signed_in_pages_send_others_to_sign_in_and_back() {
    let app = TestApp::new();
    let stale = vec!["gas_session=0123456789abcdef".to_string()];
    for path in [
        "/annotate",
        "/annotations",
        "/annotations/some-job?tab=log",
        "/annotations/some-job/log",
        "/subscribe",
        "/profile",
    ] {
        for cookies in [&Vec::new(), &stale] {
            let answer = app.get(path, cookies).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
            let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            assert_eq!(answer.location(), format!("/login?next={next}"), "{path}");
        }
    }
    // Pages for everyone stay open, and show no one signed in.
    let home = app.get("/", &stale).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("href=\"/login\""));

    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let page = ada.get("/annotations").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ada@example.org"));
    // Signed in, the sign-in page sends the person on.
    let login = ada.get("/login?next=%2Fprofile").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(login.location(), "/profile");
}

#[tokio::test]
async fn signing_out_ends_the_session_everywhere() {
    let app = TestApp::new();
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let answer = ada.post_form("/logout", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.set_cookie("gas_session").as_deref(), Some(""));
    // The old cookie, replayed, names no session any more.
    assert_eq!(ada.get("/profile").await.status, StatusCode::SEE_OTHER);
    let api = ada.api(Method::GET, "/api/v1/me", false).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

// --- The API: Bearer token, or cookie and header ---

#[tokio::test]
async fn the_api_takes_a_bearer_token_without_a_header() {
    let app = TestApp::new();
    let bo = app.token_user("bo@example.org", Role::Free).await;
    let me = bo.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "bo@example.org");
    assert!(me.json().get("api_token_sha256").is_none());

    // A state-changing call needs no CSRF header with a token: no browser
    // sends one by itself.
    let upgraded = bo.call(Method::POST, "/api/v1/me/upgrade", &[]).await;
    assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.body);
    assert_eq!(upgraded.json()["role"], "premium");
    assert_eq!(app.user(&bo.user.user_id).await.role, Role::Premium);

    // The token decides, whatever cookie comes with it.
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let both = bo
        .call(Method::GET, "/api/v1/me", &ada.browser.cookies)
        .await;
    assert_eq!(both.json()["email"], "bo@example.org");
}

#[tokio::test]
async fn the_api_refuses_callers_it_cannot_name() {
    let app = TestApp::new();
    let anonymous = app.get("/api/v1/jobs", &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(anonymous.reason(), "unauthorized");
    let forged = Request::get("/api/v1/jobs")
        .header(header::AUTHORIZATION, "Bearer gas_0000")
        .body(Body::empty())
        .unwrap();
    let forged = app.send(forged).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    // The document is public.
    let doc = app.get("/api/v1/openapi.json", &[]).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json()["openapi"], "3.0.3");
}

#[tokio::test]
async fn a_cookie_call_that_changes_state_needs_the_page_token_in_a_header() {
    let app = TestApp::new();
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    // Reading needs only the cookie (the pages' scripts do it).
    let me = ada.api(Method::GET, "/api/v1/me", false).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["user_id"], ada.user.user_id.as_str());

    let refused = ada.api(Method::POST, "/api/v1/me/upgrade", false).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.reason(), "csrf");
    assert_eq!(app.user(&ada.user.user_id).await.role, Role::Free);

    let upgraded = ada.api(Method::POST, "/api/v1/me/upgrade", true).await;
    assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.body);
    assert_eq!(app.user(&ada.user.user_id).await.role, Role::Premium);
}

#[tokio::test]
async fn an_api_upload_becomes_a_job_the_owner_lists() {
    let app = TestApp::new();
    let bo = app.token_user("bo@example.org", Role::Free).await;
    let created = bo.upload("calls.vcf", VCF).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let job = created.json();
    assert_eq!(job["job_status"], "PENDING");
    assert_eq!(job["input_file_name"], "calls.vcf");
    assert!(job["results_state"].is_null());
    let listed = bo.get("/api/v1/jobs").await.json();
    assert_eq!(listed["jobs"][0]["job_id"], job["job_id"]);

    // What the upload checks refuse, as the API words it.
    let not_vcf = bo.upload("calls.vcf", b"PK\x03\x04 a spreadsheet").await;
    assert_eq!(not_vcf.status, StatusCode::BAD_REQUEST);
    assert!(not_vcf.json()["error"]
        .as_str()
        .unwrap()
        .contains("not a VCF"));
    let too_large = bo.upload("big.vcf", &[b'#'; 20_000]).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.reason(), "too_large");
    let listed = bo.get("/api/v1/jobs").await.json();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 1);
}

// --- The paywall ---

#[tokio::test]
async fn a_free_user_gets_results_only_within_the_window() {
    let app = TestApp::new();
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let now = now_epoch();
    let fresh = app.completed_job(&ada.user, now).await;
    let old = app.completed_job(&ada.user, now - WINDOW - 1).await;

    // Within the window: a download link, and the API's redirect.
    let page = ada.get(&format!("/annotations/{}", fresh.job_id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"download\""));
    assert!(page.body.contains("id=\"countdown\""));
    assert!(page.body.contains("data-phase=\"ready\""));
    let results = ada
        .api(
            Method::GET,
            &format!("/api/v1/jobs/{}/results", fresh.job_id),
            false,
        )
        .await;
    assert!(results.status.is_redirection(), "{}", results.status);
    assert!(results.location().starts_with(support::PUBLIC_URL));
    let json = ada
        .api(
            Method::GET,
            &format!("/api/v1/jobs/{}", fresh.job_id),
            false,
        )
        .await
        .json();
    assert_eq!(json["results_state"], "available");
    assert_eq!(json["download_until"], now + WINDOW);

    // After it: the upgrade notice, a refusal, and the page's download
    // sends the person back to the job page.
    let page = ada.get(&format!("/annotations/{}", old.job_id)).await;
    assert!(page.body.contains("id=\"upgrade-notice\""));
    assert!(!page.body.contains("id=\"download\""));
    let results = ada
        .api(
            Method::GET,
            &format!("/api/v1/jobs/{}/results", old.job_id),
            false,
        )
        .await;
    assert_eq!(results.status, StatusCode::FORBIDDEN);
    assert_eq!(results.reason(), "upgrade");
    let download = ada
        .get(&format!("/annotations/{}/download", old.job_id))
        .await;
    assert_eq!(download.status, StatusCode::SEE_OTHER);
    assert_eq!(download.location(), format!("/annotations/{}", old.job_id));

    // Archived is over for a free user, even within the window.
    app.archive(&fresh.job_id).await;
    let results = ada
        .api(
            Method::GET,
            &format!("/api/v1/jobs/{}/results", fresh.job_id),
            false,
        )
        .await;
    assert_eq!(results.status, StatusCode::FORBIDDEN);
    assert_eq!(results.reason(), "upgrade");
    let panel = ada
        .get(&format!("/annotations/{}/panel", fresh.job_id))
        .await;
    assert!(panel.body.contains("data-phase=\"upgrade\""));
    assert_eq!(panel.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn a_premium_user_has_no_window_and_waits_for_restores() {
    let app = TestApp::new();
    let bo = app.token_user("bo@example.org", Role::Premium).await;
    let old = app.completed_job(&bo.user, now_epoch() - 10 * WINDOW).await;
    let results = bo
        .get(&format!("/api/v1/jobs/{}/results", old.job_id))
        .await;
    assert!(results.status.is_redirection(), "{}", results.status);
    let job = bo.get(&format!("/api/v1/jobs/{}", old.job_id)).await.json();
    assert!(job.get("download_until").is_none());

    app.archive(&old.job_id).await;
    let archived = bo
        .get(&format!("/api/v1/jobs/{}/results", old.job_id))
        .await;
    assert_eq!(archived.status, StatusCode::CONFLICT);
    assert_eq!(archived.reason(), "restoring");
    let job = bo.get(&format!("/api/v1/jobs/{}", old.job_id)).await.json();
    assert_eq!(job["results_state"], "archived");

    app.restoring(&old.job_id).await;
    let job = bo.get(&format!("/api/v1/jobs/{}", old.job_id)).await.json();
    assert_eq!(job["results_state"], "restoring");
    let restoring = bo
        .get(&format!("/api/v1/jobs/{}/results", old.job_id))
        .await;
    assert_eq!(restoring.reason(), "restoring");
    assert!(restoring.json()["error"]
        .as_str()
        .unwrap()
        .contains("being restored"));
}

#[tokio::test]
async fn a_job_not_yet_done_has_no_results_or_log() {
    let app = TestApp::new();
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let created = ada
        .browser
        .post_multipart(
            "/annotate",
            &[("csrf_token", &ada.browser.token)],
            ("a.vcf", VCF),
        )
        .await;
    let job_page = created.location().to_string();
    let job_id = job_page.rsplit('/').next().unwrap();
    let page = ada.get(&job_page).await;
    assert!(page.body.contains("data-phase=\"queued\""));
    assert!(page.body.contains("Waiting for an annotator"));
    for (path, reason) in [("results", "not_ready"), ("log", "not_ready")] {
        let answer = ada
            .api(Method::GET, &format!("/api/v1/jobs/{job_id}/{path}"), false)
            .await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{path}");
        assert_eq!(answer.reason(), reason, "{path}");
        assert!(answer.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("the job is PENDING"));
    }
    let log = ada.get(&format!("{job_page}/log")).await;
    assert_eq!(log.status, StatusCode::CONFLICT);
    assert!(log.body.contains("the log is written when the job ends"));
}

// --- The variant table ---

#[tokio::test]
async fn the_variant_table_says_why_it_is_refused_and_what_brings_it_back() {
    let app = TestApp::new();
    let variants = |id: &str| format!("/annotations/{id}/variants");

    // A free user after the window: why, and the upgrade (no form, no table).
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let old = app.completed_job(&ada.user, now_epoch() - WINDOW - 1).await;
    let page = ada.get(&variants(&old.job_id)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("id=\"upgrade-notice\""), "{}", page.body);
    assert!(page
        .body
        .contains("free download window for these results is over"));
    assert!(page
        .body
        .contains("<a class=\"button\" href=\"/subscribe\">"));
    assert!(!page.body.contains("id=\"variant-table\""));
    assert!(!page.body.contains("id=\"variant-filters\""));
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");

    // A bad filter is said above the form, which keeps its values.
    let fresh = app.completed_job(&ada.user, now_epoch()).await;
    let page = ada
        .get(&format!(
            "{}?gene=MT-&impact=SEVERE",
            variants(&fresh.job_id)
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("id=\"variant-filters\""));
    assert!(page.body.contains("value=\"MT-\""));
    assert!(page
        .body
        .contains("is not one of HIGH, MODERATE, LOW, MODIFIER"));
    assert!(!page
        .body
        .contains("id=\"variants-error\" role=\"alert\" hidden"));

    // A premium user's job without an index says so; archived or coming
    // back, the page says "restoring" and that the table comes back.
    let bo = app.cookie_user("bo@example.org", Role::Premium).await;
    let job = app.completed_job(&bo.user, now_epoch() - 10 * WINDOW).await;
    let page = bo.get(&variants(&job.job_id)).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("id=\"variants-refused\""));
    assert!(page.body.contains("this job has no variant table"));
    app.archive(&job.job_id).await;
    for restore_started in [false, true] {
        if restore_started {
            app.restoring(&job.job_id).await;
        }
        let page = bo.get(&variants(&job.job_id)).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(
            page.body.contains("id=\"restoring-notice\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("The table comes back here when they do"));
        assert!(page
            .body
            .contains(&format!("data-src=\"/annotations/{}/panel\"", job.job_id)));
        assert!(!page.body.contains("id=\"upgrade-notice\""));
        assert!(!page.body.contains("id=\"variant-table\""));
    }

    // The page's script is served, from this origin (the CSP allows no
    // other and no inline script).
    assert!(page_script(&app).await.contains("history.pushState"));
}

async fn page_script(app: &TestApp) -> String {
    let js = app.get("/assets/variants.js", &[]).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    js.body
}

// --- Other people's jobs ---

#[tokio::test]
async fn another_users_job_is_not_found_on_every_page_and_call() {
    let app = TestApp::new();
    let owner = app.cookie_user("owner@example.org", Role::Premium).await;
    let job = app.completed_job(&owner.user, now_epoch()).await;
    let id = &job.job_id;
    let pages = [
        format!("/annotations/{id}"),
        format!("/annotations/{id}/panel"),
        format!("/annotations/{id}/log"),
        format!("/annotations/{id}/download"),
        format!("/annotations/{id}/charts/classes.svg"),
    ];
    let calls = [
        format!("/api/v1/jobs/{id}"),
        format!("/api/v1/jobs/{id}/results"),
        format!("/api/v1/jobs/{id}/log"),
    ];
    // The owner sees each.
    for path in &pages {
        let answer = owner.get(path).await;
        assert!(
            answer.status == StatusCode::OK || answer.status.is_redirection(),
            "{path}: {}",
            answer.status
        );
    }
    for path in &calls {
        let answer = owner.api(Method::GET, path, false).await;
        assert!(
            answer.status == StatusCode::OK || answer.status.is_redirection(),
            "{path}: {}",
            answer.status
        );
    }
    // Anyone else gets what a missing job gets, by cookie or by token.
    let eve = app.cookie_user("eve@example.org", Role::Premium).await;
    let mallory = app.token_user("mallory@example.org", Role::Premium).await;
    for path in &pages {
        let answer = eve.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(answer.body.contains("not yours to see"), "{path}");
        let missing = eve.get(&path.replace(id.as_str(), "no-such-job")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.body, answer.body, "{path}: alike");
    }
    for path in &calls {
        let answer = mallory.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.reason(), "not_found", "{path}");
        let missing = mallory.get(&path.replace(id.as_str(), "no-such-job")).await;
        assert_eq!(missing.body, answer.body, "{path}: alike");
        let by_cookie = eve.api(Method::GET, path, false).await;
        assert_eq!(by_cookie.status, StatusCode::NOT_FOUND, "{path}");
    }
    // And the list shows only one's own.
    let listed = mallory.get("/api/v1/jobs").await.json();
    assert!(listed["jobs"].as_array().unwrap().is_empty());
    let page = eve.get("/annotations").await;
    assert!(!page.body.contains(id.as_str()));
}

// --- The payment provider's webhook ---

/// A provider whose notifications are signed with a fixed header, and
/// every event of which makes its user premium; it counts what it is asked.
#[derive(Default)]
struct TestProvider {
    plan_changes: AtomicUsize,
}

#[async_trait]
impl PaymentProvider for TestProvider {
    fn name(&self) -> &str {
        "test"
    }

    async fn start_subscription(
        &self,
        _user: &User,
        _form: &SubscribeForm,
    ) -> Result<Checkout, PaymentError> {
        Err(PaymentError::Refused("cards only".into()))
    }

    fn verify_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        if headers.get("x-test-signature").map(|v| v.as_bytes()) != Some(b"good") {
            return Err(WebhookError::Signature("not signed".into()));
        }
        let body: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(PaymentEvent {
            id: body["id"].as_str().unwrap_or_default().to_string(),
            kind: "subscription.paid".into(),
            body,
        })
    }

    async fn plan_change(&self, event: &PaymentEvent) -> Result<Option<PlanChange>, PaymentError> {
        self.plan_changes.fetch_add(1, Ordering::SeqCst);
        Ok(Some(PlanChange {
            user_id: event.body["user_id"].as_str().unwrap_or_default().into(),
            role: Role::Premium,
        }))
    }
}

async fn post_webhook(app: &TestApp, body: &str, signature: Option<&str>) -> support::Answer {
    let mut request =
        Request::post("/stripe/webhook").header(header::CONTENT_TYPE, "application/json");
    if let Some(signature) = signature {
        request = request
            .header("x-test-signature", signature)
            .header("stripe-signature", signature);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

#[tokio::test]
async fn a_replayed_payment_event_changes_nothing() {
    let provider = Arc::new(TestProvider::default());
    let app = TestApp::with_payments(Arc::clone(&provider) as _);
    let ada = app.account("ada@example.org", Role::Free).await;
    let body = format!(r#"{{"id": "evt_1", "user_id": "{}"}}"#, ada.user_id);

    let forged = post_webhook(&app, &body, Some("bad")).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(forged.json()["received"], false);
    assert_eq!(provider.plan_changes.load(Ordering::SeqCst), 0);
    assert_eq!(app.user(&ada.user_id).await.role, Role::Free);

    let first = post_webhook(&app, &body, Some("good")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["outcome"], "premium");
    assert_eq!(app.user(&ada.user_id).await.role, Role::Premium);
    assert!(app.users.event_recorded("evt_1").await.unwrap());

    // The plan changes meanwhile; the replay must not undo that.
    app.users.set_role(&ada.user_id, Role::Free).await.unwrap();
    let replay = post_webhook(&app, &body, Some("good")).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.json()["outcome"], "duplicate");
    assert_eq!(app.user(&ada.user_id).await.role, Role::Free);
    assert_eq!(
        provider.plan_changes.load(Ordering::SeqCst),
        1,
        "a replay is not even looked at"
    );

    // An event for no user of ours is acknowledged and ignored.
    let stranger = post_webhook(
        &app,
        r#"{"id": "evt_2", "user_id": "nobody"}"#,
        Some("good"),
    )
    .await;
    assert_eq!(stranger.status, StatusCode::OK);
    assert_eq!(stranger.json()["outcome"], "unknown user");
}

#[tokio::test]
async fn stripe_signatures_are_checked_and_events_handled_once() {
    let secret = "whsec_router_tests";
    let stripe = gas_web::stripe::StripePayments::new(&gas_web::stripe::StripeSettings {
        secret_key: "sk_test_router".into(),
        webhook_secret: secret.into(),
        price_id: "price_premium".into(),
        publishable_key: None,
        // Never called: the events below change no plan.
        api_base: "http://127.0.0.1:9".into(),
    })
    .unwrap();
    let app = TestApp::with_payments(Arc::new(stripe));
    let event = |id: &str| {
        format!(r#"{{"id": "{id}", "type": "charge.succeeded", "data": {{"object": {{}}}}}}"#)
    };
    let sign = |body: &str, secret: &str, t: i64| gas_web::stripe::sign(body.as_bytes(), secret, t);
    let now = now_epoch();
    let body = event("evt_stripe_1");
    for (what, signature) in [
        ("another secret", Some(sign(&body, "whsec_forged", now))),
        ("stale", Some(sign(&body, secret, now - 400))),
        ("no signature", None),
        ("another body's", Some(sign(&event("evt_x"), secret, now))),
    ] {
        let mut request = Request::post("/stripe/webhook");
        if let Some(signature) = &signature {
            request = request.header("stripe-signature", signature);
        }
        let answer = app
            .send(request.body(Body::from(body.clone())).unwrap())
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}");
    }
    assert!(!app.users.event_recorded("evt_stripe_1").await.unwrap());

    let signed = || {
        Request::post("/stripe/webhook")
            .header("stripe-signature", sign(&body, secret, now))
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let first = app.send(signed()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["outcome"], "ignored");
    assert!(app.users.event_recorded("evt_stripe_1").await.unwrap());
    let replay = app.send(signed()).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.json()["outcome"], "duplicate");
}

#[tokio::test]
async fn without_a_provider_that_takes_them_the_webhook_is_not_there() {
    let app = TestApp::new();
    let answer = post_webhook(&app, r#"{"id": "evt_1"}"#, Some("good")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refused_payment_leaves_the_plan_as_it_was() {
    let app = TestApp::with_payments(Arc::new(TestProvider::default()));
    let ada = app.cookie_user("ada@example.org", Role::Free).await;
    let page = ada.post_form("/subscribe", &[]).await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED);
    assert!(page
        .body
        .contains("The payment was not accepted (cards only)"));
    let api = ada.api(Method::POST, "/api/v1/me/upgrade", true).await;
    assert_eq!(api.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(api.reason(), "payment_required");
    assert_eq!(app.user(&ada.user.user_id).await.role, Role::Free);
}
