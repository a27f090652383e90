// End to end: the scheduled daily report (examples/daily/llmcost-daily.sh)
// against a real llmcostd, the real CLI and the LangSmith stand-in (the
// calls are exported to both).  It must write the dated report, budget
// and reconciliation CSV files and exit 3 when a budget is exhausted;
// with every budget within its limit, 0; a failing command leaves no
// CSV behind and the exit status says so.
#include "e2e.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llmcost.h"
#include "standin.h"

// The dated CSV `<out>/<kind>-<day>.csv` the script wrote (at most
// 64 KiB), NUL-terminated (free it); fails the test if there is none.
static char *
day_csv(const char *out, const char *kind, const char *day)
{
	char path[1300];
	snprintf(path, sizeof(path), "%s/%s-%s.csv", out, kind, day);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fail_msg("%s: not written", path);
	}
	char *buf = calloc(1, 65536);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

static void
write_budgets(const char *dir, const char *limit)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/budgets.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	    "[search]\nlimit = %s\nwindow = day\nmatch = feature=search\n",
	    limit);
	fclose(f);
}

static void
test_daily(void **state)
{
	char url[1100], script[1100], out[1200], path[1300], day[16];
	llmcost_options o;
	llmcost_client *c;
	(void) state;

	char *dir = harness_tmpdir();
	assert_non_null(dir);
	pid_t pid = harness_daemon_start(dir, NULL);
	assert_true(pid > 0);
	harness_url(dir, url, sizeof(url));
	standin_options so;
	standin *si;
	memset(&so, 0, sizeof(so));
	so.api_key = "daily-key";
	LLMCOST_PASS(standin_start(&so, &si));
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 10;
	o.langsmith_api_key = "daily-key";
	o.langsmith_endpoint = standin_url(si);
	o.langsmith_project = "daily";
	o.langsmith_tracing = 1;
	LLMCOST_PASS(llmcost_init(&c, &o));
	for (int i = 0; i < 2; i++) {
		llmcost_call *call;
		llmcost_usage u = { { [LLMCOST_IN_UNCACHED] = 1000 } };
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
		LLMCOST_PASS(llmcost_call_set_usage(call, &u));
		LLMCOST_PASS(llmcost_call_end(call));
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	llmcost_shutdown(c, 1000);

	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(script, sizeof(script), "%s/examples/daily/llmcost-daily.sh",
	    getenv("LLMCOST_SOURCE_DIR"));
	snprintf(out, sizeof(out), "%s/reports", dir);
	setenv("LLMCOST", harness_cli_bin(), 1);
	setenv("LLMCOST_REPORT_DIR", out, 1);
	setenv("LLMCOSTD_DATA_DIR", dir, 1);
	setenv("LLMCOST_DAY", day, 1); // today: the calls just made
	setenv("LANGSMITH_PROJECT", "daily", 1);
	setenv("LANGSMITH_ENDPOINT", standin_url(si), 1);
	setenv("LANGSMITH_API_KEY", "daily-key", 1);
	// The calls were just made: compare them, do not wait them out.
	setenv("LLMCOST_RECONCILE_SETTLE", "0", 1);
	unsetenv("LLMCOSTD_BUDGETS_FILE");
	const char *argv[] = { "/bin/sh", script, NULL };

	// $0.005 spent of $0.004: exhausted.
	write_budgets(dir, "0.004");
	e2e_expect_run(argv, 3, NULL, NULL);
	char *report = day_csv(out, "report", day);
	assert_non_null(strstr(report, "search"));
	assert_non_null(strstr(report, "gpt-4o"));
	free(report);
	char *budgets = day_csv(out, "budgets", day);
	assert_non_null(strstr(budgets, "budget,window,timezone"));
	assert_non_null(strstr(budgets, ",exhausted,100,false\n"));
	free(budgets);
	// Written by llmcost reconcile: both sides hold the same two runs,
	// so no difference, only its header.
	char *recon = day_csv(out, "reconcile", day);
	if (strncmp(recon, "kind,run_id,", 12) != 0
	    || strchr(recon, '\n') != recon + strlen(recon) - 1) {
		fail_msg("reconcile CSV: '%s'", recon);
	}
	free(recon);
	struct stat sb;

	// Within every limit: 0.
	write_budgets(dir, "1");
	e2e_expect_run(argv, 0, NULL, NULL);
	budgets = day_csv(out, "budgets", day);
	assert_non_null(strstr(budgets, ",ok,,false\n"));
	free(budgets);

	// A failing command: its status, and no CSV (a broken budgets file
	// is a usage error, 2).
	write_budgets(dir, "1.5.0");
	snprintf(path, sizeof(path), "%s/budgets-%s.csv", out, day);
	assert_int_equal(unlink(path), 0);
	e2e_expect_run(argv, 2, NULL, "budget check --csv failed");
	assert_int_not_equal(stat(path, &sb), 0);

	harness_daemon_stop(pid, SIGTERM);
	standin_stop(si);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
