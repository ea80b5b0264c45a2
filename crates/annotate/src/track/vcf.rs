//! The VCF track index: per contig, the known sites sorted by position, with
//! their REF, ALT and ID (or, for a track copying INFO fields, the values of
//! those fields) in one shared text arena; and for a track copying fields,
//! its ALT alleles sorted by normalised position.

use super::{coordinate, search_from, ContigMap};
use crate::classify::is_bases;

/// Known sites of a VCF track, indexed by position.
pub(crate) struct SiteIndex {
    contigs: ContigMap,
    sites: Vec<Vec<SiteEntry>>,
    /// Per contig, the matchable ALT alleles of its sites (bases only),
    /// sorted by normalised position, then as the sites are. Empty when
    /// the track copies no fields.
    alleles: Vec<Vec<AlleleEntry>>,
    /// `REF \t ALT \t ID` of every site, back to back. A track copying
    /// fields stores `REF \t ALT \t . \t V1 \t V2 ...` instead: its ids are
    /// not used, and `Vi` is the raw value of the i-th copied field (empty
    /// when the record does not have it, `.` when it has no value).
    text: String,
    /// How many INFO fields the track copies.
    fields: usize,
}

struct SiteEntry {
    pos: u32,
    /// Where the site's text starts in [`SiteIndex::text`].
    offset: u32,
    /// Lengths of REF, and of REF + tab + ALT.
    ref_len: u32,
    ref_alt_len: u32,
    /// The length of the whole text.
    len: u32,
}

/// One ALT allele of a site, by the position of the allele normalised.
struct AlleleEntry {
    /// The normalised position (see [`normalise`]).
    pos: u32,
    /// The site, by its rank in its contig's sorted sites.
    site: u32,
    /// The allele's 0-based index in the site's ALT column.
    alt: u32,
}

/// One known site, borrowed from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site<'a> {
    pub(crate) reference: &'a str,
    /// The ALT column (comma-separated alleles).
    pub(crate) alt: &'a str,
    /// The ID column (`;`-separated ids, or `.`; always `.` for a track
    /// copying fields).
    pub(crate) id: &'a str,
    /// The copied fields' values, tab-separated (empty when the track
    /// copies none).
    values: &'a str,
}

impl<'a> Site<'a> {
    /// Whether a record with REF `reference` and ALT alleles `alts` is this
    /// site: the same REF and at least one ALT allele in common (both
    /// case-insensitive).
    pub(crate) fn matches(&self, reference: &str, alts: &str) -> bool {
        self.reference.eq_ignore_ascii_case(reference)
            && alts.split(',').any(|alt| {
                self.alt
                    .split(',')
                    .any(|known| known.eq_ignore_ascii_case(alt))
            })
    }

    /// The raw value of the `field`-th copied field (`.` when the record
    /// has the key without a value), `None` when the record lacks it.
    pub(crate) fn value(&self, field: usize) -> Option<&'a str> {
        self.values
            .split('\t')
            .nth(field)
            .filter(|value| !value.is_empty())
    }
}

/// `(pos, reference, alt)` with the bases both alleles share trimmed: first
/// trailing, then leading ones, keeping at least one base in each (so
/// `POS=100 REF=ACT ALT=AT` becomes `100 AC A`, and `100 ACGT ACTT`
/// becomes `102 G T`). Bases compare case-insensitively. The position moves
/// by the leading bases trimmed. There is no left shift: that needs the
/// reference sequence.
pub(crate) fn normalise<'a>(pos: u64, reference: &'a str, alt: &'a str) -> (u64, &'a str, &'a str) {
    let (r, a) = (reference.as_bytes(), alt.as_bytes());
    let shared = r.len().min(a.len()).saturating_sub(1);
    let trailing = r
        .iter()
        .rev()
        .zip(a.iter().rev())
        .take(shared)
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    let (r, a) = (&r[..r.len() - trailing], &a[..a.len() - trailing]);
    let leading = r
        .iter()
        .zip(a)
        .take(shared - trailing)
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    // Only ASCII bytes were compared equal, so the cuts are on char
    // boundaries.
    (
        pos + leading as u64,
        &reference[leading..r.len()],
        &alt[leading..a.len()],
    )
}

/// Collects sites line by line; [`SiteBuilder::finish`] builds the index.
pub(crate) struct SiteBuilder {
    index: SiteIndex,
    /// The INFO keys of the copied fields.
    keys: Vec<String>,
    /// Scratch: where each copied field's value is in the current line.
    found: Vec<Option<(usize, usize)>>,
}

impl SiteIndex {
    /// A builder for a track copying the INFO fields `keys` (none: the
    /// track fills ids).
    pub(crate) fn builder(keys: Vec<String>) -> SiteBuilder {
        SiteBuilder {
            index: SiteIndex {
                contigs: ContigMap::default(),
                sites: Vec::new(),
                alleles: Vec::new(),
                text: String::new(),
                fields: keys.len(),
            },
            found: vec![None; keys.len()],
            keys,
        }
    }

    /// The contig index for CHROM `name`, if the track has sites on it.
    pub(crate) fn contig(&self, name: &str) -> Option<usize> {
        self.contigs.get(name)
    }

    fn site(&self, entry: &SiteEntry) -> Site<'_> {
        let text = &self.text[entry.offset as usize..][..entry.len as usize];
        let (id, values) = if self.fields == 0 {
            (&text[entry.ref_alt_len as usize + 1..], "")
        } else {
            let rest = &text[entry.ref_alt_len as usize + 1..];
            rest.split_once('\t').unwrap_or((rest, ""))
        };
        Site {
            reference: &text[..entry.ref_len as usize],
            alt: &text[entry.ref_len as usize + 1..entry.ref_alt_len as usize],
            id,
            values,
        }
    }

    /// The sites at 1-based position `pos` of `contig`, in file order.
    /// `hint` is where the previous search on this contig ended (0 at
    /// first): sorted input then finds its sites in a step or two.
    pub(crate) fn at(
        &self,
        contig: usize,
        pos: u32,
        hint: &mut usize,
    ) -> impl Iterator<Item = Site<'_>> {
        let sites = &self.sites[contig];
        let first = search_from(sites.len(), *hint, |i| sites[i].pos < pos);
        *hint = first;
        sites[first..]
            .iter()
            .take_while(move |s| s.pos == pos)
            .map(|s| self.site(s))
    }

    /// Calls `found` with each site of `contig` with an ALT allele that is
    /// the allele `reference` > `alt` at `pos` once both are normalised
    /// (`pos`, `reference` and `alt` must be normalised already, see
    /// [`normalise`]), and the 0-based index of that allele in the site's
    /// ALT column; by position, then in file order. `hint` works as in
    /// [`SiteIndex::at`]. Nothing for a track copying no fields.
    pub(crate) fn matching<'s>(
        &'s self,
        contig: usize,
        (pos, reference, alt): (u32, &str, &str),
        hint: &mut usize,
        mut found: impl FnMut(Site<'s>, u32),
    ) {
        let Some(alleles) = self.alleles.get(contig) else {
            return;
        };
        let sites = &self.sites[contig];
        let first = search_from(alleles.len(), *hint, |i| alleles[i].pos < pos);
        *hint = first;
        for allele in alleles[first..].iter().take_while(|a| a.pos == pos) {
            let entry = &sites[allele.site as usize];
            let site = self.site(entry);
            let Some(known) = site.alt.split(',').nth(allele.alt as usize) else {
                continue;
            };
            let (_, r, k) = normalise(u64::from(entry.pos), site.reference, known);
            if r.eq_ignore_ascii_case(reference) && k.eq_ignore_ascii_case(alt) {
                found(site, allele.alt);
            }
        }
    }
}

impl SiteBuilder {
    /// Sites added so far.
    pub(crate) fn len(&self) -> u64 {
        self.index.sites.iter().map(|s| s.len() as u64).sum()
    }

    /// Adds one data line of the VCF (at least CHROM, POS, ID, REF, ALT;
    /// and INFO, the 8th column, for a track copying fields).
    ///
    /// # Errors
    /// What is wrong with the line.
    pub(crate) fn add(&mut self, line: &str) -> Result<(), String> {
        let mut columns = line.splitn(6, '\t');
        let (Some(chrom), Some(pos), Some(id), Some(reference), Some(alt)) = (
            columns.next(),
            columns.next(),
            columns.next(),
            columns.next(),
            columns.next(),
        ) else {
            return Err(
                "expected at least 5 tab-separated columns (CHROM POS ID REF ALT)".to_string(),
            );
        };
        if chrom.is_empty() || reference.is_empty() || alt.is_empty() || id.is_empty() {
            return Err("CHROM, ID, REF and ALT must not be empty".to_string());
        }
        let pos = coordinate(pos, "POS")?;
        let index = &mut self.index;
        let offset = u32::try_from(index.text.len())
            .ok()
            .filter(|o| o.checked_add(line.len() as u32).is_some())
            .ok_or("the track is too large (over 4 GiB of sites)")?;
        let contig = index.contigs.index_or_insert(chrom);
        if contig == index.sites.len() {
            index.sites.push(Vec::new());
        }
        let start = index.text.len();
        if self.keys.is_empty() {
            for part in [reference, "\t", alt, "\t", id] {
                index.text.push_str(part);
            }
        } else {
            for part in [reference, "\t", alt, "\t."] {
                index.text.push_str(part);
            }
            // INFO is the third column after ALT.
            let info = columns.next().and_then(|rest| rest.split('\t').nth(2));
            self.found.fill(None);
            let mut at = 0;
            for entry in info.unwrap_or("").split(';') {
                let (key, value) = match entry.split_once('=') {
                    Some((key, value)) => (key, Some((at + key.len() + 1, value.len()))),
                    None => (entry, None),
                };
                if let Some(i) = self.keys.iter().position(|k| k == key) {
                    // A key without a value (or an empty one) is there but
                    // missing: `.`.
                    if self.found[i].is_none() {
                        self.found[i] = Some(value.filter(|&(_, len)| len > 0).unwrap_or((0, 0)));
                    }
                }
                at += entry.len() + 1;
            }
            let info = info.unwrap_or("");
            for found in &self.found {
                index.text.push('\t');
                match *found {
                    Some((_, 0)) => index.text.push('.'),
                    Some((from, len)) => index.text.push_str(&info[from..from + len]),
                    None => {}
                }
            }
        }
        let len = index.text.len() - start;
        index.sites[contig].push(SiteEntry {
            pos,
            offset,
            ref_len: reference.len() as u32,
            ref_alt_len: (reference.len() + 1 + alt.len()) as u32,
            len: len as u32,
        });
        Ok(())
    }

    /// Builds the index.
    pub(crate) fn finish(mut self) -> SiteIndex {
        for sites in &mut self.index.sites {
            sites.sort_by_key(|s| s.pos);
        }
        if self.index.fields > 0 {
            let index = &self.index;
            let alleles = index
                .sites
                .iter()
                .map(|sites| {
                    let mut alleles = Vec::with_capacity(sites.len());
                    for (rank, entry) in sites.iter().enumerate() {
                        let site = index.site(entry);
                        for (k, alt) in site.alt.split(',').enumerate() {
                            if !is_bases(alt.as_bytes()) {
                                continue;
                            }
                            let (pos, _, _) = normalise(u64::from(entry.pos), site.reference, alt);
                            if let Ok(pos) = u32::try_from(pos) {
                                alleles.push(AlleleEntry {
                                    pos,
                                    site: rank as u32,
                                    alt: k as u32,
                                });
                            }
                        }
                    }
                    // Stable: equal positions stay in site order.
                    alleles.sort_by_key(|a| a.pos);
                    alleles
                })
                .collect();
            self.index.alleles = alleles;
        }
        self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let mut builder = SiteIndex::builder(Vec::new());
        for line in [
            "chr1\t300\trs3\tA\tG\t.\t.\t.",
            "chr1\t100\trs1\tC\tT,A",
            "chr1\t300\t.\tA\tC",
            "chrM\t5\trs5\tg\ta",
        ] {
            builder.add(line).unwrap();
        }
        assert_eq!(builder.len(), 4);
        let index = builder.finish();
        let chr1 = index.contig("1").unwrap();
        assert_eq!(index.contig("chr1"), Some(chr1));
        let at = |contig, pos| index.at(contig, pos, &mut 0).collect::<Vec<_>>();
        assert_eq!(
            at(chr1, 100),
            [Site {
                reference: "C",
                alt: "T,A",
                id: "rs1",
                values: "",
            }]
        );
        assert_eq!(
            at(chr1, 300).iter().map(|s| s.id).collect::<Vec<_>>(),
            ["rs3", "."]
        );
        assert!(at(chr1, 200).is_empty());
        assert!(at(chr1, 301).is_empty());
        let site = at(index.contig("MT").unwrap(), 5)[0];
        assert!(site.matches("G", "A"));
        assert!(site.matches("g", "C,a"));
        assert!(!site.matches("G", "C"));
        assert!(!site.matches("GA", "A"));
        assert_eq!(index.contig("2"), None);
        // No fields: no allele index.
        index.matching(chr1, (100, "C", "T"), &mut 0, |_, _| panic!("no alleles"));
    }

    #[test]
    fn normalisation() {
        for ((pos, r, a), expected) in [
            ((100, "A", "G"), (100, "A", "G")),
            ((100, "AC", "A"), (100, "AC", "A")),
            ((100, "ACT", "AT"), (100, "AC", "A")),
            ((100, "A", "AT"), (100, "A", "AT")),
            ((100, "AC", "ATC"), (100, "A", "AT")),
            ((100, "ACGT", "ACTT"), (102, "G", "T")),
            ((100, "acgt", "ACTT"), (102, "g", "T")),
            ((100, "GAC", "GA"), (101, "AC", "A")),
            ((100, "AAA", "AA"), (100, "AA", "A")),
            ((100, "A", "A"), (100, "A", "A")),
            ((100, "CA", "TA"), (100, "C", "T")),
        ] {
            assert_eq!(normalise(pos, r, a), expected, "{pos} {r} {a}");
        }
    }

    #[test]
    fn fields_and_alleles() {
        let mut builder = SiteIndex::builder(vec!["AF".into(), "DB".into(), "NOTE".into()]);
        for line in [
            "1\t100\trs1\tACT\tAT,GCT,<DEL>,*\t.\t.\tAF=0.1,0.2,0.3,0.4;DB;X=AF=9",
            "1\t98\trs2\tTGAC\tTGA\t.\t.\tNOTE=;AF=0.5;AF=0.6",
            "1\t102\trs3\tT\tC",
            "1\t200\trs4\tG\tA\t.\t.\t.",
        ] {
            builder.add(line).unwrap();
        }
        let index = builder.finish();
        let chr1 = index.contig("chr1").unwrap();
        let find = |pos, r, a| {
            let mut found = Vec::new();
            index.matching(chr1, (pos, r, a), &mut 0, |site, k| {
                found.push((k, site.id, site.value(0), site.value(1), site.value(2)));
            });
            found
        };
        // AC>A at 100: TGAC>TGA at 98 normalises to it, and so does ACT>AT
        // (allele 0) at 100; by position, then file order.
        assert_eq!(
            find(100, "AC", "A"),
            [
                (0, ".", Some("0.5"), None, Some(".")),
                (0, ".", Some("0.1,0.2,0.3,0.4"), Some("."), None),
            ]
        );
        assert_eq!(
            find(100, "a", "g"),
            [(1, ".", Some("0.1,0.2,0.3,0.4"), Some("."), None)]
        );
        assert_eq!(find(100, "A", "T"), []);
        assert_eq!(find(102, "T", "C"), [(0, ".", None, None, None)]);
        assert_eq!(find(200, "G", "A").len(), 1);
        assert_eq!(find(201, "G", "A").len(), 0);
        // Symbolic and `*` alleles are not indexed.
        assert_eq!(index.alleles[chr1].len(), 5);
        // The sites still answer position lookups (REF comparison).
        assert_eq!(index.at(chr1, 98, &mut 0).count(), 1);
    }

    #[test]
    fn bad_lines() {
        let mut builder = SiteIndex::builder(Vec::new());
        for (line, needle) in [
            ("chr1\t1\trs1\tA", "5 tab-separated"),
            ("chr1\tx\trs1\tA\tG", "POS"),
            ("chr1\t1\trs1\t\tG", "empty"),
        ] {
            let err = builder.add(line).unwrap_err();
            assert!(err.contains(needle), "{line:?}: {err}");
        }
    }
}
