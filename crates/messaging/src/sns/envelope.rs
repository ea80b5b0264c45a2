use serde::{Deserialize, Serialize};

/// The kind of an SNS HTTP message (its `Type` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    /// The name SNS uses, also sent in the `x-amz-sns-message-type` header.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// A message as SNS delivers it to HTTP(S) endpoints (and, without raw
/// delivery, to SQS queues). Field names serialise exactly as SNS spells them.
///
/// The fields every message has are plain strings, so that [`parse`] rejects a
/// document without them. The signature fields are optional here (a message
/// is built unsigned, then signed); [`SnsVerifier`](super::SnsVerifier)
/// rejects a message that lacks them, or lacks the `Token` and `SubscribeURL`
/// of a confirmation.
///
/// [`parse`]: SnsMessage::parse
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "Type")]
    pub message_type: MessageType,
    #[serde(rename = "MessageId")]
    pub message_id: String,
    /// Confirmations only: the token that confirms the subscription.
    #[serde(rename = "Token", default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(rename = "TopicArn")]
    pub topic_arn: String,
    /// Notifications only, and only when the publisher gave one.
    #[serde(rename = "Subject", default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(rename = "Message")]
    pub message: String,
    /// Confirmations only: GET it to confirm the subscription.
    #[serde(
        rename = "SubscribeURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscribe_url: Option<String>,
    /// Notifications only: GET it to unsubscribe.
    #[serde(
        rename = "UnsubscribeURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub unsubscribe_url: Option<String>,
    /// ISO 8601 in UTC with milliseconds, e.g. `2024-05-02T00:54:06.655Z`.
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    /// `"1"` (RSA-SHA1) or `"2"` (RSA-SHA256).
    #[serde(
        rename = "SignatureVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_version: Option<String>,
    /// Base64 of the RSA PKCS#1 v1.5 signature over [`SnsMessage::string_to_sign`].
    #[serde(rename = "Signature", default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(
        rename = "SigningCertURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signing_cert_url: Option<String>,
}

/// A body that is not an SNS message: malformed JSON, a missing field, an
/// unknown `Type`.
#[derive(Debug, thiserror::Error)]
#[error("malformed SNS message: {0}")]
pub struct ParseError(#[from] serde_json::Error);

impl SnsMessage {
    /// Parses the body of an SNS HTTP POST.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        Ok(serde_json::from_slice(body)?)
    }

    /// The canonical string that SNS signs, by AWS's documented rules: the
    /// name and value of each signed field, each followed by a newline, in
    /// byte order of the names. Notifications sign `Message`, `MessageId`,
    /// `Subject` (only if present), `Timestamp`, `TopicArn`, `Type`;
    /// confirmations sign `Message`, `MessageId`, `SubscribeURL`,
    /// `Timestamp`, `Token`, `TopicArn`, `Type` (a missing value signs as
    /// empty; the verifier rejects such messages before it gets here).
    pub fn string_to_sign(&self) -> String {
        let mut fields: Vec<(&str, &str)> =
            vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match self.message_type {
            MessageType::Notification => {
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", subject));
                }
                fields.push(("Timestamp", &self.timestamp));
            }
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
                fields.push(("SubscribeURL", self.subscribe_url.as_deref().unwrap_or("")));
                fields.push(("Timestamp", &self.timestamp));
                fields.push(("Token", self.token.as_deref().unwrap_or("")));
            }
        }
        fields.push(("TopicArn", &self.topic_arn));
        fields.push(("Type", self.message_type.as_str()));

        let mut out = String::new();
        for (key, value) in fields {
            out.push_str(key);
            out.push('\n');
            out.push_str(value);
            out.push('\n');
        }
        out
    }
}

/// The published message carried by a queue body.
///
/// An SQS queue subscribed to a topic without raw message delivery receives
/// the whole SNS envelope (a JSON `Notification` with the published text in
/// `Message`); with raw delivery, and on the embedded backend, it receives the
/// published text itself. This returns the published text in both cases: the
/// inner `Message` if `body` is a Notification envelope, else `body`.
pub fn unwrap_queue_body(body: &str) -> String {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Type")]
        message_type: MessageType,
        #[serde(rename = "TopicArn")]
        _topic_arn: String,
        #[serde(rename = "MessageId")]
        _message_id: String,
        #[serde(rename = "Message")]
        message: String,
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(envelope) if envelope.message_type == MessageType::Notification => envelope.message,
        _ => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(subject: Option<&str>) -> SnsMessage {
        SnsMessage {
            message_type: MessageType::Notification,
            message_id: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".into(),
            token: None,
            topic_arn: "arn:aws:sns:us-west-2:123456789012:MyTopic".into(),
            subject: subject.map(str::to_owned),
            message: "Hello world!".into(),
            subscribe_url: None,
            unsubscribe_url: Some("https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe".into()),
            timestamp: "2012-05-02T00:54:06.655Z".into(),
            signature_version: Some("1".into()),
            signature: Some("EXAMPLE".into()),
            signing_cert_url: Some("https://sns.us-west-2.amazonaws.com/cert.pem".into()),
        }
    }

    #[test]
    fn notification_string_to_sign_includes_subject_when_present() {
        assert_eq!(
            notification(Some("My First Message")).string_to_sign(),
            "Message\nHello world!\n\
             MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
             Subject\nMy First Message\n\
             Timestamp\n2012-05-02T00:54:06.655Z\n\
             TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n\
             Type\nNotification\n"
        );
    }

    #[test]
    fn notification_string_to_sign_omits_missing_subject_and_unsigned_fields() {
        assert_eq!(
            notification(None).string_to_sign(),
            "Message\nHello world!\n\
             MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
             Timestamp\n2012-05-02T00:54:06.655Z\n\
             TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n\
             Type\nNotification\n"
        );
    }

    #[test]
    fn confirmation_string_to_sign_includes_token_and_subscribe_url() {
        for message_type in [
            MessageType::SubscriptionConfirmation,
            MessageType::UnsubscribeConfirmation,
        ] {
            let message = SnsMessage {
                message_type,
                token: Some("2336412f37".into()),
                subscribe_url: Some("https://sns.example/?Action=ConfirmSubscription".into()),
                unsubscribe_url: None,
                subject: Some("ignored for confirmations".into()),
                message: "You have chosen to subscribe.".into(),
                ..notification(None)
            };
            assert_eq!(
                message.string_to_sign(),
                format!(
                    "Message\nYou have chosen to subscribe.\n\
                     MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                     SubscribeURL\nhttps://sns.example/?Action=ConfirmSubscription\n\
                     Timestamp\n2012-05-02T00:54:06.655Z\n\
                     Token\n2336412f37\n\
                     TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n\
                     Type\n{}\n",
                    message_type.as_str()
                )
            );
        }
    }

    #[test]
    fn parse_round_trips_and_uses_sns_field_names() {
        let message = notification(Some("s"));
        let json = serde_json::to_value(&message).unwrap();
        for key in [
            "Type",
            "MessageId",
            "TopicArn",
            "Subject",
            "Message",
            "UnsubscribeURL",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert!(json.get("Token").is_none() && json.get("SubscribeURL").is_none());
        let parsed = SnsMessage::parse(json.to_string().as_bytes()).unwrap();
        assert_eq!(parsed, message);
    }

    #[test]
    fn parse_rejects_malformed_and_incomplete_messages() {
        assert!(SnsMessage::parse(b"not json").is_err());
        let err = SnsMessage::parse(br#"{"Type":"Notification","MessageId":"1"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
        let mut json = serde_json::to_value(notification(None)).unwrap();
        json["Type"] = "Bogus".into();
        assert!(SnsMessage::parse(json.to_string().as_bytes()).is_err());
    }

    #[test]
    fn unwrap_queue_body_unwraps_notifications_only() {
        let envelope = serde_json::to_string(&notification(None)).unwrap();
        assert_eq!(unwrap_queue_body(&envelope), "Hello world!");
        assert_eq!(unwrap_queue_body(r#"{"job_id":"1"}"#), r#"{"job_id":"1"}"#);
        assert_eq!(unwrap_queue_body("plain"), "plain");
        let confirmation = serde_json::to_string(&SnsMessage {
            message_type: MessageType::SubscriptionConfirmation,
            ..notification(None)
        })
        .unwrap();
        assert_eq!(unwrap_queue_body(&confirmation), confirmation);
    }
}
