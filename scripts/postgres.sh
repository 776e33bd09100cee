#!/usr/bin/env bash
# Print a DATABASE_URL for a Postgres server that answers, bringing one up if needed.
#
#   eval "$(scripts/postgres.sh)"     # exports DATABASE_URL
#
# Order of preference (first that works wins):
#   1. $DATABASE_URL, if set and it answers;
#   2. a server already answering on localhost:5432 as postgres/postgres;
#   3. a private cluster under target/pg (started if needed; run as the `postgres`
#      user when we are root, because Postgres refuses to run as root);
#   4. when root and no Postgres binaries exist: apt-get install postgresql, then 3;
#   5. otherwise stop with a message that says what to do.
# Diagnostics go to stderr; only the export line goes to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgdir="${SLUICE_PG_DIR:-$here/target/pg}"
port="${SLUICE_PG_PORT:-55432}"
say() { echo "postgres.sh: $*" >&2; }

answers() { # url
  command -v psql >/dev/null 2>&1 || return 1
  PGCONNECT_TIMEOUT=3 psql "$1" -qAtc 'select 1' >/dev/null 2>&1
}

if [ -n "${DATABASE_URL:-}" ]; then
  if answers "$DATABASE_URL"; then
    echo "export DATABASE_URL='$DATABASE_URL'"
    exit 0
  fi
  say "DATABASE_URL is set but does not answer; bringing up a local server instead"
fi

for url in "postgres://postgres:postgres@127.0.0.1:5432/postgres" "postgres://postgres@127.0.0.1:5432/postgres"; do
  if answers "$url"; then
    say "using the server already answering on 127.0.0.1:5432"
    echo "export DATABASE_URL='$url'"
    exit 0
  fi
done

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return 0
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  return 1
}

bindir="$(find_bindir || true)"
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "no Postgres found; installing the postgresql package with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client) >&2
    bindir="$(find_bindir || true)"
  fi
fi
if [ -z "$bindir" ]; then
  say "no Postgres server binaries found and not root: install PostgreSQL (e.g. 'sudo apt-get install postgresql') or set DATABASE_URL to a server you can reach"
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # Postgres refuses to run as root.
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

mkdir -p "$pgdir"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$pgdir" postgres
  chown postgres "$pgdir"
  chmod 0700 "$pgdir"
  # The postgres user must be able to traverse to the data directory.
  d="$pgdir"; while [ "$d" != "/" ]; do d="$(dirname "$d")"; chmod o+x "$d" 2>/dev/null || true; done
fi

if [ ! -f "$pgdir/data/PG_VERSION" ]; then
  say "initialising a private cluster in $pgdir/data"
  as_owner "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 >/dev/null
fi

url="postgres://postgres@127.0.0.1:$port/postgres"
if ! answers "$url"; then
  say "starting the private cluster on 127.0.0.1:$port"
  as_owner "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
fi
if ! answers "$url"; then
  say "the private cluster did not answer; see $pgdir/server.log"
  exit 1
fi
echo "export DATABASE_URL='$url'"
