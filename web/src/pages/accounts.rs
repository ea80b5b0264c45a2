//! Sign-up, sign-in and sign-out pages.

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gas_jobs::Role;
use serde::Deserialize;

use crate::domain::accounts::{self, AccountError, ClientAddr, MIN_PASSWORD};
use crate::domain::error::Error;
use crate::integrations::oidc;
use crate::pages::error::{error_page, PageError};
use crate::pages::extract::Viewer;
use crate::pages::render::{render, Layout, Nav};
use crate::primitives::cookie::{cookie, set_cookie};
use crate::primitives::csrf::CsrfToken;
use crate::primitives::secret::constant_time_eq;
use crate::primitives::signed;
use crate::state::WebState;

type AppState = State<Arc<WebState>>;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    min_password: usize,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
    next: String,
    /// (id, button label) of each OpenID Connect provider.
    providers: Vec<(String, String)>,
    /// Set while a provider's sign-in waits to be linked to this account.
    linking: Option<String>,
    /// Arrived from the sign-up form.
    created: bool,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    layout: Layout,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// The sign-in form's email, filled in (from the sign-up form).
    #[serde(default)]
    email: Option<String>,
    /// Set by the sign-up form's redirect.
    #[serde(default)]
    created: Option<String>,
}

/// Where to go after signing in: `next` if it is a path of this site, else
/// `/annotations` (no open redirect).
fn safe_next(next: &str) -> &str {
    if is_site_path(next) {
        next
    } else {
        "/annotations"
    }
}

/// A path of this site made of safe characters. Browsers drop tabs and
/// newlines from URLs and read `\` as `/`, so `/<tab>/evil.example` and
/// `/\evil.example` are `//evil.example`, another site: only printable
/// ASCII is taken, and no `//` or `\`. The same holds of every decoding of
/// it (`/%2F/evil.example`), whatever later decodes it once more.
fn is_site_path(next: &str) -> bool {
    if !next.starts_with('/') || !next.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let mut form = next.to_string();
    // Each decoding is shorter unless nothing was decoded: a few suffice
    // for anything real, and more is refused.
    for _ in 0..4 {
        let unsafe_char = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
        if form.contains("//") || form.chars().any(unsafe_char) {
            return false;
        }
        match percent_decode(&form) {
            Some(decoded) if decoded == form => return true,
            Some(decoded) => form = decoded,
            None => return false,
        }
    }
    false
}

/// `%XX` escapes decoded (others left as they are); `None` if the bytes
/// are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The status and Retry-After of a refused password attempt.
fn refusal(e: &AccountError) -> (StatusCode, Option<i64>) {
    match e {
        AccountError::Throttled { retry_after } | AccountError::RateLimited { retry_after } => {
            (StatusCode::TOO_MANY_REQUESTS, Some(*retry_after))
        }
        AccountError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(accounts::BUSY_RETRY_AFTER),
        ),
        AccountError::WrongCredentials => (StatusCode::UNAUTHORIZED, None),
        _ => (StatusCode::BAD_REQUEST, None),
    }
}

fn with_retry_after(mut response: Response, retry_after: Option<i64>) -> Response {
    if let Some(value) = retry_after.and_then(|s| s.to_string().parse().ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub async fn signup_form(Viewer(user): Viewer, csrf: CsrfToken) -> Response {
    if user.is_some() {
        return Redirect::to("/annotations").into_response();
    }
    signup_page(StatusCode::OK, &csrf, String::new(), None)
}

fn signup_page(
    status: StatusCode,
    csrf: &CsrfToken,
    email: String,
    error: Option<String>,
) -> Response {
    render(
        status,
        &SignupPage {
            layout: Layout::new("Sign up", None, csrf, Nav::SignUp),
            email,
            error,
            min_password: MIN_PASSWORD,
        },
    )
}

/// Sign-up answers the same whether or not the email was taken (the same
/// redirect, after the same argon2 work, signing no one in), so that it
/// does not tell who has an account; the person then signs in. A taken
/// email's owner keeps their password: the new one is not stored.
pub async fn signup(
    State(state): AppState,
    client: ClientAddr,
    csrf: CsrfToken,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    let created = match state.sign_in.addresses.take(client, Instant::now()) {
        Ok(()) => {
            accounts::create_account_with(
                &state.sign_in.gate,
                state.ports.users.as_ref(),
                &form.email,
                Role::Free,
                Some(&form.password),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(user) => {
            tracing::info!(user_id = %user.user_id, "account created");
            metrics::counter!("gas_web_signups_total").increment(1);
        }
        Err(AccountError::EmailTaken) => {
            metrics::counter!("gas_web_signups_taken_total").increment(1);
        }
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e @ AccountError::Hash(_)) => return Err(PageError(Error::Internal(e.into()))),
        Err(e) => {
            let (status, retry_after) = refusal(&e);
            let page = signup_page(status, &csrf, form.email, Some(e.to_string()));
            return Ok(with_retry_after(page, retry_after));
        }
    }
    let location = format!(
        "/login?email={}&created=1&next=%2Fannotate",
        url_encode(form.email.trim())
    );
    Ok(Redirect::to(&location).into_response())
}

pub async fn login_form(
    State(state): AppState,
    Viewer(user): Viewer,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = q.next.unwrap_or_default();
    if user.is_some() {
        return Redirect::to(safe_next(&next)).into_response();
    }
    let email = pending_link(&state, &headers)
        .map(|l| l.email)
        .or(q.email)
        .unwrap_or_default();
    let mut page = LoginPage::new(&state, &headers, &csrf, email, None, next);
    page.created = q.created.is_some();
    render(StatusCode::OK, &page)
}

impl LoginPage {
    fn new(
        state: &WebState,
        headers: &HeaderMap,
        csrf: &CsrfToken,
        email: String,
        error: Option<String>,
        next: String,
    ) -> Self {
        let providers = state
            .ports
            .identity_providers
            .iter()
            .map(|p| (p.settings.id.clone(), p.settings.name.clone()))
            .collect();
        LoginPage {
            layout: Layout::new("Sign in", None, csrf, Nav::SignIn),
            email,
            error,
            next,
            providers,
            linking: pending_link(state, headers).map(|l| l.provider_name),
            created: false,
        }
    }
}

pub async fn login(
    State(state): AppState,
    client: ClientAddr,
    csrf: CsrfToken,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    let signed_in = match state.sign_in.addresses.take(client, Instant::now()) {
        Ok(()) => {
            let key = accounts::throttle_key(&form.email, client);
            let users = state.ports.users.as_ref();
            accounts::sign_in(
                &state.sign_in.gate,
                users,
                &form.email,
                &form.password,
                &key,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let user = match signed_in {
        Ok(user) => user,
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e @ AccountError::Hash(_)) => return Err(PageError(Error::Internal(e.into()))),
        Err(e) => {
            let (status, retry_after) = refusal(&e);
            let page = LoginPage::new(
                &state,
                &headers,
                &csrf,
                form.email.clone(),
                Some(e.to_string()),
                form.next.clone(),
            );
            return Ok(with_retry_after(render(status, &page), retry_after));
        }
    };
    // A provider's sign-in waiting for this account is linked now that
    // the person has proved they own it.
    let mut response = Redirect::to(safe_next(&form.next)).into_response();
    if let Some(link) = pending_link(&state, &headers) {
        if link.user_id == user.user_id {
            link_identity(&state, &link).await?;
        }
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(state.settings.secure_cookies(), LINK_COOKIE, "", 0),
        );
    }
    let session = state.sessions().start(&user).await?;
    response.headers_mut().append(header::SET_COOKIE, session);
    Ok(response)
}

/// Sign-out is a POST (a link could be followed by another site); this
/// page offers the button to anyone who arrives by the old GET route.
pub async fn logout_form(Viewer(user): Viewer, csrf: CsrfToken) -> Response {
    render(
        StatusCode::OK,
        &LogoutPage {
            layout: Layout::new("Sign out", user.as_ref(), &csrf, Nav::SignOut),
        },
    )
}

pub async fn logout(State(state): AppState, headers: HeaderMap) -> Result<Response, PageError> {
    let cleared = state.sessions().end(&headers).await?;
    Ok(([(header::SET_COOKIE, cleared)], Redirect::to("/")).into_response())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::accounts::PasswordGate;
    use crate::integrations::payment::InstantPayments;
    use crate::state::{WebPorts, WebSettings};

    #[test]
    fn next_stays_on_the_site() {
        for kept in [
            "/annotations/1",
            "/annotations",
            "/profile?tab=tokens#new",
            "/annotations/abc%2Ddef",
            "/a/b/c.svg",
            "/%41",
        ] {
            assert_eq!(safe_next(kept), kept);
        }
        for refused in [
            "",
            "annotations",
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/é",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0D/evil.example",
            "/%20/evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%5C/evil.example",
            "/%5cevil.example",
            "/%252F/evil.example",
            "/%25252F/evil.example",
            "/%2525252F/evil.example",
            "/%00",
            "/%E2%80%A8/evil.example",
            "/%C2%A0/evil.example",
            "/%FF",
            "/x//y",
        ] {
            assert_eq!(safe_next(refused), "/annotations", "{refused:?}");
        }
    }

    #[test]
    fn percent_decoding_leaves_stray_percents() {
        assert_eq!(percent_decode("/a%2Fb%zz%4").as_deref(), Some("/a/b%zz%4"));
        assert_eq!(percent_decode("/%C3%A9").as_deref(), Some("/é"));
        assert_eq!(percent_decode("/%C3"), None);
    }

    /// A web state on in-memory and temporary stores, with a gate of one
    /// slot that is waited for 100 ms; the directory to remove after.
    fn test_state() -> (WebState, std::path::PathBuf) {
        use gas_messaging::Topic;
        let dir = std::env::temp_dir().join(format!("gas-web-test-{}", uuid::Uuid::new_v4()));
        let messaging = gas_messaging::local::LocalMessaging::open_in_memory().unwrap();
        let topic: Arc<dyn Topic> = Arc::new(messaging.topic("requests").unwrap());
        let timer = Arc::new(messaging.timer("archive", Arc::clone(&topic)).unwrap());
        let url = "http://127.0.0.1:8080/".parse().unwrap();
        let signer = gas_storage::dir::UrlSigner::new([7; 32], url).unwrap();
        let blobs =
            Arc::new(gas_storage::dir::DirBlobStore::new(dir.clone(), "b".into(), signer).unwrap());
        let ports = WebPorts {
            jobs: Arc::new(gas_jobs::sqlite::SqliteJobStore::open_in_memory().unwrap()),
            users: Arc::new(gas_jobs::sqlite::SqliteUserStore::open_in_memory().unwrap()),
            inputs: Arc::clone(&blobs) as _,
            results: blobs,
            requests_topic: Arc::clone(&topic),
            restore_topic: topic,
            archive_timer: timer,
            payments: Arc::new(InstantPayments),
            browser_upload: None,
            identity_providers: Vec::new(),
        };
        let settings = WebSettings {
            free_access_window: Duration::from_secs(60),
            free_upload_limit: 1000,
            max_upload: 1000,
            download_ttl: Duration::from_secs(60),
            key_prefix: "gas".into(),
            public_url: "http://127.0.0.1:8080".into(),
            session_ttl: Duration::from_secs(600),
            secret_key: vec![9; 32],
            requeue_after: Duration::ZERO,
            password_hash_concurrency: 1,
            trust_forwarded_for: false,
        };
        let mut state = WebState::new(ports, settings);
        state.sign_in.gate = PasswordGate::with_wait(1, Duration::from_millis(100));
        (state, dir)
    }

    fn credentials(email: &str, password: &str) -> Form<Credentials> {
        Form(Credentials {
            email: email.into(),
            password: password.into(),
            next: String::new(),
        })
    }

    /// Finding 5a: with every hash slot taken, sign-in and sign-up answer
    /// 503 with Retry-After once their wait is over, and such an attempt
    /// is not held against the person.
    #[tokio::test]
    async fn a_full_gate_answers_503_with_retry_after() {
        let (state, dir) = test_state();
        let state = Arc::new(state);
        let users = state.ports.users.as_ref();
        accounts::create_account(users, "ada@example.org", Role::Free, Some("the password"))
            .await
            .unwrap();
        let csrf = || CsrfToken("token".into());
        let held = state.sign_in.gate.slot().await.unwrap();
        for _ in 0..accounts::FREE_FAILURES + 1 {
            let form = credentials("ada@example.org", "the password");
            let answer = login(
                State(Arc::clone(&state)),
                ClientAddr(None),
                csrf(),
                HeaderMap::new(),
                form,
            )
            .await
            .unwrap();
            assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(answer.headers()[header::RETRY_AFTER], "1");
        }
        let form = credentials("bo@example.org", "bo's password");
        let answer = signup(State(Arc::clone(&state)), ClientAddr(None), csrf(), form)
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "1");
        assert!(users
            .find_by_email("bo@example.org")
            .await
            .unwrap()
            .is_none());
        assert_eq!(state.sign_in.gate.runs(), 0);

        drop(held);
        let form = credentials("ada@example.org", "the password");
        let answer = login(
            State(Arc::clone(&state)),
            ClientAddr(None),
            csrf(),
            HeaderMap::new(),
            form,
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(state.sign_in.gate.runs(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}

// --- OpenID Connect ---

/// The cookie carrying a provider sign-in in flight (sealed).
const OIDC_COOKIE: &str = "gas_oidc";
/// The cookie carrying a provider identity waiting to be linked (sealed).
const LINK_COOKIE: &str = "gas_link";
/// How long a sign-in at a provider, or a pending link, may take.
const OIDC_TTL: i64 = oidc::SIGN_IN_TTL;

/// A provider's identity whose email belongs to an existing password
/// account: it is linked after the person signs in with that password.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct PendingLink {
    issuer: String,
    subject: String,
    user_id: String,
    email: String,
    provider_name: String,
}

fn pending_link(state: &WebState, headers: &HeaderMap) -> Option<PendingLink> {
    let sealed = cookie(headers, LINK_COOKIE)?;
    signed::open(&state.settings.secret_key, sealed, gas_jobs::now_epoch())
}

async fn link_identity(state: &WebState, link: &PendingLink) -> Result<(), PageError> {
    let record = gas_jobs::IdentityLink {
        issuer: link.issuer.clone(),
        subject: link.subject.clone(),
        user_id: link.user_id.clone(),
        created_at: gas_jobs::now_epoch(),
    };
    match state.ports.users.link_identity(&record).await {
        // Linked meanwhile (another tab): the same outcome.
        Ok(()) | Err(gas_jobs::StoreError::AlreadyExists(_)) => {
            tracing::info!(user_id = %link.user_id, issuer = %link.issuer, "identity linked");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn redirect_uri(state: &WebState) -> String {
    format!(
        "{}/login/callback",
        state.settings.public_url.trim_end_matches('/')
    )
}

fn provider(state: &WebState, id: &str) -> Option<Arc<oidc::Provider>> {
    state
        .ports
        .identity_providers
        .iter()
        .find(|p| p.settings.id == id)
        .cloned()
}

pub async fn oidc_begin(
    State(state): AppState,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let provider = provider(&state, &id).ok_or(Error::NotFound)?;
    let next = q.next.unwrap_or_default();
    let (url, pending) = match provider
        .begin(&redirect_uri(&state), safe_next(&next))
        .await
    {
        Ok(begun) => begun,
        Err(e) => {
            tracing::warn!(provider = %id, error = %e, "could not start a provider sign-in");
            return Ok(error_page(
                StatusCode::BAD_GATEWAY,
                "Sign-in is unavailable",
                &format!(
                    "{} could not be reached. Try again later, or sign in with your password.",
                    provider.settings.name
                ),
            ));
        }
    };
    let sealed = signed::seal(
        &state.settings.secret_key,
        &pending,
        gas_jobs::now_epoch() + OIDC_TTL,
    );
    let set = set_cookie(
        state.settings.secure_cookies(),
        OIDC_COOKIE,
        &sealed,
        OIDC_TTL,
    );
    Ok(([(header::SET_COOKIE, set)], Redirect::to(&url)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn refused_sign_in(message: &str) -> Response {
    error_page(StatusCode::UNAUTHORIZED, "Sign-in failed", message)
}

pub async fn oidc_callback(
    State(state): AppState,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, PageError> {
    let now = gas_jobs::now_epoch();
    let clear = set_cookie(state.settings.secure_cookies(), OIDC_COOKIE, "", 0);
    let pending: Option<oidc::Pending> = cookie(&headers, OIDC_COOKIE)
        .and_then(|sealed| signed::open(&state.settings.secret_key, sealed, now));
    let Some(pending) = pending else {
        return Ok(refused_sign_in(
            "This sign-in expired or was started elsewhere. Please start again.",
        ));
    };
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or_default();
        tracing::info!(error = %error, detail = %detail, "the provider refused the sign-in");
        return Ok((
            [(header::SET_COOKIE, clear)],
            refused_sign_in("The sign-in was cancelled or refused at the provider."),
        )
            .into_response());
    }
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(&pending.state, s));
    let (Some(code), true) = (q.code.as_deref(), state_ok) else {
        return Ok((
            [(header::SET_COOKIE, clear)],
            refused_sign_in(
                "This sign-in does not match the one started here. Please start again.",
            ),
        )
            .into_response());
    };
    let Some(provider) = provider(&state, &pending.provider) else {
        return Ok(refused_sign_in(
            "That sign-in provider is no longer offered.",
        ));
    };
    let identity = match provider
        .finish(code, &redirect_uri(&state), &pending, now)
        .await
    {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(provider = %pending.provider, error = %e, "provider sign-in refused");
            metrics::counter!("gas_web_oidc_refused_total").increment(1);
            return Ok((
                [(header::SET_COOKIE, clear)],
                refused_sign_in(
                    "The provider's answer could not be verified, so you are not signed in.",
                ),
            )
                .into_response());
        }
    };
    let users = state.ports.users.as_ref();
    // A returning person: found by the provider's subject.
    if let Some(user) = users
        .find_by_identity(&identity.issuer, &identity.subject)
        .await?
    {
        let session = state.sessions().start(&user).await?;
        let mut response = Redirect::to(safe_next(&pending.next)).into_response();
        response.headers_mut().append(header::SET_COOKIE, clear);
        response.headers_mut().append(header::SET_COOKIE, session);
        return Ok(response);
    }
    let Some(email) = identity
        .email
        .clone()
        .filter(|e| accounts::looks_like_email(e))
    else {
        return Ok(refused_sign_in(&format!(
            "{} did not share an email address, which GAS needs for your account. Allow the email scope and try again.",
            provider.settings.name
        )));
    };
    // Only an email the provider vouches for may become an account's (its
    // completion emails go there) or claim one. Refused before anything is
    // looked up, so the answer is the same whether or not it has an account.
    if !identity.email_verified {
        metrics::counter!("gas_web_oidc_unverified_total").increment(1);
        return Ok((
            [(header::SET_COOKIE, clear)],
            refused_sign_in(&format!(
                "{name} has not verified {email}. Verify your email address at {name}, then sign in again.",
                name = provider.settings.name
            )),
        )
            .into_response());
    }
    if let Some(existing) = users.find_by_email(&email).await? {
        // Someone already has this email: only its owner may attach this
        // sign-in, by proving the password once.
        if existing.password_hash.is_none() {
            return Ok(refused_sign_in(&format!(
                "An account with {email} already exists. Sign in the way you did before."
            )));
        }
        let link = PendingLink {
            issuer: identity.issuer,
            subject: identity.subject,
            user_id: existing.user_id,
            email: existing.email.clone(),
            provider_name: provider.settings.name.clone(),
        };
        let sealed = signed::seal(&state.settings.secret_key, &link, now + OIDC_TTL);
        let mut response =
            Redirect::to(&format!("/login?next={}", url_encode(&pending.next))).into_response();
        response.headers_mut().append(header::SET_COOKIE, clear);
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                state.settings.secure_cookies(),
                LINK_COOKIE,
                &sealed,
                OIDC_TTL,
            ),
        );
        return Ok(response);
    }
    // A first sign-in: a new free account, linked to this identity.
    let gate = &state.sign_in.gate;
    let user = match accounts::create_account_with(gate, users, &email, Role::Free, None).await {
        Ok(user) => user,
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e) => return Ok(refused_sign_in(&e.to_string())),
    };
    let link = PendingLink {
        issuer: identity.issuer,
        subject: identity.subject,
        user_id: user.user_id.clone(),
        email,
        provider_name: provider.settings.name.clone(),
    };
    link_identity(&state, &link).await?;
    tracing::info!(user_id = %user.user_id, provider = %pending.provider, "account created at first provider sign-in");
    let session = state.sessions().start(&user).await?;
    let mut response = Redirect::to(safe_next(&pending.next)).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear);
    response.headers_mut().append(header::SET_COOKIE, session);
    Ok(response)
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
