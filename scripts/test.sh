#!/usr/bin/env bash
# The project's test command (README, CI): installs what is missing, checks formatting,
# lints and the packaging (compose files, Dockerfile, systemd unit), runs every test,
# both tiers (unit, in-process API and the slow end-to-end scenarios with real ffmpeg,
# players, nginx and Kodi: RUN_SLOW_TESTS=1), drives the web client in Chromium, then
# records the live stream as a player would and judges every seam with ffprobe.
# The crate is compiled twice (clippy's check, then the tests); the browser test and
# the seams use the binary the tests built. Each step's time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
times=()
step() {
  local name=$1 t0=$SECONDS
  shift
  "$@"
  times+=("$(printf '%-10s %4d s' "$name" $((SECONDS - t0)))")
}
report() {
  local rc=$?
  echo "== scripts/test.sh: $( ((rc == 0)) && echo passed || echo "FAILED ($rc)") in $SECONDS s"
  printf '   %s\n' "${times[@]}"
}
trap report EXIT
step install scripts/install-deps.sh --test
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
step fmt cargo fmt --all -- --check
step packaging scripts/packaging-check.sh
step clippy cargo clippy --locked --all-targets -- -D warnings
export RUN_SLOW_TESTS=1
step build cargo test --locked --no-run
step tests cargo test --locked
export SHUFFLECAST_BIN="${CARGO_TARGET_DIR:-target}/debug/shufflecast"
step web scripts/web-test.sh
step seams scripts/seams.sh
