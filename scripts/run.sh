#!/usr/bin/env bash
# Start the five services in the foreground, each under `nameko run` on its
# own port; print their URLs once every /health answers; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .stack/logs

services=(neighborhood_committee community_police floating_population_office property_company developer)
declare -A ports=([neighborhood_committee]=${COMMITTEE_PORT:-8001} [community_police]=${POLICE_PORT:-8002}
                  [floating_population_office]=${FLOATING_PORT:-8003} [property_company]=${PROPERTY_PORT:-8004}
                  [developer]=${DEVELOPER_PORT:-8005})
pids=()

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping the five services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "run: stopped"
  exit "${1:-0}"
}
trap 'stop_all 0' INT TERM   # Ctrl-C is the normal way to stop: a clean exit
trap 'stop_all $?' EXIT

for service in "${services[@]}"; do
  port=${ports[$service]}
  HTTP_PORT=$port linkage run "$service" > ".stack/logs/$service.log" 2>&1 &
  pids+=($!)
  echo "run: started $service (pid $!, log .stack/logs/$service.log)"
done

deadline=$((SECONDS + 60))
for service in "${services[@]}"; do
  url="http://127.0.0.1:${ports[$service]}/health"
  until curl -sf "$url" > /dev/null 2>&1; do
    if (( SECONDS > deadline )); then
      echo "run: $service did not become healthy in 60 s; last log lines:" >&2
      tail -n 20 ".stack/logs/$service.log" >&2
      exit 1
    fi
    sleep 0.5
  done
done

echo
echo "All five services are healthy:"
for service in "${services[@]}"; do
  printf '  %-28s http://127.0.0.1:%s   (/console/ /api/v1/... /openapi.json /health /metrics)\n' "$service" "${ports[$service]}"
done
echo "RabbitMQ management: http://127.0.0.1:15672 (guest/guest)"
echo "A console user: .venv/bin/linkage users add neighborhood_committee <name> --role supervisor"
echo "A token for an agency's API: .venv/bin/linkage token neighborhood_committee"
echo "Logs: .stack/logs/<service>.log   Ctrl-C stops everything."
wait -n "${pids[@]}" || true
echo "run: a service exited; see its log; stopping the others" >&2
exit 1
