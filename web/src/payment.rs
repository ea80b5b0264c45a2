//! Paying for Premium, behind a port so that the web app does not care who
//! takes the money. The embedded default upgrades at once (no payment), so
//! `gas dev` needs no outside account.

use async_trait::async_trait;
use gas_jobs::User;

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

/// Takes payment for Premium.
///
/// Contract: `start_subscription` either reports the subscription paid
/// (the caller upgrades the user at once) or names where the user goes to
/// pay; it never upgrades the user itself. Calling it for a user who is
/// already premium is the caller's mistake; providers may refuse.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// A short name for logs and the page ("instant", "stripe").
    fn name(&self) -> &str;
    async fn start_subscription(&self, user: &User) -> Result<Checkout, PaymentError>;
}

/// The embedded provider: every subscription is paid at once.
#[derive(Debug, Default)]
pub struct InstantPayments;

#[async_trait]
impl PaymentProvider for InstantPayments {
    fn name(&self) -> &str {
        "instant"
    }

    async fn start_subscription(&self, _user: &User) -> Result<Checkout, PaymentError> {
        Ok(Checkout::Paid)
    }
}
