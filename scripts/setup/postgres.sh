#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for Pilot's store tests and benchmarks
# and prints its connection URL on stdout (nothing else goes to stdout).
#
#   scripts/setup/postgres.sh         start (or reuse) the cluster, print the URL
#   scripts/setup/postgres.sh stop    stop it
#
# The cluster lives in $PILOT_PG_DIR (default /var/tmp/pilot-postgres), owned
# by the postgres user when run as root, listens on 127.0.0.1 only with trust
# authentication for the superuser `pilot`, and on the first free port from
# $PILOT_PG_PORT (default 55432). Idempotent: when the cluster already runs it
# only prints the URL. Installs Debian's postgresql package when no server
# binaries are found.
set -euo pipefail

dir="${PILOT_PG_DIR:-/var/tmp/pilot-postgres}"
data="$dir/data"
port_file="$dir/port"

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin="$(find_bin)"
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "postgres.sh: PostgreSQL is not installed and installing it needs root" >&2
    exit 1
  fi
  echo "postgres.sh: installing postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin="$(find_bin)"
fi

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

if [ "${1:-start}" = "stop" ]; then
  if running; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  exit 0
fi

# Test processes may run this concurrently: one at a time past this point.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

if ! running; then
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "postgres.sh: creating cluster in $data" >&2
    as_owner "$bin/initdb" -D "$data" -U pilot --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null 9>&-
  fi
  port="${PILOT_PG_PORT:-55432}"
  while port_in_use "$port"; do
    port=$((port + 1))
  done
  echo "$port" > "$port_file"
  echo "postgres.sh: starting PostgreSQL on 127.0.0.1:$port" >&2
  # 9>&-: the server must not inherit (and so hold forever) the lock.
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null 9>&-
fi

echo "postgres://pilot@127.0.0.1:$(cat "$port_file")/postgres"
