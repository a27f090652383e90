#!/usr/bin/env bash
# The demo: build, start llmcostd on a fresh data directory, record a
# realistic mix of tagged LLM calls through libllmcost from a 4-thread
# example service, print the cost-by-feature report, stop the daemon.
#   LLMCOST_DEMO_DIR=DIR  keep the data in DIR instead of a temporary one
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"

"$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target llmcostd llmcost_cli demo_app >/dev/null

tmp=""
if [ -n "${LLMCOST_DEMO_DIR:-}" ]; then
  data="$LLMCOST_DEMO_DIR"
else
  tmp=$(mktemp -d)
  data="$tmp/llmcost"
fi
sock="$data/llmcostd.sock"

"$build/collector/llmcostd" --data-dir "$data" --log-level warn &
daemon=$!
cleanup() {
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 100); do
  [ -S "$sock" ] && break
  kill -0 "$daemon" 2>/dev/null || { echo "llmcostd failed to start" >&2; exit 1; }
  sleep 0.05
done

echo "== an example service records 670 LLM calls through libllmcost"
LLMCOST_COLLECTOR_URL="ipc://$sock" "$build/examples/demo_app"
echo
echo "== llmcost report --since 7d"
"$build/cli/llmcost" report --since 7d --data-dir "$data"
echo
echo "(also: --csv, --json, --by model|env|provider)"
if [ -n "$tmp" ]; then
  echo "(the data was temporary; LLMCOST_DEMO_DIR=DIR keeps it in DIR)"
fi
