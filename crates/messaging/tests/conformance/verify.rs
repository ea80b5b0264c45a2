//! `SnsVerifier` against messages signed by `SnsSigner`: what passes, what
//! is rejected, and that rejected certificate URLs are never fetched.

use base64::Engine;
use gas_messaging::sns::{
    MessageType, SnsMessage, SnsSigner, SnsVerifier, VerifierConfig, VerifyError,
};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha1::Sha1;

use crate::support::{key, signer, Server};

/// Whether a rejection is the one a case expects.
type Expected = fn(&VerifyError) -> bool;

const TOPIC: &str = "arn:aws:sns:local:000000000000:archive";

struct Fixture {
    server: Server,
    signer: SnsSigner,
}

impl Fixture {
    async fn new() -> Self {
        let listener = Server::bind().await;
        let addr = listener.local_addr().unwrap();
        let signer = signer(&format!("{}/cert.pem", Server::base_url(addr)));
        let server = Server::start(listener, signer.cert_pem());
        Self { server, signer }
    }

    /// A fresh verifier (empty certificate cache) trusting `prefix`.
    fn verifier_trusting(&self, prefix: &str) -> SnsVerifier {
        SnsVerifier::new(VerifierConfig {
            trusted_cert_url_prefixes: vec![prefix.to_owned()],
            allowed_topic_arns: vec![TOPIC.to_owned()],
            emulator_endpoint: None,
        })
        .unwrap()
    }

    fn verifier(&self) -> SnsVerifier {
        self.verifier_trusting(&format!("{}/", Server::base_url(self.server.addr)))
    }

    fn signed(&self, message: SnsMessage) -> SnsMessage {
        let mut message = message;
        self.signer.sign(&mut message).unwrap();
        message
    }
}

fn notification() -> SnsMessage {
    SnsMessage {
        message_type: MessageType::Notification,
        message_id: "b3b4a3a0-7a0c-4b6e-9f6e-1f0f3c7b2a11".into(),
        token: None,
        topic_arn: TOPIC.into(),
        subject: Some("archive".into()),
        message: r#"{"job_id":"1"}"#.into(),
        subscribe_url: None,
        unsubscribe_url: Some("http://127.0.0.1/_sns/unsubscribe".into()),
        timestamp: "2024-05-02T00:54:06.655Z".into(),
        signature_version: None,
        signature: None,
        signing_cert_url: None,
    }
}

fn confirmation() -> SnsMessage {
    SnsMessage {
        message_type: MessageType::SubscriptionConfirmation,
        token: Some("abc123".into()),
        subscribe_url: Some("http://127.0.0.1/_sns/confirm?Action=ConfirmSubscription".into()),
        unsubscribe_url: None,
        subject: None,
        ..notification()
    }
}

#[tokio::test]
async fn signed_messages_verify_and_survive_a_json_round_trip() {
    let f = Fixture::new().await;
    let verifier = f.verifier();
    for message in [
        notification(),
        confirmation(),
        SnsMessage {
            subject: None,
            ..notification()
        },
    ] {
        let signed = f.signed(message);
        let json = serde_json::to_vec(&signed).unwrap();
        let parsed = SnsMessage::parse(&json).unwrap();
        verifier
            .verify(&parsed)
            .await
            .expect("a signed message verifies");
    }
    assert_eq!(f.server.cert_fetches(), 1, "one fetch, then the cache");
}

#[tokio::test]
async fn signature_version_1_is_rsa_sha1() {
    let f = Fixture::new().await;
    let mut message = f.signed(notification());
    let sha1_key = SigningKey::<Sha1>::new(key());
    let signature = sha1_key.sign(message.string_to_sign().as_bytes()).to_vec();
    message.signature_version = Some("1".into());
    message.signature = Some(base64::engine::general_purpose::STANDARD.encode(signature));
    f.verifier()
        .verify(&message)
        .await
        .expect("SignatureVersion 1 verifies");
    // A SHA-256 signature labelled version 1 does not.
    let mut mislabelled = f.signed(notification());
    mislabelled.signature_version = Some("1".into());
    assert!(matches!(
        f.verifier().verify(&mislabelled).await,
        Err(VerifyError::BadSignature)
    ));
}

#[tokio::test]
async fn tampered_messages_are_rejected() {
    let f = Fixture::new().await;
    let verifier = f.verifier();
    let signed = f.signed(notification());
    let tampered = [
        SnsMessage {
            message: r#"{"job_id":"2"}"#.into(),
            ..signed.clone()
        },
        SnsMessage {
            subject: None,
            ..signed.clone()
        },
        SnsMessage {
            timestamp: "2024-05-02T00:54:07.655Z".into(),
            ..signed.clone()
        },
        SnsMessage {
            message_type: MessageType::SubscriptionConfirmation,
            token: Some("t".into()),
            subscribe_url: Some("http://x/".into()),
            ..signed.clone()
        },
        SnsMessage {
            signature: Some("bm90IGEgc2lnbmF0dXJl".into()),
            ..signed.clone()
        },
        SnsMessage {
            signature: Some("*** not base64 ***".into()),
            ..signed.clone()
        },
    ];
    for message in tampered {
        let result = verifier.verify(&message).await;
        assert!(
            matches!(result, Err(VerifyError::BadSignature)),
            "{message:?} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn cheap_checks_reject_before_any_fetch() {
    let f = Fixture::new().await;
    let base = Server::base_url(f.server.addr);
    let other_signer = signer(&f.server.url("/other/cert.pem"));
    let cases: Vec<(&str, SnsVerifier, SnsMessage, Expected)> = vec![
        (
            "wrong topic",
            f.verifier(),
            f.signed(SnsMessage {
                topic_arn: "arn:aws:sns:local:000000000000:other".into(),
                ..notification()
            }),
            |e| matches!(e, VerifyError::TopicNotAllowed(_)),
        ),
        (
            "cert URL outside the prefix",
            f.verifier(),
            {
                let mut m = notification();
                other_signer.sign(&mut m).unwrap();
                m
            },
            |e| matches!(e, VerifyError::UntrustedCertUrl(_)),
        ),
        (
            "cert URL escaping the prefix",
            f.verifier(),
            SnsMessage {
                signing_cert_url: Some(format!("{base}/../other/cert.pem")),
                ..f.signed(notification())
            },
            |e| matches!(e, VerifyError::UntrustedCertUrl(_)),
        ),
        (
            "cert URL with user info",
            f.verifier(),
            SnsMessage {
                signing_cert_url: Some(
                    f.server
                        .url("/_sns/cert.pem")
                        .replace("http://", "http://u@"),
                ),
                ..f.signed(notification())
            },
            |e| matches!(e, VerifyError::UntrustedCertUrl(_)),
        ),
        (
            "http cert URL, https prefix",
            f.verifier_trusting(&format!("{}/", base.replace("http://", "https://"))),
            f.signed(notification()),
            |e| matches!(e, VerifyError::UntrustedCertUrl(_)),
        ),
        (
            "SignatureVersion 3",
            f.verifier(),
            SnsMessage {
                signature_version: Some("3".into()),
                ..f.signed(notification())
            },
            |e| matches!(e, VerifyError::UnsupportedSignatureVersion(_)),
        ),
        (
            "no Signature",
            f.verifier(),
            SnsMessage {
                signature: None,
                ..f.signed(notification())
            },
            |e| matches!(e, VerifyError::Malformed(_)),
        ),
        (
            "no SigningCertURL",
            f.verifier(),
            SnsMessage {
                signing_cert_url: None,
                ..f.signed(notification())
            },
            |e| matches!(e, VerifyError::Malformed(_)),
        ),
        (
            "no SignatureVersion",
            f.verifier(),
            SnsMessage {
                signature_version: None,
                ..f.signed(notification())
            },
            |e| matches!(e, VerifyError::Malformed(_)),
        ),
        (
            "confirmation without Token",
            f.verifier(),
            f.signed(SnsMessage {
                token: None,
                ..confirmation()
            }),
            |e| matches!(e, VerifyError::Malformed(_)),
        ),
        (
            "confirmation without SubscribeURL",
            f.verifier(),
            f.signed(SnsMessage {
                subscribe_url: None,
                ..confirmation()
            }),
            |e| matches!(e, VerifyError::Malformed(_)),
        ),
        (
            "empty MessageId",
            f.verifier(),
            f.signed(SnsMessage {
                message_id: String::new(),
                ..notification()
            }),
            |e| matches!(e, VerifyError::Malformed(_)),
        ),
    ];
    for (case, verifier, message, expected) in cases {
        let result = verifier.verify(&message).await;
        match result {
            Err(ref e) if expected(e) => {}
            other => panic!("{case}: got {other:?}"),
        }
        assert_eq!(
            f.server.cert_fetches(),
            0,
            "{case}: the certificate was fetched"
        );
    }
}

#[tokio::test]
async fn missing_fields_and_bad_json_do_not_parse() {
    let full = serde_json::to_value(notification()).unwrap();
    for field in ["Type", "MessageId", "TopicArn", "Message", "Timestamp"] {
        let mut json = full.clone();
        json.as_object_mut().unwrap().remove(field);
        let err = SnsMessage::parse(json.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    assert!(SnsMessage::parse(b"{").is_err());
    assert!(SnsMessage::parse(b"[]").is_err());
}

#[tokio::test]
async fn unreachable_or_bogus_certificates_are_rejected() {
    let f = Fixture::new().await;
    let verifier = f.verifier();
    let missing = SnsMessage {
        signing_cert_url: Some(f.server.url("/_sns/missing.pem")),
        ..f.signed(notification())
    };
    assert!(matches!(
        verifier.verify(&missing).await,
        Err(VerifyError::CertificateFetch(_))
    ));
    // A trusted prefix serving something that is not a certificate.
    let hook = SnsVerifier::new(VerifierConfig {
        trusted_cert_url_prefixes: vec![f.server.url("/")],
        allowed_topic_arns: vec![TOPIC.into()],
        emulator_endpoint: None,
    })
    .unwrap();
    let not_a_cert = SnsMessage {
        signing_cert_url: Some(f.server.url("/hook")),
        ..f.signed(notification())
    };
    let result = hook.verify(&not_a_cert).await;
    assert!(
        matches!(
            result,
            Err(VerifyError::CertificateFetch(_)) | Err(VerifyError::BadCertificate(_))
        ),
        "{result:?}"
    );
}

#[test]
fn load_or_create_keeps_the_key_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = SnsSigner::load_or_create(dir.path(), "http://a/cert.pem").unwrap();
    let second = SnsSigner::load_or_create(dir.path(), "http://b/cert.pem").unwrap();
    assert_eq!(first.cert_pem(), second.cert_pem());
    assert_eq!(second.cert_url(), "http://b/cert.pem");
    let mut a = notification();
    let mut b = notification();
    first.sign(&mut a).unwrap();
    second.sign(&mut b).unwrap();
    assert_eq!(a.signature, b.signature, "same key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("sns-signing-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A lost certificate is recreated for the same key.
    std::fs::remove_file(dir.path().join("sns-signing-cert.pem")).unwrap();
    let third = SnsSigner::load_or_create(dir.path(), "http://a/cert.pem").unwrap();
    let mut c = notification();
    third.sign(&mut c).unwrap();
    assert_eq!(a.signature, c.signature);
    assert!(dir.path().join("sns-signing-cert.pem").exists());
}
