//! The variant table's questions: a page of a job's annotated variants,
//! filtered and sorted, under the same rules as the results download
//! (the owner only; free users within their window; "restoring" while the
//! results come back), read from the job's variant index and its results.
//!
//! The index says which rows a page holds and where their lines are in
//! the results file. The web process reads both as local files: on the
//! embedded backend the store's own files, opened in the version asked
//! for (`BlobStore::open_local`); on AWS copies in a cache of bounded
//! disk ([`IndexCache`]), one GetObject per object version and process,
//! then local reads. Versions are the objects' etags, so a replaced
//! object (after a restore) is read again. Loaded indexes
//! (their columns in memory) are kept too, least recently used first out
//! beyond a memory bound, so a page is a walk over memory and a few line
//! reads, not a load.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gas_jobs::keys::variants_key;
use gas_jobs::{now_epoch, Job, User};
use gas_storage::{into_async_read, BlobError, ObjectInfo};
use gas_variants::{Answer, BuildOptions, Index, Params, Query, QueryError};
use sha2::{Digest, Sha256};

use crate::domain::error::{Error, Refusal};
use crate::domain::jobs::results_access;
use crate::domain::ports::Ports;

/// How much disk the local copies may take (bytes), unless the cache is
/// made with another bound.
pub const DEFAULT_CACHE_BYTES: u64 = 4 << 30;
/// How much memory loaded indexes may take (bytes, estimated).
pub const DEFAULT_MEMORY_BYTES: u64 = 1 << 30;

/// Local copies of variant indexes and their results, and the indexes
/// loaded from them; each kind evicted least recently used first once
/// its sizes add up to more than its bound (the one in use is kept even
/// if it alone is larger).
#[derive(Debug)]
pub struct IndexCache {
    dir: Mutex<Option<tempfile::TempDir>>,
    files: Mutex<Lru<u64>>,
    loaded: Mutex<Lru<Arc<Index>>>,
    /// One fetch or load per name at a time: a second request for the
    /// same job waits for the first instead of copying it again.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Entries of a size, the least recently used dropped first past a bound.
#[derive(Debug)]
struct Lru<T> {
    max: u64,
    entries: HashMap<String, (T, u64, u64)>,
    tick: u64,
}

impl<T: Clone> Lru<T> {
    fn new(max: u64) -> Self {
        Lru {
            max,
            entries: HashMap::new(),
            tick: 0,
        }
    }

    fn get(&mut self, name: &str) -> Option<T> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(name).map(|(value, _, used)| {
            *used = tick;
            value.clone()
        })
    }

    /// Adds an entry; answers the names evicted to make room.
    fn insert(&mut self, name: String, value: T, size: u64) -> Vec<String> {
        self.tick += 1;
        self.entries.insert(name.clone(), (value, size, self.tick));
        let mut evicted = Vec::new();
        while self.entries.values().map(|(_, s, _)| s).sum::<u64>() > self.max {
            let oldest = self
                .entries
                .iter()
                .filter(|(n, _)| **n != name)
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(n, _)| n.clone());
            let Some(oldest) = oldest else { break };
            self.entries.remove(&oldest);
            evicted.push(oldest);
        }
        evicted
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Internal(anyhow::Error::new(e))
}

/// A name for a version of an object (of a job): a hash, so it is a safe
/// file name whatever the key holds.
fn version_name(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

impl IndexCache {
    /// A cache whose local copies take at most `max_bytes` of disk and
    /// whose loaded indexes about `max_memory` bytes.
    pub fn new(max_bytes: u64, max_memory: u64) -> Self {
        IndexCache {
            dir: Mutex::new(None),
            files: Mutex::new(Lru::new(max_bytes)),
            loaded: Mutex::new(Lru::new(max_memory)),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The cache's directory, made on first use (a fresh temporary
    /// directory per process, removed when it ends).
    fn dir(&self) -> Result<PathBuf, Error> {
        let mut dir = self.dir.lock().unwrap_or_else(|e| e.into_inner());
        if dir.is_none() {
            let made = tempfile::Builder::new()
                .prefix("gas-web-variants-")
                .tempdir()
                .map_err(internal)?;
            *dir = Some(made);
        }
        Ok(dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }

    /// The lock that makes work on `name` happen once at a time.
    fn flight(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        // Forget locks nobody holds or waits for (the map stays small).
        map.retain(|_, lock| Arc::strong_count(lock) > 1);
        map.entry(name.to_string()).or_default().clone()
    }

    /// The loaded index of the index object at `index_key` over the
    /// results at `results_key`; `None` if either is missing.
    async fn index(
        &self,
        ports: Ports<'_>,
        index_key: &str,
        results_key: &str,
    ) -> Result<Option<Arc<Index>>, Error> {
        let (Some(index_info), Some(results_info)) = (
            ports.results.stat(index_key).await?,
            ports.results.stat(results_key).await?,
        ) else {
            return Ok(None);
        };
        let name = version_name(&[index_key, &index_info.etag, results_key, &results_info.etag]);
        let lookup = |cache: &Self| {
            cache
                .loaded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&name)
        };
        if let Some(index) = lookup(self) {
            return Ok(Some(index));
        }
        let flight = self.flight(&name);
        let _held = flight.lock().await;
        if let Some(index) = lookup(self) {
            return Ok(Some(index));
        }
        let (Some(index_file), Some(results_file)) = (
            self.local_file(ports, index_key, &index_info).await?,
            self.local_file(ports, results_key, &results_info).await?,
        ) else {
            return Ok(None);
        };
        let index = tokio::task::spawn_blocking(move || {
            Index::from_files(index_file, results_file, BuildOptions::default())
        })
        .await
        .map_err(internal)?
        .map_err(query_error)?;
        let index = Arc::new(index);
        let size = index.memory_bytes();
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, index.clone(), size);
        Ok(Some(index))
    }

    /// The object at `key` in the version `info` names, open for
    /// reading: the store's own file where it keeps local files (the
    /// embedded backend), else a local copy; `None` if it is gone.
    async fn local_file(
        &self,
        ports: Ports<'_>,
        key: &str,
        info: &ObjectInfo,
    ) -> Result<Option<std::fs::File>, Error> {
        match ports.results.open_local(key, &info.etag).await {
            Ok(Some(file)) => return Ok(Some(file)),
            Ok(None) => {}
            // Replaced or deleted meanwhile: the caller asks again.
            Err(BlobError::NotFound(_)) | Err(BlobError::Changed(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        self.local_copy(ports, key, info).await
    }

    /// A local copy of the object at `key` in the version `info` names,
    /// fetched if it is not here yet, opened; `None` if it is gone.
    async fn local_copy(
        &self,
        ports: Ports<'_>,
        key: &str,
        info: &ObjectInfo,
    ) -> Result<Option<std::fs::File>, Error> {
        let name = version_name(&[key, &info.etag]);
        let dir = self.dir()?;
        let path = dir.join(&name);
        let known = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .is_some();
        if known {
            // Evicted since, it is fetched again below.
            if let Ok(file) = std::fs::File::open(&path) {
                return Ok(Some(file));
            }
        }
        let body = match ports.results.get_if_match(key, &info.etag).await {
            Ok(body) => body,
            // Replaced or deleted meanwhile: the caller asks again.
            Err(BlobError::NotFound(_)) | Err(BlobError::Changed(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let temp = tempfile::Builder::new()
            .prefix(".part-")
            .tempfile_in(&dir)
            .map_err(internal)?;
        let (file, temp_path) = temp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let copied = tokio::io::copy(&mut into_async_read(body), &mut file)
            .await
            .map_err(internal)?;
        drop(file);
        // Opened before it is in the cache: an eviction cannot take it away.
        let opened = std::fs::File::open(&temp_path).map_err(internal)?;
        temp_path.persist(&path).map_err(|e| internal(e.error))?;
        let evicted = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, copied, copied);
        for old in evicted {
            // An index loaded from it keeps reading the unlinked file.
            let _ = std::fs::remove_file(dir.join(old));
        }
        Ok(Some(opened))
    }
}

impl Default for IndexCache {
    fn default() -> Self {
        IndexCache::new(DEFAULT_CACHE_BYTES, DEFAULT_MEMORY_BYTES)
    }
}

/// The query the parameters ask, or why they are wrong (for people).
pub fn parse_query(params: &Params) -> Result<Query, Error> {
    Query::from_params(params).map_err(|e| Error::Invalid(e.to_string()))
}

/// One page of `job`'s variants for `user`, who must own it (the caller
/// found it with `jobs::own_job`) and may have its results now.
pub async fn variants(
    ports: Ports<'_>,
    cache: &IndexCache,
    user: &User,
    job: &Job,
    query: Query,
) -> Result<Answer, Error> {
    let index = job_index(ports, cache, user, job).await?;
    tokio::task::spawn_blocking(move || index.query(&query))
        .await
        .map_err(internal)?
        .map_err(query_error)
}

/// `job`'s loaded index, once `user` may read its results now.
async fn job_index(
    ports: Ports<'_>,
    cache: &IndexCache,
    user: &User,
    job: &Job,
) -> Result<Arc<Index>, Error> {
    results_access(job, user, ports.rules.window_secs(), now_epoch())?;
    let index_key = variants_key(&job.s3_key_input_file);
    let results_key = job.s3_key_result_file.as_deref().unwrap_or_default();
    cache
        .index(ports, &index_key, results_key)
        .await?
        .ok_or_else(|| Refusal::NoVariantIndex.into())
}

/// A bad filter is the caller's mistake; anything else is ours.
fn query_error(e: QueryError) -> Error {
    match e {
        QueryError::Filter(e) => Error::Invalid(e.to_string()),
        e => internal(e),
    }
}

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Tab-separated, a header line, one allele a line (its picked entry).
    Tsv,
    /// One JSON array of the page's objects, every allele.
    Json,
}

impl ExportFormat {
    /// The `format` parameter: absent or empty is no export.
    pub fn parse(value: Option<&str>) -> Result<Option<ExportFormat>, Error> {
        match value.map(str::trim).unwrap_or_default() {
            "" => Ok(None),
            "tsv" => Ok(Some(ExportFormat::Tsv)),
            "json" => Ok(Some(ExportFormat::Json)),
            other => Err(Error::Invalid(format!(
                "format: {other:?} is not tsv or json"
            ))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Tsv => "text/tab-separated-values; charset=utf-8",
            ExportFormat::Json => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Tsv => "tsv",
            ExportFormat::Json => "json",
        }
    }
}

/// A stream of an export's bytes.
pub type ExportStream = futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>;

/// The whole filtered set of `job`'s variants (from the query's cursor
/// on), written as `format` while it is read: a page of the index at a
/// time, so memory does not grow with the set. The same rules as
/// [`variants`]; a bad cursor is refused before anything is sent.
pub async fn export(
    ports: Ports<'_>,
    cache: &IndexCache,
    user: &User,
    job: &Job,
    query: Query,
    format: ExportFormat,
) -> Result<ExportStream, Error> {
    let index = job_index(ports, cache, user, job).await?;
    {
        // A bad cursor is refused before the first byte.
        let (index, query) = (
            index.clone(),
            Query {
                limit: 1,
                ..query.clone()
            },
        );
        tokio::task::spawn_blocking(move || index.query(&query))
            .await
            .map_err(internal)?
            .map_err(query_error)?;
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let first = match format {
            ExportFormat::Tsv => gas_variants::tsv_header(),
            ExportFormat::Json => "[".to_string(),
        };
        if sender.blocking_send(Ok(first.into())).is_err() {
            return;
        }
        let mut written = 0u64;
        let scanned = index.scan(&query, |page| {
            let mut chunk = String::with_capacity(page.len() * 256);
            for variant in page {
                match format {
                    ExportFormat::Tsv => chunk.push_str(&gas_variants::tsv_line(variant)),
                    ExportFormat::Json => {
                        chunk.push_str(if written == 0 { "\n" } else { ",\n" });
                        chunk.push_str(&serde_json::to_string(variant).unwrap_or_default());
                    }
                }
                written += 1;
            }
            sender.blocking_send(Ok(chunk.into())).is_ok()
        });
        let last = match scanned {
            Ok(()) => match format {
                ExportFormat::Tsv => return,
                ExportFormat::Json => Ok(bytes::Bytes::from_static(b"\n]\n")),
            },
            Err(e) => {
                tracing::error!(error = %e, "the export stopped");
                Err(std::io::Error::other("the export stopped"))
            }
        };
        let _ = sender.blocking_send(last);
    });
    Ok(Box::pin(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first_and_the_newest_stays() {
        let mut lru: Lru<u8> = Lru::new(100);
        assert!(lru.insert("a".into(), 1, 40).is_empty());
        assert!(lru.insert("b".into(), 2, 40).is_empty());
        assert_eq!(lru.get("a"), Some(1));
        // Over the bound: b is the least recently used.
        assert_eq!(lru.insert("c".into(), 3, 40), vec!["b".to_string()]);
        assert_eq!(lru.get("b"), None);
        // One entry larger than the bound evicts the rest but stays.
        let mut evicted = lru.insert("huge".into(), 4, 500);
        evicted.sort();
        assert_eq!(evicted, vec!["a".to_string(), "c".to_string()]);
        assert_eq!(lru.get("huge"), Some(4));
    }

    #[test]
    fn version_names_are_file_names_that_tell_versions_apart() {
        let a = version_name(&["gas/u/j~x.variants.idx", "etag1"]);
        assert_ne!(a, version_name(&["gas/u/j~x.variants.idx", "etag2"]));
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(version_name(&["ab", "c"]), version_name(&["a", "bc"]));
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()) && a.len() == 32);
    }
}
