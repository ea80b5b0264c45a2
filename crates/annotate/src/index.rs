//! Writing a reference genome in the form [`crate::Reference`] reads
//! fastest: BGZF with its samtools `.fai` and `.gzi` indexes.
//!
//! Genome providers publish FASTA as plain gzip, which has no random
//! access ([`crate::Reference::open`] would have to inflate all of it into
//! memory). [`bgzip_and_index`] recompresses such a file to BGZF and writes
//! both indexes in one streaming pass, in bounded memory, compressing on
//! several threads. What it writes is what `bgzip -i` and `samtools faidx`
//! would write for the same text: the same block boundaries (blocks of
//! 65280 uncompressed bytes), a byte-identical `.fai`, and a `.gzi` that
//! differs from theirs only where the compressed block sizes do.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread;

use crate::bgzf::{read_full, BgzfEncoder, EOF_BLOCK, MAX_BLOCK_INPUT};

/// Uncompressed bytes handed to a compression thread at a time: whole
/// blocks, so that the block boundaries are those of a sequential `bgzip`.
const CHUNK_BYTES: usize = 16 * MAX_BLOCK_INPUT;
/// The longest sequence name accepted (in bytes): far beyond any real one,
/// and it bounds what a header line can make us hold.
const MAX_NAME_BYTES: usize = 64 << 10;

/// Why [`bgzip_and_index`] failed. No output file is left behind.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading the input failed.
    #[error("reading the FASTA: {0}")]
    Read(io::Error),

    /// The input is gzip-compressed, and the compressed data is corrupt or
    /// truncated.
    #[error("the FASTA's gzip data is corrupt or truncated: {0}")]
    BadCompression(io::Error),

    /// The FASTA text cannot be indexed (what `samtools faidx` would also
    /// refuse, or an empty input). `line` is 1-based, in the decompressed
    /// text.
    #[error("FASTA line {line}: {message}")]
    BadFasta {
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// Writing or renaming an output file failed.
    #[error("{path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

/// What [`bgzip_and_index`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFasta {
    /// The BGZF file.
    pub path: PathBuf,
    /// Its `.fai` (`path` with `.fai` appended).
    pub fai: PathBuf,
    /// Its `.gzi` (`path` with `.gzi` appended).
    pub gzi: PathBuf,
    /// Sequences in the `.fai` (empty ones are left out, as samtools does).
    pub contigs: usize,
    /// Bases in all of them.
    pub bases: u64,
    /// Bytes of FASTA text (decompressed).
    pub text_bytes: u64,
    /// Bytes of the BGZF file.
    pub bgzf_bytes: u64,
}

/// Writes the FASTA text read from `input` (plain, or gzip-compressed in
/// one or more members, BGZF included: recognised by its first bytes) to
/// `out` as BGZF, with `out.fai` and `out.gzi` beside it, as `bgzip -i`
/// then `samtools faidx` would.
///
/// `threads` compress blocks in parallel (0: one per core). Memory stays
/// bounded (about 4 MiB per thread) whatever the input's size.
///
/// The three files are written under temporary names (`.tmp` appended) and
/// renamed into place only when all are complete, the BGZF last; on error
/// the temporaries are removed and existing files at the final paths are
/// left as they were. The text must be a FASTA file `samtools faidx` can
/// index: sequence lines of one record all the same length but the last;
/// names (up to the first whitespace of a `>` line) unique.
///
/// # Errors
/// [`IndexError::BadFasta`] naming the offending line,
/// [`IndexError::BadCompression`], [`IndexError::Read`],
/// [`IndexError::Write`].
pub fn bgzip_and_index(
    input: impl Read,
    out: &Path,
    threads: usize,
) -> Result<IndexedFasta, IndexError> {
    let final_paths = [
        out.to_path_buf(),
        with_suffix(out, ".fai"),
        with_suffix(out, ".gzi"),
    ];
    let temps = final_paths.clone().map(|p| with_suffix(&p, ".tmp"));
    let written = write_all(input, &temps, threads);
    let renamed = written.and_then(|summary| {
        // Indexes first: a BGZF file at its final path always has its
        // indexes beside it (possibly older ones if renaming fails midway,
        // which `Reference::open` detects as a layout mismatch).
        for i in [1, 2, 0] {
            fs::rename(&temps[i], &final_paths[i]).map_err(|source| IndexError::Write {
                path: final_paths[i].clone(),
                source,
            })?;
        }
        Ok(summary)
    });
    if renamed.is_err() {
        for temp in &temps {
            let _ = fs::remove_file(temp);
        }
    }
    let [path, fai, gzi] = final_paths;
    renamed.map(|s| IndexedFasta {
        path,
        fai,
        gzi,
        contigs: s.contigs,
        bases: s.bases,
        text_bytes: s.text_bytes,
        bgzf_bytes: s.bgzf_bytes,
    })
}

struct Summary {
    contigs: usize,
    bases: u64,
    text_bytes: u64,
    bgzf_bytes: u64,
}

/// A chunk compressed: its BGZF blocks, and each block's compressed and
/// uncompressed size.
struct Compressed {
    bytes: Vec<u8>,
    blocks: Vec<(u64, u64)>,
}

fn write_all(
    input: impl Read,
    temps: &[PathBuf; 3],
    threads: usize,
) -> Result<Summary, IndexError> {
    let threads = match threads {
        0 => thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut input = BufReader::with_capacity(1 << 20, input);
    let gzip = {
        let head = input.fill_buf().map_err(IndexError::Read)?;
        head.starts_with(&[0x1f, 0x8b])
    };
    let mut text: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    };
    let create = |path: &PathBuf| {
        File::create(path)
            .map(|f| BufWriter::with_capacity(1 << 20, f))
            .map_err(|source| IndexError::Write {
                path: path.clone(),
                source,
            })
    };
    let data = create(&temps[0])?;
    let mut fai = FaiBuilder::default();

    // Jobs go to whichever thread is free; each job's result comes back on
    // its own channel, and the writer takes those channels in input order,
    // so blocks are written in order. The bounded channels bound the
    // chunks in flight.
    let (jobs, job_queue) = mpsc::sync_channel::<(Vec<u8>, SyncSender<Compressed>)>(threads);
    let job_queue = Mutex::new(job_queue);
    let (gzi, bgzf_bytes) = thread::scope(|scope| -> Result<(Vec<(u64, u64)>, u64), IndexError> {
        for _ in 0..threads {
            let job_queue = &job_queue;
            scope.spawn(move || {
                let mut encoder = BgzfEncoder::new();
                loop {
                    let job = job_queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((chunk, reply)) = job else { break };
                    // The writer is gone (it failed): nothing to do.
                    let _ = reply.send(compress(&mut encoder, &chunk));
                }
            });
        }
        let (order, in_order) = mpsc::sync_channel::<Receiver<Compressed>>(2 * threads);
        let writer = scope.spawn(move || write_blocks(data, in_order, &temps[0]));

        let read = (|| {
            loop {
                let mut chunk = vec![0; CHUNK_BYTES];
                let got = read_full(&mut text, &mut chunk).map_err(|e| {
                    if matches!(
                        e.kind(),
                        io::ErrorKind::InvalidData
                            | io::ErrorKind::InvalidInput
                            | io::ErrorKind::UnexpectedEof
                    ) && gzip
                    {
                        IndexError::BadCompression(e)
                    } else {
                        IndexError::Read(e)
                    }
                })?;
                if got == 0 {
                    return Ok(());
                }
                chunk.truncate(got);
                fai.feed(&chunk)?;
                let (reply, result) = mpsc::sync_channel(1);
                if jobs.send((chunk, reply)).is_err() || order.send(result).is_err() {
                    // The writer stopped early; its error says why.
                    return Ok(());
                }
            }
        })();
        drop(jobs);
        drop(order);
        let written = writer.join().unwrap_or_else(|_| {
            Err(IndexError::Write {
                path: temps[0].clone(),
                source: io::Error::other("the writing thread panicked"),
            })
        });
        read?;
        written
    })?;

    let fai = fai.finish()?;
    let mut index = Vec::new();
    for c in &fai.contigs {
        index.extend_from_slice(
            format!(
                "{}\t{}\t{}\t{}\t{}\n",
                c.name, c.len, c.offset, c.line_bases, c.line_width
            )
            .as_bytes(),
        );
    }
    write_synced(&temps[1], &index)?;
    // The `.gzi`: every block's start but the first's, as
    // (compressed, uncompressed) offsets.
    let mut blocks = Vec::with_capacity(8 + 16 * gzi.len());
    blocks.extend_from_slice(&(gzi.len() as u64).to_le_bytes());
    for (c, u) in &gzi {
        blocks.extend_from_slice(&c.to_le_bytes());
        blocks.extend_from_slice(&u.to_le_bytes());
    }
    write_synced(&temps[2], &blocks)?;

    Ok(Summary {
        contigs: fai.contigs.len(),
        bases: fai.contigs.iter().map(|c| c.len).sum(),
        text_bytes: fai.offset,
        bgzf_bytes,
    })
}

/// Writes `bytes` to `path` and makes sure they are on disk (the file is
/// renamed into place next).
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    File::create(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|source| IndexError::Write {
            path: path.to_path_buf(),
            source,
        })
}

fn compress(encoder: &mut BgzfEncoder, chunk: &[u8]) -> Compressed {
    let mut bytes = Vec::with_capacity(chunk.len() / 2);
    let mut blocks = Vec::with_capacity(chunk.len().div_ceil(MAX_BLOCK_INPUT));
    for block in chunk.chunks(MAX_BLOCK_INPUT) {
        let before = bytes.len();
        encoder.encode(block, &mut bytes);
        blocks.push(((bytes.len() - before) as u64, block.len() as u64));
    }
    Compressed { bytes, blocks }
}

/// Writes the compressed chunks in order, then the end-of-file block; the
/// `.gzi` entries and the file's size.
fn write_blocks(
    mut out: BufWriter<File>,
    in_order: Receiver<Receiver<Compressed>>,
    path: &Path,
) -> Result<(Vec<(u64, u64)>, u64), IndexError> {
    let fail = |source| IndexError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut gzi = Vec::new();
    let (mut compressed, mut uncompressed) = (0u64, 0u64);
    for result in in_order {
        let chunk = result
            .recv()
            .map_err(|_| fail(io::Error::other("a compression thread panicked")))?;
        out.write_all(&chunk.bytes).map_err(fail)?;
        for (c, u) in chunk.blocks {
            if compressed > 0 {
                gzi.push((compressed, uncompressed));
            }
            compressed += c;
            uncompressed += u;
        }
    }
    out.write_all(&EOF_BLOCK).map_err(fail)?;
    let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
    // The file is renamed into place next: make sure its data is on disk
    // first, so a crash cannot leave a complete-looking, empty file.
    file.sync_all().map_err(fail)?;
    Ok((gzi, compressed + EOF_BLOCK.len() as u64))
}

/// One `.fai` line.
#[derive(Debug)]
struct FaiLine {
    name: String,
    len: u64,
    offset: u64,
    line_bases: u64,
    line_width: u64,
}

/// What the line being read is.
#[derive(Debug, Default)]
enum Line {
    /// Nothing of it seen yet.
    #[default]
    Empty,
    /// A `>` line; its name so far, and whether whitespace ended it.
    Header { name: Vec<u8>, done: bool },
    /// A sequence (or blank) line: its bases so far, and the column of a
    /// `\r` seen (allowed only just before the `\n`).
    Sequence { bases: u64, cr: Option<u64> },
}

/// Builds a `.fai` from FASTA text fed in pieces of any size (lines may be
/// split anywhere), holding no more than one sequence name: the rules of
/// `samtools faidx` (and of the crate's own in-memory indexer), except
/// that sequences with no bases are left out of the index as samtools
/// leaves them out.
#[derive(Debug, Default)]
struct FaiBuilder {
    contigs: Vec<FaiLine>,
    names: HashSet<String>,
    /// Bytes fed so far.
    offset: u64,
    /// The current line: its 1-based number (0 before any), where it
    /// starts, its bytes so far (without `\n`), and what it is.
    line: u64,
    line_start: u64,
    line_len: u64,
    kind: Line,
    /// The record being read, and whether a line shorter than its first
    /// has been seen (only the last may be).
    current: Option<FaiLine>,
    short_seen: bool,
}

impl FaiBuilder {
    fn bad(&self, message: String) -> IndexError {
        IndexError::BadFasta {
            line: self.line.max(1),
            message,
        }
    }

    fn feed(&mut self, mut text: &[u8]) -> Result<(), IndexError> {
        while !text.is_empty() {
            match memchr::memchr(b'\n', text) {
                Some(end) => {
                    self.part(&text[..end])?;
                    self.offset += end as u64 + 1;
                    self.end_line(1)?;
                    text = &text[end + 1..];
                }
                None => {
                    self.part(text)?;
                    self.offset += text.len() as u64;
                    text = &[];
                }
            }
        }
        Ok(())
    }

    /// Takes bytes of the current line (no `\n` among them).
    fn part(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if matches!(self.kind, Line::Empty) {
            self.line += 1;
            self.kind = if bytes[0] == b'>' {
                Line::Header {
                    name: Vec::new(),
                    done: false,
                }
            } else {
                Line::Sequence { bases: 0, cr: None }
            };
        }
        let column = self.line_len;
        self.line_len += bytes.len() as u64;
        match &mut self.kind {
            Line::Empty => unreachable!("set above"),
            Line::Header { name, done } => {
                if *done {
                    return Ok(());
                }
                let bytes = if column == 0 { &bytes[1..] } else { bytes };
                let end = bytes.iter().position(u8::is_ascii_whitespace);
                name.extend_from_slice(&bytes[..end.unwrap_or(bytes.len())]);
                *done = end.is_some();
                if name.len() > MAX_NAME_BYTES {
                    return Err(self.bad(format!(
                        "a sequence name longer than {MAX_NAME_BYTES} bytes"
                    )));
                }
            }
            Line::Sequence { bases, cr } => {
                if self.current.is_none() {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        return Ok(());
                    }
                    return Err(self.bad(
                        "sequence before the first '>' header line: not a FASTA file".into(),
                    ));
                }
                let mut at = 0;
                while at < bytes.len() {
                    if let Some(cr_column) = *cr {
                        // A `\r` followed by more than the `\n`.
                        return Err(self.bad(format!(
                            "byte '\\r' in column {} is not a base",
                            cr_column + 1
                        )));
                    }
                    let rest = &bytes[at..];
                    match rest.iter().position(|&b| !is_base(b)) {
                        None => {
                            *bases += rest.len() as u64;
                            at = bytes.len();
                        }
                        Some(i) => {
                            *bases += i as u64;
                            let byte = rest[i];
                            let byte_column = column + (at + i) as u64;
                            if byte != b'\r' {
                                return Err(self.bad(format!(
                                    "byte {:?} in column {} is not a base",
                                    char::from(byte),
                                    byte_column + 1
                                )));
                            }
                            *cr = Some(byte_column);
                            at += i + 1;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the current line; `terminator` is 1 for a `\n`, 0 at the end of
    /// the text.
    fn end_line(&mut self, terminator: u64) -> Result<(), IndexError> {
        let kind = std::mem::take(&mut self.kind);
        if matches!(kind, Line::Empty) {
            self.line += 1;
        }
        let start = self.line_start;
        let raw = self.line_len + terminator;
        self.line_start += raw;
        self.line_len = 0;
        match kind {
            Line::Header { name, .. } => {
                self.finish_record();
                let name = String::from_utf8(name)
                    .map_err(|_| self.bad("the sequence name is not valid UTF-8".into()))?;
                if name.is_empty() {
                    return Err(self.bad("a '>' header line without a sequence name".into()));
                }
                if !self.names.insert(name.clone()) {
                    return Err(self.bad(format!("sequence name {name:?} appears twice")));
                }
                self.current = Some(FaiLine {
                    name,
                    len: 0,
                    offset: self.line_start,
                    line_bases: 0,
                    line_width: 0,
                });
                self.short_seen = false;
            }
            Line::Empty | Line::Sequence { .. } => {
                let bases = match kind {
                    Line::Sequence { bases, .. } => bases,
                    _ => 0,
                };
                let after = self.line_start;
                let Some(current) = self.current.as_mut() else {
                    // Whitespace before the first header (checked in `part`).
                    return Ok(());
                };
                if current.line_bases == 0 && current.len == 0 {
                    if bases == 0 {
                        // Blank lines before the sequence: move its start on.
                        current.offset = after;
                        return Ok(());
                    }
                    current.line_bases = bases;
                    current.line_width = raw;
                    current.offset = start;
                } else if self.short_seen {
                    if bases > 0 {
                        let name = current.name.clone();
                        return Err(self.bad(format!(
                            "different line length in sequence {name}: only the last line of a sequence may be shorter"
                        )));
                    }
                    return Ok(());
                } else if bases > current.line_bases || raw > current.line_width {
                    let name = current.name.clone();
                    return Err(self.bad(format!("different line length in sequence {name}")));
                } else if bases < current.line_bases || raw < current.line_width {
                    // The last line of the sequence (or one without its
                    // terminator).
                    self.short_seen = true;
                }
                current.len += bases;
            }
        }
        Ok(())
    }

    fn finish_record(&mut self) {
        if let Some(entry) = self.current.take() {
            // samtools leaves sequences without bases out of its index.
            if entry.len > 0 {
                self.contigs.push(entry);
            }
        }
    }

    /// Ends the text (a last line without `\n` included).
    fn finish(mut self) -> Result<Self, IndexError> {
        if !matches!(self.kind, Line::Empty) {
            self.end_line(0)?;
        }
        if self.names.is_empty() {
            return Err(IndexError::BadFasta {
                line: self.line.max(1),
                message: "no '>' header line: not a FASTA file".into(),
            });
        }
        self.finish_record();
        Ok(self)
    }
}

/// What a sequence line may hold: letters (IUPAC codes, any case), `*`
/// and `-`, as `samtools faidx` accepts.
fn is_base(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'*' || b == b'-'
}

/// `path` with `suffix` appended to its file name (`x.fa` -> `x.fa.fai`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::Command;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;
    use crate::fasta::tests::bases;
    use crate::Reference;

    /// FASTA text of `contigs` (name, sequence, bases per line), with
    /// `eol` ending each line.
    fn fasta(contigs: &[(&str, &[u8], usize)], eol: &str) -> Vec<u8> {
        let mut text = Vec::new();
        for (name, seq, width) in contigs {
            text.extend_from_slice(format!(">{name} some description{eol}").as_bytes());
            for line in seq.chunks(*width) {
                text.extend_from_slice(line);
                text.extend_from_slice(eol.as_bytes());
            }
        }
        text
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn fai_of(text: &[u8]) -> Result<String, IndexError> {
        let mut builder = FaiBuilder::default();
        builder.feed(text)?;
        let builder = builder.finish()?;
        Ok(builder
            .contigs
            .iter()
            .map(|c| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    c.name, c.len, c.offset, c.line_bases, c.line_width
                )
            })
            .collect())
    }

    fn samtools() -> bool {
        let found = Command::new("samtools")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("NOTICE: samtools not found (apt-get install samtools); skipping its checks");
        }
        found
    }

    #[test]
    fn recompresses_and_indexes_what_reference_reads() {
        let big = bases(300_000, 1);
        let small = bases(1000, 2);
        let odd = bases(61, 3);
        let text = fasta(
            &[("chr1", &big, 60), ("chrM", &small, 7), ("2", &odd, 61)],
            "\n",
        );
        let dir = tempfile::tempdir().unwrap();
        for (threads, input) in [(1, text.clone()), (3, gzip(&text))] {
            let out = dir.path().join(format!("ref{threads}.fa.bgz"));
            let done = bgzip_and_index(&input[..], &out, threads).unwrap();
            assert_eq!(done.contigs, 3);
            assert_eq!(done.bases, 301_061);
            assert_eq!(done.text_bytes, text.len() as u64);
            assert_eq!(done.bgzf_bytes, fs::metadata(&out).unwrap().len());
            assert_eq!(
                fs::read_to_string(&done.fai).unwrap(),
                fai_of(&text).unwrap()
            );
            // Nothing but the three files.
            let reference = Reference::open(&out).unwrap();
            assert_eq!(reference.kind(), crate::fasta::ReferenceKind::Bgzf);
            for (name, seq) in [("chr1", &big), ("chrM", &small), ("2", &odd)] {
                let upper = seq.to_ascii_uppercase();
                assert_eq!(reference.fetch(name, 0, seq.len() as u64).unwrap(), upper);
                for start in (0..seq.len()).step_by(9973) {
                    let end = (start + 200).min(seq.len());
                    assert_eq!(
                        reference.fetch(name, start as u64, end as u64).unwrap(),
                        &upper[start..end]
                    );
                }
            }
            let mut back = Vec::new();
            flate2::read::MultiGzDecoder::new(File::open(&out).unwrap())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, text);
        }
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "ref1.fa.bgz",
                "ref1.fa.bgz.fai",
                "ref1.fa.bgz.gzi",
                "ref3.fa.bgz",
                "ref3.fa.bgz.fai",
                "ref3.fa.bgz.gzi"
            ]
        );
    }

    /// The `.fai` of text fed in pieces of every size is the one of the
    /// text fed whole, for layouts with the edge cases samtools handles.
    #[test]
    fn fai_does_not_depend_on_how_the_text_is_split() {
        let texts: Vec<Vec<u8>> = vec![
            fasta(&[("a", &bases(100, 1), 60), ("b", &bases(7, 2), 3)], "\n"),
            fasta(&[("a", &bases(100, 1), 60), ("b", &bases(7, 2), 3)], "\r\n"),
            b"\n\n>x\nACGT\nAC".to_vec(),
            b">empty\n>x desc\n\nACGT\nAC\n\n\n>y\nA\r".to_vec(),
        ];
        for text in &texts {
            let whole = fai_of(text).unwrap();
            for size in 1..8 {
                let mut builder = FaiBuilder::default();
                for piece in text.chunks(size) {
                    builder.feed(piece).unwrap();
                }
                let builder = builder.finish().unwrap();
                let split: String = builder
                    .contigs
                    .iter()
                    .map(|c| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}\n",
                            c.name, c.len, c.offset, c.line_bases, c.line_width
                        )
                    })
                    .collect();
                assert_eq!(
                    split,
                    whole,
                    "{:?} in pieces of {size}",
                    String::from_utf8_lossy(text)
                );
            }
        }
        assert_eq!(fai_of(b"\n\n>x\nACGT\nAC").unwrap(), "x\t6\t5\t4\t5\n");
        assert_eq!(
            fai_of(b">empty\n>x desc\n\nACGT\nAC\n\n\n>y\nA\r").unwrap(),
            "x\t6\t16\t4\t5\ny\t1\t29\t1\t2\n"
        );
    }

    #[test]
    fn rejects_what_cannot_be_indexed_and_leaves_nothing() {
        let cases: [(&[u8], u64, &str); 8] = [
            (b"", 1, "not a FASTA file"),
            (b"ACGT\n>a\nACGT\n", 1, "before the first '>'"),
            (b">a\nACGT\nACGTA\n", 3, "different line length"),
            (b">a\nACGT\nAC\nACGT\n", 4, "only the last line"),
            (b">a\nAC GT\n", 2, "byte ' ' in column 3"),
            (b">a\nAC\rGT\n", 2, "byte '\\r' in column 3"),
            (b">a\nACGT\n>a\nACGT\n", 3, "appears twice"),
            (b">\nACGT\n", 1, "without a sequence name"),
        ];
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bad.fa.bgz");
        for (text, line, message) in cases {
            match bgzip_and_index(text, &out, 2) {
                Err(IndexError::BadFasta {
                    line: l,
                    message: m,
                }) => {
                    assert_eq!(l, line, "{m}");
                    assert!(m.contains(message), "{m}");
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
            }
            assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        }
        // Truncated gzip.
        let gz = gzip(&fasta(&[("a", &bases(100_000, 4), 60)], "\n"));
        let err = bgzip_and_index(&gz[..gz.len() / 2], &out, 2).unwrap_err();
        assert!(matches!(err, IndexError::BadCompression(_)), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// What samtools makes of the same text: the same `.fai`, a `.gzi` of
    /// the same blocks, and the same bases from ours.
    #[test]
    fn samtools_agrees() {
        if !samtools() {
            return;
        }
        let text = fasta(
            &[
                ("1", &bases(200_000, 5), 60),
                ("MT", &bases(16_569, 6), 70),
                ("GL000192.1", &bases(547, 7), 60),
            ],
            "\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.fa.bgz");
        bgzip_and_index(&gzip(&text)[..], &ours, 4).unwrap();
        // samtools indexing our BGZF from scratch writes the same indexes.
        let theirs = dir.path().join("theirs.fa.bgz");
        fs::copy(&ours, &theirs).unwrap();
        let status = Command::new("samtools")
            .arg("faidx")
            .arg(&theirs)
            .status()
            .unwrap();
        assert!(status.success());
        for suffix in [".fai", ".gzi"] {
            assert_eq!(
                fs::read(with_suffix(&ours, suffix)).unwrap(),
                fs::read(with_suffix(&theirs, suffix)).unwrap(),
                "{suffix}"
            );
        }
        // samtools reading through our indexes.
        let output = Command::new("samtools")
            .arg("faidx")
            .arg(&ours)
            .args(["1:199001-199100", "MT:16500-16569"])
            .output()
            .unwrap();
        assert!(output.status.success());
        let got: String = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('>'))
            .collect();
        let one = bases(200_000, 5).to_ascii_uppercase();
        let mt = bases(16_569, 6).to_ascii_uppercase();
        let want = [&one[199_000..199_100], &mt[16_499..]].concat();
        assert_eq!(got.to_ascii_uppercase().as_bytes(), want);
    }
}
