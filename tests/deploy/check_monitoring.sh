#!/usr/bin/env bash
# check_monitoring.sh: the offline checks of the monitoring: the Prometheus rules every
# deployment shares (infra/helm/wdm/files/prometheus-rules.yml), the Grafana dashboard
# (infra/grafana), compose's Prometheus config and the chart's monitoring objects. No
# Prometheus, Grafana or cluster needed. Installs what it lacks (Debian: kubernetes-client,
# nodejs + npm, python3-yaml; promtool is taken out of Debian's prometheus package without
# installing it, so no Prometheus server gets enabled here), then:
#   1. promtool check rules on the rules file;
#   2. promtool test rules tests/deploy/prometheus-rules.test.yml: series in, recorded
#      values and firing alerts out;
#   3. check_monitoring.py: compose's prometheus.yml with the rules (promtool check config),
#      the dashboard (JSON, data source variable, every query parses), and every series the
#      rules and the dashboard read is one the programs or the exporters export;
#   4. the chart with every monitoring.* switch on (and its Secrets, as an install has
#      them) renders (infra/k8s/render), `kubectl kustomize` takes it, its objects pass
#      the schemas (k8s/validate.mjs, which knows the Prometheus Operator's kinds) and fit
#      together (k8s/consistency.py, all of check_k8s.sh's rules, and: the PodMonitors
#      select our pods on ports they have, the PrometheusRule holds the rules file, the
#      Redis exporter has a NetworkPolicy of its own that lets Prometheus in, and the
#      Redis pods let the exporter in); with the defaults no monitoring object renders;
#   5. each of these checks fails on a broken copy (made in a temp dir).
# Exits non-zero on the first failure.
# shellcheck disable=SC2016 # patterns below match a literal ${datasource}
set -euo pipefail
# shellcheck source=k8s/lib.sh
source "$(dirname "$0")/k8s/lib.sh"
deploy_init monitoring
here=tests/deploy

# ---- what it needs ----
k8s_tools
# promtool: the one on PATH, else the one of Debian's prometheus package, unpacked once
# into .run/tools (installing the package would enable a Prometheus server).
promtool=$(command -v promtool || true)
if [[ -z $promtool ]]; then
    promtool=$repo/.run/tools/usr/bin/promtool
    if [[ ! -x $promtool ]]; then
        step "unpacking promtool from Debian's prometheus package into .run/tools"
        sudo=()
        ((EUID == 0)) || sudo=(sudo)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        (cd "$tmp" && apt-get download -qq prometheus) || fail "apt-get download prometheus"
        mkdir -p "$repo/.run/tools"
        dpkg-deb -x "$tmp"/prometheus_*.deb "$repo/.run/tools" || fail "dpkg-deb -x prometheus"
    fi
fi

rules=infra/helm/wdm/files/prometheus-rules.yml
tests=$here/prometheus-rules.test.yml
# A full install with every monitoring switch on: the chart makes the Secrets (as
# check_k8s.sh's variant), so that the exporter's secretKeyRef is checked too.
on=(--set secrets.create=true --set monitoring.podMonitor=true --set monitoring.prometheusRule=true
    --set monitoring.redisExporter=true --set monitoring.labels.release=prometheus)


# ---- 1-4: the real thing ----
step "promtool check rules ($("$promtool" --version 2>&1 | head -1))"
"$promtool" check rules "$rules" || fail "$rules"
step "promtool test rules"
"$promtool" test rules "$tests" || fail "$tests"
step "check_monitoring.py: compose's prometheus.yml, the dashboard, the series read"
$py "$here/check_monitoring.py" --repo "$repo" --promtool "$promtool" || fail "check_monitoring.py"
step "the chart with monitoring on: schemas and consistency"
$py infra/k8s/render --out "$tmp/on" "${on[@]}" >/dev/null || fail "render with ${on[*]}"
[[ -s $tmp/on/monitoring.yaml ]] || fail "no monitoring.yaml with ${on[*]}"
check_render "$tmp/on"
step "the chart's defaults: no monitoring objects"
$py infra/k8s/render --out "$tmp/off" >/dev/null || fail "render with the defaults"
[[ ! -e $tmp/off/monitoring.yaml ]] || fail "monitoring objects with the default values"

# ---- 5: each check fails on a broken copy ----
# broken_repo NAME FILE SED-EXPR: a copy of the files the checks read, FILE changed.
broken_repo() {
    local d=$tmp/$1
    mkdir -p "$d/infra/docker" "$d/$here"
    cp -r infra/helm infra/grafana "$d/infra/"
    cp -r infra/docker/prometheus "$d/infra/docker/"
    cp "$here/check_monitoring.py" "$tests" "$d/$here/"
    for s in common gateway order stock payment; do ln -s "$repo/$s" "$d/$s"; done
    sed -i -e "$3" "$d/$2"
    cmp -s "$2" "$d/$2" && fail "sed '$3' changed nothing in $2"
    echo "$d"
}

step "the checks catch broken copies"
d=$(broken_repo syntax "$rules" 's/sum by (route, status) (rate(/sum by (route, status) (rate((/')
expect_fail "a rule that does not parse" "could not parse expression" "$promtool" check rules "$d/$rules"
d=$(broken_repo threshold "$rules" 's/expr: wdm:gateway_5xx:ratio_rate5m > 0.05/expr: wdm:gateway_5xx:ratio_rate5m > 0.06/')
expect_fail "an alert threshold moved" "alertname: WdmGateway5xxHigh" "$promtool" test rules "$d/$tests"
d=$(broken_repo grouping "$rules" 's/max by (job) (increase(wdm_store_failovers_total\[5m\]))/sum by (job) (increase(wdm_store_failovers_total[5m]))/')
expect_fail "failovers summed over replicas" "job:wdm_store_failovers:increase5m" "$promtool" test rules "$d/$tests"
d=$(broken_repo metric "$rules" 's/wdm_saga_takeovers_total/wdm_saga_takeover_total/')
expect_fail "a rule reading a series nobody exports" "reads wdm_saga_takeover_total, which nothing" \
    $py "$d/tests/deploy/check_monitoring.py" --repo "$d" --promtool "$promtool"
d=$(broken_repo dashmetric infra/grafana/wdm-dashboard.json 's/wdm_gateway_inflight_rpcs/wdm_gateway_inflight_calls/')
expect_fail "a panel reading a series nobody exports" "reads wdm_gateway_inflight_calls" \
    $py "$d/tests/deploy/check_monitoring.py" --repo "$d" --promtool "$promtool"
d=$(broken_repo dashsyntax infra/grafana/wdm-dashboard.json 's/"wdm:checkout_seconds:p99_5m"/"wdm:checkout_seconds:p99_5m +"/')
expect_fail "a panel query that does not parse" "queries that do not parse" \
    $py "$d/tests/deploy/check_monitoring.py" --repo "$d" --promtool "$promtool"
d=$(broken_repo dashds infra/grafana/wdm-dashboard.json '0,/"uid": "${datasource}"/s//"uid": "prometheus"/')
expect_fail "a panel with a fixed data source" 'does not use the data source ${datasource}' \
    $py "$d/tests/deploy/check_monitoring.py" --repo "$d" --promtool "$promtool"
d=$(broken_repo promconf infra/docker/prometheus/prometheus.yml 's/scrape_interval: 15s/scrape_interval: 15 seconds/')
expect_fail "compose's prometheus.yml invalid" "promtool check config fails" \
    $py "$d/tests/deploy/check_monitoring.py" --repo "$d" --promtool "$promtool"
# The chart: a broken template, then broken copies of the good render.
d=$(broken_repo selector infra/helm/wdm/templates/monitoring.yaml 's/values: \[order, stock, payment\]/values: [order, stok, payment]/')
$py infra/k8s/render --chart "$d/infra/helm/wdm" --out "$tmp/selector" "${on[@]}" >/dev/null
kubectl kustomize "$tmp/selector" >"$tmp/selector.yaml"
expect_fail "services no PodMonitor selects" "StatefulSet/stock: no PodMonitor selects its pods" \
    $py "$here/k8s/consistency.py" "$tmp/selector.yaml" "$repo"
# broken_render NAME SED-EXPR: the render with monitoring on, SED-EXPR applied, as a file.
broken_render() {
    sed -e "$2" "$tmp/on.rendered.yaml" >"$tmp/$1.yaml"
    cmp -s "$tmp/on.rendered.yaml" "$tmp/$1.yaml" && fail "sed '$2' changed nothing"
    echo "$tmp/$1.yaml"
}
consistency() { $py "$here/k8s/consistency.py" "$1" "$repo"; }
f=$(broken_render rule 's/expr: wdm:gateway_5xx:ratio_rate5m > 0.05/expr: wdm:gateway_5xx:ratio_rate5m > 0.5/')
expect_fail "a PrometheusRule that is not the rules file" "its groups are not those of" consistency "$f"
f=$(broken_render field 's/^    - sourceLabels:$/    - sourceLabel:/')
expect_fail "a misspelt PodMonitor field" "sourceLabel: unknown field" node "$here/k8s/validate.mjs" "$f"
f=$(broken_render interval 's/^  - interval: 15s/  - interval: 15 seconds/')
expect_fail "a scrape interval that is no duration" "interval must match pattern" node "$here/k8s/validate.mjs" "$f"
f=$(broken_render pmport '/^  name: wdm-rabbitmq$/,/^---/s/^    port: metrics$/    port: prometheus/')
expect_fail "a PodMonitor on a port the pods lack" "endpoint port 'prometheus' is no container port of StatefulSet/rabbitmq" \
    consistency "$f"
f=$(broken_render pmpublic '/^  name: wdm-gateway$/,/^---/s/^    port: metrics$/    port: http/')
expect_fail "a PodMonitor scraping the gateway's public port" "scrapes Deployment/gateway on port 8000, not the admin port" \
    consistency "$f"
f=$(broken_render pmaddress 's/^    - replacement: redis-exporter\.\(.*\):9121$/    - replacement: redis-exporter.\1:9122/')
expect_fail "Redis scraped through no exporter" "scrapes through redis-exporter.*:9122, which is no Service port" \
    consistency "$f"
# The NetworkPolicies of the exporter; they come last in the rendered file (kustomize
# orders by kind), so /^kind: NetworkPolicy/,$ is them.
np='/^kind: NetworkPolicy/,$'
f=$(broken_render npexporter "$np"'{/^  name: redis-exporter$/,/^---/s/name: redis-exporter$/name: redis-exporters/}')
expect_fail "no NetworkPolicy of the exporter's own" "Deployment/redis-exporter: no NetworkPolicy of its own" \
    consistency "$f"
f=$(broken_render npredis "$np"'{/^  name: redis-stock$/,/^---/s/name: redis-exporter$/name: redis-exporters/}')
expect_fail "a Redis policy without the exporter" \
    "do not let Deployment/redis-exporter reach StatefulSet/redis-stock:6379" consistency "$f"
f=$(broken_render npscrape "$np"'{/^  name: redis-exporter$/,/^---/s/^    - port: metrics$/    - port: redis/}')
expect_fail "an exporter policy that lets Prometheus miss its port" \
    "let nothing from outside reach Deployment/redis-exporter:9121" consistency "$f"
echo "=== monitoring: all checks passed"
