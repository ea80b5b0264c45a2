//! A job's variant table, `/annotations/{id}/variants`: a plain form whose
//! filters live in the URL (the API's parameters), 50 rows a page with a
//! link to the next, column headers that sort, each row opening to the
//! allele's other transcripts, and links to the exports. No script
//! needed; with one (`assets/variants.js`) the form, the sorts and the
//! pages fetch the API's JSON and redraw the table in place.
//!
//! When the download's rule refuses the results (a free user after the
//! window, or results coming back from cold storage) the page says why in
//! the job page's words and offers what the job page offers: the upgrade,
//! or the wait. A bad filter is said above the form, its values kept.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use gas_variants::{Params, Variant};

use crate::domain::error::Error;
use crate::domain::jobs::own_job;
use crate::domain::variants;
use crate::pages::error::{status_and_words, PageError};
use crate::pages::extract::SignedIn;
use crate::pages::job::{view, JobView, Phase};
use crate::pages::render::{render, Layout, Nav};
use crate::primitives::csrf::CsrfToken;
use crate::state::WebState;

/// One transcript of a row, as the page writes it.
pub struct TranscriptRow {
    pub gene: String,
    pub feature: String,
    pub biotype: String,
    pub consequence: String,
    pub impact: String,
    pub hgvsc: String,
    pub hgvsp: String,
}

/// One variant allele, as the page writes it.
pub struct Row {
    pub chrom: String,
    pub pos: u64,
    pub id: String,
    pub reference: String,
    pub alt: String,
    pub gene: String,
    pub consequence: String,
    pub impact: String,
    pub hgvsc: String,
    pub hgvsp: String,
    pub clinvar: String,
    pub af: String,
    pub transcripts: Vec<TranscriptRow>,
}

impl Row {
    fn of(v: Variant) -> Row {
        Row {
            chrom: v.chrom,
            pos: v.pos,
            id: v.id.unwrap_or_default(),
            reference: v.reference,
            alt: v.alt,
            gene: v.gene.unwrap_or_default(),
            consequence: v.consequence.unwrap_or_default().replace('&', ", "),
            impact: v.impact.unwrap_or_default(),
            hgvsc: v.hgvsc.unwrap_or_default(),
            hgvsp: v.hgvsp.unwrap_or_default(),
            clinvar: v.clinvar.unwrap_or_default().replace('_', " "),
            af: v.af.map(|a| a.to_string()).unwrap_or_default(),
            transcripts: v
                .transcripts
                .into_iter()
                .map(|t| TranscriptRow {
                    gene: t.gene.unwrap_or_default(),
                    feature: t.feature.unwrap_or_default(),
                    biotype: t.biotype.unwrap_or_default(),
                    consequence: t.consequence.unwrap_or_default().replace('&', ", "),
                    impact: t.impact.unwrap_or_default(),
                    hgvsc: t.hgvsc.unwrap_or_default(),
                    hgvsp: t.hgvsp.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// A choice of a select, with whether it is the current one.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A column header; the sortable ones link to their sort.
pub struct Column {
    pub label: &'static str,
    /// The sort's name (`data-sort`), empty for a column that does not sort.
    pub sort: &'static str,
    /// The table sorted by this column, same filters, first page.
    pub href: String,
    /// `aria-sort` when the table is sorted by this column, else empty.
    pub order: &'static str,
}

/// Why the page shows no table, in the words of the job page's refusals.
pub struct Notice {
    /// `upgrade`, `restoring` (the job page's phases), `invalid` (a bad
    /// filter: the form stays) or `refused`.
    pub kind: &'static str,
    pub words: String,
}

#[derive(Template)]
#[template(path = "variants.html")]
struct VariantsPage {
    layout: Layout,
    job: JobView,
    /// The form's current values.
    gene: String,
    consequence: String,
    region: String,
    id: String,
    clinvar: String,
    max_af: String,
    impacts: Vec<Choice>,
    sorts: Vec<Choice>,
    columns: Vec<Column>,
    notice: Option<Notice>,
    rows: Vec<Row>,
    total: u64,
    next_href: String,
    first_href: String,
    tsv_href: String,
    json_href: String,
}

impl VariantsPage {
    /// The notice's kind, empty without one.
    fn notice_kind(&self) -> &str {
        self.notice.as_ref().map_or("", |n| n.kind)
    }
}

fn choices(options: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: *value == current,
        })
        .collect()
}

/// The sortable columns and the order each sorts in.
const SORTS: [(&str, &str); 4] = [
    ("position", "ascending"),
    ("gene", "ascending"),
    ("impact", "descending"),
    ("frequency", "ascending"),
];

/// The page's filters as the URL carries them: the contract's parameters
/// that have a value, in the contract's order, without sort and cursor.
struct Filters(Vec<(&'static str, String)>);

impl Filters {
    fn of(params: &Params) -> Self {
        let pairs = [
            ("gene", &params.gene),
            ("consequence", &params.consequence),
            ("impact", &params.impact),
            ("region", &params.region),
            ("id", &params.id),
            ("clinvar", &params.clinvar),
            ("max_af", &params.max_af),
            ("limit", &params.limit),
        ];
        Filters(
            pairs
                .into_iter()
                .filter_map(|(name, v)| {
                    v.as_deref()
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (name, v.to_string()))
                })
                .collect(),
        )
    }

    /// `path` with the filters, then `extra` (those with a value).
    fn href(&self, path: &str, extra: &[(&str, &str)]) -> String {
        self.href_without(path, "", extra)
    }

    /// `href` without the parameter `left_out` (an export has no pages).
    fn href_without(&self, path: &str, left_out: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(n, _)| *n != left_out)
            .map(|(n, v)| (*n, v.as_str()))
            .collect();
        pairs.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
        match serde_urlencoded::to_string(&pairs).unwrap_or_default() {
            q if q.is_empty() => path.to_string(),
            q => format!("{path}?{q}"),
        }
    }
}

pub async fn table(
    State(state): State<Arc<WebState>>,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Path(job_id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, PageError> {
    let job = own_job(state.domain(), &user, &job_id).await?;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let answer = match variants::parse_query(&params) {
        Ok(query) => {
            let sort = query.sort.as_str();
            variants::variants(state.domain(), &state.variant_indexes, &user, &job, query)
                .await
                .map(|answer| (answer, sort))
        }
        Err(e) => Err(e),
    };
    // The refusals the page explains itself; anything else is an error page.
    let notice = match &answer {
        Ok(_) => None,
        Err(e @ Error::Invalid(_)) => Some(("invalid", e)),
        Err(e @ Error::Refused(refusal)) => Some((
            Phase::of_refusal(*refusal).map_or("refused", Phase::as_str),
            e,
        )),
        Err(_) => None,
    };
    let (status, notice) = match notice {
        Some((kind, e)) => {
            let (status, words) = status_and_words(e);
            (status, Some(Notice { kind, words }))
        }
        None => (StatusCode::OK, None),
    };
    let (answer, sort) = match answer {
        Ok((answer, sort)) => (Some(answer), sort.to_string()),
        Err(e) if notice.is_none() => return Err(PageError(e)),
        Err(_) => (None, value(&params.sort)),
    };
    let filters = Filters::of(&params);
    let page_path = format!("/annotations/{}/variants", job.job_id);
    let api_path = format!("/api/v1/jobs/{}/variants", job.job_id);
    let sorted = ("sort", sort.as_str());
    let columns = [
        ("Position", "position"),
        ("Id", ""),
        ("Change", ""),
        ("Gene", "gene"),
        ("Consequence", ""),
        ("Impact", "impact"),
        ("HGVSc", ""),
        ("HGVSp", ""),
        ("ClinVar", ""),
        ("AF", "frequency"),
    ]
    .into_iter()
    .map(|(label, by)| Column {
        label,
        sort: by,
        href: if by.is_empty() {
            String::new()
        } else {
            filters.href(&page_path, &[("sort", by)])
        },
        order: SORTS
            .iter()
            .find(|(name, _)| !by.is_empty() && *name == by && *name == sort)
            .map_or("", |(_, order)| order),
    })
    .collect();
    let (rows, total, next) = match answer {
        Some(answer) => (
            answer.variants.into_iter().map(Row::of).collect(),
            answer.total,
            answer.next,
        ),
        None => (Vec::new(), 0, None),
    };
    let job_view = view(&job, &user, state.window_secs());
    let page = VariantsPage {
        layout: Layout::new(
            format!("Variants of {}", job_view.file_name),
            Some(&user),
            &csrf,
            Nav::Annotations,
        ),
        job: job_view,
        gene: value(&params.gene),
        consequence: value(&params.consequence),
        region: value(&params.region),
        id: value(&params.id),
        clinvar: value(&params.clinvar),
        max_af: value(&params.max_af),
        impacts: choices(
            &[
                ("", "any"),
                ("HIGH", "HIGH"),
                ("MODERATE", "MODERATE or higher"),
                ("LOW", "LOW or higher"),
                ("MODIFIER", "MODIFIER or higher"),
            ],
            &value(&params.impact).to_ascii_uppercase(),
        ),
        sorts: choices(&SORTS.map(|(name, _)| (name, name)), &sort),
        columns,
        notice,
        rows,
        total,
        next_href: next
            .map(|cursor| filters.href(&page_path, &[sorted, ("cursor", &cursor)]))
            .unwrap_or_default(),
        first_href: match params.cursor.as_deref() {
            Some(c) if !c.is_empty() => filters.href(&page_path, &[sorted]),
            _ => String::new(),
        },
        tsv_href: filters.href_without(&api_path, "limit", &[sorted, ("format", "tsv")]),
        json_href: filters.href_without(&api_path, "limit", &[sorted, ("format", "json")]),
    };
    let mut response = render(status, &page);
    if page.notice.is_some() {
        // A refusal lasts until the plan or the results change.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}
