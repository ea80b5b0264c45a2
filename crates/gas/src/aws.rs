//! The AWS backend: every port on the official AWS SDK (DESIGN section 3),
//! with one client configuration for all and an optional endpoint URL that
//! points every client at an emulator.
//!
//! `open` only looks resources up (read-only permissions suffice);
//! `provision` creates them, idempotently, with the names `open` expects:
//! `<prefix>-annotations`, `<prefix>-users`, `<prefix>-inputs`, ...

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use aws_config::{BehaviorVersion, SdkConfig};
use gas_jobs::dynamo::{DynamoJobStore, DynamoUserStore};
use gas_messaging::aws::{SfnTimer, SnsTopic, SqsQueue};
use gas_messaging::sns::{aws_cert_prefix, SnsVerifier, VerifierConfig};
use gas_messaging::{Queue, Topic};
use gas_storage::glacier::{GlacierSettings, GlacierVaultStore};
use gas_storage::s3::S3BlobStore;
use gas_storage::s3_class::S3ClassArchiveStore;
use gas_storage::ArchiveStore;
use gas_util::SesMailer;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::info;

use crate::aws_calls::CallCounter;
use crate::config::{ColdStorage, Config};
use crate::ports::{BackendExtras, BoxedExtras, Ports};

/// Topics, each with the queue of the same name subscribed to it.
const CHANNELS: [&str; 5] = ["requests", "results", "archive", "restore", "thaw"];
/// Topics that also POST to the util service's webhook of the same name.
const WEBHOOKS: [&str; 3] = ["archive", "restore", "thaw"];

/// The SDK configuration: the default credential and region chain, and the
/// configured endpoint (an emulator) if any.
pub async fn sdk_config(config: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &config.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

struct Clients {
    dynamo: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    glacier: aws_sdk_glacier::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    sfn: aws_sdk_sfn::Client,
    ses: aws_sdk_sesv2::Client,
}

impl Clients {
    fn new(config: &Config, sdk: &SdkConfig) -> Clients {
        // Every client counts its requests (gas_aws_calls_total on /metrics).
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(sdk)
                        .interceptor(CallCounter)
                        .build(),
                )
            };
        }
        // Emulators serve every bucket on one host: path-style addressing.
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(config.aws_endpoint_url.is_some())
            .interceptor(CallCounter)
            .build();
        Clients {
            dynamo: client!(aws_sdk_dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            glacier: client!(aws_sdk_glacier),
            sqs: client!(aws_sdk_sqs),
            sns: client!(aws_sdk_sns),
            sfn: client!(aws_sdk_sfn),
            ses: client!(aws_sdk_sesv2),
        }
    }
}

fn storage_class(config: &Config) -> aws_sdk_s3::types::StorageClass {
    aws_sdk_s3::types::StorageClass::from(config.s3_archive_storage_class.as_str())
}

fn archive_s3_class(config: &Config, clients: &Clients) -> S3ClassArchiveStore {
    S3ClassArchiveStore::new(
        clients.s3.clone(),
        config.aws_name("archive"),
        "archive/",
        storage_class(config),
    )
}

fn archive_store(
    config: &Config,
    clients: &Clients,
    thaw_topic_arn: Option<String>,
) -> Arc<dyn ArchiveStore> {
    match config.cold_storage {
        ColdStorage::S3Class => Arc::new(archive_s3_class(config, clients)),
        ColdStorage::GlacierVault => Arc::new(GlacierVaultStore::new(
            clients.glacier.clone(),
            config.aws_name("archive"),
            GlacierSettings {
                sns_topic: thaw_topic_arn,
                ..GlacierSettings::default()
            },
        )),
    }
}

pub async fn open(config: &Config) -> Result<(Ports, BoxedExtras)> {
    let sdk = sdk_config(config).await;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .context("no AWS region configured (set AWS_REGION)")?;
    let clients = Clients::new(config, &sdk);

    let topics = find_topics(&clients.sns, config).await?;
    let mut queues: HashMap<&str, Arc<dyn Queue>> = HashMap::new();
    for what in CHANNELS {
        let name = config.aws_name(what);
        let url = clients
            .sqs
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
            .with_context(|| format!("queue {name} not found: run `gas provision`"))?
            .queue_url
            .context("GetQueueUrl returned no URL")?;
        queues.insert(what, Arc::new(SqsQueue::new(clients.sqs.clone(), url)));
    }
    let topic = |what: &str| -> Arc<dyn Topic> {
        Arc::new(SnsTopic::new(clients.sns.clone(), topics[what].clone()))
    };
    let queue = |what: &str| Arc::clone(&queues[what]);
    let timer_arn = find_state_machine(&clients.sfn, &config.aws_name("archive-timer")).await?;

    let mut trusted = vec![aws_cert_prefix(&region)];
    trusted.extend(config.sns_cert_url_prefixes.iter().cloned());
    let verifier = Arc::new(SnsVerifier::new(VerifierConfig {
        trusted_cert_url_prefixes: trusted,
        allowed_topic_arns: WEBHOOKS.iter().map(|w| topics[*w].clone()).collect(),
        emulator_endpoint: config.aws_endpoint_url.clone(),
    })?);

    // Browsers may upload inputs straight to S3 with a presigned POST, which
    // is signed with the SDK's credentials.
    let mut inputs = S3BlobStore::new(clients.s3.clone(), config.aws_name("inputs"));
    let mut direct_uploads = false;
    if let (Some(credentials), Some(region)) = (sdk.credentials_provider(), sdk.region()) {
        inputs = inputs.with_presigned_post(credentials, region.clone());
        direct_uploads = true;
    }
    let inputs = Arc::new(inputs);
    let browser_upload =
        direct_uploads.then(|| Arc::clone(&inputs) as Arc<dyn gas_storage::BrowserUpload>);

    info!(region, prefix = %config.aws_prefix, cold_storage = ?config.cold_storage, endpoint = ?config.aws_endpoint_url, "AWS backend opened");
    let ports = Ports {
        jobs: Arc::new(DynamoJobStore::new(
            clients.dynamo.clone(),
            config.aws_name("annotations"),
        )),
        users: Arc::new(DynamoUserStore::new(
            clients.dynamo.clone(),
            config.aws_name("users"),
        )),
        inputs,
        browser_upload,
        results: Arc::new(S3BlobStore::new(
            clients.s3.clone(),
            config.aws_name("results"),
        )),
        archive: archive_store(config, &clients, Some(topics["thaw"].clone())),
        requests_topic: topic("requests"),
        results_topic: topic("results"),
        archive_topic: topic("archive"),
        restore_topic: topic("restore"),
        thaw_topic: topic("thaw"),
        requests_queue: queue("requests"),
        results_queue: queue("results"),
        archive_queue: queue("archive"),
        restore_queue: queue("restore"),
        thaw_queue: queue("thaw"),
        archive_timer: Arc::new(SfnTimer::new(clients.sfn.clone(), timer_arn)),
        verifier,
        mailer: Arc::new(SesMailer::new(
            clients.ses.clone(),
            config.email_from.clone(),
        )),
    };
    Ok((ports, Box::new(AwsExtras)))
}

/// AWS runs its own machinery: nothing to add.
struct AwsExtras;

impl BackendExtras for AwsExtras {
    fn spawn_workers(&self, _tasks: &mut JoinSet<()>, _shutdown: watch::Receiver<bool>) {}
}

async fn find_topics(
    sns: &aws_sdk_sns::Client,
    config: &Config,
) -> Result<HashMap<String, String>> {
    let mut found = HashMap::new();
    let mut pages = sns.list_topics().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| anyhow::anyhow!("{}", aws_sdk_sns::error::DisplayErrorContext(e)))?;
        for topic in page.topics() {
            let Some(arn) = topic.topic_arn() else {
                continue;
            };
            for what in CHANNELS {
                if arn.rsplit(':').next() == Some(config.aws_name(what).as_str()) {
                    found.insert(what.to_string(), arn.to_string());
                }
            }
        }
    }
    for what in CHANNELS {
        if !found.contains_key(what) {
            bail!(
                "topic {} not found: run `gas provision`",
                config.aws_name(what)
            );
        }
    }
    Ok(found)
}

async fn find_state_machine(sfn: &aws_sdk_sfn::Client, name: &str) -> Result<String> {
    let mut pages = sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| anyhow::anyhow!("{}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        if let Some(machine) = page.state_machines().iter().find(|m| m.name() == name) {
            return Ok(machine.state_machine_arn().to_string());
        }
    }
    bail!("state machine {name} not found: run `gas provision`")
}

/// Creates every resource `open` expects; safe to run again.
pub async fn provision(config: &Config) -> Result<()> {
    let sdk = sdk_config(config).await;
    let clients = Clients::new(config, &sdk);
    let name = |what: &str| config.aws_name(what);

    gas_jobs::dynamo::provision(&clients.dynamo, &name("annotations"), &name("users")).await?;
    gas_storage::s3::provision_bucket(&clients.s3, &name("inputs")).await?;
    gas_storage::s3::provision_bucket(&clients.s3, &name("results")).await?;
    match config.cold_storage {
        // Also the lifecycle rule that expires restored copies kept past a delete.
        ColdStorage::S3Class => archive_s3_class(config, &clients).provision().await?,
        ColdStorage::GlacierVault => {
            gas_storage::glacier::provision_vault(&clients.glacier, &name("archive")).await?
        }
    }

    let visibility = config.visibility();
    let mut topics = HashMap::new();
    for what in CHANNELS {
        // A restore request stays queued while its retrievals run: no redrive.
        let dead_letter_queue = name(&format!("{what}-dlq"));
        let redrive =
            (what != "restore").then_some((dead_letter_queue.as_str(), config.max_receives));
        let queue_url =
            gas_messaging::aws::create_queue(&clients.sqs, &name(what), visibility, redrive)
                .await?;
        let topic_arn = gas_messaging::aws::create_topic(&clients.sns, &name(what)).await?;
        gas_messaging::aws::subscribe_queue(&clients.sns, &clients.sqs, &topic_arn, &queue_url)
            .await?;
        topics.insert(what, topic_arn);
    }
    let util = config.util_url();
    for what in WEBHOOKS {
        gas_messaging::aws::subscribe_http(&clients.sns, &topics[what], &format!("{util}/{what}"))
            .await?;
    }
    gas_messaging::aws::create_state_machine(
        &clients.sfn,
        &name("archive-timer"),
        &config.sfn_role_arn,
        &topics["archive"],
    )
    .await?;
    provision_sender(&clients.ses, &config.email_from).await?;
    info!(prefix = %config.aws_prefix, "AWS resources provisioned");
    Ok(())
}

/// Registers the notification sender with SES (on AWS this sends the
/// identity a verification email; until it is verified SES refuses to send).
async fn provision_sender(ses: &aws_sdk_sesv2::Client, from: &str) -> Result<()> {
    let address = from
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.strip_suffix('>'))
        .unwrap_or(from)
        .trim();
    match ses
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(
            "{}",
            aws_sdk_sesv2::error::DisplayErrorContext(e)
        ))
        .with_context(|| format!("registering {address} with SES")),
    }
}
