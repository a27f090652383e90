// The call site under Valgrind's memcheck (registered twice: as itself,
// and run by valgrind, which fails the test on any error).  The fast
// paths of call.c load 16 bytes from a string, past its NUL, which
// memcheck follows as undefined when the string ends a heap block: a
// client that finds itself under Valgrind takes the full paths instead
// (client.no_fast).  Every string here sits alone in a heap block of its
// exact size, at every length around the fast paths' limit, and each
// call goes through the batch loop to an exporter, so that an undefined
// byte anywhere in a record would reach a branch.
#include "testutil.h"

#include "shim.h"
#include "sink.h" // calls are stored at once: no collector

static char *
heap_str(size_t len, char fill)
{
	char *s = malloc(len + 1);
	assert_non_null(s);
	memset(s, fill, len);
	s[len] = '\0';
	return (s);
}

static void
test_heap_strings(void **state)
{
	(void) state;
	llmcost_client *c = NULL;
	LLMCOST_PASS(sink_client(&c, 64));
	const char *pre = getenv("LD_PRELOAD");
	int vg = pre != NULL && strstr(pre, "/vgpreload_") != NULL;
	// Under Valgrind the fast paths are off; otherwise on.
	assert_int_equal(c->no_fast, vg);

	static const llmcost_usage usage = { .tokens = { 10, 20 } };
	for (size_t len = 1; len <= 20; len++) {
		char *p = heap_str(len, 'p');
		char *m = heap_str(len, 'm');
		char *k = heap_str(len, 'k');
		char *v = heap_str(len - 1, 'v');
		char *t = heap_str(len, 't');
		llmcost_call *call;
		LLMCOST_PASS(llmcost_call_begin(c, p, m, &call));
		LLMCOST_PASS(llmcost_call_set_meta(call, k, v));
		LLMCOST_PASS(llmcost_call_add_tag(call, t));
		LLMCOST_PASS(llmcost_call_set_usage(call, &usage));
		LLMCOST_PASS(llmcost_call_end(call));
		free(p);
		free(m);
		free(k);
		free(v);
		free(t);
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	llmcost_stats st;
	llmcost_stats_get(c, &st);
	assert_int_equal(st.calls_ended, 20);
	assert_int_equal(st.calls_dropped, 0);
	llmcost_shutdown(c, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_strings),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
