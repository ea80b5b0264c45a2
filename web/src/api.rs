use std::io;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use futures::SinkExt;
use gas_jobs::messages::JobRequest;
use gas_jobs::{now_epoch, Job, JobStatus, Role, StoreError};
use gas_storage::BlobError;
use serde::Deserialize;
use serde_json::json;
use tracing::{info, info_span, warn, Instrument};

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::view::{download_until, job_json, results_state};
use crate::WebState;

type AppState = State<Arc<WebState>>;

pub fn routes(max_upload: u64) -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/jobs", post(create_job).get(list_jobs))
        .route("/api/v1/jobs/{id}", get(get_job))
        .route("/api/v1/jobs/{id}/results", get(get_results))
        .route("/api/v1/jobs/{id}/log", get(get_log))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/upgrade", post(upgrade))
        // The upload limit is enforced while streaming (per role); this only
        // lifts axum's small default so that the stream gets that far.
        .layer(DefaultBodyLimit::max(
            usize::try_from(max_upload)
                .unwrap_or(usize::MAX)
                .saturating_add(64 * 1024),
        ))
}

fn window_secs(state: &WebState) -> i64 {
    state.settings.free_access_window.as_secs() as i64
}

/// The caller's own job; anyone else's is indistinguishable from none.
async fn own_job(state: &WebState, user: &gas_jobs::User, job_id: &str) -> Result<Job, ApiError> {
    match state.ports.jobs.get(job_id).await? {
        Some(job) if job.user_id == user.user_id => Ok(job),
        _ => Err(ApiError::NotFound),
    }
}

/// What the API shows of a user (never the secrets' hashes).
fn profile(user: &gas_jobs::User) -> serde_json::Value {
    json!({ "user_id": user.user_id, "email": user.email, "role": user.role })
}

async fn me(CurrentUser(user): CurrentUser) -> Json<serde_json::Value> {
    Json(profile(&user))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_jobs(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let page = match state
        .ports
        .jobs
        .list_for_user(&user.user_id, limit, query.cursor.as_deref())
        .await
    {
        Ok(page) => page,
        Err(StoreError::BadCursor) => return Err(ApiError::BadRequest("invalid cursor".into())),
        Err(e) => return Err(e.into()),
    };
    let window = window_secs(&state);
    let jobs: Vec<_> = page
        .items
        .iter()
        .map(|j| job_json(j, user.role, window))
        .collect();
    Ok(Json(json!({ "jobs": jobs, "next": page.next })))
}

async fn get_job(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    Path(job_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let job = own_job(&state, &user, &job_id).await?;
    Ok(Json(job_json(&job, user.role, window_secs(&state))))
}

async fn get_results(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    let job = own_job(&state, &user, &job_id).await?;
    let Some(result_key) = job
        .s3_key_result_file
        .as_deref()
        .filter(|_| job.job_status == JobStatus::Completed)
    else {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "the job is {}; results exist only once it completes",
                job.job_status.as_str()
            ),
        ));
    };
    if user.role == Role::Free {
        let until = download_until(&job, user.role, window_secs(&state));
        let window_over = until.is_some_and(|until| now_epoch() >= until);
        // Archived means the window is over, whatever the clocks say.
        if window_over || job.results_file_archive_id.is_some() {
            return Err(ApiError::refused(
                StatusCode::FORBIDDEN,
                "upgrade",
                "the free download window for these results is over; upgrade to premium to get them back",
            ));
        }
    }
    match results_state(&job) {
        Some("available") => {}
        Some("restoring") => {
            return Err(ApiError::refused(
                StatusCode::CONFLICT,
                "restoring",
                "the results are being restored from cold storage; try again later",
            ))
        }
        _ => {
            return Err(ApiError::refused(
                StatusCode::CONFLICT,
                "restoring",
                "the results are in cold storage; a restore will start shortly",
            ))
        }
    }
    let file_name = result_key.rsplit('~').next().unwrap_or("results.vcf");
    let url = state
        .ports
        .results
        .download_url(result_key, state.settings.download_ttl, file_name)
        .await?;
    Ok(Redirect::to(&url).into_response())
}

async fn get_log(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    let job = own_job(&state, &user, &job_id).await?;
    let Some(log_key) = job.s3_key_log_file.as_deref() else {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "the job is {}; its log is written when it ends",
                job.job_status.as_str()
            ),
        ));
    };
    let body = state.ports.results.get(log_key).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from_stream(body),
    )
        .into_response())
}

async fn upgrade(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ports = &state.ports;
    let user = crate::upgrade_user(
        ports.jobs.as_ref(),
        ports.users.as_ref(),
        ports.archive_timer.as_ref(),
        ports.restore_topic.as_ref(),
        &user.user_id,
    )
    .instrument(info_span!("upgrade", user_id = %user.user_id))
    .await?;
    Ok(Json(profile(&user)))
}

/// Why an upload stream stopped early.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error("the file is larger than the {limit} bytes allowed for your plan")]
    TooLarge { limit: u64 },
    #[error("the file is not a VCF: it must start with ##fileformat=VCF")]
    NotVcf,
    #[error("the file is empty")]
    Empty,
    #[error("the upload was interrupted: {0}")]
    Client(String),
}

/// Bytes a VCF starts with; checked as the upload streams so that an obvious
/// mistake (a BAM, a spreadsheet) is refused at once.
const VCF_MAGIC: &[u8] = b"##fileformat=VCF";

async fn create_job(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
        let Some(field) = field else {
            return Err(ApiError::BadRequest(
                "the multipart field `file` is missing".into(),
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let file_name = clean_file_name(field.file_name().unwrap_or_default())?;
        let job_id = uuid::Uuid::new_v4().to_string();
        let span = info_span!("upload", job_id = %job_id, user_id = %user.user_id);
        return accept_upload(&state, &user, field, job_id, file_name)
            .instrument(span)
            .await;
    }
}

async fn accept_upload(
    state: &WebState,
    user: &gas_jobs::User,
    mut field: axum::extract::multipart::Field<'_>,
    job_id: String,
    file_name: String,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let limit = match user.role {
        Role::Free => state
            .settings
            .free_upload_limit
            .min(state.settings.max_upload),
        Role::Premium => state.settings.max_upload,
    };
    let key = format!(
        "{}/{}/{}~{}",
        state.settings.key_prefix, user.user_id, job_id, file_name
    );

    // The field borrows the request, so it is pumped through a small channel
    // into the store's 'static body stream, in this same task.
    let (mut tx, rx) = futures::channel::mpsc::channel::<io::Result<Bytes>>(4);
    let pump = async move {
        let mut total: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(VCF_MAGIC.len());
        let outcome = loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    break if total == 0 {
                        Err(UploadError::Empty)
                    } else if head.len() < VCF_MAGIC.len() {
                        Err(UploadError::NotVcf)
                    } else {
                        Ok(total)
                    }
                }
                Err(e) => break Err(UploadError::Client(e.body_text())),
            };
            total += chunk.len() as u64;
            if total > limit {
                break Err(UploadError::TooLarge { limit });
            }
            if head.len() < VCF_MAGIC.len() {
                let take = (VCF_MAGIC.len() - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if !VCF_MAGIC.starts_with(&head) {
                    break Err(UploadError::NotVcf);
                }
            }
            if tx.send(Ok(chunk)).await.is_err() {
                break Err(UploadError::Client("the store stopped reading".into()));
            }
        };
        if let Err(e) = &outcome {
            // Makes the store discard what it has (its put fails).
            let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
        }
        outcome
    };
    let (pumped, stored) = tokio::join!(pump, state.ports.inputs.put(&key, Box::pin(rx)));
    match pumped {
        Err(e @ UploadError::TooLarge { .. }) => return Err(ApiError::TooLarge(e.to_string())),
        Err(e) => return Err(ApiError::BadRequest(e.to_string())),
        Ok(_) => {}
    }
    let size = match stored {
        Ok(size) => size,
        Err(BlobError::Body(e)) => return Err(ApiError::BadRequest(format!("upload failed: {e}"))),
        Err(e) => return Err(e.into()),
    };

    let job = Job::new_pending(
        &job_id,
        &user.user_id,
        &file_name,
        state.ports.inputs.bucket(),
        &key,
        now_epoch(),
    );
    state.ports.jobs.create(&job).await?;
    let request = serde_json::to_string(&JobRequest::from(&job))?;
    if let Err(e) = publish_with_retry(state, &request).await {
        // Nothing will run it: say so on the job rather than leave it PENDING.
        let _ = state
            .ports
            .jobs
            .fail(
                &job_id,
                "the job could not be queued; please submit it again",
                None,
                now_epoch(),
            )
            .await;
        return Err(ApiError::Unavailable(e));
    }
    info!(size, file = %file_name, "job submitted");
    metrics::counter!("gas_web_jobs_submitted_total").increment(1);
    Ok((
        StatusCode::CREATED,
        Json(job_json(&job, user.role, window_secs(state))),
    ))
}

async fn publish_with_retry(state: &WebState, request: &str) -> anyhow::Result<()> {
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=3 {
        match state.ports.requests_topic.publish(request).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt == 3 => {
                return Err(anyhow::Error::new(e).context("publishing the job request"))
            }
            Err(e) => {
                warn!(error = %e, attempt, "publishing the job request failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// The last path segment of what the browser sent, restricted to characters
/// that are safe in object keys, URLs and Content-Disposition.
fn clean_file_name(raw: &str) -> Result<String, ApiError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        return Err(ApiError::BadRequest("the upload has no file name".into()));
    }
    if !cleaned.to_ascii_lowercase().ends_with(".vcf") {
        return Err(ApiError::BadRequest(format!(
            "{cleaned:?} is not a .vcf file; upload a VCF (plain text, .vcf)"
        )));
    }
    if cleaned.len() > 200 {
        return Err(ApiError::BadRequest("the file name is too long".into()));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned_and_must_be_vcf() {
        assert_eq!(clean_file_name("test.vcf").unwrap(), "test.vcf");
        assert_eq!(
            clean_file_name("C:\\data\\my file.vcf").unwrap(),
            "my_file.vcf"
        );
        assert_eq!(clean_file_name("../../etc/x.VCF").unwrap(), "x.VCF");
        assert!(
            clean_file_name("..vcf").is_err(),
            "hidden names are not kept"
        );
        assert!(clean_file_name("notes.txt").is_err());
        assert!(clean_file_name("").is_err());
        assert!(clean_file_name("dir/").is_err());
    }
}
