// Tests for the built-in price table and per-call pricing.  Every expected
// cost is worked out by hand in pico-USD (1e-12 USD): a price of $X per 1M
// tokens is X * 1,000,000 pico-USD per token.
#include "testutil.h"

#include "prices.h"
#include "prices_int.h"

#define NS_PER_S UINT64_C(1000000000)

// Instants used below, Unix seconds (UTC).
#define T_2023_01_01 UINT64_C(1672531200)
#define T_2025_06_10 UINT64_C(1749513600) // o3 price cut
#define T_2026_03_13 UINT64_C(1773360000) // Sonnet 4.6 >200k tier dropped
#define T_2026_08_01 UINT64_C(1785542400)
#define NOW_NS       (T_2026_08_01 * NS_PER_S)

static const price_entry *
must_find(const char *provider, const char *model, uint64_t start_ns)
{
	const price_entry *e = NULL;

	LLMCOST_PASS(prices_lookup(
	    provider, strlen(provider), model, strlen(model), start_ns, &e));
	assert_non_null(e);
	return (e);
}

static void
must_not_find(const char *provider, const char *model, uint64_t start_ns)
{
	const price_entry *e = NULL;

	LLMCOST_FAIL(prices_lookup(provider, strlen(provider), model,
	                 strlen(model), start_ns, &e),
	    LLMCOST_ENOTFOUND);
	assert_null(e);
}

// The standard base prices of e, its first standard long-context
// threshold (0: none) and that tier's prices.
static const int64_t *
base_of(const price_entry *e)
{
	const price_set *s = NULL;
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_STANDARD, 0, &s));
	assert_int_equal(s->above, 0);
	return (s->pusd);
}

static uint64_t
tier_above(const price_entry *e)
{
	for (uint32_t i = 0; i < e->nsets; i++) {
		if (e->sets[i].service_tier == LLMCOST_TIER_STANDARD
		    && e->sets[i].above != 0) {
			return (e->sets[i].above);
		}
	}
	return (0);
}

static const int64_t *
tier_of(const price_entry *e)
{
	const price_set *s = NULL;
	LLMCOST_PASS(
	    prices_set_for(e, LLMCOST_TIER_STANDARD, tier_above(e) + 1, &s));
	return (s->pusd);
}

static int64_t
must_cost(const price_entry *e, const uint64_t *usage)
{
	int64_t cost = -42;

	LLMCOST_PASS(prices_cost(e, usage, &cost));
	return (cost);
}

// The seed example: 1000 uncached in + 200 cached + 500 out.
static void
test_gpt4o_basic(void **state)
{
	(void) state;
	const price_entry *e = must_find("openai", "gpt-4o", NOW_NS);
	uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };

	assert_string_equal(e->provider, "openai");
	assert_string_equal(e->model, "gpt-4o");
	assert_int_equal(base_of(e)[LLMCOST_IN_UNCACHED], 2500000);
	assert_int_equal(base_of(e)[LLMCOST_IN_CACHE_READ], 1250000);
	assert_int_equal(base_of(e)[LLMCOST_OUT_TEXT], 10000000);

	usage[LLMCOST_IN_UNCACHED] = 1000;
	usage[LLMCOST_IN_CACHE_READ] = 200;
	usage[LLMCOST_OUT_TEXT] = 500;
	// 1000 * 2.5e6 + 200 * 1.25e6 + 500 * 1e7
	// = 2,500,000,000 + 250,000,000 + 5,000,000,000
	assert_int_equal(must_cost(e, usage), INT64_C(7750000000));

	// Reasoning is billed at the output rate, images at the input rate:
	// + 100 * 1e7 + 40 * 2.5e6 = 1,000,000,000 + 100,000,000.
	usage[LLMCOST_OUT_REASONING] = 100;
	usage[LLMCOST_IN_IMAGE] = 40;
	assert_int_equal(must_cost(e, usage), INT64_C(8850000000));
}

static void
test_zero_usage(void **state)
{
	(void) state;
	const uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };
	size_t n;
	const price_entry *t = prices_builtin(&n);

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(must_cost(&t[i], usage), 0);
	}
}

// One priced call: the entry in force now for provider/model and the
// cost of usage, worked out by hand in the comment above the row.
typedef struct cost_case {
	const char *provider;
	const char *model;
	int64_t want;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
} cost_case;

#define IN  LLMCOST_IN_UNCACHED
#define CR  LLMCOST_IN_CACHE_READ
#define W5  LLMCOST_IN_CACHE_WRITE_5M
#define W1  LLMCOST_IN_CACHE_WRITE_1H
#define AIN LLMCOST_IN_AUDIO
#define OUT LLMCOST_OUT_TEXT
#define RSN LLMCOST_OUT_REASONING

// clang-format off
static const cost_case cost_cases[] = {
	// Small prices.  gpt-4o-mini: $0.15 / $0.075 / $0.60 per 1M.
	// 3 * 150,000 + 7 * 75,000 + 11 * 600,000
	// = 450,000 + 525,000 + 6,600,000
	{ "openai", "gpt-4o-mini", INT64_C(7575000),
	    { [IN] = 3, [CR] = 7, [OUT] = 11 } },
	// gemini-2.0-flash-lite cache read: $0.01875 per 1M = 18,750.
	{ "google", "gemini-2.0-flash-lite", INT64_C(18750), { [CR] = 1 } },
	// gpt-5-nano cache read: $0.005 per 1M = 5,000 per token: $0.005.
	{ "openai", "gpt-5-nano", INT64_C(5000000000), { [CR] = 1000000 } },

	// Anthropic cache writes.  claude-3-5-sonnet-20241022: $3 / $0.30 /
	// $15; writes $3.75 / $6.
	// 100 * 3e6 + 2000 * 3e5 + 300 * 3.75e6 + 400 * 6e6 + 60 * 1.5e7
	// = 300,000,000 + 600,000,000 + 1,125,000,000 + 2,400,000,000
	//   + 900,000,000
	{ "anthropic", "claude-3-5-sonnet-20241022", INT64_C(5325000000),
	    { [IN] = 100, [CR] = 2000, [W5] = 300, [W1] = 400, [OUT] = 50,
	      [RSN] = 10 } },
	// claude-3-5-haiku-20241022: 1000 1 h writes at $1.60 per 1M.
	{ "anthropic", "claude-3-5-haiku-20241022", INT64_C(1600000000),
	    { [W1] = 1000 } },

	// Gemini audio input: $0.70, $1.00 and $0.30 per 1M.
	{ "google", "gemini-2.0-flash", INT64_C(700000000), { [AIN] = 1000 } },
	{ "google", "gemini-2.5-flash", INT64_C(1000000000),
	    { [AIN] = 1000 } },
	{ "google", "gemini-2.5-flash-lite", INT64_C(300000000),
	    { [AIN] = 1000 } },

	// Tier switching: "above N" means strictly more than N input tokens.
	// claude-sonnet-4-5, 200,000 input tokens across every input bucket.
	// Base: 150000 * 3e6 + 30000 * 3e5 + 15000 * 3.75e6 + 5000 * 6e6
	//       + 1000 * 1.5e7
	// = 450,000,000,000 + 9,000,000,000 + 56,250,000,000
	//   + 30,000,000,000 + 15,000,000,000
	{ "anthropic", "claude-sonnet-4-5", INT64_C(560250000000),
	    { [IN] = 150000, [CR] = 30000, [W5] = 15000, [W1] = 5000,
	      [OUT] = 1000 } },
	// One more input token: every bucket at the >200k price.
	// 150001 * 6e6 + 30000 * 6e5 + 15000 * 7.5e6 + 5000 * 1.2e7
	// + 1000 * 2.25e7
	// = 900,006,000,000 + 18,000,000,000 + 112,500,000,000
	//   + 60,000,000,000 + 22,500,000,000
	{ "anthropic", "claude-sonnet-4-5", INT64_C(1113006000000),
	    { [IN] = 150001, [CR] = 30000, [W5] = 15000, [W1] = 5000,
	      [OUT] = 1000 } },
	// Output tokens never count toward the threshold.
	// 545,250,000,000 + 1,000,000 * 1.5e7 = 15,545,250,000,000
	{ "anthropic", "claude-sonnet-4-5", INT64_C(15545250000000),
	    { [IN] = 150000, [CR] = 30000, [W5] = 15000, [W1] = 5000,
	      [OUT] = 1000000 } },
	// gpt-5.4: >272k.
	// 272000 * 2.5e6 + 100 * 1.5e7 = 680,000,000,000 + 1,500,000,000
	{ "openai", "gpt-5.4", INT64_C(681500000000),
	    { [IN] = 272000, [OUT] = 100 } },
	// 272001 * 5e6 + 100 * 2.25e7 = 1,360,005,000,000 + 2,250,000,000
	{ "openai", "gpt-5.4", INT64_C(1362255000000),
	    { [IN] = 272001, [OUT] = 100 } },
	// gpt-5.5: >272k, cached input counts toward the threshold.
	// Tier: 72000 * 1e7 + 200001 * 1e6 = 720,000,000,000 + 200,001,000,000
	{ "openai", "gpt-5.5", INT64_C(920001000000),
	    { [IN] = 72000, [CR] = 200001 } },
	// gemini-2.5-pro: >200k, audio input counts toward the threshold.
	// 199000 * 1.25e6 + 1000 * 1.25e6 = 250,000,000,000
	{ "google", "gemini-2.5-pro", INT64_C(250000000000),
	    { [IN] = 199000, [AIN] = 1000 } },
	// 199000 * 2.5e6 + 1001 * 2.5e6 = 497,500,000,000 + 2,502,500,000
	{ "google", "gemini-2.5-pro", INT64_C(500002500000),
	    { [IN] = 199000, [AIN] = 1001 } },
};
// clang-format on

static void
test_costs(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(cost_cases) / sizeof(cost_cases[0]);
	     i++) {
		const cost_case *c = &cost_cases[i];
		int64_t got = must_cost(
		    must_find(c->provider, c->model, NOW_NS), c->usage);

		if (got != c->want) {
			fail_msg("case %zu (%s/%s): cost %lld, want %lld", i,
			    c->provider, c->model, (long long) got,
			    (long long) c->want);
		}
	}
}

static void
test_anthropic_cache_writes(void **state)
{
	(void) state;
	const price_entry *e;

	// claude-3-5-haiku-20241022: the 1 h write is $1.60, not LiteLLM's $6
	// (the cost of 1000 such tokens is a row of cost_cases).
	e = must_find("anthropic", "claude-3-5-haiku-20241022", NOW_NS);
	assert_int_equal(base_of(e)[LLMCOST_IN_CACHE_WRITE_5M], 1000000);
	assert_int_equal(base_of(e)[LLMCOST_IN_CACHE_WRITE_1H], 1600000);

	// Dated ids carry the same prices as their aliases.
	const char *pairs[][2] = {
		{ "claude-sonnet-4-5", "claude-sonnet-4-5-20250929" },
		{ "claude-haiku-4-5", "claude-haiku-4-5-20251001" },
		{ "claude-opus-4-5", "claude-opus-4-5-20251101" },
		{ "claude-opus-4-1", "claude-opus-4-1-20250805" },
		{ "claude-opus-4-1", "claude-opus-4-20250514" },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const price_entry *a
		    = must_find("anthropic", pairs[i][0], NOW_NS);
		const price_entry *b
		    = must_find("anthropic", pairs[i][1], NOW_NS);
		assert_int_not_equal(a->id, b->id);
		assert_memory_equal(base_of(a), base_of(b),
		    sizeof(int64_t) * LLMCOST_BUCKET_COUNT);
		assert_int_equal(tier_above(a), tier_above(b));
		if (tier_above(a) != 0) {
			assert_memory_equal(tier_of(a), tier_of(b),
			    sizeof(int64_t) * LLMCOST_BUCKET_COUNT);
		}
	}
}

static void
test_o3_dated(void **state)
{
	(void) state;
	uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };
	const char *names[] = { "o3", "o3-2025-04-16" };

	usage[LLMCOST_IN_UNCACHED] = 1000;
	usage[LLMCOST_IN_CACHE_READ] = 1000;
	usage[LLMCOST_OUT_TEXT] = 1000;
	for (size_t i = 0; i < 2; i++) {
		// The last nanosecond before 2025-06-10T00:00:00Z.
		const price_entry *old = must_find(
		    "openai", names[i], T_2025_06_10 * NS_PER_S - 1);
		const price_entry *cut
		    = must_find("openai", names[i], T_2025_06_10 * NS_PER_S);
		const price_entry *now = must_find("openai", names[i], NOW_NS);

		assert_int_not_equal(old->id, cut->id);
		assert_ptr_equal(cut, now);
		assert_true(old->valid_from < cut->valid_from);
		assert_int_equal(cut->valid_from, (int64_t) T_2025_06_10);
		// Before: $10 / $2.50 / $40.
		// 1000 * 1e7 + 1000 * 2.5e6 + 1000 * 4e7 = 52,500,000,000
		assert_int_equal(must_cost(old, usage), INT64_C(52500000000));
		// After: $2 / $0.50 / $8.
		// 1000 * 2e6 + 1000 * 5e5 + 1000 * 8e6 = 10,500,000,000
		assert_int_equal(must_cost(cut, usage), INT64_C(10500000000));
		// Before every entry: not priced.
		must_not_find("openai", names[i], T_2023_01_01 * NS_PER_S - 1);
		assert_ptr_equal(
		    must_find("openai", names[i], T_2023_01_01 * NS_PER_S),
		    old);
	}
	// The same date with a prefix.
	assert_int_equal(
	    base_of(must_find("openai", "openai/o3",
	        T_2025_06_10 * NS_PER_S - 1))[LLMCOST_IN_UNCACHED],
	    10000000);
	must_not_find("openai", "openai/o3", 0);
}

static void
test_sonnet_4_6_dated(void **state)
{
	(void) state;
	uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };
	const price_entry *old = must_find(
	    "anthropic", "claude-sonnet-4-6", T_2026_03_13 * NS_PER_S - 1);
	const price_entry *now = must_find(
	    "anthropic", "claude-sonnet-4-6", T_2026_03_13 * NS_PER_S);

	assert_int_equal(tier_above(old), 200000);
	assert_int_equal(tier_above(now), 0);
	usage[LLMCOST_IN_UNCACHED] = 300000;
	// Before: 300000 * 6e6 = 1,800,000,000,000; after: 300000 * 3e6.
	assert_int_equal(must_cost(old, usage), INT64_C(1800000000000));
	assert_int_equal(must_cost(now, usage), INT64_C(900000000000));
}

static void
test_lookup_matching(void **state)
{
	(void) state;
	const price_entry *plain = must_find("openai", "gpt-4o", NOW_NS);
	const price_entry *e;

	// Provider-prefixed model names.
	assert_ptr_equal(must_find("openai", "openai/gpt-4o", NOW_NS), plain);
	must_not_find("openai", "anthropic/gpt-4o", NOW_NS);
	must_not_find("openai", "openai/", NOW_NS);
	must_not_find("openai", "openaigpt-4o", NOW_NS);
	assert_string_equal(
	    must_find("anthropic", "anthropic/claude-haiku-4-5", NOW_NS)
	        ->model,
	    "claude-haiku-4-5");

	// The Gemini providers are one.
	e = must_find("google", "gemini-2.5-pro", NOW_NS);
	assert_string_equal(e->provider, "google");
	assert_ptr_equal(must_find("gemini", "gemini-2.5-pro", NOW_NS), e);
	// vertex_ai means the Vertex platform, priced on its own.
	const price_entry *v
	    = must_find("vertex_ai", "gemini-2.5-pro", NOW_NS);
	assert_ptr_not_equal(v, e);
	assert_string_equal(v->platform, "vertex");
	assert_ptr_equal(
	    must_find("google_genai", "gemini-2.5-pro", NOW_NS), e);
	assert_ptr_equal(
	    must_find("gemini", "gemini/gemini-2.5-pro", NOW_NS), e);
	assert_ptr_equal(
	    must_find("vertex_ai", "vertex_ai/gemini-2.5-pro", NOW_NS), v);
	assert_ptr_equal(
	    must_find("google", "gemini/gemini-2.5-pro", NOW_NS), e);
	must_not_find("openai", "gemini-2.5-pro", NOW_NS);
	must_not_find("googleai", "gemini-2.5-pro", NOW_NS);

	// "azure" is not a name of OpenAI: Azure calls say provider openai,
	// platform azure (test_platforms).
	must_not_find("azure", "gpt-4o", NOW_NS);
	must_not_find("azure", "azure/gpt-4o", NOW_NS);
	// Unknown names and providers are unpriced; an unknown dated
	// snapshot is priced as its name.
	assert_ptr_equal(
	    must_find("openai", "gpt-4o-2099-01-01", NOW_NS), plain);
	must_not_find("openai", "no-such-model", NOW_NS);
	must_not_find("nosuch", "gpt-4o", NOW_NS);
	must_not_find("", "gpt-4o", NOW_NS);
	must_not_find("openai", "", NOW_NS);

	// Exact names only: no case folding, no prefix matching.
	must_not_find("openai", "GPT-4o", NOW_NS);
	must_not_find("OpenAI", "gpt-4o", NOW_NS);
	must_not_find("openai", "gpt-4x", NOW_NS);
	must_not_find("openai", "gpt-4o-", NOW_NS);
	must_not_find("anthropic", "claude-sonnet-4", NOW_NS);

	// Dated snapshots are entries of their own.
	e = must_find("openai", "gpt-4o-2024-05-13", NOW_NS);
	assert_int_equal(base_of(e)[LLMCOST_IN_UNCACHED], 5000000);
	assert_int_equal(base_of(e)[LLMCOST_IN_CACHE_READ], PRICE_UNPRICED);
	assert_ptr_not_equal(e, plain);

	// Strings are counted, not NUL-terminated.
	const char buf[] = "openaixgpt-4o-mini";
	LLMCOST_PASS(prices_lookup(buf, 6, buf + 7, 6, NOW_NS, &e));
	assert_ptr_equal(e, plain);
	LLMCOST_PASS(prices_lookup(buf, 6, buf + 7, 11, NOW_NS, &e));
	assert_string_equal(e->model, "gpt-4o-mini");
	const char nul[] = { 'g', 'p', 't', '-', '4', 'o', '\0', 'x' };
	LLMCOST_FAIL(prices_lookup("openai", 6, nul, sizeof(nul), NOW_NS, &e),
	    LLMCOST_ENOTFOUND);

	// Misuse.
	LLMCOST_FAIL(prices_lookup("openai", 6, "gpt-4o", 6, NOW_NS, NULL),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    prices_lookup(NULL, 6, "gpt-4o", 6, NOW_NS, &e), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    prices_lookup("openai", 6, NULL, 6, NOW_NS, &e), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    prices_lookup(NULL, 0, NULL, 0, NOW_NS, &e), LLMCOST_ENOTFOUND);

	// The far future still finds the latest entry.
	assert_ptr_equal(must_find("openai", "gpt-4o", UINT64_MAX), plain);
}

// (provider, platform, model) on the built-in table; NULL when unpriced.
static const price_entry *
find_plat(const char *provider, const char *platform, const char *model)
{
	const price_entry *e = NULL;
	price_query q = { .provider = provider,
		.provider_len = strlen(provider),
		.model = model,
		.model_len = strlen(model),
		.platform = platform,
		.platform_len = platform != NULL ? strlen(platform) : 0,
		.start_ns = NOW_NS };
	int rv = prices_find(prices_builtin_table(), &q, &e);

	assert_true(rv == 0 || rv == LLMCOST_ENOTFOUND);
	return (rv == 0 ? e : NULL);
}

// Bedrock calls as LiteLLM and LangChain name them: provider "bedrock"
// (or "bedrock_converse", "amazon_bedrock") and Bedrock's model ids, with
// or without a geographic prefix, a routing prefix or an ARN, find the
// vendor's Bedrock entries (never its own API's).
static void
test_bedrock_ids(void **state)
{
	(void) state;
	const char *const haiku[] = {
		"anthropic.claude-3-5-haiku-20241022-v1:0",
		"us.anthropic.claude-3-5-haiku-20241022-v1:0",
		"bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
		"bedrock/converse/anthropic.claude-3-5-haiku-20241022-v1:0",
		("arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
		 "us.anthropic.claude-3-5-haiku-20241022-v1:0"),
	};
	const char *const provs[]
	    = { "bedrock", "bedrock_converse", "amazon_bedrock" };
	const price_entry *own
	    = must_find("anthropic", "claude-3-5-haiku-20241022", NOW_NS);
	const price_entry *e;

	for (size_t p = 0; p < sizeof(provs) / sizeof(provs[0]); p++) {
		for (size_t i = 0; i < sizeof(haiku) / sizeof(haiku[0]); i++) {
			e = find_plat(provs[p], NULL, haiku[i]);
			if (e == NULL) {
				fail_msg(
				    "%s %s is unpriced", provs[p], haiku[i]);
			}
			assert_string_equal(e->provider, "anthropic");
			assert_string_equal(e->platform, "bedrock");
			assert_ptr_not_equal(e, own);
			// $0.80 / $4 per 1M tokens.
			assert_int_equal(
			    base_of(e)[LLMCOST_IN_UNCACHED], 800000);
			assert_int_equal(
			    base_of(e)[LLMCOST_OUT_TEXT], 4000000);
			// The same with the platform said by the call.
			assert_ptr_equal(
			    find_plat(provs[p], "bedrock", haiku[i]), e);
		}
	}
	// The vendor's provider name and platform "bedrock" find the same.
	assert_ptr_equal(find_plat("anthropic", "bedrock",
	                     "bedrock/us.anthropic.claude-3-5-haiku-20241022-"
	                     "v1:0"),
	    find_plat(
	        "bedrock", NULL, "anthropic.claude-3-5-haiku-20241022-v1:0"));

	// Claude 3.5 Sonnet v2 in-region and through the EU profile.
	e = find_plat(
	    "bedrock", NULL, "anthropic.claude-3-5-sonnet-20241022-v2:0");
	assert_non_null(e);
	assert_int_equal(base_of(e)[LLMCOST_IN_UNCACHED], 3000000);
	assert_ptr_equal(find_plat("bedrock", NULL,
	                     "eu.anthropic.claude-3-5-sonnet-20241022-v2:0"),
	    e);

	// Regional profiles of newer models cost 10% more than global ones.
	const price_entry *g = find_plat("bedrock", NULL,
	    "global.anthropic.claude-sonnet-4-5-20250929-v1:0");
	const price_entry *r = find_plat(
	    "bedrock", NULL, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
	assert_non_null(g);
	assert_non_null(r);
	assert_int_equal(base_of(g)[LLMCOST_IN_UNCACHED], 3000000);
	assert_int_equal(base_of(r)[LLMCOST_IN_UNCACHED], 3300000);
	assert_ptr_equal(find_plat("bedrock", NULL,
	                     "anthropic.claude-sonnet-4-5-20250929-v1:0"),
	    g);

	// Still unpriced: a vendor without Bedrock entries, a name that is
	// not a Bedrock id, an unknown geography, another platform named
	// by the call, and Bedrock ids on the vendor's own API.
	assert_null(
	    find_plat("bedrock", NULL, "meta.llama3-70b-instruct-v1:0"));
	assert_null(find_plat("bedrock", NULL, "claude-3-5-haiku-20241022"));
	assert_null(find_plat(
	    "bedrock", NULL, "xx.anthropic.claude-3-5-haiku-20241022-v1:0"));
	assert_null(find_plat(
	    "bedrock", "azure", "anthropic.claude-3-5-haiku-20241022-v1:0"));
	assert_null(find_plat(
	    "anthropic", NULL, "anthropic.claude-3-5-haiku-20241022-v1:0"));
	assert_null(find_plat("bedrock", NULL, "anthropic."));
	assert_null(find_plat("bedrock", NULL, ".claude"));
	assert_null(find_plat("bedrock", NULL, "bedrock/"));
}

static void
test_unpriced(void **state)
{
	(void) state;
	uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };
	const price_entry *e = must_find("openai", "gpt-4-turbo", NOW_NS);
	int64_t cost = -42;

	assert_int_equal(base_of(e)[LLMCOST_IN_CACHE_READ], PRICE_UNPRICED);
	// Unpriced buckets with no tokens are fine.
	usage[LLMCOST_IN_UNCACHED] = 1000;
	usage[LLMCOST_OUT_TEXT] = 100;
	// 1000 * 1e7 + 100 * 3e7 = 10,000,000,000 + 3,000,000,000
	assert_int_equal(must_cost(e, usage), INT64_C(13000000000));

	// Tokens in an unpriced bucket: ENOTFOUND with the partial cost.
	usage[LLMCOST_IN_CACHE_READ] = 100;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ENOTFOUND);
	assert_int_equal(cost, INT64_C(13000000000));

	// OpenAI reports no cache writes: priced as nothing, flagged.
	e = must_find("openai", "gpt-4o", NOW_NS);
	memset(usage, 0, sizeof(usage));
	usage[LLMCOST_IN_CACHE_WRITE_5M] = 10;
	usage[LLMCOST_OUT_TEXT] = 1;
	cost = -42;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ENOTFOUND);
	assert_int_equal(cost, INT64_C(10000000));

	// Only unpriced tokens: a partial cost of 0, still flagged.
	memset(usage, 0, sizeof(usage));
	usage[LLMCOST_OUT_AUDIO] = 5;
	cost = -42;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ENOTFOUND);
	assert_int_equal(cost, 0);

	// A huge count in an unpriced bucket is unpriced, not an overflow.
	usage[LLMCOST_OUT_AUDIO] = UINT64_MAX;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ENOTFOUND);

	// Misuse.
	LLMCOST_FAIL(prices_cost(NULL, usage, &cost), LLMCOST_EINVAL);
	LLMCOST_FAIL(prices_cost(e, NULL, &cost), LLMCOST_EINVAL);
	LLMCOST_FAIL(prices_cost(e, usage, NULL), LLMCOST_EINVAL);

	// A corrupt (negative) price is refused.
	price_set bad;
	memcpy(&bad, &e->sets[0], sizeof(bad));
	bad.pusd[LLMCOST_OUT_TEXT] = -2;
	memset(usage, 0, sizeof(usage));
	usage[LLMCOST_OUT_TEXT] = 1;
	LLMCOST_FAIL(prices_set_cost(&bad, usage, &cost), LLMCOST_EINVAL);
}

static void
test_overflow(void **state)
{
	(void) state;
	uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };
	const price_entry *e = must_find("openai", "gpt-4o", NOW_NS);
	int64_t cost = -42;

	// The largest count whose cost fits: floor(INT64_MAX / 2,500,000)
	// = 3,689,348,814,741 tokens, costing 9,223,372,036,852,500,000.
	usage[LLMCOST_IN_UNCACHED] = UINT64_C(3689348814741);
	assert_int_equal(must_cost(e, usage), INT64_C(9223372036852500000));
	// One more token overflows the product.
	usage[LLMCOST_IN_UNCACHED]++;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ETOOBIG);
	assert_int_equal(cost, -42);

	// Products that fit but whose sum does not:
	// 3e12 * 2.5e6 = 7.5e18 and 3e11 * 1e7 = 3e18.
	usage[LLMCOST_IN_UNCACHED] = UINT64_C(3000000000000);
	usage[LLMCOST_OUT_TEXT] = UINT64_C(300000000000);
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ETOOBIG);

	// Counts past INT64_MAX, and an input total past UINT64_MAX.
	memset(usage, 0, sizeof(usage));
	usage[LLMCOST_OUT_TEXT] = UINT64_MAX;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ETOOBIG);
	memset(usage, 0, sizeof(usage));
	usage[LLMCOST_IN_UNCACHED] = UINT64_MAX;
	usage[LLMCOST_IN_CACHE_READ] = UINT64_MAX;
	LLMCOST_FAIL(prices_cost(e, usage, &cost), LLMCOST_ETOOBIG);
	LLMCOST_FAIL(
	    prices_cost(must_find("openai", "gpt-5.4", NOW_NS), usage, &cost),
	    LLMCOST_ETOOBIG);
	assert_int_equal(cost, -42);
}

static void
check_prices(const price_entry *e, const int64_t *p)
{
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (p[b] != PRICE_UNPRICED && p[b] < 0) {
			fail_msg("%s/%s: bucket %d price %lld", e->provider,
			    e->model, b, (long long) p[b]);
		}
	}
	if (p[LLMCOST_IN_UNCACHED] == PRICE_UNPRICED
	    || p[LLMCOST_OUT_TEXT] == PRICE_UNPRICED) {
		fail_msg(
		    "%s/%s: input or output unpriced", e->provider, e->model);
	}
	if (p[LLMCOST_IN_CACHE_READ] != PRICE_UNPRICED
	    && p[LLMCOST_IN_CACHE_READ] > p[LLMCOST_IN_UNCACHED]) {
		fail_msg(
		    "%s/%s: cache read above input", e->provider, e->model);
	}
	if (p[LLMCOST_IN_CACHE_WRITE_5M] != PRICE_UNPRICED
	    && p[LLMCOST_IN_CACHE_WRITE_1H] != PRICE_UNPRICED
	    && p[LLMCOST_IN_CACHE_WRITE_1H] < p[LLMCOST_IN_CACHE_WRITE_5M]) {
		fail_msg(
		    "%s/%s: 1h write below 5m write", e->provider, e->model);
	}
}

static void
test_table_invariants(void **state)
{
	(void) state;
	size_t n = 0;
	const price_entry *t = prices_builtin(&n);

	assert_non_null(t);
	assert_true(n >= 40);
	assert_ptr_equal(prices_builtin(NULL), t);
	for (size_t i = 0; i < n; i++) {
		const price_entry *e = &t[i];

		assert_int_not_equal(e->id, 0);
		assert_non_null(e->provider);
		assert_non_null(e->model);
		assert_true(strlen(e->provider) > 0);
		assert_true(strlen(e->model) > 0);
		assert_true(strlen(e->provider) <= LLMCOST_MAX_PROVIDER);
		assert_true(strlen(e->model) <= LLMCOST_MAX_MODEL);
		assert_true(strcmp(e->provider, "openai") == 0
		    || strcmp(e->provider, "anthropic") == 0
		    || strcmp(e->provider, "google") == 0);
		assert_true(e->valid_from >= (int64_t) T_2023_01_01);
		assert_true(e->valid_from <= (int64_t) T_2026_08_01);
		// Ids are unique.
		for (size_t j = 0; j < i; j++) {
			if (t[j].id == e->id) {
				fail_msg("id %u used twice", (unsigned) e->id);
			}
		}
		// Sorted by (provider, model, platform, valid_from).
		if (i > 0) {
			const price_entry *p = &t[i - 1];
			int c = strcmp(p->provider, e->provider);
			if (c == 0) {
				c = strcmp(p->model, e->model);
			}
			if (c == 0) {
				c = strcmp(p->platform, e->platform);
			}
			if (c > 0
			    || (c == 0 && p->valid_from >= e->valid_from)) {
				fail_msg("not sorted at %s/%s", e->provider,
				    e->model);
			}
		}
		assert_non_null(e->source);
		assert_true(strlen(e->source) > 10);
		assert_true(e->nsets >= 1);
		for (uint32_t k = 0; k < e->nsets; k++) {
			const price_set *s = &e->sets[k];
			const price_set *base = NULL;
			check_prices(e, s->pusd);
			LLMCOST_PASS(
			    prices_set_for(e, s->service_tier, 0, &base));
			assert_int_equal(base->above, 0);
			// A tier is priced exactly where its base is, and
			// never cheaper.
			for (int b = 0;
			     s->above != 0 && b < LLMCOST_BUCKET_COUNT; b++) {
				assert_int_equal(
				    base->pusd[b] == PRICE_UNPRICED,
				    s->pusd[b] == PRICE_UNPRICED);
				if (s->pusd[b] < base->pusd[b]) {
					fail_msg("%s/%s: tier below base",
					    e->provider, e->model);
				}
			}
			// Reasoning at the output rate, images at the input
			// rate (every provider in the table bills them so).
			assert_int_equal(s->pusd[LLMCOST_OUT_REASONING],
			    s->pusd[LLMCOST_OUT_TEXT]);
			// (Except where the source gives images a price of
			// their own: Gemini 3.1 Flash Live, $1 vs $0.75.)
			if (strcmp(e->model, "gemini-3.1-flash-live-preview")
			    != 0) {
				assert_int_equal(s->pusd[LLMCOST_IN_IMAGE],
				    s->pusd[LLMCOST_IN_UNCACHED]);
			}
		}

		// Every entry is found by its own name (a pattern: by a
		// name it matches, below) on its platform at its own date.
		if (e->match == PRICE_MATCH_PATTERN) {
			continue;
		}
		price_query q = { .provider = e->provider,
			.provider_len = strlen(e->provider),
			.model = e->model,
			.model_len = strlen(e->model),
			.platform = e->platform,
			.platform_len = strlen(e->platform),
			.start_ns = (uint64_t) e->valid_from * NS_PER_S };
		const price_entry *f = NULL;
		LLMCOST_PASS(prices_find(prices_builtin_table(), &q, &f));
		assert_ptr_equal(f, e);
	}
}

// The models the table must hold, as of now.
static void
test_table_coverage(void **state)
{
	(void) state;
	static const char *const openai[] = { "gpt-4o", "gpt-4o-mini",
		"gpt-4-turbo", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o1",
		"o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini",
		"gpt-5-nano", "gpt-5.1", "gpt-5.2", "gpt-5.4", "gpt-5.5" };
	static const char *const anthropic[]
	    = { "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022",
		      "claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514",
		      "claude-opus-4-20250514", "claude-opus-4-1",
		      "claude-opus-4-1-20250805", "claude-sonnet-4-5",
		      "claude-sonnet-4-5-20250929", "claude-haiku-4-5",
		      "claude-haiku-4-5-20251001", "claude-opus-4-5",
		      "claude-opus-4-5-20251101", "claude-sonnet-4-6" };
	static const char *const google[]
	    = { "gemini-2.0-flash", "gemini-2.0-flash-lite", "gemini-2.5-pro",
		      "gemini-2.5-flash", "gemini-2.5-flash-lite" };

	for (size_t i = 0; i < sizeof(openai) / sizeof(openai[0]); i++) {
		(void) must_find("openai", openai[i], NOW_NS);
	}
	for (size_t i = 0; i < sizeof(anthropic) / sizeof(anthropic[0]); i++) {
		(void) must_find("anthropic", anthropic[i], NOW_NS);
	}
	for (size_t i = 0; i < sizeof(google) / sizeof(google[0]); i++) {
		(void) must_find("google", google[i], NOW_NS);
	}
	// Tiers where the survey lists them.
	assert_int_equal(
	    tier_above(must_find("anthropic", "claude-sonnet-4-5", NOW_NS)),
	    200000);
	assert_int_equal(
	    tier_above(must_find("openai", "gpt-5.4", NOW_NS)), 272000);
	assert_int_equal(
	    tier_above(must_find("openai", "gpt-5.5", NOW_NS)), 272000);
	assert_int_equal(tier_above(must_find(
	                     "anthropic", "claude-sonnet-4-20250514", NOW_NS)),
	    200000);
	assert_int_equal(
	    tier_above(must_find("google", "gemini-2.5-pro", NOW_NS)), 200000);
	assert_int_equal(tier_above(must_find("openai", "gpt-4o", NOW_NS)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpt4o_basic),
		cmocka_unit_test(test_zero_usage),
		cmocka_unit_test(test_costs),
		cmocka_unit_test(test_anthropic_cache_writes),
		cmocka_unit_test(test_o3_dated),
		cmocka_unit_test(test_sonnet_4_6_dated),
		cmocka_unit_test(test_lookup_matching),
		cmocka_unit_test(test_bedrock_ids),
		cmocka_unit_test(test_unpriced),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_table_invariants),
		cmocka_unit_test(test_table_coverage),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
