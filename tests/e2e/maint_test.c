// End to end: `llmcost reprice` and `llmcost prune` on a real store while
// a real llmcostd ingests into it.  A store is written with old prices
// (the pricing stage's figures halved, every 7th call unpriced), a second
// one with the prices in force; the daemon is started on the first, a
// client records calls into it (new features, so new interned strings)
// all through the reprice, and afterwards `llmcost report` over the
// repriced window must print exactly what it prints for the second
// store, every live call must be stored and reported under its own
// feature, and every rollup must still be the sum of its runs.  Then
// `llmcost prune` drops the old calls while the daemon runs and the
// report over them stays the same.  A reprice prices a call at the
// service tier and on the platform it was sent with, and `reprice
// --prices FILE` gives what a fresh ingest under that table gives.
#include "e2e.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "harness.h"
#include "rollup_check.h"
#include "synth.h"

#define N_CALLS  3000
#define PER_HOUR 100 // 30 hours from H0 (2025-01-01T00Z)

static void
old_prices(const llmcost_proto_record *r, store_cost *c)
{
	if (r->run_id[15] % 7 == 0) {
		memset(c, 0, sizeof(*c));
		c->flags = STORE_RUN_UNPRICED;
		return;
	}
	c->cost_pusd /= 2;
	c->fee_cost_pusd /= 2;
}

static void
make_store(const char *dir, const synth_opts *o)
{
	store *s = NULL;
	char err[STORE_ERR_MAX];
	if (store_open(&s, dir, 0, 0, err, sizeof(err)) != 0) {
		fail_msg("store_open %s: %s", dir, err);
	}
	write_synth(s, o, 0, N_CALLS, PER_HOUR);
	store_close(s);
}

static char *
run_cli(const char *const *argv, int want)
{
	char *out = NULL, *err = NULL;
	int rc = harness_run(argv, &out, &err);
	if (rc != want) {
		fail_msg("%s %s: exit %d, want %d: %s", argv[1], argv[2], rc,
		    want, err != NULL ? err : "");
	}
	free(err);
	return (out);
}

static char *
report(const char *dir, const char *by, const char *since, const char *until)
{
	const char *argv[]
	    = { harness_cli_bin(), "report", "--json", "--by", by, "--since",
		      since, "--until", until, "--data-dir", dir, NULL };
	return (run_cli(argv, 0));
}

typedef struct live {
	llmcost_client *c;
	volatile int stop;
	uint64_t recorded;
} live;

static void *
live_main(void *arg)
{
	live *l = arg;
	while (!l->stop) {
		char feature[32];
		llmcost_call *call;
		llmcost_usage u;
		snprintf(feature, sizeof(feature), "live-%llu",
		    (unsigned long long) (l->recorded % 40));
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 100;
		u.tokens[LLMCOST_OUT_TEXT] = 10;
		LLMCOST_PASS(
		    llmcost_call_begin(l->c, "openai", "gpt-4o-mini", &call));
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", feature));
		LLMCOST_PASS(llmcost_call_set_usage(call, &u));
		LLMCOST_PASS(llmcost_call_end(call));
		l->recorded++;
		harness_sleep_ms(1);
	}
	return (NULL);
}

static void
test_reprice_and_prune_live(void **state)
{
	(void) state;
	char *root = harness_tmpdir();
	char a[1100], b[1100], url[1200];
	assert_non_null(root);
	snprintf(a, sizeof(a), "%s/old", root);
	snprintf(b, sizeof(b), "%s/new", root);
	const synth_opts old_opts = { 1, old_prices }, new_opts = { 1, NULL };
	make_store(a, &old_opts);
	make_store(b, &new_opts);

	const char *since = "2025-01-01", *until = "2025-01-02T06:00Z";
	char *want = report(b, "feature", since, until);
	char *want_m = report(b, "model", since, until);
	char *before = report(a, "feature", since, until);
	assert_string_not_equal(before, want);

	pid_t d = harness_daemon_start(a, NULL);
	assert_true(d > 0);
	harness_url(a, url, sizeof(url));
	llmcost_options o;
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 5;
	live l = { 0 };
	LLMCOST_PASS(llmcost_init(&l.c, &o));
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, live_main, &l), 0);
	harness_sleep_ms(100);

	// A dry run first: it prints the changes and writes nothing.
	const char *dry[] = { harness_cli_bin(), "reprice", "--since", since,
		"--until", until, "--dry-run", "--data-dir", a, NULL };
	char *out = run_cli(dry, 0);
	assert_non_null(strstr(out, "dry run: nothing was written"));
	assert_non_null(strstr(out, "total"));
	free(out);
	out = report(a, "feature", since, until);
	assert_string_equal(out, before);
	free(out);

	const char *argv[] = { harness_cli_bin(), "reprice", "--since", since,
		"--until", until, "--txn-runs", "50", "--data-dir", a, NULL };
	out = run_cli(argv, 0);
	assert_non_null(strstr(out, "stored costs and rollups updated"));
	assert_non_null(strstr(out, "gpt-4o"));
	free(out);
	harness_sleep_ms(100);
	l.stop = 1;
	assert_int_equal(pthread_join(th, NULL), 0);
	LLMCOST_PASS(llmcost_flush(l.c, 10000));
	llmcost_shutdown(l.c, 5000);
	assert_true(l.recorded > 0);

	// The window reports as the fresh store does, to the pico-dollar.
	out = report(a, "feature", since, until);
	assert_string_equal(out, want);
	free(out);
	out = report(a, "model", since, until);
	assert_string_equal(out, want_m);
	free(out);
	// Every live call is stored, under its own feature.
	out = report(a, "feature", "1h", "2100-01-01");
	assert_non_null(strstr(out, "\"live-0\""));
	char calls[64];
	snprintf(calls, sizeof(calls), "\"calls\": %llu",
	    (unsigned long long) l.recorded);
	if (strstr(out, calls) == NULL) {
		fail_msg("live calls: want %s in %s", calls, out);
	}
	free(out);

	// Every rollup is the sum of its runs (a snapshot read while the
	// daemon runs).
	store *s = NULL;
	char err[STORE_ERR_MAX];
	LLMCOST_PASS(store_open(&s, a, STORE_RDONLY, 0, err, sizeof(err)));
	assert_int_equal(check_rollups(s), N_CALLS + l.recorded);
	store_close(s);

	// Prune the old calls while the daemon runs: the report over them
	// is unchanged.
	const char *pr[]
	    = { harness_cli_bin(), "prune", "--before", "2025-01-01T20:00Z",
		      "--txn-runs", "100", "--data-dir", a, NULL };
	out = run_cli(pr, 0);
	assert_non_null(strstr(out, "pruned 2000 calls"));
	free(out);
	out = report(a, "feature", since, until);
	assert_string_equal(out, want);
	free(out);

	assert_int_equal(harness_daemon_stop(d, SIGTERM), 0);
	LLMCOST_PASS(store_open(&s, a, STORE_RDONLY, 0, err, sizeof(err)));
	assert_int_equal(
	    count_with(s, store_count_runs), N_CALLS - 2000 + l.recorded);
	store_close(s);
	free(want);
	free(want_m);
	free(before);
	harness_rmdir(root);
}

// llmcostd --retain-days 1 on a store of 2025 calls: the daemon
// deletes them all (in transactions of WRITER_PRUNE_RUNS, here one),
// and the report over them, from the rollups, stays the same.
static void
test_daemon_retention(void **state)
{
	(void) state;
	char *root = harness_tmpdir();
	char a[1100];
	assert_non_null(root);
	snprintf(a, sizeof(a), "%s/data", root);
	const synth_opts opts = { 1, NULL };
	make_store(a, &opts);
	const char *since = "2025-01-01", *until = "2025-01-02T06:00Z";
	char *want = report(a, "feature", since, until);

	const char *extra[] = { "--retain-days", "1", NULL };
	pid_t d = harness_daemon_start(a, extra);
	assert_true(d > 0);
	uint64_t runs = UINT64_MAX;
	for (int i = 0; i < 300 && runs != 0; i++) {
		store *s = NULL;
		char err[STORE_ERR_MAX];
		LLMCOST_PASS(
		    store_open(&s, a, STORE_RDONLY, 0, err, sizeof(err)));
		runs = count_with(s, store_count_runs);
		store_close(s);
		if (runs != 0) {
			harness_sleep_ms(100);
		}
	}
	assert_int_equal(runs, 0);
	char *out = report(a, "feature", since, until);
	assert_string_equal(out, want);
	free(out);
	free(want);
	assert_int_equal(harness_daemon_stop(d, SIGTERM), 0);
	harness_rmdir(root);
}

// A store in dir holding three calls, ingested by llmcostd (with the
// overrides file prices unless NULL): gpt-4o-mini in batch, gemini on
// Vertex AI (both priced unlike their standard, own-API rates by the
// built-in table) and gpt-4o at the standard tier.
static void
ingest_three(const char *dir, const char *prices)
{
	const char *extra[] = { "--prices-file", prices, NULL };
	pid_t d = harness_daemon_start(dir, prices != NULL ? extra : NULL);
	assert_true(d > 0);
	e2e_send_one(
	    dir, "openai", "gpt-4o-mini", "batch", LLMCOST_TIER_BATCH, NULL);
	e2e_send_one(dir, "google", "gemini-2.0-flash-001", "vertex",
	    LLMCOST_TIER_STANDARD, "vertex");
	e2e_send_one(
	    dir, "openai", "gpt-4o", "standard", LLMCOST_TIER_STANDARD, NULL);
	assert_int_equal(harness_daemon_stop(d, SIGTERM), 0);
}

// The cost of each feature of dir's report, "feature=cost_pusd ..." in
// the report's order.
static void
feature_costs(const char *dir, char *buf, size_t bufsz)
{
	static const char *const args[] = { "--by", "feature", "--since",
		"2020-01-01", "--until", "2100-01-01", NULL };
	json_t *root = e2e_report_json(dir, args), *row;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(root, "rows"), i, row)
	{
		const char *f
		    = json_string_value(json_object_get(row, "feature"));
		const char *c
		    = json_string_value(json_object_get(row, "cost_pusd"));
		assert_non_null(f);
		assert_non_null(c);
		n += (size_t) snprintf(buf + n, bufsz - n, "%s=%s ", f, c);
		assert_true(n < bufsz);
	}
	json_decref(root);
	assert_int_not_equal(buf[0], '\0');
}

static void
test_reprice_tier_platform_prices(void **state)
{
	(void) state;
	char *root = harness_tmpdir();
	char a[1100], b[1100], file[1100];
	char before[512], after[512], fresh[512];
	assert_non_null(root);
	snprintf(a, sizeof(a), "%s/a", root);
	snprintf(b, sizeof(b), "%s/b", root);
	snprintf(file, sizeof(file), "%s/prices.txt", root);

	// Repriced under the table that priced them, nothing changes: the
	// batch call keeps its batch rate, the Vertex call its Vertex rate.
	ingest_three(a, NULL);
	feature_costs(a, before, sizeof(before));
	const char *rp[] = { harness_cli_bin(), "reprice", "--since",
		"2020-01-01", "--until", "2100-01-01", "--data-dir", a, NULL };
	e2e_expect_run(rp, 0, "stored costs and rollups updated", NULL);
	feature_costs(a, after, sizeof(after));
	assert_string_equal(after, before);

	// Under an overrides file for gpt-4o the report is what a fresh
	// ingest under it reports: only the gpt-4o call's cost changes.
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("entry 1000001 openai gpt-4o\n"
	      "valid_from 2023-01-01\n"
	      "source our contract\n"
	      "standard input_uncached=100 output_text=200\n",
	    f);
	assert_int_equal(fclose(f), 0);
	ingest_three(b, file);
	feature_costs(b, fresh, sizeof(fresh));
	assert_string_not_equal(fresh, before);
	const char *rpp[] = { harness_cli_bin(), "reprice", "--since",
		"2020-01-01", "--until", "2100-01-01", "--prices", file,
		"--data-dir", a, NULL };
	e2e_expect_run(rpp, 0, "with overrides from", NULL);
	feature_costs(a, after, sizeof(after));
	assert_string_equal(after, fresh);
	// gpt-4o: 1000 * $100/M + 10 * $200/M = $0.102 = 102000000000 pUSD.
	assert_non_null(strstr(after, "standard=102000000000 "));

	// A broken overrides file is refused, naming it, and changes nothing.
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("entry 1000001 openai gpt-4o\nvalid_from 2023-13-01\n", f);
	assert_int_equal(fclose(f), 0);
	e2e_expect_run(rpp, 1, NULL, file);
	feature_costs(a, before, sizeof(before));
	assert_string_equal(before, fresh);
	harness_rmdir(root);
}

// Misuse is refused with a usage error, and no store is created.
static void
test_usage(void **state)
{
	(void) state;
	char *root = harness_tmpdir();
	assert_non_null(root);
	const char *no_since[]
	    = { harness_cli_bin(), "reprice", "--data-dir", root, NULL };
	free(run_cli(no_since, 2));
	const char *no_before[]
	    = { harness_cli_bin(), "prune", "--data-dir", root, NULL };
	free(run_cli(no_before, 2));
	const char *none[] = { harness_cli_bin(), "prune", "--before", "30d",
		"--data-dir", root, NULL };
	free(run_cli(none, 1));
	char path[1200];
	snprintf(path, sizeof(path), "%s/data.mdb", root);
	assert_int_not_equal(access(path, F_OK), 0);
	harness_rmdir(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reprice_and_prune_live),
		cmocka_unit_test(test_daemon_retention),
		cmocka_unit_test(test_reprice_tier_platform_prices),
		cmocka_unit_test(test_usage),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
