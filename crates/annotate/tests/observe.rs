//! The output observer's contract: the header and chunk texts it is shown
//! are the output (the plain text, also when the output is BGZF), chunk
//! offsets follow each other, each record's entries by value agree
//! with the CSQ text written, and the INFO items noted for the
//! observer's keys are those of the line.

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
    items: usize,
}

/// The keys the test watches: the input's, the annotator's own, and one
/// no record has.
const KEYS: [&str; 5] = ["AN", "TITV", "CSQ", "AC", "NOT_THERE"];

impl OutputObserver for Collect {
    fn info_keys(&self) -> Vec<String> {
        KEYS.iter().map(|k| k.to_string()).collect()
    }

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
            let cols: Vec<&str> = record.line().split('\t').collect();
            assert_eq!(record.chrom, cols[0]);
            assert_eq!(record.pos.to_string(), cols[1]);
            assert_eq!(record.id, cols[2]);
            assert_eq!(record.reference, cols[3]);
            assert_eq!(record.alts, cols[4]);
            assert_eq!(&record.line()[record.info.clone()], cols[7]);
            // The items noted: INFO's items with a watched key, in order,
            // but for the annotator's own CSQ.
            let mut expected = Vec::new();
            let mut at = record.info.start;
            for item in cols[7].split(';') {
                let (key, value) = item.split_once('=').unwrap_or((item, ""));
                let value_at = at + key.len() + usize::from(item.contains('='));
                let own = record.csq.as_ref().is_some_and(|c| c.start == value_at);
                if let Some(k) = KEYS.iter().position(|w| *w == key).filter(|_| !own) {
                    expected.push((k, value.to_string()));
                }
                at += item.len() + 1;
            }
            let noted: Vec<(usize, String)> = record
                .items
                .iter()
                .map(|i| {
                    let value = &record.line()[i.start as usize..i.end as usize];
                    (i.key as usize, value.to_string())
                })
                .collect();
            assert_eq!(noted, expected, "{}", record.line());
            self.items += noted.len();
            let Some(csq) = record.csq.clone() else {
                assert!(record.entries.is_empty());
                continue;
            };
            let value = &record.line()[csq];
            let texts: Vec<&str> = value.split(',').collect();
            assert_eq!(texts.len(), record.entries.len(), "{}", record.line());
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
            // AN, AC and TITV on every record.
            assert_eq!(seen.items, 3 * seen.records);
            assert_eq!(
                seen.entries as u64,
                stats.consequences.as_ref().unwrap().entries
            );
        }
    }
}
