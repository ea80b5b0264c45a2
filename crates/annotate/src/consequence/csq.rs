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

use std::fmt::Write as _;

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

/// A CSQ entry being built, naming a field not in the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a field of this CSQ layout")]
pub struct UnknownField(pub String);

/// One CSQ entry (one allele on one feature): values by field name, fields
/// never set rendering as empty.
#[derive(Debug, Clone)]
pub struct CsqEntry<'a> {
    fields: &'a [&'a str],
    values: Vec<String>,
}

impl<'a> CsqEntry<'a> {
    /// An entry with every field of `fields` empty.
    pub fn new(fields: &'a [&'a str]) -> Self {
        CsqEntry {
            fields,
            values: vec![String::new(); fields.len()],
        }
    }

    /// Sets `field` to `value` (raw: escaping happens in
    /// [`CsqEntry::render`]). A field outside the layout is an error rather
    /// than silently dropped, since it means the layout and the annotator
    /// disagree.
    pub fn set(
        &mut self,
        field: &str,
        value: impl Into<String>,
    ) -> Result<&mut Self, UnknownField> {
        let i = self
            .fields
            .iter()
            .position(|f| *f == field)
            .ok_or_else(|| UnknownField(field.to_owned()))?;
        self.values[i] = value.into();
        Ok(self)
    }

    /// The raw value of `field`, if it is in the layout.
    pub fn get(&self, field: &str) -> Option<&str> {
        let i = self.fields.iter().position(|f| *f == field)?;
        Some(&self.values[i])
    }

    /// The entry as it goes into CSQ: each value escaped with
    /// [`escape_value`] (except `Allele`, see there), joined with `|`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, (field, value)) in self.fields.iter().zip(&self.values).enumerate() {
            if i > 0 {
                out.push('|');
            }
            if *field == "Allele" {
                // VEP exempts Allele from the "-" rule: a deletion's allele
                // is written as "-" (VEP's own input format) and must stay.
                escape_into(&mut out, value);
            } else {
                out.push_str(&escape_value(value));
            }
        }
        out
    }
}

/// The entries joined with `,`: the whole value of `INFO/CSQ`.
pub fn join_entries<'e, 'a: 'e>(entries: impl IntoIterator<Item = &'e CsqEntry<'a>>) -> String {
    let mut out = String::new();
    for (i, e) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", e.render());
    }
    out
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

fn escape_into(out: &mut String, value: &str) {
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
    fn entry_missing_fields_are_empty() {
        let mut e = CsqEntry::new(CSQ_FIELDS);
        e.set("Allele", "T").unwrap();
        e.set("Consequence", "missense_variant").unwrap();
        e.set("MANE_SELECT", "NM_000546.6").unwrap();
        let s = e.render();
        let parts: Vec<&str> = s.split('|').collect();
        assert_eq!(parts.len(), CSQ_FIELDS.len());
        assert_eq!(parts[0], "T");
        assert_eq!(parts[1], "missense_variant");
        let last = CSQ_FIELDS.len() - 1;
        assert!(parts[2..last].iter().all(|p| p.is_empty()));
        assert_eq!(parts[last], "NM_000546.6");
        assert_eq!(e.get("Allele"), Some("T"));
        assert_eq!(e.get("nope"), None);
    }

    #[test]
    fn entry_rejects_unknown_field() {
        let mut e = CsqEntry::new(CSQ_FIELDS);
        assert_eq!(e.set("SIFT", "x").unwrap_err(), UnknownField("SIFT".into()));
    }

    #[test]
    fn entries_join_with_comma() {
        let f = ["Allele", "Feature"];
        let mut a = CsqEntry::new(&f);
        a.set("Allele", "A")
            .unwrap()
            .set("Feature", "ENST1")
            .unwrap();
        let mut b = CsqEntry::new(&f);
        b.set("Allele", "A")
            .unwrap()
            .set("Feature", "ENST2,x")
            .unwrap();
        assert_eq!(join_entries([&a, &b]), "A|ENST1,A|ENST2&x");
        assert_eq!(join_entries(std::iter::empty::<&CsqEntry>()), "");
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
        let f = ["Allele", "STRAND", "HGVSc"];
        let mut e = CsqEntry::new(&f);
        e.set("Allele", "-")
            .unwrap()
            .set("STRAND", "-1")
            .unwrap()
            .set("HGVSc", "-")
            .unwrap();
        assert_eq!(e.render(), "-|-1|");
    }

    #[test]
    fn escaped_values_cannot_break_structure() {
        let f = ["Allele", "FLAGS"];
        let mut e = CsqEntry::new(&f);
        e.set("Allele", "A")
            .unwrap()
            .set("FLAGS", "x,y;z|w v\tu")
            .unwrap();
        let s = e.render();
        assert_eq!(s, "A|x&y%3Bz&w_v_u");
        assert!(!s.contains([',', ';', ' ', '\t']));
        assert_eq!(s.matches('|').count(), 1);
    }
}
