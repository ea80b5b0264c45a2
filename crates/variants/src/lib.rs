//! The per-job variant index: what the variant table and its API read.
//!
//! The runner builds it from a job's annotated VCF ([`build_file`]) and
//! stores it beside the results (`gas_jobs::keys::variants_key`); the web
//! service opens it ([`Index::open`]) and answers [`Query`]s: filters by
//! gene, consequence, impact, region, id, ClinVar significance and allele
//! frequency, four orders, keyset pages. One SQLite file per job; the
//! schema and why are in `docs/DESIGN-NOTES.md` ("Variant index").

mod build;
mod filter;
mod query;
pub mod terms;

pub use build::{build, build_file, BuildError, BuildOptions, BuildSummary, FORMAT_VERSION};
pub use filter::{
    clinvar_term, clinvar_terms, Filter, FilterError, Params, Query, Region, Sort, DEFAULT_LIMIT,
    MAX_LIMIT,
};
pub use query::{
    tsv_header, tsv_line, Answer, Index, QueryError, Transcript, Variant, TSV_COLUMNS,
};
