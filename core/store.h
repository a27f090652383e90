// The collector's LMDB store: runs keyed by run id, interned strings and
// metadata sets, hourly rollups, per-client delivery state.  One writer
// (llmcostd's writer thread); any number of read-only readers, in the
// daemon or in other processes (the CLI).  docs/store.md has the layout.
#ifndef LLMCOSTD_STORE_H
#define LLMCOSTD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost.h"
#include "llmcost_proto.h"

#define STORE_SCHEMA 1

// Run flags.
#define STORE_RUN_UNPRICED 0x01u // some usage had no price: cost is partial
#define STORE_RUN_OVERFLOW 0x02u // cost overflowed int64: cost is 0

// The fixed-layout value stored per run (native byte order; LMDB files
// are not portable across byte orders anyway).  Reports scan these
// directly: no decoding.  Fields are only ever appended, with version.
typedef struct store_run {
	uint16_t version;  // 1
	uint8_t status;    // llmcost_status
	uint8_t flags;     // STORE_RUN_*
	uint32_t price_id; // price entry used; 0 = none
	uint64_t start_ns;
	uint64_t duration_ns;
	uint64_t ingest_ns; // when the collector committed it
	uint32_t provider;  // interned string ids; 0 = absent
	uint32_t model;
	uint32_t feature;
	uint32_t env;
	uint32_t metaset; // interned metadata + tags; 0 = none
	uint32_t reserved;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	int64_t cost_pusd;
} store_run;

// A rollup key: one hour of one (feature, model, env, provider).
typedef struct store_rkey {
	uint32_t hour; // hours since the Unix epoch
	uint32_t feature;
	uint32_t model;
	uint32_t env;
	uint32_t provider;
} store_rkey;

typedef struct store_rollup {
	uint64_t calls;
	uint64_t unpriced_calls;
	uint64_t error_calls; // status != OK
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t cost_lo; // 128-bit two's complement pico-USD sum
	uint64_t cost_hi;
} store_rollup;

typedef struct store store;
typedef struct store_rtxn store_rtxn;

#define STORE_RDONLY 0x1u

// Opens (and for writers creates, mode 0700) the store in dir.
// mapsize 0 = default.  Returns 0, LLMCOST_ENOTFOUND (read-only and no
// store), LLMCOST_ESTORE (details logged into err).
int store_open(store **sp, const char *dir, unsigned flags, uint64_t mapsize,
    char *err, size_t errsz);
void store_close(store *s);

typedef struct store_batch_result {
	uint32_t stored;
	uint32_t duplicates;
} store_batch_result;

// Writes n decoded batches in one transaction: new runs, rollups, strings,
// client state.  Runs already present are counted as duplicates and left
// untouched.  Returns 0 once committed, or LLMCOST_ESTORE with the reason
// in err (nothing written).  Writer thread only.
int store_write(store *s, const llmcost_proto_batch *const *batches, size_t n,
    store_batch_result *results, uint64_t now_ns, char *err, size_t errsz);

// Read transactions.  Pointers returned through them are valid until
// store_read_end.
int store_read_begin(store *s, store_rtxn **tp);
void store_read_end(store_rtxn *t);

typedef int (*store_rollup_fn)(
    void *arg, const store_rkey *k, const store_rollup *v);
// Calls fn for every rollup with from_hour <= hour < to_hour, in key
// order; stops early when fn returns non-zero (and returns that).
int store_scan_rollups(store_rtxn *t, uint32_t from_hour, uint32_t to_hour,
    store_rollup_fn fn, void *arg);
// The string for an interned id.  Returns 0 or LLMCOST_ENOTFOUND.
int store_string(store_rtxn *t, uint32_t id, const char **s, size_t *len);
// Calls dropped by clients, reported in [from_hour, to_hour).
int store_drops(
    store_rtxn *t, uint32_t from_hour, uint32_t to_hour, uint64_t *out);
// One run by id.  Returns 0 or LLMCOST_ENOTFOUND.
int store_get_run(store_rtxn *t, const uint8_t id[16], store_run *out);
// Number of stored runs.
int store_count_runs(store_rtxn *t, uint64_t *out);

// 128-bit helpers for cost sums.
typedef __int128 store_i128;
static inline store_i128
store_rollup_cost(const store_rollup *v)
{
	return ((
	    store_i128) (((unsigned __int128) v->cost_hi << 64) | v->cost_lo));
}

#endif // LLMCOSTD_STORE_H
