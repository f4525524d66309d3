#!/usr/bin/env bash
# redis_scripts.sh: runs the chart's Redis and Sentinel scripts (infra/helm/wdm/files)
# with real redis-server and redis-sentinel, as the pods of one group would:
#   - redis-order-0..2 start through redis-start.sh: 0 as the master, 1 and 2 as its
#     replicas, announced by their DNS names;
#   - sentinel-init.sh writes a Sentinel config that monitors the master by name;
#   - the Sentinel requires its password (NOAUTH without it);
#   - the master is killed; the Sentinel fails over to a replica; redis-order-0 starts
#     again through redis-start.sh and must come back as a replica of the new master;
#   - a second Sentinel learns the new master from the first (find-master.sh asks with
#     the Sentinel password), and the two talk to each other (sentinel-pass).
# "DNS" is a private /etc/hosts mapping the pod names to 127.0.0.1-3, in a mount and
# network namespace of its own (so no port of the machine is touched; needs root). The
# scripts' fixed pod paths (/scripts, /conf, /data, /sentinel) and `bind *` (one port,
# three instances) are rewritten to a temp dir and each pod's own address; nothing else.
# Called by tests/deploy/check_k8s.sh; exits non-zero on failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
files=${WDM_CHART_FILES:-$repo/infra/helm/wdm/files}   # another copy: for the checks' own test

if [[ ${1:-} != --inside ]]; then
    exec unshare -m -n --propagation private "$0" --inside
fi
ip link set lo up
t=$(mktemp -d)
pids=()
cleanup() {
    local p
    exec 2>/dev/null # no "Killed" job notices
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$t"
}
trap cleanup EXIT
fail() {
    echo "redis_scripts: FAILED: $*" >&2
    for f in "$t"/*.log; do echo "--- $f" >&2; tail -n 5 "$f" >&2; done
    exit 1
}

mkdir -p "$t/scripts"
for f in find-master.sh redis-start.sh sentinel-init.sh; do
    sed -e "s#/scripts/#$t/scripts/#g" -e "s#^conf=/conf/#conf=\$CONFDIR/#" \
        -e "s#^dir /data#dir \$CONFDIR#" -e "s#^bind \\* -::\\*#bind \$BINDIP#" \
        -e "s#/sentinel/sentinel.conf#\$CONFDIR/base.conf#" "$files/$f" >"$t/scripts/$f"
done
grep -q "bind \$BINDIP" "$t/scripts/redis-start.sh" || fail "redis-start.sh: no 'bind * -::*' line"
cat >"$t/hosts" <<EOF
127.0.0.1 localhost
127.0.0.1 redis-order-0.redis-order
127.0.0.2 redis-order-1.redis-order
127.0.0.3 redis-order-2.redis-order
127.0.0.10 redis-sentinel-0.redis-sentinel
127.0.0.11 redis-sentinel-1.redis-sentinel
EOF
mount --bind "$t/hosts" /etc/hosts

export REDIS_GROUP=order REDIS_PORT=6379 REDIS_PASSWORD=test-pw REDIS_REPLICAS=3 \
    SENTINEL_PASSWORD=test-sentinel-pw SENTINEL_SERVICE=redis-sentinel SENTINEL_PORT=26379 \
    SENTINEL_REPLICAS=1
declare -A redis_pid
start_redis() {
    mkdir -p "$t/r$1"
    POD_NAME=redis-order-$1 CONFDIR=$t/r$1 BINDIP=127.0.0.$(($1 + 1)) \
        sh "$t/scripts/redis-start.sh" >>"$t/redis-order-$1.log" 2>&1 &
    redis_pid[$1]=$!
    pids+=($!)
}
rcli() { REDISCLI_AUTH=test-pw redis-cli -h "$1" -p 6379 "${@:2}" 2>/dev/null; }
scli() { REDISCLI_AUTH=test-sentinel-pw redis-cli -h 127.0.0.10 -p 26379 "$@" 2>/dev/null; }
# wait_until SECONDS CMD...: CMD must succeed within SECONDS.
wait_until() {
    local n=$(($1 * 5))
    shift
    until "$@"; do
        ((n-- > 0)) || return 1
        sleep 0.2
    done
}
role_of() { [[ $(rcli "$1" role | head -n1) == "$2" ]]; }
replicas_online() { [[ $(rcli "$1" info replication | grep -c 'state=online') == "$2" ]]; }
sentinel_master() { [[ $(scli sentinel get-master-addr-by-name order | head -n1) == "$1" ]]; }

echo "    Redis: a fresh group starts (pod 0 master, pods 1 and 2 its replicas)"
start_redis 0
wait_until 10 role_of 127.0.0.1 master || fail "redis-order-0 is not a master"
start_redis 1
start_redis 2
wait_until 20 replicas_online 127.0.0.1 2 || fail "redis-order-0 has not 2 replicas online"
rcli 127.0.0.1 info replication | grep -q 'ip=redis-order-1.redis-order' ||
    fail "replicas are not announced by name"
[[ $(rcli 127.0.0.1 config get min-replicas-to-write | tail -n1) == 1 ]] ||
    fail "min-replicas-to-write is not 1"
[[ $(rcli 127.0.0.1 config get appendfsync | tail -n1) == everysec ]] || fail "appendfsync"

# start_sentinel I REPLICAS: sentinel-init.sh, then redis-sentinel, as pod I of REPLICAS.
start_sentinel() {
    mkdir -p "$t/s$1"
    # The ConfigMap's sentinel.conf, bound to this Sentinel's address.
    cat >"$t/s$1/base.conf" <<EOF
port 26379
bind 127.0.0.$((10 + $1))
protected-mode yes
dir $t/s$1
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
EOF
    POD_NAME=redis-sentinel-$1 CONFDIR=$t/s$1 REDIS_GROUPS=order \
        SENTINEL_REPLICAS=$2 SENTINEL_QUORUM=1 SENTINEL_DOWN_AFTER_MS=1000 \
        SENTINEL_FAILOVER_TIMEOUT_MS=5000 \
        sh "$t/scripts/sentinel-init.sh" >"$t/sentinel-init-$1.log" 2>&1 || fail "sentinel-init.sh"
    redis-sentinel "$t/s$1/sentinel.conf" >"$t/sentinel-$1.log" 2>&1 &
    pids+=($!)
}

echo "    Sentinel: sentinel-init.sh finds the master, Sentinel monitors it by name"
start_sentinel 0 1
grep -q '^sentinel monitor order redis-order-0.redis-order 6379 1$' "$t/s0/sentinel.conf" ||
    fail "sentinel.conf does not monitor redis-order-0 by name"
wait_until 10 sentinel_master redis-order-0.redis-order || fail "Sentinel does not know the master"
[[ $(redis-cli -h 127.0.0.10 -p 26379 ping 2>&1) == *NOAUTH* ]] ||
    fail "the Sentinel answers without a password"
sees_replicas() { [[ $(scli sentinel master order | grep -A1 '^num-slaves$' | tail -n1) == 2 ]]; }
wait_until 20 sees_replicas || fail "Sentinel does not see the 2 replicas"

echo "    failover: the master is killed, a replica takes over"
{ kill -9 "${redis_pid[0]}" && wait "${redis_pid[0]}"; } 2>/dev/null || true
wait_until 20 eval '! sentinel_master redis-order-0.redis-order' || fail "no failover"
new=$(scli sentinel get-master-addr-by-name order | head -n1)
[[ $new == redis-order-[12].redis-order ]] || fail "new master $new"

echo "    restart: the old master comes back as a replica (of $new)"
mv "$t/redis-order-0.log" "$t/redis-order-0-first.log"
start_redis 0
started() { grep -q 'starts as' "$t/redis-order-0.log"; }
wait_until 10 started || fail "redis-order-0 did not start"
grep -q 'starts as a replica of redis-order-[12].redis-order' "$t/redis-order-0.log" ||
    fail "redis-order-0 did not start as a replica of the new master"
# The current master (the Sentinel may have failed over once more meanwhile, on a busy
# machine) has both others, the old master among them, as replicas online.
settled() {
    local m
    m=$(scli sentinel get-master-addr-by-name order | head -n1)
    [[ -n $m ]] && role_of 127.0.0.1 slave &&
        replicas_online "$(getent hosts "$m" | cut -d' ' -f1)" 2
}
wait_until 30 settled || fail "the group did not settle with 2 replicas online"

echo "    a second Sentinel: asks the first for the master, and they talk to each other"
master=$(scli sentinel get-master-addr-by-name order | head -n1)
# Only the Sentinel can tell: no Redis pod to ask.
[[ $(SELF_SENTINEL=x REDIS_REPLICAS=0 SENTINEL_REPLICAS=1 \
    sh -c ". $t/scripts/find-master.sh && find_master order") == "$master" ]] ||
    fail "find-master.sh does not get the master from the Sentinel (its password?)"
start_sentinel 1 2
grep -q "^sentinel monitor order $master 6379 1\$" "$t/s1/sentinel.conf" ||
    fail "the second Sentinel does not monitor the current master $master"
# Each sees the other, and pings it with sentinel-pass (or it would be s_down).
peer_ok() {
    local f
    f=$(REDISCLI_AUTH=test-sentinel-pw redis-cli -h "$1" -p 26379 sentinel sentinels order \
        2>/dev/null | grep -A1 '^flags$' | tail -n1)
    [[ $f == sentinel ]]
}
wait_until 20 peer_ok 127.0.0.10 || fail "Sentinel 0 does not see Sentinel 1 up"
wait_until 20 peer_ok 127.0.0.11 || fail "Sentinel 1 does not see Sentinel 0 up"
sleep 2 # longer than down-after: a Sentinel the other cannot ping would be s_down now
{ peer_ok 127.0.0.10 && peer_ok 127.0.0.11; } || fail "the Sentinels cannot ping each other"
echo "    Redis and Sentinel scripts: ok"
