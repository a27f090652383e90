// DESIGN: the hard guard must cost nothing when no hard budget is
// exhausted (one atomic load at llmcost_call_begin and
// llmcost_call_set_meta) and stay free of locks, system calls and
// allocation when one is.  So the collector's BUDGET_STATE is turned,
// on the exporter's thread, into a fixed table of 64-bit hashes of each
// condition (dimension, key, value), and a call site compares the
// hashes of its own attributes against it, reading every word with an
// atomic load under a sequence counter (a seqlock with C11 fences):
// readers never write shared memory, so many threads checking at once
// do not contend.  A hash collision could refuse a call that matches no
// budget; with 64-bit FNV-1a over a handful of strings the odds are
// about 2^-64 per comparison.
#include <string.h>

#include "guard.h"

#define READ_TRIES 4

uint64_t
llmcost__guard_hash(
    uint32_t dim, const char *key, size_t klen, const char *val, size_t vlen)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	const uint64_t p = UINT64_C(0x100000001b3);

	h = (h ^ (uint8_t) dim) * p;
	for (size_t i = 0; i < klen; i++) {
		h = (h ^ (uint8_t) key[i]) * p;
	}
	// 0xff never occurs in UTF-8: the key and value cannot run together.
	h = (h ^ 0xffu) * p;
	for (size_t i = 0; i < vlen; i++) {
		h = (h ^ (uint8_t) val[i]) * p;
	}
	return (h != 0 ? h : 1);
}

void
llmcost__guard_publish(
    llmcost__guard_tab *t, const llmcost_proto_budget_state *s)
{
	uint64_t seq = atomic_load_explicit(&t->seq, memory_order_relaxed);
	uint32_t n = s->n < LLMCOST__GUARD_MAX ? s->n : LLMCOST__GUARD_MAX;

	atomic_store_explicit(&t->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (uint32_t i = 0; i < n; i++) {
		const llmcost_proto_guard *g = &s->guards[i];
		uint32_t nc = g->n_conds < LLMCOST__GUARD_CONDS
		    ? g->n_conds
		    : LLMCOST__GUARD_CONDS;
		for (uint32_t j = 0; j < nc; j++) {
			const llmcost_proto_guard_cond *c = &g->conds[j];
			atomic_store_explicit(&t->cond[i][j],
			    llmcost__guard_hash(c->dim, c->key.ptr, c->key.len,
			        c->val.ptr, c->val.len),
			    memory_order_relaxed);
		}
		atomic_store_explicit(
		    &t->n_conds[i], nc, memory_order_relaxed);
	}
	atomic_store_explicit(&t->n, n, memory_order_relaxed);
	atomic_store_explicit(
	    &t->generation, s->generation, memory_order_relaxed);
	atomic_store_explicit(&t->seq, seq + 2, memory_order_release);
}

static int
has(const uint64_t *attrs, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		if (attrs[i] == h) {
			return (1);
		}
	}
	return (0);
}

int
llmcost__guard_match(
    const llmcost__guard_tab *t, const uint64_t *attrs, size_t n_attrs)
{
	for (int tries = 0; tries < READ_TRIES; tries++) {
		uint64_t s1
		    = atomic_load_explicit(&t->seq, memory_order_acquire);
		if (s1 & 1) {
			continue;
		}
		uint32_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
		int match = 0;
		for (uint32_t i = 0; i < n && i < LLMCOST__GUARD_MAX && !match;
		     i++) {
			uint32_t nc = atomic_load_explicit(
			    &t->n_conds[i], memory_order_relaxed);
			match = 1;
			for (uint32_t j = 0;
			     j < nc && j < LLMCOST__GUARD_CONDS; j++) {
				uint64_t h = atomic_load_explicit(
				    &t->cond[i][j], memory_order_relaxed);
				if (!has(attrs, n_attrs, h)) {
					match = 0;
					break;
				}
			}
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&t->seq, memory_order_relaxed)
		    == s1) {
			return (match);
		}
	}
	return (0);
}
