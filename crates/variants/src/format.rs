//! The index file: what the builder keeps of a job's annotated VCF, as
//! columns, and how they are written (varints, deltas, one deflate
//! stream behind a small plain header).
//!
//! The index holds what the filters and the sorts read (positions, each
//! allele's set of CSQ entries as feature, consequence and impact, the
//! picked entry, frequency, ClinVar value, hashed ids) and, per record,
//! the byte offset of its line in the results file. What a page shows
//! besides (REF, ALT, HGVS, every entry's text) is read from those lines
//! when the page is drawn, so the index stays a fraction of the results'
//! size (see `docs/DESIGN-NOTES.md`, "Variant index").

use std::io::{Read, Write};

use crate::record::Layout;

/// The first bytes of an index file; the last byte is the format version.
pub const MAGIC: &[u8; 8] = b"GASVIX\x00\x02";

/// One distinct transcript (or other feature) of the entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Feature {
    pub symbol: String,
    pub gene: String,
    pub feature: String,
    pub biotype: String,
}

/// No entry set (an allele without CSQ entries).
pub(crate) const NO_SET: u32 = u32::MAX;
/// No impact (an entry whose IMPACT is empty or unknown).
pub(crate) const NO_IMPACT: u8 = u8::MAX;

/// The index, as columns.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Columns {
    /// The results file's length when the index was built.
    pub results_len: u64,
    /// The CSQ layout of the results' header.
    pub layout: Layout,
    /// Records are in position order (contigs in blocks, positions not
    /// decreasing).
    pub sorted: bool,
    /// Contig names as the records write them, in order of appearance.
    pub contigs: Vec<String>,
    pub features: Vec<Feature>,
    /// Distinct `Consequence` values (`&`-joined terms).
    pub consequences: Vec<String>,
    /// Distinct ClinVar values as records write them.
    pub clinvars: Vec<String>,
    /// Entry set `s` is entries `set_starts[s]..set_starts[s + 1]`.
    pub set_starts: Vec<u32>,
    pub entry_feature: Vec<u32>,
    pub entry_consequence: Vec<u32>,
    pub entry_impact: Vec<u8>,
    /// Per record: its line's byte offset in the results, contig, POS.
    pub record_offset: Vec<u64>,
    pub record_contig: Vec<u32>,
    pub record_pos: Vec<u64>,
    /// Per allele (one row of the table): its record, which ALT of it,
    /// its entry set ([`NO_SET`] for none), the picked entry's number in
    /// the set, frequency (NaN unknown), ClinVar value (0 none, else
    /// `clinvars[n - 1]`).
    pub allele_record: Vec<u32>,
    pub allele_alt: Vec<u16>,
    pub allele_set: Vec<u32>,
    pub allele_pick: Vec<u16>,
    pub allele_af: Vec<f64>,
    pub allele_clinvar: Vec<u32>,
    /// (FNV-1a hash of an id, record), sorted.
    pub ids: Vec<(u32, u32)>,
}

/// The 32-bit FNV-1a hash of an id: fixed by the format, unlike a
/// library's hasher.
pub(crate) fn id_hash(id: &str) -> u32 {
    let mut hash = 0x811c_9dc5u32;
    for b in id.bytes() {
        hash ^= b as u32;
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a variant index of this format")]
    Magic,
    #[error("the index is damaged: {0}")]
    Damaged(&'static str),
    #[error("reading the index: {0}")]
    Io(#[from] std::io::Error),
}

// ------------------------------------------------------------ writing

/// `bytes` deflated: the stream's end when `last`, else its blocks up to
/// a sync flush, after which another part's blocks may follow.
fn deflate_part(bytes: &[u8], last: bool) -> std::io::Result<Vec<u8>> {
    let sink = Vec::with_capacity(bytes.len() / 4 + 64);
    let mut deflate = flate2::write::DeflateEncoder::new(sink, flate2::Compression::fast());
    deflate.write_all(bytes)?;
    if last {
        return deflate.finish();
    }
    // `flush` ends with a sync flush. Taking the bytes out leaves the
    // encoder an empty vector to put its final block in when dropped.
    deflate.flush()?;
    Ok(std::mem::take(deflate.get_mut()))
}

struct Out {
    buf: Vec<u8>,
}

impl Out {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn signed(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn string(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn strings(&mut self, list: &[String]) {
        self.varint(list.len() as u64);
        for s in list {
            self.string(s);
        }
    }

    /// A column of small numbers: a flag byte, 0 when every value is 0
    /// (nothing follows), 1 then each value.
    fn column<T: Copy + Into<u64>>(&mut self, values: &[T]) {
        self.column_of(values, false)
    }

    /// As [`Out::column`]; `always` writes every value even when all are
    /// 0, so each costs a byte and a reader can bound the count by the
    /// stream's length.
    fn column_of<T: Copy + Into<u64>>(&mut self, values: &[T], always: bool) {
        if !always && values.iter().all(|v| (*v).into() == 0) {
            self.buf.push(0);
        } else {
            self.buf.push(1);
            for v in values {
                self.varint((*v).into());
            }
        }
    }
}

impl Columns {
    /// Writes the index: the plain header, then the deflated columns.
    ///
    /// The columns are one deflate stream, made in two halves on two
    /// threads (the writing is on a job's critical path, right after its
    /// annotation, when both cores are free): the first half ends in a
    /// sync flush, which leaves the stream byte-aligned and open, so the
    /// second half's blocks follow it as the same stream and a reader
    /// cannot tell it from one made in one go.
    pub(crate) fn write(&self, mut to: impl Write) -> std::io::Result<()> {
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| deflate_part(&self.alleles_part(), true));
            let first = deflate_part(&self.head_part(), false);
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        });
        to.write_all(MAGIC)?;
        to.write_all(&first?)?;
        to.write_all(&second?)?;
        to.flush()
    }

    /// The columns up to the records' positions, as the stream holds them.
    fn head_part(&self) -> Vec<u8> {
        let mut out = Out {
            buf: Vec::with_capacity(self.record_offset.len() * 4 + (1 << 12)),
        };
        out.varint(self.results_len);
        out.buf.push(self.sorted as u8);
        for p in self.layout.positions() {
            out.varint(p.map_or(0, |p| p as u64 + 1));
        }
        out.strings(&self.contigs);
        out.varint(self.features.len() as u64);
        for f in &self.features {
            for s in [&f.symbol, &f.gene, &f.feature, &f.biotype] {
                out.string(s);
            }
        }
        out.strings(&self.consequences);
        out.strings(&self.clinvars);
        // Entry sets: their lengths, then the entries.
        out.varint(self.set_starts.len().saturating_sub(1) as u64);
        for w in self.set_starts.windows(2) {
            out.varint((w[1] - w[0]) as u64);
        }
        out.varint(self.entry_feature.len() as u64);
        out.column_of(&self.entry_feature, true);
        out.column(&self.entry_consequence);
        let impacts: Vec<u8> = self
            .entry_impact
            .iter()
            .map(|i| i.wrapping_add(1))
            .collect();
        out.column(&impacts);
        // Records: offsets and positions as deltas (positions restart at
        // each change of contig), contigs as runs.
        out.varint(self.record_offset.len() as u64);
        let mut last = 0u64;
        for &offset in &self.record_offset {
            out.varint(offset - last);
            last = offset;
        }
        let mut runs: Vec<(u32, u64)> = Vec::new();
        for &c in &self.record_contig {
            match runs.last_mut() {
                Some((contig, n)) if *contig == c => *n += 1,
                _ => runs.push((c, 1)),
            }
        }
        out.varint(runs.len() as u64);
        for (c, n) in &runs {
            out.varint(*c as u64);
            out.varint(*n);
        }
        let mut last = (u32::MAX, 0u64);
        for (&c, &pos) in self.record_contig.iter().zip(&self.record_pos) {
            let base = if last.0 == c { last.1 } else { 0 };
            out.signed(pos as i64 - base as i64);
            last = (c, pos);
        }
        out.buf
    }

    /// The columns after the records' positions: the alleles' and the ids.
    fn alleles_part(&self) -> Vec<u8> {
        let mut out = Out {
            buf: Vec::with_capacity(self.allele_record.len() * 6 + (1 << 12)),
        };
        // Alleles: how many each record has, then their columns.
        out.varint(self.allele_record.len() as u64);
        let mut per_record = vec![0u32; self.record_offset.len()];
        for &r in &self.allele_record {
            per_record[r as usize] += 1;
        }
        let extra: Vec<u32> = per_record.iter().map(|n| n.wrapping_sub(1)).collect();
        // Most records have one allele: store the count less one (a
        // record without alleles wraps, which the reader undoes).
        out.column(&extra.iter().map(|&e| e as u64).collect::<Vec<_>>());
        out.column(&self.allele_alt);
        // Sets: the difference from the previous allele's set, signed, so
        // runs of one set cost a zero byte.
        let mut last = 0i64;
        let set_deltas: Vec<u64> = self
            .allele_set
            .iter()
            .map(|&s| {
                let s = if s == NO_SET { -1 } else { s as i64 };
                let d = s - last;
                last = s;
                ((d << 1) ^ (d >> 63)) as u64
            })
            .collect();
        out.column_of(&set_deltas, true);
        out.column(&self.allele_pick);
        if self.allele_af.iter().all(|f| f.is_nan()) {
            out.buf.push(0);
        } else {
            out.buf.push(1);
            for f in &self.allele_af {
                if f.is_nan() {
                    out.buf.push(0);
                } else {
                    out.buf.push(1);
                    out.buf.extend_from_slice(&f.to_le_bytes());
                }
            }
        }
        out.column(&self.allele_clinvar);
        out.varint(self.ids.len() as u64);
        let mut last = 0u32;
        for &(hash, record) in &self.ids {
            out.varint((hash - last) as u64);
            out.varint(record as u64);
            last = hash;
        }
        out.buf
    }

    /// Reads an index written by [`Columns::write`].
    pub(crate) fn read(mut from: impl Read) -> Result<Columns, FormatError> {
        let mut magic = [0u8; 8];
        from.read_exact(&mut magic)
            .map_err(|_| FormatError::Magic)?;
        if &magic != MAGIC {
            return Err(FormatError::Magic);
        }
        let mut buf = Vec::new();
        flate2::read::DeflateDecoder::new(from)
            .read_to_end(&mut buf)
            .map_err(|_| FormatError::Damaged("the column stream"))?;
        let mut input = In { buf: &buf, at: 0 };
        let c = input.columns();
        let c = c?;
        if input.at != buf.len() {
            return Err(FormatError::Damaged("bytes after the last column"));
        }
        Ok(c)
    }
}

// ------------------------------------------------------------ reading

struct In<'a> {
    buf: &'a [u8],
    at: usize,
}

const SHORT: FormatError = FormatError::Damaged("a column ends early");

impl In<'_> {
    fn byte(&mut self) -> Result<u8, FormatError> {
        let b = *self.buf.get(self.at).ok_or(SHORT)?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, FormatError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(FormatError::Damaged("a number is too long"))
    }

    fn signed(&mut self) -> Result<i64, FormatError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A count of things each taking at least `min` bytes: refused when
    /// the rest of the stream cannot hold them (a damaged file must not
    /// make the reader allocate without bound).
    fn count(&mut self, min: usize) -> Result<usize, FormatError> {
        let n = self.varint()?;
        let left = (self.buf.len() - self.at) as u64;
        if n.saturating_mul(min as u64) > left {
            return Err(FormatError::Damaged("a count is larger than the file"));
        }
        usize::try_from(n).map_err(|_| FormatError::Damaged("a count is too large"))
    }

    fn string(&mut self) -> Result<String, FormatError> {
        let n = self.count(1)?;
        let bytes = self.buf.get(self.at..self.at + n).ok_or(SHORT)?;
        self.at += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| FormatError::Damaged("a name is not UTF-8"))
    }

    fn strings(&mut self) -> Result<Vec<String>, FormatError> {
        let n = self.count(1)?;
        (0..n).map(|_| self.string()).collect()
    }

    fn column<T: TryFrom<u64>>(&mut self, n: usize) -> Result<Vec<T>, FormatError> {
        let zero = || T::try_from(0).map_err(|_| FormatError::Damaged("a column's type"));
        match self.byte()? {
            0 => (0..n).map(|_| zero()).collect(),
            1 => {
                if n > self.buf.len() - self.at {
                    return Err(SHORT);
                }
                (0..n)
                    .map(|_| {
                        T::try_from(self.varint()?)
                            .map_err(|_| FormatError::Damaged("a value is out of range"))
                    })
                    .collect()
            }
            _ => Err(FormatError::Damaged("a column's flag")),
        }
    }

    fn columns(&mut self) -> Result<Columns, FormatError> {
        let mut c = Columns {
            results_len: self.varint()?,
            sorted: self.byte()? == 1,
            ..Columns::default()
        };
        let mut positions = [None; 10];
        for p in positions.iter_mut() {
            let v = self.varint()?;
            *p = (v > 0).then(|| v as usize - 1);
        }
        c.layout = Layout::of_positions(positions);
        c.contigs = self.strings()?;
        let n = self.count(4)?;
        c.features = (0..n)
            .map(|_| {
                Ok(Feature {
                    symbol: self.string()?,
                    gene: self.string()?,
                    feature: self.string()?,
                    biotype: self.string()?,
                })
            })
            .collect::<Result<_, FormatError>>()?;
        c.consequences = self.strings()?;
        c.clinvars = self.strings()?;
        let sets = self.count(1)?;
        c.set_starts = Vec::with_capacity(sets + 1);
        let mut at = 0u64;
        c.set_starts.push(0);
        for _ in 0..sets {
            at = at.saturating_add(self.varint()?);
            if at > self.buf.len() as u64 {
                return Err(FormatError::Damaged("entry sets are larger than the file"));
            }
            c.set_starts
                .push(u32::try_from(at).map_err(|_| FormatError::Damaged("entry sets"))?);
        }
        // Every entry costs a byte of the feature column.
        let entries = self.count(1)?;
        if at != entries as u64 {
            return Err(FormatError::Damaged("entry sets and entries disagree"));
        }
        c.entry_feature = self.column(entries)?;
        c.entry_consequence = self.column(entries)?;
        c.entry_impact = self
            .column::<u8>(entries)?
            .into_iter()
            .map(|i| i.wrapping_sub(1))
            .collect();
        let bad_entry = c
            .entry_feature
            .iter()
            .any(|&f| f as usize >= c.features.len())
            || c.entry_consequence
                .iter()
                .any(|&f| f as usize >= c.consequences.len());
        if bad_entry {
            return Err(FormatError::Damaged("an entry names no feature"));
        }

        let records = self.count(1)?;
        c.record_offset = Vec::with_capacity(records);
        let mut offset = 0u64;
        for _ in 0..records {
            offset = offset
                .checked_add(self.varint()?)
                .ok_or(FormatError::Damaged("an offset"))?;
            c.record_offset.push(offset);
        }
        let runs = self.count(2)?;
        c.record_contig = Vec::with_capacity(records);
        for _ in 0..runs {
            let contig = u32::try_from(self.varint()?)
                .ok()
                .filter(|&k| (k as usize) < c.contigs.len())
                .ok_or(FormatError::Damaged("a record's contig"))?;
            let n = self.varint()?;
            if n > (records - c.record_contig.len()) as u64 {
                return Err(FormatError::Damaged("contig runs"));
            }
            c.record_contig
                .extend(std::iter::repeat_n(contig, n as usize));
        }
        if c.record_contig.len() != records {
            return Err(FormatError::Damaged("contig runs"));
        }
        c.record_pos = Vec::with_capacity(records);
        let mut last = (u32::MAX, 0i64);
        for &contig in &c.record_contig {
            let base = if last.0 == contig { last.1 } else { 0 };
            let pos = base + self.signed()?;
            if pos < 0 {
                return Err(FormatError::Damaged("a position"));
            }
            c.record_pos.push(pos as u64);
            last = (contig, pos);
        }

        // Every allele costs a byte of the entry-set column.
        let alleles = self.count(1)?;
        let extra: Vec<u64> = self.column(records)?;
        c.allele_record = Vec::with_capacity(alleles);
        for (r, e) in extra.iter().enumerate() {
            let n = (*e as u32).wrapping_add(1) as usize;
            if c.allele_record.len() + n > alleles {
                return Err(FormatError::Damaged("alleles per record"));
            }
            c.allele_record.extend(std::iter::repeat_n(r as u32, n));
        }
        if c.allele_record.len() != alleles {
            return Err(FormatError::Damaged("alleles per record"));
        }
        c.allele_alt = self.column(alleles)?;
        let deltas: Vec<u64> = self.column(alleles)?;
        let set_count = sets as i64;
        let mut last = 0i64;
        c.allele_set = Vec::with_capacity(alleles);
        for d in deltas {
            let s = last + ((d >> 1) as i64 ^ -((d & 1) as i64));
            if s < -1 || s >= set_count {
                return Err(FormatError::Damaged("an allele's entry set"));
            }
            c.allele_set.push(if s < 0 { NO_SET } else { s as u32 });
            last = s;
        }
        c.allele_pick = self.column(alleles)?;
        c.allele_af = match self.byte()? {
            0 => vec![f64::NAN; alleles],
            1 => {
                let mut af = Vec::with_capacity(alleles);
                for _ in 0..alleles {
                    af.push(match self.byte()? {
                        0 => f64::NAN,
                        _ => {
                            let bytes = self.buf.get(self.at..self.at + 8).ok_or(SHORT)?;
                            self.at += 8;
                            f64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
                        }
                    });
                }
                af
            }
            _ => return Err(FormatError::Damaged("frequencies")),
        };
        c.allele_clinvar = self.column(alleles)?;
        if c.allele_clinvar
            .iter()
            .any(|&v| v as usize > c.clinvars.len())
        {
            return Err(FormatError::Damaged("an allele's ClinVar value"));
        }
        let ids = self.count(2)?;
        c.ids = Vec::with_capacity(ids);
        let mut last = 0u32;
        for _ in 0..ids {
            let hash = u32::try_from(last as u64 + self.varint()?)
                .map_err(|_| FormatError::Damaged("ids"))?;
            let record = u32::try_from(self.varint()?)
                .ok()
                .filter(|&r| (r as usize) < records)
                .ok_or(FormatError::Damaged("an id's record"))?;
            c.ids.push((hash, record));
            last = hash;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Columns {
        Columns {
            results_len: 1234,
            layout: Layout::default(),
            sorted: true,
            contigs: vec!["chr1".into(), "chrM".into()],
            features: vec![Feature {
                symbol: "BRCA2".into(),
                gene: "G1".into(),
                feature: "T1".into(),
                biotype: "protein_coding".into(),
            }],
            consequences: vec!["missense_variant".into()],
            clinvars: vec!["Pathogenic".into()],
            set_starts: vec![0, 1, 3],
            entry_feature: vec![0, 0, 0],
            entry_consequence: vec![0, 0, 0],
            entry_impact: vec![2, NO_IMPACT, 3],
            record_offset: vec![100, 180, 400],
            record_contig: vec![0, 0, 1],
            record_pos: vec![10, 20, 5],
            allele_record: vec![0, 1, 1, 2],
            allele_alt: vec![0, 0, 1, 0],
            allele_set: vec![0, 1, NO_SET, 0],
            allele_pick: vec![0, 1, 0, 0],
            allele_af: vec![f64::NAN, 0.25, f64::NAN, 1.0],
            allele_clinvar: vec![0, 1, 0, 0],
            ids: vec![(7, 0), (9, 2)],
        }
    }

    fn same(a: &Columns, b: &Columns) -> bool {
        let af = |c: &Columns| c.allele_af.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let mut a2 = a.clone();
        let mut b2 = b.clone();
        a2.allele_af.clear();
        b2.allele_af.clear();
        a2 == b2 && af(a) == af(b)
    }

    #[test]
    fn columns_round_trip() {
        let c = sample();
        let mut bytes = Vec::new();
        c.write(&mut bytes).unwrap();
        let back = Columns::read(&bytes[..]).unwrap();
        assert!(same(&c, &back), "{back:?}");
        let empty = Columns {
            set_starts: vec![0],
            ..Columns::default()
        };
        let mut bytes = Vec::new();
        empty.write(&mut bytes).unwrap();
        assert!(same(&empty, &Columns::read(&bytes[..]).unwrap()));
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let mut bytes = Vec::new();
        sample().write(&mut bytes).unwrap();
        assert!(matches!(
            Columns::read(&b"SQLite format 3\0"[..]),
            Err(FormatError::Magic)
        ));
        for cut in 0..bytes.len() {
            assert!(Columns::read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Every byte of the column stream flipped in turn.
        let mut raw = Vec::new();
        flate2::read::DeflateDecoder::new(&bytes[8..])
            .read_to_end(&mut raw)
            .unwrap();
        for i in 0..raw.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = raw.clone();
                damaged[i] ^= flip;
                let mut file = MAGIC.to_vec();
                let mut deflate =
                    flate2::write::DeflateEncoder::new(&mut file, flate2::Compression::fast());
                deflate.write_all(&damaged).unwrap();
                deflate.finish().unwrap();
                let _ = Columns::read(&file[..]);
            }
        }
    }

    #[test]
    fn id_hashes_are_fnv1a() {
        assert_eq!(id_hash(""), 0x811c_9dc5);
        assert_eq!(id_hash("a"), 0xe40c_292c);
    }
}
