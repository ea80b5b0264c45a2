//! Feeds arbitrary bytes to the track loader (BED or VCF, plain or gzip)
//! and annotates a fixed input with whatever loads: it never panics, and a
//! malformed track's error names a line.

#![no_main]

use gas_annotate::{annotate, Options, Track, TrackError};
use libfuzzer_sys::fuzz_target;

const INPUT: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
    1\t10\t.\tA\tG\t.\t.\t.\n1\t150\t.\tAC\tA\t.\t.\tEND=300\nchr2\t1\t.\tN\t<DEL>\t.\t.\t.\n\
    MT\t4294967295\t.\tT\tC\t.\t.\t.\nX\t18446744073709551615\t.\tT\tC\t.\t.\t.\n";

fuzz_target!(|data: &[u8]| {
    match Track::from_reader("fuzz", data) {
        Ok(track) => {
            let mut options = Options::default();
            options.tracks = vec![track];
            options.threads = 1;
            let mut output = Vec::new();
            annotate(INPUT.as_bytes(), &mut output, &options, &mut |_| {})
                .expect("a fixed valid input annotates with any track");
        }
        Err(TrackError::Malformed { line, message, .. }) => {
            assert!(line > 0, "a malformed track error names line 0: {message}");
        }
        Err(TrackError::Io { .. }) => {}
        Err(TrackError::Fields { .. }) => unreachable!("no fields were asked for"),
    }
});
