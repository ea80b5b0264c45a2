//! What one allele does to one transcript: its Sequence Ontology terms,
//! positions, codons, amino acids and HGVS descriptions, by the rules
//! Ensembl VEP applies (`Bio::EnsEMBL::Variation::Utils::VariationEffect`
//! for the terms, HGVS nomenclature for the descriptions). Where VEP's
//! rules are approximated, `docs/CSQ-PEERS.md` says how.

use super::allele::{shifted, Allele, Room};
use super::codon::{three_letter, GeneticCode};
use super::sequence::{translate_cds, CodingSequence};
use super::{Consequence as C, ConsequenceSet};
use crate::fasta::{complement, reverse_complement};
use crate::transcript::{HgvsAnchor, HgvsPosition, Strand, Transcript};

/// How far up- or downstream of a transcript a variant is still reported
/// (VEP's default `--distance`).
pub const FLANK: u32 = 5000;

/// A range of numbered features (`3/12`, `3-4/12`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbers {
    /// First number (from the 5' end).
    pub first: u32,
    /// Last number.
    pub last: u32,
    /// How many there are.
    pub total: u32,
}

impl std::fmt::Display for Numbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}/{}", self.first, self.total)
        } else {
            write!(f, "{}-{}/{}", self.first, self.last, self.total)
        }
    }
}

/// What an allele does to a transcript (one CSQ entry's worth).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effect {
    /// The Sequence Ontology terms.
    pub terms: ConsequenceSet,
    /// Bases to the transcript, for up- and downstream variants.
    pub distance: Option<u32>,
    /// Exons overlapped.
    pub exon: Option<Numbers>,
    /// Introns overlapped.
    pub intron: Option<Numbers>,
    /// cDNA positions (first, last; an insertion: the flanking bases).
    pub cdna: Option<(u32, u32)>,
    /// CDS positions, likewise.
    pub cds: Option<(u32, u32)>,
    /// Protein positions, likewise.
    pub protein: Option<(u32, u32)>,
    /// `R/W`, `R` (unchanged), `-/K`, `KR/X` (VEP's Amino_acids).
    pub amino_acids: String,
    /// `Cgg/Tgg` (VEP's Codons: changed bases upper-case).
    pub codons: String,
    /// The `c.`/`n.` description, without the transcript id.
    pub hgvsc: String,
    /// The `p.` description, without the protein id.
    pub hgvsp: String,
}

impl Effect {
    /// Back to [`Effect::default`], keeping the strings' buffers.
    pub fn clear(&mut self) {
        self.terms = ConsequenceSet::default();
        self.distance = None;
        self.exon = None;
        self.intron = None;
        self.cdna = None;
        self.cds = None;
        self.protein = None;
        self.amino_acids.clear();
        self.codons.clear();
        self.hgvsc.clear();
        self.hgvsp.clear();
    }
}

/// Whether `allele` overlaps the genomic range `a..=b`. One rule for every
/// kind, as VEP's `overlap`: an insertion (`end == start - 1`) overlaps a
/// range that holds both of its flanking bases.
fn overlaps(allele: &Allele, a: i64, b: i64) -> bool {
    i64::from(allele.end) >= a && i64::from(allele.start) <= b
}

/// The effect of `allele` on `transcript`, or `None` when it is further
/// than [`FLANK`] from it. `sequence` is the transcript's coding sequence
/// when a reference is loaded (needed for codons, amino acids, HGVSp);
/// `room` is how far the allele can shift (for HGVSc's 3' rule).
pub fn predict(
    transcript: &Transcript,
    allele: &Allele,
    room: Room,
    sequence: Option<&CodingSequence>,
) -> Option<Effect> {
    let mut effect = Effect::default();
    predict_into(transcript, allele, room, sequence, &mut effect).then_some(effect)
}

/// As [`predict`], into `effect` (whose old values are all replaced): a
/// caller predicting millions of entries reuses their strings' buffers.
/// Returns `false` (and leaves `effect` undefined) where [`predict`]
/// returns `None`.
pub fn predict_into(
    transcript: &Transcript,
    allele: &Allele,
    room: Room,
    sequence: Option<&CodingSequence>,
    effect: &mut Effect,
) -> bool {
    effect.clear();
    let (t_start, t_end) = (transcript.start(), transcript.end());
    let forward = transcript.strand() == Strand::Forward;
    if !overlaps(allele, i64::from(t_start), i64::from(t_end)) {
        // Up- or downstream: the bases between them.
        let (before, distance) = if allele.end < t_start {
            (true, t_start - allele.end.max(allele.start))
        } else {
            (
                false,
                allele.start.min(allele.end.saturating_add(1)) - t_end,
            )
        };
        let distance = distance.max(1);
        if distance > FLANK {
            return false;
        }
        effect.terms.insert(if before == forward {
            C::UpstreamGeneVariant
        } else {
            C::DownstreamGeneVariant
        });
        effect.distance = Some(distance);
        return true;
    }
    if !allele.is_insertion() && allele.start <= t_start && allele.end >= t_end {
        effect.terms.insert(C::TranscriptAblation);
        return true;
    }

    let exons = transcript.exons();
    let total_exons = exons.len() as u32;
    // Exons and introns overlapped (numbers from the 5' end).
    let mut exon_hits: Option<(u32, u32)> = None;
    let mut intron_hits: Option<(u32, u32)> = None;
    let mut cdna_lo = u32::MAX;
    let mut cdna_hi = 0;
    // Whether the whole allele lies inside one exon.
    let mut inside_exon = false;
    let hit = |range: &mut Option<(u32, u32)>, n: u32| {
        *range = Some(match *range {
            None => (n, n),
            Some((a, b)) => (a.min(n), b.max(n)),
        });
    };
    for (i, exon) in exons.iter().enumerate() {
        let (es, ee) = (i64::from(exon.start()), i64::from(exon.end()));
        if overlaps(allele, es, ee) {
            hit(&mut exon_hits, i as u32 + 1);
            inside_exon |=
                allele.is_insertion() || (allele.start >= exon.start() && allele.end <= exon.end());
            // The exonic bases the allele touches, as cDNA positions.
            let (gs, ge) = if allele.is_insertion() {
                (allele.end, allele.start)
            } else {
                (allele.start.max(exon.start()), allele.end.min(exon.end()))
            };
            for g in [gs, ge] {
                if let Some(c) = transcript.cdna_position(g) {
                    cdna_lo = cdna_lo.min(c);
                    cdna_hi = cdna_hi.max(c);
                }
            }
        }
    }
    let mut splice_site = false;
    let mut splice_region = false;
    let mut intronic = false;
    for (i, (is, ie)) in transcript.introns().enumerate() {
        let (is, ie) = (i64::from(is), i64::from(ie));
        if !overlaps(allele, is - 3, ie + 3) {
            continue;
        }
        if overlaps(allele, is, ie) {
            hit(&mut intron_hits, i as u32 + 1);
        }
        // Genomic ranges of the donor (5') and acceptor (3') ends.
        let (donor, acceptor, fifth, donor_region, ppt) = if forward {
            (
                (is, is + 1),
                (ie - 1, ie),
                (is + 4, is + 4),
                (is + 2, is + 5),
                (ie - 16, ie - 2),
            )
        } else {
            (
                (ie - 1, ie),
                (is, is + 1),
                (ie - 4, ie - 4),
                (ie - 5, ie - 2),
                (is + 2, is + 16),
            )
        };
        let at = |(a, b): (i64, i64)| overlaps(allele, a, b);
        let mut specific = false;
        if at(donor) {
            effect.terms.insert(C::SpliceDonorVariant);
            splice_site = true;
        }
        if at(acceptor) {
            effect.terms.insert(C::SpliceAcceptorVariant);
            splice_site = true;
        }
        if at(fifth) {
            effect.terms.insert(C::SpliceDonor5thBaseVariant);
            specific = true;
        } else if at(donor_region) {
            effect.terms.insert(C::SpliceDonorRegionVariant);
            specific = true;
        }
        if at(ppt) {
            effect.terms.insert(C::SplicePolypyrimidineTractVariant);
        }
        if (overlaps(allele, is - 3, is + 7) || overlaps(allele, ie - 7, ie + 3)) && !specific {
            splice_region = true;
        }
        if overlaps(allele, is + 2, ie - 2) {
            intronic = true;
        }
    }
    if splice_region && !splice_site {
        effect.terms.insert(C::SpliceRegionVariant);
    }
    if intronic {
        effect.terms.insert(C::IntronVariant);
    }
    effect.exon = exon_hits.map(|(first, last)| Numbers {
        first,
        last,
        total: total_exons,
    });
    effect.intron = intron_hits.map(|(first, last)| Numbers {
        first,
        last,
        total: total_exons - 1,
    });
    let exonic = exon_hits.is_some() && cdna_lo <= cdna_hi;
    if exonic {
        effect.cdna = Some((cdna_lo, cdna_hi));
    }

    match (transcript.cdna_coding_start(), transcript.cdna_coding_end()) {
        (Some(coding_start), Some(coding_end)) if exonic => {
            let in_one_exon =
                exon_hits.is_some_and(|(a, b)| a == b) && intron_hits.is_none() && inside_exon;
            if cdna_lo < coding_start {
                effect.terms.insert(C::FivePrimeUtrVariant);
            }
            if cdna_hi > coding_end {
                effect.terms.insert(C::ThreePrimeUtrVariant);
            }
            // An insertion between the last UTR base and the first CDS
            // base (or the stop's last base and the UTR) is in the UTR.
            let in_cds = if allele.is_insertion() {
                cdna_lo >= coding_start && cdna_hi <= coding_end
            } else {
                cdna_hi >= coding_start && cdna_lo <= coding_end
            };
            if in_cds {
                let padding = transcript.cds_start_padding();
                let cds_of =
                    |c: u32| c.clamp(coding_start, coding_end) - coding_start + 1 + padding;
                effect.cds = Some((cds_of(cdna_lo), cds_of(cdna_hi)));
                let whole = in_one_exon && cdna_lo >= coding_start && cdna_hi <= coding_end;
                match sequence {
                    Some(seq) if whole => coding_effect(transcript, allele, seq, effect),
                    _ => partial_coding_effect(transcript, sequence, effect),
                }
            }
        }
        (Some(_), Some(_)) => {}
        _ if exonic => {
            effect.terms.insert(C::NonCodingTranscriptExonVariant);
        }
        _ => {
            effect.terms.insert(C::NonCodingTranscriptVariant);
        }
    }
    if transcript.biotype() == "nonsense_mediated_decay" {
        effect.terms.insert(C::NmdTranscriptVariant);
    }
    if effect.terms.is_empty() {
        // Inside the transcript but in none of its parts' terms: the two
        // essential bases of an intron are covered by splice terms, so
        // this is an insertion at an exon boundary.
        effect.terms.insert(if transcript.is_coding() {
            C::CodingTranscriptVariant
        } else {
            C::NonCodingTranscriptVariant
        });
    }
    hgvsc_into(&mut effect.hgvsc, transcript, allele, room);
    true
}

/// The terms of a coding change that cannot be translated: it spans an
/// exon boundary or the CDS edge, or there is no reference sequence. It
/// loses the start or stop codon it touches when the model has one (with a
/// sequence: when the codon there really is a start or a stop).
fn partial_coding_effect(
    transcript: &Transcript,
    sequence: Option<&CodingSequence>,
    effect: &mut Effect,
) {
    let Some((a, b)) = effect.cds else { return };
    let cds_len = transcript.cds_len().unwrap_or(0) + transcript.cds_start_padding();
    effect.terms.insert(C::CodingSequenceVariant);
    let starts = sequence.is_none_or(|s| s.protein.first() == Some(&b'M'));
    if transcript.cds_start_complete() && a <= 3 && starts {
        effect.terms.insert(C::StartLost);
    }
    let stops = sequence.is_none_or(|s| s.protein.last() == Some(&b'*'));
    if transcript.cds_end_complete()
        && !transcript.stop_completed_by_polya()
        && b + 2 >= cds_len
        && stops
    {
        effect.terms.insert(C::StopLost);
    }
    effect.protein = Some(((a - 1) / 3 + 1, (b - 1) / 3 + 1));
}

/// The bases of `allele` on the transcript's strand.
fn stranded(bases: &[u8], forward: bool) -> Vec<u8> {
    let mut out = bases.to_vec();
    if !forward {
        reverse_complement(&mut out);
    }
    out
}

/// Codons, amino acids, the coding terms and HGVSp of a change inside one
/// exon's CDS, read from the transcript's sequence.
fn coding_effect(
    transcript: &Transcript,
    allele: &Allele,
    seq: &CodingSequence,
    effect: &mut Effect,
) {
    let forward = transcript.strand() == Strand::Forward;
    let (cds_a, cds_b) = effect.cds.expect("set by the caller");
    // 0-based CDS indexes: the replaced bases are [a, b]; an insertion goes
    // before a (and b = a - 1).
    let (a, b) = if allele.is_insertion() {
        (cds_b as usize - 1, cds_b as usize - 2)
    } else {
        (cds_a as usize - 1, cds_b as usize - 1)
    };
    let alt = stranded(&allele.alt, forward);
    let cds = seq.cds();
    let code = seq.code;
    let ref_len = b + 1 - a;
    let frameshift = (alt.len() as i64 - ref_len as i64) % 3 != 0;

    // The codons the change touches: [ws, we).
    let ws = a / 3 * 3;
    let we = if allele.is_insertion() {
        if a % 3 == 0 {
            a
        } else {
            ws + 3
        }
    } else {
        (b / 3 + 1) * 3
    };
    let we_clamped = we.min(cds.len());
    let ref_window = &cds[ws..we_clamped];
    let mut alt_window = Vec::with_capacity(ref_window.len() + alt.len());
    alt_window.extend_from_slice(&cds[ws..a]);
    alt_window.extend_from_slice(&alt);
    alt_window.extend_from_slice(&cds[(b + 1).min(we_clamped)..we_clamped]);

    effect.protein = Some(if allele.is_insertion() && a % 3 == 0 {
        (a as u32 / 3, a as u32 / 3 + 1)
    } else {
        (
            ws as u32 / 3 + 1,
            (we_clamped.max(ws + 1) as u32 - 1) / 3 + 1,
        )
    });
    // Codons: changed bases upper-case.
    effect.codons = codon_string(ref_window, ws, a, b, false);
    effect.codons.push('/');
    let alt_codons = codon_string(&alt_window, ws, a, a + alt.len().max(1) - 1, alt.is_empty());
    effect.codons.push_str(&alt_codons);

    // A final partial codon (MT stops completed by polyA, cds_end_NF).
    let whole_codons = cds.len() / 3 * 3;
    if we_clamped > whole_codons || we > cds.len() {
        effect.terms.insert(C::IncompleteTerminalCodonVariant);
        effect.terms.insert(C::CodingSequenceVariant);
        return;
    }

    let start_complete = transcript.cds_start_complete();
    // A trailing partial codon (a frameshift's) shows as `X`.
    let translate = |window: &[u8], first: bool| -> Vec<u8> {
        let mut pep = translate_cds(code, window, first && start_complete);
        if !window.len().is_multiple_of(3) {
            pep.push(b'X');
        }
        pep
    };
    let at_start = ws == 0;
    let ref_pep = translate(ref_window, at_start);
    let alt_pep = translate(&alt_window, at_start);
    effect.amino_acids = amino_acid_string(&ref_pep, &alt_pep);
    let aa_pos = ws / 3; // 0-based position of the window's first residue

    if frameshift {
        effect.terms.insert(C::FrameshiftVariant);
        if at_start && start_complete && ref_pep.first() == Some(&b'M') {
            effect.terms.insert(C::StartLost);
            effect.hgvsp = "p.Met1?".to_owned();
            return;
        }
        effect.hgvsp = frameshift_hgvsp(seq, ws, a, b, &alt, effect);
        return;
    }

    let ref_stop = ref_pep.contains(&b'*');
    let alt_stop_at = alt_pep.iter().position(|&x| x == b'*');
    if at_start && start_complete && ref_pep.first() == Some(&b'M') {
        if alt_pep.first() == Some(&b'M') {
            if ref_pep != alt_pep || ref_window != &alt_window[..] {
                effect.terms.insert(C::StartRetainedVariant);
            }
        } else {
            effect.terms.insert(C::StartLost);
            effect.hgvsp = "p.Met1?".to_owned();
            return;
        }
    }
    if !ref_stop && alt_stop_at.is_some() {
        effect.terms.insert(C::StopGained);
    }
    if ref_stop && alt_stop_at.is_none() {
        effect.terms.insert(C::StopLost);
    }
    if ref_stop && alt_stop_at.is_some() && ref_pep.last() == Some(&b'*') {
        if alt_pep.last() == Some(&b'*') {
            effect.terms.insert(C::StopRetainedVariant);
        } else if !effect.terms.contains(C::StopGained) {
            effect.terms.insert(C::StopLost);
        }
    }
    if alt.len() > ref_len {
        if allele.is_insertion() || is_contained(&ref_pep, &alt_pep) {
            effect.terms.insert(C::InframeInsertion);
        } else {
            effect.terms.insert(C::ProteinAlteringVariant);
        }
    } else if alt.len() < ref_len {
        if allele.is_deletion() || is_contained(&alt_pep, &ref_pep) {
            effect.terms.insert(C::InframeDeletion);
        } else {
            effect.terms.insert(C::ProteinAlteringVariant);
        }
    } else if ref_pep != alt_pep {
        let stop_term = effect.terms.contains(C::StopGained)
            || effect.terms.contains(C::StopLost)
            || effect.terms.contains(C::StartLost);
        if !stop_term {
            effect.terms.insert(C::MissenseVariant);
        }
    } else if !effect.terms.contains(C::StopRetainedVariant)
        && !effect.terms.contains(C::StartRetainedVariant)
    {
        effect.terms.insert(C::SynonymousVariant);
    }
    effect.hgvsp = inframe_hgvsp(seq, aa_pos, &ref_pep, &alt_pep, ws, a, b, &alt);
}

/// Whether `short` is `long` with residues inserted at one point (a
/// prefix of it and a suffix of it make it whole).
fn is_contained(short: &[u8], long: &[u8]) -> bool {
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let suffix = short
        .iter()
        .rev()
        .zip(long.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    prefix + suffix >= short.len()
}

/// A codon window as VEP's Codons writes it: bases `a..=b` (CDS indexes)
/// upper-case, the rest lower-case; `-` for an empty window.
fn codon_string(window: &[u8], ws: usize, a: usize, b: usize, none_changed: bool) -> String {
    if window.is_empty() {
        return "-".to_owned();
    }
    window
        .iter()
        .enumerate()
        .map(|(i, &base)| {
            let at = ws + i;
            if !none_changed && at >= a && at <= b {
                base.to_ascii_uppercase() as char
            } else {
                base.to_ascii_lowercase() as char
            }
        })
        .collect()
}

/// VEP's Amino_acids: `R/W`, `R` when unchanged, `-` for none.
fn amino_acid_string(ref_pep: &[u8], alt_pep: &[u8]) -> String {
    let show = |p: &[u8]| {
        if p.is_empty() {
            "-".to_owned()
        } else {
            String::from_utf8_lossy(p).into_owned()
        }
    };
    if ref_pep == alt_pep {
        show(ref_pep)
    } else {
        format!("{}/{}", show(ref_pep), show(alt_pep))
    }
}

/// The alt sequence from CDS index `ws` to the transcript's end (what a
/// frameshift or a lost stop reads through), as a view over the reference
/// sequence and the new bases: no copy of the rest of the transcript.
struct AltTail<'s> {
    parts: [&'s [u8]; 3],
}

impl<'s> AltTail<'s> {
    fn new(seq: &'s CodingSequence, ws: usize, a: usize, b: usize, alt: &'s [u8]) -> Self {
        AltTail {
            parts: [
                &seq.bases[ws..a],
                alt,
                &seq.bases[(b + 1).min(seq.bases.len())..],
            ],
        }
    }

    fn get(&self, mut i: usize) -> Option<u8> {
        for part in self.parts {
            if i < part.len() {
                return Some(part[i]);
            }
            i -= part.len();
        }
        None
    }

    /// The translation codon by codon, up to and including the first stop
    /// (or the last whole codon), skipping the first `skip` codons.
    fn translate_to_stop(&self, code: GeneticCode, skip: usize) -> Vec<u8> {
        let mut pep = Vec::new();
        let mut i = skip * 3;
        while let (Some(x), Some(y), Some(z)) = (self.get(i), self.get(i + 1), self.get(i + 2)) {
            let aa = code.translate(&[x, y, z]);
            pep.push(aa);
            if aa == b'*' {
                break;
            }
            i += 3;
        }
        pep
    }
}

/// HGVSp of a frameshift: `p.Lys41AsnfsTer12` (the first changed residue,
/// what replaces it, and where the new frame stops counting it as 1), or
/// `p.Lys41Ter` when the new frame stops at once.
fn frameshift_hgvsp(
    seq: &CodingSequence,
    ws: usize,
    a: usize,
    b: usize,
    alt: &[u8],
    effect: &mut Effect,
) -> String {
    let first = ws / 3;
    let alt_pep = AltTail::new(seq, ws, a, b, alt).translate_to_stop(seq.code, 0);
    let protein = &seq.protein;
    // First residue that differs.
    let Some(k) = (0..alt_pep.len()).find(|&k| protein.get(first + k) != Some(&alt_pep[k])) else {
        return String::new();
    };
    let pos = first + k;
    let Some(&ref_aa) = protein.get(pos) else {
        return String::new();
    };
    let new = alt_pep[k];
    if ref_aa == b'*' {
        return extension(pos, &alt_pep[k..]);
    }
    if new == b'*' {
        effect.terms.insert(C::StopGained);
        return P::new().aa(ref_aa).at(pos + 1).s("Ter").done();
    }
    let rest = &alt_pep[k..];
    match rest.iter().position(|&x| x == b'*') {
        Some(stop) => P::new()
            .aa(ref_aa)
            .at(pos + 1)
            .aa(new)
            .s("fsTer")
            .at(stop + 1)
            .done(),
        None => P::new().aa(ref_aa).at(pos + 1).aa(new).s("fsTer?").done(),
    }
}

/// `p.Ter110GlnextTer17`: the stop at 0-based `pos` replaced by the first
/// residue of `read_through`, the new stop that many residues on (`?`
/// when none comes before the transcript ends).
fn extension(pos: usize, read_through: &[u8]) -> String {
    let new = read_through.first().copied().unwrap_or(b'X');
    match read_through.iter().skip(1).position(|&x| x == b'*') {
        Some(i) => P::new()
            .s("Ter")
            .at(pos + 1)
            .aa(new)
            .s("extTer")
            .at(i + 1)
            .done(),
        None => P::new().s("Ter").at(pos + 1).aa(new).s("extTer?").done(),
    }
}

/// An HGVSp description written piece by piece (`p.`, residues in three
/// letters, positions), without `fmt`: about one coding entry in three has
/// one, and formatting them was a twentieth of the annotation's work.
struct P(String);

impl P {
    fn new() -> P {
        let mut text = String::with_capacity(24);
        text.push_str("p.");
        P(text)
    }

    /// A residue in three letters.
    fn aa(mut self, residue: u8) -> P {
        self.0.push_str(three_letter(residue));
        self
    }

    /// Residues in three letters, one after the other.
    fn residues(mut self, pep: &[u8]) -> P {
        for &residue in pep {
            self.0.push_str(three_letter(residue));
        }
        self
    }

    /// A 1-based position (or count).
    fn at(mut self, n: usize) -> P {
        push_u64(&mut self.0, n as u64);
        self
    }

    fn s(mut self, text: &str) -> P {
        self.0.push_str(text);
        self
    }

    fn done(self) -> String {
        self.0
    }
}

/// HGVSp of an in-frame change with `ref_pep` → `alt_pep` from 0-based
/// residue `aa_pos`, described on the whole protein (so insertions and
/// deletions in repeats move to their 3'-most place and become `dup` when
/// they copy what precedes them).
#[allow(clippy::too_many_arguments)]
fn inframe_hgvsp(
    seq: &CodingSequence,
    aa_pos: usize,
    ref_pep: &[u8],
    alt_pep: &[u8],
    ws: usize,
    a: usize,
    b: usize,
    alt: &[u8],
) -> String {
    let protein = &seq.protein;
    // Trim what the two share at either end.
    let pre = ref_pep
        .iter()
        .zip(alt_pep)
        .take_while(|(x, y)| x == y)
        .count();
    let max_suffix = ref_pep.len().min(alt_pep.len()) - pre;
    let suf = ref_pep
        .iter()
        .rev()
        .zip(alt_pep.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let r = &ref_pep[pre..ref_pep.len() - suf];
    let mut v = alt_pep[pre..alt_pep.len() - suf].to_vec();
    if r.is_empty() && v.is_empty() {
        // Unchanged protein: `p.Leu12=` at the first residue the change
        // touches.
        return match protein.get(aa_pos) {
            Some(&aa) => P::new().aa(aa).at(aa_pos + 1).s("=").done(),
            None => String::new(),
        };
    }
    // 0-based first changed residue.
    let mut start = aa_pos + pre;
    // A new stop ends the protein: residues after it do not exist.
    if let Some(stop) = v.iter().position(|&x| x == b'*') {
        v.truncate(stop + 1);
        if r.is_empty() {
            // Stop inserted: the residue at the insertion point is replaced.
            return match protein.get(start) {
                Some(&aa) if stop == 0 => P::new().aa(aa).at(start + 1).s("Ter").done(),
                Some(&aa) => P::new()
                    .aa(aa)
                    .at(start + 1)
                    .s("delins")
                    .residues(&v)
                    .done(),
                None => String::new(),
            };
        }
    }
    if r.contains(&b'*') && !v.contains(&b'*') {
        // The stop is lost: the protein reads on into the 3' UTR.
        let stop_at = protein.len() - 1;
        let from = stop_at.saturating_sub(ws / 3);
        let through = AltTail::new(seq, ws, a, b, alt).translate_to_stop(seq.code, from);
        // `through` starts at the old stop; the first residue replaces it and
        // the scan must pass it to find the new stop.
        if through.is_empty() {
            return String::new();
        }
        return extension(stop_at, &through);
    }
    match (r.len(), v.len()) {
        (1, 1) => P::new().aa(r[0]).at(start + 1).aa(v[0]).done(),
        (0, _) => {
            // Insertion before residue `start`: slide it C-terminal.
            let mut ins = v;
            while start < protein.len() && protein[start] == ins[0] && protein[start] != b'*' {
                ins.rotate_left(1);
                start += 1;
            }
            let n = ins.len();
            if start >= n && protein[start - n..start] == ins[..] {
                if n == 1 {
                    P::new().aa(protein[start - 1]).at(start).s("dup").done()
                } else {
                    P::new()
                        .aa(protein[start - n])
                        .at(start - n + 1)
                        .s("_")
                        .aa(protein[start - 1])
                        .at(start)
                        .s("dup")
                        .done()
                }
            } else if start == 0 || start >= protein.len() {
                String::new()
            } else {
                P::new()
                    .aa(protein[start - 1])
                    .at(start)
                    .s("_")
                    .aa(protein[start])
                    .at(start + 1)
                    .s("ins")
                    .residues(&ins)
                    .done()
            }
        }
        (n, 0) => {
            // Deletion of residues [start, start + n): slide it C-terminal.
            while start + n < protein.len()
                && protein[start] == protein[start + n]
                && protein[start + n] != b'*'
            {
                start += 1;
            }
            let del = &protein[start..start + n];
            if n == 1 {
                P::new().aa(del[0]).at(start + 1).s("del").done()
            } else {
                P::new()
                    .aa(del[0])
                    .at(start + 1)
                    .s("_")
                    .aa(del[n - 1])
                    .at(start + n)
                    .s("del")
                    .done()
            }
        }
        (n, _) => {
            if n == 1 {
                P::new()
                    .aa(r[0])
                    .at(start + 1)
                    .s("delins")
                    .residues(&v)
                    .done()
            } else {
                P::new()
                    .aa(r[0])
                    .at(start + 1)
                    .s("_")
                    .aa(r[n - 1])
                    .at(start + n)
                    .s("delins")
                    .residues(&v)
                    .done()
            }
        }
    }
}

/// The region (exon or intron, genomic bounds) holding the whole touched
/// span of `allele`, if one does.
fn region_of(transcript: &Transcript, allele: &Allele) -> Option<(u32, u32)> {
    let (lo, hi) = allele.touched();
    transcript
        .exons()
        .iter()
        .map(|e| (e.start(), e.end()))
        .chain(transcript.introns())
        .find(|&(s, e)| s <= lo && hi <= e)
}

/// The `c.`/`n.` description of `allele` on `transcript` (empty outside
/// it): substitutions `123A>G`, `123_125del`, `123dup`, `123_124insTT`,
/// `123_124delinsTT`, intronic and UTR positions as HGVS numbers them;
/// insertions and deletions moved as far 3' (in the transcript's
/// direction) as `room` allows without leaving their exon or intron.
pub fn hgvsc(transcript: &Transcript, allele: &Allele, room: Room) -> String {
    let mut out = String::with_capacity(24);
    hgvsc_into(&mut out, transcript, allele, room);
    out
}

/// Appends [`hgvsc`]'s description to `out`.
pub fn hgvsc_into(out: &mut String, transcript: &Transcript, allele: &Allele, room: Room) {
    let forward = transcript.strand() == Strand::Forward;
    // Only an indel with room moves (and is copied to be moved).
    let mut moved = None;
    let mut shift = 0;
    if allele.is_indel() && room != Room::default() {
        if let Some((rs, re)) = region_of(transcript, allele) {
            let k = if forward {
                let limit = if allele.is_insertion() {
                    re.saturating_sub(allele.start)
                } else {
                    re - allele.end
                };
                i64::from(room.right.min(limit))
            } else {
                let limit = if allele.is_insertion() {
                    allele.end.saturating_sub(rs)
                } else {
                    allele.start - rs
                };
                -i64::from(room.left.min(limit))
            };
            if k != 0 {
                moved = Some(shifted(allele, k));
                shift = k;
            }
        }
    }
    let allele = moved.as_ref().unwrap_or(allele);
    out.push(transcript.hgvs_prefix());
    out.push('.');
    // Positions in transcript order.
    let span = |out: &mut String, lo: u32, hi: u32| {
        let (first, last) = if forward { (lo, hi) } else { (hi, lo) };
        push_position(out, transcript.hgvs_position(first));
        if first != last {
            out.push('_');
            push_position(out, transcript.hgvs_position(last));
        }
    };
    let bases = |out: &mut String, b: &[u8]| {
        if forward {
            out.extend(b.iter().map(|&x| x as char));
        } else {
            out.extend(b.iter().rev().map(|&x| complement(x) as char));
        }
    };
    if allele.is_insertion() {
        // Is it a copy of the bases 5' of it (in transcript orientation)?
        match duplicated(allele, room, shift, forward) {
            Some((lo, hi)) => {
                span(out, lo, hi);
                out.push_str("dup");
            }
            None => {
                span(out, allele.end, allele.start);
                out.push_str("ins");
                bases(out, &allele.alt);
            }
        }
    } else if allele.is_deletion() {
        span(out, allele.start, allele.end);
        out.push_str("del");
    } else if allele.reference.len() == 1 && allele.alt.len() == 1 {
        push_position(out, transcript.hgvs_position(allele.start));
        bases(out, &allele.reference);
        out.push('>');
        bases(out, &allele.alt);
    } else {
        span(out, allele.start, allele.end);
        out.push_str("delins");
        bases(out, &allele.alt);
    }
}

/// Appends an HGVS position as its `Display` writes it (`-12`, `123+5`,
/// `*7-3`), without `fmt`'s machinery: every entry inside a transcript
/// has one or two.
pub(crate) fn push_position(out: &mut String, p: HgvsPosition) {
    let n = match p.anchor {
        HgvsAnchor::FivePrime(n) => {
            out.push('-');
            n
        }
        HgvsAnchor::Main(n) => n,
        HgvsAnchor::ThreePrime(n) => {
            out.push('*');
            n
        }
    };
    push_u64(out, u64::from(n));
    if p.offset > 0 {
        out.push('+');
        push_u64(out, p.offset.unsigned_abs());
    } else if p.offset < 0 {
        out.push('-');
        push_u64(out, p.offset.unsigned_abs());
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Whether an insertion moved `k` bases 3' repeats the bases just 5' of
/// it in the transcript's direction, and their genomic span if so. An
/// insertion of n bases before p repeats the n bases before p exactly when
/// it can slide n bases back, so the room measured on the reference
/// answers this without reading it again.
fn duplicated(allele: &Allele, room: Room, k: i64, forward: bool) -> Option<(u32, u32)> {
    let n = allele.alt.len() as i64;
    if forward {
        let back = i64::from(room.left) + k;
        (back >= n).then(|| ((i64::from(allele.start) - n) as u32, allele.start - 1))
    } else {
        let back = i64::from(room.right) - k;
        (back >= n).then(|| (allele.start, (i64::from(allele.start) + n - 1) as u32))
    }
}
