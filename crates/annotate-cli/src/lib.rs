//! The annotator's command line, shared by `gas annotate` (a subcommand of
//! the service binary) and `gas-annotate` (a binary that is only the
//! annotator: no web server, no AWS SDK, a few MiB instead of the service's
//! tens, for a researcher's laptop or a batch farm).
//!
//! Both parse [`AnnotateArgs`] and call [`run`], so they take the same
//! options and write the same bytes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

mod load;

pub use load::{load_consequences, load_tracks};

/// Annotate a VCF file (plain or gzipped).
#[derive(Debug, Args)]
pub struct AnnotateArgs {
    /// A BED track (adds INFO GENE) or VCF track (fills the ID column);
    /// plain, gzip or bgzip; `builtin` for the tracks the binary ships
    /// (as the runner's configuration names them). Repeat for several.
    #[arg(long = "track", value_name = "FILE")]
    pub tracks: Vec<String>,
    /// Transcript models (Ensembl or GENCODE GFF3/GTF; plain, gzip or
    /// bgzip) to predict each allele's consequences on every transcript
    /// with (INFO CSQ, Ensembl VEP's layout); `builtin` for the human
    /// mitochondrial models the binary ships. Repeat for several.
    #[arg(long = "transcripts", value_name = "MODELS")]
    pub transcripts: Vec<String>,
    /// The reference genome (FASTA: plain with .fai, or bgzip with
    /// .fai/.gzi; plain gzip is read whole) for codons, amino acids,
    /// HGVSp, the 3' shift of HGVSc and the REF check; `builtin` for the
    /// mitochondrial genome (rCRS). Without it, what needs sequence is
    /// left out and the header says so.
    #[arg(long = "reference", value_name = "GENOME", requires = "transcripts")]
    pub reference: Option<String>,
    /// One CSQ entry per record: its best allele and transcript (MANE
    /// Select, canonical, ... then severity), as VEP's --pick.
    #[arg(long, conflicts_with = "per_gene")]
    pub pick: bool,
    /// One CSQ entry per allele and gene, as VEP's --per_gene.
    #[arg(long)]
    pub per_gene: bool,
    /// The VCF to annotate (VCFv3.3 to 4.4; plain, gzip or bgzip).
    pub input: PathBuf,
    /// Output file (default: standard output); `.gz` writes bgzip.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Write bgzip-compressed output.
    #[arg(long)]
    pub bgzip: bool,
    /// Annotation threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Stop with an error when gzip or BGZF input decompresses to more
    /// than this many bytes (unbounded when absent; the runner service
    /// bounds every job by its plan's upload limit times
    /// `max_inflate_ratio`).
    #[arg(long, value_name = "BYTES")]
    pub max_inflated_bytes: Option<u64>,
}

/// Loads what `args` names, annotates its input and prints the run's
/// counts to stderr (as the runner's job log has them).
///
/// # Errors
/// Loading a track, models or genome; reading or annotating the input;
/// writing the output (a failed run leaves no output file behind).
pub fn run(args: &AnnotateArgs) -> Result<()> {
    let mut options = gas_annotate::Options::default();
    options.tracks = load_tracks(&args.tracks).context("loading the tracks")?;
    let selection = if args.pick {
        gas_annotate::consequence::Pick::One
    } else if args.per_gene {
        gas_annotate::consequence::Pick::PerGene
    } else {
        gas_annotate::consequence::Pick::All
    };
    options.consequences =
        load_consequences(&args.transcripts, args.reference.as_deref(), selection)?;
    options.bgzf_output = args.bgzip
        || args
            .output
            .as_deref()
            .is_some_and(|o| o.extension().is_some_and(|e| e == "gz"));
    options.threads = args.threads;
    options.max_inflated_bytes = args.max_inflated_bytes;
    annotate(&args.input, args.output.as_deref(), &options)
}

fn annotate(input: &Path, output: Option<&Path>, options: &gas_annotate::Options) -> Result<()> {
    let stats = match output {
        Some(out) => gas_annotate::annotate_file(input, out, options, &mut |_| {}),
        None => {
            let file = std::fs::File::open(input)
                .with_context(|| format!("opening {}", input.display()))?;
            let stdout = std::io::stdout().lock();
            gas_annotate::annotate(
                std::io::BufReader::new(file),
                std::io::BufWriter::new(stdout),
                options,
                &mut |_| {},
            )
        }
    }
    .with_context(|| format!("annotating {}", input.display()))?;
    eprint!("{}", stats.render_log(&input.display().to_string()));
    Ok(())
}
