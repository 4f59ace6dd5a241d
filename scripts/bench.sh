#!/usr/bin/env bash
# Prints the benchmark figures quoted in docs/figures.md (the main ones in the README):
#  1. the live engine's CPU time per second of stream (cargo bench --bench engine),
#     and the library: a rescan of 10,000 unchanged files, the next-clip pick in a
#     library of 100,000 videos (cargo bench --bench library); many channels at
#     once: CPU, memory and segment lateness for N = 1, 10, 50, 200 channels
#     (cargo bench --bench channels, about 6 minutes); the continuous MPEG-TS: 500
#     clients of /stream/main.ts against 500 HLS players, the server's CPU and bytes
#     per CPU-second of each (cargo bench --bench tuner, about 2 minutes);
#  2. fast start: time from launch to the first segment in the playlist, on a fresh
#     data folder with the demo library (median of RUNS runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test   # curl and python3 too, for the fast-start runs
cargo bench --locked --bench engine
cargo bench --locked --bench library
cargo bench --locked --bench channels
cargo bench --locked --bench tuner
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

# 3. The whole server process while airing (generator idle, no viewers): CPU over 60 s,
#    read from /proc (children, i.e. ffmpeg, are not counted: only airing is).
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-target}/release/shufflecast" serve --listen 127.0.0.1:$port --data "$work/data" --chunk-duration 12 >"$work/log" 2>&1 &
pid=$!
sleep 40
while pgrep -P $pid ffmpeg >/dev/null; do sleep 1; done
t0=$(awk '{print $14+$15}' /proc/$pid/stat)
sleep 60
t1=$(awk '{print $14+$15}' /proc/$pid/stat)
rss=$(ps -o rss= -p $pid)
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$work"
hz=$(getconf CLK_TCK)
awk -v t=$((t1 - t0)) -v hz="$hz" -v rss="$rss" 'BEGIN { printf "server process while airing: %.2f s CPU in 60 s = %.2f%% of one core, RSS %.0f MB\n", t/hz, t/hz/60*100, rss/1024 }'

# 4. Serving viewers: segments and the playlist from memory, with wrk (64 connections;
#    wrk runs on the same 2 cores, so these are floors, not ceilings).
command -v wrk >/dev/null 2>&1 || { sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"; $sudo apt-get install -y -qq wrk >/dev/null; }
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-target}/release/shufflecast" serve --listen 127.0.0.1:$port --data "$work/data" >"$work/log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$port/hls/stream.m3u8" >/dev/null 2>&1; do sleep 0.1; done
sleep 4
# The default ladder: its top rung (720p) and its lowest (360p).
for rung in 720p 360p; do
  seg=$(curl -s "http://127.0.0.1:$port/hls/main/$rung/stream.m3u8" | grep -v '^#' | tail -1)
  echo "$rung segment $seg: $(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/hls/main/$rung/$seg") bytes"
  echo "serving one $rung segment to 64 connections:"; wrk -t2 -c64 -d10s "http://127.0.0.1:$port/hls/main/$rung/$seg" | grep -E "Requests/sec|Transfer/sec"
done
echo "serving the multivariant playlist to 64 connections:"; wrk -t2 -c64 -d10s "http://127.0.0.1:$port/hls/stream.m3u8" | grep -E "Requests/sec|Transfer/sec"
echo "serving a rung's playlist to 64 connections:"; wrk -t2 -c64 -d10s "http://127.0.0.1:$port/hls/main/720p/stream.m3u8" | grep -E "Requests/sec|Transfer/sec"
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$work"

# 5. Tuning in: connect to first picture with ffmpeg's defaults, continuous TS against HLS.
BIN="${CARGO_TARGET_DIR:-target}/release/shufflecast" scripts/first-picture-bench.sh
