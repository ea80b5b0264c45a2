//! Wires the three services onto one backend's ports. Nothing here but
//! [`open`] and [`provision`] knows which backend it is: `embedded` and
//! `aws` build the [`Ports`] (defined in `ports`, below all three).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use gas_ann::{Runner, RunnerPorts, RunnerSettings};
use gas_util::{Archiver, Drainer, Endpoint, Notifier, Restorer, WebhookState};
use gas_web::{WebPorts, WebSettings, WebState};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
pub use crate::ports::{BackendExtras, BoxedExtras, Ports};
// The loaders `gas annotate` and the runner share, where the lean
// `gas-annotate` binary can use them too.
pub use gas_annotate_cli::{load_consequences, load_tracks};

/// The OpenID Connect providers the configuration names: one from the
/// `oidc_*` keys (GAS_OIDC_ISSUER, ...), more from `oidc_providers`.
pub fn identity_providers(config: &Config) -> Result<Vec<Arc<gas_web::oidc::Provider>>> {
    let mut all = Vec::new();
    if let Some(issuer) = &config.oidc_issuer {
        let client_id = config
            .oidc_client_id
            .clone()
            .context("oidc_issuer is set but oidc_client_id is not")?;
        let host = url::Url::parse(issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| issuer.clone());
        all.push(crate::config::OidcProviderConfig {
            id: "oidc".into(),
            name: config.oidc_name.clone().unwrap_or(host),
            issuer: issuer.clone(),
            client_id,
            client_secret: config.oidc_client_secret.clone(),
            client_secret_file: config.oidc_client_secret_file.clone(),
            scopes: config.oidc_scopes.clone(),
        });
    }
    all.extend(config.oidc_providers.iter().cloned());
    let mut providers = Vec::new();
    for p in all {
        anyhow::ensure!(
            !p.id.is_empty() && p.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "OIDC provider id {:?} must be letters, digits and dashes",
            p.id
        );
        anyhow::ensure!(
            providers
                .iter()
                .all(|q: &Arc<gas_web::oidc::Provider>| q.settings.id != p.id),
            "two OIDC providers have the id {:?}",
            p.id
        );
        let client_secret = match (&p.client_secret, &p.client_secret_file) {
            (Some(secret), _) => secret.expose().to_string(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the client secret of OIDC provider {}", p.id))?
                .trim()
                .to_string(),
            (None, None) => anyhow::bail!("OIDC provider {} has no client secret", p.id),
        };
        tracing::info!(provider = %p.id, issuer = %p.issuer, "OpenID Connect sign-in enabled");
        providers.push(Arc::new(gas_web::oidc::Provider::new(
            gas_web::oidc::ProviderSettings {
                id: p.id,
                name: p.name,
                issuer: p.issuer,
                client_id: p.client_id,
                client_secret,
                scopes: p.scopes,
            },
        )));
    }
    Ok(providers)
}

/// The key that signs what browsers carry back: configured, or on the
/// embedded backend kept in the data directory. On AWS every web instance
/// needs the same one, so it must be configured when anything uses it.
pub fn web_secret(config: &Config, providers: usize) -> Result<Vec<u8>> {
    if let Some(secret) = &config.secret_key {
        anyhow::ensure!(
            secret.expose().len() >= 32,
            "secret_key must have at least 32 characters"
        );
        return Ok(secret.expose().as_bytes().to_vec());
    }
    match config.backend {
        crate::config::Backend::Embedded => Ok(gas_storage::dir::load_or_create_secret(
            &config.data_dir.join("keys"),
            "web-secret.key",
        )
        .context("the web secret key")?
        .to_vec()),
        crate::config::Backend::Aws => {
            anyhow::ensure!(
                providers == 0,
                "secret_key (GAS_SECRET_KEY) must be set when OpenID Connect sign-in is configured on AWS: every web instance needs the same one"
            );
            // Nothing uses it: any key will do.
            Ok(gas_web::random_key())
        }
    }
}

/// Who takes payment for Premium: Stripe when its secret key, webhook
/// secret and price are all configured, else the embedded provider that
/// upgrades at once (so `gas dev` needs no account). The choice is logged,
/// the secrets never.
pub fn payment_provider(config: &Config) -> Result<Arc<dyn gas_web::PaymentProvider>> {
    let stripe = (
        config.stripe_secret_key.as_ref(),
        config.stripe_webhook_secret.as_ref(),
        config.stripe_price_id.as_ref(),
    );
    match stripe {
        (Some(secret_key), Some(webhook_secret), Some(price_id)) => {
            let settings = gas_web::stripe::StripeSettings {
                secret_key: secret_key.expose().to_string(),
                webhook_secret: webhook_secret.expose().to_string(),
                price_id: price_id.clone(),
                publishable_key: config.stripe_publishable_key.clone(),
                api_base: config.stripe_api_base.clone(),
            };
            if settings.publishable_key.is_none() {
                tracing::warn!("stripe_publishable_key is not set: the subscribe page cannot collect cards");
            }
            tracing::info!(
                provider = "stripe",
                api = %settings.api_base,
                price = %settings.price_id,
                webhook = %format!("{}/stripe/webhook", config.web_url()),
                "payments"
            );
            Ok(Arc::new(
                gas_web::stripe::StripePayments::new(&settings).context("setting up Stripe")?,
            ))
        }
        (None, None, None) => {
            tracing::info!(provider = "instant", "payments (no Stripe configured: upgrades are free and immediate)");
            Ok(Arc::new(gas_web::InstantPayments))
        }
        _ => anyhow::bail!(
            "Stripe needs all of stripe_secret_key, stripe_webhook_secret and stripe_price_id \
             (GAS_STRIPE_SECRET_KEY, GAS_STRIPE_WEBHOOK_SECRET, GAS_STRIPE_PRICE_ID); some are missing"
        ),
    }
}

pub fn web_router(config: &Config, ports: &Ports, extras: &dyn BackendExtras) -> Result<Router> {
    let identity_providers = identity_providers(config)?;
    let secret_key = web_secret(config, identity_providers.len())?;
    let state = WebState::new(
        WebPorts {
            jobs: Arc::clone(&ports.jobs),
            users: Arc::clone(&ports.users),
            inputs: Arc::clone(&ports.inputs),
            results: Arc::clone(&ports.results),
            requests_topic: Arc::clone(&ports.requests_topic),
            restore_topic: Arc::clone(&ports.restore_topic),
            archive_timer: Arc::clone(&ports.archive_timer),
            payments: payment_provider(config)?,
            browser_upload: ports.browser_upload.clone(),
            identity_providers,
        },
        WebSettings {
            free_access_window: config.free_window(),
            free_upload_limit: config.free_upload_limit,
            max_upload: config.max_upload,
            download_ttl: Duration::from_secs(config.download_url_ttl),
            key_prefix: config.key_prefix.clone(),
            public_url: config.web_url(),
            session_ttl: Duration::from_secs(config.session_ttl),
            secret_key,
            requeue_after: Duration::from_secs(config.requeue_after),
            password_hash_concurrency: config.password_hash_concurrency,
            trust_forwarded_for: config.trust_forwarded_for,
        },
    );
    Ok(crate::serve::with_ops_routes(
        gas_web::router(state).merge(extras.web_routes()),
        "web",
        Arc::clone(&ports.jobs),
    ))
}

/// Loads the configured reference tracks (once per runner process).
pub fn annotation_tracks(config: &Config) -> Result<Vec<gas_annotate::Track>> {
    let tracks = load_tracks(&config.annotation_tracks)?;
    for track in &tracks {
        tracing::info!(
            track = track.name(),
            records = track.records(),
            assembly = track.assembly(),
            "annotation track loaded"
        );
    }
    Ok(tracks)
}

/// The configured consequence annotation (once per runner process).
pub fn annotation_consequences(
    config: &Config,
) -> Result<Option<Arc<gas_annotate::consequence::Consequences>>> {
    // The default names the built-in genome; without models it is unused.
    let reference = (!config.annotation_reference.is_empty()
        && !config.annotation_transcripts.is_empty())
    .then_some(config.annotation_reference.as_str());
    load_consequences(
        &config.annotation_transcripts,
        reference,
        config.annotation_pick.into(),
    )
}

pub fn runner(config: &Config, ports: &Ports) -> Result<Arc<Runner>> {
    let mut settings = RunnerSettings::new(config.data_dir.join("scratch"), config.free_window());
    settings.annotate.tracks = annotation_tracks(config)?;
    settings.annotate.consequences = annotation_consequences(config)?;
    settings.lease = config.visibility().max(Duration::from_secs(30)) * 2;
    settings.heartbeat = settings.lease / 4;
    settings.input_limits = gas_ann::InputLimits {
        free_upload_limit: config.free_upload_limit,
        max_upload: config.max_upload,
        max_inflate_ratio: config.max_inflate_ratio,
    };
    Ok(Arc::new(Runner::new(
        RunnerPorts {
            jobs: Arc::clone(&ports.jobs),
            users: Arc::clone(&ports.users),
            inputs: Arc::clone(&ports.inputs),
            results: Arc::clone(&ports.results),
            requests: Arc::clone(&ports.requests_queue),
            completions: Arc::clone(&ports.results_topic),
            archive_timer: Arc::clone(&ports.archive_timer),
        },
        settings,
    )))
}

/// The util service: its webhooks and the drainers behind them.
pub struct Util {
    pub router: Router,
    pub drainers: Vec<Arc<Drainer>>,
}

pub fn util(config: &Config, ports: &Ports, extras: &dyn BackendExtras) -> Util {
    let visibility = config.visibility();
    let archiver = Arc::new(Archiver {
        jobs: Arc::clone(&ports.jobs),
        users: Arc::clone(&ports.users),
        results: Arc::clone(&ports.results),
        archive: Arc::clone(&ports.archive),
        restore_topic: Arc::clone(&ports.restore_topic),
    });
    let restorer = Arc::new(Restorer {
        jobs: Arc::clone(&ports.jobs),
        users: Arc::clone(&ports.users),
        results: Arc::clone(&ports.results),
        archive: Arc::clone(&ports.archive),
        poll_interval: Duration::from_secs(config.restore_poll_interval),
    });
    let (restore_handler, thaw_handler) = gas_util::restore_handlers(restorer);
    let notifier = Arc::new(Notifier {
        users: Arc::clone(&ports.users),
        mailer: Arc::clone(&ports.mailer),
        web_url: config.web_url(),
    });
    let archive = Arc::new(Drainer::new(
        Arc::clone(&ports.archive_queue),
        archiver,
        visibility,
    ));
    let restore = Arc::new(Drainer::new(
        Arc::clone(&ports.restore_queue),
        restore_handler,
        visibility,
    ));
    let thaw = Arc::new(Drainer::new(
        Arc::clone(&ports.thaw_queue),
        thaw_handler,
        visibility,
    ));
    let notify = Arc::new(Drainer::new(
        Arc::clone(&ports.results_queue),
        notifier,
        visibility,
    ));
    let state = WebhookState {
        verifier: Arc::clone(&ports.verifier),
        http: reqwest::Client::new(),
        archive: Endpoint::new(ports.archive_topic.arn(), Arc::clone(&archive)),
        restore: Endpoint::new(ports.restore_topic.arn(), Arc::clone(&restore)),
        thaw: Endpoint::new(ports.thaw_topic.arn(), Arc::clone(&thaw)),
    };
    let router = gas_util::router(state).merge(extras.util_routes());
    Util {
        router: crate::serve::with_ops_routes(router, "util", Arc::clone(&ports.jobs)),
        drainers: vec![archive, restore, thaw, notify],
    }
}

/// Starts the util service's periodic drains (the notifier has no webhook,
/// so for it this is the only drain; it runs more often).
pub fn spawn_drains(
    config: &Config,
    util: &Util,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    for drainer in &util.drainers {
        let every = if drainer.name() == "notify" {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(config.drain_interval.max(1))
        };
        tasks.spawn(Arc::clone(drainer).run_periodic(every, shutdown.clone()));
    }
}

pub fn spawn_runners(
    config: &Config,
    runner: &Arc<Runner>,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    for _ in 0..config.ann_workers {
        tasks.spawn(Arc::clone(runner).run(shutdown.clone()));
    }
}

/// Creates the configured backend's resources (idempotent).
pub async fn provision(config: &Config) -> Result<()> {
    match config.backend {
        crate::config::Backend::Embedded => crate::embedded::open(config).await.map(|_| ()),
        crate::config::Backend::Aws => crate::aws::provision(config).await,
    }
}

/// Opens the configured backend.
pub async fn open(config: &Config) -> Result<(Ports, BoxedExtras)> {
    match config.backend {
        crate::config::Backend::Embedded => crate::embedded::open(config).await,
        crate::config::Backend::Aws => crate::aws::open(config).await,
    }
}
