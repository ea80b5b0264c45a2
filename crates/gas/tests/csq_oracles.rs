//! `gas annotate --transcripts` against two independent consequence callers,
//! bcftools csq and SnpEff (both Debian packages), on thousands of seeded
//! random variants over real transcripts: the mitochondrial models GAS
//! ships (`crates/annotate/data/mt/`) and a few of bcftools' test
//! transcripts on both strands (`GAS_BCFTOOLS_CSQ_DIR`, see
//! `scripts/csq-peers.sh`).
//!
//! Variants: SNVs, 1–30 bp deletions and insertions and 2–3 bp MNVs, in
//! coding exons, around splice sites, in introns, in UTRs and around the
//! transcripts. Per allele and transcript the most severe consequence
//! (each tool's names mapped to VEP's SO terms) and, for substitutions, the
//! amino-acid change are compared; tables go to stdout and
//! `target/csq-oracles/report.md`.
//!
//! Debian's bcftools 1.16 has no genetic-code option (`bcftools csq -h`
//! lists none), so it translates the mitochondrial transcripts with the
//! standard code: it is an oracle for the nuclear transcripts only. SnpEff
//! is told `Vertebrate_Mitochondrial` for `MT`.
//!
//! A missing tool or data set skips its part, unless
//! `GAS_REQUIRE_CSQ_PEERS=1`. `docs/CSQ-PEERS.md` has the details.

#[path = "csq_peers.rs"]
mod peers;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use peers::{
    on_path, parse_bcsq_vcf, parse_snpeff_vcf, parse_vep_vcf, required, run, run_bcftools_local,
    run_gas, skip, target_dir, Calls, Comparison, Key, Site, TxCall,
};

/// Variants per transcript set: 1,200 on MT, 450 on each nuclear case.
const MT_VARIANTS: usize = 1200;
const NUCLEAR_VARIANTS: usize = 450;

/// bcftools' test transcripts used here: forward and reverse strand,
/// multi-exon, protein-coding.
const NUCLEAR_CASES: &[&str] = &[
    "ENST00000341065", // SAMD11, +, 12 exons, CDS start not found (phase 2)
    "ENST00000373833", // +, 13 exons
    "ENST00000227471", // -, 12 exons
    "ENST00000256452", // -, 13 exons
];

/// The agreement GAS must reach with each oracle, on SNVs and over every
/// kind of variant. Measured when set: bcftools 100 % on SNVs and 99.1 %
/// overall, SnpEff 99.7 % and 97.8 %.
const SNV_CLASS_THRESHOLD: f64 = 0.98;
const ALL_CLASS_THRESHOLD: f64 = 0.95;

// ---------------------------------------------------------------------------
// Transcript sets
// ---------------------------------------------------------------------------

struct Tx {
    /// The GFF id without Ensembl's `transcript:` prefix.
    id: String,
    exons: Vec<(u64, u64)>,
    cds: Vec<(u64, u64)>,
}

struct Model {
    name: String,
    mito: bool,
    gff: PathBuf,
    fasta: PathBuf,
    chrom: String,
    seq: Vec<u8>,
    txs: Vec<Tx>,
}

fn read_fasta(path: &Path) -> (String, Vec<u8>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let name = lines
        .next()
        .and_then(|h| h.strip_prefix('>'))
        .and_then(|h| h.split_whitespace().next())
        .expect("a FASTA header")
        .to_owned();
    let mut seq = Vec::new();
    for l in lines {
        if l.starts_with('>') {
            break;
        }
        seq.extend(l.trim().bytes().map(|b| b.to_ascii_uppercase()));
    }
    (name, seq)
}

fn read_transcripts(gff: &Path) -> Vec<Tx> {
    let text = std::fs::read_to_string(gff).unwrap();
    let mut by_id: BTreeMap<String, Tx> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() < 9 || !(f[2] == "exon" || f[2] == "CDS") {
            continue;
        }
        let (Ok(start), Ok(end)) = (f[3].parse::<u64>(), f[4].parse::<u64>()) else {
            continue;
        };
        let Some(parent) = f[8].split(';').find_map(|kv| kv.strip_prefix("Parent=")) else {
            continue;
        };
        let tx = by_id.entry(parent.to_owned()).or_insert(Tx {
            id: parent.trim_start_matches("transcript:").to_owned(),
            exons: Vec::new(),
            cds: Vec::new(),
        });
        if f[2] == "exon" {
            tx.exons.push((start, end));
        } else {
            tx.cds.push((start, end));
        }
    }
    let mut txs: Vec<Tx> = by_id
        .into_values()
        .filter(|t| !t.exons.is_empty())
        .collect();
    for t in &mut txs {
        t.exons.sort_unstable();
        t.cds.sort_unstable();
    }
    txs
}

fn load(name: &str, gff: PathBuf, fasta: PathBuf, mito: bool) -> Model {
    let (chrom, seq) = read_fasta(&fasta);
    let txs = read_transcripts(&gff);
    assert!(
        !txs.is_empty(),
        "{}: no transcripts with exons",
        gff.display()
    );
    Model {
        name: name.to_owned(),
        mito,
        gff,
        fasta,
        chrom,
        seq,
        txs,
    }
}

/// The transcript sets available here (each missing one skipped, or a
/// failure when required).
fn models() -> Vec<Model> {
    let mut out = Vec::new();
    let mt = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../annotate/data/mt");
    if mt.join("MT.gff3").is_file() && mt.join("MT.fa").is_file() {
        out.push(load("MT", mt.join("MT.gff3"), mt.join("MT.fa"), true));
    } else {
        skip(&format!("{} has no MT.gff3 and MT.fa", mt.display()));
    }
    match peers::suite_dir() {
        Some(dir) => {
            for case in NUCLEAR_CASES {
                let d = dir.join("csq").join(case);
                out.push(load(
                    case,
                    d.join(format!("{case}.gff")),
                    d.join(format!("{case}.fa")),
                    false,
                ));
            }
        }
        None => skip("GAS_BCFTOOLS_CSQ_DIR is not set: no nuclear transcripts (eval \"$(bash scripts/csq-peers.sh)\")"),
    }
    out
}

// ---------------------------------------------------------------------------
// Seeded random variants
// ---------------------------------------------------------------------------

/// xorshift64*: deterministic across platforms and crate versions.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn base_not(&mut self, b: u8) -> u8 {
        let others: Vec<u8> = b"ACGT".iter().copied().filter(|&x| x != b).collect();
        others[self.below(others.len() as u64) as usize]
    }

    fn base(&mut self) -> u8 {
        b"ACGT"[self.below(4) as usize]
    }
}

fn seed_of(name: &str) -> u64 {
    // FNV-1a: stable, unlike std's hasher.
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A uniformly chosen position in a set of closed intervals.
fn pick_in(rng: &mut Rng, spans: &[(u64, u64)]) -> Option<u64> {
    let total: u64 = spans.iter().map(|(s, e)| e - s + 1).sum();
    if total == 0 {
        return None;
    }
    let mut k = rng.below(total);
    for (s, e) in spans {
        let len = e - s + 1;
        if k < len {
            return Some(s + k);
        }
        k -= len;
    }
    None
}

/// Exonic intervals outside the CDS.
fn utr_spans(tx: &Tx) -> Vec<(u64, u64)> {
    let Some(cds_start) = tx.cds.first().map(|c| c.0) else {
        return Vec::new();
    };
    let cds_end = tx.cds.iter().map(|c| c.1).max().unwrap();
    let mut out = Vec::new();
    for &(s, e) in &tx.exons {
        if s < cds_start {
            out.push((s, e.min(cds_start - 1)));
        }
        if e > cds_end {
            out.push((s.max(cds_end + 1), e));
        }
    }
    out
}

fn intron_spans(tx: &Tx) -> Vec<(u64, u64)> {
    tx.exons
        .windows(2)
        .filter(|w| w[1].0 > w[0].1 + 1)
        .map(|w| (w[0].1 + 1, w[1].0 - 1))
        .collect()
}

/// Positions where an exon meets an intron (first or last base of an
/// exon next to an intron).
fn splice_edges(tx: &Tx) -> Vec<u64> {
    let mut out = Vec::new();
    for w in tx.exons.windows(2) {
        out.push(w[0].1);
        out.push(w[1].0);
    }
    if out.is_empty() {
        // Single exon: its ends, so the UTR and flanks get variants too.
        out.push(tx.exons[0].0);
        out.push(tx.exons.last().unwrap().1);
    }
    out
}

/// `n` distinct variants `(pos, ref, alt)`, sorted, over `m`'s transcripts.
fn generate(m: &Model, n: usize) -> Vec<(u64, String, String)> {
    let mut rng = Rng::new(seed_of(&m.name));
    let len = m.seq.len() as u64;
    let mut out: BTreeSet<(u64, String, String)> = BTreeSet::new();
    let mut tries = 0;
    while out.len() < n && tries < n * 50 {
        tries += 1;
        let tx = &m.txs[rng.below(m.txs.len() as u64) as usize];
        let region = rng.below(100);
        let pos = match region {
            0..=34 => pick_in(
                &mut rng,
                if tx.cds.is_empty() {
                    &tx.exons
                } else {
                    &tx.cds
                },
            ),
            35..=54 => {
                let edges = splice_edges(tx);
                let e = edges[rng.below(edges.len() as u64) as usize];
                Some((e + rng.below(21)).saturating_sub(10))
            }
            55..=69 => {
                let introns = intron_spans(tx);
                pick_in(
                    &mut rng,
                    if introns.is_empty() {
                        &tx.exons
                    } else {
                        &introns
                    },
                )
            }
            70..=84 => {
                let utr = utr_spans(tx);
                pick_in(&mut rng, if utr.is_empty() { &tx.exons } else { &utr })
            }
            _ => {
                let s = tx.exons[0].0.saturating_sub(300);
                let e = tx.exons.last().unwrap().1 + 300;
                Some(s + rng.below(e - s + 1))
            }
        };
        let Some(p) = pos.filter(|&p| p >= 2 && p + 32 <= len) else {
            continue;
        };
        let at = |i: u64| m.seq[(i - 1) as usize];
        let kind = rng.below(100);
        let (vpos, reference, alt) = match kind {
            0..=49 => {
                let r = at(p);
                (p, vec![r], vec![rng.base_not(r)])
            }
            50..=67 => {
                let d = 1 + rng.below(30);
                let reference: Vec<u8> = (p - 1..p + d).map(at).collect();
                (p - 1, reference, vec![at(p - 1)])
            }
            68..=84 => {
                let d = 1 + rng.below(30);
                let mut alt = vec![at(p)];
                alt.extend((0..d).map(|_| rng.base()));
                (p, vec![at(p)], alt)
            }
            _ => {
                let k = 2 + rng.below(2);
                let reference: Vec<u8> = (p..p + k).map(at).collect();
                let alt = reference.iter().map(|&b| rng.base_not(b)).collect();
                (p, reference, alt)
            }
        };
        if !reference.iter().chain(&alt).all(|b| b"ACGT".contains(b)) {
            continue;
        }
        out.insert((
            vpos,
            String::from_utf8(reference).unwrap(),
            String::from_utf8(alt).unwrap(),
        ));
    }
    assert_eq!(out.len(), n, "{}: could not place {n} variants", m.name);
    out.into_iter().collect()
}

fn write_vcf(path: &Path, m: &Model, variants: &[(u64, String, String)]) {
    let mut s = format!(
        "##fileformat=VCFv4.2\n##contig=<ID={},length={}>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
        m.chrom,
        m.seq.len()
    );
    for (pos, r, a) in variants {
        let _ = writeln!(s, "{}\t{pos}\t.\t{r}\t{a}\t.\t.\t.", m.chrom);
    }
    std::fs::write(path, s).unwrap();
}

// ---------------------------------------------------------------------------
// SnpEff
// ---------------------------------------------------------------------------

/// NCBI translation table 2, in SnpEff's config notation (`+` marks start
/// codons), for a config that does not inherit the system one's tables.
const VERTEBRATE_MITOCHONDRIAL: &str = "TTT/F, TTC/F, TTA/L, TTG/L, TCT/S, TCC/S, TCA/S, TCG/S, TAT/Y, TAC/Y, TAA/*, TAG/*, TGT/C, TGC/C, TGA/W, TGG/W, CTT/L, CTC/L, CTA/L, CTG/L, CCT/P, CCC/P, CCA/P, CCG/P, CAT/H, CAC/H, CAA/Q, CAG/Q, CGT/R, CGC/R, CGA/R, CGG/R, ATT/I+, ATC/I+, ATA/M+, ATG/M+, ACT/T, ACC/T, ACA/T, ACG/T, AAT/N, AAC/N, AAA/K, AAG/K, AGT/S, AGC/S, AGA/*, AGG/*, GTT/V, GTC/V, GTA/V, GTG/V+, GCT/A, GCC/A, GCA/A, GCG/A, GAT/D, GAC/D, GAA/E, GAG/E, GGT/G, GGC/G, GGA/G, GGG/G";

/// Builds a SnpEff database of `m` in `dir` and annotates `vcf` with it
/// (all transcripts, no statistics, nothing sent or fetched: `-noLog`,
/// `-nodownload`); the output VCF's text.
fn run_snpeff(m: &Model, dir: &Path, vcf: &Path) -> Result<String, String> {
    let genome = "gas";
    let data = dir.join("data").join(genome);
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    // SnpEff takes GFF3 ids as they are: drop Ensembl's type prefixes so
    // its transcript ids are the ones GAS and bcftools print.
    let gff = std::fs::read_to_string(&m.gff).map_err(|e| e.to_string())?;
    let mut stripped = String::with_capacity(gff.len());
    for line in gff.lines() {
        let mut l = line.to_owned();
        for attr in ["ID=", "Parent="] {
            for prefix in ["gene:", "transcript:", "CDS:", "exon:"] {
                l = l.replace(&format!("{attr}{prefix}"), attr);
            }
        }
        stripped.push_str(&l);
        stripped.push('\n');
    }
    std::fs::write(data.join("genes.gff"), stripped).map_err(|e| e.to_string())?;
    std::fs::copy(&m.fasta, data.join("sequences.fa")).map_err(|e| e.to_string())?;
    let mut config = format!("data.dir = ./data/\n{genome}.genome : {genome}\n");
    if m.mito {
        let _ = writeln!(
            config,
            "codon.Vertebrate_Mitochondrial : {VERTEBRATE_MITOCHONDRIAL}"
        );
        let _ = writeln!(
            config,
            "{genome}.{}.codonTable : Vertebrate_Mitochondrial",
            m.chrom
        );
    }
    std::fs::write(dir.join("snpEff.config"), config).map_err(|e| e.to_string())?;
    run(Command::new("snpEff")
        .current_dir(dir)
        .args([
            "build",
            "-c",
            "snpEff.config",
            "-gff3",
            "-noCheckCds",
            "-noCheckProtein",
        ])
        .args(["-noLog", genome]))?;
    run(Command::new("snpEff")
        .current_dir(dir)
        .args([
            "ann",
            "-c",
            "snpEff.config",
            "-noLog",
            "-noStats",
            "-nodownload",
        ])
        .arg(genome)
        .arg(vcf))
}

/// SnpEff calls `splice_region_variant` within a few bases of the ends of
/// single-exon transcripts (MT's tRNAs, rRNAs and mRNAs), where there is no
/// splice site; VEP, bcftools and the SO definition tie the splice region
/// to an intron. That term is dropped from SnpEff's calls on single-exon
/// transcripts (docs/CSQ-PEERS.md).
fn snpeff_without_terminal_splice(m: &Model, mut calls: Calls) -> Calls {
    let single: BTreeSet<&str> = m
        .txs
        .iter()
        .filter(|t| t.exons.len() == 1)
        .map(|t| t.id.as_str())
        .collect();
    for site in calls.values_mut() {
        for (tx, call) in site.txs.iter_mut() {
            if single.contains(tx.as_str()) {
                call.terms
                    .remove(&gas_annotate::Consequence::SpliceRegionVariant);
            }
        }
    }
    calls
}

// ---------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------

/// The one exclusion rule here (every oracle runs one record at a time, so
/// bcftools' haplotype rules never apply): upstream and downstream calls
/// are distance features, not consequences of a change to the transcript;
/// bcftools reports none, SnpEff and VEP within 5 kb. Calls with no VEP
/// term are left out too (`no-vep-term`).
fn oracle_exclude(_: &Key, _: &Site, call: &TxCall) -> Option<&'static str> {
    use gas_annotate::Consequence::{DownstreamGeneVariant, UpstreamGeneVariant};
    matches!(
        call.class(),
        Some(UpstreamGeneVariant | DownstreamGeneVariant)
    )
    .then_some("upstream-downstream")
}

struct Outputs {
    model: String,
    gas: Result<Calls, String>,
    bcftools: Option<Result<Calls, String>>,
    snpeff: Option<Result<Calls, String>>,
    variants: usize,
}

fn run_all(with_gas: bool) -> Option<Vec<Outputs>> {
    let have_bcftools = on_path("bcftools");
    let have_snpeff = on_path("snpEff");
    if !have_bcftools {
        skip("bcftools is not installed: no bcftools oracle");
    }
    if !have_snpeff {
        skip("snpEff is not installed: no SnpEff oracle (apt-get install snpeff)");
    }
    if !have_bcftools && !have_snpeff {
        return None;
    }
    let models = models();
    if models.is_empty() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for m in &models {
        let n = if m.mito {
            MT_VARIANTS
        } else {
            NUCLEAR_VARIANTS
        };
        let variants = generate(m, n);
        let dir = tmp.path().join(&m.name);
        std::fs::create_dir_all(&dir).unwrap();
        let vcf = dir.join("in.vcf");
        write_vcf(&vcf, m, &variants);
        let gas = if with_gas {
            run_gas(&m.gff, &m.fasta, &vcf, &dir.join("gas.vcf")).and_then(|t| parse_vep_vcf(&t))
        } else {
            Err("not run".into())
        };
        // bcftools 1.16 has no genetic-code option: nuclear transcripts only.
        let bcftools = (have_bcftools && !m.mito)
            .then(|| run_bcftools_local(&m.gff, &m.fasta, &vcf).map(|t| parse_bcsq_vcf(&t)));
        let snpeff = have_snpeff.then(|| {
            let sdir = dir.join("snpeff");
            run_snpeff(m, &sdir, &vcf)
                .map(|t| snpeff_without_terminal_splice(m, parse_snpeff_vcf(&t)))
        });
        out.push(Outputs {
            model: m.name.clone(),
            gas,
            bcftools,
            snpeff,
            variants: variants.len(),
        });
    }
    Some(out)
}

/// A report section: one oracle against one subject over every model.
fn section<'a>(
    md: &mut String,
    title: &str,
    missing: &str,
    outputs: &'a [Outputs],
    oracle: impl Fn(&'a Outputs) -> Option<&'a Result<Calls, String>>,
    subject: impl Fn(&'a Outputs) -> &'a Result<Calls, String>,
) -> Option<Comparison> {
    let mut all = Comparison::default();
    let mut any = false;
    let _ = writeln!(md, "## {title}\n");
    for o in outputs {
        let Some(want) = oracle(o) else {
            continue;
        };
        any = true;
        let want = match want {
            Ok(c) => c,
            Err(e) => {
                all.errors.push(format!("{} (oracle): {e}", o.model));
                continue;
            }
        };
        let empty = Calls::new();
        let got = match subject(o) {
            Ok(c) => c,
            Err(e) => {
                all.errors.push(format!("{} (subject): {e}", o.model));
                &empty
            }
        };
        let mut one = Comparison::default();
        one.add(&o.model, want, got, &oracle_exclude);
        let t = one.total();
        let _ = writeln!(
            md,
            "- {}: {} variants, {} transcript calls compared, class agreement {:.1} %",
            o.model,
            o.variants,
            t.compared(),
            100.0 * t.rate()
        );
        all.add(&o.model, want, got, &oracle_exclude);
    }
    if !any {
        md.push_str("(oracle not run)\n\n");
        return None;
    }
    md.push('\n');
    md.push_str(&all.markdown(missing));
    if !all.errors.is_empty() {
        md.push_str("Runs that failed:\n\n");
        for e in &all.errors {
            let _ = writeln!(md, "- {e}");
        }
        md.push('\n');
    }
    md.push_str("Class differences (first 60):\n\n");
    for d in all.differences.iter().take(60) {
        let _ = writeln!(md, "- {d}");
    }
    md.push_str("\nAmino-acid differences (first 30):\n\n");
    for d in all.aa_differences.iter().take(30) {
        let _ = writeln!(md, "- {d}");
    }
    md.push('\n');
    Some(all)
}

fn check(name: &str, cmp: &Comparison, report: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    let total = cmp.total();
    let snv = cmp.by_kind.get("SNV").copied().unwrap_or_default();
    if !cmp.errors.is_empty() {
        failures.push(format!("{name}: runs failed: {}", cmp.errors.join("; ")));
    }
    if total.compared() == 0 {
        failures.push(format!("{name}: nothing compared"));
        return failures;
    }
    if snv.rate() < SNV_CLASS_THRESHOLD || total.rate() < ALL_CLASS_THRESHOLD {
        failures.push(format!(
            "{name}: class agreement {:.1} % on SNVs (threshold {:.0} %), {:.1} % overall \
             (threshold {:.0} %) of {} calls; report {}\n{}examples:\n{}",
            100.0 * snv.rate(),
            100.0 * SNV_CLASS_THRESHOLD,
            100.0 * total.rate(),
            100.0 * ALL_CLASS_THRESHOLD,
            total.compared(),
            report.display(),
            cmp.markdown("GAS-missing"),
            cmp.differences
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    failures
}

#[test]
fn gas_agrees_with_bcftools_and_snpeff_on_random_variants() {
    let Some(outputs) = run_all(true) else {
        return;
    };
    let mut md =
        String::from("# GAS against bcftools csq and SnpEff on seeded random variants\n\n");
    let bcf = section(
        &mut md,
        "bcftools csq -l (oracle) vs GAS",
        "GAS-missing",
        &outputs,
        |o| o.bcftools.as_ref(),
        |o| &o.gas,
    );
    let se = section(
        &mut md,
        "SnpEff (oracle) vs GAS",
        "GAS-missing",
        &outputs,
        |o| o.snpeff.as_ref(),
        |o| &o.gas,
    );
    let report = target_dir().join("csq-oracles/report.md");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    std::fs::write(&report, &md).unwrap();
    println!("{md}");
    let mut failures = Vec::new();
    if let Some(c) = &bcf {
        failures.extend(check("bcftools", c, &report));
    }
    if let Some(c) = &se {
        failures.extend(check("SnpEff", c, &report));
    }
    if bcf.is_none() && se.is_none() && required() {
        failures.push("no oracle ran".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The harness itself, without GAS: bcftools (subject) against SnpEff
/// (oracle) and the reverse, on the nuclear transcripts; only reports.
#[test]
#[ignore = "harness self-check: cargo test -p gas --test csq_oracles -- --ignored"]
fn bcftools_and_snpeff_compared() {
    let Some(outputs) = run_all(false) else {
        return;
    };
    let mut md = String::from(
        "# bcftools csq and SnpEff on seeded random variants (harness self-check)\n\n",
    );
    let empty: Result<Calls, String> = Ok(Calls::new());
    let a = section(
        &mut md,
        "bcftools csq -l (oracle) vs SnpEff",
        "SnpEff-missing",
        &outputs,
        |o| o.bcftools.as_ref(),
        |o| o.snpeff.as_ref().unwrap_or(&empty),
    );
    let b = section(
        &mut md,
        "SnpEff (oracle) vs bcftools csq -l, nuclear transcripts",
        "bcftools-missing",
        &outputs,
        |o| o.bcftools.as_ref().and(o.snpeff.as_ref()),
        |o| o.bcftools.as_ref().unwrap_or(&empty),
    );
    let report = target_dir().join("csq-oracles/self-check.md");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    std::fs::write(&report, &md).unwrap();
    println!("{md}");
    for c in [a, b].iter().flatten() {
        assert!(c.errors.is_empty(), "{}", c.errors.join("\n"));
        assert!(c.total().compared() > 500, "too little compared");
    }
}
