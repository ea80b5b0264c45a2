//! Counts gathered while annotating, and the human-readable log.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::classify::{TiTv, VariantClass};
use crate::consequence::{Consequence, ConsequenceTally, Consequences};
use crate::track::TrackKind;

/// What an annotation run saw. Serializes with `elapsed` as seconds (a
/// float); fields missing from serialized stats read as their defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// The version the input declared, e.g. `VCFv4.0`.
    pub input_fileformat: String,
    /// The version the output declares (see the crate documentation).
    pub output_fileformat: String,
    /// Sample columns in the `#CHROM` line.
    pub samples: u64,
    /// Data lines (variant records).
    pub variants: u64,
    /// ALT alleles over all records (a missing ALT `.` counts as one, of
    /// class OTHER).
    pub alt_alleles: u64,
    /// ALT alleles per class; the counts add up to `alt_alleles`.
    pub classes: ClassCounts,
    /// SNV alleles that are transitions (A<->G, C<->T).
    pub transitions: u64,
    /// SNV alleles that are other substitutions between A, C, G, T.
    pub transversions: u64,
    /// `transitions / transversions`; `None` when there are no transversions.
    pub ts_tv_ratio: Option<f64>,
    /// Records per contig, in order of first appearance: at most
    /// [`Stats::MAX_CONTIGS`] contigs, each named at most
    /// [`Stats::MAX_CONTIG_NAME_BYTES`] long. The rest are counted together
    /// in `other_contigs`, so that an input with a new CHROM on every line
    /// cannot grow them without bound.
    pub contigs: Vec<ContigCount>,
    /// The records of every contig not in `contigs`, as one row named
    /// `other`; `None` when every contig has its own row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_contigs: Option<ContigCount>,
    /// How many distinct contigs were counted in `other_contigs`. Counted
    /// exactly up to [`Stats::MAX_FOLDED_COUNTED`]; at that value it means
    /// "at least that many".
    #[serde(skip_serializing_if = "is_zero")]
    pub contigs_folded: u64,
    /// The reference tracks used, in order.
    pub tracks: Vec<TrackSummary>,
    /// Records whose ID column was filled from a VCF track (dbSNP).
    pub with_id: u64,
    /// Records overlapping at least one feature of a BED track (given a
    /// `GENE`).
    pub in_genes: u64,
    /// The assembly the input's header names (`##reference`, `##contig`),
    /// when it names a known one (e.g. `NCBI36`, `GRCh37`).
    pub input_assembly: Option<String>,
    /// Records at a position where a VCF track has a site, whose REF was
    /// compared with the site's (first base).
    pub ref_checked: u64,
    /// Of those, the records whose REF disagrees with the track's.
    pub ref_mismatches: u64,
    /// Problems the run noticed but annotated through, one sentence each
    /// (e.g. an assembly mismatch between input and tracks). The log shows
    /// them first.
    pub warnings: Vec<String>,
    /// Bytes of input read (compressed bytes for gzip input).
    pub bytes_read: u64,
    /// Wall-clock time of the run.
    #[serde(rename = "elapsed_seconds", with = "seconds")]
    pub elapsed: Duration,
    /// What consequence annotation found, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consequences: Option<ConsequenceStats>,
}

/// What consequence annotation found over a run (see
/// [`crate::consequence`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsequenceStats {
    /// The transcript model files, by name.
    pub transcripts: Vec<String>,
    /// The reference genome's file name, when one was used.
    pub reference: Option<String>,
    /// ALT alleles by their most severe consequence over every transcript
    /// (`intergenic_variant` when no transcript is within 5 kb), most
    /// severe first, terms with no allele left out.
    pub most_severe: Vec<TermCount>,
    /// ALT alleles by the impact of their most severe consequence.
    pub impacts: ImpactCounts,
    /// Genes with a HIGH-impact consequence, by alleles, most first (at
    /// most [`crate::consequence::MAX_HIGH_IMPACT_GENES`], the rest as
    /// `other`).
    pub high_impact_genes: Vec<GeneCount>,
    /// Records whose REF differs from the reference genome (flagged
    /// `REF_MISMATCH`).
    pub ref_mismatches: u64,
    /// ALT alleles with no consequence: symbolic (`<DEL>`), breakends and
    /// `*`.
    pub not_annotated: u64,
    /// ALT alleles on contigs the transcript models do not cover: no CSQ
    /// (not `intergenic_variant`: the models say nothing there).
    pub uncovered: u64,
    /// CSQ entries written.
    pub entries: u64,
}

impl ConsequenceStats {
    /// `tally`'s counts as the run's statistics keep them, naming
    /// `shared`'s sources.
    pub(crate) fn from_tally(tally: &ConsequenceTally, shared: &Consequences) -> ConsequenceStats {
        let most_severe = Consequence::ALL
            .iter()
            .filter_map(|&c| {
                let n = tally.count(c);
                (n > 0).then(|| TermCount {
                    term: c.so_term().to_owned(),
                    impact: c.impact().as_str().to_owned(),
                    alleles: n,
                })
            })
            .collect();
        let mut genes: Vec<GeneCount> = tally
            .high_impact_genes
            .iter()
            .map(|(gene, &alleles)| GeneCount {
                gene: gene.clone(),
                alleles,
            })
            .collect();
        genes.sort_by(|a, b| b.alleles.cmp(&a.alleles).then_with(|| a.gene.cmp(&b.gene)));
        let [high, moderate, low, modifier] = tally.impacts;
        ConsequenceStats {
            transcripts: shared
                .transcript_sources()
                .map(|s| s.name.clone())
                .collect(),
            reference: shared.reference_source().map(|s| s.name.clone()),
            most_severe,
            impacts: ImpactCounts {
                high,
                moderate,
                low,
                modifier,
            },
            high_impact_genes: genes,
            ref_mismatches: tally.ref_mismatches,
            not_annotated: tally.not_annotated,
            uncovered: tally.uncovered,
            entries: tally.entries,
        }
    }

    /// The log's consequences section.
    fn write_log(&self, log: &mut String, alt_alleles: u64) -> std::fmt::Result {
        let percent = |n: u64| {
            if alt_alleles == 0 {
                0.0
            } else {
                100.0 * n as f64 / alt_alleles as f64
            }
        };
        writeln!(
            log,
            "Consequences (transcript models: {}; reference genome: {}):",
            self.transcripts.join(", "),
            self.reference
                .as_deref()
                .unwrap_or("none, so no codons, amino acids or HGVSp")
        )?;
        writeln!(log, "  ALT alleles by most severe consequence:")?;
        for t in &self.most_severe {
            writeln!(
                log,
                "    {:<44} {:<9} {:>10} ({:.2}%)",
                t.term,
                t.impact,
                t.alleles,
                percent(t.alleles)
            )?;
        }
        let i = self.impacts;
        writeln!(
            log,
            "  By impact: HIGH {}, MODERATE {}, LOW {}, MODIFIER {}",
            i.high, i.moderate, i.low, i.modifier
        )?;
        if !self.high_impact_genes.is_empty() {
            let genes: Vec<String> = self
                .high_impact_genes
                .iter()
                .take(50)
                .map(|g| format!("{} ({})", g.gene, g.alleles))
                .collect();
            let more = self.high_impact_genes.len().saturating_sub(50);
            write!(
                log,
                "  Genes with HIGH-impact variants: {}",
                genes.join(", ")
            )?;
            if more > 0 {
                write!(log, " and {more} more")?;
            }
            writeln!(log)?;
        }
        if self.uncovered > 0 {
            writeln!(
                log,
                "  ALT alleles on contigs the transcript models do not cover (no CSQ): {}",
                self.uncovered
            )?;
        }
        if self.not_annotated > 0 {
            writeln!(
                log,
                "  ALT alleles without a consequence (symbolic, breakend or *): {}",
                self.not_annotated
            )?;
        }
        writeln!(
            log,
            "  Records whose REF differs from the reference genome: {}",
            self.ref_mismatches
        )?;
        writeln!(log, "  CSQ entries written: {}", self.entries)?;
        writeln!(log)
    }
}

/// Alleles whose most severe consequence is `term`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TermCount {
    /// The SO term (`missense_variant`).
    pub term: String,
    /// Its impact (`MODERATE`).
    pub impact: String,
    /// How many alleles.
    pub alleles: u64,
}

/// Alleles per impact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImpactCounts {
    /// HIGH.
    pub high: u64,
    /// MODERATE.
    pub moderate: u64,
    /// LOW.
    pub low: u64,
    /// MODIFIER.
    pub modifier: u64,
}

/// Alleles with a HIGH-impact consequence in `gene`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneCount {
    /// The gene's name (or id).
    pub gene: String,
    /// How many alleles.
    pub alleles: u64,
}

/// ALT alleles per [`VariantClass`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    pub snv: u64,
    pub mnv: u64,
    pub ins: u64,
    pub del: u64,
    pub complex: u64,
    pub other: u64,
}

impl ClassCounts {
    /// The count of one class.
    pub fn get(&self, class: VariantClass) -> u64 {
        match class {
            VariantClass::Snv => self.snv,
            VariantClass::Mnv => self.mnv,
            VariantClass::Ins => self.ins,
            VariantClass::Del => self.del,
            VariantClass::Complex => self.complex,
            VariantClass::Other => self.other,
        }
    }

    fn slot(&mut self, class: VariantClass) -> &mut u64 {
        match class {
            VariantClass::Snv => &mut self.snv,
            VariantClass::Mnv => &mut self.mnv,
            VariantClass::Ins => &mut self.ins,
            VariantClass::Del => &mut self.del,
            VariantClass::Complex => &mut self.complex,
            VariantClass::Other => &mut self.other,
        }
    }

    /// The sum over all classes.
    pub fn total(&self) -> u64 {
        VariantClass::ALL.iter().map(|&c| self.get(c)).sum()
    }
}

/// Records on one contig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContigCount {
    /// The CHROM value.
    pub name: String,
    /// Records with that CHROM.
    pub variants: u64,
    /// Of those, records given an ID by a VCF track.
    #[serde(default)]
    pub with_id: u64,
    /// Of those, records overlapping a feature of a BED track.
    #[serde(default)]
    pub in_genes: u64,
}

/// One reference track of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSummary {
    /// The track's file name.
    pub name: String,
    /// BED or VCF.
    pub kind: TrackKind,
    /// The assembly the track is on.
    pub assembly: String,
    /// Features or sites loaded.
    pub records: u64,
}

impl Stats {
    /// The most contigs with a row of their own.
    pub const MAX_CONTIGS: usize = 1000;
    /// The longest contig name with a row of its own, in bytes (real ones
    /// are a few dozen; a line may be megabytes).
    pub const MAX_CONTIG_NAME_BYTES: usize = 255;
    /// Up to how many folded contigs are told apart for `contigs_folded`
    /// (one 64-bit hash each, about 2 MB at most).
    pub const MAX_FOLDED_COUNTED: u64 = 100_000;

    /// A plain-text log of the run for people, one fact per line, naming
    /// `input_name` as the input.
    pub fn render_log(&self, input_name: &str) -> String {
        let mut log = String::new();
        self.write_log(&mut log, input_name)
            .expect("writing to a String cannot fail");
        log
    }

    fn write_log(&self, log: &mut String, input_name: &str) -> std::fmt::Result {
        let percent = |n: u64| {
            if self.alt_alleles == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.alt_alleles as f64
            }
        };
        writeln!(log, "GAS annotation log")?;
        for warning in &self.warnings {
            writeln!(log, "WARNING: {warning}")?;
        }
        writeln!(log, "Input file: {input_name}")?;
        writeln!(log, "Input format: {}", self.input_fileformat)?;
        if self.output_fileformat != self.input_fileformat {
            writeln!(
                log,
                "Output format: {} (upgraded from {})",
                self.output_fileformat, self.input_fileformat
            )?;
        }
        writeln!(log, "Input size: {} bytes", self.bytes_read)?;
        writeln!(log, "Samples: {}", self.samples)?;
        if let Some(assembly) = &self.input_assembly {
            writeln!(log, "Input assembly (from its header): {assembly}")?;
        }
        for track in &self.tracks {
            writeln!(
                log,
                "Track: {} ({}, {}, {} records)",
                track.name,
                track.kind.as_str(),
                track.assembly,
                track.records
            )?;
        }
        writeln!(log)?;
        writeln!(log, "Total variants (records): {}", self.variants)?;
        let of_variants = |n: u64| {
            if self.variants == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.variants as f64
            }
        };
        let (vcf_track, bed_track) = (
            self.has_track(TrackKind::Vcf),
            self.has_track(TrackKind::Bed),
        );
        if vcf_track {
            writeln!(
                log,
                "With a known-site ID (dbSNP): {} ({:.2}%)",
                self.with_id,
                of_variants(self.with_id)
            )?;
        }
        if bed_track {
            writeln!(
                log,
                "In genes (GENE added): {} ({:.2}%)",
                self.in_genes,
                of_variants(self.in_genes)
            )?;
        }
        writeln!(log, "Total ALT alleles: {}", self.alt_alleles)?;
        for class in VariantClass::ALL {
            let n = self.classes.get(class);
            writeln!(
                log,
                "  {:<8} {:>10}  ({:.2}%)",
                class.as_str(),
                n,
                percent(n)
            )?;
        }
        writeln!(log)?;
        writeln!(log, "Transitions (ts): {}", self.transitions)?;
        writeln!(log, "Transversions (tv): {}", self.transversions)?;
        match self.ts_tv_ratio {
            Some(ratio) => writeln!(log, "Ts/Tv ratio: {ratio:.2}")?,
            None => writeln!(log, "Ts/Tv ratio: n/a (no transversions)")?,
        }
        writeln!(log)?;
        match &self.other_contigs {
            None => writeln!(log, "Variants per contig ({}):", self.contigs.len())?,
            Some(_) => {
                let at_least = if self.contigs_folded >= Self::MAX_FOLDED_COUNTED {
                    "at least "
                } else {
                    ""
                };
                writeln!(
                    log,
                    "Variants per contig ({} listed; {at_least}{} more contigs counted as {OTHER}):",
                    self.contigs.len(),
                    self.contigs_folded
                )?
            }
        }
        write!(log, "  {:<12} {:>10}", "contig", "variants")?;
        if vcf_track {
            write!(log, " {:>10}", "with ID")?;
        }
        if bed_track {
            write!(log, " {:>10}", "in genes")?;
        }
        writeln!(log)?;
        for contig in self.contigs.iter().chain(&self.other_contigs) {
            write!(log, "  {:<12} {:>10}", contig.name, contig.variants)?;
            if vcf_track {
                write!(log, " {:>10}", contig.with_id)?;
            }
            if bed_track {
                write!(log, " {:>10}", contig.in_genes)?;
            }
            writeln!(log)?;
        }
        writeln!(log)?;
        if let Some(c) = &self.consequences {
            c.write_log(log, self.alt_alleles)?;
        }
        writeln!(log, "Elapsed time: {:.3} s", self.elapsed.as_secs_f64())
    }

    fn has_track(&self, kind: TrackKind) -> bool {
        self.tracks.iter().any(|t| t.kind == kind)
    }
}

/// The name of the row that counts the contigs without one of their own.
const OTHER: &str = "other";

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The `other` row, made when first needed.
fn other_row(other: &mut Option<ContigCount>) -> &mut ContigCount {
    other.get_or_insert_with(|| ContigCount {
        name: OTHER.to_string(),
        variants: 0,
        with_id: 0,
        in_genes: 0,
    })
}

/// Where a record's contig is counted.
#[derive(Clone, Copy)]
enum Slot {
    Row(usize),
    Other,
}

/// Accumulates [`Stats`] record by record without allocating for records on
/// a contig already seen. Tallies of consecutive parts of the input
/// [`merge`](Tally::merge) into the tally of the whole.
///
/// The tally of a whole run ([`Tally::for_run`]) keeps rows for at most
/// [`Stats::MAX_CONTIGS`] contigs (in order of first appearance) and folds
/// the rest into `other_contigs`, so that its memory does not grow with the
/// number of distinct CHROM values. The tally of one chunk keeps a row for
/// each of its contigs, which the chunk's own size bounds; the run's tally
/// decides on merging which of them get rows, so the choice does not depend
/// on how the input was cut.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    stats: Stats,
    contig_index: HashMap<String, usize>,
    last_contig: Option<usize>,
    /// Whether contigs past the caps fold into `other_contigs`.
    capped: bool,
    /// Consequence counts (see [`crate::consequence::ConsequenceTally`]).
    pub(crate) consequences: crate::consequence::ConsequenceTally,
    /// Hashes of the folded contigs' names (at most
    /// [`Stats::MAX_FOLDED_COUNTED`]), to count each once.
    folded: HashSet<u64, BuildHasherDefault<DefaultHasher>>,
}

impl Tally {
    /// The tally of a whole run: contig rows capped (see [`Tally`]).
    pub(crate) fn for_run() -> Self {
        Tally {
            capped: true,
            ..Tally::default()
        }
    }

    pub(crate) fn set_formats(&mut self, input: String, output: String) {
        self.stats.input_fileformat = input;
        self.stats.output_fileformat = output;
    }

    pub(crate) fn set_samples(&mut self, samples: usize) {
        self.stats.samples = samples as u64;
    }

    pub(crate) fn set_input_assembly(&mut self, assembly: &str) {
        self.stats.input_assembly = Some(assembly.to_string());
    }

    pub(crate) fn set_tracks(&mut self, tracks: Vec<TrackSummary>) {
        self.stats.tracks = tracks;
    }

    /// Counts a record on `chrom`, given an ID by a VCF track or not, in a
    /// BED feature or not.
    pub(crate) fn record(&mut self, chrom: &str, with_id: bool, in_genes: bool) {
        let s = &mut self.stats;
        s.variants += 1;
        s.with_id += u64::from(with_id);
        s.in_genes += u64::from(in_genes);
        let contig = self.contig(chrom);
        contig.variants += 1;
        contig.with_id += u64::from(with_id);
        contig.in_genes += u64::from(in_genes);
    }

    /// The row that counts `chrom`'s records.
    fn contig(&mut self, chrom: &str) -> &mut ContigCount {
        match self.slot(chrom) {
            Slot::Row(index) => &mut self.stats.contigs[index],
            Slot::Other => other_row(&mut self.stats.other_contigs),
        }
    }

    fn slot(&mut self, chrom: &str) -> Slot {
        let contigs = &mut self.stats.contigs;
        let index = match self.last_contig {
            Some(i) if contigs[i].name == chrom => i,
            _ => match self.contig_index.get(chrom) {
                Some(&i) => i,
                None if self.capped
                    && (contigs.len() >= Stats::MAX_CONTIGS
                        || chrom.len() > Stats::MAX_CONTIG_NAME_BYTES) =>
                {
                    self.fold(chrom);
                    return Slot::Other;
                }
                None => {
                    contigs.push(ContigCount {
                        name: chrom.to_string(),
                        variants: 0,
                        with_id: 0,
                        in_genes: 0,
                    });
                    self.contig_index
                        .insert(chrom.to_string(), contigs.len() - 1);
                    contigs.len() - 1
                }
            },
        };
        self.last_contig = Some(index);
        Slot::Row(index)
    }

    /// Notes that `chrom` is counted in `other_contigs`.
    fn fold(&mut self, chrom: &str) {
        if (self.folded.len() as u64) < Stats::MAX_FOLDED_COUNTED {
            let hash = self.folded.hasher().hash_one(chrom);
            self.folded.insert(hash);
        }
    }

    /// Counts one ALT allele.
    pub(crate) fn allele(&mut self, class: VariantClass, titv: TiTv) {
        self.stats.alt_alleles += 1;
        *self.stats.classes.slot(class) += 1;
        match titv {
            TiTv::Transition => self.stats.transitions += 1,
            TiTv::Transversion => self.stats.transversions += 1,
            TiTv::NotApplicable => {}
        }
    }

    /// Counts a REF comparison with a VCF track's site.
    pub(crate) fn ref_compared(&mut self, agrees: bool) {
        self.stats.ref_checked += 1;
        self.stats.ref_mismatches += u64::from(!agrees);
    }

    /// Adds the counts of `later`, a tally of the input after this one's.
    pub(crate) fn merge(&mut self, later: Tally) {
        self.consequences.merge(&later.consequences);
        let (s, o) = (&mut self.stats, later.stats);
        s.variants += o.variants;
        s.alt_alleles += o.alt_alleles;
        for class in VariantClass::ALL {
            *s.classes.slot(class) += o.classes.get(class);
        }
        s.transitions += o.transitions;
        s.transversions += o.transversions;
        s.with_id += o.with_id;
        s.in_genes += o.in_genes;
        s.ref_checked += o.ref_checked;
        s.ref_mismatches += o.ref_mismatches;
        for contig in o.contigs {
            let mine = self.contig(&contig.name);
            mine.variants += contig.variants;
            mine.with_id += contig.with_id;
            mine.in_genes += contig.in_genes;
        }
        // Only a capped tally folds; a run's tally is not merged into
        // another, but the counts stay right if one ever is.
        if let Some(other) = o.other_contigs {
            let mine = other_row(&mut self.stats.other_contigs);
            mine.variants += other.variants;
            mine.with_id += other.with_id;
            mine.in_genes += other.in_genes;
        }
        for hash in later.folded {
            if (self.folded.len() as u64) >= Stats::MAX_FOLDED_COUNTED {
                break;
            }
            self.folded.insert(hash);
        }
    }

    /// The counts so far (for checks made before [`Tally::finish`]).
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn finish(
        mut self,
        bytes_read: u64,
        elapsed: Duration,
        warnings: Vec<String>,
    ) -> Stats {
        let s = &mut self.stats;
        s.bytes_read = bytes_read;
        s.elapsed = elapsed;
        s.warnings = warnings;
        s.contigs_folded = self.folded.len() as u64;
        s.ts_tv_ratio =
            (s.transversions > 0).then(|| s.transitions as f64 / s.transversions as f64);
        self.stats
    }
}

/// `Duration` as floating-point seconds.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Stats {
        let mut t = Tally::default();
        t.set_formats("VCFv4.0".into(), "VCFv4.2".into());
        t.set_tracks(vec![TrackSummary {
            name: "genes.bed.gz".into(),
            kind: TrackKind::Bed,
            assembly: "GRCh37".into(),
            records: 10,
        }]);
        for (chrom, in_genes) in [
            ("1", true),
            ("1", false),
            ("MT", true),
            ("1", true),
            ("X", false),
        ] {
            t.record(chrom, false, in_genes);
        }
        t.allele(VariantClass::Snv, TiTv::Transition);
        t.allele(VariantClass::Snv, TiTv::Transition);
        t.allele(VariantClass::Snv, TiTv::Transversion);
        t.allele(VariantClass::Ins, TiTv::NotApplicable);
        t.allele(VariantClass::Other, TiTv::NotApplicable);
        t.finish(
            1234,
            Duration::from_millis(1500),
            vec!["input says NCBI36".into()],
        )
    }

    #[test]
    fn tallies() {
        let s = sample();
        assert_eq!(s.variants, 5);
        assert_eq!(s.alt_alleles, 5);
        assert_eq!(s.classes.total(), 5);
        assert_eq!((s.classes.snv, s.classes.ins, s.classes.other), (3, 1, 1));
        assert_eq!((s.transitions, s.transversions), (2, 1));
        assert_eq!(s.ts_tv_ratio, Some(2.0));
        let contigs: Vec<(&str, u64)> = s
            .contigs
            .iter()
            .map(|c| (c.name.as_str(), c.variants))
            .collect();
        assert_eq!(contigs, [("1", 3), ("MT", 1), ("X", 1)]);
        assert_eq!(s.in_genes, 3);
        assert_eq!(s.contigs[0].in_genes, 2);
        assert_eq!(
            Tally::default()
                .finish(0, Duration::ZERO, Vec::new())
                .ts_tv_ratio,
            None
        );
    }

    #[test]
    fn merges_in_order() {
        let mut first = Tally::default();
        first.record("2", true, false);
        first.allele(VariantClass::Snv, TiTv::Transition);
        first.ref_compared(true);
        let mut second = Tally::default();
        second.record("1", false, true);
        second.record("2", true, true);
        second.allele(VariantClass::Del, TiTv::NotApplicable);
        second.ref_compared(false);
        first.merge(second);
        let s = first.finish(0, Duration::ZERO, Vec::new());
        assert_eq!((s.variants, s.with_id, s.in_genes), (3, 2, 2));
        assert_eq!((s.alt_alleles, s.classes.snv, s.classes.del), (2, 1, 1));
        assert_eq!((s.ref_checked, s.ref_mismatches), (2, 1));
        let contigs: Vec<(&str, u64, u64, u64)> = s
            .contigs
            .iter()
            .map(|c| (c.name.as_str(), c.variants, c.with_id, c.in_genes))
            .collect();
        assert_eq!(contigs, [("2", 2, 2, 1), ("1", 1, 0, 1)]);
    }

    /// A run's tally keeps [`Stats::MAX_CONTIGS`] rows however many contigs
    /// it sees, counts the folded ones once each up to
    /// [`Stats::MAX_FOLDED_COUNTED`] (the log then says "at least"), and
    /// stats without folding serialize as before.
    #[test]
    fn folding_is_bounded() {
        let mut t = Tally::for_run();
        let total = Stats::MAX_CONTIGS + Stats::MAX_FOLDED_COUNTED as usize + 5;
        for i in 0..total {
            t.record(&format!("c{i}"), false, i % 2 == 0);
        }
        t.record("c5", false, false);
        assert_eq!(t.contig_index.len(), Stats::MAX_CONTIGS);
        assert_eq!(t.folded.len() as u64, Stats::MAX_FOLDED_COUNTED);
        let s = t.finish(0, Duration::ZERO, Vec::new());
        assert_eq!(s.contigs.len(), Stats::MAX_CONTIGS);
        assert_eq!(s.contigs[5].variants, 2);
        let other = s.other_contigs.as_ref().unwrap();
        assert_eq!(other.variants as usize, total - Stats::MAX_CONTIGS);
        assert_eq!(
            other.in_genes as usize,
            (total - Stats::MAX_CONTIGS).div_ceil(2)
        );
        assert_eq!(s.contigs_folded, Stats::MAX_FOLDED_COUNTED);
        assert!(s
            .render_log("in.vcf")
            .contains("(1000 listed; at least 100000 more contigs counted as other)"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["other_contigs"]["variants"], other.variants);
        assert_eq!(json["contigs_folded"], Stats::MAX_FOLDED_COUNTED);
        let back: Stats = serde_json::from_value(json).unwrap();
        assert_eq!(back.other_contigs, s.other_contigs);

        let plain = serde_json::to_value(sample()).unwrap();
        assert!(plain.get("other_contigs").is_none(), "{plain}");
        assert!(plain.get("contigs_folded").is_none(), "{plain}");
        // A chunk's tally keeps every contig: the run's decides.
        let mut chunk = Tally::default();
        for i in 0..Stats::MAX_CONTIGS + 1 {
            chunk.record(&format!("c{i}"), false, false);
        }
        assert_eq!(chunk.stats.contigs.len(), Stats::MAX_CONTIGS + 1);
    }

    #[test]
    fn log_and_json() {
        let s = sample();
        let log = s.render_log("in.vcf");
        for expected in [
            "WARNING: input says NCBI36\n",
            "Input file: in.vcf",
            "Track: genes.bed.gz (BED, GRCh37, 10 records)",
            "In genes (GENE added): 3 (60.00%)",
            "Output format: VCFv4.2 (upgraded from VCFv4.0)",
            "Total variants (records): 5",
            "Total ALT alleles: 5",
            "SNV",
            "Transitions (ts): 2",
            "Transversions (tv): 1",
            "Ts/Tv ratio: 2.00",
            "MT",
            "Elapsed time: 1.500 s",
        ] {
            assert!(log.contains(expected), "{expected:?} not in\n{log}");
        }
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["elapsed_seconds"], 1.5);
        assert_eq!(json["classes"]["snv"], 3);
        assert_eq!(json["contigs"][1]["name"], "MT");
        let back: Stats = serde_json::from_value(json).unwrap();
        assert_eq!(back.elapsed, Duration::from_millis(1500));
        assert_eq!(back.contigs, s.contigs);
        assert_eq!(back.tracks, s.tracks);
        assert!(!log.contains("dbSNP"), "no VCF track: {log}");
        // Stats serialized before the track fields existed still read.
        let old: Stats = serde_json::from_str(
            r#"{"variants":2,"contigs":[{"name":"1","variants":2}],"elapsed_seconds":0.5}"#,
        )
        .unwrap();
        assert_eq!((old.variants, old.contigs[0].in_genes), (2, 0));
    }
}
