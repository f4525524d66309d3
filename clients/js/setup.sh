#!/usr/bin/env bash
# Makes the JavaScript client runnable on a fresh Debian 12 machine (as root): installs
# node and npm from Debian when either command is missing (Debian 12 ships Node 18, which
# has fetch and node:test), then the locked packages (npm ci). tests/run calls it.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]} > 0)); then
    echo "clients/js/setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
npm ci --no-audit --no-fund --loglevel=error
