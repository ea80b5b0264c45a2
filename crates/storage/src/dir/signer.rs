//! Signed, expiring download URLs for directory blobs.
//!
//! S3 hands browsers presigned URLs; the directory adapter needs the same so
//! that the web service can redirect to a URL that works without a session
//! and stops working after its TTL. The URL is
//! `{base_url}/blobs/{bucket}/{key}?expires=<epoch s>&name=<file name>&sig=<hex>`
//! where `sig` is HMAC-SHA256, under a key kept in the data directory, of the
//! bucket, the key (decoded, as the route hands it over), the expiry and the
//! download name. Each field is length-prefixed in the MAC input so that no
//! two different tuples sign alike.

use std::io::{self, Read, Write};
use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// File in the data directory that holds the signing key.
pub const KEY_FILE: &str = "url-signing.key";

/// Bytes of a signing key.
pub const KEY_LEN: usize = 32;

/// Why a download URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// The signature does not match: the URL was altered or never issued.
    #[error("the download link is invalid")]
    BadSignature,
    /// The URL was genuine but its time is up.
    #[error("the download link has expired")]
    Expired,
    /// The base URL cannot carry paths (e.g. `mailto:`).
    #[error("{0} cannot be the base of download URLs")]
    BaseUrl(String),
}

/// The query string of a download URL, as the web route deserializes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DownloadParams {
    pub expires: i64,
    pub name: String,
    pub sig: String,
}

/// Signs and verifies download URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; KEY_LEN],
    base_url: Url,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// A signer with the given key for URLs under `base_url` (the web
    /// service's public URL, e.g. `http://127.0.0.1:8080/`).
    pub fn new(key: [u8; KEY_LEN], base_url: Url) -> Result<Self, UrlError> {
        if base_url.cannot_be_a_base() {
            return Err(UrlError::BaseUrl(base_url.to_string()));
        }
        Ok(Self { key, base_url })
    }

    /// Reads the key from `dir/url-signing.key`, or makes a random one there
    /// (mode 0600) if there is none. Several processes starting at once end
    /// up with the same key: the file appears complete or not at all.
    pub fn load_or_create(dir: &Path, base_url: Url) -> io::Result<Self> {
        let key = load_or_create_key(dir)?;
        Self::new(key, base_url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The hex HMAC of one download.
    pub fn sign(&self, bucket: &str, key: &str, expires: i64, name: &str) -> String {
        hex::encode(self.mac(bucket, key, expires, name).finalize().into_bytes())
    }

    /// Checks a download's signature (in constant time), then its expiry:
    /// valid through the second `expires`, expired after it.
    pub fn verify(
        &self,
        bucket: &str,
        key: &str,
        expires: i64,
        name: &str,
        sig: &str,
        now: i64,
    ) -> Result<(), UrlError> {
        let sig = hex::decode(sig).map_err(|_| UrlError::BadSignature)?;
        self.mac(bucket, key, expires, name)
            .verify_slice(&sig)
            .map_err(|_| UrlError::BadSignature)?;
        if now > expires {
            return Err(UrlError::Expired);
        }
        Ok(())
    }

    /// The full download URL: the key's segments percent-encoded in the
    /// path, the name in the query.
    pub fn url(&self, bucket: &str, key: &str, expires: i64, name: &str) -> String {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push("blobs")
                .push(bucket)
                .extend(key.split('/'));
        }
        url.query_pairs_mut()
            .clear()
            .append_pair("expires", &expires.to_string())
            .append_pair("name", name)
            .append_pair("sig", &self.sign(bucket, key, expires, name));
        url.into()
    }

    fn mac(&self, bucket: &str, key: &str, expires: i64, name: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"gas-blob-url-v1");
        for field in [
            bucket.as_bytes(),
            key.as_bytes(),
            expires.to_string().as_bytes(),
            name.as_bytes(),
        ] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac
    }
}

fn load_or_create_key(dir: &Path) -> io::Result<[u8; KEY_LEN]> {
    load_or_create_secret(dir, KEY_FILE)
}

/// A random 32-byte secret kept in `dir/name`, made on first use. Every
/// process of an installation that calls this gets the same bytes, even
/// when several start at once (the first file linked into place wins).
pub fn load_or_create_secret(dir: &Path, name: &str) -> io::Result<[u8; KEY_LEN]> {
    let path = dir.join(name);
    match read_key(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    std::fs::create_dir_all(dir)?;
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    // Write a complete file under a temporary name, then link it into place:
    // linking fails if another process got there first, and then its key
    // is the one to use.
    let temp = super::fsutil::temp_path(dir);
    let result = (|| {
        let mut file = private_file(&temp)?;
        file.write_all(&key)?;
        file.sync_all()?;
        std::fs::hard_link(&temp, &path)
    })();
    let _ = std::fs::remove_file(&temp);
    match result {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(key)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_key(&path),
        Err(e) => Err(e),
    }
}

fn read_key(path: &Path) -> io::Result<[u8; KEY_LEN]> {
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    std::fs::File::open(path)?
        .take(KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)?;
    bytes.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} must hold exactly {KEY_LEN} bytes", path.display()),
        )
    })
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        UrlSigner::new([7; KEY_LEN], Url::parse("http://127.0.0.1:8080/").unwrap()).unwrap()
    }

    #[test]
    fn fields_are_not_ambiguous() {
        let s = signer();
        assert_ne!(s.sign("ab", "c", 1, "n"), s.sign("a", "bc", 1, "n"));
        assert_ne!(s.sign("b", "k", 12, "3"), s.sign("b", "k", 1, "23"));
    }

    #[test]
    fn url_encodes_key_segments_and_query() {
        let s = signer();
        let url = s.url("gas-results", "u 1/j~a%b.vcf", 99, "a b&c.vcf");
        let parsed = Url::parse(&url).unwrap();
        let segs: Vec<&str> = parsed.path_segments().unwrap().collect();
        assert_eq!(segs, ["blobs", "gas-results", "u%201", "j~a%25b.vcf"]);
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["name"], "a b&c.vcf");
        assert_eq!(q["expires"], "99");
        s.verify(
            "gas-results",
            "u 1/j~a%b.vcf",
            99,
            "a b&c.vcf",
            &q["sig"],
            99,
        )
        .unwrap();
    }

    #[test]
    fn base_url_with_a_path_keeps_it() {
        let s =
            UrlSigner::new([1; KEY_LEN], Url::parse("https://gas.example/app").unwrap()).unwrap();
        assert!(s
            .url("b", "k", 1, "n")
            .starts_with("https://gas.example/app/blobs/b/k?"));
        assert!(UrlSigner::new([1; KEY_LEN], Url::parse("mailto:x@y").unwrap()).is_err());
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let base = Url::parse("http://localhost/").unwrap();
        let a = UrlSigner::load_or_create(dir.path(), base.clone()).unwrap();
        let b = UrlSigner::load_or_create(dir.path(), base).unwrap();
        assert_eq!(a.key, b.key);
        assert_eq!(std::fs::read(dir.path().join(KEY_FILE)).unwrap(), a.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary key files left behind");
    }

    #[test]
    fn a_truncated_key_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        let err =
            UrlSigner::load_or_create(dir.path(), Url::parse("http://h/").unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
