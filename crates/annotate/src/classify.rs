//! Classification of an ALT allele against its REF: variant class and
//! transition/transversion.

use serde::{Deserialize, Serialize};

/// The class of one ALT allele relative to REF (INFO `VC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VariantClass {
    /// One base replaced by another base (REF and ALT of length 1, differing).
    Snv,
    /// REF and ALT of the same length > 1, differing.
    Mnv,
    /// ALT longer than REF: REF's first base kept, and the rest of REF kept
    /// after the inserted bases (an anchored insertion).
    Ins,
    /// REF longer than ALT: the converse of [`VariantClass::Ins`].
    Del,
    /// Different lengths, not an anchored insertion or deletion.
    Complex,
    /// Symbolic (`<DEL>`), breakend, `*`, missing (`.`), or ALT equal to REF.
    Other,
}

impl VariantClass {
    /// Every class, in the order of the INFO description and of the log.
    pub const ALL: [VariantClass; 6] = [
        VariantClass::Snv,
        VariantClass::Mnv,
        VariantClass::Ins,
        VariantClass::Del,
        VariantClass::Complex,
        VariantClass::Other,
    ];

    /// The value written in INFO `VC`: `SNV`, `MNV`, `INS`, `DEL`, `COMPLEX`
    /// or `OTHER`.
    pub fn as_str(self) -> &'static str {
        match self {
            VariantClass::Snv => "SNV",
            VariantClass::Mnv => "MNV",
            VariantClass::Ins => "INS",
            VariantClass::Del => "DEL",
            VariantClass::Complex => "COMPLEX",
            VariantClass::Other => "OTHER",
        }
    }
}

/// Transition or transversion of one ALT allele (INFO `TITV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TiTv {
    /// Purine to purine (A<->G) or pyrimidine to pyrimidine (C<->T).
    Transition,
    /// Any other substitution of one of A, C, G, T by another.
    Transversion,
    /// Not a single-base substitution between A, C, G, T (this includes any
    /// substitution involving `N`).
    NotApplicable,
}

impl TiTv {
    /// The value written in INFO `TITV`: `ts`, `tv` or `.`.
    pub fn as_str(self) -> &'static str {
        match self {
            TiTv::Transition => "ts",
            TiTv::Transversion => "tv",
            TiTv::NotApplicable => ".",
        }
    }
}

/// Classifies `alt` against `reference`.
///
/// Comparison is case-insensitive. `reference` should be a valid REF (bases
/// `ACGTN`) and `alt` one valid ALT allele; for anything that is not a plain
/// base sequence (symbolic, breakend, `*`, `.`) the answer is
/// [`VariantClass::Other`].
pub fn classify(reference: &[u8], alt: &[u8]) -> VariantClass {
    if !is_bases(alt) || reference.is_empty() {
        return VariantClass::Other;
    }
    let (r, a) = (reference.len(), alt.len());
    if r == a {
        if reference.eq_ignore_ascii_case(alt) {
            VariantClass::Other
        } else if r == 1 {
            VariantClass::Snv
        } else {
            VariantClass::Mnv
        }
    } else if a > r {
        if is_anchored_insertion(reference, alt) {
            VariantClass::Ins
        } else {
            VariantClass::Complex
        }
    } else if is_anchored_insertion(alt, reference) {
        VariantClass::Del
    } else {
        VariantClass::Complex
    }
}

/// Transition/transversion of `alt` against `reference` (case-insensitive):
/// only a single-base substitution between two of `A`, `C`, `G`, `T` has one.
pub fn titv(reference: &[u8], alt: &[u8]) -> TiTv {
    let (&[r], &[a]) = (reference, alt) else {
        return TiTv::NotApplicable;
    };
    match (base_kind(r), base_kind(a)) {
        (Some(x), Some(y)) if !r.eq_ignore_ascii_case(&a) => {
            if x == y {
                TiTv::Transition
            } else {
                TiTv::Transversion
            }
        }
        _ => TiTv::NotApplicable,
    }
}

/// Whether `bases` is a non-empty sequence of `A`, `C`, `G`, `T`, `N` in
/// either case: what REF must be, and what a plain ALT allele is.
pub(crate) fn is_bases(bases: &[u8]) -> bool {
    !bases.is_empty()
        && bases.iter().all(|b| {
            matches!(
                b,
                b'A' | b'C' | b'G' | b'T' | b'N' | b'a' | b'c' | b'g' | b't' | b'n'
            )
        })
}

#[derive(PartialEq, Eq)]
enum Kind {
    Purine,
    Pyrimidine,
}

fn base_kind(base: u8) -> Option<Kind> {
    match base.to_ascii_uppercase() {
        b'A' | b'G' => Some(Kind::Purine),
        b'C' | b'T' => Some(Kind::Pyrimidine),
        _ => None,
    }
}

/// Whether `long` is `short` with bases inserted after at least its first
/// base: `long = short[..k] + inserted + short[k..]` for some `k >= 1`.
/// Requires `long.len() > short.len()`.
fn is_anchored_insertion(short: &[u8], long: &[u8]) -> bool {
    debug_assert!(long.len() > short.len());
    let prefix = short
        .iter()
        .zip(long)
        .take_while(|(s, l)| s.eq_ignore_ascii_case(l))
        .count();
    // The longest common prefix works whenever any split point does: the
    // rest of `short` is then a suffix of `long` as well.
    prefix >= 1
        && long[long.len() - (short.len() - prefix)..].eq_ignore_ascii_case(&short[prefix..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vc(r: &str, a: &str) -> &'static str {
        classify(r.as_bytes(), a.as_bytes()).as_str()
    }

    fn tt(r: &str, a: &str) -> &'static str {
        titv(r.as_bytes(), a.as_bytes()).as_str()
    }

    #[test]
    fn snv_and_mnv() {
        assert_eq!(vc("A", "G"), "SNV");
        assert_eq!(vc("a", "T"), "SNV");
        assert_eq!(vc("N", "A"), "SNV");
        assert_eq!(vc("AC", "GT"), "MNV");
        assert_eq!(vc("CC", "TC"), "MNV");
        assert_eq!(vc("ACG", "ACT"), "MNV");
    }

    #[test]
    fn same_as_ref_is_other() {
        assert_eq!(vc("A", "A"), "OTHER");
        assert_eq!(vc("A", "a"), "OTHER");
        assert_eq!(vc("AC", "ac"), "OTHER");
    }

    #[test]
    fn insertions() {
        assert_eq!(vc("C", "CC"), "INS");
        assert_eq!(vc("A", "ACACA"), "INS");
        assert_eq!(vc("ACA", "ACACA"), "INS");
        assert_eq!(vc("CA", "CCA"), "INS");
        assert_eq!(vc("TA", "TCCA"), "INS");
        assert_eq!(vc("t", "TGG"), "INS");
    }

    #[test]
    fn deletions() {
        assert_eq!(vc("CC", "C"), "DEL");
        assert_eq!(vc("CCC", "C"), "DEL");
        assert_eq!(vc("ACCCCCTCTA", "A"), "DEL");
        assert_eq!(vc("TCCA", "TA"), "DEL");
        assert_eq!(vc("ACAcA", "aca"), "DEL");
    }

    #[test]
    fn complex() {
        // Not anchored on the first base.
        assert_eq!(vc("A", "TA"), "COMPLEX");
        assert_eq!(vc("TA", "A"), "COMPLEX");
        // First base shared, but the rest of REF is not kept.
        assert_eq!(vc("AC", "AGTT"), "COMPLEX");
        assert_eq!(vc("AGTT", "AC"), "COMPLEX");
        assert_eq!(vc("ACG", "TT"), "COMPLEX");
    }

    #[test]
    fn other() {
        for alt in [
            "<DEL>",
            "<INS:ME:ALU>",
            "*",
            ".",
            "G]17:198982]",
            "]13:123456]T",
            "A.",
            ".A",
        ] {
            assert_eq!(vc("A", alt), "OTHER", "{alt}");
        }
    }

    #[test]
    fn transitions_and_transversions() {
        for (r, a) in [
            ("A", "G"),
            ("G", "A"),
            ("C", "T"),
            ("T", "C"),
            ("a", "g"),
            ("c", "T"),
        ] {
            assert_eq!(tt(r, a), "ts", "{r}>{a}");
        }
        for (r, a) in [
            ("A", "C"),
            ("A", "T"),
            ("G", "C"),
            ("G", "T"),
            ("C", "A"),
            ("t", "g"),
        ] {
            assert_eq!(tt(r, a), "tv", "{r}>{a}");
        }
        for (r, a) in [
            ("A", "A"),
            ("A", "N"),
            ("N", "G"),
            ("AC", "GT"),
            ("A", "AC"),
            ("A", "*"),
            ("A", "<DEL>"),
            ("A", "."),
        ] {
            assert_eq!(tt(r, a), ".", "{r}>{a}");
        }
    }
}
