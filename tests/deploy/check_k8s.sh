#!/usr/bin/env bash
# check_k8s.sh: the offline checks of the Kubernetes deployment (infra/helm/wdm, infra/k8s).
# No cluster and no helm binary needed. Installs what it lacks (Debian: kubernetes-client
# for `kubectl kustomize`, nodejs + npm, python3-yaml), then:
#   1. the chart: Chart.yaml and values.yaml parse, every template renders to YAML
#      (infra/k8s/render), with the defaults and with the other branches switched on;
#      the shell scripts it ships parse (dash -n);
#   2. infra/k8s is exactly the chart's defaults rendered (render --check), and carries
#      no Secret;
#   3. `kubectl kustomize infra/k8s` renders (with the Secrets of infra/k8s/create-secrets
#      --print added for the checks below);
#   4. every rendered object passes the Kubernetes schemas (k8s/validate.mjs, npm's
#      kubernetes-models, installed with `npm ci` from the committed lock file);
#   5. the objects fit together and fit the C programs, and the security rules hold: no
#      placeholder secret, a NetworkPolicy for every workload that allows exactly the
#      connections the programs make, Sentinels with a password, the gateway's metrics
#      port in no public Service (k8s/consistency.py);
#   6. the chart's Redis/Sentinel scripts work with real Redis (k8s/redis_scripts.sh: a
#      group starts, fails over, the old master comes back as a replica; the Sentinels
#      require their password; needs root);
#   7. secrets: the chart keeps the ones a release has (lookup) and refuses placeholders;
#      infra/k8s/create-secrets keeps, adds and rotates keys (against a stand-in kubectl);
#   8. each of those checks fails on a broken copy (made in a temp dir).
# Exits non-zero on the first failure.
# shellcheck disable=SC2016 # the sed expressions below match a literal $
set -euo pipefail
# shellcheck source=k8s/lib.sh
source "$(dirname "$0")/k8s/lib.sh"
deploy_init k8s
here=$k8s

# ---- what it needs ----
missing=()
command -v dash >/dev/null || missing+=(dash)
if ((EUID == 0)); then  # for k8s/redis_scripts.sh
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    command -v ip >/dev/null || missing+=(iproute2)
fi
k8s_tools ${missing[@]+"${missing[@]}"}

# Settings that switch on the templates' other branches.
variant=(--set gateway.autoscaling.enabled=false --set order.autoscaling.enabled=false
    --set stock.autoscaling.enabled=false --set payment.autoscaling.enabled=false
    --set stock.replicas=3 --set gateway.ingress.className=nginx
    --set gateway.ingress.host=wdm.example.com --set redis.storageClassName=fast
    --set rabbitmq.storageClassName=fast --set sentinel.replicas=5 --set sentinel.quorum=3
    --set secrets.create=true --set gateway.batchInit=token
    --set 'networkPolicy.ingressFrom=[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}, podSelector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}}]'
    --set 'networkPolicy.managementFrom=[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]')
# ... and those that switch things off.
variant_off=(--set secrets.create=true --set 'gateway.batchInit="off"' --set networkPolicy.enabled=false
    --set metrics.annotations=false)

# no_secret DIR: the manifests in DIR carry no Secret (they are committed).
no_secret() {
    if grep -l '^kind: *Secret *$' "$1"/*.yaml; then
        echo "no_secret: $1 has a Secret: rendered secrets must not be committed" >&2
        return 1
    fi
}

# secret_of FILE SECRET KEY: the decoded value of a key of a Secret in a YAML file.
secret_of() {
    $py - "$@" <<'EOF'
import base64, sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "Secret" and d["metadata"]["name"] == sys.argv[2]:
        print(base64.b64decode(d["data"][sys.argv[3]]).decode())
EOF
}

# A stand-in for kubectl, for infra/k8s/create-secrets without a cluster: `get secret
# NAME` answers from $FAKE_CLUSTER/NAME ("key base64" lines, as the script's template
# prints them), `apply` appends what it is given to $FAKE_CLUSTER/applied.yaml,
# `annotate` does nothing; the rest (create --dry-run=client, label --local) is kubectl.
mkdir -p "$tmp/fakebin"
cat >"$tmp/fakebin/kubectl" <<EOF
#!/usr/bin/env bash
case "\$1 \${2:-}" in
    "get secret") cat "\$FAKE_CLUSTER/\$3" 2>/dev/null; exit 0 ;;
    "apply "*) { cat; echo "---"; } >>"\$FAKE_CLUSTER/applied.yaml"; exit 0 ;;
    "annotate "*) exit 0 ;;
esac
exec $(command -v kubectl) "\$@"
EOF
chmod +x "$tmp/fakebin/kubectl"
b64() { printf '%s' "$1" | base64 -w0; }
# fake_secrets DIR [--rotate ...]: create-secrets against the stand-in, on DIR's "cluster".
fake_secrets() {
    local d=$1
    shift
    FAKE_CLUSTER=$d PATH="$tmp/fakebin:$PATH" infra/k8s/create-secrets -n wdm "$@"
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
step "infra/k8s is the chart's defaults, without a Secret"
$py infra/k8s/render --check || fail "infra/k8s differs from the chart (run infra/k8s/render)"
no_secret infra/k8s || fail "infra/k8s carries a Secret"
step "kubectl kustomize infra/k8s (+ create-secrets --print): schemas and consistency"
cp -r infra/k8s "$tmp/default"
check_render "$tmp/default"
step "the chart with other values: schemas and consistency"
$py infra/k8s/render --out "$tmp/variant" "${variant[@]}" >/dev/null || fail "render with ${variant[*]}"
check_render "$tmp/variant"
$py infra/k8s/render --out "$tmp/variant-off" "${variant_off[@]}" >/dev/null ||
    fail "render with ${variant_off[*]}"
! grep -q '^kind: NetworkPolicy' "$tmp/variant-off"/*.yaml || fail "networkPolicy.enabled=false"
check_render "$tmp/variant-off" --no-network-policy

step "secrets: kept on upgrade, random on install, placeholders refused"
cat >"$tmp/cluster.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: wdm-redis, namespace: default}
data: {password: $(b64 kept-redis-password-1234)}
---
apiVersion: v1
kind: Secret
metadata: {name: wdm-rabbitmq, namespace: default}
data: {password: $(b64 kept-rabbitmq-password-1234), erlang-cookie: $(b64 kept-erlang-cookie-12345678)}
EOF
$py infra/k8s/render --out "$tmp/upgrade" --set secrets.create=true --lookup "$tmp/cluster.yaml" \
    >/dev/null || fail "render with an existing Secret"
[[ $(secret_of "$tmp/upgrade/secrets.yaml" wdm-redis password) == kept-redis-password-1234 &&
    $(secret_of "$tmp/upgrade/secrets.yaml" wdm-rabbitmq erlang-cookie) == kept-erlang-cookie-12345678 ]] ||
    fail "the chart does not keep the secrets of the Secret in the cluster"
for k in "wdm-redis sentinel-password" "wdm-gateway admin-token"; do
    # shellcheck disable=SC2086 # two words
    [[ $(secret_of "$tmp/upgrade/secrets.yaml" $k) =~ ^[A-Za-z0-9]{32}$ ]] ||
        fail "no random value for the missing key $k"
done
[[ $(secret_of "$tmp/variant/secrets.yaml" wdm-redis password) != \
    $(secret_of "$tmp/variant-off/secrets.yaml" wdm-redis password) ]] ||
    fail "two installs got the same random secret"
$py infra/k8s/render --out "$tmp/set" --set secrets.create=true --set redis.password=my-own-redis-password \
    --lookup "$tmp/cluster.yaml" >/dev/null || fail "render with redis.password set"
[[ $(secret_of "$tmp/set/secrets.yaml" wdm-redis password) == my-own-redis-password ]] ||
    fail "redis.password set does not replace the Secret's value"
echo "    the chart: kept, added, random, set: ok"
mkdir -p "$tmp/fake1"
echo "password $(b64 kept-redis-password-1234)" >"$tmp/fake1/wdm-redis"
echo "admin-token $(b64 old-admin-token-123456789)" >"$tmp/fake1/wdm-gateway"
fake_secrets "$tmp/fake1" --rotate wdm-gateway/admin-token 2>/dev/null ||
    fail "create-secrets against the stand-in kubectl"
a=$tmp/fake1/applied.yaml
[[ $(secret_of "$a" wdm-redis password) == kept-redis-password-1234 ]] ||
    fail "create-secrets does not keep a key"
[[ $(secret_of "$a" wdm-redis sentinel-password) =~ ^[A-Za-z0-9]{32}$ &&
    $(secret_of "$a" wdm-rabbitmq erlang-cookie) =~ ^[A-Za-z0-9]{32}$ &&
    $(secret_of "$a" wdm-rabbitmq username) == wdm ]] || fail "create-secrets does not add missing keys"
[[ $(secret_of "$a" wdm-gateway admin-token) =~ ^[A-Za-z0-9]{32}$ ]] ||
    fail "create-secrets --rotate does not replace the key"
echo "    infra/k8s/create-secrets: kept, added, rotated: ok"

# ---- 6: each check fails on a broken copy ----
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
cp -r infra/k8s "$tmp/k8s-secret" && cp "$tmp/variant/secrets.yaml" "$tmp/k8s-secret/"
expect_fail "a Secret in infra/k8s" "rendered secrets must not be committed" no_secret "$tmp/k8s-secret"
render_set() { $py infra/k8s/render --out "$tmp/bad-set" --set secrets.create=true "$@"; }
expect_fail "the chart given a placeholder secret" "is a placeholder" \
    render_set --set rabbitmq.password=changeme-changeme-changeme
expect_fail "the chart given a short secret" "16 or more" render_set --set sentinel.password=short
expect_fail "the chart given a number for a secret" "must be a string" \
    render_set --set gateway.adminToken=12345678901234567
sed 's/{password: [^}]*}/{password: '"$(b64 CHANGE-ME-redis-password)"'}/' "$tmp/cluster.yaml" \
    >"$tmp/cluster-placeholder.yaml"
expect_fail "the chart keeping a placeholder of the cluster" "in the cluster (set redis.password" \
    render_set --lookup "$tmp/cluster-placeholder.yaml"
expect_fail "a bad gateway.batchInit" "gateway.batchInit is false" render_set --set gateway.batchInit=false
expect_fail "create-secrets given a placeholder" "is a placeholder" \
    env ADMIN_TOKEN=CHANGE-ME-admin-token infra/k8s/create-secrets --print
mkdir -p "$tmp/fake2"
echo "password $(b64 CHANGE-ME-redis-password)" >"$tmp/fake2/wdm-redis"
expect_fail "create-secrets keeping a placeholder of the cluster" "holds a placeholder" \
    fake_secrets "$tmp/fake2"

if ((EUID == 0)); then
    cp -r infra/helm/wdm/files "$tmp/files-broken"
    sed -i 's/^if \[ "\$master" != "\$self" \]; then/if false; then/' "$tmp/files-broken/redis-start.sh"
    cmp -s infra/helm/wdm/files/redis-start.sh "$tmp/files-broken/redis-start.sh" &&
        fail "could not break redis-start.sh"
    expect_fail "redis-start.sh that never starts a replica" "has not 2 replicas online" \
        env WDM_CHART_FILES="$tmp/files-broken" "$here/redis_scripts.sh"
    # broken_files FILE SED-EXPR: a copy of the chart's scripts with FILE edited, as a dir.
    broken_files() {
        local d
        d=$(mktemp -d "$tmp/files-XXXX")
        cp -r infra/helm/wdm/files/. "$d"
        sed -i -e "$2" "$d/$1"
        cmp -s "infra/helm/wdm/files/$1" "$d/$1" && fail "sed '$2' changed nothing"
        echo "$d"
    }
    # (Assigned first: a failing broken_files must stop the script, which it does not
    # from inside another command's arguments.)
    d=$(broken_files sentinel-init.sh '/echo "requirepass/d')
    expect_fail "a Sentinel without requirepass" "the Sentinel answers without a password" \
        env WDM_CHART_FILES="$d" "$here/redis_scripts.sh"
    d=$(broken_files find-master.sh 's/REDISCLI_AUTH=$SENTINEL_PASSWORD //')
    expect_fail "find-master.sh asking the Sentinels without the password" \
        "does not get the master from the Sentinel" \
        env WDM_CHART_FILES="$d" "$here/redis_scripts.sh"
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

# The security rules (issue 12) and the NetworkPolicies. The NetworkPolicies come last
# in the rendered file (kustomize orders by kind), so /^kind: NetworkPolicy/,$ is them.
np='/^kind: NetworkPolicy/,$'
expect_fail "a placeholder secret" "holds a placeholder secret" \
    consistency "$(broken "s/^  password: .*/  password: $(b64 CHANGE-ME-redis-password)/")"
expect_fail "a short secret" "no real secret" \
    consistency "$(broken "s/^  admin-token: .*/  admin-token: $(b64 admin)/")"
expect_fail "a Sentinel without a password" "a Sentinel without a password" \
    consistency "$(broken 's/name: SENTINEL_PASSWORD$/name: SENTINEL_PASSWD/')"
expect_fail "a service asking the Sentinels without the password" "without WDM_SENTINEL_PASSWORD" \
    consistency "$(broken '/name: WDM_SENTINEL_PASSWORD$/,+4{s/key: sentinel-password/key: password/}')"
expect_fail "protected-mode no" "says protected-mode no" \
    consistency "$(broken 's/protected-mode yes/protected-mode no/')"
expect_fail "the gateway's public Service exposing the metrics port" "exposes the gateway's admin port" \
    consistency "$(broken 's/^    targetPort: http$/&\n  - name: metrics\n    port: 9100\n    targetPort: metrics/')"
expect_fail "Prometheus scraping the gateway's public port" "not the admin port" \
    consistency "$(broken '0,/prometheus.io\/port: "9100"/s//prometheus.io\/port: "8000"/')"
expect_fail "a probe asking /metrics on the public port" "asks /metrics on the public port" \
    consistency "$(broken '/path: \/metrics$/{n;s/port: metrics/port: http/}')"
expect_fail "no admin listener" "WDM_ADMIN_ADDR is not" \
    consistency "$(broken '/name: WDM_ADMIN_ADDR$/{n;s/value: .*/value: ""/}')"
expect_fail "a Service with the Erlang distribution port" "carries the Erlang distribution port" \
    consistency "$(broken '/^  name: rabbitmq-nodes$/,/^---/s/^    targetPort: amqp$/&\n  - name: dist\n    port: 25672\n    targetPort: dist/')"
expect_fail "a workload without a NetworkPolicy" "stock: no NetworkPolicy of its own" \
    consistency "$(broken "$np"'{s/^      app.kubernetes.io\/name: stock$/      app.kubernetes.io\/name: stocks/}')"
expect_fail "no default deny" "no default-deny NetworkPolicy" \
    consistency "$(broken "$np"'{/^  name: wdm-default-deny$/,/^---/s/part-of: wdm$/part-of: wdx/}')"
expect_fail "a connection the policies do not allow" "do not let StatefulSet/order reach StatefulSet/stock:7051" \
    consistency "$(broken "$np"'{/^  name: stock$/,/^---/s/app.kubernetes.io\/name: order$/app.kubernetes.io\/name: gateway/}')"
expect_fail "a connection nothing makes" "let Deployment/gateway reach StatefulSet/redis-order:6379" \
    consistency "$(broken "$np"'{/^  name: redis-order$/,/^---/s/app.kubernetes.io\/name: order$/app.kubernetes.io\/name: gateway/}')"
expect_fail "a rule that admits everybody" "admits everybody" \
    consistency "$(broken "$np"'{/^  name: rabbitmq$/,/^---/s/^  - from:$/  - _from:/}')"
expect_fail "the Erlang ports open to other namespaces" "from outside the release reach StatefulSet/rabbitmq:4369" \
    consistency "$(broken "$np"'{/^  name: rabbitmq$/,/^---/s/^    - podSelector:$/    - namespaceSelector: {}\n      podSelector:/}')"
expect_fail "the Ingress's peers let into the gateway's metrics port" "also admits its admin port" \
    consistency "$(broken 's/^    - port: http$/&\n      protocol: TCP\n    - port: metrics/')"
echo "=== k8s: all checks passed"
