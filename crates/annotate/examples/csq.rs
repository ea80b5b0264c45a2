//! Consequence annotation of one file, for profiling the engine alone:
//!
//! ```text
//! cargo build --profile profiling -p gas-annotate --example csq
//! perf record -g target/profiling/examples/csq MODELS.gff3 GENOME.fa IN.vcf
//! ```
//!
//! Loads the models and the genome, then annotates `IN.vcf` with one
//! thread (`CSQ_THREADS` to change) (to nothing, or to `OUT.vcf` when given) and prints the time each
//! part took. `scripts/bench/csq.sh`
//! measures the `gas annotate` command against bcftools and SnpEff.

use std::io::{self, BufReader, Write as _};
use std::sync::Arc;
use std::time::Instant;

use gas_annotate::consequence::{Consequences, Pick, Source};
use gas_annotate::{annotate, Options, Reference, TranscriptIndex};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (models, genome, input, output) = match args.as_slice() {
        [m, g, i] => (m, g, i, None),
        [m, g, i, o] => (m, g, i, Some(o)),
        _ => return Err("usage: csq MODELS.gff3 GENOME.fa IN.vcf [OUT.vcf]".into()),
    };
    let started = Instant::now();
    let index = TranscriptIndex::load(models)?;
    let loaded = started.elapsed();
    let reference = Reference::open(genome)?;
    let source = |name: &str| Source {
        name: name.to_owned(),
        sha256: String::new(),
    };
    let mut options = Options::default();
    // One thread unless CSQ_THREADS says otherwise.
    options.threads = std::env::var("CSQ_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    options.consequences = Some(Arc::new(Consequences::new(
        vec![(index, source(models))],
        Some((reference, source(genome))),
        Pick::All,
    )));
    let started = Instant::now();
    let input = BufReader::new(std::fs::File::open(input)?);
    let stats = match output {
        Some(path) => {
            let out = io::BufWriter::new(std::fs::File::create(path)?);
            annotate(input, out, &options, &mut |_| {})?
        }
        None => annotate(input, io::sink(), &options, &mut |_| {})?,
    };
    let annotated = started.elapsed();
    let mut err = io::stderr().lock();
    writeln!(err, "models loaded in {:.3} s", loaded.as_secs_f64())?;
    writeln!(
        err,
        "{} records annotated in {:.3} s ({} CSQ entries)",
        stats.variants,
        annotated.as_secs_f64(),
        stats.consequences.map_or(0, |c| c.entries)
    )?;
    Ok(())
}
