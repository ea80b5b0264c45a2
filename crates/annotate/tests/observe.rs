//! The output observer's contract: the header and chunk texts it is shown
//! are the output (the plain text, also when the output is BGZF), chunk
//! offsets follow each other, and each record's entries by value agree
//! with the CSQ text written.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use gas_annotate::consequence::csq::CSQ_FIELDS;
use gas_annotate::consequence::{Consequences, Pick};
use gas_annotate::{annotate_observed, reference, Options, OutputObserver, WrittenChunk};

#[derive(Default)]
struct Collect {
    text: String,
    records: usize,
    entries: usize,
    gaps: usize,
}

impl OutputObserver for Collect {
    fn header(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn records(&mut self, chunk: &WrittenChunk<'_>) {
        if chunk.offset != self.text.len() as u64 {
            self.gaps += 1;
        }
        self.text.push_str(chunk.text);
        assert!(chunk.has_entries());
        for record in chunk.records() {
            self.records += 1;
            let cols: Vec<&str> = record.line.split('\t').collect();
            assert_eq!(record.chrom, cols[0]);
            assert_eq!(record.pos.to_string(), cols[1]);
            assert_eq!(record.id, cols[2]);
            assert_eq!(record.reference, cols[3]);
            assert_eq!(record.alts, cols[4]);
            assert_eq!(&record.line[record.info.clone()], cols[7]);
            let Some(csq) = record.csq.clone() else {
                assert!(record.entries.is_empty());
                continue;
            };
            let value = &record.line[csq];
            let texts: Vec<&str> = value.split(',').collect();
            assert_eq!(texts.len(), record.entries.len(), "{}", record.line);
            for (e, text) in record.entries.iter().zip(&texts) {
                assert!(value[e.start as usize..].starts_with(text));
                let fields: Vec<&str> = text.split('|').collect();
                let field =
                    |name: &str| fields[CSQ_FIELDS.iter().position(|f| *f == name).unwrap()];
                assert_eq!(e.pick, field("PICK") == "1", "{text}");
                assert_eq!(e.feature == 0, field("Feature").is_empty(), "{text}");
                assert!((e.alt as usize) < record.alts.split(',').count());
                self.entries += 1;
            }
        }
    }
}

#[test]
fn an_observer_sees_the_output_and_its_entries() {
    let input = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/samples/free_1.vcf"),
    )
    .unwrap();
    for bgzf in [false, true] {
        for threads in [1, 2] {
            let (models, genome) = reference::mt_sources();
            let mut options = Options::default();
            options.threads = threads;
            options.bgzf_output = bgzf;
            options.consequences = Some(Arc::new(Consequences::new(
                vec![(reference::mt_transcripts().unwrap(), models)],
                Some((reference::mt_reference().unwrap(), genome)),
                Pick::All,
            )));
            let mut out = Vec::new();
            let mut seen = Collect::default();
            let stats = annotate_observed(
                input.as_bytes(),
                &mut out,
                &options,
                &mut |_| {},
                Some(&mut seen),
            )
            .unwrap();
            let plain = if bgzf {
                let mut text = String::new();
                flate2::read::MultiGzDecoder::new(&out[..])
                    .read_to_string(&mut text)
                    .unwrap();
                text
            } else {
                String::from_utf8(out).unwrap()
            };
            assert_eq!(seen.text, plain, "bgzf {bgzf}, {threads} threads");
            assert_eq!(seen.gaps, 0);
            let data_lines = plain.lines().filter(|l| !l.starts_with('#')).count();
            assert_eq!(seen.records, data_lines);
            assert!(seen.records > 100);
            assert_eq!(
                seen.entries as u64,
                stats.consequences.as_ref().unwrap().entries
            );
        }
    }
}
