#!/usr/bin/env bash
# The main job, for a newcomer: bring Postgres up, build sluice, and run the daemon in paper
# mode: the simulator in-process (holding seed 000's SHORT 8,486.84 SOLUSDT with a hidden
# MARKET cap) and the real daemon against it through the real adapter, with a ledger database
# of its own (<name>_paper). Control API on 127.0.0.1:7878; stop with Ctrl-C.
# In another terminal:  target/release/sluice intent close SOLUSDT short --wait
set -euo pipefail
cd "$(dirname "$0")/.."

# A failed start must stop here (an eval of a failed substitution would not).
pg_env="$(scripts/postgres.sh)"
eval "$pg_env"
export DATABASE_URL

cargo build --release --locked
exec target/release/sluice run --paper "$@"
