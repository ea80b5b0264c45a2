//! The provisioning helpers converge and return the same URLs and ARNs.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use gas_messaging::aws::{
    archive_timer_definition, create_queue, create_state_machine, create_topic, subscribe_http,
};
use gas_messaging::{MessagingError, Topic};
use serde_json::Value;

use crate::support::aws;

const ROLE: &str = "arn:aws:iam::123456789012:role/gas-archive-timer";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_is_idempotent() {
    let Some(aws) = aws("provisioning_is_idempotent").await else {
        return;
    };
    // Queues: the same URL, the attributes of the latest call.
    let name = aws.name("provisioned");
    let dlq = aws.name("provisioned-dlq");
    let url = create_queue(&aws.sqs, &name, Duration::from_secs(30), Some((&dlq, 5)))
        .await
        .unwrap();
    let again = create_queue(&aws.sqs, &name, Duration::from_secs(60), Some((&dlq, 3)))
        .await
        .unwrap();
    assert_eq!(again, url);
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "60");
    let redrive: Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{dlq}")),
        "{redrive}"
    );
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "3"
    );
    assert!(matches!(
        create_queue(&aws.sqs, &name, Duration::from_secs(13 * 3600), None).await,
        Err(MessagingError::Invalid(_))
    ));
    assert!(matches!(
        create_queue(&aws.sqs, &name, Duration::from_secs(1), Some((&name, 3))).await,
        Err(MessagingError::Invalid(_))
    ));

    // Topics and subscriptions.
    let topic_name = aws.name("provisioned");
    let arn = create_topic(&aws.sns, &topic_name).await.unwrap();
    assert_eq!(create_topic(&aws.sns, &topic_name).await.unwrap(), arn);
    let topic = gas_messaging::aws::SnsTopic::new(aws.sns.clone(), arn.clone());
    let queue = gas_messaging::aws::SqsQueue::new(aws.sqs.clone(), url.clone());
    let sub = aws.subscribe(&topic, &queue).await;
    assert_eq!(aws.subscribe(&topic, &queue).await, sub);
    let policy = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let policy: Value = serde_json::from_str(&policy[&QueueAttributeName::Policy]).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "one statement per topic: {policy}");
    assert_eq!(
        statements[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        topic.arn()
    );
    let raw = aws
        .sns
        .get_subscription_attributes()
        .subscription_arn(&sub)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        raw.get("RawMessageDelivery").map(String::as_str),
        Some("true")
    );
    let http = subscribe_http(&aws.sns, &arn, "http://127.0.0.1:9/archive")
        .await
        .unwrap();
    assert!(http.starts_with(&arn), "{http}");
    assert!(matches!(
        subscribe_http(&aws.sns, &arn, "not a url").await,
        Err(MessagingError::Invalid(_))
    ));

    // The state machine: the same ARN, the definition of the latest call.
    let machine = aws.name("provisioned");
    let sm = create_state_machine(&aws.sfn, &machine, ROLE, &arn)
        .await
        .unwrap();
    assert_eq!(
        create_state_machine(&aws.sfn, &machine, ROLE, &arn)
            .await
            .unwrap(),
        sm
    );
    let other_topic = format!("{arn}-other");
    assert_eq!(
        create_state_machine(&aws.sfn, &machine, ROLE, &other_topic)
            .await
            .unwrap(),
        sm
    );
    let described = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.definition(),
        archive_timer_definition(&other_topic)
    );
}
