//! Watching the annotated output as it is written: the text, and what the
//! annotator knows of each record's CSQ entries as values, so a consumer
//! that needs the entries (the variant table's index) does not parse the
//! text it was just given.

use std::ops::Range;

/// Sees the annotated output in order, on the thread that writes it
/// (see [`crate::annotate_observed`]).
///
/// Contract: `header` is called with the whole header, in pieces of
/// whole lines, before any `records`; `records` is called once per chunk
/// of data lines in output order, and the chunks' texts follow each other
/// without gaps, the first at the header's end. Offsets count the plain
/// text written (an observed run writes plain text). Nothing is called
/// after the run returns; a run that fails stops calling at its error,
/// and what was observed is then not the whole output.
pub trait OutputObserver {
    /// INFO keys whose items the annotator notes on each record as it
    /// writes it ([`WrittenRecord::items`]), so that the observer need
    /// not scan INFO for them; asked once, before the first record. Only the
    /// first 65,535 count.
    fn info_keys(&self) -> Vec<String> {
        Vec::new()
    }
    /// Header text as written.
    fn header(&mut self, text: &str);
    /// A chunk of annotated data lines.
    fn records(&mut self, chunk: &WrittenChunk<'_>);
}

/// One chunk of annotated data lines, as written.
#[derive(Debug, Clone, Copy)]
pub struct WrittenChunk<'a> {
    /// Where the chunk's text starts in the output.
    pub offset: u64,
    /// The lines, each ended by `\n`.
    pub text: &'a str,
    pub(crate) written: &'a WrittenRecords,
}

impl<'a> WrittenChunk<'a> {
    /// Whether the run wrote CSQ itself: then each record's entries are
    /// given ([`WrittenRecord::entries`]) and any CSQ in the output is
    /// the annotator's (the input's is replaced). Otherwise entries are
    /// never given, and a CSQ in the text came with the input.
    pub fn has_entries(&self) -> bool {
        self.written.consequences
    }

    /// The chunk's records in order.
    pub fn records(&self) -> impl Iterator<Item = WrittenRecord<'a>> + 'a {
        let written = self.written;
        let text = self.text;
        (0..written.line_starts.len()).map(move |r| {
            let start = written.line_starts[r] as usize;
            // Each line runs to the next one's start (or the chunk's end),
            // less its `\n`.
            let end = written
                .line_starts
                .get(r + 1)
                .map_or(text.len(), |&s| s as usize)
                .saturating_sub(1);
            let entries = written.entry_starts[r] as usize
                ..written
                    .entry_starts
                    .get(r + 1)
                    .map_or(written.entries.len(), |&e| e as usize);
            let items = written.item_starts[r] as usize
                ..written
                    .item_starts
                    .get(r + 1)
                    .map_or(written.items.len(), |&i| i as usize);
            let csq = &written.csq[r];
            // Not `text[start..end]`: checking that `end` is a char
            // boundary would read the line's last byte, and a consumer
            // that reads only its first columns would pay for it.
            let rest = &text[start..];
            let c = written.columns[r];
            let column = |(from, to): (u32, u32)| &rest[from as usize..to as usize];
            WrittenRecord {
                rest,
                len: end.max(start) - start,
                chrom: &rest[..c.chrom as usize],
                pos: c.pos,
                id: column(c.id),
                reference: column(c.reference),
                alts: column(c.alts),
                info: c.info.0 as usize..c.info.1 as usize,
                csq: (!csq.is_empty()).then_some(csq.start as usize..csq.end as usize),
                entries: &written.entries[entries],
                items: &written.items[items],
                line_offset: start,
            }
        })
    }
}

/// One annotated record as written.
#[derive(Debug, Clone)]
pub struct WrittenRecord<'a> {
    /// The chunk's text from the line's start: the ranges below index it
    /// as they index [`WrittenRecord::line`], and slicing it at a place
    /// of the line reads nothing of the line's text beyond that place.
    pub rest: &'a str,
    /// The line's length, without the line break.
    pub len: usize,
    /// Its columns, as written in its line.
    pub chrom: &'a str,
    pub pos: u64,
    pub id: &'a str,
    pub reference: &'a str,
    pub alts: &'a str,
    /// Where INFO is in `line`.
    pub info: Range<usize>,
    /// Where the annotator's CSQ value (after `CSQ=`) is in `line`, when
    /// it wrote one.
    pub csq: Option<Range<usize>>,
    /// The entries of that CSQ value, in written order (empty when the
    /// run does not write CSQ).
    pub entries: &'a [WrittenEntry],
    /// Its INFO items whose key is one of the observer's
    /// [`OutputObserver::info_keys`], in written order, but for the
    /// annotator's own CSQ item (at `csq`).
    pub items: &'a [WrittenItem],
    /// Where the line starts within its chunk's text.
    pub line_offset: usize,
}

impl<'a> WrittenRecord<'a> {
    /// Its line, without the line break.
    pub fn line(&self) -> &'a str {
        &self.rest[..self.len]
    }
}

/// One CSQ entry as written, by value.
///
/// The keys stand for text: two entries of one run with equal
/// `feature` keys have the same `SYMBOL`, `Gene`, `Feature` and `BIOTYPE`
/// text, and two with equal `consequence` keys the same `Consequence` and
/// `IMPACT` text. A consumer reads that text once per key from the entry
/// itself (at `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenEntry {
    /// The ALT (0-based) the entry describes.
    pub alt: u16,
    /// Whether `PICK` is set.
    pub pick: bool,
    /// The transcript's key; 0 for an intergenic entry.
    pub feature: usize,
    /// The consequence terms' key ([`crate::ConsequenceSet`]'s bits).
    pub consequence: u64,
    /// Where the entry starts in the CSQ value.
    pub start: u32,
}

/// An INFO item of a written record with one of the observer's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenItem {
    /// Which key: its place in [`OutputObserver::info_keys`].
    pub key: u16,
    /// Where its value (after `=`; empty for a flag) starts and ends in
    /// the record's line.
    pub start: u32,
    pub end: u32,
}

/// Where a worker notes the INFO items an observer watches as it writes
/// them, so that nobody scans INFO for them afterwards.
pub(crate) struct Notes<'n> {
    /// The observer's keys (see [`OutputObserver::info_keys`]).
    pub(crate) keys: &'n [String],
    pub(crate) items: &'n mut Vec<WrittenItem>,
    /// Where the line being written starts in the output.
    pub(crate) line_start: usize,
}

impl Notes<'_> {
    /// Notes the item `key` written with its value at `value` in the
    /// output, when `key` is watched.
    pub(crate) fn item(&mut self, key: &[u8], value: Range<usize>) {
        if let Some(k) = self.keys.iter().position(|w| w.as_bytes() == key) {
            self.items.push(WrittenItem {
                key: k as u16,
                start: (value.start - self.line_start) as u32,
                end: (value.end - self.line_start) as u32,
            });
        }
    }
}

/// Where a record's columns are in its line (start and end), and its POS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WrittenColumns {
    pub(crate) pos: u64,
    /// CHROM starts the line.
    pub(crate) chrom: u32,
    pub(crate) id: (u32, u32),
    pub(crate) reference: (u32, u32),
    pub(crate) alts: (u32, u32),
    pub(crate) info: (u32, u32),
}

/// What a worker noted of the records of one chunk, beside its text.
#[derive(Debug, Default)]
pub(crate) struct WrittenRecords {
    /// Whether the run writes CSQ (see [`WrittenChunk::has_entries`]).
    pub(crate) consequences: bool,
    /// Per record: where its line starts in the chunk's text.
    pub(crate) line_starts: Vec<u32>,
    /// Per record: where its CSQ value is in its line (empty: none).
    pub(crate) csq: Vec<Range<u32>>,
    /// Per record: its POS and where its columns are in its line.
    pub(crate) columns: Vec<WrittenColumns>,
    /// Per record: where its entries start in `entries`.
    pub(crate) entry_starts: Vec<u32>,
    pub(crate) entries: Vec<WrittenEntry>,
    /// Per record: where its items start in `items`.
    pub(crate) item_starts: Vec<u32>,
    pub(crate) items: Vec<WrittenItem>,
}

impl WrittenRecords {
    pub(crate) fn clear(&mut self) {
        self.line_starts.clear();
        self.csq.clear();
        self.columns.clear();
        self.entry_starts.clear();
        self.entries.clear();
        self.item_starts.clear();
        self.items.clear();
    }
}
