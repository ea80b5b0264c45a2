//! One VCF data line, split into borrowed columns and validated.

use crate::classify::is_bases;
use crate::error::snippet;

/// The columns of a data line, borrowed from it. Built by [`Record::parse`],
/// which validates CHROM, POS, REF and ALT; the other columns are carried
/// verbatim.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// CHROM through ALT, tab-separated, exactly as in the input.
    pub(crate) leading: &'a str,
    /// CHROM and POS, tab-separated (the part of `leading` before ID).
    pub(crate) chrom_pos: &'a str,
    /// REF and ALT, tab-separated (the part of `leading` after ID).
    pub(crate) ref_alt: &'a str,
    pub(crate) chrom: &'a str,
    /// POS, a positive integer.
    pub(crate) position: u64,
    pub(crate) reference: &'a str,
    /// The ALT column (comma-separated alleles).
    pub(crate) alt: &'a str,
    pub(crate) qual: &'a str,
    pub(crate) filter: &'a str,
    pub(crate) info: &'a str,
    /// FORMAT and the sample columns, tab-separated, if present.
    pub(crate) trailing: Option<&'a str>,
}

impl<'a> Record<'a> {
    /// Splits and validates a data line (without its terminator).
    ///
    /// # Errors
    /// A message naming the problem: fewer than 8 tab-separated columns,
    /// an empty CHROM, a POS that is not a positive integer, a REF that is
    /// not a sequence of `ACGTN`, or an invalid ALT allele.
    pub(crate) fn parse(line: &'a str) -> Result<Self, String> {
        let mut tabs = [0usize; 8];
        let found = find_tabs(line.as_bytes(), &mut tabs);
        if found < 7 {
            return Err(format!(
                "expected at least 8 tab-separated columns (CHROM POS ID REF ALT QUAL FILTER INFO), found {}",
                found + 1
            ));
        }
        let column = |i: usize| -> &'a str {
            let start = if i == 0 { 0 } else { tabs[i - 1] + 1 };
            let end = if i < found { tabs[i] } else { line.len() };
            &line[start..end]
        };
        let mut record = Record {
            leading: &line[..tabs[4]],
            chrom_pos: &line[..tabs[1]],
            ref_alt: &line[tabs[2] + 1..tabs[4]],
            chrom: column(0),
            position: 0,
            reference: column(3),
            alt: column(4),
            qual: column(5),
            filter: column(6),
            info: column(7),
            trailing: (found == 8).then(|| &line[tabs[7] + 1..]),
        };
        record.position = parse_position(column(1))?;
        record.validate()?;
        Ok(record)
    }

    fn validate(&self) -> Result<(), String> {
        if self.chrom.is_empty() {
            return Err("CHROM is empty".to_string());
        }
        if self.reference.is_empty() {
            return Err("REF is empty".to_string());
        }
        if !is_bases(self.reference.as_bytes()) {
            return Err(format!(
                "REF {:?} is not a sequence of A, C, G, T, N",
                snippet(self.reference)
            ));
        }
        if self.alt.is_empty() {
            return Err("ALT is empty".to_string());
        }
        for allele in self.alts() {
            check_alt_allele(allele)?;
        }
        Ok(())
    }

    /// The ALT alleles (a missing ALT, `.`, is one allele `.`).
    pub(crate) fn alts(&self) -> std::str::Split<'a, char> {
        self.alt.split(',')
    }
}

/// Fills `tabs` with the positions of the first tabs of `line` (at most
/// `tabs.len()`); returns how many it found.
///
/// Eight bytes at a time: the columns are short, so a byte-by-byte scan
/// pays a mispredicted branch at every tab, and a vectorised search its
/// setup for every column.
fn find_tabs(line: &[u8], tabs: &mut [usize; 8]) -> usize {
    const LOW_SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const TABS: u64 = 0x0909_0909_0909_0909;
    let mut found = 0;
    let words = line.chunks_exact(8);
    // The last, short word padded with zero bytes, which are not tabs.
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    for (n, word) in words.chain(std::iter::once(&tail[..])).enumerate() {
        let base = n * 8;
        let bytes = u64::from_le_bytes(word.try_into().expect("words of eight"));
        // A byte of `x` is zero where `word` has a tab. Adding 0x7f to the
        // low seven bits of a byte sets its top bit unless they are zero,
        // and never carries into the next byte: `zero` has the top bit of
        // exactly the zero bytes set.
        let x = bytes ^ TABS;
        let mut zero = !(((x & LOW_SEVEN) + LOW_SEVEN) | x | LOW_SEVEN);
        while zero != 0 {
            tabs[found] = base + (zero.trailing_zeros() / 8) as usize;
            found += 1;
            if found == tabs.len() {
                return found;
            }
            zero &= zero - 1;
        }
    }
    found
}

/// Parses POS: a positive integer, digits only.
fn parse_position(pos: &str) -> Result<u64, String> {
    let mut value: u64 = 0;
    let mut valid = !pos.is_empty();
    for byte in pos.bytes() {
        let digit = byte.wrapping_sub(b'0');
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(v) if digit < 10 => value = v,
            _ => {
                valid = false;
                break;
            }
        }
    }
    if valid && value > 0 {
        Ok(value)
    } else {
        Err(format!("POS {:?} is not a positive integer", snippet(pos)))
    }
}

/// Checks one ALT allele: bases (`ACGTN`, any case), `*`, `.`, a symbolic
/// allele `<ID>`, a breakend (`G]17:198982]`, `[13:123456[T`, `.A`, `A.`).
fn check_alt_allele(allele: &str) -> Result<(), String> {
    let bytes = allele.as_bytes();
    let valid = match bytes {
        [] => return Err("ALT has an empty allele".to_string()),
        b"*" | b"." => true,
        [b'<', inner @ .., b'>'] => {
            !inner.is_empty() && !inner.iter().any(|b| matches!(b, b'<' | b'>'))
        }
        _ if bytes.iter().any(|b| matches!(b, b'[' | b']')) => is_breakend(bytes),
        [b'.', bases @ ..] | [bases @ .., b'.'] => is_bases(bases),
        _ => is_bases(bytes),
    };
    if valid {
        return Ok(());
    }
    let hint = if is_v3_indel(bytes) {
        " (VCFv3.3 indel notation is not supported: convert the file to VCFv4 first)"
    } else {
        ""
    };
    Err(format!("invalid ALT allele {:?}{hint}", snippet(allele)))
}

/// A mate breakend: `t[p[`, `t]p]`, `]p]t` or `[p[t`, with `t` bases and `p`
/// `chrom:pos` (or a symbolic `<ID>:pos`).
fn is_breakend(allele: &[u8]) -> bool {
    let Some(open) = allele.iter().position(|b| matches!(b, b'[' | b']')) else {
        return false;
    };
    let bracket = allele[open];
    let Some(close) = allele[open + 1..]
        .iter()
        .position(|&b| b == bracket)
        .map(|i| open + 1 + i)
    else {
        return false;
    };
    let mate = &allele[open + 1..close];
    let (before, after) = (&allele[..open], &allele[close + 1..]);
    let bases_ok = match (before.is_empty(), after.is_empty()) {
        (false, true) => is_bases(before),
        (true, false) => is_bases(after),
        _ => false,
    };
    bases_ok
        && mate.contains(&b':')
        && !mate.iter().any(|b| matches!(b, b'[' | b']' | b','))
        && !after.iter().chain(before).any(|b| matches!(b, b'[' | b']'))
}

/// VCFv3.3's indel alleles: `D<count>` or `I<bases>`.
fn is_v3_indel(allele: &[u8]) -> bool {
    match allele {
        [b'D', count @ ..] => !count.is_empty() && count.iter().all(u8::is_ascii_digit),
        [b'I', bases @ ..] => is_bases(bases),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_columns() {
        let r = Record::parse("1\t100\trs1\tA\tG,T\t50\tPASS\tDP=3\tGT\t0/1\t1/1").unwrap();
        assert_eq!(r.leading, "1\t100\trs1\tA\tG,T");
        assert_eq!(
            (r.chrom_pos, r.ref_alt, r.position),
            ("1\t100", "A\tG,T", 100)
        );
        assert_eq!((r.chrom, r.reference, r.alt), ("1", "A", "G,T"));
        assert_eq!((r.qual, r.filter, r.info), ("50", "PASS", "DP=3"));
        assert_eq!(r.trailing, Some("GT\t0/1\t1/1"));
        assert_eq!(r.alts().collect::<Vec<_>>(), ["G", "T"]);

        let r = Record::parse("MT\t1\t.\tA\t.\t.\t.\t.").unwrap();
        assert_eq!((r.info, r.trailing), (".", None));
        let r = Record::parse("MT\t1\t.\tA\tC\t.\t.\t.\t").unwrap();
        assert_eq!(r.trailing, Some(""));
    }

    fn error(line: &str) -> String {
        Record::parse(line).unwrap_err()
    }

    #[test]
    fn rejects_bad_columns() {
        assert!(error("1\t100\t.\tA\tG\t.\t.").contains("found 7"));
        assert!(error("").contains("found 1"));
        assert!(error("1 100 . A G . . .").contains("found 1"));
        assert!(error("\t100\t.\tA\tG\t.\t.\t.").contains("CHROM"));
        for pos in ["0", "-1", "x", "", "+5", "1.5", "99999999999999999999999"] {
            assert!(
                error(&format!("1\t{pos}\t.\tA\tG\t.\t.\t.")).contains("POS"),
                "{pos}"
            );
        }
        for reference in ["", "AX", "R", "A C", "*"] {
            assert!(
                error(&format!("1\t1\t.\t{reference}\tG\t.\t.\t.")).contains("REF"),
                "{reference:?}"
            );
        }
    }

    #[test]
    fn alt_alleles() {
        for alt in [
            "G",
            "g",
            "GTN",
            "G,T",
            "*",
            ".",
            "<DEL>",
            "<INS:ME:ALU>",
            "G,<*>",
            "G]17:198982]",
            "]13:123456]T",
            "C[2:321682[",
            "[17:198983[A",
            "A.",
            ".A",
            "N",
        ] {
            assert!(
                Record::parse(&format!("1\t1\t.\tA\t{alt}\t.\t.\t.")).is_ok(),
                "{alt}"
            );
        }
        for alt in [
            "", "G,", ",G", "X", "G T", "<>", "<DEL", "G]17:1", "G]17:1[", "]1:2]", "A]1:2]T", "R",
        ] {
            assert!(
                error(&format!("1\t1\t.\tA\t{alt}\t.\t.\t.")).contains("ALT"),
                "{alt:?}"
            );
        }
        assert!(error("1\t1\t.\tAC\tD1\t.\t.\t.").contains("VCFv3.3 indel"));
        assert!(error("1\t1\t.\tA\tIAC\t.\t.\t.").contains("VCFv3.3 indel"));
    }

    #[test]
    fn tabs_are_found_wherever_they_fall() {
        // 20,000 pseudo-random lines of up to 40 bytes (a fixed seed),
        // against the plain scan.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 41) as usize;
            let line: Vec<u8> = (0..len)
                .map(|i| match (seed >> (i % 60)) & 7 {
                    0 | 1 => b'\t',
                    2 => 0x89, // a tab with the top bit set is not a tab
                    3 => 0x08,
                    _ => b'a' + (i as u8 % 26),
                })
                .collect();
            let expected: Vec<usize> = line
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\t')
                .map(|(i, _)| i)
                .take(8)
                .collect();
            let mut tabs = [0usize; 8];
            let found = find_tabs(&line, &mut tabs);
            assert_eq!(&tabs[..found], &expected[..], "line {line:?}");
        }
    }

    #[test]
    fn positions_are_positive_integers_in_digits() {
        assert_eq!(parse_position("1"), Ok(1));
        assert_eq!(parse_position("0012"), Ok(12));
        assert_eq!(parse_position("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "0",
            "000",
            "-1",
            "+1",
            "1e3",
            " 1",
            "12a",
            "18446744073709551616",
            "1.0",
        ] {
            assert!(parse_position(bad).is_err(), "{bad:?}");
        }
    }
}
