//! The VCF track index: per contig, the known sites sorted by position, with
//! their REF, ALT and ID in one shared text arena.

use super::{coordinate, search_from, ContigMap};

/// Known sites of a VCF track, indexed by position.
pub(crate) struct SiteIndex {
    contigs: ContigMap,
    sites: Vec<Vec<SiteEntry>>,
    /// `REF \t ALT \t ID` of every site, back to back.
    text: String,
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

/// One known site, borrowed from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site<'a> {
    pub(crate) reference: &'a str,
    /// The ALT column (comma-separated alleles).
    pub(crate) alt: &'a str,
    /// The ID column (`;`-separated ids, or `.`).
    pub(crate) id: &'a str,
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
}

/// Collects sites line by line; [`SiteBuilder::finish`] builds the index.
pub(crate) struct SiteBuilder {
    index: SiteIndex,
}

impl SiteIndex {
    pub(crate) fn builder() -> SiteBuilder {
        SiteBuilder {
            index: SiteIndex {
                contigs: ContigMap::default(),
                sites: Vec::new(),
                text: String::new(),
            },
        }
    }

    /// The contig index for CHROM `name`, if the track has sites on it.
    pub(crate) fn contig(&self, name: &str) -> Option<usize> {
        self.contigs.get(name)
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
            .map(|s| {
                let text = &self.text[s.offset as usize..][..s.len as usize];
                Site {
                    reference: &text[..s.ref_len as usize],
                    alt: &text[s.ref_len as usize + 1..s.ref_alt_len as usize],
                    id: &text[s.ref_alt_len as usize + 1..],
                }
            })
    }
}

impl SiteBuilder {
    /// Sites added so far.
    pub(crate) fn len(&self) -> u64 {
        self.index.sites.iter().map(|s| s.len() as u64).sum()
    }

    /// Adds one data line of the VCF (at least CHROM, POS, ID, REF, ALT).
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
        for part in [reference, "\t", alt, "\t", id] {
            index.text.push_str(part);
        }
        index.sites[contig].push(SiteEntry {
            pos,
            offset,
            ref_len: reference.len() as u32,
            ref_alt_len: (reference.len() + 1 + alt.len()) as u32,
            len: (reference.len() + alt.len() + id.len() + 2) as u32,
        });
        Ok(())
    }

    /// Builds the index.
    pub(crate) fn finish(mut self) -> SiteIndex {
        for sites in &mut self.index.sites {
            sites.sort_by_key(|s| s.pos);
        }
        self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let mut builder = SiteIndex::builder();
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
                id: "rs1"
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
    }

    #[test]
    fn bad_lines() {
        let mut builder = SiteIndex::builder();
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
