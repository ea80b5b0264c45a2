//! The embedded adapters: buckets and cold storage as plain directories.
//!
//! They keep the cloud adapters' guarantees with file-system tools: writes
//! go to a hidden temporary file that is fsynced and renamed into place
//! (atomic and durable), reads stream from open files, download URLs are
//! HMAC-signed and expire (the web service serves them, see
//! [`LocalDownloads`]), and the archive makes retrievals wait for their
//! tier's delay and announces them like Glacier does.

mod archive;
mod blob;
mod fsutil;
mod retrieval;
mod signer;

pub use archive::{DirArchiveSettings, DirArchiveStore, DEFAULT_VAULT_ARN};
pub use blob::{DirBlobStore, Download, DownloadError, LocalDownloads};
pub use signer::{load_or_create_secret, DownloadParams, UrlError, UrlSigner, KEY_FILE, KEY_LEN};
