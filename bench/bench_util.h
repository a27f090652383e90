// Helpers shared by the benchmarks: the timed call, a monotonic clock,
// percentiles, the options, and "metric NAME VALUE" lines that
// bench/run.sh collects across runs.  The child llmcostd on a temporary
// data directory comes from the test harness (tests/harness/harness.h).
#ifndef LLMCOST_BENCH_UTIL_H
#define LLMCOST_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "llmcost.h"

// Usage of a typical RAG call, in exclusive buckets.
extern const llmcost_usage bench_usage;

// The call both benchmarks time: begin, three metadata values, a tag,
// usage, end.  Returns 0 or the first error.
int bench_tagged_call(llmcost_client *c);

static inline uint64_t
bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

// Times one bench_tagged_call(c): its latency less the timer's own cost
// (overhead, from bench_timer_overhead; 0 if that is more) into *lat.
// Returns 0, or -1 after printing the call's error.
int bench_timed_call(llmcost_client *c, uint32_t overhead, uint32_t *lat);

// Sleeps for ns nanoseconds.
void bench_sleep_ns(uint64_t ns);

typedef struct bench_pct {
	double mean;
	uint32_t p50, p99, p999, max;
} bench_pct;

// Sorts v (n > 0) and fills *out.
void bench_percentiles(uint32_t *v, size_t n, bench_pct *out);

// The cost of the timing itself: the median and p99 of the difference
// between two back-to-back clock_gettime(CLOCK_MONOTONIC) reads.
void bench_timer_overhead(uint32_t *median, uint32_t *p99);

// Reads the options both benchmarks take: -n CALLS, -q QUEUE_MAX and
// --llmcostd PATH; values not given keep what the pointers hold.
// Returns 0, or -1 on an unknown option or a missing value.
int bench_parse_args(
    int argc, char **argv, size_t *n, uint32_t *queue_max, const char **exe);

// Options for a benchmark client that sends every call to the collector
// at url and, with tracing 1 (-1: off), to the LangSmith endpoint ls_url
// with key and project; the queue holds 65536 calls.  The other fields
// are zero (their defaults) for the caller to set.
void bench_langsmith_options(llmcost_options *o, const char *url,
    const char *ls_url, const char *key, const char *project, int tracing);

// Opens /proc/self/task/TID/file of this process's thread named name
// (its comm: at most 15 characters), or returns NULL.  The caller closes
// it.
FILE *bench_thread_file(const char *name, const char *file);

// Prints "metric NAME VALUE", one line, for bench/run.sh.
void bench_metric(const char *name, double value);

// The metrics PREFIX_p50_ns, PREFIX_p99_ns and PREFIX_p999_ns of *p.
void bench_metric_pct(const char *prefix, const bench_pct *p);

#endif // LLMCOST_BENCH_UTIL_H
