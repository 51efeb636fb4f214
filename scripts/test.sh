#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit and integration tests (cargo),
# then the browser tests (Playwright in Debian's Chromium) against the real
# server. Debug builds throughout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

echo "==> building the site and the server (debug)"
cargo leptos build

echo "==> unit and integration tests"
# Terminal recordings are also checked by the asciinema player itself.
export OPSDESK_ASCIINEMA="$PWD/target/asciinema-venv/bin/asciinema"
# One invocation for both crates, so `app` is built once with the `ssr` feature.
cargo test -p opsdesk-server -p opsdesk-app --no-run
# A hung test fails the run with its name printed instead of eating CI's hour.
timeout --signal=INT --kill-after=30s 20m cargo test -p opsdesk-server -p opsdesk-app

echo "==> API conformance: schemathesis against the OpenAPI document"
scripts/with-server.sh --admin-token server/tests/schemathesis.sh

echo "==> browser tests"
scripts/with-server.sh npx playwright test --config end2end/playwright.config.ts
