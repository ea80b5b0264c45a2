//! The few calls of Stripe's REST API that GAS makes: form-encoded
//! requests with the secret key as a Bearer token, JSON answers.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::integrations::payment::PaymentError;

/// A Stripe API client on one base URL (`https://api.stripe.com`, or a
/// local Stripe server in tests).
#[derive(Clone)]
pub(crate) struct StripeApi {
    http: reqwest::Client,
    base: String,
    secret_key: String,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The parts of a Subscription object GAS reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Subscription {
    pub id: String,
    pub status: String,
    pub customer: String,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

/// The parts of a Customer object GAS reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Customer {
    pub id: String,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    data: Vec<T>,
}

/// Stripe's error body: `{"error": {"message": ..., "code": ...}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

impl StripeApi {
    pub(crate) fn new(base: &str, secret_key: &str) -> Result<Self, PaymentError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("gas-web")
            .build()
            .map_err(|e| PaymentError::Backend(Box::new(e)))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, PaymentError> {
        let response = request
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .map_err(|e| PaymentError::Backend(Box::new(e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Backend(Box::new(e)))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| PaymentError::Backend(Box::new(e)));
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_else(|| format!("HTTP {status}"));
        // 402: the card was declined or needs the customer's action; 4xx
        // of another kind is a request Stripe will never take (e.g. an
        // unknown price). Both are refusals; 5xx and 429 are failures.
        if status.is_client_error() && status.as_u16() != 429 {
            Err(PaymentError::Refused(message))
        } else {
            Err(PaymentError::Backend(
                format!("Stripe answered {status}: {message}").into(),
            ))
        }
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PaymentError> {
        let request = self.http.get(format!("{}{path}", self.base)).query(query);
        let value = self.send(request).await?;
        serde_json::from_value(value).map_err(|e| PaymentError::Backend(Box::new(e)))
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, PaymentError> {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        let value = self.send(request).await?;
        serde_json::from_value(value).map_err(|e| PaymentError::Backend(Box::new(e)))
    }

    pub(crate) async fn subscription(&self, id: &str) -> Result<Subscription, PaymentError> {
        self.get(&format!("/v1/subscriptions/{}", path_segment(id)?), &[])
            .await
    }

    /// Every subscription of the customer, whatever its status.
    pub(crate) async fn subscriptions_of(
        &self,
        customer: &str,
    ) -> Result<Vec<Subscription>, PaymentError> {
        let list: List<Subscription> = self
            .get(
                "/v1/subscriptions",
                &[("customer", customer), ("status", "all"), ("limit", "100")],
            )
            .await?;
        Ok(list.data)
    }

    pub(crate) async fn customer(&self, id: &str) -> Result<Customer, PaymentError> {
        self.get(&format!("/v1/customers/{}", path_segment(id)?), &[])
            .await
    }

    /// The customer made for `user_id` earlier, found by email and checked
    /// by the user id in its metadata.
    pub(crate) async fn find_customer(
        &self,
        email: &str,
        user_id: &str,
    ) -> Result<Option<Customer>, PaymentError> {
        let list: List<Customer> = self
            .get("/v1/customers", &[("email", email), ("limit", "100")])
            .await?;
        Ok(list
            .data
            .into_iter()
            .find(|c| c.metadata.get("user_id").map(String::as_str) == Some(user_id)))
    }

    pub(crate) async fn create_customer(
        &self,
        email: &str,
        user_id: &str,
        payment_method: &str,
    ) -> Result<Customer, PaymentError> {
        self.post(
            "/v1/customers",
            &[
                ("email", email),
                ("metadata[user_id]", user_id),
                ("payment_method", payment_method),
                ("invoice_settings[default_payment_method]", payment_method),
            ],
        )
        .await
    }

    /// Attaches a new payment method to a known customer and makes it the
    /// one their invoices charge.
    pub(crate) async fn use_payment_method(
        &self,
        customer: &str,
        payment_method: &str,
    ) -> Result<(), PaymentError> {
        let _: Value = self
            .post(
                &format!(
                    "/v1/payment_methods/{}/attach",
                    path_segment(payment_method)?
                ),
                &[("customer", customer)],
            )
            .await?;
        let _: Value = self
            .post(
                &format!("/v1/customers/{}", path_segment(customer)?),
                &[("invoice_settings[default_payment_method]", payment_method)],
            )
            .await?;
        Ok(())
    }

    /// A subscription of `customer` to `price`, charged at once;
    /// `error_if_incomplete`: a declined first payment, or one that needs
    /// the customer's action, is a 402 and leaves no subscription.
    pub(crate) async fn create_subscription(
        &self,
        customer: &str,
        price: &str,
        user_id: &str,
    ) -> Result<Subscription, PaymentError> {
        // `items[0][plan]` rather than `items[0][price]`: Stripe takes a
        // Price id wherever a Plan id goes (Prices are backwards compatible
        // with Plans), and local Stripe servers know only plans.
        self.post(
            "/v1/subscriptions",
            &[
                ("customer", customer),
                ("items[0][plan]", price),
                ("metadata[user_id]", user_id),
                ("payment_behavior", "error_if_incomplete"),
            ],
        )
        .await
    }
}

/// An id as one URL path segment: Stripe ids are letters, digits and `_`.
fn path_segment(id: &str) -> Result<&str, PaymentError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(PaymentError::Refused(format!("{id:?} is not a Stripe id")))
    }
}
