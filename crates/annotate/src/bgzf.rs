//! BGZF compression (the blocked gzip that `bgzip` writes and tabix
//! indexes): a series of gzip members of at most 64 KiB each, ended by an
//! empty member. Every block is compressed on its own, so the blocks of
//! different chunks of output can be compressed on different threads and
//! concatenated in order.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The most uncompressed bytes put in one block (what `bgzip` uses), so that
/// even incompressible data fits the 64 KiB block limit.
const MAX_BLOCK_INPUT: usize = 0xff00;

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

#[cfg(test)]
mod tests {
    use std::io::Read;

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
}
