// End to end: llmcostd is killed with SIGKILL twice while a service is
// recording calls, and restarted.  Batches that were in flight are
// resent by the shim; batches committed but not acknowledged arrive twice
// and are stored once.  The final report counts every call exactly once.
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NCALLS 30000

static const char *features[3]
    = { "rag-search", "agent-copilot", "summarizer" };

typedef struct producer {
	llmcost_client *c;
	uint64_t in_sum[3];
	uint64_t calls[3];
	int failures;
} producer;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void *
produce(void *arg)
{
	producer *p = arg;
	for (int i = 0; i < NCALLS; i++) {
		llmcost_call *call;
		llmcost_usage u;
		int f = i % 3;
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
		if (i % 25 == 0) {
			sleep_ms(1); // ~1.5 s of traffic in all
		}
	}
	return (NULL);
}

static void
test_sigkill_restart(void **state)
{
	(void) state;
	char *dir = harness_tmpdir();
	char url[1100];
	assert_non_null(dir);
	pid_t d = harness_daemon_start(dir, NULL);
	assert_true(d > 0);

	llmcost_options o;
	memset(&o, 0, sizeof(o));
	harness_url(dir, url, sizeof(url));
	o.collector_url = url;
	o.queue_max = 1 << 16; // room for the outage: nothing is dropped
	o.flush_ms = 5;
	o.batch_max = 256;
	o.ack_timeout_ms = 300;
	producer p;
	memset(&p, 0, sizeof(p));
	LLMCOST_PASS(llmcost_init(&p.c, &o));

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
	for (int k = 0; k < 2; k++) {
		sleep_ms(400);
		assert_int_equal(
		    harness_daemon_stop(d, SIGKILL), 128 + SIGKILL);
		sleep_ms(150); // calls keep arriving while it is down
		d = harness_daemon_start(dir, NULL);
		assert_true(d > 0);
	}
	pthread_join(th, NULL);
	assert_int_equal(p.failures, 0);
	LLMCOST_PASS(llmcost_flush(p.c, 60000));
	llmcost_stats st;
	LLMCOST_PASS(llmcost_stats_get(p.c, &st));
	assert_int_equal(st.calls_ended, NCALLS);
	assert_int_equal(st.calls_acked, NCALLS);
	assert_int_equal(st.calls_dropped, 0);
	assert_int_equal(st.calls_rejected, 0);
	print_message("batches sent %llu, resent %llu\n",
	    (unsigned long long) st.batches_sent,
	    (unsigned long long) st.batches_resent);
	llmcost_shutdown(p.c, 1000);
	assert_int_equal(harness_daemon_stop(d, SIGTERM), 0);

	const char *argv[] = { harness_cli_bin(), "report", "--since", "1d",
		"--json", "--data-dir", dir, NULL };
	char *out, *err;
	assert_int_equal(harness_run(argv, &out, &err), 0);
	json_t *root = json_loads(out, 0, NULL);
	assert_non_null(root);
	json_t *total = json_object_get(root, "total");
	assert_int_equal(
	    json_integer_value(json_object_get(total, "calls")), NCALLS);
	assert_int_equal(
	    json_integer_value(json_object_get(total, "output_tokens")),
	    7 * NCALLS);
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
		assert_int_equal(
		    json_integer_value(json_object_get(row, "calls")),
		    p.calls[f]);
		assert_int_equal(
		    json_integer_value(json_object_get(row, "input_tokens")),
		    p.in_sum[f]);
	}
	json_decref(root);
	free(out);
	free(err);
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
