//! Drawing pages: the frame every page shares, rendering a compiled
//! template, and how times and sizes read.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use gas_jobs::{Role, User};

use crate::primitives::csrf::CsrfToken;

/// The navigation entries; the frame marks the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// No entry (an error page).
    None,
    Home,
    SignUp,
    SignIn,
    SignOut,
    Annotate,
    Annotations,
    Subscribe,
    Profile,
}

/// What every page's frame needs: the title, who is signed in, the form
/// token (for the sign-out button).
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub email: Option<String>,
    pub premium: bool,
    pub csrf: String,
    /// The navigation entry to mark as current.
    pub current: Nav,
}

impl Layout {
    pub fn new(
        title: impl Into<String>,
        user: Option<&User>,
        csrf: &CsrfToken,
        current: Nav,
    ) -> Self {
        Layout {
            title: title.into(),
            email: user.map(|u| u.email.clone()),
            premium: user.is_some_and(|u| u.role == Role::Premium),
            csrf: csrf.0.clone(),
            current,
        }
    }

    /// A frame for no one in particular (an error page).
    pub fn bare(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            email: None,
            premium: false,
            csrf: String::new(),
            current: Nav::None,
        }
    }
}

/// Renders a template into a response with `status`.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Formats epoch seconds as RFC 3339 (for `<time datetime>`; the page's
/// script shows it in the viewer's time zone).
pub fn iso_time(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Formats epoch seconds for people without JavaScript: UTC, to the second.
pub fn utc_time(epoch: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Human units for a byte count.
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    match n {
        n if n >= KIB * KIB * KIB => format!("{:.1} GiB", n as f64 / (KIB * KIB * KIB) as f64),
        n if n >= KIB * KIB => format!("{:.1} MiB", n as f64 / (KIB * KIB) as f64),
        n if n >= KIB => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

/// "5 minutes", "90 seconds", "2 hours".
pub fn human_duration(secs: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s >= 3600 && s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes_read_well() {
        assert_eq!(iso_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(human_bytes(150 * 1024), "150 KiB");
        assert_eq!(human_bytes(1024 * 1024 * 1024), "1.0 GiB");
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(90), "90 seconds");
        assert_eq!(human_duration(3600), "1 hour");
    }
}
