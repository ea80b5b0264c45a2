//! Splitting the data lines into chunks and annotating them in parallel,
//! with the results delivered in input order.
//!
//! The calling thread reads (and decompresses) chunks of whole lines and
//! writes results; worker threads annotate. Chunk `i` goes to worker
//! `i % workers`, and results are taken back from the workers in the same
//! rotation, so output order is input order. At most two chunks per worker
//! are in flight, which bounds memory whatever the input size.

use std::io::{self, BufRead};
use std::sync::mpsc;

use crate::body::{Annotated, Body, ChunkAnnotator};
use crate::error::AnnotateError;
use crate::input::Input;

/// Input bytes per chunk (a chunk is extended to the end of its last line).
const CHUNK_BYTES: usize = 512 << 10;
/// Input bytes per chunk when consequences are annotated: their output is
/// about ten times the input (a CSQ entry per transcript within 5 kb), so
/// smaller chunks keep the chunks in flight, and the memory, small.
pub(crate) const CONSEQUENCE_CHUNK_BYTES: usize = 32 << 10;
/// Chunks in flight per worker.
const IN_FLIGHT_PER_WORKER: usize = 2;

/// Reads the input in chunks of whole lines.
pub(crate) struct Chunker<R> {
    input: Input<R>,
    max_line_bytes: usize,
    chunk_bytes: usize,
    done: bool,
}

impl<R: BufRead> Chunker<R> {
    pub(crate) fn new(input: Input<R>, max_line_bytes: usize) -> Self {
        Chunker {
            input,
            max_line_bytes,
            chunk_bytes: CHUNK_BYTES,
            done: false,
        }
    }

    /// Chunks of about `bytes` of input instead of the default 512 KiB.
    pub(crate) fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// Raw input bytes consumed so far.
    pub(crate) fn raw_bytes(&self) -> u64 {
        self.input.raw_bytes()
    }

    /// Fills `buf` (cleared first) with about [`CHUNK_BYTES`] of whole lines;
    /// returns `false` when the input is exhausted. A line longer than the
    /// cap is cut just past it and ends the input, so that annotating the
    /// chunk reports it.
    fn next(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        while !self.done && buf.len() < self.chunk_bytes {
            let available = fill(&mut self.input)?;
            if available.is_empty() {
                self.done = true;
                break;
            }
            let n = available.len().min(self.chunk_bytes - buf.len());
            buf.extend_from_slice(&available[..n]);
            self.input.consume(n);
        }
        if !self.done && buf.last() != Some(&b'\n') {
            let line_start = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
            loop {
                let available = fill(&mut self.input)?;
                if available.is_empty() {
                    self.done = true;
                    break;
                }
                let (n, complete) = match memchr::memchr(b'\n', available) {
                    Some(end) => (end + 1, true),
                    None => (available.len(), false),
                };
                buf.extend_from_slice(&available[..n]);
                self.input.consume(n);
                if complete {
                    break;
                }
                if buf.len() - line_start > self.max_line_bytes {
                    self.done = true;
                    break;
                }
            }
        }
        Ok(!buf.is_empty())
    }
}

fn fill<R: BufRead>(input: &mut R) -> io::Result<&[u8]> {
    loop {
        match input.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    input.fill_buf()
}

/// Annotates every chunk of `chunker` with `workers` threads (in the calling
/// thread when `workers` is 1 or the input is a single chunk), handing each
/// result, with the raw input bytes read so far, to `deliver` in input
/// order. Stops at the first error of `deliver` or of reading.
pub(crate) fn run<R: BufRead>(
    chunker: &mut Chunker<R>,
    body: &Body<'_>,
    workers: usize,
    deliver: &mut dyn FnMut(&mut Annotated, u64) -> Result<(), AnnotateError>,
) -> Result<(), AnnotateError> {
    let mut input = Vec::with_capacity(chunker.chunk_bytes);
    if !chunker.next(&mut input)? {
        return Ok(());
    }
    if workers <= 1 || chunker.done {
        let mut annotator = ChunkAnnotator::new(body);
        let mut output = Vec::new();
        loop {
            let mut annotated = annotator.annotate(&input, output);
            deliver(&mut annotated, chunker.raw_bytes())?;
            annotator.give_back(&mut annotated);
            output = annotated.output;
            if !chunker.next(&mut input)? {
                return Ok(());
            }
        }
    }
    std::thread::scope(|scope| {
        let mut jobs = Vec::with_capacity(workers);
        let mut results = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_tx, job_rx) = mpsc::channel::<Job>();
            let (result_tx, result_rx) = mpsc::channel::<Done>();
            scope.spawn(move || {
                let mut annotator = ChunkAnnotator::new(body);
                for mut job in job_rx {
                    annotator.give_back(&mut job.spent);
                    let annotated = annotator.annotate(&job.input, job.spent.output);
                    let done = Done {
                        annotated,
                        input: job.input,
                    };
                    if result_tx.send(done).is_err() {
                        break;
                    }
                }
            });
            jobs.push(job_tx);
            results.push(result_rx);
        }
        let limit = workers * IN_FLIGHT_PER_WORKER;
        let mut free = Vec::with_capacity(limit);
        let (mut sent, mut received) = (0, 0);
        let mut next = Some(input);
        loop {
            if sent - received == limit || (next.is_none() && received < sent) {
                let mut done = results[received % workers]
                    .recv()
                    .expect("an annotation worker stopped");
                received += 1;
                deliver(&mut done.annotated, chunker.raw_bytes())?;
                free.push(Job {
                    input: done.input,
                    spent: done.annotated,
                });
                continue;
            }
            let Some(input) = next.take() else {
                return Ok(());
            };
            // One delivered job's buffers serve again whole: its output
            // buffers go with this chunk, its input buffer takes the next.
            // (Taking them from two jobs would drop the other half of each.)
            let (spent, mut buffer) = free
                .pop()
                .map_or_else(Default::default, |job| (job.spent, job.input));
            jobs[sent % workers]
                .send(Job { input, spent })
                .expect("an annotation worker stopped");
            sent += 1;
            if chunker.next(&mut buffer)? {
                next = Some(buffer);
            }
        }
    })
}

/// A chunk for a worker, with the buffers of a delivered result to
/// reuse for its output.
struct Job {
    input: Vec<u8>,
    spent: Annotated,
}

/// A worker's result, with the input buffer for reuse.
struct Done {
    annotated: Annotated,
    input: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &[u8], max_line_bytes: usize) -> Vec<Vec<u8>> {
        let reader = io::BufReader::with_capacity(1000, text);
        let mut chunker = Chunker::new(Input::new(reader, None).unwrap(), max_line_bytes);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while chunker.next(&mut buf).unwrap() {
            out.push(buf.clone());
        }
        out
    }

    #[test]
    fn chunks_end_at_line_ends() {
        let line = b"chr1\t100\t.\tA\tG\t.\t.\t.\n";
        let text: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 50_000)
            .collect();
        let parts = chunks(&text, 1000);
        assert!(parts.len() > 2);
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
        assert_eq!(parts.concat(), text);
        // Without a final newline the last chunk keeps the partial line.
        assert_eq!(chunks(b"a\nb", 10).concat(), b"a\nb");
        assert!(chunks(b"", 10).is_empty());
    }

    #[test]
    fn an_overlong_line_ends_the_input() {
        let mut text = vec![b'x'; CHUNK_BYTES + 5000];
        text.extend_from_slice(b"\nnext\n");
        let parts = chunks(&text, 100);
        assert_eq!(parts.len(), 1);
        assert!(parts[0].len() > CHUNK_BYTES + 100 && parts[0].len() <= CHUNK_BYTES + 1000);
    }
}
