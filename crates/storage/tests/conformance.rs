//! Runs the conformance suites on the directory adapters, then what only
//! they have: signed download URLs, the refused Expedited tier, completion
//! notifications and retention.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gas_messaging::{MessagingError, Topic};
use gas_storage::conformance as suite;
use gas_storage::dir::{
    DirArchiveSettings, DirArchiveStore, DirBlobStore, DownloadError, DownloadParams,
    LocalDownloads, UrlError, UrlSigner,
};
use gas_storage::{
    bytes_stream, collect, ArchiveError, ArchiveStore, BlobError, BlobStore, RetrievalStatus, Tier,
};
use url::Url;

const BUCKET: &str = "gas-results";

fn blob_store(root: &Path) -> DirBlobStore {
    let signer = UrlSigner::load_or_create(root, Url::parse("http://127.0.0.1:8080/").unwrap())
        .expect("signer");
    DirBlobStore::new(root.join("buckets"), BUCKET.to_string(), signer).expect("blob store")
}

fn fast_settings() -> DirArchiveSettings {
    DirArchiveSettings {
        expedited_delay: Duration::from_millis(100),
        standard_delay: Duration::from_millis(200),
        bulk_delay: Duration::from_millis(300),
        refuse_expedited: false,
        retention: Duration::from_secs(3600),
    }
}

fn archive_store(root: &Path, settings: DirArchiveSettings) -> DirArchiveStore {
    DirArchiveStore::new(root.join("archive"), settings, None).expect("archive store")
}

const DEADLINE: Duration = Duration::from_secs(10);

macro_rules! blob_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let dir = tempfile::tempdir().unwrap();
            let store = blob_store(dir.path());
            suite::$name(&store).await;
            assert_no_temp_files(&dir.path().join("buckets"));
        }
    )*};
}

blob_checks!(
    blob_round_trip,
    blob_large_streamed,
    blob_empty,
    blob_overwrite,
    blob_head,
    blob_versions,
    blob_conditional_get_reads_one_version,
    blob_open_local_reads_one_version,
    blob_delete_idempotent,
    blob_not_found,
    blob_invalid_keys,
    blob_failed_body_leaves_nothing,
    blob_failed_body_keeps_previous,
    blob_download_url_is_a_url,
);

#[tokio::test]
async fn blob_suite_on_one_bucket() {
    let dir = tempfile::tempdir().unwrap();
    suite::blob_suite(&blob_store(dir.path())).await;
}

macro_rules! archive_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let dir = tempfile::tempdir().unwrap();
            let store = archive_store(dir.path(), fast_settings());
            suite::$name(&store, Tier::Standard, DEADLINE).await;
            assert_no_temp_files(&dir.path().join("archive"));
        }
    )*};
}

archive_checks!(
    archive_round_trip,
    archive_large_round_trip,
    archive_retrieval_survives_delete,
    archive_same_name_same_id,
);

#[tokio::test]
async fn archive_delete_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    suite::archive_delete_idempotent(&archive_store(dir.path(), fast_settings())).await;
}

#[tokio::test]
async fn archive_missing() {
    let dir = tempfile::tempdir().unwrap();
    suite::archive_missing(&archive_store(dir.path(), fast_settings())).await;
}

#[tokio::test]
async fn archive_failed_body() {
    let dir = tempfile::tempdir().unwrap();
    suite::archive_failed_body(&archive_store(dir.path(), fast_settings())).await;
    assert_no_temp_files(&dir.path().join("archive"));
}

#[tokio::test]
async fn archive_suite_with_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let store = archive_store(dir.path(), fast_settings());
    for tier in [Tier::Expedited, Tier::Standard, Tier::Bulk] {
        suite::archive_suite(&store, tier, DEADLINE).await;
    }
}

/// Nothing hidden (temporary files) is left anywhere under `dir`.
fn assert_no_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".gas-tmp-"),
            "temporary file left: {:?}",
            entry.path()
        );
        if entry.file_type().unwrap().is_dir() {
            assert_no_temp_files(&entry.path());
        }
    }
}

fn params_of(url: &str) -> (Vec<String>, DownloadParams) {
    let url = Url::parse(url).expect("download URL");
    let segments = url
        .path_segments()
        .expect("path")
        .map(|s| {
            // As the web route hands them over: percent-decoded.
            percent_decode(s)
        })
        .collect();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let params = DownloadParams {
        expires: q["expires"].parse().expect("expires"),
        name: q["name"].clone(),
        sig: q["sig"].clone(),
    };
    (segments, params)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn download_urls_verify_and_refuse_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let store = blob_store(dir.path());
    let key = "results/user 1/job~a%b é.annot.vcf";
    store.put(key, bytes_stream("annotated")).await.unwrap();
    let url = store
        .download_url(key, Duration::from_secs(300), "a b.annot.vcf")
        .await
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/blobs/gas-results/results/user%201/"));

    let (segments, p) = params_of(&url);
    assert_eq!(segments[..2], ["blobs", BUCKET]);
    let decoded_key = segments[2..].join("/");
    assert_eq!(decoded_key, key);
    assert_eq!(p.name, "a b.annot.vcf");
    let t = now();
    assert!(
        p.expires >= t + 299 && p.expires <= t + 301,
        "expiry {}",
        p.expires
    );

    let signer = store.signer();
    let verify = |bucket: &str, key: &str, expires: i64, name: &str, sig: &str, now: i64| {
        signer.verify(bucket, key, expires, name, sig, now)
    };
    verify(BUCKET, key, p.expires, &p.name, &p.sig, t).expect("a fresh URL verifies");
    verify(BUCKET, key, p.expires, &p.name, &p.sig, p.expires).expect("valid at its last second");

    let bad = |r: Result<(), UrlError>, what: &str| match r {
        Err(UrlError::BadSignature) => {}
        other => panic!("{what}: expected BadSignature, got {other:?}"),
    };
    bad(
        verify(BUCKET, "results/other", p.expires, &p.name, &p.sig, t),
        "tampered key",
    );
    bad(
        verify("gas-inputs", key, p.expires, &p.name, &p.sig, t),
        "tampered bucket",
    );
    bad(
        verify(BUCKET, key, p.expires, "evil.html", &p.sig, t),
        "tampered name",
    );
    bad(
        verify(BUCKET, key, p.expires + 3600, &p.name, &p.sig, t),
        "tampered expiry",
    );
    let mut sig = p.sig.clone().into_bytes();
    sig[0] = if sig[0] == b'0' { b'1' } else { b'0' };
    bad(
        verify(
            BUCKET,
            key,
            p.expires,
            &p.name,
            std::str::from_utf8(&sig).unwrap(),
            t,
        ),
        "tampered signature",
    );
    bad(
        verify(BUCKET, key, p.expires, &p.name, "zz", t),
        "non-hex signature",
    );
    bad(
        verify(BUCKET, key, p.expires, &p.name, "", t),
        "empty signature",
    );
    match verify(BUCKET, key, p.expires, &p.name, &p.sig, p.expires + 1) {
        Err(UrlError::Expired) => {}
        other => panic!("expired URL: expected Expired, got {other:?}"),
    }

    // Another data directory's key does not verify this one's URLs.
    let other = tempfile::tempdir().unwrap();
    let stranger = blob_store(other.path());
    bad(
        stranger
            .signer()
            .verify(BUCKET, key, p.expires, &p.name, &p.sig, t),
        "another key",
    );

    // The registry the web route uses: verify, then open.
    let mut downloads = LocalDownloads::new();
    downloads.register(Arc::new(store));
    let d = downloads.open(BUCKET, key, &p, t).await.expect("download");
    assert_eq!(d.size, 9);
    assert_eq!(d.file_name, "a b.annot.vcf");
    assert_eq!(collect(d.body).await.unwrap(), b"annotated");
    assert!(matches!(
        downloads.open("nope", key, &p, t).await,
        Err(DownloadError::UnknownBucket(_))
    ));
    assert!(matches!(
        downloads.open(BUCKET, key, &p, p.expires + 1).await,
        Err(DownloadError::Url(UrlError::Expired))
    ));
    let tampered = DownloadParams {
        name: "x".into(),
        ..p.clone()
    };
    assert!(matches!(
        downloads.open(BUCKET, key, &tampered, t).await,
        Err(DownloadError::Url(UrlError::BadSignature))
    ));
    // A signed URL of a deleted object is a plain NotFound.
    downloads.store(BUCKET).unwrap().delete(key).await.unwrap();
    assert!(matches!(
        downloads.open(BUCKET, key, &p, t).await,
        Err(DownloadError::Blob(BlobError::NotFound(_)))
    ));
}

#[tokio::test]
async fn reserved_temp_names_are_not_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = blob_store(dir.path());
    for key in [".gas-tmp-123", "a/.gas-tmp-x/b"] {
        assert!(matches!(
            store.put(key, bytes_stream("x")).await,
            Err(BlobError::InvalidKey(_))
        ));
        assert!(matches!(
            store.head(key).await,
            Err(BlobError::InvalidKey(_))
        ));
    }
    // Other hidden names are ordinary keys.
    store.put("a/.profile", bytes_stream("x")).await.unwrap();
    assert_eq!(store.head("a/.profile").await.unwrap(), Some(1));
}

#[tokio::test]
async fn objects_live_at_root_bucket_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = blob_store(dir.path());
    store
        .put("inputs/u1/j~x.vcf", bytes_stream("vcf"))
        .await
        .unwrap();
    let path = dir
        .path()
        .join("buckets")
        .join(BUCKET)
        .join("inputs/u1/j~x.vcf");
    assert_eq!(std::fs::read(path).unwrap(), b"vcf");
}

#[tokio::test]
async fn expedited_can_be_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = archive_store(
        dir.path(),
        DirArchiveSettings {
            refuse_expedited: true,
            ..fast_settings()
        },
    );
    let id = store.archive("job-1", bytes_stream("bytes")).await.unwrap();
    match store.start_retrieval(&id, Tier::Expedited, "job-1").await {
        Err(ArchiveError::InsufficientCapacity(Tier::Expedited)) => {}
        r => panic!("expected InsufficientCapacity, got {r:?}"),
    }
    // The fallback works.
    let r = store
        .start_retrieval(&id, Tier::Standard, "job-1")
        .await
        .unwrap();
    suite::wait_for_retrieval(&store, &r, DEADLINE).await;
}

#[tokio::test]
async fn retrievals_wait_for_their_tier() {
    let dir = tempfile::tempdir().unwrap();
    let store = archive_store(
        dir.path(),
        DirArchiveSettings {
            standard_delay: Duration::from_millis(600),
            ..fast_settings()
        },
    );
    let id = store.archive("job-2", bytes_stream("slow")).await.unwrap();
    let started = std::time::Instant::now();
    let r = store
        .start_retrieval(&id, Tier::Standard, "job-2")
        .await
        .unwrap();
    assert_eq!(
        store.retrieval_status(&r).await.unwrap(),
        RetrievalStatus::InProgress
    );
    assert!(matches!(
        store.retrieval_output(&r).await,
        Err(ArchiveError::NotReady(_))
    ));
    suite::wait_for_retrieval(&store, &r, DEADLINE).await;
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(
        collect(store.retrieval_output(&r).await.unwrap())
            .await
            .unwrap(),
        b"slow"
    );
}

#[tokio::test]
async fn archive_names_that_are_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = archive_store(dir.path(), fast_settings());
    for name in ["a/b", "..", "../x", ""] {
        assert!(
            store.archive(name, bytes_stream("x")).await.is_err(),
            "{name:?} accepted"
        );
    }
    for id in ["../vault/x", "/etc/passwd", ".gas-tmp-1"] {
        assert!(matches!(
            store.start_retrieval(id, Tier::Standard, "x").await,
            Err(ArchiveError::NotFound(_))
        ));
        store
            .delete(id)
            .await
            .expect("deleting a foreign id does nothing");
    }
    for id in ["../x", "a/b"] {
        assert!(matches!(
            store.retrieval_status(id).await,
            Err(ArchiveError::RetrievalNotFound(_))
        ));
    }
}

/// A topic that records what it is given, and can be told to fail.
#[derive(Default)]
struct RecordingTopic {
    published: Mutex<Vec<String>>,
    fail: Mutex<bool>,
}

#[async_trait]
impl Topic for RecordingTopic {
    fn arn(&self) -> &str {
        "arn:aws:sns:local:000000000000:gas-thaw"
    }

    async fn publish(&self, message: &str) -> Result<String, MessagingError> {
        if *self.fail.lock().unwrap() {
            return Err(MessagingError::Invalid("topic is down".into()));
        }
        let mut published = self.published.lock().unwrap();
        published.push(message.to_string());
        Ok(format!("msg-{}", published.len()))
    }
}

#[tokio::test]
async fn finished_retrievals_are_announced_once() {
    let dir = tempfile::tempdir().unwrap();
    let topic = Arc::new(RecordingTopic::default());
    let store = DirArchiveStore::new(
        dir.path().join("archive"),
        fast_settings(),
        Some(topic.clone() as Arc<dyn Topic>),
    )
    .unwrap()
    .with_vault_arn("arn:aws:glacier:local:000000000000:vaults/test");

    let id = store
        .archive("job-9", bytes_stream("0123456789"))
        .await
        .unwrap();
    let r = store
        .start_retrieval(&id, Tier::Bulk, "job-9")
        .await
        .unwrap();
    assert_eq!(
        store.notify_due().await.unwrap(),
        0,
        "announced before it was ready"
    );

    // A failing topic: the error surfaces and the announcement is retried.
    suite::wait_for_retrieval(&store, &r, DEADLINE).await;
    *topic.fail.lock().unwrap() = true;
    assert!(store.notify_due().await.is_err());
    *topic.fail.lock().unwrap() = false;

    assert_eq!(store.notify_due().await.unwrap(), 1);
    assert_eq!(store.notify_due().await.unwrap(), 0, "announced twice");
    let published = topic.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1);
    let n: serde_json::Value = serde_json::from_str(&published[0]).unwrap();
    assert_eq!(n["Action"], "ArchiveRetrieval");
    assert_eq!(n["ArchiveId"], id.as_str());
    assert_eq!(n["ArchiveSizeInBytes"], 10);
    assert_eq!(n["Completed"], true);
    assert_eq!(n["JobDescription"], "job-9");
    assert_eq!(n["JobId"], r.as_str());
    assert_eq!(n["StatusCode"], "Succeeded");
    assert_eq!(n["StatusMessage"], "Succeeded");
    assert_eq!(n["Tier"], "Bulk");
    assert_eq!(
        n["VaultARN"],
        "arn:aws:glacier:local:000000000000:vaults/test"
    );
    assert_eq!(n["SNSTopic"], topic.arn());
    for date in ["CompletionDate", "CreationDate"] {
        let s = n[date].as_str().unwrap_or_else(|| panic!("{date} missing"));
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{date} {s:?}: {e}"));
        assert!(s.ends_with('Z') && s.len() == 24, "{date} {s:?}");
    }
    assert!(n["CreationDate"].as_str() <= n["CompletionDate"].as_str());
}

#[tokio::test]
async fn the_notifier_runs_until_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let topic = Arc::new(RecordingTopic::default());
    let store = Arc::new(
        DirArchiveStore::new(
            dir.path().join("archive"),
            fast_settings(),
            Some(topic.clone() as Arc<dyn Topic>),
        )
        .unwrap(),
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let notifier =
        tokio::spawn(Arc::clone(&store).run_notifier(Duration::from_millis(50), shutdown));
    let id = store.archive("job-n", bytes_stream("n")).await.unwrap();
    store
        .start_retrieval(&id, Tier::Expedited, "job-n")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + DEADLINE;
    while topic.published.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no notification");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), notifier)
        .await
        .expect("the notifier stops on shutdown")
        .unwrap();
    assert_eq!(topic.published.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn expired_retrievals_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = archive_store(
        dir.path(),
        DirArchiveSettings {
            retention: Duration::ZERO,
            ..fast_settings()
        },
    );
    let id = store.archive("job-p", bytes_stream("p")).await.unwrap();
    let r = store
        .start_retrieval(&id, Tier::Expedited, "job-p")
        .await
        .unwrap();
    assert_eq!(
        store.prune_expired().await.unwrap(),
        0,
        "pruned before it finished"
    );
    suite::wait_for_retrieval(&store, &r, DEADLINE).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(store.prune_expired().await.unwrap(), 1);
    assert!(matches!(
        store.retrieval_status(&r).await,
        Err(ArchiveError::RetrievalNotFound(_))
    ));
    let left: Vec<_> = std::fs::read_dir(dir.path().join("archive/retrievals"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "pruning left files behind");
}
