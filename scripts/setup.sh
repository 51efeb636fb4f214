#!/usr/bin/env bash
# Installs everything opsdesk needs to build (and, with --test, to test) on a
# fresh Debian machine with Rust, Node.js and Python. Idempotent: every step
# checks first, so a second run takes seconds.
#
#   scripts/setup.sh          build and run: wasm32 target, cargo-leptos,
#                             wasm-bindgen-cli, npm packages (xterm.js, binaryen)
#   scripts/setup.sh --test   also Chromium (browser tests) and the Python tools
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
want_test=false
[ "${1:-}" = "--test" ] && want_test=true

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=false
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! $apt_updated; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=true
  fi
  say "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- Rust: the browser target and the build tools ------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
  # no_downloads: cargo-leptos must not fetch tools itself; we install them here.
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version"
  # Not --locked: its lock file names a crate version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# --- npm: xterm.js, binaryen's wasm-opt (release builds), Playwright ------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The terminal's browser side: xterm.js and its fit addon, served by the site
# from public/vendor (copied, not committed; cargo-leptos copies public/).
mkdir -p public/vendor/xterm
for file in node_modules/@xterm/xterm/lib/xterm.mjs node_modules/@xterm/xterm/css/xterm.css \
            node_modules/@xterm/addon-fit/lib/addon-fit.mjs; do
  cmp -s "$file" "public/vendor/xterm/$(basename "$file")" || cp "$file" public/vendor/xterm/
done

# --- test-only tools ---------------------------------------------------------
if $want_test; then
  # Debian's Chromium for Playwright: never `npx playwright install`.
  apt_install chromium
  # asciinema (the Python 2.x player) checks terminal recordings in the tests.
  asciinema_venv=target/asciinema-venv
  if [ ! -x "$asciinema_venv/bin/asciinema" ]; then
    say "installing asciinema into $asciinema_venv"
    rm -rf "$asciinema_venv"
    mkdir -p target
    python3 -m venv "$asciinema_venv"
    "$asciinema_venv/bin/pip" install --quiet --disable-pip-version-check asciinema==2.4.0
  fi
fi
