#!/usr/bin/env bash
# The README's example picture: the 2025-10-11 storm run against the simulator by
# tests/ops/report_vs_sim.rs, its evidence picture rendered (resvg, the DejaVu Sans subset in
# tests/fonts) to docs/report-example.png. Brings Postgres up when DATABASE_URL is unset.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  pg_env="$(scripts/postgres.sh)"
  eval "$pg_env"
  export DATABASE_URL
fi
SLUICE_REPORT_EXAMPLE_DIR="$PWD/docs" cargo test --test ops -- --exact \
  report_vs_sim::the_storm_report_matches_the_simulators_own_counts
ls -l docs/report-example.png
