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
	pricing_call pc = { .at.provider = provider,
		.at.provider_len = provider ? strlen(provider) : 0,
		.at.model = model,
		.at.model_len = model ? strlen(model) : 0,
		.at.start_ns = start_ns,
		.usage = usage };
	store_cost c;

	memset(&c, 0xee, sizeof(c));
	pricing_price_call(NULL, &pc, &c);
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

// A batch looks a price entry up once for a run of calls of the same
// provider, model, platform and second; every call is still priced as a
// lookup of its own prices it: neighbours differ in one thing at a time
// (platform, a second across a dated price change, tier, input past the
// long-context threshold, model, provider), and a batch priced after a
// price-table reload uses the new table.
#define T_GPT4O_CHANGE (UINT64_C(1727827200) * 1000000000u) // 2024-10-02

static void
test_batch_lookup_reuse(void **state)
{
	(void) state;
	static const struct {
		const char *provider, *model, *platform;
		uint64_t start_ns;
		unsigned tier;
		uint64_t in;
	} calls[] = {
		{ "openai", "gpt-4o", "", T2025, LLMCOST_TIER_STANDARD, 1000 },
		{ "openai", "gpt-4o", "azure", T2025, LLMCOST_TIER_STANDARD,
		    1000 },
		{ "openai", "gpt-4o", "", T2025 + 999999999,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "openai", "gpt-4o", "", T_GPT4O_CHANGE - 1,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "openai", "gpt-4o", "", T_GPT4O_CHANGE,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "openai", "gpt-4o", "", T_GPT4O_CHANGE, LLMCOST_TIER_BATCH,
		    1000 },
		{ "openai", "gpt-4o", "", T_GPT4O_CHANGE,
		    LLMCOST_TIER_PRIORITY, 1000 },
		{ "google", "gemini-2.5-pro", "", T2025, LLMCOST_TIER_STANDARD,
		    1000 },
		{ "google", "gemini-2.5-pro", "", T2025, LLMCOST_TIER_STANDARD,
		    250000 },
		{ "google", "gemini-2.5-pro", "", T2025, LLMCOST_TIER_BATCH,
		    250000 },
		{ "google", "gemini-2.5-pro", "vertex", T2025,
		    LLMCOST_TIER_STANDARD, 250000 },
		{ "google", "gemini-2.0-flash-001", "vertex", T2025,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "google", "gemini-2.0-flash-001", "", T2025,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "acme", "gemini-2.0-flash-001", "", T2025,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "google", "gemini-2.0-flash-001", "", T2025,
		    LLMCOST_TIER_STANDARD, 1000 },
		// The last nanosecond of T_GPT4O_CHANGE's second (call 4's
		// entry), then back across the change (call 3's).
		{ "openai", "gpt-4o", "", T_GPT4O_CHANGE + 999999999,
		    LLMCOST_TIER_STANDARD, 1000 },
		{ "openai", "gpt-4o", "", T_GPT4O_CHANGE - 1,
		    LLMCOST_TIER_STANDARD, 1000 },
	};
	enum { N = sizeof(calls) / sizeof(calls[0]) };
	llmcost_proto_record recs[N];
	llmcost_proto_batch b;
	store_cost out[N], want;
	memset(recs, 0, sizeof(recs));
	for (size_t i = 0; i < N; i++) {
		recs[i].provider = (llmcost_proto_str) { calls[i].provider,
			(uint32_t) strlen(calls[i].provider) };
		recs[i].model = (llmcost_proto_str) { calls[i].model,
			(uint32_t) strlen(calls[i].model) };
		recs[i].platform = (llmcost_proto_str) { calls[i].platform,
			(uint32_t) strlen(calls[i].platform) };
		recs[i].start_ns = calls[i].start_ns;
		recs[i].service_tier = calls[i].tier;
		recs[i].usage[LLMCOST_IN_UNCACHED] = calls[i].in;
		recs[i].usage[LLMCOST_OUT_TEXT] = 100;
	}
	memset(&b, 0, sizeof(b));
	b.records = recs;
	b.n_records = N;

	for (int round = 0; round < 2; round++) {
		memset(out, 0xee, sizeof(out));
		pricing_batch(&b, out);
		for (size_t i = 0; i < N; i++) {
			pricing_call pc
			    = { .at.provider = recs[i].provider.ptr,
				      .at.provider_len = recs[i].provider.len,
				      .at.model = recs[i].model.ptr,
				      .at.model_len = recs[i].model.len,
				      .at.platform = recs[i].platform.ptr,
				      .at.platform_len = recs[i].platform.len,
				      .at.start_ns = recs[i].start_ns,
				      .usage = recs[i].usage,
				      .service_tier = recs[i].service_tier };
			pricing_price_call(NULL, &pc, &want);
			if (memcmp(&out[i], &want, sizeof(want)) != 0) {
				fail_msg(
				    "round %d call %zu: entry %u cost %lld "
				    "flags %u, want entry %u cost %lld "
				    "flags %u",
				    round, i, (unsigned) out[i].price_id,
				    (long long) out[i].cost_pusd,
				    (unsigned) out[i].flags,
				    (unsigned) want.price_id,
				    (long long) want.cost_pusd,
				    (unsigned) want.flags);
			}
		}
		if (round == 1) {
			// The reloaded table (the override alone): gpt-4o on
			// OpenAI's own API, at any time after its valid_from.
			assert_int_equal(out[0].price_id, 9001);
			assert_int_equal(out[0].cost_pusd, 1000 * 7 + 100 * 9);
			assert_int_equal(out[1].flags, STORE_RUN_UNPRICED);
			assert_int_equal(out[4].price_id, 9001);
			assert_int_equal(out[14].flags, STORE_RUN_UNPRICED);
			break;
		}
		// The neighbours do differ (or the reuse is not tested).
		assert_int_not_equal(out[0].price_id, out[1].price_id);
		assert_int_not_equal(out[3].price_id, out[4].price_id);
		assert_int_not_equal(out[4].cost_pusd, out[5].cost_pusd);
		assert_int_not_equal(out[5].cost_pusd, out[6].cost_pusd);
		assert_int_not_equal(out[7].cost_pusd, out[8].cost_pusd);
		assert_int_not_equal(out[8].cost_pusd, out[9].cost_pusd);
		assert_int_not_equal(out[9].price_id, out[10].price_id);
		assert_int_not_equal(out[11].price_id, out[12].price_id);
		assert_int_equal(out[13].flags, STORE_RUN_UNPRICED);
		assert_int_equal(out[14].flags, 0);
		assert_int_equal(out[15].price_id, out[4].price_id);
		assert_int_equal(out[16].price_id, out[3].price_id);
		// A reload: an override of gpt-4o at 7 and 9 pico-USD.
		static const char text[]
		    = "entry 9001 openai gpt-4o\nvalid_from 2024-01-01\n"
		      "source test\nstandard input_uncached=0.000007 "
		      "output_text=0.000009\n";
		prices_source src = { "over.txt", text, strlen(text), 1 };
		prices_table *t = NULL;
		char err[PRICES_ERR_MAX];
		LLMCOST_PASS(
		    prices_table_build(&src, 1, &t, err, sizeof(err)));
		prices_current_set(t);
	}
	prices_current_set(NULL);
}

// Per-request fees: priced from the same entry and added to the cost;
// a fee without a price leaves the call unpriced (tokens still priced),
// never a silent $0 for the searches.
#define WEB_ANTHROPIC INT64_C(10000000000) // $10 per 1,000
#define WEB_GEMINI    INT64_C(35000000000) // $35 per 1,000

static store_cost
price_fees(const char *provider, const char *model,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], uint64_t searches)
{
	uint64_t fees[LLMCOST_FEE_COUNT]
	    = { [LLMCOST_FEE_WEB_SEARCH] = searches };
	pricing_call pc = { .at.provider = provider,
		.at.provider_len = strlen(provider),
		.at.model = model,
		.at.model_len = strlen(model),
		.at.start_ns = T2025,
		.usage = usage,
		.fees = fees };
	store_cost c;

	memset(&c, 0xee, sizeof(c));
	pricing_price_call(NULL, &pc, &c);
	return (c);
}

static void
test_fees(void **state)
{
	(void) state;
	uint64_t u[LLMCOST_BUCKET_COUNT]
	    = { [LLMCOST_IN_UNCACHED] = 1000, [LLMCOST_OUT_TEXT] = 50 };

	// Anthropic: $3 in, $15 out per 1M, and 4 searches at $0.01.
	store_cost c = price_fees("anthropic", "claude-sonnet-4-5", u, 4);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.fee_cost_pusd, 4 * WEB_ANTHROPIC);
	assert_int_equal(c.cost_pusd,
	    1000 * INT64_C(3000000) + 50 * INT64_C(15000000)
	        + 4 * WEB_ANTHROPIC);

	// Gemini grounding: $0.035 per grounded prompt.
	c = price_fees("google", "gemini-2.5-flash", u, 1);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.fee_cost_pusd, WEB_GEMINI);
	assert_int_equal(c.cost_pusd,
	    1000 * INT64_C(300000) + 50 * INT64_C(2500000) + WEB_GEMINI);

	// No fees: the token cost alone, fee cost 0.
	c = price_fees("anthropic", "claude-sonnet-4-5", u, 0);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.fee_cost_pusd, 0);
	assert_int_equal(
	    c.cost_pusd, 1000 * INT64_C(3000000) + 50 * INT64_C(15000000));

	// OpenAI's web search has no sourced price: tokens priced, the call
	// flagged unpriced.  Without searches the same call is fully priced.
	c = price_fees("openai", "gpt-4o", u, 2);
	assert_int_equal(c.flags, STORE_RUN_UNPRICED);
	assert_int_equal(c.fee_cost_pusd, 0);
	assert_int_equal(c.cost_pusd, 1000 * GPT4O_IN + 50 * GPT4O_OUT);
	c = price_fees("openai", "gpt-4o", u, 0);
	assert_int_equal(c.flags, 0);

	// Overflow, in the fees alone and in tokens + fees.
	c = price_fees("anthropic", "claude-sonnet-4-5", u, UINT64_MAX / 2);
	assert_int_equal(c.flags, STORE_RUN_OVERFLOW);
	assert_int_equal(c.cost_pusd, 0);
	assert_int_equal(c.fee_cost_pusd, 0);
	// 900e9 output tokens are 9e18 pUSD (fits); 100e6 searches add 1e18.
	uint64_t big[LLMCOST_BUCKET_COUNT]
	    = { [LLMCOST_OUT_TEXT] = UINT64_C(600000000000) };
	c = price_fees("anthropic", "claude-sonnet-4-5", big, 0);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.cost_pusd, INT64_C(9000000000000000000));
	c = price_fees("anthropic", "claude-sonnet-4-5", big, 100000000);
	assert_int_equal(c.flags, STORE_RUN_OVERFLOW);
	assert_int_equal(c.cost_pusd, 0);
}

// Which entries have a web search price: Anthropic's and Gemini's where
// the sources publish one, never OpenAI's (docs/prices.md).  The first
// table's entries (ids 1 to 60) keep the prices they had.
#define WEB_GEMINI_3 INT64_C(14000000000) // $14 per 1,000 queries

static void
test_fee_table(void **state)
{
	(void) state;
	size_t n;
	const price_entry *t = prices_builtin(&n);
	int64_t p;
	size_t anthropic = 0, google = 0;

	for (size_t i = 0; i < n; i++) {
		int rv = prices_fee(&t[i], LLMCOST_FEE_WEB_SEARCH, &p);
		int first = t[i].id <= 60;
		if (strcmp(t[i].provider, "openai") == 0) {
			assert_int_equal(rv, LLMCOST_ENOTFOUND);
		} else if (strcmp(t[i].provider, "google") == 0) {
			// Gemini 1.5 (grounding priced then is not in the
			// sources) and the live and omni previews (LiteLLM
			// gives no search price) have none.
			if (strncmp(t[i].model, "gemini-1.5-", 11) == 0
			    || strncmp(t[i].model, "gemini-3.1-flash-live", 21)
			        == 0
			    || strncmp(t[i].model, "gemini-omni-", 12) == 0) {
				assert_int_equal(rv, LLMCOST_ENOTFOUND);
				continue;
			}
			LLMCOST_PASS(rv);
			if (first || strncmp(t[i].model, "gemini-2", 8) == 0
			    || strncmp(t[i].model, "gemini-live-2", 13) == 0) {
				assert_int_equal(p, WEB_GEMINI);
			} else {
				assert_int_equal(p, WEB_GEMINI_3);
			}
			google += first;
		} else if (rv == 0) {
			assert_int_equal(p, WEB_ANTHROPIC);
			anthropic += first;
		} else {
			assert_int_equal(rv, LLMCOST_ENOTFOUND);
		}
	}
	// Claude 3.5 Haiku/Sonnet and Haiku 4.5 have no sourced price.
	assert_int_equal(anthropic, 11);
	assert_int_equal(google, 7);
	LLMCOST_FAIL(prices_fee(&t[0], LLMCOST_FEE_COUNT, &p), LLMCOST_EINVAL);
	LLMCOST_FAIL(prices_fee(NULL, 0, &p), LLMCOST_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_lookup_reuse),
		cmocka_unit_test(test_fees),
		cmocka_unit_test(test_fee_table),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
