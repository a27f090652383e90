// DESIGN: the clocks, read one way everywhere.  Wall-clock nanoseconds
// (CLOCK_REALTIME) stamp calls and commits; monotonic nanoseconds measure
// durations and timeouts, which must not jump with the wall clock.  Both
// are vDSO reads on Linux: no system call, so the call site may use them.
// Deadlines for pthread_cond_timedwait are absolute CLOCK_MONOTONIC times
// (condition variables are created with that clock).  Times shown to
// people and written to files are RFC 3339 UTC, formatted in one place.

#include <stdio.h>

#include "llmcost_common.h"

uint64_t
llmcost__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

uint64_t
llmcost__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

struct timespec
llmcost__deadline_ms(int32_t timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (timeout_ms < 0) {
		timeout_ms = 0;
	}
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return (ts);
}

void
llmcost__utc_text(int64_t unix_s, char *buf, size_t bufsz)
{
	time_t t = (time_t) unix_s;
	struct tm tm;
	char full[32]; // the year of any int64_t second fits

	full[0] = '\0';
	if (gmtime_r(&t, &tm) != NULL) {
		strftime(full, sizeof(full), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(buf, bufsz, "%s", full);
}
