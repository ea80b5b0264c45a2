//! [`SfnTimer`] with the real archive state machine, executed by the
//! emulator.

use std::time::Duration;

use gas_messaging::aws::{archive_timer_definition, create_state_machine, SfnTimer, SnsTopic};
use gas_messaging::conformance::timer;
use gas_messaging::{MessagingError, Queue, QueueMessage, Timer, Topic};
use serde_json::{json, Value};

use crate::support::{aws, Aws};

/// Moto does not check the role.
const ROLE: &str = "arn:aws:iam::123456789012:role/gas-archive-timer";

/// A state machine publishing to a fresh topic, and a queue subscribed to it.
async fn archive_timer(aws: &Aws) -> (SfnTimer, SnsTopic, gas_messaging::aws::SqsQueue) {
    aws.enable_state_machine_execution().await;
    let topic = aws.topic("archive").await;
    let queue = aws.queue("archive").await;
    aws.subscribe(&topic, &queue).await;
    let arn = create_state_machine(&aws.sfn, &aws.name("timer"), ROLE, topic.arn())
        .await
        .unwrap();
    (SfnTimer::new(aws.sfn.clone(), arn), topic, queue)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sfn_timer_passes_the_timer_suite() {
    let Some(aws) = aws("sfn_timer_passes_the_timer_suite").await else {
        return;
    };
    let (t, _topic, queue) = archive_timer(&aws).await;
    timer::delayed_publish(&t, &queue).await;
}

/// Receives from `queue` until a message arrives or `within` passes.
async fn first_message(queue: &dyn Queue, within: Duration) -> Option<QueueMessage> {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if let Some(m) = queue
            .receive(1, Duration::from_secs(1))
            .await
            .unwrap()
            .pop()
        {
            return Some(m);
        }
    }
    None
}

async fn status(aws: &Aws, execution_arn: &str) -> String {
    aws.sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap()
        .status()
        .as_str()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sfn_timer_starts_once_per_name_and_stop_prevents_the_publish() {
    let Some(aws) = aws("sfn_timer_starts_once_per_name_and_stop_prevents_the_publish").await
    else {
        return;
    };
    let (t, topic, queue) = archive_timer(&aws).await;
    let definition = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(t.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(
        definition.definition(),
        archive_timer_definition(topic.arn()),
        "the state machine runs the archive timer definition"
    );

    let job = aws.name("job");
    let input = json!({ "job_id": job }).to_string();
    let delay = Duration::from_secs(2);
    let arn = t.start(&job, &input, delay).await.unwrap();
    assert!(
        arn.ends_with(&format!(":execution:{}:{job}", aws.name("timer"))),
        "{arn}"
    );
    // Same name and input: Step Functions returns the running execution.
    assert_eq!(t.start(&job, &input, delay).await.unwrap(), arn);
    // Another delay: ExecutionAlreadyExists, the same message, the same id.
    assert_eq!(
        t.start(&job, &input, Duration::from_secs(9)).await.unwrap(),
        arn
    );
    // Another message under the name is refused.
    let other = t
        .start(&job, &json!({ "job_id": "other" }).to_string(), delay)
        .await;
    assert!(
        matches!(other, Err(MessagingError::Invalid(_))),
        "another input under a used name gave {other:?}"
    );

    let stopped_job = aws.name("stopped");
    let stopped = t
        .start(
            &stopped_job,
            &json!({ "job_id": stopped_job }).to_string(),
            delay,
        )
        .await
        .unwrap();
    t.stop(&stopped).await.unwrap();
    t.stop(&stopped).await.unwrap();
    assert_eq!(status(&aws, &stopped).await, "ABORTED");

    // The window passes; exactly {"job_id": ...} is published (as JSON).
    let fired = first_message(&queue, Duration::from_secs(20))
        .await
        .expect("the timer published within 20 s");
    println!("the state machine published: {}", fired.body);
    let published: Value = serde_json::from_str(&fired.body).expect("the message is JSON");
    assert_eq!(published, json!({ "job_id": job }));
    queue.delete(&fired.receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status(&aws, &arn).await, "SUCCEEDED");

    // A finished execution: starting it again returns it and starts nothing;
    // stopping it succeeds.
    assert_eq!(t.start(&job, &input, delay).await.unwrap(), arn);
    t.stop(&arn).await.unwrap();
    assert_eq!(status(&aws, &arn).await, "SUCCEEDED");
    t.stop(&format!("{arn}-unknown")).await.unwrap();
    t.stop("not an execution arn").await.unwrap();

    let late = first_message(&queue, delay + Duration::from_secs(2)).await;
    assert!(
        late.is_none(),
        "published after a stop or a repeated start: {late:?}"
    );
}
