#!/bin/sh
# sentinel-entrypoint.sh: starts one Redis Sentinel in the official redis image
# (compose: entrypoint ["sh", "/etc/wdm/redis/sentinel-entrypoint.sh"]).
#
# Environment:
#   WDM_REDIS_PASSWORD          required; the masters' requirepass (Sentinel's auth-pass)
#   WDM_SENTINEL_PASSWORD       required; this Sentinel's requirepass, and its
#                               sentinel-pass (what it AUTHs to the other Sentinels with)
#   WDM_SENTINEL_ANNOUNCE_HOST  required; the name the others reach this Sentinel by
#                               (its compose service name)
#   WDM_SENTINEL_DIR            [/data] config (the volume)
# Extra arguments are passed to Sentinel (e.g. --port 26380).
#
# Sentinel rewrites its config file, so it runs from a writable copy in the volume: the
# read-only template beside this script is copied on the first start only. Every start
# sets the passwords and the announced name again.
set -eu

die() {
    echo "sentinel-entrypoint: $*" >&2
    exit 1
}

dir=${WDM_SENTINEL_DIR:-/data}
template=$(dirname "$0")/sentinel.conf
conf=$dir/sentinel.conf
password=${WDM_REDIS_PASSWORD:-}
sentinel_password=${WDM_SENTINEL_PASSWORD:-}
host=${WDM_SENTINEL_ANNOUNCE_HOST:-}

case $password in
'' | *[!A-Za-z0-9._~+=-]*)
    die "WDM_REDIS_PASSWORD must be set, using only letters, digits and . _ ~ + = -" ;;
esac
case $sentinel_password in
'' | *[!A-Za-z0-9._~+=-]*)
    die "WDM_SENTINEL_PASSWORD must be set, using only letters, digits and . _ ~ + = -" ;;
esac
[ -n "$host" ] || die "WDM_SENTINEL_ANNOUNCE_HOST must be set (this Sentinel's service name)"
[ -f "$template" ] || die "no template $template"

if [ ! -f "$conf" ]; then
    mkdir -p "$dir"
    cp "$template" "$conf"
    echo "sentinel-entrypoint: first start: config from $template"
fi
# Drops the lines we own, then adds them again after everything else: auth-pass must
# follow its master's monitor line. Sentinel's own rewrite records the password as a
# "user default ... #<hash>" line too, which would win over requirepass: dropped, so a
# changed WDM_SENTINEL_PASSWORD takes effect.
awk -v pw="$password" -v spw="$sentinel_password" -v host="$host" -v dir="$dir" '
    tolower($1) == "sentinel" && tolower($2) == "auth-pass" { next }
    tolower($1) == "sentinel" && tolower($2) == "announce-ip" { next }
    tolower($1) == "sentinel" && tolower($2) == "sentinel-pass" { next }
    tolower($1) == "requirepass" { next }
    tolower($1) == "user" && $2 == "default" { next }
    tolower($1) == "dir" { next }
    tolower($1) == "sentinel" && tolower($2) == "monitor" { masters[++n] = $3 }
    { print }
    END {
        print "dir " dir
        print "requirepass " spw
        print "sentinel sentinel-pass " spw
        print "sentinel announce-ip " host
        for (i = 1; i <= n; i++) print "sentinel auth-pass " masters[i] " " pw
    }' "$conf" >"$conf.tmp"
mv "$conf.tmp" "$conf"

unset WDM_RABBITMQ_URL WDM_REDIS_PASSWORD WDM_SENTINEL_PASSWORD
[ "${1:-}" = redis-server ] && shift
if command -v docker-entrypoint.sh >/dev/null 2>&1; then
    # As redis-server --sentinel, the image's entrypoint chowns /data and drops root.
    exec docker-entrypoint.sh redis-server "$conf" --sentinel "$@"
fi
exec redis-server "$conf" --sentinel "$@"
