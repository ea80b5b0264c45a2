//! Every HGVS string GAS writes parses with the biocommons `hgvs` parser
//! (PyPI `hgvs`, syntax only; `scripts/hgvs.sh` installs it and exports
//! `GAS_HGVS_PYTHON`): HGVSc and HGVSp of the course's mitochondrial
//! samples with the built-in models, and of every case of bcftools' csq
//! test suite (`GAS_BCFTOOLS_CSQ_DIR`, see `scripts/csq-peers.sh`), which
//! holds the splice, UTR, frameshift, stop-loss and repeat cases.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn required() -> bool {
    std::env::var("GAS_REQUIRE_CSQ_PEERS").as_deref() == Ok("1")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `gas annotate` of `vcf` with `models` and `genome`; the output text.
fn annotate(models: &str, genome: &str, vcf: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gas"))
        .args(["annotate", "--transcripts", models, "--reference", genome])
        .arg(vcf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gas annotate {}: {}",
        vcf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whether `id` is an accession as HGVS (and the parser) spells one:
/// letters, digits and `_`, then an optional numeric version.
fn is_accession(id: &str) -> bool {
    let (stem, version) = id.split_once('.').unwrap_or((id, "1"));
    stem.starts_with(|c: char| c.is_ascii_alphabetic())
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !version.is_empty()
        && version.chars().all(|c| c.is_ascii_digit())
}

/// `value` as the parser is given it: the description GAS wrote, after the
/// transcript or protein id of the models, which GAS copies as the file
/// writes it (WormBase's `C41D11.1d.1` is no HGVS accession); such an id is
/// replaced by a stand-in so that the description is still checked.
fn for_parser(value: &str) -> String {
    match value.split_once(':') {
        Some((id, description)) if !is_accession(id) => {
            let stand_in = if description.starts_with("p.") {
                "NP_000000.1"
            } else {
                "NM_000000.1"
            };
            format!("{stand_in}:{description}")
        }
        _ => value.to_owned(),
    }
}

/// The HGVSc and HGVSp values of every CSQ entry of `vcf`.
fn hgvs_strings(vcf: &str, into: &mut Vec<String>) {
    let Some(fields) = vcf
        .lines()
        .find_map(|l| l.strip_prefix("##INFO=<ID=CSQ,"))
        .and_then(|l| l.split_once("Format: "))
        .map(|(_, list)| list.trim_end_matches("\">").split('|').collect::<Vec<_>>())
    else {
        return;
    };
    let at = |name: &str| fields.iter().position(|f| *f == name).unwrap();
    let (c, p) = (at("HGVSc"), at("HGVSp"));
    for line in vcf.lines().filter(|l| !l.starts_with('#')) {
        let info = line.split('\t').nth(7).unwrap_or("");
        let Some(csq) = info.split(';').find_map(|kv| kv.strip_prefix("CSQ=")) else {
            continue;
        };
        for entry in csq.split(',') {
            let values: Vec<&str> = entry.split('|').collect();
            for i in [c, p] {
                if !values[i].is_empty() {
                    into.push(for_parser(values[i]));
                }
            }
        }
    }
}

/// The bcftools csq suite's cases: (models, genome, VCF) of every
/// directory holding one GFF, one FASTA and VCFs.
fn suite_cases(dir: &Path) -> Vec<(PathBuf, PathBuf, PathBuf)> {
    let mut cases = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("csq")) else {
        return cases;
    };
    let mut dirs: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs.into_iter().filter(|d| d.is_dir()) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let with = |ext: &str| -> Vec<PathBuf> {
            files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == ext))
                .cloned()
                .collect()
        };
        let (Some(gff), Some(fa)) = (with("gff").pop(), with("fa").pop()) else {
            continue;
        };
        for vcf in with("vcf") {
            cases.push((gff.clone(), fa.clone(), vcf));
        }
    }
    cases
}

#[test]
fn accessions_are_told_apart() {
    assert!(is_accession("ENST00000361390.2") && is_accession("MT_ND1_t1"));
    assert!(!is_accession("MT-ND1.t1") && !is_accession("C41D11.1d.1"));
    assert_eq!(for_parser("C41D11.1d.1:c.145A>T"), "NM_000000.1:c.145A>T");
    assert_eq!(for_parser("X.1b:p.Met1?"), "NP_000000.1:p.Met1?");
    assert_eq!(for_parser("MT_ND1_t1:c.2T>C"), "MT_ND1_t1:c.2T>C");
}

#[test]
fn every_hgvs_string_parses_with_the_biocommons_parser() {
    let Ok(python) = std::env::var("GAS_HGVS_PYTHON") else {
        assert!(
            !required(),
            "GAS_HGVS_PYTHON is not set: run scripts/hgvs.sh"
        );
        eprintln!("skipping: GAS_HGVS_PYTHON is not set (scripts/hgvs.sh)");
        return;
    };
    let mut strings = Vec::new();
    let samples = repo().join("../shared/data/samples");
    for sample in ["test.vcf", "free_1.vcf"] {
        let path = samples.join(sample);
        if path.exists() {
            hgvs_strings(&annotate("builtin", "builtin", &path), &mut strings);
        }
    }
    let mt = strings.len();
    match std::env::var("GAS_BCFTOOLS_CSQ_DIR") {
        Ok(dir) => {
            for (gff, fa, vcf) in suite_cases(Path::new(&dir)) {
                let out = Command::new(env!("CARGO_BIN_EXE_gas"))
                    .args(["annotate", "--transcripts"])
                    .arg(&gff)
                    .arg("--reference")
                    .arg(&fa)
                    .arg(&vcf)
                    .output()
                    .unwrap();
                // A few cases are malformed on purpose; they are the
                // peers test's business.
                if out.status.success() {
                    hgvs_strings(&String::from_utf8(out.stdout).unwrap(), &mut strings);
                }
            }
        }
        Err(_) => assert!(!required(), "GAS_BCFTOOLS_CSQ_DIR is not set"),
    }
    assert!(mt > 1000, "the MT samples gave {mt} HGVS strings");
    assert!(strings.len() > mt, "bcftools' suite gave no HGVS strings");
    let mut child = Command::new(python)
        .arg(repo().join("scripts/hgvs_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for s in &strings {
            writeln!(stdin, "{s}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", report.lines().last().unwrap_or(""));
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!("parsed {}, refused 0", strings.len())),
        "{report}"
    );
}
