#!/bin/sh
# The daemon's instructions during the side_by_side close, counted by callgrind (for
# machines without hardware counters; BENCHMARKS.md "where the daemon's CPU per order goes").
# One script in two roles: the daemon wrapper (SLUICE_BENCH_BIN) and the hook the bench runs
# around the close with the daemon's pid (SLUICE_BENCH_AROUND: zero, then dump).
#
#   SLUICE_BENCH_BIN=scripts/callgrind-close.sh SLUICE_BENCH_AROUND=scripts/callgrind-close.sh \
#     CARGO_TARGET_DIR=target-release cargo bench --bench side_by_side -- sluice
#   callgrind_annotate --inclusive=yes target-release/callgrind/cg.<pid>.1
#
# SLUICE_CALLGRIND_BIN: the daemon to run (default target-release/release/sluice);
# SLUICE_CALLGRIND_DIR: where the counts go (default target-release/callgrind).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
  before) exec callgrind_control -z "$2" >/dev/null ;;
  after) exec callgrind_control -d "$2" >/dev/null ;;
esac
dir=${SLUICE_CALLGRIND_DIR:-$root/target-release/callgrind}
mkdir -p "$dir"
exec valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" --dump-instr=no \
  --collect-jumps=no "${SLUICE_CALLGRIND_BIN:-$root/target-release/release/sluice}" "$@"
