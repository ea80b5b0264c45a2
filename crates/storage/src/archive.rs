//! The cold storage port: cheap to keep, read back in two steps
//! (start a retrieval, read its output once it finished).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ByteStream;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("no archive {0}")]
    NotFound(String),
    #[error("no retrieval {0}")]
    RetrievalNotFound(String),
    /// The retrieval has not finished; its output cannot be read yet.
    #[error("retrieval {0} is still in progress")]
    NotReady(String),
    /// The service refused the tier for lack of capacity (Glacier's
    /// InsufficientCapacityException for Expedited): try a slower tier.
    #[error("no capacity for a {0:?} retrieval")]
    InsufficientCapacity(Tier),
    #[error("reading the archive body failed")]
    Body(#[source] std::io::Error),
    #[error("archive backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ArchiveError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ArchiveError::Backend(Box::new(e))
    }
}

/// Retrieval speed, as Glacier and S3 name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tier {
    Expedited,
    Standard,
    Bulk,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Expedited => "Expedited",
            Tier::Standard => "Standard",
            Tier::Bulk => "Bulk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrievalStatus {
    InProgress,
    /// The output can be read with [`ArchiveStore::retrieval_output`].
    Succeeded,
    Failed(String),
}

/// Cold storage: cheap to keep, slow to read back.
///
/// Contract, for every adapter:
/// - `archive` streams the body; once it returns, the bytes are durable under
///   the returned id. `name` (the job id) names the archive: adapters that can
///   (directory, S3 storage class) derive the id from it, so archiving the
///   same name again after a crash replaces instead of duplicating. The
///   Glacier vault cannot; it records the name as the archive description.
/// - Reading is two steps: `start_retrieval` → (delay of the tier) →
///   [`RetrievalStatus::Succeeded`] → `retrieval_output`. Reading before that
///   is [`ArchiveError::NotReady`]. A refused tier is
///   [`ArchiveError::InsufficientCapacity`]. When the retrieval finishes the
///   adapter publishes a completion notification where one is configured
///   (Glacier's job-completion JSON, `JobDescription` = the `description`
///   given here).
/// - `delete` removes the archive; deleting a missing archive succeeds.
///   Retrievals already finished stay readable until they expire.
#[async_trait]
pub trait ArchiveStore: Send + Sync {
    async fn archive(&self, name: &str, body: ByteStream) -> Result<String, ArchiveError>;

    /// Starts a retrieval; returns its id.
    async fn start_retrieval(
        &self,
        archive_id: &str,
        tier: Tier,
        description: &str,
    ) -> Result<String, ArchiveError>;

    async fn retrieval_status(&self, retrieval_id: &str) -> Result<RetrievalStatus, ArchiveError>;

    async fn retrieval_output(&self, retrieval_id: &str) -> Result<ByteStream, ArchiveError>;

    async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError>;
}
