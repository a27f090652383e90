#!/usr/bin/env bash
# Builds everything and runs the whole test suite with ctest.
#   scripts/test.sh                          the normal build (build/)
#   scripts/test.sh --sanitize address,undefined   ASan+UBSan (build-asan/)
#   scripts/test.sh --sanitize thread               TSan (build-tsan/)
#   scripts/test.sh --label shim             only the tests with that label
#   scripts/test.sh --portable               the shim without its SSE2 fast
#                                            paths (build dir + "-portable")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

san=none
label=
portable=OFF
build="$root/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) san="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --portable) portable=ON; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$san" in
  none) ;;
  address,undefined|address|undefined) build="$root/build-asan" ;;
  thread) build="$root/build-tsan" ;;
  *) echo "--sanitize: want address,undefined or thread" >&2; exit 2 ;;
esac
if [ "$portable" = ON ]; then
  build="$build-portable"
fi

"$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -DLLMCOST_SANITIZER="$san" \
  -DLLMCOST_PORTABLE="$portable" -DLLMCOST_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# ThreadSanitizer: halt on the first report; the suppressions name the nng
# functions they cover and say why (scripts/tsan.supp).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp}"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 \
  ${label:+-L "$label"}
