//! Genes and transcripts as the consequence annotation needs them, and the
//! coordinate arithmetic between the genome and a transcript.
//!
//! # Coordinates
//! Genomic positions are 1-based and inclusive, as in GFF3, GTF and VCF.
//! Transcript positions are 1-based from the transcript's 5' end, on its
//! strand:
//! - **cDNA** positions count the spliced exons, 1 at the first base of the
//!   first exon (VEP's `cDNA_position`).
//! - **CDS** positions count the coding sequence, which always includes the
//!   stop codon (whether the file puts it inside the CDS, as GFF3 does, or
//!   in a separate `stop_codon` feature, as GTF does). When the CDS start is
//!   incomplete (first CDS phase not 0), the partial first codon is padded
//!   with [`Transcript::cds_start_padding`] virtual bases, as Ensembl and
//!   VEP do, so that a CDS position's frame is always `(pos - 1) % 3` and
//!   its codon `(pos + 2) / 3`. For a complete CDS the padding is 0 and
//!   position 1 is the A of the ATG.
//! - **HGVS** positions ([`Transcript::hgvs_position`]) number exonic
//!   bases as above (`c.` on the CDS with `c.-N` before it and `c.*N` after
//!   it for coding transcripts, `n.` on the cDNA otherwise) and intronic
//!   bases by their offset from the nearest exon boundary (`c.123+5`,
//!   `c.124-3`; the middle base of an odd-length intron takes `+`).

use std::fmt;
use std::sync::Arc;

use crate::fasta::{reverse_complement, FastaError, Reference};

/// The strand a transcript is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strand {
    /// `+`: the transcript reads with increasing genomic positions.
    Forward,
    /// `-`: it reads with decreasing genomic positions.
    Reverse,
}

impl Strand {
    /// `1` or `-1`, as VEP's `STRAND` field writes it.
    pub fn as_i8(self) -> i8 {
        match self {
            Strand::Forward => 1,
            Strand::Reverse => -1,
        }
    }

    /// `+` or `-`.
    pub fn as_char(self) -> char {
        match self {
            Strand::Forward => '+',
            Strand::Reverse => '-',
        }
    }
}

/// A gene: shared by its transcripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gene {
    pub(crate) id: Box<str>,
    pub(crate) name: Option<Box<str>>,
    pub(crate) biotype: Arc<str>,
}

impl Gene {
    /// The gene's stable id with its version when the file gives one
    /// (`ENSG00000198763.3`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id without its version (`ENSG00000198763`).
    pub fn stable_id(&self) -> &str {
        strip_version(&self.id)
    }

    /// The gene's name (symbol, e.g. `MT-ND2`), when the file gives one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The gene's biotype (`protein_coding`, `Mt_tRNA`, ...).
    pub fn biotype(&self) -> &str {
        &self.biotype
    }
}

/// An exon: its genomic span and where it lies on the cDNA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exon {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) cdna_start: u32,
}

impl Exon {
    /// The first genomic position (1-based, the lower coordinate on either
    /// strand).
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The last genomic position (inclusive).
    pub fn end(&self) -> u32 {
        self.end
    }

    /// Bases in the exon.
    pub fn len(&self) -> u32 {
        self.end - self.start + 1
    }

    /// Always false: an exon has at least one base.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The cDNA position of the exon's 5' base (its `start` on the forward
    /// strand, its `end` on the reverse strand).
    pub fn cdna_start(&self) -> u32 {
        self.cdna_start
    }

    /// The cDNA position of the exon's 3' base.
    pub fn cdna_end(&self) -> u32 {
        self.cdna_start + self.len() - 1
    }
}

/// A coding segment: the part of one exon that is CDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdsSegment {
    /// First genomic position (1-based, lower coordinate).
    pub start: u32,
    /// Last genomic position (inclusive).
    pub end: u32,
    /// GFF phase: bases to skip from the segment's 5' end to the first
    /// base of a codon (0, 1 or 2). Derived from the first segment's phase
    /// and the lengths of the segments before it, so always consistent.
    pub phase: u8,
}

/// The coding part of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coding {
    /// cDNA positions of the first and last CDS base (the stop codon's last
    /// base when the end is complete).
    pub(crate) cdna_start: u32,
    pub(crate) cdna_end: u32,
    /// Virtual bases before the first CDS base (0 to 2).
    pub(crate) padding: u8,
    /// Segments in transcript order.
    pub(crate) segments: Box<[CdsSegment]>,
    pub(crate) protein_id: Option<Box<str>>,
}

/// Transcript flags (bits of [`Transcript::flags`]).
pub(crate) mod flag {
    pub(crate) const CANONICAL: u16 = 1;
    pub(crate) const MANE_SELECT: u16 = 1 << 1;
    pub(crate) const MANE_PLUS_CLINICAL: u16 = 1 << 2;
    pub(crate) const BASIC: u16 = 1 << 3;
    pub(crate) const CDS_START_NF: u16 = 1 << 4;
    pub(crate) const CDS_END_NF: u16 = 1 << 5;
    pub(crate) const MRNA_START_NF: u16 = 1 << 6;
    pub(crate) const MRNA_END_NF: u16 = 1 << 7;
    pub(crate) const MITOCHONDRIAL: u16 = 1 << 8;
    /// The CDS is not whole codons though both ends are complete, on MT:
    /// the stop codon is completed by polyadenylation (`TA` + A, `T` + AA).
    pub(crate) const POLYA_STOP: u16 = 1 << 9;
    /// The first CDS phase is not 0 (the CDS starts mid-codon).
    pub(crate) const START_PHASE: u16 = 1 << 10;
    /// See [`super::Transcript::names_are_plain`].
    pub(crate) const PLAIN_NAMES: u16 = 1 << 11;
}

/// Whether `text` is printable ASCII without the characters VCF INFO
/// values and CSQ fields give a meaning (`,` `;` `|` `=` `&`, space).
pub(crate) fn is_plain(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b';' | b'|' | b'=' | b'&'))
}

/// A transcript model (see the module documentation for its coordinates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Id with its version when known (`ENST00000361453.3`).
    pub(crate) id: Box<str>,
    pub(crate) gene: Arc<Gene>,
    pub(crate) contig: Arc<str>,
    pub(crate) strand: Strand,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) biotype: Arc<str>,
    /// In transcript order (5' to 3').
    pub(crate) exons: Box<[Exon]>,
    pub(crate) coding: Option<Box<Coding>>,
    pub(crate) tags: Box<[Arc<str>]>,
    pub(crate) flags: u16,
    pub(crate) level: Option<u8>,
    pub(crate) tsl: Option<u8>,
}

/// An ordinal out of a total: exon `3/12`, intron `2/11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbered {
    /// 1-based, from the transcript's 5' end.
    pub number: u32,
    /// How many there are.
    pub total: u32,
}

impl fmt::Display for Numbered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.total)
    }
}

/// Where a genomic position falls relative to a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 5' of the transcript, `distance` bases from its first base (1 =
    /// adjacent).
    Upstream {
        /// Bases to the transcript (1 or more).
        distance: u32,
    },
    /// In exon `exon` (numbered from the 5' end, 1-based), at cDNA
    /// position `cdna`.
    Exon {
        /// The exon's number.
        exon: u32,
        /// The cDNA position.
        cdna: u32,
    },
    /// In intron `intron`, between exons `intron` and `intron + 1`:
    /// `from_5prime` bases after the 5' exon's last base and `to_3prime`
    /// bases before the 3' exon's first base (both 1 or more, in
    /// transcript orientation; the intron is `from_5prime + to_3prime - 1`
    /// bases long).
    Intron {
        /// The intron's number.
        intron: u32,
        /// Distance from the donor side (1 = first intron base).
        from_5prime: u32,
        /// Distance to the acceptor side (1 = last intron base).
        to_3prime: u32,
    },
    /// 3' of the transcript, `distance` bases from its last base.
    Downstream {
        /// Bases from the transcript (1 or more).
        distance: u32,
    },
}

/// The part of an HGVS position before any intronic offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HgvsAnchor {
    /// `-N`: N bases 5' of CDS position 1 (coding transcripts: in the 5'
    /// UTR or upstream of the transcript), or of cDNA position 1
    /// (non-coding: upstream).
    FivePrime(u32),
    /// `N`: CDS position (coding) or cDNA position (non-coding).
    Main(u32),
    /// `*N`: N bases 3' of the last CDS base, the stop codon's last base
    /// (coding: in the 3' UTR or downstream), or of the last cDNA base
    /// (non-coding: downstream).
    ThreePrime(u32),
}

/// An HGVS `c.` or `n.` position, such as `123+5`, `-12`, `*7-3`.
/// [`fmt::Display`] writes it without the `c.`/`n.` prefix
/// ([`Transcript::hgvs_prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HgvsPosition {
    /// The exonic position (the nearest exon boundary for intronic ones).
    pub anchor: HgvsAnchor,
    /// Intronic offset from `anchor`: positive after a 5' exon's last base
    /// (`+5`), negative before a 3' exon's first base (`-3`), 0 in exons
    /// and outside the transcript.
    pub offset: i64,
}

impl fmt::Display for HgvsPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.anchor {
            HgvsAnchor::FivePrime(n) => write!(f, "-{n}")?,
            HgvsAnchor::Main(n) => write!(f, "{n}")?,
            HgvsAnchor::ThreePrime(n) => write!(f, "*{n}")?,
        }
        match self.offset {
            0 => Ok(()),
            o if o > 0 => write!(f, "+{o}"),
            o => write!(f, "{o}"),
        }
    }
}

impl Transcript {
    /// The transcript's id with its version when the file gives one
    /// (`ENST00000361453.3`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id without its version (`ENST00000361453`).
    pub fn stable_id(&self) -> &str {
        strip_version(&self.id)
    }

    /// The transcript's gene.
    pub fn gene(&self) -> &Gene {
        &self.gene
    }

    /// The contig as the annotation file names it.
    pub fn contig(&self) -> &str {
        &self.contig
    }

    /// The strand.
    pub fn strand(&self) -> Strand {
        self.strand
    }

    /// The first genomic position of the first exon in genomic order
    /// (1-based, the lower coordinate).
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The last genomic position of the last exon in genomic order.
    pub fn end(&self) -> u32 {
        self.end
    }

    /// The transcript's biotype (`protein_coding`, `nonsense_mediated_decay`,
    /// `Mt_tRNA`, ...).
    pub fn biotype(&self) -> &str {
        &self.biotype
    }

    /// The exons in transcript order (5' to 3'): exon number `i + 1` is
    /// `exons()[i]`, as Ensembl numbers them.
    pub fn exons(&self) -> &[Exon] {
        &self.exons
    }

    /// The introns in transcript order, as genomic (start, end) spans.
    pub fn introns(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.exons.windows(2).map(move |pair| match self.strand {
            Strand::Forward => (pair[0].end + 1, pair[1].start - 1),
            Strand::Reverse => (pair[1].end + 1, pair[0].start - 1),
        })
    }

    /// The spliced length (sum of the exon lengths).
    pub fn cdna_len(&self) -> u32 {
        self.exons.last().map_or(0, Exon::cdna_end)
    }

    /// Whether the transcript has a CDS.
    pub fn is_coding(&self) -> bool {
        self.coding.is_some()
    }

    /// The CDS segments in transcript order (empty for non-coding
    /// transcripts). They include the stop codon.
    pub fn cds_segments(&self) -> &[CdsSegment] {
        self.coding.as_ref().map_or(&[], |c| &c.segments)
    }

    /// The cDNA position of the first CDS base.
    pub fn cdna_coding_start(&self) -> Option<u32> {
        self.coding.as_ref().map(|c| c.cdna_start)
    }

    /// The cDNA position of the last CDS base (the stop codon's last base
    /// when the end is complete).
    pub fn cdna_coding_end(&self) -> Option<u32> {
        self.coding.as_ref().map(|c| c.cdna_end)
    }

    /// The genomic span of the CDS, (lowest, highest) position.
    pub fn coding_range(&self) -> Option<(u32, u32)> {
        let segments = self.cds_segments();
        let low = segments.iter().map(|s| s.start).min()?;
        let high = segments.iter().map(|s| s.end).max()?;
        Some((low, high))
    }

    /// Annotated CDS bases (stop codon included, padding excluded).
    pub fn cds_len(&self) -> Option<u32> {
        self.coding.as_ref().map(|c| c.cdna_end - c.cdna_start + 1)
    }

    /// Virtual bases that complete the first codon of a CDS whose start is
    /// incomplete: `(3 - first phase) % 3`, 0 for a complete start. CDS
    /// positions count them (see the module documentation).
    pub fn cds_start_padding(&self) -> u32 {
        self.coding.as_ref().map_or(0, |c| u32::from(c.padding))
    }

    /// Whether the CDS start is complete: no `cds_start_NF` or
    /// `mRNA_start_NF` tag and a first CDS phase of 0.
    pub fn cds_start_complete(&self) -> bool {
        self.is_coding()
            && self.flags & (flag::CDS_START_NF | flag::MRNA_START_NF | flag::START_PHASE) == 0
    }

    /// Whether the CDS end is complete: no `cds_end_NF` or `mRNA_end_NF`
    /// tag. (Incomplete ends of files without these tags cannot be told.)
    pub fn cds_end_complete(&self) -> bool {
        self.is_coding() && self.flags & (flag::CDS_END_NF | flag::MRNA_END_NF) == 0
    }

    /// Whether the stop codon is completed by polyadenylation: a
    /// mitochondrial CDS with complete ends that is not whole codons (6 of
    /// the 13 human MT genes end in `T` or `TA`). Such a transcript is
    /// kept; its last codon is partial.
    pub fn stop_completed_by_polya(&self) -> bool {
        self.flags & flag::POLYA_STOP != 0
    }

    /// Whether the transcript is on the mitochondrial contig (`MT`, `chrM`,
    /// ...): it translates with the vertebrate mitochondrial code.
    pub fn is_mitochondrial(&self) -> bool {
        self.flags & flag::MITOCHONDRIAL != 0
    }

    /// The protein's id (`ENSP...`, with a version when the file gives
    /// one), for coding transcripts whose CDS names it.
    pub fn protein_id(&self) -> Option<&str> {
        self.coding.as_ref().and_then(|c| c.protein_id.as_deref())
    }

    /// The transcript's tags as the file writes them (`basic`,
    /// `Ensembl_canonical`, `MANE_Select`, `cds_start_NF`, ...).
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(|t| &**t)
    }

    /// Whether its id, protein id, biotype, and gene id and name are all
    /// plain text (printable ASCII without `,` `;` `|` `=` `&` or space), so
    /// that writers can copy them into VCF INFO values without escaping.
    pub fn names_are_plain(&self) -> bool {
        self.flags & flag::PLAIN_NAMES != 0
    }

    /// Tagged `cds_start_NF` (the CDS start is not confirmed).
    pub fn is_cds_start_nf(&self) -> bool {
        self.flags & flag::CDS_START_NF != 0
    }

    /// Tagged `cds_end_NF` (the CDS end is not confirmed).
    pub fn is_cds_end_nf(&self) -> bool {
        self.flags & flag::CDS_END_NF != 0
    }

    /// Whether the transcript has the tag `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| &**t == tag)
    }

    /// Tagged `Ensembl_canonical`.
    pub fn is_canonical(&self) -> bool {
        self.flags & flag::CANONICAL != 0
    }

    /// Tagged `MANE_Select`.
    pub fn is_mane_select(&self) -> bool {
        self.flags & flag::MANE_SELECT != 0
    }

    /// Tagged `MANE_Plus_Clinical`.
    pub fn is_mane_plus_clinical(&self) -> bool {
        self.flags & flag::MANE_PLUS_CLINICAL != 0
    }

    /// Tagged `basic` (or `gencode_basic`, as recent Ensembl GFF3 writes it).
    pub fn is_basic(&self) -> bool {
        self.flags & flag::BASIC != 0
    }

    /// The GENCODE `level` (1 verified, 2 manual, 3 automatic), if given.
    pub fn level(&self) -> Option<u8> {
        self.level
    }

    /// The `transcript_support_level` (1 to 5), if given and not `NA`.
    pub fn tsl(&self) -> Option<u8> {
        self.tsl
    }

    /// The exon containing `pos`, as its index in [`Transcript::exons`], or
    /// `Err(i)`: `pos` lies before exon `i` in transcript order (0: upstream,
    /// `exons().len()`: downstream, otherwise in intron `i`).
    fn find_exon(&self, pos: u32) -> Result<usize, usize> {
        let exons = &self.exons;
        match self.strand {
            Strand::Forward => {
                let i = exons.partition_point(|e| e.end < pos);
                if i < exons.len() && exons[i].start <= pos {
                    Ok(i)
                } else {
                    Err(i)
                }
            }
            Strand::Reverse => {
                let i = exons.partition_point(|e| e.start > pos);
                if i < exons.len() && exons[i].end >= pos {
                    Ok(i)
                } else {
                    Err(i)
                }
            }
        }
    }

    /// The cDNA position of the exonic base `pos` of exon `exon`.
    fn cdna_in(&self, exon: &Exon, pos: u32) -> u32 {
        match self.strand {
            Strand::Forward => exon.cdna_start + (pos - exon.start),
            Strand::Reverse => exon.cdna_start + (exon.end - pos),
        }
    }

    /// Where the genomic position `pos` falls: upstream, in an exon (with
    /// its cDNA position), in an intron, or downstream.
    pub fn locate(&self, pos: u32) -> Location {
        match self.find_exon(pos) {
            Ok(i) => Location::Exon {
                exon: i as u32 + 1,
                cdna: self.cdna_in(&self.exons[i], pos),
            },
            Err(0) => Location::Upstream {
                distance: match self.strand {
                    Strand::Forward => self.start - pos,
                    Strand::Reverse => pos - self.end,
                },
            },
            Err(i) if i == self.exons.len() => Location::Downstream {
                distance: match self.strand {
                    Strand::Forward => pos - self.end,
                    Strand::Reverse => self.start - pos,
                },
            },
            Err(i) => {
                let (before, after) = (&self.exons[i - 1], &self.exons[i]);
                let (from_5prime, to_3prime) = match self.strand {
                    Strand::Forward => (pos - before.end, after.start - pos),
                    Strand::Reverse => (before.start - pos, pos - after.end),
                };
                Location::Intron {
                    intron: i as u32,
                    from_5prime,
                    to_3prime,
                }
            }
        }
    }

    /// The cDNA position of `pos`, when it is exonic.
    pub fn cdna_position(&self, pos: u32) -> Option<u32> {
        let i = self.find_exon(pos).ok()?;
        Some(self.cdna_in(&self.exons[i], pos))
    }

    /// The CDS position of `pos` (padding included, see the module
    /// documentation), when it is in the CDS.
    pub fn cds_position(&self, pos: u32) -> Option<u32> {
        let coding = self.coding.as_ref()?;
        let cdna = self.cdna_position(pos)?;
        (coding.cdna_start..=coding.cdna_end)
            .contains(&cdna)
            .then(|| cdna - coding.cdna_start + 1 + u32::from(coding.padding))
    }

    /// The genomic position of cDNA position `cdna` (1-based).
    pub fn cdna_to_genomic(&self, cdna: u32) -> Option<u32> {
        if cdna == 0 || cdna > self.cdna_len() {
            return None;
        }
        let i = self.exons.partition_point(|e| e.cdna_start <= cdna) - 1;
        let exon = &self.exons[i];
        let offset = cdna - exon.cdna_start;
        Some(match self.strand {
            Strand::Forward => exon.start + offset,
            Strand::Reverse => exon.end - offset,
        })
    }

    /// The genomic position of CDS position `cds` (padding included):
    /// `None` outside the CDS and for the padding.
    pub fn cds_to_genomic(&self, cds: u32) -> Option<u32> {
        let coding = self.coding.as_ref()?;
        let unpadded = cds.checked_sub(u32::from(coding.padding))?;
        if unpadded == 0 || unpadded > coding.cdna_end - coding.cdna_start + 1 {
            return None;
        }
        self.cdna_to_genomic(coding.cdna_start + unpadded - 1)
    }

    /// The exon `pos` lies in, numbered from the 5' end (`3/12`).
    pub fn exon_number(&self, pos: u32) -> Option<Numbered> {
        let i = self.find_exon(pos).ok()?;
        Some(Numbered {
            number: i as u32 + 1,
            total: self.exons.len() as u32,
        })
    }

    /// The intron `pos` lies in, numbered from the 5' end (`2/11`).
    pub fn intron_number(&self, pos: u32) -> Option<Numbered> {
        match self.find_exon(pos) {
            Err(i) if i > 0 && i < self.exons.len() => Some(Numbered {
                number: i as u32,
                total: self.exons.len() as u32 - 1,
            }),
            _ => None,
        }
    }

    /// `c` for coding transcripts, `n` for the rest: the HGVS prefix
    /// [`Transcript::hgvs_position`] numbers for.
    pub fn hgvs_prefix(&self) -> char {
        if self.is_coding() {
            'c'
        } else {
            'n'
        }
    }

    /// The HGVS position of `pos` (see the module documentation), defined
    /// everywhere: positions outside the transcript continue its numbering
    /// (`c.-150` upstream, `c.*500` downstream).
    pub fn hgvs_position(&self, pos: u32) -> HgvsPosition {
        let exonic = |cdna: i64| HgvsPosition {
            anchor: self.hgvs_anchor(cdna),
            offset: 0,
        };
        match self.locate(pos) {
            Location::Exon { cdna, .. } => exonic(i64::from(cdna)),
            Location::Upstream { distance } => exonic(1 - i64::from(distance)),
            Location::Downstream { distance } => {
                exonic(i64::from(self.cdna_len()) + i64::from(distance))
            }
            Location::Intron {
                intron,
                from_5prime,
                to_3prime,
            } => {
                let i = intron as usize;
                if from_5prime <= to_3prime {
                    HgvsPosition {
                        anchor: self.hgvs_anchor(i64::from(self.exons[i - 1].cdna_end())),
                        offset: i64::from(from_5prime),
                    }
                } else {
                    HgvsPosition {
                        anchor: self.hgvs_anchor(i64::from(self.exons[i].cdna_start)),
                        offset: -i64::from(to_3prime),
                    }
                }
            }
        }
    }

    /// The HGVS anchor of a (possibly virtual, outside 1..=len) cDNA
    /// position.
    fn hgvs_anchor(&self, cdna: i64) -> HgvsAnchor {
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        match &self.coding {
            Some(coding) => {
                let (start, end) = (i64::from(coding.cdna_start), i64::from(coding.cdna_end));
                if cdna < start {
                    HgvsAnchor::FivePrime(count(start - cdna))
                } else if cdna > end {
                    HgvsAnchor::ThreePrime(count(cdna - end))
                } else {
                    HgvsAnchor::Main(count(cdna - start + 1 + i64::from(coding.padding)))
                }
            }
            None => {
                let len = i64::from(self.cdna_len());
                if cdna < 1 {
                    HgvsAnchor::FivePrime(count(1 - cdna))
                } else if cdna > len {
                    HgvsAnchor::ThreePrime(count(cdna - len))
                } else {
                    HgvsAnchor::Main(count(cdna))
                }
            }
        }
    }

    /// The 5' UTR as genomic (start, end) spans in transcript order: the
    /// exonic bases before the CDS (empty for non-coding transcripts).
    pub fn five_prime_utr(&self) -> Vec<(u32, u32)> {
        match &self.coding {
            Some(c) if c.cdna_start > 1 => self.cdna_spans(1, c.cdna_start - 1),
            _ => Vec::new(),
        }
    }

    /// The 3' UTR as genomic (start, end) spans in transcript order: the
    /// exonic bases after the CDS (after the stop codon).
    pub fn three_prime_utr(&self) -> Vec<(u32, u32)> {
        match &self.coding {
            Some(c) if c.cdna_end < self.cdna_len() => {
                self.cdna_spans(c.cdna_end + 1, self.cdna_len())
            }
            _ => Vec::new(),
        }
    }

    /// The genomic spans, in transcript order, of cDNA positions
    /// `from..=to`.
    fn cdna_spans(&self, from: u32, to: u32) -> Vec<(u32, u32)> {
        let mut spans = Vec::new();
        for exon in self.exons.iter() {
            let (a, b) = (exon.cdna_start.max(from), exon.cdna_end().min(to));
            if a > b {
                continue;
            }
            let (g1, g2) = (
                self.cdna_to_genomic(a).expect("exonic"),
                self.cdna_to_genomic(b).expect("exonic"),
            );
            spans.push((g1.min(g2), g1.max(g2)));
        }
        spans
    }

    /// The spliced coding sequence on the transcript's strand (reverse
    /// complemented on the reverse strand), stop codon included, preceded
    /// by [`Transcript::cds_start_padding`] `N`s so that index `p - 1` is
    /// CDS position `p`. Empty for non-coding transcripts.
    ///
    /// # Errors
    /// What [`Reference::fetch`] fails with (an unknown contig, a CDS past
    /// the contig's end, an unreadable file).
    pub fn coding_sequence(&self, reference: &Reference) -> Result<Vec<u8>, FastaError> {
        let mut seq = Vec::new();
        if let Some(coding) = &self.coding {
            seq.resize(usize::from(coding.padding), b'N');
            self.splice(
                reference,
                coding.segments.iter().map(|s| (s.start, s.end)),
                &mut seq,
            )?;
        }
        Ok(seq)
    }

    /// The spliced exon sequence (the cDNA) on the transcript's strand.
    ///
    /// # Errors
    /// As [`Transcript::coding_sequence`].
    pub fn cdna_sequence(&self, reference: &Reference) -> Result<Vec<u8>, FastaError> {
        let mut seq = Vec::with_capacity(self.cdna_len() as usize);
        self.splice(
            reference,
            self.exons.iter().map(|e| (e.start, e.end)),
            &mut seq,
        )?;
        Ok(seq)
    }

    /// Appends the sequence of each genomic span (given in transcript
    /// order) to `out`, on the transcript's strand.
    fn splice(
        &self,
        reference: &Reference,
        spans: impl Iterator<Item = (u32, u32)>,
        out: &mut Vec<u8>,
    ) -> Result<(), FastaError> {
        for (start, end) in spans {
            let from = out.len();
            reference.fetch_into(&self.contig, u64::from(start) - 1, u64::from(end), out)?;
            if self.strand == Strand::Reverse {
                reverse_complement(&mut out[from..]);
            }
        }
        Ok(())
    }
}

/// `id` without a trailing `.version` (digits).
fn strip_version(id: &str) -> &str {
    match id.rsplit_once('.') {
        Some((stable, version))
            if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) =>
        {
            stable
        }
        _ => id,
    }
}
