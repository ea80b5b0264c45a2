//! Glacier's SHA-256 tree hash.
//!
//! The data is cut into 1 MiB leaves (the last may be shorter; empty data is
//! one empty leaf); each leaf is hashed with SHA-256; then adjacent hashes are
//! paired left to right, `SHA-256(left ‖ right)`, level by level, an odd last
//! hash moving up unpaired, until one hash remains.
//! See <https://docs.aws.amazon.com/amazonglacier/latest/dev/checksum-calculations.html>.
//!
//! [`TreeHasher`] computes it streaming, in O(log n) memory: it keeps one
//! node per level, like a binary counter, and folds them from the right at
//! the end (the unpaired nodes of the algorithm are always the rightmost).
//! [`combine`] joins the tree hashes of consecutive parts whose size is
//! 1 MiB × 2^n (all but the last full) into the whole archive's, which is
//! what a multipart upload's completion needs.

use sha2::{Digest, Sha256};

/// The leaf size: 1 MiB.
pub const LEAF_SIZE: usize = 1024 * 1024;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

fn pair(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Streaming tree hash: feed bytes with [`TreeHasher::update`], read the
/// result with [`TreeHasher::finish`].
#[derive(Clone)]
pub struct TreeHasher {
    leaf: Sha256,
    leaf_len: usize,
    /// Complete subtrees, strictly decreasing in height from bottom to top.
    stack: Vec<(u32, Hash)>,
    len: u64,
}

impl std::fmt::Debug for TreeHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeHasher")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Default for TreeHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeHasher {
    pub fn new() -> Self {
        Self {
            leaf: Sha256::new(),
            leaf_len: 0,
            stack: Vec::new(),
            len: 0,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        while !data.is_empty() {
            let take = (LEAF_SIZE - self.leaf_len).min(data.len());
            self.leaf.update(&data[..take]);
            self.leaf_len += take;
            data = &data[take..];
            if self.leaf_len == LEAF_SIZE {
                self.close_leaf();
            }
        }
    }

    fn close_leaf(&mut self) {
        let leaf: Hash = std::mem::take(&mut self.leaf).finalize().into();
        self.leaf_len = 0;
        self.push(0, leaf);
    }

    fn push(&mut self, mut height: u32, mut hash: Hash) {
        while let Some(&(top_height, top)) = self.stack.last() {
            if top_height != height {
                break;
            }
            self.stack.pop();
            hash = pair(&top, &hash);
            height += 1;
        }
        self.stack.push((height, hash));
    }

    /// The tree hash of everything fed so far.
    pub fn finish(mut self) -> Hash {
        if self.leaf_len > 0 || self.len == 0 {
            self.close_leaf();
        }
        let mut nodes = self.stack.into_iter().rev().map(|(_, h)| h);
        let last = nodes.next().unwrap_or_else(|| Sha256::digest([]).into());
        nodes.fold(last, |right, left| pair(&left, &right))
    }
}

/// The tree hash of `data`.
pub fn tree_hash(data: &[u8]) -> Hash {
    let mut h = TreeHasher::new();
    h.update(data);
    h.finish()
}

/// The tree hash of a whole archive from the tree hashes of its parts, in
/// order. Correct when every part but the last is 1 MiB × 2^n for one n (as
/// Glacier requires of multipart uploads): each part is then a complete
/// subtree of the whole tree. No parts at all is the empty archive.
pub fn combine(parts: &[Hash]) -> Hash {
    if parts.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level = parts.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| match c {
                [l, r] => pair(l, r),
                [one] => *one,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level[0]
}

/// Whether `part_size` is one Glacier accepts: 1 MiB × 2^n, up to 4 GiB.
pub fn valid_part_size(part_size: usize) -> bool {
    part_size >= LEAF_SIZE
        && part_size.is_power_of_two()
        && (part_size as u64) <= 4 * 1024 * 1024 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The algorithm as the documentation states it, over the whole buffer.
    fn reference(data: &[u8]) -> Hash {
        let mut level: Vec<Hash> = if data.is_empty() {
            vec![Sha256::digest([]).into()]
        } else {
            data.chunks(LEAF_SIZE)
                .map(|c| Sha256::digest(c).into())
                .collect()
        };
        while level.len() > 1 {
            let mut next = Vec::new();
            let mut i = 0;
            while i < level.len() {
                if i + 1 < level.len() {
                    let mut h = Sha256::new();
                    h.update(level[i]);
                    h.update(level[i + 1]);
                    next.push(h.finalize().into());
                } else {
                    next.push(level[i]);
                }
                i += 2;
            }
            level = next;
        }
        level[0]
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect()
    }

    const MIB: usize = LEAF_SIZE;

    #[test]
    fn small_inputs_are_their_sha256() {
        // Up to one leaf, the tree hash is the plain SHA-256.
        assert_eq!(
            hex::encode(tree_hash(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(tree_hash(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let one_mib = data(MIB);
        assert_eq!(tree_hash(&one_mib), <Hash>::from(Sha256::digest(&one_mib)));
    }

    #[test]
    fn two_leaves_are_the_hash_of_both_leaf_hashes() {
        let d = data(MIB + 1);
        let a: Hash = Sha256::digest(&d[..MIB]).into();
        let b: Hash = Sha256::digest(&d[MIB..]).into();
        let mut h = Sha256::new();
        h.update(a);
        h.update(b);
        assert_eq!(tree_hash(&d), <Hash>::from(h.finalize()));
    }

    #[test]
    fn matches_the_reference_at_the_edges() {
        for len in [
            0,
            1,
            MIB - 1,
            MIB,
            MIB + 1,
            2 * MIB,
            3 * MIB,
            3 * MIB + 17,
            4 * MIB,
            5 * MIB + 1,
            7 * MIB,
            9 * MIB - 3,
        ] {
            let d = data(len);
            assert_eq!(tree_hash(&d), reference(&d), "length {len}");
        }
    }

    #[test]
    fn streaming_in_odd_chunks_changes_nothing() {
        let d = data(6 * MIB + 12345);
        for chunk in [1usize << 10, 65_537, MIB, 3 * MIB + 5] {
            let mut h = TreeHasher::new();
            for c in d.chunks(chunk) {
                h.update(c);
            }
            assert_eq!(h.len(), d.len() as u64);
            assert_eq!(h.finish(), reference(&d), "chunks of {chunk}");
        }
    }

    #[test]
    fn combining_part_hashes_gives_the_whole_hash() {
        for (len, part) in [
            (0, MIB),
            (1, MIB),
            (MIB, MIB),
            (5 * MIB + 3, MIB),
            (5 * MIB + 3, 2 * MIB),
            (9 * MIB, 4 * MIB),
            (13 * MIB + 1, 4 * MIB),
            (3 * MIB, 8 * MIB),
        ] {
            let d = data(len);
            let parts: Vec<Hash> = if d.is_empty() {
                Vec::new()
            } else {
                d.chunks(part).map(tree_hash).collect()
            };
            assert_eq!(combine(&parts), reference(&d), "{len} bytes in {part}");
        }
    }

    #[test]
    fn part_sizes() {
        assert!(valid_part_size(MIB));
        assert!(valid_part_size(8 * MIB));
        assert!(valid_part_size(4096 * MIB));
        for bad in [0, MIB / 2, 3 * MIB, 8192 * MIB] {
            assert!(!valid_part_size(bad), "{bad}");
        }
    }
}
