//! The emulator's clients and fresh resource names.

use std::time::Duration;

use gas_messaging::aws::{create_queue, create_topic, subscribe_queue, SnsTopic, SqsQueue};

/// The queues' visibility timeout in the suites.
pub const VISIBILITY: Duration = Duration::from_secs(1);

/// SDK clients on the emulator, and a tag that makes this test's resource
/// names its own.
pub struct Aws {
    pub endpoint: String,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
    run: String,
}

/// The emulator's clients, or `None` (after a notice) when
/// `GAS_TEST_AWS_ENDPOINT` is unset; then panics if `GAS_REQUIRE_AWS_TESTS`
/// is `1`.
pub async fn aws(test: &str) -> Option<Aws> {
    let endpoint = gas_testkit::aws_endpoint(test)?;
    let sdk = gas_testkit::sdk_config(&endpoint).await;
    Some(Aws {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        endpoint,
        run: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
    })
}

impl Aws {
    /// A resource name unique to this test run: `gas-test-<run>-<what>`.
    pub fn name(&self, what: &str) -> String {
        format!("gas-test-{}-{what}", self.run)
    }

    /// A fresh queue with the suites' visibility timeout.
    pub async fn queue(&self, what: &str) -> SqsQueue {
        let url = create_queue(&self.sqs, &self.name(what), VISIBILITY, None)
            .await
            .expect("create queue");
        SqsQueue::new(self.sqs.clone(), url)
    }

    /// A fresh topic.
    pub async fn topic(&self, what: &str) -> SnsTopic {
        let arn = create_topic(&self.sns, &self.name(what))
            .await
            .expect("create topic");
        SnsTopic::new(self.sns.clone(), arn)
    }

    /// Subscribes `queue` to `topic` (raw delivery).
    pub async fn subscribe(&self, topic: &SnsTopic, queue: &SqsQueue) -> String {
        use gas_messaging::Topic;
        subscribe_queue(&self.sns, &self.sqs, topic.arn(), queue.url())
            .await
            .expect("subscribe queue")
    }

    /// Turns on the emulator's execution of state machines (moto runs none
    /// otherwise; `scripts/moto.sh` sets it too). Must come before the state
    /// machine is created.
    pub async fn enable_state_machine_execution(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/moto-api/config", self.endpoint))
            .json(&serde_json::json!({ "stepfunctions": { "execute_state_machine": true } }))
            .send()
            .await
            .expect("POST /moto-api/config");
        assert!(
            response.status().is_success(),
            "moto config: {}",
            response.status()
        );
    }
}
