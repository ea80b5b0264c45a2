//! The JSON API (DESIGN section 6): one face of the web app. Its own
//! extractor ([`auth::CurrentUser`]: a Bearer token, or the session cookie
//! with the page's token in a header), its handlers, its errors (one match
//! from a domain refusal to status, reason and words: [`error`]), the
//! OpenAPI document and the payment provider's webhook. It uses the floors
//! below (state, integrations, domain, primitives), never the pages.

mod account;
mod auth;
mod error;
mod jobs;
mod openapi;
mod variants;
mod webhooks;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::state::WebState;

/// One operation of the JSON API: a path (axum's syntax, which is also
/// OpenAPI's), a method and the handler that answers it.
struct ApiRoute {
    path: &'static str,
    method: Method,
    handler: fn(MethodFilter) -> MethodRouter<Arc<WebState>>,
}

/// Every operation of the JSON API. [`routes`] mounts exactly these, and
/// the OpenAPI document ([`openapi`]) must describe exactly these: the
/// tests below compare the two, so a route added here without its description
/// (or the other way round) fails them.
const ROUTES: &[ApiRoute] = &[
    ApiRoute {
        path: "/api/v1/jobs",
        method: Method::POST,
        handler: |m| on(m, jobs::create_job),
    },
    ApiRoute {
        path: "/api/v1/jobs",
        method: Method::GET,
        handler: |m| on(m, jobs::list_jobs),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}",
        method: Method::GET,
        handler: |m| on(m, jobs::get_job),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}/results",
        method: Method::GET,
        handler: |m| on(m, jobs::get_results),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}/log",
        method: Method::GET,
        handler: |m| on(m, jobs::get_log),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}/variants",
        method: Method::GET,
        handler: |m| on(m, variants::get_variants),
    },
    ApiRoute {
        path: "/api/v1/me",
        method: Method::GET,
        handler: |m| on(m, account::me),
    },
    ApiRoute {
        path: "/api/v1/me/upgrade",
        method: Method::POST,
        handler: |m| on(m, account::upgrade),
    },
    ApiRoute {
        path: openapi::PATH,
        method: Method::GET,
        handler: |m| on(m, openapi::serve),
    },
];

pub fn routes(max_upload: u64) -> Router<Arc<WebState>> {
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            let filter = MethodFilter::try_from(route.method.clone())
                .expect("API routes use the standard methods");
            router.route(route.path, (route.handler)(filter))
        })
        // The upload limit is enforced while streaming (per role); this only
        // lifts axum's small default so that the stream gets that far.
        .layer(DefaultBodyLimit::max(
            usize::try_from(max_upload)
                .unwrap_or(usize::MAX)
                .saturating_add(64 * 1024),
        ))
        // Outside the upload limit: a payment event is small.
        .merge(webhooks::routes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_document_describes_exactly_the_routes() {
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.path.to_string(), r.method.as_str().to_ascii_lowercase()))
            .collect();
        assert_eq!(routed.len(), ROUTES.len(), "a route is listed twice");
        let documented = openapi::tests::documented();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes without a description: {undocumented:?}; descriptions without a route: {unrouted:?}"
        );
    }
}
