// A lock-free stack of free pool slots (a Treiber stack with a tagged
// head) in front of a bump counter of slots never used.  Last freed,
// first reused: the call path keeps touching the same few warm slots
// instead of cycling through the whole pool, and a slot is handed out for
// the first time only when the stack is empty, so the pool's pages are
// touched only as the queue grows.
#ifndef LLMCOST_FREELIST_H
#define LLMCOST_FREELIST_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct llmcost__freelist {
	_Atomic uint32_t *next; // next[i]: index + 1 of the slot below i
	uint32_t n;             // slots in all
	alignas(64) _Atomic uint64_t head; // (tag << 32) | (index + 1)
	_Atomic uint32_t fresh; // slots [fresh, n) were never handed out
} llmcost__freelist;

// All n slots start free (never used: nothing is written for them until
// they are popped).  Returns 0 or LLMCOST_ENOMEM.
int llmcost__freelist_init(llmcost__freelist *f, uint32_t n);
void llmcost__freelist_fini(llmcost__freelist *f);
// A free slot's index, or UINT32_MAX when every slot is in use.
// Inline: one CAS at a call site, without a call.
static inline uint32_t llmcost__freelist_take(llmcost__freelist *f);
// take, as 0 and *idx, or -1 when every slot is in use.
static inline int llmcost__freelist_pop(llmcost__freelist *f, uint32_t *idx);
void llmcost__freelist_push(llmcost__freelist *f, uint32_t idx);
// The slot the next pop would probably return, or UINT32_MAX when none
// is left; a hint for prefetching (another thread may pop it first).
static inline uint32_t llmcost__freelist_peek(llmcost__freelist *f);
// Pushes n > 0 slots with one CAS (idx[0] ends on top): the batch loop
// frees a whole batch at once instead of taking the head's cache line
// from the call sites once per call.
void llmcost__freelist_push_n(
    llmcost__freelist *f, const uint32_t *idx, uint32_t n);
// Slots handed out at least once: [0, used) have been written, the rest
// never.  Any thread.
static inline uint32_t llmcost__freelist_used(llmcost__freelist *f);
// Number of free slots, by walking the stack: only meaningful while no
// other thread pops or pushes (tests, shutdown).
uint32_t llmcost__freelist_size(llmcost__freelist *f);

static inline uint32_t
llmcost__freelist_take(llmcost__freelist *f)
{
	uint64_t h = atomic_load_explicit(&f->head, memory_order_acquire);
	for (;;) {
		uint32_t top = (uint32_t) h;
		if (top == 0) {
			break;
		}
		uint32_t below = atomic_load_explicit(
		    &f->next[top - 1], memory_order_relaxed);
		uint64_t nh = (((h >> 32) + 1) << 32) | below;
		if (atomic_compare_exchange_weak_explicit(&f->head, &h, nh,
		        memory_order_acquire, memory_order_acquire)) {
			return (top - 1);
		}
	}
	// The stack is empty: a slot never used, if any is left.
	uint32_t fr = atomic_load_explicit(&f->fresh, memory_order_relaxed);
	while (fr < f->n) {
		if (atomic_compare_exchange_weak_explicit(&f->fresh, &fr,
		        fr + 1, memory_order_relaxed, memory_order_relaxed)) {
			return (fr);
		}
	}
	return (UINT32_MAX);
}

static inline int
llmcost__freelist_pop(llmcost__freelist *f, uint32_t *idx)
{
	uint32_t i = llmcost__freelist_take(f);
	if (i == UINT32_MAX) {
		return (-1);
	}
	*idx = i;
	return (0);
}

static inline uint32_t
llmcost__freelist_peek(llmcost__freelist *f)
{
	uint32_t top
	    = (uint32_t) atomic_load_explicit(&f->head, memory_order_relaxed);
	if (top != 0) {
		return (top - 1);
	}
	uint32_t fr = atomic_load_explicit(&f->fresh, memory_order_relaxed);
	return (fr < f->n ? fr : UINT32_MAX);
}

static inline uint32_t
llmcost__freelist_used(llmcost__freelist *f)
{
	return (atomic_load_explicit(&f->fresh, memory_order_relaxed));
}

#endif // LLMCOST_FREELIST_H
