//! Contig name matching between inputs and tracks (`1` and `chr1`, `MT`
//! and `chrM`).

/// The key under which a contig is matched between the input and the
/// tracks: the name without a leading `chr` (any case), with `M` read as
/// `MT`. So `chr1` and `1` share the key `1`; `chrM`, `chrMT`, `M` and `MT`
/// share `MT`; `chrX` and `X` share `X`. Other names are their own key.
pub(crate) fn contig_key(name: &str) -> &str {
    let bare = match name.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("chr") && name.len() > 3 => &name[3..],
        _ => name,
    };
    if bare == "M" {
        "MT"
    } else {
        bare
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for (name, key) in [
            ("1", "1"),
            ("chr1", "1"),
            ("CHR22", "22"),
            ("chrX", "X"),
            ("Y", "Y"),
            ("chrM", "MT"),
            ("chrMT", "MT"),
            ("M", "MT"),
            ("MT", "MT"),
            ("chr", "chr"),
            ("GL000192.1", "GL000192.1"),
            ("chr6_apd_hap1", "6_apd_hap1"),
        ] {
            assert_eq!(contig_key(name), key, "{name}");
        }
    }
}
