#!/usr/bin/env bash
# Install the tools the operations tests (tests/ops) use, from Debian's
# packages, if they are missing. Idempotent: does nothing when all are there.
#
#   docker-compose                 `docker-compose config` validates docker-compose.yml
#                                  (Compose v1 is enough for that; no Docker engine needed)
#   prometheus                     promtool (config, rules, rule unit tests) and the
#                                  prometheus server for the live scrape test
#   prometheus-blackbox-exporter   checks ops/blackbox/blackbox.yml
set -euo pipefail

declare -A tool_package=(
  [docker-compose]=docker-compose
  [promtool]=prometheus
  [prometheus]=prometheus
  [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
)

missing=()
for tool in "${!tool_package[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tool_package[$tool]}")
done
if ((${#missing[@]} == 0)); then
  echo "install-ops-tools: docker-compose, promtool, prometheus, blackbox exporter already installed"
  exit 0
fi
# unique package names
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)

as_root() {
  if ((EUID == 0)); then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "install-ops-tools: need root (or sudo) to install: ${packages[*]}" >&2; exit 1; fi
}

log=${TMPDIR:-/tmp}/install-ops-tools.log
echo "install-ops-tools: installing ${packages[*]} with apt-get (log: $log)"
# --no-install-recommends: docker-compose would otherwise pull in the whole
# Docker engine, and prometheus its node exporter; neither is needed here.
# (On a machine with systemd the prometheus package also starts a server on
# :9090; the tests do not use it, they start their own on a free port.)
{
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
} >"$log" 2>&1 || { tail -n 20 "$log" >&2; echo "install-ops-tools: apt-get failed, see $log" >&2; exit 1; }

for tool in "${!tool_package[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-ops-tools: $tool still missing" >&2; exit 1; }
done
echo "install-ops-tools: done"
