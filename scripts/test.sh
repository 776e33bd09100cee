#!/usr/bin/env bash
# The whole test suite: formatting, lints, every Rust test of the workspace (the daemon and
# crates/sluice-sim) against a real Postgres and the simulator over loopback, then the Python
# interop tests with real Binance clients.
# Brings Postgres up itself when DATABASE_URL is unset (see scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# A failed start must stop here (an eval of a failed substitution would not).
pg_env="$(scripts/postgres.sh)"
eval "$pg_env"
export DATABASE_URL

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test --workspace"
cargo test --workspace --all-features

if [ -x tests/interop/run.sh ]; then
  echo "== interop tests (ccxt, official Binance SDK) against sluice sim"
  SLUICE_BIN_FRESH=1 tests/interop/run.sh
fi

echo "== Python client tests (clients/python) against a paper daemon"
SLUICE_BIN_FRESH=1 clients/python/run_tests.sh
