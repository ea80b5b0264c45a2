//! The streaming driver: header, then one record at a time.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use crate::classify::{classify, titv, TiTv, VariantClass};
use crate::error::{snippet, AnnotateError};
use crate::header::{self, MetaLine, VcfVersion, RESERVED_INFO_KEYS};
use crate::options::Options;
use crate::reader::LineReader;
use crate::record::Record;
use crate::stats::{Stats, Tally};

/// Output buffer size: output is written in chunks of this many bytes.
const OUTPUT_BUFFER_BYTES: usize = 256 << 10;
/// Input buffer size of [`annotate_file`].
const INPUT_BUFFER_BYTES: usize = 256 << 10;
/// The progress callback runs at least once per this many bytes of input.
const PROGRESS_STEP_BYTES: u64 = 64 << 10;

/// Annotates the VCF read from `input`, writing the annotated VCF to
/// `output`, one line at a time.
///
/// Memory stays bounded whatever the input size: one line (at most
/// [`Options::max_line_bytes`]) plus fixed buffers and one entry per contig.
/// Output goes through an internal buffer that is flushed before returning
/// `Ok`. `progress` receives the number of input bytes read so far: after
/// the header, at least every 64 KiB, and once at the end with the total.
///
/// See the crate documentation for what is written. Records are not
/// reordered or checked for order.
///
/// # Errors
/// [`AnnotateError::Malformed`], [`AnnotateError::UnsupportedVersion`] or
/// [`AnnotateError::IncompleteHeader`] for invalid input (stopping at the
/// first problem), [`AnnotateError::Io`] when reading or writing fails. On
/// error, `output` holds an incomplete prefix and should be discarded.
pub fn annotate<R: BufRead, W: Write>(
    input: R,
    output: W,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Stats, AnnotateError> {
    let started = Instant::now();
    let mut reader = LineReader::new(input, options.max_line_bytes);
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, output);
    let mut line = Vec::with_capacity(4096);
    let mut tally = Tally::default();

    let version = copy_header(&mut reader, &mut out, &mut line, options, &mut tally)?;
    let v3 = version.is_v3();
    let mut reported = reader.bytes_read();
    progress(reported);

    let mut alleles = Vec::with_capacity(4);
    while reader.read_line(&mut line)? {
        let number = reader.line_number();
        if line.is_empty() {
            continue;
        }
        let text = utf8(&line, number)?;
        if text.starts_with('#') {
            return Err(AnnotateError::malformed(
                number,
                "header line after the #CHROM line",
            ));
        }
        let record = Record::parse(text).map_err(|m| AnnotateError::malformed(number, m))?;
        write_record(&mut out, &record, v3, &mut alleles, &mut tally)?;
        if reader.bytes_read() - reported >= PROGRESS_STEP_BYTES {
            reported = reader.bytes_read();
            progress(reported);
        }
    }
    out.flush()?;
    progress(reader.bytes_read());
    Ok(tally.finish(reader.bytes_read(), started.elapsed()))
}

/// Annotates the VCF file `input` into the file `output` (created or
/// truncated) with [`annotate`]. On error the output file is removed.
///
/// # Errors
/// As [`annotate`]; failing to open `input` or create `output` is
/// [`AnnotateError::Io`].
pub fn annotate_file(
    input: &Path,
    output: &Path,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Stats, AnnotateError> {
    let reader = BufReader::with_capacity(INPUT_BUFFER_BYTES, File::open(input)?);
    let file = File::create(output)?;
    let result = annotate(reader, &file, options, progress);
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(output);
    }
    result
}

/// Reads and writes the header, up to and including `#CHROM`; returns the
/// input's version.
fn copy_header<R: BufRead, W: Write>(
    reader: &mut LineReader<R>,
    out: &mut W,
    line: &mut Vec<u8>,
    options: &Options,
    tally: &mut Tally,
) -> Result<VcfVersion, AnnotateError> {
    if !reader.read_line(line)? {
        return Err(AnnotateError::IncompleteHeader { lines: 0 });
    }
    let first = utf8(line, 1)?;
    let Some(declared) = first.strip_prefix("##fileformat=") else {
        return Err(AnnotateError::malformed(
            1,
            format!(
                "missing ##fileformat: the first line must declare the VCF version (e.g. ##fileformat=VCFv4.2), found {:?}",
                snippet(first)
            ),
        ));
    };
    let version = VcfVersion::parse(declared.trim())
        .filter(|v| v.is_supported())
        .ok_or_else(|| AnnotateError::UnsupportedVersion {
            line: 1,
            found: snippet(declared),
        })?;
    writeln!(out, "##fileformat={}", version.output())?;
    tally.set_formats(version.to_string(), version.output().to_string());

    loop {
        if !reader.read_line(line)? {
            return Err(AnnotateError::IncompleteHeader {
                lines: reader.line_number(),
            });
        }
        let number = reader.line_number();
        let text = utf8(line, number)?;
        if text.starts_with("##") {
            if text.starts_with("##fileformat=") {
                return Err(AnnotateError::malformed(
                    number,
                    "a second ##fileformat line",
                ));
            }
            match header::meta_line(text, version.is_v3()) {
                MetaLine::Keep => writeln!(out, "{text}")?,
                MetaLine::Drop => {}
                MetaLine::Replace(upgraded) => writeln!(out, "{upgraded}")?,
            }
        } else if text.starts_with("#CHROM") {
            let samples = header::parse_column_header(text)
                .map_err(|m| AnnotateError::malformed(number, m))?;
            tally.set_samples(samples);
            header::write_added_lines(out, &options.version, version)?;
            writeln!(out, "{text}")?;
            return Ok(version);
        } else if text.is_empty() {
            continue;
        } else if text.starts_with('#') {
            return Err(AnnotateError::malformed(
                number,
                "expected a ## meta line or the #CHROM header line",
            ));
        } else {
            return Err(AnnotateError::malformed(
                number,
                "data line before the #CHROM header line",
            ));
        }
    }
}

/// `line` as text, or a Malformed error naming line `number`.
fn utf8(line: &[u8], number: u64) -> Result<&str, AnnotateError> {
    std::str::from_utf8(line).map_err(|e| {
        AnnotateError::malformed(
            number,
            format!(
                "not valid UTF-8 (bad byte at column {})",
                e.valid_up_to() + 1
            ),
        )
    })
}

/// Classifies every ALT allele of `record`, counts it, and writes the
/// annotated line. `alleles` is scratch space reused across records.
fn write_record<W: Write>(
    out: &mut W,
    record: &Record<'_>,
    v3: bool,
    alleles: &mut Vec<(VariantClass, TiTv)>,
    tally: &mut Tally,
) -> io::Result<()> {
    tally.record(record.chrom);
    alleles.clear();
    let reference = record.reference.as_bytes();
    for alt in record.alts() {
        let alt = alt.as_bytes();
        let annotation = (classify(reference, alt), titv(reference, alt));
        tally.allele(annotation.0, annotation.1);
        alleles.push(annotation);
    }

    let (qual, filter) = if v3 {
        v3_qual_filter(record.qual, record.filter)
    } else {
        (record.qual, record.filter)
    };
    out.write_all(record.leading.as_bytes())?;
    out.write_all(b"\t")?;
    out.write_all(qual.as_bytes())?;
    out.write_all(b"\t")?;
    out.write_all(filter.as_bytes())?;
    out.write_all(b"\t")?;
    write_info(out, record.info, alleles)?;
    if let Some(trailing) = record.trailing {
        out.write_all(b"\t")?;
        out.write_all(trailing.as_bytes())?;
    }
    out.write_all(b"\n")
}

/// VCFv3.3 to VCFv4: QUAL `-1` (unknown) becomes `.`, FILTER `0` (passed
/// all filters) becomes `PASS`.
fn v3_qual_filter<'a>(qual: &'a str, filter: &'a str) -> (&'a str, &'a str) {
    let qual = if qual.starts_with('-') && qual.parse::<f64>() == Ok(-1.0) {
        "."
    } else {
        qual
    };
    let filter = if filter == "0" { "PASS" } else { filter };
    (qual, filter)
}

/// Writes INFO: the input's entries except empty ones and those with a
/// reserved key, then `VC=...;TITV=...` (one value per ALT allele).
fn write_info<W: Write>(
    out: &mut W,
    info: &str,
    alleles: &[(VariantClass, TiTv)],
) -> io::Result<()> {
    if info != "." {
        for entry in info.split(';') {
            let key = entry.split_once('=').map_or(entry, |(key, _)| key);
            if entry.is_empty() || entry == "." || RESERVED_INFO_KEYS.contains(&key) {
                continue;
            }
            out.write_all(entry.as_bytes())?;
            out.write_all(b";")?;
        }
    }
    out.write_all(b"VC=")?;
    for (i, (class, _)) in alleles.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(class.as_str().as_bytes())?;
    }
    out.write_all(b";TITV=")?;
    for (i, (_, titv)) in alleles.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(titv.as_str().as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

    fn run(input: &str) -> Result<(String, Stats), AnnotateError> {
        let mut out = Vec::new();
        let mut last = 0;
        let stats = annotate(input.as_bytes(), &mut out, &Options::default(), &mut |n| {
            last = n
        })?;
        assert_eq!(last, input.len() as u64);
        Ok((String::from_utf8(out).unwrap(), stats))
    }

    fn body(output: &str) -> Vec<&str> {
        output.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn annotates_info() {
        let input = format!(
            "{HEADER}1\t10\t.\tA\tG\t.\t.\t.\n\
             1\t11\trs1\tC\tA,CT,<DEL>\t9\tPASS\tDP=3;DB\n\
             2\t12\t.\tAC\tA\t.\t.\tVC=X;DP=1;TITV=ts,tv\n\
             2\t13\t.\tA\tT\t.\t.\tVC\n"
        );
        let (output, stats) = run(&input).unwrap();
        assert_eq!(
            body(&output),
            [
                "1\t10\t.\tA\tG\t.\t.\tVC=SNV;TITV=ts",
                "1\t11\trs1\tC\tA,CT,<DEL>\t9\tPASS\tDP=3;DB;VC=SNV,INS,OTHER;TITV=tv,.,.",
                "2\t12\t.\tAC\tA\t.\t.\tDP=1;VC=DEL;TITV=.",
                "2\t13\t.\tA\tT\t.\t.\tVC=SNV;TITV=tv",
            ]
        );
        assert_eq!((stats.variants, stats.alt_alleles), (4, 6));
        assert_eq!((stats.transitions, stats.transversions), (1, 2));
        assert_eq!(stats.ts_tv_ratio, Some(0.5));
        assert_eq!(stats.contigs.len(), 2);
    }

    #[test]
    fn header_lines_added_and_replaced() {
        let input = "##fileformat=VCFv4.3\n##INFO=<ID=VC,Number=1,Type=String,Description=\"x\">\n\
                     ##source=me\n##gas_annotate=<Version=0>\n\
                     #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n\
                     1\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\n";
        let (output, stats) = run(input).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines[0], "##fileformat=VCFv4.3");
        assert_eq!(lines[1], "##source=me");
        assert!(lines[2].starts_with("##INFO=<ID=VC,Number=A"));
        assert!(lines[3].starts_with("##INFO=<ID=TITV,Number=A"));
        assert_eq!(
            lines[4],
            format!("##gas_annotate=<Version={}>", env!("CARGO_PKG_VERSION"))
        );
        assert!(lines[5].starts_with("#CHROM"));
        assert_eq!(lines[6], "1\t10\t.\tA\tG\t.\t.\tVC=SNV;TITV=ts\tGT\t0/1");
        assert_eq!(lines.len(), 7);
        assert_eq!(stats.samples, 1);
        assert_eq!(stats.output_fileformat, "VCFv4.3");
    }

    #[test]
    fn upgrades_v3() {
        let input = "##fileformat=VCFv3.3\n##INFO=DP,1,Integer,\"Total Depth\"\n\
                     #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
                     1\t10\t.\tG\tA\t-1\t0\tDP=5\n1\t11\t.\tG\tA\t-1.5\tq10\tDP=5\n";
        let (output, stats) = run(input).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines[0], "##fileformat=VCFv4.2");
        assert_eq!(
            lines[1],
            "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Total Depth\">"
        );
        assert!(lines[4].ends_with(",InputFileformat=VCFv3.3>"));
        assert_eq!(lines[6], "1\t10\t.\tG\tA\t.\tPASS\tDP=5;VC=SNV;TITV=ts");
        assert_eq!(lines[7], "1\t11\t.\tG\tA\t-1.5\tq10\tDP=5;VC=SNV;TITV=ts");
        assert_eq!(
            (
                stats.input_fileformat.as_str(),
                stats.output_fileformat.as_str()
            ),
            ("VCFv3.3", "VCFv4.2")
        );
        // A VCFv4.x file keeps its QUAL and FILTER.
        let (output, _) = run(&format!("{HEADER}1\t10\t.\tG\tA\t-1\t0\t.\n")).unwrap();
        assert_eq!(body(&output), ["1\t10\t.\tG\tA\t-1\t0\tVC=SNV;TITV=ts"]);
    }

    #[test]
    fn crlf_and_blank_lines() {
        let input = "##fileformat=VCFv4.1\r\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\r\n\r\n1\t5\t.\tC\tT\t.\t.\t.\r\n\n";
        let (output, stats) = run(input).unwrap();
        assert_eq!(body(&output), ["1\t5\t.\tC\tT\t.\t.\tVC=SNV;TITV=ts"]);
        assert!(!output.contains('\r'));
        assert_eq!(stats.variants, 1);
    }

    fn error(input: &[u8]) -> AnnotateError {
        annotate(input, io::sink(), &Options::default(), &mut |_| {}).unwrap_err()
    }

    fn malformed_at(input: &[u8], line: u64, needle: &str) {
        match error(input) {
            AnnotateError::Malformed { line: l, message } => {
                assert_eq!(l, line, "{message}");
                assert!(message.contains(needle), "{needle:?} not in {message:?}");
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn header_errors() {
        malformed_at(b"1\t10\t.\tA\tG\t.\t.\t.\n", 1, "##fileformat");
        malformed_at(
            b"##fileformat=VCFv4.2\n1\t10\t.\tA\tG\t.\t.\t.\n",
            2,
            "before the #CHROM",
        );
        malformed_at(b"##fileformat=VCFv4.2\n##fileformat=VCFv4.2\n", 2, "second");
        malformed_at(
            b"##fileformat=VCFv4.2\n#comment\n",
            2,
            "expected a ## meta line",
        );
        malformed_at(b"##fileformat=VCFv4.2\n#CHROM POS ID\n", 2, "#CHROM");
        malformed_at(b"##fileformat=VCFv4.2\n##x=\xff\n", 2, "UTF-8");
        assert!(matches!(
            error(b""),
            AnnotateError::IncompleteHeader { lines: 0 }
        ));
        assert!(matches!(
            error(b"##fileformat=VCFv4.2\n##x=y\n"),
            AnnotateError::IncompleteHeader { lines: 2 }
        ));
        for version in ["VCFv5.0", "VCFv4.9", "garbage"] {
            let input = format!("##fileformat={version}\n");
            assert!(
                matches!(
                    error(input.as_bytes()),
                    AnnotateError::UnsupportedVersion { line: 1, .. }
                ),
                "{version}"
            );
        }
    }

    #[test]
    fn record_errors() {
        let with = |body: &[u8]| [HEADER.as_bytes(), b"1\t1\t.\tA\tG\t.\t.\t.\n", body].concat();
        malformed_at(
            &with(b"1\t2\t.\tA\tG\t.\t.\n"),
            4,
            "8 tab-separated columns",
        );
        malformed_at(&with(b"1\t0\t.\tA\tG\t.\t.\t.\n"), 4, "POS");
        malformed_at(&with(b"1\tx\t.\tA\tG\t.\t.\t.\n"), 4, "POS");
        malformed_at(&with(b"1\t2\t.\tZ\tG\t.\t.\t.\n"), 4, "REF");
        malformed_at(&with(b"1\t2\t.\tA\tG,Q\t.\t.\t.\n"), 4, "ALT");
        malformed_at(&with(b"1\t2\t.\tA\tG\t.\t.\t\xc3\x28\n"), 4, "UTF-8");
        malformed_at(&with(b"#CHROM\tPOS\n"), 4, "after the #CHROM");
        let options = Options {
            max_line_bytes: 40,
            ..Options::default()
        };
        let input = with(b"1\t2\t.\tA\tG\t.\t.\tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
        let err = annotate(&input[..], io::sink(), &options, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, AnnotateError::Malformed { line: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn annotate_file_removes_output_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.vcf"), dir.path().join("out.vcf"));
        fs::write(&input, format!("{HEADER}1\t1\t.\tA\tG\t.\t.\t.\n")).unwrap();
        let stats = annotate_file(&input, &output, &Options::default(), &mut |_| {}).unwrap();
        assert_eq!(stats.variants, 1);
        assert!(fs::read_to_string(&output)
            .unwrap()
            .ends_with("VC=SNV;TITV=ts\n"));

        fs::write(&input, "##fileformat=VCFv4.2\nbad\n").unwrap();
        let err = annotate_file(&input, &output, &Options::default(), &mut |_| {}).unwrap_err();
        assert!(err.is_input_error());
        assert!(!output.exists());

        let missing = dir.path().join("missing.vcf");
        let err = annotate_file(&missing, &output, &Options::default(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, AnnotateError::Io(_)));
    }
}
