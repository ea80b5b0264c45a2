//! Counts the AWS requests a process makes, for `/metrics`:
//! `gas_aws_calls_total{service, operation, result}`, one per request AWS
//! answered (each retry is one more; presigned URLs, which are never sent
//! by the process, are not counted). `result` is `ok`, `error` (an answer
//! that is an error, e.g. a failed DynamoDB condition, which AWS still
//! bills) or `empty` (a ReceiveMessage that returned no message: polling,
//! whose number grows with time, not with jobs).
//!
//! Operators read what each service costs from it; `docs/SCALE.md` and
//! `crates/gas/tests/aws_calls.rs` count a job's calls with it.

use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The metric's name.
pub const METRIC: &str = "gas_aws_calls_total";

/// The interceptor every SDK client of the services carries.
#[derive(Debug, Default)]
pub struct CallCounter;

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "GasCallCounter"
    }

    /// Runs once per attempt that got an answer, after it was parsed.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let result = match context.output_or_error() {
            Ok(output) => match output.downcast_ref::<ReceiveMessageOutput>() {
                Some(received) if received.messages().is_empty() => "empty",
                _ => "ok",
            },
            Err(_) => "error",
        };
        metrics::counter!(
            METRIC,
            "service" => metadata.service().to_owned(),
            "operation" => metadata.name().to_owned(),
            "result" => result,
        )
        .increment(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, RuleMode};

    fn sqs_answer(status: u16, body: &str) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sqs::Client::receive_message)
            .sequence()
            .http_status(status, Some(body.to_string()))
            .build()
    }

    /// Each answered request is counted once, with its result; a presigned
    /// URL is not a request.
    #[test]
    fn counts_each_answer_by_operation_and_result() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                let rules = [
                    sqs_answer(
                        200,
                        r#"{"Messages":[{"MessageId":"m","ReceiptHandle":"r","Body":"b"}]}"#,
                    ),
                    sqs_answer(200, "{}"),
                    sqs_answer(
                        400,
                        r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"}"#,
                    ),
                ];
                let mut answers = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
                for rule in &rules {
                    answers = answers.with_rule(rule);
                }
                let sqs = aws_sdk_sqs::Client::from_conf(
                    aws_sdk_sqs::Config::builder()
                        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
                        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
                        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                            "a", "b", None, None, "test",
                        ))
                        .http_client(create_mock_http_client())
                        .interceptor(answers)
                        .interceptor(super::CallCounter)
                        .build(),
                );
                let receive = || sqs.receive_message().queue_url("https://sqs/q").send();
                assert_eq!(receive().await.unwrap().messages().len(), 1);
                assert!(receive().await.unwrap().messages().is_empty());
                let err = receive().await.unwrap_err();
                assert!(err.as_service_error().is_some(), "{err:?}");

                let s3_conf = aws_sdk_s3::Config::builder()
                    .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                    .region(aws_sdk_s3::config::Region::new("us-east-1"))
                    .credentials_provider(aws_sdk_s3::config::Credentials::new(
                        "a", "b", None, None, "test",
                    ))
                    .interceptor(super::CallCounter)
                    .build();
                aws_sdk_s3::Client::from_conf(s3_conf)
                    .get_object()
                    .bucket("b")
                    .key("k")
                    .presigned(
                        aws_sdk_s3::presigning::PresigningConfig::expires_in(
                            std::time::Duration::from_secs(60),
                        )
                        .unwrap(),
                    )
                    .await
                    .unwrap();
            })
        });
        let text = handle.render();
        for result in ["ok", "empty", "error"] {
            let line = format!(
                "gas_aws_calls_total{{service=\"SQS\",operation=\"ReceiveMessage\",result=\"{result}\"}} 1"
            );
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("S3"), "a presigned URL was counted:\n{text}");
    }
}
