// The least call: a floor under bench_callsite's cold rows.  A shared
// library with the shape of llmcost's call API (begin, set_meta, add_tag,
// set_usage, end), called the way an application calls a shared
// libllmcost (through the PLT, its state in initial-exec thread-local
// storage), that does less than any such library that keeps a call can:
// it records pointers to the caller's strings instead of copying them,
// checks no string, and writes the call into a small per-thread ring
// that nothing drains.  A real call site also copies its strings, checks
// their length and UTF-8, finds a slot in a pool another thread empties,
// and hands the call on.  On cold caches its time is what this machine
// charges a shared library's call for reaching a thread's state and
// writing a record.  A static library or code inlined into the caller
// skips the PLT and GOT links, so this is no floor for those.
//
// Threading: any thread; each thread writes only its own ring.
#ifndef LLMCOST_BENCH_LEAST_CALL_H
#define LLMCOST_BENCH_LEAST_CALL_H

#include <stdint.h>

#include "llmcost.h"

typedef struct least_call least_call;

least_call *least_begin(const char *provider, const char *model);
void least_set_meta(least_call *c, const char *key, const char *value);
void least_add_tag(least_call *c, const char *tag);
void least_set_usage(least_call *c, const llmcost_usage *u);
void least_end(least_call *c);

// The calls this thread has ended so far (the bench checks that its
// calls reached the library).
uint64_t least_ended(void);

#endif
