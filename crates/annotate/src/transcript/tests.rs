//! Tests of the transcript models, built from small synthetic GFF3, GTF
//! and FASTA written here.
//!
//! The model used throughout, on contig `1` (queried as `chr1` too), with
//! every answer worked out by hand below:
//!
//! ENST00000000001 (`+`), gene PLUS1: exons 101-130, 201-240, 301-350
//! (30 + 40 + 50 = 120 bases of cDNA: exon 1 is cDNA 1-30, exon 2 31-70,
//! exon 3 71-120). CDS 121-130, 201-240, 301-310 (10 + 40 + 10 = 60 bases,
//! stop codon 308-310 included): cDNA 21-80. Phases: 0; 10 bases before
//! the second segment, 10 % 3 = 1, so phase 2; 50 before the third,
//! 50 % 3 = 2, so phase 1. Introns 131-200 (70 bases) and 241-300 (60).
//!
//! ENST00000000002 (`-`), gene MINUS1: exons, in transcript order,
//! 701-740 (40, cDNA 1-40: 740 is cDNA 1, 701 cDNA 40), 601-651 (51, cDNA
//! 41-91) and 501-520 (20, cDNA 92-111). CDS 731-701, 651-601, 520-513
//! (31 + 51 + 8 = 90 bases, stop codon 515-513): cDNA 10-99. Phases: 0;
//! 31 % 3 = 1 so 2; 82 % 3 = 1 so 2. Intron 1 is 652-700 (49 bases, odd),
//! intron 2 521-600 (80).
//!
//! ENST00000000005 (`+`), gene SPLIT1: exons 401-420 and 431-450, CDS
//! 404-420 and 431 (17 + 1 = 18 bases): the stop codon 419-420 + 431 is
//! split by the intron, and exon 2 holds only its last base.
//!
//! ENST00000000003 (`+`), lncRNA NC1: exons 801-810, 821-830; intron
//! 811-820 (10 bases).
//!
//! ENST00000000004 (`+`), gene STARTNF1, tagged `cds_start_NF`: one exon
//! 901-950, CDS 901-940 with phase 1, so padded with (3 - 1) % 3 = 2
//! virtual bases: 901 is CDS position 3, and 2 + 40 = 42 = 14 codons.

use std::path::{Path, PathBuf};

use super::*;
use crate::fasta::Reference;

/// Contig `1`: 1,000 deterministic bases with the start and stop codons
/// of the coding transcripts written in.
fn chr1() -> Vec<u8> {
    let mut x: u32 = 12345;
    let mut seq: Vec<u8> = (0..1000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b"ACGT"[(x >> 16) as usize % 4]
        })
        .collect();
    let mut put =
        |pos: usize, bases: &[u8]| seq[pos - 1..pos - 1 + bases.len()].copy_from_slice(bases);
    put(121, b"ATG"); // PLUS1 start
    put(308, b"TAA"); // PLUS1 stop
    put(729, b"CAT"); // MINUS1 start: reverse complement ATG
    put(513, b"TTA"); // MINUS1 stop: reverse complement TAA
    put(404, b"ATG"); // SPLIT1 start
    put(419, b"TG"); // SPLIT1 stop TGA, split
    put(431, b"A");
    seq
}

/// Writes contig `1` (and a 100-base `MT`) as a FASTA with its `.fai`.
fn reference(dir: &Path) -> Reference {
    let mut fasta = b">1\n".to_vec();
    for line in chr1().chunks(60) {
        fasta.extend_from_slice(line);
        fasta.push(b'\n');
    }
    fasta.extend_from_slice(b">MT\n");
    fasta.extend_from_slice(&b"ACGT".repeat(25));
    fasta.push(b'\n');
    let path = dir.join("genome.fa");
    std::fs::write(&path, fasta).unwrap();
    Reference::open(&path).unwrap()
}

const ENSEMBL_GFF3: &str = "\
##gff-version 3
##sequence-region   1 1 1000
#!genome-build GRCh38.p14
#!genome-version GRCh38
#!genome-date 2013-12
#!genome-build-accession GCA_000001405.29
#!genebuild-last-updated 2024-07
1\tGRCh38\tchromosome\t1\t1000\t.\t.\t.\tID=chromosome:1;Alias=chr1
###
1\tensembl\tgene\t101\t350\t.\t+\t.\tID=gene:ENSG00000000001;Name=PLUS1;biotype=protein_coding;description=plus%2C one;gene_id=ENSG00000000001;version=3
1\tensembl\tmRNA\t101\t350\t.\t+\t.\tID=transcript:ENST00000000001;Parent=gene:ENSG00000000001;Name=PLUS1-201;biotype=protein_coding;tag=basic,Ensembl_canonical,MANE_Select;transcript_id=ENST00000000001;transcript_support_level=1 (assigned to previous version 1);version=2
1\tensembl\tfive_prime_UTR\t101\t120\t.\t+\t.\tParent=transcript:ENST00000000001
1\tensembl\texon\t101\t130\t.\t+\t.\tParent=transcript:ENST00000000001;Name=ENSE00000000011;exon_id=ENSE00000000011;rank=1;version=1
1\tensembl\tCDS\t121\t130\t.\t+\t0\tID=CDS:ENSP00000000001;Parent=transcript:ENST00000000001;protein_id=ENSP00000000001
1\tensembl\texon\t201\t240\t.\t+\t.\tParent=transcript:ENST00000000001;Name=ENSE00000000012;rank=2
1\tensembl\tCDS\t201\t240\t.\t+\t2\tID=CDS:ENSP00000000001;Parent=transcript:ENST00000000001;protein_id=ENSP00000000001
1\tensembl\texon\t301\t350\t.\t+\t.\tParent=transcript:ENST00000000001;Name=ENSE00000000013;rank=3
1\tensembl\tCDS\t301\t310\t.\t+\t1\tID=CDS:ENSP00000000001;Parent=transcript:ENST00000000001;protein_id=ENSP00000000001
1\tensembl\tthree_prime_UTR\t311\t350\t.\t+\t.\tParent=transcript:ENST00000000001
###
1\tensembl\tgene\t401\t450\t.\t+\t.\tID=gene:ENSG00000000005;Name=SPLIT1;biotype=protein_coding;gene_id=ENSG00000000005;version=1
1\tensembl\tmRNA\t401\t450\t.\t+\t.\tID=transcript:ENST00000000005;Parent=gene:ENSG00000000005;biotype=protein_coding;transcript_id=ENST00000000005;version=1
1\tensembl\texon\t401\t420\t.\t+\t.\tParent=transcript:ENST00000000005;rank=1
1\tensembl\tCDS\t404\t420\t.\t+\t0\tID=CDS:ENSP00000000005;Parent=transcript:ENST00000000005;protein_id=ENSP00000000005
1\tensembl\texon\t431\t450\t.\t+\t.\tParent=transcript:ENST00000000005;rank=2
1\tensembl\tCDS\t431\t431\t.\t+\t1\tID=CDS:ENSP00000000005;Parent=transcript:ENST00000000005;protein_id=ENSP00000000005
###
1\tensembl\texon\t501\t520\t.\t-\t.\tParent=transcript:ENST00000000002;rank=3
1\tensembl\tCDS\t513\t520\t.\t-\t2\tID=CDS:ENSP00000000002;Parent=transcript:ENST00000000002;protein_id=ENSP00000000002
1\tensembl\texon\t601\t651\t.\t-\t.\tParent=transcript:ENST00000000002;rank=2
1\tensembl\tCDS\t601\t651\t.\t-\t2\tID=CDS:ENSP00000000002;Parent=transcript:ENST00000000002;protein_id=ENSP00000000002
1\tensembl\texon\t701\t740\t.\t-\t.\tParent=transcript:ENST00000000002;rank=1
1\tensembl\tCDS\t701\t731\t.\t-\t0\tID=CDS:ENSP00000000002;Parent=transcript:ENST00000000002;protein_id=ENSP00000000002
1\tensembl\tmRNA\t501\t740\t.\t-\t.\tID=transcript:ENST00000000002;Parent=gene:ENSG00000000002;biotype=protein_coding;tag=basic;transcript_id=ENST00000000002;version=5
1\tensembl\tgene\t501\t740\t.\t-\t.\tID=gene:ENSG00000000002;Name=MINUS1;biotype=protein_coding;gene_id=ENSG00000000002;version=1
###
1\thavana\tncRNA_gene\t801\t830\t.\t+\t.\tID=gene:ENSG00000000003;Name=NC1;biotype=lncRNA;gene_id=ENSG00000000003;version=1
1\thavana\tlnc_RNA\t801\t830\t.\t+\t.\tID=transcript:ENST00000000003;Parent=gene:ENSG00000000003;biotype=lncRNA;tag=basic;transcript_id=ENST00000000003;transcript_support_level=NA;version=1
1\thavana\texon\t801\t810\t.\t+\t.\tParent=transcript:ENST00000000003;rank=1
1\thavana\texon\t821\t830\t.\t+\t.\tParent=transcript:ENST00000000003;rank=2
###
1\thavana\tgene\t901\t950\t.\t+\t.\tID=gene:ENSG00000000004;Name=STARTNF1;biotype=protein_coding;gene_id=ENSG00000000004;version=1
1\thavana\tmRNA\t901\t950\t.\t+\t.\tID=transcript:ENST00000000004;Parent=gene:ENSG00000000004;biotype=protein_coding;tag=cds_start_NF,mRNA_start_NF;transcript_id=ENST00000000004;version=1
1\thavana\texon\t901\t950\t.\t+\t.\tParent=transcript:ENST00000000004;rank=1
1\thavana\tCDS\t901\t940\t.\t+\t1\tID=CDS:ENSP00000000004;Parent=transcript:ENST00000000004;protein_id=ENSP00000000004
###
";

/// One Ensembl GTF line.
fn gtf_line(
    kind: &str,
    start: u32,
    end: u32,
    strand: char,
    frame: &str,
    attributes: &str,
) -> String {
    format!("1\tensembl\t{kind}\t{start}\t{end}\t.\t{strand}\t{frame}\t{attributes}\n")
}

/// The same models as [`ENSEMBL_GFF3`], as Ensembl writes them in GTF: the
/// CDS without the stop codon, which is a `stop_codon` feature.
fn ensembl_gtf() -> String {
    let mut gtf = String::from(
        "#!genome-build GRCh38.p14\n#!genome-version GRCh38\n#!genome-date 2013-12\n\
         #!genome-build-accession GCA_000001405.29\n#!genebuild-last-updated 2024-07\n",
    );
    // PLUS1
    let gene = r#"gene_id "ENSG00000000001"; gene_version "3"; gene_name "PLUS1"; gene_source "ensembl"; gene_biotype "protein_coding";"#;
    let tx = format!(
        r#"{gene} transcript_id "ENST00000000001"; transcript_version "2"; transcript_name "PLUS1-201"; transcript_source "ensembl"; transcript_biotype "protein_coding"; tag "basic"; tag "Ensembl_canonical"; tag "MANE_Select"; transcript_support_level "1 (assigned to previous version 1)";"#
    );
    let exon = |n: u32| format!(r#"{tx} exon_number "{n}";"#);
    let cds = |n: u32| format!(r#"{tx} exon_number "{n}"; protein_id "ENSP00000000001";"#);
    gtf += &gtf_line("gene", 101, 350, '+', ".", gene);
    gtf += &gtf_line("transcript", 101, 350, '+', ".", &tx);
    gtf += &gtf_line("exon", 101, 130, '+', ".", &exon(1));
    gtf += &gtf_line("CDS", 121, 130, '+', "0", &cds(1));
    gtf += &gtf_line("start_codon", 121, 123, '+', "0", &exon(1));
    gtf += &gtf_line("exon", 201, 240, '+', ".", &exon(2));
    gtf += &gtf_line("CDS", 201, 240, '+', "2", &cds(2));
    gtf += &gtf_line("exon", 301, 350, '+', ".", &exon(3));
    gtf += &gtf_line("CDS", 301, 307, '+', "1", &cds(3));
    gtf += &gtf_line("stop_codon", 308, 310, '+', "0", &exon(3));
    gtf += &gtf_line("five_prime_utr", 101, 120, '+', ".", &tx);
    gtf += &gtf_line("three_prime_utr", 311, 350, '+', ".", &tx);
    // SPLIT1: the stop codon spans the intron; exon 2 has no CDS line.
    let gene = r#"gene_id "ENSG00000000005"; gene_version "1"; gene_name "SPLIT1"; gene_biotype "protein_coding";"#;
    let tx = format!(
        r#"{gene} transcript_id "ENST00000000005"; transcript_version "1"; transcript_biotype "protein_coding";"#
    );
    let cds = format!(r#"{tx} protein_id "ENSP00000000005";"#);
    gtf += &gtf_line("gene", 401, 450, '+', ".", gene);
    gtf += &gtf_line("transcript", 401, 450, '+', ".", &tx);
    gtf += &gtf_line(
        "exon",
        401,
        420,
        '+',
        ".",
        &format!(r#"{tx} exon_number "1";"#),
    );
    gtf += &gtf_line("CDS", 404, 418, '+', "0", &cds);
    gtf += &gtf_line("stop_codon", 419, 420, '+', "0", &tx);
    gtf += &gtf_line(
        "exon",
        431,
        450,
        '+',
        ".",
        &format!(r#"{tx} exon_number "2";"#),
    );
    gtf += &gtf_line("stop_codon", 431, 431, '+', "1", &tx);
    // MINUS1, no gene line (GTF transcripts carry their gene's attributes).
    let gene = r#"gene_id "ENSG00000000002"; gene_version "1"; gene_name "MINUS1"; gene_biotype "protein_coding";"#;
    let tx = format!(
        r#"{gene} transcript_id "ENST00000000002"; transcript_version "5"; transcript_biotype "protein_coding"; tag "basic";"#
    );
    let cds = format!(r#"{tx} protein_id "ENSP00000000002";"#);
    gtf += &gtf_line("transcript", 501, 740, '-', ".", &tx);
    gtf += &gtf_line(
        "exon",
        701,
        740,
        '-',
        ".",
        &format!(r#"{tx} exon_number "1";"#),
    );
    gtf += &gtf_line("CDS", 701, 731, '-', "0", &cds);
    gtf += &gtf_line(
        "exon",
        601,
        651,
        '-',
        ".",
        &format!(r#"{tx} exon_number "2";"#),
    );
    gtf += &gtf_line("CDS", 601, 651, '-', "2", &cds);
    gtf += &gtf_line(
        "exon",
        501,
        520,
        '-',
        ".",
        &format!(r#"{tx} exon_number "3";"#),
    );
    gtf += &gtf_line("CDS", 516, 520, '-', "2", &cds);
    gtf += &gtf_line("stop_codon", 513, 515, '-', "0", &tx);
    // NC1, no gene or transcript line.
    let tx = r#"gene_id "ENSG00000000003"; gene_version "1"; gene_name "NC1"; gene_biotype "lncRNA"; transcript_id "ENST00000000003"; transcript_version "1"; transcript_biotype "lncRNA"; tag "basic"; transcript_support_level "NA";"#;
    gtf += &gtf_line(
        "exon",
        821,
        830,
        '+',
        ".",
        &format!(r#"{tx} exon_number "2";"#),
    );
    gtf += &gtf_line(
        "exon",
        801,
        810,
        '+',
        ".",
        &format!(r#"{tx} exon_number "1";"#),
    );
    // STARTNF1
    let gene = r#"gene_id "ENSG00000000004"; gene_version "1"; gene_name "STARTNF1"; gene_biotype "protein_coding";"#;
    let tx = format!(
        r#"{gene} transcript_id "ENST00000000004"; transcript_version "1"; transcript_biotype "protein_coding"; tag "cds_start_NF"; tag "mRNA_start_NF";"#
    );
    gtf += &gtf_line("gene", 901, 950, '+', ".", gene);
    gtf += &gtf_line("transcript", 901, 950, '+', ".", &tx);
    gtf += &gtf_line(
        "exon",
        901,
        950,
        '+',
        ".",
        &format!(r#"{tx} exon_number "1";"#),
    );
    gtf += &gtf_line(
        "CDS",
        901,
        940,
        '+',
        "1",
        &format!(r#"{tx} protein_id "ENSP00000000004";"#),
    );
    gtf
}

fn load(text: &str) -> TranscriptIndex {
    TranscriptIndex::from_reader("test.gff", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn get<'a>(index: &'a TranscriptIndex, id: &str) -> &'a Transcript {
    index.find(id).unwrap_or_else(|| panic!("{id} not loaded"))
}

fn hgvs(t: &Transcript, pos: u32) -> String {
    format!("{}.{}", t.hgvs_prefix(), t.hgvs_position(pos))
}

#[test]
fn ensembl_gff3_model() {
    let index = load(ENSEMBL_GFF3);
    assert_eq!(index.format(), AnnotationFormat::Gff3);
    assert_eq!(index.len(), 5);
    assert_eq!(index.gene_count(), 5);
    assert!(index.warnings().is_empty(), "{}", index.warnings());
    assert_eq!(
        index.header_lines(),
        [
            "##gff-version 3",
            "#!genome-build GRCh38.p14",
            "#!genome-version GRCh38",
            "#!genome-date 2013-12",
            "#!genome-build-accession GCA_000001405.29",
            "#!genebuild-last-updated 2024-07",
        ]
    );
    assert_eq!(index.genome_build(), Some("GRCh38.p14"));

    let plus = get(&index, "ENST00000000001");
    assert_eq!(plus.id(), "ENST00000000001.2");
    assert_eq!(plus.stable_id(), "ENST00000000001");
    assert_eq!(plus.gene().id(), "ENSG00000000001.3");
    assert_eq!(plus.gene().stable_id(), "ENSG00000000001");
    assert_eq!(plus.gene().name(), Some("PLUS1"));
    assert_eq!(plus.gene().biotype(), "protein_coding");
    assert_eq!(plus.biotype(), "protein_coding");
    assert_eq!(plus.contig(), "1");
    assert_eq!(plus.strand(), Strand::Forward);
    assert_eq!((plus.start(), plus.end()), (101, 350));
    assert_eq!(
        plus.tags().collect::<Vec<_>>(),
        ["basic", "Ensembl_canonical", "MANE_Select"]
    );
    assert!(plus.is_canonical() && plus.is_mane_select() && plus.is_basic());
    assert!(!plus.is_mane_plus_clinical() && !plus.is_mitochondrial());
    assert_eq!(plus.tsl(), Some(1));
    assert_eq!(plus.level(), None);
    assert_eq!(plus.protein_id(), Some("ENSP00000000001"));
    let exons: Vec<_> = plus
        .exons()
        .iter()
        .map(|e| (e.start(), e.end(), e.cdna_start(), e.cdna_end()))
        .collect();
    assert_eq!(
        exons,
        [(101, 130, 1, 30), (201, 240, 31, 70), (301, 350, 71, 120)]
    );
    assert_eq!(plus.introns().collect::<Vec<_>>(), [(131, 200), (241, 300)]);
    assert_eq!(plus.cdna_len(), 120);
    assert_eq!(
        plus.cds_segments(),
        [
            CdsSegment {
                start: 121,
                end: 130,
                phase: 0
            },
            CdsSegment {
                start: 201,
                end: 240,
                phase: 2
            },
            CdsSegment {
                start: 301,
                end: 310,
                phase: 1
            },
        ]
    );
    assert_eq!(
        (plus.cdna_coding_start(), plus.cdna_coding_end()),
        (Some(21), Some(80))
    );
    assert_eq!(plus.cds_len(), Some(60));
    assert_eq!(plus.coding_range(), Some((121, 310)));
    assert!(plus.cds_start_complete() && plus.cds_end_complete());
    assert_eq!(plus.five_prime_utr(), [(101, 120)]);
    assert_eq!(plus.three_prime_utr(), [(311, 350)]);

    let minus = get(&index, "ENST00000000002.5");
    assert_eq!(minus.strand(), Strand::Reverse);
    assert_eq!(minus.gene().name(), Some("MINUS1"));
    let exons: Vec<_> = minus
        .exons()
        .iter()
        .map(|e| (e.start(), e.end(), e.cdna_start(), e.cdna_end()))
        .collect();
    assert_eq!(
        exons,
        [(701, 740, 1, 40), (601, 651, 41, 91), (501, 520, 92, 111)]
    );
    assert_eq!(
        minus.introns().collect::<Vec<_>>(),
        [(652, 700), (521, 600)]
    );
    assert_eq!(
        minus.cds_segments(),
        [
            CdsSegment {
                start: 701,
                end: 731,
                phase: 0
            },
            CdsSegment {
                start: 601,
                end: 651,
                phase: 2
            },
            CdsSegment {
                start: 513,
                end: 520,
                phase: 2
            },
        ]
    );
    assert_eq!(
        (minus.cdna_coding_start(), minus.cdna_coding_end()),
        (Some(10), Some(99))
    );
    // 5' UTR: cDNA 1-9 = 740-732; 3' UTR: cDNA 100-111 = 512-501.
    assert_eq!(minus.five_prime_utr(), [(732, 740)]);
    assert_eq!(minus.three_prime_utr(), [(501, 512)]);

    // The stop codon split by an intron: CDS 404-420 + 431; 3' UTR 432-450.
    let split = get(&index, "ENST00000000005");
    assert_eq!(
        split.cds_segments(),
        [
            CdsSegment {
                start: 404,
                end: 420,
                phase: 0
            },
            CdsSegment {
                start: 431,
                end: 431,
                phase: 1
            },
        ]
    );
    assert_eq!(split.cds_len(), Some(18));
    assert_eq!(split.three_prime_utr(), [(432, 450)]);
    assert_eq!(split.five_prime_utr(), [(401, 403)]);

    let nc = get(&index, "ENST00000000003");
    assert!(!nc.is_coding());
    assert_eq!(nc.biotype(), "lncRNA");
    assert_eq!(nc.gene().biotype(), "lncRNA");
    assert_eq!(nc.tsl(), None);
    assert!(nc.cds_segments().is_empty() && nc.five_prime_utr().is_empty());
    assert_eq!((nc.cds_len(), nc.cds_start_padding()), (None, 0));
    assert!(!nc.cds_start_complete() && !nc.cds_end_complete());

    let nf = get(&index, "ENST00000000004");
    assert!(!nf.cds_start_complete() && nf.cds_end_complete());
    assert_eq!(nf.cds_start_padding(), 2);
    assert_eq!(nf.cds_len(), Some(40));
}

#[test]
fn gtf_gives_the_same_transcripts_as_gff3() {
    let gff3 = load(ENSEMBL_GFF3);
    let gtf = load(&ensembl_gtf());
    assert_eq!(gtf.format(), AnnotationFormat::Gtf);
    assert!(gtf.warnings().is_empty(), "{}", gtf.warnings());
    assert_eq!(gtf.len(), gff3.len());
    assert_eq!(gtf.gene_count(), 5);
    for transcript in gff3.transcripts() {
        assert_eq!(
            get(&gtf, transcript.id()),
            transcript,
            "{}",
            transcript.id()
        );
    }
    assert_eq!(gtf.genome_build(), Some("GRCh38.p14"));
    assert_eq!(gtf.header_lines().len(), 5);
}

#[test]
fn gencode_gff3_and_gtf() {
    // GENCODE: no id prefixes, versions inside the ids, `*_type`
    // attributes, `level`, start/stop codon features. As in GENCODE's own
    // files, the GFF3 CDS includes the stop codon and the GTF CDS does not.
    let common = "gene_id=ENSG00000000001.3;gene_type=protein_coding;gene_name=PLUS1;level=2";
    let tx_attrs = "transcript_id=ENST00000000001.2;transcript_type=protein_coding;transcript_name=PLUS1-201;\
                    protein_id=ENSP00000000001.2;transcript_support_level=2;tag=basic,Ensembl_canonical,MANE_Select,CCDS";
    let mut gff3 = String::from(
        "##gff-version 3\n#description: evidence-based annotation of the human genome (GRCh38), version 46 (Ensembl 112)\n\
         #provider: GENCODE\n#contact: gencode-help@ebi.ac.uk\n#format: gff3\n#date: 2024-03-21\n##sequence-region chr1 1 248956422\n",
    );
    gff3 += &format!("chr1\tHAVANA\tgene\t101\t350\t.\t+\t.\tID=ENSG00000000001.3;{common}\n");
    gff3 += &format!("chr1\tHAVANA\ttranscript\t101\t350\t.\t+\t.\tID=ENST00000000001.2;Parent=ENSG00000000001.3;{common};{tx_attrs}\n");
    let mut child = |kind: &str, id: &str, start: u32, end: u32, phase: &str| {
        gff3 += &format!(
            "chr1\tHAVANA\t{kind}\t{start}\t{end}\t.\t+\t{phase}\tID={id};Parent=ENST00000000001.2;{common};{tx_attrs}\n"
        );
    };
    child("exon", "exon:ENST00000000001.2:1", 101, 130, ".");
    child("CDS", "CDS:ENST00000000001.2", 121, 130, "0");
    child(
        "start_codon",
        "start_codon:ENST00000000001.2",
        121,
        123,
        "0",
    );
    child("exon", "exon:ENST00000000001.2:2", 201, 240, ".");
    child("CDS", "CDS:ENST00000000001.2", 201, 240, "2");
    child("exon", "exon:ENST00000000001.2:3", 301, 350, ".");
    child("CDS", "CDS:ENST00000000001.2", 301, 310, "1");
    child("stop_codon", "stop_codon:ENST00000000001.2", 308, 310, "0");
    child("five_prime_UTR", "UTR5:ENST00000000001.2", 101, 120, ".");
    child("three_prime_UTR", "UTR3:ENST00000000001.2", 311, 350, ".");

    let common =
        r#"gene_id "ENSG00000000001.3"; gene_type "protein_coding"; gene_name "PLUS1"; level 2;"#;
    let tx = format!(
        r#"{common} transcript_id "ENST00000000001.2"; transcript_type "protein_coding"; transcript_name "PLUS1-201"; protein_id "ENSP00000000001.2"; transcript_support_level "2"; tag "basic"; tag "Ensembl_canonical"; tag "MANE_Select"; tag "CCDS"; ccdsid "CCDS1.1";"#
    );
    let mut gtf = String::from("##description: evidence-based annotation\n##provider: GENCODE\n##format: gtf\n##date: 2024-03-21\n");
    for (kind, start, end, frame) in [
        ("gene", 101, 350, "."),
        ("transcript", 101, 350, "."),
        ("exon", 101, 130, "."),
        ("CDS", 121, 130, "0"),
        ("start_codon", 121, 123, "0"),
        ("exon", 201, 240, "."),
        ("CDS", 201, 240, "2"),
        ("exon", 301, 350, "."),
        ("CDS", 301, 307, "1"),
        ("stop_codon", 308, 310, "0"),
        ("UTR", 101, 120, "."),
        ("UTR", 308, 350, "."),
    ] {
        let attrs = if kind == "gene" { common } else { &tx };
        gtf += &format!("chr1\tHAVANA\t{kind}\t{start}\t{end}\t.\t+\t{frame}\t{attrs}\n");
    }

    let from_gff3 = load(&gff3);
    let from_gtf = load(&gtf);
    assert_eq!(from_gff3.format(), AnnotationFormat::Gff3);
    assert_eq!(from_gtf.format(), AnnotationFormat::Gtf);
    assert_eq!(
        from_gff3.header_lines().len(),
        5,
        "{:?}",
        from_gff3.header_lines()
    );
    assert_eq!(from_gtf.header_lines().len(), 4);
    let a = get(&from_gff3, "ENST00000000001.2");
    let b = get(&from_gtf, "ENST00000000001.2");
    assert_eq!(a, b);
    assert_eq!(a.id(), "ENST00000000001.2");
    assert_eq!(a.gene().id(), "ENSG00000000001.3");
    assert_eq!(a.gene().name(), Some("PLUS1"));
    assert_eq!(a.protein_id(), Some("ENSP00000000001.2"));
    assert_eq!((a.level(), a.tsl()), (Some(2), Some(2)));
    assert!(a.has_tag("CCDS") && a.is_mane_select());
    // The same model as the Ensembl file's, on `chr1`.
    let ensembl = load(ENSEMBL_GFF3);
    let e = get(&ensembl, "ENST00000000001");
    assert_eq!(a.exons(), e.exons());
    assert_eq!(a.cds_segments(), e.cds_segments());
    assert_eq!(a.contig(), "chr1");
}

/// (position, location, cDNA, CDS, HGVS, exon, intron) of one position.
type Case = (
    u32,
    Location,
    Option<u32>,
    Option<u32>,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

/// Checks every helper at each position, and the mappings back.
fn check(t: &Transcript, cases: &[Case]) {
    for (pos, location, cdna, cds, hgvs_text, exon, intron) in cases.iter().copied() {
        assert_eq!(t.locate(pos), location, "{pos}");
        assert_eq!(t.cdna_position(pos), cdna, "{pos}");
        assert_eq!(t.cds_position(pos), cds, "{pos}");
        assert_eq!(hgvs(t, pos), hgvs_text, "{pos}");
        assert_eq!(
            t.exon_number(pos).map(|n| n.to_string()).as_deref(),
            exon,
            "{pos}"
        );
        assert_eq!(
            t.intron_number(pos).map(|n| n.to_string()).as_deref(),
            intron,
            "{pos}"
        );
        if let Some(cdna) = cdna {
            assert_eq!(t.cdna_to_genomic(cdna), Some(pos));
        }
        if let Some(cds) = cds {
            assert_eq!(t.cds_to_genomic(cds), Some(pos));
        }
    }
}

#[test]
fn plus_strand_coordinates() {
    let index = load(ENSEMBL_GFF3);
    let t = get(&index, "ENST00000000001");
    // (position, location, cDNA, CDS, HGVS, exon, intron)
    let cases: [Case; 20] = [
        // 10 bases before the first exon: c.-(20 + 10).
        (
            91,
            Location::Upstream { distance: 10 },
            None,
            None,
            "c.-30",
            None,
            None,
        ),
        (
            100,
            Location::Upstream { distance: 1 },
            None,
            None,
            "c.-21",
            None,
            None,
        ),
        // First exon base: cDNA 1, 20 bases before CDS position 1 (cDNA 21).
        (
            101,
            Location::Exon { exon: 1, cdna: 1 },
            Some(1),
            None,
            "c.-20",
            Some("1/3"),
            None,
        ),
        (
            110,
            Location::Exon { exon: 1, cdna: 10 },
            Some(10),
            None,
            "c.-11",
            Some("1/3"),
            None,
        ),
        (
            120,
            Location::Exon { exon: 1, cdna: 20 },
            Some(20),
            None,
            "c.-1",
            Some("1/3"),
            None,
        ),
        // The A of the ATG.
        (
            121,
            Location::Exon { exon: 1, cdna: 21 },
            Some(21),
            Some(1),
            "c.1",
            Some("1/3"),
            None,
        ),
        (
            130,
            Location::Exon { exon: 1, cdna: 30 },
            Some(30),
            Some(10),
            "c.10",
            Some("1/3"),
            None,
        ),
        // Intron 1 (131-200, 70 bases): first half from exon 1's end
        // (c.10), second half from exon 2's start (c.11).
        (
            131,
            Location::Intron {
                intron: 1,
                from_5prime: 1,
                to_3prime: 70,
            },
            None,
            None,
            "c.10+1",
            None,
            Some("1/2"),
        ),
        (
            165,
            Location::Intron {
                intron: 1,
                from_5prime: 35,
                to_3prime: 36,
            },
            None,
            None,
            "c.10+35",
            None,
            Some("1/2"),
        ),
        (
            166,
            Location::Intron {
                intron: 1,
                from_5prime: 36,
                to_3prime: 35,
            },
            None,
            None,
            "c.11-35",
            None,
            Some("1/2"),
        ),
        (
            200,
            Location::Intron {
                intron: 1,
                from_5prime: 70,
                to_3prime: 1,
            },
            None,
            None,
            "c.11-1",
            None,
            Some("1/2"),
        ),
        (
            201,
            Location::Exon { exon: 2, cdna: 31 },
            Some(31),
            Some(11),
            "c.11",
            Some("2/3"),
            None,
        ),
        (
            240,
            Location::Exon { exon: 2, cdna: 70 },
            Some(70),
            Some(50),
            "c.50",
            Some("2/3"),
            None,
        ),
        // Intron 2 (241-300, 60 bases).
        (
            270,
            Location::Intron {
                intron: 2,
                from_5prime: 30,
                to_3prime: 31,
            },
            None,
            None,
            "c.50+30",
            None,
            Some("2/2"),
        ),
        (
            271,
            Location::Intron {
                intron: 2,
                from_5prime: 31,
                to_3prime: 30,
            },
            None,
            None,
            "c.51-30",
            None,
            Some("2/2"),
        ),
        (
            301,
            Location::Exon { exon: 3, cdna: 71 },
            Some(71),
            Some(51),
            "c.51",
            Some("3/3"),
            None,
        ),
        // The last base of the stop codon, then the 3' UTR (cDNA 81-120).
        (
            310,
            Location::Exon { exon: 3, cdna: 80 },
            Some(80),
            Some(60),
            "c.60",
            Some("3/3"),
            None,
        ),
        (
            311,
            Location::Exon { exon: 3, cdna: 81 },
            Some(81),
            None,
            "c.*1",
            Some("3/3"),
            None,
        ),
        (
            350,
            Location::Exon { exon: 3, cdna: 120 },
            Some(120),
            None,
            "c.*40",
            Some("3/3"),
            None,
        ),
        // Downstream continues the 3' numbering: c.*(40 + 10).
        (
            360,
            Location::Downstream { distance: 10 },
            None,
            None,
            "c.*50",
            None,
            None,
        ),
    ];
    check(t, &cases);
    assert_eq!(
        t.hgvs_position(131),
        HgvsPosition {
            anchor: HgvsAnchor::Main(10),
            offset: 1
        }
    );
    assert_eq!(
        t.hgvs_position(110),
        HgvsPosition {
            anchor: HgvsAnchor::FivePrime(11),
            offset: 0
        }
    );
    assert_eq!(t.cds_to_genomic(0), None);
    assert_eq!(t.cds_to_genomic(61), None);
    assert_eq!(t.cdna_to_genomic(0), None);
    assert_eq!(t.cdna_to_genomic(121), None);
}

#[test]
fn minus_strand_coordinates() {
    let index = load(ENSEMBL_GFF3);
    let t = get(&index, "ENST00000000002");
    let cases: [Case; 19] = [
        // Upstream is above the transcript's highest base (740).
        (
            750,
            Location::Upstream { distance: 10 },
            None,
            None,
            "c.-19",
            None,
            None,
        ),
        (
            741,
            Location::Upstream { distance: 1 },
            None,
            None,
            "c.-10",
            None,
            None,
        ),
        // 740 is cDNA 1; the CDS starts at cDNA 10 (731).
        (
            740,
            Location::Exon { exon: 1, cdna: 1 },
            Some(1),
            None,
            "c.-9",
            Some("1/3"),
            None,
        ),
        (
            735,
            Location::Exon { exon: 1, cdna: 6 },
            Some(6),
            None,
            "c.-4",
            Some("1/3"),
            None,
        ),
        (
            731,
            Location::Exon { exon: 1, cdna: 10 },
            Some(10),
            Some(1),
            "c.1",
            Some("1/3"),
            None,
        ),
        (
            701,
            Location::Exon { exon: 1, cdna: 40 },
            Some(40),
            Some(31),
            "c.31",
            Some("1/3"),
            None,
        ),
        // Intron 1 (700 down to 652, 49 bases): 700 follows exon 1's last
        // base (701, c.31); 676 is the middle base (25 from each side),
        // which takes `+`; 675 is 24 before exon 2's first base (651, c.32).
        (
            700,
            Location::Intron {
                intron: 1,
                from_5prime: 1,
                to_3prime: 49,
            },
            None,
            None,
            "c.31+1",
            None,
            Some("1/2"),
        ),
        (
            676,
            Location::Intron {
                intron: 1,
                from_5prime: 25,
                to_3prime: 25,
            },
            None,
            None,
            "c.31+25",
            None,
            Some("1/2"),
        ),
        (
            675,
            Location::Intron {
                intron: 1,
                from_5prime: 26,
                to_3prime: 24,
            },
            None,
            None,
            "c.32-24",
            None,
            Some("1/2"),
        ),
        (
            652,
            Location::Intron {
                intron: 1,
                from_5prime: 49,
                to_3prime: 1,
            },
            None,
            None,
            "c.32-1",
            None,
            Some("1/2"),
        ),
        (
            651,
            Location::Exon { exon: 2, cdna: 41 },
            Some(41),
            Some(32),
            "c.32",
            Some("2/3"),
            None,
        ),
        (
            601,
            Location::Exon { exon: 2, cdna: 91 },
            Some(91),
            Some(82),
            "c.82",
            Some("2/3"),
            None,
        ),
        // Intron 2 (600 down to 521, 80 bases).
        (
            600,
            Location::Intron {
                intron: 2,
                from_5prime: 1,
                to_3prime: 80,
            },
            None,
            None,
            "c.82+1",
            None,
            Some("2/2"),
        ),
        (
            521,
            Location::Intron {
                intron: 2,
                from_5prime: 80,
                to_3prime: 1,
            },
            None,
            None,
            "c.83-1",
            None,
            Some("2/2"),
        ),
        (
            520,
            Location::Exon { exon: 3, cdna: 92 },
            Some(92),
            Some(83),
            "c.83",
            Some("3/3"),
            None,
        ),
        // The stop codon's last base (cDNA 99), then the 3' UTR.
        (
            513,
            Location::Exon { exon: 3, cdna: 99 },
            Some(99),
            Some(90),
            "c.90",
            Some("3/3"),
            None,
        ),
        (
            512,
            Location::Exon { exon: 3, cdna: 100 },
            Some(100),
            None,
            "c.*1",
            Some("3/3"),
            None,
        ),
        (
            501,
            Location::Exon { exon: 3, cdna: 111 },
            Some(111),
            None,
            "c.*12",
            Some("3/3"),
            None,
        ),
        (
            500,
            Location::Downstream { distance: 1 },
            None,
            None,
            "c.*13",
            None,
            None,
        ),
    ];
    check(t, &cases);
}

#[test]
fn noncoding_and_incomplete_start_coordinates() {
    let index = load(ENSEMBL_GFF3);
    // n. numbering on the cDNA; intron 811-820 is 10 bases, so 815 is 5
    // after exon 1 (n.10) and 816 is 5 before exon 2 (n.11).
    let nc = get(&index, "ENST00000000003");
    assert_eq!(nc.hgvs_prefix(), 'n');
    for (pos, text) in [
        (800, "n.-1"),
        (801, "n.1"),
        (810, "n.10"),
        (815, "n.10+5"),
        (816, "n.11-5"),
        (821, "n.11"),
        (830, "n.20"),
        (832, "n.*2"),
    ] {
        assert_eq!(hgvs(nc, pos), text, "{pos}");
    }
    assert_eq!(nc.cds_position(805), None);

    // cds_start_NF with phase 1: two virtual bases, so 901 is CDS 3 and
    // codon 1 is NN + base 901.
    let nf = get(&index, "ENST00000000004");
    assert_eq!(nf.cds_position(901), Some(3));
    assert_eq!(nf.cds_position(940), Some(42));
    assert_eq!(nf.cds_position(941), None);
    assert_eq!(hgvs(nf, 901), "c.3");
    assert_eq!(hgvs(nf, 945), "c.*5");
    assert_eq!(nf.cds_to_genomic(2), None);
    assert_eq!(nf.cds_to_genomic(3), Some(901));
    assert_eq!(nf.cds_to_genomic(42), Some(940));
}

#[test]
fn coding_and_cdna_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let reference = reference(dir.path());
    let chr1 = chr1();
    let span = |a: usize, b: usize| chr1[a - 1..b].to_vec();
    let index = load(ENSEMBL_GFF3);

    let plus = get(&index, "ENST00000000001");
    let cds = plus.coding_sequence(&reference).unwrap();
    assert_eq!(
        cds,
        [span(121, 130), span(201, 240), span(301, 310)].concat()
    );
    assert_eq!((&cds[..3], &cds[57..]), (&b"ATG"[..], &b"TAA"[..]));
    let cdna = plus.cdna_sequence(&reference).unwrap();
    assert_eq!(
        cdna,
        [span(101, 130), span(201, 240), span(301, 350)].concat()
    );

    let minus = get(&index, "ENST00000000002");
    let cds = minus.coding_sequence(&reference).unwrap();
    let mut expected = [span(701, 731), span(601, 651), span(513, 520)];
    for part in &mut expected {
        crate::fasta::reverse_complement(part);
    }
    assert_eq!(cds, expected.concat());
    assert_eq!(cds.len(), 90);
    assert_eq!((&cds[..3], &cds[87..]), (&b"ATG"[..], &b"TAA"[..]));
    // CDS position p is index p - 1, on the transcript's strand.
    let mut base = span(651, 651);
    crate::fasta::reverse_complement(&mut base);
    assert_eq!(cds[32 - 1], base[0]);

    let split = get(&index, "ENST00000000005");
    let cds = split.coding_sequence(&reference).unwrap();
    assert_eq!((&cds[..3], &cds[15..]), (&b"ATG"[..], &b"TGA"[..]));

    let nf = get(&index, "ENST00000000004");
    let cds = nf.coding_sequence(&reference).unwrap();
    assert_eq!(cds.len(), 42);
    assert_eq!(&cds[..2], b"NN");
    assert_eq!(cds[2..], span(901, 940));

    let nc = get(&index, "ENST00000000003");
    assert!(nc.coding_sequence(&reference).unwrap().is_empty());
    assert_eq!(
        nc.cdna_sequence(&reference).unwrap(),
        [span(801, 810), span(821, 830)].concat()
    );
}

/// Transcript-level lines around the broken models.
const BROKEN: &str = "\
##gff-version 3
1\tt\tgene\t1\t1000\t.\t+\t.\tID=gene:G;Name=G;biotype=protein_coding
1\tt\texon\t10\t20\t.\t+\t.\tParent=transcript:ORPHAN
1\tt\texon\t5\t8\t.\t+\t.\tName=no_parent
1\tt\tmRNA\t10\t20\t.\t+\t.\tID=transcript:NOGENE;Parent=gene:ABSENT;biotype=protein_coding
1\tt\texon\t10\t20\t.\t+\t.\tParent=transcript:NOGENE
1\tt\tmRNA\t10\t20\t.\t+\t.\tID=transcript:EMPTY;Parent=gene:G;biotype=protein_coding
1\tt\tmRNA\t100\t200\t.\t+\t.\tID=transcript:OVERLAP;Parent=gene:G;biotype=lncRNA
1\tt\texon\t100\t150\t.\t+\t.\tParent=transcript:OVERLAP
1\tt\texon\t140\t200\t.\t+\t.\tParent=transcript:OVERLAP
1\tt\tmRNA\t100\t200\t.\t-\t.\tID=transcript:ORDER;Parent=gene:G;biotype=lncRNA
1\tt\texon\t100\t150\t.\t-\t.\tParent=transcript:ORDER;rank=1
1\tt\texon\t170\t200\t.\t-\t.\tParent=transcript:ORDER;rank=2
1\tt\tmRNA\t100\t150\t.\t+\t.\tID=transcript:OUTSIDE;Parent=gene:G;biotype=protein_coding
1\tt\texon\t100\t150\t.\t+\t.\tParent=transcript:OUTSIDE
1\tt\tCDS\t91\t110\t.\t+\t0\tParent=transcript:OUTSIDE
1\tt\tmRNA\t100\t240\t.\t+\t.\tID=transcript:GAP;Parent=gene:G;biotype=protein_coding
1\tt\texon\t100\t130\t.\t+\t.\tParent=transcript:GAP
1\tt\texon\t201\t240\t.\t+\t.\tParent=transcript:GAP
1\tt\tCDS\t121\t125\t.\t+\t0\tParent=transcript:GAP
1\tt\tCDS\t201\t240\t.\t+\t1\tParent=transcript:GAP
1\tt\tmRNA\t100\t200\t.\t+\t.\tID=transcript:PARTIAL;Parent=gene:G;biotype=protein_coding
1\tt\texon\t100\t200\t.\t+\t.\tParent=transcript:PARTIAL
1\tt\tCDS\t101\t110\t.\t+\t0\tParent=transcript:PARTIAL
1\tt\tmRNA\t100\t200\t.\t+\t.\tID=transcript:STRAND;Parent=gene:G;biotype=lncRNA
1\tt\texon\t100\t200\t.\t-\t.\tParent=transcript:STRAND
1\tt\tmRNA\t100\t200\t.\t.\t.\tID=transcript:NOSTRAND;Parent=gene:G;biotype=lncRNA
1\tt\texon\t100\t200\t.\t.\t.\tParent=transcript:NOSTRAND
1\tt\tmRNA\t100\t200\t.\t+\t.\tID=transcript:ENDNF;Parent=gene:G;biotype=protein_coding;tag=cds_end_NF
1\tt\texon\t100\t200\t.\t+\t.\tParent=transcript:ENDNF
1\tt\tCDS\t101\t110\t.\t+\t0\tParent=transcript:ENDNF
1\tt\tmRNA\t100\t200\t.\t+\t.\tID=transcript:PHASE;Parent=gene:G;biotype=protein_coding
1\tt\texon\t100\t200\t.\t+\t.\tParent=transcript:PHASE
1\tt\tCDS\t101\t111\t.\t+\t1\tParent=transcript:PHASE
1\tt\tmRNA\t100\t200\t.\t+\t.\tID=transcript:GOOD;Parent=gene:G;biotype=protein_coding
1\tt\texon\t100\t200\t.\t+\t.\tParent=transcript:GOOD
1\tt\tCDS\t101\t112\t.\t+\t0\tParent=transcript:GOOD
MT\tt\tgene\t11\t60\t.\t+\t.\tID=gene:MTG;Name=MT-X;biotype=protein_coding
MT\tt\tmRNA\t11\t60\t.\t+\t.\tID=transcript:MTPOLYA;Parent=gene:MTG;biotype=protein_coding
MT\tt\texon\t11\t60\t.\t+\t.\tParent=transcript:MTPOLYA
MT\tt\tCDS\t21\t30\t.\t+\t0\tParent=transcript:MTPOLYA
";

#[test]
fn broken_models_are_skipped_and_counted() {
    let index = load(BROKEN);
    let warnings = index.warnings();
    let expected = [
        // The orphan exons' transcript, the exon without Parent, the
        // transcript whose gene has no line.
        (SkipReason::MissingParent, 3),
        (SkipReason::NoExons, 1),
        (SkipReason::OverlappingExons, 1),
        // On the minus strand rank 1 is the higher exon (170-200).
        (SkipReason::ExonOrder, 1),
        // CDS 91-110 starts before exon 100-150.
        (SkipReason::CdsOutsideExon, 1),
        // CDS 121-125 then 201-240 leaves 126-130 of exon 1 out.
        (SkipReason::CdsGap, 1),
        // 10 bases, both ends complete.
        (SkipReason::PartialCodon, 1),
        (SkipReason::Inconsistent, 2),
    ];
    for (reason, count) in expected {
        assert_eq!(warnings.skipped(reason), count, "{reason:?}: {warnings}");
    }
    assert_eq!(warnings.total_skipped(), 11);
    // The line without a parent is found while reading, the others at the
    // end.
    assert_eq!(
        warnings.examples(SkipReason::MissingParent),
        ["exon at line 4", "ORPHAN", "NOGENE"]
    );
    assert_eq!(warnings.examples(SkipReason::PartialCodon), ["PARTIAL"]);
    assert!(
        warnings
            .to_string()
            .contains("skipped 1 transcript(s) (overlapping exons), e.g. OVERLAP"),
        "{warnings}"
    );
    // Kept: incomplete ends tolerate a partial codon, and MT stops may be
    // completed by polyadenylation.
    let mut kept: Vec<&str> = index.transcripts().map(Transcript::id).collect();
    kept.sort_unstable();
    assert_eq!(kept, ["ENDNF", "GOOD", "MTPOLYA", "PHASE"]);
    let end_nf = get(&index, "ENDNF");
    assert!(end_nf.cds_start_complete() && !end_nf.cds_end_complete());
    let phase = get(&index, "PHASE");
    assert!(!phase.cds_start_complete());
    assert_eq!((phase.cds_start_padding(), phase.cds_len()), (2, Some(11)));
    let mt = get(&index, "MTPOLYA");
    assert!(mt.is_mitochondrial() && mt.stop_completed_by_polya());
    assert!(mt.cds_start_complete() && mt.cds_end_complete());
    assert!(!get(&index, "GOOD").stop_completed_by_polya());
    assert_eq!(warnings.polya_stops, 1);
}

#[test]
fn phase_disagreements_are_counted_not_fatal() {
    // The second CDS says phase 0, but 10 bases precede it: phase 2.
    let gff = "1\tt\tgene\t1\t100\t.\t+\t.\tID=gene:G\n\
               1\tt\tmRNA\t1\t100\t.\t+\t.\tID=transcript:T;Parent=gene:G\n\
               1\tt\texon\t1\t10\t.\t+\t.\tParent=transcript:T\n\
               1\tt\texon\t21\t40\t.\t+\t.\tParent=transcript:T\n\
               1\tt\tCDS\t1\t10\t.\t+\t0\tParent=transcript:T\n\
               1\tt\tCDS\t21\t25\t.\t+\t0\tParent=transcript:T\n";
    let index = load(gff);
    assert_eq!(index.warnings().phase_disagreements, 1);
    assert_eq!(get(&index, "T").cds_segments()[1].phase, 2);
    // Biotypes default to the feature type; names to none.
    assert_eq!(get(&index, "T").biotype(), "mRNA");
    assert_eq!(get(&index, "T").gene().name(), None);
}

#[test]
fn lines_that_are_not_gff_are_errors_naming_them() {
    let gene = "1\tt\tgene\t1\t100\t.\t+\t.\tID=gene:G\n";
    for (text, line, message) in [
        (format!("##gff-version 3\n{gene}1\tt\texon\t100\n"), 3, "expected 9 tab-separated columns"),
        (format!("{gene}1\tt\texon\tten\t20\t.\t+\t.\tParent=transcript:T\n"), 2, "start (column 4) \"ten\" is not an integer"),
        (format!("{gene}1\tt\texon\t30\t20\t.\t+\t.\tParent=transcript:T\n"), 2, "start 30 is after end 20"),
        (format!("{gene}1\tt\texon\t0\t20\t.\t+\t.\tParent=transcript:T\n"), 2, "exon start 0 is not a 1-based position"),
        (format!("{gene}1\tt\texon\t1\t20\t.\tx\t.\tParent=transcript:T\n"), 2, "strand"),
        (format!("{gene}1\tt\tCDS\t1\t20\t.\t+\t3\tParent=transcript:T\n"), 2, "phase"),
        (format!("{gene}1\tt\texon\t1\t20\t.\t+\t.\tParent transcript:T\n"), 2, "has no '='"),
        (">chr1 a FASTA file\nACGT\n".to_string(), 1, "expected 9 tab-separated columns"),
        ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\t.\t.\n".to_string(), 3, "expected 9"),
        ("1\tt\tgene\t1\t100\t.\t+\t.\tgene_id \"G\"\n1\tt\texon\t1\t20\t.\t+\t.\tgene_id \"G\"; transcript_id \"T\n".to_string(), 2, "unterminated"),
    ] {
        let err = TranscriptIndex::from_reader("bad.gff", text.as_bytes()).unwrap_err();
        match &err {
            GffError::Malformed { line: l, message: m, path } => {
                assert_eq!(*l, line, "{err}");
                assert!(m.contains(message), "{err}");
                assert_eq!(path, Path::new("bad.gff"));
            }
            other => panic!("{other}"),
        }
    }
    // Coordinates of lines that are not used may be outside the contig (a
    // gene cut from a larger genome), and attribute values may hold tabs.
    let ok = "1\tt\tgene\t-15\t100\t.\t+\t.\tID=gene:G;description=a\tb\n\
              1\tt\tmRNA\t1\t100\t.\t+\t.\tID=transcript:T;Parent=gene:G\n\
              1\tt\texon\t1\t100\t.\t+\t.\tParent=transcript:T\n";
    assert_eq!(load(ok).len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let err = TranscriptIndex::load(dir.path().join("absent.gff3")).unwrap_err();
    assert!(matches!(err, GffError::NotFound { .. }), "{err}");
}

#[test]
fn compressed_annotation_reads_the_same() {
    use std::io::Write;
    let plain = load(ENSEMBL_GFF3);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(ENSEMBL_GFF3.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let mut bgzf = Vec::new();
    crate::bgzf::BgzfEncoder::new().encode(ENSEMBL_GFF3.as_bytes(), &mut bgzf);
    bgzf.extend_from_slice(&crate::bgzf::EOF_BLOCK);
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("genes.gff3.gz", gz), ("genes.gff3.bgz", bgzf)] {
        let path: PathBuf = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let index = TranscriptIndex::load(&path).unwrap();
        assert_eq!(
            index.transcripts().collect::<Vec<_>>(),
            plain.transcripts().collect::<Vec<_>>()
        );
        assert_eq!(index.header_lines(), plain.header_lines());
    }
    let path = dir.path().join("broken.gff3.gz");
    std::fs::write(&path, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    let err = TranscriptIndex::load(&path).unwrap_err();
    assert!(
        matches!(err, GffError::BadCompression { .. } | GffError::Io { .. }),
        "{err}"
    );
}

#[test]
fn overlapping_with_flanks_and_contig_aliases() {
    let index = load(ENSEMBL_GFF3);
    let ids = |contig: &str, start: u32, end: u32, flank: u32| -> Vec<String> {
        index
            .overlapping(contig, start, end, flank)
            .map(|t| t.stable_id().to_string())
            .collect()
    };
    // Transcripts: 001 101-350, 005 401-450, 002 501-740, 003 801-830,
    // 004 901-950.
    assert!(ids("1", 355, 355, 0).is_empty());
    assert_eq!(ids("1", 355, 355, 5), ["ENST00000000001"]);
    assert_eq!(
        ids("1", 355, 355, 46),
        ["ENST00000000001", "ENST00000000005"]
    );
    assert_eq!(
        ids("chr1", 420, 520, 0),
        ["ENST00000000005", "ENST00000000002"]
    );
    assert_eq!(ids("chr1", 350, 350, 0), ["ENST00000000001"]);
    assert_eq!(ids("chr1", 351, 400, 0), Vec::<String>::new());
    assert_eq!(ids("1", 1, 1000, 0).len(), 5);
    assert_eq!(ids("1", 1, 1, 5000).len(), 5);
    assert!(ids("2", 1, 1000, 5000).is_empty());

    let broken = load(BROKEN);
    let mt: Vec<_> = broken
        .overlapping("chrM", 15, 15, 0)
        .map(Transcript::id)
        .collect();
    assert_eq!(mt, ["MTPOLYA"]);
    assert_eq!(broken.overlapping("M", 1, 1, 9).count(), 0);
    assert_eq!(broken.overlapping("chrMT", 1, 1, 10).count(), 1);
}

#[test]
fn overlapping_equals_a_scan() {
    // 3,000 single-exon transcripts on two contigs: mostly short, some
    // very long (as a few genes are), in no particular order.
    let mut x: u64 = 7;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut gff = String::from("##gff-version 3\n");
    for i in 0..3000 {
        let contig = if i % 3 == 0 { "2" } else { "1" };
        let start = 1 + next(1_000_000);
        let len = if next(50) == 0 {
            next(300_000)
        } else {
            next(20_000)
        };
        let end = start + len;
        gff += &format!(
            "{contig}\tt\tgene\t{start}\t{end}\t.\t+\t.\tID=gene:G{i}\n\
             {contig}\tt\tmRNA\t{start}\t{end}\t.\t+\t.\tID=transcript:T{i};Parent=gene:G{i}\n\
             {contig}\tt\texon\t{start}\t{end}\t.\t+\t.\tParent=transcript:T{i}\n"
        );
    }
    let index = load(&gff);
    assert_eq!(index.len(), 3000);
    let all: Vec<&Transcript> = index.transcripts().collect();
    for _ in 0..2000 {
        let contig = if next(2) == 0 { "1" } else { "chr2" };
        let start = next(1_100_000) as u32 + 1;
        let end = start + next(1000) as u32;
        let flank = [0, 5000][next(2) as usize];
        let got: Vec<&str> = index
            .overlapping(contig, start, end, flank)
            .map(Transcript::id)
            .collect();
        let want: Vec<&str> = all
            .iter()
            .filter(|t| contig_key(t.contig()) == contig_key(contig))
            .filter(|t| t.start().saturating_sub(flank) <= end && t.end() + flank >= start)
            .map(|t| t.id())
            .collect();
        assert_eq!(got, want, "{contig}:{start}-{end} flank {flank}");
    }
}

#[test]
fn attributes_past_the_inline_ones_and_padded_with_spaces_are_read() {
    // 30 attributes before Parent: more than a line keeps in place.
    let filler: String = (0..30).map(|i| format!("note{i}=x;")).collect();
    let text = format!(
        "##gff-version 3\n\
         1\tt\tgene\t100\t400\t.\t+\t.\tID=gene:G; Name = Spaced ;biotype=lncRNA\n\
         1\tt\tlnc_RNA\t100\t400\t.\t+\t.\tID=transcript:T1;Parent=gene:G;biotype=lncRNA\n\
         1\tt\texon\t100\t400\t.\t+\t.\t{filler}Parent=transcript:T1\n"
    );
    let index = load(&text);
    let t = get(&index, "T1");
    assert_eq!(t.exons().len(), 1);
    assert_eq!(t.gene().name(), Some("Spaced"));
}
