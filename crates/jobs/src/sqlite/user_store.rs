//! The [`UserStore`] of [`SqliteUserStore`]: each operation delegates to
//! the module that owns its tables (`users`, `auth`, `events`), so those
//! never need each other's trait.

use async_trait::async_trait;

use super::users::{email_key, SqliteUserStore};
use crate::{ApiToken, IdentityLink, Role, Session, SignInFailures, StoreError, User, UserStore};

#[async_trait]
impl UserStore for SqliteUserStore {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        self.insert(user).await
    }

    async fn get(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.find_by("user_id", user_id.to_string()).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.find_by("email_key", email_key(email)).await
    }

    async fn find_by_token(&self, api_token_sha256: &str) -> Result<Option<User>, StoreError> {
        match self
            .find_by("api_token_sha256", api_token_sha256.to_string())
            .await?
        {
            Some(user) => Ok(Some(user)),
            None => self.added_token_user(api_token_sha256).await,
        }
    }

    async fn set_role(&self, user_id: &str, role: Role) -> Result<User, StoreError> {
        self.update(user_id, "role", role.as_str().to_string())
            .await
    }

    async fn set_token(&self, user_id: &str, api_token_sha256: &str) -> Result<User, StoreError> {
        self.set_legacy_token(user_id, api_token_sha256).await
    }

    async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        self.update(user_id, "password_hash", password_hash.to_string())
            .await
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.insert_session(session).await
    }

    async fn find_session(
        &self,
        session_sha256: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        self.session_user(session_sha256, now).await
    }

    async fn delete_session(&self, session_sha256: &str) -> Result<(), StoreError> {
        self.remove_session(session_sha256).await
    }

    async fn add_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        self.insert_token(token).await
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>, StoreError> {
        self.tokens_of(user_id).await
    }

    async fn revoke_token(&self, user_id: &str, token_id: &str) -> Result<bool, StoreError> {
        self.delete_token(user_id, token_id).await
    }

    async fn sign_in_failures(&self, user_id: &str) -> Result<SignInFailures, StoreError> {
        self.failures_of(user_id).await
    }

    async fn record_sign_in_failure(
        &self,
        user_id: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<SignInFailures, StoreError> {
        self.count_failure(user_id, now, window_secs).await
    }

    async fn clear_sign_in_failures(&self, user_id: &str) -> Result<(), StoreError> {
        self.forget_failures(user_id).await
    }

    async fn link_identity(&self, link: &IdentityLink) -> Result<(), StoreError> {
        self.insert_identity(link).await
    }

    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        self.identity_user(issuer, subject).await
    }

    // --- payment provider events (in events.rs) ---

    async fn event_recorded(&self, event_id: &str) -> Result<bool, StoreError> {
        self.event_exists(event_id).await
    }

    async fn record_event(&self, event_id: &str, now: i64) -> Result<bool, StoreError> {
        self.insert_event(event_id, now).await
    }
}
