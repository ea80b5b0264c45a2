//! Reading and setting cookies: every cookie the web app sets is
//! HttpOnly, SameSite=Lax, `Path=/`, and Secure when the app is served
//! over https.

use axum::http::{header, HeaderMap, HeaderValue};

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

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(secure: bool, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    // Names and values are ours (hex, base64url), so the header is always
    // valid.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
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

    #[test]
    fn cookies_are_secure_over_https_only() {
        let plain = set_cookie(false, "gas_session", "abc", 60);
        assert_eq!(
            plain,
            "gas_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        let secure = set_cookie(true, "gas_session", "", 0);
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
    }
}
