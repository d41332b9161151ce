#!/bin/sh
# Entrypoint wrapper of the compose `rabbitmq` container.
#
# Writes the definitions file that RabbitMQ imports at boot: the committed
# topology and each service user's permissions (ops/rabbitmq/definitions.json,
# the output of `linkage topology --definitions`) plus the vhost and the users,
# with passwords taken from the environment: the administrator (the management
# UI's login, every permission) and one user per service, named after it, with
# no management access. Then hands over to the image's own entrypoint with the
# original command.
#
# Why: importing definitions at boot makes RabbitMQ skip its default user, so
# the users must be in the imported file; their passwords come from .env and
# must never be committed. The rendered file lives on a tmpfs.
#
# Environment:
#   RABBITMQ_USER, RABBITMQ_PASSWORD   required: the administrator
#   COMMITTEE_BROKER_PASSWORD, POLICE_BROKER_PASSWORD, FLOATING_BROKER_PASSWORD,
#   PROPERTY_BROKER_PASSWORD, DEVELOPER_BROKER_PASSWORD   required: the services' users
#   LINKAGE_TOPOLOGY     committed topology (default /etc/rabbitmq/topology.json)
#   LINKAGE_DEFINITIONS  file to write (default /run/linkage/definitions.json,
#                        the path rabbitmq.conf names)
# With no arguments it only renders (used by tests/ops).
set -eu

topology=${LINKAGE_TOPOLOGY:-/etc/rabbitmq/topology.json}
out=${LINKAGE_DEFINITIONS:-/run/linkage/definitions.json}
user=${RABBITMQ_USER:?RABBITMQ_USER must be set (see .env.example)}
password=${RABBITMQ_PASSWORD:?RABBITMQ_PASSWORD must be set (see .env.example)}

# Each service's user: its name, and the variable that holds its password.
services="neighborhood_committee:COMMITTEE_BROKER_PASSWORD community_police:POLICE_BROKER_PASSWORD
floating_population_office:FLOATING_BROKER_PASSWORD property_company:PROPERTY_BROKER_PASSWORD
developer:DEVELOPER_BROKER_PASSWORD"

# The values are written into JSON here and into the AMQP URIs by compose,
# neither of which escapes them: accept only URL- and JSON-safe characters.
check() {  # VARIABLE VALUE
  case $2 in
    '' | *[!A-Za-z0-9._~-]*)
      echo "render-definitions: $1 must be set and may contain only letters, digits" \
           "and . _ ~ - (generate one with: openssl rand -hex 24)" >&2
      exit 64 ;;
    CHANGE-ME)
      echo "render-definitions: $1 is still the .env.example placeholder" >&2
      exit 64 ;;
  esac
}
check RABBITMQ_USER "$user"
check RABBITMQ_PASSWORD "$password"
users=$(printf '{"name":"%s","password":"%s","tags":["administrator"]}' "$user" "$password")
for entry in $services; do
  name=${entry%%:*} variable=${entry#*:}
  eval "secret=\${$variable:-}"
  check "$variable" "$secret"
  if [ "$name" = "$user" ]; then
    echo "render-definitions: RABBITMQ_USER must not be a service's name ($name)" >&2
    exit 64
  fi
  users="$users,$(printf '{"name":"%s","password":"%s","tags":[]}' "$name" "$secret")"
done

# The topology is one JSON object starting with "{": splice our keys in front
# of its own, and the administrator's permissions in front of the services'.
# Add the vhost only if the topology does not declare vhosts.
vhosts='"vhosts":[{"name":"/"}],'
if grep -q '"vhosts"' "$topology"; then vhosts=''; fi
if ! grep -q '^  "permissions": \[$' "$topology"; then
  echo "render-definitions: $topology has no permissions; regenerate it with" \
       "linkage topology --definitions" >&2
  exit 65
fi
admin=$(printf '{"user":"%s","vhost":"/","configure":".*","write":".*","read":".*"}' "$user")

mkdir -p "$(dirname "$out")"
umask 077
tmp="$out.tmp"
{
  printf '{"users":[%s],%s\n' "$users" "$vhosts"
  sed -e '1s/^[[:space:]]*{//' -e "s|^  \"permissions\": \\[\$|  \"permissions\": [$admin,|" "$topology"
} > "$tmp"
mv "$tmp" "$out"
# The server runs as the rabbitmq user once the image's entrypoint drops root.
if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
  chown rabbitmq:rabbitmq "$out"
fi

if [ "$#" -gt 0 ]; then
  exec docker-entrypoint.sh "$@"
fi
