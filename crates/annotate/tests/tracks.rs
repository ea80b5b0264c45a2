//! Reference tracks on real data, against `bcftools annotate`: GENE sets
//! from the GENCODE gene track and ids from the dbSNP track, on the six GAS
//! samples and on a 100,000-variant synthetic file.
//!
//! The data live in the shared folder beside the repository checkout, and
//! the comparison needs `bcftools` (and `python3` for the synthetic file);
//! without them these tests print a notice and pass.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use gas_annotate::{annotate, annotate_file, Options, Stats, Track, TrackKind};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const SAMPLES: [&str; 6] = [
    "test.vcf",
    "free_1.vcf",
    "free_2.vcf",
    "premium_1.vcf",
    "premium_2.vcf",
    "premium_3.vcf",
];

fn shared(path: &str) -> Option<PathBuf> {
    let path = Path::new(SHARED).join(path);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("NOTICE: {} not found; skipping", path.display());
        None
    }
}

fn genes_path() -> Option<PathBuf> {
    shared("data/refdata/genes.grch37.bed.gz")
}

fn dbsnp_path() -> Option<PathBuf> {
    shared("data/refdata/dbsnp_common.grch37.vcf.gz")
}

/// The gene and dbSNP tracks, loaded once per test binary.
fn tracks() -> Option<&'static [Track]> {
    static TRACKS: OnceLock<Option<Vec<Track>>> = OnceLock::new();
    TRACKS
        .get_or_init(|| {
            let paths = [genes_path()?, dbsnp_path()?];
            Some(Track::load_all(&paths).expect("the shared tracks load"))
        })
        .as_deref()
}

fn has_tool(tool: &str, arg: &str) -> bool {
    let found = Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("NOTICE: {tool} not found; skipping");
    }
    found
}

fn with_tracks(tracks: &[Track]) -> Options {
    let mut options = Options::default();
    options.tracks = tracks.to_vec();
    options
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One record as compared: contig key, POS, REF, ALT, ID, GENE set.
type Row = (String, u64, String, String, String, BTreeSet<String>);

/// The rows of a VCF as `bcftools query` reads them (so bcftools must be able
/// to read the file).
fn query(vcf: &Path) -> Vec<Row> {
    query_as(vcf, "%INFO/GENE")
}

/// As [`query`], with `genes` as the format of the GENE column (`.` when the
/// file has no GENE).
fn query_as(vcf: &Path, genes: &str) -> Vec<Row> {
    let format = format!("%CHROM\t%POS\t%REF\t%ALT\t%ID\t{genes}\n");
    let text = run("bcftools", &["query", "-f", &format, path_str(vcf)]);
    text.lines()
        .map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            let chrom = c[0].strip_prefix("chr").unwrap_or(c[0]);
            let chrom = if chrom == "M" { "MT" } else { chrom };
            let genes = if c[5] == "." {
                BTreeSet::new()
            } else {
                c[5].split(',').map(String::from).collect()
            };
            (
                chrom.to_string(),
                c[1].parse().unwrap(),
                c[2].to_string(),
                c[3].to_string(),
                c[4].to_string(),
                genes,
            )
        })
        .collect()
}

/// `bcftools annotate` with the gene track and, separately, the dbSNP track
/// on `vcf` (`chr` contig names), combined: rows with bcftools' GENE and ID.
fn bcftools_rows(vcf: &Path, dir: &Path) -> Vec<Row> {
    let (genes, dbsnp) = (genes_path().unwrap(), dbsnp_path().unwrap());
    let sorted = dir.join("sorted.vcf.gz");
    run(
        "bcftools",
        &["sort", "-Oz", "-o", path_str(&sorted), path_str(vcf)],
    );
    run("bcftools", &["index", "-f", "-t", path_str(&sorted)]);
    let header = dir.join("gene.hdr");
    fs::write(
        &header,
        "##INFO=<ID=GENE,Number=.,Type=String,Description=\"Gene\">\n",
    )
    .unwrap();
    let (with_genes, with_ids) = (dir.join("genes.vcf"), dir.join("ids.vcf"));
    run(
        "bcftools",
        &[
            "annotate",
            "-a",
            path_str(&genes),
            "-c",
            "CHROM,FROM,TO,GENE",
            "-l",
            "GENE:unique",
            "-h",
            path_str(&header),
            "-o",
            path_str(&with_genes),
            path_str(&sorted),
        ],
    );
    run(
        "bcftools",
        &[
            "annotate",
            "-a",
            path_str(&dbsnp),
            "-c",
            "ID",
            "-o",
            path_str(&with_ids),
            path_str(&sorted),
        ],
    );
    let (genes, ids) = (query(&with_genes), query_as(&with_ids, "."));
    assert_eq!(genes.len(), ids.len());
    genes
        .into_iter()
        .zip(ids)
        .map(|(g, i)| {
            assert_eq!((&g.0, g.1, &g.2, &g.3), (&i.0, i.1, &i.2, &i.3));
            (g.0, g.1, g.2, g.3, i.4, g.5)
        })
        .collect()
}

/// `input` with its contigs renamed to the tracks' style (`1` to `chr1`,
/// `MT` to `chrM`), declared in `##contig` lines (which bcftools needs to
/// sort).
fn chr_named(input: &str) -> String {
    let mut out = String::new();
    let mut contigs: Vec<String> = Vec::new();
    for line in input.lines().filter(|l| !l.starts_with('#')) {
        let chrom = line.split('\t').next().unwrap();
        let renamed = if chrom == "MT" {
            "chrM".to_string()
        } else {
            format!("chr{chrom}")
        };
        if !contigs.contains(&renamed) {
            contigs.push(renamed);
        }
    }
    for line in input.lines() {
        if line.starts_with("#CHROM") {
            for contig in &contigs {
                out.push_str(&format!("##contig=<ID={contig}>\n"));
            }
        }
        if !line.starts_with('#') {
            out.push_str(if line.starts_with("MT\t") {
                "chrM"
            } else {
                "chr"
            });
            out.push_str(line.strip_prefix("MT").unwrap_or(line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

fn ours(input: &Path, output: &Path, options: &Options) -> Stats {
    annotate_file(input, output, options, &mut |_| {})
        .unwrap_or_else(|e| panic!("{}: {e}", input.display()))
}

/// On every sample (whose contigs are `1`, `MT`, ...: our contig mapping is
/// exercised), our GENE sets and ids equal bcftools' on the same records
/// renamed to `chr1`, `chrM`. bcftools cannot read the VCFv3.3 sample's
/// INFO definitions, so it gets our track-less output (the same records,
/// upgraded to VCFv4.2).
#[test]
fn samples_match_bcftools() {
    let (Some(samples), Some(tracks)) = (shared("data/samples"), tracks()) else {
        return;
    };
    if !has_tool("bcftools", "--version") {
        return;
    }
    let options = with_tracks(tracks);
    let mut total_ids = 0;
    for name in SAMPLES {
        let dir = tempfile::tempdir().unwrap();
        let input = samples.join(name);
        let annotated = dir.path().join("ours.vcf");
        let stats = ours(&input, &annotated, &options);
        let ours_rows = sorted(query(&annotated));
        assert_eq!(ours_rows.len() as u64, stats.variants, "{name}");

        let plain = dir.path().join("plain.vcf");
        ours(&input, &plain, &Options::default());
        let renamed = dir.path().join("renamed.vcf");
        fs::write(&renamed, chr_named(&fs::read_to_string(&plain).unwrap())).unwrap();
        let theirs = sorted(bcftools_rows(&renamed, dir.path()));

        assert_eq!(ours_rows.len(), theirs.len(), "{name}");
        for (a, b) in ours_rows.iter().zip(&theirs) {
            assert_eq!(a, b, "{name}: ours vs bcftools");
        }
        let in_genes = ours_rows.iter().filter(|r| !r.5.is_empty()).count();
        assert_eq!(stats.in_genes, in_genes as u64, "{name}");
        total_ids += stats.with_id;
    }
    // premium_2.vcf is on GRCh37: 32 of its records are common dbSNP SNVs.
    assert!(total_ids >= 32, "{total_ids}");
}

/// The 100,000-variant synthetic file (already `chr`-named): GENE sets and
/// ids equal bcftools' record by record, with one thread and with several,
/// and the threaded output is byte-identical.
#[test]
fn synthetic_matches_bcftools() {
    let (Some(generator), Some(tracks)) = (shared("bench/make_synthetic_vcf.py"), tracks()) else {
        return;
    };
    if !has_tool("bcftools", "--version") || !has_tool("python3", "--version") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("synth.vcf");
    run(
        "python3",
        &[path_str(&generator), "100000", path_str(&input)],
    );
    let mut options = with_tracks(tracks);
    options.threads = 1;
    let single = dir.path().join("single.vcf");
    let stats = ours(&input, &single, &options);
    options.threads = 2;
    let threaded = dir.path().join("threaded.vcf");
    let stats2 = ours(&input, &threaded, &options);
    assert_eq!(fs::read(&single).unwrap(), fs::read(&threaded).unwrap());
    assert_eq!(
        (stats.variants, stats.in_genes, stats.with_id),
        (stats2.variants, stats2.in_genes, stats2.with_id)
    );
    assert_eq!(stats.contigs, stats2.contigs);
    assert_eq!(stats.contigs.len(), 22);

    let ours_rows = query(&single);
    let theirs = bcftools_rows(&input, dir.path());
    assert_eq!(ours_rows.len(), theirs.len());
    assert_eq!(ours_rows.len() as u64, stats.variants);
    for (a, b) in ours_rows.iter().zip(&theirs) {
        assert_eq!(a, b, "ours vs bcftools");
    }
    assert!(stats.in_genes > 40_000, "{}", stats.in_genes);
}

/// Three samples declare NCBI36 and the tracks are GRCh37: the stats and the
/// log say so; the others get no warning.
#[test]
fn assembly_mismatch_is_reported() {
    let (Some(samples), Some(tracks)) = (shared("data/samples"), tracks()) else {
        return;
    };
    let options = with_tracks(tracks);
    for name in SAMPLES {
        let dir = tempfile::tempdir().unwrap();
        let stats = ours(&samples.join(name), &dir.path().join("out.vcf"), &options);
        let ncbi36 = matches!(name, "free_2.vcf" | "premium_1.vcf" | "premium_3.vcf");
        assert_eq!(
            stats.warnings.len(),
            usize::from(ncbi36),
            "{name}: {:?}",
            stats.warnings
        );
        let log = stats.render_log(name);
        if ncbi36 {
            assert_eq!(stats.input_assembly.as_deref(), Some("NCBI36"));
            assert!(
                log.contains("WARNING: input says NCBI36 but tracks are GRCh37"),
                "{log}"
            );
        } else {
            assert!(!log.contains("WARNING"), "{name}: {log}");
        }
        assert!(log.contains("Track: genes.grch37.bed.gz (BED, GRCh37, 57820 records)"));
        assert!(log.contains("With a known-site ID (dbSNP): "), "{log}");
    }
}

/// The header names the tracks and defines GENE once; `bcftools view` reads
/// the output.
#[test]
fn header_records_the_tracks() {
    let (Some(samples), Some(tracks)) = (shared("data/samples"), tracks()) else {
        return;
    };
    assert_eq!(tracks[0].kind(), TrackKind::Bed);
    assert_eq!(tracks[1].kind(), TrackKind::Vcf);
    assert_eq!(tracks[1].records(), 340_685);
    let mut output = Vec::new();
    let input = fs::read(samples.join("premium_2.vcf")).unwrap();
    annotate(&input[..], &mut output, &with_tracks(tracks), &mut |_| {}).unwrap();
    let text = String::from_utf8(output).unwrap();
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with("##")).collect();
    assert_eq!(
        header
            .iter()
            .filter(|l| l.starts_with("##INFO=<ID=GENE,"))
            .count(),
        1
    );
    let provenance = header
        .iter()
        .find(|l| l.starts_with("##gas_annotate="))
        .unwrap();
    assert!(
        provenance.contains(
            ",Tracks=\"genes.grch37.bed.gz (BED, GRCh37);dbsnp_common.grch37.vcf.gz (VCF, GRCh37)\""
        ),
        "{provenance}"
    );
}

/// Gzip input and BGZF output give the same records as plain text, and
/// `bcftools view` reads the BGZF output.
#[test]
fn compressed_input_and_output() {
    let (Some(samples), Some(tracks)) = (shared("data/samples"), tracks()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = samples.join("premium_1.vcf");
    let mut options = with_tracks(tracks);
    let plain = dir.path().join("plain.vcf");
    let expected = ours(&input, &plain, &options);

    let gz = dir.path().join("in.vcf.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
    encoder.write_all(&fs::read(&input).unwrap()).unwrap();
    fs::write(&gz, encoder.finish().unwrap()).unwrap();
    options.bgzf_output = true;
    let bgzf = dir.path().join("out.vcf.gz");
    let mut last = 0;
    let stats = annotate_file(&gz, &bgzf, &options, &mut |n| last = n).unwrap();
    assert_eq!(last, fs::metadata(&gz).unwrap().len());
    assert_eq!(stats.bytes_read, last);
    assert_eq!(
        (stats.variants, stats.in_genes, stats.with_id),
        (expected.variants, expected.in_genes, expected.with_id)
    );
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(fs::File::open(&bgzf).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(text, fs::read(&plain).unwrap());
    if has_tool("bcftools", "--version") {
        assert_eq!(query(&bgzf), query(&plain));
    }
}
