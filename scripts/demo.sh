#!/usr/bin/env bash
# The demo: build, start llmcostd on a fresh data directory and the local
# provider stand-in (--count: usage of each request's own), make a
# realistic mix of tagged LLM calls over HTTP from a 4-thread example
# service, then a few from the chat_client example, libllmcost reading
# every call's usage from the response bytes; print the cost-by-feature
# report, stop the stand-in and the daemon.
#   LLMCOST_DEMO_DIR=DIR  keep the data in DIR instead of a temporary one
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"

"$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target llmcostd llmcost_cli demo_app \
  chat_client llmcost-provider-standin >/dev/null

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
standin=""
work=$(mktemp -d)
cleanup() {
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  if [ -n "$standin" ]; then
    kill -TERM "$standin" 2>/dev/null && wait "$standin" 2>/dev/null || true
  fi
  rm -rf "$work"
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
for _ in $(seq 100); do
  [ -S "$sock" ] && break
  kill -0 "$daemon" 2>/dev/null || { echo "llmcostd failed to start" >&2; exit 1; }
  sleep 0.05
done

: >"$work/standin.out"
"$build/tests/providers/llmcost-provider-standin" --count \
  >>"$work/standin.out" 2>/dev/null &
standin=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on 127.0.0.1://p' "$work/standin.out" || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "the provider stand-in failed to start" >&2; exit 1; }

echo "== an example service makes 670 LLM calls (OpenAI, Anthropic, Gemini,"
echo "   Bedrock, Mistral; here the local provider stand-in) and records them"
echo "   through libllmcost, which reads each call's usage from the response"
LLMCOST_COLLECTOR_URL="ipc://$sock" DEMO_PROVIDER_URL="http://127.0.0.1:$port" \
  "$build/examples/demo_app"
echo
echo "== a real client calls an OpenAI-compatible API (the same stand-in)"
for args in "--calls 3" "--stream --calls 2"; do
  # shellcheck disable=SC2086 # the arguments are split on purpose
  LLMCOST_COLLECTOR_URL="ipc://$sock" OPENAI_API_KEY=demo \
    OPENAI_BASE_URL="http://127.0.0.1:$port/v1" \
    "$build/examples/chat_client" $args --feature support-chat
done
echo
echo "== llmcost report --since 7d"
"$build/cli/llmcost" report --since 7d --data-dir "$data"
echo
echo "(also: --csv, --json, --by model|env|provider)"
if [ -n "$tmp" ]; then
  echo "(the data was temporary; LLMCOST_DEMO_DIR=DIR keeps it in DIR)"
fi
