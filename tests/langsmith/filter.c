// DESIGN: LangSmith's run filter language (reference section 3.4), the
// part a reconciling client uses: and, or, not; eq, neq, gt, gte, lt, lte
// on run fields; has on tags and metadata; in; search.  A filter is parsed
// once per request into a small tree (capped in length, nodes and depth)
// and evaluated per run.  Anything not understood is refused with a
// reason (400), never ignored: a client must not believe it filtered when
// it did not.
//
// metadata_key and metadata_value name one key/value pair of a run's
// metadata: and(eq(metadata_key, "feature"), eq(metadata_value, "x"))
// matches a run whose "feature" is "x", not a run with some key
// "feature" and some other key whose value is "x".  So an and() whose
// direct children mention them is evaluated once per metadata pair; alone,
// eq(metadata_key, "k") means "has key k".

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "standin_int.h"

#define FILTER_TEXT_MAX 4096
#define FILTER_NODES    256
#define FILTER_DEPTH    32
#define FILTER_ARGS     64

enum node_kind { N_CALL, N_STR, N_NUM, N_IDENT, N_LIST };

typedef struct node {
	enum node_kind kind;
	char *text; // function name, string, identifier
	double num;
	struct node **args;
	size_t nargs;
	int meta_pair; // an and() with metadata_key/value children
} node;

struct filter {
	node *root;
};

typedef struct parser {
	const char *text;
	const char *p;
	const char *end;
	size_t nodes;
	char *why;
	size_t whysz;
} parser;

static void
node_free(node *n)
{
	if (n == NULL) {
		return;
	}
	for (size_t i = 0; i < n->nargs; i++) {
		node_free(n->args[i]);
	}
	free(n->args);
	free(n->text);
	free(n);
}

void
filter_free(filter *f)
{
	if (f != NULL) {
		node_free(f->root);
		free(f);
	}
}

static void
skip_ws(parser *ps)
{
	while (ps->p < ps->end && isspace((unsigned char) *ps->p)) {
		ps->p++;
	}
}

static node *
new_node(parser *ps, enum node_kind k)
{
	node *n;

	if (ps->nodes++ == FILTER_NODES) {
		snprintf(ps->why, ps->whysz, "filter: more than %d terms",
		    FILTER_NODES);
		return (NULL);
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(ps->why, ps->whysz, "out of memory");
		return (NULL);
	}
	n->kind = k;
	return (n);
}

static int
add_arg(parser *ps, node *n, node *a)
{
	node **na;

	if (n->nargs == FILTER_ARGS) {
		snprintf(ps->why, ps->whysz, "filter: more than %d arguments",
		    FILTER_ARGS);
		return (-1);
	}
	if ((na = realloc(n->args, (n->nargs + 1) * sizeof(*na))) == NULL) {
		snprintf(ps->why, ps->whysz, "out of memory");
		return (-1);
	}
	n->args = na;
	n->args[n->nargs++] = a;
	return (0);
}

static node *parse_arg(parser *ps, int depth);

// A quoted string ('...' or "..."); backslash escapes the next char.
static node *
parse_str(parser *ps)
{
	char q = *ps->p++;
	char *buf = malloc((size_t) (ps->end - ps->p) + 1);
	size_t n = 0;
	node *nd;

	if (buf == NULL) {
		snprintf(ps->why, ps->whysz, "out of memory");
		return (NULL);
	}
	while (ps->p < ps->end && *ps->p != q) {
		if (*ps->p == '\\' && ps->p + 1 < ps->end) {
			ps->p++;
		}
		buf[n++] = *ps->p++;
	}
	if (ps->p == ps->end) {
		free(buf);
		snprintf(ps->why, ps->whysz, "filter: unterminated string");
		return (NULL);
	}
	ps->p++;
	buf[n] = '\0';
	if ((nd = new_node(ps, N_STR)) == NULL) {
		free(buf);
		return (NULL);
	}
	nd->text = buf;
	return (nd);
}

// "(" [arg ("," arg)*] ")" or "[" ... "]" into n's arguments.
static int
parse_args(parser *ps, node *n, char close, int depth)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return (0);
	}
	for (;;) {
		node *a = parse_arg(ps, depth + 1);

		if (a == NULL) {
			return (-1);
		}
		if (add_arg(ps, n, a) != 0) {
			node_free(a);
			return (-1);
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return (0);
		}
		snprintf(ps->why, ps->whysz,
		    "filter: expected ',' or '%c' at offset %zu", close,
		    (size_t) (ps->p - ps->text));
		return (-1);
	}
}

static node *
parse_arg(parser *ps, int depth)
{
	node *n;
	const char *start;

	if (depth > FILTER_DEPTH) {
		snprintf(ps->why, ps->whysz, "filter: nested deeper than %d",
		    FILTER_DEPTH);
		return (NULL);
	}
	skip_ws(ps);
	if (ps->p == ps->end) {
		snprintf(ps->why, ps->whysz, "filter: unexpected end");
		return (NULL);
	}
	if (*ps->p == '"' || *ps->p == '\'') {
		return (parse_str(ps));
	}
	if (*ps->p == '[') {
		ps->p++;
		if ((n = new_node(ps, N_LIST)) == NULL) {
			return (NULL);
		}
		if (parse_args(ps, n, ']', depth) != 0) {
			node_free(n);
			return (NULL);
		}
		return (n);
	}
	start = ps->p;
	if (*ps->p == '-' || *ps->p == '.'
	    || isdigit((unsigned char) *ps->p)) {
		char *endp;
		char buf[64];
		size_t len;

		while (ps->p < ps->end
		    && (isalnum((unsigned char) *ps->p) || *ps->p == '.'
		        || *ps->p == '-' || *ps->p == '+')) {
			ps->p++;
		}
		len = (size_t) (ps->p - start);
		if (len >= sizeof(buf)) {
			snprintf(
			    ps->why, ps->whysz, "filter: number too long");
			return (NULL);
		}
		memcpy(buf, start, len);
		buf[len] = '\0';
		if ((n = new_node(ps, N_NUM)) == NULL) {
			return (NULL);
		}
		n->num = strtod(buf, &endp);
		if (*endp != '\0' || !isfinite(n->num)) {
			snprintf(ps->why, ps->whysz, "filter: bad number '%s'",
			    buf);
			node_free(n);
			return (NULL);
		}
		return (n);
	}
	while (ps->p < ps->end
	    && (isalnum((unsigned char) *ps->p) || *ps->p == '_')) {
		ps->p++;
	}
	if (ps->p == start) {
		snprintf(ps->why, ps->whysz,
		    "filter: unexpected '%c' at offset %zu", *ps->p,
		    (size_t) (ps->p - ps->text));
		return (NULL);
	}
	{
		size_t len = (size_t) (ps->p - start);

		skip_ws(ps);
		n = new_node(
		    ps, (ps->p < ps->end && *ps->p == '(') ? N_CALL : N_IDENT);
		if (n == NULL) {
			return (NULL);
		}
		if ((n->text = strndup(start, len)) == NULL) {
			node_free(n);
			snprintf(ps->why, ps->whysz, "out of memory");
			return (NULL);
		}
	}
	if (n->kind == N_CALL) {
		ps->p++;
		if (parse_args(ps, n, ')', depth) != 0) {
			node_free(n);
			return (NULL);
		}
	}
	return (n);
}

// ---- checking the tree ----

enum ftype {
	F_NONE,
	F_STR,
	F_TIME,
	F_NUM,
	F_BOOL,
	F_TAGS,
	F_META,
	F_MKEY,
	F_MVAL
};

static const struct {
	const char *name;
	enum ftype type;
} fields[] = {
	{ "id", F_STR },
	{ "name", F_STR },
	{ "run_type", F_STR },
	{ "status", F_STR },
	{ "error", F_STR },
	{ "trace_id", F_STR },
	{ "parent_run_id", F_STR },
	{ "start_time", F_TIME },
	{ "end_time", F_TIME },
	{ "latency", F_NUM },
	{ "total_tokens", F_NUM },
	{ "prompt_tokens", F_NUM },
	{ "completion_tokens", F_NUM },
	{ "total_cost", F_NUM },
	{ "prompt_cost", F_NUM },
	{ "completion_cost", F_NUM },
	{ "is_root", F_BOOL },
	{ "tags", F_TAGS },
	{ "metadata", F_META },
	{ "metadata_key", F_MKEY },
	{ "metadata_value", F_MVAL },
};

static enum ftype
field_type(const node *n)
{
	if (n->kind != N_IDENT) {
		return (F_NONE);
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(n->text, fields[i].name) == 0) {
			return (fields[i].type);
		}
	}
	return (F_NONE);
}

static int
is_cmp(const char *f)
{
	return (strcmp(f, "eq") == 0 || strcmp(f, "neq") == 0
	    || strcmp(f, "gt") == 0 || strcmp(f, "gte") == 0
	    || strcmp(f, "lt") == 0 || strcmp(f, "lte") == 0);
}

static int
is_scalar(const node *n)
{
	return (n->kind == N_STR || n->kind == N_NUM
	    || (n->kind == N_IDENT
	        && (strcmp(n->text, "null") == 0
	            || strcmp(n->text, "true") == 0
	            || strcmp(n->text, "false") == 0)));
}

static int
mentions_pair(const node *n)
{
	if (n->kind != N_CALL || n->nargs == 0) {
		return (0);
	}
	enum ftype t = field_type(n->args[0]);
	return (t == F_MKEY || t == F_MVAL);
}

static int
check(node *n, char *why, size_t whysz)
{
	const char *f = n->text;

	if (n->kind != N_CALL) {
		snprintf(
		    why, whysz, "filter: want a function such as eq(...)");
		return (-1);
	}
	if (strcmp(f, "and") == 0 || strcmp(f, "or") == 0
	    || strcmp(f, "not") == 0) {
		if (n->nargs == 0 || (f[0] == 'n' && n->nargs != 1)) {
			snprintf(why, whysz, "filter: %s() needs %s", f,
			    f[0] == 'n' ? "one argument" : "arguments");
			return (-1);
		}
		for (size_t i = 0; i < n->nargs; i++) {
			if (check(n->args[i], why, whysz) != 0) {
				return (-1);
			}
			n->meta_pair
			    |= f[0] == 'a' && mentions_pair(n->args[i]);
		}
		return (0);
	}
	if (is_cmp(f) || strcmp(f, "has") == 0 || strcmp(f, "in") == 0) {
		enum ftype t;

		if (n->nargs != 2) {
			snprintf(why, whysz,
			    "filter: %s() needs a field and a "
			    "value",
			    f);
			return (-1);
		}
		if ((t = field_type(n->args[0])) == F_NONE) {
			snprintf(why, whysz,
			    "filter: %s(): unknown field '%.40s'", f,
			    n->args[0]->text ? n->args[0]->text : "?");
			return (-1);
		}
		if (strcmp(f, "in") == 0 ? n->args[1]->kind != N_LIST
		                         : !is_scalar(n->args[1])) {
			snprintf(why, whysz, "filter: %s(%s, ...): bad value",
			    f, n->args[0]->text);
			return (-1);
		}
		if (strcmp(f, "has") == 0 && t != F_TAGS && t != F_META) {
			snprintf(why, whysz,
			    "filter: has() works on tags and "
			    "metadata");
			return (-1);
		}
		return (0);
	}
	if (strcmp(f, "search") == 0) {
		if (n->nargs < 1 || n->nargs > 2
		    || n->args[n->nargs - 1]->kind != N_STR) {
			snprintf(
			    why, whysz, "filter: search() needs a string");
			return (-1);
		}
		return (0);
	}
	snprintf(why, whysz,
	    "filter: unknown function '%.40s' (the stand-in "
	    "knows and, or, not, eq, neq, gt, gte, lt, lte, has, in, search)",
	    f);
	return (-1);
}

int
filter_parse(const char *text, filter **out, char *why, size_t whysz)
{
	parser ps;
	filter *f;
	node *root;

	*out = NULL;
	if (text == NULL || strlen(text) > FILTER_TEXT_MAX) {
		snprintf(why, whysz, "filter: longer than %d bytes",
		    FILTER_TEXT_MAX);
		return (LLMCOST_EINVAL);
	}
	ps.text = text;
	ps.p = text;
	ps.end = text + strlen(text);
	ps.nodes = 0;
	ps.why = why;
	ps.whysz = whysz;
	if ((root = parse_arg(&ps, 0)) == NULL) {
		return (LLMCOST_EINVAL);
	}
	skip_ws(&ps);
	if (ps.p != ps.end) {
		snprintf(why, whysz,
		    "filter: unexpected text after the "
		    "expression");
		node_free(root);
		return (LLMCOST_EINVAL);
	}
	if (check(root, why, whysz) != 0) {
		node_free(root);
		return (LLMCOST_EINVAL);
	}
	if ((f = malloc(sizeof(*f))) == NULL) {
		node_free(root);
		snprintf(why, whysz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	f->root = root;
	*out = f;
	return (0);
}

// ---- evaluation ----

typedef struct pair {
	const char *key;
	const char *val; // a string value, or JSON text
} pair;

// The value's text for string comparisons; NULL for null.
static const char *
value_text(const node *v, char *buf, size_t sz)
{
	if (v->kind == N_STR) {
		return (v->text);
	}
	if (v->kind == N_NUM) {
		snprintf(buf, sz, "%.17g", v->num);
		return (buf);
	}
	return (strcmp(v->text, "null") == 0 ? NULL : v->text);
}

static int
cmp_result(const char *op, int c)
{
	if (strcmp(op, "eq") == 0) {
		return (c == 0);
	}
	if (strcmp(op, "neq") == 0) {
		return (c != 0);
	}
	if (strcmp(op, "gt") == 0) {
		return (c > 0);
	}
	if (strcmp(op, "gte") == 0) {
		return (c >= 0);
	}
	if (strcmp(op, "lt") == 0) {
		return (c < 0);
	}
	return (c <= 0);
}

// Compare a string field (NULL: null) with v under op.
static int
cmp_str(const char *op, const char *field, const node *v)
{
	char buf[64];
	const char *want = value_text(v, buf, sizeof(buf));

	if (field == NULL || want == NULL) {
		int c = (field == NULL) == (want == NULL) ? 0 : 1;

		return (strcmp(op, "eq") == 0    ? c == 0
		        : strcmp(op, "neq") == 0 ? c != 0
		                                 : 0);
	}
	return (cmp_result(op, strcmp(field, want)));
}

static int
cmp_num(const char *op, double field, const node *v)
{
	double want;

	if (v->kind == N_NUM) {
		want = v->num;
	} else if (v->kind == N_STR) {
		char *end;
		size_t len = strlen(v->text);

		// "5s" for latency
		want = strtod(v->text, &end);
		if (end == v->text || (*end != '\0' && strcmp(end, "s") != 0)
		    || len == 0) {
			return (0);
		}
	} else {
		return (0);
	}
	return (cmp_result(op, field < want ? -1 : field > want ? 1 : 0));
}

static int
meta_pairs(const struct standin *s, const st_run *r, uint32_t i, pair *p)
{
	if (i >= r->n_meta) {
		return (0);
	}
	p->key = strtab_str(&s->strs, r->meta[2 * i]);
	p->val = strtab_str(&s->strs, r->meta[2 * i + 1]);
	return (1);
}

static int eval(const node *n, const struct standin *s, const st_run *r,
    const pair *bound);

// has(metadata, '{"k": v, ...}'): every key present with an equal value.
static int
has_meta(const struct standin *s, const st_run *r, const char *json)
{
	json_t *want = json_loads(json, 0, NULL);
	const char *k;
	json_t *v;
	int ok = json_is_object(want);

	if (ok) {
		json_object_foreach(want, k, v)
		{
			char *txt = json_is_string(v)
			    ? NULL
			    : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			int found = 0;
			pair p;

			for (uint32_t i = 0; !found && meta_pairs(s, r, i, &p);
			     i++) {
				int is_json
				    = (r->meta[2 * i + 1] & META_JSON) != 0;

				found = strcmp(p.key, k) == 0
				    && (json_is_string(v)
				            ? !is_json
				                && strcmp(p.val,
				                       json_string_value(v))
				                    == 0
				            : is_json && txt != NULL
				                && strcmp(p.val, txt) == 0);
			}
			free(txt);
			if (!found) {
				ok = 0;
				break;
			}
		}
	}
	json_decref(want);
	return (ok);
}

static int
eval_cmp(
    const node *n, const struct standin *s, const st_run *r, const pair *bound)
{
	const char *op = n->text;
	const node *f = n->args[0];
	const node *v = n->args[1];
	char ids[LLMCOST__UUID_STR_LEN];
	pair p;

	switch (field_type(f)) {
	case F_MKEY:
	case F_MVAL:
		if (bound != NULL) {
			return (cmp_str(op,
			    field_type(f) == F_MKEY ? bound->key : bound->val,
			    v));
		}
		for (uint32_t i = 0; meta_pairs(s, r, i, &p); i++) {
			if (cmp_str(op,
			        field_type(f) == F_MKEY ? p.key : p.val, v)) {
				return (1);
			}
		}
		return (0);
	case F_TAGS:
		for (uint32_t i = 0; i < r->n_tags; i++) {
			if (cmp_str(
			        "eq", strtab_str(&s->strs, r->tags[i]), v)) {
				return (strcmp(op, "neq") != 0);
			}
		}
		return (strcmp(op, "neq") == 0);
	case F_META:
		return (v->kind == N_STR && has_meta(s, r, v->text));
	case F_BOOL: {
		int root = !(r->has & LLMCOST_LS_H_PARENT);
		int want = v->kind == N_IDENT
		    ? strcmp(v->text, "true") == 0
		    : v->kind == N_STR && strcmp(v->text, "true") == 0;

		return (cmp_result(op, root == want ? 0 : 1));
	}
	case F_TIME: {
		int64_t t;
		int64_t field = strcmp(f->text, "start_time") == 0
		    ? r->start_us
		    : r->end_us;

		if (v->kind != N_STR
		    || llmcost_ls_time_parse_str(v->text, strlen(v->text), &t)
		        != 0) {
			return (0);
		}
		if (strcmp(f->text, "end_time") == 0
		    && !(r->has & LLMCOST_LS_H_END)) {
			return (0);
		}
		return (cmp_result(op, field < t ? -1 : field > t ? 1 : 0));
	}
	case F_NUM: {
		double x;

		if (strcmp(f->text, "latency") == 0) {
			if (!(r->has & LLMCOST_LS_H_END)) {
				return (0);
			}
			x = (double) (r->end_us - r->start_us) / 1e6;
		} else if (strcmp(f->text, "total_tokens") == 0) {
			x = (double) r->tot_tok;
		} else if (strcmp(f->text, "prompt_tokens") == 0) {
			x = (double) r->in_tok;
		} else if (strcmp(f->text, "completion_tokens") == 0) {
			x = (double) r->out_tok;
		} else {
			if (!r->priced) {
				return (0);
			}
			x = (double) (strcmp(f->text, "total_cost") == 0
			            ? r->total_cost
			            : strcmp(f->text, "prompt_cost") == 0
			            ? r->prompt_cost
			            : r->completion_cost)
			    / 1e12;
		}
		return (cmp_num(op, x, v));
	}
	case F_STR:
	default:
		break;
	}
	if (strcmp(f->text, "id") == 0) {
		llmcost__uuid_str(r->id, ids);
		return (cmp_str(op, ids, v));
	}
	if (strcmp(f->text, "trace_id") == 0) {
		llmcost__uuid_str(r->trace_id, ids);
		return (cmp_str(op, ids, v));
	}
	if (strcmp(f->text, "parent_run_id") == 0) {
		llmcost__uuid_str(r->parent_id, ids);
		return (cmp_str(
		    op, (r->has & LLMCOST_LS_H_PARENT) ? ids : NULL, v));
	}
	if (strcmp(f->text, "name") == 0) {
		return (cmp_str(op, strtab_str(&s->strs, r->name), v));
	}
	if (strcmp(f->text, "run_type") == 0) {
		return (cmp_str(op, llmcost_ls_run_type_name(r->run_type), v));
	}
	if (strcmp(f->text, "status") == 0) {
		return (cmp_str(op, store_run_status(s, r), v));
	}
	return (cmp_str(op, r->error, v)); // error
}

static int
eval(
    const node *n, const struct standin *s, const st_run *r, const pair *bound)
{
	const char *f = n->text;

	if (strcmp(f, "and") == 0) {
		if (n->meta_pair && bound == NULL) {
			pair p;

			for (uint32_t i = 0; meta_pairs(s, r, i, &p); i++) {
				if (eval(n, s, r, &p)) {
					return (1);
				}
			}
			return (0);
		}
		for (size_t i = 0; i < n->nargs; i++) {
			if (!eval(n->args[i], s, r, bound)) {
				return (0);
			}
		}
		return (1);
	}
	if (strcmp(f, "or") == 0) {
		for (size_t i = 0; i < n->nargs; i++) {
			if (eval(n->args[i], s, r, bound)) {
				return (1);
			}
		}
		return (0);
	}
	if (strcmp(f, "not") == 0) {
		return (!eval(n->args[0], s, r, bound));
	}
	if (strcmp(f, "has") == 0) {
		return (eval_cmp(n, s, r, bound));
	}
	if (strcmp(f, "in") == 0) {
		const node *list = n->args[1];

		for (size_t i = 0; i < list->nargs; i++) {
			node tmp = *n;
			const node *args[2] = { n->args[0], list->args[i] };

			tmp.text = "eq";
			tmp.args = (node **) args;
			if (eval_cmp(&tmp, s, r, bound)) {
				return (1);
			}
		}
		return (0);
	}
	if (strcmp(f, "search") == 0) {
		const char *needle = n->args[n->nargs - 1]->text;
		const char *name = strtab_str(&s->strs, r->name);
		pair p;

		if ((name && strstr(name, needle))
		    || (r->error && strstr(r->error, needle))) {
			return (1);
		}
		for (uint32_t i = 0; meta_pairs(s, r, i, &p); i++) {
			if (strstr(p.val, needle)) {
				return (1);
			}
		}
		return (0);
	}
	return (eval_cmp(n, s, r, bound));
}

int
filter_eval(const filter *f, const struct standin *s, const st_run *r)
{
	return (f == NULL || eval(f->root, s, r, NULL));
}
