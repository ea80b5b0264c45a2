//! Random secrets and what is kept of them: every session, form token, API
//! token and record id the web app makes comes from here, and so does the
//! one comparison of secrets that must not leak where they differ.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes.
fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// A new random secret (256 bits, hex), for session and CSRF cookies and
/// record ids.
pub fn new_secret() -> String {
    hex::encode(random_bytes())
}

/// A new random API token (256 bits, hex, `gas_` first).
pub fn new_token() -> String {
    format!("gas_{}", hex::encode(random_bytes()))
}

/// 32 random bytes, for a key nothing outlives the process with.
pub fn random_key() -> Vec<u8> {
    random_bytes().to_vec()
}

/// SHA-256 of `value`, hex.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// What the user store keeps of a token: its SHA-256, hex. Tokens are long
/// random strings, so a fast hash is enough (no dictionary to guess from).
pub fn hash_token(token: &str) -> String {
    sha256_hex(token)
}

/// Whether two secrets are equal, in time that does not depend on where
/// they first differ (the length may show).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_tokens_hash_to_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        let token = new_token();
        assert!(token.starts_with("gas_") && token.len() == 68);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(random_key().len(), 32);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
    }
}
