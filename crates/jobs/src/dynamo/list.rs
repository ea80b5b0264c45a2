//! A user's jobs, newest first, a page at a time.
//!
//! The GSI [`super::USER_ID_INDEX`] (`user_id`, `submit_time`) finds a
//! user's jobs in `submit_time` order, but two things the port promises it
//! cannot give by itself:
//! - Ties: items with the same `submit_time` come in no defined order, and
//!   the port orders them by `job_id` descending. So the listing reads the
//!   index newest first (`ScanIndexForward = false`), following DynamoDB's own
//!   `LastEvaluatedKey`, until the first `limit + 1` keys in
//!   `(submit_time desc, job_id desc)` order are settled: that is when an
//!   item older than the `(limit + 1)`-th key collected has been read (the
//!   index returns nothing newer after it), or the index is exhausted. The
//!   keys are then sorted. The `(limit + 1)`-th key only tells whether
//!   another page follows, as in the SQLite adapter.
//! - Consistency: index reads are eventually consistent. Only keys (which
//!   never change) are taken from the index; the records themselves come from
//!   one BatchGetItem with `ConsistentRead`, so a listed job's state is as
//!   fresh as [`crate::JobStore::get`]'s. A job created a moment ago may miss
//!   a listing until the index has it (typically well under a second).
//!
//! The cursor is the keyset `(submit_time, job_id)` of the page's last job,
//! bound to the user (the SQLite adapter's format): the next page queries
//! `submit_time <= t` and drops the keys at or after the cursor.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;

use super::error::request_failed;
use super::item::{job_from_item, n, s, Item, Reader};
use super::USER_ID_INDEX;
use crate::sqlite::cursor::Cursor;
use crate::{Job, Page, StoreError};

/// Largest page; also BatchGetItem's limit of 100 keys a request.
const MAX_PAGE: usize = 100;

/// A job's place in a listing: `(submit_time, job_id)`, listed descending.
type ListKey = (i64, String);

pub(super) async fn list_for_user(
    client: &Client,
    table: &str,
    user_id: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Job>, StoreError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let after = cursor.map(|c| Cursor::decode(c, user_id)).transpose()?;
    let mut keys = first_keys(client, table, user_id, limit + 1, after.as_ref()).await?;
    let more = keys.len() > limit;
    keys.truncate(limit);
    let jobs = read_jobs(client, table, &keys).await?;
    let next = match keys.last() {
        Some((submit_time, job_id)) if more => Some(
            Cursor {
                user_id: user_id.to_string(),
                submit_time: *submit_time,
                job_id: job_id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    tracing::debug!(user_id, jobs = jobs.len(), more, "listed jobs");
    Ok(Page { items: jobs, next })
}

/// The first `want` keys of the user's jobs after `after`, in listing order.
async fn first_keys(
    client: &Client,
    table: &str,
    user_id: &str,
    want: usize,
    after: Option<&Cursor>,
) -> Result<Vec<ListKey>, StoreError> {
    let page_size = i32::try_from(want).unwrap_or(i32::MAX);
    let mut found: Vec<ListKey> = Vec::new();
    let mut oldest_read: Option<i64> = None;
    let mut start: Option<Item> = None;
    loop {
        let mut query = client
            .query()
            .table_name(table)
            .index_name(USER_ID_INDEX)
            .scan_index_forward(false)
            .projection_expression("job_id, submit_time")
            .limit(page_size)
            .expression_attribute_values(":u", s(user_id))
            .set_exclusive_start_key(start.take());
        query = match after {
            None => query.key_condition_expression("user_id = :u"),
            Some(c) => query
                .key_condition_expression("user_id = :u AND submit_time <= :t")
                .expression_attribute_values(":t", n(c.submit_time)),
        };
        let out = query
            .send()
            .await
            .map_err(|e| request_failed("Query", table, e))?;
        for item in out.items() {
            let r = Reader::new(item, "job_id");
            let key = (r.integer("submit_time")?, r.string("job_id")?);
            oldest_read = Some(key.0);
            let seen = after
                .is_some_and(|c| key.0 == c.submit_time && key.1.as_str() >= c.job_id.as_str());
            if !seen {
                found.push(key);
            }
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
        // Everything still unread is no newer than the oldest item read; once
        // that is older than the want-th key, no unread key can rank before it.
        let settled = match (found.get(want.saturating_sub(1)), oldest_read) {
            (Some(boundary), Some(oldest)) => oldest < boundary.0,
            _ => false,
        };
        if settled {
            break;
        }
    }
    found.truncate(want);
    Ok(found)
}

/// The jobs of `keys`, read consistently, in the order of `keys`.
async fn read_jobs(client: &Client, table: &str, keys: &[ListKey]) -> Result<Vec<Job>, StoreError> {
    let ids: Vec<String> = keys.iter().map(|(_, job_id)| job_id.clone()).collect();
    let items = super::consistent_batch_get(client, table, "job_id", &ids).await?;
    let mut by_id: HashMap<String, Job> = HashMap::with_capacity(items.len());
    for item in &items {
        let job = job_from_item(item)?;
        by_id.insert(job.job_id.clone(), job);
    }
    let mut jobs = Vec::with_capacity(keys.len());
    for (_, job_id) in keys {
        match by_id.remove(job_id) {
            Some(job) => jobs.push(job),
            // Jobs are never deleted; an index entry without its item means
            // the table was edited by hand. Leave it out rather than fail.
            None => tracing::warn!(job_id, table, "indexed job has no item"),
        }
    }
    Ok(jobs)
}
