//! The GAS VCF annotator.
//!
//! [`annotate`] streams a VCF from a [`std::io::BufRead`] to a
//! [`std::io::Write`], one line at a time, in bounded memory, and returns
//! [`Stats`] about what it saw ([`Stats::render_log`] turns them into the
//! job log). [`annotate_file`] does the same between two files.
//!
//! # Input
//! VCF versions 3.3 and 4.0 to 4.4, declared by a first line
//! `##fileformat=VCFv<x>.<y>`; then `##` meta lines, the tab-separated
//! `#CHROM` column header, and data lines of at least 8 tab-separated columns.
//! Lines end in `\n` or `\r\n`; blank lines are skipped. Each data line is
//! checked: CHROM non-empty, POS a positive integer, REF a sequence of
//! `A C G T N` (any case), each ALT allele bases, `*`, `.`, a symbolic
//! `<ID>` or a breakend. The first problem stops the run with an error naming
//! the line. Records may come in any order; they are not sorted.
//!
//! # Output
//! The input, line for line, with these changes:
//! - INFO of every record gets `VC` (one [`VariantClass`] per ALT allele) and
//!   `TITV` (one [`TiTv`] per ALT allele), appended after the existing
//!   entries; existing `VC`/`TITV` entries are replaced, and an INFO of `.`
//!   becomes just these two.
//! - Just before `#CHROM` come the `##INFO` definitions of `VC` and `TITV`
//!   (existing ones are dropped) and a `##gas_annotate=<Version=...>` line
//!   (an existing one is dropped).
//! - The version: inputs declaring VCFv4.1 or later keep their
//!   `##fileformat`. Inputs declaring VCFv3.3 or VCFv4.0 are written as
//!   **VCFv4.2**, because the added definitions use `Number=A`, which only
//!   exists from VCFv4.1, and the provenance line then records
//!   `InputFileformat=...`. VCFv4.0 records are valid VCFv4.2 as they are.
//!   VCFv3.3 input is converted: its meta lines
//!   (`##INFO=ID,Number,Type,"Description"`, likewise FORMAT and FILTER)
//!   get the VCFv4 `<ID=...>` syntax (a negative Number becomes `.`), QUAL
//!   `-1` (unknown) becomes `.` and FILTER `0` (passed) becomes `PASS`.
//!   VCFv3.3's own indel alleles (`D2`, `IAC`) have no VCFv4 equivalent
//!   without the reference sequence and are rejected as invalid ALT alleles.
//!   Without the conversion, bcftools reads a VCFv3.3 file but drops every
//!   INFO/FORMAT definition (and `bcftools stats` fails on it).
//!
//! The output is a VCF that `bcftools view` reads.

mod annotator;
mod classify;
mod error;
mod header;
mod options;
mod reader;
mod record;
mod stats;

pub use annotator::{annotate, annotate_file};
pub use classify::{classify, titv, TiTv, VariantClass};
pub use error::AnnotateError;
pub use options::Options;
pub use stats::{ClassCounts, ContigCount, Stats};
