// Tests for budgets (core/budget.c, core/tz.c, core/budget_spend.c):
// amounts parsed exactly into pico-USD; calendar windows in IANA zones
// across DST changes (a 23- and a 25-hour day in Berlin, Havana's
// midnight gap and overlap), month ends (31-day months, a leap
// February, December into January, a zone east of UTC), ISO weeks and
// rolling windows; thresholds and states at their exact boundaries;
// every kind of broken budgets file, each named by file, line and
// field; and the spend of a budget's filters over a window of a real
// store.  Expected instants were worked out with GNU date and zdump.
#include <sys/stat.h>

#include "store_fixture.h"

#include "budget.h"

static budget_set *
parse_ok(const char *text)
{
	budget_set *s = NULL;
	char err[512] = "";
	int rv
	    = budget_parse(text, strlen(text), "b.conf", &s, err, sizeof(err));
	if (rv != 0) {
		fail_msg("budget_parse: %s: %s", llmcost_err_name(rv), err);
	}
	return (s);
}

// One budget with the given window and zone.
static budget_set *
one(const char *window, const char *zone)
{
	char text[256];
	snprintf(text, sizeof(text),
	    "[b]\nlimit = 1\nwindow = %s\ntimezone = %s\n", window, zone);
	return (parse_ok(text));
}

static void
check_window(const char *window, const char *zone, int64_t now,
    int64_t want_from, int64_t want_to)
{
	budget_set *s = one(window, zone);
	int64_t from = -1, to = -1;
	budget_window(&s->b[0], now, &from, &to);
	if (from != want_from || to != want_to) {
		fail_msg("%s in %s at %lld: [%lld, %lld), want [%lld, %lld)",
		    window, zone, (long long) now, (long long) from,
		    (long long) to, (long long) want_from,
		    (long long) want_to);
	}
	assert_int_equal(budget_window_id(&s->b[0], now), want_from);
	budget_set_free(s);
}

static void
test_usd(void **state)
{
	int64_t v = -1;
	(void) state;
	assert_int_equal(budget_parse_usd("0.10", &v), 0);
	assert_int_equal(v, INT64_C(100000000000));
	assert_int_equal(budget_parse_usd("$2", &v), 0);
	assert_int_equal(v, INT64_C(2000000000000));
	assert_int_equal(budget_parse_usd("0.000000000001", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(budget_parse_usd("9000000", &v), 0);
	assert_int_equal(v, BUDGET_LIMIT_MAX_PUSD);
	assert_int_equal(
	    budget_parse_usd("9000000.000000000001", &v), LLMCOST_EINVAL);
	assert_int_equal(budget_parse_usd("0.0000000000001", &v),
	    LLMCOST_EINVAL); // 13 decimals
	assert_int_equal(budget_parse_usd("1.", &v), LLMCOST_EINVAL);
	assert_int_equal(budget_parse_usd(".5", &v), LLMCOST_EINVAL);
	assert_int_equal(budget_parse_usd("-1", &v), LLMCOST_EINVAL);
	assert_int_equal(budget_parse_usd("1e3", &v), LLMCOST_EINVAL);
	assert_int_equal(
	    budget_parse_usd("99999999999999999999", &v), LLMCOST_EINVAL);
}

// Berlin: 2026-03-29 has 23 hours (02:00 CET -> 03:00 CEST),
// 2026-10-25 has 25.
static void
test_dst_berlin(void **state)
{
	(void) state;
	// 12:00 local on each day.
	check_window(
	    "day", "Europe/Berlin", 1774778400, 1774738800, 1774821600);
	assert_int_equal(1774821600 - 1774738800, 23 * 3600);
	check_window(
	    "day", "Europe/Berlin", 1792922400, 1792879200, 1792969200);
	assert_int_equal(1792969200 - 1792879200, 25 * 3600);
	// One second before and at the start of the short day.
	check_window("day", "Europe/Berlin", 1774738799,
	    1774738799 - 86400 + 1, 1774738800);
	check_window(
	    "day", "Europe/Berlin", 1774738800, 1774738800, 1774821600);
}

// Havana springs forward at midnight (2026-03-08 00:00 CST is 01:00
// CDT: the day starts at 01:00 local, 05:00Z) and falls back from 01:00
// CDT to 00:00 CST on 2026-11-01 (the day starts at the first midnight,
// 04:00Z, and lasts 25 hours).
static void
test_dst_midnight(void **state)
{
	(void) state;
	check_window("day", "America/Havana", 1772946000 + 3600, 1772946000,
	    1772946000 + 23 * 3600);
	check_window(
	    "day", "America/Havana", 1772945999, 1772859600, 1772946000);
	check_window("day", "America/Havana", 1793505600 + 7200, 1793505600,
	    1793595600);
	assert_int_equal(1793595600 - 1793505600, 25 * 3600);
}

static void
test_month_ends(void **state)
{
	(void) state;
	// 2026-01-31T16:00Z is already February 1 in Tokyo.
	check_window(
	    "month", "Asia/Tokyo", 1769875200, 1769871600, 1772290800);
	check_window("month", "Asia/Tokyo", 1769871599,
	    1769871600 - 31 * 86400, 1769871600);
	// A leap February in UTC: 29 days.
	check_window("month", "UTC", 1832976000 + 28 * 86400 + 86399,
	    1832976000, 1835481600);
	assert_int_equal(1835481600 - 1832976000, 29 * 86400);
	// December 2026 in Kolkata (+05:30) into January 2027:
	// 2026-12-31T20:00Z is already 2027-01-01 01:30 there.
	check_window("month", "Asia/Kolkata", 1798747200, 1798741800,
	    1798741800 + 31 * 86400);
	check_window(
	    "month", "Asia/Kolkata", 1798741799, 1796063400, 1798741800);
}

static void
test_week_and_rolling(void **state)
{
	(void) state;
	// Thursday 2026-11-26 15:00Z: the ISO week began Monday 11-23.
	check_window("week", "UTC", 1795705200, 1795392000, 1795996800);
	// Monday 00:00 exactly starts a week; a second before ends one.
	check_window("week", "UTC", 1795392000, 1795392000, 1795996800);
	check_window(
	    "week", "UTC", 1795391999, 1795392000 - 7 * 86400, 1795392000);

	budget_set *s = one("rolling 24h", "UTC");
	int64_t from, to;
	assert_int_equal(s->b[0].window, BUDGET_ROLLING);
	budget_window(&s->b[0], 1795705200, &from, &to);
	assert_int_equal(from, 1795705200 + 1 - 86400);
	assert_int_equal(to, 1795705200 + 1);
	// Periods of 24 h from the epoch: 2026-11-26T00:00Z.
	assert_int_equal(budget_window_id(&s->b[0], 1795705200), 1795651200);
	budget_set_free(s);
	s = one("rolling 7d", "UTC");
	assert_int_equal(s->b[0].rolling_s, 7 * 86400);
	budget_set_free(s);
}

static void
test_parse_full(void **state)
{
	(void) state;
	budget_set *s = parse_ok(
	    "# daily budgets\n"
	    "[rag-search]\r\n"
	    "limit = $2.50 USD   # per day\n"
	    "window = day\n"
	    "timezone = Europe/Berlin\n"
	    "match = feature = rag-search\n"
	    "match = env=production\n"
	    "match = meta.user_tier=pro\n"
	    "thresholds = 50%, 90, 150\n"
	    "hard = yes\n"
	    "webhook = slack https://hooks.example.com/services/T/B/x#frag\n"
	    "webhook = json http://127.0.0.1:9/alerts?token=s3cret\n"
	    "\n"
	    "[account]\n"
	    "limit = 1000\n"
	    "window = month\n");
	assert_int_equal(s->n, 2);
	budget *b = &s->b[0];
	assert_string_equal(b->name, "rag-search");
	assert_int_equal(b->line, 2);
	assert_int_equal(b->limit_pusd, INT64_C(2500000000000));
	assert_string_equal(tz_name(b->zone), "Europe/Berlin");
	assert_int_equal(b->n_match, 3);
	assert_int_equal(b->match[0].dim, BUDGET_DIM_FEATURE);
	assert_string_equal(b->match[0].value, "rag-search");
	assert_int_equal(b->match[1].dim, BUDGET_DIM_ENV);
	assert_int_equal(b->match[2].dim, BUDGET_DIM_META);
	assert_string_equal(b->match[2].key, "user_tier");
	assert_int_equal(b->n_thresholds, 3);
	assert_int_equal(b->thresholds[2], 150);
	assert_true(b->hard);
	assert_int_equal(b->n_hooks, 2);
	assert_int_equal(b->hooks[0].format, BUDGET_HOOK_SLACK);
	assert_string_equal(
	    b->hooks[0].url, "https://hooks.example.com/services/T/B/x#frag");
	assert_int_equal(b->hooks[1].format, BUDGET_HOOK_JSON);
	b = &s->b[1];
	assert_int_equal(b->n_match, 0);
	assert_int_equal(b->n_thresholds, 3); // the default 50, 80, 100
	assert_int_equal(b->thresholds[0], 50);
	assert_int_equal(b->thresholds[2], 100);
	assert_false(b->hard);
	assert_string_equal(tz_name(b->zone), "UTC");
	budget_set_free(s);
}

// Each broken file and the start of the error it must get.
static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "limit = 1\n", "b.conf:1: limit: outside a budget" },
		{ "[a]\nwindow = day\n",
		    "b.conf:1: limit: budget [a] has no limit" },
		{ "[a]\nlimit = 1\n", "b.conf:1: window: budget [a] has no" },
		{ "[a]\nlimit = 1.5.0\nwindow = day\n",
		    "b.conf:2: limit: want an amount" },
		{ "[a]\nlimit = 0\nwindow = day\n",
		    "b.conf:2: limit: want an amount" },
		{ "[a]\nlimit = 1\nlimit = 2\n",
		    "b.conf:3: limit: set twice" },
		{ "[a]\nlimit = 1\nwindow = fortnight\n",
		    "b.conf:3: window: want day" },
		{ "[a]\nlimit = 1\nwindow = rolling 0h\n",
		    "b.conf:3: window: want 'rolling N'" },
		{ "[a]\nlimit = 1\nwindow = rolling 367d\n",
		    "b.conf:3: window: want 'rolling N'" },
		{ "[a]\nlimit = 1\nwindow = rolling 5m\n",
		    "b.conf:3: window: want 'rolling N'" },
		{ "[a]\nlimit = 1\nwindow = day\ntimezone = Mars/Olympus\n",
		    "b.conf:1: timezone: unknown time zone 'Mars/Olympus'" },
		{ "[a]\nlimit = 1\nwindow = day\ntimezone = ../etc/passwd\n",
		    "b.conf:1: timezone: '../etc/passwd' is not" },
		{ "[a]\nlimit = 1\nwindow = day\nmatch = feature\n",
		    "b.conf:4: match: want DIMENSION=VALUE" },
		{ "[a]\nlimit = 1\nwindow = day\nmatch = feature=\n",
		    "b.conf:4: match: the value of feature" },
		{ "[a]\nlimit = 1\nwindow = day\nmatch = fea ture=x\n",
		    "b.conf:4: match: the dimension 'fea ture'" },
		{ "[a]\nlimit = 1\nwindow = day\nmatch = env=a\nmatch = "
		  "env=b\n",
		    "b.conf:5: match: env is filtered twice" },
		{ "[a]\nlimit = 1\nwindow = day\nthresholds = 80, 50\n",
		    "b.conf:4: thresholds: 50 does not follow 80" },
		{ "[a]\nlimit = 1\nwindow = day\nthresholds = 0\n",
		    "b.conf:4: thresholds: want percentages" },
		{ "[a]\nlimit = 1\nwindow = day\nthresholds = 50;80\n",
		    "b.conf:4: thresholds: want percentages separated" },
		{ "[a]\nlimit = 1\nwindow = day\nhard = maybe\n",
		    "b.conf:4: hard: want yes or no" },
		{ "[a]\nlimit = 1\nwindow = day\nwebhook = https://x\n",
		    "b.conf:4: webhook: want 'slack URL'" },
		{ "[a]\nlimit = 1\nwindow = day\nwebhook = json "
		  "ftp://secret\n",
		    "b.conf:4: webhook: the URL must start" },
		{ "[a]\nlimit = 1\nwindow = day\ncolour = red\n",
		    "b.conf:4: unknown field 'colour'" },
		{ "[a]\nlimit = 1\nwindow = day\nlimit\n",
		    "b.conf:4: want 'field = value'" },
		{ "[a\n", "b.conf:1: a section is [name]" },
		{ "[a b]\n", "b.conf:1: a budget's name is" },
		{ "[a]\nlimit = 1\nwindow = day\n[a]\n",
		    "b.conf:4: budget [a] is defined twice (first on line "
		    "1)" },
		{ "[a]\nlimit = 1\n\n\n[b]\nlimit = 1\nwindow = day\n",
		    "b.conf:1: window: budget [a] has no" },
		{ "[a]\nlimit = \xff\n", "b.conf:2: not UTF-8" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		budget_set *s = NULL;
		char err[512] = "";
		int rv = budget_parse(cases[i].text, strlen(cases[i].text),
		    "b.conf", &s, err, sizeof(err));
		if (rv != LLMCOST_ECONFIG
		    || strncmp(err, cases[i].want, strlen(cases[i].want))
		        != 0) {
			fail_msg("case %zu: %s: '%s', want '%s...'", i,
			    llmcost_err_name(rv), err, cases[i].want);
		}
		assert_null(s);
	}
	// Secrets in a refused webhook URL are not echoed.
	budget_set *s = NULL;
	char err[512];
	const char *t = "[a]\nlimit = 1\nwindow = day\nwebhook = json "
	                "ftp://user:hunter2@x\n";
	assert_int_equal(
	    budget_parse(t, strlen(t), "b.conf", &s, err, sizeof(err)),
	    LLMCOST_ECONFIG);
	assert_null(strstr(err, "hunter2"));
	// A missing file and one over the cap.
	assert_int_equal(
	    budget_load("/nonexistent/budgets.conf", &s, err, sizeof(err)),
	    LLMCOST_ENOTFOUND);
	char *big = calloc(1, BUDGET_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '#', BUDGET_FILE_MAX + 1);
	assert_int_equal(budget_parse(big, BUDGET_FILE_MAX + 1, "b.conf", &s,
	                     err, sizeof(err)),
	    LLMCOST_ETOOBIG);
	free(big);
}

static void
test_classify(void **state)
{
	(void) state;
	budget_set *s = parse_ok("[a]\nlimit = 2\nwindow = day\n"
	                         "thresholds = 50, 80, 100, 120\n");
	const budget *b = &s->b[0];
	budget_status st;
	const int64_t L = INT64_C(2000000000000);
	static const struct {
		int64_t spend;
		int crossed;
		budget_state state;
		uint32_t bp;
	} cases[] = {
		{ 0, -1, BUDGET_OK, 0 },
		{ L / 2 - 1, -1, BUDGET_OK, 4999 },
		{ L / 2, 0, BUDGET_WARN, 5000 },
		{ L * 8 / 10 - 1, 0, BUDGET_WARN, 7999 },
		{ L * 8 / 10, 1, BUDGET_WARN, 8000 },
		{ L - 1, 1, BUDGET_WARN, 9999 },
		{ L, 2, BUDGET_EXHAUSTED, 10000 },
		{ L * 12 / 10, 3, BUDGET_EXHAUSTED, 12000 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.spend = cases[i].spend;
		budget_classify(b, &st);
		assert_int_equal(st.crossed, cases[i].crossed);
		assert_int_equal(st.state, cases[i].state);
		assert_int_equal(st.pct_bp, cases[i].bp);
	}
	assert_string_equal(budget_state_name(BUDGET_EXHAUSTED), "exhausted");
	budget_set_free(s);
}

static const char *
meta_of(void *arg, const char *key)
{
	const char *const *kv = arg;
	for (; kv[0] != NULL; kv += 2) {
		if (strcmp(kv[0], key) == 0) {
			return (kv[1]);
		}
	}
	return (NULL);
}

static void
test_matches(void **state)
{
	(void) state;
	budget_set *s = parse_ok("[a]\nlimit = 1\nwindow = day\n"
	                         "match = feature=chat\nmatch = model=m1\n"
	                         "match = user_tier=pro\n"
	                         "[all]\nlimit = 1\nwindow = day\n");
	const char *pro[] = { "feature", "chat", "user_tier", "pro", NULL };
	const char *free_[] = { "feature", "chat", "user_tier", "free", NULL };
	assert_true(budget_matches(&s->b[0], "p", "m1", meta_of, pro));
	assert_false(budget_matches(&s->b[0], "p", "m2", meta_of, pro));
	assert_false(budget_matches(&s->b[0], "p", "m1", meta_of, free_));
	assert_false(budget_matches(&s->b[0], "p", "m1", NULL, NULL));
	assert_true(budget_matches(&s->b[1], "p", "m2", NULL, NULL));
	budget_set_free(s);
}

// ---- spend over a real store ----

static int
setup(void **state)
{
	return (fixture_setup(state, "budget"));
}

// gpt-4o: 1000 in = 2,500,000,000 pico-USD; gpt-4o-mini 1000 in =
// 150,000,000.
static const spec data[] = {
	{ 1, H0, "openai", "gpt-4o", "search", "prod", U3(1000, 0, 0), 0 },
	{ 2, H0, "openai", "gpt-4o", "search", "dev", U3(1000, 0, 0), 0 },
	{ 3, H0, "openai", "gpt-4o-mini", "chat", "prod", U3(1000, 0, 0), 0 },
	{ 4, H0 + 1, "openai", "gpt-4o", "search", "prod", U3(1000, 0, 0), 0 },
	{ 5, H0 + 24, "openai", "gpt-4o", "search", "prod", U3(1000, 0, 0),
	    0 },
	{ 6, H0, "openai", "gpt-4o", "chat", "dev", U3(1000, 0, 0), 0,
	    "user_tier", "pro" },
};

static void
test_spend(void **state)
{
	fixture *f = *state;
	write_specs(f->s, data, 6, 0, 6, 0);
	budget_set *s = parse_ok(
	    "[search-prod]\nlimit = 0.01\nwindow = day\n"
	    "match = feature=search\nmatch = env=prod\n"
	    "[search]\nlimit = 0.01\nwindow = day\nmatch = feature=search\n"
	    "[all]\nlimit = 0.01\nwindow = rolling 1h\n"
	    "[mini]\nlimit = 0.0001\nwindow = day\nmatch = model=gpt-4o-mini\n"
	    "[tier]\nlimit = 1\nwindow = day\nmatch = user_tier=pro\n");
	store_rtxn *t;
	budget_status st;
	const int64_t day0 = (int64_t) H0 * 3600;
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(budget_eval(t, &s->b[0], day0 + 7200, &st));
	assert_int_equal(st.from, day0);
	assert_int_equal(st.to, day0 + 86400);
	assert_true(st.spend == (store_i128) INT64_C(5000000000));
	assert_int_equal(st.calls, 2);
	assert_int_equal(st.pct_bp, 5000);
	assert_int_equal(st.state, BUDGET_WARN);
	LLMCOST_PASS(budget_eval(t, &s->b[1], day0 + 7200, &st));
	assert_int_equal(st.calls, 3);
	// The next day holds run 5 only.
	LLMCOST_PASS(budget_eval(t, &s->b[1], day0 + 86400, &st));
	assert_int_equal(st.calls, 1);
	// The rolling hour up to H0's last second is H0: runs 1-3 and 6.
	LLMCOST_PASS(budget_eval(t, &s->b[2], day0 + 3599, &st));
	assert_int_equal(st.calls, 4);
	assert_true(st.spend == (store_i128) INT64_C(7650000000));
	LLMCOST_PASS(budget_eval(t, &s->b[3], day0 + 60, &st));
	assert_true(st.spend == (store_i128) INT64_C(150000000));
	assert_int_equal(st.state, BUDGET_EXHAUSTED);
	assert_int_equal(st.pct_bp, 15000);
	// Any metadata key, through the query engine.
	LLMCOST_PASS(budget_eval(t, &s->b[4], day0 + 60, &st));
	assert_int_equal(st.calls, 1);
	assert_true(st.spend == (store_i128) INT64_C(2500000000));
	store_read_end(t);
	budget_set_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usd),
		cmocka_unit_test(test_dst_berlin),
		cmocka_unit_test(test_dst_midnight),
		cmocka_unit_test(test_month_ends),
		cmocka_unit_test(test_week_and_rolling),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_matches),
		cmocka_unit_test_setup_teardown(
		    test_spend, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
