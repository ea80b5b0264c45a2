#!/usr/bin/env bash
# The browser end-to-end tests of the web app: headless Chromium (Debian's
# package, driven by playwright-core from web/tests/browser) through the
# whole flow on the embedded backend and on the AWS backend against moto
# (flow.test.js), and "Sign in with …" through a real OpenID Connect
# provider, oidc-provider on localhost, on the embedded backend
# (oidc.test.js).
#   bash scripts/browser-test.sh                   # both backends, and oidc
#   BROWSER_BACKENDS=embedded bash scripts/browser-test.sh
#   BROWSER_OIDC=0 bash scripts/browser-test.sh    # without the oidc test
# Installs what is missing (Chromium, the npm packages; a second run
# installs nothing), builds target/debug/gas, starts moto unless
# GAS_TEST_AWS_ENDPOINT names one, and writes a screenshot of every step to
# target/browser-screenshots/<backend or oidc>/NN-step.png. Its last line
# is "N passed, N failed" over all of them; it exits non-zero when anything
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tests=web/tests/browser
shots=target/browser-screenshots
backends=${BROWSER_BACKENDS:-embedded aws}
oidc=${BROWSER_OIDC:-1}
selected=$(wc -w <<<"$backends")
[ "$oidc" = 0 ] || selected=$((selected + 1))

# Setup failures end with the totals line too: every selected test failed.
give_up() {
  echo "browser-test: $*" >&2
  echo "0 passed, $selected failed"
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Chromium (Debian's; never a downloaded browser build) ---------------
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium" >&2
  as_root apt-get update -qq || give_up "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 ||
    give_up "apt-get install chromium failed"
fi

# --- npm packages (playwright-core, oidc-provider; pinned by package-lock.json)
stamp=$tests/node_modules/.installed-package-lock.json
if [ ! -d "$tests/node_modules/playwright-core" ] || [ ! -d "$tests/node_modules/oidc-provider" ] ||
  ! cmp -s "$tests/package-lock.json" "$stamp"; then
  echo "npm ci in $tests" >&2
  (cd "$tests" && npm ci --no-audit --no-fund >&2) || give_up "npm ci failed"
  cp "$tests/package-lock.json" "$stamp"
fi

# --- the gas binary (debug) ------------------------------------------------
# Built as `cargo test --workspace` builds it (the test command has just
# run that, so this compiles nothing): `cargo build -p gas` alone would
# resolve other features and compile the dependency tree a second time.
cargo test --workspace --locked --no-run >&2 || give_up "building the workspace's tests failed"

# --- moto, for the aws flow ------------------------------------------------
moto_pid=""
old_moto_pid=""
node_pid=""
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    # The test runner leads its own process group: the services and the
    # browser it started go with it.
    kill -TERM -- "-$node_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$node_pid" 2>/dev/null
  fi
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null
    # target/moto.pid is shared with scripts/test.sh: touch it only while it
    # still names our moto, and then give it back to the moto that was
    # running before ours, if that one still runs.
    if [ "$(cat target/moto.pid 2>/dev/null)" = "$moto_pid" ]; then
      if [ -n "$old_moto_pid" ] && kill -0 "$old_moto_pid" 2>/dev/null; then
        echo "$old_moto_pid" >target/moto.pid
      else
        rm -f target/moto.pid
      fi
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ " $backends " == *" aws "* ]] && [ -z "${GAS_TEST_AWS_ENDPOINT:-}" ]; then
  old_moto_pid=$(cat target/moto.pid 2>/dev/null || true)
  moto_env=$(bash scripts/moto.sh) || give_up "moto did not start (see target/moto.log)"
  moto_pid=$(cat target/moto.pid)
  eval "$moto_env"
  echo "started moto at $GAS_TEST_AWS_ENDPOINT (pid $moto_pid)" >&2
fi

# --- the tests -----------------------------------------------------------------
mkdir -p "$shots"
tap=$root/$shots/results.tap
rm -f "$tap"
export BROWSER_BACKENDS=$backends BROWSER_OIDC=$oidc BROWSER_SCREENSHOTS=$root/$shots
# One runner, one file after the other; the TAP summary counts the tests of
# both files (a skipped one counts neither way).
(
  cd "$tests" &&
    exec setsid node --test --test-concurrency=1 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$tap" \
      flow.test.js oidc.test.js
) &
node_pid=$!
wait "$node_pid"
status=$?
node_pid=""

count() { grep -E "^# $1 [0-9]+$" "$tap" 2>/dev/null | tail -1 | awk '{print $3}'; }
passed=$(count pass)
failed=$(count fail)
cancelled=$(count cancelled)
passed=${passed:-0}
if [ -z "$failed" ]; then
  # No summary: the runner itself died; every test that did not pass failed.
  failed=$((selected - passed))
else
  failed=$((failed + ${cancelled:-0}))
fi
for b in $backends; do echo "screenshots: $shots/$b/"; done
[ "$oidc" = 0 ] || echo "screenshots: $shots/oidc/"
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
