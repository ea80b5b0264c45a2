//! Helpers of `scripts/bench.sh` (DESIGN section 8): each prepares or drives
//! one measurement of a `gas` process that the script runs and measures from
//! outside. The configuration comes from the environment (`GAS_*`), as for
//! the `gas` command.
//!
//! ```text
//! cargo run --release -p gas --example bench_tools -- COMMAND ...
//!
//! seed-jobs N
//!     A free user with N completed job records (straight into the job
//!     store, no annotation); prints `token=`, `job=` (one of them),
//!     `session=` (a session cookie value) and `util=` lines.
//! sns-archive-lua OUT.lua
//!     A wrk script POSTing an archive Notification signed with the
//!     installation's own SNS key (embedded backend) to util's /archive.
//! lateness N SPREAD_S GAS_BINARY
//!     Archive lateness on the embedded backend: N completed jobs of a free
//!     user, their archive timers due over SPREAD_S seconds; starts
//!     `GAS_BINARY util` and reads from its JSON log when each job was
//!     archived; prints lateness (archived − window end) percentiles.
//! archive-put MIB WORK_DIR
//!     AWS backend: a free user's completed job whose results object (MIB
//!     MiB, streamed from a file written in WORK_DIR) is in the results
//!     bucket, its window long over; prints `job=`.
//! archive-wait JOB TIMEOUT_S
//!     AWS backend: publishes the job's archive request to the archive topic
//!     (what the Step Functions timer does) and waits until the job records
//!     an archive; prints `archived_s=`, `archive_id=` and, for the S3 cold
//!     store, `archive_bytes=`.
//! glacier-proxy UPSTREAM_URL
//!     The AWS endpoint of the vault mode (moto has no Glacier multipart
//!     upload): Glacier's calls are answered here (CreateVault, the
//!     multipart upload calls; every body read and discarded), all others
//!     passed to UPSTREAM_URL (moto). Prints `listening=URL`, then one
//!     `archive size=... received=... parts=...` line per completed upload.
//! annotate-warm ROUNDS IN OUT TRACK...
//!     The annotator as the runner service uses it: the tracks loaded once
//!     (prints `load_s=`), then IN annotated into OUT ROUNDS times, each run
//!     timed (prints `run_s=` per round).
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use gas::config::{Backend, ColdStorage, Config};
use gas_jobs::messages::ArchiveRequest;
use gas_jobs::{Job, JobStatus, Role, Session};
use gas_messaging::local::sns_cert_url;
use gas_messaging::sns::{MessageType, SnsMessage, SnsSigner};
use sha2::{Digest, Sha256};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, what: &str| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("missing argument {what}"))
    };
    match arg(0, "COMMAND")? {
        "seed-jobs" => seed_jobs(arg(1, "N")?.parse()?).await,
        "sns-archive-lua" => sns_archive_lua(arg(1, "OUT.lua")?).await,
        "lateness" => {
            lateness(
                arg(1, "N")?.parse()?,
                arg(2, "SPREAD_S")?.parse()?,
                arg(3, "GAS_BINARY")?,
            )
            .await
        }
        "archive-put" => archive_put(arg(1, "MIB")?.parse()?, arg(2, "WORK_DIR")?).await,
        "archive-wait" => archive_wait(arg(1, "JOB")?, arg(2, "TIMEOUT_S")?.parse()?).await,
        "glacier-proxy" => glacier_proxy(arg(1, "UPSTREAM_URL")?).await,
        "annotate-warm" => annotate_warm(
            arg(1, "ROUNDS")?.parse()?,
            arg(2, "IN")?,
            arg(3, "OUT")?,
            args.get(4..).unwrap_or_default(),
        ),
        other => bail!("unknown command {other:?} (see the example's documentation)"),
    }
}

fn config() -> Result<Config> {
    Config::load(None)
}

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A completed job of `user_id`, results under the usual keys.
fn completed_job(config: &Config, user_id: &str, job_id: &str, file: &str, complete: i64) -> Job {
    let input_key = format!("{}/{user_id}/{job_id}~{file}", config.key_prefix);
    let mut job = Job::new_pending(
        job_id,
        user_id,
        file,
        config.aws_name("inputs"),
        &input_key,
        complete - 30,
    );
    job.job_status = JobStatus::Completed;
    job.s3_results_bucket = Some(config.aws_name("results"));
    job.s3_key_result_file = Some(gas_jobs::keys::result_key(&input_key));
    job.s3_key_log_file = Some(gas_jobs::keys::log_key(&input_key));
    job.complete_time = Some(complete);
    job.progress = 1.0;
    job
}

async fn seed_jobs(n: usize) -> Result<()> {
    let config = config()?;
    let (ports, _) = gas::system::open(&config).await?;
    let email = format!("load-{}@example.org", &new_id()[..8]);
    let (user, token) = gas::users::add_user(&ports, &email, Role::Free, None).await?;
    let started = Instant::now();
    let now = now_epoch();
    let mut middle = String::new();
    // Several writers at once: the store serialises them, but the calls
    // overlap their async overheads.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let job_id = new_id();
        if i == n / 2 {
            middle = job_id.clone();
        }
        // One a minute back in time, newest first in the list.
        let complete = now - 60 * (n - i) as i64;
        let job = completed_job(&config, &user.user_id, &job_id, "sample.vcf", complete);
        let jobs = Arc::clone(&ports.jobs);
        tasks.spawn(async move { jobs.create(&job).await });
        if tasks.len() >= 16 {
            tasks.join_next().await.context("task")???;
        }
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let secret = hex::encode(Sha256::digest(new_id().as_bytes()));
    ports
        .users
        .create_session(&Session {
            session_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
            user_id: user.user_id.clone(),
            created_at: now,
            expires_at: now + 24 * 3600,
        })
        .await?;
    eprintln!(
        "seeded {n} jobs for {} in {:.1} s",
        user.email,
        started.elapsed().as_secs_f64()
    );
    println!("token={token}");
    println!("job={middle}");
    println!("session={secret}");
    Ok(())
}

/// `2026-12-02T12:00:00.000Z` for epoch milliseconds.
fn rfc3339(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Howard Hinnant's civil_from_days.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Epoch milliseconds of an RFC 3339 UTC timestamp as tracing writes them
/// (`2026-12-02T12:00:00.123456Z`).
fn parse_rfc3339_ms(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut date = date.split('-').map(|v| v.parse::<i64>().ok());
    let (y, m, d) = (date.next()??, date.next()??, date.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.split(':').map(|v| v.parse::<i64>().ok());
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    let secs = days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec;
    Some(secs as f64 * 1000.0 + frac * 1000.0)
}

async fn sns_archive_lua(out: &str) -> Result<()> {
    let config = config()?;
    anyhow::ensure!(config.backend == Backend::Embedded, "embedded backend only");
    let (ports, _) = gas::system::open(&config).await?;
    let util = config.util_url();
    let signer = SnsSigner::load_or_create(
        &config.data_dir.join("keys"),
        sns_cert_url(&format!("{util}/_sns")),
    )?;
    let mut message = SnsMessage {
        message_type: MessageType::Notification,
        message_id: new_id(),
        token: None,
        topic_arn: ports.archive_topic.arn().to_string(),
        subject: None,
        // A job that does not exist: each request is verified and triggers
        // a drain of the archive queue, which finds nothing to do.
        message: r#"{"job_id":"load-test-no-such-job"}"#.into(),
        subscribe_url: None,
        unsubscribe_url: Some(format!("{util}/_sns/unsubscribe")),
        timestamp: rfc3339(now_millis()),
        signature_version: None,
        signature: None,
        signing_cert_url: None,
    };
    signer.sign(&mut message)?;
    let body = serde_json::to_string(&message)?;
    std::fs::write(
        out,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"text/plain; charset=UTF-8\"\nwrk.headers[\"x-amz-sns-message-type\"] = \"Notification\"\n",
            lua_string(&body)
        ),
    )?;
    Ok(())
}

/// A Lua long string holding `s` verbatim.
fn lua_string(s: &str) -> String {
    let mut level = 0;
    while s.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{s}]{eq}]")
}

/// Percentile (nearest rank) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Kills the child on every way out.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn lateness(n: usize, spread: u64, gas_binary: &str) -> Result<()> {
    let config = config()?;
    anyhow::ensure!(config.backend == Backend::Embedded, "embedded backend only");
    let window = config.free_access_window as i64;
    let (ports, _) = gas::system::open(&config).await?;
    let email = format!("lateness-{}@example.org", &new_id()[..8]);
    let (user, _) = gas::users::add_user(&ports, &email, Role::Free, None).await?;
    let setup = Instant::now();
    // A small annotated result for each job.
    let result: Vec<u8> = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/samples/test.vcf"
    ))
    .unwrap_or_else(|_| b"##fileformat=VCFv4.2\n".to_vec());
    let spread = spread.max(1);
    let job_ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    let result_key = |job_id: &str| {
        completed_job(&config, &user.user_id, job_id, "test.vcf", 0)
            .s3_key_result_file
            .unwrap_or_default()
    };
    let mut puts = tokio::task::JoinSet::new();
    for job_id in &job_ids {
        let (results, key, body) = (
            Arc::clone(&ports.results),
            result_key(job_id),
            result.clone(),
        );
        puts.spawn(async move { results.put(&key, gas_storage::bytes_stream(body)).await });
        if puts.len() >= 16 {
            puts.join_next().await.context("task")???;
        }
    }
    while let Some(r) = puts.join_next().await {
        r??;
    }
    eprintln!(
        "wrote {n} results in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // util first, so that it is up before the first window ends.
    let mut child = Command::new(gas_binary)
        .arg("util")
        .env("GAS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting gas util")?;
    let stderr = child.stderr.take().context("util's stderr")?;
    let guard = ChildGuard(child);
    let archived: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let seen = Arc::clone(&archived);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            if !line.contains("results archived") {
                continue;
            }
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let job = v["span"]["job_id"]
                .as_str()
                .or_else(|| {
                    v["spans"]
                        .as_array()
                        .and_then(|s| s.iter().find_map(|s| s["job_id"].as_str()))
                })
                .map(str::to_string);
            let at = v["timestamp"].as_str().and_then(parse_rfc3339_ms);
            if let (Some(job), Some(at)) = (job, at) {
                seen.lock().unwrap().insert(job, at);
            }
        }
    });
    let health = format!("{}/healthz", config.util_url());
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(&health)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "gas util did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Each job completes (as the runner records it) and starts its archive
    // timer for the end of its window, as the runner does. Windows end at
    // whole seconds (completion times are whole seconds), spread evenly
    // over `spread` seconds from a little after this set-up is done.
    let first_due = now_epoch() + 3 + (n as i64 / 200);
    let mut due: HashMap<String, i64> = HashMap::new();
    let mut timers = tokio::task::JoinSet::new();
    for (i, job_id) in job_ids.iter().enumerate() {
        let due_s = first_due + (i as u64 * spread / n as u64) as i64;
        due.insert(job_id.clone(), due_s * 1000);
        let job = completed_job(&config, &user.user_id, job_id, "test.vcf", due_s - window);
        let (jobs, timer, job_id) = (
            Arc::clone(&ports.jobs),
            Arc::clone(&ports.archive_timer),
            job_id.clone(),
        );
        timers.spawn(async move {
            jobs.create(&job).await?;
            let request = ArchiveRequest {
                job_id: job_id.clone(),
                window_started: None,
            };
            let input = serde_json::to_string(&request)?;
            let delay = Duration::from_millis((due_s * 1000 - now_millis()).max(0) as u64);
            let execution = timer.start(&request.timer_name(), &input, delay).await?;
            jobs.set_execution_id(&job_id, &execution).await?;
            anyhow::Ok(())
        });
        if timers.len() >= 16 {
            timers.join_next().await.context("task")???;
        }
    }
    while let Some(r) = timers.join_next().await {
        r??;
    }
    let late_start = now_millis() - first_due * 1000;
    if late_start > 0 {
        eprintln!("warning: the timers were started {late_start} ms after the first window end");
    }
    eprintln!(
        "{n} archive timers due from {} over {spread} s; waiting",
        rfc3339(first_due * 1000)
    );
    let deadline = Instant::now()
        + Duration::from_secs((first_due - now_epoch()).max(0) as u64 + spread + 120);
    while archived.lock().unwrap().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(guard);
    let archived = archived.lock().unwrap().clone();
    let mut late: Vec<f64> = archived
        .iter()
        .filter_map(|(job, at)| due.get(job).map(|d| (at - *d as f64) / 1000.0))
        .collect();
    late.sort_by(|a, b| a.total_cmp(b));
    // Cross-check with the store: every job records an archive.
    let mut recorded = 0;
    for job_id in &job_ids {
        if ports
            .jobs
            .get(job_id)
            .await?
            .is_some_and(|j| j.results_file_archive_id.is_some())
        {
            recorded += 1;
        }
    }
    println!("jobs={n}");
    println!("archived={}", late.len());
    println!("recorded={recorded}");
    println!("p50_s={:.3}", percentile(&late, 50.0));
    println!("p99_s={:.3}", percentile(&late, 99.0));
    println!("max_s={:.3}", late.last().copied().unwrap_or(f64::NAN));
    println!("min_s={:.3}", late.first().copied().unwrap_or(f64::NAN));
    if late.len() < n || recorded < n {
        bail!("only {} of {n} jobs were archived in time", late.len());
    }
    Ok(())
}

async fn archive_put(mib: u64, work_dir: &str) -> Result<()> {
    let config = config()?;
    anyhow::ensure!(config.backend == Backend::Aws, "AWS backend only");
    let (ports, _) = gas::system::open(&config).await?;
    let email = format!("archive-{}@example.org", &new_id()[..8]);
    let (user, _) = gas::users::add_user(&ports, &email, Role::Free, None).await?;
    let job_id = new_id();
    // Its window ended an hour ago.
    let job = completed_job(
        &config,
        &user.user_id,
        &job_id,
        "big.vcf",
        now_epoch() - 3600 - config.free_access_window as i64,
    );
    let key = job.s3_key_result_file.clone().context("result key")?;

    // The body: VCF-like text lines, written to a file and streamed from it.
    let size = mib << 20;
    let path = std::path::Path::new(work_dir).join(format!("result-{job_id}.vcf"));
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        let mut block = Vec::with_capacity(1 << 20);
        let mut i = 0u64;
        while block.len() < (1 << 20) {
            writeln!(
                block,
                "chr{}\t{}\t.\tA\tG\t50\tPASS\tDP={};VC=SNV;TITV=ts;GENE=G{}",
                1 + i % 22,
                10_000 + i * 37,
                i % 200,
                i % 5000
            )?;
            i += 1;
        }
        block.truncate(1 << 20);
        for _ in 0..mib {
            out.write_all(&block)?;
        }
        out.flush()?;
    }
    let started = Instant::now();
    let file = tokio::fs::File::open(&path).await?;
    let put = ports
        .results
        .put(&key, gas_storage::file_stream(file))
        .await;
    let _ = std::fs::remove_file(&path);
    let written = put?;
    anyhow::ensure!(written == size, "put {written} bytes, not {size}");
    ports.jobs.create(&job).await?;
    eprintln!(
        "results object of {mib} MiB put in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("job={job_id}");
    Ok(())
}

async fn archive_wait(job_id: &str, timeout: u64) -> Result<()> {
    let config = config()?;
    anyhow::ensure!(config.backend == Backend::Aws, "AWS backend only");
    let (ports, _) = gas::system::open(&config).await?;
    let request = serde_json::to_string(&ArchiveRequest {
        job_id: job_id.to_string(),
        window_started: None,
    })?;
    let started = Instant::now();
    ports.archive_topic.publish(&request).await?;
    let deadline = started + Duration::from_secs(timeout);
    let archive_id = loop {
        let job = ports.jobs.get(job_id).await?.context("no such job")?;
        if let Some(id) = job.results_file_archive_id {
            break id;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "job {job_id} not archived after {timeout} s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!("archived_s={:.1}", started.elapsed().as_secs_f64());
    println!("archive_id={archive_id}");
    if config.cold_storage == ColdStorage::S3Class {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &config.aws_endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(config.aws_endpoint_url.is_some())
                .build(),
        );
        let head = s3
            .head_object()
            .bucket(config.aws_name("archive"))
            .key(&archive_id)
            .send()
            .await
            .context("HeadObject of the archive")?;
        println!("archive_bytes={}", head.content_length().unwrap_or(-1));
        println!(
            "archive_storage_class={}",
            head.storage_class()
                .map(|c| c.as_str())
                .unwrap_or("STANDARD")
        );
    }
    Ok(())
}

#[derive(Default)]
struct SinkCounts {
    bytes: AtomicU64,
    parts: AtomicU64,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    counts: Arc<SinkCounts>,
}

/// The AWS endpoint of `gas util` in the vault mode: Glacier's REST calls
/// (paths under `/-/vaults/`) are answered here, reading and discarding
/// every body; everything else is passed to `upstream` (moto).
async fn glacier_proxy(upstream: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let state = Proxy {
        upstream: upstream.trim_end_matches('/').to_string(),
        http: reqwest::Client::new(),
        counts: Arc::default(),
    };
    let app = axum::Router::new()
        .fallback(proxy_request)
        .with_state(state);
    println!("listening=http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn proxy_request(
    axum::extract::State(proxy): axum::extract::State<Proxy>,
    request: axum::extract::Request,
) -> axum::response::Response {
    match proxy_inner(proxy, request).await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("proxy: {e:#}");
            axum::response::Response::builder()
                .status(502)
                .body(axum::body::Body::from(format!("{e:#}")))
                .unwrap_or_default()
        }
    }
}

async fn proxy_inner(
    proxy: Proxy,
    request: axum::extract::Request,
) -> Result<axum::response::Response> {
    use axum::http::StatusCode;
    use futures::StreamExt;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if path.starts_with("/-/vaults/") {
        let method = parts.method.as_str();
        // Read and discard the body, counting it.
        let mut length = 0u64;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            length += chunk?.len() as u64;
        }
        let tree_hash = header("x-amz-sha256-tree-hash");
        let counts = &proxy.counts;
        let response = axum::response::Response::builder();
        let response = match method {
            "PUT" if !path.contains("/multipart-uploads") => response
                .status(StatusCode::CREATED)
                .header("location", path.clone()),
            "POST" if path.ends_with("/multipart-uploads") => {
                counts.bytes.store(0, Ordering::SeqCst);
                counts.parts.store(0, Ordering::SeqCst);
                let id = new_id();
                response
                    .status(StatusCode::CREATED)
                    .header("x-amz-multipart-upload-id", id.clone())
                    .header("location", format!("{path}/{id}"))
            }
            "PUT" if path.contains("/multipart-uploads/") => {
                counts.bytes.fetch_add(length, Ordering::SeqCst);
                counts.parts.fetch_add(1, Ordering::SeqCst);
                response
                    .status(StatusCode::NO_CONTENT)
                    .header("x-amz-sha256-tree-hash", tree_hash)
            }
            "POST" if path.contains("/multipart-uploads/") => {
                let id = new_id();
                println!(
                    "archive size={} received={} parts={} id={id}",
                    header("x-amz-archive-size"),
                    counts.bytes.load(Ordering::SeqCst),
                    counts.parts.load(Ordering::SeqCst)
                );
                std::io::stdout().flush()?;
                response
                    .status(StatusCode::CREATED)
                    .header("x-amz-archive-id", id.clone())
                    .header("x-amz-sha256-tree-hash", tree_hash)
                    .header("location", format!("{path}/archives/{id}"))
            }
            "POST" if path.ends_with("/archives") => {
                let id = new_id();
                println!("archive size={length} received={length} parts=1 id={id}");
                std::io::stdout().flush()?;
                response
                    .status(StatusCode::CREATED)
                    .header("x-amz-archive-id", id.clone())
                    .header("x-amz-sha256-tree-hash", tree_hash)
                    .header("location", format!("{path}/{id}"))
            }
            _ => response.status(StatusCode::NO_CONTENT),
        };
        return Ok(response.body(axum::body::Body::empty())?);
    }
    // Everything else goes to moto: small request bodies, streamed answers
    // (GetObject of the results).
    let body = axum::body::to_bytes(body, 64 << 20).await?;
    let url = format!(
        "{}{}",
        proxy.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut upstream = proxy.http.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await?;
    let mut response = axum::response::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "transfer-encoding" | "connection") {
            response = response.header(name, value);
        }
    }
    Ok(response.body(axum::body::Body::from_stream(answer.bytes_stream()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let ms = 1_796_212_345_678;
        let text = rfc3339(ms);
        assert_eq!(parse_rfc3339_ms(&text), Some(ms as f64));
        assert_eq!(
            parse_rfc3339_ms("1970-01-02T00:00:01.5Z"),
            Some(86_401_500.0)
        );
    }
}

/// `annotate-warm`: tracks loaded once, then the same input annotated
/// `rounds` times (what one runner process does for successive jobs).
fn annotate_warm(rounds: usize, input: &str, output: &str, tracks: &[String]) -> Result<()> {
    let started = Instant::now();
    let mut options = gas_annotate::Options::default();
    options.tracks = gas_annotate::Track::load_all(tracks).context("loading the tracks")?;
    println!("load_s={:.4}", started.elapsed().as_secs_f64());
    for _ in 0..rounds {
        let started = Instant::now();
        gas_annotate::annotate_file(input.as_ref(), output.as_ref(), &options, &mut |_| {})
            .context("annotating")?;
        println!("run_s={:.4}", started.elapsed().as_secs_f64());
    }
    Ok(())
}
