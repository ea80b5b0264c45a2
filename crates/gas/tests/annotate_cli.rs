//! `gas annotate` as a person runs it: `--track builtin` names the tracks
//! the binary ships, as the runner's configuration does, and a compressed
//! input past `--max-inflated-bytes` is refused with the bound named.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/samples/test.vcf")
}

#[test]
fn track_builtin_loads_the_shipped_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.vcf");
    let run = Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(["annotate", "--track", "builtin"])
        .arg(sample())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    // The gene track's INFO field is declared, and MT variants get genes.
    assert!(text.contains("##INFO=<ID=GENE,"), "no GENE header");
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l.contains("GENE=")),
        "no record got a gene"
    );
}

#[test]
fn a_missing_track_file_is_a_clear_error() {
    let run = Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(["annotate", "--track", "no-such-track.bed"])
        .arg(sample())
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no-such-track.bed"), "{stderr}");
}

#[test]
fn compressed_input_past_the_bound_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.vcf.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&input).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(sample()).unwrap()).unwrap();
    gz.finish().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(["annotate", "--max-inflated-bytes", "100"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("100"), "the bound is named: {stderr}");
}
