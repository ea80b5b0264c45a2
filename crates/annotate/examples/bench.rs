//! Annotation speed and memory against `bcftools annotate`.
//!
//! ```text
//! cargo run --release -p gas-annotate --example bench -- [N]
//! ```
//!
//! Generates the synthetic VCF of N variants (default 1,000,000) with the
//! shared generator if it is not in the temporary directory yet, then runs,
//! each in a child process:
//! - GAS: this annotator with the GENCODE gene track and the dbSNP track
//!   (tracks loaded in the timed run);
//! - bcftools: `bcftools annotate` with the same gene track.
//!
//! and prints the wall time, variants per second and peak resident memory of
//! each (memory from `/usr/bin/time` when installed; for GAS also from its
//! own `VmHWM`), then checks that both outputs carry the same GENE sets.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use gas_annotate::{annotate_file, Options, Track};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const GENES: &str = "data/refdata/genes.grch37.bed.gz";
const DBSNP: &str = "data/refdata/dbsnp_common.grch37.vcf.gz";
const GENERATOR: &str = "bench/make_synthetic_vcf.py";
const TIME: &str = "/usr/bin/time";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--child") if args.len() == 3 => child(Path::new(&args[1]), Path::new(&args[2])),
        _ => parent(args.first().map_or(Ok(1_000_000), |n| n.parse::<u64>())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The timed annotation: load both tracks, annotate, print
/// `variants seconds vmhwm_kib`.
fn child(input: &Path, output: &Path) -> Result<()> {
    let shared = Path::new(SHARED);
    let started = Instant::now();
    let mut options = Options::default();
    options.tracks = Track::load_all(&[shared.join(GENES), shared.join(DBSNP)])?;
    let stats = annotate_file(input, output, &options, &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let status = fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("{} {seconds} {hwm}", stats.variants);
    eprint!("{}", stats.render_log(&input.display().to_string()));
    Ok(())
}

/// One measured run.
struct Run {
    seconds: f64,
    peak_kib: Option<u64>,
}

fn parent(n: std::result::Result<u64, std::num::ParseIntError>) -> Result<()> {
    let n = n.map_err(|e| format!("N must be a number of variants: {e}"))?;
    let shared = Path::new(SHARED);
    if !shared.join(GENES).is_file() {
        return Err(format!("reference tracks not found under {}", shared.display()).into());
    }
    let dir = std::env::temp_dir().join("gas-annotate-bench");
    fs::create_dir_all(&dir)?;
    let input = dir.join(format!("synth_{n}.vcf"));
    if !input.is_file() {
        eprintln!("generating {} ...", input.display());
        let status = Command::new("python3")
            .arg(shared.join(GENERATOR))
            .arg(n.to_string())
            .arg(&input)
            .status()?;
        if !status.success() {
            return Err("the synthetic VCF generator failed".into());
        }
    }
    let variants = BufReader::new(fs::File::open(&input)?)
        .lines()
        .map_while(|l| l.ok())
        .filter(|l| !l.starts_with('#'))
        .count() as f64;
    let use_time = Path::new(TIME).is_file();

    let ours_out = dir.join("out_gas.vcf");
    let exe = std::env::current_exe()?;
    let (ours, stdout) = measure(
        use_time,
        Command::new(&exe).arg("--child").arg(&input).arg(&ours_out),
    )?;
    let own_hwm = stdout
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse::<u64>().ok());

    let header = dir.join("gene.hdr");
    fs::write(
        &header,
        "##INFO=<ID=GENE,Number=.,Type=String,Description=\"Gene\">\n",
    )?;
    let theirs_out = dir.join("out_bcftools.vcf");
    let (theirs, _) = measure(
        use_time,
        Command::new("bcftools")
            .args(["annotate", "-a"])
            .arg(shared.join(GENES))
            .args(["-c", "CHROM,FROM,TO,GENE", "-l", "GENE:unique", "-h"])
            .arg(&header)
            .arg("-o")
            .arg(&theirs_out)
            .arg(&input),
    )?;

    let version = Command::new("bcftools")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    println!("input: {} ({variants} variants)", input.display());
    println!(
        "{:<44} {:>8} {:>14} {:>12}",
        "run", "wall s", "variants/s", "peak RSS MB"
    );
    let row = |name: &str, run: &Run, peak: Option<u64>| {
        let peak = peak.map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
        println!(
            "{:<44} {:>8.3} {:>14.0} {:>12}",
            name,
            run.seconds,
            variants / run.seconds,
            peak
        );
    };
    row(
        "gas-annotate: genes + dbSNP tracks",
        &ours,
        ours.peak_kib.or(own_hwm),
    );
    row(&format!("{version}: genes track"), &theirs, theirs.peak_kib);
    println!("speed-up: {:.2}x", theirs.seconds / ours.seconds);

    let (a, b) = (gene_sets(&ours_out)?, gene_sets(&theirs_out)?);
    if a != b {
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        return Err(format!(
            "GENE sets differ from bcftools on {differing} of {} records",
            a.len()
        )
        .into());
    }
    println!("GENE sets equal to bcftools' on all {} records", a.len());
    Ok(())
}

/// Runs `command` (under `/usr/bin/time` when `use_time`), returning its wall
/// time, peak RSS and standard output.
fn measure(use_time: bool, command: &mut Command) -> Result<(Run, String)> {
    let started = Instant::now();
    let output = if use_time {
        let mut timed = Command::new(TIME);
        timed
            .args(["-f", "GAS_BENCH_PEAK_KIB=%M"])
            .arg(command.get_program())
            .args(command.get_args());
        timed.output()?
    } else {
        command.output()?
    };
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{:?} failed: {stderr}", command.get_program()).into());
    }
    let peak_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("GAS_BENCH_PEAK_KIB="))
        .and_then(|v| v.trim().parse().ok());
    Ok((
        Run { seconds, peak_kib },
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// The GENE set of every record of a VCF, in file order.
fn gene_sets(path: &PathBuf) -> Result<Vec<BTreeSet<String>>> {
    let mut sets = Vec::new();
    for line in BufReader::new(fs::File::open(path)?).lines() {
        let line = line?;
        if line.starts_with('#') {
            continue;
        }
        let info = line.split('\t').nth(7).unwrap_or("");
        let genes = info
            .split(';')
            .find_map(|e| e.strip_prefix("GENE="))
            .map(|v| v.split(',').map(String::from).collect())
            .unwrap_or_default();
        sets.push(genes);
    }
    Ok(sets)
}
