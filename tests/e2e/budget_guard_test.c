// End to end: the hard budget guard.  A real llmcostd with a hard
// budget on feature=search; calls recorded through libllmcost until the
// budget is exhausted; the shim learns it in the background
// (BUDGET_REQ/BUDGET_STATE) and from then on llmcost_call_set_meta
// refuses search calls with LLMCOST_EBUDGET while chat calls go on.  A
// budget on the model alone is refused at llmcost_call_begin.  The
// stored spend stays within the documented overshoot (here: no call is
// begun between the exhausting call and the refusal, so none).
#include "e2e.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "llmcost.h"

static void
test_guard(void **state)
{
	char url[1100], path[1200];
	llmcost_options o;
	llmcost_client *c;
	llmcost_call *call;
	llmcost_usage u = { { [LLMCOST_IN_UNCACHED] = 1000 } };
	(void) state;

	char *dir = harness_tmpdir();
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/budgets.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	// $0.0025 per call: two calls exhaust search; mini is exhausted
	// by one call of 1000 tokens ($0.00015).
	fputs("[search]\nlimit = 0.005\nwindow = day\n"
	      "match = feature=search\nhard = yes\n"
	      "[mini]\nlimit = 0.0001\nwindow = rolling 1h\n"
	      "match = model=gpt-4o-mini\nhard = yes\n"
	      "[soft]\nlimit = 0.001\nwindow = day\nmatch = feature=chat\n",
	    f);
	fclose(f);
	static const char *const extra[]
	    = { "--budget-interval-ms", "20", NULL };
	pid_t pid = harness_daemon_start(dir, extra);
	assert_true(pid > 0);
	harness_url(dir, url, sizeof(url));
	setenv("LLMCOST_BUDGET_POLL_MS", "50", 1);
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 10;
	LLMCOST_PASS(llmcost_init(&c, &o));

	for (int i = 0; i < 2; i++) {
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
		LLMCOST_PASS(llmcost_call_set_usage(call, &u));
		LLMCOST_PASS(llmcost_call_end(call));
	}
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "other"));
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	LLMCOST_PASS(llmcost_call_end(call));
	LLMCOST_PASS(llmcost_flush(c, 10000));

	// Within a bounded wait the guard engages; no call is let through
	// meanwhile (each probe is abandoned, never made).
	int rv = 0;
	for (int i = 0; i < 1000 && rv != LLMCOST_EBUDGET; i++) {
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		rv = llmcost_call_set_meta(call, "feature", "search");
		llmcost_call_abandon(call);
		if (rv != LLMCOST_EBUDGET) {
			harness_sleep_ms(10);
		}
	}
	if (rv != LLMCOST_EBUDGET) {
		const char *sv[]
		    = { harness_cli_bin(), "stats", "--url", url, NULL };
		char *so = NULL;
		harness_run(sv, &so, NULL);
		fail_msg("the guard never engaged; llmcostd: %s", so);
	}
	// From then on every search call is refused; chat (a soft budget
	// over its limit: alerts only) and other models go on.
	for (int i = 0; i < 100; i++) {
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		assert_int_equal(
		    llmcost_call_set_meta(call, "feature", "search"),
		    LLMCOST_EBUDGET);
		llmcost_call_abandon(call);
	}
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "chat"));
	llmcost_call_abandon(call);
	// The model budget refuses at begin.
	assert_int_equal(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call),
	    LLMCOST_EBUDGET);
	assert_null(call);
	llmcost_stats st;
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	assert_true(st.budget_refused >= 102);
	llmcost_shutdown(c, 1000);

	// The store holds exactly the calls made: $0.005 for search.
	char *out = NULL;
	const char *argv[] = { harness_cli_bin(), "budget", "check",
		"--data-dir", dir, NULL };
	assert_int_equal(harness_run(argv, &out, NULL), 3);
	assert_non_null(strstr(out, "0.005000       0.005000  100.00%"));
	free(out);
	(void) harness_daemon_tmp_stop(pid, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
