// Tests that llmcost_init fails cleanly when the system does: the kernel's
// random source (client id and seed), a socket option of the collector
// exporter, a thread, or nng in a forked child.  The test is linked with --wrap for getrandom,
// nng_socket_set_ms, pthread_create and pthread_join (shim/CMakeLists.txt),
// so each can be made to fail on demand; the wrappers pass through
// otherwise.  A failed init must return the documented code, leave
// *clientp untouched, and leave nothing behind: every thread it started is
// joined (counted here) and nothing leaks (the ASan build checks).
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "testutil.h"

#include "shim.h"

// ---- the wrappers ----

static _Atomic int getrandom_errno; // fail every call with it; 0: pass
static _Atomic int getrandom_eintr; // fail this many calls with EINTR
static _Atomic(const char *) failing_option; // nng option to refuse
static _Atomic int create_fail_at; // fail the Nth pthread_create; 0: none
static _Atomic int creates, created, joins;

ssize_t __real_getrandom(void *buf, size_t len, unsigned int flags);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags);
int __real_nng_socket_set_ms(nng_socket s, const char *opt, nng_duration d);
int __wrap_nng_socket_set_ms(nng_socket s, const char *opt, nng_duration d);
int __real_pthread_create(
    pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(
    pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __real_pthread_join(pthread_t t, void **ret);
int __wrap_pthread_join(pthread_t t, void **ret);

ssize_t
__wrap_getrandom(void *buf, size_t len, unsigned int flags)
{
	if (atomic_load(&getrandom_eintr) > 0) {
		atomic_fetch_sub(&getrandom_eintr, 1);
		errno = EINTR;
		return (-1);
	}
	int e = atomic_load(&getrandom_errno);
	if (e != 0) {
		errno = e;
		return (-1);
	}
	return (__real_getrandom(buf, len, flags));
}

int
__wrap_nng_socket_set_ms(nng_socket s, const char *opt, nng_duration d)
{
	const char *bad = atomic_load(&failing_option);
	if (bad != NULL && strcmp(opt, bad) == 0) {
		return (NNG_ENOTSUP);
	}
	return (__real_nng_socket_set_ms(s, opt, d));
}

int
__wrap_pthread_create(
    pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	int n = atomic_fetch_add(&creates, 1) + 1;
	if (n == atomic_load(&create_fail_at)) {
		return (EAGAIN);
	}
	int rv = __real_pthread_create(t, a, fn, arg);
	if (rv == 0) {
		atomic_fetch_add(&created, 1);
	}
	return (rv);
}

int
__wrap_pthread_join(pthread_t t, void **ret)
{
	int rv = __real_pthread_join(t, ret);
	if (rv == 0) {
		atomic_fetch_add(&joins, 1);
	}
	return (rv);
}

// ---- test support ----

static char dead_url[300];

static int
group_setup(void **state)
{
	(void) state;
	unsetenv("LLMCOST_DISABLE");
	unsetenv("LLMCOST_COLLECTOR_URL");
	snprintf(dead_url, sizeof(dead_url),
	    "ipc:///tmp/llmcost-init-test-%ld/none.sock", (long) getpid());
	return (0);
}

static int
reset(void **state)
{
	(void) state;
	atomic_store(&getrandom_errno, 0);
	atomic_store(&getrandom_eintr, 0);
	atomic_store(&failing_option, NULL);
	atomic_store(&create_fail_at, 0);
	atomic_store(&creates, 0);
	atomic_store(&created, 0);
	atomic_store(&joins, 0);
	return (0);
}

static int
init(llmcost_client **cp)
{
	llmcost_options o;

	memset(&o, 0, sizeof(o));
	o.collector_url = dead_url;
	o.queue_max = 64;
	// *clientp is written on success only (llmcost.h).
	llmcost_client *const untouched = (llmcost_client *) dead_url;
	*cp = untouched;
	int rv = llmcost_init(cp, &o);
	if (rv != 0) {
		assert_ptr_equal(*cp, untouched);
	}
	return (rv);
}

// A working init starts two threads (the collector exporter's and the
// batch loop) and shutdown joins both, and the short-lived thread that
// closes the collector socket (export_collector.c).
static void
test_baseline(void **state)
{
	(void) state;
	llmcost_client *c;

	LLMCOST_PASS(init(&c));
	assert_int_equal(atomic_load(&created), 2);
	llmcost_shutdown(c, 0);
	assert_int_equal(atomic_load(&created), 3);
	assert_int_equal(atomic_load(&joins), 3);
}

static void
test_random_source_fails(void **state)
{
	(void) state;
	llmcost_client *c;

	atomic_store(&getrandom_errno, ENOSYS);
	LLMCOST_FAIL(init(&c), LLMCOST_ESYSTEM);
	assert_int_equal(atomic_load(&creates), 0);
}

// A signal during getrandom is not a failure: it is retried.
static void
test_random_source_interrupted(void **state)
{
	(void) state;
	llmcost_client *c;

	atomic_store(&getrandom_eintr, 3);
	LLMCOST_PASS(init(&c));
	assert_int_equal(atomic_load(&getrandom_eintr), 0);
	llmcost_shutdown(c, 0);
}

static void
test_socket_option_fails(void **state)
{
	(void) state;
	static const char *const opts[]
	    = { NNG_OPT_REQ_RESENDTIME, NNG_OPT_RECVTIMEO, NNG_OPT_SENDTIMEO,
		      NNG_OPT_RECONNMINT, NNG_OPT_RECONNMAXT };
	llmcost_client *c;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		reset(NULL);
		atomic_store(&failing_option, opts[i]);
		int rv = init(&c);
		if (rv != LLMCOST_ESYSTEM) {
			fail_msg("%s refused: init gave %s, want "
			         "LLMCOST_ESYSTEM",
			    opts[i], llmcost_err_name(rv));
		}
		assert_int_equal(atomic_load(&creates), 0);
	}
}

// The first thread (the collector exporter's) or the second (the batch
// loop) cannot start: init fails and joins whatever did start, the
// thread that closes the collector socket included (so one more).
static void
test_thread_fails(void **state)
{
	(void) state;
	llmcost_client *c;

	for (int at = 1; at <= 2; at++) {
		reset(NULL);
		atomic_store(&create_fail_at, at);
		LLMCOST_FAIL(init(&c), LLMCOST_ESYSTEM);
		assert_int_equal(atomic_load(&created), at);
		assert_int_equal(atomic_load(&joins), at);
	}
	// And the next init works.
	reset(NULL);
	LLMCOST_PASS(init(&c));
	llmcost_shutdown(c, 0);
}

// A process forked after its parent created a client: nng, started in
// the parent, cannot run in the child (nng 1.5 aborts the child at its
// first call), so init there fails with LLMCOST_ESYSTEM before it starts
// anything, and the child goes on.  The parent is unaffected.
static void
test_forked_child(void **state)
{
	(void) state;
	llmcost_client *c;
	int st;

	LLMCOST_PASS(init(&c)); // nng runs in this process from here on
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30); // a hang fails the test too
		reset(NULL);
		llmcost_client *d;
		int rv = init(&d);
		_exit(rv == LLMCOST_ESYSTEM && atomic_load(&created) == 0 ? 0
		                                                          : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st)); // not aborted, not hung
	assert_int_equal(WEXITSTATUS(st), 0);
	llmcost_shutdown(c, 0);
	reset(NULL);
	LLMCOST_PASS(init(&c));
	llmcost_shutdown(c, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_baseline, reset),
		cmocka_unit_test_setup(test_random_source_fails, reset),
		cmocka_unit_test_setup(test_random_source_interrupted, reset),
		cmocka_unit_test_setup(test_socket_option_fails, reset),
		cmocka_unit_test_setup(test_thread_fails, reset),
		cmocka_unit_test_setup(test_forked_child, reset),
	};
	return (cmocka_run_group_tests(tests, group_setup, NULL));
}
