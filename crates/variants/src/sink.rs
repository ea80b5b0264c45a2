//! Building a job's index while the annotator writes its results: the
//! same index [`crate::build_file`] reads back from the finished file,
//! but taking each record's CSQ entries by value from the annotator
//! instead of parsing the text it has just written (parsing that text
//! was nearly the whole cost of a build).

use std::path::Path;
use std::time::{Duration, Instant};

use gas_annotate::{OutputObserver, WrittenChunk};

use crate::build::{write_index, BuildError, BuildOptions, BuildSummary, Builder, WrittenCsq};
use crate::record::{InfoValues, Line};

/// Watches an annotation run ([`gas_annotate::annotate_file_observed`])
/// and writes the index of its output with [`IndexSink::finish`].
///
/// The index is byte for byte the one [`crate::build_file`] makes of the
/// same output. A run that fails leaves the sink incomplete: only a run
/// that returned `Ok` may be finished.
pub struct IndexSink<'o> {
    builder: Builder<'o>,
    /// Lines seen, for the number of a bad one.
    lines: u64,
    /// The output's length so far.
    end: u64,
    /// The first problem met; nothing more is read after it.
    failed: Option<BuildError>,
    /// Time spent taking records in.
    busy: Duration,
    /// The INFO keys the annotator notes for the sink.
    keys: Vec<String>,
}

impl<'o> IndexSink<'o> {
    pub fn new(options: &'o BuildOptions) -> Self {
        IndexSink {
            builder: Builder::new(options),
            lines: 0,
            end: 0,
            failed: None,
            busy: Duration::ZERO,
            keys: InfoValues::keys(options),
        }
    }

    /// The time spent so far taking the output in (on the annotator's
    /// writing thread).
    pub fn busy(&self) -> Duration {
        self.busy
    }

    /// Writes the index of what was observed to `output`, atomically;
    /// `results_len` is the annotated file's length, which must be what
    /// was observed.
    ///
    /// # Errors
    /// The first problem met while observing, a length that is not what
    /// was observed ([`BuildError::Incomplete`]), or writing.
    pub fn finish(mut self, output: &Path, results_len: u64) -> Result<BuildSummary, BuildError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if results_len != self.end {
            return Err(BuildError::Incomplete {
                observed: self.end,
                results: results_len,
            });
        }
        self.builder.set_results_len(self.end);
        write_index(self.builder, output)
    }

    fn chunk(&mut self, chunk: &WrittenChunk<'_>) -> Result<(), BuildError> {
        if chunk.offset != self.end {
            return Err(BuildError::Incomplete {
                observed: self.end,
                results: chunk.offset,
            });
        }
        let given = chunk.has_entries();
        for record in chunk.records() {
            self.lines += 1;
            let malformed = |reason| BuildError::Malformed {
                line: self.lines,
                reason,
            };
            let offset = chunk.offset + record.line_offset as u64;
            if !given {
                let line = Line::parse(record.line()).map_err(malformed)?;
                self.builder.text_record(&line, offset)?;
                continue;
            }
            // The columns as the annotator placed them: nothing to split.
            // Only what is read is sliced: the text past a line's first
            // columns is mostly not read at all (see `WrittenRecord::rest`).
            let rest = record.rest;
            let mut line = Line {
                chrom: record.chrom,
                pos: record.pos,
                id: record.id,
                reference: record.reference,
                alts: record.alts,
                info: "",
            };
            match record.csq.clone() {
                Some(csq) => {
                    let options = self.builder.options();
                    let info = InfoValues::noted(rest, record.items, &self.keys, options)
                        .map_err(malformed)?;
                    let value = WrittenCsq { rest, range: csq };
                    self.builder
                        .written_record(&line, &info, offset, record.entries, value)?;
                }
                None => {
                    line.info = &rest[record.info.clone()];
                    self.builder.text_record(&line, offset)?
                }
            }
        }
        self.end += chunk.text.len() as u64;
        Ok(())
    }
}

impl OutputObserver for IndexSink<'_> {
    fn info_keys(&self) -> Vec<String> {
        self.keys.clone()
    }

    fn header(&mut self, text: &str) {
        if self.failed.is_some() {
            return;
        }
        for line in text.lines() {
            self.lines += 1;
            self.builder.header_line(line);
        }
        self.end += text.len() as u64;
    }

    fn records(&mut self, chunk: &WrittenChunk<'_>) {
        if self.failed.is_none() {
            let started = Instant::now();
            if let Err(e) = self.chunk(chunk) {
                self.failed = Some(e);
            }
            self.busy += started.elapsed();
        }
    }
}
