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

// Everything pricing needs to know about one call, as a stored run keeps
// it (the run record, and its extras: fees, service tier, platform), so
// that a reprice of a stored run gives what ingest gave.
typedef struct pricing_call {
	price_query at;        // which entry: provider, model, platform, time
	const uint64_t *usage; // [LLMCOST_BUCKET_COUNT]
	const uint64_t *fees;  // [LLMCOST_FEE_COUNT] or NULL
	unsigned service_tier; // llmcost_service_tier
} pricing_call;

// Prices one call under table t (NULL: the table in force): the entry
// for (provider, platform, model) in force at start_ns (prices_find), its
// set for the call's service tier and input size (prices_set_for), and
// the cost of tokens plus fees.  *out always receives a result:
//   - the entry in force at start_ns and the cost under it: tokens plus
//     fees, the fees' part also in fee_cost_pusd;
//   - with STORE_RUN_UNPRICED when no entry matches (price_id 0, cost 0)
//     or a bucket with tokens or a fee with requests has no price (the
//     cost of the priced parts, flagged as partial);
//   - with STORE_RUN_OVERFLOW and cost 0 when the cost does not fit in
//     int64 pico-USD.
// A service tier the entry has no prices for
// leaves the call's tokens unpriced (STORE_RUN_UNPRICED with that entry's
// id; the cost is that of its priced fees), never priced at the standard
// rate.
void pricing_price_call(
    const prices_table *t, const pricing_call *c, store_cost *out);

// Prices a stored run as ingest priced it (a store_price_fn, for
// store_reprice): pricing_price_call with the run's provider, model,
// start time and usage and, from its extras, its fees, service tier and
// platform (none, the standard tier and the provider's own API when it
// has no extras or a version 1 record), under the table arg (a const
// prices_table *; NULL: the table in force).
void pricing_price_run(
    void *arg, const store_reprice_call *c, store_cost *out);

// Prices every call of a decoded batch under the table in force (one
// reference for the whole batch): out[i] for b->records[i], from its
// provider, model, platform (key 16), service tier (key 15), start time,
// usage and fees; out holds b->n_records entries.
void pricing_batch(const llmcost_proto_batch *b, store_cost *out);
// The same, and the version of the table that priced it copied to ver
// (prices_table_version, cut to versz - 1 bytes) for the store.
void pricing_batch_version(
    const llmcost_proto_batch *b, store_cost *out, char *ver, size_t versz);

#endif // LLMCOST_CORE_PRICING_H
