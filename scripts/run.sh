#!/usr/bin/env bash
# Sets up, builds (release) and runs opsdesk on http://127.0.0.1:3000 with its
# embedded SQLite database under ./data. The first start creates a demo org and
# prints its admin's credentials. Extra arguments go to `opsdesk serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# npm's binaryen first: release builds run wasm-opt, and Debian's older one
# produces a bundle that fails to load.
PATH="$PWD/node_modules/.bin:$PATH" cargo leptos build --release
exec target/release/opsdesk serve --site-root target/site "$@"
