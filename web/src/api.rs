use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use gas_jobs::{Job, StoreError};
use serde::Deserialize;
use serde_json::json;
use tracing::{info_span, Instrument};

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::payment::PaymentError;
use crate::upgrade::{SubscribeError, Subscription};
use crate::view::job_json;
use crate::WebState;

type AppState = State<Arc<WebState>>;

/// One operation of the JSON API: a path (axum's syntax, which is also
/// OpenAPI's), a method and the handler that answers it.
pub(crate) struct ApiRoute {
    pub path: &'static str,
    pub method: Method,
    handler: fn(MethodFilter) -> MethodRouter<Arc<WebState>>,
}

/// Every operation of the JSON API. [`routes`] mounts exactly these, and
/// the OpenAPI document (`crate::openapi`) must describe exactly these: its
/// tests compare the two, so a route added here without its description
/// (or the other way round) fails them.
pub(crate) const ROUTES: &[ApiRoute] = &[
    ApiRoute {
        path: "/api/v1/jobs",
        method: Method::POST,
        handler: |m| on(m, create_job),
    },
    ApiRoute {
        path: "/api/v1/jobs",
        method: Method::GET,
        handler: |m| on(m, list_jobs),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}",
        method: Method::GET,
        handler: |m| on(m, get_job),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}/results",
        method: Method::GET,
        handler: |m| on(m, get_results),
    },
    ApiRoute {
        path: "/api/v1/jobs/{id}/log",
        method: Method::GET,
        handler: |m| on(m, get_log),
    },
    ApiRoute {
        path: "/api/v1/me",
        method: Method::GET,
        handler: |m| on(m, me),
    },
    ApiRoute {
        path: "/api/v1/me/upgrade",
        method: Method::POST,
        handler: |m| on(m, upgrade),
    },
    ApiRoute {
        path: crate::openapi::PATH,
        method: Method::GET,
        handler: |m| on(m, crate::openapi::serve),
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
}

fn window_secs(state: &WebState) -> i64 {
    state.settings.free_access_window.as_secs() as i64
}

/// The caller's own job; anyone else's is indistinguishable from none.
pub(crate) async fn own_job(
    state: &WebState,
    user: &gas_jobs::User,
    job_id: &str,
) -> Result<Job, ApiError> {
    match state.ports.jobs.get(job_id).await? {
        Some(job) if job.user_id == user.user_id => {
            Ok(crate::requeue::requeue_if_stalled(state, job).await)
        }
        _ => Err(ApiError::NotFound),
    }
}

/// What the API shows of a user (never the secrets' hashes).
fn profile(user: &gas_jobs::User) -> serde_json::Value {
    json!({ "user_id": user.user_id, "email": user.email, "role": user.role })
}

async fn me(CurrentUser(user): CurrentUser) -> Json<serde_json::Value> {
    Json(profile(&user))
}

/// `?limit=&cursor=`. An empty value is the same as none (20 jobs, the
/// first page); a limit outside 1..=100 is taken as the nearer of the two.
#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref().unwrap_or_default() {
            "" => Ok(20),
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(digits.parse::<usize>().unwrap_or(usize::MAX).clamp(1, 100))
            }
            other => Err(ApiError::BadRequest(format!(
                "limit must be a whole number, not {other:?}"
            ))),
        }
    }

    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

async fn list_jobs(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit()?;
    let page = match state
        .ports
        .jobs
        .list_for_user(&user.user_id, limit, query.cursor())
        .await
    {
        Ok(page) => page,
        Err(StoreError::BadCursor) => return Err(ApiError::BadRequest("invalid cursor".into())),
        Err(e) => return Err(e.into()),
    };
    let window = window_secs(&state);
    let mut jobs = Vec::with_capacity(page.items.len());
    for job in page.items {
        let job = crate::requeue::requeue_if_stalled(&state, job).await;
        jobs.push(job_json(&job, user.role, window));
    }
    Ok(Json(json!({ "jobs": jobs, "next": page.next })))
}

async fn get_job(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(job_id) = job_id?;
    let job = own_job(&state, &user, &job_id).await?;
    Ok(Json(job_json(&job, user.role, window_secs(&state))))
}

async fn get_results(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(job_id) = job_id?;
    let job = own_job(&state, &user, &job_id).await?;
    let url = crate::view::results_url(&state, &user, &job).await?;
    Ok(Redirect::to(&url).into_response())
}

async fn get_log(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    job_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(job_id) = job_id?;
    let job = own_job(&state, &user, &job_id).await?;
    let Some(log_key) = job.s3_key_log_file.as_deref() else {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "the job is {}; its log is written when it ends",
                job.job_status.as_str()
            ),
        ));
    };
    let body = state.ports.results.get(log_key).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from_stream(body),
    )
        .into_response())
}

/// What `POST /api/v1/me/upgrade` may carry: for a provider that takes a
/// card, the payment method its script made (Stripe: `pm_...`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpgradeBody {
    /// Absent, or a string: `null` is refused as the document says.
    #[serde(default, deserialize_with = "present_string")]
    payment_method: Option<String>,
}

fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// Premium through the API, behind the same paywall as the subscribe page
/// (`crate::upgrade::subscribe`): the payment provider decides.
async fn upgrade(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: UpgradeBody = if body.iter().all(u8::is_ascii_whitespace) {
        UpgradeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body must be empty or a JSON object {{\"payment_method\": \"...\"}}: {e}"
            ))
        })?
    };
    let form = crate::payment::SubscribeForm {
        payment_method: body.payment_method,
    };
    let span =
        info_span!("upgrade", user_id = %user.user_id, provider = state.ports.payments.name());
    let outcome = crate::upgrade::subscribe(&state.ports, &user, &form)
        .instrument(span)
        .await;
    match outcome {
        Ok(Subscription::Upgraded(user) | Subscription::AlreadyPremium(user)) => {
            Ok(Json(profile(&user)))
        }
        Ok(Subscription::Checkout(url)) => Err(ApiError::refused(
            StatusCode::PAYMENT_REQUIRED,
            "payment_required",
            format!("Premium is paid for first: finish at {url}"),
        )),
        Err(SubscribeError::Payment(PaymentError::Refused(why))) => Err(ApiError::refused(
            StatusCode::PAYMENT_REQUIRED,
            "payment_required",
            format!(
                "Premium is paid for first; the payment provider refused ({why}). \
                 Subscribe on the web app's /subscribe page, or send the payment_method \
                 your provider's script made. Nothing was charged."
            ),
        )),
        Err(SubscribeError::Payment(e @ PaymentError::Backend(_))) => {
            tracing::warn!(error = %e, "the payment provider failed");
            Err(ApiError::refused(
                StatusCode::BAD_GATEWAY,
                "payment_unavailable",
                "the payment provider could not be reached; nothing was charged, try again",
            ))
        }
        Err(SubscribeError::Upgrade(e)) => Err(ApiError::Internal(e)),
    }
}

async fn create_job(
    State(state): AppState,
    CurrentUser(user): CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let mut multipart = multipart?;
    loop {
        let field = multipart.next_field().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::from(e),
            _ => ApiError::BadRequest(format!("malformed multipart body: {e}")),
        })?;
        let Some(field) = field else {
            return Err(ApiError::BadRequest(
                "the multipart field `file` is missing".into(),
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let span = info_span!("upload", user_id = %user.user_id);
        let job = crate::upload::accept_field(&state, &user, field)
            .instrument(span)
            .await?;
        return Ok((
            StatusCode::CREATED,
            Json(job_json(&job, user.role, window_secs(&state))),
        ));
    }
}
