#!/usr/bin/env bash
# Starts moto's AWS emulator on 127.0.0.1 on a free port, in a venv under
# target/ that it creates on first use, and prints its URL. The caller stops
# it with the PID written to target/moto.pid.
#   eval "$(bash scripts/moto.sh)"   # exports GAS_TEST_AWS_ENDPOINT
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.5
venv=target/moto-venv
mkdir -p target
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "installing moto[server]==$MOTO_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# moto's server with DynamoDB's conditional writes made atomic, as they are
# on AWS (scripts/moto_server.py says why).
"$venv/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$port" >target/moto.log 2>&1 &
echo $! >target/moto.pid
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -sf "$url/moto-api/" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -sf "$url/moto-api/" >/dev/null || { echo "moto did not start; see target/moto.log" >&2; exit 1; }
# Step Functions executions run (Wait → sns:Publish) only with this switch,
# which must be set before state machines are created.
curl -sf -X POST "$url/moto-api/config" -H 'Content-Type: application/json' \
  -d '{"stepfunctions": {"execute_state_machine": true}}' >/dev/null
echo "export GAS_TEST_AWS_ENDPOINT=$url"
