#!/bin/sh
# Entrypoint wrapper of the compose `mongo` container.
#
# Writes the replica set's key file from MONGO_REPLICA_SET_KEY (.env) where
# mongod's --keyFile points, on a tmpfs, readable by mongod alone, then hands
# over to the image's own entrypoint with the original command. MongoDB
# refuses authentication on a replica set, even of one member, without a key
# file; the key must never be committed.
#
# Environment:
#   MONGO_REPLICA_SET_KEY  required: 6 to 1024 base64 characters
#   MONGO_KEYFILE          file to write (default /run/linkage/mongo-keyfile,
#                          the path the compose command names)
# With no arguments it only writes the file (used by tests/ops).
set -eu

key=${MONGO_REPLICA_SET_KEY:?MONGO_REPLICA_SET_KEY must be set (see .env.example)}
out=${MONGO_KEYFILE:-/run/linkage/mongo-keyfile}
case $key in
  CHANGE-ME)
    echo "mongo-keyfile: MONGO_REPLICA_SET_KEY is still the .env.example placeholder" >&2
    exit 64 ;;
  *[!A-Za-z0-9+/=]*)
    echo "mongo-keyfile: MONGO_REPLICA_SET_KEY may contain only base64 characters" \
         "(generate one with: openssl rand -hex 32)" >&2
    exit 64 ;;
esac
if [ "${#key}" -lt 6 ] || [ "${#key}" -gt 1024 ]; then
  echo "mongo-keyfile: MONGO_REPLICA_SET_KEY must be 6 to 1024 characters long" >&2
  exit 64
fi

mkdir -p "$(dirname "$out")"
umask 077
printf '%s\n' "$key" > "$out"
chmod 400 "$out"
# mongod runs as the mongodb user once the image's entrypoint drops root.
if [ "$(id -u)" = 0 ] && id mongodb >/dev/null 2>&1; then
  chown mongodb:mongodb "$out"
fi
unset MONGO_REPLICA_SET_KEY

if [ "$#" -gt 0 ]; then
  exec docker-entrypoint.sh "$@"
fi
