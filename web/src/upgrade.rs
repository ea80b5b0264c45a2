use anyhow::{Context, Result};
use gas_jobs::messages::RestoreRequest;
use gas_jobs::{JobStore, Role, User, UserStore};
use gas_messaging::{Timer, Topic};
use tracing::{info, warn};

/// Makes a user premium: their results stay hot from now on and archived
/// ones come back.
///
/// Order matters (DESIGN section 5, invariant 3): the role changes first, so
/// every archive step that starts later skips the user, and one already
/// under way sees the change when it re-checks after recording its archive;
/// then pending timers stop (an optimisation: a fired timer is skipped
/// anyway); last, a restore request covers whatever is archived.
pub async fn upgrade_user(
    jobs: &dyn JobStore,
    users: &dyn UserStore,
    archive_timer: &dyn Timer,
    restore_topic: &dyn Topic,
    user_id: &str,
) -> Result<User> {
    let user = users
        .set_role(user_id, Role::Premium)
        .await
        .context("setting the role")?;
    let mut cursor: Option<String> = None;
    loop {
        let page = jobs.list_for_user(user_id, 100, cursor.as_deref()).await?;
        for job in &page.items {
            if let Some(execution_id) = &job.archive_execution_id {
                if let Err(e) = archive_timer.stop(execution_id).await {
                    warn!(job_id = %job.job_id, error = %e, "could not stop an archive timer; it will be skipped when it fires");
                    continue;
                }
                jobs.clear_execution_id(&job.job_id).await?;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let request = serde_json::to_string(&RestoreRequest {
        user_id: user_id.to_string(),
    })?;
    restore_topic
        .publish(&request)
        .await
        .context("requesting the restore")?;
    info!(user_id, "user upgraded to premium");
    metrics::counter!("gas_web_upgrades_total").increment(1);
    Ok(user)
}

/// What asking for Premium led to.
#[derive(Debug)]
pub enum Subscription {
    /// The provider took the payment: the user is premium now.
    Upgraded(User),
    /// Nothing to do: the user is premium already.
    AlreadyPremium(User),
    /// The user must finish paying at this URL; the provider's notification
    /// makes them premium once they have.
    Checkout(String),
}

/// Why asking for Premium changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error(transparent)]
    Payment(#[from] crate::payment::PaymentError),
    #[error("the upgrade failed after the payment")]
    Upgrade(#[source] anyhow::Error),
}

/// The paywall: the one way a person (rather than an operator with
/// `gas user set-role`, or the provider's signed notification) becomes
/// premium. The payment provider is always asked first, and only its
/// answer that the subscription is paid upgrades the user. Both the
/// subscribe page and `POST /api/v1/me/upgrade` come through here, so
/// neither can grant what the other would charge for.
pub async fn subscribe(
    ports: &crate::WebPorts,
    user: &User,
    form: &crate::payment::SubscribeForm,
) -> Result<Subscription, SubscribeError> {
    if user.role == Role::Premium {
        return Ok(Subscription::AlreadyPremium(user.clone()));
    }
    match ports.payments.start_subscription(user, form).await? {
        crate::payment::Checkout::Paid => upgrade_user(
            ports.jobs.as_ref(),
            ports.users.as_ref(),
            ports.archive_timer.as_ref(),
            ports.restore_topic.as_ref(),
            &user.user_id,
        )
        .await
        .map(Subscription::Upgraded)
        .map_err(SubscribeError::Upgrade),
        crate::payment::Checkout::Redirect(url) => Ok(Subscription::Checkout(url)),
    }
}
