// End to end: `llmcost report`'s query options against calls recorded
// through libllmcost and stored by a real llmcostd, read both from the
// data directory and from the daemon itself (--collector), which must
// print the same bytes.  Groups by a trace (request scopes), a metadata
// key and the user_tier alias, filters with = and !=, top N, a time
// series in a zone with a half-hour offset, windows given as RFC 3339
// times to the second, and the errors that say what to do.  Expected
// figures are worked out here from list prices (pico-USD per token).
#include "e2e.h"

#include <jansson.h>
#include <signal.h>
#include <time.h>

#define P_IN  150000 // gpt-4o-mini, per input token
#define P_OUT 600000 // per output token

typedef struct call {
	int trace;           // 0: outside a scope, else 1..3
	const char *team;    // meta.team, NULL: none
	const char *tier;    // user_tier, NULL: none
	const char *env;     // env
	const char *feature; // feature
	int beta;            // tagged "beta"
	uint64_t in, out;
	int vip; // tagged "vip"
} call;

static const call calls[] = {
	{ 1, "red", "pro", "production", "chat", 1, 1000, 100, 1 },
	{ 1, "red", "pro", "production", "search", 0, 2000, 50, 0 },
	{ 2, "blue", "free", "production", "chat", 0, 300, 30, 1 },
	{ 2, "blue", "free", "production", "chat", 0, 400, 40, 0 },
	{ 3, "red", NULL, "dev", "search", 1, 5000, 500, 0 },
	{ 0, NULL, "pro", "production", "chat", 0, 700, 70, 0 },
	{ 0, "blue", NULL, "production", "summarize", 1, 90, 9, 0 },
	{ 0, "green", "free", "dev", "chat", 0, 10, 1, 0 },
};
#define N_CALLS (sizeof(calls) / sizeof(calls[0]))

static char *dir;
static char url[1100];
static pid_t daemon_pid;
static char trace_ids[4][40];
static char since[32], until[32];
static time_t t_calls; // when the calls were made (after them)

static __int128
cost_of(const call *c)
{
	return ((__int128) c->in * P_IN + (__int128) c->out * P_OUT);
}

static void
record_one(llmcost_client *cl, const llmcost_scope *sc, const call *c)
{
	llmcost_call *x;
	llmcost_usage u;

	if (sc != NULL) {
		LLMCOST_PASS(
		    llmcost_scope_call_begin(sc, "openai", "gpt-4o-mini", &x));
	} else {
		LLMCOST_PASS(
		    llmcost_call_begin(cl, "openai", "gpt-4o-mini", &x));
	}
	LLMCOST_PASS(llmcost_call_set_meta(x, "feature", c->feature));
	LLMCOST_PASS(llmcost_call_set_meta(x, "env", c->env));
	if (c->team != NULL) {
		LLMCOST_PASS(llmcost_call_set_meta(x, "team", c->team));
	}
	if (c->tier != NULL) {
		LLMCOST_PASS(llmcost_call_set_meta(x, "user_tier", c->tier));
	}
	if (c->vip) {
		LLMCOST_PASS(llmcost_call_add_tag(x, "vip"));
	}
	if (c->beta) {
		LLMCOST_PASS(llmcost_call_add_tag(x, "beta"));
	}
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = c->in;
	u.tokens[LLMCOST_OUT_TEXT] = c->out;
	LLMCOST_PASS(llmcost_call_set_usage(x, &u));
	LLMCOST_PASS(llmcost_call_end(x));
}

static int
setup(void **state)
{
	llmcost_client *cl;
	llmcost_scope sc[4];

	(void) state;
	daemon_pid = harness_daemon_tmp(&dir, url, sizeof(url));
	if (daemon_pid <= 0 || (cl = e2e_client(url)) == NULL) {
		return (-1);
	}
	for (int t = 1; t <= 3; t++) {
		LLMCOST_PASS(llmcost_scope_begin(cl, NULL, "request", &sc[t]));
		LLMCOST_PASS(llmcost_scope_run_id(
		    &sc[t], trace_ids[t], sizeof(trace_ids[t])));
	}
	for (size_t i = 0; i < N_CALLS; i++) {
		record_one(cl, calls[i].trace ? &sc[calls[i].trace] : NULL,
		    &calls[i]);
	}
	for (int t = 1; t <= 3; t++) {
		LLMCOST_PASS(llmcost_scope_end(&sc[t]));
	}
	LLMCOST_PASS(llmcost_flush(cl, 20000));
	llmcost_shutdown(cl, 1000);
	// A window of whole seconds around the calls, in RFC 3339.
	time_t now = time(NULL), a = now - 3600, b = now + 3600;
	t_calls = now;
	struct tm tm;
	gmtime_r(&a, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&b, &tm);
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	(void) harness_daemon_tmp_stop(daemon_pid, dir);
	return (0);
}

// Runs `llmcost report ARGS... --since S --until U` against the data
// directory and against the daemon, checks both exit 0 with the same
// output, and returns that output (free it).
static char *
report_both(const char *const *args)
{
	const char *argv[2][32];
	char *out[2], *err[2];
	size_t n = 0;

	for (int w = 0; w < 2; w++) {
		n = 0;
		argv[w][n++] = harness_cli_bin();
		argv[w][n++] = "report";
		for (size_t i = 0; args[i] != NULL; i++) {
			argv[w][n++] = args[i];
		}
		argv[w][n++] = "--since";
		argv[w][n++] = since;
		argv[w][n++] = "--until";
		argv[w][n++] = until;
		argv[w][n++] = w == 0 ? "--data-dir" : "--collector";
		argv[w][n++] = w == 0 ? dir : url;
		argv[w][n] = NULL;
		int rv = harness_run(argv[w], &out[w], &err[w]);
		if (rv != 0) {
			fail_msg("report (%s) exit %d: %s",
			    w ? "collector" : "dir", rv, err[w]);
		}
	}
	if (strcmp(out[0], out[1]) != 0) {
		fail_msg("--data-dir and --collector differ:\n%s\n---\n%s",
		    out[0], out[1]);
	}
	free(out[1]);
	free(err[0]);
	free(err[1]);
	return (out[0]);
}

static json_t *
report_json(const char *const *args)
{
	char *out = report_both(args);
	json_error_t je;
	json_t *root = json_loads(out, 0, &je);
	if (root == NULL) {
		fail_msg("not JSON: %s\n%s", je.text, out);
	}
	free(out);
	return (root);
}

static const char *
cost_text(__int128 v, char *buf, size_t n)
{
	return (harness_fmt128(v, buf, n));
}

static void
check_group(json_t *row, uint64_t calls_want, __int128 cost)
{
	char buf[64];
	E2E_ASSERT_JSON_INT(row, "calls", calls_want);
	E2E_ASSERT_JSON_STR(
	    row, "cost_pusd", cost_text(cost, buf, sizeof(buf)));
}

// The row whose key `key` is value (NULL: absent).
static json_t *
find_row(json_t *rows, const char *key, const char *value)
{
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);
		json_t *k = json_object_get(r, key);
		if (value == NULL
		        ? json_is_null(k)
		        : (json_is_string(k)
		            && strcmp(json_string_value(k), value) == 0)) {
			return (r);
		}
	}
	fail_msg("no row with %s = %s", key, value ? value : "null");
	return (NULL);
}

static void
test_by_trace(void **state)
{
	(void) state;
	json_t *root = report_json(
	    (const char *[]) { "--by", "trace", "--json", NULL });
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 4);
	for (int t = 0; t <= 3; t++) {
		uint64_t n = 0;
		__int128 cost = 0;
		for (size_t i = 0; i < N_CALLS; i++) {
			if (calls[i].trace == t) {
				n++;
				cost += cost_of(&calls[i]);
			}
		}
		check_group(
		    find_row(rows, "trace", t ? trace_ids[t] : NULL), n, cost);
	}
	json_decref(root);
}

static void
test_meta_and_filters(void **state)
{
	(void) state;
	json_t *root = report_json((const char *[]) { "--by",
	    "meta.team,user_tier", "--where", "env=production", "--where",
	    "tag!=beta", "--format", "json", NULL });
	json_t *rows = json_object_get(root, "rows");
	// Production calls without "beta": 2 (red, pro), 3 and 4 (blue,
	// free), 6 (no team, pro).
	assert_int_equal(json_array_size(rows), 3);
	json_t *r = json_array_get(rows, 0);
	E2E_ASSERT_JSON_STR(r, "meta.team", "red");
	E2E_ASSERT_JSON_STR(r, "user_tier", "pro");
	check_group(r, 1, cost_of(&calls[1]));
	r = find_row(rows, "meta.team", "blue");
	check_group(r, 2, cost_of(&calls[2]) + cost_of(&calls[3]));
	r = find_row(rows, "meta.team", NULL);
	E2E_ASSERT_JSON_STR(r, "user_tier", "pro");
	check_group(r, 1, cost_of(&calls[5]));
	json_t *w = json_object_get(root, "where");
	assert_string_equal(
	    json_string_value(json_array_get(w, 1)), "tag!=beta");
	json_decref(root);
}

// One row per tag, from the data directory and from the daemon alike:
// call 0 (beta and vip) is in two rows, the total counts it once.
static void
test_by_tag(void **state)
{
	(void) state;
	json_t *root
	    = report_json((const char *[]) { "--by", "tag", "--json", NULL });
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 3);
	__int128 beta = 0, vip = 0, none = 0, all = 0;
	uint64_t nb = 0, nv = 0, nn = 0;
	for (size_t i = 0; i < N_CALLS; i++) {
		__int128 c = cost_of(&calls[i]);
		all += c;
		if (calls[i].beta) {
			beta += c;
			nb++;
		}
		if (calls[i].vip) {
			vip += c;
			nv++;
		}
		if (!calls[i].beta && !calls[i].vip) {
			none += c;
			nn++;
		}
	}
	check_group(find_row(rows, "tag", "beta"), nb, beta);
	check_group(find_row(rows, "tag", "vip"), nv, vip);
	check_group(find_row(rows, "tag", NULL), nn, none);
	check_group(json_object_get(root, "total"), N_CALLS, all);
	assert_true(json_is_true(json_object_get(root, "rows_overlap")));
	json_decref(root);
	char *out = report_both((const char *[]) { "--by", "tag", NULL });
	assert_non_null(strstr(out, "the rows overlap"));
	free(out);
	// By tag set: "beta,vip" is a row of its own; no overlap.
	root = report_json(
	    (const char *[]) { "--by", "tagset", "--json", NULL });
	rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 4);
	check_group(
	    find_row(rows, "tagset", "beta,vip"), 1, cost_of(&calls[0]));
	assert_null(json_object_get(root, "rows_overlap"));
	json_decref(root);
}

static void
test_top_and_series(void **state)
{
	(void) state;
	// By feature: search (calls 2 and 5) costs most, then chat.
	json_t *root = report_json((const char *[]) {
	    "--by", "feature", "--top", "1", "--json", NULL });
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 2);
	json_t *r = json_array_get(rows, 0);
	E2E_ASSERT_JSON_STR(r, "feature", "search");
	check_group(r, 2, cost_of(&calls[1]) + cost_of(&calls[4]));
	r = json_array_get(rows, 1);
	assert_true(json_is_true(json_object_get(r, "other")));
	assert_true(json_is_null(json_object_get(r, "feature")));
	E2E_ASSERT_JSON_INT(r, "calls", 6);
	json_decref(root);

	// Per hour in India (+05:30): every period starts at half past a
	// UTC hour, and the periods add up to every call.
	root = report_json((const char *[]) { "--by", "none", "--every",
	    "hour", "--tz", "Asia/Kolkata", "--json", NULL });
	rows = json_object_get(root, "rows");
	assert_true(json_array_size(rows) >= 1 && json_array_size(rows) <= 2);
	uint64_t total = 0;
	// The last period holds the calls' end: the Indian hour of then.
	char want[40];
	time_t ist = t_calls + 19800 - (t_calls + 19800) % 3600;
	struct tm tm;
	gmtime_r(&ist, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:00:00+05:30", &tm);
	for (size_t i = 0; i < json_array_size(rows); i++) {
		r = json_array_get(rows, i);
		const char *ps
		    = json_string_value(json_object_get(r, "period_start"));
		assert_non_null(strstr(ps, ":00:00+05:30"));
		if (i + 1 == json_array_size(rows)) {
			assert_string_equal(ps, want);
		}
		total += (uint64_t) json_integer_value(
		    json_object_get(r, "calls"));
	}
	assert_int_equal(total, N_CALLS);
	json_decref(root);

	// The table, through both ways, with its period column.
	char *t = report_both((const char *[]) {
	    "--by", "env", "--every", "day", "--tz", "Europe/Berlin", NULL });
	assert_non_null(strstr(t, "Day        Env"));
	assert_non_null(strstr(t, "(Europe/Berlin)"));
	free(t);
}

// Windows are exact to the second: one that ends before the calls
// holds none.
static void
test_windows(void **state)
{
	(void) state;
	char *out, *err;
	const char *argv[] = { harness_cli_bin(), "report", "--since", since,
		"--until", since, "--data-dir", dir, NULL };
	// An empty window is an error that says so.
	assert_int_equal(harness_run(argv, &out, &err), 2);
	assert_non_null(strstr(err, "window is empty"));
	free(out);
	free(err);
	char early[32];
	time_t e = time(NULL) - 1800;
	struct tm tm;
	gmtime_r(&e, &tm);
	strftime(early, sizeof(early), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	const char *a2[] = { harness_cli_bin(), "report", "--since", since,
		"--until", early, "--json", "--collector", url, NULL };
	assert_int_equal(harness_run(a2, &out, &err), 0);
	json_t *root = json_loads(out, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(root, "total"), "calls")),
	    0);
	json_decref(root);
	free(out);
	free(err);
}

static void
test_errors(void **state)
{
	(void) state;
	const char *cli = harness_cli_bin();
	char dead[1200];
	snprintf(dead, sizeof(dead), "ipc://%s/nobody.sock", dir);
	e2e_expect_run(
	    (const char *[]) { cli, "report", "--collector", dead, NULL }, 1,
	    NULL, "is it running?");
	e2e_expect_run((const char *[]) { cli, "report", "--every", "month",
	                   "--data-dir", dir, NULL },
	    2, NULL, "want hour, day or week");
	e2e_expect_run((const char *[]) { cli, "report", "--where", "env",
	                   "--data-dir", dir, NULL },
	    2, NULL, "want KEY=VALUE or KEY!=VALUE");
	e2e_expect_run((const char *[]) { cli, "report", "--collector", url,
	                   "--data-dir", dir, NULL },
	    2, NULL, "give one");
	e2e_expect_run((const char *[]) { cli, "report", "--until",
	                   "3000-01-01", "--data-dir", dir, NULL },
	    2, NULL, "between 1970 and 2554");
	e2e_expect_run((const char *[]) { cli, "report", "--since",
	                   "1969-12-31T23:59:59Z", "--data-dir", dir, NULL },
	    2, NULL, "between 1970 and 2554");
	e2e_expect_run((const char *[]) { cli, "report", "--top", "0",
	                   "--data-dir", dir, NULL },
	    2, NULL, "whole number from 1");
	// The daemon refuses a bad query with the engine's words.
	e2e_expect_run((const char *[]) { cli, "report", "--where",
	                   "trace=xyz", "--collector", url, NULL },
	    2, NULL, "a trace is a UUID");
	e2e_expect_run((const char *[]) { cli, "report", "--help", NULL }, 0,
	    "meta.<key>, user_tier, tag, tagset or trace", NULL);
	e2e_expect_run((const char *[]) { cli, "report", "--help", NULL }, 0,
	    "--by tag gives one row per tag: a call with several tags is "
	    "counted in the",
	    NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_trace),
		cmocka_unit_test(test_meta_and_filters),
		cmocka_unit_test(test_by_tag),
		cmocka_unit_test(test_top_and_series),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_errors),
	};
	return (cmocka_run_group_tests(tests, setup, teardown));
}
