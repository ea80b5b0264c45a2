//! Browser sessions as items `session#<session_sha256>` of the users table.
//!
//! A session item has `owner_user_id`, `created_at` and `expires_at`, and the
//! expiry once more under `ttl`: the attribute the table's time to live
//! reads (`provision` turns it on), so DynamoDB deletes
//! sessions that ran out by itself. It does so within days, not at once,
//! which is why [`find`] compares `expires_at` itself.
//! - [`create`] is one TransactWriteItems: the Put of the session,
//!   conditioned on `attribute_not_exists(user_id)` (a taken hash is
//!   AlreadyExists), and a ConditionCheck that the owner is a user item (a
//!   missing user is NotFound, and nothing is stored).
//! - [`find`] reads the session, then its owner, both with `ConsistentRead`:
//!   a session deleted or a role changed through one process shows in every
//!   other at once.
//! - [`delete`] is one DeleteItem.

use super::{backoff, contended, Cancelled, DynamoUserStore, ATTEMPTS};
use crate::dynamo::item::{n, s, Item, Reader};
use crate::dynamo::provision::TTL_ATTRIBUTE;
use crate::{Session, StoreError, User};

pub(super) async fn create(store: &DynamoUserStore, session: &Session) -> Result<(), StoreError> {
    let item = Item::from([
        (
            "user_id".to_string(),
            s(session_key(&session.session_sha256)),
        ),
        ("owner_user_id".to_string(), s(&session.user_id)),
        ("created_at".to_string(), n(session.created_at)),
        ("expires_at".to_string(), n(session.expires_at)),
        (TTL_ATTRIBUTE.to_string(), n(session.expires_at)),
    ]);
    let items = vec![store.put_new(item)?, store.check_user(&session.user_id)?];
    for attempt in 1..=ATTEMPTS {
        match store.transact(items.clone()).await? {
            Ok(()) => {
                tracing::debug!(user_id = session.user_id, "session created");
                return Ok(());
            }
            Err(Cancelled::Condition(0)) => {
                return Err(StoreError::AlreadyExists(
                    "session with this hash".to_string(),
                ))
            }
            Err(Cancelled::Condition(_)) => {
                return Err(StoreError::NotFound(format!("user {}", session.user_id)))
            }
            Err(Cancelled::Conflict) => backoff("create_session", attempt).await,
        }
    }
    Err(contended(&store.table))
}

pub(super) async fn find(
    store: &DynamoUserStore,
    session_sha256: &str,
    now: i64,
) -> Result<Option<User>, StoreError> {
    let Some(item) = store.read_item(&session_key(session_sha256)).await? else {
        return Ok(None);
    };
    let r = Reader::new(&item, "user_id");
    if now >= r.integer("expires_at")? {
        return Ok(None);
    }
    store.read_user(&r.string("owner_user_id")?).await
}

pub(super) async fn delete(
    store: &DynamoUserStore,
    session_sha256: &str,
) -> Result<(), StoreError> {
    store
        .delete_unless_user(&session_key(session_sha256))
        .await?;
    tracing::debug!("session deleted");
    Ok(())
}

fn session_key(session_sha256: &str) -> String {
    format!("session#{session_sha256}")
}
