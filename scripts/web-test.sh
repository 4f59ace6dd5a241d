#!/usr/bin/env bash
# The web client in a real browser (work in progress for issue 5; not yet part of
# scripts/test.sh): builds web/, starts the demo channel with it, and drives Debian's
# Chromium with playwright-core through web/tests/smoke.mjs. Screenshots go to
# test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
command -v chromium >/dev/null 2>&1 || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
# npm install, not npm ci: it honours the lock file and copes with registries that
# leave resolved URLs out of it (omit-lockfile-registry-resolved).
(cd web && npm install --no-audit --no-fund && npm run build)
cargo build --locked
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="web-test-$(date +%s)"
"${CARGO_TARGET_DIR:-target}/debug/shufflecast" serve --listen 127.0.0.1:$port --data "$work/data" \
  --web-dir web/dist --admin-token "$token" --chunk-duration 12 >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/hls/stream.m3u8" >/dev/null 2>&1; do sleep 0.2; done
(cd web && node tests/smoke.mjs "http://127.0.0.1:$port" "$token" ../test-artifacts)
