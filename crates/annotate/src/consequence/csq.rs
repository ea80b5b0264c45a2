//! The layout of VEP's `INFO/CSQ` field: which sub-fields, in which order,
//! how the header declares them, and how values are escaped.
//!
//! Sources:
//! - VEP's VCF output (documented on the "Data formats" page of the VEP
//!   manual, <https://www.ensembl.org/info/docs/tools/vep/vep_formats.html#vcfout>,
//!   and implemented in ensembl-vep's `Bio::EnsEMBL::VEP::OutputFactory::VCF`):
//!   CSQ holds comma-separated entries, one per allele and feature; each entry
//!   holds the same `|`-separated fields, in the order the header line names;
//!   an empty value is an empty string.
//! - The field order: that module's fixed VCF columns (`Allele` to
//!   `Existing_variation`) followed by the fields of the enabled flags, in the
//!   order of `@FLAG_FIELDS` in ensembl-vep's `Bio::EnsEMBL::VEP::Constants`
//!   (`DISTANCE`, `STRAND`, `FLAGS` come with every run; then
//!   `--flag_pick`'s `PICK`; then `--symbol`'s
//!   `SYMBOL_SOURCE`, `HGNC_ID`; `--canonical`'s `CANONICAL`;
//!   `--mane_select`'s `MANE_SELECT`), fields already present not repeated.
//!   This is the order `vep --vcf --symbol --canonical --mane_select` writes.
//! - bcftools +split-vep (<https://samtools.github.io/bcftools/howtos/plugin.split-vep.html>)
//!   reads the field names from the header's Description: the text after
//!   `Format: `, split on `|`.

/// The CSQ sub-fields GAS fills, in VEP's order (see the module docs).
pub const CSQ_FIELDS: &[&str] = &[
    "Allele",
    "Consequence",
    "IMPACT",
    "SYMBOL",
    "Gene",
    "Feature_type",
    "Feature",
    "BIOTYPE",
    "EXON",
    "INTRON",
    "HGVSc",
    "HGVSp",
    "cDNA_position",
    "CDS_position",
    "Protein_position",
    "Amino_acids",
    "Codons",
    "Existing_variation",
    "DISTANCE",
    "STRAND",
    "FLAGS",
    "PICK",
    "SYMBOL_SOURCE",
    "HGNC_ID",
    "CANONICAL",
    "MANE_SELECT",
];

/// The start of the CSQ Description. GAS keeps VEP's wording up to
/// `Format: ` (only naming itself) because readers find the field list by
/// that marker: bcftools +split-vep takes what follows `Format: `.
pub const CSQ_DESCRIPTION_PREFIX: &str =
    "Consequence annotations from GAS (Ensembl VEP layout). Format: ";

/// The `##INFO` line declaring CSQ with `fields`, in VEP's form:
/// `##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations
/// from GAS (Ensembl VEP layout). Format: Allele|Consequence|...">`
/// (VEP writes "Consequence annotations from Ensembl VEP. Format: ...").
pub fn info_header_line(fields: &[&str]) -> String {
    format!(
        "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"{CSQ_DESCRIPTION_PREFIX}{}\">",
        fields.join("|")
    )
}

/// A value as VEP writes it inside CSQ, so that it cannot break the VCF
/// INFO column or the CSQ structure.
///
/// The rules, from `output_hash_to_vcf_info_chunk` in ensembl-vep's
/// `Bio::EnsEMBL::VEP::OutputFactory::VCF` (release 107 to current):
/// - a value that is exactly `-` (VEP's "no value") becomes empty;
/// - `,` becomes `&` (multi-valued fields, e.g. `Existing_variation`
///   `rs1&COSV2`, which VEP also joins with `&`);
/// - `;` becomes `%3B`;
/// - each run of whitespace becomes one `_`;
/// - `|` becomes `&`.
///
/// Nothing else changes: `=` is left as is (the module's POD says
/// "`=` ==> %3B", but the code replaces `;`, and VEP output does contain
/// `=`, e.g. in HGVSp `p.Leu2=`), and so are non-ASCII characters (VEP
/// neither encodes nor drops them). Whitespace is Perl's `\s` on ASCII:
/// space, tab, LF, VT, FF, CR.
pub fn escape_value(value: &str) -> String {
    if value == "-" {
        return String::new();
    }
    let mut out = String::with_capacity(value.len());
    escape_into(&mut out, value);
    out
}

fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Appends `value` with [`escape_value`]'s rules except the `-` one (the
/// `Allele` of a deletion is `-` and stays).
pub(crate) fn escape_into(out: &mut String, value: &str) {
    let mut in_space = false;
    for c in value.chars() {
        if is_perl_space(c) {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        match c {
            ',' | '|' => out.push('&'),
            ';' => out.push_str("%3B"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What bcftools +split-vep does with the header: take the Description,
    /// find `Format: `, split the rest on `|`.
    fn split_vep_fields(line: &str) -> Vec<String> {
        let desc = line.split("Description=\"").nth(1).unwrap();
        let desc = desc.strip_suffix("\">").unwrap();
        let (_, list) = desc.split_once("Format: ").unwrap();
        list.split('|').map(str::to_owned).collect()
    }

    #[test]
    fn fields_start_as_vep_vcf_columns() {
        assert_eq!(
            &CSQ_FIELDS[..18],
            &[
                "Allele",
                "Consequence",
                "IMPACT",
                "SYMBOL",
                "Gene",
                "Feature_type",
                "Feature",
                "BIOTYPE",
                "EXON",
                "INTRON",
                "HGVSc",
                "HGVSp",
                "cDNA_position",
                "CDS_position",
                "Protein_position",
                "Amino_acids",
                "Codons",
                "Existing_variation"
            ]
        );
        assert_eq!(
            &CSQ_FIELDS[18..],
            &[
                "DISTANCE",
                "STRAND",
                "FLAGS",
                "PICK",
                "SYMBOL_SOURCE",
                "HGNC_ID",
                "CANONICAL",
                "MANE_SELECT"
            ]
        );
    }

    #[test]
    fn header_line_parses_like_split_vep() {
        let line = info_header_line(CSQ_FIELDS);
        assert!(line.starts_with("##INFO=<ID=CSQ,Number=.,Type=String,Description=\""));
        assert!(line.ends_with("\">"));
        assert_eq!(split_vep_fields(&line), CSQ_FIELDS);
        assert_eq!(
            info_header_line(&["Allele", "Consequence"]),
            "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from GAS \
             (Ensembl VEP layout). Format: Allele|Consequence\">"
        );
    }

    #[test]
    fn escape_comma_becomes_ampersand() {
        assert_eq!(escape_value("rs1,COSV2"), "rs1&COSV2");
    }

    #[test]
    fn escape_semicolon_is_percent_encoded() {
        assert_eq!(escape_value("a;b"), "a%3Bb");
    }

    #[test]
    fn escape_equals_is_kept() {
        assert_eq!(escape_value("p.Leu2="), "p.Leu2=");
    }

    #[test]
    fn escape_pipe_becomes_ampersand() {
        assert_eq!(escape_value("a|b"), "a&b");
    }

    #[test]
    fn escape_whitespace_runs_become_one_underscore() {
        assert_eq!(escape_value("a b"), "a_b");
        assert_eq!(escape_value("a \t\r\n b"), "a_b");
        assert_eq!(escape_value(" x "), "_x_");
    }

    #[test]
    fn escape_non_ascii_is_kept() {
        assert_eq!(escape_value("Sjögren"), "Sjögren");
        // A no-break space is not Perl's ASCII \s.
        assert_eq!(escape_value("a\u{a0}b"), "a\u{a0}b");
    }

    #[test]
    fn escape_dash_is_empty_except_for_allele() {
        assert_eq!(escape_value("-"), "");
        assert_eq!(escape_value("-1"), "-1");
        assert_eq!(escape_value("0"), "0");
        let mut allele = String::new();
        escape_into(&mut allele, "-");
        assert_eq!(allele, "-");
    }

    #[test]
    fn escaped_values_cannot_break_structure() {
        let s = escape_value("x,y;z|w v\tu");
        assert_eq!(s, "x&y%3Bz&w_v_u");
        assert!(!s.contains([',', ';', ' ', '\t', '|']));
    }
}
