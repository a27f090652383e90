// Shared by the store and report tests: batches of runs built in memory as
// the decoder would hand them to the writer, pricing and writing them as
// the writer does, and a fresh store in a temporary directory per test.  Everything is static inline,
// so that a test file that leaves a helper unused still builds cleanly.
#ifndef LLMCOST_STORE_FIXTURE_H
#define LLMCOST_STORE_FIXTURE_H

#include "testutil.h"

#include "pricing.h"
#include "store.h"

#define NS_PER_HOUR UINT64_C(3600000000000)
// 2025-01-01T00:00:00Z in hours since the epoch: every built-in price is
// in force then.
#define H0 UINT32_C(482136)
// The start of H0, in nanoseconds: when most test batches arrive.
#define T0 ((uint64_t) H0 * NS_PER_HOUR)

// Usage shorthand: uncached in, cache read, text out.
#define U3(in, cr, out)                                                       \
	{                                                                     \
		[LLMCOST_IN_UNCACHED] = (in), [LLMCOST_IN_CACHE_READ] = (cr), \
		[LLMCOST_OUT_TEXT] = (out)                                    \
	}

// ---- building batches ----

// One call as a test writes it; NULL strings are absent.  Tables list the
// fields in this order:
// { n, hour, provider, model, feature, env, usage, status, key, val, tag }
typedef struct spec {
	uint32_t n;    // makes the run id; unique per store
	uint32_t hour; // start hour
	const char *provider;
	const char *model;
	const char *feature;
	const char *env;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint32_t status;
	const char *key; // one more metadata entry
	const char *val;
	const char *tag;
} spec;

#define MAX_RECS 512

typedef struct built {
	llmcost_proto_record recs[MAX_RECS];
	llmcost_proto_kv kv[MAX_RECS][3];
	llmcost_proto_str tags[MAX_RECS][1];
	uint32_t n;
} built;

static inline llmcost_proto_str
S(const char *s)
{
	llmcost_proto_str r = { s, s != NULL ? (uint32_t) strlen(s) : 0 };
	return (r);
}

// n milliseconds into the start hour, so ids minted in hour order sort in
// time order as UUIDv7s do.
static inline uint64_t
start_ns(uint32_t n, uint32_t hour)
{
	return ((uint64_t) hour * NS_PER_HOUR + (uint64_t) n * 1000000u);
}

static inline uint64_t
start_of(const spec *sp)
{
	return (start_ns(sp->n, sp->hour));
}

static inline void
run_id(uint32_t n, uint32_t hour, uint8_t id[16])
{
	uint64_t ms = start_ns(n, hour) / 1000000u;

	memset(id, 0, 16);
	for (int i = 0; i < 6; i++) {
		id[i] = (uint8_t) (ms >> (40 - 8 * i));
	}
	id[6] = 0x70;
	id[8] = 0x80;
	id[12] = (uint8_t) (n >> 24);
	id[13] = (uint8_t) (n >> 16);
	id[14] = (uint8_t) (n >> 8);
	id[15] = (uint8_t) n;
}

// Appends the record of sp to b.
static inline void
add(built *b, const spec *sp)
{
	assert_true(b->n < MAX_RECS);
	llmcost_proto_record *r = &b->recs[b->n];
	llmcost_proto_kv *kv = b->kv[b->n];
	uint32_t nm = 0;

	memset(r, 0, sizeof(*r));
	run_id(sp->n, sp->hour, r->run_id);
	r->start_ns = start_of(sp);
	r->duration_ns = 1000u * sp->n + 5;
	r->status = sp->status;
	r->provider = S(sp->provider);
	r->model = S(sp->model);
	memcpy(r->usage, sp->usage, sizeof(r->usage));
	if (sp->feature != NULL) {
		kv[nm].key = S("feature");
		kv[nm++].val = S(sp->feature);
	}
	if (sp->env != NULL) {
		kv[nm].key = S("env");
		kv[nm++].val = S(sp->env);
	}
	if (sp->key != NULL) {
		kv[nm].key = S(sp->key);
		kv[nm++].val = S(sp->val);
	}
	r->meta = nm > 0 ? kv : NULL;
	r->n_meta = nm;
	if (sp->tag != NULL) {
		b->tags[b->n][0] = S(sp->tag);
		r->tags = b->tags[b->n];
		r->n_tags = 1;
	}
	b->n++;
}

// The records of n specs (none: an empty batch to add to); free() it.
static inline built *
build(const spec *specs, size_t n)
{
	built *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		add(b, &specs[i]);
	}
	return (b);
}

// A batch from client (all 16 bytes of its id) of b's records (b NULL:
// none).
static inline llmcost_proto_batch
batch_of(const built *b, uint8_t client, uint64_t seq, uint64_t dropped)
{
	llmcost_proto_batch bt;

	memset(&bt, 0, sizeof(bt));
	memset(bt.client_id, client, 16);
	bt.seq = seq;
	bt.dropped = dropped;
	bt.records = b != NULL ? b->recs : NULL;
	bt.n_records = b != NULL ? b->n : 0;
	return (bt);
}

// Prices n batches (pricing_batch, as llmcostd's writer does) and writes
// them in one transaction: store_write's result.
static inline int
write_batches(store *s, const llmcost_proto_batch *const *bts, size_t n,
    store_batch_result *res, uint64_t now_ns, char *err, size_t errsz)
{
	store_batch in[8];
	char ver[8][STORE_PVER_LEN + 1];
	int rv;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		store_cost *costs
		    = calloc(bts[i]->n_records + 1, sizeof(*costs));
		assert_non_null(costs);
		pricing_batch_version(bts[i], costs, ver[i], sizeof(ver[i]));
		in[i].batch = bts[i];
		in[i].costs = costs;
		in[i].price_version = ver[i];
	}
	rv = store_write(s, in, n, res, now_ns, err, errsz);
	for (size_t i = 0; i < n; i++) {
		free((void *) in[i].costs);
	}
	return (rv);
}

// Writes one batch at now_ns and checks the stored/duplicate counts.
static inline void
write_one(store *s, const llmcost_proto_batch *bt, uint64_t now_ns,
    uint32_t stored, uint32_t dups)
{
	const llmcost_proto_batch *bts[1] = { bt };
	store_batch_result res = { 0xdead, 0xbeef };
	char err[256] = "";
	int rv = write_batches(s, bts, 1, &res, now_ns, err, sizeof(err));

	if (rv != 0) {
		fail_msg("store_write: %s: %s", llmcost_err_name(rv), err);
	}
	assert_int_equal(res.stored, stored);
	assert_int_equal(res.duplicates, dups);
}

// Writes b's records as batch seq of client 0xc1 at T0, which reports
// dropped calls; checks the stored/duplicate counts.
static inline void
write_built(store *s, const built *b, uint64_t seq, uint64_t dropped,
    uint32_t stored, uint32_t dups)
{
	llmcost_proto_batch bt = batch_of(b, 0xc1, seq, dropped);

	write_one(s, &bt, T0, stored, dups);
}

// Writes n specs as batch 1 of client 0xc1 at T0; checks the counts.
static inline void
write_specs(store *s, const spec *specs, size_t n, uint64_t dropped,
    uint32_t stored, uint32_t dups)
{
	built *b = build(specs, n);

	write_built(s, b, 1, dropped, stored, dups);
	free(b);
}

// ---- a fresh store per test ----

typedef struct fixture {
	char dir[256];
	char path[300]; // the store directory inside dir
	store *s;
} fixture;

static inline void
rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
	}
}

static inline store *
open_store(const char *path, unsigned flags, uint64_t mapsize)
{
	store *s = NULL;
	char err[256] = "";
	int rv = store_open(&s, path, flags, mapsize, err, sizeof(err));

	if (rv != 0) {
		fail_msg(
		    "store_open %s: %s: %s", path, llmcost_err_name(rv), err);
	}
	assert_non_null(s);
	return (s);
}

// What one of the store_count_* readers (store_count_runs,
// store_count_extras) answers in a read transaction of its own.
static inline uint64_t
count_with(store *s, int (*count)(store_rtxn *, uint64_t *))
{
	store_rtxn *t;
	uint64_t n = UINT64_MAX;
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(count(t, &n));
	store_read_end(t);
	return (n);
}

// A cmocka setup: an empty store in a new directory
// /tmp/llmcost-<name>-XXXXXX.
static inline int
fixture_setup(void **state, const char *name)
{
	fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL) {
		return (-1);
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/llmcost-%s-XXXXXX", name);
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return (-1);
	}
	snprintf(f->path, sizeof(f->path), "%s/store", f->dir);
	if (store_open(&f->s, f->path, 0, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "store_open: %s\n", err);
		rm_rf(f->dir);
		free(f);
		return (-1);
	}
	*state = f;
	return (0);
}

static inline int
fixture_teardown(void **state)
{
	fixture *f = *state;

	store_close(f->s);
	rm_rf(f->dir);
	free(f);
	return (0);
}

#endif // LLMCOST_STORE_FIXTURE_H
