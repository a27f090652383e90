// DESIGN: request bodies to batches of checked operations, one function
// per ingest endpoint (multipart, batch JSON, single run).  A body is
// taken whole or refused whole: every part is framed, every JSON text
// parsed and every run checked before the caller sees any of it, so a
// server never stores half a request and then answers an error (which
// would make the client's retry a partial duplicate).
//
// Multipart bodies are assembled as the SDKs split them: a post.<id> or
// patch.<id> part holds the run and <kind>.<id>.<field> parts hold the
// out-of-band fields, in any order; the field parts replace the same
// fields in the run.  Operations are looked up from the newest, because
// the SDKs send a run's field parts right after its main part, so the
// lookup is constant time in practice and at worst quadratic in the
// capped number of parts.
//
// One JSON value budget (llmcost_ls_limits.json_values_max) is shared by
// every text in a body, which bounds the memory of the whole batch.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "ls_internal.h"

// The out-of-band fields a post.<id>.<field> part may carry.
static const char *const oob_fields[]
    = { "inputs", "outputs", "events", "error", "extra", "serialized" };

typedef struct pending {
	llmcost_ls_op_kind kind;
	uint8_t id[16];
	char ids[LLMCOST__UUID_STR_LEN];
	json_t *main;   // the run JSON, or NULL until its part is seen
	json_t *fields; // out-of-band fields by name
} pending;

void
llmcost_ls_batch_free(llmcost_ls_batch *b)
{
	if (b == NULL) {
		return;
	}
	for (size_t i = 0; i < b->n_ops; i++) {
		json_decref(b->ops[i].run);
	}
	free(b->ops);
	memset(b, 0, sizeof(*b));
}

// Prefix err's reason with the run it is about ("post.<id>: ").
static int
locate(llmcost_ls_error *err, int rv, const char *kind, const char *id)
{
	char inner[sizeof(err->msg)];

	if (err == NULL) {
		return (rv);
	}
	memcpy(inner, err->msg, sizeof(inner));
	return (llmcost_ls_fail(
	    err, err->status, rv, "%s.%.40s: %s", kind, id, inner));
}

static int
batch_add(llmcost_ls_batch *b, size_t *cap, size_t ops_max,
    llmcost_ls_op_kind kind, json_t *run, llmcost_ls_error *err)
{
	if (b->n_ops == ops_max) {
		return (llmcost_ls_fail(err, 413, LLMCOST_ETOOBIG,
		    "more than %zu runs in one request", ops_max));
	}
	if (b->n_ops == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		llmcost_ls_op *n;

		if (ncap > ops_max) {
			ncap = ops_max;
		}
		if ((n = realloc(b->ops, ncap * sizeof(*n))) == NULL) {
			return (llmcost_ls_fail(
			    err, 500, LLMCOST_ENOMEM, "out of memory"));
		}
		b->ops = n;
		*cap = ncap;
	}
	memset(&b->ops[b->n_ops], 0, sizeof(b->ops[0]));
	b->ops[b->n_ops].kind = kind;
	b->ops[b->n_ops].run = json_incref(run);
	b->n_ops++;
	return (0);
}

// Check every op of a batch; on failure name the op.
static int
check_all(llmcost_ls_batch *b, unsigned flags, llmcost_ls_error *err)
{
	for (size_t i = 0; i < b->n_ops; i++) {
		llmcost_ls_op *op = &b->ops[i];
		const json_t *id = json_object_get(op->run, "id");
		int rv;

		rv = llmcost_ls_run_check(
		    op->run, op->kind, flags, &op->info, err);
		if (rv != 0) {
			return (locate(err, rv,
			    op->kind == LLMCOST_LS_POST ? "post" : "patch",
			    json_is_string(id) ? json_string_value(id) : "?"));
		}
	}
	return (0);
}

static int
span_is(llmcost_ls_span s, const char *lit)
{
	return (s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0);
}

static int
is_json_type(llmcost_ls_span ct)
{
	static const char want[] = "application/json";

	if (ct.len != sizeof(want) - 1) {
		return (0);
	}
	for (size_t i = 0; i < ct.len; i++) {
		char c = ct.ptr[i];

		if (c >= 'A' && c <= 'Z') {
			c = (char) (c - 'A' + 'a');
		}
		if (c != want[i]) {
			return (0);
		}
	}
	return (1);
}

// Split a part name at its dots: up to 3 components.  Returns the count,
// or 0 when there are more.  Components past the count are empty spans,
// so no caller can read one that was never set.
static int
split_name(llmcost_ls_span name, llmcost_ls_span comp[3])
{
	int n = 0;
	const char *p = name.ptr;
	const char *end = name.ptr + name.len;

	for (int i = 0; i < 3; i++) {
		comp[i].ptr = end;
		comp[i].len = 0;
	}
	while (n < 3) {
		const char *dot = memchr(p, '.', (size_t) (end - p));

		comp[n].ptr = p;
		comp[n].len = (size_t) ((dot ? dot : end) - p);
		n++;
		if (dot == NULL) {
			return (n);
		}
		p = dot + 1;
	}
	return (0);
}

static pending *
find_pending(
    pending *pv, size_t n, llmcost_ls_op_kind kind, const uint8_t id[16])
{
	for (size_t i = n; i-- > 0;) {
		if (pv[i].kind == kind && memcmp(pv[i].id, id, 16) == 0) {
			return (&pv[i]);
		}
	}
	return (NULL);
}

typedef struct mp_state {
	llmcost_ls_limits lim;
	size_t budget; // JSON values left
	pending *pv;
	size_t npv;
	llmcost_ls_batch *b;
} mp_state;

// A feedback.<id> part: a JSON object with a trace_id (OAS).
static int
mp_feedback(mp_state *st, const llmcost_ls_part *pt, const char *label,
    llmcost_ls_error *err)
{
	json_t *fb;
	uint8_t tid[16];
	const json_t *t;
	int rv;

	if ((rv = llmcost__ls_json_load(
	         pt->data.ptr, pt->data.len, &st->budget, label, &fb, err))
	    != 0) {
		return (rv);
	}
	t = json_object_get(fb, "trace_id");
	rv = json_is_object(fb) && json_is_string(t)
	    && llmcost__ls_uuid36(
	           json_string_value(t), json_string_length(t), tid)
	        == 0;
	json_decref(fb);
	if (!rv) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "%s: feedback must be an object with a trace_id UUID",
		    label));
	}
	st->b->n_feedback++;
	return (0);
}

static int
mp_part(mp_state *st, const llmcost_ls_part *pt, llmcost_ls_error *err)
{
	llmcost_ls_span comp[3];
	int nc = split_name(pt->name, comp);
	char label[LLMCOST_LS_PART_NAME_MAX + 8];
	llmcost_ls_op_kind kind;
	uint8_t id[16];
	pending *p;
	json_t *v;
	int rv;

	snprintf(label, sizeof(label), "part %.*s", (int) pt->name.len,
	    pt->name.ptr);
	if (nc < 2 || llmcost__ls_uuid36(comp[1].ptr, comp[1].len, id) != 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "%s: want post.<id>, patch.<id>, "
		    "<post|patch>.<id>.<field>, "
		    "feedback.<id> or attachment.<id>.<filename>",
		    label));
	}
	if (span_is(comp[0], "attachment")) {
		if (nc != 3 || comp[2].len == 0) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "%s: want attachment.<id>.<filename> (no '.' in "
			    "the filename)",
			    label));
		}
		st->b->n_attachments++;
		st->b->attachment_bytes += pt->data.len;
		return (0);
	}
	if (!is_json_type(pt->content_type)) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "%s: Content-Type must be application/json", label));
	}
	if (span_is(comp[0], "feedback") && nc == 2) {
		return (mp_feedback(st, pt, label, err));
	}
	if (span_is(comp[0], "post")) {
		kind = LLMCOST_LS_POST;
	} else if (span_is(comp[0], "patch")) {
		kind = LLMCOST_LS_PATCH;
	} else {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "%s: unknown part kind (want post, patch, feedback or "
		    "attachment)",
		    label));
	}
	if (nc == 3) {
		int known = 0;

		for (size_t i = 0;
		     i < sizeof(oob_fields) / sizeof(oob_fields[0]); i++) {
			known |= span_is(comp[2], oob_fields[i]);
		}
		if (!known) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "%s: unknown field (want inputs, outputs, events, "
			    "error, extra or serialized)",
			    label));
		}
	}

	if ((p = find_pending(st->pv, st->npv, kind, id)) == NULL) {
		if (st->npv == st->lim.ops_max) {
			return (llmcost_ls_fail(err, 413, LLMCOST_ETOOBIG,
			    "more than %zu runs in one request",
			    st->lim.ops_max));
		}
		p = &st->pv[st->npv++];
		memset(p, 0, sizeof(*p));
		p->kind = kind;
		memcpy(p->id, id, 16);
		llmcost__uuid_str(id, p->ids);
	}
	if ((rv = llmcost__ls_json_load(
	         pt->data.ptr, pt->data.len, &st->budget, label, &v, err))
	    != 0) {
		return (rv);
	}
	if (nc == 2) {
		if (p->main != NULL) {
			json_decref(v);
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "%s: given twice", label));
		}
		if (!json_is_object(v)) {
			json_decref(v);
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "%s: the run must be a JSON object", label));
		}
		p->main = v;
		return (0);
	}
	if (p->fields == NULL && (p->fields = json_object()) == NULL) {
		json_decref(v);
		return (llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory"));
	}
	{
		char f[16];

		snprintf(f, sizeof(f), "%.*s", (int) comp[2].len, comp[2].ptr);
		if (json_object_get(p->fields, f) != NULL) {
			json_decref(v);
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "%s: given twice", label));
		}
		if (json_object_set_new(p->fields, f, v) != 0) {
			return (llmcost_ls_fail(
			    err, 500, LLMCOST_ENOMEM, "out of memory"));
		}
	}
	return (0);
}

// Merge each pending run's fields into its main part and add it to b.
static int
mp_finish(mp_state *st, llmcost_ls_error *err)
{
	size_t cap = 0;

	for (size_t i = 0; i < st->npv; i++) {
		pending *p = &st->pv[i];
		const char *kn = p->kind == LLMCOST_LS_POST ? "post" : "patch";
		const json_t *id;
		int rv;

		if (p->main == NULL) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "part %s.%s.*: no %s.%s part for these fields", kn,
			    p->ids, kn, p->ids));
		}
		id = json_object_get(p->main, "id");
		if (id == NULL || json_is_null(id)) {
			// The part name carries the id; the run may omit it.
			if (json_object_set_new(
			        p->main, "id", json_string(p->ids))
			    != 0) {
				return (llmcost_ls_fail(err, 500,
				    LLMCOST_ENOMEM, "out of memory"));
			}
		} else {
			uint8_t bid[16];

			if (!json_is_string(id)
			    || llmcost__ls_uuid36(json_string_value(id),
			           json_string_length(id), bid)
			        != 0) {
				return (llmcost_ls_fail(err, 422,
				    LLMCOST_EINVAL,
				    "part %s.%s: id: '%.40s' is not a UUID",
				    kn, p->ids,
				    json_is_string(id) ? json_string_value(id)
				                       : "(not a string)"));
			}
			if (memcmp(bid, p->id, 16) != 0) {
				return (llmcost_ls_fail(err, 422,
				    LLMCOST_EINVAL,
				    "part %s.%s: the run's id differs from "
				    "the part name",
				    kn, p->ids));
			}
		}
		if (p->fields != NULL
		    && json_object_update(p->main, p->fields) != 0) {
			return (llmcost_ls_fail(
			    err, 500, LLMCOST_ENOMEM, "out of memory"));
		}
		if ((rv = batch_add(
		         st->b, &cap, st->lim.ops_max, p->kind, p->main, err))
		    != 0) {
			return (rv);
		}
	}
	return (0);
}

int
llmcost_ls_batch_from_multipart(const char *content_type, const uint8_t *body,
    size_t len, const llmcost_ls_limits *lim, unsigned flags,
    llmcost_ls_batch *out, llmcost_ls_error *err)
{
	mp_state st;
	llmcost_ls_batch b = { 0 };
	llmcost_ls_span boundary;
	llmcost_ls_part *parts = NULL;
	size_t nparts = 0;
	int rv;

	if (out == NULL) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EINVAL, "multipart: no output"));
	}
	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.lim = llmcost__ls_limits(lim);
	st.budget = st.lim.json_values_max;
	st.b = &b;
	if ((rv = llmcost_ls_multipart_boundary(content_type,
	         content_type ? strlen(content_type) : 0, &boundary, err))
	    != 0) {
		return (rv);
	}
	if ((rv = llmcost__ls_body_size(len, &st.lim, err)) != 0) {
		return (rv);
	}
	// A part takes at least 60 bytes of framing: no need for more slots
	// than that allows.
	{
		size_t slots = len / 60 + 1;

		if (slots > st.lim.parts_max) {
			slots = st.lim.parts_max;
		}
		parts = calloc(slots, sizeof(*parts));
		st.pv = calloc(slots < st.lim.ops_max ? slots : st.lim.ops_max,
		    sizeof(*st.pv));
		if (parts == NULL || st.pv == NULL) {
			rv = llmcost_ls_fail(
			    err, 500, LLMCOST_ENOMEM, "out of memory");
			goto done;
		}
		if ((rv = llmcost_ls_multipart_parse(body, len, boundary,
		         &st.lim, parts, slots, &nparts, err))
		    != 0) {
			goto done;
		}
	}
	for (size_t i = 0; i < nparts; i++) {
		if ((rv = mp_part(&st, &parts[i], err)) != 0) {
			goto done;
		}
	}
	if ((rv = mp_finish(&st, err)) != 0
	    || (rv = check_all(&b, flags, err)) != 0) {
		goto done;
	}
	*out = b;
	memset(&b, 0, sizeof(b));
done:
	for (size_t i = 0; st.pv != NULL && i < st.npv; i++) {
		json_decref(st.pv[i].main);
		json_decref(st.pv[i].fields);
	}
	llmcost_ls_batch_free(&b);
	free(st.pv);
	free(parts);
	return (rv);
}

// A JSON body (/runs/batch, /runs, PATCH /runs/{id}): refused above the
// body cap (413), then gated and loaded with the whole values budget.
static int
body_load(const uint8_t *body, size_t len, const llmcost_ls_limits *l,
    json_t **out, llmcost_ls_error *err)
{
	size_t budget = l->json_values_max;
	int rv;

	if ((rv = llmcost__ls_body_size(len, l, err)) != 0) {
		return (rv);
	}
	return (llmcost__ls_json_load(
	    (const char *) body, len, &budget, "body", out, err));
}

int
llmcost_ls_batch_from_json(const uint8_t *body, size_t len,
    const llmcost_ls_limits *lim, unsigned flags, llmcost_ls_batch *out,
    llmcost_ls_error *err)
{
	static const struct {
		const char *key;
		llmcost_ls_op_kind kind;
	} lists[]
	    = { { "post", LLMCOST_LS_POST }, { "patch", LLMCOST_LS_PATCH } };
	llmcost_ls_limits l = llmcost__ls_limits(lim);
	llmcost_ls_batch b = { 0 };
	size_t cap = 0;
	json_t *root = NULL;
	int rv;

	if (out == NULL) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EINVAL, "batch: no output"));
	}
	memset(out, 0, sizeof(*out));
	if ((rv = body_load(body, len, &l, &root, err)) != 0) {
		return (rv);
	}
	if (!json_is_object(root)) {
		rv = llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "body: want {\"post\": [...], \"patch\": [...]}");
		goto done;
	}
	for (size_t k = 0; k < 2; k++) {
		json_t *arr = json_object_get(root, lists[k].key);
		json_t *run;
		size_t i;

		if (arr == NULL || json_is_null(arr)) {
			continue;
		}
		if (!json_is_array(arr)) {
			rv = llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "%s: want an array of runs", lists[k].key);
			goto done;
		}
		json_array_foreach(arr, i, run)
		{
			if ((rv = batch_add(
			         &b, &cap, l.ops_max, lists[k].kind, run, err))
			    != 0) {
				goto done;
			}
		}
	}
	if ((rv = check_all(&b, flags, err)) != 0) {
		goto done;
	}
	*out = b;
	memset(&b, 0, sizeof(b));
done:
	llmcost_ls_batch_free(&b);
	json_decref(root);
	return (rv);
}

int
llmcost_ls_batch_from_run(const uint8_t *body, size_t len,
    llmcost_ls_op_kind kind, const char *path_id, const llmcost_ls_limits *lim,
    unsigned flags, llmcost_ls_batch *out, llmcost_ls_error *err)
{
	llmcost_ls_limits l = llmcost__ls_limits(lim);
	llmcost_ls_batch b = { 0 };
	size_t cap = 0;
	json_t *run = NULL;
	uint8_t pid[16];
	int rv;

	if (out == NULL || (kind == LLMCOST_LS_PATCH && path_id == NULL)) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EINVAL, "run: invalid arguments"));
	}
	memset(out, 0, sizeof(*out));
	if (kind == LLMCOST_LS_PATCH
	    && llmcost__ls_uuid36(path_id, strlen(path_id), pid) != 0) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "run id in the path: '%.40s' is not a UUID", path_id));
	}
	if ((rv = body_load(body, len, &l, &run, err)) != 0) {
		return (rv);
	}
	if (!json_is_object(run)) {
		rv = llmcost_ls_fail(
		    err, 422, LLMCOST_EINVAL, "body: want a run object");
		goto done;
	}
	if (kind == LLMCOST_LS_PATCH) {
		const json_t *id = json_object_get(run, "id");
		uint8_t bid[16];

		if (id == NULL || json_is_null(id)) {
			char s[LLMCOST__UUID_STR_LEN];

			llmcost__uuid_str(pid, s);
			if (json_object_set_new(run, "id", json_string(s))
			    != 0) {
				rv = llmcost_ls_fail(
				    err, 500, LLMCOST_ENOMEM, "out of memory");
				goto done;
			}
		} else if (!json_is_string(id)
		    || llmcost__ls_uuid36(
		           json_string_value(id), json_string_length(id), bid)
		        != 0
		    || memcmp(bid, pid, 16) != 0) {
			rv = llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "id: differs from the run id in the path");
			goto done;
		}
	}
	if ((rv = batch_add(&b, &cap, 1, kind, run, err)) != 0
	    || (rv = check_all(&b, flags | LLMCOST_LS_F_TRACE_OPTIONAL, err))
	        != 0) {
		goto done;
	}
	*out = b;
	memset(&b, 0, sizeof(b));
done:
	llmcost_ls_batch_free(&b);
	json_decref(run);
	return (rv);
}
