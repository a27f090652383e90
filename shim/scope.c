// DESIGN: request scopes (llmcost.h, "Request scopes").  A scope lives in
// the caller's memory: beginning one mints a UUIDv7 and copies the
// parent's chain of (start, id) segments, metadata and tags into it, so
// no allocation, lock or system call happens, and a scope can be read by
// many threads at once without any synchronisation of its own.  A call
// begun in a scope copies the chain into its pool slot (batch.c turns
// the chain into trace_id, parent_run_id and dotted_order) and inherits
// the scope's metadata and tags through the ordinary setters, so every
// cap and check stays in one place (call.c).  Ending a scope queues its
// chain run as one more pool slot of kind LLMCOST__KIND_SCOPE, begun and
// ended through call.c too; the collector exporter skips such records and
// LangSmith's turns them into chain runs.  Times: a segment's time is
// never before its parent's (LangSmith refuses "timestamp ordering
// violations"), so a wall clock stepped back is clamped to the parent.
#include <string.h>

#include "shim.h"
#include "uuid7.h"

#define SCOPE_MAGIC 0x73636f70u // "scop"
#define MAX_NAME    64

typedef struct scope {
	llmcost_client *client;
	uint32_t magic;
	uint16_t depth; // segments in seg[], this scope's own last
	uint16_t n_meta;
	uint16_t n_tags;
	uint16_t arena_used;
	llmcost__span name;
	uint64_t start_ns;
	uint64_t start_mono;
	llmcost__seg seg[LLMCOST_MAX_SCOPE_DEPTH];
	llmcost__span meta_key[LLMCOST_MAX_SCOPE_META];
	llmcost__span meta_val[LLMCOST_MAX_SCOPE_META];
	llmcost__span tags[LLMCOST_MAX_SCOPE_TAGS];
	// Strings, each followed by a NUL so that they can be handed to the
	// call setters as they are.
	char arena[LLMCOST_MAX_SCOPE_BYTES];
} scope;

_Static_assert(sizeof(scope) <= sizeof(llmcost_scope),
    "llmcost_scope is too small for a scope");
_Static_assert(_Alignof(scope) <= _Alignof(llmcost_scope),
    "llmcost_scope is not aligned for a scope");

static const scope *
open_scope(const llmcost_scope *s)
{
	const scope *sc = (const scope *) (const void *) s;
	if (sc == NULL || sc->magic != SCOPE_MAGIC) {
		return (NULL);
	}
	return (sc);
}

static int
put(scope *sc, const char *s, size_t len, llmcost__span *out)
{
	if (len + 1 > sizeof(sc->arena) - sc->arena_used) {
		return (LLMCOST_ETOOBIG);
	}
	memcpy(sc->arena + sc->arena_used, s, len);
	sc->arena[sc->arena_used + len] = '\0';
	out->off = sc->arena_used;
	out->len = (uint16_t) len;
	sc->arena_used += (uint16_t) (len + 1);
	return (0);
}

static const char *
str(const scope *sc, llmcost__span sp)
{
	return (sc->arena + sp.off);
}

static int
set_meta(scope *sc, const char *key, size_t klen, const char *val, size_t vlen)
{
	uint16_t i;
	for (i = 0; i < sc->n_meta; i++) {
		if (sc->meta_key[i].len == klen
		    && memcmp(str(sc, sc->meta_key[i]), key, klen) == 0) {
			break;
		}
	}
	if (i == sc->n_meta && sc->n_meta == LLMCOST_MAX_SCOPE_META) {
		return (LLMCOST_ETOOBIG);
	}
	uint16_t mark = sc->arena_used;
	llmcost__span ks
	    = i < sc->n_meta ? sc->meta_key[i] : (llmcost__span) { 0, 0 };
	llmcost__span vs;
	if ((i == sc->n_meta && put(sc, key, klen, &ks) != 0)
	    || put(sc, val, vlen, &vs) != 0) {
		sc->arena_used = mark;
		return (LLMCOST_ETOOBIG);
	}
	sc->meta_key[i] = ks;
	sc->meta_val[i] = vs;
	if (i == sc->n_meta) {
		sc->n_meta++;
	}
	return (0);
}

static int
add_tag(scope *sc, const char *tag, size_t len)
{
	for (uint16_t i = 0; i < sc->n_tags; i++) {
		if (sc->tags[i].len == len
		    && memcmp(str(sc, sc->tags[i]), tag, len) == 0) {
			return (0);
		}
	}
	if (sc->n_tags == LLMCOST_MAX_SCOPE_TAGS) {
		return (LLMCOST_ETOOBIG);
	}
	int rv = put(sc, tag, len, &sc->tags[sc->n_tags]);
	if (rv == 0) {
		sc->n_tags++;
	}
	return (rv);
}

int
llmcost_scope_begin(llmcost_client *c, const llmcost_scope *parent,
    const char *name, llmcost_scope *s)
{
	scope *sc = (scope *) (void *) s;
	const scope *p = NULL;
	size_t nlen;
	int rv;

	if (sc == NULL) {
		return (LLMCOST_EINVAL);
	}
	sc->magic = 0;
	if (c == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (c->cfg.flags & LLMCOST_F_DISABLE) {
		return (LLMCOST_EDISABLED);
	}
	if (parent != NULL
	    && ((p = open_scope(parent)) == NULL || p->client != c)) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = llmcost__str_check(name, MAX_NAME, 0, &nlen)) != 0) {
		return (rv);
	}
	uint16_t depth = p != NULL ? p->depth : 0;
	if (depth >= LLMCOST_MAX_SCOPE_DEPTH) {
		return (LLMCOST_ETOOBIG);
	}
	sc->client = c;
	sc->start_ns = llmcost__now_ns();
	sc->start_mono = llmcost__tsc_now(&c->clock);
	sc->n_meta = 0;
	sc->n_tags = 0;
	sc->arena_used = 0;
	if (p != NULL) {
		memcpy(sc->seg, p->seg, sizeof(sc->seg[0]) * depth);
		for (uint16_t i = 0; i < p->n_meta; i++) {
			if ((rv = set_meta(sc, str(p, p->meta_key[i]),
			         p->meta_key[i].len, str(p, p->meta_val[i]),
			         p->meta_val[i].len))
			    != 0) {
				return (rv);
			}
		}
		for (uint16_t i = 0; i < p->n_tags; i++) {
			if ((rv = add_tag(
			         sc, str(p, p->tags[i]), p->tags[i].len))
			    != 0) {
				return (rv);
			}
		}
	}
	if ((rv = put(sc, name, nlen, &sc->name)) != 0) {
		return (rv);
	}
	llmcost__seg *own = &sc->seg[depth];
	own->us = sc->start_ns / 1000u;
	if (depth > 0 && own->us < sc->seg[depth - 1].us) {
		own->us = sc->seg[depth - 1].us;
	}
	llmcost__uuid7(own->id, own->us * 1000u, c->seed);
	sc->depth = (uint16_t) (depth + 1);
	sc->magic = SCOPE_MAGIC;
	return (0);
}

int
llmcost_scope_set_meta(llmcost_scope *s, const char *key, const char *value)
{
	scope *sc = (scope *) (void *) s;
	size_t klen, vlen;
	int rv;

	if (open_scope(s) == NULL) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = llmcost__str_check(key, LLMCOST_MAX_KEY, 0, &klen)) != 0
	    || (rv = llmcost__str_check(value, LLMCOST_MAX_VALUE, 1, &vlen))
	        != 0) {
		return (rv);
	}
	return (set_meta(sc, key, klen, value, vlen));
}

int
llmcost_scope_add_tag(llmcost_scope *s, const char *tag)
{
	scope *sc = (scope *) (void *) s;
	size_t len;
	int rv;

	if (open_scope(s) == NULL) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = llmcost__str_check(tag, LLMCOST_MAX_TAG, 0, &len)) != 0) {
		return (rv);
	}
	return (add_tag(sc, tag, len));
}

// Makes call a child of sc: the chain of segments, and sc's metadata and
// tags through the call's own setters (a refusal is counted there).
static void
inherit(struct llmcost_call *call, const scope *sc)
{
	call->depth = (uint8_t) sc->depth;
	memcpy(call->scope, sc->seg, sizeof(sc->seg[0]) * sc->depth);
	for (uint16_t i = 0; i < sc->n_meta; i++) {
		(void) llmcost_call_set_meta(
		    call, str(sc, sc->meta_key[i]), str(sc, sc->meta_val[i]));
	}
	for (uint16_t i = 0; i < sc->n_tags; i++) {
		(void) llmcost_call_add_tag(call, str(sc, sc->tags[i]));
	}
}

int
llmcost_scope_call_begin(const llmcost_scope *s, const char *provider,
    const char *model, llmcost_call **callp)
{
	const scope *sc = open_scope(s);
	int rv;

	if (callp != NULL) {
		*callp = NULL;
	}
	if (sc == NULL) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = llmcost_call_begin(sc->client, provider, model, callp))
	    != 0) {
		return (rv);
	}
	inherit(*callp, sc);
	// The scope's metadata may match an exhausted hard budget (each
	// set_meta above counted nothing: this is the one check).
	if (sc->n_meta > 0 && llmcost__call_guarded(*callp)) {
		llmcost_call_abandon(*callp);
		*callp = NULL;
		return (LLMCOST_EBUDGET);
	}
	return (0);
}

int
llmcost_scope_run_id(const llmcost_scope *s, char *buf, size_t bufsz)
{
	const scope *sc = open_scope(s);
	if (sc == NULL || buf == NULL || bufsz < 37) {
		return (LLMCOST_EINVAL);
	}
	llmcost__uuid_str(sc->seg[sc->depth - 1].id, buf);
	return (0);
}

int
llmcost_scope_end(llmcost_scope *s)
{
	scope *sc = (scope *) (void *) s;
	llmcost_call *call = NULL;
	int rv;

	if (open_scope(s) == NULL) {
		return (LLMCOST_EINVAL);
	}
	sc->magic = 0;
	// The chain run: a slot named after the scope, with the scope's id,
	// times, metadata and tags, under the scope's own parents.
	rv = llmcost_call_begin(
	    sc->client, "llmcost", str(sc, sc->name), &call);
	if (rv != 0) {
		return (rv);
	}
	const llmcost__seg *own = &sc->seg[sc->depth - 1];
	call->kind = LLMCOST__KIND_SCOPE;
	memcpy(call->run_id, own->id, 16);
	call->has_id = 1;
	call->start_ns = own->us * 1000u;
	call->start_mono = sc->start_mono;
	for (uint16_t i = 0; i < sc->n_meta; i++) {
		(void) llmcost_call_set_meta(
		    call, str(sc, sc->meta_key[i]), str(sc, sc->meta_val[i]));
	}
	for (uint16_t i = 0; i < sc->n_tags; i++) {
		(void) llmcost_call_add_tag(call, str(sc, sc->tags[i]));
	}
	call->depth = (uint8_t) (sc->depth - 1);
	memcpy(call->scope, sc->seg, sizeof(sc->seg[0]) * call->depth);
	atomic_fetch_add_explicit(
	    &sc->client->scopes_ended, 1, memory_order_relaxed);
	return (llmcost_call_end(call));
}
