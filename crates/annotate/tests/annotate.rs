//! Annotates the six GAS sample VCFs and checks the results, against
//! bcftools where it is installed.
//!
//! The samples live in the shared data folder beside the repository checkout;
//! without it these tests print a notice and pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use gas_annotate::{annotate, annotate_file, AnnotateError, Options, Stats};

/// The samples with their record counts and our (ts, tv) over all ALT
/// alleles.
const SAMPLES: [(&str, u64, (u64, u64)); 6] = [
    ("test.vcf", 350, (318, 24)),
    ("free_1.vcf", 1141, (1071, 74)),
    ("free_2.vcf", 2788, (1738, 1050)),
    ("premium_1.vcf", 3000, (2320, 680)),
    ("premium_2.vcf", 976, (698, 278)),
    ("premium_3.vcf", 3431, (2691, 740)),
];

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples");
    if dir.join("test.vcf").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: sample VCFs not found at {}; skipping",
            dir.display()
        );
        None
    }
}

fn has_bcftools() -> bool {
    let found = Command::new("bcftools")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("NOTICE: bcftools not found; skipping the bcftools comparison");
    }
    found
}

/// Annotates `name` into `dir`, returning the output path and the stats.
fn annotate_sample(samples: &Path, name: &str, dir: &Path) -> (PathBuf, Stats) {
    let output = dir.join(name);
    let mut last = 0;
    let stats = annotate_file(
        &samples.join(name),
        &output,
        &Options::default(),
        &mut |n| last = n,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        last,
        fs::metadata(samples.join(name)).unwrap().len(),
        "{name}: final progress"
    );
    (output, stats)
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn info_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let info = line.split('\t').nth(7)?;
    info.split(';')
        .find_map(|entry| entry.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn every_sample_annotates() {
    let Some(samples) = samples_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, records, _) in SAMPLES {
        let input = fs::read_to_string(samples.join(name)).unwrap();
        let (output, stats) = annotate_sample(&samples, name, dir.path());
        let output = fs::read_to_string(output).unwrap();
        let (inputs, outputs) = (data_lines(&input), data_lines(&output));

        assert_eq!(inputs.len() as u64, records, "{name}: the sample changed");
        assert_eq!(stats.variants, records, "{name}");
        assert_eq!(outputs.len(), inputs.len(), "{name}");
        assert_eq!(stats.classes.total(), stats.alt_alleles, "{name}");
        assert_eq!(
            stats.classes.snv,
            stats.transitions + stats.transversions,
            "{name}: no N in the samples"
        );
        assert_eq!(
            stats.contigs.iter().map(|c| c.variants).sum::<u64>(),
            records,
            "{name}"
        );

        let mut alleles = 0;
        for (before, after) in inputs.iter().zip(&outputs) {
            let alts = before.split('\t').nth(4).unwrap().split(',').count();
            alleles += alts as u64;
            let vc = info_value(after, "VC").unwrap_or_else(|| panic!("{name}: no VC in {after}"));
            let titv =
                info_value(after, "TITV").unwrap_or_else(|| panic!("{name}: no TITV in {after}"));
            assert_eq!(vc.split(',').count(), alts, "{name}: {after}");
            assert_eq!(titv.split(',').count(), alts, "{name}: {after}");
            // Columns other than INFO (and QUAL/FILTER of VCFv3.3) are kept.
            let cols_before: Vec<&str> = before.split('\t').collect();
            let cols_after: Vec<&str> = after.split('\t').collect();
            assert_eq!(cols_before.len(), cols_after.len(), "{name}");
            assert_eq!(cols_before[..5], cols_after[..5], "{name}");
            assert_eq!(cols_before[8..], cols_after[8..], "{name}");
        }
        assert_eq!(stats.alt_alleles, alleles, "{name}");

        let header: Vec<&str> = output.lines().take_while(|l| l.starts_with("##")).collect();
        assert_eq!(
            header
                .iter()
                .filter(|l| l.starts_with("##INFO=<ID=VC,"))
                .count(),
            1,
            "{name}"
        );
        assert_eq!(
            header
                .iter()
                .filter(|l| l.starts_with("##INFO=<ID=TITV,"))
                .count(),
            1,
            "{name}"
        );
        assert_eq!(
            header
                .iter()
                .filter(|l| l.starts_with("##gas_annotate=<Version="))
                .count(),
            1,
            "{name}"
        );
        let expected_format = if input.starts_with("##fileformat=VCFv3.3")
            || input.starts_with("##fileformat=VCFv4.0")
        {
            "##fileformat=VCFv4.2"
        } else {
            input.lines().next().unwrap()
        };
        assert_eq!(header[0], expected_format, "{name}");
        assert!(!stats.render_log(name).is_empty());
    }
}

#[test]
fn known_counts() {
    let Some(samples) = samples_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, _, (ts, tv)) in SAMPLES {
        let (_, stats) = annotate_sample(&samples, name, dir.path());
        assert_eq!((stats.transitions, stats.transversions), (ts, tv), "{name}");
    }
    // test.vcf: 350 records on MT, 359 ALT alleles.
    let (_, stats) = annotate_sample(&samples, "test.vcf", dir.path());
    assert_eq!(stats.contigs.len(), 1);
    assert_eq!(stats.contigs[0].name, "MT");
    assert_eq!(stats.alt_alleles, stats.classes.total());
    assert!(stats.classes.ins > 0 && stats.classes.del > 0);
}

#[test]
fn reannotating_is_stable() {
    let Some(samples) = samples_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, ..) in SAMPLES {
        let (once, first) = annotate_sample(&samples, name, dir.path());
        let twice = dir.path().join(format!("again-{name}"));
        let second = annotate_file(&once, &twice, &Options::default(), &mut |_| {}).unwrap();
        let (once, twice) = (
            fs::read_to_string(once).unwrap(),
            fs::read_to_string(twice).unwrap(),
        );
        assert_eq!(data_lines(&once), data_lines(&twice), "{name}");
        assert_eq!(first.classes, second.classes, "{name}");
        assert_eq!(
            (first.transitions, first.transversions),
            (second.transitions, second.transversions)
        );
    }
}

/// `bcftools view` reads every output without errors and sees every record;
/// for the VCFv3.3 sample it also sees the upgraded INFO definitions.
#[test]
fn bcftools_view_reads_output() {
    let Some(samples) = samples_dir() else { return };
    if !has_bcftools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, records, _) in SAMPLES {
        let (output, _) = annotate_sample(&samples, name, dir.path());
        let run = Command::new("bcftools")
            .arg("view")
            .arg(&output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            run.status.success(),
            "{name}: bcftools view failed: {stderr}"
        );
        assert!(!stderr.contains("[E::"), "{name}: {stderr}");
        let text = String::from_utf8(run.stdout).unwrap();
        assert_eq!(data_lines(&text).len() as u64, records, "{name}");
        for id in ["VC", "TITV"] {
            assert!(
                text.contains(&format!("##INFO=<ID={id},Number=A,Type=String")),
                "{name}: {id}"
            );
        }
        if name == "premium_3.vcf" {
            assert!(
                text.contains("##INFO=<ID=DP,Number=1,Type=Integer"),
                "{name}: DP definition lost"
            );
            assert!(
                text.contains("##FORMAT=<ID=GT,Number=1,Type=String"),
                "{name}: GT definition lost"
            );
        }
        // bcftools parses our INFO values.
        let query = Command::new("bcftools")
            .args(["query", "-f", "%INFO/VC\t%INFO/TITV\n"])
            .arg(&output)
            .output()
            .unwrap();
        assert!(query.status.success(), "{name}");
        let rows = String::from_utf8(query.stdout).unwrap();
        assert_eq!(rows.lines().count() as u64, records, "{name}");
        assert!(
            rows.lines().all(|r| !r.starts_with('.')),
            "{name}: VC missing for bcftools"
        );
    }
}

/// (ts, tv) from the `TSTV` line of `bcftools stats [args] file`.
fn bcftools_tstv(file: &Path, args: &[&str]) -> (u64, u64) {
    let run = Command::new("bcftools")
        .arg("stats")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8(run.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("TSTV\t"))
        .unwrap_or_else(|| panic!("no TSTV line for {}", file.display()));
    // TSTV  id  ts  tv  ts/tv  ts(1st ALT)  tv(1st ALT)  ts/tv(1st ALT)
    let cols: Vec<&str> = line.split('\t').collect();
    (cols[2].parse().unwrap(), cols[3].parse().unwrap())
}

/// Our Ts/Tv equals bcftools' on the same definition.
///
/// Both count per ALT allele (every allele of a multi-allelic record, not only
/// the first; bcftools' "SNPs" and "multiallelic SNP sites" in its SN lines
/// count records instead). They differ on what a single-base substitution is:
/// bcftools trims the bases REF and ALT share at either end and calls
/// `CC>TC` or `AC>CC` an SNP (counting it by the first bases), while we follow
/// the VCF alleles as written and call those MNV, with TITV `.`. For records
/// whose REF is one base the two definitions coincide (and we count no SNV
/// elsewhere), so we compare with `bcftools stats -i 'strlen(REF)==1'`; the
/// unrestricted bcftools counts are at least ours. We run bcftools on our
/// output: it cannot compute stats on the VCFv3.3 input (its INFO types are
/// lost), and the output carries the same records.
#[test]
fn tstv_matches_bcftools_stats() {
    let Some(samples) = samples_dir() else { return };
    if !has_bcftools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, ..) in SAMPLES {
        let (output, stats) = annotate_sample(&samples, name, dir.path());
        let ours = (stats.transitions, stats.transversions);
        let same_definition = bcftools_tstv(&output, &["-i", "strlen(REF)==1"]);
        assert_eq!(
            ours, same_definition,
            "{name}: ours vs bcftools on 1-base REF records"
        );
        let all = bcftools_tstv(&output, &[]);
        assert!(
            all.0 >= ours.0 && all.1 >= ours.1,
            "{name}: {all:?} vs {ours:?}"
        );
        if let Some(ratio) = stats.ts_tv_ratio {
            let theirs = same_definition.0 as f64 / same_definition.1 as f64;
            assert!((ratio - theirs).abs() < 1e-9, "{name}");
        }
        if name != "premium_3.vcf" {
            // On VCFv4.0 input bcftools sees the same as on our output.
            assert_eq!(
                bcftools_tstv(&samples.join(name), &["-i", "strlen(REF)==1"]),
                same_definition,
                "{name}"
            );
        }
    }
}

/// `input` with line `number` (1-based) replaced by `with`.
fn replace_line(input: &[u8], number: usize, with: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    lines[number - 1] = with;
    lines.join(&b'\n')
}

fn expect_malformed(input: &[u8], line: u64, what: &str) {
    let result = annotate(input, std::io::sink(), &Options::default(), &mut |_| {});
    match result {
        Err(AnnotateError::Malformed { line: got, message }) => {
            assert_eq!(got, line, "{what}: {message}");
        }
        other => panic!("{what}: expected Malformed at line {line}, got {other:?}"),
    }
}

/// A failed run removes its partial output, but only a regular file:
/// `-o /dev/null` once unlinked the machine's `/dev/null` (as root). The
/// test writes through a link to `/dev/null`, so that should the check
/// break, only the link goes.
#[test]
fn a_failed_run_removes_only_a_regular_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.vcf");
    fs::write(&input, "##fileformat=VCFv4.2\n#CHROM\tPOS\n1\tx\n").unwrap();

    let file = dir.path().join("out.vcf");
    assert!(annotate_file(&input, &file, &Options::default(), &mut |_| {}).is_err());
    assert!(!file.exists(), "a regular output is removed on error");

    let device = dir.path().join("null");
    std::os::unix::fs::symlink("/dev/null", &device).unwrap();
    assert!(annotate_file(&input, &device, &Options::default(), &mut |_| {}).is_err());
    assert!(
        fs::symlink_metadata(&device).is_ok(),
        "a device output is left alone on error"
    );
}

#[test]
fn malformed_samples_name_the_line() {
    let Some(samples) = samples_dir() else { return };
    let input = fs::read(samples.join("free_2.vcf")).unwrap();
    let text = String::from_utf8(input.clone()).unwrap();
    let header_lines = text.lines().take_while(|l| l.starts_with('#')).count();
    let target = header_lines + 100; // a data line
    let original = text.lines().nth(target - 1).unwrap().as_bytes().to_vec();

    // Truncated columns: the line cut inside its ALT column.
    let cut: Vec<u8> = original
        .split(|&b| b == b'\t')
        .take(4)
        .collect::<Vec<_>>()
        .join(&b'\t');
    expect_malformed(
        &replace_line(&input, target, &cut),
        target as u64,
        "truncated columns",
    );

    // Truncated file: the last line cut inside its REF column.
    let last_start = input[..input.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let fourth_tab = input[last_start..]
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\t')
        .nth(3)
        .unwrap()
        .0;
    let last = text.lines().count();
    expect_malformed(
        &input[..last_start + fourth_tab],
        last as u64,
        "truncated file",
    );

    // Bad POS.
    let mut cols: Vec<&[u8]> = original.split(|&b| b == b'\t').collect();
    for pos in [&b"0"[..], b"12a", b"-5", b""] {
        cols[1] = pos;
        expect_malformed(
            &replace_line(&input, target, &cols.join(&b'\t')),
            target as u64,
            "bad POS",
        );
    }

    // No header: the data lines alone.
    let body: Vec<u8> = text
        .lines()
        .skip(header_lines)
        .flat_map(|l| [l.as_bytes(), b"\n"].concat())
        .collect();
    expect_malformed(&body, 1, "no header");
    // No #CHROM line: meta lines, then data.
    let no_chrom: Vec<u8> = text
        .lines()
        .filter(|l| !l.starts_with("#CHROM"))
        .flat_map(|l| [l.as_bytes(), b"\n"].concat())
        .collect();
    expect_malformed(&no_chrom, header_lines as u64, "no #CHROM");

    // Garbage bytes in a data line and in the header.
    let mut garbage = original.clone();
    garbage.splice(10..10, [0xff, 0xfe, 0x00, 0x9c]);
    expect_malformed(
        &replace_line(&input, target, &garbage),
        target as u64,
        "garbage data line",
    );
    expect_malformed(
        &replace_line(&input, 3, b"##source=\xc3\x28"),
        3,
        "garbage header line",
    );
    // Binary noise instead of a data line.
    let noise: Vec<u8> = (0u32..200)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    expect_malformed(
        &replace_line(&input, target, &noise),
        target as u64,
        "noise",
    );
}
