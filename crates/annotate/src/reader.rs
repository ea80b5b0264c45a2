//! Bounded line reading: one line at a time into a reused buffer, never more
//! than a fixed number of bytes per line.

use std::io::{self, BufRead};

use crate::error::AnnotateError;

/// Reads `\n`-terminated lines from a [`BufRead`], counting lines.
pub(crate) struct LineReader<R> {
    inner: R,
    max_line_bytes: usize,
    line_number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Wraps `inner`; a line longer than `max_line_bytes` (without its
    /// terminator) is an error.
    pub(crate) fn new(inner: R, max_line_bytes: usize) -> Self {
        LineReader {
            inner,
            max_line_bytes,
            line_number: 0,
        }
    }

    /// The 1-based number of the last line returned (0 before the first).
    pub(crate) fn line_number(&self) -> u64 {
        self.line_number
    }

    /// The underlying reader, positioned just after the last line returned.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next line into `buf` (cleared first) without its `\n` or
    /// `\r\n` terminator. Returns `Ok(false)` at the end of the input. The
    /// last line need not be terminated.
    ///
    /// # Errors
    /// [`AnnotateError::Malformed`] when the line exceeds the length cap (the
    /// reader stops there), [`AnnotateError::Io`] when reading fails.
    pub(crate) fn read_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, AnnotateError> {
        buf.clear();
        let mut started = false;
        loop {
            let (used, done) = {
                let available = match self.inner.fill_buf() {
                    Ok(available) => available,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                if available.is_empty() {
                    break;
                }
                started = true;
                let (content, used, done) = match memchr::memchr(b'\n', available) {
                    Some(end) => (&available[..end], end + 1, true),
                    None => (available, available.len(), false),
                };
                if buf.len() + content.len() > self.max_line_bytes {
                    return Err(AnnotateError::malformed(
                        self.line_number + 1,
                        format!("line longer than {} bytes", self.max_line_bytes),
                    ));
                }
                buf.extend_from_slice(content);
                (used, done)
            };
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if !started {
            return Ok(false);
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        self.line_number += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize, buffer: usize) -> Result<Vec<String>, AnnotateError> {
        let mut reader = LineReader::new(io::BufReader::with_capacity(buffer, input), cap);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while reader.read_line(&mut buf)? {
            out.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(reader.line_number(), out.len() as u64);
        Ok(out)
    }

    #[test]
    fn splits_lines_across_small_buffers() {
        for buffer in [1, 2, 3, 7, 1024] {
            let got = lines(b"ab\ncd\r\n\nlast", 100, buffer).unwrap();
            assert_eq!(got, ["ab", "cd", "", "last"], "buffer {buffer}");
        }
        assert!(lines(b"", 100, 8).unwrap().is_empty());
        assert_eq!(lines(b"x\n", 100, 8).unwrap(), ["x"]);
    }

    #[test]
    fn caps_line_length() {
        assert_eq!(lines(b"12345\n", 5, 2).unwrap(), ["12345"]);
        let err = lines(b"ok\n123456\n", 5, 2).unwrap_err();
        assert!(
            matches!(err, AnnotateError::Malformed { line: 2, .. }),
            "{err}"
        );
        let err = lines(b"123456", 5, 64).unwrap_err();
        assert!(
            matches!(err, AnnotateError::Malformed { line: 1, .. }),
            "{err}"
        );
    }
}
