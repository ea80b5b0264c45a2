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

/// Tracks named as the configuration and `gas annotate --track` name them:
/// `builtin` for the tracks the binary ships, else a BED or VCF path, or
/// `FILE:FIELD,...` for a VCF whose INFO fields are copied
/// (`clinvar.vcf.gz:CLNSIG,CLNDN`, `gnomad.vcf.gz:AF=gnomAD_AF`; see
/// [`gas_annotate::TrackSpec::parse`]). The built-in tracks come first, then
/// the others in the order named. Two tracks copying the same field are
/// refused.
///
/// The environment splits its list at commas, which also separate fields:
/// an entry that is only a field (`CLNDN`, `AF=NAME`), names no file and
/// follows an entry with fields continues that entry's field list, so
/// `builtin,clinvar.vcf.gz:CLNSIG,CLNDN` there is two entries, not three.
pub fn load_tracks(entries: &[String]) -> Result<Vec<gas_annotate::Track>> {
    use gas_annotate::{Track, TrackField, TrackSpec};
    let mut tracks = Vec::new();
    let mut specs: Vec<TrackSpec> = Vec::new();
    // Whether the previous entry was a track with fields (the last spec).
    let mut continues = false;
    for entry in entries {
        if entry == "builtin" {
            tracks.extend(
                gas_annotate::reference::default_tracks().context("loading the built-in tracks")?,
            );
            continues = false;
            continue;
        }
        if continues && !std::path::Path::new(entry).exists() {
            if let (Some(field), Some(last)) = (TrackField::parse(entry), specs.last_mut()) {
                last.fields.push(field);
                continue;
            }
        }
        let spec = TrackSpec::parse(entry).context("reading the annotation track names")?;
        anyhow::ensure!(
            spec.fields.is_empty() || spec.path.as_os_str() != "builtin",
            "track {entry}: the built-in tracks copy no INFO fields"
        );
        continues = !spec.fields.is_empty();
        specs.push(spec);
    }
    tracks.extend(Track::load_specs(&specs).context("loading the annotation tracks")?);
    Track::check_fields(&tracks).context("loading the annotation tracks")?;
    Ok(tracks)
}

/// Consequence annotation as the configuration and `gas annotate
/// --transcripts/--reference` name it: `builtin` for the mitochondrial
/// models and genome the binary ships, else paths. `None` when no
/// transcript models are named. Loaded once per process.
pub fn load_consequences(
    transcripts: &[String],
    reference: Option<&str>,
    pick: gas_annotate::consequence::Pick,
) -> Result<Option<Arc<gas_annotate::consequence::Consequences>>> {
    use gas_annotate::consequence::{Consequences, Source};
    if transcripts.is_empty() {
        anyhow::ensure!(
            reference.is_none(),
            "a reference genome was named without transcript models: consequences need both"
        );
        return Ok(None);
    }
    let (builtin_transcripts, builtin_reference) = gas_annotate::reference::mt_sources();
    // Hashing a whole genome takes about as long as parsing the models:
    // do both at once.
    let genome_hash = reference.filter(|r| *r != "builtin").map(|path| {
        let path = std::path::PathBuf::from(path);
        std::thread::spawn(move || Source::of_file(&path))
    });
    let mut sets = Vec::new();
    for entry in transcripts {
        if entry == "builtin" {
            let index = gas_annotate::reference::mt_transcripts()
                .context("loading the built-in transcript models")?;
            sets.push((index, builtin_transcripts.clone()));
        } else {
            // Parsed and hashed in one read of the file.
            let path = std::path::Path::new(entry);
            let file = std::fs::File::open(path)
                .with_context(|| format!("opening the transcript models {entry}"))?;
            let mut reader = gas_annotate::consequence::HashingReader::new(
                std::io::BufReader::with_capacity(1 << 20, file),
            );
            let index = gas_annotate::TranscriptIndex::from_reader(entry, &mut reader)
                .with_context(|| format!("loading the transcript models {entry}"))?;
            let source = reader
                .finish(path)
                .with_context(|| format!("reading {entry}"))?;
            sets.push((index, source));
        }
    }
    for (index, source) in &sets {
        let warnings = index.warnings();
        tracing::info!(
            models = %source.name,
            transcripts = index.len(),
            genes = index.gene_count(),
            skipped = warnings.total_skipped(),
            "transcript models loaded"
        );
        for reason in gas_annotate::transcript::SkipReason::ALL {
            let n = warnings.skipped(reason);
            if n > 0 {
                tracing::warn!(
                    models = %source.name,
                    skipped = n,
                    reason = reason.describe(),
                    examples = ?warnings.examples(reason),
                    "transcripts skipped"
                );
            }
        }
    }
    let reference = match reference {
        None => None,
        Some("builtin") => Some((
            gas_annotate::reference::mt_reference().context("loading the built-in genome")?,
            builtin_reference,
        )),
        Some(path) => {
            let genome = gas_annotate::Reference::open(path)
                .with_context(|| format!("opening the reference genome {path}"))?;
            let source = genome_hash
                .expect("started for a path")
                .join()
                .map_err(|_| anyhow::anyhow!("hashing {path} panicked"))?
                .with_context(|| format!("reading {path}"))?;
            Some((genome, source))
        }
    };
    if let Some((genome, source)) = &reference {
        let known = sets.iter().any(|(index, _)| {
            index
                .transcripts()
                .take(1000)
                .any(|t| genome.contig_len(t.contig()).is_some())
        });
        anyhow::ensure!(
            known || sets.iter().all(|(index, _)| index.is_empty()),
            "the reference genome {} has none of the transcript models' contigs",
            source.name
        );
        tracing::info!(reference = %source.name, contigs = genome.contigs().count(), "reference genome loaded");
    }
    Ok(Some(Arc::new(Consequences::new(sets, reference, pick))))
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

#[cfg(test)]
mod load_tracks_tests {
    use super::load_tracks;

    const CLINVAR: &str = "##fileformat=VCFv4.1\n\
        ##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Significance\">\n\
        ##INFO=<ID=AF,Number=A,Type=Float,Description=\"Frequency\">\n\
        #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
        1\t5\t1\tA\tG\t.\t.\tCLNSIG=Benign;AF=0.5\n";

    #[test]
    fn entries_name_files_fields_and_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let clinvar = dir.path().join("clin:var.vcf");
        std::fs::write(&clinvar, CLINVAR).unwrap();
        let clinvar = clinvar.display().to_string();
        let entries = [
            format!("{clinvar}:CLNSIG,AF=CLN_AF"),
            "builtin".to_string(),
            clinvar.clone(),
        ];
        let tracks = load_tracks(&entries).unwrap();
        let fields: Vec<(String, Vec<String>)> = tracks
            .iter()
            .map(|t| {
                (
                    t.name().to_string(),
                    t.fields().map(ToString::to_string).collect(),
                )
            })
            .collect();
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                gas_annotate::reference::GENES_NAME,
                gas_annotate::reference::DBSNP_NAME,
                "clin:var.vcf",
                "clin:var.vcf"
            ]
        );
        assert_eq!(fields[2].1, ["CLNSIG", "AF=CLN_AF"]);
        assert!(fields[3].1.is_empty());

        // As the environment splits `FILE:CLNSIG,AF=CLN_AF,builtin`.
        let split = [
            format!("{clinvar}:CLNSIG"),
            "AF=CLN_AF".to_string(),
            "builtin".to_string(),
        ];
        let tracks = load_tracks(&split).unwrap();
        assert_eq!(tracks.len(), 3);
        let fields: Vec<String> = tracks[2].fields().map(ToString::to_string).collect();
        assert_eq!(fields, ["CLNSIG", "AF=CLN_AF"]);
        // A field after a track without fields is a (missing) file.
        let message = format!(
            "{:#}",
            load_tracks(&[clinvar.clone(), "CLNDN".to_string()]).unwrap_err()
        );
        assert!(message.contains("track CLNDN"), "{message}");

        let error = |entries: &[String]| format!("{:#}", load_tracks(entries).unwrap_err());
        let message = error(&[format!("{clinvar}:AF"), format!("{clinvar}:AF")]);
        assert!(
            message.contains("INFO field AF is copied from clin:var.vcf too"),
            "{message}"
        );
        let message = error(&[format!("{clinvar}:CLNSIG,CLNDN")]);
        assert!(message.contains("clin:var.vcf"), "{message}");
        assert!(message.contains("CLNDN"), "{message}");
        let message = error(&["builtin:AF".to_string()]);
        assert!(
            message.contains("built-in tracks copy no INFO fields"),
            "{message}"
        );
        let message = error(&[format!("{clinvar}:AF,")]);
        assert!(message.contains("not a list of INFO fields"), "{message}");
    }
}
