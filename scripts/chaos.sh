#!/usr/bin/env bash
# The long versions of the chaos tests (crates/gas/tests/chaos.rs), in a
# release build: the kill test with 1,000 jobs, the scale-out with 500 jobs
# on the embedded backend and 500 on moto (each also with one of each
# process killed midway), the upgrade races with 500 users. Each test prints
# its seed; GAS_CHAOS_SEED=N replays that schedule of kills, inputs and
# upgrades. Sizes can be overridden the same way (GAS_CHAOS_JOBS, ...).
#   bash scripts/chaos.sh                 # all of them
#   bash scripts/chaos.sh kill_test       # those whose name matches
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${GAS_TEST_AWS_ENDPOINT:-}" ]; then
  eval "$(bash scripts/moto.sh)"
  moto_pid=$(cat target/moto.pid)
  trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
fi
export GAS_TEST_AWS_ENDPOINT GAS_REQUIRE_AWS_TESTS=1
export GAS_CHAOS_JOBS="${GAS_CHAOS_JOBS:-1000}"
export GAS_CHAOS_SCALE_JOBS="${GAS_CHAOS_SCALE_JOBS:-500}"
export GAS_CHAOS_MOTO_JOBS="${GAS_CHAOS_MOTO_JOBS:-500}"
export GAS_CHAOS_USERS="${GAS_CHAOS_USERS:-500}"

cargo test --release -p gas --test chaos -- --nocapture "$@"
