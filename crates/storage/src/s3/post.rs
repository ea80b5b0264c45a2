//! Presigned POST: a form with which a browser uploads straight into the
//! bucket, limited by a signed policy (key prefix, size range, expiry).
//! See "Browser-Based Uploads Using POST (AWS Signature Version 4)" in the
//! S3 API reference: the string to sign is the base64 policy, signed with
//! the SigV4 key of the date, region and service `s3`.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

/// The signing algorithm of the form.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

pub use crate::blob::PresignedPost;

/// What signs a policy: the credentials' parts, the region, the time.
#[derive(Debug, Clone)]
pub(crate) struct PostSigning<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) secret_access_key: &'a str,
    pub(crate) session_token: Option<&'a str>,
    pub(crate) region: &'a str,
    pub(crate) now: OffsetDateTime,
}

/// The policy document and form fields for uploads under `key_prefix` of at
/// most `max_bytes`, valid for `ttl`; with `redirect`, S3 sends the browser
/// there (303, with `bucket`, `key` and `etag` added to its query) once the
/// object is stored.
pub(crate) fn presigned_post(
    url: String,
    bucket: &str,
    key_prefix: &str,
    max_bytes: u64,
    ttl: Duration,
    redirect: Option<&str>,
    signing: &PostSigning<'_>,
) -> PresignedPost {
    let date = ymd(signing.now);
    let amz_date = format!("{date}T{}Z", hms(signing.now));
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        signing.access_key_id, signing.region
    );
    let expiration = signing.now + ttl;
    let expiration = format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        expiration.year(),
        u8::from(expiration.month()),
        expiration.day(),
        expiration.hour(),
        expiration.minute(),
        expiration.second()
    );
    let mut conditions = vec![
        serde_json::json!({ "bucket": bucket }),
        serde_json::json!(["starts-with", "$key", key_prefix]),
        serde_json::json!(["content-length-range", 0, max_bytes]),
        serde_json::json!({ "x-amz-algorithm": ALGORITHM }),
        serde_json::json!({ "x-amz-credential": credential }),
        serde_json::json!({ "x-amz-date": amz_date }),
    ];
    if let Some(token) = signing.session_token {
        conditions.push(serde_json::json!({ "x-amz-security-token": token }));
    }
    if let Some(redirect) = redirect {
        conditions.push(serde_json::json!({ "success_action_redirect": redirect }));
    }
    let policy = serde_json::json!({ "expiration": expiration, "conditions": conditions });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = sign_policy(signing.secret_access_key, &date, signing.region, &policy);

    let mut fields = BTreeMap::new();
    fields.insert("key".to_string(), format!("{key_prefix}${{filename}}"));
    fields.insert("x-amz-algorithm".to_string(), ALGORITHM.to_string());
    fields.insert("x-amz-credential".to_string(), credential);
    fields.insert("x-amz-date".to_string(), amz_date);
    if let Some(token) = signing.session_token {
        fields.insert("x-amz-security-token".to_string(), token.to_string());
    }
    if let Some(redirect) = redirect {
        fields.insert("success_action_redirect".to_string(), redirect.to_string());
    }
    fields.insert("policy".to_string(), policy);
    fields.insert("x-amz-signature".to_string(), signature);
    PresignedPost { url, fields }
}

fn ymd(t: OffsetDateTime) -> String {
    format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day())
}

fn hms(t: OffsetDateTime) -> String {
    format!("{:02}{:02}{:02}", t.hour(), t.minute(), t.second())
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The SigV4 signature of a base64 POST policy: HMAC-SHA256 with the key
/// derived from the secret, date (`YYYYMMDD`), region and service `s3`.
pub(crate) fn sign_policy(secret: &str, date: &str, region: &str, policy_b64: &str) -> String {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, policy_b64.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the S3 API reference, "Example: Browser-Based Upload
    /// using HTTP POST (Using AWS Signature Version 4)": its base64 policy
    /// (CRLF line ends included) and the signature it publishes.
    const DOC_POLICY: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
    const DOC_SIGNATURE: &str = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";
    const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn signs_the_documented_example() {
        assert_eq!(
            sign_policy(DOC_SECRET, "20151229", "us-east-1", DOC_POLICY),
            DOC_SIGNATURE
        );
    }

    fn signing(token: Option<&'static str>) -> PostSigning<'static> {
        PostSigning {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: DOC_SECRET,
            session_token: token,
            region: "us-east-1",
            now: time::macros::datetime!(2015-12-29 00:00:00 UTC),
        }
    }

    #[test]
    fn policy_carries_prefix_size_and_credential() {
        let post = presigned_post(
            "https://sigv4examplebucket.s3.us-east-1.amazonaws.com/".into(),
            "sigv4examplebucket",
            "user/user1/",
            1024,
            Duration::from_secs(12 * 3600),
            None,
            &signing(None),
        );
        let f = &post.fields;
        assert_eq!(f["key"], "user/user1/${filename}");
        assert_eq!(f["x-amz-algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            f["x-amz-credential"],
            "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"
        );
        assert_eq!(f["x-amz-date"], "20151229T000000Z");
        assert!(!f.contains_key("x-amz-security-token"));
        let policy: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(&f["policy"])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(policy["expiration"], "2015-12-29T12:00:00.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        let has = |v: serde_json::Value| conditions.contains(&v);
        assert!(has(serde_json::json!({"bucket": "sigv4examplebucket"})));
        assert!(has(serde_json::json!([
            "starts-with",
            "$key",
            "user/user1/"
        ])));
        assert!(has(serde_json::json!(["content-length-range", 0, 1024])));
        assert!(has(serde_json::json!({"x-amz-date": "20151229T000000Z"})));
        // The signature is the documented algorithm over exactly this policy.
        assert_eq!(
            f["x-amz-signature"],
            sign_policy(DOC_SECRET, "20151229", "us-east-1", &f["policy"])
        );
    }

    #[test]
    fn session_token_is_a_field_and_a_condition() {
        let post = presigned_post(
            "https://b.s3.amazonaws.com/".into(),
            "b",
            "p/",
            1,
            Duration::from_secs(60),
            None,
            &signing(Some("TOKEN")),
        );
        assert_eq!(post.fields["x-amz-security-token"], "TOKEN");
        let policy = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&post.fields["policy"])
                .unwrap(),
        )
        .unwrap();
        assert!(policy.contains(r#"{"x-amz-security-token":"TOKEN"}"#));
    }
}
