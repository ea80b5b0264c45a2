//! [`SqliteUserStore`]: user profiles as rows of the `users` table.
//!
//! Emails are unique regardless of case: the table keeps a lowercased
//! `email_key` with a UNIQUE index beside the email as entered, and lookups
//! go through the key.

use std::path::Path;

use async_trait::async_trait;
use gas_sqlite::rusqlite::{self, OptionalExtension, Row};
use gas_sqlite::Sqlite;

use crate::{ApiToken, IdentityLink, Role, Session, SignInFailures, StoreError, User, UserStore};

pub(super) const COLUMNS: &str =
    "user_id, email, role, created_at, password_hash, api_token_sha256";

/// The embedded [`UserStore`]. Cheap to clone; may share its database file
/// (and connection) with a [`super::SqliteJobStore`].
#[derive(Debug, Clone)]
pub struct SqliteUserStore {
    db: Sqlite,
}

impl SqliteUserStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: super::open_db(path)?,
        })
    }

    /// A private in-memory store, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            db: super::open_db_in_memory()?,
        })
    }

    /// Uses an already open connection, creating the tables if needed.
    pub async fn from_sqlite(db: Sqlite) -> Result<Self, StoreError> {
        super::ensure_schema(&db).await?;
        Ok(Self { db })
    }

    /// The underlying connection, to share it with another store.
    pub fn sqlite(&self) -> &Sqlite {
        &self.db
    }

    async fn find_by(
        &self,
        column: &'static str,
        value: String,
    ) -> Result<Option<User>, StoreError> {
        self.db
            .call(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM users WHERE {column} = ?1");
                conn.prepare_cached(&sql)?
                    .query_row([value], user_from_row)
                    .optional()
            })
            .await
            .map_err(StoreError::backend)
    }

    /// Sets one column of an existing user and returns the user after it.
    async fn update(
        &self,
        user_id: &str,
        column: &'static str,
        value: String,
    ) -> Result<User, StoreError> {
        let user_id = user_id.to_string();
        self.db
            .call(move |conn| {
                let sql = format!(
                    "UPDATE users SET {column} = ?2 WHERE user_id = ?1 RETURNING {COLUMNS}"
                );
                let updated = conn.prepare_cached(&sql).and_then(|mut stmt| {
                    stmt.query_row([&user_id, &value], user_from_row).optional()
                });
                match updated {
                    Ok(Some(user)) => Ok(user),
                    Ok(None) => Err(StoreError::NotFound(format!("user {user_id}"))),
                    Err(e) => Err(conflict_or_backend(e, &user_id, &value)),
                }
            })
            .await
    }
}

#[async_trait]
impl UserStore for SqliteUserStore {
    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.db
            .call(move |conn| {
                if let Some(token) = &user.api_token_sha256 {
                    if super::auth::added_token_taken(conn, token).map_err(StoreError::backend)? {
                        return Err(StoreError::AlreadyExists(
                            "user with this API token".to_string(),
                        ));
                    }
                }
                let inserted = conn.execute(
                    "INSERT INTO users (user_id, email, email_key, role, created_at, \
                     password_hash, api_token_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![
                        user.user_id,
                        user.email,
                        email_key(&user.email),
                        user.role.as_str(),
                        user.created_at,
                        user.password_hash,
                        user.api_token_sha256,
                    ],
                );
                match inserted {
                    Ok(_) => Ok(()),
                    Err(e) => Err(conflict_or_backend(e, &user.user_id, &user.email)),
                }
            })
            .await
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
        let hash = api_token_sha256.to_string();
        let taken = self
            .sqlite()
            .call(move |conn| super::auth::added_token_taken(conn, &hash))
            .await
            .map_err(StoreError::backend)?;
        if taken {
            return Err(StoreError::AlreadyExists(
                "user with this API token".to_string(),
            ));
        }
        self.update(user_id, "api_token_sha256", api_token_sha256.to_string())
            .await
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

/// The form of an email that uniqueness and lookups compare.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Maps a UNIQUE violation to [`StoreError::AlreadyExists`] naming what was
/// taken; anything else is a backend failure.
fn conflict_or_backend(e: rusqlite::Error, user_id: &str, value: &str) -> StoreError {
    match super::unique_violation(&e) {
        Some(column) if column.ends_with("email_key") => {
            StoreError::AlreadyExists(format!("user with email {value}"))
        }
        Some(column) if column.ends_with("api_token_sha256") => {
            StoreError::AlreadyExists("user with this API token".to_string())
        }
        Some(_) => StoreError::AlreadyExists(format!("user {user_id}")),
        None => StoreError::backend(e),
    }
}

pub(super) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(2)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })?;
    Ok(User {
        user_id: row.get(0)?,
        email: row.get(1)?,
        role,
        created_at: row.get(3)?,
        password_hash: row.get(4)?,
        api_token_sha256: row.get(5)?,
    })
}
