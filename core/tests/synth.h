// Shared by the layout and maintenance tests: a synthetic workload of
// calls (20 features, 6 models, 2 envs, a customer id among 50 and a
// user tier as a tag), written through store_write in batches of 500,
// priced by the pricing stage or by a test's own rule.  Static inline,
// like store_fixture.h.
#ifndef LLMCOST_SYNTH_H
#define LLMCOST_SYNTH_H

#include "harness/workload.h"
#include "store_fixture.h"

// The i-th call: runs_per_hour calls per hour from H0, usage of a few
// hundred to a few thousand tokens, one call in 50 an error.
static inline void
synth(spec *sp, uint32_t i, uint32_t runs_per_hour, char *cust, size_t csz)
{
	uint32_t x = i * 2654435761u;

	memset(sp, 0, sizeof(*sp));
	sp->n = i;
	sp->hour = H0 + i / runs_per_hour;
	sp->feature = workload_features[x % 20];
	sp->provider = workload_models[(x >> 8) % 6].provider;
	sp->model = workload_models[(x >> 8) % 6].model;
	sp->env = (x >> 12) % 8 == 0 ? "staging" : "production";
	sp->usage[LLMCOST_IN_UNCACHED] = 200 + (x >> 4) % 4000;
	sp->usage[LLMCOST_IN_CACHE_READ] = (x >> 3) % 3 == 0 ? 1024 : 0;
	sp->usage[LLMCOST_OUT_TEXT] = 50 + (x >> 14) % 800;
	sp->status
	    = (x >> 20) % 50 == 0 ? LLMCOST_STATUS_ERROR : LLMCOST_STATUS_OK;
	sp->key = "customer";
	snprintf(cust, csz, "cust-%02u", (x >> 22) % 50);
	sp->val = cust;
	sp->tag = workload_tiers[(x >> 9) % 3];
}

// What a test changes in a batch before it is written: extras and traces
// on some records, the costs the pricing stage gave (n records).
typedef struct synth_opts {
	int extras; // web searches on every 11th call, a trace on every 13th
	void (*tweak)(const llmcost_proto_record *r, store_cost *c);
} synth_opts;

// Writes calls [first, first + n) in batches of 500, each arriving 2 s
// after its first call started.
static inline void
write_synth(store *s, const synth_opts *o, uint32_t first, uint32_t n,
    uint32_t runs_per_hour)
{
	static char cust[500][16];
	for (uint32_t i = first; i < first + n;) {
		built *b = build(NULL, 0);
		uint32_t k = 0;
		for (; k < 500 && i < first + n; k++, i++) {
			spec sp;
			synth(&sp, i, runs_per_hour, cust[k], sizeof(cust[k]));
			add(b, &sp);
			llmcost_proto_record *r = &b->recs[k];
			if (o != NULL && o->extras && i % 11 == 0) {
				r->fees[LLMCOST_FEE_WEB_SEARCH] = 1 + i % 3;
			}
			if (o != NULL && o->extras && i % 13 == 0) {
				memset(r->trace_id, 0x70 + (int) (i % 5), 16);
			}
		}
		llmcost_proto_batch bt = batch_of(b, 0xc1, i, 0);
		store_cost *costs = calloc(k, sizeof(*costs));
		assert_non_null(costs);
		char ver[STORE_PVER_LEN + 1];
		pricing_batch_version(&bt, costs, ver, sizeof(ver));
		for (uint32_t j = 0; o != NULL && o->tweak != NULL && j < k;
		     j++) {
			o->tweak(&b->recs[j], &costs[j]);
		}
		store_batch in = { &bt, costs, ver };
		store_batch_result res;
		char err[256] = "";
		int rv = store_write(s, &in, 1, &res,
		    b->recs[0].start_ns + 2000000000u, err, sizeof(err));
		if (rv != 0) {
			fail_msg("store_write: %s", err);
		}
		assert_int_equal(res.stored, k);
		free(costs);
		free(b);
	}
}

#endif // LLMCOST_SYNTH_H
