# shellcheck shell=bash
#
# lib.sh: settings, port layout and process helpers shared by up, down, status and
# rabbitmqctl. Sourced, never run. Everything a topology owns lives under $WDM_RUN_DIR,
# so two topologies with different run dirs and ports can run side by side.
#
# Settings (environment; defaults in brackets):
#   WDM_RUN_DIR            [<repo>/.run/local]  configs, data, logs, pids
#   WDM_PORT_BASE          [7000]   every internal port is WDM_PORT_BASE + an offset
#   WDM_GATEWAY_PORT       [8000]   HTTP
#   WDM_GATEWAYS           [2]      gateway processes (1..4), all on WDM_GATEWAY_PORT
#                                   (SO_REUSEPORT: the kernel spreads the connections)
#   WDM_RABBITMQ_PORT      [5672]   AMQP of RabbitMQ node 1
#   WDM_RABBITMQ_MGMT_PORT [15672]  management UI / HTTP API of node 1
#   WDM_RABBITMQ_NODES     [1]      RabbitMQ nodes: 1, or 3 (one cluster; the services'
#                                   quorum queues get a member on every node)
#   WDM_REPLICAS           [2]      replicas of each service (1..9)
#   WDM_REDIS_PASSWORD     [wdm-local]
#   WDM_SENTINEL_PASSWORD  [wdm-local-sentinel]  the Sentinels' requirepass (clients AUTH
#                          with it; the Sentinels with each other: sentinel-pass)
#   WDM_PROMETHEUS         [1]      Prometheus and the Redis exporter (prometheus.sh); 0: none
#   WDM_PROMETHEUS_PORT    [9090]   Prometheus's UI and HTTP API
#   WDM_BUILD_DIR          [<repo>/build]
#   WDM_CMAKE_FLAGS        [-DCMAKE_BUILD_TYPE=RelWithDebInfo]
#   WDM_SKIP_INSTALL=1, WDM_SKIP_BUILD=1, WDM_ONLY_INFRA=1 (Redis, Sentinel, RabbitMQ only)
#   WDM_INFRA_TIMEOUT      [90]     up: seconds to wait for Redis, Sentinel, RabbitMQ
#   WDM_HEALTH_TIMEOUT     [120]    up: seconds to wait for the gateway's /health
#
# Port offsets from WDM_PORT_BASE (a topology uses WDM_PORT_BASE .. WDM_PORT_BASE+169,
# plus WDM_GATEWAY_PORT, WDM_RABBITMQ_PORT and WDM_RABBITMQ_MGMT_PORT):
#    1-3   Redis group "order"    (instance 1 starts as master, 2 and 3 as replicas)
#   11-13  Redis group "stock"
#   21-23  Redis group "payment"
#   31-33  Sentinels 1-3
#   41-49  order replicas 1-9     (nng req/rep listen addresses)
#   51-59  stock replicas 1-9
#   61-69  payment replicas 1-9
#   71     RabbitMQ node 1's Erlang distribution
#   72     epmd (our own, so topologies don't share one; every node registers there)
#   73-79  rabbitmqctl's Erlang distribution (one port per concurrent call)
#   80-99  unused: a test may put its WDM_GATEWAY_PORT there
#  101-109 order replicas 1-9     metrics (WDM_METRICS_ADDR, 127.0.0.1:port)
#  111-119 stock replicas 1-9     metrics
#  121-129 payment replicas 1-9   metrics
#  132-133 RabbitMQ nodes 2-3: AMQP                  (node 1: WDM_RABBITMQ_PORT)
#  142-143 RabbitMQ nodes 2-3: management UI          (node 1: WDM_RABBITMQ_MGMT_PORT)
#  152-153 RabbitMQ nodes 2-3: Erlang distribution    (node 1: offset 71)
#  161-164 gateways 1-4: admin listener (WDM_ADMIN_ADDR: /metrics, /admin/sagas)
#  165     the Redis exporter (prometheus-redis)
#  166-168 RabbitMQ nodes 1-3: Prometheus metrics (rabbitmq_prometheus)
#
# Process names (pids/<name>.pid, logs/<name>.log): redis-<group>-<i>, sentinel-<i>,
# epmd, rabbitmq-<n> (the node's Erlang VM; rabbitmq-launcher-<n> is the shell that
# runs it), <service>-<i>, gateway-<n>, prometheus, prometheus-redis. RabbitMQ node n is named wdm-<AMQP port of
# node 1>[-n]@localhost (node 1 without the suffix); all nodes share one Erlang cookie.

WDM_LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WDM_REPO_DIR=$(cd "$WDM_LOCAL_DIR/../.." && pwd)

WDM_GROUPS=(order stock payment)       # Redis groups = Sentinel master names
WDM_SERVICES=(stock payment order)     # start order: participants before orchestrator

# Reads the settings into shell variables (not exported: a service gets only what
# service_env gives it, plus whatever the caller exported itself).
# shellcheck disable=SC2034 # used by the scripts that source this file
load_settings() {
    RUN_DIR=${WDM_RUN_DIR:-$WDM_REPO_DIR/.run/local}
    PORT_BASE=${WDM_PORT_BASE:-7000}
    GATEWAY_PORT=${WDM_GATEWAY_PORT:-8000}
    RABBITMQ_PORT=${WDM_RABBITMQ_PORT:-5672}
    RABBITMQ_MGMT_PORT=${WDM_RABBITMQ_MGMT_PORT:-15672}
    RABBITMQ_NODES=${WDM_RABBITMQ_NODES:-1}
    GATEWAYS=${WDM_GATEWAYS:-2}
    REPLICAS=${WDM_REPLICAS:-2}
    REDIS_PASSWORD=${WDM_REDIS_PASSWORD:-wdm-local}
    SENTINEL_PASSWORD=${WDM_SENTINEL_PASSWORD:-wdm-local-sentinel}
    BUILD_DIR=${WDM_BUILD_DIR:-$WDM_REPO_DIR/build}
    CMAKE_FLAGS=${WDM_CMAKE_FLAGS:--DCMAKE_BUILD_TYPE=RelWithDebInfo}
    ONLY_INFRA=${WDM_ONLY_INFRA:-0}
    PROMETHEUS=${WDM_PROMETHEUS:-1}
    PROMETHEUS_PORT=${WDM_PROMETHEUS_PORT:-9090}

    local n
    for n in PORT_BASE GATEWAY_PORT RABBITMQ_PORT RABBITMQ_MGMT_PORT RABBITMQ_NODES \
        GATEWAYS REPLICAS PROMETHEUS_PORT; do
        [[ ${!n} =~ ^[0-9]+$ ]] || die "WDM_$n=${!n}: expected a number"
    done
    ((REPLICAS >= 1 && REPLICAS <= 9)) || die "WDM_REPLICAS=$REPLICAS: expected 1..9"
    ((GATEWAYS >= 1 && GATEWAYS <= 4)) || die "WDM_GATEWAYS=$GATEWAYS: expected 1..4"
    [[ $PROMETHEUS == [01] ]] || die "WDM_PROMETHEUS=$PROMETHEUS: expected 0 or 1"
    ((RABBITMQ_NODES == 1 || RABBITMQ_NODES == 3)) ||
        die "WDM_RABBITMQ_NODES=$RABBITMQ_NODES: expected 1 or 3"
    ((PORT_BASE >= 1024 && PORT_BASE + 169 <= 65535)) ||
        die "WDM_PORT_BASE=$PORT_BASE: expected 1024..65366"
    # The passwords go into config files unquoted.
    [[ $REDIS_PASSWORD =~ ^[A-Za-z0-9._~+=-]+$ ]] ||
        die "WDM_REDIS_PASSWORD: use only letters, digits and . _ ~ + = -"
    [[ $SENTINEL_PASSWORD =~ ^[A-Za-z0-9._~+=-]+$ ]] ||
        die "WDM_SENTINEL_PASSWORD: use only letters, digits and . _ ~ + = -"
    # Absolute: processes start in the run dir, not in the caller's directory.
    [[ $RUN_DIR == /* ]] || RUN_DIR=$PWD/$RUN_DIR
    [[ $BUILD_DIR == /* ]] || BUILD_DIR=$PWD/$BUILD_DIR

    CONF_DIR=$RUN_DIR/conf
    DATA_DIR=$RUN_DIR/data
    LOG_DIR=$RUN_DIR/logs
    PID_DIR=$RUN_DIR/pids

    SENTINEL_PORTS=("$((PORT_BASE + 31))" "$((PORT_BASE + 32))" "$((PORT_BASE + 33))")
    EPMD_PORT=$((PORT_BASE + 72))
    RABBITMQ_DIST_PORT=$(rabbitmq_dist_port 1)
    RABBITMQ_NODENAME=$(rabbitmq_nodename 1)
}

die() {
    echo "error: $*" >&2
    exit 1
}

log() {
    echo "[$(date +%H:%M:%S)] $*"
}

# ---- port layout ----

# redis_port GROUP I: port of Redis instance I (1..3) of GROUP.
redis_port() {
    local offset
    case $1 in
        order) offset=0 ;;
        stock) offset=10 ;;
        payment) offset=20 ;;
        *) die "unknown Redis group $1" ;;
    esac
    echo $((PORT_BASE + offset + $2))
}

# service_port SERVICE I: nng listen port of replica I (1..9) of SERVICE.
service_port() {
    local offset
    case $1 in
        order) offset=40 ;;
        stock) offset=50 ;;
        payment) offset=60 ;;
        *) die "unknown service $1" ;;
    esac
    echo $((PORT_BASE + offset + $2))
}

# metrics_port SERVICE I: port of replica I's (1..9) WDM_METRICS_ADDR (127.0.0.1:port).
metrics_port() {
    local offset
    case $1 in
        order) offset=100 ;;
        stock) offset=110 ;;
        payment) offset=120 ;;
        *) die "unknown service $1" ;;
    esac
    echo $((PORT_BASE + offset + $2))
}

# admin_port N: port of gateway-N's admin listener (WDM_ADMIN_ADDR, 127.0.0.1:port).
admin_port() {
    echo $((PORT_BASE + 160 + $1))
}

# admin_addrs: "gateway-N=127.0.0.1:port ..." of every gateway.
admin_addrs() {
    local i out=()
    for ((i = 1; i <= GATEWAYS; i++)); do out+=("gateway-$i=127.0.0.1:$(admin_port "$i")"); done
    echo "${out[*]}"
}

# exporter_port: the Redis exporter's; rabbitmq_prometheus_port N: node N's metrics.
exporter_port() {
    echo $((PORT_BASE + 165))
}
rabbitmq_prometheus_port() {
    echo $((PORT_BASE + 165 + $1))
}

# metrics_addrs: "name=127.0.0.1:port ..." of every service replica.
metrics_addrs() {
    local s i out=()
    for s in "${WDM_SERVICES[@]}"; do
        for ((i = 1; i <= REPLICAS; i++)); do
            out+=("$s-$i=127.0.0.1:$(metrics_port "$s" "$i")")
        done
    done
    echo "${out[*]}"
}

# rabbitmq_port N, rabbitmq_mgmt_port N, rabbitmq_dist_port N: RabbitMQ node N's AMQP,
# management and Erlang distribution ports; rabbitmq_nodename N: its Erlang node name.
rabbitmq_port() {
    if (($1 == 1)); then echo "$RABBITMQ_PORT"; else echo $((PORT_BASE + 130 + $1)); fi
}
rabbitmq_mgmt_port() {
    if (($1 == 1)); then echo "$RABBITMQ_MGMT_PORT"; else echo $((PORT_BASE + 140 + $1)); fi
}
rabbitmq_dist_port() {
    if (($1 == 1)); then echo $((PORT_BASE + 71)); else echo $((PORT_BASE + 150 + $1)); fi
}
rabbitmq_nodename() {
    if (($1 == 1)); then echo "wdm-$RABBITMQ_PORT@localhost"; else echo "wdm-$RABBITMQ_PORT-$1@localhost"; fi
}

# rabbitmq_urls: comma-separated amqp:// URLs of every RabbitMQ node (WDM_RABBITMQ_URL).
rabbitmq_urls() {
    local n urls=()
    for ((n = 1; n <= RABBITMQ_NODES; n++)); do
        urls+=("amqp://guest:guest@127.0.0.1:$(rabbitmq_port "$n")/")
    done
    (IFS=,; echo "${urls[*]}")
}

# service_urls SERVICE: comma-separated tcp:// URLs of every replica of SERVICE.
service_urls() {
    local i urls=()
    for ((i = 1; i <= REPLICAS; i++)); do
        urls+=("tcp://127.0.0.1:$(service_port "$1" "$i")")
    done
    (IFS=,; echo "${urls[*]}")
}

sentinel_addrs() {
    local p addrs=()
    for p in "${SENTINEL_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
    (IFS=,; echo "${addrs[*]}")
}

# process_table: one line "name kind port" per process of the topology, in start order.
process_table() {
    local g s i
    for g in "${WDM_GROUPS[@]}"; do
        for i in 1 2 3; do echo "redis-$g-$i redis $(redis_port "$g" "$i")"; done
    done
    for i in 1 2 3; do echo "sentinel-$i sentinel ${SENTINEL_PORTS[i - 1]}"; done
    echo "epmd epmd $EPMD_PORT"
    for ((i = 1; i <= RABBITMQ_NODES; i++)); do
        echo "rabbitmq-$i rabbitmq $(rabbitmq_port "$i")"
    done
    [[ $ONLY_INFRA == 1 ]] && return 0
    for s in "${WDM_SERVICES[@]}"; do
        for ((i = 1; i <= REPLICAS; i++)); do
            echo "$s-$i $s $(service_port "$s" "$i")"
        done
    done
    for ((i = 1; i <= GATEWAYS; i++)); do
        echo "gateway-$i gateway $GATEWAY_PORT"
    done
    if [[ $PROMETHEUS == 1 ]]; then
        echo "prometheus-redis prometheus-redis $(exporter_port)"
        echo "prometheus prometheus $PROMETHEUS_PORT"
    fi
}

# ---- pidfiles ----

pidfile() {
    echo "$PID_DIR/$1.pid"
}

# read_pid NAME: prints the recorded pid of NAME, or nothing.
read_pid() {
    local f
    f=$(pidfile "$1")
    [[ -s $f ]] && head -n1 "$f" | tr -dc 0-9
    return 0
}

# expected_cmd NAME: a string the command line of NAME's process must contain, so that
# a pid reused by some other process is never taken for ours (nor signalled).
expected_cmd() {
    case $1 in
        redis-*) echo redis-server ;;
        sentinel-*) echo redis-sentinel ;;
        rabbitmq-launcher*) echo rabbitmq-server ;;
        rabbitmq*) echo beam ;;
        epmd) echo epmd ;;
        prometheus-redis) echo prometheus-redis-exporter ;;
        prometheus) echo "prometheus --config.file" ;;
        *) echo "/${1%%-*}" ;;    # stock-2 -> .../stock/stock, gateway-1 -> .../gateway/gateway
    esac
}

# pid_alive NAME PID: true when PID runs and is NAME's program (not a zombie).
pid_alive() {
    local cmd
    [[ -n $2 ]] && kill -0 "$2" 2>/dev/null || return 1
    cmd=$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$(expected_cmd "$1")"* ]]
}

# running NAME: true when NAME's recorded process is alive.
running() {
    pid_alive "$1" "$(read_pid "$1")"
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# spawn NAME CMD...: starts CMD in the run dir, in a session of its own, detached, output
# appended to logs/NAME.log (logs/$SPAWN_LOG.log when that is set); the process writes
# its own pid to pids/NAME.pid before it execs CMD (so the pid is right whether or not
# setsid forks). Returns once the pidfile is there.
spawn() {
    local name=$1 f i
    local logfile=$LOG_DIR/${SPAWN_LOG:-$1}.log
    shift
    f=$(pidfile "$name")
    rm -f "$f"
    echo "==== $(date '+%F %T') infra/local/up starts $name" >>"$logfile"
    # A simple command, so that no shell of ours lingers as its parent holding our
    # stdout open (a caller reading our output would wait for it forever).
    # shellcheck disable=SC2016 # $$, $0 and $1 belong to the inner shell
    setsid bash -c 'echo $$ >"$0" && cd "$1" && shift && exec "$@"' "$f" "$RUN_DIR" "$@" \
        </dev/null >>"$logfile" 2>&1 9>&- &
    for ((i = 0; i < 50; i++)); do
        [[ -s $f ]] && return 0
        sleep 0.1
    done
    die "$name: no pidfile after 5 s (see $logfile)"
}

# stop_all NAME...: sends TERM to every named process that is alive, waits up to
# 10 s for all of them, then KILLs the rest. Removes their pidfiles.
stop_all() {
    local name pid i j live
    local -a names=() pids=()
    for name in "$@"; do
        pid=$(read_pid "$name")
        if pid_alive "$name" "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            names+=("$name")
            pids+=("$pid")
        fi
        rm -f "$(pidfile "$name")"
    done
    # pid_alive, not kill -0: a process that exited stays a zombie until its parent
    # (init, here) reaps it, and that can take a while.
    for ((i = 0; i < 100; i++)); do
        live=0
        for j in "${!pids[@]}"; do pid_alive "${names[j]}" "${pids[j]}" && live=1; done
        ((live)) || break
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        if pid_alive "${names[i]}" "${pids[i]}"; then
            echo "${names[i]} (pid ${pids[i]}) ignored TERM for 10 s: KILL"
            kill -KILL "${pids[i]}" 2>/dev/null || true
        fi
    done
    ((${#names[@]} == 0)) || echo "stopped: ${names[*]}"
}

# ---- RabbitMQ ----

# rabbitmq_conf_name N: the stem of node N's config and log names ("rabbitmq" for node
# 1, as before there were more nodes; "rabbitmq-N" for the others).
rabbitmq_conf_name() {
    if (($1 == 1)); then echo rabbitmq; else echo "rabbitmq-$1"; fi
}

# rabbitmq_env N: prints the VAR=value words that make the RabbitMQ scripts (server, ctl,
# plugins) use node N of this topology, its files and ports and nothing under /etc or
# /var. All nodes share HOME (so one Erlang cookie) and the mnesia base (each node has
# its own directory in it, named after the node). The node must not start an epmd of
# its own: `up` starts ours and records its pid; one started by Erlang would be nobody's
# to stop.
rabbitmq_env() {
    local d=$DATA_DIR/rabbitmq c
    c=$(rabbitmq_conf_name "$1")
    printf '%s\n' \
        "HOME=$d/home" \
        "RABBITMQ_NODENAME=$(rabbitmq_nodename "$1")" \
        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
        "RABBITMQ_NODE_PORT=$(rabbitmq_port "$1")" \
        "RABBITMQ_DIST_PORT=$(rabbitmq_dist_port "$1")" \
        "RABBITMQ_CTL_DIST_PORT_MIN=$((PORT_BASE + 73))" \
        "RABBITMQ_CTL_DIST_PORT_MAX=$((PORT_BASE + 79))" \
        "ERL_EPMD_PORT=$EPMD_PORT" \
        "ERL_EPMD_ADDRESS=127.0.0.1" \
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-start_epmd false -kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none" \
        "RABBITMQ_MNESIA_BASE=$d/mnesia" \
        "RABBITMQ_LOG_BASE=$LOG_DIR/$c" \
        "RABBITMQ_LOGS=-" \
        "ERL_CRASH_DUMP=$LOG_DIR/$c-erl_crash.dump" \
        "RABBITMQ_CONFIG_FILE=$CONF_DIR/$c.conf" \
        "RABBITMQ_ADVANCED_CONFIG_FILE=$CONF_DIR/rabbitmq-advanced.config" \
        "RABBITMQ_CONF_ENV_FILE=$CONF_DIR/rabbitmq-env.conf" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$CONF_DIR/rabbitmq-enabled-plugins" \
        "RABBITMQ_PID_FILE=$(pidfile "rabbitmq-$1")"
}

# rmq_cli N TOOL ARGS...: a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-queues,
# rabbitmq-diagnostics, ...) against node N of this topology. Refuses to run without
# our epmd: the CLI would start a stray one of its own (whatever its flags say).
rmq_cli() {
    local n=$1 tool=$2
    local -a envs
    shift 2
    [[ $tool =~ ^rabbitmq(ctl|-[a-z]+)$ && -x /usr/lib/rabbitmq/bin/$tool ]] ||
        die "$tool: not a RabbitMQ CLI tool"
    running epmd || die "epmd of $RUN_DIR is not running (infra/local/up starts it)"
    mapfile -t envs < <(rabbitmq_env "$n")
    env "${envs[@]}" "/usr/lib/rabbitmq/bin/$tool" "$@"
}

# rmqctl ARGS...: rabbitmqctl against node 1.
rmqctl() {
    rmq_cli 1 rabbitmqctl "$@"
}

# ---- topology.env ----

# read_topology_setting NAME: NAME's value in an existing topology.env (empty if none).
read_topology_setting() {
    local f=$RUN_DIR/topology.env
    [[ -f $f ]] || return 0
    # shellcheck disable=SC1090
    (source "$f" && echo "${!1:-}")
}

# use_recorded_topology: for down and status: take the ports and replica count that
# `up` recorded in the run dir, so they work without repeating up's environment.
use_recorded_topology() {
    local v
    [[ -f $RUN_DIR/topology.env ]] ||
        die "no topology in $RUN_DIR (set WDM_RUN_DIR, or run up first)"
    v=$(read_topology_setting WDM_PORT_BASE)
    WDM_PORT_BASE=$v
    WDM_GATEWAY_PORT=$(read_topology_setting WDM_GATEWAY_PORT)
    WDM_RABBITMQ_PORT=$(read_topology_setting WDM_RABBITMQ_PORT)
    WDM_RABBITMQ_MGMT_PORT=$(read_topology_setting WDM_RABBITMQ_MGMT_PORT)
    WDM_RABBITMQ_NODES=$(read_topology_setting WDM_RABBITMQ_NODES)
    WDM_GATEWAYS=$(read_topology_setting WDM_GATEWAYS)
    WDM_REPLICAS=$(read_topology_setting WDM_REPLICAS)
    WDM_ONLY_INFRA=$(read_topology_setting WDM_ONLY_INFRA)
    WDM_PROMETHEUS=$(read_topology_setting WDM_PROMETHEUS)
    WDM_PROMETHEUS_PORT=$(read_topology_setting WDM_PROMETHEUS_PORT)
    WDM_RUN_DIR=$RUN_DIR
    load_settings
}

# Debian packages the system needs to build and run.
PACKAGES=(libh2o-evloop-dev libssl-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler
    libprotobuf-dev librabbitmq-dev libhiredis-dev libjansson-dev libmicrohttpd-dev
    redis-server redis-sentinel redis-tools rabbitmq-server cmake pkg-config build-essential
    curl prometheus prometheus-redis-exporter)

# Installs whichever of PACKAGES (and the extra packages given as arguments) are
# missing, unless WDM_SKIP_INSTALL=1.
install_packages() {
    local -a wanted=("${PACKAGES[@]}" "$@")
    [[ ${WDM_SKIP_INSTALL:-0} == 1 ]] && return 0
    command -v dpkg-query >/dev/null ||
        die "no dpkg-query: not Debian? install ${PACKAGES[*]} and set WDM_SKIP_INSTALL=1"
    local p missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0

    log "installing missing packages: ${missing[*]}"
    # --no-start: the topology runs its own servers; the packages' system services
    # (RabbitMQ on 5672, Prometheus on 9090, ...) would hold ports it wants.
    "$WDM_REPO_DIR/infra/apt-install" --no-start "${missing[@]}"
}
