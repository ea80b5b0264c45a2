//! Counts gathered while annotating, and the human-readable log.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::classify::{TiTv, VariantClass};

/// What an annotation run saw. Serializes with `elapsed` as seconds (a
/// float).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Records per contig, in order of first appearance.
    pub contigs: Vec<ContigCount>,
    /// Bytes of input read.
    pub bytes_read: u64,
    /// Wall-clock time of the run.
    #[serde(rename = "elapsed_seconds", with = "seconds")]
    pub elapsed: Duration,
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
}

impl Stats {
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
        writeln!(log)?;
        writeln!(log, "Total variants (records): {}", self.variants)?;
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
        writeln!(log, "Variants per contig ({}):", self.contigs.len())?;
        for contig in &self.contigs {
            writeln!(log, "  {:<12} {:>10}", contig.name, contig.variants)?;
        }
        writeln!(log)?;
        writeln!(log, "Elapsed time: {:.3} s", self.elapsed.as_secs_f64())
    }
}

/// Accumulates [`Stats`] record by record without allocating for records on
/// a contig already seen.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    stats: Stats,
    contig_index: HashMap<String, usize>,
    last_contig: Option<usize>,
}

impl Tally {
    pub(crate) fn set_formats(&mut self, input: String, output: String) {
        self.stats.input_fileformat = input;
        self.stats.output_fileformat = output;
    }

    pub(crate) fn set_samples(&mut self, samples: usize) {
        self.stats.samples = samples as u64;
    }

    /// Counts a record on `chrom`.
    pub(crate) fn record(&mut self, chrom: &str) {
        self.stats.variants += 1;
        let contigs = &mut self.stats.contigs;
        let index = match self.last_contig {
            Some(i) if contigs[i].name == chrom => i,
            _ => match self.contig_index.get(chrom) {
                Some(&i) => i,
                None => {
                    contigs.push(ContigCount {
                        name: chrom.to_string(),
                        variants: 0,
                    });
                    self.contig_index
                        .insert(chrom.to_string(), contigs.len() - 1);
                    contigs.len() - 1
                }
            },
        };
        self.last_contig = Some(index);
        contigs[index].variants += 1;
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

    pub(crate) fn finish(mut self, bytes_read: u64, elapsed: Duration) -> Stats {
        let s = &mut self.stats;
        s.bytes_read = bytes_read;
        s.elapsed = elapsed;
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
        for chrom in ["1", "1", "MT", "1", "X"] {
            t.record(chrom);
        }
        t.allele(VariantClass::Snv, TiTv::Transition);
        t.allele(VariantClass::Snv, TiTv::Transition);
        t.allele(VariantClass::Snv, TiTv::Transversion);
        t.allele(VariantClass::Ins, TiTv::NotApplicable);
        t.allele(VariantClass::Other, TiTv::NotApplicable);
        t.finish(1234, Duration::from_millis(1500))
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
        assert_eq!(Tally::default().finish(0, Duration::ZERO).ts_tv_ratio, None);
    }

    #[test]
    fn log_and_json() {
        let s = sample();
        let log = s.render_log("in.vcf");
        for expected in [
            "Input file: in.vcf",
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
    }
}
