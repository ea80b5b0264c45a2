//! The form token that proves a request came from our own pages: the
//! SHA-256 of an HttpOnly `gas_csrf` cookie (double submit, hashed so the
//! cookie's value never appears in a page). The pages' layer
//! (`pages/csrf.rs`) checks forms with it; the API checks the
//! `X-CSRF-Token` header of cookie-authenticated calls with it.

use crate::primitives::secret::{constant_time_eq, sha256_hex};

pub const CSRF_COOKIE: &str = "gas_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
/// The header a page's script sends the token in to the API.
pub const CSRF_HEADER: &str = "x-csrf-token";

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
