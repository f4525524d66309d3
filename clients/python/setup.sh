#!/usr/bin/env bash
# Makes the Python client runnable on a fresh Debian 12 machine (as root): protoc
# (protobuf-compiler, which generates the message classes at run time), and the
# python3-protobuf and python3-requests it imports, each installed only when missing.
# tests/run calls it.
set -euo pipefail

missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || missing+=(python3-protobuf)
/usr/bin/python3 -c 'import requests' 2>/dev/null || missing+=(python3-requests)
"$(cd "$(dirname "$0")/../.." && pwd)/infra/apt-install" --no-recommends ${missing[@]+"${missing[@]}"}
