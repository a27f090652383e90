// DESIGN: the built-in price table is a static const array of dated
// entries, one row per (provider, model, valid_from), kept sorted so that a
// lookup is two binary searches (the model's run of entries, then the last
// one in force at the call's start) with no allocation and no locks.  Rows
// are written as integers in pico-USD per token, never derived from
// floating point, so every price is exact and reviewable against the
// $/1M comment above it.  Entries are never edited in place once released:
// a price change is a new row with a later valid_from and a fresh id, so
// a call priced once can always be priced again the same way (the id is
// the price version stored with each call).  Each provider has a row macro
// that fills the buckets it bills alike (image input at the text input
// rate, reasoning at the output rate) and leaves the rest PRICE_UNPRICED,
// because an unpriced bucket with tokens must surface as "unpriced", never
// as a silent $0.  Costs are summed with checked 64-bit arithmetic:
// INT64_MAX pico-USD is about 9.2 million USD, far beyond one call.
// Sources, dates and cross-checks: docs/prices.md.

#include <string.h>

#include "llmcost_common.h"
#include "prices.h"

#define U PRICE_UNPRICED

// valid_from instants (Unix seconds, UTC).
// 2023-01-01T00:00:00Z: before any model in the table, "since ever".
#define T2023 INT64_C(1672531200)
// 2025-06-10T00:00:00Z: OpenAI cuts o3 from $10/$40 to $2/$8.
#define T2025_06_10 INT64_C(1749513600)
// 2026-03-13T00:00:00Z: Anthropic drops the >200k surcharge of Sonnet 4.6.
#define T2026_03_13 INT64_C(1773360000)

// Row macros.  Kept by hand (clang-format off down to the end of the
// table) so that each bucket and each row stays on a line of its own.
// clang-format off
#define BUCKETS(in, cr, w5, w1, ain, iin, out, rout, aout, iout) \
	{                                                         \
		[LLMCOST_IN_UNCACHED] = (in),                     \
		[LLMCOST_IN_CACHE_READ] = (cr),                   \
		[LLMCOST_IN_CACHE_WRITE_5M] = (w5),               \
		[LLMCOST_IN_CACHE_WRITE_1H] = (w1),               \
		[LLMCOST_IN_AUDIO] = (ain),                       \
		[LLMCOST_IN_IMAGE] = (iin),                       \
		[LLMCOST_OUT_TEXT] = (out),                       \
		[LLMCOST_OUT_REASONING] = (rout),                 \
		[LLMCOST_OUT_AUDIO] = (aout),                     \
		[LLMCOST_OUT_IMAGE] = (iout),                     \
	}
#define NO_TIER 0, BUCKETS(U, U, U, U, U, U, U, U, U, U)

// OpenAI chat models: input, cached input, output.  Image input is billed
// as input tokens and reasoning as output tokens; OpenAI reports no cache
// writes, and these models take no audio.
#define OPENAI_B(in, cr, out) BUCKETS(in, cr, U, U, U, in, out, out, U, U)
#define OPENAI(id, model, from, in, cr, out)                 \
	{ (id), "openai", (model), (from), OPENAI_B(in, cr, out), \
	    NO_TIER }
#define OPENAI_T(id, model, from, in, cr, out, above, tin, tcr, tout) \
	{ (id), "openai", (model), (from), OPENAI_B(in, cr, out),      \
	    (above), OPENAI_B(tin, tcr, tout) }

// Anthropic: input, cache read, cache write 5 min / 1 h, output.  Images
// are billed as input tokens, extended thinking as output tokens; no audio.
#define ANTHROPIC_B(in, cr, w5, w1, out) \
	BUCKETS(in, cr, w5, w1, U, in, out, out, U, U)
#define ANTHROPIC(id, model, from, in, cr, w5, w1, out) \
	{ (id), "anthropic", (model), (from),           \
	    ANTHROPIC_B(in, cr, w5, w1, out), NO_TIER }
#define ANTHROPIC_T(id, model, from, in, cr, w5, w1, out, above, tin, tcr, \
    tw5, tw1, tout)                                                       \
	{ (id), "anthropic", (model), (from),                              \
	    ANTHROPIC_B(in, cr, w5, w1, out), (above),                     \
	    ANTHROPIC_B(tin, tcr, tw5, tw1, tout) }

// Google Gemini: input (text, image, video), cache read, audio input,
// output (thinking included).  Context-cache storage is billed per hour,
// not per token, so cache writes stay unpriced.
#define GEMINI_B(in, cr, ain, out) \
	BUCKETS(in, cr, U, U, ain, in, out, out, U, U)
#define GEMINI(id, model, from, in, cr, ain, out)                   \
	{ (id), "google", (model), (from), GEMINI_B(in, cr, ain, out), \
	    NO_TIER }
#define GEMINI_T(id, model, from, in, cr, ain, out, above, tin, tcr, tain, \
    tout)                                                                 \
	{ (id), "google", (model), (from), GEMINI_B(in, cr, ain, out),      \
	    (above), GEMINI_B(tin, tcr, tain, tout) }

// Sorted by (provider, model, valid_from) in strcmp() order; ids are
// assigned once and never reused: a new entry takes the next free id
// (61), wherever it sorts.
static const price_entry builtin[] = {
	// $0.8 / $0.08 / $4 per 1M; write 5m $1, 1h $1.6
	ANTHROPIC(1, "claude-3-5-haiku-20241022", T2023,
	    800000, 80000, 1000000, 1600000, 4000000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	ANTHROPIC(2, "claude-3-5-sonnet-20241022", T2023,
	    3000000, 300000, 3750000, 6000000, 15000000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	ANTHROPIC(3, "claude-3-7-sonnet-20250219", T2023,
	    3000000, 300000, 3750000, 6000000, 15000000),
	// $1 / $0.1 / $5 per 1M; write 5m $1.25, 1h $2
	ANTHROPIC(4, "claude-haiku-4-5", T2023,
	    1000000, 100000, 1250000, 2000000, 5000000),
	// $1 / $0.1 / $5 per 1M; write 5m $1.25, 1h $2
	ANTHROPIC(5, "claude-haiku-4-5-20251001", T2023,
	    1000000, 100000, 1250000, 2000000, 5000000),
	// $15 / $1.5 / $75 per 1M; write 5m $18.75, 1h $30
	ANTHROPIC(6, "claude-opus-4-1", T2023,
	    15000000, 1500000, 18750000, 30000000, 75000000),
	// $15 / $1.5 / $75 per 1M; write 5m $18.75, 1h $30
	ANTHROPIC(7, "claude-opus-4-1-20250805", T2023,
	    15000000, 1500000, 18750000, 30000000, 75000000),
	// $15 / $1.5 / $75 per 1M; write 5m $18.75, 1h $30
	ANTHROPIC(8, "claude-opus-4-20250514", T2023,
	    15000000, 1500000, 18750000, 30000000, 75000000),
	// $5 / $0.5 / $25 per 1M; write 5m $6.25, 1h $10
	ANTHROPIC(9, "claude-opus-4-5", T2023,
	    5000000, 500000, 6250000, 10000000, 25000000),
	// $5 / $0.5 / $25 per 1M; write 5m $6.25, 1h $10
	ANTHROPIC(10, "claude-opus-4-5-20251101", T2023,
	    5000000, 500000, 6250000, 10000000, 25000000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	// >200k in: $6 / $0.6 / $22.5; write 5m $7.5, 1h $12
	ANTHROPIC_T(11, "claude-sonnet-4-20250514", T2023,
	    3000000, 300000, 3750000, 6000000, 15000000,
	    200000, 6000000, 600000, 7500000, 12000000, 22500000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	// >200k in: $6 / $0.6 / $22.5; write 5m $7.5, 1h $12
	ANTHROPIC_T(12, "claude-sonnet-4-5", T2023,
	    3000000, 300000, 3750000, 6000000, 15000000,
	    200000, 6000000, 600000, 7500000, 12000000, 22500000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	// >200k in: $6 / $0.6 / $22.5; write 5m $7.5, 1h $12
	ANTHROPIC_T(13, "claude-sonnet-4-5-20250929", T2023,
	    3000000, 300000, 3750000, 6000000, 15000000,
	    200000, 6000000, 600000, 7500000, 12000000, 22500000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	// >200k in: $6 / $0.6 / $22.5; write 5m $7.5, 1h $12
	ANTHROPIC_T(14, "claude-sonnet-4-6", T2023,
	    3000000, 300000, 3750000, 6000000, 15000000,
	    200000, 6000000, 600000, 7500000, 12000000, 22500000),
	// $3 / $0.3 / $15 per 1M; write 5m $3.75, 1h $6
	ANTHROPIC(15, "claude-sonnet-4-6", T2026_03_13,
	    3000000, 300000, 3750000, 6000000, 15000000),
	// $0.1 / $0.025 / $0.4 per 1M; audio in $0.7
	GEMINI(16, "gemini-2.0-flash", T2023, 100000, 25000, 700000, 400000),
	// $0.1 / $0.025 / $0.4 per 1M; audio in $0.7
	GEMINI(17, "gemini-2.0-flash-001", T2023,
	    100000, 25000, 700000, 400000),
	// $0.075 / $0.01875 / $0.3 per 1M; audio in $0.075
	GEMINI(18, "gemini-2.0-flash-lite", T2023,
	    75000, 18750, 75000, 300000),
	// $0.075 / $0.01875 / $0.3 per 1M; audio in $0.075
	GEMINI(19, "gemini-2.0-flash-lite-001", T2023,
	    75000, 18750, 75000, 300000),
	// $0.3 / $0.03 / $2.5 per 1M; audio in $1
	GEMINI(20, "gemini-2.5-flash", T2023, 300000, 30000, 1000000, 2500000),
	// $0.1 / $0.01 / $0.4 per 1M; audio in $0.3
	GEMINI(21, "gemini-2.5-flash-lite", T2023,
	    100000, 10000, 300000, 400000),
	// $1.25 / $0.125 / $10 per 1M; audio in $1.25
	// >200k in: $2.5 / $0.25 / $15; audio in $2.5
	GEMINI_T(22, "gemini-2.5-pro", T2023,
	    1250000, 125000, 1250000, 10000000,
	    200000, 2500000, 250000, 2500000, 15000000),
	// $10 / - / $30 per 1M
	OPENAI(23, "gpt-4-turbo", T2023, 10000000, U, 30000000),
	// $10 / - / $30 per 1M
	OPENAI(24, "gpt-4-turbo-2024-04-09", T2023, 10000000, U, 30000000),
	// $2 / $0.5 / $8 per 1M
	OPENAI(25, "gpt-4.1", T2023, 2000000, 500000, 8000000),
	// $2 / $0.5 / $8 per 1M
	OPENAI(26, "gpt-4.1-2025-04-14", T2023, 2000000, 500000, 8000000),
	// $0.4 / $0.1 / $1.6 per 1M
	OPENAI(27, "gpt-4.1-mini", T2023, 400000, 100000, 1600000),
	// $0.4 / $0.1 / $1.6 per 1M
	OPENAI(28, "gpt-4.1-mini-2025-04-14", T2023, 400000, 100000, 1600000),
	// $0.1 / $0.025 / $0.4 per 1M
	OPENAI(29, "gpt-4.1-nano", T2023, 100000, 25000, 400000),
	// $0.1 / $0.025 / $0.4 per 1M
	OPENAI(30, "gpt-4.1-nano-2025-04-14", T2023, 100000, 25000, 400000),
	// $2.5 / $1.25 / $10 per 1M
	OPENAI(31, "gpt-4o", T2023, 2500000, 1250000, 10000000),
	// $5 / - / $15 per 1M
	OPENAI(32, "gpt-4o-2024-05-13", T2023, 5000000, U, 15000000),
	// $2.5 / $1.25 / $10 per 1M
	OPENAI(33, "gpt-4o-2024-08-06", T2023, 2500000, 1250000, 10000000),
	// $2.5 / $1.25 / $10 per 1M
	OPENAI(34, "gpt-4o-2024-11-20", T2023, 2500000, 1250000, 10000000),
	// $0.15 / $0.075 / $0.6 per 1M
	OPENAI(35, "gpt-4o-mini", T2023, 150000, 75000, 600000),
	// $0.15 / $0.075 / $0.6 per 1M
	OPENAI(36, "gpt-4o-mini-2024-07-18", T2023, 150000, 75000, 600000),
	// $1.25 / $0.125 / $10 per 1M
	OPENAI(37, "gpt-5", T2023, 1250000, 125000, 10000000),
	// $1.25 / $0.125 / $10 per 1M
	OPENAI(38, "gpt-5-2025-08-07", T2023, 1250000, 125000, 10000000),
	// $0.25 / $0.025 / $2 per 1M
	OPENAI(39, "gpt-5-mini", T2023, 250000, 25000, 2000000),
	// $0.25 / $0.025 / $2 per 1M
	OPENAI(40, "gpt-5-mini-2025-08-07", T2023, 250000, 25000, 2000000),
	// $0.05 / $0.005 / $0.4 per 1M
	OPENAI(41, "gpt-5-nano", T2023, 50000, 5000, 400000),
	// $0.05 / $0.005 / $0.4 per 1M
	OPENAI(42, "gpt-5-nano-2025-08-07", T2023, 50000, 5000, 400000),
	// $1.25 / $0.125 / $10 per 1M
	OPENAI(43, "gpt-5.1", T2023, 1250000, 125000, 10000000),
	// $1.25 / $0.125 / $10 per 1M
	OPENAI(44, "gpt-5.1-2025-11-13", T2023, 1250000, 125000, 10000000),
	// $1.75 / $0.175 / $14 per 1M
	OPENAI(45, "gpt-5.2", T2023, 1750000, 175000, 14000000),
	// $1.75 / $0.175 / $14 per 1M
	OPENAI(46, "gpt-5.2-2025-12-11", T2023, 1750000, 175000, 14000000),
	// $2.5 / $0.25 / $15 per 1M
	// >272k in: $5 / $0.5 / $22.5
	OPENAI_T(47, "gpt-5.4", T2023,
	    2500000, 250000, 15000000,
	    272000, 5000000, 500000, 22500000),
	// $2.5 / $0.25 / $15 per 1M
	// >272k in: $5 / $0.5 / $22.5
	OPENAI_T(48, "gpt-5.4-2026-03-05", T2023,
	    2500000, 250000, 15000000,
	    272000, 5000000, 500000, 22500000),
	// $5 / $0.5 / $30 per 1M
	// >272k in: $10 / $1 / $45
	OPENAI_T(49, "gpt-5.5", T2023,
	    5000000, 500000, 30000000,
	    272000, 10000000, 1000000, 45000000),
	// $5 / $0.5 / $30 per 1M
	// >272k in: $10 / $1 / $45
	OPENAI_T(50, "gpt-5.5-2026-04-23", T2023,
	    5000000, 500000, 30000000,
	    272000, 10000000, 1000000, 45000000),
	// $15 / $7.5 / $60 per 1M
	OPENAI(51, "o1", T2023, 15000000, 7500000, 60000000),
	// $15 / $7.5 / $60 per 1M
	OPENAI(52, "o1-2024-12-17", T2023, 15000000, 7500000, 60000000),
	// $10 / $2.5 / $40 per 1M
	OPENAI(53, "o3", T2023, 10000000, 2500000, 40000000),
	// $2 / $0.5 / $8 per 1M
	OPENAI(54, "o3", T2025_06_10, 2000000, 500000, 8000000),
	// $10 / $2.5 / $40 per 1M
	OPENAI(55, "o3-2025-04-16", T2023, 10000000, 2500000, 40000000),
	// $2 / $0.5 / $8 per 1M
	OPENAI(56, "o3-2025-04-16", T2025_06_10, 2000000, 500000, 8000000),
	// $1.1 / $0.55 / $4.4 per 1M
	OPENAI(57, "o3-mini", T2023, 1100000, 550000, 4400000),
	// $1.1 / $0.55 / $4.4 per 1M
	OPENAI(58, "o3-mini-2025-01-31", T2023, 1100000, 550000, 4400000),
	// $1.1 / $0.275 / $4.4 per 1M
	OPENAI(59, "o4-mini", T2023, 1100000, 275000, 4400000),
	// $1.1 / $0.275 / $4.4 per 1M
	OPENAI(60, "o4-mini-2025-04-16", T2023, 1100000, 275000, 4400000),
};
// clang-format on

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

// Per-request fee prices, pico-USD per request, by price entry id (kept
// sorted by id, so a lookup is a binary search).  A price change is a new
// price entry, so its fees get a row of their own.  An entry without a
// row, or a fee priced U in its row, leaves that fee unpriced: calls
// that used it show as unpriced, never as a silent $0.  Sources and the
// models left unpriced: docs/prices.md.
typedef struct fee_row {
	uint32_t price_id;
	int64_t pusd[LLMCOST_FEE_COUNT];
} fee_row;

// A row lists every fee: a new fee in llmcost.h must be priced (or U)
// in every row.
_Static_assert(LLMCOST_FEE_COUNT == 1, "fee rows list every fee");

// Anthropic web search: $10 per 1,000 searches = $0.01 = 1e10 pUSD.
#define FEE_ANTHROPIC_WEB INT64_C(10000000000)
// Gemini grounding with Google Search: $35 per 1,000 grounded prompts.
#define FEE_GEMINI_GROUNDING INT64_C(35000000000)

// clang-format off
static const fee_row fee_rows[] = {
	{ 3, { FEE_ANTHROPIC_WEB } },     // claude-3-7-sonnet-20250219
	{ 6, { FEE_ANTHROPIC_WEB } },     // claude-opus-4-1
	{ 7, { FEE_ANTHROPIC_WEB } },     // claude-opus-4-1-20250805
	{ 8, { FEE_ANTHROPIC_WEB } },     // claude-opus-4-20250514
	{ 9, { FEE_ANTHROPIC_WEB } },     // claude-opus-4-5
	{ 10, { FEE_ANTHROPIC_WEB } },    // claude-opus-4-5-20251101
	{ 11, { FEE_ANTHROPIC_WEB } },    // claude-sonnet-4-20250514
	{ 12, { FEE_ANTHROPIC_WEB } },    // claude-sonnet-4-5
	{ 13, { FEE_ANTHROPIC_WEB } },    // claude-sonnet-4-5-20250929
	{ 14, { FEE_ANTHROPIC_WEB } },    // claude-sonnet-4-6
	{ 15, { FEE_ANTHROPIC_WEB } },    // claude-sonnet-4-6 (2026-03-13)
	{ 16, { FEE_GEMINI_GROUNDING } }, // gemini-2.0-flash
	{ 17, { FEE_GEMINI_GROUNDING } }, // gemini-2.0-flash-001
	{ 18, { FEE_GEMINI_GROUNDING } }, // gemini-2.0-flash-lite
	{ 19, { FEE_GEMINI_GROUNDING } }, // gemini-2.0-flash-lite-001
	{ 20, { FEE_GEMINI_GROUNDING } }, // gemini-2.5-flash
	{ 21, { FEE_GEMINI_GROUNDING } }, // gemini-2.5-flash-lite
	{ 22, { FEE_GEMINI_GROUNDING } }, // gemini-2.5-pro
};
// clang-format on

#define NFEE_ROWS (sizeof(fee_rows) / sizeof(fee_rows[0]))

// The providers that sell the Gemini models under one price list.
static const char *const google_names[]
    = { "google", "gemini", "vertex_ai", "google_genai" };
#define NGOOGLE (sizeof(google_names) / sizeof(google_names[0]))

// Compare the NUL-terminated s with the counted string (k, klen), in the
// same order as strcmp().
static int
cmp_counted(const char *s, const char *k, size_t klen)
{
	size_t slen = strlen(s);
	size_t n = slen < klen ? slen : klen;
	int rv = n > 0 ? memcmp(s, k, n) : 0;

	if (rv != 0) {
		return (rv);
	}
	if (slen == klen) {
		return (0);
	}
	return (slen < klen ? -1 : 1);
}

static int
cmp_key(const price_entry *e, const char *prov, size_t plen, const char *model,
    size_t mlen)
{
	int rv;

	if ((rv = cmp_counted(e->provider, prov, plen)) != 0) {
		return (rv);
	}
	return (cmp_counted(e->model, model, mlen));
}

static int
is_google(const char *prov, size_t plen)
{
	for (size_t i = 0; i < NGOOGLE; i++) {
		if (cmp_counted(google_names[i], prov, plen) == 0) {
			return (1);
		}
	}
	return (0);
}

// Find the entries of (prov, model) and, among them, the one in force at
// start_s.  Returns 0 and *out; 1 when the model has entries but none in
// force yet; -1 when it has none at all.
static int
find(const char *prov, size_t plen, const char *model, size_t mlen,
    int64_t start_s, const price_entry **out)
{
	size_t lo = 0;
	size_t hi = NBUILTIN;

	// First entry not below the key.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_key(&builtin[mid], prov, plen, model, mlen) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo == NBUILTIN
	    || cmp_key(&builtin[lo], prov, plen, model, mlen) != 0) {
		return (-1);
	}
	// The run of that key has ascending valid_from: keep the last entry
	// already in force.
	const price_entry *best = NULL;
	for (size_t i = lo; i < NBUILTIN; i++) {
		const price_entry *e = &builtin[i];
		if (cmp_key(e, prov, plen, model, mlen) != 0
		    || e->valid_from > start_s) {
			break;
		}
		best = e;
	}
	if (best == NULL) {
		return (1);
	}
	*out = best;
	return (0);
}

// If model starts with "<name>/", the length of that prefix, else 0.
static size_t
prefix_len(const char *name, size_t nlen, const char *model, size_t mlen)
{
	if (nlen > 0 && mlen > nlen && memcmp(model, name, nlen) == 0
	    && model[nlen] == '/') {
		return (nlen + 1);
	}
	return (0);
}

int
prices_lookup(const char *provider, size_t provider_len, const char *model,
    size_t model_len, uint64_t start_ns, const price_entry **out)
{
	const char *prov = provider;
	size_t plen = provider_len;
	size_t skip = 0;
	int rv;

	if (out == NULL || (provider == NULL && provider_len > 0)
	    || (model == NULL && model_len > 0)) {
		return (LLMCOST_EINVAL);
	}
	if (model_len == 0) {
		return (LLMCOST_ENOTFOUND);
	}
	// Floor to whole seconds: valid_from <= start_s exactly when
	// valid_from * 1e9 <= start_ns.  The quotient fits an int64.
	int64_t start_s = (int64_t) (start_ns / UINT64_C(1000000000));

	int google = is_google(provider, provider_len);
	if (google) {
		prov = "google";
		plen = strlen(prov);
	}
	rv = find(prov, plen, model, model_len, start_s, out);
	if (rv >= 0) {
		// The exact name is known: in force, or not yet.
		return (rv == 0 ? 0 : LLMCOST_ENOTFOUND);
	}
	// Unknown as written: try without a "<provider>/" prefix.
	if (google) {
		for (size_t i = 0; skip == 0 && i < NGOOGLE; i++) {
			skip = prefix_len(google_names[i],
			    strlen(google_names[i]), model, model_len);
		}
	} else {
		skip = prefix_len(provider, provider_len, model, model_len);
	}
	if (skip == 0) {
		return (LLMCOST_ENOTFOUND);
	}
	rv = find(prov, plen, model + skip, model_len - skip, start_s, out);
	return (rv == 0 ? 0 : LLMCOST_ENOTFOUND);
}

int
prices_cost(const price_entry *e, const uint64_t usage[LLMCOST_BUCKET_COUNT],
    int64_t *cost_pusd)
{
	const int64_t *price;
	uint64_t in_total = 0;
	int64_t sum = 0;
	int unpriced = 0;

	if (e == NULL || usage == NULL || cost_pusd == NULL) {
		return (LLMCOST_EINVAL);
	}
	// The tier is chosen on all input tokens; a total past UINT64_MAX is
	// past any threshold, so saturate.
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (llmcost__bucket_is_output[b]) {
			continue;
		}
		if (__builtin_add_overflow(in_total, usage[b], &in_total)) {
			in_total = UINT64_MAX;
			break;
		}
	}
	price = e->pusd;
	if (e->tier_above != 0 && in_total > e->tier_above) {
		price = e->tier_pusd;
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		int64_t part;

		if (price[b] == PRICE_UNPRICED) {
			if (usage[b] > 0) {
				unpriced = 1;
			}
			continue;
		}
		if (price[b] < 0) {
			return (LLMCOST_EINVAL);
		}
		// Multiply as int64 (same-type operands, so no 128-bit helper
		// is needed); a count past INT64_MAX overflows with any price
		// but 0, and then contributes nothing.
		if (usage[b] > (uint64_t) INT64_MAX) {
			if (price[b] == 0) {
				continue;
			}
			return (LLMCOST_ETOOBIG);
		}
		if (__builtin_mul_overflow((int64_t) usage[b], price[b], &part)
		    || __builtin_add_overflow(sum, part, &sum)) {
			return (LLMCOST_ETOOBIG);
		}
	}
	*cost_pusd = sum;
	return (unpriced ? LLMCOST_ENOTFOUND : 0);
}

static const fee_row *
fee_row_of(uint32_t price_id)
{
	size_t lo = 0, hi = NFEE_ROWS;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fee_rows[mid].price_id < price_id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return (lo < NFEE_ROWS && fee_rows[lo].price_id == price_id
	        ? &fee_rows[lo]
	        : NULL);
}

int
prices_fee(const price_entry *e, int f, int64_t *pusd)
{
	const fee_row *row;

	if (e == NULL || pusd == NULL || f < 0 || f >= LLMCOST_FEE_COUNT) {
		return (LLMCOST_EINVAL);
	}
	if ((row = fee_row_of(e->id)) == NULL || row->pusd[f] < 0) {
		return (LLMCOST_ENOTFOUND);
	}
	*pusd = row->pusd[f];
	return (0);
}

int
prices_fee_cost(const price_entry *e, const uint64_t fees[LLMCOST_FEE_COUNT],
    int64_t *cost_pusd)
{
	int64_t sum = 0;
	int unpriced = 0;

	if (e == NULL || fees == NULL || cost_pusd == NULL) {
		return (LLMCOST_EINVAL);
	}
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		int64_t price, part;
		if (fees[f] == 0) {
			continue;
		}
		if (prices_fee(e, f, &price) != 0) {
			unpriced = 1;
			continue;
		}
		if (fees[f] > (uint64_t) INT64_MAX) {
			if (price == 0) {
				continue;
			}
			return (LLMCOST_ETOOBIG);
		}
		if (__builtin_mul_overflow((int64_t) fees[f], price, &part)
		    || __builtin_add_overflow(sum, part, &sum)) {
			return (LLMCOST_ETOOBIG);
		}
	}
	*cost_pusd = sum;
	return (unpriced ? LLMCOST_ENOTFOUND : 0);
}

const price_entry *
prices_builtin(size_t *count)
{
	if (count != NULL) {
		*count = NBUILTIN;
	}
	return (builtin);
}
