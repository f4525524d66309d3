#!/bin/sh
# redis-start.sh: the command of a Redis pod of one group (POSIX sh, redis image).
#
# Writes the pod's redis.conf anew at every start and runs redis-server on it. Whether
# this pod is a replica, and of whom, is asked each time (find-master.sh): a pod that
# was the master before a failover must come back as a replica of the new master, not
# as a second master. DESIGN §6 settings are here.
# Environment: POD_NAME, REDIS_GROUP, REDIS_PORT, REDIS_PASSWORD, REDIS_REPLICAS,
# SENTINEL_PASSWORD, SENTINEL_SERVICE, SENTINEL_PORT, SENTINEL_REPLICAS.
set -eu
if [ -z "$REDIS_PASSWORD" ]; then
    echo "redis-start: REDIS_PASSWORD is empty: a Redis without a password" >&2
    exit 1
fi
# shellcheck disable=SC1091 # mounted from the same ConfigMap
. /scripts/find-master.sh

svc=redis-$REDIS_GROUP
self=$POD_NAME.$svc
master=$(find_master "$REDIS_GROUP")
conf=/conf/redis.conf

cat >"$conf" <<CONF
# Written by redis-start.sh at the start of $POD_NAME; Sentinel may rewrite it.
port $REDIS_PORT
bind * -::*
# Refuses other hosts only while no password is set (this script always sets one).
protected-mode yes
dir /data
appendonly yes
appendfsync everysec
save ""
requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD
min-replicas-to-write 1
min-replicas-max-lag 10
replica-announce-ip $self
replica-announce-port $REDIS_PORT
CONF
if [ "$master" != "$self" ]; then
    echo "replicaof $master $REDIS_PORT" >>"$conf"
    echo "redis-start: $self starts as a replica of $master"
else
    echo "redis-start: $self starts as the master of $REDIS_GROUP"
fi
exec redis-server "$conf"
