//! Settings of an annotation run.

/// Settings of an annotation run. Build it with [`Options::default`] and
/// adjust the fields; new fields (reference tracks) will come with defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The version written in the `##gas_annotate=<Version=...>` header line
    /// (`,`, `<`, `>` and whitespace become `_`). Default: this crate's
    /// version.
    pub version: String,
    /// The longest line accepted, in bytes without the terminator; a longer
    /// line is an error. It bounds the memory one run uses. Default: 16 MiB.
    pub max_line_bytes: usize,
}

impl Options {
    /// The default [`Options::max_line_bytes`]: 16 MiB.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version: env!("CARGO_PKG_VERSION").to_string(),
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
        }
    }
}
