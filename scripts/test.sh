#!/usr/bin/env bash
# Runs every test of the project, after installing what a fresh machine
# lacks. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the cross-checks use: bcftools validates annotator output,
# htslib-test carries malformed and edge-case VCFs the annotator must survive.
# snpeff is the second consequence oracle (crates/gas/tests/csq_oracles.rs).
missing=()
command -v bcftools >/dev/null 2>&1 || missing+=(bcftools)
command -v snpEff >/dev/null 2>&1 || missing+=(snpeff)
command -v tabix >/dev/null 2>&1 || missing+=(tabix)
[ -d /usr/share/htslib-test ] || missing+=(htslib-test)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: ${missing[*]} not installed; the bcftools cross-checks will be skipped" >&2
  fi
fi

# bcftools' own consequence test suite (test/csq/ of Debian's bcftools source
# package, cached under target/csq-peers/) for the csq_peers and csq_oracles
# tests. Where the block above can install (root or sudo), those tests must
# run, not skip.
eval "$(bash scripts/csq-peers.sh)"
export GAS_BCFTOOLS_CSQ_DIR
if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; then
  export GAS_REQUIRE_CSQ_PEERS=1
fi

# The biocommons hgvs parser (a venv under target/) for crates/gas/tests/csq_hgvs.rs.
eval "$(bash scripts/hgvs.sh)"
export GAS_HGVS_PYTHON

# moto's AWS emulator for the AWS adapters' tests (a venv under target/).
eval "$(bash scripts/moto.sh)"
# localstripe (a fake Stripe server) for the Stripe tests (a venv under target/).
eval "$(bash scripts/localstripe.sh)"
trap 'kill "$(cat target/moto.pid)" "$(cat target/localstripe.pid)" 2>/dev/null || true' EXIT
export GAS_TEST_AWS_ENDPOINT GAS_TEST_STRIPE_URL
# Without localstripe those tests would skip; here they must run.
export GAS_REQUIRE_STRIPE_TESTS=1
# Without the emulator those tests would skip; here they must run.
export GAS_REQUIRE_AWS_TESTS=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# cargo prints one summary per test binary; the last line here sums them
# with the infrastructure checks', the browser tests' and the fuzzer's.
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.log
status=${PIPESTATUS[0]}

# infra/ and aws/: Terraform parses, checkov, bash -n, systemd-analyze,
# and the tests that tie the Terraform to the code (pytest).
bash scripts/check-infra.sh 2>&1 | tee target/infra-output.log
infra_status=${PIPESTATUS[0]}

# The web app in headless Chromium, on the embedded backend and on moto.
bash scripts/browser-test.sh 2>&1 | tee target/browser-output.log
browser_status=${PIPESTATUS[0]}

# The JSON API fuzzed against its OpenAPI document (schemathesis in a venv under target/).
bash scripts/schemathesis.sh 2>&1 | tee target/schemathesis-output.log
schemathesis_status=${PIPESTATUS[0]}
set -e

awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { print p + 0, f + 0 }' target/test-output.log >target/test-counts
# pytest: "78 passed in 6.7s" or "1 failed, 77 passed in 7.0s".
awk '/ passed| failed/ && / in [0-9.]+s/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { print p + 0, f + 0 }' target/infra-output.log >>target/test-counts
awk '/^[0-9]+ passed, [0-9]+ failed$/ { p = $1; f = $3 } END { print p + 0, f + 0 }' \
  target/browser-output.log >>target/test-counts
awk '/^[0-9]+ passed, [0-9]+ failed$/ { p = $1; f = $3 } END { print p + 0, f + 0 }' \
  target/schemathesis-output.log >>target/test-counts
awk '{ p += $1; f += $2 } END { printf "%d passed, %d failed\n", p, f }' target/test-counts
for s in "$status" "$infra_status" "$browser_status" "$schemathesis_status"; do
  [ "$s" = 0 ] || exit 1
done
