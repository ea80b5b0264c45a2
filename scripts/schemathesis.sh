#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document with schemathesis:
# starts `gas dev` (embedded backend, a temporary data directory, free
# ports), makes a free user and one job from docs/samples/test.vcf, then
# lets schemathesis call every operation of /api/v1/openapi.json with
# generated input, valid and invalid, with the user's token. Every answer
# must be a non-5xx that the document describes (status, content type,
# headers, body schema), and calls without the token must be refused.
#   bash scripts/schemathesis.sh
#   SCHEMATHESIS_MAX_EXAMPLES=200 bash scripts/schemathesis.sh   # fuzz longer
# Installs schemathesis (pinned) into a venv under target/ on first use and
# builds target/debug/gas. Output, the service's log and a JUnit report go
# to target/schemathesis/. The last line is "N passed, N failed", counting
# API operations; it exits non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
SCHEMATHESIS_VERSION=4.32.5
venv=target/schemathesis-venv
out=target/schemathesis
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-100}
seed=${SCHEMATHESIS_SEED:-20240601}
mkdir -p "$out"

# Setup failures end with the totals line too: the whole run failed.
give_up() {
  echo "schemathesis: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# --- schemathesis, pinned, in its own venv ----------------------------------
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis==$SCHEMATHESIS_VERSION into $venv" >&2
  python3 -m venv "$venv" || give_up "python3 -m venv failed"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 ||
    give_up "pip install schemathesis failed"
fi

# --- the gas binary (debug) ------------------------------------------------
# Built as `cargo test --workspace` builds it (the test command has just
# run that, so this compiles nothing): `cargo build -p gas` alone would
# resolve other features and compile the dependency tree a second time.
cargo test --workspace --locked --no-run >&2 || give_up "building the workspace's tests failed"
gas=target/debug/gas

# --- the service: embedded backend, its own data and ports -------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
data=$(mktemp -d "${TMPDIR:-/tmp}/gas-schemathesis.XXXXXX") || give_up "mktemp failed"
# Every gas command below reads these (a `gas user add` with other
# addresses would point the embedded SNS subscriptions elsewhere).
export GAS_BACKEND=embedded
export GAS_WEB_ADDR="127.0.0.1:$(free_port)"
export GAS_UTIL_ADDR="127.0.0.1:$(free_port)"
export GAS_ANN_ADDR="127.0.0.1:$(free_port)"
export GAS_LOG_FORMAT=text NO_COLOR=1
unset GAS_CONFIG GAS_DATA_DIR GAS_WEB_PUBLIC_URL GAS_UTIL_PUBLIC_URL
base="http://$GAS_WEB_ADDR"

gas_pid=""
cleanup() {
  if [ -n "$gas_pid" ] && kill -0 "$gas_pid" 2>/dev/null; then
    kill -INT "$gas_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$gas_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gas_pid" 2>/dev/null
    wait "$gas_pid" 2>/dev/null
  fi
  rm -rf "$data"
}
trap cleanup EXIT

"$gas" --data-dir "$data" dev >"$out/gas.log" 2>&1 &
gas_pid=$!
for _ in $(seq 1 150); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$gas_pid" 2>/dev/null || give_up "gas dev exited; see $out/gas.log"
  sleep 0.2
done
curl -sf "$base/healthz" >/dev/null || give_up "gas dev did not answer; see $out/gas.log"

# A free user (the token is the last line) and one completed job, so that
# listing and the links to a job's operations reach real jobs.
token=$("$gas" --data-dir "$data" user add fuzz@example.org --role free 2>>"$out/gas.log" | tail -1)
[ -n "$token" ] || give_up "gas user add printed no token"
auth="Authorization: Bearer $token"
job=$(curl -sf -H "$auth" -F file=@docs/samples/test.vcf "$base/api/v1/jobs" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])') || give_up "the sample upload failed"
status=""
for _ in $(seq 1 300); do
  status=$(curl -sf -H "$auth" "$base/api/v1/jobs/$job" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["job_status"])')
  [ "$status" = COMPLETED ] || [ "$status" = FAILED ] && break
  sleep 0.2
done
[ "$status" = COMPLETED ] || give_up "the sample job is ${status:-unknown}, not COMPLETED"
echo "service at $base; sample job $job completed" >&2

# --- the fuzzing --------------------------------------------------------------
# The checks: no 5xx; status codes, content types, headers and bodies as
# documented; invalid input refused with a 4xx; no answer without the token.
# (positive_data_acceptance does not apply: input valid by the schema, such
# as a random job id or cursor, is rightly refused by this API.)
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks=$checks,response_headers_conformance,response_schema_conformance
checks=$checks,negative_data_rejection,ignored_auth,unsupported_method
# It runs in $out, where it keeps its caches (.hypothesis, .schemathesis:
# `st replay ID` works from there); the timeout only guards against a hang.
rm -f "$out/junit.xml"
(cd "$out" && timeout --signal=INT --kill-after=10 600 "$root/$venv/bin/schemathesis" run \
  "$base/api/v1/openapi.json" \
  --header "$auth" \
  --checks "$checks" \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --generation-database none \
  --workers 2 \
  --request-timeout 10 \
  --max-redirects 0 \
  --report junit --report-junit-path junit.xml \
  --no-color) 2>&1 | tee "$out/output.log"
st_status=${PIPESTATUS[0]}

# The JUnit report has a test case per operation (all but the document's
# own, which schemathesis leaves out) and one for the stateful phase; one
# with a failure or error failed.
counts=$("$venv/bin/python" - "$out/junit.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
except (OSError, ET.ParseError):
    cases = []
failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
print(len(cases) - failed, failed)
EOF
)
read -r passed failed <<<"$counts"
if [ "$st_status" != 0 ] && [ "$failed" = 0 ]; then
  failed=1 # schemathesis failed without a failing operation (e.g. the schema)
fi
echo "$passed passed, $failed failed"
[ "$st_status" = 0 ] && [ "$failed" = 0 ]
