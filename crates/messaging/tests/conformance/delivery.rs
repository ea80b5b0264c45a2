//! HTTP delivery of the embedded topic, end to end: confirmation first, then
//! signed notifications that `SnsVerifier` accepts; retries while the
//! endpoint is down.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gas_messaging::local::{LocalSns, LocalTopic};
use gas_messaging::sns::{MessageType, SnsMessage, SnsVerifier, VerifierConfig};
use gas_messaging::{MessagingError, Topic};
use tokio::sync::watch;
use url::Url;

use crate::support::{messaging, Received, Server};

fn verifier(server: &Server, topic: &LocalTopic) -> SnsVerifier {
    SnsVerifier::new(VerifierConfig {
        trusted_cert_url_prefixes: vec![format!("{}/", Server::base_url(server.addr))],
        allowed_topic_arns: vec![topic.arn().to_owned()],
        emulator_endpoint: None,
    })
    .unwrap()
}

fn header<'a>(received: &'a Received, name: &str) -> Option<&'a str> {
    received.headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse(received: &Received) -> SnsMessage {
    assert_eq!(
        header(received, "content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let message = SnsMessage::parse(received.body.as_bytes()).expect("an SNS message");
    assert_eq!(
        header(received, "x-amz-sns-message-type"),
        Some(message.message_type.as_str())
    );
    assert_eq!(
        header(received, "x-amz-sns-message-id"),
        Some(message.message_id.as_str())
    );
    assert_eq!(
        header(received, "x-amz-sns-topic-arn"),
        Some(message.topic_arn.as_str())
    );
    assert_eq!(message.signature_version.as_deref(), Some("2"));
    let timestamp = time::OffsetDateTime::parse(
        &message.timestamp,
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an ISO 8601 timestamp");
    assert!(
        message.timestamp.ends_with('Z') && message.timestamp.len() == 24,
        "{}",
        message.timestamp
    );
    assert!(
        (time::OffsetDateTime::now_utc() - timestamp)
            .whole_seconds()
            .abs()
            < 60
    );
    message
}

/// Confirms `confirmation` the way util does: trusted SubscribeURL, then its
/// TopicArn and Token.
async fn confirm(
    sns: &LocalSns,
    verifier: &SnsVerifier,
    confirmation: &SnsMessage,
) -> Result<String, MessagingError> {
    let subscribe_url = confirmation.subscribe_url.as_deref().expect("SubscribeURL");
    assert!(verifier.is_trusted_url(subscribe_url), "{subscribe_url}");
    let url = Url::parse(subscribe_url).unwrap();
    assert!(url.path().ends_with("/_sns/confirm"), "{url}");
    let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["Action"], "ConfirmSubscription");
    assert_eq!(query["TopicArn"], confirmation.topic_arn);
    assert_eq!(Some(&query["Token"]), confirmation.token.as_ref());
    sns.confirm_subscription(&query["TopicArn"], &query["Token"])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_subscriber_gets_a_confirmation_then_signed_notifications() {
    let (m, _dir) = messaging();
    let listener = Server::bind().await;
    let sns = Server::sns(&m, &listener);
    let server = Server::start(listener, sns.cert_pem());
    let topic = m.topic("results").unwrap();
    let verifier = verifier(&server, &topic);
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(sns.delivery().unwrap().run(shutdown));

    topic.publish("before anyone subscribed").await.unwrap();
    let endpoint = server.url("/hook");
    let subscription_arn = topic.subscribe_http(&endpoint).await.unwrap();
    assert!(subscription_arn.starts_with(&format!("{}:", topic.arn())));
    topic.publish("while pending").await.unwrap();

    let received = server.wait_for(1).await;
    let confirmation = parse(&received[0]);
    assert_eq!(
        confirmation.message_type,
        MessageType::SubscriptionConfirmation
    );
    assert_eq!(header(&received[0], "x-amz-sns-subscription-arn"), None);
    assert_eq!(confirmation.topic_arn, topic.arn());
    assert!(confirmation.message.contains(topic.arn()));
    assert!(confirmation.unsubscribe_url.is_none() && confirmation.subject.is_none());
    verifier
        .verify(&confirmation)
        .await
        .expect("the confirmation verifies");
    // Subscribing a pending endpoint again sends the confirmation again.
    assert_eq!(
        topic.subscribe_http(&endpoint).await.unwrap(),
        subscription_arn,
        "idempotent"
    );
    let received = server.wait_for(2).await;
    let again = parse(&received[1]);
    assert_eq!(again.message_type, MessageType::SubscriptionConfirmation);
    assert_eq!(again.token, confirmation.token);

    let wrong = sns.confirm_subscription(topic.arn(), "not-the-token").await;
    assert!(
        matches!(wrong, Err(MessagingError::NotFound(_))),
        "{wrong:?}"
    );
    assert_eq!(
        confirm(&sns, &verifier, &confirmation).await.unwrap(),
        subscription_arn
    );

    let message_id = topic.publish("{\"job_id\": \"1\"}").await.unwrap();
    let received = server.wait_for(3).await;
    let notification = parse(&received[2]);
    assert_eq!(notification.message_type, MessageType::Notification);
    assert_eq!(notification.message_id, message_id);
    assert_eq!(
        notification.message, "{\"job_id\": \"1\"}",
        "nothing published while pending"
    );
    assert_eq!(
        header(&received[2], "x-amz-sns-subscription-arn"),
        Some(subscription_arn.as_str())
    );
    assert!(notification.token.is_none() && notification.subscribe_url.is_none());
    let unsubscribe = notification
        .unsubscribe_url
        .as_deref()
        .expect("UnsubscribeURL");
    assert!(verifier.is_trusted_url(unsubscribe) && unsubscribe.contains("Action=Unsubscribe"));
    verifier
        .verify(&notification)
        .await
        .expect("the notification verifies");
    assert_eq!(server.cert_fetches(), 1, "the certificate is cached");

    // After unsubscribing, nothing more is delivered.
    sns.unsubscribe(&subscription_arn).await.unwrap();
    topic.publish("after unsubscribe").await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(server.received().len(), 3);

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("the delivery loop stops on shutdown")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_retried_until_the_endpoint_answers() {
    let (m, _dir) = messaging();
    let listener = Server::bind().await;
    let addr = listener.local_addr().unwrap();
    let sns = Server::sns(&m, &listener);
    // Nothing listens yet: connections are refused.
    drop(listener);
    let delivery = sns.delivery().unwrap();
    let topic = m.topic("archive").unwrap();
    let endpoint = format!("http://{addr}/hook");
    topic.subscribe_http(&endpoint).await.unwrap();
    assert_eq!(
        delivery.deliver_due().await.unwrap(),
        0,
        "connection refused"
    );
    assert_eq!(
        delivery.deliver_due().await.unwrap(),
        0,
        "not due again before the back-off"
    );

    let server = Server::start(
        tokio::net::TcpListener::bind(addr).await.unwrap(),
        sns.cert_pem(),
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(delivery.deliver_due().await.unwrap(), 1);
    let confirmation = parse(&server.received()[0]);
    let verifier = verifier(&server, &topic);
    confirm(&sns, &verifier, &confirmation).await.unwrap();

    // An error status is retried too, with the same message id.
    server.set_status(500);
    topic.publish("archive me").await.unwrap();
    assert_eq!(delivery.deliver_due().await.unwrap(), 0);
    server.set_status(200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(delivery.deliver_due().await.unwrap(), 1);
    assert_eq!(delivery.deliver_due().await.unwrap(), 0, "delivered once");
    let received = server.received();
    assert_eq!(received.len(), 3);
    let (failed, delivered) = (parse(&received[1]), parse(&received[2]));
    assert_eq!(failed.message_id, delivered.message_id);
    assert_eq!(delivered.message, "archive me");
    verifier.verify(&delivered).await.unwrap();
}

#[tokio::test]
async fn sns_base_url_must_match_the_signer() {
    let (m, _dir) = messaging();
    let signer = crate::support::signer("http://127.0.0.1:1/_sns/cert.pem");
    let err = m
        .sns("http://127.0.0.1:2/_sns", Arc::new(signer))
        .unwrap_err();
    assert!(matches!(err, MessagingError::Invalid(_)), "{err}");
}
