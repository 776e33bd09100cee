#!/bin/sh
# The daemon's thread wake-ups during the side_by_side close: the bench runs it with
# `before|after <daemon pid>` (SLUICE_BENCH_AROUND); it sums the voluntary and involuntary
# context switches of every daemon thread from /proc and prints the difference at `after`
# (a voluntary switch is a thread going to sleep to be woken again: one per wake-up).
#
#   SLUICE_BENCH_AROUND=scripts/wakeups-close.sh \
#     CARGO_TARGET_DIR=target-release cargo bench --bench side_by_side -- sluice
set -eu
state=${TMPDIR:-/tmp}/sluice-wakeups.$2
sum() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '
    /^voluntary_ctxt_switches/ { v += $2 }
    /^nonvoluntary_ctxt_switches/ { n += $2 }
    END { print v + 0, n + 0 }'
}
case "$1" in
  before) sum "$2" >"$state" ;;
  after)
    read -r v0 n0 <"$state"
    set -- $(sum "$2")
    echo "daemon context switches during the close: voluntary $(( $1 - v0 )), involuntary $(( $2 - n0 ))" >&2
    rm -f "$state"
    ;;
esac
