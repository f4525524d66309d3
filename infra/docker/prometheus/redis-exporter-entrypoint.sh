#!/bin/sh
# redis-exporter-entrypoint.sh: starts redis_exporter (image oliver006/redis_exporter,
# alpine variant) with the Redis password of the env file (compose: entrypoint ["sh",
# "/etc/wdm/prometheus/redis-exporter-entrypoint.sh"]).
#
# The exporter reads REDIS_PASSWORD; the env file holds it as WDM_REDIS_PASSWORD, the
# name every other container uses. Prometheus asks for one Redis instance at a time
# (GET /scrape?target=redis-order-1:6379, prometheus.yml), so no address is set here.
set -eu

if [ -z "${WDM_REDIS_PASSWORD:-}" ]; then
    echo "redis-exporter-entrypoint: WDM_REDIS_PASSWORD is not set (infra/docker/wdm.env)" >&2
    exit 1
fi
export REDIS_PASSWORD="$WDM_REDIS_PASSWORD"
# Secrets the exporter does not need stay out of its environment.
unset WDM_REDIS_PASSWORD WDM_RABBITMQ_URL

exec /redis_exporter "$@"
