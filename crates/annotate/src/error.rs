//! The annotator's error type.

use std::io;

/// Why an annotation run failed.
///
/// Every variant except [`AnnotateError::Io`] is a problem of the input (the
/// caller should report it to whoever supplied the file); `Io` is a failure to
/// read or write the underlying streams or files.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(io::Error),

    /// The input is gzip-compressed, and the compressed data is corrupt or
    /// truncated.
    #[error("{message}")]
    BadCompression {
        /// What the decoder found.
        message: String,
    },

    /// The input is compressed and decompresses to more than
    /// [`crate::Options::max_inflated_bytes`].
    #[error("the compressed input decompresses to more than {limit} bytes, the most allowed")]
    InflatedTooLarge {
        /// The bound, in decompressed bytes.
        limit: u64,
    },

    /// A line of the input is not valid VCF. `line` is 1-based.
    #[error("line {line}: {message}")]
    Malformed {
        /// The 1-based number of the offending line.
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// The `##fileformat` line declares a version this annotator does not
    /// read (it reads VCFv3.3 and VCFv4.0 to VCFv4.4).
    #[error(
        "line {line}: unsupported VCF version {found:?} (supported: VCFv3.3, VCFv4.0 to VCFv4.4)"
    )]
    UnsupportedVersion {
        /// The 1-based number of the `##fileformat` line.
        line: u64,
        /// The declared value, e.g. `VCFv5.0` (possibly shortened).
        found: String,
    },

    /// The input ended before the `#CHROM` header line.
    #[error("the input ended after {lines} line(s), before the #CHROM header line")]
    IncompleteHeader {
        /// How many lines the input had.
        lines: u64,
    },
}

impl AnnotateError {
    /// The 1-based input line the error refers to, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            AnnotateError::Malformed { line, .. }
            | AnnotateError::UnsupportedVersion { line, .. } => Some(*line),
            AnnotateError::Io(_)
            | AnnotateError::BadCompression { .. }
            | AnnotateError::InflatedTooLarge { .. }
            | AnnotateError::IncompleteHeader { .. } => None,
        }
    }

    /// Whether the error is a problem of the input rather than of I/O.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, AnnotateError::Io(_))
    }

    pub(crate) fn malformed(line: u64, message: impl Into<String>) -> Self {
        AnnotateError::Malformed {
            line,
            message: message.into(),
        }
    }
}

impl From<io::Error> for AnnotateError {
    /// [`AnnotateError::BadCompression`] for errors the gzip decoder raised
    /// about the data, [`AnnotateError::InflatedTooLarge`] when it inflated
    /// past the bound, [`AnnotateError::Io`] for the rest.
    fn from(e: io::Error) -> Self {
        if let Some(limit) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<crate::input::InflateLimit>())
        {
            AnnotateError::InflatedTooLarge { limit: limit.0 }
        } else if e
            .get_ref()
            .is_some_and(|inner| inner.is::<crate::input::CorruptInput>())
        {
            AnnotateError::BadCompression {
                message: e.to_string(),
            }
        } else {
            AnnotateError::Io(e)
        }
    }
}

/// Shortens `text` for an error message: at most 40 characters, with `...`
/// when cut.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
