//! The input stream: plain or gzip-compressed (BGZF included), with a count
//! of the raw bytes consumed for progress reports and, for compressed
//! input, a bound on the bytes it decompresses to.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

use crate::bgzf::{block_size, BlockReader};

/// Decompressed bytes buffered between the gzip decoder and the annotator.
const DECODED_BUFFER_BYTES: usize = 256 << 10;

/// A [`BufRead`] that counts the bytes consumed from it.
pub(crate) struct Counted<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

/// A [`BufRead`] that hands out at most `limit` bytes of its source and
/// fails, once they are all consumed, if the source has more: what bounds
/// the text compressed input inflates to. The decoders under it fill
/// buffers of a fixed size, so a bomb costs memory only for those, and
/// time only up to the bound.
pub(crate) struct Bounded<R> {
    inner: R,
    /// Bytes consumed so far.
    produced: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    fn new(inner: R, limit: Option<u64>) -> Self {
        Bounded {
            inner,
            produced: 0,
            limit: limit.unwrap_or(u64::MAX),
        }
    }
}

/// The error [`Bounded`] fails with: the source has more than `limit` bytes.
#[derive(Debug)]
pub(crate) struct InflateLimit(pub(crate) u64);

impl std::fmt::Display for InflateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the input decompresses to more than {} bytes", self.0)
    }
}

impl std::error::Error for InflateLimit {}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let (room, limit) = (self.limit - self.produced, self.limit);
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            return Ok(available);
        }
        if room == 0 {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                InflateLimit(limit),
            ));
        }
        let n = usize::try_from(room).map_or(available.len(), |room| room.min(available.len()));
        Ok(&available[..n])
    }

    fn consume(&mut self, amount: usize) {
        self.produced += amount as u64;
        self.inner.consume(amount);
    }
}

impl<R: BufRead> Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The input as text: read as it is, or decompressed when it starts with
/// the gzip magic byte (a VCF starts with `#`, so the two cannot be
/// confused). Gzip input may have many members; BGZF (what `bgzip` writes,
/// the usual form of a compressed VCF) is decoded block by block, faster.
/// Compressed input is [`Bounded`] by [`crate::Options::max_inflated_bytes`].
pub(crate) enum Input<R> {
    Plain(Counted<R>),
    Gzip(Box<Bounded<BufReader<MultiGzDecoder<Counted<R>>>>>),
    Bgzf(Box<Bounded<BlockReader<Counted<R>>>>),
}

impl<R: BufRead> Input<R> {
    /// Wraps `inner`, looking at its first byte to tell gzip from text;
    /// compressed input may decompress to at most `max_inflated` bytes.
    ///
    /// # Errors
    /// Reading the first byte failed.
    pub(crate) fn new(mut inner: R, max_inflated: Option<u64>) -> io::Result<Self> {
        let (gzip, bgzf) = loop {
            match inner.fill_buf() {
                Ok(bytes) => break (bytes.first() == Some(&0x1f), block_size(bytes).is_some()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let counted = Counted { inner, consumed: 0 };
        Ok(if bgzf {
            Input::Bgzf(Box::new(Bounded::new(
                BlockReader::new(counted),
                max_inflated,
            )))
        } else if gzip {
            Input::Gzip(Box::new(Bounded::new(
                BufReader::with_capacity(DECODED_BUFFER_BYTES, MultiGzDecoder::new(counted)),
                max_inflated,
            )))
        } else {
            Input::Plain(counted)
        })
    }

    /// Bytes consumed from the underlying stream (compressed bytes for gzip
    /// input): what progress is measured in.
    pub(crate) fn raw_bytes(&self) -> u64 {
        match self {
            Input::Plain(counted) => counted.consumed,
            Input::Gzip(decoder) => decoder.inner.get_ref().get_ref().consumed,
            Input::Bgzf(decoder) => decoder.inner.get_ref().consumed,
        }
    }
}

/// Wraps an error of the gzip decoder that means the compressed data is
/// corrupt or truncated (rather than that reading failed), so that it can be
/// reported as a problem of the input.
#[derive(Debug)]
pub(crate) struct CorruptInput(io::Error);

impl std::fmt::Display for CorruptInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "corrupt or truncated gzip input: {}", self.0)
    }
}

impl std::error::Error for CorruptInput {}

fn mark_corrupt(e: io::Error) -> io::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<InflateLimit>()) {
        return e;
    }
    match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            io::Error::new(e.kind(), CorruptInput(e))
        }
        _ => e,
    }
}

impl<R: BufRead> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Gzip(r) => r.read(buf).map_err(mark_corrupt),
            Input::Bgzf(r) => r.read(buf).map_err(mark_corrupt),
        }
    }
}

impl<R: BufRead> BufRead for Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::Plain(r) => r.fill_buf(),
            Input::Gzip(r) => r.fill_buf().map_err(mark_corrupt),
            Input::Bgzf(r) => r.fill_buf().map_err(mark_corrupt),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Input::Plain(r) => r.consume(amount),
            Input::Gzip(r) => r.consume(amount),
            Input::Bgzf(r) => r.consume(amount),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<u8>, u64) {
        let mut input = Input::new(bytes, None).unwrap();
        let mut out = Vec::new();
        input.read_to_end(&mut out).unwrap();
        (out, input.raw_bytes())
    }

    #[test]
    fn plain_and_gzip() {
        let text = b"##fileformat=VCFv4.2\nabc\n";
        assert_eq!(read_all(text), (text.to_vec(), text.len() as u64));
        // Two gzip members, as BGZF writes them.
        let mut gz = Vec::new();
        for part in [&text[..5], &text[5..]] {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
            encoder.write_all(part).unwrap();
            gz.extend(encoder.finish().unwrap());
        }
        assert_eq!(read_all(&gz), (text.to_vec(), gz.len() as u64));
        assert_eq!(read_all(b""), (Vec::new(), 0));
        // A corrupt gzip stream is an error, not garbage text.
        let mut input = Input::new(&[0x1f, 0x8b, 0, 1, 2][..], None).unwrap();
        let err = input.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(
            err.get_ref().is_some_and(|e| e.is::<CorruptInput>()),
            "{err:?}"
        );
    }

    #[test]
    fn bgzf_is_read_block_by_block() {
        let text = b"##fileformat=VCFv4.2\nchr1\t1\t.\tA\tG\t.\t.\t.\n".repeat(3000);
        let mut bgzf = Vec::new();
        crate::bgzf::BgzfEncoder::new().encode(&text, &mut bgzf);
        bgzf.extend_from_slice(&crate::bgzf::EOF_BLOCK);
        assert!(matches!(
            Input::new(&bgzf[..], None).unwrap(),
            Input::Bgzf(_)
        ));
        assert_eq!(read_all(&bgzf), (text.clone(), bgzf.len() as u64));
        // Damage is reported as corrupt input, as for other gzip.
        let mut bad = bgzf.clone();
        bad[30] ^= 0xff;
        let err = Input::new(&bad[..], None)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(
            err.get_ref().is_some_and(|e| e.is::<CorruptInput>()),
            "{err:?}"
        );
    }
}
