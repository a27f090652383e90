// Tests for the pool's memory (shim/client.c pool_map): init touches none
// of it; a client that makes its calls one at a time keeps reusing the
// first slots, so its resident pool stays a few dozen small pages (those
// and the 64 slots the loop keeps ready; the part of a large pool that
// asks for huge pages starts beyond them); and a client
// that holds every slot at once has all of its pool resident (which also
// shows that the page count read here, mincore(2), sees the pool).  Once
// calls have been made, the batch loop, when idle, makes the pages of the
// next slots resident, so that a call taking a slot never used before
// takes no page fault on its thread.  With LLMCOST_F_PREFAULT, init makes
// the whole pool resident.
#define _GNU_SOURCE // RUSAGE_THREAD
#include <sys/mman.h>
#include <sys/resource.h>
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

// Page faults taken by the calling thread so far.
static long
thread_faults(void)
{
	struct rusage ru;
	assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
	return (ru.ru_minflt + ru.ru_majflt);
}

// Slots the test takes for the first time: about 20 pages.
enum { AHEAD_SLOTS = 48 };

// A sanitizer build, whose shadow memory takes page faults of its own on
// first accesses (gcc's and clang's ways of telling).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POOL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define POOL_TEST_SANITIZED 1
#endif
#endif

// Whether this kernel populates pages on request (MADV_POPULATE_WRITE,
// Linux 5.14), as the loop asks it to: tried on a mapping of our own.
static int
can_populate(void)
{
#ifdef MADV_POPULATE_WRITE
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	void *m = mmap(NULL, page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	int ok = madvise(m, page, MADV_POPULATE_WRITE) == 0;
	munmap(m, page);
	return (ok);
#else
	return (0);
#endif
}

// Waits up to 10 s for every page under slots [0, n) of c's pool to be
// resident: the loop populates them when it goes idle after the first
// call, which may come after a flush returns.  Returns the pages not resident.
static size_t
wait_resident(llmcost_client *c, uint32_t n)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t) &c->pool[0] & ~(uintptr_t) (page - 1);
	size_t len = (uintptr_t) &c->pool[n] - from;
	size_t npages = (len + page - 1) / page;
	unsigned char vec[64];
	size_t missing = npages;

	assert_true(npages <= sizeof(vec));
	for (int tries = 0; tries < 1000 && missing > 0; tries++) {
		if (tries > 0) {
			usleep(10000);
		}
		assert_int_equal(mincore((void *) from, len, vec), 0);
		missing = 0;
		for (size_t i = 0; i < npages; i++) {
			missing += (vec[i] & 1) == 0;
		}
	}
	return (missing);
}

static void
test_pool_ahead(void **state)
{
	(void) state;
	llmcost_client *c;
	static llmcost_call *held[AHEAD_SLOTS];

	if (!can_populate()) {
		// The loop turns the populating off on such a kernel (and
		// calls fault as before): nothing to check.
		print_message("this kernel does not populate pages on "
		              "request (MADV_POPULATE_WRITE)\n");
		skip();
	}
	LLMCOST_PASS(sink_client(&c, QUEUE));
	one_call(c);
	llmcost_stats st = llmcost_test_flushed(c, 10000);
	assert_int_equal(st.calls_dropped, 0);
	// The pages of the next slots become resident...
	size_t missing = wait_resident(c, AHEAD_SLOTS);
	if (missing > 0) {
		fail_msg("%zu pages under the first %d slots are not resident",
		    missing, AHEAD_SLOTS);
	}
	// ... so taking them for the first time costs the calling thread no
	// page fault.  The handles' own page is written first, so that its
	// first write is not counted.
	memset(held, 0, sizeof(held));
	long f0 = thread_faults();
	for (uint32_t i = 0; i < AHEAD_SLOTS; i++) {
		LLMCOST_PASS(
		    llmcost_call_begin(c, "openai", "gpt-4o-mini", &held[i]));
		LLMCOST_PASS(llmcost_call_set_meta(held[i], "feature", "x"));
	}
	long f1 = thread_faults();
	for (uint32_t i = 0; i < AHEAD_SLOTS; i++) {
		llmcost_call_abandon(held[i]);
	}
#ifndef POOL_TEST_SANITIZED
	if (f1 != f0) {
		fail_msg("%ld page faults taking %d slots (want 0)", f1 - f0,
		    AHEAD_SLOTS);
	}
#else
	(void) f0;
	(void) f1;
#endif
	llmcost_shutdown(c, 5000);
}

// LLMCOST_F_PREFAULT (or LLMCOST_PREFAULT in the environment): the whole
// pool is resident when init returns, before any call, and taking slots
// never used before costs the calling thread no page fault.
static void
test_prefault(void **state)
{
	(void) state;
	static llmcost_call *held[AHEAD_SLOTS];

	for (int by_env = 0; by_env < 2; by_env++) {
		llmcost_client *c;
		llmcost_options o;
		memset(&o, 0, sizeof(o));
		o.collector_url = "ipc:///nonexistent/unused.sock";
		o.queue_max = QUEUE;
		if (by_env) {
			setenv("LLMCOST_PREFAULT", "1", 1);
		} else {
			o.flags = LLMCOST_F_PREFAULT;
		}
		LLMCOST_PASS(llmcost__client_init(&c, &o, sink_exporters));
		unsetenv("LLMCOST_PREFAULT");
		size_t want = (size_t) QUEUE * sizeof(*c->pool);
		size_t got = resident(c);
		if (got < want) {
			fail_msg("%zu of %zu bytes of the pool resident after "
			         "init (%s)",
			    got, want, by_env ? "LLMCOST_PREFAULT" : "flag");
		}
		memset(held, 0, sizeof(held));
		long f0 = thread_faults();
		for (uint32_t i = 0; i < AHEAD_SLOTS; i++) {
			LLMCOST_PASS(llmcost_call_begin(
			    c, "openai", "gpt-4o-mini", &held[i]));
			LLMCOST_PASS(
			    llmcost_call_set_meta(held[i], "feature", "x"));
		}
		long f1 = thread_faults();
		for (uint32_t i = 0; i < AHEAD_SLOTS; i++) {
			llmcost_call_abandon(held[i]);
		}
#ifndef POOL_TEST_SANITIZED
		if (f1 != f0) {
			fail_msg("%ld page faults taking %d slots (want 0)",
			    f1 - f0, AHEAD_SLOTS);
		}
#else
		(void) f0;
		(void) f1;
#endif
		llmcost_shutdown(c, 5000);
	}
}

int
main(void)
{
	// The pool's pages as the default leaves them, whatever the shell
	// that runs the test has set.
	unsetenv("LLMCOST_PREFAULT");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_pages),
		cmocka_unit_test(test_pool_ahead),
		cmocka_unit_test(test_prefault),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
