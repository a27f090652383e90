// DESIGN: the one place where a call slot becomes a wire record.  The
// batch loop pops a batch's worth of slot indices (the shared ring's,
// then the per-thread lanes', lane.h), sizes one allocation
// for the records, their meta and tag arrays and a copy of every slot's
// string arena, converts each slot, and frees the slots at once: pool
// slots are the call site's scarce resource, and a destination that is
// slow or away must not keep them (each exporter bounds what it holds in
// batches instead, exporter.h).  Copying the arena whole keeps the
// slot's span offsets valid, so a record costs one memcpy of the bytes
// the call used, and a call whose strings are the last call's (a call
// site's calls, one after another) shares that call's copy and its meta
// and tag arrays instead.  The allocation happens on the batch loop's thread,
// never at the call site; when it fails, the popped calls are released
// and the caller counts them as dropped (ordering matters less than
// memory).
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "shim.h"

// Slots ahead of the one being read whose lines are asked for.
#define PREFETCH_AHEAD 4

// Rounds a size up so that what follows it is aligned for any type.
static size_t
align_up(size_t n)
{
	size_t a = alignof(max_align_t);
	return ((n + a - 1) / a * a);
}

// n as exactly w decimal digits (the low ones).
static void
digits(char *p, unsigned long n, int w)
{
	for (int i = w - 1; i >= 0; i--) {
		p[i] = (char) ('0' + n % 10u);
		n /= 10u;
	}
}

void
llmcost__time_segment(char out[22], uint64_t us)
{
	time_t sec = (time_t) (us / 1000000u);
	struct tm tm;

	gmtime_r(&sec, &tm);
	digits(out, (unsigned long) (tm.tm_year + 1900), 4);
	digits(out + 4, (unsigned long) (tm.tm_mon + 1), 2);
	digits(out + 6, (unsigned long) tm.tm_mday, 2);
	out[8] = 'T';
	digits(out + 9, (unsigned long) tm.tm_hour, 2);
	digits(out + 11, (unsigned long) tm.tm_min, 2);
	digits(out + 13, (unsigned long) tm.tm_sec, 2);
	digits(out + 15, (unsigned long) (us % 1000000u), 6);
	out[21] = 'Z';
}

void
llmcost__dotted_segment(char out[58], uint64_t us, const uint8_t id[16])
{
	char u[37];

	llmcost__time_segment(out, us);
	llmcost__uuid_str(id, u);
	memcpy(out + 22, u, 36);
}

// The request scope of a call: trace and parent ids, and its
// dotted_order written to out (LLMCOST__DOTTED_LEN(call->depth) bytes).
// The run's own segment is never earlier than its parent's.
static void
scope_from_call(
    const struct llmcost_call *call, char *out, llmcost_proto_record *r)
{
	uint8_t d = call->depth;
	if (d == 0) {
		return;
	}
	memcpy(r->trace_id, call->scope[0].id, 16);
	memcpy(r->parent_run_id, call->scope[d - 1].id, 16);
	char *p = out;
	for (uint8_t i = 0; i < d; i++) {
		llmcost__dotted_segment(
		    p, call->scope[i].us, call->scope[i].id);
		p[58] = '.';
		p += 59;
	}
	uint64_t us = call->start_ns / 1000u;
	if (us < call->scope[d - 1].us) {
		us = call->scope[d - 1].us;
	}
	llmcost__dotted_segment(p, us, r->run_id);
	r->dotted_order.ptr = out;
	r->dotted_order.len = (uint32_t) LLMCOST__DOTTED_LEN(d);
}

// The bytes of a call's strings in a batch: its arena, the dotted_order
// of a call in a scope, its platform.
static size_t
call_bytes(const struct llmcost_call *call)
{
	return (call->arena_used + LLMCOST__DOTTED_LEN(call->depth)
	    + call->platform_len);
}

// Whether call's strings are prev's, byte for byte and span for span
// (calls of one call site): then its record can share prev's.  Calls
// in a scope (their dotted_order is their own) are not compared.
_Static_assert(sizeof(llmcost__kv_span) == sizeof(uint64_t)
        && sizeof(llmcost__span) == sizeof(uint32_t),
    "spans compare as one word");

static int
same_strings(const struct llmcost_call *call, const struct llmcost_call *prev)
{
	if (call->depth != 0 || prev->depth != 0
	    || call->arena_used != prev->arena_used
	    || call->n_meta != prev->n_meta || call->n_tags != prev->n_tags
	    || call->platform_len != prev->platform_len
	    || call->provider.off != prev->provider.off
	    || call->provider.len != prev->provider.len
	    || call->model.off != prev->model.off
	    || call->model.len != prev->model.len) {
		return (0);
	}
	// The spans inline (a few of them), the bytes with one memcmp.
	for (uint16_t k = 0; k < call->n_meta; k++) {
		uint64_t a, b;
		memcpy(&a, &call->meta[k], sizeof(a));
		memcpy(&b, &prev->meta[k], sizeof(b));
		if (a != b) {
			return (0);
		}
	}
	for (uint16_t k = 0; k < call->n_tags; k++) {
		uint32_t a, b;
		memcpy(&a, &call->tags[k], sizeof(a));
		memcpy(&b, &prev->tags[k], sizeof(b));
		if (a != b) {
			return (0);
		}
	}
	return (memcmp(call->arena, prev->arena, call->arena_used) == 0
	    && (call->platform_len == 0
	        || memcmp(call->platform, prev->platform, call->platform_len)
	            == 0));
}

// Fills r's fields but its strings from call (every field: r is not
// zeroed first).  A field added to the record must be set here too; the
// size below is there to make that change stop here.
_Static_assert(sizeof(void *) != 8 || sizeof(llmcost_proto_record) == 328,
    "record_numbers and record_like set every field of the record");
static void
record_numbers(const struct llmcost_call *call, llmcost_proto_record *r)
{
	llmcost__call_id(call, r->run_id);
	r->start_ns = call->start_ns;
	r->duration_ns = call->duration_ns;
	r->status = call->status;
	r->n_usage_extra = 0;
	memset(r->usage_extra, 0, sizeof(r->usage_extra));
	memcpy(r->usage, call->usage, sizeof(r->usage));
	memcpy(r->fees, call->fees, sizeof(r->fees));
	r->has_provider_cost = call->provider_cost_pusd >= 0;
	r->provider_cost_pusd
	    = r->has_provider_cost ? (uint64_t) call->provider_cost_pusd : 0;
	r->usage_flags = call->usage_flags;
	r->service_tier = call->service_tier;
	memset(r->trace_id, 0, sizeof(r->trace_id));
	memset(r->parent_run_id, 0, sizeof(r->parent_run_id));
	r->dotted_order.ptr = NULL;
	r->dotted_order.len = 0;
}

// Converts one call slot into r.  The slot's arena (arena_used bytes) is
// copied to arena, followed by the dotted_order of a call in a scope;
// meta and tags receive the call's entries.
static void
record_from_call(const struct llmcost_call *call, char *arena,
    llmcost_proto_kv *meta, llmcost_proto_str *tags, llmcost_proto_record *r)
{
	memcpy(arena, call->arena, call->arena_used);
	record_numbers(call, r);
	r->provider.ptr = arena + call->provider.off;
	r->provider.len = call->provider.len;
	r->model.ptr = arena + call->model.off;
	r->model.len = call->model.len;
	for (uint16_t k = 0; k < call->n_meta; k++) {
		meta[k].key.ptr = arena + call->meta[k].key.off;
		meta[k].key.len = call->meta[k].key.len;
		meta[k].val.ptr = arena + call->meta[k].val.off;
		meta[k].val.len = call->meta[k].val.len;
	}
	for (uint16_t k = 0; k < call->n_tags; k++) {
		tags[k].ptr = arena + call->tags[k].off;
		tags[k].len = call->tags[k].len;
	}
	r->meta = call->n_meta > 0 ? meta : NULL;
	r->n_meta = call->n_meta;
	r->tags = call->n_tags > 0 ? tags : NULL;
	r->n_tags = call->n_tags;
	scope_from_call(call, arena + call->arena_used, r);
	char *plat
	    = arena + call->arena_used + LLMCOST__DOTTED_LEN(call->depth);
	if (call->platform_len > 0) {
		memcpy(plat, call->platform, call->platform_len);
	}
	r->platform.ptr = call->platform_len > 0 ? plat : NULL;
	r->platform.len = call->platform_len;
}

// Converts call into r sharing the strings, meta and tags of prev's
// record, whose call has the same strings (same_strings).
static void
record_like(const struct llmcost_call *call, const llmcost_proto_record *prev,
    llmcost_proto_record *r)
{
	record_numbers(call, r);
	r->provider = prev->provider;
	r->model = prev->model;
	r->meta = prev->meta;
	r->n_meta = prev->n_meta;
	r->tags = prev->tags;
	r->n_tags = prev->n_tags;
	r->platform = prev->platform;
}

int
llmcost__batch_take(
    llmcost_client *c, uint32_t max, llmcost__batch **bp, uint32_t *np)
{
	uint32_t idx[LLMCOST_PROTO_MAX_RECORDS];
	uint32_t n = 0;
	size_t n_meta = 0, n_tags = 0, bytes = 0;

	if (max > LLMCOST_PROTO_MAX_RECORDS) {
		max = LLMCOST_PROTO_MAX_RECORDS;
	}
	size_t text_bytes = 0;
	while (n < max && llmcost__ring_pop(&c->submit_ring, &idx[n]) == 0) {
		n++;
	}
	n += llmcost__lanes_take(c, idx + n, max - n);
	*np = n;
	// The slots were last written on the callers' cores: each first
	// read is a miss, so ask for the lines a few slots ahead (the
	// counts here, then the rest of a typical call's lines, shim.h).
	for (uint32_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n) {
			const char *p
			    = (const char *) &c->pool[idx[i + PREFETCH_AHEAD]];
			__builtin_prefetch(p);
			__builtin_prefetch(p + 128);
		}
		const struct llmcost_call *call = &c->pool[idx[i]];
		n_meta += call->n_meta;
		n_tags += call->n_tags;
		bytes += call_bytes(call);
		text_bytes += call->text_used;
	}

	// Every term is bounded by the caps (4096 records of at most
	// LLMCOST_MAX_CALL_BYTES and LLMCOST_MAX_META + LLMCOST_MAX_TAGS
	// entries), so the sum cannot overflow.
	size_t off_rec = align_up(sizeof(llmcost__batch));
	size_t off_meta = off_rec + align_up(n * sizeof(llmcost_proto_record));
	size_t off_tags
	    = off_meta + align_up(n_meta * sizeof(llmcost_proto_kv));
	size_t off_kinds
	    = off_tags + align_up(n_tags * sizeof(llmcost_proto_str));
	size_t off_texts = off_kinds + align_up(n);
	size_t off_str = off_texts
	    + (text_bytes > 0 ? align_up(n * sizeof(llmcost_proto_str)) : 0);
	char *mem = malloc(off_str + bytes + text_bytes);
	if (mem == NULL) {
		if (n > 0) {
			llmcost__call_release_n(c, idx, n);
		}
		return (LLMCOST_ENOMEM);
	}

	llmcost__batch *b = (llmcost__batch *) (void *) mem;
	llmcost_proto_record *rec
	    = (llmcost_proto_record *) (void *) (mem + off_rec);
	llmcost_proto_kv *meta
	    = (llmcost_proto_kv *) (void *) (mem + off_meta);
	llmcost_proto_str *tags
	    = (llmcost_proto_str *) (void *) (mem + off_tags);
	uint8_t *kinds = (uint8_t *) (mem + off_kinds);
	char *str = mem + off_str;
	llmcost_proto_str *texts = text_bytes > 0
	    ? (llmcost_proto_str *) (void *) (mem + off_texts)
	    : NULL;
	char *text = str + bytes;

	memset(b, 0, sizeof(*b));
	for (uint32_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n) {
			const struct llmcost_call *ahead
			    = &c->pool[idx[i + PREFETCH_AHEAD]];
			const char *p = (const char *) ahead;
			__builtin_prefetch(p + 64);
			__builtin_prefetch(p + 192);
			__builtin_prefetch(&ahead->tags[0]);
			__builtin_prefetch(&ahead->arena[0]);
		}
		struct llmcost_call *call = &c->pool[idx[i]];
		// A call with the last one's strings shares its record's
		// (one compare instead of a copy; the encoders find them
		// by pointer); every slot is still held, so prev is intact.
		if (i > 0 && same_strings(call, &c->pool[idx[i - 1]])) {
			record_like(call, &rec[i - 1], &rec[i]);
		} else {
			record_from_call(call, str, meta, tags, &rec[i]);
			meta += call->n_meta;
			tags += call->n_tags;
			str += call_bytes(call);
		}
		kinds[i] = call->kind;
		if (texts != NULL) {
			texts[i].ptr = text;
			texts[i].len = call->text_used;
			if (call->text_used > 0) {
				memcpy(text,
				    c->texts
				        + (size_t) call->index
				            * c->cfg.text_max,
				    call->text_used);
				text += call->text_used;
			}
		}
	}
	// Every slot back at once: one atomic operation per batch.
	if (n > 0) {
		llmcost__call_release_n(c, idx, n);
	}
	b->n = n;
	b->str_bytes = bytes;
	b->bytes = off_str + bytes + text_bytes;
	b->records = rec;
	b->kinds = kinds;
	b->texts = texts;
	*bp = b;
	return (0);
}

void
llmcost__batch_free(llmcost__batch *b)
{
	if (b != NULL && b->owned != NULL) {
		llmcost_proto_msg_free(b->owned);
	}
	free(b);
}
