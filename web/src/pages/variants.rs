//! A job's variant table, `/annotations/{id}/variants`: a plain form whose
//! filters live in the URL (the API's parameters), 50 rows a page with a
//! link to the next, each row opening to the allele's other transcripts,
//! and links to the exports. No script needed.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gas_variants::{Params, Variant};

use crate::domain::jobs::own_job;
use crate::domain::variants;
use crate::pages::error::PageError;
use crate::pages::extract::SignedIn;
use crate::pages::job::{view, JobView};
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

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

impl Row {
    fn of(v: Variant) -> Row {
        Row {
            chrom: v.chrom.clone(),
            pos: v.pos,
            id: text(&v.id),
            reference: v.reference.clone(),
            alt: v.alt.clone(),
            gene: text(&v.gene),
            consequence: text(&v.consequence).replace('&', ", "),
            impact: text(&v.impact),
            hgvsc: text(&v.hgvsc),
            hgvsp: text(&v.hgvsp),
            clinvar: text(&v.clinvar).replace('_', " "),
            af: v.af.map(|a| a.to_string()).unwrap_or_default(),
            transcripts: v
                .transcripts
                .iter()
                .map(|t| TranscriptRow {
                    gene: text(&t.gene),
                    feature: text(&t.feature),
                    biotype: text(&t.biotype),
                    consequence: text(&t.consequence).replace('&', ", "),
                    impact: text(&t.impact),
                    hgvsc: text(&t.hgvsc),
                    hgvsp: text(&t.hgvsp),
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
    rows: Vec<Row>,
    total: u64,
    /// The query string of the filters (no cursor, no limit).
    filters: String,
    next: Option<String>,
    first_page: bool,
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

pub async fn table(
    State(state): State<Arc<WebState>>,
    SignedIn(user): SignedIn,
    csrf: CsrfToken,
    Path(job_id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, PageError> {
    let job = own_job(state.domain(), &user, &job_id).await?;
    let query = variants::parse_query(&params)?;
    let sort = query.sort;
    let first_page = query.cursor.is_none();
    let answer =
        variants::variants(state.domain(), &state.variant_indexes, &user, &job, query).await?;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let filters = {
        let pairs: Vec<(&str, String)> = [
            ("gene", value(&params.gene)),
            ("consequence", value(&params.consequence)),
            ("impact", value(&params.impact)),
            ("region", value(&params.region)),
            ("id", value(&params.id)),
            ("clinvar", value(&params.clinvar)),
            ("max_af", value(&params.max_af)),
            ("sort", value(&params.sort)),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    };
    let job_view = view(&job, &user, state.window_secs());
    Ok(render(
        StatusCode::OK,
        &VariantsPage {
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
            sorts: choices(
                &[
                    ("position", "position"),
                    ("gene", "gene"),
                    ("impact", "impact"),
                    ("frequency", "frequency"),
                ],
                sort.as_str(),
            ),
            rows: answer.variants.into_iter().map(Row::of).collect(),
            total: answer.total,
            filters,
            next: answer.next,
            first_page,
        },
    ))
}
