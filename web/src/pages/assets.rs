//! The app's stylesheet, script and icon, built into the binary (no CDN,
//! no build step).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/gas.css");
const JS: &str = include_str!("../../assets/gas.js");
const VARIANTS_JS: &str = include_str!("../../assets/variants.js");
const ICON: &str = include_str!("../../assets/favicon.svg");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "gas.css" => (CSS, "text/css; charset=utf-8"),
        "gas.js" => (JS, "text/javascript; charset=utf-8"),
        "variants.js" => (VARIANTS_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}
