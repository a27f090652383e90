#!/bin/sh
# The LangSmith exporter's benchmark (bench_langsmith.c): builds a Release
# tree with the LangSmith stand-in (build-bench-ls), installs the official
# langsmith JS SDK into bench/sdk/node_modules (this benchmark only; it
# is not a dependency of llmcost), and runs the benchmark RUNS times,
# printing the median of every metric with its minimum and maximum.
#
# Environment: RUNS (default 3), CALLSITE_N (timed calls per call-site
# row, default 100000), EXPORT_N (runs exported, default 100000), SDK_N
# (runs sent through the SDK, default 20000), BUILD_DIR.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench-ls}
runs=${RUNS:-3}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_langsmith >/dev/null
if [ ! -d "$root/bench/sdk/node_modules/langsmith" ]; then
	npm install --silent --no-audit --no-fund --prefix "$root/bench/sdk" \
	    langsmith@0.10.5 >/dev/null
fi

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), Linux $(uname -r), node $(node --version)"
out=$(mktemp "${TMPDIR:-/tmp}/llmcost-bench-ls.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
i=1
while [ "$i" -le "$runs" ]; do
	"$build/bench/bench_langsmith" -n "${CALLSITE_N:-100000}" \
	    -e "${EXPORT_N:-100000}" -s "${SDK_N:-20000}" \
	    --sdk-script "$root/bench/langsmith_sdk.mjs" >"$out.$i"
	grep '^metric ' "$out.$i" >>"$out"
	echo "run $i:"
	grep -v '^metric ' "$out.$i"
	rm -f "$out.$i"
	i=$((i + 1))
done
echo
echo "median of $runs runs (min .. max):"
sort -k2,2 -k3,3g "$out" | awk '
	{ v[$2] = v[$2] " " $3; n[$2]++ }
	END {
		for (k in v) {
			c = split(substr(v[k], 2), a, " ");
			printf "%-28s %12.2f  (%.2f .. %.2f)\n", k,
			    a[int((c + 1) / 2)], a[1], a[c];
		}
	}' | sort
