//! Who is looking at a page: the pages' extractors, on the session
//! primitives.

use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use gas_jobs::User;

use crate::domain::accounts::ClientAddr;
use crate::pages::error::PageError;
use crate::state::WebState;

/// Whoever is looking at a page: a signed-in user or no one.
pub struct Viewer(pub Option<User>);

impl FromRequestParts<Arc<WebState>> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Viewer(state.sessions().user(&parts.headers).await?))
    }
}

/// A signed-in user; anyone else is sent to `/login`, and back afterwards.
pub struct SignedIn(pub User);

impl FromRequestParts<Arc<WebState>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        match state.sessions().user(&parts.headers).await {
            Ok(Some(user)) => Ok(SignedIn(user)),
            Ok(None) => {
                let here = parts
                    .extensions
                    .get::<OriginalUri>()
                    .map(|u| u.0.to_string())
                    .unwrap_or_else(|| parts.uri.to_string());
                let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// The client's address for the sign-in limits, read where requests are:
/// the accounts module knows addresses, not requests.
impl FromRequestParts<Arc<WebState>> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        // Present when the server was made with
        // `into_make_service_with_connect_info`, as `gas` serves it.
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0);
        // The last header: the one the load balancer appended to.
        let forwarded_for = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok());
        Ok(ClientAddr::from_parts(
            forwarded_for,
            peer,
            state.settings.trust_forwarded_for,
        ))
    }
}
