//! `gas user add` and `gas user set-role`.

use anyhow::{bail, Context, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use gas_jobs::{now_epoch, Role, User};

use crate::system::Ports;

/// Creates a user and returns it with its new API token (shown once; only
/// its hash is stored).
pub async fn add_user(
    ports: &Ports,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> Result<(User, String)> {
    let email = email.trim();
    if !looks_like_email(email) {
        bail!("{email:?} is not an email address");
    }
    if ports.users.find_by_email(email).await?.is_some() {
        bail!("a user with email {email} already exists");
    }
    let token = gas_web::new_token();
    let password_hash = match password {
        Some(p) if p.len() < 8 => bail!("the password must have at least 8 characters"),
        Some(p) => Some(hash_password(p)?),
        None => None,
    };
    let user = User {
        user_id: uuid_like(),
        email: email.to_string(),
        role,
        created_at: now_epoch(),
        password_hash,
        api_token_sha256: Some(gas_web::hash_token(&token)),
    };
    ports
        .users
        .create(&user)
        .await
        .context("creating the user")?;
    Ok((user, token))
}

/// Changes a user's role. Upgrading goes through the same path as the web
/// API's upgrade (timers stopped, archived results restored).
pub async fn set_role(ports: &Ports, email: &str, role: Role) -> Result<User> {
    let Some(user) = ports.users.find_by_email(email).await? else {
        bail!("no user with email {email}");
    };
    match role {
        Role::Premium => {
            gas_web::upgrade_user(
                ports.jobs.as_ref(),
                ports.users.as_ref(),
                ports.archive_timer.as_ref(),
                ports.restore_topic.as_ref(),
                &user.user_id,
            )
            .await
        }
        // A downgrade only changes the role: results completed before it
        // keep their window from their own completion time.
        Role::Free => Ok(ports.users.set_role(&user.user_id, Role::Free).await?),
    }
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

fn looks_like_email(s: &str) -> bool {
    let mut parts = s.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn uuid_like() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
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
}
