//! The variant table's questions: a page of a job's annotated variants,
//! filtered and sorted, under the same rules as the results download
//! (the owner only; free users within their window; "restoring" while the
//! results come back), read from the job's variant index.
//!
//! The index is a file of the results store. The web process reads it
//! through a local copy in a cache of bounded size ([`IndexCache`]): on
//! AWS one GetObject per index version and process, then local reads; on
//! the embedded backend a copy of a local file. A copy is keyed by the
//! object's etag, so a rebuilt index (after a restore) is fetched again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gas_jobs::keys::variants_key;
use gas_jobs::{now_epoch, Job, User};
use gas_storage::{into_async_read, BlobError};
use gas_variants::{Answer, Index, Params, Query, QueryError};
use sha2::{Digest, Sha256};

use crate::domain::error::{Error, Refusal};
use crate::domain::jobs::results_access;
use crate::domain::ports::Ports;

/// How much disk the local copies of indexes may take (bytes), unless the
/// cache is made with another bound.
pub const DEFAULT_CACHE_BYTES: u64 = 2 << 30;

/// Local copies of variant indexes, least recently used evicted first once
/// their sizes add up to more than the bound (the copy in use is kept even
/// if it alone is larger).
#[derive(Debug)]
pub struct IndexCache {
    max_bytes: u64,
    dir: Mutex<Option<tempfile::TempDir>>,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// File name → (size, last use tick).
    files: HashMap<String, (u64, u64)>,
    tick: u64,
}

impl IndexCache {
    pub fn new(max_bytes: u64) -> Self {
        IndexCache {
            max_bytes,
            dir: Mutex::new(None),
            state: Mutex::new(CacheState::default()),
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
                .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
            *dir = Some(made);
        }
        Ok(dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }

    /// A local copy of the index at `key`, fetched if this version is not
    /// here yet; `None` if the store has no index there.
    async fn local_copy(&self, ports: Ports<'_>, key: &str) -> Result<Option<PathBuf>, Error> {
        let Some(info) = ports.results.stat(key).await? else {
            return Ok(None);
        };
        let name = {
            let mut hash = Sha256::new();
            hash.update(key.as_bytes());
            hash.update([0]);
            hash.update(info.etag.as_bytes());
            format!("{}.sqlite", hex::encode(&hash.finalize()[..16]))
        };
        let dir = self.dir()?;
        let path = dir.join(&name);
        if self.touch(&name) && path.exists() {
            return Ok(Some(path));
        }
        let body = match ports.results.get_if_match(key, &info.etag).await {
            Ok(body) => body,
            // Replaced or deleted meanwhile: the caller asks again.
            Err(BlobError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let temp = tempfile::Builder::new()
            .prefix(".part-")
            .tempfile_in(&dir)
            .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
        let (file, temp_path) = temp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let copied = tokio::io::copy(&mut into_async_read(body), &mut file)
            .await
            .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
        drop(file);
        temp_path
            .persist(&path)
            .map_err(|e| Error::Internal(anyhow::Error::new(e.error)))?;
        self.insert(&dir, name, copied);
        Ok(Some(path))
    }

    /// Marks a copy used; false if the cache does not know it.
    fn touch(&self, name: &str) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.tick += 1;
        let tick = state.tick;
        match state.files.get_mut(name) {
            Some(entry) => {
                entry.1 = tick;
                true
            }
            None => false,
        }
    }

    fn insert(&self, dir: &Path, name: String, size: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.tick += 1;
        let tick = state.tick;
        state.files.insert(name.clone(), (size, tick));
        loop {
            let total: u64 = state.files.values().map(|(s, _)| s).sum();
            if total <= self.max_bytes {
                break;
            }
            let oldest = state
                .files
                .iter()
                .filter(|(n, _)| **n != name)
                .min_by_key(|(_, (_, t))| *t)
                .map(|(n, _)| n.clone());
            let Some(oldest) = oldest else { break };
            state.files.remove(&oldest);
            // A reader that has it open keeps reading the unlinked file.
            let _ = std::fs::remove_file(dir.join(&oldest));
        }
    }
}

impl Default for IndexCache {
    fn default() -> Self {
        IndexCache::new(DEFAULT_CACHE_BYTES)
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
    let path = index_path(ports, cache, user, job).await?;
    tokio::task::spawn_blocking(move || -> Result<Answer, QueryError> {
        Index::open(&path)?.query(&query)
    })
    .await
    .map_err(|e| Error::Internal(anyhow::Error::new(e)))?
    .map_err(query_error)
}

/// The local copy of `job`'s index, once `user` may read its results now.
async fn index_path(
    ports: Ports<'_>,
    cache: &IndexCache,
    user: &User,
    job: &Job,
) -> Result<PathBuf, Error> {
    results_access(job, user, ports.rules.window_secs(), now_epoch())?;
    let key = variants_key(&job.s3_key_input_file);
    cache
        .local_copy(ports, &key)
        .await?
        .ok_or_else(|| Refusal::NoVariantIndex.into())
}

/// A bad filter is the caller's mistake; anything else is ours.
fn query_error(e: QueryError) -> Error {
    match e {
        QueryError::Filter(e) => Error::Invalid(e.to_string()),
        e => Error::Internal(anyhow::Error::new(e)),
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
    let path = index_path(ports, cache, user, job).await?;
    let index = {
        let query = Query {
            limit: 1,
            ..query.clone()
        };
        tokio::task::spawn_blocking(move || -> Result<Index, QueryError> {
            let index = Index::open(&path)?;
            index.query(&query)?;
            Ok(index)
        })
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e)))?
        .map_err(query_error)?
    };
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
