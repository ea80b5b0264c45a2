//! Payment provider events already handled, as items `event#<event_id>` of
//! the users table.
//!
//! An event item has `recorded_at`, and under `ttl` the time DynamoDB may
//! delete it (the table's time to live, as for sessions): 30 days on, long
//! after Stripe stops retrying and its signatures' tolerance has passed.
//! - [`record`] is one PutItem conditioned on `attribute_not_exists(user_id)`:
//!   of two concurrent records of one event exactly one succeeds (`true`);
//!   the other's ConditionalCheckFailed is `false`.
//! - [`recorded`] is one consistent GetItem.
//!
//! An event item has no `email`, so it is never read as a user.

use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::DynamoUserStore;
use crate::dynamo::error::request_failed;
use crate::dynamo::item::{n, s, Item};
use crate::dynamo::provision::TTL_ATTRIBUTE;
use crate::StoreError;

/// How long a handled event is remembered (seconds).
const EVENT_RETENTION_SECS: i64 = 30 * 24 * 3600;

pub(super) async fn recorded(store: &DynamoUserStore, event_id: &str) -> Result<bool, StoreError> {
    Ok(store.read_item(&event_key(event_id)).await?.is_some())
}

pub(super) async fn record(
    store: &DynamoUserStore,
    event_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let item = Item::from([
        ("user_id".to_string(), s(event_key(event_id))),
        ("recorded_at".to_string(), n(now)),
        (TTL_ATTRIBUTE.to_string(), n(now + EVENT_RETENTION_SECS)),
    ]);
    let result = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(user_id)")
        .send()
        .await;
    match result {
        Ok(_) => {
            tracing::debug!(event_id, "payment event recorded");
            Ok(true)
        }
        Err(err) => match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(request_failed("PutItem", &store.table, err)),
        },
    }
}

fn event_key(event_id: &str) -> String {
    format!("event#{event_id}")
}
