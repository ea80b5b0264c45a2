//! Reference tracks: BED files of named features (genes) and VCF files of
//! known sites (dbSNP) or of variants whose INFO fields are copied (ClinVar,
//! gnomAD), loaded once into compact in-memory indexes and shared by every
//! annotation run.
//!
//! A track is read whole at load time, so annotating never seeks and the
//! memory an annotation run uses does not grow with its input. The shipped
//! tracks (57,820 genes, 340,685 dbSNP sites) take a few MB each.

mod bed;
mod vcf;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::assembly::assembly_of_meta_line;
use crate::contig::contig_key;
use crate::error::AnnotateError;
use crate::input::Input;
use crate::meta::{self, InfoDefinition};
use crate::reader::LineReader;

pub(crate) use bed::BedIndex;
pub(crate) use vcf::{normalise, SiteIndex};

/// The assembly a track is taken to be on when it does not say (a BED file
/// cannot; a VCF may in `##reference` or `##contig`): GRCh37, the assembly of
/// the reference data GAS ships.
pub const DEFAULT_ASSEMBLY: &str = "GRCh37";

/// The longest track line accepted, in bytes.
const MAX_TRACK_LINE_BYTES: usize = 1 << 20;
/// Read buffer of a track file.
const TRACK_BUFFER_BYTES: usize = 256 << 10;

/// What a track adds to each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    /// A BED file: column 4 names the feature. Adds INFO `GENE`: the names
    /// of the features overlapping the record.
    Bed,
    /// A VCF file of known sites (dbSNP): fills the ID column with the ids
    /// of the sites with the record's position, REF and an ALT allele. Or,
    /// loaded with fields ([`Track::load_with_fields`]), a VCF whose INFO
    /// fields are copied onto the records with the same normalised alleles
    /// (see the crate documentation); such a track fills no ids.
    Vcf,
}

impl TrackKind {
    /// `BED` or `VCF`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Bed => "BED",
            TrackKind::Vcf => "VCF",
        }
    }
}

/// Why a track could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// Opening or reading the file failed, or its gzip data is corrupt.
    #[error("track {path}: {source}")]
    Io {
        /// The track's path as given.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A line of the track is not valid BED or VCF. `line` is 1-based.
    #[error("track {path}: line {line}: {message}")]
    Malformed {
        /// The track's path as given.
        path: PathBuf,
        /// The 1-based number of the offending (decompressed) line.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// The INFO fields asked of a track cannot be copied: the track is not
    /// a VCF, its header does not define one of them, a field or name is
    /// not an INFO key, is asked twice or is one the annotator writes
    /// itself, or two tracks would write the same INFO field.
    #[error("track {path}: {message}")]
    Fields {
        /// The track's path as given (its name for a conflict between
        /// loaded tracks).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One INFO field a VCF track copies onto matching records: `id` as the
/// track's header defines it, written as `name` (usually the same).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackField {
    /// The INFO key in the track.
    pub id: String,
    /// The INFO key written to the output.
    pub name: String,
}

impl TrackField {
    /// Copies `id` under its own name.
    pub fn new(id: &str) -> Self {
        TrackField {
            id: id.to_string(),
            name: id.to_string(),
        }
    }

    /// Copies `id` as `name`.
    pub fn renamed(id: &str, name: &str) -> Self {
        TrackField {
            id: id.to_string(),
            name: name.to_string(),
        }
    }

    /// Parses `FIELD` or `FIELD=NAME` (both INFO keys, see
    /// [`TrackSpec::parse`]).
    pub fn parse(text: &str) -> Option<Self> {
        let (id, name) = text.split_once('=').unwrap_or((text, text));
        (is_info_key(id) && is_info_key(name)).then(|| TrackField::renamed(id, name))
    }
}

impl fmt::Display for TrackField {
    /// `FIELD`, or `FIELD=NAME` when renamed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.id == self.name {
            f.write_str(&self.id)
        } else {
            write!(f, "{}={}", self.id, self.name)
        }
    }
}

/// A track as the command line and the configuration name it: a path,
/// and the INFO fields to copy from it (none: a BED track, or a VCF track
/// filling ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    /// The track file.
    pub path: PathBuf,
    /// The INFO fields to copy (VCF tracks only).
    pub fields: Vec<TrackField>,
}

impl TrackSpec {
    /// Parses `FILE` or `FILE:FIELD,FIELD,...`, where each FIELD is an INFO
    /// key of the track (`[A-Za-z_][A-Za-z0-9_.]*`, or `1000G`), optionally
    /// renamed with `=NAME` (`gnomad.vcf.gz:AF=gnomAD_AF`). Paths may contain
    /// `:`: an entry naming an existing file is that file; otherwise the
    /// text after the last `:` is the field list when it has that shape, and
    /// the entry is a path when not.
    ///
    /// # Errors
    /// [`TrackError::Fields`] when the text before the last `:` is an
    /// existing file and the text after it is not a field list.
    pub fn parse(entry: &str) -> Result<TrackSpec, TrackError> {
        let whole = || TrackSpec {
            path: PathBuf::from(entry),
            fields: Vec::new(),
        };
        if Path::new(entry).exists() {
            return Ok(whole());
        }
        let Some((head, tail)) = entry.rsplit_once(':') else {
            return Ok(whole());
        };
        let fields: Option<Vec<TrackField>> = tail.split(',').map(TrackField::parse).collect();
        match fields {
            Some(fields) => Ok(TrackSpec {
                path: PathBuf::from(head),
                fields,
            }),
            None if !head.is_empty() && Path::new(head).is_file() => Err(TrackError::Fields {
                path: PathBuf::from(head),
                message: format!(
                    "{:?} is not a list of INFO fields (FIELD or FIELD=NAME, comma-separated)",
                    crate::error::snippet(tail)
                ),
            }),
            None => Ok(whole()),
        }
    }
}

impl fmt::Display for TrackSpec {
    /// `FILE`, or `FILE:FIELD,...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        for (i, field) in self.fields.iter().enumerate() {
            write!(f, "{}{field}", if i == 0 { ':' } else { ',' })?;
        }
        Ok(())
    }
}

/// How a copied field's values line up with the input's ALT alleles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alignment {
    /// `Number=A`: the matched allele's value, per ALT.
    Allele,
    /// `Number=R`: the REF value, then the matched allele's value per ALT.
    RefAndAllele,
    /// Any other Number: the matched record's whole value per ALT, its
    /// commas made `|`.
    Whole,
    /// `Type=Flag`: set when an ALT matched a record with the flag.
    Flag,
}

impl Alignment {
    /// The `Number` of the output definition.
    pub(crate) fn number(self) -> &'static str {
        match self {
            Alignment::Allele | Alignment::Whole => "A",
            Alignment::RefAndAllele => "R",
            Alignment::Flag => "0",
        }
    }
}

/// A field a track copies, with what its output definition is made of.
#[derive(Debug)]
pub(crate) struct CopiedField {
    pub(crate) field: TrackField,
    pub(crate) alignment: Alignment,
    /// The output `Type`: the track's, but `String` for values joined
    /// with `|`.
    pub(crate) kind: String,
    /// The track's `Description`, as written between its quotes.
    pub(crate) description: String,
}

impl CopiedField {
    fn new(field: TrackField, definition: InfoDefinition) -> Self {
        let InfoDefinition {
            number,
            kind,
            description,
            ..
        } = definition;
        let (alignment, kind) = if kind == "Flag" || number == "0" {
            (Alignment::Flag, "Flag".to_string())
        } else {
            match number.as_str() {
                "A" => (Alignment::Allele, kind),
                "R" => (Alignment::RefAndAllele, kind),
                "1" => (Alignment::Whole, kind),
                _ => (Alignment::Whole, "String".to_string()),
            }
        };
        let kind = if kind.is_empty() {
            "String".to_string()
        } else {
            kind
        };
        CopiedField {
            field,
            alignment,
            kind,
            description,
        }
    }
}

/// Whether `key` is an INFO key: `[A-Za-z_][A-Za-z0-9_.]*`, or `1000G` (as
/// VCFv4.3 has it).
fn is_info_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    key == "1000G"
        || bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Why the field list `fields` cannot be asked of one track, if it cannot.
fn check_field_list(fields: &[TrackField]) -> Result<(), String> {
    for (i, field) in fields.iter().enumerate() {
        for key in [&field.id, &field.name] {
            if !is_info_key(key) {
                return Err(format!(
                    "{:?} is not an INFO key ([A-Za-z_][A-Za-z0-9_.]*)",
                    crate::error::snippet(key)
                ));
            }
        }
        if meta::ADDED_INFO_KEYS.contains(&field.name.as_str())
            || meta::CONSEQUENCE_INFO_KEYS.contains(&field.name.as_str())
            || field.name == "END"
        {
            return Err(format!(
                "cannot copy INFO field {} as {}: the annotator writes {} itself{}; copy it under another name ({}=NAME)",
                field.id,
                field.name,
                field.name,
                if field.name == "END" { " (it is the record's end)" } else { "" },
                field.id
            ));
        }
        let earlier = &fields[..i];
        if earlier.iter().any(|f| f.id == field.id) {
            return Err(format!("INFO field {} is asked for twice", field.id));
        }
        if earlier.iter().any(|f| f.name == field.name) {
            return Err(format!("two fields are copied as {}", field.name));
        }
    }
    Ok(())
}

/// The fields copied from `tracks`, each with the index of its track and
/// its index among the track's fields: in
/// track order, and a name copied by an earlier track is not copied again
/// ([`Track::check_fields`] refuses such tracks; a hand-built
/// [`crate::Options`] gets the first).
pub(crate) fn copied_fields(tracks: &[Track]) -> Vec<(usize, usize, &CopiedField)> {
    let mut copied: Vec<(usize, usize, &CopiedField)> = Vec::new();
    for (t, track) in tracks.iter().enumerate() {
        for (i, field) in track.inner.fields.iter().enumerate() {
            if !copied
                .iter()
                .any(|(_, _, f)| f.field.name == field.field.name)
            {
                copied.push((t, i, field));
            }
        }
    }
    copied
}

/// A loaded reference track: cheap to clone (the index is shared), safe to
/// use from many threads and runs at once. Two handles are equal when they
/// share the same loaded index.
#[derive(Clone)]
pub struct Track {
    inner: Arc<TrackData>,
}

struct TrackData {
    name: String,
    assembly: String,
    records: u64,
    index: TrackIndex,
    /// The INFO fields copied (VCF tracks only), in the order asked.
    fields: Vec<CopiedField>,
}

pub(crate) enum TrackIndex {
    Bed(BedIndex),
    Vcf(SiteIndex),
}

impl Track {
    /// Loads a track file: VCF when its first line is `##fileformat=VCF...`,
    /// BED otherwise; plain text or gzip/BGZF-compressed (a tabix index
    /// beside it is neither needed nor read). The assembly is the one a VCF
    /// header names (`##reference`, `##contig=<...,assembly=...>`), else
    /// [`DEFAULT_ASSEMBLY`].
    ///
    /// BED: tab-separated `chrom start end name ...` with 0-based, half-open
    /// coordinates; `#`, `track` and `browser` lines and blank lines are
    /// skipped; features with `start == end` cover no base and are skipped.
    /// In names, characters VCF does not allow in an INFO value
    /// (whitespace, `,`, `;`, `=`) become `_`. VCF: the CHROM, POS, ID, REF
    /// and ALT columns of each record; records whose ID is `.` are kept for
    /// the REF comparison but add no id. To copy INFO fields instead, see
    /// [`Track::load_with_fields`].
    ///
    /// # Errors
    /// [`TrackError::Io`] when the file cannot be read, [`TrackError::Malformed`]
    /// naming the first bad line.
    pub fn load(path: &Path) -> Result<Track, TrackError> {
        Self::load_with(path, None, &[])
    }

    /// Loads a VCF track whose INFO `fields` are copied onto the records
    /// with the same normalised alleles (see the crate documentation), as
    /// [`Track::load`] loads one; without fields, it is [`Track::load`].
    /// Only the fields' values are kept, per ALT allele of the track. Such
    /// a track fills no ids; its sites still take part in the REF
    /// comparison of the assembly check.
    ///
    /// # Errors
    /// As [`Track::load`], and [`TrackError::Fields`] when the file is not a
    /// VCF (`##fileformat=VCF...` first), its header has no `##INFO`
    /// definition of a field, a field or its name is not an INFO key, a
    /// field or name is given twice, or a name is one the annotator writes
    /// itself (`VC`, `TITV`, `GENE`) or `END`.
    pub fn load_with_fields(path: &Path, fields: &[TrackField]) -> Result<Track, TrackError> {
        Self::load_with(path, None, fields)
    }

    /// Loads the track `spec` names ([`Track::load_with_fields`]).
    ///
    /// # Errors
    /// As [`Track::load_with_fields`].
    pub fn load_spec(spec: &TrackSpec) -> Result<Track, TrackError> {
        Self::load_with(&spec.path, None, &spec.fields)
    }

    /// Loads several tracks at once, one thread per track, in the given
    /// order, and checks that no two copy the same INFO field
    /// ([`Track::check_fields`]).
    ///
    /// # Errors
    /// The first failure, in the order of `specs`, then a conflict.
    pub fn load_specs(specs: &[TrackSpec]) -> Result<Vec<Track>, TrackError> {
        let tracks: Vec<Track> = std::thread::scope(|scope| {
            let handles: Vec<_> = specs
                .iter()
                .map(|spec| scope.spawn(move || Track::load_spec(spec)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("track loading panicked"))
                .collect::<Result<_, _>>()
        })?;
        Track::check_fields(&tracks)?;
        Ok(tracks)
    }

    /// Checks that no two of `tracks` copy an INFO field under the same
    /// name (an annotation run with such tracks copies the field from the
    /// first only).
    ///
    /// # Errors
    /// [`TrackError::Fields`] naming the later track and the field.
    pub fn check_fields(tracks: &[Track]) -> Result<(), TrackError> {
        for (t, track) in tracks.iter().enumerate() {
            for field in &track.inner.fields {
                let name = &field.field.name;
                let earlier = tracks[..t]
                    .iter()
                    .find(|e| e.inner.fields.iter().any(|f| &f.field.name == name));
                if let Some(earlier) = earlier {
                    return Err(TrackError::Fields {
                        path: PathBuf::from(track.name()),
                        message: format!(
                            "INFO field {name} is copied from {} too; copy it under another name ({}=NAME)",
                            earlier.name(),
                            field.field.id
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// As [`Track::load`], but the track is declared to be on `assembly`
    /// whatever its header says.
    ///
    /// # Errors
    /// As [`Track::load`].
    pub fn load_as(path: &Path, assembly: &str) -> Result<Track, TrackError> {
        Self::load_with(path, Some(assembly), &[])
    }

    /// Loads several tracks at once, one thread per track, in the given
    /// order.
    ///
    /// # Errors
    /// The first failure, in the order of `paths`.
    pub fn load_all<P: AsRef<Path> + Sync>(paths: &[P]) -> Result<Vec<Track>, TrackError> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = paths
                .iter()
                .map(|path| scope.spawn(move || Track::load(path.as_ref())))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("track loading panicked"))
                .collect()
        })
    }

    /// Reads a track from `reader` (plain text or gzip/BGZF-compressed, as
    /// [`Track::load`] reads a file), e.g. one embedded in the binary with
    /// `include_bytes!` (see [`crate::reference`]). `name` is what headers,
    /// logs and errors show (use a file name). The assembly is the one a VCF
    /// header names, else [`DEFAULT_ASSEMBLY`].
    ///
    /// # Errors
    /// [`TrackError::Io`] when reading fails or the gzip data is corrupt,
    /// [`TrackError::Malformed`] naming the first bad line; both carry
    /// `name` as their path.
    pub fn from_reader<R: BufRead>(name: &str, reader: R) -> Result<Track, TrackError> {
        Self::read(Path::new(name), name.to_string(), reader, None, &[])
    }

    fn load_with(
        path: &Path,
        declared: Option<&str>,
        fields: &[TrackField],
    ) -> Result<Track, TrackError> {
        let file = File::open(path).map_err(|source| TrackError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let reader = BufReader::with_capacity(TRACK_BUFFER_BYTES, file);
        Self::read(path, name, reader, declared, fields)
    }

    /// Reads a track named `name` from `reader`, copying `fields`; errors
    /// name `path`.
    pub(crate) fn read<R: BufRead>(
        path: &Path,
        name: String,
        reader: R,
        declared: Option<&str>,
        fields: &[TrackField],
    ) -> Result<Track, TrackError> {
        let fields_error = |message| TrackError::Fields {
            path: path.to_path_buf(),
            message,
        };
        check_field_list(fields).map_err(fields_error)?;
        let io_error = |source| TrackError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Tracks are the operator's files, read once: no bound.
        let input = Input::new(reader, None).map_err(io_error)?;
        let mut reader = LineReader::new(input, MAX_TRACK_LINE_BYTES);
        let malformed = |line, message| TrackError::Malformed {
            path: path.to_path_buf(),
            line,
            message,
        };
        let lift = |e: AnnotateError| match e {
            AnnotateError::Io(source) => io_error(source),
            AnnotateError::BadCompression { message } => {
                io_error(io::Error::new(io::ErrorKind::InvalidData, message))
            }
            AnnotateError::Malformed { line, message } => malformed(line, message),
            other => malformed(other.line().unwrap_or(0), other.to_string()),
        };

        let mut line = Vec::with_capacity(256);
        let mut header_assembly = None;
        let mut copied = Vec::new();
        let first = reader.read_line(&mut line).map_err(lift)?;
        let vcf = first && line.starts_with(b"##fileformat=VCF");
        if !vcf && !fields.is_empty() {
            return Err(fields_error(format!(
                "INFO fields ({}) can only be copied from a VCF track, and this is not one (its first line is not ##fileformat=VCF...)",
                fields.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(",")
            )));
        }
        let (index, records) = if !first {
            (TrackIndex::Bed(BedIndex::builder().finish()), 0)
        } else if vcf {
            let mut builder = SiteIndex::builder(fields.iter().map(|f| f.id.clone()).collect());
            let mut definitions: Vec<Option<InfoDefinition>> = vec![None; fields.len()];
            let mut in_header = true;
            while reader.read_line(&mut line).map_err(lift)? {
                let number = reader.line_number();
                let text = track_utf8(&line).map_err(|m| malformed(number, m))?;
                if text.starts_with('#') {
                    if header_assembly.is_none() {
                        header_assembly = assembly_of_meta_line(text);
                    }
                    if !fields.is_empty() && in_header {
                        define(fields, &mut definitions, text);
                    }
                } else if !text.is_empty() {
                    if in_header {
                        in_header = false;
                        copied = copied_from(fields, &mut definitions).map_err(fields_error)?;
                    }
                    builder.add(text).map_err(|m| malformed(number, m))?;
                }
            }
            if in_header {
                copied = copied_from(fields, &mut definitions).map_err(fields_error)?;
            }
            let records = builder.len();
            (TrackIndex::Vcf(builder.finish()), records)
        } else {
            let mut builder = BedIndex::builder();
            loop {
                let number = reader.line_number();
                let text = track_utf8(&line).map_err(|m| malformed(number, m))?;
                builder.add(text).map_err(|m| malformed(number, m))?;
                if !reader.read_line(&mut line).map_err(lift)? {
                    break;
                }
            }
            let records = builder.len();
            (TrackIndex::Bed(builder.finish()), records)
        };
        let assembly = declared
            .or(header_assembly)
            .unwrap_or(DEFAULT_ASSEMBLY)
            .to_string();
        Ok(Track {
            inner: Arc::new(TrackData {
                name,
                assembly,
                records,
                index,
                fields: copied,
            }),
        })
    }

    /// The track's file name (without its directory): what headers and logs
    /// show.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// BED or VCF.
    pub fn kind(&self) -> TrackKind {
        match self.inner.index {
            TrackIndex::Bed(_) => TrackKind::Bed,
            TrackIndex::Vcf(_) => TrackKind::Vcf,
        }
    }

    /// The assembly the track is on (see [`Track::load`]).
    pub fn assembly(&self) -> &str {
        &self.inner.assembly
    }

    /// Features (BED) or sites (VCF) loaded.
    pub fn records(&self) -> u64 {
        self.inner.records
    }

    /// The INFO fields the track copies, in the order asked (none for a
    /// BED track or a VCF track filling ids).
    pub fn fields(&self) -> impl Iterator<Item = &TrackField> {
        self.inner.fields.iter().map(|f| &f.field)
    }

    pub(crate) fn index(&self) -> &TrackIndex {
        &self.inner.index
    }
}

/// Records in `definitions` the definition `line` gives of one of
/// `fields`, if it is one (the first definition of a key counts).
fn define(fields: &[TrackField], definitions: &mut [Option<InfoDefinition>], line: &str) {
    if !line.starts_with("##INFO=") {
        return;
    }
    let Some(definition) = meta::info_definition(line) else {
        return;
    };
    if let Some(i) = fields.iter().position(|f| f.id == definition.id) {
        definitions[i].get_or_insert(definition);
    }
}

/// The copied fields, from the definitions the header gave, or which of
/// `fields` it did not define.
fn copied_from(
    fields: &[TrackField],
    definitions: &mut [Option<InfoDefinition>],
) -> Result<Vec<CopiedField>, String> {
    let missing: Vec<&str> = fields
        .iter()
        .zip(definitions.iter())
        .filter(|(_, d)| d.is_none())
        .map(|(f, _)| f.id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the header has no ##INFO definition of {} (asked to copy {})",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        ));
    }
    Ok(fields
        .iter()
        .zip(definitions.iter_mut())
        .filter_map(|(field, d)| Some(CopiedField::new(field.clone(), d.take()?)))
        .collect())
}

impl PartialEq for Track {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Track {}

impl fmt::Debug for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Track")
            .field("name", &self.name())
            .field("kind", &self.kind())
            .field("assembly", &self.assembly())
            .field("records", &self.records())
            .field("fields", &self.fields().collect::<Vec<_>>())
            .finish()
    }
}

/// Contig keys (see [`contig_key`]) to dense indexes.
#[derive(Default)]
pub(crate) struct ContigMap {
    keys: HashMap<String, usize>,
    /// The name last given to [`ContigMap::index_or_insert`] and its index:
    /// track files are grouped by contig, so this is usually the answer.
    last: Option<(String, usize)>,
}

impl ContigMap {
    /// The index of the contig named `name` (any naming style), if the track
    /// has features on it.
    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        self.keys.get(contig_key(name)).copied()
    }

    /// The index for `name`, allocating the next one when new.
    fn index_or_insert(&mut self, name: &str) -> usize {
        if let Some((last, index)) = &self.last {
            if last == name {
                return *index;
            }
        }
        let key = contig_key(name);
        let index = match self.keys.get(key) {
            Some(&index) => index,
            None => {
                let index = self.keys.len();
                self.keys.insert(key.to_string(), index);
                index
            }
        };
        self.last = Some((name.to_string(), index));
        index
    }
}

/// The first of `len` sorted items that is not `before` the target,
/// searched from `hint` (where the previous search ended) forward a few
/// steps first, then by binary search: sorted input finds its place in a
/// step or two. `before(i)` must be true for a prefix of the items only.
pub(crate) fn search_from(len: usize, hint: usize, before: impl Fn(usize) -> bool) -> usize {
    const STEPS: usize = 8;
    let (low, high) = if hint <= len && (hint == 0 || before(hint - 1)) {
        let stop = len.min(hint + STEPS);
        if let Some(i) = (hint..stop).find(|&i| !before(i)) {
            return i;
        }
        (stop, len)
    } else {
        (0, hint.min(len))
    };
    let (mut low, mut high) = (low, high);
    while low < high {
        let mid = low + (high - low) / 2;
        if before(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

fn track_utf8(line: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(line).map_err(|e| {
        format!(
            "not valid UTF-8 (bad byte at column {})",
            e.valid_up_to() + 1
        )
    })
}

/// Parses a coordinate column.
fn coordinate(value: &str, what: &str) -> Result<u32, String> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{what} {:?} is not a non-negative integer",
            crate::error::snippet(value)
        ));
    }
    value.parse().map_err(|_| {
        format!(
            "{what} {:?} is not an integer below 2^32",
            crate::error::snippet(value)
        )
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn hinted_search_equals_binary_search() {
        let values: Vec<u32> = (1..200).map(|i| i * 10).collect();
        for target in [0, 5, 10, 11, 95, 1000, 1985, 1990, 5000] {
            let expected = values.partition_point(|&v| v < target);
            for hint in [0, 1, 3, 50, 100, 198, 199, 500] {
                let found = search_from(values.len(), hint, |i| values[i] < target);
                assert_eq!(found, expected, "{target} {hint}");
            }
        }
        assert_eq!(search_from(0, 0, |_| true), 0);
    }

    fn write(dir: &Path, name: &str, text: &str, gzip: bool) -> PathBuf {
        let path = dir.join(name);
        let bytes = if gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
            encoder.write_all(text.as_bytes()).unwrap();
            encoder.finish().unwrap()
        } else {
            text.as_bytes().to_vec()
        };
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn loads_bed_and_vcf_plain_or_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let bed = "chr1\t10\t20\tA\nchr2\t5\t6\tB\n";
        for gzip in [false, true] {
            let track = Track::load(&write(dir.path(), "g.bed", bed, gzip)).unwrap();
            assert_eq!(
                (
                    track.name(),
                    track.kind(),
                    track.assembly(),
                    track.records()
                ),
                ("g.bed", TrackKind::Bed, DEFAULT_ASSEMBLY, 2)
            );
        }
        let vcf = "##fileformat=VCFv4.2\n##reference=GRCh38\n#CHROM\tPOS\tID\tREF\tALT\n1\t5\trs1\tA\tG\n";
        let path = write(dir.path(), "s.vcf.gz", vcf, true);
        let track = Track::load(&path).unwrap();
        assert_eq!(
            (track.kind(), track.assembly(), track.records()),
            (TrackKind::Vcf, "GRCh38", 1)
        );
        assert_eq!(Track::load_as(&path, "hg19").unwrap().assembly(), "hg19");
        assert_eq!(track, track.clone());
        assert_ne!(track, Track::load(&path).unwrap());
        let empty = Track::load(&write(dir.path(), "empty.bed", "", false)).unwrap();
        assert_eq!(empty.records(), 0);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bad.bed", "chr1\t1\t2\tA\nchr1\t1\n", true);
        match Track::load(&path).unwrap_err() {
            TrackError::Malformed { line, message, .. } => {
                assert_eq!(line, 2, "{message}");
                assert!(message.contains("4 tab-separated"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let path = write(
            dir.path(),
            "bad.vcf",
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n1\tx\t.\tA\tG\n",
            false,
        );
        let err = Track::load(&path).unwrap_err();
        assert!(err.to_string().contains("bad.vcf: line 3: POS"), "{err}");
        let missing = Track::load(&dir.path().join("missing.bed")).unwrap_err();
        assert!(matches!(missing, TrackError::Io { .. }));
        let corrupt = write(dir.path(), "corrupt.bed.gz", "", false);
        std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
        assert!(matches!(
            Track::load(&corrupt).unwrap_err(),
            TrackError::Io { .. }
        ));
        let loaded = Track::load_all(std::slice::from_ref(&path)).unwrap_err();
        assert!(matches!(loaded, TrackError::Malformed { line: 3, .. }));
    }

    #[test]
    fn specs_parse() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        for name in ["a.vcf", "we:ird.vcf", "x.vcf:AF"] {
            write(dir.path(), name, "", false);
        }
        let spec = |entry: String| TrackSpec::parse(&entry).unwrap();
        let fields = |list: &[(&str, &str)]| -> Vec<TrackField> {
            list.iter()
                .map(|(i, n)| TrackField::renamed(i, n))
                .collect()
        };
        let case = |entry: String, path: String, list: &[(&str, &str)]| {
            let parsed = spec(entry.clone());
            assert_eq!(
                parsed,
                TrackSpec {
                    path: PathBuf::from(path),
                    fields: fields(list)
                },
                "{entry}"
            );
            assert_eq!(parsed.to_string(), entry);
        };
        case(format!("{d}/a.vcf"), format!("{d}/a.vcf"), &[]);
        case(
            format!("{d}/a.vcf:AF"),
            format!("{d}/a.vcf"),
            &[("AF", "AF")],
        );
        case(
            format!("{d}/a.vcf:CLNSIG,CLNDN"),
            format!("{d}/a.vcf"),
            &[("CLNSIG", "CLNSIG"), ("CLNDN", "CLNDN")],
        );
        case(
            format!("{d}/a.vcf:AF=gnomAD_AF,1000G,_x.y"),
            format!("{d}/a.vcf"),
            &[("AF", "gnomAD_AF"), ("1000G", "1000G"), ("_x.y", "_x.y")],
        );
        // Colons in paths: an existing file wins; else the last `:`.
        case(format!("{d}/we:ird.vcf"), format!("{d}/we:ird.vcf"), &[]);
        case(
            format!("{d}/we:ird.vcf:AF"),
            format!("{d}/we:ird.vcf"),
            &[("AF", "AF")],
        );
        case(format!("{d}/x.vcf:AF"), format!("{d}/x.vcf:AF"), &[]);
        // A missing file with fields: the load names it.
        case(
            format!("{d}/missing.vcf:AF"),
            format!("{d}/missing.vcf"),
            &[("AF", "AF")],
        );
        // Not a field list: the whole entry is the path...
        for entry in [
            format!("{d}/nope:a/b.vcf"),
            "http://host/x.vcf".to_string(),
            format!("{d}/nope.vcf:1AF"),
        ] {
            case(entry.clone(), entry, &[]);
        }
        // ... unless the text before the `:` is a file.
        for tail in ["AF,", "1AF", "AF=", "A-F", ""] {
            let err = TrackSpec::parse(&format!("{d}/a.vcf:{tail}")).unwrap_err();
            assert!(
                matches!(&err, TrackError::Fields { path, message }
                    if path == &dir.path().join("a.vcf") && message.contains("not a list of INFO fields")),
                "{tail}: {err}"
            );
        }
        assert_eq!(
            TrackField::parse("AF=X"),
            Some(TrackField::renamed("AF", "X"))
        );
        assert_eq!(TrackField::parse("AF=X=Y"), None);
        assert_eq!(TrackField::new("AF").to_string(), "AF");
    }

    const CLINVAR: &str = "##fileformat=VCFv4.1\n\
        ##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Clinical significance\">\n\
        ##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency, \\\"AF\\\"\">\n\
        ##INFO=<ID=AC,Number=R,Type=Integer,Description=\"Counts\">\n\
        ##INFO=<ID=DB,Number=0,Type=Flag,Description=\"dbSNP\">\n\
        ##INFO=<ID=N,Number=2,Type=Integer,Description=\"Two\">\n\
        ##INFO=<ID=S,Number=1,Type=Float,Description=\"One\">\n\
        #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
        1\t5\t1\tA\tG\t.\t.\tCLNSIG=Benign\n";

    #[test]
    fn fields_load_and_define_their_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "clinvar.vcf", CLINVAR, false);
        let asked: Vec<TrackField> = ["CLNSIG", "AF=ClinAF", "AC", "DB", "N", "S"]
            .iter()
            .map(|f| TrackField::parse(f).unwrap())
            .collect();
        let track = Track::load_with_fields(&path, &asked).unwrap();
        assert_eq!(track.fields().cloned().collect::<Vec<_>>(), asked);
        assert_eq!((track.kind(), track.records()), (TrackKind::Vcf, 1));
        let defined: Vec<(&str, Alignment, &str)> = track
            .inner
            .fields
            .iter()
            .map(|f| (f.field.name.as_str(), f.alignment, f.kind.as_str()))
            .collect();
        assert_eq!(
            defined,
            [
                ("CLNSIG", Alignment::Whole, "String"),
                ("ClinAF", Alignment::Allele, "Float"),
                ("AC", Alignment::RefAndAllele, "Integer"),
                ("DB", Alignment::Flag, "Flag"),
                ("N", Alignment::Whole, "String"),
                ("S", Alignment::Whole, "Float"),
            ]
        );
        assert_eq!(
            track.inner.fields[1].description,
            "Allele frequency, \\\"AF\\\""
        );
        assert!(format!("{track:?}").contains("ClinAF"));
        // Without fields, as before.
        assert_eq!(Track::load(&path).unwrap().fields().count(), 0);

        let err = |fields: &[&str]| {
            let fields: Vec<TrackField> = fields
                .iter()
                .map(|f| TrackField::parse(f).unwrap())
                .collect();
            match Track::load_with_fields(&path, &fields).unwrap_err() {
                TrackError::Fields { path: p, message } => {
                    assert_eq!(p, path);
                    message
                }
                other => panic!("{other:?}"),
            }
        };
        let message = err(&["CLNSIG", "CLNDN"]);
        assert!(
            message.contains("no ##INFO definition of CLNDN"),
            "{message}"
        );
        assert!(err(&["X", "Y"]).contains("of X, Y"));
        assert!(err(&["VC"]).contains("writes VC itself"));
        assert!(err(&["AF=GENE"]).contains("writes GENE itself"));
        assert!(err(&["AF=END"]).contains("END"));
        assert!(err(&["AF", "AF=X"]).contains("twice"));
        assert!(err(&["AF", "S=AF"]).contains("two fields are copied as AF"));
        let bad = Track::load_with_fields(&path, &[TrackField::new("A-F")]).unwrap_err();
        assert!(bad.to_string().contains("not an INFO key"), "{bad}");

        let bed = write(dir.path(), "genes.bed", "1\t0\t10\tG\n", false);
        let message = Track::load_with_fields(&bed, &[TrackField::new("AF")])
            .unwrap_err()
            .to_string();
        assert!(message.contains("genes.bed"), "{message}");
        assert!(
            message.contains("only be copied from a VCF track"),
            "{message}"
        );
    }

    #[test]
    fn two_tracks_copying_one_field_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.vcf", CLINVAR, false);
        let b = write(dir.path(), "b.vcf.gz", CLINVAR, true);
        let spec = |path: &Path, fields: &[&str]| TrackSpec {
            path: path.to_path_buf(),
            fields: fields
                .iter()
                .map(|f| TrackField::parse(f).unwrap())
                .collect(),
        };
        let err = Track::load_specs(&[spec(&a, &["CLNSIG", "AF"]), spec(&b, &["AF"])]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("track b.vcf.gz: INFO field AF is copied from a.vcf too"),
            "{message}"
        );
        let tracks = Track::load_specs(&[
            spec(&a, &["CLNSIG", "AF"]),
            spec(&b, &["AF=B_AF"]),
            spec(&a, &[]),
        ])
        .unwrap();
        assert_eq!(tracks.len(), 3);
        let names: Vec<&str> = copied_fields(&tracks)
            .into_iter()
            .map(|(_, _, f)| f.field.name.as_str())
            .collect();
        assert_eq!(names, ["CLNSIG", "AF", "B_AF"]);
    }
}
