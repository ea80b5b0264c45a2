//! The ports and settings the domain operations use, lent as one value by
//! the web state (`crate::state::WebState::domain`).

use std::time::Duration;

use gas_jobs::{JobStore, UserStore};
use gas_messaging::{Timer, Topic};
use gas_storage::BlobStore;

use crate::domain::plan::PlanPorts;

/// The settings the domain operations read (the service's `WebSettings`
/// has them too; these are what is not about HTTP).
#[derive(Debug, Clone)]
pub struct Rules {
    /// How long free users may download results after completion.
    pub free_access_window: Duration,
    /// Largest upload a free user may make (bytes).
    pub free_upload_limit: u64,
    /// Largest upload anyone may make (bytes).
    pub max_upload: u64,
    /// Lifetime of a download URL.
    pub download_ttl: Duration,
    /// First segment of every object key.
    pub key_prefix: String,
    /// How long a job may stay PENDING before its owner's next look at it
    /// publishes its request again (zero: never). See `requeue.rs`.
    pub requeue_after: Duration,
}

impl Rules {
    /// The free window, seconds.
    pub fn window_secs(&self) -> i64 {
        self.free_access_window.as_secs() as i64
    }
}

/// The stores and topics of the domain operations, with their rules.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    pub jobs: &'a dyn JobStore,
    pub users: &'a dyn UserStore,
    pub inputs: &'a dyn BlobStore,
    pub results: &'a dyn BlobStore,
    /// Job requests go here (fanned out to the runners' queue).
    pub requests_topic: &'a dyn Topic,
    /// Restore requests go here when a user upgrades.
    pub restore_topic: &'a dyn Topic,
    /// The archive timer, whose pending executions an upgrade stops.
    pub archive_timer: &'a dyn Timer,
    pub rules: &'a Rules,
}

impl<'a> Ports<'a> {
    /// The ports a plan change uses.
    pub fn plan(&self) -> PlanPorts<'a> {
        PlanPorts {
            jobs: self.jobs,
            users: self.users,
            archive_timer: self.archive_timer,
            restore_topic: self.restore_topic,
        }
    }
}
