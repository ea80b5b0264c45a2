//! Genetic codes: codons to amino acids, and amino acids' HGVS names.
//!
//! Two of NCBI's translation tables are needed for human data: the
//! standard code (table 1) for nuclear transcripts and the vertebrate
//! mitochondrial code (table 2) for transcripts on MT/chrM, which differs
//! in four codons: `AGA` and `AGG` are stops, `ATA` is Met and `TGA` is Trp.

/// The translation table a transcript is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneticCode {
    /// NCBI table 1.
    Standard,
    /// NCBI table 2, for MT/chrM.
    VertebrateMitochondrial,
}

/// Table 1 in `TCAG` order: index = 16·first + 4·second + third with
/// T=0, C=1, A=2, G=3 (NCBI's layout).
const STANDARD: &[u8; 64] = b"FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG";
/// Table 2 in the same order.
const MITOCHONDRIAL: &[u8; 64] =
    b"FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSS**VVVVAAAADDEEGGGG";

/// Each byte's index in `TCAG` order, 4 for anything but a base (a table:
/// translation runs over every coding transcript a run meets).
const BASE_INDEX: [u8; 256] = {
    let mut table = [4u8; 256];
    table[b'T' as usize] = 0;
    table[b't' as usize] = 0;
    table[b'U' as usize] = 0;
    table[b'u' as usize] = 0;
    table[b'C' as usize] = 1;
    table[b'c' as usize] = 1;
    table[b'A' as usize] = 2;
    table[b'a' as usize] = 2;
    table[b'G' as usize] = 3;
    table[b'g' as usize] = 3;
    table
};

impl GeneticCode {
    /// The code for a transcript: mitochondrial on MT/chrM.
    pub fn for_mitochondrial(mitochondrial: bool) -> Self {
        if mitochondrial {
            GeneticCode::VertebrateMitochondrial
        } else {
            GeneticCode::Standard
        }
    }

    /// The one-letter amino acid of `codon`: `*` for a stop, `X` when a
    /// base is not `ACGT`.
    pub fn translate(self, codon: &[u8]) -> u8 {
        let table = match self {
            GeneticCode::Standard => STANDARD,
            GeneticCode::VertebrateMitochondrial => MITOCHONDRIAL,
        };
        let (a, b, c) = (
            BASE_INDEX[usize::from(codon[0])],
            BASE_INDEX[usize::from(codon[1])],
            BASE_INDEX[usize::from(codon[2])],
        );
        if (a | b | c) & 4 != 0 {
            return b'X';
        }
        table[usize::from(a) * 16 + usize::from(b) * 4 + usize::from(c)]
    }

    /// `seq` translated codon by codon (a trailing partial codon is
    /// dropped).
    pub fn translate_all(self, seq: &[u8]) -> Vec<u8> {
        seq.chunks_exact(3).map(|c| self.translate(c)).collect()
    }
}

/// The HGVS three-letter name of a one-letter amino acid (`*` is `Ter`,
/// anything unknown `Xaa`).
pub fn three_letter(aa: u8) -> &'static str {
    match aa {
        b'A' => "Ala",
        b'R' => "Arg",
        b'N' => "Asn",
        b'D' => "Asp",
        b'C' => "Cys",
        b'Q' => "Gln",
        b'E' => "Glu",
        b'G' => "Gly",
        b'H' => "His",
        b'I' => "Ile",
        b'L' => "Leu",
        b'K' => "Lys",
        b'M' => "Met",
        b'F' => "Phe",
        b'P' => "Pro",
        b'S' => "Ser",
        b'T' => "Thr",
        b'W' => "Trp",
        b'Y' => "Tyr",
        b'V' => "Val",
        b'U' => "Sec",
        b'*' => "Ter",
        _ => "Xaa",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_code() {
        let t = GeneticCode::Standard;
        assert_eq!(t.translate(b"ATG"), b'M');
        assert_eq!(t.translate(b"TGG"), b'W');
        for stop in [b"TAA", b"TAG", b"TGA"] {
            assert_eq!(t.translate(stop), b'*');
        }
        assert_eq!(t.translate(b"AGA"), b'R');
        assert_eq!(t.translate(b"ATA"), b'I');
        assert_eq!(t.translate(b"GCN"), b'X');
        assert_eq!(t.translate(b"ggc"), b'G');
        assert_eq!(t.translate_all(b"ATGAAATAGC"), b"MK*");
    }

    #[test]
    fn mitochondrial_code_differs_in_four_codons() {
        let (s, m) = (GeneticCode::Standard, GeneticCode::VertebrateMitochondrial);
        let mut differ = Vec::new();
        for a in b"TCAG" {
            for b in b"TCAG" {
                for c in b"TCAG" {
                    let codon = [*a, *b, *c];
                    if s.translate(&codon) != m.translate(&codon) {
                        differ.push((
                            String::from_utf8(codon.to_vec()).unwrap(),
                            m.translate(&codon),
                        ));
                    }
                }
            }
        }
        assert_eq!(
            differ,
            vec![
                ("TGA".to_owned(), b'W'),
                ("ATA".to_owned(), b'M'),
                ("AGA".to_owned(), b'*'),
                ("AGG".to_owned(), b'*'),
            ]
        );
    }

    #[test]
    fn names() {
        assert_eq!(three_letter(b'*'), "Ter");
        assert_eq!(three_letter(b'W'), "Trp");
        assert_eq!(three_letter(b'X'), "Xaa");
    }
}
