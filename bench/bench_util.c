// DESIGN: what every benchmark needs and nothing more.  The collector runs
// as a real child process on a temporary directory, started by the test
// harness (tests/harness/), so the client's sender thread delivers over
// ipc and the daemon commits to LMDB exactly as in production; the
// benchmarks then confirm it with one acknowledged call.  Results are
// printed twice: a table for people and "metric NAME VALUE" lines that
// bench/run.sh reduces to the median of several runs.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

void
bench_sleep_ns(uint64_t ns)
{
	struct timespec ts
	    = { (time_t) (ns / 1000000000u), (long) (ns % 1000000000u) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		continue;
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
	return ((x > y) - (x < y));
}

void
bench_percentiles(uint32_t *v, size_t n, bench_pct *out)
{
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
	}
	out->mean = sum / (double) n;
	out->p50 = v[n / 2];
	out->p99 = v[(size_t) ((double) n * 0.99)];
	out->p999 = v[(size_t) ((double) n * 0.999)];
	out->max = v[n - 1];
}

void
bench_timer_overhead(uint32_t *median, uint32_t *p99)
{
	enum { N = 1000000 };
	uint32_t *v = malloc(N * sizeof(*v));
	bench_pct p;

	if (v == NULL) {
		*median = *p99 = 0;
		return;
	}
	for (size_t i = 0; i < N; i++) {
		uint64_t t0 = bench_now_ns();
		uint64_t t1 = bench_now_ns();
		v[i] = (uint32_t) (t1 - t0);
	}
	bench_percentiles(v, N, &p);
	free(v);
	*median = p.p50;
	*p99 = p.p99;
}

int
bench_timed_call(llmcost_client *c, uint32_t overhead, uint32_t *lat)
{
	uint64_t t0 = bench_now_ns();
	int rv = bench_tagged_call(c);
	uint64_t dt = bench_now_ns() - t0;
	if (rv != 0) {
		fprintf(stderr, "call: %s\n", llmcost_strerror(rv));
		return (-1);
	}
	*lat = dt > overhead ? (uint32_t) (dt - overhead) : 0;
	return (0);
}

void
bench_langsmith_options(llmcost_options *o, const char *url,
    const char *ls_url, const char *key, const char *project, int tracing)
{
	memset(o, 0, sizeof(*o));
	o->collector_url = url;
	o->queue_max = 65536;
	o->langsmith_api_key = key;
	o->langsmith_endpoint = ls_url;
	o->langsmith_project = project;
	o->langsmith_tracing = tracing;
}

FILE *
bench_thread_file(const char *name, const char *file)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	FILE *found = NULL;

	while (d != NULL && found == NULL && (e = readdir(d)) != NULL) {
		char path[300], comm[64];
		if (e->d_name[0] == '.') {
			continue;
		}
		snprintf(
		    path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		int got = fgets(comm, sizeof(comm), f) != NULL;
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (got && strcmp(comm, name) == 0) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/%s",
			    e->d_name, file);
			found = fopen(path, "r");
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	return (found);
}

void
bench_metric(const char *name, double value)
{
	printf("metric %s %.6g\n", name, value);
}

void
bench_metric_pct(const char *prefix, const bench_pct *p)
{
	char name[128];

	snprintf(name, sizeof(name), "%s_p50_ns", prefix);
	bench_metric(name, p->p50);
	snprintf(name, sizeof(name), "%s_p99_ns", prefix);
	bench_metric(name, p->p99);
	snprintf(name, sizeof(name), "%s_p999_ns", prefix);
	bench_metric(name, p->p999);
}

const llmcost_usage bench_usage = {
	.tokens = { [LLMCOST_IN_UNCACHED] = 1200,
	    [LLMCOST_IN_CACHE_READ] = 300,
	    [LLMCOST_OUT_TEXT] = 250 },
};

int
bench_tagged_call(llmcost_client *c)
{
	llmcost_call *call;
	int rv = llmcost_call_begin(c, "openai", "gpt-4o-mini", &call);
	if (rv != 0) {
		return (rv);
	}
	rv |= llmcost_call_set_meta(call, "feature", "rag-search");
	rv |= llmcost_call_set_meta(call, "env", "production");
	rv |= llmcost_call_set_meta(call, "user_tier", "pro");
	rv |= llmcost_call_add_tag(call, "beta");
	rv |= llmcost_call_set_usage(call, &bench_usage);
	int erv = llmcost_call_end(call);
	return (erv != 0 ? erv : (rv != 0 ? LLMCOST_EINVAL : 0));
}

int
bench_parse_args(
    int argc, char **argv, size_t *n, uint32_t *queue_max, const char **exe)
{
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			return (-1);
		}
		if (strcmp(argv[i], "-n") == 0) {
			*n = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-q") == 0) {
			*queue_max = (uint32_t) strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--llmcostd") == 0) {
			*exe = argv[++i];
		} else {
			return (-1);
		}
	}
	return (0);
}
