// End to end: calls recorded through libllmcost, stored by a real
// llmcostd, checked against a budgets file by the real CLI.  `llmcost
// budget check` must print each budget's exact spend and state and exit
// 0 (all within), 3 (one exhausted), 4 (a soft threshold, with --fail-on
// warn) or 2 (a broken or missing budgets file, named by file, line and
// field); `budget forecast` must exit 3 for a budget already run out.
// gpt-4o at 2.5e6 pico-USD per input token (typed in here independently
// of core/prices.c): 1000 input tokens cost 2,500,000,000 pico-USD.
#include "e2e.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "llmcost.h"

static char *dir;
static pid_t daemon_pid;
static char budgets[1200];

static int
setup(void **state)
{
	char url[1100];
	llmcost_client *c;
	(void) state;

	if ((daemon_pid = harness_daemon_tmp(&dir, url, sizeof(url))) < 0
	    || (c = e2e_client(url)) == NULL) {
		return (-1);
	}
	// search: 4 calls, $0.01; chat: 1 call, $0.0025.
	for (int i = 0; i < 5; i++) {
		llmcost_call *call;
		llmcost_usage u = { { [LLMCOST_IN_UNCACHED] = 1000 } };
		if (llmcost_call_begin(c, "openai", "gpt-4o", &call) != 0
		    || llmcost_call_set_meta(
		           call, "feature", i < 4 ? "search" : "chat")
		        != 0
		    || llmcost_call_set_meta(call, "env", "prod") != 0
		    || llmcost_call_set_usage(call, &u) != 0
		    || llmcost_call_end(call) != 0) {
			return (-1);
		}
	}
	if (llmcost_flush(c, 10000) != 0) {
		return (-1);
	}
	llmcost_shutdown(c, 1000);
	snprintf(budgets, sizeof(budgets), "%s/b.conf", dir);
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	(void) harness_daemon_tmp_stop(daemon_pid, dir);
	return (0);
}

static void
test_exit_ok(void **state)
{
	(void) state;
	e2e_write_file(budgets,
	    "[search]\nlimit = 1\nwindow = rolling 1d\n"
	    "match = feature=search\n");
	const char *argv[] = { harness_cli_bin(), "budget", "check",
		"--data-dir", dir, "--budgets", budgets, NULL };
	e2e_expect_run(argv, 0, "search", NULL);
	const char *warn[]
	    = { harness_cli_bin(), "budget", "check", "--data-dir", dir,
		      "--budgets", budgets, "--fail-on", "warn", NULL };
	e2e_expect_run(warn, 0, "0.010000", NULL);
}

static void
test_exit_warn(void **state)
{
	(void) state;
	// $0.01 of $0.015: 66.66 %, past the 50 % threshold.
	e2e_write_file(budgets,
	    "[search]\nlimit = 0.015\nwindow = rolling 1d\n"
	    "match = feature=search\nmatch = env=prod\n");
	const char *argv[] = { harness_cli_bin(), "budget", "check",
		"--data-dir", dir, "--budgets", budgets, NULL };
	e2e_expect_run(argv, 0, "warn (50%)", NULL);
	const char *warn[]
	    = { harness_cli_bin(), "budget", "check", "--data-dir", dir,
		      "--budgets", budgets, "--fail-on", "warn", NULL };
	e2e_expect_run(warn, 4, "66.66%", NULL);
}

static void
test_exit_exhausted_json(void **state)
{
	char *out = NULL;
	(void) state;
	e2e_write_file(budgets,
	    "[chat]\nlimit = 0.0025\nwindow = rolling 2d\n"
	    "match = feature=chat\nhard = yes\n"
	    "[account]\nlimit = 100\nwindow = rolling 1d\n");
	const char *argv[] = { harness_cli_bin(), "budget", "check", "--json",
		"--data-dir", dir, "--budgets", budgets, NULL };
	assert_int_equal(harness_run(argv, &out, NULL), 3);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	if (j == NULL) {
		fail_msg("not JSON: %s: %s", je.text, out);
	}
	json_t *b = json_object_get(j, "budgets");
	assert_int_equal(json_array_size(b), 2);
	json_t *chat = json_array_get(b, 0);
	E2E_ASSERT_JSON_STR(chat, "state", "exhausted");
	E2E_ASSERT_JSON_STR(chat, "spend_pusd", "2500000000");
	E2E_ASSERT_JSON_STR(chat, "percent", "100.00");
	E2E_ASSERT_JSON_INT(chat, "threshold", 100);
	assert_true(json_is_true(json_object_get(chat, "hard")));
	json_t *acct = json_array_get(b, 1);
	E2E_ASSERT_JSON_STR(acct, "spend_usd", "0.012500000000");
	E2E_ASSERT_JSON_INT(acct, "calls", 5);
	E2E_ASSERT_JSON_STR(acct, "state", "ok");
	json_decref(j);
	free(out);
	const char *fc[] = { harness_cli_bin(), "budget", "forecast",
		"--data-dir", dir, "--budgets", budgets, NULL };
	e2e_expect_run(fc, 3, "now", NULL);
	// CSV: a header, then one row per budget with exact amounts.
	const char *csv[] = { harness_cli_bin(), "budget", "check", "--csv",
		"--data-dir", dir, "--budgets", budgets, NULL };
	e2e_expect_run(csv, 3,
	    "budget,window,timezone,from,to,spend_usd,spend_pusd,", NULL);
	e2e_expect_run(csv, 3,
	    ",0.002500000000,2500000000,0.002500000000,2500000000,100.00,1,"
	    "exhausted,100,true\n",
	    NULL);
}

// The forecast of a rolling day from the last 6 hours: all five calls
// ($0.0125) are recent, so the day settles at 4 x $0.0125 = $0.05.
static void
test_forecast(void **state)
{
	char *out = NULL;
	(void) state;
	e2e_write_file(budgets,
	    "[tight]\nlimit = 0.03\nwindow = rolling 1d\n"
	    "[loose]\nlimit = 1\nwindow = rolling 1d\n");
	const char *argv[] = { harness_cli_bin(), "budget", "forecast",
		"--json", "--data-dir", dir, "--budgets", budgets, NULL };
	assert_int_equal(harness_run(argv, &out, NULL), 3);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	E2E_ASSERT_JSON_INT(j, "lookback_s", 21600);
	json_t *tight = json_array_get(json_object_get(j, "budgets"), 0);
	json_t *loose = json_array_get(json_object_get(j, "budgets"), 1);
	E2E_ASSERT_JSON_STR(tight, "projected_usd", "0.050000000000");
	E2E_ASSERT_JSON_STR(tight, "projected_percent", "166.66");
	assert_true(json_is_string(json_object_get(tight, "runs_out_at")));
	assert_true(json_is_null(json_object_get(loose, "runs_out_at")));
	json_decref(j);
	free(out);
	// Only the loose one: nothing runs out.
	e2e_write_file(budgets, "[loose]\nlimit = 1\nwindow = rolling 1d\n");
	const char *ok[] = { harness_cli_bin(), "budget", "forecast",
		"--data-dir", dir, "--budgets", budgets, NULL };
	e2e_expect_run(ok, 0, "loose", NULL);
}

static void
test_exit_broken(void **state)
{
	(void) state;
	e2e_write_file(budgets,
	    "[ok]\nlimit = 1\nwindow = day\n\n[bad]\nlimit = 1\n"
	    "window = fortnight\n");
	const char *argv[] = { harness_cli_bin(), "budget", "check",
		"--data-dir", dir, "--budgets", budgets, NULL };
	char want[1300];
	snprintf(want, sizeof(want), "%s:7: window: want day", budgets);
	e2e_expect_run(argv, 2, NULL, want);
	// The default file, DATA_DIR/budgets.conf, is missing.
	const char *dflt[] = { harness_cli_bin(), "budget", "check",
		"--data-dir", dir, NULL };
	e2e_expect_run(dflt, 2, NULL, "budgets.conf");
	// llmcostd refuses to start on it, with the same line.
	char d2[1200];
	snprintf(d2, sizeof(d2), "%s/d2", dir);
	const char *daemon[] = { harness_daemon_bin(), "--data-dir", d2,
		"--budgets-file", budgets, NULL };
	e2e_expect_run(daemon, 2, NULL, want);
	const char *bad[] = { harness_cli_bin(), "budget", "audit", NULL };
	e2e_expect_run(bad, 2, NULL, "unknown command 'audit'");
	const char *help[] = { harness_cli_bin(), "budget", "--help", NULL };
	e2e_expect_run(help, 0, "Exit status", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_ok),
		cmocka_unit_test(test_exit_warn),
		cmocka_unit_test(test_exit_exhausted_json),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_exit_broken),
	};
	return (cmocka_run_group_tests(tests, setup, teardown));
}
