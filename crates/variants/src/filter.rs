//! What a query asks, parsed from the contract's parameters (`gene`,
//! `consequence`, `impact`, `region`, `id`, `clinvar`, `max_af`, `sort`,
//! `limit`, `cursor`) into typed values; a bad value is a [`FilterError`]
//! naming the parameter and why.

use serde::Deserialize;

use crate::terms;

/// A page holds this many variants unless the query says otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most a page may hold.
pub const MAX_LIMIT: usize = 500;

/// The query's parameters as they arrive (a URL's query string).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Params {
    pub gene: Option<String>,
    pub consequence: Option<String>,
    pub impact: Option<String>,
    pub region: Option<String>,
    pub id: Option<String>,
    pub clinvar: Option<String>,
    pub max_af: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A bad parameter: which one and why (the API's 400 reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct FilterError {
    pub param: &'static str,
    pub reason: String,
}

fn bad(param: &'static str, reason: impl Into<String>) -> FilterError {
    FilterError {
        param,
        reason: reason.into(),
    }
}

/// `chr:start-end` (1-based, inclusive), `chr:pos` or a whole `chr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The contig in either naming style, as [`terms::contig_key`] makes it.
    pub contig: String,
    pub start: u64,
    pub end: u64,
}

impl Region {
    pub fn parse(text: &str) -> Result<Region, FilterError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("region", "empty; expected chr:start-end"));
        }
        let number = |s: &str| -> Result<u64, FilterError> {
            let digits: String = s.trim().chars().filter(|c| *c != ',').collect();
            match digits.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(bad(
                    "region",
                    format!("{s:?} is not a position (a whole number from 1)"),
                )),
            }
        };
        let (contig, start, end) = match text.rsplit_once(':') {
            Some((contig, range)) => match range.split_once('-') {
                Some((a, b)) => (contig, number(a)?, number(b)?),
                None => {
                    let p = number(range)?;
                    (contig, p, p)
                }
            },
            None => (text, 1, u64::MAX),
        };
        if contig.is_empty() {
            return Err(bad("region", "no contig; expected chr:start-end"));
        }
        if end < start {
            return Err(bad(
                "region",
                format!("the end {end} is before the start {start}"),
            ));
        }
        Ok(Region {
            contig: terms::contig_key(contig),
            start,
            end,
        })
    }
}

/// The filter's conditions. Entry conditions (`gene`, `consequence`,
/// `impact`) must be met by one CSQ entry of the allele together, as VEP's
/// filter tool reads them; the others are of the allele.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// A prefix of the entry's gene symbol, ASCII case-insensitive.
    pub gene: Option<String>,
    /// The entry has any of these terms (a mask of [`terms::CONSEQUENCES`]).
    pub consequence: Option<i64>,
    /// The entry's impact is at least this code ([`terms::IMPACTS`]).
    pub impact: Option<i64>,
    pub region: Option<Region>,
    /// One of the record's ids (the ID column, `;`-separated), exactly.
    pub id: Option<String>,
    /// One of the allele's ClinVar significance terms, case-insensitive,
    /// `_` and space alike (`pathogenic` matches `Pathogenic/Likely_pathogenic`).
    pub clinvar: Option<String>,
    /// The allele's frequency is known and at most this.
    pub max_af: Option<f64>,
}

/// The table's orders; each ends with the position order, so it is total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Position,
    /// The picked entry's gene symbol; alleles without one last.
    Gene,
    /// The picked entry's impact, highest first; alleles without one last.
    Impact,
    /// The allele's frequency, rarest first; unknown last.
    Frequency,
}

impl Sort {
    pub fn parse(text: &str) -> Result<Sort, FilterError> {
        match text {
            "position" => Ok(Sort::Position),
            "gene" => Ok(Sort::Gene),
            "impact" => Ok(Sort::Impact),
            "frequency" => Ok(Sort::Frequency),
            _ => Err(bad(
                "sort",
                format!("{text:?} is not one of position, gene, impact, frequency"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Position => "position",
            Sort::Gene => "gene",
            Sort::Impact => "impact",
            Sort::Frequency => "frequency",
        }
    }
}

/// One page's question.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Filter,
    pub sort: Sort,
    pub limit: usize,
    /// Where the previous page ended (opaque, from [`crate::Answer::next`]).
    pub cursor: Option<String>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            filter: Filter::default(),
            sort: Sort::default(),
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn plain_text(param: &'static str, value: &str, max: usize) -> Result<String, FilterError> {
    if value.len() > max {
        return Err(bad(param, format!("longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(bad(param, "holds control characters"));
    }
    Ok(value.to_string())
}

impl Query {
    /// The query the parameters ask; empty parameters are absent.
    pub fn from_params(params: &Params) -> Result<Query, FilterError> {
        let mut filter = Filter::default();
        if let Some(gene) = present(&params.gene) {
            filter.gene = Some(plain_text("gene", gene, 100)?);
        }
        if let Some(list) = present(&params.consequence) {
            let mut mask = 0i64;
            for term in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                match terms::consequence_bit(term) {
                    Some(bit) => mask |= 1i64 << bit,
                    None => {
                        return Err(bad(
                            "consequence",
                            format!("{term:?} is not a Sequence Ontology term VEP reports"),
                        ))
                    }
                }
            }
            if mask == 0 {
                return Err(bad("consequence", "no term given"));
            }
            filter.consequence = Some(mask);
        }
        if let Some(impact) = present(&params.impact) {
            filter.impact = Some(terms::impact_code(impact).ok_or_else(|| {
                bad(
                    "impact",
                    format!("{impact:?} is not one of HIGH, MODERATE, LOW, MODIFIER"),
                )
            })?);
        }
        if let Some(region) = present(&params.region) {
            filter.region = Some(Region::parse(region)?);
        }
        if let Some(id) = present(&params.id) {
            if id.contains(';') {
                return Err(bad("id", "one id at a time"));
            }
            filter.id = Some(plain_text("id", id, 200)?);
        }
        if let Some(clinvar) = present(&params.clinvar) {
            let ok = clinvar
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '-'));
            if !ok || clinvar.len() > 100 {
                return Err(bad(
                    "clinvar",
                    "a ClinVar significance term: letters, digits, '_', '-' and spaces",
                ));
            }
            filter.clinvar = Some(clinvar_term(clinvar));
        }
        if let Some(af) = present(&params.max_af) {
            match af.parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => filter.max_af = Some(v),
                _ => return Err(bad("max_af", format!("{af:?} is not a number from 0 to 1"))),
            }
        }
        let sort = match present(&params.sort) {
            Some(s) => Sort::parse(s)?,
            None => Sort::default(),
        };
        let limit = match present(&params.limit) {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "limit",
                        format!("{l:?} is not a whole number from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        Ok(Query {
            filter,
            sort,
            limit,
            cursor: present(&params.cursor).map(str::to_string),
        })
    }
}

/// A ClinVar significance term as the index compares it: lower case, `_`
/// for spaces.
pub fn clinvar_term(text: &str) -> String {
    text.trim().to_ascii_lowercase().replace(' ', "_")
}

/// The terms of a ClinVar significance value (`CLNSIG`), as
/// [`clinvar_term`] makes them: ClinVar joins several with `/`, `,`, `|`
/// or `&`.
pub fn clinvar_terms(value: &str) -> Vec<String> {
    value
        .split(['/', ',', '|', '&'])
        .map(clinvar_term)
        .filter(|t| !t.is_empty() && t != ".")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(f: impl FnOnce(&mut Params)) -> Params {
        let mut p = Params::default();
        f(&mut p);
        p
    }

    #[test]
    fn regions() {
        let r = Region::parse("chr17:41,100,000-41,300,000").unwrap();
        assert_eq!(
            (r.contig.as_str(), r.start, r.end),
            ("17", 41_100_000, 41_300_000)
        );
        let r = Region::parse("chrM:100").unwrap();
        assert_eq!((r.contig.as_str(), r.start, r.end), ("MT", 100, 100));
        let r = Region::parse("X").unwrap();
        assert_eq!((r.start, r.end), (1, u64::MAX));
        for bad in ["", ":1-2", "1:0-5", "1:5-2", "1:a-b", "1:-3", "1:3-"] {
            assert!(Region::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let cases: Vec<(Params, &str)> = vec![
            (
                params(|p| p.consequence = Some("missense,nope".into())),
                "consequence",
            ),
            (params(|p| p.impact = Some("SEVERE".into())), "impact"),
            (params(|p| p.region = Some("1:9-2".into())), "region"),
            (params(|p| p.max_af = Some("1.5".into())), "max_af"),
            (params(|p| p.max_af = Some("NaN".into())), "max_af"),
            (params(|p| p.sort = Some("random".into())), "sort"),
            (params(|p| p.limit = Some("0".into())), "limit"),
            (params(|p| p.limit = Some("501".into())), "limit"),
            (params(|p| p.clinvar = Some("x' OR 1=1".into())), "clinvar"),
            (params(|p| p.id = Some("rs1;rs2".into())), "id"),
        ];
        for (p, param) in cases {
            let e = Query::from_params(&p).unwrap_err();
            assert_eq!(e.param, param, "{p:?}");
            assert!(!e.reason.is_empty());
        }
    }

    #[test]
    fn good_values() {
        let q = Query::from_params(&params(|p| {
            p.consequence = Some("missense_variant, stop_gained".into());
            p.impact = Some("moderate".into());
            p.limit = Some("500".into());
            p.sort = Some("impact".into());
            p.gene = Some(" ".into());
        }))
        .unwrap();
        assert_eq!(q.filter.consequence, Some((1 << 12) | (1 << 3)));
        assert_eq!(q.filter.impact, Some(2));
        assert_eq!(q.filter.gene, None);
        assert_eq!((q.limit, q.sort), (500, Sort::Impact));
        assert_eq!(
            clinvar_terms("Pathogenic/Likely_pathogenic,Conflicting interpretations"),
            vec![
                "pathogenic",
                "likely_pathogenic",
                "conflicting_interpretations"
            ]
        );
    }
}
