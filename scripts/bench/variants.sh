#!/usr/bin/env bash
# Variant-table benchmark (the figures of issue 18, docs/BENCHMARKS.md):
# a job of 1,000,000 variants annotated with consequences by the whole
# system (`gas dev`, embedded backend, the consequence benchmark's genome
# and models), then
#  - the index's build time beside the annotation's own time (the runner
#    logs both for the job: `variant index built ... index_ms annotation_ms`);
#  - the index's size beside the gzip size of the annotated VCF
#    (`gzip -6`, what the results would be if compressed);
#  - wrk (2 threads, 8 connections) on GET /api/v1/jobs/{id}/variants:
#    the unfiltered first page, a page deep into the table (a cursor), each
#    sort, and filters (gene, consequence, impact, region, a combination),
#    beside web GET /healthz as the anchor: requests/s, p50 and p99.
#
#   bash scripts/bench/variants.sh            # 1,000,000 variants
#   bash scripts/bench/variants.sh --quick    # 100,000 variants, 3 s of wrk
#
# Environment: BENCH_NO_BUILD=1 (measure target/release/gas as built),
# WRK_SECS (default 10). The data comes from scripts/bench/csq.sh's
# generator (target/bench-csq/data, made once). Every process started
# here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) echo "usage: bash scripts/bench/variants.sh [--quick]" >&2; exit 2 ;;
esac
WRK_SECS=${WRK_SECS:-$([ "$QUICK" = 1 ] && echo 3 || echo 10)}
GAS=target/release/gas
WORK=target/bench-variants
DATA=target/bench-csq/data
say() { printf '%s\n' "$*" >&2; }

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

for t in wrk:wrk curl:curl python3:python3; do
  command -v "${t%%:*}" >/dev/null 2>&1 && continue
  command -v apt-get >/dev/null || { say "missing ${t%%:*}"; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${t##*:}" >&2
done
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -p gas >&2
if [ ! -s "$DATA/variants.vcf" ]; then
  say "generating the consequence benchmark's data (scripts/bench/csq.sh's generator)"
  python3 scripts/bench/make_csq_genome.py "$DATA" --seed 1 --variants 1000000 >&2
fi
INPUT=$DATA/variants.vcf
if [ "$QUICK" = 1 ]; then
  INPUT=$WORK/variants.100000.vcf
  mkdir -p "$WORK"
  [ -s "$INPUT" ] || awk '/^#/ || n++ < 100000' "$DATA/variants.vcf" >"$INPUT"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # wait_http URL SECONDS
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  say "$1 did not answer"; exit 1
}

rm -rf "$WORK/dev"
mkdir -p "$WORK/dev"
WEB_PORT=$(free_port); UTIL_PORT=$(free_port); ANN_PORT=$(free_port)
export GAS_BACKEND=embedded GAS_DATA_DIR=$WORK/dev
export GAS_WEB_ADDR=127.0.0.1:$WEB_PORT GAS_UTIL_ADDR=127.0.0.1:$UTIL_PORT GAS_ANN_ADDR=127.0.0.1:$ANN_PORT
export GAS_ANNOTATION_TRANSCRIPTS=$DATA/models.gff3 GAS_ANNOTATION_REFERENCE=$DATA/genome.fa
TOKEN=$("$GAS" user add bench@example.org --role premium 2>/dev/null | tail -1)
RUST_LOG=info "$GAS" dev >"$WORK/dev.log" 2>&1 &
PIDS+=("$!")
WEB=http://127.0.0.1:$WEB_PORT
wait_http "$WEB/healthz" 120
AUTH="Authorization: Bearer $TOKEN"

say "uploading $(grep -vc '^#' "$INPUT") variants"
JOB=$(curl -sf -H "$AUTH" -F "file=@$INPUT;filename=bench.vcf" "$WEB/api/v1/jobs" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
for _ in $(seq 1 600); do
  status=$(curl -sf -H "$AUTH" "$WEB/api/v1/jobs/$JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_status"])')
  [ "$status" = COMPLETED ] && break
  [ "$status" = FAILED ] && { say "the job failed"; exit 1; }
  sleep 1
done
[ "$status" = COMPLETED ] || { say "the job did not complete"; exit 1; }

built=$(grep 'variant index built' "$WORK/dev.log" | tail -1)
say "runner: $built"
index_ms=$(sed -n 's/.*index_ms=\([0-9]*\).*/\1/p' <<<"$built")
annotation_ms=$(sed -n 's/.*annotation_ms=\([0-9]*\).*/\1/p' <<<"$built")
index_bytes=$(sed -n 's/.*[^_]bytes=\([0-9]*\).*/\1/p' <<<"$built")
RESULTS=$(find "$WORK/dev" -name '*.annot.vcf' | head -1)
results_bytes=$(stat -c %s "$RESULTS")
gzip_bytes=$(gzip -6 -c "$RESULTS" | wc -c)

# The first request loads the index (and copies the files into the web
# process's cache); the sorts' orders are worked out on first use. Both
# are timed once here, then wrk measures the warm table.
first() { curl -s -o /dev/null -w '%{time_total}' -H "$AUTH" "$WEB/api/v1/jobs/$JOB/variants?$1"; }
say "first request (load): $(first '') s"
for s in gene impact frequency; do say "first sort=$s: $(first "sort=$s") s"; done
DEEP=$(curl -sf -H "$AUTH" "$WEB/api/v1/jobs/$JOB/variants?limit=500" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')

wrk_run() { # wrk_run URL: "rps p50_ms p99_ms non2xx"
  local out
  out=$(timeout $((WRK_SECS + 30)) wrk -t2 -c8 -d"${WRK_SECS}s" --latency -H "$AUTH" "$1")
  python3 - "$out" <<'EOF'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"{rps:.0f} {ms('50'):.2f} {ms('99'):.2f} {bad.group(1) if bad else 0}")
EOF
}

printf '\n| request (%s variants, wrk -t2 -c8 %ss) | req/s | p50 ms | p99 ms | non-2xx |\n|---|---|---|---|---|\n' \
  "$(grep -vc '^#' "$INPUT")" "$WRK_SECS"
row() { # row LABEL QUERY
  local r
  r=$(wrk_run "$WEB/api/v1/jobs/$JOB/variants?$2")
  set -- "$1" $r
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5"
}
row "unfiltered, first page (anchor below: /healthz)" ""
row "unfiltered, a page 500 rows in (cursor)" "cursor=$DEEP"
row "sort=gene" "sort=gene"
row "sort=impact" "sort=impact"
row "sort=frequency" "sort=frequency"
row "gene=GENE12 (prefix)" "gene=GENE12"
row "consequence=missense_variant,stop_gained" "consequence=missense_variant,stop_gained"
row "impact=HIGH" "impact=HIGH"
row "region=chr2:1000000-2000000" "region=chr2:1000000-2000000"
row "gene=GENE1&impact=MODERATE&sort=impact" "gene=GENE1&impact=MODERATE&sort=impact"
row "id=rs_absent (an id no record has)" "id=rs_absent"
row "impact=HIGH&max_af=0.01 (no AF in the data: none match)" "impact=HIGH&max_af=0.01"
h=$(wrk_run "$WEB/healthz")
set -- $h
printf '| web GET /healthz (anchor) | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"

printf '\n| figure | GAS | anchor | ratio |\n|---|---|---|---|\n'
printf '| index build in the runner vs the job'"'"'s annotation | %s ms | %s ms | %.0f %% |\n' \
  "$index_ms" "$annotation_ms" "$(python3 -c "print(100*$index_ms/$annotation_ms)")"
printf '| index size vs gzip -6 of the annotated VCF (%s bytes plain) | %s bytes | %s bytes | %.0f %% |\n' \
  "$results_bytes" "$index_bytes" "$gzip_bytes" "$(python3 -c "print(100*$index_bytes/$gzip_bytes)")"
