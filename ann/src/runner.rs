use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gas_jobs::messages::{ArchiveRequest, JobComplete, JobRequest};
use gas_jobs::{now_epoch, Completion, Job, JobStatus, JobStore, Role, StoreError, UserStore};
use gas_messaging::{sns::unwrap_queue_body, Queue, QueueMessage, Timer, Topic};
use gas_storage::{file_stream, into_async_read, BlobError, BlobStore};
use tokio::sync::watch;
use tracing::{info, info_span, warn, Instrument};

use gas_annotate::AnnotateError;
use gas_jobs::keys::{log_key, result_key, stats_key, variants_key};

/// The ports the runner talks to.
#[derive(Clone)]
pub struct RunnerPorts {
    pub jobs: Arc<dyn JobStore>,
    pub users: Arc<dyn UserStore>,
    pub inputs: Arc<dyn BlobStore>,
    pub results: Arc<dyn BlobStore>,
    pub requests: Arc<dyn Queue>,
    /// Where job-complete messages go (the results topic, for notify).
    pub completions: Arc<dyn Topic>,
    /// The archive timer (publishes to the archive topic when due).
    pub archive_timer: Arc<dyn Timer>,
}

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// How long free users keep hot access after completion.
    pub free_access_window: Duration,
    /// Scratch space for inputs and outputs while a job runs.
    pub work_dir: PathBuf,
    /// How long a claim lasts without a heartbeat; also the message
    /// visibility the runner keeps while it works.
    pub lease: Duration,
    /// How often a running job records progress and renews its lease.
    pub heartbeat: Duration,
    /// Long-poll wait of one receive.
    pub receive_wait: Duration,
    pub annotate: gas_annotate::Options,
    /// What a job's input may be: the plans' upload limits and how far
    /// compressed input may inflate beyond them.
    pub input_limits: InputLimits,
}

impl RunnerSettings {
    pub fn new(work_dir: PathBuf, free_access_window: Duration) -> Self {
        RunnerSettings {
            free_access_window,
            work_dir,
            lease: Duration::from_secs(120),
            heartbeat: Duration::from_secs(15),
            receive_wait: Duration::from_secs(10),
            annotate: gas_annotate::Options::default(),
            input_limits: InputLimits::default(),
        }
    }
}

/// The bound on what a job's compressed input may decompress to: its
/// owner's upload limit (as the web service computes it) times
/// `max_inflate_ratio`. Plain input needs none: the upload limit bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Largest upload of a free user, bytes.
    pub free_upload_limit: u64,
    /// Largest upload of anyone, bytes.
    pub max_upload: u64,
    /// How many times its upload limit compressed input may inflate to.
    pub max_inflate_ratio: u64,
}

impl Default for InputLimits {
    /// The configuration's defaults (`gas` sets them from its own).
    fn default() -> Self {
        InputLimits {
            free_upload_limit: 150 * 1024,
            max_upload: 1024 * 1024 * 1024,
            max_inflate_ratio: 20,
        }
    }
}

impl InputLimits {
    /// The largest upload `role` allows, bytes.
    pub fn upload_limit(&self, role: Role) -> u64 {
        match role {
            Role::Free => self.free_upload_limit.min(self.max_upload),
            Role::Premium => self.max_upload,
        }
    }

    /// The most bytes `role`'s compressed input may decompress to.
    pub fn inflate_limit(&self, role: Role) -> u64 {
        self.upload_limit(role)
            .saturating_mul(self.max_inflate_ratio.max(1))
    }
}

/// What handling one job request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The job ran and completed.
    Completed,
    /// The job ran and failed for a reason in its input.
    Failed,
    /// The job had already finished; the finishing steps were ensured.
    AlreadyFinished,
    /// Another runner holds a live claim; the message comes back later.
    Deferred,
    /// The message names no job we know; dropped.
    UnknownJob,
    /// The message is not a job request; left for the dead-letter queue.
    Malformed,
}

/// Takes job requests and runs them.
pub struct Runner {
    ports: RunnerPorts,
    settings: RunnerSettings,
}

impl Runner {
    pub fn new(ports: RunnerPorts, settings: RunnerSettings) -> Self {
        Runner { ports, settings }
    }

    /// Receives at most one request (waiting up to the long-poll time) and
    /// handles it. Returns whether a message was handled.
    pub async fn step(&self) -> Result<Option<Outcome>> {
        let messages = self
            .ports
            .requests
            .receive(1, self.settings.receive_wait)
            .await
            .context("receiving job requests")?;
        let Some(message) = messages.into_iter().next() else {
            return Ok(None);
        };
        self.handle(&message).await.map(Some)
    }

    /// Loops [`Runner::step`] until `shutdown` turns true. Errors are logged
    /// and retried after a pause: the message they concern comes back.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let step = tokio::select! {
                step = self.step() => step,
                _ = shutdown.changed() => return,
            };
            if let Err(e) = step {
                warn!(error = format!("{e:#}"), "runner step failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// Handles one job request message, deleting it once its effect is done.
    pub async fn handle(&self, message: &QueueMessage) -> Result<Outcome> {
        let body = unwrap_queue_body(&message.body);
        let request: JobRequest = match serde_json::from_str(&body) {
            Ok(r) => r,
            Err(e) => {
                // Left in the queue: redrive moves it to the dead-letter queue
                // for an operator to look at.
                warn!(message_id = %message.message_id, error = %e, "not a job request");
                metrics::counter!("gas_ann_messages_malformed_total").increment(1);
                return Ok(Outcome::Malformed);
            }
        };
        let span = info_span!("job", job_id = %request.job_id);
        self.handle_request(message, &request)
            .instrument(span)
            .await
    }

    async fn handle_request(
        &self,
        message: &QueueMessage,
        request: &JobRequest,
    ) -> Result<Outcome> {
        let Some(job) = self.ports.jobs.get(&request.job_id).await? else {
            warn!("job request for an unknown job; dropping it");
            self.ports.requests.delete(&message.receipt).await?;
            return Ok(Outcome::UnknownJob);
        };
        let outcome = match job.job_status {
            JobStatus::Completed | JobStatus::Failed => {
                // A run killed after its last write left its scratch.
                Scratch::remove(&self.settings.work_dir, &job.job_id).await?;
                self.finish(&job).await?;
                Outcome::AlreadyFinished
            }
            JobStatus::Pending | JobStatus::Running => {
                let now = now_epoch();
                let lease_until = now + self.settings.lease.as_secs() as i64;
                match self.ports.jobs.claim(&job.job_id, now, lease_until).await {
                    Ok(claimed) => self.run_job(message, claimed).await?,
                    Err(StoreError::ConditionFailed(_)) => {
                        // Another runner holds it. Its own message copy is what
                        // recovers the job if it dies; look again when the
                        // lease would have run out.
                        let current = self.ports.jobs.get(&job.job_id).await?;
                        if let Some(current) = current.filter(|j| is_finished(j.job_status)) {
                            self.finish(&current).await?;
                            self.ports.requests.delete(&message.receipt).await?;
                            return Ok(Outcome::AlreadyFinished);
                        }
                        let wait = self.settings.lease + Duration::from_secs(1);
                        self.ports
                            .requests
                            .change_visibility(&message.receipt, wait)
                            .await?;
                        info!("job is held by another runner; deferred");
                        return Ok(Outcome::Deferred);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        self.ports.requests.delete(&message.receipt).await?;
        Ok(outcome)
    }

    /// Runs a claimed job to COMPLETED or FAILED and finishes it.
    async fn run_job(&self, message: &QueueMessage, job: Job) -> Result<Outcome> {
        let started = Instant::now();
        info!(input = %job.input_file_name, "running job");
        let scratch = Scratch::create(&self.settings.work_dir, &job.job_id).await?;
        let input_path = scratch.path.join("input.vcf");
        let output_path = scratch.path.join("output.vcf");

        match self.download_input(&job, &input_path).await {
            Ok(()) => {}
            Err(DownloadError::Missing) => {
                let reason = "the uploaded input file is missing; please submit it again";
                let job = self.fail(&job, reason, None).await?;
                self.finish(&job).await?;
                return Ok(Outcome::Failed);
            }
            Err(DownloadError::Changed) => {
                // Not the bytes the web service checked (a browser's upload
                // form posted again after the job was made): nothing of it
                // is read, and the object is left to its owner.
                let job = self.fail(&job, INPUT_CHANGED, None).await?;
                self.finish(&job).await?;
                return Ok(Outcome::Failed);
            }
            Err(DownloadError::Other(e)) => return Err(e),
        }
        let input_size = tokio::fs::metadata(&input_path).await?.len();
        let mut options = self.settings.annotate.clone();
        let inflate_limit = self.inflate_limit(&job, &input_path).await?;
        options.max_inflated_bytes = inflate_limit.map(|(limit, _)| limit);

        let bytes_read = Arc::new(AtomicU64::new(0));
        let heartbeat = self.spawn_heartbeat(&job, message, Arc::clone(&bytes_read), input_size);
        let annotation_started = Instant::now();
        let (annotated, index_sink) = {
            let (input_path, output_path) = (input_path.clone(), output_path.clone());
            let bytes_read = Arc::clone(&bytes_read);
            tokio::task::spawn_blocking(move || {
                // The variant index is gathered as the results are written
                // (see `gas_variants::IndexSink`).
                let mut sink = gas_variants::IndexSink::new(&INDEX_OPTIONS);
                let annotated = gas_annotate::annotate_file_observed(
                    &input_path,
                    &output_path,
                    &options,
                    &mut |n| bytes_read.store(n, Ordering::Relaxed),
                    Some(&mut sink),
                );
                (annotated, sink)
            })
            .await
            .context("the annotator panicked")?
        };
        heartbeat.abort();
        let annotation_time = annotation_started.elapsed();

        let log_key = log_key(&job.s3_key_input_file);
        let outcome = match annotated {
            Ok(stats) => {
                let log = stats.render_log(&job.input_file_name);
                let result_key = result_key(&job.s3_key_input_file);
                let results = &self.ports.results;
                let file = tokio::fs::File::open(&output_path).await?;
                results
                    .put(&result_key, file_stream(file))
                    .await
                    .context("storing the results")?;
                results
                    .put(&log_key, gas_storage::bytes_stream(log))
                    .await
                    .context("storing the log")?;
                // The variant table's index, beside the results and stored
                // before the job completes, so a completed job has one.
                self.store_variant_index(
                    &job,
                    index_sink,
                    &output_path,
                    &scratch.path,
                    annotation_time,
                )
                .await?;
                // The web app draws the job's pictures from these counts.
                let stats_json =
                    serde_json::to_string(&stats).context("encoding the statistics")?;
                results
                    .put(
                        &stats_key(&job.s3_key_input_file),
                        gas_storage::bytes_stream(stats_json),
                    )
                    .await
                    .context("storing the statistics")?;
                let completion = Completion {
                    results_bucket: results.bucket().to_string(),
                    result_key,
                    log_key,
                    complete_time: now_epoch(),
                    warnings: (!stats.warnings.is_empty()).then(|| stats.warnings.join("\n")),
                };
                let job = self.ports.jobs.complete(&job.job_id, &completion).await?;
                info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "job completed"
                );
                metrics::counter!("gas_ann_jobs_total", "status" => "completed").increment(1);
                self.finish(&job).await?;
                Outcome::Completed
            }
            Err(e) if e.is_input_error() => {
                let reason = match (&e, inflate_limit) {
                    (AnnotateError::InflatedTooLarge { limit }, Some((_, upload_limit))) => {
                        format!(
                            "the compressed input decompresses to more than {limit} bytes, \
                             the most a job may read: {} times your plan's upload limit of \
                             {upload_limit} bytes",
                            self.settings.input_limits.max_inflate_ratio.max(1)
                        )
                    }
                    _ => format!("the input is not a valid VCF: {e}"),
                };
                let log = format!(
                    "GAS annotation log\nInput: {}\nStatus: FAILED\nReason: {reason}\n",
                    job.input_file_name
                );
                self.ports
                    .results
                    .put(&log_key, gas_storage::bytes_stream(log))
                    .await
                    .context("storing the log")?;
                let job = self.fail(&job, &reason, Some(&log_key)).await?;
                self.finish(&job).await?;
                Outcome::Failed
            }
            // Our own I/O failed, not the input: leave the message to be
            // retried (by us or another runner once the lease runs out).
            Err(e) => return Err(anyhow::Error::new(e).context("annotating")),
        };
        metrics::histogram!("gas_ann_job_seconds").record(started.elapsed().as_secs_f64());
        Ok(outcome)
    }

    /// Writes the variant index `sink` gathered while the output was
    /// annotated and stores it under [`variants_key`]. Should the sink
    /// fail, the index is read back from the output instead. An index
    /// that cannot be built at all (the output is the annotator's own, so
    /// this is a bug, not bad input) leaves the job without a variant
    /// table, not without its results.
    async fn store_variant_index(
        &self,
        job: &Job,
        sink: gas_variants::IndexSink<'static>,
        annotated: &Path,
        scratch: &Path,
        annotation_time: Duration,
    ) -> Result<()> {
        let index_path = scratch.join("variants.idx");
        let gathering = sink.busy();
        let built = {
            let (annotated, index_path) = (annotated.to_path_buf(), index_path.clone());
            tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let len = std::fs::metadata(&annotated)?.len();
                let summary = sink.finish(&index_path, len).or_else(|e| {
                    warn!(error = %e, "the index gathered while annotating failed; reading the results instead");
                    gas_variants::build_file(&annotated, &index_path, &INDEX_OPTIONS)
                })?;
                Ok::<_, gas_variants::BuildError>((summary, started.elapsed()))
            })
            .await
            .context("the variant index builder panicked")?
        };
        match built {
            Ok((summary, writing)) => {
                info!(
                    variants = summary.variants,
                    entries = summary.entries,
                    bytes = summary.bytes,
                    index_ms = (gathering + writing).as_millis() as u64,
                    index_gathering_ms = gathering.as_millis() as u64,
                    index_writing_ms = writing.as_millis() as u64,
                    annotation_ms = annotation_time.as_millis() as u64,
                    "variant index built"
                );
                let file = tokio::fs::File::open(&index_path).await?;
                self.ports
                    .results
                    .put(&variants_key(&job.s3_key_input_file), file_stream(file))
                    .await
                    .context("storing the variant index")?;
            }
            Err(e) => warn!(error = %e, "no variant index for this job"),
        }
        Ok(())
    }

    async fn fail(&self, job: &Job, reason: &str, log_key: Option<&str>) -> Result<Job> {
        warn!(reason, "job failed");
        metrics::counter!("gas_ann_jobs_total", "status" => "failed").increment(1);
        Ok(self
            .ports
            .jobs
            .fail(&job.job_id, reason, log_key, now_epoch())
            .await?)
    }

    /// The bound on what the input at `path` may decompress to, with the
    /// upload limit it derives from; `None` for plain input, which its
    /// upload limit bounded already. Only compressed input costs a read of
    /// the owner's plan, so plain jobs make the calls they always made.
    async fn inflate_limit(&self, job: &Job, path: &Path) -> Result<Option<(u64, u64)>> {
        let mut first = [0u8; 1];
        let read = {
            use tokio::io::AsyncReadExt;
            let mut file = tokio::fs::File::open(path).await?;
            file.read(&mut first).await?
        };
        // The annotator's own test: gzip (and BGZF) start with 0x1f, a VCF
        // with '#'.
        if read == 0 || first[0] != 0x1f {
            return Ok(None);
        }
        // A user who is gone gets the smaller plan's bound.
        let role = self
            .ports
            .users
            .get(&job.user_id)
            .await?
            .map_or(Role::Free, |u| u.role);
        let limits = &self.settings.input_limits;
        Ok(Some((
            limits.inflate_limit(role),
            limits.upload_limit(role),
        )))
    }

    /// Copies the job's input to `path`: the version the web service
    /// checked when it recorded one ([`Job::input_etag`]), else the object
    /// as it is.
    async fn download_input(&self, job: &Job, path: &Path) -> Result<(), DownloadError> {
        let key = &job.s3_key_input_file;
        let body = match &job.input_etag {
            Some(etag) => self.ports.inputs.get_if_match(key, etag).await,
            None => self.ports.inputs.get(key).await,
        };
        let body = match body {
            Ok(body) => body,
            Err(BlobError::NotFound(_)) => return Err(DownloadError::Missing),
            Err(BlobError::Changed(_)) => return Err(DownloadError::Changed),
            Err(e) => return Err(DownloadError::Other(e.into())),
        };
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| DownloadError::Other(e.into()))?;
        tokio::io::copy(&mut into_async_read(body), &mut file)
            .await
            .map_err(|e| {
                DownloadError::Other(anyhow::Error::new(e).context("downloading the input"))
            })?;
        Ok(())
    }

    /// Renews the claim and the message's invisibility while the job runs,
    /// and records progress for the job page.
    fn spawn_heartbeat(
        &self,
        job: &Job,
        message: &QueueMessage,
        bytes_read: Arc<AtomicU64>,
        input_size: u64,
    ) -> tokio::task::JoinHandle<()> {
        let jobs = Arc::clone(&self.ports.jobs);
        let queue = Arc::clone(&self.ports.requests);
        let (job_id, receipt) = (job.job_id.clone(), message.receipt.clone());
        let (lease, every) = (self.settings.lease, self.settings.heartbeat);
        tokio::spawn(
            async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let progress = if input_size == 0 {
                        0.0
                    } else {
                        (bytes_read.load(Ordering::Relaxed) as f64 / input_size as f64).min(0.99)
                    };
                    let lease_until = now_epoch() + lease.as_secs() as i64;
                    if let Err(e) = jobs.record_progress(&job_id, progress, lease_until).await {
                        warn!(error = %e, "could not record progress");
                    }
                    if let Err(e) = queue.change_visibility(&receipt, lease).await {
                        warn!(error = %e, "could not extend the message's visibility");
                    }
                }
            }
            .in_current_span(),
        )
    }

    /// The steps after a job finished, each idempotent so that a redelivered
    /// request completes whatever a crash interrupted: a free user's archive
    /// timer, then the job-complete message.
    async fn finish(&self, job: &Job) -> Result<()> {
        if job.job_status == JobStatus::Completed
            && job.results_file_archive_id.is_none()
            && job.archive_execution_id.is_none()
        {
            self.start_archive_timer(job).await?;
        }
        let complete = JobComplete {
            job_id: job.job_id.clone(),
            user_id: job.user_id.clone(),
            complete_time: job.complete_time.unwrap_or_else(now_epoch),
            job_status: Some(job.job_status),
            input_file_name: Some(job.input_file_name.clone()),
        };
        self.ports
            .completions
            .publish(&serde_json::to_string(&complete)?)
            .await
            .context("publishing job-complete")?;
        Ok(())
    }

    async fn start_archive_timer(&self, job: &Job) -> Result<()> {
        let user = self.ports.users.get(&job.user_id).await?;
        if user.map(|u| u.role) != Some(Role::Free) {
            return Ok(());
        }
        let due = job.window_start().unwrap_or_else(now_epoch)
            + self.settings.free_access_window.as_secs() as i64;
        let delay = Duration::from_secs((due - now_epoch()).max(0) as u64);
        let request = ArchiveRequest {
            job_id: job.job_id.clone(),
            window_started: job.window_started,
        };
        let input = serde_json::to_string(&request)?;
        let execution_id = self
            .ports
            .archive_timer
            .start(&request.timer_name(), &input, delay)
            .await
            .context("starting the archive timer")?;
        self.ports
            .jobs
            .set_execution_id(&job.job_id, &execution_id)
            .await?;
        info!(%execution_id, delay_s = delay.as_secs(), "archive timer started");
        Ok(())
    }
}

/// A job's scratch directory, `<work_dir>/job-<job_id>`, removed on drop.
/// Named by the job rather than at random: a run that was killed leaves
/// its directory behind, and the claim that lets a later run take the job
/// (or the redelivery that finds it finished) makes that run the owner of
/// the name, so it removes what the dead run left instead of leaking it.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn path_for(work_dir: &Path, job_id: &str) -> Result<PathBuf> {
        anyhow::ensure!(
            !job_id.is_empty()
                && job_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "job id {job_id:?} cannot name a scratch directory"
        );
        Ok(work_dir.join(format!("job-{job_id}")))
    }

    /// Empties and creates the job's scratch directory.
    async fn create(work_dir: &Path, job_id: &str) -> Result<Scratch> {
        Self::remove(work_dir, job_id).await?;
        let path = Self::path_for(work_dir, job_id)?;
        tokio::fs::create_dir_all(&path)
            .await
            .context("creating the job's scratch directory")?;
        Ok(Scratch { path })
    }

    /// Removes what a run of the job left, if anything.
    async fn remove(work_dir: &Path, job_id: &str) -> Result<()> {
        let path = Self::path_for(work_dir, job_id)?;
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => {
                info!(path = %path.display(), "removed the scratch directory of an interrupted run");
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context("removing an old scratch directory")),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort; a leftover is removed by the job's next run.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

enum DownloadError {
    Missing,
    /// The input is not the version recorded on the job.
    Changed,
    Other(anyhow::Error),
}

/// What the variant index reads of each record (the defaults: ClinVar's
/// `CLNSIG`, `AF`); shared by every job's index sink.
static INDEX_OPTIONS: std::sync::LazyLock<gas_variants::BuildOptions> =
    std::sync::LazyLock::new(gas_variants::BuildOptions::default);

/// Why a job whose input was replaced after its check fails.
const INPUT_CHANGED: &str = "the input file changed after it was submitted; please submit it again";

fn is_finished(status: JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Failed)
}
