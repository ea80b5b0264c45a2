//! [`DirArchiveStore`]: cold storage as a directory, with Glacier's two-step
//! reads and completion notifications, so that the restore path of the
//! services runs unchanged on the embedded backend.
//!
//! Layout under the root:
//! - `vault/<id>`: an archive; the id is the archive's name made safe for a
//!   file name, so archiving the same name again replaces it;
//! - `retrievals/<id>.json` and `retrievals/<id>.out`: a retrieval's record
//!   and its output. The output is taken (hard link, or copy where links do
//!   not work) when the retrieval starts, so deleting or replacing the
//!   archive afterwards does not change what the retrieval returns.
//!
//! A retrieval becomes readable once its tier's delay has passed.
//! [`DirArchiveStore::notify_due`] then publishes its completion (at least
//! once: publish, then mark as notified); [`DirArchiveStore::run_notifier`]
//! calls it on a tick and drops retrievals older than the retention.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gas_messaging::Topic;
use tokio::sync::watch;

use super::fsutil::{self, WriteError, TEMP_PREFIX};
use super::retrieval::{self, RetrievalRecord};
use crate::{file_stream, ArchiveError, ArchiveStore, ByteStream, RetrievalStatus, Tier};

/// The vault ARN in notifications unless [`DirArchiveStore::with_vault_arn`]
/// sets another.
pub const DEFAULT_VAULT_ARN: &str = "arn:aws:glacier:local:000000000000:vaults/gas-local";

/// How the directory archive imitates Glacier's retrieval times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirArchiveSettings {
    pub expedited_delay: Duration,
    pub standard_delay: Duration,
    pub bulk_delay: Duration,
    /// Refuse Expedited retrievals with
    /// [`ArchiveError::InsufficientCapacity`], as Glacier does when it has no
    /// capacity, so callers' fallback to Standard runs.
    pub refuse_expedited: bool,
    /// How long a finished retrieval stays readable (Glacier: 24 hours).
    pub retention: Duration,
}

impl Default for DirArchiveSettings {
    fn default() -> Self {
        Self {
            expedited_delay: Duration::from_secs(2),
            standard_delay: Duration::from_secs(10),
            bulk_delay: Duration::from_secs(30),
            refuse_expedited: false,
            retention: Duration::from_secs(24 * 3600),
        }
    }
}

impl DirArchiveSettings {
    fn delay(&self, tier: Tier) -> Duration {
        match tier {
            Tier::Expedited => self.expedited_delay,
            Tier::Standard => self.standard_delay,
            Tier::Bulk => self.bulk_delay,
        }
    }
}

/// Cold storage in a directory. See the module documentation.
pub struct DirArchiveStore {
    vault: PathBuf,
    retrievals: PathBuf,
    settings: DirArchiveSettings,
    topic: Option<Arc<dyn Topic>>,
    vault_arn: String,
}

impl std::fmt::Debug for DirArchiveStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirArchiveStore")
            .field("vault", &self.vault)
            .field("settings", &self.settings)
            .field("topic", &self.topic.as_ref().map(|t| t.arn().to_string()))
            .finish_non_exhaustive()
    }
}

impl DirArchiveStore {
    /// The archive under `root`, creating its directories. With a `topic`,
    /// finished retrievals are announced there by [`Self::notify_due`].
    pub fn new(
        root: PathBuf,
        settings: DirArchiveSettings,
        topic: Option<Arc<dyn Topic>>,
    ) -> io::Result<Self> {
        let vault = root.join("vault");
        let retrievals = root.join("retrievals");
        std::fs::create_dir_all(&vault)?;
        std::fs::create_dir_all(&retrievals)?;
        fsutil::sweep_in_background(vault.clone());
        fsutil::sweep_in_background(retrievals.clone());
        Ok(Self {
            vault,
            retrievals,
            settings,
            topic,
            vault_arn: DEFAULT_VAULT_ARN.to_string(),
        })
    }

    /// Sets the `VaultARN` that notifications carry.
    pub fn with_vault_arn(mut self, vault_arn: impl Into<String>) -> Self {
        self.vault_arn = vault_arn.into();
        self
    }

    pub fn settings(&self) -> &DirArchiveSettings {
        &self.settings
    }

    /// Publishes the completion notification of every finished retrieval
    /// not yet announced, then marks it announced; returns how many were
    /// published. Without a topic it does nothing. A publish that fails is
    /// retried on the next call; the others still go out, and the call
    /// returns the failure.
    pub async fn notify_due(&self) -> Result<usize, ArchiveError> {
        let Some(topic) = &self.topic else {
            return Ok(0);
        };
        let now = now_ms();
        let mut published = 0;
        let mut failure = None;
        for (id, mut record) in self.list_retrievals().await? {
            if record.notified || !record.is_ready(now) {
                continue;
            }
            let message =
                retrieval::completion_notification(&id, &record, &self.vault_arn, topic.arn());
            match topic.publish(&message).await {
                Ok(_) => {
                    record.notified = true;
                    retrieval::write_record(
                        &retrieval::record_path(&self.retrievals, &id),
                        &record,
                    )
                    .await
                    .map_err(ArchiveError::backend)?;
                    published += 1;
                }
                Err(e) => {
                    tracing::warn!(retrieval = %id, error = %e, "publishing a retrieval completion failed");
                    failure = Some(ArchiveError::backend(e));
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(published),
        }
    }

    /// Removes retrievals that finished longer than the retention ago;
    /// returns how many.
    pub async fn prune_expired(&self) -> Result<usize, ArchiveError> {
        let retention = i64::try_from(self.settings.retention.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        let mut removed = 0;
        for (id, record) in self.list_retrievals().await? {
            if record.ready_ms.saturating_add(retention) >= now {
                continue;
            }
            // Output first: a record without output reads as "not found",
            // never as a half retrieval.
            for path in [
                retrieval::output_path(&self.retrievals, &id),
                retrieval::record_path(&self.retrievals, &id),
            ] {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(ArchiveError::backend(e)),
                }
            }
            removed += 1;
        }
        Ok(removed)
    }

    /// Calls [`Self::notify_due`] and [`Self::prune_expired`] every `tick`
    /// until `shutdown` turns true (or its sender is dropped).
    pub async fn run_notifier(
        self: Arc<Self>,
        tick: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow_and_update() {
                return;
            }
            if let Err(e) = self.notify_due().await {
                tracing::warn!(error = %error_chain(&e), "archive notifier: notify failed");
            }
            if let Err(e) = self.prune_expired().await {
                tracing::warn!(error = %error_chain(&e), "archive notifier: prune failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Every readable retrieval record, with its id. Records that cannot be
    /// parsed are logged and skipped rather than stopping the others.
    async fn list_retrievals(&self) -> Result<Vec<(String, RetrievalRecord)>, ArchiveError> {
        let mut dir = tokio::fs::read_dir(&self.retrievals)
            .await
            .map_err(ArchiveError::backend)?;
        let mut out = Vec::new();
        while let Some(entry) = dir.next_entry().await.map_err(ArchiveError::backend)? {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if !retrieval::valid_retrieval_id(id) {
                continue;
            }
            match retrieval::read_record(&entry.path()).await {
                Ok(Some(record)) => out.push((id.to_string(), record)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(retrieval = %id, error = %e, "unreadable retrieval record")
                }
            }
        }
        Ok(out)
    }

    async fn record(&self, retrieval_id: &str) -> Result<RetrievalRecord, ArchiveError> {
        let missing = || ArchiveError::RetrievalNotFound(retrieval_id.to_string());
        if !retrieval::valid_retrieval_id(retrieval_id) {
            return Err(missing());
        }
        retrieval::read_record(&retrieval::record_path(&self.retrievals, retrieval_id))
            .await
            .map_err(ArchiveError::backend)?
            .ok_or_else(missing)
    }

    /// Takes the retrieval's output from the archive: a hard link (the
    /// archive file is never written in place, only replaced or removed, so
    /// the link keeps today's bytes), or a copy where linking fails.
    async fn take_output(&self, source: &Path, output: &Path) -> Result<(), ArchiveError> {
        let temp = fsutil::temp_path(&self.retrievals);
        let linked = tokio::fs::hard_link(source, &temp).await;
        let result = match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ArchiveError::NotFound(file_name(source)));
            }
            Err(_) => copy_synced(source, &temp).await,
        };
        let result = match result {
            Ok(()) => tokio::fs::rename(&temp, output).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(if e.kind() == io::ErrorKind::NotFound {
                ArchiveError::NotFound(file_name(source))
            } else {
                ArchiveError::backend(e)
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ArchiveStore for DirArchiveStore {
    async fn archive(&self, name: &str, body: ByteStream) -> Result<String, ArchiveError> {
        let id = archive_id_for(name)?;
        fsutil::write_atomic(&self.vault.join(&id), body)
            .await
            .map_err(|e| match e {
                WriteError::Body(e) => ArchiveError::Body(e),
                WriteError::Io(e) => ArchiveError::backend(e),
            })?;
        Ok(id)
    }

    async fn start_retrieval(
        &self,
        archive_id: &str,
        tier: Tier,
        description: &str,
    ) -> Result<String, ArchiveError> {
        if !valid_archive_id(archive_id) {
            return Err(ArchiveError::NotFound(archive_id.to_string()));
        }
        if tier == Tier::Expedited && self.settings.refuse_expedited {
            return Err(ArchiveError::InsufficientCapacity(tier));
        }
        let source = self.vault.join(archive_id);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let output = retrieval::output_path(&self.retrievals, &id);
        self.take_output(&source, &output).await?;
        let archive_size = tokio::fs::metadata(&output)
            .await
            .map_err(ArchiveError::backend)?
            .len();
        let started_ms = now_ms();
        let delay = i64::try_from(self.settings.delay(tier).as_millis()).unwrap_or(i64::MAX);
        let record = RetrievalRecord {
            archive_id: archive_id.to_string(),
            tier,
            description: description.to_string(),
            started_ms,
            ready_ms: started_ms.saturating_add(delay),
            notified: false,
            archive_size,
        };
        retrieval::write_record(&retrieval::record_path(&self.retrievals, &id), &record)
            .await
            .map_err(ArchiveError::backend)?;
        Ok(id)
    }

    async fn retrieval_status(&self, retrieval_id: &str) -> Result<RetrievalStatus, ArchiveError> {
        let record = self.record(retrieval_id).await?;
        Ok(if record.is_ready(now_ms()) {
            RetrievalStatus::Succeeded
        } else {
            RetrievalStatus::InProgress
        })
    }

    async fn retrieval_output(&self, retrieval_id: &str) -> Result<ByteStream, ArchiveError> {
        let record = self.record(retrieval_id).await?;
        if !record.is_ready(now_ms()) {
            return Err(ArchiveError::NotReady(retrieval_id.to_string()));
        }
        match tokio::fs::File::open(retrieval::output_path(&self.retrievals, retrieval_id)).await {
            Ok(file) => Ok(file_stream(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(ArchiveError::RetrievalNotFound(retrieval_id.to_string()))
            }
            Err(e) => Err(ArchiveError::backend(e)),
        }
    }

    async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        if !valid_archive_id(archive_id) {
            return Ok(());
        }
        match tokio::fs::remove_file(self.vault.join(archive_id)).await {
            Ok(()) => fsutil::sync_dir(&self.vault)
                .await
                .map_err(ArchiveError::backend),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ArchiveError::backend(e)),
        }
    }
}

/// Characters an archive name keeps as they are in its id; every other byte
/// becomes `%XX`.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// The archive id of `name`: the name with unusual bytes percent-encoded
/// (and a leading `.` too, so that no id is a hidden file). Names with `/`,
/// `\`, NUL or `..`, and the empty name, are refused: an id must be a plain
/// file name, and a caller passing a path is a bug to surface, not to mend.
fn archive_id_for(name: &str) -> Result<String, ArchiveError> {
    if name.is_empty() || name.contains(['/', '\\', '\0']) || name.contains("..") {
        return Err(ArchiveError::backend(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid archive name {name:?}"),
        )));
    }
    let mut id = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if is_plain(b) && !(i == 0 && b == b'.') {
            id.push(char::from(b));
        } else {
            id.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(id)
}

/// Whether `id` could have come from [`archive_id_for`]; nothing else may
/// reach a path.
fn valid_archive_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && !id.starts_with(TEMP_PREFIX)
        && !id.contains("..")
        && id.bytes().all(|b| is_plain(b) || b == b'%')
}

async fn copy_synced(from: &Path, to: &Path) -> io::Result<()> {
    tokio::fs::copy(from, to).await?;
    tokio::fs::OpenOptions::new()
        .write(true)
        .open(to)
        .await?
        .sync_all()
        .await
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An error and its sources, for logs.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_file_names() {
        assert_eq!(archive_id_for("0f5c-9b2e").unwrap(), "0f5c-9b2e");
        assert_eq!(archive_id_for("a b").unwrap(), "a%20b");
        assert_eq!(archive_id_for(".hidden").unwrap(), "%2Ehidden");
        assert_eq!(archive_id_for("é").unwrap(), "%C3%A9");
        for bad in ["", "a/b", "..", "a..b", "x\\y", "n\0"] {
            assert!(archive_id_for(bad).is_err(), "{bad:?} accepted");
        }
        for name in ["job-1", "a b", ".x", "é~"] {
            assert!(valid_archive_id(&archive_id_for(name).unwrap()));
        }
        for bad in ["", ".gas-tmp-1", "../vault", "a/b", ".x"] {
            assert!(!valid_archive_id(bad), "{bad:?} accepted");
        }
    }
}
