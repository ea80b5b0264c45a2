//! Tree-hash speed beside its anchor, `openssl speed -evp sha256`, measured
//! in the same run.
//!
//! `cargo run --release -p gas-storage --example treehash_speed [MiB]`
//! hashes MiB (default 1024) of generated data with
//! [`gas_storage::treehash::TreeHasher`] (fed in 64 KiB chunks, as archive
//! bodies arrive) and with plain streaming SHA-256 of the same crate, then
//! runs openssl on 16 KiB blocks for 3 seconds.
//!
//! Each is measured twice: over a 256 KiB buffer fed again and again (in
//! the CPU's cache, as openssl's 16 KiB blocks are: the figure to compare
//! with openssl's) and over a 64 MiB one (read from memory, as an 8 MiB
//! part just received is). On some machines the second is much slower for
//! every SHA-256 implementation alike.

use std::process::Command;
use std::time::Instant;

use gas_storage::treehash::TreeHasher;
use sha2::{Digest, Sha256};

const CHUNK: usize = 64 * 1024;

fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let total = mib * 1024 * 1024;
    for (label, buffer) in [("in cache", 256 * 1024), ("from memory", 64 * 1024 * 1024)] {
        let (tree_secs, tree_hash, sha_secs) = measure(total, buffer);
        println!(
            "data: {mib} MiB, fed in {} KiB chunks from a {} KiB buffer ({label})",
            CHUNK / 1024,
            buffer / 1024
        );
        println!(
            "gas tree hash (1 MiB leaves), {label}: {:8.1} MB/s  ({tree_secs:.2} s, hash {}…)",
            mb_per_s(total, tree_secs),
            &tree_hash[..16]
        );
        println!(
            "sha2 crate, linear SHA-256, {label}:   {:8.1} MB/s  ({sha_secs:.2} s)",
            mb_per_s(total, sha_secs)
        );
    }

    let out = Command::new("openssl")
        .args([
            "speed", "-evp", "sha256", "-seconds", "3", "-bytes", "16384",
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            // The last line: "sha256   <k bytes per second>k" (1000 bytes).
            let figure = text
                .lines()
                .rev()
                .find(|l| l.to_ascii_lowercase().starts_with("sha256"))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|v| v.trim_end_matches('k').parse::<f64>().ok());
            match figure {
                Some(k) => println!(
                    "openssl speed -evp sha256 (16 KiB blocks): {:8.1} MB/s",
                    k * 1000.0 / 1e6
                ),
                None => println!("openssl speed output not understood:\n{text}"),
            }
        }
        Ok(out) => println!(
            "openssl speed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!("openssl not runnable: {e}"),
    }
}

/// Tree hash and linear SHA-256 of `total` bytes taken again and again from
/// a buffer of `buffer` varied bytes: seconds of each, and the tree hash.
fn measure(total: usize, buffer: usize) -> (f64, String, f64) {
    let block: Vec<u8> = (0..buffer)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let feed = |f: &mut dyn FnMut(&[u8])| {
        let mut left = total;
        while left > 0 {
            for chunk in block.chunks(CHUNK) {
                if left == 0 {
                    break;
                }
                let n = chunk.len().min(left);
                f(&chunk[..n]);
                left -= n;
            }
        }
    };
    let start = Instant::now();
    let mut tree = TreeHasher::new();
    feed(&mut |c| tree.update(c));
    let tree_hash = hex::encode(tree.finish());
    let tree_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut linear = Sha256::new();
    feed(&mut |c| linear.update(c));
    let _ = linear.finalize();
    (tree_secs, tree_hash, start.elapsed().as_secs_f64())
}
