//! The crate's integration tests (one binary): the conformance suites against
//! the embedded adapters, and the SNS HTTP delivery and verification end to
//! end.

#[path = "conformance/delivery.rs"]
mod delivery;
#[path = "conformance/local.rs"]
mod local;
#[path = "conformance/support.rs"]
mod support;
#[path = "conformance/verify.rs"]
mod verify;
