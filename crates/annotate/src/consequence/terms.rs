//! The consequence terms themselves: [`Consequence`], [`Impact`] and the
//! bcftools csq names.
//!
//! Source of the table (terms, SO accessions, IMPACT and severity order):
//! Ensembl VEP's "Calculated variant consequences" page
//! (<https://www.ensembl.org/info/genome/variation/prediction/predicted_data.html>),
//! whose table is generated from `%OVERLAP_CONSEQUENCES` in ensembl-variation's
//! `modules/Bio/EnsEMBL/Variation/Utils/Constants.pm`; the values here were
//! checked against that file as of November 2025, where every term has a
//! distinct `rank` from 1 (`transcript_ablation`) to 41 (`sequence_variant`),
//! in the order the table lists them.

use std::fmt;
use std::str::FromStr;

/// VEP's IMPACT rating of a consequence.
///
/// Declared from most to least severe, so the derived `Ord` says
/// `High < Moderate < Low < Modifier`: the *minimum* of a set of impacts is
/// the most severe one, as with [`Consequence::rank`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    /// Assumed to have high (disruptive) impact on the protein.
    High,
    /// A non-disruptive variant that might change protein effectiveness.
    Moderate,
    /// Assumed to be mostly harmless.
    Low,
    /// Usually non-coding, or no evidence of impact.
    Modifier,
}

impl Impact {
    /// The string VEP writes in the CSQ `IMPACT` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::High => "HIGH",
            Impact::Moderate => "MODERATE",
            Impact::Low => "LOW",
            Impact::Modifier => "MODIFIER",
        }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the terms this module knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown consequence term {0:?}")]
pub struct UnknownTerm(pub String);

impl FromStr for Impact {
    type Err = UnknownTerm;

    /// Parses VEP's upper-case spelling (`HIGH`, `MODERATE`, `LOW`,
    /// `MODIFIER`), and nothing else, so a typo in an oracle file is noticed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "HIGH" => Ok(Impact::High),
            "MODERATE" => Ok(Impact::Moderate),
            "LOW" => Ok(Impact::Low),
            "MODIFIER" => Ok(Impact::Modifier),
            _ => Err(UnknownTerm(s.to_owned())),
        }
    }
}

/// Declares [`Consequence`] and its table in one place, so the variant
/// order, the SO term, the accession and the impact cannot drift apart.
macro_rules! consequences {
    ($( $(#[$doc:meta])* $variant:ident = $term:literal, $acc:literal, $impact:ident; )+) => {
        /// A Sequence Ontology consequence term, as Ensembl VEP reports it.
        ///
        /// Variants are declared in VEP's severity order (the order of the
        /// "Calculated variant consequences" table), so the derived `Ord`
        /// sorts the most severe first and [`Consequence::rank`] is the
        /// declaration position plus one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Consequence {
            $( $(#[$doc])* $variant, )+
        }

        impl Consequence {
            /// Every term, most severe first.
            pub const ALL: &'static [Consequence] = &[ $( Consequence::$variant, )+ ];

            /// The SO term, exactly as VEP writes it (`5_prime_UTR_variant`,
            /// `NMD_transcript_variant`, `TF_binding_site_variant`, ...).
            pub fn so_term(self) -> &'static str {
                match self { $( Consequence::$variant => $term, )+ }
            }

            /// The SO accession (`SO:0001893` style).
            pub fn so_accession(self) -> &'static str {
                match self { $( Consequence::$variant => $acc, )+ }
            }

            /// VEP's IMPACT rating.
            pub fn impact(self) -> Impact {
                match self { $( Consequence::$variant => Impact::$impact, )+ }
            }
        }

        impl FromStr for Consequence {
            type Err = UnknownTerm;

            /// Parses the exact SO term (case-sensitive, as VEP writes it).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $term => Ok(Consequence::$variant), )+
                    _ => Err(UnknownTerm(s.to_owned())),
                }
            }
        }
    };
}

consequences! {
    /// A feature ablation whereby the deleted region includes a transcript.
    TranscriptAblation = "transcript_ablation", "SO:0001893", High;
    /// Changes the 2 bases at the 3' end of an intron.
    SpliceAcceptorVariant = "splice_acceptor_variant", "SO:0001574", High;
    /// Changes the 2 bases at the 5' end of an intron.
    SpliceDonorVariant = "splice_donor_variant", "SO:0001575", High;
    /// Introduces a premature stop codon.
    StopGained = "stop_gained", "SO:0001587", High;
    /// Shifts the reading frame (length change not a multiple of 3).
    FrameshiftVariant = "frameshift_variant", "SO:0001589", High;
    /// Changes the stop codon into a coding one.
    StopLost = "stop_lost", "SO:0001578", High;
    /// Changes the canonical start codon.
    StartLost = "start_lost", "SO:0002012", High;
    /// A feature amplification of a region containing a transcript.
    TranscriptAmplification = "transcript_amplification", "SO:0001889", High;
    /// Extends a genomic feature (structural variants).
    FeatureElongation = "feature_elongation", "SO:0001907", High;
    /// Shortens a genomic feature (structural variants).
    FeatureTruncation = "feature_truncation", "SO:0001906", High;
    /// Inserts bases in frame into the coding sequence.
    InframeInsertion = "inframe_insertion", "SO:0001821", Moderate;
    /// Deletes bases in frame from the coding sequence.
    InframeDeletion = "inframe_deletion", "SO:0001822", Moderate;
    /// Changes the amino acid sequence, length preserved.
    MissenseVariant = "missense_variant", "SO:0001583", Moderate;
    /// Changes the protein in a way none of the more specific terms says.
    ProteinAlteringVariant = "protein_altering_variant", "SO:0001818", Moderate;
    /// Changes the 5th base after the exon in a donor site.
    SpliceDonor5thBaseVariant = "splice_donor_5th_base_variant", "SO:0001787", Low;
    /// Within 1-3 exonic or 3-8 intronic bases of a splice site.
    SpliceRegionVariant = "splice_region_variant", "SO:0001630", Low;
    /// Intronic bases 3-6 of a donor site.
    SpliceDonorRegionVariant = "splice_donor_region_variant", "SO:0002170", Low;
    /// Intronic bases 3-17 before an acceptor site.
    SplicePolypyrimidineTractVariant = "splice_polypyrimidine_tract_variant", "SO:0002169", Low;
    /// Changes the final, incomplete codon of a transcript.
    IncompleteTerminalCodonVariant = "incomplete_terminal_codon_variant", "SO:0001626", Low;
    /// Changes the start codon but keeps it a start codon.
    StartRetainedVariant = "start_retained_variant", "SO:0002019", Low;
    /// Changes the stop codon but keeps it a stop codon.
    StopRetainedVariant = "stop_retained_variant", "SO:0001567", Low;
    /// Changes a codon without changing its amino acid.
    SynonymousVariant = "synonymous_variant", "SO:0001819", Low;
    /// Changes the coding sequence, effect not determined.
    CodingSequenceVariant = "coding_sequence_variant", "SO:0001580", Modifier;
    /// Within the mature miRNA.
    MatureMirnaVariant = "mature_miRNA_variant", "SO:0001620", Modifier;
    /// In the 5' UTR.
    FivePrimeUtrVariant = "5_prime_UTR_variant", "SO:0001623", Modifier;
    /// In the 3' UTR.
    ThreePrimeUtrVariant = "3_prime_UTR_variant", "SO:0001624", Modifier;
    /// In an exon of a non-coding transcript.
    NonCodingTranscriptExonVariant = "non_coding_transcript_exon_variant", "SO:0001792", Modifier;
    /// In an intron.
    IntronVariant = "intron_variant", "SO:0001627", Modifier;
    /// In a transcript that is the target of nonsense-mediated decay.
    NmdTranscriptVariant = "NMD_transcript_variant", "SO:0001621", Modifier;
    /// In a non-coding transcript.
    NonCodingTranscriptVariant = "non_coding_transcript_variant", "SO:0001619", Modifier;
    /// In a coding transcript, nothing more specific applies.
    CodingTranscriptVariant = "coding_transcript_variant", "SO:0001968", Modifier;
    /// 5' of a gene (VEP: within 5 kb by default).
    UpstreamGeneVariant = "upstream_gene_variant", "SO:0001631", Modifier;
    /// 3' of a gene (VEP: within 5 kb by default).
    DownstreamGeneVariant = "downstream_gene_variant", "SO:0001632", Modifier;
    /// A deletion of a whole transcription factor binding site.
    TfbsAblation = "TFBS_ablation", "SO:0001895", Moderate;
    /// An amplification of a whole transcription factor binding site.
    TfbsAmplification = "TFBS_amplification", "SO:0001892", Modifier;
    /// Within a transcription factor binding site.
    TfBindingSiteVariant = "TF_binding_site_variant", "SO:0001782", Modifier;
    /// A deletion of a whole regulatory region.
    RegulatoryRegionAblation = "regulatory_region_ablation", "SO:0001894", Modifier;
    /// An amplification of a whole regulatory region.
    RegulatoryRegionAmplification = "regulatory_region_amplification", "SO:0001891", Modifier;
    /// Within a regulatory region.
    RegulatoryRegionVariant = "regulatory_region_variant", "SO:0001566", Modifier;
    /// Between genes.
    IntergenicVariant = "intergenic_variant", "SO:0001628", Modifier;
    /// The most general term: nothing more specific could be said.
    SequenceVariant = "sequence_variant", "SO:0001060", Modifier;
}

impl Consequence {
    /// VEP's severity rank: 1 is the most severe (`transcript_ablation`),
    /// 41 the least (`sequence_variant`). The same order `--pick` and the
    /// CSQ `Consequence` field use.
    pub fn rank(self) -> u8 {
        // The enum is declared in rank order with implicit discriminants
        // 0, 1, 2, ... (fieldless, no explicit values), so this cast is the
        // declaration position.
        self as u8 + 1
    }

    /// The consequence a bcftools csq term stands for, or `None` when VEP
    /// has no single equivalent (or the term is unknown).
    ///
    /// bcftools csq (the oracle GAS is compared with) names consequences
    /// after the SO terms with `_variant` dropped and its own spellings:
    ///
    /// | bcftools csq          | VEP SO term                          |
    /// |-----------------------|--------------------------------------|
    /// | `intergenic`          | `intergenic_variant`                 |
    /// | `intron`              | `intron_variant`                     |
    /// | `splice_acceptor`     | `splice_acceptor_variant`            |
    /// | `splice_donor`        | `splice_donor_variant`               |
    /// | `splice_region`       | `splice_region_variant`              |
    /// | `stop_gained`         | `stop_gained`                        |
    /// | `stop_lost`           | `stop_lost`                          |
    /// | `start_lost`          | `start_lost`                         |
    /// | `stop_retained`       | `stop_retained_variant`              |
    /// | `start_retained`      | `start_retained_variant`             |
    /// | `missense`            | `missense_variant`                   |
    /// | `synonymous`          | `synonymous_variant`                 |
    /// | `frameshift`          | `frameshift_variant`                 |
    /// | `inframe_insertion`   | `inframe_insertion`                  |
    /// | `inframe_deletion`    | `inframe_deletion`                   |
    /// | `5_prime_utr`         | `5_prime_UTR_variant`                |
    /// | `3_prime_utr`         | `3_prime_UTR_variant`                |
    /// | `non_coding`          | `non_coding_transcript_exon_variant` |
    /// | `coding_sequence`     | `coding_sequence_variant`            |
    /// | `NMD_transcript`      | `NMD_transcript_variant`             |
    /// | `feature_elongation`  | `feature_elongation`                 |
    ///
    /// `None` for:
    /// - `inframe_altering`: an in-frame change that is neither a pure
    ///   insertion nor a pure deletion (e.g. a multi-base substitution that
    ///   changes the length by a multiple of 3). VEP calls such a change
    ///   `inframe_insertion`, `inframe_deletion`, `missense_variant` or
    ///   `protein_altering_variant` depending on what it does to the
    ///   protein, so no single term matches; compare these by hand.
    /// - anything else (`upstream_stop`, future additions, typos).
    ///
    /// `non_coding` is bcftools' term for a variant in an exon of a
    /// non-coding transcript (intronic ones are `intron`), hence
    /// `non_coding_transcript_exon_variant`. A leading `*` (bcftools marks
    /// consequences it considers secondary with it, e.g. those downstream of
    /// a stop or frameshift on the same haplotype) is accepted and ignored;
    /// `@POS` back-references to a compound variant return `None`; matching
    /// is case-sensitive.
    ///
    /// The bcftools spellings are from the `bcftools csq` section of the
    /// bcftools manual (<https://samtools.github.io/bcftools/bcftools.html#csq>).
    pub fn from_bcftools(term: &str) -> Option<Consequence> {
        let term = term.strip_prefix('*').unwrap_or(term);
        Some(match term {
            "intergenic" => Consequence::IntergenicVariant,
            "intron" => Consequence::IntronVariant,
            "splice_acceptor" => Consequence::SpliceAcceptorVariant,
            "splice_donor" => Consequence::SpliceDonorVariant,
            "splice_region" => Consequence::SpliceRegionVariant,
            "stop_gained" => Consequence::StopGained,
            "stop_lost" => Consequence::StopLost,
            "start_lost" => Consequence::StartLost,
            "stop_retained" => Consequence::StopRetainedVariant,
            "start_retained" => Consequence::StartRetainedVariant,
            "missense" => Consequence::MissenseVariant,
            "synonymous" => Consequence::SynonymousVariant,
            "frameshift" => Consequence::FrameshiftVariant,
            "inframe_insertion" => Consequence::InframeInsertion,
            "inframe_deletion" => Consequence::InframeDeletion,
            "5_prime_utr" => Consequence::FivePrimeUtrVariant,
            "3_prime_utr" => Consequence::ThreePrimeUtrVariant,
            "non_coding" => Consequence::NonCodingTranscriptExonVariant,
            "coding_sequence" => Consequence::CodingSequenceVariant,
            "NMD_transcript" => Consequence::NmdTranscriptVariant,
            "feature_elongation" => Consequence::FeatureElongation,
            _ => return None,
        })
    }
}

impl fmt::Display for Consequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.so_term())
    }
}
