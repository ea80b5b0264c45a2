//! Reading an annotated VCF's data line the way the index sees it: the
//! columns it keeps, the INFO values it reads (CSQ, ClinVar, frequency),
//! and each CSQ entry assigned to the ALT it describes. The builder and
//! the page renderer both read lines through here, so an entry the index
//! counted for an allele is the entry the page shows for it.

use gas_annotate::WrittenItem;

use crate::build::BuildOptions;

/// The parts of `text` between `sep`s (as `str::split` with a one-byte
/// ASCII separator, found with SIMD `memchr`).
pub(crate) fn split(text: &str, sep: u8) -> Split<'_> {
    Split {
        text,
        at: 0,
        done: false,
        sep,
    }
}

pub(crate) struct Split<'a> {
    text: &'a str,
    at: usize,
    done: bool,
    sep: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let rest = &self.text.as_bytes()[self.at..];
        let part = match find_byte(self.sep, rest) {
            Some(n) => {
                // The separator is ASCII, so both ends are char boundaries.
                let part = &self.text[self.at..self.at + n];
                self.at += n + 1;
                part
            }
            None => {
                self.done = true;
                &self.text[self.at..]
            }
        };
        Some(part)
    }
}

/// The first `byte` in `haystack`: a plain loop for the short columns
/// and INFO items most searches meet (SIMD `memchr`'s set-up costs more
/// there), `memchr` for the rest.
fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    if haystack.len() < 32 {
        haystack.iter().position(|&b| b == byte)
    } else {
        memchr::memchr(byte, haystack)
    }
}

/// The CSQ fields the index reads, in the order of a [`Layout`]'s
/// positions; a field's code is its place here plus one.
const FIELDS: [&str; 10] = [
    "Allele",
    "Consequence",
    "IMPACT",
    "SYMBOL",
    "Gene",
    "Feature",
    "BIOTYPE",
    "HGVSc",
    "HGVSp",
    "PICK",
];

/// Where the fields the index reads sit in a CSQ entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Each of [`FIELDS`]' position in an entry, if the entry has it.
    positions: [Option<usize>; 10],
    /// The code of the field at each of the first [`SLOTS`] positions (0
    /// for none): one lookup per field while reading an entry.
    slots: [u8; SLOTS],
    /// The last position read; later fields are skipped.
    last: usize,
}

/// Positions with a slot; a field further on is found by comparison.
const SLOTS: usize = 64;

/// A CSQ whose header declares no layout is read as GAS writes it
/// (whose first fields are VEP's fixed ones).
impl Default for Layout {
    fn default() -> Self {
        Layout::of(gas_annotate::consequence::csq::CSQ_FIELDS)
    }
}

impl Layout {
    pub(crate) fn of(fields: &[&str]) -> Layout {
        Layout::of_positions(FIELDS.map(|name| fields.iter().position(|f| *f == name)))
    }

    /// The layout a `##INFO=<ID=CSQ,...>` header line declares: what
    /// follows `Format: ` in its Description, split on `|`.
    pub(crate) fn of_header(line: &str) -> Option<Layout> {
        let rest = line.strip_prefix("##INFO=<ID=CSQ,")?;
        let (_, format) = rest.split_once("Format: ")?;
        let end = format.find('"').unwrap_or(format.len());
        let fields: Vec<&str> = format[..end].split('|').map(str::trim).collect();
        Some(Layout::of(&fields))
    }

    /// Each of [`FIELDS`]' position (how an index file stores a layout).
    pub(crate) fn positions(&self) -> [Option<usize>; 10] {
        self.positions
    }

    pub(crate) fn of_positions(positions: [Option<usize>; 10]) -> Layout {
        let mut slots = [0u8; SLOTS];
        for (code, at) in positions.iter().enumerate() {
            if let Some(slot) = at.and_then(|i| slots.get_mut(i)) {
                *slot = code as u8 + 1;
            }
        }
        Layout {
            positions,
            slots,
            last: positions.iter().flatten().copied().max().unwrap_or(0),
        }
    }

    /// The code of the field at position `i`, 0 for none.
    fn code(&self, i: usize) -> u8 {
        match self.slots.get(i) {
            Some(&code) => code,
            None => self
                .positions
                .iter()
                .position(|p| *p == Some(i))
                .map_or(0, |c| c as u8 + 1),
        }
    }
}

/// The columns of a data line the index reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub chrom: &'a str,
    pub pos: u64,
    pub id: &'a str,
    pub reference: &'a str,
    pub alts: &'a str,
    pub info: &'a str,
}

impl<'a> Line<'a> {
    /// Splits a data line (without its line break); `Err` says why it is
    /// not one.
    pub(crate) fn parse(line: &'a str) -> Result<Line<'a>, String> {
        let mut cols = split(line, b'\t');
        let (Some(chrom), Some(pos), Some(id), Some(reference), Some(alts)) = (
            cols.next(),
            cols.next(),
            cols.next(),
            cols.next(),
            cols.next(),
        ) else {
            return Err("fewer than five columns".into());
        };
        let info = cols.nth(2).unwrap_or(".");
        let Ok(pos) = pos.parse::<u64>() else {
            return Err(format!("POS {pos:?} is not a number"));
        };
        Ok(Line {
            chrom,
            pos,
            id,
            reference,
            alts,
            info,
        })
    }

    /// The record's ids (the ID column split on `;`, without `.`).
    pub(crate) fn ids(&self) -> impl Iterator<Item = &'a str> {
        split(self.id, b';').filter(|i| !i.is_empty() && *i != ".")
    }

    /// The INFO values the index reads: the first key present of each of
    /// the options' lists.
    pub(crate) fn info_values(&self, options: &BuildOptions) -> InfoValues<'a> {
        let mut values = InfoValues::default();
        values.take_items(self.info, options);
        values.finish()
    }
}

impl<'a> InfoValues<'a> {
    /// The values of a record whose CSQ value the annotator wrote, from
    /// its other INFO items with the keys `keys`, as the annotator noted
    /// them (their values' places are in `line`). Items with
    /// other keys are not needed: they change none of the values. The
    /// answer's `csq` is another CSQ item's value, when the record has
    /// one besides the annotator's; the annotator's own is not read here.
    pub(crate) fn noted(
        line: &'a str,
        items: &[WrittenItem],
        keys: &[String],
        options: &BuildOptions,
    ) -> Result<InfoValues<'a>, String> {
        let mut values = InfoValues::default();
        for item in items {
            let key = keys
                .get(item.key as usize)
                .ok_or("an INFO item of an unknown key")?;
            let value = line
                .get(item.start as usize..item.end as usize)
                .ok_or("an INFO item outside its line")?;
            values.take_item(key, value, options);
        }
        Ok(values.finish())
    }

    /// Takes INFO `items` (`KEY=VALUE` or `FLAG`, `;`-separated) in
    /// order: the last CSQ, and the first of each options' list.
    fn take_items(&mut self, items: &'a str, options: &BuildOptions) {
        for item in split(items, b';') {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            self.take_item(key, value, options);
        }
    }

    /// Takes one INFO item: the last CSQ, the first of each options' list.
    fn take_item(&mut self, key: &str, value: &'a str, options: &BuildOptions) {
        if key == "CSQ" {
            self.csq = Some(value);
        } else if self.clinvar.is_none() && options.clinvar_keys.iter().any(|k| k == key) {
            self.clinvar = Some(value);
        } else if self.frequency.is_none() && options.frequency_keys.iter().any(|k| k == key) {
            self.frequency = Some(value);
        }
    }

    /// The INFO keys [`InfoValues`] reads, for an annotator to note.
    pub(crate) fn keys(options: &BuildOptions) -> Vec<String> {
        let mut keys = vec!["CSQ".to_string()];
        for key in options.clinvar_keys.iter().chain(&options.frequency_keys) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        keys
    }

    /// Empty values are none; ClinVar's `.` is none.
    fn finish(mut self) -> InfoValues<'a> {
        self.csq = self.csq.filter(|v| !v.is_empty());
        self.clinvar = self.clinvar.filter(|v| !v.is_empty() && *v != ".");
        self
    }
}

/// A record's INFO values the index reads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InfoValues<'a> {
    pub csq: Option<&'a str>,
    pub clinvar: Option<&'a str>,
    pub frequency: Option<&'a str>,
}

impl InfoValues<'_> {
    /// The frequency of ALT `i` of `alts`: one value for all, or one per
    /// ALT; anything else (or not a finite number) is unknown.
    pub(crate) fn frequency_of(&self, i: usize, alts: usize) -> Option<f64> {
        let text = self.frequency?;
        let value = if !text.contains(',') {
            Some(text)
        } else {
            let count = text.split(',').count();
            (count == alts).then(|| text.split(',').nth(i)).flatten()
        };
        value
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|f| f.is_finite())
    }
}

/// One CSQ entry's fields the index reads (empty when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub allele: &'a str,
    pub consequence: &'a str,
    pub impact: &'a str,
    pub symbol: &'a str,
    pub gene: &'a str,
    pub feature: &'a str,
    pub biotype: &'a str,
    pub hgvsc: &'a str,
    pub hgvsp: &'a str,
    pub pick: bool,
}

impl<'a> Entry<'a> {
    /// Sets the field a [`Layout::code`] names (in [`FIELDS`]' order).
    fn set(&mut self, code: u8, value: &'a str) {
        match code {
            1 => self.allele = value,
            2 => self.consequence = value,
            3 => self.impact = value,
            4 => self.symbol = value,
            5 => self.gene = value,
            6 => self.feature = value,
            7 => self.biotype = value,
            8 => self.hgvsc = value,
            9 => self.hgvsp = value,
            10 => self.pick = value == "1",
            _ => {}
        }
    }
}

/// Assigns a record's CSQ entries to its ALTs: calls `each(alt, entry)`
/// for every entry that names one, in file order, and answers how many
/// named none. A record of one ALT takes every entry.
pub(crate) fn for_each_entry<'a>(
    line: &Line<'a>,
    csq: &'a str,
    layout: &Layout,
    mut each: impl FnMut(usize, Entry<'a>),
) -> u64 {
    let single = !line.alts.contains(',');
    let forms = if single {
        Vec::new()
    } else {
        let alts: Vec<&str> = line.alts.split(',').collect();
        allele_forms(line.reference, &alts)
    };
    let mut unmatched = 0;
    let mut rest = csq;
    loop {
        let (entry, end) = parse_entry(rest, layout);
        let alt = if single {
            Some(0)
        } else {
            match_allele(entry.allele, &forms)
        };
        match alt {
            Some(i) => each(i, entry),
            None => unmatched += 1,
        }
        match rest.get(end + 1..) {
            Some(next) => rest = next,
            None => return unmatched,
        }
    }
}

/// The fields the index reads of the CSQ entry `text` starts with, and
/// where that entry ends (its `,`, or the end of `text`).
pub(crate) fn parse_entry<'a>(text: &'a str, layout: &Layout) -> (Entry<'a>, usize) {
    // One SIMD pass for both separators: a field ends at `|`, the entry
    // at `,`.
    let bytes = text.as_bytes();
    let mut entry = Entry::default();
    let (mut field, mut start) = (0usize, 0usize);
    for at in memchr::memchr2_iter(b'|', b',', bytes).chain(std::iter::once(bytes.len())) {
        if field <= layout.last {
            // Separators are ASCII: both ends are char boundaries.
            entry.set(layout.code(field), &text[start..at]);
        }
        if at == bytes.len() || bytes[at] == b',' {
            return (entry, at);
        }
        field += 1;
        start = at + 1;
    }
    (entry, bytes.len())
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
                dash(alt.get(1..).unwrap_or(""))
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
    fn entries_read_the_declared_layout() {
        let layout = Layout::of_header(
            "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations \
             from Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|PICK\">",
        )
        .unwrap();
        let line = Line::parse("1\t5\t.\tC\tT,G\t.\t.\tX=1").unwrap();
        let mut seen = Vec::new();
        let unmatched = for_each_entry(
            &line,
            "T|missense_variant|MODERATE|BRCA2|G2|T9|1,G|||||T9|,A||||||",
            &layout,
            |alt, e| seen.push((alt, e.allele, e.symbol, e.feature, e.pick, e.hgvsc)),
        );
        assert_eq!(
            seen,
            vec![
                (0, "T", "BRCA2", "T9", true, ""),
                (1, "G", "", "T9", false, "")
            ]
        );
        assert_eq!(unmatched, 1);
        assert_eq!(Layout::of_positions(layout.positions()), layout);
    }

    #[test]
    fn frequencies_follow_their_alts() {
        let v = InfoValues {
            frequency: Some("0.1,0.2"),
            ..InfoValues::default()
        };
        assert_eq!(v.frequency_of(1, 2), Some(0.2));
        assert_eq!(v.frequency_of(1, 3), None);
        let v = InfoValues {
            frequency: Some("0.5"),
            ..InfoValues::default()
        };
        assert_eq!(v.frequency_of(2, 3), Some(0.5));
        let v = InfoValues {
            frequency: Some("inf"),
            ..InfoValues::default()
        };
        assert_eq!(v.frequency_of(0, 1), None);
    }
}
