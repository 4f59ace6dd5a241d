#!/usr/bin/env bash
# Runs the demo channel: installs what is missing (ffmpeg, Rust, Node), builds the
# server and the web client, and serves a generated demo library: watch it at
# http://localhost:8081/ (the stream itself: /hls/stream.m3u8). Extra arguments go
# to `shufflecast serve` (e.g. --videos ~/Videos --audio ~/Music).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
cargo build --release --locked
scripts/build-web.sh
exec "${CARGO_TARGET_DIR:-target}/release/shufflecast" serve "$@"
