//! The [`Timer`] contract.

use std::time::Duration;

use serde_json::{json, Value};

use super::{collect, tag, MARGIN};
use crate::sns::unwrap_queue_body;
use crate::{Queue, QueueMessage, Timer};

const DELAY: Duration = Duration::from_secs(2);

/// Starts two executions with a 2 s delay and stops one: the other's input is
/// published to the timer's topic (which `queue` is subscribed to) after the
/// delay and not before; the stopped one's never is. Starting a running
/// name again with the same input returns the same execution id; stopping
/// twice, or stopping an unknown execution, succeeds. Messages of other runs
/// in `queue` are ignored (and left there).
pub async fn delayed_publish(timer: &dyn Timer, queue: &dyn Queue) {
    const CHECK: &str = "delayed_publish";
    let run = tag();
    let fire_name = format!("conformance-{run}-fire");
    let stop_name = format!("conformance-{run}-stop");
    let fire_input = json!({ "job_id": fire_name }).to_string();
    let stop_input = json!({ "job_id": stop_name }).to_string();

    let started = tokio::time::Instant::now();
    let fire_id = start(CHECK, timer, &fire_name, &fire_input).await;
    assert_eq!(
        start(CHECK, timer, &fire_name, &fire_input).await,
        fire_id,
        "{CHECK}: starting a running name again gave another execution id"
    );
    let stop_id = start(CHECK, timer, &stop_name, &stop_input).await;
    assert_ne!(stop_id, fire_id, "{CHECK}: two names share an execution id");
    for id in [&stop_id, &stop_id, &format!("{stop_id}-unknown")] {
        timer
            .stop(id)
            .await
            .unwrap_or_else(|e| panic!("{CHECK}: stop({id}) failed: {e}"));
    }

    let ours = |m: &QueueMessage| {
        input_of(m).is_some_and(|v| v["job_id"].as_str().is_some_and(|j| j.contains(&run)))
    };
    let fired = collect(CHECK, queue, 1, DELAY + Duration::from_secs(15), ours).await;
    let fired_at = started.elapsed();
    assert!(
        !fired.is_empty(),
        "{CHECK}: nothing was published within {:?}",
        DELAY + Duration::from_secs(15)
    );
    assert!(
        fired_at + MARGIN >= DELAY,
        "{CHECK}: published after {fired_at:?}, before the {DELAY:?} delay"
    );
    // Give the stopped execution the same chance to (wrongly) fire.
    let later = collect(CHECK, queue, usize::MAX, Duration::from_secs(2), ours).await;
    let all: Vec<_> = fired.into_iter().chain(later).collect();
    let fire_value: Value = json!({ "job_id": fire_name });
    for message in &all {
        assert_eq!(
            input_of(message).as_ref(),
            Some(&fire_value),
            "{CHECK}: published something other than the running execution's input: {}",
            message.body
        );
        queue
            .delete(&message.receipt)
            .await
            .unwrap_or_else(|e| panic!("{CHECK}: delete failed: {e}"));
    }
}

async fn start(check: &str, timer: &dyn Timer, name: &str, input: &str) -> String {
    timer
        .start(name, input, DELAY)
        .await
        .unwrap_or_else(|e| panic!("{check}: start({name}) failed: {e}"))
}

/// The published input as JSON (an emulator may re-serialise it).
fn input_of(message: &QueueMessage) -> Option<Value> {
    serde_json::from_str(&unwrap_queue_body(&message.body)).ok()
}
