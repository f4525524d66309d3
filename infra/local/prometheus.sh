# shellcheck shell=bash
#
# prometheus.sh: the local topology's Prometheus (Debian's `prometheus`) and the Redis
# exporter it reads every Redis through (Debian's `prometheus-redis-exporter`, one
# process for all nine, by its multi-target /scrape endpoint). Sourced by up after
# lib.sh. On unless WDM_PROMETHEUS=0; the UI and HTTP API on 127.0.0.1:$PROMETHEUS_PORT.
#
# What is scraped (jobs, and the instance label of each target):
#   gateway                every gateway's admin listener          gateway-1 ...
#   order, stock, payment  every replica's WDM_METRICS_ADDR         order-1 ...
#   redis                  every Redis, through the exporter        redis-order-1 ...
#                          (label service: its group, order, stock or payment)
#   rabbitmq               every node's rabbitmq_prometheus port    rabbitmq-1 ...
# Rules: infra/helm/wdm/files/prometheus-rules.yml, the file compose and the chart use.

PROMETHEUS_RULES=$WDM_REPO_DIR/infra/helm/wdm/files/prometheus-rules.yml

# static_target NAME ADDR [LABEL=VALUE...]: one static_configs entry, instance NAME.
static_target() {
    local name=$1 addr=$2 kv
    shift 2
    printf '      - targets: ["%s"]\n        labels: {instance: "%s"' "$addr" "$name"
    for kv in "$@"; do printf ', %s: "%s"' "${kv%%=*}" "${kv#*=}"; done
    printf '}\n'
}

# The scrape config, rewritten on every up (it follows the topology's settings).
write_prometheus_conf() {
    local s i g n
    {
        echo "# Written by infra/local/up from the topology; rewritten on every up."
        echo "global:"
        echo "  scrape_interval: 5s"
        echo "  evaluation_interval: 5s"
        [[ -f $PROMETHEUS_RULES ]] && printf 'rule_files: ["%s"]\n' "$PROMETHEUS_RULES"
        echo "scrape_configs:"
        echo "  - job_name: gateway"
        echo "    static_configs:"
        for ((i = 1; i <= GATEWAYS; i++)); do
            static_target "gateway-$i" "127.0.0.1:$(admin_port "$i")"
        done
        for s in "${WDM_SERVICES[@]}"; do
            echo "  - job_name: $s"
            echo "    static_configs:"
            for ((i = 1; i <= REPLICAS; i++)); do
                static_target "$s-$i" "127.0.0.1:$(metrics_port "$s" "$i")"
            done
        done
        echo "  - job_name: redis"
        echo "    metrics_path: /scrape"
        echo "    relabel_configs:"
        echo "      # The target is the Redis to read; the exporter is what is connected to."
        echo "      - {source_labels: [__address__], target_label: __param_target}"
        echo "      - {target_label: __address__, replacement: \"127.0.0.1:$(exporter_port)\"}"
        echo "    static_configs:"
        for g in "${WDM_GROUPS[@]}"; do
            for i in 1 2 3; do
                static_target "redis-$g-$i" "redis://127.0.0.1:$(redis_port "$g" "$i")" "service=$g"
            done
        done
        echo "  - job_name: rabbitmq"
        echo "    static_configs:"
        for ((n = 1; n <= RABBITMQ_NODES; n++)); do
            static_target "rabbitmq-$n" "127.0.0.1:$(rabbitmq_prometheus_port "$n")"
        done
    } >"$CONF_DIR/prometheus.yml"
}

# Starts the exporter and Prometheus unless they run; a running Prometheus re-reads the
# rewritten config instead. Monitoring is not what the system needs to run: when its port
# is taken by a process not of this topology, it says so and starts nothing.
# Sets PROMETHEUS_UP=1 when Prometheus runs.
start_prometheus() {
    PROMETHEUS_UP=0
    [[ $PROMETHEUS == 1 ]] || return 0
    local name port
    for name in prometheus prometheus-redis; do
        port=$PROMETHEUS_PORT
        [[ $name == prometheus ]] || port=$(exporter_port)
        if ! running "$name" && port_in_use "$port"; then
            log "WARNING: port $port ($name) is in use by a process that is not ours:" \
                "no Prometheus (set WDM_PROMETHEUS_PORT or WDM_PORT_BASE, or WDM_PROMETHEUS=0)"
            return 0
        fi
    done
    PROMETHEUS_UP=1
    write_prometheus_conf
    if claim prometheus-redis "$(exporter_port)"; then
        log "starting prometheus-redis on :$(exporter_port)"
        # The password in the environment, not on the command line (ps shows that).
        spawn prometheus-redis env REDIS_PASSWORD="$REDIS_PASSWORD" prometheus-redis-exporter \
            -web.listen-address "127.0.0.1:$(exporter_port)" -redis.addr ""
    fi
    if claim prometheus "$PROMETHEUS_PORT"; then
        mkdir -p "$DATA_DIR/prometheus"
        log "starting prometheus on http://127.0.0.1:$PROMETHEUS_PORT"
        spawn prometheus prometheus --config.file "$CONF_DIR/prometheus.yml" \
            --storage.tsdb.path "$DATA_DIR/prometheus" --storage.tsdb.retention.time 2d \
            --web.listen-address "127.0.0.1:$PROMETHEUS_PORT"
    else
        kill -HUP "$(read_pid prometheus)" 2>/dev/null || true   # SIGHUP: reload
    fi
}

# Ready: Prometheus answers its readiness probe.
prometheus_ready() {
    curl -fsS -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
}
