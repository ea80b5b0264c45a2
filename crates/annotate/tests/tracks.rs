//! Reference tracks on real data, against `bcftools annotate`: GENE sets
//! from the GENCODE gene track and ids from the dbSNP track, on the six GAS
//! samples and on a 100,000-variant synthetic file.
//!
//! The data live in the shared folder beside the repository checkout, and
//! the comparison needs `bcftools` (and `python3` for the synthetic file);
//! without them these tests print a notice and pass.
//!
//! VCF tracks copying INFO fields are tested on small files the tests
//! write (and read back with `bcftools` when it is installed).

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use gas_annotate::{
    annotate, annotate_file, annotate_observed, Options, OutputObserver, Stats, Track, TrackKind,
    TrackSpec, WrittenChunk,
};

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

// ---------------------------------------------------------------------------
// VCF tracks copying INFO fields, on small files written here.

/// A ClinVar-like track (`chr` names): split records, one with more padding
/// than the input, one multi-allelic, a symbolic one.
const CLINVAR: &str = "##fileformat=VCFv4.1
##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Aggregate germline classification\">
##INFO=<ID=CLNDN,Number=.,Type=String,Description=\"Disease names, | separated\">
##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">
##INFO=<ID=AC,Number=R,Type=Integer,Description=\"Allele counts, REF first\">
##INFO=<ID=DB,Number=0,Type=Flag,Description=\"In dbSNP\">
##INFO=<ID=GQ1,Number=1,Type=Integer,Description=\"One integer\">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr1\t100\tv1a\tACT\tAT\t.\t.\tCLNSIG=Pathogenic,_risk_factor;CLNDN=Cancer|Other;AF=0.1;AC=7,1;DB;GQ1=5
chr1\t100\tv1b\tA\tG\t.\t.\tCLNSIG=Benign;AF=0.2;AC=7,2
chr1\t200\tv2\tC\tT\t.\t.\tCLNSIG=Benign;AF=0.3;AC=9,3
chr1\t300\tv3\tTGAC\tTGA\t.\t.\tCLNSIG=Likely_benign;AF=0.4;AC=8,4;DB
chr1\t400\tv4\tG\t<DEL>\t.\t.\tCLNSIG=Pathogenic
chr1\t500\tv7\tA\tT\t.\t.\tCLNSIG=Pathogenic;AF=.
chr1\t600\tv8\tG\tG]2:100]\t.\t.\tCLNSIG=Pathogenic
chrM\t10\tv5\ta\tg\t.\t.\tCLNSIG=Uncertain_significance;AF=0.5;AC=1,1
chrX\t50\tv6\tC\tA,T\t.\t.\tAF=0.6,0.7;AC=1,2,3;GQ1=9
";

/// A gnomAD-like track (plain names, gzip): AF again, to copy renamed.
const GNOMAD: &str = "##fileformat=VCFv4.2
##INFO=<ID=AF,Number=A,Type=Float,Description=\"Alternate allele frequency\">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
1\t200\trs200\tC\tG,T\t.\t.\tAF=0.01,0.02
";

/// A dbSNP-like track filling ids.
const DBSNP: &str = "##fileformat=VCFv4.2
#CHROM\tPOS\tID\tREF\tALT
1\t200\trs2\tC\tT
";

/// The input: `1`, `MT` and `X` names, a stale CLNSIG to replace.
const INPUT: &str = "##fileformat=VCFv4.2
##INFO=<ID=CLNSIG,Number=1,Type=String,Description=\"stale\">
##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">
##INFO=<ID=END,Number=1,Type=Integer,Description=\"End position\">
##contig=<ID=1>
##contig=<ID=MT>
##contig=<ID=X>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
1\t100\t.\tAC\tA,GC\t.\t.\tCLNSIG=old;DP=5
1\t200\t.\tC\tT,G\t.\t.\t.
1\t301\t.\tGAC\tGA\t.\t.\t.
1\t400\t.\tG\t<DEL>\t.\t.\tEND=410
1\t500\t.\ta\tt\t.\t.\t.
1\t600\t.\tG\tG]2:100]\t.\t.\t.
1\t700\t.\tC\tT\t.\t.\tCLNSIG=stale
MT\t10\t.\tA\tG,*\t.\t.\t.
X\t50\t.\tC\tT,A,G\t.\t.\t.
";

fn write_gz(path: &Path, text: &str) {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
    encoder.write_all(text.as_bytes()).unwrap();
    fs::write(path, encoder.finish().unwrap()).unwrap();
}

/// The field tracks' files in `dir`: ClinVar, gnomAD (gzip) and dbSNP.
fn field_track_files(dir: &Path) -> (String, String, String) {
    let (clinvar, gnomad, dbsnp) = (
        dir.join("clinvar.vcf"),
        dir.join("gnomad.vcf.gz"),
        dir.join("dbsnp.vcf"),
    );
    fs::write(&clinvar, CLINVAR).unwrap();
    write_gz(&gnomad, GNOMAD);
    fs::write(&dbsnp, DBSNP).unwrap();
    let s = |p: &Path| p.display().to_string();
    (s(&clinvar), s(&gnomad), s(&dbsnp))
}

/// The field tracks of `field_track_files`, loaded: ClinVar copying six
/// fields, gnomAD's AF renamed, dbSNP's ids.
fn field_tracks(dir: &Path) -> Vec<Track> {
    let (clinvar, gnomad, dbsnp) = field_track_files(dir);
    load(&[
        format!("{clinvar}:CLNSIG,CLNDN,AF,AC,DB,GQ1"),
        format!("{gnomad}:AF=gnomAD_AF"),
        dbsnp,
    ])
    .unwrap()
}

fn load(entries: &[String]) -> Result<Vec<Track>, gas_annotate::TrackError> {
    let specs = entries
        .iter()
        .map(|e| TrackSpec::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    Track::load_specs(&specs)
}

/// `line`'s ID and INFO without VC and TITV.
fn id_and_copied(line: &str) -> (String, String) {
    let columns: Vec<&str> = line.split('\t').collect();
    let info: Vec<&str> = columns[7]
        .split(';')
        .filter(|e| !e.starts_with("VC=") && !e.starts_with("TITV="))
        .collect();
    (columns[2].to_string(), info.join(";"))
}

/// Checks that each record's noted INFO items are those a scan of its
/// INFO finds (the run writes no CSQ: no item is the annotator's own).
struct NotedItems {
    keys: Vec<String>,
    records: usize,
    items: usize,
}

impl OutputObserver for NotedItems {
    fn info_keys(&self) -> Vec<String> {
        self.keys.clone()
    }

    fn header(&mut self, _: &str) {}

    fn records(&mut self, chunk: &WrittenChunk<'_>) {
        for record in chunk.records() {
            let line = record.line();
            let info = &line[record.info.clone()];
            let mut expected = Vec::new();
            let mut at = record.info.start;
            for item in info.split(';') {
                let (key, value) = item.split_once('=').unwrap_or((item, ""));
                if let Some(k) = self.keys.iter().position(|w| w == key) {
                    let start = at + key.len() + usize::from(item.contains('='));
                    expected.push((k as u16, start as u32, (start + value.len()) as u32));
                }
                at += item.len() + 1;
            }
            let noted: Vec<(u16, u32, u32)> = record
                .items
                .iter()
                .map(|i| (i.key, i.start, i.end))
                .collect();
            assert_eq!(noted, expected, "{line}");
            self.records += 1;
            self.items += noted.len();
        }
    }
}

/// The INFO items an observer watches are noted as they are written:
/// the input's, the annotator's own (VC, TITV) and the copied fields
/// (valued, per ALT, flags).
#[test]
fn copied_fields_are_noted_for_an_observer() {
    let dir = tempfile::tempdir().unwrap();
    let tracks = field_tracks(dir.path());
    let keys = [
        "CLNSIG",
        "AF",
        "DB",
        "gnomAD_AF",
        "DP",
        "END",
        "TITV",
        "GQ1",
    ];
    let mut seen = NotedItems {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        records: 0,
        items: 0,
    };
    let mut out = Vec::new();
    annotate_observed(
        INPUT.as_bytes(),
        &mut out,
        &with_tracks(&tracks),
        &mut |_| {},
        Some(&mut seen),
    )
    .unwrap();
    assert_eq!(seen.records, 9);
    // TITV on each of the 9; CLNSIG 5, AF 5, DB 2, gnomAD_AF 1, DP 1,
    // END 1, GQ1 2 (see `vcf_tracks_copy_info_fields_per_allele`).
    assert_eq!(seen.items, 9 + 5 + 5 + 2 + 1 + 1 + 1 + 2);
}

#[test]
fn vcf_tracks_copy_info_fields_per_allele() {
    let dir = tempfile::tempdir().unwrap();
    let tracks = field_tracks(dir.path());
    let input = dir.path().join("in.vcf");
    fs::write(&input, INPUT).unwrap();
    let output = dir.path().join("out.vcf");
    let stats = ours(&input, &output, &with_tracks(&tracks));
    assert_eq!(stats.variants, 9);
    let text = fs::read_to_string(&output).unwrap();
    let records: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(id_and_copied)
        .collect();
    let expected = [
        // AC>A is the track's ACT>AT; AC>GC its A>G (split records). AC:
        // REF from the first matched record, then per ALT.
        (
            ".",
            "DP=5;CLNSIG=Pathogenic|_risk_factor,Benign;CLNDN=Cancer|Other,.;AF=0.1,0.2;AC=7,1,2;DB;GQ1=5,.",
        ),
        // One ALT matched; the ID comes from the dbSNP track only.
        ("rs2", "CLNSIG=Benign,.;AF=0.3,.;AC=9,3,.;gnomAD_AF=0.02,0.01"),
        // GAC>GA at 301 and TGAC>TGA at 300 are AC>A at 302.
        (".", "CLNSIG=Likely_benign;AF=0.4;AC=8,4;DB"),
        // Symbolic and breakend alleles never match.
        (".", "END=410"),
        // Case-insensitive; the track's AF is missing: left out.
        (".", "CLNSIG=Pathogenic"),
        (".", ""),
        // A stale CLNSIG is dropped even without a match.
        (".", ""),
        // chrM is MT; `*` gets `.`.
        (".", "CLNSIG=Uncertain_significance,.;AF=0.5,.;AC=1,1,."),
        // A multi-allelic track record, split per ALT; GQ1 is the whole
        // value per ALT.
        (".", "AF=0.7,0.6,.;AC=1,3,2,.;GQ1=9,9,."),
    ];
    let got: Vec<(&str, &str)> = records
        .iter()
        .map(|(id, info)| (id.as_str(), info.as_str()))
        .collect();
    assert_eq!(got, expected);

    // The header: one definition per copied field, from the track's.
    let header: Vec<&str> = text.lines().filter(|l| l.starts_with("##INFO")).collect();
    for line in [
        "##INFO=<ID=CLNSIG,Number=A,Type=String,Description=\"Aggregate germline classification (from clinvar.vcf)\">",
        "##INFO=<ID=CLNDN,Number=A,Type=String,Description=\"Disease names, | separated (from clinvar.vcf)\">",
        "##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency (from clinvar.vcf)\">",
        "##INFO=<ID=AC,Number=R,Type=Integer,Description=\"Allele counts, REF first (from clinvar.vcf)\">",
        "##INFO=<ID=DB,Number=0,Type=Flag,Description=\"In dbSNP (from clinvar.vcf)\">",
        "##INFO=<ID=GQ1,Number=A,Type=Integer,Description=\"One integer (from clinvar.vcf)\">",
        "##INFO=<ID=gnomAD_AF,Number=A,Type=Float,Description=\"Alternate allele frequency (from INFO/AF of gnomad.vcf.gz)\">",
    ] {
        assert_eq!(header.iter().filter(|l| **l == line).count(), 1, "{line}");
    }
    assert!(!text.contains("stale"));
    assert!(text.contains(
        "Tracks=\"clinvar.vcf (VCF, GRCh37, INFO CLNSIG,CLNDN,AF,AC,DB,GQ1);gnomad.vcf.gz (VCF, GRCh37, INFO AF=gnomAD_AF);dbsnp.vcf (VCF, GRCh37)\""
    ));

    if !has_tool("bcftools", "--version") {
        return;
    }
    // bcftools reads it without a warning, and reads the fields per ALT.
    let out = path_str(&output);
    let view = Command::new("bcftools")
        .args(["view", "-Ov", out])
        .output()
        .unwrap();
    assert!(view.status.success());
    let warnings = String::from_utf8_lossy(&view.stderr);
    assert!(warnings.is_empty(), "{warnings}");
    assert_eq!(
        run("bcftools", &["query", "-f", "%INFO/CLNSIG\n", out]),
        "Pathogenic|_risk_factor,Benign\nBenign,.\nLikely_benign\n.\nPathogenic\n.\n.\nUncertain_significance,.\n.\n"
    );
    assert_eq!(
        run(
            "bcftools",
            &[
                "query",
                "-f",
                "%POS %INFO/AF %INFO/AC %INFO/DB %INFO/gnomAD_AF\n",
                out
            ]
        ),
        "100 0.1,0.2 7,1,2 1 .\n200 0.3,. 9,3,. . 0.02,0.01\n301 0.4 8,4 1 .\n400 . . . .\n\
         500 . . . .\n600 . . . .\n700 . . . .\n10 0.5,. 1,1,. . .\n50 0.7,0.6,. 1,3,2,. . .\n"
    );
    // Splitting the records keeps each ALT's values with it.
    let split = dir.path().join("split.vcf");
    run("bcftools", &["norm", "-m-", "-o", path_str(&split), out]);
    assert_eq!(
        run(
            "bcftools",
            &["query", "-f", "%POS %ALT %INFO/CLNSIG %INFO/AC\n", "-i", "POS=100 || POS=50", path_str(&split)]
        ),
        "100 A Pathogenic|_risk_factor 7,1\n100 GC Benign 7,2\n50 T . 1,3\n50 A . 1,2\n50 G . 1,.\n"
    );
}

#[test]
fn field_track_errors_name_the_track_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let (clinvar, gnomad, _) = field_track_files(dir.path());
    let message = load(&[format!("{clinvar}:CLNSIG,CLNREVSTAT")])
        .unwrap_err()
        .to_string();
    assert!(message.contains("clinvar.vcf"), "{message}");
    assert!(
        message.contains("no ##INFO definition of CLNREVSTAT"),
        "{message}"
    );
    let message = load(&[format!("{clinvar}:AF"), format!("{gnomad}:AF")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "track gnomad.vcf.gz: INFO field AF is copied from clinvar.vcf too; copy it under another name (AF=NAME)"
    );
    let bed = dir.path().join("genes.bed");
    fs::write(&bed, "chr1\t0\t1000\tG\n").unwrap();
    let message = load(&[format!("{}:AF", bed.display())])
        .unwrap_err()
        .to_string();
    assert!(message.contains("genes.bed"), "{message}");
    assert!(
        message.contains("only be copied from a VCF track"),
        "{message}"
    );
    // Without fields, a VCF track still fills ids (and only ids).
    let tracks = load(&[clinvar]).unwrap();
    assert_eq!(tracks[0].fields().count(), 0);
    let mut output = Vec::new();
    annotate(
        INPUT.as_bytes(),
        &mut output,
        &with_tracks(&tracks),
        &mut |_| {},
    )
    .unwrap();
    let text = String::from_utf8(output).unwrap();
    let ids: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| id_and_copied(l).0)
        .collect();
    // Ids need the same POS and REF, and an ALT allele spelled the same.
    assert_eq!(ids, [".", "v2", ".", "v4", "v7", "v8", ".", "v5", "v6"]);
    assert!(text.contains("\tCLNSIG=old;DP=5;VC="));
}
