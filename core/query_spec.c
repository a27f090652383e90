// DESIGN: the words of a query: key names as `--by` reads them (the
// roll-up dimensions from dims.h, "meta.<key>", the aliases of
// QUERY_ALIAS_MAP, "tag", "tagset", "trace"), filters as "key=value" and
// "key!=value", period names, the one way to add sums, and whether a
// result's rows overlap.  Kept apart
// from the engine (query.c) so that the CLI, the wire (query_wire.c) and
// budgets parse and print keys the same way without the scan.
#include <stdio.h>
#include <string.h>

#include "llmcost_common.h"
#include "query.h"

static const struct {
	const char *name, *meta;
} aliases[] = {
#define ALIAS_ROW(n, m) { n, m },
	QUERY_ALIAS_MAP(ALIAS_ROW)
#undef ALIAS_ROW
};
#define N_ALIASES (sizeof(aliases) / sizeof(aliases[0]))

int
query_key_parse(const char *s, query_key *out)
{
	query_key k;
	report_dim d;

	if (s == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	memset(&k, 0, sizeof(k));
	if (report_dim_parse(s, &d) == 0) {
		k.kind = QUERY_KEY_DIM;
		k.dim = d;
	} else if (strcmp(s, "tag") == 0) {
		k.kind = QUERY_KEY_TAG;
	} else if (strcmp(s, "tagset") == 0) {
		k.kind = QUERY_KEY_TAGSET;
	} else if (strcmp(s, "trace") == 0) {
		k.kind = QUERY_KEY_TRACE;
	} else if (strncmp(s, "meta.", 5) == 0) {
		size_t n = strlen(s + 5);
		if (n == 0 || n > LLMCOST_MAX_KEY
		    || !llmcost__utf8_valid(s + 5, n)) {
			return (LLMCOST_EINVAL);
		}
		k.kind = QUERY_KEY_META;
		memcpy(k.meta, s + 5, n + 1);
	} else {
		size_t i;
		for (i = 0; i < N_ALIASES; i++) {
			if (strcmp(s, aliases[i].name) == 0) {
				break;
			}
		}
		if (i == N_ALIASES) {
			return (LLMCOST_EINVAL);
		}
		k.kind = QUERY_KEY_META;
		snprintf(k.meta, sizeof(k.meta), "%s", aliases[i].meta);
	}
	*out = k;
	return (0);
}

const char *
query_key_name(const query_key *k, char *buf, size_t bufsz)
{
	switch (k->kind) {
	case QUERY_KEY_DIM:
		snprintf(buf, bufsz, "%s", report_dim_name(k->dim));
		break;
	case QUERY_KEY_TAG:
		snprintf(buf, bufsz, "tag");
		break;
	case QUERY_KEY_TAGSET:
		snprintf(buf, bufsz, "tagset");
		break;
	case QUERY_KEY_TRACE:
		snprintf(buf, bufsz, "trace");
		break;
	default:
		for (size_t i = 0; i < N_ALIASES; i++) {
			if (strcmp(k->meta, aliases[i].meta) == 0) {
				snprintf(buf, bufsz, "%s", aliases[i].name);
				return (buf);
			}
		}
		snprintf(buf, bufsz, "meta.%s", k->meta);
		break;
	}
	return (buf);
}

int
query_filter_parse(const char *s, query_filter *out)
{
	char key[QUERY_KEY_NAME_MAX + 1];
	query_filter f;

	if (s == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	const char *eq = strchr(s, '=');
	if (eq == NULL || eq == s) {
		return (LLMCOST_EINVAL);
	}
	memset(&f, 0, sizeof(f));
	size_t klen = (size_t) (eq - s);
	if (s[klen - 1] == '!') {
		f.negate = 1;
		klen--;
	}
	if (klen == 0 || klen > QUERY_KEY_NAME_MAX) {
		return (LLMCOST_EINVAL);
	}
	memcpy(key, s, klen);
	key[klen] = '\0';
	size_t vlen = strlen(eq + 1);
	if (vlen > LLMCOST_MAX_VALUE || !llmcost__utf8_valid(eq + 1, vlen)
	    || query_key_parse(key, &f.key) != 0) {
		return (LLMCOST_EINVAL);
	}
	memcpy(f.value, eq + 1, vlen + 1);
	*out = f;
	return (0);
}

static const char *const every_names[] = { "none", "hour", "day", "week" };

const char *
query_every_name(query_every e)
{
	return ((unsigned) e < 4 ? every_names[e] : "?");
}

int
query_every_parse(const char *s)
{
	for (int i = 0; s != NULL && i < 4; i++) {
		if (strcmp(s, every_names[i]) == 0) {
			return (i);
		}
	}
	return (-1);
}

void
query_spec_init(query_spec *q)
{
	memset(q, 0, sizeof(*q));
	q->by[0].kind = QUERY_KEY_DIM;
	q->by[0].dim = REPORT_DIM_DEFAULT;
	q->n_by = 1;
}

void
query_sums_add(query_sums *a, const query_sums *b)
{
	a->calls += b->calls;
	a->unpriced_calls += b->unpriced_calls;
	a->error_calls += b->error_calls;
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		a->usage[i] += b->usage[i];
	}
	a->input_tokens += b->input_tokens;
	a->output_tokens += b->output_tokens;
	a->cost_pusd += b->cost_pusd;
	for (int i = 0; i < LLMCOST_FEE_COUNT; i++) {
		a->fees[i] += b->fees[i];
	}
	a->fee_cost_pusd += b->fee_cost_pusd;
	a->provider_cost_calls += b->provider_cost_calls;
	a->provider_cost_pusd += b->provider_cost_pusd;
	a->usage_missing_calls += b->usage_missing_calls;
	a->usage_partial_calls += b->usage_partial_calls;
}

int
query_rows_overlap(const query_result *r)
{
	uint64_t calls = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		calls += r->rows[i].sum.calls;
	}
	return (calls > r->total.calls);
}
