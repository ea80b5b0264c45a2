//! The `gas` command's library: configuration, wiring of the services onto
//! a backend, and the sub-commands. `main.rs` only parses arguments.

mod aws;
pub mod aws_calls;
pub mod config;
pub mod dev;
pub mod dlq;
mod embedded;
mod ports;
pub mod refdata;
pub mod serve;
pub mod system;
pub mod telemetry;
pub mod users;

pub use config::{Backend, Config};
