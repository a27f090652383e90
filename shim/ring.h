// A bounded lock-free multi-producer multi-consumer queue of 32-bit
// values (Vyukov's bounded MPMC design, ring.c).  Producers and consumers
// never take a lock, never make a system call and never wait: push fails
// at once when the queue is full, pop when it is empty.
//
// Threading: push and pop may be called from any number of threads;
// init and fini from one thread while no other uses the ring.
#ifndef LLMCOST_RING_H
#define LLMCOST_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct llmcost__ring_cell {
	_Atomic uint64_t seq; // whose turn it is (ring.c)
	uint32_t val;
} llmcost__ring_cell;

typedef struct llmcost__ring {
	llmcost__ring_cell *cells;
	uint64_t mask;                     // capacity - 1
	alignas(64) _Atomic uint64_t head; // next position to push
	alignas(64) _Atomic uint64_t tail; // next position to pop
} llmcost__ring;

// capacity must be a power of two, at least 2.  Returns 0, LLMCOST_EINVAL
// (any other capacity) or LLMCOST_ENOMEM; on failure nothing needs fini.
int llmcost__ring_init(llmcost__ring *r, uint32_t capacity);
// Frees the cells; NULL cells are fine.
void llmcost__ring_fini(llmcost__ring *r);
// 0 and *posp (the position taken; posp may be NULL) on success; -1 when
// full: capacity entries are queued, or the cell capacity positions back
// is still being read by the consumer that claimed it.
int llmcost__ring_push(llmcost__ring *r, uint32_t val, uint64_t *posp);
// 0 and *val on success; -1 (*val untouched) when empty: nothing is
// queued, or the producer of the next entry has claimed its position but
// not yet filled it (llmcost__ring_depth already counts that entry).
int llmcost__ring_pop(llmcost__ring *r, uint32_t *val);
// Positions taken by producers so far (pushes done or in progress).
uint64_t llmcost__ring_pushed(llmcost__ring *r);
// Positions pushed minus positions popped: the queued entries, counting
// pushes and pops in progress; exact only while none is.
uint64_t llmcost__ring_depth(llmcost__ring *r);

#endif // LLMCOST_RING_H
