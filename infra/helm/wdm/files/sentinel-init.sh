#!/bin/sh
# sentinel-init.sh: the init container of a Sentinel pod (POSIX sh, redis image).
#
# Sentinel rewrites its config file (what it learns: masters, replicas, other
# Sentinels), so the config lives in an emptyDir: this copies the ConfigMap's
# sentinel.conf there and adds the password and what is particular to this pod and
# to the moment:
#   - requirepass (clients must AUTH) and sentinel-pass (what this Sentinel sends to the
#     others, which require the same password);
#   - a fixed myid (from the pod name), so a re-created pod is the same Sentinel to the
#     others, not one more: stale Sentinel ids would raise the majority a failover needs;
#   - announce-ip = the pod's stable DNS name;
#   - for each group, the master to monitor as the other Sentinels see it now
#     (find-master.sh), falling back to pod 0 of the group at the first install.
# A restart of the container (not the pod) keeps the rewritten file.
# Environment: POD_NAME, REDIS_GROUPS, REDIS_PORT, REDIS_PASSWORD, REDIS_REPLICAS,
# SENTINEL_PASSWORD, SENTINEL_SERVICE, SENTINEL_PORT, SENTINEL_REPLICAS, SENTINEL_QUORUM,
# SENTINEL_DOWN_AFTER_MS, SENTINEL_FAILOVER_TIMEOUT_MS.
set -eu
if [ -z "$SENTINEL_PASSWORD" ]; then
    echo "sentinel-init: SENTINEL_PASSWORD is empty: a Sentinel without a password" >&2
    exit 1
fi
# shellcheck disable=SC1091 # mounted from the same ConfigMap
. /scripts/find-master.sh

SELF_SENTINEL=$POD_NAME.$SENTINEL_SERVICE
conf=/conf/sentinel.conf
myid=$(printf '%s' "$SELF_SENTINEL" | sha1sum | cut -c1-40)

{
    cat /sentinel/sentinel.conf
    echo "requirepass $SENTINEL_PASSWORD"
    echo "sentinel sentinel-pass $SENTINEL_PASSWORD"
    echo "sentinel myid $myid"
    echo "sentinel announce-ip $SELF_SENTINEL"
    echo "sentinel announce-port $SENTINEL_PORT"
    for g in $REDIS_GROUPS; do
        master=$(find_master "$g")
        echo "redis-sentinel: $g's master is $master" >&2
        # Sentinel refuses a config naming a host it cannot resolve (and the pod's DNS
        # name exists only once the pod does): wait for it, a few minutes at most.
        n=0
        until getent hosts "$master" >/dev/null || [ "$n" -ge 150 ]; do
            n=$((n + 1))
            sleep 2
        done
        echo "sentinel monitor $g $master $REDIS_PORT $SENTINEL_QUORUM"
        echo "sentinel auth-pass $g $REDIS_PASSWORD"
        echo "sentinel down-after-milliseconds $g $SENTINEL_DOWN_AFTER_MS"
        echo "sentinel failover-timeout $g $SENTINEL_FAILOVER_TIMEOUT_MS"
        echo "sentinel parallel-syncs $g 1"
    done
} >"$conf.tmp"
mv "$conf.tmp" "$conf"
