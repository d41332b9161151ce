#!/bin/sh
# Entrypoint wrapper of the compose `rabbitmq` container.
#
# Writes the definitions file that RabbitMQ imports at boot: the committed
# topology (ops/rabbitmq/definitions.json, the output of
# `linkage topology --definitions`) plus the vhost, the broker user and its
# permissions, taken from the environment. Then hands over to the image's own
# entrypoint with the original command.
#
# Why: importing definitions at boot makes RabbitMQ skip its default user, so
# the user must be in the imported file; its password comes from .env and
# must never be committed. The rendered file lives on a tmpfs.
#
# Environment:
#   RABBITMQ_USER, RABBITMQ_PASSWORD   required
#   LINKAGE_TOPOLOGY     committed topology (default /etc/rabbitmq/topology.json)
#   LINKAGE_DEFINITIONS  file to write (default /run/linkage/definitions.json,
#                        the path rabbitmq.conf names)
# With no arguments it only renders (used by tests/ops).
set -eu

topology=${LINKAGE_TOPOLOGY:-/etc/rabbitmq/topology.json}
out=${LINKAGE_DEFINITIONS:-/run/linkage/definitions.json}
user=${RABBITMQ_USER:?RABBITMQ_USER must be set (see .env.example)}
password=${RABBITMQ_PASSWORD:?RABBITMQ_PASSWORD must be set (see .env.example)}

# The values are written into JSON here and into AMQP_URI by compose, neither
# of which escapes them: accept only URL- and JSON-safe characters.
for value in "$user" "$password"; do
  case $value in
    *[!A-Za-z0-9._~-]*)
      echo "render-definitions: RABBITMQ_USER and RABBITMQ_PASSWORD may contain only" \
           "letters, digits and . _ ~ - (generate one with: openssl rand -hex 24)" >&2
      exit 64 ;;
  esac
done
if [ "$password" = "CHANGE-ME" ]; then
  echo "render-definitions: RABBITMQ_PASSWORD is still the .env.example placeholder" >&2
  exit 64
fi

# The topology is one JSON object starting with "{"; splice our keys in front
# of its own. Add the vhost only if the topology does not declare vhosts.
vhosts='"vhosts":[{"name":"/"}],'
if grep -q '"vhosts"' "$topology"; then vhosts=''; fi

mkdir -p "$(dirname "$out")"
umask 077
tmp="$out.tmp"
{
  printf '{"users":[{"name":"%s","password":"%s","tags":["administrator"]}],' "$user" "$password"
  printf '%s' "$vhosts"
  printf '"permissions":[{"user":"%s","vhost":"/","configure":".*","write":".*","read":".*"}],\n' "$user"
  sed '1s/^[[:space:]]*{//' "$topology"
} > "$tmp"
mv "$tmp" "$out"
# The server runs as the rabbitmq user once the image's entrypoint drops root.
if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
  chown rabbitmq:rabbitmq "$out"
fi

if [ "$#" -gt 0 ]; then
  exec docker-entrypoint.sh "$@"
fi
