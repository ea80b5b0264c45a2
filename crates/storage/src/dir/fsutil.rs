//! Atomic file writes: stream into a hidden temporary file beside the
//! target, fsync it, rename it over the target, fsync the directory.
//!
//! A reader therefore sees the old file or the whole new one, never a part;
//! a crash leaves at most a stray temporary file (never served, since every
//! name starting with [`TEMP_PREFIX`] is refused as a key or id). If the body
//! fails or the future is dropped mid-write (a client went away), the
//! temporary file is removed. A process killed mid-write (SIGKILL, power
//! loss) cannot remove its temporary file; [`sweep_in_background`], run by
//! every directory store as it opens, removes those left long unwritten.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::ByteStream;

/// Names of temporary files start with this; no key or id may.
pub(crate) const TEMP_PREFIX: &str = ".gas-tmp-";

/// How long a temporary file must have gone without a write before a sweep
/// takes it for the leftover of a killed process. A live write touches its
/// file with every chunk; an hour without one is no upload still running.
pub(crate) const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// Removes the temporary files under `root`, at any depth, that no write
/// has touched for `older_than`. Best effort: what cannot be read or
/// removed is skipped (another process may be sweeping too). Returns how
/// many files it removed.
pub(crate) fn sweep_temporaries(root: &Path, older_than: Duration) -> usize {
    let Some(cutoff) = SystemTime::now().checked_sub(older_than) else {
        return 0;
    };
    let mut removed = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            let stale = kind.is_file()
                && entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified < cutoff);
            if stale && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// Runs [`sweep_temporaries`] over `root` with [`STALE_TEMPORARY`] on a
/// thread of its own, so that opening a large store is not delayed.
pub(crate) fn sweep_in_background(root: PathBuf) {
    let sweep = move || {
        let removed = sweep_temporaries(&root, STALE_TEMPORARY);
        if removed > 0 {
            tracing::info!(dir = %root.display(), removed, "removed temporary files of interrupted writes");
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("gas-tmp-sweep".into())
        .spawn(sweep)
    {
        tracing::warn!(error = %e, "could not start the sweep of temporary files");
    }
}

/// Why an atomic write failed.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The body stream failed; nothing was written.
    Body(io::Error),
    /// The file system failed.
    Io(io::Error),
}

/// A temporary file removed on drop unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: a leftover only wastes space, it is never served.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A fresh temporary path in `dir`.
pub(crate) fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()))
}

/// Streams `body` into `target` atomically; returns the bytes written.
/// `target`'s directory must exist.
pub(crate) async fn write_atomic(target: &Path, mut body: ByteStream) -> Result<u64, WriteError> {
    let dir = parent(target).map_err(WriteError::Io)?;
    let mut temp = TempFile {
        path: temp_path(dir),
        armed: true,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp.path)
        .await
        .map_err(WriteError::Io)?;
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(WriteError::Body)?;
        file.write_all(&chunk).await.map_err(WriteError::Io)?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(WriteError::Io)?;
    // The file system's own stamp comes from a clock that ticks every few
    // milliseconds; the precise time makes the new file's modification time
    // differ from any earlier file's at this path, even one whose inode
    // number this file was given again, so a blob's version (inode, time,
    // size) changes with every put.
    let file = file.into_std().await;
    tokio::task::spawn_blocking(move || {
        file.set_modified(SystemTime::now())?;
        file.sync_all()
    })
    .await
    .map_err(|e| WriteError::Io(io::Error::other(e)))?
    .map_err(WriteError::Io)?;
    tokio::fs::rename(&temp.path, target)
        .await
        .map_err(WriteError::Io)?;
    temp.armed = false;
    sync_dir(dir).await.map_err(WriteError::Io)?;
    Ok(written)
}

/// Makes the entries of `dir` durable: a rename or link into it survives a
/// crash once this returns.
pub(crate) async fn sync_dir(dir: &Path) -> io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

pub(crate) fn parent(path: &Path) -> io::Result<&Path> {
    path.parent().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent directory", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes_stream;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("obj");
        assert_eq!(write_atomic(&target, bytes_stream("one")).await.unwrap(), 3);
        assert_eq!(
            write_atomic(&target, bytes_stream("two!")).await.unwrap(),
            4
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"two!");
        assert_eq!(entries(dir.path()), vec!["obj"]);
    }

    #[tokio::test]
    async fn a_failed_body_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("obj");
        let body: ByteStream = Box::pin(futures::stream::iter(vec![
            Ok(bytes::Bytes::from_static(b"partial")),
            Err(io::Error::other("gone")),
        ]));
        assert!(matches!(
            write_atomic(&target, body).await,
            Err(WriteError::Body(_))
        ));
        assert!(entries(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_dropped_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("obj");
        let body: ByteStream = Box::pin(
            futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"partial"))])
                .chain(futures::stream::pending()),
        );
        let write = write_atomic(&target, body);
        let r = tokio::time::timeout(std::time::Duration::from_millis(100), write).await;
        assert!(r.is_err(), "the write should still be waiting for its body");
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn a_sweep_removes_only_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("user/job");
        std::fs::create_dir_all(&nested).unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(7200);
        let file = |path: &Path, modified: Option<SystemTime>| {
            let f = std::fs::File::create(path).unwrap();
            if let Some(t) = modified {
                f.set_modified(t).unwrap();
            }
        };
        file(&nested.join(format!("{TEMP_PREFIX}old")), Some(long_ago));
        file(
            &dir.path().join(format!("{TEMP_PREFIX}old2")),
            Some(long_ago),
        );
        // A write still running, and objects however old, stay.
        file(&nested.join(format!("{TEMP_PREFIX}live")), None);
        file(&nested.join("results.vcf"), Some(long_ago));
        assert_eq!(sweep_temporaries(dir.path(), STALE_TEMPORARY), 2);
        assert_eq!(
            entries(&nested),
            vec![format!("{TEMP_PREFIX}live"), "results.vcf".to_string()]
        );
        assert_eq!(entries(dir.path()), vec!["user"]);
        assert_eq!(sweep_temporaries(dir.path(), STALE_TEMPORARY), 0);
        assert_eq!(
            sweep_temporaries(&dir.path().join("missing"), STALE_TEMPORARY),
            0
        );
    }
}
