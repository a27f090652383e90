// The collector's LMDB store: runs keyed by run id, interned strings and
// metadata sets, hourly rollups, per-client delivery state.  One writer
// (llmcostd's writer thread); any number of read-only readers, in the
// daemon or in other processes (the CLI).  docs/store.md has the layout.
//
// The store prices nothing: a write is given each call's cost (the
// pricing stage, pricing.h, computes it) and stores it as it is.
//
// Threading: a store handle may be shared by threads.  store_write is for
// one thread at a time (LMDB allows one write transaction); a read
// transaction (store_rtxn) is used by one thread at a time, but need not
// stay on the thread that began it.
#ifndef LLMCOST_CORE_STORE_H
#define LLMCOST_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dims.h"
#include "llmcost.h"
#include "llmcost_common.h"
#include "llmcost_proto.h"

// The schema this version writes.  A schema 1 or 2 store is upgraded in
// place when a writer opens it (schema 1: the extras table; schema 2: the
// daily rollups, filled from the hourly ones); readers accept it as it
// is.  Runs keep the record version they were written in.
// docs/store.md has the history.
#define STORE_SCHEMA     3
#define STORE_SCHEMA_MIN 1 // the oldest schema still opened

// LMDB's cap on named tables in the store's environment
// (mdb_env_set_maxdbs).  The store has 14 (runs, rollups, rollups_day,
// str2id, id2str, metasets, msidx, clients, drops, info, traces, extras,
// lsclients, lsdrops); one more than the cap fails every open with
// MDB_DBS_FULL.  The cap is not kept in data.mdb, so raising it changes
// no schema: any version opens any store whatever cap it uses.  32
// leaves room for later tables; a slot costs a few dozen bytes per
// transaction.
#define STORE_MAXDBS 32

// Run flags.
#define STORE_RUN_UNPRICED 0x01u // some usage had no price: cost is partial
#define STORE_RUN_OVERFLOW 0x02u // cost overflowed int64: cost is 0

// A stored run, decoded.  On disk a run is one of two fixed layouts
// (native byte order; LMDB files are not portable across byte orders
// anyway), told apart by their size alone: record version 1, this very
// struct (144 bytes, what schemas 1 and 2 wrote, and what schema 3 still
// writes for the rare run whose values do not fit the packed layout), and
// record version 2, the packed 80-byte layout (docs/store.md) that
// schema 3 writes for every other run.  Readers get this struct either
// way: a scan decodes each record with no branch but the version.
typedef struct store_run {
	uint16_t version;  // the record version it was read from: 1 or 2
	uint8_t status;    // llmcost_status
	uint8_t flags;     // STORE_RUN_*
	uint32_t price_id; // price entry used; 0 = none
	uint64_t start_ns;
	uint64_t duration_ns;
	uint64_t ingest_ns; // when the collector committed it (to the ms
	                    // in a version 2 record)
	uint32_t provider;  // interned string ids; 0 = absent
	uint32_t model;
	uint32_t feature;
	uint32_t env;
	uint32_t metaset; // interned metadata + tags; 0 = none
	uint32_t reserved;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	int64_t cost_pusd;
} store_run;

// A rollup key: one hour of one combination of the roll-up dimensions
// (dims.h), each an interned string id, in table order.
typedef struct store_rkey {
	uint32_t hour; // hours since the Unix epoch
#define STORE__RKEY_FIELD(id, name, field, src) uint32_t field;
	REPORT_DIM_MAP(STORE__RKEY_FIELD)
#undef STORE__RKEY_FIELD
} store_rkey;

// Per-request fee slots kept per run and per rollup: room for fees a
// later version adds (LLMCOST_FEE_MAP) without a new layout.
#define STORE_FEE_SLOTS 4
_Static_assert(LLMCOST_FEE_COUNT <= STORE_FEE_SLOTS, "more fees than slots");

typedef struct store_rollup {
	uint64_t calls;
	uint64_t unpriced_calls;
	uint64_t error_calls; // status != OK
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t cost_lo; // 128-bit two's complement pico-USD sum
	uint64_t cost_hi;
	// Schema 2 (zero in rollups a schema 1 store wrote, which had none
	// of these): the runs' extras (store_extras) summed.
	uint64_t fees[STORE_FEE_SLOTS]; // request counts, llmcost_fee order
	uint64_t fee_cost_lo;           // their cost (part of cost), 128-bit
	uint64_t fee_cost_hi;
	uint64_t provider_cost_calls; // calls that carried a provider cost
	uint64_t provider_cost_lo;    // the sum of those costs, 128-bit
	uint64_t provider_cost_hi;
	uint64_t usage_missing_calls; // LLMCOST_USAGE_MISSING
	uint64_t usage_partial_calls; // LLMCOST_USAGE_PARTIAL (not missing)
} store_rollup;

// "The provider reported no cost" in store_extras.provider_cost_pusd.
#define STORE_NO_PROVIDER_COST INT64_C(-1)

// What a run carries beyond the fixed record, stored in a table of its
// own (keyed by run id) only for the runs that have any of it: fees, the
// provider's own cost, usage flags, a service tier or platform.  Written in the transaction that
// stores the run, and only then, so exactly once.
typedef struct store_extras {
	uint16_t version;     // 2 (1: written before the fields below)
	uint16_t reserved;    // 0
	uint32_t usage_flags; // LLMCOST_USAGE_*, as sent (unknown bits kept)
	uint64_t fees[STORE_FEE_SLOTS]; // request counts, llmcost_fee order
	int64_t fee_cost_pusd;          // their cost: part of the run's cost
	int64_t provider_cost_pusd;     // or STORE_NO_PROVIDER_COST
	// Version 2 (zero when read from a version 1 record): how the call
	// was billed, as sent (record keys 15 and 16), so that a reprice
	// prices it as ingest did (pricing_call).
	uint8_t service_tier; // llmcost_service_tier (unknown numbers kept)
	uint8_t reserved2[7];
	char platform[LLMCOST_MAX_PLATFORM]; // NUL-padded; "" = provider API
} store_extras;
// The size of a version 1 record, which store_get_extras still reads.
#define STORE_EXTRAS_V1_SIZE 56

typedef struct store store;
typedef struct store_rtxn store_rtxn;

// Why the store could not be opened or written, as an operator needs to
// know it: one row per kind of fault, with what is wrong and what to do.
// The daemon counts failed writes per row (store_<name> in its STATS
// reply) and logs a row once per episode.
//
// XX(u, id, name, what, todo), u being passed through (STORE_FAULT_MAP
// below is the usual one-argument form):
//   id    STORE_FAULT_<id>
//   name  the counter's suffix and the name in logs
//   what  what is wrong, for "cannot write the store in DIR: <what>"
//   todo  what the operator should do about it
// clang-format off
#define STORE_FAULT_ROWS(XX, u)                                               \
	XX(u, NO_SPACE, no_space, "no space left on its file system",         \
	    "free space there; writes resume by themselves")                  \
	XX(u, QUOTA, quota, "the disk quota of llmcostd's user is used up",   \
	    "raise the quota or free some of the user's files; writes "       \
	    "resume by themselves")                                           \
	XX(u, READ_ONLY, read_only, "its file system is read-only",           \
	    "remount it read-write (mount -o remount,rw), or point "          \
	    "--data-dir at a writable directory")                             \
	XX(u, PERMISSION, permission, "permission denied",                    \
	    "give this user read and write access to the directory and its "  \
	    "files (LMDB's readers write lock.mdb too), or run as the user "  \
	    "that owns them")                                                 \
	XX(u, CORRUPT, corrupt, "the store is corrupt",                       \
	    "stop llmcostd, then restore data.mdb from a backup, or move "    \
	    "data.mdb away to start a new, empty store")                      \
	XX(u, MAP_FULL, map_full, "the store's memory map is full and "       \
	    "cannot grow", "give llmcostd more address space (ulimit -v) or " \
	    "restart it with a larger --map-size-mb")                         \
	XX(u, FILE_SIZE, file_size, "the file size limit (ulimit -f) is "     \
	    "reached", "raise llmcostd's file size limit (ulimit -f; "        \
	    "LimitFSIZE= under systemd)")                                     \
	XX(u, IO, io, "an input/output error", "check the disk and the "      \
	    "kernel log (dmesg); writes resume by themselves if the error "   \
	    "passes")                                                         \
	XX(u, OTHER, other, "an unexpected storage error",                    \
	    "restart llmcostd if it persists")
// clang-format on
#define STORE__FAULT_ROW(XX, id, name, what, todo) XX(id, name, what, todo)
#define STORE_FAULT_MAP(XX)                        STORE_FAULT_ROWS(STORE__FAULT_ROW, XX)

typedef enum store_fault {
	STORE_FAULT_NONE = 0,
#define STORE__FAULT_ENUM(id, name, what, todo) STORE_FAULT_##id,
	STORE_FAULT_MAP(STORE__FAULT_ENUM)
#undef STORE__FAULT_ENUM
	    STORE_FAULT_COUNT
} store_fault;

// The fault for an LMDB or errno code (rc as mdb_* returns it).  An I/O
// error (EIO) is looked at more closely when dir is not NULL: LMDB
// reports a short write, which is how a full disk usually shows, as EIO,
// so the free space of dir's file system is checked and a small file is
// preallocated there (and removed) to tell no space and quota from a
// failing disk.  Thread-safe.
store_fault store_fault_of(int rc, const char *dir);
// "none", "no_space", ...; "other" for an unknown value.
const char *store_fault_name(store_fault f);
// One line for an operator: "<verb> the store in DIR: <what> (<detail>);
// <todo>".  verb is e.g. "cannot write", detail the low-level reason
// (may be NULL).  Returns snprintf's count (the line is cut to fit).
int store_fault_text(store_fault f, const char *verb, const char *dir,
    const char *detail, char *buf, size_t bufsz);

#define STORE_RDONLY 0x1u
// A writer that must not upgrade an older store (the CLI's prune and
// reprice: an older llmcostd may be writing it, and would not keep what
// the new schema adds).  Such a store is refused with a message saying
// to let llmcostd of this version open it first.
#define STORE_NO_UPGRADE 0x2u

// Room for any message store_open writes into err (it may name the data
// directory three times).
#define STORE_ERR_MAX (3 * LLMCOST__PATH_MAX + 512)

// Opens (and for writers creates, mode 0700) the store in dir.
// mapsize 0 = default.  Before any page is read, the size of data.mdb
// is compared with the end of the store's last used page (from LMDB's
// meta pages): a shorter file, like an empty one, is refused rather than
// read (reading past its end would be a SIGBUS, and LMDB would silently
// make an empty file a new store).  Returns 0, LLMCOST_ENOTFOUND
// (read-only and no store), LLMCOST_ETOOBIG (dir longer than
// LLMCOST__PATH_MAX allows) or LLMCOST_ESTORE; err receives one line
// saying what is wrong and what to do (store_fault_text).
int store_open(store **sp, const char *dir, unsigned flags, uint64_t mapsize,
    char *err, size_t errsz);
void store_close(store *s);
// The data directory s was opened on.
const char *store_dir(const store *s);

// What a call costs, as the pricing stage worked it out: the three
// store_run fields a write takes as given, and the part of the cost that
// is per-request fees (kept with the run's extras).
typedef struct store_cost {
	int64_t cost_pusd;     // 0 when STORE_RUN_OVERFLOW; fees included
	uint32_t price_id;     // price entry used; 0 = none
	uint8_t flags;         // STORE_RUN_UNPRICED, STORE_RUN_OVERFLOW
	int64_t fee_cost_pusd; // the fees' part of cost_pusd
} store_cost;

// A decoded batch and the cost of each of its calls: costs[i] belongs to
// batch->records[i].  Both are only read, and only during store_write.
typedef struct store_batch {
	const llmcost_proto_batch *batch;
	const store_cost *costs;
	// The version of the price table that priced costs
	// (prices_table_version), recorded per hour; NULL: none.
	const char *price_version;
} store_batch;

typedef struct store_batch_result {
	uint32_t stored;
	uint32_t duplicates;
} store_batch_result;

// Writes n priced batches in one transaction: new runs (with the costs
// given), rollups, strings, client state.  Runs already present (by run
// id) are counted as duplicates and left untouched.  results[i] receives
// batch i's counts.  Returns 0 once committed, or LLMCOST_ESTORE with the
// low-level reason in err (nothing written; store_last_fault says what
// kind of fault it was).  A full map is grown (doubled, up to four times
// per write) before STORE_FAULT_MAP_FULL is reported.  Writer thread
// only.
int store_write(store *s, const store_batch *batches, size_t n,
    store_batch_result *results, uint64_t now_ns, char *err, size_t errsz);
// The kind of fault of the last store_write on s: STORE_FAULT_NONE when
// it succeeded.  Writer thread only.
store_fault store_last_fault(const store *s);

// Read transactions: a consistent snapshot of the whole store.  Pointers
// returned through one are valid until store_read_end unless a function
// says otherwise.  Keep them short: LMDB cannot reuse pages that an open
// read transaction may still see.
int store_read_begin(store *s, store_rtxn **tp);
void store_read_end(store_rtxn *t);

// Called for one stored run: id (16 bytes, pointing into LMDB's memory
// map) and the run (decoded into the scan's own storage).  Both are valid
// only until the callback returns (copy what you keep) and must not be
// written through.  Return 0 to go on.
typedef int (*store_run_fn)(
    void *arg, const uint8_t *id, const store_run *run);
// Calls fn for every run that started in [from_ns, to_ns) (Unix ns), in
// run id order (time order to the millisecond).  Run ids are UUIDv7 minted from the
// call's start time (libllmcost does so), so the range is a key range:
// only runs in it are read, whatever the store's size.  Stops early when
// fn returns non-zero, and returns that value; returns 0 when every run
// was visited (none if from_ns >= to_ns), LLMCOST_EINVAL (NULL t or fn)
// or LLMCOST_ESTORE (a malformed record).
int store_scan(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    store_run_fn fn, void *arg);

// Called for one stored run by store_scan_ex: as store_run_fn, plus the
// run's extras (NULL when it has none, or when not asked for) and its
// request scope, trace id then parent run id, 32 bytes (NULL when the
// call was made outside a scope, or when not asked for).  The run is
// decoded into the scan's own storage, the others point into the read
// transaction's memory; all are valid only until fn returns.
typedef int (*store_run_ex_fn)(void *arg, const uint8_t *id,
    const store_run *run, const store_extras *ex, const uint8_t *trace);
#define STORE_SCAN_EXTRAS 0x1u // hand each run its extras
#define STORE_SCAN_TRACES 0x2u // hand each run its trace
// store_scan, also handing each run what `what` asks for of its extras
// and trace.  They are read by walking their tables alongside the runs
// (both are keyed by run id), not looked up per run, so a scan that asks
// for them stays a sequential read.  Same returns as store_scan.
int store_scan_ex(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    unsigned what, store_run_ex_fn fn, void *arg);

// The runs of a scan handed over STORE_SCAN_BATCH at a time, for a
// caller that looks ahead (prefetches what the next runs need) or wants
// no call per run.  One run of a batch: as store_run_ex_fn gets it.
#define STORE_SCAN_BATCH 64
typedef struct store_scan_item {
	const uint8_t *id;
	const store_extras *ex; // NULL: none, or not asked for
	const uint8_t *trace;   // NULL: none, or not asked for
	store_run run;
} store_scan_item;
// Called with n (1 to STORE_SCAN_BATCH) consecutive runs of the walk, in
// order; all valid only until fn returns.  Return 0 to go on.
typedef int (*store_run_batch_fn)(
    void *arg, const store_scan_item *items, size_t n);
// store_scan_ex, batch by batch.  Same returns, and LLMCOST_ENOMEM.
int store_scan_batch(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    unsigned what, store_run_batch_fn fn, void *arg);

typedef int (*store_rollup_fn)(
    void *arg, const store_rkey *k, const store_rollup *v);
// Calls fn for every rollup with from_hour <= hour < to_hour, in key
// order; stops early when fn returns non-zero (and returns that).
int store_scan_rollups(store_rtxn *t, uint32_t from_hour, uint32_t to_hour,
    store_rollup_fn fn, void *arg);

// The periods rollups are kept for.  Daily rollups (UTC days) sum the
// hourly ones of their day, key for key; both are written in the
// transaction that stores their runs.
typedef enum store_grain {
	STORE_HOURLY = 0,
	STORE_DAILY = 1,
} store_grain;

#define STORE_HOURS_PER_DAY 24u

// store_scan_rollups for a grain: from and to count periods of that grain
// since the Unix epoch (hours, or days), and k->hour passed to fn is the
// period (an hour, or a day).  A store opened read-only that has no daily
// rollups yet (schema 1 or 2, not yet opened by a writer) gives its
// hourly rollups instead, each with k->hour set to its day: then one key
// may come several times, and callers sum (as they do anyway).
int store_scan_rollups_grain(store_rtxn *t, store_grain g, uint32_t from,
    uint32_t to, store_rollup_fn fn, void *arg);
// The string for an interned id.  Returns 0 or LLMCOST_ENOTFOUND.
int store_string(store_rtxn *t, uint32_t id, const char **s, size_t *len);
// The canonical metadata blob of metaset id (store_run.metaset):
// u8 number of metadata entries, u8 number of tags, then each entry
// (sorted by key bytes) as a big-endian u16 key length, the key, a
// big-endian u16 value length, the value, then each tag (sorted) as a
// big-endian u16 length and its bytes.  *blob points into the read
// transaction.  Returns 0, or LLMCOST_ENOTFOUND (id 0 or unknown).
int store_metaset(
    store_rtxn *t, uint32_t id, const uint8_t **blob, size_t *len);
// The metadata sets from id `from` on, in id order, read in one pass
// rather than looked up one by one: fn(arg, id, blob, len) for each,
// blob as store_metaset gives it (a set shorter than 2 bytes is passed
// with len 0).  A non-zero return from fn ends the walk and is returned.
// Returns 0, LLMCOST_ESTORE, or fn's.
typedef int (*store_metaset_fn)(
    void *arg, uint32_t id, const uint8_t *blob, size_t len);
int store_metaset_walk(
    store_rtxn *t, uint32_t from, store_metaset_fn fn, void *arg);
// The number of metadata sets stored.
int store_metaset_count(store_rtxn *t, uint64_t *out);
// Calls dropped by clients, reported in [from_hour, to_hour).
int store_drops(
    store_rtxn *t, uint32_t from_hour, uint32_t to_hour, uint64_t *out);
// Runs the clients' lossy exporters (LangSmith) reported losing, filed
// under the hour of the report, in [from_hour, to_hour).  Returns 0, or
// LLMCOST_ENOTFOUND for a store written before these were kept.
int store_exporter_drops(
    store_rtxn *t, uint32_t from_hour, uint32_t to_hour, uint64_t *out);
// One run by id.  Returns 0 or LLMCOST_ENOTFOUND.
int store_get_run(store_rtxn *t, const uint8_t id[16], store_run *out);

// The request scope of stored call id: its trace id and parent run id
// (all zero for a call at the root of its trace).  Returns 0, or
// LLMCOST_ENOTFOUND when the call was not made in a scope (or is not
// stored).
int store_get_trace(store_rtxn *t, const uint8_t id[16], uint8_t trace_id[16],
    uint8_t parent_run_id[16]);
// Number of stored runs.
int store_count_runs(store_rtxn *t, uint64_t *out);
// The extras of one run (a version 1 record is returned with the
// version 2 fields zero).  Returns 0, or LLMCOST_ENOTFOUND when the run
// has none (or does not exist).
int store_get_extras(store_rtxn *t, const uint8_t id[16], store_extras *out);
// Number of runs with extras.
int store_count_extras(store_rtxn *t, uint64_t *out);

// The bytes the store uses in data.mdb: every page up to its last used
// one (free pages that LMDB will reuse included), as of t.
int store_used_bytes(store_rtxn *t, uint64_t *out);

// Runs whose id time is before *out (Unix ns, a whole millisecond) may
// have been pruned (store_prune): their rollups remain, but raw runs
// there may be missing.  0 when nothing was ever pruned.
int store_pruned_before(store_rtxn *t, uint64_t *out);

// ---- maintenance: prune and reprice ----
//
// Both write in transactions of at most a given number of runs, each of
// which leaves the store consistent (runs, extras, traces and rollups
// agree), and both can be run again after a crash or an error to finish
// the job.  They use write transactions of their own, so they may run in
// another process (the CLI) while llmcostd writes: LMDB serializes the
// writers.  Neither removes nor adds interned strings or metadata sets,
// so the caches of a daemon writing the same store stay valid.  Writer
// thread only in a process that also calls store_write on s.

// Deletes every run whose id time is before before_ns (rounded down to
// the millisecond), with its extras and trace, keeping every rollup;
// records the cut for store_pruned_before in the first transaction.  At
// most txn_runs runs per transaction (0: 10000) and max_txns
// transactions (0: no limit).  *pruned (may be NULL) receives the number
// of runs deleted, *more (may be NULL) whether runs before the cut
// remain.  Returns 0, or LLMCOST_ESTORE with the reason in err (the
// transactions committed before the error stay done).
int store_prune(store *s, uint64_t before_ns, uint32_t txn_runs,
    uint32_t max_txns, uint64_t *pruned, int *more, char *err, size_t errsz);

// A stored run as a reprice hands it to its pricing function: the
// provider and model strings (ptr, len; NULL, 0 when absent), the run as
// stored, and its extras (NULL when it has none).
typedef struct store_reprice_call {
	const char *provider;
	size_t provider_len;
	const char *model;
	size_t model_len;
	const store_run *run;
	const store_extras *extras;
} store_reprice_call;

// Works out a run's cost again (the pricing stage: pricing.h).  *out
// arrives zeroed.
typedef void (*store_price_fn)(
    void *arg, const store_reprice_call *c, store_cost *out);

// One run a reprice looked at: its feature and model (interned ids:
// store_string) and its cost and flags before and after.
typedef struct store_reprice_item {
	uint32_t feature;
	uint32_t model;
	uint8_t old_flags;
	uint8_t new_flags;
	int64_t old_cost;
	int64_t new_cost;
} store_reprice_item;

// Called after each transaction commits (in a dry run, after each
// transaction's worth of runs is read) with the runs it looked at.
// Return 0 to go on, anything else to stop there (store_reprice returns
// it).
typedef int (*store_reprice_done_fn)(
    void *arg, const store_reprice_item *items, size_t n);

typedef struct store_reprice_opts {
	uint64_t from_ns; // runs that started in [from_ns, to_ns)
	uint64_t to_ns;
	uint32_t txn_runs; // runs per transaction; 0: 10000
	int dry_run;       // work out and report, write nothing
	store_price_fn price;
	void *price_arg;
	store_reprice_done_fn done; // may be NULL
	void *done_arg;
	// The version of the table price uses, recorded for the hours of
	// the runs repriced (store_price_versions); NULL: not recorded.
	const char *price_version;
} store_reprice_opts;

// Prices every run in the window again with o->price and, where the cost,
// price entry, flags or fee cost change, rewrites the run (in its own
// record version), its extras' fee cost, and the hourly and daily rollups
// of its key by the difference, in the same transaction.  Pricing is a
// function of what is stored, so running it again over runs already
// repriced changes nothing: after a crash, run it again.  Returns 0, the
// value a done callback stopped with, LLMCOST_EINVAL, or LLMCOST_ESTORE
// with the reason in err.
int store_reprice(
    store *s, const store_reprice_opts *o, char *err, size_t errsz);

// The price-table versions that priced the runs of a window's hours
// (recorded by store_write and store_reprice; a window's edge hours are
// taken whole).  unknown: the window has runs in hours before the first
// hour any version was recorded for (a store written before they were),
// or has runs and no version at all (writes without a version); more:
// more than STORE_PVERS_MAX versions, the first ones kept.  Cost: a walk
// of the window's keys in the small "pricevers" table and at most two
// seeks in the hourly rollups, so that a report over a long window does
// not read the rollups of every hour.
#define STORE_PVER_LEN  32
#define STORE_PVERS_MAX 8
typedef struct store_pvers {
	char v[STORE_PVERS_MAX][STORE_PVER_LEN + 1];
	uint32_t n;
	int unknown;
	int more;
} store_pvers;

// Fills out (versions sorted) for runs that started in [from_ns, to_ns).  Returns 0 or
// LLMCOST_ESTORE (err says why).
int store_price_versions(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    store_pvers *out, char *err, size_t errsz);

// 128-bit helpers for cost sums.
typedef __int128 store_i128;
static inline store_i128
store_rollup_cost(const store_rollup *v)
{
	return ((
	    store_i128) (((unsigned __int128) v->cost_hi << 64) | v->cost_lo));
}
static inline store_i128
store_rollup_fee_cost(const store_rollup *v)
{
	return ((store_i128) (((unsigned __int128) v->fee_cost_hi << 64)
	    | v->fee_cost_lo));
}
static inline store_i128
store_rollup_provider_cost(const store_rollup *v)
{
	return ((store_i128) (((unsigned __int128) v->provider_cost_hi << 64)
	    | v->provider_cost_lo));
}

// A scan that sums (store_scan_fold): while a query walks the runs, most
// runs need nothing of it but their group's sums, and which group follows
// from one 32-bit value of the run (its metadata set, or one roll-up
// dimension's string id).  The caller keeps, by that value, the slot of
// the value's group (slot[value]: 0 not known yet, STORE_FOLD_SKIP not
// counted, else its index in sum plus 1); a run whose slot is known, that
// has no extras, is priced (no STORE_RUN_UNPRICED or STORE_RUN_OVERFLOW)
// and is in the packed record version is added to sum[slot - 1] inside
// the walk, straight from its record, with no call.  Every other run is
// handed to fn, in batches, as store_scan_batch does, and fn may then
// fill slots (and move or grow slot and sum, new sums zero: the walk
// reads the fields again after every call).  A run handed to fn is never
// also summed.  The sums are in bucket order when the call begins and
// when it returns; while it lasts they belong to the walk (fn may move
// them, not read them).
// Ownership: slot and sum are the caller's.  Threading: as a scan.
#define STORE_FOLD_METASET (-1) // by: the run's metadata set
#define STORE_FOLD_SKIP    UINT32_MAX
typedef struct store_fold_sum {
	uint64_t calls;
	uint64_t error_calls; // status != OK
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	store_i128 cost_pusd;
} store_fold_sum;
typedef struct store_fold {
	int by; // a report_dim, or STORE_FOLD_METASET
	// When via is not NULL, the run's value is first mapped through it
	// (nvia entries: 0 not known, STORE_FOLD_SKIP not counted, else
	// the index into slot plus 1), so that many values share a slot.
	const uint32_t *via;
	uint32_t nvia;
	uint32_t *slot;      // by value; nslot of them (values past: to fn)
	uint32_t nslot;      //
	store_fold_sum *sum; // nsum of them (a slot past them: to fn)
	uint32_t nsum;       //
	uint64_t runs;       // out: runs summed or skipped here, not by fn
} store_fold;
// store_scan_batch, summing what f allows in the walk (above).  `what`
// may not ask for traces (LLMCOST_EINVAL).  Same returns.
int store_scan_fold(store_rtxn *t, uint64_t from_ns, uint64_t to_ns,
    unsigned what, store_fold *f, store_run_batch_fn fn, void *arg);

#endif // LLMCOST_CORE_STORE_H
