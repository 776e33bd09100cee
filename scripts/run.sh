#!/usr/bin/env bash
# The main job, for a newcomer: bring Postgres up, build sluice, apply the migrations,
# write a demo history into the ledger and run `sluice doctor` on it.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(scripts/postgres.sh)"
export DATABASE_URL

cargo build --release --locked
bin=target/release/sluice
"$bin" migrate
"$bin" demo-seed
"$bin" doctor "$@"
