//! The upload page. On the embedded backend the form posts to this service,
//! which streams the file into the inputs store as the API does. With a
//! [`gas_storage::BrowserUpload`] (S3) the browser posts straight to the
//! bucket with a presigned form whose policy pins the key under the user's
//! prefix and a job id made here, and S3 sends it back to
//! `/annotate/uploaded`, which checks the object before it becomes a job.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures::StreamExt;
use gas_jobs::{Role, User};
use serde::Deserialize;
use tracing::{info_span, Instrument};

use crate::domain::error::Error;
use crate::domain::upload::{self, input_key_prefix, upload_limit};
use crate::pages::error::{status_and_words, PageError};
use crate::pages::extract::SignedIn;
use crate::pages::render::{human_bytes, render, Layout, Nav};
use crate::primitives::csrf::CsrfToken;
use crate::state::WebState;

type AppState = State<Arc<WebState>>;

/// How long a presigned upload form stays usable.
const FORM_TTL: Duration = Duration::from_secs(3600);

#[derive(Template)]
#[template(path = "annotate.html")]
struct AnnotatePage {
    layout: Layout,
    free: bool,
    limit_bytes: u64,
    limit_text: String,
    premium_limit_text: String,
    error: Option<String>,
    /// Where the form posts.
    action: String,
    /// Straight to the bucket (hidden policy fields, no CSRF field: the
    /// bucket does not know it, and the policy is the proof).
    direct: bool,
    fields: Vec<(String, String)>,
    key_prefix: String,
}

async fn page(
    state: &WebState,
    user: &User,
    csrf: &CsrfToken,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let limit = upload_limit(state.domain(), user);
    let (action, direct, fields, key_prefix) = match &state.ports.browser_upload {
        Some(uploads) => {
            let job_id = uuid::Uuid::new_v4().to_string();
            let prefix = input_key_prefix(state.domain(), user, &job_id);
            let redirect = format!(
                "{}/annotate/uploaded",
                state.settings.public_url.trim_end_matches('/')
            );
            let form = uploads
                .upload_form(&prefix, limit, FORM_TTL, &redirect)
                .await?;
            // `key` first, the policy fields after, the file last (S3 reads
            // fields in order and wants the file at the end).
            let mut fields: Vec<(String, String)> = form.fields.into_iter().collect();
            fields.sort_by_key(|(name, _)| name != "key");
            (form.url, true, fields, prefix)
        }
        None => ("/annotate".to_string(), false, Vec::new(), String::new()),
    };
    Ok(render(
        status,
        &AnnotatePage {
            layout: Layout::new("Annotate a VCF", Some(user), csrf, Nav::Annotate),
            free: user.role == Role::Free,
            limit_bytes: limit,
            limit_text: human_bytes(limit),
            premium_limit_text: human_bytes(state.settings.max_upload),
            error,
            action,
            direct,
            fields,
            key_prefix,
        },
    ))
}

/// The most a form field other than the file may hold (the token is 64).
const MAX_TEXT_FIELD: usize = 4 * 1024;

pub async fn form(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    page(&state, &user, &csrf, StatusCode::OK, None).await
}

/// The page again with what went wrong, in the status and words of the
/// pages' one match ([`status_and_words`]).
async fn refused(
    state: &WebState,
    user: &User,
    csrf: &CsrfToken,
    e: Error,
) -> Result<Response, PageError> {
    match e {
        Error::Invalid(_) | Error::TooLarge(_) | Error::Refused(_) => {
            let (status, words) = status_and_words(&e);
            page(state, user, csrf, status, Some(words)).await
        }
        other => Err(other.into()),
    }
}

/// The embedded backend's upload: `csrf_token` must be the form's first
/// field (the CSRF layer has checked it: see `pages/csrf.rs`), then `file`.
/// Any other field is read only up to [`MAX_TEXT_FIELD`] bytes and
/// dropped; a longer one refuses the upload.
pub async fn upload(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                let e = Error::Invalid("choose a VCF file to upload".into());
                return refused(&state, &user, &csrf, e).await;
            }
            Err(e) => {
                let e = Error::Invalid(format!("the upload was interrupted: {}", e.body_text()));
                return refused(&state, &user, &csrf, e).await;
            }
        };
        if field.name() != Some("file") {
            let mut size = 0usize;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => size += chunk.len(),
                    Ok(None) => break,
                    Err(e) => {
                        let e = Error::Invalid(format!(
                            "the upload was interrupted: {}",
                            e.body_text()
                        ));
                        return refused(&state, &user, &csrf, e).await;
                    }
                }
                if size > MAX_TEXT_FIELD {
                    let e = Error::Invalid(format!(
                        "the form field {:?} is longer than {MAX_TEXT_FIELD} bytes",
                        field.name().unwrap_or_default()
                    ));
                    return refused(&state, &user, &csrf, e).await;
                }
            }
            continue;
        }
        if field.name() != Some("file") {
            continue;
        }
        let span = info_span!("upload", user_id = %user.user_id);
        let file_name = field.file_name().unwrap_or_default().to_string();
        let body = field.map(|chunk| chunk.map_err(|e| e.body_text()));
        return match upload::accept_stream(state.domain(), &user, &file_name, body)
            .instrument(span)
            .await
        {
            Ok(job) => Ok(Redirect::to(&format!("/annotations/{}", job.job_id)).into_response()),
            Err(e) => refused(&state, &user, &csrf, e).await,
        };
    }
}

#[derive(Debug, Deserialize)]
pub struct Uploaded {
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    key: String,
}

/// Where S3 sends the browser after a presigned upload.
pub async fn uploaded(
    State(state): AppState,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Query(q): Query<Uploaded>,
) -> Result<Response, PageError> {
    let span = info_span!("browser_upload", user_id = %user.user_id, key = %q.key);
    match upload::accept_uploaded_object(state.domain(), &user, &q.bucket, &q.key)
        .instrument(span)
        .await
    {
        Ok(job) => Ok(Redirect::to(&format!("/annotations/{}", job.job_id)).into_response()),
        Err(Error::NotFound) => Err(Error::NotFound.into()),
        Err(e) => refused(&state, &user, &csrf, e).await,
    }
}
