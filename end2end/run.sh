#!/usr/bin/env bash
# Runs the Playwright specs against the real debug server (built by
# `cargo leptos build`) on a free port with a fresh data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=target/debug/opsdesk
[ -x "$bin" ] || { echo "end2end: $bin is missing; run cargo leptos build first" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export OPSDESK_DATA_DIR="$work/data"
export E2E_BASE_URL="http://127.0.0.1:$port"
export E2E_EMAIL="e2e-admin@example.com"
export E2E_PASSWORD="e2e password 1"

"$bin" admin create-user --org e2e --email "$E2E_EMAIL" --role admin --password "$E2E_PASSWORD"
"$bin" serve --addr "127.0.0.1:$port" --site-root target/site >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
  if python3 - "$E2E_BASE_URL/healthz" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1)
PY
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "end2end: the server exited" >&2; exit 1; }
  sleep 0.1
done

status=0
npx playwright test --config end2end/playwright.config.ts || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log ----"
  tail -n 100 "$work/server.log"
fi
exit "$status"
