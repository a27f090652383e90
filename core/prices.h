// Built-in LLM price table and per-call pricing.
//
// Money is an integer in pico-USD (1e-12 USD); a price is pico-USD per
// token, so $2.50 per 1M tokens is 2,500,000.  Every published per-token
// price is exact at this scale, and no floating point is involved.  The
// table, its sources and the matching rules are described in
// docs/prices.md.
//
// Ownership: every price_entry returned is static and lives for the whole
// program; callers never free it.
//
// Threading: all functions are reentrant and may be called from any thread
// (the table is immutable).
#ifndef LLMCOST_CORE_PRICES_H
#define LLMCOST_CORE_PRICES_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost.h"

#define PRICE_UNPRICED INT64_C(-1) // this bucket has no published price

// One dated price of one (provider, model).  Id 0 is never used, so a
// stored call can use it to mean "no price entry matched".
typedef struct price_entry {
	// Stable, unique, never reused: the price version stored with each
	// call.
	uint32_t id;
	// "openai", "anthropic", "google".
	const char *provider;
	// Exact model name as the provider's API reports it.
	const char *model;
	// Unix seconds (UTC): in force from this instant until the next
	// entry of the same (provider, model).
	int64_t valid_from;
	// Pico-USD per token per bucket, or PRICE_UNPRICED.
	int64_t pusd[LLMCOST_BUCKET_COUNT];
	// 0 = no tier; else when the call's total input tokens (sum of the
	// LLMCOST_IN_* buckets) exceed this, tier_pusd applies to every
	// bucket.
	uint64_t tier_above;
	int64_t tier_pusd[LLMCOST_BUCKET_COUNT];
} price_entry;

// Find the entry for (provider, model) in force at start_ns (Unix ns): the
// one with the largest valid_from <= start.  Strings are (ptr, len) and need
// not be NUL-terminated.
//
// Matching: the exact model name; if no entry has it, the name with a
// leading "<provider>/" stripped (e.g. "openai/gpt-4o").  Provider
// comparison is exact and case-sensitive, except that "google", "gemini",
// "vertex_ai" and "google_genai" all name the Gemini models (stored as
// "google"), and any of these may be the stripped prefix.  "azure" is not
// "openai": Azure prices differ, so Azure calls are unpriced.
//
// Returns 0 and *out; LLMCOST_ENOTFOUND (no such model, or the call
// predates every entry of it: *out is left alone); LLMCOST_EINVAL (out is
// NULL, or a NULL string with a non-zero length).
int prices_lookup(const char *provider, size_t provider_len, const char *model,
    size_t model_len, uint64_t start_ns, const price_entry **out);

// Cost of usage[LLMCOST_BUCKET_COUNT] under e: the sum over buckets of
// tokens x price, with the tier prices for every bucket when the input
// total exceeds e->tier_above.  Checked 64-bit arithmetic throughout.
//
// Returns 0 and *cost_pusd; LLMCOST_ENOTFOUND if a bucket with tokens > 0
// has no price (then *cost_pusd is the cost of the priced buckets only, so
// callers can show a partial figure, flagged); LLMCOST_ETOOBIG on overflow
// (*cost_pusd is not written); LLMCOST_EINVAL (a NULL argument, or a
// negative price other than PRICE_UNPRICED).
int prices_cost(const price_entry *e,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], int64_t *cost_pusd);

// The price of one request of fee f (llmcost_fee) under e, in pico-USD
// (docs/prices.md lists them with their sources).  Returns 0 and *pusd;
// LLMCOST_ENOTFOUND when the provider publishes no such price for e's
// model, or none could be sourced (the fee is unpriced); LLMCOST_EINVAL
// (a NULL argument or an unknown fee).
int prices_fee(const price_entry *e, int f, int64_t *pusd);

// Cost of fees[LLMCOST_FEE_COUNT] (request counts) under e: the sum of
// count x price, checked 64-bit arithmetic.  Returns 0 and *cost_pusd;
// LLMCOST_ENOTFOUND if a fee with a count > 0 has no price (then
// *cost_pusd is the cost of the priced fees only); LLMCOST_ETOOBIG on
// overflow (*cost_pusd is not written); LLMCOST_EINVAL (a NULL argument).
int prices_fee_cost(const price_entry *e,
    const uint64_t fees[LLMCOST_FEE_COUNT], int64_t *cost_pusd);

// The whole built-in table (for `llmcost prices` listing), sorted by
// (provider, model, valid_from) in strcmp() order.  *count, when count is
// not NULL, receives the number of entries.
const price_entry *prices_builtin(size_t *count);

#endif // LLMCOST_CORE_PRICES_H
