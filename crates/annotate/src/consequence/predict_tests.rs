//! Consequence prediction on a hand-built two-exon transcript whose every
//! answer was worked out by hand, and on its mirror image on the reverse
//! strand, which must give the same answers in transcript terms.

use super::*;
use crate::fasta::{complement, Reference};
use crate::transcript::TranscriptIndex;

/// Contig length.
const L: u32 = 200;

/// Contig `1` (forward transcript T1) and contig `2`, its reverse
/// complement (transcript T2, the mirror image of T1).
///
/// T1: exon 1 = 11..40, exon 2 = 61..100; CDS 21..40 + 61..91 (51 bases,
/// ATG ... TAA); 5' UTR 11..20, 3' UTR 92..100.
/// Protein: M A K R W E L K G F P R D H T V *.
fn genome() -> (String, String) {
    let flank5 = "TTTTTTTTTT"; // 1..10
    let utr5 = "GGGGGCCCCC"; // 11..20
    let cds = "ATGGCTAAACGTTGGGAACTGAAAGGCTTTCCCAGAGATCATACTGTTTAA"; // 51
    let utr3 = "AGCTGAAGC"; // 92..100
    let intron = "GTAAGTCCCCCCCCTTTTAG"; // 41..60
    let tail = "ACGT".repeat(25); // 101..200
    let exon1 = format!("{utr5}{}", &cds[..20]);
    let exon2 = format!("{}{utr3}", &cds[20..]);
    let one = format!("{flank5}{exon1}{intron}{exon2}{tail}");
    assert_eq!(one.len(), L as usize);
    let two: String = one.bytes().rev().map(|b| complement(b) as char).collect();
    (one, two)
}

const GFF: &str = "##gff-version 3
1\tt\tgene\t11\t100\t.\t+\t.\tID=gene:G1;Name=GENE1;biotype=protein_coding
1\tt\tmRNA\t11\t100\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;biotype=protein_coding;tag=basic,Ensembl_canonical
1\tt\texon\t11\t40\t.\t+\t.\tParent=transcript:T1
1\tt\texon\t61\t100\t.\t+\t.\tParent=transcript:T1
1\tt\tCDS\t21\t40\t.\t+\t0\tID=CDS:P1;Parent=transcript:T1
1\tt\tCDS\t61\t91\t.\t+\t1\tID=CDS:P1;Parent=transcript:T1
2\tt\tgene\t101\t190\t.\t-\t.\tID=gene:G2;Name=GENE2;biotype=protein_coding
2\tt\tmRNA\t101\t190\t.\t-\t.\tID=transcript:T2;Parent=gene:G2;biotype=protein_coding
2\tt\texon\t161\t190\t.\t-\t.\tParent=transcript:T2
2\tt\texon\t101\t140\t.\t-\t.\tParent=transcript:T2
2\tt\tCDS\t161\t180\t.\t-\t0\tID=CDS:P2;Parent=transcript:T2
2\tt\tCDS\t110\t140\t.\t-\t1\tID=CDS:P2;Parent=transcript:T2
";

struct Fixture {
    index: TranscriptIndex,
    reference: Reference,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let (one, two) = genome();
    let dir = tempfile::tempdir().unwrap();
    let fa = dir.path().join("g.fa");
    std::fs::write(&fa, format!(">1\n{one}\n>2\n{two}\n")).unwrap();
    Fixture {
        index: TranscriptIndex::from_reader("t.gff3", GFF.as_bytes()).unwrap(),
        reference: Reference::open(&fa).unwrap(),
        _dir: dir,
    }
}

/// The allele on contig 2 that mirrors `a` on contig 1.
fn mirror(a: &Allele) -> Allele {
    let rc = |s: &[u8]| s.iter().rev().map(|&b| complement(b)).collect::<Vec<u8>>();
    Allele {
        start: L + 1 - a.end,
        end: L + 1 - a.start,
        reference: rc(&a.reference),
        alt: rc(&a.alt),
    }
}

/// The effect of VCF allele `pos REF>ALT` on contig 1's T1 and of its
/// mirror on T2; asserts they agree and returns one.
fn effect(f: &Fixture, pos: u32, r: &str, alt: &str) -> Effect {
    let a = Allele::from_vcf(pos, r, alt).unwrap();
    let m = mirror(&a);
    let t1 = f.index.find("T1").unwrap();
    let t2 = f.index.find("T2").unwrap();
    let s1 = CodingSequence::read(t1, &f.reference).unwrap();
    let s2 = CodingSequence::read(t2, &f.reference).unwrap();
    assert_eq!(s1, s2, "the mirror transcript reads the same");
    let e1 = predict(
        t1,
        &a,
        Room::measure(&a, &f.reference, f.reference.contig_id("1").unwrap()),
        Some(&s1),
    )
    .unwrap();
    let e2 = predict(
        t2,
        &m,
        Room::measure(&m, &f.reference, f.reference.contig_id("2").unwrap()),
        Some(&s2),
    )
    .unwrap();
    let mut e2_cmp = e2.clone();
    e2_cmp.codons = e1.codons.clone();
    assert_eq!(
        e1, e2_cmp,
        "forward and reverse strand differ for {pos} {r}>{alt}"
    );
    e1
}

fn terms(e: &Effect) -> String {
    e.terms.to_string()
}

#[test]
fn protein_and_sequence() {
    let f = fixture();
    let t1 = f.index.find("T1").unwrap();
    let s = CodingSequence::read(t1, &f.reference).unwrap();
    assert_eq!(s.protein, b"MAKRWELKGFPRDHTV*");
    assert_eq!(s.cds_len, 51);
}

#[test]
fn missense() {
    let f = fixture();
    let e = effect(&f, 30, "C", "T");
    assert_eq!(terms(&e), "missense_variant");
    assert_eq!(e.hgvsc, "c.10C>T");
    assert_eq!(e.hgvsp, "p.Arg4Cys");
    assert_eq!(e.codons, "Cgt/Tgt");
    assert_eq!(e.amino_acids, "R/C");
    assert_eq!(
        (e.cdna, e.cds, e.protein),
        (Some((20, 20)), Some((10, 10)), Some((4, 4)))
    );
    assert_eq!(e.exon.unwrap().to_string(), "1/2");
    assert_eq!(e.intron, None);
}

#[test]
fn stop_gained_synonymous_start_lost() {
    let f = fixture();
    let e = effect(&f, 35, "G", "A");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsp.as_str()),
        ("stop_gained", "p.Trp5Ter")
    );
    assert_eq!(e.amino_acids, "W/*");
    let e = effect(&f, 26, "T", "C");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsp.as_str()),
        ("synonymous_variant", "p.Ala2=")
    );
    assert_eq!(e.amino_acids, "A");
    let e = effect(&f, 22, "T", "C");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsp.as_str()),
        ("start_lost", "p.Met1?")
    );
}

#[test]
fn frameshift_shifted_three_prime() {
    let f = fixture();
    // Deleting one A of AAA (CDS 7-9): HGVS names the last.
    let e = effect(&f, 26, "TA", "T");
    assert_eq!(terms(&e), "frameshift_variant");
    assert_eq!(e.hgvsc, "c.9del");
    assert_eq!(e.hgvsp, "p.Lys3AsnfsTer5");
}

#[test]
fn inframe_deletion_and_duplication() {
    let f = fixture();
    let e = effect(&f, 26, "TAAA", "T");
    assert_eq!(terms(&e), "inframe_deletion");
    assert_eq!(e.hgvsc, "c.7_9del");
    assert_eq!(e.hgvsp, "p.Lys3del");
    assert_eq!(
        (e.amino_acids.as_str(), e.codons.as_str()),
        ("K/-", "AAA/-")
    );
    // GCT inserted after GCT: a duplication, at both levels.
    let e = effect(&f, 26, "T", "TGCT");
    assert_eq!(terms(&e), "inframe_insertion");
    assert_eq!(e.hgvsc, "c.4_6dup");
    assert_eq!(e.hgvsp, "p.Ala2dup");
    assert_eq!(e.amino_acids, "-/A");
}

#[test]
fn splice_intron_and_utr() {
    let f = fixture();
    let e = effect(&f, 41, "G", "A");
    assert_eq!(terms(&e), "splice_donor_variant");
    assert_eq!(e.hgvsc, "c.20+1G>A");
    assert_eq!(e.intron.unwrap().to_string(), "1/1");
    // Last-but-one exon base, in a codon split by the intron.
    let e = effect(&f, 39, "C", "G");
    assert_eq!(terms(&e), "missense_variant&splice_region_variant");
    assert_eq!(e.hgvsp, "p.Leu7Val");
    // 10 bases into the intron, 11 before its end: in the polypyrimidine
    // tract (3 to 17 bases before the acceptor).
    let e = effect(&f, 50, "C", "A");
    assert_eq!(
        terms(&e),
        "splice_polypyrimidine_tract_variant&intron_variant"
    );
    assert_eq!(e.hgvsc, "c.20+10C>A");
    let e = effect(&f, 52, "C", "A");
    assert_eq!(e.hgvsc, "c.21-9C>A");
    // The fixture's intron is 20 bases: every base is in a splice term.
    let e = effect(&f, 49, "C", "A");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsc.as_str()),
        (
            "splice_polypyrimidine_tract_variant&intron_variant",
            "c.20+9C>A"
        )
    );
    let e = effect(&f, 45, "G", "A");
    assert_eq!(
        terms(&e),
        "splice_donor_5th_base_variant&splice_polypyrimidine_tract_variant&intron_variant"
    );
    let e = effect(&f, 43, "A", "C");
    assert_eq!(terms(&e), "splice_donor_region_variant&intron_variant");
    let e = effect(&f, 47, "C", "A");
    assert_eq!(
        terms(&e),
        "splice_region_variant&splice_polypyrimidine_tract_variant&intron_variant"
    );
    let e = effect(&f, 60, "G", "A");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsc.as_str()),
        ("splice_acceptor_variant", "c.21-1G>A")
    );
    let e = effect(&f, 15, "G", "A");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsc.as_str()),
        ("5_prime_UTR_variant", "c.-6G>A")
    );
    let e = effect(&f, 95, "G", "A");
    assert_eq!(
        (terms(&e).as_str(), e.hgvsc.as_str()),
        ("3_prime_UTR_variant", "c.*4G>A")
    );
}

#[test]
fn stop_lost_extension() {
    let f = fixture();
    let e = effect(&f, 89, "T", "C");
    assert_eq!(terms(&e), "stop_lost");
    assert_eq!(e.hgvsp, "p.Ter17GlnextTer2");
}

#[test]
fn up_and_downstream() {
    let f = fixture();
    let e = effect(&f, 5, "T", "A");
    assert_eq!(
        (terms(&e).as_str(), e.distance),
        ("upstream_gene_variant", Some(6))
    );
    assert_eq!(e.hgvsc, "");
    let e = effect(&f, 150, "G", "A");
    assert_eq!(
        (terms(&e).as_str(), e.distance),
        ("downstream_gene_variant", Some(50))
    );
}

#[test]
fn without_reference_only_what_needs_no_sequence() {
    let f = fixture();
    let t1 = f.index.find("T1").unwrap();
    let a = Allele::from_vcf(30, "C", "T").unwrap();
    let e = predict(t1, &a, Room::default(), None).unwrap();
    assert_eq!(terms(&e), "coding_sequence_variant");
    assert_eq!(e.hgvsc, "c.10C>T");
    assert_eq!(e.hgvsp, "");
    assert_eq!(e.protein, Some((4, 4)));
}

#[test]
fn hgvs_positions_are_written_as_their_display_writes_them() {
    let f = fixture();
    for name in ["T1", "T2"] {
        let t = f.index.find(name).unwrap();
        for g in 1..=L {
            let p = t.hgvs_position(g);
            let mut fast = String::new();
            super::predict::push_position(&mut fast, p);
            assert_eq!(fast, p.to_string(), "{name} at {g}");
        }
    }
}
