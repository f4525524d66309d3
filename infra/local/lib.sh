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
#   WDM_RABBITMQ_PORT      [5672]   AMQP
#   WDM_RABBITMQ_MGMT_PORT [15672]  management UI / HTTP API
#   WDM_REPLICAS           [2]      replicas of each service (1..9)
#   WDM_REDIS_PASSWORD     [wdm-local]
#   WDM_BUILD_DIR          [<repo>/build]
#   WDM_CMAKE_FLAGS        [-DCMAKE_BUILD_TYPE=RelWithDebInfo]
#   WDM_SKIP_INSTALL=1, WDM_SKIP_BUILD=1, WDM_ONLY_INFRA=1 (Redis, Sentinel, RabbitMQ only)
#   WDM_INFRA_TIMEOUT      [90]     up: seconds to wait for Redis, Sentinel, RabbitMQ
#   WDM_HEALTH_TIMEOUT     [120]    up: seconds to wait for the gateway's /health
#
# Port offsets from WDM_PORT_BASE:
#    1-3   Redis group "order"    (instance 1 starts as master, 2 and 3 as replicas)
#   11-13  Redis group "stock"
#   21-23  Redis group "payment"
#   31-33  Sentinels 1-3
#   41-49  order replicas 1-9     (nng req/rep listen addresses)
#   51-59  stock replicas 1-9
#   61-69  payment replicas 1-9
#   71     RabbitMQ Erlang distribution
#   72     epmd (our own, so topologies don't share one)
#   73-79  rabbitmqctl's Erlang distribution (one port per concurrent call)
# Offsets 80-99 are unused: a test may put its WDM_GATEWAY_PORT there.

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
    REPLICAS=${WDM_REPLICAS:-2}
    REDIS_PASSWORD=${WDM_REDIS_PASSWORD:-wdm-local}
    BUILD_DIR=${WDM_BUILD_DIR:-$WDM_REPO_DIR/build}
    CMAKE_FLAGS=${WDM_CMAKE_FLAGS:--DCMAKE_BUILD_TYPE=RelWithDebInfo}
    ONLY_INFRA=${WDM_ONLY_INFRA:-0}

    local n
    for n in PORT_BASE GATEWAY_PORT RABBITMQ_PORT RABBITMQ_MGMT_PORT REPLICAS; do
        [[ ${!n} =~ ^[0-9]+$ ]] || die "WDM_$n=${!n}: expected a number"
    done
    ((REPLICAS >= 1 && REPLICAS <= 9)) || die "WDM_REPLICAS=$REPLICAS: expected 1..9"
    ((PORT_BASE >= 1024 && PORT_BASE + 99 <= 65535)) ||
        die "WDM_PORT_BASE=$PORT_BASE: expected 1024..65436"
    # The password goes into config files unquoted.
    [[ $REDIS_PASSWORD =~ ^[A-Za-z0-9._~+=-]+$ ]] ||
        die "WDM_REDIS_PASSWORD: use only letters, digits and . _ ~ + = -"
    # Absolute: processes start in the run dir, not in the caller's directory.
    [[ $RUN_DIR == /* ]] || RUN_DIR=$PWD/$RUN_DIR
    [[ $BUILD_DIR == /* ]] || BUILD_DIR=$PWD/$BUILD_DIR

    CONF_DIR=$RUN_DIR/conf
    DATA_DIR=$RUN_DIR/data
    LOG_DIR=$RUN_DIR/logs
    PID_DIR=$RUN_DIR/pids

    SENTINEL_PORTS=("$((PORT_BASE + 31))" "$((PORT_BASE + 32))" "$((PORT_BASE + 33))")
    RABBITMQ_DIST_PORT=$((PORT_BASE + 71))
    EPMD_PORT=$((PORT_BASE + 72))
    RABBITMQ_NODENAME=wdm-$RABBITMQ_PORT@localhost
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
    echo "rabbitmq rabbitmq $RABBITMQ_PORT"
    [[ $ONLY_INFRA == 1 ]] && return 0
    for s in "${WDM_SERVICES[@]}"; do
        for ((i = 1; i <= REPLICAS; i++)); do
            echo "$s-$i $s $(service_port "$s" "$i")"
        done
    done
    echo "gateway gateway $GATEWAY_PORT"
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
        rabbitmq) echo beam ;;
        rabbitmq-launcher) echo rabbitmq-server ;;
        epmd) echo epmd ;;
        *) echo "/${1%%-*}" ;;    # stock-2 -> .../stock/stock
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

# rabbitmq_env: prints the VAR=value words that make the RabbitMQ scripts (server, ctl,
# plugins) use this topology's node, files and ports and nothing under /etc or /var.
# The node must not start an epmd of its own: `up` starts ours and records its pid; one
# started by Erlang would be nobody's to stop.
rabbitmq_env() {
    local d=$DATA_DIR/rabbitmq
    printf '%s\n' \
        "HOME=$d/home" \
        "RABBITMQ_NODENAME=$RABBITMQ_NODENAME" \
        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
        "RABBITMQ_NODE_PORT=$RABBITMQ_PORT" \
        "RABBITMQ_DIST_PORT=$RABBITMQ_DIST_PORT" \
        "RABBITMQ_CTL_DIST_PORT_MIN=$((PORT_BASE + 73))" \
        "RABBITMQ_CTL_DIST_PORT_MAX=$((PORT_BASE + 79))" \
        "ERL_EPMD_PORT=$EPMD_PORT" \
        "ERL_EPMD_ADDRESS=127.0.0.1" \
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}" \
        "RABBITMQ_MNESIA_BASE=$d/mnesia" \
        "RABBITMQ_LOG_BASE=$LOG_DIR/rabbitmq" \
        "RABBITMQ_LOGS=-" \
        "ERL_CRASH_DUMP=$LOG_DIR/rabbitmq-erl_crash.dump" \
        "RABBITMQ_CONFIG_FILE=$CONF_DIR/rabbitmq.conf" \
        "RABBITMQ_ADVANCED_CONFIG_FILE=$CONF_DIR/rabbitmq-advanced.config" \
        "RABBITMQ_CONF_ENV_FILE=$CONF_DIR/rabbitmq-env.conf" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$CONF_DIR/rabbitmq-enabled-plugins" \
        "RABBITMQ_PID_FILE=$(pidfile rabbitmq)"
}

# rmqctl ARGS...: the RabbitMQ CLI against this topology's node. Refuses to run
# without our epmd: the CLI would start a stray one of its own (whatever its flags say).
rmqctl() {
    local -a envs
    running epmd || die "epmd of $RUN_DIR is not running (infra/local/up starts it)"
    mapfile -t envs < <(rabbitmq_env)
    env "${envs[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl "$@"
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
    WDM_REPLICAS=$(read_topology_setting WDM_REPLICAS)
    WDM_ONLY_INFRA=$(read_topology_setting WDM_ONLY_INFRA)
    WDM_RUN_DIR=$RUN_DIR
    load_settings
}

# Debian packages the system needs to build and run.
PACKAGES=(libh2o-evloop-dev libssl-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler
    libprotobuf-dev librabbitmq-dev libhiredis-dev redis-server redis-sentinel redis-tools
    rabbitmq-server cmake pkg-config build-essential curl)

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
    "$WDM_REPO_DIR/infra/apt-install" "${missing[@]}"
}
