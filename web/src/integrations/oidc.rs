//! Signing in with an OpenID Connect provider (Globus Auth, or any
//! compliant one): discovery from the issuer URL, the authorization code
//! flow with PKCE, `state` and `nonce`, and the ID token checked against
//! the provider's JWKS (signature, `iss`, `aud`, `exp`, `nbf`, `iat`,
//! `nonce`). An ID
//! token signed with a key the cached JWKS lacks makes one refetch, so key
//! rotation at the provider needs nothing here.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokio::sync::RwLock;

/// Why a sign-in through a provider failed. The variants under `Token`
/// are the ID token checks; none of them signs anyone in.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider's discovery document could not be read")]
    Discovery(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the provider's discovery document names issuer {found:?}, not {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the provider refused the authorization code: {0}")]
    Exchange(String),
    #[error("the ID token was refused: {0}")]
    Token(TokenError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported signing algorithm {0}")]
    Algorithm(String),
    #[error("signed with an unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("not issued for this client")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    /// No `iat`, or one in the future or before this sign-in began: a
    /// token issued for another sign-in, or by a clock far off.
    #[error("issued at the wrong time")]
    IssuedAt,
    #[error("nonce does not match")]
    Nonce,
}

impl From<TokenError> for OidcError {
    fn from(e: TokenError) -> Self {
        OidcError::Token(e)
    }
}

/// One configured provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// A short id for URLs.
    pub id: String,
    /// The sign-in button's label.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: Option<String>,
    kty: String,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Default)]
struct Keys {
    keys: Vec<(Option<String>, RsaPublicKey)>,
    fetched: Option<Instant>,
}

/// What GAS uses of a checked ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => vec![s],
        Either::Many(v) => v,
    })
}

/// How far a provider's clock may be off from ours.
const LEEWAY: i64 = 60;
/// How long a sign-in at a provider may take, from its start here to the
/// callback (the sealed cookie carrying it lasts as long).
pub const SIGN_IN_TTL: i64 = 600;
/// A JWKS refetch for an unknown key waits at least this long after the
/// last one, so forged tokens with random key ids cannot make us hammer
/// the provider.
const REFETCH_GAP: Duration = Duration::from_secs(5);

/// A provider, with its discovery document and keys cached.
pub struct Provider {
    pub settings: ProviderSettings,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    keys: RwLock<Keys>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.settings.id)
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

/// A sign-in in flight: what the browser carries (sealed) to the callback.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Pending {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub next: String,
    /// When the sign-in began here (epoch seconds); its ID token must be
    /// issued after. 0 in cookies sealed before this was recorded.
    #[serde(default)]
    pub started_at: i64,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Provider {
    pub fn new(settings: ProviderSettings) -> Self {
        Provider {
            settings,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            discovery: RwLock::new(None),
            keys: RwLock::new(Keys::default()),
        }
    }

    async fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some(d) = self.discovery.read().await.as_ref() {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let found: Discovery = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| OidcError::Discovery(Box::new(e)))?
            .json()
            .await
            .map_err(|e| OidcError::Discovery(Box::new(e)))?;
        if found.issuer.trim_end_matches('/') != self.settings.issuer.trim_end_matches('/') {
            return Err(OidcError::IssuerMismatch {
                expected: self.settings.issuer.clone(),
                found: found.issuer,
            });
        }
        *self.discovery.write().await = Some(found.clone());
        Ok(found)
    }

    /// Starts a sign-in: the provider's authorization URL and what the
    /// browser must bring back.
    pub async fn begin(
        &self,
        redirect_uri: &str,
        next: &str,
    ) -> Result<(String, Pending), OidcError> {
        let discovery = self.discovery().await?;
        let pending = Pending {
            provider: self.settings.id.clone(),
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
            next: next.to_string(),
            started_at: gas_jobs::now_epoch(),
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| OidcError::Discovery(Box::new(e)))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.settings.scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.to_string(), pending))
    }

    /// Exchanges the authorization code and checks the ID token.
    pub async fn finish(
        &self,
        code: &str,
        redirect_uri: &str,
        pending: &Pending,
        now: i64,
    ) -> Result<Identity, OidcError> {
        let discovery = self.discovery().await?;
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", &pending.verifier),
            ])
            .send()
            .await
            .map_err(|e| OidcError::Exchange(e.to_string()))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(OidcError::Exchange(format!(
                "{status}: {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let tokens: TokenResponse = response
            .json()
            .await
            .map_err(|e| OidcError::Exchange(e.to_string()))?;
        let id_token = tokens.id_token.ok_or_else(|| {
            OidcError::Exchange("no id_token in the answer (is the openid scope granted?)".into())
        })?;
        // A cookie from before `started_at` was recorded: the oldest start
        // its lifetime allows.
        let started_at = match pending.started_at {
            0 => now - SIGN_IN_TTL,
            at => at,
        };
        let mut identity = self
            .check_id_token(&id_token, &pending.nonce, started_at, now)
            .await?;
        // With the code flow, providers may keep the email out of the ID
        // token and hand it out at the userinfo endpoint (OpenID Connect
        // Core 5.4): ask there, for the same subject only.
        if identity.email.is_none() {
            if let (Some(endpoint), Some(access_token)) =
                (&discovery.userinfo_endpoint, &tokens.access_token)
            {
                self.add_userinfo(&mut identity, endpoint, access_token)
                    .await?;
            }
        }
        Ok(identity)
    }

    async fn add_userinfo(
        &self,
        identity: &mut Identity,
        endpoint: &str,
        access_token: &str,
    ) -> Result<(), OidcError> {
        #[derive(Deserialize)]
        struct UserInfo {
            sub: String,
            #[serde(default)]
            email: Option<String>,
            #[serde(default)]
            email_verified: Option<serde_json::Value>,
        }
        let info: UserInfo = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| OidcError::Exchange(format!("userinfo: {e}")))?
            .json()
            .await
            .map_err(|e| OidcError::Exchange(format!("userinfo: {e}")))?;
        if info.sub != identity.subject {
            return Err(OidcError::Exchange(
                "userinfo answered for another subject".into(),
            ));
        }
        identity.email = info.email;
        identity.email_verified = verified(info.email_verified.as_ref());
        Ok(())
    }

    /// The checks of OpenID Connect Core 3.1.3.7 that apply to a
    /// confidential client using the code flow, for a sign-in that began
    /// at `started_at`.
    pub async fn check_id_token(
        &self,
        token: &str,
        nonce: &str,
        started_at: i64,
        now: i64,
    ) -> Result<Identity, OidcError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed.into());
        };
        #[derive(Deserialize)]
        struct Header {
            alg: String,
            #[serde(default)]
            kid: Option<String>,
        }
        let header: Header = decode_json(header)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1];
        let key = self.key(header.kid.as_deref()).await?;
        verify_rsa(&header.alg, &key, signed.as_bytes(), &signature)?;

        let claims: Claims = decode_json(payload)?;
        if claims.iss.trim_end_matches('/') != self.settings.issuer.trim_end_matches('/') {
            return Err(TokenError::Issuer.into());
        }
        let for_us = claims.aud.iter().any(|a| a == &self.settings.client_id)
            && (claims.aud.len() == 1 || claims.azp.as_deref() == Some(&self.settings.client_id));
        if !for_us {
            return Err(TokenError::Audience.into());
        }
        if now >= claims.exp + LEEWAY {
            return Err(TokenError::Expired.into());
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
            return Err(TokenError::NotYetValid.into());
        }
        // `iat` is required (Core 2): a token issued before this sign-in
        // began (or longer ago than any sign-in lasts) answers another
        // sign-in, and one issued in the future comes from a clock too far
        // off to trust its `exp`.
        let earliest = started_at.max(now - SIGN_IN_TTL) - LEEWAY;
        match claims.iat {
            Some(iat) if (earliest..=now + LEEWAY).contains(&iat) => {}
            _ => return Err(TokenError::IssuedAt.into()),
        }
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| crate::primitives::secret::constant_time_eq(n, nonce));
        if !nonce_ok {
            return Err(TokenError::Nonce.into());
        }
        Ok(Identity {
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email,
            email_verified: verified(claims.email_verified.as_ref()),
        })
    }

    /// The signing key named `kid` (or the only one), refetching the JWKS
    /// once when it is not cached.
    async fn key(&self, kid: Option<&str>) -> Result<RsaPublicKey, OidcError> {
        if let Some(key) = pick(&self.keys.read().await.keys, kid) {
            return Ok(key);
        }
        let mut keys = self.keys.write().await;
        // Another request may have refetched while this one waited.
        if let Some(key) = pick(&keys.keys, kid) {
            return Ok(key);
        }
        if keys.fetched.is_some_and(|at| at.elapsed() < REFETCH_GAP) {
            return Err(TokenError::UnknownKey.into());
        }
        let discovery = self.discovery().await?;
        let set: JwkSet = self
            .http
            .get(&discovery.jwks_uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| OidcError::Discovery(Box::new(e)))?
            .json()
            .await
            .map_err(|e| OidcError::Discovery(Box::new(e)))?;
        keys.keys = set
            .keys
            .iter()
            .filter(|k| k.kty == "RSA" && k.usage.as_deref().unwrap_or("sig") == "sig")
            .filter_map(|k| {
                let n = URL_SAFE_NO_PAD.decode(k.n.as_deref()?).ok()?;
                let e = URL_SAFE_NO_PAD.decode(k.e.as_deref()?).ok()?;
                let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
                    .ok()?;
                Some((k.kid.clone(), key))
            })
            .collect();
        keys.fetched = Some(Instant::now());
        tracing::info!(issuer = %self.settings.issuer, keys = keys.keys.len(), "fetched the provider's signing keys");
        pick(&keys.keys, kid).ok_or_else(|| TokenError::UnknownKey.into())
    }
}

/// `email_verified` as providers send it: a boolean, or sometimes a string.
fn verified(value: Option<&serde_json::Value>) -> bool {
    match value {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    }
}

fn pick(keys: &[(Option<String>, RsaPublicKey)], kid: Option<&str>) -> Option<RsaPublicKey> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|(k, _)| k.as_deref() == Some(kid))
            .map(|(_, key)| key.clone()),
        None if keys.len() == 1 => Some(keys[0].1.clone()),
        None => None,
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

fn verify_rsa(
    alg: &str,
    key: &RsaPublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), TokenError> {
    let signature = Signature::try_from(signature).map_err(|_| TokenError::Signature)?;
    let verified = match alg {
        "RS256" => VerifyingKey::<Sha256>::new(key.clone()).verify(message, &signature),
        "RS384" => VerifyingKey::<Sha384>::new(key.clone()).verify(message, &signature),
        "RS512" => VerifyingKey::<Sha512>::new(key.clone()).verify(message, &signature),
        other => return Err(TokenError::Algorithm(other.to_string())),
    };
    verified.map_err(|_| TokenError::Signature)
}
