//! What the runner checks of a job's input before and while it annotates:
//! that it is still the version the web service checked (a browser's
//! presigned upload form can be posted again after the job was made), and
//! that compressed input does not inflate past its owner's plan.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use gas_ann::{InputLimits, Outcome, Runner, RunnerPorts, RunnerSettings};
use gas_jobs::messages::JobRequest;
use gas_jobs::sqlite::{SqliteJobStore, SqliteUserStore};
use gas_jobs::{Job, JobStatus, JobStore, Role, User, UserStore};
use gas_messaging::local::{LocalMessaging, QueueSettings};
use gas_messaging::Queue;
use gas_storage::dir::{DirBlobStore, UrlSigner};
use gas_storage::{bytes_stream, collect, BlobStore};

const VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
MT\t73\t.\tA\tG\t50\tPASS\t.\n";

/// What the swapped-in input says (same length as [`VCF`], other bytes).
const SWAPPED: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
MT\t74\t.\tC\tT\t50\tPASS\t.\n";

const CHANGED: &str = "the input file changed after it was submitted; please submit it again";

struct Harness {
    _dir: tempfile::TempDir,
    jobs: Arc<SqliteJobStore>,
    users: Arc<SqliteUserStore>,
    inputs: Arc<DirBlobStore>,
    results: Arc<DirBlobStore>,
    requests: Arc<dyn Queue>,
    runner: Runner,
}

impl Harness {
    fn new(limits: InputLimits) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("jobs.sqlite");
        let jobs = Arc::new(SqliteJobStore::open(&db).unwrap());
        let users = Arc::new(SqliteUserStore::open(&db).unwrap());
        let signer =
            UrlSigner::load_or_create(dir.path(), "http://127.0.0.1:1/".parse().unwrap()).unwrap();
        let blobs = |bucket: &str| {
            Arc::new(
                DirBlobStore::new(dir.path().join("blobs"), bucket.into(), signer.clone()).unwrap(),
            )
        };
        let (inputs, results) = (blobs("inputs"), blobs("results"));
        let messaging = LocalMessaging::open_in_memory().unwrap();
        let requests: Arc<dyn Queue> = Arc::new(
            messaging
                .queue("requests", QueueSettings::default())
                .unwrap(),
        );
        let archive_topic = Arc::new(messaging.topic("archive").unwrap());
        let runner = Runner::new(
            RunnerPorts {
                jobs: jobs.clone(),
                users: users.clone(),
                inputs: inputs.clone(),
                results: results.clone(),
                requests: requests.clone(),
                completions: Arc::new(messaging.topic("results").unwrap()),
                archive_timer: Arc::new(messaging.timer("archive", archive_topic).unwrap()),
            },
            RunnerSettings {
                receive_wait: Duration::ZERO,
                input_limits: limits,
                ..RunnerSettings::new(dir.path().join("scratch"), Duration::from_secs(300))
            },
        );
        Harness {
            _dir: dir,
            jobs,
            users,
            inputs,
            results,
            requests,
            runner,
        }
    }

    async fn user(&self, user_id: &str, role: Role) {
        self.users
            .create(&User {
                user_id: user_id.into(),
                email: format!("{user_id}@example.org"),
                role,
                created_at: 0,
                password_hash: None,
                api_token_sha256: None,
            })
            .await
            .unwrap();
    }

    /// Stores `input` as a new job's input and makes the PENDING job, with
    /// the version it was checked at when `pin` is set (as the web service
    /// does for a browser's upload), and queues its request.
    async fn submit(&self, user_id: &str, input: Vec<u8>, pin: bool) -> Job {
        let job_id = uuid::Uuid::new_v4().to_string();
        let key = format!("gas/{user_id}/{job_id}~in.vcf");
        self.inputs.put(&key, bytes_stream(input)).await.unwrap();
        let mut job = Job::new_pending(&job_id, user_id, "in.vcf", "inputs", &key, 1);
        if pin {
            job.input_etag = Some(self.inputs.stat(&key).await.unwrap().unwrap().etag);
        }
        self.jobs.create(&job).await.unwrap();
        self.requests
            .send(&serde_json::to_string(&JobRequest::from(&job)).unwrap())
            .await
            .unwrap();
        job
    }

    async fn record(&self, job_id: &str) -> Job {
        self.jobs.get(job_id).await.unwrap().unwrap()
    }

    async fn results(&self, job: &Job) -> Option<Vec<u8>> {
        let key = gas_ann::result_key(&job.s3_key_input_file);
        match self.results.get(&key).await {
            Ok(body) => Some(collect(body).await.unwrap()),
            Err(_) => None,
        }
    }
}

/// The swap: the input is replaced (same size, other bytes) after the job
/// was made from its checked version. The job fails with a reason the
/// user can act on; nothing is annotated, and the input is left alone.
#[tokio::test]
async fn an_input_replaced_after_its_check_fails_the_job() {
    let h = Harness::new(InputLimits::default());
    h.user("u1", Role::Free).await;
    let job = h.submit("u1", VCF.into(), true).await;
    h.inputs
        .put(&job.s3_key_input_file, bytes_stream(SWAPPED))
        .await
        .unwrap();

    assert_eq!(h.runner.step().await.unwrap(), Some(Outcome::Failed));
    let record = h.record(&job.job_id).await;
    assert_eq!(record.job_status, JobStatus::Failed);
    assert_eq!(record.failure_reason.as_deref(), Some(CHANGED));
    assert_eq!(h.results(&job).await, None, "nothing was annotated");
    let input = collect(h.inputs.get(&job.s3_key_input_file).await.unwrap())
        .await
        .unwrap();
    assert_eq!(input, SWAPPED.as_bytes(), "the input is left as it is");
    assert_eq!(h.runner.step().await.unwrap(), None, "the request is gone");
}

/// The version checked is the version annotated; a job without a recorded
/// version (an upload streamed through the web service) reads its input
/// as it is.
#[tokio::test]
async fn an_unchanged_input_is_annotated() {
    let h = Harness::new(InputLimits::default());
    h.user("u1", Role::Premium).await;
    for pin in [true, false] {
        let job = h.submit("u1", VCF.into(), pin).await;
        assert_eq!(h.runner.step().await.unwrap(), Some(Outcome::Completed));
        let results = String::from_utf8(h.results(&job).await.unwrap()).unwrap();
        assert!(
            results.ends_with("MT\t73\t.\tA\tG\t50\tPASS\tVC=SNV;TITV=ts\n"),
            "{results}"
        );
    }
}

/// `megabytes` MB of one VCF line repeated, gzip-compressed (to some KB).
fn gzip_bomb(megabytes: usize) -> Vec<u8> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(VCF.as_bytes()).unwrap();
    let block = "MT\t73\t.\tA\tG\t50\tPASS\t.\n".repeat(40_000);
    let mut written = VCF.len();
    while written < megabytes * 1_000_000 {
        gzip.write_all(block.as_bytes()).unwrap();
        written += block.len();
    }
    gzip.finish().unwrap()
}

/// Compressed input stops at its owner's upload limit times the ratio: a
/// free user's 10 MB bomb fails the job with a reason naming the bound; a
/// premium user's larger limit lets the same file through.
#[tokio::test]
async fn compressed_input_is_bounded_by_the_plan() {
    let limits = InputLimits {
        free_upload_limit: 10_000,
        max_upload: 1_000_000,
        max_inflate_ratio: 20,
    };
    let h = Harness::new(limits);
    h.user("free", Role::Free).await;
    h.user("premium", Role::Premium).await;
    let bomb = gzip_bomb(10);
    assert!(bomb.len() < 50_000, "{} bytes", bomb.len());

    let job = h.submit("free", bomb.clone(), false).await;
    assert_eq!(h.runner.step().await.unwrap(), Some(Outcome::Failed));
    let record = h.record(&job.job_id).await;
    assert_eq!(record.job_status, JobStatus::Failed);
    let reason = record.failure_reason.unwrap();
    assert!(
        reason.contains("more than 200000 bytes") && reason.contains("20 times"),
        "{reason}"
    );
    assert_eq!(h.results(&job).await, None);

    let job = h.submit("premium", bomb, false).await;
    assert_eq!(h.runner.step().await.unwrap(), Some(Outcome::Completed));
    assert!(h.results(&job).await.unwrap().len() > 10_000_000);
}
