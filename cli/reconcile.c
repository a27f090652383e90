// DESIGN: `llmcost reconcile`: the collector's numbers against
// LangSmith's, for the same window and the same LLM runs, in two passes
// (docs/reconcile.md; the project's LangSmith notes, section 3.7).
//
// 1. Totals per group: LangSmith's POST /api/v1/runs/stats, grouped by
//    the metadata key (group_by), beside the collector's totals for the
//    same window from the query engine (core/query.h); when LangSmith
//    refuses group_by (400 or 422), one filtered stats call per group.  Each group gets a verdict from the
//    cost difference, with the thresholds of the tutorial this project
//    grew from: within 5 % fine, over 20 % check the price table.
// 2. Run by run, joined on run id: LangSmith's runs are paged with
//    POST /api/v2/runs/query (v1 on 404 or 405) in start-time order; each
//    is looked up in the store by id (one B-tree lookup, in one short read
//    transaction per page), compared bucket by bucket and by cost, and its
//    id kept in a compact array (16 bytes per matched run).  The array is
//    sorted, and a store_scan of the window then finds the collector's
//    runs that LangSmith lacks by binary search.  Memory is 16 bytes per
//    matched run plus one page of LangSmith's answer (at most 1000 runs):
//    about 16 MiB for a million runs.  Nothing else grows with the run
//    count: discrepancies are streamed to the CSV as they are found, and
//    only their counts (by kind, by bucket, by model for prices) are kept.
//
// Classification.  A run missing on one side is explained when the other
// side's delivery says it dropped at least that many in the window (the
// collector's client-reported drops for runs missing here; the drops the
// exporters reported to the collector for runs missing in LangSmith).  A
// run whose token counts differ is unexplained.  A run with the same
// tokens and another cost is explained by price: LangSmith's price for
// the model (derived from its costs and tokens, run by run) differs from
// ours; so is a run only one side could price.  Costs are read as
// numbers, decimal strings or null (langsmith/money.c), and compared in
// pico-USD with a tolerance of one part in a million (LangSmith's numbers
// are doubles).
//
// Runs that started less than the settle time ago are left out on both
// sides (LangSmith ingests asynchronously).  The API key comes from the
// environment only and is never printed.

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "curl_lib.h"
#include "llmcost_common.h"
#include "llmcost_langsmith.h"
#include "lsread.h"
#include "prices.h"
#include "query.h"
#include "report.h"
#include "store.h"

// Exit codes (docs/reconcile.md): 0 everything agrees, or every
// difference is explained.
#define RECON_OK          0
#define RECON_FAIL        1 // LangSmith or the store could not be read
#define RECON_USAGE       2 // bad arguments or environment
#define RECON_UNEXPLAINED 3 // a difference has no known cause

#define PAGE_V2        1000 // runs per v2 page (LangSmith's maximum)
#define PAGE_V1        100  // and per v1 page (--page-size lowers both)
#define MAX_GROUPS     100  // group_by's max_groups
#define GROUPS_CAP     100000
#define MODELS_CAP     64 // models listed with a price difference
#define COST_TOL_PPM   1  // cost tolerance, parts per million
#define DEFAULT_SETTLE (10 * 60 * 1000) // ms
#define NAME_MAX_      (LLMCOST_MAX_VALUE + 1)

// The kinds of difference found run by run.  XX(ID, name, what)
// clang-format off
#define KIND_MAP(XX)                                                          \
	XX(MISSING_REMOTE, "missing_in_langsmith",                            \
	    "runs here that LangSmith does not have")                         \
	XX(MISSING_LOCAL, "missing_locally",                                  \
	    "runs in LangSmith the collector does not have")                  \
	XX(TOKENS, "tokens", "runs whose token counts differ")                \
	XX(PRICE, "price", "runs with the same tokens at another price")      \
	XX(UNPRICED_REMOTE, "unpriced_in_langsmith",                          \
	    "runs LangSmith has no price for")                                \
	XX(UNPRICED_LOCAL, "unpriced_locally",                                \
	    "runs llmcost has no price for")
// clang-format on

typedef enum kind {
#define KIND_ENUM(id, name, what) K_##id,
	KIND_MAP(KIND_ENUM)
#undef KIND_ENUM
	    K_COUNT
} kind;

static const char *const kind_name[K_COUNT] = {
#define KIND_NAME(id, name, what) name,
	KIND_MAP(KIND_NAME)
#undef KIND_NAME
};
static const char *const kind_what[K_COUNT] = {
#define KIND_WHAT(id, name, what) what,
	KIND_MAP(KIND_WHAT)
#undef KIND_WHAT
};

// What can be grouped by: any key of the query engine but tags and
// traces (a roll-up dimension, meta.<key>, an alias), which is a metadata
// key in LangSmith: the exporter sends every metadata entry, and the
// model and provider as ls_model_name and ls_provider.
static const char *
remote_key_of(const query_key *k)
{
	if (k->kind == QUERY_KEY_META) {
		return (k->meta);
	}
	switch (k->dim) {
	case REPORT_BY_MODEL:
		return ("ls_model_name");
	case REPORT_BY_PROVIDER:
		return ("ls_provider");
	default:
		return (report_dim_name(k->dim));
	}
}

// Token fields compared: the input and output totals, then the buckets
// LangSmith names in its details (llmcost__bucket_langsmith_key).
#define TF_INPUT  LLMCOST_BUCKET_COUNT
#define TF_OUTPUT (LLMCOST_BUCKET_COUNT + 1)
#define TF_COUNT  (LLMCOST_BUCKET_COUNT + 2)

typedef struct side {
	uint64_t calls;
	uint64_t in, out;
	store_i128 cost;
	int known; // remote: an answer covered this group
} side;

typedef struct group {
	char *name; // NULL: untagged
	side s[2];  // 0 here, 1 LangSmith
} group;

typedef struct model_diff {
	char provider[LLMCOST_MAX_PROVIDER + 1];
	char model[LLMCOST_MAX_MODEL + 1];
	uint64_t runs;
	store_i128 local_cost, remote_cost;
	store_i128 remote_in_cost, remote_out_cost; // LangSmith's split
	uint64_t in_tokens, out_tokens;             // of the same runs
	int64_t our_in, our_out; // our price, pico-USD per token (-1: none)
} model_diff;

typedef struct recon {
	// Settings.
	const char *project;
	query_key key;                   // --by
	char by[QUERY_KEY_NAME_MAX + 1]; // its name
	const char *remote_key;          // LangSmith's metadata key
	int page;                        // runs per page asked for
	int64_t since_us, until_us, cutoff_us;
	int json;
	// LangSmith.
	lsread *ls;
	char session[40];
	int v1; // v2 answered 404 or 405
	int grouped_refused;
	// Store.
	store *st;
	// Totals.
	group *groups;
	size_t n_groups, cap_groups;
	side remote_total;
	int remote_total_known;
	// Runs.
	uint8_t (*ids)[16]; // matched ids, sorted after the remote walk
	size_t n_ids, cap_ids;
	uint64_t remote_runs, local_runs, matched;
	uint64_t n_kind[K_COUNT];
	uint64_t n_field[TF_COUNT]; // token mismatches per field
	model_diff models[MODELS_CAP];
	size_t n_models;
	uint64_t models_more; // price differences of models past the cap
	uint64_t collector_drops, exporter_drops;
	int exporter_drops_known;
	// Output.
	FILE *csv;
	FILE *pend; // rows of missing runs, until their cause is known
	int csv_err;
	char err[LSREAD_ERR_MAX + 256];
} recon;

// ---- small helpers ----

static void
fmt_time(int64_t us, char out[LLMCOST_LS_TIME_STR_LEN])
{
	llmcost_ls_time_format(us, 1, out);
}

static char *
fmt_usd(store_i128 pusd, char *buf, size_t n)
{
	return (report_fmt_usd(pusd, 6, buf, n));
}

static const char *
by_name(const recon *r)
{
	return (r->by);
}

// The number of a JSON token count (integer, a whole real, or null/absent
// as 0); *ok 0 when it is something else.
static int64_t
json_count(const json_t *v, int *ok)
{
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (json_is_integer(v)) {
		return ((int64_t) json_integer_value(v));
	}
	if (json_is_real(v)) {
		return ((int64_t) json_real_value(v));
	}
	*ok = 0;
	return (0);
}

// A cost as LangSmith serves it; -1 in *present when it is malformed.
static int64_t
json_cost(const json_t *v, int *present)
{
	int64_t pico = 0;

	if (llmcost_ls_cost_parse(v, &pico, present) != 0) {
		*present = -1;
		return (0);
	}
	return (*present ? pico : 0);
}

// |a - b| within COST_TOL_PPM of the larger, or one pico-USD.
static int
cost_close(int64_t a, int64_t b)
{
	store_i128 d = (store_i128) a - b;
	store_i128 m = a < 0 ? -(store_i128) a : a;
	store_i128 mb = b < 0 ? -(store_i128) b : b;

	if (d < 0) {
		d = -d;
	}
	if (mb > m) {
		m = mb;
	}
	return (d <= 1 || d * 1000000 <= m * COST_TOL_PPM);
}

static void
csv_field(FILE *f, const char *s)
{
	if (s == NULL) {
		return;
	}
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"') {
			fputc('"', f);
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

// One discrepancy row: kind, run id, start, group, model, field, here,
// LangSmith, explained, note.
static void
csv_row(recon *r, kind k, const uint8_t id[16], int64_t start_us,
    const char *grp, const char *model, const char *field, const char *here,
    const char *there, int explained, const char *note)
{
	char ids[LLMCOST__UUID_STR_LEN], t[LLMCOST_LS_TIME_STR_LEN];

	if (r->csv == NULL) {
		return;
	}
	// Whether a missing run is explained is known at the end: its row
	// waits in a temporary file, without the last two columns.
	FILE *f
	    = k == K_MISSING_REMOTE || k == K_MISSING_LOCAL ? r->pend : r->csv;
	llmcost__uuid_str(id, ids);
	fmt_time(start_us, t);
	fprintf(f, "%s,%s,%s,", kind_name[k], ids, t);
	csv_field(f, grp);
	fputc(',', f);
	csv_field(f, model);
	fprintf(f, ",%s,%s,%s", field, here, there);
	if (f == r->pend) {
		fputc('\n', f);
		return;
	}
	fprintf(f, ",%s,", explained ? "yes" : "no");
	csv_field(f, note);
	if (fputc('\n', f) == EOF) {
		r->csv_err = 1;
	}
}

// Appends the rows of missing runs with their verdict.
static void
csv_finish(recon *r, int remote_explained, int local_explained)
{
	char note[2][128];
	char line[4096];

	snprintf(note[0], sizeof(note[0]),
	    "%s%" PRIu64 " LangSmith runs reported dropped by exporters",
	    r->exporter_drops_known ? "" : "no counts: ", r->exporter_drops);
	snprintf(note[1], sizeof(note[1]),
	    "%" PRIu64 " calls reported dropped by clients",
	    r->collector_drops);
	if (fflush(r->pend) != 0 || fseek(r->pend, 0, SEEK_SET) != 0) {
		r->csv_err = 1;
		return;
	}
	while (fgets(line, sizeof(line), r->pend) != NULL) {
		size_t n = strlen(line);
		int remote = strncmp(line, kind_name[K_MISSING_REMOTE],
		                 strlen(kind_name[K_MISSING_REMOTE]))
		    == 0;
		if (n > 0 && line[n - 1] == '\n') {
			line[--n] = '\0';
		}
		fprintf(r->csv, "%s,%s,%s\n", line,
		    (remote ? remote_explained : local_explained) ? "yes"
		                                                  : "no",
		    note[remote ? 0 : 1]);
	}
	if (ferror(r->pend) || ferror(r->csv)) {
		r->csv_err = 1;
	}
}

// ---- groups ----

static int
group_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return (a == b ? 0 : a == NULL ? -1 : 1);
	}
	return (strcmp(a, b));
}

// The group called name (NULL: untagged), added when absent.  Returns
// NULL when out of memory or past GROUPS_CAP.
static group *
group_get(recon *r, const char *name, size_t len)
{
	char key[NAME_MAX_];
	size_t lo = 0, hi = r->n_groups;

	if (name != NULL) {
		len = len < sizeof(key) - 1 ? len : sizeof(key) - 1;
		memcpy(key, name, len);
		key[len] = '\0';
		name = key;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = group_cmp(r->groups[mid].name, name);
		if (c == 0) {
			return (&r->groups[mid]);
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (r->n_groups >= GROUPS_CAP) {
		return (NULL);
	}
	if (r->n_groups == r->cap_groups) {
		size_t c = r->cap_groups ? 2 * r->cap_groups : 16;
		group *ng = realloc(r->groups, c * sizeof(*ng));
		if (ng == NULL) {
			return (NULL);
		}
		r->groups = ng;
		r->cap_groups = c;
	}
	char *copy = NULL;
	if (name != NULL && (copy = strdup(name)) == NULL) {
		return (NULL);
	}
	memmove(&r->groups[lo + 1], &r->groups[lo],
	    (r->n_groups - lo) * sizeof(*r->groups));
	memset(&r->groups[lo], 0, sizeof(*r->groups));
	r->groups[lo].name = copy;
	r->n_groups++;
	return (&r->groups[lo]);
}

// ---- LangSmith: project, stats ----

static int
resolve_session(recon *r)
{
	char esc[3 * 512 + 1], path[sizeof(esc) + 64];
	json_t *rep;
	long st;
	int rv;

	if (lsread_escape(r->project, esc, sizeof(esc)) != 0) {
		snprintf(r->err, sizeof(r->err), "--project is too long");
		return (LLMCOST_ETOOBIG);
	}
	snprintf(path, sizeof(path), "/api/v1/sessions?name=%s&limit=1", esc);
	if ((rv = lsread_call(
	         r->ls, path, NULL, &rep, &st, r->err, sizeof(r->err)))
	    != 0) {
		return (rv);
	}
	json_t *first = json_is_array(rep) ? json_array_get(rep, 0) : NULL;
	const char *id = json_string_value(json_object_get(first, "id"));
	uint8_t u[16];
	if (id == NULL || llmcost__uuid_parse(id, u) != 0) {
		snprintf(r->err, sizeof(r->err),
		    json_is_array(rep) && json_array_size(rep) == 0
		        ? "LangSmith has no project named \"%s\""
		        : "LangSmith's answer for project \"%s\" has no id",
		    r->project);
		json_decref(rep);
		return (LLMCOST_ENOTFOUND);
	}
	llmcost__uuid_str(u, r->session);
	json_decref(rep);
	return (0);
}

// A stats body for the window; filter may be NULL.
static json_t *
stats_body(const recon *r, const char *filter, int grouped)
{
	char from[LLMCOST_LS_TIME_STR_LEN], to[LLMCOST_LS_TIME_STR_LEN];

	fmt_time(r->since_us, from);
	fmt_time(r->cutoff_us - 1, to);
	json_t *b = json_pack("{s:[s],s:s,s:s,s:s,s:[s,s,s,s,s]}", "session",
	    r->session, "run_type", "llm", "start_time", from, "end_time", to,
	    "select", "run_count", "prompt_tokens", "completion_tokens",
	    "total_tokens", "total_cost");
	if (b != NULL && filter != NULL) {
		json_object_set_new(b, "filter", json_string(filter));
	}
	if (b != NULL && grouped) {
		json_object_set_new(b, "group_by",
		    json_pack("{s:s,s:s,s:i}", "attribute", "metadata", "path",
		        r->remote_key, "max_groups", MAX_GROUPS));
	}
	return (b);
}

// One RunStats object into *s.  Returns 0 or LLMCOST_EPROTO.
static int
stats_read(const json_t *o, side *s)
{
	int ok = 1, present;
	int64_t c;

	if (!json_is_object(o)) {
		return (LLMCOST_EPROTO);
	}
	s->calls = (uint64_t) json_count(json_object_get(o, "run_count"), &ok);
	s->in
	    = (uint64_t) json_count(json_object_get(o, "prompt_tokens"), &ok);
	s->out = (uint64_t) json_count(
	    json_object_get(o, "completion_tokens"), &ok);
	c = json_cost(json_object_get(o, "total_cost"), &present);
	s->cost = c;
	s->known = 1;
	return (ok && present >= 0 ? 0 : LLMCOST_EPROTO);
}

static int
stats_call(recon *r, json_t *body, json_t **rep, long *st)
{
	int rv;

	if (body == NULL) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		return (LLMCOST_ENOMEM);
	}
	rv = lsread_call(r->ls, "/api/v1/runs/stats", body, rep, st, r->err,
	    sizeof(r->err));
	json_decref(body);
	return (rv);
}

// Escapes v for a double-quoted string of LangSmith's filter language.
static int
filter_quote(const char *v, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *v != '\0'; v++) {
		if (o + 3 >= outsz) {
			return (LLMCOST_ETOOBIG);
		}
		if (*v == '"' || *v == '\\') {
			out[o++] = '\\';
		}
		out[o++] = *v;
	}
	out[o] = '\0';
	return (0);
}

// 1 when a stats answer is a map from group to RunStats (every value an
// object), not one RunStats (whose values are numbers).
static int
is_group_map(const json_t *rep)
{
	const char *k;
	json_t *v;

	if (!json_is_object(rep)) {
		return (0);
	}
	json_object_foreach((json_t *) rep, k, v)
	{
		if (!json_is_object(v)) {
			return (0);
		}
	}
	return (1);
}

static int
remote_totals(recon *r)
{
	json_t *rep;
	long st;
	int rv;

	// The whole window, ungrouped: the total, and what is left for
	// runs without the key.
	if ((rv = stats_call(r, stats_body(r, NULL, 0), &rep, &st)) != 0) {
		return (rv);
	}
	rv = stats_read(rep, &r->remote_total);
	json_decref(rep);
	if (rv != 0) {
		snprintf(r->err, sizeof(r->err),
		    "/api/v1/runs/stats: an answer that is not RunStats");
		return (rv);
	}
	r->remote_total_known = 1;
	rv = stats_call(r, stats_body(r, NULL, 1), &rep, &st);
	if (rv == 0 && !is_group_map(rep)) {
		// group_by ignored (one RunStats back): as if refused.
		json_decref(rep);
		rv = LLMCOST_EPROTO;
		st = 400;
	}
	if (rv == 0) {
		const char *k;
		json_t *v;
		json_object_foreach(rep, k, v)
		{
			group *g = group_get(r, k, strlen(k));
			if (g == NULL || stats_read(v, &g->s[1]) != 0) {
				json_decref(rep);
				snprintf(r->err, sizeof(r->err),
				    "/api/v1/runs/stats: group \"%s\" is not "
				    "RunStats (or out of memory)",
				    k);
				return (LLMCOST_EPROTO);
			}
		}
		if (json_object_size(rep) < MAX_GROUPS) {
			// Every group with runs was listed: the rest are
			// known to have none.
			for (size_t i = 0; i < r->n_groups; i++) {
				r->groups[i].s[1].known = 1;
			}
		}
		json_decref(rep);
	} else if (rv == LLMCOST_EPROTO && (st == 400 || st == 422)) {
		r->grouped_refused = 1;
	} else {
		return (rv);
	}
	// Groups not covered by the grouped answer: one filtered call each.
	for (size_t i = 0; i < r->n_groups; i++) {
		group *g = &r->groups[i];
		char q[2 * NAME_MAX_], k[2 * LLMCOST_MAX_KEY],
		    f[5 * NAME_MAX_];
		if (g->s[1].known || g->name == NULL) {
			continue;
		}
		if (filter_quote(g->name, q, sizeof(q)) != 0
		    || filter_quote(r->remote_key, k, sizeof(k)) != 0) {
			continue;
		}
		snprintf(f, sizeof(f),
		    "and(eq(metadata_key, \"%s\"), eq(metadata_value, "
		    "\"%s\"))",
		    k, q);
		if ((rv = stats_call(r, stats_body(r, f, 0), &rep, &st))
		    != 0) {
			return (rv);
		}
		rv = stats_read(rep, &g->s[1]);
		json_decref(rep);
		if (rv != 0) {
			snprintf(r->err, sizeof(r->err),
			    "/api/v1/runs/stats: an answer that is not "
			    "RunStats");
			return (rv);
		}
	}
	// Runs without the key: the total less every group.
	side rest = r->remote_total;
	for (size_t i = 0; i < r->n_groups; i++) {
		const side *s = &r->groups[i].s[1];
		if (r->groups[i].name == NULL) {
			continue;
		}
		rest.calls -= s->calls < rest.calls ? s->calls : rest.calls;
		rest.in -= s->in < rest.in ? s->in : rest.in;
		rest.out -= s->out < rest.out ? s->out : rest.out;
		rest.cost -= s->cost;
	}
	// An untagged group when either side has such runs.
	int local_untagged = r->n_groups > 0 && r->groups[0].name == NULL;
	if (rest.calls > 0 || local_untagged) {
		group *u = group_get(r, NULL, 0);
		if (u == NULL) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			return (LLMCOST_ENOMEM);
		}
		u->s[1] = rest;
	}
	return (0);
}

// ---- run by run ----

typedef struct rrun {
	uint8_t id[16];
	int64_t start_us;
	int64_t tok[TF_COUNT]; // LangSmith's count of each compared field
	int64_t cost, prompt_cost, completion_cost;
	int priced;
	char group[NAME_MAX_];
	int has_group;
	char model[LLMCOST_MAX_MODEL + 1];
} rrun;

// The token details of one side, {"raw": {...}} in v2, plain in v1.
static const json_t *
details(const json_t *v)
{
	const json_t *raw = json_object_get(v, "raw");
	return (json_is_object(raw) ? raw : v);
}

static int
parse_remote(const recon *r, const json_t *o, rrun *x)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *start
	    = json_string_value(json_object_get(o, "start_time"));
	const json_t *meta = json_object_get(o, "metadata");
	const json_t *din, *dout;
	int ok = 1, p1, p2, p3;

	memset(x, 0, sizeof(*x));
	if (id == NULL || llmcost__uuid_parse(id, x->id) != 0 || start == NULL
	    || llmcost_ls_time_parse_str(start, strlen(start), &x->start_us)
	        != 0) {
		return (LLMCOST_EPROTO);
	}
	if (meta == NULL) { // v1: metadata inside extra
		meta
		    = json_object_get(json_object_get(o, "extra"), "metadata");
	}
	x->tok[TF_INPUT]
	    = json_count(json_object_get(o, "prompt_tokens"), &ok);
	x->tok[TF_OUTPUT]
	    = json_count(json_object_get(o, "completion_tokens"), &ok);
	din = details(json_object_get(o, "prompt_token_details"));
	dout = details(json_object_get(o, "completion_token_details"));
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		const char *k = llmcost__bucket_langsmith_key[b];
		if (k != NULL) {
			x->tok[b] = json_count(
			    json_object_get(
			        llmcost__bucket_is_output[b] ? dout : din, k),
			    &ok);
		}
	}
	x->cost = json_cost(json_object_get(o, "total_cost"), &p1);
	x->prompt_cost = json_cost(json_object_get(o, "prompt_cost"), &p2);
	x->completion_cost
	    = json_cost(json_object_get(o, "completion_cost"), &p3);
	if (!ok || p1 < 0 || p2 < 0 || p3 < 0) {
		return (LLMCOST_EPROTO);
	}
	x->priced = p1 > 0;
	const char *g
	    = json_string_value(json_object_get(meta, r->remote_key));
	if (g != NULL) {
		snprintf(x->group, sizeof(x->group), "%s", g);
		x->has_group = 1;
	}
	const char *m
	    = json_string_value(json_object_get(meta, "ls_model_name"));
	snprintf(x->model, sizeof(x->model), "%s", m ? m : "");
	return (0);
}

// A local interned string into buf (empty when absent).
static const char *
local_str(store_rtxn *t, uint32_t id, char *buf, size_t n)
{
	const char *s;
	size_t len;

	buf[0] = '\0';
	if (id != 0 && store_string(t, id, &s, &len) == 0) {
		len = len < n - 1 ? len : n - 1;
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return (buf);
}

// The interned string a run has for the group key, when it is a roll-up
// dimension; 0 otherwise (a metadata key's value is LangSmith's copy).
static uint32_t
local_group_id(const recon *r, const store_run *run)
{
	if (r->key.kind != QUERY_KEY_DIM) {
		return (0);
	}
	switch (r->key.dim) {
	case REPORT_BY_FEATURE:
		return (run->feature);
	case REPORT_BY_ENV:
		return (run->env);
	case REPORT_BY_MODEL:
		return (run->model);
	default:
		return (run->provider);
	}
}

static void
local_field(const store_run *run, int64_t tok[TF_COUNT])
{
	tok[TF_INPUT] = tok[TF_OUTPUT] = 0;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		tok[b] = (int64_t) run->usage[b];
		tok[llmcost__bucket_is_output[b] ? TF_OUTPUT : TF_INPUT]
		    += (int64_t) run->usage[b];
	}
}

static const char *
field_name(int f)
{
	return (f == TF_INPUT    ? "input_tokens"
	        : f == TF_OUTPUT ? "output_tokens"
	                         : llmcost__bucket_key[f]);
}

static model_diff *
model_get(recon *r, const char *provider, const char *model, uint64_t start_ns)
{
	for (size_t i = 0; i < r->n_models; i++) {
		if (strcmp(r->models[i].provider, provider) == 0
		    && strcmp(r->models[i].model, model) == 0) {
			return (&r->models[i]);
		}
	}
	if (r->n_models == MODELS_CAP) {
		return (NULL);
	}
	model_diff *m = &r->models[r->n_models++];
	const price_entry *e;
	const price_set *ps;
	memset(m, 0, sizeof(*m));
	snprintf(m->provider, sizeof(m->provider), "%s", provider);
	snprintf(m->model, sizeof(m->model), "%s", model);
	m->our_in = m->our_out = -1;
	if (prices_lookup(
	        provider, strlen(provider), model, strlen(model), start_ns, &e)
	        == 0
	    && prices_set_for(e, LLMCOST_TIER_STANDARD, 0, &ps) == 0) {
		// The standard list price (the base set of the entry).
		m->our_in = ps->pusd[LLMCOST_IN_UNCACHED];
		m->our_out = ps->pusd[LLMCOST_OUT_TEXT];
	}
	return (m);
}

// Compares one LangSmith run with ours.
static void
compare_run(recon *r, store_rtxn *t, const rrun *x, const store_run *run)
{
	char grp[NAME_MAX_], model[LLMCOST_MAX_MODEL + 1];
	char prov[LLMCOST_MAX_PROVIDER + 1], a[64], b[64];
	int64_t tok[TF_COUNT];
	int tokens_differ = 0;

	if (r->key.kind == QUERY_KEY_DIM) {
		local_str(t, local_group_id(r, run), grp, sizeof(grp));
	} else {
		snprintf(grp, sizeof(grp), "%s", x->has_group ? x->group : "");
	}
	local_str(t, run->model, model, sizeof(model));
	local_str(t, run->provider, prov, sizeof(prov));
	local_field(run, tok);
	for (int f = 0; f < TF_COUNT; f++) {
		if (f < LLMCOST_BUCKET_COUNT
		    && llmcost__bucket_langsmith_key[f] == NULL) {
			continue; // counted in the totals only
		}
		if (tok[f] != x->tok[f]) {
			r->n_field[f]++;
			tokens_differ = 1;
			snprintf(a, sizeof(a), "%" PRId64, tok[f]);
			snprintf(b, sizeof(b), "%" PRId64, x->tok[f]);
			csv_row(r, K_TOKENS, x->id, x->start_us, grp, model,
			    field_name(f), a, b, 0,
			    "token counts differ (usage changed after the "
			    "run was sent?)");
		}
	}
	if (tokens_differ) {
		r->n_kind[K_TOKENS]++;
		return;
	}
	int local_priced = !(run->flags & STORE_RUN_UNPRICED);
	fmt_usd(run->cost_pusd, a, sizeof(a));
	fmt_usd(x->cost, b, sizeof(b));
	if (!x->priced && local_priced) {
		r->n_kind[K_UNPRICED_REMOTE]++;
		csv_row(r, K_UNPRICED_REMOTE, x->id, x->start_us, grp, model,
		    "cost", a, "", 1, "LangSmith has no price for the model");
		return;
	}
	if (x->priced && !local_priced) {
		r->n_kind[K_UNPRICED_LOCAL]++;
		csv_row(r, K_UNPRICED_LOCAL, x->id, x->start_us, grp, model,
		    "cost", a, b, 1, "llmcost has no price for the model");
		return;
	}
	if (!x->priced || cost_close(run->cost_pusd, x->cost)) {
		return;
	}
	r->n_kind[K_PRICE]++;
	model_diff *m = model_get(r, prov, model, run->start_ns);
	if (m == NULL) {
		r->models_more++;
	} else {
		m->runs++;
		m->local_cost += run->cost_pusd;
		m->remote_cost += x->cost;
		m->remote_in_cost += x->prompt_cost;
		m->remote_out_cost += x->completion_cost;
		m->in_tokens += (uint64_t) tok[TF_INPUT];
		m->out_tokens += (uint64_t) tok[TF_OUTPUT];
	}
	// This run's prices, USD per 1M tokens (pico-USD per token / 1e6):
	// LangSmith's from its split cost, ours from the price table.
	char note[256];
	int n = snprintf(note, sizeof(note),
	    "same tokens, another price: LangSmith $%.4f / $%.4f per 1M "
	    "input / output tokens",
	    tok[TF_INPUT]
	        ? (double) x->prompt_cost / (double) tok[TF_INPUT] / 1e6
	        : 0.0,
	    tok[TF_OUTPUT]
	        ? (double) x->completion_cost / (double) tok[TF_OUTPUT] / 1e6
	        : 0.0);
	if (m != NULL && m->our_in >= 0 && m->our_out >= 0 && n > 0
	    && (size_t) n < sizeof(note)) {
		snprintf(note + n, sizeof(note) - (size_t) n,
		    ", llmcost $%.4f / $%.4f", (double) m->our_in / 1e6,
		    (double) m->our_out / 1e6);
	}
	csv_row(
	    r, K_PRICE, x->id, x->start_us, grp, model, "cost", a, b, 1, note);
}

static int
ids_push(recon *r, const uint8_t id[16])
{
	if (r->n_ids == r->cap_ids) {
		size_t c = r->cap_ids ? 2 * r->cap_ids : 4096;
		void *n = realloc(r->ids, c * 16);
		if (n == NULL) {
			return (LLMCOST_ENOMEM);
		}
		r->ids = n;
		r->cap_ids = c;
	}
	memcpy(r->ids[r->n_ids++], id, 16);
	return (0);
}

// One page of LangSmith's runs against the store.
static int
walk_page(recon *r, const json_t *items)
{
	store_rtxn *t;
	size_t i;
	json_t *o;
	int rv;

	if ((rv = store_read_begin(r->st, &t)) != 0) {
		snprintf(r->err, sizeof(r->err), "cannot read the store: %s",
		    llmcost_strerror(rv));
		return (rv);
	}
	json_array_foreach(items, i, o)
	{
		rrun x;
		store_run run;
		if (parse_remote(r, o, &x) != 0) {
			snprintf(r->err, sizeof(r->err),
			    "LangSmith's run %zu of a page is malformed", i);
			store_read_end(t);
			return (LLMCOST_EPROTO);
		}
		r->remote_runs++;
		if (store_get_run(t, x.id, &run) != 0) {
			char a[64];
			r->n_kind[K_MISSING_LOCAL]++;
			snprintf(a, sizeof(a), "%" PRId64 "+%" PRId64,
			    x.tok[TF_INPUT], x.tok[TF_OUTPUT]);
			csv_row(r, K_MISSING_LOCAL, x.id, x.start_us,
			    x.has_group ? x.group : NULL, x.model, "run", "",
			    a, 0, "");
			continue;
		}
		r->matched++;
		if ((rv = ids_push(r, x.id)) != 0) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			store_read_end(t);
			return (rv);
		}
		compare_run(r, t, &x, &run);
	}
	store_read_end(t);
	return (0);
}

static json_t *
query_body(const recon *r, const char *cursor)
{
	char from[LLMCOST_LS_TIME_STR_LEN], to[LLMCOST_LS_TIME_STR_LEN];
	json_t *b;

	fmt_time(r->since_us, from);
	fmt_time(r->cutoff_us - 1, to);
	if (!r->v1) {
		b = json_pack("{s:[s],s:s,s:s,s:s,s:i,s:s,s:[s,s,s,s,s,s,s,s,"
		              "s,s]}",
		    "project_ids", r->session, "min_start_time", from,
		    "max_start_time", to, "run_type", "LLM", "page_size",
		    r->page < PAGE_V2 ? r->page : PAGE_V2, "sort_order", "ASC",
		    "selects", "ID", "START_TIME", "METADATA", "PROMPT_TOKENS",
		    "COMPLETION_TOKENS", "PROMPT_TOKEN_DETAILS",
		    "COMPLETION_TOKEN_DETAILS", "PROMPT_COST",
		    "COMPLETION_COST", "TOTAL_COST");
	} else {
		b = json_pack("{s:[s],s:s,s:s,s:s,s:i,s:s,s:[s,s,s,s,s,s,s,s,"
		              "s,s]}",
		    "session", r->session, "start_time", from, "end_time", to,
		    "run_type", "llm", "limit",
		    r->page < PAGE_V1 ? r->page : PAGE_V1, "order", "asc",
		    "select", "id", "start_time", "extra", "prompt_tokens",
		    "completion_tokens", "prompt_token_details",
		    "completion_token_details", "prompt_cost",
		    "completion_cost", "total_cost");
	}
	if (b != NULL && cursor != NULL) {
		json_object_set_new(b, "cursor", json_string(cursor));
	}
	return (b);
}

static int
walk_remote(recon *r)
{
	char *cursor = NULL;
	int rv = 0;

	for (;;) {
		json_t *body = query_body(r, cursor), *rep = NULL;
		const char *path
		    = r->v1 ? "/api/v1/runs/query" : "/api/v2/runs/query";
		long st;

		if (body == NULL) {
			rv = LLMCOST_ENOMEM;
			snprintf(r->err, sizeof(r->err), "out of memory");
			break;
		}
		rv = lsread_call(
		    r->ls, path, body, &rep, &st, r->err, sizeof(r->err));
		json_decref(body);
		if (rv == LLMCOST_EPROTO && !r->v1 && cursor == NULL
		    && (st == 404 || st == 405)) {
			r->v1 = 1; // an older LangSmith: v1 from the start
			continue;
		}
		if (rv != 0) {
			break;
		}
		const json_t *items
		    = json_object_get(rep, r->v1 ? "runs" : "items");
		const char *next = r->v1
		    ? json_string_value(json_object_get(
		        json_object_get(rep, "cursors"), "next"))
		    : json_string_value(json_object_get(rep, "next_cursor"));
		int more = r->v1
		    ? next != NULL
		    : json_is_true(json_object_get(rep, "has_more"))
		        && next != NULL;
		if (!json_is_array(items)) {
			snprintf(r->err, sizeof(r->err),
			    "%s: an answer without its runs", path);
			json_decref(rep);
			rv = LLMCOST_EPROTO;
			break;
		}
		if ((rv = walk_page(r, items)) != 0) {
			json_decref(rep);
			break;
		}
		size_t got = json_array_size(items);
		free(cursor);
		cursor = more ? strdup(next) : NULL;
		json_decref(rep);
		if (!more || got == 0) {
			break;
		}
		if (cursor == NULL) {
			rv = LLMCOST_ENOMEM;
			snprintf(r->err, sizeof(r->err), "out of memory");
			break;
		}
	}
	free(cursor);
	return (rv);
}

static int
id_cmp(const void *a, const void *b)
{
	return (memcmp(a, b, 16));
}

typedef struct lctx {
	recon *r;
	store_rtxn *t;
} lctx;

// Every local run of the window: the runs LangSmith lacks (not among the
// sorted matched ids).
static int
local_run(void *arg, const uint8_t *id, const store_run *run)
{
	lctx *c = arg;
	recon *r = c->r;
	char grp[NAME_MAX_], model[LLMCOST_MAX_MODEL + 1], a[64];
	int64_t tok[TF_COUNT];
	uint32_t gid = local_group_id(r, run);

	r->local_runs++;
	if (r->n_ids > 0
	    && bsearch(id, r->ids, r->n_ids, 16, id_cmp) != NULL) {
		return (0);
	}
	r->n_kind[K_MISSING_REMOTE]++;
	local_field(run, tok);
	local_str(c->t, gid, grp, sizeof(grp));
	local_str(c->t, run->model, model, sizeof(model));
	snprintf(a, sizeof(a), "%" PRId64 "+%" PRId64, tok[TF_INPUT],
	    tok[TF_OUTPUT]);
	csv_row(r, K_MISSING_REMOTE, id, (int64_t) (run->start_ns / 1000),
	    gid ? grp : NULL, model, "run", a, "", 0, "");
	return (0);
}

static int
walk_local(recon *r)
{
	lctx c = { .r = r };
	int rv;

	if (r->n_ids > 0) { // none: ids is NULL, which qsort must not get
		qsort(r->ids, r->n_ids, 16, id_cmp);
	}
	if ((rv = store_read_begin(r->st, &c.t)) != 0) {
		snprintf(r->err, sizeof(r->err), "cannot read the store: %s",
		    llmcost_strerror(rv));
		return (rv);
	}
	// Drops are filed under the hour they were reported in, which may
	// follow the window: look one hour past it.
	uint32_t h0 = (uint32_t) (r->since_us / 3600000000LL);
	uint32_t h1
	    = (uint32_t) ((r->cutoff_us + 3599999999LL) / 3600000000LL) + 1;
	rv = store_scan(c.t, (uint64_t) r->since_us * 1000,
	    (uint64_t) r->cutoff_us * 1000, local_run, &c);
	if (rv == 0) {
		rv = store_drops(c.t, h0, h1, &r->collector_drops);
	}
	if (rv == 0) {
		rv = store_exporter_drops(c.t, h0, h1, &r->exporter_drops);
		r->exporter_drops_known = rv == 0;
		rv = rv == LLMCOST_ENOTFOUND ? 0 : rv;
	}
	store_read_end(c.t);
	if (rv != 0) {
		snprintf(r->err, sizeof(r->err), "cannot read the store: %s",
		    llmcost_strerror(rv));
	}
	return (rv);
}

// The totals here, per group, from the query engine over the same
// window: exact to the second, from the rollups where whole hours allow.
static int
local_totals(recon *r)
{
	query_spec q;
	query_result *res;
	int rv;

	query_spec_init(&q);
	q.by[0] = r->key;
	q.n_by = 1;
	q.from_ns = (uint64_t) r->since_us * 1000;
	q.to_ns = (uint64_t) r->cutoff_us * 1000;
	q.max_groups = GROUPS_CAP;
	if (q.from_ns >= q.to_ns) {
		return (0); // nothing has settled
	}
	if ((rv = query_run(r->st, &q, &res, r->err, sizeof(r->err))) != 0) {
		return (rv);
	}
	if (res->capped) {
		snprintf(r->err, sizeof(r->err),
		    "more than %u groups by %s: group by a coarser key",
		    GROUPS_CAP, r->by);
		query_result_free(res);
		return (LLMCOST_ETOOBIG);
	}
	for (size_t i = 0; i < res->n_rows; i++) {
		const query_row *row = &res->rows[i];
		const char *k = row->keys[0];
		group *g = group_get(r, k, k != NULL ? strlen(k) : 0);
		if (g == NULL) {
			query_result_free(res);
			snprintf(r->err, sizeof(r->err), "out of memory");
			return (LLMCOST_ENOMEM);
		}
		g->s[0].calls += row->sum.calls;
		g->s[0].in += row->sum.input_tokens;
		g->s[0].out += row->sum.output_tokens;
		g->s[0].cost += row->sum.cost_pusd;
		g->s[0].known = 1;
	}
	query_result_free(res);
	return (0);
}

// ---- output ----

static const char *
verdict(const group *g, double *pct)
{
	const side *l = &g->s[0], *x = &g->s[1];
	store_i128 d = x->cost - l->cost;
	store_i128 base = l->cost != 0 ? l->cost : x->cost;

	*pct = base != 0 ? 100.0 * (double) d / (double) base : 0.0;
	if (!x->known) {
		return ("not in LangSmith's answer");
	}
	if (l->calls != x->calls || l->in != x->in || l->out != x->out) {
		if (*pct > 20.0 || *pct < -20.0) {
			return ("differs: see the runs below");
		}
		return ("calls or tokens differ: see the runs below");
	}
	if (*pct <= 5.0 && *pct >= -5.0) {
		return ("fine");
	}
	if (*pct <= 20.0 && *pct >= -20.0) {
		return ("differs (5-20 %)");
	}
	return ("over 20 %: check the price table");
}

// Runs missing in LangSmith without a cause: all of them unless the
// exporters reported dropping at least as many.
static uint64_t
unexplained_remote(const recon *r)
{
	uint64_t n = r->n_kind[K_MISSING_REMOTE];

	return (r->exporter_drops_known && n <= r->exporter_drops ? 0 : n);
}

// Runs missing here without a cause, likewise with the clients' drops.
static uint64_t
unexplained_local(const recon *r)
{
	uint64_t n = r->n_kind[K_MISSING_LOCAL];

	return (n <= r->collector_drops ? 0 : n);
}

static int
unexplained(const recon *r, uint64_t *out)
{
	uint64_t n = r->n_kind[K_TOKENS] + unexplained_remote(r)
	    + unexplained_local(r);

	*out = n;
	return (n > 0 ? RECON_UNEXPLAINED : RECON_OK);
}

static void
print_text(const recon *r, int code, uint64_t unexp)
{
	char f[LLMCOST_LS_TIME_STR_LEN], c[LLMCOST_LS_TIME_STR_LEN];
	char u[LLMCOST_LS_TIME_STR_LEN];
	char a[64], b[64];

	fmt_time(r->since_us, f);
	fmt_time(r->until_us, u);
	fmt_time(r->cutoff_us, c);
	printf("Reconciling LangSmith project \"%s\" with the collector\n"
	       "window %s to %s",
	    r->project, f, u);
	if (r->cutoff_us < r->until_us) {
		printf(" (runs from %s on are not settled yet: left out)", c);
	}
	printf("\n\nTotals by %s (here / LangSmith)%s\n", by_name(r),
	    r->grouped_refused
	        ? " [LangSmith refused group_by: one query per group]"
	        : "");
	for (size_t i = 0; i < r->n_groups; i++) {
		const group *g = &r->groups[i];
		double pct;
		const char *v = verdict(g, &pct);
		printf("  %-20s calls %" PRIu64 " / %" PRIu64
		       "  input %" PRIu64 " / %" PRIu64 "  output %" PRIu64
		       " / %" PRIu64 "  cost $%s / $%s (%+.1f %%)  %s\n",
		    g->name ? g->name : "untagged", g->s[0].calls,
		    g->s[1].calls, g->s[0].in, g->s[1].in, g->s[0].out,
		    g->s[1].out, fmt_usd(g->s[0].cost, a, sizeof(a)),
		    fmt_usd(g->s[1].cost, b, sizeof(b)), pct, v);
	}
	printf("\nRun by run: %" PRIu64 " runs here, %" PRIu64
	       " in LangSmith, %" PRIu64 " matched by id%s\n",
	    r->local_runs, r->remote_runs, r->matched,
	    r->v1 ? " (v1 query: v2 is not offered)" : "");
	if (r->n_kind[K_MISSING_REMOTE] > 0) {
		printf("  %" PRIu64 " %s: ", r->n_kind[K_MISSING_REMOTE],
		    kind_what[K_MISSING_REMOTE]);
		if (!r->exporter_drops_known) {
			printf("unexplained (no exporter drop counts "
			       "reported)\n");
		} else if (r->n_kind[K_MISSING_REMOTE] <= r->exporter_drops) {
			printf("explained: the exporters reported %" PRIu64
			       " LangSmith runs dropped\n",
			    r->exporter_drops);
		} else {
			printf("unexplained: the exporters reported only "
			       "%" PRIu64 " dropped\n",
			    r->exporter_drops);
		}
	}
	if (r->n_kind[K_MISSING_LOCAL] > 0) {
		printf("  %" PRIu64 " %s: %s %" PRIu64 " dropped\n",
		    r->n_kind[K_MISSING_LOCAL], kind_what[K_MISSING_LOCAL],
		    r->n_kind[K_MISSING_LOCAL] <= r->collector_drops
		        ? "explained: clients reported"
		        : "unexplained: clients reported only",
		    r->collector_drops);
	}
	if (r->n_kind[K_TOKENS] > 0) {
		printf("  %" PRIu64 " %s (unexplained):", r->n_kind[K_TOKENS],
		    kind_what[K_TOKENS]);
		for (int fi = 0; fi < TF_COUNT; fi++) {
			if (r->n_field[fi] > 0) {
				printf(" %s %" PRIu64, field_name(fi),
				    r->n_field[fi]);
			}
		}
		printf("\n");
	}
	for (int k = K_PRICE; k < K_COUNT; k++) {
		if (r->n_kind[k] > 0) {
			printf("  %" PRIu64 " %s (explained by the price "
			       "tables)\n",
			    r->n_kind[k], kind_what[k]);
		}
	}
	for (size_t i = 0; i < r->n_models; i++) {
		const model_diff *m = &r->models[i];
		// pico-USD per token is micro-USD per 1M tokens.
		double ls_in = m->in_tokens
		    ? (double) m->remote_in_cost / (double) m->in_tokens / 1e6
		    : 0;
		double ls_out = m->out_tokens ? (double) m->remote_out_cost
		        / (double) m->out_tokens / 1e6
		                              : 0;
		printf("    %s %s: %" PRIu64 " runs, $%s here, $%s in "
		       "LangSmith; LangSmith charges $%.4f / $%.4f per 1M "
		       "input / output tokens",
		    m->provider, m->model, m->runs,
		    fmt_usd(m->local_cost, a, sizeof(a)),
		    fmt_usd(m->remote_cost, b, sizeof(b)), ls_in, ls_out);
		if (m->our_in >= 0 && m->our_out >= 0) {
			printf(", llmcost $%.4f / $%.4f",
			    (double) m->our_in / 1e6,
			    (double) m->our_out / 1e6);
		}
		printf("\n");
	}
	if (r->models_more > 0) {
		printf("    and %" PRIu64 " runs of other models\n",
		    r->models_more);
	}
	if (code == RECON_OK) {
		printf("\nResult: %s\n",
		    r->n_kind[K_MISSING_REMOTE] + r->n_kind[K_MISSING_LOCAL]
		            + r->n_kind[K_PRICE] + r->n_kind[K_UNPRICED_LOCAL]
		            + r->n_kind[K_UNPRICED_REMOTE]
		        ? "every difference is explained"
		        : "no differences");
	} else {
		printf("\nResult: %" PRIu64 " runs differ without a known "
		       "cause\n",
		    unexp);
	}
}

static json_t *
side_json(const side *s)
{
	char a[64];

	return (json_pack("{s:I,s:I,s:I,s:s}", "calls", (json_int_t) s->calls,
	    "input_tokens", (json_int_t) s->in, "output_tokens",
	    (json_int_t) s->out, "cost_usd",
	    report_fmt_usd(s->cost, 12, a, sizeof(a))));
}

static int
print_json(const recon *r, int code, uint64_t unexp)
{
	char f[LLMCOST_LS_TIME_STR_LEN], u[LLMCOST_LS_TIME_STR_LEN];
	char c[LLMCOST_LS_TIME_STR_LEN];
	json_t *groups = json_array(), *kinds = json_object();
	json_t *fields = json_object(), *models = json_array();

	fmt_time(r->since_us, f);
	fmt_time(r->until_us, u);
	fmt_time(r->cutoff_us, c);
	for (size_t i = 0; i < r->n_groups; i++) {
		const group *g = &r->groups[i];
		double pct;
		const char *v = verdict(g, &pct);
		json_array_append_new(groups,
		    json_pack("{s:o,s:o,s:o,s:f,s:s}", "name",
		        g->name ? json_string(g->name) : json_null(), "local",
		        side_json(&g->s[0]), "langsmith",
		        g->s[1].known ? side_json(&g->s[1]) : json_null(),
		        "cost_diff_pct", pct, "verdict", v));
	}
	for (int k = 0; k < K_COUNT; k++) {
		json_object_set_new(kinds, kind_name[k],
		    json_integer((json_int_t) r->n_kind[k]));
	}
	for (int fi = 0; fi < TF_COUNT; fi++) {
		if (r->n_field[fi] > 0) {
			json_object_set_new(fields, field_name(fi),
			    json_integer((json_int_t) r->n_field[fi]));
		}
	}
	for (size_t i = 0; i < r->n_models; i++) {
		const model_diff *m = &r->models[i];
		char a[64], b[64];
		json_array_append_new(models,
		    json_pack("{s:s,s:s,s:I,s:s,s:s}", "provider", m->provider,
		        "model", m->model, "runs", (json_int_t) m->runs,
		        "local_cost_usd",
		        report_fmt_usd(m->local_cost, 12, a, sizeof(a)),
		        "langsmith_cost_usd",
		        report_fmt_usd(m->remote_cost, 12, b, sizeof(b))));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:o,s:{s:I,s:I,"
	                      "s:I,s:o,s:o,s:o},s:{s:I,s:o},s:I,s:i}",
	    "project", r->project, "by", by_name(r), "since", f, "until", u,
	    "settled_until", c, "group_by_refused", r->grouped_refused,
	    "query", r->v1 ? "v1" : "v2", "groups", groups, "runs", "local",
	    (json_int_t) r->local_runs, "langsmith",
	    (json_int_t) r->remote_runs, "matched", (json_int_t) r->matched,
	    "differences", kinds, "token_fields", fields, "price_by_model",
	    models, "drops", "collector", (json_int_t) r->collector_drops,
	    "exporter",
	    r->exporter_drops_known
	        ? json_integer((json_int_t) r->exporter_drops)
	        : json_null(),
	    "unexplained", (json_int_t) unexp, "exit", code);
	if (o == NULL) {
		return (-1);
	}
	int rv = json_dumpf(o, stdout, JSON_INDENT(2));
	json_decref(o);
	printf("\n");
	return (rv);
}

// ---- the command ----

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: llmcost reconcile --project NAME --since WHEN "
	    "[--until WHEN] [OPTION]...\n"
	    "Compare the collector's calls, tokens and costs with "
	    "LangSmith's, per group and\nrun by run, for the same window "
	    "and LLM runs.\n\n"
	    "  --project NAME   the LangSmith project the exporter sends to\n"
	    "  --since WHEN     start of the window: 90m, 24h, 7d, 2w (ago) "
	    "or RFC 3339\n"
	    "  --until WHEN     end of the window, exclusive (default: now)\n"
	    "  --by KEY         group totals by feature (default), env, "
	    "model, provider,\n"
	    "                   user_tier or meta.KEY (any metadata key)\n"
	    "  --settle TIME    leave out runs younger than this (LangSmith "
	    "ingests\n"
	    "                   asynchronously): 90s, 10m (default), 1h, "
	    "1500ms, 0\n"
	    "  --csv FILE       write every difference to FILE as CSV\n"
	    "  --json           print the result as JSON\n"
	    "  --endpoint URL   LangSmith's API (default $LANGSMITH_ENDPOINT, "
	    "else\n"
	    "                   https://api.smith.langchain.com)\n"
	    "  --data-dir DIR   llmcostd's data directory\n"
	    "  --page-size N    runs per LangSmith page (default and "
	    "most: 1000, v1 100)\n"
	    "  --timeout TIME   give up a LangSmith request whose retries "
	    "would take\n"
	    "                   longer: 30s (default), 2m, 1500ms\n"
	    "  -h, --help       show this help\n\n"
	    "The API key comes from LANGSMITH_API_KEY (or LANGCHAIN_API_KEY) "
	    "only; a\nworkspace from LANGSMITH_WORKSPACE_ID.\n"
	    "Exit status: 0 every difference is explained (or there is "
	    "none), 1 LangSmith\nor the store could not be read, 2 bad "
	    "arguments, 3 a difference without a\nknown cause.\n");
}

// "90s", "10m", "1h", "1500ms", "0" into milliseconds.
static int
parse_settle(const char *s, int64_t *ms)
{
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	int64_t unit;

	if (errno != 0 || end == s || n < 0 || n > 366LL * 86400 * 1000) {
		return (-1);
	}
	if (strcmp(end, "ms") == 0) {
		unit = 1;
	} else if (strcmp(end, "s") == 0 || (*end == '\0' && n == 0)) {
		unit = 1000;
	} else if (strcmp(end, "m") == 0) {
		unit = 60000;
	} else if (strcmp(end, "h") == 0) {
		unit = 3600000;
	} else {
		return (-1);
	}
	*ms = (int64_t) n * unit;
	return (*ms / unit == n ? 0 : -1);
}

static const char *
env2(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v == NULL || *v == '\0') {
		v = getenv(b);
	}
	return (v != NULL && *v != '\0' ? v : NULL);
}

static void
recon_free(recon *r)
{
	for (size_t i = 0; i < r->n_groups; i++) {
		free(r->groups[i].name);
	}
	free(r->groups);
	free(r->ids);
	if (r->csv != NULL) {
		fclose(r->csv);
	}
	if (r->pend != NULL) {
		fclose(r->pend);
	}
	lsread_close(r->ls);
	store_close(r->st);
}

int
cmd_reconcile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "project", required_argument, NULL, 'p' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "by", required_argument, NULL, 'b' },
		{ "settle", required_argument, NULL, 'S' },
		{ "csv", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "page-size", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = NULL, *until = NULL, *dirarg = NULL;
	const char *csv = NULL, *endpoint = NULL;
	int64_t settle_ms = DEFAULT_SETTLE;
	int64_t timeout_ms = LSREAD_TIMEOUT_MS;
	recon r;
	int c, rv;

	memset(&r, 0, sizeof(r));
	r.page = PAGE_V2;
	(void) query_key_parse("feature", &r.key);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			r.project = optarg;
			break;
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'b':
			if (query_key_parse(optarg, &r.key) != 0
			    || r.key.kind == QUERY_KEY_TAG
			    || r.key.kind == QUERY_KEY_TAGSET
			    || r.key.kind == QUERY_KEY_TRACE) {
				fprintf(stderr,
				    "llmcost reconcile: --by %s: want "
				    "feature, "
				    "env, model, provider, user_tier or "
				    "meta.KEY\n",
				    optarg);
				return (RECON_USAGE);
			}
			break;
		case 'S':
			if (parse_settle(optarg, &settle_ms) != 0) {
				fprintf(stderr,
				    "llmcost reconcile: --settle %s: want "
				    "e.g. 10m, 90s, 1500ms or 0\n",
				    optarg);
				return (RECON_USAGE);
			}
			break;
		case 'T':
			if (parse_settle(optarg, &timeout_ms) != 0
			    || timeout_ms <= 0 || timeout_ms > UINT32_MAX) {
				fprintf(stderr,
				    "llmcost reconcile: --timeout %s: want "
				    "e.g. 30s, 2m or 1500ms\n",
				    optarg);
				return (RECON_USAGE);
			}
			break;
		case 'c':
			csv = optarg;
			break;
		case 'j':
			r.json = 1;
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'd':
			dirarg = optarg;
			break;
		case 'P':
			r.page = atoi(optarg);
			if (r.page < 1 || r.page > PAGE_V2) {
				fprintf(stderr,
				    "llmcost reconcile: --page-size: want 1 "
				    "to "
				    "%d\n",
				    PAGE_V2);
				return (RECON_USAGE);
			}
			break;
		case 'h':
			usage(stdout);
			return (RECON_OK);
		default:
			fprintf(stderr, "see 'llmcost reconcile --help'\n");
			return (RECON_USAGE);
		}
	}
	if (cli_no_operands("reconcile", argc, argv) != CLI_OK) {
		return (RECON_USAGE);
	}
	query_key_name(&r.key, r.by, sizeof(r.by));
	r.remote_key = remote_key_of(&r.key);
	if (r.project == NULL || *r.project == '\0' || since == NULL) {
		fprintf(stderr,
		    "llmcost reconcile: --project and --since are needed "
		    "(see --help)\n");
		return (RECON_USAGE);
	}
	int64_t now_us = (int64_t) (llmcost__now_ns() / 1000);
	int64_t now = now_us / 1000000, from, to = now;
	int local; // a time without an offset is UTC here
	int bad_since = cli_parse_time(since, now, &from, &local) != 0;
	if (bad_since
	    || (until != NULL
	        && cli_parse_time(until, now, &to, &local) != 0)) {
		fprintf(stderr,
		    "llmcost reconcile: cannot read the time '%s': use 90m, "
		    "24h, 7d, 2w (ago) or RFC 3339 (2026-11-25, "
		    "2026-11-25T08:00:00Z; UTC unless an offset is given)\n",
		    bad_since ? since : until);
		return (RECON_USAGE);
	}
	r.since_us = from * 1000000;
	r.until_us = until != NULL ? to * 1000000 : now_us;
	r.cutoff_us = r.until_us;
	if (now_us - settle_ms * 1000 < r.cutoff_us) {
		r.cutoff_us = now_us - settle_ms * 1000;
	}
	if (r.since_us >= r.until_us || from < 0) {
		fprintf(stderr,
		    "llmcost reconcile: the window is empty (--since must be "
		    "before --until)\n");
		return (RECON_USAGE);
	}
	if (r.cutoff_us < r.since_us) {
		r.cutoff_us = r.since_us; // nothing has settled yet
	}
	const char *key = env2("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY");
	if (key == NULL) {
		fprintf(stderr,
		    "llmcost reconcile: set LANGSMITH_API_KEY (or "
		    "LANGCHAIN_API_KEY) to LangSmith's API key\n");
		return (RECON_USAGE);
	}
	if (endpoint == NULL) {
		endpoint = env2("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT");
	}
	if (endpoint == NULL) {
		endpoint = "https://api.smith.langchain.com";
	}
	rv = lsread_open(
	    &r.ls, endpoint, key, getenv("LANGSMITH_WORKSPACE_ID"));
	if (rv == LLMCOST_ESYSTEM) {
		fprintf(stderr, "llmcost reconcile: %s\n", cli_curl_error());
		return (RECON_FAIL);
	}
	if (rv != 0) {
		fprintf(stderr,
		    "llmcost reconcile: cannot use the endpoint, key or "
		    "workspace given (too long?)\n");
		return (RECON_USAGE);
	}
	lsread_set_timeout(r.ls, (uint32_t) timeout_ms);
	char dir[LLMCOST__PATH_MAX], serr[STORE_ERR_MAX];
	if ((rv = cli_resolve_dir("reconcile", dirarg, dir, sizeof(dir)))
	    != CLI_OK) {
		recon_free(&r);
		return (RECON_USAGE);
	}
	if (store_open(&r.st, dir, STORE_RDONLY, 0, serr, sizeof(serr)) != 0) {
		fprintf(stderr, "llmcost reconcile: %s\n", serr);
		recon_free(&r);
		return (RECON_FAIL);
	}
	if (csv != NULL) {
		if ((r.csv = fopen(csv, "w")) == NULL) {
			fprintf(stderr, "llmcost reconcile: %s: %s\n", csv,
			    strerror(errno));
			recon_free(&r);
			return (RECON_FAIL);
		}
		fprintf(r.csv,
		    "kind,run_id,start_time,%s,model,field,llmcost,"
		    "langsmith,explained,note\n",
		    by_name(&r));
		if ((r.pend = tmpfile()) == NULL) {
			fprintf(stderr,
			    "llmcost reconcile: no temporary file: %s\n",
			    strerror(errno));
			fclose(r.csv);
			recon_free(&r);
			return (RECON_FAIL);
		}
	}
	rv = resolve_session(&r);
	if (rv == 0) {
		rv = walk_remote(&r);
	}
	if (rv == 0) {
		rv = walk_local(&r);
	}
	if (rv == 0) {
		rv = local_totals(&r);
	}
	if (rv == 0) {
		rv = remote_totals(&r);
	}
	if (rv != 0) {
		fprintf(stderr, "llmcost reconcile: %s\n", r.err);
		recon_free(&r);
		return (RECON_FAIL);
	}
	uint64_t unexp;
	int code = unexplained(&r, &unexp);
	if (r.csv != NULL) {
		csv_finish(&r, unexplained_remote(&r) == 0,
		    unexplained_local(&r) == 0);
		int bad = fclose(r.csv) != 0 || r.csv_err;
		r.csv = NULL;
		if (bad) {
			fprintf(stderr,
			    "llmcost reconcile: %s: write failed\n", csv);
			code = RECON_FAIL;
		}
	}
	if (r.json) {
		print_json(&r, code, unexp);
	} else {
		print_text(&r, code, unexp);
	}
	recon_free(&r);
	if (fflush(stdout) != 0) {
		return (RECON_FAIL);
	}
	return (code);
}
