//! Cross-site request forgery protection for the pages' forms: one layer on
//! the page routes.
//!
//! Every browser gets a random `gas_csrf` cookie (HttpOnly, SameSite=Lax);
//! every form carries, in a hidden input named `csrf_token`, the SHA-256 of
//! that cookie's value. Another site can make a browser post a form, but it
//! can read neither the cookie nor our pages, so it cannot know the token.
//! A state-changing request without the right token is refused with 403
//! before any handler runs. Multipart forms (uploads) are checked by their
//! handler, from the first field, so that the file still streams.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::session::{cookie, new_secret, set_cookie, sha256_hex};
use crate::WebState;

pub const CSRF_COOKIE: &str = "gas_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
/// Forms are small; an upload is multipart and not read here.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The request's CSRF token, for templates to put in their forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    /// The token of the `gas_csrf` cookie value `secret`.
    pub fn for_cookie(secret: &str) -> Self {
        CsrfToken(sha256_hex(&format!("gas-csrf:{secret}")))
    }

    /// Whether `presented` is this token (in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(&self.0, presented)
    }
}

/// Whether two secrets are equal, in time that does not depend on where
/// they first differ (the length may show).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CsrfToken {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        // The layer always puts one there; without it the route is not
        // behind the layer, a programming error.
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The layer: gives every request its token (setting the cookie when the
/// browser has none) and refuses unsafe requests whose token is wrong.
pub async fn layer(
    State(state): State<Arc<WebState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = cookie(request.headers(), CSRF_COOKIE).map(str::to_string);
    let (token, new_cookie) = match &existing {
        Some(secret) => (CsrfToken::for_cookie(secret), None),
        None => {
            let secret = new_secret();
            (CsrfToken::for_cookie(&secret), Some(secret))
        }
    };
    if !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            // Checked by the handler from the form's first field; a browser
            // without our cookie cannot have a valid token at all.
            if existing.is_none() {
                return forbidden();
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
            };
            let presented = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned());
            if existing.is_none() || !presented.is_some_and(|p| token.matches(&p)) {
                return forbidden();
            }
            request = Request::from_parts(parts, Body::from(bytes));
        } else {
            return forbidden();
        }
    }
    request.extensions_mut().insert(token);
    let mut response = next.run(request).await;
    if let Some(secret) = new_cookie {
        // A year: the token is not a credential, only proof of same origin.
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state, CSRF_COOKIE, &secret, 365 * 24 * 3600),
        );
    }
    response
}

fn forbidden() -> Response {
    tracing::debug!("form refused: missing or wrong CSRF token");
    crate::pages::error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was missing its security token or it did not match. Go back, reload the page and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        let token = CsrfToken::for_cookie("abc");
        assert!(token.matches(&token.0.clone()));
        assert!(!token.matches(""));
        assert!(!token.matches(&CsrfToken::for_cookie("abd").0));
        assert_ne!(token.0, "abc", "the token is not the cookie's value");
    }
}
