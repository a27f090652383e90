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
// only when no recent call found it (a lookup holds for the second it
// was made in, by one subtraction), and per lookup and service tier,
// when the entry has a single set for that tier, the set is found once
// and small counts are summed without overflow checks (price_in_run);
// every other call takes the general path, so the result is the same.
// The call's fields are gathered for the general path only.
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

// price_found for a call r of a run (found is 0 and pe is the run's
// entry): the same result, with the set found once per run and, for
// counts and prices that cannot overflow, the sum taken unchecked;
// returns 0.  Anything else (fees to price, large counts) returns 1,
// with *out untouched, for price_found.
static int
price_in_run(price_run *run, const price_entry *pe,
    const llmcost_proto_record *r, store_cost *out)
{
	uint64_t any = 0, big = 0;

	if (run->pe != pe || run->tier != r->service_tier) {
		run_start(run, pe, r->service_tier);
	}
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		any |= r->fees[f];
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		big |= r->usage[b];
	}
	if (run->set == NULL || !run->small || any != 0
	    || big >= RUN_TOKENS_MAX) {
		return (1);
	}
	int64_t sum = 0;
	int unpriced = 0;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		int64_t price = run->set->pusd[b];
		if (price == PRICE_UNPRICED) {
			unpriced |= r->usage[b] > 0;
		} else {
			sum += (int64_t) r->usage[b] * price;
		}
	}
	memset(out, 0, sizeof(*out));
	out->price_id = pe->id;
	out->cost_pusd = sum;
	out->flags = unpriced ? STORE_RUN_UNPRICED : 0;
	return (0);
}

void
pricing_batch(const llmcost_proto_batch *b, store_cost *out)
{
	pricing_batch_version(b, out, NULL, 0);
}

// Lookups a batch keeps: the calls of a batch come from a few call
// sites, interleaved, each within a second or so, so most find what an
// earlier call of their site found, and are priced by the same set.
#define LOOKUPS    8
#define NS_PER_SEC UINT64_C(1000000000)

typedef struct lookup {
	price_query q;
	// The first nanosecond of q's second: prices_find reads the start
	// time in whole seconds, so a call in [sec_ns, sec_ns + 1 s) finds
	// what q found (one subtraction, no division per comparison).
	uint64_t sec_ns;
	const price_entry *pe;
	int found;
	price_run run;
} lookup;

// Whether the call r finds the entry that l found: the same provider,
// model and platform, and a start in l's second.
static inline int
same_lookup(const lookup *l, const llmcost_proto_record *r)
{
	return (r->start_ns - l->sec_ns < NS_PER_SEC
	    && bytes_eq(l->q.model, l->q.model_len, r->model.ptr, r->model.len)
	    && bytes_eq(l->q.provider, l->q.provider_len, r->provider.ptr,
	        r->provider.len)
	    && bytes_eq(l->q.platform, l->q.platform_len, r->platform.ptr,
	        r->platform.len));
}

// What pricing needs of the decoded call r.
static void
call_of(const llmcost_proto_record *r, pricing_call *c)
{
	c->at.provider = r->provider.ptr;
	c->at.provider_len = r->provider.len;
	c->at.model = r->model.ptr;
	c->at.model_len = r->model.len;
	c->at.start_ns = r->start_ns;
	c->at.platform = r->platform.ptr;
	c->at.platform_len = r->platform.len;
	c->usage = r->usage;
	c->fees = r->fees;
	c->service_tier = r->service_tier;
}

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

		// The last call's lookup first, then the others kept.
		if (used == 0 || !same_lookup(&lk[cur], r)) {
			uint32_t k = 0;
			while (k < used && !same_lookup(&lk[k], r)) {
				k++;
			}
			if (k == used) {
				k = next;
				next = (next + 1) % LOOKUPS;
				used += used < LOOKUPS ? 1 : 0;
				call_of(r, &c);
				lk[k].q = c.at;
				lk[k].sec_ns
				    = r->start_ns - r->start_ns % NS_PER_SEC;
				lk[k].pe = NULL;
				lk[k].found = prices_find(t, &c.at, &lk[k].pe);
				lk[k].run.pe = NULL; // no run yet
			}
			cur = k;
		}
		if (lk[cur].found != 0
		    || price_in_run(&lk[cur].run, lk[cur].pe, r, &out[i])
		        != 0) {
			call_of(r, &c);
			price_found(lk[cur].found, lk[cur].pe, &c, &out[i]);
		}
	}
	prices_current_release(t);
}
