// DESIGN: a report is a scan of the rollup table over [from, to) hours,
// folded into one row per value of the asked dimension.  Rollups are
// small (one row per hour and combination of dimensions), so a week
// of traffic reads a few thousand rows whatever the call volume.  Sums are
// integers: tokens in uint64 and cost in 128-bit pico-USD, so the total
// equals the sum of the rows to the last digit.  Grouping uses a small
// open-addressing table keyed by the interned id; names are resolved and
// copied once at the end, before the read transaction ends.  The rollups
// also sum what few runs carry beyond tokens (fees, the provider's own
// cost, calls whose usage was missing or partial), so a report shows
// those without reading a single run.
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "report.h"

typedef struct slot {
	uint64_t id;
	uint32_t row; // index + 1; 0 = empty
} slot;

typedef struct group {
	slot *slots;
	size_t cap; // power of two
	report_row *rows;
	uint64_t *ids;
	size_t n, rows_cap;
} group;

typedef struct scan {
	report_dim dim;
	group g;   // by the report dimension
	group unp; // unpriced calls by (provider id << 32 | model id)
} scan;

static size_t
slot_hash(uint64_t id, size_t cap)
{
	return ((size_t) ((id * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1));
}

static int
group_find(group *g, uint64_t id, report_row **out)
{
	if (g->n * 2 >= g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 64;
		slot *ns = calloc(ncap, sizeof(*ns));
		if (ns == NULL) {
			return (LLMCOST_ENOMEM);
		}
		for (size_t i = 0; i < g->cap; i++) {
			if (g->slots[i].row != 0) {
				size_t h = slot_hash(g->slots[i].id, ncap);
				while (ns[h].row != 0) {
					h = (h + 1) & (ncap - 1);
				}
				ns[h] = g->slots[i];
			}
		}
		free(g->slots);
		g->slots = ns;
		g->cap = ncap;
	}
	size_t h = slot_hash(id, g->cap);
	while (g->slots[h].row != 0) {
		if (g->slots[h].id == id) {
			*out = &g->rows[g->slots[h].row - 1];
			return (0);
		}
		h = (h + 1) & (g->cap - 1);
	}
	if (g->n >= REPORT_MAX_ROWS) {
		return (LLMCOST_ETOOBIG);
	}
	if (g->n == g->rows_cap) {
		size_t nc = g->rows_cap ? g->rows_cap * 2 : 32;
		report_row *nr = realloc(g->rows, nc * sizeof(*nr));
		uint64_t *ni = nr ? realloc(g->ids, nc * sizeof(*ni)) : NULL;
		if (nr != NULL) {
			g->rows = nr;
		}
		if (ni == NULL) {
			return (LLMCOST_ENOMEM);
		}
		g->ids = ni;
		g->rows_cap = nc;
	}
	memset(&g->rows[g->n], 0, sizeof(g->rows[0]));
	g->ids[g->n] = id;
	g->slots[h].id = id;
	g->slots[h].row = (uint32_t) ++g->n;
	*out = &g->rows[g->n - 1];
	return (0);
}

static void
group_free(group *g)
{
	free(g->slots);
	free(g->ids);
	// rows are handed over or freed by the caller
}

static void
row_sum(report_row *r, const report_row *x)
{
	r->calls += x->calls;
	r->unpriced_calls += x->unpriced_calls;
	r->error_calls += x->error_calls;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		r->usage[b] += x->usage[b];
	}
	r->input_tokens += x->input_tokens;
	r->output_tokens += x->output_tokens;
	r->cost_pusd += x->cost_pusd;
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		r->fees[f] += x->fees[f];
	}
	r->fee_cost_pusd += x->fee_cost_pusd;
	r->provider_cost_calls += x->provider_cost_calls;
	r->provider_cost_pusd += x->provider_cost_pusd;
	r->usage_missing_calls += x->usage_missing_calls;
	r->usage_partial_calls += x->usage_partial_calls;
}

// A roll-up's counters as a row (no name): the buckets summed into the
// input and output totals, the 128-bit cost as is.
static void
row_add(report_row *r, const store_rollup *v)
{
	report_row x = { .calls = v->calls,
		.unpriced_calls = v->unpriced_calls,
		.error_calls = v->error_calls,
		.cost_pusd = store_rollup_cost(v),
		.fee_cost_pusd = store_rollup_fee_cost(v),
		.provider_cost_calls = v->provider_cost_calls,
		.provider_cost_pusd = store_rollup_provider_cost(v),
		.usage_missing_calls = v->usage_missing_calls,
		.usage_partial_calls = v->usage_partial_calls };

	memcpy(x.usage, v->usage, sizeof(x.usage));
	memcpy(x.fees, v->fees, sizeof(x.fees));
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (llmcost__bucket_is_output[b]) {
			x.output_tokens += v->usage[b];
		} else {
			x.input_tokens += v->usage[b];
		}
	}
	row_sum(r, &x);
}

static int
on_rollup(void *arg, const store_rkey *k, const store_rollup *v)
{
	scan *sc = arg;
	uint32_t id = 0;
	report_row *r;
	int rv;

	switch (sc->dim) {
#define DIM_ID(did, name, field, src)                                         \
	case REPORT_BY_##did:                                                 \
		id = k->field;                                                \
		break;
		REPORT_DIM_MAP(DIM_ID)
#undef DIM_ID
	default:
		return (LLMCOST_EINVAL);
	}

	if ((rv = group_find(&sc->g, id, &r)) != 0) {
		return (rv);
	}
	row_add(r, v);
	if (v->unpriced_calls > 0) {
		// Unpriced calls are listed per (provider, model).
		uint64_t key = ((uint64_t) k->provider << 32) | k->model;
		if ((rv = group_find(&sc->unp, key, &r)) != 0) {
			return (rv);
		}
		r->calls += v->unpriced_calls;
	}
	return (0);
}

static char *
dup_string(store_rtxn *t, uint64_t id)
{
	const char *s;
	size_t len;
	if (store_string(t, (uint32_t) id, &s, &len) != 0) {
		return (NULL);
	}
	char *d = malloc(len + 1);
	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return (d);
}

static int
row_cmp(const void *a, const void *b)
{
	const report_row *x = a, *y = b;
	if (x->cost_pusd != y->cost_pusd) {
		return (x->cost_pusd > y->cost_pusd ? -1 : 1);
	}
	if (x->calls != y->calls) {
		return (x->calls > y->calls ? -1 : 1);
	}
	if (x->name == NULL || y->name == NULL) {
		return (x->name == NULL ? 1 : (y->name == NULL ? -1 : 0));
	}
	return (strcmp(x->name, y->name));
}

static int
unp_cmp(const void *a, const void *b)
{
	const report_unpriced *x = a, *y = b;
	if (x->calls != y->calls) {
		return (x->calls > y->calls ? -1 : 1);
	}
	int c = strcmp(x->model ? x->model : "", y->model ? y->model : "");
	return (c != 0 ? c
	               : strcmp(x->provider ? x->provider : "",
	                   y->provider ? y->provider : ""));
}

int
report_build(store *s, report_dim dim, uint32_t from_hour, uint32_t to_hour,
    report **out)
{
	store_rtxn *t;
	scan sc;
	report *r;
	int rv;

	if ((unsigned) dim >= REPORT_DIM_COUNT) {
		return (LLMCOST_EINVAL);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	memset(&sc, 0, sizeof(sc));
	sc.dim = dim;
	r->dim = dim;
	r->from_hour = from_hour;
	r->to_hour = to_hour;
	if ((rv = store_read_begin(s, &t)) != 0) {
		free(r);
		return (rv);
	}
	rv = store_scan_rollups(t, from_hour, to_hour, on_rollup, &sc);
	if (rv == 0) {
		rv = store_drops(t, from_hour, to_hour, &r->dropped);
	}
	if (rv == 0) {
		r->rows = sc.g.rows;
		r->n_rows = sc.g.n;
		sc.g.rows = NULL;
		for (size_t i = 0; i < r->n_rows; i++) {
			r->rows[i].name = dup_string(t, sc.g.ids[i]);
			row_sum(&r->total, &r->rows[i]);
		}
		if (sc.unp.n > 0
		    && (r->unpriced = calloc(sc.unp.n, sizeof(*r->unpriced)))
		        == NULL) {
			rv = LLMCOST_ENOMEM;
		}
		for (size_t i = 0; rv == 0 && i < sc.unp.n; i++) {
			r->unpriced[i].model
			    = dup_string(t, sc.unp.ids[i] & 0xffffffffu);
			r->unpriced[i].provider
			    = dup_string(t, sc.unp.ids[i] >> 32);
			r->unpriced[i].calls = sc.unp.rows[i].calls;
			r->n_unpriced++;
		}
	}
	store_read_end(t);
	free(sc.g.rows);
	free(sc.unp.rows);
	group_free(&sc.g);
	group_free(&sc.unp);
	if (rv != 0) {
		report_free(r);
		return (rv);
	}
	if (r->n_rows > 1) {
		qsort(r->rows, r->n_rows, sizeof(r->rows[0]), row_cmp);
	}
	if (r->n_unpriced > 1) {
		qsort(r->unpriced, r->n_unpriced, sizeof(r->unpriced[0]),
		    unp_cmp);
	}
	*out = r;
	return (0);
}

void
report_free(report *r)
{
	if (r == NULL) {
		return;
	}
	for (size_t i = 0; i < r->n_rows; i++) {
		free(r->rows[i].name);
	}
	for (size_t i = 0; i < r->n_unpriced; i++) {
		free(r->unpriced[i].model);
		free(r->unpriced[i].provider);
	}
	free(r->rows);
	free(r->unpriced);
	free(r);
}

char *
report_fmt_i128(store_i128 v, char *buf, size_t bufsz)
{
	char tmp[48];
	size_t n = 0;
	int neg = v < 0;
	unsigned __int128 u
	    = neg ? -(unsigned __int128) v : (unsigned __int128) v;

	do {
		tmp[n++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	size_t o = 0;
	if (neg && o + 1 < bufsz) {
		buf[o++] = '-';
	}
	while (n > 0 && o + 1 < bufsz) {
		buf[o++] = tmp[--n];
	}
	buf[o] = '\0';
	return (buf);
}

char *
report_fmt_usd(store_i128 pusd, int decimals, char *buf, size_t bufsz)
{
	static const int64_t pow10[]
	    = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
		      1000000000, 10000000000, 100000000000, 1000000000000 };
	if (decimals < 0) {
		decimals = 0;
	}
	if (decimals > 12) {
		decimals = 12;
	}
	int neg = pusd < 0;
	unsigned __int128 u
	    = neg ? -(unsigned __int128) pusd : (unsigned __int128) pusd;
	// Round half away from zero to `decimals` places.
	unsigned __int128 unit = (unsigned __int128) pow10[12 - decimals];
	u = (u + unit / 2) / unit;
	if (u == 0) {
		neg = 0; // no "-0.0000"
	}
	unsigned __int128 scale = (unsigned __int128) pow10[decimals];
	char whole[48], frac[16];
	report_fmt_i128((store_i128) (u / scale), whole, sizeof(whole));
	uint64_t f = (uint64_t) (u % scale);
	for (int i = decimals - 1; i >= 0; i--) {
		frac[i] = (char) ('0' + (int) (f % 10));
		f /= 10;
	}
	frac[decimals] = '\0';
	snprintf(buf, bufsz, "%s%s%s%s", neg ? "-" : "", whole,
	    decimals > 0 ? "." : "", frac);
	return (buf);
}
