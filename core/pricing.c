// DESIGN: the pricing stage of the collector (decode -> price -> store ->
// query -> render), one function per call and a loop per batch.  It used
// to run inside the store's write transaction; as its own step it keeps
// the store free of pricing rules and lets a reprice reuse exactly the
// rule ingest used (pricing_price_call, from what a stored run keeps).
// A call is never left without a verdict: no price entry, a service
// tier or bucket without a price and an int64 overflow each set a flag
// that reports show ("unpriced"), never a silent $0.  Per-request fees
// (web searches) are priced from the same entry and added to the cost;
// a fee without a price makes the call unpriced like a token bucket
// without one.  A batch takes one reference to the table in force, so a
// reload in the middle of a batch never mixes two tables in one batch.
// Within a batch, the calls of a few call sites come interleaved: the
// batch keeps its last LOOKUPS lookups, so a call looks its entry up
// only when no recent call found it, and per lookup and service tier,
// when the entry has a single set for that tier, the set is found once
// and small counts are summed without overflow checks (price_in_run);
// every other call takes the general path, so the result is the same.
#include <stdio.h>
#include <string.h>

#include "prices.h"
#include "pricing.h"

// The cost of c under the entry prices_find gave (found: its result,
// 0 or not), into *out.
static void
price_found(
    int found, const price_entry *pe, const pricing_call *c, store_cost *out)
{
	static const uint64_t no_fees[LLMCOST_FEE_COUNT];
	int64_t tokens = 0, fee = 0;

	memset(out, 0, sizeof(*out));
	if (c->usage == NULL || found != 0) {
		out->flags = STORE_RUN_UNPRICED;
		return;
	}
	out->price_id = pe->id;
	int rt = prices_cost_tier(pe, c->service_tier, c->usage, &tokens);
	int rf
	    = prices_fee_cost(pe, c->fees != NULL ? c->fees : no_fees, &fee);
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
pricing_price_call(
    const prices_table *t, const pricing_call *c, store_cost *out)
{
	const prices_table *held = NULL;
	const price_entry *pe = NULL;

	if (t == NULL) {
		t = held = prices_current_acquire();
	}
	int found = c->usage == NULL ? LLMCOST_ENOTFOUND
	                             : prices_find(t, &c->at, &pe);
	price_found(found, pe, c, out);
	prices_current_release(held);
}

void
pricing_price_run(void *arg, const store_reprice_call *c, store_cost *out)
{
	const store_extras *ex = c->extras;
	pricing_call pc;

	memset(&pc, 0, sizeof(pc));
	pc.at.provider = c->provider;
	pc.at.provider_len = c->provider_len;
	pc.at.model = c->model;
	pc.at.model_len = c->model_len;
	pc.at.start_ns = c->run->start_ns;
	pc.usage = c->run->usage;
	if (ex != NULL) {
		pc.fees = ex->fees;
		pc.service_tier = ex->service_tier;
		pc.at.platform = ex->platform;
		pc.at.platform_len
		    = strnlen(ex->platform, sizeof(ex->platform));
	}
	pricing_price_call(arg, &pc, out);
}

static int
bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	// A TBATCH's records share the bytes of a string: equal at once.
	return (
	    alen == blen && (a == b || alen == 0 || memcmp(a, b, alen) == 0));
}

// Whether two queries find the same entry: prices_find reads the
// provider, model and platform, and the start time in whole seconds.
static int
same_query(const price_query *a, const price_query *b)
{
	return (a->start_ns / UINT64_C(1000000000)
	        == b->start_ns / UINT64_C(1000000000)
	    && bytes_eq(a->model, a->model_len, b->model, b->model_len)
	    && bytes_eq(
	        a->provider, a->provider_len, b->provider, b->provider_len)
	    && bytes_eq(
	        a->platform, a->platform_len, b->platform, b->platform_len));
}

// Token counts and prices below these bounds multiply and add without
// overflow: each product is below 2^58, ten of them below 2^62.
#define RUN_TOKENS_MAX (UINT64_C(1) << 26)
#define RUN_PRICE_MAX  (INT64_C(1) << 32)
_Static_assert(LLMCOST_BUCKET_COUNT <= 16, "the bound holds for 16 sums");

// What a run of calls under one entry and service tier shares, worked
// out once for the run: the set that prices them when the entry has a
// single set of that tier, its base set (then the call's input size
// cannot change the set: prices_set_for), and whether its prices are
// small enough to add up unchecked.  set NULL: each call goes the whole
// way (price_found).
typedef struct price_run {
	const price_entry *pe;
	unsigned tier;
	const price_set *set;
	int small; // every price of set is PRICE_UNPRICED or in [0, 2^32)
} price_run;

static void
run_start(price_run *run, const price_entry *pe, unsigned tier)
{
	const price_set *one = NULL;
	uint32_t n = 0;

	run->pe = pe;
	run->tier = tier;
	run->set = NULL;
	run->small = 0;
	for (uint32_t i = 0; i < pe->nsets; i++) {
		if (pe->sets[i].service_tier == tier) {
			one = &pe->sets[i];
			n++;
		}
	}
	if (n != 1 || one->above != 0) {
		return;
	}
	run->set = one;
	run->small = 1;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		int64_t p = one->pusd[b];
		run->small
		    &= p == PRICE_UNPRICED || (p >= 0 && p < RUN_PRICE_MAX);
	}
}

// price_found for a call of a run (found is 0 and pe is the run's
// entry): the same result, with the set found once per run and, for
// counts and prices that cannot overflow, the sum taken unchecked.
// Anything else (fees to price, large counts) goes to price_found.
static void
price_in_run(price_run *run, const price_entry *pe, const pricing_call *c,
    store_cost *out)
{
	uint64_t any = 0, big = 0;

	if (run->pe != pe || run->tier != c->service_tier) {
		run_start(run, pe, c->service_tier);
	}
	if (c->fees != NULL) {
		for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
			any |= c->fees[f];
		}
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		big |= c->usage[b];
	}
	if (run->set == NULL || !run->small || any != 0
	    || big >= RUN_TOKENS_MAX) {
		price_found(0, pe, c, out);
		return;
	}
	int64_t sum = 0;
	int unpriced = 0;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		int64_t price = run->set->pusd[b];
		if (price == PRICE_UNPRICED) {
			unpriced |= c->usage[b] > 0;
		} else {
			sum += (int64_t) c->usage[b] * price;
		}
	}
	memset(out, 0, sizeof(*out));
	out->price_id = pe->id;
	out->cost_pusd = sum;
	out->flags = unpriced ? STORE_RUN_UNPRICED : 0;
}

void
pricing_batch(const llmcost_proto_batch *b, store_cost *out)
{
	pricing_batch_version(b, out, NULL, 0);
}

// Lookups a batch keeps: the calls of a batch come from a few call
// sites, interleaved, each within a second or so, so most find what an
// earlier call of their site found, and are priced by the same set.
#define LOOKUPS 8

typedef struct lookup {
	price_query q;
	const price_entry *pe;
	int found;
	price_run run;
} lookup;

void
pricing_batch_version(
    const llmcost_proto_batch *b, store_cost *out, char *ver, size_t versz)
{
	const prices_table *t = prices_current_acquire();
	lookup lk[LOOKUPS];
	uint32_t used = 0, next = 0, cur = 0;

	if (ver != NULL && versz > 0) {
		snprintf(ver, versz, "%s", prices_table_version(t));
	}

	for (uint32_t i = 0; i < b->n_records; i++) {
		const llmcost_proto_record *r = &b->records[i];
		pricing_call c;

		c.at.provider = r->provider.ptr;
		c.at.provider_len = r->provider.len;
		c.at.model = r->model.ptr;
		c.at.model_len = r->model.len;
		c.at.start_ns = r->start_ns;
		c.at.platform = r->platform.ptr;
		c.at.platform_len = r->platform.len;
		c.usage = r->usage;
		c.fees = r->fees;
		c.service_tier = r->service_tier;
		// The last call's lookup first, then the others kept.
		if (used == 0 || !same_query(&lk[cur].q, &c.at)) {
			uint32_t k = 0;
			while (k < used && !same_query(&lk[k].q, &c.at)) {
				k++;
			}
			if (k == used) {
				k = next;
				next = (next + 1) % LOOKUPS;
				used += used < LOOKUPS ? 1 : 0;
				lk[k].q = c.at;
				lk[k].pe = NULL;
				lk[k].found = prices_find(t, &c.at, &lk[k].pe);
				lk[k].run.pe = NULL; // no run yet
			}
			cur = k;
		}
		if (lk[cur].found == 0) {
			price_in_run(&lk[cur].run, lk[cur].pe, &c, &out[i]);
		} else {
			price_found(lk[cur].found, lk[cur].pe, &c, &out[i]);
		}
	}
	prices_current_release(t);
}
