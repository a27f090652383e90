// Tests for the pricing stage (core/pricing.c): every call gets a verdict
// (priced, partly priced, unpriced, overflowed) with the price entry that
// gave it, and a batch is priced record by record into the matching
// slot.  Expected costs are worked out by hand from gpt-4o's list price
// ($2.50 in, $1.25 cached, $10 out per 1M tokens, in force since 2023).
#include "testutil.h"

#include "prices.h"
#include "pricing.h"

#define GPT4O_IN  INT64_C(2500000)
#define GPT4O_OUT INT64_C(10000000)
// 2025-01-01T00:00:00Z and 2000-01-01T00:00:00Z, in ns.
#define T2025 (UINT64_C(1735689600) * 1000000000u)
#define T2000 (UINT64_C(946684800) * 1000000000u)

static store_cost
price(const char *provider, const char *model, uint64_t start_ns,
    const uint64_t usage[LLMCOST_BUCKET_COUNT])
{
	store_cost c;

	memset(&c, 0xee, sizeof(c));
	pricing_price(provider, provider ? strlen(provider) : 0, model,
	    model ? strlen(model) : 0, start_ns, usage, NULL, &c);
	return (c);
}

static void
test_verdicts(void **state)
{
	(void) state;
	const price_entry *pe;
	uint64_t u[LLMCOST_BUCKET_COUNT] = { 0 };

	LLMCOST_PASS(prices_lookup("openai", 6, "gpt-4o", 6, T2025, &pe));

	// Priced: 1000 in + 50 out.
	u[LLMCOST_IN_UNCACHED] = 1000;
	u[LLMCOST_OUT_TEXT] = 50;
	store_cost c = price("openai", "gpt-4o", T2025, u);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.price_id, pe->id);
	assert_int_equal(c.cost_pusd, 1000 * GPT4O_IN + 50 * GPT4O_OUT);

	// A bucket without a price: the priced part, flagged.
	u[LLMCOST_IN_AUDIO] = 7;
	c = price("openai", "gpt-4o", T2025, u);
	assert_int_equal(c.flags, STORE_RUN_UNPRICED);
	assert_int_equal(c.price_id, pe->id);
	assert_int_equal(c.cost_pusd, 1000 * GPT4O_IN + 50 * GPT4O_OUT);
	u[LLMCOST_IN_AUDIO] = 0;

	// Overflow: flagged, cost 0, the entry kept.
	u[LLMCOST_OUT_TEXT] = UINT64_MAX / 2;
	c = price("openai", "gpt-4o", T2025, u);
	assert_int_equal(c.flags, STORE_RUN_OVERFLOW);
	assert_int_equal(c.price_id, pe->id);
	assert_int_equal(c.cost_pusd, 0);
	u[LLMCOST_OUT_TEXT] = 50;

	// No entry: an unknown model, a call before any price, no model.
	static const struct {
		const char *provider, *model;
		uint64_t start;
	} none[] = {
		{ "acme", "mystery-1", T2025 },
		{ "openai", "gpt-4o", T2000 },
		{ "openai", NULL, T2025 },
		{ NULL, "gpt-4o", T2025 },
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		c = price(none[i].provider, none[i].model, none[i].start, u);
		assert_int_equal(c.flags, STORE_RUN_UNPRICED);
		assert_int_equal(c.price_id, 0);
		assert_int_equal(c.cost_pusd, 0);
	}
}

// pricing_batch prices records[i] into out[i] and touches nothing else.
static void
test_batch(void **state)
{
	(void) state;
	llmcost_proto_record recs[3];
	llmcost_proto_batch b;
	store_cost out[4];

	memset(recs, 0, sizeof(recs));
	for (int i = 0; i < 3; i++) {
		recs[i].provider = (llmcost_proto_str) { "openai", 6 };
		recs[i].model = (llmcost_proto_str) { "gpt-4o", 6 };
		recs[i].start_ns = T2025;
		recs[i].usage[LLMCOST_IN_UNCACHED] = (uint64_t) i + 1;
	}
	recs[1].model = (llmcost_proto_str) { "nope", 4 };
	memset(&b, 0, sizeof(b));
	b.records = recs;
	b.n_records = 3;
	memset(out, 0xee, sizeof(out));
	pricing_batch(&b, out);
	assert_int_equal(out[0].cost_pusd, 1 * GPT4O_IN);
	assert_int_equal(out[0].flags, 0);
	assert_int_equal(out[1].flags, STORE_RUN_UNPRICED);
	assert_int_equal(out[1].cost_pusd, 0);
	assert_int_equal(out[2].cost_pusd, 3 * GPT4O_IN);
	assert_int_equal(out[3].price_id, 0xeeeeeeeeu); // untouched
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_batch),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
