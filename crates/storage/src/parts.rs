//! Cutting a body stream into fixed-size parts and uploading them with a
//! bounded number in flight: the shared core of the S3 and Glacier
//! multipart uploads.
//!
//! Memory: each part's bytes are held once, from the moment it is cut until
//! its upload finishes; at most `concurrency` parts are in flight while the
//! next one is read, so a body costs about `part_size × (concurrency + 1)`
//! whatever its length. The buffer of a part whose upload has finished is
//! handed back to the reader and filled again, rather than freed and a new
//! one allocated: glibc's allocator raises its mmap threshold each time a
//! large block is freed and then keeps freed blocks in per-thread arenas, so
//! allocating a fresh buffer per part made the process's peak memory grow
//! with the length of the body (measured in docs/BENCHMARKS.md).

use std::future::Future;
use std::io;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::task::JoinSet;

use crate::ByteStream;

/// Reads a body as parts of exactly `part_size` bytes (the last may be
/// shorter; an empty body has no parts).
pub(crate) struct PartReader {
    stream: ByteStream,
    part_size: usize,
    /// The rest of a chunk that ran past the previous part.
    pending: Bytes,
    eof: bool,
    /// Buffers of uploaded parts, empty and ready to be filled again.
    spare: Vec<BytesMut>,
}

impl PartReader {
    pub(crate) fn new(stream: ByteStream, part_size: usize) -> Self {
        Self {
            stream,
            part_size: part_size.max(1),
            pending: Bytes::new(),
            eof: false,
            spare: Vec::new(),
        }
    }

    /// Takes back the bytes of a part whose upload has finished, to fill
    /// them again if nothing else still holds them (otherwise they are
    /// simply dropped).
    pub(crate) fn recycle(&mut self, part: Bytes) {
        if let Ok(mut buf) = part.try_into_mut() {
            if buf.capacity() >= self.part_size {
                buf.clear();
                self.spare.push(buf);
            }
        }
    }

    pub(crate) fn part_size(&self) -> usize {
        self.part_size
    }

    /// The next part, or `None` once the body is exhausted.
    pub(crate) async fn next_part(&mut self) -> io::Result<Option<Bytes>> {
        if self.pending.len() >= self.part_size {
            return Ok(Some(self.pending.split_to(self.part_size)));
        }
        let mut buf = self
            .spare
            .pop()
            .unwrap_or_else(|| BytesMut::with_capacity(self.part_size));
        buf.extend_from_slice(&std::mem::take(&mut self.pending));
        while buf.len() < self.part_size && !self.eof {
            match self.stream.next().await {
                Some(Ok(chunk)) => {
                    let need = self.part_size - buf.len();
                    if chunk.len() <= need {
                        buf.extend_from_slice(&chunk);
                    } else {
                        buf.extend_from_slice(&chunk[..need]);
                        self.pending = chunk.slice(need..);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => self.eof = true,
            }
        }
        if buf.is_empty() {
            // The body ended: the buffer stays spare, like the others.
            self.spare.push(buf);
            return Ok(None);
        }
        Ok(Some(buf.freeze()))
    }
}

/// One part to upload.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// 0-based position.
    pub(crate) index: usize,
    /// Offset of its first byte in the body.
    pub(crate) offset: u64,
    pub(crate) bytes: Bytes,
}

#[derive(Debug)]
pub(crate) enum PartsError<E> {
    /// Reading the body failed.
    Body(io::Error),
    /// Uploading a part failed.
    Upload(E),
    /// An upload task panicked or was cancelled.
    Task(tokio::task::JoinError),
}

/// What [`upload_parts`] returns: each part's result, in part order, and the
/// body's total size.
#[derive(Debug)]
pub(crate) struct Uploaded<T> {
    pub(crate) results: Vec<T>,
    pub(crate) size: u64,
}

/// Uploads `first` (parts already read, in order) and then the rest of
/// `reader`, with at most `concurrency` uploads in flight, each a task of its
/// own (so that per-part hashing runs in parallel too). Stops at the first
/// failure; the remaining uploads are cancelled.
pub(crate) async fn upload_parts<T, E, F, Fut>(
    reader: &mut PartReader,
    first: Vec<Bytes>,
    concurrency: usize,
    mut upload: F,
) -> Result<Uploaded<T>, PartsError<E>>
where
    F: FnMut(Part) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let concurrency = concurrency.max(1);
    // Each task hands back its part's bytes (a second handle on them, the
    // only one left once the upload is done) for the reader to reuse.
    let mut tasks: JoinSet<(usize, Result<T, E>, Bytes)> = JoinSet::new();
    let mut results: Vec<Option<T>> = Vec::new();
    let mut first = first.into_iter();
    let mut offset = 0u64;
    let mut index = 0usize;

    let record = |results: &mut Vec<Option<T>>, reader: &mut PartReader, joined| match joined {
        Ok((i, Ok(value), bytes)) => {
            results[i] = Some(value);
            reader.recycle(bytes);
            Ok(())
        }
        Ok((_, Err(e), _)) => Err(PartsError::Upload(e)),
        Err(e) => Err(PartsError::Task(e)),
    };

    loop {
        // Reap finished uploads without waiting, to fail early.
        while let Some(joined) = tasks.try_join_next() {
            record(&mut results, reader, joined)?;
        }
        while tasks.len() >= concurrency {
            if let Some(joined) = tasks.join_next().await {
                record(&mut results, reader, joined)?;
            }
        }
        let bytes = match first.next() {
            Some(bytes) => bytes,
            None => match reader.next_part().await.map_err(PartsError::Body)? {
                Some(bytes) => bytes,
                None => break,
            },
        };
        let len = bytes.len() as u64;
        let kept = bytes.clone();
        let part = Part {
            index,
            offset,
            bytes,
        };
        results.push(None);
        let fut = upload(part);
        let i = index;
        tasks.spawn(async move { (i, fut.await, kept) });
        offset += len;
        index += 1;
    }
    while let Some(joined) = tasks.join_next().await {
        record(&mut results, reader, joined)?;
    }
    let results = results
        .into_iter()
        .map(|r| r.ok_or_else(|| PartsError::Body(io::Error::other("a part upload was lost"))))
        .collect::<Result<Vec<T>, _>>()?;
    Ok(Uploaded {
        results,
        size: offset,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn chunked(data: Vec<u8>, chunk: usize) -> ByteStream {
        let chunks: Vec<io::Result<Bytes>> = data
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Box::pin(futures::stream::iter(chunks))
    }

    #[tokio::test]
    async fn parts_have_the_part_size_whatever_the_chunks() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        for chunk in [1, 7, 1000, 1024, 4096, 10_000] {
            let mut reader = PartReader::new(chunked(data.clone(), chunk), 1024);
            let mut parts = Vec::new();
            while let Some(p) = reader.next_part().await.unwrap() {
                parts.push(p);
            }
            assert_eq!(parts.len(), 10, "chunks of {chunk}");
            assert!(parts[..9].iter().all(|p| p.len() == 1024));
            assert_eq!(parts[9].len(), 10_000 - 9 * 1024);
            assert_eq!(parts.concat(), data);
        }
        let mut empty = PartReader::new(Box::pin(futures::stream::empty()), 1024);
        assert!(empty.next_part().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn at_most_concurrency_uploads_in_flight() {
        let data = vec![7u8; 20 * 100];
        let mut reader = PartReader::new(chunked(data, 33), 100);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = upload_parts(&mut reader, Vec::new(), 3, |part| {
            let in_flight = in_flight.clone();
            let peak = peak.clone();
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later parts finish first: results must still come back in order.
                tokio::time::sleep(Duration::from_millis(30 - part.index as u64)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ()>((part.index, part.offset, part.bytes.len()))
            }
        })
        .await
        .unwrap();
        assert_eq!(out.size, 2000);
        assert_eq!(out.results.len(), 20);
        for (i, (index, offset, len)) in out.results.iter().enumerate() {
            assert_eq!((*index, *offset, *len), (i, i as u64 * 100, 100));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3, "concurrency bound");
    }

    #[tokio::test]
    async fn finished_parts_buffers_are_filled_again() {
        let data: Vec<u8> = (0..40 * 100u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut reader = PartReader::new(chunked(data.clone(), 33), 100);
        let buffers = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let seen = buffers.clone();
        let out = upload_parts(&mut reader, Vec::new(), 2, move |part| {
            seen.lock().unwrap().insert(part.bytes.as_ptr() as usize);
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, ()>(part.bytes.to_vec())
            }
        })
        .await
        .unwrap();
        // Reuse must not mix up contents: every part is still its own slice.
        assert_eq!(out.results.concat(), data);
        // Two in flight and one being filled: three buffers for 40 parts,
        // all handed back once the last upload is done. (Addresses alone
        // prove little: the allocator may hand a freed buffer out again.)
        let distinct = buffers.lock().unwrap().len();
        assert!(distinct <= 3, "{distinct} buffers allocated for 40 parts");
        assert_eq!(reader.spare.len(), distinct, "every buffer comes back");
    }

    #[tokio::test]
    async fn a_failing_part_stops_the_upload() {
        let mut reader = PartReader::new(chunked(vec![1u8; 1000], 100), 100);
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let r = upload_parts(&mut reader, Vec::new(), 2, move |part| {
            s.fetch_add(1, Ordering::SeqCst);
            async move {
                if part.index == 2 {
                    Err("boom")
                } else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok(())
                }
            }
        })
        .await;
        assert!(matches!(r, Err(PartsError::Upload("boom"))));
        assert!(
            started.load(Ordering::SeqCst) < 10,
            "kept going after a failure"
        );
    }

    #[tokio::test]
    async fn a_failing_body_is_a_body_error() {
        let chunks: Vec<io::Result<Bytes>> = vec![
            Ok(Bytes::from(vec![0u8; 250])),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone")),
        ];
        let mut reader = PartReader::new(Box::pin(futures::stream::iter(chunks)), 100);
        let r = upload_parts(&mut reader, Vec::new(), 2, |_| async { Ok::<_, ()>(()) }).await;
        assert!(matches!(r, Err(PartsError::Body(_))));
    }
}
