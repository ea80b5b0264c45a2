//! Messaging between the services: queues ([`Queue`]), fan-out topics
//! ([`Topic`]), delayed publication ([`Timer`]) and the SNS HTTP envelope
//! with its signature verification ([`sns`]).
//!
//! [`aws`] holds the AWS adapters (SQS, SNS, Step Functions);
//! [`local`] holds the embedded adapters (SQLite queues and timers, a topic that
//! fans out to local queues and signed HTTP POSTs); [`conformance`] holds the
//! suites every adapter must pass.

pub mod aws;
pub mod conformance;
pub mod local;
mod ports;
pub mod sns;

pub use ports::{MessagingError, Queue, QueueMessage, Timer, Topic};
