// DESIGN: price lookups and arithmetic over an immutable table.  The
// table is data (data/prices/*.txt, compiled in, plus a user's overrides
// file; prices_parse.c reads them), so this file holds only rules: how a
// call's provider, platform and model find an entry (exact name, then a
// dated snapshot of a name, then anchored patterns in priority order;
// docs/prices.md, "Matching"), which entry is in force at the call's
// start (the latest valid_from not after it, an override in force winning
// over every built-in entry),
// which set of an entry prices the call (its service tier, then the
// provider's own long-context rule: the input tokens exceed a
// threshold), and the sum, in checked 64-bit integer pico-USD.  A
// bucket, fee or service tier without a price is "unpriced", never a
// silent $0.  Tables are swapped whole: the collector's writer takes a
// reference to the table in force once per batch, and a reload installs
// a new one; the old one is freed when its last reference goes.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "prices_data.h"
#include "prices_int.h"

// Names a call may give its provider, the provider they mean in the price
// files, and the platform they imply when the call names none.  Only
// Google's names are aliases: "azure" as a provider is not OpenAI (a call
// on Azure says provider "openai" and platform "azure").  Bedrock is
// told apart by its model ids instead (bedrock_model below).
static const struct {
	const char *name;
	const char *provider;
	const char *platform;
} aliases[] = {
	{ "google", "google", "" },
	{ "gemini", "google", "" },
	{ "google_genai", "google", "" },
	{ "vertex_ai", "google", "vertex" },
};
#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

// Amazon Bedrock serves many vendors' models under one provider name, as
// LiteLLM ("bedrock", "bedrock_converse") and LangChain
// ("amazon_bedrock") name it; its model ids say whose model it is:
// "[geo.]vendor.model-version", e.g. "anthropic.claude-3-5-haiku-
// 20241022-v1:0" or, through a cross-region inference profile,
// "us.anthropic.claude-sonnet-4-5-20250929-v1:0".  The price files keep
// these ids whole under the vendor's provider and platform "bedrock"
// (LiteLLM's rows, data/prices/anthropic.txt), so a Bedrock call is
// looked up as (vendor, "bedrock", the id).
static const char *const bedrock_providers[] = {
	"bedrock",
	"bedrock_converse",
	"amazon_bedrock",
};
#define NBEDROCK (sizeof(bedrock_providers) / sizeof(bedrock_providers[0]))
// The geographic prefixes of Bedrock's inference profiles.
static const char *const bedrock_geos[] = {
	"us",
	"eu",
	"apac",
	"au",
	"jp",
	"ca",
	"us-gov",
	"global",
};
#define NGEOS (sizeof(bedrock_geos) / sizeof(bedrock_geos[0]))

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

typedef struct key {
	const char *prov;
	size_t plen;
	const char *plat;
	size_t platlen;
	int64_t start_s;
} key;

// Among the entries of one (provider, name) run starting at e[lo], those
// of k's platform: 0 and *out when one is in force, 1 when some exist but
// none is in force yet, -1 when there are none.
static int
pick(const prices_table *t, size_t lo, const key *k, const price_entry **out)
{
	const price_entry *first = &t->e[lo], *best = NULL, *ovr = NULL;
	int seen = 0;

	for (size_t i = lo; i < t->n; i++) {
		const price_entry *e = &t->e[i];
		if (strcmp(e->provider, first->provider) != 0
		    || strcmp(e->model, first->model) != 0) {
			break;
		}
		if (cmp_counted(e->platform, k->plat, k->platlen) != 0) {
			continue;
		}
		seen = 1;
		// Sorted by valid_from, an override after a built-in entry of
		// the same date: the last one in force wins, and an override
		// in force wins over every built-in entry, even a later one
		// (a contracted rate outlives a change of the list price).
		if (e->valid_from <= k->start_s) {
			best = e;
			if (e->override) {
				ovr = e;
			}
		}
	}
	if (ovr != NULL) {
		best = ovr;
	}
	if (best != NULL) {
		*out = best;
		return (0);
	}
	return (seen ? 1 : -1);
}

static int
find_exact(const prices_table *t, const key *k, const char *model, size_t mlen,
    const price_entry **out)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const price_entry *e = &t->e[mid];
		int rv = cmp_counted(e->provider, k->prov, k->plen);
		if (rv == 0) {
			rv = cmp_counted(e->model, model, mlen);
		}
		if (rv < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo == t->n || cmp_counted(t->e[lo].provider, k->prov, k->plen) != 0
	    || cmp_counted(t->e[lo].model, model, mlen) != 0
	    || t->e[lo].match != PRICE_MATCH_EXACT) {
		return (-1);
	}
	return (pick(t, lo, k, out));
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return (0);
		}
	}
	return (1);
}

// The length of model without a dated-snapshot suffix ("-2024-07-18",
// "-20250929", "-001"), or 0 when it has none.
static size_t
snapshot_base(const char *m, size_t n)
{
	if (n > 11 && m[n - 11] == '-' && all_digits(m + n - 10, 4)
	    && m[n - 6] == '-' && all_digits(m + n - 5, 2) && m[n - 3] == '-'
	    && all_digits(m + n - 2, 2)) {
		return (n - 11);
	}
	if (n > 9 && m[n - 9] == '-' && all_digits(m + n - 8, 8)) {
		return (n - 9);
	}
	if (n > 4 && m[n - 4] == '-' && all_digits(m + n - 3, 3)) {
		return (n - 4);
	}
	return (0);
}

static int
find_pattern(const prices_table *t, const key *k, const char *model,
    size_t mlen, const price_entry **out)
{
	char buf[LLMCOST_MAX_MODEL + 1];

	if (mlen >= sizeof(buf) || t->npat == 0) {
		return (-1);
	}
	memcpy(buf, model, mlen);
	buf[mlen] = '\0';
	if (strlen(buf) != mlen) {
		return (-1); // an embedded NUL matches no pattern
	}
	for (size_t i = 0; i < t->npat; i++) {
		const price_entry *e = &t->e[t->pat[i]];
		if (cmp_counted(e->provider, k->prov, k->plen) != 0
		    || cmp_counted(e->platform, k->plat, k->platlen) != 0
		    || regexec(&t->re[i], buf, 0, NULL, 0) != 0) {
			continue;
		}
		// The first run of this (provider, pattern) in the table.
		size_t lo = t->pat[i];
		while (lo > 0
		    && strcmp(t->e[lo - 1].provider, e->provider) == 0
		    && strcmp(t->e[lo - 1].model, e->model) == 0) {
			lo--;
		}
		return (pick(t, lo, k, out));
	}
	return (-1);
}

// The Bedrock model id in model (m, n): what follows its last "/", so
// that LiteLLM's routing names ("bedrock/us.anthropic...", "bedrock/
// converse/...") and inference profile ARNs ("arn:aws:bedrock:...:
// inference-profile/us.anthropic...") give the id itself.  Returns 0 with
// the id in (*id, *idlen) and its vendor in (*v, *vlen), or -1 when it is
// not of the form "[geo.]vendor.model".
static int
bedrock_model(const char *m, size_t n, const char **id, size_t *idlen,
    const char **v, size_t *vlen)
{
	const char *p = m, *end = m + n, *dot;

	for (const char *s = m; s < end; s++) {
		if (*s == '/') {
			p = s + 1;
		}
	}
	*id = p;
	*idlen = (size_t) (end - p);
	for (size_t i = 0; i < NGEOS; i++) {
		size_t gl = strlen(bedrock_geos[i]);
		if ((size_t) (end - p) > gl + 1
		    && memcmp(p, bedrock_geos[i], gl) == 0 && p[gl] == '.') {
			p += gl + 1;
			break;
		}
	}
	dot = memchr(p, '.', (size_t) (end - p));
	if (dot == NULL || dot == p || dot + 1 == end) {
		return (-1);
	}
	*v = p;
	*vlen = (size_t) (dot - p);
	return (0);
}

int
prices_find(
    const prices_table *t, const price_query *q, const price_entry **out)
{
	key k;
	const char *names[3];
	size_t lens[3], nn = 0;
	int rv;

	if (t == NULL || q == NULL || out == NULL
	    || (q->provider == NULL && q->provider_len > 0)
	    || (q->model == NULL && q->model_len > 0)
	    || (q->platform == NULL && q->platform_len > 0)) {
		return (LLMCOST_EINVAL);
	}
	if (q->model_len == 0) {
		return (LLMCOST_ENOTFOUND);
	}
	memset(&k, 0, sizeof(k));
	k.prov = q->provider;
	k.plen = q->provider_len;
	k.plat = q->platform != NULL ? q->platform : "";
	k.platlen = q->platform_len;
	// Floor to whole seconds: valid_from <= start_s exactly when
	// valid_from * 1e9 <= start_ns.
	k.start_s = (int64_t) (q->start_ns / UINT64_C(1000000000));
	const char *canon = NULL;
	for (size_t i = 0; i < NALIASES; i++) {
		if (cmp_counted(aliases[i].name, q->provider, q->provider_len)
		    == 0) {
			canon = aliases[i].provider;
			k.prov = canon;
			k.plen = strlen(canon);
			if (k.platlen == 0) {
				k.plat = aliases[i].platform;
				k.platlen = strlen(k.plat);
			}
			break;
		}
	}
	// Bedrock: a call whose provider is a name of Bedrock is the model
	// vendor's call on platform "bedrock" (unless it names another
	// platform); on that platform the model id is looked up as itself,
	// whatever routing prefix or ARN it came in.
	const char *bid = NULL, *vendor = NULL;
	size_t bidlen = 0, vlen = 0;
	int bedrock_prov = 0;
	for (size_t i = 0; canon == NULL && i < NBEDROCK; i++) {
		bedrock_prov |= cmp_counted(bedrock_providers[i], q->provider,
		                    q->provider_len)
		    == 0;
	}
	if (bedrock_prov && k.platlen == 0) {
		k.plat = "bedrock";
		k.platlen = 7;
	}
	if (cmp_counted("bedrock", k.plat, k.platlen) != 0
	    || bedrock_model(
	           q->model, q->model_len, &bid, &bidlen, &vendor, &vlen)
	        != 0) {
		bid = NULL;
	} else if (bedrock_prov) {
		k.prov = vendor;
		k.plen = vlen;
	}
	names[nn] = q->model;
	lens[nn++] = q->model_len;
	if (bid != NULL && bid != q->model) {
		names[nn] = bid;
		lens[nn++] = bidlen;
	}
	// "<provider>/model": the call's provider as given, or any name of
	// the same provider.
	const char *slash = memchr(q->model, '/', q->model_len);
	if (slash != NULL) {
		size_t pl = (size_t) (slash - q->model);
		int ok = pl > 0 && pl == q->provider_len
		    && memcmp(q->model, q->provider, pl) == 0;
		for (size_t i = 0; !ok && canon != NULL && i < NALIASES; i++) {
			ok = strcmp(aliases[i].provider, canon) == 0
			    && cmp_counted(aliases[i].name, q->model, pl) == 0;
		}
		if (ok && pl + 1 < q->model_len) {
			names[nn] = slash + 1;
			lens[nn++] = q->model_len - pl - 1;
		}
	}
	// 1. The exact name (as written, then without the prefix).
	for (size_t i = 0; i < nn; i++) {
		if ((rv = find_exact(t, &k, names[i], lens[i], out)) >= 0) {
			return (rv == 0 ? 0 : LLMCOST_ENOTFOUND);
		}
	}
	// 2. A dated snapshot of an exact name.
	for (size_t i = 0; i < nn; i++) {
		size_t b = snapshot_base(names[i], lens[i]);
		if (b > 0 && (rv = find_exact(t, &k, names[i], b, out)) >= 0) {
			return (rv == 0 ? 0 : LLMCOST_ENOTFOUND);
		}
	}
	// 3. Patterns, in priority order.
	for (size_t i = 0; i < nn; i++) {
		if ((rv = find_pattern(t, &k, names[i], lens[i], out)) >= 0) {
			return (rv == 0 ? 0 : LLMCOST_ENOTFOUND);
		}
	}
	return (LLMCOST_ENOTFOUND);
}

uint64_t
prices_input_total(const uint64_t usage[LLMCOST_BUCKET_COUNT])
{
	uint64_t in_total = 0;

	// A total past UINT64_MAX is past any threshold: saturate.
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (llmcost__bucket_is_output[b]) {
			continue;
		}
		if (__builtin_add_overflow(in_total, usage[b], &in_total)) {
			return (UINT64_MAX);
		}
	}
	return (in_total);
}

int
prices_set_for(const price_entry *e, unsigned tier, uint64_t in_total,
    const price_set **out)
{
	const price_set *best = NULL;

	if (e == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	// Sets are sorted by (tier, above) and every tier has a base set
	// (above 0) first: the last one of the tier that applies wins.
	for (uint32_t i = 0; i < e->nsets; i++) {
		const price_set *s = &e->sets[i];
		if (s->service_tier == tier
		    && (s->above == 0 || in_total > s->above)) {
			best = s;
		}
	}
	if (best == NULL) {
		return (LLMCOST_ENOTFOUND); // the tier is not offered
	}
	*out = best;
	return (0);
}

int
prices_set_cost(const price_set *s, const uint64_t usage[LLMCOST_BUCKET_COUNT],
    int64_t *cost_pusd)
{
	int64_t sum = 0;
	int unpriced = 0;

	if (s == NULL || usage == NULL || cost_pusd == NULL) {
		return (LLMCOST_EINVAL);
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		int64_t part, price = s->pusd[b];

		if (price == PRICE_UNPRICED) {
			unpriced |= usage[b] > 0;
			continue;
		}
		if (price < 0) {
			return (LLMCOST_EINVAL);
		}
		// A count past INT64_MAX overflows with any price but 0.
		if (usage[b] > (uint64_t) INT64_MAX) {
			if (price == 0) {
				continue;
			}
			return (LLMCOST_ETOOBIG);
		}
		if (__builtin_mul_overflow((int64_t) usage[b], price, &part)
		    || __builtin_add_overflow(sum, part, &sum)) {
			return (LLMCOST_ETOOBIG);
		}
	}
	*cost_pusd = sum;
	return (unpriced ? LLMCOST_ENOTFOUND : 0);
}

int
prices_cost_tier(const price_entry *e, unsigned tier,
    const uint64_t usage[LLMCOST_BUCKET_COUNT], int64_t *cost_pusd)
{
	const price_set *s;

	if (e == NULL || usage == NULL || cost_pusd == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (prices_set_for(e, tier, prices_input_total(usage), &s) != 0) {
		*cost_pusd = 0;
		return (LLMCOST_ENOTFOUND);
	}
	return (prices_set_cost(s, usage, cost_pusd));
}

int
prices_cost(const price_entry *e, const uint64_t usage[LLMCOST_BUCKET_COUNT],
    int64_t *cost_pusd)
{
	return (prices_cost_tier(e, LLMCOST_TIER_STANDARD, usage, cost_pusd));
}

int
prices_fee(const price_entry *e, int f, int64_t *pusd)
{
	if (e == NULL || pusd == NULL || f < 0 || f >= LLMCOST_FEE_COUNT) {
		return (LLMCOST_EINVAL);
	}
	if (e->fee_pusd[f] < 0) {
		return (LLMCOST_ENOTFOUND);
	}
	*pusd = e->fee_pusd[f];
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
prices_table_entries(const prices_table *t, size_t *count)
{
	if (count != NULL) {
		*count = t != NULL ? t->n : 0;
	}
	return (t != NULL ? t->e : NULL);
}

const char *
prices_table_version(const prices_table *t)
{
	return (t != NULL ? t->version : "none");
}

// The built-in table, parsed once.
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static prices_table *builtin_table;
static prices_table empty_table = { .version = "none", .builtin = 1 };

static void
builtin_init(void)
{
	prices_table *t = NULL;
	char err[PRICES_ERR_MAX];

	// The build's tests check that the built-in files parse; should
	// they not, every call is unpriced rather than mispriced.
	if (prices_table_build(
	        prices_data_sources, prices_data_count, &t, err, sizeof(err))
	    != 0) {
		t = NULL;
	}
	if (t != NULL) {
		t->builtin = 1;
	}
	builtin_table = t != NULL ? t : &empty_table;
}

const prices_table *
prices_builtin_table(void)
{
	pthread_once(&builtin_once, builtin_init);
	return (builtin_table);
}

void
prices_table_free(prices_table *t)
{
	if (t == NULL || t->builtin) {
		return;
	}
	prices__table_destroy(t);
}

// The table in force, and the references to it (current.refs counts
// acquirers; a retired table is freed at its last release).
static pthread_mutex_t current_mtx = PTHREAD_MUTEX_INITIALIZER;
static prices_table *current;

const prices_table *
prices_current_acquire(void)
{
	prices_table *t;

	pthread_mutex_lock(&current_mtx);
	t = current;
	if (t != NULL) {
		t->refs++;
	}
	pthread_mutex_unlock(&current_mtx);
	// The built-in table is built only when nothing else was installed.
	return (t != NULL ? t : prices_builtin_table());
}

void
prices_current_release(const prices_table *ct)
{
	prices_table *t = (prices_table *) ct;
	int dead = 0;

	if (t == NULL || t->builtin) {
		return;
	}
	pthread_mutex_lock(&current_mtx);
	t->refs--;
	dead = t->retired && t->refs == 0;
	pthread_mutex_unlock(&current_mtx);
	if (dead) {
		prices__table_destroy(t);
	}
}

void
prices_current_set(prices_table *t)
{
	prices_table *old;
	int dead = 0;

	pthread_mutex_lock(&current_mtx);
	old = current;
	current = (t != NULL && !t->builtin) ? t : NULL;
	if (old != NULL) {
		old->retired = 1;
		dead = old->refs == 0;
	}
	pthread_mutex_unlock(&current_mtx);
	if (dead) {
		prices__table_destroy(old);
	}
}

void
prices_current_version(char *buf, size_t bufsz)
{
	char v[17];
	int have = 0;

	pthread_mutex_lock(&current_mtx);
	if (current != NULL) {
		memcpy(v, current->version, sizeof(v));
		have = 1;
	}
	pthread_mutex_unlock(&current_mtx);
	if (!have) {
		// The built-in table's version, without building it.
		prices__sources_version(
		    prices_data_sources, prices_data_count, v);
	}
	snprintf(buf, bufsz, "%s", v);
}

int
prices_lookup(const char *provider, size_t provider_len, const char *model,
    size_t model_len, uint64_t start_ns, const price_entry **out)
{
	price_query q;

	memset(&q, 0, sizeof(q));
	q.provider = provider;
	q.provider_len = provider_len;
	q.model = model;
	q.model_len = model_len;
	q.start_ns = start_ns;
	return (prices_find(prices_builtin_table(), &q, out));
}

const price_entry *
prices_builtin(size_t *count)
{
	return (prices_table_entries(prices_builtin_table(), count));
}
