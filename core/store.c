// DESIGN: one LMDB environment per data directory, with named databases:
//   runs        run_id[16]            -> run record (two fixed layouts)
//   rollups     be32 hour, then each dimension (dims.h) -> store_rollup
//   rollups_day be32 day, then the same dimensions -> store_rollup
//   str2id      string bytes          -> u32 id      (interned strings)
//   id2str      u32 id (INTEGERKEY)   -> string bytes
//   metasets    u32 id (INTEGERKEY)   -> canonical metadata+tags blob
//   msidx       u64 hash (INTEGERKEY) -> u32 ids (DUPSORT, INTEGERDUP)
//   clients     client_id[16]         -> store_client
//   drops       be32 hour             -> u64 calls dropped by clients
//   info        "schema" -> u32; "pruned_before" -> u64 ns
//   traces      run_id[16]            -> trace_id[16] parent_run_id[16]
//                                        (calls made in a request scope
//                                        only; parent all zero for a root)
//   extras      run_id[16]            -> store_extras (only runs with any)
//   lsclients   client_id[16]         -> u64 highest exporter_lost reported
//   lsdrops     be32 hour             -> u64 runs lossy exporters lost,
//                                        reported in that hour
// Run ids are UUIDv7, so keys arrive nearly in order and a time range is
// a key range.  A run is stored in the packed 80-byte record (version 2)
// when its values fit, else in the full store_run (version 1, which is
// also what schemas 1 and 2 wrote): the record's size tells which, and a
// scan decodes either into a store_run with no other branch.  The packed
// record leans on the key: the start time is the id's millisecond plus
// the nanoseconds stored, so it need not be stored whole.  Rollup keys
// are big-endian so that a cursor walks hours in order.  Every batch of a
// write is one transaction: runs are inserted with MDB_NOOVERWRITE, which
// both stores a call once and tells us it is a duplicate; hourly and
// daily rollups are updated read-modify-write in the same transaction, so
// rollups always equal the sum of their runs.  The writer keeps small
// caches of interned strings and metasets; they are dropped whenever a
// transaction aborts, since ids allocated there never existed, and
// nothing else ever changes or removes a string or metaset (prune and
// reprice leave them alone), so another process writing the same store
// cannot make them stale.  A run whose provider, model, metadata and
// tags are those of a recent run (the calls of a few call sites arrive
// interleaved) takes that run's ids after a comparison instead of
// lookups, and, when it has the roll-up key of the run before it, its
// pending roll-up sum.  A batch's runs
// are written in run id order (sort_records), so that they fill every
// page; a run above the table's last goes to the end of the last leaf
// without a descent while the write knows it has room, or starts a new
// leaf of its own with MDB_APPEND (put_run), and the insert
// (MDB_NOOVERWRITE) is what tells a new run from a resent one.  The
// store does not
// price: each call's cost arrives with it from the pricing stage
// (pricing.c), and a reprice asks
// the same stage through a callback, so that storing and repricing share
// one pricing step and the store cannot disagree with it.  Reading a
// range of runs walks the run ids (UUIDv7, time first) from the range's
// first millisecond; a scan that sums (store_scan_fold) adds the runs
// whose group the caller already knows straight from their packed records
// during the walk, and hands over only the rest.  What few runs carry
// beyond the fixed record
// (per-request fees, the provider's own cost, usage flags) goes to the
// extras table, written right after the run's insert succeeds, so it too
// is written exactly once, and its sums go to the rollups.  Maintenance
// (prune, reprice) works in bounded transactions, each consistent on its
// own, so a crash leaves a consistent store and a rerun finishes.
// Schema history: schema 2 added the extras table and appended fields to
// the rollup value (a schema 1 rollup is read as the prefix of a schema
// 2 one, the new fields zero); schema 3 added the packed run record and
// the daily rollups, which a writer fills from the hourly ones when it
// upgrades an older store, leaving its runs in their record version.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "llmcost_common.h"
#include "log.h"
#include "store_leaf.h"
#include "store.h"

#define DEFAULT_MAPSIZE (4ull << 30)
#define STR_CACHE_SIZE  4096 // entries, power of two
#define MS_CACHE_SIZE   1024 // metaset cache entries, power of two
#define MS_CACHE_BYTES  240  // largest raw metadata blob it holds
#define RU_PENDING      512  // roll-up keys summed in memory per write

typedef struct store_client {
	uint64_t last_seq;
	uint64_t dropped; // the highest cumulative count reported
	uint64_t batches;
	uint64_t first_ns;
	uint64_t last_ns;
} store_client;

typedef struct str_cache_ent {
	uint32_t id; // 0 = empty
	uint16_t len;
	char s[LLMCOST_MAX_VALUE > LLMCOST_MAX_MODEL ? LLMCOST_MAX_VALUE
	                                             : LLMCOST_MAX_MODEL];
} str_cache_ent;

// A metaset as the record listed it (keys and tags in arrival order,
// length-prefixed), and the id of its canonical (sorted) form: the same
// call site sends the same metadata in the same order, so most records
// skip the sorting and the two LMDB lookups.
typedef struct ms_cache_ent {
	uint32_t id; // 0 = empty
	uint16_t len;
	uint8_t raw[MS_CACHE_BYTES];
} ms_cache_ent;

struct store {
	MDB_env *env;
	MDB_dbi runs, rollups, str2id, id2str, metasets, msidx, clients, drops,
	    info, traces, extras, ls_clients, ls_drops, rollups_day;
	int has_traces; // a store written before traces existed has none
	int has_ls;     // likewise the exporters' losses (lsclients, lsdrops)
	int has_extras; // 0: a read-only schema 1 store, without the table
	int has_daily;  // 0: a read-only schema 1 or 2 store
	MDB_dbi pricevers; // hour -> the price-table versions that priced it
	int has_pricevers; // 0: a read-only store written before them
	unsigned flags;
	uint64_t mapsize;
	str_cache_ent *cache;   // writer only
	store_fault last_fault; // writer only
	char dir[LLMCOST__PATH_MAX];
	ms_cache_ent *ms_cache; // writer only
	struct ru_pending *ru;  // writer only: RU_PENDING entries
	// Writer only: a batch's records in run id order
	// (LLMCOST_PROTO_MAX_RECORDS entries).
	const llmcost_proto_record **order;
};

struct store_rtxn {
	store *s;
	MDB_txn *txn;
	// For store_metaset, opened on first use: a query looks sets up
	// roughly in id order, and a positioned cursor searches its current
	// page first rather than descend the tree for every set.
	MDB_cursor *ms_cur;
	// Where LMDB's map starts, for the walks of the runs
	// (store_leaf_begin): found by the first.
	const uint8_t *leaf_map;
};

// The price-table versions that priced the runs of each hour (the
// "pricevers" table, written on ingest and by reprice; near the end).
static int pricevers_open(MDB_txn *txn, store *s, int rdonly);
static int pricevers_note_batches(
    MDB_txn *txn, store *s, const store_batch *b, size_t n);

_Static_assert(sizeof(store_run) == 144, "store_run layout changed");
_Static_assert(sizeof(store_rollup) == 208, "store_rollup layout changed");
_Static_assert(sizeof(store_extras) == 96, "store_extras layout changed");
_Static_assert(offsetof(store_extras, service_tier) == STORE_EXTRAS_V1_SIZE,
    "store_extras version 2 appends to version 1");

// Record version 2 of a run: the packed layout schema 3 writes, 80
// bytes.  The start time is kept as its nanoseconds within the run id's
// millisecond (20 bits) beside the duration (44 bits: 4.8 hours) in one
// word; the ingest time as milliseconds from the id's millisecond; token
// counts in 32 bits, and in 16 bits for the four audio and image buckets,
// which few calls use.  A run whose values do not fit (more tokens, an
// id whose time is not its start, a longer call, an ingest more than 24
// days from the start) is written as version 1, the full store_run: so
// every record is one of two fixed layouts, told apart by size.
#define RUN_SUB_BITS 20 // ns within a millisecond: < 1e6 < 2^20
#define RUN_DUR_MAX  ((UINT64_C(1) << (64 - RUN_SUB_BITS)) - 1)

// Where each bucket goes in the packed record: the first RUN_U32
// buckets of this list in 32 bits, the others in 16.
#define RUN_U32 6
#define RUN_U16 4
static const uint8_t run_buckets[RUN_U32 + RUN_U16]
    = { LLMCOST_IN_UNCACHED, LLMCOST_IN_CACHE_READ, LLMCOST_IN_CACHE_WRITE_5M,
	      LLMCOST_IN_CACHE_WRITE_1H, LLMCOST_OUT_TEXT,
	      LLMCOST_OUT_REASONING, LLMCOST_IN_AUDIO, LLMCOST_IN_IMAGE,
	      LLMCOST_OUT_AUDIO, LLMCOST_OUT_IMAGE };
_Static_assert(LLMCOST_BUCKET_COUNT == RUN_U32 + RUN_U16,
    "a new bucket needs a new run record version");

typedef struct __attribute__((packed)) run_packed {
	uint8_t version; // RUN_PACKED
	uint8_t status;
	uint8_t flags;
	uint8_t reserved;
	uint32_t price_id;
	uint64_t when;     // duration_ns << RUN_SUB_BITS | start's ns in id ms
	int32_t ingest_ms; // ingest_ns / 1e6 - id ms
	int64_t cost_pusd;
	uint32_t provider;
	uint32_t model;
	uint32_t feature;
	uint32_t env;
	uint32_t metaset;
	uint32_t u32[RUN_U32]; // run_buckets[0 .. RUN_U32)
	uint16_t u16[RUN_U16]; // run_buckets[RUN_U32 ..]
} run_packed;

#define RUN_WIDE   1 // store_run itself
#define RUN_PACKED 2 // run_packed
_Static_assert(sizeof(run_packed) == 80, "run_packed layout changed");
_Static_assert(sizeof(run_packed) != sizeof(store_run), "sizes tell apart");

// The big-endian number in the 8 bytes at p (a run id's halves).
static inline uint64_t
key_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return (v);
}

// LMDB's comparison of the keys of `runs`, in the order of its default
// (bytes, then the shorter first), so that a store reads the same with
// either: two 16-byte run ids as two big-endian numbers, a few
// instructions where memcmp through LMDB's mdb_cmp_memn took about 40,
// and a run's insert compares two or three keys.
static __attribute__((noinline)) int
bytes_cmp(const MDB_val *a, const MDB_val *b)
{
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int d = n > 0 ? memcmp(a->mv_data, b->mv_data, n) : 0;

	if (d != 0) {
		return (d);
	}
	return ((a->mv_size > b->mv_size) - (a->mv_size < b->mv_size));
}

static int
runs_key_cmp(const MDB_val *a, const MDB_val *b)
{
	if (a->mv_size != 16 || b->mv_size != 16) {
		return (bytes_cmp(a, b));
	}
	uint64_t x = key_be64(a->mv_data), y = key_be64(b->mv_data);
	if (x == y) {
		x = key_be64((const uint8_t *) a->mv_data + 8);
		y = key_be64((const uint8_t *) b->mv_data + 8);
	}
	return ((x > y) - (x < y));
}

// The first 48 bits of a UUIDv7 are its Unix time in milliseconds.
static inline uint64_t
id_ms(const uint8_t *id)
{
	return (key_be64(id) >> 16);
}

// Encodes run (stored under id) into buf: the packed layout when its
// values fit, else the full one.  Returns the record's size.
static size_t
run_encode(const uint8_t *id, const store_run *run, uint8_t *buf)
{
	uint64_t ms = id_ms(id);
	int64_t ingest = (int64_t) (run->ingest_ns / 1000000u) - (int64_t) ms;
	int fits = run->start_ns / 1000000u == ms && ingest >= INT32_MIN
	    && ingest <= INT32_MAX && run->duration_ns <= RUN_DUR_MAX;

	uint64_t wide = 0, mid = 0;
	for (int i = 0; i < RUN_U32; i++) {
		wide |= run->usage[run_buckets[i]];
	}
	for (int i = RUN_U32; i < RUN_U32 + RUN_U16; i++) {
		mid |= run->usage[run_buckets[i]];
	}
	fits &= wide <= UINT32_MAX && mid <= UINT16_MAX;
	if (!fits) {
		store_run w = *run;
		w.version = RUN_WIDE;
		memcpy(buf, &w, sizeof(w));
		return (sizeof(w));
	}
	// Field by field into buf: a packed struct built on the stack and
	// copied whole stalled on its loads (each a store just made, in
	// pieces).
#define RUN_PUT(field, val)                                                   \
	do {                                                                  \
		__typeof__(((run_packed *) 0)->field) v_ = (val);             \
		memcpy(buf + offsetof(run_packed, field), &v_, sizeof(v_));   \
	} while (0)
	RUN_PUT(version, RUN_PACKED);
	RUN_PUT(status, run->status);
	RUN_PUT(flags, run->flags);
	RUN_PUT(reserved, 0);
	RUN_PUT(price_id, run->price_id);
	RUN_PUT(when,
	    (run->duration_ns << RUN_SUB_BITS)
	        | (run->start_ns - ms * 1000000u));
	RUN_PUT(ingest_ms, (int32_t) ingest);
	RUN_PUT(cost_pusd, run->cost_pusd);
	RUN_PUT(provider, run->provider);
	RUN_PUT(model, run->model);
	RUN_PUT(feature, run->feature);
	RUN_PUT(env, run->env);
	RUN_PUT(metaset, run->metaset);
#undef RUN_PUT
	for (int i = 0; i < RUN_U32; i++) {
		uint32_t v = (uint32_t) run->usage[run_buckets[i]];
		memcpy(buf + offsetof(run_packed, u32) + 4 * i, &v, 4);
	}
	for (int i = 0; i < RUN_U16; i++) {
		uint16_t v = (uint16_t) run->usage[run_buckets[RUN_U32 + i]];
		memcpy(buf + offsetof(run_packed, u16) + 2 * i, &v, 2);
	}
	return (sizeof(run_packed));
}

// Decodes the record v stored under id into *out.  Returns 0, or
// MDB_CORRUPTED for a size that is neither layout.
static int
run_decode(const uint8_t *id, const MDB_val *v, store_run *out)
{
	if (v->mv_size == sizeof(run_packed)) {
		const run_packed *p = v->mv_data;
		uint64_t ms = id_ms(id), when = p->when;
		out->version = RUN_PACKED;
		out->status = p->status;
		out->flags = p->flags;
		out->price_id = p->price_id;
		out->start_ns = ms * 1000000u
		    + (when & ((UINT64_C(1) << RUN_SUB_BITS) - 1));
		out->duration_ns = when >> RUN_SUB_BITS;
		out->ingest_ns
		    = (uint64_t) ((int64_t) ms + p->ingest_ms) * 1000000u;
		out->provider = p->provider;
		out->model = p->model;
		out->feature = p->feature;
		out->env = p->env;
		out->metaset = p->metaset;
		out->reserved = 0;
		for (int i = 0; i < RUN_U32; i++) {
			out->usage[run_buckets[i]] = p->u32[i];
		}
		for (int i = 0; i < RUN_U16; i++) {
			out->usage[run_buckets[RUN_U32 + i]] = p->u16[i];
		}
		out->cost_pusd = p->cost_pusd;
		return (0);
	}
	if (v->mv_size == sizeof(store_run)) {
		memcpy(out, v->mv_data, sizeof(*out));
		return (0);
	}
	return (MDB_CORRUPTED);
}

// The rollup value of schema 1: the prefix of store_rollup up to cost_hi.
#define ROLLUP_V1_SIZE offsetof(store_rollup, fees)
_Static_assert(ROLLUP_V1_SIZE == 120, "schema 1 rollup size");

// Copies a stored rollup value of either schema into *ru; fields schema 1
// did not have are zero.  Returns 0 or MDB_CORRUPTED (another size).
static int
rollup_load(const MDB_val *v, store_rollup *ru)
{
	if (v->mv_size != sizeof(*ru) && v->mv_size != ROLLUP_V1_SIZE) {
		return (MDB_CORRUPTED);
	}
	memset(ru, 0, sizeof(*ru));
	memcpy(ru, v->mv_data, v->mv_size);
	return (0);
}

// Adds a 128-bit pico-USD amount to the sum kept in (*lo, *hi).
static void
sum128_add(uint64_t *lo, uint64_t *hi, store_i128 add)
{
	unsigned __int128 sum = (((unsigned __int128) *hi << 64) | *lo)
	    + (unsigned __int128) add;
	*lo = (uint64_t) sum;
	*hi = (uint64_t) (sum >> 64);
}

// A rollup key on disk: the hour, then each dimension, big-endian u32s.
#define RKEY_SIZE (4 * (1 + REPORT_DIM_COUNT))
_Static_assert(sizeof(store_rkey) == RKEY_SIZE, "store_rkey has padding");

// A roll-up sum not yet written (add_rollup).
struct ru_pending {
	int used;
	uint8_t kb[RKEY_SIZE];
	store_rollup sum;
};

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | p[3]);
}

static void
rkey_encode(const store_rkey *k, uint8_t out[RKEY_SIZE])
{
	put_be32(out, k->hour);
#define RKEY_PUT(id, name, field, src)                                        \
	put_be32(out + 4 + 4 * REPORT_BY_##id, k->field);
	REPORT_DIM_MAP(RKEY_PUT)
#undef RKEY_PUT
}

static void
rkey_decode(const uint8_t in[RKEY_SIZE], store_rkey *k)
{
	k->hour = get_be32(in);
#define RKEY_GET(id, name, field, src)                                        \
	k->field = get_be32(in + 4 + 4 * REPORT_BY_##id);
	REPORT_DIM_MAP(RKEY_GET)
#undef RKEY_GET
}

static uint64_t
fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return (h);
}

// The writer's in-memory caches' hash (slots of the string, metaset and
// roll-up tables), eight bytes at a time: nothing stored depends on it,
// unlike fnv1a, which keys msidx on disk.
static uint64_t
cache_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n > 0) {
		w = 0;
		memcpy(&w, b, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (h);
}

static int
errf(char *err, size_t errsz, const char *what, int rc)
{
	if (err != NULL && errsz > 0) {
		snprintf(err, errsz, "%s: %s", what, mdb_strerror(rc));
	}
	return (LLMCOST_ESTORE);
}

// An error while opening the store in dir, for an operator: what is
// wrong and what to do (store_fault_text).
static int
open_err(const char *dir, const char *what, int rc, char *err, size_t errsz)
{
	char detail[256];

	if (err != NULL && errsz > 0) {
		snprintf(
		    detail, sizeof(detail), "%s: %s", what, mdb_strerror(rc));
		store_fault_text(store_fault_of(rc, NULL), "cannot open", dir,
		    detail, err, errsz);
	}
	return (LLMCOST_ESTORE);
}

static int rollup_add(MDB_txn *txn, MDB_dbi dbi, const uint8_t kb[RKEY_SIZE],
    const store_rollup *delta);
static void rkey_day(
    const uint8_t hour_kb[RKEY_SIZE], uint8_t day_kb[RKEY_SIZE]);

// Sums every hourly rollup into its day's (upgrading a store written
// before daily rollups existed).  Hours come in key order, so one day's
// keys are added while that day's pages are hot.
static int
backfill_daily(MDB_txn *txn, const store *s)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t n = 0;
	int rc;

	// Start from empty, whatever an older version may have left.
	if ((rc = mdb_drop(txn, s->rollups_day, 0)) != 0
	    || (rc = mdb_cursor_open(txn, s->rollups, &cur)) != 0) {
		return (rc);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		store_rollup ru;
		uint8_t dkb[RKEY_SIZE];
		if (k.mv_size != RKEY_SIZE || rollup_load(&v, &ru) != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		rkey_day(k.mv_data, dkb);
		if ((rc = rollup_add(txn, s->rollups_day, dkb, &ru)) != 0) {
			break;
		}
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		return (rc);
	}
	log_msg(LLMCOST_LOG_NOTICE,
	    "daily rollups filled from %llu hourly rollups",
	    (unsigned long long) n);
	return (0);
}

static int
open_dbis(store *s, char *err, size_t errsz)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned flags;
	} tab[] = {
		{ "runs", offsetof(store, runs), 0 },
		{ "rollups", offsetof(store, rollups), 0 },
		{ "str2id", offsetof(store, str2id), 0 },
		{ "id2str", offsetof(store, id2str), MDB_INTEGERKEY },
		{ "metasets", offsetof(store, metasets), MDB_INTEGERKEY },
		{ "msidx", offsetof(store, msidx),
		    MDB_INTEGERKEY | MDB_DUPSORT | MDB_DUPFIXED
		        | MDB_INTEGERDUP },
		{ "clients", offsetof(store, clients), 0 },
		{ "drops", offsetof(store, drops), 0 },
		{ "info", offsetof(store, info), 0 },
		// Added without a schema change: a read-only open of an older
		// store goes on without it (has_traces 0).
		{ "traces", offsetof(store, traces), 0 },
	};
	int rdonly = (s->flags & STORE_RDONLY) != 0;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, &txn))
	    != 0) {
		return (open_err(s->dir, "begin", rc, err, errsz));
	}
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		MDB_dbi *dbi = (MDB_dbi *) ((char *) s + tab[i].off);
		unsigned f = tab[i].flags | (rdonly ? 0 : MDB_CREATE);
		if ((rc = mdb_dbi_open(txn, tab[i].name, f, dbi)) != 0) {
			if (rdonly && rc == MDB_NOTFOUND
			    && dbi == &s->traces) {
				continue;
			}
			mdb_txn_abort(txn);
			if (rdonly && rc == MDB_NOTFOUND) {
				snprintf(err, errsz,
				    "store has no '%s' table: not an llmcost "
				    "store, or never written",
				    tab[i].name);
				return (LLMCOST_ENOTFOUND);
			}
			return (open_err(s->dir, tab[i].name, rc, err, errsz));
		}
	}
	// Set in every process that opens the store: LMDB keeps it per
	// environment, not in the file.
	if ((rc = mdb_set_compare(txn, s->runs, runs_key_cmp)) != 0) {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "runs", rc, err, errsz));
	}
	s->has_traces = 1;
	if (rdonly) {
		MDB_dbi probe;
		s->has_traces = mdb_dbi_open(txn, "traces", 0, &probe) == 0;
	}
	MDB_val k = { 6, "schema" }, v;
	uint32_t schema = 0;
	rc = mdb_get(txn, s->info, &k, &v);
	if (rc == 0) {
		memcpy(&schema, v.mv_data,
		    v.mv_size < sizeof(schema) ? v.mv_size : sizeof(schema));
		if (v.mv_size != sizeof(schema) || schema > STORE_SCHEMA
		    || schema < STORE_SCHEMA_MIN) {
			mdb_txn_abort(txn);
			snprintf(err, errsz,
			    "store schema %u is not supported (this llmcost "
			    "reads schemas %u to %u): use a matching llmcost "
			    "version",
			    schema, STORE_SCHEMA_MIN, STORE_SCHEMA);
			return (LLMCOST_ESTORE);
		}
		if (!rdonly && (s->flags & STORE_NO_UPGRADE)
		    && schema != STORE_SCHEMA) {
			mdb_txn_abort(txn);
			snprintf(err, errsz,
			    "the store in %s has schema %u and needs an "
			    "upgrade "
			    "to schema %u, which llmcostd of this version "
			    "does "
			    "when it opens the store: restart llmcostd with "
			    "this version first",
			    s->dir, schema, STORE_SCHEMA);
			return (LLMCOST_ESTORE);
		}
	} else if (rc == MDB_NOTFOUND) {
		schema = 0; // a new store
		rc = 0;
	} else {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "schema", rc, err, errsz));
	}
	// The extras table came with schema 2: a writer creates it (and so
	// upgrades a schema 1 store); a reader of a schema 1 store has none.
	rc = mdb_dbi_open(txn, "extras", rdonly ? 0 : MDB_CREATE, &s->extras);
	if (rc == 0) {
		s->has_extras = 1;
	} else if (!(rdonly && rc == MDB_NOTFOUND)) {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "extras", rc, err, errsz));
	}
	// The exporters' losses (proto batch element 6) came later, without
	// a schema change: a reader of an older store has no such tables.
	rc = mdb_dbi_open(
	    txn, "lsclients", rdonly ? 0 : MDB_CREATE, &s->ls_clients);
	if (rc == 0) {
		rc = mdb_dbi_open(
		    txn, "lsdrops", rdonly ? 0 : MDB_CREATE, &s->ls_drops);
	}
	if (rc == 0) {
		s->has_ls = 1;
	} else if (!(rdonly && rc == MDB_NOTFOUND)) {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "lsdrops", rc, err, errsz));
	}
	// The daily rollups came with schema 3: a writer creates them and,
	// upgrading an older store, fills them from the hourly ones in this
	// same transaction; a reader of an older store has none.
	rc = mdb_dbi_open(
	    txn, "rollups_day", rdonly ? 0 : MDB_CREATE, &s->rollups_day);
	if (rc == 0) {
		s->has_daily = 1;
	} else if (!(rdonly && rc == MDB_NOTFOUND)) {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "rollups_day", rc, err, errsz));
	}
	if ((rc = pricevers_open(txn, s, rdonly)) != 0) {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "pricevers", rc, err, errsz));
	}
	if (!rdonly && schema != 0 && schema < 3
	    && (rc = backfill_daily(txn, s)) != 0) {
		mdb_txn_abort(txn);
		return (open_err(s->dir, "daily rollups", rc, err, errsz));
	}
	if (!rdonly && schema != STORE_SCHEMA) {
		uint32_t now = STORE_SCHEMA;
		v.mv_size = sizeof(now);
		v.mv_data = &now;
		if ((rc = mdb_put(txn, s->info, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return (open_err(s->dir, "schema", rc, err, errsz));
		}
		if (schema != 0) {
			log_msg(LLMCOST_LOG_NOTICE,
			    "store upgraded from schema %u to %u", schema,
			    STORE_SCHEMA);
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return (open_err(s->dir, "commit", rc, err, errsz));
	}
	return (0);
}

// data.mdb must hold every page up to the last one the store uses:
// LMDB maps the file and would die of SIGBUS on reading a page past its
// end.  me_last_pgno comes from the newest meta page, which
// mdb_env_open has already read from the file, so nothing here touches
// a page that may be missing.
static int
check_size(store *s, char *err, size_t errsz)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat sb;
	int fd, rc;

	if ((rc = mdb_env_info(s->env, &info)) != 0
	    || (rc = mdb_env_stat(s->env, &st)) != 0
	    || (rc = mdb_env_get_fd(s->env, &fd)) != 0) {
		return (open_err(s->dir, "size check", rc, err, errsz));
	}
	if (fstat(fd, &sb) != 0) {
		return (open_err(s->dir, "size check", errno, err, errsz));
	}
	uint64_t need = ((uint64_t) info.me_last_pgno + 1) * st.ms_psize;
	if ((uint64_t) sb.st_size < need) {
		snprintf(err, errsz,
		    "%s/data.mdb is truncated: it has %llu bytes but the "
		    "store's last page ends at byte %llu; stop llmcostd, then "
		    "restore data.mdb from a backup, or move it away (mv "
		    "%s/data.mdb %s/data.mdb.truncated) to start a new, empty "
		    "store",
		    s->dir, (unsigned long long) sb.st_size,
		    (unsigned long long) need, s->dir, s->dir);
		return (LLMCOST_ESTORE);
	}
	return (0);
}

// Before LMDB sees data.mdb: a missing file is no store (read-only) or
// a new one (writer); an empty one is refused, since LMDB would quietly
// start a new store in it (and a read-only open fails with a misleading
// error).
static int
check_file(const char *dir, unsigned flags, char *err, size_t errsz)
{
	char path[LLMCOST__PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			return (open_err(dir, "data.mdb", errno, err, errsz));
		}
		if (flags & STORE_RDONLY) {
			snprintf(err, errsz,
			    "no store at %s (start llmcostd, or pass "
			    "--data-dir)",
			    dir);
			return (LLMCOST_ENOTFOUND);
		}
		return (0);
	}
	if (st.st_size == 0) {
		snprintf(err, errsz,
		    "%s is empty (0 bytes): the store was truncated or never "
		    "written; stop llmcostd, then restore data.mdb from a "
		    "backup, or move it away (mv %s %s.empty) to start a new, "
		    "empty store",
		    path, path, path);
		return (LLMCOST_ESTORE);
	}
	return (0);
}

int
store_open(store **sp, const char *dir, unsigned flags, uint64_t mapsize,
    char *err, size_t errsz)
{
	store *s;
	int rc, rv;

	// The longest name LMDB makes in dir is "lock.mdb".
	if (strlen(dir) + sizeof("/lock.mdb") > sizeof(s->dir)) {
		snprintf(err, errsz,
		    "data directory path is longer than %zu bytes",
		    sizeof(s->dir) - sizeof("/lock.mdb"));
		return (LLMCOST_ETOOBIG);
	}
	if (!(flags & STORE_RDONLY) && mkdir(dir, 0700) != 0
	    && errno != EEXIST) {
		return (open_err(dir, "mkdir", errno, err, errsz));
	}
	if ((rv = check_file(dir, flags, err, errsz)) != 0) {
		return (rv);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->flags = flags;
	s->mapsize = mapsize != 0 ? mapsize : DEFAULT_MAPSIZE;
	if ((rc = mdb_env_create(&s->env)) != 0) {
		free(s);
		return (open_err(dir, "mdb_env_create", rc, err, errsz));
	}
	mdb_env_set_maxdbs(s->env, STORE_MAXDBS);
	mdb_env_set_maxreaders(s->env, 256);
	if (!(flags & STORE_RDONLY)) {
		mdb_env_set_mapsize(s->env, s->mapsize);
	}
	// MDB_NOTLS: read transactions are not tied to a thread.
	unsigned ef = MDB_NOTLS | ((flags & STORE_RDONLY) ? MDB_RDONLY : 0);
	if ((rc = mdb_env_open(s->env, dir, ef, 0600)) != 0) {
		mdb_env_close(s->env);
		free(s);
		if (rc == ENOENT) {
			snprintf(err, errsz, "no store at %s: %s", dir,
			    mdb_strerror(rc));
			return (LLMCOST_ENOTFOUND);
		}
		return (open_err(dir, "mdb_env_open", rc, err, errsz));
	}
	if ((rv = check_size(s, err, errsz)) != 0
	    || (rv = open_dbis(s, err, errsz)) != 0) {
		mdb_env_close(s->env);
		free(s);
		return (rv);
	}
	if (!(flags & STORE_RDONLY)) {
		s->cache = calloc(STR_CACHE_SIZE, sizeof(*s->cache));
		s->ms_cache = calloc(MS_CACHE_SIZE, sizeof(*s->ms_cache));
		s->ru = calloc(RU_PENDING, sizeof(*s->ru));
		s->order
		    = calloc(LLMCOST_PROTO_MAX_RECORDS, sizeof(*s->order));
		if (s->cache == NULL || s->ms_cache == NULL || s->ru == NULL
		    || s->order == NULL) {
			store_close(s);
			return (LLMCOST_ENOMEM);
		}
	}
	*sp = s;
	return (0);
}

const char *
store_dir(const store *s)
{
	return (s->dir);
}

void
store_close(store *s)
{
	if (s == NULL) {
		return;
	}
	mdb_env_close(s->env);
	free(s->cache);
	free(s->ms_cache);
	free(s->ru);
	free(s->order);
	free(s);
}

// ---- writing ----

// Begins a write transaction.  Another process writing the same store
// (llmcostd, or the CLI's prune and reprice) may have grown the map past
// this one's size: then adopt its size and begin again.
static int
wtxn_begin(store *s, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, 0, txn);

	if (rc == MDB_MAP_RESIZED) {
		if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0) {
			return (rc);
		}
		MDB_envinfo info;
		if (mdb_env_info(s->env, &info) == 0) {
			s->mapsize = info.me_mapsize;
		}
		rc = mdb_txn_begin(s->env, NULL, 0, txn);
	}
	return (rc);
}

#define WCTX_SITES 4 // call sites whose interned strings a write keeps

typedef struct wctx {
	store *s;
	MDB_txn *txn;
	MDB_cursor *runs; // on s->runs, opened at the first run
	uint32_t next_str;
	uint32_t next_ms;
	uint32_t ru_n; // entries used in s->ru
	uint64_t now_ns;
	// The last records whose strings were interned in this transaction,
	// one per call site seen lately, and their ids (in the dimension
	// fields and metaset of dims): the calls of a few call sites arrive
	// interleaved, each with the same provider, model, metadata and tags
	// as the call site's last, which then cost a comparison, not a
	// lookup each.  cur is the one the last run matched.
	const llmcost_proto_record *prev[WCTX_SITES];
	store_run dims[WCTX_SITES];
	uint32_t nprev, next_prev, cur;
	struct ru_pending *ru_last; // the roll-up sum the last run went to
	store_rkey ru_last_key;     // and its key
	// Where the runs table ends, as far as this write has seen: after
	// a run whose id was above every stored one, last_run is the
	// table's last id (have_last).  When such a run started a new leaf
	// page (the table's leaf page count rose by one), that leaf held
	// it alone, and leaf_room counts the bytes left on the leaf since
	// (leaf_known).  Hints only: they choose between MDB_APPEND and the
	// plain put, never whether a run is stored.
	uint8_t last_run[16];
	int have_last;
	uint8_t leaf_first[16]; // the last leaf's first id (leaf_known)
	int leaf_known;
	uint32_t leaf_room;
	uint32_t psize; // LMDB's page size
} wctx;

static uint32_t
last_id(MDB_txn *txn, MDB_dbi dbi, int *rcp)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t id = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		*rcp = rc;
		return (0);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == sizeof(uint32_t)) {
		memcpy(&id, k.mv_data, sizeof(id));
	}
	mdb_cursor_close(cur);
	*rcp = (rc == MDB_NOTFOUND) ? 0 : rc;
	return (id);
}

// Interns s[0..len); returns 0 and *id.  Empty strings are id 0.
static int
intern(wctx *w, const char *s, size_t len, uint32_t *id)
{
	if (len == 0) {
		*id = 0;
		return (0);
	}
	uint64_t h = cache_hash(s, len);
	str_cache_ent *e = &w->s->cache[h & (STR_CACHE_SIZE - 1)];
	if (e->id != 0 && e->len == len && memcmp(e->s, s, len) == 0) {
		*id = e->id;
		return (0);
	}
	MDB_val k = { len, (void *) s }, v;
	int rc = mdb_get(w->txn, w->s->str2id, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(uint32_t)) {
		memcpy(id, v.mv_data, sizeof(*id));
	} else if (rc == MDB_NOTFOUND) {
		uint32_t nid = ++w->next_str;
		v.mv_size = sizeof(nid);
		v.mv_data = &nid;
		if ((rc = mdb_put(w->txn, w->s->str2id, &k, &v, 0)) != 0) {
			return (rc);
		}
		MDB_val ik = { sizeof(nid), &nid }, iv = { len, (void *) s };
		if ((rc = mdb_put(w->txn, w->s->id2str, &ik, &iv, MDB_APPEND))
		    != 0) {
			return (rc);
		}
		*id = nid;
	} else {
		return (rc != 0 ? rc : MDB_CORRUPTED);
	}
	if (len <= sizeof(e->s)) {
		e->id = *id;
		e->len = (uint16_t) len;
		memcpy(e->s, s, len);
	}
	return (0);
}

// The canonical metadata blob: sorted keys and tags, length-prefixed.
static int
kv_cmp(const void *a, const void *b)
{
	const llmcost_proto_kv *x = a, *y = b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = memcmp(x->key.ptr, y->key.ptr, n);
	return (c != 0 ? c : (int) x->key.len - (int) y->key.len);
}

static int
str_cmp(const void *a, const void *b)
{
	const llmcost_proto_str *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->ptr, y->ptr, n);
	return (c != 0 ? c : (int) x->len - (int) y->len);
}

#define MS_BLOB_MAX                                                           \
	(2 + LLMCOST_MAX_META * (4 + LLMCOST_MAX_KEY + LLMCOST_MAX_VALUE)     \
	    + LLMCOST_MAX_TAGS * (2 + LLMCOST_MAX_TAG))

static size_t
ms_blob(const llmcost_proto_record *r, uint8_t *out)
{
	llmcost_proto_kv kv[LLMCOST_MAX_META];
	llmcost_proto_str tags[LLMCOST_MAX_TAGS];
	size_t n = 0;

	if (r->n_meta > 0) {
		memcpy(kv, r->meta, r->n_meta * sizeof(kv[0]));
		qsort(kv, r->n_meta, sizeof(kv[0]), kv_cmp);
	}
	if (r->n_tags > 0) {
		memcpy(tags, r->tags, r->n_tags * sizeof(tags[0]));
		qsort(tags, r->n_tags, sizeof(tags[0]), str_cmp);
	}
	out[n++] = (uint8_t) r->n_meta;
	out[n++] = (uint8_t) r->n_tags;
	for (uint32_t i = 0; i < r->n_meta; i++) {
		out[n++] = (uint8_t) (kv[i].key.len >> 8);
		out[n++] = (uint8_t) kv[i].key.len;
		memcpy(out + n, kv[i].key.ptr, kv[i].key.len);
		n += kv[i].key.len;
		out[n++] = (uint8_t) (kv[i].val.len >> 8);
		out[n++] = (uint8_t) kv[i].val.len;
		memcpy(out + n, kv[i].val.ptr, kv[i].val.len);
		n += kv[i].val.len;
	}
	for (uint32_t i = 0; i < r->n_tags; i++) {
		out[n++] = (uint8_t) (tags[i].len >> 8);
		out[n++] = (uint8_t) tags[i].len;
		memcpy(out + n, tags[i].ptr, tags[i].len);
		n += tags[i].len;
	}
	return (n);
}

// The record's metadata in arrival order, length-prefixed, into out
// (MS_CACHE_BYTES); returns its length, or 0 when it does not fit.
static size_t
ms_raw(const llmcost_proto_record *r, uint8_t *out)
{
	size_t n = 2;
	out[0] = (uint8_t) r->n_meta;
	out[1] = (uint8_t) r->n_tags;
	for (uint32_t i = 0; i < r->n_meta; i++) {
		const llmcost_proto_kv *kv = &r->meta[i];
		if (n + 2 + kv->key.len + 2 + kv->val.len > MS_CACHE_BYTES) {
			return (0);
		}
		out[n++] = (uint8_t) kv->key.len;
		memcpy(out + n, kv->key.ptr, kv->key.len);
		n += kv->key.len;
		out[n++] = (uint8_t) (kv->val.len >> 8);
		out[n++] = (uint8_t) kv->val.len;
		memcpy(out + n, kv->val.ptr, kv->val.len);
		n += kv->val.len;
	}
	for (uint32_t i = 0; i < r->n_tags; i++) {
		if (n + 1 + r->tags[i].len > MS_CACHE_BYTES) {
			return (0);
		}
		out[n++] = (uint8_t) r->tags[i].len;
		memcpy(out + n, r->tags[i].ptr, r->tags[i].len);
		n += r->tags[i].len;
	}
	return (n);
}

static int intern_metaset_slow(
    wctx *w, const llmcost_proto_record *r, uint32_t *id);

static int
intern_metaset(wctx *w, const llmcost_proto_record *r, uint32_t *id)
{
	uint8_t raw[MS_CACHE_BYTES];

	if (r->n_meta == 0 && r->n_tags == 0) {
		*id = 0;
		return (0);
	}
	_Static_assert(LLMCOST_MAX_KEY < 256 && LLMCOST_MAX_TAG < 256,
	    "ms_raw gives keys and tags one length byte");
	size_t len = ms_raw(r, raw);
	if (len == 0) {
		return (intern_metaset_slow(w, r, id));
	}
	uint64_t h = cache_hash(raw, len);
	ms_cache_ent *e = &w->s->ms_cache[h & (MS_CACHE_SIZE - 1)];
	if (e->id != 0 && e->len == len && memcmp(e->raw, raw, len) == 0) {
		*id = e->id;
		return (0);
	}
	int rc = intern_metaset_slow(w, r, id);
	if (rc == 0) {
		e->id = *id;
		e->len = (uint16_t) len;
		memcpy(e->raw, raw, len);
	}
	return (rc);
}

static int
intern_metaset_slow(wctx *w, const llmcost_proto_record *r, uint32_t *id)
{
	uint8_t blob[MS_BLOB_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	size_t len = ms_blob(r, blob);
	uint64_t h = fnv1a(blob, len, 0xcbf29ce484222325ULL);
	if ((rc = mdb_cursor_open(w->txn, w->s->msidx, &cur)) != 0) {
		return (rc);
	}
	k.mv_size = sizeof(h);
	k.mv_data = &h;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	while (rc == 0) {
		uint32_t cand;
		MDB_val ck, cv;
		memcpy(&cand, v.mv_data, sizeof(cand));
		ck.mv_size = sizeof(cand);
		ck.mv_data = &cand;
		if (mdb_get(w->txn, w->s->metasets, &ck, &cv) == 0
		    && cv.mv_size == len
		    && memcmp(cv.mv_data, blob, len) == 0) {
			mdb_cursor_close(cur);
			*id = cand;
			return (0);
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		return (rc);
	}
	uint32_t nid = ++w->next_ms;
	MDB_val ik = { sizeof(nid), &nid }, bv = { len, blob };
	if ((rc = mdb_put(w->txn, w->s->metasets, &ik, &bv, MDB_APPEND))
	    != 0) {
		return (rc);
	}
	k.mv_size = sizeof(h);
	k.mv_data = &h;
	if ((rc = mdb_put(w->txn, w->s->msidx, &k, &ik, 0)) != 0) {
		return (rc);
	}
	*id = nid;
	return (0);
}

// Whether a and b hold the same n bytes: inline, eight bytes at a time,
// for the short strings of a call (a call to memcmp costs more).
static inline int
bytes_eq(const char *a, const char *b, uint32_t n)
{
	uint64_t x = 0, y = 0;

	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y) {
			return (0);
		}
	}
	x = y = 0;
	if (n & 4) {
		uint32_t u, v;
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		x = u;
		y = v;
		a += 4;
		b += 4;
	}
	if (n & 2) {
		uint16_t u, v;
		memcpy(&u, a, 2);
		memcpy(&v, b, 2);
		x = (x << 16) | u;
		y = (y << 16) | v;
		a += 2;
		b += 2;
	}
	if (n & 1) {
		x = (x << 8) | (uint8_t) *a;
		y = (y << 8) | (uint8_t) *b;
	}
	return (x == y);
}

// Strings of a TBATCH's records that are the same string share their
// bytes (the batch's string table): equal without a comparison.
static inline int
pstr_eq(const llmcost_proto_str *a, const llmcost_proto_str *b)
{
	return (a->len == b->len
	    && (a->ptr == b->ptr || bytes_eq(a->ptr, b->ptr, a->len)));
}

// Zero when a and b are the same bytes by pointer and length.
static inline uintptr_t
pstr_diff(const llmcost_proto_str *a, const llmcost_proto_str *b)
{
	return (((uintptr_t) a->ptr ^ (uintptr_t) b->ptr) | (a->len ^ b->len));
}

// Whether a and b carry the same provider, model, metadata and tags, in
// the same order: then they intern to the same ids.  Pointers and
// lengths first, without a branch per string: the calls of one TBATCH
// that name the same strings point at the same bytes, so this settles
// most calls, and calls that share their meta and tags arrays skip
// them; otherwise the bytes are compared.
static int
same_strings(const llmcost_proto_record *a, const llmcost_proto_record *b)
{
	if (a->n_meta != b->n_meta || a->n_tags != b->n_tags) {
		return (0);
	}
	uintptr_t d = pstr_diff(&a->model, &b->model)
	    | pstr_diff(&a->provider, &b->provider);
	// The decoder may give records of one batch the same meta and
	// tags arrays (its memo): equal without a look at their entries.
	for (uint32_t i = 0; a->meta != b->meta && i < a->n_meta; i++) {
		d |= pstr_diff(&a->meta[i].key, &b->meta[i].key)
		    | pstr_diff(&a->meta[i].val, &b->meta[i].val);
	}
	for (uint32_t i = 0; a->tags != b->tags && i < a->n_tags; i++) {
		d |= pstr_diff(&a->tags[i], &b->tags[i]);
	}
	if (d == 0) {
		return (1);
	}
	if (!pstr_eq(&a->model, &b->model)
	    || !pstr_eq(&a->provider, &b->provider)) {
		return (0);
	}
	for (uint32_t i = 0; i < a->n_meta; i++) {
		if (!pstr_eq(&a->meta[i].key, &b->meta[i].key)
		    || !pstr_eq(&a->meta[i].val, &b->meta[i].val)) {
			return (0);
		}
	}
	for (uint32_t i = 0; i < a->n_tags; i++) {
		if (!pstr_eq(&a->tags[i], &b->tags[i])) {
			return (0);
		}
	}
	return (1);
}

static const llmcost_proto_str *
meta_get(const llmcost_proto_record *r, const char *key)
{
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < r->n_meta; i++) {
		if (r->meta[i].key.len == klen
		    && memcmp(r->meta[i].key.ptr, key, klen) == 0) {
			return (&r->meta[i].val);
		}
	}
	return (NULL);
}

// Adds delta to the stored roll-up under key kb in table dbi
// (read-modify-write).  Counts add modulo 2^64, so a delta may take away
// (a reprice's unpriced_calls going down is a delta of -1 as a u64).
static int
rollup_add(MDB_txn *txn, MDB_dbi dbi, const uint8_t kb[RKEY_SIZE],
    const store_rollup *delta)
{
	store_rollup ru;
	MDB_val k = { RKEY_SIZE, (void *) kb }, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc == 0) {
		if ((rc = rollup_load(&v, &ru)) != 0) {
			return (rc);
		}
	} else if (rc == MDB_NOTFOUND) {
		memset(&ru, 0, sizeof(ru));
	} else {
		return (rc != 0 ? rc : MDB_CORRUPTED);
	}
	ru.calls += delta->calls;
	ru.unpriced_calls += delta->unpriced_calls;
	ru.error_calls += delta->error_calls;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		ru.usage[b] += delta->usage[b];
	}
	sum128_add(&ru.cost_lo, &ru.cost_hi, store_rollup_cost(delta));
	for (int f = 0; f < STORE_FEE_SLOTS; f++) {
		ru.fees[f] += delta->fees[f];
	}
	sum128_add(
	    &ru.fee_cost_lo, &ru.fee_cost_hi, store_rollup_fee_cost(delta));
	ru.provider_cost_calls += delta->provider_cost_calls;
	sum128_add(&ru.provider_cost_lo, &ru.provider_cost_hi,
	    store_rollup_provider_cost(delta));
	ru.usage_missing_calls += delta->usage_missing_calls;
	ru.usage_partial_calls += delta->usage_partial_calls;
	// Most rollups have no extras: their sums past the schema 1 prefix
	// are zero, and the prefix alone says so (rollup_load).
	static const uint8_t zero[sizeof(ru) - ROLLUP_V1_SIZE];
	v.mv_size = memcmp((const uint8_t *) &ru + ROLLUP_V1_SIZE, zero,
	                sizeof(zero))
	        == 0
	    ? ROLLUP_V1_SIZE
	    : sizeof(ru);
	v.mv_data = &ru;
	return (mdb_put(txn, dbi, &k, &v, 0));
}

// The daily key of an hourly one: its day, the same dimensions.
static void
rkey_day(const uint8_t hour_kb[RKEY_SIZE], uint8_t day_kb[RKEY_SIZE])
{
	memcpy(day_kb, hour_kb, RKEY_SIZE);
	put_be32(day_kb, get_be32(hour_kb) / STORE_HOURS_PER_DAY);
}

// Adds delta to the hourly roll-up under kb and to its day's.
static int
rollup_put(MDB_txn *txn, const store *s, const uint8_t kb[RKEY_SIZE],
    const store_rollup *delta)
{
	uint8_t dkb[RKEY_SIZE];
	int rc;

	if ((rc = rollup_add(txn, s->rollups, kb, delta)) != 0) {
		return (rc);
	}
	rkey_day(kb, dkb);
	return (rollup_add(txn, s->rollups_day, dkb, delta));
}

// A call made in a request scope: its trace and parent, kept beside the
// run (not in it, so that the run layout stays as it is) for cost per
// trace.  Calls outside a scope write nothing.
static int
write_trace(wctx *w, const llmcost_proto_record *r)
{
	uint8_t val[32];
	uint64_t t0, t1;

	memcpy(&t0, r->trace_id, 8);
	memcpy(&t1, r->trace_id + 8, 8);
	if ((t0 | t1) == 0) {
		return (0);
	}
	memcpy(val, r->trace_id, 16);
	memcpy(val + 16, r->parent_run_id, 16);
	MDB_val k = { 16, (void *) r->run_id }, v = { sizeof(val), val };
	return (mdb_put(w->txn, w->s->traces, &k, &v, 0));
}

// Writes every pending roll-up sum of tab (RU_PENDING entries) to the
// hourly and daily rollups and empties the table.
static int
pending_flush(
    MDB_txn *txn, const store *s, struct ru_pending *tab, uint32_t *used)
{
	int rc = 0;

	for (uint32_t i = 0; i < RU_PENDING; i++) {
		struct ru_pending *e = &tab[i];
		if (e->used) {
			if (rc == 0) {
				rc = rollup_put(txn, s, e->kb, &e->sum);
			}
			e->used = 0;
		}
	}
	*used = 0;
	return (rc);
}

// The pending sum of the hourly rollup key kb in tab, a new zero one if
// there is none; the table is flushed first when half full.
// The hourly roll-up key of run.
static void
rkey_of(const store_run *run, uint8_t kb[RKEY_SIZE])
{
	store_rkey rk;

	rk.hour = (uint32_t) (run->start_ns / 3600000000000ULL);
#define RKEY_FROM_RUN(id, name, field, src) rk.field = run->field;
	REPORT_DIM_MAP(RKEY_FROM_RUN)
#undef RKEY_FROM_RUN
	rkey_encode(&rk, kb);
}

static int
pending_sum(MDB_txn *txn, const store *s, struct ru_pending *tab,
    uint32_t *used, const uint8_t kb[RKEY_SIZE], store_rollup **sum)
{
	int rc;

	if (*used >= RU_PENDING / 2
	    && (rc = pending_flush(txn, s, tab, used)) != 0) {
		return (rc);
	}
	uint64_t h = cache_hash(kb, RKEY_SIZE);
	struct ru_pending *e;
	for (uint32_t i = (uint32_t) h;; i++) {
		e = &tab[i & (RU_PENDING - 1)];
		if (!e->used) {
			e->used = 1;
			memcpy(e->kb, kb, RKEY_SIZE);
			memset(&e->sum, 0, sizeof(e->sum));
			(*used)++;
			break;
		}
		if (memcmp(e->kb, kb, RKEY_SIZE) == 0) {
			break;
		}
	}
	*sum = &e->sum;
	return (0);
}

static int
rollups_flush(wctx *w)
{
	return (pending_flush(w->txn, w->s, w->s->ru, &w->ru_n));
}

// Adds a run to its hour's roll-up (and so its day's).  Runs of one
// write are summed in memory per roll-up key (a batch from one call site
// has a handful of keys), and each key is read and written once, at the
// end of the write, or when the table fills.
static int
add_rollup(wctx *w, const store_run *run, const store_extras *ex)
{
	store_rollup *ru;
	uint32_t hour = (uint32_t) (run->start_ns / 3600000000000ULL);
	int rc;

	// Runs from one call site share their key: the last sum first,
	// its key compared as numbers (ru_last_key; the encoded key, just
	// written a byte at a time, stalled the loads comparing it).  Only
	// pending_sum reuses a slot, and ru_last is then set again.
#define RKEY_SAME(id, name, field, src) &&w->ru_last_key.field == run->field
	if (w->ru_last != NULL && w->ru_last->used
	    && w->ru_last_key.hour == hour REPORT_DIM_MAP(RKEY_SAME)) {
		ru = &w->ru_last->sum;
	} else {
		uint8_t kb[RKEY_SIZE];
		rkey_of(run, kb);
		if ((rc = pending_sum(
		         w->txn, w->s, w->s->ru, &w->ru_n, kb, &ru))
		    != 0) {
			return (rc);
		}
		w->ru_last = (struct ru_pending *) (void *) ((uint8_t *) ru
		    - offsetof(struct ru_pending, sum));
		w->ru_last_key.hour = hour;
#define RKEY_KEEP(id, name, field, src) w->ru_last_key.field = run->field;
		REPORT_DIM_MAP(RKEY_KEEP)
#undef RKEY_KEEP
	}
#undef RKEY_SAME
	ru->calls++;
	if (run->flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) {
		ru->unpriced_calls++;
	}
	if (run->status != LLMCOST_STATUS_OK) {
		ru->error_calls++;
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		ru->usage[b] += run->usage[b];
	}
	sum128_add(&ru->cost_lo, &ru->cost_hi, run->cost_pusd);
	if (ex != NULL) {
		for (int f = 0; f < STORE_FEE_SLOTS; f++) {
			ru->fees[f] += ex->fees[f];
		}
		sum128_add(
		    &ru->fee_cost_lo, &ru->fee_cost_hi, ex->fee_cost_pusd);
		if (ex->provider_cost_pusd != STORE_NO_PROVIDER_COST) {
			ru->provider_cost_calls++;
			sum128_add(&ru->provider_cost_lo,
			    &ru->provider_cost_hi, ex->provider_cost_pusd);
		}
		if (ex->usage_flags & LLMCOST_USAGE_MISSING) {
			ru->usage_missing_calls++;
		} else if (ex->usage_flags & LLMCOST_USAGE_PARTIAL) {
			ru->usage_partial_calls++;
		}
	}
	return (0);
}

// Where the writer finds a dimension's value in a decoded call (the src
// column of REPORT_DIM_MAP): NULL when the call has none.
#define DIM_SRC_RECORD(r, name, field) (&(r)->field)
#define DIM_SRC_META(r, name, field)   meta_get((r), (name))

// The extras of r, if it has any: returns 1 and fills *ex, else 0 (and
// leaves *ex alone).
static int
extras_of(
    const llmcost_proto_record *r, const store_cost *cost, store_extras *ex)
{
	int any = r->has_provider_cost || r->usage_flags != 0
	    || r->service_tier != 0 || r->platform.len > 0;

	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		any |= r->fees[f] != 0;
	}
	if (!any) {
		return (0); // most calls: *ex is not needed
	}
	memset(ex, 0, sizeof(*ex));
	ex->version = 2;
	ex->service_tier = (uint8_t) r->service_tier; // the decoder caps it
	if (r->platform.len > 0 && r->platform.len <= sizeof(ex->platform)) {
		memcpy(ex->platform, r->platform.ptr, r->platform.len);
	}
	ex->usage_flags = r->usage_flags;
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		ex->fees[f] = r->fees[f];
	}
	ex->fee_cost_pusd = cost->fee_cost_pusd;
	// The decoder keeps the cost within int64 (proto: uint <= 2^63-1).
	ex->provider_cost_pusd = r->has_provider_cost
	    ? (int64_t) r->provider_cost_pusd
	    : STORE_NO_PROVIDER_COST;
	return (any);
}

// Run ids compare as 16 big-endian bytes.
static inline int
id_less(const uint8_t *a, const uint8_t *b)
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	if (x == y) {
		memcpy(&x, a + 8, 8);
		memcpy(&y, b + 8, 8);
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
	y = __builtin_bswap64(y);
#endif
	return (x < y);
}

// The room a run of vsize bytes takes on a leaf page: LMDB's node (an
// 8-byte header, the 16-byte id, the value), rounded up to even, and its
// 2-byte offset.
static inline uint32_t
leaf_need(size_t vsize)
{
	return (
	    (uint32_t) ((STORE_LEAF_NODE + 16 + vsize + 2 + 1) & ~(size_t) 1));
}

// The leaf pages of the runs table now.
static uint64_t
leaf_pages(wctx *w)
{
	MDB_stat st;

	return (mdb_stat(w->txn, w->s->runs, &st) == 0 ? st.ms_leaf_pages : 0);
}

// Inserts the run k -> v unless its id is stored (MDB_KEYEXIST).  Run
// ids are time-ordered, so most runs go to the end of the table.
// MDB_APPEND puts such a run on a new leaf of its own when the last leaf
// is full (a plain put would split the full leaf in two halves, copying
// every node), so in-order runs fill every page; but LMDB 0.9.24 looks
// the table's last key up from the root for every MDB_APPEND.  The plain
// put on this cursor, which stays where the last run went, first
// compares the key with the first and last keys of the cursor's leaf and
// inserts a key above the table's last without a descent.  So a run
// above the table's last takes the plain put while this write knows the
// last leaf has room for it (leaf_room), and MDB_APPEND otherwise, which
// tells, by the leaf page count, whether it started a new leaf.  A run
// not above the last goes to the plain put, which stores it where it
// belongs or finds it stored.
static int
put_run(wctx *w, MDB_val *k, MDB_val *v)
{
	uint32_t need = leaf_need(v->mv_size);
	int above = !w->have_last || id_less(w->last_run, k->mv_data);
	int rc;

	if (above && w->leaf_known && need <= w->leaf_room) {
		if ((rc = mdb_cursor_put(w->runs, k, v, MDB_NOOVERWRITE))
		    == 0) {
			w->leaf_room -= need;
			memcpy(w->last_run, k->mv_data, 16);
		}
		return (rc);
	}
	if (above) {
		uint64_t before = leaf_pages(w);
		if ((rc = mdb_cursor_put(w->runs, k, v, MDB_APPEND)) == 0) {
			memcpy(w->last_run, k->mv_data, 16);
			w->have_last = 1;
			w->leaf_known = leaf_pages(w) == before + 1
			    && need + STORE_LEAF_HDR <= w->psize;
			w->leaf_room = w->leaf_known
			    ? w->psize - STORE_LEAF_HDR - need
			    : 0;
			memcpy(w->leaf_first, k->mv_data, 16);
			return (0);
		}
		if (rc != MDB_KEYEXIST) {
			return (rc);
		}
	}
	// Not above the last run (another client's, a resend): one not
	// below the last leaf's first run lands on that leaf, whose room
	// is then not known any more.
	rc = mdb_cursor_put(w->runs, k, v, MDB_NOOVERWRITE);
	if (rc == 0 && !id_less(k->mv_data, w->leaf_first)) {
		w->leaf_known = 0;
	}
	return (rc);
}

static int
write_record(
    wctx *w, const llmcost_proto_record *r, const store_cost *cost, int *dup)
{
	store_run run;
	int rc = 0;

	*dup = 0;
	memset(&run, 0, sizeof(run));
	run.version = 1;
	run.status = (uint8_t) r->status;
	run.flags = cost->flags;
	run.price_id = cost->price_id;
	run.cost_pusd = cost->cost_pusd;
	run.start_ns = r->start_ns;
	run.duration_ns = r->duration_ns;
	run.ingest_ns = w->now_ns;
	memcpy(run.usage, r->usage, sizeof(run.usage));

	// Intern first so that the run is written once.  For a duplicate
	// the strings already exist (or are harmless if new).
#define DIM_COPY(id, name, field, src) run.field = w->dims[site].field;
#define INTERN_DIM(id, name, field, src)                                      \
	if (rc == 0) {                                                        \
		const llmcost_proto_str *v = DIM_SRC_##src(r, name, field);   \
		rc = intern(w, v != NULL ? v->ptr : NULL,                     \
		    v != NULL ? v->len : 0, &run.field);                      \
	}
	uint32_t site = w->cur;
	if (site >= w->nprev || !same_strings(w->prev[site], r)) {
		site = 0;
		while (site < w->nprev && !same_strings(w->prev[site], r)) {
			site++;
		}
	}
	if (site < w->nprev) {
		REPORT_DIM_MAP(DIM_COPY)
		run.metaset = w->dims[site].metaset;
		// r stands for its site from now on: the next calls of r's
		// batch share r's string pointers (a TBATCH's table), so
		// they match without comparing bytes, even when the site
		// was first seen in an earlier batch of this write.
		w->prev[site] = r;
	} else {
		REPORT_DIM_MAP(INTERN_DIM)
		if (rc != 0
		    || (rc = intern_metaset(w, r, &run.metaset)) != 0) {
			return (rc);
		}
		site = w->next_prev;
		w->next_prev = (site + 1) % WCTX_SITES;
		w->nprev += w->nprev < WCTX_SITES ? 1 : 0;
		w->prev[site] = r;
		w->dims[site] = run;
	}
	w->cur = site;
#undef INTERN_DIM
#undef DIM_COPY
	if (w->runs == NULL
	    && (rc = mdb_cursor_open(w->txn, w->s->runs, &w->runs)) != 0) {
		return (rc);
	}
	uint8_t rec[sizeof(store_run)];
	MDB_val k = { 16, (void *) r->run_id },
	        v = { run_encode(r->run_id, &run, rec), rec };
	if ((rc = put_run(w, &k, &v)) != 0) {
		if (rc == MDB_KEYEXIST) {
			*dup = 1;
			return (0);
		}
		return (rc);
	}
	if ((rc = write_trace(w, r)) != 0) {
		return (rc);
	}
	// The run is new: its extras, if any, are written now and only now.
	store_extras ex;
	if (!extras_of(r, cost, &ex)) {
		return (add_rollup(w, &run, NULL));
	}
	MDB_val ev = { sizeof(ex), &ex };
	if ((rc = mdb_put(w->txn, w->s->extras, &k, &ev, 0)) != 0) {
		return (rc);
	}
	return (add_rollup(w, &run, &ex));
}

// Adds n to the u64 under hour key hk of table dbi.
static int
add_hour(wctx *w, MDB_dbi dbi, uint8_t hk[4], uint64_t n)
{
	MDB_val dk = { 4, hk }, dv;
	uint64_t total = 0;
	int rc = mdb_get(w->txn, dbi, &dk, &dv);

	if (rc == 0 && dv.mv_size == sizeof(total)) {
		memcpy(&total, dv.mv_data, sizeof(total));
	} else if (rc != MDB_NOTFOUND && rc != 0) {
		return (rc);
	}
	total += n;
	dv.mv_size = sizeof(total);
	dv.mv_data = &total;
	return (mdb_put(w->txn, dbi, &dk, &dv, 0));
}

// The runs the client's lossy exporters lost (cumulative, like the drop
// count): an increase is filed under the hour it was reported in.
static int
write_exporter_lost(wctx *w, const llmcost_proto_batch *b)
{
	MDB_val k = { 16, (void *) b->client_id }, v;
	uint64_t seen = 0;
	uint8_t hk[4];
	int rc;

	if (b->exporter_lost == 0) {
		return (0);
	}
	rc = mdb_get(w->txn, w->s->ls_clients, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(seen)) {
		memcpy(&seen, v.mv_data, sizeof(seen));
	} else if (rc != MDB_NOTFOUND && rc != 0) {
		return (rc);
	}
	if (b->exporter_lost <= seen) {
		return (0);
	}
	put_be32(hk, (uint32_t) (w->now_ns / 3600000000000ULL));
	if ((rc = add_hour(w, w->s->ls_drops, hk, b->exporter_lost - seen))
	    != 0) {
		return (rc);
	}
	v.mv_size = sizeof(seen);
	v.mv_data = (void *) &b->exporter_lost;
	return (mdb_put(w->txn, w->s->ls_clients, &k, &v, 0));
}

static int
write_client(wctx *w, const llmcost_proto_batch *b)
{
	store_client cl;
	MDB_val k = { 16, (void *) b->client_id }, v;
	int rc = mdb_get(w->txn, w->s->clients, &k, &v);

	if (rc == 0 && v.mv_size == sizeof(cl)) {
		memcpy(&cl, v.mv_data, sizeof(cl));
	} else if (rc == MDB_NOTFOUND) {
		memset(&cl, 0, sizeof(cl));
		cl.first_ns = w->now_ns;
	} else {
		return (rc != 0 ? rc : MDB_CORRUPTED);
	}
	// The drop count is cumulative, so resends and reordering are
	// harmless: only an increase is new information.
	if (b->dropped > cl.dropped) {
		uint8_t hk[4];
		put_be32(hk, (uint32_t) (w->now_ns / 3600000000000ULL));
		rc = add_hour(w, w->s->drops, hk, b->dropped - cl.dropped);
		if (rc != 0) {
			return (rc);
		}
		cl.dropped = b->dropped;
	}
	if ((rc = write_exporter_lost(w, b)) != 0) {
		return (rc);
	}
	if (b->seq > cl.last_seq) {
		cl.last_seq = b->seq;
	}
	cl.batches++;
	cl.last_ns = w->now_ns;
	v.mv_size = sizeof(cl);
	v.mv_data = &cl;
	return (mdb_put(w->txn, w->s->clients, &k, &v, 0));
}

// Doubles the map after MDB_MAP_FULL; no transaction may be open in
// this process.
static int
map_grow(store *s)
{
	uint64_t bigger = s->mapsize * 2;
	int rc = mdb_env_set_mapsize(s->env, bigger);

	if (rc == 0) {
		log_msg(LLMCOST_LOG_NOTICE, "store map grown to %llu KiB",
		    (unsigned long long) (bigger >> 10));
		s->mapsize = bigger;
	}
	return (rc);
}

static int
rec_cmp(const void *a, const void *b)
{
	const llmcost_proto_record *x
	    = *(const llmcost_proto_record *const *) a;
	const llmcost_proto_record *y
	    = *(const llmcost_proto_record *const *) b;
	return (id_less(x->run_id, y->run_id)
	        ? -1
	        : (id_less(y->run_id, x->run_id) ? 1 : 0));
}

// The n records from recs in run id order, into out.  A batch arrives nearly in
// order (ids are minted at a call's start, queued at its end, by several
// threads): an insertion sort, which is linear then, and qsort for a
// batch that moves more than a few places per record.  In order, every
// run of a batch is appended (MDB_APPEND) to a full page; out of order,
// a run just below the last one splits a full page in two half-empty
// ones (two producer threads took 123 to 131 B per call on disk).
static void
sort_records(const llmcost_proto_record *recs, uint32_t n,
    const llmcost_proto_record **out)
{
	uint64_t moves = 0, budget = 8 * (uint64_t) n + 64;

	for (uint32_t i = 0; i < n; i++) {
		const llmcost_proto_record *r = &recs[i];
		uint32_t j = i;
		while (j > 0 && id_less(r->run_id, out[j - 1]->run_id)) {
			out[j] = out[j - 1];
			j--;
			moves++;
		}
		out[j] = r;
		if (moves > budget) {
			for (uint32_t k = 0; k < n; k++) {
				out[k] = &recs[k];
			}
			qsort(out, n, sizeof(*out), rec_cmp);
			return;
		}
	}
}

static int
write_once(store *s, const store_batch *batches, size_t n,
    store_batch_result *results, uint64_t now_ns, const char **where)
{
	wctx w = { .s = s, .now_ns = now_ns };
	int rc;

	// Nothing is pending: a committed write flushed every sum, and an
	// aborted one cleared them (store_write).
	*where = "begin";
	if ((rc = wtxn_begin(s, &w.txn)) != 0) {
		return (rc);
	}
	*where = "ids";
	MDB_stat est;
	w.psize = mdb_env_stat(s->env, &est) == 0 ? est.ms_psize : 0;
	w.next_str = last_id(w.txn, s->id2str, &rc);
	if (rc == 0) {
		w.next_ms = last_id(w.txn, s->metasets, &rc);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const llmcost_proto_batch *b = batches[i].batch;
		const store_cost *costs = batches[i].costs;
		results[i].stored = 0;
		results[i].duplicates = 0;
		*where = "client";
		rc = write_client(&w, b);
		*where = "run";
		for (uint32_t j = 0; rc == 0 && j < b->n_records; j++) {
			// In id order, LLMCOST_PROTO_MAX_RECORDS at a time (a
			// decoded batch is never larger).
			uint32_t o = j % LLMCOST_PROTO_MAX_RECORDS;
			if (o == 0) {
				uint32_t m = b->n_records - j;
				sort_records(&b->records[j],
				    m < LLMCOST_PROTO_MAX_RECORDS
				        ? m
				        : LLMCOST_PROTO_MAX_RECORDS,
				    s->order);
			}
			const llmcost_proto_record *r = s->order[o];
			int dup;
			rc = write_record(&w, r, &costs[r - b->records], &dup);
			if (rc == 0) {
				if (dup) {
					results[i].duplicates++;
				} else {
					results[i].stored++;
				}
			}
		}
	}
	if (rc == 0) {
		*where = "rollup";
		rc = rollups_flush(&w);
	}
	if (rc == 0) {
		*where = "pricevers";
		rc = pricevers_note_batches(w.txn, s, batches, n);
	}
	if (w.runs != NULL) {
		mdb_cursor_close(w.runs);
	}
	if (rc != 0) {
		mdb_txn_abort(w.txn);
		return (rc);
	}
	*where = "commit";
	return (mdb_txn_commit(w.txn));
}

int
store_write(store *s, const store_batch *batches, size_t n,
    store_batch_result *results, uint64_t now_ns, char *err, size_t errsz)
{
	const char *where;
	int rc;

	for (int attempt = 0;; attempt++) {
		rc = write_once(s, batches, n, results, now_ns, &where);
		if (rc == 0) {
			s->last_fault = STORE_FAULT_NONE;
			return (0);
		}
		// Ids handed out in the aborted transaction never existed.
		memset(s->cache, 0, STR_CACHE_SIZE * sizeof(*s->cache));
		memset(s->ms_cache, 0, MS_CACHE_SIZE * sizeof(*s->ms_cache));
		// and sums pending in it are dropped.
		memset(s->ru, 0, RU_PENDING * sizeof(*s->ru));
		if (rc != MDB_MAP_FULL || attempt >= 4) {
			break;
		}
		// Grow the map and try again; no transaction is open now.
		int src = map_grow(s);
		if (src != 0) {
			rc = src;
			where = "resize";
			break;
		}
	}
	// A map that cannot grow (no address space for the bigger map) is
	// a full map, whatever the resize said.
	s->last_fault = strcmp(where, "resize") == 0
	    ? STORE_FAULT_MAP_FULL
	    : store_fault_of(rc, s->dir);
	return (errf(err, errsz, where, rc));
}

store_fault
store_last_fault(const store *s)
{
	return (s->last_fault);
}

// ---- reading ----

int
store_read_begin(store *s, store_rtxn **tp)
{
	store_rtxn *t;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	t->s = s;
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
	if (rc == MDB_MAP_RESIZED) {
		// The writer grew the map: adopt its size and retry.
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
	}
	if (rc != 0) {
		log_msg(
		    LLMCOST_LOG_ERR, "read transaction: %s", mdb_strerror(rc));
		free(t);
		return (LLMCOST_ESTORE);
	}
	*tp = t;
	return (0);
}

void
store_read_end(store_rtxn *t)
{
	if (t == NULL) {
		return;
	}
	if (t->ms_cur != NULL) {
		mdb_cursor_close(t->ms_cur);
	}
	mdb_txn_abort(t->txn);
	free(t);
}

// Ends a walk over a cursor: closes cur and returns rv, or
// LLMCOST_ESTORE when the walk stopped on an LMDB error (rc neither 0 nor
// MDB_NOTFOUND).
static int
walk_end(MDB_cursor *cur, int rc, int rv)
{
	if (rc != 0 && rc != MDB_NOTFOUND) {
		rv = LLMCOST_ESTORE;
	}
	mdb_cursor_close(cur);
	return (rv);
}

// Walks table dbi's rollups with from <= period < to; div turns a key's
// period into the one given to fn (1, or 24 for hourly rollups read as
// days).
static int
scan_rollups(store_rtxn *t, MDB_dbi dbi, uint32_t div, uint32_t from,
    uint32_t to, store_rollup_fn fn, void *arg)
{
	MDB_cursor *cur;
	uint8_t kb[RKEY_SIZE] = { 0 };
	MDB_val k = { sizeof(kb), kb }, v;
	int rc, rv = 0;

	if (fn == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (from >= to) {
		return (0);
	}
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
		return (LLMCOST_ESTORE);
	}
	put_be32(kb, from * div);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		store_rkey rk;
		store_rollup ru;
		if (k.mv_size != RKEY_SIZE || rollup_load(&v, &ru) != 0) {
			rv = LLMCOST_ESTORE;
			break;
		}
		rkey_decode(k.mv_data, &rk);
		rk.hour /= div;
		if (rk.hour >= to) {
			break;
		}
		if ((rv = fn(arg, &rk, &ru)) != 0) {
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	return (walk_end(cur, rc, rv));
}

int
store_scan_rollups(store_rtxn *t, uint32_t from_hour, uint32_t to_hour,
    store_rollup_fn fn, void *arg)
{
	return (store_scan_rollups_grain(
	    t, STORE_HOURLY, from_hour, to_hour, fn, arg));
}

int
store_scan_rollups_grain(store_rtxn *t, store_grain g, uint32_t from,
    uint32_t to, store_rollup_fn fn, void *arg)
{
	if (t == NULL) {
		return (LLMCOST_EINVAL);
	}
	switch (g) {
	case STORE_HOURLY:
		return (scan_rollups(t, t->s->rollups, 1, from, to, fn, arg));
	case STORE_DAILY:
		if (t->s->has_daily) {
			return (scan_rollups(
			    t, t->s->rollups_day, 1, from, to, fn, arg));
		}
		// A read-only older store: its hours, as days.
		if (to > UINT32_MAX / STORE_HOURS_PER_DAY) {
			to = UINT32_MAX / STORE_HOURS_PER_DAY;
		}
		return (scan_rollups(
		    t, t->s->rollups, STORE_HOURS_PER_DAY, from, to, fn, arg));
	}
	return (LLMCOST_EINVAL);
}

// Moves a cursor over a table keyed by run id (extras, traces) to the
// first key >= id, as long as it is behind: the tables are walked in
// step with the runs.  Returns the value when the cursor's key is id,
// else NULL; *rc receives the cursor's state (MDB_NOTFOUND at the end).
// A value must be vsize bytes, or vsize_old when not 0 (an older, shorter
// version of the value).
static const void *
side_seek(MDB_cursor *cur, MDB_val *k, MDB_val *v, int *rc, const uint8_t *id,
    size_t vsize, size_t vsize_old)
{
	while (
	    *rc == 0 && k->mv_size == 16 && memcmp(k->mv_data, id, 16) < 0) {
		*rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
	}
	if (*rc != 0 || k->mv_size != 16 || memcmp(k->mv_data, id, 16) != 0
	    || (v->mv_size != vsize
	        && (vsize_old == 0 || v->mv_size != vsize_old))) {
		return (NULL);
	}
	return (v->mv_data);
}

// The walk under every scan: runs handed to fn STORE_SCAN_BATCH at a
// time, so that a caller can look ahead (prefetch what the next runs
// need) and pays one indirect call per batch, not per run.  The batch's
// storage is the walk's: decoded runs, and copies of extras that are not
// aligned or are of an older, shorter version.
typedef struct scan_buf {
	store_scan_item it[STORE_SCAN_BATCH];
	store_extras excopy[STORE_SCAN_BATCH];
} scan_buf;

// A walk's state: the window, the side tables walked in step, the batch.
typedef struct scan_walk {
	uint64_t from_ns, to_ns, end_ms;
	MDB_cursor *side[2];
	MDB_val sk[2], sv[2];
	int src[2];
	scan_buf *b;
	size_t n;
	store_run_batch_fn fn;
	void *arg;
	int done; // a run past the window was met
	// A scan that sums (store_scan_fold), and the extras table's
	// current key as two big-endian words (all ones past its end).
	store_fold *fold;
	uint64_t ex_hi, ex_lo;
} scan_walk;

// Adds the run (k, v) to the batch, handing the batch on when full, or
// sets w->done when it lies past the window.  Returns 0, an error, or
// what the batch's callback returned when not 0.
static inline int
scan_put(scan_walk *w, const MDB_val *k, const MDB_val *v)
{
	store_scan_item *it = &w->b->it[w->n];
	if (k->mv_size != 16) {
		return (LLMCOST_ESTORE);
	}
	if (id_ms(k->mv_data) >= w->end_ms) {
		w->done = 1;
		return (0);
	}
	// Either layout is decoded into the batch (a copy: values need not
	// be aligned in LMDB's pages).
	if (run_decode(k->mv_data, v, &it->run) != 0) {
		return (LLMCOST_ESTORE);
	}
	if (it->run.start_ns < w->from_ns || it->run.start_ns >= w->to_ns) {
		return (0);
	}
	// Keys and values stay where they are until the read transaction
	// ends.
	it->id = k->mv_data;
	it->ex = NULL;
	it->trace = NULL;
	if (w->side[0] != NULL) {
		it->ex = side_seek(w->side[0], &w->sk[0], &w->sv[0],
		    &w->src[0], k->mv_data, sizeof(store_extras),
		    STORE_EXTRAS_V1_SIZE);
		// A version 1 value is shorter: copy it, the rest zero.
		if (it->ex != NULL
		    && (((uintptr_t) it->ex % _Alignof(store_extras)) != 0
		        || w->sv[0].mv_size != sizeof(store_extras))) {
			store_extras *c = &w->b->excopy[w->n];
			memset(c, 0, sizeof(*c));
			memcpy(c, it->ex, w->sv[0].mv_size);
			it->ex = c;
		}
	}
	if (w->side[1] != NULL) {
		it->trace = side_seek(w->side[1], &w->sk[1], &w->sv[1],
		    &w->src[1], k->mv_data, 32, 0);
	}
	if (++w->n == STORE_SCAN_BATCH) {
		size_t n = w->n;
		w->n = 0;
		return (w->fn(w->arg, w->b->it, n));
	}
	return (0);
}

// Notes where the extras cursor of a walk that sums now stands.
static void
fold_side(scan_walk *w)
{
	if (w->src[0] == 0 && w->sk[0].mv_size == 16) {
		w->ex_hi = key_be64(w->sk[0].mv_data);
		w->ex_lo = key_be64((const uint8_t *) w->sk[0].mv_data + 8);
	} else {
		w->ex_hi = w->ex_lo = UINT64_MAX;
	}
}

// What the loop of a walk that sums reads for every run, kept in
// registers between the calls that may change it (fold_load).
typedef struct fold_state {
	uint64_t end_ms, from_ns, to_ns, ex_hi, ex_lo;
	const uint32_t *via, *slot;
	store_fold_sum *sum;
	uint32_t nvia, nslot, nsum;
	uint64_t runs; // summed or skipped, not yet in f->runs
} fold_state;

static inline void
fold_load(fold_state *st, const scan_walk *w)
{
	const store_fold *f = w->fold;
	st->end_ms = w->end_ms;
	st->from_ns = w->from_ns;
	st->to_ns = w->to_ns;
	st->ex_hi = w->ex_hi;
	st->ex_lo = w->ex_lo;
	st->via = f->via;
	st->nvia = f->nvia;
	st->slot = f->slot;
	st->nslot = f->nslot;
	st->sum = f->sum;
	st->nsum = f->nsum;
	st->runs = 0;
}

// Sums the run (k, v) of a walk that sums, whose key is the u32 at offset
// koff of a packed record, when it is a packed run whose slot is known,
// that lies before the extras cursor (so has none) and is priced (its
// usage in the record's order: fold_order).  Returns 0 when done with it
// (summed, skipped, or outside the window's nanoseconds), 1 when it must
// go through scan_put, to the batch (fold_slow).
static inline __attribute__((always_inline)) int
fold_one(fold_state *st, const MDB_val *k, const MDB_val *v, size_t koff)
{
	const run_packed *p = v->mv_data;
	uint64_t hi, lo, ms;
	uint32_t key, sl;

	if (k->mv_size != 16 || v->mv_size != sizeof(run_packed)) {
		return (1);
	}
	hi = key_be64(k->mv_data);
	lo = key_be64((const uint8_t *) k->mv_data + 8);
	ms = hi >> 16;
	if (ms >= st->end_ms
	    || (hi > st->ex_hi || (hi == st->ex_hi && lo >= st->ex_lo))
	    || (p->flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) != 0) {
		return (1);
	}
	uint64_t start
	    = ms * 1000000u + (p->when & ((UINT64_C(1) << RUN_SUB_BITS) - 1));
	if (start < st->from_ns || start >= st->to_ns) {
		return (0);
	}
	memcpy(&key, (const uint8_t *) p + koff, sizeof(key));
	if (st->via != NULL) {
		if (key >= st->nvia || (key = st->via[key]) == 0) {
			return (1);
		}
		if (key == STORE_FOLD_SKIP) {
			st->runs++;
			return (0);
		}
		key--;
	}
	if (key >= st->nslot || (sl = st->slot[key]) == 0) {
		return (1);
	}
	if (sl == STORE_FOLD_SKIP) {
		st->runs++;
		return (0);
	}
	if (sl - 1 >= st->nsum) {
		return (1);
	}
	st->runs++;
	store_fold_sum *a = &st->sum[sl - 1];
	a->calls++;
	a->error_calls += p->status != LLMCOST_STATUS_OK;
	for (int i = 0; i < RUN_U32; i++) {
		a->usage[i] += p->u32[i];
	}
	for (int i = 0; i < RUN_U16; i++) {
		a->usage[RUN_U32 + i] += p->u16[i];
	}
	a->cost_pusd += p->cost_pusd;
	return (0);
}

// A run fold_one cannot sum: to scan_put.  The walk's counts are handed
// over first, and its state read again after (the batch's callback may
// have filled slots and moved the arrays).
static int
fold_slow(scan_walk *w, fold_state *st, const MDB_val *k, const MDB_val *v)
{
	w->fold->runs += st->runs;
	int rv = scan_put(w, k, v);
	if (w->side[0] != NULL) {
		// This run's extras, when it had some, are in the batch:
		// the runs up to the next run with extras can be summed.
		if (rv == 0 && w->src[0] == 0 && w->sk[0].mv_size == 16
		    && memcmp(w->sk[0].mv_data, k->mv_data, 16) == 0) {
			w->src[0] = mdb_cursor_get(
			    w->side[0], &w->sk[0], &w->sv[0], MDB_NEXT);
		}
		fold_side(w);
	}
	fold_load(st, w);
	return (rv);
}

// scan_put for a walk that sums, one run at a time (the cursor's walk).
static int
fold_put(scan_walk *w, const MDB_val *k, const MDB_val *v, size_t koff)
{
	fold_state st;
	fold_load(&st, w);
	if (fold_one(&st, k, v, koff) != 0) {
		return (fold_slow(w, &st, k, v));
	}
	w->fold->runs += st.runs;
	return (0);
}

// Puts the usage of sums s[0..n) in the packed record's order (to is 1),
// in which a walk that sums adds to them, or back in bucket order (0).
static void
fold_order(store_fold_sum *s, uint32_t n, int to)
{
	for (uint32_t j = 0; j < n; j++) {
		uint64_t u[LLMCOST_BUCKET_COUNT];
		for (int i = 0; i < RUN_U32 + RUN_U16; i++) {
			if (to) {
				u[i] = s[j].usage[run_buckets[i]];
			} else {
				u[run_buckets[i]] = s[j].usage[i];
			}
		}
		memcpy(s[j].usage, u, sizeof(u));
	}
}

// The walk of a table's pages for a scan that sums (the loop of
// scan_runs, store_leaf_next's returns in *step), keyed by the u32 at
// koff of a packed record: FOLD_AHEAD runs at a time, whose slots (an
// array by a value of the run, too large for the nearest caches, read in
// no order) are fetched into the cache before the first of them is
// summed, so that their misses overlap.  On return (k, v) is the last
// run read.
#define FOLD_AHEAD 16
static inline __attribute__((always_inline)) int
fold_leaf_at(scan_walk *w, store_leaf *lf, MDB_val *k, MDB_val *v, int *step,
    size_t koff)
{
	MDB_val kk[FOLD_AHEAD], vv[FOLD_AHEAD];
	MDB_val ck = *k, cv = *v; // kept in registers, not in the caller's
	fold_state st;
	int rv = 0;

	fold_load(&st, w);
	*step = 0;
	for (;;) {
		size_t n = 0;
		for (;;) {
			kk[n] = ck;
			vv[n++] = cv;
			if (cv.mv_size == sizeof(run_packed)) {
				uint32_t key;
				memcpy(&key,
				    (const uint8_t *) cv.mv_data + koff,
				    sizeof(key));
				if (st.via != NULL) {
					if (key < st.nvia) {
						__builtin_prefetch(
						    &st.via[key]);
					}
				} else if (key < st.nslot) {
					__builtin_prefetch(&st.slot[key]);
				}
			}
			if (n == FOLD_AHEAD
			    || (*step = store_leaf_next(lf, &ck, &cv)) != 0) {
				break;
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (fold_one(&st, &kk[i], &vv[i], koff) != 0
			    && ((rv = fold_slow(w, &st, &kk[i], &vv[i])) != 0
			        || w->done)) {
				break;
			}
		}
		if (rv != 0 || w->done || *step != 0
		    || (*step = store_leaf_next(lf, &ck, &cv)) != 0) {
			w->fold->runs += st.runs;
			*k = ck;
			*v = cv;
			return (rv);
		}
	}
}

static int
fold_leaf(scan_walk *w, store_leaf *lf, MDB_val *k, MDB_val *v, int *step)
{
	switch (w->fold->by) {
	case STORE_FOLD_METASET:
		return (fold_leaf_at(
		    w, lf, k, v, step, offsetof(run_packed, metaset)));
#define FOLD_FIELD(id, name, field, src)                                      \
	case REPORT_BY_##id:                                                  \
		return (fold_leaf_at(                                         \
		    w, lf, k, v, step, offsetof(run_packed, field)));
		REPORT_DIM_MAP(FOLD_FIELD)
#undef FOLD_FIELD
	}
	return (LLMCOST_EINVAL);
}

// The key offset of a walk that sums by f->by in a packed record.
static size_t
fold_koff(const store_fold *f)
{
	switch (f->by) {
#define FOLD_OFF(id, name, field, src)                                        \
	case REPORT_BY_##id:                                                  \
		return (offsetof(run_packed, field));
		REPORT_DIM_MAP(FOLD_OFF)
#undef FOLD_OFF
	default:
		return (offsetof(run_packed, metaset));
	}
}

// One run of a walk: summed, or to the batch.
static inline int
walk_put(scan_walk *w, const MDB_val *k, const MDB_val *v)
{
	return (w->fold != NULL ? fold_put(w, k, v, fold_koff(w->fold))
	                        : scan_put(w, k, v));
}

// Sets key to the smallest 16-byte key after it; 0 when there is none.
static int
key_after(uint8_t key[16])
{
	for (int i = 15; i >= 0; i--) {
		if (++key[i] != 0) {
			return (1);
		}
	}
	return (0);
}

// Walks the runs of the window.  The cursor finds the window's first run;
// from there the table's pages are read in place (store_leaf.h), with no
// call per run and the next pages fetched ahead, or, when they do not
// read as expected, the cursor walks on with MDB_NEXT.
static int
scan_runs(store_rtxn *t, uint64_t from_ns, uint64_t to_ns, unsigned what,
    store_fold *fold, store_run_batch_fn fn, void *arg)
{
	MDB_cursor *cur;
	uint8_t kb[16] = { 0 }, next[16];
	MDB_val k = { sizeof(kb), kb }, v;
	int rc, rv = 0;
	scan_walk w = { .from_ns = from_ns,
		.to_ns = to_ns,
		.side = { NULL, NULL },
		.src = { MDB_NOTFOUND, MDB_NOTFOUND },
		.fn = fn,
		.arg = arg,
		.fold = fold,
		.ex_hi = UINT64_MAX,
		.ex_lo = UINT64_MAX };

	if (from_ns >= to_ns) {
		return (0);
	}
	// Ids carry the start time truncated to the millisecond: runs that
	// started in the range have ids in [from_ms, end_ms) and are then
	// checked against the exact range.
	uint64_t from_ms = from_ns / 1000000u;
	w.end_ms = (to_ns - 1) / 1000000u + 1;
	for (int i = 0; i < 6; i++) {
		kb[i] = (uint8_t) (from_ms >> (40 - 8 * i));
	}
	if ((w.b = malloc(sizeof(*w.b))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	// The side tables, when asked for and present, positioned at the
	// window's first key.
	const int want[2] = { (what & STORE_SCAN_EXTRAS) && t->s->has_extras,
		(what & STORE_SCAN_TRACES) && t->s->has_traces };
	const MDB_dbi dbi[2] = { t->s->extras, t->s->traces };
	for (int i = 0; i < 2; i++) {
		if (!want[i]) {
			continue;
		}
		if (mdb_cursor_open(t->txn, dbi[i], &w.side[i]) != 0) {
			for (int j = 0; j < i; j++) {
				mdb_cursor_close(w.side[j]);
			}
			free(w.b);
			return (LLMCOST_ESTORE);
		}
		w.sk[i].mv_size = sizeof(kb);
		w.sk[i].mv_data = kb;
		w.src[i] = mdb_cursor_get(
		    w.side[i], &w.sk[i], &w.sv[i], MDB_SET_RANGE);
	}
	if (w.side[0] != NULL) {
		fold_side(&w);
	}
	if ((rc = mdb_cursor_open(t->txn, t->s->runs, &cur)) != 0) {
		rv = LLMCOST_ESTORE;
		goto out;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	store_leaf lf;
	if (rc == 0
	    && store_leaf_begin(
	           &lf, t->s->env, t->txn, "runs", &k, &v, &t->leaf_map)
	        == 0) {
		int step = 0;
		if (fold != NULL) {
			rv = fold_leaf(&w, &lf, &k, &v, &step);
		} else {
			do {
				rv = scan_put(&w, &k, &v);
			} while (rv == 0 && !w.done
			    && (step = store_leaf_next(&lf, &k, &v)) == 0);
		}
		if (rv == 0 && !w.done && step > 0) {
			rc = MDB_NOTFOUND;
		} else if (rv == 0 && !w.done) {
			// A page that is not as expected: the cursor goes on
			// from the first key after the last run read.
			if (k.mv_size != sizeof(next)) {
				rv = LLMCOST_ESTORE;
			} else {
				memcpy(next, k.mv_data, sizeof(next));
				k.mv_data = next;
				rc = key_after(next) ? mdb_cursor_get(
				         cur, &k, &v, MDB_SET_RANGE)
				                     : MDB_NOTFOUND;
			}
		}
	}
	while (rc == 0 && rv == 0 && !w.done) {
		if ((rv = walk_put(&w, &k, &v)) == 0 && !w.done) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
	}
	if (rv == 0 && w.n > 0 && (rc == 0 || rc == MDB_NOTFOUND)) {
		rv = fn(arg, w.b->it, w.n);
	}
	rv = walk_end(cur, rc, rv);
out:
	for (int i = 0; i < 2; i++) {
		if (w.side[i] != NULL) {
			if (rv == 0 && w.src[i] != 0
			    && w.src[i] != MDB_NOTFOUND) {
				rv = LLMCOST_ESTORE;
			}
			mdb_cursor_close(w.side[i]);
		}
	}
	free(w.b);
	return (rv);
}

int
store_scan_batch(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    unsigned what, store_run_batch_fn fn, void *arg)
{
	if (t == NULL || fn == NULL) {
		return (LLMCOST_EINVAL);
	}
	return (scan_runs(t, from_ns, to_ns, what, NULL, fn, arg));
}

int
store_scan_fold(store_rtxn *t, uint64_t from_ns, uint64_t to_ns, unsigned what,
    store_fold *f, store_run_batch_fn fn, void *arg)
{
	if (t == NULL || f == NULL || fn == NULL
	    || (what & STORE_SCAN_TRACES) != 0
	    || (f->by != STORE_FOLD_METASET
	        && (f->by < 0 || f->by >= REPORT_DIM_COUNT))) {
		return (LLMCOST_EINVAL);
	}
	fold_order(f->sum, f->nsum, 1);
	int rv = scan_runs(t, from_ns, to_ns, what, f, fn, arg);
	fold_order(f->sum, f->nsum, 0);
	return (rv);
}

// store_scan and store_scan_ex: the batches handed on run by run.
typedef struct scan_one {
	store_run_ex_fn fn;
	store_run_fn plain;
	void *arg;
} scan_one;

static int
scan_one_batch(void *arg, const store_scan_item *it, size_t n)
{
	const scan_one *o = arg;
	int rv = 0;
	for (size_t i = 0; i < n && rv == 0; i++) {
		rv = o->plain != NULL ? o->plain(o->arg, it[i].id, &it[i].run)
		                      : o->fn(o->arg, it[i].id, &it[i].run,
		                          it[i].ex, it[i].trace);
	}
	return (rv);
}

int
store_scan_ex(store_rtxn *t, uint64_t from_ns, uint64_t to_ns, unsigned what,
    store_run_ex_fn fn, void *arg)
{
	scan_one o = { fn, NULL, arg };
	if (t == NULL || fn == NULL) {
		return (LLMCOST_EINVAL);
	}
	return (scan_runs(t, from_ns, to_ns, what, NULL, scan_one_batch, &o));
}

int
store_scan(store_rtxn *t, uint64_t from_ns, uint64_t to_ns, store_run_fn fn,
    void *arg)
{
	scan_one o = { NULL, fn, arg };
	if (t == NULL || fn == NULL) {
		return (LLMCOST_EINVAL);
	}
	return (scan_runs(t, from_ns, to_ns, 0, NULL, scan_one_batch, &o));
}

int
store_metaset(store_rtxn *t, uint32_t id, const uint8_t **blob, size_t *len)
{
	MDB_val k = { sizeof(id), &id }, v;
	if (id == 0
	    || (t->ms_cur == NULL
	        && mdb_cursor_open(t->txn, t->s->metasets, &t->ms_cur) != 0)
	    || mdb_cursor_get(t->ms_cur, &k, &v, MDB_SET) != 0
	    || v.mv_size < 2) {
		return (LLMCOST_ENOTFOUND);
	}
	*blob = v.mv_data;
	*len = v.mv_size;
	return (0);
}

// One set of store_metaset_walk, handed to fn.
static int
metaset_put(const MDB_val *k, const MDB_val *v, store_metaset_fn fn, void *arg)
{
	uint32_t id;
	if (k->mv_size != sizeof(id)) {
		return (LLMCOST_ESTORE);
	}
	memcpy(&id, k->mv_data, sizeof(id));
	return (fn(arg, id, v->mv_data, v->mv_size < 2 ? 0 : v->mv_size));
}

int
store_metaset_walk(
    store_rtxn *t, uint32_t from, store_metaset_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k = { sizeof(from), &from }, v;
	int rc, rv = 0;

	if (t == NULL || fn == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (mdb_cursor_open(t->txn, t->s->metasets, &cur) != 0) {
		return (LLMCOST_ESTORE);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	// As the runs: the table's pages read in place while they read as
	// expected, then the cursor from the set after the last one read.
	store_leaf lf;
	if (rc == 0
	    && store_leaf_begin(
	           &lf, t->s->env, t->txn, "metasets", &k, &v, &t->leaf_map)
	        == 0) {
		int step = 0;
		do {
			rv = metaset_put(&k, &v, fn, arg);
		} while (
		    rv == 0 && (step = store_leaf_next(&lf, &k, &v)) == 0);
		if (rv == 0 && step > 0) {
			rc = MDB_NOTFOUND;
		} else if (rv == 0) {
			memcpy(&from, k.mv_data, sizeof(from));
			k.mv_size = sizeof(from);
			k.mv_data = &from;
			rc = ++from != 0
			    ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
			    : MDB_NOTFOUND;
		}
	}
	while (rc == 0 && rv == 0) {
		if ((rv = metaset_put(&k, &v, fn, arg)) == 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
	}
	return (walk_end(cur, rc, rv));
}

int
store_metaset_count(store_rtxn *t, uint64_t *out)
{
	MDB_stat st;
	if (t == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (mdb_stat(t->txn, t->s->metasets, &st) != 0) {
		return (LLMCOST_ESTORE);
	}
	*out = st.ms_entries;
	return (0);
}

int
store_string(store_rtxn *t, uint32_t id, const char **s, size_t *len)
{
	MDB_val k = { sizeof(id), &id }, v;
	if (id == 0 || mdb_get(t->txn, t->s->id2str, &k, &v) != 0) {
		return (LLMCOST_ENOTFOUND);
	}
	*s = v.mv_data;
	*len = v.mv_size;
	return (0);
}

static int sum_hours(store_rtxn *t, MDB_dbi dbi, uint32_t from_hour,
    uint32_t to_hour, uint64_t *out);

int
store_drops(store_rtxn *t, uint32_t from_hour, uint32_t to_hour, uint64_t *out)
{
	return (sum_hours(t, t->s->drops, from_hour, to_hour, out));
}

int
store_exporter_drops(
    store_rtxn *t, uint32_t from_hour, uint32_t to_hour, uint64_t *out)
{
	if (!t->s->has_ls) {
		return (LLMCOST_ENOTFOUND);
	}
	return (sum_hours(t, t->s->ls_drops, from_hour, to_hour, out));
}

// The sum of the u64 values of hours [from_hour, to_hour) of dbi.
static int
sum_hours(store_rtxn *t, MDB_dbi dbi, uint32_t from_hour, uint32_t to_hour,
    uint64_t *out)
{
	MDB_cursor *cur;
	uint8_t kb[4];
	MDB_val k = { 4, kb }, v;
	uint64_t total = 0;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
		return (LLMCOST_ESTORE);
	}
	put_be32(kb, from_hour);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == 4 && get_be32(k.mv_data) < to_hour) {
		uint64_t n;
		if (v.mv_size == sizeof(n)) {
			memcpy(&n, v.mv_data, sizeof(n));
			total += n;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	*out = total;
	return (0);
}

int
store_get_run(store_rtxn *t, const uint8_t id[16], store_run *out)
{
	MDB_val k = { 16, (void *) id }, v;
	if (mdb_get(t->txn, t->s->runs, &k, &v) != 0
	    || run_decode(id, &v, out) != 0) {
		return (LLMCOST_ENOTFOUND);
	}
	return (0);
}

int
store_get_trace(store_rtxn *t, const uint8_t id[16], uint8_t trace_id[16],
    uint8_t parent_run_id[16])
{
	MDB_val k = { 16, (void *) id }, v;
	if (!t->s->has_traces || mdb_get(t->txn, t->s->traces, &k, &v) != 0
	    || v.mv_size != 32) {
		return (LLMCOST_ENOTFOUND);
	}
	memcpy(trace_id, v.mv_data, 16);
	memcpy(parent_run_id, (const uint8_t *) v.mv_data + 16, 16);
	return (0);
}

int
store_count_runs(store_rtxn *t, uint64_t *out)
{
	MDB_stat st;
	if (mdb_stat(t->txn, t->s->runs, &st) != 0) {
		return (LLMCOST_ESTORE);
	}
	*out = st.ms_entries;
	return (0);
}

int
store_get_extras(store_rtxn *t, const uint8_t id[16], store_extras *out)
{
	MDB_val k = { 16, (void *) id }, v;
	if (!t->s->has_extras || mdb_get(t->txn, t->s->extras, &k, &v) != 0
	    || (v.mv_size != sizeof(*out)
	        && v.mv_size != STORE_EXTRAS_V1_SIZE)) {
		return (LLMCOST_ENOTFOUND);
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, v.mv_data, v.mv_size);
	return (0);
}

int
store_count_extras(store_rtxn *t, uint64_t *out)
{
	MDB_stat st;
	if (!t->s->has_extras) {
		*out = 0;
		return (0);
	}
	if (mdb_stat(t->txn, t->s->extras, &st) != 0) {
		return (LLMCOST_ESTORE);
	}
	*out = st.ms_entries;
	return (0);
}

int
store_used_bytes(store_rtxn *t, uint64_t *out)
{
	MDB_envinfo info;
	MDB_stat st;

	if (t == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (mdb_env_info(t->s->env, &info) != 0
	    || mdb_env_stat(t->s->env, &st) != 0) {
		return (LLMCOST_ESTORE);
	}
	*out = ((uint64_t) info.me_last_pgno + 1) * st.ms_psize;
	return (0);
}

// ---- maintenance ----

#define INFO_PRUNED    "pruned_before"
#define MAINT_TXN_RUNS 10000u
#define NS_PER_MS      UINT64_C(1000000)
#define INFO_KEY(name)                                                        \
	{                                                                     \
		sizeof(name) - 1, (void *) (name)                             \
	}

static int
get_pruned(MDB_txn *txn, const store *s, uint64_t *out)
{
	MDB_val k = INFO_KEY(INFO_PRUNED), v;
	int rc = mdb_get(txn, s->info, &k, &v);

	*out = 0;
	if (rc == MDB_NOTFOUND) {
		return (0);
	}
	if (rc == 0 && v.mv_size != sizeof(*out)) {
		return (MDB_CORRUPTED);
	}
	if (rc == 0) {
		memcpy(out, v.mv_data, sizeof(*out));
	}
	return (rc);
}

int
store_pruned_before(store_rtxn *t, uint64_t *out)
{
	if (t == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	return (get_pruned(t->txn, t->s, out) != 0 ? LLMCOST_ESTORE : 0);
}

// Records that runs before cut_ns may be gone (the later of the cut and
// the one already recorded).
static int
mark_pruned(MDB_txn *txn, const store *s, uint64_t cut_ns)
{
	MDB_val k = INFO_KEY(INFO_PRUNED), v = { sizeof(cut_ns), &cut_ns };
	uint64_t old;
	int rc;

	if ((rc = get_pruned(txn, s, &old)) != 0 || old >= cut_ns) {
		return (rc);
	}
	return (mdb_put(txn, s->info, &k, &v, 0));
}

// One transaction of a prune: deletes up to max runs before cut_ms (the
// first keys of runs), with their extras and traces.  *left is set when
// runs before the cut remain.
static int
prune_txn(MDB_txn *txn, const store *s, uint64_t cut_ms, uint32_t max,
    uint32_t *n, int *left)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	*left = 0;
	if ((rc = mdb_cursor_open(txn, s->runs, &cur)) != 0) {
		return (rc);
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		uint8_t id[16];
		if (k.mv_size != sizeof(id)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (id_ms(k.mv_data) >= cut_ms) {
			break;
		}
		if (*n == max) {
			*left = 1;
			break;
		}
		memcpy(id, k.mv_data, sizeof(id));
		if ((rc = mdb_cursor_del(cur, 0)) != 0) {
			break;
		}
		MDB_val ik = { sizeof(id), id };
		rc = mdb_del(txn, s->extras, &ik, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND) {
			rc = mdb_del(txn, s->traces, &ik, NULL);
		}
		if (rc != 0 && rc != MDB_NOTFOUND) {
			break;
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	return (rc == MDB_NOTFOUND ? 0 : rc);
}

int
store_prune(store *s, uint64_t before_ns, uint32_t txn_runs, uint32_t max_txns,
    uint64_t *pruned, int *more, char *err, size_t errsz)
{
	uint64_t cut_ms = before_ns / NS_PER_MS, total = 0;
	int left = 0, rc = 0, grown = 0;
	const char *where = "";

	if (s == NULL || (s->flags & STORE_RDONLY)) {
		return (LLMCOST_EINVAL);
	}
	if (txn_runs == 0) {
		txn_runs = MAINT_TXN_RUNS;
	}
	for (uint32_t i = 0; max_txns == 0 || i < max_txns; i++) {
		MDB_txn *txn;
		uint32_t n;
		where = "begin";
		if ((rc = wtxn_begin(s, &txn)) != 0) {
			break;
		}
		// The cut is recorded before any run goes, in the
		// transaction that deletes the first of them.
		where = "prune";
		if ((total > 0
		        || (rc = mark_pruned(txn, s, cut_ms * NS_PER_MS)) == 0)
		    && (rc = prune_txn(txn, s, cut_ms, txn_runs, &n, &left))
		        == 0) {
			where = "commit";
			rc = mdb_txn_commit(txn);
		} else {
			mdb_txn_abort(txn);
		}
		if (rc == MDB_MAP_FULL && grown < 4 && map_grow(s) == 0) {
			grown++;
			i--; // this transaction again
			continue;
		}
		if (rc != 0) {
			break;
		}
		total += n;
		if (!left) {
			break;
		}
	}
	if (pruned != NULL) {
		*pruned = total;
	}
	if (more != NULL) {
		*more = rc != 0 || left;
	}
	if (rc != 0) {
		s->last_fault = store_fault_of(rc, s->dir);
		return (errf(err, errsz, where, rc));
	}
	return (0);
}

// The record of run in the version it was read from (a reprice changes
// only cost, price entry and flags, which fit either).
static size_t
run_encode_as(const uint8_t *id, const store_run *run, uint8_t *buf)
{
	if (run->version == RUN_WIDE) {
		store_run w = *run;
		memcpy(buf, &w, sizeof(w));
		return (sizeof(w));
	}
	return (run_encode(id, run, buf));
}

static int
is_unpriced(uint8_t flags)
{
	return ((flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) != 0);
}

// The state of a reprice between its transactions.
typedef struct reprice_ctx {
	store *s;
	const store_reprice_opts *o;
	MDB_txn *txn;
	struct ru_pending *ru; // RU_PENDING entries
	uint32_t ru_n;
	store_reprice_item *items; // o->txn_runs entries
	size_t n_items;
	uint32_t pv_hour; // the last hour pricevers_reprice noted, + 1
} reprice_ctx;

static int pricevers_reprice(reprice_ctx *c, uint64_t start_ns);

// The string of interned id (ptr into the map: valid until the next
// write in txn), or NULL, 0 for id 0 or an unknown id.
static void
id_string(
    MDB_txn *txn, const store *s, uint32_t id, const char **str, size_t *len)
{
	MDB_val k = { sizeof(id), &id }, v;

	*str = NULL;
	*len = 0;
	if (id != 0 && mdb_get(txn, s->id2str, &k, &v) == 0) {
		*str = v.mv_data;
		*len = v.mv_size;
	}
}

// Reprices one run within the window: the cursor's, stored under id.
static int
reprice_run(reprice_ctx *c, MDB_cursor *cur, const uint8_t id[16],
    const store_run *run)
{
	MDB_txn *txn = c->txn;
	store_extras ex;
	store_reprice_call call;
	store_cost nc;
	MDB_val k = { 16, (void *) id }, sv;
	size_t ex_size = 0; // as stored: a version 1 record stays one
	int rc, has_ex = 0;

	memset(&call, 0, sizeof(call));
	id_string(
	    txn, c->s, run->provider, &call.provider, &call.provider_len);
	id_string(txn, c->s, run->model, &call.model, &call.model_len);
	if (c->s->has_extras) {
		rc = mdb_get(txn, c->s->extras, &k, &sv);
		if (rc == 0
		    && (sv.mv_size == sizeof(ex)
		        || sv.mv_size == STORE_EXTRAS_V1_SIZE)) {
			memset(&ex, 0, sizeof(ex));
			memcpy(&ex, sv.mv_data, sv.mv_size);
			ex_size = sv.mv_size;
			has_ex = 1;
		} else if (rc != MDB_NOTFOUND) {
			return (rc != 0 ? rc : MDB_CORRUPTED);
		}
	}
	call.run = run;
	call.extras = has_ex ? &ex : NULL;
	memset(&nc, 0, sizeof(nc));
	c->o->price(c->o->price_arg, &call, &nc);

	store_reprice_item *it = &c->items[c->n_items++];
	it->feature = run->feature;
	it->model = run->model;
	it->old_flags = run->flags;
	it->new_flags = nc.flags;
	it->old_cost = run->cost_pusd;
	it->new_cost = nc.cost_pusd;

	int fee_changed = has_ex && ex.fee_cost_pusd != nc.fee_cost_pusd;
	if (c->o->dry_run
	    || (nc.cost_pusd == run->cost_pusd && nc.price_id == run->price_id
	        && nc.flags == run->flags && !fee_changed)) {
		return (0);
	}
	store_run nr = *run;
	uint8_t rec[sizeof(store_run)];
	nr.cost_pusd = nc.cost_pusd;
	nr.price_id = nc.price_id;
	nr.flags = nc.flags;
	MDB_val nv = { run_encode_as(id, &nr, rec), rec };
	if ((rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT)) != 0) {
		return (rc);
	}
	store_rollup *d;
	uint8_t kb[RKEY_SIZE];
	rkey_of(run, kb);
	if ((rc = pending_sum(txn, c->s, c->ru, &c->ru_n, kb, &d)) != 0) {
		return (rc);
	}
	sum128_add(&d->cost_lo, &d->cost_hi,
	    (store_i128) nc.cost_pusd - run->cost_pusd);
	d->unpriced_calls
	    += (uint64_t) (is_unpriced(nc.flags) - is_unpriced(run->flags));
	if (fee_changed) {
		sum128_add(&d->fee_cost_lo, &d->fee_cost_hi,
		    (store_i128) nc.fee_cost_pusd - ex.fee_cost_pusd);
		ex.fee_cost_pusd = nc.fee_cost_pusd;
		MDB_val ev = { ex_size, &ex };
		if ((rc = mdb_put(txn, c->s->extras, &k, &ev, 0)) != 0) {
			return (rc);
		}
	}
	return (0);
}

// One transaction of a reprice, from run id pos: up to o->txn_runs runs
// visited.  *done is set when the window's end was reached, else pos is
// the next id to visit.
static int
reprice_txn(reprice_ctx *c, const uint8_t pos[16], uint8_t next[16],
    uint64_t end_ms, int *done)
{
	const store_reprice_opts *o = c->o;
	MDB_cursor *cur;
	MDB_val k = { 16, (void *) pos }, v;
	uint32_t visited = 0;
	int rc;

	*done = 1;
	c->n_items = 0;
	c->ru_n = 0;
	c->pv_hour = 0;
	memset(c->ru, 0, RU_PENDING * sizeof(*c->ru));
	if ((rc = mdb_cursor_open(c->txn, c->s->runs, &cur)) != 0) {
		return (rc);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		uint8_t id[16];
		store_run run;
		if (k.mv_size != 16 || run_decode(k.mv_data, &v, &run) != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (id_ms(k.mv_data) >= end_ms) {
			break;
		}
		memcpy(id, k.mv_data, sizeof(id));
		if (visited == o->txn_runs) {
			memcpy(next, id, sizeof(id));
			*done = 0;
			break;
		}
		visited++;
		if (run.start_ns >= o->from_ns && run.start_ns < o->to_ns
		    && ((rc = reprice_run(c, cur, id, &run)) != 0
		        || (rc = pricevers_reprice(c, run.start_ns)) != 0)) {
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		rc = 0;
	}
	if (rc == 0 && !o->dry_run) {
		rc = pending_flush(c->txn, c->s, c->ru, &c->ru_n);
	}
	return (rc);
}

// ---- price-table versions ----
//
// "pricevers": an LMDB table with sorted duplicates, key the be32 hour of
// the runs' start, values the versions (prices_table_version, at most
// STORE_PVER_LEN bytes) of the tables that priced runs of that hour.  It
// came without a schema change: a writer creates it when it opens the
// store; a read-only open of an older store has none, and every hour
// of such a store (or of an upgraded one, for runs written before it)
// reads as unknown.

#define NS_PER_HOUR UINT64_C(3600000000000)

static int
pricevers_open(MDB_txn *txn, store *s, int rdonly)
{
	unsigned f = MDB_DUPSORT | (rdonly ? 0 : MDB_CREATE);
	int rc = mdb_dbi_open(txn, "pricevers", f, &s->pricevers);
	if (rc == 0) {
		s->has_pricevers = 1;
	} else if (rdonly && rc == MDB_NOTFOUND) {
		rc = 0;
	}
	return (rc);
}

// Adds ver to hour's set; replace: drops the hour's other versions first.
static int
pricevers_put(
    MDB_txn *txn, const store *s, uint32_t hour, const char *ver, int replace)
{
	uint8_t kb[4];
	size_t len = strnlen(ver, STORE_PVER_LEN + 1);
	if (len == 0 || len > STORE_PVER_LEN) {
		return (0); // no version to record
	}
	put_be32(kb, hour);
	MDB_val k = { sizeof(kb), kb }, v = { len, (void *) ver };
	if (replace) {
		int rc = mdb_del(txn, s->pricevers, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			return (rc);
		}
	}
	// Most writes find their hour's version there already.  Looked up
	// first: a put that finds it (MDB_NODUPDATA) has copied the table's
	// pages into the transaction before it says so, and the commit
	// would write them out again unchanged.
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, s->pricevers, &cur);
	if (rc != 0) {
		return (rc);
	}
	MDB_val fk = k, fv = v;
	rc = mdb_cursor_get(cur, &fk, &fv, MDB_GET_BOTH);
	mdb_cursor_close(cur);
	if (rc == 0) {
		return (0);
	}
	if (rc != MDB_NOTFOUND) {
		return (rc);
	}
	rc = mdb_put(txn, s->pricevers, &k, &v, MDB_NODUPDATA);
	return (rc == MDB_KEYEXIST ? 0 : rc);
}

// The write path: each batch's version for the hours of its records.
static int
pricevers_note_batches(MDB_txn *txn, store *s, const store_batch *b, size_t n)
{
	int rc = 0;
	if (!s->has_pricevers) {
		return (0);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const llmcost_proto_batch *pb = b[i].batch;
		uint32_t last = 0;
		if (b[i].price_version == NULL) {
			continue;
		}
		for (uint32_t j = 0; rc == 0 && j < pb->n_records; j++) {
			uint32_t h = (uint32_t) (pb->records[j].start_ns
			    / NS_PER_HOUR);
			if (h + 1 != last) {
				rc = pricevers_put(
				    txn, s, h, b[i].price_version, 0);
				last = h + 1;
			}
		}
	}
	return (rc);
}

// Reprice: the run starting at start_ns was priced again by the
// reprice's table.  An hour wholly inside the window has only that
// version now; an hour the window cuts keeps its others too.
static int
pricevers_reprice(reprice_ctx *c, uint64_t start_ns)
{
	const store_reprice_opts *o = c->o;
	uint32_t h = (uint32_t) (start_ns / NS_PER_HOUR);
	if (o->dry_run || o->price_version == NULL || !c->s->has_pricevers
	    || c->pv_hour == h + 1) {
		return (0);
	}
	uint64_t h0 = (uint64_t) h * NS_PER_HOUR;
	int whole = h0 >= o->from_ns && h0 + NS_PER_HOUR <= o->to_ns;
	c->pv_hour = h + 1;
	return (pricevers_put(c->txn, c->s, h, o->price_version, whole));
}

int
store_price_versions(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    store_pvers *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	if (from_ns >= to_ns) {
		return (0);
	}
	if (!t->s->has_pricevers) {
		out->unknown = 1;
		return (0);
	}
	uint32_t first = (uint32_t) (from_ns / NS_PER_HOUR);
	uint32_t last = (uint32_t) ((to_ns - 1) / NS_PER_HOUR);
	uint32_t earliest = UINT32_MAX; // the first hour with a record
	MDB_cursor *pc = NULL;
	uint8_t kb[4];
	MDB_val k, v;
	int rc = mdb_cursor_open(t->txn, t->s->pricevers, &pc);
	if (rc == 0) {
		rc = mdb_cursor_get(pc, &k, &v, MDB_FIRST);
		if (rc == 0) {
			earliest = get_be32(k.mv_data);
		}
	}
	// The versions of the window's hours: every value of every key in
	// [first, last].
	if (rc == 0) {
		put_be32(kb, first);
		k = (MDB_val) { sizeof(kb), kb };
		rc = mdb_cursor_get(pc, &k, &v, MDB_SET_RANGE);
	}
	while (rc == 0 && get_be32(k.mv_data) <= last) {
		size_t i, len = v.mv_size;
		for (i = 0; i < out->n; i++) {
			if (strlen(out->v[i]) == len
			    && memcmp(out->v[i], v.mv_data, len) == 0) {
				break;
			}
		}
		if (i == out->n && len <= STORE_PVER_LEN) {
			if (out->n < STORE_PVERS_MAX) {
				memcpy(out->v[out->n], v.mv_data, len);
				out->v[out->n][len] = '\0';
				out->n++;
			} else {
				out->more = 1;
			}
		}
		rc = mdb_cursor_get(pc, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(pc);
	// Unknown: runs (an hourly rollup) in the window before the first
	// recorded hour, or anywhere in it when nothing is recorded there.
	if (rc == 0 || rc == MDB_NOTFOUND) {
		uint32_t upto = out->n == 0 ? last
		    : earliest == 0         ? 0
		                            : earliest - 1;
		rc = 0;
		if (out->n == 0 || first < earliest) {
			MDB_cursor *rcur = NULL;
			rc = mdb_cursor_open(t->txn, t->s->rollups, &rcur);
			if (rc == 0) {
				put_be32(kb, first);
				k = (MDB_val) { sizeof(kb), kb };
				rc = mdb_cursor_get(
				    rcur, &k, &v, MDB_SET_RANGE);
				if (rc == 0 && get_be32(k.mv_data) <= last
				    && get_be32(k.mv_data) <= upto) {
					out->unknown = 1;
				}
				mdb_cursor_close(rcur);
			}
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return (errf(err, errsz, "price versions", rc));
	}
	// Sorted, so that the same store always reads the same.
	for (uint32_t i = 1; i < out->n; i++) {
		for (uint32_t j = i;
		     j > 0 && strcmp(out->v[j - 1], out->v[j]) > 0; j--) {
			char tmp[STORE_PVER_LEN + 1];
			memcpy(tmp, out->v[j], sizeof(tmp));
			memcpy(out->v[j], out->v[j - 1], sizeof(tmp));
			memcpy(out->v[j - 1], tmp, sizeof(tmp));
		}
	}
	return (0);
}

int
store_reprice(store *s, const store_reprice_opts *o, char *err, size_t errsz)
{
	store_reprice_opts opts;
	reprice_ctx c;
	uint8_t pos[16] = { 0 };
	int rc = 0, rv = 0, done = 0, grown = 0;
	const char *where = "";

	if (s == NULL || o == NULL || o->price == NULL
	    || (!o->dry_run && (s->flags & STORE_RDONLY))) {
		return (LLMCOST_EINVAL);
	}
	if (o->from_ns >= o->to_ns) {
		return (0);
	}
	opts = *o;
	if (opts.txn_runs == 0) {
		opts.txn_runs = MAINT_TXN_RUNS;
	}
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.o = &opts;
	c.ru = calloc(RU_PENDING, sizeof(*c.ru));
	c.items = calloc(opts.txn_runs, sizeof(*c.items));
	if (c.ru == NULL || c.items == NULL) {
		free(c.ru);
		free(c.items);
		return (LLMCOST_ENOMEM);
	}
	uint64_t from_ms = o->from_ns / NS_PER_MS;
	uint64_t end_ms = (o->to_ns - 1) / NS_PER_MS + 1;
	for (int i = 0; i < 6; i++) {
		pos[i] = (uint8_t) (from_ms >> (40 - 8 * i));
	}
	while (!done) {
		uint8_t next[16];
		memcpy(next, pos, sizeof(next));
		where = "begin";
		if (opts.dry_run) {
			rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &c.txn);
			if (rc == MDB_MAP_RESIZED) {
				mdb_env_set_mapsize(s->env, 0);
				rc = mdb_txn_begin(
				    s->env, NULL, MDB_RDONLY, &c.txn);
			}
		} else {
			rc = wtxn_begin(s, &c.txn);
		}
		if (rc != 0) {
			break;
		}
		where = "reprice";
		if ((rc = reprice_txn(&c, pos, next, end_ms, &done)) != 0
		    || opts.dry_run) {
			mdb_txn_abort(c.txn);
		} else {
			where = "commit";
			rc = mdb_txn_commit(c.txn);
		}
		if (rc == MDB_MAP_FULL && grown < 4 && map_grow(s) == 0) {
			grown++;
			done = 0;
			continue; // this transaction again, from pos
		}
		if (rc != 0) {
			break;
		}
		memcpy(pos, next, sizeof(pos));
		if (opts.done != NULL
		    && (rv = opts.done(opts.done_arg, c.items, c.n_items))
		        != 0) {
			break;
		}
	}
	free(c.ru);
	free(c.items);
	if (rc != 0) {
		return (errf(err, errsz, where, rc));
	}
	return (rv);
}
