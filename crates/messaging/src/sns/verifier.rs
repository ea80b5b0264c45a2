use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use url::Url;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

use super::{MessageType, SnsMessage};

/// Certificates are small; anything larger is not one.
const MAX_CERT_BYTES: usize = 16 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Signing certificates kept in memory. SNS signs with one certificate per
/// region at a time (two during a rotation); the cap only stops a stream of
/// distinct trusted URLs from growing the cache.
const MAX_CACHED_CERTS: usize = 16;

/// The prefix of Amazon SNS's signing certificate URLs in `region`.
pub fn aws_cert_prefix(region: &str) -> String {
    format!("https://sns.{region}.amazonaws.com/")
}

/// What a [`SnsVerifier`] trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifierConfig {
    /// URL prefixes a `SigningCertURL` (or a `SubscribeURL`, see
    /// [`SnsVerifier::is_trusted_url`]) must start with, such as
    /// [`aws_cert_prefix`]. Each is an absolute http(s) URL naming at least
    /// the host; a missing final `/` is added, so a prefix never matches a
    /// longer host name or path segment.
    pub trusted_cert_url_prefixes: Vec<String>,
    /// The only `TopicArn`s accepted.
    pub allowed_topic_arns: Vec<String>,
    /// For AWS emulators only (tests, `gas dev --backend aws`): the
    /// emulator's base URL. An emulator such as moto signs with a
    /// `SigningCertURL` on `https://sns.<region>.amazonaws.com/` that is not
    /// AWS's, and serves that certificate itself. When this is set, a
    /// certificate URL that has passed the trust check above and is on
    /// `https://sns.<region>.amazonaws.com/` is fetched from this endpoint
    /// at the same path, with an `Authorization` header in the form of an
    /// AWS SigV4 one naming the `sns` service (moto routes requests by it).
    /// The trust decision is still made on the message's own URL, and
    /// certificates are cached under it. Never set it against real AWS: it
    /// makes the verifier trust whatever the endpoint serves.
    pub emulator_endpoint: Option<String>,
}

/// Why a [`SnsVerifier`] cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum VerifierConfigError {
    /// A trusted prefix that is not an absolute http(s) URL with a host and
    /// without user info, query or fragment.
    #[error("invalid trusted certificate URL prefix {prefix:?}: {reason}")]
    Prefix { prefix: String, reason: String },
    /// An emulator endpoint that is not an absolute http(s) URL with a host
    /// and without user info, query or fragment.
    #[error("invalid emulator endpoint {endpoint:?}: {reason}")]
    EmulatorEndpoint { endpoint: String, reason: String },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Why a message was rejected.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed SNS message: {0}")]
    Malformed(String),
    #[error("unsupported SignatureVersion {0:?}")]
    UnsupportedSignatureVersion(String),
    #[error("topic {0:?} is not allowed")]
    TopicNotAllowed(String),
    #[error("untrusted SigningCertURL {0:?}")]
    UntrustedCertUrl(String),
    #[error("cannot fetch the signing certificate: {0}")]
    CertificateFetch(String),
    #[error("bad signing certificate: {0}")]
    BadCertificate(String),
    #[error("bad signature")]
    BadSignature,
}

/// Verifies SNS messages before anything acts on them.
///
/// [`verify`](Self::verify) checks, in this order, and fetches nothing until
/// the cheap checks pass: the fields the message type requires are present;
/// `SignatureVersion` is "1" (RSA-SHA1) or "2" (RSA-SHA256); `TopicArn` is in
/// the allow-list; `SigningCertURL` is an http(s) URL without user info that,
/// once normalised, starts with a trusted prefix. Only then is the
/// certificate fetched (without following redirects, with a timeout and a
/// size cap, cached in memory per URL) and the signature over
/// [`SnsMessage::string_to_sign`] checked with its RSA key.
pub struct SnsVerifier {
    prefixes: Vec<String>,
    emulator: Option<Url>,
    topics: HashSet<String>,
    client: reqwest::Client,
    keys: Mutex<HashMap<String, Arc<RsaPublicKey>>>,
}

impl std::fmt::Debug for SnsVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsVerifier")
            .field("prefixes", &self.prefixes)
            .field("emulator", &self.emulator.as_ref().map(Url::as_str))
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl SnsVerifier {
    pub fn new(config: VerifierConfig) -> Result<Self, VerifierConfigError> {
        let prefixes = config
            .trusted_cert_url_prefixes
            .iter()
            .map(|prefix| normalise_prefix(prefix))
            .collect::<Result<_, _>>()?;
        let emulator = config
            .emulator_endpoint
            .as_deref()
            .map(emulator_endpoint)
            .transpose()?;
        if let Some(endpoint) = &emulator {
            tracing::warn!(%endpoint, "SNS signing certificates are fetched from an emulator");
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(VerifierConfigError::Client)?;
        Ok(Self {
            prefixes,
            emulator,
            topics: config.allowed_topic_arns.into_iter().collect(),
            client,
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `url` is an http(s) URL without user info that starts, once
    /// normalised, with one of the trusted prefixes. Check a `SubscribeURL`
    /// with this before GETting it.
    pub fn is_trusted_url(&self, url: &str) -> bool {
        self.trusted(url).is_some()
    }

    fn trusted(&self, url: &str) -> Option<Url> {
        let parsed = Url::parse(url).ok()?;
        let plain = matches!(parsed.scheme(), "http" | "https")
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.host().is_some();
        let trusted = plain
            && self
                .prefixes
                .iter()
                .any(|p| parsed.as_str().starts_with(p.as_str()));
        trusted.then_some(parsed)
    }

    /// Verifies `message` (see the type's documentation for the checks).
    pub async fn verify(&self, message: &SnsMessage) -> Result<(), VerifyError> {
        let signed = required_fields(message)?;
        let version = match signed.version {
            "1" => SignatureAlgorithm::RsaSha1,
            "2" => SignatureAlgorithm::RsaSha256,
            other => return Err(VerifyError::UnsupportedSignatureVersion(other.to_owned())),
        };
        if !self.topics.contains(&message.topic_arn) {
            return Err(VerifyError::TopicNotAllowed(message.topic_arn.clone()));
        }
        // A certificate URL names a file: SNS never adds a query or a
        // fragment, and accepting them would make every variant of one URL
        // a new fetch and a new cache entry.
        let cert_url = self
            .trusted(signed.cert_url)
            .filter(|url| url.query().is_none() && url.fragment().is_none())
            .ok_or_else(|| VerifyError::UntrustedCertUrl(signed.cert_url.to_owned()))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signed.signature.trim())
            .map_err(|_| VerifyError::BadSignature)?;
        let key = self.public_key(cert_url).await?;
        let text = message.string_to_sign();
        let outcome = match version {
            SignatureAlgorithm::RsaSha1 => key.verify(
                Pkcs1v15Sign::new::<Sha1>(),
                &Sha1::digest(text.as_bytes()),
                &signature,
            ),
            SignatureAlgorithm::RsaSha256 => key.verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(text.as_bytes()),
                &signature,
            ),
        };
        outcome.map_err(|_| VerifyError::BadSignature)
    }

    async fn public_key(&self, url: Url) -> Result<Arc<RsaPublicKey>, VerifyError> {
        if let Some(key) = self.cached(url.as_str()) {
            return Ok(key);
        }
        let pem = self.fetch_certificate(&url).await?;
        let key = Arc::new(public_key_of(&pem)?);
        tracing::debug!(%url, "fetched an SNS signing certificate");
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        remember(&mut keys, url.as_str(), Arc::clone(&key));
        Ok(key)
    }

    fn cached(&self, url: &str) -> Option<Arc<RsaPublicKey>> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        keys.get(url).cloned()
    }

    async fn fetch_certificate(&self, url: &Url) -> Result<Vec<u8>, VerifyError> {
        let fetch_error =
            |e: &dyn std::fmt::Display| VerifyError::CertificateFetch(format!("{url}: {e}"));
        let request = match self.emulated(url) {
            Some((emulated, authorization)) => {
                tracing::debug!(%url, %emulated, "fetching the certificate from the emulator");
                self.client
                    .get(emulated)
                    .header(reqwest::header::AUTHORIZATION, authorization)
            }
            None => self.client.get(url.clone()),
        };
        let mut response = request.send().await.map_err(|e| fetch_error(&e))?;
        if !response.status().is_success() {
            return Err(fetch_error(&response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_CERT_BYTES as u64)
        {
            return Err(fetch_error(&"certificate too large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fetch_error(&e))? {
            if body.len() + chunk.len() > MAX_CERT_BYTES {
                return Err(fetch_error(&"certificate too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Caches `key` under `url`, first dropping an entry when the cache is full
/// (which one does not matter: a dropped certificate is fetched again).
fn remember<K>(keys: &mut HashMap<String, K>, url: &str, key: K) {
    if keys.len() >= MAX_CACHED_CERTS && !keys.contains_key(url) {
        if let Some(victim) = keys.keys().next().cloned() {
            keys.remove(&victim);
        }
    }
    keys.insert(url.to_owned(), key);
}

impl SnsVerifier {
    /// With an emulator endpoint set and `url` on
    /// `https://sns.<region>.amazonaws.com/`: the same path and query on the
    /// emulator, and the `Authorization` header that routes it to the
    /// emulator's SNS.
    fn emulated(&self, url: &Url) -> Option<(Url, String)> {
        let endpoint = self.emulator.as_ref()?;
        let region = aws_sns_region(url)?;
        let mut emulated = endpoint.clone();
        let base = endpoint.path().trim_end_matches('/');
        emulated.set_path(&format!("{base}{}", url.path()));
        emulated.set_query(url.query());
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/sns/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        Some((emulated, authorization))
    }
}

/// The region of an `https://sns.<region>.amazonaws.com/...` URL on the
/// default port.
fn aws_sns_region(url: &Url) -> Option<&str> {
    if url.scheme() != "https" || url.port().is_some() {
        return None;
    }
    let region = url
        .host_str()?
        .strip_prefix("sns.")?
        .strip_suffix(".amazonaws.com")?;
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(region)
}

fn emulator_endpoint(endpoint: &str) -> Result<Url, VerifierConfigError> {
    let error = |reason: &str| VerifierConfigError::EmulatorEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(endpoint).map_err(|e| error(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(error("not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(error("has user info"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(error("has a query or fragment"));
    }
    Ok(url)
}

enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
}

struct SignedFields<'a> {
    version: &'a str,
    signature: &'a str,
    cert_url: &'a str,
}

fn required_fields(message: &SnsMessage) -> Result<SignedFields<'_>, VerifyError> {
    fn present<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, VerifyError> {
        match value.as_deref() {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(VerifyError::Malformed(format!("missing {name}"))),
        }
    }
    for (value, name) in [
        (&message.message_id, "MessageId"),
        (&message.topic_arn, "TopicArn"),
        (&message.timestamp, "Timestamp"),
    ] {
        if value.is_empty() {
            return Err(VerifyError::Malformed(format!("missing {name}")));
        }
    }
    if message.message_type != MessageType::Notification {
        present(&message.token, "Token")?;
        present(&message.subscribe_url, "SubscribeURL")?;
    }
    Ok(SignedFields {
        version: present(&message.signature_version, "SignatureVersion")?,
        signature: present(&message.signature, "Signature")?,
        cert_url: present(&message.signing_cert_url, "SigningCertURL")?,
    })
}

fn public_key_of(pem: &[u8]) -> Result<RsaPublicKey, VerifyError> {
    let bad = |e: &dyn std::fmt::Display| VerifyError::BadCertificate(e.to_string());
    let cert = Certificate::from_pem(pem).map_err(|e| bad(&e))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad(&e))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| bad(&e))
}

fn normalise_prefix(prefix: &str) -> Result<String, VerifierConfigError> {
    let error = |reason: &str| VerifierConfigError::Prefix {
        prefix: prefix.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(prefix).map_err(|e| error(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(error("not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(error("has user info"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(error("has a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(prefixes: &[&str]) -> SnsVerifier {
        SnsVerifier::new(VerifierConfig {
            trusted_cert_url_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            allowed_topic_arns: vec![],
            emulator_endpoint: None,
        })
        .unwrap()
    }

    #[test]
    fn the_certificate_cache_is_bounded() {
        let mut keys = HashMap::new();
        for i in 0..1000 {
            remember(&mut keys, &format!("https://sns.example/{i}.pem"), i);
            assert!(keys.len() <= MAX_CACHED_CERTS);
        }
        assert_eq!(keys.get("https://sns.example/999.pem"), Some(&999));
        remember(&mut keys, "https://sns.example/999.pem", 7);
        assert_eq!(
            keys.len(),
            MAX_CACHED_CERTS,
            "a key already cached is replaced"
        );
    }

    #[tokio::test]
    async fn certificate_urls_with_a_query_or_fragment_are_refused() {
        let prefix = aws_cert_prefix("us-east-1");
        let v = SnsVerifier::new(VerifierConfig {
            trusted_cert_url_prefixes: vec![prefix.clone()],
            allowed_topic_arns: vec!["arn:aws:sns:us-east-1:123456789012:t".into()],
            emulator_endpoint: None,
        })
        .unwrap();
        for url in [
            format!("{prefix}SimpleNotificationService-abc.pem?x=1"),
            format!("{prefix}SimpleNotificationService-abc.pem#x"),
        ] {
            let message = SnsMessage {
                message_type: MessageType::Notification,
                message_id: "m".into(),
                topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
                subject: None,
                message: "{}".into(),
                timestamp: "2026-01-01T00:00:00.000Z".into(),
                signature_version: Some("1".into()),
                signature: Some("AAAA".into()),
                signing_cert_url: Some(url.clone()),
                subscribe_url: None,
                token: None,
                unsubscribe_url: None,
            };
            match v.verify(&message).await {
                Err(VerifyError::UntrustedCertUrl(u)) => assert_eq!(u, url),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn trusted_urls_match_normalised_prefixes_only() {
        let v = verifier(&[&aws_cert_prefix("us-east-1"), "http://127.0.0.1:8081/_sns"]);
        for ok in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://SNS.us-east-1.amazonaws.com:443/cert.pem",
            "http://127.0.0.1:8081/_sns/cert.pem",
            "http://127.0.0.1:8081/_sns/confirm?Action=ConfirmSubscription&Token=1",
        ] {
            assert!(v.is_trusted_url(ok), "{ok} should be trusted");
        }
        for bad in [
            "https://sns.us-east-1.amazonaws.com.evil.com/cert.pem",
            "https://sns.us-east-1.amazonaws.com@evil.com/cert.pem",
            "https://user@sns.us-east-1.amazonaws.com/cert.pem",
            "http://sns.us-east-1.amazonaws.com/cert.pem",
            "https://sns.us-west-2.amazonaws.com/cert.pem",
            "http://127.0.0.1:8081/_sns-evil/cert.pem",
            "http://127.0.0.1:8081/_sns/../evil/cert.pem",
            "http://127.0.0.1:8081/_sns/%2e%2e/evil/cert.pem",
            "http://127.0.0.1:8082/_sns/cert.pem",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!v.is_trusted_url(bad), "{bad} should not be trusted");
        }
    }

    #[test]
    fn emulated_urls_keep_the_path_and_name_the_region() {
        let v = SnsVerifier::new(VerifierConfig {
            trusted_cert_url_prefixes: vec![aws_cert_prefix("eu-west-2")],
            allowed_topic_arns: vec![],
            emulator_endpoint: Some("http://127.0.0.1:5000".into()),
        })
        .unwrap();
        let url = Url::parse("https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-1.pem")
            .unwrap();
        let (emulated, authorization) = v.emulated(&url).unwrap();
        assert_eq!(
            emulated.as_str(),
            "http://127.0.0.1:5000/SimpleNotificationService-1.pem"
        );
        assert!(
            authorization.contains("/eu-west-2/sns/aws4_request"),
            "{authorization}"
        );
        for other in [
            "https://sns.eu-west-2.amazonaws.com.evil.com/x.pem",
            "http://sns.eu-west-2.amazonaws.com/x.pem",
            "https://sns.eu-west-2.amazonaws.com:8443/x.pem",
            "https://s3.eu-west-2.amazonaws.com/x.pem",
            "http://127.0.0.1:8081/_sns/cert.pem",
        ] {
            assert!(v.emulated(&Url::parse(other).unwrap()).is_none(), "{other}");
        }
        let plain = verifier(&[&aws_cert_prefix("eu-west-2")]);
        assert!(plain.emulated(&url).is_none());
        for bad in ["127.0.0.1:5000", "ftp://x", "http://u:p@x", "http://x/?q"] {
            assert!(
                SnsVerifier::new(VerifierConfig {
                    emulator_endpoint: Some(bad.into()),
                    ..VerifierConfig::default()
                })
                .is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn prefixes_must_be_http_urls() {
        for bad in [
            "sns.amazonaws.com/",
            "ftp://x/",
            "https://u:p@x/",
            "https://x/?q",
        ] {
            assert!(
                SnsVerifier::new(VerifierConfig {
                    trusted_cert_url_prefixes: vec![bad.into()],
                    allowed_topic_arns: vec![],
                    emulator_endpoint: None,
                })
                .is_err(),
                "{bad} accepted"
            );
        }
    }
}
