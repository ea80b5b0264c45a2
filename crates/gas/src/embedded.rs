//! The embedded backend: every port on SQLite files and directories under
//! the data directory, plus the machinery a cloud would run (timers firing,
//! SNS HTTP deliveries and their confirmation endpoint, retrievals finishing)
//! as background workers and routes.
//!
//! Layout of the data directory:
//! `jobs.sqlite` (jobs, users), `messaging.sqlite` (queues, topics, timers,
//! deliveries), `blobs/<bucket>/...`, `archive/` (cold store), `keys/`
//! (URL and SNS signing keys), `outbox/` (emails), `scratch/` (running jobs).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;
use gas_jobs::sqlite::{SqliteJobStore, SqliteUserStore};
use gas_messaging::local::{
    sns_cert_url, HttpDelivery, LocalMessaging, LocalSns, LocalTopic, QueueSettings, Redrive,
    SqliteTimer,
};
use gas_messaging::sns::{SnsSigner, SnsVerifier, VerifierConfig};
use gas_messaging::{Queue, Topic};
use gas_storage::dir::{
    DirArchiveSettings, DirArchiveStore, DirBlobStore, DownloadError, DownloadParams,
    LocalDownloads, UrlSigner,
};
use gas_util::OutboxMailer;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::config::Config;
use crate::ports::{BackendExtras, BoxedExtras, Ports};

/// How often the embedded machinery looks for due work.
const TICK: Duration = Duration::from_millis(200);

pub async fn open(config: &Config) -> Result<(Ports, BoxedExtras)> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    let web_url = config.web_url();
    let util_url = config.util_url();

    let jobs = Arc::new(SqliteJobStore::open(&dir.join("jobs.sqlite"))?);
    let users = Arc::new(SqliteUserStore::open(&dir.join("jobs.sqlite"))?);

    let messaging = LocalMessaging::open(&dir.join("messaging.sqlite"))?;
    let sns_base = format!("{util_url}/_sns");
    let signer = Arc::new(SnsSigner::load_or_create(
        &dir.join("keys"),
        sns_cert_url(&sns_base),
    )?);
    let sns = messaging.sns(&sns_base, signer)?;

    let name = |what: &str| config.aws_name(what);
    let topic =
        |what: &str| -> Result<Arc<LocalTopic>> { Ok(Arc::new(messaging.topic(&name(what))?)) };
    let queue = |what: &str| -> Result<Arc<dyn Queue>> {
        // A restore request stays queued while its retrievals run (hours on
        // Glacier's standard tier), received once per poll: that is not
        // failing, so its queue has no dead-letter redrive.
        let redrive = (what != "restore").then(|| Redrive {
            dead_letter_queue: name(&format!("{what}-dlq")),
            max_receives: config.max_receives,
        });
        let settings = QueueSettings {
            visibility_timeout: config.visibility(),
            redrive,
        };
        Ok(Arc::new(messaging.queue(&name(what), settings)?))
    };
    let requests_topic = topic("requests")?;
    let results_topic = topic("results")?;
    let archive_topic = topic("archive")?;
    let restore_topic = topic("restore")?;
    let thaw_topic = topic("thaw")?;
    for (topic, what) in [
        (&requests_topic, "requests"),
        (&results_topic, "results"),
        (&archive_topic, "archive"),
        (&restore_topic, "restore"),
        (&thaw_topic, "thaw"),
    ] {
        topic.subscribe_queue(&name(what)).await?;
    }
    let timer = Arc::new(messaging.timer(&name("archive"), archive_topic.clone())?);

    let url_signer =
        UrlSigner::load_or_create(&dir.join("keys"), web_url.parse().context("the web URL")?)?;
    let inputs = Arc::new(DirBlobStore::new(
        dir.join("blobs"),
        name("inputs"),
        url_signer.clone(),
    )?);
    let results = Arc::new(DirBlobStore::new(
        dir.join("blobs"),
        name("results"),
        url_signer,
    )?);
    let mut downloads = LocalDownloads::new();
    downloads.register(Arc::clone(&results));

    let archive = Arc::new(DirArchiveStore::new(
        dir.join("archive"),
        DirArchiveSettings {
            expedited_delay: Duration::from_millis(config.expedited_retrieval_ms),
            standard_delay: Duration::from_millis(config.standard_retrieval_ms),
            refuse_expedited: config.refuse_expedited,
            ..DirArchiveSettings::default()
        },
        Some(thaw_topic.clone() as Arc<dyn Topic>),
    )?);

    let mut trusted = vec![format!("{sns_base}/")];
    trusted.extend(config.sns_cert_url_prefixes.iter().cloned());
    let verifier = Arc::new(SnsVerifier::new(VerifierConfig {
        trusted_cert_url_prefixes: trusted,
        allowed_topic_arns: vec![
            archive_topic.arn().to_string(),
            restore_topic.arn().to_string(),
            thaw_topic.arn().to_string(),
        ],
        emulator_endpoint: None,
    })?);
    info!(data_dir = %dir.display(), "embedded backend opened");

    let webhook_topics = vec![
        (Arc::clone(&archive_topic), format!("{util_url}/archive")),
        (Arc::clone(&restore_topic), format!("{util_url}/restore")),
        (Arc::clone(&thaw_topic), format!("{util_url}/thaw")),
    ];
    let ports = Ports {
        // The upload page posts to the web service, which streams the file.
        browser_upload: None,
        jobs,
        users,
        inputs,
        results,
        archive: archive.clone(),
        requests_topic,
        results_topic,
        archive_topic,
        restore_topic,
        thaw_topic,
        requests_queue: queue("requests")?,
        results_queue: queue("results")?,
        archive_queue: queue("archive")?,
        restore_queue: queue("restore")?,
        thaw_queue: queue("thaw")?,
        archive_timer: timer.clone(),
        verifier,
        mailer: Arc::new(OutboxMailer::new(
            dir.join("outbox"),
            "GAS <noreply@gas.local>",
        )),
    };
    let extras = EmbeddedExtras {
        webhook_topics,
        delivery: sns.delivery()?,
        sns,
        timer,
        archive,
        downloads: Arc::new(downloads),
    };
    Ok((ports, Box::new(extras)))
}

struct EmbeddedExtras {
    /// The util webhooks' topics and the endpoints they POST to.
    webhook_topics: Vec<(Arc<LocalTopic>, String)>,
    sns: LocalSns,
    delivery: HttpDelivery,
    timer: Arc<SqliteTimer>,
    archive: Arc<DirArchiveStore>,
    downloads: Arc<LocalDownloads>,
}

impl BackendExtras for EmbeddedExtras {
    /// Serves the signed download URLs of the directory buckets (what S3's
    /// presigned URLs are on AWS).
    fn web_routes(&self) -> Router {
        Router::new()
            .route("/blobs/{bucket}/{*key}", get(download))
            .with_state(Arc::clone(&self.downloads))
    }

    /// The SNS endpoints that SigningCertURL and SubscribeURL name.
    fn util_routes(&self) -> Router {
        Router::new()
            .route("/_sns/cert.pem", get(cert))
            .route("/_sns/confirm", get(confirm))
            .with_state(self.sns.clone())
    }

    /// Subscribes util's webhooks to their topics, and drops subscriptions
    /// to any other address (left by a util that ran on another port, they
    /// would only retry into the void). Only the process that serves util
    /// does this: an admin command or a web process with other addresses
    /// configured must not move util's subscriptions.
    fn prepare_util(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            for (topic, endpoint) in &self.webhook_topics {
                topic.subscribe_http(endpoint).await?;
                for (subscription_arn, old) in topic.http_subscriptions().await? {
                    if &old != endpoint {
                        self.sns.unsubscribe(&subscription_arn).await?;
                        info!(endpoint = %old, "removed the subscription of a previous util address");
                    }
                }
            }
            Ok(())
        })
    }

    fn spawn_workers(&self, tasks: &mut JoinSet<()>, shutdown: watch::Receiver<bool>) {
        let timer = SqliteTimer::clone(&self.timer);
        tasks.spawn(timer.run(TICK, shutdown.clone()));
        tasks.spawn(self.delivery.clone().run(shutdown.clone()));
        tasks.spawn(Arc::clone(&self.archive).run_notifier(TICK, shutdown));
    }
}

async fn download(
    State(downloads): State<Arc<LocalDownloads>>,
    Path((bucket, key)): Path<(String, String)>,
    Query(params): Query<DownloadParams>,
) -> Response {
    match downloads
        .open(&bucket, &key, &params, gas_jobs::now_epoch())
        .await
    {
        Ok(download) => {
            let disposition = format!(
                "attachment; filename=\"{}\"",
                download.file_name.replace(['"', '\\'], "_")
            );
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "text/plain; charset=utf-8".to_string(),
                    ),
                    (header::CONTENT_LENGTH, download.size.to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                    // A results file is text anyone's input shaped: never
                    // let a browser take it for a page.
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                ],
                Body::from_stream(download.body),
            )
                .into_response()
        }
        Err(DownloadError::Url(e)) => (StatusCode::FORBIDDEN, format!("{e}\n")).into_response(),
        Err(DownloadError::UnknownBucket(_))
        | Err(DownloadError::Blob(gas_storage::BlobError::NotFound(_))) => {
            (StatusCode::NOT_FOUND, "no such object\n").into_response()
        }
        Err(e) => {
            warn!(error = %e, "download failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

async fn cert(State(sns): State<LocalSns>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        sns.cert_pem().to_string(),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfirmQuery {
    action: String,
    topic_arn: String,
    token: String,
}

async fn confirm(State(sns): State<LocalSns>, Query(q): Query<ConfirmQuery>) -> Response {
    if q.action != "ConfirmSubscription" {
        return (StatusCode::BAD_REQUEST, "unsupported action\n").into_response();
    }
    match sns.confirm_subscription(&q.topic_arn, &q.token).await {
        Ok(arn) => (
            [(header::CONTENT_TYPE, "text/xml")],
            format!(
                "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>{arn}</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>\n"
            ),
        )
            .into_response(),
        Err(gas_messaging::MessagingError::NotFound(_) | gas_messaging::MessagingError::Invalid(_)) => {
            (StatusCode::NOT_FOUND, "no such pending subscription\n").into_response()
        }
        Err(e) => {
            warn!(error = %e, "confirming a subscription failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}
