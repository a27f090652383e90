// The query engine: calls, tokens and exact cost of the runs in a window
// [from_ns, to_ns), grouped by any list of keys (a roll-up dimension,
// any metadata key, the tags, the trace), filtered by key = value and
// key != value, optionally per hour, day or week of a time zone, with
// the top N groups kept and the rest summed into one "other" row.
// Every figure the store keeps is summed exactly: tokens in uint64,
// cost in 128-bit pico-USD, so the total is the exact sum of the rows.
//
// How it is answered (query.c): from the hourly rollups for the whole
// hours of the window when every key and filter is a roll-up dimension,
// and by scanning the runs of the window's edges (and of everything else)
// in one sequential pass otherwise.  The answer is the same either way;
// QUERY_RUNS_ONLY forces the scan (tests compare the two).
//
// The llmcost CLI, llmcostd's QUERY message (proto/README.md), budgets
// and reconciliation all ask through query_run, and render.h prints a
// result as a table, CSV or JSON.
//
// Ownership: a spec is the caller's and is only read.  A result is the
// caller's, freed with query_result_free; it holds copies of every
// string, so it outlives the store and the transaction it came from.
// Threading: query_run may run on any thread, concurrently with the
// store's writer and with other queries; a result may move between
// threads and is not written by anything but its owner.
#ifndef LLMCOST_CORE_QUERY_H
#define LLMCOST_CORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "dims.h"
#include "store.h"
#include "tz.h"

// Hard limits of a query.
#define QUERY_MAX_KEYS     4          // group-by keys
#define QUERY_MAX_FILTERS  8          // filters (all must hold)
#define QUERY_GROUPS_DEF   10000u     // groups kept when max_groups is 0
#define QUERY_GROUPS_MAX   (1u << 18) // the largest max_groups accepted
#define QUERY_MAX_BUCKETS  100000u    // time buckets in one answer
#define QUERY_MAX_UNPRICED 1024u      // unpriced models listed
// The longest key name ("meta." and a metadata key).
#define QUERY_KEY_NAME_MAX (5 + LLMCOST_MAX_KEY)

// What a key reads from a call.
typedef enum query_key_kind {
	QUERY_KEY_DIM = 0, // a roll-up dimension (dims.h): "feature", ...
	QUERY_KEY_META,    // the metadata value of a key: "meta.<key>"
	QUERY_KEY_TAG,     // each of the call's tags: "tag" (rows overlap)
	QUERY_KEY_TRACE,   // the request scope's trace id: "trace"
	QUERY_KEY_TAGSET,  // the call's tags, sorted, joined by ',': "tagset"
} query_key_kind;

typedef struct query_key {
	query_key_kind kind;
	report_dim dim;                 // QUERY_KEY_DIM
	char meta[LLMCOST_MAX_KEY + 1]; // QUERY_KEY_META: the metadata key
} query_key;

// The plain names a key may also go by: a metadata key every report
// knows by name (QUERY_ALIAS_MAP(XX): XX(name, metadata key)).
// clang-format off
#define QUERY_ALIAS_MAP(XX)                                                   \
	XX("user_tier", "user_tier")
// clang-format on

// Reads a key: a dimension name (dims.h), "meta.<key>" (any metadata
// key, 1..LLMCOST_MAX_KEY bytes), an alias (QUERY_ALIAS_MAP), "tag",
// "tagset" or "trace".  Returns 0, or LLMCOST_EINVAL (unknown or
// malformed).
//
// "tag" gives one row per tag: a call with several tags is counted in the
// row of each of them (and a call without tags in the row without one),
// so that the rows overlap and their sum exceeds the total, which still
// counts each call once (query_rows_overlap says when).  "tagset" gives
// one row per set of tags, so that rows never overlap.  A query groups by
// "tag" at most once, and filters take "tag" only.
int query_key_parse(const char *s, query_key *out);
// The key's name as query_key_parse reads it ("env", "meta.team",
// "user_tier", "tag", "trace") into buf (QUERY_KEY_NAME_MAX + 1 bytes
// always suffice).  Returns buf.
const char *query_key_name(const query_key *k, char *buf, size_t bufsz);

// A filter: the call's value of key equals value (or, negated, does
// not).  A call without the key matches no "=" and every "!=".  For
// "tag", "=" means the call has the tag and "!=" that it has not; for
// "trace" the value is a trace id in UUID text.
typedef struct query_filter {
	query_key key;
	int negate;                        // 1: key != value
	char value[LLMCOST_MAX_VALUE + 1]; // exact, case-sensitive
} query_filter;

// Reads "key=value" or "key!=value" (the value may be empty and may
// contain '=').  Returns 0 or LLMCOST_EINVAL.
int query_filter_parse(const char *s, query_filter *out);

// A time series' bucket; none: one bucket, the whole window.
typedef enum query_every {
	QUERY_EVERY_NONE = 0,
	QUERY_EVERY_HOUR = TZ_HOUR,
	QUERY_EVERY_DAY = TZ_DAY,
	QUERY_EVERY_WEEK = TZ_WEEK, // ISO weeks, from Monday 00:00
} query_every;

// Names: "hour", "day", "week" (and "none"); parse returns -1 when unknown.
const char *query_every_name(query_every e);
int query_every_parse(const char *s);

#define QUERY_RUNS_ONLY 0x1u // answer from the runs, never the rollups
// Every run read one by one, none summed in the walk (store_scan_fold):
// the same answer, slower (tests compare the two).
#define QUERY_RUNS_PLAIN 0x2u

typedef struct query_spec {
	query_key by[QUERY_MAX_KEYS]; // group by these, in this order
	uint32_t n_by;                // 0: one row, the whole window
	query_filter where[QUERY_MAX_FILTERS];
	uint32_t n_where;
	uint64_t from_ns, to_ns; // runs that started in [from, to), Unix ns
	query_every every;
	char tz[TZ_NAME_MAX + 1]; // of the buckets; "" = UTC
	uint32_t top;             // keep the N costliest groups; 0 = all
	uint32_t max_groups;      // 0 = QUERY_GROUPS_DEF
	unsigned flags;           // QUERY_RUNS_ONLY, QUERY_RUNS_PLAIN
} query_spec;

// A spec grouping by feature, no filter, window [0, 0), UTC.
void query_spec_init(query_spec *q);

// What the store's calls add up to.
typedef struct query_sums {
	uint64_t calls;
	uint64_t unpriced_calls; // some usage had no price: cost is partial
	uint64_t error_calls;    // status != ok
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t input_tokens;            // sum of the input buckets
	uint64_t output_tokens;           // sum of the output buckets
	store_i128 cost_pusd;             // fees included
	uint64_t fees[LLMCOST_FEE_COUNT]; // requests, llmcost_fee order
	store_i128 fee_cost_pusd;         // the fees' part of cost_pusd
	uint64_t provider_cost_calls;     // calls that carried a provider cost
	store_i128 provider_cost_pusd;    // the sum of those costs
	uint64_t usage_missing_calls;     // ended without usage: cost unknown
	uint64_t usage_partial_calls;     // cut short: usage so far only
} query_sums;

// Adds b into a (every field).
void query_sums_add(query_sums *a, const query_sums *b);

typedef struct query_row {
	// The bucket, Unix seconds [bucket, bucket_end), and the zone's
	// offsets at its start and end (to print local time); all 0
	// without every.
	int64_t bucket, bucket_end;
	int32_t bucket_off, bucket_end_off;
	// 1: the sum of the groups left out (by top, or past max_groups);
	// its keys are all NULL.
	int other;
	char *keys[QUERY_MAX_KEYS]; // per spec.by; NULL: the call had none
	query_sums sum;
} query_row;

typedef struct query_unpriced {
	char *provider; // NULL when unknown
	char *model;
	uint64_t calls;
} query_unpriced;

typedef struct query_result {
	query_spec spec; // as asked
	// By bucket, then cost (highest first), calls, keys (NULL last);
	// a bucket's "other" row comes last in it.
	query_row *rows;
	size_t n_rows;
	query_sums total; // the exact sum of the rows (but see "tag" above)
	// Models whose calls (in the window, matching the filters) had no
	// price, most calls first; at most QUERY_MAX_UNPRICED.
	query_unpriced *unpriced;
	size_t n_unpriced;
	// Calls clients reported dropping (before they reached the
	// collector) during the hours the window touches; not filtered.
	uint64_t dropped;
	// The zone's offset at the window's start and end (to print them
	// in local time), seconds.
	int32_t from_off, to_off;
	int capped; // 1: more groups than max_groups (see "other")
	// The total is the exact sum of the rows, except when grouped by
	// "tag": then it counts each call once and the rows count a call
	// in each of its tags' rows (query_rows_overlap).
	uint64_t groups; // groups found (capped: max_groups)
	// How it was answered.
	uint64_t runs_scanned;
	uint64_t rollups_read;
	// The versions of the price tables that priced the window's runs
	// (store_price_versions), as the store recorded them.
	store_pvers price_tables;
} query_result;

// Answers q from the store in one read transaction (query_run_txn in a
// caller's).  Returns 0; LLMCOST_EINVAL (a malformed spec: err says
// what to change); LLMCOST_ENOTFOUND (an unknown time zone); LLMCOST_ETOOBIG
// (more than QUERY_MAX_BUCKETS buckets); LLMCOST_ENOMEM; LLMCOST_ESTORE.
// err (may be NULL) receives one line for a person.  Free the result with
// query_result_free.
int query_run(store *s, const query_spec *q, query_result **out, char *err,
    size_t errsz);
int query_run_txn(store_rtxn *t, const query_spec *q, query_result **out,
    char *err, size_t errsz);
void query_result_free(query_result *r);

// 1 when r's rows count some call more than once (grouped by "tag", a
// call with several tags), so that they add up to more than r->total;
// else 0.  Read from the rows and the total, so it holds for a result
// that came over the wire too.
int query_rows_overlap(const query_result *r);

#endif // LLMCOST_CORE_QUERY_H
