//! The AWS adapters: the conformance suites against moto's server (the
//! endpoint in `GAS_TEST_AWS_ENDPOINT`, started by `scripts/moto.sh`), and,
//! with `aws-smithy-mocks`, what moto cannot show: Glacier multipart uploads
//! (moto has none), the error mappings of both cold stores (moto answers a
//! missing Glacier job or archive with a 500, and never refuses a tier).
//!
//! Without `GAS_TEST_AWS_ENDPOINT` the moto tests print a notice and pass,
//! unless `GAS_REQUIRE_AWS_TESTS=1`, which makes them fail.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use bytes::Bytes;
use gas_storage::conformance as suite;
use gas_storage::glacier::{provision_vault, GlacierSettings, GlacierVaultStore};
use gas_storage::s3::{provision_bucket, S3BlobStore};
use gas_storage::s3_class::S3ClassArchiveStore;
use gas_storage::treehash::tree_hash;
use gas_storage::{
    bytes_stream, collect, ArchiveError, ArchiveStore, BlobError, BlobStore, ByteStream,
    RetrievalStatus, Tier,
};

const MIB: usize = 1024 * 1024;
/// moto finishes Expedited Glacier jobs after about 2 s; S3 restores at once.
const DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- moto --

fn endpoint() -> Option<String> {
    gas_testkit::aws_endpoint("storage adapter tests")
}

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    gas_testkit::sdk_config(endpoint).await
}

async fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = sdk(endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

fn unique(what: &str) -> String {
    format!(
        "gas-test-{what}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn bucket(client: &aws_sdk_s3::Client) -> String {
    let name = unique("bucket");
    provision_bucket(client, &name).await.expect("provision");
    provision_bucket(client, &name)
        .await
        .expect("provision again (idempotent)");
    name
}

#[tokio::test]
async fn s3_blob_suite() {
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let store = S3BlobStore::new(client.clone(), bucket(&client).await);
    suite::blob_suite(&store).await;
}

/// The large body again with 5 MiB parts: a real multipart upload on moto.
#[tokio::test]
async fn s3_blob_multipart() {
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let store = S3BlobStore::new(client.clone(), bucket(&client).await).with_multipart(5 * MIB, 2);
    suite::blob_large_streamed(&store).await;
    suite::blob_overwrite(&store).await;
}

/// A body failing after several parts aborts the multipart upload: no
/// object, no upload left, the previous object intact.
#[tokio::test]
async fn s3_failed_multipart_leaves_nothing() {
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let bucket = bucket(&client).await;
    let store = S3BlobStore::new(client.clone(), &bucket).with_multipart(5 * MIB, 2);
    let key = "conformance/u/j~failing.vcf";
    store.put(key, bytes_stream("previous")).await.unwrap();
    match store.put(key, failing_after(12 * MIB)).await {
        Err(BlobError::Body(_)) => {}
        r => panic!("expected Body, got {r:?}"),
    }
    assert_eq!(
        collect(store.get(key).await.unwrap()).await.unwrap(),
        b"previous"
    );
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "a multipart upload was left: {uploads:?}"
    );
}

// ------------------------------------------------- checksums on reads --

/// What the code under test logs at WARN and above while this lives. Only
/// this thread's events: a `#[tokio::test]` runs its tasks on the test's
/// own thread, and other tests run on theirs.
struct Logs {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    fn capture() -> Self {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        let logs = Self {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        };
        tracing::warn!("log capture started");
        assert!(
            logs.text().contains("log capture started"),
            "the capture sees nothing"
        );
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }

    fn assert_no_part_level_warning(&self) {
        let text = self.text();
        assert!(
            !text.contains("part-level checksum"),
            "the SDK warned about a part-level checksum:\n{text}"
        );
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn crc32_base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(data).to_be_bytes())
}

/// The object's stored checksum as GetObject reports it: (type, CRC32).
/// (moto's HeadObject leaves the type out.)
async fn stored_checksum(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> (Option<aws_sdk_s3::types::ChecksumType>, Option<String>) {
    let head = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    (
        head.checksum_type().cloned(),
        head.checksum_crc32().map(str::to_string),
    )
}

/// A body of three 5 MiB parts goes up as a multipart upload with one
/// CRC32 of the whole object (FULL_OBJECT), which the SDK checks when the
/// object is read; the read logs no warning about part-level checksums.
#[tokio::test]
async fn s3_multipart_read_is_validated_quietly() {
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let bucket = bucket(&client).await;
    let store = S3BlobStore::new(client.clone(), &bucket).with_multipart(5 * MIB, 2);
    let data = patterned(2 * 5 * MIB + 12_345);
    let key = "results/u/j~multipart.vcf";
    let logs = Logs::capture();
    let size = store.put(key, chunked(data.clone(), 70_000)).await.unwrap();
    assert_eq!(size, data.len() as u64);
    let read = collect(store.get(key).await.unwrap()).await.unwrap();
    assert!(read == data, "the bytes read differ from those stored");
    logs.assert_no_part_level_warning();

    let e_tag = client
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap_or_default()
        .to_string();
    assert!(e_tag.ends_with("-3\""), "not a 3-part upload: {e_tag}");
    assert_eq!(
        stored_checksum(&client, &bucket, key).await,
        (
            Some(aws_sdk_s3::types::ChecksumType::FullObject),
            Some(crc32_base64(&data))
        ),
        "the object's checksum is not the CRC32 of the whole body"
    );
}

/// Objects stored before FULL_OBJECT checksums (multipart with a composite,
/// part-level CRC32) still read, without the SDK's warning.
#[tokio::test]
async fn s3_composite_checksum_read_is_quiet() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let bucket = bucket(&client).await;
    let key = "results/u/j~composite.vcf";
    let data = patterned(5 * MIB + 4321);
    let upload_id = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let mut parts = Vec::new();
    for (i, chunk) in data.chunks(5 * MIB).enumerate() {
        let number = i as i32 + 1;
        let out = client
            .upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(chunk.to_vec().into())
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (kind, crc32) = stored_checksum(&client, &bucket, key).await;
    assert_eq!(kind, Some(aws_sdk_s3::types::ChecksumType::Composite));
    assert!(
        crc32.as_deref().is_some_and(|c| c.ends_with("-2")),
        "not a composite checksum of 2 parts: {crc32:?}"
    );

    let store = S3BlobStore::new(client.clone(), &bucket);
    let logs = Logs::capture();
    let read = collect(store.get(key).await.unwrap()).await.unwrap();
    assert!(read == data, "the bytes read differ from those stored");
    logs.assert_no_part_level_warning();
}

/// A read whose bytes do not match the object's checksum fails. (moto
/// stores the CRC32 a PutObject names without checking it, which makes such
/// an object; it computes a multipart upload's FULL_OBJECT checksum itself,
/// so a multipart object cannot be made inconsistent there. The check on
/// read is the same: one CRC32 of the whole body.)
#[tokio::test]
async fn s3_corrupted_read_fails() {
    use aws_sdk_s3::types::ChecksumAlgorithm;
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let bucket = bucket(&client).await;
    let key = "results/u/j~corrupted.vcf";
    client
        .put_object()
        .bucket(&bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_crc32(crc32_base64(b"the bytes that were sent"))
        .body(b"the bytes that were stored".to_vec().into())
        .send()
        .await
        .unwrap();
    let store = S3BlobStore::new(client.clone(), &bucket);
    match collect(store.get(key).await.unwrap()).await {
        Err(e) => assert!(
            format!("{e:?}").to_lowercase().contains("checksum"),
            "not a checksum failure: {e:?}"
        ),
        Ok(bytes) => panic!(
            "a corrupted object was read: {:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

/// moto does not check presigned signatures: this shows the URL's form and
/// what it serves (bytes, Content-Disposition), not that S3 would accept it.
#[tokio::test]
async fn s3_presigned_get() {
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let store = S3BlobStore::new(client.clone(), bucket(&client).await);
    let key = "results/u/j~out.vcf";
    store
        .put(key, bytes_stream("##fileformat=VCFv4.2\n"))
        .await
        .unwrap();
    let url = store
        .download_url(key, Duration::from_secs(300), "out é.vcf")
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition:?}");
    assert!(
        disposition.contains("filename*=UTF-8''out%20%C3%A9.vcf"),
        "{disposition:?}"
    );
    assert_eq!(response.bytes().await.unwrap(), "##fileformat=VCFv4.2\n");
}

/// A browser-style upload with the presigned POST form. (moto checks the
/// policy's conditions only partly and not the signature; the signature is
/// tested against AWS's published example in the unit tests.)
#[tokio::test]
async fn s3_presigned_post() {
    let Some(endpoint) = endpoint() else { return };
    let client = s3(&endpoint).await;
    let sdk = sdk(&endpoint).await;
    let store = S3BlobStore::new(client.clone(), bucket(&client).await).with_presigned_post(
        sdk.credentials_provider().expect("credentials"),
        sdk.region().cloned().expect("region"),
    );
    let post = store
        .presigned_post("inputs/user-1/", 1024, Duration::from_secs(300), None)
        .await
        .unwrap();
    assert_eq!(post.fields["key"], "inputs/user-1/${filename}");
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in &post.fields {
        let value = if name == "key" {
            "inputs/user-1/job-1~in.vcf".to_string()
        } else {
            value.clone()
        };
        form = form.text(name.clone(), value);
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(b"#CHROM\tPOS\n1\t1\n".to_vec()).file_name("in.vcf"),
    );
    let response = reqwest::Client::new()
        .post(&post.url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "POST to {}: {}",
        post.url,
        response.status()
    );
    let stored = collect(store.get("inputs/user-1/job-1~in.vcf").await.unwrap())
        .await
        .unwrap();
    assert_eq!(stored, b"#CHROM\tPOS\n1\t1\n");
}

async fn class_store(class: aws_sdk_s3::types::StorageClass) -> Option<S3ClassArchiveStore> {
    let endpoint = endpoint()?;
    let client = s3(&endpoint).await;
    let store = S3ClassArchiveStore::new(client, unique("archive"), "archive/", class);
    store.provision().await.expect("provision");
    store
        .provision()
        .await
        .expect("provision again (idempotent)");
    Some(store)
}

#[tokio::test]
async fn s3_class_archive_suite() {
    let Some(store) = class_store(aws_sdk_s3::types::StorageClass::DeepArchive).await else {
        return;
    };
    suite::archive_suite(&store, Tier::Standard, DEADLINE).await;
    suite::archive_same_name_same_id(&store, Tier::Standard, DEADLINE).await;
}

#[tokio::test]
async fn s3_class_glacier_class() {
    let Some(store) = class_store(aws_sdk_s3::types::StorageClass::Glacier).await else {
        return;
    };
    suite::archive_round_trip(&store, Tier::Expedited, DEADLINE).await;
    suite::archive_retrieval_survives_delete(&store, Tier::Bulk, DEADLINE).await;
}

/// An archive uploaded in parts, retrieved, then deleted (its finished
/// retrieval copied aside): both reads return the bytes, without the SDK's
/// part-level checksum warning.
#[tokio::test]
async fn s3_class_multipart_retrieval_is_quiet() {
    let Some(store) = class_store(aws_sdk_s3::types::StorageClass::Glacier).await else {
        return;
    };
    let store = store.with_multipart(5 * MIB, 2);
    let data = patterned(5 * MIB + 777);
    let logs = Logs::capture();
    let id = store
        .archive("job-multipart", chunked(data.clone(), 65_536))
        .await
        .unwrap();
    let retrieval = store
        .start_retrieval(&id, Tier::Expedited, "job-multipart")
        .await
        .unwrap();
    suite::wait_for_retrieval(&store, &retrieval, DEADLINE).await;
    let read = collect(store.retrieval_output(&retrieval).await.unwrap())
        .await
        .unwrap();
    assert!(read == data, "retrieved bytes differ");
    store.delete(&id).await.unwrap();
    let kept = collect(store.retrieval_output(&retrieval).await.unwrap())
        .await
        .unwrap();
    assert!(
        kept == data,
        "bytes of the retrieval kept after delete differ"
    );
    logs.assert_no_part_level_warning();
}

/// Before a restore the object cannot be read: the retrieval is unknown,
/// not readable.
#[tokio::test]
async fn s3_class_unrestored_is_not_readable() {
    let Some(store) = class_store(aws_sdk_s3::types::StorageClass::DeepArchive).await else {
        return;
    };
    let id = store
        .archive("job-unrestored", bytes_stream("cold"))
        .await
        .unwrap();
    let retrieval = format!("Standard:{id}");
    match store.retrieval_status(&retrieval).await {
        Err(ArchiveError::RetrievalNotFound(_)) => {}
        r => panic!("status before any restore: {r:?}"),
    }
    store.delete(&id).await.unwrap();
}

/// What moto's Glacier can show: the single-upload path, retrievals
/// (Expedited done after about 2 s), failing bodies. moto cannot show the
/// rest of the suite: it answers a missing job or archive with a 500
/// instead of ResourceNotFoundException, accepts retrievals of deleted
/// archives, reads job output from the live archive (so it is lost when the
/// archive is deleted, unlike Glacier's 24 h output), and gives equal
/// bodies equal archive ids. Those mappings are tested with mocks below.
#[tokio::test]
async fn glacier_vault_on_moto() {
    let Some(endpoint) = endpoint() else { return };
    let client = aws_sdk_glacier::Client::new(&sdk(&endpoint).await);
    let vault = unique("vault");
    provision_vault(&client, &vault).await.expect("provision");
    provision_vault(&client, &vault)
        .await
        .expect("provision again");
    let store = GlacierVaultStore::new(client, vault, GlacierSettings::default());
    suite::archive_round_trip(&store, Tier::Expedited, DEADLINE).await;
    suite::archive_large_round_trip(&store, Tier::Expedited, DEADLINE).await;
    suite::archive_failed_body(&store).await;
}

// --------------------------------------------------------------- mocks --

fn patterned(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect()
}

fn chunked(data: Vec<u8>, chunk: usize) -> ByteStream {
    let chunks: Vec<io::Result<Bytes>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

/// `len` bytes, then a failure like a client going away.
fn failing_after(len: usize) -> ByteStream {
    let mut chunks: Vec<io::Result<Bytes>> = patterned(len)
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone")));
    Box::pin(futures::stream::iter(chunks))
}

/// What one UploadMultipartPart request carried on the wire.
#[derive(Debug, Clone)]
struct SentPart {
    content_range: String,
    tree_hash: String,
    content_length: usize,
}

/// Records the HTTP requests of part uploads, and how many operations were
/// running at once; holds each part request briefly so that parallel parts
/// overlap.
#[derive(Debug, Default)]
struct Recorder {
    parts: Mutex<Vec<SentPart>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

#[derive(Debug, Clone)]
struct RecordingInterceptor(Arc<Recorder>);

impl aws_sdk_glacier::config::Intercept for RecordingInterceptor {
    fn name(&self) -> &'static str {
        "RecordingInterceptor"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_glacier::config::interceptors::BeforeSerializationInterceptorContextRef<
            '_,
        >,
        _cfg: &mut aws_sdk_glacier::config::ConfigBag,
    ) -> Result<(), aws_sdk_glacier::error::BoxError> {
        let now = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(now, Ordering::SeqCst);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_glacier::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_sdk_glacier::config::RuntimeComponents,
        _cfg: &mut aws_sdk_glacier::config::ConfigBag,
    ) -> Result<(), aws_sdk_glacier::error::BoxError> {
        let request = context.request();
        if let Some(range) = request.headers().get("content-range") {
            self.0.parts.lock().unwrap().push(SentPart {
                content_range: range.to_string(),
                tree_hash: request
                    .headers()
                    .get("x-amz-sha256-tree-hash")
                    .unwrap_or_default()
                    .to_string(),
                content_length: request
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            });
            // A slow network: parts in parallel overlap here.
            std::thread::sleep(Duration::from_millis(40));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &aws_sdk_glacier::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _rc: &aws_sdk_glacier::config::RuntimeComponents,
        _cfg: &mut aws_sdk_glacier::config::ConfigBag,
    ) -> Result<(), aws_sdk_glacier::error::BoxError> {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

use aws_sdk_glacier::operation::abort_multipart_upload::AbortMultipartUploadOutput;
use aws_sdk_glacier::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
use aws_sdk_glacier::operation::initiate_multipart_upload::InitiateMultipartUploadOutput;
use aws_sdk_glacier::operation::upload_multipart_part::{
    UploadMultipartPartError, UploadMultipartPartOutput,
};
use aws_sdk_glacier::Client as Glacier;

fn small_parts(concurrency: usize) -> GlacierSettings {
    GlacierSettings {
        multipart_threshold: MIB,
        part_size: MIB,
        concurrency,
        sns_topic: None,
    }
}

/// A 3.5 MiB body in 1 MiB parts, two in flight: the parts' sizes, ranges
/// and tree hashes on the wire, the completion's size and whole tree hash,
/// and the concurrency bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn glacier_multipart_upload() {
    let data = patterned(3 * MIB + MIB / 2);
    let initiate = mock!(Glacier::initiate_multipart_upload)
        .match_requests(|r| {
            r.part_size() == Some("1048576") && r.archive_description() == Some("job-42")
        })
        .then_output(|| {
            InitiateMultipartUploadOutput::builder()
                .upload_id("upload-1")
                .build()
        });
    let part = mock!(Glacier::upload_multipart_part)
        .match_requests(|r| r.upload_id() == Some("upload-1"))
        .then_output(|| UploadMultipartPartOutput::builder().build());
    let completions: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = completions.clone();
    let complete = mock!(Glacier::complete_multipart_upload)
        .match_requests(move |r| {
            seen.lock().unwrap().push((
                r.archive_size().unwrap_or_default().to_string(),
                r.checksum().unwrap_or_default().to_string(),
            ));
            r.upload_id() == Some("upload-1")
        })
        .then_output(|| {
            CompleteMultipartUploadOutput::builder()
                .archive_id("archive-1")
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let interceptor = RecordingInterceptor(recorder.clone());
    let client = mock_client!(
        aws_sdk_glacier,
        RuleMode::MatchAny,
        &[&initiate, &part, &complete],
        |b| b.interceptor(interceptor.clone())
    );
    let store = GlacierVaultStore::try_new(client, "vault", small_parts(2)).unwrap();
    let id = store
        .archive("job-42", chunked(data.clone(), 100_000))
        .await
        .unwrap();
    assert_eq!(id, "archive-1");

    let mut parts = recorder.parts.lock().unwrap().clone();
    parts.sort_by_key(|p| {
        p.content_range
            .trim_start_matches("bytes ")
            .split('-')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
    });
    let expected: Vec<(String, usize, String)> = data
        .chunks(MIB)
        .enumerate()
        .map(|(i, c)| {
            let start = i * MIB;
            (
                format!("bytes {start}-{}/*", start + c.len() - 1),
                c.len(),
                hex::encode(tree_hash(c)),
            )
        })
        .collect();
    assert_eq!(parts.len(), 4, "{parts:?}");
    for (sent, (range, len, hash)) in parts.iter().zip(&expected) {
        assert_eq!(&sent.content_range, range);
        assert_eq!(sent.content_length, *len, "part size of {range}");
        assert_eq!(&sent.tree_hash, hash, "tree hash of {range}");
    }
    assert_eq!(
        completions.lock().unwrap().as_slice(),
        &[(data.len().to_string(), hex::encode(tree_hash(&data)))],
        "completion: archive size and whole tree hash"
    );
    let peak = recorder.peak.load(Ordering::SeqCst);
    assert_eq!(
        peak, 2,
        "parts in flight: at most (and here exactly) the concurrency"
    );
    assert_eq!(initiate.num_calls(), 1);
    assert_eq!(complete.num_calls(), 1);
}

fn abort_rule() -> aws_smithy_mocks::Rule {
    mock!(Glacier::abort_multipart_upload)
        .match_requests(|r| r.upload_id() == Some("upload-1"))
        .then_output(|| AbortMultipartUploadOutput::builder().build())
}

fn initiate_rule() -> aws_smithy_mocks::Rule {
    mock!(Glacier::initiate_multipart_upload).then_output(|| {
        InitiateMultipartUploadOutput::builder()
            .upload_id("upload-1")
            .build()
    })
}

fn complete_rule() -> aws_smithy_mocks::Rule {
    mock!(Glacier::complete_multipart_upload).then_output(|| {
        CompleteMultipartUploadOutput::builder()
            .archive_id("archive-1")
            .build()
    })
}

/// A part the service refuses aborts the upload and completes nothing.
#[tokio::test]
async fn glacier_failing_part_aborts() {
    let (initiate, abort, complete) = (initiate_rule(), abort_rule(), complete_rule());
    let part = mock!(Glacier::upload_multipart_part).then_compute_response(|r| {
        if r.range()
            .is_some_and(|range| range.starts_with("bytes 2097152-"))
        {
            MockResponse::Error(UploadMultipartPartError::InvalidParameterValueException(
                aws_sdk_glacier::types::error::InvalidParameterValueException::builder()
                    .message("bad part")
                    .build(),
            ))
        } else {
            MockResponse::Output(UploadMultipartPartOutput::builder().build())
        }
    });
    let client = mock_client!(
        aws_sdk_glacier,
        RuleMode::MatchAny,
        &[&initiate, &part, &abort, &complete]
    );
    let store = GlacierVaultStore::try_new(client, "vault", small_parts(2)).unwrap();
    match store
        .archive("job-1", chunked(patterned(5 * MIB), 65_536))
        .await
    {
        Err(ArchiveError::Backend(e)) => {
            assert!(e.to_string().contains("UploadMultipartPart"), "{e}")
        }
        r => panic!("expected a backend error, got {r:?}"),
    }
    assert_eq!(abort.num_calls(), 1, "the upload was not aborted");
    assert_eq!(complete.num_calls(), 0, "a failed upload was completed");
}

/// A body failing after the upload started aborts it too.
#[tokio::test]
async fn glacier_failing_body_aborts() {
    let (initiate, abort, complete) = (initiate_rule(), abort_rule(), complete_rule());
    let part = mock!(Glacier::upload_multipart_part)
        .then_output(|| UploadMultipartPartOutput::builder().build());
    let client = mock_client!(
        aws_sdk_glacier,
        RuleMode::MatchAny,
        &[&initiate, &part, &abort, &complete]
    );
    let store = GlacierVaultStore::try_new(client, "vault", small_parts(2)).unwrap();
    match store.archive("job-1", failing_after(3 * MIB + 5)).await {
        Err(ArchiveError::Body(_)) => {}
        r => panic!("expected Body, got {r:?}"),
    }
    assert_eq!(abort.num_calls(), 1);
    assert_eq!(complete.num_calls(), 0);
}

/// Below the threshold: one UploadArchive with the tree hash and the name
/// as description.
#[tokio::test]
async fn glacier_single_upload_headers() {
    use aws_sdk_glacier::operation::upload_archive::UploadArchiveOutput;
    let data = patterned(2 * MIB + 3);
    let expected = hex::encode(tree_hash(&data));
    let upload = mock!(Glacier::upload_archive)
        .match_requests(move |r| {
            r.checksum() == Some(expected.as_str()) && r.archive_description() == Some("job-%C3%A9")
        })
        .then_output(|| UploadArchiveOutput::builder().archive_id("a-1").build());
    let client = mock_client!(aws_sdk_glacier, RuleMode::MatchAny, &[&upload]);
    let store = GlacierVaultStore::new(client, "vault", GlacierSettings::default());
    let id = store.archive("job-é", chunked(data, 10_000)).await.unwrap();
    assert_eq!(id, "a-1");
    assert_eq!(upload.num_calls(), 1);
}

/// Retrieval: InitiateJob's parameters, the error mappings moto cannot
/// produce, DescribeJob states, GetJobOutput checked against its tree hash.
#[tokio::test]
async fn glacier_retrieval_mappings() {
    use aws_sdk_glacier::operation::delete_archive::{DeleteArchiveError, DeleteArchiveOutput};
    use aws_sdk_glacier::operation::describe_job::{DescribeJobError, DescribeJobOutput};
    use aws_sdk_glacier::operation::get_job_output::GetJobOutputOutput;
    use aws_sdk_glacier::operation::initiate_job::{InitiateJobError, InitiateJobOutput};
    use aws_sdk_glacier::types::error::{InsufficientCapacityException, ResourceNotFoundException};
    use aws_sdk_glacier::types::StatusCode;

    let initiate = mock!(Glacier::initiate_job).then_compute_response(|r| {
        let p = r.job_parameters().expect("job parameters");
        assert_eq!(p.r#type(), Some("archive-retrieval"));
        assert_eq!(p.description(), Some("job-7"));
        assert_eq!(p.sns_topic(), Some("arn:aws:sns:us-east-1:1:thaw"));
        match (p.archive_id(), p.tier()) {
            (Some("gone"), _) => MockResponse::Error(InitiateJobError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )),
            (_, Some("Expedited")) => {
                MockResponse::Error(InitiateJobError::InsufficientCapacityException(
                    InsufficientCapacityException::builder().build(),
                ))
            }
            _ => MockResponse::Output(InitiateJobOutput::builder().job_id("job-id-1").build()),
        }
    });
    let describe = mock!(Glacier::describe_job).then_compute_response(|r| {
        let out = DescribeJobOutput::builder();
        MockResponse::Output(match r.job_id() {
            Some("running") => out
                .completed(false)
                .status_code(StatusCode::InProgress)
                .build(),
            Some("failed") => out
                .completed(true)
                .status_code(StatusCode::Failed)
                .status_message("archive damaged")
                .build(),
            Some("done") => out
                .completed(true)
                .status_code(StatusCode::Succeeded)
                .build(),
            _ => {
                return MockResponse::Error(DescribeJobError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                ))
            }
        })
    });
    let output = mock!(Glacier::get_job_output).then_output(|| {
        GetJobOutputOutput::builder()
            .body(aws_sdk_glacier::primitives::ByteStream::from_static(
                b"thawed",
            ))
            .checksum(hex::encode(tree_hash(b"thawed")))
            .build()
    });
    let delete = mock!(Glacier::delete_archive).then_compute_response(|r| {
        if r.archive_id() == Some("gone") {
            MockResponse::Error(DeleteArchiveError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            ))
        } else {
            MockResponse::Output(DeleteArchiveOutput::builder().build())
        }
    });
    let client = mock_client!(
        aws_sdk_glacier,
        RuleMode::MatchAny,
        &[&initiate, &describe, &output, &delete]
    );
    let store = GlacierVaultStore::new(
        client,
        "vault",
        GlacierSettings {
            sns_topic: Some("arn:aws:sns:us-east-1:1:thaw".into()),
            ..GlacierSettings::default()
        },
    );
    match store.start_retrieval("a-1", Tier::Expedited, "job-7").await {
        Err(ArchiveError::InsufficientCapacity(Tier::Expedited)) => {}
        r => panic!("Expedited without capacity: {r:?}"),
    }
    assert_eq!(
        store
            .start_retrieval("a-1", Tier::Standard, "job-7")
            .await
            .unwrap(),
        "job-id-1"
    );
    match store.start_retrieval("gone", Tier::Standard, "job-7").await {
        Err(ArchiveError::NotFound(_)) => {}
        r => panic!("missing archive: {r:?}"),
    }
    assert_eq!(
        store.retrieval_status("running").await.unwrap(),
        RetrievalStatus::InProgress
    );
    assert_eq!(
        store.retrieval_status("failed").await.unwrap(),
        RetrievalStatus::Failed("archive damaged".into())
    );
    assert_eq!(
        store.retrieval_status("done").await.unwrap(),
        RetrievalStatus::Succeeded
    );
    match store.retrieval_status("bogus").await {
        Err(ArchiveError::RetrievalNotFound(_)) => {}
        r => panic!("unknown job: {r:?}"),
    }
    match store.retrieval_output("running").await {
        Err(ArchiveError::NotReady(_)) => {}
        Err(e) => panic!("output of a running job: {e:?}"),
        Ok(_) => panic!("output of a running job was readable"),
    }
    assert_eq!(
        output.num_calls(),
        0,
        "GetJobOutput called before completion"
    );
    let body = collect(store.retrieval_output("done").await.unwrap())
        .await
        .unwrap();
    assert_eq!(body, b"thawed");
    store
        .delete("gone")
        .await
        .expect("deleting a missing archive");
    store.delete("a-1").await.expect("delete");
}

/// S3 RestoreObject: Expedited refused for capacity, a restore already
/// running, and the restore header states.
#[tokio::test]
async fn s3_class_restore_mappings() {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::head_object::HeadObjectOutput;
    use aws_sdk_s3::operation::restore_object::{RestoreObjectError, RestoreObjectOutput};
    use aws_sdk_s3::types::StorageClass;
    use aws_sdk_s3::Client as S3;

    let restore = mock!(S3::restore_object).then_compute_response(|r| {
        let tier = r
            .restore_request()
            .and_then(|q| q.glacier_job_parameters())
            .map(|p| p.tier().as_str().to_string());
        assert_eq!(r.restore_request().and_then(|q| q.days()), Some(1));
        match (r.key(), tier.as_deref()) {
            (_, Some("Expedited")) => MockResponse::Error(RestoreObjectError::generic(
                ErrorMetadata::builder()
                    .code("GlacierExpeditedRetrievalNotAvailable")
                    .build(),
            )),
            (Some("archive/again"), _) => MockResponse::Error(RestoreObjectError::generic(
                ErrorMetadata::builder()
                    .code("RestoreAlreadyInProgress")
                    .build(),
            )),
            _ => MockResponse::Output(RestoreObjectOutput::builder().build()),
        }
    });
    let head = mock!(S3::head_object)
        .match_requests(|r| r.key() == Some("archive/job-1"))
        .then_output(|| {
            HeadObjectOutput::builder()
                .storage_class(StorageClass::DeepArchive)
                .restore("ongoing-request=\"true\"")
                .build()
        });
    let get = mock!(S3::get_object).then_output(|| GetObjectOutput::builder().build());
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&restore, &head, &get]);
    let store = S3ClassArchiveStore::new(client, "b", "archive/", StorageClass::DeepArchive);
    match store
        .start_retrieval("archive/job-1", Tier::Expedited, "job-1")
        .await
    {
        Err(ArchiveError::InsufficientCapacity(Tier::Expedited)) => {}
        r => panic!("Expedited without capacity: {r:?}"),
    }
    let id = store
        .start_retrieval("archive/job-1", Tier::Standard, "job-1")
        .await
        .unwrap();
    assert_eq!(id, "Standard:archive/job-1");
    store
        .start_retrieval("archive/again", Tier::Standard, "again")
        .await
        .expect("a restore already in progress is that retrieval");
    assert_eq!(
        store.retrieval_status(&id).await.unwrap(),
        RetrievalStatus::InProgress
    );
    match store.retrieval_output(&id).await {
        Err(ArchiveError::NotReady(_)) => {}
        Err(e) => panic!("output during the restore: {e:?}"),
        Ok(_) => panic!("output during the restore was readable"),
    }
    assert_eq!(get.num_calls(), 0);
    match store
        .start_retrieval("elsewhere/x", Tier::Standard, "x")
        .await
    {
        Err(ArchiveError::NotFound(_)) => {}
        r => panic!("an id not of this store: {r:?}"),
    }
}
