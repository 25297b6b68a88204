#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 server: initdb into a temporary directory, start
# it on a free port (its unix socket in that directory too), create a database, export
# PORTICO_TEST_PG (a libpq URL for it) and run the command; the server is stopped and its
# directory removed when the command ends, whatever its outcome. Exit code: the command's.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
# Tests run it with fsync off (nothing to keep); PORTICO_PG_FSYNC=on (the benchmark) makes commits
# durable, and PORTICO_PG_SERVER_OPTS adds server settings (e.g. "-c shared_buffers=1GB").
# As root, the cluster runs as the `postgres` OS user (initdb refuses to run as root).
set -euo pipefail

PG_BIN="${PG_BIN:-}"
if [[ -z "$PG_BIN" ]]; then
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [[ -x "$d/initdb" ]]; then
      PG_BIN="$d"
      break
    fi
  done
fi
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
  echo "with-postgres: initdb not found (install postgresql-15: scripts/install-deps.sh --test)" >&2
  exit 2
fi

as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  as_pg=(runuser -u postgres --)
fi

tmp=$(mktemp -d /tmp/portico-pg.XXXXXX)
chmod 755 "$tmp"
if [[ $(id -u) -eq 0 ]]; then
  chown postgres:postgres "$tmp"
fi
data="$tmp/data"

cleanup() {
  local rc=$?
  if [[ -f "$data/postmaster.pid" ]]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT INT TERM

# A free TCP port: bind to port 0 and read what the kernel chose.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

"${as_pg[@]}" "$PG_BIN/initdb" -D "$data" -U portico --auth=trust --locale=C.UTF-8 \
  --encoding=UTF8 >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 60 \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=${PORTICO_PG_FSYNC:-off} -c max_connections=200 ${PORTICO_PG_SERVER_OPTS:-}" \
  start >/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
"${as_pg[@]}" "$PG_BIN/createdb" -h "$tmp" -p "$port" -U portico portico_test

export PORTICO_TEST_PG="postgresql://portico@127.0.0.1:$port/portico_test"
export PORTICO_TEST_PG_BIN="$PG_BIN"
export PORTICO_TEST_PG_DATA="$data"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $port"
set +e
"$@"
rc=$?
set -e
exit $rc
