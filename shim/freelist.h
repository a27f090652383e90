// A lock-free stack of free pool slots (a Treiber stack with a tagged
// head).  Last freed, first reused: the call path keeps touching the same
// few warm slots instead of cycling through the whole pool.
#ifndef LLMCOST_FREELIST_H
#define LLMCOST_FREELIST_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct llmcost__freelist {
	_Atomic uint32_t *next; // next[i]: index + 1 of the slot below i
	alignas(64) _Atomic uint64_t head; // (tag << 32) | (index + 1)
} llmcost__freelist;

// All n slots start free.  Returns 0 or LLMCOST_ENOMEM.
int llmcost__freelist_init(llmcost__freelist *f, uint32_t n);
void llmcost__freelist_fini(llmcost__freelist *f);
// 0 and *idx, or -1 when every slot is in use.
int llmcost__freelist_pop(llmcost__freelist *f, uint32_t *idx);
void llmcost__freelist_push(llmcost__freelist *f, uint32_t idx);
// Number of free slots, by walking the stack: only meaningful while no
// other thread pops or pushes (tests, shutdown).
uint32_t llmcost__freelist_size(llmcost__freelist *f);

#endif // LLMCOST_FREELIST_H
