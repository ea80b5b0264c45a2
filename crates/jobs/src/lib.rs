//! Job records and user profiles.
//!
//! [`JobStore`] and [`UserStore`] are the ports; [`sqlite`] holds the
//! embedded adapters and [`conformance`] the suite every adapter must pass.

mod clock;
pub mod conformance;
pub mod dynamo;
pub mod keys;
pub mod messages;
mod record;
pub mod sqlite;
mod store;

pub use clock::now_epoch;
pub use record::{
    ApiToken, Completion, IdentityLink, Job, JobStatus, Role, Session, SignInFailures, User,
};
pub use store::{JobStore, Page, StoreError, UserStore};
