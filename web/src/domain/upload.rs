//! Submitting a job: an input streamed through the web service (the API,
//! and the upload page on the embedded backend), or one a browser put
//! straight into the inputs bucket with a presigned POST (the upload page
//! on AWS), checked before it becomes a job.

use std::io;

use bytes::Bytes;
use futures::{SinkExt, Stream, StreamExt};
use gas_jobs::messages::JobRequest;
use gas_jobs::{now_epoch, Job, Role, StoreError, User};
use gas_storage::BlobError;
use tracing::{info, warn};

use crate::domain::error::{Error, Refusal};
use crate::domain::ports::Ports;

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
pub fn upload_limit(ports: Ports<'_>, user: &User) -> u64 {
    match user.role {
        Role::Free => ports.rules.free_upload_limit.min(ports.rules.max_upload),
        Role::Premium => ports.rules.max_upload,
    }
}

/// The key prefix of a new job's input: `<prefix>/<user_id>/<job_id>~`.
pub fn input_key_prefix(ports: Ports<'_>, user: &User, job_id: &str) -> String {
    format!("{}/{}/{}~", ports.rules.key_prefix, user.user_id, job_id)
}

/// Streams an uploaded file (the browser's name for it, and its bytes as
/// they arrive; an error is the client's, in words) into the inputs store
/// and submits the job. The size limit and the VCF check apply while the
/// bytes stream.
pub async fn accept_stream<E: std::fmt::Display>(
    ports: Ports<'_>,
    user: &User,
    file_name: &str,
    body: impl Stream<Item = Result<Bytes, E>>,
) -> Result<Job, Error> {
    let file_name = clean_file_name(file_name)?;
    let job_id = uuid::Uuid::new_v4().to_string();
    let limit = upload_limit(ports, user);
    let key = format!("{}{}", input_key_prefix(ports, user, &job_id), file_name);
    let mut body = std::pin::pin!(body);

    // The field borrows the request, so it is pumped through a small channel
    // into the store's 'static body stream, in this same task.
    let (mut tx, rx) = futures::channel::mpsc::channel::<io::Result<Bytes>>(4);
    let pump = async move {
        let mut total: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(VCF_MAGIC.len());
        let outcome = loop {
            let chunk = match body.next().await {
                Some(Ok(chunk)) => chunk,
                None => {
                    break if total == 0 {
                        Err(UploadError::Empty)
                    } else if head.len() < VCF_MAGIC.len() {
                        Err(UploadError::NotVcf)
                    } else {
                        Ok(total)
                    }
                }
                Some(Err(e)) => break Err(UploadError::Client(e.to_string())),
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
    let (pumped, stored) = tokio::join!(pump, ports.inputs.put(&key, Box::pin(rx)));
    match pumped {
        Err(e @ UploadError::TooLarge { .. }) => return Err(Error::TooLarge(e.to_string())),
        Err(e) => return Err(Error::Invalid(e.to_string())),
        Ok(_) => {}
    }
    let size = match stored {
        Ok(size) => size,
        Err(BlobError::Body(e)) => return Err(Error::Invalid(format!("upload failed: {e}"))),
        Err(e) => return Err(e.into()),
    };
    info!(size, file = %file_name, "input stored");
    submit(ports, user, &job_id, &file_name, &key).await
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
    ports: Ports<'_>,
    user: &User,
    bucket: &str,
    key: &str,
) -> Result<Job, Error> {
    let inputs = ports.inputs;
    if bucket != inputs.bucket() {
        return Err(Error::Invalid("the upload went to another bucket".into()));
    }
    let own_prefix = format!("{}/{}/", ports.rules.key_prefix, user.user_id);
    let Some(rest) = key.strip_prefix(&own_prefix) else {
        // Not where this user's form could have put it (real S3 enforces
        // the policy; an emulator or a forged redirect may not). Removed,
        // unless it is a job's input, which stays whoever asked.
        if !is_job_input(ports, key).await? {
            delete_quietly(ports, key).await;
        }
        return Err(Error::NotFound);
    };
    let refuse = |e: Error| async move {
        delete_quietly(ports, key).await;
        Err::<Job, Error>(e)
    };
    let Some((job_id, raw_name)) = rest.split_once('~') else {
        return refuse(Error::Invalid(
            "the upload's key is not one GAS made".into(),
        ))
        .await;
    };
    if uuid::Uuid::parse_str(job_id).is_err() || job_id.contains('/') {
        return refuse(Error::Invalid(
            "the upload's key is not one GAS made".into(),
        ))
        .await;
    }
    // An existing job owns this input: a replayed redirect changes nothing.
    if ports.jobs.get(job_id).await?.is_some() {
        return Err(Refusal::Duplicate.into());
    }
    // Real S3 fills in `${filename}`; an emulator may not, and a browser
    // without JavaScript sends whatever name it has.
    let file_name = match raw_name {
        "${filename}" => "input.vcf".to_string(),
        name => match clean_file_name(name) {
            Ok(clean) if clean == name => clean,
            Ok(_) | Err(_) => {
                return refuse(Error::Invalid(format!(
                    "{raw_name:?} is not a .vcf file name GAS accepts"
                )))
                .await
            }
        },
    };
    let Some(object) = inputs.stat(key).await? else {
        return Err(Error::Invalid(
            "the upload did not arrive; please try again".into(),
        ));
    };
    let size = object.size;
    let limit = upload_limit(ports, user);
    if size > limit {
        return refuse(Error::TooLarge(format!(
            "the file is larger than the {limit} bytes allowed for your plan"
        )))
        .await;
    }
    if size == 0 {
        return refuse(Error::Invalid("the file is empty".into())).await;
    }
    match starts_like_vcf(ports, key, &object.etag).await {
        Ok(true) => {}
        Ok(false) => return refuse(Error::Invalid(UploadError::NotVcf.to_string())).await,
        // Posted again while it was checked. Not deleted: what is there now
        // is the newer post's, whose own return here checks it.
        Err(BlobError::Changed(_)) => {
            return Err(Error::Invalid(
                "the upload changed while it was being checked; please submit it again".into(),
            ))
        }
        Err(BlobError::Body(e)) => return Err(Error::Internal(anyhow::Error::new(e))),
        Err(e) => return Err(e.into()),
    }
    info!(size, file = %file_name, "browser upload checked");
    // The job names the key as stored (with a placeholder name if the
    // store kept one); the file name shown is the cleaned one.
    let mut job = pending_job(ports, user, job_id, &file_name, key);
    job.input_etag = Some(object.etag);
    submit_job(ports, job).await
}

/// Reads just enough of the object's version `etag` to see the VCF
/// header's first bytes; [`BlobError::Changed`] if it is another version.
async fn starts_like_vcf(ports: Ports<'_>, key: &str, etag: &str) -> Result<bool, BlobError> {
    let mut body = ports.inputs.get_if_match(key, etag).await?;
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
async fn is_job_input(ports: Ports<'_>, key: &str) -> Result<bool, Error> {
    let job_id = key
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once('~'))
        .map(|(id, _)| id)
        .unwrap_or_default();
    if job_id.is_empty() {
        return Ok(false);
    }
    Ok(ports
        .jobs
        .get(job_id)
        .await?
        .is_some_and(|job| job.s3_key_input_file == key))
}

async fn delete_quietly(ports: Ports<'_>, key: &str) {
    match ports.inputs.delete(key).await {
        Ok(()) => info!(key, "refused upload deleted"),
        Err(e) => warn!(key, error = %e, "could not delete a refused upload"),
    }
}

/// Records the PENDING job for a stored input and queues it.
async fn submit(
    ports: Ports<'_>,
    user: &User,
    job_id: &str,
    file_name: &str,
    key: &str,
) -> Result<Job, Error> {
    submit_job(ports, pending_job(ports, user, job_id, file_name, key)).await
}

/// The PENDING job for a stored input.
fn pending_job(ports: Ports<'_>, user: &User, job_id: &str, file_name: &str, key: &str) -> Job {
    Job::new_pending(
        job_id,
        &user.user_id,
        file_name,
        ports.inputs.bucket(),
        key,
        now_epoch(),
    )
}

/// Records `job` (PENDING) and queues it.
async fn submit_job(ports: Ports<'_>, job: Job) -> Result<Job, Error> {
    let job_id = job.job_id.as_str();
    let file_name = job.input_file_name.as_str();
    match ports.jobs.create(&job).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => return Err(Refusal::Duplicate.into()),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = queue_request(ports, &job).await {
        // Nothing will run it: say so on the job rather than leave it PENDING.
        let _ = ports
            .jobs
            .fail(
                job_id,
                "the job could not be queued; please submit it again",
                None,
                now_epoch(),
            )
            .await;
        return Err(Error::Unavailable(e));
    }
    info!(job_id, file = %file_name, "job submitted");
    metrics::counter!("gas_web_jobs_submitted_total").increment(1);
    Ok(job)
}

/// Publishes `job`'s request to the runners, retrying a failed publish
/// twice. Submitting and requeueing a stalled job (`requeue.rs`) both queue
/// jobs this way.
pub async fn queue_request(ports: Ports<'_>, job: &Job) -> anyhow::Result<()> {
    let request = serde_json::to_string(&JobRequest::from(job))?;
    let request = request.as_str();
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=3 {
        match ports.requests_topic.publish(request).await {
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
pub fn clean_file_name(raw: &str) -> Result<String, Error> {
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
        return Err(Error::Invalid("the upload has no file name".into()));
    }
    if !cleaned.to_ascii_lowercase().ends_with(".vcf") {
        return Err(Error::Invalid(format!(
            "{cleaned:?} is not a .vcf file; upload a VCF (plain text, .vcf)"
        )));
    }
    if cleaned.len() > 200 {
        return Err(Error::Invalid("the file name is too long".into()));
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
