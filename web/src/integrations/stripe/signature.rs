//! Stripe's webhook signature (the `Stripe-Signature` header).
//!
//! The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`. Each
//! `v1` is the hex HMAC-SHA256, keyed with the endpoint's signing secret,
//! of `"<t>.<raw body>"`. While a secret is being rotated Stripe signs with
//! both, so any one `v1` that matches is enough; other schemes (`v0`, the
//! test-mode scheme) are ignored. `t` must be within the tolerance of now,
//! in both directions, so a captured request cannot be replayed later; the
//! webhook's event-id record catches a replay within the tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's own libraries' default tolerance (seconds).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks `header` (the Stripe-Signature value, `None` when absent) over
/// the raw `payload` with `secret`, at `now` (unix seconds).
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value),
            "t" => return Err(SignatureError::Malformed),
            // A v1 value that is not hex can match nothing; skip it, as
            // Stripe's libraries do, rather than refuse the others.
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    let t: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let mac = signed_mac(secret, timestamp, payload);
    // `verify_slice` compares in constant time.
    if signatures
        .iter()
        .any(|sig| mac.clone().verify_slice(sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `payload` at `t` (for tests and for
/// operators' tools).
pub fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    let mac = signed_mac(secret, &t.to_string(), payload);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn signed_mac(secret: &str, timestamp: &str, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"customer.subscription.updated"}"#;
    const NOW: i64 = 1_700_000_000;

    fn check(header: Option<&str>) -> Result<(), SignatureError> {
        verify(header, BODY, SECRET, NOW, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn a_good_signature_passes() {
        assert_eq!(check(Some(&sign(BODY, SECRET, NOW))), Ok(()));
        // Within the tolerance, either way.
        assert_eq!(check(Some(&sign(BODY, SECRET, NOW - 300))), Ok(()));
        assert_eq!(check(Some(&sign(BODY, SECRET, NOW + 300))), Ok(()));
    }

    #[test]
    fn a_bad_signature_fails() {
        assert_eq!(
            check(Some(&sign(BODY, "whsec_other", NOW))),
            Err(SignatureError::Mismatch)
        );
        // The right key over another body.
        let other = sign(br#"{"id":"evt_2"}"#, SECRET, NOW);
        assert_eq!(check(Some(&other)), Err(SignatureError::Mismatch));
        // The right signature under another timestamp.
        let good = sign(BODY, SECRET, NOW);
        let moved = good.replace(&format!("t={NOW}"), &format!("t={}", NOW - 1));
        assert_eq!(check(Some(&moved)), Err(SignatureError::Mismatch));
        // Only a v0 (test-mode scheme) signature.
        let v0 = good.replace("v1=", "v0=");
        assert_eq!(check(Some(&v0)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_stale_timestamp_fails_even_when_signed() {
        assert_eq!(
            check(Some(&sign(BODY, SECRET, NOW - 301))),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(Some(&sign(BODY, SECRET, NOW + 301))),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn a_missing_header_fails() {
        assert_eq!(check(None), Err(SignatureError::Missing));
    }

    #[test]
    fn any_v1_may_match_during_rotation() {
        let good = sign(BODY, SECRET, NOW);
        let good_sig = good.split_once(",v1=").unwrap().1;
        let old_sig = sign(BODY, "whsec_old", NOW)
            .split_once(",v1=")
            .unwrap()
            .1
            .to_string();
        let header = format!("t={NOW},v1={old_sig},v1={good_sig}");
        assert_eq!(check(Some(&header)), Ok(()));
        let header = format!("t={NOW},v1={good_sig},v0=abc,v1={old_sig}");
        assert_eq!(check(Some(&header)), Ok(()));
        let header = format!("t={NOW},v1=not-hex,v1={good_sig}");
        assert_eq!(check(Some(&header)), Ok(()));
        let header = format!("t={NOW},v1={old_sig},v1={old_sig}");
        assert_eq!(check(Some(&header)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_malformed_header_fails() {
        let sig = sign(BODY, SECRET, NOW);
        let sig = sig.split_once(",v1=").unwrap().1;
        for header in [
            String::new(),
            "garbage".to_string(),
            format!("v1={sig}"),
            format!("t=soon,v1={sig}"),
            format!("t={NOW},t={NOW},v1={sig}"),
            format!("t={NOW};v1={sig}"),
        ] {
            assert_eq!(
                check(Some(&header)),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            check(Some(&format!("t={NOW}"))),
            Err(SignatureError::Mismatch)
        );
    }
}
