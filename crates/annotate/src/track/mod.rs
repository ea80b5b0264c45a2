//! Reference tracks: BED files of named features (genes) and VCF files of
//! known sites (dbSNP), loaded once into compact in-memory indexes and
//! shared by every annotation run.
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
use crate::reader::LineReader;

pub(crate) use bed::BedIndex;
pub(crate) use vcf::SiteIndex;

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
    /// of the sites with the record's position, REF and an ALT allele.
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
    /// the REF comparison but add no id.
    ///
    /// # Errors
    /// [`TrackError::Io`] when the file cannot be read, [`TrackError::Malformed`]
    /// naming the first bad line.
    pub fn load(path: &Path) -> Result<Track, TrackError> {
        Self::load_with(path, None)
    }

    /// As [`Track::load`], but the track is declared to be on `assembly`
    /// whatever its header says.
    ///
    /// # Errors
    /// As [`Track::load`].
    pub fn load_as(path: &Path, assembly: &str) -> Result<Track, TrackError> {
        Self::load_with(path, Some(assembly))
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
        Self::read(Path::new(name), name.to_string(), reader, None)
    }

    fn load_with(path: &Path, declared: Option<&str>) -> Result<Track, TrackError> {
        let file = File::open(path).map_err(|source| TrackError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let reader = BufReader::with_capacity(TRACK_BUFFER_BYTES, file);
        Self::read(path, name, reader, declared)
    }

    /// Reads a track named `name` from `reader`; errors name `path`.
    fn read<R: BufRead>(
        path: &Path,
        name: String,
        reader: R,
        declared: Option<&str>,
    ) -> Result<Track, TrackError> {
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
        let (index, records) = if !reader.read_line(&mut line).map_err(lift)? {
            (TrackIndex::Bed(BedIndex::builder().finish()), 0)
        } else if line.starts_with(b"##fileformat=VCF") {
            let mut builder = SiteIndex::builder();
            while reader.read_line(&mut line).map_err(lift)? {
                let number = reader.line_number();
                let text = track_utf8(&line).map_err(|m| malformed(number, m))?;
                if text.starts_with('#') {
                    if header_assembly.is_none() {
                        header_assembly = assembly_of_meta_line(text);
                    }
                } else if !text.is_empty() {
                    builder.add(text).map_err(|m| malformed(number, m))?;
                }
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

    pub(crate) fn index(&self) -> &TrackIndex {
        &self.inner.index
    }
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
}
