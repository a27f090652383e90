// DESIGN: Vyukov's bounded MPMC queue.  Each cell carries a sequence
// number that tells producers and consumers whose turn it is: a producer
// at position p may fill the cell when seq == p and publishes it by
// storing p + 1; a consumer at position p may take it when seq == p + 1
// and frees it by storing p + capacity.  Producers claim positions with a
// CAS on head, consumers with a CAS on tail.  Nobody ever waits for
// anybody: a cell that another thread has claimed but not finished reads
// as full to a producer and as empty to a consumer, and the call fails at
// once (a full queue makes the call site count a drop; an empty read makes
// the consumer look again later).  The shim uses one ring, of pool
// indices of ended calls: many producers (call sites), one consumer (the
// batch loop, sender.c).  Free slots are a stack, not a ring
// (freelist.c).
#include <stdlib.h>

#include "llmcost.h"
#include "ring.h"

int
llmcost__ring_init(llmcost__ring *r, uint32_t capacity)
{
	// Two cells at least: with one, a producer cannot tell a full cell
	// from the one it may fill next (seq == pos in both cases).
	if (capacity < 2 || (capacity & (capacity - 1)) != 0) {
		return (LLMCOST_EINVAL);
	}
	r->cells = calloc(capacity, sizeof(*r->cells));
	if (r->cells == NULL) {
		return (LLMCOST_ENOMEM);
	}
	for (uint32_t i = 0; i < capacity; i++) {
		atomic_init(&r->cells[i].seq, i);
	}
	r->mask = capacity - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return (0);
}

void
llmcost__ring_fini(llmcost__ring *r)
{
	free(r->cells);
	r->cells = NULL;
}

int
llmcost__ring_push(llmcost__ring *r, uint32_t val, uint64_t *posp)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	llmcost__ring_cell *cell;

	for (;;) {
		cell = &r->cells[pos & r->mask];
		uint64_t seq
		    = atomic_load_explicit(&cell->seq, memory_order_acquire);
		int64_t dif = (int64_t) (seq - pos);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&r->head,
			        &pos, pos + 1, memory_order_relaxed,
			        memory_order_relaxed)) {
				break;
			}
		} else if (dif < 0) {
			return (-1);
		} else {
			pos = atomic_load_explicit(
			    &r->head, memory_order_relaxed);
		}
	}
	cell->val = val;
	atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
	if (posp != NULL) {
		*posp = pos;
	}
	return (0);
}

int
llmcost__ring_pop(llmcost__ring *r, uint32_t *val)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	llmcost__ring_cell *cell;

	for (;;) {
		cell = &r->cells[pos & r->mask];
		uint64_t seq
		    = atomic_load_explicit(&cell->seq, memory_order_acquire);
		int64_t dif = (int64_t) (seq - (pos + 1));
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&r->tail,
			        &pos, pos + 1, memory_order_relaxed,
			        memory_order_relaxed)) {
				break;
			}
		} else if (dif < 0) {
			return (-1);
		} else {
			pos = atomic_load_explicit(
			    &r->tail, memory_order_relaxed);
		}
	}
	*val = cell->val;
	atomic_store_explicit(
	    &cell->seq, pos + r->mask + 1, memory_order_release);
	return (0);
}

uint64_t
llmcost__ring_depth(llmcost__ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	return (head > tail ? head - tail : 0);
}

uint64_t
llmcost__ring_pushed(llmcost__ring *r)
{
	return (atomic_load_explicit(&r->head, memory_order_acquire));
}
