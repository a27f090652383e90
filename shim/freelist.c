// DESIGN: the pool's free slots form a stack linked through next[]; the
// head packs the top index with a 32-bit tag that every successful CAS
// increments, so a pop that raced with pop-push-pop of the same slot (the
// ABA problem) fails its CAS and retries.  Wrapping the tag would take
// 2^32 operations between one thread's load and its CAS.  Slots never
// used sit behind a bump counter (fresh), taken only when the stack is
// empty: init writes nothing per slot, so neither next[] nor the pool is
// touched before calls need it.  Taking the top slot (and peeking at it)
// is inline in freelist.h: a call site's one CAS needs no call.  No
// lock, no system call, no allocation after init.
#include <stdlib.h>

#include "freelist.h"
#include "llmcost.h"

int
llmcost__freelist_init(llmcost__freelist *f, uint32_t n)
{
	f->next = calloc(n, sizeof(*f->next));
	if (f->next == NULL) {
		return (LLMCOST_ENOMEM);
	}
	// calloc leaves the pages untouched; slot 0 is handed out first,
	// then 1, 2, ...
	f->n = n;
	atomic_init(&f->head, 0);
	atomic_init(&f->fresh, 0);
	return (0);
}

void
llmcost__freelist_fini(llmcost__freelist *f)
{
	free((void *) f->next);
	f->next = NULL;
}

void
llmcost__freelist_push(llmcost__freelist *f, uint32_t idx)
{
	uint64_t h = atomic_load_explicit(&f->head, memory_order_relaxed);
	for (;;) {
		atomic_store_explicit(
		    &f->next[idx], (uint32_t) h, memory_order_relaxed);
		uint64_t nh = (((h >> 32) + 1) << 32) | (idx + 1);
		if (atomic_compare_exchange_weak_explicit(&f->head, &h, nh,
		        memory_order_release, memory_order_relaxed)) {
			return;
		}
	}
}

void
llmcost__freelist_push_n(llmcost__freelist *f, const uint32_t *idx, uint32_t n)
{
	// Link the slots among themselves first: nobody else can see them.
	for (uint32_t i = 0; i + 1 < n; i++) {
		atomic_store_explicit(
		    &f->next[idx[i]], idx[i + 1] + 1, memory_order_relaxed);
	}
	uint32_t last = idx[n - 1];
	uint64_t h = atomic_load_explicit(&f->head, memory_order_relaxed);
	for (;;) {
		atomic_store_explicit(
		    &f->next[last], (uint32_t) h, memory_order_relaxed);
		uint64_t nh = (((h >> 32) + 1) << 32) | (idx[0] + 1);
		if (atomic_compare_exchange_weak_explicit(&f->head, &h, nh,
		        memory_order_release, memory_order_relaxed)) {
			return;
		}
	}
}

uint32_t
llmcost__freelist_size(llmcost__freelist *f)
{
	uint32_t n = f->n - atomic_load(&f->fresh);
	uint32_t top = (uint32_t) atomic_load(&f->head);
	while (top != 0) {
		n++;
		top = atomic_load_explicit(
		    &f->next[top - 1], memory_order_relaxed);
	}
	return (n);
}
