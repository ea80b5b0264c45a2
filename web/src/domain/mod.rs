//! The second floor: what the web app does, whichever face is asked —
//! accounts, plan changes, jobs as their owner sees them, uploads,
//! requeueing, the pictures. No axum types: operations take the ports
//! they need as one value ([`ports::Ports`], [`plan::PlanPorts`]) and
//! answer with domain values and [`error::Error`], which each HTTP face
//! turns into a status and words in one place.

pub mod accounts;
pub mod charts;
pub mod error;
pub mod jobs;
pub mod plan;
pub mod ports;
pub mod requeue;
pub mod upload;
pub mod variants;
