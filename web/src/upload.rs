//! Submitting a job: an input streamed through the web service (the API,
//! and the upload page on the embedded backend), or one a browser put
//! straight into the inputs bucket with a presigned POST (the upload page
//! on AWS), checked before it becomes a job.

use std::io;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use gas_jobs::messages::JobRequest;
use gas_jobs::{now_epoch, Job, Role, StoreError, User};
use gas_storage::BlobError;
use tracing::{info, warn};

use crate::error::ApiError;
use crate::WebState;

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
pub const VCF_MAGIC: &[u8] = b"##fileformat=VCF";

/// The largest upload `user`'s plan allows, bytes.
pub fn upload_limit(state: &WebState, user: &User) -> u64 {
    match user.role {
        Role::Free => state
            .settings
            .free_upload_limit
            .min(state.settings.max_upload),
        Role::Premium => state.settings.max_upload,
    }
}

/// The key prefix of a new job's input: `<prefix>/<user_id>/<job_id>~`.
pub fn input_key_prefix(state: &WebState, user: &User, job_id: &str) -> String {
    format!("{}/{}/{}~", state.settings.key_prefix, user.user_id, job_id)
}

/// Streams a multipart `file` field into the inputs store and submits the
/// job. The size limit and the VCF check apply while the bytes stream.
pub async fn accept_field(
    state: &WebState,
    user: &User,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Job, ApiError> {
    let file_name = clean_file_name(field.file_name().unwrap_or_default())?;
    let job_id = uuid::Uuid::new_v4().to_string();
    let limit = upload_limit(state, user);
    let key = format!("{}{}", input_key_prefix(state, user, &job_id), file_name);

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
    info!(size, file = %file_name, "input stored");
    submit(state, user, &job_id, &file_name, &key).await
}

/// Checks an object a browser uploaded with the presigned POST and submits
/// it as a job. Anything that fails a check is deleted (unless it is
/// another user's or already a job's input, which is left alone) and
/// makes no job.
///
/// The form stays valid after this (S3 cannot make a POST policy
/// single-use), so the object under the key can be replaced at any time.
/// The checks are therefore made on one version of it (its etag, from
/// `stat`; the first bytes are read only if it is still that version), and
/// the job records that version: the runner reads that and nothing else.
pub async fn accept_uploaded_object(
    state: &WebState,
    user: &User,
    bucket: &str,
    key: &str,
) -> Result<Job, ApiError> {
    let inputs = &state.ports.inputs;
    if bucket != inputs.bucket() {
        return Err(ApiError::BadRequest(
            "the upload went to another bucket".into(),
        ));
    }
    let own_prefix = format!("{}/{}/", state.settings.key_prefix, user.user_id);
    let Some(rest) = key.strip_prefix(&own_prefix) else {
        // Not where this user's form could have put it (real S3 enforces
        // the policy; an emulator or a forged redirect may not). Removed,
        // unless it is a job's input, which stays whoever asked.
        if !is_job_input(state, key).await? {
            delete_quietly(state, key).await;
        }
        return Err(ApiError::NotFound);
    };
    let refuse = |e: ApiError| async move {
        delete_quietly(state, key).await;
        Err::<Job, ApiError>(e)
    };
    let Some((job_id, raw_name)) = rest.split_once('~') else {
        return refuse(ApiError::BadRequest(
            "the upload's key is not one GAS made".into(),
        ))
        .await;
    };
    if uuid::Uuid::parse_str(job_id).is_err() || job_id.contains('/') {
        return refuse(ApiError::BadRequest(
            "the upload's key is not one GAS made".into(),
        ))
        .await;
    }
    // An existing job owns this input: a replayed redirect changes nothing.
    if state.ports.jobs.get(job_id).await?.is_some() {
        return Err(ApiError::refused(
            axum::http::StatusCode::CONFLICT,
            "duplicate",
            "this upload was already submitted",
        ));
    }
    // Real S3 fills in `${filename}`; an emulator may not, and a browser
    // without JavaScript sends whatever name it has.
    let file_name = match raw_name {
        "${filename}" => "input.vcf".to_string(),
        name => match clean_file_name(name) {
            Ok(clean) if clean == name => clean,
            Ok(_) | Err(_) => {
                return refuse(ApiError::BadRequest(format!(
                    "{raw_name:?} is not a .vcf file name GAS accepts"
                )))
                .await
            }
        },
    };
    let Some(object) = inputs.stat(key).await? else {
        return Err(ApiError::BadRequest(
            "the upload did not arrive; please try again".into(),
        ));
    };
    let size = object.size;
    let limit = upload_limit(state, user);
    if size > limit {
        return refuse(ApiError::TooLarge(format!(
            "the file is larger than the {limit} bytes allowed for your plan"
        )))
        .await;
    }
    if size == 0 {
        return refuse(ApiError::BadRequest("the file is empty".into())).await;
    }
    match starts_like_vcf(state, key, &object.etag).await {
        Ok(true) => {}
        Ok(false) => return refuse(ApiError::BadRequest(UploadError::NotVcf.to_string())).await,
        // Posted again while it was checked. Not deleted: what is there now
        // is the newer post's, whose own return here checks it.
        Err(BlobError::Changed(_)) => {
            return Err(ApiError::BadRequest(
                "the upload changed while it was being checked; please submit it again".into(),
            ))
        }
        Err(BlobError::Body(e)) => return Err(ApiError::Internal(anyhow::Error::new(e))),
        Err(e) => return Err(e.into()),
    }
    info!(size, file = %file_name, "browser upload checked");
    // The job names the key as stored (with a placeholder name if the
    // store kept one); the file name shown is the cleaned one.
    let mut job = pending_job(state, user, job_id, &file_name, key);
    job.input_etag = Some(object.etag);
    submit_job(state, job).await
}

/// Reads just enough of the object's version `etag` to see the VCF
/// header's first bytes; [`BlobError::Changed`] if it is another version.
async fn starts_like_vcf(state: &WebState, key: &str, etag: &str) -> Result<bool, BlobError> {
    let mut body = state.ports.inputs.get_if_match(key, etag).await?;
    let mut head = Vec::with_capacity(VCF_MAGIC.len());
    while head.len() < VCF_MAGIC.len() {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk[..chunk.len().min(VCF_MAGIC.len())]),
            Some(Err(e)) => return Err(BlobError::Body(e)),
            None => break,
        }
    }
    Ok(head.starts_with(VCF_MAGIC))
}

/// Whether `key` is the recorded input of an existing job.
async fn is_job_input(state: &WebState, key: &str) -> Result<bool, ApiError> {
    let job_id = key
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once('~'))
        .map(|(id, _)| id)
        .unwrap_or_default();
    if job_id.is_empty() {
        return Ok(false);
    }
    Ok(state
        .ports
        .jobs
        .get(job_id)
        .await?
        .is_some_and(|job| job.s3_key_input_file == key))
}

async fn delete_quietly(state: &WebState, key: &str) {
    match state.ports.inputs.delete(key).await {
        Ok(()) => info!(key, "refused upload deleted"),
        Err(e) => warn!(key, error = %e, "could not delete a refused upload"),
    }
}

/// Records the PENDING job for a stored input and queues it.
async fn submit(
    state: &WebState,
    user: &User,
    job_id: &str,
    file_name: &str,
    key: &str,
) -> Result<Job, ApiError> {
    submit_job(state, pending_job(state, user, job_id, file_name, key)).await
}

/// The PENDING job for a stored input.
fn pending_job(state: &WebState, user: &User, job_id: &str, file_name: &str, key: &str) -> Job {
    Job::new_pending(
        job_id,
        &user.user_id,
        file_name,
        state.ports.inputs.bucket(),
        key,
        now_epoch(),
    )
}

/// Records `job` (PENDING) and queues it.
async fn submit_job(state: &WebState, job: Job) -> Result<Job, ApiError> {
    let job_id = job.job_id.as_str();
    let file_name = job.input_file_name.as_str();
    match state.ports.jobs.create(&job).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => {
            return Err(ApiError::refused(
                axum::http::StatusCode::CONFLICT,
                "duplicate",
                "this upload was already submitted",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = queue_request(state, &job).await {
        // Nothing will run it: say so on the job rather than leave it PENDING.
        let _ = state
            .ports
            .jobs
            .fail(
                job_id,
                "the job could not be queued; please submit it again",
                None,
                now_epoch(),
            )
            .await;
        return Err(ApiError::Unavailable(e));
    }
    info!(job_id, file = %file_name, "job submitted");
    metrics::counter!("gas_web_jobs_submitted_total").increment(1);
    Ok(job)
}

/// Publishes `job`'s request to the runners, retrying a failed publish
/// twice. Submitting and requeueing a stalled job (`requeue.rs`) both queue
/// jobs this way.
pub(crate) async fn queue_request(state: &WebState, job: &Job) -> anyhow::Result<()> {
    let request = serde_json::to_string(&JobRequest::from(job))?;
    let request = request.as_str();
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
pub fn clean_file_name(raw: &str) -> Result<String, ApiError> {
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
