#!/usr/bin/env bash
# Local development stack for the five-party linkage platform:
#   - RabbitMQ (AMQP broker + management API + Prometheus metrics)
#   - a MongoDB wire-protocol database: mongod if installed, else FerretDB on a private
#     PostgreSQL cluster in $STACK_DIR/postgres, 127.0.0.1:$PG_PORT (default 55432),
#     installing Debian's postgresql if needed
#
# Usage: scripts/stack.sh up | down [--purge] | status | env
#
# FERRETDB_HANDLER=postgresql (the default) or sqlite: FerretDB's backend. Setting it
# explicitly chooses FerretDB even if mongod is installed. PostgreSQL is the default because
# FerretDB hands equality filters to it, where the SQLite backend decodes whole collections
# in Go: ~50x faster at 30k documents (BENCHMARKS.md, "Data growth").
#
# Anything already listening on the configured ports is reused and never touched.
# Servers started here run as plain background processes (no systemd); their
# state, logs and pid files live under $STACK_DIR (default <repo>/.stack).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$REPO/.stack}
STACK_DIR=$(realpath -m "$STACK_DIR")   # absolute: rabbit needs it
AMQP_URI=${AMQP_URI:-pyamqp://guest:guest@127.0.0.1:5672/}
MONGO_URI=${MONGO_URI:-mongodb://127.0.0.1:27017/}
VENV_PYTHON=${VENV_PYTHON:-$REPO/.venv/bin/python}
# The FerretDB binary is cached outside the repo so fresh clones don't rebuild it.
CACHE=${LINKAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/five-party-linkage}
FERRETDB_VERSION=v1.24.2
FERRETDB_BIN=$CACHE/ferretdb-$FERRETDB_VERSION
RABBIT_BIN=/usr/lib/rabbitmq/bin   # not /usr/sbin: those wrappers su to the rabbitmq user
RABBIT_NODE=${RABBIT_NODE:-linkage@localhost}
RS=$STACK_DIR/rabbitmq
FERRETDB_CHOSEN=${FERRETDB_HANDLER:+yes}
FERRETDB_HANDLER=${FERRETDB_HANDLER:-postgresql}   # (FerretDB reads the same variable; our flag wins)
PS=$STACK_DIR/postgres
PG_PORT=${PG_PORT:-55432}   # not 5432: a system PostgreSQL may be there
PG_USER=postgres            # the cluster's superuser (initdb -U), whoever owns its files

log() { echo "stack: $*"; }
die() { echo "stack: ERROR: $*" >&2; exit 1; }

# "host port" of the first host in a URI (user:pass@ and path stripped).
uri_hostport() {
  local rest=${1#*://}; rest=${rest%%[/?]*}; rest=${rest##*@}; rest=${rest%%,*}
  if [[ $rest == *:* ]]; then echo "${rest%:*} ${rest##*:}"; else echo "$rest $2"; fi
}
uri_userpass() { local r=${1#*://}; r=${r%%/*}; [[ $r == *@* ]] && echo "${r%@*}" || echo guest:guest; }
read -r AMQP_HOST AMQP_PORT <<<"$(uri_hostport "$AMQP_URI" 5672)"
read -r MONGO_HOST MONGO_PORT <<<"$(uri_hostport "$MONGO_URI" 27017)"
RABBIT_API_URI=${RABBIT_API_URI:-http://$(uri_userpass "$AMQP_URI")@$AMQP_HOST:15672}
read -r _ MGMT_PORT <<<"$(uri_hostport "$RABBIT_API_URI" 15672)"
MGMT_URL="http://$AMQP_HOST:$MGMT_PORT/"

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
is_local() { [[ $1 == 127.0.0.1 || $1 == localhost ]]; }
listen_ip() { echo "${1/#localhost/127.0.0.1}"; }
# pid_alive PIDFILE: the recorded process runs and is ours: its command line mentions
# $STACK_DIR/, so a pid recycled after a reboot is never taken for (and killed as) ours.
# The pid is the file's first line (PostgreSQL's postmaster.pid has more lines).
pid_alive() {
  local p; p=$(head -n1 "$1" 2>/dev/null) && [[ -n $p ]] && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$STACK_DIR/"
}
# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() { local end=$((SECONDS + $1)); shift; until "$@"; do ((SECONDS < end)) || return 1; sleep 0.5; done; }
port_free() { ! tcp_open "$1" "$2"; }
as_root() {
  if ((EUID == 0)); then "$@"; elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}
mgmt_ok() {  # curl isn't on every fresh machine; python's urllib is the fallback
  if command -v curl >/dev/null; then curl -sf -o /dev/null -m 3 "${RABBIT_API_URI%/}/api/overview"
  else python3 - "${RABBIT_API_URI%/}" 2>/dev/null <<'EOF'
import sys, base64, urllib.parse as p, urllib.request as r
u = p.urlsplit(sys.argv[1]); auth = base64.b64encode(f"{u.username}:{u.password}".encode()).decode()
r.urlopen(r.Request(f"http://{u.hostname}:{u.port}/api/overview", headers={"Authorization": "Basic " + auth}), timeout=3)
EOF
  fi
}

# ---------------------------------------------------------------- RabbitMQ
rabbit_env() {  # our node's environment; HOME matters: it holds the node's erlang cookie
  export HOME=$RS RABBITMQ_NODENAME=$RABBIT_NODE RABBITMQ_MNESIA_BASE=$RS/mnesia \
    RABBITMQ_LOG_BASE=$RS/log RABBITMQ_ENABLED_PLUGINS_FILE=$RS/enabled_plugins \
    RABBITMQ_PID_FILE=$RS/pid RABBITMQ_CONFIG_FILE=$RS/rabbitmq \
    ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
    ERL_CRASH_DUMP=$RS/erl_crash.dump RABBITMQ_DIST_PORT=${RABBITMQ_DIST_PORT:-$((AMQP_PORT + 20000))}
}   # (epmd and Erlang distribution stay off the network; a crash dump stays out of the repo;
    # the distribution port follows the AMQP port, so a second stack on other ports can boot)
node_ctl() { ( rabbit_env; "$RABBIT_BIN/rabbitmqctl" -n "$RABBIT_NODE" -q "$@" ); }

install_rabbitmq() {
  [[ -x $RABBIT_BIN/rabbitmq-server ]] && return
  log "RabbitMQ not installed; installing rabbitmq-server with apt (log: $STACK_DIR/apt.log)"
  { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server; } \
    >"$STACK_DIR/apt.log" 2>&1 || die "apt-get install rabbitmq-server failed, see $STACK_DIR/apt.log"
}

launch_rabbitmq() {
  # guest may log in over the network; listeners are on loopback only, so that is harmless.
  cat >"$RS/rabbitmq.conf" <<EOF
loopback_users = none
listeners.tcp.1 = $(listen_ip "$AMQP_HOST"):$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $((MGMT_PORT + 20))
EOF
  # Same content `rabbitmq-plugins --offline enable` writes, without its ~2 s of Erlang start-up.
  echo '[rabbitmq_management,rabbitmq_prometheus].' >"$RS/enabled_plugins"
  log "starting RabbitMQ node $RABBIT_NODE on $AMQP_HOST:$AMQP_PORT (log: $RS/out.log)"
  rm -f "$RS/pid"
  ( rabbit_env; nohup "$RABBIT_BIN/rabbitmq-server" >"$RS/out.log" 2>&1 </dev/null 9>&- & )
}

start_rabbitmq() {
  mkdir -p "$RS"
  if pid_alive "$RS/pid"; then   # e.g. a parallel `up` is still booting it
    log "our RabbitMQ node (pid $(cat "$RS/pid")) is still starting, waiting for it"
  else launch_rabbitmq; fi
  # `wait` follows the pid file and fails early if the node dies during boot.
  if ! wait_for 10 test -s "$RS/pid" || ! node_ctl wait --timeout 90 "$RS/pid" >>"$RS/out.log" 2>&1; then
    tail -n 15 "$RS/out.log" >&2 || true
    if pid_alive "$RS/pid"; then kill "$(cat "$RS/pid")"; fi   # don't leave a half-booted node
    die "RabbitMQ did not start, see $RS/out.log and $RS/log/"
  fi
  wait_for 60 mgmt_ok || die "RabbitMQ management API not answering on $MGMT_URL, see $RS/log/"
}

stop_rabbitmq() {
  pid_alive "$RS/pid" || { rm -f "$RS/pid"; return 1; }
  log "stopping RabbitMQ node $RABBIT_NODE (pid $(cat "$RS/pid"))"
  node_ctl stop "$RS/pid" >>"$RS/out.log" 2>&1 || kill "$(cat "$RS/pid")" || true
  wait_for 30 port_free "$AMQP_HOST" "$AMQP_PORT" || die "port $AMQP_PORT still busy after stopping RabbitMQ"
  rm -f "$RS/pid"
}

# ---------------------------------------------------------------- PostgreSQL (FERRETDB_HANDLER=postgresql)
PG_PIDFILE=$PS/data/postmaster.pid   # written and removed by the postmaster itself

# The bin directory with initdb and pg_ctl: the cluster's own major version if it exists,
# else the newest Debian one, else whatever PATH has.
pg_bindir() {
  local d
  for d in "/usr/lib/postgresql/$(cat "$PS/data/PG_VERSION" 2>/dev/null)/bin" \
           $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
  done
  d=$(command -v pg_ctl) && [[ -x ${d%/*}/initdb ]] && echo "${d%/*}"
}

install_postgresql() {
  pg_bindir >/dev/null && return
  # The package may also create (and start) Debian's own cluster on 5432; it is not used here.
  log "PostgreSQL not installed; installing postgresql with apt (log: $STACK_DIR/apt.log)"
  { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } \
    >>"$STACK_DIR/apt.log" 2>&1 || die "apt-get install postgresql failed, see $STACK_DIR/apt.log"
  pg_bindir >/dev/null || die "postgresql installed, but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
}

# as_pg CMD...: PostgreSQL refuses to run as root, so as root the cluster belongs to, and its
# tools run as, the 'postgres' user Debian's package creates. Run from $PS: a cwd the user
# cannot read (/root) makes the tools complain.
as_pg() {
  if ((EUID == 0)); then (cd "$PS" && runuser -u postgres -- "$@")
  else (cd "$PS" && "$@"); fi
}

# $PS: owned by the user the server runs as (it writes its log and unix socket there).
prepare_pg_dir() {
  # A unix socket's path is limited to 107 bytes; PostgreSQL would not start.
  ((${#PS} + 18 <= 107)) || die "$PS is too long for PostgreSQL's unix socket; use a shorter STACK_DIR"
  mkdir -p "$PS"
  ((EUID == 0)) || return 0
  id -u postgres >/dev/null 2>&1 || die "running as root, and there is no 'postgres' user to run PostgreSQL as"
  chown postgres: "$PS"
  runuser -u postgres -- test -w "$PS" ||
    die "user postgres cannot reach $PS (a parent directory closed to others?); set STACK_DIR elsewhere, e.g. /tmp/stack"
}

init_postgres() {  # BIN
  [[ -s $PS/data/PG_VERSION ]] && return
  log "creating a private PostgreSQL cluster in $PS/data (log: $PS/initdb.log)"
  # Built as data.new and renamed: an interrupted initdb never passes for a cluster.
  # No locale: the machine's may not exist, and C is what a benchmark wants anyway.
  rm -rf "$PS/data.new"
  if ! as_pg "$1/initdb" -D "$PS/data.new" -U "$PG_USER" -A trust -E UTF8 --no-locale >"$PS/initdb.log" 2>&1; then
    tail -n 15 "$PS/initdb.log" >&2; die "initdb failed, see $PS/initdb.log"
  fi
  # Trust, but only over the socket and loopback, where only this machine's users reach it.
  # (> and >> into the existing files keep them owned by the cluster's user.)
  cat >"$PS/data.new/pg_hba.conf" <<EOF
# written by scripts/stack.sh
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
  # The port is given at each start (-p) so that it follows PG_PORT.
  cat >>"$PS/data.new/postgresql.conf" <<EOF

# scripts/stack.sh: a private cluster, reachable from this machine only
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PS'
EOF
  mv "$PS/data.new" "$PS/data"
}

start_postgres() {
  local bin
  install_postgresql
  prepare_pg_dir
  bin=$(pg_bindir)
  if pid_alive "$PG_PIDFILE"; then   # e.g. FerretDB was stopped by hand; it may run on another port
    PG_PORT=$(sed -n 4p "$PG_PIDFILE")
    log "our PostgreSQL (pid $(head -n1 "$PG_PIDFILE")) already runs on 127.0.0.1:$PG_PORT, using it"
  else
    tcp_open 127.0.0.1 "$PG_PORT" && die "port $PG_PORT is taken by a server stack.sh did not start; set PG_PORT"
    init_postgres "$bin"
    log "starting PostgreSQL $(cat "$PS/data/PG_VERSION") on 127.0.0.1:$PG_PORT (log: $PS/out.log)"
    # pg_ctl -w returns once the server accepts connections. (Its own chatter is dropped; the
    # server's goes to out.log, which pg_ctl, not this shell, must create: it is the user's.)
    if ! as_pg "$bin/pg_ctl" start -D "$PS/data" -l "$PS/out.log" -o "-p $PG_PORT" -w -t 60 >/dev/null 2>&1 9>&-; then
      tail -n 15 "$PS/out.log" >&2 || true; die "PostgreSQL did not start, see $PS/out.log"
    fi
  fi
  # FerretDB needs its database to exist.
  local q=("$bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tA)
  if [[ $("${q[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'") != 1 ]]; then
    "${q[@]}" -c "CREATE DATABASE ferretdb" >/dev/null || die "could not create database ferretdb on 127.0.0.1:$PG_PORT"
  fi
  install_equality_indexes "$bin"
}

# Equality lookups answered by an index, not a scan (see the file). At every
# start, and when reusing our running PostgreSQL: it is idempotent, and it
# indexes the tables made before it too.
install_equality_indexes() {  # BIN
  "$1/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d ferretdb -v ON_ERROR_STOP=1 \
    -f "$REPO/ops/postgres/equality-indexes.sql" >/dev/null ||
    die "could not install ops/postgres/equality-indexes.sql in database ferretdb"
}

pg_gone() { ! pid_alive "$PG_PIDFILE"; }
stop_postgres() {
  pid_alive "$PG_PIDFILE" || return 1
  local pid bin; pid=$(head -n1 "$PG_PIDFILE")
  log "stopping PostgreSQL (pid $pid)"
  # fast: roll back open transactions and stop now. (SIGINT is the same, if pg_ctl is gone.)
  if bin=$(pg_bindir) && as_pg "$bin/pg_ctl" stop -D "$PS/data" -m fast -w -t 60 >/dev/null; then return 0; fi
  kill -INT "$pid" 2>/dev/null || true
  wait_for 30 pg_gone || die "PostgreSQL (pid $pid) did not stop, see $PS/out.log"
}

# ---------------------------------------------------------------- database
mongo_ping() {  # a real ping when some python has pymongo (exit 3: it doesn't), else TCP only
  local py rc
  tcp_open "$MONGO_HOST" "$MONGO_PORT" || return 1
  for py in "$VENV_PYTHON" python3; do
    command -v "$py" >/dev/null || continue
    rc=0; "$py" - "$MONGO_URI" <<'EOF' >/dev/null 2>&1 || rc=$?
import sys
try: import pymongo
except ImportError: sys.exit(3)
pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=3000).admin.command("ping")
EOF
    ((rc == 3)) || return $rc
  done
}

build_ferretdb() {
  [[ -x $FERRETDB_BIN ]] && return
  command -v go >/dev/null || die "FerretDB $FERRETDB_VERSION must be built but 'go' is not on PATH (or install mongod)"
  local b=$CACHE/build blog=$CACHE/ferretdb-build.log
  log "building FerretDB $FERRETDB_VERSION into $FERRETDB_BIN (first time only, ~1 min; log: $blog)"
  rm -rf "$b" && mkdir -p "$b"
  # `go install ...@v1.24.x` can't be used: the proxy refuses the version listing, and the
  # published module lacks build/version/version.txt (the binary panics without it).
  # (a && chain: `set -e` is ignored inside an `if` condition)
  if ! ( set -x; cd "$b" && export GOWORK=off GOFLAGS=-buildvcs=false &&
         printf 'module ferretdb-build\n\ngo 1.24\n' >go.mod &&
         go get "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" &&
         go get "github.com/FerretDB/FerretDB/cmd/ferretdb@$FERRETDB_VERSION" &&  # missing go.sum entries
         m=$(go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB) &&
         cp -r "$m" src && chmod -R u+w src && echo "$FERRETDB_VERSION" >src/build/version/version.txt &&
         go mod edit -replace github.com/FerretDB/FerretDB=./src &&
         go build -o "$FERRETDB_BIN.tmp" github.com/FerretDB/FerretDB/cmd/ferretdb
       ) >"$blog" 2>&1; then
    tail -n 15 "$blog" >&2; die "FerretDB build failed, see $blog"
  fi
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN" && rm -rf "$b"
}

start_database() {
  local kind dir backend what
  if [[ -z $FERRETDB_CHOSEN ]] && command -v mongod >/dev/null; then
    kind=mongod; dir=$STACK_DIR/mongod; mkdir -p "$dir/data"
    log "starting mongod on $MONGO_HOST:$MONGO_PORT (log: $dir/out.log)"
    nohup mongod --dbpath "$dir/data" --bind_ip "$(listen_ip "$MONGO_HOST")" --port "$MONGO_PORT" >"$dir/out.log" 2>&1 </dev/null 9>&- &
  else
    build_ferretdb
    kind=ferretdb; dir=$STACK_DIR/ferretdb; mkdir -p "$dir/data" "$dir/state"
    backend=(--handler=sqlite --sqlite-url="file:$dir/data/"); what=SQLite
    if [[ $FERRETDB_HANDLER == postgresql ]]; then
      start_postgres
      backend=(--handler=postgresql --postgresql-url="postgres://$PG_USER@127.0.0.1:$PG_PORT/ferretdb"); what="PostgreSQL 127.0.0.1:$PG_PORT"
    fi
    log "starting FerretDB $FERRETDB_VERSION ($what) on $MONGO_HOST:$MONGO_PORT (log: $dir/out.log)"
    nohup "$FERRETDB_BIN" "${backend[@]}" \
      --listen-addr="$(listen_ip "$MONGO_HOST"):$MONGO_PORT" --telemetry=disable --state-dir="$dir/state" \
      --debug-addr=- --log-level=warn >"$dir/out.log" 2>&1 </dev/null 9>&- &
  fi
  echo $! >"$dir/pid"
  if ! wait_for 30 db_up_or_dead "$dir/pid" || ! pid_alive "$dir/pid"; then
    tail -n 15 "$dir/out.log" >&2 || true; die "$kind did not start, see $dir/out.log"
  fi
}
# Stop waiting early if it crashed. (Plain kill -0: right after the fork the child's command
# line is still this script's, so pid_alive would say no.)
db_up_or_dead() { ! kill -0 "$(cat "$1")" 2>/dev/null || mongo_ping; }

stop_database() {
  local dir stopped=1
  for dir in "$STACK_DIR/ferretdb" "$STACK_DIR/mongod"; do
    pid_alive "$dir/pid" || { rm -f "$dir/pid"; continue; }
    log "stopping ${dir##*/} (pid $(cat "$dir/pid"))"
    kill "$(cat "$dir/pid")"
    wait_for 20 port_free "$MONGO_HOST" "$MONGO_PORT" || kill -9 "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"; stopped=0
  done
  stop_postgres && stopped=0   # after FerretDB, its only client
  return $stopped
}

# What our FerretDB runs on, read from its command line (FERRETDB_HANDLER may have changed since).
ferretdb_backend() {
  pid_alive "$STACK_DIR/ferretdb/pid" || return 1
  tr '\0' '\n' <"/proc/$(head -n1 "$STACK_DIR/ferretdb/pid")/cmdline" |
    awk '/^--handler=/ { h = substr($0, 11) } /^--[a-z]+-url=/ { u = substr($0, index($0, "=") + 1) }
         END { print h " (" u ")" }'
}

# ---------------------------------------------------------------- commands
owner() {  # who runs the service on this port: us or someone else
  local f; for f in "$@"; do pid_alive "$f" && { echo "started by stack.sh (pid $(head -n1 "$f"))"; return; }; done
  echo "already running, not managed by stack.sh"
}

summary() {
  local d b mgmt=unreachable; mgmt_ok && mgmt=ok
  log "broker:   $AMQP_URI  -- $(owner "$RS/pid")"
  log "          management UI $MGMT_URL (API $mgmt), metrics http://$AMQP_HOST:$((MGMT_PORT + 20))/metrics"
  log "database: $MONGO_URI  -- $(owner "$STACK_DIR/ferretdb/pid" "$STACK_DIR/mongod/pid")"
  if b=$(ferretdb_backend); then log "          FerretDB $FERRETDB_VERSION on $b"; fi
  if pid_alive "$RS/pid"; then log "logs:     $RS/out.log, $RS/log/$RABBIT_NODE.log"; fi
  for d in ferretdb mongod; do if pid_alive "$STACK_DIR/$d/pid"; then log "logs:     $STACK_DIR/$d/out.log"; fi; done
  if pid_alive "$PG_PIDFILE"; then log "logs:     $PS/out.log (PostgreSQL)"; fi
  log "shell:    eval \"\$(scripts/stack.sh env)\""
}

# One up/down at a time per STACK_DIR (two parallel `up`s would both start servers).
# Servers are launched with 9>&- so they do not inherit, and forever hold, the lock.
lock() {
  mkdir -p "$STACK_DIR" && exec 9>"$STACK_DIR/.lock" && flock 9
}

cmd_up() {
  [[ $FERRETDB_HANDLER == sqlite || $FERRETDB_HANDLER == postgresql ]] ||
    die "FERRETDB_HANDLER must be postgresql (the default) or sqlite, not '$FERRETDB_HANDLER'"
  lock
  if tcp_open "$AMQP_HOST" "$AMQP_PORT"; then
    log "RabbitMQ already listening on $AMQP_HOST:$AMQP_PORT, using it"
  else
    is_local "$AMQP_HOST" || die "cannot reach $AMQP_HOST:$AMQP_PORT and it is not local, so not starting a broker"
    install_rabbitmq
    # The Debian package's postinst may have started its own broker: use it then.
    if tcp_open "$AMQP_HOST" "$AMQP_PORT"; then log "a RabbitMQ appeared on $AMQP_PORT after install, using it"
    else start_rabbitmq; fi
  fi
  mgmt_ok || log "WARNING: management API $RABBIT_API_URI not answering (tests need it); enable with: rabbitmq-plugins enable rabbitmq_management"

  if mongo_ping; then
    log "MongoDB-compatible server already answering on $MONGO_HOST:$MONGO_PORT, using it"
    # Reusing a server means not choosing its backend: say so rather than benchmark the wrong one.
    local backend
    if backend=$(ferretdb_backend) && [[ $backend != "$FERRETDB_HANDLER "* ]]; then
      log "WARNING: our FerretDB runs on $backend, not on $FERRETDB_HANDLER; to change it," \
          "'down' and 'up' again (a backend keeps its own data), or use a private stack (other STACK_DIR, MONGO_URI)"
    fi
    if [[ $backend == postgresql* ]] && pid_alive "$PG_PIDFILE"; then
      PG_PORT=$(sed -n 4p "$PG_PIDFILE")
      install_equality_indexes "$(pg_bindir)"
    fi
  elif tcp_open "$MONGO_HOST" "$MONGO_PORT"; then
    die "something listens on $MONGO_HOST:$MONGO_PORT but does not answer a MongoDB ping"
  else
    is_local "$MONGO_HOST" || die "cannot reach $MONGO_HOST:$MONGO_PORT and it is not local, so not starting a database"
    start_database
  fi
  summary
}

cmd_down() {
  local any=0
  [[ -d $STACK_DIR ]] && lock
  stop_rabbitmq && any=1
  stop_database && any=1
  ((any)) || log "nothing started by stack.sh is running (servers not started by it are left alone)"
  if [[ ${1:-} == --purge ]]; then
    log "deleting stack data in $STACK_DIR"
    rm -rf "$RS" "$STACK_DIR/ferretdb" "$STACK_DIR/mongod" "$PS" "$STACK_DIR/apt.log" "$STACK_DIR/.lock"
    rmdir "$STACK_DIR" 2>/dev/null || true
  elif ((any)); then log "data kept in $STACK_DIR (use 'down --purge' to delete it)"; fi
}

cmd_status() {
  local rc=0 b=
  if tcp_open "$AMQP_HOST" "$AMQP_PORT"; then log "broker   UP   $AMQP_HOST:$AMQP_PORT -- $(owner "$RS/pid")"
  else log "broker   DOWN $AMQP_HOST:$AMQP_PORT"; rc=1; fi
  if mgmt_ok; then log "mgmt API UP   $MGMT_URL"; else log "mgmt API DOWN $MGMT_URL"; rc=1; fi
  if mongo_ping; then log "database UP   $MONGO_HOST:$MONGO_PORT -- $(owner "$STACK_DIR/ferretdb/pid" "$STACK_DIR/mongod/pid")"
  else log "database DOWN $MONGO_HOST:$MONGO_PORT"; rc=1; fi
  if b=$(ferretdb_backend); then log "              FerretDB $FERRETDB_VERSION on $b"; fi
  if pid_alive "$PG_PIDFILE"; then
    log "postgres UP   127.0.0.1:$(sed -n 4p "$PG_PIDFILE") -- $(owner "$PG_PIDFILE"), log $PS/out.log"
  elif [[ $b == postgresql* ]]; then log "postgres DOWN (FerretDB's backend), log $PS/out.log"; rc=1; fi
  return $rc
}

cmd_env() { printf "export %s='%s'\n" AMQP_URI "$AMQP_URI" MONGO_URI "$MONGO_URI" RABBIT_API_URI "$RABBIT_API_URI"; }

case ${1:-} in
  up | status | env) "cmd_$1" ;;
  down) cmd_down "${2:-}" ;;
  *) echo "usage: $0 up | down [--purge] | status | env" >&2; exit 2 ;;
esac
