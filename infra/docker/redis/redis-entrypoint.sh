#!/bin/sh
# redis-entrypoint.sh: starts one Redis instance of a WDM group in the official redis
# image (compose: entrypoint ["sh", "/etc/wdm/redis/redis-entrypoint.sh"]).
#
# Environment:
#   WDM_REDIS_PASSWORD       required; requirepass and masterauth (letters, digits, ._~+=-)
#   WDM_REDIS_ANNOUNCE_HOST  required; the name the others reach this instance by (its
#                            compose service name): replica-announce-ip, so that Sentinel
#                            and the services keep a valid address across restarts
#   WDM_REDIS_REPLICAOF      host or host:port of the group's first master, for the first
#                            start of a replica; unset on that master
#   WDM_REDIS_DIR            [/data] config and data (the volume)
# Extra arguments are passed to redis-server (e.g. --port 6380).
#
# The first start writes $WDM_REDIS_DIR/redis.conf from the template beside this script;
# later starts keep it (Sentinel maintains replicaof in it) and only set the password and
# the announced name again, so that changing them in the env file takes effect.
set -eu

die() {
    echo "redis-entrypoint: $*" >&2
    exit 1
}

# set_option FILE KEY VALUE: replaces every "KEY ..." line of FILE by "KEY VALUE".
set_option() {
    awk -v key="$2" -v line="$2 $3" '
        tolower($1) == key { next }
        { print }
        END { print line }' "$1" >"$1.tmp"
    mv "$1.tmp" "$1"
}

dir=${WDM_REDIS_DIR:-/data}
template=$(dirname "$0")/redis.conf
conf=$dir/redis.conf
password=${WDM_REDIS_PASSWORD:-}
host=${WDM_REDIS_ANNOUNCE_HOST:-}

case $password in
'' | *[!A-Za-z0-9._~+=-]*)
    die "WDM_REDIS_PASSWORD must be set, using only letters, digits and . _ ~ + = -" ;;
esac
[ -n "$host" ] || die "WDM_REDIS_ANNOUNCE_HOST must be set (this instance's service name)"
[ -f "$template" ] || die "no template $template"

if [ ! -f "$conf" ]; then
    mkdir -p "$dir"
    cp "$template" "$conf"
    if [ -n "${WDM_REDIS_REPLICAOF:-}" ]; then
        master=${WDM_REDIS_REPLICAOF%%:*}
        port=6379
        case $WDM_REDIS_REPLICAOF in *:*) port=${WDM_REDIS_REPLICAOF##*:} ;; esac
        echo "replicaof $master $port" >>"$conf"
        echo "redis-entrypoint: first start: a replica of $master:$port"
    else
        echo "redis-entrypoint: first start: a master"
    fi
fi
set_option "$conf" dir "$dir"
set_option "$conf" requirepass "$password"
set_option "$conf" masterauth "$password"
set_option "$conf" replica-announce-ip "$host"

# Secrets Redis does not need stay out of its environment.
unset WDM_RABBITMQ_URL WDM_SENTINEL_PASSWORD
[ "${1:-}" = redis-server ] && shift
if command -v docker-entrypoint.sh >/dev/null 2>&1; then
    # The image's entrypoint: chowns /data to the redis user and drops root.
    exec docker-entrypoint.sh redis-server "$conf" "$@"
fi
exec redis-server "$conf" "$@"
