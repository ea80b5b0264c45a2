//! The tests of every AWS adapter run against moto's server, which the test
//! command starts (`scripts/moto.sh`) and names in `GAS_TEST_AWS_ENDPOINT`.
//! Without it they say so and pass, unless `GAS_REQUIRE_AWS_TESTS=1` (set
//! by the test command), when a missing emulator is a failure.

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// The emulator's URL, or `None` after a notice naming `test` when the AWS
/// tests should not run here. Panics when they are required.
pub fn aws_endpoint(test: &str) -> Option<String> {
    match std::env::var("GAS_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("GAS_REQUIRE_AWS_TESTS").as_deref() != Ok("1"),
                "{test}: GAS_REQUIRE_AWS_TESTS=1 but GAS_TEST_AWS_ENDPOINT is not set \
                 (start moto with: eval \"$(bash scripts/moto.sh)\")"
            );
            eprintln!(
                "{test}: skipped: GAS_TEST_AWS_ENDPOINT is not set (scripts/test.sh sets it)"
            );
            None
        }
    }
}

/// An SDK configuration for the emulator at `endpoint`, with fixed test
/// credentials. Make one per test: SDK clients keep connections tied to the
/// runtime that opened them.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}
