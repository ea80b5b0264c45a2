//! Feeds arbitrary bytes to the in-memory FASTA reader (plain or gzip) and
//! checks what a loaded reference promises:
//! - reading never panics, and a FASTA error names a line > 0;
//! - every contig's `contig_len` is its listed length, and fetches agree
//!   with it: the whole contig, its first and last bases and a few ranges
//!   have the lengths asked for, agree with one another, are upper-case,
//!   and a range past the end is an error;
//! - a fixed VCF annotates, with fixed transcript models, against it.

#![no_main]

use std::sync::{Arc, OnceLock};

use gas_annotate::consequence::{Consequences, Pick, Source};
use gas_annotate::{annotate, FastaError, Options, Reference, TranscriptIndex};
use libfuzzer_sys::fuzz_target;

/// Small models on the contigs the seeds name (`1`, `chr2`, `MT`): a
/// forward coding transcript with an intron, a reverse one, a non-coding
/// one, and a mitochondrial one whose stop is completed by polyadenylation.
const MODELS: &str = "##gff-version 3\n\
    1\tt\tgene\t1\t120\t.\t+\t.\tID=gene:G1;Name=ONE;biotype=protein_coding\n\
    1\tt\tmRNA\t1\t120\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;biotype=protein_coding\n\
    1\tt\texon\t1\t30\t.\t+\t.\tParent=transcript:T1\n\
    1\tt\texon\t61\t120\t.\t+\t.\tParent=transcript:T1\n\
    1\tt\tCDS\t1\t30\t.\t+\t0\tParent=transcript:T1\n\
    1\tt\tCDS\t61\t120\t.\t+\t0\tParent=transcript:T1\n\
    chr2\tt\tgene\t2\t60\t.\t-\t.\tID=gene:G2;Name=TWO;biotype=protein_coding\n\
    chr2\tt\tmRNA\t2\t60\t.\t-\t.\tID=transcript:T2;Parent=gene:G2;biotype=protein_coding\n\
    chr2\tt\texon\t2\t20\t.\t-\t.\tParent=transcript:T2\n\
    chr2\tt\texon\t31\t60\t.\t-\t.\tParent=transcript:T2\n\
    chr2\tt\tCDS\t12\t20\t.\t-\t.\tParent=transcript:T2\n\
    chr2\tt\tCDS\t31\t57\t.\t-\t.\tParent=transcript:T2\n\
    chr2\tt\tlnc_RNA\t40\t200\t.\t+\t.\tID=transcript:T3;Parent=gene:G2;biotype=lncRNA\n\
    chr2\tt\texon\t40\t200\t.\t+\t.\tParent=transcript:T3\n\
    MT\tt\tgene\t5\t84\t.\t+\t.\tID=gene:G4;Name=MT-FOUR;biotype=protein_coding\n\
    MT\tt\tmRNA\t5\t84\t.\t+\t.\tID=transcript:T4;Parent=gene:G4;biotype=protein_coding\n\
    MT\tt\texon\t5\t84\t.\t+\t.\tParent=transcript:T4\n\
    MT\tt\tCDS\t5\t84\t.\t+\t0\tParent=transcript:T4\n";

const INPUT: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
    1\t1\t.\tA\tG,CA,*\t.\t.\t.\n\
    1\t2\t.\tTG\tT\t.\t.\t.\n\
    1\t29\t.\tN\tNTT,<INS>\t.\t.\t.\n\
    1\t31\t.\tg\tt\t.\t.\t.\n\
    1\t60\t.\tAG\tA,AG\t.\t.\t.\n\
    1\t100\t.\tC\tCAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\t.\t.\t.\n\
    1\t118\t.\tTAA\tT\t.\t.\t.\n\
    1\t120\t.\tA\tT,AC\t.\t.\t.\n\
    1\t121\t.\tA\tG\t.\t.\t.\n\
    chr1\t5\t.\tACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT\tA\t.\t.\t.\n\
    2\t20\t.\tG\tA,GTTT\t.\t.\t.\n\
    chr2\t58\t.\tC\tT\t.\t.\t.\n\
    chr2\t60\t.\tC\tCA\t.\t.\t.\n\
    M\t4\t.\tT\tTA,C\t.\t.\t.\n\
    MT\t84\t.\tAC\tA\t.\t.\t.\n\
    chrM\t90\t.\tA\tG\t.\t.\t.\n\
    9\t1\t.\tA\tC\t.\t.\t.\n\
    1\t4294967295\t.\tAC\tAG\t.\t.\t.\n\
    1\t18446744073709551615\t.\tA\tG\t.\t.\t.\n";

fn models_source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| Source::of_bytes("models.gff3", MODELS.as_bytes()))
}

/// Checks what `reference` says of its contigs against what it fetches.
fn check_contigs(reference: &Reference) {
    for (name, len) in reference.contigs() {
        assert_eq!(reference.contig_len(name), Some(len), "{name}");
        assert_eq!(reference.contig_name(name), Some(name), "{name}");
        let all = reference.fetch(name, 0, len).expect("the whole contig");
        assert_eq!(all.len() as u64, len, "{name}");
        assert!(
            !all.iter().any(u8::is_ascii_lowercase),
            "{name}: fetched bases are upper-case"
        );
        assert!(reference.fetch(name, 0, 0).expect("empty").is_empty());
        assert!(reference.fetch(name, len, len + 1).is_err(), "{name}");
        assert!(reference.fetch(name, 1, 0).is_err(), "{name}");
        if len == 0 {
            continue;
        }
        let n = len as usize;
        assert_eq!(reference.fetch(name, 0, 1).expect("first"), &all[..1]);
        assert_eq!(
            reference.fetch(name, len - 1, len).expect("last"),
            &all[n - 1..]
        );
        for (start, end) in [(len / 3, len / 2), (len / 2, len), (0, len.min(7))] {
            let part = reference.fetch(name, start, end).expect("a range");
            assert_eq!(part, &all[start as usize..end as usize], "{name}");
        }
        // `fetch_into` appends.
        let mut out = b"xy".to_vec();
        reference
            .fetch_into(name, len - 1, len, &mut out)
            .expect("last");
        assert_eq!(&out[2..], &all[n - 1..]);
    }
}

fuzz_target!(|data: &[u8]| {
    let reference = match Reference::from_fasta_bytes("fuzz.fa", data) {
        Ok(reference) => reference,
        Err(FastaError::BadFasta { line, message, .. }) => {
            assert!(line > 0, "a FASTA error names line 0: {message}");
            return;
        }
        Err(FastaError::BadCompression { .. }) => return,
        Err(e) => panic!("unexpected error reading FASTA bytes: {e}"),
    };
    check_contigs(&reference);
    check_contigs(&reference.clone());
    let models = TranscriptIndex::from_reader("models.gff3", MODELS.as_bytes())
        .expect("the fixed models load");
    let mut options = Options::default();
    options.threads = 1;
    options.consequences = Some(Arc::new(Consequences::new(
        vec![(models, models_source().clone())],
        Some((reference, Source::of_bytes("fuzz.fa", data))),
        [Pick::All, Pick::PerGene, Pick::One][data.len() % 3],
    )));
    let mut output = Vec::new();
    annotate(INPUT.as_bytes(), &mut output, &options, &mut |_| {})
        .expect("a fixed valid VCF annotates against any reference that loads");
});
