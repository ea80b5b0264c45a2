//! Consequence annotation with bad inputs: broken transcript models,
//! files that are not GFF at all, references without indexes or shorter
//! than the models, and VCF records at the edges of what is annotated
//! (unknown contigs, REF mismatches, huge indels, symbolic alleles,
//! contig ends). Each case asserts the outcome: a warning counted, an
//! error naming the line, or a run that completes with the entries it
//! should. Last, deterministic mutation loops over the shipped
//! mitochondrial GFF3 and FASTA, and random records at the edges of the
//! genome and of 32-bit coordinates, stand in for the cargo-fuzz targets
//! (`fuzz/fuzz_targets/transcripts.rs`, `fasta.rs`), which CI cannot run.

mod common;

use common::{parse_lines, Entry, Line};
use std::io::Write as _;
use std::sync::Arc;

use gas_annotate::consequence::{Consequences, Pick, Source};
use gas_annotate::transcript::SkipReason;
use gas_annotate::{
    annotate, bgzip_and_index, AnnotateError, FastaError, GffError, Options, Reference, Stats,
    TranscriptIndex,
};

const MT_GFF3: &[u8] = include_bytes!("../data/mt/MT.gff3");
const MT_FASTA: &[u8] = include_bytes!("../data/mt/MT.fa");

const HEADER: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

/// A few real mitochondrial variants (rCRS REF): ND1 start codon, ATP6
/// missense, a tRNA, ND6 on the reverse strand, a deletion and an
/// insertion in ND4, the control region, and the genome's both ends.
const MT_VARIANTS: &str = "MT\t1\t.\tG\tA\t.\t.\t.\n\
    MT\t3243\t.\tA\tG\t.\t.\t.\n\
    MT\t3308\t.\tT\tC\t.\t.\t.\n\
    MT\t8993\t.\tT\tG\t.\t.\t.\n\
    MT\t11778\t.\tG\tA,GA\t.\t.\t.\n\
    MT\t11777\t.\tCG\tC\t.\t.\t.\n\
    MT\t14484\t.\tT\tC\t.\t.\t.\n\
    MT\t16100\t.\tA\tG\t.\t.\t.\n\
    MT\t16569\t.\tG\tGA\t.\t.\t.\n";

fn mt_vcf() -> String {
    format!("{HEADER}{MT_VARIANTS}")
}

fn mt_models() -> TranscriptIndex {
    TranscriptIndex::from_reader("MT.gff3", MT_GFF3).unwrap()
}

fn mt_genome() -> Reference {
    Reference::from_fasta_bytes("MT.fa", MT_FASTA).unwrap()
}

fn gff(text: &str) -> Result<TranscriptIndex, GffError> {
    TranscriptIndex::from_reader("test.gff3", text.as_bytes())
}

fn options(models: TranscriptIndex, genome: Option<Reference>, pick: Pick) -> Options {
    let mut options = Options::default();
    options.threads = 1;
    options.consequences = Some(Arc::new(Consequences::new(
        vec![(models, Source::of_bytes("models.gff3", b"models"))],
        genome.map(|g| (g, Source::of_bytes("genome.fa", b"genome"))),
        pick,
    )));
    options
}

fn try_run(input: &str, options: &Options) -> Result<(String, Stats), AnnotateError> {
    let mut out = Vec::new();
    let stats = annotate(input.as_bytes(), &mut out, options, &mut |_| {})?;
    Ok((String::from_utf8(out).unwrap(), stats))
}

fn run(input: &str, options: &Options) -> (String, Stats) {
    try_run(input, options).unwrap()
}

fn terms(entry: &Entry) -> Vec<&str> {
    entry["Consequence"].split('&').collect()
}

fn malformed_line(result: Result<TranscriptIndex, GffError>) -> (u64, String) {
    match result {
        Err(GffError::Malformed { line, message, .. }) => (line, message),
        Err(other) => panic!("expected a malformed-line error, got {other}"),
        Ok(index) => panic!("expected an error, loaded {} transcripts", index.len()),
    }
}

// ---------------------------------------------------------------------------
// A small synthetic genome with transcripts at its ends and in its middle.

/// Deterministic pseudo-random numbers (xorshift64), no dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bases(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| b"ACGT"[self.below(4)]).collect()
    }
}

/// The length of contig `1` of the synthetic genome.
const SYN_LEN: usize = 60_000;

/// Contig `1`: random bases with start and stop codons planted where the
/// models below put them (no stop codon inside their frames).
fn synthetic_genome() -> Vec<u8> {
    let mut seq = XorShift(0x9e37_79b9_7f4a_7c15).bases(SYN_LEN);
    let set = |seq: &mut Vec<u8>, pos1: usize, bases: &[u8]| {
        seq[pos1 - 1..pos1 - 1 + bases.len()].copy_from_slice(bases);
    };
    // Each CDS: stops in frame cleared, then start and stop codons planted.
    let clear_frame = |seq: &mut Vec<u8>, codons: &[(usize, usize)], reverse: bool| {
        // `codons`: the CDS's genomic segments in transcript order.
        let mut cds: Vec<usize> = Vec::new();
        for &(a, b) in codons {
            if reverse {
                cds.extend((a..=b).rev());
            } else {
                cds.extend(a..=b);
            }
        }
        for codon in cds.chunks(3) {
            if codon.len() < 3 {
                break;
            }
            let read = |p: usize, s: &Vec<u8>| {
                let b = s[p - 1];
                if reverse {
                    match b {
                        b'A' => b'T',
                        b'C' => b'G',
                        b'G' => b'C',
                        _ => b'A',
                    }
                } else {
                    b
                }
            };
            let c = [
                read(codon[0], seq),
                read(codon[1], seq),
                read(codon[2], seq),
            ];
            if matches!(&c, b"TAA" | b"TAG" | b"TGA") {
                // Make the middle base a C (G on the other strand).
                seq[codon[1] - 1] = if reverse { b'G' } else { b'C' };
            }
        }
    };

    // T1: forward, exons 10001-10300 and 11001-11400, CDS 10101-10300 +
    // 11001-11199 (399 bases).
    clear_frame(&mut seq, &[(10101, 10300), (11001, 11199)], false);
    set(&mut seq, 10101, b"ATG");
    set(&mut seq, 11197, b"TAA");
    // Canonical splice sites around the intron 10301-11000.
    set(&mut seq, 10301, b"GT");
    set(&mut seq, 10999, b"AG");

    // T2: reverse, exon 20001-21000, CDS 20100-20900 (801 bases).
    clear_frame(&mut seq, &[(20100, 20900)], true);
    set(&mut seq, 20898, b"CAT"); // ATG on the reverse strand
    set(&mut seq, 20100, b"TTA"); // TAA on the reverse strand

    // T3: forward, at the contig's start: exon 1-500, CDS 1-300.
    clear_frame(&mut seq, &[(1, 300)], false);
    set(&mut seq, 1, b"ATG");
    set(&mut seq, 298, b"TGA");

    // T4: reverse, at the contig's end: exon 59501-60000, CDS 59602-60000.
    clear_frame(&mut seq, &[(59602, 60000)], true);
    set(&mut seq, 59998, b"CAT");
    set(&mut seq, 59602, b"TCA"); // TGA on the reverse strand
    seq
}

const SYN_GFF3: &str = "##gff-version 3\n\
1\ttest\tgene\t10001\t11400\t.\t+\t.\tID=gene:G1;Name=GENE1;biotype=protein_coding\n\
1\ttest\tmRNA\t10001\t11400\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;biotype=protein_coding;tag=Ensembl_canonical\n\
1\ttest\texon\t10001\t10300\t.\t+\t.\tParent=transcript:T1;rank=1\n\
1\ttest\texon\t11001\t11400\t.\t+\t.\tParent=transcript:T1;rank=2\n\
1\ttest\tCDS\t10101\t10300\t.\t+\t0\tParent=transcript:T1;ID=CDS:P1\n\
1\ttest\tCDS\t11001\t11199\t.\t+\t1\tParent=transcript:T1;ID=CDS:P1\n\
1\ttest\tgene\t20001\t21000\t.\t-\t.\tID=gene:G2;Name=GENE2;biotype=protein_coding\n\
1\ttest\tmRNA\t20001\t21000\t.\t-\t.\tID=transcript:T2;Parent=gene:G2;biotype=protein_coding\n\
1\ttest\texon\t20001\t21000\t.\t-\t.\tParent=transcript:T2;rank=1\n\
1\ttest\tCDS\t20100\t20900\t.\t-\t0\tParent=transcript:T2\n\
1\ttest\tgene\t1\t500\t.\t+\t.\tID=gene:G3;Name=GENE3;biotype=protein_coding\n\
1\ttest\tmRNA\t1\t500\t.\t+\t.\tID=transcript:T3;Parent=gene:G3;biotype=protein_coding\n\
1\ttest\texon\t1\t500\t.\t+\t.\tParent=transcript:T3\n\
1\ttest\tCDS\t1\t300\t.\t+\t0\tParent=transcript:T3\n\
1\ttest\tgene\t59501\t60000\t.\t-\t.\tID=gene:G4;Name=GENE4;biotype=protein_coding\n\
1\ttest\tmRNA\t59501\t60000\t.\t-\t.\tID=transcript:T4;Parent=gene:G4;biotype=protein_coding\n\
1\ttest\texon\t59501\t60000\t.\t-\t.\tParent=transcript:T4\n\
1\ttest\tCDS\t59602\t60000\t.\t-\t0\tParent=transcript:T4\n";

fn fasta_text(name: &str, seq: &[u8], width: usize) -> Vec<u8> {
    let mut out = format!(">{name} synthetic\n").into_bytes();
    for line in seq.chunks(width) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

fn synthetic_reference(seq: &[u8]) -> Reference {
    Reference::from_fasta_bytes("syn.fa", &fasta_text("1", seq, 60)).unwrap()
}

fn synthetic_models() -> TranscriptIndex {
    let index = gff(SYN_GFF3).unwrap();
    assert_eq!(index.len(), 4, "{}", index.warnings());
    assert!(index.warnings().is_empty(), "{}", index.warnings());
    index
}

/// A base other than `b`.
fn other(b: &str) -> &'static str {
    if b == "A" {
        "C"
    } else {
        "A"
    }
}

/// `pos` (1-based) `len` bases of `seq` as a string.
fn bases(seq: &[u8], pos: usize, len: usize) -> String {
    String::from_utf8(seq[pos - 1..pos - 1 + len].to_vec()).unwrap()
}

// ---------------------------------------------------------------------------
// Broken transcript models: skipped and counted, or a clear error.

/// A valid forward transcript on contig `1` to keep beside broken ones.
const GOOD: &str = "1\tt\tgene\t100\t400\t.\t+\t.\tID=gene:OK;Name=OK;biotype=protein_coding\n\
1\tt\tmRNA\t100\t400\t.\t+\t.\tID=transcript:OK1;Parent=gene:OK;biotype=protein_coding\n\
1\tt\texon\t100\t200\t.\t+\t.\tParent=transcript:OK1;rank=1\n\
1\tt\texon\t301\t400\t.\t+\t.\tParent=transcript:OK1;rank=2\n\
1\tt\tCDS\t151\t200\t.\t+\t0\tParent=transcript:OK1\n\
1\tt\tCDS\t301\t349\t.\t+\t1\tParent=transcript:OK1\n";

#[test]
fn gff3_missing_parents_are_skipped_and_counted() {
    let text = format!(
        "##gff-version 3\n{GOOD}\
         1\tt\tmRNA\t1000\t2000\t.\t+\t.\tID=transcript:NOGENE;Parent=gene:ABSENT;biotype=lncRNA\n\
         1\tt\texon\t1000\t2000\t.\t+\t.\tParent=transcript:NOGENE\n\
         1\tt\texon\t3000\t3100\t.\t+\t.\tParent=transcript:ORPHAN\n\
         1\tt\tCDS\t3000\t3098\t.\t+\t0\tParent=transcript:ORPHAN\n\
         1\tt\texon\t4000\t4100\t.\t+\t.\tID=exon:NOPARENT\n"
    );
    let index = gff(&text).unwrap();
    assert_eq!(index.len(), 1);
    assert!(index.find("OK1").is_some());
    let w = index.warnings();
    // A transcript whose gene has no line, exons whose transcript has
    // none, and an exon naming no parent at all.
    assert_eq!(w.skipped(SkipReason::MissingParent), 3, "{w}");
    assert_eq!(w.total_skipped(), 3, "{w}");
    let examples = w.examples(SkipReason::MissingParent).join(" ");
    for id in ["NOGENE", "ORPHAN", "exon at line"] {
        assert!(examples.contains(id), "{examples}");
    }
    assert!(w
        .to_string()
        .contains("skipped 3 transcript(s) (missing parent)"));
}

#[test]
fn gff3_overlapping_exons_are_skipped() {
    let text = format!(
        "##gff-version 3\n{GOOD}\
         1\tt\tgene\t1000\t2000\t.\t+\t.\tID=gene:OV;biotype=lncRNA\n\
         1\tt\tlnc_RNA\t1000\t2000\t.\t+\t.\tID=transcript:OV1;Parent=gene:OV;biotype=lncRNA\n\
         1\tt\texon\t1000\t1500\t.\t+\t.\tParent=transcript:OV1\n\
         1\tt\texon\t1500\t2000\t.\t+\t.\tParent=transcript:OV1\n"
    );
    let index = gff(&text).unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index.warnings().skipped(SkipReason::OverlappingExons), 1);
    assert_eq!(
        index.warnings().examples(SkipReason::OverlappingExons),
        ["OV1"]
    );
}

#[test]
fn gff3_unsorted_exons_are_sorted() {
    // Exons listed 3' first (and the transcript after them) load like
    // sorted ones; only their `rank` is checked against the strand.
    let text = "##gff-version 3\n\
        1\tt\texon\t301\t400\t.\t-\t.\tParent=transcript:R1;rank=1\n\
        1\tt\texon\t1\t100\t.\t-\t.\tParent=transcript:R1;rank=3\n\
        1\tt\texon\t150\t200\t.\t-\t.\tParent=transcript:R1;rank=2\n\
        1\tt\tmRNA\t1\t400\t.\t-\t.\tID=transcript:R1;Parent=gene:R;biotype=lncRNA\n\
        1\tt\tgene\t1\t400\t.\t-\t.\tID=gene:R;biotype=lncRNA\n";
    let index = gff(text).unwrap();
    assert!(index.warnings().is_empty(), "{}", index.warnings());
    let t = index.find("R1").unwrap();
    let exons: Vec<(u32, u32)> = t.exons().iter().map(|e| (e.start(), e.end())).collect();
    assert_eq!(exons, [(301, 400), (150, 200), (1, 100)]);
    assert_eq!(t.cdna_len(), 100 + 51 + 100);
}

#[test]
fn gff3_exons_out_of_order_are_skipped() {
    // Ranks that contradict the order along the strand.
    let text = format!(
        "##gff-version 3\n{GOOD}\
         1\tt\tgene\t1000\t2000\t.\t+\t.\tID=gene:EO;biotype=lncRNA\n\
         1\tt\tlnc_RNA\t1000\t2000\t.\t+\t.\tID=transcript:EO1;Parent=gene:EO;biotype=lncRNA\n\
         1\tt\texon\t1000\t1100\t.\t+\t.\tParent=transcript:EO1;rank=2\n\
         1\tt\texon\t1900\t2000\t.\t+\t.\tParent=transcript:EO1;rank=1\n"
    );
    let index = gff(&text).unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index.warnings().skipped(SkipReason::ExonOrder), 1);
    assert_eq!(index.warnings().examples(SkipReason::ExonOrder), ["EO1"]);
}

#[test]
fn cds_not_a_multiple_of_three_is_skipped_on_nuclear_contigs_only() {
    let model = |contig: &str| {
        format!(
            "##gff-version 3\n\
             {contig}\tt\tgene\t100\t400\t.\t+\t.\tID=gene:P;biotype=protein_coding\n\
             {contig}\tt\tmRNA\t100\t400\t.\t+\t.\tID=transcript:P1;Parent=gene:P;biotype=protein_coding\n\
             {contig}\tt\texon\t100\t400\t.\t+\t.\tParent=transcript:P1\n\
             {contig}\tt\tCDS\t101\t300\t.\t+\t0\tParent=transcript:P1\n"
        )
    };
    // 200 coding bases with both ends complete.
    let nuclear = gff(&model("7")).unwrap();
    assert_eq!(nuclear.len(), 0);
    assert_eq!(nuclear.warnings().skipped(SkipReason::PartialCodon), 1);
    assert_eq!(
        nuclear.warnings().examples(SkipReason::PartialCodon),
        ["P1"]
    );
    // On MT the stop may be completed by polyadenylation: kept, counted.
    for contig in ["MT", "chrM"] {
        let mt = gff(&model(contig)).unwrap();
        assert_eq!(mt.len(), 1, "{contig}");
        assert!(mt.warnings().is_empty(), "{contig}");
        assert_eq!(mt.warnings().polya_stops, 1, "{contig}");
        assert!(mt.find("P1").unwrap().stop_completed_by_polya());
    }
    // A nuclear CDS whose end is incomplete (cds_end_NF) is kept.
    let open = model("7").replace(
        "biotype=protein_coding\n7\tt\texon",
        "biotype=protein_coding;tag=cds_end_NF\n7\tt\texon",
    );
    assert_eq!(gff(&open).unwrap().len(), 1);
}

#[test]
fn a_line_with_eight_columns_is_an_error_naming_it() {
    let text =
        format!("##gff-version 3\n{GOOD}1\tt\texon\t500\t600\t.\t+\tParent=transcript:OK1\n{GOOD}");
    let (line, message) = malformed_line(gff(&text));
    assert_eq!(line, 8, "{message}");
    assert!(
        message.contains("expected 9 tab-separated columns"),
        "{message}"
    );
    assert!(message.contains("found 8"), "{message}");
    // The error's text names the file and line.
    let e = gff(&text).unwrap_err().to_string();
    assert!(e.starts_with("gene annotation test.gff3: line 8: "), "{e}");
    // Also in GTF.
    let gtf = "1\tt\ttranscript\t1\t100\t.\t+\t.\tgene_id \"G\"; transcript_id \"T\";\n\
               1\tt\texon\t1\t100\t.\t+\tgene_id \"G\"; transcript_id \"T\";\n";
    assert_eq!(malformed_line(gff(gtf)).0, 2);
}

#[test]
fn a_text_file_that_is_not_gff_is_an_error_at_its_first_line() {
    for (text, line) in [
        ("This is a README.\nIt has no tabs.\n", 1),
        (
            "# a comment first\n\nchrom\tstart\tend\tname\n1\t100\t200\tGENE\n",
            3,
        ),
        // A VCF.
        (
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\t.\t.\n",
            3,
        ),
        // A FASTA.
        (">1\nACGT\n", 1),
        // Nine columns, but not coordinates.
        ("a\tb\tc\td\te\tf\tg\th\ti\n", 1),
        // Coordinates, but a strand that is not one.
        ("1\tt\texon\t1\t10\t.\tx\t.\tParent=T\n", 1),
        // Start after end.
        ("1\tt\texon\t10\t1\t.\t+\t.\tParent=T\n", 1),
        // An exon starting at 0.
        ("1\tt\texon\t0\t10\t.\t+\t.\tParent=T\n", 1),
        // Past 2^32.
        ("1\tt\texon\t1\t4294967296\t.\t+\t.\tParent=T\n", 1),
        ("1\tt\texon\t1\t4294967295\t.\t+\t.\tParent=T\n", 1),
    ] {
        let (found, message) = malformed_line(gff(text));
        assert_eq!(found, line, "{text:?}: {message}");
    }
    // A file with only comments and blank lines has no transcripts.
    let empty = gff("# nothing here\n\n#\n").unwrap();
    assert!(empty.is_empty());
}

#[test]
fn binary_garbage_is_an_error_not_a_crash() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for round in 0..50 {
        let len = 1 + rng.below(4096);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if data[0] == b'#' {
            data[0] = 0;
        }
        match TranscriptIndex::from_reader("garbage.bin", &data[..]) {
            Err(GffError::Malformed { line, message, .. }) => {
                assert!(line > 0, "round {round}: {message}");
            }
            Err(GffError::BadCompression { .. }) => {}
            Err(other) => panic!("round {round}: {other}"),
            Ok(index) => panic!("round {round}: loaded {} transcripts", index.len()),
        }
    }
    // gzip magic followed by garbage, and a truncated gzip file.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(MT_GFF3).unwrap();
    let gz = gz.finish().unwrap();
    for data in [
        &[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef][..],
        &gz[..gz.len() / 2],
    ] {
        match TranscriptIndex::from_reader("garbage.gz", data) {
            Err(GffError::BadCompression { .. }) => {}
            Err(GffError::Malformed { line, .. }) => assert!(line > 0),
            other => panic!("{other:?}"),
        }
    }
    // The whole gzip file loads.
    assert_eq!(
        TranscriptIndex::from_reader("MT.gff3.gz", &gz[..])
            .unwrap()
            .len(),
        37
    );
    // Not UTF-8: the line and column are named.
    let (line, message) = malformed_line(TranscriptIndex::from_reader(
        "latin1.gff3",
        &b"##gff-version 3\n1\tt\tgene\t1\t9\t.\t+\t.\tID=g;Name=caf\xe9\n"[..],
    ));
    assert_eq!(line, 2);
    assert!(message.contains("not valid UTF-8"), "{message}");
}

#[test]
fn broken_models_annotate_with_the_rest() {
    // The broken transcripts are gone; the good one still annotates, and a
    // variant where only broken ones were is intergenic.
    let text = format!(
        "##gff-version 3\n{GOOD}\
         1\tt\tgene\t1000\t2000\t.\t+\t.\tID=gene:OV;biotype=lncRNA\n\
         1\tt\tlnc_RNA\t1000\t2000\t.\t+\t.\tID=transcript:OV1;Parent=gene:OV;biotype=lncRNA\n\
         1\tt\texon\t1000\t1500\t.\t+\t.\tParent=transcript:OV1\n\
         1\tt\texon\t1500\t2000\t.\t+\t.\tParent=transcript:OV1\n"
    );
    let options = options(gff(&text).unwrap(), None, Pick::All);
    let (vcf, _) = run(
        &format!("{HEADER}1\t160\t.\tA\tG\t.\t.\t.\n1\t20000\t.\tA\tG\t.\t.\t.\n"),
        &options,
    );
    let lines = parse_lines(&vcf);
    assert_eq!(
        lines[0].entry("G", "OK1")["Consequence"],
        "coding_sequence_variant"
    );
    assert_eq!(lines[1].entries.len(), 1);
    assert_eq!(lines[1].entries[0]["Consequence"], "intergenic_variant");
}

// ---------------------------------------------------------------------------
// VCF records the models or reference do not cover.

#[test]
fn contigs_without_models_get_no_csq_and_are_counted() {
    let options = options(mt_models(), Some(mt_genome()), Pick::All);
    let input = format!(
        "{HEADER}chrUn_gl000220\t100\t.\tA\tG\t.\t.\t.\n22\t16050075\t.\tA\tG,AT\t.\t.\t.\n\
         chrM\t8993\t.\tT\tG\t.\t.\t.\nMT_decoy\t5\t.\tC\tT\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options);
    let lines = parse_lines(&vcf);
    // The models say nothing about these contigs: no CSQ (calling them
    // intergenic would claim no gene is near), and no REF check either
    // (the genome has no such contig).
    for i in [0, 1, 3] {
        assert!(!lines[i].ref_mismatch(), "{}", lines[i].cols.join("\t"));
        assert!(lines[i].entries.is_empty(), "{}", lines[i].cols.join("\t"));
        assert!(!lines[i].info().contains("CSQ="));
    }
    // `chrM` is the models' and the genome's `MT`.
    assert_eq!(
        lines[2].entry("G", "MT_ATP6_t1")["Consequence"],
        "missense_variant"
    );
    let c = stats.consequences.clone().unwrap();
    assert_eq!(c.ref_mismatches, 0);
    assert_eq!(c.uncovered, 4);
    assert!(!c.most_severe.iter().any(|t| t.term == "intergenic_variant"));
    assert!(stats
        .render_log("in.vcf")
        .contains("ALT alleles on contigs the transcript models do not cover (no CSQ): 4"));
}

#[test]
fn fasta_without_index_plain_gzip_and_bgzf() {
    let dir = tempfile::tempdir().unwrap();
    let in_memory = run(
        &mt_vcf(),
        &options(mt_models(), Some(mt_genome()), Pick::All),
    );
    assert_eq!(in_memory.1.consequences.as_ref().unwrap().ref_mismatches, 0);
    let same_as_memory = |genome: Reference, what: &str| {
        assert_eq!(genome.contig_len("MT"), Some(16_569), "{what}");
        assert_eq!(
            genome.fetch("chrM", 3306, 3309).unwrap(),
            b"ATA",
            "{what}: ND1's start codon"
        );
        let (vcf, stats) = run(&mt_vcf(), &options(mt_models(), Some(genome), Pick::All));
        assert_eq!(vcf, in_memory.0, "{what}");
        assert_eq!(stats.consequences, in_memory.1.consequences, "{what}");
    };

    // Plain, no .fai: indexed in memory, nothing written beside it.
    let plain = dir.path().join("MT.fa");
    std::fs::write(&plain, MT_FASTA).unwrap();
    let genome = Reference::open(&plain).unwrap();
    assert_eq!(genome.kind(), gas_annotate::fasta::ReferenceKind::Plain);
    assert!(!dir.path().join("MT.fa.fai").exists());
    same_as_memory(genome, "plain without .fai");

    // Plain with ragged lines and no .fai: a clear error naming the line.
    let ragged = dir.path().join("ragged.fa");
    std::fs::write(&ragged, b">1\nACGTACGT\nACG\nACGTACGT\n").unwrap();
    match Reference::open(&ragged) {
        Err(e @ FastaError::BadFasta { line, .. }) => {
            assert_eq!(line, 4, "{e}");
        }
        other => panic!("{other:?}"),
    }

    // Plain gzip: inflated into memory; a .fai beside it is ignored.
    let gz = dir.path().join("MT.fa.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(MT_FASTA).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let genome = Reference::open(&gz).unwrap();
    assert_eq!(genome.kind(), gas_annotate::fasta::ReferenceKind::Gzip);
    same_as_memory(genome, "plain gzip");

    // BGZF without .gzi (and without .fai): both rebuilt in memory.
    let bgzf = dir.path().join("MT.bgzf.fa.gz");
    let written = bgzip_and_index(MT_FASTA, &bgzf, 1).unwrap();
    std::fs::remove_file(&written.gzi).unwrap();
    let genome = Reference::open(&bgzf).unwrap();
    assert_eq!(genome.kind(), gas_annotate::fasta::ReferenceKind::Bgzf);
    same_as_memory(genome, "BGZF with .fai, without .gzi");
    std::fs::remove_file(&written.fai).unwrap();
    let genome = Reference::open(&bgzf).unwrap();
    same_as_memory(genome, "BGZF without .fai or .gzi");
    assert!(!written.gzi.exists() && !written.fai.exists());

    // A truncated BGZF file without indexes: an error, not a crash.
    let bytes = std::fs::read(&bgzf).unwrap();
    let cut = dir.path().join("cut.fa.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(Reference::open(&cut).is_err());
}

#[test]
fn a_contig_shorter_than_its_transcripts_degrades_coding_terms() {
    // MT cut after 9,000 bases: MT-ATP6 (8527-9207) runs past the end,
    // MT-ND4 (10760-12137) lies wholly beyond it.
    let cut = fasta_text("MT", &mt_genome().fetch("MT", 0, 9000).unwrap(), 70);
    let short = Reference::from_fasta_bytes("MT-9000.fa", &cut).unwrap();
    let input = format!(
        "{HEADER}MT\t3308\t.\tT\tC\t.\t.\t.\nMT\t8993\t.\tT\tG\t.\t.\t.\n\
         MT\t8990\t.\tCCC\tC\t.\t.\t.\nMT\t9000\t.\tA\tACCCC\t.\t.\t.\n\
         MT\t11778\t.\tG\tA\t.\t.\t.\nMT\t8999\t.\tTACG\tT\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(mt_models(), Some(short), Pick::All));
    let lines = parse_lines(&vcf);
    // ND1 lies within the contig: full coding terms.
    assert_eq!(
        lines[0].entry("C", "MT_ND1_t1")["Consequence"],
        "start_lost"
    );
    // ATP6 reaches past the contig: no codons, the terms that need none.
    let e = lines[1].entry("G", "MT_ATP6_t1");
    assert_eq!(e["Consequence"], "coding_sequence_variant");
    assert_eq!(e["HGVSc"], "MT_ATP6_t1:c.467T>G");
    assert_eq!((e["HGVSp"].as_str(), e["Codons"].as_str()), ("", ""));
    assert!(!lines[1].ref_mismatch());
    for i in [2, 3] {
        for e in lines[i]
            .entries
            .iter()
            .filter(|e| e["Feature"] == "MT_ATP6_t1")
        {
            assert_eq!(e["HGVSp"], "", "{e:?}");
            assert!(!terms(e).contains(&"frameshift_variant"), "{e:?}");
        }
    }
    // ND4 is past the end: REF cannot be checked, so it is a mismatch,
    // but the models still place it.
    assert!(lines[4].ref_mismatch());
    assert_eq!(
        lines[4].entry("A", "MT_ND4_t1")["Consequence"],
        "coding_sequence_variant"
    );
    // A REF running past the end.
    assert!(lines[5].ref_mismatch());
    assert_eq!(stats.consequences.unwrap().ref_mismatches, 2);

    // The same with the synthetic genome cut 200 bases before T4's end.
    let genome = synthetic_genome();
    let cut = synthetic_reference(&genome[..SYN_LEN - 200]);
    let [r, r2, r3] = [59700, 59900, 10150].map(|p| bases(&genome, p, 1));
    let input = format!(
        "{HEADER}1\t59700\t.\t{r}\t{a}\t.\t.\t.\n1\t59900\t.\t{r2}\t{a2}\t.\t.\t.\n\
         1\t10150\t.\t{r3}\t{a3}\t.\t.\t.\n",
        a = other(&r),
        a2 = other(&r2),
        a3 = other(&r3),
    );
    let (vcf, stats) = run(&input, &options(synthetic_models(), Some(cut), Pick::All));
    let lines = parse_lines(&vcf);
    for (i, r) in [(0, &r), (1, &r2)] {
        let e = lines[i].entry(other(r), "T4");
        assert_eq!(e["Consequence"], "coding_sequence_variant", "{e:?}");
        assert_eq!(e["Amino_acids"], "");
        assert!(!e["HGVSc"].is_empty());
    }
    assert!(!lines[0].ref_mismatch() && lines[1].ref_mismatch());
    // T1 lies within the cut contig and keeps its codons.
    assert_ne!(lines[2].entry(other(&r3), "T1")["Codons"], "");
    assert_eq!(stats.consequences.unwrap().ref_mismatches, 1);
}

#[test]
fn ref_mismatches_are_flagged_and_counted() {
    // rCRS: 73 A, 3243 A, 8993 T, 8994..8996 GGC.
    let input = format!(
        "{HEADER}MT\t73\t.\tG\tA\t.\t.\t.\nMT\t73\t.\ta\tg\t.\t.\t.\n\
         MT\t3243\t.\tN\tG\t.\t.\t.\nMT\t8993\t.\tTGGA\tT\t.\t.\t.\n\
         MT\t8993\t.\tTGGC\tT\t.\t.\t.\nMT\t16569\t.\tGA\tG\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(mt_models(), Some(mt_genome()), Pick::All));
    let lines = parse_lines(&vcf);
    let flagged: Vec<bool> = lines.iter().map(Line::ref_mismatch).collect();
    // A wrong base; lowercase is no mismatch, nor is N; a wrong last base
    // of a deletion; a REF running past the contig's end.
    assert_eq!(flagged, [true, false, false, true, false, true]);
    let c = stats.consequences.as_ref().unwrap();
    assert_eq!(c.ref_mismatches, 3);
    assert!(stats.warnings.iter().any(|w| w.starts_with("3 records")));
    assert!(vcf.contains("##INFO=<ID=REF_MISMATCH,"));
    // Mismatched records are still annotated.
    assert!(lines.iter().all(|l| !l.entries.is_empty()));
}

#[test]
fn very_long_indels() {
    let genome = synthetic_genome();
    let reference = synthetic_reference(&genome);
    // A 50 kb deletion from 5001 to 55000: T1 and T2 lie wholly inside it,
    // T3 (1-500) and T4 (59501-60000) within 5 kb of it.
    let del_ref = bases(&genome, 5000, 50_001);
    let del_alt = bases(&genome, 5000, 1);
    // A 10 kb insertion in T1's CDS (after 10150) and one in T2's UTR.
    let mut rng = XorShift(7);
    let inserted = String::from_utf8(rng.bases(10_000)).unwrap();
    let ins_ref = bases(&genome, 10150, 1);
    let utr_ref = bases(&genome, 20950, 1);
    // A 50 kb insertion too, and a deletion of 20 kb starting in T1.
    let long_ins = String::from_utf8(rng.bases(50_000)).unwrap();
    let partial_ref = bases(&genome, 10200, 20_001);
    let input = format!(
        "{HEADER}1\t5000\t.\t{del_ref}\t{del_alt}\t.\t.\t.\n\
         1\t10150\t.\t{ins_ref}\t{ins_ref}{inserted}\t.\t.\t.\n\
         1\t20950\t.\t{utr_ref}\t{utr_ref}{inserted}\t.\t.\t.\n\
         1\t30000\t.\t{far}\t{far}{long_ins}\t.\t.\t.\n\
         1\t10200\t.\t{partial_ref}\t{}\t.\t.\t.\n",
        &partial_ref[..1],
        far = bases(&genome, 30000, 1),
    );
    for pick in [Pick::All, Pick::PerGene, Pick::One] {
        let (vcf, stats) = run(
            &input,
            &options(synthetic_models(), Some(reference.clone()), pick),
        );
        assert_eq!(stats.variants, 5);
        let lines = parse_lines(&vcf);
        if pick == Pick::One {
            assert!(lines.iter().all(|l| l.entries.len() == 1));
            assert_eq!(lines[0].entries[0]["Consequence"], "transcript_ablation");
            continue;
        }
        for t in ["T1", "T2"] {
            let e = lines[0].entry("-", t);
            assert_eq!(e["Consequence"], "transcript_ablation", "{t}");
            assert_eq!(e["IMPACT"], "HIGH");
        }
        assert!(!lines[0].ref_mismatch());
        let t3 = lines[0].entry("-", "T3");
        assert_eq!(t3["Consequence"], "downstream_gene_variant");
        assert_eq!(t3["DISTANCE"], "4501");
        let t4 = lines[0].entry("-", "T4");
        assert_eq!(t4["Consequence"], "downstream_gene_variant");
        assert_eq!(t4["DISTANCE"], "4501");
        // 10,000 inserted coding bases: a frameshift.
        let e = lines[1].entry(&inserted, "T1");
        assert!(terms(e).contains(&"frameshift_variant"), "{e:?}");
        let e = lines[2].entry(&inserted, "T2");
        assert_eq!(e["Consequence"], "5_prime_UTR_variant");
        // Nothing within 5 kb of 30000.
        assert_eq!(lines[3].entries.len(), 1);
        assert_eq!(lines[3].entries[0]["Consequence"], "intergenic_variant");
        // A deletion from T1's CDS past T2: T2 ablated, T1 truncated.
        assert_eq!(
            lines[4].entry("-", "T2")["Consequence"],
            "transcript_ablation"
        );
        let e = lines[4].entry("-", "T1");
        assert!(
            e["IMPACT"] == "HIGH" && !terms(e).contains(&"transcript_ablation"),
            "{e:?}"
        );
        let c = stats.consequences.unwrap();
        assert_eq!(c.ref_mismatches, 0);
        assert!(c.high_impact_genes.iter().any(|g| g.gene == "GENE2"));
    }
}

#[test]
fn symbolic_breakend_and_star_alleles_are_counted_not_annotated() {
    let input = format!(
        "{HEADER}MT\t8993\t.\tT\t<DEL>\t.\t.\tSVTYPE=DEL;END=9500\n\
         MT\t8993\t.\tT\t<INS>,G\t.\t.\t.\n\
         MT\t8993\t.\tT\t<DUP:TANDEM>,<CN0>,<*>\t.\t.\t.\n\
         MT\t8993\t.\tT\tT]MT:12000],[MT:100[T,T.,.T\t.\t.\t.\n\
         MT\t8993\t.\tT\t*,G\t.\t.\t.\n\
         MT\t8993\t.\tT\t.\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(mt_models(), Some(mt_genome()), Pick::All));
    let lines = parse_lines(&vcf);
    assert!(lines[0].entries.is_empty());
    assert!(!lines[0].info().contains("CSQ="));
    assert!(lines[1].entries.iter().all(|e| e["Allele"] == "G"));
    assert_eq!(
        lines[1].entry("G", "MT_ATP6_t1")["Consequence"],
        "missense_variant"
    );
    assert!(lines[2].entries.is_empty());
    assert!(lines[3].entries.is_empty());
    assert!(lines[4].entries.iter().all(|e| e["Allele"] == "G"));
    assert!(lines[5].entries.is_empty());
    let c = stats.consequences.unwrap();
    // 1 + 1 + 3 + 4 + 1; `.` is no allele at all.
    assert_eq!(c.not_annotated, 10);
    assert_eq!(c.ref_mismatches, 0);
}

#[test]
fn lowercase_bases_annotate_as_uppercase() {
    let upper = format!(
        "{HEADER}MT\t8993\t.\tT\tG\t.\t.\t.\nMT\t11777\t.\tCG\tC\t.\t.\t.\n\
         MT\t3307\t.\tA\tACCT\t.\t.\t.\n"
    );
    let lower = upper
        .replace("\tT\tG\t", "\tt\tg\t")
        .replace("\tCG\tC\t", "\tcg\tc\t")
        .replace("\tA\tACCT\t", "\ta\taCcT\t");
    assert_ne!(upper, lower);
    let options = options(mt_models(), Some(mt_genome()), Pick::All);
    let (up, up_stats) = run(&upper, &options);
    let (low, low_stats) = run(&lower, &options);
    let (up, low) = (parse_lines(&up), parse_lines(&low));
    for (u, l) in up.iter().zip(&low) {
        assert_eq!(u.entries, l.entries, "{}", l.cols.join("\t"));
        assert!(!l.ref_mismatch());
    }
    assert_eq!(low[2].entries[0]["Allele"], "CCT");
    assert_eq!(up_stats.consequences, low_stats.consequences);
    // A lowercase (soft-masked) reference reads as upper case.
    let masked = String::from_utf8(MT_FASTA.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with('>') {
                l.to_owned()
            } else {
                l.to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let masked = Reference::from_fasta_bytes("masked.fa", masked.as_bytes()).unwrap();
    let (vcf, stats) = run(&lower, &self::options(mt_models(), Some(masked), Pick::All));
    assert_eq!(parse_lines(&vcf)[0].entries, up[0].entries);
    assert_eq!(stats.consequences.unwrap().ref_mismatches, 0);
}

#[test]
fn n_in_ref_and_alt() {
    // N in REF matches any reference base; N in ALT makes an unknown
    // codon.
    let input = format!(
        "{HEADER}MT\t8993\t.\tN\tG\t.\t.\t.\nMT\t8993\t.\tT\tN\t.\t.\t.\n\
         MT\t8992\t.\tNNN\tN\t.\t.\t.\nMT\t8993\t.\tTGG\tNNN\t.\t.\t.\n\
         MT\t8993\t.\tT\tTNNN\t.\t.\t.\nMT\t3307\t.\tA\tN\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(mt_models(), Some(mt_genome()), Pick::All));
    let lines = parse_lines(&vcf);
    assert!(lines.iter().all(|l| !l.ref_mismatch()));
    assert_eq!(stats.consequences.unwrap().ref_mismatches, 0);
    // The codon is read from the genome, whatever REF says.
    let e = lines[0].entry("G", "MT_ATP6_t1");
    assert_eq!(e["Consequence"], "missense_variant");
    assert_eq!(e["HGVSp"], "MT_ATP6_p1:p.Leu156Arg");
    // An N in ALT: an unknown amino acid, X.
    for (i, allele, feature) in [
        (1, "N", "MT_ATP6_t1"),
        (3, "NNN", "MT_ATP6_t1"),
        (4, "NNN", "MT_ATP6_t1"),
        (5, "N", "MT_ND1_t1"),
    ] {
        let e = lines[i].entry(allele, feature);
        assert!(!e["IMPACT"].is_empty(), "{e:?}");
        assert!(!e["HGVSc"].is_empty(), "{e:?}");
        assert!(e["Amino_acids"].contains('X'), "{e:?}");
    }
    assert_eq!(lines[1].entry("N", "MT_ATP6_t1")["Codons"], "cTg/cNg");
    // ND1's start codon made unknown: lost.
    assert_eq!(
        lines[5].entry("N", "MT_ND1_t1")["Consequence"],
        "start_lost"
    );
    // `NNN>N` at 8992: deletes two bases (whatever they are) from ATP6.
    assert!(terms(lines[2].entry("-", "MT_ATP6_t1")).contains(&"frameshift_variant"));
}

#[test]
fn alleles_at_the_contigs_first_and_last_base() {
    // The MT genome: 1 is G, 16569 is G.
    let mt = mt_genome();
    assert_eq!(mt.fetch("MT", 0, 2).unwrap(), b"GA");
    assert_eq!(mt.fetch("MT", 16_567, 16_569).unwrap(), b"TG");
    let input = format!(
        "{HEADER}MT\t1\t.\tG\tA\t.\t.\t.\nMT\t1\t.\tGA\tG\t.\t.\t.\nMT\t1\t.\tG\tTG\t.\t.\t.\n\
         MT\t1\t.\tGA\tA\t.\t.\t.\nMT\t16569\t.\tG\tA\t.\t.\t.\nMT\t16568\t.\tTG\tT\t.\t.\t.\n\
         MT\t16569\t.\tG\tGAAA\t.\t.\t.\nMT\t1\t.\tG\t<DEL>\t.\t.\t.\n"
    );
    let (vcf, stats) = run(&input, &options(mt_models(), Some(mt), Pick::All));
    let lines = parse_lines(&vcf);
    assert!(lines[..7].iter().all(|l| !l.ref_mismatch()));
    // MT-TF starts at 577: upstream of it, within 5 kb.
    for line in &lines[..7] {
        assert!(!line.entries.is_empty());
    }
    let e = lines[0].entry("A", "MT_TF_t1");
    assert_eq!(e["Consequence"], "upstream_gene_variant");
    assert_eq!(e["DISTANCE"], "576");
    assert_eq!(stats.consequences.unwrap().not_annotated, 1);

    // The synthetic genome has coding transcripts on both ends: T3 from
    // base 1 (forward), T4 to the last base (reverse).
    let genome = synthetic_genome();
    let reference = synthetic_reference(&genome);
    let (first, second) = (bases(&genome, 1, 1), bases(&genome, 2, 1));
    let (last, before_last) = (bases(&genome, SYN_LEN, 1), bases(&genome, SYN_LEN - 1, 1));
    let n = SYN_LEN;
    let input = format!(
        "{HEADER}1\t1\t.\t{first}\t{o1}\t.\t.\t.\n\
         1\t1\t.\t{first}{second}\t{first}\t.\t.\t.\n\
         1\t1\t.\t{first}{second}\t{second}\t.\t.\t.\n\
         1\t1\t.\t{first}\t{o1}{first}\t.\t.\t.\n\
         1\t1\t.\t{first}\t{first}{o1}\t.\t.\t.\n\
         1\t{n}\t.\t{last}\t{o2}\t.\t.\t.\n\
         1\t{m}\t.\t{before_last}{last}\t{before_last}\t.\t.\t.\n\
         1\t{n}\t.\t{last}\t{last}AAA\t.\t.\t.\n\
         1\t{n}\t.\t{last}\t.{last}\t.\t.\t.\n\
         1\t{m}\t.\t{before_last}{last}\t{before_last}{last}\t.\t.\t.\n\
         1\t{p}\t.\tA\tG\t.\t.\t.\n",
        o1 = other(&first),
        o2 = other(&last),
        m = n - 1,
        p = n + 1,
    );
    let (vcf, stats) = run(
        &input,
        &options(synthetic_models(), Some(reference), Pick::All),
    );
    let lines = parse_lines(&vcf);
    assert!(lines[..10].iter().all(|l| !l.ref_mismatch()));
    // Past the last base: REF cannot match.
    assert!(lines[10].ref_mismatch());
    // Base 1 is T3's first CDS base (its start codon).
    assert_eq!(
        lines[0].entry(other(&first), "T3")["Consequence"],
        "start_lost"
    );
    let e = lines[1].entry("-", "T3");
    assert!(terms(e).contains(&"frameshift_variant"), "{e:?}");
    assert_eq!(e["HGVSc"], "T3:c.2del");
    assert_eq!(lines[2].entry("-", "T3")["HGVSc"], "T3:c.1del");
    // An insertion before base 1 is before T3: upstream, 1 base away.
    let e = lines[3].entry(other(&first), "T3");
    assert_eq!(
        (e["Consequence"].as_str(), e["DISTANCE"].as_str()),
        ("upstream_gene_variant", "1")
    );
    // One after base 1 is in T3's start codon.
    let e = lines[4].entry(other(&first), "T3");
    assert!(terms(e).contains(&"start_lost"), "{e:?}");
    // The last base is T4's first CDS base (reverse strand).
    assert_eq!(
        lines[5].entry(other(&last), "T4")["Consequence"],
        "start_lost"
    );
    assert!(lines[6].entry("-", "T4")["IMPACT"] == "HIGH");
    // An insertion after the last base: beyond T4's 5' end, upstream.
    let e = lines[7].entry("AAA", "T4");
    assert_eq!(
        (e["Consequence"].as_str(), e["DISTANCE"].as_str()),
        ("upstream_gene_variant", "1")
    );
    assert_eq!(
        lines[10].entry("G", "T4")["Consequence"],
        "upstream_gene_variant"
    );
    // A breakend and an ALT equal to REF get nothing.
    assert!(lines[8].entries.is_empty() && lines[9].entries.is_empty());
    let c = stats.consequences.unwrap();
    assert_eq!(c.not_annotated, 1);
    assert_eq!(c.ref_mismatches, 1);
}

#[test]
fn a_multiallelic_record_with_an_alt_equal_to_ref() {
    // `ATGG` (8993 T, 8994 GGC...) with ALTs: a deletion, REF itself (in
    // other case), a substitution that trims to one base.
    let input = format!("{HEADER}MT\t8993\t.\tTGG\tT,tgg,TGA,TGG\t.\t.\t.\n");
    for pick in [Pick::All, Pick::PerGene, Pick::One] {
        let (vcf, stats) = run(&input, &options(mt_models(), Some(mt_genome()), pick));
        let lines = parse_lines(&vcf);
        let alleles: std::collections::BTreeSet<&str> = lines[0]
            .entries
            .iter()
            .map(|e| e["Allele"].as_str())
            .collect();
        if pick == Pick::One {
            assert_eq!(lines[0].entries.len(), 1);
        } else {
            assert_eq!(alleles, ["-", "A"].into_iter().collect());
            assert_eq!(
                lines[0].for_allele("-").len(),
                lines[0].for_allele("A").len()
            );
            assert_eq!(
                terms(lines[0].entry("A", "MT_ATP6_t1")),
                ["missense_variant"]
            );
            assert!(terms(lines[0].entry("-", "MT_ATP6_t1")).contains(&"frameshift_variant"));
        }
        let c = stats.consequences.unwrap();
        // The ALTs equal to REF are not "not annotated" alleles: nothing
        // changes.
        assert_eq!(c.not_annotated, 0);
        assert_eq!(c.ref_mismatches, 0);
    }
}

#[test]
fn positions_near_two_to_the_32() {
    // Records at and past 2^32 - 1 (POS past it is read as 2^32 - 1)
    // beside transcripts ending at 2^32 - 2, the largest coordinate GFF
    // may use (one of them spanning all of it): no overflow, and the
    // transcripts are found.
    let input = format!(
        "{HEADER}MT\t4294967295\t.\tAC\tAG\t.\t.\t.\nMT\t4294967294\t.\tACGT\tA\t.\t.\t.\n\
         MT\t4294967295\t.\tA\tACGT\t.\t.\t.\nMT\t4294967296\t.\tAC\tTC\t.\t.\t.\n\
         MT\t18446744073709551615\t.\tA\tG\t.\t.\t.\n"
    );
    let models = format!(
        "{}MT\tt\tgene\t4294967000\t4294967294\t.\t+\t.\tID=gene:FAR;biotype=protein_coding\n\
         MT\tt\tmRNA\t4294967000\t4294967294\t.\t+\t.\tID=transcript:FAR1;Parent=gene:FAR;biotype=protein_coding\n\
         MT\tt\texon\t4294967000\t4294967294\t.\t+\t.\tParent=transcript:FAR1\n\
         MT\tt\tCDS\t4294967001\t4294967294\t.\t+\t0\tParent=transcript:FAR1\n\
         MT\tt\texon\t1\t4294967294\t.\t+\t.\tParent=transcript:HUGE1\n\
         MT\tt\tmRNA\t1\t4294967294\t.\t+\t.\tID=transcript:HUGE1;Parent=gene:FAR\n",
        String::from_utf8_lossy(MT_GFF3)
    );
    let index = gff(&models).unwrap();
    assert!(index.warnings().is_empty(), "{}", index.warnings());
    assert_eq!(index.find("HUGE1").unwrap().cdna_len(), 4_294_967_294);
    for genome in [None, Some(mt_genome())] {
        let with = genome.is_some();
        let options = options(gff(&models).unwrap(), genome, Pick::All);
        let (vcf, stats) = try_run(&input, &options).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.variants, 5);
        for line in parse_lines(&vcf) {
            let features: Vec<&str> = line.entries.iter().map(|e| e["Feature"].as_str()).collect();
            assert_eq!(features, ["HUGE1", "FAR1"], "{}", line.cols[1]);
            for e in &line.entries {
                assert_eq!(e["Consequence"], "downstream_gene_variant", "{e:?}");
                assert_eq!(e["DISTANCE"], "1", "{e:?}");
            }
            // The genome ends at 16,569.
            assert_eq!(line.ref_mismatch(), with);
        }
    }
}

// ---------------------------------------------------------------------------
// Deterministic mutations of the shipped MT GFF3 and FASTA.

/// Lines of `data`, each with its `\n` when it has one.
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|&b| b == b'\n').collect()
}

/// Values a mutated number is set to: the edges of 1-based, 32-bit
/// coordinates and of the MT genome.
const EXTREMES: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"3",
    b"16568",
    b"16569",
    b"16570",
    b"4294967294",
    b"4294967295",
    b"4294967296",
    b"-1",
    b"99999999999999999999",
];

/// Bytes a mutated byte is set to: the separators and signs of GFF3 and
/// FASTA.
const INTERESTING: &[u8] = b"\t\n\r;=,.#>-+ 0123456789ACGTNacgtn%\"\x00\xff";

fn mutate(rng: &mut XorShift, data: &[u8]) -> Vec<u8> {
    let mut data = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        if data.is_empty() {
            data.push(b'>');
        }
        let at = rng.below(data.len());
        match rng.below(10) {
            0 => data[at] = rng.next() as u8,
            1 => data[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => data.truncate(at),
            3 => {
                data.remove(at);
            }
            4 => {
                let extra: Vec<u8> = (0..1 + rng.below(8))
                    .map(|_| INTERESTING[rng.below(INTERESTING.len())])
                    .collect();
                data.splice(at..at, extra);
            }
            5 | 6 => {
                // Duplicate, delete or swap whole lines.
                let mut lines: Vec<Vec<u8>> =
                    split_lines(&data).into_iter().map(<[u8]>::to_vec).collect();
                let n = lines.len();
                let (i, j) = (rng.below(n), rng.below(n));
                match rng.below(3) {
                    0 => {
                        let copy = lines[i].clone();
                        lines.insert(j, copy);
                    }
                    1 => {
                        lines.remove(i);
                    }
                    _ => lines.swap(i, j),
                }
                data = lines.concat();
            }
            _ => {
                // Replace the number under (or after) `at` with an
                // extreme one.
                let Some(start) = data[at..].iter().position(u8::is_ascii_digit) else {
                    continue;
                };
                let start = at + start;
                let len = data[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let value = EXTREMES[rng.below(EXTREMES.len())];
                data.splice(start..start + len, value.iter().copied());
            }
        }
    }
    data
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// The MT variants plus indels at the edges, for mutated models.
fn mutation_vcf() -> String {
    format!(
        "{}MT\t16568\t.\tTG\tT\t.\t.\t.\nMT\t1\t.\tG\tTG\t.\t.\t.\nMT\t8990\t.\tCTTGGC\tC\t.\t.\t.\n\
         MT\t4294967295\t.\tAC\tA\t.\t.\t.\nchr2\t10\t.\tA\tC\t.\t.\t.\n",
        mt_vcf()
    )
}

#[test]
fn mutated_mt_models_and_genome_never_panic() {
    let input = mutation_vcf();
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    let gz_models = gzip(MT_GFF3);
    let (mut loaded, mut annotated_entries) = (0u32, 0u64);
    for round in 0..1000 {
        // One in eight rounds mutates the gzip-compressed file.
        let data = if round % 8 == 7 {
            mutate(&mut rng, &gz_models)
        } else {
            mutate(&mut rng, MT_GFF3)
        };
        match TranscriptIndex::from_reader("mutated.gff3", &data[..]) {
            Ok(index) => {
                loaded += 1;
                let (_, stats) = try_run(&input, &options(index, Some(mt_genome()), Pick::All))
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
                annotated_entries += stats.consequences.unwrap().entries;
            }
            Err(GffError::Malformed { line, message, .. }) => {
                assert!(line > 0, "round {round}: {message}");
            }
            Err(GffError::BadCompression { .. }) => {}
            Err(e) => panic!("round {round}: {e}"),
        }
    }
    // Most mutations leave a loadable file.
    assert!(loaded > 300, "{loaded}");
    assert!(annotated_entries > 0);

    let gz_genome = gzip(MT_FASTA);
    let mut loaded = 0u32;
    for round in 0..1000 {
        let data = if round % 8 == 7 {
            mutate(&mut rng, &gz_genome)
        } else {
            mutate(&mut rng, MT_FASTA)
        };
        match Reference::from_fasta_bytes("mutated.fa", &data) {
            Ok(genome) => {
                loaded += 1;
                for (name, len) in genome.contigs() {
                    assert_eq!(genome.contig_len(name), Some(len));
                    let all = genome.fetch(name, 0, len).unwrap();
                    assert_eq!(all.len() as u64, len);
                    assert!(genome.fetch(name, 0, len + 1).is_err());
                }
                let pick = [Pick::All, Pick::PerGene, Pick::One][round % 3];
                try_run(&input, &options(mt_models(), Some(genome), pick))
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            Err(FastaError::BadFasta { line, message, .. }) => {
                assert!(line > 0, "round {round}: {message}");
            }
            Err(FastaError::BadCompression { .. }) => {}
            Err(e) => panic!("round {round}: {e}"),
        }
    }
    assert!(loaded > 300, "{loaded}");
}

/// Transcripts at the top of the 32-bit coordinate space (on MT, beside
/// the real models): forward with an intron, reverse, and non-coding.
const TOP_MODELS: &str = "MT\tt\tgene\t4294960000\t4294967294\t.\t+\t.\tID=gene:TOP;Name=TOP;biotype=protein_coding\n\
MT\tt\tmRNA\t4294960000\t4294967294\t.\t+\t.\tID=transcript:TOP1;Parent=gene:TOP;biotype=protein_coding\n\
MT\tt\texon\t4294960000\t4294961000\t.\t+\t.\tParent=transcript:TOP1\n\
MT\tt\texon\t4294962001\t4294967294\t.\t+\t.\tParent=transcript:TOP1\n\
MT\tt\tCDS\t4294960500\t4294961000\t.\t+\t0\tParent=transcript:TOP1\n\
MT\tt\tCDS\t4294962001\t4294967294\t.\t+\t0\tParent=transcript:TOP1\n\
MT\tt\tmRNA\t4294966000\t4294967294\t.\t-\t.\tID=transcript:TOP2;Parent=gene:TOP;biotype=protein_coding\n\
MT\tt\texon\t4294966000\t4294966500\t.\t-\t.\tParent=transcript:TOP2\n\
MT\tt\texon\t4294966601\t4294967294\t.\t-\t.\tParent=transcript:TOP2\n\
MT\tt\tCDS\t4294966100\t4294966500\t.\t-\t.\tParent=transcript:TOP2\n\
MT\tt\tCDS\t4294966601\t4294967200\t.\t-\t.\tParent=transcript:TOP2\n\
MT\tt\tlnc_RNA\t4294967290\t4294967294\t.\t+\t.\tID=transcript:TOP3;Parent=gene:TOP;biotype=lncRNA\n\
MT\tt\texon\t4294967290\t4294967294\t.\t+\t.\tParent=transcript:TOP3\n";

#[test]
fn random_alleles_at_the_edges_never_panic() {
    // Records around the contig's ends, gene boundaries and 2^32, with
    // REF from the genome (or random where it has none) and ALTs of every
    // kind, annotated with and without the genome and with each pick.
    let genome = mt_genome().fetch("MT", 0, 16_569).unwrap();
    let models = format!("{}{TOP_MODELS}", String::from_utf8_lossy(MT_GFF3));
    assert_eq!(gff(&models).unwrap().len(), 37 + 3);
    let anchors: [u64; 16] = [
        1,
        2,
        576,
        577,
        647,
        3307,
        8527,
        9207,
        14149,
        16568,
        16569,
        16570,
        4_294_960_000,
        4_294_961_001,
        4_294_967_294,
        4_294_967_296,
    ];
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    let mut input = String::from(HEADER);
    for _ in 0..1500 {
        let anchor = anchors[rng.below(anchors.len())];
        let pos = (anchor + rng.below(9) as u64).saturating_sub(4).max(1);
        let ref_len = [1, 1, 1, 2, 3, 4, 7, 60, 1200][rng.below(9)];
        let from = (pos - 1) as usize;
        let mut reference: Vec<u8> = if from + ref_len <= genome.len() && rng.below(8) != 0 {
            genome[from..from + ref_len].to_vec()
        } else {
            rng.bases(ref_len)
        };
        if rng.below(10) == 0 {
            reference[0] = b'N';
        }
        let mut alts = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let alt: Vec<u8> = match rng.below(12) {
                0 => b"*".to_vec(),
                1 => b"<DEL>".to_vec(),
                2 => format!("{}]MT:{}]", char::from(reference[0]), anchor).into_bytes(),
                3 => reference.clone(),
                4 => reference[..1].to_vec(),
                5 => reference.to_ascii_lowercase(),
                6 => b"N".to_vec(),
                7 => {
                    let mut a = reference[..1].to_vec();
                    let n = [1, 2, 3, 30, 3001][rng.below(5)];
                    a.extend(rng.bases(n));
                    a
                }
                8 => {
                    let n = 1 + rng.below(4);
                    let mut a = rng.bases(n);
                    a.extend_from_slice(&reference[reference.len() - 1..]);
                    a
                }
                _ => rng.bases(reference.len()),
            };
            alts.push(String::from_utf8(alt).unwrap());
        }
        input.push_str(&format!(
            "MT\t{pos}\t.\t{}\t{}\t.\t.\t.\n",
            String::from_utf8(reference).unwrap(),
            alts.join(",")
        ));
    }
    for (genome, pick) in [
        (true, Pick::All),
        (true, Pick::PerGene),
        (true, Pick::One),
        (false, Pick::All),
    ] {
        let options = options(gff(&models).unwrap(), genome.then(mt_genome), pick);
        let (vcf, stats) = try_run(&input, &options).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.variants, 1500);
        // Every entry has every field (checked by `parse_lines`).
        let lines = parse_lines(&vcf);
        assert!(lines
            .iter()
            .any(|l| l.entries.iter().any(|e| e["Feature"].starts_with("TOP"))));
        let c = stats.consequences.unwrap();
        assert!(c.not_annotated > 0 && c.entries > 0);
        assert_eq!(c.ref_mismatches > 0, genome);
    }
}

#[test]
fn names_with_csq_separators_are_escaped_in_entries() {
    // A gene name with a space and a `|`, and a biotype with a comma: CSQ
    // would split on them. Plain names are copied as they are (the fast
    // path); these go through VEP's escaping.
    let text = "##gff-version 3\n\
        1\tt\tgene\t100\t400\t.\t+\t.\tID=gene:ODD;Name=Odd name|x;biotype=protein_coding\n\
        1\tt\tmRNA\t100\t400\t.\t+\t.\tID=transcript:ODD1;Parent=gene:ODD;biotype=odd,type\n\
        1\tt\texon\t100\t400\t.\t+\t.\tParent=transcript:ODD1;rank=1\n\
        1\tt\tgene\t1000\t1400\t.\t+\t.\tID=gene:PLAIN;Name=PLAIN;biotype=lncRNA\n\
        1\tt\tlnc_RNA\t1000\t1400\t.\t+\t.\tID=transcript:PLAIN1;Parent=gene:PLAIN;biotype=lncRNA\n\
        1\tt\texon\t1000\t1400\t.\t+\t.\tParent=transcript:PLAIN1;rank=1\n";
    let models = gff(text).unwrap();
    let odd = models.find("ODD1").unwrap();
    assert!(!odd.names_are_plain());
    assert!(models.find("PLAIN1").unwrap().names_are_plain());
    let vcf = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
               1\t150\t.\tA\tG\t.\t.\t.\n1\t1150\t.\tA\tG\t.\t.\t.\n";
    let (out, _) = run(vcf, &options(models, None, Pick::All));
    let lines = common::parse_lines(&out);
    let odd = lines[0]
        .entries
        .iter()
        .find(|e| e["Feature"] == "ODD1")
        .unwrap();
    assert_eq!(odd["SYMBOL"], "Odd_name&x");
    assert_eq!(odd["BIOTYPE"], "odd&type");
    let plain = lines[1]
        .entries
        .iter()
        .find(|e| e["Feature"] == "PLAIN1")
        .unwrap();
    assert_eq!(plain["SYMBOL"], "PLAIN");
    assert_eq!(plain["BIOTYPE"], "lncRNA");
}

#[test]
fn gff3_features_are_resolved_at_each_triple_hash() {
    // Within a `###` block parts may come before their transcript (a
    // forward reference); after the `###` nothing may refer back to it, so
    // the late CDS line has a missing parent and the transcript is built
    // from what its block held.
    let text = "##gff-version 3\n\
        1\tt\texon\t100\t400\t.\t+\t.\tParent=transcript:FWD1;rank=1\n\
        1\tt\tmRNA\t100\t400\t.\t+\t.\tID=transcript:FWD1;Parent=gene:FWD;biotype=lncRNA\n\
        1\tt\tgene\t100\t400\t.\t+\t.\tID=gene:FWD;Name=FWD;biotype=lncRNA\n\
        ###\n\
        1\tt\tCDS\t151\t249\t.\t+\t0\tParent=transcript:FWD1\n\
        1\tt\tgene\t1000\t1400\t.\t+\t.\tID=gene:NEXT;biotype=lncRNA\n\
        1\tt\tlnc_RNA\t1000\t1400\t.\t+\t.\tID=transcript:NEXT1;Parent=gene:NEXT;biotype=lncRNA\n\
        1\tt\texon\t1000\t1400\t.\t+\t.\tParent=transcript:NEXT1\n\
        ###\n";
    let index = gff(text).unwrap();
    assert_eq!(index.len(), 2);
    let fwd = index.find("FWD1").unwrap();
    assert!(!fwd.is_coding(), "the CDS after ### was not attached");
    assert_eq!(fwd.gene().name(), Some("FWD"));
    assert_eq!(index.gene_count(), 2);
    let w = index.warnings();
    assert_eq!(w.skipped(SkipReason::MissingParent), 1, "{w}");
    assert!(w.examples(SkipReason::MissingParent)[0].contains("FWD1"));
}
