#!/usr/bin/env bash
# Time from connecting to the first decoded picture, with ffmpeg's default probing
# (what Kodi, Plex and Jellyfin read a tuner with), on the continuous MPEG-TS
# (/stream/main.ts, the tuner's URL) against HLS (/hls/stream.m3u8), and the time
# ffprobe takes to report every stream's parameters on each. Starts a server on
# the demo library (1280x720@30, 2 s segments) in a fresh data folder, waits until
# it is on air with four segments published and no encode running, then runs each
# measurement RUNS times (default 9), alternating, and prints every run and the
# medians.
#
#   scripts/first-picture-bench.sh             # builds the release binary first
#   BIN=path/to/shufflecast RUNS=15 scripts/first-picture-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-9}
if [[ -z "${BIN:-}" ]]; then
  cargo build --release --locked
  BIN="${CARGO_TARGET_DIR:-target}/release/shufflecast"
fi
for tool in ffmpeg ffprobe curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (scripts/install-deps.sh --test)" >&2; exit 1; }
done

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$BIN" serve --listen "127.0.0.1:$port" --data "$work/data" --discovery false \
  --chunk-duration 12 --max-chunks 1 --ready-chunks 1 >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT

# On air, four segments out (so each way has its start-up segments at hand), and
# no ffmpeg of the server's running (the demo library, the chunk), for 3 s.
deadline=$((SECONDS + 300))
until [[ $(curl -sf "$base/hls/main/720p/stream.m3u8" 2>/dev/null | grep -c '\.ts') -ge 4 ]]; do
  (( SECONDS < deadline )) || { echo "not on air after 300 s; log: $work/log" >&2; exit 1; }
  sleep 0.5
done
idle=0
while (( idle < 6 )); do
  (( SECONDS < deadline )) || { echo "still encoding after 300 s" >&2; exit 1; }
  if pgrep -P $pid >/dev/null; then idle=0; else idle=$((idle + 1)); fi
  sleep 0.5
done

# Seconds (3 decimals) that "$@" takes; fails when it fails.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  t1=$(date +%s%N)
  printf '%d.%03d' $(((t1 - t0) / 1000000000)) $((((t1 - t0) / 1000000) % 1000))
}
picture() { timed ffmpeg -nostdin -v error -i "$1" -frames:v 1 -f null -; }
probe() { timed ffprobe -v error -show_streams "$1"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

ts="$base/stream/main.ts"
# The top rung's media playlist, as a player that picked it reads it (ffprobe given
# the multivariant playlist would open every rung).
hls="$base/hls/main/720p/stream.m3u8"
declare -a ts_pic hls_pic ts_probe hls_probe
for i in $(seq 1 "$runs"); do
  ts_pic+=("$(picture "$ts")")
  hls_pic+=("$(picture "$hls")")
  ts_probe+=("$(probe "$ts")")
  hls_probe+=("$(probe "$hls")")
  echo "run $i: first picture TS ${ts_pic[-1]} s, HLS ${hls_pic[-1]} s;" \
    "stream parameters TS ${ts_probe[-1]} s, HLS ${hls_probe[-1]} s"
done
echo "first picture, ffmpeg defaults (median of $runs): continuous TS $(median "${ts_pic[@]}") s," \
  "HLS $(median "${hls_pic[@]}") s"
echo "stream parameters, ffprobe defaults (median of $runs): continuous TS $(median "${ts_probe[@]}") s," \
  "HLS $(median "${hls_probe[@]}") s"
