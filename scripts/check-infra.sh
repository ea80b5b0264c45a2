#!/usr/bin/env bash
# Checks infra/ and aws/ without AWS and without a terraform binary:
#   1. every .tf file parses (python-hcl2);
#   2. checkov finds no failed check (checks that do not apply are skipped
#      inline, each with its reason);
#   3. the shell files pass bash -n;
#   4. the systemd units pass systemd-analyze verify;
#   5. the tests in infra/tests (pytest) prove that the resources, the IAM
#      policies and the rendered configuration agree with the Rust code.
# Installs what it needs on first use (two venvs under target/infra-venv:
# checkov pins its own HCL parser, which clashes with python-hcl2; Debian's
# systemd for systemd-analyze) and is idempotent. Every step runs; the last
# line is pytest's summary, and the exit status is non-zero if any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION=3.3.30
HCL2_VERSION=8.1.4
PYTEST_VERSION=9.2.0
BOTOCORE_VERSION=1.44.8
venvs=target/infra-venv
export PYTHONDONTWRITEBYTECODE=1

# ensure_venv DIR PACKAGE==VERSION...: a venv with exactly these pins.
ensure_venv() {
  local dir=$1
  shift
  local wanted="$*"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pins" 2>/dev/null)" = "$wanted" ]; then
    return
  fi
  echo "installing $wanted into $dir" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2
  echo "$wanted" >"$dir/.pins"
}

mkdir -p "$venvs"
ensure_venv "$venvs/checkov" "checkov==$CHECKOV_VERSION"
# botocore: its service models name the SDK operations the IAM test looks for.
ensure_venv "$venvs/tests" "python-hcl2==$HCL2_VERSION" "pytest==$PYTEST_VERSION" "botocore==$BOTOCORE_VERSION"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "installing systemd (for systemd-analyze verify)" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  fi
fi

failed=()
step() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

parse_terraform() {
  "$venvs/tests/bin/python" - <<'PY'
import pathlib, sys
import hcl2
bad = 0
files = sorted(pathlib.Path("infra").glob("*.tf")) + [pathlib.Path("infra/example.tfvars")]
for path in files:
    try:
        with path.open() as f:
            hcl2.load(f)
    except Exception as e:  # the parser raises several kinds
        print(f"{path}: {e}")
        bad += 1
print(f"{len(files) - bad} of {len(files)} files parse")
sys.exit(1 if bad else 0)
PY
}

run_checkov() {
  # --skip-download: no network; --quiet: failed checks only.
  "$venvs/checkov/bin/checkov" -d infra --framework terraform --quiet --compact --skip-download
}

bash_syntax() {
  local f
  for f in aws/user-data.sh scripts/check-infra.sh; do
    bash -n "$f" || return 1
  done
  echo "bash -n: aws/user-data.sh scripts/check-infra.sh"
}

verify_units() {
  # verify wants every ExecStart binary to exist: a scratch root with the
  # distribution's units and a stub where the user data installs gas.
  local root units=() u output status=0
  root=$(mktemp -d)
  mkdir -p "$root/usr/lib/systemd" "$root/usr/local/bin" "$root/etc/systemd/system"
  cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
  printf '#!/bin/sh\n' >"$root/usr/local/bin/gas"
  chmod 0755 "$root/usr/local/bin/gas"
  for u in aws/systemd/*.service; do
    cp "$u" "$root/etc/systemd/system/"
    units+=("/etc/systemd/system/$(basename "$u")")
  done
  # Unknown keys are only warnings to verify: any output fails here.
  output=$(systemd-analyze verify --man=no --root="$root" "${units[@]}" 2>&1) || status=$?
  rm -rf "$root"
  if [ "$status" != 0 ] || [ -n "$output" ]; then
    echo "$output"
    return 1
  fi
  echo "systemd-analyze verify: ${units[*]##*/}"
}

step "terraform parses (python-hcl2)" parse_terraform
step "checkov" run_checkov
step "bash -n" bash_syntax
step "systemd-analyze verify" verify_units
if ((${#failed[@]})); then
  echo "check-infra: failed: ${failed[*]}"
fi
echo "== pytest infra/tests"
status=0
"$venvs/tests/bin/python" -m pytest -q -p no:cacheprovider infra/tests || status=$?
if ((${#failed[@]})) || [ "$status" != 0 ]; then
  exit 1
fi
