#!/usr/bin/env bash
# The web client in a real browser: builds web/ with npm, then web/tests/browser.mjs
# starts the server (debug build) on the demo library and drives Debian's Chromium
# with playwright-core. Screenshots go to test-artifacts/. First, scripts/wire-check.sh:
# the web client's generated API types must match the server's. Part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
scripts/build-web.sh
scripts/wire-check.sh
cargo build --locked
# The binary as seen from web/: CARGO_TARGET_DIR may be relative to here or absolute.
target=${CARGO_TARGET_DIR:-target}
[[ $target = /* ]] || target="../$target"
(cd web && node tests/browser.mjs --bin "$target/debug/shufflecast" --web-dir dist --out ../test-artifacts)
