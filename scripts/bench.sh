#!/usr/bin/env bash
# Prints the benchmark figures quoted in the README:
#  1. the live engine's CPU time per second of stream (cargo bench --bench engine);
#  2. fast start: time from launch to the first segment in the playlist, on a fresh
#     data folder with the demo library (median of RUNS runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo bench --locked --bench engine
cargo build --release --locked
runs=${RUNS:-5}
times=()
for i in $(seq 1 "$runs"); do
  work=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start=$(date +%s%N)
  "${CARGO_TARGET_DIR:-target}/release/shufflecast" serve --listen 127.0.0.1:$port --data "$work/data" >"$work/log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/hls/stream.m3u8" >/dev/null 2>&1; do sleep 0.02; done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  first=$(grep -m1 -o 'airing clip\|airing the slate' "$work/log" || true)
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$work"
  echo "fast start run $i: ${ms} ms (first segment: ${first:-?})"
  times+=("$ms")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
echo "fast start (fresh data folder, demo library): median ${median} ms over ${runs} runs"
