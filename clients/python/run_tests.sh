#!/usr/bin/env bash
# The Python client's tests against a real daemon (`sluice sim` + `sluice run`: real
# adapter, Postgres ledger), in the pinned interop virtualenv (target/interop-venv, from
# tests/interop/requirements.txt). Needs DATABASE_URL (scripts/postgres.sh) and psql.
# Usage: clients/python/run_tests.sh [pytest args]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/interop-venv"
requirements="$root/tests/interop/requirements.txt"
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import aiohttp, jsonschema, pytest' 2>/dev/null; then
  "$venv/bin/pip" install -q -r "$requirements"
fi
# scripts/test.sh has just built target/debug/sluice with `cargo test`.
if [ -z "${SLUICE_BIN_FRESH:-}" ]; then
  cargo build -q --bin sluice --manifest-path "$root/Cargo.toml"
fi
export SLUICE_BIN="${SLUICE_BIN:-$root/target/debug/sluice}"
cd "$here"
exec "$venv/bin/pytest" -q -p no:cacheprovider tests "$@"
