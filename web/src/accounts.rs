//! Accounts: creating them, passwords (argon2id), and the throttle on
//! failed sign-ins. Shared by the sign-up page and `gas user add`.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use gas_jobs::{now_epoch, ApiToken, Role, StoreError, User, UserStore};

/// Why an account could not be made or signed in to.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    #[error("the password must have at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("the password is too long (at most {MAX_PASSWORD} characters)")]
    LongPassword,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the email or password is wrong")]
    WrongCredentials,
    /// Too many recent failures: no password is checked until `retry_after`
    /// seconds have passed.
    #[error("too many failed sign-ins; try again in {retry_after} seconds")]
    Throttled { retry_after: i64 },
    #[error("hashing the password failed: {0}")]
    Hash(String),
    #[error("the user store failed")]
    Store(#[from] StoreError),
}

pub const MIN_PASSWORD: usize = 8;
/// argon2 takes any length; this bounds the work one request can ask for.
pub const MAX_PASSWORD: usize = 1024;
/// Failures within this many seconds of each other count together.
pub const FAILURE_WINDOW: i64 = 15 * 60;
/// Failures allowed before sign-ins are held back.
pub const FREE_FAILURES: u32 = 5;

/// How long sign-ins wait after `count` failures, the last at `last_at`:
/// nothing for the first few, then 30 s doubling per failure, at most the
/// failure window. Returns the seconds left at `now`, if any.
pub fn throttle_remaining(count: u32, last_at: Option<i64>, now: i64) -> Option<i64> {
    let last_at = last_at?;
    if count < FREE_FAILURES {
        return None;
    }
    let extra = (count - FREE_FAILURES).min(10);
    let hold = (30i64 << extra).min(FAILURE_WINDOW);
    let left = last_at + hold - now;
    (left > 0).then_some(left)
}

pub fn looks_like_email(s: &str) -> bool {
    let mut parts = s.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An argon2id PHC string of `password` (on a blocking thread: it takes
/// tens of milliseconds on purpose).
pub async fn hash_password(password: &str) -> Result<String, AccountError> {
    check_password(password)?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

fn check_password(password: &str) -> Result<(), AccountError> {
    match password.chars().count() {
        n if n < MIN_PASSWORD => Err(AccountError::WeakPassword),
        n if n > MAX_PASSWORD => Err(AccountError::LongPassword),
        _ => Ok(()),
    }
}

async fn verify_password(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_string(), phc.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Makes an account (with a password when given one).
pub async fn create_account(
    users: &dyn UserStore,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> Result<User, AccountError> {
    let email = email.trim();
    if !looks_like_email(email) {
        return Err(AccountError::BadEmail(email.to_string()));
    }
    let password_hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let user = User {
        user_id: crate::session::new_secret()[..32].to_string(),
        email: email.to_string(),
        role,
        created_at: now_epoch(),
        password_hash,
        api_token_sha256: None,
    };
    match users.create(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::AlreadyExists(_)) => Err(AccountError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Checks an email and password, with the throttle: after a few failures
/// no password is even checked until the hold has passed. Unknown emails
/// cost the same argon2 work as known ones, so timing tells nothing.
pub async fn sign_in(
    users: &dyn UserStore,
    email: &str,
    password: &str,
) -> Result<User, AccountError> {
    let now = now_epoch();
    let user = users.find_by_email(email.trim()).await?;
    let Some(user) = user else {
        let _ = verify_password(password, DUMMY_HASH).await;
        return Err(AccountError::WrongCredentials);
    };
    let failures = users.sign_in_failures(&user.user_id).await?;
    if let Some(retry_after) = throttle_remaining(failures.count, failures.last_at, now) {
        return Err(AccountError::Throttled { retry_after });
    }
    let ok = match &user.password_hash {
        Some(phc) if password.len() <= MAX_PASSWORD * 4 => verify_password(password, phc).await,
        _ => false,
    };
    if !ok {
        let failures = users
            .record_sign_in_failure(&user.user_id, now, FAILURE_WINDOW)
            .await?;
        tracing::info!(user_id = %user.user_id, failures = failures.count, "failed sign-in");
        metrics::counter!("gas_web_failed_sign_ins_total").increment(1);
        if let Some(retry_after) = throttle_remaining(failures.count, failures.last_at, now) {
            return Err(AccountError::Throttled { retry_after });
        }
        return Err(AccountError::WrongCredentials);
    }
    if failures.count > 0 {
        users.clear_sign_in_failures(&user.user_id).await?;
    }
    Ok(user)
}

/// An argon2id hash of a random password, so that an unknown email takes
/// as long to refuse as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2NEhmSe6lyTV4qu8G8Xsm4RZ1e+uZ8UUmC+fe9VCwM4";

/// 32 random bytes, for a key nothing outlives the process with.
pub fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
    key
}

/// Makes an API token for `user` named `name`; returns the token (to be
/// shown once) and its record.
pub async fn create_token(
    users: &dyn UserStore,
    user: &User,
    name: &str,
) -> Result<(String, ApiToken), StoreError> {
    let token = crate::auth::new_token();
    let record = ApiToken {
        token_id: crate::session::new_secret()[..16].to_string(),
        user_id: user.user_id.clone(),
        name: name.trim().chars().take(80).collect(),
        token_sha256: crate::auth::hash_token(&token),
        created_at: now_epoch(),
    };
    users.add_token(&record).await?;
    Ok((token, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        assert!(looks_like_email("ada@example.org"));
        assert!(!looks_like_email("ada"));
        assert!(!looks_like_email("ada@localhost"));
        assert!(!looks_like_email("a da@example.org"));
        assert!(!looks_like_email("@example.org"));
    }

    #[test]
    fn throttle_grows_after_free_failures() {
        assert_eq!(throttle_remaining(4, Some(100), 100), None);
        assert_eq!(throttle_remaining(5, Some(100), 100), Some(30));
        assert_eq!(throttle_remaining(5, Some(100), 130), None);
        assert_eq!(throttle_remaining(6, Some(100), 100), Some(60));
        assert_eq!(throttle_remaining(30, Some(100), 100), Some(FAILURE_WINDOW));
        assert_eq!(throttle_remaining(9, None, 100), None);
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
