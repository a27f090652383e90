// Tests for the query engine (core/query.c) on a real store: randomized
// calls across every kind of key (roll-up dimensions, metadata keys, the
// user_tier alias, tag sets, traces), with fees, provider costs, usage
// flags, errors and unpriced models, are written once; then many random
// queries (keys, filters with = and !=, windows cut at any second,
// hour/day/week buckets in UTC, Europe/Berlin, America/New_York and
// Asia/Kolkata across the March 2025 clock changes, top N, a group cap)
// are answered by the engine, from the rollups and from the runs alone,
// and compared field by field with a naive recomputation in this file:
// a linear list of groups keyed by strings, buckets from the C library's
// localtime/mktime under TZ.  Also the time zone module against the C
// library, and key and filter parsing.
#include <time.h>

#include "store_fixture.h"

#include "query.h"
#include "query_wire.h"
#include "render.h"
#include "tz.h"

#define N_RUNS 3000
// 2025-03-07T00:00:00Z .. +26 days: both zones' spring changes.
#define T_BASE INT64_C(1741305600)
#define T_SPAN (26 * 86400)

static const char *const providers[] = { "openai", "anthropic", "acme" };
static const char *const models[][2] = { { "gpt-4o", "gpt-4o-mini" },
	{ "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022" },
	{ "mystery-1", "mystery-2" } };
static const char *const features[]
    = { "search", "chat", "summarize", "a,b \"quoted\"", NULL };
static const char *const envs[] = { "prod", "dev", NULL };
static const char *const teams[] = { "red", "blue", "green", "", NULL };
static const char *const tiers[] = { "free", "pro", NULL };
static const char *const tagset[] = { "beta", "vip", "eu" };

typedef struct call {
	llmcost_proto_record rec;
	llmcost_proto_kv kv[4];
	llmcost_proto_str tags[3];
	store_cost cost;
	// What the naive side reads.
	const char *provider, *model, *feature, *env, *team, *tier;
	char tagtext[32]; // sorted, joined by ','; "" = none
	int has_trace;
	char trace[37];
} call;

static call *calls;
static fixture *fx;
static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

static uint32_t
pick(uint32_t n)
{
	return ((uint32_t) (rnd() % n));
}

static void
make_call(call *c, uint32_t i)
{
	llmcost_proto_record *r = &c->rec;
	uint32_t nm = 0;

	memset(c, 0, sizeof(*c));
	r->start_ns
	    = (uint64_t) (T_BASE + (int64_t) pick(T_SPAN)) * 1000000000u
	    + pick(1000000000u);
	uint64_t ms = r->start_ns / 1000000u;
	for (int b = 0; b < 6; b++) {
		r->run_id[b] = (uint8_t) (ms >> (40 - 8 * b));
	}
	r->run_id[6] = 0x70;
	r->run_id[8] = 0x80;
	r->run_id[12] = (uint8_t) (i >> 24);
	r->run_id[13] = (uint8_t) (i >> 16);
	r->run_id[14] = (uint8_t) (i >> 8);
	r->run_id[15] = (uint8_t) i;
	r->duration_ns = 1000;
	uint32_t p = pick(3);
	c->provider = providers[p];
	c->model = models[p][pick(2)];
	r->provider = S(c->provider);
	r->model = S(c->model);
	r->status = pick(10) == 0 ? LLMCOST_STATUS_ERROR : LLMCOST_STATUS_OK;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		r->usage[b] = pick(3) == 0 ? pick(5000) : 0;
	}
	// Some runs in the full record (version 1): more audio tokens
	// than the packed one holds.  (No draw: the other calls stay.)
	if (i % 37 == 0) {
		r->usage[LLMCOST_IN_AUDIO] = 70000 + i;
	}
	// Some calls to a model that prices audio and image input (which
	// the packed record keeps in 16 bits), using only what it prices.
	if (i % 29 == 0) {
		c->provider = "google";
		c->model = "gemini-2.0-flash";
		r->provider = S(c->provider);
		r->model = S(c->model);
		r->usage[LLMCOST_IN_CACHE_WRITE_5M] = 0;
		r->usage[LLMCOST_IN_CACHE_WRITE_1H] = 0;
		r->usage[LLMCOST_OUT_AUDIO] = 0;
		r->usage[LLMCOST_OUT_IMAGE] = 0;
		if (i % 37 != 0) {
			r->usage[LLMCOST_IN_AUDIO] = 1 + i % 5000;
		}
		r->usage[LLMCOST_IN_IMAGE] = 1 + i % 3000;
	}
	c->feature = features[pick(5)];
	c->env = envs[pick(3)];
	c->team = teams[pick(5)];
	c->tier = tiers[pick(3)];
	const char *keys[4] = { "feature", "env", "team", "user_tier" };
	const char *vals[4] = { c->feature, c->env, c->team, c->tier };
	for (int k = 0; k < 4; k++) {
		if (vals[k] != NULL) {
			c->kv[nm].key = S(keys[k]);
			c->kv[nm++].val = S(vals[k]);
		}
	}
	r->meta = c->kv;
	r->n_meta = nm;
	// Tags in arrival order; the naive text is the sorted set.
	uint32_t mask = pick(8), nt = 0;
	const char *sorted[3] = { "beta", "eu", "vip" };
	for (int t = 2; t >= 0; t--) {
		if (mask & (1u << t)) {
			c->tags[nt++] = S(tagset[t]);
		}
	}
	for (int t = 0; t < 3; t++) {
		for (uint32_t j = 0; j < nt; j++) {
			if (strcmp(c->tags[j].ptr, sorted[t]) == 0) {
				if (c->tagtext[0] != '\0') {
					strcat(c->tagtext, ",");
				}
				strcat(c->tagtext, sorted[t]);
			}
		}
	}
	r->tags = c->tags;
	r->n_tags = nt;
	if (pick(3) == 0) {
		c->has_trace = 1;
		r->trace_id[0] = 0x01;
		r->trace_id[6] = 0x70;
		r->trace_id[8] = 0x80;
		r->trace_id[15] = (uint8_t) (1 + pick(40));
		llmcost__uuid_str(r->trace_id, c->trace);
	}
	if (pick(8) == 0) {
		r->fees[0] = 1 + pick(3);
	}
	if (pick(6) == 0) {
		r->has_provider_cost = 1;
		r->provider_cost_pusd = pick(1000000000u);
	}
	if (pick(10) == 0) {
		r->usage_flags = pick(3) + 1;
	}
}

static int
setup_group(void **state)
{
	llmcost_proto_record *recs;

	if (fixture_setup(state, "query") != 0) {
		return (-1);
	}
	fx = *state;
	calls = calloc(N_RUNS, sizeof(*calls));
	recs = calloc(N_RUNS, sizeof(*recs));
	if (calls == NULL || recs == NULL) {
		return (-1);
	}
	for (uint32_t i = 0; i < N_RUNS; i++) {
		make_call(&calls[i], i + 1);
	}
	// Pointers into calls[] are stable from here on.
	for (uint32_t i = 0; i < N_RUNS; i++) {
		calls[i].rec.meta = calls[i].kv;
		calls[i].rec.tags = calls[i].tags;
		recs[i] = calls[i].rec;
	}
	llmcost_proto_batch bt;
	memset(&bt, 0, sizeof(bt));
	memset(bt.client_id, 0xc2, 16);
	bt.seq = 1;
	bt.dropped = 5;
	bt.records = recs;
	bt.n_records = N_RUNS;
	store_cost *costs = calloc(N_RUNS, sizeof(*costs));
	pricing_batch(&bt, costs);
	for (uint32_t i = 0; i < N_RUNS; i++) {
		calls[i].cost = costs[i];
	}
	store_batch in = { &bt, costs };
	store_batch_result res;
	char err[256];
	if (store_write(fx->s, &in, 1, &res,
	        (uint64_t) (T_BASE + 86400) * 1000000000u, err, sizeof(err))
	        != 0
	    || res.stored != N_RUNS) {
		fprintf(stderr, "store_write: %s\n", err);
		return (-1);
	}
	free(costs);
	free(recs);
	return (0);
}

static int
teardown_group(void **state)
{
	fixture_teardown(state);
	free(calls);
	return (0);
}

// ---- the naive side ----

// The value of key k for call c (NULL: absent).
static const char *
naive_value(const call *c, const query_key *k)
{
	switch (k->kind) {
	case QUERY_KEY_DIM:
		switch (k->dim) {
		case REPORT_BY_FEATURE:
			return (c->feature);
		case REPORT_BY_MODEL:
			return (c->model);
		case REPORT_BY_ENV:
			return (c->env);
		default:
			return (c->provider);
		}
	case QUERY_KEY_META:
		if (strcmp(k->meta, "team") == 0) {
			return (c->team);
		}
		if (strcmp(k->meta, "user_tier") == 0) {
			return (c->tier);
		}
		if (strcmp(k->meta, "feature") == 0) {
			return (c->feature);
		}
		return (NULL);
	case QUERY_KEY_TAGSET:
		return (c->tagtext[0] != '\0' ? c->tagtext : NULL);
	case QUERY_KEY_TAG:
		// One of the call's tags: naive() goes through each.
		return (c->rec.n_tags > 0 ? c->tags[0].ptr : NULL);
	default:
		return (c->has_trace ? c->trace : NULL);
	}
}

static int
naive_match(const call *c, const query_filter *f)
{
	int eq;
	if (f->key.kind == QUERY_KEY_TAG) {
		eq = 0;
		for (uint32_t j = 0; j < c->rec.n_tags; j++) {
			eq |= strcmp(c->tags[j].ptr, f->value) == 0;
		}
	} else {
		const char *v = naive_value(c, &f->key);
		eq = v != NULL && strcmp(v, f->value) == 0;
	}
	return (eq != f->negate);
}

// The bucket of t under zone (TZ set by the caller), by mktime.
static int64_t
naive_bucket(query_every e, int64_t t)
{
	time_t tt = (time_t) t;
	struct tm tm;
	localtime_r(&tt, &tm);
	if (e == QUERY_EVERY_HOUR) {
		// The hour's start keeps the offset in force at t.
		return (t - tm.tm_min * 60 - tm.tm_sec);
	}
	if (e == QUERY_EVERY_WEEK) {
		tm.tm_mday -= (tm.tm_wday + 6) % 7;
	}
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return ((int64_t) mktime(&tm));
}

typedef struct ngroup {
	int64_t bucket;
	const char *keys[QUERY_MAX_KEYS];
	int other;
	query_sums sum;
} ngroup;

static int
nkeys_eq(const char *const *a, const char *const *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if ((a[i] == NULL) != (b[i] == NULL)
		    || (a[i] != NULL && strcmp(a[i], b[i]) != 0)) {
			return (0);
		}
	}
	return (1);
}

static void
naive_add(query_sums *s, const call *c)
{
	const llmcost_proto_record *r = &c->rec;
	s->calls++;
	if (c->cost.flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) {
		s->unpriced_calls++;
	}
	s->error_calls += r->status != LLMCOST_STATUS_OK;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		s->usage[b] += r->usage[b];
		if (llmcost__bucket_is_output[b]) {
			s->output_tokens += r->usage[b];
		} else {
			s->input_tokens += r->usage[b];
		}
	}
	s->cost_pusd += c->cost.cost_pusd;
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		s->fees[f] += r->fees[f];
	}
	s->fee_cost_pusd += c->cost.fee_cost_pusd;
	if (r->has_provider_cost) {
		s->provider_cost_calls++;
		s->provider_cost_pusd += (store_i128) r->provider_cost_pusd;
	}
	if (r->usage_flags & LLMCOST_USAGE_MISSING) {
		s->usage_missing_calls++;
	} else if (r->usage_flags & LLMCOST_USAGE_PARTIAL) {
		s->usage_partial_calls++;
	}
}

static int
sums_eq(const query_sums *a, const query_sums *b)
{
	return (memcmp(a, b, sizeof(*a)) == 0);
}

// The naive answer to q: groups (bucket, keys) in any order, then top.
// Grouped by tag, a call goes in the row of each of its tags; *overlap
// says whether some call went in more than one row.
static ngroup *
naive(const query_spec *q, size_t *np, query_sums *total, int *overlap)
{
	ngroup *g = calloc(3 * N_RUNS + 1, sizeof(*g));
	size_t n = 0;
	int tk = -1;

	*overlap = 0;
	for (uint32_t k = 0; k < q->n_by; k++) {
		if (q->by[k].kind == QUERY_KEY_TAG) {
			tk = (int) k;
		}
	}

	assert_non_null(g);
	memset(total, 0, sizeof(*total));
	setenv("TZ", q->tz[0] != '\0' ? q->tz : "UTC", 1);
	tzset();
	for (uint32_t i = 0; i < N_RUNS; i++) {
		const call *c = &calls[i];
		if (c->rec.start_ns < q->from_ns
		    || c->rec.start_ns >= q->to_ns) {
			continue;
		}
		int ok = 1;
		for (uint32_t f = 0; f < q->n_where; f++) {
			ok &= naive_match(c, &q->where[f]);
		}
		if (!ok) {
			continue;
		}
		ngroup key;
		memset(&key, 0, sizeof(key));
		if (q->every != QUERY_EVERY_NONE) {
			key.bucket = naive_bucket(q->every,
			    (int64_t) (c->rec.start_ns / 1000000000u));
		}
		for (uint32_t k = 0; k < q->n_by; k++) {
			key.keys[k] = naive_value(c, &q->by[k]);
		}
		// Its tags, each once (or none).
		const char *tv[3];
		uint32_t ntv = 0;
		for (uint32_t t = 0; t < c->rec.n_tags; t++) {
			int seen = 0;
			for (uint32_t u = 0; u < ntv; u++) {
				seen |= strcmp(tv[u], c->tags[t].ptr) == 0;
			}
			if (!seen) {
				tv[ntv++] = c->tags[t].ptr;
			}
		}
		uint32_t rows = tk >= 0 && ntv > 0 ? ntv : 1;
		*overlap |= rows > 1;
		for (uint32_t t = 0; t < rows; t++) {
			if (tk >= 0) {
				key.keys[tk] = ntv > 0 ? tv[t] : NULL;
			}
			size_t j;
			for (j = 0; j < n; j++) {
				if (g[j].bucket == key.bucket
				    && nkeys_eq(
				        g[j].keys, key.keys, q->n_by)) {
					break;
				}
			}
			if (j == n) {
				g[n++] = key;
			}
			naive_add(&g[j].sum, c);
		}
		naive_add(total, c);
	}
	if (q->top > 0) {
		// Tuples ranked by their total over all buckets.
		typedef struct {
			const char *keys[QUERY_MAX_KEYS];
			query_sums sum;
		} tup;
		tup *tu = calloc(n + 1, sizeof(*tu));
		size_t nt = 0;
		for (size_t j = 0; j < n; j++) {
			size_t t;
			for (t = 0; t < nt; t++) {
				if (nkeys_eq(tu[t].keys, g[j].keys, q->n_by)) {
					break;
				}
			}
			if (t == nt) {
				memcpy(tu[nt++].keys, g[j].keys,
				    sizeof(g[j].keys));
			}
			query_sums_add(&tu[t].sum, &g[j].sum);
		}
		for (size_t j = 0; j < n; j++) {
			// Rank of j's tuple: tuples that beat it.
			size_t t, rank = 0;
			for (t = 0; t < nt; t++) {
				if (nkeys_eq(tu[t].keys, g[j].keys, q->n_by)) {
					break;
				}
			}
			for (size_t u = 0; u < nt; u++) {
				const query_sums *a = &tu[u].sum,
				                 *b = &tu[t].sum;
				int beats = a->cost_pusd != b->cost_pusd
				    ? a->cost_pusd > b->cost_pusd
				    : a->calls > b->calls;
				if (u != t && a->cost_pusd == b->cost_pusd
				    && a->calls == b->calls) {
					// Ties go by keys: NULL last.
					for (uint32_t k = 0; k < q->n_by;
					     k++) {
						const char *x = tu[u].keys[k],
						           *y = tu[t].keys[k];
						if ((x == NULL)
						    != (y == NULL)) {
							beats = y == NULL;
							break;
						}
						if (x != NULL
						    && strcmp(x, y) != 0) {
							beats
							    = strcmp(x, y) < 0;
							break;
						}
					}
				}
				rank += beats;
			}
			if (rank >= q->top) {
				g[j].other = 1;
				memset(g[j].keys, 0, sizeof(g[j].keys));
			}
		}
		free(tu);
		// Merge the other rows of a bucket.
		size_t w = 0;
		for (size_t j = 0; j < n; j++) {
			size_t o;
			for (o = 0; g[j].other && o < w; o++) {
				if (g[o].other && g[o].bucket == g[j].bucket) {
					break;
				}
			}
			if (g[j].other && o < w) {
				query_sums_add(&g[o].sum, &g[j].sum);
			} else {
				g[w++] = g[j];
			}
		}
		n = w;
	}
	*np = n;
	return (g);
}

// ---- comparing ----

static void
check_result(const query_spec *q, const query_result *r)
{
	size_t n;
	query_sums total, sum;
	int overlap;
	ngroup *g = naive(q, &n, &total, &overlap);

	if (r->n_rows != n) {
		fail_msg("rows: got %zu, want %zu", r->n_rows, n);
	}
	assert_true(sums_eq(&r->total, &total));
	memset(&sum, 0, sizeof(sum));
	for (size_t i = 0; i < r->n_rows; i++) {
		const query_row *row = &r->rows[i];
		size_t j;
		query_sums_add(&sum, &row->sum);
		for (j = 0; j < n; j++) {
			if (g[j].bucket == row->bucket
			    && g[j].other == row->other
			    && nkeys_eq(g[j].keys,
			        (const char *const *) row->keys, q->n_by)) {
				break;
			}
		}
		if (j == n) {
			fail_msg("row %zu (bucket %lld, %s, other %d) is not "
			         "in the naive answer",
			    i, (long long) row->bucket,
			    row->keys[0] ? row->keys[0] : "NULL", row->other);
		}
		assert_true(sums_eq(&row->sum, &g[j].sum));
		// Order: by bucket, "other" last, then cost, calls.
		if (i > 0) {
			const query_row *p = &r->rows[i - 1];
			assert_true(p->bucket <= row->bucket);
			if (p->bucket == row->bucket) {
				assert_true(p->other <= row->other);
				if (p->other == row->other) {
					assert_true(p->sum.cost_pusd
					    >= row->sum.cost_pusd);
				}
			}
		}
		if (q->every != QUERY_EVERY_NONE) {
			assert_true(row->bucket_end > row->bucket);
		}
	}
	// The rows add up to the total unless a call is in several rows.
	assert_int_equal(query_rows_overlap(r), overlap);
	if (!overlap) {
		assert_true(sums_eq(&sum, &r->total));
	} else {
		assert_true(sum.calls > r->total.calls);
	}
	free(g);
}

static void
run_both(query_spec *q)
{
	query_result *r;
	char err[256];
	int rv;

	for (int pass = 0; pass < 2; pass++) {
		q->flags = pass == 0 ? 0 : QUERY_RUNS_ONLY;
		rv = query_run(fx->s, q, &r, err, sizeof(err));
		if (rv != 0) {
			fail_msg(
			    "query_run: %s: %s", llmcost_err_name(rv), err);
		}
		check_result(q, r);
		if (pass == 1) {
			assert_int_equal(r->rollups_read, 0);
		}
		query_result_free(r);
	}
}

static const char *const key_names[] = { "feature", "model", "env", "provider",
	"meta.team", "user_tier", "tag", "trace", "tagset" };
static const char *const zones[]
    = { "", "Europe/Berlin", "America/New_York", "Asia/Kolkata" };

static void
random_filter(query_filter *f)
{
	char text[128];
	static const char *const fkeys[] = { "feature", "model", "env",
		"provider", "meta.team", "user_tier", "tag" };
	const char *k = fkeys[pick(7)];
	const call *c = &calls[pick(N_RUNS)];
	query_filter probe;
	assert_int_equal(query_filter_parse("env=x", &probe), 0);
	assert_int_equal(query_key_parse(k, &probe.key), 0);
	const char *v = naive_value(c, &probe.key);
	if (probe.key.kind == QUERY_KEY_TAG) {
		v = tagset[pick(3)];
	}
	snprintf(text, sizeof(text), "%s%s=%s", k, pick(3) == 0 ? "!" : "",
	    v != NULL ? v : "nothing");
	LLMCOST_PASS(query_filter_parse(text, f));
}

static void
test_random_queries(void **state)
{
	(void) state;
	for (int iter = 0; iter < 300; iter++) {
		query_spec q;
		query_spec_init(&q);
		q.n_by = pick(4);
		int tags = 0;
		for (uint32_t k = 0; k < q.n_by; k++) {
			LLMCOST_PASS(
			    query_key_parse(key_names[pick(9)], &q.by[k]));
			if (q.by[k].kind == QUERY_KEY_TAG && tags++ > 0) {
				k--; // "tag" at most once
			}
		}
		// Half of the queries keep to roll-up dimensions so that
		// the rollups answer them.
		if (iter % 2 == 0) {
			for (uint32_t k = 0; k < q.n_by; k++) {
				q.by[k].kind = QUERY_KEY_DIM;
				q.by[k].dim
				    = (report_dim) pick(REPORT_DIM_COUNT);
			}
		}
		q.n_where = pick(3);
		for (uint32_t f = 0; f < q.n_where; f++) {
			random_filter(&q.where[f]);
			if (iter % 2 == 0) {
				q.where[f].key.kind = QUERY_KEY_DIM;
				q.where[f].key.dim = REPORT_BY_ENV;
			}
		}
		int64_t a = T_BASE - 3600 + (int64_t) pick(T_SPAN + 7200);
		int64_t b = T_BASE - 3600 + (int64_t) pick(T_SPAN + 7200);
		if (a == b) {
			b++;
		}
		q.from_ns = (uint64_t) (a < b ? a : b) * 1000000000u;
		q.to_ns = (uint64_t) (a < b ? b : a) * 1000000000u;
		q.every = (query_every) pick(4);
		snprintf(q.tz, sizeof(q.tz), "%s", zones[pick(4)]);
		q.top = pick(3) == 0 ? 1 + pick(4) : 0;
		run_both(&q);
	}
}

// Two answers to one question, field for field.
static void
same_result(const query_result *a, const query_result *b)
{
	assert_int_equal(a->n_rows, b->n_rows);
	for (size_t i = 0; i < a->n_rows; i++) {
		const query_row *x = &a->rows[i], *y = &b->rows[i];
		assert_int_equal(x->bucket, y->bucket);
		assert_int_equal(x->other, y->other);
		assert_true(nkeys_eq((const char *const *) x->keys,
		    (const char *const *) y->keys, a->spec.n_by));
		assert_true(sums_eq(&x->sum, &y->sum));
	}
	assert_true(sums_eq(&a->total, &b->total));
	assert_int_equal(a->n_unpriced, b->n_unpriced);
	for (size_t i = 0; i < a->n_unpriced; i++) {
		assert_string_equal(
		    a->unpriced[i].model, b->unpriced[i].model);
		assert_int_equal(a->unpriced[i].calls, b->unpriced[i].calls);
	}
	assert_int_equal(a->capped, b->capped);
	assert_int_equal(a->groups, b->groups);
	assert_int_equal(a->runs_scanned, b->runs_scanned);
	assert_int_equal(a->rollups_read, b->rollups_read);
}

// A call that the walk may sum: priced, without extras.
static const call *
plain_call(void)
{
	for (;;) {
		const call *c = &calls[pick(N_RUNS)];
		const llmcost_proto_record *r = &c->rec;
		if ((c->cost.flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW))
		        == 0
		    && r->fees[0] == 0 && !r->has_provider_cost
		    && r->usage_flags == 0) {
			return (c);
		}
	}
}

// Queries whose runs are summed in the walk where the group is known
// (store_scan_fold: one key of the metadata, or one roll-up dimension,
// without time buckets, traces or "tag"), over windows that cut hours,
// with and without filters on the metadata (a set that fails one is
// skipped in the walk): every answer as the naive one, run for run,
// among runs in both record versions, with extras and unpriced.
static void
test_fold(void **state)
{
	static const char *const keys[] = { "meta.team", "user_tier", "tagset",
		"feature", "model", "env", "provider", "meta.feature" };
	static const char *const filters[] = { "meta.team=red",
		"user_tier!=free", "tag=vip", "meta.team!=blue", "tag!=eu" };
	(void) state;
	for (int iter = 0; iter < 120; iter++) {
		query_spec q;
		query_spec_init(&q);
		q.n_by = 1 + (iter % 5 == 0);
		for (uint32_t k = 0; k < q.n_by; k++) {
			LLMCOST_PASS(query_key_parse(
			    keys[k == 0 ? (uint32_t) iter / 4 % 8 : pick(3)],
			    &q.by[k]));
		}
		q.n_where = iter % 3 == 0 ? 0 : pick(3);
		for (uint32_t f = 0; f < q.n_where; f++) {
			LLMCOST_PASS(
			    query_filter_parse(filters[pick(5)], &q.where[f]));
		}
		int64_t a = T_BASE - 3600 + (int64_t) pick(T_SPAN + 7200);
		int64_t b = T_BASE - 3600 + (int64_t) pick(T_SPAN + 7200);
		if (iter % 4 == 0) {
			a = T_BASE - 1;
			b = T_BASE + T_SPAN + 1;
		}
		if (a == b) {
			b++;
		}
		q.from_ns = (uint64_t) (a < b ? a : b) * 1000000000u;
		q.to_ns = (uint64_t) (a < b ? b : a) * 1000000000u;
		if (iter % 4 == 1) {
			// From one run's start to another's, to the
			// nanosecond: the first is in, the second not.
			uint64_t x = plain_call()->rec.start_ns;
			uint64_t y = plain_call()->rec.start_ns;
			q.from_ns = x < y ? x : y;
			q.to_ns = x < y ? y : x + 1;
		}
		q.top = iter % 6 == 0 ? 2 : 0;
		q.max_groups = iter % 7 == 0 ? 2 : 0;
		if (q.max_groups == 0) {
			run_both(&q);
		}
		// Summed in the walk or run by run: the same answer, "other"
		// row and cap included, from the rollups and runs or from
		// the runs alone.
		for (int only = 0; only < 2; only++) {
			query_result *r[2];
			for (int plain = 0; plain < 2; plain++) {
				q.flags = (only ? QUERY_RUNS_ONLY : 0)
				    | (plain ? QUERY_RUNS_PLAIN : 0);
				LLMCOST_PASS(
				    query_run(fx->s, &q, &r[plain], NULL, 0));
			}
			same_result(r[0], r[1]);
			query_result_free(r[0]);
			query_result_free(r[1]);
		}
	}
}

// Windows whose first and last UTC days (and partial hours) are read as
// the whole day (or hour) less the part outside the window, or, when the
// outside spans more time, as they are (core/query.c, plan_edges); narrow
// filters and three keys make groups and unpriced models that occur
// only outside, which must not show.  Each answer is checked against the
// naive one and against the runs alone (unpriced list, group count, cap),
// also under a group cap, which the engine meets by answering again
// without subtracting.
static void
test_edges(void **state)
{
	static const int64_t head[] = { 3 * 3600 + 17, 11 * 3600 + 300, 86399,
		1800, 23 * 3600 + 1234 };
	static const int64_t tail[]
	    = { 600, 5 * 3600 + 3000, 13 * 3600, 86399, 20 * 3600 + 59 };
	(void) state;
	for (int d = -1; d < 27; d++) {
		for (int i = 0; i < 5; i++) {
			query_spec q;
			query_result *r[2];
			query_spec_init(&q);
			int64_t day = T_BASE + (int64_t) d * 86400;
			q.from_ns = (uint64_t) (day + head[i]) * 1000000000u;
			q.to_ns = (uint64_t) (day + 86400 * (i % 3)
			              + tail[(d + 5 + i) % 5])
			    * 1000000000u;
			if (q.to_ns <= q.from_ns) {
				q.to_ns = q.from_ns + 1000000000u * 7200;
			}
			LLMCOST_PASS(query_key_parse("model", &q.by[0]));
			q.n_by = 1;
			if ((d + i) % 2 == 0) {
				LLMCOST_PASS(
				    query_key_parse("feature", &q.by[1]));
				LLMCOST_PASS(query_key_parse("env", &q.by[2]));
				q.n_by = 3;
			} else {
				LLMCOST_PASS(query_filter_parse(
				    "feature=chat", &q.where[0]));
				LLMCOST_PASS(query_filter_parse(
				    "env!=prod", &q.where[1]));
				q.n_where = 2;
			}
			q.max_groups = (d + 2 * i) % 4 == 0 ? 2 : 0;
			for (int pass = 0; pass < 2; pass++) {
				q.flags = pass == 0 ? 0 : QUERY_RUNS_ONLY;
				LLMCOST_PASS(
				    query_run(fx->s, &q, &r[pass], NULL, 0));
				if (q.max_groups == 0) {
					check_result(&q, r[pass]);
					continue;
				}
				// Capped: 2 named groups and "other", when
				// the window has more than 2.
				size_t n;
				int overlap;
				query_sums total, sum;
				free(naive(&q, &n, &total, &overlap));
				assert_true(sums_eq(&r[pass]->total, &total));
				assert_int_equal(r[pass]->capped, n > 2);
				assert_int_equal(
				    r[pass]->groups, n > 2 ? 2 : n);
				assert_int_equal(
				    r[pass]->n_rows, n > 2 ? 3 : n);
				memset(&sum, 0, sizeof(sum));
				for (size_t j = 0; j < r[pass]->n_rows; j++) {
					query_sums_add(
					    &sum, &r[pass]->rows[j].sum);
				}
				assert_true(sums_eq(&sum, &total));
			}
			assert_int_equal(r[0]->groups, r[1]->groups);
			assert_int_equal(r[0]->capped, r[1]->capped);
			assert_int_equal(r[0]->n_unpriced, r[1]->n_unpriced);
			for (size_t u = 0; u < r[0]->n_unpriced; u++) {
				const query_unpriced *a = &r[0]->unpriced[u];
				const query_unpriced *b = &r[1]->unpriced[u];
				assert_string_equal(a->provider, b->provider);
				assert_string_equal(a->model, b->model);
				assert_int_equal(a->calls, b->calls);
			}
			query_result_free(r[0]);
			query_result_free(r[1]);
		}
	}
}

// Whole days and whole hours, where the rollups answer nearly all.
static void
test_whole_hours(void **state)
{
	(void) state;
	for (int e = 0; e < 4; e++) {
		for (int z = 0; z < 4; z++) {
			query_spec q;
			query_spec_init(&q);
			q.from_ns = (uint64_t) T_BASE * 1000000000u;
			q.to_ns = (uint64_t) (T_BASE + T_SPAN) * 1000000000u;
			q.every = (query_every) e;
			snprintf(q.tz, sizeof(q.tz), "%s", zones[z]);
			LLMCOST_PASS(query_key_parse("model", &q.by[1]));
			q.n_by = 2;
			run_both(&q);
		}
	}
	// Days and weeks of UTC read the whole days from the daily rollups,
	// as a query without buckets does: as many rows, not 24 times more.
	query_spec q;
	query_result *r;
	uint64_t rows_none = 0;
	for (int e = QUERY_EVERY_NONE; e <= QUERY_EVERY_WEEK; e++) {
		query_spec_init(&q);
		q.from_ns = (uint64_t) T_BASE * 1000000000u;
		q.to_ns = (uint64_t) (T_BASE + T_SPAN) * 1000000000u;
		q.every = (query_every) e;
		LLMCOST_PASS(query_run(fx->s, &q, &r, NULL, 0));
		assert_int_equal(r->runs_scanned, 0);
		if (e == QUERY_EVERY_NONE) {
			rows_none = r->rollups_read;
		} else if (e == QUERY_EVERY_HOUR) {
			assert_true(r->rollups_read > rows_none);
		} else {
			assert_int_equal(r->rollups_read, rows_none);
		}
		query_result_free(r);
	}
	// Every run is in the window and the report's total counts them.
	query_spec_init(&q);
	q.from_ns = (uint64_t) T_BASE * 1000000000u;
	q.to_ns = (uint64_t) (T_BASE + T_SPAN) * 1000000000u;
	LLMCOST_PASS(query_run(fx->s, &q, &r, NULL, 0));
	assert_int_equal(r->total.calls, N_RUNS);
	assert_int_equal(r->runs_scanned, 0);
	assert_true(r->rollups_read > 0);
	assert_int_equal(r->dropped, 5);
	assert_true(r->n_unpriced >= 2);
	assert_string_equal(r->unpriced[0].provider, "acme");
	query_result_free(r);
}

// The Berlin day of the spring change is 23 hours long, and its hours
// are local ones.
static void
test_dst_day(void **state)
{
	query_spec q;
	query_result *r;
	(void) state;

	query_spec_init(&q);
	q.n_by = 0;
	// 2025-03-29T23:00Z = 2025-03-30 00:00 CET .. 2025-03-31 00:00 CEST.
	q.from_ns = UINT64_C(1743289200) * 1000000000u;
	q.to_ns = UINT64_C(1743372000) * 1000000000u;
	q.every = QUERY_EVERY_DAY;
	snprintf(q.tz, sizeof(q.tz), "Europe/Berlin");
	LLMCOST_PASS(query_run(fx->s, &q, &r, NULL, 0));
	assert_int_equal(r->n_rows, 1);
	assert_int_equal(r->rows[0].bucket, 1743289200);
	assert_int_equal(r->rows[0].bucket_end - r->rows[0].bucket, 23 * 3600);
	assert_int_equal(r->rows[0].bucket_off, 3600);
	query_result_free(r);
	q.every = QUERY_EVERY_HOUR;
	run_both(&q);
	LLMCOST_PASS(query_run(fx->s, &q, &r, NULL, 0));
	assert_true(r->n_rows <= 23);
	query_result_free(r);
}

// A cap on groups: the first max_groups groups are named, the rest
// summed into "other", and the total stays exact.
static void
test_cap(void **state)
{
	query_spec q;
	query_result *r;
	query_sums total, named;
	size_t n;
	(void) state;

	query_spec_init(&q);
	LLMCOST_PASS(query_key_parse("trace", &q.by[0]));
	q.from_ns = (uint64_t) T_BASE * 1000000000u;
	q.to_ns = (uint64_t) (T_BASE + T_SPAN) * 1000000000u;
	q.max_groups = 7;
	LLMCOST_PASS(query_run(fx->s, &q, &r, NULL, 0));
	assert_true(r->capped);
	assert_int_equal(r->groups, 7);
	assert_int_equal(r->n_rows, 8);
	assert_true(r->rows[7].other);
	int overlap;
	free(naive(&q, &n, &total, &overlap));
	assert_false(overlap);
	assert_true(sums_eq(&r->total, &total));
	memset(&named, 0, sizeof(named));
	for (size_t i = 0; i < r->n_rows; i++) {
		query_sums_add(&named, &r->rows[i].sum);
	}
	assert_true(sums_eq(&named, &total));
	query_result_free(r);
	// Without the cap: not capped.
	q.max_groups = 0;
	LLMCOST_PASS(query_run(fx->s, &q, &r, NULL, 0));
	assert_false(r->capped);
	assert_int_equal(r->groups, n);
	query_result_free(r);
}

// A query and its answer survive the wire (proto/ QUERY and
// QUERY_REPLY) field by field.
static void
wire_round_trip(const query_spec *q)
{
	query_wire_names names;
	llmcost_proto_query wq;
	llmcost_proto_buf b = { 0 };
	llmcost_proto_enc e;
	llmcost_proto_msg m;
	query_spec back;
	query_result *r, *r2;
	char err[256];

	query_to_wire(q, &names, &wq);
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, &b, 0);
	LLMCOST_PASS(llmcost_proto_enc_query(&e, &wq));
	LLMCOST_PASS(
	    llmcost_proto_decode(b.data, b.len, &m, err, sizeof(err)));
	LLMCOST_PASS(query_from_wire(&m.u.query, &back, err, sizeof(err)));
	assert_memory_equal(&back, q, sizeof(back));
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&b);

	LLMCOST_PASS(query_run(fx->s, q, &r, err, sizeof(err)));
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, &b, 0);
	LLMCOST_PASS(query_result_encode(r, &e));
	LLMCOST_PASS(
	    llmcost_proto_decode(b.data, b.len, &m, err, sizeof(err)));
	LLMCOST_PASS(
	    query_result_from_wire(&m.u.qreply, q, &r2, err, sizeof(err)));
	assert_int_equal(r2->n_rows, r->n_rows);
	for (size_t i = 0; i < r->n_rows; i++) {
		const query_row *x = &r->rows[i], *y = &r2->rows[i];
		assert_int_equal(x->bucket, y->bucket);
		assert_int_equal(x->bucket_end, y->bucket_end);
		assert_int_equal(x->bucket_off, y->bucket_off);
		assert_int_equal(x->bucket_end_off, y->bucket_end_off);
		assert_int_equal(x->other, y->other);
		assert_true(nkeys_eq((const char *const *) x->keys,
		    (const char *const *) y->keys, QUERY_MAX_KEYS));
		assert_true(sums_eq(&x->sum, &y->sum));
	}
	assert_true(sums_eq(&r->total, &r2->total));
	assert_int_equal(r2->n_unpriced, r->n_unpriced);
	for (size_t i = 0; i < r->n_unpriced; i++) {
		assert_string_equal(
		    r2->unpriced[i].model, r->unpriced[i].model);
		assert_int_equal(r2->unpriced[i].calls, r->unpriced[i].calls);
	}
	assert_int_equal(r2->dropped, r->dropped);
	assert_int_equal(r2->capped, r->capped);
	assert_int_equal(r2->groups, r->groups);
	assert_int_equal(r2->from_off, r->from_off);
	assert_int_equal(r2->to_off, r->to_off);
	assert_int_equal(r2->runs_scanned, r->runs_scanned);
	query_result_free(r);
	query_result_free(r2);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&b);
}

static void
test_wire(void **state)
{
	query_spec q;
	(void) state;

	query_spec_init(&q);
	LLMCOST_PASS(query_key_parse("tag", &q.by[1]));
	LLMCOST_PASS(query_key_parse("trace", &q.by[2]));
	LLMCOST_PASS(query_key_parse("user_tier", &q.by[3]));
	q.n_by = 4;
	LLMCOST_PASS(query_filter_parse("meta.team!=red", &q.where[0]));
	LLMCOST_PASS(query_filter_parse("env=prod", &q.where[1]));
	q.n_where = 2;
	q.from_ns = (uint64_t) T_BASE * 1000000000u + 7;
	q.to_ns = (uint64_t) (T_BASE + T_SPAN) * 1000000000u;
	q.every = QUERY_EVERY_WEEK;
	snprintf(q.tz, sizeof(q.tz), "America/New_York");
	q.top = 3;
	wire_round_trip(&q);
	// Capped, by day, from the runs.
	query_spec_init(&q);
	LLMCOST_PASS(query_key_parse("trace", &q.by[0]));
	q.from_ns = (uint64_t) T_BASE * 1000000000u;
	q.to_ns = (uint64_t) (T_BASE + 3 * 86400) * 1000000000u;
	q.every = QUERY_EVERY_DAY;
	q.max_groups = 5;
	q.flags = QUERY_RUNS_ONLY;
	wire_round_trip(&q);
	// An unknown key on the wire is refused by name.
	llmcost_proto_query wq;
	query_wire_names names;
	query_spec back;
	char err[256];
	query_spec_init(&q);
	q.from_ns = 1;
	q.to_ns = 2;
	query_to_wire(&q, &names, &wq);
	wq.by[0].ptr = "colour";
	wq.by[0].len = 6;
	LLMCOST_FAIL(
	    query_from_wire(&wq, &back, err, sizeof(err)), LLMCOST_EINVAL);
	assert_non_null(strstr(err, "'colour'"));
}

// Grouped by tag: a row per tag, a call with several tags in each of
// their rows, the calls without tags in one row, the total each call
// once; grouped by tagset: a row per set, adding up to the total.
static void
test_by_tag(void **state)
{
	query_spec q;
	query_result *r;
	char err[256];
	(void) state;

	query_spec_init(&q);
	LLMCOST_PASS(query_key_parse("tag", &q.by[0]));
	q.n_by = 1;
	q.from_ns = (uint64_t) (T_BASE - 3600) * 1000000000u;
	q.to_ns = (uint64_t) (T_BASE + T_SPAN + 3600) * 1000000000u;
	LLMCOST_PASS(query_run(fx->s, &q, &r, err, sizeof(err)));
	// Counted by hand from the calls: per tag, untagged, and all.
	uint64_t per[3] = { 0, 0, 0 }, none = 0, memberships = 0;
	for (uint32_t i = 0; i < N_RUNS; i++) {
		const call *c = &calls[i];
		none += c->rec.n_tags == 0;
		for (uint32_t t = 0; t < c->rec.n_tags; t++) {
			for (int u = 0; u < 3; u++) {
				per[u]
				    += strcmp(c->tags[t].ptr, tagset[u]) == 0;
			}
			memberships++;
		}
	}
	assert_int_equal(r->total.calls, N_RUNS);
	assert_int_equal(r->n_rows, 4);
	uint64_t rows = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		const query_row *row = &r->rows[i];
		rows += row->sum.calls;
		if (row->keys[0] == NULL) {
			assert_int_equal(row->sum.calls, none);
			continue;
		}
		int u;
		for (u = 0; u < 3 && strcmp(row->keys[0], tagset[u]) != 0;
		     u++) { }
		assert_true(u < 3);
		assert_int_equal(row->sum.calls, per[u]);
	}
	assert_int_equal(rows, memberships + none);
	assert_true(rows > r->total.calls);
	assert_true(query_rows_overlap(r));
	// Both renderings say so.
	char buf[16384];
	render_sink sk;
	render_sink_buffer(&sk, buf, sizeof(buf));
	LLMCOST_PASS(render_query(r, RENDER_TABLE, &sk));
	assert_non_null(strstr(buf, "the rows overlap"));
	assert_null(strstr(buf, "Rounded to 4 decimals"));
	render_sink_buffer(&sk, buf, sizeof(buf));
	LLMCOST_PASS(render_query(r, RENDER_JSON, &sk));
	assert_non_null(strstr(buf, "\"rows_overlap\": true"));
	query_result_free(r);
	// By tag set: rows of whole sets (at most 8), adding up.
	LLMCOST_PASS(query_key_parse("tagset", &q.by[0]));
	LLMCOST_PASS(query_run(fx->s, &q, &r, err, sizeof(err)));
	assert_true(r->n_rows > 4);
	assert_false(query_rows_overlap(r));
	rows = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		rows += r->rows[i].sum.calls;
	}
	assert_int_equal(rows, N_RUNS);
	render_sink_buffer(&sk, buf, sizeof(buf));
	LLMCOST_PASS(render_query(r, RENDER_JSON, &sk));
	assert_null(strstr(buf, "rows_overlap"));
	query_result_free(r);
	// "tag" once per query; a filter takes "tag", not "tagset".
	LLMCOST_PASS(query_key_parse("tag", &q.by[0]));
	LLMCOST_PASS(query_key_parse("tag", &q.by[1]));
	q.n_by = 2;
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_EINVAL);
	assert_non_null(strstr(err, "at most once"));
	q.n_by = 1;
	LLMCOST_PASS(query_filter_parse("tagset=beta", &q.where[0]));
	q.n_where = 1;
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_EINVAL);
}

static void
test_errors(void **state)
{
	query_spec q;
	query_result *r = NULL;
	char err[256];
	(void) state;

	query_spec_init(&q);
	q.from_ns = 10;
	q.to_ns = 10;
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_EINVAL);
	assert_non_null(strstr(err, "empty"));
	q.to_ns = 11;
	snprintf(q.tz, sizeof(q.tz), "Mars/Olympus");
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_ENOTFOUND);
	assert_non_null(strstr(err, "Mars/Olympus"));
	snprintf(q.tz, sizeof(q.tz), "../etc/passwd");
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_EINVAL);
	q.tz[0] = '\0';
	q.every = QUERY_EVERY_HOUR;
	q.to_ns = UINT64_C(200000) * 3600 * 1000000000u;
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_ETOOBIG);
	q.every = QUERY_EVERY_NONE;
	LLMCOST_PASS(query_filter_parse("trace=not-a-uuid", &q.where[0]));
	q.n_where = 1;
	LLMCOST_FAIL(
	    query_run(fx->s, &q, &r, err, sizeof(err)), LLMCOST_EINVAL);
	assert_null(r);
}

static void
test_parse(void **state)
{
	query_key k;
	query_filter f;
	char buf[QUERY_KEY_NAME_MAX + 1];
	(void) state;

	static const char *const good[] = { "feature", "model", "env",
		"provider", "meta.team", "user_tier", "tag", "trace" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		LLMCOST_PASS(query_key_parse(good[i], &k));
		assert_string_equal(
		    query_key_name(&k, buf, sizeof(buf)), good[i]);
	}
	LLMCOST_PASS(query_key_parse("meta.user_tier", &k));
	assert_int_equal(k.kind, QUERY_KEY_META);
	assert_string_equal(k.meta, "user_tier");
	LLMCOST_FAIL(query_key_parse("meta.", &k), LLMCOST_EINVAL);
	LLMCOST_FAIL(query_key_parse("team", &k), LLMCOST_EINVAL);
	LLMCOST_FAIL(query_key_parse("Feature", &k), LLMCOST_EINVAL);
	LLMCOST_PASS(query_filter_parse("env!=prod", &f));
	assert_true(f.negate);
	assert_int_equal(f.key.dim, REPORT_BY_ENV);
	assert_string_equal(f.value, "prod");
	LLMCOST_PASS(query_filter_parse("meta.q=a=b", &f));
	assert_false(f.negate);
	assert_string_equal(f.key.meta, "q");
	assert_string_equal(f.value, "a=b");
	LLMCOST_PASS(query_filter_parse("tag=", &f));
	assert_string_equal(f.value, "");
	LLMCOST_FAIL(query_filter_parse("env", &f), LLMCOST_EINVAL);
	LLMCOST_FAIL(query_filter_parse("=x", &f), LLMCOST_EINVAL);
	LLMCOST_FAIL(query_filter_parse("!=x", &f), LLMCOST_EINVAL);
	LLMCOST_FAIL(query_filter_parse("bogus=x", &f), LLMCOST_EINVAL);
	assert_int_equal(query_every_parse("week"), QUERY_EVERY_WEEK);
	assert_int_equal(query_every_parse("month"), -1);
}

// The zone module against the C library every half hour over two
// years: offsets, and days and weeks across every clock change of five
// zones (Lord Howe's changes are of half an hour; Sao Paulo's skipped
// midnight in 2018); local hours always hold the instant.
static void
test_tz(void **state)
{
	static const char *const names[]
	    = { "Europe/Berlin", "America/New_York", "Asia/Kolkata",
		      "Australia/Lord_Howe", "America/Sao_Paulo" };
	(void) state;

	for (size_t z = 0; z < sizeof(names) / sizeof(names[0]); z++) {
		tz *zone;
		char err[128];
		LLMCOST_PASS(tz_load(names[z], &zone, err, sizeof(err)));
		setenv("TZ", names[z], 1);
		tzset();
		// 2024 and 2025, and for the one zone whose clock change
		// skipped midnight then, 2018.
		int64_t t0
		    = z == 4 ? INT64_C(1514764800) : INT64_C(1704067200);
		for (int64_t t = t0; t < t0 + 2 * 365 * 86400; t += 1800 + 7) {
			time_t tt = (time_t) t;
			struct tm tm;
			localtime_r(&tt, &tm);
			assert_int_equal(tz_offset(zone, t), tm.tm_gmtoff);
			for (int u = TZ_DAY; u <= TZ_WEEK; u++) {
				int64_t end;
				int64_t s
				    = tz_floor(zone, (tz_unit) u, t, &end);
				int64_t want
				    = naive_bucket((query_every) u, t);
				if (s != want) {
					fail_msg("%s unit %d t %lld: %lld, "
					         "want %lld",
					    names[z], u, (long long) t,
					    (long long) s, (long long) want);
				}
				assert_true(s <= t && t < end);
			}
			int64_t end;
			int64_t s = tz_floor(zone, TZ_HOUR, t, &end);
			if (!(s <= t && t < end && end - s <= 3600)) {
				fail_msg("%s hour t %lld: [%lld, %lld)",
				    names[z], (long long) t, (long long) s,
				    (long long) end);
			}
		}
		tz_free(zone);
	}
	tz *u;
	LLMCOST_PASS(tz_load("", &u, NULL, 0));
	assert_string_equal(tz_name(u), "UTC");
	assert_int_equal(tz_floor(u, TZ_WEEK, 1743289200, NULL), 1742774400);
	tz_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_tz),
		cmocka_unit_test(test_random_queries),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_whole_hours),
		cmocka_unit_test(test_dst_day),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_by_tag),
		cmocka_unit_test(test_wire),
	};
	return (cmocka_run_group_tests(tests, setup_group, teardown_group));
}
