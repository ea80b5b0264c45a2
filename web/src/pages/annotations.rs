//! The job list, a job's page (with its live panel, pictures and log), and
//! the download link.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use futures::StreamExt;
use gas_jobs::{Job, JobStatus, StoreError, User};
use serde::Deserialize;

use super::job::{view, JobView};
use super::{render, Layout, PageError};
use crate::charts::{self, Chart, Notes, Summary};
use crate::csrf::CsrfToken;
use crate::error::ApiError;
use crate::session::SignedIn;
use crate::WebState;

type AppState = State<Arc<WebState>>;

/// Jobs a page of the list shows.
const PAGE_SIZE: usize = 20;
/// Logs and statistics are small; a page shows at most this much.
const MAX_TEXT: usize = 1024 * 1024;

#[derive(Template)]
#[template(path = "annotations.html")]
struct ListPage {
    layout: Layout,
    jobs: Vec<JobView>,
    next: Option<String>,
    first_page: bool,
}

#[derive(Template)]
#[template(path = "annotation.html")]
struct DetailPage {
    layout: Layout,
    job: JobView,
    charts: Vec<Chart>,
    /// What the page writes about consequences under the pictures (`None`
    /// for a job annotated without transcript models).
    consequences: Option<Notes>,
}

#[derive(Template)]
#[template(path = "job_panel.html")]
struct Panel {
    job: JobView,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    layout: Layout,
    job: JobView,
    log: String,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

fn window(state: &WebState) -> i64 {
    state.settings.free_access_window.as_secs() as i64
}

async fn own_job(state: &WebState, user: &User, job_id: &str) -> Result<Job, PageError> {
    Ok(crate::api::own_job(state, user, job_id).await?)
}

pub async fn list(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let cursor = query.cursor.filter(|c| !c.is_empty());
    let page = match state
        .ports
        .jobs
        .list_for_user(&user.user_id, PAGE_SIZE, cursor.as_deref())
        .await
    {
        Ok(page) => page,
        Err(StoreError::BadCursor) => {
            return Err(ApiError::BadRequest("that page of the list does not exist".into()).into())
        }
        Err(e) => return Err(e.into()),
    };
    let mut jobs = Vec::with_capacity(page.items.len());
    for job in page.items {
        let job = crate::requeue::requeue_if_stalled(&state, job).await;
        jobs.push(view(&job, &user, window(&state)));
    }
    Ok(render(
        StatusCode::OK,
        &ListPage {
            layout: Layout::new("My annotations", Some(&user), &csrf, "annotations"),
            jobs,
            next: page.next,
            first_page: cursor.is_none(),
        },
    ))
}

pub async fn detail(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Path(job_id): Path<String>,
) -> Result<Response, PageError> {
    let job = own_job(&state, &user, &job_id).await?;
    let (charts, consequences) = match summary(&state, &job).await {
        Some(summary) => (charts::all(&summary), charts::notes(&summary)),
        None => (Vec::new(), None),
    };
    let view = view(&job, &user, window(&state));
    Ok(render(
        StatusCode::OK,
        &DetailPage {
            layout: Layout::new(
                format!("Annotation of {}", view.file_name),
                Some(&user),
                &csrf,
                "annotations",
            ),
            job: view,
            charts,
            consequences,
        },
    ))
}

/// The live part of the job page, which its script swaps in.
pub async fn panel(
    State(state): AppState,
    SignedIn(user): SignedIn,
    Path(job_id): Path<String>,
) -> Result<Response, PageError> {
    let job = own_job(&state, &user, &job_id).await?;
    let mut response = render(
        StatusCode::OK,
        &Panel {
            job: view(&job, &user, window(&state)),
        },
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub async fn log(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Path(job_id): Path<String>,
) -> Result<Response, PageError> {
    let job = own_job(&state, &user, &job_id).await?;
    let Some(key) = job.s3_key_log_file.as_deref() else {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "not_ready",
            "the log is written when the job ends; come back then",
        )
        .into());
    };
    let log = read_text(&state, key).await?;
    let view = view(&job, &user, window(&state));
    Ok(render(
        StatusCode::OK,
        &LogPage {
            layout: Layout::new(
                format!("Log of {}", view.file_name),
                Some(&user),
                &csrf,
                "annotations",
            ),
            job: view,
            log,
        },
    ))
}

pub async fn download(
    State(state): AppState,
    SignedIn(user): SignedIn,
    Path(job_id): Path<String>,
) -> Result<Response, PageError> {
    let job = own_job(&state, &user, &job_id).await?;
    match crate::view::results_url(&state, &user, &job).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        // The job page explains each of these better than an error page.
        Err(ApiError::Refused { .. }) => {
            Ok(Redirect::to(&format!("/annotations/{job_id}")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn chart_svg(
    State(state): AppState,
    SignedIn(user): SignedIn,
    Path((job_id, chart)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let job = own_job(&state, &user, &job_id).await?;
    let name = chart.strip_suffix(".svg").unwrap_or(&chart);
    let summary = summary(&state, &job).await.ok_or(ApiError::NotFound)?;
    let chart = charts::chart(&summary, name).ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        chart.svg,
    )
        .into_response())
}

/// The job's statistics, if it completed and they were stored (jobs from
/// before the statistics existed have none: their page shows no pictures).
async fn summary(state: &WebState, job: &Job) -> Option<Summary> {
    if job.job_status != JobStatus::Completed {
        return None;
    }
    let key = gas_jobs::keys::stats_key(&job.s3_key_input_file);
    let text = match read_text(state, &key).await {
        Ok(text) => text,
        Err(e) => {
            tracing::debug!(job_id = %job.job_id, error = ?e, "no statistics for the pictures");
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(summary) => Some(summary),
        Err(e) => {
            tracing::warn!(job_id = %job.job_id, error = %e, "unreadable statistics");
            None
        }
    }
}

/// Reads a small text object (a log, statistics), at most [`MAX_TEXT`].
async fn read_text(state: &WebState, key: &str) -> Result<String, ApiError> {
    let mut body = state.ports.results.get(key).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT {
            bytes.truncate(MAX_TEXT);
            bytes.extend_from_slice(b"\n[... cut: the rest is too long to show here]\n");
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use gas_jobs::Role;

    use super::*;

    fn page(stats: &str) -> String {
        let user = User {
            user_id: "u".into(),
            email: "u@example.org".into(),
            role: Role::Premium,
            created_at: 0,
            password_hash: None,
            api_token_sha256: None,
        };
        let mut job = Job::new_pending("j", "u", "in.vcf", "b", "k", 1);
        job.job_status = JobStatus::Completed;
        job.complete_time = Some(2);
        job.s3_key_result_file = Some("r".into());
        let summary: Summary = serde_json::from_str(stats).unwrap();
        DetailPage {
            layout: Layout::new("t", Some(&user), &CsrfToken("c".into()), "annotations"),
            job: view(&job, &user, 60),
            charts: charts::all(&summary),
            consequences: charts::notes(&summary),
        }
        .render()
        .unwrap()
    }

    #[test]
    fn the_page_names_high_impact_genes_escaped() {
        let html = page(
            r#"{"variants": 3, "alt_alleles": 3, "consequences": {
                "most_severe": [{"term": "stop_gained", "impact": "HIGH", "alleles": 3}],
                "impacts": {"high": 3},
                "high_impact_genes": [{"gene": "MT-ND5", "alleles": 2}, {"gene": "<i>&", "alleles": 1}],
                "ref_mismatches": 1}}"#,
        );
        assert_eq!(html.matches("class=\"chart\"").count(), 6);
        assert!(html.contains("Genes with HIGH-impact variants:"));
        assert!(
            html.contains("<li>MT-ND5 (2)</li><li>&#60;i&#62;&#38; (1)</li>"),
            "{html}"
        );
        assert!(!html.contains("<i>&"));
        assert!(!html.contains("No HIGH-impact variants."));
        assert!(html.contains("1 record has a REF that differs from the reference genome"));
    }

    #[test]
    fn the_page_says_when_nothing_is_high_impact_and_is_quiet_without_consequences() {
        let html = page(r#"{"consequences": {"impacts": {"low": 4}}}"#);
        assert!(html.contains("No HIGH-impact variants."));
        assert!(!html.contains("Genes with HIGH-impact variants"));
        assert!(!html.contains("differs from the reference genome"));
        let html = page(r#"{"variants": 3}"#);
        assert_eq!(html.matches("class=\"chart\"").count(), 4);
        assert!(!html.contains("HIGH-impact"));
        assert!(!html.contains("consequence-notes"));
    }
}
