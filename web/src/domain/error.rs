//! Why a domain operation did not do what was asked. The HTTP faces turn
//! these into statuses and words, each in one match (`api/error.rs`,
//! `pages/error.rs`); nothing here knows a status code.

use gas_jobs::JobStatus;

/// What a domain operation answers when it cannot do what was asked.
/// Internal failures carry their cause for the log; people see only that
/// something went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, or someone else's: the two must look the same.
    #[error("no such job")]
    NotFound,
    /// The request itself is wrong; the message says how, for people.
    #[error("{0}")]
    Invalid(String),
    /// The upload is larger than the plan allows.
    #[error("{0}")]
    TooLarge(String),
    /// A listing cursor that no listing made.
    #[error("invalid cursor")]
    BadCursor,
    /// Valid, but not possible in the state things are in.
    #[error("{0:?}")]
    Refused(Refusal),
    /// A port needed for the request is not answering.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Why a valid request about a job cannot be served now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Results exist only once the job completes.
    ResultsNotReady(JobStatus),
    /// The log is written when the job ends.
    LogNotReady(JobStatus),
    /// A free user's download window is over (or the results are archived).
    WindowOver,
    /// The results are coming back from cold storage.
    Restoring,
    /// The results are in cold storage and no restore has started yet.
    Archived,
    /// The upload was submitted already.
    Duplicate,
    /// The job's results have no variant index (annotated before the
    /// variant table existed, or its index could not be built).
    NoVariantIndex,
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::Refused(refusal)
    }
}

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Internal(anyhow::Error::new(e))
            }
        }
    )*};
}
internal_from!(
    gas_jobs::StoreError,
    gas_storage::BlobError,
    gas_messaging::MessagingError,
    serde_json::Error
);

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Internal(e)
    }
}
