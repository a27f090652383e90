// Tests for the retry backoff (shim/backoff.c): the exact doubling
// sequence and its cap, reset, bounds on odd arguments, no overflow near
// UINT32_MAX, and jitter that stays inside its band, spreads, and repeats
// for the same seed.
#include "testutil.h"

#include "backoff.h"

static void
test_doubling_capped(void **state)
{
	(void) state;
	// The collector exporter's policy: 50 ms doubling to 2 s.  The cap
	// is never passed, not even once on the way up.
	static const uint32_t want[]
	    = { 50, 100, 200, 400, 800, 1600, 2000, 2000, 2000 };
	llmcost__backoff b;

	llmcost__backoff_init(&b, 50, 2000, 0, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t w = llmcost__backoff_next(&b);
		if (w != want[i]) {
			fail_msg("wait %zu: %u ms, want %u", i, w, want[i]);
		}
	}
	llmcost__backoff_reset(&b);
	assert_int_equal(llmcost__backoff_next(&b), 50);
	assert_int_equal(llmcost__backoff_next(&b), 100);
}

static void
test_odd_arguments(void **state)
{
	(void) state;
	llmcost__backoff b;

	// A cap that is not a power-of-two multiple of the base.
	llmcost__backoff_init(&b, 3, 10, 0, 0);
	assert_int_equal(llmcost__backoff_next(&b), 3);
	assert_int_equal(llmcost__backoff_next(&b), 6);
	assert_int_equal(llmcost__backoff_next(&b), 10);
	assert_int_equal(llmcost__backoff_next(&b), 10);

	// A zero base waits 1 ms; a cap below the base is the base.
	llmcost__backoff_init(&b, 0, 0, 0, 0);
	assert_int_equal(llmcost__backoff_next(&b), 1);
	assert_int_equal(llmcost__backoff_next(&b), 1);
	llmcost__backoff_init(&b, 500, 100, 0, 0);
	assert_int_equal(llmcost__backoff_next(&b), 500);
	assert_int_equal(llmcost__backoff_next(&b), 500);

	// Near the top of the range the doubling must not wrap.
	llmcost__backoff_init(&b, 0x80000001u, 0xffffffffu, 0, 0);
	assert_int_equal(llmcost__backoff_next(&b), 0x80000001u);
	assert_int_equal(llmcost__backoff_next(&b), 0xffffffffu);
	assert_int_equal(llmcost__backoff_next(&b), 0xffffffffu);
}

// Draws n waits from a fresh backoff whose base equals its cap, so that
// every undisturbed wait is w; checks each lies in [lo, w] and returns
// how many distinct values came out.
static int
draw(
    uint32_t w, uint32_t pct, uint64_t seed, uint32_t lo, uint32_t *out, int n)
{
	llmcost__backoff b;
	int distinct = 0;

	llmcost__backoff_init(&b, w, w, pct, seed);
	for (int i = 0; i < n; i++) {
		out[i] = llmcost__backoff_next(&b);
		if (out[i] < lo || out[i] > w) {
			fail_msg("jitter %u%%: wait %u outside [%u, %u]", pct,
			    out[i], lo, w);
		}
		int dup = 0;
		for (int j = 0; j < i; j++) {
			dup |= out[j] == out[i];
		}
		distinct += !dup;
	}
	return (distinct);
}

static void
test_jitter(void **state)
{
	(void) state;
	uint32_t a[64], b[64];

	// Full jitter: anywhere in [0, w], and spread out.
	assert_true(draw(1000, 100, 42, 0, a, 64) > 32);
	// Equal jitter: [w/2, w].
	assert_true(draw(1000, 50, 42, 500, a, 64) > 32);
	// Above 100 counts as 100.
	assert_true(draw(1000, 250, 42, 0, a, 64) > 32);
	// The same seed gives the same waits; another seed, other waits.
	(void) draw(1000, 100, 7, 0, a, 64);
	(void) draw(1000, 100, 7, 0, b, 64);
	assert_memory_equal(a, b, sizeof(a));
	(void) draw(1000, 100, 8, 0, b, 64);
	assert_memory_not_equal(a, b, sizeof(a));

	// Jitter shapes each wait, not the doubling underneath.
	llmcost__backoff bo;
	llmcost__backoff_init(&bo, 100, 800, 10, 1);
	uint32_t base = 100;
	for (int i = 0; i < 6; i++) {
		uint32_t w = llmcost__backoff_next(&bo);
		assert_in_range(w, base - base / 10, base);
		base = base < 800 ? base * 2 : 800;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling_capped),
		cmocka_unit_test(test_odd_arguments),
		cmocka_unit_test(test_jitter),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
