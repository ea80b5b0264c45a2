//! The index built while annotating ([`IndexSink`]) against the index
//! read back from the annotated file ([`build_file`]): real annotation of
//! the shipped samples and of generated variants on the mitochondrial
//! genome (multi-allelic records, indels, ids, ClinVar and AF values,
//! records no transcript covers), in each pick mode, on one and two
//! threads: the two files must be the same bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gas_annotate::consequence::{Consequences, Pick};
use gas_annotate::{annotate_file_observed, reference, Options};
use gas_variants::{build_file, BuildError, BuildOptions, IndexSink};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/samples")
        .join(name)
}

fn options(pick: Option<Pick>, threads: usize) -> Options {
    let mut options = Options::default();
    options.threads = threads;
    if let Some(pick) = pick {
        let (models, genome) = reference::mt_sources();
        let index = reference::mt_transcripts().unwrap();
        let reference = Some((reference::mt_reference().unwrap(), genome));
        options.consequences = Some(Arc::new(Consequences::new(
            vec![(index, models)],
            reference,
            pick,
        )));
    }
    options
}

/// Generated variants on MT (and a contig no transcript is on), sorted.
fn generated(seed: u64, records: usize) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut text = String::from(
        "##fileformat=VCFv4.2\n##contig=<ID=MT,length=16569>\n##contig=<ID=2>\n\
         ##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">\n\
         ##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"ClinVar\">\n\
         #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
    );
    let bases = ["A", "C", "G", "T"];
    let mut positions: Vec<u32> = (0..records).map(|_| rng.gen_range(1..16_560)).collect();
    positions.sort_unstable();
    for (n, pos) in positions.into_iter().enumerate() {
        let chrom = if n % 97 == 0 { "2" } else { "MT" };
        let reference = bases[rng.gen_range(0..4)];
        let alts: Vec<String> = match rng.gen_range(0..10) {
            0 => vec![format!("{reference}C"), format!("{reference}CC")],
            1 => vec!["<DEL>".into()],
            2 => vec![bases[(n + 1) % 4].into(), bases[(n + 2) % 4].into()],
            3 => vec![format!("{reference}TTA")],
            _ => vec![(if reference == "A" { "G" } else { "A" }).into()],
        };
        let (reference, alts) = if rng.gen_range(0..12) == 0 {
            // A deletion, with its shorter sibling on one record.
            (
                format!("{reference}GT"),
                vec![reference.to_string(), format!("{reference}G")],
            )
        } else {
            (reference.to_string(), alts)
        };
        let id = if n % 5 == 0 {
            format!("rs{n}")
        } else {
            ".".into()
        };
        let mut info = Vec::new();
        if n % 3 == 0 {
            let af: Vec<String> = alts.iter().map(|_| format!("0.{}", n % 9)).collect();
            info.push(format!("AF={}", af.join(",")));
        }
        if n % 4 == 0 {
            info.push(format!("CLNSIG={}", ["Pathogenic", "Benign"][n % 2]));
        }
        if n % 7 == 0 {
            // An input CSQ: replaced by the annotator's.
            info.push("CSQ=X|old|HIGH".into());
        }
        let info = if info.is_empty() {
            ".".into()
        } else {
            info.join(";")
        };
        text.push_str(&format!(
            "{chrom}\t{pos}\t{id}\t{reference}\t{}\t.\tPASS\t{info}\n",
            alts.join(",")
        ));
    }
    text
}

/// Annotates `input` observed by a sink; answers the sink's index and the
/// one read back from the output.
fn both_ways(dir: &Path, input: &Path, options: &Options) -> (Vec<u8>, Vec<u8>) {
    let output = dir.join("out.vcf");
    let build_options = BuildOptions::default();
    let mut sink = IndexSink::new(&build_options);
    annotate_file_observed(input, &output, options, &mut |_| {}, Some(&mut sink)).unwrap();
    let len = std::fs::metadata(&output).unwrap().len();
    let observed = dir.join("observed.idx");
    let summary = sink.finish(&observed, len).unwrap();
    let read = dir.join("read.idx");
    let read_summary = build_file(&output, &read, &build_options).unwrap();
    assert_eq!(summary, read_summary);
    (
        std::fs::read(observed).unwrap(),
        std::fs::read(read).unwrap(),
    )
}

#[test]
fn the_index_built_while_annotating_is_the_one_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let generated_path = dir.path().join("generated.vcf");
    std::fs::write(&generated_path, generated(7, 6_000)).unwrap();
    let inputs = [sample("free_1.vcf"), sample("test.vcf"), generated_path];
    let picks = [None, Some(Pick::All), Some(Pick::PerGene), Some(Pick::One)];
    for input in &inputs {
        for pick in picks {
            for threads in [1, 2] {
                let (observed, read) = both_ways(dir.path(), input, &options(pick, threads));
                assert!(
                    observed == read,
                    "{} with {pick:?} on {threads} threads: the indexes differ",
                    input.display()
                );
            }
        }
    }
}

#[test]
fn a_sink_refuses_an_output_it_did_not_see_whole() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.vcf");
    let build_options = BuildOptions::default();
    let mut sink = IndexSink::new(&build_options);
    let options = options(Some(Pick::All), 2);
    annotate_file_observed(
        &sample("test.vcf"),
        &output,
        &options,
        &mut |_| {},
        Some(&mut sink),
    )
    .unwrap();
    let len = std::fs::metadata(&output).unwrap().len();
    let index = dir.path().join("v.idx");
    let refused = sink.finish(&index, len + 1).unwrap_err();
    assert!(
        matches!(refused, BuildError::Incomplete { .. }),
        "{refused}"
    );
    assert!(!index.exists());
}
