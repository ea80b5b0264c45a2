//! Annotating data lines: a chunk of whole lines in, the annotated lines and
//! their counts out. Chunks are independent, so several threads can each
//! annotate one.

use std::ops::Range;

use crate::bgzf::BgzfEncoder;
use crate::classify::{classify, is_bases, titv, TiTv, VariantClass};
use crate::consequence::{ConsequenceWorker, Consequences, CsqOut, RecordOutcome};
use crate::observe::{Notes, WrittenColumns, WrittenRecords};
use crate::record::Record;
use crate::stats::Tally;
use crate::track::{copied_fields, normalise, Alignment, BedIndex, SiteIndex, TrackIndex};
use crate::Options;

/// What every chunk of one run is annotated with; shared by the threads.
pub(crate) struct Body<'t> {
    /// Whether records need the VCFv3.3 QUAL/FILTER conversion.
    v3: bool,
    genes: Vec<&'t BedIndex>,
    sites: Vec<SiteTrack<'t>>,
    /// The INFO fields copied from VCF tracks, in output order, grouped by
    /// track.
    copies: Vec<FieldCopy<'t>>,
    /// Per VCF track copying fields: its index in `sites` and the range of
    /// its fields in `copies`.
    field_tracks: Vec<(usize, Range<usize>)>,
    /// INFO keys the annotator writes; input entries with them are dropped.
    reserved: Vec<&'t str>,
    max_line_bytes: usize,
    bgzf: bool,
    /// Consequence annotation, when the run predicts consequences.
    consequences: Option<&'t Consequences>,
    /// Whether workers note where each record and its CSQ entries are
    /// (an [`crate::OutputObserver`] watches the run).
    observed: bool,
    /// The INFO keys whose items they note (the observer's `info_keys`).
    watched_keys: Vec<String>,
}

/// A VCF track of a run.
struct SiteTrack<'t> {
    index: &'t SiteIndex,
    /// Whether its ids fill the ID column (it copies no fields).
    ids: bool,
}

/// An INFO field copied from a VCF track.
struct FieldCopy<'t> {
    /// Its index among the track's fields (what `Site::value` takes).
    field: usize,
    /// The output key.
    name: &'t str,
    alignment: Alignment,
}

impl<'t> Body<'t> {
    /// `watched_keys`: when the run is observed, the INFO keys the
    /// observer wants noted.
    pub(crate) fn new(options: &'t Options, v3: bool, watched_keys: Option<Vec<String>>) -> Self {
        let mut genes = Vec::new();
        let mut sites = Vec::new();
        let mut site_of_track = vec![usize::MAX; options.tracks.len()];
        for (t, track) in options.tracks.iter().enumerate() {
            match track.index() {
                TrackIndex::Bed(index) => genes.push(index),
                TrackIndex::Vcf(index) => {
                    site_of_track[t] = sites.len();
                    sites.push(SiteTrack {
                        index,
                        ids: track.fields().next().is_none(),
                    });
                }
            }
        }
        let mut copies = Vec::new();
        let mut field_tracks: Vec<(usize, Range<usize>)> = Vec::new();
        for (t, field, copied) in copied_fields(&options.tracks) {
            let site = site_of_track[t];
            match field_tracks.last_mut() {
                Some((last, range)) if *last == site => range.end += 1,
                _ => field_tracks.push((site, copies.len()..copies.len() + 1)),
            }
            copies.push(FieldCopy {
                field,
                name: &copied.field.name,
                alignment: copied.alignment,
            });
        }
        Body {
            v3,
            reserved: crate::header::reserved_keys(options),
            genes,
            sites,
            copies,
            field_tracks,
            max_line_bytes: options.max_line_bytes,
            bgzf: options.bgzf_output,
            consequences: options.consequences.as_deref(),
            observed: watched_keys.is_some(),
            watched_keys: watched_keys
                .map(|mut keys| {
                    keys.truncate(u16::MAX as usize);
                    keys
                })
                .unwrap_or_default(),
        }
    }
}

/// The result of annotating one chunk.
#[derive(Default)]
pub(crate) struct Annotated {
    /// The annotated lines (BGZF blocks when the output is compressed); on
    /// error, those before the bad line.
    pub(crate) output: Vec<u8>,
    /// Counts of the records annotated.
    pub(crate) tally: Tally,
    /// Lines in the chunk (up to the bad line on error).
    pub(crate) lines: u64,
    /// The first bad line: its 1-based number within the chunk, and why.
    pub(crate) error: Option<(u64, String)>,
    /// For an observer, the plain text (`output` is then empty unless it
    /// is BGZF).
    pub(crate) text: Option<String>,
    /// Where each record and its entries are, when the run is observed.
    pub(crate) written: WrittenRecords,
}

/// Annotates chunks with one thread's scratch space.
pub(crate) struct ChunkAnnotator<'t> {
    body: &'t Body<'t>,
    alleles: Vec<(VariantClass, TiTv)>,
    ranks: Vec<u32>,
    genes: Vec<&'t str>,
    ids: Vec<&'t str>,
    /// Per copied field, per ALT allele of the record: the raw value of the
    /// field in the first track record matching the allele, and the index
    /// of the matching allele in that record's ALT column.
    slots: Vec<Option<(&'t str, u32)>>,
    /// Whether any slot is filled.
    copied: bool,
    contigs: ContigCache,
    /// Uncompressed output before BGZF encoding.
    plain: String,
    encoder: Option<BgzfEncoder>,
    /// This thread's consequence annotation, when the run has it.
    csq: Option<ConsequenceWorker<'t>>,
    /// The record's CSQ value (without `CSQ=`).
    csq_value: String,
    /// What consequence annotation found about the record.
    csq_outcome: RecordOutcome,
    /// The chunk's records as written, when the run is observed.
    written: WrittenRecords,
}

/// The track contig indexes of the last CHROM seen (input is usually sorted,
/// so CHROM rarely changes).
struct ContigCache {
    chrom: Option<String>,
    genes: Vec<Option<usize>>,
    /// Per BED track, where the last overlap search ended (see
    /// [`BedIndex::overlapping`]).
    hints: Vec<usize>,
    sites: Vec<Option<usize>>,
    /// Per VCF track, where the last site search ended.
    site_hints: Vec<usize>,
    /// Per VCF track copying fields, where the last allele search ended.
    allele_hints: Vec<usize>,
}

impl<'t> ChunkAnnotator<'t> {
    pub(crate) fn new(body: &'t Body<'t>) -> Self {
        ChunkAnnotator {
            body,
            alleles: Vec::with_capacity(4),
            ranks: Vec::new(),
            genes: Vec::new(),
            ids: Vec::new(),
            slots: Vec::new(),
            copied: false,
            contigs: ContigCache {
                chrom: None,
                genes: Vec::new(),
                hints: Vec::new(),
                sites: Vec::new(),
                site_hints: Vec::new(),
                allele_hints: Vec::new(),
            },
            plain: String::new(),
            encoder: body.bgzf.then(BgzfEncoder::new),
            csq: body.consequences.map(Consequences::worker),
            csq_value: String::new(),
            csq_outcome: RecordOutcome::default(),
            written: WrittenRecords::default(),
        }
    }

    /// Takes back the buffers of a delivered result (all but `output`,
    /// which [`Self::annotate`] takes) for the next chunks.
    pub(crate) fn give_back(&mut self, spent: &mut Annotated) {
        // Ours was handed over with the result (or never used).
        std::mem::swap(&mut self.written, &mut spent.written);
        if let Some(text) = spent.text.take() {
            if self.encoder.is_some() {
                self.plain = text;
            } else {
                spent.output = text.into_bytes();
            }
        }
    }

    /// Annotates `chunk` (whole data lines, `\n`-terminated except perhaps
    /// the last) into `output` (cleared first), stopping at the first bad
    /// line. Blank lines are skipped.
    pub(crate) fn annotate(&mut self, chunk: &[u8], mut output: Vec<u8>) -> Annotated {
        output.clear();
        // The lines are written as text: pieces of the input (checked
        // below) and ASCII, so an observer gets the text without a second
        // check. Unencoded, it goes into `output`'s buffer.
        let mut text = if self.encoder.is_some() {
            std::mem::take(&mut self.plain)
        } else {
            // Empty, so valid and free: only the buffer is kept.
            String::from_utf8(std::mem::take(&mut output)).unwrap_or_default()
        };
        text.clear();
        let mut tally = Tally::default();
        let mut lines = 0;
        let mut error = None;
        self.written.clear();
        self.written.consequences = self.csq.is_some();
        // Validating UTF-8 once per chunk is much cheaper than per line; only
        // a chunk with invalid bytes is checked line by line, to name the line.
        let input = std::str::from_utf8(chunk).ok();
        let mut at = 0;
        while at < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[at..]).map_or(chunk.len(), |i| at + i);
            lines += 1;
            let result = match input {
                Some(input) => self.line(&input[at..end], &mut text, &mut tally),
                None => {
                    utf8(&chunk[at..end]).and_then(|line| self.line(line, &mut text, &mut tally))
                }
            };
            if let Err(message) = result {
                error = Some((lines, message));
                break;
            }
            at = end + 1;
        }
        if let Some(encoder) = &mut self.encoder {
            encoder.encode(text.as_bytes(), &mut output);
        }
        let observed = self.body.observed;
        // Observed, the text goes with `output` (BGZF, or empty when the
        // text was written into its buffer).
        let (output, text) = if observed {
            (output, Some(text))
        } else if self.encoder.is_some() {
            self.plain = text;
            (output, None)
        } else {
            (text.into_bytes(), None)
        };
        Annotated {
            output,
            tally,
            lines,
            error,
            text,
            written: if observed {
                std::mem::take(&mut self.written)
            } else {
                WrittenRecords::default()
            },
        }
    }

    /// Annotates one line (without its `\n`) into `out`.
    fn line(&mut self, line: &str, out: &mut String, tally: &mut Tally) -> Result<(), String> {
        if line.len() > self.body.max_line_bytes {
            return Err(format!(
                "line longer than {} bytes",
                self.body.max_line_bytes
            ));
        }
        let text = line.strip_suffix('\r').unwrap_or(line);
        if text.is_empty() {
            return Ok(());
        }
        if text.starts_with('#') {
            return Err("header line after the #CHROM line".to_string());
        }
        let record = Record::parse(text)?;
        self.record(&record, out, tally);
        Ok(())
    }

    /// Annotates one valid record into `out`.
    fn record(&mut self, record: &Record<'_>, out: &mut String, tally: &mut Tally) {
        self.alleles.clear();
        let reference = record.reference.as_bytes();
        for alt in record.alts() {
            let alt = alt.as_bytes();
            let annotation = (classify(reference, alt), titv(reference, alt));
            tally.allele(annotation.0, annotation.1);
            self.alleles.push(annotation);
        }
        self.genes.clear();
        self.ids.clear();
        self.copied = false;
        if !self.body.genes.is_empty() || !self.body.sites.is_empty() {
            self.look_up(record, tally);
        }
        self.csq_value.clear();
        self.csq_outcome = RecordOutcome::default();
        let observed = self.body.observed;
        if observed {
            self.written.line_starts.push(out.len() as u32);
            let entries = self.written.entries.len() as u32;
            self.written.entry_starts.push(entries);
        }
        if let Some(worker) = &mut self.csq {
            // Positions past 2^32 lie beyond every transcript.
            let pos = u32::try_from(record.position).unwrap_or(u32::MAX);
            let alts: Vec<&str> = record.alts().collect();
            self.csq_outcome = worker.annotate(
                record.chrom,
                pos,
                record.reference,
                &alts,
                CsqOut {
                    value: &mut self.csq_value,
                    entries: observed.then_some(&mut self.written.entries),
                },
                &mut tally.consequences,
            );
        }
        tally.record(record.chrom, !self.ids.is_empty(), !self.genes.is_empty());
        let line_start = out.len();
        // The watched INFO items are noted as they are written (taken out
        // of `self` for the write, which borrows it).
        let mut items = std::mem::take(&mut self.written.items);
        let item_start = items.len() as u32;
        let mut notes = (observed && !self.body.watched_keys.is_empty()).then(|| Notes {
            keys: &self.body.watched_keys,
            items: &mut items,
            line_start,
        });
        let (id_end, info, csq) = self.write(record, out, &mut notes);
        self.written.items = items;
        if observed {
            let at = |i: usize| (i - line_start) as u32;
            // The line: CHROM POS, ID (the input's or the tracks'), REF
            // ALT as in the input, QUAL, FILTER, INFO.
            let id_start = record.chrom_pos.len() + 1;
            let id_end = id_end - line_start;
            let reference = id_end + 1;
            let alts = reference + record.reference.len() + 1;
            self.written.columns.push(WrittenColumns {
                pos: record.position,
                chrom: record.chrom.len() as u32,
                id: (id_start as u32, id_end as u32),
                reference: (
                    reference as u32,
                    (reference + record.reference.len()) as u32,
                ),
                alts: (alts as u32, (alts + record.alt.len()) as u32),
                info: (at(info.start), at(info.end)),
            });
            self.written.csq.push(at(csq.start)..at(csq.end));
            self.written.item_starts.push(item_start);
        }
    }

    /// Fills `genes`, `ids` and `slots` from the tracks, and compares REF
    /// with the VCF tracks' sites.
    fn look_up(&mut self, record: &Record<'_>, tally: &mut Tally) {
        let body = self.body;
        let cache = &mut self.contigs;
        if cache.chrom.as_deref() != Some(record.chrom) {
            cache.genes = body.genes.iter().map(|g| g.contig(record.chrom)).collect();
            cache.hints = vec![0; body.genes.len()];
            cache.sites = body
                .sites
                .iter()
                .map(|s| s.index.contig(record.chrom))
                .collect();
            cache.site_hints = vec![0; body.sites.len()];
            cache.allele_hints = vec![0; body.field_tracks.len()];
            cache.chrom = Some(record.chrom.to_string());
        }
        // No track has a feature beyond 2^32.
        let Ok(pos) = u32::try_from(record.position) else {
            return;
        };
        if !body.genes.is_empty() {
            let start = pos - 1;
            let end = span_end(record).min(u64::from(u32::MAX)) as u32;
            let tracks = body.genes.iter().zip(&cache.genes).zip(&mut cache.hints);
            for ((index, contig), hint) in tracks {
                if let Some(contig) = *contig {
                    let range = (start, end, hint);
                    index.overlapping(contig, range, &mut self.ranks, &mut self.genes);
                }
            }
        }
        let tracks = body
            .sites
            .iter()
            .zip(&cache.sites)
            .zip(&mut cache.site_hints);
        for ((track, contig), hint) in tracks {
            let Some(contig) = *contig else { continue };
            let mut compared = false;
            for site in track.index.at(contig, pos, hint) {
                if !compared {
                    compared = true;
                    if let Some(agrees) = same_first_base(record.reference, site.reference) {
                        tally.ref_compared(agrees);
                    }
                }
                if track.ids && site.matches(record.reference, record.alt) {
                    for id in site.id.split(';') {
                        if id != "." && !id.is_empty() && !self.ids.contains(&id) {
                            self.ids.push(id);
                        }
                    }
                }
            }
        }
        if !body.copies.is_empty() {
            let alts = self.alleles.len();
            self.slots.clear();
            self.slots.resize(body.copies.len() * alts, None);
            let (slots, copied) = (&mut self.slots, &mut self.copied);
            for (j, alt) in record.alts().enumerate() {
                if !is_bases(alt.as_bytes()) {
                    continue;
                }
                let (pos, reference, alt) = normalise(record.position, record.reference, alt);
                let Ok(pos) = u32::try_from(pos) else {
                    continue;
                };
                for ((site, range), hint) in body.field_tracks.iter().zip(&mut cache.allele_hints) {
                    let Some(contig) = cache.sites[*site] else {
                        continue;
                    };
                    let query = (pos, reference, alt);
                    body.sites[*site]
                        .index
                        .matching(contig, query, hint, |found, k| {
                            for (c, copy) in body.copies[range.clone()].iter().enumerate() {
                                let slot = &mut slots[(range.start + c) * alts + j];
                                if slot.is_none() {
                                    if let Some(value) = found.value(copy.field) {
                                        *slot = Some((value, k));
                                        *copied = true;
                                    }
                                }
                            }
                        });
                }
            }
        }
    }

    fn is_reserved(&self, key: &[u8]) -> bool {
        !key.is_empty() && is_reserved_key(&self.body.reserved, key)
    }

    /// Writes the annotated line; answers where its ID ends, and where its
    /// INFO column and its CSQ value (empty when it has none) are, in
    /// `out`.
    fn write(
        &self,
        record: &Record<'_>,
        out: &mut String,
        notes: &mut Option<Notes>,
    ) -> (usize, Range<usize>, Range<usize>) {
        if self.ids.is_empty() {
            out.push_str(record.leading);
        } else {
            out.push_str(record.chrom_pos);
            out.push('\t');
            join(out, &self.ids, ';');
            out.push('\t');
            out.push_str(record.ref_alt);
        }
        let id_end = out.len() - record.ref_alt.len() - 1;
        let (qual, filter) = if self.body.v3 {
            v3_qual_filter(record.qual, record.filter)
        } else {
            (record.qual, record.filter)
        };
        for column in [qual, filter] {
            out.push('\t');
            out.push_str(column);
        }
        out.push('\t');
        let info_start = out.len();
        let csq = self.write_info(record.info, out, notes);
        let info = info_start..out.len();
        if let Some(trailing) = record.trailing {
            out.push('\t');
            out.push_str(trailing);
        }
        out.push('\n');
        (id_end, info, csq)
    }

    /// Writes INFO: the input's entries except empty ones and those with a
    /// reserved key, then `VC=...;TITV=...` (one value per ALT allele), then
    /// `GENE=...` when features overlap, then the copied fields that have a
    /// value.
    ///
    /// `notes` takes the watched items but the annotator's own CSQ.
    fn write_info(&self, info: &str, out: &mut String, notes: &mut Option<Notes>) -> Range<usize> {
        if info != "." {
            for entry in info.split(';') {
                let (key, equals) = match entry.find('=') {
                    Some(equals) => (&entry[..equals], Some(equals)),
                    None => (entry, None),
                };
                if entry.is_empty() || entry == "." || self.is_reserved(key.as_bytes()) {
                    continue;
                }
                let at = out.len();
                out.push_str(entry);
                let end = out.len();
                note(
                    notes,
                    key.as_bytes(),
                    equals.map_or(end, |e| at + e + 1)..end,
                );
                out.push(';');
            }
        }
        out.push_str("VC=");
        let start = out.len();
        for (i, (class, _)) in self.alleles.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(class.as_str());
        }
        note(notes, b"VC", start..out.len());
        out.push_str(";TITV=");
        let start = out.len();
        for (i, (_, titv)) in self.alleles.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(titv.as_str());
        }
        note(notes, b"TITV", start..out.len());
        if !self.genes.is_empty() {
            out.push_str(";GENE=");
            let start = out.len();
            join(out, &self.genes, ',');
            note(notes, b"GENE", start..out.len());
        }
        if self.copied {
            self.write_copies(out, notes);
        }
        let mut csq = out.len()..out.len();
        if self.csq_outcome.written {
            out.push_str(";CSQ=");
            csq.start = out.len();
            out.push_str(&self.csq_value);
            csq.end = out.len();
        }
        if self.csq_outcome.ref_mismatch {
            out.push_str(";REF_MISMATCH");
            note(notes, b"REF_MISMATCH", out.len()..out.len());
        }
        csq
    }

    /// Writes `;NAME=...` for each copied field with a value for an ALT
    /// allele (`;NAME` for a flag any matching record has).
    fn write_copies(&self, out: &mut String, notes: &mut Option<Notes>) {
        let alts = self.alleles.len();
        for (c, copy) in self.body.copies.iter().enumerate() {
            let slots = &self.slots[c * alts..(c + 1) * alts];
            // The value for one ALT allele; `None` when missing.
            let value = |slot: &Option<(&'t str, u32)>| -> Option<&'t str> {
                let (value, k) = (*slot)?;
                let value = match copy.alignment {
                    Alignment::Allele => value.split(',').nth(k as usize)?,
                    Alignment::RefAndAllele => value.split(',').nth(k as usize + 1)?,
                    Alignment::Whole | Alignment::Flag => value,
                };
                (!value.is_empty() && value != ".").then_some(value)
            };
            if copy.alignment == Alignment::Flag {
                if slots.iter().any(Option::is_some) {
                    out.push(';');
                    out.push_str(copy.name);
                    note(notes, copy.name.as_bytes(), out.len()..out.len());
                }
                continue;
            }
            if slots.iter().all(|slot| value(slot).is_none()) {
                continue;
            }
            out.push(';');
            out.push_str(copy.name);
            out.push('=');
            let start = out.len();
            if copy.alignment == Alignment::RefAndAllele {
                // The REF value of the record the first matched allele is in.
                let reference = slots
                    .iter()
                    .find_map(|slot| *slot)
                    .and_then(|(value, _)| value.split(',').next())
                    .filter(|value| !value.is_empty());
                out.push_str(reference.unwrap_or("."));
                out.push(',');
            }
            for (j, slot) in slots.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                match value(slot) {
                    None => out.push('.'),
                    // One value for the record: its commas would read as
                    // ALT separators.
                    Some(value) if copy.alignment == Alignment::Whole => {
                        for (k, piece) in value.split(',').enumerate() {
                            if k > 0 {
                                out.push('|');
                            }
                            out.push_str(piece);
                        }
                    }
                    Some(value) => out.push_str(value),
                }
            }
            note(notes, copy.name.as_bytes(), start..out.len());
        }
    }
}

/// Notes an item the annotator wrote, when the run watches its key.
fn note(notes: &mut Option<Notes>, key: &[u8], value: Range<usize>) {
    if let Some(notes) = notes {
        notes.item(key, value);
    }
}

/// `line` as text, or why it is not.
fn utf8(line: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(line).map_err(|e| {
        format!(
            "not valid UTF-8 (bad byte at column {})",
            e.valid_up_to() + 1
        )
    })
}

/// Whether `key` is written by the annotator (a short test first: INFO
/// keys are tiny and mostly not reserved).
fn is_reserved_key(reserved: &[&str], key: &[u8]) -> bool {
    reserved
        .iter()
        .any(|r| r.len() == key.len() && r.as_bytes()[0] == key[0] && r.as_bytes() == key)
}

/// The 0-based exclusive end of the reference span of `record`: POS plus the
/// length of REF, or INFO `END` when it is given and not before POS (as
/// bcftools computes it).
fn span_end(record: &Record<'_>) -> u64 {
    let by_ref = record.position - 1 + record.reference.len() as u64;
    // INFO is short: walking its entries is cheaper than setting up a
    // substring search for every record.
    let end = record
        .info
        .split(';')
        .find_map(|entry| entry.strip_prefix("END="))
        .and_then(|value| value.parse::<u64>().ok());
    match end {
        Some(end) if end >= record.position => end,
        _ => by_ref,
    }
}

/// Whether two REF alleles at the same position start with the same base
/// (case-insensitive); `None` when either starts with `N`.
fn same_first_base(ours: &str, theirs: &str) -> Option<bool> {
    let (a, b) = (
        ours.as_bytes().first()?.to_ascii_uppercase(),
        theirs.as_bytes().first()?.to_ascii_uppercase(),
    );
    (a != b'N' && b != b'N').then_some(a == b)
}

fn join(out: &mut String, items: &[&str], separator: char) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        out.push_str(item);
    }
}

/// VCFv3.3 to VCFv4: QUAL `-1` (unknown) becomes `.`, FILTER `0` (passed
/// all filters) becomes `PASS`.
fn v3_qual_filter<'a>(qual: &'a str, filter: &'a str) -> (&'a str, &'a str) {
    let qual = if qual.starts_with('-') && qual.parse::<f64>() == Ok(-1.0) {
        "."
    } else {
        qual
    };
    let filter = if filter == "0" { "PASS" } else { filter };
    (qual, filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of(info: &str) -> u64 {
        let line = format!("1\t100\t.\tACG\t<DEL>\t.\t.\t{info}");
        span_end(&Record::parse(&line).unwrap())
    }

    #[test]
    fn span_ends_at_info_end_when_it_is_given() {
        assert_eq!(end_of("."), 102);
        assert_eq!(end_of("END=150"), 150);
        assert_eq!(end_of("DP=3;END=150;AF=0.5"), 150);
        // Only a key of its own: not a key that ends in END.
        assert_eq!(end_of("XEND=150"), 102);
        // Before POS or not a number: the span of REF.
        assert_eq!(end_of("END=50"), 102);
        assert_eq!(end_of("END=abc;END=150"), 102);
    }
}
