//! The third floor: what the web app asks of outside providers, each
//! behind its port — OpenID Connect sign-in, the payment port (which names
//! no provider) and Stripe, its one provider besides the embedded one.
//! These use the domain (the paywall upgrades through `domain::plan`) and
//! the primitives, never an HTTP face.

pub mod oidc;
pub mod payment;
pub mod stripe;
