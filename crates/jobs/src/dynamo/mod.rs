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
