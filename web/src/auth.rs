use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use gas_jobs::User;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::csrf::{CsrfToken, CSRF_COOKIE};
use crate::error::ApiError;
use crate::session::{cookie, session_user};
use crate::WebState;

/// A new random API token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("gas_{}", hex::encode(bytes))
}

/// What the user store keeps of a token: its SHA-256, hex. Tokens are long
/// random strings, so a fast hash is enough (no dictionary to guess from).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller of an API route: `Authorization: Bearer <token>`, or the
/// browser's session cookie (the pages' own scripts call the API). A
/// cookie-authenticated call that changes state must also send the page's
/// CSRF token in `X-CSRF-Token`, or another site could make it.
pub struct CurrentUser(pub User);

impl FromRequestParts<Arc<WebState>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(token) = bearer {
            let user = state
                .ports
                .users
                .find_by_token(&hash_token(token))
                .await?
                .ok_or(ApiError::Unauthorized)?;
            return Ok(CurrentUser(user));
        }
        let user = session_user(state, &parts.headers)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let expected = cookie(&parts.headers, CSRF_COOKIE).map(CsrfToken::for_cookie);
            if !expected.is_some_and(|t| t.matches(presented)) {
                return Err(ApiError::refused(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "a call made with a session cookie needs the page's X-CSRF-Token header",
                ));
            }
        }
        Ok(CurrentUser(user))
    }
}
