#!/usr/bin/env bash
# Installs what a fresh Debian or Ubuntu machine lacks to build, run and test shufflecast.
# Idempotent: does nothing when everything is already there.
#   scripts/install-deps.sh          ffmpeg/ffprobe (needed to run)
#   scripts/install-deps.sh --test   also the real players used by the tests (mpv, VLC, GStreamer),
#                                    the XMLTV project's validator (xmltv-util) for the guide,
#                                    SiliconDust's hdhomerun_config for tuner discovery, and
#                                    nginx, which runs deploy/nginx-cache.conf in front of the server
#                                    (Debian's nginx; bookworm's nginx-light is only a transitional
#                                    package pulling it in; on a host with systemd it also starts
#                                    the default site on port 80), and Kodi with its IPTV Simple
#                                    client, run headless in Xvfb on Mesa's software GL; and what
#                                    --web installs
#   scripts/install-deps.sh --web    Chromium and Node with npm (when there is no npm), for the
#                                    web client's build and its browser test
set -euo pipefail
# ffmpeg runs the encodes (a font for the slate and watermarks); gcc and libc6-dev
# are the linker Rust needs to build.
want=(ffmpeg fonts-dejavu-core gcc libc6-dev)
if [[ "${1:-}" == "--test" || "${1:-}" == "--web" ]]; then
  want+=(chromium)
  command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
fi
if [[ "${1:-}" == "--test" ]]; then
  want+=(curl hdhomerun-config mpv vlc-bin vlc-plugin-base gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav python3 xmltv-util nginx kodi kodi-pvr-iptvsimple xvfb libgl1-mesa-dri)
fi
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  # Debian's own cargo is too old for this crate (rust-version in Cargo.toml): use rustup.
  echo "installing Rust with rustup (https://rustup.rs)" >&2
  command -v curl >/dev/null 2>&1 || { $sudo apt-get update -qq; $sudo apt-get install -y -qq curl ca-certificates >/dev/null; }
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >&2
  echo "Rust installed: open a new shell or run: source \$HOME/.cargo/env" >&2
fi
