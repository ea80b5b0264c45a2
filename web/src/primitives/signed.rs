//! Small values the web app hands a browser and wants back unchanged (an
//! OpenID Connect sign-in in flight, a sign-in waiting to be linked),
//! carried in cookies as `base64url(json).base64url(HMAC-SHA256)` with an
//! expiry inside. The key is the installation's `secret_key`, the same in
//! every web process.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    exp: i64,
    value: T,
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of every length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Seals `value` until `exp` (epoch seconds).
pub fn seal<T: Serialize>(key: &[u8], value: &T, exp: i64) -> String {
    let json = serde_json::to_vec(&Envelope { exp, value }).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = URL_SAFE_NO_PAD.encode(mac(key, payload.as_bytes()));
    format!("{payload}.{tag}")
}

/// The value, if `sealed` was made with `key`, is unaltered and `now` is
/// before its expiry.
pub fn open<T: DeserializeOwned>(key: &[u8], sealed: &str, now: i64) -> Option<T> {
    let (payload, tag) = sealed.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut check = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    check.update(payload.as_bytes());
    // verify_slice compares in constant time.
    check.verify_slice(&tag).ok()?;
    let envelope: Envelope<T> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (now < envelope.exp).then_some(envelope.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_unaltered_with_the_key_before_expiry() {
        let sealed = seal(b"key", &("ada", 7), 100);
        assert_eq!(
            open::<(String, i32)>(b"key", &sealed, 99),
            Some(("ada".into(), 7))
        );
        assert_eq!(open::<(String, i32)>(b"key", &sealed, 100), None, "expired");
        assert_eq!(
            open::<(String, i32)>(b"other", &sealed, 0),
            None,
            "another key"
        );
        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = seal(b"key", &("eve", 7), 100);
        let forged_payload = forged.split_once('.').unwrap().0;
        assert_eq!(
            open::<(String, i32)>(b"key", &format!("{forged_payload}.{tag}"), 0),
            None
        );
        assert_eq!(open::<(String, i32)>(b"key", payload, 0), None);
        assert_eq!(open::<(String, i32)>(b"key", "garbage", 0), None);
    }
}
