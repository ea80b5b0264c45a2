//! Answering a [`Query`] from an index held in memory: the filter is a
//! test on columns (entry conditions decided once per distinct entry
//! set), the count one pass over them, a page a walk along the sort's
//! order from the cursor's key (keyset pagination) until it is full; the
//! page's rows are drawn from their lines in the results file.

use std::fs::File;
use std::io::BufReader;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::build::BuildOptions;
use crate::filter::{clinvar_terms, FilterError, Query, Sort};
use crate::format::{id_hash, Columns, FormatError, NO_IMPACT, NO_SET};
use crate::record::{for_each_entry, Entry, Line};
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
    /// The file is not an index of this format, or is damaged.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The results file is not the one the index was built from.
    #[error("the results file does not match the index ({0})")]
    Stale(String),
    #[error("reading the results: {0}")]
    Io(#[from] std::io::Error),
}

/// An index loaded into memory, with the results file its rows are read
/// from. Shareable between threads; the sort orders are worked out on
/// first use and kept.
#[derive(Debug)]
pub struct Index {
    c: Columns,
    results: File,
    options: BuildOptions,
    /// Each contig's key in either naming style ([`terms::contig_key`]).
    contig_keys: Vec<String>,
    /// Each distinct `Consequence` value's term mask.
    consequence_masks: Vec<i64>,
    /// Each distinct ClinVar value's terms ([`clinvar_terms`]).
    clinvar_terms: Vec<Vec<String>>,
    /// Alleles in position order, and each allele's place in it; `None`
    /// while the file's order is the position order.
    position: Option<(Vec<u32>, Vec<u32>)>,
    /// The orders of the other sorts (gene, impact, frequency).
    orders: [OnceLock<Vec<u32>>; 3],
    /// Each feature's symbol's place among the symbols, sorted.
    symbol_rank: OnceLock<Vec<u32>>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    k: Vec<u64>,
}

fn bad_cursor() -> QueryError {
    QueryError::Filter(FilterError {
        param: "cursor",
        reason: "not a cursor of this query's order (start again without one)".into(),
    })
}

fn empty_none(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// An f64 as a u64 whose order is the numbers' order.
fn ordered_bits(f: f64) -> u64 {
    let bits = f.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Which alleles a query's filter admits, decided column by column.
struct Matcher {
    all: bool,
    /// Per entry set: one of its entries meets every entry condition.
    sets: Option<Vec<bool>>,
    region: Option<(Vec<bool>, u64, u64)>,
    /// Records holding the id, checked against their lines.
    id_records: Option<Vec<u32>>,
    /// Per ClinVar value (`n - 1`): it holds the term.
    clinvar: Option<Vec<bool>>,
    max_af: Option<f64>,
}

impl Index {
    /// Loads the index at `index`, whose rows are the lines of the
    /// results file at `results` (refused if it is not that file).
    pub fn open(index: &Path, results: &Path) -> Result<Index, QueryError> {
        Index::open_with(index, results, BuildOptions::default())
    }

    /// As [`Index::open`], for an index built with `options`.
    pub fn open_with(
        index: &Path,
        results: &Path,
        options: BuildOptions,
    ) -> Result<Index, QueryError> {
        Index::from_files(File::open(index)?, File::open(results)?, options)
    }

    /// As [`Index::open_with`], from open files (read from the start of
    /// `index`; `results` by position).
    pub fn from_files(
        index: File,
        results: File,
        options: BuildOptions,
    ) -> Result<Index, QueryError> {
        let c = Columns::read(BufReader::with_capacity(1 << 16, index))?;
        let len = results.metadata()?.len();
        if len != c.results_len {
            return Err(QueryError::Stale(format!(
                "{len} bytes, the index was built from {}",
                c.results_len
            )));
        }
        let position = (!c.sorted).then(|| {
            let mut order: Vec<u32> = (0..c.allele_record.len() as u32).collect();
            order.sort_by_key(|&a| {
                let r = c.allele_record[a as usize] as usize;
                (c.record_contig[r], c.record_pos[r], a)
            });
            let mut rank = vec![0u32; order.len()];
            for (i, &a) in order.iter().enumerate() {
                rank[a as usize] = i as u32;
            }
            (order, rank)
        });
        Ok(Index {
            contig_keys: c.contigs.iter().map(|n| terms::contig_key(n)).collect(),
            consequence_masks: c
                .consequences
                .iter()
                .map(|v| terms::consequence_mask(v))
                .collect(),
            clinvar_terms: c.clinvars.iter().map(|v| clinvar_terms(v)).collect(),
            c,
            results,
            options,
            position,
            orders: Default::default(),
            symbol_rank: OnceLock::new(),
        })
    }

    /// Variant alleles in the index.
    pub fn len(&self) -> usize {
        self.c.allele_record.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// About how many bytes of memory the loaded index holds.
    pub fn memory_bytes(&self) -> u64 {
        let alleles = self.len() as u64;
        let records = self.c.record_offset.len() as u64;
        let entries = self.c.entry_feature.len() as u64;
        let orders = self.orders.iter().filter(|o| o.get().is_some()).count() as u64
            + if self.position.is_some() { 2 } else { 0 };
        alleles * (4 + 2 + 4 + 2 + 8 + 4 + 4 * orders)
            + records * 24
            + entries * 9
            + self.c.ids.len() as u64 * 8
            + self.c.features.len() as u64 * 96
    }

    /// One page of the variant alleles the query's filter admits.
    pub fn query(&self, query: &Query) -> Result<Answer, QueryError> {
        self.page(query)
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
            let page = self.page(&query)?;
            if !each(&page.variants) {
                return Ok(());
            }
            match page.next {
                Some(next) => query.cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    fn position_rank(&self, allele: u32) -> u32 {
        match &self.position {
            Some((_, rank)) => rank[allele as usize],
            None => allele,
        }
    }

    fn picked_entry(&self, allele: usize) -> Option<usize> {
        let set = self.c.allele_set[allele];
        if set == NO_SET {
            return None;
        }
        let (start, end) = (
            self.c.set_starts[set as usize] as usize,
            self.c.set_starts[set as usize + 1] as usize,
        );
        let pick = self.c.allele_pick[allele] as usize;
        Some(if start + pick < end {
            start + pick
        } else {
            start
        })
    }

    fn symbol_rank(&self) -> &[u32] {
        self.symbol_rank.get_or_init(|| {
            let mut by_symbol: Vec<u32> = (0..self.c.features.len() as u32).collect();
            by_symbol.sort_by(|&a, &b| {
                self.c.features[a as usize]
                    .symbol
                    .cmp(&self.c.features[b as usize].symbol)
            });
            let mut rank = vec![0u32; by_symbol.len()];
            let mut place = 0u32;
            for (i, &f) in by_symbol.iter().enumerate() {
                if i > 0
                    && self.c.features[f as usize].symbol
                        != self.c.features[by_symbol[i - 1] as usize].symbol
                {
                    place += 1;
                }
                rank[f as usize] = place;
            }
            rank
        })
    }

    /// The allele's key in the sort's order: the sort's own value, then
    /// the position order.
    fn key(&self, sort: Sort, allele: u32) -> (u64, u32) {
        let a = allele as usize;
        let primary = match sort {
            Sort::Position => 0,
            Sort::Gene => match self.picked_entry(a) {
                Some(e) => {
                    let f = self.c.entry_feature[e] as usize;
                    if self.c.features[f].symbol.is_empty() {
                        1 << 32
                    } else {
                        self.symbol_rank()[f] as u64
                    }
                }
                None => 1 << 32,
            },
            // Highest first; none last.
            Sort::Impact => match self.picked_entry(a).map(|e| self.c.entry_impact[e]) {
                Some(i) if i != NO_IMPACT => 3 - i.min(3) as u64,
                _ => 4,
            },
            // Rarest first; unknown last (as a frequency of 2).
            Sort::Frequency => {
                let af = self.c.allele_af[a];
                ordered_bits(if af.is_nan() { 2.0 } else { af })
            }
        };
        (primary, self.position_rank(allele))
    }

    /// The alleles in the sort's order.
    fn order(&self, sort: Sort) -> OrderRef<'_> {
        let slot = match sort {
            Sort::Position => {
                return match &self.position {
                    Some((order, _)) => OrderRef::Listed(order),
                    None => OrderRef::Identity(self.len()),
                }
            }
            Sort::Gene => 0,
            Sort::Impact => 1,
            Sort::Frequency => 2,
        };
        OrderRef::Listed(self.orders[slot].get_or_init(|| {
            let mut keyed: Vec<(u64, u32, u32)> = (0..self.len() as u32)
                .map(|a| {
                    let (p, r) = self.key(sort, a);
                    (p, r, a)
                })
                .collect();
            keyed.sort_unstable();
            keyed.into_iter().map(|(_, _, a)| a).collect()
        }))
    }

    fn matcher(&self, query: &Query) -> Result<Matcher, QueryError> {
        let f = &query.filter;
        let c = &self.c;
        let sets = if f.gene.is_some() || f.consequence.is_some() || f.impact.is_some() {
            let gene = f.gene.as_ref();
            let feature_ok: Vec<bool> = c
                .features
                .iter()
                .map(|feat| {
                    gene.as_ref().is_none_or(|g| {
                        feat.symbol.len() >= g.len()
                            && feat.symbol.as_bytes()[..g.len()].eq_ignore_ascii_case(g.as_bytes())
                    })
                })
                .collect();
            let entry_ok = |e: usize| {
                feature_ok[c.entry_feature[e] as usize]
                    && f.consequence.is_none_or(|m| {
                        self.consequence_masks[c.entry_consequence[e] as usize] & m != 0
                    })
                    && f.impact.is_none_or(|i| {
                        c.entry_impact[e] != NO_IMPACT && c.entry_impact[e] as i64 >= i
                    })
            };
            Some(
                c.set_starts
                    .windows(2)
                    .map(|w| (w[0] as usize..w[1] as usize).any(entry_ok))
                    .collect(),
            )
        } else {
            None
        };
        let region = f.region.as_ref().map(|r| {
            (
                self.contig_keys.iter().map(|k| *k == r.contig).collect(),
                r.start,
                r.end,
            )
        });
        let id_records = match &f.id {
            None => None,
            Some(id) => {
                let hash = id_hash(id);
                let from = c.ids.partition_point(|&(h, _)| h < hash);
                let mut records = Vec::new();
                for &(h, record) in &c.ids[from..] {
                    if h != hash {
                        break;
                    }
                    // A hash names candidates; the line says.
                    let text = self.line(record)?;
                    let line = self.parse(record, &text)?;
                    if line.ids().any(|i| i == id) {
                        records.push(record);
                    }
                }
                Some(records)
            }
        };
        let clinvar = f.clinvar.as_ref().map(|term| {
            self.clinvar_terms
                .iter()
                .map(|terms| terms.iter().any(|t| t == term))
                .collect()
        });
        let all = sets.is_none()
            && region.is_none()
            && id_records.is_none()
            && clinvar.is_none()
            && f.max_af.is_none();
        Ok(Matcher {
            all,
            sets,
            region,
            id_records,
            clinvar,
            max_af: f.max_af,
        })
    }

    fn admits(&self, m: &Matcher, allele: u32) -> bool {
        if m.all {
            return true;
        }
        let a = allele as usize;
        let c = &self.c;
        if let Some(sets) = &m.sets {
            let set = c.allele_set[a];
            if set == NO_SET || !sets[set as usize] {
                return false;
            }
        }
        let record = c.allele_record[a];
        if let Some((contigs, start, end)) = &m.region {
            let r = record as usize;
            if !contigs[c.record_contig[r] as usize]
                || c.record_pos[r] < *start
                || c.record_pos[r] > *end
            {
                return false;
            }
        }
        if let Some(records) = &m.id_records {
            if !records.contains(&record) {
                return false;
            }
        }
        if let Some(values) = &m.clinvar {
            let v = c.allele_clinvar[a];
            if v == 0 || !values[v as usize - 1] {
                return false;
            }
        }
        if let Some(max) = m.max_af {
            let af = c.allele_af[a];
            // Unknown is left out, as VEP's filter does.
            if af.is_nan() || af > max {
                return false;
            }
        }
        true
    }

    fn page(&self, query: &Query) -> Result<Answer, QueryError> {
        let matcher = self.matcher(query)?;
        let cursor = match &query.cursor {
            None => None,
            Some(text) => {
                let cursor = decode_cursor(text).ok_or_else(bad_cursor)?;
                if cursor.s != query.sort.as_str() || cursor.k.len() != 2 {
                    return Err(bad_cursor());
                }
                Some((
                    cursor.k[0],
                    u32::try_from(cursor.k[1]).map_err(|_| bad_cursor())?,
                ))
            }
        };
        if let Some(records) = &matcher.id_records {
            // An id names a few records: their alleles are the candidates.
            let mut found: Vec<((u64, u32), u32)> = Vec::new();
            for &record in records {
                let from = self.c.allele_record.partition_point(|&r| r < record);
                let to = self.c.allele_record.partition_point(|&r| r <= record);
                for allele in from as u32..to as u32 {
                    if self.admits(&matcher, allele) {
                        found.push((self.key(query.sort, allele), allele));
                    }
                }
            }
            found.sort_unstable();
            found.dedup();
            let total = found.len() as u64;
            let page: Vec<u32> = found
                .into_iter()
                .filter(|(key, _)| cursor.is_none_or(|c| *key > c))
                .map(|(_, a)| a)
                .take(query.limit + 1)
                .collect();
            return self.answer(query, page, total);
        }
        // Which alleles match, as a bitmap made column by column (None:
        // all do); the count is its population, and a page's walk along
        // the sort's order tests bits.
        let bits = self.match_bits(&matcher);
        let total = match &bits {
            None => self.len() as u64,
            Some(bits) => bits.iter().map(|w| u64::from(w.count_ones())).sum(),
        };
        let mut found = Vec::with_capacity(query.limit + 1);
        if total > 0 {
            let order = self.order(query.sort);
            let from = match cursor {
                None => 0,
                Some(last) => order.partition_point(|a| self.key(query.sort, a) <= last),
            };
            let hit = |a: u32| {
                bits.as_ref()
                    .is_none_or(|b| b[a as usize >> 6] >> (a & 63) & 1 == 1)
            };
            for i in from..order.len() {
                let allele = order.get(i);
                if hit(allele) {
                    found.push(allele);
                    if found.len() > query.limit {
                        break;
                    }
                }
            }
        }
        self.answer(query, found, total)
    }

    /// The alleles `m` admits, bit `a % 64` of word `a / 64` for allele
    /// `a`; `None` when it admits all. Each condition is a tight pass over
    /// its column, the passes ANDed (the id is decided before, by its few
    /// records).
    fn match_bits(&self, m: &Matcher) -> Option<Vec<u64>> {
        if m.all {
            return None;
        }
        let n = self.len();
        let c = &self.c;
        fn words<T: Copy>(column: &[T], test: impl Fn(T) -> bool) -> Vec<u64> {
            column
                .chunks(64)
                .map(|chunk| {
                    chunk
                        .iter()
                        .enumerate()
                        .fold(0u64, |w, (i, &v)| w | u64::from(test(v)) << i)
                })
                .collect()
        }
        let mut passes: Vec<Vec<u64>> = Vec::new();
        if let Some(sets) = &m.sets {
            // Indexed by set + 1, so NO_SET (u32::MAX) wraps to 0: out.
            let mut table = Vec::with_capacity(sets.len() + 1);
            table.push(false);
            table.extend_from_slice(sets);
            passes.push(words(&c.allele_set, |s| table[s.wrapping_add(1) as usize]));
        }
        if let Some((contigs, start, end)) = &m.region {
            passes.push(words(&c.allele_record, |r| {
                let r = r as usize;
                contigs[c.record_contig[r] as usize] && (*start..=*end).contains(&c.record_pos[r])
            }));
        }
        if let Some(values) = &m.clinvar {
            // Indexed by the allele's value number: 0 (none) is out.
            let mut table = Vec::with_capacity(values.len() + 1);
            table.push(false);
            table.extend_from_slice(values);
            passes.push(words(&c.allele_clinvar, |v| table[v as usize]));
        }
        if let Some(max) = m.max_af {
            // NaN (unknown) compares false: out, as VEP's filter has it.
            passes.push(words(&c.allele_af, |af| af <= max));
        }
        let mut bits = passes
            .pop()
            .unwrap_or_else(|| vec![u64::MAX; n.div_ceil(64)]);
        for pass in passes {
            for (w, p) in bits.iter_mut().zip(pass) {
                *w &= p;
            }
        }
        if !n.is_multiple_of(64) {
            if let Some(last) = bits.last_mut() {
                *last &= (1u64 << (n % 64)) - 1;
            }
        }
        Some(bits)
    }

    /// The answer of a page whose rows are `found` (one more than the
    /// limit when there is a next page).
    fn answer(&self, query: &Query, mut found: Vec<u32>, total: u64) -> Result<Answer, QueryError> {
        let next = if found.len() > query.limit {
            found.truncate(query.limit);
            found.last().map(|&a| {
                let (p, r) = self.key(query.sort, a);
                encode_cursor(&Cursor {
                    s: query.sort.as_str().to_string(),
                    k: vec![p, r as u64],
                })
            })
        } else {
            None
        };
        let variants = found
            .into_iter()
            .map(|a| self.variant(a))
            .collect::<Result<_, _>>()?;
        Ok(Answer {
            variants,
            total,
            next,
        })
    }

    /// The line of `record` in the results, without its line break.
    fn line(&self, record: u32) -> Result<String, QueryError> {
        let start = self.c.record_offset[record as usize];
        let end = self
            .c
            .record_offset
            .get(record as usize + 1)
            .copied()
            .unwrap_or(self.c.results_len)
            .max(start);
        // Up to the next record's line (headers never follow data lines,
        // but blank lines may): read that span and cut at the break.
        let len = usize::try_from(end - start)
            .map_err(|_| QueryError::Stale("a line is too long".into()))?;
        let mut buf = vec![0u8; len];
        self.results.read_exact_at(&mut buf, start)?;
        if let Some(at) = memchr::memchr(b'\n', &buf) {
            buf.truncate(at);
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        String::from_utf8(buf).map_err(|_| QueryError::Stale("a line is not UTF-8".into()))
    }

    /// Reads `text` as the line of `record`, checking it is that record.
    fn parse<'t>(&self, record: u32, text: &'t str) -> Result<Line<'t>, QueryError> {
        let line = Line::parse(text).map_err(QueryError::Stale)?;
        let r = record as usize;
        if line.pos != self.c.record_pos[r]
            || line.chrom != self.c.contigs[self.c.record_contig[r] as usize]
        {
            return Err(QueryError::Stale(format!(
                "record {} is not at its offset",
                record + 1
            )));
        }
        Ok(line)
    }

    /// The row of `allele`, drawn from its record's line.
    fn variant(&self, allele: u32) -> Result<Variant, QueryError> {
        let a = allele as usize;
        let record = self.c.allele_record[a];
        let text = self.line(record)?;
        let line = self.parse(record, &text)?;
        let alt_index = self.c.allele_alt[a] as usize;
        let alts = line.alts.split(',').count();
        let alt = line.alts.split(',').nth(alt_index).unwrap_or_default();
        let info = line.info_values(&self.options);
        let mut entries: Vec<Entry> = Vec::new();
        if let Some(csq) = info.csq {
            for_each_entry(&line, csq, &self.c.layout, |i, entry| {
                if i == alt_index {
                    entries.push(entry);
                }
            });
        }
        let pick = self.c.allele_pick[a] as usize;
        let picked = if pick < entries.len() { pick } else { 0 };
        let mut variant = Variant {
            chrom: line.chrom.to_string(),
            pos: line.pos,
            reference: line.reference.to_string(),
            alt: alt.to_string(),
            id: line.ids().next().map(|_| line.id.to_string()),
            gene: None,
            gene_id: None,
            feature: None,
            biotype: None,
            consequence: None,
            impact: None,
            hgvsc: None,
            hgvsp: None,
            clinvar: info.clinvar.map(str::to_string),
            af: info.frequency_of(alt_index, alts),
            transcripts: Vec::with_capacity(entries.len().saturating_sub(1)),
        };
        for (n, e) in entries.iter().enumerate() {
            let t = Transcript {
                gene: empty_none(e.symbol),
                gene_id: empty_none(e.gene),
                feature: empty_none(e.feature),
                biotype: empty_none(e.biotype),
                consequence: empty_none(e.consequence),
                impact: terms::impact_code(e.impact)
                    .and_then(terms::impact_name)
                    .map(str::to_string),
                hgvsc: empty_none(e.hgvsc),
                hgvsp: empty_none(e.hgvsp),
            };
            if n == picked {
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
        Ok(variant)
    }
}

/// A sort's order: the file's own, or a list.
enum OrderRef<'a> {
    Identity(usize),
    Listed(&'a [u32]),
}

impl OrderRef<'_> {
    fn len(&self) -> usize {
        match self {
            OrderRef::Identity(n) => *n,
            OrderRef::Listed(list) => list.len(),
        }
    }

    fn get(&self, i: usize) -> u32 {
        match self {
            OrderRef::Identity(_) => i as u32,
            OrderRef::Listed(list) => list[i],
        }
    }

    /// The first place whose allele is not `before` (which holds for a
    /// prefix of the order).
    fn partition_point(&self, before: impl Fn(u32) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(self.get(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
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
