// Shared by every cmocka test: asserts on llmcost error codes that print
// the code's name and text on failure.  Daemons, temporary directories
// and running programs are the harness's (tests/harness/harness.h).
#ifndef LLMCOST_TESTUTIL_H
#define LLMCOST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llmcost.h"

// Assert that expr returns 0; on failure print the code's name and text.
#define LLMCOST_PASS(expr)                                                    \
	do {                                                                  \
		int rv_ = (expr);                                             \
		if (rv_ != 0) {                                               \
			fail_msg("%s: %s (%s)", #expr, llmcost_err_name(rv_), \
			    llmcost_strerror(rv_));                           \
		}                                                             \
	} while (0)

// Assert that expr fails with exactly the given code.
#define LLMCOST_FAIL(expr, code)                                              \
	do {                                                                  \
		int rv_ = (expr);                                             \
		if (rv_ != (code)) {                                          \
			fail_msg("%s: got %s, want %s", #expr,                \
			    llmcost_err_name(rv_), llmcost_err_name(code));   \
		}                                                             \
	} while (0)

// The counters of c (filled over 0xff bytes, so a field the call misses
// shows).
static inline llmcost_stats
llmcost_test_stats(llmcost_client *c)
{
	llmcost_stats st;
	memset(&st, 0xff, sizeof(st));
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	return (st);
}

// Flushes c (within timeout_ms, or the test fails) and returns its
// counters.
static inline llmcost_stats
llmcost_test_flushed(llmcost_client *c, int32_t timeout_ms)
{
	LLMCOST_PASS(llmcost_flush(c, timeout_ms));
	return (llmcost_test_stats(c));
}

#endif // LLMCOST_TESTUTIL_H
