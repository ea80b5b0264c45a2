//! Idempotent creation of the SQS queues, SNS topics and subscriptions and
//! the Step Functions state machine that the AWS adapters use (for
//! `gas provision` against an emulator or a trial account; Terraform in
//! `infra/` is the production path). Running any of these again converges
//! the resource on the arguments and returns the same URL or ARN.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::error::{failed, AwsError};
use super::queue::MAX_VISIBILITY;
use super::timer::archive_timer_definition;
use super::whole_seconds;
use crate::MessagingError;

/// How long a dead-letter queue keeps messages: SQS's maximum, 14 days.
const DLQ_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

/// Creates (or updates) the SQS standard queue `name` with
/// `visibility_timeout` (rounded up to whole seconds, at most 12 hours) and
/// returns its URL. With `redrive = Some((dlq_name, max_receives))` it first
/// creates (or updates) the dead-letter queue `dlq_name` (keeping messages
/// 14 days) and sets the queue's `RedrivePolicy` so that a message received
/// `max_receives` (1..=1000) times without being deleted moves there.
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_timeout: Duration,
    redrive: Option<(&str, u32)>,
) -> Result<String, MessagingError> {
    if visibility_timeout > MAX_VISIBILITY {
        return Err(MessagingError::Invalid(
            "visibility timeout above 12 hours".into(),
        ));
    }
    let mut attributes = HashMap::from([(
        QueueAttributeName::VisibilityTimeout,
        whole_seconds(visibility_timeout).to_string(),
    )]);
    if let Some((dlq_name, max_receives)) = redrive {
        if !(1..=1000).contains(&max_receives) {
            return Err(MessagingError::Invalid(
                "max_receives must be 1..=1000".into(),
            ));
        }
        if dlq_name == name {
            return Err(MessagingError::Invalid(format!(
                "queue {name} cannot be its own dead-letter queue"
            )));
        }
        let dlq_attributes = HashMap::from([
            (
                QueueAttributeName::VisibilityTimeout,
                whole_seconds(visibility_timeout).to_string(),
            ),
            (
                QueueAttributeName::MessageRetentionPeriod,
                DLQ_RETENTION.as_secs().to_string(),
            ),
        ]);
        let dlq_url = ensure_queue(sqs, dlq_name, dlq_attributes).await?;
        let dlq_arn = queue_arn(sqs, &dlq_url).await?;
        attributes.insert(
            QueueAttributeName::RedrivePolicy,
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string() })
                .to_string(),
        );
    }
    ensure_queue(sqs, name, attributes).await
}

/// Returns the URL of queue `name`, creating it if needed, with
/// `attributes` set.
async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, MessagingError> {
    let url = match queue_url(sqs, name).await? {
        Some(url) => url,
        None => {
            let created = sqs
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(attributes.clone()))
                .send()
                .await;
            match created {
                Ok(out) => {
                    let url = out
                        .queue_url
                        .ok_or_else(|| AwsError::incomplete("CreateQueue", "QueueUrl"))?;
                    tracing::info!(queue = name, %url, "created queue");
                    return Ok(url);
                }
                // Created meanwhile by someone else: update it below.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_queue_name_exists()) =>
                {
                    queue_url(sqs, name).await?.ok_or_else(|| {
                        MessagingError::NotFound(format!("queue {name} (created, then gone)"))
                    })?
                }
                Err(e) => return Err(failed("CreateQueue", name, e)),
            }
        }
    };
    sqs.set_queue_attributes()
        .queue_url(&url)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| failed("SetQueueAttributes", name, e))?;
    tracing::info!(queue = name, %url, "queue exists; attributes set");
    Ok(url)
}

/// The URL of queue `name`, if it exists.
async fn queue_url(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<Option<String>, MessagingError> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(e) => match failed("GetQueueUrl", name, e) {
            MessagingError::NotFound(_) => Ok(None),
            other => Err(other),
        },
    }
}

/// The ARN of the queue at `url`.
async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, MessagingError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed("GetQueueAttributes", url, e))?;
    out.attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| AwsError::incomplete("GetQueueAttributes", "QueueArn"))
}

/// Creates the SNS standard topic `name` (`CreateTopic` is idempotent) and
/// returns its ARN.
pub async fn create_topic(sns: &aws_sdk_sns::Client, name: &str) -> Result<String, MessagingError> {
    let out = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| failed("CreateTopic", name, e))?;
    let arn = out
        .topic_arn
        .ok_or_else(|| AwsError::incomplete("CreateTopic", "TopicArn"))?;
    tracing::info!(topic = %arn, "topic exists");
    Ok(arn)
}

/// Subscribes the SQS queue at `queue_url` to `topic_arn` with raw message
/// delivery (the queue receives the published message itself, as on the
/// embedded backend), after adding to the queue's access policy a statement
/// that lets SNS send to it from this topic only (`aws:SourceArn`); other
/// statements are kept. Returns the subscription ARN; subscribing again
/// returns the same one.
pub async fn subscribe_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
    queue_url: &str,
) -> Result<String, MessagingError> {
    let queue_arn = queue_arn(sqs, queue_url).await?;
    allow_topic(sqs, queue_url, &queue_arn, topic_arn).await?;
    let out = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| failed("Subscribe", topic_arn, e))?;
    let arn = out
        .subscription_arn
        .ok_or_else(|| AwsError::incomplete("Subscribe", "SubscriptionArn"))?;
    tracing::info!(topic = topic_arn, queue = %queue_arn, subscription = %arn, "queue subscribed");
    Ok(arn)
}

/// Subscribes the HTTP(S) `endpoint` to `topic_arn` (the protocol is the
/// URL's scheme) and returns the subscription ARN. Amazon SNS then POSTs a
/// `SubscriptionConfirmation` that the endpoint must confirm before any
/// notification arrives (emulators may confirm at once).
pub async fn subscribe_http(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    endpoint: &str,
) -> Result<String, MessagingError> {
    let protocol = match url::Url::parse(endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            url.scheme().to_owned()
        }
        _ => {
            return Err(MessagingError::Invalid(format!(
                "{endpoint:?} is not an http(s) URL"
            )))
        }
    };
    let out = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol(protocol)
        .endpoint(endpoint)
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| failed("Subscribe", topic_arn, e))?;
    let arn = out
        .subscription_arn
        .ok_or_else(|| AwsError::incomplete("Subscribe", "SubscriptionArn"))?;
    tracing::info!(topic = topic_arn, endpoint, subscription = %arn, "HTTP endpoint subscribed");
    Ok(arn)
}

/// The `Sid` of the statement letting `topic_arn` send to a queue.
fn statement_id(topic_arn: &str) -> String {
    let digest = Sha256::digest(topic_arn.as_bytes());
    format!("GasSns{}", hex_prefix(&digest, 8))
}

fn hex_prefix(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

/// `policy` (a queue's `Policy` attribute, if any) with the statement that
/// lets `topic_arn` send to `queue_arn` added or replaced; `None` if it is
/// already there as is.
fn policy_allowing(
    policy: Option<&str>,
    queue_arn: &str,
    topic_arn: &str,
) -> Result<Option<String>, MessagingError> {
    let sid = statement_id(topic_arn);
    let statement = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": { "Service": "sns.amazonaws.com" },
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": { "ArnEquals": { "aws:SourceArn": topic_arn } },
    });
    let mut policy = match policy.filter(|p| !p.trim().is_empty()) {
        Some(text) => serde_json::from_str::<Value>(text).map_err(|e| {
            MessagingError::Invalid(format!("the queue's access policy is not JSON: {e}"))
        })?,
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
    };
    let Some(object) = policy.as_object_mut() else {
        return Err(MessagingError::Invalid(
            "the queue's access policy is not a JSON object".into(),
        ));
    };
    let mut statements = match object.remove("Statement") {
        Some(Value::Array(statements)) => statements,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    if statements.contains(&statement) {
        return Ok(None);
    }
    statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(sid.as_str()));
    statements.push(statement);
    object.insert("Statement".into(), Value::Array(statements));
    Ok(Some(policy.to_string()))
}

/// Lets `topic_arn` send to the queue (see [`policy_allowing`]).
async fn allow_topic(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    queue_arn: &str,
    topic_arn: &str,
) -> Result<(), MessagingError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .map_err(|e| failed("GetQueueAttributes", queue_url, e))?;
    let current = out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::Policy))
        .map(String::as_str);
    if let Some(policy) = policy_allowing(current, queue_arn, topic_arn)? {
        sqs.set_queue_attributes()
            .queue_url(queue_url)
            .attributes(QueueAttributeName::Policy, policy)
            .send()
            .await
            .map_err(|e| failed("SetQueueAttributes", queue_url, e))?;
        tracing::info!(
            queue = queue_arn,
            topic = topic_arn,
            "queue policy lets the topic send"
        );
    }
    Ok(())
}

/// Creates the archive timer's Step Functions standard state machine `name`
/// ([`ARCHIVE_TIMER_DEFINITION`](super::ARCHIVE_TIMER_DEFINITION) publishing
/// to `archive_topic_arn`, run as `role_arn`, which must allow
/// `sns:Publish` to the topic), or updates the definition and role of the
/// existing one; returns its ARN.
pub async fn create_state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    role_arn: &str,
    archive_topic_arn: &str,
) -> Result<String, MessagingError> {
    let definition = archive_timer_definition(archive_topic_arn);
    if let Some(arn) = state_machine_arn(sfn, name).await? {
        return update_state_machine(sfn, &arn, role_arn, &definition).await;
    }
    let created = sfn
        .create_state_machine()
        .name(name)
        .role_arn(role_arn)
        .definition(&definition)
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await;
    match created {
        Ok(out) => {
            tracing::info!(state_machine = %out.state_machine_arn(), "created state machine");
            Ok(out.state_machine_arn)
        }
        // Created meanwhile with another definition: update it.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_state_machine_already_exists()) =>
        {
            let arn = state_machine_arn(sfn, name).await?.ok_or_else(|| {
                MessagingError::NotFound(format!("state machine {name} (exists, yet not listed)"))
            })?;
            update_state_machine(sfn, &arn, role_arn, &definition).await
        }
        Err(e) => Err(failed("CreateStateMachine", name, e)),
    }
}

async fn update_state_machine(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
    role_arn: &str,
    definition: &str,
) -> Result<String, MessagingError> {
    sfn.update_state_machine()
        .state_machine_arn(arn)
        .role_arn(role_arn)
        .definition(definition)
        .send()
        .await
        .map_err(|e| failed("UpdateStateMachine", arn, e))?;
    tracing::info!(
        state_machine = arn,
        "state machine exists; definition updated"
    );
    Ok(arn.to_owned())
}

/// The ARN of the state machine `name`, if any (`ListStateMachines`, every
/// page).
async fn state_machine_arn(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
) -> Result<Option<String>, MessagingError> {
    let mut pages = sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| failed("ListStateMachines", name, e))?;
        if let Some(found) = page.state_machines().iter().find(|m| m.name() == name) {
            return Ok(Some(found.state_machine_arn().to_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:gas-archive";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:gas-archive";
    const OTHER: &str = "arn:aws:sns:us-east-1:123456789012:gas-other";

    #[test]
    fn policies_gain_one_statement_per_topic_and_keep_others() {
        let first = policy_allowing(None, QUEUE, TOPIC).unwrap().unwrap();
        assert_eq!(policy_allowing(Some(&first), QUEUE, TOPIC).unwrap(), None);
        let both = policy_allowing(Some(&first), QUEUE, OTHER)
            .unwrap()
            .unwrap();
        let parsed: Value = serde_json::from_str(&both).unwrap();
        let statements = parsed["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
            TOPIC
        );
        assert_eq!(statements[1]["Resource"], QUEUE);
        assert_ne!(statement_id(TOPIC), statement_id(OTHER));
        // A single statement object and foreign statements are kept.
        let single =
            json!({"Version": "2012-10-17", "Statement": {"Sid": "Mine", "Effect": "Deny"}});
        let merged = policy_allowing(Some(&single.to_string()), QUEUE, TOPIC)
            .unwrap()
            .unwrap();
        let parsed: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(parsed["Statement"][0]["Sid"], "Mine");
        assert_eq!(parsed["Statement"].as_array().unwrap().len(), 2);
        assert!(policy_allowing(Some("not json"), QUEUE, TOPIC).is_err());
    }
}
