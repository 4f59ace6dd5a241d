#!/usr/bin/env bash
# Builds the web client into web/dist, which `shufflecast serve` serves (WEB_DIR).
# Its code comes from npm at build time; nothing is committed or loaded from a CDN.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "installing: nodejs npm" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# npm install, not npm ci: it keeps to the lock file and copes with registries that
# leave resolved URLs out of it (omit-lockfile-registry-resolved).
npm install --no-audit --no-fund --loglevel=error
npm run build --silent
