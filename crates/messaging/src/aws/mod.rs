//! The AWS adapters: [`Queue`](crate::Queue) on SQS ([`SqsQueue`]),
//! [`Topic`](crate::Topic) on SNS ([`SnsTopic`]), [`Timer`](crate::Timer) on
//! Step Functions ([`SfnTimer`], running [`ARCHIVE_TIMER_DEFINITION`]), and
//! idempotent provisioning of what they use ([`create_queue`],
//! [`create_topic`], [`subscribe_queue`], [`subscribe_http`],
//! [`create_state_machine`]).
//!
//! The adapters take ready SDK clients, so one `aws_config` (region,
//! credentials, an optional emulator endpoint) serves them all. They pass the
//! same conformance suites as the embedded adapters (against moto's server in
//! the crate's tests), and check their arguments the same way before calling
//! AWS, so both backends reject the same requests with
//! [`MessagingError::Invalid`]. AWS failures
//! keep the SDK's error chain (see [`AwsError`]).

mod error;
mod provision;
mod queue;
mod timer;
mod topic;

use std::time::Duration;

pub use error::AwsError;
pub use provision::{
    create_queue, create_state_machine, create_topic, subscribe_http, subscribe_queue,
};
pub use queue::SqsQueue;
pub use timer::{
    archive_timer_definition, SfnTimer, ARCHIVE_TIMER_DEFINITION, TOPIC_ARN_PLACEHOLDER,
};
pub use topic::SnsTopic;

use crate::MessagingError;

/// `d` in whole seconds, rounded up (AWS takes seconds; rounding down could
/// deliver or redeliver early).
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn check_receipt(receipt: &str) -> Result<(), MessagingError> {
    if receipt.is_empty() {
        Err(MessagingError::Invalid("empty receipt handle".into()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
    }
}
