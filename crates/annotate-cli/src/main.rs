//! `gas-annotate`: the annotator alone, with `gas annotate`'s options.
//!
//! The service binary carries a web server and the AWS SDK; this one
//! carries the annotator and the data it ships, so it starts in a
//! millisecond and its memory is the annotation's
//! (`docs/BENCHMARKS.md`).

use std::io::IsTerminal;

use clap::Parser;
use gas_annotate_cli::AnnotateArgs;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "gas-annotate",
    version,
    about = "Annotate a VCF file (plain or gzipped): the GAS annotator, alone"
)]
struct Cli {
    #[command(flatten)]
    args: AnnotateArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Loading logs what it read and skipped (models, warnings); the same
    // lines `gas annotate` prints. `RUST_LOG` filters (default `info`).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    gas_annotate_cli::run(&cli.args)
}
