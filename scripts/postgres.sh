#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the test suite and print its SQLAlchemy URL.
#
#   export ILMS_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
#   .venv/bin/pytest tests/storage
#   bash scripts/postgres.sh stop          # stop it and remove its directory
#
# Debian/Ubuntu: installs the `postgresql` package if no initdb is found. The cluster runs as the
# `postgres` system user (initdb refuses root) on 127.0.0.1:$PGPORT (default 54329) in a
# temporary directory, with trust authentication for the `ilms` role: never use it for real data.
set -euo pipefail

PORT="${PGPORT:-54329}"
STATE="${TMPDIR:-/tmp}/ilms-postgres-$PORT"
URL="postgresql+psycopg://ilms@127.0.0.1:$PORT/ilms"

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] && command -v initdb >/dev/null; then
    found=$(dirname "$(command -v initdb)")
  fi
  echo "$found"
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

BIN=$(find_bin)
if [ "${1:-start}" = "stop" ]; then
  if [ -n "$BIN" ] && [ -d "$STATE/data" ]; then
    as_postgres "$BIN/pg_ctl" -D "$STATE/data" -m fast stop >&2 || true
  fi
  rm -rf "$STATE"
  exit 0
fi

if [ -z "$BIN" ]; then
  echo "installing PostgreSQL…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(find_bin)
fi

if [ -f "$STATE/data/postmaster.pid" ] && as_postgres "$BIN/pg_ctl" -D "$STATE/data" status >/dev/null 2>&1; then
  echo "$URL"  # already running
  exit 0
fi

rm -rf "$STATE"
mkdir -p "$STATE"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$STATE"
fi
as_postgres "$BIN/initdb" -D "$STATE/data" -U ilms --auth=trust --encoding=UTF8 --no-locale >&2
as_postgres "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w start \
  -o "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" >&2
as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U ilms ilms >&2
echo "$URL"
