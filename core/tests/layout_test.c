// Tests for the store's layout (docs/store.md): the packed run record and
// its fallback to the full one, the bytes a stored call takes on disk
// (no timing: a fixed synthetic store and a cap), the daily rollups, and
// the upgrade of a schema 2 store, which the test makes itself from a
// store this version wrote by putting back what schema 2 had: every run
// as the 144-byte record, no daily rollups, schema 2 in `info`.
#include "raw_lmdb.h"
#include "rollup_check.h"
#include "synth.h"

// The cap on bytes per stored call that the layout must keep (issue:
// at most 128 B per call, LMDB's page and node overhead included).
#define BYTES_PER_CALL_CAP 128

static int
setup(void **state)
{
	return (fixture_setup(state, "layout"));
}

// The size of every run record, counted: [0] 80 bytes, [1] 144 bytes,
// [2] any other.
static void
raw_sizes(const char *path, uint64_t out[3])
{
	raw w;
	MDB_dbi runs;
	MDB_cursor *cur;
	MDB_val k, v;

	memset(out, 0, 3 * sizeof(out[0]));
	raw_begin(&w, path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "runs", 0, &runs));
	LLMCOST_PASS(mdb_cursor_open(w.txn, runs, &cur));
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		out[v.mv_size == 80 ? 0 : v.mv_size == 144 ? 1 : 2]++;
	}
	mdb_cursor_close(cur);
	raw_end(&w);
}

// Every run of a store, as read through the API.
typedef struct runs_read {
	size_t n, cap;
	uint8_t (*ids)[16];
	store_run *runs;
} runs_read;

static int
runs_add(void *arg, const uint8_t *id, const store_run *run)
{
	runs_read *r = arg;
	assert_true(r->n < r->cap);
	memcpy(r->ids[r->n], id, 16);
	r->runs[r->n++] = *run;
	return (0);
}

static runs_read
read_runs(store *s, size_t cap)
{
	runs_read r
	    = { 0, cap, calloc(cap, 16), calloc(cap, sizeof(store_run)) };
	store_rtxn *t;

	assert_non_null(r.ids);
	assert_non_null(r.runs);
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_scan(t, 0, UINT64_MAX, runs_add, &r));
	store_read_end(t);
	return (r);
}

static void
runs_free(runs_read *r)
{
	free(r->ids);
	free(r->runs);
}

// Whether two reads hold the same runs with the same values, the record
// version aside.
static void
assert_same_runs(const runs_read *a, const runs_read *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		store_run x = a->runs[i], y = b->runs[i];
		assert_memory_equal(a->ids[i], b->ids[i], 16);
		x.version = y.version = 0;
		assert_memory_equal(&x, &y, sizeof(x));
	}
}

// Puts back what a schema 2 llmcostd left: every run as the 144-byte
// store_run (record version 1), no daily rollups, schema 2.
static void
make_schema2(const char *path, const runs_read *r)
{
	raw w;
	MDB_dbi runs, day, info;
	uint32_t schema = 2;
	MDB_val sk = { 6, "schema" }, sv = { sizeof(schema), &schema };

	raw_begin(&w, path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "runs", 0, &runs));
	for (size_t i = 0; i < r->n; i++) {
		store_run old = r->runs[i];
		old.version = 1;
		MDB_val k = { 16, (void *) r->ids[i] },
		        v = { sizeof(old), &old };
		LLMCOST_PASS(mdb_put(w.txn, runs, &k, &v, 0));
	}
	LLMCOST_PASS(mdb_dbi_open(w.txn, "rollups_day", 0, &day));
	LLMCOST_PASS(mdb_drop(w.txn, day, 1));
	LLMCOST_PASS(mdb_dbi_open(w.txn, "info", 0, &info));
	LLMCOST_PASS(mdb_put(w.txn, info, &sk, &sv, 0));
	raw_end(&w);
}

// ---- tests ----

// A run is packed when its values fit, and kept whole when they do not;
// both read back exactly (the ingest time of a packed run to the ms).
static void
test_packed_and_wide(void **state)
{
	fixture *f = *state;
	static const spec calls[] = {
		{ 1, H0, "openai", "gpt-4o", "chat", "prod", U3(100, 0, 10) },
		// 2^32 tokens: no room in the packed record.
		{ 2, H0, "openai", "gpt-4o", "chat", "prod",
		    U3(UINT64_C(4294967296), 0, 10) },
		{ 3, H0, "openai", "gpt-4o", "chat", "prod", U3(100, 0, 10) },
		{ 4, H0, "openai", "gpt-4o", "chat", "prod",
		    U3(UINT64_C(4294967295), 0, 1) },
	};
	built *b = build(calls, 4);
	// A run id whose time is not the call's start (not minted by
	// libllmcost): the packed record could not give its start back.
	b->recs[2].start_ns += 5 * 1000000u;
	b->recs[1].duration_ns = UINT64_C(1) << 40;
	llmcost_proto_batch bt = batch_of(b, 0xc1, 1, 0);
	uint64_t now = T0 + 123456789;
	write_one(f->s, &bt, now, 4, 0);

	runs_read r = read_runs(f->s, 8);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.runs[0].version, 2);
	assert_int_equal(r.runs[1].version, 1);
	assert_int_equal(r.runs[2].version, 1);
	assert_int_equal(r.runs[3].version, 2);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(r.runs[i].start_ns, b->recs[i].start_ns);
		assert_int_equal(
		    r.runs[i].duration_ns, b->recs[i].duration_ns);
		assert_memory_equal(r.runs[i].usage, b->recs[i].usage,
		    sizeof(r.runs[i].usage));
		assert_int_equal(r.runs[i].status, b->recs[i].status);
		assert_int_not_equal(r.runs[i].cost_pusd, 0);
	}
	assert_int_equal(r.runs[0].ingest_ns, now - now % 1000000u);
	assert_int_equal(r.runs[1].ingest_ns, now);
	runs_free(&r);
	free(b);
	store_close(f->s);
	f->s = NULL;
	uint64_t sizes[3];
	raw_sizes(f->path, sizes);
	assert_int_equal(sizes[0], 2);
	assert_int_equal(sizes[1], 2);
	assert_int_equal(sizes[2], 0);
}

// The bytes a stored call takes: data.mdb's used pages over the number of
// runs, for a day of a realistic workload (20 features, 6 models, two
// envs, metadata and a tag per call) at the rate of the benchmark's
// (10 M calls in 30 days: 333 k a day, so about 58 calls per hourly
// rollup), strings, metadata sets, hourly and daily rollups included.
static void
test_bytes_per_call(void **state)
{
	fixture *f = *state;
	const uint32_t n = 333000;
	store_rtxn *t;
	uint64_t used, runs;

	write_synth(f->s, NULL, 0, n, n / 24);
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_used_bytes(t, &used));
	LLMCOST_PASS(store_count_runs(t, &runs));
	store_read_end(t);
	assert_int_equal(runs, n);
	print_message("%llu bytes for %llu calls: %.1f bytes per call\n",
	    (unsigned long long) used, (unsigned long long) runs,
	    (double) used / (double) runs);
	if (getenv("KEEP")) {
		system("cp -r \"$(dirname 0)\" /dev/null");
		char c[400];
		snprintf(c, sizeof(c), "mdb_stat -a -e %s", f->path);
		system(c);
	}
	assert_true(used <= (uint64_t) BYTES_PER_CALL_CAP * runs);
	assert_int_equal(check_rollups(f->s), n);
}

// The leaf pages of the store's runs table and the runs one holds.
static void
runs_leaves(const char *path, uint64_t *leaves, uint64_t *per_leaf)
{
	raw w;
	MDB_dbi runs;
	MDB_stat st;

	raw_begin(&w, path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "runs", 0, &runs));
	LLMCOST_PASS(mdb_stat(w.txn, runs, &st));
	raw_end(&w);
	*leaves = st.ms_leaf_pages;
	// A packed run on a leaf: an 8-byte node header, the 16-byte id,
	// the 80-byte record and a 2-byte offset, on a page of 16 bytes of
	// header.
	*per_leaf = (st.ms_psize - 16) / (8 + 16 + 80 + 2);
}

// Batch b of a write of 6 batches of 400 runs, whose first run is n0:
// ids rise from batch to batch, except that the first batch leaves out
// every tenth run and the fourth carries those (below the runs before
// it), with 40 runs of the third again (a resend).
static built *
fill_batch(uint32_t n0, int b)
{
	built *bt = build(NULL, 0);
	spec sp = { .hour = H0,
		.provider = "openai",
		.model = "gpt-4o",
		.usage = { 100, 0, 0, 0, 20 } };

	for (uint32_t i = 0; i < 400; i++) {
		sp.n = n0 + 400 * (uint32_t) b + i;
		if (b != 0 || i % 10 != 5) {
			add(bt, &sp);
		}
		if (b == 3 && i < 40) {
			sp.n = n0 + 10 * i + 5;
			add(bt, &sp);
			sp.n = n0 + 800 + 10 * i;
			add(bt, &sp);
		}
	}
	return (bt);
}

// Runs in id order fill every leaf page of the runs table, across the
// batches of a write and across writes (a run that takes the last
// leaf's room does not split it, and one that finds it full starts a
// new leaf of its own); runs below the last (another client's, a
// resend) are stored once, where they belong, among them.
static void
test_runs_fill_pages(void **state)
{
	fixture *f = *state;
	uint64_t leaves, per_leaf, runs;
	store_batch_result res[6];
	char err[256] = "";

	// In order: 4 writes of 6 batches.
	for (uint32_t w = 0; w < 4; w++) {
		const llmcost_proto_batch *bts[6];
		llmcost_proto_batch bt[6];
		built *b[6];
		for (int i = 0; i < 6; i++) {
			b[i] = build(NULL, 0);
			spec sp = { .hour = H0,
				.provider = "openai",
				.model = "gpt-4o",
				.usage = { 100 } };
			for (uint32_t j = 0; j < 400; j++) {
				sp.n = 2400 * w + 400 * (uint32_t) i + j;
				add(b[i], &sp);
			}
			bt[i] = batch_of(b[i], 0xc1, 6 * w + (uint32_t) i, 0);
			bts[i] = &bt[i];
		}
		LLMCOST_PASS(
		    write_batches(f->s, bts, 6, res, T0, err, sizeof(err)));
		for (int i = 0; i < 6; i++) {
			assert_int_equal(res[i].stored, 400);
			assert_int_equal(res[i].duplicates, 0);
			free(b[i]);
		}
	}
	store_close(f->s);
	f->s = NULL;
	runs_leaves(f->path, &leaves, &per_leaf);
	assert_int_equal(leaves, (9600 + per_leaf - 1) / per_leaf);

	// Out of order within each write, and resends: stored once.
	f->s = open_store(f->path, 0, 0);
	for (uint32_t w = 0; w < 3; w++) {
		const llmcost_proto_batch *bts[6];
		llmcost_proto_batch bt[6];
		built *b[6];
		for (int i = 0; i < 6; i++) {
			b[i] = fill_batch(9600 + 2400 * w, i);
			bt[i] = batch_of(b[i], 0xc2, 6 * w + (uint32_t) i, 0);
			bts[i] = &bt[i];
		}
		LLMCOST_PASS(
		    write_batches(f->s, bts, 6, res, T0, err, sizeof(err)));
		for (int i = 0; i < 6; i++) {
			assert_int_equal(res[i].stored,
			    i == 0 ? 360 : 400 + (i == 3 ? 40 : 0));
			assert_int_equal(res[i].duplicates, i == 3 ? 40 : 0);
			free(b[i]);
		}
	}
	assert_int_equal(count_with(f->s, store_count_runs), 9600 + 7200);
	store_rtxn *t;
	store_run run;
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_count_runs(t, &runs));
	for (uint32_t n = 0; n < 9600 + 7200; n++) {
		uint8_t id[16];
		run_id(n, H0, id);
		LLMCOST_PASS(store_get_run(t, id, &run));
		assert_int_equal(run.start_ns, start_ns(n, H0));
	}
	store_read_end(t);
	assert_int_equal(runs, 9600 + 7200);
	assert_int_equal(check_rollups(f->s), 9600 + 7200);
}

// Daily rollups are written with the hourly ones: each day sums its hours.
static void
test_daily_rollups(void **state)
{
	fixture *f = *state;

	// Three days and a bit.
	write_synth(f->s, NULL, 0, 8000, 100);
	assert_int_equal(check_rollups(f->s), 8000);
	rollup_set *days = rollups_of(f->s, STORE_DAILY);
	assert_true(days->n > 0);
	assert_int_equal(days->keys[0].hour, H0 / 24);
	assert_int_equal(days->keys[days->n - 1].hour, (H0 + 79) / 24);
	uint64_t calls = 0;
	for (size_t i = 0; i < days->n; i++) {
		calls += days->vals[i].calls;
	}
	assert_int_equal(calls, 8000);
	free(days);
	// A window of days counts days, not hours.
	store_rtxn *t;
	rollup_set *one = calloc(1, sizeof(*one));
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_scan_rollups_grain(
	    t, STORE_DAILY, H0 / 24 + 1, H0 / 24 + 2, rollup_set_add, one));
	store_read_end(t);
	calls = 0;
	for (size_t i = 0; i < one->n; i++) {
		assert_int_equal(one->keys[i].hour, H0 / 24 + 1);
		calls += one->vals[i].calls;
	}
	assert_int_equal(calls, 2400); // 24 hours of 100 calls
	free(one);
}

// A schema 2 store: read as it is by a reader (daily figures from its
// hours), upgraded in place by a writer (schema 3, daily rollups filled
// from the hourly ones, the old runs left in their record version), and
// written on afterwards in the packed record.
static void
test_schema2_upgrade(void **state)
{
	fixture *f = *state;

	write_synth(f->s, NULL, 0, 3000, 50);
	runs_read before = read_runs(f->s, 4000);
	rollup_set *hours = rollups_of(f->s, STORE_HOURLY);
	rollup_set *days = rollups_of(f->s, STORE_DAILY);
	store_close(f->s);
	f->s = NULL;
	make_schema2(f->path, &before);
	uint64_t sizes[3];
	raw_sizes(f->path, sizes);
	assert_int_equal(sizes[0], 0);
	assert_int_equal(sizes[1], 3000);

	// A reader: the same runs (now version 1), the same hours, and
	// days summed from the hours by the caller.
	store *ro = open_store(f->path, STORE_RDONLY, 0);
	runs_read r1 = read_runs(ro, 4000);
	assert_same_runs(&before, &r1);
	assert_int_equal(r1.runs[0].version, 1);
	rollup_set *h1 = rollups_of(ro, STORE_HOURLY);
	assert_int_equal(h1->n, hours->n);
	assert_memory_equal(
	    h1->vals, hours->vals, hours->n * sizeof(store_rollup));
	store_rtxn *t;
	uint64_t day_calls = 0;
	rollup_set *d1 = calloc(1, sizeof(*d1));
	LLMCOST_PASS(store_read_begin(ro, &t));
	LLMCOST_PASS(store_scan_rollups_grain(
	    t, STORE_DAILY, 0, UINT32_MAX, rollup_set_add_any, d1));
	store_read_end(t);
	for (size_t i = 0; i < d1->n; i++) {
		assert_true(d1->keys[i].hour >= H0 / 24);
		assert_true(d1->keys[i].hour <= (H0 + 60) / 24);
		day_calls += d1->vals[i].calls;
	}
	assert_int_equal(day_calls, 3000);
	free(d1);
	store_close(ro);
	runs_free(&r1);
	assert_int_equal(raw_get_schema(f->path), 2);

	// A writer that may not upgrade (the CLI's maintenance) refuses it
	// and leaves it as it is.
	store *nu = NULL;
	char err[STORE_ERR_MAX] = "";
	LLMCOST_FAIL(
	    store_open(&nu, f->path, STORE_NO_UPGRADE, 0, err, sizeof(err)),
	    LLMCOST_ESTORE);
	assert_null(nu);
	assert_non_null(strstr(err, "has schema 2 and needs an upgrade"));
	assert_int_equal(raw_get_schema(f->path), 2);

	// A writer upgrades it.
	f->s = open_store(f->path, 0, 0);
	assert_int_equal(raw_get_schema(f->path), 3);
	rollup_set *d2 = rollups_of(f->s, STORE_DAILY);
	assert_int_equal(d2->n, days->n);
	assert_memory_equal(
	    d2->keys, days->keys, days->n * sizeof(store_rkey));
	assert_memory_equal(
	    d2->vals, days->vals, days->n * sizeof(store_rollup));
	runs_read r2 = read_runs(f->s, 4000);
	assert_same_runs(&before, &r2);
	runs_free(&r2);
	assert_int_equal(check_rollups(f->s), 3000);

	// New calls go packed, and into both rollups.
	write_synth(f->s, NULL, 3000, 1000, 50);
	assert_int_equal(check_rollups(f->s), 4000);
	store_close(f->s);
	f->s = NULL;
	raw_sizes(f->path, sizes);
	assert_int_equal(sizes[0], 1000);
	assert_int_equal(sizes[1], 3000);
	// Opening again changes nothing.
	f->s = open_store(f->path, 0, 0);
	rollup_set *d3 = rollups_of(f->s, STORE_DAILY);
	free(d2);
	d2 = rollups_of(f->s, STORE_DAILY);
	assert_memory_equal(d2->vals, d3->vals, d3->n * sizeof(store_rollup));
	free(d3);
	free(d2);
	free(h1);
	free(hours);
	free(days);
	runs_free(&before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_packed_and_wide, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_bytes_per_call, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_runs_fill_pages, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_daily_rollups, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_schema2_upgrade, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
