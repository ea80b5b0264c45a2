#!/usr/bin/env bash
# The biocommons `hgvs` parser (PyPI hgvs 1.5.7) in a venv under target/,
# for crates/gas/tests/csq_hgvs.rs; prints `export GAS_HGVS_PYTHON=...` for
# the test command to eval. Idempotent: a second run only prints.
#
# Only the parser is needed, so the package goes in without its database
# and notebook dependencies (psycopg2, ipython, biocommons.seqrepo): the
# parser imports none of them.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/hgvs-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import hgvs.parser' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --no-deps hgvs==1.5.7 >&2
  "$venv/bin/pip" install -q parsley==1.3 attrs 'bioutils>=0.4.0,<1.0' importlib_resources configparser >&2
  "$venv/bin/python" -c 'import hgvs.parser' >&2
fi
echo "export GAS_HGVS_PYTHON=$PWD/$venv/bin/python"
