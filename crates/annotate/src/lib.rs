//! The GAS VCF annotator.
//!
//! [`annotate`] streams a VCF from a [`std::io::BufRead`] to a
//! [`std::io::Write`] in bounded memory, and returns [`Stats`] about what it
//! saw ([`Stats::render_log`] turns them into the job log).
//! [`annotate_file`] does the same between two files. Reference tracks
//! ([`Track`], in [`Options::tracks`]) add gene names and dbSNP ids; they are
//! loaded once and shared by any number of runs; [`reference::default_tracks`]
//! are the GRCh37 gene and dbSNP tracks embedded in the crate.
//!
//! # Input
//! Plain text, or gzip-compressed (BGZF included), recognised by its first
//! byte. What compressed input decompresses to can be bounded
//! ([`Options::max_inflated_bytes`]; the runner bounds it, the CLI need not). VCF versions 3.3 and 4.0 to 4.4, declared by a first line
//! `##fileformat=VCFv<x>.<y>`; then `##` meta lines, the tab-separated
//! `#CHROM` column header, and data lines of at least 8 tab-separated columns.
//! Lines end in `\n` or `\r\n`; blank lines are skipped. Each data line is
//! checked: CHROM non-empty, POS a positive integer, REF a sequence of
//! `A C G T N` (any case), each ALT allele bases, `*`, `.`, a symbolic
//! `<ID>` or a breakend. The first problem stops the run with an error naming
//! the line. Records may come in any order; they are not sorted (sorted
//! input is only faster to look up in tracks).
//!
//! # Tracks
//! Contig names are matched between input and tracks whatever their style:
//! `1` and `chr1`, `MT`, `M` and `chrM`, `X` and `chrX` are the same contig.
//! - A BED track adds INFO `GENE`: the names (column 4) of every feature
//!   overlapping the record's reference span (POS to POS + len(REF) - 1, or
//!   to INFO `END` when given, as bcftools computes it), each name once,
//!   ordered by feature start, then name. Records overlapping nothing get no
//!   `GENE`. With several BED tracks, their names are merged in track order.
//! - A VCF track fills the ID column: the ids of the track's records with
//!   the same contig, POS and REF and at least one ALT allele in common
//!   (case-insensitive), each once, `;`-separated, replacing the record's ID
//!   (as `bcftools annotate -c ID` does). Records without a match keep their
//!   ID.
//! - A VCF track loaded with INFO fields ([`Track::load_with_fields`], or
//!   `FILE:FIELD,FIELD,...` as [`TrackSpec::parse`] reads it, e.g.
//!   `clinvar.vcf.gz:CLNSIG,CLNDN`; `FIELD=NAME` copies a field under
//!   another name) copies those fields instead of filling ids, like
//!   vcfanno's `fields`. Each ALT allele of a record is matched on its own:
//!   a track record matches it when its contig is the same and one of its
//!   ALT alleles (a multi-allelic track record counts per ALT) is the same
//!   allele once both are normalised, by trimming the bases REF and ALT
//!   share, first at the end, then at the start (keeping at least one
//!   base, and moving POS past the bases trimmed at the start), comparing
//!   bases case-insensitively. So `POS=100 REF=AC ALT=A` matches a track's
//!   `POS=100 REF=ACT ALT=AT`, and `POS=101 REF=GAC ALT=GA` a track's
//!   `POS=100 REF=TGAC ALT=TGA`. Nothing is left-aligned (that needs the
//!   genome), and symbolic (`<DEL>`), `*`, `.` and breakend alleles never
//!   match. For each field and ALT, the value comes from the first matching
//!   track record that has the field (by track POS, then file order). Only
//!   the fields' values are kept in memory. Asking for a field the track's
//!   header does not define, for fields of a BED track, for a field named
//!   `VC`, `TITV`, `GENE` or `END`, or for one field from two tracks (rename
//!   one) is an error when the tracks load ([`Track::load_specs`]; a
//!   hand-built [`Options::tracks`] with two such tracks copies the field
//!   from the first).
//! - Assembly check: when the input's header names an assembly
//!   (`##reference`, `##contig=<...,assembly=...>`) other than a track's, or
//!   the input's REF disagrees with a VCF track's at more than 10% of at
//!   least 20 shared positions, [`Stats::warnings`] says so (and the log
//!   shows it first). The annotation still runs.
//!
//! # Output
//! The input, line for line, with these changes:
//! - INFO of every record gets `VC` (one [`VariantClass`] per ALT allele) and
//!   `TITV` (one [`TiTv`] per ALT allele), then `GENE` when a BED track has
//!   overlapping features, then the fields copied from VCF tracks (in track
//!   order, then the order asked) that matched, appended after the existing
//!   entries; existing entries with these keys are replaced (`GENE` only
//!   when a BED track is used, a copied field only when it is copied, even
//!   if nothing matched), and an INFO of `.` becomes just the added ones.
//!   The ID column may be filled from VCF tracks (see above).
//! - A copied field is aligned with the record's ALT alleles, so that
//!   `bcftools query` and `bcftools norm -m-` split it correctly, by the
//!   track's definition of it:
//!   - `Number=A`: `Number=A`, the matched track allele's value per ALT;
//!   - `Number=R`: `Number=R`, the REF value of the record the first
//!     matched ALT matched, then the matched allele's value per ALT;
//!   - `Type=Flag`: set when any ALT matched a record with the flag;
//!   - any other Number (`1`, `.`, `G`, `2`...; ClinVar's `CLNSIG` and
//!     `CLNDN` are `Number=.`): `Number=A`, the matched record's whole value
//!     per ALT, its commas replaced by `|` so that it stays one value
//!     (`CLNSIG=Pathogenic,_risk_factor` becomes
//!     `Pathogenic|_risk_factor`); the Type is kept for `Number=1`, and is
//!     `String` otherwise (joined numbers are no longer numbers).
//!
//!   An ALT without a match (or whose value is missing) gets `.`; a field
//!   no ALT has a value for is left out.
//! - Just before `#CHROM` come the `##INFO` definitions of `VC`, `TITV`,
//!   with a BED track `GENE`, and of each copied field (the track's Type and
//!   Description, the Number as above, and ` (from <track file>)` appended
//!   to the Description), with existing ones dropped; and a
//!   `##gas_annotate=<Version=...[,Tracks="..."]>` line naming each track's
//!   file, kind, assembly and copied fields (an existing one is dropped).
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
//! The output is a VCF that `bcftools view` reads: plain text, or BGZF
//! ([`Options::bgzf_output`]) that `tabix` can index when the input is
//! sorted.

mod annotator;
mod assembly;
mod assembly_check;
mod bgzf;
mod body;
mod classify;
pub mod consequence;
mod contig;
mod error;
pub mod fasta;
mod header;
pub mod index;
mod input;
mod meta;
mod observe;
mod options;
mod pipeline;
mod reader;
mod record;
pub mod reference;
mod stats;
mod track;
pub mod transcript;

pub use annotator::{annotate, annotate_file, annotate_file_observed, annotate_observed};
pub use classify::{classify, titv, TiTv, VariantClass};
pub use consequence::{Consequence, ConsequenceSet, Impact};
pub use error::AnnotateError;
pub use fasta::{ContigId, FastaError, Reference};
pub use index::{bgzip_and_index, IndexError, IndexedFasta};
pub use observe::{OutputObserver, WrittenChunk, WrittenEntry, WrittenItem, WrittenRecord};
pub use options::Options;
pub use stats::{
    ClassCounts, ConsequenceStats, ContigCount, GeneCount, ImpactCounts, Stats, TermCount,
    TrackSummary,
};
pub use track::{Track, TrackError, TrackField, TrackKind, TrackSpec, DEFAULT_ASSEMBLY};
pub use transcript::{GffError, Transcript, TranscriptIndex};
