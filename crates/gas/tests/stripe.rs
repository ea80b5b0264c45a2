//! Premium through Stripe, against localstripe (PyPI: a fake but stateful
//! Stripe server) at `GAS_TEST_STRIPE_URL`, which `scripts/localstripe.sh`
//! starts on 127.0.0.1. The embedded system runs in-process with the Stripe
//! provider pointed at it, and localstripe delivers its signed webhooks to
//! the web service's `POST /stripe/webhook`:
//! - a free user with an archived job subscribes on the page (the card as
//!   Stripe.js would make it), becomes premium, Stripe's events arrive
//!   signed and are recorded, and the results come back with the same
//!   bytes; the subscription is cancelled at Stripe, its event makes the
//!   user free, the job page shows a fresh window, and the results are
//!   archived after it;
//! - a subscription made at Stripe alone (no page) makes its user premium
//!   through the webhook;
//! - posts with a bad, stale or missing signature, or a malformed body, are
//!   refused, and a replayed event is not handled again: role and jobs stay
//!   as they were.
//!
//! Without `GAS_TEST_STRIPE_URL` every test prints a notice and passes,
//! unless `GAS_REQUIRE_STRIPE_TESTS=1`, which makes it a failure.

mod support;

use std::time::{Duration, Instant};

use gas::config::{Config, Secret};
use gas::dev::{self, Running, Services};
use gas_jobs::{now_epoch, Job, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::browser::Browser;

const SECRET_KEY: &str = "sk_test_gas";
const PUBLISHABLE_KEY: &str = "pk_test_gas";
const WINDOW_SECS: u64 = 4;

fn stripe_url() -> Option<String> {
    match std::env::var("GAS_TEST_STRIPE_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("GAS_REQUIRE_STRIPE_TESTS").as_deref() != Ok("1"),
                "GAS_REQUIRE_STRIPE_TESTS=1 but GAS_TEST_STRIPE_URL is not set: \
                 start localstripe with `eval \"$(bash scripts/localstripe.sh)\"`"
            );
            eprintln!(
                "notice: GAS_TEST_STRIPE_URL is not set; skipping the Stripe tests \
                 (eval \"$(bash scripts/localstripe.sh)\" starts localstripe)"
            );
            None
        }
    }
}

/// localstripe, as an operator's dashboard and Stripe.js would use it.
struct Stripe {
    http: reqwest::Client,
    base: String,
}

impl Stripe {
    fn new(base: String) -> Self {
        Stripe {
            http: reqwest::Client::new(),
            base,
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.bearer_auth(SECRET_KEY).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "localstripe answered {status}: {body}");
        body
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        self.call(self.http.post(format!("{}{path}", self.base)).form(form))
            .await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// A Premium product and its monthly price (a plan, which is what
    /// localstripe knows; Stripe takes either id).
    async fn premium_price(&self) -> String {
        let product = self
            .post(
                "/v1/products",
                &[("name", "GAS Premium"), ("type", "service")],
            )
            .await;
        let id = format!("price_gas_{}", uuid::Uuid::new_v4().simple());
        self.post(
            "/v1/plans",
            &[
                ("id", &id),
                ("product", product["id"].as_str().unwrap()),
                ("amount", "999"),
                ("currency", "usd"),
                ("interval", "month"),
            ],
        )
        .await;
        id
    }

    /// A card as Stripe.js makes it in the browser: a PaymentMethod id.
    async fn card(&self, number: &str) -> String {
        let pm = self
            .post(
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        pm["id"].as_str().unwrap().to_string()
    }

    /// Sends every event to `url`, signed with `secret`.
    async fn deliver_webhooks(&self, url: &str, secret: &str) {
        let name = format!("gas-{}", uuid::Uuid::new_v4().simple());
        let response = self
            .http
            .post(format!("{}/_config/webhooks/{name}", self.base))
            .form(&[("url", url), ("secret", secret)])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "webhook config: {response:?}"
        );
    }

    /// The ids of the events of `kind` about `object_id`.
    async fn events(&self, kind: &str, object_id: &str) -> Vec<String> {
        let list = self.get(&format!("/v1/events?type={kind}&limit=100")).await;
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["data"]["object"]["id"] == object_id)
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    }
}

struct System {
    running: Running,
    base: String,
    webhook_secret: String,
    _data: tempfile::TempDir,
}

async fn start(stripe: &Stripe) -> System {
    let data = tempfile::tempdir().unwrap();
    let price = stripe.premium_price().await;
    let webhook_secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
    let config = Config {
        data_dir: data.path().to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        free_access_window: WINDOW_SECS,
        drain_interval: 1,
        restore_poll_interval: 1,
        visibility_timeout: 5,
        expedited_retrieval_ms: 300,
        stripe_secret_key: Some(Secret(SECRET_KEY.into())),
        stripe_webhook_secret: Some(Secret(webhook_secret.clone())),
        stripe_price_id: Some(price),
        stripe_publishable_key: Some(PUBLISHABLE_KEY.into()),
        stripe_api_base: stripe.base.clone(),
        ..Config::default()
    };
    let running = dev::start(config, Services::ALL).await.unwrap();
    let base = format!("http://{}", running.web_addr.unwrap());
    System {
        running,
        base,
        webhook_secret,
        _data: data,
    }
}

impl System {
    async fn job(&self, job_id: &str) -> Job {
        self.running.ports.jobs.get(job_id).await.unwrap().unwrap()
    }

    async fn user_id(&self, email: &str) -> String {
        self.running
            .ports
            .users
            .find_by_email(email)
            .await
            .unwrap()
            .unwrap()
            .user_id
    }

    async fn role(&self, user_id: &str) -> Role {
        self.running
            .ports
            .users
            .get(user_id)
            .await
            .unwrap()
            .unwrap()
            .role
    }

    async fn wait_job(&self, job_id: &str, what: &str, done: impl Fn(&Job) -> bool) -> Job {
        let start = Instant::now();
        loop {
            let job = self.job(job_id).await;
            if done(&job) {
                return job;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_role(&self, user_id: &str, role: Role) {
        let start = Instant::now();
        while self.role(user_id).await != role {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the user never became {role:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every one of `events` was recorded as handled.
    async fn wait_recorded(&self, events: &[String]) {
        let start = Instant::now();
        for event in events {
            while !self
                .running
                .ports
                .users
                .event_recorded(event)
                .await
                .unwrap()
            {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "event {event} never handled"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Posts `body` to the webhook with `signature` as Stripe-Signature.
    async fn post_webhook(&self, body: &str, signature: Option<String>) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/stripe/webhook", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The results through the job page's download link; `None` when the page
/// sends the user back to the job instead.
async fn download(browser: &mut Browser, job_id: &str) -> Option<Vec<u8>> {
    let page = browser
        .get(&format!("/annotations/{job_id}/download"))
        .await;
    let location = page.location.expect("a redirect");
    if location.starts_with("/annotations/") {
        return None;
    }
    let url = if location.starts_with('/') {
        format!("{}{location}", browser.base)
    } else {
        location
    };
    let file = reqwest::get(&url).await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    Some(file.bytes().await.unwrap().to_vec())
}

/// A free user with an archived job subscribes, is premium, gets the same
/// bytes back; Stripe cancels, the user is free, the job gets a fresh
/// window and is archived after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_restore_cancel_and_a_fresh_window() {
    let Some(url) = stripe_url() else { return };
    let stripe = Stripe::new(url);
    let system = start(&stripe).await;
    stripe
        .deliver_webhooks(
            &format!("{}/stripe/webhook", system.base),
            &system.webhook_secret,
        )
        .await;

    let email = format!("ada-{}@example.org", uuid::Uuid::new_v4().simple());
    let mut browser = Browser::new(&system.base);
    browser.sign_up(&email).await;
    let user_id = system.user_id(&email).await;
    let job_id = browser.submit_job().await;
    let completed = system
        .wait_job(&job_id, "completion", |j| j.complete_time.is_some())
        .await;
    let bytes = download(&mut browser, &job_id)
        .await
        .expect("a download within the window");
    system
        .wait_job(&job_id, "the archive", |j| {
            j.results_file_archive_id.is_some()
        })
        .await;
    assert_eq!(download(&mut browser, &job_id).await, None, "archived");

    // The subscribe page collects the card with (localstripe's) Stripe.js.
    let page = browser.get("/subscribe").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains(&format!("data-card-key=\"{PUBLISHABLE_KEY}\"")));
    assert!(page
        .body
        .contains(&format!("{}/js.stripe.com/v3/", stripe.base)));
    // A declined card: refused, nothing changes.
    let declined = stripe.card("4000000000000341").await;
    let page = browser
        .submit("/subscribe", "/subscribe", &[("payment_method", &declined)])
        .await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED, "{}", page.body);
    assert!(page.body.contains("not accepted"), "{}", page.body);
    assert_eq!(system.role(&user_id).await, Role::Free);

    let card = stripe.card("4242424242424242").await;
    let page = browser
        .submit("/subscribe", "/subscribe", &[("payment_method", &card)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/subscribe?welcome=true"));
    assert_eq!(system.role(&user_id).await, Role::Premium);

    // Stripe's signed events about the subscription arrive and are handled.
    let customers = stripe
        .get(&format!("/v1/customers?email={email}&limit=10"))
        .await;
    let customer = customers["data"][0]["id"].as_str().unwrap().to_string();
    let subs = stripe
        .get(&format!(
            "/v1/subscriptions?customer={customer}&status=all&limit=10"
        ))
        .await;
    let subs = subs["data"].as_array().unwrap();
    let live: Vec<&Value> = subs.iter().filter(|s| s["status"] == "active").collect();
    assert_eq!(live.len(), 1, "one live subscription: {subs:?}");
    let sub_id = live[0]["id"].as_str().unwrap().to_string();
    assert_eq!(live[0]["metadata"]["user_id"], user_id.as_str());
    let created = stripe
        .events("customer.subscription.created", &sub_id)
        .await;
    assert_eq!(created.len(), 1);
    system.wait_recorded(&created).await;
    assert_eq!(system.role(&user_id).await, Role::Premium);

    // The archived results come back, byte for byte.
    system
        .wait_job(&job_id, "the restore", |j| {
            j.results_file_archive_id.is_none()
        })
        .await;
    assert_eq!(
        download(&mut browser, &job_id).await.as_deref(),
        Some(&bytes[..])
    );
    let page = browser.get(&format!("/annotations/{job_id}")).await;
    assert!(!page.body.contains("id=\"window\""), "premium: no window");

    // Stripe cancels the subscription: its event makes the user free.
    let cancelled_at = now_epoch();
    stripe
        .call(
            stripe
                .http
                .delete(format!("{}/v1/subscriptions/{sub_id}", stripe.base)),
        )
        .await;
    system.wait_role(&user_id, Role::Free).await;
    let deleted = stripe
        .events("customer.subscription.deleted", &sub_id)
        .await;
    system.wait_recorded(&deleted).await;

    // The job's fresh window: recorded, shown, and the download works in it.
    let job = system
        .wait_job(&job_id, "a fresh window", |j| j.window_started.is_some())
        .await;
    let started = job.window_started.unwrap();
    assert!(
        started >= cancelled_at,
        "the window starts at the downgrade"
    );
    assert!(started > completed.complete_time.unwrap());
    assert!(job.archive_execution_id.is_some(), "its archive timer");
    let until = started + WINDOW_SECS as i64;
    let page = browser.get(&format!("/annotations/{job_id}")).await;
    if now_epoch() < until {
        assert!(
            page.body.contains(&format!("data-until=\"{until}\"")),
            "the page shows the new deadline {until}: {}",
            page.body
        );
    }
    let api = browser.get(&format!("/api/v1/jobs/{job_id}")).await;
    let api: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(api["download_until"], json!(until));
    assert_eq!(api["window_started"], json!(started));

    // After the window the results are archived again.
    let archived = system
        .wait_job(&job_id, "the archive after the fresh window", |j| {
            j.results_file_archive_id.is_some()
        })
        .await;
    assert!(
        now_epoch() >= until,
        "archived at {} before the window's end {until}",
        now_epoch()
    );
    assert_eq!(archived.window_started, Some(started));
    assert_eq!(download(&mut browser, &job_id).await, None);
    let page = browser.get(&format!("/annotations/{job_id}")).await;
    assert!(page.body.contains("upgrade"), "{}", page.body);
    system.running.stop().await;
}

/// What localstripe sends, signed as it would be; the tests make events
/// themselves for the refusals, so they do not depend on delivery timing.
fn event(id: &str, kind: &str, sub_id: &str) -> String {
    json!({
        "id": id,
        "object": "event",
        "type": kind,
        "created": now_epoch(),
        "data": {"object": {"id": sub_id, "object": "subscription"}},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_unsigned_and_replayed_webhooks_change_nothing() {
    let Some(url) = stripe_url() else { return };
    let stripe = Stripe::new(url);
    // No deliveries from localstripe to this system: every post is the
    // test's own.
    let system = start(&stripe).await;
    let email = format!("bob-{}@example.org", uuid::Uuid::new_v4().simple());
    let mut browser = Browser::new(&system.base);
    browser.sign_up(&email).await;
    let user_id = system.user_id(&email).await;
    let job_id = browser.submit_job().await;
    system
        .wait_job(&job_id, "completion", |j| j.archive_execution_id.is_some())
        .await;

    // A live subscription of the user at Stripe (made there, not through
    // the page), so a genuine event about it would make them premium.
    let price = stripe.premium_price().await;
    let card = stripe.card("4242424242424242").await;
    let customer = stripe
        .post(
            "/v1/customers",
            &[
                ("email", &email),
                ("metadata[user_id]", &user_id),
                ("payment_method", &card),
                ("invoice_settings[default_payment_method]", &card),
            ],
        )
        .await;
    let sub = stripe
        .post(
            "/v1/subscriptions",
            &[
                ("customer", customer["id"].as_str().unwrap()),
                ("items[0][plan]", &price),
                ("metadata[user_id]", &user_id),
            ],
        )
        .await;
    assert_eq!(sub["status"], "active");
    let sub_id = sub["id"].as_str().unwrap();

    let before = system.job(&job_id).await;
    let unchanged = |what: &'static str| {
        let system = &system;
        let before = &before;
        let user_id = &user_id;
        let job_id = &job_id;
        async move {
            assert_eq!(system.role(user_id).await, Role::Free, "{what}: role");
            assert_eq!(&system.job(job_id).await, before, "{what}: job");
        }
    };

    let body = event("evt_gas_1", "customer.subscription.created", sub_id);
    let now = now_epoch();
    let secret = system.webhook_secret.clone();
    let sign = |body: &str, secret: &str, t: i64| gas_web::stripe::sign(body.as_bytes(), secret, t);

    for (what, signature) in [
        ("another secret", Some(sign(&body, "whsec_forged", now))),
        ("stale", Some(sign(&body, &secret, now - 400))),
        ("from the future", Some(sign(&body, &secret, now + 400))),
        ("no signature", None),
        ("malformed header", Some("t=abc,v1=00".to_string())),
        (
            "the signature of another body",
            Some(sign(
                &event("evt_gas_1", "customer.subscription.created", "sub_x"),
                &secret,
                now,
            )),
        ),
    ] {
        let (status, _) = system.post_webhook(&body, signature).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        unchanged(what).await;
    }
    assert!(!system
        .running
        .ports
        .users
        .event_recorded("evt_gas_1")
        .await
        .unwrap());

    // Signed but not an event: refused; signed, of a type GAS does not use,
    // or about no user of ours: acknowledged and ignored.
    let (status, _) = system
        .post_webhook("{not json", Some(sign("{not json", &secret, now)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    unchanged("malformed JSON").await;
    let other = event("evt_gas_other", "charge.refunded", sub_id);
    let (status, answer) = system
        .post_webhook(&other, Some(sign(&other, &secret, now)))
        .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    unchanged("an unused event type").await;

    // The genuine event (signed with the rotated-out secret too, as Stripe
    // does during a rotation): premium.
    let signature = format!(
        "{},v1={}",
        sign(&body, "whsec_old", now),
        sign(&body, &secret, now).split_once(",v1=").unwrap().1
    );
    let (status, answer) = system.post_webhook(&body, Some(signature.clone())).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (StatusCode::OK, Some("premium")),
        "{answer}"
    );
    assert_eq!(system.role(&user_id).await, Role::Premium);
    let premium_job = system
        .wait_job(&job_id, "the timer stopped", |j| {
            j.archive_execution_id.is_none()
        })
        .await;

    // Cancelled at Stripe; its event (our own, signed) makes the user free
    // with a fresh window.
    stripe
        .call(
            stripe
                .http
                .delete(format!("{}/v1/subscriptions/{sub_id}", stripe.base)),
        )
        .await;
    let deleted = event("evt_gas_2", "customer.subscription.deleted", sub_id);
    let (status, answer) = system
        .post_webhook(&deleted, Some(sign(&deleted, &secret, now_epoch())))
        .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (StatusCode::OK, Some("free")),
        "{answer}"
    );
    let free_job = system.job(&job_id).await;
    assert!(free_job.window_started.is_some() && free_job.archive_execution_id.is_some());
    assert_ne!(free_job, premium_job);

    // Replays, freshly signed within the tolerance: handled once already,
    // so nothing changes (the first would otherwise read the subscription
    // again; the second would otherwise move the window).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for replay in [&body, &deleted] {
        let (status, answer) = system
            .post_webhook(replay, Some(sign(replay, &secret, now_epoch())))
            .await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (StatusCode::OK, Some("duplicate"))
        );
        assert_eq!(system.role(&user_id).await, Role::Free);
        assert_eq!(
            system.job(&job_id).await,
            free_job,
            "a replay changed the job"
        );
    }

    // An event about a subscription of no user of ours.
    let stranger = stripe
        .post(
            "/v1/subscriptions",
            &[
                ("customer", customer["id"].as_str().unwrap()),
                ("items[0][plan]", &price),
                ("metadata[user_id]", "no-such-user"),
            ],
        )
        .await;
    let unknown = event(
        "evt_gas_3",
        "customer.subscription.updated",
        stranger["id"].as_str().unwrap(),
    );
    let (status, answer) = system
        .post_webhook(&unknown, Some(sign(&unknown, &secret, now_epoch())))
        .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (StatusCode::OK, Some("unknown user"))
    );
    assert_eq!(system.role(&user_id).await, Role::Free);
    system.running.stop().await;
}

/// The paywall holds on the API too: with Stripe configured, a free user's
/// `POST /api/v1/me/upgrade` (Bearer token, or session cookie with its
/// CSRF header) answers 402 and the user stays free; only a card Stripe
/// accepts makes them premium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_grants_premium_only_for_a_payment() {
    let Some(url) = stripe_url() else { return };
    let stripe = Stripe::new(url);
    let system = start(&stripe).await;
    let http = reqwest::Client::new();
    let upgrade = format!("{}/api/v1/me/upgrade", system.base);

    // A Bearer token, no payment: 402, still free.
    let email = format!("bea-{}@example.org", uuid::Uuid::new_v4().simple());
    let users = system.running.ports.users.as_ref();
    let user = gas_web::accounts::create_account(users, &email, Role::Free, None)
        .await
        .unwrap();
    let (token, _) = gas_web::accounts::create_token(users, &user, "test")
        .await
        .unwrap();
    let response = http
        .post(&upgrade)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], "payment_required", "{body}");
    assert_eq!(system.role(&user.user_id).await, Role::Free);

    // A body that is not the documented object: 400, still free.
    let response = http
        .post(&upgrade)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"role":"premium"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(system.role(&user.user_id).await, Role::Free);

    // The browser's session cookie with the page's CSRF header: 402 too.
    let cookie_email = format!("cid-{}@example.org", uuid::Uuid::new_v4().simple());
    let mut browser = Browser::new(&system.base);
    browser.sign_up(&cookie_email).await;
    let cookie_user = system.user_id(&cookie_email).await;
    let csrf = browser.get("/profile").await.csrf();
    let response = http
        .post(&upgrade)
        .header("cookie", browser.cookie_header())
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(system.role(&cookie_user).await, Role::Free);

    // A declined card: 402, still free; an accepted one: premium.
    let declined = stripe.card("4000000000000341").await;
    let response = http
        .post(&upgrade)
        .bearer_auth(&token)
        .json(&json!({ "payment_method": declined }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(system.role(&user.user_id).await, Role::Free);
    let card = stripe.card("4242424242424242").await;
    let response = http
        .post(&upgrade)
        .bearer_auth(&token)
        .json(&json!({ "payment_method": card }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "premium", "{body}");
    assert_eq!(system.role(&user.user_id).await, Role::Premium);
}
