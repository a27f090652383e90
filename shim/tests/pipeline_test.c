// Tests of the collector exporter's pipelining (shim/export_collector.c)
// against a stand-in collector in this process: an nng rep0 socket with
// contexts that holds its answers until PIPELINE_DEPTH batches are
// outstanding (as many as the exporter may keep in flight,
// LLMCOST__INFLIGHT_MAX), then acknowledges them in reverse order.  A
// client that keeps fewer in flight never gets an answer (its flush times
// out); one that pairs an acknowledgement with the wrong batch resends.
#include <pthread.h>
#include <stdatomic.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "testutil.h"

#include "harness.h"
#include "llmcost_proto.h"
#include "shim.h"

// Batches the stand-in waits for at once: as many as the exporter may
// keep in flight.
#define PIPELINE_DEPTH LLMCOST__INFLIGHT_MAX
#define ROUNDS         4    // times it does so
#define RECV_WAIT_MS   5000 // how long it waits for one batch

typedef struct standin {
	int depth; // batches it waits for before answering (<= PIPELINE_DEPTH)
	int rounds;       // times it does so
	int depth_after;  // the rounds after the first wait for this many (0:
	                  // depth); set before hold is cleared
	_Atomic int hold; // while set, received batches are not answered
	nng_socket sock;
	nng_ctx ctx[PIPELINE_DEPTH];
	nng_aio *aio[PIPELINE_DEPTH];
	_Atomic int done[PIPELINE_DEPTH]; // aio[i]'s operation has ended
	_Atomic uint64_t received;        // batches received
	uint64_t records;                 // calls in the batches answered
	uint32_t max_meta; // most meta pairs and tags in one record
	uint32_t max_tags;
	uint32_t max_records; // most records in one batch
	int failed;           // a batch did not arrive or decode
} standin;

static int
buf_write(void *arg, const char *buf, size_t len)
{
	return (nng_msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}

// Answers the batch in req (freed here) with an acknowledgement on ctx.
static int
answer(standin *s, int i, nng_msg *req)
{
	llmcost_proto_msg m;
	llmcost_proto_ack a;
	llmcost_proto_enc enc;
	nng_msg *reply;

	if (llmcost_proto_decode(
	        nng_msg_body(req), nng_msg_len(req), &m, NULL, 0)
	        != 0
	    || m.type != LLMCOST_MSG_BATCH) {
		nng_msg_free(req);
		return (-1);
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.client_id, m.u.batch.client_id, 16);
	a.seq = m.u.batch.seq;
	a.status = LLMCOST_ACK_STORED;
	a.stored = m.u.batch.n_records;
	s->records += m.u.batch.n_records;
	if (m.u.batch.n_records > s->max_records) {
		s->max_records = m.u.batch.n_records;
	}
	for (uint32_t r = 0; r < m.u.batch.n_records; r++) {
		const llmcost_proto_record *rec = &m.u.batch.records[r];
		if (rec->n_meta > s->max_meta) {
			s->max_meta = rec->n_meta;
		}
		if (rec->n_tags > s->max_tags) {
			s->max_tags = rec->n_tags;
		}
	}
	llmcost_proto_msg_free(&m);
	nng_msg_free(req);
	if (nng_msg_alloc(&reply, 0) != 0) {
		return (-1);
	}
	llmcost_proto_enc_init(&enc, buf_write, reply, 0);
	if (llmcost_proto_enc_ack(&enc, &a) != 0) {
		nng_msg_free(reply);
		return (-1);
	}
	nng_aio_set_msg(s->aio[i], reply);
	nng_ctx_send(s->ctx[i], s->aio[i]);
	nng_aio_wait(s->aio[i]);
	if (nng_aio_result(s->aio[i]) != 0) {
		nng_msg_free(reply);
		return (-1);
	}
	return (0);
}

// 1 if req is the client's budget poll (BUDGET_REQ), which the
// stand-in answers with an empty BUDGET_STATE on ctx i, as llmcostd
// does without guards; req is freed then.  Polls run on a context of
// their own, beside the batches in flight.
static int
poll_answered(standin *s, int i, nng_msg *req)
{
	llmcost_proto_msg m;
	llmcost_proto_budget_state bs;
	llmcost_proto_enc enc;
	nng_msg *reply;

	if (llmcost_proto_decode(
	        nng_msg_body(req), nng_msg_len(req), &m, NULL, 0)
	    != 0) {
		return (0);
	}
	int poll = m.type == LLMCOST_MSG_BUDGET_REQ;
	llmcost_proto_msg_free(&m);
	if (!poll) {
		return (0);
	}
	nng_msg_free(req);
	memset(&bs, 0, sizeof(bs));
	if (nng_msg_alloc(&reply, 0) != 0) {
		s->failed = 1;
		return (1);
	}
	llmcost_proto_enc_init(&enc, buf_write, reply, 0);
	if (llmcost_proto_enc_budget_state(&enc, &bs) != 0) {
		nng_msg_free(reply);
		s->failed = 1;
		return (1);
	}
	nng_aio_set_msg(s->aio[i], reply);
	nng_ctx_send(s->ctx[i], s->aio[i]);
	nng_aio_wait(s->aio[i]);
	if (nng_aio_result(s->aio[i]) != 0) {
		nng_msg_free(reply);
	}
	return (1);
}

// The callback of aio[i] (its arg is &done[i]).
static void
standin_cb(void *arg)
{
	atomic_store((_Atomic int *) arg, 1);
}

// Starts a receive on context i.
static void
standin_recv(standin *s, int i)
{
	atomic_store(&s->done[i], 0);
	nng_aio_set_timeout(s->aio[i], RECV_WAIT_MS);
	nng_ctx_recv(s->ctx[i], s->aio[i]);
}

// Each round receives on every context at once and takes the requests
// in whatever order nng hands them to the contexts (a budget poll answered
// on one context puts it last in nng's queue of waiting receives).
static void *
standin_main(void *arg)
{
	standin *s = arg;
	nng_msg *req[PIPELINE_DEPTH] = { NULL };

	for (int r = 0; r < s->rounds && !s->failed; r++) {
		int settled[PIPELINE_DEPTH] = { 0 };
		int got = 0, nsettled = 0;
		int depth
		    = r > 0 && s->depth_after > 0 ? s->depth_after : s->depth;
		for (int i = 0; i < depth; i++) {
			req[i] = NULL;
			standin_recv(s, i);
		}
		while (nsettled < depth) {
			int progress = 0;
			for (int i = 0; i < depth; i++) {
				if (settled[i] || !atomic_load(&s->done[i])) {
					continue;
				}
				progress = 1;
				nng_aio_wait(s->aio[i]);
				if (nng_aio_result(s->aio[i]) != 0) {
					settled[i] = 1; // timed out
					nsettled++;
					continue;
				}
				nng_msg *m = nng_aio_get_msg(s->aio[i]);
				if (poll_answered(s, i, m)) {
					// Not a batch: receive on ctx i again.
					nng_aio_wait(s->aio[i]);
					standin_recv(s, i);
					continue;
				}
				req[i] = m;
				settled[i] = 1;
				nsettled++;
				atomic_fetch_add(&s->received, 1);
				got++;
			}
			if (!progress) {
				harness_sleep_ms(1);
			}
		}
		if (got < depth) {
			s->failed = 1;
		}
		while (atomic_load(&s->hold)) {
			harness_sleep_ms(1);
		}
		// Newest first: the acknowledgements arrive out of order.
		for (int i = depth - 1; i >= 0; i--) {
			if (req[i] != NULL && answer(s, i, req[i]) != 0) {
				s->failed = 1;
			}
		}
	}
	return (NULL);
}

static void
wait_received(standin *s, uint64_t n)
{
	for (int i = 0; atomic_load(&s->received) < n; i++) {
		if (i == 5000) {
			fail_msg(
			    "the stand-in received %llu batches, not %llu",
			    (unsigned long long) atomic_load(&s->received),
			    (unsigned long long) n);
		}
		harness_sleep_ms(1);
	}
}

// Starts a stand-in answering rounds groups of depth batches; *dir is
// its temporary directory, url its address.
static void
standin_start(standin *s, int depth, int rounds, char **dir, char *url,
    size_t urlsz, pthread_t *t)
{
	memset(s, 0, sizeof(*s));
	s->depth = depth;
	s->rounds = rounds;
	*dir = harness_tmpdir();
	assert_non_null(*dir);
	snprintf(url, urlsz, "ipc://%s/standin.sock", *dir);
	assert_int_equal(nng_rep0_open(&s->sock), 0);
	for (int i = 0; i < PIPELINE_DEPTH; i++) {
		assert_int_equal(nng_ctx_open(&s->ctx[i], s->sock), 0);
		assert_int_equal(
		    nng_aio_alloc(&s->aio[i], standin_cb, &s->done[i]), 0);
	}
	assert_int_equal(nng_listen(s->sock, url, NULL, 0), 0);
	assert_int_equal(pthread_create(t, NULL, standin_main, s), 0);
}

static void
standin_stop(standin *s, char *dir, pthread_t t)
{
	pthread_join(t, NULL);
	for (int i = 0; i < PIPELINE_DEPTH; i++) {
		nng_aio_free(s->aio[i]);
	}
	nng_close(s->sock);
	harness_rmdir(dir);
}

// A client of the stand-in whose batches are at most batch_max calls.
static llmcost_client *
standin_client_max(const char *url, uint32_t batch_max)
{
	llmcost_client *c = NULL;
	llmcost_options o;

	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 5;
	o.batch_max = batch_max;
	o.ack_timeout_ms = 30000;
	LLMCOST_PASS(llmcost_init(&c, &o));
	return (c);
}

// A client whose batches are one call each.
static llmcost_client *
standin_client(const char *url)
{
	return (standin_client_max(url, 1));
}

// Several batches travel at once, and acknowledgements that come back
// newest first settle each its own batch: every call is acknowledged,
// nothing is sent twice, and flush returns.
static void
test_batches_in_flight_together(void **state)
{
	standin s;
	pthread_t t;
	char url[512];
	char *dir;
	llmcost_client *c;
	llmcost_stats st;

	(void) state;
	standin_start(&s, PIPELINE_DEPTH, ROUNDS, &dir, url, sizeof(url), &t);
	c = standin_client(url);
	for (int n = 0; n < ROUNDS * PIPELINE_DEPTH; n++) {
		llmcost_call *call;
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		LLMCOST_PASS(llmcost_call_end(call));
		// One call at a time reaches the stand-in, so that each is a
		// batch of its own.
		wait_received(&s, (uint64_t) n + 1);
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	llmcost_shutdown(c, 2000);
	standin_stop(&s, dir, t);

	assert_int_equal(s.failed, 0);
	assert_int_equal(s.records, ROUNDS * PIPELINE_DEPTH);
	assert_int_equal(st.calls_acked, ROUNDS * PIPELINE_DEPTH);
	assert_int_equal(st.batches_sent, ROUNDS * PIPELINE_DEPTH);
	assert_int_equal(st.batches_resent, 0);
	assert_int_equal(st.calls_dropped, 0);
}

// The batches held by the collector exporter.
static uint32_t
held_batches(llmcost_client *c)
{
	llmcost__exporter *ex
	    = llmcost__exporter_find(c, &llmcost__exporter_collector);
	assert_non_null(ex);
	pthread_mutex_lock(&c->mtx);
	uint32_t n = ex->count;
	pthread_mutex_unlock(&c->mtx);
	return (n);
}

// Batches that gather while every flight waits for its acknowledgement
// go out as one message (up to batch_max calls) once a flight is free,
// and settle together: PIPELINE_DEPTH one-call batches in flight, held
// unanswered while MERGED more one-call batches are handed over, then
// the stand-in answers and receives those as one batch.
static void
test_waiting_batches_merge(void **state)
{
	enum { MERGED = 6 };
	standin s;
	pthread_t t;
	char url[512];
	char *dir;
	llmcost_client *c;
	llmcost_stats st;

	(void) state;
	standin_start(&s, PIPELINE_DEPTH, 2, &dir, url, sizeof(url), &t);
	s.depth_after = 1;
	atomic_store(&s.hold, 1);
	c = standin_client_max(url, MERGED + 2);
	for (int n = 0; n < PIPELINE_DEPTH + MERGED; n++) {
		llmcost_call *call;
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		LLMCOST_PASS(llmcost_call_end(call));
		// One call at a time is handed over, so that each is a batch
		// of its own.
		if (n < PIPELINE_DEPTH) {
			wait_received(&s, (uint64_t) n + 1);
			continue;
		}
		for (int i = 0; held_batches(c) < (uint32_t) n + 1; i++) {
			assert_true(i < 10000);
			harness_sleep_ms(1);
		}
	}
	atomic_store(&s.hold, 0);
	LLMCOST_PASS(llmcost_flush(c, 10000));
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	llmcost_shutdown(c, 2000);
	standin_stop(&s, dir, t);

	assert_int_equal(s.failed, 0);
	assert_int_equal(s.records, PIPELINE_DEPTH + MERGED);
	assert_int_equal(s.max_records, MERGED);
	assert_int_equal(st.calls_acked, PIPELINE_DEPTH + MERGED);
	assert_int_equal(st.batches_sent, PIPELINE_DEPTH + 1);
	assert_int_equal(st.batches_resent, 0);
	assert_int_equal(st.calls_dropped, 0);
}

// The largest record there is (every meta pair and tag, every number at
// its widest, a trace and a parent) outgrows the encoder's size estimate
// for its message, which then grows as it is written: the stand-in
// decodes it whole.
static void
test_largest_record(void **state)
{
	standin s;
	pthread_t t;
	char url[512];
	char *dir;
	llmcost_client *c;
	llmcost_call *call;
	llmcost_scope scope;
	llmcost_usage u;
	llmcost_stats st;

	(void) state;
	standin_start(&s, 1, 1, &dir, url, sizeof(url), &t);
	c = standin_client(url);
	// Never ended: its own run goes to LangSmith only, not to the
	// collector.
	LLMCOST_PASS(llmcost_scope_begin(c, NULL, "request", &scope));
	LLMCOST_PASS(
	    llmcost_scope_call_begin(&scope, "openai", "gpt-4o", &call));
	for (int i = 0; i < LLMCOST_MAX_META; i++) {
		char k[8];
		snprintf(k, sizeof(k), "k%02d", i);
		LLMCOST_PASS(llmcost_call_set_meta(call, k, "v"));
	}
	for (int i = 0; i < LLMCOST_MAX_TAGS; i++) {
		char tag[8];
		snprintf(tag, sizeof(tag), "t%02d", i);
		LLMCOST_PASS(llmcost_call_add_tag(call, tag));
	}
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		u.tokens[i] = UINT64_MAX;
	}
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		LLMCOST_PASS(
		    llmcost_call_set_fee(call, (llmcost_fee) f, UINT64_MAX));
	}
	LLMCOST_PASS(llmcost_call_set_provider_cost(call, INT64_MAX));
	LLMCOST_PASS(llmcost_call_set_usage_flags(call, LLMCOST_USAGE_FLAGS));
	LLMCOST_PASS(llmcost_call_set_status(call, LLMCOST_STATUS_ABORTED));
	LLMCOST_PASS(llmcost_call_end(call));
	LLMCOST_PASS(llmcost_flush(c, 10000));
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	llmcost_shutdown(c, 2000);
	standin_stop(&s, dir, t);

	assert_int_equal(s.failed, 0);
	assert_int_equal(s.records, 1);
	assert_int_equal(s.max_meta, LLMCOST_MAX_META);
	assert_int_equal(s.max_tags, LLMCOST_MAX_TAGS);
	assert_int_equal(st.calls_acked, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_in_flight_together),
		cmocka_unit_test(test_waiting_batches_merge),
		cmocka_unit_test(test_largest_record),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
