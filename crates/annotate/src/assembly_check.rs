//! Warnings about a run as a whole: the input and the tracks on
//! different genome assemblies, by what their headers name and by how
//! often their REF alleles disagree.

use crate::stats::Stats;
use crate::track::{Track, TrackKind};

/// REF comparisons with VCF tracks needed before their disagreement can
/// count as evidence.
const MIN_REF_COMPARISONS: u64 = 20;
/// The share of disagreeing REF alleles above which the input is taken not
/// to be on the tracks' assembly. On the same assembly it is near 0; on
/// another one, positions point at unrelated bases and about 3 in 4 differ.
const MAX_REF_DISAGREEMENT: f64 = 0.1;

/// The warnings about the assembly of a run: the input's header names an
/// assembly other than a track's, or its REF alleles disagree with the VCF
/// tracks' far more than chance (more than 10% of at least 20 positions).
pub(crate) fn warnings(stats: &Stats, tracks: &[Track]) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(input) = &stats.input_assembly {
        let mut others: Vec<&str> = tracks
            .iter()
            .map(Track::assembly)
            .filter(|a| a != input)
            .collect();
        others.sort_unstable();
        others.dedup();
        if !others.is_empty() {
            warnings.push(format!(
                "input says {input} but tracks are {}; coordinates may not match, so GENE and ID annotations may be wrong",
                others.join(", ")
            ));
        }
    }
    let (checked, mismatches) = (stats.ref_checked, stats.ref_mismatches);
    if checked >= MIN_REF_COMPARISONS && mismatches as f64 > MAX_REF_DISAGREEMENT * checked as f64 {
        let names: Vec<&str> = tracks
            .iter()
            .filter(|t| t.kind() == TrackKind::Vcf)
            .map(Track::name)
            .collect();
        warnings.push(format!(
            "REF alleles disagree with {} at {mismatches} of {checked} shared positions ({:.1}%; near 0% on the same assembly): the input is probably not on the tracks' assembly",
            names.join(", "),
            100.0 * mismatches as f64 / checked as f64
        ));
    }
    warnings
}
