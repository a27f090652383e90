// DESIGN: the pricing stage of the collector (decode -> price -> store ->
// query -> render), one function per call and a loop per batch.  It used
// to run inside the store's write transaction; as its own step it keeps
// the store free of pricing rules and lets a reprice reuse exactly the
// rule ingest used.  A call is never left without a verdict: no price
// entry, a bucket without a price and an int64 overflow each set a flag
// that reports show ("unpriced"), never a silent $0.
#include <string.h>

#include "prices.h"
#include "pricing.h"

void
pricing_price(const char *provider, size_t provider_len, const char *model,
    size_t model_len, uint64_t start_ns,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], store_cost *out)
{
	const price_entry *pe;

	memset(out, 0, sizeof(*out));
	if (prices_lookup(
	        provider, provider_len, model, model_len, start_ns, &pe)
	    != 0) {
		out->flags = STORE_RUN_UNPRICED;
		return;
	}
	out->price_id = pe->id;
	int rv = prices_cost(pe, usage, &out->cost_pusd);
	if (rv == LLMCOST_ENOTFOUND) {
		out->flags = STORE_RUN_UNPRICED;
	} else if (rv != 0) {
		out->flags = STORE_RUN_OVERFLOW;
		out->cost_pusd = 0;
	}
}

void
pricing_batch(const llmcost_proto_batch *b, store_cost *out)
{
	for (uint32_t i = 0; i < b->n_records; i++) {
		const llmcost_proto_record *r = &b->records[i];
		pricing_price(r->provider.ptr, r->provider.len, r->model.ptr,
		    r->model.len, r->start_ns, r->usage, &out[i]);
	}
}
