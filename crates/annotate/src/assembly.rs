//! The genome assembly a header line names. A leaf: the tracks read it
//! from their headers, and [`crate::assembly_check`] compares the input's with
//! theirs.

/// The assembly a header value names (a `##reference=` value, a
/// `##contig=<...,assembly=...>` value, ...), by its tokens (runs of letters
/// and digits): `NCBI36`/`hg18`/`b36` is NCBI36, `GRCh37`/`hg19`/`b37`/
/// `hs37d5` is GRCh37, `GRCh38`/`hg38`/`b38`/`hs38DH` is GRCh38,
/// `NCBI35`/`hg17` is NCBI35. `None` when no token names one (e.g. `rCRS`,
/// the mitochondrial reference).
pub(crate) fn assembly_of(value: &str) -> Option<&'static str> {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|token| match token.to_ascii_lowercase().as_str() {
            "ncbi35" | "hg17" | "b35" => Some("NCBI35"),
            "ncbi36" | "grch36" | "hg18" | "b36" => Some("NCBI36"),
            "ncbi37" | "grch37" | "hg19" | "b37" | "hs37" | "hs37d5" => Some("GRCh37"),
            "grch38" | "hg38" | "b38" | "hs38" | "hs38dh" => Some("GRCh38"),
            _ => None,
        })
}

/// The assembly a VCF meta line declares: the value of `##reference=` or
/// `##assembly=`, or the `assembly=` field of a `##contig=<...>` line.
pub(crate) fn assembly_of_meta_line(line: &str) -> Option<&'static str> {
    if let Some(value) = line
        .strip_prefix("##reference=")
        .or_else(|| line.strip_prefix("##assembly="))
    {
        return assembly_of(value);
    }
    let fields = line.strip_prefix("##contig=<")?;
    fields
        .trim_end_matches('>')
        .split(',')
        .find_map(|field| field.strip_prefix("assembly="))
        .and_then(assembly_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (value, expected) in [
            ("human_b36_both.fasta", Some("NCBI36")),
            ("1000GenomesPilot-NCBI36 ", Some("NCBI36")),
            ("file:///ref/hg19.fa", Some("GRCh37")),
            ("GRCh37.p13", Some("GRCh37")),
            ("hs37d5.fa.gz", Some("GRCh37")),
            ("GRCh38", Some("GRCh38")),
            ("rCRS", None),
            ("", None),
            ("ab36x", None),
        ] {
            assert_eq!(assembly_of(value), expected, "{value}");
        }
    }

    #[test]
    fn meta_lines() {
        assert_eq!(
            assembly_of_meta_line("##reference=human_b36_both.fasta"),
            Some("NCBI36")
        );
        assert_eq!(
            assembly_of_meta_line("##contig=<ID=chr1,length=249250621,assembly=GRCh37>"),
            Some("GRCh37")
        );
        assert_eq!(assembly_of_meta_line("##contig=<ID=b36,length=5>"), None);
        assert_eq!(assembly_of_meta_line("##source=hg19tool"), None);
    }
}
