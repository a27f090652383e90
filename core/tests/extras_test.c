// Tests for what a run carries beyond its fixed record (core/store.c's
// extras table: per-request fees, the provider's own cost, usage flags):
// stored once with the run and never again for a duplicate, summed into
// the hourly rollups and from there into reports; and the schema 2
// upgrade of a schema 1 store (no extras table, shorter rollups), which
// a writer performs in place and a reader accepts as it is, while a
// newer schema is refused with a clear message.  Expected figures are
// worked out by hand in pico-USD.
#include "raw_lmdb.h"
#include "store_fixture.h"

#include "pricing.h"
#include "query.h"

// claude-sonnet-4-5: $3 in / $15 out per 1M; web search $10 per 1,000.
#define SONNET_IN  INT64_C(3000000)
#define SONNET_OUT INT64_C(15000000)
#define WEB_SEARCH INT64_C(10000000000)

static int
setup(void **state)
{
	return (fixture_setup(state, "extras"));
}

// The five calls of the main batch: with fees, with a provider cost,
// without usage, plain, with partial usage.
static const spec five[] = {
	{ 1, H0, "anthropic", "claude-sonnet-4-5", "research", "prod",
	    U3(1000, 0, 100) },
	{ 2, H0, "openrouter", "openai/gpt-4o", "chat", "prod", U3(50, 0, 5) },
	{ 3, H0, "openai", "gpt-4o", "chat", "prod", U3(0, 0, 0),
	    LLMCOST_STATUS_ABORTED },
	{ 4, H0, "openai", "gpt-4o", "chat", "prod", U3(100, 0, 10) },
	{ 5, H0, "anthropic", "claude-sonnet-4-5", "research", "prod",
	    U3(10, 0, 0), LLMCOST_STATUS_ABORTED },
};

static built *
build_five(void)
{
	built *b = build(five, 5);
	b->recs[0].fees[LLMCOST_FEE_WEB_SEARCH] = 3;
	b->recs[1].has_provider_cost = 1;
	b->recs[1].provider_cost_pusd = 1234567;
	b->recs[2].usage_flags = LLMCOST_USAGE_MISSING;
	b->recs[4].usage_flags = LLMCOST_USAGE_PARTIAL;
	return (b);
}

// ---- reading helpers ----

static int
get_extras(store *s, uint32_t n, store_extras *out)
{
	store_rtxn *t;
	uint8_t id[16];
	int rv;

	run_id(n, H0, id);
	memset(out, 0xee, sizeof(*out));
	LLMCOST_PASS(store_read_begin(s, &t));
	rv = store_get_extras(t, id, out);
	store_read_end(t);
	return (rv);
}

// The rollups of one hour added up.
typedef struct sums {
	uint64_t rollups;
	uint64_t calls;
	store_i128 cost;
	uint64_t fees[STORE_FEE_SLOTS];
	store_i128 fee_cost;
	uint64_t provider_cost_calls;
	store_i128 provider_cost;
	uint64_t missing, partial;
} sums;

static int
add_up(void *arg, const store_rkey *k, const store_rollup *v)
{
	sums *x = arg;
	(void) k;
	x->rollups++;
	x->calls += v->calls;
	x->cost += store_rollup_cost(v);
	for (int f = 0; f < STORE_FEE_SLOTS; f++) {
		x->fees[f] += v->fees[f];
	}
	x->fee_cost += store_rollup_fee_cost(v);
	x->provider_cost_calls += v->provider_cost_calls;
	x->provider_cost += store_rollup_provider_cost(v);
	x->missing += v->usage_missing_calls;
	x->partial += v->usage_partial_calls;
	return (0);
}

static sums
sum_hour(store *s)
{
	store_rtxn *t;
	sums x;
	memset(&x, 0, sizeof(x));
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_scan_rollups(t, H0, H0 + 1, add_up, &x));
	store_read_end(t);
	return (x);
}

// The hour's sums: calls, web searches (their cost at the list price),
// provider costs, calls with missing and with partial usage.
static void
expect_sums(const sums *x, uint64_t calls, uint64_t searches,
    uint64_t pc_calls, int64_t pc, uint64_t missing, uint64_t partial)
{
	assert_int_equal(x->calls, calls);
	assert_int_equal(x->fees[LLMCOST_FEE_WEB_SEARCH], searches);
	assert_true(x->fee_cost == (store_i128) searches * WEB_SEARCH);
	assert_int_equal(x->provider_cost_calls, pc_calls);
	assert_true(x->provider_cost == pc);
	assert_int_equal(x->missing, missing);
	assert_int_equal(x->partial, partial);
}

// ---- how a call was billed ----

// A service tier or platform alone gives a run extras, kept as sent for a
// reprice.
static void
test_extras_tier_platform(void **state)
{
	fixture *f = *state;
	built *b = build(five, 5);
	store_extras ex;

	b->recs[0].service_tier = LLMCOST_TIER_BATCH;
	b->recs[1].platform.ptr = "vertex";
	b->recs[1].platform.len = 6;
	write_built(f->s, b, 1, 0, 5, 0);
	assert_int_equal(count_with(f->s, store_count_extras), 2);
	LLMCOST_PASS(get_extras(f->s, 1, &ex));
	assert_int_equal(ex.version, 2);
	assert_int_equal(ex.service_tier, LLMCOST_TIER_BATCH);
	assert_string_equal(ex.platform, "");
	LLMCOST_PASS(get_extras(f->s, 2, &ex));
	assert_int_equal(ex.service_tier, LLMCOST_TIER_STANDARD);
	assert_string_equal(ex.platform, "vertex");
	LLMCOST_FAIL(get_extras(f->s, 3, &ex), LLMCOST_ENOTFOUND);
	free(b);
}

// ---- exactly once ----

static void
test_extras_once(void **state)
{
	fixture *f = *state;
	built *b = build_five();
	store_extras ex;

	write_built(f->s, b, 1, 0, 5, 0);
	// Only the runs that carry something have extras.
	assert_int_equal(count_with(f->s, store_count_extras), 4);
	LLMCOST_FAIL(get_extras(f->s, 4, &ex), LLMCOST_ENOTFOUND);

	LLMCOST_PASS(get_extras(f->s, 1, &ex));
	assert_int_equal(ex.version, 2);
	assert_int_equal(ex.usage_flags, 0);
	assert_int_equal(ex.fees[LLMCOST_FEE_WEB_SEARCH], 3);
	assert_int_equal(ex.fee_cost_pusd, 3 * WEB_SEARCH);
	assert_int_equal(ex.provider_cost_pusd, STORE_NO_PROVIDER_COST);

	LLMCOST_PASS(get_extras(f->s, 2, &ex));
	assert_int_equal(ex.fees[LLMCOST_FEE_WEB_SEARCH], 0);
	assert_int_equal(ex.fee_cost_pusd, 0);
	assert_int_equal(ex.provider_cost_pusd, 1234567);

	LLMCOST_PASS(get_extras(f->s, 3, &ex));
	assert_int_equal(ex.usage_flags, LLMCOST_USAGE_MISSING);
	assert_int_equal(ex.provider_cost_pusd, STORE_NO_PROVIDER_COST);
	LLMCOST_PASS(get_extras(f->s, 5, &ex));
	assert_int_equal(ex.usage_flags, LLMCOST_USAGE_PARTIAL);

	sums once = sum_hour(f->s);
	expect_sums(&once, 5, 3, 1, 1234567, 1, 1);

	// The same batch again, resent as a new one, and a new call with
	// fees: only the new call's extras are added.
	built *again = build_five();
	spec six = { 6, H0, "anthropic", "claude-sonnet-4-5", "research",
		"prod", U3(0, 0, 0) };
	add(again, &six);
	again->recs[5].fees[LLMCOST_FEE_WEB_SEARCH] = 2;
	write_built(f->s, again, 2, 0, 1, 5);
	assert_int_equal(count_with(f->s, store_count_extras), 5);
	sums twice = sum_hour(f->s);
	expect_sums(&twice, 6, 5, 1, 1234567, 1, 1);
	assert_true(twice.cost == once.cost + 2 * WEB_SEARCH);
	free(again);
	free(b);
}

// ---- reports ----

static void
test_report_sums(void **state)
{
	fixture *f = *state;
	built *b = build_five();
	query_result *r = NULL;
	query_spec q;

	write_built(f->s, b, 1, 0, 5, 0);
	query_spec_init(&q);
	q.from_ns = (uint64_t) H0 * NS_PER_HOUR;
	q.to_ns = (uint64_t) (H0 + 1) * NS_PER_HOUR;
	// From the rollups, then from the runs and their extras.
	for (int pass = 0; pass < 2; pass++) {
		q.flags = pass == 0 ? 0 : QUERY_RUNS_ONLY;
		LLMCOST_PASS(query_run(f->s, &q, &r, NULL, 0));
		assert_int_equal(r->n_rows, 2);
		// "research" costs more: calls 1 and 5 (tokens and 3
		// searches).
		const query_sums *res = &r->rows[0].sum,
		                 *chat = &r->rows[1].sum;
		assert_string_equal(r->rows[0].keys[0], "research");
		assert_string_equal(r->rows[1].keys[0], "chat");
		store_i128 research_cost
		    = 1010 * SONNET_IN + 100 * SONNET_OUT + 3 * WEB_SEARCH;
		assert_true(res->cost_pusd == research_cost);
		assert_true(res->fee_cost_pusd == 3 * WEB_SEARCH);
		assert_int_equal(res->fees[LLMCOST_FEE_WEB_SEARCH], 3);
		assert_int_equal(res->usage_partial_calls, 1);
		assert_int_equal(res->usage_missing_calls, 0);
		assert_int_equal(res->provider_cost_calls, 0);
		assert_int_equal(chat->usage_missing_calls, 1);
		assert_int_equal(chat->provider_cost_calls, 1);
		assert_true(chat->provider_cost_pusd == 1234567);
		assert_true(chat->fee_cost_pusd == 0);
		assert_int_equal(r->total.usage_missing_calls, 1);
		assert_int_equal(r->total.usage_partial_calls, 1);
		assert_int_equal(r->total.provider_cost_calls, 1);
		assert_true(r->total.provider_cost_pusd == 1234567);
		assert_true(r->total.fee_cost_pusd == 3 * WEB_SEARCH);
		assert_int_equal(r->runs_scanned, pass == 0 ? 0 : 5);
		query_result_free(r);
	}
	free(b);
}

// ---- schema ----

// Turns the store at path into what a schema 1 llmcostd left: schema 1,
// no extras table and no daily rollups, every rollup value cut to its
// schema 1 prefix.
static void
make_schema1(const char *path)
{
	raw w;
	MDB_dbi ex, ru;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t keys[16][64];
	uint8_t vals[16][sizeof(store_rollup)];
	size_t klen[16], n = 0;

	raw_begin(&w, path);
	raw_set_schema(&w, 1);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "extras", 0, &ex));
	LLMCOST_PASS(mdb_drop(w.txn, ex, 1));
	LLMCOST_PASS(mdb_dbi_open(w.txn, "rollups_day", 0, &ex));
	LLMCOST_PASS(mdb_drop(w.txn, ex, 1));
	LLMCOST_PASS(mdb_dbi_open(w.txn, "rollups", 0, &ru));
	LLMCOST_PASS(mdb_cursor_open(w.txn, ru, &cur));
	while (
	    mdb_cursor_get(cur, &k, &v, n == 0 ? MDB_FIRST : MDB_NEXT) == 0) {
		assert_true(n < 16 && k.mv_size <= 64);
		// Without extras, schema 3 stores the schema 1 prefix already.
		assert_true(v.mv_size == sizeof(store_rollup)
		    || v.mv_size == offsetof(store_rollup, fees));
		memcpy(keys[n], k.mv_data, k.mv_size);
		klen[n] = k.mv_size;
		memcpy(vals[n], v.mv_data, v.mv_size);
		n++;
	}
	mdb_cursor_close(cur);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		MDB_val kk = { klen[i], keys[i] };
		MDB_val vv = { offsetof(store_rollup, fees), vals[i] };
		LLMCOST_PASS(mdb_put(w.txn, ru, &kk, &vv, 0));
	}
	raw_end(&w);
}

// Cuts every extras value of the store at path to its version 1 prefix,
// as a store written before service tiers and platforms holds them.
static void
make_extras_v1(const char *path)
{
	raw w;
	MDB_dbi ex;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t keys[16][16];
	store_extras vals[16];
	size_t n = 0;

	raw_begin(&w, path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "extras", 0, &ex));
	LLMCOST_PASS(mdb_cursor_open(w.txn, ex, &cur));
	while (
	    mdb_cursor_get(cur, &k, &v, n == 0 ? MDB_FIRST : MDB_NEXT) == 0) {
		assert_true(n < 16 && k.mv_size == 16);
		assert_int_equal(v.mv_size, sizeof(store_extras));
		memcpy(keys[n], k.mv_data, 16);
		memcpy(&vals[n], v.mv_data, sizeof(vals[n]));
		vals[n].version = 1;
		n++;
	}
	mdb_cursor_close(cur);
	for (size_t i = 0; i < n; i++) {
		MDB_val kk = { 16, keys[i] };
		MDB_val vv = { STORE_EXTRAS_V1_SIZE, &vals[i] };
		LLMCOST_PASS(mdb_put(w.txn, ex, &kk, &vv, 0));
	}
	raw_end(&w);
}

static int
fees_of_scan(void *arg, const uint8_t *id, const store_run *run,
    const store_extras *ex, const uint8_t *trace)
{
	(void) id;
	(void) run;
	(void) trace;
	uint64_t *sum = arg;
	if (ex != NULL) {
		assert_int_equal(ex->service_tier, 0);
		assert_int_equal(ex->platform[0], '\0');
		*sum += ex->fees[LLMCOST_FEE_WEB_SEARCH] + 1000;
	}
	return (0);
}

// The pricing stage on a stored run, with one pico-USD more fee cost (so
// that a reprice rewrites every run with extras).
static void
fee_plus_one(void *arg, const store_reprice_call *c, store_cost *out)
{
	pricing_price_run(arg, c, out);
	if (c->extras != NULL) {
		assert_int_equal(c->extras->version, 1);
		out->fee_cost_pusd = c->extras->fee_cost_pusd + 1;
		out->cost_pusd++;
	}
}

// Extras written before version 2 (56 bytes) are still read, by lookup
// and by scans, with the version 2 fields zero.
static void
test_extras_v1_values(void **state)
{
	fixture *f = *state;
	built *b = build_five();
	store_extras ex;

	write_built(f->s, b, 1, 0, 5, 0);
	store_close(f->s);
	f->s = NULL;
	make_extras_v1(f->path);
	f->s = open_store(f->path, 0, 0);
	LLMCOST_PASS(get_extras(f->s, 1, &ex));
	assert_int_equal(ex.version, 1);
	assert_int_equal(ex.fees[LLMCOST_FEE_WEB_SEARCH], 3);
	assert_int_equal(ex.service_tier, 0);
	assert_int_equal(ex.platform[0], '\0');
	store_rtxn *t;
	uint64_t sum = 0;
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_scan_ex(
	    t, 0, UINT64_MAX, STORE_SCAN_EXTRAS, fees_of_scan, &sum));
	store_read_end(t);
	// Four runs with extras, one of them with 3 searches.
	assert_int_equal(sum, 4003);

	// A reprice reads them too, prices them with the standard tier on
	// the provider's own API, and writes a changed fee cost back as a
	// version 1 record.
	int64_t fee = ex.fee_cost_pusd;
	store_reprice_opts o = {
		.from_ns = 0,
		.to_ns = UINT64_MAX,
		.price = fee_plus_one,
	};
	char err[STORE_ERR_MAX];
	LLMCOST_PASS(store_reprice(f->s, &o, err, sizeof(err)));
	LLMCOST_PASS(get_extras(f->s, 1, &ex));
	assert_int_equal(ex.version, 1);
	assert_int_equal(ex.fee_cost_pusd, fee + 1);
	assert_int_equal(ex.service_tier, 0);
	free(b);
}

static void
test_schema1_upgrade(void **state)
{
	fixture *f = *state;
	static const spec plain[] = {
		{ 1, H0, "openai", "gpt-4o", "chat", "prod", U3(100, 0, 10) },
	};
	write_specs(f->s, plain, 1, 0, 1, 0);
	sums before = sum_hour(f->s);
	store_close(f->s);
	f->s = NULL;
	make_schema1(f->path);

	// A reader takes the schema 1 store as it is.
	store *ro = open_store(f->path, STORE_RDONLY, 0);
	sums old = sum_hour(ro);
	assert_int_equal(old.rollups, 1);
	assert_int_equal(old.calls, 1);
	assert_true(old.cost == before.cost);
	assert_int_equal(count_with(ro, store_count_extras), 0);
	store_close(ro);
	assert_int_equal(raw_get_schema(f->path), 1);

	// A writer upgrades it: schema 2, an extras table, and the old
	// rollup extended in place by the next call of its key.
	f->s = open_store(f->path, 0, 0);
	assert_int_equal(raw_get_schema(f->path), STORE_SCHEMA);
	built *b = build(NULL, 0);
	spec more = { 2, H0, "openai", "gpt-4o", "chat", "prod",
		U3(100, 0, 10), LLMCOST_STATUS_ABORTED };
	add(b, &more);
	b->recs[0].usage_flags = LLMCOST_USAGE_PARTIAL;
	b->recs[0].has_provider_cost = 1;
	b->recs[0].provider_cost_pusd = 77;
	write_built(f->s, b, 1, 0, 1, 0);
	sums now = sum_hour(f->s);
	assert_int_equal(now.rollups, 1);
	assert_int_equal(now.calls, 2);
	assert_true(now.cost == 2 * before.cost);
	assert_int_equal(now.partial, 1);
	assert_int_equal(now.provider_cost_calls, 1);
	assert_true(now.provider_cost == 77);
	assert_int_equal(count_with(f->s, store_count_extras), 1);
	free(b);
}

static void
test_newer_schema_refused(void **state)
{
	fixture *f = *state;
	raw w;
	store *s = NULL;
	char err[256] = "";

	store_close(f->s);
	f->s = NULL;
	raw_begin(&w, f->path);
	raw_set_schema(&w, STORE_SCHEMA + 1);
	raw_end(&w);
	LLMCOST_FAIL(
	    store_open(&s, f->path, 0, 0, err, sizeof(err)), LLMCOST_ESTORE);
	assert_null(s);
	char want[64];
	snprintf(want, sizeof(want), "store schema %u is not supported",
	    STORE_SCHEMA + 1);
	if (strstr(err, want) == NULL) {
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	}
	LLMCOST_FAIL(
	    store_open(&s, f->path, STORE_RDONLY, 0, err, sizeof(err)),
	    LLMCOST_ESTORE);
	// The store is left as it was.
	assert_int_equal(raw_get_schema(f->path), STORE_SCHEMA + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_extras_once, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_extras_tier_platform, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_extras_v1_values, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_report_sums, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_schema1_upgrade, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_newer_schema_refused, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
