#!/usr/bin/env bash
# Starts localstripe (PyPI: a fake but stateful Stripe server) on 127.0.0.1
# on a free port, in a venv under target/ that it creates on first use, and
# prints its URL. The caller stops it with the PID written to
# target/localstripe.pid.
#   eval "$(bash scripts/localstripe.sh)"   # exports GAS_TEST_STRIPE_URL
set -euo pipefail
cd "$(dirname "$0")/.."
LOCALSTRIPE_VERSION=1.15.10
venv=target/stripe-venv
mkdir -p target
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('localstripe') != '$LOCALSTRIPE_VERSION')" 2>/dev/null; then
  echo "installing localstripe==$LOCALSTRIPE_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "localstripe==$LOCALSTRIPE_VERSION" >&2
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# localstripe's own command listens on every interface and reloads a store
# left in /tmp by an earlier run; this serves its app on loopback only, from
# an empty store.
"$venv/bin/python" -c '
import sys
from aiohttp import web
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
' "$port" >target/localstripe.log 2>&1 &
echo $! >target/localstripe.pid
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -sf "$url/js.stripe.com/v3/" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -sf "$url/js.stripe.com/v3/" >/dev/null || { echo "localstripe did not start; see target/localstripe.log" >&2; exit 1; }
echo "export GAS_TEST_STRIPE_URL=$url"
