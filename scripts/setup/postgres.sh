#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for Pilot's store tests and benchmarks
# and prints its connection URL on stdout (nothing else goes to stdout).
#
#   scripts/setup/postgres.sh          start (or reuse) the cluster, print the URL
#   scripts/setup/postgres.sh ca-file  the same, but print the path of the CA
#                                      certificate that signed the server's
#   scripts/setup/postgres.sh stop     stop it
#
# The cluster lives in $PILOT_PG_DIR (default /var/tmp/pilot-postgres), owned
# by the postgres user when run as root, listens on 127.0.0.1 only with trust
# authentication for the superuser `pilot`, and on the first free port from
# $PILOT_PG_PORT (default 55432). It accepts TLS with a certificate for
# localhost and 127.0.0.1 signed by a private CA ($PILOT_PG_DIR/tls/ca.crt);
# the role `pilot_tls` (login, createdb) may connect over TLS only, so a test
# connecting as it knows the connection is encrypted. Idempotent: when the
# cluster already runs with TLS it only prints the URL. Installs Debian's
# postgresql package when no server binaries are found.
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

port="$(cat "$port_file")"

# TLS: a private CA and a server certificate signed by it (EC P-256).
tls="$dir/tls"
if [ ! -f "$data/server.crt" ] || [ ! -f "$tls/ca.crt" ]; then
  echo "postgres.sh: creating TLS certificates in $tls" >&2
  mkdir -p "$tls"
  chmod 755 "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 3650 -subj "/CN=Pilot test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -out "$tls/server.crt" -days 3650 -extfile "$tls/server.ext" 2>/dev/null
  chmod 644 "$tls/ca.crt"
  install -m 600 "$tls/server.key" "$data/server.key"
  install -m 644 "$tls/server.crt" "$data/server.crt"
  rm -f "$tls/server.key" "$tls/server.csr"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$data/server.key" "$data/server.crt"
  fi
fi

reload=false
if ! grep -q "^include_if_exists = 'pilot-tls.conf'" "$data/postgresql.conf"; then
  echo "include_if_exists = 'pilot-tls.conf'" >> "$data/postgresql.conf"
  reload=true
fi
if [ ! -f "$data/pilot-tls.conf" ]; then
  printf '%s\n' "ssl = on" "ssl_cert_file = 'server.crt'" "ssl_key_file = 'server.key'" \
    > "$data/pilot-tls.conf"
  reload=true
fi
if ! grep -q "pilot_tls" "$data/pg_hba.conf"; then
  { echo "# pilot_tls may connect over TLS only"
    echo "hostnossl all pilot_tls all reject"
    cat "$data/pg_hba.conf"
  } > "$data/pg_hba.conf.new"
  mv "$data/pg_hba.conf.new" "$data/pg_hba.conf"
  reload=true
fi
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$data/postgresql.conf" "$data/pilot-tls.conf" "$data/pg_hba.conf"
fi
if $reload; then
  as_owner "$bin/pg_ctl" -D "$data" reload >/dev/null
fi
as_owner "$bin/psql" -q -h "$dir" -p "$port" -U pilot -d postgres -v ON_ERROR_STOP=1 -c \
  "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pilot_tls') THEN
     CREATE ROLE pilot_tls LOGIN CREATEDB; END IF; END \$\$" >/dev/null 9>&-
# A reload is asynchronous: wait until the server offers TLS.
for _ in $(seq 50); do
  if as_owner "$bin/psql" "host=127.0.0.1 port=$port user=pilot dbname=postgres sslmode=require" \
    -tAc "SELECT 1" >/dev/null 2>&1 9>&-; then
    break
  fi
  sleep 0.1
done

if [ "${1:-start}" = "ca-file" ]; then
  echo "$tls/ca.crt"
else
  echo "postgres://pilot@127.0.0.1:$port/postgres"
fi
