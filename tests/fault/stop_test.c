// Fault suite, the stop: llmcostd exits within its stop bound (5 s by
// default, --stop-bound-ms) of SIGTERM, and every call it acknowledged
// is in the store afterwards.
//
// - nng_close_hang: nng_close never returns (the library in
//   nng_close_hang.c is preloaded; nng 1.5.2 does this about once in 43
//   stops under load, nng issues 1543 and 1813).  The daemon must still
//   exit, with status 0, log that the bound was hit, and keep every
//   acknowledged call.
// - sigterm_under_load: four clients send batches without pause while
//   the daemon is stopped with SIGTERM and restarted, LLMCOST_FAULT_SIGTERMS
//   times (20 by default; README.md has the long run).  Each stop must end
//   within the bound with status 0, and after each one every call
//   acknowledged so far must be in the store.  At the end every call sent
//   is stored once.
#define _GNU_SOURCE
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"
#include "store.h"

#define BOUND_MS  5000 // llmcostd's default --stop-bound-ms
#define SLACK_MS  3000 // for the kernel to deliver and reap (harness_wait_ms)
#define NCLIENTS  4
#define PER_BATCH 64
#define ACK_WAIT  3000

// Fails unless every call of client c below upto is in the store in dir,
// starting from *from (which is moved up to upto).  Returns the number of
// runs in the store.
static uint64_t
check_stored(const char *dir, const uint32_t *upto, uint32_t *from)
{
	store *s;
	store_rtxn *t;
	char err[1024];
	uint64_t runs = 0;

	if (store_open(&s, dir, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		fail_msg("store_open: %s", err);
	}
	LLMCOST_PASS(store_read_begin(s, &t));
	for (uint8_t c = 0; c < NCLIENTS; c++) {
		for (uint32_t n = from[c]; n < upto[c]; n++) {
			uint8_t id[16];
			store_run run;
			fault_run_id(id, c, n);
			if (store_get_run(t, id, &run) != 0) {
				fail_msg("client %u call %u was acknowledged "
				         "but is not in the store",
				    c, n);
			}
		}
		from[c] = upto[c];
	}
	LLMCOST_PASS(store_count_runs(t, &runs));
	store_read_end(t);
	store_close(s);
	return (runs);
}

static void
test_nng_close_hang(void **state)
{
	(void) state;
	const char *lib = getenv("LLMCOST_FAULT_PRELOAD");
	char *dir = harness_tmpdir();
	char log[1200], preload[1200], asan[1200];
	int status = -1, fd = -1;

	assert_non_null(lib);
	assert_non_null(dir);
	snprintf(log, sizeof(log), "%s/llmcostd.log", dir);
	fault_preload_env(lib, preload, sizeof(preload), asan, sizeof(asan));
	const char *env[]
	    = { preload, "LLMCOST_FAULT_NNG_CLOSE=hang", asan, NULL };
	fault_daemon_opts o = { .dir = dir, .log = log, .env = env };
	pid_t d = fault_daemon_start(&o, &status);
	assert_true(d > 0);

	// 10 acknowledged batches of 100 calls.
	for (uint32_t b = 0; b < 10; b++) {
		llmcost_proto_buf buf;
		fault_ack ack;
		fault_batch(&buf, 0, b + 1, b * 100, 100);
		assert_int_equal(fault_send_batch(&fd, dir, &buf, &ack,
		                     harness_wait_ms(ACK_WAIT)),
		    0);
		assert_int_equal(ack.status, LLMCOST_ACK_STORED);
		assert_int_equal(ack.stored, 100);
		llmcost_proto_buf_free(&buf);
	}
	close(fd);

	assert_int_equal(kill(d, SIGTERM), 0);
	long ms = fault_daemon_wait(
	    d, BOUND_MS + harness_wait_ms(SLACK_MS), &status);
	if (ms < 0) {
		fail_msg("llmcostd did not exit within %d ms of SIGTERM "
		         "(nng_close hangs)",
		    BOUND_MS + harness_wait_ms(SLACK_MS));
	}
	print_message("exited %ld ms after SIGTERM, status %d\n", ms, status);
	assert_int_equal(status, 0);
	assert_int_equal(fault_count_in_file(log,
	                     "stop took longer than its bound of 5000 ms"),
	    1);
	assert_int_equal(
	    fault_count_in_file(log, "every acknowledged call is committed"),
	    1);

	uint32_t upto[NCLIENTS] = { 1000 }, from[NCLIENTS] = { 0 };
	assert_int_equal(check_stored(dir, upto, from), 1000);
	harness_rmdir(dir);
}

// ---- SIGTERM under load ----

typedef struct client {
	uint8_t c;
	const char *dir;
	atomic_int *stop;
	_Atomic uint32_t acked; // calls 0 .. acked-1 are acknowledged
	uint64_t retries;
	uint64_t timeouts;
} client;

// Sends batches of PER_BATCH calls one after the other; each is resent
// (same sequence, same calls) until it is acknowledged as stored.
static void *
client_main(void *arg)
{
	client *cl = arg;
	int fd = -1;
	uint64_t seq = 0;

	while (!atomic_load(cl->stop)) {
		llmcost_proto_buf buf;
		uint32_t first = atomic_load(&cl->acked);
		fault_batch(&buf, cl->c, ++seq, first, PER_BATCH);
		for (;;) {
			fault_ack ack;
			if (fault_send_batch(
			        &fd, cl->dir, &buf, &ack, ACK_WAIT)
			    != 0) {
				cl->timeouts++;
				harness_sleep_ms(10); // daemon down: try again
				continue;
			}
			if (ack.status == LLMCOST_ACK_STORED) {
				break;
			}
			if (ack.status == LLMCOST_ACK_REJECTED) {
				fprintf(stderr, "rejected: %s\n", ack.reason);
				abort();
			}
			cl->retries++; // RETRY: the daemon is stopping
			harness_sleep_ms(10);
		}
		llmcost_proto_buf_free(&buf);
		atomic_store(&cl->acked, first + PER_BATCH);
	}
	if (fd >= 0) {
		close(fd);
	}
	return (NULL);
}

static void
test_sigterm_under_load(void **state)
{
	(void) state;
	const char *v = getenv("LLMCOST_FAULT_SIGTERMS");
	int cycles = v != NULL && atoi(v) > 0 ? atoi(v) : 20;
	char *dir = harness_tmpdir();
	char log[1200];
	client cl[NCLIENTS];
	pthread_t th[NCLIENTS];
	atomic_int stop = 0;
	uint32_t upto[NCLIENTS], from[NCLIENTS] = { 0 };
	long worst = 0;
	int status = -1;

	assert_non_null(dir);
	snprintf(log, sizeof(log), "%s/llmcostd.log", dir);
	fault_daemon_opts o = { .dir = dir, .log = log };
	pid_t d = fault_daemon_start(&o, &status);
	assert_true(d > 0);
	for (int i = 0; i < NCLIENTS; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].c = (uint8_t) i;
		cl[i].dir = dir;
		cl[i].stop = &stop;
		assert_int_equal(
		    pthread_create(&th[i], NULL, client_main, &cl[i]), 0);
	}
	unsigned seed = 12345;
	for (int k = 0; k < cycles; k++) {
		harness_sleep_ms(150 + (int) (rand_r(&seed) % 300));
		assert_int_equal(kill(d, SIGTERM), 0);
		long ms = fault_daemon_wait(
		    d, BOUND_MS + harness_wait_ms(SLACK_MS), &status);
		if (ms < 0) {
			fail_msg("stop %d: llmcostd did not exit within %d ms "
			         "of SIGTERM",
			    k + 1, BOUND_MS + harness_wait_ms(SLACK_MS));
		}
		if (status != 0) {
			fail_msg("stop %d: exit status %d", k + 1, status);
		}
		worst = ms > worst ? ms : worst;
		for (int i = 0; i < NCLIENTS; i++) {
			upto[i] = atomic_load(&cl[i].acked);
		}
		(void) check_stored(dir, upto, from);
		d = fault_daemon_start(&o, &status);
		assert_true(d > 0);
	}
	atomic_store(&stop, 1);
	uint64_t sent = 0;
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(th[i], NULL);
		upto[i] = atomic_load(&cl[i].acked);
		sent += upto[i];
		from[i] = 0; // the final check covers every call again
		print_message("client %d: %u calls acknowledged, %llu retry "
		              "answers, %llu unanswered sends\n",
		    i, upto[i], (unsigned long long) cl[i].retries,
		    (unsigned long long) cl[i].timeouts);
	}
	assert_int_equal(
	    fault_daemon_term(d, BOUND_MS + harness_wait_ms(SLACK_MS)), 0);
	assert_int_equal(check_stored(dir, upto, from), sent);
	print_message("%d stops under load, slowest exit %ld ms after "
	              "SIGTERM (bound %d ms); %llu calls, none lost\n",
	    cycles, worst, BOUND_MS, (unsigned long long) sent);
	// nng's close deadlock may strike a real stop too: contained, it is
	// one more exit within the bound.
	print_message("stops that hit the bound: %d\n",
	    fault_count_in_file(log, "stop took longer than its bound"));
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nng_close_hang),
		cmocka_unit_test(test_sigterm_under_load),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
