// DESIGN: what the hard budget guard costs at the call site.  One call
// as an application tags it (call_begin, set_meta feature, env and
// user_tier, then abandon, so nothing is queued and no collector is
// needed) is timed in loops of a million, median of seven loops, with
// (a) no hard budget exhausted (the guard is one atomic load), (b) four
// exhausted hard budgets that do not match the calls (every begin and
// set_meta hashes the call's attributes and compares them), and (c) the
// refusal itself (the call matches at set_meta feature).  The client's
// table is published through the shim's own function, as the collector
// exporter publishes it.  Prints numbers, asserts nothing.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "guard.h"
#include "shim.h"
#include "sink.h"

#define LOOP 1000000
#define RUNS 7

static double
one_loop(llmcost_client *c, const char *feature)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < LOOP; i++) {
		llmcost_call *call;
		if (llmcost_call_begin(c, "openai", "gpt-4o-mini", &call)
		    != 0) {
			continue;
		}
		(void) llmcost_call_set_meta(call, "feature", feature);
		(void) llmcost_call_set_meta(call, "env", "production");
		(void) llmcost_call_set_meta(call, "user_tier", "pro");
		llmcost_call_abandon(call);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (((double) (b.tv_sec - a.tv_sec) * 1e9
	            + (double) (b.tv_nsec - a.tv_nsec))
	    / LOOP);
}

static int
cmp(const void *x, const void *y)
{
	double a = *(const double *) x, b = *(const double *) y;
	return (a < b ? -1 : a > b);
}

static double
median(llmcost_client *c, const char *feature)
{
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		v[r] = one_loop(c, feature);
	}
	qsort(v, RUNS, sizeof(v[0]), cmp);
	return (v[RUNS / 2]);
}

int
main(void)
{
	llmcost_client *c = NULL;
	static llmcost_proto_guard g[4];
	static const char *const names[4] = { "a", "b", "c", "search" };

	if (sink_client(&c, 0) != 0) {
		fprintf(stderr, "bench_guard: init failed\n");
		return (1);
	}
	for (int i = 0; i < 4; i++) {
		g[i].n_conds = 2;
		g[i].conds[0].dim = LLMCOST_GUARD_META;
		g[i].conds[0].key.ptr = "feature";
		g[i].conds[0].key.len = 7;
		g[i].conds[0].val.ptr = names[i];
		g[i].conds[0].val.len = (uint32_t) strlen(names[i]);
		g[i].conds[1].dim = LLMCOST_GUARD_META;
		g[i].conds[1].key.ptr = "env";
		g[i].conds[1].key.len = 3;
		g[i].conds[1].val.ptr = "production";
		g[i].conds[1].val.len = 10;
	}
	double none = median(c, "rag-search");
	llmcost_proto_budget_state s = { 1, 4, g };
	llmcost__guard_publish(&c->guard, &s);
	double miss = median(c, "rag-search");
	double hit = median(c, "search");
	printf("begin + 3 x set_meta + abandon, ns per call (median of %d x "
	       "%d):\n",
	    RUNS, LOOP);
	printf("  no hard budget exhausted          %7.1f\n", none);
	printf("  4 exhausted, none matching        %7.1f  (+%.1f)\n", miss,
	    miss - none);
	printf("  4 exhausted, refused at set_meta  %7.1f\n", hit);
	llmcost_shutdown(c, 1000);
	return (0);
}
