//! The AWS adapters (SQS, SNS, Step Functions) against an AWS emulator:
//! every conformance suite, provisioning, and SNS signature verification of
//! what the emulator POSTs.
//!
//! The emulator's URL comes from `GAS_TEST_AWS_ENDPOINT` (start moto's
//! server with `eval "$(bash scripts/moto.sh)"`). Without it every test
//! prints a notice and passes, unless `GAS_REQUIRE_AWS_TESTS=1`, when they
//! fail. Each test uses resource names of its own.

#[path = "aws/provision.rs"]
mod provision;
#[path = "aws/queue.rs"]
mod queue;
#[path = "aws/support.rs"]
mod support;
#[path = "aws/timer.rs"]
mod timer;
#[path = "aws/topic.rs"]
mod topic;
#[path = "aws/verify.rs"]
mod verify;
