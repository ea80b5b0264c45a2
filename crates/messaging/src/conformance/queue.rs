//! The [`Queue`] contract. Every check expects an empty queue whose
//! visibility timeout is `visibility`, and leaves it empty.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use super::{assert_not_received, collect, receive_one, tag, MARGIN, WAIT};
use crate::{MessagingError, Queue};

/// Runs every check below except [`redrive`], which needs a second queue.
pub async fn suite(queue: &dyn Queue, visibility: Duration) {
    rejects_invalid_max(queue).await;
    depth(queue).await;
    round_trip(queue, visibility).await;
    receives_at_most_ten(queue).await;
    delete_is_idempotent(queue).await;
    visibility_timeout_redelivers(queue, visibility).await;
    stale_receipt_does_not_delete(queue).await;
    change_visibility(queue, visibility).await;
    long_poll_returns_early(queue).await;
}

async fn send(check: &str, queue: &dyn Queue, body: &str) -> String {
    queue
        .send(body)
        .await
        .unwrap_or_else(|e| panic!("{check}: send to {} failed: {e}", queue.name()))
}

async fn delete(check: &str, queue: &dyn Queue, receipt: &str) {
    queue
        .delete(receipt)
        .await
        .unwrap_or_else(|e| panic!("{check}: delete from {} failed: {e}", queue.name()));
}

/// `receive` takes 1..=10 messages at a time; 0 and 11 are `Invalid`.
pub async fn rejects_invalid_max(queue: &dyn Queue) {
    for max in [0, 11] {
        match queue.receive(max, Duration::ZERO).await {
            Err(MessagingError::Invalid(_)) => {}
            other => panic!("rejects_invalid_max: receive({max}) gave {other:?}, not Invalid"),
        }
    }
}

/// A sent message is received once with its id, body and a receive count of
/// 1, and is gone once deleted.
pub async fn round_trip(queue: &dyn Queue, visibility: Duration) {
    const CHECK: &str = "round_trip";
    let body = format!("round trip {} ✓ \"quoted\"\n{{\"json\": true}}", tag());
    let id = send(CHECK, queue, &body).await;
    assert!(!id.is_empty(), "{CHECK}: send returned an empty message id");
    let message = receive_one(CHECK, queue, &id).await;
    assert_eq!(message.body, body, "{CHECK}: body changed in transit");
    assert_eq!(message.receive_count, 1, "{CHECK}: first receive count");
    assert!(!message.receipt.is_empty(), "{CHECK}: empty receipt");
    let sent_at = message
        .sent_at
        .unwrap_or_else(|| panic!("{CHECK}: no sent_at"));
    let skew = match SystemTime::now().duration_since(sent_at) {
        Ok(ago) => ago,
        Err(ahead) => ahead.duration(),
    };
    assert!(
        skew < Duration::from_secs(60),
        "{CHECK}: sent_at {sent_at:?} is {skew:?} away from now"
    );
    delete(CHECK, queue, &message.receipt).await;
    tokio::time::sleep(visibility + MARGIN).await;
    let left = collect(CHECK, queue, 1, Duration::from_secs(1), |m| {
        m.message_id == id
    })
    .await;
    assert!(
        left.is_empty(),
        "{CHECK}: message {id} came back after its delete"
    );
}

/// How long [`depth`] waits for a count to settle: SQS's approximate
/// counts are eventually consistent (about a minute); the embedded queue
/// and moto are exact at once.
const DEPTH_SETTLES: Duration = Duration::from_secs(60);

/// Waits until `queue.depth()` is `expected`, or panics after
/// [`DEPTH_SETTLES`].
async fn depth_becomes(check: &str, queue: &dyn Queue, expected: u64, when: &str) {
    let deadline = tokio::time::Instant::now() + DEPTH_SETTLES;
    loop {
        let depth = queue
            .depth()
            .await
            .unwrap_or_else(|e| panic!("{check}: depth of {} failed: {e}", queue.name()));
        if depth == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{check}: depth of {} is {depth}, not {expected}, {when}",
            queue.name()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `depth` counts every message the queue holds: visible and in flight
/// alike, and none once they are deleted.
pub async fn depth(queue: &dyn Queue) {
    const CHECK: &str = "depth";
    depth_becomes(CHECK, queue, 0, "on an empty queue").await;
    let prefix = tag();
    for i in 0..3 {
        send(CHECK, queue, &format!("{prefix} depth {i}")).await;
    }
    depth_becomes(CHECK, queue, 3, "after three sends").await;
    let received = collect(CHECK, queue, 3, Duration::from_secs(10), |m| {
        m.body.starts_with(&prefix)
    })
    .await;
    assert_eq!(received.len(), 3, "{CHECK}: the three messages received");
    depth_becomes(CHECK, queue, 3, "with the three in flight").await;
    for message in &received {
        delete(CHECK, queue, &message.receipt).await;
    }
    depth_becomes(CHECK, queue, 0, "after deleting them").await;
}

/// Twelve messages come back in receives of at most ten, each exactly once.
pub async fn receives_at_most_ten(queue: &dyn Queue) {
    const CHECK: &str = "receives_at_most_ten";
    let prefix = tag();
    let mut sent = BTreeSet::new();
    for i in 0..12 {
        let body = format!("{prefix} {i}");
        send(CHECK, queue, &body).await;
        sent.insert(body);
    }
    let first = queue
        .receive(10, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{CHECK}: receive failed: {e}"));
    assert!(
        (1..=10).contains(&first.len()),
        "{CHECK}: receive(10) with 12 waiting returned {}",
        first.len()
    );
    let rest = collect(
        CHECK,
        queue,
        12 - first.len(),
        Duration::from_secs(10),
        |m| m.body.starts_with(&prefix),
    )
    .await;
    let all: Vec<_> = first.into_iter().chain(rest).collect();
    let ids: BTreeSet<_> = all.iter().map(|m| m.message_id.clone()).collect();
    let bodies: BTreeSet<_> = all.iter().map(|m| m.body.clone()).collect();
    assert_eq!(
        ids.len(),
        all.len(),
        "{CHECK}: a message was received twice"
    );
    assert_eq!(
        bodies, sent,
        "{CHECK}: received bodies differ from those sent"
    );
    for message in &all {
        delete(CHECK, queue, &message.receipt).await;
    }
}

/// Deleting an already deleted message succeeds.
pub async fn delete_is_idempotent(queue: &dyn Queue) {
    const CHECK: &str = "delete_is_idempotent";
    let id = send(CHECK, queue, &format!("delete twice {}", tag())).await;
    let message = receive_one(CHECK, queue, &id).await;
    delete(CHECK, queue, &message.receipt).await;
    delete(CHECK, queue, &message.receipt).await;
}

/// A received message is hidden for the visibility timeout, then delivered
/// again with a new receipt and a receive count one higher.
pub async fn visibility_timeout_redelivers(queue: &dyn Queue, visibility: Duration) {
    const CHECK: &str = "visibility_timeout_redelivers";
    let id = send(CHECK, queue, &format!("visibility {}", tag())).await;
    let first = receive_one(CHECK, queue, &id).await;
    assert_not_received(CHECK, queue, &id).await;
    tokio::time::sleep(visibility + MARGIN).await;
    let second = receive_one(CHECK, queue, &id).await;
    assert_ne!(second.receipt, first.receipt, "{CHECK}: receipt reused");
    assert_eq!(
        second.receive_count,
        first.receive_count + 1,
        "{CHECK}: receive count after redelivery"
    );
    delete(CHECK, queue, &second.receipt).await;
}

/// A receipt made stale by a later receipt deletes nothing.
///
/// (Amazon SQS documents that such a delete "succeeds, but the message might
/// not be deleted"; moto deletes with any receipt the message ever had.)
pub async fn stale_receipt_does_not_delete(queue: &dyn Queue) {
    const CHECK: &str = "stale_receipt_does_not_delete";
    let id = send(CHECK, queue, &format!("stale receipt {}", tag())).await;
    let first = receive_one(CHECK, queue, &id).await;
    queue
        .change_visibility(&first.receipt, Duration::ZERO)
        .await
        .unwrap_or_else(|e| panic!("{CHECK}: change_visibility failed: {e}"));
    let second = receive_one(CHECK, queue, &id).await;
    // Either answer is allowed; the message must stay.
    let _ = queue.delete(&first.receipt).await;
    queue
        .change_visibility(&second.receipt, Duration::ZERO)
        .await
        .unwrap_or_else(|e| panic!("{CHECK}: the stale receipt deleted the message ({e})"));
    let third = receive_one(CHECK, queue, &id).await;
    assert_eq!(third.receive_count, 3, "{CHECK}: receive count");
    delete(CHECK, queue, &third.receipt).await;
}

/// `change_visibility` to zero makes a message visible at once; to longer
/// than the queue's timeout keeps it hidden past that timeout.
pub async fn change_visibility(queue: &dyn Queue, visibility: Duration) {
    const CHECK: &str = "change_visibility";
    let id = send(CHECK, queue, &format!("change visibility {}", tag())).await;
    let first = receive_one(CHECK, queue, &id).await;
    queue
        .change_visibility(&first.receipt, Duration::ZERO)
        .await
        .unwrap_or_else(|e| panic!("{CHECK}: change_visibility(0) failed: {e}"));
    let started = tokio::time::Instant::now();
    let second = receive_one(CHECK, queue, &id).await;
    assert!(
        started.elapsed() < visibility,
        "{CHECK}: visibility 0 did not make the message visible at once"
    );
    assert_eq!(second.receive_count, 2, "{CHECK}: receive count");
    let longer = Duration::from_secs((visibility * 3).as_secs().max(3));
    queue
        .change_visibility(&second.receipt, longer)
        .await
        .unwrap_or_else(|e| panic!("{CHECK}: change_visibility({longer:?}) failed: {e}"));
    tokio::time::sleep(visibility + MARGIN).await;
    assert_not_received(CHECK, queue, &id).await;
    delete(CHECK, queue, &second.receipt).await;
}

/// A long poll on an empty queue returns as soon as a message arrives.
pub async fn long_poll_returns_early(queue: &dyn Queue) {
    const CHECK: &str = "long_poll_returns_early";
    let body = format!("long poll {}", tag());
    let started = tokio::time::Instant::now();
    let (received, _) = tokio::join!(queue.receive(1, Duration::from_secs(10)), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        send(CHECK, queue, &body).await
    });
    let received = received.unwrap_or_else(|e| panic!("{CHECK}: receive failed: {e}"));
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "{CHECK}: a 10 s long poll took {elapsed:?} to return a message sent after 0.3 s"
    );
    assert_eq!(
        received.len(),
        1,
        "{CHECK}: long poll returned {received:?}"
    );
    assert_eq!(
        received[0].body, body,
        "{CHECK}: long poll returned another message"
    );
    delete(CHECK, queue, &received[0].receipt).await;
}

/// A message received `max_receives` times and not deleted moves to `dlq`
/// (which must be `queue`'s dead-letter queue), keeping its id, body and
/// sent time; `dlq`'s depth counts it. Both queues must be empty.
pub async fn redrive(queue: &dyn Queue, dlq: &dyn Queue, max_receives: u32) {
    const CHECK: &str = "redrive";
    let body = format!("redrive {}", tag());
    let id = send(CHECK, queue, &body).await;
    let mut sent_at = None;
    for attempt in 1..=max_receives {
        let message = receive_one(CHECK, queue, &id).await;
        assert_eq!(message.receive_count, attempt, "{CHECK}: receive count");
        sent_at = message.sent_at;
        queue
            .change_visibility(&message.receipt, Duration::ZERO)
            .await
            .unwrap_or_else(|e| panic!("{CHECK}: change_visibility failed: {e}"));
    }
    let again = collect(CHECK, queue, 1, Duration::from_secs(1), |m| {
        m.message_id == id
    })
    .await;
    assert!(
        again.is_empty(),
        "{CHECK}: message delivered a {}th time instead of moving to {}",
        max_receives + 1,
        dlq.name()
    );
    let dead = collect(CHECK, dlq, 1, WAIT + MARGIN, |m| m.body == body).await;
    assert_eq!(
        dead.len(),
        1,
        "{CHECK}: message not found in {}",
        dlq.name()
    );
    assert_eq!(
        dead[0].message_id, id,
        "{CHECK}: message id changed in the dead-letter queue"
    );
    assert_eq!(
        dead[0].sent_at, sent_at,
        "{CHECK}: sent time changed in the dead-letter queue"
    );
    depth_becomes(CHECK, dlq, 1, "holding the dead-lettered message").await;
    delete(CHECK, dlq, &dead[0].receipt).await;
    depth_becomes(CHECK, dlq, 0, "after deleting it").await;
}
