#!/usr/bin/env bash
# Runs the demo channel: installs what is missing (ffmpeg, Rust), builds, and serves a
# generated demo library at http://localhost:8081/hls/stream.m3u8. Extra arguments go
# to `shufflecast serve` (e.g. --videos ~/Videos --audio ~/Music).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
cargo build --release --locked
exec "${CARGO_TARGET_DIR:-target}/release/shufflecast" serve "$@"
