// Tests for UUIDv7 run ids (shim/uuid7.c): RFC 9562 version and variant,
// the embedded Unix milliseconds and sub-millisecond fraction, uniqueness
// across threads, and time order for ids minted by one thread.
#include <pthread.h>
#include <time.h>

#include "testutil.h"

#include "uuid7.h"

#define NS_PER_MS UINT64_C(1000000)
#define SEED      UINT64_C(0x0123456789abcdef)

static uint64_t
id_ms(const uint8_t id[16])
{
	uint64_t ms = 0;
	for (int i = 0; i < 6; i++) {
		ms = (ms << 8) | id[i];
	}
	return (ms);
}

static uint32_t
id_sub(const uint8_t id[16])
{
	return (((uint32_t) (id[6] & 0x0f) << 8) | id[7]);
}

static void
check_layout(const uint8_t id[16], uint64_t unix_ns)
{
	if ((id[6] >> 4) != 7) {
		fail_msg("version nibble %x, want 7", id[6] >> 4);
	}
	if ((id[8] & 0xc0) != 0x80) {
		fail_msg("variant bits %x, want 10xx", id[8] >> 4);
	}
	assert_int_equal(id_ms(id), unix_ns / NS_PER_MS);
	// RFC 9562 §6.2 method 3: the 12 bits are the fraction of the
	// millisecond, scaled to 4096.
	uint64_t frac = unix_ns % NS_PER_MS;
	assert_int_equal(id_sub(id), (frac << 12) / NS_PER_MS);
}

static void
test_layout(void **state)
{
	(void) state;
	static const uint64_t times[] = {
		0, 1, 999999, 1000000, 1000001,
		UINT64_C(1735689600000000000), // 2025-01-01T00:00:00Z
		UINT64_C(1735689600123456789), UINT64_C(1735689600999999999),
		UINT64_C(1785542400500000000), // 2026-08-01T00:00:00.5Z
		UINT64_C(0xffffffffffffffff),  // ms still fits in 48 bits
	};
	uint8_t id[16];

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		for (int rep = 0; rep < 64; rep++) {
			memset(id, 0xa5, sizeof(id));
			llmcost__uuid7(id, times[i], SEED);
			check_layout(id, times[i]);
		}
	}
}

// The sub-millisecond field covers the whole 12-bit range: 0 at the start
// of a millisecond and 4095 at its end.
static void
test_sub_ms_range(void **state)
{
	(void) state;
	uint64_t base = UINT64_C(1735689600000) * NS_PER_MS;
	uint8_t id[16];

	llmcost__uuid7(id, base, SEED);
	assert_int_equal(id_sub(id), 0);
	llmcost__uuid7(id, base + NS_PER_MS / 2, SEED);
	assert_int_equal(id_sub(id), 2048);
	llmcost__uuid7(id, base + NS_PER_MS - 1, SEED);
	assert_int_equal(id_sub(id), 4095);
	llmcost__uuid7(id, base + NS_PER_MS, SEED);
	assert_int_equal(id_sub(id), 0);
	assert_int_equal(id_ms(id), UINT64_C(1735689600001));
}

// The 62 random bits are not constant: two ids at the same instant
// differ, and over many ids every random bit takes both values.
static void
test_random_bits_vary(void **state)
{
	(void) state;
	uint64_t t = UINT64_C(1735689600000000000);
	uint8_t first[16], id[16];
	uint8_t ones[16] = { 0 }, zeros[16] = { 0 };

	llmcost__uuid7(first, t, SEED);
	for (int i = 0; i < 1000; i++) {
		llmcost__uuid7(id, t, SEED);
		assert_memory_not_equal(id, first, 16);
		for (int b = 8; b < 16; b++) {
			ones[b] |= id[b];
			zeros[b] |= (uint8_t) ~id[b];
		}
	}
	assert_int_equal(ones[8], 0xbf); // variant 10, then 6 random bits
	assert_int_equal(zeros[8], 0x7f);
	for (int b = 9; b < 16; b++) {
		assert_int_equal(ones[b], 0xff);
		assert_int_equal(zeros[b], 0xff);
	}
}

// ---- uniqueness across threads ----

#define N_THREADS  4
#define PER_THREAD 50000

typedef struct mint_arg {
	uint8_t (*ids)[16];
	uint64_t unix_ns; // 0: the real clock
} mint_arg;

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

static void *
mint_main(void *arg)
{
	mint_arg *ma = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t t = ma->unix_ns != 0 ? ma->unix_ns : now_ns();
		llmcost__uuid7(ma->ids[i], t, SEED);
	}
	return (NULL);
}

static int
cmp_id(const void *a, const void *b)
{
	return (memcmp(a, b, 16));
}

static void
check_distinct(uint64_t unix_ns)
{
	uint8_t(*ids)[16] = calloc(N_THREADS * PER_THREAD, 16);
	pthread_t th[N_THREADS];
	mint_arg ma[N_THREADS];

	assert_non_null(ids);
	for (int i = 0; i < N_THREADS; i++) {
		ma[i].ids = ids + i * PER_THREAD;
		ma[i].unix_ns = unix_ns;
		assert_int_equal(
		    pthread_create(&th[i], NULL, mint_main, &ma[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
	}
	for (int i = 0; i < N_THREADS * PER_THREAD; i++) {
		assert_int_equal(ids[i][6] >> 4, 7);
		assert_int_equal(ids[i][8] & 0xc0, 0x80);
	}
	qsort(ids, N_THREADS * PER_THREAD, 16, cmp_id);
	int dups = 0;
	for (int i = 1; i < N_THREADS * PER_THREAD; i++) {
		if (memcmp(ids[i - 1], ids[i], 16) == 0) {
			dups++;
		}
	}
	free(ids);
	if (dups != 0) {
		fail_msg(
		    "%d duplicate ids among %d", dups, N_THREADS * PER_THREAD);
	}
}

// Every thread mints at the same instant with the same seed: uniqueness
// then rests entirely on the per-thread random streams.
static void
test_distinct_same_instant(void **state)
{
	(void) state;
	check_distinct(UINT64_C(1735689600123456789));
}

static void
test_distinct_real_clock(void **state)
{
	(void) state;
	check_distinct(0);
}

// ---- time order within one thread ----

static void
check_increasing(uint64_t start, const uint64_t *gaps, size_t n_gaps, int n)
{
	uint8_t prev[16], id[16];
	uint64_t t = start;

	llmcost__uuid7(prev, t, SEED);
	for (int i = 1; i < n; i++) {
		t += gaps[(size_t) i % n_gaps];
		llmcost__uuid7(id, t, SEED);
		check_layout(id, t);
		if (memcmp(prev, id, 16) >= 0) {
			fail_msg("id %d at %llu ns does not sort after the "
			         "previous one",
			    i, (unsigned long long) t);
		}
		memcpy(prev, id, 16);
	}
}

// Ids minted 1 µs apart (about four sub-millisecond steps of 244 ns)
// sort strictly in time order, across millisecond boundaries too.
static void
test_monotonic_1us(void **state)
{
	(void) state;
	static const uint64_t gap[] = { 1000 };
	check_increasing(UINT64_C(1735689600000000000), gap, 1, 200000);
	// Start just before a millisecond boundary.
	check_increasing(UINT64_C(1735689600999999500), gap, 1, 5000);
}

static void
test_monotonic_mixed_gaps(void **state)
{
	(void) state;
	static const uint64_t gaps[] = { 1000, 1001, 1999, 999999, 1000000,
		1000001, 250000, 3000, 5000000, 1000, 123457 };
	check_increasing(UINT64_C(1735689600000000001), gaps,
	    sizeof(gaps) / sizeof(gaps[0]), 100000);
}

static void
test_random_bytes(void **state)
{
	(void) state;
	uint8_t a[64], b[64], zero[64] = { 0 };

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	LLMCOST_PASS(llmcost__random_bytes(a, sizeof(a)));
	LLMCOST_PASS(llmcost__random_bytes(b, sizeof(b)));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	LLMCOST_PASS(llmcost__random_bytes(a, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_sub_ms_range),
		cmocka_unit_test(test_random_bits_vary),
		cmocka_unit_test(test_distinct_same_instant),
		cmocka_unit_test(test_distinct_real_clock),
		cmocka_unit_test(test_monotonic_1us),
		cmocka_unit_test(test_monotonic_mixed_gaps),
		cmocka_unit_test(test_random_bytes),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
