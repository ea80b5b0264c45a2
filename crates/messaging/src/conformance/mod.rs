//! Conformance suites: the contracts of [`Queue`],
//! [`Topic`](crate::Topic) and [`Timer`](crate::Timer) as executable checks.
//!
//! Every adapter runs the same functions: the embedded adapters in
//! `cargo test`, the AWS adapters against an emulator. Each function panics
//! with a message naming the check and what went wrong. They use only the
//! port traits, fresh names and whole-second waits, so they work against
//! SQS, SNS and Step Functions as well as SQLite; with visibility timeouts of
//! 1-2 s a suite takes a few seconds.
//!
//! - [`queue`]: send/receive/delete, depth, batches, visibility, receipts,
//!   long polling, redrive;
//! - [`topic`]: fan-out to queues;
//! - [`timer`]: delayed publication, stop, idempotent start.

pub mod queue;
pub mod timer;
pub mod topic;

use std::time::Duration;

use crate::{Queue, QueueMessage};

/// Slack for clocks and schedulers on top of every timeout the suites wait
/// out.
const MARGIN: Duration = Duration::from_millis(500);
/// The long poll used when a message is expected.
const WAIT: Duration = Duration::from_secs(2);

/// Receives from `queue` until `keep` has accepted `count` messages or
/// `within` has passed; returns what `keep` accepted. Every receive is
/// checked to honour `max`.
async fn collect(
    check: &str,
    queue: &dyn Queue,
    count: usize,
    within: Duration,
    mut keep: impl FnMut(&QueueMessage) -> bool,
) -> Vec<QueueMessage> {
    let deadline = tokio::time::Instant::now() + within;
    let mut kept = Vec::new();
    while kept.len() < count {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let wait = Duration::from_secs(left.as_secs().clamp(1, 2));
        let got = queue
            .receive(10, wait)
            .await
            .unwrap_or_else(|e| panic!("{check}: receive from {} failed: {e}", queue.name()));
        assert!(
            got.len() <= 10,
            "{check}: receive(10) returned {} messages",
            got.len()
        );
        kept.extend(got.into_iter().filter(|m| keep(m)));
    }
    kept
}

/// Receives exactly the message `message_id` (ignoring others) within `WAIT`
/// plus a margin, or panics.
async fn receive_one(check: &str, queue: &dyn Queue, message_id: &str) -> QueueMessage {
    let mut got = collect(check, queue, 1, WAIT + MARGIN, |m| {
        m.message_id == message_id
    })
    .await;
    assert!(
        !got.is_empty(),
        "{check}: message {message_id} was not received from {}",
        queue.name()
    );
    got.swap_remove(0)
}

/// Panics if `message_id` can be received from `queue` right now.
async fn assert_not_received(check: &str, queue: &dyn Queue, message_id: &str) {
    let got = queue
        .receive(10, Duration::ZERO)
        .await
        .unwrap_or_else(|e| panic!("{check}: receive from {} failed: {e}", queue.name()));
    assert!(
        got.iter().all(|m| m.message_id != message_id),
        "{check}: message {message_id} was received from {} when it should not be",
        queue.name()
    );
}

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
