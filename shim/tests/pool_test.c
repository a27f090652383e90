// Tests for the pool's memory (shim/client.c pool_map): init touches none
// of it; a client that makes its calls one at a time keeps reusing the
// first slot, so its resident pool stays a few small pages (the part of
// a large pool that asks for huge pages starts beyond them); and a client
// that holds every slot at once has all of its pool resident (which also
// shows that the page count read here, mincore(2), sees the pool).
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

#include "sink.h"

#define QUEUE (1u << 14) // a pool of about 25 MiB

// Bytes of the pool resident in memory.
static size_t
resident(llmcost_client *c)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	size_t npages = (c->pool_len + page - 1) / page;
	unsigned char *vec = malloc(npages);
	assert_non_null(vec);
	assert_int_equal(mincore(c->pool_mem, c->pool_len, vec), 0);
	size_t n = 0;
	for (size_t i = 0; i < npages; i++) {
		n += vec[i] & 1;
	}
	free(vec);
	return (n * page);
}

static void
one_call(llmcost_client *c)
{
	llmcost_call *call;
	llmcost_usage u = { .tokens = { 10, 20 } };

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "beta"));
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	LLMCOST_PASS(llmcost_call_end(call));
}

static void
test_pool_pages(void **state)
{
	(void) state;
	llmcost_client *c;
	static llmcost_call *held[QUEUE];

	LLMCOST_PASS(sink_client(&c, QUEUE));
	assert_int_equal((uintptr_t) c->pool % 64, 0);
	assert_true((size_t) QUEUE * sizeof(*c->pool) <= c->pool_len);
	assert_int_equal(resident(c), 0);

	for (int i = 0; i < 200; i++) {
		one_call(c);
		llmcost_stats st = llmcost_test_flushed(c, 10000);
		assert_int_equal(st.calls_dropped, 0);
	}
	size_t small = resident(c);
	if (small == 0 || small > 256 * 1024) {
		fail_msg("%zu bytes of the pool resident after calls made "
		         "one at a time (want a few pages)",
		    small);
	}

	for (uint32_t i = 0; i < QUEUE; i++) {
		LLMCOST_PASS(
		    llmcost_call_begin(c, "openai", "gpt-4o-mini", &held[i]));
	}
	size_t all = resident(c);
	if (all < (size_t) QUEUE * sizeof(*c->pool) / 2) {
		fail_msg("%zu bytes resident with every slot taken", all);
	}
	for (uint32_t i = 0; i < QUEUE; i++) {
		llmcost_call_abandon(held[i]);
	}
	llmcost_shutdown(c, 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_pages),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
