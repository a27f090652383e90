// Tests for llmcostd's query thread (collector/querier.c) on a real
// store: a query is answered with a QUERY_REPLY that carries the engine's
// result; a bad query is answered with its status and reason; an answer
// too large for one reply becomes an error that says how to narrow the
// query; jobs past QUERIER_MAX_PENDING are refused; and a stop answers
// what waits "shutting down".
#include <pthread.h>
#include <time.h>

#include "store_fixture.h"

#include "query_wire.h"
#include "querier.h"

#define N_TRACES (LLMCOST_PROTO_MAX_QROWS + 8)

// A job whose done callback keeps the decoded reply.
typedef struct waiter {
	querier_job job;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int done;
	nng_msg *reply;
} waiter;

static void
on_done(querier_job *job, nng_msg *reply)
{
	waiter *w = job->arg;
	pthread_mutex_lock(&w->mtx);
	w->reply = reply;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

static void
waiter_init(waiter *w, const llmcost_proto_query *q)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->job.query = q;
	w->job.done = on_done;
	w->job.arg = w;
}

// Waits for the reply and decodes it into *m (the message stays in w).
static void
waiter_wait(waiter *w, llmcost_proto_msg *m)
{
	char reason[256];
	pthread_mutex_lock(&w->mtx);
	while (!w->done) {
		pthread_cond_wait(&w->cv, &w->mtx);
	}
	pthread_mutex_unlock(&w->mtx);
	assert_non_null(w->reply);
	LLMCOST_PASS(llmcost_proto_decode(nng_msg_body(w->reply),
	    nng_msg_len(w->reply), m, reason, sizeof(reason)));
	assert_int_equal(m->type, LLMCOST_MSG_QUERY_REPLY);
}

static void
waiter_fini(waiter *w, llmcost_proto_msg *m)
{
	llmcost_proto_msg_free(m);
	nng_msg_free(w->reply);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mtx);
}

static int
setup(void **state)
{
	if (fixture_setup(state, "querier") != 0) {
		return (-1);
	}
	fixture *f = *state;
	// N_TRACES calls, each in a trace of its own, in batches.
	built *b = build(NULL, 0);
	for (uint32_t i = 0; i < N_TRACES; i++) {
		spec sp = { i + 1, H0, "openai", "gpt-4o", "chat", "prod",
			U3(10, 0, 1), 0, NULL, NULL, NULL };
		add(b, &sp);
		llmcost_proto_record *r = &b->recs[b->n - 1];
		r->trace_id[0] = 0x01;
		r->trace_id[12] = (uint8_t) (i >> 8);
		r->trace_id[13] = (uint8_t) i;
		if (b->n == MAX_RECS || i + 1 == N_TRACES) {
			write_built(f->s, b, i + 1, 0, b->n, 0);
			b->n = 0;
		}
	}
	free(b);
	return (0);
}

static void
query_of(llmcost_proto_query *q, const char *by)
{
	memset(q, 0, sizeof(*q));
	q->n_by = 1;
	q->by[0].ptr = by;
	q->by[0].len = (uint32_t) strlen(by);
	q->from_ns = T0;
	q->to_ns = T0 + NS_PER_HOUR;
}

static void
test_answers(void **state)
{
	fixture *f = *state;
	metrics mt;
	querier *qr;
	llmcost_proto_query q;
	llmcost_proto_msg m;
	waiter w;

	memset(&mt, 0, sizeof(mt));
	LLMCOST_PASS(querier_start(&qr, f->s, &mt));

	// By model: one row with every call.
	query_of(&q, "model");
	waiter_init(&w, &q);
	LLMCOST_PASS(querier_submit(qr, &w.job));
	waiter_wait(&w, &m);
	assert_int_equal(m.u.qreply.status, 0);
	assert_int_equal(m.u.qreply.n_rows, 1);
	assert_int_equal(m.u.qreply.rows[0].sum.calls, N_TRACES);
	assert_int_equal(m.u.qreply.total.calls, N_TRACES);
	waiter_fini(&w, &m);

	// An unknown key: the engine's words come back.
	query_of(&q, "colour");
	waiter_init(&w, &q);
	LLMCOST_PASS(querier_submit(qr, &w.job));
	waiter_wait(&w, &m);
	assert_int_equal(m.u.qreply.status, LLMCOST_EINVAL);
	assert_int_equal(m.u.qreply.n_rows, 0);
	waiter_fini(&w, &m);

	// By trace: more rows than one reply carries.
	query_of(&q, "trace");
	waiter_init(&w, &q);
	LLMCOST_PASS(querier_submit(qr, &w.job));
	waiter_wait(&w, &m);
	assert_int_equal(m.u.qreply.status, LLMCOST_ETOOBIG);
	char reason[300];
	snprintf(reason, sizeof(reason), "%.*s", (int) m.u.qreply.reason.len,
	    m.u.qreply.reason.ptr);
	assert_non_null(strstr(reason, "narrow the query"));
	waiter_fini(&w, &m);
	// With --top it fits.
	q.top = 10;
	waiter_init(&w, &q);
	LLMCOST_PASS(querier_submit(qr, &w.job));
	waiter_wait(&w, &m);
	assert_int_equal(m.u.qreply.status, 0);
	assert_int_equal(m.u.qreply.n_rows, 11);
	assert_int_equal(m.u.qreply.total.calls, N_TRACES);
	waiter_fini(&w, &m);
	assert_int_equal(mt.queries_answered, 4);

	querier_stop(qr);
	waiter_init(&w, &q);
	LLMCOST_FAIL(querier_submit(qr, &w.job), LLMCOST_ECLOSED);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mtx);
	querier_free(qr);
}

// A job whose done callback holds the query thread until released, so
// that the queue can be filled and stopped in a known state.
typedef struct blocker {
	waiter w;
	int entered, released;
} blocker;

static void
on_done_block(querier_job *job, nng_msg *reply)
{
	blocker *b = job->arg;
	pthread_mutex_lock(&b->w.mtx);
	b->w.reply = reply;
	b->entered = 1;
	pthread_cond_broadcast(&b->w.cv);
	while (!b->released) {
		pthread_cond_wait(&b->w.cv, &b->w.mtx);
	}
	b->w.done = 1;
	pthread_mutex_unlock(&b->w.mtx);
}

static void *
stop_thread(void *arg)
{
	querier_stop(arg);
	return (NULL);
}

// Jobs past the cap are refused; a stop answers every queued one
// "shutting down".
static void
test_busy_and_stop(void **state)
{
	fixture *f = *state;
	metrics mt;
	querier *qr;
	llmcost_proto_query q;
	static waiter w[QUERIER_MAX_PENDING + 1];
	blocker b;
	pthread_t st;

	memset(&mt, 0, sizeof(mt));
	LLMCOST_PASS(querier_start(&qr, f->s, &mt));
	query_of(&q, "model");
	waiter_init(&b.w, &q);
	b.w.job.done = on_done_block;
	b.w.job.arg = &b;
	b.entered = b.released = 0;
	LLMCOST_PASS(querier_submit(qr, &b.w.job));
	pthread_mutex_lock(&b.w.mtx);
	while (!b.entered) {
		pthread_cond_wait(&b.w.cv, &b.w.mtx);
	}
	pthread_mutex_unlock(&b.w.mtx);
	// The thread is held: exactly QUERIER_MAX_PENDING jobs queue.
	for (int i = 0; i <= QUERIER_MAX_PENDING; i++) {
		waiter_init(&w[i], &q);
		int rv = querier_submit(qr, &w[i].job);
		assert_int_equal(
		    rv, i < QUERIER_MAX_PENDING ? 0 : LLMCOST_EFULL);
	}
	// Stop, and once new jobs are refused, let the thread go on.
	assert_int_equal(pthread_create(&st, NULL, stop_thread, qr), 0);
	waiter probe;
	waiter_init(&probe, &q);
	while (querier_submit(qr, &probe.job) != LLMCOST_ECLOSED) {
		assert_false(probe.done); // never queued, so never answered
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&b.w.mtx);
	b.released = 1;
	pthread_cond_broadcast(&b.w.cv);
	pthread_mutex_unlock(&b.w.mtx);
	pthread_join(st, NULL);
	llmcost_proto_msg m;
	waiter_wait(&b.w, &m);
	assert_int_equal(m.u.qreply.status, 0);
	waiter_fini(&b.w, &m);
	for (int i = 0; i < QUERIER_MAX_PENDING; i++) {
		waiter_wait(&w[i], &m);
		assert_int_equal(m.u.qreply.status, LLMCOST_ECLOSED);
		waiter_fini(&w[i], &m);
	}
	assert_false(w[QUERIER_MAX_PENDING].done);
	pthread_cond_destroy(&w[QUERIER_MAX_PENDING].cv);
	pthread_mutex_destroy(&w[QUERIER_MAX_PENDING].mtx);
	pthread_cond_destroy(&probe.cv);
	pthread_mutex_destroy(&probe.mtx);
	querier_free(qr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_answers, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_busy_and_stop, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
