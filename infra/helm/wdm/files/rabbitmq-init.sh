#!/bin/sh
# rabbitmq-init.sh: the init container of a RabbitMQ pod (POSIX sh, rabbitmq image).
#
# Writes /etc/rabbitmq (an emptyDir) from the ConfigMap, adding what Kubernetes knows
# only at run time: the peers' node names (they contain the namespace) for the classic
# peer discovery, and the default user from the Secret. Puts the Erlang cookie from the
# Secret where the node and the CLI tools look for it ($HOME/.erlang.cookie, mode 400).
# Environment: POD_NAMESPACE, CLUSTER_DOMAIN, RABBITMQ_REPLICAS, RABBITMQ_USERNAME,
# RABBITMQ_PASSWORD; the ConfigMap at /config, the cookie at /secret/erlang-cookie.
set -eu

conf=/etc/rabbitmq/rabbitmq.conf
{
    cat /config/rabbitmq.conf
    i=0
    while [ "$i" -lt "$RABBITMQ_REPLICAS" ]; do
        echo "cluster_formation.classic_config.nodes.$((i + 1)) = rabbit@rabbitmq-$i.rabbitmq-nodes.$POD_NAMESPACE.svc.$CLUSTER_DOMAIN"
        i=$((i + 1))
    done
    echo "default_user = $RABBITMQ_USERNAME"
    echo "default_pass = $RABBITMQ_PASSWORD"
} >"$conf"
cp /config/enabled_plugins /etc/rabbitmq/enabled_plugins

cookie=$HOME/.erlang.cookie
rm -f "$cookie"
cp /secret/erlang-cookie "$cookie"
chmod 400 "$cookie"
