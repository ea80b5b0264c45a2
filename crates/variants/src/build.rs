//! Building a job's index from its annotated VCF: one pass over the
//! records, the columns written into a fresh file beside the
//! destination, moved into place when whole.

use std::fs::File;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use rustc_hash::FxHasher;

use crate::format::{id_hash, Columns, Feature, NO_IMPACT, NO_SET};
use gas_annotate::WrittenEntry;

use crate::record::{for_each_entry, parse_entry, split, Entry, InfoValues, Layout, Line};
use crate::terms;

type FxMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Distinct values numbered in the order they are first met, by a text
/// key; the values themselves live in the index's columns.
#[derive(Default)]
struct Interner(FxMap<Box<str>, u32>);

impl Interner {
    /// The number of `key`'s value in `values`, where `value` is pushed
    /// when the key is new; and whether it was.
    fn id<T>(&mut self, key: &str, values: &mut Vec<T>, value: impl FnOnce() -> T) -> (u32, bool) {
        if let Some(&id) = self.0.get(key) {
            return (id, false);
        }
        let id = values.len() as u32;
        values.push(value());
        self.0.insert(key.into(), id);
        (id, true)
    }
}

/// The key a feature is interned by: its four names, each ended by a
/// separator no VCF value holds.
fn feature_key<'k>(key: &'k mut String, names: [&str; 4]) -> &'k str {
    key.clear();
    for name in names {
        key.push_str(name);
        key.push('\u{1f}');
    }
    key
}

/// Which INFO keys hold the copied track fields the table shows and
/// filters: the first key present on a record wins.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// ClinVar significance (ClinVar's VCF: `CLNSIG`).
    pub clinvar_keys: Vec<String>,
    /// Allele frequency, one value per ALT (`AF`).
    pub frequency_keys: Vec<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            clinvar_keys: vec!["CLNSIG".into()],
            frequency_keys: vec!["AF".into()],
        }
    }
}

/// What a build wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildSummary {
    /// Records read.
    pub records: u64,
    /// Rows: one per variant allele.
    pub variants: u64,
    /// CSQ entries counted.
    pub entries: u64,
    /// Distinct entry sets (an allele's entries as feature, consequence
    /// and impact) stored.
    pub entry_sets: u64,
    /// CSQ entries whose `Allele` names no ALT of their record (left out).
    pub unmatched_entries: u64,
    /// The index file's size.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("reading the annotated VCF: {0}")]
    Io(#[from] std::io::Error),
    #[error("the annotated VCF is compressed; the index points into plain text")]
    Compressed,
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    #[error("the annotated VCF is too large for the index ({0})")]
    TooLarge(&'static str),
    #[error("a thread reading part of the annotated VCF panicked")]
    ThreadPanicked,
    #[error("the index saw {observed} bytes of the annotated VCF, which has {results}")]
    Incomplete { observed: u64, results: u64 },
}

/// Builds the index of the annotated VCF at `results` (plain text: the
/// index records where each record's line starts) into `output`,
/// atomically: a temporary file beside it, moved into place.
pub fn build_file(
    results: &Path,
    output: &Path,
    options: &BuildOptions,
) -> Result<BuildSummary, BuildError> {
    let mut file = File::open(results)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        return Err(BuildError::Compressed);
    }
    let len = file.metadata()?.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS));
    if len < PARALLEL_BYTES || threads < 2 {
        file.seek(SeekFrom::Start(0))?;
        return build(file, output, options);
    }
    let builder = match build_parts(results, len, threads, options) {
        Ok(builder) => builder,
        // A part that fails is read again from the start, for an error
        // that names its line.
        Err(_) => {
            let mut builder = Builder::new(options);
            builder.read_all(&mut File::open(results)?, 0)?;
            builder
        }
    };
    write_index(builder, output)
}

/// Results at least this large are read by several threads.
const PARALLEL_BYTES: u64 = 16 << 20;
/// The most threads a build uses.
const MAX_THREADS: usize = 4;

/// Reads the results in `threads` parts of whole lines at once, each into
/// its own builder, and joins them in order.
fn build_parts<'o>(
    results: &Path,
    len: u64,
    threads: usize,
    options: &'o BuildOptions,
) -> Result<Builder<'o>, BuildError> {
    // The header first: where it ends and the CSQ layout it declares.
    let mut layout = Layout::default();
    let header_end = {
        let mut reader = std::io::BufReader::new(File::open(results)?);
        let mut offset = 0u64;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = std::io::BufRead::read_until(&mut reader, b'\n', &mut line)?;
            if n == 0 || !line.starts_with(b"#") {
                break offset;
            }
            if let Ok(text) = std::str::from_utf8(&line) {
                if let Some(declared) = Layout::of_header(text.trim_end()) {
                    layout = declared;
                }
            }
            offset += n as u64;
        }
    };
    // Part boundaries: the first line start at or after each even split.
    let file = File::open(results)?;
    let mut starts = vec![header_end];
    for k in 1..threads as u64 {
        let guess = header_end + (len - header_end) * k / threads as u64;
        let start = next_line_start(&file, guess.max(*starts.last().unwrap_or(&0)), len)?;
        if start < len && start > *starts.last().unwrap_or(&0) {
            starts.push(start);
        }
    }
    let parts: Vec<Result<Builder<'o>, BuildError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(len);
                let file = &file;
                scope.spawn(move || {
                    let mut builder = Builder::new(options);
                    builder.columns.layout = layout;
                    let mut part = PartReader {
                        file,
                        at: start,
                        end,
                    };
                    builder.read_all(&mut part, start)?;
                    Ok(builder)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(BuildError::ThreadPanicked)))
            .collect()
    });
    let mut joined: Option<Builder<'o>> = None;
    for part in parts {
        let part = part?;
        joined = Some(match joined {
            None => part,
            Some(mut whole) => {
                whole.append(part)?;
                whole
            }
        });
    }
    let mut whole = joined.unwrap_or_else(|| Builder::new(options));
    whole.columns.layout = layout;
    whole.columns.results_len = len;
    Ok(whole)
}

/// The offset of the first line that starts at or after `from`.
fn next_line_start(file: &File, from: u64, len: u64) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    if from == 0 {
        return Ok(0);
    }
    // The line holding byte `from - 1` ends somewhere after it.
    let mut at = from - 1;
    let mut buf = vec![0u8; 1 << 16];
    while at < len {
        let n = file.read_at(&mut buf, at)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
    Ok(len)
}

/// A byte range of a file, read with positional reads (threads share the
/// file).
struct PartReader<'f> {
    file: &'f File,
    at: u64,
    end: u64,
}

impl Read for PartReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = (self.end - self.at).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// As [`build_file`], from a reader of the results' text from its first
/// byte.
pub fn build(
    mut reader: impl Read,
    output: &Path,
    options: &BuildOptions,
) -> Result<BuildSummary, BuildError> {
    let mut builder = Builder::new(options);
    builder.read_all(&mut reader, 0)?;
    write_index(builder, output)
}

/// Writes what `builder` read as the index file at `output`, atomically.
pub(crate) fn write_index(builder: Builder, output: &Path) -> Result<BuildSummary, BuildError> {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (columns, mut summary) = builder.finish();
    let temp = tempfile::Builder::new()
        .prefix(".gas-variants-")
        .tempfile_in(dir)?;
    {
        let mut writer = BufWriter::with_capacity(1 << 16, temp.as_file());
        columns.write(&mut writer)?;
        writer.flush()?;
    }
    summary.bytes = temp.as_file().metadata()?.len();
    temp.persist(output).map_err(|e| e.error)?;
    Ok(summary)
}

/// Whether entry set `id` of `columns` is `entries`.
fn same_set(columns: &Columns, id: u32, entries: &[SetEntry]) -> bool {
    let (start, end) = (
        columns.set_starts[id as usize] as usize,
        columns.set_starts[id as usize + 1] as usize,
    );
    end - start == entries.len()
        && entries.iter().zip(start..end).all(|(e, i)| {
            columns.entry_feature[i] == e.feature
                && columns.entry_consequence[i] == e.consequence
                && columns.entry_impact[i] == e.impact
        })
}

/// The annotator's CSQ value of a record: where it is in the text from
/// the record's line on, read only when needed.
#[derive(Clone)]
pub(crate) struct WrittenCsq<'a> {
    pub rest: &'a str,
    pub range: std::ops::Range<usize>,
}

impl<'a> WrittenCsq<'a> {
    fn text(&self) -> &'a str {
        self.rest.get(self.range.clone()).unwrap_or("")
    }
}

/// An entry as an entry set holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SetEntry {
    feature: u32,
    consequence: u32,
    impact: u8,
}

/// A CSQ entry's feature number, stored if new.
fn intern_entry_feature(
    features: &mut Interner,
    key: &mut String,
    columns: &mut Columns,
    entry: &Entry,
) -> u32 {
    let names = [entry.symbol, entry.gene, entry.feature, entry.biotype];
    let (id, _) = features.id(feature_key(key, names), &mut columns.features, || Feature {
        symbol: entry.symbol.to_string(),
        gene: entry.gene.to_string(),
        feature: entry.feature.to_string(),
        biotype: entry.biotype.to_string(),
    });
    id
}

/// A CSQ entry's consequence number, stored if new, with its impact code.
fn intern_entry_consequence(
    consequences: &mut Interner,
    columns: &mut Columns,
    entry: &Entry,
) -> (u32, u8) {
    let (id, _) = consequences.id(entry.consequence, &mut columns.consequences, || {
        entry.consequence.to_string()
    });
    let impact = terms::impact_code(entry.impact).map_or(NO_IMPACT, |i| i as u8);
    (id, impact)
}

/// Adds an entry to ALT `alt`'s list, noting where the first picked one is.
fn push_entry(
    per_alt: &mut [Vec<SetEntry>],
    picks: &mut [Option<u16>],
    alt: usize,
    pick: bool,
    feature: u32,
    (consequence, impact): (u32, u8),
) {
    let list = &mut per_alt[alt];
    if pick && picks[alt].is_none() {
        picks[alt] = u16::try_from(list.len()).ok();
    }
    list.push(SetEntry {
        feature,
        consequence,
        impact,
    });
}

pub(crate) struct Builder<'o> {
    options: &'o BuildOptions,
    columns: Columns,
    summary: BuildSummary,
    contigs: Interner,
    features: Interner,
    consequences: Interner,
    clinvars: Interner,
    /// Entry sets by content: (hash, number). A set's entries are kept
    /// once, in the columns; the table holds no copy of them, so growing
    /// it reads no set and storing one allocates nothing.
    sets: hashbrown::HashTable<(u64, u32)>,
    /// The number of the set last interned (its entries are in the
    /// columns).
    last_set: Option<u32>,
    key: String,
    /// The entries of the record being read, per ALT.
    per_alt: Vec<Vec<SetEntry>>,
    picks: Vec<Option<u16>>,
    /// The previous record's contig and position.
    last: Option<(u32, u64)>,
    /// Feature numbers by the annotator's transcript key
    /// ([`WrittenEntry::feature`]).
    by_transcript: FxMap<usize, u32>,
    /// Consequence numbers and impact codes by the annotator's terms key
    /// ([`WrittenEntry::consequence`]).
    by_terms: FxMap<u64, (u32, u8)>,
}

impl<'o> Builder<'o> {
    pub(crate) fn new(options: &'o BuildOptions) -> Self {
        Builder {
            options,
            columns: Columns {
                sorted: true,
                ..Columns::default()
            },
            summary: BuildSummary::default(),
            contigs: Interner::default(),
            features: Interner::default(),
            consequences: Interner::default(),
            clinvars: Interner::default(),
            sets: hashbrown::HashTable::new(),
            last_set: None,
            key: String::new(),
            per_alt: Vec::new(),
            picks: Vec::new(),
            last: None,
            by_transcript: FxMap::default(),
            by_terms: FxMap::default(),
        }
    }

    /// Reads lines from `reader`, whose first byte is byte `base` of the
    /// results.
    fn read_all(&mut self, reader: &mut impl Read, base: u64) -> Result<(), BuildError> {
        // Whole blocks, cut into lines with SIMD memchr: the results of a
        // large job are hundreds of megabytes.
        let mut buf = vec![0u8; 1 << 20];
        let mut filled = 0usize;
        let mut number = 0u64;
        let mut offset = base;
        loop {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let read = match reader.read(&mut buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            filled += read;
            let end_of_input = read == 0;
            let mut start = 0usize;
            loop {
                let end = match memchr::memchr(b'\n', &buf[start..filled]) {
                    Some(n) => start + n + 1,
                    None if end_of_input && start < filled => filled,
                    None => break,
                };
                number += 1;
                self.line(&buf[start..end], number, offset + start as u64)?;
                start = end;
            }
            offset += start as u64;
            buf.copy_within(start..filled, 0);
            filled -= start;
            if end_of_input {
                self.columns.results_len = offset;
                return Ok(());
            }
        }
    }

    /// One line (with its line break) that starts at byte `offset`.
    fn line(&mut self, bytes: &[u8], number: u64, offset: u64) -> Result<(), BuildError> {
        let text = std::str::from_utf8(bytes).map_err(|_| BuildError::Malformed {
            line: number,
            reason: "not UTF-8".into(),
        })?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            return Ok(());
        }
        if text.starts_with('#') {
            self.header_line(text);
            return Ok(());
        }
        let parsed = Line::parse(text).map_err(|reason| BuildError::Malformed {
            line: number,
            reason,
        })?;
        self.text_record(&parsed, offset)
    }

    pub(crate) fn options(&self) -> &'o BuildOptions {
        self.options
    }

    /// A header line: the CSQ layout, when it declares one.
    pub(crate) fn header_line(&mut self, text: &str) {
        if let Some(layout) = Layout::of_header(text) {
            self.columns.layout = layout;
        }
    }

    /// The annotated file's length, when not read to its end here.
    pub(crate) fn set_results_len(&mut self, len: u64) {
        self.columns.results_len = len;
    }

    /// A contig's number, and whether it is new.
    fn contig(&mut self, name: &str) -> (u32, bool) {
        // Sorted records name the same contig again and again.
        if let Some((last, _)) = self.last {
            if self.columns.contigs[last as usize] == name {
                return (last, false);
            }
        }
        self.contigs
            .id(name, &mut self.columns.contigs, || name.to_string())
    }

    /// One record read from its text.
    pub(crate) fn text_record(&mut self, line: &Line, offset: u64) -> Result<(), BuildError> {
        let info = line.info_values(self.options);
        let record = self.begin_record(line, offset)?;
        if let Some(csq) = info.csq {
            self.text_entries(line, csq);
        }
        self.end_record(line, record, &info)
    }

    /// One record as the annotator wrote it: its CSQ entries given by
    /// value (`entries`, at their places in `csq`), so only the text of a
    /// feature or consequence not met before is read. A record of several
    /// ALTs is read from its text: an entry belongs to the ALT its
    /// `Allele` names, as [`for_each_entry`] decides, which is what the
    /// page will show.
    ///
    /// `info.csq` is another CSQ item that follows the annotator's, when
    /// there is one: it is then the one read, from its text.
    pub(crate) fn written_record(
        &mut self,
        line: &Line,
        info: &InfoValues,
        offset: u64,
        entries: &[WrittenEntry],
        value: WrittenCsq,
    ) -> Result<(), BuildError> {
        let record = self.begin_record(line, offset)?;
        match info.csq {
            Some(other) => self.text_entries(line, other),
            None if value.range.is_empty() => {}
            None if self.picks.len() > 1 => self.text_entries(line, value.text()),
            None => self.given_entries(value, entries),
        }
        self.end_record(line, record, info)
    }

    /// The columns of a record, up to its entries; the per-ALT lists are
    /// left empty for them.
    fn begin_record(&mut self, line: &Line, offset: u64) -> Result<u32, BuildError> {
        let record = u32::try_from(self.columns.record_offset.len())
            .map_err(|_| BuildError::TooLarge("more than 4 billion records"))?;
        self.summary.records += 1;
        let (contig, new) = self.contig(line.chrom);
        match self.last {
            Some((c, p)) if c == contig && line.pos < p => self.columns.sorted = false,
            Some((c, _)) if c != contig && !new => self.columns.sorted = false,
            _ => {}
        }
        self.last = Some((contig, line.pos));
        self.columns.record_offset.push(offset);
        self.columns.record_contig.push(contig);
        self.columns.record_pos.push(line.pos);
        if line.id != "." {
            for id in line.ids() {
                self.columns.ids.push((id_hash(id), record));
            }
        }
        let alts = line.alts.bytes().filter(|&b| b == b',').count() + 1;
        if self.per_alt.len() < alts {
            self.per_alt.resize_with(alts, Vec::new);
        }
        self.picks.clear();
        self.picks.resize(alts, None);
        for entries in &mut self.per_alt[..alts] {
            entries.clear();
        }
        Ok(record)
    }

    /// Reads a record's entries from its CSQ text.
    fn text_entries(&mut self, line: &Line, csq: &str) {
        let layout = self.columns.layout;
        // The closure borrows the interning maps apart from the per-ALT
        // lists it fills.
        let Builder {
            features,
            consequences,
            key,
            columns,
            per_alt,
            picks,
            summary,
            ..
        } = self;
        let unmatched = for_each_entry(line, csq, &layout, |alt, entry| {
            let feature = intern_entry_feature(features, key, columns, &entry);
            let consequence = intern_entry_consequence(consequences, columns, &entry);
            push_entry(per_alt, picks, alt, entry.pick, feature, consequence);
            summary.entries += 1;
        });
        self.summary.unmatched_entries += unmatched;
    }

    /// Takes a one-ALT record's entries by value; the text of an entry is
    /// read only for a feature or a consequence met for the first time.
    fn given_entries(&mut self, value: WrittenCsq, entries: &[WrittenEntry]) {
        let layout = self.columns.layout;
        for e in entries {
            // Sliced only when read: the slice's bounds are read too.
            let text = || value.text().get(e.start as usize..).unwrap_or("");
            let feature = match self.by_transcript.get(&e.feature) {
                Some(&id) => id,
                None => {
                    let (entry, _) = parse_entry(text(), &layout);
                    let Builder {
                        features,
                        key,
                        columns,
                        ..
                    } = self;
                    let id = intern_entry_feature(features, key, columns, &entry);
                    self.by_transcript.insert(e.feature, id);
                    id
                }
            };
            let consequence = match self.by_terms.get(&e.consequence) {
                Some(&found) => found,
                None => {
                    let (entry, _) = parse_entry(text(), &layout);
                    let id =
                        intern_entry_consequence(&mut self.consequences, &mut self.columns, &entry);
                    self.by_terms.insert(e.consequence, id);
                    id
                }
            };
            push_entry(
                &mut self.per_alt,
                &mut self.picks,
                0,
                e.pick,
                feature,
                consequence,
            );
            self.summary.entries += 1;
        }
    }

    /// The rows of a record's ALTs, from the entries gathered per ALT.
    fn end_record(
        &mut self,
        line: &Line,
        record: u32,
        info: &InfoValues,
    ) -> Result<(), BuildError> {
        let clinvar = info.clinvar.map_or(0, |value| self.intern_clinvar(value));
        let alts = self.picks.len();
        // Most records have one ALT: no need to split the column.
        let one = [line.alts];
        let mut many = (alts > 1).then(|| split(line.alts, b','));
        let each: &mut dyn Iterator<Item = &str> = match &mut many {
            Some(split) => split,
            None => &mut one.into_iter(),
        };
        for (alt_index, alt) in each.enumerate() {
            if alt.is_empty() || alt == "." {
                continue;
            }
            let alt_number = u16::try_from(alt_index)
                .map_err(|_| BuildError::TooLarge("more than 65,536 ALTs in a record"))?;
            let set = self.set_id(alt_index)?;
            self.columns.allele_record.push(record);
            self.columns.allele_alt.push(alt_number);
            self.columns.allele_set.push(set);
            self.columns
                .allele_pick
                .push(self.picks[alt_index].unwrap_or(0));
            self.columns
                .allele_af
                .push(info.frequency_of(alt_index, alts).unwrap_or(f64::NAN));
            self.columns.allele_clinvar.push(clinvar);
            self.summary.variants += 1;
        }
        Ok(())
    }

    /// The entry set of ALT `alt` of the record being read.
    fn set_id(&mut self, alt: usize) -> Result<u32, BuildError> {
        let entries = std::mem::take(&mut self.per_alt[alt]);
        let id = self.intern_set(&entries);
        self.per_alt[alt] = entries;
        id
    }

    /// The number of the entry set `entries`, stored if it is new.
    fn intern_set(&mut self, entries: &[SetEntry]) -> Result<u32, BuildError> {
        if entries.is_empty() {
            return Ok(NO_SET);
        }
        // Neighbouring alleles often share a set (the same intron, the
        // same gene's upstream, intergenic stretches): comparing with the
        // last one spares a lookup in a table of tens of thousands.
        if let Some(id) = self.last_set {
            if same_set(&self.columns, id, entries) {
                return Ok(id);
            }
        }
        let id = self.set_number(entries)?;
        self.last_set = Some(id);
        Ok(id)
    }

    /// As [`Builder::intern_set`], by the table of sets.
    fn set_number(&mut self, entries: &[SetEntry]) -> Result<u32, BuildError> {
        let hash = {
            let mut hasher = FxHasher::default();
            entries.hash(&mut hasher);
            hasher.finish()
        };
        let c = &self.columns;
        if let Some(&(_, id)) = self
            .sets
            .find(hash, |&(h, id)| h == hash && same_set(c, id, entries))
        {
            return Ok(id);
        }
        let id = u32::try_from(self.sets.len())
            .ok()
            .filter(|&id| id != NO_SET)
            .ok_or(BuildError::TooLarge("too many distinct entry sets"))?;
        let c = &mut self.columns;
        if c.set_starts.is_empty() {
            c.set_starts.push(0);
        }
        for e in entries {
            c.entry_feature.push(e.feature);
            c.entry_consequence.push(e.consequence);
            c.entry_impact.push(e.impact);
        }
        let end = u32::try_from(c.entry_feature.len())
            .map_err(|_| BuildError::TooLarge("too many distinct entries"))?;
        c.set_starts.push(end);
        self.sets.insert_unique(hash, (hash, id), |&(h, _)| h);
        Ok(id)
    }

    /// A feature's number, stored if it is new.
    fn intern_feature(&mut self, f: &Feature) -> u32 {
        let names = [&*f.symbol, &*f.gene, &*f.feature, &*f.biotype];
        let key = feature_key(&mut self.key, names);
        self.features
            .id(key, &mut self.columns.features, || f.clone())
            .0
    }

    fn intern_consequence(&mut self, text: &str) -> u32 {
        let values = &mut self.columns.consequences;
        self.consequences.id(text, values, || text.to_string()).0
    }

    /// A ClinVar value's number (from 1: 0 is none), stored if it is new.
    fn intern_clinvar(&mut self, value: &str) -> u32 {
        let values = &mut self.columns.clinvars;
        self.clinvars.id(value, values, || value.to_string()).0 + 1
    }

    /// Appends what `next` read (the part of the results right after
    /// this one's) as if this builder had read on.
    fn append(&mut self, next: Builder) -> Result<(), BuildError> {
        let n = next.columns;
        // Sorted as a whole: both parts sorted, and no contig of the
        // second met before, except the first one's last going on.
        let mut sorted = self.columns.sorted && n.sorted;
        let last = self.last;
        let mut contigs = Vec::with_capacity(n.contigs.len());
        for (i, name) in n.contigs.iter().enumerate() {
            let (id, new) = self.contig(name);
            let goes_on = i == 0
                && n.record_contig.first() == Some(&0)
                && last
                    .is_some_and(|(c, p)| c == id && n.record_pos.first().is_some_and(|&q| q >= p));
            if !new && !goes_on {
                sorted = false;
            }
            contigs.push(id);
        }
        self.columns.sorted = sorted;
        let features: Vec<u32> = n.features.iter().map(|f| self.intern_feature(f)).collect();
        let consequences: Vec<u32> = n
            .consequences
            .iter()
            .map(|c| self.intern_consequence(c))
            .collect();
        let clinvars: Vec<u32> = n.clinvars.iter().map(|v| self.intern_clinvar(v)).collect();
        let mut sets = Vec::with_capacity(n.set_starts.len().saturating_sub(1));
        let mut entries = Vec::new();
        for w in n.set_starts.windows(2) {
            entries.clear();
            for e in w[0] as usize..w[1] as usize {
                entries.push(SetEntry {
                    feature: features[n.entry_feature[e] as usize],
                    consequence: consequences[n.entry_consequence[e] as usize],
                    impact: n.entry_impact[e],
                });
            }
            sets.push(self.intern_set(&entries)?);
        }
        let base = u32::try_from(self.columns.record_offset.len())
            .map_err(|_| BuildError::TooLarge("more than 4 billion records"))?;
        let c = &mut self.columns;
        c.record_offset.extend_from_slice(&n.record_offset);
        c.record_contig
            .extend(n.record_contig.iter().map(|&k| contigs[k as usize]));
        c.record_pos.extend_from_slice(&n.record_pos);
        c.allele_record
            .extend(n.allele_record.iter().map(|&r| r + base));
        c.allele_alt.extend_from_slice(&n.allele_alt);
        c.allele_set.extend(n.allele_set.iter().map(|&s| {
            if s == NO_SET {
                NO_SET
            } else {
                sets[s as usize]
            }
        }));
        c.allele_pick.extend_from_slice(&n.allele_pick);
        c.allele_af.extend_from_slice(&n.allele_af);
        c.allele_clinvar.extend(n.allele_clinvar.iter().map(|&v| {
            if v == 0 {
                0
            } else {
                clinvars[v as usize - 1]
            }
        }));
        c.ids
            .extend(n.ids.iter().map(|&(hash, record)| (hash, record + base)));
        self.summary.records += next.summary.records;
        self.summary.variants += next.summary.variants;
        self.summary.entries += next.summary.entries;
        self.summary.unmatched_entries += next.summary.unmatched_entries;
        if next.last.is_some() {
            self.last = next.last.map(|(k, p)| (contigs[k as usize], p));
        }
        Ok(())
    }

    fn finish(mut self) -> (Columns, BuildSummary) {
        if self.columns.set_starts.is_empty() {
            self.columns.set_starts.push(0);
        }
        self.columns.ids.sort_unstable();
        self.columns.ids.dedup();
        self.summary.entry_sets = self.sets.len() as u64;
        (self.columns, self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A results file of `records` lines: contigs in the order `contigs`
    /// names them (a contig named twice comes back, so the file is not
    /// sorted), multi-allelic records, ids, ClinVar and AF values, and
    /// records without CSQ.
    fn results(records: usize, contigs: &[&str]) -> String {
        let mut text = String::from(
            "##fileformat=VCFv4.2\n##INFO=<ID=CSQ,Number=.,Type=String,Description=\"x. \
             Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|PICK\">\n\
             #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
        );
        let per = records / contigs.len();
        for (k, contig) in contigs.iter().enumerate() {
            for i in 0..per {
                let n = k * per + i;
                let pos = 100 + i * 7;
                let alts = if n.is_multiple_of(5) { "T,G" } else { "T" };
                let id = if n.is_multiple_of(3) {
                    format!("rs{n}")
                } else {
                    ".".into()
                };
                let gene = format!("G{}", (n / 9) % 13);
                let mut info = format!("AF=0.{}", n % 10);
                if n.is_multiple_of(4) {
                    info.push_str(&format!(";CLNSIG=Pathogenic/Benign_{}", n % 3));
                }
                if !n.is_multiple_of(11) {
                    let csq: Vec<String> = alts
                        .split(',')
                        .flat_map(|a| {
                            let gene = gene.clone();
                            (0..1 + n % 3).map(move |t| {
                                format!(
                                    "{a}|{}|{}|{gene}|E{gene}|T{t}{gene}|protein_coding|c.{n}A>{a}|{}",
                                    ["missense_variant", "intron_variant&NMD_transcript_variant"]
                                        [(n + t) % 2],
                                    ["MODERATE", "MODIFIER"][(n + t) % 2],
                                    u8::from(t == 1)
                                )
                            })
                        })
                        .collect();
                    info.push_str(&format!(";CSQ={}", csq.join(",")));
                }
                text.push_str(&format!(
                    "{contig}\t{pos}\t{id}\tA\t{alts}\t.\tPASS\t{info}\n"
                ));
            }
        }
        text
    }

    #[test]
    fn a_build_in_parts_writes_the_same_index_as_one_in_one_pass() {
        let options = BuildOptions::default();
        for (contigs, threads) in [
            (&["chr1", "chr2", "chr3", "chrM"][..], 3),
            (&["chr1", "chr2", "chr1"][..], 2),
            (&["1"][..], 4),
            (&["X", "Y", "X", "Y"][..], 4),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("r.vcf");
            let text = results(400, contigs);
            std::fs::write(&path, &text).unwrap();
            let one = dir.path().join("one.idx");
            let parts = dir.path().join("parts.idx");
            build(text.as_bytes(), &one, &options).unwrap();
            let builder = build_parts(&path, text.len() as u64, threads, &options).unwrap();
            write_index(builder, &parts).unwrap();
            assert_eq!(
                std::fs::read(&one).unwrap(),
                std::fs::read(&parts).unwrap(),
                "{contigs:?} in {threads} parts"
            );
        }
    }
}
