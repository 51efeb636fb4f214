#!/usr/bin/env bash
# Runs a command against a real opsdesk server (the debug build from
# `cargo leptos build`) on a free port with a fresh data directory, then stops
# the server. The command sees:
#   BASE_URL / E2E_BASE_URL   the server's URL
#   E2E_EMAIL, E2E_PASSWORD   an admin who signs in through the browser
#   TOKEN / E2E_TOKEN         an API token (admin with --admin-token, else a member's)
set -euo pipefail
cd "$(dirname "$0")/.."

token_role=member
if [ "${1:-}" = "--admin-token" ]; then
  token_role=admin
  shift
fi

bin=target/debug/opsdesk
[ -x "$bin" ] || { echo "with-server: $bin is missing; run cargo leptos build first" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export OPSDESK_DATA_DIR="$work/data"
export BASE_URL="http://127.0.0.1:$port" E2E_BASE_URL="http://127.0.0.1:$port"
export E2E_EMAIL="e2e-admin@example.com" E2E_PASSWORD="e2e password 1"

"$bin" admin create-user --org e2e --email "$E2E_EMAIL" --role admin --password "$E2E_PASSWORD" 2>/dev/null
TOKEN=$("$bin" admin create-token --org e2e --email "e2e-$token_role@example.com" --role "$token_role" --name e2e 2>/dev/null)
export TOKEN E2E_TOKEN="$TOKEN"

"$bin" serve --addr "127.0.0.1:$port" --site-root target/site >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$BASE_URL/healthz" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "with-server: the server exited" >&2; exit 1; }
  sleep 0.1
done

status=0
"$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log (last 100 lines) ----"
  tail -n 100 "$work/server.log"
fi
exit "$status"
