//! The vocabularies the index codes as integers: VEP's consequence terms
//! (Sequence Ontology) and its four impacts.

/// Ensembl VEP's consequence terms, most severe first (the order of
/// `Bio::EnsEMBL::Variation::Utils::Constants` `%OVERLAP_CONSEQUENCES` by
/// rank). A term's position is its bit in a consequence mask.
pub const CONSEQUENCES: &[&str] = &[
    "transcript_ablation",
    "splice_acceptor_variant",
    "splice_donor_variant",
    "stop_gained",
    "frameshift_variant",
    "stop_lost",
    "start_lost",
    "transcript_amplification",
    "feature_elongation",
    "feature_truncation",
    "inframe_insertion",
    "inframe_deletion",
    "missense_variant",
    "protein_altering_variant",
    "splice_donor_5th_base_variant",
    "splice_region_variant",
    "splice_donor_region_variant",
    "splice_polypyrimidine_tract_variant",
    "incomplete_terminal_codon_variant",
    "start_retained_variant",
    "stop_retained_variant",
    "synonymous_variant",
    "coding_sequence_variant",
    "mature_miRNA_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "non_coding_transcript_exon_variant",
    "intron_variant",
    "NMD_transcript_variant",
    "non_coding_transcript_variant",
    "coding_transcript_variant",
    "upstream_gene_variant",
    "downstream_gene_variant",
    "TFBS_ablation",
    "TFBS_amplification",
    "TF_binding_site_variant",
    "regulatory_region_ablation",
    "regulatory_region_amplification",
    "regulatory_region_variant",
    "intergenic_variant",
    "sequence_variant",
];

/// The bit of a consequence term (case as VEP writes it), if it is one.
pub fn consequence_bit(term: &str) -> Option<u32> {
    CONSEQUENCES
        .iter()
        .position(|t| *t == term)
        .map(|i| i as u32)
}

/// The mask of a CSQ `Consequence` value (`&`-joined terms); terms VEP
/// does not know set no bit.
pub fn consequence_mask(value: &str) -> i64 {
    value
        .split('&')
        .filter_map(consequence_bit)
        .fold(0i64, |mask, bit| mask | (1i64 << bit))
}

/// VEP's impacts, lowest first; the code is the position.
pub const IMPACTS: &[&str] = &["MODIFIER", "LOW", "MODERATE", "HIGH"];

/// An impact's code (case-insensitive), if it is one.
pub fn impact_code(value: &str) -> Option<i64> {
    IMPACTS
        .iter()
        .position(|i| i.eq_ignore_ascii_case(value))
        .map(|i| i as i64)
}

/// The impact a code stands for.
pub fn impact_name(code: i64) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| IMPACTS.get(i).copied())
}

/// A contig name as both naming styles agree on it: without a `chr`
/// prefix, upper case, `M` as `MT` (so `chr1`/`1` and `chrM`/`MT` meet).
pub fn contig_key(name: &str) -> String {
    let bare = match name.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("chr") && name.len() > 3 => &name[3..],
        _ => name,
    };
    let upper = bare.to_ascii_uppercase();
    if upper == "M" {
        "MT".to_string()
    } else {
        upper
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_codes() {
        assert_eq!(CONSEQUENCES.len(), 41);
        let m = consequence_mask("missense_variant&splice_region_variant&made_up");
        assert_eq!(m, (1 << 12) | (1 << 15));
        assert_eq!(impact_code("high"), Some(3));
        assert_eq!(impact_code("severe"), None);
        assert_eq!(impact_name(0), Some("MODIFIER"));
        assert_eq!(impact_name(4), None);
    }

    #[test]
    fn contig_styles_meet() {
        assert_eq!(contig_key("chr1"), "1");
        assert_eq!(contig_key("1"), "1");
        assert_eq!(contig_key("chrM"), "MT");
        assert_eq!(contig_key("MT"), "MT");
        assert_eq!(contig_key("chrx"), "X");
        assert_eq!(contig_key("chr"), "CHR");
        assert_eq!(contig_key("GL000192.1"), "GL000192.1");
    }
}
