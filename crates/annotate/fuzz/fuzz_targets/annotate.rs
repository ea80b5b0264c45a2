//! Feeds arbitrary bytes to the annotator as a VCF (plain or gzip), with a
//! small in-memory BED and VCF track, and checks what it promises:
//! - it never panics;
//! - an error about the content names a line (or, for an input without a
//!   `#CHROM` line, says how many lines it read);
//! - a successful run writes a VCF that annotates again to the same output
//!   (the annotation is idempotent).
//!
//! The first input byte picks the options (BGZF output, a short line cap);
//! the rest is the VCF.

#![no_main]

use std::sync::OnceLock;

use gas_annotate::{annotate, AnnotateError, Options, Track};
use libfuzzer_sys::fuzz_target;

/// Genes and sites on contigs the seeds use (`1`, `MT`, `Y`, in the other
/// naming style) and on a few short ones the fuzzer can guess.
fn tracks() -> &'static [Track] {
    static TRACKS: OnceLock<Vec<Track>> = OnceLock::new();
    TRACKS.get_or_init(|| {
        let bed = "chr1\t0\t1000000\tBIG\nchr1\t100\t200\tA;B=C D\nchrM\t0\t16569\tMT-ALL\n\
                   chrM\t3305\t4262\tMT-ND1\nchrY\t2600000\t2700000\tY1\nchr2\t5\t6\tTWO\n\
                   X\t0\t4294967295\tWHOLE\n";
        let vcf = "##fileformat=VCFv4.2\n##reference=GRCh37\n#CHROM\tPOS\tID\tREF\tALT\n\
                   chr1\t10\trs10\tA\tG\nchr1\t10\trs11;rs12\tA\tC,T\nchrM\t73\trs73\tA\tG\n\
                   chr2\t1\t.\tN\tA\nchr2\t2\trs2\tACGT\tA\nX\t4294967295\trsmax\tT\tC\n";
        vec![
            Track::from_reader("genes.bed", bed.as_bytes()).expect("the BED track loads"),
            Track::from_reader("sites.vcf", vcf.as_bytes()).expect("the VCF track loads"),
        ]
    })
}

fn options(selector: u8) -> Options {
    let mut options = Options::default();
    options.tracks = tracks().to_vec();
    options.threads = 1;
    options.bgzf_output = selector & 1 == 1;
    if selector & 2 == 2 {
        options.max_line_bytes = 64;
    }
    options
}

/// Annotates `input` (plain or gzip/BGZF) with `options`.
fn run(input: &[u8], options: &Options) -> Result<Vec<u8>, AnnotateError> {
    let mut output = Vec::new();
    annotate(input, &mut output, options, &mut |_| {})?;
    Ok(output)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, vcf)) = data.split_first() else {
        return;
    };
    let options = options(selector);
    match run(vcf, &options) {
        Ok(first) => {
            // The output (BGZF or plain) must be valid input, and annotating
            // it again must change nothing more: the first pass may upgrade
            // the version and normalise entries, later passes are fixed
            // points. Plain output and the default line cap from here on
            // (added INFO entries may lengthen lines past a short cap).
            let mut plain = Options::default();
            plain.tracks = options.tracks.clone();
            plain.threads = 1;
            let second = run(&first, &plain)
                .unwrap_or_else(|e| panic!("the annotator's own output is rejected: {e}"));
            let third = run(&second, &plain)
                .unwrap_or_else(|e| panic!("the second output is rejected: {e}"));
            assert!(second == third, "annotating again changes the output");
        }
        Err(AnnotateError::Malformed { line, message }) => {
            assert!(line > 0, "a malformed-input error names line 0: {message}");
        }
        Err(AnnotateError::UnsupportedVersion { line, .. }) => assert_eq!(line, 1),
        Err(AnnotateError::IncompleteHeader { .. } | AnnotateError::BadCompression { .. }) => {}
        Err(AnnotateError::Io(e)) => panic!("I/O error on in-memory streams: {e}"),
        Err(AnnotateError::InflatedTooLarge { limit }) => {
            panic!("no inflation bound was set, yet {limit} bytes were too many")
        }
    }
});
