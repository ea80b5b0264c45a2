//! The listing cursor: where the previous page ended.
//!
//! Keyset pagination (resume after the last `(submit_time, job_id)` seen)
//! stays correct while jobs are added, unlike an offset. The cursor is
//! opaque to callers: URL-safe base64 of a small JSON object. It names the
//! user it was made for, so a cursor replayed for another user is refused
//! rather than silently listing from an unrelated position.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "t")]
    pub submit_time: i64,
    #[serde(rename = "j")]
    pub job_id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // Serializing a struct of strings and an integer cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor made by [`Cursor::encode`] for `user_id`.
    pub fn decode(s: &str, user_id: &str) -> Result<Self, StoreError> {
        let json = URL_SAFE_NO_PAD
            .decode(s.as_bytes())
            .map_err(|_| StoreError::BadCursor)?;
        let cursor: Cursor = serde_json::from_slice(&json).map_err(|_| StoreError::BadCursor)?;
        if cursor.user_id != user_id {
            return Err(StoreError::BadCursor);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_the_user() {
        let c = Cursor {
            user_id: "u1".into(),
            submit_time: 1_700_000_000,
            job_id: "j~1".into(),
        };
        let s = c.encode();
        assert_eq!(Cursor::decode(&s, "u1").unwrap(), c);
        assert!(matches!(
            Cursor::decode(&s, "u2"),
            Err(StoreError::BadCursor)
        ));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "!!!", "bm90IGpzb24", "e30"] {
            assert!(
                matches!(Cursor::decode(bad, "u1"), Err(StoreError::BadCursor)),
                "{bad:?} accepted"
            );
        }
    }
}
