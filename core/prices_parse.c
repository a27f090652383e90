// DESIGN: the price-file reader.  One line-oriented format for the
// built-in files (data/prices/*.txt) and for users' overrides, so that a
// user copies an entry from the built-in table and edits it.  Every line
// is one field, so an error names the file, the line and the field, and
// the reader stops at the first one: a table is built whole or not at
// all (a daemon reloading a broken file keeps its old table).  Prices are
// read as exact decimals into integer pico-USD; a value that is not a
// whole number of pico-USD is an error, never rounded.  Caps on file
// size, line length, entries and sets per entry bound the memory a file
// can take.  The format is specified in docs/prices.md.
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llmcost_common.h"
#include "prices_data.h"
#include "prices_int.h"

typedef struct builder {
	price_entry *e;
	size_t n;
	size_t cap;
	uint32_t seq;
	char *err;
	size_t errsz;
} builder;

// The entry being read.
typedef struct cur {
	int open;
	price_entry pe;
	price_set sets[PRICES_MAX_SETS];
	uint32_t nsets;
	int have_from, have_source, have_match, have_platform;
} cur;

static int fail(builder *b, const char *file, uint32_t line, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(builder *b, const char *file, uint32_t line, const char *field,
    const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (b->err != NULL && b->errsz > 0) {
		snprintf(b->err, b->errsz, "%s:%u: field %s: %s", file, line,
		    field, what);
	}
	return (LLMCOST_EPROTO);
}

int
prices_decimal(const char *s, size_t len, unsigned scale, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;
	unsigned frac = 0;
	int digits = 0, dot = 0;

	if (s == NULL || len == 0 || scale > 18) {
		return (-1);
	}
	for (; i < len; i++) {
		char c = s[i];
		if (c == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (c < '0' || c > '9') {
			return (-1);
		}
		digits++;
		if (dot) {
			if (frac == scale) {
				if (c != '0') {
					return (-1); // finer than the scale
				}
				continue;
			}
			frac++;
		}
		if (__builtin_mul_overflow(v, 10, &v)
		    || __builtin_add_overflow(v, c - '0', &v)) {
			return (-1);
		}
	}
	if (digits == 0 || s[len - 1] == '.') {
		return (-1);
	}
	for (; frac < scale; frac++) {
		if (__builtin_mul_overflow(v, 10, &v)) {
			return (-1);
		}
	}
	*out = v;
	return (0);
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", UTC, a real calendar instant.
static int
parse_date(const char *s, size_t len, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
	char buf[32];

	if (len >= sizeof(buf)) {
		return (-1);
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len == 10) {
		if (sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3
		    || n != 10) {
			return (-1);
		}
	} else if (len == 20) {
		if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h,
		        &mi, &se, &n)
		        != 6
		    || n != 20) {
			return (-1);
		}
	} else {
		return (-1);
	}
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char) buf[i]) && i != 4 && i != 7
		    && i != 10 && i != 13 && i != 16 && i != 19) {
			return (-1);
		}
	}
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	struct tm back;
	if (y < 1970 || gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900
	    || back.tm_mon != mo - 1 || back.tm_mday != d || back.tm_hour != h
	    || back.tm_min != mi || back.tm_sec != se) {
		return (-1);
	}
	*out = (int64_t) t;
	return (0);
}

static char *
dup_n(const char *s, size_t len)
{
	char *p = malloc(len + 1);
	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return (p);
}

static void
entry_free(price_entry *e)
{
	free((char *) e->provider);
	free((char *) e->model);
	free((char *) e->platform);
	free((char *) e->source);
	free((char *) e->file);
	free((price_set *) e->sets);
}

// Splits the next whitespace-separated token off [*p, end).
static int
token(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t')) {
		s++;
	}
	const char *t = s;
	while (t < end && *t != ' ' && *t != '\t') {
		t++;
	}
	*tok = s;
	*len = (size_t) (t - s);
	*p = t;
	return (*len > 0);
}

static int
is_name(const char *s, size_t len)
{
	return (llmcost__platform_check(s, len) == 0);
}

static int
cmp_set(const void *a, const void *b)
{
	const price_set *x = a, *y = b;
	if (x->service_tier != y->service_tier) {
		return (x->service_tier < y->service_tier ? -1 : 1);
	}
	return (x->above < y->above ? -1 : x->above > y->above ? 1 : 0);
}

// Closes the entry being read: checks it and moves it into the builder.
static int
close_entry(builder *b, cur *c, const char *file)
{
	price_entry *e = &c->pe;
	int rv;

	if (!c->open) {
		return (0);
	}
	c->open = 0;
	if (!c->have_from) {
		rv = fail(b, file, e->line, "valid_from",
		    "entry %u has no valid_from", e->id);
		goto fail;
	}
	if (!c->have_source) {
		rv = fail(b, file, e->line, "source", "entry %u has no source",
		    e->id);
		goto fail;
	}
	if (c->nsets == 0) {
		rv = fail(b, file, e->line, "standard",
		    "entry %u has no prices (a line per service tier)", e->id);
		goto fail;
	}
	qsort(c->sets, c->nsets, sizeof(c->sets[0]), cmp_set);
	for (uint32_t i = 0; i < c->nsets; i++) {
		const price_set *s = &c->sets[i];
		if (s->above != 0
		    && (i == 0
		        || c->sets[i - 1].service_tier != s->service_tier)) {
			rv = fail(b, file, e->line,
			    llmcost__tier_name(s->service_tier),
			    "entry %u has prices above %llu input tokens "
			    "but no base line for that tier",
			    e->id, (unsigned long long) s->above);
			goto fail;
		}
	}
	price_set *sets = malloc(sizeof(*sets) * c->nsets);
	if (sets == NULL) {
		rv = LLMCOST_ENOMEM;
		goto fail;
	}
	memcpy(sets, c->sets, sizeof(*sets) * c->nsets);
	e->sets = sets;
	e->nsets = c->nsets;
	if (b->n == b->cap) {
		if (b->cap >= PRICES_MAX_ENTRIES) {
			e->sets = NULL;
			free(sets);
			rv = fail(b, file, e->line, "entry",
			    "more than %u entries", PRICES_MAX_ENTRIES);
			goto fail;
		}
		size_t ncap = b->cap ? b->cap * 2 : 64;
		price_entry *ne = realloc(b->e, ncap * sizeof(*ne));
		if (ne == NULL) {
			e->sets = NULL;
			free(sets);
			rv = LLMCOST_ENOMEM;
			goto fail;
		}
		b->e = ne;
		b->cap = ncap;
	}
	b->e[b->n++] = *e;
	memset(e, 0, sizeof(*e));
	return (0);
fail:
	entry_free(e);
	memset(e, 0, sizeof(*e));
	return (rv);
}

// "<tier> [>N] bucket=price ...": one price set.
static int
read_set(builder *b, cur *c, const char *file, uint32_t ln, int tier,
    const char *p, const char *end)
{
	const char *tok;
	size_t len;
	const char *tname = llmcost__tier_name(tier);
	price_set s;

	memset(&s, 0, sizeof(s));
	s.service_tier = (uint8_t) tier;
	for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
		s.pusd[k] = PRICE_UNPRICED;
	}
	const char *save = p;
	if (token(&p, end, &tok, &len) && tok[0] == '>') {
		int64_t above;
		if (prices_decimal(tok + 1, len - 1, 0, &above) != 0
		    || above <= 0) {
			return (fail(b, file, ln, tname,
			    "'%.*s' is not >N with N a positive whole number "
			    "of input tokens",
			    (int) len, tok));
		}
		s.above = (uint64_t) above;
	} else {
		p = save;
	}
	int any = 0;
	while (token(&p, end, &tok, &len)) {
		const char *eq = memchr(tok, '=', len);
		if (eq == NULL) {
			return (fail(b, file, ln, tname,
			    "'%.*s' is not bucket=price", (int) len, tok));
		}
		char key[64];
		size_t klen = (size_t) (eq - tok);
		if (klen >= sizeof(key)) {
			klen = sizeof(key) - 1;
		}
		memcpy(key, tok, klen);
		key[klen] = '\0';
		int bk = -1;
		for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
			if (strcmp(key, llmcost__bucket_key[k]) == 0) {
				bk = k;
			}
		}
		if (bk < 0) {
			return (fail(b, file, ln, key,
			    "unknown usage bucket (the report keys: "
			    "input_uncached, input_cache_read, ...)"));
		}
		if (s.pusd[bk] != PRICE_UNPRICED) {
			return (fail(b, file, ln, key, "given twice"));
		}
		// USD per 1M tokens -> pico-USD per token: scale 6.
		const char *v = eq + 1;
		size_t vlen = len - klen - 1;
		if (prices_decimal(v, vlen, 6, &s.pusd[bk]) != 0) {
			return (fail(b, file, ln, key,
			    "'%.*s' is not a price in USD per 1M tokens that "
			    "is a whole number of pico-USD per token (at most "
			    "6 decimals)",
			    (int) vlen, v));
		}
		any = 1;
	}
	if (!any) {
		return (fail(b, file, ln, tname, "no prices on the line"));
	}
	for (uint32_t i = 0; i < c->nsets; i++) {
		if (c->sets[i].service_tier == s.service_tier
		    && c->sets[i].above == s.above) {
			return (fail(b, file, ln, tname,
			    "a second line for the same tier and size"));
		}
	}
	if (c->nsets == PRICES_MAX_SETS) {
		return (fail(b, file, ln, tname, "more than %u price lines",
		    PRICES_MAX_SETS));
	}
	c->sets[c->nsets++] = s;
	return (0);
}

static int
read_fees(builder *b, cur *c, const char *file, uint32_t ln, const char *p,
    const char *end)
{
	const char *tok;
	size_t len;
	int any = 0;

	while (token(&p, end, &tok, &len)) {
		const char *eq = memchr(tok, '=', len);
		int f = eq ? llmcost__fee_parse(tok, (size_t) (eq - tok)) : -1;
		if (f < 0) {
			return (fail(b, file, ln, "fee",
			    "'%.*s' is not fee=price with a known fee "
			    "(web_search_requests)",
			    (int) len, tok));
		}
		if (c->pe.fee_pusd[f] != PRICE_UNPRICED) {
			return (fail(
			    b, file, ln, llmcost__fee_key[f], "given twice"));
		}
		// USD per request -> pico-USD: scale 12.
		size_t vlen = len - (size_t) (eq + 1 - tok);
		if (prices_decimal(eq + 1, vlen, 12, &c->pe.fee_pusd[f])
		    != 0) {
			return (fail(b, file, ln, llmcost__fee_key[f],
			    "'%.*s' is not a price in USD per request with at "
			    "most 12 decimals",
			    (int) vlen, eq + 1));
		}
		any = 1;
	}
	return (any ? 0 : fail(b, file, ln, "fee", "no fees on the line"));
}

// "entry ID PROVIDER NAME".
static int
open_entry(builder *b, cur *c, const prices_source *src, uint32_t ln,
    const char *p, const char *end)
{
	const char *tok;
	size_t len;
	price_entry *e = &c->pe;
	int64_t id;

	memset(c, 0, sizeof(*c));
	c->open = 1;
	e->line = ln;
	e->override = (uint8_t) (src->override != 0);
	e->seq = b->seq++;
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		e->fee_pusd[f] = PRICE_UNPRICED;
	}
	if (!token(&p, end, &tok, &len)
	    || prices_decimal(tok, len, 0, &id) != 0 || id <= 0
	    || id > (int64_t) UINT32_MAX) {
		return (fail(b, src->name, ln, "id",
		    "'entry' needs a positive whole id (1..%u), then the "
		    "provider and the model",
		    UINT32_MAX));
	}
	e->id = (uint32_t) id;
	if (!token(&p, end, &tok, &len) || !is_name(tok, len)) {
		return (fail(b, src->name, ln, "provider",
		    "a provider name (a-z, 0-9, '-', '_'; at most %d bytes)",
		    LLMCOST_MAX_PLATFORM));
	}
	e->provider = dup_n(tok, len);
	if (!token(&p, end, &tok, &len) || len > LLMCOST_MAX_MODEL) {
		return (fail(b, src->name, ln, "model",
		    "a model name or pattern of 1..%d bytes",
		    LLMCOST_MAX_MODEL));
	}
	e->model = dup_n(tok, len);
	e->platform = dup_n("", 0);
	e->file = dup_n(src->name, strlen(src->name));
	if (token(&p, end, &tok, &len)) {
		return (fail(b, src->name, ln, "model",
		    "unexpected '%.*s' after the model", (int) len, tok));
	}
	if (e->provider == NULL || e->model == NULL || e->platform == NULL
	    || e->file == NULL) {
		return (LLMCOST_ENOMEM);
	}
	return (0);
}

static int
read_line(builder *b, cur *c, const prices_source *src, uint32_t ln,
    const char *p, const char *end)
{
	const char *kw;
	size_t klen;
	const char *file = src->name;
	price_entry *e = &c->pe;

	if (!token(&p, end, &kw, &klen) || kw[0] == '#') {
		return (0);
	}
#define KW(s) (klen == sizeof(s) - 1 && memcmp(kw, s, klen) == 0)
	if (KW("entry")) {
		int rv = close_entry(b, c, file);
		return (rv != 0 ? rv : open_entry(b, c, src, ln, p, end));
	}
	if (!c->open) {
		return (fail(b, file, ln, "entry",
		    "'%.*s' before the first 'entry' line", (int) klen, kw));
	}
	const char *v;
	size_t vlen;
	if (KW("valid_from")) {
		if (c->have_from) {
			return (
			    fail(b, file, ln, "valid_from", "given twice"));
		}
		if (!token(&p, end, &v, &vlen)
		    || parse_date(v, vlen, &e->valid_from) != 0
		    || token(&p, end, &v, &vlen)) {
			return (fail(b, file, ln, "valid_from",
			    "not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC, "
			    "1970 or later)"));
		}
		c->have_from = 1;
		return (0);
	}
	if (KW("source")) {
		while (p < end && (*p == ' ' || *p == '\t')) {
			p++;
		}
		if (c->have_source || p == end) {
			return (fail(b, file, ln, "source",
			    c->have_source
			        ? "given twice"
			        : "empty: say where the prices come "
			          "from"));
		}
		free((char *) e->source);
		if ((e->source = dup_n(p, (size_t) (end - p))) == NULL) {
			return (LLMCOST_ENOMEM);
		}
		c->have_source = 1;
		return (0);
	}
	if (KW("match")) {
		if (c->have_match || !token(&p, end, &v, &vlen)) {
			return (fail(b, file, ln, "match",
			    c->have_match ? "given twice"
			                  : "exact or pattern"));
		}
		if (vlen == 5 && memcmp(v, "exact", 5) == 0) {
			e->match = PRICE_MATCH_EXACT;
		} else if (vlen == 7 && memcmp(v, "pattern", 7) == 0) {
			e->match = PRICE_MATCH_PATTERN;
			size_t ml = strlen(e->model);
			if (ml < 2 || e->model[0] != '^'
			    || e->model[ml - 1] != '$') {
				return (fail(b, file, ln, "match",
				    "a pattern must be anchored: ^...$"));
			}
		} else {
			return (fail(b, file, ln, "match",
			    "'%.*s' is not exact or pattern", (int) vlen, v));
		}
		c->have_match = 1;
		return (0);
	}
	if (KW("platform")) {
		if (c->have_platform || !token(&p, end, &v, &vlen)
		    || !is_name(v, vlen)) {
			return (fail(b, file, ln, "platform",
			    c->have_platform
			        ? "given twice"
			        : "a platform name (a-z, 0-9, '-', "
			          "'_')"));
		}
		free((char *) e->platform);
		if ((e->platform = dup_n(v, vlen)) == NULL) {
			return (LLMCOST_ENOMEM);
		}
		c->have_platform = 1;
		return (0);
	}
	if (KW("fee")) {
		return (read_fees(b, c, file, ln, p, end));
	}
	int tier = llmcost__tier_parse(kw, klen);
	if (tier >= 0) {
		return (read_set(b, c, file, ln, tier, p, end));
	}
#undef KW
	return (fail(b, file, ln, "entry",
	    "unknown field '%.*s' (valid_from, source, match, platform, "
	    "fee, or a service tier: standard, batch, flex, priority)",
	    (int) klen, kw));
}

static int
read_source(builder *b, const prices_source *src)
{
	cur c;
	uint32_t ln = 0;
	const char *p = src->text, *end = src->text + src->len;
	int rv = 0;

	memset(&c, 0, sizeof(c));
	if (src->len > PRICES_MAX_FILE) {
		fail(b, src->name, 0, "file", "larger than %u bytes",
		    PRICES_MAX_FILE);
		return (LLMCOST_ETOOBIG);
	}
	while (p < end && rv == 0) {
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *le = nl != NULL ? nl : end;
		ln++;
		if ((size_t) (le - p) > PRICES_MAX_LINE) {
			fail(b, src->name, ln, "line", "longer than %u bytes",
			    PRICES_MAX_LINE);
			rv = LLMCOST_ETOOBIG;
			break;
		}
		const char *te = le;
		if (te > p && te[-1] == '\r') {
			te--;
		}
		for (const char *q = p; q < te; q++) {
			if ((unsigned char) *q < 0x20 && *q != '\t') {
				rv = fail(b, src->name, ln, "line",
				    "a control character");
				break;
			}
		}
		if (rv == 0) {
			rv = read_line(b, &c, src, ln, p, te);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (rv == 0) {
		rv = close_entry(b, &c, src->name);
	} else if (c.open) {
		entry_free(&c.pe);
	}
	return (rv);
}

static int
cmp_id(const void *a, const void *b)
{
	const price_entry *x = *(const price_entry *const *) a;
	const price_entry *y = *(const price_entry *const *) b;
	return (x->id < y->id ? -1 : x->id > y->id ? 1 : 0);
}

static int
cmp_entry(const void *a, const void *b)
{
	const price_entry *x = a, *y = b;
	int rv;
	if ((rv = strcmp(x->provider, y->provider)) != 0
	    || (rv = strcmp(x->model, y->model)) != 0
	    || (rv = strcmp(x->platform, y->platform)) != 0) {
		return (rv);
	}
	if (x->valid_from != y->valid_from) {
		return (x->valid_from < y->valid_from ? -1 : 1);
	}
	if (x->override != y->override) {
		return (x->override - y->override);
	}
	return (x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0);
}

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return (h);
}

void
prices__sources_version(const prices_source *src, size_t n, char out[17])
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		uint64_t len = src[i].len;
		h = fnv1a(h, &len, sizeof(len));
		h = fnv1a(h, src[i].text, src[i].len);
	}
	snprintf(out, 17, "%016llx", (unsigned long long) h);
}

void
prices__table_destroy(prices_table *t)
{
	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->npat; i++) {
		regfree(&t->re[i]);
	}
	for (size_t i = 0; i < t->n; i++) {
		entry_free(&t->e[i]);
	}
	free(t->e);
	free(t->pat);
	free(t->re);
	free(t);
}

// Checks the whole table: ids unique, one entry per (provider, model,
// platform, valid_from) and origin; compiles the patterns.
static int
finish(builder *b, prices_table *t)
{
	price_entry **byid = malloc(sizeof(*byid) * (b->n ? b->n : 1));
	int rv = 0;

	if (byid == NULL) {
		return (LLMCOST_ENOMEM);
	}
	for (size_t i = 0; i < b->n; i++) {
		byid[i] = &b->e[i];
	}
	qsort(byid, b->n, sizeof(*byid), cmp_id);
	for (size_t i = 1; i < b->n && rv == 0; i++) {
		if (byid[i]->id == byid[i - 1]->id) {
			const price_entry *x = byid[i]->seq > byid[i - 1]->seq
			    ? byid[i]
			    : byid[i - 1];
			const price_entry *y
			    = x == byid[i] ? byid[i - 1] : byid[i];
			rv = fail(b, x->file, x->line, "id",
			    "id %u is already used by %s:%u (ids are unique "
			    "across the built-in and override files)",
			    x->id, y->file, y->line);
		}
	}
	free(byid);
	if (rv != 0) {
		return (rv);
	}
	qsort(b->e, b->n, sizeof(b->e[0]), cmp_entry);
	t->e = b->e;
	t->n = b->n;
	b->e = NULL;
	b->n = b->cap = 0;
	for (size_t i = 1; i < t->n; i++) {
		const price_entry *x = &t->e[i], *y = &t->e[i - 1];
		if (strcmp(x->provider, y->provider) == 0
		    && strcmp(x->model, y->model) == 0
		    && strcmp(x->platform, y->platform) == 0
		    && x->valid_from == y->valid_from
		    && x->override == y->override) {
			return (fail(b, x->file, x->line, "valid_from",
			    "a second entry for %s %s from the same date "
			    "(%s:%u)",
			    x->provider, x->model, y->file, y->line));
		}
		if (strcmp(x->provider, y->provider) == 0
		    && strcmp(x->model, y->model) == 0
		    && x->match != y->match) {
			return (fail(b, x->file, x->line, "match",
			    "%s is an exact name in %s:%u and a pattern here",
			    x->model, y->file, y->line));
		}
	}
	size_t np = 0;
	for (size_t i = 0; i < t->n; i++) {
		np += t->e[i].match == PRICE_MATCH_PATTERN;
	}
	if (np > 0) {
		t->pat = malloc(sizeof(*t->pat) * np);
		t->re = malloc(sizeof(*t->re) * np);
		if (t->pat == NULL || t->re == NULL) {
			return (LLMCOST_ENOMEM);
		}
		for (size_t i = 0; i < t->n; i++) {
			if (t->e[i].match == PRICE_MATCH_PATTERN) {
				t->pat[t->npat++] = (uint32_t) i;
			}
		}
		// Priority: the order read, overrides first (seq says both).
		for (size_t i = 1; i < t->npat; i++) {
			uint32_t v = t->pat[i];
			size_t j = i;
			while (
			    j > 0 && t->e[t->pat[j - 1]].seq > t->e[v].seq) {
				t->pat[j] = t->pat[j - 1];
				j--;
			}
			t->pat[j] = v;
		}
		for (size_t i = 0; i < t->npat; i++) {
			const price_entry *e = &t->e[t->pat[i]];
			int rc = regcomp(
			    &t->re[i], e->model, REG_EXTENDED | REG_NOSUB);
			if (rc != 0) {
				char why[128];
				regerror(rc, &t->re[i], why, sizeof(why));
				t->npat = i; // only these are compiled
				return (fail(b, e->file, e->line, "model",
				    "not a POSIX extended regex: %s", why));
			}
		}
	}
	return (0);
}

int
prices_table_build(const prices_source *src, size_t n, prices_table **out,
    char *err, size_t errsz)
{
	builder b;
	prices_table *t;
	int rv = 0;

	if (out == NULL || (src == NULL && n > 0)) {
		return (LLMCOST_EINVAL);
	}
	if (err != NULL && errsz > 0) {
		err[0] = '\0';
	}
	memset(&b, 0, sizeof(b));
	b.err = err;
	b.errsz = errsz;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	// Overrides are read first so that their patterns come first.
	for (int pass = 1; pass >= 0 && rv == 0; pass--) {
		for (size_t i = 0; i < n && rv == 0; i++) {
			if ((src[i].override != 0) != pass) {
				continue;
			}
			if (src[i].text == NULL && src[i].len > 0) {
				rv = LLMCOST_EINVAL;
				break;
			}
			rv = read_source(&b, &src[i]);
		}
	}
	if (rv == 0) {
		rv = finish(&b, t);
	}
	if (rv != 0) {
		for (size_t i = 0; i < b.n; i++) {
			entry_free(&b.e[i]);
		}
		free(b.e);
		prices__table_destroy(t);
		return (rv);
	}
	prices__sources_version(src, n, t->version);
	*out = t;
	return (0);
}

int
prices_table_load(
    const char *path, prices_table **out, char *err, size_t errsz)
{
	prices_source src[16];
	size_t n = 0;
	char *text = NULL;
	int rv;

	if (out == NULL || prices_data_count + 1 > 16) {
		return (LLMCOST_EINVAL);
	}
	for (size_t i = 0; i < prices_data_count; i++) {
		src[n++] = prices_data_sources[i];
	}
	if (path != NULL && path[0] != '\0') {
		FILE *f = fopen(path, "rb");
		if (f == NULL) {
			snprintf(err, errsz, "%s: cannot open: %s", path,
			    strerror(errno));
			return (LLMCOST_ENOTFOUND);
		}
		size_t cap = 65536, len = 0;
		text = malloc(cap);
		while (text != NULL) {
			size_t got = fread(text + len, 1, cap - len, f);
			len += got;
			if (len < cap) {
				break;
			}
			if (cap > PRICES_MAX_FILE) {
				break;
			}
			char *nt = realloc(text, cap * 2);
			if (nt == NULL) {
				free(text);
				text = NULL;
				break;
			}
			text = nt;
			cap *= 2;
		}
		int ioerr = ferror(f);
		fclose(f);
		if (text == NULL) {
			return (LLMCOST_ENOMEM);
		}
		if (ioerr) {
			snprintf(err, errsz, "%s: cannot read", path);
			free(text);
			return (LLMCOST_ENOTFOUND);
		}
		if (len > PRICES_MAX_FILE) {
			snprintf(err, errsz, "%s: larger than %u bytes", path,
			    PRICES_MAX_FILE);
			free(text);
			return (LLMCOST_ETOOBIG);
		}
		src[n].name = path;
		src[n].text = text;
		src[n].len = len;
		src[n].override = 1;
		n++;
	}
	rv = prices_table_build(src, n, out, err, errsz);
	free(text);
	return (rv);
}
