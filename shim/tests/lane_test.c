// Tests for the per-thread lanes (shim/lane.h): every call made from
// many threads reaches the exporter exactly once, whether its thread
// holds a lane or uses the shared ring; the lanes of exited threads are
// drained and taken again by new threads; threads beyond the registry
// use the shared ring; a thread that outlives a client (its lane's key
// destructor runs after the client is gone) moves on to the next client
// cleanly; a call from a thread's last destructor round takes no lane;
// a thread that alternates between two clients keeps each one's calls
// apart; and the owner's side of a lane, on its own, takes no slot the
// loop has not handed back and overfills no ring, whatever it knew of
// the lane it used before.  Each call carries (thread, sequence) in its
// usage, and a capturing exporter counts every pair it receives.  It
// also checks every run id: minted from the call's start time (by the
// batch loop, unless the caller asked for it first, when it must be the
// id the caller was given, which the call carries in usage[2] and
// usage[3]), and no two alike.
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "testutil.h"

#include "batch.h"
#include "llmcost_common.h"
#include "shim.h"
#include "sink.h"

#define MAX_THREADS (3 * LLMCOST__LANES_MAX)
#define MAX_CALLS   3000

static pthread_mutex_t seen_mtx = PTHREAD_MUTEX_INITIALIZER;
static uint8_t seen[MAX_THREADS][MAX_CALLS];
static uint64_t seen_bad;     // records with a pair out of range
static uint64_t last_start;   // start_ns of the last record delivered
static uint64_t order_breaks; // records that started before the last
static uint64_t ids_bad;      // run ids not of their call (see above)
static uint64_t ids[MAX_THREADS * MAX_CALLS]; // their random halves
static size_t n_ids;

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) {
		v = (v << 8) | p[i];
	}
	return (v);
}

// Whether r's run id is a UUIDv7 of its start time, and the one the
// caller was given when it asked (usage[2], usage[3]).
static int
id_ok(const llmcost_proto_record *r)
{
	uint64_t hi = be64(r->run_id), lo = be64(r->run_id + 8);
	uint64_t ms = r->start_ns / 1000000u;
	uint64_t sub = ((r->start_ns % 1000000u) << 12) / 1000000u;
	if (hi != ((ms << 16) | 0x7000u | sub) || (lo >> 62) != 2) {
		return (0);
	}
	if ((r->usage[2] | r->usage[3]) != 0
	    && (r->usage[2] != hi || r->usage[3] != lo)) {
		return (0);
	}
	return (1);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return (x < y ? -1 : x > y);
}

// sink_seen: counts each call of b by its thread and number.
static void
cap_seen(const llmcost__batch *b)
{
	pthread_mutex_lock(&seen_mtx);
	for (uint32_t i = 0; i < b->n; i++) {
		uint64_t t = b->records[i].usage[0];
		uint64_t k = b->records[i].usage[1];
		if (t < MAX_THREADS && k < MAX_CALLS && seen[t][k] < 255) {
			seen[t][k]++;
		} else {
			seen_bad++;
		}
		if (b->records[i].start_ns < last_start) {
			order_breaks++;
		}
		if (!id_ok(&b->records[i])) {
			ids_bad++;
		}
		if (n_ids < MAX_THREADS * MAX_CALLS) {
			ids[n_ids++] = be64(b->records[i].run_id + 8);
		}
		last_start = b->records[i].start_ns;
	}
	pthread_mutex_unlock(&seen_mtx);
}

static llmcost_client *
cap_client(uint32_t queue_max)
{
	llmcost_client *c;
	sink_seen = cap_seen;
	LLMCOST_PASS(sink_client(&c, queue_max));
	pthread_mutex_lock(&seen_mtx);
	memset(seen, 0, sizeof(seen));
	seen_bad = 0;
	last_start = 0;
	order_breaks = 0;
	ids_bad = 0;
	n_ids = 0;
	pthread_mutex_unlock(&seen_mtx);
	return (c);
}

// Calls the capturing exporter stored (llmcost_stats speaks of the
// collector only).
static uint64_t
stored(llmcost_client *c)
{
	return (atomic_load(&c->exporters[0].stored));
}

// Asserts that threads [0, nthreads) each delivered calls [0, ncalls)
// exactly once and nothing else arrived.
static void
check_seen(uint32_t nthreads, uint32_t ncalls)
{
	pthread_mutex_lock(&seen_mtx);
	uint64_t bad = seen_bad;
	for (uint32_t t = 0; t < MAX_THREADS; t++) {
		for (uint32_t k = 0; k < MAX_CALLS; k++) {
			uint8_t want = t < nthreads && k < ncalls ? 1 : 0;
			if (seen[t][k] != want) {
				pthread_mutex_unlock(&seen_mtx);
				fail_msg(
				    "thread %u call %u delivered %u times", t,
				    k, seen[t][k]);
			}
		}
	}
	uint64_t bad_ids = ids_bad, dup_ids = 0;
	qsort(ids, n_ids, sizeof(ids[0]), u64_cmp);
	for (size_t i = 1; i < n_ids; i++) {
		dup_ids += ids[i] == ids[i - 1];
	}
	pthread_mutex_unlock(&seen_mtx);
	assert_int_equal(bad, 0);
	assert_int_equal(bad_ids, 0);
	assert_int_equal(dup_ids, 0);
}

typedef struct worker {
	llmcost_client *c;
	uint32_t id;
	uint32_t ncalls;
	pthread_barrier_t *start; // all threads alive at once, or NULL
	int had_lane;             // the thread held a lane of c
	int failed;               // a call returned an error
	uint64_t efull;           // begins refused for a full pool (drops)
	// Two-client test: the second client, and the hand-over between.
	llmcost_client *c2;
	pthread_mutex_t *mtx;
	pthread_cond_t *cv;
	int *phase;
} worker;

// Call k of worker w on c; 0, or -1 (w->failed set).
static int
make_call(worker *w, llmcost_client *c, uint32_t k)
{
	llmcost_call *call;
	llmcost_usage u;
	int rv;

	memset(&u, 0, sizeof(u));
	u.tokens[0] = w->id;
	u.tokens[1] = k;
	while ((rv = llmcost_call_begin(c, "openai", "gpt-4o-mini", &call))
	    == LLMCOST_EFULL) {
		// The pool is full for now (counted as a drop): let the loop
		// drain it.
		w->efull++;
		(void) llmcost_flush(c, 100);
	}
	if (rv == 0 && k % 7 == 0) {
		// Some calls ask for their id: the loop must not mint
		// another.
		char text[37];
		uint8_t id[16];
		if (llmcost_call_run_id(call, text, sizeof(text)) != 0
		    || llmcost__uuid_parse(text, id) != 0) {
			w->failed = 1;
			return (-1);
		}
		u.tokens[2] = be64(id);
		u.tokens[3] = be64(id + 8);
	}
	if (rv != 0 || llmcost_call_set_meta(call, "feature", "lane") != 0
	    || llmcost_call_set_usage(call, &u) != 0
	    || llmcost_call_end(call) != 0) {
		w->failed = 1;
		return (-1);
	}
	return (0);
}

static void
make_calls(worker *w, llmcost_client *c)
{
	for (uint32_t k = 0; k < w->ncalls; k++) {
		if (make_call(w, c, k) != 0) {
			return;
		}
	}
}

// Whether the calling thread's lane (if any) belongs to c.
static int
holds_lane(llmcost_client *c)
{
	llmcost__lane *l = llmcost__lane_me.lane;
	return (llmcost__lane_me.c == c && l != NULL && c->lanes != NULL
	    && l >= c->lanes && l < c->lanes + LLMCOST__LANES_MAX);
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	if (w->start != NULL) {
		pthread_barrier_wait(w->start);
	}
	make_calls(w, w->c);
	w->had_lane = holds_lane(w->c);
	if (w->start != NULL) {
		// Nobody exits (and frees a lane) before all have called.
		pthread_barrier_wait(w->start);
	}
	return (NULL);
}

// Begins the workers saw refused, which the client counts as dropped.
static uint64_t
refused(const worker *w, uint32_t n)
{
	uint64_t r = 0;
	for (uint32_t i = 0; i < n; i++) {
		r += w[i].efull;
	}
	return (r);
}

// Workers first .. first+n-1 on c, each to make ncalls calls, starting
// together at bar.
static void
workers_init(worker *w, uint32_t n, llmcost_client *c, uint32_t first,
    uint32_t ncalls, pthread_barrier_t *bar)
{
	memset(w, 0, n * sizeof(*w));
	for (uint32_t i = 0; i < n; i++) {
		w[i].c = c;
		w[i].id = first + i;
		w[i].ncalls = ncalls;
		w[i].start = bar;
	}
}

static void
run_threads(worker *w, uint32_t n)
{
	pthread_t th[MAX_THREADS];
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(w[i].failed);
	}
}

// Flushes until the loop has recycled every lane of an exited thread
// (each flush runs at least one round of the loop), keep lanes of live
// threads left.
static void
wait_lanes_free(llmcost_client *c, uint32_t keep)
{
	for (int i = 0; i < 2000 && llmcost__lanes_in_use(c) > keep; i++) {
		LLMCOST_PASS(llmcost_flush(c, 10000));
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(llmcost__lanes_in_use(c), keep);
}

// Many threads at once, fewer than the registry holds: each takes a lane
// and every call arrives once.
static void
test_many_threads(void **state)
{
	(void) state;
	enum { N = 8, CALLS = MAX_CALLS };
	worker w[N];
	pthread_barrier_t bar;
	llmcost_client *c = cap_client(1024);

	assert_non_null(c->lanes);
	assert_int_equal(pthread_barrier_init(&bar, NULL, N), 0);
	workers_init(w, N, c, 0, CALLS, &bar);
	run_threads(w, N);
	for (uint32_t i = 0; i < N; i++) {
		assert_true(w[i].had_lane);
	}
	llmcost_stats st = llmcost_test_flushed(c, 30000);
	assert_int_equal(st.calls_ended, N * CALLS);
	assert_int_equal(stored(c), N * CALLS);
	assert_int_equal(st.calls_dropped, refused(w, N));
	assert_int_equal(st.queue_depth, 0);
	check_seen(N, CALLS);
	pthread_barrier_destroy(&bar);
	llmcost_shutdown(c, 5000);
}

// More threads alive at once than the registry holds: exactly
// LLMCOST__LANES_MAX of them take a lane, the rest use the shared ring,
// and every call arrives once.
static void
test_beyond_cap(void **state)
{
	(void) state;
	enum { N = 2 * LLMCOST__LANES_MAX + 4, CALLS = 1000 };
	worker w[N];
	pthread_barrier_t bar;
	llmcost_client *c = cap_client(2048);

	assert_int_equal(pthread_barrier_init(&bar, NULL, N), 0);
	workers_init(w, N, c, 0, CALLS, &bar);
	run_threads(w, N);
	uint32_t with = 0;
	for (uint32_t i = 0; i < N; i++) {
		with += (uint32_t) w[i].had_lane;
	}
	assert_int_equal(with, LLMCOST__LANES_MAX);
	llmcost_stats st = llmcost_test_flushed(c, 30000);
	assert_int_equal(st.calls_ended, N * CALLS);
	assert_int_equal(stored(c), N * CALLS);
	assert_int_equal(st.calls_dropped, refused(w, N));
	check_seen(N, CALLS);
	pthread_barrier_destroy(&bar);
	llmcost_shutdown(c, 5000);
}

// Waves of threads that exit: the loop drains and frees their lanes, and
// the next wave, as many threads as lanes, takes every one of them again.
static void
test_thread_exit(void **state)
{
	(void) state;
	enum { WAVE = LLMCOST__LANES_MAX, CALLS = 500 };
	worker w[MAX_THREADS];
	pthread_barrier_t bar;
	llmcost_client *c = cap_client(1024);

	assert_int_equal(pthread_barrier_init(&bar, NULL, WAVE), 0);
	for (uint32_t wave = 0; wave < 3; wave++) {
		worker *ww = &w[wave * WAVE];
		workers_init(ww, WAVE, c, wave * WAVE, CALLS, &bar);
		run_threads(ww, WAVE);
		for (uint32_t i = 0; i < WAVE; i++) {
			if (!ww[i].had_lane) {
				fail_msg("wave %u thread %u found no lane",
				    wave, i);
			}
		}
		wait_lanes_free(c, 0);
	}
	llmcost_stats st = llmcost_test_flushed(c, 30000);
	assert_int_equal(st.calls_ended, 3 * WAVE * CALLS);
	assert_int_equal(stored(c), 3 * WAVE * CALLS);
	assert_int_equal(st.calls_dropped, refused(w, 3 * WAVE));
	check_seen(3 * WAVE, CALLS);
	// Every slot is back where begin finds it: the free stack, or a
	// lane.  All of them can be taken at once from here.
	static llmcost_call *held[1024];
	for (uint32_t i = 0; i < 1024; i++) {
		LLMCOST_PASS(
		    llmcost_call_begin(c, "openai", "gpt-4o-mini", &held[i]));
	}
	for (uint32_t i = 0; i < 1024; i++) {
		llmcost_call_abandon(held[i]);
	}
	pthread_barrier_destroy(&bar);
	llmcost_shutdown(c, 5000);
}

static void
wait_phase(worker *w, int want)
{
	pthread_mutex_lock(w->mtx);
	while (*w->phase < want) {
		pthread_cond_wait(w->cv, w->mtx);
	}
	pthread_mutex_unlock(w->mtx);
}

static void
set_phase(pthread_mutex_t *mtx, pthread_cond_t *cv, int *phase, int v)
{
	pthread_mutex_lock(mtx);
	*phase = v;
	pthread_cond_broadcast(cv);
	pthread_mutex_unlock(mtx);
}

static void *
two_clients_main(void *arg)
{
	worker *w = arg;
	make_calls(w, w->c);
	w->had_lane = holds_lane(w->c);
	pthread_barrier_wait(w->start);
	// The first client is shut down meanwhile; this thread lives on.
	wait_phase(w, 1);
	make_calls(w, w->c2);
	w->had_lane &= holds_lane(w->c2);
	return (NULL);
}

// Threads outlive the client they called: it is shut down while they
// hold its lanes (idle), they call a second client, then exit; their
// first lanes' destructors must not touch the first client's memory
// (the address sanitizer build checks), and the second client sees them
// as new threads.
static void
test_client_closed_first(void **state)
{
	(void) state;
	enum { N = 6, CALLS = 400 };
	worker w[N];
	pthread_t th[N];
	pthread_barrier_t bar;
	pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	int phase = 0;
	llmcost_client *c = cap_client(1024);

	assert_int_equal(pthread_barrier_init(&bar, NULL, N + 1), 0);
	workers_init(w, N, c, 0, CALLS, &bar);
	for (uint32_t i = 0; i < N; i++) {
		w[i].mtx = &mtx;
		w[i].cv = &cv;
		w[i].phase = &phase;
		assert_int_equal(
		    pthread_create(&th[i], NULL, two_clients_main, &w[i]), 0);
	}
	pthread_barrier_wait(&bar);
	llmcost_stats st = llmcost_test_flushed(c, 30000);
	assert_int_equal(stored(c), N * CALLS);
	check_seen(N, CALLS);
	uint64_t old_gen = c->gen;
	llmcost_shutdown(c, 5000);

	llmcost_client *c2 = cap_client(1024);
	// A thread whose cache names a client at c2's address but of an
	// older generation (as when c2 reuses c's memory) must not use the
	// lane it remembers: it takes one of c2's.
	llmcost__lane *stale = &c2->lanes[LLMCOST__LANES_MAX - 1];
	llmcost__lane_me.c = c2;
	llmcost__lane_me.gen = old_gen;
	llmcost__lane_me.lane = stale;
	llmcost_call *call;
	LLMCOST_PASS(llmcost_call_begin(c2, "openai", "gpt-4o-mini", &call));
	llmcost_call_abandon(call);
	assert_true(llmcost__lane_me.lane != stale);
	assert_true(holds_lane(c2));
	assert_int_equal(atomic_load(&stale->state), LLMCOST__LANE_FREE_);
	for (uint32_t i = 0; i < N; i++) {
		w[i].c2 = c2;
	}
	set_phase(&mtx, &cv, &phase, 1);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(w[i].failed);
		assert_true(w[i].had_lane);
	}
	st = llmcost_test_flushed(c2, 30000);
	assert_int_equal(st.calls_ended, N * CALLS);
	assert_int_equal(stored(c2), N * CALLS);
	check_seen(N, CALLS);
	wait_lanes_free(c2, 1); // this thread's
	pthread_barrier_destroy(&bar);
	llmcost_shutdown(c2, 5000);
}

// Two threads taking turns, call by call, so that every call ends before
// the other thread's next one begins: the loop hands them over oldest
// first across the lanes, in the order they were made (run ids are
// time-ordered, and the collector's store appends runs that arrive in
// id order), not one lane's calls after the other's.
typedef struct turns {
	llmcost_client *c;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	uint32_t turn; // calls made so far, both threads
	uint32_t total;
} turns;

typedef struct turn_worker {
	turns *t;
	uint32_t id; // 0 or 1: makes the calls whose number has this parity
	int failed;
	int had_lane;
} turn_worker;

static void *
turn_main(void *arg)
{
	turn_worker *w = arg;
	turns *t = w->t;
	for (;;) {
		pthread_mutex_lock(&t->mtx);
		while (t->turn < t->total && t->turn % 2 != w->id) {
			pthread_cond_wait(&t->cv, &t->mtx);
		}
		uint32_t k = t->turn;
		pthread_mutex_unlock(&t->mtx);
		if (k >= t->total) {
			break;
		}
		llmcost_call *call;
		llmcost_usage u;
		memset(&u, 0, sizeof(u));
		u.tokens[0] = w->id;
		u.tokens[1] = k / 2;
		if (llmcost_call_begin(t->c, "openai", "gpt-4o-mini", &call)
		        != 0
		    || llmcost_call_set_usage(call, &u) != 0
		    || llmcost_call_end(call) != 0) {
			w->failed = 1;
		}
		w->had_lane = holds_lane(t->c);
		pthread_mutex_lock(&t->mtx);
		t->turn++;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mtx);
	}
	return (NULL);
}

static void
test_time_order(void **state)
{
	(void) state;
	enum { CALLS = 400 }; // per thread; fewer than a lane's high mark
	turns t;
	turn_worker w[2];
	pthread_t th[2];

	memset(&t, 0, sizeof(t));
	memset(w, 0, sizeof(w));
	t.c = cap_client(0);
	t.total = 2 * CALLS;
	pthread_mutex_init(&t.mtx, NULL);
	pthread_cond_init(&t.cv, NULL);
	for (uint32_t i = 0; i < 2; i++) {
		w[i].t = &t;
		w[i].id = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, turn_main, &w[i]), 0);
	}
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(w[i].failed);
		assert_true(w[i].had_lane);
	}
	llmcost_stats st = llmcost_test_flushed(t.c, 30000);
	assert_int_equal(stored(t.c), 2 * CALLS);
	assert_int_equal(st.calls_dropped, 0);
	check_seen(2, CALLS);
	pthread_mutex_lock(&seen_mtx);
	uint64_t breaks = order_breaks;
	pthread_mutex_unlock(&seen_mtx);
	assert_int_equal(breaks, 0);
	pthread_mutex_destroy(&t.mtx);
	pthread_cond_destroy(&t.cv);
	llmcost_shutdown(t.c, 5000);
}

// One call on c, begun and ended: nonzero when either failed.
static int
call_once(llmcost_client *c)
{
	llmcost_call *call;
	return (llmcost_call_begin(c, "openai", "gpt-4o-mini", &call) != 0
	    || llmcost_call_end(call) != 0);
}

// A destructor of another key that makes a call after the lane's key
// destructor handed the lane back: the call must not go to that lane,
// which the loop may give to another thread meanwhile.
static pthread_key_t late_key;
static llmcost_client *late_c;
static int late_failed;  // a call returned an error
static int late_on_lane; // the call went to a lane the thread gave back

static void
late_exit(void *v)
{
	if (v == (void *) 1) {
		// Again in the next round, after every other destructor
		// of the first one (the lane's too) has run.
		(void) pthread_setspecific(late_key, (void *) 2);
		return;
	}
	if (call_once(late_c) != 0) {
		late_failed = 1;
	}
	llmcost__lane *l = llmcost__lane_me.lane;
	late_on_lane = l != NULL
	    && (atomic_load(&l->state) != LLMCOST__LANE_OWNED
	        || atomic_load(&l->owner) != (const void *) &llmcost__lane_me);
}

static void *
late_main(void *arg)
{
	(void) arg;
	if (call_once(late_c) != 0) {
		late_failed = 1;
	}
	(void) pthread_setspecific(late_key, (void *) 1);
	return (NULL);
}

static void
test_call_in_late_destructor(void **state)
{
	(void) state;
	pthread_t th;

	late_c = cap_client(0);
	late_failed = 0;
	late_on_lane = 0;
	assert_int_equal(pthread_key_create(&late_key, late_exit), 0);
	assert_int_equal(pthread_create(&th, NULL, late_main, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(late_failed);
	assert_false(late_on_lane);
	(void) llmcost_test_flushed(late_c, 30000);
	assert_int_equal(stored(late_c), 2);
	assert_int_equal(pthread_key_delete(late_key), 0);
	llmcost_shutdown(late_c, 5000);
}

// A thread that called client A, then client B, exits, and a destructor
// of its last round calls A again: A's lane was handed back in the first
// round, while the thread's view named B's lane, and no destructor round
// is left to hand back a lane taken now.  The call must take the shared
// ring, not a lane that would stay owned by a thread that is gone.
// ThreadSanitizer tears its state of a thread down before the last
// destructor round (gcc's and clang's ways of telling).
#if defined(__SANITIZE_THREAD__)
#define LANE_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LANE_TEST_TSAN 1
#endif
#endif

static pthread_key_t last_key;
static llmcost_client *last_a, *last_b;
static int last_failed;

static void
last_exit(void *v)
{
	uintptr_t round = (uintptr_t) v;
	if (round < PTHREAD_DESTRUCTOR_ITERATIONS) {
		(void) pthread_setspecific(last_key, (void *) (round + 1));
		return;
	}
	if (call_once(last_a) != 0) {
		last_failed = 1;
	}
}

static void *
last_main(void *arg)
{
	(void) arg;
	if (call_once(last_a) != 0 || call_once(last_b) != 0) {
		last_failed = 1;
	}
	(void) pthread_setspecific(last_key, (void *) 1);
	return (NULL);
}

static void
test_call_in_last_destructor(void **state)
{
	(void) state;
	pthread_t th;

#if defined(LANE_TEST_TSAN)
	// Any atomic operation of that round crashes inside the sanitizer
	// (its thread state is gone); the other builds run this case.
	print_message("not under ThreadSanitizer: its thread state is gone "
	              "in the last destructor round\n");
	skip();
#endif
	last_a = cap_client(0);
	last_b = cap_client(0);
	last_failed = 0;
	assert_int_equal(pthread_key_create(&last_key, last_exit), 0);
	assert_int_equal(pthread_create(&th, NULL, last_main, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(last_failed);
	(void) llmcost_test_flushed(last_a, 30000);
	(void) llmcost_test_flushed(last_b, 30000);
	assert_int_equal(stored(last_a), 2);
	assert_int_equal(stored(last_b), 1);
	wait_lanes_free(last_a, 0);
	wait_lanes_free(last_b, 0);
	assert_int_equal(pthread_key_delete(last_key), 0);
	llmcost_shutdown(last_a, 5000);
	llmcost_shutdown(last_b, 5000);
}

// Threads that take lanes one after another, each making bursts of calls
// and then staying alive without calling: their lanes keep the free slots
// they were handed.  In all they hold at most a quarter of the pool, and
// a thread without a lane can still open the rest.
typedef struct idle_worker {
	llmcost_client *c;
	uint32_t id;
	int failed;
	pthread_mutex_t *mtx;
	pthread_cond_t *cv;
	int *done; // workers done with their bursts
	int *quit; // set once the idle lanes were measured
} idle_worker;

static void *
idle_main(void *arg)
{
	idle_worker *w = arg;
	worker cw;
	memset(&cw, 0, sizeof(cw));
	cw.ncalls = 300;
	for (uint32_t burst = 0; burst < 3; burst++) {
		cw.id = burst * LLMCOST__LANES_MAX + w->id;
		make_calls(&cw, w->c);
		if (cw.failed || llmcost_flush(w->c, 10000) != 0) {
			w->failed = 1;
		}
	}
	pthread_mutex_lock(w->mtx);
	(*w->done)++;
	pthread_cond_broadcast(w->cv);
	while (!*w->quit) {
		pthread_cond_wait(w->cv, w->mtx);
	}
	pthread_mutex_unlock(w->mtx);
	return (NULL);
}

// Free slots held in the lanes of c.
static uint64_t
lanes_held(llmcost_client *c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < LLMCOST__LANES_MAX; i++) {
		n += atomic_load(&c->lanes[i].free_head)
		    - atomic_load(&c->lanes[i].free_tail);
	}
	return (n);
}

// A thread without a lane: opens calls until the pool is empty.
static void *
open_all_main(void *arg)
{
	llmcost_client *c = arg;
	static llmcost_call *open[4096];
	uintptr_t n = 0;
	while (n < 4096
	    && llmcost_call_begin(c, "openai", "gpt-4o-mini", &open[n]) == 0) {
		n++;
	}
	for (uintptr_t i = 0; i < n; i++) {
		llmcost_call_abandon(open[i]);
	}
	return ((void *) n);
}

static void
test_idle_lanes_hold_a_quarter(void **state)
{
	(void) state;
	enum { Q = 4096 };
	pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	int done = 0, quit = 0;
	idle_worker w[LLMCOST__LANES_MAX];
	pthread_t th[LLMCOST__LANES_MAX];
	llmcost_client *c = cap_client(Q);

	for (uint32_t i = 0; i < LLMCOST__LANES_MAX; i++) {
		w[i] = (idle_worker) { .c = c,
			.id = i,
			.mtx = &mtx,
			.cv = &cv,
			.done = &done,
			.quit = &quit };
		assert_int_equal(
		    pthread_create(&th[i], NULL, idle_main, &w[i]), 0);
		pthread_mutex_lock(&mtx);
		while (done < (int) i + 1) {
			pthread_cond_wait(&cv, &mtx);
		}
		pthread_mutex_unlock(&mtx);
	}
	// A round of the loop after the last release.
	LLMCOST_PASS(llmcost_flush(c, 10000));
	assert_int_equal(llmcost__lanes_in_use(c), LLMCOST__LANES_MAX);
	uint64_t held = lanes_held(c);
	assert_true(held <= Q / 4);
	pthread_t opener;
	void *opened;
	assert_int_equal(pthread_create(&opener, NULL, open_all_main, c), 0);
	assert_int_equal(pthread_join(opener, &opened), 0);
	assert_true((uintptr_t) opened >= Q - held);

	pthread_mutex_lock(&mtx);
	quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mtx);
	for (uint32_t i = 0; i < LLMCOST__LANES_MAX; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(w[i].failed);
	}
	(void) llmcost_test_flushed(c, 30000);
	check_seen(3 * LLMCOST__LANES_MAX, 300);
	llmcost_shutdown(c, 5000);
}

// One thread alternates between two clients, call by call: the
// thread-local view of its lane (lane.h) follows it to the other
// client's lane and back, and each client gets its own calls, once.
static void
test_alternating_clients(void **state)
{
	(void) state;
	enum { CALLS = MAX_CALLS };
	worker wa, wb;
	llmcost_client *a = cap_client(1024);
	llmcost_client *b = cap_client(1024);

	workers_init(&wa, 1, a, 0, CALLS, NULL);
	workers_init(&wb, 1, b, 1, CALLS, NULL);
	for (uint32_t k = 0; k < CALLS; k++) {
		assert_int_equal(make_call(&wa, a, k), 0);
		assert_true(holds_lane(a));
		assert_int_equal(make_call(&wb, b, k), 0);
		assert_true(holds_lane(b));
	}
	(void) llmcost_test_flushed(a, 30000);
	(void) llmcost_test_flushed(b, 30000);
	assert_int_equal(stored(a), CALLS);
	assert_int_equal(stored(b), CALLS);
	check_seen(2, CALLS);
	llmcost_shutdown(a, 5000);
	llmcost_shutdown(b, 5000);
}

// The owner's side of a lane alone, the loop's played by the test: free
// slots are taken in the order the loop handed them back and no further,
// the one peeked is the one taken next, and pushes stop once the ring is
// full until the loop's tail moves, then take the cells it freed.
static void
test_owner_side(void **state)
{
	(void) state;
	llmcost__lane *l = aligned_alloc(64, sizeof(*l));
	llmcost__lane_tls saved = llmcost__lane_me;
	uint32_t idx;
	uint64_t pos = 0;

	assert_non_null(l);
	memset(l, 0, sizeof(*l));
	memset(&llmcost__lane_me, 0, sizeof(llmcost__lane_me));
	llmcost__lane_adopt(l);
	assert_int_equal(llmcost__lane_slot(l, &idx), -1);
	assert_int_equal(llmcost__lane_peek(l), UINT32_MAX);
	for (uint32_t i = 0; i < 3; i++) {
		atomic_store(&l->free[i], 100 + i);
	}
	atomic_store(&l->free_head, 3);
	assert_int_equal(llmcost__lane_peek(l), UINT32_MAX); // not seen yet
	assert_int_equal(llmcost__lane_slot(l, &idx), 0);
	assert_int_equal(idx, 100);
	assert_int_equal(llmcost__lane_peek(l), 101);
	// The slot taken is the one peeked, without a second read of the
	// cell (the test rewrites it to tell).
	atomic_store(&l->free[1], 555);
	assert_int_equal(llmcost__lane_slot(l, &idx), 0);
	assert_int_equal(idx, 101);
	assert_int_equal(llmcost__lane_slot(l, &idx), 0);
	assert_int_equal(idx, 102);
	assert_int_equal(llmcost__lane_slot(l, &idx), -1);
	assert_int_equal(atomic_load(&l->free_tail), 3);

	for (uint32_t k = 0; k < LLMCOST__LANE_CALLS; k++) {
		assert_int_equal(llmcost__lane_push(l, k, &pos), 0);
		assert_int_equal(pos, k);
	}
	assert_int_equal(llmcost__lane_push(l, 7777, &pos), -1);
	assert_int_equal(atomic_load(&l->head), LLMCOST__LANE_CALLS);
	assert_int_equal(llmcost__lane_depth(l, LLMCOST__LANE_CALLS - 1),
	    LLMCOST__LANE_CALLS);
	assert_int_equal(llmcost__lane_push(l, 7777, &pos), -1);
	atomic_store(&l->tail, 5); // the loop took five
	for (uint32_t k = 0; k < 5; k++) {
		assert_int_equal(llmcost__lane_push(l, 9000 + k, &pos), 0);
		assert_int_equal(pos, LLMCOST__LANE_CALLS + k);
		assert_int_equal(atomic_load(&l->calls[k]), 9000 + k);
	}
	assert_int_equal(llmcost__lane_push(l, 7777, &pos), -1);
	assert_int_equal(atomic_load(&l->calls[5]), 5);
	assert_int_equal(atomic_load(&l->head), LLMCOST__LANE_CALLS + 5);

	// A thread turning to a full lane forgets what it knew of the
	// last: with room and a free slot known there, it must still find
	// none here.
	llmcost__lane *full = aligned_alloc(64, sizeof(*full));
	assert_non_null(full);
	memset(full, 0, sizeof(*full));
	atomic_store(&full->head, LLMCOST__LANE_CALLS);
	atomic_store(&full->free_head, 10);
	atomic_store(&full->free_tail, 10);
	llmcost__lane_me.calls_room = 100;
	llmcost__lane_me.free_known = 100;
	llmcost__lane_me.peeked = 1;
	llmcost__lane_adopt(full);
	assert_int_equal(llmcost__lane_push(full, 7777, &pos), -1);
	assert_int_equal(llmcost__lane_slot(full, &idx), -1);
	assert_int_equal(llmcost__lane_peek(full), UINT32_MAX);
	llmcost__lane_me = saved;
	free(full);
	free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_beyond_cap),
		cmocka_unit_test(test_thread_exit),
		cmocka_unit_test(test_client_closed_first),
		cmocka_unit_test(test_time_order),
		cmocka_unit_test(test_call_in_late_destructor),
		cmocka_unit_test(test_call_in_last_destructor),
		cmocka_unit_test(test_idle_lanes_hold_a_quarter),
		cmocka_unit_test(test_alternating_clients),
		cmocka_unit_test(test_owner_side),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
