//! Helpers the consequence tests share: reading CSQ back from annotated
//! VCF text the way `bcftools +split-vep` does (field names from the
//! header's `Format: `, entries split on `,` and `|`).

#![allow(dead_code)]

use std::collections::HashMap;

/// One CSQ entry as a map from field name to value.
pub type Entry = HashMap<String, String>;

/// A data line: the columns and its CSQ entries.
pub struct Line {
    pub cols: Vec<String>,
    pub entries: Vec<Entry>,
}

impl Line {
    pub fn info(&self) -> &str {
        &self.cols[7]
    }

    pub fn ref_mismatch(&self) -> bool {
        self.info().split(';').any(|kv| kv == "REF_MISMATCH")
    }

    /// The entries for `allele` (VEP's Allele field).
    pub fn for_allele(&self, allele: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e["Allele"] == allele)
            .collect()
    }

    /// The entry of transcript `feature` for `allele`.
    pub fn entry(&self, allele: &str, feature: &str) -> &Entry {
        self.entries
            .iter()
            .find(|e| e["Allele"] == allele && e["Feature"] == feature)
            .unwrap_or_else(|| {
                panic!(
                    "{}:{} has no {allele} entry for {feature}: {:?}",
                    self.cols[0], self.cols[1], self.entries
                )
            })
    }
}

/// The data lines of an annotated VCF with their CSQ entries, checking
/// that every entry has as many fields as the header declares.
pub fn parse_lines(vcf: &str) -> Vec<Line> {
    let fields: Vec<String> = vcf
        .lines()
        .find_map(|l| l.strip_prefix("##INFO=<ID=CSQ,"))
        .and_then(|l| l.split_once("Format: "))
        .map(|(_, list)| {
            list.trim_end_matches("\">")
                .split('|')
                .map(str::to_owned)
                .collect()
        })
        .expect("a CSQ header line");
    vcf.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<String> = l.split('\t').map(str::to_owned).collect();
            let csq = cols[7]
                .split(';')
                .find_map(|kv| kv.strip_prefix("CSQ="))
                .unwrap_or("");
            let entries = csq
                .split(',')
                .filter(|e| !e.is_empty())
                .map(|e| {
                    let values: Vec<&str> = e.split('|').collect();
                    assert_eq!(values.len(), fields.len(), "{e}");
                    fields
                        .iter()
                        .cloned()
                        .zip(values.into_iter().map(str::to_owned))
                        .collect()
                })
                .collect();
            Line { cols, entries }
        })
        .collect()
}
