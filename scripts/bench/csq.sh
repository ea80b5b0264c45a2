#!/usr/bin/env bash
# Consequence-annotation benchmark: GAS (`gas annotate --transcripts MODELS.gff3
# --reference GENOME.fa`, INFO/CSQ in VEP's layout) beside `bcftools csq -l` and
# SnpEff doing the same work on the same files, measured in the same run.
#
#   bash scripts/bench/csq.sh           # 1,000,000 variants, median of 3 runs
#   bash scripts/bench/csq.sh --quick   # 100,000 variants, 1 run (SnpEff on 20,000)
#
# Environment (all optional):
#   CSQ_DIR=target/bench-csq   cache: data/ (generated once), snpeff/ (its database), runs/
#   CSQ_SEED=1                 seed of scripts/bench/make_csq_genome.py (a new seed regenerates)
#   CSQ_RUNS=3                 runs per measurement (the median is reported)
#   CSQ_SNPEFF_VARIANTS=100000 SnpEff's subset (every k-th record); its 1M figure is
#                              extrapolated from it (see below); 1000000 runs it on all
#   CSQ_SNPEFF_HEAP=4g         SnpEff's JVM heap (-Xmx); its max RSS depends on it
#   CSQ_SNPEFF=0               leave SnpEff out (no database build, no runs)
#   CSQ_CHECK=1                annotate the SnpEff subset once with each tool (untimed) and
#                              tally the consequences each reports, as a sanity check
#   BENCH_NO_BUILD=1           never build GAS (by default it is built only if missing)
#   CSQ_GAS=target/release/gas the GAS binary to measure
#   CSQ_GAS_LEAN=target/release/gas-annotate  the annotator-only binary (same command, no service)
#
# What is measured (GNU time -v: wall clock, max RSS, user+sys CPU; median of the runs):
#  - GAS:       gas annotate --transcripts models.gff3 --reference genome.fa variants.vcf -o /dev/null
#               ("not available" until `gas annotate` has --transcripts)
#  - bcftools:  bcftools csq -l -f genome.fa -g models.gff3 variants.vcf -Ov -o /dev/null
#               -Ov (uncompressed VCF text) is the same output work as GAS's; bcftools
#               formats every record and writes it, without compressing. The -Ou line
#               (uncompressed BCF: no text formatting) is shown too, -Ob would add deflate.
#               -l: each record on its own, no haplotype-aware phasing. Sites-only input:
#               no genotypes, so only INFO/BCSQ is written.
#  - gas-annotate: the same annotation by the binary that is only the annotator
#               (crates/annotate-cli; `gas annotate` is the same code inside the service
#               binary, whose web server and AWS SDK cost about 8 MiB of resident pages)
#  - GAS and bcftools on the header alone: their start (reading models.gff3 and the .fai).
#  - SnpEff:    java -Xmx4g -jar snpeff.jar ann -noLog -noStats -c snpEff.config synth SUBSET.vcf
#               on the subset, and on the header alone (its start: JVM and database load).
#               The full-set figure is extrapolated: start + (subset - start) x (N / subset).
#               The database is built once from the same GFF3 and FASTA
#               (snpEff build -gff3, checked against the generator's cds.fa/protein.fa).
#  - GAS today: gas annotate --track genes.bed variants.vcf -o /dev/null (gene overlap only,
#               no transcripts), as a reference line.
# Ratio = tool wall / GAS wall on the same variants (how many times slower than GAS).
# bcftools runs one thread, SnpEff one annotating thread (plus the JVM's own); GAS uses one
# per core (the CPU column shows the total). The work is not identical to the letter:
# bcftools 1.16 does not know the lncRNA biotype and skips those transcripts (newer
# bcftools reads them), and reports nothing up/downstream or between genes; SnpEff adds
# those, HGVS notation and an intergenic entry, and (5.1) builds the lncRNA transcripts
# from their exons, as it does not know Ensembl's lnc_RNA/ncRNA_gene feature types.
# Every process started here is waited for; each run is time-bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) echo "usage: bash scripts/bench/csq.sh [--quick]" >&2; exit 2 ;;
esac

DIR=${CSQ_DIR:-target/bench-csq}
SEED=${CSQ_SEED:-1}
TOTAL=1000000
if [ "$QUICK" = 1 ]; then
  N_MAIN=100000 RUNS=${CSQ_RUNS:-1} N_SNPEFF=${CSQ_SNPEFF_VARIANTS:-20000}
else
  N_MAIN=$TOTAL RUNS=${CSQ_RUNS:-3} N_SNPEFF=${CSQ_SNPEFF_VARIANTS:-100000}
fi
HEAP=${CSQ_SNPEFF_HEAP:-4g}
CHECK=${CSQ_CHECK:-1}
RUN_TIMEOUT=1800
GAS=${CSQ_GAS:-target/release/gas}
GAS_LEAN=${CSQ_GAS_LEAN:-target/release/gas-annotate}
DATA=$DIR/data
SNPEFF_DIR=$DIR/snpeff
RUNDIR=$DIR/runs
mkdir -p "$DIR" "$RUNDIR"

say() { printf '%s\n' "$*" >&2; }
num() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; } # 1000000 -> 1,000,000
NOTES=()
note() { NOTES+=("$*"); say "note: $*"; }

# --- tools ------------------------------------------------------------------
need=()
command -v bcftools >/dev/null 2>&1 || need+=(bcftools)
[ -x /usr/bin/time ] || need+=(time)
[ "${CSQ_SNPEFF:-1}" = 0 ] || command -v snpEff >/dev/null 2>&1 || need+=(snpeff)
if [ "${#need[@]}" -gt 0 ] && command -v apt-get >/dev/null; then
  say "installing ${need[*]} (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  for p in "${need[@]}"; do apt-get install -y -qq "$p" >&2 || say "could not install $p"; done
fi
for t in bcftools python3 /usr/bin/time; do
  command -v "$t" >/dev/null 2>&1 || { say "missing $t"; exit 1; }
done
# SnpEff: the jar the Debian wrapper runs, called through java directly (the
# wrapper echoes its arguments to standard output when given -c).
SNPEFF=()
if [ "${CSQ_SNPEFF:-1}" != 0 ] && command -v snpEff >/dev/null 2>&1; then
  jar="$(sed -n 's/^jardir=//p' "$(command -v snpEff)" | head -1)/snpeff.jar"
  if [ -f "$jar" ] && command -v java >/dev/null 2>&1; then
    SNPEFF=(java "-Xmx$HEAP" -jar "$jar")
  else
    SNPEFF=(snpEff "-Xmx$HEAP")
  fi
fi

# --- data (generated once) ----------------------------------------------------
if [ "$(cat "$DATA/.complete" 2>/dev/null)" != "seed=$SEED variants=$TOTAL" ]; then
  say "generating the genome, models and $TOTAL variants into $DATA (seed $SEED)"
  rm -rf "$DATA" "$SNPEFF_DIR"
  start=$(date +%s.%N)
  python3 scripts/bench/make_csq_genome.py "$DATA" --seed "$SEED" --variants "$TOTAL" >&2
  echo "generation: $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s wall" >"$DATA/generation.txt"
  echo "seed=$SEED variants=$TOTAL" >"$DATA/.complete"
fi
subset() { # subset N: a VCF of N records, every k-th of the full set; prints its path
  local n=$1 out
  if [ "$n" -ge "$TOTAL" ]; then echo "$DATA/variants.vcf"; return; fi
  out=$DATA/variants.sub$n.vcf
  if [ ! -s "$out" ]; then
    awk -v k=$((TOTAL / n)) -v n="$n" '/^#/ {print; next} (++i % k) == 0 && c < n {print; c++}' \
      "$DATA/variants.vcf" >"$out.tmp"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}
IN=$(subset "$N_MAIN")
IN_SNPEFF=$(subset "$N_SNPEFF")
EMPTY=$DATA/variants.header.vcf
grep '^#' "$DATA/variants.vcf" >"$EMPTY"

# --- SnpEff's database (built once) -----------------------------------------------
if [ "${#SNPEFF[@]}" -gt 0 ] && [ ! -s "$SNPEFF_DIR/data/synth/snpEffectPredictor.bin" ]; then
  say "building SnpEff's database from models.gff3 + genome.fa"
  rm -rf "$SNPEFF_DIR"
  mkdir -p "$SNPEFF_DIR/data/synth"
  ln -s ../../../data/models.gff3 "$SNPEFF_DIR/data/synth/genes.gff"
  ln -s ../../../data/genome.fa "$SNPEFF_DIR/data/synth/sequences.fa"
  ln -s ../../../data/cds.fa "$SNPEFF_DIR/data/synth/cds.fa"
  ln -s ../../../data/protein.fa "$SNPEFF_DIR/data/synth/protein.fa"
  # The standard genetic code, as SnpEff's own configuration spells it.
  cat >"$SNPEFF_DIR/snpEff.config" <<'EOF'
data.dir = ./data/
codon.Standard : TTT/F, TTC/F, TTA/L, TTG/L+, TCT/S, TCC/S, TCA/S, TCG/S, TAT/Y, TAC/Y, TAA/*, TAG/*, TGT/C, TGC/C, TGA/*, TGG/W, CTT/L, CTC/L, CTA/L, CTG/L+, CCT/P, CCC/P, CCA/P, CCG/P, CAT/H, CAC/H, CAA/Q, CAG/Q, CGT/R, CGC/R, CGA/R, CGG/R, ATT/I, ATC/I, ATA/I, ATG/M+, ACT/T, ACC/T, ACA/T, ACG/T, AAT/N, AAC/N, AAA/K, AAG/K, AGT/S, AGC/S, AGA/R, AGG/R, GTT/V, GTC/V, GTA/V, GTG/V, GCT/A, GCC/A, GCA/A, GCG/A, GAT/D, GAC/D, GAA/E, GAG/E, GGT/G, GGC/G, GGA/G, GGG/G
synth.genome : Synthetic (scripts/bench/make_csq_genome.py)
EOF
  start=$(date +%s.%N)
  if ! (cd "$SNPEFF_DIR" && timeout 1800 "${SNPEFF[@]}" build -c snpEff.config -noLog -gff3 -v synth >build.log 2>&1); then
    say "SnpEff's database build failed: see $SNPEFF_DIR/build.log"
  fi
  echo "snpEff build: $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s wall" >"$SNPEFF_DIR/build.txt"
fi
HAVE_SNPEFF=0
[ "${#SNPEFF[@]}" -gt 0 ] && [ -s "$SNPEFF_DIR/data/synth/snpEffectPredictor.bin" ] && HAVE_SNPEFF=1
[ "$HAVE_SNPEFF" = 1 ] || [ "${CSQ_SNPEFF:-1}" = 0 ] || note "SnpEff is not available (Debian package snpeff) or its database did not build: its lines are not measured"

# --- GAS (built only if missing) -----------------------------------------------
if [ ! -x "$GAS" ] && [ -z "${BENCH_NO_BUILD:-}" ]; then
  say "building GAS (cargo build --release -p gas)"
  cargo build --release -p gas >&2 || say "the GAS build failed"
fi
if [ ! -x "$GAS_LEAN" ] && [ -z "${BENCH_NO_BUILD:-}" ]; then
  say "building gas-annotate (cargo build --release -p gas-annotate-cli)"
  cargo build --release -p gas-annotate-cli >&2 || say "the gas-annotate build failed"
fi
HAVE_LEAN=0
[ -x "$GAS_LEAN" ] && HAVE_LEAN=1
HAVE_GAS=0 HAVE_GAS_CSQ=0
if [ -x "$GAS" ]; then
  HAVE_GAS=1
  if "$GAS" annotate --help 2>/dev/null | grep -q -- '--transcripts' \
    && "$GAS" annotate --help 2>/dev/null | grep -q -- '--reference'; then
    HAVE_GAS_CSQ=1
  else
    note "gas annotate has no --transcripts/--reference yet: GAS consequence annotation not available"
  fi
else
  note "no $GAS: GAS lines not available"
fi

# --- the machine ----------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpus: $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "tools: $(bcftools --version | head -1)$([ "$HAVE_SNPEFF" = 1 ] && echo "; $("${SNPEFF[@]}" -version 2>/dev/null | head -1 | tr '\t' ' ') on $(java -version 2>&1 | head -1)")"
  echo "uptime at start: $(uptime)"
} | tee "$RUNDIR/machine.txt" >&2

# --- measuring --------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# measure KEY CMD...: RUNS runs; each appends "wall_s maxrss_kib cpu_s load1" to KEY.runs
measure() {
  local key=$1 r load
  shift
  : >"$RUNDIR/$key.runs"
  for r in $(seq 1 "$RUNS"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if ! timeout "$RUN_TIMEOUT" /usr/bin/time -v -o "$RUNDIR/$key.time" "$@" \
      >/dev/null 2>"$RUNDIR/$key.stderr"; then
      say "  $key failed (run $r): $(tail -3 "$RUNDIR/$key.stderr" | tr '\n' ' ')"
      : >"$RUNDIR/$key.runs"
      return 0
    fi
    awk -F': ' -v load="$load" '
      /Elapsed \(wall clock\)/ {n = split($NF, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2]}
      /Maximum resident set size/ {rss = $NF}
      /User time/ {u = $NF} /System time/ {s = $NF}
      END {printf "%.2f %d %.2f %s\n", wall, rss, u + s, load}' "$RUNDIR/$key.time" >>"$RUNDIR/$key.runs"
    say "  $key run $r: $(tail -1 "$RUNDIR/$key.runs" | awk '{printf "%s s wall, %.0f MiB, %s s CPU, load %s", $1, $2/1024, $3, $4}')"
  done
}
col() { [ -s "$RUNDIR/$1.runs" ] && awk -v c="$2" '{print $c}' "$RUNDIR/$1.runs" | median; } # col KEY N: median of column N
have() { [ -s "$RUNDIR/$1.runs" ]; }

say "== measuring: $RUNS run(s) each, $N_MAIN variants$([ "$HAVE_SNPEFF" = 1 ] && echo " (SnpEff: $N_SNPEFF)")"
rm -f "$RUNDIR"/*.runs
M=$DATA/models.gff3 FA=$DATA/genome.fa
if [ "$HAVE_GAS_CSQ" = 1 ]; then
  measure gas "$GAS" annotate --transcripts "$M" --reference "$FA" "$IN" -o /dev/null
fi
if [ "$HAVE_LEAN" = 1 ]; then
  measure gas_lean "$GAS_LEAN" --transcripts "$M" --reference "$FA" "$IN" -o /dev/null
fi
measure bcftools bcftools csq -l -f "$FA" -g "$M" "$IN" -Ov -o /dev/null
measure bcftools_u bcftools csq -l -f "$FA" -g "$M" "$IN" -Ou -o /dev/null
measure bcftools_start bcftools csq -l -f "$FA" -g "$M" "$EMPTY" -Ov -o /dev/null
if [ "$HAVE_GAS_CSQ" = 1 ]; then
  measure gas_start "$GAS" annotate --transcripts "$M" --reference "$FA" "$EMPTY" -o /dev/null
fi
[ "$HAVE_LEAN" = 1 ] && measure gas_lean_start "$GAS_LEAN" --transcripts "$M" --reference "$FA" "$EMPTY" -o /dev/null
if [ "$HAVE_GAS" = 1 ]; then
  measure gas_today "$GAS" annotate --track "$DATA/genes.bed" "$IN" -o /dev/null
fi
if [ "$HAVE_SNPEFF" = 1 ]; then
  SNPEFF_ANN=("${SNPEFF[@]}" ann -noLog -noStats -c "$SNPEFF_DIR/snpEff.config" synth)
  measure snpeff "${SNPEFF_ANN[@]}" "$IN_SNPEFF"
  if [ "$N_SNPEFF" -lt "$N_MAIN" ]; then
    measure snpeff_start "${SNPEFF_ANN[@]}" "$EMPTY"
  fi
  if [ "$HAVE_GAS_CSQ" = 1 ] && [ "$N_SNPEFF" != "$N_MAIN" ]; then
    measure gas_sub "$GAS" annotate --transcripts "$M" --reference "$FA" "$IN_SNPEFF" -o /dev/null
  fi
fi

# --- the table ----------------------------------------------------------------------
G=$(col gas 1 || true); GS=$(col gas_sub 1 || true)
[ "$N_SNPEFF" = "$N_MAIN" ] && GS=$G
ROWS=()
row() { # row TOOL VARIANTS WALL RSS_KIB CPU LOAD GAS_WALL
  local ratio="-" vps="-" rss="-"
  [ -n "$7" ] && [ "$3" != "-" ] && ratio=$(awk -v a="$3" -v b="$7" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else print "-"}')
  [ "$3" != "-" ] && [ "$2" -gt 0 ] && vps=$(awk -v n="$2" -v w="$3" 'BEGIN {if (w > 0) printf "%.0f", n / w; else print "-"}')
  [ "$4" != "-" ] && rss=$(awk -v k="$4" 'BEGIN {printf "%.0f", k / 1024}')
  ROWS+=("$1|$(num "$2")|$3|$(num "$vps")|$rss|$5|$ratio|$6")
}
line() { # line KEY TOOL VARIANTS GAS_WALL
  if have "$1"; then row "$2" "$3" "$(col "$1" 1)" "$(col "$1" 2)" "$(col "$1" 3)" "$(col "$1" 4)" "$4"
  else row "$2" "$3" "-" "-" "-" "-" ""; fi
}
if [ "$HAVE_GAS_CSQ" = 1 ]; then
  line gas "GAS annotate --transcripts --reference (CSQ)" "$N_MAIN" "$G"
else
  ROWS+=("GAS annotate --transcripts --reference (CSQ)|$(num "$N_MAIN")|not available|-|-|-|-|-")
fi
[ "$HAVE_LEAN" = 1 ] && line gas_lean "gas-annotate (the annotator alone, same command)" "$N_MAIN" "$G"
line bcftools "bcftools csq -l -Ov (VCF text)" "$N_MAIN" "$G"
line bcftools_u "bcftools csq -l -Ou (BCF, uncompressed)" "$N_MAIN" "$G"
[ "$HAVE_GAS_CSQ" = 1 ] && line gas_start "GAS --transcripts --reference, header only (loading)" 0 ""
[ "$HAVE_LEAN" = 1 ] && line gas_lean_start "gas-annotate, header only (loading)" 0 ""
line bcftools_start "bcftools csq -l, header only (loading models.gff3)" 0 ""
SE_EXT=""
if [ "$HAVE_SNPEFF" = 1 ]; then
  if [ "$N_SNPEFF" -lt "$N_MAIN" ]; then
    [ "$HAVE_GAS_CSQ" = 1 ] && line gas_sub "GAS annotate --transcripts --reference (CSQ)" "$N_SNPEFF" "$GS"
    line snpeff "SnpEff ann -noStats (-Xmx$HEAP)" "$N_SNPEFF" "$GS"
    line snpeff_start "SnpEff, header only (JVM start + database load)" 0 ""
    if have snpeff && have snpeff_start; then
      S1=$(col snpeff 1); S0=$(col snpeff_start 1)
      SE_EXT=$(awk -v s1="$S1" -v s0="$S0" -v n="$N_MAIN" -v m="$N_SNPEFF" 'BEGIN {printf "%.1f", s0 + (s1 - s0) * n / m}')
      row "SnpEff, extrapolated: start + (subset - start) x $((N_MAIN / N_SNPEFF))" "$N_MAIN" "$SE_EXT" "-" "-" "-" "$G"
      note "SnpEff's $(num "$N_MAIN") figure is extrapolated linearly from $(num "$N_SNPEFF") variants (every $((TOTAL / N_SNPEFF))th record): $S0 s start + ($S1 - $S0) s x $((N_MAIN / N_SNPEFF)); the plain x$((N_MAIN / N_SNPEFF)) scaling would give $(awk -v s="$S1" -v k=$((N_MAIN / N_SNPEFF)) 'BEGIN {printf "%.1f", s * k}') s. Its max RSS is the subset's."
    fi
  else
    line snpeff "SnpEff ann -noStats (-Xmx$HEAP)" "$N_SNPEFF" "$G"
    SE_EXT=$(col snpeff 1 || true)
  fi
fi
[ "$HAVE_GAS" = 1 ] && line gas_today "GAS today: --track genes.bed (gene overlap, no transcripts)" "$N_MAIN" "$G"

# --- the targets ------------------------------------------------------------------------
B=$(col bcftools 1 || true); BM=$(col bcftools 2 || true)
TARGETS=()
# speed_target NAME WALL / rss_target NAME RSS_KIB: the goal lines against bcftools
speed_target() { TARGETS+=("$1 vs bcftools csq -l: $(awk -v a="$B" -v b="$2" 'BEGIN {r = (b > 0) ? a / b : 0; printf "%.1fx faster (target >= 3x): %s", r, (r >= 3 ? "met" : "NOT met")}')"); }
rss_target() { TARGETS+=("$1 max RSS $(awk -v k="$2" 'BEGIN {printf "%.1f", k/1024}') MiB vs bcftools $(awk -v k="$BM" 'BEGIN {printf "%.1f", k/1024}') MiB (target: no more): $(awk -v a="$2" -v b="$BM" 'BEGIN {print (a <= b ? "met" : "NOT met")}')"); }
if [ "$HAVE_GAS_CSQ" = 1 ] && [ -n "$G" ]; then
  GM=$(col gas 2)
  speed_target GAS "$G"
  [ -n "$SE_EXT" ] && TARGETS+=("GAS vs SnpEff: $(awk -v a="$SE_EXT" -v b="$G" 'BEGIN {r = (b > 0) ? a / b : 0; printf "%.1fx faster (target >= 50x): %s", r, (r >= 50 ? "met" : "NOT met")}')")
  rss_target GAS "$GM"
  if have gas_lean; then
    speed_target gas-annotate "$(col gas_lean 1)"
    rss_target gas-annotate "$(col gas_lean 2)"
  fi
elif [ -n "$B" ]; then
  TARGETS+=("GAS not available; what it must do on $(num "$N_MAIN") variants here: wall <= $(awk -v a="$B" 'BEGIN {printf "%.2f", a / 3}') s (bcftools / 3)$([ -n "$SE_EXT" ] && awk -v a="$SE_EXT" 'BEGIN {printf " and <= %.2f s (SnpEff / 50)", a / 50}'), max RSS <= $(awk -v k="$BM" 'BEGIN {printf "%.0f", k/1024}') MiB (bcftools')")
fi

# --- model checks and (untimed) output tallies ---------------------------------------------------
CHECKS=()
mkdir -p "$DIR/out"
bcftools csq -l -f "$FA" -g "$M" "$IN_SNPEFF" -Ov -o "$DIR/out/bcftools.vcf" 2>"$DIR/out/bcftools.log" || true
CHECKS+=("bcftools csq loading models.gff3: $(grep -E '^Indexed' "$DIR/out/bcftools.log" || echo 'failed'); ignored biotypes (gene and transcript lines): $(awk -F'\t' '/^Ignored/ {f=1; next} f && /^\t[0-9]+x\t/ {printf "%s%s %s", sep, $2, substr($3, 4); sep=", "}' "$DIR/out/bcftools.log"); warnings on $(num "$N_SNPEFF") variants: $(grep -c -i 'warning' "$DIR/out/bcftools.log" || true) $({ grep -i 'warning' "$DIR/out/bcftools.log" || true; } | sed 's/ at chr[^ ]*//' | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/(\1x: \2)/' | head -3 | tr '\n' ' ')")
if [ "$HAVE_SNPEFF" = 1 ]; then
  L=$SNPEFF_DIR/build.log
  stat() { sed -n "s/^# *$1 *: *//p" "$L" | head -1 | tr -s ' '; }
  CHECKS+=("SnpEff build: $(cat "$SNPEFF_DIR/build.txt" 2>/dev/null); genes $(stat Genes) ($(stat 'Protein coding genes') protein-coding), transcripts $(stat Transcripts), protein-coding transcripts $(stat 'Protein coding transcripts'): STOP codons in CDS errors $(stat 'STOP codons in CDS errors'), START codon errors $(stat 'START codon errors'), total errors $(stat 'Total Errors'); $({ grep -o 'CDS check:.*' "$L" || true; } | tr -s '\t ' ' ' | head -1); $({ grep -o 'Protein check:.*' "$L" || true; } | tr -s '\t ' ' ' | head -1); warning kinds (SnpEff prints the first few of each): $({ grep -o '^[.]*WARNING_[A-Z_]*' "$L" || true; } | tr -d . | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ')(SnpEff 5.1's GFF3 reader does not know Ensembl's lnc_RNA and ncRNA_gene types: it makes each lncRNA transcript and a gene for it from the exons, with a TRANSCRIPT_NOT_FOUND and a GENE_COORDINATES warning; they are the CDS check's 'Not found')")
fi
if [ "$CHECK" = 1 ]; then
  TALLY=(bcftools "$DIR/out/bcftools.vcf" BCSQ)
  if [ "$HAVE_SNPEFF" = 1 ]; then
    "${SNPEFF_ANN[@]}" "$IN_SNPEFF" >"$DIR/out/snpeff.vcf" 2>"$DIR/out/snpeff.log" || true
    TALLY+=(SnpEff "$DIR/out/snpeff.vcf" ANN)
  fi
  if [ "$HAVE_GAS_CSQ" = 1 ]; then
    "$GAS" annotate --transcripts "$M" --reference "$FA" "$IN_SNPEFF" -o "$DIR/out/gas.vcf" 2>"$DIR/out/gas.log" || true
    TALLY+=(GAS "$DIR/out/gas.vcf" CSQ)
  fi
  python3 - "${TALLY[@]}" >"$DIR/out/tally.md" <<'EOF'
import sys
groups = [
    ("missense", ("missense",)), ("stop gained", ("stop_gained",)), ("frameshift", ("frameshift",)),
    ("inframe indel", ("inframe", "disruptive_inframe", "conservative_inframe")),
    ("synonymous", ("synonymous",)), ("start/stop lost", ("start_lost", "stop_lost")),
    ("splice donor/acceptor", ("splice_donor", "splice_acceptor")), ("splice region", ("splice_region",)),
    ("5'/3' UTR", ("5_prime_utr", "3_prime_utr")), ("intron", ("intron",)),
    ("upstream/downstream", ("upstream", "downstream")), ("non-coding transcript", ("non_coding",)),
    ("intergenic", ("intergenic",)),
]
tools = []
args = sys.argv[1:]
for i in range(0, len(args), 3):
    name, path, tag = args[i:i + 3]
    field = 0 if tag == "BCSQ" else 1
    counts, total, annotated = {g: 0 for g, _ in groups}, 0, 0
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            total += 1
            info = line.rstrip("\n").split("\t")[7]
            value = next((kv[len(tag) + 1:] for kv in info.split(";") if kv.startswith(tag + "=")), None)
            if value is None:
                continue
            annotated += 1
            terms = set()
            for entry in value.split(","):
                parts = entry.split("|")
                if len(parts) > field:
                    terms.update(parts[field].lower().split("&"))
            for g, keys in groups:
                if any(k in t for t in terms for k in keys):
                    counts[g] += 1
    tools.append((name, tag, total, annotated, counts))
print("| records with at least one ... | " + " | ".join(f"{n} ({t})" for n, t, *_ in tools) + " |")
print("|---|" + "---|" * len(tools))
print("| any annotation | " + " | ".join(f"{a:,} of {n:,}" for _, _, n, a, _ in tools) + " |")
for g, _ in groups:
    print(f"| {g} | " + " | ".join(f"{c[g]:,}" for *_, c in tools) + " |")
EOF
fi

# --- report ----------------------------------------------------------------------------------
echo "uptime at end: $(uptime)" >>"$RUNDIR/machine.txt"
{
  echo
  echo "## Consequence annotation (scripts/bench/csq.sh$([ "$QUICK" = 1 ] && echo ' --quick'))"
  echo
  cat "$RUNDIR/machine.txt"
  echo "data: $(sed -n 's/^genome: //p' "$DATA/summary.txt" | cut -d';' -f1); $(sed -n 's/^genes: //p' "$DATA/summary.txt")"
  echo "variants: $(sed -n 's/^variants: //p' "$DATA/summary.txt")"
  echo "          $(sed -n 's/^variants by place: //p' "$DATA/summary.txt")"
  echo "$(cat "$DATA/generation.txt"); files: $(sed -n 's/^files: //p' "$DATA/summary.txt")"
  echo
  echo "| tool | variants | wall s (median of $RUNS) | variants/s | max RSS MiB | CPU s (user+sys) | ratio vs GAS | load (1-min) at start |"
  echo "|---|---|---|---|---|---|---|---|"
  for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
  echo
  for t in "${TARGETS[@]+"${TARGETS[@]}"}"; do echo "- $t"; done
  for c in "${CHECKS[@]}"; do echo "- $c"; done
  for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "- note: $n"; done
  if [ "$CHECK" = 1 ] && [ -s "$DIR/out/tally.md" ]; then
    echo
    echo "Consequences reported on the $(num "$N_SNPEFF")-variant subset (one untimed run each; outputs in $DIR/out/):"
    echo
    cat "$DIR/out/tally.md"
  fi
} | tee "$DIR/results.md"
