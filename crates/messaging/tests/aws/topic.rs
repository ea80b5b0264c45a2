//! [`SnsTopic`](gas_messaging::aws::SnsTopic) against the topic contract.

use gas_messaging::aws::SnsTopic;
use gas_messaging::conformance::topic;
use gas_messaging::{MessagingError, Topic};

use crate::support::aws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_topic_fans_out_to_two_sqs_subscriptions() {
    let Some(aws) = aws("sns_topic_fans_out_to_two_sqs_subscriptions").await else {
        return;
    };
    let t = aws.topic("fan-out").await;
    let a = aws.queue("fan-out-a").await;
    let b = aws.queue("fan-out-b").await;
    let sub_a = aws.subscribe(&t, &a).await;
    assert_eq!(
        aws.subscribe(&t, &a).await,
        sub_a,
        "subscribe is idempotent"
    );
    aws.subscribe(&t, &b).await;
    topic::fan_out(&t, &a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_a_missing_topic_is_not_found() {
    let Some(aws) = aws("publishing_to_a_missing_topic_is_not_found").await else {
        return;
    };
    let missing = SnsTopic::new(
        aws.sns.clone(),
        format!("arn:aws:sns:us-east-1:123456789012:{}", aws.name("missing")),
    );
    let published = missing.publish("x").await;
    assert!(
        matches!(published, Err(MessagingError::NotFound(_))),
        "publish to a missing topic gave {published:?}"
    );
    assert!(matches!(
        aws.topic("empty").await.publish("").await,
        Err(MessagingError::Invalid(_))
    ));
}
