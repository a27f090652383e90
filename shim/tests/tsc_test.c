// Tests for the call site's clock (shim/tsc.c): without the counter it
// is CLOCK_MONOTONIC; with it, after calibration, its time lies within
// CLOCK_MONOTONIC reads taken around it; a re-anchor that finds the
// counter's time ahead of CLOCK_MONOTONIC steers back without stepping
// back (the UUIDv7 order of one thread's calls depends on it); a counter
// that strays beyond LLMCOST__TSC_MAX_ERR_NS is given up for
// CLOCK_MONOTONIC; and readers racing the updater (run under the thread
// sanitizer in CI) never read a half-written scale.  The error an
// injected offset causes is set by the test, not by timing, so the
// checks hold on a loaded machine.
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "testutil.h"

#include "tsc.h"

// Slack for the counter's time against CLOCK_MONOTONIC reads around it:
// the calibration pair's error (at most 1 us, tsc.c) times the slope
// error it causes, far below this.
#define SLACK_NS 200000u

static void
nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

// Reads the clock between two CLOCK_MONOTONIC reads and checks it.
static uint64_t
check_within(llmcost__tsc *k)
{
	uint64_t a = llmcost__mono_ns();
	uint64_t x = llmcost__tsc_now(k);
	uint64_t b = llmcost__mono_ns();
	if (x + SLACK_NS < a || x > b + SLACK_NS) {
		fail_msg("clock %llu outside [%llu, %llu] by more than %u ns",
		    (unsigned long long) x, (unsigned long long) a,
		    (unsigned long long) b, SLACK_NS);
	}
	return (x);
}

// Runs updates until the counter is calibrated (the updater's state 1).
static void
calibrate(llmcost__tsc *k)
{
	for (int i = 0; i < 5000 && k->state == 0; i++) {
		nap_ms(2);
		assert_int_equal(llmcost__tsc_update(k), 0);
	}
	assert_int_equal(k->state, 1);
}

// One update that publishes (or gives up): an update skips its round
// when every read of the pair was interrupted (tsc.c read_pair), which a
// loaded machine makes likely now and then, so try until one counts.
// Returns the update's result.
static int
update(llmcost__tsc *k)
{
	for (int i = 0; i < 5000; i++) {
		uint32_t s = atomic_load(&k->seq);
		int rv = llmcost__tsc_update(k);
		if (atomic_load(&k->seq) != s || k->state < 0) {
			return (rv);
		}
		nap_ms(1);
	}
	fail_msg("no update published in 5000 tries");
	return (-1);
}

// Moves the published time by off_ns, as a counter that ran fast (or
// slow) against CLOCK_MONOTONIC would, and lets the next update re-anchor
// at once.
static void
shift(llmcost__tsc *k, int64_t off_ns)
{
	llmcost__tsc_params *p = &k->p[atomic_load(&k->seq) & 1];
	atomic_store(&p->ns0, atomic_load(&p->ns0) + (uint64_t) off_ns);
	k->last_ns = 0;
}

static void
test_fallback(void **state)
{
	(void) state;
	llmcost__tsc k;

	llmcost__tsc_init(&k, 0);
	assert_int_equal(k.state, -1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(llmcost__tsc_update(&k), 0);
		// Exactly CLOCK_MONOTONIC: between the two reads.
		uint64_t a = llmcost__mono_ns();
		uint64_t x = llmcost__tsc_now(&k);
		uint64_t b = llmcost__mono_ns();
		assert_true(a <= x && x <= b);
		nap_ms(1);
	}
}

static void
test_counter(void **state)
{
	(void) state;
	llmcost__tsc k;

	if (!llmcost__tsc_usable()) {
		skip(); // reported as skipped: no usable counter here
	}
	llmcost__tsc_init(&k, 1);
	assert_int_equal(k.state, 0);
	calibrate(&k);
	assert_int_not_equal(
	    atomic_load(&k.p[atomic_load(&k.seq) & 1].mult), 0);
	uint64_t prev = check_within(&k);
	for (int i = 0; i < 4; i++) {
		nap_ms(20);
		k.last_ns = 0;
		assert_int_equal(update(&k), 0);
		uint64_t x = check_within(&k);
		assert_true(x >= prev);
		prev = x;
	}

	// The counter's time 500 us ahead: the re-anchor keeps the time
	// where it is (no step back) and slows the slope, so the error
	// shrinks instead.
	shift(&k, 500000);
	uint64_t before = llmcost__tsc_now(&k);
	assert_int_equal(update(&k), 0);
	uint64_t after = llmcost__tsc_now(&k);
	assert_true(after >= before);
	assert_int_equal(k.state, 1);
	uint64_t m0 = atomic_load(&k.p[atomic_load(&k.seq) & 1].mult);
	k.last_ns = 0;
	assert_int_equal(update(&k), 0);
	uint64_t m1 = atomic_load(&k.p[atomic_load(&k.seq) & 1].mult);
	// Still ahead, so still slower than the long-run rate: both slopes
	// below the one without the error.
#if LLMCOST__HAVE_TSC
	uint64_t t = __rdtsc();
	uint64_t ns = llmcost__mono_ns();
	uint64_t base = (uint64_t) (((unsigned __int128) (ns - k.cal_ns) << 32)
	    / (t - k.cal_tsc));
	assert_true(m0 < base && m1 < base);
#else
	(void) m0;
	(void) m1;
#endif

	// 5 ms ahead: given up for CLOCK_MONOTONIC, for good.
	shift(&k, 5000000);
	assert_int_equal(update(&k), 1);
	assert_int_equal(k.state, -1);
	uint64_t a = llmcost__mono_ns();
	uint64_t x = llmcost__tsc_now(&k);
	uint64_t b = llmcost__mono_ns();
	assert_true(a <= x && x <= b);
	assert_int_equal(update(&k), 0);
}

typedef struct race {
	llmcost__tsc k;
	_Atomic int stop;
} race;

static void *
reader(void *arg)
{
	race *r = arg;
	uint64_t prev = 0;
	while (!atomic_load(&r->stop)) {
		uint64_t x = check_within(&r->k);
		// Re-anchors here only remove read jitter: the slope changes
		// by parts per million at most, so one thread's reads do not
		// go back by a microsecond.
		assert_true(x + 1000 >= prev);
		prev = x;
	}
	return (NULL);
}

static void
test_race(void **state)
{
	(void) state;
	race r;
	pthread_t th[2];

	if (!llmcost__tsc_usable()) {
		skip();
	}
	llmcost__tsc_init(&r.k, 1);
	calibrate(&r.k);
	atomic_init(&r.stop, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
	}
	for (int i = 0; i < 20000; i++) {
		r.k.last_ns = 0;
		assert_int_equal(llmcost__tsc_update(&r.k), 0);
	}
	atomic_store(&r.stop, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}
	assert_int_equal(r.k.state, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_race),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
