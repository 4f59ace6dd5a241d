#!/usr/bin/env bash
# The web client in a real browser: builds web/ with npm, then web/tests/browser.mjs
# starts the server (debug build) on the demo library and drives Debian's Chromium
# with playwright-core. Screenshots go to test-artifacts/. First, scripts/wire-check.sh:
# the web client's generated API types must match the server's. Part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --web
scripts/build-web.sh
export SHUFFLECAST_BIN
scripts/wire-check.sh
# SHUFFLECAST_BIN: a binary already built (scripts/test.sh passes the one its tests
# built); else a debug build.
bin=${SHUFFLECAST_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --locked
  bin="${CARGO_TARGET_DIR:-target}/debug/shufflecast"
fi
# The binary as seen from web/.
bin=$(realpath "$bin")
(cd web && node tests/browser.mjs --bin "$bin" --web-dir dist --out ../test-artifacts)
