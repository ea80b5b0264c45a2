//! BGZF compression (the blocked gzip that `bgzip` writes and tabix
//! indexes): a series of gzip members of at most 64 KiB each, ended by an
//! empty member. Every block is compressed on its own, so the blocks of
//! different chunks of output can be compressed on different threads and
//! concatenated in order.
//!
//! Reading: [`BlockReader`] decodes a BGZF stream block by block. Each
//! block declares its compressed and uncompressed sizes, so it is inflated
//! in one call into a buffer of exactly its size with libdeflate (faster
//! than a streaming inflater on these small, whole blocks), and its CRC
//! checked.

use std::io::{self, BufRead, Read};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The most uncompressed bytes put in one block (what `bgzip` uses), so that
/// even incompressible data fits the 64 KiB block limit.
pub(crate) const MAX_BLOCK_INPUT: usize = 0xff00;

/// The gzip header of a BGZF block up to its BSIZE field: magic, deflate,
/// FEXTRA, no mtime, no extra flags, unknown OS, XLEN 6, subfield `BC` of
/// length 2.
const HEADER: [u8; 16] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
];

/// The empty block that ends a BGZF file.
pub(crate) const EOF_BLOCK: [u8; 28] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
];

/// Compresses data into BGZF blocks, reusing its deflate state.
pub(crate) struct BgzfEncoder {
    deflate: Compress,
}

impl BgzfEncoder {
    /// An encoder at zlib's default level (what `bgzip` uses).
    pub(crate) fn new() -> Self {
        BgzfEncoder {
            deflate: Compress::new(Compression::default(), false),
        }
    }

    /// Appends `data` to `out` as complete BGZF blocks (none when `data` is
    /// empty). Does not write [`EOF_BLOCK`].
    pub(crate) fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for block in data.chunks(MAX_BLOCK_INPUT) {
            self.encode_block(block, out);
        }
    }

    fn encode_block(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&[0, 0]); // BSIZE, filled in below
                                        // Deflate never expands by more than a few bytes per 16 KiB.
        out.reserve(data.len() + 1024);
        self.deflate.reset();
        let status = self
            .deflate
            .compress_vec(data, out, FlushCompress::Finish)
            .expect("deflating into a large enough buffer cannot fail");
        assert_eq!(status, Status::StreamEnd, "deflate buffer too small");
        let mut crc = Crc::new();
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        let block_size = u16::try_from(out.len() - start - 1).expect("a BGZF block fits 64 KiB");
        out[start + 16..start + 18].copy_from_slice(&block_size.to_le_bytes());
    }
}

/// The fixed part of a gzip member header: magic, CM, FLG, MTIME, XFL,
/// OS, XLEN.
const FIXED_HEADER: usize = 12;
/// The largest uncompressed size of a BGZF block.
const MAX_BLOCK_OUTPUT: usize = 1 << 16;

/// Where the BSIZE subfield of a gzip member's header says the member ends:
/// its total size in bytes, or `None` when `header` (the member's first
/// bytes, at least through its extra field) is not a BGZF block header.
/// BGZF headers have FLG = FEXTRA only and a `BC` subfield of length 2.
pub(crate) fn block_size(header: &[u8]) -> Option<usize> {
    if header.len() < FIXED_HEADER || header[..4] != HEADER[..4] {
        return None;
    }
    let xlen = usize::from(u16::from_le_bytes([header[10], header[11]]));
    let mut extra = header.get(FIXED_HEADER..FIXED_HEADER + xlen)?;
    while extra.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let data = extra.get(4..4 + len)?;
        if extra[..2] == *b"BC" && len == 2 {
            return Some(usize::from(u16::from_le_bytes([data[0], data[1]])) + 1);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// Reads a BGZF stream as its decompressed bytes, one whole block at a
/// time. Every member must be a BGZF block (a plain gzip member after BGZF
/// blocks is reported as invalid data, as htslib does); empty blocks,
/// including the end-of-file block, are skipped.
pub(crate) struct BlockReader<R> {
    inner: R,
    inflater: libdeflater::Decompressor,
    /// The compressed block being decoded.
    compressed: Vec<u8>,
    /// The decoded bytes of the current block, and how many are consumed.
    decoded: Vec<u8>,
    at: usize,
}

impl<R: Read> BlockReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        BlockReader {
            inner,
            inflater: libdeflater::Decompressor::new(),
            compressed: Vec::with_capacity(MAX_BLOCK_OUTPUT),
            decoded: Vec::with_capacity(MAX_BLOCK_OUTPUT),
            at: 0,
        }
    }

    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Decodes the next block into `decoded`; `false` at the end of the
    /// stream.
    fn next_block(&mut self) -> io::Result<bool> {
        let mut header = [0u8; FIXED_HEADER];
        let read = read_full(&mut self.inner, &mut header)?;
        if read == 0 {
            return Ok(false);
        }
        if read < FIXED_HEADER {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if header[..4] != HEADER[..4] {
            return Err(invalid(NOT_BGZF));
        }
        let xlen = usize::from(u16::from_le_bytes([header[10], header[11]]));
        self.compressed.clear();
        self.compressed.extend_from_slice(&header);
        self.compressed.resize(FIXED_HEADER + xlen, 0);
        self.inner
            .read_exact(&mut self.compressed[FIXED_HEADER..])?;
        let size = block_size(&self.compressed).ok_or_else(|| invalid(NOT_BGZF))?;
        let body_start = FIXED_HEADER + xlen;
        // The deflate data and the 8-byte trailer must follow the header.
        if size < body_start + 8 {
            return Err(invalid("a BGZF block's size is smaller than its header"));
        }
        self.compressed.resize(size, 0);
        self.inner.read_exact(&mut self.compressed[body_start..])?;
        let trailer = &self.compressed[size - 8..];
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let length = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
        if length > MAX_BLOCK_OUTPUT {
            return Err(invalid("a BGZF block declares more than 64 KiB of data"));
        }
        self.decoded.resize(length, 0);
        let inflated = self
            .inflater
            .deflate_decompress(&self.compressed[body_start..size - 8], &mut self.decoded)
            .map_err(|e| invalid(&format!("a BGZF block does not inflate: {e}")))?;
        if inflated != length {
            return Err(invalid("a BGZF block is shorter than its declared size"));
        }
        if libdeflater::crc32(&self.decoded) != crc {
            return Err(invalid("a BGZF block fails its CRC check"));
        }
        self.at = 0;
        Ok(true)
    }
}

impl<R: Read> Read for BlockReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for BlockReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.decoded.len() {
            if !self.next_block()? {
                self.decoded.clear();
                self.at = 0;
                break;
            }
        }
        Ok(&self.decoded[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.decoded.len());
    }
}

const NOT_BGZF: &str = "a gzip member that is not a BGZF block follows BGZF blocks";

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// Reads until `buf` is full or the input ends; the bytes read.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_gzip() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i} {}\n", i * 7919 % 1000).into_bytes())
            .collect();
        let mut out = Vec::new();
        let mut encoder = BgzfEncoder::new();
        encoder.encode(&data[..10], &mut out);
        encoder.encode(&data[10..], &mut out);
        encoder.encode(&[], &mut out);
        out.extend_from_slice(&EOF_BLOCK);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        // Every block declares its size: walking BSIZE lands on the EOF block.
        let mut at = 0;
        let mut blocks = 0;
        while at < out.len() {
            assert_eq!(&out[at..at + 4], &HEADER[..4]);
            at += usize::from(u16::from_le_bytes([out[at + 16], out[at + 17]])) + 1;
            blocks += 1;
        }
        assert_eq!(at, out.len());
        assert!(blocks > 3);
    }

    fn bgzf(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        BgzfEncoder::new().encode(data, &mut out);
        out.extend_from_slice(&EOF_BLOCK);
        out
    }

    #[test]
    fn block_reader_decodes_what_the_encoder_wrote() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("chr1\t{i}\t.\tA\tG\n").into_bytes())
            .collect();
        let compressed = bgzf(&data);
        assert_eq!(
            block_size(&compressed),
            Some(usize::from(u16::from_le_bytes([compressed[16], compressed[17]])) + 1)
        );
        // Read through a reader that hands out a few bytes at a time.
        let mut back = Vec::new();
        let trickle = io::BufReader::with_capacity(7, &compressed[..]);
        BlockReader::new(trickle).read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        let mut empty = Vec::new();
        BlockReader::new(&EOF_BLOCK[..])
            .read_to_end(&mut empty)
            .unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn block_reader_rejects_damage() {
        let data = b"##fileformat=VCFv4.2\n".repeat(5000);
        let good = bgzf(&data);
        let kind = |bytes: &[u8]| {
            BlockReader::new(bytes)
                .read_to_end(&mut Vec::new())
                .unwrap_err()
                .kind()
        };
        // A flipped bit in the deflate data or the CRC.
        for at in [40, good.len() - 28 - 6] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            assert_eq!(kind(&bad), io::ErrorKind::InvalidData, "flip at {at}");
        }
        // Cut short inside a block.
        assert_eq!(kind(&good[..good.len() / 2]), io::ErrorKind::UnexpectedEof);
        assert_eq!(kind(&good[..5]), io::ErrorKind::UnexpectedEof);
        // A plain gzip member after BGZF blocks.
        let mut mixed = good[..good.len() - 28].to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        std::io::Write::write_all(&mut gz, b"x\n").unwrap();
        let plain = gz.finish().unwrap();
        assert_eq!(block_size(&plain), None);
        mixed.extend_from_slice(&plain);
        assert_eq!(kind(&mixed), io::ErrorKind::InvalidData);
    }
}
