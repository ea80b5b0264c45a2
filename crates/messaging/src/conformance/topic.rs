//! The [`Topic`] contract.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{collect, tag};
use crate::sns::unwrap_queue_body;
use crate::{Queue, Topic};

/// Every message published to `topic` reaches both `a` and `b`, queues
/// subscribed to it (with or without raw delivery), exactly as published.
/// Messages of other runs in the queues are ignored (and left there).
pub async fn fan_out(topic: &dyn Topic, a: &dyn Queue, b: &dyn Queue) {
    const CHECK: &str = "fan_out";
    let prefix = tag();
    let mut published = BTreeSet::new();
    for i in 0..3 {
        let message = format!("{{\"fan_out\": \"{prefix}\", \"n\": {i}, \"text\": \"ü ✓\"}}");
        let id = topic
            .publish(&message)
            .await
            .unwrap_or_else(|e| panic!("{CHECK}: publish to {} failed: {e}", topic.arn()));
        assert!(
            !id.is_empty(),
            "{CHECK}: publish returned an empty message id"
        );
        published.insert(message);
    }
    for queue in [a, b] {
        let got = collect(
            CHECK,
            queue,
            published.len(),
            Duration::from_secs(10),
            |m| unwrap_queue_body(&m.body).contains(&prefix),
        )
        .await;
        let bodies: BTreeSet<_> = got.iter().map(|m| unwrap_queue_body(&m.body)).collect();
        assert_eq!(
            bodies,
            published,
            "{CHECK}: {} received other messages than those published",
            queue.name()
        );
        for message in &got {
            queue
                .delete(&message.receipt)
                .await
                .unwrap_or_else(|e| panic!("{CHECK}: delete from {} failed: {e}", queue.name()));
        }
    }
}
