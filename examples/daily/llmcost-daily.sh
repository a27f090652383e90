#!/bin/sh
# The daily cost report, scheduled (cron or a systemd timer; see
# README.md next to this file).  For yesterday (UTC), writes dated CSV
# files into $LLMCOST_REPORT_DIR:
#   report-YYYY-MM-DD.csv     cost by feature and model (llmcost report)
#   budgets-YYYY-MM-DD.csv    every budget's spend, limit and state, as of
#                             now (llmcost budget check)
#   reconcile-YYYY-MM-DD.csv  every difference with LangSmith (llmcost
#                             reconcile), when LANGSMITH_PROJECT is set
# and exits with the worst status of the three, so cron mails and systemd
# marks the run failed when a budget is exhausted (3) or reconciliation
# finds unexplained differences.
#
# Settings (environment):
#   LLMCOST              the llmcost command (default: llmcost on PATH)
#   LLMCOST_REPORT_DIR   where the CSV files go (default ./llmcost-reports)
#   LLMCOSTD_DATA_DIR    llmcostd's data directory (llmcost's default)
#   LLMCOSTD_BUDGETS_FILE  the budgets (default DATA_DIR/budgets.conf)
#   LANGSMITH_PROJECT    the LangSmith project to reconcile with; unset:
#                        no reconciliation.  LANGSMITH_API_KEY and
#                        LANGSMITH_ENDPOINT are read by llmcost reconcile.
#   LLMCOST_RECONCILE_SETTLE  reconcile's --settle (default: its own,
#                        10 minutes; runs younger than it are left out)
#   LLMCOST_DAY          the day to report (YYYY-MM-DD; default yesterday)
set -u

llmcost=${LLMCOST:-llmcost}
dir=${LLMCOST_REPORT_DIR:-./llmcost-reports}
day=${LLMCOST_DAY:-$(date -u -d yesterday +%Y-%m-%d)}
next=$(date -u -d "$day + 1 day" +%Y-%m-%d) || exit 2
worst=0

mkdir -p "$dir" || exit 1

# Runs "$@" with stdout into $1's file (written whole or not at all) and
# keeps the worst exit status.
run() {
	out=$1
	shift
	"$@" >"$out.tmp"
	rc=$?
	# A CSV is kept even when the status reports a finding (budget
	# exhausted: 3, warn: 4); a failure (1) or misuse (2) leaves none.
	if [ "$rc" -eq 0 ] || [ "$rc" -ge 3 ]; then
		mv "$out.tmp" "$out"
	else
		rm -f "$out.tmp"
		echo "llmcost-daily: $* failed with status $rc" >&2
	fi
	[ "$rc" -gt "$worst" ] && worst=$rc
	return 0
}

run "$dir/report-$day.csv" "$llmcost" report --since "$day" \
	--until "$next" --by feature,model --csv
run "$dir/budgets-$day.csv" "$llmcost" budget check --csv
if [ -n "${LANGSMITH_PROJECT:-}" ]; then
	# reconcile writes its CSV itself and prints a summary.
	"$llmcost" reconcile --project "$LANGSMITH_PROJECT" --since "$day" \
		--until "$next" --csv "$dir/reconcile-$day.csv" \
		${LLMCOST_RECONCILE_SETTLE:+--settle "$LLMCOST_RECONCILE_SETTLE"}
	rc=$?
	[ "$rc" -gt "$worst" ] && worst=$rc
fi
exit "$worst"
