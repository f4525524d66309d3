#!/usr/bin/env bash
# Makes the JavaScript client runnable on a fresh Debian 12 machine (as root): installs
# node and npm from Debian when either command is missing (Debian 12 ships Node 18, which
# has fetch and node:test), then the locked packages (npm ci). tests/run calls it.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
../../infra/apt-install --no-recommends ${missing[@]+"${missing[@]}"}
npm ci --no-audit --no-fund --loglevel=error
