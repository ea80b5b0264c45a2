//! Building a job's index from its annotated VCF: one pass over the
//! records, written into a fresh SQLite file beside the destination, moved
//! into place when whole.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use rusqlite::{params, Connection, Statement};

use crate::filter::clinvar_terms;
use crate::terms;

/// The index's format; a reader refuses any other.
pub const FORMAT_VERSION: &str = "1";

/// The schema (see `docs/DESIGN-NOTES.md`, "Variant index").
pub(crate) const SCHEMA: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE contigs(id INTEGER PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL);
CREATE TABLE consequences(id INTEGER PRIMARY KEY, text TEXT NOT NULL, mask INTEGER NOT NULL);
CREATE TABLE features(
    id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, gene TEXT NOT NULL,
    feature TEXT NOT NULL, biotype TEXT NOT NULL,
    hgvsc_prefix TEXT, hgvsp_prefix TEXT);
CREATE TABLE variants(
    id INTEGER PRIMARY KEY, contig INTEGER NOT NULL, pos INTEGER NOT NULL,
    ref TEXT NOT NULL, alt TEXT NOT NULL, vid TEXT, entry_set INTEGER,
    pick INTEGER, pick_feature INTEGER, pick_impact INTEGER,
    af REAL, clinvar TEXT, clinvar_terms TEXT);
CREATE TABLE entry_sets(
    entry_set INTEGER NOT NULL, n INTEGER NOT NULL, feature INTEGER NOT NULL,
    csq INTEGER NOT NULL, impact INTEGER,
    PRIMARY KEY(entry_set, n)) WITHOUT ROWID;
CREATE TABLE hgvs(
    variant INTEGER NOT NULL, n INTEGER NOT NULL, hgvsc TEXT, hgvsp TEXT,
    PRIMARY KEY(variant, n)) WITHOUT ROWID;
CREATE TABLE ids(name TEXT NOT NULL, variant INTEGER NOT NULL,
    PRIMARY KEY(name, variant)) WITHOUT ROWID;
";

/// Which INFO keys hold the copied track fields the table shows and
/// filters: the first key present on a record wins.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// ClinVar significance (ClinVar's VCF: `CLNSIG`).
    pub clinvar_keys: Vec<String>,
    /// Allele frequency, one value per ALT (`AF`).
    pub frequency_keys: Vec<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            clinvar_keys: vec!["CLNSIG".into()],
            frequency_keys: vec!["AF".into()],
        }
    }
}

/// What a build wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildSummary {
    /// Records read.
    pub records: u64,
    /// Rows: one per variant allele.
    pub variants: u64,
    /// CSQ entries stored.
    pub entries: u64,
    /// CSQ entries whose `Allele` names no ALT of their record (left out).
    pub unmatched_entries: u64,
    /// The index file's size.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("reading the annotated VCF: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
}

/// VEP's fixed first CSQ columns: the layout assumed when the header
/// declares none.
const FALLBACK_FIELDS: &[&str] = &[
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
];

/// Where the fields the index keeps sit in a CSQ entry.
#[derive(Debug, Clone, Copy)]
struct Layout {
    allele: Option<usize>,
    consequence: Option<usize>,
    impact: Option<usize>,
    symbol: Option<usize>,
    gene: Option<usize>,
    feature: Option<usize>,
    biotype: Option<usize>,
    hgvsc: Option<usize>,
    hgvsp: Option<usize>,
    pick: Option<usize>,
}

impl Layout {
    fn of(fields: &[&str]) -> Layout {
        let at = |name: &str| fields.iter().position(|f| *f == name);
        Layout {
            allele: at("Allele"),
            consequence: at("Consequence"),
            impact: at("IMPACT"),
            symbol: at("SYMBOL"),
            gene: at("Gene"),
            feature: at("Feature"),
            biotype: at("BIOTYPE"),
            hgvsc: at("HGVSc"),
            hgvsp: at("HGVSp"),
            pick: at("PICK"),
        }
    }
}

/// The CSQ field names of a `##INFO=<ID=CSQ,...>` line: what follows
/// `Format: ` in its Description, split on `|`.
fn csq_fields(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix("##INFO=<ID=CSQ,")?;
    let (_, format) = rest.split_once("Format: ")?;
    let end = format.find('"').unwrap_or(format.len());
    Some(
        format[..end]
            .split('|')
            .map(|f| f.trim().to_string())
            .collect(),
    )
}

/// Builds the index of the annotated VCF at `input` (plain or gzip) into
/// `output`, atomically: a temporary file beside it, moved into place.
pub fn build_file(
    input: &Path,
    output: &Path,
    options: &BuildOptions,
) -> Result<BuildSummary, BuildError> {
    let mut file = File::open(input)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    drop(file);
    let file = File::open(input)?;
    // Small pages for small jobs: each table takes at least one page.
    let page_size = if file.metadata()?.len() < 16 << 20 {
        1024
    } else {
        4096
    };
    if n == 2 && magic == [0x1f, 0x8b] {
        let reader = BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        );
        build_paged(reader, output, options, page_size)
    } else {
        build_paged(
            BufReader::with_capacity(1 << 16, file),
            output,
            options,
            page_size,
        )
    }
}

/// As [`build_file`], from a reader of the VCF's text.
pub fn build(
    reader: impl BufRead,
    output: &Path,
    options: &BuildOptions,
) -> Result<BuildSummary, BuildError> {
    build_paged(reader, output, options, 4096)
}

fn build_paged(
    mut reader: impl BufRead,
    output: &Path,
    options: &BuildOptions,
    page_size: u32,
) -> Result<BuildSummary, BuildError> {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".gas-variants-")
        .tempfile_in(dir)?;
    let mut summary = {
        let mut conn = Connection::open(temp.path())?;
        conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let tx = conn.transaction()?;
        let summary = {
            let mut writer = Writer::new(&tx, options)?;
            writer.read_all(&mut reader)?;
            writer.finish()?
        };
        tx.commit()?;
        conn.close().map_err(|(_, e)| e)?;
        summary
    };
    summary.bytes = temp.as_file().metadata()?.len();
    temp.persist(output).map_err(|e| e.error)?;
    Ok(summary)
}

struct Writer<'c> {
    options: &'c BuildOptions,
    layout: Layout,
    contigs: HashMap<String, i64>,
    consequences: HashMap<String, i64>,
    features: HashMap<String, i64>,
    key_buffer: String,
    set_buffer: Vec<(i64, i64, Option<i64>)>,
    insert_contig: Statement<'c>,
    insert_consequence: Statement<'c>,
    insert_feature: Statement<'c>,
    insert_variant: Statement<'c>,
    insert_entry: Statement<'c>,
    insert_hgvs: Statement<'c>,
    /// Distinct entry sets (feature, consequence, impact of each entry).
    entry_sets: HashMap<Vec<(i64, i64, Option<i64>)>, i64>,
    insert_id: Statement<'c>,
    conn: &'c Connection,
    summary: BuildSummary,
    next_variant: i64,
    /// The previous record's contig and position, while the input is in
    /// position order.
    last: Option<(i64, u64)>,
    sorted: bool,
}

/// One entry of a record, before it is stored.
struct Entry<'a> {
    allele: usize,
    fields: Vec<&'a str>,
}

impl<'c> Writer<'c> {
    fn new(conn: &'c Connection, options: &'c BuildOptions) -> Result<Self, BuildError> {
        Ok(Writer {
            options,
            layout: Layout::of(FALLBACK_FIELDS),
            contigs: HashMap::new(),
            consequences: HashMap::new(),
            features: HashMap::new(),
            key_buffer: String::new(),
            set_buffer: Vec::new(),
            insert_contig: conn
                .prepare("INSERT INTO contigs(id, name, key) VALUES (?1, ?2, ?3)")?,
            insert_consequence: conn
                .prepare("INSERT INTO consequences(id, text, mask) VALUES (?1, ?2, ?3)")?,
            insert_feature: conn.prepare(
                "INSERT INTO features(id, symbol, gene, feature, biotype, hgvsc_prefix, hgvsp_prefix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            insert_variant: conn.prepare(
                "INSERT INTO variants(id, contig, pos, ref, alt, vid, entry_set, pick,
                    pick_feature, pick_impact, af, clinvar, clinvar_terms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?,
            insert_entry: conn.prepare(
                "INSERT INTO entry_sets(entry_set, n, feature, csq, impact)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            insert_hgvs: conn
                .prepare("INSERT INTO hgvs(variant, n, hgvsc, hgvsp) VALUES (?1, ?2, ?3, ?4)")?,
            entry_sets: HashMap::new(),
            insert_id: conn.prepare("INSERT OR IGNORE INTO ids(name, variant) VALUES (?1, ?2)")?,
            conn,
            summary: BuildSummary::default(),
            next_variant: 1,
            last: None,
            sorted: true,
        })
    }

    fn read_all(&mut self, reader: &mut impl BufRead) -> Result<(), BuildError> {
        let mut line = Vec::with_capacity(1 << 12);
        let mut number = 0u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            number += 1;
            let text = std::str::from_utf8(&line).map_err(|_| BuildError::Malformed {
                line: number,
                reason: "not UTF-8".into(),
            })?;
            let text = text.trim_end_matches(['\n', '\r']);
            if text.is_empty() {
                continue;
            }
            if let Some(header) = text.strip_prefix('#') {
                if header.starts_with("#INFO=<ID=CSQ,") {
                    if let Some(fields) = csq_fields(text) {
                        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                        self.layout = Layout::of(&fields);
                    }
                }
                continue;
            }
            if let Err(reason) = self.record(text)? {
                return Err(BuildError::Malformed {
                    line: number,
                    reason,
                });
            }
        }
    }

    fn contig_id(&mut self, name: &str) -> rusqlite::Result<(i64, bool)> {
        if let Some(id) = self.contigs.get(name) {
            return Ok((*id, false));
        }
        let id = self.contigs.len() as i64 + 1;
        self.insert_contig
            .execute(params![id, name, terms::contig_key(name)])?;
        self.contigs.insert(name.to_string(), id);
        Ok((id, true))
    }

    fn consequence_id(&mut self, text: &str) -> rusqlite::Result<i64> {
        if let Some(id) = self.consequences.get(text) {
            return Ok(*id);
        }
        let id = self.consequences.len() as i64 + 1;
        self.insert_consequence
            .execute(params![id, text, terms::consequence_mask(text)])?;
        self.consequences.insert(text.to_string(), id);
        Ok(id)
    }

    fn entry_set_id(&mut self, set: &[(i64, i64, Option<i64>)]) -> rusqlite::Result<i64> {
        if let Some(id) = self.entry_sets.get(set) {
            return Ok(*id);
        }
        let id = self.entry_sets.len() as i64 + 1;
        for (n, (feature, consequence, impact)) in set.iter().enumerate() {
            self.insert_entry
                .execute(params![id, n as i64, feature, consequence, impact])?;
        }
        self.entry_sets.insert(set.to_vec(), id);
        Ok(id)
    }

    fn feature_id(
        &mut self,
        names: [&str; 4],
        hgvsc_prefix: Option<&str>,
        hgvsp_prefix: Option<&str>,
    ) -> rusqlite::Result<i64> {
        // One string of every part, each behind a separator no VCF value
        // holds and a marker of absence, reused from record to record.
        let key = &mut self.key_buffer;
        key.clear();
        for part in names {
            key.push('\u{1f}');
            key.push_str(part);
        }
        for prefix in [hgvsc_prefix, hgvsp_prefix] {
            match prefix {
                Some(p) => {
                    key.push('\u{1e}');
                    key.push_str(p);
                }
                None => key.push('\u{1d}'),
            }
        }
        if let Some(id) = self.features.get(key.as_str()) {
            return Ok(*id);
        }
        let id = self.features.len() as i64 + 1;
        self.insert_feature.execute(params![
            id,
            names[0],
            names[1],
            names[2],
            names[3],
            hgvsc_prefix,
            hgvsp_prefix
        ])?;
        self.features.insert(key.clone(), id);
        Ok(id)
    }

    /// Stores one record: `Err(String)` inside is the record's fault.
    fn record(&mut self, line: &str) -> rusqlite::Result<Result<(), String>> {
        let mut cols = line.splitn(9, '\t');
        let (Some(chrom), Some(pos), Some(vid), Some(reference), Some(alts)) = (
            cols.next(),
            cols.next(),
            cols.next(),
            cols.next(),
            cols.next(),
        ) else {
            return Ok(Err("fewer than five columns".into()));
        };
        let info = cols.nth(2).unwrap_or(".");
        let Ok(pos) = pos.parse::<u64>() else {
            return Ok(Err(format!("POS {pos:?} is not a number")));
        };
        self.summary.records += 1;
        let (contig, new) = self.contig_id(chrom)?;
        match self.last {
            Some((c, p)) if c == contig && pos < p => self.sorted = false,
            Some((c, _)) if c != contig && !new => self.sorted = false,
            _ => {}
        }
        self.last = Some((contig, pos));

        let alts: Vec<&str> = alts.split(',').collect();
        let mut csq = None;
        let mut clinvar = None;
        let mut frequency = None;
        for item in info.split(';') {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            if key == "CSQ" {
                csq = Some(value);
            } else if clinvar.is_none() && self.options.clinvar_keys.iter().any(|k| k == key) {
                clinvar = Some(value);
            } else if frequency.is_none() && self.options.frequency_keys.iter().any(|k| k == key) {
                frequency = Some(value);
            }
        }
        let clinvar = clinvar.filter(|v| !v.is_empty() && *v != ".");
        let clinvar_index = clinvar.map(|v| {
            let terms = clinvar_terms(v);
            format!("|{}|", terms.join("|"))
        });
        let frequencies: Vec<&str> = frequency
            .map(|f| f.split(',').collect())
            .unwrap_or_default();

        let forms = allele_forms(reference, &alts);
        let mut entries: Vec<Entry> = Vec::new();
        if let Some(csq) = csq.filter(|c| !c.is_empty()) {
            for text in csq.split(',') {
                let fields: Vec<&str> = text.split('|').collect();
                let allele = self.layout.allele.and_then(|i| fields.get(i)).copied();
                match match_allele(allele.unwrap_or(""), &forms) {
                    Some(i) => entries.push(Entry { allele: i, fields }),
                    None => self.summary.unmatched_entries += 1,
                }
            }
        }
        let ids: Vec<&str> = vid
            .split(';')
            .filter(|i| !i.is_empty() && *i != ".")
            .collect();
        let vid = (!ids.is_empty()).then_some(vid);

        for (i, alt) in alts.iter().enumerate() {
            if alt.is_empty() || *alt == "." {
                continue;
            }
            let variant = self.next_variant;
            self.next_variant += 1;
            let af = match frequencies.len() {
                0 => None,
                1 => frequencies[0].parse::<f64>().ok(),
                n if n == alts.len() => frequencies[i].parse::<f64>().ok(),
                _ => None,
            }
            .filter(|f| f.is_finite());
            let mine: Vec<&Entry> = entries.iter().filter(|e| e.allele == i).collect();
            let layout = self.layout;
            fn field<'a>(e: &Entry<'a>, at: Option<usize>) -> &'a str {
                at.and_then(|i| e.fields.get(i)).copied().unwrap_or("")
            }
            let picked = mine
                .iter()
                .position(|e| field(e, layout.pick) == "1")
                .or((!mine.is_empty()).then_some(0));
            let mut pick_feature = None;
            let mut pick_impact = None;
            let mut set = std::mem::take(&mut self.set_buffer);
            set.clear();
            for (n, e) in mine.iter().enumerate() {
                let (hgvsc_prefix, hgvsc) = split_hgvs(field(e, layout.hgvsc));
                let (hgvsp_prefix, hgvsp) = split_hgvs(field(e, layout.hgvsp));
                let feature = self.feature_id(
                    [
                        field(e, layout.symbol),
                        field(e, layout.gene),
                        field(e, layout.feature),
                        field(e, layout.biotype),
                    ],
                    hgvsc_prefix,
                    hgvsp_prefix,
                )?;
                let consequence = self.consequence_id(field(e, layout.consequence))?;
                let impact = terms::impact_code(field(e, layout.impact));
                if picked == Some(n) {
                    pick_feature = Some(feature);
                    pick_impact = impact;
                }
                set.push((feature, consequence, impact));
                if hgvsc.is_some() || hgvsp.is_some() {
                    self.insert_hgvs
                        .execute(params![variant, n as i64, hgvsc, hgvsp])?;
                }
                self.summary.entries += 1;
            }
            let entry_set = if set.is_empty() {
                None
            } else {
                Some(self.entry_set_id(&set)?)
            };
            self.set_buffer = set;
            self.insert_variant.execute(params![
                variant,
                contig,
                pos as i64,
                reference,
                alt,
                vid,
                entry_set,
                picked.map(|p| p as i64),
                pick_feature,
                pick_impact,
                af,
                clinvar,
                clinvar_index,
            ])?;
            for id in &ids {
                self.insert_id.execute(params![id, variant])?;
            }
            self.summary.variants += 1;
        }
        Ok(Ok(()))
    }

    fn finish(self) -> Result<BuildSummary, BuildError> {
        let conn = self.conn;
        let sorted = if self.sorted { "1" } else { "0" };
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('format', ?1), ('sorted', ?2)",
            params![FORMAT_VERSION, sorted],
        )?;
        if !self.sorted {
            conn.execute_batch("CREATE INDEX variants_position ON variants(contig, pos)")?;
        }
        Ok(self.summary)
    }
}

/// `prefix:rest` → (`Some(prefix)`, `rest`); no colon → (`None`, all).
fn split_hgvs(value: &str) -> (Option<&str>, Option<&str>) {
    if value.is_empty() {
        return (None, None);
    }
    match value.split_once(':') {
        Some((p, r)) => (Some(p), Some(r)),
        None => (None, Some(value)),
    }
}

/// Joins what [`split_hgvs`] split.
pub(crate) fn join_hgvs(prefix: Option<String>, rest: Option<String>) -> String {
    match (prefix, rest) {
        (Some(p), Some(r)) => format!("{p}:{r}"),
        (None, Some(r)) => r,
        (Some(p), None) => format!("{p}:"),
        (None, None) => String::new(),
    }
}

/// How a CSQ `Allele` may name each ALT: VEP's form (the first base
/// dropped from every allele when all share it, `-` when nothing is left),
/// the ALT as written, and the ALT reduced on its own against REF (common
/// suffix, then prefix, removed), as VEP's `--minimal` and GAS write it.
pub(crate) fn allele_forms(reference: &str, alts: &[&str]) -> Vec<[String; 3]> {
    let first = reference.as_bytes().first();
    let shared = first.is_some()
        && alts
            .iter()
            .all(|a| a.as_bytes().first() == first && !a.starts_with('<'));
    alts.iter()
        .map(|alt| {
            let vep = if shared {
                dash(&alt[1..])
            } else {
                alt.to_string()
            };
            [vep, alt.to_string(), minimal(reference, alt)]
        })
        .collect()
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

fn minimal(reference: &str, alt: &str) -> String {
    let (r, a) = (reference.as_bytes(), alt.as_bytes());
    let mut end = 0;
    while end < r.len()
        && end < a.len()
        && r[r.len() - 1 - end].eq_ignore_ascii_case(&a[a.len() - 1 - end])
    {
        end += 1;
    }
    let (r, a) = (&r[..r.len() - end], &a[..a.len() - end]);
    let mut start = 0;
    while start < r.len() && start < a.len() && r[start].eq_ignore_ascii_case(&a[start]) {
        start += 1;
    }
    dash(std::str::from_utf8(&a[start..]).unwrap_or(""))
}

/// The ALT an entry's `Allele` names: the first form (in the order of
/// [`allele_forms`]) that names exactly one ALT; a record of one ALT takes
/// every entry.
pub(crate) fn match_allele(allele: &str, forms: &[[String; 3]]) -> Option<usize> {
    for k in 0..3 {
        let mut hits = forms.iter().enumerate().filter(|(_, f)| f[k] == allele);
        if let (Some((i, _)), None) = (hits.next(), hits.next()) {
            return Some(i);
        }
    }
    (forms.len() == 1).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alleles_match_as_vep_names_them() {
        let forms = allele_forms("C", &["CC", "CCC"]);
        assert_eq!(match_allele("C", &forms), Some(0));
        assert_eq!(match_allele("CC", &forms), Some(1));
        let forms = allele_forms("A", &["G", "C"]);
        assert_eq!(match_allele("C", &forms), Some(1));
        assert_eq!(match_allele("T", &forms), None);
        let forms = allele_forms("ACT", &["A", "AT"]);
        assert_eq!(match_allele("-", &forms), Some(0));
        assert_eq!(match_allele("T", &forms), Some(1));
        let forms = allele_forms("GTCC", &["GTCCTCC"]);
        assert_eq!(match_allele("TCC", &forms), Some(0));
        assert_eq!(minimal("GTCC", "GTCCTCC"), "TCC");
        assert_eq!(minimal("AC", "A"), "-");
    }

    #[test]
    fn hgvs_round_trips() {
        for v in ["", "T1.1:c.3G>A", "odd", "a:b:c"] {
            let (p, r) = split_hgvs(v);
            assert_eq!(join_hgvs(p.map(String::from), r.map(String::from)), v);
        }
    }
}
