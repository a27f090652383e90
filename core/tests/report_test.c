// Tests for cost reports by one roll-up dimension (core/query.c) built
// from a real store, each answered from the rollups and from the runs
// alone (the two must agree): grouping by feature, model, env and
// provider over a window of hours,
// row order, exact totals, the unpriced-model list and the drop count;
// the exact decimal formatting of pico-USD amounts (core/report.c); and
// the dimension
// table's names and lists (core/dims.c).  Every expected
// figure is worked out by hand in pico-USD (1e-12 USD).
#include <sys/stat.h>

#include "store_fixture.h"

#include "query.h"
#include "report.h"

// ---- the store ----

// The store every report test reads.  Prices (pico-USD per token):
// gpt-4o 2.5e6 in, 1.25e6 cached, 1e7 out; gpt-4o-mini 150,000 in (and
// image in), 75,000 cached, 600,000 out (and reasoning out).
static const spec data[] = {
	// 1000 * 2.5e6 + 200 * 1.25e6 + 500 * 1e7 = 7,750,000,000
	{ 1, H0, "openai", "gpt-4o", "search", "prod", U3(1000, 200, 500), 0 },
	// 1000 * 2.5e6 = 2,500,000,000
	{ 2, H0, "openai", "gpt-4o", "search", "prod", U3(1000, 0, 0), 0 },
	// 2000 * 150,000 + 300 * 600,000 = 480,000,000 (a failed call)
	{ 3, H0, "openai", "gpt-4o-mini", "chat", "dev", U3(2000, 0, 300),
	    LLMCOST_STATUS_ERROR },
	// 10000 * 150,000 + 1000 * 75,000 + 20 image * 150,000 + 1000 *
	// 600,000 + 50 reasoning * 600,000 = 1,500,000,000 + 75,000,000 +
	// 3,000,000 + 600,000,000 + 30,000,000 = 2,208,000,000
	{ 4, H0, "openai", "gpt-4o-mini", "chat", "prod",
	    { [LLMCOST_IN_UNCACHED] = 10000,
	        [LLMCOST_IN_CACHE_READ] = 1000,
	        [LLMCOST_IN_IMAGE] = 20,
	        [LLMCOST_OUT_TEXT] = 1000,
	        [LLMCOST_OUT_REASONING] = 50 },
	    0 },
	// Unknown model: unpriced, 0.
	{ 5, H0, "acme", "mystery-1", "chat", "dev", U3(100, 0, 10), 0 },
	// No feature.  400 * 2.5e6 + 100 * 1e7 = 2,000,000,000
	{ 6, H0, "openai", "gpt-4o", NULL, "prod", U3(400, 0, 100), 0 },
	// No feature, no env, unpriced.
	{ 7, H0, "acme", "mystery-1", NULL, NULL, U3(50, 0, 5), 0 },
	// Zero-cost features: "gamma" has two calls, "alpha" and "beta"
	// one each.
	{ 8, H0, "acme", "mystery-2", "beta", "dev", U3(1, 0, 1), 0 },
	{ 9, H0, "acme", "mystery-2", "alpha", "dev", U3(1, 0, 1), 0 },
	{ 11, H0, "acme", "mystery-2", "gamma", "dev", U3(1, 0, 1), 0 },
	{ 12, H0, "acme", "mystery-2", "gamma", "dev", U3(1, 0, 1), 0 },
	// The next hour.  100 * 2.5e6 = 250,000,000
	{ 10, H0 + 1, "openai", "gpt-4o", "search", "prod", U3(100, 0, 0), 0 },
};
#define N_DATA  (sizeof(data) / sizeof(data[0]))
#define DROPPED 7

static int
setup_empty(void **state)
{
	return (fixture_setup(state, "report"));
}

static int
setup(void **state)
{
	if (setup_empty(state) != 0) {
		return (-1);
	}
	fixture *f = *state;
	write_specs(f->s, data, N_DATA, DROPPED, N_DATA, 0);
	return (0);
}

// ---- checking reports ----

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct want_row {
	const char *name; // NULL: untagged
	uint64_t calls, unpriced, errors, in, out;
	store_i128 cost;
} want_row;

// A query of one dimension over whole hours [from, to), answered both
// ways; the two answers must agree field by field, and the first is
// returned.
static query_result *
build_report(store *s, report_dim dim, uint32_t from, uint32_t to)
{
	query_result *r[2] = { NULL, NULL };
	query_spec q;

	query_spec_init(&q);
	q.by[0].dim = dim;
	q.from_ns = (uint64_t) from * NS_PER_HOUR;
	q.to_ns = to > UINT64_MAX / NS_PER_HOUR ? UINT64_MAX
	                                        : (uint64_t) to * NS_PER_HOUR;
	if (from >= to) {
		// An empty window is refused; an hour from the epoch's
		// start holds nothing.
		q.from_ns = 0;
		q.to_ns = NS_PER_HOUR;
	}
	for (int i = 0; i < 2; i++) {
		q.flags = i == 0 ? 0 : QUERY_RUNS_ONLY;
		LLMCOST_PASS(query_run(s, &q, &r[i], NULL, 0));
		assert_non_null(r[i]);
		assert_int_equal(r[i]->spec.by[0].dim, dim);
	}
	assert_int_equal(r[0]->n_rows, r[1]->n_rows);
	for (size_t i = 0; i < r[0]->n_rows; i++) {
		assert_memory_equal(&r[0]->rows[i].sum, &r[1]->rows[i].sum,
		    sizeof(query_sums));
	}
	assert_memory_equal(&r[0]->total, &r[1]->total, sizeof(query_sums));
	assert_int_equal(r[0]->n_unpriced, r[1]->n_unpriced);
	query_result_free(r[1]);
	return (r[0]);
}

// Checks one row, named what in a failure, against want; and that its
// token totals are the sums of its exclusive buckets.
static void
check_row(const query_sums *row, const char *name, const want_row *want,
    const char *what)
{
	char a[64], b[64];
	uint64_t in = 0, out = 0;

	if (want->name == NULL) {
		if (name != NULL) {
			fail_msg("%s is '%s', want untagged", what, name);
		}
	} else if (name == NULL || strcmp(name, want->name) != 0) {
		fail_msg("%s is '%s', want '%s'", what,
		    name ? name : "(untagged)", want->name);
	}
	assert_int_equal(row->calls, want->calls);
	assert_int_equal(row->unpriced_calls, want->unpriced);
	assert_int_equal(row->error_calls, want->errors);
	assert_int_equal(row->input_tokens, want->in);
	assert_int_equal(row->output_tokens, want->out);
	if (row->cost_pusd != want->cost) {
		fail_msg("%s cost %s, want %s", what,
		    report_fmt_i128(row->cost_pusd, a, sizeof(a)),
		    report_fmt_i128(want->cost, b, sizeof(b)));
	}
	for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
		if (k <= LLMCOST_IN_IMAGE) {
			in += row->usage[k];
		} else {
			out += row->usage[k];
		}
	}
	assert_int_equal(row->input_tokens, in);
	assert_int_equal(row->output_tokens, out);
}

static void
check_rows(const query_result *r, const want_row *want, size_t n)
{
	char what[32];

	if (r->n_rows != n) {
		fail_msg("%zu rows, want %zu", r->n_rows, n);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "row %zu", i);
		check_row(&r->rows[i].sum, r->rows[i].keys[0], &want[i], what);
	}
}

// The total row is the exact sum of the rows, field by field.
static void
check_total(const query_result *r)
{
	want_row sum = { NULL, 0, 0, 0, 0, 0, 0 };
	uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };

	for (size_t i = 0; i < r->n_rows; i++) {
		const query_sums *row = &r->rows[i].sum;
		sum.calls += row->calls;
		sum.unpriced += row->unpriced_calls;
		sum.errors += row->error_calls;
		sum.in += row->input_tokens;
		sum.out += row->output_tokens;
		sum.cost += row->cost_pusd;
		for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
			usage[k] += row->usage[k];
		}
	}
	check_row(&r->total, NULL, &sum, "total");
	assert_memory_equal(r->total.usage, usage, sizeof(usage));
}

// Builds a report, checks its rows against want and its total against
// its rows; the caller checks the rest and frees it.
static query_result *
check_report(store *s, report_dim dim, uint32_t from, uint32_t to,
    const want_row *want, size_t n)
{
	query_result *r = build_report(s, dim, from, to);

	check_rows(r, want, n);
	check_total(r);
	return (r);
}

// The index of the last unpriced entry of provider in r, with its calls
// in *calls; -1 if there is none.
static int
find_unpriced(const query_result *r, const char *provider, uint64_t *calls)
{
	int found = -1;

	for (size_t i = 0; i < r->n_unpriced; i++) {
		const query_unpriced *u = &r->unpriced[i];
		if (u->provider != NULL
		    && strcmp(u->provider, provider) == 0) {
			found = (int) i;
			*calls = u->calls;
		}
	}
	return (found);
}

// ---- report tests ----

static void
test_by_feature(void **state)
{
	fixture *f = *state;
	// Sorted by cost, then calls, then name; untagged sorts after
	// named rows of equal cost and calls.
	static const want_row want[] = {
		// 7,750,000,000 + 2,500,000,000
		{ "search", 2, 0, 0, 2200, 500, INT64_C(10250000000) },
		// 480,000,000 + 2,208,000,000; in 2000 + 11020 + 100, out
		// 300 + 1050 + 10
		{ "chat", 3, 1, 1, 13120, 1360, INT64_C(2688000000) },
		{ NULL, 2, 1, 0, 450, 105, INT64_C(2000000000) },
		{ "gamma", 2, 2, 0, 2, 2, 0 },
		{ "alpha", 1, 1, 0, 1, 1, 0 },
		{ "beta", 1, 1, 0, 1, 1, 0 },
	};
	query_result *r = check_report(
	    f->s, REPORT_BY_FEATURE, H0, H0 + 1, want, N_OF(want));
	assert_int_equal(r->total.calls, 11);
	assert_int_equal(r->total.input_tokens, 15774);
	assert_int_equal(r->total.output_tokens, 1969);
	assert_true(r->total.cost_pusd == INT64_C(14938000000));
	assert_int_equal(r->total.usage[LLMCOST_IN_IMAGE], 20);
	assert_int_equal(r->total.usage[LLMCOST_OUT_REASONING], 50);
	assert_int_equal(r->dropped, DROPPED);

	// Unknown models, by unpriced calls.
	assert_int_equal(r->n_unpriced, 2);
	assert_string_equal(r->unpriced[0].provider, "acme");
	assert_string_equal(r->unpriced[0].model, "mystery-2");
	assert_int_equal(r->unpriced[0].calls, 4);
	assert_string_equal(r->unpriced[1].provider, "acme");
	assert_string_equal(r->unpriced[1].model, "mystery-1");
	assert_int_equal(r->unpriced[1].calls, 2);
	query_result_free(r);
}

static void
test_by_model(void **state)
{
	fixture *f = *state;
	static const want_row want[] = {
		// 7,750,000,000 + 2,500,000,000 + 2,000,000,000
		{ "gpt-4o", 3, 0, 0, 2600, 600, INT64_C(12250000000) },
		{ "gpt-4o-mini", 2, 0, 1, 13020, 1350, INT64_C(2688000000) },
		{ "mystery-2", 4, 4, 0, 4, 4, 0 },
		{ "mystery-1", 2, 2, 0, 150, 15, 0 },
	};
	query_result *r = check_report(
	    f->s, REPORT_BY_MODEL, H0, H0 + 1, want, N_OF(want));
	assert_true(r->total.cost_pusd == INT64_C(14938000000));
	query_result_free(r);
}

static void
test_by_env_and_provider(void **state)
{
	fixture *f = *state;
	static const want_row env[] = {
		// 7,750,000,000 + 2,500,000,000 + 2,208,000,000 +
		// 2,000,000,000
		{ "prod", 4, 0, 0, 1200 + 1000 + 11020 + 400, 500 + 1050 + 100,
		    INT64_C(14458000000) },
		{ "dev", 6, 5, 1, 2000 + 100 + 4, 300 + 10 + 4,
		    INT64_C(480000000) },
		{ NULL, 1, 1, 0, 50, 5, 0 },
	};
	query_result_free(
	    check_report(f->s, REPORT_BY_ENV, H0, H0 + 1, env, N_OF(env)));

	static const want_row prov[] = {
		{ "openai", 5, 0, 1, 2200 + 13020 + 400, 500 + 1350 + 100,
		    INT64_C(14938000000) },
		{ "acme", 6, 6, 0, 150 + 4, 15 + 4, 0 },
	};
	query_result_free(check_report(
	    f->s, REPORT_BY_PROVIDER, H0, H0 + 1, prov, N_OF(prov)));
}

static void
test_windows(void **state)
{
	fixture *f = *state;

	// Two hours: "search" gains the call of the second hour.
	query_result *r = build_report(f->s, REPORT_BY_FEATURE, H0, H0 + 2);
	assert_int_equal(r->n_rows, 6);
	assert_string_equal(r->rows[0].keys[0], "search");
	assert_int_equal(r->rows[0].sum.calls, 3);
	assert_int_equal(r->rows[0].sum.input_tokens, 2300);
	assert_true(r->rows[0].sum.cost_pusd == INT64_C(10500000000));
	check_total(r);
	assert_int_equal(r->total.calls, 12);
	assert_int_equal(r->dropped, DROPPED);
	query_result_free(r);

	// The second hour alone.
	static const want_row second[] = {
		{ "search", 1, 0, 0, 100, 0, INT64_C(250000000) },
	};
	r = check_report(f->s, REPORT_BY_FEATURE, H0 + 1, H0 + 2, second, 1);
	assert_int_equal(r->n_unpriced, 0);
	// Drops were recorded in the hour the batch arrived (H0).
	assert_int_equal(r->dropped, 0);
	query_result_free(r);

	// A window with nothing in it.
	r = build_report(f->s, REPORT_BY_MODEL, H0 + 5, H0 + 10);
	assert_int_equal(r->n_rows, 0);
	assert_int_equal(r->n_unpriced, 0);
	assert_int_equal(r->total.calls, 0);
	assert_true(r->total.cost_pusd == 0);
	assert_int_equal(r->dropped, 0);
	query_result_free(r);
	r = build_report(f->s, REPORT_BY_MODEL, H0, H0);
	assert_int_equal(r->n_rows, 0);
	query_result_free(r);
}

static void
test_empty_store(void **state)
{
	fixture *f = *state;
	query_result *r = build_report(f->s, REPORT_BY_FEATURE, 0, UINT32_MAX);
	assert_int_equal(r->n_rows, 0);
	assert_int_equal(r->n_unpriced, 0);
	assert_int_equal(r->total.calls, 0);
	assert_int_equal(r->dropped, 0);
	query_result_free(r);
	query_result_free(NULL);
}

// The unpriced list is per (provider, model): Azure's gpt-4o (never
// priced) and OpenAI's gpt-4o with audio input (a bucket without a
// published price) are different things to fix, so they are listed
// apart even though the model name is the same.
static void
test_unpriced_per_provider_model(void **state)
{
	fixture *f = *state;
	static const spec mixed[] = {
		{ 1, H0, "openai", "gpt-4o", "voice", "prod",
		    { [LLMCOST_IN_UNCACHED] = 100, [LLMCOST_IN_AUDIO] = 10 },
		    0 },
		{ 2, H0, "azure", "gpt-4o", "voice", "prod", U3(100, 0, 0),
		    0 },
		{ 3, H0, "azure", "gpt-4o", "voice", "prod", U3(100, 0, 0),
		    0 },
		{ 4, H0, "openai", "gpt-4o", "voice", "prod", U3(100, 0, 0),
		    0 },
	};
	write_specs(f->s, mixed, 4, 0, 4, 0);
	query_result *r = build_report(f->s, REPORT_BY_MODEL, H0, H0 + 1);

	// One model row: 4 calls, 3 of them unpriced; the priced part is
	// 100 * 2.5e6 (the audio run's text) + 100 * 2.5e6.
	static const want_row want[] = {
		{ "gpt-4o", 4, 3, 0, 410, 0, INT64_C(500000000) },
	};
	check_rows(r, want, 1);

	// Copy what is checked, so that a failure leaks nothing.
	int bad_model = 0;
	uint64_t azure_calls = 0, openai_calls = 0;
	size_t n = r->n_unpriced;
	char first[128] = "-";
	for (size_t i = 0; i < n; i++) {
		const query_unpriced *u = &r->unpriced[i];
		if (u->model == NULL || strcmp(u->model, "gpt-4o") != 0) {
			bad_model = 1;
		}
	}
	int azure = find_unpriced(r, "azure", &azure_calls);
	int openai = find_unpriced(r, "openai", &openai_calls);
	if (n > 0) {
		snprintf(first, sizeof(first), "%s/%s, %llu calls",
		    r->unpriced[0].provider ? r->unpriced[0].provider : "?",
		    r->unpriced[0].model ? r->unpriced[0].model : "?",
		    (unsigned long long) r->unpriced[0].calls);
	}
	query_result_free(r);

	assert_false(bad_model);
	if (n != 2 || azure < 0 || openai < 0) {
		fail_msg("%zu unpriced entries (first: %s); want "
		         "azure/gpt-4o (2 calls) and openai/gpt-4o (1 call)",
		    n, first);
	}
	assert_int_equal(azure_calls, 2);
	assert_int_equal(openai_calls, 1);
	assert_int_equal(azure, 0); // more calls first
}

// ---- formatting ----

static void
check_usd(store_i128 v, int decimals, const char *want)
{
	char buf[80];
	memset(buf, 'X', sizeof(buf));
	char *got = report_fmt_usd(v, decimals, buf, sizeof(buf));
	assert_ptr_equal(got, buf);
	if (strcmp(buf, want) != 0) {
		char num[64];
		fail_msg("report_fmt_usd(%s, %d) = \"%s\", want \"%s\"",
		    report_fmt_i128(v, num, sizeof(num)), decimals, buf, want);
	}
}

// report_round_pusd rounds as report_fmt_usd prints: half away from
// zero, to decimals clamped to 0..12, in pico-USD.
static void
test_round_pusd(void **state)
{
	(void) state;
	static const struct {
		store_i128 v;
		int decimals;
		store_i128 want;
	} cases[] = {
		{ 0, 4, 0 },
		{ INT64_C(2276100000000), 4, INT64_C(2276100000000) },
		{ INT64_C(2276100000000), 2, INT64_C(2280000000000) },
		{ INT64_C(2276100000000), 0, INT64_C(2000000000000) },
		{ INT64_C(50000000), 4, INT64_C(100000000) },
		{ INT64_C(49999999), 4, 0 },
		{ INT64_C(999999999999), 4, INT64_C(1000000000000) },
		{ -INT64_C(50000000), 4, -INT64_C(100000000) },
		{ -INT64_C(2276100000000), 2, -INT64_C(2280000000000) },
		{ 1, 12, 1 },
		{ INT64_C(2276100000000), 20, INT64_C(2276100000000) },
		{ INT64_C(2276100000000), -3, INT64_C(2000000000000) },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		store_i128 got
		    = report_round_pusd(cases[k].v, cases[k].decimals);
		if (got != cases[k].want) {
			char a[64], b[64], c[64];
			fail_msg("report_round_pusd(%s, %d) = %s, want %s",
			    report_fmt_i128(cases[k].v, a, sizeof(a)),
			    cases[k].decimals,
			    report_fmt_i128(got, b, sizeof(b)),
			    report_fmt_i128(cases[k].want, c, sizeof(c)));
		}
	}
}

static void
test_fmt_usd(void **state)
{
	(void) state;

	check_usd(0, 4, "0.0000");
	check_usd(0, 0, "0");
	check_usd(0, 2, "0.00");
	check_usd(0, 12, "0.000000000000");
	check_usd(INT64_C(2276100000000), 4, "2.2761");
	check_usd(INT64_C(2276100000000), 12, "2.276100000000");
	check_usd(INT64_C(2276100000000), 2, "2.28");
	check_usd(INT64_C(2276100000000), 0, "2");
	check_usd(1, 12, "0.000000000001");
	check_usd(INT64_C(1000000000000), 6, "1.000000");

	// Half away from zero: $0.00005 -> 0.0001, one pUSD less -> 0.0000.
	check_usd(INT64_C(50000000), 4, "0.0001");
	check_usd(INT64_C(49999999), 4, "0.0000");
	check_usd(INT64_C(150000000), 4, "0.0002");
	check_usd(INT64_C(250000000), 4, "0.0003");
	check_usd(INT64_C(5000000000), 2, "0.01");
	check_usd(INT64_C(4999999999), 2, "0.00");
	check_usd(INT64_C(500000000000), 0, "1");
	check_usd(INT64_C(499999999999), 0, "0");
	// Rounding carries into the whole part.
	check_usd(INT64_C(999999999999), 4, "1.0000");
	check_usd(INT64_C(9999950000000), 4, "10.0000");
	check_usd(INT64_C(9999949999999), 4, "9.9999");

	// Negative amounts (refunds, corrections) mirror the positive ones.
	check_usd(-INT64_C(2276100000000), 4, "-2.2761");
	check_usd(-INT64_C(2276100000000), 12, "-2.276100000000");
	check_usd(-INT64_C(50000000), 4, "-0.0001");
	check_usd(-INT64_C(999999999999), 4, "-1.0000");
	check_usd(-1, 12, "-0.000000000001");

	// decimals outside 0..12 are clamped.
	check_usd(INT64_C(2276100000000), 20, "2.276100000000");
	check_usd(INT64_C(2276100000000), -3, "2");

	// Above 2^64 pUSD (the sum of many rollups): exact.  2^70 =
	// 1,180,591,620,717,411,303,424 pUSD.
	store_i128 big = (store_i128) 1 << 70;
	check_usd(big, 12, "1180591620.717411303424");
	check_usd(big, 4, "1180591620.7174");
	check_usd(big, 0, "1180591621");
	check_usd(-big, 6, "-1180591620.717411");
}

static void
test_fmt_i128(void **state)
{
	(void) state;
	char buf[64];
	store_i128 max = (store_i128) (((unsigned __int128) 1 << 127) - 1);
	store_i128 min = -max - 1;

	assert_string_equal(report_fmt_i128(0, buf, sizeof(buf)), "0");
	assert_string_equal(report_fmt_i128(7, buf, sizeof(buf)), "7");
	assert_string_equal(report_fmt_i128(-7, buf, sizeof(buf)), "-7");
	assert_string_equal(
	    report_fmt_i128(INT64_C(9223372036854775807), buf, sizeof(buf)),
	    "9223372036854775807");
	assert_string_equal(
	    report_fmt_i128((store_i128) UINT64_MAX + 1, buf, sizeof(buf)),
	    "18446744073709551616");
	assert_string_equal(
	    report_fmt_i128((store_i128) 1 << 70, buf, sizeof(buf)),
	    "1180591620717411303424");
	assert_string_equal(report_fmt_i128(max, buf, sizeof(buf)),
	    "170141183460469231731687303715884105727");
	assert_string_equal(report_fmt_i128(min, buf, sizeof(buf)),
	    "-170141183460469231731687303715884105728");
	assert_ptr_equal(report_fmt_i128(1, buf, sizeof(buf)), buf);
}

static void
test_dim_names(void **state)
{
	(void) state;
	static const struct {
		report_dim dim;
		const char *name;
	} dims[] = { { REPORT_BY_FEATURE, "feature" },
		{ REPORT_BY_MODEL, "model" }, { REPORT_BY_ENV, "env" },
		{ REPORT_BY_PROVIDER, "provider" } };

	for (size_t i = 0; i < 4; i++) {
		report_dim d = (report_dim) 99;
		assert_string_equal(
		    report_dim_name(dims[i].dim), dims[i].name);
		LLMCOST_PASS(report_dim_parse(dims[i].name, &d));
		assert_int_equal(d, dims[i].dim);
		LLMCOST_PASS(report_dim_parse(report_dim_name(d), &d));
		assert_int_equal(d, dims[i].dim);
	}
	static const char *const bad[] = { "", "Feature", "FEATURE",
		"features", "feat", "model ", " env", "tag", "cost" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		report_dim d = REPORT_BY_PROVIDER;
		LLMCOST_FAIL(report_dim_parse(bad[i], &d), LLMCOST_EINVAL);
		assert_int_equal(d, REPORT_BY_PROVIDER); // untouched
	}
	// An out-of-range dimension still has a printable name.
	const char *n = report_dim_name((report_dim) 42);
	assert_non_null(n);
	for (size_t i = 0; i < 4; i++) {
		assert_string_not_equal(n, dims[i].name);
	}
}

// The lists that help text and errors are built from: every row of the
// table, in order, with the separators asked for.
static void
test_dim_list(void **state)
{
	(void) state;
	char buf[128];

	assert_int_equal(REPORT_DIM_COUNT, 4);
	assert_int_equal(REPORT_DIM_DEFAULT, REPORT_BY_FEATURE);
	LLMCOST_PASS(report_dim_list(
	    buf, sizeof(buf), REPORT_BY_FEATURE, ", ", " or ", 1));
	assert_string_equal(buf, "feature (default), model, env or provider");
	LLMCOST_PASS(report_dim_list(
	    buf, sizeof(buf), REPORT_BY_FEATURE, ", ", " or ", 0));
	assert_string_equal(buf, "feature, model, env or provider");
	LLMCOST_PASS(
	    report_dim_list(buf, sizeof(buf), REPORT_BY_MODEL, ", ", ", ", 0));
	assert_string_equal(buf, "model, env, provider");
	LLMCOST_PASS(
	    report_dim_list(buf, sizeof(buf), REPORT_BY_ENV, "|", " and ", 1));
	assert_string_equal(buf, "env and provider");
	LLMCOST_PASS(report_dim_list(
	    buf, sizeof(buf), REPORT_BY_PROVIDER, ", ", " or ", 1));
	assert_string_equal(buf, "provider");

	// Exactly the room needed, then one byte less.
	size_t need = strlen("feature, model, env or provider") + 1;
	LLMCOST_PASS(report_dim_list(buf, need, 0, ", ", " or ", 0));
	LLMCOST_FAIL(report_dim_list(buf, need - 1, 0, ", ", " or ", 0),
	    LLMCOST_ETOOBIG);
	assert_true(strlen(buf) < need - 1);
	LLMCOST_FAIL(report_dim_list(
	                 buf, sizeof(buf), REPORT_DIM_COUNT, ", ", " or ", 0),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(report_dim_list(buf, sizeof(buf), 0, NULL, " or ", 0),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    report_dim_list(buf, 0, 0, ", ", " or ", 0), LLMCOST_EINVAL);
	report_dim d = REPORT_BY_ENV;
	LLMCOST_FAIL(report_dim_parse(NULL, &d), LLMCOST_EINVAL);
	assert_int_equal(d, REPORT_BY_ENV);
}

// A query by a dimension outside the table is refused, whether or not
// the window has rollups.
static void
test_bad_dim(void **state)
{
	fixture *f = *state;
	query_result *r = NULL;
	query_spec q;

	query_spec_init(&q);
	q.by[0].dim = REPORT_DIM_COUNT;
	q.from_ns = (uint64_t) H0 * NS_PER_HOUR;
	q.to_ns = (uint64_t) (H0 + 1) * NS_PER_HOUR;
	LLMCOST_FAIL(query_run(f->s, &q, &r, NULL, 0), LLMCOST_EINVAL);
	assert_null(r);
	write_specs(f->s, data, N_DATA, DROPPED, N_DATA, 0);
	LLMCOST_FAIL(query_run(f->s, &q, &r, NULL, 0), LLMCOST_EINVAL);
	assert_null(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_by_feature, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_by_model, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_by_env_and_provider, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_windows, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_empty_store, setup_empty, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unpriced_per_provider_model, setup_empty,
		    fixture_teardown),
		cmocka_unit_test(test_fmt_usd),
		cmocka_unit_test(test_round_pusd),
		cmocka_unit_test(test_fmt_i128),
		cmocka_unit_test(test_dim_names),
		cmocka_unit_test(test_dim_list),
		cmocka_unit_test_setup_teardown(
		    test_bad_dim, setup_empty, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
