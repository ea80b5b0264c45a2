//! The job list, a job's page (with its live panel, pictures and log), and
//! the download link.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::charts::{self, Chart, Notes};
use crate::domain::error::Error;
use crate::domain::jobs::{self, own_job};
use crate::pages::error::PageError;
use crate::pages::extract::SignedIn;
use crate::pages::job::{view, JobView};
use crate::pages::render::{render, Layout, Nav};
use crate::primitives::csrf::CsrfToken;
use crate::state::WebState;

type AppState = State<Arc<WebState>>;

/// Jobs a page of the list shows.
const PAGE_SIZE: usize = 20;

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

pub async fn list(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let cursor = query.cursor.filter(|c| !c.is_empty());
    let page = jobs::list_jobs(state.domain(), &user, PAGE_SIZE, cursor.as_deref()).await?;
    let window = state.window_secs();
    let jobs = page
        .items
        .iter()
        .map(|job| view(job, &user, window))
        .collect();
    Ok(render(
        StatusCode::OK,
        &ListPage {
            layout: Layout::new("My annotations", Some(&user), &csrf, Nav::Annotations),
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
    let job = own_job(state.domain(), &user, &job_id).await?;
    let (charts, consequences) = match jobs::statistics(state.domain(), &job).await {
        Some(summary) => (charts::all(&summary), charts::notes(&summary)),
        None => (Vec::new(), None),
    };
    let view = view(&job, &user, state.window_secs());
    Ok(render(
        StatusCode::OK,
        &DetailPage {
            layout: Layout::new(
                format!("Annotation of {}", view.file_name),
                Some(&user),
                &csrf,
                Nav::Annotations,
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
    let job = own_job(state.domain(), &user, &job_id).await?;
    let mut response = render(
        StatusCode::OK,
        &Panel {
            job: view(&job, &user, state.window_secs()),
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
    let job = own_job(state.domain(), &user, &job_id).await?;
    let log = jobs::read_text(state.domain(), jobs::log_key(&job)?).await?;
    let view = view(&job, &user, state.window_secs());
    Ok(render(
        StatusCode::OK,
        &LogPage {
            layout: Layout::new(
                format!("Log of {}", view.file_name),
                Some(&user),
                &csrf,
                Nav::Annotations,
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
    let job = own_job(state.domain(), &user, &job_id).await?;
    match jobs::results_url(state.domain(), &user, &job).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        // The job page explains each of these better than an error page.
        Err(Error::Refused(_)) => {
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
    let job = own_job(state.domain(), &user, &job_id).await?;
    let name = chart.strip_suffix(".svg").unwrap_or(&chart);
    let summary = jobs::statistics(state.domain(), &job)
        .await
        .ok_or(Error::NotFound)?;
    let chart = charts::chart(&summary, name).ok_or(Error::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        chart.svg,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use gas_jobs::{Job, JobStatus, Role, User};

    use super::*;
    use crate::domain::charts::Summary;

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
            layout: Layout::new("t", Some(&user), &CsrfToken("c".into()), Nav::Annotations),
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
