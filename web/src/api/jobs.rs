//! The API's job operations: submit, list, look at one, its results and
//! its log.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use futures::StreamExt;
use gas_jobs::{Job, Role};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracing::{info_span, Instrument};

use crate::api::auth::CurrentUser;
use crate::api::error::ApiError;
use crate::domain::jobs::{self, download_until, ResultsState};
use crate::domain::upload;
use crate::state::WebState;

type AppState = State<Arc<WebState>>;

/// The job as the API shows it: the record's attribute names (DESIGN
/// section 4) plus `results_state` and `download_until`, without the
/// runner's internal lease.
pub fn job_json(job: &Job, role: Role, window_secs: i64) -> Value {
    let mut map = match serde_json::to_value(job) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    // Bookkeeping of the runners and of requeueing, not the user's business.
    map.remove("lease_expires");
    map.remove("requeued_at");
    map.insert(
        "results_state".into(),
        ResultsState::of(job).map(ResultsState::as_str).into(),
    );
    if let Some(until) = download_until(job, role, window_secs) {
        map.insert("download_until".into(), until.into());
    }
    Value::Object(map)
}

/// `?limit=&cursor=`. An empty value is the same as none (20 jobs, the
/// first page); a limit outside 1..=100 is taken as the nearer of the two.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref().unwrap_or_default() {
            "" => Ok(20),
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(digits.parse::<usize>().unwrap_or(usize::MAX).clamp(1, 100))
            }
            other => Err(ApiError::BadRequest(format!(
                "limit must be a whole number, not {other:?}"
            ))),
        }
    }

    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

pub async fn list_jobs(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit()?;
    let page = jobs::list_jobs(state.domain(), &user, limit, query.cursor()).await?;
    let window = state.window_secs();
    let jobs: Vec<Value> = page
        .items
        .iter()
        .map(|job| job_json(job, user.role, window))
        .collect();
    Ok(Json(json!({ "jobs": jobs, "next": page.next })))
}

pub async fn get_job(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(job_id) = job_id?;
    let job = jobs::own_job(state.domain(), &user, &job_id).await?;
    Ok(Json(job_json(&job, user.role, state.window_secs())))
}

pub async fn get_results(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(job_id) = job_id?;
    let job = jobs::own_job(state.domain(), &user, &job_id).await?;
    let url = jobs::results_url(state.domain(), &user, &job).await?;
    Ok(Redirect::to(&url).into_response())
}

pub async fn get_log(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(job_id) = job_id?;
    let job = jobs::own_job(state.domain(), &user, &job_id).await?;
    let log_key = jobs::log_key(&job)?;
    let body = state.ports.results.get(log_key).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from_stream(body),
    )
        .into_response())
}

pub async fn create_job(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut multipart = multipart?;
    loop {
        let field = multipart.next_field().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::from(e),
            _ => ApiError::BadRequest(format!("malformed multipart body: {e}")),
        })?;
        let Some(field) = field else {
            return Err(ApiError::BadRequest(
                "the multipart field `file` is missing".into(),
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let span = info_span!("upload", user_id = %user.user_id);
        let file_name = field.file_name().unwrap_or_default().to_string();
        let body = field.map(|chunk| chunk.map_err(|e| e.body_text()));
        let job = upload::accept_stream(state.domain(), &user, &file_name, body)
            .instrument(span)
            .await?;
        return Ok((
            StatusCode::CREATED,
            Json(job_json(&job, user.role, state.window_secs())),
        ));
    }
}
