#!/usr/bin/env bash
# The project's test command (README, CI): installs what is missing, checks formatting,
# lints and the packaging (compose files, Dockerfile, systemd unit), runs every test (unit and end to end, real ffmpeg and players), drives
# the web client in Chromium, then records the live stream as a player would and
# judges every seam with ffprobe.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
cargo fmt --all -- --check
scripts/packaging-check.sh
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
scripts/web-test.sh
scripts/seams.sh
