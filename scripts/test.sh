#!/usr/bin/env bash
# Runs every test of the project, after installing what a fresh machine
# lacks. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the cross-checks use: bcftools validates annotator output,
# htslib-test carries malformed and edge-case VCFs the annotator must survive.
missing=()
command -v bcftools >/dev/null 2>&1 || missing+=(bcftools)
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

# moto's AWS emulator for the AWS adapters' tests (a venv under target/).
eval "$(bash scripts/moto.sh)"
trap 'kill "$(cat target/moto.pid)" 2>/dev/null || true' EXIT
export GAS_TEST_AWS_ENDPOINT
# Without the emulator those tests would skip; here they must run.
export GAS_REQUIRE_AWS_TESTS=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# cargo prints one summary per test binary; the last line here sums them.
set +e
cargo test --workspace --locked 2>&1 | tee target/test-output.log
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' target/test-output.log
exit "$status"
