// Fault suite, a storm of hang-ups: peers that disconnect during the SP
// handshake wedge an nng 1.5 listener (nng issue 1518), and every
// connection that completes its handshake while it is wedged is parked by
// nng and never freed, holding its descriptor even after the listener is
// replaced (13 -> 4,029 descriptors in an operator's run).  After the
// storm llmcostd's descriptor count must come back to where it was
// before, within a few descriptors, and a new client must be served.
//
// Each round hangs up at three points of the handshake (before our
// header, in the middle of it, right after it) and completes ten
// handshakes that then hang up.  LLMCOST_FAULT_HANGUP_ROUNDS sets the
// number of rounds (30 by default).
#define _GNU_SOURCE
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"
#include "llmcost_common.h"

#define SLACK_FDS 4     // descriptors allowed above the baseline
#define SETTLE_MS 60000 // time allowed for the watchdog to clean up

static void
test_hangup_storm(void **state)
{
	(void) state;
	const char *v = getenv("LLMCOST_FAULT_HANGUP_ROUNDS");
	const char *src = getenv("LLMCOST_SOURCE_DIR");
	int rounds = v != NULL && atoi(v) > 0 ? atoi(v) : 30;
	char *dir = harness_tmpdir();
	char log[1200], lsan[1200];
	int status = -1;

	assert_non_null(dir);
	snprintf(log, sizeof(log), "%s/llmcostd.log", dir);
	// The daemon leaks the memory nng 1.5 never frees for parked
	// connections (tests/e2e/nng-1518.supp); only the descriptors are
	// reclaimed.
	snprintf(lsan, sizeof(lsan),
	    "LSAN_OPTIONS=suppressions=%s/tests/e2e/nng-1518.supp",
	    src != NULL ? src : ".");
	const char *env[] = { lsan, NULL };
	fault_daemon_opts o = { .dir = dir, .log = log, .env = env };
	pid_t d = fault_daemon_start(&o, &status);
	assert_true(d > 0);

	// The baseline: a client has been served and has gone.
	assert_int_not_equal(
	    fault_stat(dir, "msgs_received", harness_wait_ms(5000)),
	    UINT64_MAX);
	harness_sleep_ms(200);
	int base = fault_fd_count(d);
	assert_true(base > 0);

	int most = base;
	for (int r = 0; r < rounds; r++) {
		for (size_t sent = 0; sent <= 8; sent += 4) {
			assert_int_equal(fault_sp_hangup(dir, sent), 0);
		}
		for (int i = 0; i < 10; i++) {
			int fd = fault_sp_connect(dir, 1000);
			if (fd >= 0) {
				close(fd);
			}
		}
		int n = fault_fd_count(d);
		most = n > most ? n : most;
		harness_sleep_ms(100);
	}

	// The watchdog replaces the wedged listener and, a little later,
	// closes what nng left parked on it.
	int now = fault_fd_count(d);
	uint64_t t0 = llmcost__mono_ns() / 1000000u;
	int settle_ms = harness_wait_ms(SETTLE_MS);
	while (now > base + SLACK_FDS
	    && llmcost__mono_ns() / 1000000u - t0 < (uint64_t) settle_ms) {
		harness_sleep_ms(250);
		now = fault_fd_count(d);
	}
	print_message("descriptors: %d before the storm, up to %d during "
	              "it, %d after\n",
	    base, most, now);
	// The storm must have wedged the listener, or this test proves
	// nothing.
	uint64_t restarts
	    = fault_stat(dir, "listener_restarts", harness_wait_ms(15000));
	uint64_t reclaimed
	    = fault_stat(dir, "parked_fds_closed", harness_wait_ms(5000));
	print_message("listener restarts %llu, parked descriptors closed "
	              "%llu\n",
	    (unsigned long long) restarts, (unsigned long long) reclaimed);
	assert_true(restarts >= 1 && restarts != UINT64_MAX);
	if (now > base + SLACK_FDS) {
		fail_msg("llmcostd holds %d descriptors %d s after the storm, "
		         "%d before it",
		    now, settle_ms / 1000, base);
	}
	assert_true(reclaimed >= 1 && reclaimed != UINT64_MAX);
	assert_true(fault_count_in_file(log,
	                "left parked on the replaced "
	                "listener (nng issue 1518)")
	    >= 1);

	// A new client is served: a batch is stored.
	llmcost_proto_buf b;
	fault_ack ack;
	int fd = -1, stored = 0;
	fault_batch(&b, 9, 1, 0, 10);
	for (int attempt = 0; attempt < 30 && !stored; attempt++) {
		if (fault_send_batch(&fd, dir, &b, &ack, harness_wait_ms(2000))
		    == 0) {
			stored = ack.status == LLMCOST_ACK_STORED;
		}
	}
	llmcost_proto_buf_free(&b);
	if (fd >= 0) {
		close(fd);
	}
	assert_true(stored);
	assert_int_equal(fault_daemon_term(d, harness_wait_ms(8000)), 0);
	harness_rmdir(dir);
}

// The storm's own client: while llmcostd replaces its listener the
// socket file is missing for a moment, and a hang-up must connect again
// rather than fail the storm.  Here the socket appears 300 ms late.
typedef struct late {
	const char *dir;
	int fd;
} late;

static void *
late_listen(void *arg)
{
	late *l = arg;
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	harness_sleep_ms(300);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/llmcostd.sock", l->dir);
	l->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *) &a, sizeof(a)) != 0
	    || listen(l->fd, 4) != 0) {
		abort();
	}
	return (NULL);
}

static void
test_hangup_waits_for_listener(void **state)
{
	(void) state;
	char *dir = harness_tmpdir();
	static late l; // outlives a failed assertion, which leaves the thread
	pthread_t t;

	assert_non_null(dir);
	l.dir = dir;
	l.fd = -1;
	assert_int_equal(pthread_create(&t, NULL, late_listen, &l), 0);
	assert_int_equal(fault_sp_hangup(dir, 4), 0);
	pthread_join(t, NULL);
	close(l.fd);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hangup_waits_for_listener),
		cmocka_unit_test(test_hangup_storm),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
