// A bounded lock-free multi-producer multi-consumer queue of 32-bit
// indices (Vyukov's bounded MPMC design).  Producers and consumers never
// take a lock and never make a system call; a full queue fails at once.
#ifndef LLMCOST_RING_H
#define LLMCOST_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct llmcost__ring_cell {
	_Atomic uint64_t seq;
	uint32_t val;
} llmcost__ring_cell;

typedef struct llmcost__ring {
	llmcost__ring_cell *cells;
	uint64_t mask;
	alignas(64) _Atomic uint64_t head; // next position to push
	alignas(64) _Atomic uint64_t tail; // next position to pop
} llmcost__ring;

// capacity must be a power of two, at least 2.  Returns 0 or LLMCOST_ENOMEM.
int llmcost__ring_init(llmcost__ring *r, uint32_t capacity);
void llmcost__ring_fini(llmcost__ring *r);
// 0 on success, -1 when full.
int llmcost__ring_push(llmcost__ring *r, uint32_t val);
// 0 on success, -1 when empty.
int llmcost__ring_pop(llmcost__ring *r, uint32_t *val);
// Positions taken by producers so far (pushes done or in progress).
uint64_t llmcost__ring_pushed(llmcost__ring *r);
// Approximate number of queued entries.
uint64_t llmcost__ring_depth(llmcost__ring *r);

#endif // LLMCOST_RING_H
