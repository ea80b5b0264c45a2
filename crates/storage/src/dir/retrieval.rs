//! The directory archive's retrieval records and the Glacier job-completion
//! notification it publishes for them.
//!
//! A retrieval is two files in `retrievals/`: `<id>.json` (this record) and
//! `<id>.out` (the archive's bytes as they were when the retrieval started).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::OffsetDateTime;

use super::fsutil;
use crate::{bytes_stream, Tier};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RetrievalRecord {
    pub archive_id: String,
    pub tier: Tier,
    pub description: String,
    /// Epoch milliseconds.
    pub started_ms: i64,
    /// When the output becomes readable (epoch milliseconds).
    pub ready_ms: i64,
    /// Whether the completion notification was published.
    pub notified: bool,
    pub archive_size: u64,
}

impl RetrievalRecord {
    pub fn is_ready(&self, now_ms: i64) -> bool {
        now_ms >= self.ready_ms
    }
}

/// Retrieval ids are ours (UUIDs); anything else names no retrieval and must
/// never reach a path.
pub(super) fn valid_retrieval_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(super) fn record_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

pub(super) fn output_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.out"))
}

/// Reads a record; `Ok(None)` if there is none.
pub(super) async fn read_record(path: &Path) -> io::Result<Option<RetrievalRecord>> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes a record atomically (a reader sees the old or the new one).
pub(super) async fn write_record(path: &Path, record: &RetrievalRecord) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    match fsutil::write_atomic(path, bytes_stream(json)).await {
        Ok(_) => Ok(()),
        Err(fsutil::WriteError::Body(e) | fsutil::WriteError::Io(e)) => Err(e),
    }
}

/// Glacier's job-completion notification for a finished retrieval, as SNS
/// would carry it in `Message`.
pub(super) fn completion_notification(
    retrieval_id: &str,
    record: &RetrievalRecord,
    vault_arn: &str,
    topic_arn: &str,
) -> String {
    let byte_range = match record.archive_size {
        0 => serde_json::Value::Null,
        n => format!("0-{}", n - 1).into(),
    };
    serde_json::json!({
        "Action": "ArchiveRetrieval",
        "ArchiveId": record.archive_id,
        "ArchiveSizeInBytes": record.archive_size,
        "Completed": true,
        "CompletionDate": iso8601_millis(record.ready_ms),
        "CreationDate": iso8601_millis(record.started_ms),
        "InventorySizeInBytes": null,
        "JobDescription": record.description,
        "JobId": retrieval_id,
        "RetrievalByteRange": byte_range,
        "SNSTopic": topic_arn,
        "StatusCode": "Succeeded",
        "StatusMessage": "Succeeded",
        "Tier": record.tier.as_str(),
        "VaultARN": vault_arn,
    })
    .to_string()
}

/// `2012-05-15T17:21:39.339Z`, the form of Glacier's dates.
fn iso8601_millis(epoch_ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_glacier_form() {
        assert_eq!(
            iso8601_millis(1_337_102_499_339),
            "2012-05-15T17:21:39.339Z"
        );
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn ids_that_could_escape_are_refused() {
        assert!(valid_retrieval_id("0f5c9b2e4a7d4c1e9f3b6a8d2c4e6f10"));
        for bad in ["", "../x", "a/b", ".gas-tmp-1", "a.json"] {
            assert!(!valid_retrieval_id(bad), "{bad:?}");
        }
    }
}
