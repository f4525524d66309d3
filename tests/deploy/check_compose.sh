#!/usr/bin/env bash
# check_compose.sh: the CI check of the container deployment (docker-compose.yml and
# infra/docker/). Runs without a Docker engine, on a fresh Debian 12 machine as root:
#
#   1. installs Debian's docker-compose and python3-yaml if missing (no recommends);
#   2. `docker-compose config -q` on a temporary copy of the compose file and
#      infra/docker/ as a fresh clone has them (no infra/docker/wdm.env, no .env, no
#      WDM_* variable of the caller's shell): it must run as it is;
#   3. shell syntax of the container scripts (sh -n / bash -n; shellcheck if present);
#   4. check_compose.py: the compose file against the sources (images, commands,
#      WDM_* variables, nng URLs, Sentinels, Redis groups, ports, ...), then its
#      self-test: broken copies of the compose file must all be rejected.
#
# Exits non-zero on the first failing step. Takes a few seconds (plus the install).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

step() { echo "=== check_compose: $*"; }
die() {
    echo "check_compose: FAILED: $*" >&2
    exit 1
}

# ---- 1. tools ----
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
"$repo/infra/apt-install" --no-recommends ${missing[@]+"${missing[@]}"}

# ---- 2. docker-compose config ----
step "docker-compose config -q ($(docker-compose version --short 2>/dev/null || echo '?'))"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/infra"
cp docker-compose.yml "$tmp/"
cp -r infra/docker "$tmp/infra/"
rm -f "$tmp/infra/docker/wdm.env"   # yours, if you made one: a fresh clone has none
# Only the compose file is read; no variable of the caller's shell (e.g. WDM_LOG_LEVEL)
# may change the result.
(cd "$tmp" && env -i PATH="$PATH" HOME="$tmp" docker-compose -f docker-compose.yml config -q) ||
    die "docker-compose rejects docker-compose.yml (see above)"

# ---- 3. scripts ----
step "shell syntax of the container scripts"
for f in infra/docker/redis/*.sh infra/docker/prometheus/*.sh; do sh -n "$f" || die "$f: syntax error"; done
for f in infra/docker/rabbitmq/*.sh infra/docker/wdm-healthcheck; do
    bash -n "$f" || die "$f: syntax error"
done
if command -v shellcheck >/dev/null; then    # optional: not installed for this
    shellcheck infra/docker/redis/*.sh infra/docker/rabbitmq/*.sh infra/docker/prometheus/*.sh \
        infra/docker/wdm-healthcheck \
        tests/deploy/check_compose.sh || die "shellcheck (see above)"
fi

# ---- 4. consistency with the sources ----
step "check_compose.py"
/usr/bin/python3 tests/deploy/check_compose.py --repo "$repo" --self-test ||
    die "docker-compose.yml does not match the sources (FAIL lines above)"
step "passed"
