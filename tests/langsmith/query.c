// DESIGN: the stand-in's read API, in the shapes the reference documents
// (sections 3.1 to 3.5), because a reconciling client must cope with
// exactly those shapes:
//
// - POST /api/v1/runs/query: {"runs": [...], "cursors": {"next": ...}},
//   lowercase selects, limit <= 100, costs as decimal strings;
// - POST /api/v2/runs/query: {"items": [...], "has_more", "next_cursor"},
//   UPPERCASE selects (only the id without them), page_size <= 1000,
//   project_ids required, a start-time window defaulting to the last day,
//   run_type and status in UPPERCASE, costs as numbers, detail maps
//   wrapped as {"raw": {...}};
// - POST /api/v1/runs/stats: one RunStats, or with group_by a map from
//   group value to RunStats (the top max_groups by run count);
// - GET /api/v1/sessions: a JSON array of projects, with stats (costs as
//   strings) on request.
//
// Runs are read in (start_time, id) order from the sorted index, and a
// cursor is the position of the last run served, so paging is stable
// while runs arrive.  Money stays integer pico-USD until it is printed:
// sums are 128-bit, strings are exact, numbers are the nearest double.
// Runs without a create, and runs still inside the configured ingest lag,
// are not visible.

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "standin_int.h"

// ---- the fields of a run ----

// The fields of a run: the name in v1 (lowercase, NULL: not in v1) and
// the v2 select (UPPERCASE).
#define RF_MAP(XX)                                                            \
	XX(ID, "id", "ID")                                                    \
	XX(NAME, "name", "NAME")                                              \
	XX(RUN_TYPE, "run_type", "RUN_TYPE")                                  \
	XX(START, "start_time", "START_TIME")                                 \
	XX(END, "end_time", "END_TIME")                                       \
	XX(STATUS, "status", "STATUS")                                        \
	XX(ERROR, "error", "ERROR")                                           \
	XX(INPUTS, "inputs", "INPUTS")                                        \
	XX(OUTPUTS, "outputs", "OUTPUTS")                                     \
	XX(EXTRA, "extra", "EXTRA")                                           \
	XX(EVENTS, "events", "EVENTS")                                        \
	XX(SERIALIZED, "serialized", "SERIALIZED")                            \
	XX(TAGS, "tags", "TAGS")                                              \
	XX(PARENT, "parent_run_id", "PARENT_RUN_ID")                          \
	XX(TRACE, "trace_id", "TRACE_ID")                                     \
	XX(DOTTED, "dotted_order", "DOTTED_ORDER")                            \
	XX(SESSION, "session_id", "SESSION_ID")                               \
	XX(IS_ROOT, "is_root", "IS_ROOT")                                     \
	XX(TOTAL_TOKENS, "total_tokens", "TOTAL_TOKENS")                      \
	XX(PROMPT_TOKENS, "prompt_tokens", "PROMPT_TOKENS")                   \
	XX(COMPLETION_TOKENS, "completion_tokens", "COMPLETION_TOKENS")       \
	XX(TOTAL_COST, "total_cost", "TOTAL_COST")                            \
	XX(PROMPT_COST, "prompt_cost", "PROMPT_COST")                         \
	XX(COMPLETION_COST, "completion_cost", "COMPLETION_COST")             \
	XX(PROMPT_TD, "prompt_token_details", "PROMPT_TOKEN_DETAILS")         \
	XX(COMPLETION_TD, "completion_token_details",                         \
	    "COMPLETION_TOKEN_DETAILS")                                       \
	XX(PROMPT_CD, "prompt_cost_details", "PROMPT_COST_DETAILS")           \
	XX(COMPLETION_CD, "completion_cost_details",                          \
	    "COMPLETION_COST_DETAILS")                                        \
	XX(PRICE_MODEL, "price_model_id", "PRICE_MODEL_ID")                   \
	XX(METADATA, NULL, "METADATA")                                        \
	XX(PROJECT, NULL, "PROJECT_ID")

enum rf {
#define RF_ENUM(id, v1, v2) RF_##id,
	RF_MAP(RF_ENUM)
#undef RF_ENUM
	    RF_COUNT
};

static const char *const rf_v1[RF_COUNT] = {
#define RF_V1(id, v1, v2) v1,
	RF_MAP(RF_V1)
#undef RF_V1
};
static const char *const rf_v2[RF_COUNT] = {
#define RF_V2(id, v1, v2) v2,
	RF_MAP(RF_V2)
#undef RF_V2
};

static json_t *
uuid_json(const uint8_t id[16])
{
	char s[LLMCOST__UUID_STR_LEN];

	llmcost__uuid_str(id, s);
	return (json_string(s));
}

static json_t *
time_json(int64_t us)
{
	char t[LLMCOST_LS_TIME_STR_LEN];

	llmcost_ls_time_format(us, 0, t);
	return (json_string(t));
}

static json_t *
money_json(int64_t pico, int as_string)
{
	if (as_string) {
		char m[32];

		llmcost_ls_pico_format(pico, m);
		return (json_string(m));
	}
	return (json_real((double) pico / 1e12));
}

static json_t *
upper_json(const char *s)
{
	char buf[64];
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < sizeof(buf); i++) {
		buf[i]
		    = (s[i] >= 'a' && s[i] <= 'z') ? (char) (s[i] - 32) : s[i];
	}
	buf[i] = '\0';
	return (s ? json_string(buf) : json_null());
}

static json_t *
meta_json(const struct standin *s, const st_run *r)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o != NULL && i < r->n_meta; i++) {
		const char *k = strtab_str(&s->strs, r->meta[2 * i]);
		const char *v = strtab_str(&s->strs, r->meta[2 * i + 1]);
		json_t *jv = (r->meta[2 * i + 1] & META_JSON)
		    ? json_loads(v, JSON_DECODE_ANY, NULL)
		    : json_string(v);

		json_object_set_new(o, k, jv ? jv : json_null());
	}
	return (o);
}

static json_t *
details_json(const struct standin *s, const st_detail *d, uint32_t n,
    int money, int as_string, int wrap)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o != NULL && i < n; i++) {
		json_object_set_new(o, strtab_str(&s->strs, d[i].key),
		    money ? money_json(d[i].n, as_string)
		          : json_integer(d[i].n));
	}
	if (wrap && o != NULL) {
		return (json_pack("{s:o}", "raw", o));
	}
	return (o);
}

static json_t *
payload_field(const st_run *r, const char *key)
{
	json_t *v = r->payload ? json_object_get(r->payload, key) : NULL;

	return (v ? json_incref(v) : json_null());
}

static json_t *
field_value(
    struct standin *s, const st_run *r, enum rf f, int v2, int cost_strings)
{
	int priced = r->priced != 0;

	switch (f) {
	case RF_ID:
		return (uuid_json(r->id));
	case RF_NAME:
		return (r->name ? json_string(strtab_str(&s->strs, r->name))
		                : json_null());
	case RF_RUN_TYPE: {
		const char *t = llmcost_ls_run_type_name(r->run_type);

		return (v2 ? upper_json(t) : t ? json_string(t) : json_null());
	}
	case RF_START:
		return (time_json(r->start_us));
	case RF_END:
		return ((r->has & LLMCOST_LS_H_END) ? time_json(r->end_us)
		                                    : json_null());
	case RF_STATUS:
		return (v2 ? upper_json(store_run_status(s, r))
		           : json_string(store_run_status(s, r)));
	case RF_ERROR:
		return (r->error ? json_string(r->error) : json_null());
	case RF_INPUTS:
		return (payload_field(r, "inputs"));
	case RF_OUTPUTS:
		return (payload_field(r, "outputs"));
	case RF_EXTRA:
		if (r->payload != NULL) {
			return (payload_field(r, "extra"));
		}
		return (json_pack("{s:o}", "metadata", meta_json(s, r)));
	case RF_EVENTS:
		return (payload_field(r, "events"));
	case RF_SERIALIZED:
		return (payload_field(r, "serialized"));
	case RF_TAGS: {
		json_t *a = json_array();

		for (uint32_t i = 0; a != NULL && i < r->n_tags; i++) {
			json_array_append_new(
			    a, json_string(strtab_str(&s->strs, r->tags[i])));
		}
		return (a);
	}
	case RF_PARENT:
		return ((r->has & LLMCOST_LS_H_PARENT)
		        ? uuid_json(r->parent_id)
		        : json_null());
	case RF_TRACE:
		return (uuid_json(r->trace_id));
	case RF_DOTTED:
		return (r->dotted ? json_string(r->dotted) : json_null());
	case RF_SESSION:
	case RF_PROJECT:
		return (uuid_json(s->sessions[r->session].id));
	case RF_IS_ROOT:
		return (json_boolean(!(r->has & LLMCOST_LS_H_PARENT)));
	case RF_TOTAL_TOKENS:
		return (json_integer(r->tot_tok));
	case RF_PROMPT_TOKENS:
		return (json_integer(r->in_tok));
	case RF_COMPLETION_TOKENS:
		return (json_integer(r->out_tok));
	case RF_TOTAL_COST:
		return (priced ? money_json(r->total_cost, cost_strings)
		               : json_null());
	case RF_PROMPT_COST:
		return (priced ? money_json(r->prompt_cost, cost_strings)
		               : json_null());
	case RF_COMPLETION_COST:
		return (priced ? money_json(r->completion_cost, cost_strings)
		               : json_null());
	case RF_PROMPT_TD:
		return (details_json(s, r->details, r->n_in_d, 0, 0, v2));
	case RF_COMPLETION_TD:
		return (details_json(
		    s, r->details + r->n_in_d, r->n_out_d, 0, 0, v2));
	case RF_PROMPT_CD:
		return (priced ? details_json(s, r->cost_details, r->n_in_cd,
		            1, cost_strings, v2)
		               : json_null());
	case RF_COMPLETION_CD:
		return (priced ? details_json(s, r->cost_details + r->n_in_cd,
		            r->n_out_cd, 1, cost_strings, v2)
		               : json_null());
	case RF_PRICE_MODEL:
		return (r->priced == 1 ? uuid_json(r->price_id) : json_null());
	case RF_METADATA:
		return (meta_json(s, r));
	default:
		return (json_null());
	}
}

static json_t *
run_json(struct standin *s, const st_run *r, const uint8_t *sel, int v2,
    int cost_strings)
{
	json_t *o = json_object();

	for (int f = 0; o != NULL && f < RF_COUNT; f++) {
		char key[64];
		const char *name = v2 ? rf_v2[f] : rf_v1[f];
		size_t i;

		if (!sel[f] || name == NULL) {
			continue;
		}
		for (i = 0; name[i] != '\0' && i + 1 < sizeof(key); i++) {
			key[i] = (name[i] >= 'A' && name[i] <= 'Z')
			    ? (char) (name[i] + 32)
			    : name[i];
		}
		key[i] = '\0';
		json_object_set_new(
		    o, key, field_value(s, r, f, v2, cost_strings));
	}
	return (o);
}

json_t *
query_run_v1(struct standin *s, const st_run *r)
{
	uint8_t sel[RF_COUNT];

	for (int f = 0; f < RF_COUNT; f++) {
		sel[f] = rf_v1[f] != NULL;
	}
	return (run_json(
	    s, r, sel, 0, (s->cost_strings & STANDIN_COSTS_QUERY_V1) != 0));
}

// ---- request bodies ----

typedef struct q {
	int *sessions; // indices; -2 entries never match
	size_t n_sessions;
	int any_session;
	llmcost_ls_run_type run_type; // NONE: any
	int64_t min_start;
	int64_t max_start;
	int is_root; // -1 any
	int error;   // -1 any
	uint8_t (*ids)[16];
	size_t n_ids;
	int has_trace;
	uint8_t trace[16];
	int has_parent;
	uint8_t parent[16];
	filter *filter;
	filter *trace_filter;
	int desc;
	size_t limit;
	int has_cursor;
	int64_t cursor_us;
	uint8_t cursor_id[16];
	int64_t now;
} q;

static void
q_free(q *x)
{
	free(x->sessions);
	free(x->ids);
	filter_free(x->filter);
	filter_free(x->trace_filter);
}

static int
bad(llmcost_ls_error *err, const char *key, const char *want)
{
	return (
	    llmcost_ls_fail(err, 422, LLMCOST_EINVAL, "%s: %s", key, want));
}

// A bool member: -1 when absent or null.
static int
get_bool(const json_t *body, const char *key, int *out, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);

	*out = -1;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_boolean(v)) {
		return (bad(err, key, "want true or false"));
	}
	*out = json_is_true(v);
	return (0);
}

static int
get_time(
    const json_t *body, const char *key, int64_t *out, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_string(v) || llmcost_ls_time_parse(v, out) != 0) {
		return (bad(err, key, "want an RFC 3339 time"));
	}
	return (0);
}

static int
get_uuid(const json_t *v, uint8_t id[16])
{
	char buf[LLMCOST__UUID_STR_LEN];

	if (!json_is_string(v) || json_string_length(v) != 36) {
		return (-1);
	}
	memcpy(buf, json_string_value(v), 37);
	return (llmcost__uuid_parse(buf, id) == 0 ? 0 : -1);
}

static int
get_uuids(const json_t *body, const char *key, uint8_t (**out)[16], size_t *n,
    int *present, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);
	size_t i;
	json_t *e;

	*out = NULL;
	*n = 0;
	*present = 0;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_array(v)) {
		return (bad(err, key, "want an array of UUIDs"));
	}
	*present = 1;
	if (json_array_size(v) == 0) {
		return (0);
	}
	if ((*out = calloc(json_array_size(v), 16)) == NULL) {
		return (llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory"));
	}
	json_array_foreach(v, i, e)
	{
		if (get_uuid(e, (*out)[i]) != 0) {
			free(*out);
			*out = NULL;
			return (bad(err, key, "want an array of UUIDs"));
		}
	}
	*n = json_array_size(v);
	return (0);
}

static int
get_filter(
    const json_t *body, const char *key, filter **out, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);
	char why[200];

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_string(v)) {
		return (bad(err, key, "want a filter string"));
	}
	if (filter_parse(json_string_value(v), out, why, sizeof(why)) != 0) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EINVAL, "%s: %s", key, why));
	}
	return (0);
}

// Members common to every query: sessions are given by the caller.
static int
parse_common(
    struct standin *s, const json_t *body, q *x, int v2, llmcost_ls_error *err)
{
	const char *rt_key = "run_type";
	const json_t *v;
	int rv;

	(void) s;
	if (!json_is_object(body)) {
		return (bad(err, "body", "want a JSON object"));
	}
	v = json_object_get(body, rt_key);
	if (v != NULL && !json_is_null(v)) {
		char low[32];
		const char *t = json_string_value(v);
		size_t i;

		if (t == NULL || strlen(t) >= sizeof(low)) {
			return (bad(err, rt_key, "want a run type"));
		}
		for (i = 0; t[i]; i++) {
			// v2 wants UPPERCASE, v1 lowercase: the other is refused.
			if (v2 ? (t[i] >= 'a' && t[i] <= 'z')
			       : (t[i] >= 'A' && t[i] <= 'Z')) {
				return (bad(err, rt_key,
				    v2 ? "want UPPERCASE (LLM, CHAIN, ...)"
				       : "want lowercase (llm, chain, ...)"));
			}
			low[i] = (t[i] >= 'A' && t[i] <= 'Z')
			    ? (char) (t[i] + 32)
			    : t[i];
		}
		low[i] = '\0';
		if ((x->run_type = llmcost_ls_run_type_parse(low))
		    == LLMCOST_LS_RT_NONE) {
			return (bad(err, rt_key, "unknown run type"));
		}
	}
	if ((rv = get_bool(body, "is_root", &x->is_root, err)) != 0
	    || (rv = get_bool(
	            body, v2 ? "has_error" : "error", &x->error, err))
	        != 0
	    || (rv = get_filter(body, "filter", &x->filter, err)) != 0
	    || (rv = get_filter(body, "trace_filter", &x->trace_filter, err))
	        != 0) {
		return (rv);
	}
	v = json_object_get(body, "tree_filter");
	if (v != NULL && !json_is_null(v)) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EINVAL,
		    "tree_filter: not supported by the stand-in"));
	}
	return (0);
}

static int
sessions_from(struct standin *s, const json_t *body, const char *key, q *x,
    int *present, llmcost_ls_error *err)
{
	uint8_t(*ids)[16] = NULL;
	size_t n = 0;
	int rv;

	if ((rv = get_uuids(body, key, &ids, &n, present, err)) != 0) {
		return (rv);
	}
	if (!*present) {
		x->any_session = 1;
		return (0);
	}
	x->sessions = calloc(n + 1, sizeof(int));
	if (x->sessions == NULL) {
		free(ids);
		return (llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory"));
	}
	for (size_t i = 0; i < n; i++) {
		int si = store_session_by_id(s, ids[i]);

		x->sessions[i] = si >= 0 ? si : -2;
	}
	x->n_sessions = n;
	free(ids);
	return (0);
}

static int
parse_cursor(const json_t *body, const char *key, q *x, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);
	const char *c;
	char *end;
	long long us;

	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	c = json_string_value(v);
	if (c == NULL) {
		return (bad(err, key, "want a cursor string"));
	}
	us = strtoll(c, &end, 10);
	if (end == c || *end != '_' || strlen(end + 1) != 36
	    || llmcost__uuid_parse(end + 1, x->cursor_id) != 0) {
		return (bad(err, key, "not a cursor this server gave out"));
	}
	x->cursor_us = us;
	x->has_cursor = 1;
	return (0);
}

// ---- selecting runs ----

static int
visible(const q *x, const st_run *r)
{
	return (r->posted && r->visible_us <= x->now);
}

static int
matches(struct standin *s, const q *x, const st_run *r)
{
	if (!visible(x, r)) {
		return (0);
	}
	if (!x->any_session) {
		size_t i;

		for (i = 0; i < x->n_sessions; i++) {
			if (x->sessions[i] == (int) r->session) {
				break;
			}
		}
		if (i == x->n_sessions) {
			return (0);
		}
	}
	if (r->start_us < x->min_start || r->start_us > x->max_start) {
		return (0);
	}
	if (x->run_type != LLMCOST_LS_RT_NONE && r->run_type != x->run_type) {
		return (0);
	}
	if (x->is_root >= 0 && x->is_root != !(r->has & LLMCOST_LS_H_PARENT)) {
		return (0);
	}
	if (x->error >= 0
	    && x->error != ((r->has & LLMCOST_LS_H_ERROR) != 0)) {
		return (0);
	}
	if (x->has_trace && memcmp(r->trace_id, x->trace, 16) != 0) {
		return (0);
	}
	if (x->has_parent
	    && (!(r->has & LLMCOST_LS_H_PARENT)
	        || memcmp(r->parent_id, x->parent, 16) != 0)) {
		return (0);
	}
	if (x->n_ids > 0 || x->ids != NULL) {
		size_t i;

		for (i = 0; i < x->n_ids; i++) {
			if (memcmp(x->ids[i], r->id, 16) == 0) {
				break;
			}
		}
		if (i == x->n_ids) {
			return (0);
		}
	}
	if (!filter_eval(x->filter, s, r)) {
		return (0);
	}
	if (x->trace_filter != NULL) {
		const st_run *root = store_find(s, r->trace_id);

		if (root == NULL || !visible(x, root)
		    || !filter_eval(x->trace_filter, s, root)) {
			return (0);
		}
	}
	return (1);
}

// Compare sorted position i with (us, id).
static int
key_cmp(struct standin *s, size_t i, int64_t us, const uint8_t id[16])
{
	const st_run *r = s->runs[s->sorted[i]];

	if (r->start_us != us) {
		return (r->start_us < us ? -1 : 1);
	}
	return (memcmp(r->id, id, 16));
}

// The first sorted position whose key is > (us, id) (after = 1) or
// >= (us, id) (after = 0).
static size_t
lower(struct standin *s, int64_t us, const uint8_t id[16], int after)
{
	size_t lo = 0;
	size_t hi = s->n_sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(s, mid, us, id);

		if (c < 0 || (after && c == 0)) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return (lo);
}

static const uint8_t zero_id[16];
static const uint8_t max_id[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

// Calls fn for up to limit matching runs in order after the cursor;
// returns how many; *more when another one follows.
static size_t
scan(struct standin *s, q *x, size_t limit, int *more,
    int (*fn)(struct standin *, const st_run *, void *), void *arg)
{
	size_t lo;
	size_t hi;
	size_t n = 0;

	store_sort(s);
	lo = lower(s, x->min_start, zero_id, 0);
	hi = lower(s, x->max_start, max_id, 1);
	if (x->has_cursor) {
		if (x->desc) {
			size_t c = lower(s, x->cursor_us, x->cursor_id, 0);

			hi = c < hi ? c : hi;
		} else {
			size_t c = lower(s, x->cursor_us, x->cursor_id, 1);

			lo = c > lo ? c : lo;
		}
	}
	*more = 0;
	for (size_t k = 0; lo < hi && k < hi - lo; k++) {
		size_t i = x->desc ? hi - 1 - k : lo + k;
		const st_run *r = s->runs[s->sorted[i]];

		if (!matches(s, x, r)) {
			continue;
		}
		if (n == limit) {
			*more = 1;
			break;
		}
		if (fn(s, r, arg) != 0) {
			break;
		}
		n++;
	}
	return (n);
}

static json_t *
cursor_json(const st_run *r)
{
	char c[80];
	char ids[LLMCOST__UUID_STR_LEN];

	llmcost__uuid_str(r->id, ids);
	snprintf(c, sizeof(c), "%lld_%s", (long long) r->start_us, ids);
	return (json_string(c));
}

typedef struct page {
	json_t *arr;
	const uint8_t *sel;
	int v2;
	int cost_strings;
	const st_run *last;
} page;

static int
page_add(struct standin *s, const st_run *r, void *arg)
{
	page *p = arg;

	p->last = r;
	return (json_array_append_new(
	    p->arr, run_json(s, r, p->sel, p->v2, p->cost_strings)));
}

static int
parse_select(const json_t *body, const char *key, int v2, uint8_t *sel,
    llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);
	size_t i;
	json_t *e;

	memset(sel, 0, RF_COUNT);
	if (v == NULL || json_is_null(v)) {
		for (int f = 0; f < RF_COUNT; f++) {
			// v1 returns every field; v2 only the id.
			sel[f] = v2 ? f == RF_ID : rf_v1[f] != NULL;
		}
		return (0);
	}
	if (!json_is_array(v)) {
		return (bad(err, key, "want an array of field names"));
	}
	sel[RF_ID] = 1;
	json_array_foreach(v, i, e)
	{
		const char *name = json_string_value(e);
		int f;

		for (f = 0; name != NULL && f < RF_COUNT; f++) {
			const char *want = v2 ? rf_v2[f] : rf_v1[f];

			if (want != NULL && strcmp(name, want) == 0) {
				break;
			}
		}
		if (name == NULL || f == RF_COUNT) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "%s: unknown field '%.40s'%s", key,
			    name ? name : "?",
			    v2 ? " (v2 selects are UPPERCASE)" : ""));
		}
		sel[f] = 1;
	}
	return (0);
}

// An optional UUID member: *has stays 0 when absent or null.
static int
get_uuid_opt(const json_t *body, const char *key, uint8_t id[16], int *has,
    llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (get_uuid(v, id) != 0) {
		return (bad(err, key, "want a UUID"));
	}
	*has = 1;
	return (0);
}

// An optional page size from 1 to max (default 100); want is the reason.
static int
get_limit(const json_t *body, const char *key, json_int_t max,
    const char *want, size_t *out, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);

	*out = 100;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1
	    || json_integer_value(v) > max) {
		return (bad(err, key, want));
	}
	*out = (size_t) json_integer_value(v);
	return (0);
}

// An optional sort order, asc or desc as spelled by the version
// (default descending).
static int
get_order(const json_t *body, const char *key, const char *asc,
    const char *desc, const char *want, int *out, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(body, key);
	const char *o;

	*out = 1;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	o = json_string_value(v);
	if (o == NULL || (strcmp(o, asc) && strcmp(o, desc))) {
		return (bad(err, key, want));
	}
	*out = strcmp(o, desc) == 0;
	return (0);
}

// The member names of the two read APIs, which differ only in spelling,
// defaults and the required filter.
typedef struct qnames {
	const char *session;
	const char *ids;
	const char *min_start;
	const char *max_start;
	const char *select;
	const char *limit;
	json_int_t limit_max;
	const char *limit_want;
	const char *order;
	const char *asc;
	const char *desc;
	const char *order_want;
	unsigned costs; // STANDIN_COSTS_QUERY_V*
} qnames;

static const qnames qn[2] = {
	{ "session", "id", "start_time", "end_time", "select", "limit", 100,
	    "want 1 to 100", "order", "asc", "desc", "want asc or desc",
	    STANDIN_COSTS_QUERY_V1 },
	{ "project_ids", "ids", "min_start_time", "max_start_time", "selects",
	    "page_size", 1000, "want 1 to 1000", "sort_order", "ASC", "DESC",
	    "want ASC or DESC", STANDIN_COSTS_QUERY_V2 },
};

// POST /runs/query (v2 == 0) and POST /v2/runs/query (v2 == 1).
static int
query_runs(struct standin *s, const json_t *body, int v2, json_t **out,
    llmcost_ls_error *err)
{
	const qnames *n = &qn[v2];
	q x = { 0 };
	uint8_t sel[RF_COUNT];
	page p = { 0 };
	int present = 0;
	int ids_present = 0;
	int more = 0;
	int rv;

	x.now = store_now_us();
	if (v2) {
		x.min_start = x.now - INT64_C(86400000000); // the last day
		x.max_start = x.now;
	} else {
		x.max_start = INT64_MAX;
	}
	if ((rv = parse_common(s, body, &x, v2, err)) != 0
	    || (rv = sessions_from(s, body, n->session, &x, &present, err))
	        != 0
	    || (rv = get_uuids(
	            body, n->ids, &x.ids, &x.n_ids, &ids_present, err))
	        != 0
	    || (rv = get_time(body, n->min_start, &x.min_start, err)) != 0
	    || (rv = get_time(body, n->max_start, &x.max_start, err)) != 0
	    || (rv = parse_cursor(body, "cursor", &x, err)) != 0
	    || (rv = parse_select(body, n->select, v2, sel, err)) != 0) {
		goto done;
	}
	if (v2) {
		if (!present || x.n_sessions == 0) {
			rv = bad(err, "project_ids",
			    "required (an array of project UUIDs)");
			goto done;
		}
		if ((rv = get_uuid_opt(
		         body, "trace_id", x.trace, &x.has_trace, err))
		    != 0) {
			goto done;
		}
	} else {
		if ((rv = get_uuid_opt(
		         body, "trace", x.trace, &x.has_trace, err))
		        != 0
		    || (rv = get_uuid_opt(
		            body, "parent_run", x.parent, &x.has_parent, err))
		        != 0) {
			goto done;
		}
		if (!present && !ids_present && !x.has_trace
		    && !x.has_parent) {
			rv = bad(err, "session",
			    "one of session, id, trace or parent_run is "
			    "required");
			goto done;
		}
	}
	if ((rv = get_limit(
	         body, n->limit, n->limit_max, n->limit_want, &x.limit, err))
	        != 0
	    || (rv = get_order(body, n->order, n->asc, n->desc, n->order_want,
	            &x.desc, err))
	        != 0) {
		goto done;
	}
	p.arr = json_array();
	p.sel = sel;
	p.v2 = v2;
	p.cost_strings = (s->cost_strings & n->costs) != 0;
	scan(s, &x, x.limit, &more, page_add, &p);
	if (v2) {
		*out = json_pack("{s:o,s:b,s:o}", "items", p.arr, "has_more",
		    more, "next_cursor",
		    more && p.last ? cursor_json(p.last) : json_null());
	} else {
		*out = json_pack("{s:o,s:{s:o,s:n}}", "runs", p.arr, "cursors",
		    "next", more && p.last ? cursor_json(p.last) : json_null(),
		    "prev");
	}
	rv = *out ? 0
	          : llmcost_ls_fail(err, 500, LLMCOST_ENOMEM, "out of memory");
done:
	q_free(&x);
	return (rv);
}

int
query_v1(
    struct standin *s, const json_t *body, json_t **out, llmcost_ls_error *err)
{
	return (query_runs(s, body, 0, out, err));
}

int
query_v2(
    struct standin *s, const json_t *body, json_t **out, llmcost_ls_error *err)
{
	return (query_runs(s, body, 1, out, err));
}

// ---- aggregates ----

typedef struct agg {
	uint32_t key; // group value (interned), 0 for the ungrouped total
	uint64_t runs;
	uint64_t errors;
	uint64_t priced;
	__int128 tokens[3]; // total, prompt, completion
	__int128 cost[3];   // total, prompt, completion
	int64_t last_start;
	double *lat; // seconds of finished runs
	size_t n_lat;
	size_t cap_lat;
	st_detail *det; // token details: key | 0x40000000 for output
	size_t n_det;
	st_detail *cdet; // cost details, same keys
	size_t n_cdet;
} agg;

static int
det_add(st_detail **d, size_t *n, uint32_t key, int64_t v)
{
	st_detail *nd;

	for (size_t i = 0; i < *n; i++) {
		if ((*d)[i].key == key) {
			(*d)[i].n += v;
			return (0);
		}
	}
	if ((nd = realloc(*d, (*n + 1) * sizeof(*nd))) == NULL) {
		return (-1);
	}
	*d = nd;
	nd[*n].key = key;
	nd[*n].n = v;
	(*n)++;
	return (0);
}

static int
agg_add(agg *a, const st_run *r)
{
	a->runs++;
	a->errors += (r->has & LLMCOST_LS_H_ERROR) != 0;
	a->tokens[0] += r->tot_tok;
	a->tokens[1] += r->in_tok;
	a->tokens[2] += r->out_tok;
	if (r->priced) {
		a->priced++;
		a->cost[0] += r->total_cost;
		a->cost[1] += r->prompt_cost;
		a->cost[2] += r->completion_cost;
	}
	if (r->start_us > a->last_start) {
		a->last_start = r->start_us;
	}
	if (r->has & LLMCOST_LS_H_END) {
		if (a->n_lat == a->cap_lat) {
			size_t nc = a->cap_lat ? a->cap_lat * 2 : 64;
			double *nl = realloc(a->lat, nc * sizeof(*nl));

			if (nl == NULL) {
				return (-1);
			}
			a->lat = nl;
			a->cap_lat = nc;
		}
		a->lat[a->n_lat++] = (double) (r->end_us - r->start_us) / 1e6;
	}
	for (uint32_t i = 0; i < r->n_in_d + r->n_out_d; i++) {
		uint32_t k
		    = r->details[i].key | (i >= r->n_in_d ? 0x40000000u : 0);

		if (det_add(&a->det, &a->n_det, k, r->details[i].n) != 0) {
			return (-1);
		}
	}
	for (uint32_t i = 0; r->priced && i < r->n_in_cd + r->n_out_cd; i++) {
		uint32_t k = r->cost_details[i].key
		    | (i >= r->n_in_cd ? 0x40000000u : 0);

		if (det_add(&a->cdet, &a->n_cdet, k, r->cost_details[i].n)
		    != 0) {
			return (-1);
		}
	}
	return (0);
}

static int
dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *) x;
	double b = *(const double *) y;

	return (a < b ? -1 : a > b ? 1 : 0);
}

static json_t *
pct(agg *a, double p)
{
	size_t i;

	if (a->n_lat == 0) {
		return (json_null());
	}
	i = (size_t) ceil(p * (double) a->n_lat);
	i = i == 0 ? 0 : i - 1;
	return (json_real(a->lat[i < a->n_lat ? i : a->n_lat - 1]));
}

static json_t *
sum_money(__int128 v, int as_string)
{
	if (v > INT64_MAX || v < INT64_MIN) {
		return (json_real((double) v / 1e12));
	}
	return (money_json((int64_t) v, as_string));
}

static json_t *
agg_details(struct standin *s, const st_detail *d, size_t n, int output,
    int money, int as_string)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < n; i++) {
		if (((d[i].key & 0x40000000u) != 0) != output) {
			continue;
		}
		json_object_set_new(o,
		    strtab_str(&s->strs, d[i].key & ~0x40000000u),
		    money ? money_json(d[i].n, as_string)
		          : json_integer(d[i].n));
	}
	return (o);
}

// The RunStats selects the stand-in knows (reference section 3.5).
static const char *const stat_names[] = { "run_count", "latency_p50",
	"latency_p99", "latency_avg", "first_token_p50", "first_token_p99",
	"total_tokens", "prompt_tokens", "completion_tokens", "median_tokens",
	"completion_tokens_p50", "prompt_tokens_p50", "tokens_p99",
	"completion_tokens_p99", "prompt_tokens_p99", "last_run_start_time",
	"feedback_stats", "thread_feedback_stats", "run_facets", "error_rate",
	"streaming_rate", "total_cost", "prompt_cost", "completion_cost",
	"cost_p50", "cost_p99", "session_feedback_stats", "all_run_stats",
	"all_token_stats", "group_count", "prompt_token_details",
	"completion_token_details", "prompt_cost_details",
	"completion_cost_details" };
#define N_STATS (sizeof(stat_names) / sizeof(stat_names[0]))

static json_t *
stat_value(struct standin *s, agg *a, const char *name, int cs)
{
	if (strcmp(name, "run_count") == 0) {
		return (json_integer((json_int_t) a->runs));
	}
	if (strcmp(name, "total_tokens") == 0) {
		return (json_integer((json_int_t) a->tokens[0]));
	}
	if (strcmp(name, "prompt_tokens") == 0) {
		return (json_integer((json_int_t) a->tokens[1]));
	}
	if (strcmp(name, "completion_tokens") == 0) {
		return (json_integer((json_int_t) a->tokens[2]));
	}
	if (strcmp(name, "total_cost") == 0) {
		return (a->priced ? sum_money(a->cost[0], cs) : json_null());
	}
	if (strcmp(name, "prompt_cost") == 0) {
		return (a->priced ? sum_money(a->cost[1], cs) : json_null());
	}
	if (strcmp(name, "completion_cost") == 0) {
		return (a->priced ? sum_money(a->cost[2], cs) : json_null());
	}
	if (strcmp(name, "latency_p50") == 0) {
		return (pct(a, 0.5));
	}
	if (strcmp(name, "latency_p99") == 0) {
		return (pct(a, 0.99));
	}
	if (strcmp(name, "error_rate") == 0) {
		return (a->runs
		        ? json_real((double) a->errors / (double) a->runs)
		        : json_null());
	}
	if (strcmp(name, "streaming_rate") == 0) {
		return (json_real(0));
	}
	if (strcmp(name, "last_run_start_time") == 0) {
		return (a->runs ? time_json(a->last_start) : json_null());
	}
	if (strcmp(name, "prompt_token_details") == 0) {
		return (agg_details(s, a->det, a->n_det, 0, 0, 0));
	}
	if (strcmp(name, "completion_token_details") == 0) {
		return (agg_details(s, a->det, a->n_det, 1, 0, 0));
	}
	if (strcmp(name, "prompt_cost_details") == 0) {
		return (agg_details(s, a->cdet, a->n_cdet, 0, 1, cs));
	}
	if (strcmp(name, "completion_cost_details") == 0) {
		return (agg_details(s, a->cdet, a->n_cdet, 1, 1, cs));
	}
	return (json_null()); // known to LangSmith, not computed here
}

static json_t *
agg_json(struct standin *s, agg *a, const uint8_t *sel, int cs)
{
	json_t *o = json_object();

	if (a->n_lat > 1) { // none: lat may be NULL, which qsort must not get
		qsort(a->lat, a->n_lat, sizeof(double), dbl_cmp);
	}
	for (size_t i = 0; o != NULL && i < N_STATS; i++) {
		if (sel[i]) {
			json_object_set_new(o, stat_names[i],
			    stat_value(s, a, stat_names[i], cs));
		}
	}
	return (o);
}

static void
agg_free(agg *a)
{
	free(a->lat);
	free(a->det);
	free(a->cdet);
}

typedef struct grouping {
	int attr;      // 0 none, 1 name, 2 run_type, 3 tag, 4 metadata
	uint32_t path; // the metadata key, interned
	agg *groups;
	size_t n;
	size_t cap;
	uint32_t *only; // "groups": restrict to these values
	size_t n_only;
	int failed;
} grouping;

static agg *
group_of(grouping *g, uint32_t key)
{
	agg *n;

	for (size_t i = 0; i < g->n; i++) {
		if (g->groups[i].key == key) {
			return (&g->groups[i]);
		}
	}
	if (g->n_only > 0) {
		size_t i;

		for (i = 0; i < g->n_only && g->only[i] != key; i++) { }
		if (i == g->n_only) {
			return (NULL);
		}
	}
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 16;

		if ((n = realloc(g->groups, nc * sizeof(*n))) == NULL) {
			g->failed = 1;
			return (NULL);
		}
		g->groups = n;
		g->cap = nc;
	}
	n = &g->groups[g->n++];
	memset(n, 0, sizeof(*n));
	n->key = key;
	return (n);
}

static int
stats_add(struct standin *s, const st_run *r, void *arg)
{
	grouping *g = arg;
	agg *a;

	switch (g->attr) {
	case 0:
		a = group_of(g, 0);
		break;
	case 1:
		a = r->name ? group_of(g, r->name) : NULL;
		break;
	case 2:
		a = group_of(g,
		    strtab_intern(&s->strs,
		        llmcost_ls_run_type_name(r->run_type),
		        strlen(llmcost_ls_run_type_name(r->run_type))));
		break;
	case 3:
		for (uint32_t i = 0; i < r->n_tags; i++) {
			if ((a = group_of(g, r->tags[i])) != NULL
			    && agg_add(a, r) != 0) {
				g->failed = 1;
			}
		}
		return (g->failed);
	default:
		a = NULL;
		for (uint32_t i = 0; i < r->n_meta; i++) {
			if (r->meta[2 * i] == g->path) {
				// Runs without the key get no bucket.
				a = group_of(
				    g, r->meta[2 * i + 1] & ~META_JSON);
				break;
			}
		}
		break;
	}
	if (a != NULL && agg_add(a, r) != 0) {
		g->failed = 1;
	}
	return (g->failed);
}

static int
group_cmp(const void *x, const void *y)
{
	const agg *a = x;
	const agg *b = y;

	if (a->runs != b->runs) {
		return (a->runs > b->runs ? -1 : 1);
	}
	return (a->key < b->key ? -1 : a->key > b->key);
}

int
query_stats(
    struct standin *s, const json_t *body, json_t **out, llmcost_ls_error *err)
{
	q x = { 0 };
	grouping g = { 0 };
	uint8_t sel[N_STATS];
	const json_t *v;
	const json_t *gb;
	int present = 0;
	int ids_present = 0;
	int more = 0;
	size_t max_groups = 5;
	int cs = (s->cost_strings & STANDIN_COSTS_STATS) != 0;
	int rv;

	x.now = store_now_us();
	x.max_start = INT64_MAX;
	if ((rv = parse_common(s, body, &x, 0, err)) != 0
	    || (rv = sessions_from(s, body, "session", &x, &present, err)) != 0
	    || (rv = get_uuids(
	            body, "id", &x.ids, &x.n_ids, &ids_present, err))
	        != 0
	    || (rv = get_time(body, "start_time", &x.min_start, err)) != 0
	    || (rv = get_time(body, "end_time", &x.max_start, err)) != 0) {
		goto done;
	}
	if (!present) {
		rv = bad(
		    err, "session", "required (an array of project UUIDs)");
		goto done;
	}
	// select: the default set is unconfirmed; the stand-in answers the
	// counts, tokens, costs, latencies, error rate and details.
	memset(sel, 0, sizeof(sel));
	v = json_object_get(body, "select");
	if (v == NULL || json_is_null(v)) {
		static const char *const defaults[] = { "run_count",
			"latency_p50", "latency_p99", "total_tokens",
			"prompt_tokens", "completion_tokens", "total_cost",
			"prompt_cost", "completion_cost", "error_rate",
			"last_run_start_time", "prompt_token_details",
			"completion_token_details", "prompt_cost_details",
			"completion_cost_details" };

		for (size_t i = 0; i < N_STATS; i++) {
			for (size_t k = 0;
			     k < sizeof(defaults) / sizeof(*defaults); k++) {
				sel[i]
				    |= strcmp(stat_names[i], defaults[k]) == 0;
			}
		}
	} else if (!json_is_array(v)) {
		rv = bad(err, "select", "want an array of stat names");
		goto done;
	} else {
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e)
		{
			size_t k;

			for (k = 0; json_is_string(e) && k < N_STATS
			     && strcmp(stat_names[k], json_string_value(e))
			         != 0;
			     k++) { }
			if (!json_is_string(e) || k == N_STATS) {
				rv = llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
				    "select: unknown stat '%.40s'",
				    json_is_string(e) ? json_string_value(e)
				                      : "?");
				goto done;
			}
			sel[k] = 1;
		}
	}
	gb = json_object_get(body, "group_by");
	if (gb != NULL && !json_is_null(gb)) {
		static const char *const attrs[]
		    = { "name", "run_type", "tag", "metadata" };
		const char *attr
		    = json_string_value(json_object_get(gb, "attribute"));
		const char *path
		    = json_string_value(json_object_get(gb, "path"));

		if (s->refuse_group_by) {
			rv = llmcost_ls_fail(err, 400, LLMCOST_EINVAL,
			    "group_by: not supported on this deployment");
			goto done;
		}
		for (size_t i = 0; attr != NULL && i < 4; i++) {
			if (strcmp(attr, attrs[i]) == 0) {
				g.attr = (int) i + 1;
			}
		}
		if (!json_is_object(gb) || g.attr == 0) {
			rv = bad(err, "group_by.attribute",
			    "want name, run_type, tag or metadata");
			goto done;
		}
		if (g.attr == 4) {
			if (path == NULL || path[0] == '\0') {
				rv = bad(err, "group_by.path",
				    "want the metadata key to group by");
				goto done;
			}
			g.path = strtab_intern(&s->strs, path, strlen(path));
		}
		v = json_object_get(gb, "max_groups");
		if (v != NULL && !json_is_null(v)) {
			if (!json_is_integer(v) || json_integer_value(v) < 1
			    || json_integer_value(v) > 100) {
				rv = bad(err, "group_by.max_groups",
				    "want 1 to 100");
				goto done;
			}
			max_groups = (size_t) json_integer_value(v);
		}
		v = json_object_get(body, "groups");
		if (json_is_array(v) && json_array_size(v) > 0) {
			size_t i;
			json_t *e;

			g.only = calloc(json_array_size(v), sizeof(*g.only));
			if (g.only == NULL) {
				rv = llmcost_ls_fail(
				    err, 500, LLMCOST_ENOMEM, "out of memory");
				goto done;
			}
			json_array_foreach(v, i, e)
			{
				if (json_is_string(e)) {
					g.only[g.n_only++] = strtab_intern(
					    &s->strs, json_string_value(e),
					    json_string_length(e));
				}
			}
		}
	}
	if (g.attr == 0 && group_of(&g, 0) == NULL) {
		rv = llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory");
		goto done;
	}
	scan(s, &x, SIZE_MAX, &more, stats_add, &g);
	if (g.failed) {
		rv = llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory");
		goto done;
	}
	if (g.attr == 0) {
		*out = agg_json(s, &g.groups[0], sel, cs);
	} else {
		if (g.n > 1) {
			qsort(g.groups, g.n, sizeof(*g.groups), group_cmp);
		}
		*out = json_object();
		for (size_t i = 0; *out && i < g.n && i < max_groups; i++) {
			json_object_set_new(*out,
			    strtab_str(&s->strs, g.groups[i].key),
			    agg_json(s, &g.groups[i], sel, cs));
		}
	}
	rv = *out ? 0
	          : llmcost_ls_fail(err, 500, LLMCOST_ENOMEM, "out of memory");
done:
	for (size_t i = 0; i < g.n; i++) {
		agg_free(&g.groups[i]);
	}
	free(g.groups);
	free(g.only);
	q_free(&x);
	return (rv);
}

// ---- projects ----

// The stats a project carries with include_stats=true.
static const char *const session_stats[] = { "run_count", "latency_p50",
	"latency_p99", "total_tokens", "prompt_tokens", "completion_tokens",
	"total_cost", "prompt_cost", "completion_cost", "error_rate",
	"last_run_start_time", NULL };

static void
select_names(uint8_t *sel, const char *const *names)
{
	for (size_t i = 0; i < N_STATS; i++) {
		sel[i] = 0;
		for (size_t k = 0; names[k] != NULL; k++) {
			sel[i] |= strcmp(stat_names[i], names[k]) == 0;
		}
	}
}

static int
session_stats_add(struct standin *s, const st_run *r, void *arg)
{
	(void) s;
	return (agg_add(arg, r));
}

int
query_sessions(struct standin *s, const char *name, const char *name_contains,
    const char *limit, const char *offset, const char *include_stats,
    json_t **out, llmcost_ls_error *err)
{
	long lim = 100;
	long off = 0;
	long seen = 0;
	int stats
	    = include_stats != NULL && strcmp(include_stats, "true") == 0;
	json_t *arr = json_array();
	char *end;

	if (limit != NULL) {
		lim = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || lim < 1 || lim > 100) {
			json_decref(arr);
			return (bad(err, "limit", "want 1 to 100"));
		}
	}
	if (offset != NULL) {
		off = strtol(offset, &end, 10);
		if (*offset == '\0' || *end != '\0' || off < 0) {
			json_decref(arr);
			return (
			    bad(err, "offset", "want a non-negative integer"));
		}
	}
	for (size_t i = 0; arr != NULL && i < s->n_sessions; i++) {
		const st_session *ss = &s->sessions[i];
		json_t *o;

		if ((name != NULL && strcmp(ss->name, name) != 0)
		    || (name_contains != NULL
		        && strstr(ss->name, name_contains) == NULL)) {
			continue;
		}
		if (seen++ < off) {
			continue;
		}
		if ((long) json_array_size(arr) == lim) {
			break;
		}
		o = json_pack("{s:o,s:s,s:o,s:s,s:n,s:n,s:n}", "id",
		    uuid_json(ss->id), "name", ss->name, "start_time",
		    time_json(ss->created_us), "tenant_id",
		    "00000000-0000-4000-8000-000000000001", "description",
		    "reference_dataset_id", "extra");
		if (o != NULL && stats) {
			int cs
			    = (s->cost_strings & STANDIN_COSTS_SESSIONS) != 0;
			uint8_t sel[N_STATS];
			q x = { 0 };
			agg a = { 0 };
			int more;
			int idx = (int) i;
			json_t *st;

			select_names(sel, session_stats);
			x.now = store_now_us();
			x.max_start = INT64_MAX;
			x.is_root = -1;
			x.error = -1;
			x.sessions = &idx;
			x.n_sessions = 1;
			scan(s, &x, SIZE_MAX, &more, session_stats_add, &a);
			st = agg_json(s, &a, sel, cs);
			json_object_update(o, st);
			json_decref(st);
			agg_free(&a);
		}
		json_array_append_new(arr, o);
	}
	if (arr == NULL) {
		return (llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory"));
	}
	*out = arr;
	return (0);
}
