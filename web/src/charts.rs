//! Pictures of an annotation, drawn on the server as SVG from the job's
//! statistics (the annotator's counts, stored beside the log): variant
//! classes, transitions against transversions, variants per chromosome,
//! and how many variants the reference tracks annotated. No chart library
//! reaches the browser; every picture has a title and a text description
//! for screen readers.

use std::fmt::Write as _;

use serde::Deserialize;

/// What the pictures need of the annotator's statistics (the JSON that
/// `gas_annotate::Stats` serializes to; missing fields read as zero).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub variants: u64,
    pub alt_alleles: u64,
    pub classes: Classes,
    pub transitions: u64,
    pub transversions: u64,
    pub ts_tv_ratio: Option<f64>,
    pub contigs: Vec<Contig>,
    pub tracks: Vec<Track>,
    pub with_id: u64,
    pub in_genes: u64,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct Classes {
    pub snv: u64,
    pub mnv: u64,
    pub ins: u64,
    pub del: u64,
    pub complex: u64,
    pub other: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Contig {
    pub name: String,
    pub variants: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Track {
    pub kind: String,
}

/// The pictures a job page shows, by the name in their URL.
pub const CHARTS: [&str; 4] = ["classes", "titv", "contigs", "annotated"];

/// One picture: its name, an accessible title, and the SVG.
#[derive(Debug, Clone)]
pub struct Chart {
    pub name: &'static str,
    pub title: String,
    pub svg: String,
}

pub fn all(summary: &Summary) -> Vec<Chart> {
    CHARTS
        .iter()
        .filter_map(|name| chart(summary, name))
        .collect()
}

/// The named picture, or `None` for a name that is not one.
pub fn chart(summary: &Summary, name: &str) -> Option<Chart> {
    let (name, title, svg) = match name {
        "classes" => {
            let c = summary.classes;
            let rows = [
                ("SNV", c.snv),
                ("MNV", c.mnv),
                ("Insertion", c.ins),
                ("Deletion", c.del),
                ("Complex", c.complex),
                ("Other", c.other),
            ];
            let title = "Variant classes (ALT alleles)";
            ("classes", title, bars(title, &rows, summary.alt_alleles))
        }
        "titv" => {
            let title = "Transitions and transversions (SNVs)";
            ("titv", title, titv(title, summary))
        }
        "contigs" => {
            let names: Vec<String> = summary
                .contigs
                .iter()
                .take(30)
                .map(|c| short_label(&c.name))
                .collect();
            let rows: Vec<(&str, u64)> = names
                .iter()
                .zip(&summary.contigs)
                .map(|(name, c)| (name.as_str(), c.variants))
                .collect();
            let title = "Variants per chromosome";
            ("contigs", title, bars(title, &rows, summary.variants))
        }
        "annotated" => {
            let has = |kind: &str| {
                summary
                    .tracks
                    .iter()
                    .any(|t| t.kind.eq_ignore_ascii_case(kind))
            };
            let mut rows = Vec::new();
            if has("bed") {
                rows.push(("In a gene", summary.in_genes));
            }
            if has("vcf") {
                rows.push(("With a dbSNP id", summary.with_id));
            }
            let title = "Variants annotated by the reference tracks";
            let svg = if rows.is_empty() {
                empty(title, "No reference tracks were used for this job.")
            } else {
                share_bars(title, &rows, summary.variants)
            };
            ("annotated", title, svg)
        }
        _ => return None,
    };
    Some(Chart {
        name,
        title: title.to_string(),
        svg,
    })
}

const WIDTH: u32 = 560;
const ROW: u32 = 26;
const LABEL: u32 = 130;
const BAR: &str = "#2563a8";
const TRACK: &str = "#e6ebf2";
const INK: &str = "#1d2430";

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

fn open_svg(out: &mut String, title: &str, desc: &str, height: u32) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" font-family="system-ui, sans-serif" font-size="13"><title>{}</title><desc>{}</desc>"#,
        escape(title),
        escape(desc)
    );
}

/// Horizontal bars, one a row, scaled to the largest; each labelled with
/// its count and share of `total`.
fn bars(title: &str, rows: &[(&str, u64)], total: u64) -> String {
    if rows.is_empty() || total == 0 {
        return empty(title, "Nothing to count: the input had no variants.");
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let desc = rows
        .iter()
        .map(|(l, n)| format!("{l}: {n} ({:.1}%)", percent(*n, total)))
        .collect::<Vec<_>>()
        .join("; ");
    let drawn: Vec<(&str, f64, String)> = rows
        .iter()
        .map(|(l, n)| {
            (
                *l,
                *n as f64 / max as f64,
                format!("{n} ({:.1}%)", percent(*n, total)),
            )
        })
        .collect();
    draw_rows(title, &desc, &drawn)
}

/// Bars of a share of `total` each (0..100%).
fn share_bars(title: &str, rows: &[(&str, u64)], total: u64) -> String {
    if total == 0 {
        return empty(title, "Nothing to count: the input had no variants.");
    }
    let desc = rows
        .iter()
        .map(|(l, n)| format!("{l}: {n} of {total} variants ({:.1}%)", percent(*n, total)))
        .collect::<Vec<_>>()
        .join("; ");
    let drawn: Vec<(&str, f64, String)> = rows
        .iter()
        .map(|(l, n)| {
            let share = percent(*n, total);
            (*l, share / 100.0, format!("{share:.1}% ({n} of {total})"))
        })
        .collect();
    draw_rows(title, &desc, &drawn)
}

/// One row a bar: its label, how full (0..=1), and the text beside it.
fn draw_rows(title: &str, desc: &str, rows: &[(&str, f64, String)]) -> String {
    let height = ROW * rows.len() as u32 + 8;
    let mut out = String::new();
    open_svg(&mut out, title, desc, height);
    let room = WIDTH - LABEL - 150;
    for (i, (label, fill, text)) in rows.iter().enumerate() {
        let y = 4 + ROW * i as u32;
        let w = (fill.clamp(0.0, 1.0) * room as f64).round() as u32;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end" fill="{INK}">{}</text><rect x="{LABEL}" y="{y}" width="{room}" height="16" fill="{TRACK}" rx="3"/><rect x="{LABEL}" y="{y}" width="{w}" height="16" fill="{BAR}" rx="3"/><text x="{}" y="{}" fill="{INK}">{}</text>"#,
            LABEL - 8,
            y + 13,
            escape(label),
            LABEL + room + 8,
            y + 13,
            escape(text),
        );
    }
    out.push_str("</svg>");
    out
}

/// One bar split into transitions and transversions, with the ratio.
fn titv(title: &str, s: &Summary) -> String {
    let total = s.transitions + s.transversions;
    if total == 0 {
        return empty(title, "No single-nucleotide variants to compare.");
    }
    let ratio = s
        .ts_tv_ratio
        .map(|r| format!("{r:.2}"))
        .unwrap_or_else(|| "n/a".into());
    let desc = format!(
        "Transitions: {} ({:.1}%); transversions: {} ({:.1}%); Ts/Tv ratio {ratio}",
        s.transitions,
        percent(s.transitions, total),
        s.transversions,
        percent(s.transversions, total)
    );
    let mut out = String::new();
    open_svg(&mut out, title, &desc, 70);
    let room = WIDTH - 20;
    let ts = (percent(s.transitions, total) / 100.0 * room as f64).round() as u32;
    let _ = write!(
        out,
        r##"<rect x="10" y="6" width="{ts}" height="22" fill="{BAR}"/><rect x="{}" y="6" width="{}" height="22" fill="#d97a1e"/><text x="10" y="46" fill="{INK}">Transitions {} ({:.1}%)</text><text x="{}" y="46" text-anchor="end" fill="{INK}">Transversions {} ({:.1}%)</text><text x="10" y="64" fill="{INK}" font-weight="600">Ts/Tv = {ratio}</text>"##,
        10 + ts,
        room - ts,
        s.transitions,
        percent(s.transitions, total),
        10 + room,
        s.transversions,
        percent(s.transversions, total)
    );
    out.push_str("</svg>");
    out
}

fn empty(title: &str, message: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, title, message, 30);
    let _ = write!(
        out,
        r#"<text x="10" y="20" fill="{INK}">{}</text></svg>"#,
        escape(message)
    );
    out
}

/// A label that fits the label column: long contig names keep their start
/// and end.
fn short_label(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= 16 {
        return name.to_string();
    }
    let head: String = chars[..9].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

/// Escapes text for SVG/XML content and attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        serde_json::from_str(
            r#"{"variants": 10, "alt_alleles": 11, "classes": {"snv": 8, "ins": 2, "del": 1},
                "transitions": 6, "transversions": 2, "ts_tv_ratio": 3.0,
                "contigs": [{"name": "1", "variants": 7}, {"name": "<X&Y>", "variants": 3}],
                "tracks": [{"kind": "bed"}, {"kind": "vcf"}], "with_id": 4, "in_genes": 5,
                "something_new": true}"#,
        )
        .unwrap()
    }

    #[test]
    fn every_chart_draws_and_describes_its_numbers() {
        let charts = all(&summary());
        assert_eq!(charts.len(), 4);
        let classes = &charts[0].svg;
        assert!(classes.starts_with("<svg") && classes.ends_with("</svg>"));
        assert!(classes.contains("SNV: 8 (72.7%)"), "{classes}");
        assert!(charts[1].svg.contains("Ts/Tv = 3.00"));
        assert!(charts[3]
            .svg
            .contains("With a dbSNP id: 4 of 10 variants (40.0%)"));
    }

    #[test]
    fn labels_are_escaped() {
        let contigs = chart(&summary(), "contigs").unwrap().svg;
        assert!(contigs.contains("&lt;X&amp;Y&gt;"));
        assert!(!contigs.contains("<X&Y>"));
    }

    #[test]
    fn long_contig_names_are_shortened() {
        assert_eq!(short_label("chr1"), "chr1");
        assert_eq!(short_label("GL000192.1_random_long"), "GL000192.…m_long");
    }

    #[test]
    fn empty_inputs_say_so() {
        let s = Summary::default();
        assert!(chart(&s, "classes").unwrap().svg.contains("no variants"));
        assert!(chart(&s, "annotated")
            .unwrap()
            .svg
            .contains("No reference tracks"));
        assert!(chart(&s, "nope").is_none());
    }
}
