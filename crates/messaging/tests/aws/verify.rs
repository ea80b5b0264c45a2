//! SNS signature verification of what the emulator POSTs to an HTTP
//! subscription, with the certificate fetched from the emulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use gas_messaging::aws::subscribe_http;
use gas_messaging::sns::{
    aws_cert_prefix, MessageType, SnsMessage, SnsVerifier, VerifierConfig, VerifyError,
};
use gas_messaging::Topic;
use tokio::sync::Notify;

use crate::support::aws;

#[derive(Clone, Default)]
struct Inbox {
    bodies: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
}

async fn hook(State(inbox): State<Inbox>, body: String) {
    inbox.bodies.lock().unwrap().push(body);
    inbox.arrived.notify_waiters();
}

impl Inbox {
    /// The first POST, waiting up to 10 s for it.
    async fn first(&self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(body) = self.bodies.lock().unwrap().first() {
                return body.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no POST arrived within 10 s"
            );
            let _ = tokio::time::timeout(Duration::from_millis(200), arrived).await;
        }
    }
}

fn verifier(topic: &str, emulator: Option<&str>) -> SnsVerifier {
    SnsVerifier::new(VerifierConfig {
        trusted_cert_url_prefixes: vec![aws_cert_prefix("us-east-1")],
        allowed_topic_arns: vec![topic.to_owned()],
        emulator_endpoint: emulator.map(str::to_owned),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_notifications_verify_with_the_emulator_endpoint_only() {
    let Some(aws) = aws("emulator_notifications_verify_with_the_emulator_endpoint_only").await
    else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/archive", post(hook))
        .with_state(inbox.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let topic = aws.topic("http").await;
    // Moto confirms HTTP subscriptions at once (no SubscriptionConfirmation).
    subscribe_http(&aws.sns, topic.arn(), &format!("http://{addr}/archive"))
        .await
        .unwrap();
    let published = serde_json::json!({ "job_id": aws.name("job") }).to_string();
    topic.publish(&published).await.unwrap();

    let body = inbox.first().await;
    let message = SnsMessage::parse(body.as_bytes()).unwrap();
    assert_eq!(message.message_type, MessageType::Notification);
    assert_eq!(message.message, published);
    let cert_url = message.signing_cert_url.clone().unwrap();
    assert!(
        cert_url.starts_with(&aws_cert_prefix("us-east-1")),
        "{cert_url}"
    );

    let emulated = verifier(topic.arn(), Some(&aws.endpoint));
    emulated.verify(&message).await.unwrap();
    // Cached: verifies again without the emulator's help being needed.
    emulated.verify(&message).await.unwrap();

    // Without the emulator endpoint the certificate is fetched from AWS's
    // URL, which does not have the emulator's certificate (or is out of
    // reach).
    let plain = verifier(topic.arn(), None);
    let result = plain.verify(&message).await;
    assert!(
        matches!(result, Err(VerifyError::CertificateFetch(_))),
        "without the emulator endpoint: {result:?}"
    );

    // The signature is really checked with the emulator's certificate.
    let mut tampered = message.clone();
    tampered.message = r#"{"job_id": "someone-else"}"#.into();
    let result = emulated.verify(&tampered).await;
    assert!(
        matches!(result, Err(VerifyError::BadSignature)),
        "tampered: {result:?}"
    );
    // The trust decision stays on the message's URL.
    let mut elsewhere = message.clone();
    elsewhere.signing_cert_url = Some(format!("{}{}", aws.endpoint, "/cert.pem"));
    let result = emulated.verify(&elsewhere).await;
    assert!(
        matches!(result, Err(VerifyError::UntrustedCertUrl(_))),
        "emulator URL as SigningCertURL: {result:?}"
    );
    let result = verifier(
        "arn:aws:sns:us-east-1:123456789012:other",
        Some(&aws.endpoint),
    )
    .verify(&message)
    .await;
    assert!(
        matches!(result, Err(VerifyError::TopicNotAllowed(_))),
        "another topic: {result:?}"
    );
}
