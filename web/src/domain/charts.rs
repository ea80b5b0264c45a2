//! Pictures of an annotation, drawn on the server as SVG from the job's
//! statistics (the annotator's counts, stored beside the log): variant
//! classes, transitions against transversions, variants per chromosome,
//! how many variants the reference tracks annotated and, for jobs annotated
//! with transcript models, the predicted consequences and their impacts. No
//! chart library reaches the browser; every picture has a title and a text
//! description for screen readers.

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
    /// What consequence prediction found: absent for jobs annotated
    /// without transcript models, and for jobs from before it existed.
    pub consequences: Option<Consequences>,
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

/// What consequence prediction found over a job (`gas_annotate`'s
/// `ConsequenceStats`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Consequences {
    /// The transcript model files, by name.
    pub transcripts: Vec<String>,
    /// The reference genome's file name, when one was used.
    pub reference: Option<String>,
    /// ALT alleles by their most severe consequence, most severe first.
    pub most_severe: Vec<TermCount>,
    /// ALT alleles by the impact of their most severe consequence.
    pub impacts: Impacts,
    /// Genes with a HIGH-impact consequence, most alleles first; the
    /// annotator counts genes past its limit under [`OTHER_GENES`].
    pub high_impact_genes: Vec<GeneCount>,
    /// Records whose REF differs from the reference genome.
    pub ref_mismatches: u64,
    /// ALT alleles with no consequence (symbolic, breakends, `*`).
    pub not_annotated: u64,
    /// CSQ entries written.
    pub entries: u64,
}

/// ALT alleles whose most severe consequence is `term` (an SO term).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TermCount {
    pub term: String,
    /// `HIGH`, `MODERATE`, `LOW` or `MODIFIER`.
    pub impact: String,
    pub alleles: u64,
}

/// ALT alleles by impact.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct Impacts {
    pub high: u64,
    pub moderate: u64,
    pub low: u64,
    pub modifier: u64,
}

/// ALT alleles with a HIGH-impact consequence in `gene`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeneCount {
    pub gene: String,
    pub alleles: u64,
}

/// The name under which the annotator counts the HIGH-impact genes past
/// the most it keeps by name.
pub const OTHER_GENES: &str = "other";

/// The pictures a job page can show, by the name in their URL; the last
/// two only for jobs with consequences (see [`all`]).
pub const CHARTS: [&str; 6] = [
    "classes",
    "titv",
    "contigs",
    "annotated",
    "impacts",
    "consequences",
];

/// One picture: its name, an accessible title, and the SVG.
#[derive(Debug, Clone)]
pub struct Chart {
    pub name: &'static str,
    pub title: String,
    pub svg: String,
    /// Drawn wider than the others, for a whole row of the page.
    pub wide: bool,
}

/// The pictures this job has: every one in [`CHARTS`] but those about
/// consequences when the job has none.
pub fn all(summary: &Summary) -> Vec<Chart> {
    CHARTS
        .iter()
        .filter_map(|name| chart(summary, name))
        .collect()
}

/// The named picture, or `None` for a name that is not one (or one about
/// consequences, for a job without them).
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
        "consequences" => {
            let title = "ALT alleles by most severe consequence";
            let c = summary.consequences.as_ref()?;
            ("consequences", title, consequences(title, c))
        }
        "impacts" => {
            let title = "Impact of the most severe consequence (ALT alleles)";
            let c = summary.consequences.as_ref()?;
            ("impacts", title, impacts(title, c))
        }
        _ => return None,
    };
    Some(Chart {
        name,
        title: title.to_string(),
        svg,
        wide: matches!(name, "consequences" | "impacts"),
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

/// A share for the consequence pictures, where a few HIGH alleles among
/// millions are common: `<0.1%` rather than `0.0%` for some.
fn share(n: u64, of: u64) -> String {
    let p = percent(n, of);
    if n > 0 && p < 0.05 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

fn open_svg(out: &mut String, title: &str, desc: &str, width: u32, height: u32) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" font-family="system-ui, sans-serif" font-size="13"><title>{}</title><desc>{}</desc>"#,
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
    let rows: Vec<Row> = rows
        .iter()
        .map(|(label, fill, text)| Row {
            label,
            fill: *fill,
            text: text.clone(),
            colour: BAR,
            tip: None,
        })
        .collect();
    draw_bars(title, desc, &rows, WIDTH, LABEL, 150)
}

/// A row of [`draw_bars`].
struct Row<'a> {
    label: &'a str,
    /// How full the bar is, 0..=1.
    fill: f64,
    /// What is written right of the bar.
    text: String,
    colour: &'static str,
    /// A fuller label, shown on hovering the row.
    tip: Option<String>,
}

/// Bars one a row in a picture `width` wide, with a label column `label`
/// wide on the left and `text` left for the text on the right.
fn draw_bars(title: &str, desc: &str, rows: &[Row], width: u32, label: u32, text: u32) -> String {
    let height = ROW * rows.len() as u32 + 8;
    let mut out = String::new();
    open_svg(&mut out, title, desc, width, height);
    let room = width - label - text;
    for (i, row) in rows.iter().enumerate() {
        let y = 4 + ROW * i as u32;
        let mut w = (row.fill.clamp(0.0, 1.0) * room as f64).round() as u32;
        if row.fill > 0.0 {
            // Something, however little, shows.
            w = w.max(2);
        }
        if let Some(tip) = &row.tip {
            let _ = write!(out, "<g><title>{}</title>", escape(tip));
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end" fill="{INK}">{}</text><rect x="{label}" y="{y}" width="{room}" height="16" fill="{TRACK}" rx="3"/><rect x="{label}" y="{y}" width="{w}" height="16" fill="{}" rx="3"/><text x="{}" y="{}" fill="{INK}">{}</text>"#,
            label - 8,
            y + 13,
            escape(row.label),
            row.colour,
            label + room + 8,
            y + 13,
            escape(&row.text),
        );
        if row.tip.is_some() {
            out.push_str("</g>");
        }
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
    open_svg(&mut out, title, &desc, WIDTH, 70);
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

/// The impacts, most severe first, with their colours: the Okabe–Ito
/// palette, which colour-blind readers tell apart (and each picture also
/// writes the impact beside its colour).
const IMPACTS: [(&str, &str); 4] = [
    ("HIGH", "#d55e00"),
    ("MODERATE", "#e69f00"),
    ("LOW", "#0072b2"),
    ("MODIFIER", "#8c8c8c"),
];
/// The colour of a row that mixes impacts, or of an impact not known here.
const MIXED: &str = "#4a5568";
/// Rows the consequences picture draws at most; the terms with the fewest
/// alleles past them fold into one "other terms" row.
const MAX_TERMS: usize = 15;
/// The consequence pictures are wider than the others (the page gives
/// them a whole row): the bars' picture has a label column wide enough
/// for the longest SO term (`splice polypyrimidine tract variant`) and a
/// text column for a count, its share and the impact.
const WIDE: u32 = 640;
const TERM_LABEL: u32 = 246;
const TERM_TEXT: u32 = 214;
/// Genes the job page names at most.
pub const MAX_GENES_SHOWN: usize = 50;

fn impact_colour(impact: &str) -> &'static str {
    IMPACTS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(impact))
        .map_or(MIXED, |(_, colour)| colour)
}

/// An impact as the pictures write it.
fn impact_name(impact: &str) -> String {
    if impact.trim().is_empty() {
        "impact unknown".into()
    } else {
        impact.trim().to_ascii_uppercase()
    }
}

/// An SO term as a label: words instead of underscores
/// (`splice region variant`), and cut if longer than any term the annotator
/// knows.
fn term_label(term: &str) -> String {
    let words = term.replace('_', " ");
    if words.chars().count() <= 36 {
        return words;
    }
    let head: String = words.chars().take(35).collect();
    format!("{}…", head.trim_end())
}

/// The terms a picture draws, in the order given (most severe first), and
/// those folded into "other terms" when there are too many to draw: the
/// ones with the fewest alleles, but never a HIGH-impact one while there is
/// room (those are rare, and what readers look for).
fn fold_terms(terms: &[TermCount]) -> (Vec<&TermCount>, Vec<&TermCount>) {
    if terms.len() <= MAX_TERMS {
        return (terms.iter().collect(), Vec::new());
    }
    let mut by_count: Vec<usize> = (0..terms.len()).collect();
    let high = |k: usize| terms[k].impact.eq_ignore_ascii_case("HIGH");
    by_count.sort_by(|&a, &b| {
        (high(b), terms[b].alleles)
            .cmp(&(high(a), terms[a].alleles))
            .then(a.cmp(&b))
    });
    let mut keep = vec![false; terms.len()];
    for &i in &by_count[..MAX_TERMS - 1] {
        keep[i] = true;
    }
    let (mut shown, mut folded) = (Vec::new(), Vec::new());
    for (term, keep) in terms.iter().zip(keep) {
        if keep {
            shown.push(term);
        } else {
            folded.push(term);
        }
    }
    (shown, folded)
}

/// The sentence about alleles without a consequence, or nothing.
fn not_annotated(c: &Consequences) -> String {
    match c.not_annotated {
        0 => String::new(),
        1 => " 1 ALT allele has no consequence (symbolic, breakend or *).".into(),
        n => format!(" {n} ALT alleles have no consequence (symbolic, breakend or *)."),
    }
}

/// Bars of ALT alleles by most severe consequence, each the colour of its
/// impact, with the impact written beside it.
fn consequences(title: &str, c: &Consequences) -> String {
    let total: u64 = c.most_severe.iter().map(|t| t.alleles).sum();
    if total == 0 {
        let message = format!(
            "No ALT allele has a predicted consequence.{}",
            not_annotated(c)
        );
        return empty(title, &message);
    }
    let (shown, folded) = fold_terms(&c.most_severe);
    let other: u64 = folded.iter().map(|t| t.alleles).sum();
    let max = shown
        .iter()
        .map(|t| t.alleles)
        .chain([other])
        .max()
        .unwrap_or(0)
        .max(1);
    let labels: Vec<String> = shown.iter().map(|t| term_label(&t.term)).collect();
    let mut rows: Vec<Row> = shown
        .iter()
        .zip(&labels)
        .map(|(t, label)| Row {
            label,
            fill: t.alleles as f64 / max as f64,
            text: format!(
                "{} ({}) {}",
                t.alleles,
                share(t.alleles, total),
                impact_name(&t.impact)
            ),
            colour: impact_colour(&t.impact),
            tip: Some(format!("{} ({})", t.term, impact_name(&t.impact))),
        })
        .collect();
    let mut desc: Vec<String> = shown
        .iter()
        .zip(&labels)
        .map(|(t, label)| {
            format!(
                "{label} ({}): {} ({})",
                impact_name(&t.impact),
                t.alleles,
                share(t.alleles, total)
            )
        })
        .collect();
    if let Some(first) = folded.first() {
        let same = folded
            .iter()
            .all(|t| t.impact.eq_ignore_ascii_case(&first.impact));
        let impact = if same {
            impact_name(&first.impact)
        } else {
            "mixed".into()
        };
        let parts: Vec<String> = folded
            .iter()
            .map(|t| {
                format!(
                    "{} ({}): {}",
                    term_label(&t.term),
                    impact_name(&t.impact),
                    t.alleles
                )
            })
            .collect();
        desc.push(format!(
            "other terms ({impact}): {other} ({}), of which {}",
            share(other, total),
            parts.join(", ")
        ));
        rows.push(Row {
            label: "other terms",
            fill: other as f64 / max as f64,
            text: format!("{other} ({}) {impact}", share(other, total)),
            colour: if same {
                impact_colour(&first.impact)
            } else {
                MIXED
            },
            tip: Some(format!(
                "{} terms: {}",
                folded.len(),
                folded
                    .iter()
                    .map(|t| t.term.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        });
    }
    let desc = format!(
        "Of {total} ALT alleles with a consequence, by the most severe: {}.{}",
        desc.join("; "),
        not_annotated(c)
    );
    draw_bars(title, &desc, &rows, WIDE, TERM_LABEL, TERM_TEXT)
}

/// One bar split by impact, with a legend of counts and shares.
fn impacts(title: &str, c: &Consequences) -> String {
    let i = c.impacts;
    let counts = [i.high, i.moderate, i.low, i.modifier];
    let total: u64 = counts.iter().sum();
    if total == 0 {
        let message = format!(
            "No ALT allele has a predicted consequence.{}",
            not_annotated(c)
        );
        return empty(title, &message);
    }
    let desc = IMPACTS
        .iter()
        .zip(counts)
        .map(|((name, _), n)| format!("{name}: {n} ({})", share(n, total)))
        .collect::<Vec<_>>()
        .join("; ");
    let extra = not_annotated(c);
    let desc = format!("Of {total} ALT alleles with a consequence: {desc}.{extra}");
    let height = if extra.is_empty() { 80 } else { 102 };
    let mut out = String::new();
    open_svg(&mut out, title, &desc, WIDE, height);
    let room = WIDE - 20;
    let widths = segments(&counts, room);
    let mut x = 10;
    for (((_, colour), w), n) in IMPACTS.iter().zip(&widths).zip(counts) {
        if n == 0 {
            continue;
        }
        if x > 10 {
            // A white seam between neighbours tells them apart in any palette.
            let _ = write!(
                out,
                r##"<rect x="{x}" y="6" width="{w}" height="22" fill="{colour}"/><rect x="{x}" y="6" width="1" height="22" fill="#fff"/>"##
            );
        } else {
            let _ = write!(
                out,
                r#"<rect x="{x}" y="6" width="{w}" height="22" fill="{colour}"/>"#
            );
        }
        x += w;
    }
    for (k, ((name, colour), n)) in IMPACTS.iter().zip(counts).enumerate() {
        let (lx, ly) = (10 + WIDE / 2 * (k as u32 % 2), 40 + 22 * (k as u32 / 2));
        let _ = write!(
            out,
            r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colour}" rx="2"/><text x="{}" y="{}" fill="{INK}"><tspan font-weight="600">{name}</tspan> {n} ({})</text>"#,
            lx + 18,
            ly + 11,
            escape(&share(n, total))
        );
    }
    if !extra.is_empty() {
        let _ = write!(
            out,
            r#"<text x="10" y="95" fill="{INK}">{}</text>"#,
            escape(extra.trim())
        );
    }
    out.push_str("</svg>");
    out
}

/// Widths of a stacked bar's parts, adding up to `room`: a part with any
/// count at least 2 wide, so that a few HIGH alleles still show.
fn segments(counts: &[u64], room: u32) -> Vec<u32> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut widths: Vec<u32> = counts
        .iter()
        .map(|&n| match n {
            0 => 0,
            n => ((n as f64 / total as f64 * room as f64).round() as u32).max(2),
        })
        .collect();
    let sum: u32 = widths.iter().sum();
    if let Some(widest) = (0..widths.len()).max_by_key(|&k| widths[k]) {
        widths[widest] = (widths[widest] + room).saturating_sub(sum);
    }
    widths
}

/// What the job page writes under the pictures about consequences.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// HIGH-impact ALT alleles.
    pub high: u64,
    /// Genes with HIGH-impact variants to name, most alleles first (at
    /// most [`MAX_GENES_SHOWN`]).
    pub genes: Vec<GeneCount>,
    /// What follows the named genes ("and 12 more"), or nothing.
    pub more: String,
    /// The sentence about records whose REF differs from the reference
    /// genome, or nothing.
    pub ref_mismatches: String,
}

/// The notes about consequences, for a job that has them.
pub fn notes(summary: &Summary) -> Option<Notes> {
    let c = summary.consequences.as_ref()?;
    let (other, named): (Vec<&GeneCount>, Vec<&GeneCount>) = c
        .high_impact_genes
        .iter()
        .partition(|g| g.gene == OTHER_GENES);
    let other: u64 = other.iter().map(|g| g.alleles).sum();
    let hidden = named.len().saturating_sub(MAX_GENES_SHOWN);
    let more = match (hidden, other) {
        (0, 0) => String::new(),
        (n, 0) => format!("and {n} more"),
        (0, a) => format!("and genes not counted by name, with {a} alleles"),
        (n, a) => format!("and {n} more, besides genes not counted by name with {a} alleles"),
    };
    let ref_mismatches = match c.ref_mismatches {
        0 => String::new(),
        1 => "1 record has a REF that differs from the reference genome (flagged REF_MISMATCH)."
            .into(),
        n => format!(
            "{n} records have a REF that differs from the reference genome (flagged REF_MISMATCH)."
        ),
    };
    Some(Notes {
        high: c.impacts.high,
        genes: named.into_iter().take(MAX_GENES_SHOWN).cloned().collect(),
        more,
        ref_mismatches,
    })
}

fn empty(title: &str, message: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, title, message, WIDTH, 30);
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
    fn terms_read_as_words_and_unknown_long_ones_are_cut() {
        assert_eq!(term_label("5_prime_UTR_variant"), "5 prime UTR variant");
        let long = term_label("a_very_long_term_that_no_annotator_knows_of_yet");
        assert_eq!(long, "a very long term that no annotator…");
    }

    #[test]
    fn long_contig_names_are_shortened() {
        assert_eq!(short_label("chr1"), "chr1");
        assert_eq!(short_label("GL000192.1_random_long"), "GL000192.…m_long");
    }

    fn with_consequences() -> Summary {
        serde_json::from_str(
            r#"{"variants": 10, "alt_alleles": 1130,
                "consequences": {"transcripts": ["MT.gff3"], "reference": "MT.fa",
                  "most_severe": [
                    {"term": "stop_gained", "impact": "HIGH", "alleles": 3},
                    {"term": "missense_variant", "impact": "MODERATE", "alleles": 120},
                    {"term": "splice_polypyrimidine_tract_variant", "impact": "LOW", "alleles": 7},
                    {"term": "synonymous_variant", "impact": "LOW", "alleles": 300},
                    {"term": "upstream_gene_variant", "impact": "MODIFIER", "alleles": 700}],
                  "impacts": {"high": 3, "moderate": 120, "low": 307, "modifier": 700},
                  "high_impact_genes": [{"gene": "MT-ND5", "alleles": 2}, {"gene": "<b>&", "alleles": 1}],
                  "ref_mismatches": 2, "not_annotated": 4, "entries": 5000, "later": 1}}"#,
        )
        .unwrap()
    }

    #[test]
    fn consequence_pictures_only_for_jobs_with_consequences() {
        let old = summary();
        assert!(old.consequences.is_none());
        assert!(chart(&old, "consequences").is_none());
        assert!(chart(&old, "impacts").is_none());
        assert!(notes(&old).is_none());
        let names: Vec<&str> = all(&with_consequences()).iter().map(|c| c.name).collect();
        assert_eq!(names, CHARTS);
        // `null` reads as absent too.
        let null: Summary = serde_json::from_str(r#"{"consequences": null}"#).unwrap();
        assert_eq!(all(&null).len(), 4);
    }

    #[test]
    fn consequences_are_described_and_coloured_by_impact() {
        let svg = chart(&with_consequences(), "consequences").unwrap().svg;
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("Of 1130 ALT alleles with a consequence"),
            "{svg}"
        );
        assert!(
            svg.contains("missense variant (MODERATE): 120 (10.6%)"),
            "{svg}"
        );
        assert!(svg.contains("stop gained (HIGH): 3 (0.3%)"));
        assert!(svg.contains("4 ALT alleles have no consequence"));
        // Long terms are readable, whole, and in a column wide enough.
        assert!(svg.contains(">splice polypyrimidine tract variant</text>"));
        assert!(svg.contains(&format!("x=\"{}\"", TERM_LABEL - 8)));
        // Each bar has its impact's colour and the impact written beside it.
        for (term, impact) in [
            ("stop gained", "HIGH"),
            ("missense variant", "MODERATE"),
            ("synonymous variant", "LOW"),
            ("upstream gene variant", "MODIFIER"),
        ] {
            let row = &svg[svg.find(&format!(">{term}</text>")).unwrap()..];
            let row = &row[..row.find("</g>").unwrap()];
            assert!(row.contains(&format!("fill=\"{}\"", impact_colour(impact))));
            assert!(row.contains(&format!("%) {impact}</text>")), "{row}");
        }
        let colours: std::collections::HashSet<&str> = IMPACTS.iter().map(|i| i.1).collect();
        assert_eq!(colours.len(), 4);
        assert!(!colours.contains(MIXED));
    }

    #[test]
    fn many_terms_fold_into_other_terms() {
        let mut s = Summary::default();
        let terms = (0..20)
            .map(|k| TermCount {
                term: format!("term_{k}"),
                impact: if k < 17 { "LOW" } else { "MODIFIER" }.into(),
                // term_0 has the fewest: it folds although the most severe.
                alleles: if k == 0 { 1 } else { 100 + k },
            })
            .collect();
        s.consequences = Some(Consequences {
            most_severe: terms,
            ..Default::default()
        });
        let svg = chart(&s, "consequences").unwrap().svg;
        assert_eq!(svg.matches("<g>").count(), MAX_TERMS);
        // The six with the fewest alleles fold, term_0 too although it is
        // the most severe; the rest keep their order, most severe first.
        for k in 0..6 {
            assert!(!svg.contains(&format!(">term {k}</text>")));
        }
        assert!(svg.contains(">term 6</text>") && svg.contains(">term 19</text>"));
        assert!(svg.find(">term 6</text>") < svg.find(">term 19</text>"));
        let folded = 1 + (101..=105).sum::<u64>();
        assert!(svg.contains(">other terms</text>"));
        assert!(
            svg.contains(&format!("other terms (LOW): {folded} (")),
            "{svg}"
        );
        assert!(svg.contains("of which term 0 (LOW): 1, term 1 (LOW): 101"));
        // A HIGH-impact term is kept however few its alleles.
        let mut c = s.consequences.clone().unwrap();
        c.most_severe[0].impact = "HIGH".into();
        s.consequences = Some(c.clone());
        let svg = chart(&s, "consequences").unwrap().svg;
        assert!(svg.find(">term 0</text>") < svg.find(">term 7</text>"));
        assert!(!svg.contains(">term 6</text>"));
        // Mixed impacts are said so, in a colour no impact has.
        c.most_severe[0].impact = "LOW".into();
        c.most_severe[1].impact = "MODERATE".into();
        s.consequences = Some(c);
        let svg = chart(&s, "consequences").unwrap().svg;
        let row = &svg[svg.find(">other terms</text>").unwrap()..];
        assert!(row.contains(&format!("fill=\"{MIXED}\"")) && row.contains("%) mixed</text>"));
    }

    #[test]
    fn impacts_stack_with_counts_shares_and_legend() {
        let svg = chart(&with_consequences(), "impacts").unwrap().svg;
        assert!(
            svg.contains(
                "HIGH: 3 (0.3%); MODERATE: 120 (10.6%); LOW: 307 (27.2%); MODIFIER: 700 (61.9%)"
            ),
            "{svg}"
        );
        for (name, colour) in IMPACTS {
            assert!(
                svg.contains(&format!("fill=\"{colour}\" rx=\"2\"/><text")),
                "{name}"
            );
            assert!(svg.contains(&format!("<tspan font-weight=\"600\">{name}</tspan>")));
        }
        assert!(svg.contains("4 ALT alleles have no consequence"));
        // A few HIGH alleles among millions: a share that is not zero, and
        // a part of the bar that shows.
        let mut s = with_consequences();
        s.consequences.as_mut().unwrap().impacts.modifier = 5_000_000;
        let svg = chart(&s, "impacts").unwrap().svg;
        assert!(svg.contains("HIGH</tspan> 3 (&lt;0.1%)"), "{svg}");
        assert!(svg.contains("HIGH: 3 (&lt;0.1%)") && !svg.contains("(<"));
        assert_eq!(segments(&[3, 120, 307, 700], 540)[0], 2);
        assert_eq!(segments(&[3, 120, 307, 700], 540).iter().sum::<u32>(), 540);
        assert_eq!(segments(&[0, 0, 0, 5], 540), [0, 0, 0, 540]);
    }

    #[test]
    fn consequence_text_is_escaped() {
        let mut s = with_consequences();
        let c = s.consequences.as_mut().unwrap();
        c.most_severe[0].term = "<x&y>".into();
        c.most_severe[0].impact = "\"odd\"".into();
        let svg = chart(&s, "consequences").unwrap().svg;
        assert!(svg.contains("&lt;x&amp;y&gt;") && !svg.contains("<x&y>"));
        assert!(svg.contains("&quot;ODD&quot;") && !svg.contains("\"ODD"));
        assert!(svg.contains(&format!("fill=\"{MIXED}\"")));
    }

    #[test]
    fn no_alleles_with_consequences_say_so() {
        let s = Summary {
            consequences: Some(Consequences::default()),
            ..Default::default()
        };
        for name in ["consequences", "impacts"] {
            let svg = chart(&s, name).unwrap().svg;
            assert!(svg.contains("No ALT allele has a predicted consequence."));
        }
    }

    #[test]
    fn notes_name_genes_and_ref_mismatches() {
        let n = notes(&with_consequences()).unwrap();
        let genes: Vec<(&str, u64)> = n
            .genes
            .iter()
            .map(|g| (g.gene.as_str(), g.alleles))
            .collect();
        assert_eq!(genes, [("MT-ND5", 2), ("<b>&", 1)]);
        assert_eq!(n.more, "");
        assert_eq!(
            n.ref_mismatches,
            "2 records have a REF that differs from the reference genome (flagged REF_MISMATCH)."
        );
        let mut s = with_consequences();
        let c = s.consequences.as_mut().unwrap();
        c.ref_mismatches = 0;
        c.high_impact_genes = (0..60)
            .map(|k| GeneCount {
                gene: format!("G{k}"),
                alleles: 100 - k,
            })
            .collect();
        c.high_impact_genes.insert(
            3,
            GeneCount {
                gene: OTHER_GENES.into(),
                alleles: 77,
            },
        );
        let n = notes(&s).unwrap();
        assert_eq!(n.genes.len(), MAX_GENES_SHOWN);
        assert!(n.genes.iter().all(|g| g.gene != OTHER_GENES));
        assert_eq!(n.genes[49].gene, "G49");
        assert_eq!(
            n.more,
            "and 10 more, besides genes not counted by name with 77 alleles"
        );
        assert_eq!(n.ref_mismatches, "");
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
