#!/usr/bin/env python3
"""Synthetic data for the consequence-annotation benchmark (scripts/bench/csq.sh).

    python3 scripts/bench/make_csq_genome.py OUTDIR [--seed 1] [--variants 1000000]
        [--transcripts 8000] [--genome-mb 100] [--contigs 5]

Writes into OUTDIR, deterministically from the seed (standard library only):
  genome.fa, genome.fa.fai  contigs chr1..chrN (60-base lines), isochore-like GC
                            (36-52 % in 100 kb blocks), microsatellites, N runs
                            at both ends of each contig and one gap inside it
  models.gff3               Ensembl-style GFF3: protein-coding genes (`gene`/`mRNA`,
                            1-3 transcripts each, 1-20 exons, varied UTRs, CDS with
                            phases, UTR features) and lncRNA genes (`ncRNA_gene`/
                            `lnc_RNA`, biotype lncRNA, exons only), on both strands
  variants.vcf              VCFv4.2, sites only, sorted, REF from the genome
  genes.bed                 gene spans (chrom, start, end, name, 0, strand, biotype)
  cds.fa, protein.fa        each coding transcript's CDS (stop included) and its
                            translation (no '*'), named by the GFF3 ID
                            (`transcript:T000001`), for SnpEff's database check
  summary.txt               what was written (also printed)

The models are valid by construction, and checked against the written genome
before anything is written: every CDS is a whole number of codons, starts with
ATG, ends with a stop codon and has no stop codon in frame before it; introns
start with GT and end with AG (on the transcript's strand). Alternative
transcripts are made so that this stays true: a shorter 5' or 3' UTR (or a
first/last exon left out when it is all UTR), an internal exon skipped when
that keeps the frame and makes no stop at the junction, or a downstream start
codon (an ATG written into the canonical frame). Genes do not overlap.

Variants: ~85 % SNVs (1 % of them with two ALT alleles, transitions twice as
likely as transversions), ~2 % MNVs of 2-3 bases, the rest insertions and
deletions of 1-20 bases (shorter ones likelier). Positions: 25 % drawn from
exonic bases, 35 % from anywhere in gene spans, 40 % from between genes, so
about 60 % fall inside transcripts; one record per position.
"""
import argparse
import bisect
import math
import os
import random
import sys
import time

BASES = "ACGT"
STOPS = ("TAA", "TAG", "TGA")
STOP_WEIGHTS = (0.30, 0.23, 0.47)
SENSE = [a + b + c for a in BASES for b in BASES for c in BASES if a + b + c not in STOPS]
COMP = bytes.maketrans(b"ACGTN", b"TGCAN")
AA = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODE = {a + b + c: AA[16 * i + 4 * j + k]
        for i, a in enumerate("TCAG") for j, b in enumerate("TCAG") for k, c in enumerate("TCAG")}
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}

TELOMERE_N = 10_000
GAP_N = 50_000
MIN_GENE_GAP = 300
MIN_CODONS = 20


def clip(v, lo, hi):
    return max(lo, min(hi, v))


def lognorm(rng, median, sigma, lo, hi):
    return clip(int(rng.lognormvariate(math.log(median), sigma)), lo, hi)


def revcomp(s):
    return s.encode()[::-1].translate(COMP).decode()


# --- the genome ---------------------------------------------------------------

def gc_table(gc):
    at = round(256 * (1 - gc) / 2)
    cg = (256 - 2 * at) // 2
    return b"A" * at + b"T" * at + b"C" * cg + b"G" * (256 - 2 * at - cg)


GC_LEVELS = (0.36, 0.39, 0.41, 0.44, 0.48, 0.52)
GC_TABLES = [gc_table(g) for g in GC_LEVELS]


def make_contig(rng, length):
    seq = bytearray(length)
    block = 100_000
    for b in range(0, length, block):
        e = min(length, b + block)
        seq[b:e] = rng.randbytes(e - b).translate(rng.choice(GC_TABLES))
    # microsatellites, about one per 15 kb
    for _ in range(length // 15_000):
        unit = "".join(rng.choice(BASES) for _ in range(rng.choice((1, 2, 2, 2, 3, 4))))
        rep = unit * (rng.randint(15, 60) // len(unit) + 1)
        p = rng.randrange(0, length - len(rep))
        seq[p:p + len(rep)] = rep.encode()
    gap = int(length * rng.uniform(0.35, 0.45))
    seq[:TELOMERE_N] = b"N" * TELOMERE_N
    seq[length - TELOMERE_N:] = b"N" * TELOMERE_N
    seq[gap:gap + GAP_N] = b"N" * GAP_N
    segments = [(TELOMERE_N, gap), (gap + GAP_N, length - TELOMERE_N)]
    return seq, segments


# --- gene models, in gene coordinates -----------------------------------------
# x counts bases from the gene's 5' end on its own strand; exons are half-open
# (a, b) in x, in transcript order.

class Gene:
    __slots__ = ("kind", "strand", "span", "exons", "tx", "writes", "cds", "u5",
                 "contig", "g0", "num", "name")


class Tx:
    __slots__ = ("exons", "cds", "canonical", "kind")

    def __init__(self, exons, cds, canonical, kind):
        self.exons, self.cds, self.canonical, self.kind = exons, cds, canonical, kind


def exon_count(rng):
    if rng.random() < 0.07:
        return 1
    return min(20, 2 + int(rng.expovariate(1 / 6.0)))


def lay_exons(lens, introns):
    exons, x = [], 0
    for k, n in enumerate(lens):
        exons.append((x, x + n))
        x += n
        if k < len(introns):
            x += introns[k]
    return exons, x


def m2x(exons, m):
    """The gene coordinate of spliced (mRNA) offset m."""
    for a, b in exons:
        if m < b - a:
            return a + m
        m -= b - a
    raise ValueError("offset past the transcript")


def cds_string(gene, tx):
    """The CDS of tx, read from the gene's canonical CDS string (None if non-coding)."""
    if tx.cds is None:
        return None
    cs, ce = tx.cds
    canon = gene.tx[0].exons
    # spliced offset of each canonical exon's start
    starts, m = {}, 0
    for a, b in canon:
        starts[a] = (a, b, m)
        m += b - a
    out = []
    for a, b in tx.exons:
        lo, hi = max(a, cs), min(b, ce)
        if lo >= hi:
            continue
        # the canonical exon containing [lo, hi)
        for ca, cb, cm in starts.values():
            if ca <= lo and hi <= cb:
                i = cm + lo - ca - gene.u5
                out.append(gene.cds[i:i + hi - lo])
                break
        else:
            raise AssertionError("alternative exon outside the canonical ones")
    return "".join(out)


def valid_cds(s):
    if s is None or len(s) % 3 or len(s) < 3 * MIN_CODONS:
        return False
    if s[:3] != "ATG" or s[-3:] not in STOPS:
        return False
    return all(s[i:i + 3] not in STOPS for i in range(0, len(s) - 3, 3))


def make_pc_gene(rng, ntx):
    g = Gene()
    g.kind = "pc"
    g.strand = rng.choice("+-")
    while True:
        n = exon_count(rng)
        if n == 1:
            lens = [lognorm(rng, 1500, 0.6, 300, 6000)]
        else:
            lens = ([lognorm(rng, 200, 0.7, 30, 2000)]
                    + [lognorm(rng, 130, 0.45, 40, 600) for _ in range(n - 2)]
                    + [lognorm(rng, 900, 0.8, 60, 6000)])
        introns = [lognorm(rng, 700, 1.1, 70, 25_000) for _ in range(n - 1)]
        exons, span = lay_exons(lens, introns)
        total = sum(lens)
        u5 = 0 if rng.random() < 0.04 else lognorm(rng, 110, 0.9, 1, 3000)
        if rng.random() < 0.04:
            u3 = 0
        elif rng.random() < 0.95:
            u3 = lognorm(rng, 600, 0.9, 1, max(1, lens[-1] - 3))
        else:
            u3 = lognorm(rng, 900, 0.9, 1, 8000)
        cds_len = total - u5 - u3
        u3 += cds_len % 3
        cds_len -= cds_len % 3
        if cds_len >= 3 * MIN_CODONS:
            break
    g.exons, g.span, g.u5 = exons, span, u5
    codons = ["ATG"] + rng.choices(SENSE, k=cds_len // 3 - 2) + [rng.choices(STOPS, STOP_WEIGHTS)[0]]
    cs, ce = m2x(exons, u5), m2x(exons, u5 + cds_len - 1) + 1
    g.tx = [Tx(list(exons), (cs, ce), True, "protein_coding")]
    kinds = rng.sample(("utr", "skip", "start"), k=ntx - 1) if ntx > 1 else []
    if "start" in kinds:  # first: it changes one canonical codon
        ncod = len(codons)
        if ncod >= 60:
            i = rng.randint(2, ncod // 3)
            codons[i] = "ATG"
            g.tx.append(Tx(list(exons), (m2x(exons, u5 + 3 * i), ce), False, "protein_coding"))
    g.cds = "".join(codons)
    for kind in kinds:
        if kind == "utr":
            t = alt_utr(rng, g)
        elif kind == "skip":
            t = alt_skip(rng, g)
        else:
            continue
        if t is not None and all(t.exons != o.exons or t.cds != o.cds for o in g.tx):
            g.tx.append(t)
    g.tx = [t for t in g.tx if valid_cds(cds_string(g, t))]
    g.writes = cds_writes(g) + splice_writes(g)
    return g


def alt_utr(rng, g):
    """A shorter 5' and/or 3' UTR; a first or last exon that is all UTR may go."""
    canon = g.tx[0]
    cs, ce = canon.cds
    ex = list(canon.exons)
    changed = False
    a0, b0 = ex[0]
    room = min(cs, b0) - a0 - 1
    if len(ex) > 1 and b0 <= cs and rng.random() < 0.5:
        ex = ex[1:]
        changed = True
    elif room > 20:
        ex[0] = (a0 + rng.randint(5, room), b0)
        changed = True
    al, bl = ex[-1]
    keep = max(ce, al)
    if len(ex) > 1 and al >= ce and rng.random() < 0.5:
        ex = ex[:-1]
        changed = True
    elif bl - keep > 20 and rng.random() < 0.7:
        ex[-1] = (al, keep + rng.randint(5, bl - keep - 5))
        changed = True
    return Tx(ex, (cs, ce), False, "protein_coding") if changed else None


def alt_skip(rng, g):
    canon = g.tx[0]
    cs, ce = canon.cds
    ex = canon.exons
    cands = []
    for k in range(1, len(ex) - 1):
        a, b = ex[k]
        if (cs <= a and b <= ce and (b - a) % 3 == 0) or b <= cs or a >= ce:
            cands.append(k)
    rng.shuffle(cands)
    for k in cands:
        t = Tx(ex[:k] + ex[k + 1:], (cs, ce), False, "protein_coding")
        if valid_cds(cds_string(g, t)):
            return t
    return None


def make_lnc_gene(rng):
    g = Gene()
    g.kind = "lnc"
    g.strand = rng.choice("+-")
    n = min(8, 1 + int(rng.expovariate(1 / 1.8)))
    lens = [lognorm(rng, 250, 0.7, 50, 3000) for _ in range(n)]
    introns = [lognorm(rng, 700, 1.1, 70, 25_000) for _ in range(n - 1)]
    g.exons, g.span = lay_exons(lens, introns)
    g.cds, g.u5 = "", 0
    g.tx = [Tx(list(g.exons), None, True, "lncRNA")]
    if rng.random() < 0.3:
        ex = list(g.exons)
        if n >= 3:
            k = rng.randint(1, n - 2)
            ex = ex[:k] + ex[k + 1:]
        else:
            a, b = ex[0]
            ex[0] = (a + rng.randint(1, (b - a) // 2), b)
        g.tx.append(Tx(ex, None, False, "lncRNA"))
    g.writes = splice_writes(g)
    return g


def cds_writes(g):
    """(x, text) pieces of the canonical CDS, one per exon it touches."""
    out, m = [], 0
    cs, ce = g.tx[0].cds
    for a, b in g.exons:
        lo, hi = max(a, cs), min(b, ce)
        if lo < hi:
            out.append((lo, g.cds[m:m + hi - lo]))
            m += hi - lo
    return out


def splice_writes(g):
    out = []
    for (a0, b0), (a1, b1) in zip(g.exons, g.exons[1:]):
        out.append((b0, "GT"))
        out.append((a1 - 2, "AG"))
    return out


# --- placing genes on the genome ----------------------------------------------

def to_genome(g, a, b):
    """Genome half-open [lo, hi) of gene interval [a, b)."""
    if g.strand == "+":
        return g.g0 + a, g.g0 + b
    return g.g0 + g.span - b, g.g0 + g.span - a


def place(rng, genes, segments):
    """segments: [(contig index, start, end)]; sets g.contig and g.g0."""
    usable = sum(e - s for _, s, e in segments)
    total = sum(g.span for g in genes)
    if total > 0.8 * usable:
        sys.exit(f"genes span {total} of {usable} usable bases: ask for fewer transcripts or a bigger genome")
    fill = total / usable
    queue = list(genes)
    for j, (c, s, e) in enumerate(segments):
        take, used = [], 0
        last = j == len(segments) - 1
        while queue and (last or used + queue[0].span <= fill * (e - s)):
            used += queue[0].span
            take.append(queue.pop(0))
        free = (e - s) - used - MIN_GENE_GAP * (len(take) + 1)
        if free < 0:
            sys.exit("genes do not fit: ask for fewer transcripts or a bigger genome")
        w = [rng.expovariate(1.0) for _ in range(len(take) + 1)]
        sw = sum(w)
        x = s
        for g, wi in zip(take, w):
            x += MIN_GENE_GAP + int(free * wi / sw)
            g.contig, g.g0 = c, x
            x += g.span


def write_gene(seqs, g):
    seq = seqs[g.contig]
    for x, text in g.writes:
        if g.strand == "+":
            p = g.g0 + x
            seq[p:p + len(text)] = text.encode()
        else:
            hi = g.g0 + g.span - x
            seq[hi - len(text):hi] = revcomp(text).encode()


def genome_cds(seqs, g, t):
    """The CDS of t read back from the genome."""
    seq = seqs[g.contig]
    cs, ce = t.cds
    parts = []
    for a, b in t.exons:
        lo, hi = max(a, cs), min(b, ce)
        if lo < hi:
            glo, ghi = to_genome(g, lo, hi)
            piece = seq[glo:ghi].decode()
            parts.append(piece if g.strand == "+" else revcomp(piece))
    return "".join(parts)


def check_introns(seqs, g, t):
    seq = seqs[g.contig]
    for (a0, b0), (a1, b1) in zip(t.exons, t.exons[1:]):
        glo, ghi = to_genome(g, b0, a1)
        intron = seq[glo:ghi].decode()
        if g.strand == "-":
            intron = revcomp(intron)
        if not (intron.startswith("GT") and intron.endswith("AG")):
            return False
    return True


def translate(s):
    return "".join(CODE[s[i:i + 3]] for i in range(0, len(s), 3))


# --- GFF3 ---------------------------------------------------------------------

def gff_lines(g, chrom, ids):
    """The GFF3 lines of gene g, and its coding transcripts as (transcript, ID);
    ids: running counters shared by all genes."""
    lo, hi = to_genome(g, 0, g.span)
    gid = f"G{g.num:06d}"
    biotype, gtype = ("protein_coding", "gene") if g.kind == "pc" else ("lncRNA", "ncRNA_gene")
    lines = [f"{chrom}\tensembl\t{gtype}\t{lo + 1}\t{hi}\t.\t{g.strand}\t.\t"
             f"ID=gene:{gid};Name={g.name};biotype={biotype};logic_name=synthetic;version=1"]
    coding = []
    all_exons = [set(t.exons) for t in g.tx]
    for n, t in enumerate(g.tx):
        ids["tx"] += 1
        tid = f"T{ids['tx']:06d}"
        spans = [to_genome(g, a, b) for a, b in t.exons]
        tlo, thi = min(s for s, _ in spans), max(e for _, e in spans)
        tags = "basic,Ensembl_canonical" if t.canonical else ("basic" if n % 2 else "")
        attrs = (f"ID=transcript:{tid};Parent=gene:{gid};Name={g.name}-{201 + n};biotype={t.kind}"
                 + (f";tag={tags}" if tags else "")
                 + f";transcript_support_level={1 if t.canonical else 1 + n};version=1")
        ftype = "mRNA" if t.kind == "protein_coding" else "lnc_RNA"
        lines.append(f"{chrom}\tensembl\t{ftype}\t{tlo + 1}\t{thi}\t.\t{g.strand}\t.\t{attrs}")
        feats = []  # (genome start, order, line)
        if t.cds is not None:
            ids["cds"] += 1
            pid = f"P{ids['cds']:06d}"
            cs, ce = t.cds
            coding.append((t, tid))
        cum = 0
        for rank, (a, b) in enumerate(t.exons, 1):
            eid = ids["exon"].setdefault((g.num, a, b), f"E{len(ids['exon']) + 1:07d}")
            constitutive = int(all((a, b) in s for s in all_exons))
            phase = end_phase = -1
            if t.cds is not None:
                clo, chi = max(a, cs), min(b, ce)
                if clo < chi:
                    if a >= cs:
                        phase = cum % 3
                    if b <= ce:
                        end_phase = (cum + chi - clo) % 3
            elo, ehi = to_genome(g, a, b)
            feats.append((elo, 1, f"{chrom}\tensembl\texon\t{elo + 1}\t{ehi}\t.\t{g.strand}\t.\t"
                                  f"Parent=transcript:{tid};Name={eid};constitutive={constitutive};"
                                  f"ensembl_end_phase={end_phase};ensembl_phase={phase};exon_id={eid};"
                                  f"rank={rank};version=1"))
            if t.cds is None:
                continue
            for ulo, uhi, kind in ((a, min(b, cs), "five_prime_UTR"), (max(a, ce), b, "three_prime_UTR")):
                if ulo < uhi:
                    glo, ghi = to_genome(g, ulo, uhi)
                    feats.append((glo, 0, f"{chrom}\tensembl\t{kind}\t{glo + 1}\t{ghi}\t.\t{g.strand}\t.\t"
                                          f"Parent=transcript:{tid}"))
            clo, chi = max(a, cs), min(b, ce)
            if clo < chi:
                glo, ghi = to_genome(g, clo, chi)
                feats.append((glo, 2, f"{chrom}\tensembl\tCDS\t{glo + 1}\t{ghi}\t.\t{g.strand}\t"
                                      f"{(3 - cum % 3) % 3}\tID=CDS:{pid};Parent=transcript:{tid};protein_id={pid}"))
                cum += chi - clo
        feats.sort(key=lambda f: (f[0], f[1]))
        lines.extend(f[2] for f in feats)
    return lines, coding


# --- variants -----------------------------------------------------------------

class Sampler:
    """Uniform positions over a set of (contig, start, end) intervals."""

    def __init__(self, intervals):
        self.iv = [iv for iv in intervals if iv[2] > iv[1]]
        self.cum, c = [], 0
        for _, s, e in self.iv:
            c += e - s
            self.cum.append(c)
        self.total = c

    def draw(self, rng):
        r = rng.randrange(self.total)
        i = bisect.bisect_right(self.cum, r)
        c, s, e = self.iv[i]
        return c, e - (self.cum[i] - r)


def indel_lengths():
    w = [0.6 ** (n - 1) + (0.03 if n % 3 == 0 else 0) for n in range(1, 21)]
    return list(range(1, 21)), w


def make_variants(rng, seqs, n, exonic, genic, intergenic):
    samplers = [(0.25, Sampler(exonic)), (0.35, Sampler(genic)), (0.40, Sampler(intergenic))]
    lens, lw = indel_lengths()
    seen = set()
    out = [[] for _ in seqs]
    kinds = {"snv": 0, "multiallelic snv": 0, "mnv": 0, "insertion": 0, "deletion": 0}
    while len(seen) < n:
        r = rng.random()
        for share, smp in samplers:
            if r < share:
                break
            r -= share
        c, p = smp.draw(rng)
        if (c, p) in seen:
            continue
        seq = seqs[c]
        ref = chr(seq[p])
        if ref == "N":
            continue
        r = rng.random()
        if r < 0.85:
            if rng.random() < 0.01:
                alts = rng.sample([b for b in BASES if b != ref], 2)
                rec, kind = (ref, ",".join(alts)), "multiallelic snv"
            else:
                alt = TRANSITION[ref] if rng.random() < 2 / 3 else rng.choice(
                    [b for b in BASES if b != ref and b != TRANSITION[ref]])
                rec, kind = (ref, alt), "snv"
        elif r < 0.87:
            k = 2 if rng.random() < 0.8 else 3
            refs = seq[p:p + k].decode()
            if "N" in refs or len(refs) < k:
                continue
            alt = "".join(rng.choice([b for b in BASES if b != x]) for x in refs)
            rec, kind = (refs, alt), "mnv"
        else:
            L = rng.choices(lens, lw)[0]
            if r < 0.935:
                if rng.random() < 0.3:
                    ins = seq[p + 1:p + 1 + L].decode()
                    if "N" in ins or len(ins) < L:
                        continue
                else:
                    ins = "".join(rng.choices(BASES, k=L))
                rec, kind = (ref, ref + ins), "insertion"
            else:
                refs = seq[p:p + 1 + L].decode()
                if "N" in refs or len(refs) < L + 1:
                    continue
                rec, kind = (refs, ref), "deletion"
        seen.add((c, p))
        kinds[kind] += 1
        out[c].append((p, rec[0], rec[1]))
    for recs in out:
        recs.sort()
    return out, kinds


# --- main -----------------------------------------------------------------------

def write_fasta(path, names, seqs):
    fai = []
    with open(path, "wb") as f:
        off = 0
        for name, seq in zip(names, seqs):
            head = f">{name}\n".encode()
            f.write(head)
            off += len(head)
            fai.append(f"{name}\t{len(seq)}\t{off}\t60\t61\n")
            mv = memoryview(seq)
            f.write(b"".join(bytes(mv[i:i + 60]) + b"\n" for i in range(0, len(seq), 60)))
            off += len(seq) + (len(seq) + 59) // 60
    with open(path + ".fai", "w") as f:
        f.writelines(fai)


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variants", type=int, default=1_000_000)
    ap.add_argument("--transcripts", type=int, default=8000, help="protein-coding transcripts (about)")
    ap.add_argument("--genome-mb", type=float, default=100)
    ap.add_argument("--contigs", type=int, default=5)
    a = ap.parse_args()
    t0 = time.time()
    rng = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    out = lambda name: os.path.join(a.outdir, name)  # noqa: E731

    # contigs
    weights = [a.contigs + 7 - i for i in range(a.contigs)]
    total = a.genome_mb * 1e6
    lengths = [int(total * w / sum(weights)) // 1000 * 1000 for w in weights]
    names = [f"chr{i + 1}" for i in range(a.contigs)]
    seqs, segments = [], []
    for c, L in enumerate(lengths):
        seq, segs = make_contig(rng, L)
        seqs.append(seq)
        segments.extend((c, s, e) for s, e in segs)

    # genes
    genes, pc_tx = [], 0
    while pc_tx < a.transcripts:
        ntx = rng.choices((1, 2, 3), (0.5, 0.3, 0.2))[0]
        g = make_pc_gene(rng, ntx)
        genes.append(g)
        pc_tx += len(g.tx)
    n_pc = len(genes)
    genes.extend(make_lnc_gene(rng) for _ in range(round(0.12 * n_pc)))
    rng.shuffle(genes)
    place(rng, genes, segments)
    genes.sort(key=lambda g: (g.contig, g.g0))
    for i, g in enumerate(genes, 1):
        g.num = i
        g.name = f"GENE{i}" if g.kind == "pc" else f"LINC{i}"
        write_gene(seqs, g)

    # check every model against the written genome
    bad = 0
    for g in genes:
        for t in g.tx:
            if t.cds is not None and not valid_cds(genome_cds(seqs, g, t)):
                bad += 1
            if not check_introns(seqs, g, t):
                bad += 1
    if bad:
        sys.exit(f"{bad} transcript models do not match the genome (a bug in this script)")
    t_genome = time.time()

    write_fasta(out("genome.fa"), names, seqs)

    # GFF3, BED, CDS and protein FASTA
    ids = {"tx": 0, "cds": 0, "exon": {}}
    coding = []
    with open(out("models.gff3"), "w") as f:
        f.write("##gff-version 3\n")
        for name, L in zip(names, lengths):
            f.write(f"##sequence-region   {name} 1 {L}\n")
        f.write(f"#!genome-build synthetic GAS-bench seed={a.seed}\n")
        for c, (name, L) in enumerate(zip(names, lengths)):
            f.write(f"{name}\tsynthetic\tchromosome\t1\t{L}\t.\t.\t.\tID=chromosome:{name};Alias={name[3:]}\n")
            for g in genes:
                if g.contig == c:
                    f.write("###\n")
                    lines, tx_ids = gff_lines(g, name, ids)
                    f.write("\n".join(lines) + "\n")
                    coding.extend((g, t, tid) for t, tid in tx_ids)
    with open(out("genes.bed"), "w") as f:
        for g in genes:
            lo, hi = to_genome(g, 0, g.span)
            f.write(f"{names[g.contig]}\t{lo}\t{hi}\t{g.name}\t0\t{g.strand}\t"
                    f"{'protein_coding' if g.kind == 'pc' else 'lncRNA'}\n")
    with open(out("cds.fa"), "w") as fc, open(out("protein.fa"), "w") as fp:
        for g, t, tid in coding:
            s = genome_cds(seqs, g, t)
            fc.write(f">transcript:{tid}\n{s}\n")
            fp.write(f">transcript:{tid}\n{translate(s)[:-1]}\n")
    t_models = time.time()

    # variants
    exonic, genic, intergenic = [], [], []
    by_contig = {}
    for g in genes:
        lo, hi = to_genome(g, 0, g.span)
        genic.append((g.contig, lo, hi))
        by_contig.setdefault(g.contig, []).append((lo, hi))
        for a_, b_ in g.exons:
            exonic.append((g.contig,) + to_genome(g, a_, b_))
    for c, s, e in segments:
        x = s
        for lo, hi in by_contig.get(c, []):
            if s <= lo < e:
                intergenic.append((c, x, lo))
                x = hi
        intergenic.append((c, x, e))
    records, kinds = make_variants(rng, seqs, a.variants, exonic, genic, intergenic)
    with open(out("variants.vcf"), "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        f.write('##FILTER=<ID=PASS,Description="All filters passed">\n')
        f.write(f"##source=make_csq_genome.py --seed {a.seed} --variants {a.variants}\n")
        f.write("##reference=genome.fa\n")
        for name, L in zip(names, lengths):
            f.write(f"##contig=<ID={name},length={L}>\n")
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for c, recs in enumerate(records):
            name = names[c]
            f.write("".join(f"{name}\t{p + 1}\t.\t{r}\t{al}\t.\tPASS\t.\n" for p, r, al in recs))
    t_variants = time.time()

    # where the variants fell (by the canonical and alternative exons)
    ex_sorted = {}
    for g in genes:
        for t in g.tx:
            for a_, b_ in t.exons:
                ex_sorted.setdefault(g.contig, []).append(to_genome(g, a_, b_))
    where = {"exonic": 0, "intronic": 0, "intergenic": 0}
    for c, recs in enumerate(records):
        exs = sorted(set(ex_sorted.get(c, [])))
        starts = [s for s, _ in exs]
        maxend, run = [], 0
        for _, e in exs:
            run = max(run, e)
            maxend.append(run)
        spans = sorted(by_contig.get(c, []))
        sstarts = [s for s, _ in spans]
        for p, _, _ in recs:
            i = bisect.bisect_right(starts, p) - 1
            if i >= 0 and maxend[i] > p:
                where["exonic"] += 1
                continue
            j = bisect.bisect_right(sstarts, p) - 1
            if j >= 0 and spans[j][1] > p:
                where["intronic"] += 1
            else:
                where["intergenic"] += 1

    # summary
    n_lnc = len(genes) - n_pc
    tx = [t for g in genes for t in g.tx]
    pc = [t for t in tx if t.cds is not None]
    n_exons = sum(len(t.exons) for t in tx)
    exon_hist = [len(g.exons) for g in genes if g.kind == "pc"]
    gc = sum(s.count(b"G") + s.count(b"C") for s in seqs)
    acgt = sum(len(s) - s.count(b"N") for s in seqs)
    genic_bases = sum(hi - lo for _, lo, hi in genic)
    lines = [
        f"seed {a.seed}",
        "genome: " + ", ".join(f"{n} {L:,}" for n, L in zip(names, lengths))
        + f" = {sum(lengths):,} bases; GC {100 * gc / acgt:.1f} %; N {sum(lengths) - acgt:,}",
        f"genes: {n_pc:,} protein-coding ({len(pc):,} transcripts, "
        f"{sum(1 for g in genes if g.kind == 'pc' and g.strand == '-'):,} on the minus strand), "
        f"{n_lnc:,} lncRNA ({len(tx) - len(pc):,} transcripts)",
        f"protein-coding transcripts per gene: "
        + ", ".join(f"{k}: {sum(1 for g in genes if g.kind == 'pc' and len(g.tx) == k):,}" for k in (1, 2, 3)),
        f"exons: {n_exons:,} exon features; exons per protein-coding gene: mean {sum(exon_hist) / len(exon_hist):.1f}, "
        f"max {max(exon_hist)}, single-exon {exon_hist.count(1):,}",
        f"gene spans cover {100 * genic_bases / sum(lengths):.1f} % of the genome",
        f"variants: {a.variants:,}: " + ", ".join(f"{k} {v:,}" for k, v in kinds.items()),
        "variants by place: " + ", ".join(f"{k} {v:,} ({100 * v / a.variants:.1f} %)" for k, v in where.items()),
        f"time: genome and models {t_genome - t0:.1f} s, FASTA+GFF3 {t_models - t_genome:.1f} s, "
        f"variants {t_variants - t_models:.1f} s, total {time.time() - t0:.1f} s",
        "files: " + ", ".join(f"{n} {human(os.path.getsize(out(n)))}" for n in
                              ("genome.fa", "models.gff3", "variants.vcf", "genes.bed", "cds.fa", "protein.fa")),
    ]
    with open(out("summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
