#!/usr/bin/env bash
# Runs the demo channel on a free port and records it with hls-seams (an independent
# recorder and judge built on ffprobe), when the tool is beside the project.
# Prints its JSON verdict; fails when a seam is not clean.
#   scripts/seams.sh            the demo channel
#   scripts/seams.sh --matrix   a channel of scripts/source-matrix.sh's varied library
#                               (one-second clips, so every source airs within a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
seams="${HLS_SEAMS:-../shared/tools/hls-seams}"
if [[ ! -x "$seams" ]]; then
  echo "seams: $seams not found, skipped"
  exit 0
fi
cargo build --release --locked
work=$(mktemp -d)
args=(--clip-min 4 --clip-max 4 --chunk-duration 20)
if [[ "${1:-}" == "--matrix" ]]; then
  scripts/source-matrix.sh "$work/videos"
  args=(--videos "$work/videos" --segment-duration 1 --clip-min 1 --clip-max 1 --chunk-duration 30)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-target}/release/shufflecast" serve --listen 127.0.0.1:$port --data "$work/data" "${args[@]}" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
up=""
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/hls/stream.m3u8" >/dev/null 2>&1 && { up=1; break; }
  sleep 0.1
done
if [[ -z "$up" ]]; then
  echo "seams: the server did not come up; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
# Long enough for several clip switches and a music track change.
"$seams" "http://127.0.0.1:$port/hls/stream.m3u8" "${SEAMS_SECONDS:-70}" "$work/capture"
echo "seams: ok"
