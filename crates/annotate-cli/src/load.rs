//! Loading what an annotation names: tracks, transcript models and a
//! reference genome, by path or `builtin` (the data the binary ships), as
//! `gas annotate`, `gas-annotate` and the runner's configuration name them.

use std::sync::Arc;

use anyhow::{Context, Result};

/// Tracks named as the configuration and `gas annotate --track` name them:
/// `builtin` for the tracks the binary ships, else a BED or VCF path, or
/// `FILE:FIELD,...` for a VCF whose INFO fields are copied
/// (`clinvar.vcf.gz:CLNSIG,CLNDN`, `gnomad.vcf.gz:AF=gnomAD_AF`; see
/// [`gas_annotate::TrackSpec::parse`]). The built-in tracks come first, then
/// the others in the order named. Two tracks copying the same field are
/// refused.
///
/// The environment splits its list at commas, which also separate fields:
/// an entry that is only a field (`CLNDN`, `AF=NAME`), names no file and
/// follows an entry with fields continues that entry's field list, so
/// `builtin,clinvar.vcf.gz:CLNSIG,CLNDN` there is two entries, not three.
pub fn load_tracks(entries: &[String]) -> Result<Vec<gas_annotate::Track>> {
    use gas_annotate::{Track, TrackField, TrackSpec};
    let mut tracks = Vec::new();
    let mut specs: Vec<TrackSpec> = Vec::new();
    // Whether the previous entry was a track with fields (the last spec).
    let mut continues = false;
    for entry in entries {
        if entry == "builtin" {
            tracks.extend(
                gas_annotate::reference::default_tracks().context("loading the built-in tracks")?,
            );
            continues = false;
            continue;
        }
        if continues && !std::path::Path::new(entry).exists() {
            if let (Some(field), Some(last)) = (TrackField::parse(entry), specs.last_mut()) {
                last.fields.push(field);
                continue;
            }
        }
        let spec = TrackSpec::parse(entry).context("reading the annotation track names")?;
        anyhow::ensure!(
            spec.fields.is_empty() || spec.path.as_os_str() != "builtin",
            "track {entry}: the built-in tracks copy no INFO fields"
        );
        continues = !spec.fields.is_empty();
        specs.push(spec);
    }
    tracks.extend(Track::load_specs(&specs).context("loading the annotation tracks")?);
    Track::check_fields(&tracks).context("loading the annotation tracks")?;
    Ok(tracks)
}

/// Consequence annotation as the configuration and `gas annotate
/// --transcripts/--reference` name it: `builtin` for the mitochondrial
/// models and genome the binary ships, else paths. `None` when no
/// transcript models are named. Loaded once per process.
pub fn load_consequences(
    transcripts: &[String],
    reference: Option<&str>,
    pick: gas_annotate::consequence::Pick,
) -> Result<Option<Arc<gas_annotate::consequence::Consequences>>> {
    use gas_annotate::consequence::{Consequences, Source};
    if transcripts.is_empty() {
        anyhow::ensure!(
            reference.is_none(),
            "a reference genome was named without transcript models: consequences need both"
        );
        return Ok(None);
    }
    let (builtin_transcripts, builtin_reference) = gas_annotate::reference::mt_sources();
    // Hashing a whole genome takes about as long as parsing the models:
    // do both at once.
    let genome_hash = reference.filter(|r| *r != "builtin").map(|path| {
        let path = std::path::PathBuf::from(path);
        std::thread::spawn(move || Source::of_file(&path))
    });
    let mut sets = Vec::new();
    for entry in transcripts {
        if entry == "builtin" {
            let index = gas_annotate::reference::mt_transcripts()
                .context("loading the built-in transcript models")?;
            sets.push((index, builtin_transcripts.clone()));
        } else {
            // Parsed and hashed in one read of the file.
            let path = std::path::Path::new(entry);
            let file = std::fs::File::open(path)
                .with_context(|| format!("opening the transcript models {entry}"))?;
            let mut reader = gas_annotate::consequence::HashingReader::new(
                std::io::BufReader::with_capacity(1 << 20, file),
            );
            let index = gas_annotate::TranscriptIndex::from_reader(entry, &mut reader)
                .with_context(|| format!("loading the transcript models {entry}"))?;
            let source = reader
                .finish(path)
                .with_context(|| format!("reading {entry}"))?;
            sets.push((index, source));
        }
    }
    for (index, source) in &sets {
        let warnings = index.warnings();
        tracing::info!(
            models = %source.name,
            transcripts = index.len(),
            genes = index.gene_count(),
            skipped = warnings.total_skipped(),
            "transcript models loaded"
        );
        for reason in gas_annotate::transcript::SkipReason::ALL {
            let n = warnings.skipped(reason);
            if n > 0 {
                tracing::warn!(
                    models = %source.name,
                    skipped = n,
                    reason = reason.describe(),
                    examples = ?warnings.examples(reason),
                    "transcripts skipped"
                );
            }
        }
    }
    let reference = match reference {
        None => None,
        Some("builtin") => Some((
            gas_annotate::reference::mt_reference().context("loading the built-in genome")?,
            builtin_reference,
        )),
        Some(path) => {
            let genome = gas_annotate::Reference::open(path)
                .with_context(|| format!("opening the reference genome {path}"))?;
            let source = genome_hash
                .expect("started for a path")
                .join()
                .map_err(|_| anyhow::anyhow!("hashing {path} panicked"))?
                .with_context(|| format!("reading {path}"))?;
            Some((genome, source))
        }
    };
    if let Some((genome, source)) = &reference {
        let known = sets.iter().any(|(index, _)| {
            index
                .transcripts()
                .take(1000)
                .any(|t| genome.contig_len(t.contig()).is_some())
        });
        anyhow::ensure!(
            known || sets.iter().all(|(index, _)| index.is_empty()),
            "the reference genome {} has none of the transcript models' contigs",
            source.name
        );
        tracing::info!(reference = %source.name, contigs = genome.contigs().count(), "reference genome loaded");
    }
    Ok(Some(Arc::new(Consequences::new(sets, reference, pick))))
}

#[cfg(test)]
mod load_tracks_tests {
    use super::load_tracks;

    const CLINVAR: &str = "##fileformat=VCFv4.1\n\
        ##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"Significance\">\n\
        ##INFO=<ID=AF,Number=A,Type=Float,Description=\"Frequency\">\n\
        #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
        1\t5\t1\tA\tG\t.\t.\tCLNSIG=Benign;AF=0.5\n";

    #[test]
    fn entries_name_files_fields_and_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let clinvar = dir.path().join("clin:var.vcf");
        std::fs::write(&clinvar, CLINVAR).unwrap();
        let clinvar = clinvar.display().to_string();
        let entries = [
            format!("{clinvar}:CLNSIG,AF=CLN_AF"),
            "builtin".to_string(),
            clinvar.clone(),
        ];
        let tracks = load_tracks(&entries).unwrap();
        let fields: Vec<(String, Vec<String>)> = tracks
            .iter()
            .map(|t| {
                (
                    t.name().to_string(),
                    t.fields().map(ToString::to_string).collect(),
                )
            })
            .collect();
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                gas_annotate::reference::GENES_NAME,
                gas_annotate::reference::DBSNP_NAME,
                "clin:var.vcf",
                "clin:var.vcf"
            ]
        );
        assert_eq!(fields[2].1, ["CLNSIG", "AF=CLN_AF"]);
        assert!(fields[3].1.is_empty());

        // As the environment splits `FILE:CLNSIG,AF=CLN_AF,builtin`.
        let split = [
            format!("{clinvar}:CLNSIG"),
            "AF=CLN_AF".to_string(),
            "builtin".to_string(),
        ];
        let tracks = load_tracks(&split).unwrap();
        assert_eq!(tracks.len(), 3);
        let fields: Vec<String> = tracks[2].fields().map(ToString::to_string).collect();
        assert_eq!(fields, ["CLNSIG", "AF=CLN_AF"]);
        // A field after a track without fields is a (missing) file.
        let message = format!(
            "{:#}",
            load_tracks(&[clinvar.clone(), "CLNDN".to_string()]).unwrap_err()
        );
        assert!(message.contains("track CLNDN"), "{message}");

        let error = |entries: &[String]| format!("{:#}", load_tracks(entries).unwrap_err());
        let message = error(&[format!("{clinvar}:AF"), format!("{clinvar}:AF")]);
        assert!(
            message.contains("INFO field AF is copied from clin:var.vcf too"),
            "{message}"
        );
        let message = error(&[format!("{clinvar}:CLNSIG,CLNDN")]);
        assert!(message.contains("clin:var.vcf"), "{message}");
        assert!(message.contains("CLNDN"), "{message}");
        let message = error(&["builtin:AF".to_string()]);
        assert!(
            message.contains("built-in tracks copy no INFO fields"),
            "{message}"
        );
        let message = error(&[format!("{clinvar}:AF,")]);
        assert!(message.contains("not a list of INFO fields"), "{message}");
    }
}
