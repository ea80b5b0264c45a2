//! Signing in and up over real HTTP on the embedded backend, against the
//! attacks of security review 15: redirects off the site after sign-in,
//! password guessing and argon2 floods (per client address, per email and
//! address, bursts in parallel), and answers that would tell which emails
//! have accounts. The pieces the HTTP cannot show deterministically (the
//! hash gate's bound, the count of argon2 runs per path) are the unit tests
//! of `web/src/domain/accounts.rs`.

mod support;

use std::sync::Arc;

use gas::config::Config;
use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{redirect, StatusCode};
use support::browser::{Browser, Page};
use tokio::sync::{Barrier, RwLock};

/// `Browser::sign_up`'s password.
const PASSWORD: &str = "correct horse battery";
/// Failures allowed before an (email, address) is held.
const FREE_FAILURES: usize = 5;

/// Taken for writing by the test that reads the process's metrics, for
/// reading by every other: they would move the counts it reads.
static EXCLUSIVE: RwLock<()> = RwLock::const_new(());

struct System {
    running: Running,
    base: String,
    _data: tempfile::TempDir,
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

/// The web service alone (nothing here runs a job).
async fn start(tweak: impl FnOnce(&mut Config)) -> System {
    let guard = Box::new(EXCLUSIVE.read().await);
    start_with(guard, tweak).await
}

/// The same, with no other test's system running meanwhile.
async fn start_alone(tweak: impl FnOnce(&mut Config)) -> System {
    let guard = Box::new(EXCLUSIVE.write().await);
    start_with(guard, tweak).await
}

async fn start_with(
    guard: Box<dyn std::any::Any + Send + Sync>,
    tweak: impl FnOnce(&mut Config),
) -> System {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: data.path().to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    tweak(&mut config);
    let services = Services {
        web: true,
        ann: false,
        util: false,
    };
    let running = dev::start(config, services).await.unwrap();
    let base = format!("http://{}", running.web_addr.unwrap());
    System {
        running,
        base,
        _data: data,
        _guard: guard,
    }
}

/// A browser whose requests carry `X-Forwarded-For: <forwarded>`, as the
/// load balancer would send them for a client at that address.
fn browser_from(base: &str, forwarded: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(forwarded).unwrap());
    Browser {
        http: reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        ..Browser::new(base)
    }
}

fn signed_in(page: &Page) -> bool {
    page.set_cookies
        .iter()
        .any(|c| c.starts_with("gas_session=") && !c.contains("Max-Age=0"))
}

async fn sign_in(browser: &mut Browser, email: &str, password: &str) -> Page {
    submit(
        browser,
        "/login",
        &[("email", email), ("password", password)],
    )
    .await
    .0
}

/// Posts the form at `path` with the token of its page, as
/// `Browser::submit` does; also returns the answer's Retry-After.
async fn submit(browser: &mut Browser, path: &str, fields: &[(&str, &str)]) -> (Page, Option<u64>) {
    let token = browser.get(path).await.csrf();
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    let response = browser
        .http
        .post(format!("{}{path}", browser.base))
        .header("cookie", browser.cookie_header())
        .form(&form)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (browser.take(response).await, retry_after)
}

/// Finding 2: `next` after sign-in is a path of this site, whatever
/// characters browsers would drop or decode on the way.
#[tokio::test]
async fn next_never_leads_off_the_site() {
    let system = start(|_| {}).await;
    let mut browser = Browser::new(&system.base);
    browser.sign_up("ada@example.org").await;
    let off_site = [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D/evil.example",
        "%09//evil.example",
        "/%20/evil.example",
        "/%2F/evil.example",
        "/%252F/evil.example",
        "/%5C/evil.example",
        "/%255C/evil.example",
        "//evil.example",
        "/%2F%2Fevil.example",
        "https://evil.example/",
        "evil.example",
        "/%00/evil.example",
        "/%E2%80%A8/evil.example",
    ];
    for next in off_site {
        let page = browser.get(&format!("/login?next={next}")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "next={next}");
        assert_eq!(
            page.location.as_deref(),
            Some("/annotations"),
            "a signed-in GET /login?next={next} must stay on the site"
        );
    }
    let page = browser.get("/login?next=/profile").await;
    assert_eq!(page.location.as_deref(), Some("/profile"));
    let page = browser
        .get("/login?next=%2Fannotations%2Fabc-def%3Fx%3D1")
        .await;
    assert_eq!(page.location.as_deref(), Some("/annotations/abc-def?x=1"));

    // The form's `next` too.
    let mut fresh = Browser::new(&system.base);
    let page = fresh
        .submit(
            "/login",
            "/login",
            &[
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("next", "/\t/evil.example"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/annotations"));
    system.running.stop().await;
}

/// Finding 9: a sign-up with a taken email answers exactly like one with a
/// new email, and neither signs in; the person then signs in.
#[tokio::test]
async fn sign_up_answers_alike_whether_or_not_the_email_is_taken() {
    let system = start(|_| {}).await;
    let mut first = Browser::new(&system.base);
    let new = first
        .submit(
            "/signup",
            "/signup",
            &[("email", "ada@example.org"), ("password", PASSWORD)],
        )
        .await;
    let mut second = Browser::new(&system.base);
    let taken = second
        .submit(
            "/signup",
            "/signup",
            &[
                ("email", "ada@example.org"),
                ("password", "another password"),
            ],
        )
        .await;
    for (what, page) in [("new", &new), ("taken", &taken)] {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{what}: {}", page.body);
        assert!(!signed_in(page), "a {what} email's sign-up signed in");
    }
    assert_eq!(new.location, taken.location);
    assert_eq!(new.body, taken.body);
    let location = new.location.clone().unwrap();
    assert!(location.starts_with("/login?"), "{location}");

    // The sign-in page says what happened, without saying which.
    let page = first.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"created-notice\""), "{}", page.body);
    assert!(page.body.contains("value=\"ada@example.org\""));
    let page = first
        .submit(
            &location,
            "/login",
            &[
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("next", "/annotate"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/annotate"));
    assert!(signed_in(&page));
    // The second sign-up's password is not the account's.
    let page = sign_in(&mut second, "ada@example.org", "another password").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    system.running.stop().await;
}

/// Finding 5b: every password attempt from one client address takes from
/// one bucket (sign-ins and sign-ups alike), whatever emails it names;
/// another address has its own. Behind the load balancer the address is
/// the right-most X-Forwarded-For entry.
#[tokio::test]
async fn password_attempts_are_limited_per_client_address() {
    let system = start(|c| c.trust_forwarded_for = true).await;
    let mut refused = None;
    for attempt in 0..40 {
        let mut lab = browser_from(&system.base, "198.51.100.1, 203.0.113.7");
        let email = format!("someone-{attempt}@example.org");
        let (page, retry_after) = if attempt % 2 == 0 {
            let fields = [("email", email.as_str()), ("password", "wrong password")];
            submit(&mut lab, "/login", &fields).await
        } else {
            let fields = [("email", email.as_str()), ("password", "a new password")];
            submit(&mut lab, "/signup", &fields).await
        };
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((attempt, retry_after));
            break;
        }
    }
    let (attempt, retry_after) =
        refused.expect("40 attempts from one address were all let through");
    assert!(attempt >= 20, "refused after only {attempt} attempts");
    let wait = retry_after.expect("a Retry-After");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // The left entries are the client's to choose: another one there is
    // still the same address.
    let mut same = browser_from(&system.base, "192.0.2.50, 203.0.113.7");
    let page = sign_in(&mut same, "someone@example.org", "wrong password").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held back.
    let mut other = browser_from(&system.base, "203.0.113.8");
    let page = sign_in(&mut other, "someone@example.org", "wrong password").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    system.running.stop().await;
}

/// Without `trust_forwarded_for` the header is the client's own say-so:
/// varying it does not escape the limit of its real address.
#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let system = start(|_| {}).await;
    let mut limited = false;
    for attempt in 0..40 {
        let mut browser = browser_from(&system.base, &format!("203.0.113.{attempt}"));
        let page = sign_in(
            &mut browser,
            &format!("guess-{attempt}@example.org"),
            "wrong password",
        )
        .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "a made-up X-Forwarded-For escaped the limit");
    system.running.stop().await;
}

/// Finding 5c: failures hold the (email, address) they came from, so a
/// guesser cannot lock the owner out from elsewhere.
#[tokio::test]
async fn a_guessers_failures_do_not_hold_the_owner_elsewhere() {
    let system = start(|c| c.trust_forwarded_for = true).await;
    gas::users::add_user(
        &system.running.ports,
        "ada@example.org",
        Role::Free,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let mut guesser = browser_from(&system.base, "203.0.113.66");
    for attempt in 1..=FREE_FAILURES + 2 {
        let page = sign_in(&mut guesser, "ada@example.org", "wrong password").await;
        let expected = if attempt < FREE_FAILURES {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(page.status, expected, "guess {attempt}");
    }
    // Held at the guesser's address, even with the right password...
    let page = sign_in(&mut guesser, "ada@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!signed_in(&page));
    // ...but Ada, at hers, signs in.
    let mut ada = browser_from(&system.base, "198.51.100.20");
    let page = sign_in(&mut ada, "ada@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(signed_in(&page));
    system.running.stop().await;
}

/// Finding 5d: an unknown email, an account without a password and a
/// password account answer alike: the same pages, the same throttle, and
/// an over-long password refused alike.
#[tokio::test]
async fn unknown_and_passwordless_emails_answer_like_password_accounts() {
    let system = start(|c| c.trust_forwarded_for = true).await;
    let users = system.running.ports.users.as_ref();
    gas::users::add_user(
        &system.running.ports,
        "known@example.org",
        Role::Free,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    gas_web::accounts::create_account(users, "provider@example.org", Role::Free, None)
        .await
        .unwrap();
    let long = "x".repeat(5_000);
    let mut answers = Vec::new();
    for (i, email) in [
        "known@example.org",
        "provider@example.org",
        "nobody@example.org",
    ]
    .into_iter()
    .enumerate()
    {
        let mut browser = browser_from(&system.base, &format!("198.51.100.{}", 30 + i));
        let mut statuses = Vec::new();
        let mut bodies = Vec::new();
        let page = sign_in(&mut browser, email, &long).await;
        statuses.push(page.status);
        bodies.push(page.body.replace(email, "EMAIL"));
        for _ in 0..FREE_FAILURES + 1 {
            let page = sign_in(&mut browser, email, "wrong password").await;
            statuses.push(page.status);
            bodies.push(page.body.replace(email, "EMAIL"));
        }
        answers.push((email, statuses, bodies));
    }
    let (_, statuses, bodies) = &answers[0];
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "the password account was never held: {statuses:?}"
    );
    for (email, other_statuses, other_bodies) in &answers[1..] {
        assert_eq!(other_statuses, statuses, "{email} answers otherwise");
        for (i, (a, b)) in bodies.iter().zip(other_bodies).enumerate() {
            // The CSRF token differs between browsers, and "try again in
            // N seconds" by the second the answer was made; nothing else may.
            let strip = |s: &str| {
                s.lines()
                    .filter(|l| !l.contains("csrf"))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .replace(|c: char| c.is_ascii_digit(), "")
            };
            assert_eq!(strip(a), strip(b), "{email}: answer {i} differs");
        }
    }
    system.running.stop().await;
}

/// The process's count of passwords checked and found wrong (its metrics
/// are the process's: [`EXCLUSIVE`] keeps the other tests out meanwhile).
async fn failed_sign_ins(system: &System) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", system.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("gas_web_failed_sign_ins_total "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Finding 5e: a burst of parallel guesses at one account from one address
/// is counted before any is checked, so only the free few are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_parallel_guesses_is_counted_before_checking() {
    let system = start_alone(|c| c.trust_forwarded_for = true).await;
    gas::users::add_user(
        &system.running.ports,
        "ada@example.org",
        Role::Free,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let mut browser = browser_from(&system.base, "203.0.113.99");
    let token = browser.get("/login").await.csrf();
    let before = failed_sign_ins(&system).await;
    // Twenty connections open first, then every guess at once.
    let warm: Vec<_> = (0..20)
        .map(|_| {
            let mut browser = browser.clone();
            tokio::spawn(async move { browser.get("/login").await.status })
        })
        .collect();
    for warm in warm {
        assert_eq!(warm.await.unwrap(), StatusCode::OK);
    }
    let start = Arc::new(Barrier::new(20));
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let mut browser = browser.clone();
            let token = token.clone();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                let password = format!("guess number {i}");
                start.wait().await;
                browser
                    .post(
                        "/login",
                        &[
                            ("csrf_token", token.as_str()),
                            ("email", "ada@example.org"),
                            ("password", password.as_str()),
                        ],
                    )
                    .await
                    .status
            })
        })
        .collect();
    for guess in guesses {
        let status = guess.await.unwrap();
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "a guess answered {status}"
        );
    }
    let checked = failed_sign_ins(&system).await - before;
    assert!(
        (1..=FREE_FAILURES as u64).contains(&checked),
        "{checked} of 20 parallel guesses had their password checked"
    );
    system.running.stop().await;
}
