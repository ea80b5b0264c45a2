//! Failed sign-ins as items `signin#<user_id>` of the users table, with
//! `count` and `last_at` (the latest failure, epoch seconds). A success
//! deletes the item, so no item reads as zero failures.
//!
//! [`record`] must count every failure even when several arrive at once (a
//! guesser tries passwords in parallel), so each is one conditional write,
//! and the three below are tried in turn until one's condition holds:
//! 1. the latest failure is within the window and not after `now`:
//!    UpdateItem `count + 1`, `last_at = now`;
//! 2. no failure yet, or the latest is out of the window: PutItem of a count
//!    of one (conditioned on exactly that, so a failure counted meanwhile is
//!    not overwritten);
//! 3. a later failure is recorded already (another server's clock runs
//!    ahead): UpdateItem `count + 1`, keeping that `last_at`, so `last_at`
//!    stays the latest failure.
//!
//! Together the conditions cover every state of the item, so a round fails
//! only when another write changed the item between its steps; it then
//! starts again, a bounded number of times.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{backoff, DynamoUserStore, ATTEMPTS};
use crate::dynamo::error::{request_failed, DynamoError};
use crate::dynamo::item::{n, s, Item, Reader};
use crate::{SignInFailures, StoreError};

pub(super) async fn read(
    store: &DynamoUserStore,
    user_id: &str,
) -> Result<SignInFailures, StoreError> {
    match store.read_item(&failures_key(user_id)).await? {
        Some(item) => Ok(failures_from_item(&item)?),
        None => Ok(SignInFailures::default()),
    }
}

pub(super) async fn record(
    store: &DynamoUserStore,
    user_id: &str,
    now: i64,
    window_secs: i64,
) -> Result<SignInFailures, StoreError> {
    let key = failures_key(user_id);
    let cutoff = now.saturating_sub(window_secs.max(0));
    for attempt in 1..=ATTEMPTS {
        let counted = update(
            store,
            &key,
            "SET #c = #c + :one, last_at = :now",
            "last_at >= :cutoff AND last_at <= :now",
            &[(":one", n(1)), (":now", n(now)), (":cutoff", n(cutoff))],
        )
        .await?;
        if let Some(failures) = counted {
            return Ok(failures);
        }
        if start_again(store, &key, now, cutoff).await? {
            return Ok(SignInFailures {
                count: 1,
                last_at: Some(now),
            });
        }
        let counted = update(
            store,
            &key,
            "SET #c = #c + :one",
            "last_at > :now",
            &[(":one", n(1)), (":now", n(now))],
        )
        .await?;
        if let Some(failures) = counted {
            return Ok(failures);
        }
        backoff("record_sign_in_failure", attempt).await;
    }
    Err(DynamoError::Contended {
        operation: "UpdateItem/PutItem",
        table: store.table.clone(),
        attempts: ATTEMPTS,
    }
    .into())
}

pub(super) async fn clear(store: &DynamoUserStore, user_id: &str) -> Result<(), StoreError> {
    store.delete_unless_user(&failures_key(user_id)).await?;
    tracing::debug!(user_id, "sign-in failures cleared");
    Ok(())
}

/// One conditional UpdateItem of the failures item (`#c` is `count`, a
/// reserved word); `None` when its condition does not hold.
async fn update(
    store: &DynamoUserStore,
    key: &str,
    expression: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> Result<Option<SignInFailures>, StoreError> {
    let mut request = store
        .client
        .update_item()
        .table_name(&store.table)
        .key("user_id", s(key))
        .update_expression(expression)
        .condition_expression(condition)
        .expression_attribute_names("#c", "count")
        .return_values(ReturnValue::AllNew);
    for (name, value) in values {
        request = request.expression_attribute_values(*name, value.clone());
    }
    match request.send().await {
        Ok(out) => {
            let item = out.attributes().ok_or_else(|| DynamoError::BadItem {
                key: key.to_string(),
                attribute: "user_id",
                problem: "UpdateItem returned no attributes".into(),
            })?;
            Ok(Some(failures_from_item(item)?))
        }
        Err(err) => match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(None),
            _ => Err(request_failed("UpdateItem", &store.table, err)),
        },
    }
}

/// Stores a count of one at `now` if there is no failure yet or the latest
/// is before `cutoff`; `false` when there is a recent one.
async fn start_again(
    store: &DynamoUserStore,
    key: &str,
    now: i64,
    cutoff: i64,
) -> Result<bool, StoreError> {
    let result = store
        .client
        .put_item()
        .table_name(&store.table)
        .item("user_id", s(key))
        .item("count", n(1))
        .item("last_at", n(now))
        .condition_expression("attribute_not_exists(user_id) OR last_at < :cutoff")
        .expression_attribute_values(":cutoff", n(cutoff))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) => match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(request_failed("PutItem", &store.table, err)),
        },
    }
}

fn failures_from_item(item: &Item) -> Result<SignInFailures, DynamoError> {
    let r = Reader::new(item, "user_id");
    let count = r.integer("count")?;
    let count = u32::try_from(count)
        .map_err(|_| r.bad("count", format!("{count} is not a count of failures")))?;
    Ok(SignInFailures {
        count,
        last_at: Some(r.integer("last_at")?),
    })
}

fn failures_key(user_id: &str) -> String {
    format!("signin#{user_id}")
}
