// DESIGN: the pricing stage of the collector (decode -> price -> store ->
// query -> render), one function per call and a loop per batch.  It used
// to run inside the store's write transaction; as its own step it keeps
// the store free of pricing rules and lets a reprice reuse exactly the
// rule ingest used.  A call is never left without a verdict: no price
// entry, a bucket without a price and an int64 overflow each set a flag
// that reports show ("unpriced"), never a silent $0.  Per-request fees
// (web searches) are priced from the same entry and added to the cost;
// a fee without a price makes the call unpriced like a token bucket
// without one.
#include <string.h>

#include "prices.h"
#include "pricing.h"

void
pricing_price(const char *provider, size_t provider_len, const char *model,
    size_t model_len, uint64_t start_ns,
    const uint64_t usage[LLMCOST_BUCKET_COUNT],
    const uint64_t fees[LLMCOST_FEE_COUNT], store_cost *out)
{
	static const uint64_t no_fees[LLMCOST_FEE_COUNT];
	const price_entry *pe;
	int64_t tokens = 0, fee = 0;

	memset(out, 0, sizeof(*out));
	if (prices_lookup(
	        provider, provider_len, model, model_len, start_ns, &pe)
	    != 0) {
		out->flags = STORE_RUN_UNPRICED;
		return;
	}
	out->price_id = pe->id;
	int rt = prices_cost(pe, usage, &tokens);
	int rf = prices_fee_cost(pe, fees != NULL ? fees : no_fees, &fee);
	if ((rt != 0 && rt != LLMCOST_ENOTFOUND)
	    || (rf != 0 && rf != LLMCOST_ENOTFOUND)
	    || __builtin_add_overflow(tokens, fee, &out->cost_pusd)) {
		out->flags = STORE_RUN_OVERFLOW;
		out->cost_pusd = 0;
		return;
	}
	out->fee_cost_pusd = fee;
	if (rt == LLMCOST_ENOTFOUND || rf == LLMCOST_ENOTFOUND) {
		out->flags = STORE_RUN_UNPRICED;
	}
}

void
pricing_batch(const llmcost_proto_batch *b, store_cost *out)
{
	for (uint32_t i = 0; i < b->n_records; i++) {
		const llmcost_proto_record *r = &b->records[i];
		pricing_price(r->provider.ptr, r->provider.len, r->model.ptr,
		    r->model.len, r->start_ns, r->usage, r->fees, &out[i]);
	}
}
