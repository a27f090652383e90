// The least call (least_call.h): a floor, not a design.
#include "least_call.h"

#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#define LEAST_META  4
#define LEAST_USAGE 16
#define LEAST_RING  64 // calls per thread, overwritten in turn

struct least_call {
	uint64_t start;
	uint64_t end;
	const char *provider;
	const char *model;
	const char *meta_key[LEAST_META];
	const char *meta_val[LEAST_META];
	const char *tag;
	uint64_t usage[LEAST_USAGE];
	uint32_t n_meta;
};

// The same thread-local model as libllmcost's lane (shim/lane.c).
static _Thread_local struct {
	uint64_t ended;
	least_call ring[LEAST_RING];
} least __attribute__((tls_model("initial-exec")));

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

void
least_set_usage(least_call *c, const uint64_t *tokens, int n)
{
	if (n > LEAST_USAGE) {
		n = LEAST_USAGE;
	}
	memcpy(c->usage, tokens, (size_t) n * sizeof(*tokens));
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
