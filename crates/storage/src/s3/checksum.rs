//! Checksums of the objects the S3 adapters store, and why reading them
//! logs nothing.
//!
//! Every object carries one checksum of its whole body, which the SDK checks
//! on every GetObject (`ResponseChecksumValidation::WhenSupported`, the
//! default, which we keep): a single PutObject gets the SDK's CRC32, and a
//! multipart upload is made with `ChecksumType::FullObject` and CRC32
//! (`upload.rs`). S3 otherwise gives a CRC32 multipart upload a COMPOSITE
//! checksum, `<base64>-<parts>`: a CRC32 of the parts' CRC32s, which cannot
//! be checked against the body without knowing where the parts end. The SDK
//! skips those and logs "This checksum is a part-level checksum which can't
//! be validated" at WARN on every read, which is how every download or
//! archive of a result uploaded in parts used to log it.
//!
//! Objects uploaded in parts before FULL_OBJECT checksums keep their
//! composite checksum. [`QuietCompositeChecksums`] drops such a checksum
//! from GetObject responses before the SDK's checksum interceptor sees it
//! (client interceptors run before an operation's own), so those reads log
//! nothing instead of a warning; they are not validated, as they were not
//! before. Every other read is validated by the SDK as before.

use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::Client;
use tracing::debug;

const NAME: &str = "GasQuietCompositeChecksums";

/// `client` with [`QuietCompositeChecksums`] (unless it has it already).
pub(crate) fn quiet_composite_checksums(client: Client) -> Client {
    if client.config().interceptors().any(|i| i.name() == NAME) {
        return client;
    }
    Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(QuietCompositeChecksums)
            .build(),
    )
}

/// Removes composite (part-level) checksum headers, `x-amz-checksum-<algorithm>:
/// <base64>-<parts>`, from the responses to GET requests. See the module
/// documentation.
#[derive(Debug)]
pub(crate) struct QuietCompositeChecksums;

impl Intercept for QuietCompositeChecksums {
    fn name(&self) -> &'static str {
        NAME
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context
            .inner()
            .request()
            .is_some_and(|r| r.method() != "GET")
        {
            return Ok(());
        }
        let headers = context.response_mut().headers_mut();
        let composite: Vec<String> = headers
            .iter()
            .filter(|(name, value)| {
                name.starts_with("x-amz-checksum-")
                    && *name != "x-amz-checksum-type"
                    && is_composite(value)
            })
            .map(|(name, _)| name.to_string())
            .collect();
        for name in composite {
            let value = headers.remove(&name);
            debug!(
                header = %name,
                value = value.as_deref().unwrap_or_default(),
                "composite (part-level) checksum of an object uploaded in parts before \
                 FULL_OBJECT checksums: not validated"
            );
        }
        Ok(())
    }
}

/// `<base64>-<parts>`: S3's composite checksum of a multipart object.
fn is_composite(value: &str) -> bool {
    match value.rsplit_once('-') {
        Some((checksum, parts)) => {
            !checksum.is_empty() && !parts.is_empty() && parts.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_composite;

    #[test]
    fn composite_checksums() {
        assert!(is_composite("KZm2gw==-3"));
        assert!(is_composite("AAAAAA==-10000"));
        assert!(!is_composite("KZm2gw=="));
        assert!(!is_composite("KZm2gw==-"));
        assert!(!is_composite("-3"));
        assert!(!is_composite("KZm2gw==-3a"));
        assert!(!is_composite(""));
    }
}
