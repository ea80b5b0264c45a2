//! Consequence annotation of whole records: every ALT allele against every
//! transcript within [`FLANK`] of it, written as one `INFO/CSQ` value, and
//! the counts a job log and page show.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::allele::{Allele, NotAnnotated, Room};
use super::csq::CSQ_FIELDS;
use super::predict::{predict_into, Effect, FLANK};
use super::sequence::SequenceCache;
use super::{Consequence, ConsequenceSet, Impact};
use crate::fasta::{ContigId, Reference};
use crate::observe::WrittenEntry;
use crate::transcript::{ContigSlot, Strand, Transcript, TranscriptIndex};

/// Which CSQ entries a record gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pick {
    /// One per allele and transcript (VEP's default); the entry `--pick`
    /// would choose for each allele is marked `PICK=1` (VEP's
    /// `--flag_pick_allele`).
    #[default]
    All,
    /// One per allele and gene: the gene's best transcript (VEP's
    /// `--per_gene`).
    PerGene,
    /// One per record: its best allele × transcript (VEP's `--pick`).
    One,
}

/// A file an annotation was made with, as the output header names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file name (no directories: they say nothing to a reader and may
    /// reveal a machine's layout).
    pub name: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

impl Source {
    /// The source `path`, its bytes hashed.
    ///
    /// # Errors
    /// Reading the file.
    pub fn of_file(path: &Path) -> std::io::Result<Source> {
        let file = std::fs::File::open(path)?;
        HashingReader::new(std::io::BufReader::with_capacity(1 << 20, file)).finish(path)
    }

    /// A source held in memory (the data the binary ships).
    pub fn of_bytes(name: &str, bytes: &[u8]) -> Source {
        Source {
            name: name.to_owned(),
            sha256: hex(&Sha256::digest(bytes)),
        }
    }
}

/// A reader that hashes the bytes read through it, so that a file parsed
/// once (transcript models) is not read a second time for its checksum.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: BufRead> HashingReader<R> {
    /// Hashes what is read from `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Reads what the parser left unread, and names the source `path`.
    ///
    /// # Errors
    /// Reading the rest.
    pub fn finish(mut self, path: &Path) -> std::io::Result<Source> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(Source {
            name: file_name(path),
            sha256: hex(&self.hasher.finalize()),
        })
    }
}

impl<R: BufRead> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The bytes being consumed are still the front of the inner
        // buffer: `fill_buf` returns them again without reading.
        if let Ok(buf) = self.inner.fill_buf() {
            self.hasher.update(&buf[..amt.min(buf.len())]);
        }
        self.inner.consume(amt);
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What consequence annotation uses: transcript models, optionally a
/// reference genome, and which entries to write. Loaded once and shared by
/// every run and thread.
#[derive(Debug)]
pub struct Consequences {
    transcripts: Vec<(TranscriptIndex, Source)>,
    reference: Option<(Reference, Source)>,
    pick: Pick,
}

impl Consequences {
    /// Annotation with `transcripts` (at least one set) and, when given, a
    /// `reference` (without one, what needs sequence is left out: see
    /// [`Consequences::header_lines`]).
    pub fn new(
        transcripts: Vec<(TranscriptIndex, Source)>,
        reference: Option<(Reference, Source)>,
        pick: Pick,
    ) -> Consequences {
        Consequences {
            transcripts,
            reference,
            pick,
        }
    }

    /// The header lines announcing the annotation: the `CSQ` and
    /// `REF_MISMATCH` definitions and a `##GAS_CSQ` line naming the
    /// sources (file names, SHA-256, the models' genome build and
    /// release), the selection, and what was left out for want of a
    /// reference, as VEP's `##VEP` line does.
    pub fn header_lines(&self, version: &str) -> Vec<String> {
        let mut lines = vec![super::csq::info_header_line(CSQ_FIELDS)];
        lines.push(
            "##INFO=<ID=REF_MISMATCH,Number=0,Type=Flag,Description=\"REF differs from the reference genome GAS annotated consequences with\">"
                .to_owned(),
        );
        let quote = |s: &str| s.replace(['"', '\\'], "_");
        let mut stamp = format!("##GAS_CSQ=<Version=\"{}\"", quote(version));
        for (i, (index, source)) in self.transcripts.iter().enumerate() {
            let n = if self.transcripts.len() > 1 {
                format!("{}", i + 1)
            } else {
                String::new()
            };
            let _ = write!(
                stamp,
                ",Transcripts{n}=\"{}\",Transcripts{n}Sha256={},Transcripts{n}Count={}",
                quote(&source.name),
                source.sha256,
                index.len()
            );
            if let Some(build) = index.genome_build() {
                let _ = write!(stamp, ",Transcripts{n}GenomeBuild=\"{}\"", quote(build));
            }
            for line in index.header_lines() {
                for key in [
                    "#!genebuild-last-updated",
                    "#!genome-version",
                    "##provider",
                    "##date",
                ] {
                    if let Some(value) = line.strip_prefix(key) {
                        let field: String = key
                            .trim_start_matches('#')
                            .trim_start_matches('!')
                            .split('-')
                            .map(|w| {
                                let mut c = w.chars();
                                c.next().map_or_else(String::new, |f| {
                                    f.to_uppercase().collect::<String>() + c.as_str()
                                })
                            })
                            .collect();
                        let _ = write!(stamp, ",Transcripts{n}{field}=\"{}\"", quote(value.trim()));
                    }
                }
            }
        }
        match &self.reference {
            Some((_, source)) => {
                let _ = write!(
                    stamp,
                    ",Reference=\"{}\",ReferenceSha256={}",
                    quote(&source.name),
                    source.sha256
                );
            }
            None => stamp.push_str(
                ",Reference=none,Omitted=\"no reference genome: Codons, Amino_acids, HGVSp, the coding terms that need the codon (missense, synonymous, stop and start terms, in-frame and frameshift calls are coding_sequence_variant instead), the 3' shift of HGVSc insertions and deletions and dup detection, and the REF check\"",
            ),
        }
        let pick = match self.pick {
            Pick::All => "all (PICK=1 marks each allele's pick)",
            Pick::PerGene => "per_gene",
            Pick::One => "pick",
        };
        let _ = write!(stamp, ",Entries=\"{pick}\",Flank={FLANK}>");
        lines.push(stamp);
        lines
    }

    /// The transcript models' sources, in the order given.
    pub fn transcript_sources(&self) -> impl Iterator<Item = &Source> {
        self.transcripts.iter().map(|(_, s)| s)
    }

    /// The reference genome's source, when one is loaded.
    pub fn reference_source(&self) -> Option<&Source> {
        self.reference.as_ref().map(|(_, s)| s)
    }

    /// A worker: the per-thread state annotating records.
    pub fn worker(&self) -> ConsequenceWorker<'_> {
        ConsequenceWorker {
            shared: self,
            reference: self.reference.as_ref().map(|(r, _)| r.clone()),
            cache: SequenceCache::default(),
            entries: Vec::new(),
            live: 0,
            alleles: Vec::new(),
            ref_buf: Vec::new(),
            contig: ContigMemo::default(),
            labels: LabelCache::default(),
        }
    }
}

/// Counts of consequence annotation over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsequenceTally {
    /// ALT alleles by their most severe consequence over all transcripts
    /// (`intergenic_variant` when none is near), indexed by
    /// [`Consequence::rank`] − 1.
    pub most_severe: Vec<u64>,
    /// ALT alleles by the impact of that consequence (HIGH, MODERATE, LOW,
    /// MODIFIER).
    pub impacts: [u64; 4],
    /// Alleles with a HIGH-impact consequence, by gene name (or id).
    pub high_impact_genes: BTreeMap<String, u64>,
    /// Records whose REF differs from the reference genome.
    pub ref_mismatches: u64,
    /// ALT alleles without a consequence: symbolic, breakends, `*`.
    pub not_annotated: u64,
    /// ALT alleles on contigs no transcript model covers (no CSQ: they are
    /// not intergenic, the models just say nothing about them).
    pub uncovered: u64,
    /// CSQ entries written.
    pub entries: u64,
}

/// The most genes [`ConsequenceTally::high_impact_genes`] keeps by name;
/// the rest are counted under `other`.
pub const MAX_HIGH_IMPACT_GENES: usize = 1000;

impl ConsequenceTally {
    fn count_allele(&mut self, worst: Consequence, genes: &[&str]) {
        if self.most_severe.is_empty() {
            self.most_severe = vec![0; Consequence::ALL.len()];
        }
        self.most_severe[usize::from(worst.rank()) - 1] += 1;
        let impact = worst.impact();
        self.impacts[impact as usize] += 1;
        if impact == Impact::High {
            for gene in genes {
                self.count_gene(gene, 1);
            }
        }
    }

    fn count_gene(&mut self, gene: &str, n: u64) {
        if let Some(count) = self.high_impact_genes.get_mut(gene) {
            *count += n;
        } else if self.high_impact_genes.len() < MAX_HIGH_IMPACT_GENES {
            self.high_impact_genes.insert(gene.to_owned(), n);
        } else {
            *self
                .high_impact_genes
                .entry("other".to_owned())
                .or_default() += n;
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &ConsequenceTally) {
        if self.most_severe.is_empty() {
            self.most_severe = vec![0; Consequence::ALL.len()];
        }
        for (a, b) in self.most_severe.iter_mut().zip(&other.most_severe) {
            *a += b;
        }
        for (a, b) in self.impacts.iter_mut().zip(other.impacts) {
            *a += b;
        }
        for (gene, n) in &other.high_impact_genes {
            self.count_gene(gene, *n);
        }
        self.ref_mismatches += other.ref_mismatches;
        self.not_annotated += other.not_annotated;
        self.uncovered += other.uncovered;
        self.entries += other.entries;
    }

    /// The alleles whose most severe consequence is `c`.
    pub fn count(&self, c: Consequence) -> u64 {
        self.most_severe
            .get(usize::from(c.rank()) - 1)
            .copied()
            .unwrap_or(0)
    }
}

/// One allele × transcript result, before writing.
struct Entry<'t> {
    allele: usize,
    transcript: &'t Transcript,
    effect: Effect,
}

/// Per-thread consequence annotation (see [`Consequences::worker`]).
pub struct ConsequenceWorker<'c> {
    shared: &'c Consequences,
    reference: Option<Reference>,
    cache: SequenceCache,
    /// The record's entries are `entries[..live]`; the rest are kept for
    /// their strings' buffers (see [`predict_into`]).
    entries: Vec<Entry<'c>>,
    live: usize,
    alleles: Vec<Option<Allele>>,
    ref_buf: Vec<u8>,
    contig: ContigMemo,
    labels: LabelCache,
}

/// The last record's contig, looked up in the genome and in each set of
/// models: sorted input changes contig rarely, and a name lookup per
/// record and allele was a measurable part of the run.
#[derive(Debug, Default)]
struct ContigMemo {
    name: String,
    genome: Option<ContigId>,
    /// Per set of models (as [`Consequences`] lists them).
    slots: Vec<Option<ContigSlot>>,
}

/// Where [`ConsequenceWorker::annotate`] writes a record's CSQ.
#[derive(Debug)]
pub struct CsqOut<'o> {
    /// The value (entries joined with `,`, no `CSQ=`), appended to.
    pub value: &'o mut String,
    /// When given, each entry written, by value (see [`WrittenEntry`]).
    pub entries: Option<&'o mut Vec<WrittenEntry>>,
}

/// What [`ConsequenceWorker::annotate`] found about a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The CSQ value is not empty.
    pub written: bool,
    /// REF disagrees with the reference genome.
    pub ref_mismatch: bool,
}

impl<'c> ConsequenceWorker<'c> {
    /// Annotates the record `chrom:pos REF ALT,...`: appends its CSQ value
    /// (entries joined with `,`, no `CSQ=`) to `out` and counts it.
    pub fn annotate(
        &mut self,
        chrom: &str,
        pos: u32,
        reference: &str,
        alts: &[&str],
        out: CsqOut<'_>,
        tally: &mut ConsequenceTally,
    ) -> RecordOutcome {
        let CsqOut {
            value: out,
            entries: mut written,
        } = out;
        let mut outcome = RecordOutcome::default();
        if self.contig.name != chrom || self.contig.slots.is_empty() {
            self.contig.name.clear();
            self.contig.name.push_str(chrom);
            self.contig.genome = self.reference.as_ref().and_then(|g| g.contig_id(chrom));
            self.contig.slots = (self.shared.transcripts.iter())
                .map(|(index, _)| index.contig_slot(chrom))
                .collect();
        }
        let genome_contig = self.contig.genome;
        // The REF check: one read of the reference per record.
        if let (Some(genome), Some(id)) = (&self.reference, genome_contig) {
            {
                let start = u64::from(pos) - 1;
                let end = start + reference.len() as u64;
                self.ref_buf.clear();
                let matches = genome
                    .fetch_id_into(id, start, end, &mut self.ref_buf)
                    .is_ok()
                    && self
                        .ref_buf
                        .iter()
                        .zip(reference.as_bytes())
                        .all(|(a, b)| a.eq_ignore_ascii_case(b) || *a == b'N' || *b == b'N')
                    && self.ref_buf.len() == reference.len();
                if !matches {
                    outcome.ref_mismatch = true;
                    tally.ref_mismatches += 1;
                }
            }
        }
        self.live = 0;
        if self.contig.slots.iter().all(Option::is_none) {
            tally.uncovered += alts.iter().filter(|a| **a != ".").count() as u64;
            return outcome;
        }
        // The worker's alleles, refilled (their buffers reused).
        let mut alleles = std::mem::take(&mut self.alleles);
        alleles.resize_with(alts.len(), || None);
        for (slot, alt) in alleles.iter_mut().zip(alts) {
            let mut allele = slot.take().unwrap_or_default();
            match allele.assign_vcf(pos, reference, alt) {
                Ok(()) => *slot = Some(allele),
                Err(NotAnnotated::NoChange) => {}
                Err(_) => tally.not_annotated += 1,
            }
        }
        let shared = self.shared;
        for (i, allele) in alleles.iter().enumerate() {
            let Some(allele) = allele else { continue };
            let room = match (&self.reference, genome_contig) {
                (Some(genome), Some(id)) => Room::measure(allele, genome, id),
                _ => Room::default(),
            };
            let (lo, hi) = allele.touched();
            for (k, (index, _)) in shared.transcripts.iter().enumerate() {
                let Some(slot) = self.contig.slots[k] else {
                    continue;
                };
                for transcript in index.overlapping_in(slot, lo, hi, FLANK) {
                    // Only a change touching the coding span reads codons.
                    let touches_cds = transcript
                        .coding_range()
                        .is_some_and(|(s, e)| lo <= e && hi >= s);
                    let sequence = match &self.reference {
                        Some(genome) if touches_cds => self.cache.get(transcript, genome),
                        _ => None,
                    };
                    if self.live == self.entries.len() {
                        self.entries.push(Entry {
                            allele: i,
                            transcript,
                            effect: Effect::default(),
                        });
                    }
                    let entry = &mut self.entries[self.live];
                    entry.allele = i;
                    entry.transcript = transcript;
                    if predict_into(
                        transcript,
                        allele,
                        room,
                        sequence.as_deref(),
                        &mut entry.effect,
                    ) {
                        self.live += 1;
                    }
                }
            }
        }
        let entries = &self.entries[..self.live];
        // Counts, per allele, over all its entries.
        for (i, allele) in alleles.iter().enumerate() {
            if allele.is_none() {
                continue;
            }
            let mut worst: Option<Consequence> = None;
            let mut genes: Vec<&str> = Vec::new();
            for e in entries.iter().filter(|e| e.allele == i) {
                if let Some(c) = e.effect.terms.most_severe() {
                    if worst.is_none_or(|w| c.rank() < w.rank()) {
                        worst = Some(c);
                    }
                }
            }
            let worst = worst.unwrap_or(Consequence::IntergenicVariant);
            if worst.impact() == Impact::High {
                for e in entries.iter().filter(|e| e.allele == i) {
                    if e.effect.terms.impact() == Some(Impact::High) {
                        let gene = e.transcript.gene();
                        let name = gene.name().unwrap_or(gene.stable_id());
                        if !genes.contains(&name) {
                            genes.push(name);
                        }
                    }
                }
            }
            tally.count_allele(worst, &genes);
        }
        // Selection.
        let picked = self.select(alleles.len());
        let mut first = true;
        for (i, allele) in alleles.iter().enumerate() {
            let Some(allele) = allele else { continue };
            let mut any = false;
            for (k, e) in entries.iter().enumerate() {
                if e.allele != i {
                    continue;
                }
                any = true;
                let pick = picked.contains(&k);
                if shared.pick != Pick::All && !pick {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                let pick = pick && shared.pick == Pick::All;
                if let Some(written) = written.as_deref_mut() {
                    written.push(WrittenEntry {
                        alt: i as u16,
                        pick,
                        feature: e.transcript as *const Transcript as usize,
                        consequence: e.effect.terms.bits(),
                        start: out.len() as u32,
                    });
                }
                write_entry(out, allele, self.labels.get(e.transcript), &e.effect, pick);
                tally.entries += 1;
            }
            // An allele with no transcript near: `intergenic_variant`, but
            // with --pick only when the whole record has nothing else.
            let intergenic = !any && (shared.pick != Pick::One || (picked.is_empty() && first));
            if intergenic {
                if !first {
                    out.push(',');
                }
                first = false;
                if let Some(written) = written.as_deref_mut() {
                    written.push(WrittenEntry {
                        alt: i as u16,
                        pick: shared.pick == Pick::All,
                        feature: 0,
                        consequence: intergenic_key(),
                        start: out.len() as u32,
                    });
                }
                write_intergenic(out, allele, shared.pick == Pick::All);
                tally.entries += 1;
            }
        }
        outcome.written = !first;
        self.alleles = alleles;
        outcome
    }

    /// Indexes of the entries each selection keeps (for [`Pick::All`], the
    /// ones marked `PICK`).
    fn select(&self, alleles: usize) -> Vec<usize> {
        let entries = &self.entries[..self.live];
        let key = |e: &Entry| {
            let t = e.transcript;
            (
                !t.is_mane_select(),
                !t.is_mane_plus_clinical(),
                !t.is_canonical(),
                t.tsl().unwrap_or(6),
                t.biotype() != "protein_coding",
                e.effect.terms.most_severe().map_or(u8::MAX, |c| c.rank()),
                std::cmp::Reverse(t.cdna_len()),
            )
        };
        let best = |indexes: &mut dyn Iterator<Item = usize>| {
            indexes.min_by(|&a, &b| {
                key(&entries[a])
                    .cmp(&key(&entries[b]))
                    .then_with(|| entries[a].transcript.id().cmp(entries[b].transcript.id()))
            })
        };
        match self.shared.pick {
            Pick::One => best(&mut (0..entries.len())).into_iter().collect(),
            Pick::All => (0..alleles)
                .filter_map(|i| best(&mut (0..entries.len()).filter(|&k| entries[k].allele == i)))
                .collect(),
            Pick::PerGene => {
                let mut out = Vec::new();
                for i in 0..alleles {
                    let mut genes: Vec<&str> = Vec::new();
                    for e in entries.iter().filter(|e| e.allele == i) {
                        let g = e.transcript.gene().id();
                        if !genes.contains(&g) {
                            genes.push(g);
                        }
                    }
                    for g in genes {
                        out.extend(best(&mut (0..entries.len()).filter(|&k| {
                            entries[k].allele == i && entries[k].transcript.gene().id() == g
                        })));
                    }
                }
                out
            }
        }
    }
}

/// Appends `value` escaped as [`super::csq::escape_value`] does; `plain`
/// says it holds nothing to escape (see [`Transcript::names_are_plain`]).
fn push_value(out: &mut String, value: &str, plain: bool) {
    if value == "-" {
        // VEP's missing value: the field stays empty.
    } else if plain {
        out.push_str(value);
    } else {
        super::csq::escape_into(out, value);
    }
}

fn push_u32(out: &mut String, n: u32) {
    super::predict::push_u64(out, u64::from(n));
}

fn push_range(out: &mut String, range: Option<(u32, u32)>) {
    if let Some((a, b)) = range {
        push_u32(out, a);
        if a != b {
            out.push('-');
            push_u32(out, b);
        }
    }
}

fn push_numbers(out: &mut String, n: Option<super::Numbers>) {
    if let Some(n) = n {
        push_u32(out, n.first);
        if n.first != n.last {
            out.push('-');
            push_u32(out, n.last);
        }
        out.push('/');
        push_u32(out, n.total);
    }
}

/// One CSQ entry in [`CSQ_FIELDS`]' order.
fn write_entry(out: &mut String, allele: &Allele, labels: &Labels, e: &Effect, pick: bool) {
    debug_assert_eq!(CSQ_FIELDS.len(), 26);
    out.push_str(allele.display()); // Allele
    out.push('|');
    for (i, term) in e.terms.iter().enumerate() {
        // Consequence
        if i > 0 {
            out.push('&');
        }
        out.push_str(term.so_term());
    }
    out.push('|');
    if let Some(impact) = e.terms.impact() {
        out.push_str(impact.as_str());
    }
    out.push('|');
    out.push_str(labels.names()); // SYMBOL|Gene|Feature_type|Feature|BIOTYPE
    out.push('|');
    push_numbers(out, e.exon);
    out.push('|');
    push_numbers(out, e.intron);
    out.push('|');
    if !e.hgvsc.is_empty() {
        out.push_str(labels.hgvsc_prefix());
        // GAS's own descriptions hold nothing CSQ escapes.
        out.push_str(&e.hgvsc);
    }
    out.push('|');
    if !e.hgvsp.is_empty() {
        out.push_str(labels.hgvsp_prefix());
        out.push_str(&e.hgvsp);
    }
    out.push('|');
    push_range(out, e.cdna);
    out.push('|');
    push_range(out, e.cds);
    out.push('|');
    push_range(out, e.protein);
    out.push('|');
    out.push_str(&e.amino_acids);
    out.push('|');
    out.push_str(&e.codons);
    out.push_str("||"); // Existing_variation
    if let Some(d) = e.distance {
        push_u32(out, d);
    }
    out.push('|');
    out.push_str(labels.strand_flags()); // STRAND|FLAGS
    out.push('|');
    if pick {
        out.push('1');
    }
    out.push_str(labels.tail()); // |SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT
}

/// A transcript's part of its CSQ entries, written once and copied into
/// each entry: a dozen small copies per entry were a tenth of the run
/// (`memmove` in profiles).
#[derive(Debug, Default)]
struct Labels {
    /// `SYMBOL|Gene|Transcript|Feature|BIOTYPE`, `ID:`, `PROTEIN:`,
    /// `STRAND|FLAGS`, `|||CANONICAL|MANE_SELECT`, one after the other.
    text: String,
    /// Where each part but the first starts in `text`.
    starts: [usize; 4],
}

impl Labels {
    fn render(&mut self, t: &Transcript) {
        let plain = t.names_are_plain();
        let gene = t.gene();
        let out = &mut self.text;
        out.clear();
        push_value(out, gene.name().unwrap_or(""), plain); // SYMBOL
        out.push('|');
        push_value(out, gene.stable_id(), plain); // Gene
        out.push_str("|Transcript|");
        push_value(out, t.stable_id(), plain); // Feature
        out.push('|');
        push_value(out, t.biotype(), plain);
        self.starts[0] = out.len();
        push_value(out, t.id(), plain);
        out.push(':');
        self.starts[1] = out.len();
        push_value(out, t.protein_id().unwrap_or(t.id()), plain);
        out.push(':');
        self.starts[2] = out.len();
        out.push_str(match t.strand() {
            Strand::Forward => "1",
            Strand::Reverse => "-1",
        });
        out.push('|');
        let start_nf = t.is_cds_start_nf() || (t.is_coding() && !t.cds_start_complete());
        let end_nf = t.is_cds_end_nf();
        match (start_nf, end_nf) {
            (true, true) => out.push_str("cds_start_NF&cds_end_NF"),
            (true, false) => out.push_str("cds_start_NF"),
            (false, true) => out.push_str("cds_end_NF"),
            (false, false) => {}
        }
        self.starts[3] = out.len();
        out.push_str("|||"); // SYMBOL_SOURCE, HGNC_ID
        if t.is_canonical() {
            out.push_str("YES");
        }
        out.push('|');
        if t.is_mane_select() {
            out.push_str("YES");
        }
    }

    fn names(&self) -> &str {
        &self.text[..self.starts[0]]
    }

    fn hgvsc_prefix(&self) -> &str {
        &self.text[self.starts[0]..self.starts[1]]
    }

    fn hgvsp_prefix(&self) -> &str {
        &self.text[self.starts[1]..self.starts[2]]
    }

    fn strand_flags(&self) -> &str {
        &self.text[self.starts[2]..self.starts[3]]
    }

    fn tail(&self) -> &str {
        &self.text[self.starts[3]..]
    }
}

/// The [`Labels`] of recently written transcripts, direct-mapped by the
/// transcript's address (transcripts live in their index for the whole
/// run; sorted input meets the same few again and again).
#[derive(Debug)]
struct LabelCache {
    slots: Vec<(usize, Labels)>,
}

/// Slots of a [`LabelCache`] (a power of two).
const LABEL_SLOTS: usize = 256;

impl Default for LabelCache {
    fn default() -> Self {
        LabelCache {
            slots: (0..LABEL_SLOTS).map(|_| (0, Labels::default())).collect(),
        }
    }
}

impl LabelCache {
    fn get(&mut self, t: &Transcript) -> &Labels {
        let key = t as *const Transcript as usize;
        // Transcripts are larger than 64 bytes: the bits above the sixth
        // tell neighbours apart.
        let slot = &mut self.slots[(key >> 6) & (LABEL_SLOTS - 1)];
        if slot.0 != key {
            slot.1.render(t);
            slot.0 = key;
        }
        &slot.1
    }
}

/// The consequence key ([`WrittenEntry::consequence`]) of an intergenic
/// entry: the set of its one term.
fn intergenic_key() -> u64 {
    let mut set = ConsequenceSet::new();
    set.insert(Consequence::IntergenicVariant);
    set.bits()
}

/// The entry of an allele with no transcript within [`FLANK`].
fn write_intergenic(out: &mut String, allele: &Allele, pick: bool) {
    out.push_str(allele.display());
    out.push_str("|intergenic_variant|MODIFIER");
    // The fields after IMPACT up to PICK, empty.
    let pick_at = CSQ_FIELDS.iter().position(|f| *f == "PICK").expect("PICK");
    for _ in 3..=pick_at {
        out.push('|');
    }
    if pick {
        out.push('1');
    }
    for _ in pick_at + 1..CSQ_FIELDS.len() {
        out.push('|');
    }
}

/// Shared, thread-safe handle (what [`crate::Options`] carries).
pub type SharedConsequences = Arc<Consequences>;

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Read};

    use super::*;

    #[test]
    fn a_file_hashed_while_read_equals_one_hashed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gff3");
        let text: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let whole = Source::of_bytes("m.gff3", text.as_bytes());
        assert_eq!(Source::of_file(&path).unwrap(), whole);
        // Part read by lines, part by read(), the rest left for finish().
        let file = std::fs::File::open(&path).unwrap();
        let mut reader = HashingReader::new(std::io::BufReader::with_capacity(64, file));
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut some = [0; 100];
        reader.read_exact(&mut some).unwrap();
        assert_eq!(reader.finish(&path).unwrap(), whole);
    }
}
