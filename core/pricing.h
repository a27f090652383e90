// The pricing stage: turns decoded calls into what a stored run records
// about money (cost in pico-USD, the price entry used, the unpriced and
// overflow flags), from the price table (prices.h).  It runs before the
// store write (the collector's writer prices each batch, then hands the
// costs to store_write), and a reprice of stored runs will run it again
// on their provider, model, start time and usage: one pricing rule for
// both.
//
// Threading: reentrant; the price table is immutable.  Ownership: the
// caller owns every argument; nothing is kept.
#ifndef LLMCOST_CORE_PRICING_H
#define LLMCOST_CORE_PRICING_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost.h"
#include "llmcost_proto.h"
#include "store.h"

// Prices one call: provider and model as (ptr, len) (need not be
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

// Prices every call of a decoded batch: out[i] for b->records[i]; out
// holds b->n_records entries.
void pricing_batch(const llmcost_proto_batch *b, store_cost *out);

#endif // LLMCOST_CORE_PRICING_H
