// Tests for the hard budget guard (shim/guard.c and its checks in
// call.c and scope.c): guards matched by provider, model and metadata
// hashes; refusals at llmcost_call_begin, llmcost_call_set_meta and
// llmcost_scope_call_begin; and the stated overshoot bound under many
// concurrent callers: once the exhausted state is published, no call
// whose check starts afterwards passes, and at most one call per thread
// (the one in flight) passes around the publication.
#include "testutil.h"

#include <pthread.h>

#include "guard.h"
#include "batch.h"
#include "shim.h"
#include "sink.h" // calls are stored at once: no collector

static llmcost_client *
client(void)
{
	llmcost_client *c = NULL;
	LLMCOST_PASS(sink_client(&c, 1024));
	return (c);
}

#define STR(s)                                                                \
	{                                                                     \
		(s), (uint32_t) sizeof(s) - 1                                 \
	}

static const llmcost_proto_guard search_guard
    = { 1, { { LLMCOST_GUARD_META, STR("feature"), STR("search") } } };
static const llmcost_proto_guard model_guard = { 2,
	{ { LLMCOST_GUARD_PROVIDER, { NULL, 0 }, STR("openai") },
	    { LLMCOST_GUARD_MODEL, { NULL, 0 }, STR("gpt-4o") } } };

static void
publish(llmcost_client *c, const llmcost_proto_guard *g, uint32_t n)
{
	llmcost_proto_budget_state s = { 1, n, g };
	llmcost__guard_publish(&c->guard, &s);
}

static void
test_match(void **state)
{
	llmcost__guard_tab t;
	uint64_t attrs[3];
	(void) state;
	memset(&t, 0, sizeof(t));
	attrs[0] = llmcost__guard_hash(
	    LLMCOST_GUARD_PROVIDER, NULL, 0, "openai", 6);
	attrs[1]
	    = llmcost__guard_hash(LLMCOST_GUARD_MODEL, NULL, 0, "gpt-4o", 6);
	attrs[2] = llmcost__guard_hash(
	    LLMCOST_GUARD_META, "feature", 7, "search", 6);
	assert_false(llmcost__guard_match(&t, attrs, 3));
	llmcost_proto_budget_state s = { 7, 1, &search_guard };
	llmcost__guard_publish(&t, &s);
	assert_int_equal(atomic_load(&t.generation), 7);
	assert_true(llmcost__guard_match(&t, attrs, 3));
	assert_false(llmcost__guard_match(&t, attrs, 2));
	// A key and value never run together: "featur" + "esearch".
	uint64_t other = llmcost__guard_hash(
	    LLMCOST_GUARD_META, "featur", 6, "esearch", 7);
	assert_false(llmcost__guard_match(&t, &other, 1));
	// Every condition must hold.
	s.guards = &model_guard;
	llmcost__guard_publish(&t, &s);
	assert_true(llmcost__guard_match(&t, attrs, 2));
	assert_false(llmcost__guard_match(&t, attrs + 1, 2));
	// A guard without conditions (the whole account) refuses all.
	llmcost_proto_guard all;
	memset(&all, 0, sizeof(all));
	s.guards = &all;
	llmcost__guard_publish(&t, &s);
	assert_true(llmcost__guard_match(&t, attrs, 0));
	// Nothing exhausted any more.
	s.n = 0;
	llmcost__guard_publish(&t, &s);
	assert_false(llmcost__guard_match(&t, attrs, 3));
}

static void
test_call_sites(void **state)
{
	llmcost_client *c = client();
	llmcost_call *call;
	llmcost_stats st;
	(void) state;

	publish(c, &model_guard, 1);
	assert_int_equal(
	    llmcost_call_begin(c, "openai", "gpt-4o", &call), LLMCOST_EBUDGET);
	assert_null(call);
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	llmcost_call_abandon(call);

	publish(c, &search_guard, 1);
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "prod"));
	assert_int_equal(
	    llmcost_call_set_meta(call, "feature", "search"), LLMCOST_EBUDGET);
	// Another value for the key: allowed again.
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "chat"));
	llmcost_call_abandon(call);

	llmcost_scope sc;
	LLMCOST_PASS(llmcost_scope_begin(c, NULL, "request", &sc));
	LLMCOST_PASS(llmcost_scope_set_meta(&sc, "feature", "search"));
	assert_int_equal(
	    llmcost_scope_call_begin(&sc, "openai", "gpt-4o", &call),
	    LLMCOST_EBUDGET);
	assert_null(call);
	LLMCOST_PASS(llmcost_scope_end(&sc));

	publish(c, NULL, 0);
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
	llmcost_call_abandon(call);
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	assert_true(st.budget_refused >= 3);
	llmcost_shutdown(c, 1000);
}

// ---- many callers against one publication ----

#define THREADS 8
#define AFTER   2000 // calls each thread makes after seeing publication

typedef struct racer {
	llmcost_client *c;
	_Atomic int *published;
	uint64_t passed_after;  // passed, checked after publication: 0
	uint64_t passed_around; // passed, publication seen only after
	uint64_t refused;
} racer;

static void *
race(void *arg)
{
	racer *r = arg;
	int seen = 0;
	while (seen < AFTER) {
		llmcost_call *call;
		int before
		    = atomic_load_explicit(r->published, memory_order_acquire);
		int rv = llmcost_call_begin(r->c, "openai", "gpt-4o", &call);
		if (rv == 0) {
			rv = llmcost_call_set_meta(call, "feature", "search");
			llmcost_call_abandon(call);
		}
		int after
		    = atomic_load_explicit(r->published, memory_order_acquire);
		if (rv == 0 && before) {
			r->passed_after++;
		} else if (rv == 0 && after) {
			r->passed_around++;
		} else if (rv == LLMCOST_EBUDGET) {
			r->refused++;
		} else if (rv != 0) {
			fail_msg("unexpected %s", llmcost_err_name(rv));
		}
		seen += before;
	}
	return (NULL);
}

static void
test_concurrent_bound(void **state)
{
	llmcost_client *c = client();
	pthread_t th[THREADS];
	racer r[THREADS];
	_Atomic int published = 0;
	(void) state;

	for (int i = 0; i < THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].c = c;
		r[i].published = &published;
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	// Let the callers run, then publish the exhausted state while they
	// are mid-call.
	for (volatile int spin = 0; spin < 2000000; spin++) { }
	publish(c, &search_guard, 1);
	atomic_store_explicit(&published, 1, memory_order_release);
	uint64_t around = 0, refused = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		// No call checked after the publication passed ...
		assert_int_equal(r[i].passed_after, 0);
		// ... and at most the one in flight passed around it.
		assert_true(r[i].passed_around <= 1);
		around += r[i].passed_around;
		refused += r[i].refused;
	}
	assert_true(refused >= (uint64_t) THREADS * AFTER);
	printf("overshoot: %llu calls around the publication (bound %d)\n",
	    (unsigned long long) around, THREADS);
	llmcost_shutdown(c, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_call_sites),
		cmocka_unit_test(test_concurrent_bound),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
