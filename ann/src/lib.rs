//! The annotator runner: takes job requests from the requests queue, claims
//! each job, annotates its input and stores the results, then starts the
//! archive timer for free users and announces the completion.
//!
//! [`Runner::step`] handles one receive; [`Runner::run`] loops it. Tests drive
//! the step.

mod runner;

pub use gas_jobs::keys::{log_key, result_key, stats_key, variants_key};
pub use runner::{InputLimits, Outcome, Runner, RunnerPorts, RunnerSettings};
