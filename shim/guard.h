// The hard budget guard at the call site: a small table of the hard
// budgets the collector says are exhausted (BUDGET_STATE, proto/README.md),
// each as the hashes of the conditions a call must all meet to be
// refused.  One writer (the collector exporter's thread) publishes it;
// any number of call sites read it with atomic loads only, under a
// sequence counter (a seqlock): no lock, no system call, no allocation.
//
// Threading: llmcost__guard_publish from one thread at a time;
// llmcost__guard_check from any thread.
#ifndef LLMCOST_GUARD_H
#define LLMCOST_GUARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "llmcost_proto.h"

#define LLMCOST__GUARD_MAX   LLMCOST_PROTO_MAX_GUARDS
#define LLMCOST__GUARD_CONDS LLMCOST_PROTO_MAX_GUARD_CONDS

typedef struct llmcost__guard_tab {
	_Atomic uint64_t seq; // odd while a publish is under way
	_Atomic uint32_t n;   // guards in force
	_Atomic uint32_t n_conds[LLMCOST__GUARD_MAX];
	_Atomic uint64_t cond[LLMCOST__GUARD_MAX][LLMCOST__GUARD_CONDS];
	_Atomic uint64_t generation; // of the state published last
} llmcost__guard_tab;

// The hash of one condition or attribute: dim (llmcost_proto_guard_dim),
// key (empty for provider and model) and value.  Never 0.
uint64_t llmcost__guard_hash(
    uint32_t dim, const char *key, size_t klen, const char *val, size_t vlen);

// Publishes s (replacing the table).  Conditions over the table's caps
// cannot occur (the decoder refuses them).
void llmcost__guard_publish(
    llmcost__guard_tab *t, const llmcost_proto_budget_state *s);

// Whether a call with these attribute hashes (any order; provider,
// model and each metadata entry) meets every condition of a guard in
// force.  Returns 1 (refuse) or 0.  Reads the table with atomic loads
// only; a publish racing the read makes it read again, at most a few
// times, then it answers 0 (fail open: the guard never blocks a call
// because of its own bookkeeping).
int llmcost__guard_match(
    const llmcost__guard_tab *t, const uint64_t *attrs, size_t n_attrs);

#endif // LLMCOST_GUARD_H
