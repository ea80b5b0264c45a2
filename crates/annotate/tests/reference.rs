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
