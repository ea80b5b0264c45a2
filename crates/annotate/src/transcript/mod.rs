//! Transcript models from Ensembl or GENCODE gene annotation (GFF3 or GTF),
//! indexed for lookup by genomic position: the base of per-transcript
//! consequence annotation.
//!
//! [`TranscriptIndex::load`] reads a GFF3 or GTF file (plain, gzip or BGZF,
//! recognised by its first bytes; GFF3 or GTF by its `##gff-version` line or
//! its attribute syntax) into [`Transcript`]s, each with its [`Gene`],
//! exons in transcript order and, when coding, its CDS. What the file says
//! is kept as follows:
//! - **Ids**: Ensembl GFF3 writes `ID=transcript:ENST...` with
//!   `Parent=gene:ENSG...` and the version in `version=`; GENCODE GFF3 writes
//!   `ID=ENST....2` with `Parent=ENSG....5`; GTF ties lines together with
//!   `gene_id`/`transcript_id` (versions in `gene_version`/
//!   `transcript_version` for Ensembl, inside the id for GENCODE). Ids are
//!   reported without the `transcript:`/`gene:` prefixes, with the version
//!   when known (`ENST00000361453.3`). Children may come before their
//!   parents; a GFF3 exon with several parents belongs to each.
//! - **Attributes**: biotype (`biotype`, `transcript_biotype`/
//!   `gene_biotype` or `transcript_type`/`gene_type`), gene name
//!   (`gene_name` or `Name`), tags (GFF3 `tag=a,b`, GTF repeated `tag "a";`),
//!   GENCODE `level` and `transcript_support_level`.
//! - **CDS**: the CDS includes the stop codon. GFF3 (Ensembl and GENCODE)
//!   puts the stop codon inside the CDS; GTF puts it in a `stop_codon`
//!   feature after the CDS. Both are handled by taking the union of `CDS`,
//!   `start_codon` and `stop_codon` features as the coding bases. The CDS
//!   start is incomplete when the transcript is tagged `cds_start_NF` or
//!   `mRNA_start_NF` **or** its 5'-most CDS line has a phase other than 0
//!   (older Ensembl files have no such tags); its end is incomplete when
//!   tagged `cds_end_NF` or `mRNA_end_NF`.
//! - **UTRs** are derived from the exons and the CDS (UTR features are not
//!   read: GENCODE's GTF `UTR` overlaps the stop codon, Ensembl's does not).
//! - **Header**: `#!` lines (`#!genome-build`, `#!genome-version`,
//!   `#!genome-build-accession`, `#!genebuild-last-updated`, ...) and
//!   `##gff-version`, `##description`, `##provider`, `##format`, `##date`
//!   lines are kept ([`TranscriptIndex::header_lines`]).
//!
//! - **Exons**: a transcript with `CDS` lines but no `exon` lines
//!   (prokaryote-style files) gets exons where its coding bases are.
//!
//! A transcript whose model is broken is skipped and counted in
//! [`Warnings`] by [`SkipReason`]; a line that is not GFF3/GTF at all is an
//! error naming it ([`GffError::Malformed`]): fewer than 9 tab-separated
//! columns (the 9th is the rest of the line, as htslib reads it, so tabs
//! inside attribute values are tolerated), coordinates that are not
//! integers, start after end, a strand other than `+ - . ?`, a phase other
//! than `0 1 2 .`, attributes in neither syntax, or an exon, CDS or codon
//! starting before position 1 (other lines' coordinates are not used and
//! may be 0 or negative, as in files cut from a larger genome).
//!
//! # Lookup
//! Transcripts are grouped by contig (names matched as the tracks match
//! them: `1`/`chr1`, `MT`/`chrM`) and sorted by start, with an implicit
//! augmented interval tree over each contig's array (the layout of Heng
//! Li's cgranges): [`TranscriptIndex::overlapping`] costs O(log n + k) for
//! k hits, needs one extra `u32` per transcript, and yields the hits in
//! start order without allocating.

mod gff;
mod model;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::contig::contig_key;

pub use model::{
    CdsSegment, Exon, Gene, HgvsAnchor, HgvsPosition, Location, Numbered, Strand, Transcript,
};

/// Read buffer of an annotation file.
const BUFFER_BYTES: usize = 256 << 10;
/// Example ids kept per skip reason.
const EXAMPLES: usize = 5;

/// Why an annotation file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum GffError {
    /// The file does not exist.
    #[error("gene annotation {path}: no such file")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// Reading the file failed.
    #[error("gene annotation {path}: {source}")]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The gzip data is corrupt or truncated.
    #[error("gene annotation {path}: {message}")]
    BadCompression {
        /// The path as given.
        path: PathBuf,
        /// What the decoder found.
        message: String,
    },
    /// A line is not GFF3/GTF. `line` is 1-based (in the decompressed text).
    #[error("gene annotation {path}: line {line}: {message}")]
    Malformed {
        /// The path as given.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// The syntax of the annotation file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationFormat {
    /// GFF3 (`key=value` attributes).
    Gff3,
    /// GTF / GFF2 (`key "value";` attributes).
    Gtf,
}

/// Why a transcript was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Exons or CDS name a parent transcript that has no line, a
    /// transcript names a gene that has none, or a child line names no
    /// parent at all.
    MissingParent,
    /// A transcript line without exons.
    NoExons,
    /// Two exons of the transcript overlap.
    OverlappingExons,
    /// The exons' numbers (GFF3 `rank`, GTF `exon_number`) contradict
    /// their order along the strand.
    ExonOrder,
    /// A CDS (or start/stop codon) base lies outside every exon.
    CdsOutsideExon,
    /// CDS segments overlap, or leave coding exon sequence out between
    /// them.
    CdsGap,
    /// The CDS is not a whole number of codons although both its ends are
    /// complete (not on MT, where stops may be completed by
    /// polyadenylation).
    PartialCodon,
    /// The transcript has no strand, or its exons and CDS lie on another
    /// contig or strand than it.
    Inconsistent,
}

impl SkipReason {
    /// Every reason, in the order [`Warnings`] reports them.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::MissingParent,
        SkipReason::NoExons,
        SkipReason::OverlappingExons,
        SkipReason::ExonOrder,
        SkipReason::CdsOutsideExon,
        SkipReason::CdsGap,
        SkipReason::PartialCodon,
        SkipReason::Inconsistent,
    ];

    /// What the reason means, for a log.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::MissingParent => "missing parent",
            SkipReason::NoExons => "no exons",
            SkipReason::OverlappingExons => "overlapping exons",
            SkipReason::ExonOrder => "exon numbers out of order",
            SkipReason::CdsOutsideExon => "CDS outside the exons",
            SkipReason::CdsGap => "CDS segments overlap or have gaps",
            SkipReason::PartialCodon => "CDS not a whole number of codons",
            SkipReason::Inconsistent => "no strand, or parts on another contig or strand",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What loading skipped or noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    skipped: [u64; 8],
    examples: [Vec<String>; 8],
    /// Transcripts kept whose file phases disagree with the phases their
    /// CDS lengths imply (the derived phases are used).
    pub phase_disagreements: u64,
    /// Mitochondrial transcripts kept whose stop codon is completed by
    /// polyadenylation (see [`Transcript::stop_completed_by_polya`]).
    pub polya_stops: u64,
}

impl Warnings {
    pub(crate) fn skip(&mut self, reason: SkipReason, example: &str) {
        let i = reason.index();
        self.skipped[i] += 1;
        if self.examples[i].len() < EXAMPLES {
            self.examples[i].push(example.to_string());
        }
    }

    /// Transcripts (or orphan features) skipped for `reason`.
    pub fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped[reason.index()]
    }

    /// Everything skipped.
    pub fn total_skipped(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// The first few ids (or line descriptions) skipped for `reason`.
    pub fn examples(&self, reason: SkipReason) -> &[String] {
        &self.examples[reason.index()]
    }

    /// Whether nothing was skipped.
    pub fn is_empty(&self) -> bool {
        self.total_skipped() == 0
    }
}

impl fmt::Display for Warnings {
    /// One line per reason with skips: `skipped 3 transcripts (overlapping
    /// exons), e.g. ENST1, ENST2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for reason in SkipReason::ALL {
            let count = self.skipped(reason);
            if count == 0 {
                continue;
            }
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(
                f,
                "skipped {count} transcript(s) ({}), e.g. {}",
                reason.describe(),
                self.examples(reason).join(", ")
            )?;
        }
        Ok(())
    }
}

/// One contig's transcripts, sorted by start, with the augmented tree.
#[derive(Debug)]
struct ContigTranscripts {
    transcripts: Vec<Transcript>,
    /// Each transcript's `(start, end)`, side by side: the tree walk reads
    /// them, and reading them from the transcripts themselves touched a
    /// cache line per transcript.
    spans: Vec<(u32, u32)>,
    /// Per node: the largest half-open end (`end + 1`) in its subtree.
    max_end: Vec<u32>,
    /// The root's level; -1 when empty.
    max_level: i32,
}

impl ContigTranscripts {
    fn new(mut transcripts: Vec<Transcript>) -> Self {
        transcripts.sort_by(|a, b| (a.start, a.end, &a.id).cmp(&(b.start, b.end, &b.id)));
        let n = transcripts.len();
        let spans: Vec<(u32, u32)> = transcripts.iter().map(|t| (t.start, t.end)).collect();
        let end = |i: usize| transcripts[i].end.saturating_add(1);
        let mut max_end = vec![0u32; n];
        if n == 0 {
            return ContigTranscripts {
                transcripts,
                spans,
                max_end,
                max_level: -1,
            };
        }
        let (mut last_i, mut last) = (0, 0);
        for i in (0..n).step_by(2) {
            last_i = i;
            max_end[i] = end(i);
            last = max_end[i];
        }
        let mut k = 1;
        while 1usize << k <= n {
            let x = 1usize << (k - 1);
            let i0 = (x << 1) - 1;
            let step = x << 2;
            let mut i = i0;
            while i < n {
                let left = max_end[i - x];
                let right = if i + x < n { max_end[i + x] } else { last };
                max_end[i] = end(i).max(left).max(right);
                i += step;
            }
            last_i = if (last_i >> k) & 1 == 1 {
                last_i - x
            } else {
                last_i + x
            };
            if last_i < n && max_end[last_i] > last {
                last = max_end[last_i];
            }
            k += 1;
        }
        ContigTranscripts {
            transcripts,
            spans,
            max_end,
            max_level: k - 1,
        }
    }
}

/// Transcripts loaded from a GFF3 or GTF file, indexed by position.
/// Immutable once loaded: share it between threads by reference or `Arc`.
#[derive(Debug)]
pub struct TranscriptIndex {
    contigs: Vec<ContigTranscripts>,
    /// [`contig_key`] to the index in `contigs`.
    keys: HashMap<Box<str>, usize>,
    format: AnnotationFormat,
    genes: usize,
    header: Vec<String>,
    warnings: Warnings,
}

impl TranscriptIndex {
    /// Loads a GFF3 or GTF file (see the module documentation).
    ///
    /// # Errors
    /// [`GffError::NotFound`], [`GffError::Io`], [`GffError::BadCompression`],
    /// or [`GffError::Malformed`] naming the first line that is not GFF3/GTF.
    /// Broken transcript models are not errors: see [`TranscriptIndex::warnings`].
    pub fn load(path: impl AsRef<Path>) -> Result<TranscriptIndex, GffError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                GffError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                GffError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        Self::read(path, BufReader::with_capacity(BUFFER_BYTES, file))
    }

    /// Reads a GFF3 or GTF file from `reader` (plain, gzip or BGZF); `name`
    /// is what errors show as its path.
    ///
    /// # Errors
    /// As [`TranscriptIndex::load`].
    pub fn from_reader(name: &str, reader: impl BufRead) -> Result<TranscriptIndex, GffError> {
        Self::read(Path::new(name), reader)
    }

    fn read(path: &Path, reader: impl BufRead) -> Result<TranscriptIndex, GffError> {
        let parsed = gff::read(reader).map_err(|failure| match failure {
            gff::ReadFailure::Io(source) => GffError::Io {
                path: path.to_path_buf(),
                source,
            },
            gff::ReadFailure::BadCompression(message) => GffError::BadCompression {
                path: path.to_path_buf(),
                message,
            },
            gff::ReadFailure::Malformed { line, message } => GffError::Malformed {
                path: path.to_path_buf(),
                line,
                message,
            },
        })?;
        let mut keys: HashMap<Box<str>, usize> = HashMap::new();
        let mut grouped: Vec<Vec<Transcript>> = Vec::new();
        for transcript in parsed.transcripts {
            let key = contig_key(transcript.contig());
            let i = match keys.get(key) {
                Some(&i) => i,
                None => {
                    keys.insert(key.into(), grouped.len());
                    grouped.push(Vec::new());
                    grouped.len() - 1
                }
            };
            grouped[i].push(transcript);
        }
        Ok(TranscriptIndex {
            contigs: grouped.into_iter().map(ContigTranscripts::new).collect(),
            keys,
            format: parsed.format,
            genes: parsed.genes,
            header: parsed.header,
            warnings: parsed.warnings,
        })
    }

    /// GFF3 or GTF.
    pub fn format(&self) -> AnnotationFormat {
        self.format
    }

    /// Transcripts loaded.
    pub fn len(&self) -> usize {
        self.contigs.iter().map(|c| c.transcripts.len()).sum()
    }

    /// Whether no transcript was loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Genes with at least one loaded transcript.
    pub fn gene_count(&self) -> usize {
        self.genes
    }

    /// The header lines kept (see the module documentation), as written.
    pub fn header_lines(&self) -> &[String] {
        &self.header
    }

    /// The value of the first `#!genome-build` (or `##genome-build`)
    /// header line, e.g. `Genome Reference Consortium GRCh38.p14`.
    pub fn genome_build(&self) -> Option<&str> {
        self.header.iter().find_map(|line| {
            line.strip_prefix("#!genome-build ")
                .or_else(|| line.strip_prefix("##genome-build "))
                .map(str::trim)
        })
    }

    /// What was skipped while loading.
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// Every transcript, contig by contig (in file order of first
    /// appearance), each contig's sorted by start.
    pub fn transcripts(&self) -> impl Iterator<Item = &Transcript> {
        self.contigs.iter().flat_map(|c| c.transcripts.iter())
    }

    /// Whether the models have any transcript on `contig` (any naming
    /// style).
    pub fn has_contig(&self, contig: &str) -> bool {
        self.keys.contains_key(contig_key(contig))
    }

    /// The transcript with id `id` (with or without its version). A linear
    /// scan: for tests and tools, not per-variant lookups.
    pub fn find(&self, id: &str) -> Option<&Transcript> {
        self.transcripts()
            .find(|t| t.id() == id || t.stable_id() == id)
    }

    /// The transcripts on `contig` (any naming style) that overlap the
    /// 1-based inclusive range `start..=end` once extended by `flank`
    /// bases on both sides: those with `t.start() - flank <= end` and
    /// `t.end() + flank >= start` (use 5,000 to find the transcripts a
    /// variant is upstream or downstream of, as VEP does). Yields them in
    /// order of start, then end, then id.
    pub fn overlapping(&self, contig: &str, start: u32, end: u32, flank: u32) -> Overlapping<'_> {
        let slot = self.contig_slot(contig).unwrap_or(ContigSlot(usize::MAX));
        self.overlapping_in(slot, start, end, flank)
    }

    /// The contig `contig` (any naming style) of these models, when they
    /// have transcripts on it: [`TranscriptIndex::overlapping_in`] then
    /// queries it without looking the name up again.
    pub fn contig_slot(&self, contig: &str) -> Option<ContigSlot> {
        self.keys.get(contig_key(contig)).copied().map(ContigSlot)
    }

    /// As [`TranscriptIndex::overlapping`], on the contig `slot` (nothing
    /// for a slot of other models).
    pub fn overlapping_in(
        &self,
        slot: ContigSlot,
        start: u32,
        end: u32,
        flank: u32,
    ) -> Overlapping<'_> {
        static NONE: ContigTranscripts = ContigTranscripts {
            transcripts: Vec::new(),
            spans: Vec::new(),
            max_end: Vec::new(),
            max_level: -1,
        };
        let contig = self.contigs.get(slot.0).unwrap_or(&NONE);
        let level = contig.max_level;
        let mut iter = Overlapping {
            transcripts: &contig.transcripts,
            spans: &contig.spans,
            max_end: &contig.max_end,
            query_start: u64::from(start).saturating_sub(u64::from(flank)),
            query_end: u64::from(end) + u64::from(flank) + 1,
            stack: [Node::default(); STACK_NODES],
            top: 0,
            scan: None,
        };
        if level >= 0 {
            iter.stack[0] = Node::new((1usize << level) - 1, level, false);
            iter.top = 1;
        }
        iter
    }
}

/// A contig of one [`TranscriptIndex`], found by
/// [`TranscriptIndex::contig_slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContigSlot(usize);

/// The deepest traversal: one node per tree level, and a tree over fewer
/// than 2^63 transcripts has fewer than 64 levels.
const STACK_NODES: usize = 64;

/// A node of the implicit interval tree being walked: its index `x`, its
/// level `k` and whether its left subtree is done, packed in one word.
/// Every query starts with a fresh stack, and zeroing 64 packed words is a
/// few vector stores where 64 three-field nodes took a loop (it showed in
/// profiles: a query per ALT allele).
#[derive(Debug, Clone, Copy, Default)]
struct Node(u64);

impl Node {
    fn new(x: usize, k: i32, left_done: bool) -> Node {
        debug_assert!((0..64).contains(&k) && x < 1 << 56);
        Node((x as u64) << 8 | (k as u64) << 1 | u64::from(left_done))
    }

    fn x(self) -> usize {
        (self.0 >> 8) as usize
    }

    fn k(self) -> i32 {
        ((self.0 >> 1) & 0x7f) as i32
    }

    fn left_done(self) -> bool {
        self.0 & 1 == 1
    }
}

/// The iterator [`TranscriptIndex::overlapping`] returns.
#[derive(Debug)]
pub struct Overlapping<'a> {
    transcripts: &'a [Transcript],
    spans: &'a [(u32, u32)],
    max_end: &'a [u32],
    /// Half-open query, in 1-based coordinates.
    query_start: u64,
    query_end: u64,
    stack: [Node; STACK_NODES],
    top: usize,
    /// A linear scan of a small subtree: next index and end.
    scan: Option<(usize, usize)>,
}

impl<'a> Iterator for Overlapping<'a> {
    type Item = &'a Transcript;

    fn next(&mut self) -> Option<&'a Transcript> {
        let n = self.transcripts.len();
        let starts_before_end = |i: usize| u64::from(self.spans[i].0) < self.query_end;
        let ends_after_start = |i: usize| self.query_start < u64::from(self.spans[i].1) + 1;
        loop {
            if let Some((i, stop)) = self.scan {
                if i < stop && starts_before_end(i) {
                    self.scan = Some((i + 1, stop));
                    if ends_after_start(i) {
                        return Some(&self.transcripts[i]);
                    }
                    continue;
                }
                self.scan = None;
            }
            if self.top == 0 {
                return None;
            }
            self.top -= 1;
            let z = self.stack[self.top];
            let (x, k) = (z.x(), z.k());
            if k <= 3 {
                // A small subtree: scan it.
                let i0 = x >> k << k;
                let i1 = (i0 + (1usize << (k + 1)) - 1).min(n);
                self.scan = Some((i0, i1));
            } else if !z.left_done() {
                let y = x - (1usize << (k - 1));
                self.stack[self.top] = Node::new(x, k, true);
                self.top += 1;
                if y >= n || u64::from(self.max_end[y]) > self.query_start {
                    self.stack[self.top] = Node::new(y, k - 1, false);
                    self.top += 1;
                }
            } else if x < n && starts_before_end(x) {
                self.stack[self.top] = Node::new(x + (1usize << (k - 1)), k - 1, false);
                self.top += 1;
                if ends_after_start(x) {
                    return Some(&self.transcripts[x]);
                }
            }
        }
    }
}
