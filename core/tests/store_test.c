// Tests for the collector's LMDB store (core/store.c) on a real
// environment in a temporary directory: writing priced batches (the
// costs stored as given), exactly-once storage by run id, interned
// strings, the prices stored runs end up with, hourly rollups, client
// drop counts, metadata sets, reopening, map growth, and scanning runs by
// time range.  Batches are built in memory as the decoder would hand them
// to the writer, and priced by the pricing stage as the writer does.
// Every expected cost is worked out by hand in pico-USD.
#include <errno.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "raw_lmdb.h"
#include "store_fixture.h"

#include "prices.h"

// Prices used below, pico-USD per token ($X per 1M tokens = X * 1e6).
#define GPT4O_IN     INT64_C(2500000)
#define GPT4O_CACHED INT64_C(1250000)
#define GPT4O_OUT    INT64_C(10000000)
#define MINI_IN      INT64_C(150000)
#define MINI_CACHED  INT64_C(75000)
#define MINI_OUT     INT64_C(600000)

// A gpt-4o call for "search" in "prod" with in uncached input tokens.
#define SEARCH(n, hour, in)                                                   \
	{                                                                     \
		(n), (hour), "openai", "gpt-4o", "search", "prod",            \
		    U3((in), 0, 0)                                            \
	}

static int
setup(void **state)
{
	return (fixture_setup(state, "store"));
}

// ---- reading helpers ----

static store_run
get_run(store *s, uint32_t n, uint32_t hour)
{
	store_rtxn *t;
	store_run run;
	uint8_t id[16];

	run_id(n, hour, id);
	memset(&run, 0xee, sizeof(run));
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_get_run(t, id, &run));
	store_read_end(t);
	return (run);
}

// Checks that id resolves to want (NULL: id 0, absent).
static void
check_string(store *s, uint32_t id, const char *want)
{
	store_rtxn *t;
	const char *str = NULL;
	size_t len = 0;

	LLMCOST_PASS(store_read_begin(s, &t));
	if (want == NULL) {
		assert_int_equal(id, 0);
		LLMCOST_FAIL(
		    store_string(t, id, &str, &len), LLMCOST_ENOTFOUND);
	} else {
		assert_int_not_equal(id, 0);
		LLMCOST_PASS(store_string(t, id, &str, &len));
		assert_int_equal(len, strlen(want));
		assert_memory_equal(str, want, len);
	}
	store_read_end(t);
}

#define MAX_ROWS 256

typedef struct rows {
	size_t n;
	store_rkey k[MAX_ROWS];
	store_rollup v[MAX_ROWS];
} rows;

static int
collect(void *arg, const store_rkey *k, const store_rollup *v)
{
	rows *r = arg;
	assert_true(r->n < MAX_ROWS);
	r->k[r->n] = *k;
	r->v[r->n] = *v;
	r->n++;
	return (0);
}

static rows *
scan(store *s, uint32_t from, uint32_t to)
{
	rows *r = calloc(1, sizeof(*r));
	store_rtxn *t;
	assert_non_null(r);
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_scan_rollups(t, from, to, collect, r));
	store_read_end(t);
	return (r);
}

// The index of the rollup keyed k in r, or r->n if there is none.
static size_t
find_key(const rows *r, const store_rkey *k)
{
	size_t j;

	for (j = 0; j < r->n; j++) {
		if (memcmp(&r->k[j], k, sizeof(*k)) == 0) {
			break;
		}
	}
	return (j);
}

// a and b hold the same rollups under the same keys.
static void
assert_same_rows(const rows *a, const rows *b)
{
	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->k, b->k, b->n * sizeof(store_rkey));
	assert_memory_equal(a->v, b->v, b->n * sizeof(store_rollup));
}

static uint64_t
drops(store *s, uint32_t from, uint32_t to)
{
	store_rtxn *t;
	uint64_t n = UINT64_MAX;
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_drops(t, from, to, &n));
	store_read_end(t);
	return (n);
}

// ---- tests ----

static void
test_open_rdonly_missing(void **state)
{
	fixture *f = *state;
	char empty[300], missing[300], err[256];
	store *s = (store *) f; // must stay untouched

	snprintf(empty, sizeof(empty), "%s/empty", f->dir);
	assert_int_equal(mkdir(empty, 0700), 0);
	err[0] = '\0';
	LLMCOST_FAIL(store_open(&s, empty, STORE_RDONLY, 0, err, sizeof(err)),
	    LLMCOST_ENOTFOUND);
	assert_non_null(strstr(err, "no store"));
	assert_ptr_equal(s, (store *) f);

	snprintf(missing, sizeof(missing), "%s/does/not/exist", f->dir);
	err[0] = '\0';
	LLMCOST_FAIL(
	    store_open(&s, missing, STORE_RDONLY, 0, err, sizeof(err)),
	    LLMCOST_ENOTFOUND);
	assert_non_null(strstr(err, "no store"));
	// Read-only opening never creates anything.
	struct stat st;
	assert_int_not_equal(stat(missing, &st), 0);
	char mdb[400];
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", empty);
	assert_int_not_equal(stat(mdb, &st), 0);
}

static const spec basic[] = {
	{ 1, H0, "openai", "gpt-4o", "search", "prod", U3(1000, 200, 500), 0,
	    "user_tier", "pro", "beta" },
	{ 2, H0, "acme", "mystery-1", "chat", "dev", U3(100, 0, 10) },
	{ 3, H0, "openai", "gpt-4o-mini", NULL, "prod", U3(2000, 0, 300),
	    LLMCOST_STATUS_ERROR },
};
#define N_BASIC (sizeof(basic) / sizeof(basic[0]))

// A data.mdb shorter than the store's last used page, or empty, is
// refused by store_open, read-only or not, before any page is read (a
// read past the end of the mapped file is a SIGBUS), and an empty file is
// not made a new store.
static void
test_open_damaged(void **state)
{
	fixture *f = *state;
	char mdb[400], err[2048];
	store *s = NULL;
	struct stat st;

	write_specs(f->s, basic, N_BASIC, 0, 3, 0);
	store_close(f->s);
	f->s = NULL;
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", f->path);
	assert_int_equal(stat(mdb, &st), 0);
	assert_true(st.st_size > 2 * 4096);

	// The two meta pages are there; the tables' pages are not.
	assert_int_equal(truncate(mdb, 2 * 4096), 0);
	for (unsigned flags = 0; flags <= STORE_RDONLY; flags++) {
		err[0] = '\0';
		LLMCOST_FAIL(
		    store_open(&s, f->path, flags, 0, err, sizeof(err)),
		    LLMCOST_ESTORE);
		assert_non_null(strstr(err,
		    "data.mdb is truncated: it has 8192 "
		    "bytes but the store's last page "
		    "ends at byte"));
		assert_non_null(strstr(err, "restore data.mdb from a backup"));
		assert_null(s);
	}

	assert_int_equal(truncate(mdb, 0), 0);
	for (unsigned flags = 0; flags <= STORE_RDONLY; flags++) {
		err[0] = '\0';
		LLMCOST_FAIL(
		    store_open(&s, f->path, flags, 0, err, sizeof(err)),
		    LLMCOST_ESTORE);
		assert_non_null(strstr(err, "data.mdb is empty (0 bytes)"));
		assert_null(s);
	}
	assert_int_equal(stat(mdb, &st), 0);
	assert_int_equal(st.st_size, 0);
}

// Every LMDB and errno code an operator can meet maps to its fault, and
// the text names the directory, what is wrong and what to do.
static void
test_fault_table(void **state)
{
	fixture *f = *state;
	static const struct {
		int rc;
		store_fault f;
		const char *name;
	} cases[] = {
		{ 0, STORE_FAULT_NONE, "none" },
		{ ENOSPC, STORE_FAULT_NO_SPACE, "no_space" },
		{ EDQUOT, STORE_FAULT_QUOTA, "quota" },
		{ EROFS, STORE_FAULT_READ_ONLY, "read_only" },
		{ EACCES, STORE_FAULT_PERMISSION, "permission" },
		{ EPERM, STORE_FAULT_PERMISSION, "permission" },
		{ MDB_CORRUPTED, STORE_FAULT_CORRUPT, "corrupt" },
		{ MDB_PAGE_NOTFOUND, STORE_FAULT_CORRUPT, "corrupt" },
		{ MDB_INVALID, STORE_FAULT_CORRUPT, "corrupt" },
		{ MDB_MAP_FULL, STORE_FAULT_MAP_FULL, "map_full" },
		{ EFBIG, STORE_FAULT_FILE_SIZE, "file_size" },
		{ EIO, STORE_FAULT_IO, "io" },
		{ MDB_TXN_FULL, STORE_FAULT_OTHER, "other" },
		{ ENOMEM, STORE_FAULT_OTHER, "other" },
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		store_fault got = store_fault_of(cases[i].rc, NULL);
		if (got != cases[i].f) {
			fail_msg("code %d: fault %s, want %s", cases[i].rc,
			    store_fault_name(got), cases[i].name);
		}
		assert_string_equal(store_fault_name(got), cases[i].name);
	}
	// An EIO on a file system with room, writable and without quota
	// trouble stays an I/O error.
	assert_int_equal(store_fault_of(EIO, f->dir), STORE_FAULT_IO);
	store_fault_text(STORE_FAULT_NO_SPACE, "cannot write", "/srv/llmcost",
	    "commit: Input/output error", text, sizeof(text));
	assert_string_equal(text,
	    "cannot write the store in /srv/llmcost: no space left on its "
	    "file system (commit: Input/output error); free space there; "
	    "writes resume by themselves");
	store_fault_text(
	    STORE_FAULT_COUNT, "cannot open", "/d", NULL, text, sizeof(text));
	assert_string_equal(text,
	    "cannot open the store in /d: an unexpected storage error; "
	    "restart llmcostd if it persists");
}

static void
test_write_and_read(void **state)
{
	fixture *f = *state;
	const uint64_t now = (uint64_t) (H0 + 5) * NS_PER_HOUR + 42;
	built *b = build(basic, N_BASIC);
	llmcost_proto_batch bt = batch_of(b, 0xc1, 1, 0);

	assert_int_equal(count_with(f->s, store_count_runs), 0);
	write_one(f->s, &bt, now, 3, 0);
	assert_int_equal(count_with(f->s, store_count_runs), 3);

	// gpt-4o: 1000 * 2.5e6 + 200 * 1.25e6 + 500 * 1e7
	//       = 2,500,000,000 + 250,000,000 + 5,000,000,000.
	store_run a = get_run(f->s, 1, H0);
	const price_entry *pe = NULL;
	LLMCOST_PASS(
	    prices_lookup("openai", 6, "gpt-4o", 6, start_of(&basic[0]), &pe));
	assert_int_equal(pe->sets[0].pusd[LLMCOST_IN_UNCACHED], GPT4O_IN);
	assert_int_equal(
	    pe->sets[0].pusd[LLMCOST_IN_CACHE_READ], GPT4O_CACHED);
	assert_int_equal(pe->sets[0].pusd[LLMCOST_OUT_TEXT], GPT4O_OUT);
	assert_int_equal(a.cost_pusd, INT64_C(7750000000));
	assert_int_equal(a.cost_pusd,
	    1000 * GPT4O_IN + 200 * GPT4O_CACHED + 500 * GPT4O_OUT);
	assert_int_equal(a.version, 2); // the packed record
	assert_int_equal(a.flags, 0);
	assert_int_equal(a.price_id, pe->id);
	assert_int_equal(a.status, LLMCOST_STATUS_OK);
	assert_int_equal(a.start_ns, start_of(&basic[0]));
	assert_int_equal(a.duration_ns, 1005);
	// The packed record keeps the ingest time to the millisecond.
	assert_int_equal(a.ingest_ns, now - now % 1000000u);
	assert_int_equal(a.usage[LLMCOST_IN_UNCACHED], 1000);
	assert_int_equal(a.usage[LLMCOST_IN_CACHE_READ], 200);
	assert_int_equal(a.usage[LLMCOST_OUT_TEXT], 500);
	assert_int_equal(a.usage[LLMCOST_OUT_REASONING], 0);
	check_string(f->s, a.provider, "openai");
	check_string(f->s, a.model, "gpt-4o");
	check_string(f->s, a.feature, "search");
	check_string(f->s, a.env, "prod");
	assert_int_not_equal(a.metaset, 0);

	// An unknown model is stored, flagged and costs nothing.
	store_run u = get_run(f->s, 2, H0);
	assert_int_equal(u.flags & STORE_RUN_UNPRICED, STORE_RUN_UNPRICED);
	assert_int_equal(u.cost_pusd, 0);
	assert_int_equal(u.price_id, 0);
	check_string(f->s, u.provider, "acme");
	check_string(f->s, u.model, "mystery-1");
	check_string(f->s, u.feature, "chat");
	check_string(f->s, u.env, "dev");

	// No feature: id 0.  gpt-4o-mini: 2000 * 150,000 + 300 * 600,000 =
	// 300,000,000 + 180,000,000.
	store_run c = get_run(f->s, 3, H0);
	check_string(f->s, c.feature, NULL);
	check_string(f->s, c.env, "prod");
	assert_int_equal(c.env, a.env); // "prod" is interned once
	assert_int_equal(c.provider, a.provider);
	assert_int_not_equal(c.model, a.model);
	assert_int_equal(c.status, LLMCOST_STATUS_ERROR);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.cost_pusd, INT64_C(480000000));
	assert_int_equal(c.cost_pusd, 2000 * MINI_IN + 300 * MINI_OUT);

	// An id never written, and an interned id that does not exist.
	store_rtxn *t;
	store_run run;
	uint8_t id[16];
	const char *str;
	size_t len;
	run_id(99, H0, id);
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_FAIL(store_get_run(t, id, &run), LLMCOST_ENOTFOUND);
	LLMCOST_FAIL(store_string(t, 100000, &str, &len), LLMCOST_ENOTFOUND);
	store_read_end(t);
	free(b);
}

static void
test_duplicates(void **state)
{
	fixture *f = *state;
	built *b = build(basic, N_BASIC);
	llmcost_proto_batch bt = batch_of(b, 0xc1, 1, 0);
	const uint64_t now = T0;

	write_one(f->s, &bt, now, 3, 0);
	rows *before = scan(f->s, 0, UINT32_MAX);
	store_run a0 = get_run(f->s, 1, H0);
	assert_int_equal(before->n, 3);

	// The same batch again (a resend after a lost ack): all
	// duplicates, nothing changes, not even the ingest time.
	write_one(f->s, &bt, now + 1000, 0, 3);
	rows *after = scan(f->s, 0, UINT32_MAX);
	assert_same_rows(after, before);
	store_run a1 = get_run(f->s, 1, H0);
	assert_memory_equal(&a0, &a1, sizeof(a0));
	assert_int_equal(count_with(f->s, store_count_runs), 3);
	free(after);

	// A batch mixing two stored ids with three new ones, and a new id
	// repeated inside the batch.
	const spec mixed[] = {
		basic[1],
		SEARCH(10, H0, 1),
		SEARCH(11, H0, 2),
		basic[2],
		SEARCH(12, H0, 4),
		SEARCH(12, H0, 4),
	};
	write_specs(f->s, mixed, 6, 0, 3, 3);
	assert_int_equal(count_with(f->s, store_count_runs), 6);
	after = scan(f->s, 0, UINT32_MAX);
	assert_int_equal(after->n, 3);
	// Only the gpt-4o "search" row grew, by three calls and 1 + 2 + 4
	// uncached tokens.
	int found = 0;
	for (size_t i = 0; i < after->n; i++) {
		if (after->k[i].model == a0.model) {
			assert_int_equal(after->v[i].calls, 4);
			assert_int_equal(
			    after->v[i].usage[LLMCOST_IN_UNCACHED], 1007);
			assert_int_equal(store_rollup_cost(&after->v[i]),
			    (store_i128) 7750000000 + 7 * GPT4O_IN);
			found++;
		} else {
			assert_memory_equal(
			    &after->v[i], &before->v[i], sizeof(store_rollup));
		}
	}
	assert_int_equal(found, 1);
	free(before);
	free(after);
	free(b);
}

// Rollups are the exact sums of their runs, per (hour, feature, model,
// env, provider).
static void
test_rollups_sum(void **state)
{
	fixture *f = *state;
	static const char *const feats[] = { "search", "chat", NULL };
	static const char *const envs[] = { "prod", "dev" };
	static const struct {
		const char *provider, *model;
	} models[] = { { "openai", "gpt-4o" }, { "openai", "gpt-4o-mini" },
		{ "acme", "mystery-1" }, { "azure", "gpt-4o" } };
	spec specs[120];
	size_t n = 0;

	for (uint32_t i = 0; i < 120; i++) {
		spec *sp = &specs[n++];
		memset(sp, 0, sizeof(*sp));
		sp->n = i + 1;
		sp->hour = H0 + (i % 7 == 0 ? 1 : 0);
		sp->provider = models[i % 4].provider;
		sp->model = models[i % 4].model;
		sp->feature = feats[(i / 4) % 3];
		sp->env = envs[(i / 3) % 2];
		sp->usage[LLMCOST_IN_UNCACHED] = 100 + i;
		sp->usage[LLMCOST_IN_CACHE_READ] = i % 5;
		sp->usage[LLMCOST_OUT_TEXT] = 10 * i;
		sp->status
		    = i % 11 == 0 ? LLMCOST_STATUS_ABORTED : LLMCOST_STATUS_OK;
	}
	write_specs(f->s, specs, n, 0, 120, 0);

	// Expected rollups, folded from the stored runs.
	rows *want = calloc(1, sizeof(*want));
	assert_non_null(want);
	for (size_t i = 0; i < n; i++) {
		store_run r = get_run(f->s, specs[i].n, specs[i].hour);
		store_rkey k = { (uint32_t) (r.start_ns / NS_PER_HOUR),
			r.feature, r.model, r.env, r.provider };
		assert_int_equal(k.hour, specs[i].hour);
		size_t j = find_key(want, &k);
		if (j == want->n) {
			want->k[want->n++] = k;
		}
		store_rollup *v = &want->v[j];
		v->calls++;
		v->unpriced_calls += (r.flags & STORE_RUN_UNPRICED) ? 1 : 0;
		v->error_calls += r.status != LLMCOST_STATUS_OK ? 1 : 0;
		for (int bk = 0; bk < LLMCOST_BUCKET_COUNT; bk++) {
			v->usage[bk] += r.usage[bk];
		}
		store_i128 c = store_rollup_cost(v) + r.cost_pusd;
		v->cost_lo = (uint64_t) c;
		v->cost_hi = (uint64_t) ((unsigned __int128) c >> 64);
	}

	rows *got = scan(f->s, 0, UINT32_MAX);
	assert_int_equal(got->n, want->n);
	uint64_t calls = 0;
	for (size_t i = 0; i < got->n; i++) {
		size_t j = find_key(want, &got->k[i]);
		if (j == want->n) {
			fail_msg("rollup %zu has no matching runs", i);
		}
		assert_memory_equal(
		    &got->v[i], &want->v[j], sizeof(store_rollup));
		calls += got->v[i].calls;
		// Key order: hour first, then the big-endian ids.
		if (i > 0) {
			assert_true(got->k[i - 1].hour <= got->k[i].hour);
		}
	}
	assert_int_equal(calls, 120);

	// A hand-checked row: openai gpt-4o (i % 4 == 0), "search"
	// ((i / 4) % 3 == 0), "prod" ((i / 3) % 2 == 0), hour H0 (i % 7 !=
	// 0): i = 12, 24, 36, 48, 60, 72, 96, 108, none of them aborted.
	// Uncached: 8 * 100 + 456 = 1256; cached (i % 5): 2 + 4 + 1 + 3 + 0
	// + 2 + 1 + 3 = 16; output: 10 * 456 = 4560.  Cost: 1256 * 2.5e6 +
	// 16 * 1.25e6 + 4560 * 1e7 = 3,140,000,000 + 20,000,000 +
	// 45,600,000,000 = 48,760,000,000.
	store_run r24 = get_run(f->s, 25, H0);
	int checked = 0;
	for (size_t i = 0; i < got->n; i++) {
		if (got->k[i].hour == H0 && got->k[i].model == r24.model
		    && got->k[i].provider == r24.provider
		    && got->k[i].feature == r24.feature
		    && got->k[i].env == r24.env) {
			assert_int_equal(got->v[i].calls, 8);
			assert_int_equal(got->v[i].unpriced_calls, 0);
			assert_int_equal(got->v[i].error_calls, 0);
			assert_int_equal(
			    got->v[i].usage[LLMCOST_IN_UNCACHED], 1256);
			assert_int_equal(
			    got->v[i].usage[LLMCOST_IN_CACHE_READ], 16);
			assert_int_equal(
			    got->v[i].usage[LLMCOST_OUT_TEXT], 4560);
			assert_true(store_rollup_cost(&got->v[i])
			    == (store_i128) 48760000000);
			assert_true(store_rollup_cost(&got->v[i])
			    == 1256 * GPT4O_IN + 16 * GPT4O_CACHED
			        + 4560 * GPT4O_OUT);
			checked++;
		}
	}
	assert_int_equal(checked, 1);
	// Azure's gpt-4o is a different provider: its own rows, unpriced.
	store_run az = get_run(f->s, 4, H0); // i = 3
	check_string(f->s, az.provider, "azure");
	assert_int_equal(az.model, r24.model);
	assert_int_equal(az.flags & STORE_RUN_UNPRICED, STORE_RUN_UNPRICED);
	for (size_t i = 0; i < got->n; i++) {
		if (got->k[i].provider == az.provider) {
			assert_int_equal(
			    got->v[i].unpriced_calls, got->v[i].calls);
			assert_true(store_rollup_cost(&got->v[i]) == 0);
		}
	}
	free(want);
	free(got);
}

static void
test_rollup_hours(void **state)
{
	fixture *f = *state;
	static const spec two_hours[] = {
		SEARCH(1, H0, 10),
		SEARCH(2, H0, 20),
		SEARCH(3, H0 + 1, 40),
		// The last millisecond of the first hour.
		SEARCH(3599999, H0, 80),
	};
	write_specs(f->s, two_hours, 4, 0, 4, 0);

	rows *all = scan(f->s, H0, H0 + 2);
	assert_int_equal(all->n, 2);
	assert_int_equal(all->k[0].hour, H0);
	assert_int_equal(all->k[1].hour, H0 + 1);
	assert_int_equal(all->v[0].calls, 3);
	assert_int_equal(all->v[0].usage[LLMCOST_IN_UNCACHED], 110);
	assert_int_equal(all->v[1].calls, 1);
	assert_int_equal(all->v[1].usage[LLMCOST_IN_UNCACHED], 40);
	assert_true(store_rollup_cost(&all->v[0]) == 110 * GPT4O_IN);
	assert_true(store_rollup_cost(&all->v[1]) == 40 * GPT4O_IN);
	// Same dimensions, different hours: the other key fields match.
	assert_int_equal(all->k[0].feature, all->k[1].feature);
	assert_int_equal(all->k[0].model, all->k[1].model);

	rows *first = scan(f->s, H0, H0 + 1);
	assert_int_equal(first->n, 1);
	assert_int_equal(first->k[0].hour, H0);
	assert_memory_equal(&first->v[0], &all->v[0], sizeof(store_rollup));
	rows *second = scan(f->s, H0 + 1, H0 + 2);
	assert_int_equal(second->n, 1);
	assert_memory_equal(&second->v[0], &all->v[1], sizeof(store_rollup));
	rows *none = scan(f->s, H0 + 2, H0 + 100);
	assert_int_equal(none->n, 0);
	rows *before = scan(f->s, 0, H0);
	assert_int_equal(before->n, 0);
	rows *empty = scan(f->s, H0 + 1, H0 + 1); // [h, h) is empty
	assert_int_equal(empty->n, 0);
	rows *backwards = scan(f->s, H0 + 2, H0);
	assert_int_equal(backwards->n, 0);
	free(all);
	free(first);
	free(second);
	free(none);
	free(before);
	free(empty);
	free(backwards);
}

// One write touching more roll-up keys than the writer sums in memory at
// once (it writes them out part way): 300 hours, then the first 100 of
// them again; every hour still adds up.
static void
test_rollups_many_keys(void **state)
{
	fixture *f = *state;
	enum { HOURS = 300, AGAIN = 100, N = HOURS + AGAIN };
	spec *specs = calloc(N, sizeof(*specs));
	assert_non_null(specs);
	for (uint32_t i = 0; i < N; i++) {
		const spec one = SEARCH(i + 1, H0 + i % HOURS, i + 1);
		specs[i] = one;
	}
	write_specs(f->s, specs, N, 0, N, 0);
	for (uint32_t from = 0; from < HOURS; from += 150) {
		rows *r = scan(f->s, H0 + from, H0 + from + 150);
		assert_int_equal(r->n, 150);
		for (size_t j = 0; j < r->n; j++) {
			uint32_t h = r->k[j].hour - H0;
			int twice = h < AGAIN;
			assert_int_equal(r->v[j].calls, twice ? 2 : 1);
			assert_int_equal(r->v[j].usage[LLMCOST_IN_UNCACHED],
			    (h + 1) + (twice ? h + HOURS + 1 : 0));
		}
		free(r);
	}
	free(specs);
}

static int
stop_after_one(void *arg, const store_rkey *k, const store_rollup *v)
{
	(void) k;
	(void) v;
	(*(int *) arg)++;
	return (7);
}

static void
test_scan_stops_early(void **state)
{
	fixture *f = *state;
	store_rtxn *t;
	int calls = 0;

	write_specs(f->s, basic, N_BASIC, 0, 3, 0);
	LLMCOST_PASS(store_read_begin(f->s, &t));
	assert_int_equal(
	    store_scan_rollups(t, 0, UINT32_MAX, stop_after_one, &calls), 7);
	store_read_end(t);
	assert_int_equal(calls, 1);
}

static void
test_drops(void **state)
{
	fixture *f = *state;
	const uint64_t h0 = T0;
	llmcost_proto_batch bt;

	assert_int_equal(drops(f->s, 0, UINT32_MAX), 0);
	// Client A reports cumulative counts 5, then 3 (a late resend of
	// an older batch), then 9: 9 calls dropped in all.
	bt = batch_of(NULL, 0xa1, 1, 5);
	write_one(f->s, &bt, h0 + 10, 0, 0);
	bt = batch_of(NULL, 0xa1, 3, 3);
	write_one(f->s, &bt, h0 + 20, 0, 0);
	bt = batch_of(NULL, 0xa1, 4, 9);
	write_one(f->s, &bt, h0 + 30, 0, 0);
	assert_int_equal(drops(f->s, H0, H0 + 1), 9);
	// Resending the last one changes nothing.
	write_one(f->s, &bt, h0 + 40, 0, 0);
	assert_int_equal(drops(f->s, H0, H0 + 1), 9);

	// Client B counts separately, with records in its batch.
	built *b = build(basic, 1);
	bt = batch_of(b, 0xb2, 1, 4);
	write_one(f->s, &bt, h0 + 50, 1, 0);
	assert_int_equal(drops(f->s, H0, H0 + 1), 13);

	// Drops are counted in the hour the collector learns of them.
	bt = batch_of(NULL, 0xa1, 5, 12);
	write_one(f->s, &bt, h0 + 2 * NS_PER_HOUR + 1, 0, 0);
	assert_int_equal(drops(f->s, H0 + 2, H0 + 3), 3);
	assert_int_equal(drops(f->s, H0, H0 + 3), 16);
	assert_int_equal(drops(f->s, H0 + 1, H0 + 2), 0);
	assert_int_equal(drops(f->s, H0 + 3, UINT32_MAX), 0);
	assert_int_equal(drops(f->s, 0, H0), 0);
	free(b);
}

// The runs lossy exporters lost (batch element 6), cumulative per client
// like the drops, apart from them: increases filed per hour.
static void
test_exporter_drops(void **state)
{
	fixture *f = *state;
	const uint64_t h0 = T0;
	llmcost_proto_batch bt;
	store_rtxn *t;
	uint64_t n = UINT64_MAX;

	bt = batch_of(NULL, 0xa1, 1, 2);
	bt.exporter_lost = 5;
	write_one(f->s, &bt, h0 + 10, 0, 0);
	bt = batch_of(NULL, 0xa1, 2, 2);
	bt.exporter_lost = 3; // an older batch, resent late
	write_one(f->s, &bt, h0 + 20, 0, 0);
	bt = batch_of(NULL, 0xb2, 1, 0);
	bt.exporter_lost = 4;
	write_one(f->s, &bt, h0 + 30, 0, 0);
	bt = batch_of(NULL, 0xa1, 3, 2);
	bt.exporter_lost = 7;
	write_one(f->s, &bt, h0 + NS_PER_HOUR + 1, 0, 0);
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_exporter_drops(t, H0, H0 + 1, &n));
	assert_int_equal(n, 9);
	LLMCOST_PASS(store_exporter_drops(t, H0, H0 + 2, &n));
	assert_int_equal(n, 11);
	LLMCOST_PASS(store_exporter_drops(t, H0 + 2, UINT32_MAX, &n));
	assert_int_equal(n, 0);
	store_read_end(t);
	// The clients' own drops are apart.
	assert_int_equal(drops(f->s, H0, H0 + 2), 2);
}

static void
test_multi_batch_write(void **state)
{
	fixture *f = *state;
	built *b1 = build(basic, 2);
	built *b2 = build(basic, N_BASIC); // overlaps b1
	llmcost_proto_batch x = batch_of(b1, 0x01, 1, 0);
	llmcost_proto_batch y = batch_of(b2, 0x02, 1, 2);
	const llmcost_proto_batch *bts[2] = { &x, &y };
	store_batch_result res[2];
	char err[256];

	memset(res, 0xff, sizeof(res));
	LLMCOST_PASS(write_batches(f->s, bts, 2, res, T0, err, sizeof(err)));
	assert_int_equal(res[0].stored, 2);
	assert_int_equal(res[0].duplicates, 0);
	assert_int_equal(res[1].stored, 1);
	assert_int_equal(res[1].duplicates, 2);
	assert_int_equal(count_with(f->s, store_count_runs), 3);
	assert_int_equal(drops(f->s, H0, H0 + 1), 2);
	free(b1);
	free(b2);
}

static void
test_reopen(void **state)
{
	fixture *f = *state;
	built *b = build(basic, N_BASIC);
	llmcost_proto_batch bt = batch_of(b, 0xc1, 1, 6);

	write_one(f->s, &bt, T0, 3, 0);
	store_run a = get_run(f->s, 1, H0);
	rows *r0 = scan(f->s, 0, UINT32_MAX);
	store_close(f->s);
	f->s = NULL;

	// Read-only: everything is there.
	store *ro = open_store(f->path, STORE_RDONLY, 0);
	assert_int_equal(count_with(ro, store_count_runs), 3);
	store_run a1 = get_run(ro, 1, H0);
	assert_memory_equal(&a, &a1, sizeof(a));
	check_string(ro, a1.feature, "search");
	rows *r1 = scan(ro, 0, UINT32_MAX);
	assert_same_rows(r1, r0);
	assert_int_equal(drops(ro, H0, H0 + 1), 6);
	store_close(ro);

	// Writable again: interned ids carry on, old strings keep theirs.
	f->s = open_store(f->path, 0, 0);
	static const spec more[] = {
		{ 50, H0, "openai", "gpt-4o", "search", "staging",
		    U3(1, 0, 0) },
	};
	write_specs(f->s, more, 1, 0, 1, 0);
	write_one(f->s, &bt, T0, 0, 3);
	store_run m = get_run(f->s, 50, H0);
	assert_int_equal(m.feature, a.feature);
	assert_int_equal(m.model, a.model);
	assert_int_not_equal(m.env, a.env);
	check_string(f->s, m.env, "staging");
	check_string(f->s, a.env, "prod");
	assert_int_equal(count_with(f->s, store_count_runs), 4);
	free(r0);
	free(r1);
	free(b);
}

// store_open takes an initial map size; when a write does not fit, the
// store doubles the map (up to four times per write) and retries the
// transaction.  Start with 256 KiB and write well past it.
static void
test_map_growth(void **state)
{
	fixture *f = *state;
	char path[400];
	static spec specs[100];
	struct stat st;

	snprintf(path, sizeof(path), "%s/small", f->dir);
	store *s = open_store(path, 0, 256 * 1024);
	uint32_t n = 0;
	for (int batch = 0; batch < 60; batch++) {
		char(*vals)[64] = calloc(100, 64);
		char(*feats)[32] = calloc(100, 32);
		assert_non_null(vals);
		assert_non_null(feats);
		for (int i = 0; i < 100; i++) {
			spec *sp = &specs[i];
			memset(sp, 0, sizeof(*sp));
			sp->n = ++n;
			sp->hour = H0 + (uint32_t) (batch % 24);
			sp->provider = "openai";
			sp->model = (i % 2) ? "gpt-4o" : "gpt-4o-mini";
			snprintf(feats[i], 32, "feature-%d", i % 10);
			sp->feature = feats[i];
			sp->env = "prod";
			// A distinct metadata value per call: a new metadata
			// set each time, so the store really grows.
			snprintf(vals[i], 64, "request-%08u-%032u", n, n);
			sp->key = "request";
			sp->val = vals[i];
			sp->usage[LLMCOST_IN_UNCACHED] = n;
			sp->usage[LLMCOST_OUT_TEXT] = 1;
		}
		built *b = build(specs, 100);
		llmcost_proto_batch bt
		    = batch_of(b, 0x77, (uint64_t) batch + 1, 0);
		write_one(s, &bt, T0, 100, 0);
		free(vals);
		free(feats);
		free(b);
	}
	assert_int_equal(count_with(s, store_count_runs), 6000);
	snprintf(path, sizeof(path), "%s/small/data.mdb", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 256 * 1024);

	// Every run is readable, with its own metadata set.
	store_run first = get_run(s, 1, H0);
	store_run last = get_run(s, 6000, H0 + (59 % 24));
	assert_int_equal(first.usage[LLMCOST_IN_UNCACHED], 1);
	assert_int_equal(last.usage[LLMCOST_IN_UNCACHED], 6000);
	assert_int_not_equal(first.metaset, last.metaset);
	check_string(s, last.feature, "feature-9");
	store_close(s);

	// Reopening with the small size again still works, and can grow.
	snprintf(path, sizeof(path), "%s/small", f->dir);
	s = open_store(path, 0, 256 * 1024);
	assert_int_equal(count_with(s, store_count_runs), 6000);
	static const spec one[] = {
		{ 999999, H0, "openai", "gpt-4o", "late", NULL, U3(1, 0, 0) },
	};
	write_specs(s, one, 1, 0, 1, 0);
	assert_int_equal(count_with(s, store_count_runs), 6001);
	store_close(s);
}

// One write far larger than the initial map.  The store may refuse it
// (ESTORE, nothing written) once its growth allowance for one write is
// spent; the writer then answers "retry" and the client resends.  Either
// way: a refused write leaves no trace, strings interned by the aborted
// transaction are not reused by later writes, and the resend succeeds.
static void
test_huge_write_retry(void **state)
{
	fixture *f = *state;
	char path[400], err[256];
	built *b = build(NULL, 0);
	char(*feats)[201] = calloc(MAX_RECS, 201);
	char(*envs)[201] = calloc(MAX_RECS, 201);
	char(*vals)[257] = calloc(MAX_RECS, 257);

	assert_non_null(feats);
	assert_non_null(envs);
	assert_non_null(vals);
	snprintf(path, sizeof(path), "%s/tiny", f->dir);
	store *s = open_store(path, 0, 64 * 1024);
	for (uint32_t i = 0; i < MAX_RECS; i++) {
		snprintf(feats[i], 201, "%0200u", i);
		snprintf(envs[i], 201, "%0200u", i + 1000000);
		snprintf(vals[i], 257, "%0256u", i + 2000000);
		spec sp = { i + 1, H0, "openai", "gpt-4o", feats[i], envs[i],
			U3(1, 0, 0), 0, "v", vals[i] };
		add(b, &sp);
	}
	llmcost_proto_batch bt = batch_of(b, 0x55, 1, 0);
	const llmcost_proto_batch *bts[1] = { &bt };
	store_batch_result res;
	err[0] = '\0';
	int rv = write_batches(s, bts, 1, &res, T0, err, sizeof(err));
	if (rv != 0) {
		LLMCOST_FAIL(rv, LLMCOST_ESTORE);
		assert_true(strlen(err) > 0);
		assert_int_equal(count_with(s, store_count_runs), 0);
		rows *r = scan(s, 0, UINT32_MAX);
		assert_int_equal(r->n, 0);
		free(r);

		// A small write reusing strings of the aborted one: they get
		// ids that resolve.
		spec sp = { 900000, H0, "openai", "gpt-4o", feats[7], envs[7],
			U3(1, 0, 0) };
		built *small = build(&sp, 1);
		llmcost_proto_batch sb = batch_of(small, 0x56, 1, 0);
		write_one(s, &sb, T0, 1, 0);
		free(small);
		store_run run = get_run(s, 900000, H0);
		check_string(s, run.feature, feats[7]);
		check_string(s, run.env, envs[7]);
		check_string(s, run.model, "gpt-4o");

		// The resend of the big batch gets through eventually.
		for (int attempt = 0; attempt < 10 && rv != 0; attempt++) {
			rv = write_batches(
			    s, bts, 1, &res, T0, err, sizeof(err));
		}
	}
	LLMCOST_PASS(rv);
	assert_int_equal(res.stored, MAX_RECS);
	assert_int_equal(res.duplicates, 0);
	store_run last = get_run(s, MAX_RECS, H0);
	check_string(s, last.feature, feats[MAX_RECS - 1]);
	check_string(s, last.env, envs[MAX_RECS - 1]);
	store_run r7 = get_run(s, 8, H0);
	check_string(s, r7.feature, feats[7]);
	store_close(s);
	free(b);
	free(feats);
	free(envs);
	free(vals);
}

// Metadata and tags that replace those of a run.
typedef struct metatags {
	llmcost_proto_kv *meta;
	uint32_t n_meta;
	llmcost_proto_str *tags;
	uint32_t n_tags;
} metatags;

// Adds a gpt-4o call n to b, with the metadata and tags of mt.
static void
add_with(built *b, uint32_t n, const metatags *mt)
{
	const spec sp = { n, H0, "openai", "gpt-4o", NULL, NULL, U3(1, 0, 0) };
	llmcost_proto_record *r = &b->recs[b->n];

	add(b, &sp);
	r->meta = mt->meta;
	r->n_meta = mt->n_meta;
	r->tags = mt->tags;
	r->n_tags = mt->n_tags;
}

// Metadata and tags are interned as one canonical set: the same entries
// in any order share an id.
static void
test_metasets(void **state)
{
	fixture *f = *state;
	llmcost_proto_kv m1[3] = { { S("feature"), S("search") },
		{ S("env"), S("prod") }, { S("user_tier"), S("pro") } };
	llmcost_proto_kv m2[3] = { { S("user_tier"), S("pro") },
		{ S("feature"), S("search") }, { S("env"), S("prod") } };
	llmcost_proto_kv m3[3] = { { S("feature"), S("search") },
		{ S("env"), S("prod") }, { S("user_tier"), S("free") } };
	llmcost_proto_kv m4[3] = { { S("feature"), S("search") },
		{ S("env"), S("prod") }, { S("user_tier"), S("prx") } };
	llmcost_proto_str t1[2] = { S("alpha"), S("beta") };
	llmcost_proto_str t2[2] = { S("beta"), S("alpha") };
	llmcost_proto_str t3[1] = { S("alpha") };
	const metatags sets[] = {
		{ m1, 3, t1, 2 },     // 0
		{ m2, 3, t2, 2 },     // 1: same as 0, other order
		{ m3, 3, t1, 2 },     // 2: another value
		{ m1, 3, t3, 1 },     // 3: fewer tags
		{ m1, 3, NULL, 0 },   // 4: no tags
		{ NULL, 0, t1, 2 },   // 5: tags only
		{ NULL, 0, NULL, 0 }, // 6: nothing
		{ m2, 3, t1, 2 },     // 7: same as 0
		// The writer remembers sets as they arrived: the same bytes
		// again find the same id, bytes of the same length that
		// differ do not.
		{ m1, 3, t1, 2 }, // 8: exactly 0 again
		{ m4, 3, t1, 2 }, // 9: 0 with one value of the same length
		{ m3, 3, t1, 2 }, // 10: exactly 2 again
	};
	const size_t n = sizeof(sets) / sizeof(sets[0]);
	built *b = build(NULL, 0);
	for (size_t i = 0; i < n; i++) {
		add_with(b, (uint32_t) i + 1, &sets[i]);
	}
	write_built(f->s, b, 1, 0, (uint32_t) n, 0);

	uint32_t ms[11];
	for (size_t i = 0; i < n; i++) {
		ms[i] = get_run(f->s, (uint32_t) i + 1, H0).metaset;
	}
	assert_int_not_equal(ms[0], 0);
	assert_int_equal(ms[1], ms[0]);
	assert_int_equal(ms[7], ms[0]);
	assert_int_equal(ms[8], ms[0]);
	assert_int_not_equal(ms[9], ms[0]);
	assert_int_not_equal(ms[9], ms[2]);
	assert_int_not_equal(ms[9], 0);
	assert_int_equal(ms[10], ms[2]);
	assert_int_not_equal(ms[2], ms[0]);
	assert_int_not_equal(ms[3], ms[0]);
	assert_int_not_equal(ms[4], ms[0]);
	assert_int_not_equal(ms[5], ms[0]);
	assert_int_not_equal(ms[3], ms[4]);
	assert_int_not_equal(ms[2], ms[3]);
	assert_int_equal(ms[6], 0);
	for (size_t i = 2; i < 6; i++) {
		assert_int_not_equal(ms[i], 0);
		for (size_t j = i + 1; j < 6; j++) {
			assert_int_not_equal(ms[i], ms[j]);
		}
	}

	// In a later transaction, the same set is found again, not
	// re-created.
	free(b);
	b = build(NULL, 0);
	add_with(b, 100, &sets[1]); // m2 and t2
	write_built(f->s, b, 2, 0, 1, 0);
	assert_int_equal(get_run(f->s, 100, H0).metaset, ms[0]);
	free(b);
}

typedef struct ms_seen {
	store_rtxn *t;
	uint32_t first, next, stop_after, n;
	int bad;
} ms_seen;

// Each set once, in id order from the first asked, as store_metaset has
// it (the same bytes, where the transaction holds them).
static int
ms_seen_one(void *arg, uint32_t id, const uint8_t *blob, size_t len)
{
	ms_seen *m = arg;
	const uint8_t *b;
	size_t l;
	if (id != (m->n == 0 ? m->first : m->next)
	    || store_metaset(m->t, id, &b, &l) != 0 || b != blob || l != len) {
		m->bad++;
	}
	m->next = id + 1;
	if (++m->n == m->stop_after) {
		return (7);
	}
	return (0);
}

// The metadata sets read in one pass (store_metaset_walk, which reads
// the table's pages in place and hands over to a cursor at a set too
// large for a page): every set, in order, from any id on, and the walk
// stops when told.
static void
test_metaset_walk(void **state)
{
	fixture *f = *state;
	static llmcost_proto_kv kv[4 * MAX_RECS];
	static char vals[4 * MAX_RECS][LLMCOST_MAX_VALUE + 1];
	static llmcost_proto_kv big[12];
	uint32_t n = 0;

	for (uint32_t k = 0; k < 4; k++) {
		built *b = build(NULL, 0);
		for (uint32_t i = 0; i < MAX_RECS; i++, n++) {
			metatags mt = { &kv[n], 1, NULL, 0 };
			snprintf(vals[n], sizeof(vals[n]), "v%05u", n);
			kv[n].key = S("k");
			kv[n].val = S(vals[n]);
			if (n == 1000) {
				// Too large for half a page: a page of its own.
				memset(vals[n], 'x', LLMCOST_MAX_VALUE);
				for (int j = 0; j < 12; j++) {
					big[j].key.ptr = "abcdefghijkl";
					big[j].key.len = 1 + (uint32_t) j;
					big[j].val = S(vals[n]);
				}
				mt.meta = big;
				mt.n_meta = 12;
			}
			add_with(b, n + 1, &mt);
		}
		write_built(f->s, b, k + 1, 0, MAX_RECS, 0);
		free(b);
	}
	store_rtxn *t;
	LLMCOST_PASS(store_read_begin(f->s, &t));
	uint64_t total;
	LLMCOST_PASS(store_metaset_count(t, &total));
	assert_int_equal(total, n);
	const uint32_t from[] = { 1, 2, 700, 1001, n, n + 1 };
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		ms_seen m = { .t = t, .first = from[i] };
		LLMCOST_PASS(store_metaset_walk(t, from[i], ms_seen_one, &m));
		assert_int_equal(m.bad, 0);
		assert_int_equal(m.n, n + 1 - from[i]);
	}
	ms_seen m = { .t = t, .first = 1, .stop_after = 1500 };
	assert_int_equal(store_metaset_walk(t, 1, ms_seen_one, &m), 7);
	assert_int_equal(m.n, 1500);
	assert_int_equal(m.bad, 0);
	store_read_end(t);
}

// Runs are appended at the end of the runs table when their ids are
// above the last one; an id below it, whether new or already stored, is
// told apart by a plain insert (an append only says "not above").
static void
test_ids_out_of_order(void **state)
{
	fixture *f = *state;
	const spec first[]
	    = { SEARCH(10, H0, 1), SEARCH(20, H0, 1), SEARCH(30, H0, 1) };
	write_specs(f->s, first, 3, 0, 3, 0);

	const spec later[] = {
		SEARCH(5, H0, 1),  // new, below the last
		SEARCH(20, H0, 1), // stored, below the last
		SEARCH(25, H0, 1), // new, below the last
		SEARCH(40, H0, 1), // new, above
		SEARCH(40, H0, 1), // the same again, now the last
		SEARCH(35, H0, 1), // new, below the last again
		SEARCH(30, H0, 1), // stored
		SEARCH(41, H0, 1), // new, above
	};
	built *b = build(later, 8);
	write_built(f->s, b, 2, 0, 5, 3);
	free(b);
	assert_int_equal(count_with(f->s, store_count_runs), 8);
	static const uint32_t ids[] = { 5, 10, 20, 25, 30, 35, 40, 41 };
	for (size_t i = 0; i < 8; i++) {
		store_run r = get_run(f->s, ids[i], H0);
		assert_int_equal(r.start_ns, start_ns(ids[i], H0));
	}
	rows *r = scan(f->s, 0, UINT32_MAX);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->v[0].calls, 8);
	free(r);

	// Two batches in one write, the second reaching below the first's
	// last run (appended in this write): new runs below it, that run
	// again, a run already stored, and a new one above.
	const spec a[] = { SEARCH(50, H0, 1), SEARCH(60, H0, 1) };
	const spec c[] = { SEARCH(45, H0, 1), SEARCH(60, H0, 1),
		SEARCH(55, H0, 1), SEARCH(41, H0, 1), SEARCH(70, H0, 1) };
	built *ba = build(a, 2), *bc = build(c, 5);
	llmcost_proto_batch x = batch_of(ba, 0xc1, 3, 0);
	llmcost_proto_batch y = batch_of(bc, 0xc1, 4, 0);
	const llmcost_proto_batch *bts[2] = { &x, &y };
	store_batch_result res[2];
	char err[256];
	LLMCOST_PASS(write_batches(f->s, bts, 2, res, T0, err, sizeof(err)));
	assert_int_equal(res[0].stored, 2);
	assert_int_equal(res[1].stored, 3);
	assert_int_equal(res[1].duplicates, 2);
	free(ba);
	free(bc);
	assert_int_equal(count_with(f->s, store_count_runs), 13);
	static const uint32_t more[] = { 45, 50, 55, 60, 70 };
	for (size_t i = 0; i < 5; i++) {
		store_run run = get_run(f->s, more[i], H0);
		assert_int_equal(run.start_ns, start_ns(more[i], H0));
	}
}

// Runs whose ids arrive slightly out of order (pairs swapped, as two
// threads ending calls in another order than they began them send them)
// still fill the runs table's pages, and so do those of a batch in
// reverse order (sorted otherwise than by moving each a few places): 2560
// packed runs (106 bytes each with key and node header) fit in 68 pages
// of 4 KiB; half-empty pages split by late ids would take about twice as
// many.
static void
test_runs_pages_full(void **state)
{
	fixture *f = *state;

	for (uint32_t k = 0; k < 5; k++) {
		built *b = build(NULL, 0);
		for (uint32_t i = 0; i < MAX_RECS; i++) {
			uint32_t at = k < 4 ? (i ^ 1) : MAX_RECS - 1 - i;
			spec sp = SEARCH(k * MAX_RECS + at + 1, H0, 1);
			add(b, &sp);
		}
		write_built(f->s, b, k + 1, 0, MAX_RECS, 0);
		free(b);
	}
	store_close(f->s);
	raw w;
	MDB_dbi dbi;
	MDB_stat st;
	raw_begin(&w, f->path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "runs", 0, &dbi));
	LLMCOST_PASS(mdb_stat(w.txn, dbi, &st));
	raw_end(&w);
	f->s = open_store(f->path, 0, 0);
	assert_int_equal(st.ms_entries, 5 * MAX_RECS);
	if (st.ms_leaf_pages > 72) {
		fail_msg("%zu leaf pages for %u runs", st.ms_leaf_pages,
		    5 * MAX_RECS);
	}
}

// Each run gets the ids of its own strings when it differs from the run
// before it in one string only (the writer reuses the previous run's
// ids when every string matches), and each run's roll-up is its own
// hour's even when only the hour changed.
static void
test_consecutive_strings(void **state)
{
	fixture *f = *state;
	// { n, hour, provider, model, feature, env, usage, status, key,
	//   val, tag }
	const spec sp[] = {
		{ 1, H0, "openai", "gpt-4o", "search", "prod", U3(1, 0, 0), 0,
		    "tier", "pro", "beta" },
		{ 2, H0 + 1, "openai", "gpt-4o", "search", "prod", U3(2, 0, 0),
		    0, "tier", "pro", "beta" },
		{ 3, H0, "openai", "gpt-4o", "search", "prod", U3(4, 0, 0), 0,
		    "tier", "pro", "beta" },
		{ 4, H0, "openai", "gpt-4o", "searcH", "prod", U3(1, 0, 0), 0,
		    "tier", "pro", "beta" },
		{ 5, H0, "openai", "gpt-4o", "searcH", "proD", U3(1, 0, 0), 0,
		    "tier", "pro", "beta" },
		{ 6, H0, "openai", "gpt-4x", "searcH", "proD", U3(1, 0, 0), 0,
		    "tier", "pro", "beta" },
		{ 7, H0, "openaj", "gpt-4x", "searcH", "proD", U3(1, 0, 0), 0,
		    "tier", "pro", "beta" },
		{ 8, H0, "openaj", "gpt-4x", "searcH", "proD", U3(1, 0, 0), 0,
		    "tier", "prx", "beta" },
		{ 9, H0, "openaj", "gpt-4x", "searcH", "proD", U3(1, 0, 0), 0,
		    "tiex", "prx", "beta" },
		{ 10, H0, "openaj", "gpt-4x", "searcH", "proD", U3(1, 0, 0), 0,
		    "tiex", "prx", "betb" },
		{ 11, H0, "openaj", "gpt-4x", "searcH", "proD", U3(1, 0, 0), 0,
		    "tiex", "prx", "betb" },
	};
	const size_t n = sizeof(sp) / sizeof(sp[0]);
	write_specs(f->s, sp, n, 0, (uint32_t) n, 0);

	uint32_t ms[12];
	for (size_t i = 0; i < n; i++) {
		store_run r = get_run(f->s, sp[i].n, sp[i].hour);
		check_string(f->s, r.provider, sp[i].provider);
		check_string(f->s, r.model, sp[i].model);
		check_string(f->s, r.feature, sp[i].feature);
		check_string(f->s, r.env, sp[i].env);
		ms[sp[i].n] = r.metaset;
	}
	assert_int_equal(ms[2], ms[1]);
	assert_int_equal(ms[3], ms[1]);
	assert_int_not_equal(ms[4], ms[3]); // feature is metadata too
	assert_int_not_equal(ms[5], ms[4]);
	assert_int_equal(ms[6], ms[5]); // model and provider are not
	assert_int_equal(ms[7], ms[6]);
	assert_int_not_equal(ms[8], ms[7]);
	assert_int_not_equal(ms[9], ms[8]);
	assert_int_not_equal(ms[10], ms[9]);
	assert_int_equal(ms[11], ms[10]);

	// Runs 1 and 3 share hour H0's roll-up, run 2 has H0 + 1's.
	store_run r1 = get_run(f->s, 1, H0);
	rows *r = scan(f->s, H0, H0 + 2);
	size_t got = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->k[i].feature != r1.feature) {
			continue;
		}
		got++;
		if (r->k[i].hour == H0) {
			assert_int_equal(r->v[i].calls, 2);
			assert_int_equal(
			    r->v[i].usage[LLMCOST_IN_UNCACHED], 5);
		} else {
			assert_int_equal(r->k[i].hour, H0 + 1);
			assert_int_equal(r->v[i].calls, 1);
			assert_int_equal(
			    r->v[i].usage[LLMCOST_IN_UNCACHED], 2);
		}
	}
	assert_int_equal(got, 2);
	free(r);
}

// Two call sites interleaved over two batches of one write, as the writer
// matches a call's strings with a recent call's: by pointer and length
// first (a TBATCH's calls share its table's bytes), then by bytes.  The
// second batch holds the same strings in other buffers, a string that
// shares another's pointer but is shorter (a prefix), calls that mix
// both batches' buffers, and calls that share meta or tags arrays;
// every run must get the ids of its own strings.
static void
test_site_strings_by_pointer(void **state)
{
	fixture *f = *state;
	// Separate arrays: the same bytes at other addresses.
	static char search1[] = "search", search2[] = "search";
	static char chat1[] = "chat", chat2[] = "chat";
	static char model1[] = "gpt-4o", model2[] = "gpt-4o";
	const spec x = { 0, H0, "openai", "gpt-4o", "search", "prod",
		U3(1, 0, 0), 0, "tier", "pro", "beta" };
	spec sp[10];
	for (uint32_t i = 0; i < 10; i++) {
		sp[i] = x;
		sp[i].n = i + 1;
		sp[i].feature = i % 2 == 0 ? "search" : "chat";
	}
	built *a = build(sp, 4);     // runs 1 to 4: X Y X Y
	built *b = build(sp + 4, 6); // runs 5 to 10
	for (uint32_t i = 0; i < 4; i++) {
		a->recs[i].model = S(model1);
		a->kv[i][0].val = S(i % 2 == 0 ? search1 : chat1);
	}
	for (uint32_t i = 0; i < 6; i++) {
		b->recs[i].model = S(model2);
		b->kv[i][0].val = S(i % 2 == 0 ? search2 : chat2);
	}
	// Run 8 (Y's place): "searc", the first 5 bytes of X's "search".
	b->kv[3][0].val.ptr = search2;
	b->kv[3][0].val.len = 5;
	// Run 9: X with batch 1's buffers again; run 10: Y whose model is a
	// prefix of X's ("gpt-4") at the same pointer.
	b->recs[4].model = S(model1);
	b->kv[4][0].val = S(search1);
	b->recs[5].model.ptr = model2;
	b->recs[5].model.len = 5;
	// As the decoder's memo gives them: run 7 shares run 5's meta and
	// tags arrays, run 8 ("searc") run 5's tags array only.
	b->recs[2].meta = b->recs[0].meta;
	b->recs[2].tags = b->recs[0].tags;
	b->recs[3].tags = b->recs[0].tags;

	llmcost_proto_batch ba = batch_of(a, 0xc1, 1, 0);
	llmcost_proto_batch bb = batch_of(b, 0xc1, 2, 0);
	const llmcost_proto_batch *bts[2] = { &ba, &bb };
	store_batch_result res[2];
	char err[256];
	LLMCOST_PASS(write_batches(f->s, bts, 2, res, T0, err, sizeof(err)));
	assert_int_equal(res[0].stored, 4);
	assert_int_equal(res[1].stored, 6);

	static const char *const feat[11]
	    = { NULL, "search", "chat", "search", "chat", "search", "chat",
		      "search", "searc", "search", "chat" };
	uint32_t ms[11];
	for (uint32_t n = 1; n <= 10; n++) {
		store_run r = get_run(f->s, n, H0);
		check_string(f->s, r.feature, feat[n]);
		check_string(f->s, r.model, n == 10 ? "gpt-4" : "gpt-4o");
		ms[n] = r.metaset;
	}
	for (uint32_t n = 3; n <= 10; n++) {
		if (n == 8) {
			continue;
		}
		assert_int_equal(ms[n], ms[n % 2 == 1 ? 1 : 2]);
	}
	assert_int_not_equal(ms[1], ms[2]);
	assert_int_not_equal(ms[8], ms[1]);
	assert_int_not_equal(ms[8], ms[2]);
	free(a);
	free(b);
}

// A bucket without a published price flags the run and prices the rest;
// a cost that overflows int64 is flagged and stored as 0.
static void
test_unpriced_bucket_and_overflow(void **state)
{
	fixture *f = *state;
	static const spec specs[] = {
		// gpt-4o has no audio price.
		{ 1, H0, "openai", "gpt-4o", "voice", NULL,
		    { [LLMCOST_IN_UNCACHED] = 100, [LLMCOST_IN_AUDIO] = 10 } },
		{ 2, H0, "openai", "gpt-4o", "voice", NULL,
		    { [LLMCOST_OUT_TEXT] = UINT64_MAX / 2 } },
	};
	write_specs(f->s, specs, 2, 0, 2, 0);

	store_run ra = get_run(f->s, 1, H0);
	assert_int_equal(ra.flags, STORE_RUN_UNPRICED);
	assert_int_equal(ra.cost_pusd, 100 * GPT4O_IN);
	assert_int_not_equal(ra.price_id, 0);
	store_run ro = get_run(f->s, 2, H0);
	assert_int_equal(ro.flags, STORE_RUN_OVERFLOW);
	assert_int_equal(ro.cost_pusd, 0);

	rows *r = scan(f->s, H0, H0 + 2);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->v[0].calls, 2);
	assert_int_equal(r->v[0].unpriced_calls, 2);
	assert_int_equal(r->v[0].usage[LLMCOST_IN_AUDIO], 10);
	assert_true(store_rollup_cost(&r->v[0]) == 100 * GPT4O_IN);
	free(r);
}

// Rollup costs are 128-bit: many expensive runs in one row sum exactly
// past INT64_MAX.
static void
test_rollup_cost_128(void **state)
{
	fixture *f = *state;
	spec specs[5];
	// 900e9 output tokens of gpt-4o = 9e18 pUSD, just under INT64_MAX
	// (9.22e18); five of them sum to 4.5e19.
	for (uint32_t i = 0; i < 5; i++) {
		specs[i] = (spec) { i + 1, H0, "openai", "gpt-4o", "big", NULL,
			U3(0, 0, UINT64_C(900000000000)) };
	}
	write_specs(f->s, specs, 5, 0, 5, 0);
	assert_int_equal(
	    get_run(f->s, 1, H0).cost_pusd, INT64_C(9000000000000000000));
	rows *r = scan(f->s, H0, H0 + 2);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->v[0].unpriced_calls, 0);
	assert_true(store_rollup_cost(&r->v[0])
	    == (store_i128) 5 * INT64_C(9000000000000000000));
	assert_int_equal(r->v[0].cost_hi, 2); // 4.5e19 = 2 * 2^64 + ...
	free(r);
}

// ---- the store stores the costs it is given ----

// store_write prices nothing: whatever the pricing stage decided is what
// the run and its rollup hold, even where a price table would disagree.
static void
test_write_takes_costs(void **state)
{
	fixture *f = *state;
	static const spec three[] = {
		SEARCH(1, H0, 1000),
		SEARCH(2, H0, 1000),
		SEARCH(3, H0, 1000),
	};
	built *b = build(three, 3);
	llmcost_proto_batch bt = batch_of(b, 0xc1, 1, 0);
	const store_cost costs[3] = {
		{ INT64_C(123456789), 4242, 0 },
		{ 5, 0, STORE_RUN_UNPRICED },
		{ 0, 17, STORE_RUN_OVERFLOW },
	};
	store_batch in = { &bt, costs };
	store_batch_result res;
	char err[256];

	LLMCOST_PASS(store_write(f->s, &in, 1, &res, T0, err, sizeof(err)));
	assert_int_equal(res.stored, 3);
	for (uint32_t i = 0; i < 3; i++) {
		store_run run = get_run(f->s, i + 1, H0);
		assert_int_equal(run.cost_pusd, costs[i].cost_pusd);
		assert_int_equal(run.price_id, costs[i].price_id);
		assert_int_equal(run.flags, costs[i].flags);
	}
	rows *r = scan(f->s, H0, H0 + 2);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->v[0].calls, 3);
	assert_int_equal(r->v[0].unpriced_calls, 2);
	assert_true(store_rollup_cost(&r->v[0]) == 123456789 + 5);
	free(r);
	free(b);
}

// ---- the price-table versions that priced each hour ----

// Writes one call of hour h (call n) priced by the table of version ver.
static void
write_priced(store *s, uint32_t n, uint32_t h, const char *ver)
{
	const spec one[] = { SEARCH(n, h, 1000) };
	built *b = build(one, 1);
	llmcost_proto_batch bt = batch_of(b, 0xc2, n, 0);
	const store_cost cost = { 1000, 1, 0 };
	store_batch in = { &bt, &cost, ver };
	store_batch_result res;
	char err[256];
	LLMCOST_PASS(store_write(s, &in, 1, &res, T0, err, sizeof(err)));
	assert_int_equal(res.stored, 1);
	free(b);
}

// The versions of [from, to) as "v1,v2" (sorted), then "?" when unknown.
static const char *
versions(store *s, uint64_t from, uint64_t to)
{
	static char buf[512];
	store_rtxn *t;
	store_pvers pv;
	char err[256];
	size_t at = 0;
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_price_versions(t, from, to, &pv, err, sizeof(err)));
	store_read_end(t);
	buf[0] = '\0';
	for (uint32_t i = 0; i < pv.n; i++) {
		at += (size_t) snprintf(buf + at, sizeof(buf) - at, "%s%s",
		    i > 0 ? "," : "", pv.v[i]);
	}
	snprintf(buf + at, sizeof(buf) - at, "%s", pv.unknown ? "?" : "");
	return (buf);
}

static void
price_same(void *arg, const store_reprice_call *c, store_cost *out)
{
	(void) arg;
	(void) c;
	*out = (store_cost) { 1000, 1, 0 };
}

static void
reprice_as(store *s, uint64_t from, uint64_t to, const char *ver)
{
	store_reprice_opts o = { .from_ns = from,
		.to_ns = to,
		.price = price_same,
		.price_version = ver };
	char err[256];
	LLMCOST_PASS(store_reprice(s, &o, err, sizeof(err)));
}

static void
test_price_versions(void **state)
{
	fixture *f = *state;
	const uint64_t hr = NS_PER_HOUR;

	// Ingest: hour 0 under A, then B (a reload); hour 1 under B.
	write_priced(f->s, 1, H0, "aaaa");
	write_priced(f->s, 2, H0, "bbbb");
	write_priced(f->s, 3, H0 + 1, "bbbb");
	write_priced(f->s, 4, H0 + 1, "bbbb");
	assert_string_equal(versions(f->s, T0, T0 + 2 * hr), "aaaa,bbbb");
	assert_string_equal(versions(f->s, T0 + hr, T0 + 2 * hr), "bbbb");
	// A window's edge hours count whole.
	assert_string_equal(
	    versions(f->s, T0 + hr / 2, T0 + hr + 1), "aaaa,bbbb");
	// No runs, nothing to say.
	assert_string_equal(versions(f->s, T0 + 5 * hr, T0 + 6 * hr), "");

	// A reprice of all of hour 0 leaves only its table; one that cuts
	// hour 1 adds its table to the one there.
	reprice_as(f->s, T0, T0 + hr, "cccc");
	assert_string_equal(versions(f->s, T0, T0 + hr), "cccc");
	reprice_as(f->s, T0 + hr, T0 + hr + hr / 2, "cccc");
	assert_string_equal(versions(f->s, T0 + hr, T0 + 2 * hr), "bbbb,cccc");
	// A dry run records nothing.
	store_reprice_opts dry = { .from_ns = T0,
		.to_ns = T0 + 2 * hr,
		.dry_run = 1,
		.price = price_same,
		.price_version = "dddd" };
	char err[256];
	LLMCOST_PASS(store_reprice(f->s, &dry, err, sizeof(err)));
	assert_string_equal(versions(f->s, T0, T0 + 2 * hr), "bbbb,cccc");
	store_close(f->s);
	f->s = NULL;

	// A store from before the record (no table): read-only, every hour
	// is unknown; a writer creates the table and the old hours stay
	// unknown beside the new ones.
	raw w;
	MDB_dbi dbi;
	raw_begin(&w, f->path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "pricevers", 0, &dbi));
	LLMCOST_PASS(mdb_drop(w.txn, dbi, 1));
	raw_end(&w);
	store *ro = open_store(f->path, STORE_RDONLY, 0);
	assert_string_equal(versions(ro, T0, T0 + 2 * hr), "?");
	store_close(ro);
	f->s = open_store(f->path, 0, 0);
	write_priced(f->s, 5, H0 + 2, "eeee");
	assert_string_equal(versions(f->s, T0, T0 + 3 * hr), "eeee?");
	assert_string_equal(versions(f->s, T0 + 2 * hr, T0 + 3 * hr), "eeee");
}

// ---- scanning runs by time ----

#define MAX_SEEN 1024

typedef struct seen {
	size_t n;
	uint8_t ids[MAX_SEEN][16];
	store_run runs[MAX_SEEN];
	size_t stop_after; // 0: never stop
} seen;

static int
collect_run(void *arg, const uint8_t *id, const store_run *run)
{
	seen *sn = arg;
	assert_true(sn->n < MAX_SEEN);
	memcpy(sn->ids[sn->n], id, 16);
	sn->runs[sn->n] = *run;
	sn->n++;
	return (sn->stop_after != 0 && sn->n == sn->stop_after ? 7 : 0);
}

// The runs that started in [from, to), through store_scan.
static seen *
scan_runs(store *s, uint64_t from, uint64_t to)
{
	seen *sn = calloc(1, sizeof(*sn));
	store_rtxn *t;

	assert_non_null(sn);
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(store_scan(t, from, to, collect_run, sn));
	store_read_end(t);
	return (sn);
}

static void
test_scan_empty_store(void **state)
{
	fixture *f = *state;
	seen *sn = scan_runs(f->s, 0, UINT64_MAX);

	assert_int_equal(sn->n, 0);
	free(sn);
}

// Runs at chosen nanoseconds: two in one millisecond, one at the start of
// the next hour, one a day later.  Each is { n (its millisecond in the
// hour), hour, nanoseconds past that millisecond, a byte that tells ids
// in the same millisecond apart }.
static const struct {
	uint32_t n, hour, sub_ns;
	uint8_t tag;
} timed[] = {
	{ 1, H0, 0, 0 },
	{ 2, H0, 500000, 0 },
	{ 2, H0, 999999, 1 },
	{ 0, H0 + 1, 0, 0 },
	{ 7, H0 + 24, 123, 0 },
};
#define N_TIMED (sizeof(timed) / sizeof(timed[0]))

static uint64_t
timed_ns(size_t i)
{
	return (start_ns(timed[i].n, timed[i].hour) + timed[i].sub_ns);
}

static void
timed_id(size_t i, uint8_t id[16])
{
	run_id(timed[i].n, timed[i].hour, id);
	id[11] = timed[i].tag;
}

static void
write_timed(store *s)
{
	built *b = build(NULL, 0);
	for (size_t i = 0; i < N_TIMED; i++) {
		spec sp = { timed[i].n, timed[i].hour, "openai", "gpt-4o",
			"search", "prod", U3(10, 0, 1) };
		add(b, &sp);
		b->recs[b->n - 1].start_ns = timed_ns(i);
		timed_id(i, b->recs[b->n - 1].run_id);
	}
	write_built(s, b, 1, 0, N_TIMED, 0);
	free(b);
}

// The indexes into timed[] that scan [from, to) returns, in order.
static void
check_scan(store *s, uint64_t from, uint64_t to, const int *want, size_t n)
{
	seen *sn = scan_runs(s, from, to);

	if (sn->n != n) {
		fail_msg("scan [%llu, %llu): %zu runs, want %zu",
		    (unsigned long long) from, (unsigned long long) to, sn->n,
		    n);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t id[16];
		timed_id((size_t) want[i], id);
		assert_memory_equal(sn->ids[i], id, 16);
		assert_int_equal(sn->runs[i].start_ns, timed_ns(want[i]));
	}
	free(sn);
}

static void
test_scan_ranges(void **state)
{
	fixture *f = *state;
	const uint64_t t1 = timed_ns(0), t2 = timed_ns(1), t3 = timed_ns(2);
	const uint64_t t4 = timed_ns(3), t5 = timed_ns(4);

	write_timed(f->s);
	// Everything, in time order.
	check_scan(f->s, 0, UINT64_MAX, (int[]) { 0, 1, 2, 3, 4 }, 5);
	check_scan(f->s, t1, t5 + 1, (int[]) { 0, 1, 2, 3, 4 }, 5);
	// The end is exclusive, the start inclusive, to the nanosecond.
	check_scan(f->s, t1, t5, (int[]) { 0, 1, 2, 3 }, 4);
	check_scan(f->s, t1 + 1, t5, (int[]) { 1, 2, 3 }, 3);
	check_scan(f->s, t1, t1 + 1, (int[]) { 0 }, 1);
	check_scan(f->s, t2, t3, (int[]) { 1 }, 1);
	check_scan(f->s, t2 + 1, t3 + 1, (int[]) { 2 }, 1);
	check_scan(f->s, t4 - 1, t4 + 1, (int[]) { 3 }, 1);
	// One hour: the runs of H0 only.
	check_scan(f->s, T0, T0 + NS_PER_HOUR, (int[]) { 0, 1, 2 }, 3);
	// Windows with no runs, empty and backwards windows.
	check_scan(f->s, 0, t1, NULL, 0);
	check_scan(f->s, t3 + 1, t4, NULL, 0);
	check_scan(f->s, t5 + 1, UINT64_MAX, NULL, 0);
	check_scan(f->s, t2, t2, NULL, 0);
	check_scan(f->s, t5, t1, NULL, 0);
}

// The run handed to the callback is the stored run, byte for byte.
static void
test_scan_values(void **state)
{
	fixture *f = *state;

	write_specs(f->s, basic, N_BASIC, 0, N_BASIC, 0);
	seen *sn = scan_runs(f->s, 0, UINT64_MAX);
	assert_int_equal(sn->n, N_BASIC);
	for (size_t i = 0; i < N_BASIC; i++) {
		store_run want = get_run(f->s, basic[i].n, basic[i].hour);
		assert_memory_equal(&sn->runs[i], &want, sizeof(want));
	}
	free(sn);
}

// The scan reads the key range of the window and no more: a run whose id
// says another time than its start is not found by its start (run ids
// are minted from the start time; these two break the rule on purpose,
// one id a day early, one two hours late).
static void
test_scan_key_range(void **state)
{
	fixture *f = *state;
	built *b = build(NULL, 0);
	spec early
	    = { 5, H0 - 24, "openai", "gpt-4o", "a", NULL, U3(1, 0, 0) };
	spec inside = { 6, H0, "openai", "gpt-4o", "b", NULL, U3(1, 0, 0) };
	spec late = { 8, H0 + 2, "openai", "gpt-4o", "c", NULL, U3(1, 0, 0) };

	add(b, &early);
	b->recs[0].start_ns = start_ns(6, H0) + 1; // an id 24 h earlier
	add(b, &inside);
	add(b, &late);
	b->recs[2].start_ns = start_ns(7, H0); // an id 2 h later
	write_built(f->s, b, 1, 0, 3, 0);
	seen *sn = scan_runs(f->s, T0, T0 + NS_PER_HOUR);
	assert_int_equal(sn->n, 1);
	assert_int_equal(sn->runs[0].start_ns, start_ns(6, H0));
	free(sn);
	free(b);
}

// Many runs at scattered nanoseconds over three hours against windows
// with edges on, just before and just after run starts: the scan returns
// exactly the runs a direct filter finds, in id order.
static void
test_scan_matches_filter(void **state)
{
	fixture *f = *state;
	enum { N = 400 };
	built *b = build(NULL, 0);
	uint64_t starts[N];
	uint32_t x = 12345;

	for (uint32_t i = 0; i < N; i++) {
		// 400 runs, 10 ms apart on average, some sharing a ms.
		x = x * 1103515245u + 12345u;
		uint32_t ms = i * 27 + (x >> 16) % 20;
		uint32_t hour = H0 + ms / 3600000u;
		spec sp = { ms % 3600000u, hour, "openai", "gpt-4o", "search",
			NULL, U3(1, 0, 0) };
		if (i > 0
		    && starts[i - 1] / 1000000u
		        == start_ns(sp.n, hour) / 1000000u) {
			continue; // one run per ms here: ids are n
		}
		add(b, &sp);
		starts[b->n - 1] = start_ns(sp.n, hour) + (x >> 4) % 1000000u;
		b->recs[b->n - 1].start_ns = starts[b->n - 1];
	}
	uint32_t n = b->n;
	size_t found = 0;
	write_built(f->s, b, 1, 0, n, 0);
	for (uint32_t w = 0; w < 60; w++) {
		x = x * 1103515245u + 12345u;
		uint64_t from = starts[(x >> 8) % n] + (w % 3) - 1;
		x = x * 1103515245u + 12345u;
		uint64_t to = starts[(x >> 8) % n] + (w / 3 % 3) - 1;
		seen *sn = scan_runs(f->s, from, to);
		size_t k = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (starts[i] >= from && starts[i] < to) {
				assert_true(k < sn->n);
				assert_memory_equal(
				    sn->ids[k], b->recs[i].run_id, 16);
				k++;
			}
		}
		assert_int_equal(sn->n, k);
		found += k;
		free(sn);
	}
	assert_true(n > 300);
	assert_true(found > 1000); // the windows are not all empty
	free(b);
}

typedef struct batches {
	seen *sn;
	size_t calls, short_at; // batches seen; the first short one + 1
	size_t stop_at;         // stop at this batch (1-based); 0: never
} batches;

static int
collect_batch(void *arg, const store_scan_item *it, size_t n)
{
	batches *bs = arg;
	bs->calls++;
	assert_true(n >= 1 && n <= STORE_SCAN_BATCH);
	// Only the last batch may be short.
	assert_int_equal(bs->short_at, 0);
	if (n < STORE_SCAN_BATCH) {
		bs->short_at = bs->calls;
	}
	for (size_t i = 0; i < n; i++) {
		assert_null(it[i].ex);    // not asked for
		assert_null(it[i].trace); // not asked for
		collect_run(bs->sn, it[i].id, &it[i].run);
	}
	return (bs->calls == bs->stop_at ? 9 : 0);
}

// Stops the scan at its first run with 1 (what a callback returns comes
// back from the scan, whatever its value).
static int
stop_with_one(void *arg, const uint8_t *id, const store_run *run)
{
	(void) id;
	(void) run;
	(*(int *) arg)++;
	return (1);
}

// store_scan_batch hands over the runs store_scan visits, in the same
// order, in full batches but the last, and stops when told to.
static void
test_scan_batches(void **state)
{
	fixture *f = *state;
	enum { N = 3 * STORE_SCAN_BATCH + 5 };
	built *b = build(NULL, 0);
	store_rtxn *t;

	for (uint32_t i = 0; i < N; i++) {
		spec sp = { 1000 + i * 7, H0, "openai", "gpt-4o", "search",
			NULL, U3(1 + i, 0, 0) };
		add(b, &sp);
	}
	write_built(f->s, b, 1, 0, N, 0);
	seen *want = scan_runs(f->s, 0, UINT64_MAX);
	assert_int_equal(want->n, N);
	for (size_t stop = 0; stop < 3; stop++) {
		batches bs = { calloc(1, sizeof(seen)), 0, 0, stop };
		assert_non_null(bs.sn);
		LLMCOST_PASS(store_read_begin(f->s, &t));
		assert_int_equal(
		    store_scan_batch(t, 0, UINT64_MAX, 0, collect_batch, &bs),
		    stop == 0 ? 0 : 9);
		store_read_end(t);
		size_t n = stop == 0 ? N : stop * STORE_SCAN_BATCH;
		assert_int_equal(bs.sn->n, n);
		assert_int_equal(bs.calls, stop == 0 ? 4 : stop);
		for (size_t i = 0; i < n; i++) {
			assert_memory_equal(bs.sn->ids[i], want->ids[i], 16);
			assert_memory_equal(&bs.sn->runs[i], &want->runs[i],
			    sizeof(store_run));
		}
		free(bs.sn);
	}
	LLMCOST_PASS(store_read_begin(f->s, &t));
	// A stop in the middle of the walk, with a value that is also an
	// error code: returned as it is.
	int ones = 0;
	assert_int_equal(
	    store_scan(t, 0, UINT64_MAX, stop_with_one, &ones), 1);
	assert_int_equal(ones, 1);
	LLMCOST_FAIL(
	    store_scan_batch(t, 0, UINT64_MAX, 0, NULL, NULL), LLMCOST_EINVAL);
	LLMCOST_FAIL(store_scan_batch(NULL, 0, 1, 0, collect_batch, NULL),
	    LLMCOST_EINVAL);
	store_read_end(t);
	free(want);
	free(b);
}

static void
test_scan_runs_stops_early(void **state)
{
	fixture *f = *state;
	seen *sn = calloc(1, sizeof(*sn));
	store_rtxn *t;

	assert_non_null(sn);
	write_specs(f->s, basic, N_BASIC, 0, N_BASIC, 0);
	sn->stop_after = 2;
	LLMCOST_PASS(store_read_begin(f->s, &t));
	assert_int_equal(store_scan(t, 0, UINT64_MAX, collect_run, sn), 7);
	assert_int_equal(sn->n, 2);
	LLMCOST_FAIL(store_scan(t, 0, UINT64_MAX, NULL, sn), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    store_scan(NULL, 0, UINT64_MAX, collect_run, sn), LLMCOST_EINVAL);
	store_read_end(t);
	free(sn);
}

// Calls made in a request scope keep their trace and parent beside the
// run (proto keys 12 and 13); a call outside one has none; a duplicate
// changes nothing; the run itself is stored as usual.
static void
test_traces(void **state)
{
	fixture *f = *state;
	static const spec sp[] = {
		SEARCH(1, H0, 100),
		SEARCH(2, H0, 200),
		SEARCH(3, H0, 300),
	};
	built *b = build(sp, 3);
	uint8_t trace[16], parent[16], got_t[16], got_p[16], zero[16];

	memset(zero, 0, 16);
	memset(trace, 0x77, 16);
	memset(parent, 0x55, 16);
	// 1: a root call of its trace (no parent); 2: a child; 3: outside.
	memcpy(b->recs[0].trace_id, trace, 16);
	memcpy(b->recs[1].trace_id, trace, 16);
	memcpy(b->recs[1].parent_run_id, parent, 16);
	write_built(f->s, b, 1, 0, 3, 0);

	store_rtxn *t;
	uint8_t id[16];
	LLMCOST_PASS(store_read_begin(f->s, &t));
	run_id(1, H0, id);
	LLMCOST_PASS(store_get_trace(t, id, got_t, got_p));
	assert_memory_equal(got_t, trace, 16);
	assert_memory_equal(got_p, zero, 16);
	run_id(2, H0, id);
	LLMCOST_PASS(store_get_trace(t, id, got_t, got_p));
	assert_memory_equal(got_t, trace, 16);
	assert_memory_equal(got_p, parent, 16);
	run_id(3, H0, id);
	LLMCOST_FAIL(store_get_trace(t, id, got_t, got_p), LLMCOST_ENOTFOUND);
	store_read_end(t);
	assert_int_equal(count_with(f->s, store_count_runs), 3);

	// A resend with another trace is a duplicate: nothing changes.
	memset(b->recs[1].trace_id, 0x11, 16);
	write_built(f->s, b, 2, 0, 0, 3);
	LLMCOST_PASS(store_read_begin(f->s, &t));
	run_id(2, H0, id);
	LLMCOST_PASS(store_get_trace(t, id, got_t, got_p));
	assert_memory_equal(got_t, trace, 16);
	store_read_end(t);
	free(b);
}

// The store's named tables leave room under STORE_MAXDBS for later ones
// (a table past the cap fails every open with MDB_DBS_FULL): the tables
// a new store holds are counted in its main table, where LMDB keeps
// their names.
#define TABLES_HEADROOM 8

static void
test_table_headroom(void **state)
{
	fixture *f = *state;
	char sub[400], err[256];
	store *s = NULL;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi main;
	MDB_cursor *cur;
	MDB_val k, v;
	int tables = 0;

	snprintf(sub, sizeof(sub), "%s/headroom", f->dir);
	LLMCOST_PASS(store_open(&s, sub, 0, 0, err, sizeof(err)));
	store_close(s);

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, STORE_MAXDBS), 0);
	assert_int_equal(mdb_env_open(env, sub, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main), 0);
	assert_int_equal(mdb_cursor_open(txn, main, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		tables++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	print_message("%d named tables, cap %d\n", tables, STORE_MAXDBS);
	assert_true(tables >= 14);
	if (tables + TABLES_HEADROOM > STORE_MAXDBS) {
		fail_msg("%d tables leave fewer than %d free under the cap "
		         "of %d",
		    tables, TABLES_HEADROOM, STORE_MAXDBS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_open_rdonly_missing, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_write_and_read, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_duplicates, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_site_strings_by_pointer, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_traces, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollups_sum, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollup_hours, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_stops_early, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_drops, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_exporter_drops, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_multi_batch_write, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_reopen, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_price_versions, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_map_growth, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_huge_write_retry, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_metasets, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_metaset_walk, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_ids_out_of_order, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_runs_pages_full, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_consecutive_strings, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollups_many_keys, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unpriced_bucket_and_overflow, setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollup_cost_128, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_write_takes_costs, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_empty_store, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_ranges, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_values, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_key_range, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_matches_filter, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_runs_stops_early, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_batches, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_open_damaged, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_fault_table, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_table_headroom, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
