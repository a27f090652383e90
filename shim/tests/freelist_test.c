// Tests for the lock-free free stack (shim/freelist.c): LIFO order and
// the empty boundary on one thread, then a stress run in which many more
// threads than cores pop and push a small stack as fast as they can.
// That is the ABA situation the tagged head exists for: a thread reads
// the top slot and the one below it, is preempted, and meanwhile others
// pop both and push the first back; without the tag its CAS would succeed
// and put a slot that is in use back on top.  Each slot has an owner
// word that a popper claims with a CAS, so a slot handed to two threads
// at once is caught at the moment it happens, and at the end the stack
// must hold every slot exactly once.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "testutil.h"

#include "freelist.h"

static void
test_init_all_free(void **state)
{
	(void) state;
	llmcost__freelist f;

	LLMCOST_PASS(llmcost__freelist_init(&f, 5));
	assert_int_equal(llmcost__freelist_size(&f), 5);
	// Slot 0 on top, then 1, 2, ...
	for (uint32_t i = 0; i < 5; i++) {
		uint32_t idx = 99;
		assert_int_equal(llmcost__freelist_pop(&f, &idx), 0);
		assert_int_equal(idx, i);
	}
	uint32_t idx = 12345;
	assert_int_equal(llmcost__freelist_pop(&f, &idx), -1);
	assert_int_equal(idx, 12345); // untouched when empty
	assert_int_equal(llmcost__freelist_size(&f), 0);
	llmcost__freelist_fini(&f);
	assert_null(f.next);
}

// Last freed, first reused.
static void
test_lifo(void **state)
{
	(void) state;
	llmcost__freelist f;
	uint32_t a, b, c, v;

	LLMCOST_PASS(llmcost__freelist_init(&f, 3));
	assert_int_equal(llmcost__freelist_pop(&f, &a), 0);
	assert_int_equal(llmcost__freelist_pop(&f, &b), 0);
	assert_int_equal(llmcost__freelist_pop(&f, &c), 0);
	llmcost__freelist_push(&f, b);
	llmcost__freelist_push(&f, a);
	llmcost__freelist_push(&f, c);
	assert_int_equal(llmcost__freelist_size(&f), 3);
	assert_int_equal(llmcost__freelist_pop(&f, &v), 0);
	assert_int_equal(v, c);
	assert_int_equal(llmcost__freelist_pop(&f, &v), 0);
	assert_int_equal(v, a);
	assert_int_equal(llmcost__freelist_pop(&f, &v), 0);
	assert_int_equal(v, b);
	assert_int_equal(llmcost__freelist_pop(&f, &v), -1);
	llmcost__freelist_fini(&f);
}

// Freed slots are reused before slots never used; a batch pushed at once
// comes back in its order; init writes nothing per slot, so the pool's
// pages stay untouched until calls need them.
static void
test_push_n_before_fresh(void **state)
{
	(void) state;
	llmcost__freelist f;
	uint32_t v;
	const uint32_t back[] = { 2, 0 };

	LLMCOST_PASS(llmcost__freelist_init(&f, 6));
	for (uint32_t i = 0; i < 6; i++) {
		assert_int_equal(atomic_load(&f.next[i]), 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(llmcost__freelist_pop(&f, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(llmcost__freelist_size(&f), 3);
	llmcost__freelist_push_n(&f, back, 2);
	assert_int_equal(llmcost__freelist_size(&f), 5);
	const uint32_t want[] = { 2, 0, 3, 4, 5 };
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(llmcost__freelist_pop(&f, &v), 0);
		assert_int_equal(v, want[i]);
	}
	assert_int_equal(llmcost__freelist_pop(&f, &v), -1);
	// A single slot through push_n, on an empty stack.
	llmcost__freelist_push_n(&f, &want[4], 1);
	assert_int_equal(llmcost__freelist_pop(&f, &v), 0);
	assert_int_equal(v, 5);
	llmcost__freelist_fini(&f);
}

// ---- concurrent stress ----

// Fewer slots than the threads can hold, so pops race for the last
// slots and sometimes find the stack empty.
#define N_THREADS 8
#define N_SLOTS   8
#define MAX_HOLD  3 // slots one thread holds at once
#define ROUNDS    100000u
// Consecutive failed pops after which a thread declares the stack wedged
// (slots lost), so that a broken stack fails the test instead of hanging.
#define MAX_SPINS (1u << 22)

typedef struct stress {
	llmcost__freelist f;
	_Atomic uint32_t owner[N_SLOTS]; // 0 free, else thread id + 1
	_Atomic uint64_t pops;
	_Atomic uint32_t double_owned; // a popped slot was already held
	_Atomic uint32_t bad_index;    // a popped index out of range
	_Atomic uint32_t bad_release;  // a slot changed owner while held
	_Atomic int wedged;
	_Atomic int stop; // a thread found corruption: every thread stops
} stress;

typedef struct worker_arg {
	stress *st;
	uint32_t id;
} worker_arg;

static void *
worker_main(void *arg)
{
	worker_arg *wa = arg;
	stress *st = wa->st;
	uint32_t me = wa->id + 1;
	uint32_t held[MAX_HOLD];
	uint32_t x = wa->id * 2654435761u + 1; // xorshift32 state

	for (uint32_t round = 0; round < ROUNDS; round++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		uint32_t want = x % MAX_HOLD + 1;
		uint32_t n = 0;
		uint32_t spins = 0;

		while (n < want) {
			uint32_t idx;
			if (llmcost__freelist_pop(&st->f, &idx) != 0) {
				if (n > 0) {
					break; // work with what we have
				}
				if (atomic_load(&st->stop)) {
					return (NULL);
				}
				if (atomic_load(&st->wedged)
				    || ++spins > MAX_SPINS) {
					atomic_store(&st->wedged, 1);
					return (NULL);
				}
				sched_yield();
				continue;
			}
			atomic_fetch_add(&st->pops, 1);
			// After either failure the stack is corrupt (it may
			// hand out the same slot forever): stop this thread.
			if (idx >= N_SLOTS) {
				atomic_fetch_add(&st->bad_index, 1);
				atomic_store(&st->stop, 1);
				return (NULL);
			}
			uint32_t expect = 0;
			if (!atomic_compare_exchange_strong(
			        &st->owner[idx], &expect, me)) {
				// Another thread holds it: the stack handed
				// out a slot that was not free.
				atomic_fetch_add(&st->double_owned, 1);
				atomic_store(&st->stop, 1);
				return (NULL);
			}
			held[n++] = idx;
		}
		// Give the slots back at once (the quick free and re-pop
		// that makes ABA likely), in an order that varies, so that
		// the stack's order keeps changing.
		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = (x >> 8) & 1 ? i : n - 1 - i;
			uint32_t idx = held[k];
			uint32_t expect = me;
			if (!atomic_compare_exchange_strong(
			        &st->owner[idx], &expect, 0)) {
				atomic_fetch_add(&st->bad_release, 1);
			}
			llmcost__freelist_push(&st->f, idx);
		}
		if (atomic_load(&st->wedged) || atomic_load(&st->stop)) {
			return (NULL);
		}
	}
	return (NULL);
}

static void
test_stress_aba(void **state)
{
	(void) state;
	static stress st;
	pthread_t th[N_THREADS];
	worker_arg wa[N_THREADS];

	memset(&st, 0, sizeof(st));
	LLMCOST_PASS(llmcost__freelist_init(&st.f, N_SLOTS));
	for (uint32_t i = 0; i < N_THREADS; i++) {
		wa[i].st = &st;
		wa[i].id = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker_main, &wa[i]), 0);
	}
	for (uint32_t i = 0; i < N_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
	}

	uint32_t dbl = atomic_load(&st.double_owned);
	uint32_t bad = atomic_load(&st.bad_index);
	uint32_t rel = atomic_load(&st.bad_release);
	if (dbl != 0 || bad != 0 || rel != 0 || atomic_load(&st.wedged)) {
		fail_msg("after %llu pops: %u slots handed out while held, "
		         "%u indices out of range, %u owners changed while "
		         "held, wedged %d",
		    (unsigned long long) atomic_load(&st.pops), dbl, bad, rel,
		    atomic_load(&st.wedged));
	}
	// Every thread made progress: at least one pop per round.
	assert_true(atomic_load(&st.pops) >= (uint64_t) N_THREADS * ROUNDS);

	// Every slot is free and on the stack exactly once: walk it (at most
	// N_SLOTS + 1 steps, so a cycle cannot hang the test).
	uint32_t seen[N_SLOTS] = { 0 };
	uint32_t steps = 0;
	uint32_t top = (uint32_t) atomic_load(&st.f.head);
	while (top != 0 && steps <= N_SLOTS) {
		assert_true(top - 1 < N_SLOTS);
		seen[top - 1]++;
		steps++;
		top = atomic_load(&st.f.next[top - 1]);
	}
	assert_int_equal(steps, N_SLOTS);
	for (uint32_t i = 0; i < N_SLOTS; i++) {
		if (seen[i] != 1 || atomic_load(&st.owner[i]) != 0) {
			fail_msg("slot %u: on the stack %u times, owner %u", i,
			    seen[i], atomic_load(&st.owner[i]));
		}
	}
	assert_int_equal(llmcost__freelist_size(&st.f), N_SLOTS);
	llmcost__freelist_fini(&st.f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_all_free),
		cmocka_unit_test(test_lifo),
		cmocka_unit_test(test_push_n_before_fresh),
		cmocka_unit_test(test_stress_aba),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
