//! A runner killed mid-job leaves its scratch directory behind (the chaos
//! test's SIGKILLs did, one per interrupted run). The next run of the job,
//! or the redelivery that finds it finished, removes it.

use std::sync::Arc;
use std::time::Duration;

use gas_ann::{Outcome, Runner, RunnerPorts, RunnerSettings};
use gas_jobs::messages::JobRequest;
use gas_jobs::sqlite::{SqliteJobStore, SqliteUserStore};
use gas_jobs::{Job, JobStatus, JobStore, Role, User, UserStore};
use gas_messaging::local::{LocalMessaging, QueueSettings};
use gas_messaging::Queue;
use gas_storage::dir::{DirBlobStore, UrlSigner};
use gas_storage::{bytes_stream, BlobStore};

const VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
MT\t73\t.\tA\tG\t50\tPASS\t.\n";

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_killed_runs_scratch_is_removed_by_the_next_run_and_by_a_redelivery() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = Arc::new(SqliteJobStore::open(&dir.path().join("jobs.sqlite")).unwrap());
    let users = Arc::new(SqliteUserStore::open(&dir.path().join("jobs.sqlite")).unwrap());
    let signer =
        UrlSigner::load_or_create(dir.path(), "http://127.0.0.1:1/".parse().unwrap()).unwrap();
    let blobs = |bucket: &str| {
        Arc::new(
            DirBlobStore::new(dir.path().join("blobs"), bucket.into(), signer.clone()).unwrap(),
        )
    };
    let (inputs, results) = (blobs("inputs"), blobs("results"));
    let messaging = LocalMessaging::open_in_memory().unwrap();
    let requests = Arc::new(
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
            results,
            requests: requests.clone(),
            completions: Arc::new(messaging.topic("results").unwrap()),
            archive_timer: Arc::new(messaging.timer("archive", archive_topic).unwrap()),
        },
        RunnerSettings {
            receive_wait: Duration::ZERO,
            ..RunnerSettings::new(dir.path().join("scratch"), Duration::from_secs(300))
        },
    );

    users
        .create(&User {
            user_id: "u1".into(),
            email: "u1@example.org".into(),
            role: Role::Free,
            created_at: 0,
            password_hash: None,
            api_token_sha256: None,
        })
        .await
        .unwrap();
    let job_id = "0b7f3c52-5d0e-4c1e-9d61-2f9a3c1d7e11";
    let key = format!("gas/u1/{job_id}~test.vcf");
    inputs.put(&key, bytes_stream(VCF)).await.unwrap();
    let job = Job::new_pending(job_id, "u1", "test.vcf", "inputs", &key, 1);
    jobs.create(&job).await.unwrap();
    let request = serde_json::to_string(&JobRequest::from(&job)).unwrap();

    // What a run killed mid-job leaves.
    let scratch = dir.path().join("scratch");
    let left = scratch.join(format!("job-{job_id}"));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("input.vcf"), "partial").unwrap();

    requests.send(&request).await.unwrap();
    assert_eq!(runner.step().await.unwrap(), Some(Outcome::Completed));
    assert_eq!(
        jobs.get(job_id).await.unwrap().unwrap().job_status,
        JobStatus::Completed
    );
    assert!(entries(&scratch).is_empty(), "{:?}", entries(&scratch));

    // Killed after the job completed, before its scratch went: the
    // redelivered request finds the job finished and removes it.
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("output.vcf"), "whole").unwrap();
    requests.send(&request).await.unwrap();
    assert_eq!(runner.step().await.unwrap(), Some(Outcome::AlreadyFinished));
    assert!(entries(&scratch).is_empty(), "{:?}", entries(&scratch));
}
