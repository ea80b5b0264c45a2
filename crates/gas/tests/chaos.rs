//! Chaos at scale: web, ann and util as separate `gas` processes on one
//! installation, killed with SIGKILL at random moments, and upgrades raced
//! against every step of a job's life. What is asserted is what lasts: the
//! job records, the files of the embedded results store and cold store (or
//! the S3 buckets on moto), the queues and their dead-letter queues, and the
//! processes' own logs (JSON lines written as they happen, so a killed
//! process keeps what it said). Metrics are summed only where no process
//! was killed: a killed process takes its counters with it.
//!
//! Scenarios (one test each) and their sizes; the CI value first, then the
//! variable that changes it (`scripts/chaos.sh` runs the long versions):
//! - kill test: [`GAS_CHAOS_JOBS`] free-user jobs (100; long run 1,000), ann
//!   killed while jobs run, util while results archive and again while they
//!   restore after an upgrade, each restarted at once;
//! - scale-out: two web, two ann and two util processes, on the embedded
//!   backend ([`GAS_CHAOS_SCALE_JOBS`], 500) and on moto
//!   ([`GAS_CHAOS_MOTO_JOBS`], 100 in CI; 500 in the long run), each also
//!   with one of each process killed midway;
//! - upgrade races: [`GAS_CHAOS_USERS`] users (100; long run 500), half of
//!   them upgrading at a random moment between just before their submission
//!   and after their archive.
//!
//! Randomness comes from one seed, printed at the start of each test
//! (`GAS_CHAOS_SEED=N` replays the same schedule of kills, inputs and
//! upgrades; timing still varies). `GAS_CHAOS_WINDOW` sets the free window
//! (3 s). The tests take a lock so that they run one at a time: each one's
//! timing is its own.
//!
//! Temporary files of interrupted atomic writes (`.gas-tmp-*` beside the
//! objects of the directory stores) are counted and reported, not failed
//! on: the stores document them as what a crash mid-write leaves, never
//! served. A failed test keeps its data and logs and says where (any test
//! does with `GAS_CHAOS_KEEP=1`).
//!
//! What "once" means here. A job's annotation may legitimately run twice:
//! a runner killed mid-job leaves a claim whose lease runs out, and another
//! runner takes the job again. What must hold is one COMPLETED transition
//! (the store's conditional RUNNING → COMPLETED write; the runner logs
//! "job completed" only after it succeeded, so at most one such line per
//! job across every ann process and restart, exactly one when no ann was
//! killed) and one result object (the key derives from the input's key,
//! so a rerun replaces it with the same bytes). An archive likewise: the
//! embedded and S3-class cold stores name archives by job id, so a repeat
//! after a crash replaces rather than adds; what must hold is exactly one
//! archive object per archived job, the one its record names (two: the
//! results' and its variant index's, `<job_id>.variants`, which leaves hot
//! storage with the results and comes back byte for byte), and nothing
//! in cold storage or the results store that no job names.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use gas_jobs::{Job, JobStatus, JobStore, Role, UserStore};
use gas_messaging::Queue;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use support::Api;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

// ---------------------------------------------------------------- settings

/// Jobs of the kill test.
const GAS_CHAOS_JOBS: &str = "GAS_CHAOS_JOBS";
/// Jobs of the embedded scale-out.
const GAS_CHAOS_SCALE_JOBS: &str = "GAS_CHAOS_SCALE_JOBS";
/// Jobs of the scale-out on moto.
const GAS_CHAOS_MOTO_JOBS: &str = "GAS_CHAOS_MOTO_JOBS";
/// Users of the upgrade races.
const GAS_CHAOS_USERS: &str = "GAS_CHAOS_USERS";

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn window_secs() -> u64 {
    env_num("GAS_CHAOS_WINDOW", 3)
}

/// The test's random source: `GAS_CHAOS_SEED` or a fresh seed, printed.
fn seeded(test: &str) -> StdRng {
    let seed = std::env::var("GAS_CHAOS_SEED")
        .ok()
        .map(|s| s.parse().expect("GAS_CHAOS_SEED is a number"))
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("[{test}] GAS_CHAOS_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

/// One scenario at a time: their windows and kill schedules are timed.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Progress lines, with the time since the test began.
#[derive(Clone)]
struct Clock {
    test: &'static str,
    start: Instant,
}

impl Clock {
    fn new(test: &'static str) -> Clock {
        Clock {
            test,
            start: Instant::now(),
        }
    }

    fn say(&self, what: impl std::fmt::Display) {
        eprintln!(
            "[{} {:>6.1}s] {what}",
            self.test,
            self.start.elapsed().as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------- processes

use support::free_port;

/// One `gas web|ann|util` process, restartable; killed on drop. Its
/// standard output and error go, appended across restarts, to `log`.
struct Service {
    name: String,
    command: &'static str,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    kills: u32,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Service {
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is running", self.name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gas"))
            .arg(self.command)
            .env_remove("GAS_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    async fn start(&mut self) {
        self.spawn();
        let start = Instant::now();
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let http = reqwest::Client::new();
        loop {
            let up = http
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{} exited with {status} at start; see {}",
                    self.name,
                    self.log.display()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} did not answer {url} within 60 s; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), and reap it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn restart(&mut self) {
        self.kill();
        self.kills += 1;
        self.start().await;
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("http://127.0.0.1:{}/metrics", self.port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// Kills `service` at random moments (a pause drawn from `every` seconds
/// after each restart) and restarts it at once, until `stop` turns true;
/// hands the service back.
fn monkey(
    mut service: Service,
    seed: u64,
    every: (f64, f64),
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Service> {
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(seed);
        loop {
            let pause = Duration::from_secs_f64(rng.gen_range(every.0..every.1));
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return service;
            }
            service.restart().await;
        }
    })
}

/// A TCP round robin over util processes: the one util URL of an
/// installation (SNS posts and the certificate URL name it), as a load
/// balancer would be. A connection goes to the next backend that accepts.
struct Proxy {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy(backends: Vec<u16>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut next = 0usize;
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let backends = backends.clone();
            next += 1;
            let first = next;
            tokio::spawn(async move {
                for i in 0..backends.len() {
                    let port = backends[(first + i) % backends.len()];
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    Proxy { port, task }
}

// ---------------------------------------------------------------- installations

#[derive(Clone)]
enum Backend {
    Embedded,
    /// moto at this endpoint, resources named by `prefix`.
    Moto {
        endpoint: String,
        prefix: String,
    },
}

/// What the test reads to judge: the records, the stores, the queues.
struct Observer {
    jobs: Arc<dyn JobStore>,
    users: Arc<dyn UserStore>,
    kind: ObserverKind,
}

enum ObserverKind {
    Embedded {
        data: PathBuf,
        messaging: gas_messaging::local::LocalMessaging,
    },
    Moto {
        prefix: String,
        s3: aws_sdk_s3::Client,
        sqs: aws_sdk_sqs::Client,
    },
}

const CHANNELS: [&str; 5] = ["requests", "results", "archive", "restore", "thaw"];
const DEAD_LETTERED: [&str; 4] = ["requests", "results", "archive", "thaw"];
/// Names of the atomic writes' temporary files (crates/storage/src/dir/fsutil.rs).
const TEMP_PREFIX: &str = ".gas-tmp-";

/// The objects of a store, by key, with their sizes; temporary files of
/// interrupted writes apart.
#[derive(Debug, Default)]
struct Listing {
    objects: BTreeMap<String, u64>,
    temporaries: Vec<String>,
}

impl Observer {
    async fn open(backend: &Backend, data: &Path) -> Observer {
        match backend {
            Backend::Embedded => Observer {
                jobs: Arc::new(
                    gas_jobs::sqlite::SqliteJobStore::open(&data.join("jobs.sqlite")).unwrap(),
                ),
                users: Arc::new(
                    gas_jobs::sqlite::SqliteUserStore::open(&data.join("jobs.sqlite")).unwrap(),
                ),
                kind: ObserverKind::Embedded {
                    data: data.to_path_buf(),
                    messaging: gas_messaging::local::LocalMessaging::open(
                        &data.join("messaging.sqlite"),
                    )
                    .unwrap(),
                },
            },
            Backend::Moto { endpoint, prefix } => {
                let sdk = gas_testkit::sdk_config(endpoint).await;
                let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
                let s3 = aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&sdk)
                        .force_path_style(true)
                        .build(),
                );
                Observer {
                    jobs: Arc::new(gas_jobs::dynamo::DynamoJobStore::new(
                        dynamo.clone(),
                        format!("{prefix}-annotations"),
                    )),
                    users: Arc::new(gas_jobs::dynamo::DynamoUserStore::new(
                        dynamo,
                        format!("{prefix}-users"),
                    )),
                    kind: ObserverKind::Moto {
                        prefix: prefix.clone(),
                        s3,
                        sqs: aws_sdk_sqs::Client::new(&sdk),
                    },
                }
            }
        }
    }

    /// Every job of `users`.
    async fn all_jobs(&self, users: &[User]) -> HashMap<String, Job> {
        let mut all = HashMap::new();
        for user in users {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .jobs
                    .list_for_user(&user.id, 100, cursor.as_deref())
                    .await
                    .unwrap();
                for job in page.items {
                    all.insert(job.job_id.clone(), job);
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        all
    }

    /// The results store.
    async fn results(&self) -> Listing {
        match &self.kind {
            ObserverKind::Embedded { data, .. } => walk(&data.join("blobs/gas-results")),
            ObserverKind::Moto { prefix, s3, .. } => {
                list_bucket(s3, &format!("{prefix}-results"), "").await
            }
        }
    }

    /// The bytes of an object of the results store, if there is one.
    async fn result_bytes(&self, key: &str) -> Option<Vec<u8>> {
        match &self.kind {
            ObserverKind::Embedded { data, .. } => {
                match std::fs::read(data.join("blobs/gas-results").join(key)) {
                    Ok(bytes) => Some(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => panic!("reading {key}: {e}"),
                }
            }
            ObserverKind::Moto { prefix, s3, .. } => {
                match s3
                    .get_object()
                    .bucket(format!("{prefix}-results"))
                    .key(key)
                    .send()
                    .await
                {
                    Ok(out) => Some(out.body.collect().await.unwrap().to_vec()),
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
                    Err(e) => panic!("reading {key}: {e:?}"),
                }
            }
        }
    }

    /// The cold store's archives, by archive id.
    async fn archives(&self) -> Listing {
        match &self.kind {
            ObserverKind::Embedded { data, .. } => walk(&data.join("archive/vault")),
            ObserverKind::Moto { prefix, s3, .. } => {
                let mut listing = list_bucket(s3, &format!("{prefix}-archive"), "archive/").await;
                // Finished retrievals of deleted archives, kept until they
                // expire (the port's contract); not archives.
                listing
                    .objects
                    .retain(|key, _| !key.starts_with("archive/.retrieved/"));
                listing
            }
        }
    }

    /// The bytes of an archive, where the test can read them directly (the
    /// embedded vault; moto's cold objects need a restore first).
    fn archive_bytes(&self, archive_id: &str) -> Option<Vec<u8>> {
        match &self.kind {
            ObserverKind::Embedded { data, .. } => {
                Some(std::fs::read(data.join("archive/vault").join(archive_id)).unwrap())
            }
            ObserverKind::Moto { .. } => None,
        }
    }

    /// Every queue's and dead-letter queue's depth, by name.
    async fn depths(&self) -> BTreeMap<String, u64> {
        let mut names: Vec<String> = CHANNELS.iter().map(|c| c.to_string()).collect();
        names.extend(DEAD_LETTERED.iter().map(|c| format!("{c}-dlq")));
        let mut depths = BTreeMap::new();
        for name in names {
            let depth = match &self.kind {
                ObserverKind::Embedded { messaging, .. } => messaging
                    .queue(
                        &format!("gas-{name}"),
                        gas_messaging::local::QueueSettings::default(),
                    )
                    .unwrap()
                    .depth()
                    .await
                    .unwrap(),
                ObserverKind::Moto { prefix, sqs, .. } => {
                    let url = sqs
                        .get_queue_url()
                        .queue_name(format!("{prefix}-{name}"))
                        .send()
                        .await
                        .unwrap()
                        .queue_url
                        .unwrap();
                    gas_messaging::aws::SqsQueue::new(sqs.clone(), url)
                        .depth()
                        .await
                        .unwrap()
                }
            };
            depths.insert(name, depth);
        }
        depths
    }

    /// What lies outside the stores proper: the runners' scratch
    /// directories must all be gone once every job is done (a run killed
    /// mid-job leaves its own, which the job's next run or redelivery
    /// removes); finished retrievals stay for their retention (the cold
    /// store's contract, as Glacier keeps a job's output for 24 hours).
    fn check_leftovers(&self, data: &Path) -> String {
        let scratch: Vec<String> = std::fs::read_dir(data.join("scratch"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            scratch.is_empty(),
            "scratch directories left behind: {scratch:?}"
        );
        match &self.kind {
            ObserverKind::Embedded { data, .. } => format!(
                "no scratch left; {} retrieval files (kept for their retention)",
                walk(&data.join("archive/retrievals")).objects.len()
            ),
            ObserverKind::Moto { .. } => "no scratch left".to_string(),
        }
    }
}

fn walk(root: &Path) -> Listing {
    fn go(root: &Path, dir: &Path, listing: &mut Listing) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                go(root, &path, listing);
            } else if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                listing.temporaries.push(key);
            } else {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                listing.objects.insert(key, size);
            }
        }
    }
    let mut listing = Listing::default();
    go(root, root, &mut listing);
    listing
}

async fn list_bucket(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Listing {
    let mut listing = Listing::default();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.unwrap().contents() {
            listing.objects.insert(
                object.key().unwrap().to_string(),
                object.size().unwrap_or(0) as u64,
            );
        }
    }
    listing
}

#[derive(Clone)]
struct User {
    id: String,
    email: String,
    token: String,
}

/// An installation: `web`, `ann` and `util` processes sharing one backend,
/// util behind one URL (directly, or the proxy when there are several).
struct Installation {
    web: Vec<Service>,
    ann: Vec<Service>,
    util: Vec<Service>,
    observer: Arc<Observer>,
    _proxy: Option<Proxy>,
    clock: Clock,
    /// The data and the logs; kept when the test fails.
    scratch: Option<tempfile::TempDir>,
}

impl Drop for Installation {
    fn drop(&mut self) {
        self.web.clear();
        self.ann.clear();
        self.util.clear();
        if std::thread::panicking() || std::env::var_os("GAS_CHAOS_KEEP").is_some() {
            if let Some(dir) = self.scratch.take() {
                eprintln!(
                    "[{}] the data and logs are kept in {}",
                    self.clock.test,
                    dir.keep().display()
                );
            }
        }
    }
}

impl Installation {
    async fn start(
        test: &'static str,
        backend: Backend,
        counts: (usize, usize, usize),
        window: u64,
    ) -> Installation {
        let clock = Clock::new(test);
        let scratch = tempfile::tempdir().unwrap();
        let data = scratch.path().join("data");
        let logs = scratch.path().join("logs");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        let (webs, anns, utils) = counts;
        let util_ports: Vec<u16> = (0..utils).map(|_| free_port()).collect();
        let proxy = match utils {
            1 => None,
            _ => Some(proxy(util_ports.clone()).await),
        };
        let util_url = format!(
            "http://127.0.0.1:{}",
            proxy.as_ref().map(|p| p.port).unwrap_or(util_ports[0])
        );
        let mut common: Vec<(String, String)> = vec![
            ("GAS_DATA_DIR", data.display().to_string()),
            ("GAS_UTIL_PUBLIC_URL", util_url),
            ("GAS_FREE_ACCESS_WINDOW", window.to_string()),
            ("GAS_DRAIN_INTERVAL", "1".into()),
            ("GAS_RESTORE_POLL_INTERVAL", "1".into()),
            ("GAS_EXPEDITED_RETRIEVAL_MS", "500".into()),
            ("GAS_STANDARD_RETRIEVAL_MS", "1000".into()),
            ("GAS_ANN_WORKERS", "2".into()),
            ("GAS_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "info".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        match &backend {
            Backend::Embedded => {
                common.push(("GAS_BACKEND".into(), "embedded".into()));
                // Killed work comes back quickly.
                common.push(("GAS_VISIBILITY_TIMEOUT".into(), "3".into()));
            }
            Backend::Moto { endpoint, prefix } => {
                for (k, v) in [
                    ("GAS_BACKEND", "aws"),
                    ("GAS_AWS_ENDPOINT_URL", endpoint.as_str()),
                    ("GAS_AWS_PREFIX", prefix.as_str()),
                    ("GAS_COLD_STORAGE", "s3-class"),
                    // moto answers slower than SQLite: room for renewals.
                    ("GAS_VISIBILITY_TIMEOUT", "5"),
                    ("AWS_ACCESS_KEY_ID", "testing"),
                    ("AWS_SECRET_ACCESS_KEY", "testing"),
                    ("AWS_REGION", gas_testkit::REGION),
                ] {
                    common.push((k.into(), v.into()));
                }
            }
        }
        let service = |command: &'static str, n: usize, port: u16| {
            let name = format!("{command}-{}", n + 1);
            let mut env = common.clone();
            let addr = format!("127.0.0.1:{port}");
            env.push((format!("GAS_{}_ADDR", command.to_uppercase()), addr));
            Service {
                log: logs.join(format!("{name}.log")),
                name,
                command,
                port,
                env,
                child: None,
                kills: 0,
            }
        };
        let mut installation_util: Vec<Service> = util_ports
            .iter()
            .enumerate()
            .map(|(n, port)| service("util", n, *port))
            .collect();
        let mut ann: Vec<Service> = (0..anns).map(|n| service("ann", n, free_port())).collect();
        let mut web: Vec<Service> = (0..webs).map(|n| service("web", n, free_port())).collect();

        if let Backend::Moto { .. } = backend {
            let log = logs.join("provision.log");
            let status = Command::new(env!("CARGO_BIN_EXE_gas"))
                .arg("provision")
                .envs(common.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .status()
                .unwrap();
            assert!(
                status.success(),
                "gas provision failed; see {}",
                log.display()
            );
        }
        // util first: it creates the embedded files and confirms the
        // webhook subscriptions that the others' start makes.
        for s in installation_util.iter_mut() {
            s.start().await;
        }
        for s in ann.iter_mut().chain(web.iter_mut()) {
            s.start().await;
        }
        let observer = Arc::new(Observer::open(&backend, &data).await);
        clock.say(format!(
            "{webs} web, {anns} ann, {utils} util up on {}; logs in {}",
            match &backend {
                Backend::Embedded => "the embedded backend".to_string(),
                Backend::Moto { prefix, .. } => format!("moto (prefix {prefix})"),
            },
            logs.display()
        ));
        Installation {
            scratch: Some(scratch),
            web,
            ann,
            util: installation_util,
            observer,
            _proxy: proxy,
            clock,
        }
    }

    fn api(&self, web: usize) -> Api {
        Api::new(format!("http://127.0.0.1:{}", self.web[web].port))
    }

    /// `n` users with API tokens.
    async fn users(&self, n: usize, role: Role) -> Vec<User> {
        let mut users = Vec::new();
        for i in 0..n {
            let email = format!("chaos-{i}@example.org");
            let user =
                gas_web::accounts::create_account(self.observer.users.as_ref(), &email, role, None)
                    .await
                    .unwrap();
            let (token, _) =
                gas_web::accounts::create_token(self.observer.users.as_ref(), &user, "chaos")
                    .await
                    .unwrap();
            users.push(User {
                id: user.user_id,
                email,
                token,
            });
        }
        users
    }

    fn logs(&self) -> PathBuf {
        self.scratch.as_ref().unwrap().path().join("logs")
    }

    fn data(&self) -> PathBuf {
        self.scratch.as_ref().unwrap().path().join("data")
    }

    /// Waits until no queue or dead-letter queue holds a message.
    async fn quiesce(&self, limit: Duration) {
        let observer = Arc::clone(&self.observer);
        wait_until("every queue empty", limit, || {
            let observer = Arc::clone(&observer);
            async move {
                let depths = observer.depths().await;
                match depths.values().all(|d| *d == 0) {
                    true => Ok(()),
                    false => Err(format!("depths {depths:?}")),
                }
            }
        })
        .await;
    }

    /// Sums a counter over the live processes of one kind.
    async fn sum_metric(services: &[Service], name: &str) -> f64 {
        let mut sum = 0.0;
        for service in services {
            sum += metric(&service.metrics().await, name);
        }
        sum
    }
}

/// The value of a counter (all its label sets summed) in Prometheus text;
/// `name` may carry a label filter such as `gas_ann_jobs_total{status="completed"}`.
fn metric(text: &str, name: &str) -> f64 {
    let (base, filter) = match name.split_once('{') {
        Some((base, rest)) => (base, Some(rest.trim_end_matches('}'))),
        None => (name, None),
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let series_base = series.split('{').next()?;
            if series_base != base {
                return None;
            }
            if let Some(filter) = filter {
                if !series.contains(filter) {
                    return None;
                }
            }
            value.parse::<f64>().ok()
        })
        .sum()
}

/// Polls `check` every 250 ms until it is `Ok`; fails after `limit` with
/// its last answer.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(()) => return,
            Err(why) => assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}: {why}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---------------------------------------------------------------- inputs and results

/// The sample every job annotates (its records `copies` times: 10 KB
/// each), made unique per job by a header line (which the annotator
/// keeps), so that a mix-up between jobs shows.
fn input(tag: &str, copies: usize) -> Vec<u8> {
    let sample = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/samples/test.vcf"),
    )
    .unwrap();
    let text = String::from_utf8(sample).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let (header, records): (Vec<&str>, Vec<&str>) = rest.lines().partition(|l| l.starts_with('#'));
    let mut out = format!("{first}\n##chaos_job={tag}\n");
    for line in header {
        out.push_str(line);
        out.push('\n');
    }
    for _ in 0..copies {
        for line in &records {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// What the runner writes for `input`: the same annotator, tracks and
/// options, here in the test process.
fn annotate(inputs: Vec<(String, Vec<u8>)>) -> HashMap<String, Vec<u8>> {
    // What the runner's default configuration annotates with: the built-in
    // tracks, and consequences on the built-in mitochondrial models and
    // genome.
    let mut options = gas_annotate::Options::default();
    options.tracks = gas::system::load_tracks(&["builtin".to_owned()]).unwrap();
    options.consequences = gas::system::load_consequences(
        &["builtin".to_owned()],
        Some("builtin"),
        gas_annotate::consequence::Pick::All,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (in_path, out_path) = (dir.path().join("in.vcf"), dir.path().join("out.vcf"));
    inputs
        .into_iter()
        .map(|(job_id, bytes)| {
            std::fs::write(&in_path, bytes).unwrap();
            gas_annotate::annotate_file(&in_path, &out_path, &options, &mut |_| {}).unwrap();
            (job_id, std::fs::read(&out_path).unwrap())
        })
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Downloads a job's results, or says why not.
async fn try_download(api: &Api, token: &str, job_id: &str) -> Result<Vec<u8>, String> {
    let response = api
        .http
        .get(format!("{}/api/v1/jobs/{job_id}/results", api.web))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_redirection() {
        let status = response.status();
        return Err(format!(
            "{status}: {}",
            response.text().await.unwrap_or_default()
        ));
    }
    let url = response.headers()["location"].to_str().unwrap().to_string();
    let file = api.http.get(&url).send().await.map_err(|e| e.to_string())?;
    if file.status() != StatusCode::OK {
        return Err(format!("download URL answered {}", file.status()));
    }
    Ok(file.bytes().await.map_err(|e| e.to_string())?.to_vec())
}

/// Submits `inputs` (user index, tag) through `apis` in turn, four at a
/// time, spread over `pace` if given; returns job id → (user, input bytes).
async fn submit_all(
    apis: &[Arc<Api>],
    users: &[User],
    inputs: Vec<(usize, String)>,
    copies: usize,
    pace: Option<Duration>,
) -> BTreeMap<String, (User, Vec<u8>)> {
    let mut submitted = BTreeMap::new();
    let mut tasks = JoinSet::new();
    let (start, total) = (tokio::time::Instant::now(), inputs.len().max(1) as u32);
    for (n, (user, tag)) in inputs.into_iter().enumerate() {
        if let Some(pace) = pace {
            tokio::time::sleep_until(start + pace * n as u32 / total).await;
        }
        if tasks.len() >= 4 {
            let (job_id, user, bytes) = tasks.join_next().await.unwrap().unwrap();
            submitted.insert(job_id, (user, bytes));
        }
        let api = Arc::clone(&apis[n % apis.len()]);
        let user = users[user].clone();
        tasks.spawn(async move {
            let bytes = input(&tag, copies);
            let job_id = api
                .submit_ok(&user.token, &format!("chaos-{tag}.vcf"), bytes.clone())
                .await;
            (job_id, user, bytes)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (job_id, user, bytes) = done.unwrap();
        submitted.insert(job_id, (user, bytes));
    }
    submitted
}

// ---------------------------------------------------------------- logs

/// How often each process said `message` about each job: the JSON lines
/// of every log in `dir` whose name starts with `service`, by the `job_id`
/// of their span. A line cut short by a kill is not counted.
fn said(dir: &Path, service: &str, message: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().starts_with(service) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if event["fields"]["message"] != message {
                continue;
            }
            let job_id = event["span"]["job_id"]
                .as_str()
                .or_else(|| {
                    event["spans"]
                        .as_array()?
                        .iter()
                        .find_map(|s| s["job_id"].as_str())
                })
                .map(str::to_string);
            if let Some(job_id) = job_id {
                *counts.entry(job_id).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Lines of the logs of `service` at WARN or above, for the report.
fn warnings(dir: &Path, service: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().starts_with(service) {
            continue;
        }
        for line in std::fs::read_to_string(entry.path()).unwrap().lines() {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if matches!(event["level"].as_str(), Some("WARN" | "ERROR")) {
                let message = event["fields"]["message"].as_str().unwrap_or("?");
                *counts.entry(message.to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

// ---------------------------------------------------------------- checks

/// The state every job of a finished run must be in, as far as the stores
/// say: COMPLETED; archived (one archive of its results and one of its
/// variant index, the ones its record names, neither left in hot storage)
/// or hot (its result object and its index present, no archive); nothing
/// in cold storage or the results store that no job names. `indexes`: each
/// job's index as it was before its archive, where the test captured it;
/// an index is then compared with it wherever it lies.
async fn check_stores(
    observer: &Observer,
    jobs: &HashMap<String, Job>,
    expected: &HashMap<String, Vec<u8>>,
    indexes: &HashMap<String, Vec<u8>>,
) -> String {
    let results = observer.results().await;
    let archives = observer.archives().await;
    let mut named_results = BTreeSet::new();
    let mut named_archives = BTreeSet::new();
    let mut index_archives = 0;
    for (job_id, job) in jobs {
        assert_eq!(job.job_status, JobStatus::Completed, "{job_id}: {job:?}");
        let result_key = job.s3_key_result_file.clone().unwrap();
        let log_key = job.s3_key_log_file.clone().unwrap();
        let stats_key = gas_jobs::keys::stats_key(&job.s3_key_input_file);
        // The log and the statistics stay hot while the results are
        // archived; the variant index follows the results.
        let variants_key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
        for key in [&log_key, &stats_key] {
            assert!(
                results.objects.contains_key(key.as_str()),
                "{job_id}: {key} missing from the results store"
            );
            named_results.insert(key.clone());
        }
        let bytes = &expected[job_id];
        let index = indexes.get(job_id);
        match &job.results_file_archive_id {
            Some(archive_id) => {
                assert!(
                    job.retrieval_job_id.is_none() && job.variants_retrieval_job_id.is_none(),
                    "{job_id}: a retrieval is still recorded"
                );
                assert!(
                    !results.objects.contains_key(&result_key),
                    "{job_id}: archived, yet its results are still hot"
                );
                assert_eq!(
                    archives.objects.get(archive_id),
                    Some(&(bytes.len() as u64)),
                    "{job_id}: its archive {archive_id} is not in cold storage with the results' size"
                );
                if let Some(archived) = observer.archive_bytes(archive_id) {
                    assert!(
                        &archived == bytes,
                        "{job_id}: the archive holds other bytes"
                    );
                }
                named_archives.insert(archive_id.clone());
                // Every job here has an index (the runner writes it before
                // the job is COMPLETED): archived beside the results.
                let variants_archive_id = job
                    .variants_archive_id
                    .as_ref()
                    .unwrap_or_else(|| panic!("{job_id}: archived without its index: {job:?}"));
                assert!(
                    !results.objects.contains_key(&variants_key),
                    "{job_id}: archived, yet its index is still hot"
                );
                let size = archives.objects.get(variants_archive_id);
                assert!(
                    size.is_some(),
                    "{job_id}: its index's archive {variants_archive_id} is not in cold storage"
                );
                if let Some(index) = index {
                    assert_eq!(
                        size,
                        Some(&(index.len() as u64)),
                        "{job_id}: the index's archive has another size than the index"
                    );
                    if let Some(archived) = observer.archive_bytes(variants_archive_id) {
                        assert!(
                            &archived == index,
                            "{job_id}: the index's archive holds other bytes"
                        );
                    }
                }
                named_archives.insert(variants_archive_id.clone());
                index_archives += 1;
            }
            None => {
                assert_eq!(
                    job.variants_archive_id, None,
                    "{job_id}: hot, yet an index archive is recorded"
                );
                assert_eq!(
                    results.objects.get(&result_key),
                    Some(&(bytes.len() as u64)),
                    "{job_id}: hot, yet its result object is missing or of another size"
                );
                named_results.insert(result_key);
                assert!(
                    results.objects.contains_key(&variants_key),
                    "{job_id}: hot, yet its index is missing"
                );
                if let Some(index) = index {
                    let hot = observer.result_bytes(&variants_key).await;
                    assert!(
                        hot.as_ref() == Some(index),
                        "{job_id}: its index differs from the one before the archive"
                    );
                }
                named_results.insert(variants_key);
            }
        }
    }
    let stray_results: Vec<&String> = results
        .objects
        .keys()
        .filter(|k| !named_results.contains(*k))
        .collect();
    assert!(
        stray_results.is_empty(),
        "objects in the results store that no job names: {stray_results:?}"
    );
    let stray_archives: Vec<&String> = archives
        .objects
        .keys()
        .filter(|k| !named_archives.contains(*k))
        .collect();
    assert!(
        stray_archives.is_empty(),
        "archives in cold storage that no job names: {stray_archives:?}"
    );
    format!(
        "{} archived ({index_archives} with their index), {} hot; {} results objects and {} \
         archives, all named by a job; {} indexes compared byte for byte; \
         temporary files of interrupted writes: {} in the results store, {} in cold storage",
        named_archives.len() - index_archives,
        jobs.len() - (named_archives.len() - index_archives),
        results.objects.len(),
        archives.objects.len(),
        jobs.keys().filter(|j| indexes.contains_key(*j)).count(),
        results.temporaries.len(),
        archives.temporaries.len()
    )
}

/// "Annotated once": at most one "job completed" per job over every ann
/// process and restart (`exactly`: exactly one). Returns how many jobs a
/// kill interrupted mid-run (the lease ran out and another run took them),
/// how many deferrals there were, and how many completions went unlogged.
fn check_annotated_once(
    logs: &Path,
    jobs: &HashMap<String, Job>,
    exactly: bool,
) -> (usize, usize, usize) {
    let completed = said(logs, "ann", "job completed");
    let ran = said(logs, "ann", "running job");
    let deferred = said(logs, "ann", "job is held by another runner; deferred");
    for job_id in jobs.keys() {
        let n = completed.get(job_id).copied().unwrap_or(0);
        assert!(n <= 1, "{job_id} was completed {n} times");
        if exactly {
            assert_eq!(n, 1, "{job_id} was completed {n} times");
        }
    }
    let unlogged = jobs.keys().filter(|j| !completed.contains_key(*j)).count();
    // Interrupted: ran twice, or deferred (a kill can come between the
    // claim and the run's first log line).
    let reruns = jobs
        .keys()
        .filter(|j| ran.get(*j).copied().unwrap_or(0) > 1 || deferred.contains_key(*j))
        .count();
    (reruns, deferred.values().sum(), unlogged)
}

/// "Archived once": at most one "results archived" (logged after the
/// archive id was recorded) per job over every util process and restart.
fn check_archived_once(logs: &Path, jobs: &HashMap<String, Job>, exactly: bool) -> usize {
    let archived = said(logs, "util", "results archived");
    for job_id in jobs.keys() {
        let n = archived.get(job_id).copied().unwrap_or(0);
        assert!(n <= 1, "{job_id} was archived {n} times");
        if exactly {
            assert_eq!(n, 1, "{job_id} was archived {n} times");
        }
    }
    jobs.keys().filter(|j| !archived.contains_key(*j)).count()
}

fn jobs_where(jobs: &HashMap<String, Job>, keep: impl Fn(&Job) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = jobs
        .values()
        .filter(|j| keep(j))
        .map(|j| j.job_id.clone())
        .collect();
    ids.sort();
    ids
}

fn some(ids: &[String]) -> String {
    format!(
        "{} (e.g. {:?})",
        ids.len(),
        ids.iter().take(3).collect::<Vec<_>>()
    )
}

// ---------------------------------------------------------------- the kill test

/// The results downloaded inside their windows, by job id, the variant
/// indexes read from the results store just before (so before their
/// archive), and the jobs whose window the download missed.
type Captured = (
    HashMap<String, Vec<u8>>,
    HashMap<String, Vec<u8>>,
    Vec<String>,
);

/// Downloads each job's results as soon as it completes, inside its
/// window: the checksums to compare with after the restore.
fn capture_before(
    observer: Arc<Observer>,
    api: Arc<Api>,
    users: Vec<User>,
    count: usize,
    limit: Duration,
) -> tokio::task::JoinHandle<Captured> {
    tokio::spawn(async move {
        let tokens: HashMap<String, String> = users
            .iter()
            .map(|u| (u.id.clone(), u.token.clone()))
            .collect();
        let mut before: HashMap<String, Vec<u8>> = HashMap::new();
        let mut indexes: HashMap<String, Vec<u8>> = HashMap::new();
        let mut missed: Vec<String> = Vec::new();
        let start = Instant::now();
        while before.len() + missed.len() < count && start.elapsed() < limit {
            let jobs = observer.all_jobs(&users).await;
            let mut fresh: Vec<Job> = jobs
                .into_values()
                .filter(|j| j.job_status == JobStatus::Completed)
                .filter(|j| !before.contains_key(&j.job_id) && !missed.contains(&j.job_id))
                .collect();
            fresh.sort_by_key(|j| j.complete_time);
            let mut downloads = JoinSet::new();
            for job in fresh {
                let (api, token) = (Arc::clone(&api), tokens[&job.user_id].clone());
                let observer = Arc::clone(&observer);
                downloads.spawn(async move {
                    // The index first: it leaves hot storage with the
                    // results, which are downloadable until then.
                    let key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
                    let index = observer.result_bytes(&key).await;
                    let got = try_download(&api, &token, &job.job_id).await;
                    let got = match (got, index) {
                        (Ok(bytes), Some(index)) => Ok((bytes, index)),
                        (Ok(_), None) => Err(format!("its index {key} was not hot")),
                        (Err(why), _) => Err(why),
                    };
                    (job.job_id, got)
                });
                while downloads.len() >= 8 {
                    let (job_id, got) = downloads.join_next().await.unwrap().unwrap();
                    match got {
                        Ok((bytes, index)) => {
                            before.insert(job_id.clone(), bytes);
                            indexes.insert(job_id, index);
                        }
                        Err(why) => {
                            eprintln!("missed the window of {job_id}: {why}");
                            missed.push(job_id);
                        }
                    }
                }
            }
            while let Some(done) = downloads.join_next().await {
                let (job_id, got) = done.unwrap();
                match got {
                    Ok((bytes, index)) => {
                        before.insert(job_id.clone(), bytes);
                        indexes.insert(job_id, index);
                    }
                    Err(why) => {
                        eprintln!("missed the window of {job_id}: {why}");
                        missed.push(job_id);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (before, indexes, missed)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_test_ann_and_util_killed_while_jobs_run_archive_and_restore() {
    let _serial = SERIAL.lock().await;
    let count = env_num(GAS_CHAOS_JOBS, 100) as usize;
    let window = window_secs();
    let mut rng = seeded("kill");
    let mut gas = Installation::start("kill", Backend::Embedded, (1, 1, 1), window).await;
    let users = gas.users(count.div_ceil(10), Role::Free).await;
    let api = Arc::new(gas.api(0));
    gas.clock.say(format!(
        "{count} jobs of {} free users, window {window} s",
        users.len()
    ));

    // Kill util at random moments while results archive (from now on,
    // since each window ends a few seconds after its job).
    let (stop_util, util_stop) = watch::channel(false);
    let util = monkey(gas.util.remove(0), rng.gen(), (0.5, 2.5), util_stop);
    let catcher = capture_before(
        Arc::clone(&gas.observer),
        Arc::clone(&api),
        users.clone(),
        count,
        Duration::from_secs(600),
    );
    // Jobs are quick (ten copies of the sample, about 100 KB, under the
    // free limit, take ~10 ms), so they come in bursts of 10 and ann is
    // killed a random moment into each, while it works through one.
    let inputs: Vec<(usize, String)> = (0..count)
        .map(|n| (n % users.len(), format!("{}-{n}", rng.gen::<u32>())))
        .collect();
    let mut inputs = inputs.into_iter();
    let mut ann = gas.ann.remove(0);
    let mut submitted = BTreeMap::new();
    loop {
        let burst: Vec<(usize, String)> = inputs.by_ref().take(10).collect();
        if burst.is_empty() {
            break;
        }
        let (apis, burst_users) = ([Arc::clone(&api)], users.clone());
        let burst =
            tokio::spawn(async move { submit_all(&apis, &burst_users, burst, 10, None).await });
        tokio::time::sleep(Duration::from_secs_f64(rng.gen_range(0.03..0.3))).await;
        ann.restart().await;
        submitted.extend(burst.await.unwrap());
        tokio::time::sleep(Duration::from_secs_f64(rng.gen_range(0.2..1.0))).await;
    }
    gas.clock.say(format!(
        "{} jobs submitted; ann was killed {} times",
        submitted.len(),
        ann.kills
    ));
    // A job whose runner was killed mid-run waits for its claim's lease to
    // run out, then runs again. (Killing ann during those reruns as well
    // would, three times on one job, move its request to the dead-letter
    // queue, which is what max_receives is for: a job that kills its runner.)
    gas.ann.push(ann);

    let observer = Arc::clone(&gas.observer);
    let all_users = users.clone();
    // A job whose runner was killed mid-run waits a lease (60 s) and may be
    // hit again; a timer a killed util had claimed fires 30 s late.
    let limit = Duration::from_secs(300 + count as u64 / 5);
    wait_until("every job COMPLETED", limit, || {
        let (observer, users) = (Arc::clone(&observer), all_users.clone());
        async move {
            let jobs = observer.all_jobs(&users).await;
            let open = jobs_where(&jobs, |j| j.job_status != JobStatus::Completed);
            let failed = jobs_where(&jobs, |j| j.job_status == JobStatus::Failed);
            assert!(failed.is_empty(), "jobs FAILED: {failed:?}");
            match open.is_empty() && jobs.len() == count {
                true => Ok(()),
                false => Err(format!("{} of {count} jobs not COMPLETED", some(&open))),
            }
        }
    })
    .await;
    gas.clock.say(format!(
        "every job COMPLETED; ann was killed {} times",
        gas.ann[0].kills
    ));

    wait_until("every job archived", limit, || {
        let (observer, users) = (Arc::clone(&observer), all_users.clone());
        async move {
            let jobs = observer.all_jobs(&users).await;
            let hot = jobs_where(&jobs, |j| j.results_file_archive_id.is_none());
            match hot.is_empty() {
                true => Ok(()),
                false => Err(format!("{} not archived", some(&hot))),
            }
        }
    })
    .await;
    stop_util.send(true).unwrap();
    let util_service = util.await.unwrap();
    let util_kills_archiving = util_service.kills;
    gas.util.push(util_service);
    let (before, indexes, missed) = catcher.await.unwrap();
    assert!(
        missed.is_empty(),
        "results not downloaded inside their window: {missed:?}"
    );
    assert_eq!(before.len(), count, "every job's results downloaded");
    gas.clock.say(format!(
        "every job archived; util was killed {util_kills_archiving} times"
    ));

    // The archive step's durable outcome before the restore.
    let expected = tokio::task::spawn_blocking({
        let inputs: Vec<(String, Vec<u8>)> = submitted
            .iter()
            .map(|(id, (_, bytes))| (id.clone(), bytes.clone()))
            .collect();
        move || annotate(inputs)
    })
    .await
    .unwrap();
    for (job_id, bytes) in &before {
        assert!(
            bytes == &expected[job_id],
            "{job_id}: the downloaded results are not the annotation of its input"
        );
    }
    let distinct: BTreeSet<String> = before.values().map(|b| sha(b)).collect();
    assert_eq!(distinct.len(), count, "every job's results are its own");
    let jobs = gas.observer.all_jobs(&users).await;
    gas.clock.say(format!(
        "archived: {}",
        check_stores(&gas.observer, &jobs, &expected, &indexes).await
    ));

    // Upgrade every user at a random moment of the next 4 s, killing util
    // while the results restore.
    let (stop_util, util_stop) = watch::channel(false);
    let util = monkey(gas.util.remove(0), rng.gen(), (0.2, 1.2), util_stop);
    let mut upgrades = JoinSet::new();
    for user in users.clone() {
        let api = Arc::clone(&api);
        let at = Duration::from_secs_f64(rng.gen_range(0.0..4.0));
        upgrades.spawn(async move {
            tokio::time::sleep(at).await;
            api.upgrade(&user.token).await
        });
    }
    while let Some(done) = upgrades.join_next().await {
        done.unwrap();
    }
    gas.clock.say("every user upgraded");
    wait_until("every job restored", limit, || {
        let (observer, users) = (Arc::clone(&observer), all_users.clone());
        async move {
            let jobs = observer.all_jobs(&users).await;
            let cold = jobs_where(&jobs, |j| {
                j.results_file_archive_id.is_some()
                    || j.retrieval_job_id.is_some()
                    || j.variants_archive_id.is_some()
                    || j.variants_retrieval_job_id.is_some()
            });
            match cold.is_empty() {
                true => Ok(()),
                false => Err(format!("{} not restored", some(&cold))),
            }
        }
    })
    .await;
    stop_util.send(true).unwrap();
    let util_service = util.await.unwrap();
    let util_kills_restoring = util_service.kills - util_kills_archiving;
    gas.util.push(util_service);
    gas.clock.say(format!(
        "every job restored; util was killed {util_kills_restoring} more times"
    ));
    gas.quiesce(Duration::from_secs(120)).await;

    // Every result, downloaded now, has the checksum it had in its window.
    for (job_id, (user, _)) in &submitted {
        let after = try_download(&api, &user.token, job_id)
            .await
            .unwrap_or_else(|why| panic!("{job_id}: {why}"));
        assert_eq!(
            sha(&after),
            sha(&before[job_id]),
            "{job_id}: restored bytes differ from the bytes of its window"
        );
    }
    let jobs = gas.observer.all_jobs(&users).await;
    // Every index back in hot storage, byte for byte as before its archive.
    assert_eq!(indexes.len(), count, "every job's index captured");
    let stores = check_stores(&gas.observer, &jobs, &expected, &indexes).await;
    let (reruns, deferred, unlogged) = check_annotated_once(&gas.logs(), &jobs, false);
    let archived_unlogged = check_archived_once(&gas.logs(), &jobs, false);
    gas.clock.say(format!(
        "PASS: {count} restored with their window's checksums; {stores}; \
         {reruns} jobs interrupted mid-run and run again ({deferred} deferrals), {unlogged} completions \
         and {archived_unlogged} archives unlogged (killed between the write and the log line); \
         ann killed {}, util {} times; {}; util warnings {:?}",
        gas.ann[0].kills,
        gas.util[0].kills,
        gas.observer.check_leftovers(&gas.data()),
        warnings(&gas.logs(), "util")
    ));
}

// ---------------------------------------------------------------- scale-out

async fn scale_out(test: &'static str, backend: Backend, count: usize, kill: bool) {
    let _serial = SERIAL.lock().await;
    let window = window_secs();
    let mut rng = seeded(test);
    let mut gas = Installation::start(test, backend, (2, 2, 2), window).await;
    let users = gas.users(count.div_ceil(10).max(1), Role::Free).await;
    let apis = [Arc::new(gas.api(0)), Arc::new(gas.api(1))];
    gas.clock.say(format!(
        "{count} jobs of {} free users, window {window} s{}",
        users.len(),
        if kill {
            "; one web, one ann and one util killed midway"
        } else {
            ""
        }
    ));
    let inputs: Vec<(usize, String)> = (0..count)
        .map(|n| (n % users.len(), format!("{}-{n}", rng.gen::<u32>())))
        .collect();
    let half = count / 2;
    let mut rest = inputs;
    let first = rest.drain(..half).collect::<Vec<_>>();
    let mut submitted = submit_all(&apis, &users, first, 1, None).await;
    let mut killers = Vec::new();
    let submit_through: Vec<Arc<Api>> = if kill {
        // Midway: web-2 dies between requests (see the report on a kill
        // inside a submission); ann-2 a random moment later, while jobs run;
        // util-2 at a random moment after the first archive, while results
        // archive. None comes back.
        let mut web = gas.web.remove(1);
        web.kill();
        gas.clock.say("web-2 killed");
        let (mut ann, mut util) = (gas.ann.remove(1), gas.util.remove(1));
        let (ann_after, util_after) = (rng.gen_range(0.0..0.8), rng.gen_range(0.0..2.0));
        let (clock, observer, all) = (gas.clock.clone(), Arc::clone(&gas.observer), users.clone());
        killers.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs_f64(ann_after)).await;
            ann.kill();
            let jobs = observer.all_jobs(&all).await;
            let open = jobs_where(&jobs, |j| j.job_status != JobStatus::Completed).len();
            clock.say(format!(
                "ann-2 killed ({} jobs submitted, {open} of them not COMPLETED)",
                jobs.len()
            ));
            vec![web, ann]
        }));
        let (clock, observer, all) = (gas.clock.clone(), Arc::clone(&gas.observer), users.clone());
        killers.push(tokio::spawn(async move {
            let start = Instant::now();
            while observer
                .all_jobs(&all)
                .await
                .values()
                .all(|j| j.results_file_archive_id.is_none())
            {
                assert!(
                    start.elapsed() < Duration::from_secs(300),
                    "nothing archived"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_secs_f64(util_after)).await;
            util.kill();
            let jobs = observer.all_jobs(&all).await;
            let archived =
                jobs.len() - jobs_where(&jobs, |j| j.results_file_archive_id.is_none()).len();
            clock.say(format!("util-2 killed ({archived} of {count} archived)"));
            vec![util]
        }));
        vec![Arc::clone(&apis[0])]
    } else {
        apis.to_vec()
    };
    submitted.extend(submit_all(&submit_through, &users, rest, 1, None).await);
    gas.clock.say(format!("{} jobs submitted", submitted.len()));
    let mut _dead: Vec<Service> = Vec::new();
    for killer in killers {
        _dead.extend(killer.await.unwrap());
    }

    let observer = Arc::clone(&gas.observer);
    let all_users = users.clone();
    let limit = Duration::from_secs(120 + count as u64 / 2);
    wait_until("every job COMPLETED and archived", limit, || {
        let (observer, users) = (Arc::clone(&observer), all_users.clone());
        async move {
            let jobs = observer.all_jobs(&users).await;
            let failed = jobs_where(&jobs, |j| j.job_status == JobStatus::Failed);
            assert!(failed.is_empty(), "jobs FAILED: {failed:?}");
            let open = jobs_where(&jobs, |j| j.job_status != JobStatus::Completed);
            let hot = jobs_where(&jobs, |j| j.results_file_archive_id.is_none());
            match hot.is_empty() && jobs.len() == count {
                true => Ok(()),
                false => Err(format!(
                    "{} not COMPLETED, {} not archived",
                    some(&open),
                    some(&hot)
                )),
            }
        }
    })
    .await;
    gas.clock.say("every job COMPLETED and archived");
    gas.quiesce(Duration::from_secs(120)).await;
    gas.clock.say("every queue and dead-letter queue empty");

    let expected = tokio::task::spawn_blocking({
        let inputs: Vec<(String, Vec<u8>)> = submitted
            .iter()
            .map(|(id, (_, bytes))| (id.clone(), bytes.clone()))
            .collect();
        move || annotate(inputs)
    })
    .await
    .unwrap();
    let jobs = gas.observer.all_jobs(&users).await;
    assert_eq!(jobs.len(), count);
    let stores = check_stores(&gas.observer, &jobs, &expected, &HashMap::new()).await;
    let (reruns, deferred, unlogged) = check_annotated_once(&gas.logs(), &jobs, !kill);
    let archived_unlogged = check_archived_once(&gas.logs(), &jobs, !kill);
    let mut counters = String::new();
    if !kill {
        // Nothing was killed: the counters are whole.
        let completed =
            Installation::sum_metric(&gas.ann, "gas_ann_jobs_total{status=\"completed\"}").await;
        let archived = Installation::sum_metric(&gas.util, "gas_util_archived_total").await;
        let uploads = Installation::sum_metric(&gas.util, "gas_util_archive_uploads_total").await;
        assert_eq!(completed, count as f64, "gas_ann_jobs_total completed");
        assert_eq!(archived, count as f64, "gas_util_archived_total");
        assert_eq!(uploads, count as f64, "gas_util_archive_uploads_total");
        counters = format!(
            "; metrics over both processes: {completed} completed, {archived} archived, {uploads} uploads"
        );
    }
    gas.clock.say(format!(
        "PASS: {stores}; {reruns} jobs interrupted mid-run and run again ({deferred} deferrals), {unlogged} completions and \
         {archived_unlogged} archives unlogged{counters}; {}; warnings: ann {:?}, util {:?}",
        gas.observer.check_leftovers(&gas.data()),
        warnings(&gas.logs(), "ann"),
        warnings(&gas.logs(), "util")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_out_two_of_each_on_the_embedded_backend() {
    let count = env_num(GAS_CHAOS_SCALE_JOBS, 500) as usize;
    scale_out("scale-embedded", Backend::Embedded, count, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_out_on_the_embedded_backend_with_one_of_each_killed_midway() {
    let count = env_num(GAS_CHAOS_SCALE_JOBS, 500) as usize;
    scale_out("scale-embedded-killed", Backend::Embedded, count, true).await;
}

fn moto(test: &str) -> Option<Backend> {
    let endpoint = gas_testkit::aws_endpoint(test)?;
    let prefix = format!("chaos{:08x}", rand::random::<u32>());
    Some(Backend::Moto { endpoint, prefix })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_out_two_of_each_on_moto() {
    let Some(backend) = moto("chaos scale-out on moto") else {
        return;
    };
    let count = env_num(GAS_CHAOS_MOTO_JOBS, 100) as usize;
    scale_out("scale-moto", backend, count, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_out_on_moto_with_one_of_each_killed_midway() {
    let Some(backend) = moto("chaos scale-out on moto, killed") else {
        return;
    };
    let count = env_num(GAS_CHAOS_MOTO_JOBS, 100) as usize;
    scale_out("scale-moto-killed", backend, count, true).await;
}

// ---------------------------------------------------------------- upgrade races

/// What the watcher saw of each job: when it first saw it archived, and
/// the longest time an upgraded user's job stayed archived with no
/// retrieval recorded.
#[derive(Debug, Default, Clone)]
struct Seen {
    archived_at: Option<f64>,
    stall_since: Option<Instant>,
    longest_stall: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrade_races_at_random_moments_of_a_jobs_life() {
    let _serial = SERIAL.lock().await;
    let count = env_num(GAS_CHAOS_USERS, 100) as usize;
    let window = window_secs();
    let mut rng = seeded("upgrades");
    let gas = Installation::start("upgrades", Backend::Embedded, (1, 1, 1), window).await;
    let users = gas.users(count, Role::Free).await;
    let api = Arc::new(gas.api(0));
    // Submissions spread over a few seconds; half the users upgrade at a
    // moment drawn from just before their submission to after their archive.
    let spread = (count as f64 / 25.0).max(3.0);
    let plan: Vec<(f64, Option<f64>)> = (0..count)
        .map(|_| {
            let submit = rng.gen_range(0.0..spread);
            let upgrade = rng
                .gen_bool(0.5)
                .then(|| submit + rng.gen_range(-0.5..window as f64 + 2.5));
            (submit, upgrade)
        })
        .collect();
    let upgraders: BTreeSet<String> = users
        .iter()
        .zip(&plan)
        .filter(|(_, (_, u))| u.is_some())
        .map(|(u, _)| u.id.clone())
        .collect();
    gas.clock.say(format!(
        "{count} users, {} of them upgrading, window {window} s, submissions over {spread:.1} s",
        upgraders.len()
    ));

    // The watcher: every 100 ms, every job.
    let upgraded_at: Arc<StdMutex<HashMap<String, Instant>>> = Arc::default();
    let (stop_watch, mut watch_stop) = watch::channel(false);
    let watcher = {
        let (observer, users, upgraded_at) = (
            Arc::clone(&gas.observer),
            users.clone(),
            Arc::clone(&upgraded_at),
        );
        tokio::spawn(async move {
            let mut seen: HashMap<String, Seen> = HashMap::new();
            loop {
                let jobs = observer.all_jobs(&users).await;
                let now = Instant::now();
                let epoch = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64();
                let upgraded = upgraded_at.lock().unwrap().clone();
                for job in jobs.values() {
                    let s = seen.entry(job.job_id.clone()).or_default();
                    if job.results_file_archive_id.is_some() && s.archived_at.is_none() {
                        s.archived_at = Some(epoch);
                    }
                    let stalled = upgraded.contains_key(&job.user_id)
                        && job.results_file_archive_id.is_some()
                        && job.retrieval_job_id.is_none();
                    match (stalled, s.stall_since) {
                        (true, None) => s.stall_since = Some(now),
                        (true, Some(since)) => s.longest_stall = s.longest_stall.max(now - since),
                        (false, _) => s.stall_since = None,
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = watch_stop.changed() => return seen,
                }
            }
        })
    };

    let start = Instant::now();
    let mut lives = JoinSet::new();
    for (user, (submit, upgrade)) in users.iter().cloned().zip(plan) {
        let (api, upgraded_at) = (Arc::clone(&api), Arc::clone(&upgraded_at));
        lives.spawn(async move {
            let at = |t: f64| start + Duration::from_secs_f64(t.max(0.0));
            let mut job_id = None;
            let mut upgrade = upgrade;
            while job_id.is_none() || upgrade.is_some() {
                let next_is_upgrade = match (job_id.is_none(), upgrade) {
                    (true, Some(u)) => u < submit,
                    (true, None) => false,
                    (false, _) => true,
                };
                if next_is_upgrade {
                    tokio::time::sleep_until(at(upgrade.unwrap()).into()).await;
                    api.upgrade(&user.token).await;
                    upgraded_at
                        .lock()
                        .unwrap()
                        .insert(user.id.clone(), Instant::now());
                    upgrade = None;
                } else {
                    tokio::time::sleep_until(at(submit).into()).await;
                    let bytes = input(&user.email, 1);
                    let id = api.submit_ok(&user.token, "race.vcf", bytes.clone()).await;
                    job_id = Some((id, bytes));
                }
            }
            (user, job_id.unwrap())
        });
    }
    let mut submitted: BTreeMap<String, (User, Vec<u8>)> = BTreeMap::new();
    while let Some(done) = lives.join_next().await {
        let (user, (job_id, bytes)) = done.unwrap();
        submitted.insert(job_id, (user, bytes));
    }
    gas.clock.say("every job submitted and every upgrade made");

    let observer = Arc::clone(&gas.observer);
    let (all_users, premium) = (users.clone(), upgraders.clone());
    wait_until(
        "premium results hot, free results archived",
        Duration::from_secs(180),
        || {
            let (observer, users, premium) =
                (Arc::clone(&observer), all_users.clone(), premium.clone());
            async move {
                let jobs = observer.all_jobs(&users).await;
                let open = jobs_where(&jobs, |j| j.job_status != JobStatus::Completed);
                let premium_cold = jobs_where(&jobs, |j| {
                    premium.contains(&j.user_id) && j.results_file_archive_id.is_some()
                });
                let free_hot = jobs_where(&jobs, |j| {
                    !premium.contains(&j.user_id) && j.results_file_archive_id.is_none()
                });
                match open.is_empty() && premium_cold.is_empty() && free_hot.is_empty() {
                    true => Ok(()),
                    false => Err(format!(
                        "{} not COMPLETED, premium users' {} archived, free users' {} hot",
                        some(&open),
                        some(&premium_cold),
                        some(&free_hot)
                    )),
                }
            }
        },
    )
    .await;
    // A timer that an upgrade could not stop fires at the end of its window:
    // wait for it to be forgotten.
    tokio::time::sleep(Duration::from_secs(window + 1)).await;
    gas.quiesce(Duration::from_secs(60)).await;
    stop_watch.send(true).unwrap();
    let seen = watcher.await.unwrap();
    gas.clock.say("settled; every queue empty");

    let expected = tokio::task::spawn_blocking({
        let inputs: Vec<(String, Vec<u8>)> = submitted
            .iter()
            .map(|(id, (_, bytes))| (id.clone(), bytes.clone()))
            .collect();
        move || annotate(inputs)
    })
    .await
    .unwrap();
    let jobs = gas.observer.all_jobs(&users).await;
    assert_eq!(jobs.len(), count);
    let stores = check_stores(&gas.observer, &jobs, &expected, &HashMap::new()).await;
    let mut restored = 0;
    let mut latest = f64::MIN;
    for (job_id, (user, _)) in &submitted {
        let job = &jobs[job_id];
        let s = seen.get(job_id).cloned().unwrap_or_default();
        assert!(
            job.archive_execution_id.is_none(),
            "{job_id}: an archive timer is still recorded"
        );
        if upgraders.contains(&user.id) {
            // Premium: hot, the same bytes, and never left archived with no
            // retrieval under way for longer than a restore takes to start.
            assert!(job.results_file_archive_id.is_none(), "{job_id} archived");
            let bytes = try_download(&api, &user.token, job_id).await.unwrap();
            assert!(bytes == expected[job_id], "{job_id}: other bytes");
            assert!(
                s.longest_stall < Duration::from_secs(10),
                "{job_id}: archived with no restore under way for {:?}",
                s.longest_stall
            );
            restored += usize::from(s.archived_at.is_some());
        } else {
            // Free: archived, and not long after its window ended.
            let due = job.complete_time.unwrap() as f64 + window as f64;
            let archived_at = s.archived_at.expect("the watcher saw it archived");
            latest = latest.max(archived_at - due);
            assert!(
                archived_at <= due + 6.0,
                "{job_id}: hot {:.1} s past its window",
                archived_at - due
            );
            let (status, body) = api.results_refusal(&user.token, job_id).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{job_id}: {body}");
            assert_eq!(body["reason"], "upgrade", "{job_id}: {body}");
        }
    }
    gas.clock.say(format!(
        "PASS: {stores}; {} premium users' jobs hot ({restored} of them archived and restored), \
         free users' archived at most {latest:.1} s after their window's end; {}; util warnings {:?}",
        upgraders.len(),
        gas.observer.check_leftovers(&gas.data()),
        warnings(&gas.logs(), "util")
    ));
}
