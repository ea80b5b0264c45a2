//! The embedded default tracks ([`gas_annotate::reference`]) on the GAS
//! sample VCFs: real genes and dbSNP ids out of the box, and plain warnings
//! for the samples that are not on GRCh37.
//!
//! The samples live in the shared data folder beside the repository
//! checkout; without it these tests print a notice and pass.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gas_annotate::{annotate_file, reference, Options, Stats, Track};

fn sample(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/samples")
        .join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("NOTICE: {} not found; skipping", path.display());
        None
    }
}

/// The default tracks, loaded once per test binary.
fn default_tracks() -> &'static [Track] {
    static TRACKS: OnceLock<Vec<Track>> = OnceLock::new();
    TRACKS.get_or_init(|| reference::default_tracks().expect("the embedded tracks load"))
}

/// Annotates the sample `name` with the default tracks; the output text
/// and the stats.
fn annotate_sample(name: &str) -> Option<(String, Stats)> {
    let input = sample(name)?;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join(name);
    let mut options = Options::default();
    options.tracks = default_tracks().to_vec();
    let stats = annotate_file(&input, &output, &options, &mut |_| {})
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    Some((std::fs::read_to_string(&output).unwrap(), stats))
}

fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

fn gene<'a>(record: &[&'a str]) -> Option<&'a str> {
    record[7]
        .split(';')
        .find_map(|entry| entry.strip_prefix("GENE="))
}

/// premium_2.vcf (chromosome 1, no assembly in its header) has 32 records
/// matching dbSNP common SNVs on GRCh37, all inside genes, so the embedded
/// subset finds every one.
#[test]
fn premium_2_gets_genes_and_all_32_dbsnp_ids() {
    let Some((output, stats)) = annotate_sample("premium_2.vcf") else {
        return;
    };
    // The sample already has ids; the annotator replaces them with dbSNP's
    // where a site matches and keeps them elsewhere.
    assert_eq!(stats.with_id, 32);
    let input = std::fs::read_to_string(sample("premium_2.vcf").unwrap()).unwrap();
    let before: Vec<Vec<&str>> = records(&input).collect();
    let after: Vec<Vec<&str>> = records(&output).collect();
    assert_eq!(before.len(), after.len());
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(before[..2], after[..2]);
        assert!(
            after[2] == before[2] || after[2].starts_with("rs"),
            "{after:?}"
        );
    }
    let genes: Vec<&str> = records(&output).filter_map(|r| gene(&r)).collect();
    assert_eq!(stats.in_genes, genes.len() as u64);
    assert!(
        stats.in_genes * 2 > stats.variants,
        "{} of {} in genes",
        stats.in_genes,
        stats.variants
    );
    assert!(genes.iter().all(|g| !g.is_empty()));
    assert!(
        stats.warnings.is_empty(),
        "premium_2 is on GRCh37: {:?}",
        stats.warnings
    );
    let log = stats.render_log("premium_2.vcf");
    assert!(log.contains(reference::GENES_NAME), "{log}");
    assert!(log.contains(reference::DBSNP_NAME), "{log}");
    assert!(!log.contains("WARNING"), "{log}");
}

/// Three samples say NCBI36 in their header: the job must say so.
#[test]
fn ncbi36_samples_warn_with_the_default_tracks() {
    for name in ["free_2.vcf", "premium_1.vcf", "premium_3.vcf"] {
        let Some((_, stats)) = annotate_sample(name) else {
            return;
        };
        assert_eq!(stats.input_assembly.as_deref(), Some("NCBI36"), "{name}");
        assert!(
            stats
                .warnings
                .iter()
                .any(|w| w.contains("NCBI36") && w.contains("GRCh37")),
            "{name}: {:?}",
            stats.warnings
        );
        let log = stats.render_log(name);
        let first = log.lines().nth(1).unwrap_or_default();
        assert!(first.starts_with("WARNING: input says NCBI36"), "{log}");
    }
}

/// The mitochondrial samples (rCRS, which GRCh37's chrM is) get MT genes and
/// no assembly warning.
#[test]
fn mitochondrial_samples_get_mt_genes_without_warnings() {
    for name in ["test.vcf", "free_1.vcf"] {
        let Some((output, stats)) = annotate_sample(name) else {
            return;
        };
        assert!(stats.warnings.is_empty(), "{name}: {:?}", stats.warnings);
        assert!(stats.in_genes > 0, "{name}");
        assert!(
            records(&output)
                .filter_map(|r| gene(&r))
                .all(|g| g.split(',').all(|g| g.starts_with("MT-"))),
            "{name}"
        );
    }
}

/// The vertebrate mitochondrial code (NCBI table 2), codons in TCAG order.
fn translate_mt(cds: &[u8]) -> String {
    const AMINO: &[u8; 64] = b"FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSS**VVVVAAAADDEEGGGG";
    let index = |b: u8| match b {
        b'T' => 0,
        b'C' => 1,
        b'A' => 2,
        b'G' => 3,
        other => panic!("base {}", char::from(other)),
    };
    cds.chunks_exact(3)
        .map(|c| char::from(AMINO[16 * index(c[0]) + 4 * index(c[1]) + index(c[2])]))
        .collect()
}

/// The embedded mitochondrial models load whole: 37 genes, 13 coding, in
/// Ensembl's biotypes, with nothing skipped.
#[test]
fn mt_transcripts_load_without_warnings() {
    let index = reference::mt_transcripts().unwrap();
    assert_eq!((index.len(), index.gene_count()), (37, 37));
    assert!(index.warnings().is_empty(), "{}", index.warnings());
    assert_eq!(index.warnings().phase_disagreements, 0);
    // MT-ND1, ND2, CO3, ND3, ND4 and CYB end in T or TA.
    assert_eq!(index.warnings().polya_stops, 6);
    assert_eq!(index.genome_build(), Some("GRCh38 (rCRS, NC_012920.1)"));
    let mut biotypes: Vec<&str> = index.transcripts().map(|t| t.biotype()).collect();
    biotypes.sort_unstable();
    biotypes.dedup();
    assert_eq!(biotypes, ["Mt_rRNA", "Mt_tRNA", "protein_coding"]);
    for t in index.transcripts() {
        assert!(t.is_mitochondrial(), "{}", t.id());
        assert!(t.is_canonical() && t.is_basic(), "{}", t.id());
        assert_eq!(t.contig(), "MT");
        assert_eq!(t.exons().len(), 1, "{}", t.id());
        assert!(t.end() <= reference::MT_LENGTH as u32);
        let name = t.gene().name().unwrap();
        assert!(name.starts_with("MT-"), "{name}");
        assert_eq!(t.id(), format!("{}_t1", name.replace('-', "_")));
        assert!(!t.id().starts_with("ENS"));
        assert_eq!(t.is_coding(), t.biotype() == "protein_coding", "{name}");
        if t.is_coding() {
            assert!(t.gene().id().starts_with("ENSG"), "{name}");
            assert_eq!(
                t.protein_id(),
                Some(format!("{}_p1", name.replace('-', "_")).as_str())
            );
            // No UTRs: the CDS is the whole transcript.
            assert_eq!(t.coding_range(), Some((t.start(), t.end())), "{name}");
            assert_eq!(
                (t.cdna_coding_start(), t.cdna_coding_end()),
                (Some(1), Some(t.cdna_len())),
                "{name}"
            );
        } else {
            assert_eq!(t.gene().id(), name);
        }
    }
    assert_eq!(index.transcripts().filter(|t| t.is_coding()).count(), 13);
    let nd6 = index.find("MT_ND6_t1").unwrap();
    assert_eq!(nd6.strand(), gas_annotate::transcript::Strand::Reverse);
    assert_eq!((nd6.start(), nd6.end()), (14149, 14673));
    assert_eq!(nd6.gene().id(), "ENSG00000198695");
    // Looked up under any name of the contig.
    let hits: Vec<&str> = index
        .overlapping("chrM", 3308, 3308, 0)
        .map(|t| t.gene().name().unwrap())
        .collect();
    assert_eq!(hits, ["MT-ND1"]);
}

/// The embedded rCRS: 16,569 bases under `MT`, found as `chrM` too.
#[test]
fn mt_reference_is_the_rcrs() {
    let genome = reference::mt_reference().unwrap();
    assert_eq!(genome.path(), Path::new(reference::MT_REFERENCE_NAME));
    assert_eq!(
        genome.contigs().collect::<Vec<_>>(),
        [("MT", reference::MT_LENGTH)]
    );
    for name in ["MT", "chrM", "M", "chrMT"] {
        assert_eq!(genome.contig_name(name), Some("MT"), "{name}");
        assert_eq!(genome.contig_len(name), Some(16_569), "{name}");
    }
    assert_eq!(genome.fetch("chrM", 0, 10).unwrap(), b"GATCACAGGT");
    // The rCRS keeps an N at 3107, where the original Cambridge sequence
    // had a base in error, so that the numbering is unchanged.
    assert_eq!(genome.fetch("MT", 3106, 3107).unwrap(), b"N");
    // The committed MT.fa with its .fai reads the same from disk.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mt/MT.fa");
    let on_disk = gas_annotate::Reference::open(&path).unwrap();
    assert_eq!(
        on_disk.fetch("MT", 0, 16_569).unwrap(),
        genome.fetch("MT", 0, 16_569).unwrap()
    );
}

/// Every embedded CDS translates with the mitochondrial code to its known
/// protein: a start codon, no stop inside, and the expected length.
#[test]
fn mt_coding_sequences_translate() {
    let index = reference::mt_transcripts().unwrap();
    let genome = reference::mt_reference().unwrap();
    let cds = |name: &str| {
        index
            .find(&format!("{}_t1", name.replace('-', "_")))
            .unwrap()
            .coding_sequence(&genome)
            .unwrap()
    };
    assert!(cds("MT-CO1").starts_with(b"ATG"));
    assert!(cds("MT-ND2").starts_with(b"ATT"));
    let lengths = [
        ("MT-ND1", 318),
        ("MT-ND2", 347),
        ("MT-CO1", 513),
        ("MT-CO2", 227),
        ("MT-ATP8", 68),
        ("MT-ATP6", 226),
        ("MT-CO3", 261),
        ("MT-ND3", 115),
        ("MT-ND4L", 98),
        ("MT-ND4", 459),
        ("MT-ND5", 603),
        ("MT-ND6", 174),
        ("MT-CYB", 380),
    ];
    for (name, aa) in lengths {
        let t = index
            .find(&format!("{}_t1", name.replace('-', "_")))
            .unwrap();
        let seq = cds(name);
        assert_eq!(seq.len() as u32, t.cds_len().unwrap(), "{name}");
        assert!(
            [&b"ATG"[..], b"ATA", b"ATT", b"ATC", b"GTG"].contains(&&seq[..3]),
            "{name}"
        );
        let mut protein = translate_mt(&seq);
        let partial = &seq[seq.len() / 3 * 3..];
        if partial.is_empty() {
            assert!(!t.stop_completed_by_polya(), "{name}");
            assert_eq!(protein.pop(), Some('*'), "{name}");
        } else {
            // TA or T, made TAA by the poly(A) tail.
            assert!(t.stop_completed_by_polya(), "{name}");
            assert!(partial == b"T" || partial == b"TA", "{name}");
        }
        assert!(!protein.contains('*'), "{name}: {protein}");
        assert_eq!(protein.len(), aa, "{name}");
    }
    // ND6 is read on the reverse strand: its CDS is the reverse complement
    // of the forward bases.
    let mut forward = genome.fetch("MT", 14148, 14673).unwrap();
    gas_annotate::fasta::reverse_complement(&mut forward);
    assert_eq!(cds("MT-ND6"), forward);
}
