use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{render, Layout};
use crate::csrf::CsrfToken;
use crate::session::Viewer;
use crate::upload::VCF_MAGIC;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    free_window: String,
    free_limit: String,
    magic: &'static str,
}

pub async fn home(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::WebState>>,
    Viewer(user): Viewer,
    csrf: CsrfToken,
) -> Response {
    let page = HomePage {
        layout: Layout::new("Annotate your variants", user.as_ref(), &csrf, "home"),
        free_window: human_duration(state.settings.free_access_window.as_secs()),
        free_limit: super::human_bytes(state.settings.free_upload_limit),
        magic: std::str::from_utf8(VCF_MAGIC).unwrap_or("##fileformat=VCF"),
    };
    render(StatusCode::OK, &page)
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
