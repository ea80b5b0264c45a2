//! Accounts: creating them, passwords (argon2id), and what stands between
//! password guessing and the service. Shared by the sign-up page and
//! `gas user add`.
//!
//! Each password attempt passes, in order:
//! - the [`AddressLimiter`]: a token bucket per client address, over every
//!   password attempt (sign-in and sign-up), in this process's memory;
//! - for a sign-in, the store's count of recent failures under a key of
//!   (email, client address) ([`throttle_key`]): the attempt is counted
//!   *before* its password is checked, with one atomic write whose count
//!   decides whether it may be checked at all ([`sign_in`]);
//! - the [`PasswordGate`]: a bounded number of argon2 runs at once (each
//!   takes ~19 MiB and tens of milliseconds), waited for at most
//!   [`HASH_WAIT`].
//!
//! Nothing a sign-in answers, or how long it takes, depends on whether the
//! email has an account or a password.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use gas_jobs::{now_epoch, ApiToken, Role, SignInFailures, StoreError, User, UserStore};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::primitives::secret::{hash_token, new_secret, new_token};

/// Why an account could not be made or signed in to.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    #[error("the password must have at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("the password is too long (at most {MAX_PASSWORD} characters)")]
    LongPassword,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the email or password is wrong")]
    WrongCredentials,
    /// Too many recent failures: no password is checked until `retry_after`
    /// seconds have passed.
    #[error("too many failed sign-ins; try again in {retry_after} seconds")]
    Throttled { retry_after: i64 },
    /// Too many password attempts from this client address.
    #[error("too many attempts from your network; try again in {retry_after} seconds")]
    RateLimited { retry_after: i64 },
    /// No password hash could start within [`HASH_WAIT`].
    #[error("the service is busy; try again in a moment")]
    Busy,
    #[error("hashing the password failed: {0}")]
    Hash(String),
    #[error("the user store failed")]
    Store(#[from] StoreError),
}

pub const MIN_PASSWORD: usize = 8;
/// argon2 takes any length; this bounds the work one request can ask for.
pub const MAX_PASSWORD: usize = 1024;
/// Failures within this many seconds of each other count together.
pub const FAILURE_WINDOW: i64 = 15 * 60;
/// Failures allowed before sign-ins are held back.
pub const FREE_FAILURES: u32 = 5;

/// How long sign-ins wait after `count` failures, the last at `last_at`:
/// nothing for the first few, then 30 s doubling per failure, at most the
/// failure window. Returns the seconds left at `now`, if any.
pub fn throttle_remaining(count: u32, last_at: Option<i64>, now: i64) -> Option<i64> {
    let last_at = last_at?;
    if count < FREE_FAILURES {
        return None;
    }
    let extra = (count - FREE_FAILURES).min(10);
    let hold = (30i64 << extra).min(FAILURE_WINDOW);
    let left = last_at + hold - now;
    (left > 0).then_some(left)
}

pub fn looks_like_email(s: &str) -> bool {
    let mut parts = s.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

// --- the password gate ---

/// How long a request waits for a hash slot before it answers 503.
pub const HASH_WAIT: Duration = Duration::from_secs(1);
/// The Retry-After (seconds) of a request the gate turned away.
pub const BUSY_RETRY_AFTER: i64 = 1;

/// Bounds the argon2 runs of one process: each holds a slot for as long as
/// it runs, and a request that cannot get one within its wait is turned
/// away ([`AccountError::Busy`]) instead of queueing on the blocking pool,
/// where a flood of sign-ins would hold ~19 MiB each until memory ran out.
pub struct PasswordGate {
    slots: Arc<Semaphore>,
    size: usize,
    wait: Duration,
    stats: Arc<GateStats>,
}

#[derive(Default)]
struct GateStats {
    running: AtomicUsize,
    most: AtomicUsize,
    runs: AtomicU64,
}

impl std::fmt::Debug for PasswordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGate")
            .field("size", &self.size)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl PasswordGate {
    /// `size` slots (0: [`PasswordGate::default_size`]), waited for at most
    /// [`HASH_WAIT`].
    pub fn new(size: usize) -> Self {
        Self::with_wait(size, HASH_WAIT)
    }

    pub fn with_wait(size: usize, wait: Duration) -> Self {
        let size = if size == 0 {
            Self::default_size()
        } else {
            size
        };
        PasswordGate {
            slots: Arc::new(Semaphore::new(size)),
            size,
            wait,
            stats: Arc::default(),
        }
    }

    /// Twice the cores: enough to keep them busy, while the memory held
    /// stays a few dozen MiB.
    pub fn default_size() -> usize {
        2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Hashes and verifications run through this gate so far.
    pub fn runs(&self) -> u64 {
        self.stats.runs.load(Ordering::SeqCst)
    }

    /// The most that ever ran at once.
    pub fn most_at_once(&self) -> usize {
        self.stats.most.load(Ordering::SeqCst)
    }

    /// A slot for one hash or verification, or [`AccountError::Busy`] when
    /// none frees up within the wait.
    pub async fn slot(&self) -> Result<HashSlot, AccountError> {
        let acquired =
            tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await;
        match acquired {
            Ok(Ok(permit)) => Ok(HashSlot {
                permit,
                stats: Arc::clone(&self.stats),
            }),
            // Closed (never, the gate does not close it) or timed out.
            Ok(Err(_)) | Err(_) => {
                metrics::counter!("gas_web_password_gate_busy_total").increment(1);
                Err(AccountError::Busy)
            }
        }
    }
}

/// A slot of the [`PasswordGate`], spent on one argon2 run.
pub struct HashSlot {
    permit: OwnedSemaphorePermit,
    stats: Arc<GateStats>,
}

impl HashSlot {
    /// Runs `work` on a blocking thread, holding the slot until it ends.
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let HashSlot { permit, stats } = self;
        tokio::task::spawn_blocking(move || {
            // The permit moves into the thread: a client that hangs up drops
            // the request's future, but argon2 runs on, and so must hold
            // the slot, or a flood of aborted requests would pass the bound.
            let _permit = permit;
            let running = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
            stats.most.fetch_max(running, Ordering::SeqCst);
            stats.runs.fetch_add(1, Ordering::SeqCst);
            metrics::counter!("gas_web_password_hashes_total").increment(1);
            let out = work();
            stats.running.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))
    }

    /// An argon2id PHC string of `password`.
    pub async fn hash(self, password: &str) -> Result<String, AccountError> {
        let password = password.to_string();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AccountError::Hash(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches the PHC string `phc` (false for a string
    /// that does not parse).
    pub async fn verify(self, password: &str, phc: &str) -> Result<bool, AccountError> {
        let (password, phc) = (password.to_string(), phc.to_string());
        self.run(move || {
            PasswordHash::new(&phc)
                .map(|hash| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
    }
}

/// The gate of hashes made outside the web's requests (`gas user add`): its
/// own, so that they neither wait for the web's nor crowd them; nothing
/// floods it, so it waits long.
fn own_gate() -> &'static PasswordGate {
    static GATE: OnceLock<PasswordGate> = OnceLock::new();
    GATE.get_or_init(|| PasswordGate::with_wait(0, Duration::from_secs(600)))
}

// --- client addresses ---

/// The address a request came from: the TCP peer, or, with
/// `trust_forwarded_for`, the right-most `X-Forwarded-For` entry (the one
/// the load balancer appended; those left of it are the client's to
/// write). `None` when neither is known (a router called in-process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// `forwarded_for` is the request's last `X-Forwarded-For` header, if
    /// any (the extractor reads it; this decides what to believe).
    pub fn from_parts(
        forwarded_for: Option<&str>,
        peer: Option<SocketAddr>,
        trust_forwarded: bool,
    ) -> Self {
        let forwarded = trust_forwarded
            .then(|| {
                forwarded_for
                    .and_then(|v| v.rsplit(',').next())
                    .and_then(parse_address)
            })
            .flatten();
        ClientAddr(
            forwarded
                .or(peer.map(|p| p.ip()))
                .map(|ip| ip.to_canonical()),
        )
    }

    /// The address as the limits count it: an IPv6 client usually has a
    /// whole /64 to pick addresses from, so that is one address here.
    fn limit_key(self) -> Option<IpAddr> {
        self.0.map(|ip| match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        })
    }
}

/// An `X-Forwarded-For` entry: an address, or an address with a port.
fn parse_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

// --- the per-address limit ---

/// Attempts one address may make at once...
pub const ADDRESS_BURST: u32 = 30;
/// ...and the seconds after which it may make one more: a lab behind one
/// address signing in now and then never meets the limit, a guesser
/// gets 30 tries a minute at most.
pub const ADDRESS_REFILL_SECS: u32 = 2;
/// Addresses remembered at most (~100 bytes each).
pub const ADDRESS_CAP: usize = 50_000;

/// A token bucket per client address, in this process's memory (each web
/// process counts its own share). At most `cap` addresses are kept: a full
/// bucket is the same as none, so those go first; then the longest idle.
pub struct AddressLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    burst: f64,
    per_second: f64,
    cap: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl AddressLimiter {
    pub fn new(burst: u32, refill_secs: u32, cap: usize) -> Self {
        AddressLimiter {
            buckets: Mutex::new(HashMap::new()),
            burst: f64::from(burst.max(1)),
            per_second: 1.0 / f64::from(refill_secs.max(1)),
            cap: cap.max(1),
        }
    }

    /// Takes one attempt from `client`'s bucket at `now`, or says how many
    /// seconds until there is one. An unknown address is not limited (one
    /// bucket for all of them would limit everyone together).
    pub fn take(&self, client: ClientAddr, now: Instant) -> Result<(), AccountError> {
        let Some(key) = client.limit_key() else {
            return Ok(());
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= self.cap && !buckets.contains_key(&key) {
            self.make_room(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.per_second).ceil();
        metrics::counter!("gas_web_address_limited_total").increment(1);
        Err(AccountError::RateLimited {
            retry_after: (wait as i64).max(1),
        })
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Forgets full buckets, then, if still full, the idlest eighth: a
    /// sweep only every `cap / 8` new addresses, so each costs O(1) on
    /// average however many addresses arrive.
    fn make_room(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        buckets.retain(|_, b| self.refilled(b, now) < self.burst);
        if buckets.len() < self.cap {
            return;
        }
        let mut ages: Vec<(Instant, IpAddr)> = buckets.iter().map(|(k, b)| (b.at, *k)).collect();
        let evict = (self.cap / 8).max(1).min(ages.len());
        ages.select_nth_unstable(evict - 1);
        for (_, key) in &ages[..evict] {
            buckets.remove(key);
        }
    }

    /// Addresses remembered now.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sign-in guards of one web process (in the web state).
pub struct SignInGuards {
    pub gate: PasswordGate,
    pub addresses: AddressLimiter,
}

impl SignInGuards {
    /// A gate of `hash_concurrency` slots (0: the default) and the default
    /// per-address limit.
    pub fn new(hash_concurrency: usize) -> Self {
        SignInGuards {
            gate: PasswordGate::new(hash_concurrency),
            addresses: AddressLimiter::new(ADDRESS_BURST, ADDRESS_REFILL_SECS, ADDRESS_CAP),
        }
    }
}

/// The key a sign-in's failures are counted under: (email, client address),
/// so that a guesser's failures hold the guesser's address and not the
/// owner signing in from elsewhere. A SHA-256, so the store holds neither
/// in clear; not keyed with the installation's secret, which on AWS may
/// differ between web processes (it is needed only for OpenID Connect)
/// while every process must count under the same key.
pub fn throttle_key(email: &str, client: ClientAddr) -> String {
    let address = client
        .limit_key()
        .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let mut hash = Sha256::new();
    hash.update(b"gas sign-in failures\0");
    hash.update(email.trim().to_lowercase().as_bytes());
    hash.update(b"\0");
    hash.update(address.as_bytes());
    hex::encode(hash.finalize())
}

// --- accounts ---

fn check_password(password: &str) -> Result<(), AccountError> {
    match password.chars().count() {
        n if n < MIN_PASSWORD => Err(AccountError::WeakPassword),
        n if n > MAX_PASSWORD => Err(AccountError::LongPassword),
        _ => Ok(()),
    }
}

/// Makes an account (with a password when given one), hashing through a
/// gate of its own: for `gas user add` and tests, not for web requests.
pub async fn create_account(
    users: &dyn UserStore,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> Result<User, AccountError> {
    create_account_with(own_gate(), users, email, role, password).await
}

/// Makes an account, hashing its password (when given one) through `gate`.
/// The hash is made before the store is asked, so a taken email
/// ([`AccountError::EmailTaken`]) costs the same work as a new one.
pub async fn create_account_with(
    gate: &PasswordGate,
    users: &dyn UserStore,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> Result<User, AccountError> {
    let email = email.trim();
    if !looks_like_email(email) {
        return Err(AccountError::BadEmail(email.to_string()));
    }
    let password_hash = match password {
        Some(p) => {
            check_password(p)?;
            Some(gate.slot().await?.hash(p).await?)
        }
        None => None,
    };
    let user = User {
        user_id: new_secret()[..32].to_string(),
        email: email.to_string(),
        role,
        created_at: now_epoch(),
        password_hash,
        api_token_sha256: None,
    };
    match users.create(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::AlreadyExists(_)) => Err(AccountError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Checks an email and password. The same steps, in the same time, whether
/// or not the email has an account or a password:
/// 1. a password longer than any account can have is refused before
///    anything is looked up;
/// 2. while the failures under `key` ([`throttle_key`]) hold sign-ins back,
///    nothing more is done;
/// 3. a hash slot is taken ([`AccountError::Busy`] if none frees up: the
///    attempt is then not counted, the person did nothing wrong);
/// 4. the attempt is counted as a failure *before* the password is checked,
///    with one atomic write; its count says whether this attempt may be
///    checked, so a burst of parallel guesses is counted whole, and only
///    the free ones (or the one a passed hold allows) reach argon2;
/// 5. exactly one argon2 verification, against the account's hash or, with
///    no account or no password, a dummy one;
/// 6. a success forgets the failures under `key`.
pub async fn sign_in(
    gate: &PasswordGate,
    users: &dyn UserStore,
    email: &str,
    password: &str,
    key: &str,
) -> Result<User, AccountError> {
    if password.len() > MAX_PASSWORD * 4 || password.chars().count() > MAX_PASSWORD {
        return Err(AccountError::WrongCredentials);
    }
    let now = now_epoch();
    let before = users.sign_in_failures(key).await?;
    if let Some(retry_after) = throttle_remaining(before.count, before.last_at, now) {
        return Err(AccountError::Throttled { retry_after });
    }
    let slot = gate.slot().await?;
    let after = users
        .record_sign_in_failure(key, now, FAILURE_WINDOW)
        .await?;
    if !may_check(&before, &after, now) {
        metrics::counter!("gas_web_sign_ins_held_total").increment(1);
        let retry_after = throttle_remaining(after.count, after.last_at, now).unwrap_or(30);
        return Err(AccountError::Throttled { retry_after });
    }
    let user = users.find_by_email(email.trim()).await?;
    let phc = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let matches = slot.verify(password, phc.unwrap_or(DUMMY_HASH)).await?;
    match user {
        Some(user) if matches && user.password_hash.is_some() => {
            users.clear_sign_in_failures(key).await?;
            Ok(user)
        }
        _ => {
            tracing::info!(failures = after.count, "failed sign-in");
            metrics::counter!("gas_web_failed_sign_ins_total").increment(1);
            match throttle_remaining(after.count, after.last_at, now) {
                Some(retry_after) => Err(AccountError::Throttled { retry_after }),
                None => Err(AccountError::WrongCredentials),
            }
        }
    }
}

/// Whether the attempt counted as `after` may have its password checked,
/// given the failures `before` it (read when no hold applied): the free
/// failures always; past them, only the first attempt after a hold. Of
/// several attempts that read the same `before`, the store's atomic count
/// tells them apart.
fn may_check(before: &SignInFailures, after: &SignInFailures, now: i64) -> bool {
    let recent = before.last_at.is_some_and(|at| at >= now - FAILURE_WINDOW);
    let before = if recent { before.count } else { 0 };
    after.count <= FREE_FAILURES.max(before.saturating_add(1))
}

/// An argon2id hash of a random password (the same parameters as real
/// ones), verified against where there is no account or no password, so
/// that those take as long to refuse as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2NEhmSe6lyTV4qu8G8Xsm4RZ1e+uZ8UUmC+fe9VCwM4";

/// Makes an API token for `user` named `name`; returns the token (to be
/// shown once) and its record.
pub async fn create_token(
    users: &dyn UserStore,
    user: &User,
    name: &str,
) -> Result<(String, ApiToken), StoreError> {
    let token = new_token();
    let record = ApiToken {
        token_id: new_secret()[..16].to_string(),
        user_id: user.user_id.clone(),
        name: name.trim().chars().take(80).collect(),
        token_sha256: hash_token(&token),
        created_at: now_epoch(),
    };
    users.add_token(&record).await?;
    Ok((token, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        assert!(looks_like_email("ada@example.org"));
        assert!(!looks_like_email("ada"));
        assert!(!looks_like_email("ada@localhost"));
        assert!(!looks_like_email("a da@example.org"));
        assert!(!looks_like_email("@example.org"));
    }

    #[test]
    fn throttle_grows_after_free_failures() {
        assert_eq!(throttle_remaining(4, Some(100), 100), None);
        assert_eq!(throttle_remaining(5, Some(100), 100), Some(30));
        assert_eq!(throttle_remaining(5, Some(100), 130), None);
        assert_eq!(throttle_remaining(6, Some(100), 100), Some(60));
        assert_eq!(throttle_remaining(30, Some(100), 100), Some(FAILURE_WINDOW));
        assert_eq!(throttle_remaining(9, None, 100), None);
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    fn addr(s: &str) -> ClientAddr {
        ClientAddr(Some(s.parse().unwrap()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_bounds_hashes_running_at_once() {
        let gate = Arc::new(PasswordGate::with_wait(2, Duration::from_secs(60)));
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let gate = Arc::clone(&gate);
                tokio::spawn(
                    async move { gate.slot().await?.verify("a password", DUMMY_HASH).await },
                )
            })
            .collect();
        for run in runs {
            assert!(!run.await.unwrap().unwrap());
        }
        assert_eq!(gate.runs(), 8);
        assert!(gate.most_at_once() <= 2, "{} at once", gate.most_at_once());
    }

    #[tokio::test]
    async fn a_full_gate_turns_requests_away_after_its_wait() {
        let gate = PasswordGate::with_wait(1, Duration::from_millis(50));
        let held = gate.slot().await.expect("the one slot");
        let started = Instant::now();
        assert!(matches!(gate.slot().await, Err(AccountError::Busy)));
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(held);
        let slot = gate.slot().await.expect("free again");
        assert!(slot.hash("a long enough password").await.is_ok());
        assert_eq!(gate.runs(), 1);
        assert_eq!(PasswordGate::new(0).size(), PasswordGate::default_size());
    }

    #[test]
    fn the_address_limit_has_a_burst_and_a_refill() {
        let limiter = AddressLimiter::new(3, 2, 100);
        let t0 = Instant::now();
        let lab = addr("203.0.113.7");
        for _ in 0..3 {
            limiter.take(lab, t0).expect("within the burst");
        }
        match limiter.take(lab, t0) {
            Err(AccountError::RateLimited { retry_after }) => assert_eq!(retry_after, 2),
            other => panic!("past the burst: {other:?}"),
        }
        limiter
            .take(addr("203.0.113.8"), t0)
            .expect("another address has its own bucket");
        limiter
            .take(lab, t0 + Duration::from_secs(2))
            .expect("one more after the refill time");
        assert!(limiter.take(lab, t0 + Duration::from_secs(2)).is_err());
        // An unknown address is not limited.
        for _ in 0..10 {
            limiter.take(ClientAddr(None), t0).expect("unknown");
        }
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let limiter = AddressLimiter::new(1, 60, 100);
        let t0 = Instant::now();
        limiter.take(addr("2001:db8:1:2::1"), t0).unwrap();
        assert!(limiter.take(addr("2001:db8:1:2:ffff::9"), t0).is_err());
        limiter.take(addr("2001:db8:1:3::1"), t0).unwrap();
        // An IPv4 client seen through an IPv6 socket is the IPv4 address.
        let mapped = ClientAddr::from_parts(
            None,
            Some("[::ffff:198.51.100.1]:4000".parse().unwrap()),
            false,
        );
        assert_eq!(mapped, addr("198.51.100.1"));
    }

    #[test]
    fn the_limiter_keeps_at_most_its_cap_of_addresses() {
        let limiter = AddressLimiter::new(5, 60, 64);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            limiter
                .take(
                    ClientAddr(Some(ip)),
                    t0 + Duration::from_millis(u64::from(i)),
                )
                .unwrap();
            assert!(limiter.len() <= 64, "{} addresses kept", limiter.len());
        }
        // The latest stay: the one just seen is still counted.
        let last = ClientAddr(Some(IpAddr::V4(std::net::Ipv4Addr::from(
            0x0a00_0000 + 9_999,
        ))));
        for _ in 0..4 {
            limiter.take(last, t0 + Duration::from_secs(10)).unwrap();
        }
        assert!(limiter.take(last, t0 + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn the_client_is_the_peer_or_the_trusted_right_most_forwarded_entry() {
        let peer: SocketAddr = "10.0.0.5:3456".parse().unwrap();
        let headers = Some("6.6.6.6, 203.0.113.9");
        assert_eq!(
            ClientAddr::from_parts(headers, Some(peer), false),
            addr("10.0.0.5"),
            "untrusted, the header is the client's say-so"
        );
        assert_eq!(
            ClientAddr::from_parts(headers, Some(peer), true),
            addr("203.0.113.9")
        );
        let odd = Some("1.1.1.1, not an address");
        assert_eq!(
            ClientAddr::from_parts(odd, Some(peer), true),
            addr("10.0.0.5"),
            "an entry that is no address is not believed"
        );
        let ported = Some("[2001:db8::1]:443");
        assert_eq!(
            ClientAddr::from_parts(ported, None, true),
            addr("2001:db8::1")
        );
        assert_eq!(ClientAddr::from_parts(None, None, true), ClientAddr(None));
    }

    #[test]
    fn throttle_keys_pair_the_email_with_the_address_and_hide_both() {
        let key = throttle_key(" Ada@Example.org ", addr("203.0.113.9"));
        assert_eq!(key, throttle_key("ada@example.org", addr("203.0.113.9")));
        assert_ne!(key, throttle_key("ada@example.org", addr("203.0.113.10")));
        assert_ne!(key, throttle_key("bo@example.org", addr("203.0.113.9")));
        assert_ne!(key, throttle_key("ada@example.org", ClientAddr(None)));
        assert!(!key.contains("ada") && !key.contains("203"));
        assert_eq!(key.len(), 64);
    }

    #[test]
    fn only_the_free_failures_or_the_one_after_a_hold_are_checked() {
        let f = |count, last_at: Option<i64>| SignInFailures { count, last_at };
        let now = 10_000;
        let none = f(0, None);
        for n in 1..=FREE_FAILURES {
            assert!(may_check(&none, &f(n, Some(now)), now), "attempt {n}");
        }
        assert!(!may_check(&none, &f(FREE_FAILURES + 1, Some(now)), now));
        // A hold passed after 7: the 8th is checked, a parallel 9th is not.
        let held = f(7, Some(now - 200));
        assert!(may_check(&held, &f(8, Some(now)), now));
        assert!(!may_check(&held, &f(9, Some(now)), now));
        // Failures older than the window count for nothing.
        let stale = f(9, Some(now - FAILURE_WINDOW - 1));
        assert!(may_check(&stale, &f(FREE_FAILURES, Some(now)), now));
        assert!(!may_check(&stale, &f(FREE_FAILURES + 1, Some(now)), now));
    }

    async fn store_with_accounts() -> gas_jobs::sqlite::SqliteUserStore {
        let users = gas_jobs::sqlite::SqliteUserStore::open_in_memory().unwrap();
        let gate = PasswordGate::new(1);
        create_account_with(
            &gate,
            &users,
            "known@example.org",
            Role::Free,
            Some("the password"),
        )
        .await
        .unwrap();
        create_account_with(&gate, &users, "provider@example.org", Role::Free, None)
            .await
            .unwrap();
        users
    }

    /// Finding 5d: every path that checks a password runs exactly one
    /// argon2 verification, known email or not, and an over-long password
    /// runs none, for everyone.
    #[tokio::test]
    async fn every_email_costs_one_verification_and_long_passwords_none() {
        let users = store_with_accounts().await;
        let gate = PasswordGate::new(1);
        let cases = [
            ("known@example.org", "the password", true),
            ("known@example.org", "a wrong password", false),
            ("provider@example.org", "a wrong password", false),
            ("nobody@example.org", "a wrong password", false),
        ];
        for (i, (email, password, ok)) in cases.into_iter().enumerate() {
            let key = format!("key-{i}");
            let runs = gate.runs();
            let result = sign_in(&gate, &users, email, password, &key).await;
            assert_eq!(result.is_ok(), ok, "{email}: {result:?}");
            if !ok {
                assert!(matches!(result, Err(AccountError::WrongCredentials)));
            }
            assert_eq!(gate.runs() - runs, 1, "{email}, {password}");

            let runs = gate.runs();
            let long = "p".repeat(MAX_PASSWORD + 1);
            let result = sign_in(&gate, &users, email, &long, &key).await;
            assert!(matches!(result, Err(AccountError::WrongCredentials)));
            assert_eq!(
                gate.runs(),
                runs,
                "{email}: an over-long password was hashed"
            );
        }
    }

    /// Finding 5e: parallel guesses under one key are all counted, and no
    /// more than the free failures reach argon2.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_guesses_are_counted_before_any_is_checked() {
        let users: Arc<dyn UserStore> = Arc::new(store_with_accounts().await);
        let gate = Arc::new(PasswordGate::with_wait(2, Duration::from_secs(60)));
        let guesses: Vec<_> = (0..30)
            .map(|i| {
                let (users, gate) = (Arc::clone(&users), Arc::clone(&gate));
                tokio::spawn(async move {
                    let guess = format!("guess number {i}");
                    sign_in(
                        &gate,
                        users.as_ref(),
                        "known@example.org",
                        &guess,
                        "one-key",
                    )
                    .await
                })
            })
            .collect();
        for guess in guesses {
            let result = guess.await.unwrap();
            assert!(
                matches!(
                    result,
                    Err(AccountError::WrongCredentials | AccountError::Throttled { .. })
                ),
                "{result:?}"
            );
        }
        assert!(
            gate.runs() <= u64::from(FREE_FAILURES),
            "{} guesses reached argon2",
            gate.runs()
        );
        assert!(gate.most_at_once() <= 2);
        let counted = users.sign_in_failures("one-key").await.unwrap().count;
        assert!(counted >= FREE_FAILURES, "only {counted} counted");
    }
}
