//! The per-job variant index: built from an annotated VCF, read by the
//! variant table.
//!
//! The runner builds it from a job's annotated VCF ([`build_file`]) and
//! stores it beside the results (`gas_jobs::keys::variants_key`); the web
//! service loads it with the results file ([`Index::open`]) and answers
//! [`Query`]s: filters by gene, consequence, impact, region, id, ClinVar
//! significance and allele frequency, four orders, keyset pages. The
//! index holds columns for the filters and sorts and where each record's
//! line starts; rows are drawn from the results' lines. The format and
//! why are in `docs/DESIGN-NOTES.md` ("Variant index").

mod build;
mod filter;
mod format;
mod query;
mod record;
mod sink;
pub mod terms;

pub use build::{build, build_file, BuildError, BuildOptions, BuildSummary};
pub use filter::{
    clinvar_term, clinvar_terms, Filter, FilterError, Params, Query, Region, Sort, DEFAULT_LIMIT,
    MAX_LIMIT,
};
pub use format::{FormatError, MAGIC};
pub use query::{
    tsv_header, tsv_line, Answer, Index, QueryError, Transcript, Variant, TSV_COLUMNS,
};
pub use sink::IndexSink;
