//! The sequence of a coding transcript as consequence prediction reads it,
//! and a small per-worker cache of them (input is usually sorted, so the
//! same few transcripts are asked for again and again).

use std::sync::Arc;

use super::codon::GeneticCode;
use crate::fasta::Reference;
use crate::transcript::Transcript;

/// A coding transcript's sequence from its CDS start to its 3' end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodingSequence {
    /// The CDS (with [`Transcript::cds_start_padding`] leading `N`s, so that
    /// index `i` is CDS position `i + 1`) followed by the 3' UTR, in
    /// transcript orientation, upper-case.
    pub bases: Vec<u8>,
    /// Length of the CDS part of `bases` (padding and stop codon included).
    pub cds_len: usize,
    /// The protein: the CDS translated (a final partial codon dropped), the
    /// first residue `M` when the CDS starts complete with a start codon of
    /// the transcript's code, a final `*` when the stop codon is there.
    pub protein: Vec<u8>,
    /// The code the transcript translates with.
    pub code: GeneticCode,
}

/// Whether `codon` starts translation in `code` (NCBI's start codons for
/// tables 1 and 2; alternative starts are read as Met).
pub fn is_start_codon(code: GeneticCode, codon: &[u8]) -> bool {
    match code {
        GeneticCode::Standard => codon == b"ATG",
        GeneticCode::VertebrateMitochondrial => {
            matches!(codon, b"ATT" | b"ATC" | b"ATA" | b"ATG" | b"GTG")
        }
    }
}

impl CodingSequence {
    /// The sequence of `transcript` read from `reference`; `None` for a
    /// non-coding transcript or one the reference cannot give (an unknown
    /// contig, exons past its end).
    pub fn read(transcript: &Transcript, reference: &Reference) -> Option<CodingSequence> {
        let coding_start = transcript.cdna_coding_start()? as usize;
        let coding_end = transcript.cdna_coding_end()? as usize;
        let cdna = transcript.cdna_sequence(reference).ok()?;
        if cdna.len() < coding_end {
            return None;
        }
        let padding = transcript.cds_start_padding() as usize;
        let mut bases = Vec::with_capacity(padding + cdna.len() - coding_start + 1);
        bases.resize(padding, b'N');
        bases.extend_from_slice(&cdna[coding_start - 1..]);
        let cds_len = padding + coding_end - coding_start + 1;
        let code = GeneticCode::for_mitochondrial(transcript.is_mitochondrial());
        let protein = translate_cds(code, &bases[..cds_len], transcript.cds_start_complete());
        Some(CodingSequence {
            bases,
            cds_len,
            protein,
            code,
        })
    }

    /// The CDS part of [`CodingSequence::bases`].
    pub fn cds(&self) -> &[u8] {
        &self.bases[..self.cds_len]
    }
}

/// `cds` translated as a protein: whole codons only, the first read as
/// Met when `start_complete` and it is a start codon of `code`.
pub fn translate_cds(code: GeneticCode, cds: &[u8], start_complete: bool) -> Vec<u8> {
    let mut protein = code.translate_all(cds);
    if start_complete && cds.len() >= 3 && is_start_codon(code, &cds[..3]) {
        protein[0] = b'M';
    }
    protein
}

/// The last few transcripts' sequences, the least recently used replaced
/// first.
#[derive(Debug, Default)]
pub struct SequenceCache {
    /// (transcript address, last use, sequence).
    entries: Vec<(usize, u64, Option<Arc<CodingSequence>>)>,
    clock: u64,
}

/// How many transcripts' sequences a cache keeps.
const CACHE_ENTRIES: usize = 64;

impl SequenceCache {
    /// The sequence of `transcript` (see [`CodingSequence::read`]), read
    /// once while it stays among the recently used.
    pub fn get(
        &mut self,
        transcript: &Transcript,
        reference: &Reference,
    ) -> Option<Arc<CodingSequence>> {
        // Transcripts live in the index for the whole run, so their address
        // identifies them.
        let key = transcript as *const Transcript as usize;
        self.clock += 1;
        if let Some(entry) = self.entries.iter_mut().find(|e| e.0 == key) {
            entry.1 = self.clock;
            return entry.2.clone();
        }
        let value = CodingSequence::read(transcript, reference).map(Arc::new);
        let entry = (key, self.clock, value.clone());
        if self.entries.len() < CACHE_ENTRIES {
            self.entries.push(entry);
        } else if let Some(oldest) = self.entries.iter_mut().min_by_key(|e| e.1) {
            *oldest = entry;
        }
        value
    }
}
