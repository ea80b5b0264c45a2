//! The SNS HTTP(S) message envelope, shared by the embedded topic (which
//! builds and signs it) and the webhooks (which parse and verify it, whether
//! it came from the embedded topic or from Amazon SNS).
//!
//! - [`SnsMessage`]: the JSON document SNS POSTs, with [`SnsMessage::parse`]
//!   and the canonical [`SnsMessage::string_to_sign`];
//! - [`SnsSigner`]: an RSA key and self-signed certificate kept in a
//!   directory, signing with SignatureVersion 2 (RSA-SHA256);
//! - [`SnsVerifier`]: checks a message's signature, certificate URL and topic
//!   before anything acts on it;
//! - [`unwrap_queue_body`]: the published message inside a queue body.

mod envelope;
mod signer;
mod verifier;

pub use envelope::{unwrap_queue_body, MessageType, ParseError, SnsMessage};
pub use signer::{SignerError, SnsSigner};
pub use verifier::{
    aws_cert_prefix, SnsVerifier, VerifierConfig, VerifierConfigError, VerifyError,
};
