//! Feeds arbitrary bytes to the transcript-model reader (GFF3 or GTF,
//! plain or gzip) and annotates a fixed VCF with whatever loads, against a
//! small fixed in-memory genome, checking what they promise:
//! - neither ever panics;
//! - a malformed file's error names a line > 0;
//! - a fixed valid VCF annotates with any models that load (the entry
//!   selection picked by the input's length), and every CSQ entry has the
//!   fields the header declares.
//!
//! The VCF's records sit at the genome's ends, past them, near 2^32, on a
//! contig the genome lacks, and use every allele kind (indels, symbolic,
//! breakend, `*`, `N`, lowercase, ALT equal to REF).

#![no_main]

use std::sync::Arc;
use std::sync::OnceLock;

use gas_annotate::consequence::{Consequences, Pick, Source};
use gas_annotate::{annotate, GffError, Options, Reference, TranscriptIndex};
use libfuzzer_sys::fuzz_target;

/// Contigs `1` (120 bases: a start codon, an intron with canonical splice
/// sites, a stop codon at the end), `chr2` (60, soft-masked in part) and
/// `MT` (90).
const GENOME: &str = ">1 test\n\
    ATGGGATCACAGTCTACACTGCTCACTCCAGTAAGTACCCCGGCCCCTGAGTCCTTTCAG\n\
    GAGGAGAGGGTGCTTCAGAGTATGTATACCACTGGGTAGGATACGGCGGAGGGCACGTAA\n\
    >chr2\n\
    atggcgtaaggtaagttttttttttttcagTCAATACGGTTCAATGCCCTACTGCATTAG\n\
    >MT\n\
    GCTCTTGTGGTTCATCTGCATGGAGAGGGTGGGCATGGGTGGGGGTGCTGGCCCGTGATCTGGACCTCCCATCCACAGCTCATTGTACCG\n";

fn genome() -> &'static Reference {
    static GENOME_REF: OnceLock<Reference> = OnceLock::new();
    GENOME_REF.get_or_init(|| {
        Reference::from_fasta_bytes("genome.fa", GENOME.as_bytes()).expect("the genome loads")
    })
}

const INPUT: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
    1\t1\t.\tA\tG,TA,*\t.\t.\t.\n\
    1\t1\t.\tAT\tA,AT\t.\t.\t.\n\
    1\t10\t.\tC\tCGGG,<DEL>\t.\t.\t.\n\
    1\t13\t.\tTCTACACTGCTCACTCCA\tT\t.\t.\t.\n\
    1\t31\t.\tg\tc,N\t.\t.\t.\n\
    1\t36\t.\tT\tTTAAGT,T]1:90]\t.\t.\t.\n\
    1\t70\t.\tN\tNAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\t.\t.\t.\n\
    1\t119\t.\tAA\tA\t.\t.\t.\n\
    1\t120\t.\tA\tAA,C\t.\t.\t.\n\
    1\t121\t.\tA\tG\t.\t.\t.\n\
    1\t1\t.\tATGGGATCACAGTCTACACTGCTCACTCCAGTAAGTACCCCGGCCCCTGAGTCCTTTCAGGAGGAGAGGGTGCTTCAGAGTATGTATACCACTGGGTAGGATACGGCGGAGGGCACGTAA\tA\t.\t.\t.\n\
    chr2\t5\t.\tC\tCAT,A\t.\t.\t.\n\
    2\t60\t.\tG\tT\t.\t.\t.\n\
    chrM\t3\t.\tT\tA\t.\t.\t.\n\
    MT\t88\t.\tCCG\tC\t.\t.\t.\n\
    MT\t90\t.\tG\tGC\t.\t.\t.\n\
    7\t100\t.\tA\tG\t.\t.\t.\n\
    1\t4294967290\t.\tACGTACGT\tA\t.\t.\t.\n\
    1\t4294967295\t.\tAC\tAG,A\t.\t.\t.\n\
    1\t4294967296\t.\tA\tAT\t.\t.\t.\n\
    MT\t18446744073709551615\t.\tA\tG\t.\t.\t.\n";

/// The CSQ field count the header declares.
fn declared_fields(vcf: &str) -> usize {
    vcf.lines()
        .find(|l| l.starts_with("##INFO=<ID=CSQ,"))
        .and_then(|l| l.split_once("Format: "))
        .map(|(_, list)| list.split('|').count())
        .expect("a CSQ header line")
}

fuzz_target!(|data: &[u8]| {
    let models = match TranscriptIndex::from_reader("fuzz", data) {
        Ok(models) => models,
        Err(GffError::Malformed { line, message, .. }) => {
            assert!(line > 0, "a malformed-line error names line 0: {message}");
            return;
        }
        Err(GffError::BadCompression { .. }) => return,
        Err(e @ (GffError::Io { .. } | GffError::NotFound { .. })) => {
            panic!("I/O error on an in-memory stream: {e}")
        }
    };
    let consequences = Arc::new(Consequences::new(
        vec![(models, Source::of_bytes("fuzz", data))],
        Some((
            genome().clone(),
            Source::of_bytes("genome.fa", GENOME.as_bytes()),
        )),
        // Each selection in turn, by the input's length (the models are
        // not cloneable, and reading them three times would slow the
        // fuzzer down).
        [Pick::All, Pick::PerGene, Pick::One][data.len() % 3],
    ));
    let mut options = Options::default();
    options.threads = 1;
    options.consequences = Some(consequences);
    let mut output = Vec::new();
    annotate(INPUT.as_bytes(), &mut output, &options, &mut |_| {})
        .expect("a fixed valid VCF annotates with any models that load");
    let vcf = String::from_utf8(output).expect("the output is UTF-8");
    let fields = declared_fields(&vcf);
    for line in vcf.lines().filter(|l| !l.starts_with('#')) {
        let info = line.split('\t').nth(7).expect("8 columns");
        if let Some(csq) = info.split(';').find_map(|kv| kv.strip_prefix("CSQ=")) {
            for entry in csq.split(',') {
                assert_eq!(entry.split('|').count(), fields, "{entry}");
            }
        }
    }
});
