//! The vocabulary of a VEP-compatible consequence annotator: the
//! Sequence Ontology terms Ensembl VEP reports ([`Consequence`]), their
//! IMPACT ([`Impact`]) and severity order, sets of them as one CSQ entry
//! carries them ([`ConsequenceSet`]), and the layout of VEP's `INFO/CSQ`
//! field ([`csq`]).
//!
//! Keeping VEP's exact spellings and order matters because the output is
//! meant to be read by tools written for VEP (`bcftools +split-vep`,
//! `filter_vep`, downstream pipelines) and compared with VEP and
//! bcftools csq output term by term.

mod allele;
mod annotator;
pub mod codon;
pub mod csq;
mod predict;
#[cfg(test)]
mod predict_tests;
mod sequence;
mod terms;

use std::fmt;

pub use allele::{shifted, Allele, NotAnnotated, Room, MAX_SHIFT};
pub use annotator::{
    ConsequenceTally, ConsequenceWorker, Consequences, CsqOut, HashingReader, Pick, RecordOutcome,
    SharedConsequences, Source, MAX_HIGH_IMPACT_GENES,
};
pub use predict::{hgvsc, predict, Effect, Numbers, FLANK};
pub use sequence::{is_start_codon, translate_cds, CodingSequence, SequenceCache};
pub use terms::{Consequence, Impact, UnknownTerm};

/// A set of [`Consequence`]s: what one allele does to one feature.
///
/// A bitset over the 41 terms (one `u64`), so it is `Copy`, cheap to build
/// per transcript, and iterates in severity order for free (bit *i* is the
/// term of rank *i* + 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ConsequenceSet(u64);

impl ConsequenceSet {
    /// The empty set.
    pub const fn new() -> Self {
        ConsequenceSet(0)
    }

    fn bit(c: Consequence) -> u64 {
        1 << (c.rank() - 1)
    }

    /// Adds `c`; returns whether it was new.
    pub fn insert(&mut self, c: Consequence) -> bool {
        let new = !self.contains(c);
        self.0 |= Self::bit(c);
        new
    }

    /// Removes `c`; returns whether it was present.
    pub fn remove(&mut self, c: Consequence) -> bool {
        let had = self.contains(c);
        self.0 &= !Self::bit(c);
        had
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Consequence) -> bool {
        self.0 & Self::bit(c) != 0
    }

    /// The set as bits (bit *i* is the term of rank *i* + 1): a key for
    /// the set, as [`crate::WrittenEntry`] gives it.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of terms in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The most severe member (lowest [`Consequence::rank`]), as VEP's
    /// `--most_severe` and `--pick` rank them.
    pub fn most_severe(self) -> Option<Consequence> {
        self.iter().next()
    }

    /// The highest impact among the members, which is what VEP writes in
    /// the entry's `IMPACT` field; `None` for an empty set.
    ///
    /// Not simply the impact of [`ConsequenceSet::most_severe`]: the rank
    /// order and the impacts disagree in places (`TFBS_ablation` is
    /// MODERATE but ranks below MODIFIER terms), so the maximum is taken.
    pub fn impact(self) -> Option<Impact> {
        self.iter().map(Consequence::impact).min()
    }

    /// The members, most severe first.
    pub fn iter(self) -> Iter {
        Iter(self.0)
    }
}

impl FromIterator<Consequence> for ConsequenceSet {
    fn from_iter<I: IntoIterator<Item = Consequence>>(iter: I) -> Self {
        let mut set = ConsequenceSet::new();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

impl Extend<Consequence> for ConsequenceSet {
    fn extend<I: IntoIterator<Item = Consequence>>(&mut self, iter: I) {
        for c in iter {
            self.insert(c);
        }
    }
}

impl IntoIterator for ConsequenceSet {
    type Item = Consequence;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

/// Iterator over a [`ConsequenceSet`], most severe first.
#[derive(Debug, Clone)]
pub struct Iter(u64);

impl Iterator for Iter {
    type Item = Consequence;

    fn next(&mut self) -> Option<Consequence> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(Consequence::ALL[i])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter {}

impl fmt::Display for ConsequenceSet {
    /// The SO terms joined with `&`, most severe first: the form of VEP's
    /// CSQ `Consequence` field (`splice_region_variant&intron_variant`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            f.write_str(c.so_term())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Consequence as C;

    #[test]
    fn table_spot_checks() {
        // (term, accession, impact, rank) from VEP's consequence table.
        let rows: &[(&str, &str, Impact, u8)] = &[
            ("transcript_ablation", "SO:0001893", Impact::High, 1),
            ("splice_acceptor_variant", "SO:0001574", Impact::High, 2),
            ("stop_gained", "SO:0001587", Impact::High, 4),
            ("feature_truncation", "SO:0001906", Impact::High, 10),
            ("missense_variant", "SO:0001583", Impact::Moderate, 13),
            (
                "protein_altering_variant",
                "SO:0001818",
                Impact::Moderate,
                14,
            ),
            (
                "splice_donor_5th_base_variant",
                "SO:0001787",
                Impact::Low,
                15,
            ),
            (
                "splice_polypyrimidine_tract_variant",
                "SO:0002169",
                Impact::Low,
                18,
            ),
            ("synonymous_variant", "SO:0001819", Impact::Low, 22),
            (
                "coding_sequence_variant",
                "SO:0001580",
                Impact::Modifier,
                23,
            ),
            ("5_prime_UTR_variant", "SO:0001623", Impact::Modifier, 25),
            ("intron_variant", "SO:0001627", Impact::Modifier, 28),
            ("NMD_transcript_variant", "SO:0001621", Impact::Modifier, 29),
            (
                "coding_transcript_variant",
                "SO:0001968",
                Impact::Modifier,
                31,
            ),
            ("TFBS_ablation", "SO:0001895", Impact::Moderate, 34),
            ("intergenic_variant", "SO:0001628", Impact::Modifier, 40),
            ("sequence_variant", "SO:0001060", Impact::Modifier, 41),
        ];
        for &(term, acc, impact, rank) in rows {
            let c: Consequence = term.parse().unwrap();
            assert_eq!(c.so_accession(), acc, "{term}");
            assert_eq!(c.impact(), impact, "{term}");
            assert_eq!(c.rank(), rank, "{term}");
        }
    }

    #[test]
    fn all_is_in_rank_order_and_complete() {
        assert_eq!(Consequence::ALL.len(), 41);
        for (i, c) in Consequence::ALL.iter().enumerate() {
            assert_eq!(usize::from(c.rank()), i + 1);
        }
        assert!(Consequence::ALL.windows(2).all(|w| w[0] < w[1]));
        let mut accs: Vec<_> = Consequence::ALL.iter().map(|c| c.so_accession()).collect();
        accs.sort_unstable();
        accs.dedup();
        assert_eq!(accs.len(), 41);
    }

    #[test]
    fn from_str_display_round_trip() {
        for &c in Consequence::ALL {
            assert_eq!(c.to_string(), c.so_term());
            assert_eq!(c.so_term().parse::<Consequence>(), Ok(c));
        }
        assert!("Missense_variant".parse::<Consequence>().is_err());
        assert_eq!(
            "missense".parse::<Consequence>(),
            Err(UnknownTerm("missense".into()))
        );
        for i in [
            Impact::High,
            Impact::Moderate,
            Impact::Low,
            Impact::Modifier,
        ] {
            assert_eq!(i.to_string().parse::<Impact>(), Ok(i));
        }
    }

    #[test]
    fn set_most_severe_impact_and_order() {
        let mut s = ConsequenceSet::new();
        assert_eq!(s.most_severe(), None);
        assert_eq!(s.impact(), None);
        assert!(s.insert(C::IntronVariant));
        assert!(s.insert(C::SpliceRegionVariant));
        assert!(!s.insert(C::IntronVariant));
        assert!(s.insert(C::NmdTranscriptVariant));
        assert_eq!(s.len(), 3);
        assert_eq!(s.most_severe(), Some(C::SpliceRegionVariant));
        assert_eq!(s.impact(), Some(Impact::Low));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [
                C::SpliceRegionVariant,
                C::IntronVariant,
                C::NmdTranscriptVariant
            ]
        );
        assert!(s.remove(C::SpliceRegionVariant));
        assert_eq!(s.impact(), Some(Impact::Modifier));
        let all: ConsequenceSet = Consequence::ALL.iter().copied().collect();
        assert_eq!(all.len(), 41);
        assert_eq!(all.most_severe(), Some(C::TranscriptAblation));
        assert_eq!(all.iter().last(), Some(C::SequenceVariant));
    }

    #[test]
    fn set_impact_is_the_highest_not_the_most_severes() {
        // TFBS_ablation (MODERATE) ranks after upstream_gene_variant (MODIFIER).
        let s: ConsequenceSet = [C::UpstreamGeneVariant, C::TfbsAblation]
            .into_iter()
            .collect();
        assert_eq!(s.most_severe(), Some(C::UpstreamGeneVariant));
        assert_eq!(s.impact(), Some(Impact::Moderate));
    }

    #[test]
    fn set_display_joins_with_ampersand_in_severity_order() {
        let s: ConsequenceSet = [
            C::NonCodingTranscriptVariant,
            C::IntronVariant,
            C::SpliceRegionVariant,
            C::SplicePolypyrimidineTractVariant,
        ]
        .into_iter()
        .collect();
        assert_eq!(
            s.to_string(),
            "splice_region_variant&splice_polypyrimidine_tract_variant&intron_variant&non_coding_transcript_variant"
        );
        let one: ConsequenceSet = [C::MissenseVariant].into_iter().collect();
        assert_eq!(one.to_string(), "missense_variant");
        assert_eq!(ConsequenceSet::new().to_string(), "");
    }

    #[test]
    fn bcftools_mapping() {
        let pairs = [
            ("intergenic", C::IntergenicVariant),
            ("intron", C::IntronVariant),
            ("splice_acceptor", C::SpliceAcceptorVariant),
            ("splice_donor", C::SpliceDonorVariant),
            ("splice_region", C::SpliceRegionVariant),
            ("stop_gained", C::StopGained),
            ("stop_lost", C::StopLost),
            ("start_lost", C::StartLost),
            ("stop_retained", C::StopRetainedVariant),
            ("start_retained", C::StartRetainedVariant),
            ("missense", C::MissenseVariant),
            ("synonymous", C::SynonymousVariant),
            ("frameshift", C::FrameshiftVariant),
            ("inframe_insertion", C::InframeInsertion),
            ("inframe_deletion", C::InframeDeletion),
            ("5_prime_utr", C::FivePrimeUtrVariant),
            ("3_prime_utr", C::ThreePrimeUtrVariant),
            ("non_coding", C::NonCodingTranscriptExonVariant),
            ("coding_sequence", C::CodingSequenceVariant),
            ("NMD_transcript", C::NmdTranscriptVariant),
            ("feature_elongation", C::FeatureElongation),
        ];
        for (b, c) in pairs {
            assert_eq!(Consequence::from_bcftools(b), Some(c), "{b}");
        }
        assert_eq!(
            Consequence::from_bcftools("*missense"),
            Some(C::MissenseVariant)
        );
        assert_eq!(Consequence::from_bcftools("inframe_altering"), None);
        assert_eq!(Consequence::from_bcftools("missense_variant"), None);
        assert_eq!(Consequence::from_bcftools("5_prime_UTR"), None);
        assert_eq!(Consequence::from_bcftools(""), None);
    }
}
