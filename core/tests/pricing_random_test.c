// Randomized check of the pricing stage against a second, naive
// implementation written here.  Each round writes a random price file as
// text (random providers, models, platforms, dates, service tiers,
// long-context thresholds, bucket prices and fees, some entries in an
// overrides file, some matched by pattern), keeps what it wrote in plain
// structs, builds a table from the text with prices_table_build, then
// prices random calls with pricing_price_call and with the naive model:
// a linear search in the written order by the documented rules and a
// 128-bit sum.  Both must agree on the entry, the flags and the cost to
// the pico-dollar.  A second test does the same over the built-in table,
// with the naive model reading the built entries.
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <regex.h>
#include <stdatomic.h>

#include "prices.h"
#include "pricing.h"

#define NPROV 2
#define NMOD  4
#define NPLAT 3
#define MAXE  64
#define NS    UINT64_C(1000000000)

static const char *const provs[NPROV] = { "openai", "acme" };
static const char *const mods[NMOD]
    = { "m-alpha", "m-beta", "gpt-x", "claude-z" };
static const char *const plats[NPLAT] = { "", "vertex", "azure" };

typedef struct nset {
	int tier;
	uint64_t above;
	int64_t p[LLMCOST_BUCKET_COUNT]; // -1: unpriced
} nset;

typedef struct nentry {
	uint32_t id;
	int prov, plat, override;
	char name[64]; // exact name or pattern
	int pattern;
	int64_t from; // Unix seconds
	int64_t fee;  // -1: unpriced
	nset s[PRICES_MAX_SETS];
	int ns;
	uint32_t seq; // written order, overrides first
} nentry;

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	// xorshift64*
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * UINT64_C(2685821657736338717));
}

static uint64_t
rn(uint64_t n)
{
	return (rnd() % n);
}

// A random price in pico-USD per token with at most 6 decimals of USD
// per 1M (any integer is one), written as the decimal text of USD/1M.
static int64_t
rprice(void)
{
	switch (rn(4)) {
	case 0:
		return ((int64_t) rn(100)); // sub-cent per 1M
	case 1:
		return ((int64_t) rn(1000000));
	case 2:
		return ((int64_t) rn(100000000));
	default:
		return ((int64_t) rn(1000) * 1000000); // whole dollars
	}
}

static void
put_decimal(char **p, size_t *room, int64_t v, unsigned scale)
{
	char buf[48];
	assert_int_equal(prices_format_decimal(v, scale, buf, sizeof(buf)), 0);
	int n = snprintf(*p, *room, "%s", buf);
	*p += n;
	*room -= (size_t) n;
}

#define OUT(...)                                                              \
	do {                                                                  \
		int n_ = snprintf(p, room, __VA_ARGS__);                      \
		assert_true(n_ >= 0 && (size_t) n_ < room);                   \
		p += n_;                                                      \
		room -= (size_t) n_;                                          \
	} while (0)

static void
write_entry(char **pp, size_t *roomp, const nentry *e)
{
	char *p = *pp;
	size_t room = *roomp;
	time_t t = (time_t) e->from;
	struct tm tm;
	char date[32];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	OUT("entry %u %s %s\n", e->id, provs[e->prov], e->name);
	if (e->pattern) {
		OUT("match pattern\n");
	}
	if (e->plat != 0) {
		OUT("platform %s\n", plats[e->plat]);
	}
	OUT("valid_from %s\nsource random test\n", date);
	for (int i = 0; i < e->ns; i++) {
		OUT("%s", llmcost__tier_name(e->s[i].tier));
		if (e->s[i].above) {
			OUT(" >%llu", (unsigned long long) e->s[i].above);
		}
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			if (e->s[i].p[b] >= 0) {
				OUT(" %s=", llmcost__bucket_key[b]);
				put_decimal(&p, &room, e->s[i].p[b], 6);
			}
		}
		OUT("\n");
	}
	if (e->fee >= 0) {
		OUT("fee web_search_requests=");
		put_decimal(&p, &room, e->fee, 12);
		OUT("\n");
	}
	*pp = p;
	*roomp = room;
}

static void
random_entry(nentry *e, uint32_t id)
{
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->prov = (int) rn(NPROV);
	e->plat = (int) rn(NPLAT);
	e->pattern = rn(6) == 0;
	if (e->pattern) {
		snprintf(
		    e->name, sizeof(e->name), "^%s-[a-z]+$", mods[rn(NMOD)]);
	} else {
		snprintf(e->name, sizeof(e->name), "%s", mods[rn(NMOD)]);
	}
	// 2024-01-01 plus up to 3 years, at a random second.
	e->from = INT64_C(1704067200) + (int64_t) rn(3 * 365 * 86400);
	e->fee = rn(3) == 0 ? -1 : (int64_t) rn(100000000000);
	for (int tier = 0; tier < LLMCOST_TIER_COUNT; tier++) {
		if (tier != 0 && rn(2) == 0) {
			continue;
		}
		int levels = (int) rn(3); // thresholds above the base
		uint64_t above = 0;
		for (int l = 0; l <= levels; l++) {
			nset *s = &e->s[e->ns++];
			s->tier = tier;
			s->above = above;
			for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
				s->p[b] = rn(4) == 0 ? -1 : rprice();
			}
			above += 1 + rn(400000);
		}
	}
}

// How often each rule decided a call (the test checks it reaches all).
static size_t by_snapshot, by_pattern, by_override;

// The naive lookup: the documented rules, by linear search.
static int
naive_pick(const nentry *es, int n, int prov, int plat, const char *name,
    int pattern, int64_t t)
{
	int best = -1, seen = 0;
	for (int i = 0; i < n; i++) {
		const nentry *e = &es[i];
		if (e->prov != prov || e->plat != plat || e->pattern != pattern
		    || strcmp(e->name, name) != 0) {
			continue;
		}
		seen = 1;
		if (e->from > t) {
			continue;
		}
		// An override in force wins over every built-in entry (even
		// a later one); among entries of one kind the latest wins.
		if (best < 0 || (e->override && !es[best].override)
		    || (e->override == es[best].override
		        && e->from > es[best].from)) {
			by_override
			    += best >= 0 && e->override && !es[best].override;
			best = i;
		}
	}
	return (best >= 0 ? best : seen ? -2 : -1);
}

static int
naive_find(
    const nentry *es, int n, int prov, int plat, const char *model, int64_t t)
{
	int r = naive_pick(es, n, prov, plat, model, 0, t);
	if (r != -1) {
		return (r);
	}
	// A dated snapshot: "-YYYY-MM-DD".
	size_t len = strlen(model);
	if (len > 11 && model[len - 11] == '-' && model[len - 6] == '-'
	    && model[len - 3] == '-') {
		char base[64];
		snprintf(base, sizeof(base), "%.*s", (int) (len - 11), model);
		r = naive_pick(es, n, prov, plat, base, 0, t);
		if (r != -1) {
			by_snapshot += r >= 0;
			return (r);
		}
	}
	// Patterns: the first in written order (overrides first).
	int first = -1;
	for (int i = 0; i < n; i++) {
		const nentry *e = &es[i];
		if (!e->pattern || e->prov != prov || e->plat != plat
		    || (first >= 0 && es[first].seq < e->seq)) {
			continue;
		}
		regex_t re;
		assert_int_equal(
		    regcomp(&re, e->name, REG_EXTENDED | REG_NOSUB), 0);
		int m = regexec(&re, model, 0, NULL, 0) == 0;
		regfree(&re);
		if (m) {
			first = i;
		}
	}
	if (first < 0) {
		return (-1);
	}
	r = naive_pick(es, n, prov, plat, es[first].name, 1, t);
	by_pattern += r >= 0;
	return (r);
}

// The naive cost of usage and fees under sets s[ns] and fee: the
// verdict pricing_price_call must give.
static void
naive_cost(const nset *s, int ns, int64_t fee, uint32_t id, int tier,
    const uint64_t *usage, const uint64_t *fees, store_cost *out)
{
	unsigned __int128 in = 0;
	const nset *use = NULL;

	memset(out, 0, sizeof(*out));
	out->price_id = id;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (!llmcost__bucket_is_output[b]) {
			in += usage[b];
		}
	}
	for (int i = 0; i < ns; i++) {
		if (s[i].tier == tier && (s[i].above == 0 || in > s[i].above)
		    && (use == NULL || s[i].above > use->above)) {
			use = &s[i];
		}
	}
	__int128 sum = 0, fsum = 0;
	// No prices for the tier: the tokens are unpriced, the fees not.
	int unpriced = use == NULL;
	for (int b = 0; use != NULL && b < LLMCOST_BUCKET_COUNT; b++) {
		if (use->p[b] < 0) {
			unpriced |= usage[b] > 0;
		} else {
			sum += (__int128) usage[b] * use->p[b];
		}
	}
	if (fees[0] > 0) {
		if (fee < 0) {
			unpriced = 1;
		} else {
			fsum = (__int128) fees[0] * fee;
		}
	}
	if (sum + fsum > INT64_MAX || fsum > INT64_MAX || sum > INT64_MAX) {
		out->flags = STORE_RUN_OVERFLOW;
		return;
	}
	out->cost_pusd = (int64_t) (sum + fsum);
	out->fee_cost_pusd = (int64_t) fsum;
	out->flags = unpriced ? STORE_RUN_UNPRICED : 0;
}

static void
random_usage(uint64_t *usage, uint64_t *fees)
{
	uint64_t scale = rn(10) == 0 ? UINT64_C(1) << 40 : 700000;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		usage[b] = rn(3) == 0 ? 0 : rn(scale / (1 + rn(8)));
	}
	fees[0] = rn(3) == 0 ? rn(20) : 0;
}

static void
expect_same(const store_cost *got, const store_cost *want, const char *what)
{
	if (got->price_id != want->price_id || got->flags != want->flags
	    || got->cost_pusd != want->cost_pusd
	    || got->fee_cost_pusd != want->fee_cost_pusd) {
		fail_msg(
		    "%s: got id %u flags %u cost %lld fee %lld, want id %u "
		    "flags %u cost %lld fee %lld",
		    what, got->price_id, got->flags,
		    (long long) got->cost_pusd, (long long) got->fee_cost_pusd,
		    want->price_id, want->flags, (long long) want->cost_pusd,
		    (long long) want->fee_cost_pusd);
	}
}

static void
test_random_tables(void **state)
{
	(void) state;
	static nentry es[MAXE];
	static char base[1 << 20], over[1 << 18];
	size_t calls = 0, priced = 0, unpriced = 0, tiered = 0;

	for (int round = 0; round < 200; round++) {
		int n = 8 + (int) rn(MAXE - 8);
		char *pb = base, *po = over;
		size_t rb = sizeof(base), ro = sizeof(over);
		uint32_t seq_over = 0, seq_base = 1000;
		for (int i = 0; i < n; i++) {
			random_entry(&es[i], (uint32_t) (i + 1));
			es[i].override = rn(4) == 0;
			es[i].seq = es[i].override ? seq_over++ : seq_base++;
			// One entry per (provider, name, platform, date, file),
			// and a name is exact or a pattern, never both: the
			// reader refuses the rest.
			for (int clash = 1; clash;) {
				clash = 0;
				for (int j = 0; j < i; j++) {
					clash |= es[j].prov == es[i].prov
					    && strcmp(es[j].name, es[i].name)
					        == 0
					    && es[j].plat == es[i].plat
					    && es[j].override == es[i].override
					    && es[j].from == es[i].from;
				}
				es[i].from
				    += clash ? 1 + (int64_t) rn(86400) : 0;
			}
			// Sometimes an override at a built-in entry's date.
			if (es[i].override && i > 0 && rn(2) == 0) {
				const nentry *o = &es[rn((uint64_t) i)];
				if (!o->override) {
					int clash = 0;
					for (int j = 0; j < i; j++) {
						clash |= es[j].override
						    && es[j].prov == o->prov
						    && es[j].plat == o->plat
						    && es[j].from == o->from
						    && strcmp(
						           es[j].name, o->name)
						        == 0;
					}
					if (!clash) {
						es[i].prov = o->prov;
						es[i].plat = o->plat;
						es[i].pattern = o->pattern;
						memcpy(es[i].name, o->name,
						    sizeof(o->name));
						es[i].from = o->from;
					}
				}
			}
			if (es[i].override) {
				write_entry(&po, &ro, &es[i]);
			} else {
				write_entry(&pb, &rb, &es[i]);
			}
		}
		prices_source src[2] = {
			{ "base.txt", base, (size_t) (pb - base), 0 },
			{ "over.txt", over, (size_t) (po - over), 1 },
		};
		prices_table *t = NULL;
		char err[PRICES_ERR_MAX];
		int rv = prices_table_build(src, 2, &t, err, sizeof(err));
		if (rv != 0) {
			fail_msg("round %d: %s", round, err);
		}
		for (int k = 0; k < 300; k++) {
			uint64_t usage[LLMCOST_BUCKET_COUNT], fees[1];
			char model[96];
			int prov = (int) rn(NPROV), plat = (int) rn(NPLAT);
			int tier = (int) rn(LLMCOST_TIER_COUNT);
			const char *m = mods[rn(NMOD)];
			switch (rn(4)) {
			case 0:
				snprintf(model, sizeof(model),
				    "%s-2025-0%d-1%d", m, 1 + (int) rn(9),
				    (int) rn(10));
				break;
			case 1:
				snprintf(model, sizeof(model), "%s-%s", m,
				    rn(2) ? "mini" : "x9");
				break;
			default:
				snprintf(model, sizeof(model), "%s", m);
			}
			int64_t ts = INT64_C(1704067200)
			    + (int64_t) rn(4 * 365 * 86400);
			random_usage(usage, fees);
			pricing_call c = { .at.provider = provs[prov],
				.at.provider_len = strlen(provs[prov]),
				.at.model = model,
				.at.model_len = strlen(model),
				.at.platform = plats[plat],
				.at.platform_len = strlen(plats[plat]),
				.at.start_ns = (uint64_t) ts * NS + rn(NS),
				.usage = usage,
				.fees = fees,
				.service_tier = (unsigned) tier };
			store_cost got, want;
			pricing_price_call(t, &c, &got);
			int i = naive_find(es, n, prov, plat, model, ts);
			if (i < 0) {
				memset(&want, 0, sizeof(want));
				want.flags = STORE_RUN_UNPRICED;
			} else {
				naive_cost(es[i].s, es[i].ns, es[i].fee,
				    es[i].id, tier, usage, fees, &want);
			}
			char what[256];
			snprintf(what, sizeof(what),
			    "round %d call %d: %s %s/%s at %lld tier %d",
			    round, k, provs[prov], plats[plat], model,
			    (long long) ts, tier);
			expect_same(&got, &want, what);
			calls++;
			priced += want.flags == 0;
			unpriced += want.flags == STORE_RUN_UNPRICED;
			if (i >= 0) {
				for (int s = 0; s < es[i].ns; s++) {
					tiered += es[i].s[s].above != 0
					    && es[i].s[s].tier == tier;
				}
			}
		}
		prices_table_free(t);
	}
	// The rounds reach every kind of verdict.
	assert_true(calls == 60000);
	assert_true(priced > 1000);
	assert_true(unpriced > 1000);
	assert_true(tiered > 1000);
	assert_true(by_snapshot > 500);
	assert_true(by_pattern > 500);
	assert_true(by_override > 20);
}

// The built-in table: random calls of its own models, platforms, tiers
// and dates; the naive model reads the built entries.
static void
test_random_builtin(void **state)
{
	(void) state;
	size_t n;
	const prices_table *t = prices_builtin_table();
	const price_entry *e = prices_table_entries(t, &n);
	size_t priced = 0;

	assert_true(n > 100);
	for (int k = 0; k < 100000; k++) {
		const price_entry *pick = &e[rn(n)];
		if (pick->match != PRICE_MATCH_EXACT) {
			continue;
		}
		uint64_t usage[LLMCOST_BUCKET_COUNT], fees[1];
		random_usage(usage, fees);
		int tier = (int) rn(LLMCOST_TIER_COUNT);
		// Half the calls use only buckets the entry prices.
		if (rn(2) == 0) {
			tier = LLMCOST_TIER_STANDARD;
			for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
				if (pick->sets[0].pusd[b] == PRICE_UNPRICED) {
					usage[b] = 0;
				}
			}
		}
		int64_t ts
		    = INT64_C(1672531200) + (int64_t) rn(5 * 365 * 86400);
		pricing_call c = { .at.provider = pick->provider,
			.at.provider_len = strlen(pick->provider),
			.at.model = pick->model,
			.at.model_len = strlen(pick->model),
			.at.platform = pick->platform,
			.at.platform_len = strlen(pick->platform),
			.at.start_ns = (uint64_t) ts * NS,
			.usage = usage,
			.fees = fees,
			.service_tier = (unsigned) tier };
		store_cost got, want;
		pricing_price_call(t, &c, &got);
		// Naive: the latest entry of this name and platform in force.
		const price_entry *best = NULL;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(e[i].provider, pick->provider) == 0
			    && strcmp(e[i].model, pick->model) == 0
			    && strcmp(e[i].platform, pick->platform) == 0
			    && e[i].valid_from <= ts
			    && (best == NULL
			        || e[i].valid_from > best->valid_from)) {
				best = &e[i];
			}
		}
		if (best == NULL) {
			memset(&want, 0, sizeof(want));
			want.flags = STORE_RUN_UNPRICED;
		} else {
			nset s[PRICES_MAX_SETS];
			for (uint32_t i = 0; i < best->nsets; i++) {
				s[i].tier = best->sets[i].service_tier;
				s[i].above = best->sets[i].above;
				memcpy(s[i].p, best->sets[i].pusd,
				    sizeof(s[i].p));
			}
			naive_cost(s, (int) best->nsets,
			    best->fee_pusd[LLMCOST_FEE_WEB_SEARCH], best->id,
			    tier, usage, fees, &want);
		}
		expect_same(&got, &want, pick->model);
		priced += want.flags == 0;
	}
	assert_true(priced > 10000);
}

// Batches priced at once (pricing_batch: one lookup and one set per run
// of calls under the same entry and tier) against each call priced on
// its own (pricing_price_call), over the built-in table: runs of calls
// of one model, tier and platform, as one call site sends them, with
// their strings shared (as a TBATCH decodes them) or copied, counts
// small and large, fees and none, tiers with one set, several (a long
// context price) or none.
static void
test_random_batches(void **state)
{
	(void) state;
	enum { N = 512 };
	static llmcost_proto_record recs[N];
	static char names[N][2][96];
	static store_cost got[N];
	size_t n, fast = 0, multi = 0;
	const price_entry *e
	    = prices_table_entries(prices_builtin_table(), &n);

	for (int round = 0; round < 100; round++) {
		// Call sites, interleaved: a call is from the last site, or
		// another, or sites are replaced (more of them than a batch
		// keeps lookups of).
		enum { SITES = 12 };
		const price_entry *site_pick[SITES];
		int site_tier[SITES], site_shared[SITES];
		int nsites = 1 + (int) rn(SITES), s = 0;
		for (int k = 0; k < SITES; k++) {
			site_pick[k] = &e[rn(n)];
			site_tier[k] = rn(3) == 0
			    ? (int) rn(LLMCOST_TIER_COUNT)
			    : LLMCOST_TIER_STANDARD;
			site_shared[k] = (int) rn(2);
		}
		for (uint32_t i = 0; i < N; i++) {
			llmcost_proto_record *r = &recs[i];
			if (rn(4) == 0) {
				s = (int) rn((uint64_t) nsites);
			}
			if (rn(32) == 0) {
				site_pick[s] = &e[rn(n)];
			}
			const price_entry *pick = site_pick[s];
			int tier = site_tier[s], shared = site_shared[s];
			memset(r, 0, sizeof(*r));
			snprintf(names[i][0], sizeof(names[i][0]), "%s",
			    pick->provider);
			snprintf(names[i][1], sizeof(names[i][1]), "%s",
			    pick->match == PRICE_MATCH_EXACT
			        ? pick->model
			        : "no-such-model");
			r->provider.ptr
			    = shared ? pick->provider : names[i][0];
			r->provider.len = (uint32_t) strlen(names[i][0]);
			r->model.ptr
			    = shared && pick->match == PRICE_MATCH_EXACT
			    ? pick->model
			    : names[i][1];
			r->model.len = (uint32_t) strlen(names[i][1]);
			r->platform.ptr = pick->platform;
			r->platform.len = (uint32_t) strlen(pick->platform);
			r->start_ns
			    = (uint64_t) (pick->valid_from + 86400) * NS
			    + rn(NS);
			r->service_tier = (uint32_t) tier;
			uint64_t fees[1];
			random_usage(r->usage, fees);
			if (rn(2) == 0) {
				// Small counts of priced buckets only.
				for (int b = 0; b < LLMCOST_BUCKET_COUNT;
				     b++) {
					r->usage[b] = pick->sets[0].pusd[b]
					        == PRICE_UNPRICED
					    ? 0
					    : rn(5000);
				}
				fees[0] = 0;
			}
			if (rn(200) == 0) {
				r->usage[rn(LLMCOST_BUCKET_COUNT)]
				    = UINT64_MAX - rn(3);
			}
			r->fees[0] = fees[0];
		}
		llmcost_proto_batch b = { .records = recs, .n_records = N };
		pricing_batch(&b, got);
		for (uint32_t i = 0; i < N; i++) {
			const llmcost_proto_record *r = &recs[i];
			pricing_call c = { .at.provider = r->provider.ptr,
				.at.provider_len = r->provider.len,
				.at.model = r->model.ptr,
				.at.model_len = r->model.len,
				.at.platform = r->platform.ptr,
				.at.platform_len = r->platform.len,
				.at.start_ns = r->start_ns,
				.usage = r->usage,
				.fees = r->fees,
				.service_tier = r->service_tier };
			store_cost want;
			char what[160];
			pricing_price_call(NULL, &c, &want);
			snprintf(what, sizeof(what),
			    "round %d call %u: %.60s/%.60s", round, i,
			    names[i][0], names[i][1]);
			expect_same(&got[i], &want, what);
			fast += want.flags == 0 && r->fees[0] == 0;
			// Entries with a long-context set for the tier.
			for (size_t k = 0; want.price_id != 0 && k < n; k++) {
				if (e[k].id != want.price_id) {
					continue;
				}
				for (uint32_t j = 0; j < e[k].nsets; j++) {
					multi += e[k].sets[j].above != 0
					    && e[k].sets[j].service_tier
					        == r->service_tier;
				}
			}
		}
	}
	// Both ways of a run's pricing are reached.
	assert_true(fast > 5000);
	assert_true(multi > 100);
}

// The table in force swapped while other threads price: each holder
// keeps a whole table for as long as it holds it (the same price twice),
// and no table is freed under a holder (ASan would see it).
static atomic_int swap_done;

static void *
swap_pricer(void *arg)
{
	uint64_t usage[LLMCOST_BUCKET_COUNT]
	    = { [LLMCOST_IN_UNCACHED] = 1000 };
	size_t *rounds = arg;
	while (!atomic_load(&swap_done)) {
		const prices_table *t = prices_current_acquire();
		pricing_call c = { .at.provider = "openai",
			.at.provider_len = 6,
			.at.model = "swap-model",
			.at.model_len = 10,
			.at.start_ns = UINT64_C(1800000000) * NS,
			.usage = usage };
		store_cost a, b;
		pricing_price_call(t, &c, &a);
		pricing_price_call(t, &c, &b);
		assert_int_equal(a.flags, 0);
		assert_int_equal(a.cost_pusd, b.cost_pusd);
		assert_int_equal(a.price_id, b.price_id);
		// Table k prices the model at k dollars per 1M, with id k.
		assert_int_equal(
		    a.cost_pusd, (int64_t) a.price_id * 1000000000);
		prices_current_release(t);
		(*rounds)++;
	}
	return (NULL);
}

static void
test_swap_while_pricing(void **state)
{
	(void) state;
	pthread_t th[2];
	size_t rounds[2] = { 0, 0 };
	char text[256];

	for (uint32_t k = 1; k <= 500; k++) {
		snprintf(text, sizeof(text),
		    "entry %u openai swap-model\nvalid_from 2024-01-01\n"
		    "source test\nstandard input_uncached=%u\n",
		    k, k);
		prices_source src = { "swap.txt", text, strlen(text), 1 };
		prices_table *t = NULL;
		char err[PRICES_ERR_MAX];
		LLMCOST_PASS(
		    prices_table_build(&src, 1, &t, err, sizeof(err)));
		prices_current_set(t);
		if (k == 1) {
			atomic_store(&swap_done, 0);
			for (int i = 0; i < 2; i++) {
				assert_int_equal(pthread_create(&th[i], NULL,
				                     swap_pricer, &rounds[i]),
				    0);
			}
		}
	}
	// Let the pricers run on the last table too.
	while (rounds[0] < 1000 || rounds[1] < 1000) {
		sched_yield();
	}
	atomic_store(&swap_done, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}
	// Back to the built-in table; the last one is freed now.
	prices_current_set(NULL);
	const prices_table *t = prices_current_acquire();
	assert_ptr_equal(t, prices_builtin_table());
	prices_current_release(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_tables),
		cmocka_unit_test(test_random_builtin),
		cmocka_unit_test(test_random_batches),
		cmocka_unit_test(test_swap_while_pricing),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
