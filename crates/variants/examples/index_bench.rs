//! The index at library level, for `docs/BENCHMARKS.md` ("Variant
//! table"): builds the index of an annotated VCF, loads it, and times
//! queries (each run `RUNS` times; min, median, max), without HTTP.
//!
//!   cargo run --release -p gas-variants --example index_bench -- RESULTS.vcf [INDEX] [QUERY...]
//!
//! A QUERY is a URL query string (`gene=BRCA&impact=HIGH`); without any,
//! a fixed set runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gas_variants::{build_file, BuildOptions, Index, Params, Query};

const RUNS: usize = 21;

fn params(query: &str) -> Params {
    let mut p = Params::default();
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = Some(v.to_string());
        match k {
            "gene" => p.gene = v,
            "consequence" => p.consequence = v,
            "impact" => p.impact = v,
            "region" => p.region = v,
            "id" => p.id = v,
            "clinvar" => p.clinvar = v,
            "max_af" => p.max_af = v,
            "sort" => p.sort = v,
            "limit" => p.limit = v,
            other => panic!("unknown parameter {other}"),
        }
    }
    p
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(results) = args.first().map(PathBuf::from) else {
        eprintln!("usage: index_bench RESULTS.vcf [INDEX] [QUERY...]");
        std::process::exit(2);
    };
    let index_path = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| results.with_extension("idx"));
    let started = Instant::now();
    let summary = build_file(&results, &index_path, &BuildOptions::default()).unwrap();
    println!("build: {:?} {summary:?}", started.elapsed());
    let started = Instant::now();
    let index = Index::open(&index_path, &results).unwrap();
    println!(
        "load: {:?}, about {} MB in memory",
        started.elapsed(),
        index.memory_bytes() >> 20
    );
    let default_queries = [
        "",
        "sort=gene",
        "sort=impact",
        "sort=frequency",
        "gene=GENE12",
        "consequence=missense_variant,stop_gained",
        "impact=HIGH",
        "region=chr2:1000000-2000000",
        "gene=GENE1&impact=MODERATE&sort=impact",
        "id=rs_absent",
    ];
    let queries: Vec<&str> = if args.len() > 2 {
        args[2..].iter().map(String::as_str).collect()
    } else {
        default_queries.to_vec()
    };
    for q in queries {
        let query = Query::from_params(&params(q)).unwrap();
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut total = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            total = index.query(&query).unwrap().total;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{:<45} total {:>8}  min {:>9.3?}  median {:>9.3?}  max {:>9.3?} (the first run builds a sort's order)",
            if q.is_empty() { "(unfiltered)" } else { q },
            total,
            times[0],
            times[RUNS / 2],
            times[RUNS - 1]
        );
    }
}
