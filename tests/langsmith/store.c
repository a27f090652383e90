// DESIGN: the stand-in's memory of what it accepted: projects, runs and
// an interned string table, with LangSmith's ingest semantics.
//
// - Idempotency by run id (reference section 1.6): a second create of a
//   run, or a second update, is a duplicate: skipped, counted, and listed
//   so that the request is answered 409 ("payload already received").
//   Everything else in that request is stored, so a client that treats
//   409 as "already have it" (as the Python SDK does) never loses a run.
// - Updates may arrive before their create (ingest is asynchronous and
//   batches race): such an update is kept aside and applied when the
//   create comes.  Runs without a create are invisible to queries.
// - Cost is computed once, when a run is finalized (its end_time becomes
//   known with its create), from the usage known then; usage patched in
//   later changes the token counts but not the cost ("usage that lands on
//   a later patch is not reflected", section 2.1).  A changed price map is
//   not applied to runs already priced (no backfill, section 2.4).
// - POST /runs may omit trace_id and dotted_order: they are derived as
//   LangSmith does (a root run is its own trace; a child extends its
//   parent's dotted_order), which needs the parent to be stored.
//
// Memory per run is a fixed record plus interned ids for every repeated
// string (names, models, metadata keys and values, tags), so millions of
// runs fit when payloads are dropped.  Everything here runs with the
// stand-in's lock held.

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "llmcost_common.h"
#include "standin_int.h"

// ---- strings ----

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t h = UINT64_C(1469598103934665603); // FNV-1a

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t) s[i];
		h *= UINT64_C(1099511628211);
	}
	return (h);
}

static int
strtab_grow(strtab *t)
{
	uint32_t nslots = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (slots == NULL) {
		return (-1);
	}
	for (uint32_t id = 1; id < t->n; id++) {
		uint64_t h = hash_bytes(t->strs[id], strlen(t->strs[id]));
		uint32_t i = (uint32_t) h & (nslots - 1);

		while (slots[i] != 0) {
			i = (i + 1) & (nslots - 1);
		}
		slots[i] = id;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return (0);
}

uint32_t
strtab_intern(strtab *t, const char *s, size_t len)
{
	uint64_t h;
	uint32_t i;
	char *copy;

	if (s == NULL) {
		return (0);
	}
	if (t->n == 0) {
		t->n = 1; // id 0 means "none"
	}
	if ((t->n + 1) * 2 > t->nslots && strtab_grow(t) != 0) {
		return (0);
	}
	h = hash_bytes(s, len);
	for (i = (uint32_t) h & (t->nslots - 1); t->slots[i] != 0;
	     i = (i + 1) & (t->nslots - 1)) {
		const char *o = t->strs[t->slots[i]];

		if (strlen(o) == len && memcmp(o, s, len) == 0) {
			return (t->slots[i]);
		}
	}
	if (t->n >= t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 1024;
		char **n = realloc(t->strs, ncap * sizeof(*n));

		if (n == NULL) {
			return (0);
		}
		t->strs = n;
		t->cap = ncap;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		return (0);
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	t->strs[t->n] = copy;
	t->slots[i] = t->n;
	return (t->n++);
}

const char *
strtab_str(const strtab *t, uint32_t id)
{
	id &= ~META_JSON;
	return (id == 0 || id >= t->n ? NULL : t->strs[id]);
}

void
strtab_free(strtab *t)
{
	for (uint32_t id = 1; id < t->n; id++) {
		free(t->strs[id]);
	}
	free(t->strs);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static uint32_t
intern(struct standin *s, const char *str)
{
	return (str == NULL ? 0 : strtab_intern(&s->strs, str, strlen(str)));
}

// ---- ids, time ----

static uint64_t
rng_next(struct standin *s)
{
	uint64_t a = s->rng[0];
	uint64_t b = s->rng[1];

	if (a == 0 && b == 0) {
		int fd = open("/dev/urandom", O_RDONLY);

		if (fd < 0
		    || read(fd, s->rng, sizeof(s->rng)) != sizeof(s->rng)) {
			s->rng[0] = (uint64_t) time(NULL) | 1;
			s->rng[1] = (uint64_t) (uintptr_t) s;
		}
		if (fd >= 0) {
			close(fd);
		}
		a = s->rng[0] | 1;
		b = s->rng[1];
	}
	// xorshift128+
	s->rng[0] = b;
	a ^= a << 23;
	s->rng[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return (s->rng[1] + b);
}

void
store_uuid4(struct standin *s, uint8_t id[16])
{
	uint64_t a = rng_next(s);
	uint64_t b = rng_next(s);

	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
	id[6] = (uint8_t) ((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t) ((id[8] & 0x3f) | 0x80);
}

int64_t
store_now_us(void)
{
	return ((int64_t) (llmcost__now_ns() / 1000));
}

// ---- sessions ----

int
store_session_by_name(const struct standin *s, const char *name)
{
	for (size_t i = 0; i < s->n_sessions; i++) {
		if (strcmp(s->sessions[i].name, name) == 0) {
			return ((int) i);
		}
	}
	return (-1);
}

int
store_session_by_id(const struct standin *s, const uint8_t id[16])
{
	for (size_t i = 0; i < s->n_sessions; i++) {
		if (memcmp(s->sessions[i].id, id, 16) == 0) {
			return ((int) i);
		}
	}
	return (-1);
}

static int
session_get(struct standin *s, const char *name)
{
	int i = store_session_by_name(s, name);
	st_session *n;

	if (i >= 0) {
		return (i);
	}
	if (s->n_sessions == s->cap_sessions) {
		size_t ncap = s->cap_sessions ? s->cap_sessions * 2 : 8;

		if ((n = realloc(s->sessions, ncap * sizeof(*n))) == NULL) {
			return (-1);
		}
		s->sessions = n;
		s->cap_sessions = ncap;
	}
	n = &s->sessions[s->n_sessions];
	if ((n->name = strdup(name)) == NULL) {
		return (-1);
	}
	store_uuid4(s, n->id);
	n->created_us = store_now_us();
	return ((int) s->n_sessions++);
}

// ---- the run index ----

static uint64_t
id_hash(const uint8_t id[16])
{
	uint64_t a;
	uint64_t b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	a ^= b * UINT64_C(0x9e3779b97f4a7c15);
	a ^= a >> 31;
	a *= UINT64_C(0xbf58476d1ce4e5b9);
	return (a ^ (a >> 29));
}

const char *
store_run_status(const struct standin *s, const st_run *r)
{
	if (r->status != 0) {
		return (strtab_str(&s->strs, r->status));
	}
	if (r->has & LLMCOST_LS_H_ERROR) {
		return ("error");
	}
	return ((r->has & LLMCOST_LS_H_END) ? "success" : "pending");
}

st_run *
store_find(const struct standin *s, const uint8_t id[16])
{
	if (s->nindex == 0) {
		return (NULL);
	}
	for (size_t i = id_hash(id) & (s->nindex - 1); s->index[i] != 0;
	     i = (i + 1) & (s->nindex - 1)) {
		st_run *r = s->runs[s->index[i] - 1];

		if (memcmp(r->id, id, 16) == 0) {
			return (r);
		}
	}
	return (NULL);
}

static int
index_put(struct standin *s, size_t ri)
{
	if ((s->n_runs + 1) * 2 > s->nindex) {
		size_t n = s->nindex ? s->nindex * 2 : 4096;
		uint32_t *idx = calloc(n, sizeof(*idx));

		if (idx == NULL) {
			return (-1);
		}
		for (size_t k = 0; k < s->n_runs; k++) {
			size_t i = id_hash(s->runs[k]->id) & (n - 1);

			while (idx[i] != 0) {
				i = (i + 1) & (n - 1);
			}
			idx[i] = (uint32_t) k + 1;
		}
		free(s->index);
		s->index = idx;
		s->nindex = n;
	}
	{
		size_t i = id_hash(s->runs[ri]->id) & (s->nindex - 1);

		while (s->index[i] != 0) {
			i = (i + 1) & (s->nindex - 1);
		}
		s->index[i] = (uint32_t) ri + 1;
	}
	return (0);
}

static st_run *
run_new(struct standin *s, const uint8_t id[16])
{
	st_run *r;

	if (s->n_runs == s->cap_runs) {
		size_t ncap = s->cap_runs ? s->cap_runs * 2 : 1024;
		st_run **n = realloc(s->runs, ncap * sizeof(*n));

		if (n == NULL) {
			return (NULL);
		}
		s->runs = n;
		s->cap_runs = ncap;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return (NULL);
	}
	memcpy(r->id, id, 16);
	r->price = -1;
	s->runs[s->n_runs] = r;
	if (index_put(s, s->n_runs) != 0) {
		free(r);
		return (NULL);
	}
	s->n_runs++;
	return (r);
}

static void
run_free(st_run *r)
{
	if (r == NULL) {
		return;
	}
	free(r->dotted);
	free(r->error);
	free(r->tags);
	free(r->meta);
	free(r->details);
	free(r->cost_details);
	json_decref(r->payload);
	json_decref(r->pending_patch);
	free(r);
}

void
store_clear(struct standin *s)
{
	for (size_t i = 0; i < s->n_runs; i++) {
		run_free(s->runs[i]);
	}
	for (size_t i = 0; i < s->n_sessions; i++) {
		free(s->sessions[i].name);
	}
	free(s->runs);
	free(s->index);
	free(s->sorted);
	free(s->sessions);
	strtab_free(&s->strs);
	s->runs = NULL;
	s->index = NULL;
	s->sorted = NULL;
	s->sessions = NULL;
	s->n_runs = s->cap_runs = s->nindex = s->n_sorted = 0;
	s->n_sessions = s->cap_sessions = 0;
	s->sorted_dirty = 0;
}

// ---- ordering for queries ----

typedef struct sort_key {
	int64_t start_us;
	uint8_t id[16];
	uint32_t idx;
} sort_key;

static int
sort_cmp(const void *a, const void *b)
{
	const sort_key *x = a;
	const sort_key *y = b;

	if (x->start_us != y->start_us) {
		return (x->start_us < y->start_us ? -1 : 1);
	}
	return (memcmp(x->id, y->id, 16));
}

void
store_sort(struct standin *s)
{
	sort_key *k;
	uint32_t *sorted;
	size_t n = 0;

	if (!s->sorted_dirty) {
		return;
	}
	k = malloc((s->n_runs + 1) * sizeof(*k));
	sorted = malloc((s->n_runs + 1) * sizeof(*sorted));
	if (k == NULL || sorted == NULL) {
		free(k);
		free(sorted);
		return; // keep the old order; the next query tries again
	}
	for (size_t i = 0; i < s->n_runs; i++) {
		if (s->runs[i]->posted) {
			k[n].start_us = s->runs[i]->start_us;
			memcpy(k[n].id, s->runs[i]->id, 16);
			k[n].idx = (uint32_t) i;
			n++;
		}
	}
	qsort(k, n, sizeof(*k), sort_cmp);
	for (size_t i = 0; i < n; i++) {
		sorted[i] = k[i].idx;
	}
	free(k);
	free(s->sorted);
	s->sorted = sorted;
	s->n_sorted = n;
	s->sorted_dirty = 0;
}

// ---- filling a run from an operation ----

static int
set_meta(struct standin *s, st_run *r, const json_t *md)
{
	const char *k;
	json_t *v;
	size_t n = json_is_object(md) ? json_object_size(md) : 0;
	uint32_t *meta = n ? calloc(2 * n, sizeof(*meta)) : NULL;
	uint32_t i = 0;

	if (n > 0 && meta == NULL) {
		return (-1);
	}
	if (n > 0) {
		json_object_foreach((json_t *) md, k, v)
		{
			uint32_t val;

			if (json_is_string(v)) {
				val = strtab_intern(&s->strs,
				    json_string_value(v),
				    json_string_length(v));
			} else {
				char *txt = json_dumps(
				    v, JSON_COMPACT | JSON_ENCODE_ANY);

				val = txt
				    ? strtab_intern(&s->strs, txt, strlen(txt))
				    : 0;
				free(txt);
				val |= META_JSON;
			}
			meta[2 * i] = intern(s, k);
			meta[2 * i + 1] = val;
			i++;
		}
	}
	free(r->meta);
	r->meta = meta;
	r->n_meta = i;
	return (0);
}

static int
set_tags(struct standin *s, st_run *r, const json_t *tags)
{
	size_t n = json_is_array(tags) ? json_array_size(tags) : 0;
	uint32_t *t = n ? calloc(n, sizeof(*t)) : NULL;
	size_t i;
	json_t *v;

	if (n > 0 && t == NULL) {
		return (-1);
	}
	if (n > 0) {
		json_array_foreach(tags, i, v)
		{
			t[i] = intern(s, json_string_value(v));
		}
	}
	free(r->tags);
	r->tags = t;
	r->n_tags = (uint32_t) n;
	return (0);
}

static int
set_usage(struct standin *s, st_run *r, const llmcost_ls_usage *u)
{
	uint32_t n = u->n_input_details + u->n_output_details;
	st_detail *d = n ? calloc(n, sizeof(*d)) : NULL;

	if (n > 0 && d == NULL) {
		return (-1);
	}
	for (uint32_t i = 0; i < u->n_input_details; i++) {
		d[i].key = intern(s, u->input_details[i].key);
		d[i].n = u->input_details[i].n;
	}
	for (uint32_t i = 0; i < u->n_output_details; i++) {
		d[u->n_input_details + i].key
		    = intern(s, u->output_details[i].key);
		d[u->n_input_details + i].n = u->output_details[i].n;
	}
	free(r->details);
	r->details = d;
	r->n_in_d = u->n_input_details;
	r->n_out_d = u->n_output_details;
	r->usage_src = u->src;
	r->cost_has = u->has
	    & (LLMCOST_LS_U_INPUT_COST | LLMCOST_LS_U_OUTPUT_COST
	        | LLMCOST_LS_U_TOTAL_COST);
	r->cl_in = u->input_cost;
	r->cl_out = u->output_cost;
	r->cl_tot = u->total_cost;
	r->in_tok = u->input_tokens;
	r->out_tok = u->output_tokens;
	r->tot_tok = u->total_tokens;
	return (0);
}

static int
set_str(char **dst, const char *src)
{
	char *c = NULL;

	if (src != NULL && (c = strdup(src)) == NULL) {
		return (-1);
	}
	free(*dst);
	*dst = c;
	return (0);
}

// Copy into r the fields op carries: all of them for a create, the ones
// present for an update.
static int
fill(struct standin *s, st_run *r, const llmcost_ls_op *op, int session)
{
	const llmcost_ls_run *in = &op->info;
	const json_t *run = op->run;
	int create = op->kind == LLMCOST_LS_POST;
	const json_t *extra = json_object_get(run, "extra");

	if (create) {
		r->session = (uint32_t) session;
		r->has |= in->has;
	} else {
		r->has |= in->has
		    & (LLMCOST_LS_H_END | LLMCOST_LS_H_ERROR
		        | LLMCOST_LS_H_OUTPUTS);
	}
	if (in->has & LLMCOST_LS_H_TRACE) {
		memcpy(r->trace_id, in->trace_id, 16);
	}
	if (in->has & LLMCOST_LS_H_PARENT) {
		memcpy(r->parent_id, in->parent_run_id, 16);
	}
	if (in->dotted_order != NULL
	    && set_str(&r->dotted, in->dotted_order) != 0) {
		return (-1);
	}
	if (in->has & LLMCOST_LS_H_RUN_TYPE) {
		r->run_type = (uint8_t) in->run_type;
	}
	if (in->has & LLMCOST_LS_H_START) {
		if (r->start_us != in->start_us) {
			s->sorted_dirty = 1;
		}
		r->start_us = in->start_us;
	}
	if (in->has & LLMCOST_LS_H_END) {
		r->end_us = in->end_us;
	}
	if (in->name != NULL) {
		r->name = intern(s, in->name);
	}
	if (in->status != NULL) {
		r->status = intern(s, in->status);
	}
	if (in->error != NULL && set_str(&r->error, in->error) != 0) {
		return (-1);
	}
	if (create || json_object_get(run, "tags") != NULL) {
		if (set_tags(s, r, json_object_get(run, "tags")) != 0) {
			return (-1);
		}
	}
	if (create || json_object_get(extra, "metadata") != NULL) {
		if (set_meta(s, r, json_object_get(extra, "metadata")) != 0) {
			return (-1);
		}
		r->provider = intern(s, in->ls_provider);
		r->model = intern(s, in->ls_model_name);
	}
	if (create || in->usage.src != LLMCOST_LS_USAGE_NONE) {
		if (set_usage(s, r, &in->usage) != 0) {
			return (-1);
		}
	}
	if (!s->drop_payloads) {
		if (r->payload == NULL) {
			r->payload = json_deep_copy(run);
		} else if (json_object_update(r->payload, (json_t *) run)
		    != 0) {
			return (-1);
		}
		if (r->payload == NULL) {
			return (-1);
		}
	}
	return (0);
}

// Cost, once, when the run has its create and its end.
static void
finalize(struct standin *s, st_run *r)
{
	if (r->finalized || !r->posted || !(r->has & LLMCOST_LS_H_END)) {
		return;
	}
	r->finalized = 1;
	if (r->cost_has != 0) {
		// Client-supplied costs win (reference section 2.4).
		r->priced = 2;
		r->prompt_cost = r->cl_in;
		r->completion_cost = r->cl_out;
		r->total_cost = (r->cost_has & LLMCOST_LS_U_TOTAL_COST)
		    ? r->cl_tot
		    : r->cl_in + r->cl_out;
		return;
	}
	if (r->run_type == LLMCOST_LS_RT_LLM
	    && r->usage_src != LLMCOST_LS_USAGE_NONE) {
		prices_apply(s, &s->prices, r);
	}
}

// The trace_id and dotted_order LangSmith derives for POST /runs.
static int
derive_trace(struct standin *s, llmcost_ls_op *op, llmcost_ls_error *err)
{
	llmcost_ls_run *in = &op->info;
	char seg[LLMCOST_LS_SEGMENT_LEN + 1];
	char ids[LLMCOST__UUID_STR_LEN];
	char *dotted;
	const st_run *p;

	if (in->dotted_order != NULL || op->kind != LLMCOST_LS_POST) {
		return (0);
	}
	llmcost_ls_dotted_segment(in->start_us, in->id, seg);
	if (!(in->has & LLMCOST_LS_H_PARENT)) {
		memcpy(in->trace_id, in->id, 16);
		in->has |= LLMCOST_LS_H_TRACE;
		dotted = strdup(seg);
	} else {
		size_t n;

		if ((p = store_find(s, in->parent_run_id)) == NULL
		    || !p->posted || p->dotted == NULL) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "parent_run_id: the parent run is not stored; "
			    "send "
			    "trace_id and dotted_order"));
		}
		if (in->start_us < p->start_us) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': timestamp ordering "
			    "violation (the run starts before its parent)"));
		}
		memcpy(in->trace_id, p->trace_id, 16);
		in->has |= LLMCOST_LS_H_TRACE;
		n = strlen(p->dotted) + 1 + LLMCOST_LS_SEGMENT_LEN + 1;
		if ((dotted = malloc(n)) != NULL) {
			snprintf(dotted, n, "%s.%s", p->dotted, seg);
		}
	}
	if (dotted == NULL) {
		return (llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory"));
	}
	llmcost__uuid_str(in->trace_id, ids);
	if (json_object_set_new(op->run, "trace_id", json_string(ids)) != 0
	    || json_object_set_new(
	           op->run, "dotted_order", json_string(dotted))
	        != 0) {
		free(dotted);
		return (llmcost_ls_fail(
		    err, 500, LLMCOST_ENOMEM, "out of memory"));
	}
	free(dotted);
	// Point the typed view at the string now owned by the run.
	in->dotted_order
	    = json_string_value(json_object_get(op->run, "dotted_order"));
	in->has |= LLMCOST_LS_H_DOTTED;
	return (0);
}

static int
add_dup(json_t **dups, const uint8_t id[16])
{
	char ids[LLMCOST__UUID_STR_LEN];

	if (*dups == NULL && (*dups = json_array()) == NULL) {
		return (-1);
	}
	llmcost__uuid_str(id, ids);
	return (json_array_append_new(*dups, json_string(ids)));
}

int
store_apply(struct standin *s, llmcost_ls_batch *b, json_t **dups,
    llmcost_ls_error *err)
{
	int64_t visible = store_now_us() + (int64_t) s->lag_ms * 1000;
	int rv;

	*dups = NULL;
	// Validation first: the request is stored whole or not at all.
	for (size_t i = 0; i < b->n_ops; i++) {
		llmcost_ls_op *op = &b->ops[i];

		if (op->kind == LLMCOST_LS_POST
		    && (op->info.has & LLMCOST_LS_H_SESSION_ID)
		    && store_session_by_id(s, op->info.session_id) < 0) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "session_id: no project with this id (send "
			    "session_name to create one)"));
		}
		if ((rv = derive_trace(s, op, err)) != 0) {
			return (rv);
		}
	}
	for (size_t i = 0; i < b->n_ops; i++) {
		llmcost_ls_op *op = &b->ops[i];
		st_run *r = store_find(s, op->info.id);
		int session = 0;

		if (op->kind == LLMCOST_LS_POST) {
			if (r != NULL && r->posted) {
				s->n_dups++;
				if (add_dup(dups, op->info.id) != 0) {
					goto nomem;
				}
				continue;
			}
			session = (op->info.has & LLMCOST_LS_H_SESSION_ID)
			    ? store_session_by_id(s, op->info.session_id)
			    : session_get(s,
			        op->info.session_name ? op->info.session_name
			                              : "default");
			if (session < 0
			    || (r == NULL
			        && (r = run_new(s, op->info.id)) == NULL)
			    || fill(s, r, op, session) != 0) {
				goto nomem;
			}
			r->posted = 1;
			r->visible_us = visible;
			s->sorted_dirty = 1;
			s->n_stored++;
			if (r->pending_patch != NULL) {
				llmcost_ls_op pop = { .kind = LLMCOST_LS_PATCH,
					.run = r->pending_patch };
				llmcost_ls_error perr;

				// It was checked when it arrived.
				if (llmcost_ls_run_check(r->pending_patch,
				        LLMCOST_LS_PATCH,
				        LLMCOST_LS_F_TRACE_OPTIONAL, &pop.info,
				        &perr)
				        == 0
				    && fill(s, r, &pop, 0) != 0) {
					goto nomem;
				}
				json_decref(r->pending_patch);
				r->pending_patch = NULL;
			}
			finalize(s, r);
			continue;
		}
		// An update.
		if (r != NULL && r->patched) {
			s->n_dups++;
			if (add_dup(dups, op->info.id) != 0) {
				goto nomem;
			}
			continue;
		}
		if (r == NULL && (r = run_new(s, op->info.id)) == NULL) {
			goto nomem;
		}
		r->patched = 1;
		if (!r->posted) {
			r->pending_patch = json_incref(op->run);
			continue;
		}
		if (fill(s, r, op, 0) != 0) {
			goto nomem;
		}
		finalize(s, r);
	}
	return (0);
nomem:
	return (llmcost_ls_fail(err, 500, LLMCOST_ENOMEM, "out of memory"));
}
