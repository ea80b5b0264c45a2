//! The VCF header: the `##fileformat` version, meta lines (kept, replaced or
//! upgraded from VCFv3.3), the lines this annotator adds, and the `#CHROM`
//! column header.

use std::fmt;
use std::io::{self, Write};

use crate::consequence::Consequences;
use crate::meta::{upgrade_v3_meta, ADDED_INFO_KEYS, CONSEQUENCE_INFO_KEYS};
use crate::track::{copied_fields, Track, TrackKind};

/// The header line stamping a consequence annotation's sources; an input's
/// own is dropped (it described another run).
const CONSEQUENCE_STAMP_KEY: &str = "##GAS_CSQ=";

/// The INFO keys a run with `options` writes: [`reserved_info_keys`] and,
/// with consequences, [`CONSEQUENCE_INFO_KEYS`].
pub(crate) fn reserved_keys(options: &crate::Options) -> Vec<&str> {
    let mut keys = reserved_info_keys(&options.tracks);
    if options.consequences.is_some() {
        keys.extend(CONSEQUENCE_INFO_KEYS);
    }
    keys
}

/// The header lines describing `VC` and `TITV`.
const INFO_HEADER_LINES: [&str; 2] = [
    "##INFO=<ID=VC,Number=A,Type=String,Description=\"Variant class per ALT allele: SNV, MNV, INS, DEL, COMPLEX, OTHER\">",
    "##INFO=<ID=TITV,Number=A,Type=String,Description=\"Transition (ts) or transversion (tv) per ALT allele; . when not a single-base substitution\">",
];

/// The INFO keys a run with `tracks` writes (and so replaces): `VC` and
/// `TITV`, `GENE` when a BED track is used, and the names of the fields VCF
/// tracks copy.
pub(crate) fn reserved_info_keys(tracks: &[Track]) -> Vec<&str> {
    let bed_tracks = tracks.iter().any(|t| t.kind() == TrackKind::Bed);
    let mut keys = ADDED_INFO_KEYS[..if bed_tracks { 3 } else { 2 }].to_vec();
    keys.extend(
        copied_fields(tracks)
            .into_iter()
            .map(|(_, _, f)| f.field.name.as_str()),
    );
    keys
}

/// The key of the provenance meta line this annotator adds.
const PROVENANCE_KEY: &str = "##gas_annotate=";

/// The eight fixed columns of the `#CHROM` line.
const FIXED_COLUMNS: [&str; 8] = [
    "#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
];

/// A VCF version as declared by `##fileformat=VCFv<major>.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VcfVersion {
    major: u8,
    minor: u8,
}

impl VcfVersion {
    const V4_1: VcfVersion = VcfVersion { major: 4, minor: 1 };
    const V4_2: VcfVersion = VcfVersion { major: 4, minor: 2 };

    /// Parses the value of `##fileformat=`, e.g. `VCFv4.2`; `None` unless it
    /// has that shape.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let (major, minor) = value.strip_prefix("VCFv")?.split_once('.')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(VcfVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// Whether this annotator reads the version: VCFv3.3 and VCFv4.0-4.4.
    pub(crate) fn is_supported(self) -> bool {
        matches!((self.major, self.minor), (3, 3) | (4, 0..=4))
    }

    /// Whether records need the VCFv3.3 to VCFv4 conversion (QUAL `-1`,
    /// FILTER `0`) and meta lines the 3.3 to 4 syntax upgrade.
    pub(crate) fn is_v3(self) -> bool {
        self.major == 3
    }

    /// The version the output declares: VCFv4.2 for inputs older than
    /// VCFv4.1 (the added INFO lines use `Number=A`, which VCFv4.1
    /// introduced), the input's own version otherwise.
    pub(crate) fn output(self) -> Self {
        if self < Self::V4_1 {
            Self::V4_2
        } else {
            self
        }
    }
}

impl fmt::Display for VcfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VCFv{}.{}", self.major, self.minor)
    }
}

/// What to do with one `##` meta line of the input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MetaLine {
    /// Copy it to the output unchanged.
    Keep,
    /// Leave it out: the annotator writes its own version of the line.
    Drop,
    /// Write this instead (a VCFv3.3 line in VCFv4 syntax).
    Replace(String),
}

/// Decides what happens to the meta line `line` (starting with `##`, but not
/// `##fileformat=`). `v3` says whether the input is VCFv3.3; INFO
/// definitions of the `reserved` keys are dropped.
pub(crate) fn meta_line(line: &str, v3: bool, reserved: &[&str]) -> MetaLine {
    if line.starts_with(PROVENANCE_KEY) || line.starts_with(CONSEQUENCE_STAMP_KEY) {
        return MetaLine::Drop;
    }
    if let Some(definition) = line.strip_prefix("##INFO=") {
        if let Some(id) = definition_id(definition) {
            if reserved.contains(&id) {
                return MetaLine::Drop;
            }
        }
    }
    if v3 {
        if let Some(upgraded) = upgrade_v3_meta(line) {
            return MetaLine::Replace(upgraded);
        }
    }
    MetaLine::Keep
}

/// The ID of an INFO/FORMAT/FILTER definition, in VCFv4 (`<ID=X,...>`) or
/// VCFv3.3 (`X,...`) syntax.
fn definition_id(definition: &str) -> Option<&str> {
    let (id, _) = match definition.strip_prefix('<') {
        Some(structured) => structured.strip_prefix("ID=")?.split_once([',', '>'])?,
        None => definition.split_once(',')?,
    };
    Some(id)
}

/// Checks the `#CHROM` line and returns the number of sample columns.
///
/// # Errors
/// A message naming the problem: a fixed column missing or misnamed, or
/// sample columns without `FORMAT`.
pub(crate) fn parse_column_header(line: &str) -> Result<usize, String> {
    let mut columns = line.split('\t');
    for expected in FIXED_COLUMNS {
        match columns.next() {
            Some(found) if found == expected => {}
            Some(found) => {
                return Err(format!(
                    "bad #CHROM header line: expected column {expected:?}, found {:?} (columns must be tab-separated)",
                    crate::error::snippet(found)
                ))
            }
            None => return Err(format!("bad #CHROM header line: column {expected:?} missing")),
        }
    }
    match columns.next() {
        None => Ok(0),
        Some("FORMAT") => Ok(columns.count()),
        Some(found) => Err(format!(
            "bad #CHROM header line: expected \"FORMAT\" after \"INFO\", found {:?}",
            crate::error::snippet(found)
        )),
    }
}

/// Writes the lines the annotator adds just before `#CHROM`: the INFO
/// definitions (`GENE` when a BED track is used, then the fields VCF
/// tracks copy) and the provenance line
/// `##gas_annotate=<Version=...[,Tracks="..."][,InputFileformat=...]>`,
/// where Tracks lists each track as `name (KIND, assembly)` (`name (VCF,
/// assembly, INFO FIELD,...)` for a track copying fields), `;`-separated.
pub(crate) fn write_added_lines<W: Write>(
    out: &mut W,
    version: &str,
    input: VcfVersion,
    tracks: &[Track],
    consequences: Option<&Consequences>,
) -> io::Result<()> {
    for line in INFO_HEADER_LINES {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    let beds: Vec<&str> = tracks
        .iter()
        .filter(|t| t.kind() == TrackKind::Bed)
        .map(Track::name)
        .collect();
    if !beds.is_empty() {
        writeln!(
            out,
            "##INFO=<ID=GENE,Number=.,Type=String,Description=\"Names of the features overlapping the variant (BED column 4) in {}\">",
            quotable(&beds.join(", "))
        )?;
    }
    for (t, _, copied) in copied_fields(tracks) {
        let field = &copied.field;
        let from = if field.id == field.name {
            quotable(tracks[t].name())
        } else {
            format!("INFO/{} of {}", field.id, quotable(tracks[t].name()))
        };
        let space = if copied.description.is_empty() {
            ""
        } else {
            " "
        };
        writeln!(
            out,
            "##INFO=<ID={},Number={},Type={},Description=\"{}{space}(from {from})\">",
            field.name,
            copied.alignment.number(),
            copied.kind,
            copied.description,
        )?;
    }
    if let Some(consequences) = consequences {
        for line in consequences.header_lines(version) {
            writeln!(out, "{line}")?;
        }
    }
    // A structured value ends at ',' or '>': keep the version inside it.
    let version: String = version
        .chars()
        .map(|c| {
            if c == ',' || c == '>' || c == '<' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    write!(out, "{PROVENANCE_KEY}<Version={version}")?;
    if !tracks.is_empty() {
        let list: Vec<String> = tracks
            .iter()
            .map(|t| {
                let fields: Vec<String> = t.fields().map(ToString::to_string).collect();
                let fields = if fields.is_empty() {
                    String::new()
                } else {
                    format!(", INFO {}", fields.join(","))
                };
                format!(
                    "{} ({}, {}{fields})",
                    t.name(),
                    t.kind().as_str(),
                    t.assembly()
                )
            })
            .collect();
        write!(out, ",Tracks=\"{}\"", quotable(&list.join(";")))?;
    }
    if input.output() != input {
        write!(out, ",InputFileformat={input}")?;
    }
    out.write_all(b">\n")
}

/// `text` made safe inside a double-quoted header value: `"` and `\` become
/// `'` and `/`, control characters `_`.
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::info_definition;

    #[test]
    fn versions() {
        let v = |s| VcfVersion::parse(s);
        assert_eq!(
            v("VCFv4.2").map(|x| x.to_string()).as_deref(),
            Some("VCFv4.2")
        );
        for ok in [
            "VCFv3.3", "VCFv4.0", "VCFv4.1", "VCFv4.2", "VCFv4.3", "VCFv4.4",
        ] {
            assert!(v(ok).unwrap().is_supported(), "{ok}");
        }
        for unsupported in ["VCFv3.2", "VCFv4.5", "VCFv5.0"] {
            assert!(!v(unsupported).unwrap().is_supported(), "{unsupported}");
        }
        for bad in [
            "VCF4.2", "VCFv4", "VCFv4.x", "BCFv2.2", "VCFv.2", "VCFv4.2 ",
        ] {
            assert_eq!(v(bad), None, "{bad}");
        }
        assert_eq!(v("VCFv3.3").unwrap().output().to_string(), "VCFv4.2");
        assert_eq!(v("VCFv4.0").unwrap().output().to_string(), "VCFv4.2");
        assert_eq!(v("VCFv4.1").unwrap().output().to_string(), "VCFv4.1");
        assert_eq!(v("VCFv4.4").unwrap().output().to_string(), "VCFv4.4");
    }

    #[test]
    fn reserved_and_provenance_lines_are_dropped() {
        for line in [
            "##INFO=<ID=VC,Number=1,Type=String,Description=\"old\">",
            "##INFO=<ID=TITV,Number=A,Type=String,Description=\"old\">",
            "##INFO=VC,1,String,\"old\"",
            "##gas_annotate=<Version=0.0.1>",
        ] {
            assert_eq!(
                meta_line(line, false, &reserved_info_keys(&[])),
                MetaLine::Drop,
                "{line}"
            );
        }
        let bed = Track::from_reader("g.bed", "1\t0\t1\tA\n".as_bytes()).unwrap();
        let gene = "##INFO=<ID=GENE,Number=1,Type=String,Description=\"old\">";
        assert_eq!(
            meta_line(gene, false, &reserved_info_keys(&[bed])),
            MetaLine::Drop
        );
        assert_eq!(
            meta_line(gene, false, &reserved_info_keys(&[])),
            MetaLine::Keep
        );
        for line in [
            "##INFO=<ID=VCX,Number=1,Type=String,Description=\"x\">",
            "##FORMAT=<ID=VC,Number=1,Type=String,Description=\"x\">",
            "##reference=rCRS",
        ] {
            assert_eq!(
                meta_line(line, false, &reserved_info_keys(&[])),
                MetaLine::Keep,
                "{line}"
            );
        }
    }

    #[test]
    fn v3_meta_lines_are_upgraded() {
        let up = |line| match meta_line(line, true, &reserved_info_keys(&[])) {
            MetaLine::Replace(s) => s,
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(
            up("##INFO=DP,1,Integer,\"Total Depth\""),
            "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Total Depth\">"
        );
        assert_eq!(
            up("##INFO=AA,1,String,\"Ancestral Allele, ftp://x/README\""),
            "##INFO=<ID=AA,Number=1,Type=String,Description=\"Ancestral Allele, ftp://x/README\">"
        );
        assert_eq!(
            up("##FORMAT=GT,1,String,\"Genotype\""),
            "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">"
        );
        assert_eq!(
            up("##INFO=AC,-1,Integer,Allele count"),
            "##INFO=<ID=AC,Number=.,Type=Integer,Description=\"Allele count\">"
        );
        assert_eq!(
            up("##FILTER=q10,\"Quality below 10\""),
            "##FILTER=<ID=q10,Description=\"Quality below 10\">"
        );
        for keep in [
            "##reference=human_b36_both.fasta",
            "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"x\">",
            "##INFO=broken",
        ] {
            assert_eq!(
                meta_line(keep, true, &reserved_info_keys(&[])),
                MetaLine::Keep,
                "{keep}"
            );
        }
    }

    #[test]
    fn info_definitions() {
        let def = |line| info_definition(line).map(|d| (d.id, d.number, d.kind, d.description));
        let owned = |a: &str, b: &str, c: &str, d: &str| {
            Some((a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        };
        assert_eq!(
            def("##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"a, b; c=d\">"),
            owned("CLNSIG", ".", "String", "a, b; c=d")
        );
        assert_eq!(
            def("##INFO=<ID=AF,Number=A,Type=Float,Description=\"x \\\"y\\\" >z\",Source=\"s\",Version=\"1\">"),
            owned("AF", "A", "Float", "x \\\"y\\\" >z")
        );
        assert_eq!(
            def("##INFO=<Number=0,ID=DB,Type=Flag,Description=\"\">  "),
            owned("DB", "0", "Flag", "")
        );
        assert_eq!(
            def("##INFO=AC,-1,Integer,\"Allele count\""),
            owned("AC", ".", "Integer", "Allele count")
        );
        for bad in [
            "##INFO=<ID=X,Number=1,Type=String,Description=\"open>",
            "##INFO=<Number=1>",
            "##INFO=<ID=X,Description=\"a\"b>",
            "##FORMAT=<ID=X,Number=1,Type=String,Description=\"x\">",
            "##INFO=broken",
        ] {
            assert_eq!(def(bad), None, "{bad}");
        }
    }

    #[test]
    fn copied_fields_are_defined_and_named() {
        let vcf = "##fileformat=VCFv4.2\n\
            ##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Significance\">\n\
            ##INFO=<ID=AF,Number=A,Type=Float,Description=\"\">\n\
            #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
        let track = crate::track::Track::read(
            std::path::Path::new("clin\"var.vcf"),
            "clin\"var.vcf".to_string(),
            vcf.as_bytes(),
            None,
            &[
                crate::TrackField::new("CLNSIG"),
                crate::TrackField::renamed("AF", "CLN_AF"),
            ],
        )
        .unwrap();
        let tracks = [track];
        assert_eq!(
            reserved_info_keys(&tracks),
            ["VC", "TITV", "CLNSIG", "CLN_AF"]
        );
        let mut out = Vec::new();
        write_added_lines(
            &mut out,
            "1",
            VcfVersion::parse("VCFv4.2").unwrap(),
            &tracks,
            None,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "##INFO=<ID=CLNSIG,Number=A,Type=String,Description=\"Significance (from clin'var.vcf)\">",
                "##INFO=<ID=CLN_AF,Number=A,Type=Float,Description=\"(from INFO/AF of clin'var.vcf)\">",
                "##gas_annotate=<Version=1,Tracks=\"clin'var.vcf (VCF, GRCh37, INFO CLNSIG,AF=CLN_AF)\">",
            ]
        );
    }

    #[test]
    fn column_header() {
        assert_eq!(
            parse_column_header("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"),
            Ok(0)
        );
        assert_eq!(
            parse_column_header("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB"),
            Ok(2)
        );
        assert_eq!(
            parse_column_header("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"),
            Ok(0)
        );
        assert!(parse_column_header("#CHROM POS ID REF ALT QUAL FILTER INFO").is_err());
        assert!(parse_column_header("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER").is_err());
        assert!(parse_column_header("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tA").is_err());
    }

    #[test]
    fn added_lines() {
        let mut out = Vec::new();
        write_added_lines(
            &mut out,
            "1.2 beta,x",
            VcfVersion::parse("VCFv3.3").unwrap(),
            &[],
            None,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("##INFO=<ID=VC,Number=A,"));
        assert!(lines[1].starts_with("##INFO=<ID=TITV,Number=A,"));
        assert_eq!(
            lines[2],
            "##gas_annotate=<Version=1.2_beta_x,InputFileformat=VCFv3.3>"
        );
        let mut out = Vec::new();
        write_added_lines(
            &mut out,
            "1",
            VcfVersion::parse("VCFv4.2").unwrap(),
            &[],
            None,
        )
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("##gas_annotate=<Version=1>\n"));
    }
}
