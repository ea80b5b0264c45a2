//! Added API tokens: a guard item each, and a ref on the owner's user item.
//!
//! An added token's guard is `token#<token_sha256>`, the key space of the
//! legacy token's guard, so a hash is taken whichever kind holds it. Beside
//! `owner_user_id` it has the token's `token_id`, `name` and `created_at`.
//! The owner's user item lists its tokens in the String Set
//! `api_token_refs`, one `<token_id> <token_sha256>` a token (the hash is
//! hex, so the last space splits a ref): the table is keyed by `user_id`
//! alone, so without it a user's tokens could only be found by a Scan.
//! - [`add`] is one TransactWriteItems: the Put of the guard, conditioned on
//!   `attribute_not_exists(user_id)` (a taken hash is AlreadyExists), and
//!   `ADD api_token_refs` on the user item, conditioned on
//!   `attribute_exists(email)` (a missing user is NotFound, nothing stored).
//! - [`list`] reads the user item, then the guards of its refs with one
//!   consistent BatchGetItem.
//! - [`revoke`] finds the token's ref on the user item (none: `false`) and
//!   transacts `DELETE api_token_refs`, conditioned on the set still holding
//!   it, with the Delete of the guard, conditioned on the guard being the
//!   user's (or already gone). A concurrent change retries from a fresh read.
//!
//! Guard and ref change together, so a token works exactly while both exist;
//! `find_by_token` checks the ref after reading the guard (see [`holds`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::{backoff, contended, token_guard, Cancelled, DynamoUserStore, ATTEMPTS};
use crate::dynamo::error::{build_failed, DynamoError};
use crate::dynamo::item::{n, s, Item, Reader};
use crate::{ApiToken, StoreError};

/// The attribute of a user item that lists its added tokens.
const REFS: &str = "api_token_refs";

pub(super) async fn add(store: &DynamoUserStore, token: &ApiToken) -> Result<(), StoreError> {
    if token.token_sha256.contains(' ') {
        // Its ref could not be split again.
        return Err(DynamoError::BadValue {
            attribute: "token_sha256",
            problem: "a hex SHA-256 has no spaces".to_string(),
        }
        .into());
    }
    let guard = Item::from([
        ("user_id".to_string(), s(token_guard(&token.token_sha256))),
        ("owner_user_id".to_string(), s(&token.user_id)),
        ("token_id".to_string(), s(&token.token_id)),
        ("name".to_string(), s(&token.name)),
        ("created_at".to_string(), n(token.created_at)),
    ]);
    let update = Update::builder()
        .table_name(&store.table)
        .key("user_id", s(&token.user_id))
        .update_expression("ADD #refs :ref")
        .condition_expression("attribute_exists(email)")
        .expression_attribute_names("#refs", REFS)
        .expression_attribute_values(
            ":ref",
            AttributeValue::Ss(vec![token_ref(&token.token_id, &token.token_sha256)]),
        )
        .build()
        .map_err(|e| build_failed("TransactWriteItems", &store.table, e))?;
    let items = vec![
        store.put_new(guard)?,
        TransactWriteItem::builder().update(update).build(),
    ];
    for attempt in 1..=ATTEMPTS {
        match store.transact(items.clone()).await? {
            Ok(()) => {
                tracing::debug!(
                    user_id = token.user_id,
                    token_id = token.token_id,
                    "API token added"
                );
                return Ok(());
            }
            Err(Cancelled::Condition(0)) => {
                return Err(StoreError::AlreadyExists(
                    "API token with this hash".to_string(),
                ))
            }
            Err(Cancelled::Condition(_)) => {
                return Err(StoreError::NotFound(format!("user {}", token.user_id)))
            }
            Err(Cancelled::Conflict) => backoff("add_token", attempt).await,
        }
    }
    Err(contended(&store.table))
}

pub(super) async fn list(
    store: &DynamoUserStore,
    user_id: &str,
) -> Result<Vec<ApiToken>, StoreError> {
    let Some(item) = store.read_user_item(user_id).await? else {
        return Ok(Vec::new());
    };
    let refs = refs(&item)?;
    let keys: Vec<String> = refs.iter().map(|(_, sha)| token_guard(sha)).collect();
    let guards: HashMap<String, Item> =
        crate::dynamo::consistent_batch_get(&store.client, &store.table, "user_id", &keys)
            .await?
            .into_iter()
            .filter_map(|guard| match guard.get("user_id") {
                Some(AttributeValue::S(key)) => Some((key.clone(), guard)),
                _ => None,
            })
            .collect();
    let mut tokens = Vec::with_capacity(refs.len());
    for (token_id, sha) in refs {
        let key = token_guard(&sha);
        let Some(guard) = guards.get(&key) else {
            // Guard and ref are written together; a revoke may have
            // removed both since the user item was read.
            continue;
        };
        let r = Reader::new(guard, "user_id");
        if r.string("owner_user_id")? != user_id || r.string("token_id")? != token_id {
            tracing::warn!(user_id, token_id, "API token ref whose guard is another's");
            continue;
        }
        tokens.push(ApiToken {
            token_id,
            user_id: user_id.to_string(),
            name: r.string("name")?,
            token_sha256: sha,
            created_at: r.integer("created_at")?,
        });
    }
    tokens.sort_by(|a, b| {
        (a.created_at, a.token_id.as_str()).cmp(&(b.created_at, b.token_id.as_str()))
    });
    Ok(tokens)
}

pub(super) async fn revoke(
    store: &DynamoUserStore,
    user_id: &str,
    token_id: &str,
) -> Result<bool, StoreError> {
    for attempt in 1..=ATTEMPTS {
        let Some(item) = store.read_user_item(user_id).await? else {
            return Ok(false);
        };
        // Token ids are not promised unique: revoke every token of that id.
        let hashes: Vec<String> = refs(&item)?
            .into_iter()
            .filter(|(id, _)| id == token_id)
            .map(|(_, sha)| sha)
            .collect();
        if hashes.is_empty() {
            return Ok(false);
        }
        match store
            .transact(revoke_items(store, user_id, token_id, &hashes)?)
            .await?
        {
            Ok(()) => {
                tracing::debug!(user_id, token_id, "API token revoked");
                return Ok(true);
            }
            Err(Cancelled::Condition(0)) | Err(Cancelled::Conflict) => {
                // The refs changed since they were read: read them again.
                backoff("revoke_token", attempt).await
            }
            Err(Cancelled::Condition(_)) => {
                return Err(StoreError::ConditionFailed(format!(
                    "API token {token_id} of user {user_id}: its hash is reserved by another user"
                )))
            }
        }
    }
    Err(contended(&store.table))
}

/// The transaction revoking the user's tokens `token_id` with these hashes:
/// first the update of the refs, then the guards' deletes.
fn revoke_items(
    store: &DynamoUserStore,
    user_id: &str,
    token_id: &str,
    hashes: &[String],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let refs: Vec<String> = hashes.iter().map(|sha| token_ref(token_id, sha)).collect();
    let mut condition = String::from("attribute_exists(email)");
    let mut update = Update::builder()
        .table_name(&store.table)
        .key("user_id", s(user_id))
        .update_expression("DELETE #refs :refs")
        .expression_attribute_names("#refs", REFS)
        .expression_attribute_values(":refs", AttributeValue::Ss(refs.clone()));
    for (i, token_ref) in refs.into_iter().enumerate() {
        condition.push_str(&format!(" AND contains(#refs, :ref{i})"));
        update = update.expression_attribute_values(format!(":ref{i}"), s(token_ref));
    }
    let update = update
        .condition_expression(condition)
        .build()
        .map_err(|e| build_failed("TransactWriteItems", &store.table, e))?;
    let mut items = vec![TransactWriteItem::builder().update(update).build()];
    for sha in hashes {
        // A guard already gone (only a hand-edited table has that) must not
        // keep the ref alive.
        let delete = Delete::builder()
            .table_name(&store.table)
            .key("user_id", s(token_guard(sha)))
            .condition_expression("attribute_not_exists(user_id) OR owner_user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .build()
            .map_err(|e| build_failed("TransactWriteItems", &store.table, e))?;
        items.push(TransactWriteItem::builder().delete(delete).build());
    }
    Ok(items)
}

/// Whether the user item lists an added token with this hash: a guard read
/// just before may belong to a token revoked since.
pub(super) fn holds(user_item: &Item, token_sha256: &str) -> Result<bool, DynamoError> {
    Ok(refs(user_item)?.iter().any(|(_, sha)| sha == token_sha256))
}

/// The `(token_id, token_sha256)` of the user item's added tokens.
fn refs(user_item: &Item) -> Result<Vec<(String, String)>, DynamoError> {
    let r = Reader::new(user_item, "user_id");
    r.string_set(REFS)?
        .into_iter()
        .map(|token_ref| match token_ref.rsplit_once(' ') {
            Some((id, sha)) => Ok((id.to_string(), sha.to_string())),
            None => Err(r.bad(
                REFS,
                format!("{token_ref:?} is not \"<token_id> <sha256>\""),
            )),
        })
        .collect()
}

fn token_ref(token_id: &str, token_sha256: &str) -> String {
    format!("{token_id} {token_sha256}")
}
