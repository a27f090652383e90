#!/bin/sh
# The report benchmark (bench_report.c): builds a Release tree
# (build-bench), installs DuckDB's node client (@duckdb/node-api) into
# bench/duckdb (this benchmark only; not a dependency of llmcost), and
# runs bench_report once: it writes REPORT_N calls over 30 days and gives
# every figure as the median of REPORT_RUNS runs of it.  SQLite comes from
# the Debian sqlite3 and libsqlite3-dev packages (scripts/deps.sh bench).
#
# Environment: REPORT_N (default 10000000), REPORT_RUNS (default 7),
# NO_DUCKDB=1 (skip DuckDB), BUILD_DIR (default build-bench).  The
# defaults take about ten minutes and 6 GB of temporary disk on two
# cores.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 --target bench_report llmcost_cli >/dev/null
set --
if [ "${NO_DUCKDB:-0}" != 1 ]; then
	if [ ! -d "$root/bench/duckdb/node_modules/@duckdb/node-api" ]; then
		npm install --silent --no-audit --no-fund \
		    --prefix "$root/bench/duckdb" @duckdb/node-api@1.5.6-r.1 \
		    >/dev/null
	fi
	set -- --duckdb-script "$root/bench/duckdb_query.mjs"
fi
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), Linux $(uname -r), $(sqlite3 --version |
    cut -d' ' -f1 | sed 's/^/sqlite /'), node $(node --version)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/bench_report" -n "${REPORT_N:-10000000}" \
    -r "${REPORT_RUNS:-7}" --cli "$build/cli/llmcost" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
