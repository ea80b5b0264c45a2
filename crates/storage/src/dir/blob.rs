//! [`DirBlobStore`]: a bucket as a directory, and [`LocalDownloads`], what
//! the web service needs to serve its signed download URLs.

use std::collections::HashMap;
use std::fs::Metadata;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::fsutil::{self, WriteError, TEMP_PREFIX};
use super::signer::{DownloadParams, UrlError, UrlSigner};
use crate::blob::validate_key;
use crate::{file_stream, BlobError, BlobStore, ByteStream, ObjectInfo};

/// Objects of one bucket as files under `root/<bucket>/<key>`.
///
/// An object's version ([`ObjectInfo::etag`]) is its file's device, inode,
/// modification time (to the nanosecond) and size. Every put writes a new
/// file and renames it into place, stamped with the precise time of the
/// write (see `fsutil::write_atomic`): a replacement changes the inode, and
/// where a file system hands a freed inode number out again, the time
/// still differs. A read by version opens the file and compares the open
/// file's own metadata, then streams from that open file, so a rename over
/// it meanwhile changes nothing it serves.
///
/// Keys map to relative paths, so a key cannot be both an object and a
/// "folder" of others (`a` and `a/b`): the second put fails with
/// [`BlobError::Backend`]. GAS keys (`<prefix>/<user>/<job>~<file>`) never
/// collide that way. Segments starting with `.gas-tmp-` are reserved for
/// temporary files and refused as [`BlobError::InvalidKey`].
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    dir: PathBuf,
    bucket: String,
    signer: UrlSigner,
}

impl DirBlobStore {
    /// The bucket `bucket` under `root`, creating its directory. The bucket
    /// name must be one path segment.
    pub fn new(root: PathBuf, bucket: String, signer: UrlSigner) -> io::Result<Self> {
        if bucket.is_empty() || bucket.starts_with('.') || bucket.contains(['/', '\\', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid bucket name {bucket:?}"),
            ));
        }
        let dir = root.join(&bucket);
        std::fs::create_dir_all(&dir)?;
        fsutil::sweep_in_background(dir.clone());
        Ok(Self {
            dir,
            bucket,
            signer,
        })
    }

    /// The signer of this bucket's download URLs.
    pub fn signer(&self) -> &UrlSigner {
        &self.signer
    }

    /// Opens an object for serving: its body and its size (for
    /// Content-Length), both from the same open file, so a concurrent put
    /// cannot make them disagree.
    pub async fn open(&self, key: &str) -> Result<(ByteStream, u64), BlobError> {
        let (file, meta) = self.open_file(key).await?;
        Ok((file_stream(file), meta.len()))
    }

    /// The object's open file and that file's metadata.
    async fn open_file(&self, key: &str) -> Result<(tokio::fs::File, Metadata), BlobError> {
        let path = self.path(key)?;
        let not_found = || BlobError::NotFound(format!("{}/{key}", self.bucket));
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if is_missing(&e) => return Err(not_found()),
            Err(e) => return Err(BlobError::backend(e)),
        };
        let meta = file.metadata().await.map_err(BlobError::backend)?;
        if !meta.is_file() {
            return Err(not_found());
        }
        Ok((file, meta))
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        if key.split('/').any(|seg| seg.starts_with(TEMP_PREFIX)) {
            return Err(BlobError::InvalidKey(key.to_string()));
        }
        Ok(self.dir.join(key))
    }
}

/// The version of a file, as [`DirBlobStore`] describes it.
fn etag(meta: &Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "{:x}-{:x}-{}.{:09}-{:x}",
            meta.dev(),
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.size()
        )
    }
    #[cfg(not(unix))]
    {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        format!("{}-{:x}", modified.as_nanos(), meta.len())
    }
}

/// A missing file, or a missing directory on the way to it (ENOTDIR when a
/// path prefix is a file).
fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

#[async_trait]
impl BlobStore for DirBlobStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        let dir = fsutil::parent(&path).map_err(BlobError::backend)?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(BlobError::backend)?;
        fsutil::write_atomic(&path, body)
            .await
            .map_err(|e| match e {
                WriteError::Body(e) => BlobError::Body(e),
                WriteError::Io(e) => BlobError::backend(e),
            })
    }

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        self.open(key).await.map(|(body, _)| body)
    }

    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectInfo {
                size: meta.len(),
                etag: etag(&meta),
            })),
            Ok(_) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(BlobError::backend(e)),
        }
    }

    async fn get_if_match(&self, key: &str, version: &str) -> Result<ByteStream, BlobError> {
        let (file, meta) = self.open_file(key).await?;
        if etag(&meta) != version {
            return Err(BlobError::Changed(format!("{}/{key}", self.bucket)));
        }
        Ok(file_stream(file))
    }

    async fn open_local(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<std::fs::File>, BlobError> {
        let (file, meta) = self.open_file(key).await?;
        if etag(&meta) != version {
            return Err(BlobError::Changed(format!("{}/{key}", self.bucket)));
        }
        Ok(Some(file.into_std().await))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Ok(()),
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(BlobError::backend(e)),
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(BlobError::backend(e)),
        }
        // Empty parent folders stay: removing them would race with a put
        // creating a file there, and they cost nothing.
        fsutil::sync_dir(fsutil::parent(&path).map_err(BlobError::backend)?)
            .await
            .map_err(BlobError::backend)
    }

    async fn download_url(
        &self,
        key: &str,
        ttl: Duration,
        file_name: &str,
    ) -> Result<String, BlobError> {
        self.path(key)?;
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let expires = now_epoch().saturating_add(ttl.max(1));
        Ok(self.signer.url(&self.bucket, key, expires, file_name))
    }
}

fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Why [`LocalDownloads::open`] refused a download.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("no bucket {0}")]
    UnknownBucket(String),
    /// Forged, altered or expired URL (answer 403).
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// One download being served.
pub struct Download {
    pub body: ByteStream,
    pub size: u64,
    /// The name to send in Content-Disposition.
    pub file_name: String,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

/// The directory buckets whose signed URLs the web service serves on
/// `GET /blobs/{bucket}/{*key}`.
#[derive(Debug, Clone, Default)]
pub struct LocalDownloads {
    stores: HashMap<String, Arc<DirBlobStore>>,
}

impl LocalDownloads {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `store`'s bucket (replacing a store of the same bucket name).
    pub fn register(&mut self, store: Arc<DirBlobStore>) {
        self.stores.insert(store.bucket.clone(), store);
    }

    pub fn store(&self, bucket: &str) -> Option<&Arc<DirBlobStore>> {
        self.stores.get(bucket)
    }

    /// Verifies a download URL's signature and expiry (`now` in epoch
    /// seconds), then opens the object. `key` is the decoded path after the
    /// bucket.
    pub async fn open(
        &self,
        bucket: &str,
        key: &str,
        params: &DownloadParams,
        now: i64,
    ) -> Result<Download, DownloadError> {
        let store = self
            .stores
            .get(bucket)
            .ok_or_else(|| DownloadError::UnknownBucket(bucket.to_string()))?;
        store
            .signer
            .verify(bucket, key, params.expires, &params.name, &params.sig, now)?;
        let (body, size) = store.open(key).await?;
        Ok(Download {
            body,
            size,
            file_name: params.name.clone(),
        })
    }
}
