// DESIGN: the budgets file is a small INI-like text (docs/budgets.md):
// one [section] per budget and `field = value` lines, because operators
// edit it by hand, diff it in review and comment it, and a line-based
// format lets every error say exactly where it is ("FILE:LINE: field:
// what is wrong").  Everything is parsed into fixed-size fields checked
// against the caps in budget.h, so a file can neither grow memory
// without bound nor smuggle an over-long string past a later copy.
// Money is parsed from its decimal text straight into integer pico-USD
// (never through a double), so a limit of 0.10 is exactly 10^11.
// Window math lives here too: calendar windows are found in the
// budget's own IANA zone through tz.c, never the process's TZ.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "llmcost_common.h"

int
budget_parse_usd(const char *s, int64_t *pusd)
{
	const int64_t scale = INT64_C(1000000000000);
	int64_t whole = 0, frac = 0;
	int nd = 0, nf = 0;

	if (*s == '$') {
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		if (whole > BUDGET_LIMIT_MAX_PUSD / scale) {
			return (LLMCOST_EINVAL);
		}
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++, nf++) {
			if (nf == 12) {
				return (LLMCOST_EINVAL);
			}
			frac = frac * 10 + (*s - '0');
		}
		if (nf == 0) {
			return (LLMCOST_EINVAL);
		}
	}
	if (*s != '\0' || nd == 0 || whole > BUDGET_LIMIT_MAX_PUSD / scale) {
		return (LLMCOST_EINVAL);
	}
	for (int i = nf; i < 12; i++) {
		frac *= 10;
	}
	int64_t v = whole * scale + frac;
	if (v > BUDGET_LIMIT_MAX_PUSD) {
		return (LLMCOST_EINVAL);
	}
	*pusd = v;
	return (0);
}

void
budget_set_free(budget_set *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		tz_free(s->b[i].zone);
	}
	free(s->b);
	free(s);
}

// Parser state: the file's name and line for errors, the budget being
// filled and which single-valued fields it has set.
typedef struct pctx {
	const char *fname;
	unsigned line;
	char *err;
	size_t errsz;
	budget_set *set;
	budget *cur;
	unsigned seen; // bit per field
	char tzname[TZ_NAME_MAX];
} pctx;

enum {
	F_LIMIT = 1u << 0,
	F_WINDOW = 1u << 1,
	F_TZ = 1u << 2,
	F_THRESH = 1u << 3,
	F_HARD = 1u << 4,
};

__attribute__((format(printf, 3, 4))) static int
fail(pctx *p, const char *field, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (field != NULL) {
		snprintf(p->err, p->errsz, "%s:%u: %s: %s", p->fname, p->line,
		    field, what);
	} else {
		snprintf(
		    p->err, p->errsz, "%s:%u: %s", p->fname, p->line, what);
	}
	return (LLMCOST_ECONFIG);
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
		s[--n] = '\0';
	}
	return (s);
}

static int
name_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.');
}

static int
valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			return (0);
		}
	}
	return (1);
}

// Finishes the budget being filled: required fields and defaults.
static int
finish(pctx *p)
{
	budget *b = p->cur;
	char zerr[512];
	int rv;

	if (b == NULL) {
		return (0);
	}
	unsigned line = p->line;
	p->line = b->line;
	if (!(p->seen & F_LIMIT)) {
		return (fail(p, "limit", "budget [%s] has no limit", b->name));
	}
	if (!(p->seen & F_WINDOW)) {
		return (
		    fail(p, "window", "budget [%s] has no window", b->name));
	}
	if (!(p->seen & F_THRESH)) {
		b->thresholds[0] = 50;
		b->thresholds[1] = 80;
		b->thresholds[2] = 100;
		b->n_thresholds = 3;
	}
	if ((rv = tz_load(p->tzname[0] ? p->tzname : "UTC", &b->zone, zerr,
	         sizeof(zerr)))
	    != 0) {
		if (rv == LLMCOST_ENOMEM) {
			return (rv);
		}
		return (fail(p, "timezone", "%s", zerr));
	}
	p->line = line;
	p->cur = NULL;
	return (0);
}

static int
parse_window(pctx *p, budget *b, char *v)
{
	if (strcmp(v, "day") == 0) {
		b->window = BUDGET_DAY;
	} else if (strcmp(v, "week") == 0) {
		b->window = BUDGET_WEEK;
	} else if (strcmp(v, "month") == 0) {
		b->window = BUDGET_MONTH;
	} else if (strncmp(v, "rolling", 7) == 0
	    && (v[7] == ' ' || v[7] == '\t')) {
		char *q = trim(v + 7), *end;
		errno = 0;
		long n = strtol(q, &end, 10);
		int64_t unit = *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
		int64_t maxn = unit == 3600 ? 24 * 366 : 366;
		if (errno != 0 || end == q || unit == 0 || end[1] != '\0'
		    || n < 1 || n > maxn || q[0] == '-' || q[0] == '+') {
			return (fail(p, "window",
			    "want 'rolling N' with N hours (1h..8784h) or "
			    "days "
			    "(1d..366d), not 'rolling %.32s'",
			    q));
		}
		b->window = BUDGET_ROLLING;
		b->rolling_s = n * unit;
	} else {
		return (fail(p, "window",
		    "want day, week, month or 'rolling N' (24h, 7d), not "
		    "'%.64s'",
		    v));
	}
	return (0);
}

static int
parse_match(pctx *p, budget *b, char *v)
{
	char *eq = strchr(v, '=');
	if (eq == NULL) {
		return (fail(p, "match",
		    "want DIMENSION=VALUE (feature=rag-search, env=prod, "
		    "meta.user_tier=pro), not '%.64s'",
		    v));
	}
	if (b->n_match == BUDGET_MAX_MATCH) {
		return (fail(
		    p, "match", "more than %u filters", BUDGET_MAX_MATCH));
	}
	*eq = '\0';
	char *key = trim(v), *val = trim(eq + 1);
	budget_match *m = &b->match[b->n_match];
	if (strncmp(key, "meta.", 5) == 0) {
		key += 5;
		m->dim = BUDGET_DIM_META;
	} else if (strcmp(key, "model") == 0) {
		m->dim = BUDGET_DIM_MODEL;
	} else if (strcmp(key, "provider") == 0) {
		m->dim = BUDGET_DIM_PROVIDER;
	} else if (strcmp(key, "feature") == 0) {
		m->dim = BUDGET_DIM_FEATURE;
	} else if (strcmp(key, "env") == 0) {
		m->dim = BUDGET_DIM_ENV;
	} else {
		m->dim = BUDGET_DIM_META; // any other metadata key
	}
	if (!valid_name(key, BUDGET_KEY_MAX)) {
		return (fail(p, "match",
		    "the dimension '%.64s' is not 1..%u letters, digits, "
		    "'_', '-' or '.'",
		    key, BUDGET_KEY_MAX));
	}
	if (m->dim == BUDGET_DIM_META
	    && (strcmp(key, "feature") == 0 || strcmp(key, "env") == 0)) {
		m->dim = strcmp(key, "feature") == 0 ? BUDGET_DIM_FEATURE
		                                     : BUDGET_DIM_ENV;
	}
	size_t vl = strlen(val);
	if (vl == 0 || vl > BUDGET_VALUE_MAX
	    || !llmcost__utf8_valid(val, vl)) {
		return (fail(p, "match",
		    "the value of %s must be 1..%u bytes of UTF-8", key,
		    BUDGET_VALUE_MAX));
	}
	for (unsigned i = 0; i < b->n_match; i++) {
		if (b->match[i].dim == m->dim
		    && strcmp(b->match[i].key, key) == 0) {
			return (fail(p, "match", "%s is filtered twice", key));
		}
	}
	memcpy(m->key, key, strlen(key) + 1);
	memcpy(m->value, val, vl + 1);
	b->n_match++;
	return (0);
}

static int
parse_thresholds(pctx *p, budget *b, char *v)
{
	unsigned n = 0;
	char *s = v;
	for (;;) {
		char *end;
		while (*s == ' ' || *s == '\t') {
			s++;
		}
		errno = 0;
		long t = strtol(s, &end, 10);
		if (errno != 0 || end == s || *s == '-' || *s == '+' || t < 1
		    || t > 1000) {
			return (fail(p, "thresholds",
			    "want percentages 1..1000, ascending, separated "
			    "by commas (50, 80, 100), not '%.64s'",
			    v));
		}
		if (*end == '%') {
			end++;
		}
		if (n == BUDGET_MAX_THRESHOLDS) {
			return (fail(p, "thresholds", "more than %u",
			    BUDGET_MAX_THRESHOLDS));
		}
		if (n > 0 && t <= b->thresholds[n - 1]) {
			return (fail(p, "thresholds",
			    "%ld does not follow %u: list them ascending, "
			    "each once",
			    t, b->thresholds[n - 1]));
		}
		b->thresholds[n++] = (uint16_t) t;
		while (*end == ' ' || *end == '\t') {
			end++;
		}
		if (*end == '\0') {
			break;
		}
		if (*end != ',') {
			return (fail(p, "thresholds",
			    "want percentages separated by commas, not "
			    "'%.64s'",
			    v));
		}
		s = end + 1;
	}
	b->n_thresholds = n;
	return (0);
}

static int
parse_hook(pctx *p, budget *b, char *v)
{
	char *sp = v;
	while (*sp != '\0' && *sp != ' ' && *sp != '\t') {
		sp++;
	}
	budget_hook *h = &b->hooks[b->n_hooks];
	size_t fl = (size_t) (sp - v);
	if (fl == 5 && strncmp(v, "slack", 5) == 0) {
		h->format = BUDGET_HOOK_SLACK;
	} else if (fl == 4 && strncmp(v, "json", 4) == 0) {
		h->format = BUDGET_HOOK_JSON;
	} else {
		return (fail(p, "webhook",
		    "want 'slack URL' or 'json URL' (the payload format, "
		    "then the URL)"));
	}
	char *url = trim(sp);
	size_t ul = strlen(url);
	if (b->n_hooks == BUDGET_MAX_HOOKS) {
		return (fail(
		    p, "webhook", "more than %u webhooks", BUDGET_MAX_HOOKS));
	}
	// The URL is a secret: errors never echo it.
	if ((strncmp(url, "http://", 7) != 0
	        && strncmp(url, "https://", 8) != 0)
	    || ul > BUDGET_URL_MAX || strpbrk(url, " \t\"\\") != NULL) {
		return (fail(p, "webhook",
		    "the URL must start with http:// or https://, hold no "
		    "spaces or quotes and be at most %u bytes",
		    BUDGET_URL_MAX));
	}
	memcpy(h->url, url, ul + 1);
	b->n_hooks++;
	return (0);
}

static int
parse_field(pctx *p, char *key, char *v)
{
	budget *b = p->cur;
	unsigned bit = 0;

	if (b == NULL) {
		return (fail(
		    p, key, "outside a budget: start one with [name] first"));
	}
	if (strcmp(key, "limit") == 0) {
		bit = F_LIMIT;
	} else if (strcmp(key, "window") == 0) {
		bit = F_WINDOW;
	} else if (strcmp(key, "timezone") == 0) {
		bit = F_TZ;
	} else if (strcmp(key, "thresholds") == 0) {
		bit = F_THRESH;
	} else if (strcmp(key, "hard") == 0) {
		bit = F_HARD;
	} else if (strcmp(key, "match") != 0 && strcmp(key, "webhook") != 0) {
		return (fail(p, NULL,
		    "unknown field '%.64s' (want limit, window, timezone, "
		    "match, thresholds, hard or webhook)",
		    key));
	}
	if (bit != 0 && (p->seen & bit)) {
		return (fail(p, key, "set twice in budget [%s]", b->name));
	}
	p->seen |= bit;
	if (*v == '\0') {
		return (fail(p, key, "no value"));
	}
	switch (bit) {
	case F_LIMIT: {
		char *u = v + strlen(v);
		// An optional " USD" unit.
		if (u - v > 4 && strcmp(u - 4, " USD") == 0) {
			u[-4] = '\0';
			v = trim(v);
		}
		if (budget_parse_usd(v, &b->limit_pusd) != 0
		    || b->limit_pusd == 0) {
			return (fail(p, "limit",
			    "want an amount in USD above 0 such as 2.50 (at "
			    "most 12 decimals, at most 9000000), not "
			    "'%.64s'",
			    v));
		}
		return (0);
	}
	case F_WINDOW:
		return (parse_window(p, b, v));
	case F_TZ:
		if (strlen(v) >= sizeof(p->tzname)) {
			return (fail(p, "timezone", "longer than %zu bytes",
			    sizeof(p->tzname) - 1));
		}
		memcpy(p->tzname, v, strlen(v) + 1);
		return (0);
	case F_THRESH:
		return (parse_thresholds(p, b, v));
	case F_HARD:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0
		    || strcmp(v, "on") == 0) {
			b->hard = 1;
		} else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0
		    || strcmp(v, "off") == 0) {
			b->hard = 0;
		} else {
			return (
			    fail(p, "hard", "want yes or no, not '%.32s'", v));
		}
		return (0);
	default:
		break;
	}
	if (strcmp(key, "match") == 0) {
		return (parse_match(p, b, v));
	}
	return (parse_hook(p, b, v));
}

static int
parse_line(pctx *p, char *s)
{
	int rv;

	// A comment starts a line or follows a blank ('#' may occur in a
	// URL's fragment).
	for (char *c = s; *c != '\0'; c++) {
		if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	}
	s = trim(s);
	if (*s == '\0') {
		return (0);
	}
	if (*s == '[') {
		size_t n = strlen(s);
		if (s[n - 1] != ']') {
			return (fail(p, NULL, "a section is [name]"));
		}
		s[n - 1] = '\0';
		char *name = trim(s + 1);
		if ((rv = finish(p)) != 0) {
			return (rv);
		}
		if (!valid_name(name, BUDGET_NAME_MAX)) {
			return (fail(p, NULL,
			    "a budget's name is 1..%u letters, digits, '_', "
			    "'-' or '.', not '%.64s'",
			    BUDGET_NAME_MAX, name));
		}
		for (size_t i = 0; i < p->set->n; i++) {
			if (strcmp(p->set->b[i].name, name) == 0) {
				return (fail(p, NULL,
				    "budget [%s] is defined twice (first on "
				    "line %u)",
				    name, p->set->b[i].line));
			}
		}
		if (p->set->n == BUDGET_MAX) {
			return (
			    fail(p, NULL, "more than %u budgets", BUDGET_MAX));
		}
		p->cur = &p->set->b[p->set->n++];
		memset(p->cur, 0, sizeof(*p->cur));
		memcpy(p->cur->name, name, strlen(name) + 1);
		p->cur->line = p->line;
		p->seen = 0;
		p->tzname[0] = '\0';
		return (0);
	}
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		return (fail(p, NULL, "want 'field = value' or [name]"));
	}
	*eq = '\0';
	return (parse_field(p, trim(s), trim(eq + 1)));
}

int
budget_parse(const char *text, size_t len, const char *fname, budget_set **out,
    char *err, size_t errsz)
{
	char line[BUDGET_LINE_MAX + 1];
	pctx p;
	int rv = 0;

	memset(&p, 0, sizeof(p));
	p.fname = fname;
	p.err = err;
	p.errsz = errsz;
	if (len > BUDGET_FILE_MAX) {
		snprintf(err, errsz, "%s: larger than %u bytes", fname,
		    BUDGET_FILE_MAX);
		return (LLMCOST_ETOOBIG);
	}
	if ((p.set = calloc(1, sizeof(*p.set))) == NULL
	    || (p.set->b = calloc(BUDGET_MAX, sizeof(budget))) == NULL) {
		free(p.set);
		snprintf(err, errsz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	size_t i = 0;
	while (i < len && rv == 0) {
		size_t j = i;
		while (j < len && text[j] != '\n') {
			j++;
		}
		p.line++;
		size_t n = j - i;
		if (n > 0 && text[i + n - 1] == '\r') {
			n--;
		}
		if (n > BUDGET_LINE_MAX) {
			rv = fail(
			    &p, NULL, "longer than %u bytes", BUDGET_LINE_MAX);
			break;
		}
		if (memchr(text + i, '\0', n) != NULL
		    || !llmcost__utf8_valid(text + i, n)) {
			rv = fail(&p, NULL, "not UTF-8 text");
			break;
		}
		memcpy(line, text + i, n);
		line[n] = '\0';
		rv = parse_line(&p, line);
		i = j + 1;
	}
	if (rv == 0) {
		rv = finish(&p);
	}
	if (rv != 0) {
		// finish() may have loaded a zone for the current budget.
		budget_set_free(p.set);
		return (rv);
	}
	*out = p.set;
	return (0);
}

int
budget_load(const char *path, budget_set **out, char *err, size_t errsz)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		return (e == ENOENT ? LLMCOST_ENOTFOUND : LLMCOST_ECONFIG);
	}
	char *buf = malloc(BUDGET_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(err, errsz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	size_t len = fread(buf, 1, BUDGET_FILE_MAX + 1, f);
	int rerr = ferror(f);
	fclose(f);
	int rv;
	if (rerr) {
		snprintf(err, errsz, "%s: read error", path);
		rv = LLMCOST_ECONFIG;
	} else {
		rv = budget_parse(buf, len, path, out, err, errsz);
	}
	free(buf);
	return (rv);
}

int
budget_default_path(const char *dir, char *out, size_t outsz)
{
	const char *env = getenv("LLMCOSTD_BUDGETS_FILE");
	int n = env != NULL && env[0] != '\0'
	    ? snprintf(out, outsz, "%s", env)
	    : snprintf(out, outsz, "%s/" BUDGET_FILE_NAME, dir);
	return (n < 0 || (size_t) n >= outsz ? LLMCOST_ETOOBIG : 0);
}

// Proleptic Gregorian calendar arithmetic (Howard Hinnant's
// days_from_civil and civil_from_days): month windows need the first of
// a month as a day number, which the zone code (days and weeks only)
// does not.  m may be 0 or 13 (the months around the year).
static int64_t
days_from_civil(int y, int m)
{
	if (m > 12) {
		y++;
		m -= 12;
	}
	int64_t yy = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5; // day 1
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static void
civil_from_days(int64_t z, int *y, int *m)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return ((a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q);
}

// The first instant of local month y-m: the start of the local day that
// contains local noon of its first day (an instant certainly inside that
// day, whatever the zone's offsets).
static int64_t
month_start(const tz *z, int y, int m)
{
	int64_t noon = days_from_civil(y, m) * 86400 + 43200;
	return (tz_floor(z, TZ_DAY, noon - tz_offset(z, noon), NULL));
}

void
budget_window(const budget *b, int64_t now, int64_t *from, int64_t *to)
{
	int y, m;

	switch (b->window) {
	case BUDGET_ROLLING:
		// The current second counts (a call started a moment ago
		// is in it).
		*from = now + 1 - b->rolling_s;
		*to = now + 1;
		break;
	case BUDGET_DAY:
		*from = tz_floor(b->zone, TZ_DAY, now, to);
		break;
	case BUDGET_WEEK:
		*from = tz_floor(b->zone, TZ_WEEK, now, to);
		break;
	default:
		civil_from_days(
		    floor_div(now + tz_offset(b->zone, now), 86400), &y, &m);
		*from = month_start(b->zone, y, m);
		*to = month_start(b->zone, y, m + 1);
		break;
	}
}

int64_t
budget_window_id(const budget *b, int64_t now)
{
	int64_t from, to;

	if (b->window == BUDGET_ROLLING) {
		int64_t q = now / b->rolling_s;
		if (now < 0 && now % b->rolling_s != 0) {
			q--;
		}
		return (q * b->rolling_s);
	}
	budget_window(b, now, &from, &to);
	return (from);
}

int
budget_matches(const budget *b, const char *provider, const char *model,
    budget_meta_fn meta, void *arg)
{
	for (unsigned i = 0; i < b->n_match; i++) {
		const budget_match *m = &b->match[i];
		const char *v;
		switch (m->dim) {
		case BUDGET_DIM_MODEL:
			v = model;
			break;
		case BUDGET_DIM_PROVIDER:
			v = provider;
			break;
		default:
			v = meta != NULL ? meta(arg, m->key) : NULL;
			break;
		}
		if (v == NULL || strcmp(v, m->value) != 0) {
			return (0);
		}
	}
	return (1);
}

void
budget_classify(const budget *b, budget_status *st)
{
	store_i128 bp = st->spend > 0
	    ? st->spend * 10000 / (store_i128) b->limit_pusd
	    : 0;
	st->pct_bp = bp > UINT32_MAX ? UINT32_MAX : (uint32_t) bp;
	st->crossed = -1;
	for (unsigned i = 0; i < b->n_thresholds; i++) {
		// spend >= limit * t / 100, exactly.
		if (st->spend * 100
		    >= (store_i128) b->limit_pusd * b->thresholds[i]) {
			st->crossed = (int) i;
		}
	}
	if (st->spend >= (store_i128) b->limit_pusd) {
		st->state = BUDGET_EXHAUSTED;
	} else if (st->crossed >= 0) {
		st->state = BUDGET_WARN;
	} else {
		st->state = BUDGET_OK;
	}
}

const char *
budget_state_name(budget_state s)
{
	switch (s) {
	case BUDGET_OK:
		return ("ok");
	case BUDGET_WARN:
		return ("warn");
	default:
		return ("exhausted");
	}
}

int
budget_eval(store_rtxn *t, const budget *b, int64_t now, budget_status *out)
{
	budget_status st;
	int rv;

	memset(&st, 0, sizeof(st));
	budget_window(b, now, &st.from, &st.to);
	// A calendar window is evaluated up to now (later runs cannot
	// exist yet, except from skewed clocks, which count).
	if ((rv = budget_spend(t, b, st.from, st.to, &st.spend, &st.calls))
	    != 0) {
		return (rv);
	}
	budget_classify(b, &st);
	*out = st;
	return (0);
}
