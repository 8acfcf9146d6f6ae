#!/usr/bin/env bash
# A local PostgreSQL for the Prefect and MLflow servers, listening on 127.0.0.1 only. Idempotent:
# installs Debian's postgresql when it is missing, creates the data folder, the `prefect` role and
# database (with pg_trgm) and the `mlflow` role and database on first use, starts it when it is
# not running, and prints the Prefect server's connection URL as the last line of stdout
# (progress goes to stderr); `mlflow-url` prints MLflow's backend-store URI.
#
#   deployments/postgres.sh [start|stop|status|url|mlflow-url] [--dir DIR] [--port PORT]
#   export PREFECT_SERVER_DATABASE_CONNECTION_URL=$(deployments/postgres.sh start)
#   mlflow server --backend-store-uri "$(deployments/postgres.sh mlflow-url)" ...
#
# DIR (default var/postgres, env DIGITREC_PG_DIR) holds data/, the socket, postgres.log and a
# generated password; PORT defaults to 5433 (env DIGITREC_PG_PORT). As root, PostgreSQL runs as
# the `postgres` system user, which then owns DIR; otherwise as the calling user.
set -euo pipefail

ACTION=start
DIR=${DIGITREC_PG_DIR:-var/postgres}
PORT=${DIGITREC_PG_PORT:-5433}
MIN_VERSION=14 # Prefect 3 needs PostgreSQL 14.9+ (Debian 12 ships 15)

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
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
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $found || ! -x $found/initdb ]]; then
    [[ $(id -u) == 0 ]] || die "PostgreSQL is not installed; as root: apt-get install -y postgresql"
    say "installing Debian's postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local major
  major=$("$found/postgres" --version | sed -E 's/.* ([0-9]+)\..*/\1/')
  ((major >= MIN_VERSION)) || die "PostgreSQL $major is too old for Prefect (needs $MIN_VERSION.9+)"
  echo "$found"
}

running() { [[ -f $DATA/postmaster.pid ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

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
  if [[ $(id -u) == 0 ]]; then chown postgres: "$DIR"; fi
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
