#!/usr/bin/env bash
# Runs the demo channel on a free port, with the default quality ladder, and records
# every rung at once with hls-ladder (an independent recorder and judge built on
# ffprobe: each rung's seams, its picture and bit rate against what the multivariant
# playlist announces, and the rungs' alignment), when the tool is beside the project
# (else the playlist with hls-seams); at the same time records each channel's
# continuous MPEG-TS, its top rung (/stream/SLUG.ts) and its lowest
# (/stream/SLUG/360p.ts), and judges them with ts-judge, when that is beside it too.
# Prints the JSON verdicts; fails when a seam is not clean.
#   scripts/seams.sh            the demo channel
#   scripts/seams.sh --matrix   a channel of scripts/source-matrix.sh's varied library
#                               (one-second clips, so every source airs within a minute)
#   scripts/seams.sh --channels three channels at once from a channels file (the varied
#                               library split in two folders; one channel with an include
#                               glob, one without music, one on both folders), each
#                               recorded and judged at the same time
set -euo pipefail
cd "$(dirname "$0")/.."
seams="${HLS_SEAMS:-../shared/tools/hls-seams}"
tsjudge="${TS_JUDGE:-$(dirname "$seams")/ts-judge}"
ladder="${HLS_LADDER:-$(dirname "$seams")/hls-ladder}"
[[ -x "$ladder" ]] && seams="$ladder"
if [[ ! -x "$seams" ]]; then
  echo "seams: $seams not found, skipped"
  exit 0
fi
# SHUFFLECAST_BIN: a binary already built (scripts/test.sh passes the one its tests
# built); else a release build.
bin=${SHUFFLECAST_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --release --locked
  bin="${CARGO_TARGET_DIR:-target}/release/shufflecast"
fi
work=$(mktemp -d)
args=(--clip-min 4 --clip-max 4 --chunk-duration 20)
streams=(stream.m3u8)
if [[ "${1:-}" == "--matrix" ]]; then
  scripts/source-matrix.sh "$work/videos"
  args=(--videos "$work/videos" --segment-duration 1 --clip-min 1 --clip-max 1 --chunk-duration 30)
elif [[ "${1:-}" == "--channels" ]]; then
  scripts/source-matrix.sh "$work/all"
  mkdir -p "$work/a" "$work/b" "$work/music"
  # Half the library in each folder, by name.
  i=0
  for f in "$work"/all/*; do
    if ((i++ % 2)); then mv "$f" "$work/a/"; else mv "$f" "$work/b/"; fi
  done
  ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i "sine=frequency=330:duration=40" "$work/music/tone.mp3"
  cat >"$work/channels.toml" <<TOML
[[channel]]
slug = "alpha"
name = "Alpha"
number = 1
videos = "$work/a"
audio = "$work/music"

[[channel]]
slug = "beta"
name = "Beta"
number = 2
videos = "$work/b"
include = ["**/*.m*"]

[[channel]]
slug = "both"
name = "Both"
number = 3
videos = ["$work/a", "$work/b"]
audio = "$work/music"
TOML
  args=(--channels "$work/channels.toml" --segment-duration 1 --clip-min 1 --clip-max 1 --chunk-duration 20 --generator-jobs 2)
  streams=(alpha/stream.m3u8 beta/stream.m3u8 both/stream.m3u8)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen 127.0.0.1:$port --discovery false --data "$work/data" "${args[@]}" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
up=""
for _ in $(seq 1 600); do
  all=1
  for st in "${streams[@]}"; do
    curl -sf "http://127.0.0.1:$port/hls/$st" >/dev/null 2>&1 || all=""
  done
  [[ -n "$all" ]] && { up=1; break; }
  sleep 0.1
done
if [[ -z "$up" ]]; then
  echo "seams: the server did not come up; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
# Long enough for several clip switches and a music track change; every stream at
# once.
jobs=()
tsjobs=()
for st in "${streams[@]}"; do
  name=${st%%/*}
  "$seams" "http://127.0.0.1:$port/hls/$st" "${SEAMS_SECONDS:-70}" "$work/capture-${name%.m3u8}" >"$work/verdict-${name%.m3u8}.json" &
  jobs+=($!)
  if [[ -x "$tsjudge" ]]; then
    # The default channel's slug is main; the others are in the playlist's path.
    slug=${name%.m3u8}
    [[ "$slug" == stream ]] && slug=main
    # curl ends the endless response at --max-time (its exit 28 is expected).
    for ts in "$slug" "$slug/360p"; do
      (curl -s --max-time "${SEAMS_SECONDS:-70}" -o "$work/${ts/\//-}.ts" "http://127.0.0.1:$port/stream/$ts.ts" || true
       "$tsjudge" "$work/${ts/\//-}.ts" >"$work/ts-verdict-${ts/\//-}.json") &
      tsjobs+=("$!:$ts")
    done
  fi
done
failed=0
for i in "${!jobs[@]}"; do
  st=${streams[$i]}
  name=${st%%/*}
  if ! wait "${jobs[$i]}"; then failed=1; fi
  echo "== ${st}"
  cat "$work/verdict-${name%.m3u8}.json"
done
for job in "${tsjobs[@]}"; do
  if ! wait "${job%%:*}"; then failed=1; fi
  ts=${job#*:}
  echo "== /stream/$ts.ts"
  cat "$work/ts-verdict-${ts/\//-}.json"
done
((failed == 0)) || { echo "seams: a seam is not clean" >&2; exit 1; }
echo "seams: ok"
