//! The reference data GAS ships and annotates with by default, embedded in
//! the binary so that it needs no data files to run.
//!
//! # Tracks
//! Both are on GRCh37 and use `chr` contig names (`chr1`, `chrM`; inputs
//! naming contigs `1` or `MT` match them, see the crate documentation):
//! - [`GENES_NAME`]: the 57,820 GENCODE genes as BED4 (contig, 0-based
//!   start, end, gene name). It adds INFO `GENE`.
//! - [`DBSNP_NAME`]: the 181,528 dbSNP common SNVs that lie inside a
//!   GENCODE gene body, sites only. It fills the ID column. Common SNVs
//!   between genes (159,157 more) are left out to keep the repository small;
//!   load the full dbSNP file with [`Track::load`] to annotate them.
//!
//! Their sources, licences and the commands that derive them are in
//! `data/PROVENANCE.md` beside this crate's manifest;
//! `data/make_reference.sh` regenerates them.
//!
//! # Mitochondrial reference for consequences
//! A small real reference for consequence annotation, so that it works
//! without downloads on mitochondrial variants:
//! - [`mt_reference`] ([`MT_REFERENCE_NAME`]): the human mitochondrial
//!   genome, the revised Cambridge Reference Sequence (rCRS, NC_012920.1,
//!   16,569 bp), as contig `MT`. It is the `MT`/`chrM` of GRCh38 (and of
//!   Ensembl's and NCBI's GRCh37; UCSC hg19's `chrM` is another sequence,
//!   16,571 bp). Inputs naming the contig `chrM`, `M` or `chrMT` match it.
//! - [`mt_transcripts`] ([`MT_TRANSCRIPTS_NAME`]): its 37 genes (13
//!   protein-coding, 22 `Mt_tRNA`, 2 `Mt_rRNA`) as GFF3 in Ensembl's layout,
//!   one transcript with one exon per gene, the CDS spanning the whole
//!   transcript (6 stops are completed by polyadenylation, see
//!   [`Transcript::stop_completed_by_polya`](crate::Transcript::stop_completed_by_polya)).
//!   Coordinates and strands equal Ensembl's (release 113). Gene ids are Ensembl's
//!   (`ENSG...`) for the 13 protein-coding genes and the HGNC symbol
//!   (`MT-TF`) for the others; transcript, exon and protein ids are GAS's
//!   own, the symbol with `_` for `-` then `_t1`, `_e1`, `_p1` (`MT_ND1_t1`:
//!   HGVS accessions allow no `-`), **not** Ensembl's.
//!
//! For other contigs, or Ensembl's own ids, use Ensembl's files for
//! GRCh38/GRCh37 (which `gas refdata fetch` downloads). Sources, licences
//! and checks are in `data/mt/PROVENANCE.md`; `data/mt/make_mt.sh`
//! regenerates the files from their PyPI packages.

use crate::fasta::{FastaError, Reference};
use crate::track::{Track, TrackError};
use crate::transcript::{GffError, TranscriptIndex};

/// The name of the embedded gene track, as headers and logs show it.
pub const GENES_NAME: &str = "genes.grch37.bed.gz";

/// The name of the embedded dbSNP track, as headers and logs show it.
pub const DBSNP_NAME: &str = "dbsnp_common_genic.grch37.vcf.gz";

/// Genes in the embedded gene track.
pub const GENES_RECORDS: u64 = 57_820;

/// Sites in the embedded dbSNP track.
pub const DBSNP_RECORDS: u64 = 181_528;

/// The name of the embedded mitochondrial transcript models, as errors
/// and logs show it.
pub const MT_TRANSCRIPTS_NAME: &str = "MT.gff3";

/// The name of the embedded mitochondrial genome, as errors and logs show
/// it ([`Reference::path`] returns it).
pub const MT_REFERENCE_NAME: &str = "MT.fa";

/// The length of the embedded mitochondrial genome (the rCRS).
pub const MT_LENGTH: u64 = 16_569;

/// The embedded gene track: BGZF-compressed BED4.
static GENES: &[u8] = include_bytes!("../data/genes.grch37.bed.gz");

/// The embedded dbSNP track: a BGZF-compressed sites-only VCF.
static DBSNP: &[u8] = include_bytes!("../data/dbsnp_common_genic.grch37.vcf.gz");

/// The embedded mitochondrial transcript models: GFF3.
static MT_GFF3: &[u8] = include_bytes!("../data/mt/MT.gff3");

/// The embedded mitochondrial genome: FASTA, one record `MT`.
static MT_FASTA: &[u8] = include_bytes!("../data/mt/MT.fa");

/// The embedded gene track (see the module documentation), decompressed and
/// indexed anew on each call.
///
/// # Errors
/// Only if the embedded data were corrupt, which the crate's tests rule
/// out.
pub fn genes() -> Result<Track, TrackError> {
    Track::from_reader(GENES_NAME, GENES)
}

/// The embedded dbSNP track (see the module documentation), decompressed
/// and indexed anew on each call.
///
/// # Errors
/// Only if the embedded data were corrupt, which the crate's tests rule
/// out.
pub fn dbsnp() -> Result<Track, TrackError> {
    Track::from_reader(DBSNP_NAME, DBSNP)
}

/// The embedded mitochondrial models and genome as annotation headers name
/// them: file name and SHA-256 of the embedded bytes (transcripts, genome).
pub fn mt_sources() -> (crate::consequence::Source, crate::consequence::Source) {
    (
        crate::consequence::Source::of_bytes(MT_TRANSCRIPTS_NAME, MT_GFF3),
        crate::consequence::Source::of_bytes(MT_REFERENCE_NAME, MT_FASTA),
    )
}

/// The transcript models of the human mitochondrial genome (see the module
/// documentation): 37 transcripts on contig `MT`, parsed anew on each
/// call.
///
/// # Errors
/// Only if the embedded data were corrupt, which the crate's tests rule
/// out.
pub fn mt_transcripts() -> Result<TranscriptIndex, GffError> {
    TranscriptIndex::from_reader(MT_TRANSCRIPTS_NAME, MT_GFF3)
}

/// The human mitochondrial genome, the rCRS (see the module
/// documentation), as an in-memory [`Reference`] with one contig `MT` of
/// [`MT_LENGTH`] bases, read anew on each call; [`Reference::path`] is
/// [`MT_REFERENCE_NAME`].
///
/// # Errors
/// Only if the embedded data were corrupt, which the crate's tests rule
/// out.
pub fn mt_reference() -> Result<Reference, FastaError> {
    Reference::from_fasta_bytes(MT_REFERENCE_NAME, MT_FASTA)
}

/// The default tracks, in this order: the gene track ([`genes`]) and the
/// dbSNP track ([`dbsnp`]), loaded on two threads. Loading takes a fraction
/// of a second; load them once and share them ([`Track`] clones are cheap)
/// rather than once per run.
///
/// # Errors
/// Only if the embedded data were corrupt, which the crate's tests rule
/// out.
pub fn default_tracks() -> Result<Vec<Track>, TrackError> {
    std::thread::scope(|scope| {
        let dbsnp = scope.spawn(dbsnp);
        let genes = genes()?;
        let dbsnp = dbsnp
            .join()
            .expect("loading the embedded dbSNP track panicked")?;
        Ok(vec![genes, dbsnp])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::{TrackKind, DEFAULT_ASSEMBLY};
    use crate::{annotate, Options};

    #[test]
    fn embedded_tracks_load_with_their_documented_counts() {
        let tracks = default_tracks().unwrap();
        let summary: Vec<_> = tracks
            .iter()
            .map(|t| (t.name(), t.kind(), t.assembly(), t.records()))
            .collect();
        assert_eq!(
            summary,
            [
                (GENES_NAME, TrackKind::Bed, DEFAULT_ASSEMBLY, GENES_RECORDS),
                (DBSNP_NAME, TrackKind::Vcf, "GRCh37", DBSNP_RECORDS),
            ]
        );
    }

    /// Known records of the embedded data, annotated in `1`/`MT` naming.
    #[test]
    fn default_tracks_annotate_genes_and_ids() {
        let input = "##fileformat=VCFv4.2\n\
            #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
            1\t133110\t.\tG\tA\t.\t.\t.\n\
            1\t133110\t.\tG\tC\t.\t.\t.\n\
            1\t1\t.\tA\tG\t.\t.\t.\n\
            MT\t3308\t.\tT\tC\t.\t.\t.\n";
        let options = Options {
            tracks: default_tracks().unwrap(),
            ..Options::default()
        };
        let mut output = Vec::new();
        let stats = annotate(input.as_bytes(), &mut output, &options, &mut |_| {}).unwrap();
        let output = String::from_utf8(output).unwrap();
        let records: Vec<Vec<&str>> = output
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').collect())
            .collect();
        // chr1:133110 G>A is rs537282691, inside RP11-34P13.7
        // (chr1:89295-133566) and CICP27 (chr1:131025-134836).
        assert_eq!(records[0][2], "rs537282691", "{output}");
        assert_eq!(gene(&records[0]), Some("RP11-34P13.7,CICP27"), "{output}");
        // Another ALT at the same site has no id; the gene is the same.
        assert_eq!(records[1][2], ".");
        assert_eq!(gene(&records[0]), gene(&records[1]));
        // Before the first gene: neither.
        assert_eq!((records[2][2], gene(&records[2])), (".", None));
        // chrM:3308 is in MT-ND1 (chrM:3307-4262).
        assert_eq!(gene(&records[3]), Some("MT-ND1"), "{output}");
        assert_eq!((stats.with_id, stats.in_genes), (1, 3));
        assert!(output.contains(GENES_NAME) && output.contains(DBSNP_NAME));
    }

    fn gene<'a>(record: &[&'a str]) -> Option<&'a str> {
        record[7]
            .split(';')
            .find_map(|entry| entry.strip_prefix("GENE="))
    }
}
