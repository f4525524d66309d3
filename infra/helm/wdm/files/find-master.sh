# shellcheck shell=sh
# find-master.sh: sourced by redis-start.sh and sentinel-init.sh (POSIX sh).
#
# find_master GROUP: prints the host name of GROUP's current Redis master, asking
#   1. each Sentinel but this pod itself (SENTINEL get-master-addr-by-name): the
#      Sentinels' view is the truth once they run;
#   2. else each Redis pod of the group (INFO replication): a master with a replica
#      attached, else any master (all Sentinels are down, e.g. at the first install);
#   3. else pod 0, the master of a fresh group.
# Environment: REDIS_PASSWORD, REDIS_PORT, REDIS_REPLICAS, SENTINEL_PASSWORD,
# SENTINEL_SERVICE, SENTINEL_PORT, SENTINEL_REPLICAS; SELF_SENTINEL (this pod's name, in
# a Sentinel pod). The passwords reach redis-cli through REDISCLI_AUTH, not its command
# line (which `ps` shows).
# The Redis pods of GROUP are redis-GROUP-<i>.redis-GROUP (the headless Service).

# ask_sentinel HOST ARGS... / ask_redis HOST ARGS...: one redis-cli call, bounded in
# time; prints nothing on failure.
ask_sentinel() {
    _h=$1
    shift
    REDISCLI_AUTH=$SENTINEL_PASSWORD timeout 3 redis-cli -h "$_h" -p "$SENTINEL_PORT" --raw "$@" \
        2>/dev/null || true
}

ask_redis() {
    _h=$1
    shift
    REDISCLI_AUTH=$REDIS_PASSWORD timeout 3 redis-cli -h "$_h" -p "$REDIS_PORT" --raw "$@" \
        2>/dev/null || true
}

find_master() {
    _group=$1 _svc=redis-$1 _i=0 _any=
    while [ "$_i" -lt "$SENTINEL_REPLICAS" ]; do
        _s=$SENTINEL_SERVICE-$_i.$SENTINEL_SERVICE
        _i=$((_i + 1))
        [ "$_s" = "${SELF_SENTINEL:-}" ] && continue
        _addr=$(ask_sentinel "$_s" sentinel get-master-addr-by-name "$_group" | head -n1)
        # A host name, not an error (NOAUTH ... when the password is wrong) or nothing.
        case $_addr in
            "" | *[!A-Za-z0-9.-]*) ;;
            *)
                echo "$_addr"
                return 0
                ;;
        esac
    done
    _i=0
    while [ "$_i" -lt "$REDIS_REPLICAS" ]; do
        _h=$_svc-$_i.$_svc
        _i=$((_i + 1))
        _info=$(ask_redis "$_h" info replication)
        case $_info in
            *role:master*connected_slaves:[1-9]*)
                echo "$_h"
                return 0
                ;;
            *role:master*) [ -n "$_any" ] || _any=$_h ;;
        esac
    done
    echo "${_any:-$_svc-0.$_svc}"
}
