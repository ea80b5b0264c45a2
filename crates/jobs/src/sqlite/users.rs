//! [`SqliteUserStore`]: user profiles as rows of the `users` table.
//!
//! Emails are unique regardless of case: the table keeps a lowercased
//! `email_key` with a UNIQUE index beside the email as entered, and lookups
//! go through the key.

use std::path::Path;

use gas_sqlite::rusqlite::{self, OptionalExtension, Row};
use gas_sqlite::Sqlite;

use crate::{Role, StoreError, User};

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
            db: super::db::open_db(path)?,
        })
    }

    /// A private in-memory store, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            db: super::db::open_db_in_memory()?,
        })
    }

    /// Uses an already open connection, creating the tables if needed.
    pub async fn from_sqlite(db: Sqlite) -> Result<Self, StoreError> {
        super::db::ensure_schema(&db).await?;
        Ok(Self { db })
    }

    /// The underlying connection, to share it with another store.
    pub fn sqlite(&self) -> &Sqlite {
        &self.db
    }

    pub(super) async fn find_by(
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
    pub(super) async fn update(
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

    /// Inserts a new user; a taken email (or legacy token) is
    /// [`StoreError::AlreadyExists`].
    pub(super) async fn insert(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.db
            .call(move |conn| {
                if let Some(token) = &user.api_token_sha256 {
                    if added_token_taken(conn, token).map_err(StoreError::backend)? {
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

    /// Sets the user's legacy single token, unless an added token has its
    /// hash.
    pub(super) async fn set_legacy_token(
        &self,
        user_id: &str,
        api_token_sha256: &str,
    ) -> Result<User, StoreError> {
        let hash = api_token_sha256.to_string();
        let taken = self
            .sqlite()
            .call(move |conn| added_token_taken(conn, &hash))
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
}

/// The form of an email that uniqueness and lookups compare.
pub(super) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Maps a UNIQUE violation to [`StoreError::AlreadyExists`] naming what was
/// taken; anything else is a backend failure.
fn conflict_or_backend(e: rusqlite::Error, user_id: &str, value: &str) -> StoreError {
    match super::db::unique_violation(&e) {
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

/// Whether an added token has this hash (for the legacy token's writes).
pub(super) fn added_token_taken(
    conn: &rusqlite::Connection,
    token_sha256: &str,
) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM api_tokens WHERE token_sha256 = ?1")
        .and_then(|mut stmt| stmt.exists([token_sha256]))
}
