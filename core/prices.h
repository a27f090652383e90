// LLM price tables and per-call pricing.
//
// Money is an integer in pico-USD (1e-12 USD); a price is pico-USD per
// token, so $2.50 per 1M tokens is 2,500,000.  Every published per-token
// price is exact at this scale, and no floating point is involved.
//
// A table is built from price files (one format, docs/prices.md): the
// built-in files in data/prices/ are compiled into the binaries, and a
// user's overrides file may be added on top.  A table is immutable once
// built; the collector swaps whole tables (prices_current_*).
//
// Ownership: entries, sets and strings belong to their table and live
// until prices_table_free() (the built-in table lives for the whole
// program).
//
// Threading: a built table may be read by any number of threads at once;
// the prices_current_* functions are thread-safe.
#ifndef LLMCOST_CORE_PRICES_H
#define LLMCOST_CORE_PRICES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmcost.h"

#define PRICE_UNPRICED INT64_C(-1) // this bucket or fee has no price

// Caps on what a table holds (a file past them is refused).
#define PRICES_MAX_FILE    (16u << 20) // bytes in one price file
#define PRICES_MAX_LINE    4096u       // bytes in one line
#define PRICES_MAX_ENTRIES 65536u      // entries in one table
#define PRICES_MAX_SETS    16u         // price sets in one entry
#define PRICES_ERR_MAX     512u        // bytes of a parse error

// How an entry's name matches a call's model (docs/prices.md, "Matching").
enum price_match {
	PRICE_MATCH_EXACT = 0,   // the name, or a dated snapshot of it
	PRICE_MATCH_PATTERN = 1, // an anchored POSIX extended regex
};

// The prices of one service tier above one input size: pico-USD per
// token per bucket, or PRICE_UNPRICED.
typedef struct price_set {
	uint8_t service_tier; // llmcost_service_tier
	uint64_t above;       // 0: the base set; else the call's input
	                      // tokens must exceed this
	int64_t pusd[LLMCOST_BUCKET_COUNT];
} price_set;

// One dated price of one (provider, model, platform).  Id 0 is never
// used, so a stored call can use it to mean "no price entry matched".
typedef struct price_entry {
	// Stable, unique within a table, never reused: the price version
	// stored with each call (docs/prices.md, "Ids").
	uint32_t id;
	uint8_t match;        // enum price_match
	uint8_t override;     // 1: from the user's overrides file
	const char *provider; // "openai", "anthropic", "google", ...
	const char *model;    // exact name, or the pattern
	const char *platform; // "" = the provider's own API
	const char *source;   // where the prices come from (URL, note)
	const char *file;     // the price file and line it was read from
	uint32_t line;
	uint32_t seq; // order read (overrides first): pattern priority
	// Unix seconds (UTC): in force from this instant until the next
	// entry of the same (provider, model, platform).
	int64_t valid_from;
	// Per-request fees, pico-USD per request, or PRICE_UNPRICED.
	int64_t fee_pusd[LLMCOST_FEE_COUNT];
	// Sorted by (service_tier, above); at least one.
	const price_set *sets;
	uint32_t nsets;
} price_entry;

typedef struct prices_table prices_table;

// One price file's text, for prices_table_build().
typedef struct prices_source {
	const char *name; // file name, for errors and entries
	const char *text; // need not be NUL-terminated
	size_t len;
	int override; // 1: entries win over the others (overrides file)
} prices_source;

// Builds a table from n sources.  Returns 0 and *out; LLMCOST_EPROTO
// with "FILE:LINE: field NAME: what is wrong" in err (a malformed line,
// a price that is not a whole number of pico-USD, a duplicate id, an
// unanchored or invalid pattern, ...); LLMCOST_ETOOBIG (over a cap, also
// in err); LLMCOST_ENOMEM; LLMCOST_EINVAL.  Nothing is built on error.
int prices_table_build(const prices_source *src, size_t n, prices_table **out,
    char *err, size_t errsz);

// The built-in files, compiled in, plus the overrides file at path when
// path is not NULL or "" (read whole; a missing or unreadable file is
// LLMCOST_ENOTFOUND / LLMCOST_ESYS-like errors with the reason in err).
int prices_table_load(
    const char *path, prices_table **out, char *err, size_t errsz);

// Frees a table built by prices_table_build/_load.  NULL and the built-in
// table are ignored.
void prices_table_free(prices_table *t);

// The built-in table (data/prices/*.txt compiled in), parsed on first use.
// Never NULL: the build checks that the files parse.
const prices_table *prices_builtin_table(void);

// The table's entries, sorted by (provider, model, platform, valid_from,
// override last).  *count receives their number.
const price_entry *prices_table_entries(const prices_table *t, size_t *count);

// The table's version: 16 lower-case hex digits of a 64-bit FNV-1a hash
// of its sources' bytes (in order), so two tables with the same files
// have the same version and any edit changes it.
const char *prices_table_version(const prices_table *t);

// What a call says about itself, for a lookup.  Strings are (ptr, len) and
// need not be NUL-terminated; NULL with length 0 is absent.
typedef struct price_query {
	const char *provider;
	size_t provider_len;
	const char *model;
	size_t model_len;
	const char *platform; // "" / NULL: the provider's own API
	size_t platform_len;
	uint64_t start_ns; // Unix ns
} price_query;

// Finds the entry for q in force at q->start_ns, in the order
// docs/prices.md ("Matching") gives.  Returns 0 and *out;
// LLMCOST_ENOTFOUND (no entry, or none in force yet: *out is left alone);
// LLMCOST_EINVAL.
int prices_find(
    const prices_table *t, const price_query *q, const price_entry **out);

// The set of e that prices a call of service tier `tier` whose input
// tokens (sum of the LLMCOST_IN_* buckets of usage) are in_total: among
// the sets of that tier, the one with the largest `above` below
// in_total (the base set has above 0).  Returns 0 and *out, or
// LLMCOST_ENOTFOUND when e has no prices for that tier.
int prices_set_for(const price_entry *e, unsigned tier, uint64_t in_total,
    const price_set **out);

// Sum of the input buckets of usage, saturated at UINT64_MAX.
uint64_t prices_input_total(const uint64_t usage[LLMCOST_BUCKET_COUNT]);

// Cost of usage under set s: Σ tokens × price, checked 64-bit.  Returns 0
// and *cost_pusd; LLMCOST_ENOTFOUND if a bucket with tokens has no price
// (*cost_pusd is the cost of the priced buckets); LLMCOST_ETOOBIG on
// overflow (*cost_pusd not written); LLMCOST_EINVAL.
int prices_set_cost(const price_set *s,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], int64_t *cost_pusd);

// Cost of usage under e at service tier `tier`: prices_set_for() then
// prices_set_cost().  LLMCOST_ENOTFOUND also when e has no set for the
// tier (then *cost_pusd is 0).
int prices_cost_tier(const price_entry *e, unsigned tier,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], int64_t *cost_pusd);

// The price of one request of fee f under e.  Returns 0 and *pusd;
// LLMCOST_ENOTFOUND (unpriced); LLMCOST_EINVAL.
int prices_fee(const price_entry *e, int f, int64_t *pusd);

// Cost of fees[LLMCOST_FEE_COUNT] (request counts) under e.  Returns 0
// and *cost_pusd; LLMCOST_ENOTFOUND if a fee with a count > 0 has no
// price (*cost_pusd: the priced fees); LLMCOST_ETOOBIG; LLMCOST_EINVAL.
int prices_fee_cost(const price_entry *e,
    const uint64_t fees[LLMCOST_FEE_COUNT], int64_t *cost_pusd);

// The table in force in this process, for the pricing stage.  It starts
// as the built-in table.  prices_current_acquire() returns it with a
// reference held (never NULL); release it with prices_current_release()
// when done.  prices_current_set() makes t (owned from then on) the
// table in force; the previous one is freed once its last reference is
// released.  A mutex guards the pointer and the counts: it is taken once
// per batch, never per call.  Thread-safe.
const prices_table *prices_current_acquire(void);
void prices_current_release(const prices_table *t);
void prices_current_set(prices_table *t);

// The version of the table in force into buf (16 hex digits), without
// building the built-in table when no other was installed (a report
// prints it, and a report must not pay for parsing the price files).
// Thread-safe.
void prices_current_version(char *buf, size_t bufsz);

// Compatibility with the first API, on the built-in table, standard tier,
// the provider's own platform: prices_lookup finds by (provider, model,
// start); prices_cost prices the standard tier; prices_builtin lists the
// built-in entries.
int prices_lookup(const char *provider, size_t provider_len, const char *model,
    size_t model_len, uint64_t start_ns, const price_entry **out);
int prices_cost(const price_entry *e,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], int64_t *cost_pusd);
const price_entry *prices_builtin(size_t *count);

// Parses an exact decimal "123.456" (no sign, no exponent) scaled by
// 10^scale into *out: "2.5" at scale 6 is 2,500,000.  Returns 0, or -1
// when s is not such a number, has more fraction digits than scale
// allows (other than trailing zeros) or overflows int64.
int prices_decimal(const char *s, size_t len, unsigned scale, int64_t *out);

// Writes v / 10^scale into buf as an exact decimal without trailing
// zeros (2500000 at scale 6: "2.5").  Returns 0, LLMCOST_ETOOBIG (buf too
// small) or LLMCOST_EINVAL (negative v).
int prices_format_decimal(int64_t v, unsigned scale, char *buf, size_t bufsz);

// Writes e to f in the price-file format (docs/prices.md), so that the
// output reads back as the same entry.  Returns 0 or LLMCOST_EINVAL (a
// write error).
int prices_write_entry(FILE *f, const price_entry *e);

#endif // LLMCOST_CORE_PRICES_H
