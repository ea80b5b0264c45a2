//! Browser sessions: a random secret in an HttpOnly cookie, its SHA-256 in
//! the user store. Every web process reads the same store, so a session
//! made by one is honoured by all, and a sign-out through one ends it for
//! all at once; nothing is kept in process memory.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use gas_jobs::{now_epoch, Session, StoreError, User, UserStore};

use crate::primitives::cookie::{cookie, set_cookie};
use crate::primitives::secret::{new_secret, sha256_hex};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gas_session";

/// The session operations, on one user store: starting, ending and
/// looking up the session of a request.
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    pub users: &'a dyn UserStore,
    /// How long a sign-in lasts.
    pub ttl: Duration,
    /// Whether cookies are Secure (the app is served over https).
    pub secure: bool,
}

impl Sessions<'_> {
    /// Starts a session for `user`; returns the `Set-Cookie` header value.
    pub async fn start(&self, user: &User) -> Result<HeaderValue, StoreError> {
        let secret = new_secret();
        let now = now_epoch();
        let ttl = self.ttl.as_secs() as i64;
        self.users
            .create_session(&Session {
                session_sha256: sha256_hex(&secret),
                user_id: user.user_id.clone(),
                created_at: now,
                expires_at: now + ttl,
            })
            .await?;
        tracing::info!(user_id = %user.user_id, "signed in");
        Ok(set_cookie(self.secure, SESSION_COOKIE, &secret, ttl))
    }

    /// Ends the request's session, if any; returns the cookie-clearing
    /// header.
    pub async fn end(&self, headers: &HeaderMap) -> Result<HeaderValue, StoreError> {
        if let Some(secret) = cookie(headers, SESSION_COOKIE) {
            self.users.delete_session(&sha256_hex(secret)).await?;
        }
        Ok(set_cookie(self.secure, SESSION_COOKIE, "", 0))
    }

    /// The user of the request's session cookie, if it names a live
    /// session.
    pub async fn user(&self, headers: &HeaderMap) -> Result<Option<User>, StoreError> {
        let Some(secret) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        self.users
            .find_session(&sha256_hex(secret), now_epoch())
            .await
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;
    use gas_jobs::Role;

    use super::*;

    #[tokio::test]
    async fn a_session_is_found_until_it_ends() {
        let users = gas_jobs::sqlite::SqliteUserStore::open_in_memory().unwrap();
        let user = User {
            user_id: "u1".into(),
            email: "u1@example.org".into(),
            role: Role::Free,
            created_at: 0,
            password_hash: None,
            api_token_sha256: None,
        };
        users.create(&user).await.unwrap();
        let sessions = Sessions {
            users: &users,
            ttl: Duration::from_secs(600),
            secure: false,
        };
        let set = sessions.start(&user).await.unwrap();
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        let found = sessions.user(&headers).await.unwrap();
        assert_eq!(found.map(|u| u.user_id).as_deref(), Some("u1"));
        assert_eq!(sessions.user(&HeaderMap::new()).await.unwrap(), None);
        let cleared = sessions.end(&headers).await.unwrap();
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(sessions.user(&headers).await.unwrap(), None);
    }
}
