//! The conformance suites every [`BlobStore`] and [`ArchiveStore`] adapter
//! passes.
//!
//! Why plain async functions over trait objects: the directory adapters run
//! them in every `cargo test`, the S3, Glacier vault and S3-cold-class
//! adapters against an emulator, so a local adapter cannot quietly do less
//! than a cloud one. Each function makes its own unique keys or names (so
//! they can share a bucket or vault), panics with a message naming the
//! broken rule, and uses no HTTP: download URLs are the adapters' own
//! business and are tested with them.

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::{
    bytes_stream, collect, ArchiveError, ArchiveStore, BlobError, BlobStore, ByteStream,
    ObjectInfo, RetrievalStatus, Tier,
};

/// Size of the large body the suites stream (several MiB, many chunks).
const LARGE: usize = 5 * 1024 * 1024 + 123;
const CHUNK: usize = 64 * 1024;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn unique_key() -> String {
    format!("conformance/{}/{}~data.vcf", unique("user"), unique("job"))
}

/// The large body's byte at `i`: varied enough that a misplaced chunk shows.
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// `len` patterned bytes as a stream of `CHUNK`-sized chunks, generated on
/// demand so the suite itself never holds the body.
fn patterned_stream(len: usize) -> ByteStream {
    let chunks = (0..len).step_by(CHUNK).map(move |start| {
        let end = (start + CHUNK).min(len);
        Ok(Bytes::from((start..end).map(pattern).collect::<Vec<u8>>()))
    });
    Box::pin(futures::stream::iter(chunks))
}

fn patterned_digest(len: usize) -> Vec<u8> {
    let mut h = Sha256::new();
    for start in (0..len).step_by(CHUNK) {
        let end = (start + CHUNK).min(len);
        h.update((start..end).map(pattern).collect::<Vec<u8>>());
    }
    h.finalize().to_vec()
}

/// Reads a stream through, returning its length and SHA-256.
async fn digest(mut stream: ByteStream) -> io::Result<(usize, Vec<u8>)> {
    let mut h = Sha256::new();
    let mut len = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        len += chunk.len();
        h.update(&chunk);
    }
    Ok((len, h.finalize().to_vec()))
}

/// A body that yields some bytes, then fails like a client disconnecting.
fn failing_stream() -> ByteStream {
    let chunks: Vec<io::Result<Bytes>> = vec![
        Ok(Bytes::from(vec![b'x'; CHUNK])),
        Ok(Bytes::from(vec![b'y'; CHUNK])),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    Box::pin(futures::stream::iter(chunks))
}

async fn read_blob(store: &dyn BlobStore, key: &str) -> Vec<u8> {
    let body = store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    collect(body)
        .await
        .unwrap_or_else(|e| panic!("reading {key}: {e:?}"))
}

async fn put(store: &dyn BlobStore, key: &str, body: ByteStream) -> u64 {
    store
        .put(key, body)
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"))
}

/// Runs every blob store check.
pub async fn blob_suite(store: &dyn BlobStore) {
    blob_round_trip(store).await;
    blob_large_streamed(store).await;
    blob_empty(store).await;
    blob_overwrite(store).await;
    blob_head(store).await;
    blob_versions(store).await;
    blob_conditional_get_reads_one_version(store).await;
    blob_open_local_reads_one_version(store).await;
    blob_delete_idempotent(store).await;
    blob_not_found(store).await;
    blob_invalid_keys(store).await;
    blob_failed_body_leaves_nothing(store).await;
    blob_failed_body_keeps_previous(store).await;
    blob_download_url_is_a_url(store).await;
}

/// put then get returns the same bytes; put reports the size.
pub async fn blob_round_trip(store: &dyn BlobStore) {
    let key = unique_key();
    let body = b"##fileformat=VCFv4.2\n#CHROM\tPOS\n1\t100\n".to_vec();
    let chunks: Vec<io::Result<Bytes>> = body
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let written = put(store, &key, Box::pin(futures::stream::iter(chunks))).await;
    assert_eq!(
        written,
        body.len() as u64,
        "put must return the bytes written"
    );
    assert_eq!(
        read_blob(store, &key).await,
        body,
        "get returned other bytes"
    );
    // Keys may carry characters that need encoding in URLs.
    let odd = format!("conformance/{}/a b+c%20~é.vcf", unique("user"));
    put(store, &odd, bytes_stream("odd")).await;
    assert_eq!(read_blob(store, &odd).await, b"odd");
    store.delete(&key).await.expect("delete");
    store.delete(&odd).await.expect("delete");
}

/// A multi-MiB body streamed in 64 KiB chunks round-trips intact.
pub async fn blob_large_streamed(store: &dyn BlobStore) {
    let key = unique_key();
    let written = put(store, &key, patterned_stream(LARGE)).await;
    assert_eq!(written, LARGE as u64);
    assert_eq!(store.head(&key).await.expect("head"), Some(LARGE as u64));
    let body = store.get(&key).await.expect("get");
    let (len, sha) = digest(body).await.expect("reading the large body");
    assert_eq!(len, LARGE, "large body length");
    assert!(sha == patterned_digest(LARGE), "large body bytes differ");
    store.delete(&key).await.expect("delete");
}

/// An empty body is an object of size 0.
pub async fn blob_empty(store: &dyn BlobStore) {
    let key = unique_key();
    let written = put(store, &key, Box::pin(futures::stream::empty())).await;
    assert_eq!(written, 0);
    assert_eq!(store.head(&key).await.expect("head"), Some(0));
    assert!(read_blob(store, &key).await.is_empty());
    store.delete(&key).await.expect("delete");
}

/// put replaces an existing object.
pub async fn blob_overwrite(store: &dyn BlobStore) {
    let key = unique_key();
    put(store, &key, bytes_stream("first version, longer")).await;
    put(store, &key, bytes_stream("second")).await;
    assert_eq!(read_blob(store, &key).await, b"second");
    assert_eq!(store.head(&key).await.expect("head"), Some(6));
    store.delete(&key).await.expect("delete");
}

/// head gives the size of an object and None for a missing one.
pub async fn blob_head(store: &dyn BlobStore) {
    let key = unique_key();
    assert_eq!(store.head(&key).await.expect("head of a missing key"), None);
    put(store, &key, bytes_stream("12345")).await;
    assert_eq!(store.head(&key).await.expect("head"), Some(5));
    // A "folder" of other keys is not an object.
    let folder = key
        .rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_default();
    assert_eq!(store.head(&folder).await.expect("head of a prefix"), None);
    store.delete(&key).await.expect("delete");
}

async fn stat(store: &dyn BlobStore, key: &str) -> Option<ObjectInfo> {
    store
        .stat(key)
        .await
        .unwrap_or_else(|e| panic!("stat {key}: {e:?}"))
}

async fn read_version(store: &dyn BlobStore, key: &str, etag: &str) -> Vec<u8> {
    let body = store
        .get_if_match(key, etag)
        .await
        .unwrap_or_else(|e| panic!("get_if_match {key} {etag:?}: {e:?}"));
    collect(body)
        .await
        .unwrap_or_else(|e| panic!("reading {key} {etag:?}: {e:?}"))
}

/// stat names the object's version: the same while nobody replaces it, a
/// new one for every put of other bytes (as many, one right after the
/// other); get_if_match serves the version named and refuses a replaced
/// one with Changed, a missing one with NotFound.
pub async fn blob_versions(store: &dyn BlobStore) {
    let key = unique_key();
    assert_eq!(stat(store, &key).await, None, "stat of a missing key");
    match store.get_if_match(&key, "\"0123\"").await {
        Err(BlobError::NotFound(_)) => {}
        Err(e) => panic!("get_if_match of a missing key: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get_if_match of a missing key returned a body"),
    }
    put(store, &key, bytes_stream("version 00")).await;
    let first = stat(store, &key).await.expect("stat of a stored object");
    assert_eq!(first.size, 10, "stat's size");
    assert!(!first.etag.is_empty(), "stat gave an empty etag");
    assert_eq!(
        stat(store, &key).await.as_ref(),
        Some(&first),
        "two stats of an unchanged object disagree"
    );
    assert_eq!(read_version(store, &key, &first.etag).await, b"version 00");

    // Replacements of the same size, at once: a version that only a clock
    // or a size tells apart would repeat here.
    let mut seen = vec![first.etag.clone()];
    for i in 1..10 {
        let body = format!("version {i:02}");
        put(store, &key, bytes_stream(body.clone())).await;
        let now = stat(store, &key).await.expect("stat of a replaced object");
        assert_eq!(now.size, 10);
        assert!(
            !seen.contains(&now.etag),
            "put #{i} of other bytes gave an etag seen before: {:?} in {seen:?}",
            now.etag
        );
        assert_eq!(read_version(store, &key, &now.etag).await, body.as_bytes());
        for old in &seen {
            match store.get_if_match(&key, old).await {
                Err(BlobError::Changed(_)) => {}
                Err(e) => panic!("get_if_match of a replaced version: expected Changed, got {e:?}"),
                Ok(_) => panic!("get_if_match of a replaced version {old:?} returned a body"),
            }
        }
        seen.push(now.etag);
    }

    // A "folder" of other keys is not an object.
    let folder = key
        .rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_default();
    assert_eq!(stat(store, &folder).await, None, "stat of a key prefix");
    store.delete(&key).await.expect("delete");
    assert_eq!(stat(store, &key).await, None, "stat after delete");
    match store.get_if_match(&key, seen.last().unwrap()).await {
        Err(BlobError::NotFound(_)) => {}
        Err(e) => panic!("get_if_match after delete: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get_if_match after delete returned a body"),
    }
}

/// A body get_if_match opened is all of that version, even when the object
/// is replaced before the body is read: a check and a use never see a mix.
pub async fn blob_conditional_get_reads_one_version(store: &dyn BlobStore) {
    let key = unique_key();
    let len = 3 * CHUNK + 5;
    put(store, &key, patterned_stream(len)).await;
    let info = stat(store, &key).await.expect("stat of a stored object");
    let body = store
        .get_if_match(&key, &info.etag)
        .await
        .expect("get_if_match of the current version");
    put(store, &key, bytes_stream("the replacement")).await;
    let (read, sha) = digest(body).await.expect("reading the opened version");
    assert_eq!(read, len, "the opened version's length");
    assert!(
        sha == patterned_digest(len),
        "the opened version's bytes changed under the reader"
    );
    match store.get_if_match(&key, &info.etag).await {
        Err(BlobError::Changed(_)) => {}
        Err(e) => panic!("get_if_match after a replacement: expected Changed, got {e:?}"),
        Ok(_) => panic!("get_if_match after a replacement returned a body"),
    }
    store.delete(&key).await.expect("delete");
}

/// open_local, where a store has it, opens the version asked for and keeps
/// reading it after a replacement, and refuses another version; a store
/// without local files answers `None` for any object.
pub async fn blob_open_local_reads_one_version(store: &dyn BlobStore) {
    use std::io::Read;
    let key = unique_key();
    put(store, &key, bytes_stream("the first version")).await;
    let info = stat(store, &key).await.expect("stat of a stored object");
    let opened = store
        .open_local(&key, &info.etag)
        .await
        .expect("open_local of the current version");
    put(store, &key, bytes_stream("the replacement")).await;
    match opened {
        None => {
            let again = store.open_local(&key, "any").await;
            assert!(
                matches!(again, Ok(None)),
                "a store without local files answers None"
            );
        }
        Some(mut file) => {
            let mut text = String::new();
            file.read_to_string(&mut text).expect("reading the file");
            assert_eq!(text, "the first version", "the opened version's bytes");
            match store.open_local(&key, &info.etag).await {
                Err(BlobError::Changed(_)) => {}
                other => panic!("open_local of a replaced version: {other:?}"),
            }
            store.delete(&key).await.expect("delete");
            match store.open_local(&key, &info.etag).await {
                Err(BlobError::NotFound(_)) => {}
                other => panic!("open_local of a deleted object: {other:?}"),
            }
        }
    }
    store.delete(&key).await.expect("delete");
}

/// delete removes the object; deleting again (or a key never written) works.
pub async fn blob_delete_idempotent(store: &dyn BlobStore) {
    let key = unique_key();
    put(store, &key, bytes_stream("bye")).await;
    store.delete(&key).await.expect("delete");
    assert_eq!(store.head(&key).await.expect("head"), None);
    match store.get(&key).await {
        Err(BlobError::NotFound(_)) => {}
        Err(e) => panic!("get after delete: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get after delete: expected NotFound, got a body"),
    }
    store
        .delete(&key)
        .await
        .expect("second delete must succeed");
    store
        .delete(&unique_key())
        .await
        .expect("delete of a key never written must succeed");
}

/// get of a missing key, or of a prefix of other keys, is NotFound.
pub async fn blob_not_found(store: &dyn BlobStore) {
    let key = unique_key();
    match store.get(&key).await {
        Err(BlobError::NotFound(_)) => {}
        Err(e) => panic!("get of a missing key: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get of a missing key returned a body"),
    }
    put(store, &key, bytes_stream("x")).await;
    let folder = key
        .rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_default();
    match store.get(&folder).await {
        Err(BlobError::NotFound(_)) => {}
        Err(e) => panic!("get of a key prefix: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get of a key prefix returned a body"),
    }
    store.delete(&key).await.expect("delete");
}

/// Keys breaking the contract's rules are InvalidKey, for every operation.
pub async fn blob_invalid_keys(store: &dyn BlobStore) {
    for key in ["", "/abs", "a//b", "a/../b", "..", "./a", "a/", "a\\b"] {
        let what = |op: &str| format!("{op} of invalid key {key:?}");
        match store.put(key, bytes_stream("x")).await {
            Err(BlobError::InvalidKey(_)) => {}
            r => panic!(
                "{}: expected InvalidKey, got {:?}",
                what("put"),
                r.map(|_| ())
            ),
        }
        match store.get(key).await {
            Err(BlobError::InvalidKey(_)) => {}
            Err(e) => panic!("{}: expected InvalidKey, got {e:?}", what("get")),
            Ok(_) => panic!("{}: returned a body", what("get")),
        }
        match store.head(key).await {
            Err(BlobError::InvalidKey(_)) => {}
            r => panic!("{}: expected InvalidKey, got {r:?}", what("head")),
        }
        match store.stat(key).await {
            Err(BlobError::InvalidKey(_)) => {}
            r => panic!("{}: expected InvalidKey, got {r:?}", what("stat")),
        }
        match store.get_if_match(key, "\"0123\"").await {
            Err(BlobError::InvalidKey(_)) => {}
            Err(e) => panic!("{}: expected InvalidKey, got {e:?}", what("get_if_match")),
            Ok(_) => panic!("{}: returned a body", what("get_if_match")),
        }
        match store.delete(key).await {
            Err(BlobError::InvalidKey(_)) => {}
            r => panic!("{}: expected InvalidKey, got {r:?}", what("delete")),
        }
        match store.download_url(key, Duration::from_secs(60), "x").await {
            Err(BlobError::InvalidKey(_)) => {}
            r => panic!("{}: expected InvalidKey, got {r:?}", what("download_url")),
        }
    }
}

/// A body that fails mid-stream is BlobError::Body and leaves no object.
pub async fn blob_failed_body_leaves_nothing(store: &dyn BlobStore) {
    let key = unique_key();
    match store.put(&key, failing_stream()).await {
        Err(BlobError::Body(_)) => {}
        r => panic!("put with a failing body: expected Body, got {r:?}"),
    }
    assert_eq!(
        store.head(&key).await.expect("head"),
        None,
        "a failed put left an object"
    );
    match store.get(&key).await {
        Err(BlobError::NotFound(_)) => {}
        Err(e) => panic!("get after a failed put: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get after a failed put returned a body"),
    }
}

/// A failed put over an existing object leaves that object intact.
pub async fn blob_failed_body_keeps_previous(store: &dyn BlobStore) {
    let key = unique_key();
    put(store, &key, bytes_stream("keep me")).await;
    match store.put(&key, failing_stream()).await {
        Err(BlobError::Body(_)) => {}
        r => panic!("put with a failing body: expected Body, got {r:?}"),
    }
    assert_eq!(
        read_blob(store, &key).await,
        b"keep me",
        "a failed put damaged the object"
    );
    store.delete(&key).await.expect("delete");
}

/// download_url gives an absolute URL that differs per key. (Whether it
/// serves and expires is tested per adapter, with its own verifier.)
pub async fn blob_download_url_is_a_url(store: &dyn BlobStore) {
    let a = unique_key();
    let b = unique_key();
    put(store, &a, bytes_stream("a")).await;
    let ua = store
        .download_url(&a, Duration::from_secs(300), "a.vcf")
        .await
        .expect("download_url");
    let ub = store
        .download_url(&b, Duration::from_secs(300), "b.vcf")
        .await
        .expect("download_url of a key not yet written");
    let parsed = url::Url::parse(&ua).unwrap_or_else(|e| panic!("{ua:?} is not a URL: {e}"));
    assert!(
        matches!(parsed.scheme(), "http" | "https"),
        "download URL {ua} is not http(s)"
    );
    assert_ne!(ua, ub, "two keys got the same URL");
    store.delete(&a).await.expect("delete");
}

/// Runs every archive store check. `deadline` bounds how long a retrieval of
/// `tier` may take on this adapter.
pub async fn archive_suite(store: &dyn ArchiveStore, tier: Tier, deadline: Duration) {
    archive_round_trip(store, tier, deadline).await;
    archive_large_round_trip(store, tier, deadline).await;
    archive_retrieval_survives_delete(store, tier, deadline).await;
    archive_delete_idempotent(store).await;
    archive_missing(store).await;
    archive_failed_body(store).await;
}

/// Polls a retrieval until it succeeds, checking on the way that its output
/// is NotReady while it is in progress. Panics after `deadline`.
pub async fn wait_for_retrieval(store: &dyn ArchiveStore, retrieval_id: &str, deadline: Duration) {
    let start = Instant::now();
    loop {
        match store.retrieval_status(retrieval_id).await {
            Ok(RetrievalStatus::Succeeded) => return,
            Ok(RetrievalStatus::InProgress) => {
                match store.retrieval_output(retrieval_id).await {
                    Err(ArchiveError::NotReady(_)) => {}
                    // It may have finished between the two calls.
                    Ok(_)
                        if matches!(
                            store.retrieval_status(retrieval_id).await,
                            Ok(RetrievalStatus::Succeeded)
                        ) =>
                    {
                        return
                    }
                    Err(e) => {
                        panic!("output of an unfinished retrieval: expected NotReady, got {e:?}")
                    }
                    Ok(_) => panic!("output of an unfinished retrieval was readable"),
                }
            }
            Ok(RetrievalStatus::Failed(why)) => panic!("retrieval {retrieval_id} failed: {why}"),
            Err(e) => panic!("retrieval_status {retrieval_id}: {e:?}"),
        }
        assert!(
            start.elapsed() < deadline,
            "retrieval {retrieval_id} not done after {deadline:?}"
        );
        tokio::time::sleep(
            (deadline / 50).clamp(Duration::from_millis(20), Duration::from_secs(5)),
        )
        .await;
    }
}

async fn archive_bytes(store: &dyn ArchiveStore, name: &str, body: &'static [u8]) -> String {
    store
        .archive(name, bytes_stream(body))
        .await
        .unwrap_or_else(|e| panic!("archive {name}: {e:?}"))
}

async fn start(
    store: &dyn ArchiveStore,
    archive_id: &str,
    tier: Tier,
    description: &str,
) -> String {
    store
        .start_retrieval(archive_id, tier, description)
        .await
        .unwrap_or_else(|e| panic!("start_retrieval of {archive_id} ({tier:?}): {e:?}"))
}

async fn output(store: &dyn ArchiveStore, retrieval_id: &str) -> Vec<u8> {
    let body = store
        .retrieval_output(retrieval_id)
        .await
        .unwrap_or_else(|e| panic!("retrieval_output {retrieval_id}: {e:?}"));
    collect(body).await.expect("reading retrieval output")
}

/// archive → start_retrieval → (NotReady while in progress) → Succeeded →
/// the output is the archived bytes.
pub async fn archive_round_trip(store: &dyn ArchiveStore, tier: Tier, deadline: Duration) {
    let name = unique("job");
    let body: &'static [u8] = b"#CHROM\tPOS\tID\n1\t100\trs1\n";
    let id = archive_bytes(store, &name, body).await;
    assert!(!id.is_empty(), "archive returned an empty id");
    let retrieval = start(store, &id, tier, &name).await;
    wait_for_retrieval(store, &retrieval, deadline).await;
    assert_eq!(
        output(store, &retrieval).await,
        body,
        "retrieved bytes differ"
    );
    // Reading twice works: the output stays until it expires.
    assert_eq!(output(store, &retrieval).await, body);
    store.delete(&id).await.expect("delete");
}

/// A multi-MiB archive streamed in chunks comes back intact.
pub async fn archive_large_round_trip(store: &dyn ArchiveStore, tier: Tier, deadline: Duration) {
    let name = unique("job");
    let id = store
        .archive(&name, patterned_stream(LARGE))
        .await
        .expect("archive of a large body");
    let retrieval = start(store, &id, tier, &name).await;
    wait_for_retrieval(store, &retrieval, deadline).await;
    let body = store
        .retrieval_output(&retrieval)
        .await
        .expect("retrieval_output");
    let (len, sha) = digest(body).await.expect("reading the large output");
    assert_eq!(len, LARGE, "large archive length");
    assert!(sha == patterned_digest(LARGE), "large archive bytes differ");
    store.delete(&id).await.expect("delete");
}

/// Deleting the archive after its retrieval started leaves the retrieval's
/// output readable (the restore path deletes the archive last, but a
/// duplicate delivery may race it).
pub async fn archive_retrieval_survives_delete(
    store: &dyn ArchiveStore,
    tier: Tier,
    deadline: Duration,
) {
    let name = unique("job");
    let body: &'static [u8] = b"survives the delete";
    let id = archive_bytes(store, &name, body).await;
    let retrieval = start(store, &id, tier, &name).await;
    wait_for_retrieval(store, &retrieval, deadline).await;
    store.delete(&id).await.expect("delete");
    assert_eq!(
        output(store, &retrieval).await,
        body,
        "a finished retrieval must stay readable after the archive is deleted"
    );
}

/// delete removes the archive; deleting again (or an id never made) works.
pub async fn archive_delete_idempotent(store: &dyn ArchiveStore) {
    let name = unique("job");
    let id = archive_bytes(store, &name, b"to be deleted").await;
    store.delete(&id).await.expect("delete");
    store.delete(&id).await.expect("second delete must succeed");
    match store.start_retrieval(&id, Tier::Standard, &name).await {
        Err(ArchiveError::NotFound(_)) => {}
        r => panic!("retrieval of a deleted archive: expected NotFound, got {r:?}"),
    }
}

/// Retrieving a missing archive is NotFound; an unknown retrieval id is
/// RetrievalNotFound.
pub async fn archive_missing(store: &dyn ArchiveStore) {
    // An id of the adapter's own form, for an archive that is gone.
    let id = archive_bytes(store, &unique("job"), b"gone").await;
    store.delete(&id).await.expect("delete");
    match store.start_retrieval(&id, Tier::Standard, "missing").await {
        Err(ArchiveError::NotFound(_)) => {}
        r => panic!("retrieval of a missing archive: expected NotFound, got {r:?}"),
    }
    let bogus = unique("retrieval");
    match store.retrieval_status(&bogus).await {
        Err(ArchiveError::RetrievalNotFound(_)) => {}
        r => panic!("status of an unknown retrieval: expected RetrievalNotFound, got {r:?}"),
    }
    match store.retrieval_output(&bogus).await {
        Err(ArchiveError::RetrievalNotFound(_)) => {}
        Err(e) => panic!("output of an unknown retrieval: expected RetrievalNotFound, got {e:?}"),
        Ok(_) => panic!("output of an unknown retrieval returned a body"),
    }
}

/// A body that fails mid-stream is ArchiveError::Body.
pub async fn archive_failed_body(store: &dyn ArchiveStore) {
    match store.archive(&unique("job"), failing_stream()).await {
        Err(ArchiveError::Body(_)) => {}
        r => panic!("archive with a failing body: expected Body, got {r:?}"),
    }
}

/// For adapters that derive the id from the name (directory, S3 storage
/// class; not the Glacier vault): archiving the same name again gives the
/// same id and replaces the bytes, so a retry after a crash duplicates
/// nothing.
pub async fn archive_same_name_same_id(store: &dyn ArchiveStore, tier: Tier, deadline: Duration) {
    let name = unique("job");
    let first = archive_bytes(store, &name, b"first attempt").await;
    let second = archive_bytes(store, &name, b"second attempt").await;
    assert_eq!(first, second, "archiving the same name twice gave two ids");
    let other = archive_bytes(store, &unique("job"), b"other").await;
    assert_ne!(first, other, "two names gave the same id");
    let retrieval = start(store, &first, tier, &name).await;
    wait_for_retrieval(store, &retrieval, deadline).await;
    assert_eq!(output(store, &retrieval).await, b"second attempt");
    store.delete(&first).await.expect("delete");
    store.delete(&other).await.expect("delete");
}
