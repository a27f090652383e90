// DESIGN: importers for the two public price tables most projects copy
// from, LiteLLM's and Langfuse's.  Both are read with jansson (a cold
// path: a command, once) and converted field by field into entries of
// our own format, written with the same writer `llmcost prices show`
// uses, so the output is always a valid price file.  Neither source has
// effective dates, so every entry gets the date the caller gives.  What
// cannot be mapped is never dropped silently: an entry is skipped with
// its reason, a field is counted under its name with its reason, and a
// price that is implausible next to the entry's others is flagged (the
// survey of these tables found real errors of exactly these kinds: a
// 1 h cache write below or far above the 5 min one, a priority price 50x
// the base, a long-context price above the output price).  JSON numbers
// are doubles; each is read back through its shortest decimal form, so a
// published "2.5e-06" becomes exactly 2,500,000 pico-USD, and one that
// is not a whole pico-USD is rounded and counted.
#include <math.h>
#include <stdarg.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "llmcost_common.h"
#include "prices.h"
#include "prices_import.h"

void
prices_import_init(prices_import *imp, FILE *out, FILE *log, uint32_t first_id,
    int64_t valid_from)
{
	memset(imp, 0, sizeof(*imp));
	imp->out = out;
	imp->log = log;
	imp->next_id = first_id;
	imp->valid_from = valid_from;
}

void
prices_import_fini(prices_import *imp)
{
	for (size_t i = 0; i < imp->nseen; i++) {
		free(imp->seen[i]);
	}
	free(imp->seen);
	imp->seen = NULL;
	imp->nseen = imp->capseen = 0;
}

int
prices_import_pusd(double usd, int64_t *out, int *rounded)
{
	char buf[64], *e;
	int64_t m = 0;
	int frac = 0, dot = 0, exp10 = 0;

	if (!isfinite(usd) || usd < 0 || usd > 1e6) {
		return (-1);
	}
	snprintf(buf, sizeof(buf), "%.15g", usd);
	for (e = buf; *e != '\0' && *e != 'e'; e++) {
		if (*e == '.') {
			dot = 1;
			continue;
		}
		m = m * 10 + (*e - '0'); // at most 15 digits: no overflow
		frac += dot;
	}
	if (*e == 'e') {
		exp10 = (int) strtol(e + 1, NULL, 10);
	}
	// usd = m x 10^(exp10 - frac); pico-USD = m x 10^(12 + exp10 - frac).
	int k = 12 + exp10 - frac;
	if (k >= 0) {
		for (; k > 0; k--) {
			if (__builtin_mul_overflow(m, 10, &m)) {
				return (-1);
			}
		}
		*out = m;
		return (0);
	}
	int64_t div = 1;
	for (; k < 0 && div <= INT64_MAX / 10; k++) {
		div *= 10;
	}
	if (k < 0) {
		*out = 0; // far below a pico-USD
		*rounded = 1;
		return (0);
	}
	int64_t q = m / div, r = m % div;
	if (r != 0) {
		*rounded = 1;
		q += r * 2 >= div;
	}
	*out = q;
	return (0);
}

// ---- skipped fields and flags -------------------------------------------

static void
skip_field(prices_import *imp, const char *name, const char *why)
{
	for (size_t i = 0; i < imp->nfields; i++) {
		if (strcmp(imp->fields[i].name, name) == 0) {
			imp->fields[i].count++;
			return;
		}
	}
	if (imp->nfields == PRICES_IMPORT_MAX_FIELDS) {
		return;
	}
	prices_import_field *f = &imp->fields[imp->nfields++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->why = why;
	f->count = 1;
}

void
prices_import_summary(const prices_import *imp)
{
	for (size_t i = 0; i < imp->nfields; i++) {
		fprintf(imp->log, "skip field %s (%zu entries): %s\n",
		    imp->fields[i].name, imp->fields[i].count,
		    imp->fields[i].why);
	}
}

static void
skip_entry(prices_import *imp, const char *key, const char *why)
{
	fprintf(imp->log, "skip entry %s: %s\n", key, why);
	imp->skipped++;
}

// "$X/1M" for a per-token price.
static const char *
usd1m(int64_t p, char *buf, size_t bufsz)
{
	char num[48];
	if (prices_format_decimal(p, 6, num, sizeof(num)) != 0) {
		snprintf(num, sizeof(num), "?");
	}
	snprintf(buf, bufsz, "$%s/1M", num);
	return (buf);
}

// ---- an entry being built -------------------------------------------------

typedef struct ib {
	price_entry e;
	price_set sets[PRICES_MAX_SETS];
	uint32_t nsets;
	const char *key;
	char provider[LLMCOST_MAX_PLATFORM + 1];
	char platform[LLMCOST_MAX_PLATFORM + 1];
	char model[LLMCOST_MAX_MODEL + 1];
	char source[512];
} ib;

static void
ib_init(ib *b, const char *key)
{
	memset(b, 0, sizeof(*b));
	b->key = key;
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		b->e.fee_pusd[f] = PRICE_UNPRICED;
	}
}

static price_set *
ib_set(ib *b, unsigned tier, uint64_t above)
{
	for (uint32_t i = 0; i < b->nsets; i++) {
		if (b->sets[i].service_tier == tier
		    && b->sets[i].above == above) {
			return (&b->sets[i]);
		}
	}
	if (b->nsets == PRICES_MAX_SETS) {
		return (NULL);
	}
	price_set *s = &b->sets[b->nsets++];
	memset(s, 0, sizeof(*s));
	s->service_tier = (uint8_t) tier;
	s->above = above;
	for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
		s->pusd[k] = PRICE_UNPRICED;
	}
	return (s);
}

static const price_set *
ib_find(const ib *b, unsigned tier, uint64_t above)
{
	for (uint32_t i = 0; i < b->nsets; i++) {
		if (b->sets[i].service_tier == tier
		    && b->sets[i].above == above) {
			return (&b->sets[i]);
		}
	}
	return (NULL);
}

static void flag(prices_import *imp, const ib *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
flag(prices_import *imp, const ib *b, const char *fmt, ...)
{
	va_list ap;
	fprintf(imp->log, "flag %s: ", b->key);
	va_start(ap, fmt);
	vfprintf(imp->log, fmt, ap);
	va_end(ap);
	fputc('\n', imp->log);
	imp->flagged++;
}

#define P(s, k)   ((s)->pusd[LLMCOST_##k])
#define HAS(s, k) ((s)->pusd[LLMCOST_##k] != PRICE_UNPRICED)

// Prices that contradict the entry's others.
static void
check_plausible(prices_import *imp, const ib *b)
{
	const price_set *std = ib_find(b, LLMCOST_TIER_STANDARD, 0);
	char x[64], y[64];

	for (uint32_t i = 0; i < b->nsets; i++) {
		const price_set *s = &b->sets[i];
		const char *tn = llmcost__tier_name(s->service_tier);
		if (HAS(s, IN_CACHE_READ) && HAS(s, IN_UNCACHED)
		    && P(s, IN_CACHE_READ) > P(s, IN_UNCACHED)) {
			flag(imp, b,
			    "%s cache read %s above the input price %s", tn,
			    usd1m(P(s, IN_CACHE_READ), x, sizeof(x)),
			    usd1m(P(s, IN_UNCACHED), y, sizeof(y)));
		}
		if (HAS(s, IN_CACHE_WRITE_5M) && HAS(s, IN_CACHE_WRITE_1H)) {
			int64_t w5 = P(s, IN_CACHE_WRITE_5M);
			int64_t w1 = P(s, IN_CACHE_WRITE_1H);
			if (w1 < w5) {
				flag(imp, b,
				    "1 h cache write %s cheaper than the 5 "
				    "min "
				    "write %s",
				    usd1m(w1, x, sizeof(x)),
				    usd1m(w5, y, sizeof(y)));
			} else if (w1 > 3 * w5) {
				flag(imp, b,
				    "1 h cache write %s is more than 3x the 5 "
				    "min write %s (the providers' ratio is "
				    "1.6x)",
				    usd1m(w1, x, sizeof(x)),
				    usd1m(w5, y, sizeof(y)));
			}
		}
		if (std == NULL || s == std) {
			continue;
		}
		if (s->above == 0
		    && s->service_tier == LLMCOST_TIER_PRIORITY) {
			if ((HAS(s, IN_UNCACHED) && HAS(std, IN_UNCACHED)
			        && P(s, IN_UNCACHED) > 3 * P(std, IN_UNCACHED))
			    || (HAS(s, OUT_TEXT) && HAS(std, OUT_TEXT)
			        && P(s, OUT_TEXT) > 3 * P(std, OUT_TEXT))) {
				flag(imp, b,
				    "priority input %s is far above the "
				    "standard %s (more than 3x)",
				    usd1m(P(s, IN_UNCACHED), x, sizeof(x)),
				    usd1m(P(std, IN_UNCACHED), y, sizeof(y)));
			}
		}
		if (s->above == 0
		    && (s->service_tier == LLMCOST_TIER_BATCH
		        || s->service_tier == LLMCOST_TIER_FLEX)
		    && HAS(s, IN_UNCACHED) && HAS(std, IN_UNCACHED)
		    && P(s, IN_UNCACHED) > P(std, IN_UNCACHED)) {
			flag(imp, b, "%s input %s above the standard %s", tn,
			    usd1m(P(s, IN_UNCACHED), x, sizeof(x)),
			    usd1m(P(std, IN_UNCACHED), y, sizeof(y)));
		}
		if (s->above != 0) {
			const price_set *base = ib_find(b, s->service_tier, 0);
			if (HAS(s, IN_UNCACHED) && HAS(std, OUT_TEXT)
			    && P(s, IN_UNCACHED) > P(std, OUT_TEXT)) {
				flag(imp, b,
				    "input above %llu tokens %s is above the "
				    "output price %s",
				    (unsigned long long) s->above,
				    usd1m(P(s, IN_UNCACHED), x, sizeof(x)),
				    usd1m(P(std, OUT_TEXT), y, sizeof(y)));
			}
			if (base != NULL && HAS(s, IN_UNCACHED)
			    && HAS(base, IN_UNCACHED)
			    && P(s, IN_UNCACHED) < P(base, IN_UNCACHED)) {
				flag(imp, b,
				    "input above %llu tokens %s is below the "
				    "base %s",
				    (unsigned long long) s->above,
				    usd1m(P(s, IN_UNCACHED), x, sizeof(x)),
				    usd1m(P(base, IN_UNCACHED), y, sizeof(y)));
			}
		}
	}
}

static int
seen_add(prices_import *imp, const ib *b)
{
	char key[LLMCOST_MAX_MODEL + 2 * LLMCOST_MAX_PLATFORM + 8];
	snprintf(key, sizeof(key), "%s\n%s\n%s", b->provider, b->model,
	    b->platform);
	for (size_t i = 0; i < imp->nseen; i++) {
		if (strcmp(imp->seen[i], key) == 0) {
			return (1);
		}
	}
	if (imp->nseen == imp->capseen) {
		size_t ncap = imp->capseen ? imp->capseen * 2 : 256;
		char **n = realloc(imp->seen, ncap * sizeof(*n));
		if (n == NULL) {
			return (0);
		}
		imp->seen = n;
		imp->capseen = ncap;
	}
	imp->seen[imp->nseen++] = strdup(key);
	return (0);
}

// Completes b (reasoning at the output rate and images at the input
// rate where no own price is given: how the token prices of these
// tables are meant), checks it and writes it.
static void
ib_write(prices_import *imp, ib *b)
{
	uint32_t keep = 0;

	for (uint32_t i = 0; i < b->nsets; i++) {
		price_set *s = &b->sets[i];
		if (s->above != 0 && ib_find(b, s->service_tier, 0) == NULL) {
			skip_field(imp, "(tier without base)",
			    "a long-context price of a service tier with no "
			    "base price");
			continue;
		}
		if (!HAS(s, OUT_REASONING) && HAS(s, OUT_TEXT)) {
			P(s, OUT_REASONING) = P(s, OUT_TEXT);
		}
		if (!HAS(s, IN_IMAGE) && HAS(s, IN_UNCACHED)) {
			P(s, IN_IMAGE) = P(s, IN_UNCACHED);
		}
		b->sets[keep++] = *s;
	}
	b->nsets = keep;
	const price_set *std = ib_find(b, LLMCOST_TIER_STANDARD, 0);
	if (std == NULL || !HAS(std, IN_UNCACHED) || !HAS(std, OUT_TEXT)) {
		skip_entry(imp, b->key, "no standard input and output price");
		return;
	}
	if (seen_add(imp, b)) {
		skip_entry(imp, b->key,
		    "an earlier key names the same provider, model and "
		    "platform");
		return;
	}
	check_plausible(imp, b);
	b->e.id = imp->next_id++;
	b->e.provider = b->provider;
	b->e.model = b->model;
	b->e.platform = b->platform;
	b->e.source = b->source;
	b->e.valid_from = imp->valid_from;
	b->e.sets = b->sets;
	b->e.nsets = b->nsets;
	fputc('\n', imp->out);
	prices_write_entry(imp->out, &b->e);
	imp->entries++;
}

// A provider or platform name as the price files take it.
static int
set_name(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);
	if (n == 0 || n >= dstsz) {
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c >= 'A' && c <= 'Z') {
			c = (char) (c - 'A' + 'a');
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || c == '-' || c == '_')) {
			c = '_';
		}
		dst[i] = c;
	}
	dst[n] = '\0';
	return (0);
}

// A model name (or pattern) fit for the format: one token of 1..256
// printable bytes.
static int
set_model(ib *b, const char *m)
{
	size_t n = strlen(m);
	if (n == 0 || n > LLMCOST_MAX_MODEL || m[0] == '#') {
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char) m[i] <= 0x20 || m[i] == 0x7f) {
			return (-1);
		}
	}
	memcpy(b->model, m, n + 1);
	return (0);
}

static json_t *
load(const char *path, char *err, size_t errsz, int *rv)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (root == NULL) {
		snprintf(err, errsz, "%s:%d: %s", path, je.line, je.text);
		*rv = je.line <= 0 ? LLMCOST_ENOTFOUND : LLMCOST_EPROTO;
	}
	return (root);
}

// ---- LiteLLM ----------------------------------------------------------------

// Base field names and the bucket they price.
static const struct {
	const char *name;
	int bucket;
} ll_bases[] = {
	{ "input_cost_per_token", LLMCOST_IN_UNCACHED },
	{ "output_cost_per_token", LLMCOST_OUT_TEXT },
	{ "cache_read_input_token_cost", LLMCOST_IN_CACHE_READ },
	{ "cache_creation_input_token_cost", LLMCOST_IN_CACHE_WRITE_5M },
	{ "cache_creation_input_token_cost_above_1hr",
	    LLMCOST_IN_CACHE_WRITE_1H },
	{ "input_cost_per_audio_token", LLMCOST_IN_AUDIO },
	{ "output_cost_per_audio_token", LLMCOST_OUT_AUDIO },
	{ "output_cost_per_reasoning_token", LLMCOST_OUT_REASONING },
	{ "input_cost_per_image_token", LLMCOST_IN_IMAGE },
	{ "output_cost_per_image_token", LLMCOST_OUT_IMAGE },
};

// Fields that carry no price (capabilities, limits, names): ignored.
static int
ll_not_a_price(const char *k)
{
	return (strstr(k, "cost") == NULL && strstr(k, "price") == NULL
	    && strstr(k, "uplift") == NULL);
}

// Splits a price field into (bucket, service tier, above); -1 when it is
// not one of the token prices the format has.
static int
ll_field(const char *k, int *bucket, unsigned *tier, uint64_t *above)
{
	char f[96];
	size_t n = strlen(k);

	if (n >= sizeof(f)) {
		return (-1);
	}
	memcpy(f, k, n + 1);
	*tier = LLMCOST_TIER_STANDARD;
	*above = 0;
	static const struct {
		const char *suf;
		unsigned tier;
	} sfx[] = { { "_batches", LLMCOST_TIER_BATCH },
		{ "_flex", LLMCOST_TIER_FLEX },
		{ "_priority", LLMCOST_TIER_PRIORITY } };
	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(sfx[i].suf);
		if (n > sl && strcmp(f + n - sl, sfx[i].suf) == 0) {
			f[n - sl] = '\0';
			n -= sl;
			*tier = sfx[i].tier;
			break;
		}
	}
	// "_above_<N>k_tokens" (after "_above_1hr" when both are there).
	char *a = NULL;
	for (char *p = strstr(f, "_above_"); p != NULL;
	     p = strstr(p + 1, "_above_")) {
		char *end;
		unsigned long long kk = strtoull(p + 7, &end, 10);
		if (end != p + 7 && kk > 0 && strcmp(end, "k_tokens") == 0) {
			a = p;
			*above = kk * 1000;
		}
	}
	if (a != NULL) {
		*a = '\0';
	}
	for (size_t i = 0; i < sizeof(ll_bases) / sizeof(ll_bases[0]); i++) {
		if (strcmp(f, ll_bases[i].name) == 0) {
			*bucket = ll_bases[i].bucket;
			return (0);
		}
	}
	return (-1);
}

static void
ll_price(prices_import *imp, ib *b, const char *k, json_t *v)
{
	int bucket;
	unsigned tier;
	uint64_t above;
	int64_t p;
	int rounded = 0;

	if (ll_field(k, &bucket, &tier, &above) != 0) {
		skip_field(imp, k,
		    "no usage bucket or tier for it (per second, character, "
		    "image, page, query, regional uplift, ...)");
		return;
	}
	if (!json_is_number(v)
	    || prices_import_pusd(json_number_value(v), &p, &rounded) != 0) {
		skip_field(imp, k, "not a price (a number >= 0)");
		return;
	}
	if (rounded) {
		imp->rounded++;
		fprintf(imp->log,
		    "flag %s: %s = %.15g is not a whole pico-USD per token: "
		    "rounded\n",
		    b->key, k, json_number_value(v));
	}
	price_set *s = ib_set(b, tier, above);
	if (s == NULL) {
		skip_field(imp, k, "more price sets than an entry holds");
		return;
	}
	s->pusd[bucket] = p;
}

static void
ll_tiered(prices_import *imp, ib *b, json_t *arr)
{
	size_t i;
	json_t *t;

	json_array_foreach(arr, i, t)
	{
		json_t *r = json_object_get(t, "range");
		json_t *in = json_object_get(t, "input_cost_per_token");
		json_t *out = json_object_get(t, "output_cost_per_token");
		int64_t pi, po;
		int rd = 0;
		if (!json_is_array(r) || json_array_size(r) != 2
		    || !json_is_number(json_array_get(r, 0)) || in == NULL
		    || out == NULL
		    || prices_import_pusd(json_number_value(in), &pi, &rd) != 0
		    || prices_import_pusd(json_number_value(out), &po, &rd)
		        != 0) {
			skip_field(imp, "tiered_pricing",
			    "a range without input and output prices");
			continue;
		}
		double lo = json_number_value(json_array_get(r, 0));
		price_set *s = ib_set(
		    b, LLMCOST_TIER_STANDARD, lo <= 0 ? 0 : (uint64_t) lo);
		if (s != NULL) {
			s->pusd[LLMCOST_IN_UNCACHED] = pi;
			s->pusd[LLMCOST_OUT_TEXT] = po;
		}
	}
}

static const struct {
	const char *ll;
	const char *provider;
	const char *platform;
} ll_providers[] = {
	{ "openai", "openai", "" },
	{ "text-completion-openai", "openai", "" },
	{ "azure", "openai", "azure" },
	{ "anthropic", "anthropic", "" },
	{ "gemini", "google", "" },
	{ "vertex_ai-language-models", "google", "vertex" },
	{ "vertex_ai-anthropic_models", "anthropic", "vertex" },
};

// A model name of the chat families of OpenAI, Anthropic or Google
// ("gpt-", "claude-", "gemini-", after any routing prefix) that does not
// name an embedding model.
static int
chat_name(const char *key)
{
	const char *m = strrchr(key, '/');
	m = m != NULL ? m + 1 : key;
	if (strstr(m, "embed") != NULL) {
		return (0);
	}
	return (strncmp(m, "gpt-", 4) == 0 || strncmp(m, "claude-", 7) == 0
	    || strncmp(m, "gemini-", 7) == 0);
}

static void
ll_entry(prices_import *imp, const char *key, json_t *j)
{
	ib b;
	const char *k;
	json_t *v;

	ib_init(&b, key);
	json_t *mode = json_object_get(j, "mode");
	const char *ms = json_is_string(mode) ? json_string_value(mode) : "";
	if (strcmp(ms, "chat") != 0 && strcmp(ms, "responses") != 0
	    && strcmp(ms, "completion") != 0 && strcmp(ms, "realtime") != 0) {
		if (strcmp(ms, "embedding") == 0 && chat_name(key)) {
			// Survey 2.1: LiteLLM rewrote gemini/gemini-1.5-flash
			// into an embedding entry (output price 0).
			flag(imp, &b,
			    "mode embedding for a chat model's name (output "
			    "price 0): a chat entry rewritten as an embedding "
			    "one, not imported");
		}
		skip_entry(imp, key,
		    "not a chat model (mode other than chat, responses, "
		    "completion, realtime)");
		return;
	}
	json_t *lp = json_object_get(j, "litellm_provider");
	const char *lps = json_is_string(lp) ? json_string_value(lp) : "";
	const char *prov = NULL, *plat = "";
	for (size_t i = 0; i < sizeof(ll_providers) / sizeof(ll_providers[0]);
	     i++) {
		if (strcmp(lps, ll_providers[i].ll) == 0) {
			prov = ll_providers[i].provider;
			plat = ll_providers[i].platform;
		}
	}
	if ((strcmp(lps, "bedrock") == 0
	        || strcmp(lps, "bedrock_converse") == 0)
	    && strstr(key, "anthropic.") != NULL) {
		prov = "anthropic";
		plat = "bedrock";
	}
	if (set_name(b.provider, sizeof(b.provider), prov ? prov : lps) != 0
	    || set_name(b.platform, sizeof(b.platform), plat[0] ? plat : "x")
	        != 0) {
		skip_entry(imp, key, "no usable litellm_provider");
		return;
	}
	if (plat[0] == '\0') {
		b.platform[0] = '\0';
	}
	// "gemini/gemini-2.5-pro": the routing prefix is not the model's.
	const char *model = key;
	const char *slash = strchr(key, '/');
	if (slash != NULL && slash[1] != '\0'
	    && (strncmp(key, lps, (size_t) (slash - key)) == 0
	        || strncmp(key, "vertex_ai/", 10) == 0
	        || strncmp(key, "azure/", 6) == 0)) {
		model = slash + 1;
	}
	if (set_model(&b, model) != 0) {
		skip_entry(imp, key, "a model name the format cannot hold");
		return;
	}
	json_t *src = json_object_get(j, "source");
	snprintf(b.source, sizeof(b.source),
	    "LiteLLM model_prices_and_context_window.json: %s%s%s", key,
	    json_is_string(src) ? " from " : "",
	    json_is_string(src) ? json_string_value(src) : "");
	json_object_foreach(j, k, v)
	{
		if (strcmp(k, "search_context_cost_per_query") == 0) {
			json_t *lo
			    = json_object_get(v, "search_context_size_low");
			json_t *md
			    = json_object_get(v, "search_context_size_medium");
			json_t *hi
			    = json_object_get(v, "search_context_size_high");
			int64_t p;
			int rd = 0;
			if (json_is_number(lo) && json_is_number(md)
			    && json_is_number(hi)
			    && json_number_value(lo) == json_number_value(md)
			    && json_number_value(md) == json_number_value(hi)
			    && prices_import_pusd(
			           json_number_value(lo), &p, &rd)
			        == 0) {
				b.e.fee_pusd[LLMCOST_FEE_WEB_SEARCH] = p;
			} else {
				skip_field(imp, k,
				    "depends on the search context size, "
				    "which calls do not record");
			}
			continue;
		}
		if (strcmp(k, "tiered_pricing") == 0) {
			ll_tiered(imp, &b, v);
			continue;
		}
		if (ll_not_a_price(k)) {
			continue;
		}
		ll_price(imp, &b, k, v);
	}
	ib_write(imp, &b);
}

int
prices_import_litellm(
    prices_import *imp, const char *path, char *err, size_t errsz)
{
	int rv = 0;
	json_t *root = load(path, err, errsz, &rv);
	const char *key;
	json_t *v;

	if (root == NULL) {
		return (rv);
	}
	if (!json_is_object(root)) {
		snprintf(err, errsz, "%s: not a JSON object of models", path);
		json_decref(root);
		return (LLMCOST_EPROTO);
	}
	json_object_foreach(root, key, v)
	{
		if (!json_is_object(v) || strcmp(key, "sample_spec") == 0) {
			skip_entry(imp, key, "not a model");
			continue;
		}
		ll_entry(imp, key, v);
	}
	json_decref(root);
	return (0);
}

// ---- Langfuse ---------------------------------------------------------------

// Langfuse's usage keys (it repeats each price under many names) and
// the bucket each prices; a bucket of -1 is a per-request fee.
static const struct {
	const char *key;
	int bucket;
} lf_keys[] = {
	{ "input", LLMCOST_IN_UNCACHED },
	{ "input_tokens", LLMCOST_IN_UNCACHED },
	{ "input_text", LLMCOST_IN_UNCACHED },
	{ "input_text_tokens", LLMCOST_IN_UNCACHED },
	{ "promptTokenCount", LLMCOST_IN_UNCACHED },
	{ "prompt_token_count", LLMCOST_IN_UNCACHED },
	{ "input_modality_1", LLMCOST_IN_UNCACHED },
	{ "input_cached_tokens", LLMCOST_IN_CACHE_READ },
	{ "input_cache_read", LLMCOST_IN_CACHE_READ },
	{ "cache_read_input_tokens", LLMCOST_IN_CACHE_READ },
	{ "cached_content_token_count", LLMCOST_IN_CACHE_READ },
	{ "input_cached_text_tokens", LLMCOST_IN_CACHE_READ },
	{ "input_cache_creation", LLMCOST_IN_CACHE_WRITE_5M },
	{ "input_cache_creation_5m", LLMCOST_IN_CACHE_WRITE_5M },
	{ "cache_creation_input_tokens", LLMCOST_IN_CACHE_WRITE_5M },
	{ "cache_write_tokens", LLMCOST_IN_CACHE_WRITE_5M },
	{ "input_cache_creation_1h", LLMCOST_IN_CACHE_WRITE_1H },
	{ "input_audio", LLMCOST_IN_AUDIO },
	{ "input_audio_tokens", LLMCOST_IN_AUDIO },
	{ "input_image", LLMCOST_IN_IMAGE },
	{ "output", LLMCOST_OUT_TEXT },
	{ "output_tokens", LLMCOST_OUT_TEXT },
	{ "output_text", LLMCOST_OUT_TEXT },
	{ "output_text_tokens", LLMCOST_OUT_TEXT },
	{ "candidatesTokenCount", LLMCOST_OUT_TEXT },
	{ "candidates_token_count", LLMCOST_OUT_TEXT },
	{ "output_modality_1", LLMCOST_OUT_TEXT },
	{ "output_reasoning", LLMCOST_OUT_REASONING },
	{ "output_reasoning_tokens", LLMCOST_OUT_REASONING },
	{ "reasoning_tokens", LLMCOST_OUT_REASONING },
	{ "thoughtsTokenCount", LLMCOST_OUT_REASONING },
	{ "thoughts_token_count", LLMCOST_OUT_REASONING },
	{ "output_audio", LLMCOST_OUT_AUDIO },
	{ "output_audio_tokens", LLMCOST_OUT_AUDIO },
	{ "web_search_queries", -1 },
	{ "webSearchQueries", -1 },
	{ "groundingQueries", -1 },
	{ "grounding_queries", -1 },
};

static void
lf_prices(prices_import *imp, ib *b, price_set *s, json_t *prices)
{
	const char *k;
	json_t *v;

	json_object_foreach(prices, k, v)
	{
		int bucket = -2;
		for (size_t i = 0; i < sizeof(lf_keys) / sizeof(lf_keys[0]);
		     i++) {
			if (strcmp(k, lf_keys[i].key) == 0) {
				bucket = lf_keys[i].bucket;
			}
		}
		int64_t p;
		int rd = 0;
		if (bucket == -2) {
			skip_field(imp, k,
			    "no usage bucket for it (cached audio, a total, "
			    "...)");
			continue;
		}
		if (!json_is_number(v)
		    || prices_import_pusd(json_number_value(v), &p, &rd)
		        != 0) {
			skip_field(imp, k, "not a price (a number >= 0)");
			continue;
		}
		if (rd) {
			imp->rounded++;
			fprintf(imp->log,
			    "flag %s: %s = %.15g is not a whole pico-USD: "
			    "rounded\n",
			    b->key, k, json_number_value(v));
		}
		int64_t *slot = bucket == -1
		    ? &b->e.fee_pusd[LLMCOST_FEE_WEB_SEARCH]
		    : &s->pusd[bucket];
		if (*slot != PRICE_UNPRICED && *slot != p) {
			char x[64], y[64];
			flag(imp, b, "%s is %s, another name of it %s", k,
			    usd1m(p, x, sizeof(x)),
			    usd1m(*slot, y, sizeof(y)));
			continue;
		}
		*slot = p;
	}
}

// A Langfuse tier's conditions as (service tier, above); -1 when one
// cannot be expressed.
static int
lf_conditions(json_t *conds, unsigned *tier, uint64_t *above, const char **why)
{
	size_t i;
	json_t *c;

	*tier = LLMCOST_TIER_STANDARD;
	*above = 0;
	json_array_foreach(conds, i, c)
	{
		json_t *key = json_object_get(c, "key");
		json_t *vals = json_object_get(c, "values");
		json_t *pat = json_object_get(c, "usageDetailPattern");
		if (json_is_string(pat)) {
			json_t *op = json_object_get(c, "operator");
			json_t *val = json_object_get(c, "value");
			if (!json_is_string(op)
			    || strcmp(json_string_value(op), "gt") != 0
			    || !json_is_number(val)
			    || strstr(json_string_value(pat), "input")
			        == NULL) {
				*why = "a usage condition other than input "
				       "tokens > N";
				return (-1);
			}
			*above = (uint64_t) json_number_value(val);
			continue;
		}
		if (json_is_string(key)
		    && strcmp(json_string_value(key), "service_tier") == 0
		    && json_is_array(vals) && json_array_size(vals) > 0) {
			const char *v0
			    = json_string_value(json_array_get(vals, 0));
			if (v0 != NULL
			    && (strcmp(v0, "priority") == 0
			        || strcmp(v0, "fast") == 0)) {
				*tier = LLMCOST_TIER_PRIORITY;
				continue;
			}
			if (v0 != NULL && strcmp(v0, "flex") == 0) {
				*tier = LLMCOST_TIER_FLEX;
				continue;
			}
			if (v0 != NULL && strcmp(v0, "batch") == 0) {
				*tier = LLMCOST_TIER_BATCH;
				continue;
			}
		}
		*why = "a condition on a model parameter or metadata other "
		       "than service_tier (e.g. speed=fast)";
		return (-1);
	}
	return (0);
}

// Langfuse's Postgres regex as a POSIX extended one: "(?i)" dropped
// (names are matched as written), \d as [0-9], "(?:" as "(".
static int
lf_pattern(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	if (strncmp(in, "(?i)", 4) == 0) {
		in += 4;
	}
	for (; *in != '\0'; in++) {
		const char *rep = NULL;
		char one[2] = { *in, '\0' };
		if (in[0] == '\\' && in[1] == 'd') {
			rep = "[0-9]";
			in++;
		} else if (in[0] == '(' && in[1] == '?' && in[2] == ':') {
			rep = "(";
			in += 2;
		} else {
			rep = one;
		}
		size_t n = strlen(rep);
		if (o + n >= outsz) {
			return (-1);
		}
		memcpy(out + o, rep, n);
		o += n;
	}
	out[o] = '\0';
	regex_t re;
	if (o < 2 || out[0] != '^' || out[o - 1] != '$'
	    || regcomp(&re, out, REG_EXTENDED | REG_NOSUB) != 0) {
		return (-1);
	}
	regfree(&re);
	return (0);
}

static const char *
lf_provider(const char *pattern, const char *name)
{
	if (strstr(pattern, "openai/") != NULL || strncmp(name, "gpt", 3) == 0
	    || strncmp(name, "o1", 2) == 0 || strncmp(name, "o3", 2) == 0
	    || strncmp(name, "o4", 2) == 0 || strncmp(name, "text-", 5) == 0
	    || strncmp(name, "chatgpt", 7) == 0) {
		return ("openai");
	}
	if (strstr(pattern, "anthropic") != NULL
	    || strncmp(name, "claude", 6) == 0) {
		return ("anthropic");
	}
	if (strstr(pattern, "gemini") != NULL
	    || strstr(pattern, "google") != NULL
	    || strncmp(name, "gemini", 6) == 0) {
		return ("google");
	}
	return (NULL);
}

static void
lf_model(prices_import *imp, json_t *m)
{
	ib b;
	char key[LLMCOST_MAX_MODEL + 32];
	json_t *name = json_object_get(m, "modelName");
	json_t *pat = json_object_get(m, "matchPattern");
	json_t *tiers = json_object_get(m, "pricingTiers");
	size_t i;
	json_t *t;

	snprintf(key, sizeof(key), "%s",
	    json_is_string(name) ? json_string_value(name) : "(unnamed)");
	ib_init(&b, key);
	if (!json_is_string(pat) || !json_is_array(tiers)) {
		skip_entry(imp, key, "no matchPattern or pricingTiers");
		return;
	}
	const char *prov = lf_provider(
	    json_string_value(pat), json_is_string(name) ? key : "");
	if (prov == NULL) {
		skip_entry(imp, key,
		    "no provider: the pattern names none (openai/, "
		    "anthropic/, gemini) and the name is not one of theirs");
		return;
	}
	char rx[LLMCOST_MAX_MODEL + 1];
	if (lf_pattern(json_string_value(pat), rx, sizeof(rx)) != 0
	    || set_model(&b, rx) != 0) {
		skip_entry(imp, key,
		    "matchPattern is not an anchored POSIX extended regex "
		    "once converted");
		return;
	}
	if (strncmp(json_string_value(pat), "(?i)", 4) == 0) {
		skip_field(imp, "(?i)",
		    "case-insensitive matching: names are matched as "
		    "written");
	}
	snprintf(b.provider, sizeof(b.provider), "%s", prov);
	b.e.match = PRICE_MATCH_PATTERN;
	snprintf(b.source, sizeof(b.source),
	    "Langfuse default-model-prices.json: %s", key);
	json_array_foreach(tiers, i, t)
	{
		unsigned tier;
		uint64_t above;
		const char *why = NULL;
		json_t *conds = json_object_get(t, "conditions");
		json_t *prices = json_object_get(t, "prices");
		if (!json_is_object(prices)) {
			continue;
		}
		if (json_is_array(conds)
		    && lf_conditions(conds, &tier, &above, &why) != 0) {
			skip_field(imp, "pricingTiers.conditions", why);
			continue;
		}
		if (!json_is_array(conds)) {
			tier = LLMCOST_TIER_STANDARD;
			above = 0;
		}
		price_set *s = ib_set(&b, tier, above);
		if (s == NULL) {
			skip_field(imp, "pricingTiers",
			    "more price sets than an entry holds");
			continue;
		}
		lf_prices(imp, &b, s, prices);
	}
	ib_write(imp, &b);
}

int
prices_import_langfuse(
    prices_import *imp, const char *path, char *err, size_t errsz)
{
	int rv = 0;
	json_t *root = load(path, err, errsz, &rv);
	size_t i;
	json_t *m;

	if (root == NULL) {
		return (rv);
	}
	if (!json_is_array(root)) {
		snprintf(err, errsz, "%s: not a JSON array of models", path);
		json_decref(root);
		return (LLMCOST_EPROTO);
	}
	json_array_foreach(root, i, m)
	{
		if (!json_is_object(m)) {
			skip_entry(imp, "(not an object)", "not a model");
			continue;
		}
		lf_model(imp, m);
	}
	json_decref(root);
	return (0);
}
