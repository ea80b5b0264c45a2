//! The one typed configuration of every service, loaded once: defaults, then
//! a TOML file (`--config` or `GAS_CONFIG`), then `GAS_*` environment
//! variables (`GAS_FREE_ACCESS_WINDOW=2` sets `free_access_window`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer, Serialize};

/// Which CSQ entries a record gets (see [`gas_annotate::consequence::Pick`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationPick {
    /// One per allele and transcript, each allele's pick flagged `PICK=1`.
    All,
    /// One per allele and gene.
    PerGene,
    /// One per record.
    Pick,
}

impl From<AnnotationPick> for gas_annotate::consequence::Pick {
    fn from(p: AnnotationPick) -> Self {
        match p {
            AnnotationPick::All => gas_annotate::consequence::Pick::All,
            AnnotationPick::PerGene => gas_annotate::consequence::Pick::PerGene,
            AnnotationPick::Pick => gas_annotate::consequence::Pick::One,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// SQLite, directories and in-process timers under `data_dir`.
    Embedded,
    /// The AWS services (or an emulator at `aws_endpoint_url`).
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColdStorage {
    /// An S3 bucket/prefix with a cold storage class (DEEP_ARCHIVE/GLACIER).
    S3Class,
    /// A Glacier vault (accounts that still have one).
    GlacierVault,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub backend: Backend,
    /// Where the embedded backend keeps everything.
    pub data_dir: PathBuf,
    pub web_addr: SocketAddr,
    pub util_addr: SocketAddr,
    /// Where the annotator runner serves `/healthz` and `/metrics`.
    pub ann_addr: SocketAddr,
    /// The web app's base URL as browsers reach it (default: from web_addr).
    pub web_public_url: Option<String>,
    /// The util service's base URL as SNS reaches it (default: from util_addr).
    pub util_public_url: Option<String>,

    /// Seconds free users may download results after completion.
    pub free_access_window: u64,
    /// Largest upload of a free user, bytes (the original GAS: 150 KB).
    pub free_upload_limit: u64,
    /// Largest upload of anyone, bytes.
    pub max_upload: u64,
    /// How many times its owner's upload limit a job's compressed (gzip,
    /// BGZF) input may decompress to before the runner fails the job: a few
    /// KB of gzip can stand for gigabytes of text. Plain input needs no such
    /// bound (the upload limit is one). 20 by default: VCF text with few
    /// samples compresses 5 to 15 times, so real files pass, while a bomb
    /// costs at most 20 plain uploads' work; cohort files of thousands of
    /// samples compress further (50 times and more) and need a higher one.
    pub max_inflate_ratio: u64,
    /// Seconds a download URL stays valid.
    pub download_url_ttl: u64,
    /// Seconds a web sign-in lasts.
    pub session_ttl: u64,
    /// Seconds a job may stay PENDING before its owner's next look at it
    /// queues its request again (its first may have been lost to a crash
    /// of the web process); 0 turns this off.
    pub requeue_after: u64,
    /// First segment of every object key.
    pub key_prefix: String,
    /// Password hashes (argon2, ~19 MiB and tens of milliseconds each) one
    /// web process runs at once; a sign-in or sign-up that cannot start
    /// one within a second answers 503. 0: twice the available cores.
    pub password_hash_concurrency: usize,
    /// Take the client's address from the right-most `X-Forwarded-For`
    /// entry (the one the load balancer appended) instead of the TCP peer.
    /// Only behind a proxy that appends it: otherwise clients choose it.
    pub trust_forwarded_for: bool,

    /// Annotation jobs run at once by one runner process.
    pub ann_workers: usize,
    /// Reference tracks the runner annotates with: `builtin` (the GENCODE
    /// genes and common dbSNP SNVs shipped in the binary, GRCh37) and/or
    /// paths of BED/VCF tracks; comma separated in the environment; empty
    /// for VC/TITV only.
    #[serde(deserialize_with = "string_or_list")]
    pub annotation_tracks: Vec<String>,
    /// Transcript models (GFF3 or GTF, plain, gzip or BGZF) the runner
    /// predicts consequences with: `builtin` (the human mitochondrial
    /// genome's models shipped in the binary) and/or paths; comma
    /// separated in the environment; empty for no consequences.
    #[serde(deserialize_with = "string_or_list")]
    pub annotation_transcripts: Vec<String>,
    /// The reference genome (FASTA: plain or BGZF with `.fai`, BGZF also
    /// `.gzi`) for codons, amino acids, HGVSp and the REF check: `builtin`
    /// (rCRS, the mitochondrial genome), a path, or empty for none.
    pub annotation_reference: String,
    /// Which CSQ entries a record gets: `all` (one per allele and
    /// transcript, the pick flagged), `per_gene` or `pick`.
    pub annotation_pick: AnnotationPick,
    /// Seconds between the util service's safety-net drains of its queues.
    pub drain_interval: u64,
    /// Seconds between looks at a restore whose retrievals are running.
    pub restore_poll_interval: u64,
    /// Seconds a received message stays invisible (renewed while handled).
    pub visibility_timeout: u64,
    /// Receives after which a message moves to its dead-letter queue.
    pub max_receives: u32,

    /// Embedded cold store: milliseconds an Expedited retrieval takes.
    pub expedited_retrieval_ms: u64,
    /// Embedded cold store: milliseconds a Standard retrieval takes.
    pub standard_retrieval_ms: u64,
    /// Embedded cold store: refuse Expedited (to exercise the fallback).
    pub refuse_expedited: bool,

    /// An AWS endpoint (an emulator) for every client; unset on AWS itself.
    pub aws_endpoint_url: Option<String>,
    /// Every AWS resource name derives from this.
    pub aws_prefix: String,
    pub cold_storage: ColdStorage,
    /// Extra trusted SNS SigningCertURL prefixes (emulators and tests only),
    /// comma separated in the environment.
    #[serde(deserialize_with = "string_or_list")]
    pub sns_cert_url_prefixes: Vec<String>,

    /// The role Step Functions assumes to publish to the archive topic
    /// (`gas provision` only; emulators accept any ARN).
    pub sfn_role_arn: String,
    /// The storage class of archives in the S3 cold store: `DEEP_ARCHIVE`
    /// or `GLACIER`.
    pub s3_archive_storage_class: String,
    /// The SES identity notifications are sent from (AWS backend).
    pub email_from: String,

    /// `text` or `json` logs.
    pub log_format: String,

    /// The key that signs what the web app hands browsers to bring back
    /// (e.g. a sign-in waiting to be linked to an account). Every web
    /// process of an installation needs the same one; the embedded backend
    /// makes one in its data directory when this is unset.
    pub secret_key: Option<Secret>,

    /// One OpenID Connect provider from the environment (Globus Auth:
    /// `https://auth.globus.org`); more go in `oidc_providers` in the file.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<Secret>,
    /// A file holding the client secret (instead of `oidc_client_secret`).
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The sign-in button's label (default: the issuer's host).
    pub oidc_name: Option<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub oidc_scopes: Vec<String>,
    /// More providers (configuration file only).
    pub oidc_providers: Vec<OidcProviderConfig>,

    /// Stripe takes Premium payments when these are set (else the instant
    /// embedded provider upgrades at once).
    pub stripe_secret_key: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
    pub stripe_price_id: Option<String>,
    /// The publishable key (`pk_...`) Stripe.js starts with on the
    /// subscribe page, which collects the card.
    pub stripe_publishable_key: Option<String>,
    /// Stripe's API (a local Stripe server in tests).
    pub stripe_api_base: String,
}

/// A secret configuration value: never printed, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcProviderConfig {
    /// A short id for URLs (`/login/oidc/<id>`); letters, digits, dashes.
    pub id: String,
    /// The button's label.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: Backend::Embedded,
            data_dir: PathBuf::from("./gas-data"),
            web_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            util_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            ann_addr: SocketAddr::from(([127, 0, 0, 1], 8082)),
            web_public_url: None,
            util_public_url: None,
            free_access_window: 300,
            free_upload_limit: 150 * 1024,
            max_upload: 1024 * 1024 * 1024,
            max_inflate_ratio: 20,
            download_url_ttl: 60,
            session_ttl: 14 * 24 * 3600,
            requeue_after: 600,
            key_prefix: "gas".into(),
            password_hash_concurrency: 0,
            trust_forwarded_for: false,
            ann_workers: 2,
            annotation_tracks: vec!["builtin".into()],
            annotation_transcripts: vec!["builtin".into()],
            annotation_reference: "builtin".into(),
            annotation_pick: AnnotationPick::All,
            drain_interval: 30,
            restore_poll_interval: 30,
            visibility_timeout: 60,
            max_receives: 5,
            expedited_retrieval_ms: 2_000,
            standard_retrieval_ms: 10_000,
            refuse_expedited: false,
            aws_endpoint_url: None,
            aws_prefix: "gas".into(),
            cold_storage: ColdStorage::S3Class,
            sns_cert_url_prefixes: Vec::new(),
            sfn_role_arn: "arn:aws:iam::000000000000:role/gas-archive-timer".into(),
            s3_archive_storage_class: "DEEP_ARCHIVE".into(),
            email_from: "GAS <noreply@gas.local>".into(),
            log_format: "text".into(),
            secret_key: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_client_secret_file: None,
            oidc_name: None,
            oidc_scopes: default_scopes(),
            oidc_providers: Vec::new(),
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_price_id: None,
            stripe_publishable_key: None,
            stripe_api_base: "https://api.stripe.com".into(),
        }
    }
}

impl Config {
    /// Defaults, then the file (if any), then `GAS_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "configuration file {} not found",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::prefixed("GAS_").ignore(&["config"]))
            .extract()
            .context("reading the configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        anyhow::ensure!(self.ann_workers >= 1, "ann_workers must be at least 1");
        anyhow::ensure!(self.max_receives >= 1, "max_receives must be at least 1");
        anyhow::ensure!(
            self.max_inflate_ratio >= 1,
            "max_inflate_ratio must be at least 1"
        );
        anyhow::ensure!(
            self.visibility_timeout >= 1,
            "visibility_timeout must be at least 1 s"
        );
        anyhow::ensure!(
            matches!(
                self.s3_archive_storage_class.as_str(),
                "DEEP_ARCHIVE" | "GLACIER"
            ),
            "s3_archive_storage_class must be DEEP_ARCHIVE or GLACIER"
        );
        anyhow::ensure!(
            self.aws_prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !self.aws_prefix.is_empty(),
            "aws_prefix must be lowercase letters, digits and dashes (it names S3 buckets)"
        );
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be text or json"
        );
        Ok(())
    }

    pub fn web_url(&self) -> String {
        public_url(&self.web_public_url, self.web_addr)
    }

    pub fn util_url(&self) -> String {
        public_url(&self.util_public_url, self.util_addr)
    }

    pub fn free_window(&self) -> Duration {
        Duration::from_secs(self.free_access_window)
    }

    /// The name of one of this installation's AWS resources.
    pub fn aws_name(&self, what: &str) -> String {
        format!("{}-{what}", self.aws_prefix)
    }

    pub fn visibility(&self) -> Duration {
        Duration::from_secs(self.visibility_timeout)
    }
}

fn public_url(configured: &Option<String>, addr: SocketAddr) -> String {
    match configured {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{addr}"),
    }
}

/// Accepts `["a", "b"]` (TOML) or `"a,b"` (environment).
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(list) => list,
        Either::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

#[cfg(test)]
// figment's Jail returns its own large error type; that is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gas.toml",
                "free_access_window = 60\nkey_prefix = \"lab\"\nsns_cert_url_prefixes = [\"http://a/\"]\n",
            )?;
            jail.set_env("GAS_FREE_ACCESS_WINDOW", "2");
            jail.set_env("GAS_BACKEND", "aws");
            let config = Config::load(Some(Path::new("gas.toml"))).expect("loads");
            assert_eq!(
                config.free_access_window, 2,
                "environment wins over the file"
            );
            assert_eq!(config.key_prefix, "lab", "the file wins over defaults");
            assert_eq!(config.backend, Backend::Aws);
            assert_eq!(config.sns_cert_url_prefixes, vec!["http://a/".to_string()]);
            assert_eq!(config.web_url(), "http://127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn comma_separated_prefixes_and_bad_values() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GAS_SNS_CERT_URL_PREFIXES", "http://x/, http://y/");
            let config = Config::load(None).expect("loads");
            assert_eq!(config.sns_cert_url_prefixes, vec!["http://x/", "http://y/"]);
            jail.set_env("GAS_FREE_ACCESS_WINDOW", "soon");
            assert!(
                Config::load(None).is_err(),
                "a non-number window is refused"
            );
            Ok(())
        });
    }
}
