#!/usr/bin/env bash
# The benchmark command (DESIGN section 8): builds in release, installs what
# it needs (Debian: bcftools, tabix, wrk, vcfanno, time), then measures each
# figure beside its anchor in the same run and prints one table:
#   figure | GAS | anchor | ratio
#
#   bash scripts/bench.sh           # the full run, the figures of docs/BENCHMARKS.md
#   bash scripts/bench.sh --quick   # a short smoke version (under a minute once built)
#   BENCH_NO_BUILD=1 bash scripts/bench.sh   # measure the release binaries already built
#   BENCH_UTIL_ENV="MALLOC_MMAP_THRESHOLD_=131072" bash scripts/bench.sh   # gas util's archive
#                                   # memory with extra environment (e.g. glibc malloc tuning)
#
# What it runs (docs/BENCHMARKS.md says more):
#  - annotator: `gas annotate` with the dbSNP and gene tracks against
#    `bcftools annotate` doing the same work (two passes piped, on bgzipped,
#    tabix-indexed input) and against `vcfanno` with both tracks; outputs
#    are checked against each other record by record;
#  - archive peak memory (VmHWM of the whole `gas util` process, read from
#    /proc while it runs) archiving results of several sizes through the AWS
#    adapters on moto: the S3 cold storage class, and the Glacier vault mode
#    against its own endpoint (bench_tools glacier-proxy answers Glacier's
#    calls and passes the rest to moto, which has no vault multipart upload);
#  - tree hash against `openssl speed -evp sha256`;
#  - wrk against `gas dev` (embedded backend) for a user with 10,000 jobs:
#    GET /api/v1/jobs, GET /api/v1/jobs/{id}, the /annotations page, and
#    POST /archive with signed notifications, beside GET /healthz;
#  - archive lateness of 1,000 jobs on the embedded backend.
# Every process it starts is stopped on exit; each step is time-bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) echo "usage: bash scripts/bench.sh [--quick]" >&2; exit 2 ;;
esac

if [ "$QUICK" = 1 ]; then
  VARIANTS=100000 RUNS=1 ARCHIVE_MIB="256" TREEHASH_MIB=256 WRK_SECS=3
  LOAD_JOBS=10000 LATE_JOBS=200 LATE_SPREAD=2
else
  VARIANTS=1000000 RUNS=3 ARCHIVE_MIB="256 1024 2048" TREEHASH_MIB=1024 WRK_SECS=10
  LOAD_JOBS=10000 LATE_JOBS=1000 LATE_SPREAD=10
fi
WRK_CONNECTIONS=16
SHARED=../shared
GENES=$SHARED/data/refdata/genes.grch37.bed.gz
DBSNP=$SHARED/data/refdata/dbsnp_common.grch37.vcf.gz
WORK=target/bench
mkdir -p "$WORK"
GAS=target/release/gas
TOOLS=target/release/examples/bench_tools

say() { printf '%s\n' "$*" >&2; }

# --- every process started here is stopped on exit -------------------------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stop() { # stop PID: ends one process started here and forgets it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # wait_http URL SECONDS
  local i
  for i in $(seq 1 $(($2 * 10))); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  say "no answer from $1"; return 1
}
peak_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- the table --------------------------------------------------------------
ROWS=()
row() { ROWS+=("$1|$2|$3|$4"); say "  $1: $2 | $3 | $4"; }
NOTES=()
note() { NOTES+=("$*"); say "note: $*"; }

# --- tools ------------------------------------------------------------------
need=()
for t in bcftools:bcftools tabix:tabix bgzip:tabix wrk:wrk /usr/bin/time:time openssl:openssl curl:curl; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t##*:}")
done
command -v vcfanno >/dev/null 2>&1 || need+=(vcfanno)
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]} (Debian)"
  if command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    for p in $(printf '%s\n' "${need[@]}" | sort -u); do
      apt-get install -y -qq "$p" >&2 || say "could not install $p"
    done
  fi
fi
HAVE_VCFANNO=1
command -v vcfanno >/dev/null 2>&1 || { HAVE_VCFANNO=0; note "vcfanno is not installed and could not be installed (Debian package vcfanno): its anchor is not measured"; }
for t in bcftools tabix bgzip wrk /usr/bin/time; do
  command -v "$t" >/dev/null 2>&1 || { say "missing $t"; exit 1; }
done

# --- build ------------------------------------------------------------------
if [ -n "${BENCH_NO_BUILD:-}" ] && [ -x "$GAS" ] && [ -x "$TOOLS" ]; then
  say "BENCH_NO_BUILD: using the binaries already built in target/release"
else
  say "building (release)"
  cargo build --release -q -p gas -p gas-storage --bin gas --example bench_tools --example treehash_speed >&2
fi

# --- the machine ------------------------------------------------------------
say "== machine"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpus: $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r); $(rustc --version)"
  echo "tools: $(bcftools --version | head -1), $(tabix --version | head -1), $({ vcfanno 2>&1 || true; } | grep -o 'vcfanno version [0-9.]*' | head -1), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), $(openssl version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$WORK/machine.txt" >&2

# --- 1. annotator -----------------------------------------------------------
say "== annotator: $VARIANTS variants"
IN=$WORK/synth_$VARIANTS.vcf
if [ ! -s "$IN.gz.tbi" ]; then
  timeout 600 python3 "$SHARED/bench/make_synthetic_vcf.py" "$VARIANTS" "$IN"
  bgzip -f -@2 "$IN"
  tabix -f -p vcf "$IN.gz"
fi
IN=$IN.gz
printf '##INFO=<ID=GENE,Number=.,Type=String,Description="Overlapping genes">\n' >"$WORK/gene.hdr"
cat >"$WORK/vcfanno.toml" <<EOF
[[annotation]]
file="$(realpath "$DBSNP")"
fields=["ID"]
names=["DBSNP_ID"]
ops=["self"]

[[annotation]]
file="$(realpath "$GENES")"
columns=[4]
names=["GENE"]
ops=["uniq"]
EOF
timed() { # timed OUT_PREFIX CMD...: "wall_s peak_KiB user_s sys_s" into OUT_PREFIX.time
  timeout 900 /usr/bin/time -f '%e %M %U %S' -o "$1.time" "${@:2}"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$WORK/ann_gas.s"; : >"$WORK/ann_bcf.s"; : >"$WORK/ann_vcfanno.s"
: >"$WORK/ann_gas.cpu"; : >"$WORK/ann_bcf.cpu"; : >"$WORK/ann_vcfanno.cpu"
for run in $(seq 1 "$RUNS"); do
  timed "$WORK/ann_gas" "$GAS" annotate --track "$GENES" --track "$DBSNP" "$IN" -o "$WORK/out_gas.vcf" 2>"$WORK/ann_gas.log"
  cut -d' ' -f1 "$WORK/ann_gas.time" >>"$WORK/ann_gas.s"
  awk '{print $3 + $4}' "$WORK/ann_gas.time" >>"$WORK/ann_gas.cpu"
  timed "$WORK/ann_bcf" bash -c "bcftools annotate -a '$DBSNP' -c ID -Ou '$IN' | bcftools annotate -a '$GENES' -c CHROM,FROM,TO,GENE -h '$WORK/gene.hdr' -l GENE:unique -o '$WORK/out_bcftools.vcf'"
  cut -d' ' -f1 "$WORK/ann_bcf.time" >>"$WORK/ann_bcf.s"
  awk '{print $3 + $4}' "$WORK/ann_bcf.time" >>"$WORK/ann_bcf.cpu"
  if [ "$HAVE_VCFANNO" = 1 ]; then
    timed "$WORK/ann_vcfanno" bash -c "vcfanno -p $(nproc) '$WORK/vcfanno.toml' '$IN' >'$WORK/out_vcfanno.vcf' 2>'$WORK/vcfanno.log'"
    cut -d' ' -f1 "$WORK/ann_vcfanno.time" >>"$WORK/ann_vcfanno.s"
    awk '{print $3 + $4}' "$WORK/ann_vcfanno.time" >>"$WORK/ann_vcfanno.cpu"
  fi
  say "  run $run: gas $(tail -1 "$WORK/ann_gas.s") s, bcftools $(tail -1 "$WORK/ann_bcf.s") s, vcfanno $(tail -1 "$WORK/ann_vcfanno.s" 2>/dev/null || echo -) s"
done
# Outputs must agree: per record, the same ID as bcftools' and the same set
# of GENE names as bcftools' and vcfanno's (vcfanno puts the dbSNP id in
# INFO DBSNP_ID, as it cannot fill the ID column).
CHECK=$(python3 - "$WORK/out_gas.vcf" "$WORK/out_bcftools.vcf" "$WORK/out_vcfanno.vcf" "$HAVE_VCFANNO" <<'EOF'
import sys
def records(path):
    with open(path) as f:
        for line in f:
            if line.startswith('#'):
                continue
            c = line.rstrip('\n').split('\t')
            info = dict(e.split('=', 1) if '=' in e else (e, '') for e in c[7].split(';'))
            yield c[0], c[1], c[2], info
gas, bcf = records(sys.argv[1]), records(sys.argv[2])
van = records(sys.argv[3]) if sys.argv[4] == '1' else None
n = ids = genes = bad_bcf = bad_van = 0
for g in gas:
    b = next(bcf)
    n += 1
    gid, ggenes = g[2], set(filter(None, g[3].get('GENE', '').split(',')))
    ids += gid != '.'
    genes += bool(ggenes)
    if (g[0], g[1], gid, ggenes) != (b[0], b[1], b[2], set(filter(None, b[3].get('GENE', '').split(',')))):
        bad_bcf += 1
    if van is not None:
        v = next(van)
        vid = v[3].get('DBSNP_ID', '.')
        if (g[0], g[1], gid, ggenes) != (v[0], v[1], vid, set(filter(None, v[3].get('GENE', '').split(',')))):
            bad_van += 1
left = sum(1 for _ in bcf)
print(n, ids, genes, bad_bcf + left, bad_van if van is not None else -1)
EOF
)
read -r N_REC N_IDS N_GENES BAD_BCF BAD_VAN <<<"$CHECK"
say "  checked $N_REC records: $N_IDS with dbSNP ids, $N_GENES with genes; differing from bcftools: $BAD_BCF, from vcfanno: $BAD_VAN"
[ "$BAD_BCF" = 0 ] || { say "GAS and bcftools disagree on $BAD_BCF records"; exit 1; }
[ "$HAVE_VCFANNO" = 0 ] || [ "$BAD_VAN" = 0 ] || { say "GAS and vcfanno disagree on $BAD_VAN records"; exit 1; }
G_S=$(median <"$WORK/ann_gas.s"); B_S=$(median <"$WORK/ann_bcf.s")
G_M=$(awk '{printf "%.0f", $2/1024}' "$WORK/ann_gas.time"); B_M=$(awk '{printf "%.0f", $2/1024}' "$WORK/ann_bcf.time")
LABEL="annotate $(printf "%'d" "$VARIANTS" 2>/dev/null || echo "$VARIANTS") variants, dbSNP ids + genes (median of $RUNS, s)"
row "$LABEL vs bcftools annotate x2 piped" "$G_S s" "$B_S s" "$(awk -v a="$B_S" -v b="$G_S" 'BEGIN {printf "%.1fx faster", a/b}')"
if awk -v a="$B_S" -v b="$G_S" 'BEGIN {exit !(a / b < 8)}'; then
  note "the annotator is under 8x bcftools' same-work time here; docs/BENCHMARKS.md says where its time goes"
fi
if [ "$HAVE_VCFANNO" = 1 ]; then
  V_S=$(median <"$WORK/ann_vcfanno.s")
  row "$LABEL vs vcfanno" "$G_S s" "$V_S s" "$(awk -v a="$V_S" -v b="$G_S" 'BEGIN {printf "%.1fx faster", a/b}')"
else
  row "$LABEL vs vcfanno" "$G_S s" "not measured (no vcfanno)" "-"
fi
G_C=$(median <"$WORK/ann_gas.cpu"); B_C=$(median <"$WORK/ann_bcf.cpu")
row "same, CPU time user+sys (median, s) vs bcftools x2 piped" "$G_C s" "$B_C s" "$(awk -v a="$B_C" -v b="$G_C" 'BEGIN {printf "%.1fx less", a/b}')"
if [ "$HAVE_VCFANNO" = 1 ]; then
  V_C=$(median <"$WORK/ann_vcfanno.cpu")
  row "same, CPU time user+sys (median, s) vs vcfanno" "$G_C s" "$V_C s" "$(awk -v a="$V_C" -v b="$G_C" 'BEGIN {printf "%.1fx less", a/b}')"
fi
# The runner service loads its tracks once per process: what a job costs
# there is the annotation alone (same input, output checked equal).
timeout 300 "$TOOLS" annotate-warm "$RUNS" "$IN" "$WORK/out_gas_warm.vcf" "$GENES" "$DBSNP" >"$WORK/ann_warm.txt"
cmp -s "$WORK/out_gas.vcf" "$WORK/out_gas_warm.vcf" || { say "the warm run's output differs from gas annotate's"; exit 1; }
W_S=$(sed -n 's/^run_s=//p' "$WORK/ann_warm.txt" | median); W_L=$(sed -n 's/^load_s=//p' "$WORK/ann_warm.txt")
row "same, tracks already loaded (as the runner service; loading took $W_L s once) vs bcftools x2 piped" "$W_S s" "$B_S s" "$(awk -v a="$B_S" -v b="$W_S" 'BEGIN {printf "%.1fx faster", a/b}')"
row "annotator peak RSS (last run)" "$G_M MiB" "bcftools $B_M MiB" "-"
row "annotation output check ($N_REC records)" "$N_IDS ids, $N_GENES with GENE" "bcftools/vcfanno: equal" "0 differences"

# --- 2. tree hash -----------------------------------------------------------
say "== tree hash: $TREEHASH_MIB MiB"
timeout 300 target/release/examples/treehash_speed "$TREEHASH_MIB" >"$WORK/treehash.txt"
cat "$WORK/treehash.txt" >&2
mbs() { awk -v p="$1" 'index($0, p) == 1 {for (i=1;i<=NF;i++) if ($i=="MB/s") print $(i-1)}' "$WORK/treehash.txt"; }
T_GAS=$(mbs "gas tree hash (1 MiB leaves), in cache"); T_MEM=$(mbs "gas tree hash (1 MiB leaves), from memory")
T_SHA_MEM=$(mbs "sha2 crate, linear SHA-256, from memory"); T_SSL=$(mbs "openssl speed")
row "tree hash, $TREEHASH_MIB MiB in cache (MB/s) vs openssl speed -evp sha256" "$T_GAS MB/s" "${T_SSL:-n/a} MB/s" "$(awk -v a="$T_GAS" -v b="${T_SSL:-0}" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "-"}')"
row "same, data read from memory (64 MiB buffer) vs linear SHA-256 of the same bytes" "$T_MEM MB/s" "$T_SHA_MEM MB/s" "$(awk -v a="$T_MEM" -v b="${T_SHA_MEM:-0}" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "-"}')"

# --- 3. wrk against gas dev (embedded) --------------------------------------
say "== load: gas dev, a user with $LOAD_JOBS jobs"
LOAD=$WORK/load
rm -rf "$LOAD"
WEB_PORT=$(free_port); UTIL_PORT=$(free_port); ANN_PORT=$(free_port)
(
  export GAS_BACKEND=embedded GAS_DATA_DIR=$LOAD
  export GAS_WEB_ADDR=127.0.0.1:$WEB_PORT GAS_UTIL_ADDR=127.0.0.1:$UTIL_PORT GAS_ANN_ADDR=127.0.0.1:$ANN_PORT
  timeout 300 "$TOOLS" seed-jobs "$LOAD_JOBS" >"$WORK/seed.txt"
  timeout 60 "$TOOLS" sns-archive-lua "$WORK/archive.lua"
)
TOKEN=$(sed -n 's/^token=//p' "$WORK/seed.txt")
JOB=$(sed -n 's/^job=//p' "$WORK/seed.txt")
SESSION=$(sed -n 's/^session=//p' "$WORK/seed.txt")
GAS_BACKEND=embedded GAS_DATA_DIR=$LOAD RUST_LOG=warn \
  GAS_WEB_ADDR=127.0.0.1:$WEB_PORT GAS_UTIL_ADDR=127.0.0.1:$UTIL_PORT GAS_ANN_ADDR=127.0.0.1:$ANN_PORT \
  "$GAS" dev >"$WORK/dev.log" 2>&1 &
DEV_PID=$!; PIDS+=("$DEV_PID")
WEB=http://127.0.0.1:$WEB_PORT UTIL=http://127.0.0.1:$UTIL_PORT
wait_http "$WEB/healthz" 60; wait_http "$UTIL/healthz" 60
# Every request must succeed, or the figures mean nothing.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -H "Authorization: Bearer $TOKEN" "$WEB/api/v1/jobs")" = 200 ] || { say "job list refused"; exit 1; }
[ "$(code -H "Authorization: Bearer $TOKEN" "$WEB/api/v1/jobs/$JOB")" = 200 ] || { say "job detail refused"; exit 1; }
[ "$(code -H "Cookie: gas_session=$SESSION" "$WEB/annotations")" = 200 ] || { say "/annotations refused"; exit 1; }
LISTED=$(curl -s -H "Authorization: Bearer $TOKEN" "$WEB/api/v1/jobs" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
say "  the list answers $LISTED jobs a page"
wrk_run() { # wrk_run NAME URL [wrk args...]: "rps p50_ms p99_ms errors"
  local out
  out=$(timeout $((WRK_SECS + 30)) wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECS}s" --latency "${@:3}" "$2")
  printf '%s\n' "$out" >"$WORK/wrk_$1.txt"
  printf '%s\n' "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ {rps=$2} $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)}
    /Non-2xx/ {err=$NF} /Socket errors/ {serr=$0}
    END {printf "%.0f %.2f %.2f %d\n", rps, p50, p99, err+0}'
}
wrk_row() { # wrk_row LABEL "gas figures" "anchor figures"
  local g=($2) a=($3)
  [ "${g[3]}" = 0 ] || note "$1: ${g[3]} non-2xx answers"
  row "$1 (req/s; p50/p99 ms)" "${g[0]} req/s; ${g[1]}/${g[2]} ms" "${a[0]} req/s; ${a[1]}/${a[2]} ms" "$(awk -v a="${g[0]}" -v b="${a[0]}" 'BEGIN {printf "%.2f", a/b}')"
}
W_HEALTH=$(wrk_run web_healthz "$WEB/healthz")
W_LIST=$(wrk_run jobs_list "$WEB/api/v1/jobs" -H "Authorization: Bearer $TOKEN")
W_DETAIL=$(wrk_run job_detail "$WEB/api/v1/jobs/$JOB" -H "Authorization: Bearer $TOKEN")
W_PAGE=$(wrk_run annotations_page "$WEB/annotations" -H "Cookie: gas_session=$SESSION")
U_HEALTH=$(wrk_run util_healthz "$UTIL/healthz")
U_ARCHIVE=$(wrk_run archive "$UTIL/archive" -s "$WORK/archive.lua")
wrk_row "GET /api/v1/jobs, $LOAD_JOBS jobs, vs web GET /healthz" "$W_LIST" "$W_HEALTH"
wrk_row "GET /api/v1/jobs/{id} vs web GET /healthz" "$W_DETAIL" "$W_HEALTH"
wrk_row "GET /annotations page (session) vs web GET /healthz" "$W_PAGE" "$W_HEALTH"
wrk_row "POST /archive, signed SNS Notification, vs util GET /healthz" "$U_ARCHIVE" "$U_HEALTH"
stop "$DEV_PID"

# --- 4. archive lateness (embedded) -----------------------------------------
say "== archive lateness: $LATE_JOBS jobs"
LATE=$WORK/lateness
rm -rf "$LATE"
GAS_BACKEND=embedded GAS_DATA_DIR=$LATE GAS_UTIL_ADDR=127.0.0.1:$(free_port) \
  GAS_WEB_ADDR=127.0.0.1:$(free_port) GAS_ANN_ADDR=127.0.0.1:$(free_port) \
  timeout 600 "$TOOLS" lateness "$LATE_JOBS" "$LATE_SPREAD" "$GAS" >"$WORK/lateness.txt"
cat "$WORK/lateness.txt" >&2
L50=$(sed -n 's/^p50_s=//p' "$WORK/lateness.txt"); L99=$(sed -n 's/^p99_s=//p' "$WORK/lateness.txt"); LMAX=$(sed -n 's/^max_s=//p' "$WORK/lateness.txt")
row "archive lateness, $LATE_JOBS jobs, windows ending over $LATE_SPREAD s (p50/p99/max s)" "$L50 / $L99 / $LMAX s" "timer tick 0.2 s" "-"

# --- 5. archive peak memory on moto -----------------------------------------
say "== archive peak memory (gas util on moto)"
eval "$(bash scripts/moto.sh)"
MOTO_PID=$(cat target/moto.pid)
MOTO_PORT=${GAS_TEST_AWS_ENDPOINT##*:}
# moto.sh shares its pid file with other users of this work tree: make sure
# the pid is the server on our port before we own it.
if tr '\0' ' ' <"/proc/$MOTO_PID/cmdline" 2>/dev/null | grep -q -- "-p $MOTO_PORT"; then
  PIDS+=("$MOTO_PID")
else
  MOTO_PID=$(pgrep -f "moto_server(\.py)? -H 127.0.0.1 -p $MOTO_PORT\$" | head -1 || true)
  [ -n "$MOTO_PID" ] && PIDS+=("$MOTO_PID")
fi
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export GAS_BACKEND=aws GAS_DRAIN_INTERVAL=1
MOTO=$GAS_TEST_AWS_ENDPOINT
archive_mode() { # archive_mode s3-class|glacier-vault ENDPOINT: util's AWS endpoint
  local mode=$1 endpoint=$2 prefix port mib job pid base peak out secs
  prefix=bench$$-${mode%%-*}
  port=$(free_port)
  export GAS_COLD_STORAGE=$mode GAS_AWS_PREFIX=$prefix GAS_UTIL_ADDR=127.0.0.1:$port
  GAS_AWS_ENDPOINT_URL=$endpoint RUST_LOG=warn timeout 120 "$GAS" provision >&2
  for mib in $ARCHIVE_MIB; do
    job=$(GAS_AWS_ENDPOINT_URL=$MOTO timeout 900 "$TOOLS" archive-put "$mib" "$WORK" | sed -n 's/^job=//p')
    # shellcheck disable=SC2086 # BENCH_UTIL_ENV is a list of NAME=VALUE words
    env ${BENCH_UTIL_ENV:-} GAS_AWS_ENDPOINT_URL="$endpoint" RUST_LOG=warn "$GAS" util >"$WORK/util_${mode}_${mib}.log" 2>&1 &
    pid=$!; PIDS+=("$pid")
    wait_http "http://127.0.0.1:$port/healthz" 60
    sleep 1
    base=$(peak_kib "$pid")
    out=$(GAS_AWS_ENDPOINT_URL=$MOTO timeout 900 "$TOOLS" archive-wait "$job" 900)
    peak=$(peak_kib "$pid")
    stop "$pid"
    secs=$(sed -n 's/^archived_s=//p' <<<"$out")
    if [ "$mode" = s3-class ]; then
      [ "$(sed -n 's/^archive_bytes=//p' <<<"$out")" = $((mib << 20)) ] || { say "archive of $mib MiB has the wrong size: $out"; exit 1; }
    else
      grep -q "size=$((mib << 20)) received=$((mib << 20)) " "$WORK/proxy.log" || { say "the vault endpoint did not receive $mib MiB"; exit 1; }
    fi
    row "archive peak RSS of gas util${BENCH_UTIL_ENV:+ ($BENCH_UTIL_ENV)}, $mode, $mib MiB result (goal < 64 MiB)" "$(awk -v k="$peak" -v b="$base" 'BEGIN {printf "%.1f MiB (%.1f MiB before the archive)", k/1024, b/1024}'); archived in $secs s" "result $mib MiB" "$(awk -v k="$peak" -v m="$mib" 'BEGIN {printf "%.3f", k/1024/m}')"
  done
}
archive_mode s3-class "$MOTO"
# The vault mode: util's AWS endpoint is a proxy that answers Glacier's
# calls itself (moto has no vault multipart upload) and passes the rest to moto.
"$TOOLS" glacier-proxy "$MOTO" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!; PIDS+=("$PROXY_PID")
for _ in $(seq 1 50); do grep -q '^listening=' "$WORK/proxy.log" && break; sleep 0.1; done
archive_mode glacier-vault "$(sed -n 's/^listening=//p' "$WORK/proxy.log")"
stop "$PROXY_PID"
[ -n "$MOTO_PID" ] && stop "$MOTO_PID"

# --- the table --------------------------------------------------------------
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$WORK/machine.txt" >&2
{
  echo
  cat "$WORK/machine.txt"
  echo
  echo "| figure | GAS | anchor | ratio |"
  echo "|---|---|---|---|"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r a b c d <<<"$r"
    echo "| $a | $b | $c | $d |"
  done
  for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo; echo "note: $n"; done
} | tee "$WORK/results.md"

# --- 6. consequence annotation (scripts/bench/csq.sh) --------------------------
# A separate benchmark with its own table, appended to the results: GAS with
# transcripts and a reference beside `bcftools csq -l` and SnpEff, on a
# synthetic genome, GFF3 and 1M variants generated once into target/bench-csq/
# (scripts/bench/make_csq_genome.py). The quick version leaves SnpEff out.
# A failure there leaves the figures above as they are.
say "== consequence annotation (scripts/bench/csq.sh)"
CSQ_ENV=(BENCH_NO_BUILD=1)
[ "$QUICK" = 1 ] && CSQ_ENV+=(CSQ_SNPEFF=0 CSQ_CHECK=0)
CSQ_ARGS=()
[ "$QUICK" = 1 ] && CSQ_ARGS+=(--quick)
if ! env "${CSQ_ENV[@]}" bash scripts/bench/csq.sh "${CSQ_ARGS[@]+"${CSQ_ARGS[@]}"}" | tee -a "$WORK/results.md"; then
  say "the consequence benchmark (scripts/bench/csq.sh) failed; the table above stands"
fi
