//! Signing in with an OpenID Connect provider, against a provider this test
//! runs itself (discovery, JWKS, token endpoint checking the client secret
//! and PKCE), so that it can hand GAS ID tokens that are wrong in exactly
//! one way each: signature, audience, issuer, nonce, expiry, not-before,
//! issue time. None of them signs anyone in or makes an account. Also: the
//! first sign-in makes a free account and the next one finds it, but only
//! for an email the provider verified; a verified email that matches a
//! password account is linked only after that password is used once; a
//! rotated signing key is fetched when a token names it; `next` never
//! leads off the site.
//! The same sign-in through a certified provider (`oidc-provider`) in a
//! real browser is in `scripts/browser-test.sh`.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use gas::config::{Config, OidcProviderConfig, Secret};
use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::browser::Browser;

const CLIENT_ID: &str = "gas-test-client";
const CLIENT_SECRET: &str = "a client secret";

struct Key {
    kid: String,
    private: RsaPrivateKey,
}

impl Key {
    fn new(kid: &str) -> Key {
        Key {
            kid: kid.to_string(),
            private: RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let public = self.private.to_public_key();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            SigningKey::<Sha256>::new(self.private.clone()).sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// The provider's state: its published keys, and what each code gets.
#[derive(Default)]
struct Provider {
    issuer: String,
    jwks: Vec<Value>,
    /// code → (ID token, PKCE challenge it was issued for)
    codes: HashMap<String, (String, String)>,
    jwks_fetches: usize,
    /// access token → userinfo answer
    userinfo: HashMap<String, Value>,
}

type Shared = Arc<Mutex<Provider>>;

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    let issuer = p.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(p): State<Shared>) -> Json<Value> {
    let mut p = p.lock().unwrap();
    p.jwks_fetches += 1;
    Json(json!({ "keys": p.jwks }))
}

async fn token(
    State(p): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((id_token, challenge)) = p.lock().unwrap().codes.remove(&code) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        );
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "PKCE"})),
        );
    }
    (
        StatusCode::OK,
        Json(
            json!({"access_token": format!("at-{code}"), "token_type": "Bearer", "id_token": id_token}),
        ),
    )
}

/// Userinfo: what the test put there for an access token.
async fn userinfo(State(p): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    match p.lock().unwrap().userinfo.get(&token) {
        Some(info) => (StatusCode::OK, Json(info.clone())),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        ),
    }
}

struct Fixture {
    provider: Shared,
    key: Key,
    issuer: String,
    running: Running,
    web: String,
    _data: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let key = Key::new("key-1");
    let provider: Shared = Arc::new(Mutex::new(Provider {
        issuer: issuer.clone(),
        jwks: vec![key.jwk()],
        ..Provider::default()
    }));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .with_state(Arc::clone(&provider));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let data = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: data.path().to_path_buf(),
        web_addr: "127.0.0.1:0".parse().unwrap(),
        util_addr: "127.0.0.1:0".parse().unwrap(),
        ann_addr: "127.0.0.1:0".parse().unwrap(),
        oidc_providers: vec![OidcProviderConfig {
            id: "test".into(),
            name: "Test Institution".into(),
            issuer: issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: Some(Secret(CLIENT_SECRET.into())),
            client_secret_file: None,
            scopes: vec!["openid".into(), "email".into()],
        }],
        ..Config::default()
    };
    let running = dev::start(
        config,
        Services {
            web: true,
            ann: false,
            util: false,
        },
    )
    .await
    .unwrap();
    let web = format!("http://{}", running.web_addr.unwrap());
    Fixture {
        provider,
        key,
        issuer,
        running,
        web,
        _data: data,
    }
}

/// What the provider's authorization endpoint was asked for.
struct Authorization {
    state: String,
    nonce: String,
    challenge: String,
}

impl Fixture {
    /// Starts a sign-in at GAS; returns what it asked the provider for.
    async fn begin(&self, browser: &mut Browser) -> Authorization {
        let page = browser.get("/login/oidc/test").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let url = url::Url::parse(page.location.as_deref().unwrap()).unwrap();
        assert!(url
            .as_str()
            .starts_with(&format!("{}/authorize?", self.issuer)));
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], format!("{}/login/callback", self.web));
        assert!(q["scope"].split(' ').any(|s| s == "openid"));
        Authorization {
            state: q["state"].clone(),
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
        }
    }

    fn claims(&self, auth: &Authorization, subject: &str, email: &str) -> Value {
        let now = gas_jobs::now_epoch();
        json!({
            "iss": self.issuer, "sub": subject, "aud": CLIENT_ID,
            "iat": now, "exp": now + 300, "nonce": auth.nonce,
            "email": email, "email_verified": true,
        })
    }

    /// The provider answers the callback with `id_token`; returns GAS's page.
    async fn callback(
        &self,
        browser: &mut Browser,
        auth: &Authorization,
        id_token: String,
    ) -> support::browser::Page {
        let code = uuid::Uuid::new_v4().to_string();
        self.provider
            .lock()
            .unwrap()
            .codes
            .insert(code.clone(), (id_token, auth.challenge.clone()));
        browser
            .get(&format!("/login/callback?code={code}&state={}", auth.state))
            .await
    }

    async fn sign_in(
        &self,
        browser: &mut Browser,
        subject: &str,
        email: &str,
    ) -> support::browser::Page {
        let auth = self.begin(browser).await;
        let token = self.key.sign(&self.claims(&auth, subject, email));
        self.callback(browser, &auth, token).await
    }

    async fn user_count(&self, email: &str) -> usize {
        usize::from(
            self.running
                .ports
                .users
                .find_by_email(email)
                .await
                .unwrap()
                .is_some(),
        )
    }
}

fn signed_in(page: &support::browser::Page) -> bool {
    page.set_cookies
        .iter()
        .any(|c| c.starts_with("gas_session=") && !c.contains("Max-Age=0"))
}

#[tokio::test]
async fn first_sign_in_makes_an_account_and_the_next_finds_it() {
    let f = fixture().await;
    let mut browser = Browser::new(&f.web);
    let login = browser.get("/login").await;
    assert!(login.body.contains("Sign in with Test Institution"));

    let page = f
        .sign_in(&mut browser, "person-1", "grace@uni.example")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(signed_in(&page));
    let profile = browser.get("/profile").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("grace@uni.example"));
    let user = f
        .running
        .ports
        .users
        .find_by_email("grace@uni.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Free);
    assert!(user.password_hash.is_none());

    // Signed out, then in again (even with a changed email): the same account.
    browser.submit("/profile", "/logout", &[]).await;
    let page = f
        .sign_in(&mut browser, "person-1", "grace@new.example")
        .await;
    assert!(signed_in(&page));
    let again = f
        .running
        .ports
        .users
        .find_by_identity(&f.issuer, "person-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.user_id, user.user_id);
    assert_eq!(
        f.user_count("grace@new.example").await,
        0,
        "no second account"
    );
    f.running.stop().await;
}

#[tokio::test]
async fn tampered_id_tokens_sign_no_one_in() {
    let f = fixture().await;
    let forger = Key::new("key-1"); // the provider's key id, another key
    type Tamper = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Tamper, bool)> = vec![
        ("wrong signature", Box::new(|_| {}), true),
        (
            "wrong audience",
            Box::new(|c| c["aud"] = json!("someone-else")),
            false,
        ),
        (
            "wrong issuer",
            Box::new(|c| c["iss"] = json!("https://evil.example")),
            false,
        ),
        (
            "wrong nonce",
            Box::new(|c| c["nonce"] = json!("not-the-nonce")),
            false,
        ),
        (
            "no nonce",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("nonce");
            }),
            false,
        ),
        (
            "expired",
            Box::new(|c| c["exp"] = json!(gas_jobs::now_epoch() - 3600)),
            false,
        ),
        (
            "several audiences without azp",
            Box::new(|c| c["aud"] = json!([CLIENT_ID, "other"])),
            false,
        ),
        (
            "not valid yet",
            Box::new(|c| c["nbf"] = json!(gas_jobs::now_epoch() + 3600)),
            false,
        ),
        (
            "issued in the future",
            Box::new(|c| c["iat"] = json!(gas_jobs::now_epoch() + 3600)),
            false,
        ),
        (
            "issued before the sign-in began",
            Box::new(|c| c["iat"] = json!(gas_jobs::now_epoch() - 300)),
            false,
        ),
        (
            "issued longer ago than a sign-in lasts",
            Box::new(|c| c["iat"] = json!(gas_jobs::now_epoch() - 3600)),
            false,
        ),
        (
            "no iat",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("iat");
            }),
            false,
        ),
    ];
    for (what, tamper, forged) in cases {
        let mut browser = Browser::new(&f.web);
        let auth = f.begin(&mut browser).await;
        let email = format!("{}@uni.example", what.replace(' ', "-"));
        let mut claims = f.claims(&auth, &format!("sub-{what}"), &email);
        tamper(&mut claims);
        let token = if forged {
            forger.sign(&claims)
        } else {
            f.key.sign(&claims)
        };
        let page = f.callback(&mut browser, &auth, token).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            page.body
        );
        assert!(!signed_in(&page), "{what} signed someone in");
        assert_eq!(f.user_count(&email).await, 0, "{what} made an account");
        assert_eq!(browser.get("/profile").await.status, StatusCode::SEE_OTHER);
    }
    // A state that does not match the one GAS started.
    let mut browser = Browser::new(&f.web);
    let mut auth = f.begin(&mut browser).await;
    let token = f
        .key
        .sign(&f.claims(&auth, "sub-state", "state@uni.example"));
    auth.state = "forged".into();
    let page = f.callback(&mut browser, &auth, token).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    // A callback without a sign-in started in this browser.
    let mut stranger = Browser::new(&f.web);
    let page = stranger.get("/login/callback?code=x&state=y").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.user_count("state@uni.example").await, 0);
    f.running.stop().await;
}

#[tokio::test]
async fn a_matching_password_account_is_linked_only_after_its_password_is_used() {
    let f = fixture().await;
    gas::users::add_user(
        &f.running.ports,
        "ada@uni.example",
        Role::Premium,
        Some("ada's password"),
    )
    .await
    .unwrap();
    let ada = f
        .running
        .ports
        .users
        .find_by_email("ada@uni.example")
        .await
        .unwrap()
        .unwrap();
    let mut browser = Browser::new(&f.web);
    let page = f
        .sign_in(&mut browser, "ada-at-idp", "ada@uni.example")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!signed_in(&page), "a matching email alone must not sign in");
    assert!(page.location.as_deref().unwrap().starts_with("/login"));
    let login = browser.get("/login").await;
    assert!(login.body.contains("id=\"link-notice\""), "{}", login.body);
    assert!(f
        .running
        .ports
        .users
        .find_by_identity(&f.issuer, "ada-at-idp")
        .await
        .unwrap()
        .is_none());

    // A wrong password links nothing.
    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", "ada@uni.example"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(f
        .running
        .ports
        .users
        .find_by_identity(&f.issuer, "ada-at-idp")
        .await
        .unwrap()
        .is_none());
    // The right one does.
    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", "ada@uni.example"), ("password", "ada's password")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let linked = f
        .running
        .ports
        .users
        .find_by_identity(&f.issuer, "ada-at-idp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.user_id, ada.user_id);
    // From now on the provider alone signs Ada in, to her account.
    let mut elsewhere = Browser::new(&f.web);
    let page = f
        .sign_in(&mut elsewhere, "ada-at-idp", "ada@uni.example")
        .await;
    assert!(signed_in(&page));
    assert!(elsewhere.get("/profile").await.body.contains("Premium"));

    // An unverified email that matches an account is refused outright.
    let mut browser = Browser::new(&f.web);
    let auth = f.begin(&mut browser).await;
    let mut claims = f.claims(&auth, "someone", "ada@uni.example");
    claims["email_verified"] = json!(false);
    let page = f.callback(&mut browser, &auth, f.key.sign(&claims)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(f
        .running
        .ports
        .users
        .find_by_identity(&f.issuer, "someone")
        .await
        .unwrap()
        .is_none());
    f.running.stop().await;
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_when_a_token_names_it() {
    let f = fixture().await;
    let mut browser = Browser::new(&f.web);
    assert!(signed_in(
        &f.sign_in(&mut browser, "p", "p@uni.example").await
    ));
    assert_eq!(f.provider.lock().unwrap().jwks_fetches, 1);
    // The provider rotates: a new key, published beside the old one.
    let new_key = Key::new("key-2");
    f.provider.lock().unwrap().jwks.push(new_key.jwk());
    // Refetches are spaced out (forged key ids must not make GAS hammer
    // the provider), so the new key is taken after that gap.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut browser = Browser::new(&f.web);
    let auth = f.begin(&mut browser).await;
    let token = new_key.sign(&f.claims(&auth, "q", "q@uni.example"));
    let page = f.callback(&mut browser, &auth, token).await;
    assert!(signed_in(&page), "{}", page.body);
    assert_eq!(f.provider.lock().unwrap().jwks_fetches, 2);
    f.running.stop().await;
}

#[tokio::test]
async fn an_email_kept_out_of_the_id_token_comes_from_userinfo() {
    let f = fixture().await;
    let mut browser = Browser::new(&f.web);
    let auth = f.begin(&mut browser).await;
    let mut claims = f.claims(&auth, "quiet", "unused@uni.example");
    let object = claims.as_object_mut().unwrap();
    object.remove("email");
    object.remove("email_verified");
    let code = uuid::Uuid::new_v4().to_string();
    {
        let mut p = f.provider.lock().unwrap();
        p.codes
            .insert(code.clone(), (f.key.sign(&claims), auth.challenge.clone()));
        p.userinfo.insert(
            format!("at-{code}"),
            json!({"sub": "quiet", "email": "quiet@uni.example", "email_verified": true}),
        );
    }
    let page = browser
        .get(&format!("/login/callback?code={code}&state={}", auth.state))
        .await;
    assert!(signed_in(&page), "{}", page.body);
    assert_eq!(f.user_count("quiet@uni.example").await, 1);

    // Userinfo about someone else is not believed.
    let mut browser = Browser::new(&f.web);
    let auth = f.begin(&mut browser).await;
    let mut claims = f.claims(&auth, "liar", "unused@uni.example");
    claims.as_object_mut().unwrap().remove("email");
    let code = uuid::Uuid::new_v4().to_string();
    {
        let mut p = f.provider.lock().unwrap();
        p.codes
            .insert(code.clone(), (f.key.sign(&claims), auth.challenge.clone()));
        p.userinfo.insert(
            format!("at-{code}"),
            json!({"sub": "someone-else", "email": "victim@uni.example", "email_verified": true}),
        );
    }
    let page = browser
        .get(&format!("/login/callback?code={code}&state={}", auth.state))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.user_count("victim@uni.example").await, 0);
    f.running.stop().await;
}

/// Finding 9: an email the provider does not vouch for never becomes an
/// account's, and the refusal is the same whether or not someone has it.
#[tokio::test]
async fn an_unverified_email_makes_no_account() {
    let f = fixture().await;
    gas::users::add_user(
        &f.running.ports,
        "taken@uni.example",
        Role::Free,
        Some("a password"),
    )
    .await
    .unwrap();
    type Unverify = fn(&mut Value);
    let unverified: [(&str, Unverify); 3] = [
        ("false", |c| c["email_verified"] = json!(false)),
        ("the string false", |c| c["email_verified"] = json!("false")),
        ("absent", |c| {
            c.as_object_mut().unwrap().remove("email_verified");
        }),
    ];
    for (how, unverify) in unverified {
        let mut pages = Vec::new();
        for email in ["fresh@uni.example", "taken@uni.example"] {
            let mut browser = Browser::new(&f.web);
            let auth = f.begin(&mut browser).await;
            let mut claims = f.claims(&auth, &format!("sub-{email}"), email);
            unverify(&mut claims);
            let page = f.callback(&mut browser, &auth, f.key.sign(&claims)).await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{how}, {email}");
            assert!(!signed_in(&page), "{how}: {email} signed in");
            assert!(page.body.contains("verif"), "{how}: {}", page.body);
            assert!(f
                .running
                .ports
                .users
                .find_by_identity(&f.issuer, &format!("sub-{email}"))
                .await
                .unwrap()
                .is_none());
            pages.push(page.body.replace(email, "EMAIL"));
        }
        assert_eq!(pages[0], pages[1], "{how}: a taken email answers otherwise");
        assert_eq!(f.user_count("fresh@uni.example").await, 0, "{how}");
    }
    f.running.stop().await;
}

/// Finding 2, for the provider's sign-in: the `next` it carries is checked
/// like the form's.
#[tokio::test]
async fn a_provider_sign_in_never_leads_off_the_site() {
    let f = fixture().await;
    for (i, next) in [
        "/%09/evil.example",
        "/%2F/evil.example",
        "/%5C/evil.example",
        "/profile",
    ]
    .into_iter()
    .enumerate()
    {
        let mut browser = Browser::new(&f.web);
        let page = browser.get(&format!("/login/oidc/test?next={next}")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let url = url::Url::parse(page.location.as_deref().unwrap()).unwrap();
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let auth = Authorization {
            state: q["state"].clone(),
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
        };
        let claims = f.claims(
            &auth,
            &format!("next-{i}"),
            &format!("next-{i}@uni.example"),
        );
        let page = f.callback(&mut browser, &auth, f.key.sign(&claims)).await;
        assert!(signed_in(&page), "{}", page.body);
        let expected = if next == "/profile" {
            "/profile"
        } else {
            "/annotations"
        };
        assert_eq!(page.location.as_deref(), Some(expected), "next={next}");
    }
    f.running.stop().await;
}
