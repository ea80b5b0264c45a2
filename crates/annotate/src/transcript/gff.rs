//! Reading GFF3 and GTF gene annotation into [`Transcript`]s.
//!
//! The file is read once, line by line. Features are collected by the id
//! that ties them together (GFF3 `ID`/`Parent`, GTF `gene_id` and
//! `transcript_id`), in whatever order the file lists them (Ensembl GFF3
//! often lists exons before their transcript), and assembled into
//! transcripts at the end; what is not needed (feature names, sources,
//! scores, UTR features, regions) is dropped as it is read, and repeated
//! strings (contigs, biotypes, tags) are interned.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;
use std::io::BufRead;
use std::sync::Arc;

use super::model::{flag, is_plain, CdsSegment, Coding, Exon, Gene, Strand, Transcript};
use super::{AnnotationFormat, SkipReason, Warnings};
use crate::contig::contig_key;
use crate::error::{snippet, AnnotateError};
use crate::input::Input;
use crate::reader::LineReader;

/// The longest annotation line accepted, in bytes.
const MAX_LINE_BYTES: usize = 1 << 20;
/// Header lines kept for the output to stamp.
const MAX_HEADER_LINES: usize = 100;

/// What [`read`] produces.
pub(crate) struct Parsed {
    pub(crate) format: AnnotationFormat,
    pub(crate) transcripts: Vec<Transcript>,
    pub(crate) genes: usize,
    pub(crate) header: Vec<String>,
    pub(crate) warnings: Warnings,
}

/// Why [`read`] failed.
pub(crate) enum ReadFailure {
    Io(std::io::Error),
    BadCompression(String),
    Malformed { line: u64, message: String },
}

impl From<AnnotateError> for ReadFailure {
    fn from(e: AnnotateError) -> Self {
        match e {
            AnnotateError::Io(e) => ReadFailure::Io(e),
            AnnotateError::BadCompression { message } => ReadFailure::BadCompression(message),
            AnnotateError::Malformed { line, message } => ReadFailure::Malformed { line, message },
            other => ReadFailure::Malformed {
                line: other.line().unwrap_or(0),
                message: other.to_string(),
            },
        }
    }
}

/// Reads a GFF3 or GTF file (plain, gzip or BGZF).
pub(crate) fn read<R: BufRead>(reader: R) -> Result<Parsed, ReadFailure> {
    let input = Input::new(reader, None).map_err(|e| ReadFailure::from(AnnotateError::from(e)))?;
    let mut lines = LineReader::new(input, MAX_LINE_BYTES);
    let mut parser = Parser::default();
    let mut buf = Vec::with_capacity(512);
    while lines.read_line(&mut buf)? {
        let number = lines.line_number();
        let malformed = |message: String| ReadFailure::Malformed {
            line: number,
            message,
        };
        let text = std::str::from_utf8(&buf).map_err(|e| {
            malformed(format!(
                "not valid UTF-8 (bad byte at column {})",
                e.valid_up_to() + 1
            ))
        })?;
        if text.is_empty() {
            continue;
        }
        if let Some(directive) = text.strip_prefix('#') {
            if parser.directive(directive, text) {
                break;
            }
            continue;
        }
        parser.feature(number, text).map_err(malformed)?;
    }
    Ok(parser.finish())
}

/// Interns strings that repeat across features.
#[derive(Default)]
struct Interner(HashMap<Box<str>, Arc<str>, FxBuildHasher>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(s);
        self.0.insert(s.into(), Arc::clone(&shared));
        shared
    }
}

/// A gene or transcript line (or, in GTF, the attributes of a transcript
/// whose `transcript` line has not been seen).
struct Entity {
    contig: Arc<str>,
    strand: Option<Strand>,
    /// The id to report: the file's id without `gene:`/`transcript:`, with
    /// the version appended when given separately.
    id: Box<str>,
    name: Option<Box<str>>,
    biotype: Arc<str>,
    /// The key of the parent's slot (GFF3 `Parent`, GTF `gene:<gene_id>`).
    parent: Option<Box<str>>,
    /// Looks like a transcript even without children (GFF3
    /// `transcript:` id or `transcript_id` attribute; GTF `transcript`).
    transcript_like: bool,
    tags: Vec<Arc<str>>,
    level: Option<u8>,
    tsl: Option<u8>,
    /// GTF: made from a child line; a `transcript` line replaces it.
    provisional: bool,
    /// GTF: the gene as the transcript's attributes describe it, for files
    /// without `gene` lines.
    gene: Option<Box<Gene>>,
}

/// A child feature's span.
#[derive(Clone, Copy)]
struct Part {
    start: u32,
    end: u32,
    phase: Option<u8>,
    /// Exon number as the file gives it (GFF3 `rank`, GTF `exon_number`).
    rank: Option<u32>,
}

/// Everything known under one id.
#[derive(Default)]
struct Slot {
    entity: Option<Entity>,
    exons: Vec<Part>,
    cds: Vec<Part>,
    codons: Vec<Part>,
    /// Contig and strand of the first child, and whether a later child
    /// disagreed.
    child_place: Option<(Arc<str>, Option<Strand>)>,
    inconsistent: bool,
    protein_id: Option<Box<str>>,
}

impl Slot {
    fn has_children(&self) -> bool {
        !self.exons.is_empty() || !self.cds.is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ChildKind {
    Exon,
    Cds,
    Codon,
    /// Known child types that are not needed (UTRs are derived from exons
    /// and CDS; selenocysteine positions).
    Ignored,
}

fn child_kind(kind: &str) -> Option<ChildKind> {
    Some(match kind {
        "exon" => ChildKind::Exon,
        "CDS" => ChildKind::Cds,
        "start_codon" | "stop_codon" => ChildKind::Codon,
        "five_prime_UTR"
        | "three_prime_UTR"
        | "five_prime_utr"
        | "three_prime_utr"
        | "UTR"
        | "5UTR"
        | "3UTR"
        | "Selenocysteine"
        | "stop_codon_redefined_as_selenocysteine"
        | "intron" => ChildKind::Ignored,
        _ => return None,
    })
}

/// Features that are neither genes nor transcripts nor their parts.
fn is_region(kind: &str) -> bool {
    matches!(
        kind,
        "chromosome"
            | "region"
            | "scaffold"
            | "supercontig"
            | "contig"
            | "biological_region"
            | "sequence_feature"
    )
}

/// The nine columns of a feature line.
struct Fields<'a> {
    seqid: &'a str,
    kind: &'a str,
    /// As written; only the lines whose coordinates are used (exons, CDS,
    /// codons) must have positive ones.
    start: i64,
    end: i64,
    strand: Option<Strand>,
    phase: Option<u8>,
    attributes: &'a str,
}

/// Splits a feature line into its columns. The 9th column is the rest of
/// the line (as bcftools and htslib read it), so tabs inside attribute
/// values do not make a line invalid.
fn fields(line: &str) -> Result<Fields<'_>, String> {
    // One pass over the bytes: a line's columns are short, and a search
    // call per column cost more than the scan.
    let mut columns = [""; 9];
    let mut found = 0;
    let mut start = 0;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        if b == b'\t' {
            columns[found] = &line[start..i];
            found += 1;
            start = i + 1;
            if found == 8 {
                break;
            }
        }
    }
    columns[found] = &line[start..];
    found += 1;
    if found != 9 {
        return Err(format!(
            "expected 9 tab-separated columns (GFF3 or GTF), found {found}: {:?}",
            snippet(line)
        ));
    }
    if columns[0].is_empty() {
        return Err("empty sequence name (column 1)".into());
    }
    let position = |value: &str, what: &str| -> Result<i64, String> {
        let digits = value.strip_prefix('-').unwrap_or(value);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{what} {:?} is not an integer", snippet(value)));
        }
        value
            .parse::<i64>()
            .ok()
            // Below u32::MAX, so that an exon's length, its cDNA end and a
            // transcript's end + 1 all fit in a u32.
            .filter(|n| *n < i64::from(u32::MAX))
            .ok_or_else(|| format!("{what} {:?} is 2^32 - 1 or larger", snippet(value)))
    };
    let start = position(columns[3], "start (column 4)")?;
    let end = position(columns[4], "end (column 5)")?;
    if start > end {
        return Err(format!("start {start} is after end {end}"));
    }
    let strand = match columns[6] {
        "+" => Some(Strand::Forward),
        "-" => Some(Strand::Reverse),
        "." | "?" => None,
        other => {
            return Err(format!(
                "strand (column 7) {:?} is not +, - or .",
                snippet(other)
            ))
        }
    };
    let phase = match columns[7] {
        "." => None,
        "0" => Some(0),
        "1" => Some(1),
        "2" => Some(2),
        other => {
            return Err(format!(
                "phase (column 8) {:?} is not 0, 1, 2 or .",
                snippet(other)
            ))
        }
    };
    Ok(Fields {
        seqid: columns[0],
        kind: columns[2],
        start,
        end,
        strand,
        phase,
        attributes: columns[8],
    })
}

/// The attributes of one line.
struct Attrs<'a> {
    pairs: Pairs<'a>,
    gff3: bool,
}

/// A line's attribute pairs: the first [`INLINE_PAIRS`] in place (a model
/// file has millions of lines, each with a dozen attributes at most), any
/// more on the heap.
struct Pairs<'a> {
    inline: [(&'a str, &'a str); INLINE_PAIRS],
    len: usize,
    more: Vec<(&'a str, &'a str)>,
}

const INLINE_PAIRS: usize = 24;

impl<'a> Pairs<'a> {
    fn new() -> Self {
        Pairs {
            inline: [("", ""); INLINE_PAIRS],
            len: 0,
            more: Vec::new(),
        }
    }

    fn push(&mut self, pair: (&'a str, &'a str)) {
        if self.len < INLINE_PAIRS {
            self.inline[self.len] = pair;
            self.len += 1;
        } else {
            self.more.push(pair);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(&'a str, &'a str)> {
        self.inline[..self.len].iter().chain(&self.more)
    }
}

impl<'a> Attrs<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn get_any(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter()
            .find_map(|key| self.get(key))
            .filter(|v| !v.is_empty())
    }

    /// GFF3 `tag=a,b` or GTF `tag "a"; tag "b";`.
    fn tags(&self) -> impl Iterator<Item = &'a str> + '_ {
        let gff3 = self.gff3;
        self.pairs
            .iter()
            .filter(|(k, _)| *k == "tag")
            // GTF values are one tag each; GFF3 values are comma-separated.
            .flat_map(move |(_, v)| v.split(move |c| gff3 && c == ','))
            .filter(|t| !t.is_empty())
    }
}

/// `text` without surrounding whitespace; most attribute texts have none,
/// and checking their ends first is much cheaper than `str::trim`.
fn trim(text: &str) -> &str {
    // An ASCII byte that `char::is_whitespace` does not take.
    let solid = |b: &u8| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    match text.as_bytes() {
        [first, .., last] if solid(first) && solid(last) => text,
        [only] if solid(only) => text,
        _ => text.trim(),
    }
}

/// Parses GFF3 attributes: `key=value` pairs separated by `;`.
fn gff3_attributes(text: &str) -> Result<Attrs<'_>, String> {
    let mut pairs = Pairs::new();
    if text != "." {
        // `key=value` parts between `;`s, found in one pass over the bytes
        // (the first `=` of a part splits it).
        let bytes = text.as_bytes();
        let (mut start, mut equals) = (0, None);
        for i in 0..=bytes.len() {
            match bytes.get(i) {
                Some(b'=') if equals.is_none() => equals = Some(i),
                Some(b';') | None => {
                    let part = &text[start..i];
                    match equals {
                        Some(e) => pairs.push((trim(&text[start..e]), trim(&text[e + 1..i]))),
                        None if trim(part).is_empty() => {}
                        None => {
                            return Err(format!(
                                "GFF3 attribute {:?} has no '='",
                                snippet(trim(part))
                            ))
                        }
                    }
                    (start, equals) = (i + 1, None);
                }
                Some(_) => {}
            }
        }
    }
    Ok(Attrs { pairs, gff3: true })
}

/// Parses GTF attributes: `key "value";` (or `key value;`) pairs.
fn gtf_attributes(text: &str) -> Result<Attrs<'_>, String> {
    let mut pairs = Pairs::new();
    let mut rest = text.trim();
    if rest == "." {
        rest = "";
    }
    while !rest.is_empty() && !rest.starts_with('#') {
        let key_end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .ok_or_else(|| format!("GTF attribute {:?} has no value", snippet(rest)))?;
        let key = &rest[..key_end];
        if key.contains(['=', ';', '"']) {
            return Err(format!("{:?} is not a GTF attribute name", snippet(key)));
        }
        rest = rest[key_end..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let close = quoted
                .find('"')
                .ok_or_else(|| format!("GTF attribute {key}: unterminated quoted value"))?;
            value = &quoted[..close];
            rest = &quoted[close + 1..];
        } else {
            let end = rest
                .find(|c: char| c == ';' || c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            value = &rest[..end];
            rest = &rest[end..];
        }
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(';') {
            rest = after.trim_start();
        } else if !rest.is_empty() && !rest.starts_with('#') {
            return Err(format!("GTF attribute {key}: expected ';' after its value"));
        }
        pairs.push((key, value));
    }
    Ok(Attrs { pairs, gff3: false })
}

/// Which syntax the attribute column `text` is in, if it tells.
fn detect(text: &str) -> Option<AnnotationFormat> {
    let first = text.trim().split(';').next().unwrap_or("").trim();
    if first.is_empty() || first == "." {
        return None;
    }
    match first.split_once('=') {
        Some((key, _)) if !key.contains([' ', '\t', '"']) => Some(AnnotationFormat::Gff3),
        _ => Some(AnnotationFormat::Gtf),
    }
}

/// Decodes GFF3 `%XX` escapes (in names and descriptions).
fn unescape(value: &str) -> Box<str> {
    if !value.contains('%') {
        return value.into();
    }
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into()
}

/// `id` with `.version` appended when a version is given and `id` has
/// none.
fn versioned(id: &str, version: Option<&str>) -> Box<str> {
    match version {
        Some(v) if !v.is_empty() && !id.contains('.') => format!("{id}.{v}").into(),
        _ => id.into(),
    }
}

/// `transcript:ENST1` -> `ENST1` (Ensembl GFF3 id prefixes).
fn strip_prefix(id: &str) -> &str {
    for prefix in ["transcript:", "gene:", "CDS:"] {
        if let Some(rest) = id.strip_prefix(prefix) {
            return rest;
        }
    }
    id
}

/// The transcript support level from `1`, `NA` or `1 (assigned to
/// previous version 3)`.
fn tsl(value: &str) -> Option<u8> {
    match value.as_bytes().first() {
        Some(b @ b'1'..=b'5') => Some(b - b'0'),
        _ => None,
    }
}

#[derive(Default)]
struct Parser {
    format: Option<AnnotationFormat>,
    strings: Interner,
    /// Feature ids to their slots. Fx, not SipHash: the keys come from
    /// the operator's model file, not from users, and hashing them was a
    /// tenth of loading.
    ids: HashMap<Box<str>, u32, FxBuildHasher>,
    slots: Vec<Slot>,
    header: Vec<String>,
    warnings: Warnings,
    /// Scratch key for GTF lookups.
    key: String,
    /// Transcripts built at `###` lines (see [`Parser::flush`]).
    done: Vec<Transcript>,
    /// GTF genes made from transcripts' attributes, by parent key.
    described: HashMap<Box<str>, Arc<Gene>>,
}

impl Parser {
    /// Handles a `#` line (`directive` is the text after the `#`); true at
    /// `##FASTA`, where the annotation ends.
    fn directive(&mut self, directive: &str, line: &str) -> bool {
        if directive.starts_with("#FASTA") {
            return true;
        }
        if directive.trim_end() == "##" && self.format != Some(AnnotationFormat::Gtf) {
            // GFF3's `###`: every reference to the features so far has been
            // resolved (Ensembl and GENCODE write one after each gene).
            self.flush();
            return false;
        }
        if let Some(version) = directive.strip_prefix("#gff-version") {
            if self.format.is_none() {
                self.format = Some(if version.trim().starts_with('3') {
                    AnnotationFormat::Gff3
                } else {
                    AnnotationFormat::Gtf
                });
            }
        } else if directive.trim_start_matches('#').starts_with("format: gtf")
            && self.format.is_none()
        {
            self.format = Some(AnnotationFormat::Gtf);
        }
        // `#!genome-build ...` (Ensembl), `##description: ...` (GENCODE
        // GTF) or `#description: ...` (GENCODE GFF3).
        let body = directive.trim_start_matches('#');
        let kept = directive.starts_with('!')
            || [
                "gff-version",
                "description",
                "provider",
                "format",
                "date",
                "genome-build",
            ]
            .iter()
            .any(|p| body.starts_with(p));
        if kept && self.header.len() < MAX_HEADER_LINES {
            self.header.push(line.to_string());
        }
        false
    }

    fn slot(&mut self, key: &str) -> usize {
        if let Some(&i) = self.ids.get(key) {
            return i as usize;
        }
        let i = self.slots.len();
        self.ids.insert(key.into(), i as u32);
        self.slots.push(Slot::default());
        i
    }

    fn feature(&mut self, number: u64, line: &str) -> Result<(), String> {
        let f = fields(line)?;
        if matches!(
            child_kind(f.kind),
            Some(ChildKind::Exon | ChildKind::Cds | ChildKind::Codon)
        ) && f.start < 1
        {
            return Err(format!(
                "{} start {} is not a 1-based position",
                f.kind, f.start
            ));
        }
        if self.format.is_none() {
            self.format = detect(f.attributes);
        }
        match self.format {
            Some(AnnotationFormat::Gff3) | None => {
                let attrs = gff3_attributes(f.attributes)?;
                self.gff3_feature(number, &f, &attrs);
            }
            Some(AnnotationFormat::Gtf) => {
                let attrs = gtf_attributes(f.attributes)?;
                self.gtf_feature(number, &f, &attrs);
            }
        }
        Ok(())
    }

    /// Adds a child part to the slot `key`.
    fn add_child(
        &mut self,
        key: &str,
        kind: ChildKind,
        f: &Fields<'_>,
        attrs: &Attrs<'_>,
    ) -> usize {
        let contig = self.strings.get(f.seqid);
        let i = self.slot(key);
        let slot = &mut self.slots[i];
        match &slot.child_place {
            None => slot.child_place = Some((contig, f.strand)),
            Some((c, s)) => {
                if **c != *contig || *s != f.strand {
                    slot.inconsistent = true;
                }
            }
        }
        // Checked positive in `feature`; below u32::MAX in `fields`.
        let part = Part {
            start: f.start as u32,
            end: f.end as u32,
            phase: f.phase,
            rank: attrs
                .get_any(&["rank", "exon_number"])
                .and_then(|r| r.parse().ok()),
        };
        match kind {
            ChildKind::Exon => slot.exons.push(part),
            ChildKind::Cds => {
                slot.cds.push(part);
                if slot.protein_id.is_none() {
                    let id = attrs.get("protein_id").or_else(|| {
                        attrs
                            .get("ID")
                            .filter(|id| id.starts_with("CDS:ENSP") || id.starts_with("ENSP"))
                            .map(strip_prefix)
                    });
                    if let Some(id) = id {
                        slot.protein_id = Some(versioned(id, attrs.get("protein_version")));
                    }
                }
            }
            ChildKind::Codon => slot.codons.push(part),
            ChildKind::Ignored => {}
        }
        i
    }

    /// Builds the entity a gene or transcript line describes.
    fn entity(
        &mut self,
        f: &Fields<'_>,
        attrs: &Attrs<'_>,
        id: &str,
        transcript_like: bool,
    ) -> Entity {
        let (id_attr, version_attr, biotype_keys): (_, _, &[&str]) = if transcript_like {
            (
                attrs.get("transcript_id"),
                attrs.get_any(&["transcript_version", "version"]),
                &["transcript_biotype", "transcript_type", "biotype"],
            )
        } else {
            (
                attrs.get("gene_id"),
                attrs.get_any(&["gene_version", "version"]),
                &["gene_biotype", "gene_type", "biotype"],
            )
        };
        let display = versioned(id_attr.unwrap_or_else(|| strip_prefix(id)), version_attr);
        let biotype = self
            .strings
            .get(attrs.get_any(biotype_keys).unwrap_or(f.kind));
        let tags: Vec<Arc<str>> = attrs.tags().map(|t| self.strings.get(t)).collect();
        let name = if transcript_like {
            None
        } else {
            attrs.get_any(&["gene_name", "Name"]).map(unescape)
        };
        Entity {
            contig: self.strings.get(f.seqid),
            strand: f.strand,
            id: display,
            name,
            biotype,
            parent: None,
            transcript_like,
            tags,
            level: attrs.get("level").and_then(|l| l.parse().ok()),
            tsl: attrs.get("transcript_support_level").and_then(tsl),
            provisional: false,
            gene: None,
        }
    }

    fn gff3_feature(&mut self, number: u64, f: &Fields<'_>, attrs: &Attrs<'_>) {
        if let Some(kind) = child_kind(f.kind) {
            if kind == ChildKind::Ignored {
                return;
            }
            let Some(parents) = attrs.get("Parent") else {
                self.warnings.skip(
                    SkipReason::MissingParent,
                    &format!("{} at line {number}", f.kind),
                );
                return;
            };
            // An exon shared by several transcripts has one `rank`, right
            // for one of them at most: then it is not checked.
            let shared = parents.contains(',');
            for parent in parents.split(',') {
                let i = self.add_child(parent, kind, f, attrs);
                if shared && kind == ChildKind::Exon {
                    if let Some(part) = self.slots[i].exons.last_mut() {
                        part.rank = None;
                    }
                }
            }
            return;
        }
        if is_region(f.kind) {
            return;
        }
        let Some(id) = attrs.get("ID") else {
            return;
        };
        let transcript_like = id.starts_with("transcript:") || attrs.get("transcript_id").is_some();
        let i = self.slot(id);
        if self.slots[i].entity.is_some() {
            // A feature split over several lines: the first line describes it.
            return;
        }
        let mut entity = self.entity(f, attrs, id, transcript_like);
        entity.parent = attrs
            .get("Parent")
            .and_then(|p| p.split(',').next())
            .map(Into::into);
        self.slots[i].entity = Some(entity);
    }

    fn gtf_feature(&mut self, number: u64, f: &Fields<'_>, attrs: &Attrs<'_>) {
        let child = child_kind(f.kind);
        if child == Some(ChildKind::Ignored)
            || (child.is_none() && f.kind != "gene" && f.kind != "transcript")
        {
            return;
        }
        let Some(gene_id) = attrs.get("gene_id").filter(|g| !g.is_empty()) else {
            self.warnings.skip(
                SkipReason::MissingParent,
                &format!("{} without gene_id at line {number}", f.kind),
            );
            return;
        };
        if f.kind == "gene" {
            self.key.clear();
            self.key.push_str("gene:");
            self.key.push_str(gene_id);
            let key = std::mem::take(&mut self.key);
            let i = self.slot(&key);
            self.key = key;
            if self.slots[i].entity.is_none() {
                let entity = self.entity(f, attrs, gene_id, false);
                self.slots[i].entity = Some(entity);
            }
            return;
        }
        let Some(transcript_id) = attrs.get("transcript_id").filter(|t| !t.is_empty()) else {
            self.warnings.skip(
                SkipReason::MissingParent,
                &format!("{} without transcript_id at line {number}", f.kind),
            );
            return;
        };
        self.key.clear();
        self.key.push_str("transcript:");
        self.key.push_str(transcript_id);
        let key = std::mem::take(&mut self.key);
        let i = match child {
            Some(kind) => self.add_child(&key, kind, f, attrs),
            None => self.slot(&key),
        };
        self.key = key;
        let replace = match &self.slots[i].entity {
            None => true,
            Some(existing) => existing.provisional && f.kind == "transcript",
        };
        if replace {
            let mut entity = self.entity(f, attrs, transcript_id, true);
            entity.provisional = f.kind != "transcript";
            entity.parent = Some(format!("gene:{gene_id}").into());
            let gene = self.entity(f, attrs, gene_id, false);
            entity.gene = Some(Box::new(Gene {
                id: gene.id,
                name: gene.name,
                biotype: gene.biotype,
            }));
            self.slots[i].entity = Some(entity);
        }
    }

    fn finish(mut self) -> Parsed {
        let format = self.format.unwrap_or(AnnotationFormat::Gff3);
        self.flush();
        let transcripts = std::mem::take(&mut self.done);
        let mut gene_ids: Vec<*const Gene> =
            transcripts.iter().map(|t| Arc::as_ptr(&t.gene)).collect();
        gene_ids.sort_unstable();
        gene_ids.dedup();
        Parsed {
            format,
            transcripts,
            genes: gene_ids.len(),
            header: self.header,
            warnings: self.warnings,
        }
    }

    /// Builds the transcripts of the features read so far and forgets the
    /// features, so that a file with `###` lines is held one gene at a
    /// time, not whole (a feature after a `###` that names an earlier one
    /// as its parent is then a missing parent, as GFF3 says it must not).
    fn flush(&mut self) {
        let mut slots = std::mem::take(&mut self.slots);
        let ids = std::mem::take(&mut self.ids);
        let mut keys: Vec<&str> = vec![""; slots.len()];
        for (key, &i) in &ids {
            keys[i as usize] = key;
        }
        // Genes made so far: by the parent's slot, or (GTF files without
        // gene lines) by the parent key.
        let mut genes: Vec<Option<Arc<Gene>>> = vec![None; slots.len()];
        let described = &mut self.described;
        let transcripts = &mut self.done;
        for i in 0..slots.len() {
            let slot = &slots[i];
            let transcript_like = slot.entity.as_ref().is_some_and(|e| e.transcript_like);
            if !slot.has_children() && !transcript_like {
                continue;
            }
            let outcome = match &slot.entity {
                None => Err((SkipReason::MissingParent, strip_prefix(keys[i]).to_string())),
                Some(entity) => {
                    let parent_key = entity.parent.as_deref();
                    let parent = parent_key.and_then(|p| ids.get(p)).map(|&j| j as usize);
                    let gene = match parent {
                        Some(j) if genes[j].is_some() => genes[j].clone(),
                        Some(j) if slots[j].entity.is_some() => {
                            let parent = slots[j].entity.as_ref().expect("checked");
                            let gene = Arc::new(Gene {
                                id: parent.id.clone(),
                                name: parent.name.clone(),
                                biotype: Arc::clone(&parent.biotype),
                            });
                            genes[j] = Some(Arc::clone(&gene));
                            Some(gene)
                        }
                        _ => match (parent_key, &entity.gene) {
                            (Some(key), Some(gene)) => match described.get(key) {
                                Some(made) => Some(Arc::clone(made)),
                                None => {
                                    let made = Arc::new((**gene).clone());
                                    described.insert(key.into(), Arc::clone(&made));
                                    Some(made)
                                }
                            },
                            _ => None,
                        },
                    };
                    match gene {
                        None => Err((SkipReason::MissingParent, entity.id.to_string())),
                        Some(gene) => assemble(entity, slot, gene, &mut self.warnings)
                            .map_err(|reason| (reason, entity.id.to_string())),
                    }
                }
            };
            match outcome {
                Ok(transcript) => transcripts.push(transcript),
                Err((reason, example)) => self.warnings.skip(reason, &example),
            }
            // The parts are in the transcript now: free them as we go, so
            // that the raw features and the models do not all coexist.
            let slot = &mut slots[i];
            slot.exons = Vec::new();
            slot.cds = Vec::new();
            slot.codons = Vec::new();
        }
        drop(slots);
    }
}

/// Builds a transcript from its line and parts, or says why its model is
/// broken.
fn assemble(
    entity: &Entity,
    slot: &Slot,
    gene: Arc<Gene>,
    warnings: &mut Warnings,
) -> Result<Transcript, SkipReason> {
    let strand = entity.strand.ok_or(SkipReason::Inconsistent)?;
    if slot.inconsistent {
        return Err(SkipReason::Inconsistent);
    }
    if let Some((contig, child_strand)) = &slot.child_place {
        if **contig != *entity.contig || *child_strand != Some(strand) {
            return Err(SkipReason::Inconsistent);
        }
    }
    // Exons: genomic order, no overlaps, then transcript order. A
    // transcript with CDS lines but no exon lines (prokaryote-style files)
    // has exons where its coding bases are.
    let mut parts = if slot.exons.is_empty() {
        merged_spans(slot.cds.iter().chain(&slot.codons))
            .into_iter()
            .map(|(start, end)| Part {
                start,
                end,
                phase: None,
                rank: None,
            })
            .collect()
    } else {
        slot.exons.clone()
    };
    if parts.is_empty() {
        return Err(SkipReason::NoExons);
    }
    parts.sort_unstable_by_key(|p| (p.start, p.end));
    if parts.windows(2).any(|w| w[0].end >= w[1].start) {
        return Err(SkipReason::OverlappingExons);
    }
    if strand == Strand::Reverse {
        parts.reverse();
    }
    // Ensembl's `rank` numbers exons from the 5' end; ranks that do not
    // increase along the strand mean a model at odds with itself. They need
    // not start at 1: files cut from a larger one (test data, regions) keep
    // a transcript's later exons only.
    let ranks: Vec<u32> = parts.iter().filter_map(|p| p.rank).collect();
    if ranks.windows(2).any(|w| w[0] >= w[1]) {
        return Err(SkipReason::ExonOrder);
    }
    let mut cdna = 1;
    let exons: Box<[Exon]> = parts
        .iter()
        .map(|p| {
            let exon = Exon {
                start: p.start,
                end: p.end,
                cdna_start: cdna,
            };
            cdna += p.end - p.start + 1;
            exon
        })
        .collect();

    let mut flags = 0;
    for tag in &entity.tags {
        flags |= match &**tag {
            "Ensembl_canonical" => flag::CANONICAL,
            "MANE_Select" => flag::MANE_SELECT,
            "MANE_Plus_Clinical" => flag::MANE_PLUS_CLINICAL,
            "basic" | "gencode_basic" => flag::BASIC,
            "cds_start_NF" => flag::CDS_START_NF,
            "cds_end_NF" => flag::CDS_END_NF,
            "mRNA_start_NF" => flag::MRNA_START_NF,
            "mRNA_end_NF" => flag::MRNA_END_NF,
            _ => 0,
        };
    }
    if contig_key(&entity.contig) == "MT" {
        flags |= flag::MITOCHONDRIAL;
    }
    let mut transcript = Transcript {
        id: entity.id.clone(),
        gene,
        contig: Arc::clone(&entity.contig),
        strand,
        start: exons.iter().map(|e| e.start).min().expect("exons"),
        end: exons.iter().map(|e| e.end).max().expect("exons"),
        biotype: Arc::clone(&entity.biotype),
        exons,
        coding: None,
        tags: entity.tags.clone().into_boxed_slice(),
        flags,
        level: entity.level,
        tsl: entity.tsl,
    };
    if !slot.cds.is_empty() {
        let coding = coding(&transcript, slot, warnings)?;
        if coding.1 {
            transcript.flags |= flag::START_PHASE;
        }
        transcript.coding = Some(Box::new(coding.0));
        let len = transcript.cds_len().expect("coding");
        if transcript.cds_start_complete()
            && transcript.cds_end_complete()
            && !len.is_multiple_of(3)
        {
            if transcript.is_mitochondrial() {
                transcript.flags |= flag::POLYA_STOP;
                warnings.polya_stops += 1;
            } else {
                return Err(SkipReason::PartialCodon);
            }
        }
    }
    let gene = transcript.gene();
    let plain = is_plain(transcript.id())
        && transcript.protein_id().is_none_or(is_plain)
        && is_plain(transcript.biotype())
        && is_plain(gene.id())
        && gene.name().is_none_or(is_plain);
    if plain {
        transcript.flags |= flag::PLAIN_NAMES;
    }
    Ok(transcript)
}

/// The coding part of `transcript` from the slot's CDS and codon parts,
/// and whether the first CDS phase is not 0.
fn coding(
    transcript: &Transcript,
    slot: &Slot,
    warnings: &mut Warnings,
) -> Result<(Coding, bool), SkipReason> {
    let mut cds = slot.cds.clone();
    cds.sort_unstable_by_key(|p| (p.start, p.end));
    if cds.windows(2).any(|w| w[0].end >= w[1].start) {
        return Err(SkipReason::CdsGap);
    }
    // The coding bases: CDS plus start/stop codons outside it (GTF puts the
    // stop codon after the CDS), merged where they touch.
    let merged = merged_spans(cds.iter().chain(&slot.codons));
    // Split at exon boundaries (exons may touch); every base must be in an
    // exon.
    let mut segments: Vec<(u32, u32)> = Vec::with_capacity(merged.len());
    let mut exons: Vec<&Exon> = transcript.exons.iter().collect();
    exons.sort_unstable_by_key(|e| e.start);
    for (start, end) in merged {
        let mut covered = 0;
        for exon in exons.iter().filter(|e| e.start <= end && e.end >= start) {
            let (a, b) = (start.max(exon.start), end.min(exon.end));
            segments.push((a, b));
            covered += b - a + 1;
        }
        if covered != end - start + 1 {
            return Err(SkipReason::CdsOutsideExon);
        }
    }
    if transcript.strand == Strand::Reverse {
        segments.reverse();
    }
    let first = segments[0];
    let last = *segments.last().expect("not empty");
    let (five, three) = match transcript.strand {
        Strand::Forward => (first.0, last.1),
        Strand::Reverse => (first.1, last.0),
    };
    let cdna_start = transcript.cdna_position(five).expect("in an exon");
    let cdna_end = transcript.cdna_position(three).expect("in an exon");
    let total: u32 = segments.iter().map(|(a, b)| b - a + 1).sum();
    if cdna_end < cdna_start || cdna_end - cdna_start + 1 != total {
        return Err(SkipReason::CdsGap);
    }
    // The first phase: that of the CDS line holding the 5'-most coding base.
    let five_phase = |p: &Part| match transcript.strand {
        Strand::Forward => p.start == five,
        Strand::Reverse => p.end == five,
    };
    let phase = cds
        .iter()
        .find(|p| five_phase(p))
        .and_then(|p| p.phase)
        .unwrap_or(0);
    let padding = (3 - phase) % 3;
    // Phases of the segments, and whether the file's agree.
    let mut disagree = false;
    for part in &cds {
        let Some(given) = part.phase else { continue };
        let part_five = match transcript.strand {
            Strand::Forward => part.start,
            Strand::Reverse => part.end,
        };
        let before = transcript.cdna_position(part_five).expect("in an exon") - cdna_start
            + u32::from(padding);
        if (3 - before % 3) % 3 != u32::from(given) {
            disagree = true;
        }
    }
    if disagree {
        warnings.phase_disagreements += 1;
    }
    let mut done = u32::from(padding);
    let segments = segments
        .into_iter()
        .map(|(start, end)| {
            let segment = CdsSegment {
                start,
                end,
                phase: ((3 - done % 3) % 3) as u8,
            };
            done += end - start + 1;
            segment
        })
        .collect();
    Ok((
        Coding {
            cdna_start,
            cdna_end,
            padding,
            segments,
            protein_id: slot.protein_id.clone(),
        },
        phase != 0,
    ))
}

/// The spans of `parts` in genomic order, merged where they overlap or
/// touch.
fn merged_spans<'a>(parts: impl Iterator<Item = &'a Part>) -> Vec<(u32, u32)> {
    let mut spans: Vec<(u32, u32)> = parts.map(|p| (p.start, p.end)).collect();
    spans.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}
