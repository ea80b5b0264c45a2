//! Object keys of a job's outputs: `<prefix>/<user_id>/<job_id>~<file>`
//! (DESIGN section 4), next to the input's key.

/// The key of the annotated VCF: the input key with `.vcf[.gz]` replaced by
/// `.annot.vcf`, as the original GAS named it.
pub fn result_key(input_key: &str) -> String {
    format!("{}.annot.vcf", strip_vcf_suffix(input_key))
}

/// The key of the job's log: the input key plus `.count.log`.
pub fn log_key(input_key: &str) -> String {
    format!("{}.count.log", strip_vcf_suffix(input_key))
}

/// The key of the annotation's statistics (JSON, the annotator's `Stats`),
/// which the web app draws its pictures from: beside the log.
pub fn stats_key(input_key: &str) -> String {
    format!("{}.stats.json", strip_vcf_suffix(input_key))
}

/// The key of the job's variant index (`gas_variants`), which the variant
/// table reads with the results: beside them. See `docs/DESIGN-NOTES.md`,
/// "Variant index".
pub fn variants_key(input_key: &str) -> String {
    format!("{}.variants.idx", strip_vcf_suffix(input_key))
}

fn strip_vcf_suffix(key: &str) -> &str {
    key.strip_suffix(".vcf.gz")
        .or_else(|| key.strip_suffix(".vcf"))
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_sit_beside_the_input() {
        assert_eq!(result_key("gas/u1/j1~test.vcf"), "gas/u1/j1~test.annot.vcf");
        assert_eq!(log_key("gas/u1/j1~test.vcf.gz"), "gas/u1/j1~test.count.log");
        assert_eq!(result_key("gas/u1/j1~odd"), "gas/u1/j1~odd.annot.vcf");
        assert_eq!(stats_key("gas/u1/j1~test.vcf"), "gas/u1/j1~test.stats.json");
        assert_eq!(
            variants_key("gas/u1/j1~test.vcf.gz"),
            "gas/u1/j1~test.variants.idx"
        );
    }
}
