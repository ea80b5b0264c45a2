use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::{DecodePem, EncodePem};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;
use x509_cert::Certificate;

use super::SnsMessage;

const KEY_FILE: &str = "sns-signing-key.pem";
const CERT_FILE: &str = "sns-signing-cert.pem";
const KEY_BITS: usize = 2048;
const CERT_SUBJECT: &str = "CN=GAS embedded SNS";
const CERT_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("signing key: {0}")]
    Key(String),
    #[error("signing certificate: {0}")]
    Certificate(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SignerError + '_ {
    move |source| SignerError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Signs SNS messages as Amazon SNS does with SignatureVersion 2: RSA PKCS#1
/// v1.5 over SHA-256 of [`SnsMessage::string_to_sign`], with a certificate
/// (self-signed, 2048-bit RSA) that receivers fetch from `cert_url`.
///
/// Key generation takes a noticeable fraction of a second: create a signer
/// once per data directory ([`SnsSigner::load_or_create`]) and share it.
pub struct SnsSigner {
    key: SigningKey<Sha256>,
    cert_pem: String,
    cert_url: String,
}

impl std::fmt::Debug for SnsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsSigner")
            .field("cert_url", &self.cert_url)
            .finish_non_exhaustive()
    }
}

impl SnsSigner {
    /// A fresh 2048-bit RSA key.
    pub fn generate_key() -> Result<RsaPrivateKey, SignerError> {
        RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|e| SignerError::Key(e.to_string()))
    }

    /// A signer for `key`, with a new self-signed certificate, whose messages
    /// name `cert_url` as their `SigningCertURL`.
    pub fn from_key(key: RsaPrivateKey, cert_url: impl Into<String>) -> Result<Self, SignerError> {
        let cert_pem = self_signed_certificate(&key)?;
        Ok(Self::with_parts(key, cert_pem, cert_url.into()))
    }

    /// Loads the key and certificate kept in `dir` (`sns-signing-key.pem`,
    /// PKCS#8, mode 0600; `sns-signing-cert.pem`), creating what is missing,
    /// so that a restart keeps the key (receivers cache certificates by URL).
    /// Processes starting together agree on one key: the key file is created
    /// exclusively, and the loser of a race loads the winner's. A certificate
    /// that does not match the key is replaced.
    ///
    /// Blocking (file I/O, possibly key generation): call it at start-up or
    /// from `spawn_blocking`.
    pub fn load_or_create(dir: &Path, cert_url: impl Into<String>) -> Result<Self, SignerError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let key = load_or_create_key(&dir.join(KEY_FILE))?;
        let cert_path = dir.join(CERT_FILE);
        let existing = match std::fs::read_to_string(&cert_path) {
            Ok(pem) => Some(pem),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&cert_path)(e)),
        };
        let cert_pem = match existing {
            Some(pem) if certificate_matches_key(&pem, &key) => pem,
            _ => {
                let pem = self_signed_certificate(&key)?;
                // Any process may replace the certificate: all certificates
                // made for one key verify the same signatures.
                let tmp = write_new_file(&cert_path, pem.as_bytes(), 0o644)?;
                std::fs::rename(&tmp, &cert_path).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    io_error(&cert_path)(e)
                })?;
                tracing::info!(path = %cert_path.display(), "created the SNS signing certificate");
                pem
            }
        };
        Ok(Self::with_parts(key, cert_pem, cert_url.into()))
    }

    fn with_parts(key: RsaPrivateKey, cert_pem: String, cert_url: String) -> Self {
        Self {
            key: SigningKey::new(key),
            cert_pem,
            cert_url,
        }
    }

    /// The URL this signer's messages give as `SigningCertURL`.
    pub fn cert_url(&self) -> &str {
        &self.cert_url
    }

    /// The certificate, PEM-encoded, to serve at [`cert_url`](Self::cert_url).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Sets `SignatureVersion` ("2"), `SigningCertURL` and `Signature`.
    pub fn sign(&self, message: &mut SnsMessage) -> Result<(), SignerError> {
        message.signature_version = Some("2".to_owned());
        message.signing_cert_url = Some(self.cert_url.clone());
        let signature: Signature = self
            .key
            .try_sign(message.string_to_sign().as_bytes())
            .map_err(|e| SignerError::Sign(e.to_string()))?;
        message.signature =
            Some(base64::engine::general_purpose::STANDARD.encode(signature.to_vec()));
        Ok(())
    }
}

fn load_or_create_key(path: &Path) -> Result<RsaPrivateKey, SignerError> {
    match std::fs::read_to_string(path) {
        Ok(pem) => return parse_key(path, &pem),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(path)(e)),
    }
    let key = SnsSigner::generate_key()?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| SignerError::Key(e.to_string()))?;
    let tmp = write_new_file(path, pem.as_bytes(), 0o600)?;
    // Publish the key only if no other process did first: hard_link fails
    // when the target exists, where rename would silently replace it.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the SNS signing key");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let pem = std::fs::read_to_string(path).map_err(io_error(path))?;
            parse_key(path, &pem)
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

fn parse_key(path: &Path, pem: &str) -> Result<RsaPrivateKey, SignerError> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .map_err(|e| SignerError::Key(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to a new temporary file next to `path` with `mode` (on
/// Unix), synced to disk; returns the temporary file's path.
fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, SignerError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(&tmp)(e)
    })?;
    Ok(tmp)
}

fn self_signed_certificate(key: &RsaPrivateKey) -> Result<String, SignerError> {
    let cert_error = |e: &dyn std::fmt::Display| SignerError::Certificate(e.to_string());
    let signing_key = SigningKey::<Sha256>::new(key.clone());
    let spki =
        SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).map_err(|e| cert_error(&e))?;
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40; // positive, minimal DER encoding
    let serial = SerialNumber::new(&serial).map_err(|e| cert_error(&e))?;
    let validity = Validity::from_now(CERT_LIFETIME).map_err(|e| cert_error(&e))?;
    let subject = Name::from_str(CERT_SUBJECT).map_err(|e| cert_error(&e))?;
    let builder =
        CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &signing_key)
            .map_err(|e| cert_error(&e))?;
    let cert = builder.build::<Signature>().map_err(|e| cert_error(&e))?;
    cert.to_pem(LineEnding::LF).map_err(|e| cert_error(&e))
}

fn certificate_matches_key(pem: &str, key: &RsaPrivateKey) -> bool {
    let Ok(cert) = Certificate::from_pem(pem) else {
        return false;
    };
    let Ok(cert_key) =
        x509_cert::der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info)
    else {
        return false;
    };
    match RsaPublicKey::to_public_key_der(&key.to_public_key()) {
        Ok(own) => own.as_bytes() == cert_key.as_slice(),
        Err(_) => false,
    }
}
