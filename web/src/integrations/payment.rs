//! Paying for Premium, behind a port so that the web app does not care who
//! takes the money (nothing here names a provider). The embedded default
//! upgrades at once (no payment), so `gas dev` needs no outside account.
//! [`subscribe`] is the paywall both faces go through.

use async_trait::async_trait;
use axum::http::HeaderMap;
use gas_jobs::{Role, User};

use crate::domain::plan::{upgrade_user, PlanPorts};

/// What starting a subscription led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// Paid already: make the user premium now.
    Paid,
    /// The user must finish paying at this URL; the provider tells the web
    /// app when they have (e.g. a webhook).
    Redirect(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment provider refused: {0}")]
    Refused(String),
    #[error("the payment provider failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What the subscribe form sent besides the CSRF token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeForm {
    /// The payment method the browser made with the provider's script
    /// (Stripe: a PaymentMethod id, `pm_...`); the card itself never
    /// reaches GAS.
    pub payment_method: Option<String>,
}

/// What the subscribe page needs to collect a card with the provider's own
/// script (Stripe.js and its card element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardForm {
    /// The provider's script, e.g. `https://js.stripe.com/v3/`.
    pub script_url: String,
    /// The publishable key the script is started with.
    pub publishable_key: String,
}

/// A provider's notification (webhook) whose signature held.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentEvent {
    /// The provider's event id: each is handled once.
    pub id: String,
    /// The provider's event type, e.g. `customer.subscription.deleted`.
    pub kind: String,
    /// The whole event as the provider sent it.
    pub body: serde_json::Value,
}

/// What an event means for a user's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    pub user_id: String,
    pub role: Role,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// This provider takes no notifications.
    #[error("this payment provider takes no notifications")]
    NotAccepted,
    #[error("bad signature: {0}")]
    Signature(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("not an event: {0}")]
    Malformed(String),
}

/// Takes payment for Premium.
///
/// Contract: `start_subscription` either reports the subscription paid
/// (the caller upgrades the user at once) or names where the user goes to
/// pay; it never upgrades the user itself. Calling it for a user who is
/// already premium is the caller's mistake; providers may refuse.
///
/// A provider that tells the web app later (a subscription paid, renewed,
/// cancelled) does so through notifications: `verify_notification` checks
/// one's signature, and `plan_change` says what it means for whom, from
/// the provider's own current records (so that late, repeated or
/// out-of-order notifications lead to the plan the provider holds now).
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// A short name for logs and the page ("instant", "stripe").
    fn name(&self) -> &str;

    async fn start_subscription(
        &self,
        user: &User,
        form: &SubscribeForm,
    ) -> Result<Checkout, PaymentError>;

    /// The card form the subscribe page shows, for providers that collect
    /// a payment method in the page; `None` for a plain button.
    fn card_form(&self) -> Option<CardForm> {
        None
    }

    /// Checks a notification's signature (headers and the raw body) at
    /// `now` (unix seconds) and parses it.
    fn verify_notification(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        Err(WebhookError::NotAccepted)
    }

    /// What a verified event means now: a user's plan to set, or `None`
    /// (an event about something else, or about no user of ours).
    async fn plan_change(&self, _event: &PaymentEvent) -> Result<Option<PlanChange>, PaymentError> {
        Ok(None)
    }
}

/// The embedded provider: every subscription is paid at once.
#[derive(Debug, Default)]
pub struct InstantPayments;

#[async_trait]
impl PaymentProvider for InstantPayments {
    fn name(&self) -> &str {
        "instant"
    }

    async fn start_subscription(
        &self,
        _user: &User,
        _form: &SubscribeForm,
    ) -> Result<Checkout, PaymentError> {
        Ok(Checkout::Paid)
    }
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
    Payment(#[from] PaymentError),
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
    payments: &dyn PaymentProvider,
    plan: &PlanPorts<'_>,
    user: &User,
    form: &SubscribeForm,
) -> Result<Subscription, SubscribeError> {
    if user.role == Role::Premium {
        return Ok(Subscription::AlreadyPremium(user.clone()));
    }
    match payments.start_subscription(user, form).await? {
        Checkout::Paid => upgrade_user(plan, &user.user_id)
            .await
            .map(Subscription::Upgraded)
            .map_err(SubscribeError::Upgrade),
        Checkout::Redirect(url) => Ok(Subscription::Checkout(url)),
    }
}
