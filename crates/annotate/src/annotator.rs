//! The streaming driver: the header in the calling thread, then the data
//! lines in chunks (see [`crate::pipeline`]).

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use crate::assembly::assembly_of_meta_line;
use crate::assembly_check;
use crate::bgzf::{BgzfEncoder, EOF_BLOCK};
use crate::body::Body;
use crate::error::{snippet, AnnotateError};
use crate::header::{self, MetaLine, VcfVersion};
use crate::input::Input;
use crate::observe::{OutputObserver, WrittenChunk};
use crate::options::Options;
use crate::pipeline::{self, Chunker};
use crate::reader::LineReader;
use crate::stats::{Stats, Tally, TrackSummary};

/// Output buffer size.
const OUTPUT_BUFFER_BYTES: usize = 256 << 10;
/// Input buffer size of [`annotate_file`].
const INPUT_BUFFER_BYTES: usize = 256 << 10;
/// Header text gathered before it is written out: headers with a line per
/// contig of a draft assembly run to megabytes, and memory must not grow
/// with the input.
const HEADER_FLUSH_BYTES: usize = 1 << 20;

/// Annotates the VCF read from `input`, writing the annotated VCF to
/// `output`.
///
/// The input may be plain text or gzip-compressed (BGZF included): it is
/// decompressed when its first byte is the gzip magic byte. The output is
/// plain text, or BGZF when [`Options::bgzf_output`] is set.
///
/// Memory stays bounded whatever the input size: a few chunks of 512 KiB of
/// lines per thread, one line of at most [`Options::max_line_bytes`], at
/// most 1 MiB of header at a time, and statistics rows for at most
/// [`Stats::MAX_CONTIGS`] contigs (the rest share one row, see
/// [`Stats::contigs`]); the tracks of [`Options::tracks`] are shared, not
/// copied. Compressed input may be bounded in what it decompresses to
/// ([`Options::max_inflated_bytes`]). Data lines are annotated on [`Options::threads`] threads; output
/// order is input order. Output goes through an internal buffer that is
/// flushed before returning `Ok`. `progress` receives the number of input
/// bytes (compressed bytes for gzip input) read so far: after the header,
/// after each chunk of at most about 512 KiB of text, and once at the end
/// with the total.
///
/// See the crate documentation for what is written. Records are not
/// reordered or checked for order.
///
/// # Errors
/// [`AnnotateError::Malformed`], [`AnnotateError::UnsupportedVersion`] or
/// [`AnnotateError::IncompleteHeader`] for invalid input (stopping at the
/// first problem), [`AnnotateError::BadCompression`] for a corrupt gzip
/// stream, [`AnnotateError::InflatedTooLarge`] for compressed input past
/// [`Options::max_inflated_bytes`], [`AnnotateError::Io`] when reading or
/// writing fails. On error, `output` holds an incomplete prefix
/// and should be discarded.
pub fn annotate<R: BufRead, W: Write>(
    input: R,
    output: W,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Stats, AnnotateError> {
    annotate_observed(input, output, options, progress, None)
}

/// As [`annotate`], showing `observer` (when given) the output as it is
/// written, with each record's CSQ entries as values (see
/// [`OutputObserver`]). The observer runs on the thread that writes.
///
/// # Errors
/// As [`annotate`].
pub fn annotate_observed<R: BufRead, W: Write>(
    input: R,
    output: W,
    options: &Options,
    progress: &mut dyn FnMut(u64),
    mut observer: Option<&mut dyn OutputObserver>,
) -> Result<Stats, AnnotateError> {
    let started = Instant::now();
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, output);
    let mut encoder = options.bgzf_output.then(BgzfEncoder::new);
    let mut tally = Tally::for_run();
    tally.set_tracks(
        options
            .tracks
            .iter()
            .map(|t| TrackSummary {
                name: t.name().to_string(),
                kind: t.kind(),
                assembly: t.assembly().to_string(),
                records: t.records(),
            })
            .collect(),
    );

    let mut reader = LineReader::new(
        Input::new(input, options.max_inflated_bytes)?,
        options.max_line_bytes,
    );
    let mut header = Vec::with_capacity(16 << 10);
    let mut compressed = Vec::new();
    // Plain bytes written so far: where the next observed text starts.
    let mut observed_bytes = 0u64;
    let mut emit = |header: &mut Vec<u8>| -> std::io::Result<()> {
        if let Some(observer) = observer.as_deref_mut() {
            // The header was read as UTF-8 lines (see `copy_header`).
            observer.header(&String::from_utf8_lossy(header));
        }
        observed_bytes += header.len() as u64;
        match &mut encoder {
            Some(encoder) => {
                compressed.clear();
                encoder.encode(header, &mut compressed);
                out.write_all(&compressed)?;
            }
            None => out.write_all(header)?,
        }
        header.clear();
        Ok(())
    };
    let version = copy_header(&mut reader, &mut header, &mut emit, options, &mut tally)?;
    emit(&mut header)?;
    let mut lines_before = reader.line_number();
    let mut chunker = Chunker::new(reader.into_inner(), options.max_line_bytes);
    if options.consequences.is_some() {
        chunker = chunker.with_chunk_bytes(crate::pipeline::CONSEQUENCE_CHUNK_BYTES);
    }
    progress(chunker.raw_bytes());

    let watched_keys = observer.as_deref().map(|o| o.info_keys());
    let body = Body::new(options, version.is_v3(), watched_keys);
    pipeline::run(
        &mut chunker,
        &body,
        options.worker_threads(),
        &mut |annotated, raw_bytes| {
            // Observed plain output comes as checked text.
            let bytes = match &annotated.text {
                Some(text) if !options.bgzf_output => text.as_bytes(),
                _ => &annotated.output,
            };
            out.write_all(bytes)?;
            tally.merge(std::mem::take(&mut annotated.tally));
            if let Some((line, message)) = annotated.error.take() {
                return Err(AnnotateError::malformed(lines_before + line, message));
            }
            if let Some(observer) = observer.as_deref_mut() {
                let Some(text) = annotated.text.as_deref() else {
                    return Err(AnnotateError::malformed(
                        lines_before + 1,
                        "annotated text is not UTF-8",
                    ));
                };
                observer.records(&WrittenChunk {
                    offset: observed_bytes,
                    text,
                    written: &annotated.written,
                });
                observed_bytes += text.len() as u64;
            }
            lines_before += annotated.lines;
            progress(raw_bytes);
            Ok(())
        },
    )?;
    if encoder.is_some() {
        out.write_all(&EOF_BLOCK)?;
    }
    out.flush()?;
    let raw_bytes = chunker.raw_bytes();
    progress(raw_bytes);
    let warnings = assembly_check::warnings(tally.stats(), &options.tracks);
    let consequences = options
        .consequences
        .as_deref()
        .map(|c| crate::stats::ConsequenceStats::from_tally(&tally.consequences, c));
    let mut stats = tally.finish(raw_bytes, started.elapsed(), warnings);
    if let Some(c) = consequences {
        if c.ref_mismatches > 0 {
            stats.warnings.push(format!(
                "{} records have a REF that differs from the reference genome {} (flagged REF_MISMATCH); check that the input is on the same assembly",
                c.ref_mismatches,
                c.reference.as_deref().unwrap_or("")
            ));
        }
        stats.consequences = Some(c);
    }
    Ok(stats)
}

/// Annotates the VCF file `input` (plain or gzip-compressed) into the file
/// `output` (created or truncated) with [`annotate`]. On error the output
/// is removed when it is a regular file (not a device such as `/dev/null`,
/// nor a pipe).
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
    annotate_file_observed(input, output, options, progress, None)
}

/// As [`annotate_file`], with an observer as [`annotate_observed`] takes.
///
/// # Errors
/// As [`annotate_file`].
pub fn annotate_file_observed(
    input: &Path,
    output: &Path,
    options: &Options,
    progress: &mut dyn FnMut(u64),
    observer: Option<&mut dyn OutputObserver>,
) -> Result<Stats, AnnotateError> {
    let reader = BufReader::with_capacity(INPUT_BUFFER_BYTES, File::open(input)?);
    let file = File::create(output)?;
    // Only a file of ours is removed on error: `-o /dev/null` (or a pipe)
    // must never be unlinked, least of all when run as root.
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    let result = annotate_observed(reader, &file, options, progress, observer);
    if result.is_err() && regular {
        drop(file);
        let _ = fs::remove_file(output);
    }
    result
}

/// Reads the header, up to and including `#CHROM`, and writes its
/// annotated version to `out`, handing `out` to `emit` (which empties it)
/// whenever it holds [`HEADER_FLUSH_BYTES`]; returns the input's version.
/// Notes the samples and the assembly the header names in `tally`.
fn copy_header<R: BufRead>(
    reader: &mut LineReader<R>,
    out: &mut Vec<u8>,
    emit: &mut dyn FnMut(&mut Vec<u8>) -> std::io::Result<()>,
    options: &Options,
    tally: &mut Tally,
) -> Result<VcfVersion, AnnotateError> {
    let line = &mut Vec::with_capacity(4096);
    if !reader.read_line(line)? {
        return Err(AnnotateError::IncompleteHeader { lines: 0 });
    }
    if line.starts_with(b"BCF\x02") {
        return Err(AnnotateError::malformed(
            1,
            "the input is BCF (binary VCF), not VCF text; convert it with `bcftools view` first",
        ));
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
    let reserved = &header::reserved_keys(options);
    let mut assembly = None;

    loop {
        if out.len() >= HEADER_FLUSH_BYTES {
            emit(out)?;
        }
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
            if assembly.is_none() {
                assembly = assembly_of_meta_line(text);
            }
            match header::meta_line(text, version.is_v3(), reserved) {
                MetaLine::Keep => writeln!(out, "{text}")?,
                MetaLine::Drop => {}
                MetaLine::Replace(upgraded) => writeln!(out, "{upgraded}")?,
            }
        } else if text.starts_with("#CHROM") {
            let samples = header::parse_column_header(text)
                .map_err(|m| AnnotateError::malformed(number, m))?;
            tally.set_samples(samples);
            if let Some(assembly) = assembly {
                tally.set_input_assembly(assembly);
            }
            header::write_added_lines(
                out,
                &options.version,
                version,
                &options.tracks,
                options.consequences.as_deref(),
            )?;
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

#[cfg(test)]
mod tests {
    use std::io;

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
        malformed_at(b"BCF\x02\x02\xff\x00\x00##fileformat=VCFv4.2", 1, "BCF");
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

    /// A BED track and a VCF track from text.
    fn tracks(dir: &Path) -> Vec<crate::Track> {
        let bed = dir.join("genes.bed");
        fs::write(
            &bed,
            "chr1\t5\t20\tGB\nchr1\t9\t30\tGA\nchr1\t40\t50\tGC\nchrM\t0\t100\tMT-X\n",
        )
        .unwrap();
        let vcf = dir.join("sites.vcf");
        fs::write(
            &vcf,
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n\
             chr1\t10\trs10\tA\tG\nchr1\t12\trs12\tC\tT,A\nchr1\t12\trs12b;rs12c\tC\tA\n\
             chr1\t14\t.\tA\tG\n",
        )
        .unwrap();
        crate::Track::load_all(&[bed, vcf]).unwrap()
    }

    #[test]
    fn annotates_from_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            tracks: tracks(dir.path()),
            ..Options::default()
        };
        let input = format!(
            "##fileformat=VCFv4.2\n##INFO=<ID=GENE,Number=1,Type=String,Description=\"old\">\n{}\
             1\t10\told\tA\tG\t.\t.\tGENE=x;DP=1\n\
             1\t12\t.\tC\tA\t.\t.\t.\n\
             1\t14\tkeep\tA\tG\t.\t.\t.\n\
             1\t25\t.\tTAAAAAAAAAAAAAAAAA\tT\t.\t.\t.\n\
             1\t31\t.\tG\t<DEL>\t.\t.\tEND=45\n\
             MT\t3\t.\tA\tC\t.\t.\t.\n\
             2\t3\t.\tA\tC\t.\t.\t.\n",
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        );
        let mut out = Vec::new();
        let stats = annotate(input.as_bytes(), &mut out, &options, &mut |_| {}).unwrap();
        let output = String::from_utf8(out).unwrap();
        assert_eq!(
            body(&output),
            [
                "1\t10\trs10\tA\tG\t.\t.\tDP=1;VC=SNV;TITV=ts;GENE=GB,GA",
                "1\t12\trs12;rs12b;rs12c\tC\tA\t.\t.\tVC=SNV;TITV=tv;GENE=GB,GA",
                "1\t14\tkeep\tA\tG\t.\t.\tVC=SNV;TITV=ts;GENE=GB,GA",
                "1\t25\t.\tTAAAAAAAAAAAAAAAAA\tT\t.\t.\tVC=DEL;TITV=.;GENE=GA,GC",
                "1\t31\t.\tG\t<DEL>\t.\t.\tEND=45;VC=OTHER;TITV=.;GENE=GC",
                "MT\t3\t.\tA\tC\t.\t.\tVC=SNV;TITV=tv;GENE=MT-X",
                "2\t3\t.\tA\tC\t.\t.\tVC=SNV;TITV=tv",
            ]
        );
        assert_eq!(
            output.matches("##INFO=<ID=GENE,").count(),
            1,
            "the old GENE definition is replaced"
        );
        assert!(output.contains("Tracks=\"genes.bed (BED, GRCh37);sites.vcf (VCF, GRCh37)\""));
        assert_eq!((stats.with_id, stats.in_genes), (2, 6));
        // Positions 10, 12 and 14 have sites; all REFs agree.
        assert_eq!((stats.ref_checked, stats.ref_mismatches), (3, 0));
        assert!(stats.warnings.is_empty());
    }

    #[test]
    fn ref_disagreement_warns() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            tracks: tracks(dir.path()),
            ..Options::default()
        };
        let mut input = HEADER.to_string();
        for _ in 0..30 {
            input.push_str("chr1\t10\t.\tC\tG\t.\t.\t.\n");
        }
        let stats = annotate(input.as_bytes(), io::sink(), &options, &mut |_| {}).unwrap();
        assert_eq!((stats.ref_checked, stats.ref_mismatches), (30, 30));
        assert_eq!(stats.warnings.len(), 1);
        assert!(stats.warnings[0].starts_with("REF alleles disagree with sites.vcf at 30 of 30"));
    }

    #[test]
    fn many_chunks_on_many_threads() {
        let mut input = HEADER.to_string();
        for i in 1..=60_000 {
            input.push_str(&format!("chr{}\t{i}\t.\tA\tG,T\t.\t.\tDP={i}\n", i % 3));
        }
        let run = |threads, bgzf| {
            let options = Options {
                threads,
                bgzf_output: bgzf,
                ..Options::default()
            };
            let mut out = Vec::new();
            let mut calls = 0;
            let stats =
                annotate(input.as_bytes(), &mut out, &options, &mut |_| calls += 1).unwrap();
            assert!(calls > 3, "progress reported per chunk");
            (out, stats)
        };
        let (single, stats) = run(1, false);
        assert_eq!(stats.variants, 60_000);
        assert_eq!(
            stats
                .contigs
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["chr1", "chr2", "chr0"]
        );
        for threads in [2, 3] {
            let (out, threaded) = run(threads, false);
            assert!(out == single, "{threads} threads");
            assert_eq!(threaded.contigs, stats.contigs);
            assert_eq!(threaded.alt_alleles, 120_000);
        }
        let (compressed, _) = run(2, true);
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::MultiGzDecoder::new(&compressed[..]),
            &mut text,
        )
        .unwrap();
        assert!(text == single);
        assert!(compressed.ends_with(&crate::bgzf::EOF_BLOCK));

        // An error deep in the input names its line, whatever the threads.
        let bad_line = 2 + 45_678;
        let broken = replace_data_line(&input, bad_line, "chr1\t0\t.\tA\tG\t.\t.\t.");
        for threads in [1, 2] {
            let options = Options {
                threads,
                ..Options::default()
            };
            match annotate(broken.as_bytes(), io::sink(), &options, &mut |_| {}) {
                Err(AnnotateError::Malformed { line, message }) => {
                    assert_eq!(line, bad_line as u64, "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    fn replace_data_line(input: &str, number: usize, with: &str) -> String {
        let mut lines: Vec<&str> = input.lines().collect();
        lines[number - 1] = with;
        lines.join("\n") + "\n"
    }

    #[test]
    fn gzip_input() {
        use std::io::Write as _;
        let text = format!("{HEADER}1\t10\t.\tA\tG\t.\t.\t.\n");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
        encoder.write_all(text.as_bytes()).unwrap();
        let gz = encoder.finish().unwrap();
        let mut out = Vec::new();
        let mut last = 0;
        let stats = annotate(&gz[..], &mut out, &Options::default(), &mut |n| last = n).unwrap();
        assert_eq!(
            (stats.variants, stats.bytes_read, last),
            (1, gz.len() as u64, gz.len() as u64)
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("VC=SNV;TITV=ts\n"));
        let err = annotate(
            &gz[..gz.len() - 5],
            io::sink(),
            &Options::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, AnnotateError::BadCompression { .. }),
            "{err:?}"
        );
        assert!(err.is_input_error());
    }

    /// `megabytes` MB of one repeated VCF line after a header, gzip- and
    /// BGZF-compressed, each into a few hundred KB at most.
    fn bombs(megabytes: usize) -> [Vec<u8>; 2] {
        use std::io::Write as _;
        let block = "1\t100\t.\tA\tG\t.\t.\t.\n".repeat((1 << 20) / 20);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut bgzf = Vec::new();
        let mut encoder = crate::bgzf::BgzfEncoder::new();
        gzip.write_all(HEADER.as_bytes()).unwrap();
        encoder.encode(HEADER.as_bytes(), &mut bgzf);
        let mut written = HEADER.len();
        while written < megabytes * 1_000_000 {
            gzip.write_all(block.as_bytes()).unwrap();
            encoder.encode(block.as_bytes(), &mut bgzf);
            written += block.len();
        }
        bgzf.extend_from_slice(&crate::bgzf::EOF_BLOCK);
        [gzip.finish().unwrap(), bgzf]
    }

    /// A gzip bomb (50 MB of VCF text in some KB) stops at the bound on
    /// decompressed bytes, having written about that much and no more.
    #[test]
    fn compressed_input_stops_at_the_inflate_bound() {
        let limit = 1_000_000;
        let options = Options {
            max_inflated_bytes: Some(limit),
            ..Options::default()
        };
        for (bomb, kind) in bombs(50).iter().zip(["gzip", "BGZF"]) {
            assert!(bomb.len() < 400_000, "{kind}: {} bytes", bomb.len());
            let mut out = Vec::new();
            let err = annotate(&bomb[..], &mut out, &options, &mut |_| {}).unwrap_err();
            assert!(
                matches!(err, AnnotateError::InflatedTooLarge { limit: 1_000_000 }),
                "{kind}: {err:?}"
            );
            assert!(err.is_input_error());
            assert!(err.to_string().contains("1000000 bytes"), "{err}");
            // Annotated lines are longer than the input's; the run stopped
            // within a chunk or so of the bound.
            assert!(
                out.len() < 4 * limit as usize,
                "{kind}: wrote {}",
                out.len()
            );
        }
    }

    /// The bound is on the decompressed bytes, exactly: input that
    /// decompresses to the bound runs; one byte more does not. Plain input
    /// is not counted.
    #[test]
    fn the_inflate_bound_is_exact_and_only_for_compressed_input() {
        use std::io::Write as _;
        let text = format!("{HEADER}1\t10\t.\tA\tG\t.\t.\t.\n");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Default::default());
        encoder.write_all(text.as_bytes()).unwrap();
        let gz = encoder.finish().unwrap();
        let mut bgzf = Vec::new();
        crate::bgzf::BgzfEncoder::new().encode(text.as_bytes(), &mut bgzf);
        bgzf.extend_from_slice(&crate::bgzf::EOF_BLOCK);
        let bounded = |limit: u64| Options {
            max_inflated_bytes: Some(limit),
            ..Options::default()
        };
        let size = text.len() as u64;
        for input in [&gz, &bgzf] {
            let stats = annotate(&input[..], io::sink(), &bounded(size), &mut |_| {}).unwrap();
            assert_eq!(stats.variants, 1);
            let err =
                annotate(&input[..], io::sink(), &bounded(size - 1), &mut |_| {}).unwrap_err();
            assert!(
                matches!(err, AnnotateError::InflatedTooLarge { .. }),
                "{err:?}"
            );
        }
        let stats = annotate(text.as_bytes(), io::sink(), &bounded(10), &mut |_| {}).unwrap();
        assert_eq!(stats.variants, 1, "plain input is not bounded by it");
    }

    /// A new CHROM on every line: the statistics keep rows for the first
    /// contigs only and count the rest in one `other` row, with how many
    /// there were; the log says so. Whatever the threads.
    #[test]
    fn contigs_beyond_the_cap_fold_into_one_row() {
        let mut input = HEADER.to_string();
        for i in 0..100_000 {
            input.push_str(&format!("c{i}\t1\t.\tA\tG\t.\t.\t.\n"));
        }
        // Seen again: a kept contig, and a folded one (counted once).
        input.push_str("c0\t2\t.\tA\tG\t.\t.\t.\n");
        input.push_str("c99999\t2\t.\tA\tG\t.\t.\t.\n");
        // A name too long for a row of its own, early on.
        let long = "x".repeat(Stats::MAX_CONTIG_NAME_BYTES + 1);
        input.insert_str(HEADER.len(), &format!("{long}\t1\t.\tA\tG\t.\t.\t.\n"));
        for threads in [1, 3] {
            let options = Options {
                threads,
                ..Options::default()
            };
            let stats = annotate(input.as_bytes(), io::sink(), &options, &mut |_| {}).unwrap();
            assert_eq!(stats.variants, 100_003);
            assert_eq!(stats.contigs.len(), Stats::MAX_CONTIGS, "{threads} threads");
            assert_eq!(
                (stats.contigs[0].name.as_str(), stats.contigs[0].variants),
                ("c0", 2)
            );
            assert_eq!(stats.contigs[999].name, "c999");
            let other = stats.other_contigs.clone().expect("an other row");
            assert_eq!(other.name, "other");
            assert_eq!(other.variants, 99_000 + 1 + 1, "{threads} threads");
            assert_eq!(stats.contigs_folded, 99_001, "{threads} threads");
            let log = stats.render_log("in.vcf");
            assert!(
                log.contains(
                    "Variants per contig (1000 listed; 99001 more contigs counted as other):"
                ),
                "{}",
                &log[..log.len().min(2000)]
            );
            assert!(
                log.contains("\n  other             99002\n"),
                "{}",
                &log[log.len() - 300..]
            );
        }
    }

    /// A writer that keeps only the size of the largest write it was given.
    struct LargestWrite(usize);

    impl Write for LargestWrite {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 = self.0.max(buf.len());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A header of many `##contig` lines is written as it is read, not
    /// gathered whole first.
    #[test]
    fn long_headers_stream() {
        let mut input = String::from("##fileformat=VCFv4.2\n");
        for i in 0..300_000 {
            input.push_str(&format!("##contig=<ID=scaffold_{i},length=1000>\n"));
        }
        assert!(input.len() > 10_000_000);
        input.push_str(&HEADER["##fileformat=VCFv4.2\n".len()..]);
        input.push_str("scaffold_1\t10\t.\tA\tG\t.\t.\t.\n");
        for bgzf in [false, true] {
            let options = Options {
                bgzf_output: bgzf,
                ..Options::default()
            };
            let mut out = LargestWrite(0);
            let stats = annotate(input.as_bytes(), &mut out, &options, &mut |_| {}).unwrap();
            assert_eq!(stats.variants, 1);
            assert!(out.0 < 2 << 20, "bgzf {bgzf}: one write of {} bytes", out.0);
        }
        let mut out = Vec::new();
        annotate(input.as_bytes(), &mut out, &Options::default(), &mut |_| {}).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.matches("##contig=").count(), 300_000);
        assert!(out.ends_with("VC=SNV;TITV=ts\n"));
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
