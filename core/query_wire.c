// DESIGN: the wire carries a query as the text a person types (`--by
// meta.team`, `--where env!=dev`), not the engine's enums, so that a
// newer CLI's key a daemon does not know is refused with its name, and
// an answer as sums whose amounts keep all 128 bits.  Conversion is
// field by field in both directions; a reply is checked against the
// query it answers (as many keys per row as asked) before anything is
// copied, and strings are copied so the result outlives the message.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_wire.h"

static llmcost_proto_str
pstr(const char *s)
{
	llmcost_proto_str r = { s, (uint32_t) strlen(s) };
	return (r);
}

void
query_to_wire(
    const query_spec *q, query_wire_names *names, llmcost_proto_query *out)
{
	memset(out, 0, sizeof(*out));
	out->n_by = q->n_by;
	for (uint32_t i = 0; i < q->n_by; i++) {
		out->by[i] = pstr(query_key_name(
		    &q->by[i], names->by[i], sizeof(names->by[i])));
	}
	out->n_where = q->n_where;
	for (uint32_t i = 0; i < q->n_where; i++) {
		out->where[i].key = pstr(query_key_name(&q->where[i].key,
		    names->where[i], sizeof(names->where[i])));
		out->where[i].negate = q->where[i].negate ? 1 : 0;
		out->where[i].value = pstr(q->where[i].value);
	}
	out->from_ns = q->from_ns;
	out->to_ns = q->to_ns;
	out->every = (uint32_t) q->every;
	out->tz = pstr(q->tz);
	out->top = q->top;
	out->max_groups = q->max_groups;
	out->flags = (q->flags & QUERY_RUNS_ONLY) ? 1 : 0;
}

// Copies a wire string into dst[dstsz] as C text; -1 when it does not
// fit or holds a NUL.
static int
cstr(const llmcost_proto_str *s, char *dst, size_t dstsz)
{
	if (s->len >= dstsz || (s->len > 0 && memchr(s->ptr, '\0', s->len))) {
		return (-1);
	}
	if (s->len > 0) {
		memcpy(dst, s->ptr, s->len);
	}
	dst[s->len] = '\0';
	return (0);
}

int
query_from_wire(
    const llmcost_proto_query *w, query_spec *out, char *err, size_t errsz)
{
	char name[QUERY_KEY_NAME_MAX + 1];
	query_spec q;

	memset(&q, 0, sizeof(q));
	if (w->n_by > QUERY_MAX_KEYS || w->n_where > QUERY_MAX_FILTERS) {
		snprintf(err, errsz, "at most %d keys and %d filters",
		    QUERY_MAX_KEYS, QUERY_MAX_FILTERS);
		return (LLMCOST_EINVAL);
	}
	q.n_by = w->n_by;
	for (uint32_t i = 0; i < w->n_by; i++) {
		if (cstr(&w->by[i], name, sizeof(name)) != 0
		    || query_key_parse(name, &q.by[i]) != 0) {
			snprintf(err, errsz, "unknown key '%.*s'",
			    (int) (w->by[i].len > 80 ? 80 : w->by[i].len),
			    w->by[i].ptr != NULL ? w->by[i].ptr : "");
			return (LLMCOST_EINVAL);
		}
	}
	q.n_where = w->n_where;
	for (uint32_t i = 0; i < w->n_where; i++) {
		query_filter *f = &q.where[i];
		if (cstr(&w->where[i].key, name, sizeof(name)) != 0
		    || query_key_parse(name, &f->key) != 0) {
			snprintf(err, errsz, "unknown key '%.*s' in a filter",
			    (int) (w->where[i].key.len > 80
			            ? 80
			            : w->where[i].key.len),
			    w->where[i].key.ptr != NULL ? w->where[i].key.ptr
			                                : "");
			return (LLMCOST_EINVAL);
		}
		f->negate = w->where[i].negate ? 1 : 0;
		if (cstr(&w->where[i].value, f->value, sizeof(f->value))
		    != 0) {
			snprintf(err, errsz, "a filter value is too long");
			return (LLMCOST_EINVAL);
		}
	}
	if (cstr(&w->tz, q.tz, sizeof(q.tz)) != 0) {
		snprintf(err, errsz, "the time zone name is too long");
		return (LLMCOST_EINVAL);
	}
	q.from_ns = w->from_ns;
	q.to_ns = w->to_ns;
	q.every = (query_every) w->every;
	q.top = w->top;
	q.max_groups = w->max_groups;
	q.flags = (w->flags & 1) ? QUERY_RUNS_ONLY : 0;
	*out = q;
	return (0);
}

static void
sums_to_wire(const query_sums *s, llmcost_proto_qsums *w)
{
	memset(w, 0, sizeof(*w));
	w->calls = s->calls;
	w->unpriced_calls = s->unpriced_calls;
	w->error_calls = s->error_calls;
	memcpy(w->usage, s->usage, sizeof(w->usage));
	w->input_tokens = s->input_tokens;
	w->output_tokens = s->output_tokens;
	w->cost_pusd = s->cost_pusd;
	memcpy(w->fees, s->fees, sizeof(w->fees));
	w->fee_cost_pusd = s->fee_cost_pusd;
	w->provider_cost_calls = s->provider_cost_calls;
	w->provider_cost_pusd = s->provider_cost_pusd;
	w->usage_missing_calls = s->usage_missing_calls;
	w->usage_partial_calls = s->usage_partial_calls;
}

static void
sums_from_wire(const llmcost_proto_qsums *w, query_sums *s)
{
	memset(s, 0, sizeof(*s));
	s->calls = w->calls;
	s->unpriced_calls = w->unpriced_calls;
	s->error_calls = w->error_calls;
	memcpy(s->usage, w->usage, sizeof(s->usage));
	s->input_tokens = w->input_tokens;
	s->output_tokens = w->output_tokens;
	s->cost_pusd = w->cost_pusd;
	memcpy(s->fees, w->fees, sizeof(s->fees));
	s->fee_cost_pusd = w->fee_cost_pusd;
	s->provider_cost_calls = w->provider_cost_calls;
	s->provider_cost_pusd = w->provider_cost_pusd;
	s->usage_missing_calls = w->usage_missing_calls;
	s->usage_partial_calls = w->usage_partial_calls;
}

int
query_error_encode(int status, const char *reason, llmcost_proto_enc *e)
{
	llmcost_proto_qreply w;

	memset(&w, 0, sizeof(w));
	w.status = (uint32_t) (status > 0 && status <= 255 ? status
	                                                   : LLMCOST_ESYSTEM);
	w.reason = pstr(reason != NULL ? reason : "");
	if (llmcost_proto_enc_qreply_header(e, &w, 0) != 0) {
		return (e->err);
	}
	return (llmcost_proto_enc_qunpriced(e, NULL, 0));
}

int
query_result_encode(const query_result *r, llmcost_proto_enc *e)
{
	llmcost_proto_qreply w;
	int rv;

	if (r->n_rows > LLMCOST_PROTO_MAX_QROWS) {
		return (LLMCOST_ETOOBIG);
	}
	memset(&w, 0, sizeof(w));
	w.from_off = r->from_off;
	w.to_off = r->to_off;
	w.capped = r->capped ? 1 : 0;
	w.groups = r->groups;
	w.dropped = r->dropped;
	w.runs_scanned = r->runs_scanned;
	w.rollups_read = r->rollups_read;
	sums_to_wire(&r->total, &w.total);
	const store_pvers *pv = &r->price_tables;
	w.has_ptables = 1;
	w.n_ptables = pv->n < LLMCOST_PROTO_MAX_QPTABLES
	    ? pv->n
	    : LLMCOST_PROTO_MAX_QPTABLES;
	for (uint32_t i = 0; i < w.n_ptables; i++) {
		w.ptables[i] = pstr(pv->v[i]);
	}
	w.ptables_flags = (pv->unknown ? LLMCOST_PROTO_QPT_UNKNOWN : 0)
	    | (pv->more || pv->n > w.n_ptables ? LLMCOST_PROTO_QPT_MORE : 0);
	if ((rv = llmcost_proto_enc_qreply_header(e, &w, (uint32_t) r->n_rows))
	    != 0) {
		return (rv);
	}
	for (size_t i = 0; i < r->n_rows; i++) {
		const query_row *row = &r->rows[i];
		llmcost_proto_qrow wr;
		memset(&wr, 0, sizeof(wr));
		wr.bucket = row->bucket;
		wr.bucket_end = row->bucket_end;
		wr.bucket_off = row->bucket_off;
		wr.bucket_end_off = row->bucket_end_off;
		wr.other = row->other ? 1 : 0;
		wr.n_keys = r->spec.n_by;
		for (uint32_t k = 0; k < r->spec.n_by; k++) {
			if (row->keys[k] != NULL) {
				wr.keys[k] = pstr(row->keys[k]);
				wr.has_key[k] = 1;
			}
		}
		sums_to_wire(&row->sum, &wr.sum);
		if ((rv = llmcost_proto_enc_qrow(e, &wr)) != 0) {
			return (rv);
		}
	}
	size_t n = r->n_unpriced < LLMCOST_PROTO_MAX_QUNPRICED
	    ? r->n_unpriced
	    : LLMCOST_PROTO_MAX_QUNPRICED;
	llmcost_proto_qunpriced *all = NULL;
	if (n > 0 && (all = calloc(n, sizeof(*all))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		all[i].provider = pstr(
		    r->unpriced[i].provider ? r->unpriced[i].provider : "");
		all[i].model
		    = pstr(r->unpriced[i].model ? r->unpriced[i].model : "");
		all[i].calls = r->unpriced[i].calls;
	}
	rv = llmcost_proto_enc_qunpriced(e, all, (uint32_t) n);
	free(all);
	if (rv == 0) {
		rv = llmcost_proto_enc_qptables(e, &w);
	}
	return (rv);
}

static char *
dup_str(const llmcost_proto_str *s, int *rv)
{
	char *d = malloc((size_t) s->len + 1);
	if (d == NULL) {
		*rv = LLMCOST_ENOMEM;
		return (NULL);
	}
	if (s->len > 0) {
		memcpy(d, s->ptr, s->len);
	}
	d[s->len] = '\0';
	return (d);
}

int
query_result_from_wire(const llmcost_proto_qreply *w, const query_spec *q,
    query_result **out, char *err, size_t errsz)
{
	query_result *r;
	int rv = 0;

	if (w->status != 0) {
		snprintf(err, errsz, "%.*s", (int) w->reason.len,
		    w->reason.ptr != NULL ? w->reason.ptr : "");
		return ((int) w->status);
	}
	for (uint32_t i = 0; i < w->n_rows; i++) {
		if (w->rows[i].n_keys != q->n_by) {
			snprintf(err, errsz,
			    "the collector's answer has %u keys per row, the "
			    "query %u",
			    w->rows[i].n_keys, q->n_by);
			return (LLMCOST_EPROTO);
		}
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	r->spec = *q;
	r->from_off = w->from_off;
	r->to_off = w->to_off;
	r->capped = w->capped ? 1 : 0;
	r->groups = w->groups;
	r->dropped = w->dropped;
	r->runs_scanned = w->runs_scanned;
	r->rollups_read = w->rollups_read;
	sums_from_wire(&w->total, &r->total);
	// A collector from before price_tables: unknown.
	r->price_tables.unknown = !w->has_ptables
	    || (w->ptables_flags & LLMCOST_PROTO_QPT_UNKNOWN) != 0;
	r->price_tables.more
	    = (w->ptables_flags & LLMCOST_PROTO_QPT_MORE) != 0;
	for (uint32_t i = 0; i < w->n_ptables && i < STORE_PVERS_MAX; i++) {
		const llmcost_proto_str *v = &w->ptables[i];
		if (v->len > STORE_PVER_LEN) {
			continue; // not a version this program writes
		}
		memcpy(r->price_tables.v[r->price_tables.n], v->ptr, v->len);
		r->price_tables.v[r->price_tables.n][v->len] = '\0';
		r->price_tables.n++;
	}
	if (w->n_rows > 0
	    && (r->rows = calloc(w->n_rows, sizeof(*r->rows))) == NULL) {
		rv = LLMCOST_ENOMEM;
	}
	for (uint32_t i = 0; rv == 0 && i < w->n_rows; i++) {
		const llmcost_proto_qrow *wr = &w->rows[i];
		query_row *row = &r->rows[i];
		r->n_rows++;
		row->bucket = wr->bucket;
		row->bucket_end = wr->bucket_end;
		row->bucket_off = wr->bucket_off;
		row->bucket_end_off = wr->bucket_end_off;
		row->other = wr->other ? 1 : 0;
		for (uint32_t k = 0; rv == 0 && k < wr->n_keys; k++) {
			if (wr->has_key[k]) {
				row->keys[k] = dup_str(&wr->keys[k], &rv);
			}
		}
		sums_from_wire(&wr->sum, &row->sum);
	}
	if (rv == 0 && w->n_unpriced > 0
	    && (r->unpriced = calloc(w->n_unpriced, sizeof(*r->unpriced)))
	        == NULL) {
		rv = LLMCOST_ENOMEM;
	}
	for (uint32_t i = 0; rv == 0 && i < w->n_unpriced; i++) {
		query_unpriced *u = &r->unpriced[i];
		r->n_unpriced++;
		u->provider = w->unpriced[i].provider.len > 0
		    ? dup_str(&w->unpriced[i].provider, &rv)
		    : NULL;
		if (rv == 0) {
			u->model = w->unpriced[i].model.len > 0
			    ? dup_str(&w->unpriced[i].model, &rv)
			    : NULL;
		}
		u->calls = w->unpriced[i].calls;
	}
	if (rv != 0) {
		query_result_free(r);
		return (rv);
	}
	*out = r;
	return (0);
}
