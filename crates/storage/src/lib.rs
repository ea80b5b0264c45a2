//! Object storage for inputs, results and logs ([`BlobStore`]) and cold
//! storage for archived results ([`ArchiveStore`]).
//!
//! `dir` holds the embedded adapters (plain directories); [`s3`],
//! [`s3_class`] and [`glacier`] the AWS ones; [`conformance`] holds the
//! suites every adapter must pass.

mod archive;
mod blob;
pub mod conformance;
pub mod dir;
pub mod glacier;
mod parts;
pub mod s3;
pub mod s3_class;
mod sdk;
mod stream;
pub mod treehash;

pub use archive::{ArchiveError, ArchiveStore, RetrievalStatus, Tier};
pub use blob::{validate_key, BlobError, BlobStore, BrowserUpload, ObjectInfo, PresignedPost};
pub use sdk::AwsError;
pub use stream::{bytes_stream, collect, file_stream, into_async_read, ByteStream};
