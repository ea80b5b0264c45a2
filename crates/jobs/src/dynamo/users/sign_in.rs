//! Failed sign-ins as items `signin#<key>` of the users table, where `key`
//! is the caller's throttle key (the web app's: a hash of an email and a
//! client address), with `count` and `last_at` (the latest failure, epoch
//! seconds). A success deletes the item, so no item reads as zero failures.
//! Every write also sets `ttl` (the attribute the table's time to live
//! reads) to `last_at` plus the window: past it the record counts for
//! nothing, and DynamoDB deletes it in time, so records of ever new keys
//! do not pile up.
//!
//! [`record`] must count every failure even when several arrive at once (a
//! guesser tries passwords in parallel), so each is one conditional write,
//! and the three below are tried in turn until one's condition holds:
//! 1. the latest failure is within the window and not after `now`:
//!    UpdateItem `count + 1`, `last_at = now`, `ttl = now + window`;
//! 2. no failure yet, or the latest is out of the window: PutItem of a count
//!    of one (conditioned on exactly that, so a failure counted meanwhile is
//!    not overwritten);
//! 3. a later failure is recorded already (another server's clock runs
//!    ahead): UpdateItem `count + 1`, keeping that `last_at`, so `last_at`
//!    stays the latest failure (and `ttl = last_at + window`).
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
use crate::dynamo::provision::TTL_ATTRIBUTE;
use crate::{SignInFailures, StoreError};

pub(super) async fn read(store: &DynamoUserStore, key: &str) -> Result<SignInFailures, StoreError> {
    match store.read_item(&failures_key(key)).await? {
        Some(item) => Ok(failures_from_item(&item)?),
        None => Ok(SignInFailures::default()),
    }
}

pub(super) async fn record(
    store: &DynamoUserStore,
    key: &str,
    now: i64,
    window_secs: i64,
) -> Result<SignInFailures, StoreError> {
    let key = failures_key(key);
    let window = window_secs.max(0);
    let cutoff = now.saturating_sub(window);
    let expires = now.saturating_add(window);
    for attempt in 1..=ATTEMPTS {
        let counted = update(
            store,
            &key,
            "SET #c = #c + :one, last_at = :now, #ttl = :expires",
            "last_at >= :cutoff AND last_at <= :now",
            &[
                (":one", n(1)),
                (":now", n(now)),
                (":cutoff", n(cutoff)),
                (":expires", n(expires)),
            ],
        )
        .await?;
        if let Some(failures) = counted {
            return Ok(failures);
        }
        if start_again(store, &key, now, cutoff, expires).await? {
            return Ok(SignInFailures {
                count: 1,
                last_at: Some(now),
            });
        }
        let counted = update(
            store,
            &key,
            "SET #c = #c + :one, #ttl = last_at + :window",
            "last_at > :now",
            &[(":one", n(1)), (":now", n(now)), (":window", n(window))],
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

pub(super) async fn clear(store: &DynamoUserStore, key: &str) -> Result<(), StoreError> {
    store.delete_unless_user(&failures_key(key)).await?;
    tracing::debug!("sign-in failures cleared");
    Ok(())
}

/// One conditional UpdateItem of the failures item (`#c` is `count` and
/// `#ttl` the time to live attribute, both reserved words); `None` when
/// its condition does not hold.
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
        .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
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

/// Stores a count of one at `now`, to expire at `expires`, if there is no
/// failure yet or the latest is before `cutoff`; `false` when there is a
/// recent one.
async fn start_again(
    store: &DynamoUserStore,
    key: &str,
    now: i64,
    cutoff: i64,
    expires: i64,
) -> Result<bool, StoreError> {
    let result = store
        .client
        .put_item()
        .table_name(&store.table)
        .item("user_id", s(key))
        .item("count", n(1))
        .item("last_at", n(now))
        .item(TTL_ATTRIBUTE, n(expires))
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

fn failures_key(key: &str) -> String {
    format!("signin#{key}")
}

/// Against the emulator named by `GAS_TEST_AWS_ENDPOINT` (skipped without,
/// unless `GAS_REQUIRE_AWS_TESTS=1`): the layout the conformance suite
/// cannot see, the time to live of each record.
#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::Client;

    use super::*;
    use crate::dynamo::provision;
    use crate::UserStore;

    async fn ttl_of(client: &Client, table: &str, key: &str) -> (i64, i64) {
        let item = client
            .get_item()
            .table_name(table)
            .key("user_id", s(failures_key(key)))
            .consistent_read(true)
            .send()
            .await
            .expect("get")
            .item
            .expect("the failures item");
        let r = Reader::new(&item, "user_id");
        (
            r.integer("last_at").expect("last_at"),
            r.integer(TTL_ATTRIBUTE).expect("ttl"),
        )
    }

    #[tokio::test]
    async fn every_failure_record_expires_a_window_after_its_last_failure() {
        let Some(endpoint) = gas_testkit::aws_endpoint("sign-in failure expiry") else {
            return;
        };
        let client = Client::new(&gas_testkit::sdk_config(&endpoint).await);
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let (jobs, users) = (
            format!("gas-ttl-jobs-{suffix}"),
            format!("gas-ttl-users-{suffix}"),
        );
        provision(&client, &jobs, &users).await.expect("provision");
        let store = DynamoUserStore::new(client.clone(), users.clone());
        let t0 = 1_700_000_000;
        // A new record (PutItem), a further failure (UpdateItem), a restart
        // after the window (PutItem over the stale one).
        for (at, last_at) in [(t0, t0), (t0 + 10, t0 + 10), (t0 + 200, t0 + 200)] {
            store
                .record_sign_in_failure("k", at, 60)
                .await
                .expect("record");
            assert_eq!(ttl_of(&client, &users, "k").await, (last_at, last_at + 60));
        }
        // A failure stamped earlier than the latest (a clock behind): the
        // latest still decides when the record goes.
        let failures = store
            .record_sign_in_failure("k", t0 + 190, 60)
            .await
            .expect("record");
        assert_eq!((failures.count, failures.last_at), (2, Some(t0 + 200)));
        assert_eq!(ttl_of(&client, &users, "k").await, (t0 + 200, t0 + 260));
    }
}
