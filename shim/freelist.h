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
// 0 and *idx, or -1 when every slot is in use.
int llmcost__freelist_pop(llmcost__freelist *f, uint32_t *idx);
void llmcost__freelist_push(llmcost__freelist *f, uint32_t idx);
// The slot the next pop would probably return, or UINT32_MAX when none
// is left; a hint for prefetching (another thread may pop it first).
uint32_t llmcost__freelist_peek(llmcost__freelist *f);
// Pushes n > 0 slots with one CAS (idx[0] ends on top): the batch loop
// frees a whole batch at once instead of taking the head's cache line
// from the call sites once per call.
void llmcost__freelist_push_n(
    llmcost__freelist *f, const uint32_t *idx, uint32_t n);
// Number of free slots, by walking the stack: only meaningful while no
// other thread pops or pushes (tests, shutdown).
uint32_t llmcost__freelist_size(llmcost__freelist *f);

#endif // LLMCOST_FREELIST_H
