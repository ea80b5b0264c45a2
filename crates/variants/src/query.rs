//! Answering a [`Query`] from an index file: one SQL statement made of
//! fixed fragments, every value a bound parameter; keyset pagination on
//! the sort's key, whose last values the cursor carries.

use std::path::Path;

use base64::Engine;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::build::{join_hgvs, FORMAT_VERSION};
use crate::filter::{FilterError, Query, Sort};
use crate::terms;

/// One variant allele: its record's fields, the picked CSQ entry's (the
/// one with `PICK=1`, else the first), the copied track fields, and the
/// allele's other entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub chrom: String,
    pub pos: u64,
    #[serde(rename = "ref")]
    pub reference: String,
    pub alt: String,
    /// The ID column, `None` for `.`.
    pub id: Option<String>,
    pub gene: Option<String>,
    pub gene_id: Option<String>,
    pub feature: Option<String>,
    pub biotype: Option<String>,
    pub consequence: Option<String>,
    pub impact: Option<String>,
    pub hgvsc: Option<String>,
    pub hgvsp: Option<String>,
    /// ClinVar significance, as the record has it.
    pub clinvar: Option<String>,
    /// The allele's frequency.
    pub af: Option<f64>,
    /// The allele's entries other than the picked one, in file order.
    pub transcripts: Vec<Transcript>,
}

/// One CSQ entry of an allele.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    pub gene: Option<String>,
    pub gene_id: Option<String>,
    pub feature: Option<String>,
    pub biotype: Option<String>,
    pub consequence: Option<String>,
    pub impact: Option<String>,
    pub hgvsc: Option<String>,
    pub hgvsp: Option<String>,
}

/// A page of the filtered set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub variants: Vec<Variant>,
    /// Variant alleles in the whole filtered set.
    pub total: u64,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter's value is wrong (the API's 400).
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The file is not an index of this format.
    #[error("not a variant index of format {FORMAT_VERSION}")]
    Format,
    #[error("reading the index: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// An open index, read-only.
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    sorted: bool,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    k: Vec<serde_json::Value>,
}

fn bad_cursor() -> QueryError {
    QueryError::Filter(FilterError {
        param: "cursor",
        reason: "not a cursor of this query's order (start again without one)".into(),
    })
}

fn empty_none(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl Index {
    pub fn open(path: &Path) -> Result<Index, QueryError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let meta = |key: &str| -> Result<Option<String>, QueryError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(|_| QueryError::Format)
        };
        if meta("format")?.as_deref() != Some(FORMAT_VERSION) {
            return Err(QueryError::Format);
        }
        let sorted = meta("sorted")?.as_deref() == Some("1");
        Ok(Index { conn, sorted })
    }

    /// The sort's key expressions, ending with the position order.
    fn key(&self, sort: Sort) -> Vec<&'static str> {
        let mut key = match sort {
            Sort::Position => vec![],
            Sort::Gene => vec![
                "(pf.symbol IS NULL OR pf.symbol = '')",
                "coalesce(pf.symbol, '')",
            ],
            Sort::Impact => vec!["-coalesce(v.pick_impact, -1)"],
            Sort::Frequency => vec!["coalesce(v.af, 2.0)"],
        };
        if self.sorted {
            key.push("v.id");
        } else {
            key.extend(["v.contig", "v.pos", "v.id"]);
        }
        key
    }

    /// One page of the variant alleles the query's filter admits.
    pub fn query(&self, query: &Query) -> Result<Answer, QueryError> {
        self.page(query, true)
    }

    /// Every variant allele the query's filter admits, in its order from
    /// its cursor on, handed to `each` a page at a time (memory holds one
    /// page); stops early when `each` answers false.
    pub fn scan(
        &self,
        query: &Query,
        mut each: impl FnMut(&[Variant]) -> bool,
    ) -> Result<(), QueryError> {
        let mut query = Query {
            limit: crate::MAX_LIMIT,
            ..query.clone()
        };
        loop {
            let page = self.page(&query, false)?;
            if !each(&page.variants) {
                return Ok(());
            }
            match page.next {
                Some(next) => query.cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    fn page(&self, query: &Query, with_total: bool) -> Result<Answer, QueryError> {
        let (conditions, mut values) = conditions(query);
        let total: i64 = if with_total {
            self.conn.query_row(
                &format!("SELECT count(*) FROM variants v WHERE {conditions}"),
                rusqlite::params_from_iter(values.iter()),
                |r| r.get(0),
            )?
        } else {
            0
        };

        let key = self.key(query.sort);
        let mut keyset = String::new();
        if let Some(cursor) = &query.cursor {
            let cursor = decode_cursor(cursor).ok_or_else(bad_cursor)?;
            if cursor.s != query.sort.as_str() || cursor.k.len() != key.len() {
                return Err(bad_cursor());
            }
            for v in cursor.k {
                values.push(match v {
                    serde_json::Value::String(s) => Value::Text(s),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => Value::Integer(i),
                        None => Value::Real(n.as_f64().ok_or_else(bad_cursor)?),
                    },
                    _ => return Err(bad_cursor()),
                });
            }
            let marks = vec!["?"; key.len()].join(", ");
            keyset = format!(" AND ({}) > ({marks})", key.join(", "));
        }
        let join = if query.sort == Sort::Gene {
            "LEFT JOIN features pf ON pf.id = v.pick_feature"
        } else {
            ""
        };
        let sql = format!(
            "SELECT v.id, c.name, v.pos, v.ref, v.alt, v.vid, v.pick, v.clinvar, v.af,
                    v.entry_set, {key}
             FROM variants v JOIN contigs c ON c.id = v.contig {join}
             WHERE {conditions}{keyset}
             ORDER BY {key} LIMIT {limit}",
            key = key.join(", "),
            limit = query.limit + 1,
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let mut last_key = Vec::with_capacity(key.len());
            for i in 0..key.len() {
                last_key.push(match row.get::<_, Value>(10 + i)? {
                    Value::Integer(n) => serde_json::Value::from(n),
                    Value::Real(f) => serde_json::Value::from(f),
                    Value::Text(s) => serde_json::Value::from(s),
                    _ => serde_json::Value::Null,
                });
            }
            let variant = Variant {
                chrom: row.get(1)?,
                pos: row.get::<_, i64>(2)? as u64,
                reference: row.get(3)?,
                alt: row.get(4)?,
                id: row.get(5)?,
                gene: None,
                gene_id: None,
                feature: None,
                biotype: None,
                consequence: None,
                impact: None,
                hgvsc: None,
                hgvsp: None,
                clinvar: row.get(7)?,
                af: row.get(8)?,
                transcripts: Vec::new(),
            };
            found.push((
                row.get::<_, i64>(0)?,
                row.get::<_, Option<i64>>(9)?,
                row.get::<_, Option<i64>>(6)?,
                variant,
                last_key,
            ));
        }
        drop(rows);
        let next = if found.len() > query.limit {
            found.truncate(query.limit);
            found.last().map(|(_, _, _, _, k)| {
                encode_cursor(&Cursor {
                    s: query.sort.as_str().to_string(),
                    k: k.clone(),
                })
            })
        } else {
            None
        };
        let mut entries = self.conn.prepare_cached(
            "SELECT e.n, f.symbol, f.gene, f.feature, f.biotype, f.hgvsc_prefix, h.hgvsc,
                    f.hgvsp_prefix, h.hgvsp, c.text, e.impact
             FROM entry_sets e JOIN features f ON f.id = e.feature
                  JOIN consequences c ON c.id = e.csq
                  LEFT JOIN hgvs h ON h.variant = ?2 AND h.n = e.n
             WHERE e.entry_set = ?1 ORDER BY e.n",
        )?;
        let mut variants = Vec::with_capacity(found.len());
        for (id, entry_set, pick, mut variant, _) in found {
            let Some(entry_set) = entry_set else {
                variants.push(variant);
                continue;
            };
            let rows = entries.query_map(params![entry_set, id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Transcript {
                        gene: empty_none(r.get(1)?),
                        gene_id: empty_none(r.get(2)?),
                        feature: empty_none(r.get(3)?),
                        biotype: empty_none(r.get(4)?),
                        hgvsc: empty_none(Some(join_hgvs(r.get(5)?, r.get(6)?))),
                        hgvsp: empty_none(Some(join_hgvs(r.get(7)?, r.get(8)?))),
                        consequence: empty_none(r.get(9)?),
                        impact: r
                            .get::<_, Option<i64>>(10)?
                            .and_then(terms::impact_name)
                            .map(str::to_string),
                    },
                ))
            })?;
            for row in rows {
                let (n, t) = row?;
                if Some(n) == pick {
                    variant.gene = t.gene;
                    variant.gene_id = t.gene_id;
                    variant.feature = t.feature;
                    variant.biotype = t.biotype;
                    variant.consequence = t.consequence;
                    variant.impact = t.impact;
                    variant.hgvsc = t.hgvsc;
                    variant.hgvsp = t.hgvsp;
                } else {
                    variant.transcripts.push(t);
                }
            }
            variants.push(variant);
        }
        Ok(Answer {
            variants,
            total: total as u64,
            next,
        })
    }
}

/// The WHERE clause of the query's filter (over `variants v`) and its
/// bound values, in order.
fn conditions(query: &Query) -> (String, Vec<Value>) {
    let f = &query.filter;
    let mut sql = vec!["1".to_string()];
    let mut values = Vec::new();
    if let Some(region) = &f.region {
        sql.push(
            "v.contig IN (SELECT id FROM contigs WHERE key = ?) AND v.pos BETWEEN ? AND ?".into(),
        );
        values.push(Value::Text(region.contig.clone()));
        values.push(Value::Integer(region.start.min(i64::MAX as u64) as i64));
        values.push(Value::Integer(region.end.min(i64::MAX as u64) as i64));
    }
    if let Some(id) = &f.id {
        sql.push("v.id IN (SELECT variant FROM ids WHERE name = ?)".into());
        values.push(Value::Text(id.clone()));
    }
    if let Some(term) = &f.clinvar {
        sql.push("instr(v.clinvar_terms, ?) > 0".into());
        values.push(Value::Text(format!("|{term}|")));
    }
    if let Some(af) = f.max_af {
        sql.push("v.af <= ?".into());
        values.push(Value::Real(af));
    }
    let mut entry = Vec::new();
    if let Some(gene) = &f.gene {
        entry.push("f.symbol LIKE ? ESCAPE '\\'");
        let mut pattern = String::with_capacity(gene.len() + 1);
        for c in gene.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        values.push(Value::Text(pattern));
    }
    if let Some(mask) = f.consequence {
        entry.push("e.csq IN (SELECT id FROM consequences WHERE mask & ? != 0)");
        values.push(Value::Integer(mask));
    }
    if let Some(impact) = f.impact {
        entry.push("e.impact >= ?");
        values.push(Value::Integer(impact));
    }
    if !entry.is_empty() {
        // Over the distinct entry sets (a small table), once per query.
        sql.push(format!(
            "v.entry_set IN (SELECT e.entry_set FROM entry_sets e
                             JOIN features f ON f.id = e.feature WHERE {})",
            entry.join(" AND ")
        ));
    }
    (sql.join(" AND "), values)
}

fn encode_cursor(cursor: &Cursor) -> String {
    let json = serde_json::to_vec(cursor).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(text: &str) -> Option<Cursor> {
    if text.len() > 4096 {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The columns of a TSV export, in order: the allele and its picked entry.
pub const TSV_COLUMNS: &[&str] = &[
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "gene",
    "gene_id",
    "feature",
    "biotype",
    "consequence",
    "impact",
    "hgvsc",
    "hgvsp",
    "clinvar",
    "af",
    "transcripts",
];

/// The TSV header line (with its newline).
pub fn tsv_header() -> String {
    format!("{}\n", TSV_COLUMNS.join("\t"))
}

/// One variant as a TSV line (with its newline): empty for none; tabs
/// and line breaks inside a value become spaces; `transcripts` is the
/// number of the allele's other entries.
pub fn tsv_line(v: &Variant) -> String {
    fn clean(s: &str) -> String {
        s.replace(['\t', '\n', '\r'], " ")
    }
    let opt = |s: &Option<String>| s.as_deref().map(clean).unwrap_or_default();
    let fields = [
        clean(&v.chrom),
        v.pos.to_string(),
        opt(&v.id),
        clean(&v.reference),
        clean(&v.alt),
        opt(&v.gene),
        opt(&v.gene_id),
        opt(&v.feature),
        opt(&v.biotype),
        opt(&v.consequence),
        opt(&v.impact),
        opt(&v.hgvsc),
        opt(&v.hgvsp),
        opt(&v.clinvar),
        v.af.map(|a| a.to_string()).unwrap_or_default(),
        v.transcripts.len().to_string(),
    ];
    format!("{}\n", fields.join("\t"))
}
