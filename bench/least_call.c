// The least call (least_call.h): a floor, not a design.
#include "least_call.h"

#include <string.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

#define LEAST_META 4
#define LEAST_RING 64 // calls per thread, overwritten in turn

struct least_call {
	uint64_t start;
	uint64_t end;
	const char *provider;
	const char *model;
	const char *meta_key[LEAST_META];
	const char *meta_val[LEAST_META];
	const char *tag;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint32_t n_meta;
};

// Initial-exec, as libllmcost's thread-local data (shim/lane.c), but
// holding the records themselves: one link fewer than libllmcost, whose
// thread-local line names a lane and a slot in its pool.
static _Thread_local struct {
	uint64_t ended;
	least_call ring[LEAST_RING];
} least __attribute__((tls_model("initial-exec")));

// The counter, as libllmcost reads it (shim/tsc.h).
static uint64_t
least_now(void)
{
#if defined(__x86_64__)
	return (__rdtsc());
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
#endif
}

least_call *
least_begin(const char *provider, const char *model)
{
	least_call *c = &least.ring[least.ended % LEAST_RING];
	c->start = least_now();
	c->provider = provider;
	c->model = model;
	c->n_meta = 0;
	c->tag = NULL;
	return (c);
}

void
least_set_meta(least_call *c, const char *key, const char *value)
{
	if (c->n_meta < LEAST_META) {
		c->meta_key[c->n_meta] = key;
		c->meta_val[c->n_meta++] = value;
	}
}

void
least_add_tag(least_call *c, const char *tag)
{
	c->tag = tag;
}

// A copy of constant size, inlined: no call into the C library.
void
least_set_usage(least_call *c, const llmcost_usage *u)
{
	memcpy(c->usage, u->tokens, sizeof(c->usage));
}

void
least_end(least_call *c)
{
	c->end = least_now();
	least.ended++;
}

uint64_t
least_ended(void)
{
	return (least.ended);
}
