//! `gas refdata fetch`: downloads the reference data consequence
//! annotation needs (a provider's GFF3 transcript models and its genome
//! sequence for one assembly), checks them against the checksums the
//! provider publishes beside them, and prepares the genome for random
//! access.
//!
//! # Providers
//! - **Ensembl** (the default): `Homo_sapiens.GRCh38.<release>.gff3.gz` and
//!   `Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz` under
//!   `pub/release-<release>/`. GRCh37 lives under `pub/grch37/release-<release>/`,
//!   whose gene models were frozen at release 87
//!   (`Homo_sapiens.GRCh37.87.gff3.gz`) whatever the release directory.
//!   Each directory has a `CHECKSUMS` file in the format of the Unix `sum`
//!   command (see [`bsd_sum`]).
//! - **GENCODE**: `gencode.v<release>.annotation.gff3.gz` and
//!   `GRCh38.primary_assembly.genome.fa.gz` under `release_<release>/`; for
//!   GRCh37 the mapped files under `release_<release>/GRCh37_mapping/`
//!   (`gencode.v<release>lift37.annotation.gff3.gz`,
//!   `GRCh37.primary_assembly.genome.fa.gz`). Each directory has an
//!   `MD5SUMS` file (`md5sum` format).
//!
//! # What ends up in the directory
//! - The GFF3, as published (gzip; the annotator reads it whole).
//! - The genome as BGZF (`<name>.fa.bgz`) with its samtools `.fai` and
//!   `.gzi` indexes: providers publish plain gzip, which cannot be read at
//!   random. The plain gzip download is deleted once the BGZF is complete.
//!   `<name>.fa.bgz.source` records the checksum of the download it was
//!   made from, so a second run knows it is current without the download.
//!
//! # Downloads
//! Each file is downloaded to `<name>.part` and renamed once complete and
//! verified. An interrupted download is continued with an HTTP `Range`
//! request (by a later run, or by the up to [`ATTEMPTS`] attempts of one
//! run); a server that answers with the whole file instead starts it over.
//! Verified files are not downloaded again. A checksum mismatch deletes the
//! download and fails naming the file.
//!
//! The checks: Ensembl's `sum` checksum is a 16-bit rotating sum, which
//! catches truncation and accidental damage but nothing deliberate; MD5 is
//! stronger but broken for tampering. Both come over the same HTTPS
//! connection as the data. The SHA-256 of each download is printed (and
//! kept in the `.source` file) so that an operator can pin the files they
//! deploy.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use md5::Digest as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use sha2::Digest as _;
use tokio::io::AsyncWriteExt;

/// Where Ensembl publishes its releases.
pub const ENSEMBL_BASE_URL: &str = "https://ftp.ensembl.org/pub";
/// Where GENCODE publishes its human releases.
pub const GENCODE_BASE_URL: &str = "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human";
/// The Ensembl release fetched by default (October 2024).
pub const DEFAULT_ENSEMBL_RELEASE: u32 = 113;
/// The GENCODE release fetched by default: 47, the gene set of Ensembl 113.
pub const DEFAULT_GENCODE_RELEASE: u32 = 47;
/// The Ensembl release whose gene models every GRCh37 release directory
/// carries (GRCh37 annotation was frozen there).
pub const ENSEMBL_GRCH37_GENE_MODELS: u32 = 87;
/// Attempts at one download before giving up (each continues the last).
pub const ATTEMPTS: u32 = 3;

/// How much larger the BGZF genome is than the provider's gzip, at most
/// (BGZF compresses each 64 KiB on its own, at zlib's default level).
const BGZF_GROWTH: f64 = 1.15;
/// The fastest the progress line is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

/// `gas refdata ...`
#[derive(Debug, Subcommand)]
pub enum RefdataCommand {
    /// Download an Ensembl or GENCODE release's transcript models (GFF3) and
    /// genome sequence for an assembly, verify them against the provider's
    /// checksums, index the genome, and print the configuration to use
    /// them. Running it again continues or skips what is already there.
    Fetch(FetchArgs),
}

/// The arguments of `gas refdata fetch`.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// The genome assembly.
    #[arg(value_enum, ignore_case = true)]
    pub assembly: Assembly,
    /// The directory to put the files in (created if missing; default:
    /// `refdata` in the data directory, `--data-dir`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Whose release to fetch.
    #[arg(long, value_enum, default_value_t = Source::Ensembl)]
    pub source: Source,
    /// The release number (default: Ensembl 113, GENCODE 47: the same
    /// genes).
    #[arg(long, value_name = "N")]
    pub release: Option<u32>,
    /// The provider's base URL, instead of its public site (a mirror, or a
    /// test server): what stands for `https://ftp.ensembl.org/pub` (Ensembl)
    /// or `https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human`
    /// (GENCODE).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Threads compressing the genome (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// A human genome assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Assembly {
    #[value(name = "GRCh38")]
    GRCh38,
    #[value(name = "GRCh37")]
    GRCh37,
}

impl fmt::Display for Assembly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Assembly::GRCh38 => "GRCh38",
            Assembly::GRCh37 => "GRCh37",
        })
    }
}

/// A provider of transcript models and genome sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    Ensembl,
    Gencode,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Ensembl => "Ensembl",
            Source::Gencode => "GENCODE",
        })
    }
}

/// How a provider's checksum file lists its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumFormat {
    /// `<sum> <1 KiB blocks> <name>`, as the Unix `sum` command prints
    /// (Ensembl's `CHECKSUMS`).
    BsdSum,
    /// `<md5 hex>  <name>`, as `md5sum` prints (GENCODE's `MD5SUMS`).
    Md5,
}

/// A file a provider publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Its file name (also its name in the local directory).
    pub name: String,
    pub url: String,
    /// The checksum file of its directory.
    pub checksums_url: String,
    pub format: ChecksumFormat,
}

/// The two files of a release for one assembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub source: Source,
    pub assembly: Assembly,
    pub release: u32,
    /// The GFF3 transcript models (gzip).
    pub transcripts: RemoteFile,
    /// The primary-assembly genome sequence (gzip FASTA).
    pub reference: RemoteFile,
}

impl Layout {
    /// Where `source` publishes `release` (its default when `None`) for
    /// `assembly`, under `base_url` (its public site when `None`).
    pub fn new(
        source: Source,
        assembly: Assembly,
        release: Option<u32>,
        base_url: Option<&str>,
    ) -> Layout {
        let file = |dir: &str, name: String, checksums: &str, format| RemoteFile {
            url: format!("{dir}/{name}"),
            checksums_url: format!("{dir}/{checksums}"),
            name,
            format,
        };
        match source {
            Source::Ensembl => {
                let release = release.unwrap_or(DEFAULT_ENSEMBL_RELEASE);
                let base = base_url.unwrap_or(ENSEMBL_BASE_URL).trim_end_matches('/');
                let (root, gff) = match assembly {
                    Assembly::GRCh38 => (
                        format!("{base}/release-{release}"),
                        format!("Homo_sapiens.GRCh38.{release}.gff3.gz"),
                    ),
                    Assembly::GRCh37 => (
                        format!("{base}/grch37/release-{release}"),
                        format!("Homo_sapiens.GRCh37.{ENSEMBL_GRCH37_GENE_MODELS}.gff3.gz"),
                    ),
                };
                let format = ChecksumFormat::BsdSum;
                Layout {
                    source,
                    assembly,
                    release,
                    transcripts: file(
                        &format!("{root}/gff3/homo_sapiens"),
                        gff,
                        "CHECKSUMS",
                        format,
                    ),
                    reference: file(
                        &format!("{root}/fasta/homo_sapiens/dna"),
                        format!("Homo_sapiens.{assembly}.dna.primary_assembly.fa.gz"),
                        "CHECKSUMS",
                        format,
                    ),
                }
            }
            Source::Gencode => {
                let release = release.unwrap_or(DEFAULT_GENCODE_RELEASE);
                let base = base_url.unwrap_or(GENCODE_BASE_URL).trim_end_matches('/');
                let (dir, gff) = match assembly {
                    Assembly::GRCh38 => (
                        format!("{base}/release_{release}"),
                        format!("gencode.v{release}.annotation.gff3.gz"),
                    ),
                    Assembly::GRCh37 => (
                        format!("{base}/release_{release}/GRCh37_mapping"),
                        format!("gencode.v{release}lift37.annotation.gff3.gz"),
                    ),
                };
                let format = ChecksumFormat::Md5;
                Layout {
                    source,
                    assembly,
                    release,
                    transcripts: file(&dir, gff, "MD5SUMS", format),
                    reference: file(
                        &dir,
                        format!("{assembly}.primary_assembly.genome.fa.gz"),
                        "MD5SUMS",
                        format,
                    ),
                }
            }
        }
    }

    /// The local name of the BGZF genome: the download's, `.fa.gz` made
    /// `.fa.bgz`.
    pub fn reference_bgzf_name(&self) -> String {
        let name = &self.reference.name;
        format!("{}.bgz", name.strip_suffix(".gz").unwrap_or(name))
    }
}

/// A checksum as a provider lists it, or as computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// The BSD `sum` checksum and the size in 1 KiB blocks (rounded up).
    BsdSum { sum: u16, blocks: u64 },
    /// The MD5 digest, lower-case hex.
    Md5(String),
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksum::BsdSum { sum, blocks } => write!(f, "sum {sum:05} {blocks}"),
            Checksum::Md5(hex) => write!(f, "md5 {hex}"),
        }
    }
}

/// The BSD checksum of the Unix `sum` command (its default algorithm, `sum
/// -r`), as Ensembl's `CHECKSUMS` files list it: a 16-bit checksum rotated
/// right by one bit before each byte is added, and the size in 1 KiB
/// blocks, rounded up. It detects truncation and accidental damage, not
/// deliberate changes.
#[derive(Debug, Clone, Default)]
pub struct BsdSum {
    sum: u16,
    bytes: u64,
}

impl BsdSum {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        let mut sum = self.sum;
        for &byte in data {
            sum = sum.rotate_right(1).wrapping_add(u16::from(byte));
        }
        self.sum = sum;
        self.bytes += data.len() as u64;
    }

    pub fn finish(&self) -> Checksum {
        Checksum::BsdSum {
            sum: self.sum,
            blocks: self.bytes.div_ceil(1024),
        }
    }
}

/// The BSD `sum` of everything `input` yields (see [`BsdSum`]).
pub fn bsd_sum(mut input: impl Read) -> io::Result<Checksum> {
    let mut sum = BsdSum::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        match input.read(&mut buf) {
            Ok(0) => return Ok(sum.finish()),
            Ok(n) => sum.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Parses a checksum file in `format`: file name to checksum. Lines that
/// are not in the format are skipped (a file missing from the result is
/// reported by the caller, naming it).
pub fn parse_checksums(text: &str, format: ChecksumFormat) -> HashMap<String, Checksum> {
    let mut listed = HashMap::new();
    for line in text.lines() {
        let entry = match format {
            ChecksumFormat::BsdSum => {
                let fields: Vec<&str> = line.split_whitespace().collect();
                match fields[..] {
                    [sum, blocks, name] => sum
                        .parse()
                        .ok()
                        .zip(blocks.parse().ok())
                        .map(|(sum, blocks)| (name, Checksum::BsdSum { sum, blocks })),
                    _ => None,
                }
            }
            ChecksumFormat::Md5 => line
                .split_once(char::is_whitespace)
                .and_then(|(hex, name)| {
                    let name = name.trim();
                    // `md5sum -b` marks binary files with `*`.
                    let name = name.strip_prefix('*').unwrap_or(name);
                    (hex.len() == 32
                        && hex.bytes().all(|b| b.is_ascii_hexdigit())
                        && !name.is_empty())
                    .then(|| (name, Checksum::Md5(hex.to_ascii_lowercase())))
                }),
        };
        if let Some((name, checksum)) = entry {
            listed.insert(name.to_string(), checksum);
        }
    }
    listed
}

/// A file's checksum in `format` and its SHA-256 (hex), in one read.
fn checksum_file(path: &Path, format: ChecksumFormat) -> io::Result<(Checksum, String)> {
    let mut file = File::open(path)?;
    let mut sha = sha2::Sha256::new();
    let mut bsd = BsdSum::new();
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha.update(&buf[..n]);
        match format {
            ChecksumFormat::BsdSum => bsd.update(&buf[..n]),
            ChecksumFormat::Md5 => md5.update(&buf[..n]),
        }
    }
    let checksum = match format {
        ChecksumFormat::BsdSum => bsd.finish(),
        ChecksumFormat::Md5 => Checksum::Md5(hex::encode(md5.finalize())),
    };
    Ok((checksum, hex::encode(sha.finalize())))
}

/// What `fetch` left in the directory.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub layout: Layout,
    /// The directory, absolute.
    pub dir: PathBuf,
    /// The GFF3 transcript models.
    pub transcripts: PathBuf,
    /// The BGZF genome (with `.fai` and `.gzi` beside it).
    pub reference: PathBuf,
    /// Bytes downloaded by this run.
    pub downloaded: u64,
}

impl Fetched {
    /// The configuration that uses these files: the TOML keys, the
    /// environment variables, and the `gas annotate` options.
    pub fn config_text(&self) -> String {
        let transcripts = self.transcripts.to_string_lossy();
        let reference = self.reference.to_string_lossy();
        format!(
            "{source} {assembly} (release {release}) is ready in {dir}.\n\
             \n\
             In the GAS configuration file:\n\
             annotation_transcripts = [{t_toml}]\n\
             annotation_reference = {r_toml}\n\
             \n\
             or in the environment:\n\
             GAS_ANNOTATION_TRANSCRIPTS={t_env}\n\
             GAS_ANNOTATION_REFERENCE={r_env}\n\
             \n\
             or for one file:\n\
             gas annotate --transcripts {t_env} --reference {r_env} INPUT.vcf\n",
            source = self.layout.source,
            assembly = self.layout.assembly,
            release = self.layout.release,
            dir = self.dir.display(),
            t_toml = toml_string(&transcripts),
            r_toml = toml_string(&reference),
            t_env = shell_word(&transcripts),
            r_env = shell_word(&reference),
        )
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as one shell word: as it is when that is safe, else single-quoted.
fn shell_word(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Runs `gas refdata`; `data_dir` holds the default directory.
pub async fn run(command: RefdataCommand, data_dir: &Path) -> Result<()> {
    match command {
        RefdataCommand::Fetch(args) => {
            let dir = args.dir.clone().unwrap_or_else(|| data_dir.join("refdata"));
            let fetched = fetch(&args, &dir).await?;
            print!("{}", fetched.config_text());
            Ok(())
        }
    }
}

/// Where the genome stands in the directory.
#[derive(Debug)]
enum Genome {
    /// The BGZF and its indexes are there, made from a download with the
    /// listed checksum.
    Ready,
    /// The verified download is there, not yet converted.
    Downloaded { sha256: String },
    /// It has to be downloaded.
    Missing,
}

/// Downloads, verifies and indexes what `args` names into `dir` (see the
/// module documentation); progress and notes go to standard error.
///
/// # Errors
/// A provider's file that cannot be fetched (naming its URL and the HTTP
/// status), a checksum mismatch (naming the file), too little free space,
/// a FASTA that cannot be indexed, I/O errors.
pub async fn fetch(args: &FetchArgs, dir: &Path) -> Result<Fetched> {
    let layout = Layout::new(
        args.source,
        args.assembly,
        args.release,
        args.base_url.as_deref(),
    );
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let client = reqwest::Client::builder()
        .user_agent(concat!("gas-refdata/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // A stalled transfer fails (and is resumed) rather than hanging.
        .read_timeout(Duration::from_secs(60))
        .build()
        .context("creating the HTTP client")?;
    eprintln!(
        "{} {} release {} into {}",
        layout.source,
        layout.assembly,
        layout.release,
        dir.display()
    );

    // The providers' checksums for both files (one list per directory).
    let mut lists: HashMap<String, HashMap<String, Checksum>> = HashMap::new();
    let mut expected = Vec::new();
    for file in [&layout.transcripts, &layout.reference] {
        if !lists.contains_key(&file.checksums_url) {
            let text = get_text(&client, &file.checksums_url).await?;
            lists.insert(
                file.checksums_url.clone(),
                parse_checksums(&text, file.format),
            );
        }
        let checksum = lists[&file.checksums_url]
            .get(&file.name)
            .cloned()
            .with_context(|| format!("{} does not list {}", file.checksums_url, file.name))?;
        expected.push(checksum);
    }
    let (gff_sum, fasta_sum) = (expected[0].clone(), expected[1].clone());

    let gff_path = dir.join(&layout.transcripts.name);
    let fasta_gz = dir.join(&layout.reference.name);
    let bgzf = dir.join(layout.reference_bgzf_name());
    let stamp = suffixed(&bgzf, ".source");

    // What is there already.
    let gff_present = if gff_path.exists() {
        verify_existing(&gff_path, &layout.transcripts, &gff_sum).await?
    } else {
        None
    };
    let genome = if genome_ready(&bgzf, &stamp, &fasta_sum) {
        Genome::Ready
    } else if fasta_gz.exists() {
        match verify_existing(&fasta_gz, &layout.reference, &fasta_sum).await? {
            Some(sha256) => Genome::Downloaded { sha256 },
            None => Genome::Missing,
        }
    } else {
        Genome::Missing
    };
    if gff_present.is_some() {
        eprintln!("{}: present and verified", layout.transcripts.name);
    }
    if matches!(genome, Genome::Ready) {
        eprintln!(
            "{}: present, indexed, made from a verified download",
            bgzf.file_name().unwrap_or_default().to_string_lossy()
        );
    }

    // How much it takes.
    let mut downloads = Vec::new();
    if gff_present.is_none() {
        downloads.push(&layout.transcripts);
    }
    if matches!(genome, Genome::Missing) {
        downloads.push(&layout.reference);
    }
    let mut sizes = HashMap::new();
    for file in &downloads {
        sizes.insert(file.name.clone(), content_length(&client, &file.url).await);
    }
    let fasta_size = match genome {
        Genome::Ready => Some(0),
        Genome::Downloaded { .. } => fs::metadata(&fasta_gz).ok().map(|m| m.len()),
        Genome::Missing => sizes.get(&layout.reference.name).copied().flatten(),
    };
    let mut need = Some(0u64);
    let mut to_download = 0u64;
    for file in &downloads {
        let have = fs::metadata(suffixed(&dir.join(&file.name), ".part")).map_or(0, |m| m.len());
        let size = sizes[&file.name];
        let remaining = size.map(|s| s.saturating_sub(have));
        to_download += remaining.unwrap_or(0);
        need = need.zip(remaining).map(|(a, b)| a + b);
        let note = match (size, have) {
            (Some(size), 0) => human(size),
            (Some(size), have) => {
                format!("{} of {}", human(size.saturating_sub(have)), human(size))
            }
            (None, _) => "size unknown".into(),
        };
        eprintln!("{}: to download ({note})", file.name);
    }
    if !matches!(genome, Genome::Ready) {
        let estimate = fasta_size.map(|s| (s as f64 * BGZF_GROWTH) as u64);
        need = need.zip(estimate).map(|(a, b)| a + b);
    }
    match need {
        Some(0) => {}
        Some(need) => {
            eprintln!(
                "about {} to download; about {} of disk needed (the genome's download is deleted once indexed)",
                human(to_download),
                human(need)
            );
            check_space(&dir, need)?;
        }
        None => eprintln!(
            "warning: the server did not give every file's size; not checking the free space"
        ),
    }

    // Download and verify.
    let mut downloaded = 0;
    if gff_present.is_none() {
        let size = sizes[&layout.transcripts.name];
        let (bytes, sha256) =
            download_verified(&client, &layout.transcripts, &gff_path, size, &gff_sum).await?;
        downloaded += bytes;
        eprintln!("{}: sha256 {sha256}", layout.transcripts.name);
    } else if let Some(sha256) = &gff_present {
        eprintln!("{}: sha256 {sha256}", layout.transcripts.name);
    }
    let fasta_sha256 = match genome {
        Genome::Ready => None,
        Genome::Downloaded { sha256 } => Some(sha256),
        Genome::Missing => {
            let size = sizes[&layout.reference.name];
            let (bytes, sha256) =
                download_verified(&client, &layout.reference, &fasta_gz, size, &fasta_sum).await?;
            downloaded += bytes;
            Some(sha256)
        }
    };

    // Index the genome.
    if let Some(sha256) = fasta_sha256 {
        eprintln!("{}: sha256 {sha256}", layout.reference.name);
        let _ = fs::remove_file(&stamp);
        let input = fasta_gz.clone();
        let output = bgzf.clone();
        let threads = args.threads;
        let done = tokio::task::spawn_blocking(move || -> Result<_> {
            let file =
                File::open(&input).with_context(|| format!("opening {}", input.display()))?;
            let total = file.metadata().ok().map(|m| m.len());
            let label = format!(
                "indexing {}",
                output.file_name().unwrap_or_default().to_string_lossy()
            );
            let mut progress = Progress::start(label, 0, total);
            let reader = ProgressReader {
                inner: file,
                read: 0,
                progress: &mut progress,
            };
            let done = gas_annotate::bgzip_and_index(reader, &output, threads);
            match done {
                Ok(done) => {
                    progress.finish();
                    Ok(done)
                }
                Err(e) => {
                    progress.abandon();
                    Err(anyhow::Error::new(e).context(format!("indexing {}", input.display())))
                }
            }
        })
        .await
        .context("the indexing task failed")??;
        eprintln!(
            "{}: {} sequences, {} bases, {}",
            bgzf.file_name().unwrap_or_default().to_string_lossy(),
            done.contigs,
            done.bases,
            human(done.bgzf_bytes)
        );
        fs::write(
            &stamp,
            format!(
                "# Written by `gas refdata fetch` once {} and its indexes were complete.\n\
                 source {}\n\
                 {}\n\
                 sha256 {sha256}\n",
                layout.reference_bgzf_name(),
                layout.reference.url,
                fasta_sum
            ),
        )
        .with_context(|| format!("writing {}", stamp.display()))?;
        // The BGZF holds the same sequence: the download is only disk.
        fs::remove_file(&fasta_gz).with_context(|| format!("removing {}", fasta_gz.display()))?;
    }

    Ok(Fetched {
        layout,
        dir,
        transcripts: gff_path,
        reference: bgzf,
        downloaded,
    })
}

/// Whether the BGZF genome and its indexes are there, made from a download
/// with checksum `expected` (as its `.source` file records).
fn genome_ready(bgzf: &Path, stamp: &Path, expected: &Checksum) -> bool {
    let Ok(text) = fs::read_to_string(stamp) else {
        return false;
    };
    let recorded = text.lines().any(|line| line == expected.to_string());
    recorded
        && [
            bgzf.to_path_buf(),
            suffixed(bgzf, ".fai"),
            suffixed(bgzf, ".gzi"),
        ]
        .iter()
        .all(|p| p.is_file())
}

/// Checks a file already in the directory against `expected`: its SHA-256
/// when it matches; when it does not, deletes it (to download it again)
/// and says so.
async fn verify_existing(
    path: &Path,
    file: &RemoteFile,
    expected: &Checksum,
) -> Result<Option<String>> {
    let (computed, sha256) = checksum_blocking(path, file.format).await?;
    if computed == *expected {
        return Ok(Some(sha256));
    }
    eprintln!(
        "{}: present but its checksum ({computed}) is not the listed one ({expected}); downloading it again",
        file.name
    );
    fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    Ok(None)
}

async fn checksum_blocking(path: &Path, format: ChecksumFormat) -> Result<(Checksum, String)> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || checksum_file(&owned, format))
        .await
        .context("the checksum task failed")?
        .with_context(|| format!("reading {}", path.display()))
}

/// Downloads `file` to `path` through `path.part` (continuing one left by
/// an earlier run), verifies it against `expected` and renames it into
/// place: the bytes transferred and the file's SHA-256.
async fn download_verified(
    client: &reqwest::Client,
    file: &RemoteFile,
    path: &Path,
    size: Option<u64>,
    expected: &Checksum,
) -> Result<(u64, String)> {
    let part = suffixed(path, ".part");
    let mut transferred = 0;
    let mut attempt = 1;
    loop {
        match download_once(client, file, &part, size, &mut transferred).await {
            Ok(()) => break,
            Err(Failure::Retry(e)) if attempt < ATTEMPTS => {
                let wait = Duration::from_secs(2 * u64::from(attempt));
                eprintln!(
                    "{}: {e:#}; trying again in {}s (attempt {} of {ATTEMPTS})",
                    file.name,
                    wait.as_secs(),
                    attempt + 1
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(Failure::Retry(e) | Failure::Fatal(e)) => {
                return Err(e.context(format!(
                "downloading {} (what arrived is kept in {}; run the command again to continue)",
                file.url,
                part.display()
            )))
            }
        }
    }
    let (computed, sha256) = checksum_blocking(&part, file.format).await?;
    if computed != *expected {
        fs::remove_file(&part).with_context(|| format!("removing {}", part.display()))?;
        bail!(
            "{}: checksum mismatch: {} lists {expected}, the download has {computed}; \
             the download was deleted (run the command again to download it anew)",
            file.name,
            file.checksums_url
        );
    }
    fs::rename(&part, path).with_context(|| format!("renaming {}", part.display()))?;
    Ok((transferred, sha256))
}

/// How a download attempt failed.
enum Failure {
    /// Worth another attempt (the connection broke, the server had a
    /// passing problem); what arrived is kept.
    Retry(anyhow::Error),
    /// Not worth one (the file does not exist, the disk failed).
    Fatal(anyhow::Error),
}

/// One attempt at completing `part`: continues it with a `Range` request
/// when it has bytes; starts over when the server sends the whole file.
async fn download_once(
    client: &reqwest::Client,
    file: &RemoteFile,
    part: &Path,
    size: Option<u64>,
    transferred: &mut u64,
) -> Result<(), Failure> {
    let fatal = |e: anyhow::Error| Failure::Fatal(e);
    let mut have = fs::metadata(part).map_or(0, |m| m.len());
    if let Some(size) = size {
        if have == size {
            // Complete already (an earlier run stopped before verifying).
            return Ok(());
        }
        if have > size {
            eprintln!(
                "{}: the partial download is larger than the file; starting over",
                file.name
            );
            fs::remove_file(part)
                .with_context(|| format!("removing {}", part.display()))
                .map_err(fatal)?;
            have = 0;
        }
    }
    let mut request = client.get(&file.url);
    if have > 0 {
        request = request.header(RANGE, format!("bytes={have}-"));
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure::Retry(anyhow::Error::new(e).context(format!("GET {}", file.url))))?;
    let status = response.status();
    let append = match status {
        StatusCode::PARTIAL_CONTENT if have > 0 => {
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(content_range_start);
            if start != Some(have) {
                // Not the bytes asked for: the next attempt starts over.
                let _ = fs::remove_file(part);
                return Err(Failure::Retry(anyhow::anyhow!(
                    "the server answered a range request for bytes {have}- with {:?}",
                    response.headers().get(CONTENT_RANGE)
                )));
            }
            true
        }
        StatusCode::OK => {
            if have > 0 {
                eprintln!(
                    "{}: the server does not continue downloads (it ignored the Range request); starting over",
                    file.name
                );
            }
            false
        }
        StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => {
            // The part is at least as long as the file: complete if exactly.
            let total = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes */"))
                .and_then(|v| v.parse::<u64>().ok());
            if total == Some(have) {
                return Ok(());
            }
            let _ = fs::remove_file(part);
            return Err(Failure::Retry(anyhow::anyhow!(
                "the partial download does not fit the file on the server"
            )));
        }
        status => {
            let error = status_error(&file.url, status);
            return Err(if status.is_server_error() {
                Failure::Retry(error)
            } else {
                Failure::Fatal(error)
            });
        }
    };
    let body_len = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let start = if append { have } else { 0 };
    let total = body_len.map(|len| start + len).or(size);

    let handle = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .await
        .with_context(|| format!("opening {}", part.display()))
        .map_err(fatal)?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, handle);
    let mut progress = Progress::start(format!("downloading {}", file.name), start, total);
    let mut done = start;
    let mut response = response;
    let streamed: Result<(), Failure> = async {
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            Failure::Retry(anyhow::Error::new(e).context(format!("receiving {}", file.url)))
        })? {
            out.write_all(&chunk)
                .await
                .with_context(|| format!("writing {}", part.display()))
                .map_err(fatal)?;
            done += chunk.len() as u64;
            *transferred += chunk.len() as u64;
            progress.set(done);
        }
        Ok(())
    }
    .await;
    // Keep what arrived, whatever happened: the next attempt continues it.
    let flushed = async {
        out.flush().await?;
        out.into_inner().sync_all().await
    }
    .await
    .with_context(|| format!("writing {}", part.display()));
    let complete = match (streamed, flushed) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(fatal(e)),
        (Ok(()), Ok(())) => match total {
            Some(total) if done != total => Err(Failure::Retry(anyhow::anyhow!(
                "the transfer ended after {done} of {total} bytes"
            ))),
            _ => Ok(()),
        },
    };
    if complete.is_err() {
        progress.abandon();
        return complete;
    }
    progress.finish();
    Ok(())
}

/// The first byte of a `Content-Range: bytes <first>-<last>/<total>`.
fn content_range_start(value: &str) -> Option<u64> {
    value
        .strip_prefix("bytes ")?
        .split_once('-')?
        .0
        .trim()
        .parse()
        .ok()
}

/// The size the server gives for `url` (a HEAD request), if it gives one.
async fn content_length(client: &reqwest::Client, url: &str) -> Option<u64> {
    let response = client.head(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A small text file (a checksum list).
async fn get_text(client: &reqwest::Client, url: &str) -> Result<String> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(status_error(url, status));
    }
    response
        .text()
        .await
        .with_context(|| format!("receiving {url}"))
}

fn status_error(url: &str, status: StatusCode) -> anyhow::Error {
    let hint = if status == StatusCode::NOT_FOUND {
        " (the provider has no such file: check --release, --source and the assembly)"
    } else {
        ""
    };
    anyhow::anyhow!("GET {url}: HTTP {status}{hint}")
}

/// Fails when the filesystem of `dir` has less than `need` bytes free.
fn check_space(dir: &Path, need: u64) -> Result<()> {
    match available_space(dir) {
        Some(free) if free < need => bail!(
            "not enough disk space in {}: about {} needed, {} free; free some space or choose another --dir",
            dir.display(),
            human(need),
            human(free)
        ),
        Some(_) => Ok(()),
        None => {
            eprintln!(
                "warning: cannot tell the free space in {}; not checking it",
                dir.display()
            );
            Ok(())
        }
    }
}

/// Bytes an unprivileged user may still write on `dir`'s filesystem.
#[cfg(unix)]
fn available_space(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn available_space(_dir: &Path) -> Option<u64> {
    None
}

/// `path` with `suffix` appended to its file name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// A byte count for people (decimal units, as providers list sizes).
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

/// A progress line on standard error: redrawn in place at most every
/// [`REDRAW`] on a terminal; otherwise one line at the start and one at
/// the end, so that logs stay readable.
struct Progress {
    label: String,
    total: Option<u64>,
    /// Where this run started (a continued download starts part-way).
    first: u64,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
    tty: bool,
}

impl Progress {
    fn start(label: String, first: u64, total: Option<u64>) -> Progress {
        let tty = io::stderr().is_terminal();
        let progress = Progress {
            label,
            total,
            first,
            done: first,
            started: Instant::now(),
            drawn: None,
            tty,
        };
        if !tty {
            let from = if first > 0 {
                format!(" from {}", human(first))
            } else {
                String::new()
            };
            let of = total.map_or("size unknown".into(), human);
            eprintln!("{}: starting{from} ({of})", progress.label);
        }
        progress
    }

    fn set(&mut self, done: u64) {
        self.done = done;
        if self.tty && self.drawn.is_none_or(|t| t.elapsed() >= REDRAW) {
            self.drawn = Some(Instant::now());
            eprint!("\r\x1b[K{}", self.line());
        }
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = ((self.done - self.first) as f64 / secs) as u64;
        match self.total {
            Some(total) if total > 0 => format!(
                "{}: {} / {} ({:.0}%), {}/s",
                self.label,
                human(self.done),
                human(total),
                self.done as f64 * 100.0 / total as f64,
                human(rate)
            ),
            _ => format!("{}: {}, {}/s", self.label, human(self.done), human(rate)),
        }
    }

    /// Ends a redrawn line that will not finish, so that what is printed
    /// next starts on a line of its own.
    fn abandon(&self) {
        if self.tty && self.drawn.is_some() {
            eprintln!();
        }
    }

    fn finish(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        if self.tty {
            eprint!("\r\x1b[K");
        }
        eprintln!("{} in {secs:.1}s", self.line());
    }
}

/// Reports how much of a file has been read.
struct ProgressReader<'a, R> {
    inner: R,
    read: u64,
    progress: &'a mut Progress,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.set(self.read);
        Ok(n)
    }
}
