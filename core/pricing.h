// The pricing stage: turns decoded calls into what a stored run records
// about money (cost in pico-USD, the price entry used, the unpriced and
// overflow flags), from the price table (prices.h).  It runs before the
// store write (the collector's writer prices each batch, then hands the
// costs to store_write), and a reprice of stored runs will run it again
// on their provider, model, start time and usage: one pricing rule for
// both.
//
// Threading: reentrant; price tables are immutable, and the table in
// force is taken with a reference (prices_current_acquire) for the time
// of a call or a batch.  Ownership: the caller owns every argument;
// nothing is kept.
#ifndef LLMCOST_CORE_PRICING_H
#define LLMCOST_CORE_PRICING_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost.h"
#include "llmcost_proto.h"
#include "prices.h"
#include "store.h"

// Prices one call at the standard tier on the provider's own platform,
// under the table in force (pricing_price_call with those): provider and
// model as (ptr, len) (need not be
// NUL-terminated; NULL with length 0 is absent), its start time (Unix ns),
// usage and per-request fee counts (NULL: none).  *out always receives a
// result:
//   - the entry in force at start_ns and the cost under it: tokens plus
//     fees, the fees' part also in fee_cost_pusd;
//   - with STORE_RUN_UNPRICED when no entry matches (price_id 0, cost 0)
//     or a bucket with tokens or a fee with requests has no price (the
//     cost of the priced parts, flagged as partial);
//   - with STORE_RUN_OVERFLOW and cost 0 when the cost does not fit in
//     int64 pico-USD.
void pricing_price(const char *provider, size_t provider_len,
    const char *model, size_t model_len, uint64_t start_ns,
    const uint64_t usage[LLMCOST_BUCKET_COUNT],
    const uint64_t fees[LLMCOST_FEE_COUNT], store_cost *out);

// Everything pricing needs to know about one call, as a stored run keeps
// it (the run record, and its extras: fees, service tier, platform), so
// that a reprice of a stored run gives what ingest gave.  Strings are
// (ptr, len), need not be NUL-terminated; NULL with length 0 is absent.
typedef struct pricing_call {
	const char *provider;
	size_t provider_len;
	const char *model;
	size_t model_len;
	const char *platform; // "" / NULL: the provider's own API
	size_t platform_len;
	uint64_t start_ns;     // Unix ns
	const uint64_t *usage; // [LLMCOST_BUCKET_COUNT]
	const uint64_t *fees;  // [LLMCOST_FEE_COUNT] or NULL
	unsigned service_tier; // llmcost_service_tier
} pricing_call;

// Prices one call under table t (NULL: the table in force): the entry
// for (provider, platform, model) in force at start_ns (prices_find), its
// set for the call's service tier and input size (prices_set_for), and
// the cost of tokens plus fees.  *out always receives a result, as
// pricing_price() says; a service tier the entry has no prices for
// leaves the call's tokens unpriced (STORE_RUN_UNPRICED with that entry's
// id; the cost is that of its priced fees), never priced at the standard
// rate.  This is the function a reprice of stored runs calls: give it the
// run's provider, model, start_ns and usage (store_run) and its fees,
// service tier and platform (store_extras; zero and "" when the run has
// none), and the table to price with (NULL: the one in force).
void pricing_price_call(
    const prices_table *t, const pricing_call *c, store_cost *out);

// Prices every call of a decoded batch under the table in force (one
// reference for the whole batch): out[i] for b->records[i], from its
// provider, model, platform (key 16), service tier (key 15), start time,
// usage and fees; out holds b->n_records entries.
void pricing_batch(const llmcost_proto_batch *b, store_cost *out);

#endif // LLMCOST_CORE_PRICING_H
