//! [`Timer`] on AWS Step Functions, and the state machine it runs.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use super::error::failed;
use super::whole_seconds;
use crate::local::check_name;
use crate::{MessagingError, Timer};

/// The archive timer's state machine, in Amazon States Language, with the
/// archive topic's ARN left as [`TOPIC_ARN_PLACEHOLDER`]: Wait
/// (`SecondsPath: $.wait_seconds`, so the window is per execution) → Task
/// `arn:aws:states:::sns:publish` with `"Message.$": "$.message"`.
///
/// The one copy lives in the repository's `infra/archive_timer.asl.json`;
/// `gas provision` fills it in with [`archive_timer_definition`] and
/// Terraform with `templatefile()`.
pub const ARCHIVE_TIMER_DEFINITION: &str = include_str!("../../../../infra/archive_timer.asl.json");

/// The placeholder in [`ARCHIVE_TIMER_DEFINITION`] for the topic's ARN
/// (Terraform's `templatefile()` syntax).
pub const TOPIC_ARN_PLACEHOLDER: &str = "${archive_topic_arn}";

/// [`ARCHIVE_TIMER_DEFINITION`] publishing to `archive_topic_arn`.
pub fn archive_timer_definition(archive_topic_arn: &str) -> String {
    // The placeholder sits inside a JSON string: escape the ARN as one.
    let quoted = Value::String(archive_topic_arn.to_owned()).to_string();
    let escaped = &quoted[1..quoted.len() - 1];
    ARCHIVE_TIMER_DEFINITION.replace(TOPIC_ARN_PLACEHOLDER, escaped)
}

/// Step Functions' limit on an execution's input.
const MAX_INPUT_BYTES: usize = 256 * 1024;
/// A standard execution runs for at most a year.
const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A [`Timer`] on a Step Functions standard state machine running
/// [`ARCHIVE_TIMER_DEFINITION`] (see [`create_state_machine`]). Cheap to
/// clone.
///
/// How each point of the contract maps to Step Functions:
/// - `start(name, input, delay)` is `StartExecution` with the execution
///   `name` (1-80 of `A-Z a-z 0-9 - _`, as on the embedded timer) and the
///   execution input `{"wait_seconds": <delay rounded up to whole seconds>,
///   "message": <input>}`; `input` must be a JSON object. The state machine
///   waits, then publishes `message` to the archive topic: Step Functions
///   serialises the object, so subscribers receive the input as JSON (the
///   same value, whitespace aside). The execution ARN is the id.
/// - Idempotent by name: Step Functions itself returns the running
///   execution for the same name and input; for anything else it answers
///   `ExecutionAlreadyExists`, and then the existing execution (its ARN is
///   derived from the state machine's ARN and the name) is looked up with
///   `DescribeExecution`: the same `message` returns its ARN, whatever its
///   status or delay, another is [`MessagingError::Invalid`], as on the
///   embedded timer.
/// - Executions live in Step Functions, so they survive every process.
/// - `stop` is `StopExecution`; an unknown execution (`ExecutionDoesNotExist`,
///   or an id that is not an execution ARN) or one no longer running
///   succeeds.
///
/// [`create_state_machine`]: super::create_state_machine
#[derive(Clone, Debug)]
pub struct SfnTimer {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SfnTimer {
    /// A timer starting executions of `state_machine_arn`.
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// The ARN of this state machine's execution `name`.
    fn execution_arn(&self, name: &str) -> Result<String, MessagingError> {
        execution_arn(&self.state_machine_arn, name).ok_or_else(|| {
            MessagingError::Invalid(format!(
                "{} is not a state machine ARN",
                self.state_machine_arn
            ))
        })
    }

    /// After `ExecutionAlreadyExists`: the existing execution's ARN if it
    /// carries the same message.
    async fn existing(&self, name: &str, message: &Value) -> Result<String, MessagingError> {
        let arn = self.execution_arn(name)?;
        let out = self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| failed("DescribeExecution", &arn, e))?;
        let existing = out
            .input()
            .and_then(|input| serde_json::from_str::<Value>(input).ok())
            .and_then(|mut input| input.get_mut("message").map(Value::take));
        if existing.as_ref() == Some(message) {
            tracing::debug!(execution = %arn, status = %out.status(), "timer already started");
            Ok(arn)
        } else {
            Err(MessagingError::Invalid(format!(
                "execution {name} already exists with another input"
            )))
        }
    }

    /// Whether execution `arn` exists and is no longer running.
    async fn finished(&self, arn: &str) -> Result<bool, MessagingError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| failed("DescribeExecution", arn, e))?;
        Ok(*out.status() != ExecutionStatus::Running)
    }
}

/// `arn:aws:states:<region>:<account>:stateMachine:<machine>[:<qualifier>]`
/// → `arn:aws:states:<region>:<account>:execution:<machine>:<name>`.
fn execution_arn(state_machine_arn: &str, name: &str) -> Option<String> {
    let (head, rest) = state_machine_arn.split_once(":stateMachine:")?;
    let machine = rest.split(':').next().filter(|m| !m.is_empty())?;
    Some(format!("{head}:execution:{machine}:{name}"))
}

/// The execution input carrying `delay` and `message`.
fn execution_input(message: &Value, delay: Duration) -> String {
    json!({ "wait_seconds": whole_seconds(delay), "message": message }).to_string()
}

#[async_trait]
impl Timer for SfnTimer {
    async fn start(
        &self,
        name: &str,
        input: &str,
        delay: Duration,
    ) -> Result<String, MessagingError> {
        check_name("execution", name, 80)?;
        let message: Value = serde_json::from_str(input)
            .map_err(|e| MessagingError::Invalid(format!("execution input is not JSON: {e}")))?;
        if !message.is_object() {
            return Err(MessagingError::Invalid(
                "execution input is not a JSON object".into(),
            ));
        }
        if delay > MAX_DELAY {
            return Err(MessagingError::Invalid("delay above a year".into()));
        }
        let execution_input = execution_input(&message, delay);
        if execution_input.len() > MAX_INPUT_BYTES {
            return Err(MessagingError::Invalid(
                "execution input above 256 KiB".into(),
            ));
        }
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(execution_input)
            .send()
            .await;
        match result {
            Ok(out) => {
                tracing::debug!(execution = %out.execution_arn(), ?delay, "timer started");
                Ok(out.execution_arn)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                self.existing(name, &message).await
            }
            Err(e) => Err(failed("StartExecution", &self.state_machine_arn, e)),
        }
    }

    async fn stop(&self, execution_id: &str) -> Result<(), MessagingError> {
        let result = self
            .client
            .stop_execution()
            .execution_arn(execution_id)
            .send()
            .await;
        let e = match result {
            Ok(_) => {
                tracing::debug!(execution = execution_id, "timer stopped");
                return Ok(());
            }
            Err(e) => e,
        };
        let service = e.as_service_error();
        if service.is_some_and(|s| s.is_execution_does_not_exist()) {
            tracing::debug!(execution = execution_id, "stop: no such execution");
            return Ok(());
        }
        if service.is_some_and(|s| s.is_invalid_arn()) {
            tracing::warn!(
                execution = execution_id,
                "stop: not an execution ARN, so no such execution"
            );
            return Ok(());
        }
        // Whatever Step Functions answers for an execution that has already
        // ended, ending it is done.
        if service.is_some_and(|s| s.is_validation_exception())
            && self.finished(execution_id).await.unwrap_or(false)
        {
            tracing::debug!(execution = execution_id, "stop: execution already ended");
            return Ok(());
        }
        Err(failed("StopExecution", execution_id, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_is_wait_then_publish() {
        let topic = "arn:aws:sns:us-east-1:123456789012:gas-archive";
        let definition: Value = serde_json::from_str(&archive_timer_definition(topic)).unwrap();
        let start = definition["StartAt"].as_str().unwrap();
        let wait = &definition["States"][start];
        assert_eq!(wait["Type"], "Wait");
        assert_eq!(wait["SecondsPath"], "$.wait_seconds");
        let publish = &definition["States"][wait["Next"].as_str().unwrap()];
        assert_eq!(publish["Type"], "Task");
        assert_eq!(publish["Resource"], "arn:aws:states:::sns:publish");
        assert_eq!(publish["Parameters"]["TopicArn"], topic);
        assert_eq!(publish["Parameters"]["Message.$"], "$.message");
        assert_eq!(publish["End"], true);
        assert!(!archive_timer_definition(topic).contains(TOPIC_ARN_PLACEHOLDER));
        // Terraform's templatefile() must find nothing else to interpolate.
        assert_eq!(ARCHIVE_TIMER_DEFINITION.matches("${").count(), 1);
        assert!(!ARCHIVE_TIMER_DEFINITION.contains("%{"));
    }

    #[test]
    fn the_topic_arn_is_escaped_as_json() {
        let definition = archive_timer_definition("a\"b");
        let parsed: Value = serde_json::from_str(&definition).unwrap();
        assert_eq!(
            parsed["States"]["PublishArchiveRequest"]["Parameters"]["TopicArn"],
            "a\"b"
        );
    }

    #[test]
    fn execution_arns_derive_from_the_state_machine() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:123456789012:stateMachine:gas-archive",
                "job-1"
            )
            .as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:gas-archive:job-1")
        );
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:123456789012:stateMachine:gas-archive:prod",
                "job-1"
            )
            .as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:gas-archive:job-1")
        );
        assert_eq!(execution_arn("arn:aws:sns:us-east-1:1:topic", "x"), None);
    }

    #[test]
    fn the_input_carries_whole_seconds_and_the_message() {
        let input = execution_input(&json!({"job_id": "j"}), Duration::from_millis(1500));
        let parsed: Value = serde_json::from_str(&input).unwrap();
        assert_eq!(
            parsed,
            json!({"wait_seconds": 2, "message": {"job_id": "j"}})
        );
    }

    #[tokio::test]
    async fn bad_starts_fail_before_calling_aws() {
        // No endpoint is reachable: anything that calls AWS fails otherwise.
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let timer = SfnTimer::new(
            aws_sdk_sfn::Client::from_conf(config),
            "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        );
        for (name, input, delay) in [
            ("bad name", "{}", Duration::ZERO),
            ("", "{}", Duration::ZERO),
            ("ok", "not json", Duration::ZERO),
            ("ok", "\"a string\"", Duration::ZERO),
            ("ok", "{}", MAX_DELAY + Duration::from_secs(1)),
        ] {
            let result = timer.start(name, input, delay).await;
            assert!(
                matches!(result, Err(MessagingError::Invalid(_))),
                "start({name:?}, {input:?}) gave {result:?}"
            );
        }
    }
}
