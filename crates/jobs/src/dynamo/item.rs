//! Records as DynamoDB items and back.
//!
//! Attribute names are the record's field names (DESIGN section 4). Strings
//! are `S`, times and `progress` are `N`; an absent `Option` is an absent
//! attribute, never a NULL, so conditions can use `attribute_not_exists`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::DynamoError;
use crate::{Job, JobStatus, Role, User};

/// One DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// An integer number attribute.
pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Magnitudes DynamoDB numbers cannot hold at full precision; fractions
/// below [`TINY`] are stored as 0 (a progress of 1e-40 is no progress).
const HUGE: f64 = 1e30;
const TINY: f64 = 1e-30;

/// A fractional number attribute (`progress`). DynamoDB has no NaN or
/// infinity; Rust's shortest round-trip decimal form is what is stored.
pub(crate) fn real(attribute: &'static str, v: f64) -> Result<AttributeValue, DynamoError> {
    if !v.is_finite() || v.abs() > HUGE {
        return Err(DynamoError::BadValue {
            attribute,
            problem: format!("{v} is not a number DynamoDB can store"),
        });
    }
    let v = if v.abs() < TINY { 0.0 } else { v };
    Ok(AttributeValue::N(v.to_string()))
}

/// The item of a job: every field under its own name, `None`s left out.
pub(crate) fn job_to_item(job: &Job) -> Result<Item, DynamoError> {
    let mut item = Item::new();
    item.insert("job_id".into(), s(&job.job_id));
    item.insert("user_id".into(), s(&job.user_id));
    item.insert("input_file_name".into(), s(&job.input_file_name));
    item.insert("s3_inputs_bucket".into(), s(&job.s3_inputs_bucket));
    item.insert("s3_key_input_file".into(), s(&job.s3_key_input_file));
    item.insert("submit_time".into(), n(job.submit_time));
    item.insert("job_status".into(), s(job.job_status.as_str()));
    let strings = [
        ("s3_results_bucket", &job.s3_results_bucket),
        ("s3_key_result_file", &job.s3_key_result_file),
        ("s3_key_log_file", &job.s3_key_log_file),
        ("results_file_archive_id", &job.results_file_archive_id),
        ("archive_execution_id", &job.archive_execution_id),
        ("retrieval_job_id", &job.retrieval_job_id),
        ("failure_reason", &job.failure_reason),
        ("annotation_warnings", &job.annotation_warnings),
        ("input_etag", &job.input_etag),
        ("variants_archive_id", &job.variants_archive_id),
        ("variants_retrieval_job_id", &job.variants_retrieval_job_id),
    ];
    for (name, value) in strings {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if let Some(t) = job.complete_time {
        item.insert("complete_time".into(), n(t));
    }
    if let Some(t) = job.lease_expires {
        item.insert("lease_expires".into(), n(t));
    }
    if let Some(t) = job.window_started {
        item.insert("window_started".into(), n(t));
    }
    if let Some(t) = job.requeued_at {
        item.insert("requeued_at".into(), n(t));
    }
    item.insert("progress".into(), real("progress", job.progress)?);
    Ok(item)
}

/// The job an item holds.
pub(crate) fn job_from_item(item: &Item) -> Result<Job, DynamoError> {
    let r = Reader::new(item, "job_id");
    let status = r.string("job_status")?;
    let job_status = JobStatus::parse(&status)
        .ok_or_else(|| r.bad("job_status", format!("unknown status {status:?}")))?;
    Ok(Job {
        job_id: r.string("job_id")?,
        user_id: r.string("user_id")?,
        input_file_name: r.string("input_file_name")?,
        s3_inputs_bucket: r.string("s3_inputs_bucket")?,
        s3_key_input_file: r.string("s3_key_input_file")?,
        submit_time: r.integer("submit_time")?,
        job_status,
        s3_results_bucket: r.opt_string("s3_results_bucket")?,
        s3_key_result_file: r.opt_string("s3_key_result_file")?,
        s3_key_log_file: r.opt_string("s3_key_log_file")?,
        complete_time: r.opt_integer("complete_time")?,
        results_file_archive_id: r.opt_string("results_file_archive_id")?,
        archive_execution_id: r.opt_string("archive_execution_id")?,
        retrieval_job_id: r.opt_string("retrieval_job_id")?,
        failure_reason: r.opt_string("failure_reason")?,
        progress: r.opt_real("progress")?.unwrap_or(0.0),
        lease_expires: r.opt_integer("lease_expires")?,
        annotation_warnings: r.opt_string("annotation_warnings")?,
        window_started: r.opt_integer("window_started")?,
        requeued_at: r.opt_integer("requeued_at")?,
        input_etag: r.opt_string("input_etag")?,
        variants_archive_id: r.opt_string("variants_archive_id")?,
        variants_retrieval_job_id: r.opt_string("variants_retrieval_job_id")?,
    })
}

/// The item of a user profile, with the lowercased `email_key` beside the
/// email as entered.
pub(crate) fn user_to_item(user: &User, email_key: &str) -> Item {
    let mut item = Item::new();
    item.insert("user_id".into(), s(&user.user_id));
    item.insert("email".into(), s(&user.email));
    item.insert("email_key".into(), s(email_key));
    item.insert("role".into(), s(user.role.as_str()));
    item.insert("created_at".into(), n(user.created_at));
    if let Some(h) = &user.password_hash {
        item.insert("password_hash".into(), s(h));
    }
    if let Some(h) = &user.api_token_sha256 {
        item.insert("api_token_sha256".into(), s(h));
    }
    item
}

/// The user profile an item holds.
pub(crate) fn user_from_item(item: &Item) -> Result<User, DynamoError> {
    let r = Reader::new(item, "user_id");
    let role = r.string("role")?;
    let role = Role::parse(&role).ok_or_else(|| r.bad("role", format!("unknown role {role:?}")))?;
    Ok(User {
        user_id: r.string("user_id")?,
        email: r.string("email")?,
        role,
        created_at: r.integer("created_at")?,
        password_hash: r.opt_string("password_hash")?,
        api_token_sha256: r.opt_string("api_token_sha256")?,
    })
}

/// Typed access to an item's attributes, with errors naming the item.
pub(crate) struct Reader<'a> {
    item: &'a Item,
    key: String,
}

impl<'a> Reader<'a> {
    /// `key_attribute` names the attribute that identifies the item in errors.
    pub(crate) fn new(item: &'a Item, key_attribute: &str) -> Self {
        let key = match item.get(key_attribute) {
            Some(AttributeValue::S(k)) => k.clone(),
            _ => String::from("<no key>"),
        };
        Self { item, key }
    }

    pub(crate) fn bad(&self, attribute: &'static str, problem: impl Into<String>) -> DynamoError {
        DynamoError::BadItem {
            key: self.key.clone(),
            attribute,
            problem: problem.into(),
        }
    }

    pub(crate) fn string(&self, name: &'static str) -> Result<String, DynamoError> {
        self.opt_string(name)?
            .ok_or_else(|| self.bad(name, "missing"))
    }

    pub(crate) fn opt_string(&self, name: &'static str) -> Result<Option<String>, DynamoError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(other) => Err(self.bad(name, format!("expected a string, found {other:?}"))),
        }
    }

    /// A String Set attribute; an absent one is empty (DynamoDB removes a
    /// set whose last member is deleted).
    pub(crate) fn string_set(&self, name: &'static str) -> Result<Vec<String>, DynamoError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::Ss(v)) => Ok(v.clone()),
            Some(other) => Err(self.bad(name, format!("expected a string set, found {other:?}"))),
        }
    }

    pub(crate) fn integer(&self, name: &'static str) -> Result<i64, DynamoError> {
        self.opt_integer(name)?
            .ok_or_else(|| self.bad(name, "missing"))
    }

    pub(crate) fn opt_integer(&self, name: &'static str) -> Result<Option<i64>, DynamoError> {
        match self.number(name)? {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|e| self.bad(name, format!("{v:?} is not an integer: {e}"))),
        }
    }

    pub(crate) fn opt_real(&self, name: &'static str) -> Result<Option<f64>, DynamoError> {
        match self.number(name)? {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .map(Some)
                .map_err(|e| self.bad(name, format!("{v:?} is not a number: {e}"))),
        }
    }

    fn number(&self, name: &'static str) -> Result<Option<&'a str>, DynamoError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => Ok(Some(v.as_str())),
            Some(other) => Err(self.bad(name, format!("expected a number, found {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_leave_nones_out() {
        let mut job = Job::new_pending("j1", "u1", "in.vcf", "inputs", "k", 1_700_000_000);
        let item = job_to_item(&job).unwrap();
        assert!(!item.contains_key("complete_time"));
        assert!(!item.contains_key("lease_expires"));
        assert!(!item.contains_key("s3_results_bucket"));
        assert_eq!(job_from_item(&item).unwrap(), job);

        job.progress = 0.1 + 0.2;
        job.lease_expires = Some(42);
        job.retrieval_job_id = Some("r".into());
        job.variants_archive_id = Some("v".into());
        job.variants_retrieval_job_id = Some("vr".into());
        let item = job_to_item(&job).unwrap();
        assert_eq!(item.get("variants_archive_id"), Some(&s("v")));
        assert_eq!(item.get("lease_expires"), Some(&n(42)));
        assert_eq!(job_from_item(&item).unwrap(), job);
    }

    #[test]
    fn numbers_dynamodb_cannot_hold_are_refused_or_flushed() {
        assert!(real("progress", f64::NAN).is_err());
        assert!(real("progress", f64::INFINITY).is_err());
        assert_eq!(
            real("progress", 1e-300).unwrap(),
            AttributeValue::N("0".into())
        );
        assert_eq!(
            real("progress", 1.0).unwrap(),
            AttributeValue::N("1".into())
        );
    }

    #[test]
    fn malformed_items_are_errors() {
        let job = Job::new_pending("j1", "u1", "in.vcf", "inputs", "k", 5);
        let mut item = job_to_item(&job).unwrap();
        item.insert("job_status".into(), s("LOST"));
        assert!(job_from_item(&item).is_err());
        item.insert("job_status".into(), s("PENDING"));
        item.insert("submit_time".into(), s("five"));
        assert!(job_from_item(&item).is_err());
        item.remove("submit_time");
        assert!(job_from_item(&item).is_err());
    }

    #[test]
    fn users_round_trip() {
        let user = User {
            user_id: "u1".into(),
            email: "A@B.org".into(),
            role: Role::Premium,
            created_at: 7,
            password_hash: None,
            api_token_sha256: Some("t".into()),
        };
        let item = user_to_item(&user, "a@b.org");
        assert_eq!(item.get("email_key"), Some(&s("a@b.org")));
        assert!(!item.contains_key("password_hash"));
        assert_eq!(user_from_item(&item).unwrap(), user);
    }

    #[test]
    fn users_ignore_their_token_refs() {
        let user = User {
            user_id: "u1".into(),
            email: "a@b.org".into(),
            role: Role::Free,
            created_at: 7,
            password_hash: None,
            api_token_sha256: None,
        };
        let mut item = user_to_item(&user, "a@b.org");
        item.insert(
            "api_token_refs".into(),
            AttributeValue::Ss(vec!["t1 abc".into()]),
        );
        assert_eq!(user_from_item(&item).unwrap(), user);
        let r = Reader::new(&item, "user_id");
        assert_eq!(r.string_set("api_token_refs").unwrap(), ["t1 abc"]);
        assert!(r.string_set("absent").unwrap().is_empty());
        assert!(r.string_set("email").is_err());
    }
}
