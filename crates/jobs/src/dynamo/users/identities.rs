//! OpenID Connect identities as guard items of the users table: the item
//! `identity#<length of issuer>:<issuer><subject>` (the length keeps any
//! two pairs apart, whatever characters they hold) with `owner_user_id`,
//! `issuer`, `subject` and `created_at`.
//! - [`link`] is one TransactWriteItems: the Put of the identity,
//!   conditioned on `attribute_not_exists(user_id)` (a linked identity is
//!   AlreadyExists), and a ConditionCheck that the owner is a user item.
//! - [`find`] reads the identity, then its owner, both consistently.

use super::{backoff, contended, Cancelled, DynamoUserStore, ATTEMPTS};
use crate::dynamo::item::{n, s, Item, Reader};
use crate::{IdentityLink, StoreError, User};

pub(super) async fn link(store: &DynamoUserStore, link: &IdentityLink) -> Result<(), StoreError> {
    let item = Item::from([
        (
            "user_id".to_string(),
            s(identity_key(&link.issuer, &link.subject)),
        ),
        ("owner_user_id".to_string(), s(&link.user_id)),
        ("issuer".to_string(), s(&link.issuer)),
        ("subject".to_string(), s(&link.subject)),
        ("created_at".to_string(), n(link.created_at)),
    ]);
    let items = vec![store.put_new(item)?, store.check_user(&link.user_id)?];
    for attempt in 1..=ATTEMPTS {
        match store.transact(items.clone()).await? {
            Ok(()) => return Ok(()),
            Err(Cancelled::Condition(0)) => {
                return Err(StoreError::AlreadyExists(format!(
                    "identity at {}",
                    link.issuer
                )))
            }
            Err(Cancelled::Condition(_)) => {
                return Err(StoreError::NotFound(format!("user {}", link.user_id)))
            }
            Err(Cancelled::Conflict) => backoff("link_identity", attempt).await,
        }
    }
    Err(contended(&store.table))
}

pub(super) async fn find(
    store: &DynamoUserStore,
    issuer: &str,
    subject: &str,
) -> Result<Option<User>, StoreError> {
    let Some(item) = store.read_item(&identity_key(issuer, subject)).await? else {
        return Ok(None);
    };
    let owner = Reader::new(&item, "user_id").string("owner_user_id")?;
    store.read_user(&owner).await
}

fn identity_key(issuer: &str, subject: &str) -> String {
    format!("identity#{}:{issuer}{subject}", issuer.len())
}

#[cfg(test)]
mod tests {
    use super::identity_key;

    #[test]
    fn keys_keep_pairs_apart() {
        assert_ne!(identity_key("a#", "b"), identity_key("a", "#b"));
        assert_eq!(identity_key("https://i", "s"), "identity#9:https://is");
    }
}
