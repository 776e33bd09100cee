#!/usr/bin/env bash
# Interop tests with real Binance clients (ccxt, the official USDⓈ-M SDK) against
# `sluice sim`: creates target/interop-venv from requirements.txt if needed, starts
# `sluice sim` on port 0, reads its address from the first stdout line, runs pytest,
# stops the simulator. Usage: tests/interop/run.sh [pytest args]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/interop-venv"
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$root/tests/interop/requirements.txt"
fi
# scripts/test.sh has just built target/debug/sluice with `cargo test`; a plain build
# here would rebuild every dependency whose features the dev-dependencies change.
if [ -z "${SLUICE_BIN_FRESH:-}" ]; then
  cargo build -q --bin sluice --manifest-path "$root/Cargo.toml"
fi
out="$(mktemp)"
"$root/target/debug/sluice" sim --listen 127.0.0.1:0 >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 100); do
  line="$(head -n1 "$out" 2>/dev/null || true)"
  case "$line" in "listening on http://"*) break ;; esac
  sleep 0.1
done
addr="${line#listening on http://}"
[ -n "$addr" ] || { echo "simulator did not start: $(cat "$out")" >&2; exit 1; }
export SIM_URL="http://$addr" SIM_WS="ws://$addr"
export SIM_API_KEY="sluiceDemoKey0000000000000000000000000000000000000000000000000001"
export SIM_API_SECRET="sluiceDemoSecret000000000000000000000000000000000000000000000001"
"$venv/bin/pytest" -q "$root/tests/interop" "$@"
