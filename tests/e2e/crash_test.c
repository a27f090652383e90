// End to end: llmcostd is killed with SIGKILL twice while a service is
// recording calls, and restarted.  Batches that were in flight are
// resent by the shim; batches committed but not acknowledged arrive twice
// and are stored once.  The final report counts every call exactly once.
//
// The resend path must run for the test to mean anything, so each outage
// is arranged to force it.  Before each kill the shim has caught up
// (llmcost_flush after the previous restart), so the outage starts a
// delivery of its own; calls keep arriving while the daemon is dead, and
// it stays dead longer than the shim waits for an acknowledgement (300
// ms) or for a connection to send on (1 s, its nng send timeout).  So
// whatever the shim was doing when the daemon died, the delivery that
// finally succeeds after the restart is not its first attempt, and the
// test asserts one resend per outage at least.
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"

#define NKILLS      2
#define ACK_TIMEOUT 300   // ms, the client's ack_timeout_ms
#define OUTAGE_MS   2500  // how long the daemon stays dead
#define MAX_CALLS   50000 // the producer's cap: less than queue_max

static const char *features[3]
    = { "rag-search", "agent-copilot", "summarizer" };

typedef struct producer {
	llmcost_client *c;
	uint64_t in_sum[3];
	uint64_t calls[3];
	int failures;
	atomic_int recorded; // calls recorded so far
	atomic_int stop;     // set by the main thread
} producer;

// Records calls, about five per millisecond, until told to stop (or at
// MAX_CALLS, so that an outage never fills the queue).
static void *
produce(void *arg)
{
	producer *p = arg;
	for (int i = 0; !atomic_load(&p->stop); i++) {
		llmcost_call *call;
		llmcost_usage u;
		int f = i % 3;
		if (i >= MAX_CALLS) {
			harness_sleep_ms(1);
			continue;
		}
		if (llmcost_call_begin(p->c, "openai", "gpt-4o-mini", &call)
		    != 0) {
			p->failures++;
			continue;
		}
		llmcost_call_set_meta(call, "feature", features[f]);
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = (uint64_t) (i % 1000) + 1;
		u.tokens[LLMCOST_OUT_TEXT] = 7;
		llmcost_call_set_usage(call, &u);
		if (llmcost_call_end(call) != 0) {
			p->failures++;
			continue;
		}
		p->in_sum[f] += (uint64_t) (i % 1000) + 1;
		p->calls[f]++;
		atomic_fetch_add(&p->recorded, 1);
		if (i % 5 == 0) {
			harness_sleep_ms(1);
		}
	}
	return (NULL);
}

static void
test_sigkill_restart(void **state)
{
	(void) state;
	char *dir;
	char url[1100];
	pid_t d = harness_daemon_tmp(&dir, url, sizeof(url));
	assert_true(d > 0);

	llmcost_options o;
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.queue_max = 1 << 16; // room for the outage: nothing is dropped
	o.flush_ms = 5;
	o.batch_max = 256;
	o.ack_timeout_ms = ACK_TIMEOUT;
	producer p;
	memset(&p, 0, sizeof(p));
	LLMCOST_PASS(llmcost_init(&p.c, &o));

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
	for (int k = 1; k <= NKILLS; k++) {
		// Traffic is flowing when the daemon dies.
		int from = atomic_load(&p.recorded);
		while (atomic_load(&p.recorded) < from + 1000) {
			harness_sleep_ms(1);
		}
		assert_int_equal(
		    harness_daemon_stop(d, SIGKILL), 128 + SIGKILL);
		harness_sleep_ms(OUTAGE_MS); // calls keep arriving
		d = harness_daemon_start(dir, NULL);
		assert_true(d > 0);
		// The shim reconnects and catches up before the next kill.
		LLMCOST_PASS(llmcost_flush(p.c, 60000));
	}
	atomic_store(&p.stop, 1);
	pthread_join(th, NULL);
	assert_int_equal(p.failures, 0);
	int ncalls = atomic_load(&p.recorded);
	llmcost_stats st = llmcost_test_flushed(p.c, 60000);
	assert_int_equal(st.calls_ended, ncalls);
	assert_int_equal(st.calls_acked, ncalls);
	assert_int_equal(st.calls_dropped, 0);
	assert_int_equal(st.calls_rejected, 0);
	// The path under test ran: each outage made the shim send a batch
	// again.
	if (st.batches_resent < NKILLS) {
		fail_msg("%llu batches resent after %d outages of %d ms, want "
		         "at least %d: the resend path did not run",
		    (unsigned long long) st.batches_resent, NKILLS, OUTAGE_MS,
		    NKILLS);
	}
	print_message("batches sent %llu, resent %llu\n",
	    (unsigned long long) st.batches_sent,
	    (unsigned long long) st.batches_resent);
	llmcost_shutdown(p.c, 1000);
	assert_int_equal(harness_daemon_stop(d, SIGTERM), 0);

	json_t *root
	    = e2e_report_json(dir, (const char *[]) { "--since", "1d", NULL });
	json_t *total = json_object_get(root, "total");
	E2E_ASSERT_JSON_INT(total, "calls", ncalls);
	E2E_ASSERT_JSON_INT(total, "output_tokens", 7 * (json_int_t) ncalls);
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *row = json_array_get(rows, i);
		const char *name
		    = json_string_value(json_object_get(row, "feature"));
		int f = strcmp(name, features[0]) == 0 ? 0
		    : strcmp(name, features[1]) == 0   ? 1
		                                       : 2;
		assert_string_equal(name, features[f]);
		E2E_ASSERT_JSON_INT(row, "calls", p.calls[f]);
		E2E_ASSERT_JSON_INT(row, "input_tokens", p.in_sum[f]);
	}
	json_decref(root);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_restart),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
