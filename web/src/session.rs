//! Browser sessions: a random secret in an HttpOnly cookie, its SHA-256 in
//! the user store. Every web process reads the same store, so a session
//! made by one is honoured by all, and a sign-out through one ends it for
//! all at once; nothing is kept in process memory.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use gas_jobs::{now_epoch, Session, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::WebState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gas_session";

/// A new random secret (256 bits, hex), for session and CSRF cookies.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Path=/`, Secure when the
/// app is served over https; `max_age` 0 deletes the cookie.
pub fn set_cookie(state: &WebState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    // Names and values are ours (hex), so the header is always valid.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Starts a session for `user`; returns the `Set-Cookie` header value.
pub async fn start(state: &WebState, user: &User) -> Result<HeaderValue, ApiError> {
    let secret = new_secret();
    let now = now_epoch();
    let ttl = state.settings.session_ttl.as_secs() as i64;
    state
        .ports
        .users
        .create_session(&Session {
            session_sha256: sha256_hex(&secret),
            user_id: user.user_id.clone(),
            created_at: now,
            expires_at: now + ttl,
        })
        .await?;
    tracing::info!(user_id = %user.user_id, "signed in");
    Ok(set_cookie(state, SESSION_COOKIE, &secret, ttl))
}

/// Ends the request's session, if any; returns the cookie-clearing header.
pub async fn end(state: &WebState, headers: &HeaderMap) -> Result<HeaderValue, ApiError> {
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        state
            .ports
            .users
            .delete_session(&sha256_hex(secret))
            .await?;
    }
    Ok(set_cookie(state, SESSION_COOKIE, "", 0))
}

/// The user of the request's session cookie, if it names a live session.
pub async fn session_user(state: &WebState, headers: &HeaderMap) -> Result<Option<User>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state
        .ports
        .users
        .find_session(&sha256_hex(secret), now_epoch())
        .await?)
}

/// Whoever is looking at a page: a signed-in user or no one.
pub struct Viewer(pub Option<User>);

impl FromRequestParts<Arc<WebState>> for Viewer {
    type Rejection = crate::pages::PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Viewer(session_user(state, &parts.headers).await?))
    }
}

/// A signed-in user; anyone else is sent to `/login`, and back afterwards.
pub struct SignedIn(pub User);

impl FromRequestParts<Arc<WebState>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        match session_user(state, &parts.headers).await {
            Ok(Some(user)) => Ok(SignedIn(user)),
            Ok(None) => {
                let here = parts
                    .extensions
                    .get::<OriginalUri>()
                    .map(|u| u.0.to_string())
                    .unwrap_or_else(|| parts.uri.to_string());
                let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => Err(crate::pages::PageError::from(e).into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gas_session=abc ; b=2"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("gas_csrf=xyz"));
        assert_eq!(cookie(&headers, "gas_session"), Some("abc"));
        assert_eq!(cookie(&headers, "gas_csrf"), Some("xyz"));
        assert_eq!(cookie(&headers, "gas"), None);
    }
}
