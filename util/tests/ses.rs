//! The SES mailer against moto's server (`GAS_TEST_AWS_ENDPOINT`; skipped
//! without it unless `GAS_REQUIRE_AWS_TESTS=1`).

use gas_util::{Email, Mailer, SesMailer};

#[tokio::test]
async fn sends_through_ses_from_a_verified_identity_only() {
    let Some(endpoint) = gas_testkit::aws_endpoint("SES mailer test") else {
        return;
    };
    let sdk = gas_testkit::sdk_config(&endpoint).await;
    let client = aws_sdk_sesv2::Client::new(&sdk);
    let sender = format!("gas-{}@example.org", uuid::Uuid::new_v4().simple());
    let email = Email {
        id: "job-1-completed".into(),
        to: "ada@example.org".into(),
        subject: "GAS: annotation of test.vcf is complete".into(),
        body: "Your job is complete.\n".into(),
    };

    let unverified = SesMailer::new(client.clone(), format!("GAS <{sender}>"));
    assert!(
        unverified.send(&email).await.is_err(),
        "SES refuses a sender that is not a verified identity"
    );

    client
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(client, sender);
    mailer
        .send(&email)
        .await
        .expect("sent from a verified identity");
}
