//! The BED track index: per contig, the elementary segments between feature
//! boundaries, each with the features covering it, so that the features
//! overlapping a variant are found by one binary search.

use std::collections::HashMap;

use super::{coordinate, search_from, ContigMap};

/// Features of a BED track, indexed for overlap queries.
pub(crate) struct BedIndex {
    contigs: ContigMap,
    segments: Vec<Segments>,
    /// Feature names, deduplicated; features refer to them by index.
    names: Vec<Box<str>>,
}

/// The segments of one contig: disjoint, sorted half-open ranges
/// `[starts[i], ends[i])`, each covered by the features
/// `members[bounds[i]..bounds[i + 1]]` (feature ranks, ascending).
#[derive(Default)]
struct Segments {
    starts: Vec<u32>,
    ends: Vec<u32>,
    bounds: Vec<u32>,
    members: Vec<u32>,
    /// The name index of each feature, by rank. Ranks order features by
    /// start, then name, then end.
    rank_name: Vec<u32>,
}

struct Feature {
    start: u32,
    end: u32,
    name: u32,
}

/// Collects features line by line; [`BedBuilder::finish`] builds the index.
pub(crate) struct BedBuilder {
    contigs: ContigMap,
    features: Vec<Vec<Feature>>,
    name_ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    len: u64,
}

impl BedIndex {
    pub(crate) fn builder() -> BedBuilder {
        BedBuilder {
            contigs: ContigMap::default(),
            features: Vec::new(),
            name_ids: HashMap::new(),
            names: Vec::new(),
            len: 0,
        }
    }

    /// The contig index for CHROM `name`, if the track has features on it.
    pub(crate) fn contig(&self, name: &str) -> Option<usize> {
        self.contigs.get(name)
    }

    /// Adds to `names` the name of every feature on `contig` overlapping
    /// the 0-based half-open range `[start, end)` that is not in `names`
    /// already, ordered by feature start, then name. `hint` is where the
    /// previous search on this contig ended (0 at first): sorted input then
    /// finds its segment in a few steps. `ranks` is scratch space.
    pub(crate) fn overlapping<'a>(
        &'a self,
        contig: usize,
        (start, end, hint): (u32, u32, &mut usize),
        ranks: &mut Vec<u32>,
        names: &mut Vec<&'a str>,
    ) {
        // Names already there come from other tracks: compare their text.
        // Within this track, equal names are the same interned string.
        let before = names.len();
        let s = &self.segments[contig];
        let first = search_from(s.ends.len(), *hint, |i| s.ends[i] <= start);
        *hint = first;
        ranks.clear();
        let mut matched = 0;
        for i in first..s.starts.len() {
            if s.starts[i] >= end {
                break;
            }
            let (from, to) = (s.bounds[i] as usize, s.bounds[i + 1] as usize);
            ranks.extend_from_slice(&s.members[from..to]);
            matched += 1;
        }
        if matched > 1 {
            ranks.sort_unstable();
            ranks.dedup();
        }
        for &rank in ranks.iter() {
            let name = &*self.names[s.rank_name[rank as usize] as usize];
            let mine = &names[before..];
            if !mine.iter().any(|n| std::ptr::eq(*n, name)) && !names[..before].contains(&name) {
                names.push(name);
            }
        }
    }
}

impl BedBuilder {
    /// Features added so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Adds one line of the BED file (skipping blank, `#`, `track` and
    /// `browser` lines).
    ///
    /// # Errors
    /// What is wrong with the line.
    pub(crate) fn add(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("track")
            || line.starts_with("browser")
        {
            return Ok(());
        }
        let mut columns = line.split('\t');
        let (Some(chrom), Some(start), Some(end), Some(name)) = (
            columns.next(),
            columns.next(),
            columns.next(),
            columns.next(),
        ) else {
            return Err(
                "expected at least 4 tab-separated columns (chrom, start, end, name)".to_string(),
            );
        };
        if chrom.is_empty() {
            return Err("chrom is empty".to_string());
        }
        let (start, end) = (coordinate(start, "start")?, coordinate(end, "end")?);
        if end < start {
            return Err(format!("end {end} is before start {start}"));
        }
        if name.is_empty() {
            return Err("name (column 4) is empty".to_string());
        }
        self.len += 1;
        if start == end {
            return Ok(());
        }
        let name = match self.name_ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                let clean: Box<str> = sanitized(name).into();
                self.name_ids.insert(name.into(), id);
                self.names.push(clean);
                id
            }
        };
        let contig = self.contigs.index_or_insert(chrom);
        if contig == self.features.len() {
            self.features.push(Vec::new());
        }
        self.features[contig].push(Feature { start, end, name });
        Ok(())
    }

    /// Builds the index.
    pub(crate) fn finish(self) -> BedIndex {
        let names = self.names;
        let segments = self
            .features
            .into_iter()
            .map(|mut features| {
                features.sort_unstable_by(|a, b| {
                    (a.start, &names[a.name as usize], a.end).cmp(&(
                        b.start,
                        &names[b.name as usize],
                        b.end,
                    ))
                });
                segments(&features)
            })
            .collect();
        BedIndex {
            contigs: self.contigs,
            segments,
            names,
        }
    }
}

/// Sweeps the boundaries of `features` (sorted by start) into segments.
fn segments(features: &[Feature]) -> Segments {
    let mut bounds: Vec<u32> = features.iter().flat_map(|f| [f.start, f.end]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut s = Segments {
        bounds: vec![0],
        rank_name: features.iter().map(|f| f.name).collect(),
        ..Segments::default()
    };
    let mut active: Vec<u32> = Vec::new();
    let mut next = 0;
    for window in bounds.windows(2) {
        let (at, until) = (window[0], window[1]);
        active.retain(|&rank| features[rank as usize].end > at);
        while next < features.len() && features[next].start == at {
            active.push(next as u32);
            next += 1;
        }
        if active.is_empty() {
            continue;
        }
        let last = s.starts.len();
        let same_as_last = last > 0
            && s.ends[last - 1] == at
            && s.members[s.bounds[last - 1] as usize..] == active[..];
        if same_as_last {
            s.ends[last - 1] = until;
        } else {
            s.starts.push(at);
            s.ends.push(until);
            s.members.extend_from_slice(&active);
            s.bounds.push(s.members.len() as u32);
        }
    }
    s
}

/// `name` with whitespace, `,`, `;` and `=` replaced by `_`.
fn sanitized(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_whitespace() || matches!(c, ',' | ';' | '=') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(lines: &[&str]) -> BedIndex {
        let mut builder = BedIndex::builder();
        for line in lines {
            builder.add(line).unwrap();
        }
        builder.finish()
    }

    fn query(index: &BedIndex, chrom: &str, start: u32, end: u32) -> Vec<String> {
        let Some(contig) = index.contig(chrom) else {
            return Vec::new();
        };
        let mut names = Vec::new();
        index.overlapping(contig, (start, end, &mut 0), &mut Vec::new(), &mut names);
        names.into_iter().map(String::from).collect()
    }

    #[test]
    fn overlaps() {
        let idx = index(&[
            "track name=genes",
            "#comment",
            "chr1\t100\t200\tB\t0\t+",
            "chr1\t100\t150\tA",
            "chr1\t120\t130\tC",
            "chr1\t300\t400\tD",
            "chr1\t300\t400\tD",
            "chr1\t500\t500\tEMPTY",
            "chr1\t390\t600\tE x",
            "chrM\t0\t10\tMITO",
        ]);
        assert_eq!(query(&idx, "1", 99, 100), Vec::<String>::new());
        assert_eq!(query(&idx, "1", 100, 101), ["A", "B"]);
        assert_eq!(query(&idx, "chr1", 125, 126), ["A", "B", "C"]);
        assert_eq!(query(&idx, "1", 149, 150), ["A", "B"]);
        assert_eq!(query(&idx, "1", 150, 151), ["B"]);
        assert_eq!(query(&idx, "1", 199, 200), ["B"]);
        assert_eq!(query(&idx, "1", 200, 300), Vec::<String>::new());
        // A deletion spanning several segments.
        assert_eq!(query(&idx, "1", 140, 310), ["A", "B", "D"]);
        assert_eq!(query(&idx, "1", 395, 396), ["D", "E_x"]);
        assert_eq!(query(&idx, "1", 500, 501), ["E_x"]);
        assert_eq!(query(&idx, "MT", 5, 6), ["MITO"]);
        assert_eq!(query(&idx, "M", 9, 10), ["MITO"]);
        assert_eq!(query(&idx, "2", 5, 6), Vec::<String>::new());
    }

    #[test]
    fn bad_lines() {
        let mut builder = BedIndex::builder();
        for (line, needle) in [
            ("chr1\t1\t2", "4 tab-separated"),
            ("chr1 1 2 A", "4 tab-separated"),
            ("chr1\tx\t2\tA", "start"),
            ("chr1\t1\t-2\tA", "end"),
            ("chr1\t5\t2\tA", "before start"),
            ("chr1\t1\t99999999999\tA", "2^32"),
            ("\t1\t2\tA", "chrom"),
            ("chr1\t1\t2\t", "name"),
        ] {
            let err = builder.add(line).unwrap_err();
            assert!(err.contains(needle), "{line:?}: {err}");
        }
    }
}
