#!/bin/bash
# rabbitmq-entrypoint.sh: starts RabbitMQ in the official rabbitmq image with the user
# and password the services use (compose: entrypoint ["bash", "/etc/wdm/rabbitmq/..."]).
#
# The env file holds one RabbitMQ secret, WDM_RABBITMQ_URL (what the services read,
# amqp://USER:PASSWORD@rabbitmq:5672/); its user and password become RabbitMQ's default
# user here, so the two can never disagree. RabbitMQ creates that user when its database
# is new (the first start with an empty volume) and never again: to change the password
# later use `rabbitmqctl change_password` in the container (or start from an empty volume).
set -euo pipefail

url=${WDM_RABBITMQ_URL:-}
re='^amqp://([A-Za-z0-9._~-]+):([A-Za-z0-9._~-]+)@[^/@]+/?$'
if [[ ! $url =~ $re ]]; then
    echo "rabbitmq-entrypoint: WDM_RABBITMQ_URL must be amqp://USER:PASSWORD@HOST:PORT/" \
        "with USER and PASSWORD of letters, digits and . _ ~ - only" >&2
    exit 1
fi
export RABBITMQ_DEFAULT_USER=${BASH_REMATCH[1]}
export RABBITMQ_DEFAULT_PASS=${BASH_REMATCH[2]}
# Secrets RabbitMQ does not need stay out of its environment.
unset WDM_RABBITMQ_URL WDM_REDIS_PASSWORD WDM_SENTINEL_PASSWORD

exec docker-entrypoint.sh rabbitmq-server "$@"
