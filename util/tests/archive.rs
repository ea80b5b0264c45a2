//! The archive step against the embedded adapters, with faults injected
//! after each of its sub-steps: a rerun must always end with the job
//! archived exactly once, its bytes intact and no archive unreferenced.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gas_jobs::sqlite::{SqliteJobStore, SqliteUserStore};
use gas_jobs::{Completion, Job, JobStore, Page, Role, StoreError, User, UserStore};
use gas_messaging::{MessagingError, Topic};
use gas_storage::dir::{DirArchiveSettings, DirArchiveStore, DirBlobStore, UrlSigner};
use gas_storage::{
    bytes_stream, collect, ArchiveError, ArchiveStore, BlobError, BlobStore, ByteStream,
    ObjectInfo, RetrievalStatus, Tier,
};
use gas_util::{ArchiveOutcome, Archiver};

/// Where the archive step can be made to fail: right after the named
/// sub-step has taken effect, as a crash there would leave things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrashAfter {
    /// The results' archive uploaded.
    Upload,
    /// The index's archive uploaded.
    IndexUpload,
    Record,
    /// The results blob deleted.
    BlobDelete,
    /// The index blob deleted.
    IndexBlobDelete,
    ClearTimer,
    // The restore's sub-steps.
    RetrievalRecorded,
    IndexRetrievalRecorded,
    /// The results copied back.
    CopyBack,
    /// The index copied back.
    IndexCopyBack,
    ClearArchive,
    /// An archive deleted after the thaw.
    ArchiveDelete,
}

#[derive(Default)]
struct Faults {
    armed: Mutex<Option<CrashAfter>>,
}

impl Faults {
    /// Fails once at `at`, if armed for it.
    fn check(&self, at: CrashAfter) -> bool {
        let mut armed = self.armed.lock().unwrap();
        if *armed == Some(at) {
            *armed = None;
            return true;
        }
        false
    }
}

fn crash() -> std::io::Error {
    std::io::Error::other("injected crash")
}

/// The results blob's key (the index's is whatever `keys::variants_key`
/// makes it).
fn is_results_key(key: &str) -> bool {
    key.ends_with(".annot.vcf")
}

struct FaultyJobs {
    inner: SqliteJobStore,
    faults: Arc<Faults>,
}

#[async_trait]
impl JobStore for FaultyJobs {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        self.inner.create(job).await
    }
    async fn get(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        self.inner.get(job_id).await
    }
    async fn list_for_user(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Job>, StoreError> {
        self.inner.list_for_user(user_id, limit, cursor).await
    }
    async fn claim(&self, job_id: &str, now: i64, lease_until: i64) -> Result<Job, StoreError> {
        self.inner.claim(job_id, now, lease_until).await
    }
    async fn mark_requeued(
        &self,
        job_id: &str,
        now: i64,
        stalled_before: i64,
    ) -> Result<Job, StoreError> {
        self.inner.mark_requeued(job_id, now, stalled_before).await
    }
    async fn record_progress(
        &self,
        job_id: &str,
        progress: f64,
        lease_until: i64,
    ) -> Result<Job, StoreError> {
        self.inner
            .record_progress(job_id, progress, lease_until)
            .await
    }
    async fn complete(&self, job_id: &str, completion: &Completion) -> Result<Job, StoreError> {
        self.inner.complete(job_id, completion).await
    }
    async fn fail(
        &self,
        job_id: &str,
        reason: &str,
        log_key: Option<&str>,
        t: i64,
    ) -> Result<Job, StoreError> {
        self.inner.fail(job_id, reason, log_key, t).await
    }
    async fn set_execution_id(&self, job_id: &str, execution_id: &str) -> Result<Job, StoreError> {
        self.inner.set_execution_id(job_id, execution_id).await
    }
    async fn clear_execution_id(&self, job_id: &str) -> Result<Job, StoreError> {
        let job = self.inner.clear_execution_id(job_id).await?;
        if self.faults.check(CrashAfter::ClearTimer) {
            return Err(StoreError::backend(crash()));
        }
        Ok(job)
    }
    async fn record_archives(
        &self,
        job_id: &str,
        archive_id: &str,
        variants_archive_id: Option<&str>,
    ) -> Result<Job, StoreError> {
        let job = self
            .inner
            .record_archives(job_id, archive_id, variants_archive_id)
            .await?;
        if self.faults.check(CrashAfter::Record) {
            return Err(StoreError::backend(crash()));
        }
        Ok(job)
    }
    async fn record_retrieval(
        &self,
        job_id: &str,
        archive_id: &str,
        retrieval: &str,
    ) -> Result<Job, StoreError> {
        let job = self
            .inner
            .record_retrieval(job_id, archive_id, retrieval)
            .await?;
        if self.faults.check(CrashAfter::RetrievalRecorded) {
            return Err(StoreError::backend(crash()));
        }
        Ok(job)
    }
    async fn clear_retrieval(&self, job_id: &str, retrieval: &str) -> Result<Job, StoreError> {
        self.inner.clear_retrieval(job_id, retrieval).await
    }
    async fn record_variants_retrieval(
        &self,
        job_id: &str,
        variants_archive_id: &str,
        retrieval: &str,
    ) -> Result<Job, StoreError> {
        let job = self
            .inner
            .record_variants_retrieval(job_id, variants_archive_id, retrieval)
            .await?;
        if self.faults.check(CrashAfter::IndexRetrievalRecorded) {
            return Err(StoreError::backend(crash()));
        }
        Ok(job)
    }
    async fn clear_variants_retrieval(
        &self,
        job_id: &str,
        retrieval: &str,
    ) -> Result<Job, StoreError> {
        self.inner.clear_variants_retrieval(job_id, retrieval).await
    }
    async fn clear_archive(&self, job_id: &str, archive_id: &str) -> Result<Job, StoreError> {
        let job = self.inner.clear_archive(job_id, archive_id).await?;
        if self.faults.check(CrashAfter::ClearArchive) {
            return Err(StoreError::backend(crash()));
        }
        Ok(job)
    }

    async fn restart_window(
        &self,
        job_id: &str,
        window_started: i64,
        execution_id: &str,
    ) -> Result<Job, StoreError> {
        self.inner
            .restart_window(job_id, window_started, execution_id)
            .await
    }
}

struct FaultyBlobs {
    inner: DirBlobStore,
    faults: Arc<Faults>,
}

#[async_trait]
impl BlobStore for FaultyBlobs {
    fn bucket(&self) -> &str {
        self.inner.bucket()
    }
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, BlobError> {
        let n = self.inner.put(key, body).await?;
        let at = match is_results_key(key) {
            true => CrashAfter::CopyBack,
            false => CrashAfter::IndexCopyBack,
        };
        if self.faults.check(at) {
            return Err(BlobError::backend(crash()));
        }
        Ok(n)
    }
    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        self.inner.get(key).await
    }
    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        self.inner.stat(key).await
    }
    async fn get_if_match(&self, key: &str, etag: &str) -> Result<ByteStream, BlobError> {
        self.inner.get_if_match(key, etag).await
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.inner.delete(key).await?;
        let at = match is_results_key(key) {
            true => CrashAfter::BlobDelete,
            false => CrashAfter::IndexBlobDelete,
        };
        if self.faults.check(at) {
            return Err(BlobError::backend(crash()));
        }
        Ok(())
    }
    async fn download_url(
        &self,
        key: &str,
        ttl: Duration,
        name: &str,
    ) -> Result<String, BlobError> {
        self.inner.download_url(key, ttl, name).await
    }
}

struct FaultyArchive {
    inner: DirArchiveStore,
    faults: Arc<Faults>,
    uploads: AtomicUsize,
    /// An upgrade that lands while the upload runs (after the role check).
    upgrade_during_upload: Mutex<Option<(Arc<SqliteUserStore>, String)>>,
}

#[async_trait]
impl ArchiveStore for FaultyArchive {
    async fn archive(&self, name: &str, body: ByteStream) -> Result<String, ArchiveError> {
        let id = self.inner.archive(name, body).await?;
        self.uploads.fetch_add(1, Ordering::SeqCst);
        let upgrade = self.upgrade_during_upload.lock().unwrap().take();
        if let Some((users, user_id)) = upgrade {
            users.set_role(&user_id, Role::Premium).await.unwrap();
        }
        let at = match name.ends_with(gas_util::VARIANTS_ARCHIVE_SUFFIX) {
            true => CrashAfter::IndexUpload,
            false => CrashAfter::Upload,
        };
        if self.faults.check(at) {
            return Err(ArchiveError::backend(crash()));
        }
        Ok(id)
    }
    async fn start_retrieval(
        &self,
        archive_id: &str,
        tier: Tier,
        description: &str,
    ) -> Result<String, ArchiveError> {
        self.inner
            .start_retrieval(archive_id, tier, description)
            .await
    }
    async fn retrieval_status(&self, retrieval_id: &str) -> Result<RetrievalStatus, ArchiveError> {
        self.inner.retrieval_status(retrieval_id).await
    }
    async fn retrieval_output(&self, retrieval_id: &str) -> Result<ByteStream, ArchiveError> {
        self.inner.retrieval_output(retrieval_id).await
    }
    async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        self.inner.delete(archive_id).await?;
        if self.faults.check(CrashAfter::ArchiveDelete) {
            return Err(ArchiveError::backend(crash()));
        }
        Ok(())
    }
}

/// Records restore requests (a fake topic is fine here: what is under test
/// is the archive step, not delivery).
#[derive(Default)]
struct RecordingTopic {
    published: Mutex<Vec<String>>,
    fail: AtomicBool,
}

#[async_trait]
impl Topic for RecordingTopic {
    fn arn(&self) -> &str {
        "arn:aws:sns:local:000000000000:restore"
    }
    async fn publish(&self, message: &str) -> Result<String, MessagingError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(MessagingError::Invalid("down".into()));
        }
        self.published.lock().unwrap().push(message.to_string());
        Ok("m".into())
    }
}

struct World {
    archiver: Archiver,
    jobs: Arc<FaultyJobs>,
    users: Arc<SqliteUserStore>,
    results: Arc<FaultyBlobs>,
    archive: Arc<FaultyArchive>,
    restore_topic: Arc<RecordingTopic>,
    faults: Arc<Faults>,
    /// The variant index each job was given, by job id.
    indexes: Mutex<std::collections::HashMap<String, Vec<u8>>>,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let jobs = Arc::new(FaultyJobs {
        inner: SqliteJobStore::open(&dir.path().join("jobs.sqlite")).unwrap(),
        faults: Arc::clone(&faults),
    });
    let users = Arc::new(SqliteUserStore::open(&dir.path().join("jobs.sqlite")).unwrap());
    let signer =
        UrlSigner::load_or_create(dir.path(), "http://127.0.0.1:1/".parse().unwrap()).unwrap();
    let results = Arc::new(FaultyBlobs {
        inner: DirBlobStore::new(dir.path().join("blobs"), "results".into(), signer).unwrap(),
        faults: Arc::clone(&faults),
    });
    let settings = DirArchiveSettings {
        expedited_delay: Duration::from_millis(10),
        ..DirArchiveSettings::default()
    };
    let archive = Arc::new(FaultyArchive {
        inner: DirArchiveStore::new(dir.path().join("archive"), settings, None).unwrap(),
        faults: Arc::clone(&faults),
        uploads: AtomicUsize::new(0),
        upgrade_during_upload: Mutex::new(None),
    });
    let restore_topic = Arc::new(RecordingTopic::default());
    let archiver = Archiver {
        jobs: jobs.clone(),
        users: users.clone(),
        results: results.clone(),
        archive: archive.clone(),
        restore_topic: restore_topic.clone(),
    };
    World {
        archiver,
        jobs,
        users,
        results,
        archive,
        restore_topic,
        faults,
        indexes: Mutex::default(),
        dir,
    }
}

impl World {
    async fn user(&self, role: Role) -> String {
        let user_id = uuid::Uuid::new_v4().to_string();
        let user = User {
            user_id: user_id.clone(),
            email: format!("{user_id}@example.org"),
            role,
            created_at: 0,
            password_hash: None,
            api_token_sha256: None,
        };
        self.users.create(&user).await.unwrap();
        user_id
    }

    /// A COMPLETED job with results, a variant index and a pending timer;
    /// returns its id and the results' bytes (the index's are in
    /// `self.indexes`).
    async fn completed_job(&self, user_id: &str) -> (String, Vec<u8>) {
        let (job_id, bytes) = self.completed_job_without_index(user_id).await;
        let job = self.jobs.get(&job_id).await.unwrap().unwrap();
        let index: Vec<u8> = format!("SQLite format 3\0 the variants of {job_id}\n")
            .repeat(200)
            .into_bytes();
        self.results
            .put(
                &gas_jobs::keys::variants_key(&job.s3_key_input_file),
                bytes_stream(index.clone()),
            )
            .await
            .unwrap();
        self.indexes.lock().unwrap().insert(job_id.clone(), index);
        (job_id, bytes)
    }

    /// A COMPLETED job with results and a pending timer, and no variant
    /// index (`409 no_index`); returns its id and bytes.
    async fn completed_job_without_index(&self, user_id: &str) -> (String, Vec<u8>) {
        let job_id = uuid::Uuid::new_v4().to_string();
        let input_key = format!("gas/{user_id}/{job_id}~test.vcf");
        let job = Job::new_pending(&job_id, user_id, "test.vcf", "inputs", &input_key, 1);
        self.jobs.create(&job).await.unwrap();
        self.jobs.claim(&job_id, 1, 100).await.unwrap();
        let bytes: Vec<u8> = format!("##fileformat=VCFv4.2\n# results of {job_id}\n")
            .repeat(1000)
            .into_bytes();
        let result_key = format!("gas/{user_id}/{job_id}~test.annot.vcf");
        self.results
            .put(&result_key, bytes_stream(bytes.clone()))
            .await
            .unwrap();
        let completion = Completion {
            results_bucket: "results".into(),
            result_key,
            log_key: format!("gas/{user_id}/{job_id}~test.count.log"),
            complete_time: 2,
            warnings: None,
        };
        self.jobs.complete(&job_id, &completion).await.unwrap();
        self.jobs
            .set_execution_id(&job_id, "execution-1")
            .await
            .unwrap();
        (job_id, bytes)
    }

    /// The index the job was given, if any.
    fn index_of(&self, job_id: &str) -> Option<Vec<u8>> {
        self.indexes.lock().unwrap().get(job_id).cloned()
    }

    /// The job's hot index, if there is one.
    async fn hot_index(&self, job: &Job) -> Option<Vec<u8>> {
        let key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
        match self.results.get(&key).await {
            Ok(body) => Some(collect(body).await.unwrap()),
            Err(BlobError::NotFound(_)) => None,
            Err(e) => panic!("{e}"),
        }
    }

    fn restorer(&self) -> gas_util::Restorer {
        gas_util::Restorer {
            jobs: self.jobs.clone(),
            users: self.users.clone(),
            results: self.results.clone(),
            archive: self.archive.clone(),
            poll_interval: Duration::from_millis(50),
        }
    }

    /// Files in the vault (hidden temporaries excluded).
    fn archives(&self) -> Vec<String> {
        let mut names: Vec<String> = walk(&self.dir.path().join("archive/vault"))
            .into_iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    /// Reads an archive back through a retrieval.
    async fn archived_bytes(&self, archive_id: &str) -> Vec<u8> {
        let retrieval = self
            .archive
            .start_retrieval(archive_id, Tier::Expedited, "check")
            .await
            .unwrap();
        for _ in 0..500 {
            if self.archive.retrieval_status(&retrieval).await.unwrap()
                == RetrievalStatus::Succeeded
            {
                return collect(self.archive.retrieval_output(&retrieval).await.unwrap())
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("retrieval never finished");
    }

    /// The job ended archived exactly once with its bytes intact: its
    /// results, and its index when it has one, each in one archive the
    /// record names, and neither left in hot storage.
    async fn assert_archived_once(&self, job_id: &str, bytes: &[u8]) {
        let job = self.jobs.get(job_id).await.unwrap().unwrap();
        let archive_id = job
            .results_file_archive_id
            .clone()
            .expect("archive id recorded");
        assert!(job.archive_execution_id.is_none(), "execution id cleared");
        let key = job.s3_key_result_file.clone().unwrap();
        assert_eq!(
            self.results.head(&key).await.unwrap(),
            None,
            "results blob deleted"
        );
        assert_eq!(self.hot_index(&job).await, None, "index blob deleted");
        let index = self.index_of(job_id);
        assert_eq!(
            self.archives().len(),
            if index.is_some() { 2 } else { 1 },
            "exactly one archive each, none unreferenced: {:?}",
            self.archives()
        );
        assert_eq!(
            self.archived_bytes(&archive_id).await,
            bytes,
            "no bytes lost"
        );
        match (index, job.variants_archive_id.as_deref()) {
            (Some(index), Some(variants_archive_id)) => assert!(
                self.archived_bytes(variants_archive_id).await == index,
                "the index's archive holds other bytes"
            ),
            (None, None) => {}
            (index, recorded) => panic!(
                "index {:?}, index archive {recorded:?}",
                index.map(|i| i.len())
            ),
        }
    }

    /// The job is hot again: no archive or retrieval recorded, its results
    /// and index (when it has one) byte for byte as before the archive.
    async fn assert_restored(&self, job_id: &str, bytes: &[u8]) {
        let job = self.jobs.get(job_id).await.unwrap().unwrap();
        assert_eq!(job.results_file_archive_id, None, "{job:?}");
        assert_eq!(job.retrieval_job_id, None, "{job:?}");
        assert_eq!(job.variants_archive_id, None, "{job:?}");
        assert_eq!(job.variants_retrieval_job_id, None, "{job:?}");
        let key = job.s3_key_result_file.clone().unwrap();
        assert!(
            collect(self.results.get(&key).await.unwrap())
                .await
                .unwrap()
                == bytes,
            "restored results differ"
        );
        assert!(
            self.hot_index(&job).await == self.index_of(job_id),
            "the restored index differs"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_crash_after_any_sub_step_is_finished_by_the_next_delivery() {
    for fault in [
        CrashAfter::Upload,
        CrashAfter::IndexUpload,
        CrashAfter::Record,
        CrashAfter::BlobDelete,
        CrashAfter::IndexBlobDelete,
        CrashAfter::ClearTimer,
    ] {
        let world = world().await;
        let user = world.user(Role::Free).await;
        let (job_id, bytes) = world.completed_job(&user).await;

        *world.faults.armed.lock().unwrap() = Some(fault);
        let first = world.archiver.archive_job(&job_id).await;
        assert!(first.is_err(), "{fault:?}: the injected crash surfaces");
        assert!(
            world.faults.armed.lock().unwrap().is_none(),
            "{fault:?} was reached"
        );

        let rerun = world.archiver.archive_job(&job_id).await.unwrap();
        assert!(
            matches!(
                rerun,
                ArchiveOutcome::Archived(_) | ArchiveOutcome::AlreadyArchived
            ),
            "{fault:?}: {rerun:?}"
        );
        world.assert_archived_once(&job_id, &bytes).await;
        assert!(
            world.restore_topic.published.lock().unwrap().is_empty(),
            "no restore for a free user"
        );
    }
}

#[tokio::test]
async fn the_same_message_twice_yields_one_archive() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, bytes) = world.completed_job(&user).await;
    let first = world.archiver.archive_job(&job_id).await.unwrap();
    assert!(matches!(first, ArchiveOutcome::Archived(_)), "{first:?}");
    let second = world.archiver.archive_job(&job_id).await.unwrap();
    assert_eq!(second, ArchiveOutcome::AlreadyArchived);
    world.assert_archived_once(&job_id, &bytes).await;

    // Two deliveries at once.
    let (job_id, bytes) = world.completed_job(&user).await;
    let (a, b) = tokio::join!(
        world.archiver.archive_job(&job_id),
        world.archiver.archive_job(&job_id)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, ArchiveOutcome::Archived(_))),
        "one of them archived: {outcomes:?}"
    );
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    let archive_id = job.results_file_archive_id.clone().unwrap();
    assert_eq!(world.archived_bytes(&archive_id).await, bytes);
    let variants_archive_id = job.variants_archive_id.clone().unwrap();
    assert_eq!(
        Some(world.archived_bytes(&variants_archive_id).await),
        world.index_of(&job_id)
    );
    assert_eq!(world.hot_index(&job).await, None);
    assert_eq!(
        world.archives().len(),
        4,
        "one archive of the results and one of the index per job: {:?}",
        world.archives()
    );
}

#[tokio::test]
async fn premium_users_and_unfinished_jobs_are_not_archived() {
    let world = world().await;
    let premium = world.user(Role::Premium).await;
    let (job_id, _) = world.completed_job(&premium).await;
    assert_eq!(
        world.archiver.archive_job(&job_id).await.unwrap(),
        ArchiveOutcome::SkippedPremium
    );
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    assert!(job.results_file_archive_id.is_none() && job.archive_execution_id.is_none());
    assert_eq!(
        world.archiver.archive_job("no-such-job").await.unwrap(),
        ArchiveOutcome::NothingToArchive
    );
    assert_eq!(world.archive.uploads.load(Ordering::SeqCst), 0);
    assert!(world.archives().is_empty());
}

#[tokio::test]
async fn an_upgrade_during_the_archive_requests_a_restore() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, _) = world.completed_job(&user).await;
    // A crash after the record, then an upgrade before the redelivery.
    *world.faults.armed.lock().unwrap() = Some(CrashAfter::Record);
    assert!(world.archiver.archive_job(&job_id).await.is_err());
    world.users.set_role(&user, Role::Premium).await.unwrap();
    // The rerun sees premium and asks for a restore of the recorded archive
    // (the upgrade asked too; restores are idempotent).
    assert_eq!(
        world.archiver.archive_job(&job_id).await.unwrap(),
        ArchiveOutcome::SkippedPremium
    );
    let published = std::mem::take(&mut *world.restore_topic.published.lock().unwrap());
    assert_eq!(published.len(), 1, "{published:?}");
    assert!(published[0].contains(&user));

    // The real race: the role changes between the check and the record.
    let user = world.user(Role::Free).await;
    let (job_id, _) = world.completed_job(&user).await;
    *world.archive.upgrade_during_upload.lock().unwrap() =
        Some((Arc::clone(&world.users), user.clone()));
    let outcome = world.archiver.archive_job(&job_id).await.unwrap();
    assert!(
        matches!(outcome, ArchiveOutcome::Archived(_)),
        "{outcome:?}"
    );
    let published = world.restore_topic.published.lock().unwrap().clone();
    assert_eq!(
        published.len(),
        1,
        "a restore was requested for the upgraded user"
    );
    assert!(published[0].contains(&user));
}

/// The upgrade lands between the role check and the record, so its restore
/// finds nothing archived yet; then the archive step dies after the record,
/// before its own second look at the role. The redelivery sees a premium
/// user with a recorded archive: it must ask for the restore, or the
/// results stay archived with none under way (invariant 3).
#[tokio::test]
async fn a_crash_after_a_record_that_an_upgrade_raced_still_restores() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, _) = world.completed_job(&user).await;
    *world.archive.upgrade_during_upload.lock().unwrap() =
        Some((Arc::clone(&world.users), user.clone()));
    *world.faults.armed.lock().unwrap() = Some(CrashAfter::Record);
    assert!(world.archiver.archive_job(&job_id).await.is_err());
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    assert!(job.results_file_archive_id.is_some(), "the record was made");
    assert!(world.restore_topic.published.lock().unwrap().is_empty());

    assert_eq!(
        world.archiver.archive_job(&job_id).await.unwrap(),
        ArchiveOutcome::SkippedPremium
    );
    let published = world.restore_topic.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1, "a restore was requested: {published:?}");
    assert!(published[0].contains(&user));
    assert!(
        world
            .jobs
            .get(&job_id)
            .await
            .unwrap()
            .unwrap()
            .archive_execution_id
            .is_none(),
        "the fired timer is forgotten"
    );
}

#[tokio::test]
async fn an_s3_restore_event_thaws_the_job_it_names() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, bytes) = world.completed_job(&user).await;
    world.archiver.archive_job(&job_id).await.unwrap();
    world.users.set_role(&user, Role::Premium).await.unwrap();
    let restorer = world.restorer();
    // The restore request starts the retrievals and waits for them.
    let first = restorer.restore_user(&user).await.unwrap();
    assert!(
        matches!(first, gas_util::Disposition::RetryAfter(_)),
        "{first:?}"
    );
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    assert!(
        job.retrieval_job_id.is_some() && job.variants_retrieval_job_id.is_some(),
        "both retrievals started at once: {job:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;

    // S3's ObjectRestore:Completed event names the archive's key; the
    // index's archive (`<job_id>.variants`) names the same job.
    let event: gas_util::S3Event = serde_json::from_value(serde_json::json!({
        "Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectRestore:Completed",
            "s3": {"bucket": {"name": "gas-archive"}, "object": {
                "key": format!("archive/{}", gas_util::variants_archive_name(&job_id)), "size": 1}}
        }]
    }))
    .unwrap();
    assert_eq!(
        restorer.on_s3_event(&event).await.unwrap(),
        gas_util::Disposition::Done
    );
    world.assert_restored(&job_id, &bytes).await;
    assert!(
        world.archives().is_empty(),
        "the archives are deleted after the thaw"
    );

    // A test event, or one for an unknown object, changes nothing.
    let other: gas_util::S3Event =
        serde_json::from_value(serde_json::json!({"Event": "s3:TestEvent"})).unwrap();
    assert_eq!(
        restorer.on_s3_event(&other).await.unwrap(),
        gas_util::Disposition::Done
    );
}

/// A job whose window started again (its user came back from Premium) is
/// archived by the message of that window only: a message of an earlier
/// window changes nothing, whatever the clocks say.
#[tokio::test]
async fn only_the_current_windows_message_archives() {
    use gas_jobs::messages::ArchiveRequest;
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, _) = world.completed_job(&user).await;
    // The first window's timer was stopped (the user went premium).
    world.jobs.clear_execution_id(&job_id).await.unwrap();
    world
        .jobs
        .restart_window(&job_id, 1_800_000_000, "exec-w")
        .await
        .unwrap();
    for stale in [None, Some(1_700_000_000)] {
        let request = ArchiveRequest {
            job_id: job_id.clone(),
            window_started: stale,
        };
        assert_eq!(
            world.archiver.archive_window(&request).await.unwrap(),
            ArchiveOutcome::EarlierWindow
        );
    }
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    assert!(job.results_file_archive_id.is_none());
    assert_eq!(job.archive_execution_id.as_deref(), Some("exec-w"));
    assert!(world.archives().is_empty());

    let current = ArchiveRequest {
        job_id: job_id.clone(),
        window_started: Some(1_800_000_000),
    };
    assert!(matches!(
        world.archiver.archive_window(&current).await.unwrap(),
        ArchiveOutcome::Archived(_)
    ));
    // Each window's timer has a name of its own.
    assert_eq!(current.timer_name(), format!("{job_id}-w1800000000"));
    assert_eq!(
        ArchiveRequest {
            job_id: job_id.clone(),
            window_started: None
        }
        .timer_name(),
        job_id
    );
}

/// A job without a variant index (`409 no_index`) archives and restores as
/// before: one archive, no index archive recorded, nothing made up.
#[tokio::test]
async fn a_job_without_an_index_archives_and_restores_as_before() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, bytes) = world.completed_job_without_index(&user).await;
    assert!(matches!(
        world.archiver.archive_job(&job_id).await.unwrap(),
        ArchiveOutcome::Archived(_)
    ));
    world.assert_archived_once(&job_id, &bytes).await;
    assert_eq!(
        world.archiver.archive_job(&job_id).await.unwrap(),
        ArchiveOutcome::AlreadyArchived
    );
    world.assert_archived_once(&job_id, &bytes).await;

    world.users.set_role(&user, Role::Premium).await.unwrap();
    let restorer = world.restorer();
    restore_until_done(&restorer, &user).await;
    world.assert_restored(&job_id, &bytes).await;
    assert!(world.archives().is_empty(), "{:?}", world.archives());
}

/// A job archived before indexes followed the results: its archive id is
/// recorded, no index archive, and its index stayed hot. A repeated
/// archive message and a restore leave that index where it is.
#[tokio::test]
async fn an_index_an_earlier_archive_left_hot_stays() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, bytes) = world.completed_job(&user).await;
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    // What the archive step did before: the results alone.
    let archive_id = world
        .archive
        .archive(
            &job_id,
            world
                .results
                .get(job.s3_key_result_file.as_deref().unwrap())
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    world
        .jobs
        .record_archive(&job_id, &archive_id)
        .await
        .unwrap();
    assert_eq!(
        world.archiver.archive_job(&job_id).await.unwrap(),
        ArchiveOutcome::AlreadyArchived
    );
    let index = world.index_of(&job_id);
    assert_eq!(world.hot_index(&job).await, index, "the index stays hot");
    assert_eq!(world.archives(), [job_id.as_str()]);

    world.users.set_role(&user, Role::Premium).await.unwrap();
    restore_until_done(&world.restorer(), &user).await;
    world.assert_restored(&job_id, &bytes).await;
    assert!(world.archives().is_empty(), "{:?}", world.archives());
}

/// Calls `restore_user` as the restore queue would (again after each
/// error, as a redelivery after a crash) until it is done.
async fn restore_until_done(restorer: &gas_util::Restorer, user: &str) {
    for _ in 0..200 {
        match restorer.restore_user(user).await {
            Ok(gas_util::Disposition::Done) => return,
            Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("the restore never finished");
}

/// The restore killed after each of its sub-steps (each retrieval recorded,
/// each copy back, the record made hot, an archive deleted): the next
/// delivery finishes it, the results and the index come back byte for byte
/// and, once the retrievals' notifications are handled (a crash between
/// the record and the deletes leaves the archives to them), no archive is
/// left.
#[tokio::test]
async fn a_restore_killed_after_any_sub_step_is_finished_by_the_next_delivery() {
    for fault in [
        CrashAfter::RetrievalRecorded,
        CrashAfter::IndexRetrievalRecorded,
        CrashAfter::CopyBack,
        CrashAfter::IndexCopyBack,
        CrashAfter::ClearArchive,
        CrashAfter::ArchiveDelete,
    ] {
        let world = world().await;
        let user = world.user(Role::Free).await;
        let (job_id, bytes) = world.completed_job(&user).await;
        world.archiver.archive_job(&job_id).await.unwrap();
        world.assert_archived_once(&job_id, &bytes).await;
        let archived = world.jobs.get(&job_id).await.unwrap().unwrap();
        world.users.set_role(&user, Role::Premium).await.unwrap();

        *world.faults.armed.lock().unwrap() = Some(fault);
        let restorer = world.restorer();
        restore_until_done(&restorer, &user).await;
        assert!(
            world.faults.armed.lock().unwrap().is_none(),
            "{fault:?} was reached"
        );
        world.assert_restored(&job_id, &bytes).await;

        // The retrievals' notifications, as the cold store sends them.
        for archive_id in [
            archived.results_file_archive_id.clone().unwrap(),
            archived.variants_archive_id.clone().unwrap(),
        ] {
            let notice = gas_util::RetrievalNotice {
                job_id: "retrieval".into(),
                archive_id,
                job_description: job_id.clone(),
                status_code: "Succeeded".into(),
            };
            assert_eq!(
                restorer.on_retrieval(&notice).await.unwrap(),
                gas_util::Disposition::Done
            );
        }
        world.assert_restored(&job_id, &bytes).await;
        assert!(
            world.archives().is_empty(),
            "{fault:?}: archives left: {:?}",
            world.archives()
        );
    }
}

/// The notification of either retrieval thaws the job once both finished;
/// before that it waits (RetryAfter), and a user who became free meanwhile
/// keeps the job archived with no retrieval left recorded.
#[tokio::test]
async fn either_retrievals_notification_thaws_once_both_finished() {
    let world = world().await;
    let user = world.user(Role::Free).await;
    let (job_id, bytes) = world.completed_job(&user).await;
    world.archiver.archive_job(&job_id).await.unwrap();
    world.users.set_role(&user, Role::Premium).await.unwrap();
    let restorer = world.restorer();
    assert!(matches!(
        restorer.restore_user(&user).await.unwrap(),
        gas_util::Disposition::RetryAfter(_)
    ));
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    let notice = |archive_id: &str, retrieval: &str| gas_util::RetrievalNotice {
        job_id: retrieval.to_string(),
        archive_id: archive_id.to_string(),
        job_description: job_id.clone(),
        status_code: "Succeeded".into(),
    };
    let index_notice = notice(
        job.variants_archive_id.as_deref().unwrap(),
        job.variants_retrieval_job_id.as_deref().unwrap(),
    );

    // Free again before the retrievals finished: both are forgotten.
    world.users.set_role(&user, Role::Free).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        restorer.on_retrieval(&index_notice).await.unwrap(),
        gas_util::Disposition::Done
    );
    let stays = world.jobs.get(&job_id).await.unwrap().unwrap();
    assert!(stays.results_file_archive_id.is_some() && stays.variants_archive_id.is_some());
    assert_eq!(stays.retrieval_job_id, None);
    assert_eq!(stays.variants_retrieval_job_id, None);
    assert_eq!(world.hot_index(&stays).await, None);

    // Premium again: the index's notice alone, once both finished, thaws.
    world.users.set_role(&user, Role::Premium).await.unwrap();
    assert!(matches!(
        restorer.restore_user(&user).await.unwrap(),
        gas_util::Disposition::RetryAfter(_)
    ));
    let job = world.jobs.get(&job_id).await.unwrap().unwrap();
    let index_notice = notice(
        job.variants_archive_id.as_deref().unwrap(),
        job.variants_retrieval_job_id.as_deref().unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        restorer.on_retrieval(&index_notice).await.unwrap(),
        gas_util::Disposition::Done
    );
    world.assert_restored(&job_id, &bytes).await;
    assert!(world.archives().is_empty(), "{:?}", world.archives());
}
