#!/bin/sh
# Build the libFuzzer targets (the msgpack decoder, proto/fuzz/; the
# LangSmith wire library, langsmith/fuzz/; the provider parsers,
# providers/fuzz/) with clang in their own build tree and run the bounded
# fuzz tests (ctest -L fuzz).
#
#   proto/fuzz/run.sh [build-dir]    default: build-fuzz in the source root
#
# LLMCOST_FUZZ_RUNS and LLMCOST_FUZZ_SECONDS override the test's
# -runs and -max_total_time.  Exits 0 without doing anything when no clang
# is installed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-fuzz}
case $build in
/*) ;;
*) build=$root/$build ;;
esac

cc=
for c in clang clang-14; do
	if command -v "$c" >/dev/null 2>&1; then
		cc=$c
		break
	fi
done
if [ -z "$cc" ]; then
	echo "clang not found; skipping"
	exit 0
fi

set -- -DLLMCOST_FUZZ=ON -DLLMCOST_BUILD_TESTS=OFF \
	-DLLMCOST_BUILD_EXAMPLES=OFF -DLLMCOST_BUILD_BENCH=OFF
if [ -n "${LLMCOST_FUZZ_RUNS:-}" ]; then
	set -- "$@" "-DLLMCOST_FUZZ_RUNS=$LLMCOST_FUZZ_RUNS"
fi
if [ -n "${LLMCOST_FUZZ_SECONDS:-}" ]; then
	set -- "$@" "-DLLMCOST_FUZZ_SECONDS=$LLMCOST_FUZZ_SECONDS"
fi

CC=$cc cmake -S "$root" -B "$build" "$@"
cmake --build "$build" --target decode_fuzz multipart_fuzz providers_fuzz \
	--parallel
ctest --test-dir "$build" -L fuzz --output-on-failure
