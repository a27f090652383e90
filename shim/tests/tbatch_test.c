// Tests of the string-table batch (TBATCH, proto/README.md) between the
// collector exporter (shim/export_collector.c) and a stand-in collector
// in this process: a plain rep0 socket answering one request at a time,
// which keeps every run id it stores and counts what it receives.  It
// plays three collectors: one that advertises TBATCH in its ACKs, one
// from before TBATCH (never advertises it, refuses type 9 as an unknown
// message type), and one that is replaced by the older one behind the
// same address while the client runs.  In each, every call must be
// stored exactly once, none counted lost or refused, and the older
// collector must never receive a TBATCH it did not advertise.
#include <pthread.h>
#include <stdatomic.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "testutil.h"

#include "harness.h"
#include "llmcost_proto.h"
#include "shim.h"

#define CALLS     24 // calls per test, one batch each
#define MAX_CALLS 64

enum {
	MODE_NEW = 0, // advertises TBATCH and stores it
	MODE_OLD = 1, // a collector from before TBATCH
};

typedef struct standin {
	nng_socket sock;
	_Atomic int mode;
	_Atomic int stop;
	_Atomic uint64_t stored; // calls stored (distinct run ids)
	uint64_t dups;           // calls stored twice
	uint64_t tbatch_stored;  // TBATCHes stored
	uint64_t tbatch_refused; // TBATCHes refused (MODE_OLD)
	uint64_t tbatch_unasked; // TBATCHes sent though no ACK advertised
	int advertised;          // the last ACK sent advertised TBATCH
	int failed;              // a request did not decode
	uint8_t ids[MAX_CALLS][16];
	char last_model[64]; // the model of the last call stored
} standin;

static int
buf_write(void *arg, const char *buf, size_t len)
{
	return (nng_msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}

static void
store(standin *s, const llmcost_proto_batch *b)
{
	for (uint32_t i = 0; i < b->n_records; i++) {
		const llmcost_proto_record *r = &b->records[i];
		uint64_t n = atomic_load(&s->stored);
		int dup = 0;

		for (uint64_t j = 0; j < n; j++) {
			dup |= memcmp(s->ids[j], r->run_id, 16) == 0;
		}
		if (dup) {
			s->dups++;
		} else if (n < MAX_CALLS) {
			memcpy(s->ids[n], r->run_id, 16);
			snprintf(s->last_model, sizeof(s->last_model), "%.*s",
			    (int) r->model.len, r->model.ptr);
			atomic_store(&s->stored, n + 1);
		}
	}
}

// Answers req (freed here) as the collector of the current mode would.
static void
answer(standin *s, nng_msg *req)
{
	llmcost_proto_msg m;
	llmcost_proto_ack a;
	llmcost_proto_enc enc;
	nng_msg *reply;
	int mode = atomic_load(&s->mode);
	int decoded;

	memset(&a, 0, sizeof(a));
	decoded = llmcost_proto_decode(
	              nng_msg_body(req), nng_msg_len(req), &m, NULL, 0)
	    == 0;
	if (!decoded) {
		a.status = LLMCOST_ACK_REJECTED;
		a.reason.ptr = "unreadable";
		s->failed = 1;
	} else if (m.type == LLMCOST_MSG_BATCH
	    || (m.type == LLMCOST_MSG_TBATCH && mode == MODE_NEW)) {
		memcpy(a.client_id, m.u.batch.client_id, 16);
		a.seq = m.u.batch.seq;
		a.status = LLMCOST_ACK_STORED;
		a.stored = m.u.batch.n_records;
		if (m.type == LLMCOST_MSG_TBATCH) {
			s->tbatch_stored++;
			s->tbatch_unasked += !s->advertised;
		}
		store(s, &m.u.batch);
	} else if (m.type == LLMCOST_MSG_TBATCH) {
		// An older collector: its decoder does not know the type.
		memcpy(a.client_id, m.u.batch.client_id, 16);
		a.seq = m.u.batch.seq;
		a.status = LLMCOST_ACK_REJECTED;
		a.reason.ptr = "unknown message type 9";
		s->tbatch_refused++;
		s->tbatch_unasked += !s->advertised;
	} else {
		// The budget poll: refused, as an older collector does.
		a.status = LLMCOST_ACK_REJECTED;
		a.reason.ptr = "unknown message type 7";
	}
	if (decoded) {
		llmcost_proto_msg_free(&m);
	}
	nng_msg_free(req);
	a.reason.len
	    = a.reason.ptr != NULL ? (uint32_t) strlen(a.reason.ptr) : 0;
	a.features = mode == MODE_NEW ? LLMCOST_PROTO_FEAT_TBATCH : 0;
	s->advertised = a.features != 0;
	if (nng_msg_alloc(&reply, 0) != 0) {
		s->failed = 1;
		return;
	}
	llmcost_proto_enc_init(&enc, buf_write, reply, 0);
	if (llmcost_proto_enc_ack(&enc, &a) != 0
	    || nng_sendmsg(s->sock, reply, 0) != 0) {
		nng_msg_free(reply);
		s->failed = 1;
	}
}

static void *
standin_main(void *arg)
{
	standin *s = arg;

	while (!atomic_load(&s->stop)) {
		nng_msg *req;
		int rv = nng_recvmsg(s->sock, &req, 0);
		if (rv == NNG_ETIMEDOUT) {
			continue;
		}
		if (rv != 0) {
			break;
		}
		answer(s, req);
	}
	return (NULL);
}

// Waits until the stand-in has stored n calls and the client has taken
// their acknowledgements (so that the next batch is encoded knowing
// what the last ACK said).
static void
wait_stored(standin *s, llmcost_client *c, uint64_t n)
{
	llmcost_stats st;

	for (int i = 0;; i++) {
		LLMCOST_PASS(llmcost_stats_get(c, &st));
		if (atomic_load(&s->stored) >= n && st.calls_acked >= n) {
			return;
		}
		if (i == 10000) {
			fail_msg("the stand-in stored %llu calls, the client "
			         "saw %llu acknowledged, not %llu",
			    (unsigned long long) atomic_load(&s->stored),
			    (unsigned long long) st.calls_acked,
			    (unsigned long long) n);
		}
		harness_sleep_ms(1);
	}
}

// Runs CALLS calls, one batch each, against a stand-in in mode, which
// switches to MODE_OLD after switch_after calls (when < CALLS).
static void
run(standin *s, int mode, int switch_after, llmcost_stats *st)
{
	pthread_t t;
	char url[512];
	char *dir;
	llmcost_client *c = NULL;
	llmcost_options o;

	memset(s, 0, sizeof(*s));
	atomic_store(&s->mode, mode);
	dir = harness_tmpdir();
	assert_non_null(dir);
	snprintf(url, sizeof(url), "ipc://%s/standin.sock", dir);
	assert_int_equal(nng_rep0_open(&s->sock), 0);
	assert_int_equal(nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, 50), 0);
	assert_int_equal(nng_listen(s->sock, url, NULL, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, standin_main, s), 0);

	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 5;
	o.batch_max = 1; // one call, one batch
	o.ack_timeout_ms = 30000;
	LLMCOST_PASS(llmcost_init(&c, &o));
	for (int n = 0; n < CALLS; n++) {
		char model[32];
		llmcost_call *call;

		if (n == switch_after) {
			atomic_store(&s->mode, MODE_OLD);
		}
		// Strings that repeat and one that does not.
		snprintf(model, sizeof(model), "model-%d", n);
		LLMCOST_PASS(llmcost_call_begin(c, "openai", model, &call));
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
		LLMCOST_PASS(llmcost_call_add_tag(call, "beta"));
		LLMCOST_PASS(llmcost_call_end(call));
		wait_stored(s, c, (uint64_t) n + 1);
		assert_string_equal(s->last_model, model);
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	LLMCOST_PASS(llmcost_stats_get(c, st));
	llmcost_shutdown(c, 2000);
	atomic_store(&s->stop, 1);
	pthread_join(t, NULL);
	nng_close(s->sock);
	harness_rmdir(dir);

	assert_int_equal(s->failed, 0);
	assert_int_equal(atomic_load(&s->stored), CALLS);
	assert_int_equal(s->dups, 0);
	assert_int_equal(s->tbatch_unasked, 0);
	assert_int_equal(st->calls_acked, CALLS);
	assert_int_equal(st->calls_dropped, 0);
}

// A collector that advertises TBATCH gets it from the second batch on
// (the first ACK tells the client).
static void
test_tbatch_advertised(void **state)
{
	standin s;
	llmcost_stats st;

	(void) state;
	run(&s, MODE_NEW, CALLS, &st);
	assert_int_equal(s.tbatch_stored, CALLS - 1);
	assert_int_equal(s.tbatch_refused, 0);
}

// A collector from before TBATCH never advertises it and never gets it.
static void
test_tbatch_older_collector(void **state)
{
	standin s;
	llmcost_stats st;

	(void) state;
	run(&s, MODE_OLD, CALLS, &st);
	assert_int_equal(s.tbatch_stored, 0);
	assert_int_equal(s.tbatch_refused, 0);
}

// The collector behind the address is replaced by an older one: the
// TBATCH it refuses goes again as a BATCH (stored once, nothing lost),
// and the next batches are BATCHes.
static void
test_tbatch_downgrade(void **state)
{
	standin s;
	llmcost_stats st;

	(void) state;
	run(&s, MODE_NEW, CALLS / 2, &st);
	assert_int_equal(s.tbatch_stored, CALLS / 2 - 1);
	assert_int_equal(s.tbatch_refused, 1);
	assert_int_equal(st.batches_resent, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tbatch_advertised),
		cmocka_unit_test(test_tbatch_older_collector),
		cmocka_unit_test(test_tbatch_downgrade),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
