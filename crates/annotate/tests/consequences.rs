//! Consequence annotation end to end: the samples on the mitochondrial
//! genome with the models and sequence the crate ships, read back the way
//! VEP's readers read them (`bcftools +split-vep`).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use gas_annotate::consequence::{Consequences, Pick};
use gas_annotate::{annotate, reference, Options};

fn shared_sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/samples")
        .join(name)
}

fn options(pick: Pick, with_reference: bool) -> Options {
    let (models, genome) = reference::mt_sources();
    let index = reference::mt_transcripts().unwrap();
    let reference = with_reference.then(|| (reference::mt_reference().unwrap(), genome));
    let mut options = Options::default();
    options.threads = 1;
    options.consequences = Some(Arc::new(Consequences::new(
        vec![(index, models)],
        reference,
        pick,
    )));
    options
}

fn run(input: &str, options: &Options) -> (String, gas_annotate::Stats) {
    let mut out = Vec::new();
    let stats = annotate(input.as_bytes(), &mut out, options, &mut |_| {}).unwrap();
    (String::from_utf8(out).unwrap(), stats)
}

/// Each record's CSQ entries as field maps, keyed `CHROM:POS REF>ALT`.
fn entries(vcf: &str) -> Vec<(String, Vec<common::Entry>)> {
    common::parse_lines(vcf)
        .into_iter()
        .map(|line| {
            let c = &line.cols;
            (format!("{}:{} {}>{}", c[0], c[1], c[3], c[4]), line.entries)
        })
        .collect()
}

const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=MT,length=16569>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

#[test]
fn known_mitochondrial_variants() {
    // m.3308T>C: MT-ND1 c.2T>C, the start codon ATA... no: ND1 starts at
    // 3307 with ATA (Met in the mitochondrial code); 3308 T>C makes ACA.
    // m.8993T>G: MT-ATP6 p.Leu156Arg (NARP). m.3243A>G: MT-TL1 (MELAS),
    // a tRNA. m.14484T>C: MT-ND6 (reverse strand) p.Met64Val (LHON).
    // m.11778G>A: MT-ND4 p.Arg340His (LHON).
    let input = format!(
        "{HEADER}MT\t3308\t.\tT\tC\t.\t.\t.\nMT\t8993\t.\tT\tG\t.\t.\t.\nMT\t3243\t.\tA\tG\t.\t.\t.\nMT\t14484\t.\tT\tC\t.\t.\t.\nMT\t11778\t.\tG\tA\t.\t.\t.\nMT\t16100\t.\tA\tG\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(Pick::All, true));
    let records = entries(&vcf);
    let find = |key: &str, gene: &str| {
        let (_, list) = records.iter().find(|(k, _)| k == key).unwrap();
        list.iter()
            .find(|e| e["SYMBOL"] == gene)
            .unwrap_or_else(|| panic!("{key} has no {gene} entry: {list:?}"))
            .clone()
    };
    let e = find("MT:3308 T>C", "MT-ND1");
    assert_eq!(e["Consequence"], "start_lost");
    assert_eq!(e["HGVSp"], "MT_ND1_p1:p.Met1?");
    assert_eq!(e["HGVSc"], "MT_ND1_t1:c.2T>C");
    let e = find("MT:8993 T>G", "MT-ATP6");
    assert_eq!(e["Consequence"], "missense_variant");
    assert_eq!(e["HGVSp"], "MT_ATP6_p1:p.Leu156Arg");
    assert_eq!(
        (e["Amino_acids"].as_str(), e["Codons"].as_str()),
        ("L/R", "cTg/cGg")
    );
    let e = find("MT:3243 A>G", "MT-TL1");
    assert_eq!(e["Consequence"], "non_coding_transcript_exon_variant");
    assert_eq!(e["BIOTYPE"], "Mt_tRNA");
    let e = find("MT:14484 T>C", "MT-ND6");
    assert_eq!(e["Consequence"], "missense_variant");
    assert_eq!(e["HGVSp"], "MT_ND6_p1:p.Met64Val");
    assert_eq!(e["STRAND"], "-1");
    let e = find("MT:11778 G>A", "MT-ND4");
    assert_eq!(e["HGVSp"], "MT_ND4_p1:p.Arg340His");
    // The control region: nothing within 5 kb on one side... MT-TP ends
    // at 16023, so 16100 is downstream of it.
    let (_, list) = records.iter().find(|(k, _)| k == "MT:16100 A>G").unwrap();
    assert!(list
        .iter()
        .any(|e| e["Consequence"].contains("stream_gene_variant")));
    let c = stats.consequences.unwrap();
    assert_eq!(c.ref_mismatches, 0);
    assert_eq!(c.impacts.high, 1, "{c:?}");
    assert_eq!(c.high_impact_genes[0].gene, "MT-ND1");
    // Every allele has exactly one PICK=1 entry.
    for (key, list) in &records {
        assert_eq!(list.iter().filter(|e| e["PICK"] == "1").count(), 1, "{key}");
    }
}

#[test]
fn pick_and_per_gene_select_entries() {
    let input = format!("{HEADER}MT\t8560\t.\tG\tA\t.\t.\t.\n");
    let (all, _) = run(&input, &options(Pick::All, true));
    let (one, _) = run(&input, &options(Pick::One, true));
    let (per_gene, _) = run(&input, &options(Pick::PerGene, true));
    let n = |vcf: &str| entries(vcf)[0].1.len();
    // 8560 is in both MT-ATP8 and MT-ATP6 (they overlap), and near others.
    assert!(n(&all) > 2, "{all}");
    assert_eq!(n(&one), 1);
    assert_eq!(n(&per_gene), n(&all), "one transcript per gene on MT");
    let picked = &entries(&one)[0].1[0];
    assert!(
        picked["Consequence"].contains("missense")
            || picked["Consequence"].contains("synonymous")
            || picked["Consequence"].contains("stop"),
        "{picked:?}"
    );
}

#[test]
fn ref_mismatch_is_flagged_and_counted() {
    // rCRS has A at 73.
    let input = format!("{HEADER}MT\t73\t.\tG\tA\t.\t.\t.\nMT\t73\t.\tA\tG\t.\t.\t.\n");
    let (vcf, stats) = run(&input, &options(Pick::All, true));
    let data: Vec<&str> = vcf.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(data[0].contains(";REF_MISMATCH"), "{}", data[0]);
    assert!(!data[1].contains("REF_MISMATCH"), "{}", data[1]);
    assert_eq!(stats.consequences.as_ref().unwrap().ref_mismatches, 1);
    assert!(stats.warnings.iter().any(|w| w.contains("REF_MISMATCH")));
    assert!(stats
        .render_log("x.vcf")
        .contains("Records whose REF differs from the reference genome: 1"));
}

#[test]
fn without_reference_the_header_says_what_is_left_out() {
    let input = format!("{HEADER}MT\t8993\t.\tT\tG\t.\t.\t.\n");
    let (vcf, _) = run(&input, &options(Pick::All, false));
    assert!(vcf.contains("Reference=none,Omitted="), "{vcf}");
    let e = entries(&vcf)[0]
        .1
        .iter()
        .find(|e| e["SYMBOL"] == "MT-ATP6")
        .unwrap()
        .clone();
    assert_eq!(e["Consequence"], "coding_sequence_variant");
    assert_eq!(e["HGVSc"], "MT_ATP6_t1:c.467T>G");
    assert_eq!(e["HGVSp"], "");
}

#[test]
fn symbolic_and_star_alleles_get_nothing_and_are_counted() {
    let input = format!(
        "{HEADER}MT\t100\t.\tG\t<DEL>\t.\t.\tEND=200\nMT\t101\t.\tC\t*,T\t.\t.\t.\nMT\t102\t.\tA\tA]MT:300]\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(Pick::All, true));
    let records = entries(&vcf);
    assert!(records[0].1.is_empty());
    assert!(records[1].1.iter().all(|e| e["Allele"] == "T"));
    assert!(records[2].1.is_empty());
    assert_eq!(stats.consequences.unwrap().not_annotated, 3);
}

#[test]
fn samples_annotate_and_split_vep_reads_them() {
    for sample in ["test.vcf", "free_1.vcf"] {
        let path = shared_sample(sample);
        let Ok(input) = std::fs::read_to_string(&path) else {
            eprintln!("skipping: {} not found", path.display());
            return;
        };
        let (vcf, stats) = run(&input, &options(Pick::All, true));
        let c = stats.consequences.clone().unwrap();
        let with_csq = vcf
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains("CSQ="))
            .count() as u64;
        let with_alt = vcf
            .lines()
            .filter(|l| !l.starts_with('#') && l.split('\t').nth(4) != Some("."))
            .count() as u64;
        assert_eq!(
            with_csq, with_alt,
            "{sample}: every MT record with an ALT gets CSQ"
        );
        assert!(c.entries >= stats.variants);
        // bcftools reads the output and +split-vep its CSQ.
        if Command::new("bcftools").arg("--version").output().is_err() {
            eprintln!("skipping the bcftools check: bcftools is not installed");
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.vcf");
        // The samples declare no contigs, and Debian's bcftools 1.16
        // +split-vep crashes (SIGSEGV) on a record whose contig the header
        // does not declare; declare it as `tabix` would.
        let vcf = vcf.replacen("#CHROM", "##contig=<ID=MT,length=16569>\n#CHROM", 1);
        std::fs::write(&file, &vcf).unwrap();
        let split = Command::new("bcftools")
            .args([
                "+split-vep",
                "-d",
                "-f",
                "%CHROM\t%POS\t%SYMBOL\t%Consequence\t%HGVSp\n",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            split.status.success(),
            "{}",
            String::from_utf8_lossy(&split.stderr)
        );
        let text = String::from_utf8(split.stdout).unwrap();
        assert_eq!(
            text.lines().count() as u64,
            c.entries,
            "{sample}: one line per entry"
        );
        assert!(text.contains("missense_variant"), "{sample}");
    }
}
