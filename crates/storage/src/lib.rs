//! Object storage for inputs, results and logs ([`BlobStore`]) and cold
//! storage for archived results ([`ArchiveStore`]).
//!
//! `dir` holds the embedded adapters (plain directories); [`conformance`]
//! holds the suites every adapter must pass.

mod archive;
mod blob;
pub mod conformance;
pub mod dir;
mod stream;

pub use archive::{ArchiveError, ArchiveStore, RetrievalStatus, Tier};
pub use blob::{validate_key, BlobError, BlobStore};
pub use stream::{bytes_stream, collect, file_stream, into_async_read, ByteStream};
