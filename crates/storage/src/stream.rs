//! Bodies as streams of chunks, so that no store holds a whole file.

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};

/// A body passed between stores without holding it in memory.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A stream of one in-memory buffer (small bodies and tests).
pub fn bytes_stream(bytes: impl Into<Bytes>) -> ByteStream {
    let bytes = bytes.into();
    Box::pin(futures::stream::once(async move { Ok(bytes) }))
}

/// Streams an open file in 64 KiB chunks.
pub fn file_stream(file: tokio::fs::File) -> ByteStream {
    Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024))
}

/// Reads a whole stream into memory. Only for bodies known to be small.
pub async fn collect(stream: ByteStream) -> io::Result<Vec<u8>> {
    stream
        .try_fold(Vec::new(), |mut acc, chunk| async move {
            acc.extend_from_slice(&chunk);
            Ok(acc)
        })
        .await
}

/// Adapts a stream into `AsyncRead`, e.g. to copy it into a file.
pub fn into_async_read(stream: ByteStream) -> impl tokio::io::AsyncRead + Send + Unpin {
    tokio_util::io::StreamReader::new(stream.map(|r| r))
}
