//! `gas-annotate` as a person runs it: the same options and the same bytes
//! as the library (which `gas annotate` runs too), clear errors, no output
//! left by a failed run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gas_annotate::consequence::Pick;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/samples")
        .join(name)
}

fn gas_annotate(args: &[&str], input: &Path, output: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gas-annotate"));
    command.args(args).arg(input);
    if let Some(out) = output {
        command.arg("-o").arg(out);
    }
    command.output().unwrap()
}

fn stderr(run: &Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[test]
fn builtin_consequences_are_the_libraries_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.vcf");
    let input = sample("free_1.vcf");
    let run = gas_annotate(
        &[
            "--track",
            "builtin",
            "--transcripts",
            "builtin",
            "--reference",
            "builtin",
            "--threads",
            "2",
        ],
        &input,
        Some(&out),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let written = std::fs::read(&out).unwrap();

    // The same annotation through the library, as `gas annotate` runs it.
    let mut options = gas_annotate::Options::default();
    options.tracks = gas_annotate_cli::load_tracks(&["builtin".into()]).unwrap();
    options.consequences =
        gas_annotate_cli::load_consequences(&["builtin".into()], Some("builtin"), Pick::All)
            .unwrap();
    options.threads = 2;
    let mut expected = Vec::new();
    let file = std::io::BufReader::new(std::fs::File::open(&input).unwrap());
    gas_annotate::annotate(file, &mut expected, &options, &mut |_| {}).unwrap();
    assert_eq!(
        String::from_utf8(written).unwrap(),
        String::from_utf8(expected).unwrap()
    );

    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("##INFO=<ID=CSQ,"), "no CSQ header");
    // rCRS 10126 G>A: MT-ND3 p.Trp23Ter, a HIGH-impact stop gained.
    let record = text
        .lines()
        .find(|l| l.starts_with("MT\t10126\t") || l.starts_with("chrM\t10126\t"))
        .expect("the 10126 record");
    assert!(record.contains("stop_gained|HIGH|MT-ND3|"), "{record}");
    assert!(record.contains("p.Trp23Ter"), "{record}");
    // The run's counts, as the job log has them.
    let log = stderr(&run);
    assert!(log.contains("stop_gained"), "{log}");
}

#[test]
fn standard_output_and_bgzip_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("test.vcf");
    let run = gas_annotate(&["--transcripts", "builtin"], &input, None);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.starts_with("##fileformat=VCF"));
    assert!(text.contains("##INFO=<ID=CSQ,"));
    // Without a reference, the header says what was left out.
    assert!(
        text.contains("Reference=none,Omitted=\"no reference genome"),
        "no note"
    );

    let gz = dir.path().join("out.vcf.gz");
    let run = gas_annotate(&["--transcripts", "builtin"], &input, Some(&gz));
    assert!(run.status.success(), "{}", stderr(&run));
    let bytes = std::fs::read(&gz).unwrap();
    // BGZF: gzip with the BC extra field.
    assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 4]);
    assert_eq!(&bytes[12..14], b"BC");
}

#[test]
fn bad_input_is_a_clear_error_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.vcf");

    let missing = dir.path().join("no-such.vcf");
    let run = gas_annotate(&[], &missing, Some(&out));
    assert!(!run.status.success());
    assert!(stderr(&run).contains("no-such.vcf"), "{}", stderr(&run));
    assert!(!out.exists());

    let bad = dir.path().join("bad.vcf");
    std::fs::write(&bad, "##fileformat=VCFv4.2\nnot a header\n").unwrap();
    let run = gas_annotate(&["--transcripts", "builtin"], &bad, Some(&out));
    assert!(!run.status.success());
    assert!(stderr(&run).contains("bad.vcf"), "{}", stderr(&run));
    assert!(!out.exists(), "a failed run left its output");

    let run = gas_annotate(&["--track", "no-such-track.bed"], &sample("test.vcf"), None);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("no-such-track.bed"),
        "{}",
        stderr(&run)
    );

    // A genome needs models (as `gas annotate` says).
    let run = gas_annotate(&["--reference", "builtin"], &sample("test.vcf"), None);
    assert!(!run.status.success());
    assert!(stderr(&run).contains("--transcripts"), "{}", stderr(&run));
}

#[test]
fn version_and_help_name_the_binary() {
    let run = Command::new(env!("CARGO_BIN_EXE_gas-annotate"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(
        String::from_utf8(run.stdout).unwrap().trim(),
        format!("gas-annotate {}", env!("CARGO_PKG_VERSION"))
    );
    let run = Command::new(env!("CARGO_BIN_EXE_gas-annotate"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(run.stdout).unwrap();
    for option in ["--transcripts", "--reference", "--track", "--per-gene"] {
        assert!(help.contains(option), "{option} missing from {help}");
    }
}
