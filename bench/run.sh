#!/bin/sh
# Builds a Release tree (build-bench), runs each benchmark RUNS times and
# prints, for every metric, the median of the runs (with min and max).
# The README table reports these medians.  Each run starts its own
# llmcostd on a temporary directory and removes it afterwards.
#
# `bench/run.sh report` runs the report benchmark instead (bench_report:
# 10 M stored calls, reports, scans, SQLite and DuckDB), through
# bench/run_report.sh.
#
# Environment: RUNS (default 5), CALLSITE_N (timed calls per call-site
# row, default 100000), INGEST_T (seconds of offered calls, default 10),
# INGEST_R (calls/s offered by the two producers, default 1000000; 0 means
# as fast as they can), BUILD_DIR (default build-bench).  The defaults
# take about four minutes on two cores.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = report ]; then
	exec "$root/bench/run_report.sh"
fi
build=${BUILD_DIR:-$root/build-bench}
runs=${RUNS:-5}
callsite_n=${CALLSITE_N:-100000}
ingest_t=${INGEST_T:-10}
ingest_r=${INGEST_R:-1000000}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 --target bench_callsite bench_ingest \
    bench_codec >/dev/null

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), Linux $(uname -r)"
echo "runs: $runs; bench_callsite -n $callsite_n;" \
    "bench_ingest -t $ingest_t -r $ingest_r"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

out=$(mktemp "${TMPDIR:-/tmp}/llmcost-bench-run.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM

fail=0
i=1
while [ "$i" -le "$runs" ]; do
	for b in callsite ingest codec; do
		case $b in
		callsite) set -- -n "$callsite_n" ;;
		ingest) set -- -t "$ingest_t" -r "$ingest_r" ;;
		codec) set -- ;;
		esac
		log="$out.$b.$i"
		if "$build/bench/bench_$b" "$@" >"$log" 2>&1; then
			status=ok
		else
			status=FAILED
			fail=1
		fi
		grep '^metric ' "$log" >>"$out" || true
		echo "run $i bench_$b: $status"
		if [ "$i" -eq "$runs" ] || [ "$status" != ok ]; then
			# Show the last run (and any failure) in full.
			grep -v '^metric ' "$log"
		elif [ "$b" = ingest ]; then
			# Where every run dropped calls, not only the last one's.
			grep -E '^(drops by tenth|drops where|host steal while)' \
			    "$log" || true
		fi
		rm -f "$log"
	done
	i=$((i + 1))
done

echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $runs runs (min .. max):"
# "metric NAME VALUE" lines: sort by name then value, take the middle.
sort -k2,2 -k3,3g "$out" | awk '
	function flush() {
		if (n > 0) {
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "  %-34s %12.6g   (%g .. %g)\n", name, m, v[1], v[n]
		}
	}
	$2 != name { flush(); name = $2; n = 0 }
	{ v[++n] = $3 }
	END { flush() }'
exit "$fail"
