// DESIGN: a query is one pass over what the window holds, folded into a
// table of groups keyed by (bucket, one 32-bit value per key).  Values
// are never compared as strings while scanning: a roll-up dimension is
// the store's interned string id; a metadata value, a tag set or a trace
// id is interned into the query's own string table the first time it is
// seen, so each run costs a few integer operations and one hash probe.
// A run's metadata is a metaset id: the set is read and decoded once per
// query (a direct-mapped cache by id holds each set's values for the
// query's keys and whether it passes the filters), never per run; once a
// query has looked up a good share of the stored sets one by one, the
// rest are located in one pass over their table (ms_load).
// Filters on a dimension are decided once per string id (a small cache).
// Nothing is allocated per run: the tables grow by doubling only when a
// new group or value appears, and both are capped (max_groups; the
// string table at a fixed size), past which groups fold into an "other"
// row so that the total stays exact.  The plan: whole hours of the
// window, when every key and filter is a roll-up dimension and the hour
// lies inside one bucket (without buckets: plan_edges, which may also
// read an edge day or hour as a whole less its outside part), come from
// the hourly rollups (a few rows per
// hour whatever the call volume), and whole UTC days that lie inside one
// bucket (any day without time buckets; days and weeks of UTC) from the
// daily ones; the rest (the window's partial hours
// at either end, hours a local bucket boundary cuts, or the whole window
// for any other key) is read from the runs by store_scan_batch, which
// hands over 64 runs at a time with their extras and traces from tables
// walked in step.  When a run's group follows from one 32-bit value (its
// metadata set, or the string id of the one dimension grouped by), an
// array by that value (the memo) gives the group without hashing, and
// its slots for a whole batch are prefetched before the batch is summed,
// so that the cache misses of a large window overlap.  When the memo
// alone tells a run's group (no time buckets, traces or rows per tag, no
// filter but on the metadata), the memo goes down into the store's walk
// (store_scan_fold), which adds every run whose group it already knows
// straight from the packed record to a sum per row, with no call and no
// decoded run; those sums join the rows after the walk.  Only the runs
// the memo does not know yet, and the few with extras, without a price or
// in the full record, come to on_run.  With the memo by metadata set and
// no buckets, a set is decoded once, into a scratch entry: the memo
// answers for it from then on; grouped by one metadata key, once every
// set is read in one pass (ms_load) each is decoded there to its value,
// and the walk maps a set through its value to its row (ms_values), so
// that only the first run of each value comes to on_run.  Strings are
// resolved and copied only for the groups kept, at the end, before the
// read transaction ends.
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "query.h"

#define NS_PER_S     UINT64_C(1000000000)
#define NS_PER_HOUR  (UINT64_C(3600) * NS_PER_S)
#define MS_DENSE_MAX (1u << 21) // metasets decoded, by id (48 MiB)
#define MS_CACHE     4096u      // past those ids: direct-mapped
#define ID_CACHE     1024u      // dimension filter verdicts
#ifndef QUERY_MS_BULK_MIN       // (a test builds with a smaller one)
#define QUERY_MS_BULK_MIN 4096u // sets looked up before reading all
#endif
#define LSTR_MAX  (64u << 20) // bytes of values a query interns
#define LSTR_OVER UINT32_MAX  // "the string table is full"

// ---- the query's own string table ----

typedef struct lstr {
	char *bytes;      // all strings, back to back
	size_t len, cap;  // bytes used and allocated (<= LSTR_MAX)
	uint32_t *off;    // string i + 1 starts at off[i] ...
	uint32_t *slen;   // ... and is slen[i] long
	uint32_t n, ncap; // strings
	uint32_t *slots;  // hash slots: string index + 1; 0 = empty
	uint32_t scap;    // power of two
} lstr;

static uint64_t
hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ b[i]) * 0x100000001b3ULL;
	}
	return (h);
}

// The id (1-based) of p[0..n) in the table, added when new; LSTR_OVER
// when the table is full; 0 on allocation failure (with *rv set).
static uint32_t
lstr_intern(lstr *t, const void *p, size_t n, int *rv)
{
	if ((t->n + 1) * 2 > t->scap) {
		uint32_t ncap = t->scap ? t->scap * 2 : 256;
		uint32_t *ns = calloc(ncap, sizeof(*ns));
		if (ns == NULL) {
			*rv = LLMCOST_ENOMEM;
			return (0);
		}
		for (uint32_t i = 0; i < t->n; i++) {
			uint64_t h = hash_bytes(t->bytes + t->off[i],
			    t->slen[i], 0xcbf29ce484222325ULL);
			uint32_t j = (uint32_t) h & (ncap - 1);
			while (ns[j] != 0) {
				j = (j + 1) & (ncap - 1);
			}
			ns[j] = i + 1;
		}
		free(t->slots);
		t->slots = ns;
		t->scap = ncap;
	}
	uint64_t h = hash_bytes(p, n, 0xcbf29ce484222325ULL);
	uint32_t j = (uint32_t) h & (t->scap - 1);
	while (t->slots[j] != 0) {
		uint32_t i = t->slots[j] - 1;
		if (t->slen[i] == n
		    && memcmp(t->bytes + t->off[i], p, n) == 0) {
			return (i + 1);
		}
		j = (j + 1) & (t->scap - 1);
	}
	if (t->len + n > LSTR_MAX || t->n >= LSTR_MAX / 4) {
		return (LSTR_OVER);
	}
	if (t->len + n > t->cap) {
		size_t nc = t->cap ? t->cap : 4096;
		while (nc < t->len + n) {
			nc *= 2;
		}
		char *nb = realloc(t->bytes, nc);
		if (nb == NULL) {
			*rv = LLMCOST_ENOMEM;
			return (0);
		}
		t->bytes = nb;
		t->cap = nc;
	}
	if (t->n == t->ncap) {
		uint32_t nc = t->ncap ? t->ncap * 2 : 256;
		uint32_t *no = realloc(t->off, nc * sizeof(*no));
		if (no != NULL) {
			t->off = no;
		}
		uint32_t *nl = no ? realloc(t->slen, nc * sizeof(*nl)) : NULL;
		if (nl == NULL) {
			*rv = LLMCOST_ENOMEM;
			return (0);
		}
		t->slen = nl;
		t->ncap = nc;
	}
	memcpy(t->bytes + t->len, p, n);
	t->off[t->n] = (uint32_t) t->len;
	t->slen[t->n] = (uint32_t) n;
	t->len += n;
	t->slots[j] = ++t->n;
	return (t->n);
}

static void
lstr_free(lstr *t)
{
	free(t->bytes);
	free(t->off);
	free(t->slen);
	free(t->slots);
}

// ---- groups ----

typedef struct gkey {
	int64_t bucket; // ns; 0 without every
	uint32_t k[QUERY_MAX_KEYS];
	uint32_t other;
	uint32_t pad;
} gkey;

typedef struct grow {
	gkey key;
	query_sums sum;
} grow;

typedef struct gtab {
	grow *rows;
	uint32_t n, rcap;
	uint32_t *slots; // row index + 1
	uint32_t scap;
	uint32_t limit; // rows that are not "other"
	uint32_t named; // rows that are not "other", so far
	int capped;
} gtab;

_Static_assert(sizeof(gkey) == 32, "gkey is four 64-bit words");

static inline void
gkey_words(const gkey *k, uint64_t w[4])
{
	memcpy(w, k, sizeof(*k));
}

static inline uint64_t
gkey_hash(const gkey *k)
{
	uint64_t w[4];
	gkey_words(k, w);
	uint64_t h = (w[0] * 0x9e3779b97f4a7c15ULL)
	    ^ (w[1] * 0xc2b2ae3d27d4eb4fULL) ^ (w[2] * 0x165667b19e3779f9ULL)
	    ^ w[3];
	h ^= h >> 31;
	h *= 0xff51afd7ed558ccdULL;
	return (h ^ (h >> 29));
}

static inline int
gkey_eq(const gkey *a, const gkey *b)
{
	uint64_t x[4], y[4];
	gkey_words(a, x);
	gkey_words(b, y);
	return (((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]))
	    == 0);
}

static int
gtab_grow(gtab *g)
{
	uint32_t ncap = g->scap ? g->scap * 2 : 64;
	uint32_t *ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL) {
		return (LLMCOST_ENOMEM);
	}
	for (uint32_t i = 0; i < g->n; i++) {
		uint32_t j
		    = (uint32_t) gkey_hash(&g->rows[i].key) & (ncap - 1);
		while (ns[j] != 0) {
			j = (j + 1) & (ncap - 1);
		}
		ns[j] = i + 1;
	}
	free(g->slots);
	g->slots = ns;
	g->scap = ncap;
	return (0);
}

// The sums of group k, created when new.  Past the limit of named
// groups, a new group is its bucket's "other" row instead.
static query_sums *
gtab_find(gtab *g, gkey *k, int *rv)
{
	if ((g->n + 1) * 2 > g->scap && (*rv = gtab_grow(g)) != 0) {
		return (NULL);
	}
	uint32_t j;
	for (;;) {
		j = (uint32_t) gkey_hash(k) & (g->scap - 1);
		while (g->slots[j] != 0) {
			grow *r = &g->rows[g->slots[j] - 1];
			if (gkey_eq(&r->key, k)) {
				return (&r->sum);
			}
			j = (j + 1) & (g->scap - 1);
		}
		if (k->other || g->named < g->limit) {
			break;
		}
		g->capped = 1;
		memset(k->k, 0, sizeof(k->k));
		k->other = 1;
	}
	if (g->n == g->rcap) {
		uint32_t nc = g->rcap ? g->rcap * 2 : 32;
		grow *nr = realloc(g->rows, (size_t) nc * sizeof(*nr));
		if (nr == NULL) {
			*rv = LLMCOST_ENOMEM;
			return (NULL);
		}
		g->rows = nr;
		g->rcap = nc;
	}
	grow *r = &g->rows[g->n];
	memset(r, 0, sizeof(*r));
	r->key = *k;
	g->slots[j] = ++g->n;
	if (!k->other) {
		g->named++;
	}
	return (&r->sum);
}

static void
gtab_free(gtab *g)
{
	free(g->rows);
	free(g->slots);
}

// ---- the scan ----

typedef struct ms_ent {
	uint32_t id; // metaset id + 1; 0 = empty
	uint32_t pass;
	uint32_t v[QUERY_MAX_KEYS];
} ms_ent;

// The memo: when a run's group follows from one 32-bit value of it and
// its bucket (its metadata set when every key comes from the metadata;
// the string id of the one roll-up dimension grouped by, when nothing
// else is asked of the metadata), hot[value] remembers the group: 4
// bytes a value, so that the values of a window stay in cache while the
// runs stream by, and the scan prefetches them a batch ahead.  With time
// buckets, hot_epoch[value] says in which bucket it was found.
typedef enum memo_kind {
	MEMO_NONE = 0,
	MEMO_META, // by run->metaset
	MEMO_DIM,  // by the run's string id of by[0]
} memo_kind;
#define HOT_FAIL UINT32_MAX // filtered out (whatever the bucket)
_Static_assert(HOT_FAIL == STORE_FOLD_SKIP,
    "the walk skips what the memo "
    "filters out");
#define HOT_MAX MS_DENSE_MAX

typedef struct id_ent {
	uint32_t id; // string id + 1; 0 = empty
	uint32_t eq; // the string equals the filter's value
} id_ent;

typedef struct unp_ent {
	uint64_t key;   // provider << 32 | model
	uint64_t calls; // modulo 2^64: a subtracted part may come first
	uint64_t used;  // the slot holds key
} unp_ent;

typedef struct qctx {
	const query_spec *q;
	store_rtxn *t;
	tz *zone;
	int rv;
	char *err;
	size_t errsz;
	// What the keys and filters need from a run.
	int need_ms, need_trace;
	memo_kind memo;
	uint8_t trace_val[QUERY_MAX_FILTERS][16];
	id_ent *idc[QUERY_MAX_FILTERS]; // per DIM filter
	ms_ent *msd;                    // by metaset id, msd_cap of them
	// Every set's blob by id (ms_load), once a query has looked up
	// enough of them that reading the table in one pass is cheaper
	// than a search of the tree for each: msb_n of them, NULL where
	// none; ms_bulk 1 when loaded, -1 when not to be.
	const uint8_t **msb;
	uint32_t *msl;
	uint32_t msb_n, ms_miss, ms_next; // lookups, and when to weigh
	uint64_t at_ns;                   // the start of the run being read
	int ms_bulk;
	uint32_t *hot;       // memo: row index + 1; 0 unknown; HOT_FAIL
	uint32_t *hot_epoch; // memo with time buckets: the bucket (epoch)
	uint32_t hot_cap;
	uint32_t msd_cap;
	uint32_t epoch;    // bumped whenever the current bucket changes
	gkey last_key;     // the last rollup's group ...
	uint32_t last_row; // ... and its row index + 1 (0: none)
	ms_ent *ms;        // MS_CACHE entries
	ms_ent ms0;        // for metaset 0 (no metadata)
	lstr strs;
	gtab g;
	unp_ent *unp; // QUERY_MAX_UNPRICED * 2 slots
	uint32_t n_unp;
	// The current bucket, ns: [b_start, b_end).
	uint64_t b_start, b_end;
	uint64_t period_ns; // of the rollups being read: an hour or a day
	uint64_t runs, rollups;
	// The edges of a window without buckets may be read as a whole day
	// or hour less what lies outside the window (plan_edges): neg is
	// set while that outside part is subtracted; complement says that
	// it was done (rows may then sum to nothing, and a capped table
	// is answered again without it); pruned is store_pruned_before.
	int neg, complement, no_complement;
	uint64_t pruned;
	// Grouped by "tag": the key's index, else -1; each metadata set's
	// tags (a count, then the interned ids) in tagl, where its ms_ent's
	// value of the key points; the first MS_CACHE * TAGL_SLOT words are
	// the direct-mapped cache's, the sets by dense id are appended.
	int tag_key;
	uint32_t *tagl;
	size_t tagl_n, tagl_cap;
	uint32_t tag_at;      // where ms_decode puts the tags (TAGL_APPEND)
	query_sums tag_total; // each call once
	// A scan that sums in the walk (fold_scan): the walk's view of the
	// memo and of the sums by row, which the batches keep current.
	store_fold *fold;
	store_fold_sum *fsum; // by row index, fsum_cap of them
	uint32_t fsum_cap;
	// Grouped by one metadata key without buckets: the row of each
	// value (its string id) + 1, so that a new set with a value seen
	// before finds its group without hashing; vrow_cap of them.
	uint32_t *vrow;
	uint32_t vrow_cap;
	// With vrow, once every set has been read in one pass (ms_load):
	// each set's value + 1 (0 unknown; HOT_FAIL: filtered out), msb_n
	// of them, so that the walk finds a new set's row through its value.
	uint32_t *msv;
} qctx;

#define TAGL_SLOT   (1u + LLMCOST_MAX_TAGS)
#define TAGL_APPEND UINT32_MAX

static const uint32_t *
dim_field(const store_run *r, report_dim d)
{
	switch (d) {
#define DIM_FIELD(id, name, field, src)                                       \
	case REPORT_BY_##id:                                                  \
		return (&r->field);
		REPORT_DIM_MAP(DIM_FIELD)
#undef DIM_FIELD
	default:
		return (NULL);
	}
}

static uint32_t
rkey_field(const store_rkey *k, report_dim d)
{
	switch (d) {
#define RK_FIELD(id, name, field, src)                                        \
	case REPORT_BY_##id:                                                  \
		return (k->field);
		REPORT_DIM_MAP(RK_FIELD)
#undef RK_FIELD
	default:
		return (0);
	}
}

// Whether string id equals filter i's value (cached per id).
static int
id_eq(qctx *c, int i, uint32_t id)
{
	if (id == 0) {
		return (0);
	}
	id_ent *e = &c->idc[i][(id * 2654435761u) >> 22 & (ID_CACHE - 1)];
	if (e->id != id + 1) {
		const char *s;
		size_t len;
		const char *v = c->q->where[i].value;
		e->id = id + 1;
		e->eq = store_string(c->t, id, &s, &len) == 0
		    && len == strlen(v) && memcmp(s, v, len) == 0;
	}
	return ((int) e->eq);
}

static uint16_t
be16(const uint8_t *p)
{
	return ((uint16_t) ((p[0] << 8) | p[1]));
}

// Interns the tags tg[0..nt) (sorted, as stored) into the query's tag
// lists at c->tag_at (or appended), each tag once; *at receives where.
// Returns 0 or an error.
static int
tags_decode(qctx *c, const uint8_t *const *tg, const uint16_t *tgl,
    uint32_t nt, uint32_t *at)
{
	size_t o = c->tag_at;
	if (c->tag_at == TAGL_APPEND) {
		if (c->tagl_n + TAGL_SLOT > UINT32_MAX) {
			return (LLMCOST_ENOMEM);
		}
		if (c->tagl_n + TAGL_SLOT > c->tagl_cap) {
			size_t nc = c->tagl_cap * 2;
			uint32_t *nl = realloc(c->tagl, nc * sizeof(*nl));
			if (nl == NULL) {
				return (LLMCOST_ENOMEM);
			}
			c->tagl = nl;
			c->tagl_cap = nc;
		}
		o = c->tagl_n;
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < nt; i++) {
		if (i > 0 && tgl[i] == tgl[i - 1]
		    && memcmp(tg[i], tg[i - 1], tgl[i]) == 0) {
			continue; // a tag given twice counts once
		}
		uint8_t tmp[1 + LLMCOST_MAX_TAG];
		tmp[0] = 'g';
		memcpy(tmp + 1, tg[i], tgl[i]);
		uint32_t id
		    = lstr_intern(&c->strs, tmp, 1 + (size_t) tgl[i], &c->rv);
		if (c->rv != 0) {
			return (c->rv);
		}
		c->tagl[o + 1 + n++] = id;
	}
	c->tagl[o] = n;
	if (c->tag_at == TAGL_APPEND) {
		c->tagl_n = o + 1 + n;
	}
	*at = (uint32_t) o;
	return (0);
}

// Decodes metaset blob b[0..len) for the query: its values for the
// META and TAG keys (interned) and whether it passes the META and TAG
// filters.  Returns 0 or an error.
static int
ms_decode(qctx *c, const uint8_t *b, size_t len, ms_ent *e)
{
	const query_spec *q = c->q;
	const uint8_t *mk[LLMCOST_MAX_META], *mv[LLMCOST_MAX_META];
	const uint8_t *tg[LLMCOST_MAX_TAGS];
	uint16_t mkl[LLMCOST_MAX_META], mvl[LLMCOST_MAX_META];
	uint16_t tgl[LLMCOST_MAX_TAGS];
	size_t o = 2;
	uint32_t nm = len >= 2 ? b[0] : 0, nt = len >= 2 ? b[1] : 0;

	if (len < 2 || nm > LLMCOST_MAX_META || nt > LLMCOST_MAX_TAGS) {
		return (LLMCOST_ESTORE);
	}
	// Every length within the blob and within what a call may carry
	// (the buffers below are that long): a damaged store is refused.
	for (uint32_t i = 0; i < nm; i++) {
		for (int part = 0; part < 2; part++) {
			if (o + 2 > len || o + 2 + be16(b + o) > len
			    || be16(b + o) > (part == 0 ? LLMCOST_MAX_KEY
			                                : LLMCOST_MAX_VALUE)) {
				return (LLMCOST_ESTORE);
			}
			uint16_t l = be16(b + o);
			if (part == 0) {
				mk[i] = b + o + 2;
				mkl[i] = l;
			} else {
				mv[i] = b + o + 2;
				mvl[i] = l;
			}
			o += 2 + (size_t) l;
		}
	}
	for (uint32_t i = 0; i < nt; i++) {
		if (o + 2 > len || o + 2 + be16(b + o) > len
		    || be16(b + o) > LLMCOST_MAX_TAG) {
			return (LLMCOST_ESTORE);
		}
		tg[i] = b + o + 2;
		tgl[i] = be16(b + o);
		o += 2 + (size_t) tgl[i];
	}
	e->pass = 1;
	for (uint32_t f = 0; f < q->n_where && e->pass; f++) {
		const query_filter *fl = &q->where[f];
		size_t vl = strlen(fl->value);
		int eq = 0;
		if (fl->key.kind == QUERY_KEY_META) {
			size_t kl = strlen(fl->key.meta);
			for (uint32_t i = 0; i < nm; i++) {
				if (mkl[i] == kl
				    && memcmp(mk[i], fl->key.meta, kl) == 0) {
					eq = mvl[i] == vl
					    && memcmp(mv[i], fl->value, vl)
					        == 0;
					break;
				}
			}
		} else if (fl->key.kind == QUERY_KEY_TAG) {
			for (uint32_t i = 0; i < nt && !eq; i++) {
				eq = tgl[i] == vl
				    && memcmp(tg[i], fl->value, vl) == 0;
			}
		} else {
			continue;
		}
		e->pass = (uint32_t) (eq != fl->negate);
	}
	if (!e->pass) {
		return (0);
	}
	for (uint32_t k = 0; k < q->n_by; k++) {
		const query_key *key = &q->by[k];
		e->v[k] = 0;
		if (key->kind == QUERY_KEY_META) {
			size_t kl = strlen(key->meta);
			for (uint32_t i = 0; i < nm; i++) {
				if (mkl[i] == kl
				    && memcmp(mk[i], key->meta, kl) == 0) {
					// Metadata values are interned
					// apart from tag sets and traces.
					uint8_t tmp[1 + LLMCOST_MAX_VALUE];
					tmp[0] = 'm';
					memcpy(tmp + 1, mv[i], mvl[i]);
					e->v[k] = lstr_intern(&c->strs, tmp,
					    1 + (size_t) mvl[i], &c->rv);
					break;
				}
			}
		} else if (key->kind == QUERY_KEY_TAG) {
			int rv = tags_decode(c, tg, tgl, nt, &e->v[k]);
			if (rv != 0) {
				return (rv);
			}
		} else if (key->kind == QUERY_KEY_TAGSET && nt > 0) {
			// The tag set, sorted (as stored), joined by ','.
			uint8_t
			    tmp[1 + LLMCOST_MAX_TAGS * (LLMCOST_MAX_TAG + 1)];
			size_t n = 0;
			tmp[n++] = 'g';
			for (uint32_t i = 0; i < nt; i++) {
				if (i > 0) {
					tmp[n++] = ',';
				}
				memcpy(tmp + n, tg[i], tgl[i]);
				n += tgl[i];
			}
			e->v[k] = lstr_intern(&c->strs, tmp, n, &c->rv);
		}
		if (c->rv != 0) {
			return (c->rv);
		}
	}
	return (0);
}

static int
ms_load_one(void *arg, uint32_t id, const uint8_t *blob, size_t len)
{
	qctx *c = arg;
	if (id >= c->msb_n) {
		return (1); // the ids past the array: looked up one by one
	}
	if (len >= 2 && len <= UINT32_MAX) {
		c->msb[id] = blob;
		c->msl[id] = (uint32_t) len;
	}
	return (0);
}

// Grouped by one metadata key without buckets, once every set's blob is
// at hand: each set decoded in id order (where the blobs lie in the
// file) into c->msv, so that the walk that sums finds the row of a set it
// meets for the first time by its value (c->vrow), without handing the
// run over.  Only when every value of every set fits the string table
// (interning values the window may not need must not fill it; the caller
// sees that c->msb holds every set).  On any
// failure the sets are decoded as runs meet them.
static void
ms_values(qctx *c)
{
	const query_spec *q = c->q;
	uint64_t bytes = c->strs.len;
	if (c->memo != MEMO_META || q->n_by != 1
	    || q->every != QUERY_EVERY_NONE) {
		return;
	}
	for (uint32_t id = 1; id < c->msb_n; id++) {
		bytes += (uint64_t) c->msl[id] + 1;
	}
	if (bytes > LSTR_MAX || (uint64_t) c->strs.n + c->msb_n > LSTR_MAX / 4
	    || (c->msv = calloc(c->msb_n, sizeof(*c->msv))) == NULL) {
		return;
	}
	for (uint32_t id = 1; id < c->msb_n; id++) {
		ms_ent e;
		if (c->msb[id] == NULL) {
			continue;
		}
		c->tag_at = TAGL_APPEND;
		if (ms_decode(c, c->msb[id], c->msl[id], &e) != 0) {
			if (c->rv != 0) { // out of memory: as before
				c->rv = 0;
				free(c->msv);
				c->msv = NULL;
				return;
			}
			continue; // damaged: refused when a run needs it
		}
		if (!e.pass) {
			c->msv[id] = HOT_FAIL;
		} else if (e.v[0] != LSTR_OVER) {
			c->msv[id] = e.v[0] + 1;
		}
	}
}

// The blobs of every metadata set with an id below MS_DENSE_MAX, when the
// sets a scan has looked up one by one so far (each a search of the
// tree), projected over its whole window, are a good part of them: one
// pass over the table in id order instead.  Only pointers are kept;
// a set is decoded when a run first needs it, as before.  On any failure
// the lookups go on one by one.
static void
ms_load(qctx *c)
{
	uint64_t total = 0;
	c->ms_bulk = -1;
	if (store_metaset_count(c->t, &total) != 0) {
		return;
	}
	// The sets the whole window will want, judged by those the part
	// read so far wanted (runs come in time order; at least 1/1024
	// of the window counts as read).
	uint64_t span = c->q->to_ns - c->q->from_ns;
	uint64_t done
	    = c->at_ns > c->q->from_ns ? c->at_ns - c->q->from_ns : 0;
	if (done < span / 1024) {
		done = span / 1024 > 0 ? span / 1024 : 1;
	}
	unsigned __int128 want = (unsigned __int128) c->ms_miss * span / done;
	if (want * 8 < total) {
		c->ms_bulk = 0; // weighed again after twice the lookups
		c->ms_next = c->ms_miss * 2;
		return;
	}
	uint32_t n
	    = total + 1 < MS_DENSE_MAX ? (uint32_t) total + 1 : MS_DENSE_MAX;
	c->msb = calloc(n, sizeof(*c->msb));
	c->msl = calloc(n, sizeof(*c->msl));
	if (c->msb == NULL || c->msl == NULL) {
		return;
	}
	c->msb_n = n;
	int rv = store_metaset_walk(c->t, 1, ms_load_one, c);
	if (rv != 0 && rv != 1) {
		memset(c->msb, 0, (size_t) n * sizeof(*c->msb));
		return;
	}
	c->ms_bulk = 1;
	if (total + 1 <= MS_DENSE_MAX) { // every set, so every value
		ms_values(c);
	}
}

// Set id decoded for the query: from the cache, else read and decoded
// into it, or into *once when given (a set the memo will answer for from
// now on, so that nothing need keep it).  NULL on an error (c->rv set).
static ms_ent *
ms_get(qctx *c, uint32_t id, ms_ent *once)
{
	if (id == 0) {
		return (&c->ms0);
	}
	ms_ent *e;
	if (once != NULL) {
		e = once;
		e->id = 0;
		c->tag_at = TAGL_APPEND;
	} else if (id < MS_DENSE_MAX) {
		// Ids are dense and a window's sets are near each other:
		// an array by id holds every set of the query once.
		if (id >= c->msd_cap) {
			uint32_t nc = c->msd_cap > 0 ? c->msd_cap : 1024;
			while (nc <= id) {
				nc *= 2;
			}
			nc = nc > MS_DENSE_MAX ? MS_DENSE_MAX : nc;
			ms_ent *nm
			    = realloc(c->msd, (size_t) nc * sizeof(*nm));
			if (nm == NULL) {
				c->rv = LLMCOST_ENOMEM;
				return (NULL);
			}
			memset(nm + c->msd_cap, 0,
			    (size_t) (nc - c->msd_cap) * sizeof(*nm));
			c->msd = nm;
			c->msd_cap = nc;
		}
		e = &c->msd[id];
		c->tag_at = TAGL_APPEND;
	} else {
		uint32_t j = (id * 2654435761u) >> 20 & (MS_CACHE - 1);
		e = &c->ms[j];
		c->tag_at = j * TAGL_SLOT;
	}
	if (e->id != id + 1) {
		const uint8_t *b;
		size_t len;
		int rv;
		if (c->ms_bulk == 0 && id < MS_DENSE_MAX
		    && ++c->ms_miss >= c->ms_next) {
			ms_load(c);
		}
		if (c->ms_bulk == 1 && id < c->msb_n && c->msb[id] != NULL) {
			b = c->msb[id];
			len = c->msl[id];
			rv = 0;
		} else {
			rv = store_metaset(c->t, id, &b, &len);
		}
		if (rv == 0) {
			rv = ms_decode(c, b, len, e);
		}
		if (rv != 0) {
			c->rv = rv == LLMCOST_ENOTFOUND ? LLMCOST_ESTORE : rv;
			e->id = 0;
			return (NULL);
		}
		e->id = id + 1;
	}
	return (e);
}

static int
unp_add(qctx *c, uint32_t provider, uint32_t model, uint64_t calls)
{
	uint64_t key = ((uint64_t) provider << 32) | model;
	uint32_t cap = QUERY_MAX_UNPRICED * 2;
	uint32_t j
	    = (uint32_t) ((key * 0x9e3779b97f4a7c15ULL) >> 40) & (cap - 1);
	if (c->neg) {
		calls = 0 - calls;
	}
	while (c->unp[j].used) {
		if (c->unp[j].key == key) {
			c->unp[j].calls += calls;
			return (0);
		}
		j = (j + 1) & (cap - 1);
	}
	if (c->n_unp < QUERY_MAX_UNPRICED) {
		c->unp[j].key = key;
		c->unp[j].calls = calls;
		c->unp[j].used = 1;
		c->n_unp++;
	}
	return (0);
}

// Sets the current bucket to the one holding t_ns.
static void
bucket_at(qctx *c, uint64_t t_ns)
{
	int64_t end;
	int64_t s = tz_floor(
	    c->zone, (tz_unit) c->q->every, (int64_t) (t_ns / NS_PER_S), &end);
	c->b_start = s < 0 ? 0 : (uint64_t) s * NS_PER_S;
	c->b_end = (uint64_t) end * NS_PER_S;
	c->epoch++;
}

// Makes room in the memo for value v (below HOT_MAX).  Returns 0 or
// LLMCOST_ENOMEM.
static int
memo_room(qctx *c, uint32_t v)
{
	uint32_t nc = c->hot_cap > 0 ? c->hot_cap : 1024;
	while (nc <= v) {
		nc *= 2;
	}
	nc = nc > HOT_MAX ? HOT_MAX : nc;
	uint32_t *nh = realloc(c->hot, (size_t) nc * sizeof(*nh));
	if (nh == NULL) {
		return (LLMCOST_ENOMEM);
	}
	memset(nh + c->hot_cap, 0, (size_t) (nc - c->hot_cap) * sizeof(*nh));
	c->hot = nh;
	if (c->q->every != QUERY_EVERY_NONE) {
		uint32_t *ne
		    = realloc(c->hot_epoch, (size_t) nc * sizeof(*ne));
		if (ne == NULL) {
			return (LLMCOST_ENOMEM);
		}
		c->hot_epoch = ne; // read only where hot[] is not 0
	}
	c->hot_cap = nc;
	return (0);
}

// The memo's slot for value v, made when missing; NULL past HOT_MAX or
// when out of memory (c->rv set).
static inline uint32_t *
memo_slot(qctx *c, uint32_t v)
{
	if (v >= c->hot_cap) {
		if (v >= HOT_MAX) {
			return (NULL);
		}
		if ((c->rv = memo_room(c, v)) != 0) {
			return (NULL);
		}
	}
	return (&c->hot[v]);
}

// The value the memo is keyed by, of a run.
static inline uint32_t
memo_value(const qctx *c, const store_run *run)
{
	return (c->memo == MEMO_META ? run->metaset
	                             : *dim_field(run, c->q->by[0].dim));
}

// Remembers that value v's group in the current bucket is the one of s.
static inline void
memo_set(qctx *c, uint32_t *h, const query_sums *s)
{
	*h = (uint32_t) (((const grow *) (const void *) ((const char *) s
	                     - offsetof(grow, sum)))
	         - c->g.rows)
	    + 1;
	if (c->hot_epoch != NULL) {
		c->hot_epoch[h - c->hot] = c->epoch;
	}
}

// The slot of value v (a string id) in c->vrow, made when missing;
// NULL when out of memory (c->rv set) or past the string table's ids.
static uint32_t *
vrow_slot(qctx *c, uint32_t v)
{
	if (v >= c->vrow_cap) {
		uint32_t nc = c->vrow_cap > 0 ? c->vrow_cap : 1024;
		while (nc <= v && nc < (UINT32_C(1) << 30)) {
			nc *= 2;
		}
		if (nc <= v) {
			return (NULL);
		}
		uint32_t *nv = realloc(c->vrow, (size_t) nc * sizeof(*nv));
		if (nv == NULL) {
			c->rv = LLMCOST_ENOMEM;
			return (NULL);
		}
		memset(nv + c->vrow_cap, 0,
		    (size_t) (nc - c->vrow_cap) * sizeof(*nv));
		c->vrow = nv;
		c->vrow_cap = nc;
	}
	return (&c->vrow[v]);
}

static inline void run_add(
    query_sums *s, const store_run *run, const store_extras *ex);
static void run_sub(
    query_sums *s, const store_run *run, const store_extras *ex);
static int on_run_tags(qctx *c, const store_run *run, const store_extras *ex,
    const ms_ent *ms, const gkey *k);

static inline int
on_run(qctx *c, const store_run *run, const store_extras *ex,
    const uint8_t *trace)
{
	const query_spec *q = c->q;
	ms_ent *ms = NULL, ms1;
	query_sums *s;
	gkey k;
	int rv = 0;

	c->runs++;
	for (uint32_t f = 0; f < q->n_where; f++) {
		const query_filter *fl = &q->where[f];
		int eq;
		if (fl->key.kind == QUERY_KEY_DIM) {
			eq = id_eq(c, (int) f, *dim_field(run, fl->key.dim));
		} else if (fl->key.kind == QUERY_KEY_TRACE) {
			eq = trace != NULL
			    && memcmp(trace, c->trace_val[f], 16) == 0;
		} else {
			continue;
		}
		if (eq == fl->negate) {
			return (0);
		}
	}
	memset(&k, 0, sizeof(k));
	if (q->every != QUERY_EVERY_NONE) {
		if (run->start_ns < c->b_start || run->start_ns >= c->b_end) {
			bucket_at(c, run->start_ns);
		}
		k.bucket = (int64_t) c->b_start;
	}
	uint32_t *h = NULL;
	if (c->memo != MEMO_NONE) {
		uint32_t v = memo_value(c, run);
		if ((h = memo_slot(c, v)) == NULL && c->rv != 0) {
			return (c->rv);
		}
		if (h != NULL && *h == HOT_FAIL) {
			return (0);
		}
		if (h != NULL && *h != 0
		    && (c->hot_epoch == NULL || c->hot_epoch[v] == c->epoch)) {
			// This value's group in this bucket is known: no
			// decoding, no hashing.
			s = &c->g.rows[*h - 1].sum;
			goto add;
		}
	}
	if (c->need_ms) {
		c->at_ns = run->start_ns;
		// With the memo by set and no time buckets, a set is decoded
		// once: its group is then remembered.
		int once = h != NULL && c->memo == MEMO_META
		    && q->every == QUERY_EVERY_NONE;
		if ((ms = ms_get(c, run->metaset, once ? &ms1 : NULL))
		    == NULL) {
			return (c->rv);
		}
		if (!ms->pass) {
			if (h != NULL) {
				*h = HOT_FAIL;
			}
			return (0);
		}
	}
	for (uint32_t i = 0; i < q->n_by; i++) {
		switch (q->by[i].kind) {
		case QUERY_KEY_DIM:
			k.k[i] = *dim_field(run, q->by[i].dim);
			break;
		case QUERY_KEY_TRACE:
			if (trace != NULL) {
				uint8_t tmp[17] = { 't' };
				memcpy(tmp + 1, trace, 16);
				k.k[i] = lstr_intern(
				    &c->strs, tmp, sizeof(tmp), &c->rv);
				if (c->rv != 0) {
					return (c->rv);
				}
			}
			break;
		case QUERY_KEY_TAG:
			break; // one row per tag: on_run_tags
		default:
			k.k[i] = ms->v[i];
			break;
		}
		if (k.k[i] == LSTR_OVER) {
			// No room for one more value: the group is "other".
			memset(k.k, 0, sizeof(k.k));
			k.other = 1;
			c->g.capped = 1;
			break;
		}
	}
	if (c->tag_key >= 0) {
		if (!k.other) {
			return (on_run_tags(c, run, ex, ms, &k));
		}
		// "other" (no room for another key's value): once in the
		// total too, which grouping by tag keeps apart.
		run_add(&c->tag_total, run, ex);
	}
	uint32_t *vr = NULL;
	if (h != NULL && c->memo == MEMO_META && q->n_by == 1
	    && q->every == QUERY_EVERY_NONE && !k.other) {
		if ((vr = vrow_slot(c, k.k[0])) == NULL && c->rv != 0) {
			return (c->rv);
		}
		if (vr != NULL && *vr != 0) {
			s = &c->g.rows[*vr - 1].sum;
			memo_set(c, h, s);
			goto add;
		}
	}
	if ((s = gtab_find(&c->g, &k, &rv)) == NULL) {
		return (rv);
	}
	if (h != NULL) {
		memo_set(c, h, s);
		if (vr != NULL) {
			// A value past the cap is "other" from now on too.
			*vr = *h;
		}
	}
add:
	if (run->flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) {
		unp_add(c, run->provider, run->model, 1);
	}
	if (c->neg) {
		run_sub(s, run, ex);
	} else {
		run_add(s, run, ex);
	}
	return (0);
}

// Adds a run to the sums of its group.
static inline void
run_add(query_sums *s, const store_run *run, const store_extras *ex)
{
	s->calls++;
	if (run->flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) {
		s->unpriced_calls++;
	}
	if (run->status != LLMCOST_STATUS_OK) {
		s->error_calls++;
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		s->usage[b] += run->usage[b];
	}
	s->cost_pusd += run->cost_pusd;
	if (ex != NULL) {
		for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
			s->fees[f] += ex->fees[f];
		}
		s->fee_cost_pusd += ex->fee_cost_pusd;
		if (ex->provider_cost_pusd != STORE_NO_PROVIDER_COST) {
			s->provider_cost_calls++;
			s->provider_cost_pusd += ex->provider_cost_pusd;
		}
		if (ex->usage_flags & LLMCOST_USAGE_MISSING) {
			s->usage_missing_calls++;
		} else if (ex->usage_flags & LLMCOST_USAGE_PARTIAL) {
			s->usage_partial_calls++;
		}
	}
}

// Takes a run out of the sums of its group (plan_edges): the sums of a
// run, negated modulo 2^64 (and in 128 bits for costs), added.
static void
run_sub(query_sums *s, const store_run *run, const store_extras *ex)
{
	query_sums d;
	memset(&d, 0, sizeof(d));
	run_add(&d, run, ex);
	s->calls -= d.calls;
	s->unpriced_calls -= d.unpriced_calls;
	s->error_calls -= d.error_calls;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		s->usage[b] -= d.usage[b];
	}
	s->cost_pusd -= d.cost_pusd;
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		s->fees[f] -= d.fees[f];
	}
	s->fee_cost_pusd -= d.fee_cost_pusd;
	s->provider_cost_calls -= d.provider_cost_calls;
	s->provider_cost_pusd -= d.provider_cost_pusd;
	s->usage_missing_calls -= d.usage_missing_calls;
	s->usage_partial_calls -= d.usage_partial_calls;
}

// Grouped by "tag": adds the run to the total once and to the row of
// each of its tags (k holds the other keys), or to the row without a
// tag when it has none.
static int
on_run_tags(qctx *c, const store_run *run, const store_extras *ex,
    const ms_ent *ms, const gkey *k)
{
	const uint32_t *tl = &c->tagl[ms->v[c->tag_key]];
	uint32_t nt = tl[0];
	int rv = 0;

	if (run->flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) {
		unp_add(c, run->provider, run->model, 1);
	}
	run_add(&c->tag_total, run, ex);
	for (uint32_t j = 0; j < (nt > 0 ? nt : 1); j++) {
		gkey kk = *k;
		kk.k[c->tag_key] = nt > 0 ? tl[1 + j] : 0;
		if (kk.k[c->tag_key] == LSTR_OVER) {
			memset(kk.k, 0, sizeof(kk.k));
			kk.other = 1;
			c->g.capped = 1;
		}
		query_sums *s = gtab_find(&c->g, &kk, &rv);
		if (s == NULL) {
			return (rv);
		}
		run_add(s, run, ex);
	}
	return (0);
}

// Gives the walk of a scan that sums the memo and room to sum every row
// so far.  Returns 0 or LLMCOST_ENOMEM.
static int
fold_sync(qctx *c)
{
	store_fold *f = c->fold;
	if (c->g.n > c->fsum_cap) {
		uint32_t nc = c->g.rcap;
		store_fold_sum *ns
		    = realloc(c->fsum, (size_t) nc * sizeof(*ns));
		if (ns == NULL) {
			return (LLMCOST_ENOMEM);
		}
		memset(ns + c->fsum_cap, 0,
		    (size_t) (nc - c->fsum_cap) * sizeof(*ns));
		c->fsum = ns;
		c->fsum_cap = nc;
	}
	if (c->msv != NULL) {
		f->via = c->msv;
		f->nvia = c->msb_n;
		f->slot = c->vrow;
		f->nslot = c->vrow_cap;
	} else {
		f->slot = c->hot;
		f->nslot = c->hot_cap;
	}
	f->sum = c->fsum;
	f->nsum = c->g.n;
	return (0);
}

// A batch of the scan: the memo slots of its runs are fetched into the
// cache first, so that their misses overlap instead of stalling each run.
static int fold_sync(qctx *c);

static int
on_batch(void *arg, const store_scan_item *it, size_t n)
{
	qctx *c = arg;
	int rv = 0;

	if (c->memo != MEMO_NONE) {
		for (size_t i = 0; i < n; i++) {
			uint32_t v = memo_value(c, &it[i].run);
			if (v < c->hot_cap) {
				__builtin_prefetch(&c->hot[v]);
			}
		}
	}
	if (c->ms_bulk == 1) {
		// The sets of the batch, read where the bulk load found
		// them: a walk that sums hands over mostly runs whose set
		// is new to the query, each a miss of its own.
		for (size_t i = 0; i < n; i++) {
			if (it[i].run.metaset < c->msb_n) {
				__builtin_prefetch(&c->msb[it[i].run.metaset]);
			}
		}
		for (size_t i = 0; i < n; i++) {
			uint32_t id = it[i].run.metaset;
			if (id < c->msb_n && c->msb[id] != NULL) {
				__builtin_prefetch(c->msb[id]);
			}
		}
	}
	for (size_t i = 0; i < n && rv == 0; i++) {
		rv = on_run(c, &it[i].run, it[i].ex, it[i].trace);
	}
	if (rv == 0 && c->fold != NULL) {
		rv = fold_sync(c);
	}
	return (rv);
}

static int
on_rollup(void *arg, const store_rkey *rk, const store_rollup *v)
{
	qctx *c = arg;
	const query_spec *q = c->q;
	gkey k;
	int rv = 0;

	c->rollups++;
	for (uint32_t f = 0; f < q->n_where; f++) {
		const query_filter *fl = &q->where[f];
		if (id_eq(c, (int) f, rkey_field(rk, fl->key.dim))
		    == fl->negate) {
			return (0);
		}
	}
	memset(&k, 0, sizeof(k));
	if (q->every != QUERY_EVERY_NONE) {
		uint64_t t = (uint64_t) rk->hour * c->period_ns;
		if (t < c->b_start || t >= c->b_end) {
			bucket_at(c, t);
		}
		k.bucket = (int64_t) c->b_start;
	}
	for (uint32_t i = 0; i < q->n_by; i++) {
		k.k[i] = rkey_field(rk, q->by[i].dim);
	}
	// Rollups come in key order, so neighbours often share a group.
	query_sums *s;
	uint32_t *h = NULL;
	if (c->memo == MEMO_DIM) {
		uint32_t mv = k.k[0];
		if ((h = memo_slot(c, mv)) == NULL && c->rv != 0) {
			return (c->rv);
		}
	}
	if (h != NULL && *h != 0
	    && (c->hot_epoch == NULL
	        || c->hot_epoch[h - c->hot] == c->epoch)) {
		s = &c->g.rows[*h - 1].sum;
	} else if (h != NULL) {
		if ((s = gtab_find(&c->g, &k, &rv)) == NULL) {
			return (rv);
		}
		memo_set(c, h, s);
	} else if (c->last_row != 0 && gkey_eq(&c->last_key, &k)) {
		s = &c->g.rows[c->last_row - 1].sum;
	} else {
		if ((s = gtab_find(&c->g, &k, &rv)) == NULL) {
			return (rv);
		}
		c->last_key = k;
		c->last_row = (uint32_t) (((const grow *) (const void
		                                  *) ((const char *) s
		                              - offsetof(grow, sum)))
		                  - c->g.rows)
		    + 1;
	}
	// Subtracted (plan_edges): every count times 2^64 - 1, which is
	// -1 modulo 2^64; every cost negated.
	const uint64_t m = c->neg ? UINT64_MAX : 1;
	const store_i128 cm = c->neg ? -1 : 1;
	s->calls += m * v->calls;
	s->unpriced_calls += m * v->unpriced_calls;
	s->error_calls += m * v->error_calls;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		s->usage[b] += m * v->usage[b];
	}
	s->cost_pusd += cm * store_rollup_cost(v);
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		s->fees[f] += m * v->fees[f];
	}
	s->fee_cost_pusd += cm * store_rollup_fee_cost(v);
	s->provider_cost_calls += m * v->provider_cost_calls;
	s->provider_cost_pusd += cm * store_rollup_provider_cost(v);
	s->usage_missing_calls += m * v->usage_missing_calls;
	s->usage_partial_calls += m * v->usage_partial_calls;
	if (v->unpriced_calls > 0) {
		unp_add(c, rk->provider, rk->model, v->unpriced_calls);
	}
	return (0);
}

// ---- planning ----

// Whether the runs' sums may be taken in the walk (store_scan_fold):
// when the memo alone tells a run's group (without time buckets, traces,
// one row per tag or a filter the memo does not decide) and the runs are
// added, not subtracted.
static int
fold_fits(const qctx *c)
{
	const query_spec *q = c->q;
	if (c->memo == MEMO_NONE || q->every != QUERY_EVERY_NONE
	    || c->need_trace || c->tag_key >= 0 || c->neg
	    || (q->flags & QUERY_RUNS_PLAIN) != 0) {
		return (0);
	}
	for (uint32_t f = 0; f < q->n_where; f++) {
		if (q->where[f].key.kind != QUERY_KEY_META
		    && q->where[f].key.kind != QUERY_KEY_TAG) {
			return (0);
		}
	}
	return (1);
}

// The runs of [from_ns, to_ns) summed in the walk where the memo knows
// their group, the others read by on_batch (which fills the memo); the
// walk's sums are then added to the rows.
static int
fold_scan(qctx *c, uint64_t from_ns, uint64_t to_ns)
{
	store_fold f = { .by = c->memo == MEMO_META ? STORE_FOLD_METASET
		                                    : (int) c->q->by[0].dim };
	int rv;

	c->fold = &f;
	if ((rv = fold_sync(c)) == 0) {
		rv = store_scan_fold(
		    c->t, from_ns, to_ns, STORE_SCAN_EXTRAS, &f, on_batch, c);
	}
	c->fold = NULL;
	c->runs += f.runs;
	for (uint32_t i = 0; i < c->g.n && i < c->fsum_cap; i++) {
		store_fold_sum *a = &c->fsum[i];
		query_sums *s = &c->g.rows[i].sum;
		if (a->calls == 0) {
			continue;
		}
		s->calls += a->calls;
		s->error_calls += a->error_calls;
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			s->usage[b] += a->usage[b];
		}
		s->cost_pusd += a->cost_pusd;
		memset(a, 0, sizeof(*a));
	}
	return (rv);
}

static int
scan_runs(qctx *c, uint64_t from_ns, uint64_t to_ns)
{
	unsigned what
	    = STORE_SCAN_EXTRAS | (c->need_trace ? STORE_SCAN_TRACES : 0);
	int rv;
	if (from_ns >= to_ns) {
		return (0);
	}
	if (fold_fits(c)) {
		rv = fold_scan(c, from_ns, to_ns);
	} else {
		rv = store_scan_batch(c->t, from_ns, to_ns, what, on_batch, c);
	}
	return (rv != 0 ? rv : c->rv);
}

// Whether the UTC days [d0, d1) each lie inside one bucket: always
// without buckets; for days and weeks of UTC (or of any zone whose days
// are UTC's); never for hours.
static int
days_whole(qctx *c, uint32_t d0, uint32_t d1)
{
	if (c->q->every == QUERY_EVERY_NONE) {
		return (1);
	}
	if (c->q->every == QUERY_EVERY_HOUR) {
		return (0);
	}
	for (uint32_t d = d0; d < d1; d++) {
		int64_t end, t = (int64_t) d * 86400;
		int64_t s = tz_floor(c->zone, (tz_unit) c->q->every, t, &end);
		if (s > t || end < t + 86400) {
			return (0);
		}
	}
	return (1);
}

// Whole hours [h0, h1) from the rollups.  The whole UTC days inside, when
// each lies inside one bucket (always without time buckets), come from
// the daily rollups, 24 times fewer rows than their hours.
static int
scan_hours(qctx *c, uint32_t h0, uint32_t h1)
{
	const uint32_t per_day = STORE_HOURS_PER_DAY;
	uint32_t d0 = h0 / per_day + (h0 % per_day != 0), d1 = h1 / per_day;
	int rv;

	if (h0 >= h1) {
		return (0);
	}
	if (d0 >= d1 || !days_whole(c, d0, d1)) {
		rv = store_scan_rollups(c->t, h0, h1, on_rollup, c);
		return (rv != 0 ? rv : c->rv);
	}
	if ((rv = store_scan_rollups(c->t, h0, d0 * per_day, on_rollup, c))
	    != 0) {
		return (rv);
	}
	c->period_ns = NS_PER_HOUR * per_day;
	rv = store_scan_rollups_grain(c->t, STORE_DAILY, d0, d1, on_rollup, c);
	c->period_ns = NS_PER_HOUR;
	if (rv != 0
	    || (rv = store_scan_rollups(c->t, d1 * per_day, h1, on_rollup, c))
	        != 0) {
		return (rv);
	}
	return (c->rv);
}

// Whether hour h lies inside one bucket.
static int
hour_whole(qctx *c, uint32_t h)
{
	int64_t end, t = (int64_t) h * 3600;
	if (c->q->every == QUERY_EVERY_NONE) {
		return (1);
	}
	int64_t s = tz_floor(c->zone, (tz_unit) c->q->every, t, &end);
	return (s <= t && end >= t + 3600);
}

// ---- the edges of a window without buckets ----
//
// The part of the window in its first (or last) UTC day is either read
// as it is (its whole hours from the hourly rollups, the seconds of its
// partial hours from the runs) or as the whole day's daily rollups less
// the part of that day outside the window, whichever spans less time;
// a partial hour likewise, as runs or as its hourly rollups less the
// runs outside.  The outside part is also taken when nothing is stored
// there (the end of a window that ends now: the rest of today is still
// empty), found by probes that stop at the first row.  All sums are
// exact: counts modulo 2^64 and costs in 128 bits come back to the
// window's own once the outside is subtracted.  A day or hour is
// complemented only when no run of it was pruned (its rollups would
// count calls whose runs are gone).

#define NS_PER_DAY (NS_PER_HOUR * STORE_HOURS_PER_DAY)
#define PROBE_HIT  (-1) // a probe's callbacks: something is stored

static int
probe_batch(void *arg, const store_scan_item *it, size_t n)
{
	(void) arg;
	(void) it;
	return (n > 0 ? PROBE_HIT : 0);
}

static int
probe_rollup(void *arg, const store_rkey *rk, const store_rollup *v)
{
	(void) arg;
	(void) rk;
	(void) v;
	return (PROBE_HIT);
}

// Whether nothing is stored in [lo, hi), which lies inside one UTC day:
// no hourly rollup of its whole hours, no run in its partial ones.
// Returns 1, 0 (something is), or an error (negated, below PROBE_HIT).
static int
stored_none(qctx *c, uint64_t lo, uint64_t hi)
{
	uint64_t h_lo = (lo + NS_PER_HOUR - 1) / NS_PER_HOUR;
	uint64_t h_hi = hi / NS_PER_HOUR;
	int rv = 0;

	if (lo >= hi) {
		return (1);
	}
	if (h_lo > h_hi) {
		rv = store_scan_batch(c->t, lo, hi, 0, probe_batch, NULL);
	} else {
		rv = store_scan_rollups(c->t, (uint32_t) h_lo, (uint32_t) h_hi,
		    probe_rollup, NULL);
		if (rv == 0 && lo < h_lo * NS_PER_HOUR) {
			rv = store_scan_batch(c->t, lo, h_lo * NS_PER_HOUR, 0,
			    probe_batch, NULL);
		}
		if (rv == 0 && h_hi * NS_PER_HOUR < hi) {
			rv = store_scan_batch(c->t, h_hi * NS_PER_HOUR, hi, 0,
			    probe_batch, NULL);
		}
	}
	return (rv == 0 ? 1 : rv == PROBE_HIT ? 0 : -rv);
}

// Whether [lo, hi) is better read as its unit [u, e) less the outside:
// the outside spans less time, or holds nothing.  Returns 1, 0, or an
// error (negated).
static int
complement_pays(qctx *c, uint64_t lo, uint64_t hi, uint64_t u, uint64_t e)
{
	uint64_t out = (lo - u) + (e - hi);
	int a, b;

	if (c->no_complement || c->pruned > u) {
		return (0);
	}
	if (out < hi - lo) {
		return (1);
	}
	if ((a = stored_none(c, u, lo)) != 1) {
		return (a);
	}
	b = stored_none(c, hi, e);
	return (b);
}

static int hours_part(qctx *c, uint64_t lo, uint64_t hi);

// [lo, hi) inside one period of grain g (an hour, or a UTC day) by its
// finer parts: runs for an hour, hours for a day.
static int
finer_part(qctx *c, store_grain g, uint64_t lo, uint64_t hi)
{
	return (
	    g == STORE_DAILY ? hours_part(c, lo, hi) : scan_runs(c, lo, hi));
}

// [lo, hi) inside one period of grain g: as its finer parts, or as the
// period's rollup less the outside when complement_pays says so.
static int
period_part(qctx *c, store_grain g, uint64_t lo, uint64_t hi)
{
	uint64_t len = g == STORE_DAILY ? NS_PER_DAY : NS_PER_HOUR;
	uint64_t u = lo / len * len, e = u + len;
	uint32_t p = (uint32_t) (lo / len);
	int rv;

	if (lo >= hi) {
		return (0);
	}
	if ((rv = complement_pays(c, lo, hi, u, e)) < 0) {
		return (-rv);
	}
	if (rv == 0) {
		return (finer_part(c, g, lo, hi));
	}
	c->complement = 1;
	c->period_ns = len;
	rv = store_scan_rollups_grain(c->t, g, p, p + 1, on_rollup, c);
	c->period_ns = NS_PER_HOUR;
	if (rv != 0 || (rv = c->rv) != 0) {
		return (rv);
	}
	c->neg = !c->neg;
	if ((rv = finer_part(c, g, u, lo)) == 0) {
		rv = finer_part(c, g, hi, e);
	}
	c->neg = !c->neg;
	return (rv);
}

// [lo, hi) inside one day: partial hours by period_part, whole hours from
// the hourly rollups.
static int
hours_part(qctx *c, uint64_t lo, uint64_t hi)
{
	uint64_t h_lo = (lo + NS_PER_HOUR - 1) / NS_PER_HOUR;
	uint64_t h_hi = hi / NS_PER_HOUR;
	int rv;

	if (lo >= hi) {
		return (0);
	}
	if (h_lo > h_hi) {
		return (period_part(c, STORE_HOURLY, lo, hi));
	}
	if ((rv = period_part(c, STORE_HOURLY, lo, h_lo * NS_PER_HOUR)) != 0) {
		return (rv);
	}
	if (h_lo < h_hi
	    && ((rv = store_scan_rollups(
	             c->t, (uint32_t) h_lo, (uint32_t) h_hi, on_rollup, c))
	            != 0
	        || (rv = c->rv) != 0)) {
		return (rv);
	}
	return (period_part(c, STORE_HOURLY, h_hi * NS_PER_HOUR, hi));
}

// A window without buckets whose every key and filter is a roll-up
// dimension: whole UTC days from the daily rollups, each edge day by
// period_part.
static int
plan_edges(qctx *c)
{
	const query_spec *q = c->q;
	uint64_t d_lo = (q->from_ns + NS_PER_DAY - 1) / NS_PER_DAY;
	uint64_t d_hi = q->to_ns / NS_PER_DAY;
	int rv;

	if ((rv = store_pruned_before(c->t, &c->pruned)) != 0) {
		return (rv);
	}
	if (d_lo > d_hi) {
		return (period_part(c, STORE_DAILY, q->from_ns, q->to_ns));
	}
	if ((rv = period_part(c, STORE_DAILY, q->from_ns, d_lo * NS_PER_DAY))
	    != 0) {
		return (rv);
	}
	if (d_lo < d_hi) {
		c->period_ns = NS_PER_DAY;
		rv = store_scan_rollups_grain(c->t, STORE_DAILY,
		    (uint32_t) d_lo, (uint32_t) d_hi, on_rollup, c);
		c->period_ns = NS_PER_HOUR;
		if (rv != 0 || (rv = c->rv) != 0) {
			return (rv);
		}
	}
	return (period_part(c, STORE_DAILY, d_hi * NS_PER_DAY, q->to_ns));
}

static int
plan_and_scan(qctx *c)
{
	const query_spec *q = c->q;
	int rollups = !(q->flags & QUERY_RUNS_ONLY);

	for (uint32_t i = 0; i < q->n_by; i++) {
		rollups &= q->by[i].kind == QUERY_KEY_DIM;
	}
	for (uint32_t i = 0; i < q->n_where; i++) {
		rollups &= q->where[i].key.kind == QUERY_KEY_DIM;
	}
	uint64_t h_lo = (q->from_ns + NS_PER_HOUR - 1) / NS_PER_HOUR;
	uint64_t h_hi = q->to_ns / NS_PER_HOUR;
	if (rollups && q->every == QUERY_EVERY_NONE && !c->no_complement
	    && q->to_ns / NS_PER_DAY < UINT32_MAX / STORE_HOURS_PER_DAY - 1) {
		return (plan_edges(c));
	}
	if (!rollups || h_lo >= h_hi || h_hi > UINT32_MAX) {
		return (scan_runs(c, q->from_ns, q->to_ns));
	}
	int rv = scan_runs(c, q->from_ns, h_lo * NS_PER_HOUR);
	// Hours in order: runs of whole hours from the rollups, the hours a
	// bucket boundary cuts from the runs.
	uint32_t seg = (uint32_t) h_lo;
	for (uint32_t h = (uint32_t) h_lo; rv == 0 && h < h_hi; h++) {
		if (hour_whole(c, h)) {
			continue;
		}
		rv = scan_hours(c, seg, h);
		if (rv == 0) {
			rv = scan_runs(c, (uint64_t) h * NS_PER_HOUR,
			    (uint64_t) (h + 1) * NS_PER_HOUR);
		}
		seg = h + 1;
	}
	if (rv == 0) {
		rv = scan_hours(c, seg, (uint32_t) h_hi);
	}
	if (rv == 0) {
		rv = scan_runs(c, h_hi * NS_PER_HOUR, q->to_ns);
	}
	return (rv);
}

// ---- the result ----

static void errs(qctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
errs(qctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c->err != NULL && c->errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errsz, fmt, ap);
		va_end(ap);
	}
}

static char *
dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return (d);
}

// The text of value v of key i: NULL when absent; *rv on failure.
static char *
key_text(qctx *c, uint32_t i, uint32_t v, int *rv)
{
	char *d = NULL;
	if (v == 0) {
		return (NULL);
	}
	if (c->q->by[i].kind == QUERY_KEY_DIM) {
		const char *s;
		size_t len;
		if (store_string(c->t, v, &s, &len) != 0) {
			*rv = LLMCOST_ESTORE;
			return (NULL);
		}
		d = dup_bytes(s, len);
	} else {
		const char *s = c->strs.bytes + c->strs.off[v - 1];
		size_t len = c->strs.slen[v - 1];
		if (c->q->by[i].kind == QUERY_KEY_TRACE) {
			d = malloc(LLMCOST__UUID_STR_LEN);
			if (d != NULL) {
				llmcost__uuid_str((const uint8_t *) s + 1, d);
			}
		} else {
			d = dup_bytes(s + 1, len - 1); // past the kind byte
		}
	}
	if (d == NULL) {
		*rv = LLMCOST_ENOMEM;
	}
	return (d);
}

static int
keycmp(const query_row *x, const query_row *y)
{
	for (int i = 0; i < QUERY_MAX_KEYS; i++) {
		const char *a = x->keys[i], *b = y->keys[i];
		if (a == NULL || b == NULL) {
			if (a != b) {
				return (a == NULL ? 1 : -1);
			}
			continue;
		}
		int c = strcmp(a, b);
		if (c != 0) {
			return (c);
		}
	}
	return (0);
}

static int
sums_rank(const query_sums *a, const query_sums *b)
{
	if (a->cost_pusd != b->cost_pusd) {
		return (a->cost_pusd > b->cost_pusd ? -1 : 1);
	}
	if (a->calls != b->calls) {
		return (a->calls > b->calls ? -1 : 1);
	}
	return (0);
}

static int
row_cmp(const void *pa, const void *pb)
{
	const query_row *x = pa, *y = pb;
	if (x->bucket != y->bucket) {
		return (x->bucket < y->bucket ? -1 : 1);
	}
	if (x->other != y->other) {
		return (x->other - y->other);
	}
	int c = sums_rank(&x->sum, &y->sum);
	return (c != 0 ? c : keycmp(x, y));
}

// Ranks key tuples (over all buckets) for top N: rows sorted by keys
// and pointing at their tuple's total.
typedef struct tuple {
	query_row *first; // a row with these keys
	query_sums sum;
	size_t idx;
} tuple;

static int
tuple_key_cmp(const void *pa, const void *pb)
{
	const query_row *const *x = pa, *const *y = pb;
	return (keycmp(*x, *y));
}

static int
tuple_rank_cmp(const void *pa, const void *pb)
{
	const tuple *x = pa, *y = pb;
	int c = sums_rank(&x->sum, &y->sum);
	return (c != 0 ? c : keycmp(x->first, y->first));
}

static void
row_free_keys(query_row *r)
{
	for (int i = 0; i < QUERY_MAX_KEYS; i++) {
		free(r->keys[i]);
		r->keys[i] = NULL;
	}
}

// Keeps the top N key tuples; every other row is summed into its
// bucket's "other" row.  Rows are not yet sorted.
static int
apply_top(query_result *r, uint32_t top)
{
	size_t n = r->n_rows, nt = 0;
	query_row **by = malloc((n + 1) * sizeof(*by));
	tuple *tu = malloc((n + 1) * sizeof(*tu));
	uint8_t *keep = calloc(n + 1, 1);
	size_t *tix = malloc((n + 1) * sizeof(*tix));
	int rv = 0;

	if (by == NULL || tu == NULL || keep == NULL || tix == NULL) {
		rv = LLMCOST_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		by[i] = &r->rows[i];
	}
	qsort(by, n, sizeof(*by), tuple_key_cmp);
	for (size_t i = 0; i < n; i++) {
		if (by[i]->other) {
			tix[by[i] - r->rows] = SIZE_MAX;
			continue;
		}
		if (nt == 0 || keycmp(tu[nt - 1].first, by[i]) != 0) {
			memset(&tu[nt], 0, sizeof(tu[nt]));
			tu[nt].first = by[i];
			tu[nt].idx = nt;
			nt++;
		}
		query_sums_add(&tu[nt - 1].sum, &by[i]->sum);
		tix[by[i] - r->rows] = nt - 1;
	}
	if (nt <= top) {
		goto out;
	}
	// Which tuples stay: the top ones by total cost.
	size_t *rank_of = malloc(nt * sizeof(*rank_of));
	if (rank_of == NULL) {
		rv = LLMCOST_ENOMEM;
		goto out;
	}
	qsort(tu, nt, sizeof(*tu), tuple_rank_cmp);
	for (size_t i = 0; i < nt; i++) {
		rank_of[tu[i].idx] = i;
	}
	// Fold: each dropped row into the first "other" row of its bucket
	// (rows of one bucket are found through a linear pass per row; the
	// rows are few once capped).
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		query_row *row = &r->rows[i];
		int stays = row->other == 0 && rank_of[tix[i]] < top;
		keep[i] = (uint8_t) stays;
	}
	for (size_t i = 0; i < n; i++) {
		query_row *row = &r->rows[i];
		if (keep[i] || row->other) {
			continue;
		}
		// Find or make this bucket's other row among the kept rows.
		size_t o;
		for (o = 0; o < n; o++) {
			if (r->rows[o].other
			    && r->rows[o].bucket == row->bucket) {
				break;
			}
		}
		if (o == n) {
			row_free_keys(row);
			row->other = 1;
			continue;
		}
		query_sums_add(&r->rows[o].sum, &row->sum);
		row_free_keys(row);
		row->other = 2; // merged away
	}
	for (size_t i = 0; i < n; i++) {
		if (r->rows[i].other == 2) {
			continue;
		}
		r->rows[w++] = r->rows[i];
	}
	r->n_rows = w;
	free(rank_of);
out:
	free(by);
	free(tu);
	free(keep);
	free(tix);
	return (rv);
}

static int
unp_cmp(const void *a, const void *b)
{
	const query_unpriced *x = a, *y = b;
	if (x->calls != y->calls) {
		return (x->calls > y->calls ? -1 : 1);
	}
	int c = strcmp(x->model ? x->model : "", y->model ? y->model : "");
	return (c != 0 ? c
	               : strcmp(x->provider ? x->provider : "",
	                   y->provider ? y->provider : ""));
}

static char *
id_text(store_rtxn *t, uint32_t id)
{
	const char *s;
	size_t len;
	return (store_string(t, id, &s, &len) == 0 ? dup_bytes(s, len) : NULL);
}

static int
build_result(qctx *c, query_result *r)
{
	int rv = 0;
	size_t n = c->g.n;

	if (n > 0 && (r->rows = calloc(n, sizeof(*r->rows))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	uint32_t named = c->g.named;
	for (size_t i = 0; i < n; i++) {
		const grow *g = &c->g.rows[i];
		if (c->complement && g->sum.calls == 0) {
			// Only outside the window (plan_edges): not a group.
			named -= g->key.other ? 0 : 1;
			continue;
		}
		query_row *row = &r->rows[r->n_rows];
		r->n_rows++;
		row->other = (int) g->key.other;
		row->sum = g->sum;
		if (c->q->every != QUERY_EVERY_NONE) {
			int64_t end;
			int64_t s
			    = (int64_t) ((uint64_t) g->key.bucket / NS_PER_S);
			row->bucket = tz_floor(
			    c->zone, (tz_unit) c->q->every, s, &end);
			row->bucket_end = end;
			row->bucket_off = tz_offset(c->zone, row->bucket);
			row->bucket_end_off = tz_offset(c->zone, end);
		}
		for (uint32_t k = 0; k < c->q->n_by && rv == 0; k++) {
			row->keys[k] = key_text(c, k, g->key.k[k], &rv);
		}
		if (rv != 0) {
			return (rv);
		}
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			if (llmcost__bucket_is_output[b]) {
				row->sum.output_tokens += row->sum.usage[b];
			} else {
				row->sum.input_tokens += row->sum.usage[b];
			}
		}
	}
	r->capped = c->g.capped;
	r->groups = named;
	if (c->q->top > 0 && (rv = apply_top(r, c->q->top)) != 0) {
		return (rv);
	}
	if (r->n_rows > 1) {
		qsort(r->rows, r->n_rows, sizeof(*r->rows), row_cmp);
	}
	for (size_t i = 0; i < r->n_rows; i++) {
		query_sums_add(&r->total, &r->rows[i].sum);
	}
	if (c->tag_key >= 0) {
		// The rows overlap: the total counts each call once.
		r->total = c->tag_total;
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			if (llmcost__bucket_is_output[b]) {
				r->total.output_tokens += r->total.usage[b];
			} else {
				r->total.input_tokens += r->total.usage[b];
			}
		}
	}
	if (c->n_unp > 0) {
		r->unpriced = calloc(c->n_unp, sizeof(*r->unpriced));
		if (r->unpriced == NULL) {
			return (LLMCOST_ENOMEM);
		}
		for (uint32_t j = 0; j < QUERY_MAX_UNPRICED * 2; j++) {
			const unp_ent *e = &c->unp[j];
			if (!e->used || e->calls == 0) {
				continue;
			}
			query_unpriced *u = &r->unpriced[r->n_unpriced++];
			u->provider = id_text(c->t, (uint32_t) (e->key >> 32));
			u->model = id_text(c->t, (uint32_t) e->key);
			u->calls = e->calls;
		}
		qsort(
		    r->unpriced, r->n_unpriced, sizeof(*r->unpriced), unp_cmp);
	}
	r->from_off = tz_offset(c->zone, (int64_t) (c->q->from_ns / NS_PER_S));
	r->to_off = tz_offset(c->zone, (int64_t) (c->q->to_ns / NS_PER_S));
	uint32_t h0 = (uint32_t) (c->q->from_ns / NS_PER_HOUR);
	uint64_t h1 = c->q->to_ns / NS_PER_HOUR
	    + (c->q->to_ns % NS_PER_HOUR != 0 ? 1 : 0);
	return (store_drops(c->t, h0,
	    h1 > UINT32_MAX ? UINT32_MAX : (uint32_t) h1, &r->dropped));
}

// Checks q and prepares the scan's caches.
static int
prepare(qctx *c)
{
	const query_spec *q = c->q;
	char err[256] = "";
	int rv;

	if (q->n_by > QUERY_MAX_KEYS || q->n_where > QUERY_MAX_FILTERS) {
		errs(c, "at most 4 keys to group by and 8 filters");
		return (LLMCOST_EINVAL);
	}
	if (q->from_ns >= q->to_ns) {
		errs(c,
		    "the window is empty: its start must be before its "
		    "end");
		return (LLMCOST_EINVAL);
	}
	if ((unsigned) q->every > QUERY_EVERY_WEEK) {
		errs(c, "every: want hour, day or week");
		return (LLMCOST_EINVAL);
	}
	if (q->max_groups > QUERY_GROUPS_MAX) {
		errs(c, "at most %u groups", QUERY_GROUPS_MAX);
		return (LLMCOST_EINVAL);
	}
	for (uint32_t i = 0; i < q->n_by + q->n_where; i++) {
		const query_key *k
		    = i < q->n_by ? &q->by[i] : &q->where[i - q->n_by].key;
		if ((unsigned) k->kind > QUERY_KEY_TAGSET
		    || (k->kind == QUERY_KEY_DIM
		        && (unsigned) k->dim >= REPORT_DIM_COUNT)
		    || (k->kind == QUERY_KEY_META
		        && (k->meta[0] == '\0'
		            || memchr(k->meta, '\0', sizeof(k->meta))
		                == NULL))) {
			errs(c, "a malformed key");
			return (LLMCOST_EINVAL);
		}
		c->need_ms |= k->kind == QUERY_KEY_META
		    || k->kind == QUERY_KEY_TAG || k->kind == QUERY_KEY_TAGSET;
		c->need_trace |= k->kind == QUERY_KEY_TRACE;
		if (i >= q->n_by && k->kind == QUERY_KEY_TAGSET) {
			errs(c,
			    "filter by tag (a call that has it), not tagset");
			return (LLMCOST_EINVAL);
		}
		if (i < q->n_by && k->kind == QUERY_KEY_TAG) {
			if (c->tag_key >= 0) {
				errs(c, "group by tag at most once");
				return (LLMCOST_EINVAL);
			}
			c->tag_key = (int) i;
		}
	}
	for (uint32_t i = 0; i < q->n_where; i++) {
		const query_filter *f = &q->where[i];
		if (memchr(f->value, '\0', sizeof(f->value)) == NULL) {
			errs(c, "a malformed filter value");
			return (LLMCOST_EINVAL);
		}
		if (f->key.kind == QUERY_KEY_TRACE
		    && llmcost__uuid_parse(f->value, c->trace_val[i]) != 0) {
			errs(c,
			    "trace=%s: a trace is a UUID "
			    "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			    f->value);
			return (LLMCOST_EINVAL);
		}
		if (f->key.kind == QUERY_KEY_DIM
		    && (c->idc[i] = calloc(ID_CACHE, sizeof(id_ent)))
		        == NULL) {
			return (LLMCOST_ENOMEM);
		}
	}
	if (memchr(q->tz, '\0', sizeof(q->tz)) == NULL) {
		errs(c, "a malformed time zone");
		return (LLMCOST_EINVAL);
	}
	if ((rv = tz_load(q->tz, &c->zone, err, sizeof(err))) != 0) {
		errs(c, "%s", err);
		return (rv);
	}
	if (q->every != QUERY_EVERY_NONE) {
		static const uint64_t unit[] = { 0, 3600, 86400, 604800 };
		uint64_t span = (q->to_ns - q->from_ns) / NS_PER_S;
		if (span / unit[q->every] + 2 > QUERY_MAX_BUCKETS) {
			errs(c,
			    "too many time buckets (at most 100000): use a "
			    "shorter window or a longer --every");
			return (LLMCOST_ETOOBIG);
		}
	}
	int meta = c->need_ms;
	for (uint32_t i = 0; i < q->n_by; i++) {
		meta &= q->by[i].kind == QUERY_KEY_META
		    || q->by[i].kind == QUERY_KEY_TAGSET;
	}
	if (meta) {
		c->memo = MEMO_META;
	} else if (q->n_by == 1 && q->by[0].kind == QUERY_KEY_DIM
	    && !c->need_ms && !c->need_trace) {
		c->memo = MEMO_DIM;
	}
	c->g.limit = q->max_groups != 0 ? q->max_groups : QUERY_GROUPS_DEF;
	c->unp = calloc(QUERY_MAX_UNPRICED * 2, sizeof(*c->unp));
	if (c->unp == NULL
	    || (c->need_ms
	        && (c->ms = calloc(MS_CACHE, sizeof(*c->ms))) == NULL)) {
		return (LLMCOST_ENOMEM);
	}
	if (c->tag_key >= 0) {
		// The cache's slots, then room for as many sets again.
		c->tagl_cap = (size_t) MS_CACHE * TAGL_SLOT * 2;
		c->tagl_n = (size_t) MS_CACHE * TAGL_SLOT;
		if ((c->tagl = calloc(c->tagl_cap, sizeof(*c->tagl)))
		    == NULL) {
			return (LLMCOST_ENOMEM);
		}
	}
	if (c->need_ms) {
		static const uint8_t empty[2] = { 0, 0 };
		c->tag_at = TAGL_APPEND;
		if ((rv = ms_decode(c, empty, sizeof(empty), &c->ms0)) != 0) {
			return (rv);
		}
	}
	return (0);
}

void
query_result_free(query_result *r)
{
	if (r == NULL) {
		return;
	}
	for (size_t i = 0; i < r->n_rows; i++) {
		row_free_keys(&r->rows[i]);
	}
	for (size_t i = 0; i < r->n_unpriced; i++) {
		free(r->unpriced[i].provider);
		free(r->unpriced[i].model);
	}
	free(r->rows);
	free(r->unpriced);
	free(r);
}

// One answer to q; with no_complement, without reading any edge of the
// window as a whole day or hour less its outside.  *again is set when
// that was done and the group table was capped: the groups outside the
// window took room, so the answer is to be made again without it.
static int
query_once(store_rtxn *t, const query_spec *q, query_result **out, char *err,
    size_t errsz, int no_complement, int *again)
{
	qctx c;
	query_result *r = NULL;
	int rv;

	memset(&c, 0, sizeof(c));
	c.tag_key = -1;
	c.period_ns = NS_PER_HOUR;
	c.q = q;
	c.t = t;
	c.err = err;
	c.errsz = errsz;
	c.no_complement = no_complement;
	c.ms_next = QUERY_MS_BULK_MIN;
	if ((rv = prepare(&c)) == 0 && (r = calloc(1, sizeof(*r))) == NULL) {
		rv = LLMCOST_ENOMEM;
	}
	if (rv == 0) {
		r->spec = *q;
		rv = plan_and_scan(&c);
	}
	if (rv == 0 && c.complement && c.g.capped) {
		*again = 1;
		rv = LLMCOST_ETOOBIG; // not returned: query_run_txn asks again
	}
	if (rv == 0) {
		rv = build_result(&c, r);
		r->runs_scanned = c.runs;
		r->rollups_read = c.rollups;
	}
	if (rv == 0) {
		rv = store_price_versions(
		    t, q->from_ns, q->to_ns, &r->price_tables, err, errsz);
	}
	for (uint32_t i = 0; i < QUERY_MAX_FILTERS; i++) {
		free(c.idc[i]);
	}
	free(c.ms);
	free(c.msd);
	free(c.msb);
	free(c.msl);
	free(c.hot);
	free(c.hot_epoch);
	free(c.fsum);
	free(c.vrow);
	free(c.msv);
	free(c.unp);
	free(c.tagl);
	lstr_free(&c.strs);
	gtab_free(&c.g);
	tz_free(c.zone);
	if (rv != 0) {
		if (*again) {
			query_result_free(r);
			return (rv);
		}
		if (err != NULL && errsz > 0 && err[0] == '\0') {
			snprintf(err, errsz, "%s", llmcost_strerror(rv));
		}
		query_result_free(r);
		return (rv);
	}
	*out = r;
	return (0);
}

int
query_run_txn(store_rtxn *t, const query_spec *q, query_result **out,
    char *err, size_t errsz)
{
	int again = 0, rv;

	if (t == NULL || q == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (err != NULL && errsz > 0) {
		err[0] = '\0';
	}
	rv = query_once(t, q, out, err, errsz, 0, &again);
	if (again) {
		again = 0;
		rv = query_once(t, q, out, err, errsz, 1, &again);
	}
	return (rv);
}

int
query_run(
    store *s, const query_spec *q, query_result **out, char *err, size_t errsz)
{
	store_rtxn *t;
	int rv;

	if (s == NULL) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = store_read_begin(s, &t)) != 0) {
		if (err != NULL && errsz > 0) {
			snprintf(err, errsz, "cannot read the store");
		}
		return (rv);
	}
	rv = query_run_txn(t, q, out, err, errsz);
	store_read_end(t);
	return (rv);
}
