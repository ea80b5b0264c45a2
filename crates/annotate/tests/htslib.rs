//! Bad and unusual input: every VCF (and BCF) file of Debian's `htslib-test`
//! package, the malformed and edge-case files htslib tests itself with. The
//! annotator must never panic on them, and each must either annotate or
//! fail with an error that names the offending line.
//!
//! Without the package (`apt-get install htslib-test`) the test prints a
//! notice and passes. `GAS_HTSLIB_TEST_DIR` points it at another copy.

use std::ffi::OsStr;
use std::fs;
use std::io::BufReader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use gas_annotate::{annotate, AnnotateError, Options, Track};

const DEFAULT_DIR: &str = "/usr/share/htslib-test";

/// The files to try: `*.vcf`, `*.vcf.gz` and `*.bcf` anywhere under `dir`,
/// sorted.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            let name = path.file_name().and_then(OsStr::to_str).unwrap_or("");
            if path.is_dir() {
                pending.push(path);
            } else if [".vcf", ".vcf.gz", ".bcf"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A BED and a VCF track on the contigs the htslib test files use (`1`,
/// `20`, `chr1`...), so that the track code runs too.
fn tracks() -> Vec<Track> {
    let bed = "1\t0\t100000000\tBIG\n20\t14000\t18000\tSMALL\nchr1\t0\t1000\tX\n";
    let vcf = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n\
               1\t3000150\trs1\tC\tT\n20\t14370\trs6054257\tG\tA\n";
    vec![
        Track::from_reader("genes.bed", bed.as_bytes()).unwrap(),
        Track::from_reader("sites.vcf", vcf.as_bytes()).unwrap(),
    ]
}

/// What annotating one file did: `Ok` with a summary, or `Err` with why the
/// outcome is unacceptable.
fn try_file(path: &Path, options: &Options) -> Result<String, String> {
    let file = fs::File::open(path).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut output = Vec::new();
        annotate(BufReader::new(file), &mut output, options, &mut |_| {}).map(|s| (s, output))
    }));
    match result {
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(format!("panicked: {message}"))
        }
        Ok(Ok((stats, output))) => {
            if !output.starts_with(b"##fileformat=VCF") && !options.bgzf_output {
                return Err("annotated, but the output is not a VCF".to_string());
            }
            Ok(format!("annotated {} records", stats.variants))
        }
        Ok(Err(error)) => match &error {
            // Errors about the content must say which line.
            AnnotateError::Malformed { line, .. }
            | AnnotateError::UnsupportedVersion { line, .. }
                if *line > 0 =>
            {
                Ok(format!("rejected: {error}"))
            }
            // An input without a #CHROM line has no line to name; the error
            // says how many lines it read.
            AnnotateError::IncompleteHeader { .. } => Ok(format!("rejected: {error}")),
            _ => Err(format!("failed without naming a line: {error}")),
        },
    }
}

#[test]
fn htslib_test_files_never_crash_the_annotator() {
    let dir = std::env::var_os("GAS_HTSLIB_TEST_DIR")
        .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
    if !dir.is_dir() {
        eprintln!(
            "NOTICE: {} not found (apt-get install htslib-test); skipping",
            dir.display()
        );
        return;
    }
    let files = inputs(&dir);
    assert!(!files.is_empty(), "no VCF files under {}", dir.display());
    let mut failures = Vec::new();
    let (mut annotated, mut rejected) = (0, 0);
    for bgzf_output in [false, true] {
        for threads in [1, 2] {
            let mut options = Options::default();
            options.tracks = tracks();
            options.threads = threads;
            options.bgzf_output = bgzf_output;
            for path in &files {
                let shown = path.strip_prefix(&dir).unwrap_or(path).display();
                match try_file(path, &options) {
                    Ok(summary) => {
                        if threads == 1 && !bgzf_output {
                            eprintln!("{shown}: {summary}");
                            if summary.starts_with("annotated") {
                                annotated += 1;
                            } else {
                                rejected += 1;
                            }
                        }
                    }
                    Err(problem) => failures.push(format!(
                        "{shown} (threads {threads}, bgzf {bgzf_output}): {problem}"
                    )),
                }
            }
        }
    }
    eprintln!(
        "{} files: {annotated} annotated, {rejected} rejected with a line number",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
