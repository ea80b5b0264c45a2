//! `gas user add` and `gas user set-role`.

use anyhow::{bail, Context, Result};
use gas_jobs::{Role, User};

use crate::system::Ports;

/// Creates a user and returns it with its new API token (shown once; only
/// its hash is stored).
pub async fn add_user(
    ports: &Ports,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> Result<(User, String)> {
    let user = match gas_web::accounts::create_account(ports.users.as_ref(), email, role, password)
        .await
    {
        Ok(user) => user,
        Err(gas_web::accounts::AccountError::EmailTaken) => {
            bail!("a user with email {} already exists", email.trim())
        }
        Err(e) => return Err(anyhow::Error::new(e).context("creating the user")),
    };
    let (token, _) =
        gas_web::accounts::create_token(ports.users.as_ref(), &user, "made by gas user add")
            .await
            .context("making the user's API token")?;
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
            let plan = gas_web::PlanPorts {
                jobs: ports.jobs.as_ref(),
                users: ports.users.as_ref(),
                archive_timer: ports.archive_timer.as_ref(),
                restore_topic: ports.restore_topic.as_ref(),
            };
            gas_web::upgrade_user(&plan, &user.user_id).await
        }
        // A downgrade only changes the role: results completed before it
        // keep their window from their own completion time.
        Role::Free => Ok(ports.users.set_role(&user.user_id, Role::Free).await?),
    }
}
