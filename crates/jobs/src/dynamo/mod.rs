//! The AWS adapters: job records and user profiles in DynamoDB.
//!
//! Two tables (DESIGN sections 3 and 4):
//! - the jobs table (`annotations` in production), keyed by `job_id` (S),
//!   one item a job whose attributes are the record's field names, with the
//!   GSI [`USER_ID_INDEX`] (`user_id` S, `submit_time` N, projection ALL) for
//!   a user's jobs: [`DynamoJobStore`];
//! - the users table, keyed by `user_id` (S), holding user items and the
//!   guard items that keep emails and API tokens unique: [`DynamoUserStore`].
//!
//! [`provision`] creates both. Each store's module says how its port's
//! contract maps onto DynamoDB: strongly consistent reads are GetItem /
//! BatchGetItem with `ConsistentRead`; every state change is one conditional
//! write (UpdateItem, PutItem or TransactWriteItems) whose failed condition
//! becomes [`crate::StoreError::ConditionFailed`], `NotFound` or
//! `AlreadyExists`; SDK failures become [`crate::StoreError::Backend`] with
//! the SDK error as the source.

mod error;
mod item;
mod jobs;
mod list;
mod provision;
mod users;

pub use jobs::DynamoJobStore;
pub use provision::provision;
pub use users::DynamoUserStore;

/// How often BatchGetItem's unprocessed keys are asked for again.
const BATCH_ATTEMPTS: u32 = 8;

/// BatchGetItem's limit of keys a request.
const BATCH_KEYS: usize = 100;

/// The jobs table's GSI on (`user_id`, `submit_time`).
pub const USER_ID_INDEX: &str = "user_id_index";

/// A strongly consistent GetItem of the item whose key attribute `key_name`
/// is `key`: what both stores read before and after their conditional writes.
async fn consistent_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key_name: &str,
    key: &str,
) -> Result<Option<item::Item>, crate::StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .key(key_name, item::s(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| error::request_failed("GetItem", table, e))?;
    Ok(out.item)
}

/// Strongly consistent reads of the items whose key attribute `key_name` is
/// one of `keys`, by BatchGetItem (100 keys a request), in no particular
/// order; keys without an item are left out. Unprocessed keys (DynamoDB
/// leaves some under load) are asked for again with backoff.
async fn consistent_batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key_name: &str,
    keys: &[String],
) -> Result<Vec<item::Item>, crate::StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_KEYS) {
        let request_keys: Vec<item::Item> = chunk
            .iter()
            .map(|k| item::Item::from([(key_name.to_string(), item::s(k))]))
            .collect();
        let mut pending = Some(
            aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(request_keys))
                .consistent_read(true)
                .build()
                .map_err(|e| error::build_failed("BatchGetItem", table, e))?,
        );
        let mut attempt = 0;
        while let Some(request) = pending.take() {
            if attempt == BATCH_ATTEMPTS {
                return Err(error::DynamoError::Contended {
                    operation: "BatchGetItem",
                    table: table.to_string(),
                    attempts: attempt,
                }
                .into());
            }
            if attempt > 0 {
                // DynamoDB leaves keys unprocessed under load: back off.
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6))).await;
            }
            attempt += 1;
            let mut out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| error::request_failed("BatchGetItem", table, e))?;
            found.extend(
                out.responses
                    .as_mut()
                    .and_then(|r| r.remove(table))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .as_mut()
                .and_then(|u| u.remove(table))
                .filter(|k| !k.keys().is_empty());
        }
    }
    Ok(found)
}
