//! One ALT allele of a VCF record, reduced to the bases it changes, and
//! the room it has to move (for HGVS's 3' rule).

use crate::fasta::{ContigId, Reference};

/// An ALT allele reduced to what it changes: the reference bases
/// `start..=end` (1-based, genomic orientation, upper-case) replaced by
/// `alt`. An insertion has no reference bases: `end == start - 1`, the new
/// bases go between `end` and `start`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allele {
    /// First changed reference position (for an insertion: the base after
    /// the insertion point).
    pub start: u32,
    /// Last changed reference position (`start - 1` for an insertion).
    pub end: u32,
    /// The reference bases replaced (empty for an insertion).
    pub reference: Vec<u8>,
    /// The bases put in their place (empty for a deletion).
    pub alt: Vec<u8>,
}

/// Why an ALT allele gets no consequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnnotated {
    /// `<DEL>`, `<CN3>`, ... : no sequence to reason with.
    Symbolic,
    /// A breakend (`G]17:198982]`).
    Breakend,
    /// `*`: "deleted by an upstream deletion", described on that record.
    Overlapping,
    /// `.` or an ALT equal to REF: nothing changes.
    NoChange,
}

impl Allele {
    /// The allele `alt` of a record at `pos` with reference `reference`:
    /// the shared first (padding) base is removed, then the shared trailing
    /// bases, then any other shared leading ones (each allele on its own, as
    /// VEP's `--minimal` does), so that `AC>A` at 100 becomes the deletion
    /// of the `C` at 101.
    ///
    /// # Errors
    /// Why an allele without a sequence change gets no consequence.
    pub fn from_vcf(pos: u32, reference: &str, alt: &str) -> Result<Allele, NotAnnotated> {
        let mut allele = Allele::default();
        allele.assign_vcf(pos, reference, alt)?;
        Ok(allele)
    }

    /// As [`Allele::from_vcf`], into `self` (reusing its buffers; on an
    /// error `self` is left unspecified).
    ///
    /// # Errors
    /// As [`Allele::from_vcf`].
    pub fn assign_vcf(&mut self, pos: u32, reference: &str, alt: &str) -> Result<(), NotAnnotated> {
        let (r, a) = (reference.as_bytes(), alt.as_bytes());
        match a {
            b"*" => return Err(NotAnnotated::Overlapping),
            b"." | b"" => return Err(NotAnnotated::NoChange),
            _ if a[0] == b'<' => return Err(NotAnnotated::Symbolic),
            _ if a.contains(&b'[')
                || a.contains(&b']')
                || a[0] == b'.'
                || a[a.len() - 1] == b'.' =>
            {
                return Err(NotAnnotated::Breakend)
            }
            _ => {}
        }
        let same = |x: u8, y: u8| x.eq_ignore_ascii_case(&y);
        // VCF's padding base first, as VEP strips it; then the shared
        // trailing bases, then any other shared leading ones. So the allele
        // stays where the VCF puts it: `T>TGCT` inserts `GCT` after the T,
        // `GTCC>GTCCTCC` inserts `TCC` after the G (not after the second C).
        let pad = usize::from(!r.is_empty() && !a.is_empty() && same(r[0], a[0]));
        let (r, a) = (&r[pad..], &a[pad..]);
        let trail = r
            .iter()
            .rev()
            .zip(a.iter().rev())
            .take_while(|(x, y)| same(**x, **y))
            .count();
        let (r, a) = (&r[..r.len() - trail], &a[..a.len() - trail]);
        let more = r.iter().zip(a).take_while(|(x, y)| same(**x, **y)).count();
        let (r, a) = (&r[more..], &a[more..]);
        let lead = pad + more;
        if r.is_empty() && a.is_empty() {
            return Err(NotAnnotated::NoChange);
        }
        // Saturating: positions past 2^32 - 1 lie beyond every transcript.
        let start = pos.saturating_add(lead as u32);
        self.start = start;
        self.end = (start - 1).saturating_add(r.len() as u32);
        self.reference.clear();
        self.reference.extend(r.iter().map(u8::to_ascii_uppercase));
        self.alt.clear();
        self.alt.extend(a.iter().map(u8::to_ascii_uppercase));
        Ok(())
    }

    /// An insertion (no reference bases).
    pub fn is_insertion(&self) -> bool {
        self.reference.is_empty()
    }

    /// A deletion (no new bases).
    pub fn is_deletion(&self) -> bool {
        self.alt.is_empty()
    }

    /// A pure insertion or deletion: the only kinds HGVS shifts.
    pub fn is_indel(&self) -> bool {
        self.is_insertion() || self.is_deletion()
    }

    /// The allele as VEP's `Allele` field writes it: the new bases, or `-`
    /// for a deletion.
    pub fn display(&self) -> &str {
        if self.alt.is_empty() {
            "-"
        } else {
            std::str::from_utf8(&self.alt).unwrap_or("-")
        }
    }

    /// The lowest position this allele touches (for an insertion, the base
    /// before it) and the highest (the base after it): the span used to
    /// find overlapping transcripts.
    pub fn touched(&self) -> (u32, u32) {
        if self.is_insertion() {
            (self.end.max(1), self.start)
        } else {
            (self.start, self.end)
        }
    }
}

/// How far an indel can slide along the reference without changing the
/// sequence it makes: `right` bases towards higher positions, `left`
/// towards lower ones (both bounded by [`MAX_SHIFT`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Room {
    /// Bases it can move towards higher positions.
    pub right: u32,
    /// Bases it can move towards lower positions.
    pub left: u32,
}

/// The furthest an indel is shifted; longer repeats are described where
/// the shift stops (VEP stops at 1,000 too).
pub const MAX_SHIFT: u32 = 1000;

impl Room {
    /// The room `allele` has on `contig` of `reference`: zero for anything
    /// but a pure insertion or deletion, or where the reference cannot be
    /// read.
    pub fn measure(allele: &Allele, reference: &Reference, contig: ContigId) -> Room {
        if !allele.is_indel() {
            return Room::default();
        }
        let len = reference.contig_id_len(contig);
        if len == 0 {
            return Room::default();
        }
        // Most indels sit in short repeats: read a little around them
        // first, and more only when a shift reaches the window's edge.
        let mut flank = 64;
        loop {
            let Some((room, hit_edge)) = Self::measure_in(allele, reference, contig, len, flank)
            else {
                return Room::default();
            };
            if !hit_edge || flank >= u64::from(MAX_SHIFT) {
                return room;
            }
            flank = (flank * 4).min(u64::from(MAX_SHIFT));
        }
    }

    /// The room within `flank` bases of the allele, and whether a shift
    /// stopped at the window's edge (so more room may lie beyond it).
    fn measure_in(
        allele: &Allele,
        reference: &Reference,
        contig: ContigId,
        len: u64,
        flank: u64,
    ) -> Option<(Room, bool)> {
        let (start, end) = (u64::from(allele.start), u64::from(allele.end));
        let span = flank + allele.reference.len().max(allele.alt.len()) as u64;
        // Window (0-based, half-open) around the allele.
        let from = (start.saturating_sub(1)).saturating_sub(span);
        let to = (end + span).min(len);
        let mut window = Vec::with_capacity(usize::try_from(to.saturating_sub(from)).ok()?);
        reference
            .fetch_id_into(contig, from, to, &mut window)
            .ok()?;
        let at = |pos1: u64| -> Option<u8> {
            // 1-based position to a window byte.
            pos1.checked_sub(1 + from)
                .and_then(|i| window.get(i as usize).copied())
        };
        // A shift that stops for want of window (not at the contig's ends)
        // may go further.
        let edge = |pos1: u64| at(pos1).is_none() && pos1 >= 1 && pos1 <= len;
        let mut room = Room::default();
        let mut hit_edge = false;
        if allele.is_deletion() {
            // Slide [s, e] right while the base after equals the first.
            let (mut s, mut e) = (start, end);
            while room.right < MAX_SHIFT {
                match (at(s), at(e + 1)) {
                    (Some(a), Some(b)) if a == b && a != b'N' => {
                        s += 1;
                        e += 1;
                        room.right += 1;
                    }
                    _ => {
                        hit_edge |= edge(e + 1);
                        break;
                    }
                }
            }
            let (mut s, mut e) = (start, end);
            while room.left < MAX_SHIFT && s > 1 {
                match (at(s - 1), at(e)) {
                    (Some(a), Some(b)) if a == b && a != b'N' => {
                        s -= 1;
                        e -= 1;
                        room.left += 1;
                    }
                    _ => {
                        hit_edge |= edge(s - 1);
                        break;
                    }
                }
            }
        } else {
            // An insertion of `ins` before position p slides right while
            // ref[p] equals the first inserted base (which then rotates to
            // the end), left while ref[p - 1] equals the last.
            let mut ins = allele.alt.clone();
            let mut p = start;
            while room.right < MAX_SHIFT {
                match at(p) {
                    Some(b) if b == ins[0] => {
                        ins.rotate_left(1);
                        p += 1;
                        room.right += 1;
                    }
                    _ => {
                        hit_edge |= edge(p);
                        break;
                    }
                }
            }
            let mut ins = allele.alt.clone();
            let mut p = start;
            while room.left < MAX_SHIFT && p > 1 {
                match at(p - 1) {
                    Some(b) if b == ins[ins.len() - 1] => {
                        ins.rotate_right(1);
                        p -= 1;
                        room.left += 1;
                    }
                    _ => {
                        hit_edge |= edge(p - 1);
                        break;
                    }
                }
            }
        }
        Some((room, hit_edge))
    }
}

/// `allele` moved `by` bases towards higher (`by > 0`) or lower positions,
/// with its inserted bases rotated to match; only meaningful within the
/// allele's [`Room`].
pub fn shifted(allele: &Allele, by: i64) -> Allele {
    let mut out = allele.clone();
    if by == 0 {
        return out;
    }
    out.start = (i64::from(allele.start) + by) as u32;
    out.end = (i64::from(allele.end) + by) as u32;
    let k = (by.unsigned_abs() as usize) % allele.alt.len().max(1);
    if by > 0 {
        out.alt.rotate_left(k);
    } else {
        out.alt.rotate_right(k);
    }
    if !allele.reference.is_empty() {
        let k = (by.unsigned_abs() as usize) % allele.reference.len();
        if by > 0 {
            out.reference.rotate_left(k);
        } else {
            out.reference.rotate_right(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(seq: &str) -> Reference {
        let fasta = format!(">1\n{seq}\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.fa");
        std::fs::write(&path, fasta).unwrap();
        let r = Reference::open(&path).unwrap();
        std::mem::forget(dir);
        r
    }

    #[test]
    fn trimming() {
        let a = Allele::from_vcf(100, "AC", "A").unwrap();
        assert_eq!(
            (a.start, a.end, &a.reference[..], &a.alt[..]),
            (101, 101, &b"C"[..], &b""[..])
        );
        assert_eq!(a.display(), "-");
        let a = Allele::from_vcf(100, "A", "ATT").unwrap();
        assert_eq!((a.start, a.end, &a.alt[..]), (101, 100, &b"TT"[..]));
        assert!(a.is_insertion());
        let a = Allele::from_vcf(100, "ACGT", "AGGT").unwrap();
        assert_eq!(
            (a.start, a.end, &a.reference[..], &a.alt[..]),
            (101, 101, &b"C"[..], &b"G"[..])
        );
        // The padding base, then the shared end: the copy is placed right
        // after the padding base, where the VCF puts the event.
        let a = Allele::from_vcf(100, "GTCC", "GTCCTCC").unwrap();
        assert_eq!((a.start, a.end, &a.alt[..]), (101, 100, &b"TCC"[..]));
        let a = Allele::from_vcf(100, "c", "t").unwrap();
        assert_eq!(a.reference, b"C");
        assert_eq!(
            Allele::from_vcf(1, "A", "*"),
            Err(NotAnnotated::Overlapping)
        );
        assert_eq!(
            Allele::from_vcf(1, "A", "<DEL>"),
            Err(NotAnnotated::Symbolic)
        );
        assert_eq!(
            Allele::from_vcf(1, "A", "A]2:10]"),
            Err(NotAnnotated::Breakend)
        );
        assert_eq!(Allele::from_vcf(1, "A", ".A"), Err(NotAnnotated::Breakend));
        assert_eq!(Allele::from_vcf(1, "A", "a"), Err(NotAnnotated::NoChange));
        assert_eq!(Allele::from_vcf(1, "A", "."), Err(NotAnnotated::NoChange));
    }

    #[test]
    fn room_in_repeats() {
        //            1234567890
        let r = reference("GCAAAAGTCTCTCAG");
        // Deleting one A of AAAA (positions 3-6): room 3 right of pos 3.
        let del = Allele::from_vcf(2, "CA", "C").unwrap();
        assert_eq!(
            Room::measure(&del, &r, r.contig_id("1").unwrap()),
            Room { right: 3, left: 0 }
        );
        // Inserting TC inside TCTCTC (positions 8-13).
        let ins = Allele::from_vcf(7, "G", "GTC").unwrap();
        let room = Room::measure(&ins, &r, r.contig_id("1").unwrap());
        assert_eq!(room, Room { right: 6, left: 0 });
        let moved = shifted(&ins, 6);
        assert_eq!((moved.start, &moved.alt[..]), (14, &b"TC"[..]));
        let moved = shifted(&ins, 1);
        assert_eq!((moved.start, &moved.alt[..]), (9, &b"CT"[..]));
        // A repeat longer than the first window read is followed to its end.
        let long = format!("G{}C", "A".repeat(300));
        let r = reference(&long);
        let del = Allele::from_vcf(1, "GA", "G").unwrap();
        assert_eq!(
            Room::measure(&del, &r, r.contig_id("1").unwrap()),
            Room {
                right: 299,
                left: 0
            }
        );
        let ins = Allele::from_vcf(301, "A", "AA").unwrap();
        assert_eq!(
            Room::measure(&ins, &r, r.contig_id("1").unwrap()),
            Room {
                right: 0,
                left: 300
            }
        );
        // A substitution does not move.
        let snv = Allele::from_vcf(3, "A", "G").unwrap();
        assert_eq!(
            Room::measure(&snv, &r, r.contig_id("chr1").unwrap()),
            Room::default()
        );
    }
}
