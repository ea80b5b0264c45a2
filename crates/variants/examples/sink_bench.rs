//! What the index costs a job, for `docs/BENCHMARKS.md` ("Variant
//! table"): annotates IN.vcf with consequences three ways, interleaved
//! over ROUNDS rounds, and prints each one's median wall time:
//!
//! - annotation alone (the anchor: the job's own time);
//! - annotation watched by an [`IndexSink`], then the index written;
//! - annotation alone, then the index read back from the file
//!   ([`build_file`], how jobs were indexed before the sink).
//!
//! The index's cost is the second minus the first: the medians' difference,
//! and the median of each round's difference (the rounds run back to back,
//! so this one is steadier when the machine's speed drifts). Both indexes
//! must be the same bytes, or it stops.
//!
//! SINK_BENCH_ONLY=alone|noop|watched runs one way only, for a profiler
//! (`noop`: an observer that takes nothing, the annotator's own share).
//!
//!   cargo run --release -p gas-variants --example sink_bench -- MODELS.gff3 GENOME.fa IN.vcf OUTDIR [ROUNDS]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gas_annotate::consequence::{Consequences, Pick, Source};
use gas_annotate::{annotate_file, annotate_file_observed, Options, Reference, TranscriptIndex};
use gas_variants::{build_file, BuildOptions, IndexSink};

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [models, genome, input, out_dir, rest @ ..] = args.as_slice() else {
        return Err("usage: sink_bench MODELS.gff3 GENOME.fa IN.vcf OUTDIR [ROUNDS]".into());
    };
    let rounds: usize = rest.first().map_or(Ok(5), |r| r.parse())?;
    let source = |name: &str| Source {
        name: name.to_owned(),
        sha256: String::new(),
    };
    let mut options = Options::default();
    if let Some(threads) = std::env::var("SINK_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        options.threads = threads;
    }
    options.consequences = Some(Arc::new(Consequences::new(
        vec![(TranscriptIndex::load(models)?, source(models))],
        Some((Reference::open(genome)?, source(genome))),
        Pick::All,
    )));
    let (input, out_dir) = (Path::new(input), Path::new(out_dir));
    std::fs::create_dir_all(out_dir)?;
    let plain_out = out_dir.join("plain.vcf");
    let watched_out = out_dir.join("watched.vcf");
    let (watched_idx, read_idx) = (out_dir.join("watched.idx"), out_dir.join("read.idx"));
    let build_options = BuildOptions::default();
    let (mut alone, mut watched, mut finish, mut read_back) = (vec![], vec![], vec![], vec![]);
    // For profiling one way alone (`perf`, `time`): SINK_BENCH_ONLY=alone
    // or watched.
    let only = std::env::var("SINK_BENCH_ONLY").ok();
    for round in 0..rounds {
        match only.as_deref() {
            Some("watched") => {
                let mut sink = IndexSink::new(&build_options);
                annotate_file_observed(
                    input,
                    &watched_out,
                    &options,
                    &mut |_| {},
                    Some(&mut sink),
                )?;
                eprintln!(
                    "round {round}: the sink busy {:.3} s",
                    sink.busy().as_secs_f64()
                );
                continue;
            }
            Some("noop") => {
                struct Noop(u64);
                impl gas_annotate::OutputObserver for Noop {
                    fn info_keys(&self) -> Vec<String> {
                        vec!["CSQ".into(), "CLNSIG".into(), "AF".into()]
                    }
                    fn header(&mut self, _: &str) {}
                    fn records(&mut self, c: &gas_annotate::WrittenChunk<'_>) {
                        self.0 += c.text.len() as u64;
                    }
                }
                let mut noop = Noop(0);
                let out = &watched_out;
                annotate_file_observed(input, out, &options, &mut |_| {}, Some(&mut noop))?;
                continue;
            }
            Some(_) => {
                annotate_file(input, &plain_out, &options, &mut |_| {})?;
                continue;
            }
            None => {}
        }
        let started = Instant::now();
        annotate_file(input, &plain_out, &options, &mut |_| {})?;
        alone.push(started.elapsed());

        let started = Instant::now();
        let mut sink = IndexSink::new(&build_options);
        annotate_file_observed(input, &watched_out, &options, &mut |_| {}, Some(&mut sink))?;
        let annotated = started.elapsed();
        let busy = sink.busy();
        let len = std::fs::metadata(&watched_out)?.len();
        let summary = sink.finish(&watched_idx, len)?;
        let total = started.elapsed();
        watched.push(total);
        finish.push(total - annotated);

        let started = Instant::now();
        build_file(&plain_out, &read_idx, &build_options)?;
        read_back.push(started.elapsed());

        if std::fs::read(&watched_idx)? != std::fs::read(&read_idx)? {
            return Err("the two indexes differ".into());
        }
        eprintln!(
            "round {round}: alone {:.3} s, watched + written {:.3} s (the sink busy {:.3} s, writing {:.3} s), read back {:.3} s; {} variants, {} entries, {} entry sets",
            alone[round].as_secs_f64(),
            watched[round].as_secs_f64(),
            busy.as_secs_f64(),
            finish[round].as_secs_f64(),
            read_back[round].as_secs_f64(),
            summary.variants,
            summary.entries,
            summary.entry_sets,
        );
    }
    if only.is_some() {
        return Ok(());
    }
    // Signed: a round's watched run can beat its plain one.
    let mut paired: Vec<f64> = watched
        .iter()
        .zip(&alone)
        .map(|(w, a)| w.as_secs_f64() - a.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    let (alone, watched) = (median(&mut alone), median(&mut watched));
    let paired = paired[paired.len() / 2];
    let (finish, read_back) = (median(&mut finish), median(&mut read_back));
    let cost = watched - alone;
    println!("annotation alone (anchor)            {alone:.3} s");
    println!(
        "annotation watched + index written   {watched:.3} s (writing the index {finish:.3} s)"
    );
    println!(
        "index cost                           {cost:.3} s = {:.1} % of the annotation",
        100.0 * cost / alone
    );
    println!(
        "index cost, median of rounds         {paired:.3} s = {:.1} % of the annotation",
        100.0 * paired / alone
    );
    println!(
        "index read back from the file        {read_back:.3} s = {:.1} % of the annotation",
        100.0 * read_back / alone
    );
    Ok(())
}
