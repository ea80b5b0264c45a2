//! What signing in needs of [`SqliteUserStore`]: sessions, added API tokens
//! and failed sign-in counts (by the caller's throttle key), each in a
//! table of its own beside `users`.

use gas_sqlite::rusqlite::{self, OptionalExtension, TransactionBehavior};

use super::users::{user_from_row, SqliteUserStore, COLUMNS};
use crate::{ApiToken, IdentityLink, Session, SignInFailures, StoreError, User};

impl SqliteUserStore {
    pub(super) async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.sqlite()
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::backend)?;
                if !user_exists(&tx, &session.user_id)? {
                    return Err(StoreError::NotFound(format!("user {}", session.user_id)));
                }
                let inserted = tx.execute(
                    "INSERT INTO sessions (session_sha256, user_id, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![
                        session.session_sha256,
                        session.user_id,
                        session.created_at,
                        session.expires_at
                    ],
                );
                // Nothing else reaps sessions here: each new one clears those
                // that ended more than a day before it began.
                let reaped = tx.execute(
                    "DELETE FROM sessions WHERE expires_at < ?1",
                    [session.created_at - 86_400],
                );
                match inserted.and(reaped) {
                    Ok(_) => tx.commit().map_err(StoreError::backend),
                    Err(e) if super::db::unique_violation(&e).is_some() => {
                        Err(StoreError::AlreadyExists("session".into()))
                    }
                    Err(e) => Err(StoreError::backend(e)),
                }
            })
            .await
    }

    pub(super) async fn session_user(
        &self,
        session_sha256: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        let hash = session_sha256.to_string();
        self.sqlite()
            .call(move |conn| {
                let sql = format!(
                    "SELECT {} FROM users JOIN sessions USING (user_id) \
                     WHERE sessions.session_sha256 = ?1 AND sessions.expires_at > ?2",
                    qualified_columns()
                );
                conn.prepare_cached(&sql)?
                    .query_row(rusqlite::params![hash, now], user_from_row)
                    .optional()
            })
            .await
            .map_err(StoreError::backend)
    }

    pub(super) async fn remove_session(&self, session_sha256: &str) -> Result<(), StoreError> {
        let hash = session_sha256.to_string();
        self.sqlite()
            .call(move |conn| {
                conn.execute("DELETE FROM sessions WHERE session_sha256 = ?1", [hash])
            })
            .await
            .map(|_| ())
            .map_err(StoreError::backend)
    }

    pub(super) async fn insert_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.sqlite()
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::backend)?;
                if !user_exists(&tx, &token.user_id)? {
                    return Err(StoreError::NotFound(format!("user {}", token.user_id)));
                }
                if legacy_token_taken(&tx, &token.token_sha256)? {
                    return Err(StoreError::AlreadyExists("user with this API token".into()));
                }
                let inserted = tx.execute(
                    "INSERT INTO api_tokens (token_sha256, token_id, user_id, name, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![
                        token.token_sha256,
                        token.token_id,
                        token.user_id,
                        token.name,
                        token.created_at
                    ],
                );
                match inserted {
                    Ok(_) => tx.commit().map_err(StoreError::backend),
                    Err(e) if super::db::unique_violation(&e).is_some() => {
                        Err(StoreError::AlreadyExists("API token".into()))
                    }
                    Err(e) => Err(StoreError::backend(e)),
                }
            })
            .await
    }

    pub(super) async fn tokens_of(&self, user_id: &str) -> Result<Vec<ApiToken>, StoreError> {
        let user_id = user_id.to_string();
        self.sqlite()
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT token_id, user_id, name, token_sha256, created_at FROM api_tokens \
                     WHERE user_id = ?1 ORDER BY created_at, token_id",
                )?;
                let rows = stmt.query_map([user_id], |row| {
                    Ok(ApiToken {
                        token_id: row.get(0)?,
                        user_id: row.get(1)?,
                        name: row.get(2)?,
                        token_sha256: row.get(3)?,
                        created_at: row.get(4)?,
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .map_err(StoreError::backend)
    }

    pub(super) async fn delete_token(
        &self,
        user_id: &str,
        token_id: &str,
    ) -> Result<bool, StoreError> {
        let (user_id, token_id) = (user_id.to_string(), token_id.to_string());
        self.sqlite()
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM api_tokens WHERE user_id = ?1 AND token_id = ?2",
                    [user_id, token_id],
                )
            })
            .await
            .map(|deleted| deleted > 0)
            .map_err(StoreError::backend)
    }

    /// The owner of an added token.
    pub(super) async fn added_token_user(
        &self,
        token_sha256: &str,
    ) -> Result<Option<User>, StoreError> {
        let hash = token_sha256.to_string();
        self.sqlite()
            .call(move |conn| {
                let sql = format!(
                    "SELECT {} FROM users JOIN api_tokens USING (user_id) \
                     WHERE api_tokens.token_sha256 = ?1",
                    qualified_columns()
                );
                conn.prepare_cached(&sql)?
                    .query_row([hash], user_from_row)
                    .optional()
            })
            .await
            .map_err(StoreError::backend)
    }

    // Failed sign-ins, by the caller's throttle key (kept in the column
    // `user_id`, which it once was).

    pub(super) async fn failures_of(&self, key: &str) -> Result<SignInFailures, StoreError> {
        let key = key.to_string();
        self.sqlite()
            .call(move |conn| {
                conn.prepare_cached(
                    "SELECT count, last_at FROM sign_in_failures WHERE user_id = ?1",
                )?
                .query_row([key], |row| {
                    Ok(SignInFailures {
                        count: row.get(0)?,
                        last_at: Some(row.get(1)?),
                    })
                })
                .optional()
            })
            .await
            .map(Option::unwrap_or_default)
            .map_err(StoreError::backend)
    }

    pub(super) async fn count_failure(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<SignInFailures, StoreError> {
        let key = key.to_string();
        self.sqlite()
            .call(move |conn| {
                // One statement, so concurrent failures each count.
                let failures = conn
                    .prepare_cached(
                        "INSERT INTO sign_in_failures (user_id, count, last_at) VALUES (?1, 1, ?2) \
                         ON CONFLICT (user_id) DO UPDATE SET \
                           count = CASE WHEN last_at >= ?2 - ?3 THEN count + 1 ELSE 1 END, \
                           last_at = ?2 \
                         RETURNING count, last_at",
                    )?
                    .query_row(rusqlite::params![key, now, window_secs], |row| {
                        Ok(SignInFailures {
                            count: row.get(0)?,
                            last_at: Some(row.get(1)?),
                        })
                    })?;
                // Nothing else removes records, and keys are many (one per
                // email and address tried): a new record, the only kind
                // that grows the table, clears those whose last failure is
                // out of the window, which count for nothing any more.
                if failures.count == 1 {
                    conn.prepare_cached("DELETE FROM sign_in_failures WHERE last_at < ?1")?
                        .execute([now.saturating_sub(window_secs.max(0))])?;
                }
                Ok::<_, rusqlite::Error>(failures)
            })
            .await
            .map_err(StoreError::backend)
    }

    pub(super) async fn forget_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.sqlite()
            .call(move |conn| {
                conn.execute("DELETE FROM sign_in_failures WHERE user_id = ?1", [key])
            })
            .await
            .map(|_| ())
            .map_err(StoreError::backend)
    }
}

impl SqliteUserStore {
    pub(super) async fn insert_identity(&self, link: &IdentityLink) -> Result<(), StoreError> {
        let link = link.clone();
        self.sqlite()
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::backend)?;
                if !user_exists(&tx, &link.user_id)? {
                    return Err(StoreError::NotFound(format!("user {}", link.user_id)));
                }
                let inserted = tx.execute(
                    "INSERT INTO identities (issuer, subject, user_id, created_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![link.issuer, link.subject, link.user_id, link.created_at],
                );
                match inserted {
                    Ok(_) => tx.commit().map_err(StoreError::backend),
                    Err(e) if super::db::unique_violation(&e).is_some() => Err(
                        StoreError::AlreadyExists(format!("identity at {}", link.issuer)),
                    ),
                    Err(e) => Err(StoreError::backend(e)),
                }
            })
            .await
    }

    pub(super) async fn identity_user(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        let (issuer, subject) = (issuer.to_string(), subject.to_string());
        self.sqlite()
            .call(move |conn| {
                let sql = format!(
                    "SELECT {} FROM users JOIN identities USING (user_id) \
                     WHERE identities.issuer = ?1 AND identities.subject = ?2",
                    qualified_columns()
                );
                conn.prepare_cached(&sql)?
                    .query_row([issuer, subject], user_from_row)
                    .optional()
            })
            .await
            .map_err(StoreError::backend)
    }
}

/// The users columns, qualified for a join.
fn qualified_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("users.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_exists(conn: &rusqlite::Connection, user_id: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM users WHERE user_id = ?1")
        .and_then(|mut stmt| stmt.exists([user_id]))
        .map_err(StoreError::backend)
}

fn legacy_token_taken(conn: &rusqlite::Connection, token_sha256: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM users WHERE api_token_sha256 = ?1")
        .and_then(|mut stmt| stmt.exists([token_sha256]))
        .map_err(StoreError::backend)
}

#[cfg(test)]
mod tests {
    use crate::UserStore;

    use super::*;

    async fn rows(store: &SqliteUserStore) -> i64 {
        store
            .sqlite()
            .call(|conn| conn.query_row("SELECT COUNT(*) FROM sign_in_failures", [], |r| r.get(0)))
            .await
            .expect("count rows")
    }

    /// Records out of their window go when a new one is made, so failures
    /// under ever new keys (emails and addresses) do not pile up.
    #[tokio::test]
    async fn stale_failures_are_pruned_when_failures_are_recorded() {
        let store = SqliteUserStore::open_in_memory().expect("in memory");
        let t0 = 1_700_000_000;
        for i in 0..50 {
            store
                .record_sign_in_failure(&format!("old-{i}"), t0 + i, 60)
                .await
                .expect("record");
        }
        assert_eq!(rows(&store).await, 50);
        // Within the window of the latest ones: only the stale go.
        store
            .record_sign_in_failure("new-1", t0 + 100, 60)
            .await
            .expect("record");
        assert_eq!(rows(&store).await, 10 + 1, "40 were out of the window");
        // A repeat under a live key adds no row and prunes nothing.
        store
            .record_sign_in_failure("new-1", t0 + 105, 60)
            .await
            .expect("record");
        assert_eq!(rows(&store).await, 11);
        store
            .record_sign_in_failure("new-2", t0 + 1_000, 60)
            .await
            .expect("record");
        assert_eq!(rows(&store).await, 1, "only the newest is left");
        assert_eq!(
            store.sign_in_failures("new-2").await.expect("read").count,
            1
        );
    }
}
