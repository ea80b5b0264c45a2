//! Who is calling the API.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use gas_jobs::User;

use crate::api::error::ApiError;
use crate::primitives::cookie::cookie;
use crate::primitives::csrf::{CsrfToken, CSRF_COOKIE, CSRF_HEADER};
use crate::primitives::secret::hash_token;
use crate::state::WebState;

/// The caller of an API route: `Authorization: Bearer <token>`, or the
/// browser's session cookie (the pages' own scripts call the API). A
/// cookie-authenticated call that changes state must also send the page's
/// CSRF token in `X-CSRF-Token`, or another site could make it. A Bearer
/// token needs no such header: no browser sends it by itself.
pub struct CurrentUser(pub User);

impl FromRequestParts<Arc<WebState>> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
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
        let user = state
            .sessions()
            .user(&parts.headers)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let expected = cookie(&parts.headers, CSRF_COOKIE).map(CsrfToken::for_cookie);
            if !expected.is_some_and(|t| t.matches(presented)) {
                return Err(ApiError::csrf());
            }
        }
        Ok(CurrentUser(user))
    }
}
