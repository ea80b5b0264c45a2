//! [`DynamoUserStore`]: user profiles as items of the users table.
//!
//! How the [`UserStore`] contract maps onto DynamoDB. The table is keyed by
//! `user_id` alone, and a GSI cannot enforce uniqueness, so the table also
//! holds *guard items* that reserve what must be unique:
//! - `email#<email_key>` for every user (`email_key` is the email trimmed
//!   and lowercased, as the SQLite adapter compares it);
//! - `token#<api_token_sha256>` for every API token: a user's legacy one
//!   (the user item's `api_token_sha256`) and every added one alike, which is
//!   what makes both kinds share one space of hashes ([`tokens`]).
//!
//! A guard item has `user_id` (its key) and `owner_user_id`. Beside them,
//! under keys prefixed the same way:
//! - `session#<session_sha256>`: a browser session ([`sessions`]);
//! - `signin#<key>`: failed sign-ins under a caller's throttle key ([`sign_in`]);
//! - `event#<event_id>`: a payment provider event already handled ([`events`]).
//!
//! Only a user item has `email`, and that is how reads tell users apart
//! from every other item. The profile itself:
//! - `create` is one TransactWriteItems of the user item and its guards,
//!   each conditioned on `attribute_not_exists(user_id)`: all are written or
//!   none, and a taken id, email or token cancels the transaction with the
//!   failing item's reason, which becomes AlreadyExists naming what was taken.
//! - `find_by_email` / `find_by_token` read the guard, then its owner, both
//!   with `ConsistentRead`, and check that the owner still has that email or
//!   token (a concurrent `set_token` or `revoke_token` may have just removed
//!   it): as its `api_token_sha256` or among its added tokens' refs.
//! - `set_token` is one TransactWriteItems: update the user conditioned on
//!   its current token (optimistic concurrency: a concurrent change retries
//!   from a fresh read), put the new token's guard conditioned on
//!   `attribute_not_exists(user_id)`, delete the old token's guard.
//! - `set_role` / `set_password_hash` are one UpdateItem each, conditioned on
//!   `attribute_exists(email)` (a user item), with `ReturnValues = ALL_NEW`.

mod events;
mod identities;
mod sessions;
mod sign_in;
mod tokens;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use super::error::{build_failed, request_failed, DynamoError};
use super::item::{s, user_from_item, user_to_item, Item, Reader};
use crate::{ApiToken, IdentityLink, Role, Session, SignInFailures, StoreError, User, UserStore};

/// How often a transaction is tried when concurrent writes get in its way.
const ATTEMPTS: u32 = 6;

/// The [`UserStore`] on a DynamoDB table keyed by `user_id` (S), shared by
/// user items and their guard items; [`super::provision`] creates it.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoUserStore {
    client: Client,
    table: String,
}

/// Why a transaction was cancelled, per item of the request.
enum Cancelled {
    /// The condition of the item at this index did not hold.
    Condition(usize),
    /// Another transaction or write touched the same items.
    Conflict,
}

impl DynamoUserStore {
    /// A store on `table`, which must exist (see [`super::provision`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A consistent read of the item under `key`.
    async fn read_item(&self, key: &str) -> Result<Option<Item>, StoreError> {
        super::consistent_get(&self.client, &self.table, "user_id", key).await
    }

    /// The user item under `user_id`; guard items are not users.
    async fn read_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        match self.read_item(user_id).await? {
            Some(item) if item.contains_key("email") => Ok(Some(user_from_item(&item)?)),
            _ => Ok(None),
        }
    }

    /// The user item under `user_id` as stored, when it is one.
    async fn read_user_item(&self, user_id: &str) -> Result<Option<Item>, StoreError> {
        Ok(self
            .read_item(user_id)
            .await?
            .filter(|item| item.contains_key("email")))
    }

    /// The owner of the guard item under `guard`, read consistently, as
    /// stored.
    async fn read_guard_owner(&self, guard: &str) -> Result<Option<Item>, StoreError> {
        let Some(item) = self.read_item(guard).await? else {
            return Ok(None);
        };
        let owner = Reader::new(&item, "user_id").string("owner_user_id")?;
        self.read_user_item(&owner).await
    }

    /// Deletes the item under `key` unless it is a user item, which a
    /// session or failure count can never be (a user id that happens to
    /// look like their keys stays safe); nothing there is fine.
    async fn delete_unless_user(&self, key: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("user_id", s(key))
            .condition_expression("attribute_not_exists(email)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(request_failed("DeleteItem", &self.table, err)),
            },
        }
    }

    /// Runs one TransactWriteItems; a cancellation is returned as its reason.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Ok(())),
            Err(err) => err,
        };
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                let reasons = e.cancellation_reasons();
                if let Some(i) = reasons
                    .iter()
                    .position(|r| r.code() == Some("ConditionalCheckFailed"))
                {
                    return Ok(Err(Cancelled::Condition(i)));
                }
                if reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"))
                {
                    return Ok(Err(Cancelled::Conflict));
                }
                Err(request_failed("TransactWriteItems", &self.table, err))
            }
            _ => Err(request_failed("TransactWriteItems", &self.table, err)),
        }
    }

    /// A Put of `item` that holds only where nothing is stored yet.
    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(user_id)")
            .build()
            .map_err(|e| build_failed("TransactWriteItems", &self.table, e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction item that holds only while `user_id` is a user.
    fn check_user(&self, user_id: &str) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("user_id", s(user_id))
            .condition_expression("attribute_exists(email)")
            .build()
            .map_err(|e| build_failed("TransactWriteItems", &self.table, e))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Sets one attribute of an existing user with a conditional UpdateItem.
    async fn update(
        &self,
        user_id: &str,
        attribute: &'static str,
        value: AttributeValue,
    ) -> Result<User, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("user_id", s(user_id))
            .update_expression("SET #a = :v")
            .condition_expression("attribute_exists(email)")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", value)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| DynamoError::BadItem {
                    key: user_id.to_string(),
                    attribute: "user_id",
                    problem: "UpdateItem returned no attributes".into(),
                })?;
                tracing::debug!(user_id, attribute, "user updated");
                Ok(user_from_item(item)?)
            }
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::NotFound(format!("user {user_id}")))
                }
                _ => Err(request_failed("UpdateItem", &self.table, err)),
            },
        }
    }

    /// One attempt at replacing `user`'s token with `new`.
    async fn try_set_token(
        &self,
        user: &User,
        new: &str,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("user_id", s(&user.user_id))
            .update_expression("SET api_token_sha256 = :new")
            .expression_attribute_values(":new", s(new));
        update = match &user.api_token_sha256 {
            Some(old) => update
                .condition_expression("attribute_exists(email) AND api_token_sha256 = :old")
                .expression_attribute_values(":old", s(old)),
            None => update.condition_expression(
                "attribute_exists(email) AND attribute_not_exists(api_token_sha256)",
            ),
        };
        let update = update
            .build()
            .map_err(|e| build_failed("TransactWriteItems", &self.table, e))?;
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.put_new(guard_item(&token_guard(new), &user.user_id))?,
        ];
        if let Some(old) = &user.api_token_sha256 {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("user_id", s(token_guard(old)))
                .build()
                .map_err(|e| build_failed("TransactWriteItems", &self.table, e))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.transact(items).await
    }
}

#[async_trait]
impl UserStore for DynamoUserStore {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let key = email_key(&user.email);
        let mut items = vec![
            self.put_new(user_to_item(user, &key))?,
            self.put_new(guard_item(&email_guard(&key), &user.user_id))?,
        ];
        if let Some(token) = &user.api_token_sha256 {
            items.push(self.put_new(guard_item(&token_guard(token), &user.user_id))?);
        }
        for attempt in 1..=ATTEMPTS {
            match self.transact(items.clone()).await? {
                Ok(()) => {
                    tracing::debug!(user_id = user.user_id, "user created");
                    return Ok(());
                }
                Err(Cancelled::Condition(0)) => {
                    return Err(StoreError::AlreadyExists(format!("user {}", user.user_id)))
                }
                Err(Cancelled::Condition(1)) => {
                    return Err(StoreError::AlreadyExists(format!(
                        "user with email {}",
                        user.email
                    )))
                }
                Err(Cancelled::Condition(_)) => {
                    return Err(StoreError::AlreadyExists(
                        "user with this API token".to_string(),
                    ))
                }
                Err(Cancelled::Conflict) => backoff("create user", attempt).await,
            }
        }
        Err(contended(&self.table))
    }

    async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.read_user(user_id).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let key = email_key(email);
        let Some(item) = self.read_guard_owner(&email_guard(&key)).await? else {
            return Ok(None);
        };
        let user = user_from_item(&item)?;
        Ok((email_key(&user.email) == key).then_some(user))
    }

    async fn find_by_token(&self, api_token_sha256: &str) -> Result<Option<User>, StoreError> {
        let Some(item) = self
            .read_guard_owner(&token_guard(api_token_sha256))
            .await?
        else {
            return Ok(None);
        };
        let user = user_from_item(&item)?;
        let holds = user.api_token_sha256.as_deref() == Some(api_token_sha256)
            || tokens::holds(&item, api_token_sha256)?;
        Ok(holds.then_some(user))
    }

    async fn set_role(&self, user_id: &str, role: Role) -> Result<User, StoreError> {
        self.update(user_id, "role", s(role.as_str())).await
    }

    async fn set_token(&self, user_id: &str, api_token_sha256: &str) -> Result<User, StoreError> {
        for attempt in 1..=ATTEMPTS {
            let Some(user) = self.read_user(user_id).await? else {
                return Err(StoreError::NotFound(format!("user {user_id}")));
            };
            if user.api_token_sha256.as_deref() == Some(api_token_sha256) {
                return Ok(user);
            }
            match self.try_set_token(&user, api_token_sha256).await? {
                Ok(()) => {
                    tracing::debug!(user_id, "API token replaced");
                    // The transaction cannot return the item; read it back.
                    return self
                        .read_user(user_id)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")));
                }
                Err(Cancelled::Condition(1)) => {
                    return Err(StoreError::AlreadyExists(
                        "user with this API token".to_string(),
                    ))
                }
                // The user changed (or vanished) since it was read: read again.
                Err(Cancelled::Condition(_)) | Err(Cancelled::Conflict) => {
                    backoff("set_token", attempt).await
                }
            }
        }
        Err(contended(&self.table))
    }

    async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        self.update(user_id, "password_hash", s(password_hash))
            .await
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        sessions::create(self, session).await
    }

    async fn find_session(
        &self,
        session_sha256: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        sessions::find(self, session_sha256, now).await
    }

    async fn delete_session(&self, session_sha256: &str) -> Result<(), StoreError> {
        sessions::delete(self, session_sha256).await
    }

    async fn add_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        tokens::add(self, token).await
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>, StoreError> {
        tokens::list(self, user_id).await
    }

    async fn revoke_token(&self, user_id: &str, token_id: &str) -> Result<bool, StoreError> {
        tokens::revoke(self, user_id, token_id).await
    }

    async fn sign_in_failures(&self, user_id: &str) -> Result<SignInFailures, StoreError> {
        sign_in::read(self, user_id).await
    }

    async fn record_sign_in_failure(
        &self,
        user_id: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<SignInFailures, StoreError> {
        sign_in::record(self, user_id, now, window_secs).await
    }

    async fn clear_sign_in_failures(&self, user_id: &str) -> Result<(), StoreError> {
        sign_in::clear(self, user_id).await
    }

    async fn link_identity(&self, link: &IdentityLink) -> Result<(), StoreError> {
        identities::link(self, link).await
    }

    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        identities::find(self, issuer, subject).await
    }

    // --- payment provider events (in events.rs) ---

    async fn event_recorded(&self, event_id: &str) -> Result<bool, StoreError> {
        events::recorded(self, event_id).await
    }

    async fn record_event(&self, event_id: &str, now: i64) -> Result<bool, StoreError> {
        events::record(self, event_id, now).await
    }
}

/// The form of an email that uniqueness and lookups compare (as the SQLite
/// adapter's).
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn email_guard(email_key: &str) -> String {
    format!("email#{email_key}")
}

fn token_guard(api_token_sha256: &str) -> String {
    format!("token#{api_token_sha256}")
}

/// A guard item reserving `key` for `owner`.
fn guard_item(key: &str, owner: &str) -> Item {
    Item::from([
        ("user_id".to_string(), s(key)),
        ("owner_user_id".to_string(), s(owner)),
    ])
}

/// Waits a little before the next attempt of a contended transaction.
async fn backoff(operation: &'static str, attempt: u32) {
    tracing::debug!(operation, attempt, "transaction contended; retrying");
    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
}

fn contended(table: &str) -> StoreError {
    DynamoError::Contended {
        operation: "TransactWriteItems",
        table: table.to_string(),
        attempts: ATTEMPTS,
    }
    .into()
}
