#!/usr/bin/env bash
# The project's test command (README, CI): installs what is missing, checks formatting,
# lints and the packaging (compose files, Dockerfile, systemd unit), runs every test,
# both tiers (unit, in-process API and the slow end-to-end scenarios with real ffmpeg,
# players, nginx and Kodi: RUN_SLOW_TESTS=1), drives the web client in Chromium, then
# records the live stream as a player would and judges every seam with ffprobe.
#
# Where the time goes, and why it is laid out so: the crate is compiled twice (the
# tests' build, then clippy's check), never in release; the browser test and the
# seams run the binary the tests built. Most end-to-end scenarios wait on real time
# (a stream airs at its own pace), so they run in one lane while the other lane runs
# clippy, the unit tests, the browser test and the seams; the end-to-end lane's
# output is printed when it ends. Each step's time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
times=()
step() {
  local name=$1 t0=$SECONDS
  shift
  "$@"
  times+=("$(printf '%-10s %4d s' "$name" $((SECONDS - t0)))")
}
report() {
  local rc=${1:-$?}
  echo "== scripts/test.sh: $( ((rc == 0)) && echo passed || echo "FAILED ($rc)") in $SECONDS s"
  printf '   %s\n' "${times[@]}"
}
trap report EXIT
step install scripts/install-deps.sh
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
# What the tests need (players, nginx, Kodi, Chromium, the web client's build)
# installs while the crate compiles: apt waits on the network, the compiler on the CPU.
deps_log=$(mktemp)
deps_t0=$SECONDS
(scripts/install-deps.sh --test && scripts/build-web.sh) >"$deps_log" 2>&1 &
deps=$!
step fmt cargo fmt --all -- --check
export RUN_SLOW_TESTS=1
# The tests' build; the end-to-end binary's path from cargo's own report.
step build cargo test --locked --no-run
deps_rc=0
wait $deps || deps_rc=$?
cat "$deps_log"
rm -f "$deps_log"
((deps_rc == 0)) || { echo "installing what the tests need failed" >&2; exit "$deps_rc"; }
times+=("$(printf '%-10s %4d s (beside the build)' test-deps $((SECONDS - deps_t0)))")
step packaging scripts/packaging-check.sh
it=$(cargo test --locked --no-run --test it --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "it" and m.get("executable"):
        print(m["executable"])')
export SHUFFLECAST_BIN="$target/debug/shufflecast"

# Lane 1: the end-to-end tests (run as cargo would: from the package's folder),
# then the unit tests.
e2e_log=$(mktemp)
e2e_t0=$SECONDS
("$it" --test-threads=4 && cargo test --locked --lib --bins) >"$e2e_log" 2>&1 &
e2e=$!
trap 'rc=$?; kill $e2e 2>/dev/null || true; report $rc' EXIT
# Lane 2: the rest.
step clippy cargo clippy --locked --all-targets -- -D warnings
step web scripts/web-test.sh
step seams scripts/seams.sh
# The ladder over a library as varied as real collections (encoders, containers,
# colour tags, aspect ratios, frame rates, rotations), every rung judged at once.
step ladder scripts/seams.sh --matrix
e2e_rc=0
wait $e2e || e2e_rc=$?
times+=("$(printf '%-10s %4d s (beside the lane above)' tests $((SECONDS - e2e_t0)))")
echo "== the end-to-end tests (tests/it), then the unit tests:"
cat "$e2e_log"
rm -f "$e2e_log"
exit $e2e_rc
