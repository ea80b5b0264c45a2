//! `gas refdata fetch` against a provider served from 127.0.0.1: a tiny
//! release (a gzip GFF3, a gzip FASTA of a few contigs, `CHECKSUMS` in the
//! `sum` format, `MD5SUMS`) laid out as Ensembl and GENCODE lay theirs
//! out, with `Range` support that can be switched off, a connection that
//! can be cut midway, and a HEAD that can claim a huge size. No test needs
//! the internet.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use gas::refdata::{bsd_sum, parse_checksums, Assembly, Checksum, ChecksumFormat, Layout, Source};
use gas_annotate::Reference;
use md5::Digest as _;
use sha2::Digest as _;

// ---------------------------------------------------------------------------
// The provider.

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    range: Option<String>,
}

#[derive(Default)]
struct Provider {
    files: Mutex<HashMap<String, Vec<u8>>>,
    log: Mutex<Vec<Request>>,
    /// Answer every GET with the whole file, as servers without range
    /// support do.
    ignore_range: AtomicBool,
    /// HEAD claims each file is 100 PB.
    huge_head: AtomicBool,
    /// The next GET of a path sends only this many bytes, then breaks the
    /// connection.
    cut: Mutex<HashMap<String, usize>>,
}

struct Server {
    url: String,
    provider: Arc<Provider>,
}

impl Server {
    fn start() -> Server {
        let provider = Arc::new(Provider::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::clone(&provider);
        // Its own runtime on its own thread: the tests block on the `gas`
        // process while the server answers it.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(serve).with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Server {
            url: format!("http://{addr}"),
            provider,
        }
    }

    fn put(&self, path: &str, bytes: Vec<u8>) {
        self.provider
            .files
            .lock()
            .unwrap()
            .insert(path.to_string(), bytes);
    }

    /// The path part of one of our URLs.
    fn path_of<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(&self.url).expect("a URL of this server")
    }

    fn requests(&self) -> Vec<Request> {
        self.provider.log.lock().unwrap().clone()
    }

    fn clear_log(&self) {
        self.provider.log.lock().unwrap().clear();
    }

    /// GETs of data files (not checksum lists).
    fn data_gets(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(".gz"))
            .collect()
    }
}

async fn serve(
    State(provider): State<Arc<Provider>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_string();
    let range = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    provider.log.lock().unwrap().push(Request {
        method: method.to_string(),
        path: path.clone(),
        range: range.clone(),
    });
    let Some(body) = provider.files.lock().unwrap().get(&path).cloned() else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let len = body.len();
    if method == Method::HEAD {
        let claimed = if provider.huge_head.load(Ordering::SeqCst) {
            100_000_000_000_000_000u64
        } else {
            len as u64
        };
        return Response::builder()
            .header(CONTENT_LENGTH, claimed)
            .body(Body::empty())
            .unwrap();
    }
    if let Some(keep) = provider.cut.lock().unwrap().remove(&path) {
        // Declare the whole file, send part of it, then fail the body (the
        // connection breaks). The pause lets the part reach the client.
        let items = vec![
            Ok(Bytes::copy_from_slice(&body[..keep])),
            Err(std::io::Error::other("cut")),
        ];
        let stream = futures::stream::iter(items).then(|item| async move {
            if item.is_err() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            item
        });
        return Response::builder()
            .header(CONTENT_LENGTH, len)
            .body(Body::from_stream(stream))
            .unwrap();
    }
    let start = range
        .as_deref()
        .filter(|_| !provider.ignore_range.load(Ordering::SeqCst))
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse::<usize>().ok());
    match start {
        Some(start) if start >= len => Response::builder()
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty())
            .unwrap(),
        Some(start) => Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(CONTENT_RANGE, format!("bytes {start}-{}/{len}", len - 1))
            .header(CONTENT_LENGTH, len - start)
            .body(Body::from(body[start..].to_vec()))
            .unwrap(),
        None => Response::builder()
            .header(CONTENT_LENGTH, len)
            .body(Body::from(body))
            .unwrap(),
    }
}

// ---------------------------------------------------------------------------
// The release.

/// Deterministic upper- and lower-case bases with some N.
fn bases(len: usize, seed: u32) -> Vec<u8> {
    let alphabet = b"ACGTACGTacgtN";
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            alphabet[(x % alphabet.len() as u32) as usize]
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// The genome: (name, sequence). Names as the provider writes them.
fn genome(chr: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("{chr}1"), bases(150_000, 1)),
        (format!("{chr}X"), bases(70_001, 2)),
        (
            if chr.is_empty() { "MT" } else { "chrM" }.to_string(),
            bases(16_569, 3),
        ),
    ]
}

/// FASTA text with 60 bases a line and Ensembl-like header lines.
fn fasta(genome: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut text = Vec::new();
    for (name, seq) in genome {
        text.extend_from_slice(
            format!(
                ">{name} dna:chromosome chromosome:GRCh38:{name}:1:{}:1 REF\n",
                seq.len()
            )
            .as_bytes(),
        );
        for line in seq.chunks(60) {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
    }
    text
}

fn gff3(chr: &str) -> Vec<u8> {
    gzip(
        format!(
            "##gff-version 3\n\
             {chr}1\tensembl_havana\tgene\t1000\t5000\t.\t+\t.\tID=gene:G1;Name=TEST1;biotype=protein_coding\n\
             {chr}1\tensembl_havana\tmRNA\t1000\t5000\t.\t+\t.\tID=transcript:T1;Parent=gene:G1\n\
             {chr}1\tensembl_havana\texon\t1000\t1200\t.\t+\t.\tParent=transcript:T1\n"
        )
        .as_bytes(),
    )
}

/// The BSD `sum` written out independently of the library's: rotate the
/// 16-bit sum right by one bit, add the byte.
fn sum_line(bytes: &[u8], name: &str) -> String {
    let mut sum: u32 = 0;
    for &b in bytes {
        sum = (sum >> 1) + ((sum & 1) << 15);
        sum = (sum + u32::from(b)) & 0xffff;
    }
    format!("{sum:05} {:5} {name}\n", bytes.len().div_ceil(1024))
}

fn md5_line(bytes: &[u8], name: &str) -> String {
    format!("{}  {name}\n", hex::encode(md5::Md5::digest(bytes)))
}

/// What the server holds for one release: the layout, the served bytes and
/// the FASTA text.
struct Release {
    layout: Layout,
    gff: Vec<u8>,
    fasta_gz: Vec<u8>,
    genome: Vec<(String, Vec<u8>)>,
}

/// Publishes a release on `server` laid out as `source` lays it out;
/// `wrong_gff_checksum` lists a wrong checksum for the GFF3.
fn publish(
    server: &Server,
    source: Source,
    assembly: Assembly,
    wrong_gff_checksum: bool,
) -> Release {
    let base = format!("{}/pub", server.url);
    let layout = Layout::new(source, assembly, None, Some(&base));
    let chr = if source == Source::Gencode { "chr" } else { "" };
    let genome = genome(chr);
    let gff = gff3(chr);
    let fasta_gz = gzip(&fasta(&genome));
    let listed_gff = if wrong_gff_checksum {
        let mut other = gff.clone();
        other[20] ^= 1;
        other
    } else {
        gff.clone()
    };
    let (t, r) = (&layout.transcripts, &layout.reference);
    server.put(server.path_of(&t.url), gff.clone());
    server.put(server.path_of(&r.url), fasta_gz.clone());
    match source {
        Source::Ensembl => {
            let readme = b"README text\n".to_vec();
            server.put(
                server.path_of(&t.checksums_url),
                format!(
                    "{}{}",
                    sum_line(&readme, "README"),
                    sum_line(&listed_gff, &t.name)
                )
                .into_bytes(),
            );
            server.put(
                server.path_of(&r.checksums_url),
                format!(
                    "{}{}",
                    sum_line(&fasta_gz, &r.name),
                    sum_line(&readme, "README")
                )
                .into_bytes(),
            );
        }
        Source::Gencode => {
            assert_eq!(t.checksums_url, r.checksums_url);
            server.put(
                server.path_of(&t.checksums_url),
                format!(
                    "{}{}{}",
                    md5_line(b"other", "gencode.vX.annotation.gtf.gz"),
                    md5_line(&listed_gff, &t.name),
                    md5_line(&fasta_gz, &r.name)
                )
                .into_bytes(),
            );
        }
    }
    Release {
        layout,
        gff,
        fasta_gz,
        genome,
    }
}

// ---------------------------------------------------------------------------
// Running `gas refdata fetch`.

fn fetch(server: &Server, dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(["refdata", "fetch"])
        .args(extra)
        .arg("--dir")
        .arg(dir)
        .arg("--base-url")
        .arg(format!("{}/pub", server.url))
        .args(["--threads", "2"])
        // The server is local: no proxy may stand in between.
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("GAS_CONFIG")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "gas failed:\n{}", stderr(output));
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The directory a test fetches into (absolute and canonical, as the
/// printed configuration names it).
fn target() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().canonicalize().unwrap().join("refdata");
    (temp, dir)
}

/// The files a complete fetch leaves, by name.
fn expected_names(layout: &Layout) -> Vec<String> {
    let bgzf = layout.reference_bgzf_name();
    let mut names = vec![
        layout.transcripts.name.clone(),
        bgzf.clone(),
        format!("{bgzf}.fai"),
        format!("{bgzf}.gzi"),
        format!("{bgzf}.source"),
    ];
    names.sort();
    names
}

/// The fetched genome reads back as the provider's, through
/// `gas_annotate::Reference` and, when installed, `samtools faidx`.
fn check_genome(dir: &Path, release: &Release) {
    let path = dir.join(release.layout.reference_bgzf_name());
    let reference = Reference::open(&path).unwrap();
    assert_eq!(reference.kind(), gas_annotate::fasta::ReferenceKind::Bgzf);
    let contigs: Vec<(String, u64)> = reference
        .contigs()
        .map(|(n, l)| (n.to_string(), l))
        .collect();
    let want: Vec<(String, u64)> = release
        .genome
        .iter()
        .map(|(n, s)| (n.clone(), s.len() as u64))
        .collect();
    assert_eq!(contigs, want);
    for (name, seq) in &release.genome {
        let upper = seq.to_ascii_uppercase();
        for start in [0, 59, 60, 12_345, seq.len() - 100] {
            let got = reference
                .fetch(name, start as u64, start as u64 + 100)
                .unwrap();
            assert_eq!(got, &upper[start..start + 100], "{name}:{start}");
        }
    }
    let samtools = Command::new("samtools").arg("--version").output();
    if !samtools.is_ok_and(|o| o.status.success()) {
        eprintln!("NOTICE: samtools not found (apt-get install samtools); skipping its check");
        return;
    }
    let (name, seq) = &release.genome[0];
    let output = Command::new("samtools")
        .arg("faidx")
        .arg(&path)
        .arg(format!("{name}:100001-100200"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let got: String = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('>'))
        .collect();
    assert_eq!(got.as_bytes(), &seq[100_000..100_200]);
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn fetches_verifies_indexes_prints_the_configuration_and_then_skips() {
    let server = Server::start();
    let release = publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh38"]);
    let stdout = succeeded(&output);
    let log = stderr(&output);

    assert_eq!(names_in(&dir), expected_names(&release.layout));
    let gff = dir.join("Homo_sapiens.GRCh38.113.gff3.gz");
    assert_eq!(std::fs::read(&gff).unwrap(), release.gff);
    check_genome(&dir, &release);

    // The configuration, in its three forms.
    let bgzf = dir.join("Homo_sapiens.GRCh38.dna.primary_assembly.fa.bgz");
    let (g, b) = (gff.display(), bgzf.display());
    for line in [
        format!("annotation_transcripts = [\"{g}\"]"),
        format!("annotation_reference = \"{b}\""),
        format!("GAS_ANNOTATION_TRANSCRIPTS={g}"),
        format!("GAS_ANNOTATION_REFERENCE={b}"),
        format!("gas annotate --transcripts {g} --reference {b} INPUT.vcf"),
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in:\n{stdout}");
    }
    // Sizes before starting, progress at the start and end of each
    // transfer (stderr is not a terminal), the SHA-256 of each download.
    assert!(log.contains("of disk needed"), "{log}");
    assert!(
        log.contains("downloading Homo_sapiens.GRCh38.113.gff3.gz: starting"),
        "{log}"
    );
    let sha = hex::encode(sha2::Sha256::digest(&release.fasta_gz));
    assert!(
        log.contains(&format!(
            "Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz: sha256 {sha}"
        )),
        "{log}"
    );
    assert!(!log.contains('\r'), "redraws on a non-terminal:\n{log}");
    let gets = server.data_gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(gets.iter().all(|r| r.range.is_none()), "{gets:?}");

    // Again: nothing is downloaded, the same configuration is printed.
    server.clear_log();
    let again = fetch(&server, &dir, &["grch38"]);
    assert_eq!(succeeded(&again), stdout);
    assert_eq!(server.data_gets().len(), 0, "{:?}", server.requests());
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.method == "GET" && r.path.ends_with("/CHECKSUMS")),
        "{:?}",
        server.requests()
    );
    assert!(
        stderr(&again).contains("present and verified"),
        "{}",
        stderr(&again)
    );
    assert_eq!(names_in(&dir), expected_names(&release.layout));
}

#[test]
fn an_interrupted_download_continues_with_a_range_request() {
    let server = Server::start();
    let release = publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    let (_temp, dir) = target();
    std::fs::create_dir_all(&dir).unwrap();
    let keep = release.fasta_gz.len() / 3;
    std::fs::write(
        dir.join("Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz.part"),
        &release.fasta_gz[..keep],
    )
    .unwrap();
    succeeded(&fetch(&server, &dir, &["GRCh38"]));
    let gets = server.data_gets();
    let fasta_get = gets
        .iter()
        .find(|r| r.path.ends_with(".fa.gz"))
        .expect("the FASTA was requested");
    assert_eq!(fasta_get.range.as_deref(), Some(&*format!("bytes={keep}-")));
    assert_eq!(names_in(&dir), expected_names(&release.layout));
    check_genome(&dir, &release);
}

#[test]
fn a_server_ignoring_range_starts_the_download_over() {
    let server = Server::start();
    let release = publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    server.provider.ignore_range.store(true, Ordering::SeqCst);
    let (_temp, dir) = target();
    std::fs::create_dir_all(&dir).unwrap();
    // Bytes that are not the file's: appended to, the result would fail
    // its checksum.
    std::fs::write(
        dir.join("Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz.part"),
        vec![b'x'; 1000],
    )
    .unwrap();
    let output = fetch(&server, &dir, &["GRCh38"]);
    succeeded(&output);
    assert!(
        stderr(&output).contains("ignored the Range request); starting over"),
        "{}",
        stderr(&output)
    );
    assert_eq!(names_in(&dir), expected_names(&release.layout));
    check_genome(&dir, &release);
}

#[test]
fn a_connection_broken_midway_is_continued_in_the_same_run() {
    let server = Server::start();
    let release = publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    let fasta_path = server.path_of(&release.layout.reference.url).to_string();
    let keep = release.fasta_gz.len() / 2;
    server.provider.cut.lock().unwrap().insert(fasta_path, keep);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh38"]);
    succeeded(&output);
    assert!(
        stderr(&output).contains("trying again"),
        "{}",
        stderr(&output)
    );
    let fasta_gets: Vec<Request> = server
        .data_gets()
        .into_iter()
        .filter(|r| r.path.ends_with(".fa.gz"))
        .collect();
    assert_eq!(fasta_gets.len(), 2, "{fasta_gets:?}");
    assert_eq!(
        fasta_gets[1].range.as_deref(),
        Some(&*format!("bytes={keep}-"))
    );
    check_genome(&dir, &release);
}

#[test]
fn a_checksum_mismatch_deletes_the_download_and_names_the_file() {
    let server = Server::start();
    publish(&server, Source::Ensembl, Assembly::GRCh38, true);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh38"]);
    assert!(!output.status.success());
    let log = stderr(&output);
    assert!(
        log.contains("Homo_sapiens.GRCh38.113.gff3.gz: checksum mismatch"),
        "{log}"
    );
    assert!(log.contains("CHECKSUMS lists sum "), "{log}");
    assert!(
        !names_in(&dir).iter().any(|n| n.contains("gff3")),
        "{:?}",
        names_in(&dir)
    );
}

#[test]
fn a_release_the_provider_does_not_have_is_a_clear_error() {
    let server = Server::start();
    publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh38", "--release", "999"]);
    assert!(!output.status.success());
    let log = stderr(&output);
    assert!(
        log.contains(&format!(
            "GET {}/pub/release-999/gff3/homo_sapiens/CHECKSUMS: HTTP 404 Not Found",
            server.url
        )),
        "{log}"
    );
    assert!(log.contains("check --release"), "{log}");
    // A checksum list that does not name the file.
    let server = Server::start();
    let release = publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    server.put(
        server.path_of(&release.layout.reference.checksums_url),
        b"12345 6 README\n".to_vec(),
    );
    let output = fetch(&server, &dir, &["GRCh38"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output)
            .contains("CHECKSUMS does not list Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn too_little_disk_space_is_refused_before_downloading() {
    let server = Server::start();
    publish(&server, Source::Ensembl, Assembly::GRCh38, false);
    server.provider.huge_head.store(true, Ordering::SeqCst);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh38"]);
    assert!(!output.status.success());
    let log = stderr(&output);
    assert!(log.contains("not enough disk space in"), "{log}");
    assert!(log.contains("PB needed"), "{log}");
    assert_eq!(server.data_gets().len(), 0);
}

#[test]
fn gencode_grch37_is_fetched_with_md5sums() {
    let server = Server::start();
    let release = publish(&server, Source::Gencode, Assembly::GRCh37, false);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh37", "--source", "gencode"]);
    let stdout = succeeded(&output);
    assert_eq!(
        release.layout.transcripts.url,
        format!(
            "{}/pub/release_47/GRCh37_mapping/gencode.v47lift37.annotation.gff3.gz",
            server.url
        )
    );
    assert_eq!(names_in(&dir), expected_names(&release.layout));
    check_genome(&dir, &release);
    let bgzf = dir.join("GRCh37.primary_assembly.genome.fa.bgz");
    assert!(
        stdout.contains(&format!("annotation_reference = \"{}\"", bgzf.display())),
        "{stdout}"
    );
    let source =
        std::fs::read_to_string(dir.join("GRCh37.primary_assembly.genome.fa.bgz.source")).unwrap();
    let md5 = hex::encode(md5::Md5::digest(&release.fasta_gz));
    assert!(
        source.lines().any(|l| l == format!("md5 {md5}")),
        "{source}"
    );
    // A wrong MD5 fails as a wrong sum does.
    let server = Server::start();
    publish(&server, Source::Gencode, Assembly::GRCh37, true);
    let (_temp, dir) = target();
    let output = fetch(&server, &dir, &["GRCh37", "--source", "gencode"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("gencode.v47lift37.annotation.gff3.gz: checksum mismatch"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn layouts_name_the_providers_files() {
    let cases = [
        (
            Source::Ensembl,
            Assembly::GRCh38,
            "https://ftp.ensembl.org/pub/release-113/gff3/homo_sapiens/Homo_sapiens.GRCh38.113.gff3.gz",
            "https://ftp.ensembl.org/pub/release-113/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz",
            "https://ftp.ensembl.org/pub/release-113/gff3/homo_sapiens/CHECKSUMS",
        ),
        (
            Source::Ensembl,
            Assembly::GRCh37,
            "https://ftp.ensembl.org/pub/grch37/release-113/gff3/homo_sapiens/Homo_sapiens.GRCh37.87.gff3.gz",
            "https://ftp.ensembl.org/pub/grch37/release-113/fasta/homo_sapiens/dna/Homo_sapiens.GRCh37.dna.primary_assembly.fa.gz",
            "https://ftp.ensembl.org/pub/grch37/release-113/gff3/homo_sapiens/CHECKSUMS",
        ),
        (
            Source::Gencode,
            Assembly::GRCh38,
            "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human/release_47/gencode.v47.annotation.gff3.gz",
            "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human/release_47/GRCh38.primary_assembly.genome.fa.gz",
            "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human/release_47/MD5SUMS",
        ),
        (
            Source::Gencode,
            Assembly::GRCh37,
            "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human/release_47/GRCh37_mapping/gencode.v47lift37.annotation.gff3.gz",
            "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human/release_47/GRCh37_mapping/GRCh37.primary_assembly.genome.fa.gz",
            "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human/release_47/GRCh37_mapping/MD5SUMS",
        ),
    ];
    for (source, assembly, gff, fasta, checksums) in cases {
        let layout = Layout::new(source, assembly, None, None);
        assert_eq!(layout.transcripts.url, gff);
        assert_eq!(layout.reference.url, fasta);
        assert_eq!(layout.transcripts.checksums_url, checksums);
    }
    let layout = Layout::new(
        Source::Ensembl,
        Assembly::GRCh38,
        Some(110),
        Some("http://mirror/x/"),
    );
    assert_eq!(
        layout.transcripts.url,
        "http://mirror/x/release-110/gff3/homo_sapiens/Homo_sapiens.GRCh38.110.gff3.gz"
    );
    assert_eq!(
        layout.reference_bgzf_name(),
        "Homo_sapiens.GRCh38.dna.primary_assembly.fa.bgz"
    );
}

#[test]
fn checksum_lists_parse() {
    let sums = parse_checksums(
        "07251 53567 Homo_sapiens.GRCh38.113.gff3.gz\n\
         \n\
         not a checksum line\n\
         00042     1 README\n",
        ChecksumFormat::BsdSum,
    );
    assert_eq!(
        sums["Homo_sapiens.GRCh38.113.gff3.gz"],
        Checksum::BsdSum {
            sum: 7251,
            blocks: 53567
        }
    );
    assert_eq!(sums["README"], Checksum::BsdSum { sum: 42, blocks: 1 });
    assert_eq!(sums.len(), 2);
    let md5s = parse_checksums(
        "0123456789ABCDEF0123456789abcdef  gencode.v47.annotation.gff3.gz\n\
         fedcba9876543210fedcba9876543210 *GRCh38.primary_assembly.genome.fa.gz\n\
         tooshort  x\n",
        ChecksumFormat::Md5,
    );
    assert_eq!(
        md5s["gencode.v47.annotation.gff3.gz"],
        Checksum::Md5("0123456789abcdef0123456789abcdef".into())
    );
    assert_eq!(
        md5s["GRCh38.primary_assembly.genome.fa.gz"],
        Checksum::Md5("fedcba9876543210fedcba9876543210".into())
    );
    assert_eq!(md5s.len(), 2);
}

/// The BSD checksum agrees with coreutils' `sum` (whose default is the BSD
/// algorithm with 1 KiB blocks) on files of awkward sizes.
#[test]
fn bsd_sum_matches_the_sum_command() {
    if !Command::new("sum")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("NOTICE: the sum command is not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut random = bases(300_000, 9);
    for (i, b) in random.iter_mut().enumerate() {
        *b = b.wrapping_mul(i as u8 | 1);
    }
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one", vec![0xff]),
        ("block", vec![b'a'; 1024]),
        ("block-and-one", vec![b'a'; 1025]),
        ("random", random),
        ("gzip", gzip(&bases(100_000, 4))),
    ];
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let output = Command::new("sum").arg(&path).output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let want = Checksum::BsdSum {
            sum: fields[0].parse().unwrap(),
            blocks: fields[1].parse().unwrap(),
        };
        let mut file = std::fs::File::open(&path).unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(bsd_sum(&back[..]).unwrap(), want, "{name}: sum says {text}");
    }
}
