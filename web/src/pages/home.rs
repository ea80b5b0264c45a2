//! The home page.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::domain::upload::VCF_MAGIC;
use crate::pages::extract::Viewer;
use crate::pages::render::{human_bytes, human_duration, render, Layout, Nav};
use crate::primitives::csrf::CsrfToken;
use crate::state::WebState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    free_window: String,
    free_limit: String,
    magic: &'static str,
}

pub async fn home(
    State(state): State<Arc<WebState>>,
    Viewer(user): Viewer,
    csrf: CsrfToken,
) -> Response {
    let page = HomePage {
        layout: Layout::new("Annotate your variants", user.as_ref(), &csrf, Nav::Home),
        free_window: human_duration(state.settings.free_access_window.as_secs()),
        free_limit: human_bytes(state.settings.free_upload_limit),
        magic: std::str::from_utf8(VCF_MAGIC).unwrap_or("##fileformat=VCF"),
    };
    render(StatusCode::OK, &page)
}
