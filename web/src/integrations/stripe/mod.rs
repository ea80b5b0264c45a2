//! Premium through Stripe: [`StripePayments`], a [`PaymentProvider`] on
//! Stripe's REST API, which also verifies the events Stripe posts to the
//! webhook (`POST /stripe/webhook`, served by the API: `api/webhooks.rs`).
//!
//! The flow, one that Stripe and local Stripe servers alike support:
//! 1. The subscribe page collects a card with Stripe.js (the card never
//!    reaches GAS) and posts the PaymentMethod id it made.
//! 2. [`StripePayments::start_subscription`] finds or makes the user's
//!    Customer (metadata `user_id`), makes the method their default, and
//!    creates a Subscription to the configured price with metadata
//!    `user_id` and `payment_behavior=error_if_incomplete`, so a declined
//!    first payment (or one that needs the customer's action) is refused
//!    with no subscription left behind.
//! 3. When Stripe's answer says the subscription is `active` (or
//!    `trialing`), that answer is the verified read of its status: it came
//!    from Stripe's API over TLS to a request made with our secret key, not
//!    from the browser. So it is reported as [`Checkout::Paid`] and the page
//!    upgrades the user at once. Nothing the browser says afterwards (no
//!    redirect, no query string) changes a role.
//! 4. Everything later (renewals, failed payments, cancellation) comes as
//!    signed webhook events. The handler verifies the signature, handles
//!    each event id once, and then reads the subscription's *current*
//!    status from the API rather than trusting the event's copy: events
//!    arrive late, repeated and out of order, and the API's answer is what
//!    Stripe holds now. `active`/`trialing` → premium (`upgrade_user`);
//!    `canceled`/`unpaid`/`incomplete_expired` with no other live
//!    subscription of the customer → free (`downgrade_user`); anything
//!    else (`past_due` while Stripe retries, `incomplete`) → no change.

mod api;
mod signature;

use async_trait::async_trait;
use axum::http::HeaderMap;
use gas_jobs::{Role, User};

use crate::integrations::payment::{
    CardForm, Checkout, PaymentError, PaymentEvent, PaymentProvider, PlanChange, SubscribeForm,
    WebhookError,
};
use api::StripeApi;

pub use signature::{sign, verify, SignatureError, DEFAULT_TOLERANCE_SECS};

impl From<SignatureError> for WebhookError {
    fn from(e: SignatureError) -> Self {
        WebhookError::Signature(Box::new(e))
    }
}

/// Where Stripe's API lives unless configured otherwise.
pub const STRIPE_API: &str = "https://api.stripe.com";

/// What [`StripePayments`] is configured with (`GAS_STRIPE_*`).
#[derive(Clone)]
pub struct StripeSettings {
    /// `sk_...`: authenticates every API call.
    pub secret_key: String,
    /// `whsec_...`: the webhook endpoint's signing secret.
    pub webhook_secret: String,
    /// The Price (or Plan) id of Premium.
    pub price_id: String,
    /// `pk_...`: what Stripe.js in the page is started with.
    pub publishable_key: Option<String>,
    /// Stripe's API, or a local Stripe server.
    pub api_base: String,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("price_id", &self.price_id)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// Subscription statuses that make a user premium.
const LIVE: [&str; 2] = ["active", "trialing"];
/// Subscription statuses that end Premium.
const ENDED: [&str; 3] = ["canceled", "unpaid", "incomplete_expired"];

/// The [`PaymentProvider`] on Stripe.
#[derive(Debug)]
pub struct StripePayments {
    api: StripeApi,
    webhook_secret: String,
    price_id: String,
    publishable_key: Option<String>,
}

impl StripePayments {
    pub fn new(settings: &StripeSettings) -> Result<Self, PaymentError> {
        Ok(Self {
            api: StripeApi::new(&settings.api_base, &settings.secret_key)?,
            webhook_secret: settings.webhook_secret.clone(),
            price_id: settings.price_id.clone(),
            publishable_key: settings.publishable_key.clone(),
        })
    }

    /// The id of the subscription an event is about: the event's object
    /// when it is one, else the subscription its invoice (or checkout
    /// session) names, in the places Stripe's API versions put it.
    fn subscription_of(event: &PaymentEvent) -> Option<String> {
        let object = event.body.pointer("/data/object")?;
        if object.get("object").and_then(|o| o.as_str()) == Some("subscription") {
            return object.get("id")?.as_str().map(str::to_string);
        }
        [
            "/subscription",
            "/subscription/id",
            "/parent/subscription_details/subscription",
        ]
        .iter()
        .find_map(|p| object.pointer(p).and_then(|v| v.as_str()))
        .map(str::to_string)
    }

    /// The GAS user a subscription belongs to: its metadata, else its
    /// customer's.
    async fn user_of(&self, sub: &api::Subscription) -> Result<Option<String>, PaymentError> {
        if let Some(user_id) = sub.metadata.get("user_id") {
            return Ok(Some(user_id.clone()));
        }
        let customer = self.api.customer(&sub.customer).await?;
        Ok(customer.metadata.get("user_id").cloned())
    }
}

#[async_trait]
impl PaymentProvider for StripePayments {
    fn name(&self) -> &str {
        "stripe"
    }

    async fn start_subscription(
        &self,
        user: &User,
        form: &SubscribeForm,
    ) -> Result<Checkout, PaymentError> {
        let Some(payment_method) = form.payment_method.as_deref().filter(|p| !p.is_empty()) else {
            return Err(PaymentError::Refused("no card was given".into()));
        };
        let customer = match self.api.find_customer(&user.email, &user.user_id).await? {
            Some(customer) => {
                self.api
                    .use_payment_method(&customer.id, payment_method)
                    .await?;
                customer
            }
            None => {
                self.api
                    .create_customer(&user.email, &user.user_id, payment_method)
                    .await?
            }
        };
        let sub = self
            .api
            .create_subscription(&customer.id, &self.price_id, &user.user_id)
            .await?;
        tracing::info!(subscription = %sub.id, status = %sub.status, customer = %customer.id, "Stripe subscription created");
        // Stripe's own answer to our authenticated request (see the module
        // docs): the one place besides a webhook where a role may change.
        if LIVE.contains(&sub.status.as_str()) {
            Ok(Checkout::Paid)
        } else {
            Err(PaymentError::Refused(format!(
                "the subscription is {} (not paid)",
                sub.status
            )))
        }
    }

    fn card_form(&self) -> Option<CardForm> {
        let publishable_key = self.publishable_key.clone()?;
        // Stripe.js is served from js.stripe.com; a local Stripe server
        // serves its stand-in under its own base.
        let script_url = if self.api.base() == STRIPE_API {
            "https://js.stripe.com/v3/".to_string()
        } else {
            format!("{}/js.stripe.com/v3/", self.api.base())
        };
        Some(CardForm {
            script_url,
            publishable_key,
        })
    }

    fn verify_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        let header = match headers.get("stripe-signature") {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| SignatureError::Malformed)?),
        };
        verify(
            header,
            body,
            &self.webhook_secret,
            now,
            DEFAULT_TOLERANCE_SECS,
        )?;
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| WebhookError::Malformed(format!("no {name}")))
        };
        let id = field("id")?;
        let kind = field("type")?;
        Ok(PaymentEvent {
            id,
            kind,
            body: value,
        })
    }

    async fn plan_change(&self, event: &PaymentEvent) -> Result<Option<PlanChange>, PaymentError> {
        let relevant = event.kind.starts_with("customer.subscription.")
            || matches!(
                event.kind.as_str(),
                "invoice.paid"
                    | "invoice.payment_succeeded"
                    | "invoice.payment_failed"
                    | "checkout.session.completed"
            );
        if !relevant {
            return Ok(None);
        }
        let Some(subscription_id) = Self::subscription_of(event) else {
            return Ok(None);
        };
        // The current state, from Stripe (see the module docs).
        let sub = self.api.subscription(&subscription_id).await?;
        let Some(user_id) = self.user_of(&sub).await? else {
            tracing::info!(subscription = %sub.id, "a subscription without a GAS user id");
            return Ok(None);
        };
        let role = if LIVE.contains(&sub.status.as_str()) {
            Role::Premium
        } else if ENDED.contains(&sub.status.as_str()) {
            // Another live subscription of the customer keeps Premium.
            let others = self.api.subscriptions_of(&sub.customer).await?;
            if others
                .iter()
                .any(|o| o.id != sub.id && LIVE.contains(&o.status.as_str()))
            {
                Role::Premium
            } else {
                Role::Free
            }
        } else {
            tracing::info!(subscription = %sub.id, status = %sub.status, "no change of plan for this status");
            return Ok(None);
        };
        Ok(Some(PlanChange { user_id, role }))
    }
}
