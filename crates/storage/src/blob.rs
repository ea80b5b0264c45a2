//! The object storage port: one bucket of objects, streamed in and out.

use std::time::Duration;

use async_trait::async_trait;

use crate::ByteStream;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no object at {0}")]
    NotFound(String),
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// The body stream itself failed (e.g. a client disconnected mid-upload).
    #[error("reading the object body failed")]
    Body(#[source] std::io::Error),
    /// A conditional read found another version of the object than the one
    /// asked for: it was replaced since its [`ObjectInfo`] was taken.
    #[error("the object at {0} changed since it was checked")]
    Changed(String),
    #[error("object store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BlobError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        BlobError::Backend(Box::new(e))
    }
}

/// What [`BlobStore::stat`] tells of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// The object's version: it changes whenever the object is replaced
    /// with other bytes (S3's ETag; see each adapter). Opaque: compare it
    /// for equality, or hand it to [`BlobStore::get_if_match`].
    pub etag: String,
}

/// One bucket of objects (S3 bucket, or a directory).
///
/// Contract, for every adapter:
/// - Keys are `/`-separated relative paths; `..`, empty segments and a
///   leading `/` are [`BlobError::InvalidKey`].
/// - `put` streams the body and is atomic: a reader sees the whole new object
///   or the previous state, never a part. A failed body leaves nothing. It
///   replaces an existing object.
/// - `get` of a missing key is [`BlobError::NotFound`]; `delete` of a missing
///   key succeeds (idempotent).
/// - `stat` names the object's version (its etag): two stats of an object
///   nobody replaced agree, and a put of other bytes (even as many) gives a
///   new etag. `get_if_match` serves exactly the version an etag names, as
///   one whole body even if the object is replaced while it is read; when
///   the object is another version by then it is [`BlobError::Changed`].
///   Why: a check of an object (size, first bytes) and a later use of it
///   must be about the same bytes, whoever can write the key meanwhile.
/// - `download_url` gives a URL that serves the object without further
///   credentials until `ttl` has passed, and is refused after that or if
///   altered.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// The bucket name recorded in job records.
    fn bucket(&self) -> &str;

    /// Stores `body` at `key`; returns the number of bytes written.
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, BlobError>;

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError>;

    /// The object's size, or `None` if there is none.
    async fn head(&self, key: &str) -> Result<Option<u64>, BlobError> {
        Ok(self.stat(key).await?.map(|info| info.size))
    }

    /// The object's size and version, or `None` if there is none.
    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError>;

    /// The object's body if it is still the version `etag` names (from
    /// [`BlobStore::stat`]); [`BlobError::Changed`] if it is another one,
    /// [`BlobError::NotFound`] if there is none.
    async fn get_if_match(&self, key: &str, etag: &str) -> Result<ByteStream, BlobError>;

    /// The object in the version `etag` names, opened as a local file,
    /// for a store that keeps its objects as local files (the directory
    /// store), so a reader needing random access can read it in place;
    /// `Ok(None)` from a store that does not (S3), whose callers copy the
    /// object with [`BlobStore::get_if_match`]. When it opens a file, the
    /// file is that version whatever happens to the object afterwards;
    /// [`BlobError::Changed`] if the object is another version,
    /// [`BlobError::NotFound`] if there is none.
    async fn open_local(&self, key: &str, etag: &str) -> Result<Option<std::fs::File>, BlobError> {
        let _ = (key, etag);
        Ok(None)
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// A short-lived URL for a browser to download the object as
    /// `file_name` (sent in Content-Disposition).
    async fn download_url(
        &self,
        key: &str,
        ttl: Duration,
        file_name: &str,
    ) -> Result<String, BlobError>;
}

/// Checks a key against the contract's rules.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key.contains('\0')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        Err(BlobError::InvalidKey(key.to_string()))
    } else {
        Ok(())
    }
}

/// A form for a browser upload: POST `multipart/form-data` to `url` with
/// every field of `fields` (as they are, except `key`, which may have its
/// `${filename}` replaced by anything, as long as it keeps the prefix), then
/// the file as the last field, named `file`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PresignedPost {
    pub url: String,
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Uploads that go from a browser straight into the bucket, so that the web
/// service never carries the bytes (S3's POST policy).
///
/// Contract: the form lets the browser store one object whose key starts
/// with `key_prefix`, of at most `max_bytes`, until `ttl` has passed; the
/// store refuses anything else. After the upload the browser is sent to
/// `redirect`, with the object's `bucket` and `key` added to its query.
/// What arrives must still be checked (size, content) before it is used:
/// the form limits what can be sent, not what it says.
#[async_trait]
pub trait BrowserUpload: Send + Sync {
    async fn upload_form(
        &self,
        key_prefix: &str,
        max_bytes: u64,
        ttl: Duration,
        redirect: &str,
    ) -> Result<PresignedPost, BlobError>;
}
