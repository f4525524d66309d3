# shellcheck shell=bash
#
# k8s/lib.sh: what the Kubernetes deploy checks (check_k8s.sh, check_monitoring.sh)
# share. Sourced; `deploy_init` first.
#
#   deploy_init NAME      cd to the repo; sets repo, py, k8s (this directory, relative)
#                         and tmp (removed at exit); step and fail print NAME
#   k8s_tools [PACKAGE...]  installs kubectl, node, npm and PyYAML when missing (and the
#                         packages given: the caller's own, already found missing), then
#                         the schema validator's node modules (npm ci)
#   check_render DIR [CONSISTENCY-FLAG]  schema + consistency checks of `kubectl
#                         kustomize DIR`, with the Secrets of infra/k8s/create-secrets
#                         when DIR renders none
#   expect_fail WHAT PATTERN CMD...  CMD (a check on a broken copy) must fail and print
#                         PATTERN

deploy_init() {
    DEPLOY_CHECK=$1
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
    cd "$repo"
    k8s=tests/deploy/k8s
    py=/usr/bin/python3
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
}

step() { echo "=== $DEPLOY_CHECK: $*"; }
fail() {
    echo "check_$DEPLOY_CHECK: FAILED: $*" >&2
    exit 1
}

k8s_tools() {
    local -a missing=("$@")
    command -v kubectl >/dev/null || missing+=(kubernetes-client)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    $py -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
    "$repo/infra/apt-install" --no-recommends ${missing[@]+"${missing[@]}"}
    step "npm ci ($k8s)"
    (cd "$k8s" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

check_render() {
    kubectl kustomize "$1" >"$1.rendered.yaml" || fail "kubectl kustomize $1"
    if ! grep -q '^kind: Secret$' "$1.rendered.yaml"; then
        { echo "---" && infra/k8s/create-secrets --print; } >>"$1.rendered.yaml" ||
            fail "infra/k8s/create-secrets --print"
    fi
    node "$k8s/validate.mjs" "$1.rendered.yaml" || fail "schema check of $1"
    $py "$k8s/consistency.py" "$1.rendered.yaml" "$repo" ${2:+"$2"} ||
        fail "consistency check of $1"
}

expect_fail() {
    local what=$1 pattern=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        fail "broken copy not caught: $what"
    fi
    grep -q -- "$pattern" <<<"$out" || { echo "$out" >&2; fail "$what: no '$pattern' in the output"; }
    echo "    caught: $what"
}
