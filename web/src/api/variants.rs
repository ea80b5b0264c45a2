//! `GET /api/v1/jobs/{id}/variants`: a page of the job's variant table,
//! with the contract's query parameters (`gas_variants::Params`), or with
//! `format=tsv|json` the whole filtered set, streamed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gas_variants::Params;
use serde::Deserialize;

use crate::api::auth::CurrentUser;
use crate::api::error::ApiError;
use crate::domain::variants::ExportFormat;
use crate::domain::{jobs, variants};
use crate::state::WebState;

/// The export's parameter, beside the table's.
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    format: Option<String>,
}

pub async fn get_variants(
    State(state): State<Arc<WebState>>,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
    params: Result<Query<Params>, QueryRejection>,
    export: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(job_id) = job_id?;
    // Someone else's job is not found, whatever the parameters say.
    let job = jobs::own_job(state.domain(), &user, &job_id).await?;
    let Query(params) = params?;
    let Query(export) = export?;
    let query = variants::parse_query(&params)?;
    match ExportFormat::parse(export.format.as_deref())? {
        None => {
            let answer =
                variants::variants(state.domain(), &state.variant_indexes, &user, &job, query)
                    .await?;
            Ok(Json(answer).into_response())
        }
        Some(format) => {
            let stream = variants::export(
                state.domain(),
                &state.variant_indexes,
                &user,
                &job,
                query,
                format,
            )
            .await?;
            let disposition = format!(
                "attachment; filename=\"{}.variants.{}\"",
                job.job_id.replace(['"', '\\'], ""),
                format.extension()
            );
            Ok((
                [
                    (header::CONTENT_TYPE, format.content_type().to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                Body::from_stream(stream),
            )
                .into_response())
        }
    }
}
