// Tests for the bounded lock-free MPMC ring (shim/ring.c): capacity
// checks, full and empty boundaries, FIFO order across many wrap-arounds,
// depth, and a multi-producer multi-consumer stress run in which every
// value must come out exactly once.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "testutil.h"

#include "ring.h"

static void
test_init_rejects_bad_capacity(void **state)
{
	(void) state;
	// 1 is a power of two but too small: with a single cell a producer
	// cannot tell the full cell from the one it may fill next.
	static const uint32_t bad[]
	    = { 0, 1, 3, 5, 6, 7, 12, 100, 1000, 0x80000001u, 0xffffffffu };
	llmcost__ring r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		int rv = llmcost__ring_init(&r, bad[i]);
		if (rv != LLMCOST_EINVAL) {
			fail_msg("capacity %u: got %s, want LLMCOST_EINVAL",
			    bad[i], llmcost_err_name(rv));
		}
		assert_null(r.cells);
	}
}

static void
test_init_accepts_powers_of_two(void **state)
{
	(void) state;
	llmcost__ring r;

	for (uint32_t cap = 2; cap <= 4096; cap <<= 1) {
		LLMCOST_PASS(llmcost__ring_init(&r, cap));
		assert_non_null(r.cells);
		assert_int_equal(r.mask, cap - 1);
		assert_int_equal(llmcost__ring_depth(&r), 0);
		llmcost__ring_fini(&r);
		assert_null(r.cells);
	}
}

// Fills a ring of capacity cap to the brim, checks it refuses one more,
// then drains it in FIFO order.
static void
fill_and_drain(uint32_t cap, uint32_t base)
{
	llmcost__ring r;
	uint32_t v;

	LLMCOST_PASS(llmcost__ring_init(&r, cap));
	assert_int_equal(llmcost__ring_pop(&r, &v), -1);
	for (uint32_t i = 0; i < cap; i++) {
		assert_int_equal(llmcost__ring_push(&r, base + i, NULL), 0);
		assert_int_equal(llmcost__ring_depth(&r), i + 1);
	}
	// Exactly capacity entries fit: the next push fails and changes
	// nothing.
	assert_int_equal(llmcost__ring_push(&r, 0xdeadbeefu, NULL), -1);
	assert_int_equal(llmcost__ring_push(&r, 0xdeadbeefu, NULL), -1);
	assert_int_equal(llmcost__ring_depth(&r), cap);
	for (uint32_t i = 0; i < cap; i++) {
		v = 0;
		assert_int_equal(llmcost__ring_pop(&r, &v), 0);
		assert_int_equal(v, base + i);
		assert_int_equal(llmcost__ring_depth(&r), cap - i - 1);
	}
	v = 12345;
	assert_int_equal(llmcost__ring_pop(&r, &v), -1);
	assert_int_equal(v, 12345); // untouched when empty
	assert_int_equal(llmcost__ring_depth(&r), 0);
	llmcost__ring_fini(&r);
}

static void
test_full_and_empty(void **state)
{
	(void) state;
	fill_and_drain(2, 0);
	fill_and_drain(8, 100);
	fill_and_drain(64, 0xfffffff0u - 64);
	fill_and_drain(1024, 7);
}

// Positions grow without bound while the index wraps: push and pop in
// varying chunk sizes so that head and tail pass the end of the cell array
// many thousands of times at every offset.
static void
test_wrap_around(void **state)
{
	(void) state;
	llmcost__ring r;
	uint32_t next_in = 0, next_out = 0;

	LLMCOST_PASS(llmcost__ring_init(&r, 4));
	for (int round = 0; round < 50000; round++) {
		// At most one entry is left over from the previous round, so
		// up to three more always fit.
		uint32_t k = (uint32_t) (round % 3) + 1;
		for (uint32_t i = 0; i < k; i++) {
			assert_int_equal(
			    llmcost__ring_push(&r, next_in++, NULL), 0);
		}
		assert_int_equal(llmcost__ring_depth(&r), next_in - next_out);
		// Leave one entry behind every other round so that the ring
		// is also exercised while partly filled.
		uint32_t keep = (round % 2 == 0) ? 1 : 0;
		while (next_in - next_out > keep) {
			uint32_t v;
			assert_int_equal(llmcost__ring_pop(&r, &v), 0);
			assert_int_equal(v, next_out);
			next_out++;
		}
		assert_int_equal(llmcost__ring_depth(&r), keep);
	}
	while (next_out < next_in) {
		uint32_t v;
		assert_int_equal(llmcost__ring_pop(&r, &v), 0);
		assert_int_equal(v, next_out);
		next_out++;
	}
	uint32_t v;
	assert_int_equal(llmcost__ring_pop(&r, &v), -1);
	assert_true(atomic_load(&r.head) > 90000);
	assert_int_equal(atomic_load(&r.head), atomic_load(&r.tail));
	llmcost__ring_fini(&r);
}

// After many wraps the ring must still hold exactly capacity entries.
static void
test_full_after_wrapping(void **state)
{
	(void) state;
	llmcost__ring r;
	uint32_t v;

	LLMCOST_PASS(llmcost__ring_init(&r, 8));
	for (uint32_t i = 0; i < 1003; i++) {
		assert_int_equal(llmcost__ring_push(&r, i, NULL), 0);
		assert_int_equal(llmcost__ring_pop(&r, &v), 0);
		assert_int_equal(v, i);
	}
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(llmcost__ring_push(&r, 500 + i, NULL), 0);
	}
	assert_int_equal(llmcost__ring_push(&r, 999, NULL), -1);
	assert_int_equal(llmcost__ring_depth(&r), 8);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(llmcost__ring_pop(&r, &v), 0);
		assert_int_equal(v, 500 + i);
	}
	assert_int_equal(llmcost__ring_pop(&r, &v), -1);
	llmcost__ring_fini(&r);
}

// ---- MPMC stress ----

#define N_PRODUCERS   4
#define PER_PRODUCER  200000u
#define N_VALUES      (N_PRODUCERS * PER_PRODUCER)
#define MAX_CONSUMERS 4
// Consecutive failed pushes or pops after which a thread declares the
// ring wedged (a correct ring never gets near this), so that a broken
// ring fails the test instead of hanging it.
#define MAX_SPINS (1u << 24)

typedef struct stress {
	llmcost__ring ring;
	_Atomic uint32_t consumed;
	_Atomic uint8_t *seen; // count per value
	_Atomic int errors;
	_Atomic int wedged;
} stress;

typedef struct producer_arg {
	stress *st;
	uint32_t id;
} producer_arg;

static void *
producer_main(void *arg)
{
	producer_arg *pa = arg;
	uint32_t base = pa->id * PER_PRODUCER;

	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		uint32_t spins = 0;
		while (
		    llmcost__ring_push(&pa->st->ring, base + i, NULL) != 0) {
			if (atomic_load(&pa->st->wedged)
			    || ++spins > MAX_SPINS) {
				atomic_store(&pa->st->wedged, 1);
				return (NULL);
			}
			sched_yield(); // full: retry
		}
	}
	return (NULL);
}

static void *
consumer_main(void *arg)
{
	stress *st = arg;
	// Per producer, the last value this consumer saw: a consumer takes
	// positions in increasing order and each producer pushes its values
	// in increasing order, so each subsequence must increase.
	int64_t last[N_PRODUCERS];

	for (int p = 0; p < N_PRODUCERS; p++) {
		last[p] = -1;
	}
	uint32_t spins = 0;
	while (atomic_load(&st->consumed) < N_VALUES) {
		uint32_t v;
		if (llmcost__ring_pop(&st->ring, &v) != 0) {
			if (atomic_load(&st->wedged) || ++spins > MAX_SPINS) {
				atomic_store(&st->wedged, 1);
				return (NULL);
			}
			sched_yield(); // empty: retry
			continue;
		}
		spins = 0;
		if (v >= N_VALUES) {
			atomic_fetch_add(&st->errors, 1);
		} else {
			uint32_t p = v / PER_PRODUCER;
			if ((int64_t) v <= last[p]) {
				atomic_fetch_add(&st->errors, 1);
			}
			last[p] = v;
			atomic_fetch_add(&st->seen[v], 1);
		}
		atomic_fetch_add(&st->consumed, 1);
	}
	return (NULL);
}

static void
run_stress(uint32_t capacity, int n_consumers)
{
	stress st;
	pthread_t prod[N_PRODUCERS], cons[MAX_CONSUMERS];
	producer_arg pa[N_PRODUCERS];

	memset(&st, 0, sizeof(st));
	LLMCOST_PASS(llmcost__ring_init(&st.ring, capacity));
	st.seen = calloc(N_VALUES, sizeof(st.seen[0]));
	assert_non_null(st.seen);

	for (int i = 0; i < n_consumers; i++) {
		assert_int_equal(
		    pthread_create(&cons[i], NULL, consumer_main, &st), 0);
	}
	for (uint32_t i = 0; i < N_PRODUCERS; i++) {
		pa[i].st = &st;
		pa[i].id = i;
		assert_int_equal(
		    pthread_create(&prod[i], NULL, producer_main, &pa[i]), 0);
	}
	for (int i = 0; i < N_PRODUCERS; i++) {
		assert_int_equal(pthread_join(prod[i], NULL), 0);
	}
	for (int i = 0; i < n_consumers; i++) {
		assert_int_equal(pthread_join(cons[i], NULL), 0);
	}

	if (atomic_load(&st.wedged)) {
		fail_msg("ring wedged after %u of %u values",
		    atomic_load(&st.consumed), N_VALUES);
	}
	assert_int_equal(atomic_load(&st.errors), 0);
	assert_int_equal(atomic_load(&st.consumed), N_VALUES);
	uint32_t missing = 0, repeated = 0;
	for (uint32_t v = 0; v < N_VALUES; v++) {
		uint8_t n = atomic_load(&st.seen[v]);
		if (n == 0) {
			missing++;
		} else if (n > 1) {
			repeated++;
		}
	}
	if (missing != 0 || repeated != 0) {
		fail_msg("%u values never seen, %u seen more than once",
		    missing, repeated);
	}
	uint32_t v;
	assert_int_equal(llmcost__ring_pop(&st.ring, &v), -1);
	assert_int_equal(llmcost__ring_depth(&st.ring), 0);
	free((void *) st.seen);
	llmcost__ring_fini(&st.ring);
}

static void
test_mpmc_one_consumer(void **state)
{
	(void) state;
	run_stress(64, 1);
}

static void
test_mpmc_two_consumers(void **state)
{
	(void) state;
	run_stress(64, 2);
}

// A tiny ring makes producers and consumers meet on the same cells all
// the time, so full and empty retries are frequent.
static void
test_mpmc_tiny_ring(void **state)
{
	(void) state;
	run_stress(2, 2);
}

// More consumers than cores: consumers are preempted between claiming a
// position and taking its value.
static void
test_mpmc_four_consumers(void **state)
{
	(void) state;
	run_stress(8, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_capacity),
		cmocka_unit_test(test_init_accepts_powers_of_two),
		cmocka_unit_test(test_full_and_empty),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_full_after_wrapping),
		cmocka_unit_test(test_mpmc_one_consumer),
		cmocka_unit_test(test_mpmc_two_consumers),
		cmocka_unit_test(test_mpmc_tiny_ring),
		cmocka_unit_test(test_mpmc_four_consumers),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
