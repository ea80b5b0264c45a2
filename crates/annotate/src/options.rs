//! Settings of an annotation run.

use crate::track::Track;

/// Settings of an annotation run. Build it with [`Options::default`] and
/// adjust the fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The version written in the `##gas_annotate=<Version=...>` header line
    /// (`,`, `<`, `>` and whitespace become `_`). Default: this crate's
    /// version.
    pub version: String,
    /// The longest line accepted, in bytes without the terminator; a longer
    /// line is an error. It bounds the memory one run uses. Default: 16 MiB.
    pub max_line_bytes: usize,
    /// Reference tracks ([`Track::load`]), applied in this order: every BED
    /// track adds its feature names to INFO `GENE`, every VCF track its ids
    /// to the ID column, or, loaded with fields
    /// ([`Track::load_with_fields`]), its INFO fields to INFO (a field two
    /// tracks copy is copied from the first; [`Track::check_fields`]
    /// refuses such tracks). Default: none.
    pub tracks: Vec<Track>,
    /// Threads annotating data lines; 0 means one per available CPU (at most
    /// [`Options::MAX_AUTO_THREADS`]: one reading and writing thread cannot
    /// feed more), 1 means all work in the calling thread. Input of a single
    /// chunk (512 KiB) is always annotated in the calling thread. Default: 0.
    pub threads: usize,
    /// Write the output BGZF-compressed (as `bgzip` does; `tabix` can index
    /// it) instead of plain text. Default: false.
    pub bgzf_output: bool,
    /// The most bytes gzip or BGZF input may decompress to. Past it the run
    /// stops with [`crate::AnnotateError::InflatedTooLarge`]: a few KB of
    /// compressed input can stand for gigabytes of text (a "gzip bomb"), so
    /// the size of what was uploaded says little about the work it asks
    /// for. Plain input is not counted (its size is its caller's to bound).
    /// Default: `None`, no bound.
    pub max_inflated_bytes: Option<u64>,
    /// Consequence annotation ([`crate::consequence::Consequences`]): INFO
    /// `CSQ` on every record, in Ensembl VEP's layout. Default: none.
    pub consequences: Option<std::sync::Arc<crate::consequence::Consequences>>,
}

impl Options {
    /// The default [`Options::max_line_bytes`]: 16 MiB.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

    /// The most threads [`Options::threads`] = 0 stands for.
    pub const MAX_AUTO_THREADS: usize = 4;

    /// The number of threads [`Options::threads`] stands for.
    pub(crate) fn worker_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(Self::MAX_AUTO_THREADS),
            n => n,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version: env!("CARGO_PKG_VERSION").to_string(),
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
            tracks: Vec::new(),
            threads: 0,
            bgzf_output: false,
            max_inflated_bytes: None,
            consequences: None,
        }
    }
}
