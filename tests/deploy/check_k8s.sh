#!/usr/bin/env bash
# check_k8s.sh: the offline checks of the Kubernetes deployment (infra/helm/wdm, infra/k8s).
# No cluster and no helm binary needed. Installs what it lacks (Debian: kubernetes-client
# for `kubectl kustomize`, nodejs + npm, python3-yaml), then:
#   1. the chart: Chart.yaml and values.yaml parse, every template renders to YAML
#      (infra/k8s/render), with the defaults and with the other branches switched on;
#      the shell scripts it ships parse (dash -n);
#   2. infra/k8s is exactly the chart's defaults rendered (render --check);
#   3. `kubectl kustomize infra/k8s` renders;
#   4. every rendered object passes the Kubernetes schemas (k8s/validate.mjs, npm's
#      kubernetes-models, installed with `npm ci` from the committed lock file);
#   5. the objects fit together and fit the C programs (k8s/consistency.py);
#   6. the chart's Redis/Sentinel scripts work with real Redis (k8s/redis_scripts.sh: a
#      group starts, fails over, the old master comes back as a replica; needs root);
#   7. each of those checks fails on a broken copy (made in a temp dir).
# Exits non-zero on the first failure.
# shellcheck disable=SC2016 # the sed expressions below match a literal $
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
here=tests/deploy/k8s
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { echo "=== k8s: $*"; }
fail() {
    echo "check_k8s: FAILED: $*" >&2
    exit 1
}

# ---- what it needs ----
missing=()
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
$py -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
command -v dash >/dev/null || missing+=(dash)
if ((EUID == 0)); then  # for k8s/redis_scripts.sh
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v ip >/dev/null || missing+=(iproute2)
fi
"$repo/infra/apt-install" --no-recommends ${missing[@]+"${missing[@]}"}
step "npm ci ($here)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# Settings that switch on the templates' other branches.
variant=(--set gateway.autoscaling.enabled=false --set order.autoscaling.enabled=false
    --set stock.autoscaling.enabled=false --set payment.autoscaling.enabled=false
    --set stock.replicas=3 --set gateway.ingress.className=nginx
    --set gateway.ingress.host=wdm.example.com --set redis.storageClassName=fast
    --set rabbitmq.storageClassName=fast --set sentinel.replicas=5 --set sentinel.quorum=3)

# check_render DIR: schema + consistency checks of `kubectl kustomize DIR`.
check_render() {
    kubectl kustomize "$1" >"$1.rendered.yaml" || fail "kubectl kustomize $1"
    node "$here/validate.mjs" "$1.rendered.yaml" || fail "schema check of $1"
    $py "$here/consistency.py" "$1.rendered.yaml" "$repo" || fail "consistency check of $1"
}

# ---- 1-5: the real thing ----
step "chart scripts parse"
for f in infra/helm/wdm/files/*.sh; do dash -n "$f" || fail "$f does not parse"; done
if ((EUID == 0)); then
    step "the chart's Redis and Sentinel scripts with real Redis (start, failover, restart)"
    "$here/redis_scripts.sh" || fail "Redis/Sentinel scripts"
else
    step "SKIPPED: the Redis and Sentinel scripts with real Redis (needs root)"
fi
step "infra/k8s is the chart's defaults"
$py infra/k8s/render --check || fail "infra/k8s differs from the chart (run infra/k8s/render)"
step "kubectl kustomize infra/k8s: schemas and consistency"
cp -r infra/k8s "$tmp/default"
check_render "$tmp/default"
step "the chart with other values: schemas and consistency"
$py infra/k8s/render --out "$tmp/variant" "${variant[@]}" >/dev/null || fail "render with ${variant[*]}"
check_render "$tmp/variant"

# ---- 6: each check fails on a broken copy ----
# expect_fail WHAT PATTERN CMD...: CMD must fail and print PATTERN.
expect_fail() {
    local what=$1 pattern=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        fail "broken copy not caught: $what"
    fi
    grep -q -- "$pattern" <<<"$out" || { echo "$out" >&2; fail "$what: no '$pattern' in the output"; }
    echo "    caught: $what"
}

# broken SED-EXPR: a copy of the default render with SED-EXPR applied, as a file name.
n=0
broken() {
    n=$((n + 1))
    sed -e "$1" "$tmp/default.rendered.yaml" >"$tmp/broken-$n.yaml"
    cmp -s "$tmp/default.rendered.yaml" "$tmp/broken-$n.yaml" && fail "sed '$1' changed nothing"
    echo "$tmp/broken-$n.yaml"
}
schema() { node "$here/validate.mjs" "$1"; }
consistency() { $py "$here/consistency.py" "$1" "$repo"; }

step "the checks catch broken copies"
cp -r infra/k8s "$tmp/k8s-edited"
sed -i 's/averageUtilization: 70/averageUtilization: 80/' "$tmp/k8s-edited/services.yaml"
expect_fail "infra/k8s edited by hand" "differs from the chart" \
    $py infra/k8s/render --check --out "$tmp/k8s-edited"
mkdir -p "$tmp/bad1/wdm" && cp -r infra/helm/wdm/. "$tmp/bad1/wdm"
echo '  bad: {{ .Values.gateway.nosuchvalue }}' >>"$tmp/bad1/wdm/templates/gateway.yaml"
expect_fail "template prints a missing value" "missing value" \
    $py infra/k8s/render --chart "$tmp/bad1/wdm" --out "$tmp/bad1/out"
mkdir -p "$tmp/bad2/wdm" && cp -r infra/helm/wdm/. "$tmp/bad2/wdm"
printf 'kind: [\n' >>"$tmp/bad2/wdm/templates/secrets.yaml"
expect_fail "template renders to invalid YAML" "does not render to YAML" \
    $py infra/k8s/render --chart "$tmp/bad2/wdm" --out "$tmp/bad2/out"
mkdir -p "$tmp/bad3/wdm" && cp -r infra/helm/wdm/. "$tmp/bad3/wdm"
sed -i 's/^version: .*/version: one/' "$tmp/bad3/wdm/Chart.yaml"
expect_fail "Chart.yaml without a SemVer version" "SemVer" \
    $py infra/k8s/render --chart "$tmp/bad3/wdm" --out "$tmp/bad3/out"

if ((EUID == 0)); then
    cp -r infra/helm/wdm/files "$tmp/files-broken"
    sed -i 's/^if \[ "\$master" != "\$self" \]; then/if false; then/' "$tmp/files-broken/redis-start.sh"
    cmp -s infra/helm/wdm/files/redis-start.sh "$tmp/files-broken/redis-start.sh" &&
        fail "could not break redis-start.sh"
    expect_fail "redis-start.sh that never starts a replica" "has not 2 replicas online" \
        env WDM_CHART_FILES="$tmp/files-broken" "$here/redis_scripts.sh"
fi
expect_fail "misspelt field" "readinesProbe: unknown field" schema "$(broken 's/readinessProbe:/readinesProbe:/')"
expect_fail "wrong type" "must be integer" schema "$(broken 's/containerPort: 8000/containerPort: "8000"/')"
expect_fail "unknown kind" "unknown kind" schema "$(broken 's/^kind: PodDisruptionBudget/kind: PodDisruptionBudgit/')"
expect_fail "unknown API version" "unknown kind" schema "$(broken 's#^apiVersion: autoscaling/v2$#apiVersion: autoscaling/v9#')"

expect_fail "a WDM_ variable the program does not read" "which stock does not read" \
    consistency "$(broken 's/name: WDM_WORKERS/name: WDM_WORKERZ/')"
expect_fail "a required variable missing" "WDM_LISTEN_URL is required" \
    consistency "$(broken 's/name: WDM_LISTEN_URL/name: WDM_LISTEN_URI/')"
expect_fail "a probe on a port the container lacks" "is not one of its ports" \
    consistency "$(broken 's/path: \/health/path: \/health\n            port: 9000/; /path: \/health/{n;d}')"
expect_fail "a URL list missing a pod" "lists pods" \
    consistency "$(broken 's#,tcp://stock-3.stock:7051##')"
expect_fail "a URL on the wrong port" "but the pod listens on" \
    consistency "$(broken 's#tcp://payment-0.payment:7061#tcp://payment-0.payment:7051#')"
expect_fail "a Redis group the Sentinels do not monitor" "not a group the Sentinels monitor" \
    consistency "$(broken '/name: WDM_REDIS_MASTER/{n;s/value: stock/value: stocks/}')"
expect_fail "Sentinels monitoring a group without Redis" "no StatefulSet redis-orders" \
    consistency "$(broken 's/value: order stock payment/value: orders stock payment/')"
expect_fail "a Secret key that does not exist" "no key user in Secret" \
    consistency "$(broken 's/key: username/key: user/')"
expect_fail "a Secret volume item that does not exist" "no Secret wdm-rabbitmq with its keys" \
    consistency "$(broken 's/key: erlang-cookie/key: erlang-cooky/')"
expect_fail "a Service with a wrong target port" "targetPort" \
    consistency "$(broken 's/targetPort: management/targetPort: managment/')"
expect_fail "RabbitMQ URLs missing a node" "WDM_RABBITMQ_URL: lists pods" \
    consistency "$(broken 's#,amqp://[^,"]*@rabbitmq-2.rabbitmq-nodes:5672/##')"
expect_fail "a RabbitMQ URL on the wrong port" "but the pod listens on" \
    consistency "$(broken 's#@rabbitmq-0.rabbitmq-nodes:5672/#@rabbitmq-0.rabbitmq-nodes:5673/#')"
expect_fail "a RabbitMQ URL to no pod" "not a pod name of StatefulSet rabbitmq" \
    consistency "$(broken 's#@rabbitmq-1.rabbitmq-nodes:5672/#@rabbitmq:5672/#')"
expect_fail "order's replica id not its pod name" "WDM_REPLICA_ID must be" \
    consistency "$(broken 's/fieldPath: metadata.name/fieldPath: metadata.uid/')"
expect_fail "a \$(VAR) not defined before" "not defined before" \
    consistency "$(broken 's/$(RABBITMQ_PASSWORD)@/$(RABBITMQ_PASSWD)@/')"
echo "=== k8s: all checks passed"
