//! A reference genome sequence (FASTA) with random access in bounded
//! memory: what the consequence annotation reads codons and splice sites
//! from.
//!
//! # Formats
//! [`Reference::open`] recognises the file by its first bytes:
//! - **Plain FASTA** with its samtools `.fai` index beside it (`x.fa.fai`).
//!   Without the `.fai`, the index is built in memory by one streaming pass
//!   over the file (nothing is written next to the user's data); the
//!   sequence lines of each record must then all have the same length but
//!   for the last, as `samtools faidx` requires.
//! - **BGZF** (what `bgzip` writes) with `x.fa.gz.fai` and the block index
//!   `x.fa.gz.gzi` (both written by `samtools faidx x.fa.gz`, the `.gzi`
//!   also by `bgzip -r`). A missing `.gzi` is rebuilt in memory by reading
//!   the block headers once (no inflation); a missing `.fai` by inflating
//!   the file once. Both are cheap next to loading a genome, but slower
//!   than reading the indexes: run `samtools faidx` once to avoid it.
//! - **Plain gzip** (not BGZF): gzip has no random access, so the whole
//!   sequence is inflated into memory at open (3 GB for a human genome).
//!   Any `.fai` beside it is ignored. Recompress with `bgzip` to avoid this.
//!
//! [`Reference::from_fasta_bytes`] reads FASTA text already in memory
//! (plain or gzip, e.g. embedded in the binary, as
//! [`crate::reference::mt_reference`] is) into memory the same way; it needs
//! no index.
//!
//! # Fetching
//! [`Reference::fetch`] takes 0-based, half-open coordinates and returns
//! upper-case bases (IUPAC codes and `N` as they are in the file). Contig
//! names are matched as the tracks match them: exactly first, then `1` and
//! `chr1`, `MT`, `M`, `chrM` and `chrMT` as the same contig.
//!
//! Decoded data is cached per handle in a small LRU (8 entries of at most
//! 64 KiB: BGZF blocks, or 64 KiB pages of a plain file), so fetching a
//! window around each of many position-sorted variants reads and inflates
//! each block once.
//!
//! # Threads
//! [`Reference`] is `Send + Sync`. Fetches take `&self`: a handle's file and
//! cache sit behind a [`Mutex`], so threads sharing one handle take turns.
//! [`Clone`] makes a new handle that shares the (immutable) index but has
//! its own file and cache: give each worker thread its own clone and they
//! never wait for one another. Sequences held in memory (plain gzip, or
//! bytes given) are shared by all clones and read without a lock.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::bgzf::{block_size, read_full};
use crate::contig::contig_key;

/// Bytes in a cached page of a plain FASTA file. Each worker's handle
/// keeps [`CACHE_ENTRIES`] of them: 64 KiB pages were 1 MiB of a 2-thread
/// run's 15 MiB peak, and 16 KiB pages measured 0.6 MiB less and no slower
/// on the 1M-variant benchmark (the pages come from the page cache).
const PAGE_BYTES: u64 = 16 << 10;
/// Blocks or pages a handle keeps decoded.
const CACHE_ENTRIES: usize = 8;
/// The fixed part of a gzip member header (through XLEN).
const GZIP_FIXED_HEADER: usize = 12;
/// The largest BGZF block, compressed or not.
const MAX_BLOCK: usize = 1 << 16;

/// Why a reference could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum FastaError {
    /// The FASTA file does not exist.
    #[error("reference {path}: no such file")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },

    /// Reading a file failed.
    #[error("reference {path}: {source}")]
    Io {
        /// The file being read (the FASTA or one of its indexes).
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },

    /// The compressed data is corrupt or truncated.
    #[error("reference {path}: {message}")]
    BadCompression {
        /// The FASTA file.
        path: PathBuf,
        /// What the decoder found.
        message: String,
    },

    /// A line of the `.fai` index is not a valid samtools FASTA index line.
    #[error("reference index {path}: line {line}: {message}")]
    BadIndex {
        /// The `.fai` file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// The `.gzi` block index is not valid.
    #[error(
        "reference block index {path}: {message}; rebuild it with `samtools faidx` or `bgzip -r`"
    )]
    BadGzi {
        /// The `.gzi` file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// The FASTA text itself is not valid (found while indexing it or
    /// reading it into memory). `line` is 1-based, in the decompressed text.
    #[error("reference {path}: line {line}: {message}")]
    BadFasta {
        /// The FASTA file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// The sequence in the file does not have the layout its `.fai`
    /// declares (line lengths differ, or the file is shorter): the index is
    /// stale or belongs to another file.
    #[error("reference {path}: contig {contig}: {message}; the .fai does not describe this file (rebuild it with `samtools faidx`)")]
    Layout {
        /// The FASTA file.
        path: PathBuf,
        /// The contig being read.
        contig: String,
        /// What was found.
        message: String,
    },

    /// No contig of the reference has this name (in any naming style).
    #[error("the reference has no contig {name:?}")]
    UnknownContig {
        /// The name asked for.
        name: String,
    },

    /// The requested range is empty-reversed or runs past the contig's end.
    #[error("{contig}:{start}-{end} is outside the reference contig (length {len})")]
    OutOfRange {
        /// The contig's name in the reference.
        contig: String,
        /// The requested 0-based start.
        start: u64,
        /// The requested 0-based, exclusive end.
        end: u64,
        /// The contig's length.
        len: u64,
    },
}

/// How the reference file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// Plain text, read through its `.fai`.
    Plain,
    /// BGZF, read block by block through its `.fai` and `.gzi`.
    Bgzf,
    /// Plain gzip, inflated into memory at open.
    Gzip,
    /// FASTA given as bytes ([`Reference::from_fasta_bytes`]), held in
    /// memory.
    Memory,
}

/// One line of a `.fai`: where a contig's sequence lies in the
/// (decompressed) file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FaiEntry {
    name: Box<str>,
    len: u64,
    /// Offset of the first base.
    offset: u64,
    /// Bases per full line.
    line_bases: u64,
    /// Bytes per full line, terminator included.
    line_width: u64,
}

impl FaiEntry {
    /// The file offset of the 0-based base `pos`.
    fn offset_of(&self, pos: u64) -> u64 {
        self.offset + pos / self.line_bases * self.line_width + pos % self.line_bases
    }
}

/// A reference genome (see the module documentation).
pub struct Reference {
    shared: Arc<Shared>,
    cache: Mutex<Cache>,
}

struct Shared {
    path: PathBuf,
    contigs: Vec<FaiEntry>,
    exact: HashMap<Box<str>, usize>,
    /// [`contig_key`] to the first contig with that key.
    keyed: HashMap<Box<str>, usize>,
    storage: Storage,
}

enum Storage {
    Plain,
    /// Block starts as (compressed, uncompressed) offsets, from (0, 0),
    /// increasing.
    Bgzf(Vec<(u64, u64)>),
    /// Upper-case sequences, one per contig, and where they came from
    /// ([`ReferenceKind::Gzip`] or [`ReferenceKind::Memory`]).
    Memory(Vec<Vec<u8>>, ReferenceKind),
}

/// A handle's open file and its decoded blocks.
struct Cache {
    file: Option<File>,
    entries: Vec<Entry>,
    clock: u64,
    inflater: libdeflater::Decompressor,
    compressed: Vec<u8>,
    /// The last read's file bytes (see [`Reference::fetch_id_into`]).
    raw: Vec<u8>,
}

struct Entry {
    /// Page number (plain) or compressed offset (BGZF).
    key: u64,
    /// The compressed offset of the next block (BGZF).
    next: u64,
    data: Vec<u8>,
    used: u64,
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reference")
            .field("path", &self.shared.path)
            .field("kind", &self.kind())
            .field("contigs", &self.shared.contigs.len())
            .finish()
    }
}

impl Clone for Reference {
    /// A new handle on the same reference: shares the index (and in-memory
    /// sequence), with its own file and cache. See the module documentation.
    fn clone(&self) -> Self {
        Reference {
            shared: Arc::clone(&self.shared),
            cache: Mutex::new(Cache::new(None)),
        }
    }
}

impl Reference {
    /// Opens a reference FASTA: plain with `.fai`, BGZF with `.fai` and
    /// `.gzi`, or plain gzip (see the module documentation for what is done
    /// when an index is missing).
    ///
    /// # Errors
    /// [`FastaError::NotFound`] when the file does not exist,
    /// [`FastaError::BadIndex`] naming the bad `.fai` line,
    /// [`FastaError::BadGzi`], [`FastaError::BadFasta`] for a FASTA that
    /// cannot be indexed, [`FastaError::BadCompression`], [`FastaError::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<Reference, FastaError> {
        let path = path.as_ref();
        let io_err = |source| FastaError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FastaError::NotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(io_err(e)),
        };
        let mut head = [0u8; 18];
        let got = read_full(&mut file, &mut head).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let head = &head[..got];
        let fai_path = with_suffix(path, ".fai");

        let (contigs, storage, file) = if block_size(head).is_some() {
            let gzi_path = with_suffix(path, ".gzi");
            let fai = read_optional(&fai_path)?
                .map(|text| parse_fai(&fai_path, &text))
                .transpose()?;
            let gzi = read_optional(&gzi_path)?
                .map(|bytes| parse_gzi(&gzi_path, &bytes))
                .transpose()?;
            let (contigs, gzi) = match (fai, gzi) {
                (Some(fai), Some(gzi)) => (fai, gzi),
                (fai, _) => {
                    let (scanned_gzi, scanned_fai) = scan_bgzf(path, &mut file, fai.is_none())?;
                    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
                    (fai.or(scanned_fai).unwrap_or_default(), scanned_gzi)
                }
            };
            (contigs, Storage::Bgzf(gzi), Some(file))
        } else if head.first() == Some(&0x1f) && head.get(1) == Some(&0x8b) {
            let decoder = flate2::read::MultiGzDecoder::new(BufReader::new(file));
            let (contigs, seqs) =
                read_into_memory(path, BufReader::with_capacity(1 << 20, decoder))?;
            (contigs, Storage::Memory(seqs, ReferenceKind::Gzip), None)
        } else {
            let contigs = match read_optional(&fai_path)? {
                Some(text) => parse_fai(&fai_path, &text)?,
                None => {
                    let contigs = index_plain(path, BufReader::with_capacity(1 << 20, &mut file))?;
                    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
                    contigs
                }
            };
            let size = file.metadata().map_err(io_err)?.len();
            for contig in &contigs {
                if contig.len > 0 && contig.offset_of(contig.len - 1) >= size {
                    return Err(FastaError::Layout {
                        path: path.to_path_buf(),
                        contig: contig.name.to_string(),
                        message: format!(
                            "the file ({size} bytes) ends before the contig's last base"
                        ),
                    });
                }
            }
            (contigs, Storage::Plain, Some(file))
        };

        Ok(Reference::new(path.to_path_buf(), contigs, storage, file))
    }

    /// A reference held in memory, read from the FASTA text `fasta`: plain,
    /// or gzip-compressed (BGZF included), recognised by its first bytes.
    /// For sequences embedded in the binary or fetched over the network;
    /// no index is needed (sequence lines may have any lengths). `name`
    /// stands for the file's path: [`Reference::path`] returns it and
    /// errors show it. Bases are upper-cased; [`Reference::kind`] is
    /// [`ReferenceKind::Memory`].
    ///
    /// # Errors
    /// [`FastaError::BadFasta`] naming the first line that is not FASTA
    /// (1-based, in the decompressed text), [`FastaError::BadCompression`]
    /// for corrupt or truncated gzip data.
    pub fn from_fasta_bytes(name: &str, fasta: &[u8]) -> Result<Reference, FastaError> {
        let path = Path::new(name);
        let (contigs, seqs) = if fasta.starts_with(&[0x1f, 0x8b]) {
            let decoder = flate2::read::MultiGzDecoder::new(fasta);
            read_into_memory(path, BufReader::with_capacity(1 << 16, decoder))?
        } else {
            read_into_memory(path, fasta)?
        };
        Ok(Reference::new(
            path.to_path_buf(),
            contigs,
            Storage::Memory(seqs, ReferenceKind::Memory),
            None,
        ))
    }

    /// A handle on a reference whose contigs and storage have been read.
    fn new(
        path: PathBuf,
        contigs: Vec<FaiEntry>,
        storage: Storage,
        file: Option<File>,
    ) -> Reference {
        let mut exact = HashMap::with_capacity(contigs.len());
        let mut keyed = HashMap::with_capacity(contigs.len());
        for (i, contig) in contigs.iter().enumerate() {
            exact.insert(contig.name.clone(), i);
            keyed.entry(contig_key(&contig.name).into()).or_insert(i);
        }
        Reference {
            shared: Arc::new(Shared {
                path,
                contigs,
                exact,
                keyed,
                storage,
            }),
            cache: Mutex::new(Cache::new(file)),
        }
    }

    /// The FASTA file's path as given to [`Reference::open`], or the name
    /// given to [`Reference::from_fasta_bytes`].
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How the file is stored.
    pub fn kind(&self) -> ReferenceKind {
        match self.shared.storage {
            Storage::Plain => ReferenceKind::Plain,
            Storage::Bgzf(_) => ReferenceKind::Bgzf,
            Storage::Memory(_, kind) => kind,
        }
    }

    /// The contigs' names (as the file writes them) and lengths, in file
    /// order.
    pub fn contigs(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.shared.contigs.iter().map(|c| (&*c.name, c.len))
    }

    /// The length of the contig `name` (any naming style), if the
    /// reference has it.
    pub fn contig_len(&self, name: &str) -> Option<u64> {
        self.contig_index(name).map(|i| self.shared.contigs[i].len)
    }

    /// The reference's own name for the contig `name` (`chr1` for `1` when
    /// the file says `chr1`), if it has it.
    pub fn contig_name(&self, name: &str) -> Option<&str> {
        self.contig_index(name)
            .map(|i| &*self.shared.contigs[i].name)
    }

    /// The id of the contig `name` (any naming style), to read it with
    /// [`Reference::fetch_id_into`] without looking the name up again: a
    /// caller annotating sorted records looks each contig up once.
    pub fn contig_id(&self, name: &str) -> Option<ContigId> {
        self.contig_index(name).map(ContigId)
    }

    /// The length of the contig `id` (0 for an id of another reference).
    pub fn contig_id_len(&self, id: ContigId) -> u64 {
        self.shared.contigs.get(id.0).map_or(0, |c| c.len)
    }

    fn contig_index(&self, name: &str) -> Option<usize> {
        let shared = &self.shared;
        shared
            .exact
            .get(name)
            .or_else(|| shared.keyed.get(contig_key(name)))
            .copied()
    }

    /// The bases `start..end` (0-based, half-open) of contig `contig`,
    /// upper-case.
    ///
    /// # Errors
    /// [`FastaError::UnknownContig`], [`FastaError::OutOfRange`] when
    /// `start > end` or `end` is past the contig's end,
    /// [`FastaError::Layout`] when the file contradicts its `.fai`,
    /// [`FastaError::Io`] and [`FastaError::BadCompression`] when reading
    /// fails.
    pub fn fetch(&self, contig: &str, start: u64, end: u64) -> Result<Vec<u8>, FastaError> {
        let mut out = Vec::with_capacity(usize::try_from(end.saturating_sub(start)).unwrap_or(0));
        self.fetch_into(contig, start, end, &mut out)?;
        Ok(out)
    }

    /// As [`Reference::fetch`], but appends the bases to `out` (which is not
    /// cleared), so that a caller fetching many windows can reuse one
    /// buffer.
    ///
    /// # Errors
    /// As [`Reference::fetch`]; `out` may then hold part of the bases.
    pub fn fetch_into(
        &self,
        contig: &str,
        start: u64,
        end: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), FastaError> {
        let index = self
            .contig_index(contig)
            .ok_or_else(|| FastaError::UnknownContig {
                name: contig.to_string(),
            })?;
        self.fetch_id_into(ContigId(index), start, end, out)
    }

    /// As [`Reference::fetch_into`], for the contig `id` (see
    /// [`Reference::contig_id`]).
    ///
    /// # Errors
    /// As [`Reference::fetch`]; [`FastaError::UnknownContig`] for an id
    /// of another reference.
    pub fn fetch_id_into(
        &self,
        id: ContigId,
        start: u64,
        end: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), FastaError> {
        let index = id.0;
        let shared = &*self.shared;
        let Some(entry) = shared.contigs.get(index) else {
            return Err(FastaError::UnknownContig {
                name: format!("#{index}"),
            });
        };
        if start > end || end > entry.len {
            return Err(FastaError::OutOfRange {
                contig: entry.name.to_string(),
                start,
                end,
                len: entry.len,
            });
        }
        if start == end {
            return Ok(());
        }
        if let Storage::Memory(seqs, _) = &shared.storage {
            let seq = &seqs[index];
            out.extend_from_slice(&seq[start as usize..end as usize]);
            return Ok(());
        }
        let raw_start = entry.offset_of(start);
        let raw_end = entry.offset_of(end - 1) + 1;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // The file bytes, line ends included, in a buffer the handle keeps.
        let mut raw = std::mem::take(&mut cache.raw);
        raw.clear();
        let read = match &shared.storage {
            Storage::Plain => cache.read_plain(shared, raw_start, raw_end, &mut raw),
            Storage::Bgzf(gzi) => cache.read_bgzf(shared, gzi, raw_start, raw_end, &mut raw),
            Storage::Memory(..) => unreachable!("handled above"),
        };
        let unwrapped = read
            .is_ok()
            .then(|| unwrap_lines(entry, raw_start, &raw, out));
        // A long read's buffer is not kept: the handle's memory stays bounded.
        if raw.capacity() <= RAW_KEPT_BYTES {
            cache.raw = raw;
        }
        drop(cache);
        read.map_err(|e| match e {
            ReadError::Io(source) => FastaError::Io {
                path: shared.path.clone(),
                source,
            },
            ReadError::Corrupt(message) => FastaError::BadCompression {
                path: shared.path.clone(),
                message,
            },
            ReadError::Short => FastaError::Layout {
                path: shared.path.clone(),
                contig: entry.name.to_string(),
                message: format!(
                    "the file ends before base {end} (of {}) where the .fai places it",
                    entry.len
                ),
            },
        })?;
        unwrapped
            .unwrap_or(Ok(()))
            .map_err(|message| FastaError::Layout {
                path: shared.path.clone(),
                contig: entry.name.to_string(),
                message,
            })
    }
}

/// A contig of one [`Reference`] (and its clones), found by
/// [`Reference::contig_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContigId(usize);

/// The largest read buffer a handle keeps between reads.
const RAW_KEPT_BYTES: usize = 64 * 1024;

/// Appends the bases in `raw` (the file bytes from offset `raw_start`) to
/// `out`, upper-cased, checking that line terminators sit exactly where
/// the `.fai` says.
fn unwrap_lines(
    entry: &FaiEntry,
    raw_start: u64,
    raw: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let width = entry.line_width as usize;
    let bases = entry.line_bases as usize;
    let mut col = ((raw_start - entry.offset) % entry.line_width) as usize;
    let mut at = 0;
    while at < raw.len() {
        if col < bases {
            let take = (bases - col).min(raw.len() - at);
            let chunk = &raw[at..at + take];
            if let Some(bad) = chunk
                .iter()
                .position(|b| !b.is_ascii_alphabetic() && *b != b'*' && *b != b'-')
            {
                let byte = chunk[bad];
                let pos = raw_start + (at + bad) as u64;
                return Err(if byte == b'\n' || byte == b'\r' {
                    format!(
                        "a sequence line ends at file offset {pos}, before the {} bases a line the .fai declares",
                        entry.line_bases
                    )
                } else {
                    format!(
                        "byte {:?} at file offset {pos} is not a base",
                        char::from(byte)
                    )
                });
            }
            let from = out.len();
            out.extend_from_slice(chunk);
            out[from..].make_ascii_uppercase();
            at += take;
            col += take;
        } else {
            let take = (width - col).min(raw.len() - at);
            if let Some(bad) = raw[at..at + take]
                .iter()
                .position(|b| *b != b'\n' && *b != b'\r')
            {
                return Err(format!(
                    "a sequence line is longer than the {} bases the .fai declares (file offset {})",
                    entry.line_bases,
                    raw_start + (at + bad) as u64
                ));
            }
            at += take;
            col += take;
        }
        if col == width {
            col = 0;
        }
    }
    Ok(())
}

enum ReadError {
    Io(io::Error),
    Corrupt(String),
    /// The file ended before the requested bytes.
    Short,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Short
        } else {
            ReadError::Io(e)
        }
    }
}

impl Cache {
    fn new(file: Option<File>) -> Self {
        Cache {
            file,
            entries: Vec::with_capacity(CACHE_ENTRIES),
            clock: 0,
            inflater: libdeflater::Decompressor::new(),
            compressed: Vec::new(),
            raw: Vec::new(),
        }
    }

    fn file(&mut self, shared: &Shared) -> Result<&mut File, ReadError> {
        if self.file.is_none() {
            self.file = Some(File::open(&shared.path)?);
        }
        Ok(self.file.as_mut().expect("just opened"))
    }

    /// The index of the cached entry `key`, marked used.
    fn lookup(&mut self, key: u64) -> Option<usize> {
        self.clock += 1;
        let clock = self.clock;
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.entries[i].used = clock;
        Some(i)
    }

    /// A slot for a new entry: a fresh one, or the least recently used.
    fn victim(&mut self) -> usize {
        if self.entries.len() < CACHE_ENTRIES {
            self.entries.push(Entry {
                key: u64::MAX,
                next: 0,
                data: Vec::new(),
                used: 0,
            });
            self.entries.len() - 1
        } else {
            (0..self.entries.len())
                .min_by_key(|&i| self.entries[i].used)
                .expect("the cache is not empty")
        }
    }

    /// Appends the bytes `start..end` of a plain file to `out`.
    fn read_plain(
        &mut self,
        shared: &Shared,
        start: u64,
        end: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), ReadError> {
        let mut at = start;
        while at < end {
            let page = at / PAGE_BYTES;
            let i = match self.lookup(page) {
                Some(i) => i,
                None => {
                    let slot = self.victim();
                    let mut data = std::mem::take(&mut self.entries[slot].data);
                    data.resize(PAGE_BYTES as usize, 0);
                    let file = self.file(shared)?;
                    file.seek(SeekFrom::Start(page * PAGE_BYTES))?;
                    let got = read_full(file, &mut data)?;
                    data.truncate(got);
                    let entry = &mut self.entries[slot];
                    entry.key = page;
                    entry.data = data;
                    entry.used = self.clock;
                    slot
                }
            };
            let data = &self.entries[i].data;
            let from = (at - page * PAGE_BYTES) as usize;
            let to = (end - page * PAGE_BYTES).min(PAGE_BYTES) as usize;
            if to > data.len() {
                return Err(ReadError::Short);
            }
            out.extend_from_slice(&data[from..to]);
            at = page * PAGE_BYTES + to as u64;
        }
        Ok(())
    }

    /// Appends the decompressed bytes `start..end` of a BGZF file to `out`.
    fn read_bgzf(
        &mut self,
        shared: &Shared,
        gzi: &[(u64, u64)],
        start: u64,
        end: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), ReadError> {
        let first = gzi.partition_point(|&(_, u)| u <= start) - 1;
        let (mut block, mut block_start) = gzi[first];
        let mut at = start;
        while at < end {
            let i = match self.lookup(block) {
                Some(i) => i,
                None => self.load_block(shared, block)?,
            };
            let entry = &self.entries[i];
            let block_end = block_start + entry.data.len() as u64;
            if at < block_end {
                let to = end.min(block_end);
                out.extend_from_slice(
                    &entry.data[(at - block_start) as usize..(to - block_start) as usize],
                );
                at = to;
                if at == end {
                    break;
                }
            }
            if entry.next == block {
                // The end of the file, before `end`.
                return Err(ReadError::Short);
            }
            block = entry.next;
            block_start = block_end;
        }
        Ok(())
    }

    /// Reads and inflates the BGZF block at compressed offset `offset`
    /// into a cache slot; the slot.
    fn load_block(&mut self, shared: &Shared, offset: u64) -> Result<usize, ReadError> {
        let slot = self.victim();
        let mut data = std::mem::take(&mut self.entries[slot].data);
        let mut compressed = std::mem::take(&mut self.compressed);
        let file = self.file(shared)?;
        file.seek(SeekFrom::Start(offset))?;
        let size = match read_block(file, &mut compressed)? {
            Some(size) => size,
            None => {
                // The end of the file: an empty entry that points at itself.
                self.compressed = compressed;
                let entry = &mut self.entries[slot];
                entry.key = offset;
                entry.next = offset;
                entry.data = data;
                entry.data.clear();
                entry.used = self.clock;
                return Ok(slot);
            }
        };
        let inflated = inflate_block(&mut self.inflater, &compressed, &mut data);
        self.compressed = compressed;
        inflated.map_err(ReadError::Corrupt)?;
        let entry = &mut self.entries[slot];
        entry.key = offset;
        entry.next = offset + size as u64;
        entry.data = data;
        entry.used = self.clock;
        Ok(slot)
    }
}

/// Reads one whole BGZF block into `buf`; its size, or `None` at the end of
/// the input.
fn read_block(input: &mut impl Read, buf: &mut Vec<u8>) -> Result<Option<usize>, ReadError> {
    buf.clear();
    buf.resize(GZIP_FIXED_HEADER, 0);
    let got = read_full(input, buf)?;
    if got == 0 {
        return Ok(None);
    }
    if got < GZIP_FIXED_HEADER {
        return Err(ReadError::Corrupt(
            "the file ends inside a BGZF block header".into(),
        ));
    }
    let xlen = usize::from(u16::from_le_bytes([buf[10], buf[11]]));
    buf.resize(GZIP_FIXED_HEADER + xlen, 0);
    input
        .read_exact(&mut buf[GZIP_FIXED_HEADER..])
        .map_err(truncated_block)?;
    let size = block_size(buf)
        .ok_or_else(|| ReadError::Corrupt("a gzip member that is not a BGZF block".into()))?;
    if size < GZIP_FIXED_HEADER + xlen + 8 {
        return Err(ReadError::Corrupt(
            "a BGZF block's size is smaller than its header".into(),
        ));
    }
    let header = buf.len();
    buf.resize(size, 0);
    input
        .read_exact(&mut buf[header..])
        .map_err(truncated_block)?;
    Ok(Some(size))
}

fn truncated_block(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadError::Corrupt("the file ends inside a BGZF block".into())
    } else {
        ReadError::Io(e)
    }
}

/// Inflates the whole BGZF block `block` into `out` (resized to its
/// length), checking its CRC.
fn inflate_block(
    inflater: &mut libdeflater::Decompressor,
    block: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let xlen = usize::from(u16::from_le_bytes([block[10], block[11]]));
    let body = &block[GZIP_FIXED_HEADER + xlen..block.len() - 8];
    let trailer = &block[block.len() - 8..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    if len > MAX_BLOCK {
        return Err("a BGZF block declares more than 64 KiB of data".into());
    }
    out.resize(len, 0);
    let got = inflater
        .deflate_decompress(body, out)
        .map_err(|e| format!("a BGZF block does not inflate: {e}"))?;
    if got != len {
        return Err("a BGZF block is shorter than its declared size".into());
    }
    if libdeflater::crc32(out) != crc {
        return Err("a BGZF block fails its CRC check".into());
    }
    Ok(())
}

/// Reads the file at `path` whole, or `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FastaError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FastaError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `path` with `suffix` appended to its file name (`x.fa` -> `x.fa.fai`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Parses a samtools `.fai`: `name length offset line_bases line_width`,
/// tab-separated (a sixth column, FASTQ's quality offset, is rejected).
fn parse_fai(path: &Path, text: &[u8]) -> Result<Vec<FaiEntry>, FastaError> {
    let bad = |line, message: String| FastaError::BadIndex {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut contigs: Vec<FaiEntry> = Vec::new();
    let mut seen = HashMap::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let number = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let line = std::str::from_utf8(raw).map_err(|_| bad(number, "not valid UTF-8".into()))?;
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 5 {
            return Err(bad(
                number,
                format!(
                    "{:?}: expected 5 tab-separated columns (name, length, offset, line bases, line width), found {}",
                    crate::error::snippet(line),
                    fields.len()
                ),
            ));
        }
        let name = fields[0];
        if name.is_empty() {
            return Err(bad(number, "empty contig name".into()));
        }
        let number_of = |value: &str, what: &str| -> Result<u64, FastaError> {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    number,
                    format!(
                        "contig {name}: {what} {:?} is not a non-negative integer",
                        crate::error::snippet(value)
                    ),
                ));
            }
            value.parse().map_err(|_| {
                bad(
                    number,
                    format!("contig {name}: {what} {value:?} is too large"),
                )
            })
        };
        let entry = FaiEntry {
            name: name.into(),
            len: number_of(fields[1], "length")?,
            offset: number_of(fields[2], "offset")?,
            line_bases: number_of(fields[3], "line bases")?,
            line_width: number_of(fields[4], "line width")?,
        };
        if entry.line_bases == 0 && entry.len > 0 {
            return Err(bad(number, format!("contig {name}: zero bases per line")));
        }
        if entry.line_width < entry.line_bases || entry.line_width > entry.line_bases + 2 {
            return Err(bad(
                number,
                format!(
                    "contig {name}: line width {} does not fit {} bases per line and a line terminator",
                    entry.line_width, entry.line_bases
                ),
            ));
        }
        if seen.insert(entry.name.clone(), ()).is_some() {
            return Err(bad(number, format!("contig {name} is listed twice")));
        }
        contigs.push(entry);
    }
    for entry in &mut contigs {
        // A contig with no bases: its line layout is never used.
        if entry.len == 0 {
            entry.line_bases = 1;
            entry.line_width = 1;
        }
    }
    Ok(contigs)
}

/// Parses a `.gzi`: a little-endian u64 count, then that many pairs of
/// (compressed, uncompressed) block offsets, the first block omitted.
fn parse_gzi(path: &Path, bytes: &[u8]) -> Result<Vec<(u64, u64)>, FastaError> {
    let bad = |message: &str| FastaError::BadGzi {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if bytes.len() < 8 {
        return Err(bad("shorter than its 8-byte entry count"));
    }
    let count = word(0);
    if count.checked_mul(16).and_then(|n| n.checked_add(8)) != Some(bytes.len() as u64) {
        return Err(bad(&format!(
            "declares {count} entries but has {} bytes (expected 8 + 16 per entry)",
            bytes.len()
        )));
    }
    let mut gzi = Vec::with_capacity(count as usize + 1);
    gzi.push((0, 0));
    for i in 0..count as usize {
        let entry = (word(8 + 16 * i), word(16 + 16 * i));
        let last = *gzi.last().expect("not empty");
        if entry.0 <= last.0 || entry.1 < last.1 {
            return Err(bad(&format!(
                "entry {} is not after the one before it",
                i + 1
            )));
        }
        gzi.push(entry);
    }
    Ok(gzi)
}

/// Builds a `.fai` from a stream of FASTA text, as `samtools faidx` would.
struct FaiBuilder<'a> {
    path: &'a Path,
    contigs: Vec<FaiEntry>,
    names: HashMap<Box<str>, ()>,
    /// Bytes and lines seen so far.
    offset: u64,
    line: u64,
    /// The record being read: its entry, and whether a line shorter than
    /// the first has been seen (only the last may be).
    current: Option<FaiEntry>,
    short_seen: bool,
}

impl<'a> FaiBuilder<'a> {
    fn new(path: &'a Path) -> Self {
        FaiBuilder {
            path,
            contigs: Vec::new(),
            names: HashMap::new(),
            offset: 0,
            line: 0,
            current: None,
            short_seen: false,
        }
    }

    fn bad(&self, message: String) -> FastaError {
        FastaError::BadFasta {
            path: self.path.to_path_buf(),
            line: self.line,
            message,
        }
    }

    /// Adds one line, `raw` with its terminator (if any).
    fn line(&mut self, raw: &[u8]) -> Result<(), FastaError> {
        self.line += 1;
        let start = self.offset;
        self.offset += raw.len() as u64;
        let content = raw.strip_suffix(b"\n").unwrap_or(raw);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if let Some(header) = content.strip_prefix(b">") {
            self.finish_record();
            let name_end = header
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(header.len());
            let name = std::str::from_utf8(&header[..name_end])
                .map_err(|_| self.bad("the sequence name is not valid UTF-8".into()))?;
            if name.is_empty() {
                return Err(self.bad("a '>' header line without a sequence name".into()));
            }
            if self.names.insert(name.into(), ()).is_some() {
                return Err(self.bad(format!("sequence name {name:?} appears twice")));
            }
            self.current = Some(FaiEntry {
                name: name.into(),
                len: 0,
                offset: self.offset,
                line_bases: 0,
                line_width: 0,
            });
            self.short_seen = false;
            return Ok(());
        }
        let Some(current) = self.current.as_mut() else {
            if content.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            return Err(
                self.bad("sequence before the first '>' header line: not a FASTA file".into())
            );
        };
        if let Some(bad) = content
            .iter()
            .position(|b| !b.is_ascii_alphabetic() && *b != b'*' && *b != b'-')
        {
            let byte = content[bad];
            return Err(self.bad(format!(
                "byte {:?} in column {} is not a base",
                char::from(byte),
                bad + 1
            )));
        }
        let bases = content.len() as u64;
        if current.line_bases == 0 && current.len == 0 {
            if bases == 0 {
                // Blank lines before the sequence: move its start on.
                current.offset = self.offset;
                return Ok(());
            }
            current.line_bases = bases;
            current.line_width = raw.len() as u64;
            current.offset = start;
        } else if self.short_seen {
            if bases > 0 {
                let name = current.name.to_string();
                return Err(self.bad(format!(
                    "different line length in sequence {name}: only the last line of a sequence may be shorter"
                )));
            }
            return Ok(());
        } else if bases > current.line_bases || raw.len() as u64 > current.line_width {
            let name = current.name.to_string();
            return Err(self.bad(format!("different line length in sequence {name}")));
        } else if bases < current.line_bases || (raw.len() as u64) < current.line_width {
            // The last line of the sequence (or one without its terminator).
            self.short_seen = true;
        }
        current.len += bases;
        Ok(())
    }

    fn finish_record(&mut self) {
        if let Some(mut entry) = self.current.take() {
            if entry.line_bases == 0 {
                entry.line_bases = 1;
                entry.line_width = 1;
            }
            self.contigs.push(entry);
        }
    }

    fn finish(mut self) -> Vec<FaiEntry> {
        self.finish_record();
        self.contigs
    }
}

/// Builds the `.fai` of a plain FASTA in one pass.
fn index_plain(path: &Path, mut input: impl BufRead) -> Result<Vec<FaiEntry>, FastaError> {
    let mut builder = FaiBuilder::new(path);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let got = input
            .read_until(b'\n', &mut line)
            .map_err(|source| FastaError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if got == 0 {
            break;
        }
        builder.line(&line)?;
    }
    Ok(builder.finish())
}

/// Block starts as (compressed, uncompressed) offsets, and maybe a `.fai`.
type Scanned = (Vec<(u64, u64)>, Option<Vec<FaiEntry>>);

/// Reads a BGZF file once from the start: its block offsets, and its
/// `.fai` too when `need_fai` (inflating every block).
fn scan_bgzf(path: &Path, file: &mut File, need_fai: bool) -> Result<Scanned, FastaError> {
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut gzi = vec![(0, 0)];
    let mut compressed_at = 0u64;
    let mut uncompressed_at = 0u64;
    let mut block = Vec::with_capacity(MAX_BLOCK);
    let mut data = Vec::with_capacity(MAX_BLOCK);
    let mut inflater = libdeflater::Decompressor::new();
    let mut builder = need_fai.then(|| FaiBuilder::new(path));
    let mut pending = Vec::new();
    let fail = |e: ReadError| match e {
        ReadError::Io(source) => FastaError::Io {
            path: path.to_path_buf(),
            source,
        },
        ReadError::Corrupt(message) => FastaError::BadCompression {
            path: path.to_path_buf(),
            message,
        },
        ReadError::Short => FastaError::BadCompression {
            path: path.to_path_buf(),
            message: "the file ends inside a BGZF block".into(),
        },
    };
    while let Some(size) = read_block(&mut input, &mut block).map_err(fail)? {
        let len = u64::from(u32::from_le_bytes(
            block[size - 4..size].try_into().expect("4 bytes"),
        ));
        if let Some(builder) = builder.as_mut() {
            inflate_block(&mut inflater, &block, &mut data)
                .map_err(|m| fail(ReadError::Corrupt(m)))?;
            // Feed whole lines; keep a line cut by the block end for later.
            let mut rest = &data[..];
            while let Some(end) = memchr::memchr(b'\n', rest) {
                if pending.is_empty() {
                    builder.line(&rest[..=end])?;
                } else {
                    pending.extend_from_slice(&rest[..=end]);
                    builder.line(&pending)?;
                    pending.clear();
                }
                rest = &rest[end + 1..];
            }
            pending.extend_from_slice(rest);
        }
        compressed_at += size as u64;
        uncompressed_at += len;
        if len > 0 {
            gzi.push((compressed_at, uncompressed_at));
        }
    }
    // The last pushed entry starts after the last data: harmless, but drop
    // it so the index ends at a real block.
    if gzi.len() > 1 && gzi.last().map(|e| e.1) == Some(uncompressed_at) {
        gzi.pop();
    }
    let fai = match builder {
        Some(mut builder) => {
            if !pending.is_empty() {
                builder.line(&pending)?;
            }
            Some(builder.finish())
        }
        None => None,
    };
    Ok((gzi, fai))
}

/// Reads a whole FASTA (plain gzip, or bytes given) into memory: its
/// contigs and their upper-case sequences.
fn read_into_memory(
    path: &Path,
    mut input: impl BufRead,
) -> Result<(Vec<FaiEntry>, Vec<Vec<u8>>), FastaError> {
    let mut contigs: Vec<FaiEntry> = Vec::new();
    let mut seqs: Vec<Vec<u8>> = Vec::new();
    let mut names = HashMap::new();
    let mut line = Vec::with_capacity(256);
    let mut number = 0u64;
    let bad = |line, message: String| FastaError::BadFasta {
        path: path.to_path_buf(),
        line,
        message,
    };
    loop {
        line.clear();
        let got = input.read_until(b'\n', &mut line).map_err(|e| {
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ) {
                FastaError::BadCompression {
                    path: path.to_path_buf(),
                    message: format!("corrupt or truncated gzip data: {e}"),
                }
            } else {
                FastaError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        if got == 0 {
            break;
        }
        number += 1;
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if let Some(header) = content.strip_prefix(b">") {
            let end = header
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(header.len());
            let name = std::str::from_utf8(&header[..end])
                .map_err(|_| bad(number, "the sequence name is not valid UTF-8".into()))?;
            if name.is_empty() {
                return Err(bad(
                    number,
                    "a '>' header line without a sequence name".into(),
                ));
            }
            if names.insert(name.to_string(), ()).is_some() {
                return Err(bad(number, format!("sequence name {name:?} appears twice")));
            }
            contigs.push(FaiEntry {
                name: name.into(),
                len: 0,
                offset: 0,
                line_bases: 1,
                line_width: 1,
            });
            seqs.push(Vec::new());
            continue;
        }
        let Some(seq) = seqs.last_mut() else {
            if content.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Err(bad(
                number,
                "sequence before the first '>' header line: not a FASTA file".into(),
            ));
        };
        if let Some(at) = content
            .iter()
            .position(|b| !b.is_ascii_alphabetic() && *b != b'*' && *b != b'-')
        {
            return Err(bad(
                number,
                format!(
                    "byte {:?} in column {} is not a base",
                    char::from(content[at]),
                    at + 1
                ),
            ));
        }
        let from = seq.len();
        seq.extend_from_slice(content);
        seq[from..].make_ascii_uppercase();
    }
    for (contig, seq) in contigs.iter_mut().zip(&mut seqs) {
        contig.len = seq.len() as u64;
        seq.shrink_to_fit();
    }
    Ok((contigs, seqs))
}

/// The complement of a base (IUPAC codes included, case kept); other bytes
/// are returned unchanged.
pub fn complement(base: u8) -> u8 {
    match base {
        b'A' => b'T',
        b'T' | b'U' => b'A',
        b'C' => b'G',
        b'G' => b'C',
        b'R' => b'Y',
        b'Y' => b'R',
        b'K' => b'M',
        b'M' => b'K',
        b'B' => b'V',
        b'V' => b'B',
        b'D' => b'H',
        b'H' => b'D',
        b'a' => b't',
        b't' | b'u' => b'a',
        b'c' => b'g',
        b'g' => b'c',
        b'r' => b'y',
        b'y' => b'r',
        b'k' => b'm',
        b'm' => b'k',
        b'b' => b'v',
        b'v' => b'b',
        b'd' => b'h',
        b'h' => b'd',
        other => other,
    }
}

/// Reverse-complements `seq` in place (see [`complement`]).
pub fn reverse_complement(seq: &mut [u8]) {
    seq.reverse();
    for base in seq {
        *base = complement(*base);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;
    use crate::bgzf::{BgzfEncoder, EOF_BLOCK};

    /// Deterministic mixed-case bases (with some N and IUPAC codes); the
    /// index module's tests use them too.
    pub(crate) fn bases(len: usize, seed: u32) -> Vec<u8> {
        let alphabet = b"ACGTacgtACGTNRY";
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                alphabet[(x % alphabet.len() as u32) as usize]
            })
            .collect()
    }

    /// Contigs of the test genome: (name, sequence, bases per line).
    fn genome() -> Vec<(&'static str, Vec<u8>, usize)> {
        vec![
            ("chr1", bases(1000, 1), 60),
            ("chrM", bases(250, 2), 7),
            ("2", bases(61, 3), 61),
            ("empty", Vec::new(), 60),
            ("chr10", bases(130, 4), 13),
        ]
    }

    /// The FASTA text and the `.fai` samtools would write for it.
    fn fasta_and_fai(contigs: &[(&str, Vec<u8>, usize)]) -> (Vec<u8>, String) {
        let mut fasta = Vec::new();
        let mut fai = String::new();
        for (name, seq, width) in contigs {
            fasta.extend_from_slice(format!(">{name} description\n").as_bytes());
            let offset = fasta.len();
            for line in seq.chunks(*width) {
                fasta.extend_from_slice(line);
                fasta.push(b'\n');
            }
            fai.push_str(&format!(
                "{name}\t{}\t{offset}\t{width}\t{}\n",
                seq.len(),
                width + 1
            ));
        }
        (fasta, fai)
    }

    /// Every window of a few lengths at many starts equals the sequence.
    fn check_all_fetches(reference: &Reference) {
        for (name, seq, _) in genome() {
            let upper = seq.to_ascii_uppercase();
            assert_eq!(reference.contig_len(name), Some(seq.len() as u64));
            for len in [0usize, 1, 2, 6, 7, 8, 59, 60, 61, 62, 121, 250] {
                if len > seq.len() {
                    continue;
                }
                for start in (0..=seq.len().saturating_sub(len)).step_by(3) {
                    let got = reference
                        .fetch(name, start as u64, (start + len) as u64)
                        .unwrap_or_else(|e| panic!("{name}:{start}+{len}: {e}"));
                    assert_eq!(got, &upper[start..start + len], "{name}:{start}+{len}");
                }
            }
            // The whole contig at once.
            assert_eq!(reference.fetch(name, 0, seq.len() as u64).unwrap(), upper);
        }
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// BGZF of `data` in blocks of `block` bytes, and its `.gzi`.
    fn bgzf_with_gzi(data: &[u8], block: usize) -> (Vec<u8>, Vec<u8>) {
        let mut out = Vec::new();
        let mut entries = Vec::new();
        let mut encoder = BgzfEncoder::new();
        for (i, chunk) in data.chunks(block).enumerate() {
            if i > 0 {
                entries.push((out.len() as u64, (i * block) as u64));
            }
            encoder.encode(chunk, &mut out);
        }
        out.extend_from_slice(&EOF_BLOCK);
        let mut gzi = (entries.len() as u64).to_le_bytes().to_vec();
        for (c, u) in entries {
            gzi.extend_from_slice(&c.to_le_bytes());
            gzi.extend_from_slice(&u.to_le_bytes());
        }
        (out, gzi)
    }

    #[test]
    fn plain_with_fai() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, fai) = fasta_and_fai(&genome());
        let path = write(dir.path(), "ref.fa", &fasta);
        write(dir.path(), "ref.fa.fai", fai.as_bytes());
        let reference = Reference::open(&path).unwrap();
        assert_eq!(reference.kind(), ReferenceKind::Plain);
        assert_eq!(
            reference
                .contigs()
                .map(|(n, l)| (n.to_string(), l))
                .collect::<Vec<_>>(),
            [
                ("chr1", 1000),
                ("chrM", 250),
                ("2", 61),
                ("empty", 0),
                ("chr10", 130)
            ]
            .map(|(n, l)| (n.to_string(), l))
        );
        check_all_fetches(&reference);
    }

    #[test]
    fn plain_without_fai_is_indexed_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, fai) = fasta_and_fai(&genome());
        let path = write(dir.path(), "ref.fa", &fasta);
        let reference = Reference::open(&path).unwrap();
        // The same index samtools writes, and nothing written to disk.
        assert_eq!(
            reference.shared.contigs,
            parse_fai(&path, fai.as_bytes()).unwrap()
        );
        assert_eq!(names_in(dir.path()), ["ref.fa"]);
        check_all_fetches(&reference);
        // CRLF line ends, and a last line without its terminator.
        let crlf: Vec<u8> = String::from_utf8(fasta.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        let path = write(dir.path(), "crlf.fa", &crlf[..crlf.len() - 2]);
        check_all_fetches(&Reference::open(&path).unwrap());
    }

    #[test]
    fn bgzf_with_fai_and_gzi() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, fai) = fasta_and_fai(&genome());
        // Small blocks, so that fetches cross many block boundaries and the
        // 8-entry cache evicts.
        let (bgzf, gzi) = bgzf_with_gzi(&fasta, 50);
        let path = write(dir.path(), "ref.fa.gz", &bgzf);
        write(dir.path(), "ref.fa.gz.fai", fai.as_bytes());
        write(dir.path(), "ref.fa.gz.gzi", &gzi);
        let reference = Reference::open(&path).unwrap();
        assert_eq!(reference.kind(), ReferenceKind::Bgzf);
        check_all_fetches(&reference);
        // Without the .gzi, or without both indexes: rebuilt in memory, the
        // same, nothing written.
        std::fs::remove_file(dir.path().join("ref.fa.gz.gzi")).unwrap();
        let rebuilt = Reference::open(&path).unwrap();
        match (&rebuilt.shared.storage, &reference.shared.storage) {
            (Storage::Bgzf(a), Storage::Bgzf(b)) => assert_eq!(a, b),
            _ => panic!("not BGZF"),
        }
        check_all_fetches(&rebuilt);
        std::fs::remove_file(dir.path().join("ref.fa.gz.fai")).unwrap();
        let rebuilt = Reference::open(&path).unwrap();
        assert_eq!(rebuilt.shared.contigs, reference.shared.contigs);
        check_all_fetches(&rebuilt);
        assert_eq!(names_in(dir.path()), ["ref.fa.gz"]);
    }

    #[test]
    fn plain_gzip_is_read_into_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, _) = fasta_and_fai(&genome());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&fasta).unwrap();
        let path = write(dir.path(), "ref.fa.gz", &gz.finish().unwrap());
        let reference = Reference::open(&path).unwrap();
        assert_eq!(reference.kind(), ReferenceKind::Gzip);
        check_all_fetches(&reference);
        // Corrupt data is reported as such.
        let mut bad = std::fs::read(&path).unwrap();
        let middle = bad.len() / 2;
        bad.truncate(middle);
        let path = write(dir.path(), "bad.fa.gz", &bad);
        let err = Reference::open(&path).unwrap_err();
        assert!(matches!(err, FastaError::BadCompression { .. }), "{err}");
    }

    #[test]
    fn fasta_bytes_are_read_into_memory() {
        let (fasta, _) = fasta_and_fai(&genome());
        let reference = Reference::from_fasta_bytes("embedded.fa", &fasta).unwrap();
        assert_eq!(reference.kind(), ReferenceKind::Memory);
        assert_eq!(reference.path(), Path::new("embedded.fa"));
        assert_eq!(
            reference.contigs().map(|(n, _)| n).collect::<Vec<_>>(),
            ["chr1", "chrM", "2", "empty", "chr10"]
        );
        check_all_fetches(&reference);
        // Clones share the sequences; names match in any style.
        let clone = reference.clone();
        check_all_fetches(&clone);
        assert_eq!(clone.contig_name("MT"), Some("chrM"));
        assert_eq!(
            clone.fetch("1", 0, 10).unwrap(),
            reference.fetch("chr1", 0, 10).unwrap()
        );

        // Gzip and BGZF bytes are inflated; still no index needed.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&fasta).unwrap();
        let gz = gz.finish().unwrap();
        let (bgzf, _) = bgzf_with_gzi(&fasta, 50);
        for bytes in [&gz, &bgzf] {
            let reference = Reference::from_fasta_bytes("embedded.fa.gz", bytes).unwrap();
            assert_eq!(reference.kind(), ReferenceKind::Memory);
            check_all_fetches(&reference);
        }

        // Lines of any length, CRLF, no final terminator, lower case.
        let reference =
            Reference::from_fasta_bytes("ragged", b">a x\r\nAC\r\ngtA\r\n\r\nT\n>b\nNN").unwrap();
        assert_eq!(reference.fetch("a", 0, 6).unwrap(), b"ACGTAT");
        assert_eq!(reference.fetch("b", 0, 2).unwrap(), b"NN");
        let err = reference.fetch("a", 0, 7).unwrap_err();
        assert!(
            matches!(err, FastaError::OutOfRange { len: 6, .. }),
            "{err}"
        );
        // No bytes: no contigs.
        let empty = Reference::from_fasta_bytes("empty", b"").unwrap();
        assert_eq!(empty.contigs().count(), 0);
    }

    #[test]
    fn bad_fasta_bytes_are_errors_naming_the_line() {
        for (text, line) in [
            (&b"ACGT\n"[..], 1),
            (b">a\nAC GT\n", 2),
            (b">a\nACGT\n>a\nACGT\n", 3),
            (b">\nACGT\n", 1),
        ] {
            let err = Reference::from_fasta_bytes("given.fa", text).unwrap_err();
            assert!(
                matches!(&err, FastaError::BadFasta { line: l, path, .. }
                    if *l == line && path == Path::new("given.fa")),
                "{:?}: {err}",
                String::from_utf8_lossy(text)
            );
            assert!(err.to_string().starts_with("reference given.fa: "), "{err}");
        }
        let (fasta, _) = fasta_and_fai(&genome());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&fasta).unwrap();
        let gz = gz.finish().unwrap();
        let err = Reference::from_fasta_bytes("cut.fa.gz", &gz[..gz.len() / 2]).unwrap_err();
        assert!(matches!(err, FastaError::BadCompression { .. }), "{err}");
    }

    #[test]
    fn contig_names_match_in_any_style() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, _) = fasta_and_fai(&genome());
        let reference = Reference::open(write(dir.path(), "ref.fa", &fasta)).unwrap();
        let chr1 = reference.fetch("chr1", 10, 20).unwrap();
        assert_eq!(reference.fetch("1", 10, 20).unwrap(), chr1);
        assert_eq!(reference.fetch("CHR1", 10, 20).unwrap(), chr1);
        for name in ["MT", "M", "chrM", "chrMT"] {
            assert_eq!(reference.contig_len(name), Some(250), "{name}");
            assert_eq!(reference.contig_name(name), Some("chrM"));
        }
        assert_eq!(reference.contig_len("chr2"), Some(61));
        assert_eq!(reference.contig_len("10"), Some(130));
        assert_eq!(reference.contig_len("chr3"), None);
        let err = reference.fetch("chr3", 0, 1).unwrap_err();
        assert!(
            matches!(&err, FastaError::UnknownContig { name } if name == "chr3"),
            "{err}"
        );
    }

    #[test]
    fn ranges_past_the_end_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, _) = fasta_and_fai(&genome());
        let reference = Reference::open(write(dir.path(), "ref.fa", &fasta)).unwrap();
        assert_eq!(reference.fetch("2", 60, 61).unwrap().len(), 1);
        assert_eq!(reference.fetch("2", 61, 61).unwrap(), b"");
        for (start, end) in [(60, 62), (61, 62), (10, 5)] {
            let err = reference.fetch("2", start, end).unwrap_err();
            assert!(
                matches!(err, FastaError::OutOfRange { len: 61, .. }),
                "{start}-{end}: {err}"
            );
        }
        assert!(reference.fetch("empty", 0, 1).is_err());
        assert_eq!(reference.fetch("empty", 0, 0).unwrap(), b"");
    }

    #[test]
    fn missing_and_bad_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let err = Reference::open(dir.path().join("absent.fa")).unwrap_err();
        assert!(matches!(err, FastaError::NotFound { .. }), "{err}");

        let (fasta, fai) = fasta_and_fai(&genome());
        let path = write(dir.path(), "ref.fa", &fasta);
        // A .fai line with a non-numeric offset: named by line and contig.
        let bad = fai.replacen("chrM\t250\t", "chrM\t250\tx", 1);
        write(dir.path(), "ref.fa.fai", bad.as_bytes());
        let err = Reference::open(&path).unwrap_err();
        assert!(matches!(err, FastaError::BadIndex { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("chrM"), "{err}");
        // Too few columns.
        write(dir.path(), "ref.fa.fai", b"chr1\t1000\t22\n");
        let err = Reference::open(&path).unwrap_err();
        assert!(matches!(err, FastaError::BadIndex { line: 1, .. }), "{err}");

        // A .fai whose line length contradicts the file: the fetch says so.
        let wrong = fai.replacen("\t60\t61", "\t50\t51", 1);
        write(dir.path(), "ref.fa.fai", wrong.as_bytes());
        let reference = Reference::open(&path).unwrap();
        assert!(reference.fetch("chr1", 0, 50).is_ok());
        let err = reference.fetch("chr1", 0, 100).unwrap_err();
        assert!(matches!(err, FastaError::Layout { .. }), "{err}");
        assert!(err.to_string().contains("chr1"), "{err}");
        // A .fai for a longer file: found at open.
        let longer = fai.replacen("chr10\t130", "chr10\t1300", 1);
        write(dir.path(), "ref.fa.fai", longer.as_bytes());
        let err = Reference::open(&path).unwrap_err();
        assert!(matches!(err, FastaError::Layout { .. }), "{err}");

        // A bad .gzi.
        let (bgzf, _) = bgzf_with_gzi(&fasta, 50);
        let gz = write(dir.path(), "ref.fa.gz", &bgzf);
        write(dir.path(), "ref.fa.gz.fai", fai.as_bytes());
        write(dir.path(), "ref.fa.gz.gzi", &[3, 0, 0, 0, 0, 0, 0, 0, 1]);
        let err = Reference::open(&gz).unwrap_err();
        assert!(matches!(err, FastaError::BadGzi { .. }), "{err}");
        assert!(err.to_string().contains("bgzip -r"), "{err}");
    }

    #[test]
    fn fasta_that_cannot_be_indexed() {
        let dir = tempfile::tempdir().unwrap();
        for (text, line) in [
            (&b">a\nACGT\nAC\nACGT\n"[..], 4),
            (b">a\nACGT\nACGTA\n", 3),
            (b"ACGT\n", 1),
            (b">a\nAC GT\n", 2),
            (b">a\nACGT\n>a\nACGT\n", 3),
        ] {
            let path = write(dir.path(), "bad.fa", text);
            let err = Reference::open(&path).unwrap_err();
            assert!(
                matches!(err, FastaError::BadFasta { line: l, .. } if l == line),
                "{:?}: {err}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn handles_share_the_index_and_threads_agree() {
        let dir = tempfile::tempdir().unwrap();
        let (fasta, fai) = fasta_and_fai(&genome());
        let (bgzf, gzi) = bgzf_with_gzi(&fasta, 64);
        let path = write(dir.path(), "ref.fa.gz", &bgzf);
        write(dir.path(), "ref.fa.gz.fai", fai.as_bytes());
        write(dir.path(), "ref.fa.gz.gzi", &gzi);
        let shared = Reference::open(&path).unwrap();
        let chr1 = genome()[0].1.to_ascii_uppercase();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let shared = &shared;
                let own = shared.clone();
                let chr1 = &chr1;
                scope.spawn(move || {
                    for i in 0..300 {
                        let start = (i * 37 + t * 101) % 900;
                        let reference = if i % 2 == 0 { shared } else { &own };
                        assert_eq!(
                            reference
                                .fetch("1", start as u64, start as u64 + 100)
                                .unwrap(),
                            chr1[start..start + 100]
                        );
                    }
                });
            }
        });
    }

    #[test]
    fn reverse_complements() {
        let mut seq = b"ACGTNRYKMacgtn".to_vec();
        reverse_complement(&mut seq);
        assert_eq!(seq, b"nacgtKMRYNACGT");
        let mut empty: Vec<u8> = Vec::new();
        reverse_complement(&mut empty);
        assert!(empty.is_empty());
    }
}
