// DESIGN: the query engine's speed on a store of N calls (default 2 M)
// over 30 days, 20 features, 6 models, 3 environments and a "customer"
// metadata key with 1000 values, written straight through the store's
// writer (priced as llmcostd prices them) into a temporary directory:
//   - cost by feature over 30 days and over 24 hours (rollups), in ms;
//   - cost by meta.customer over 30 days (every run scanned), in ms and
//     runs per second, and the same filtered by env;
//   - cost by feature answered from the runs alone (QUERY_RUNS_ONLY).
// Each query runs several times and the fastest is kept: the store is
// in the page cache after the first, which is the case a report on a
// live collector meets.  Times are the thread's CPU time, so that other
// work on a shared machine does not count.  Prints "metric NAME VALUE" lines.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"
#include "pricing.h"
#include "query.h"
#include "store.h"

#define DAYS    30
#define BATCH   4096
#define REPEATS 5
#define NS_HOUR UINT64_C(3600000000000)

static const char *const models[6][2] = { { "openai", "gpt-4o" },
	{ "openai", "gpt-4o-mini" }, { "anthropic", "claude-sonnet-4-5" },
	{ "anthropic", "claude-haiku-4-5" }, { "google", "gemini-2.5-pro" },
	{ "google", "gemini-2.5-flash" } };
static const char *const envs[3] = { "production", "staging", "dev" };

static double
best_ms(store *s, const query_spec *q, uint64_t *runs, size_t *rows)
{
	double best = 1e30;
	for (int i = 0; i < REPEATS; i++) {
		query_result *r;
		char err[256];
		// CPU time of this thread: the machine may be shared, and
		// a scan on one core is what is measured.
		struct timespec a, b;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		if (query_run(s, q, &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "query: %s\n", err);
			exit(1);
		}
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		double ms = (double) (b.tv_sec - a.tv_sec) * 1e3
		    + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
		best = ms < best ? ms : best;
		*runs = r->runs_scanned;
		*rows = r->n_rows;
		query_result_free(r);
	}
	return (best);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	// A second argument keeps the store in that directory, and a store
	// already there is queried without being written again.
	const char *keep = argc > 2 ? argv[2] : NULL;
	char dir[] = "/tmp/llmcost-bench-query-XXXXXX", err[STORE_ERR_MAX];
	char path[1024], cmd[128];
	store *s;

	if (keep == NULL && mkdtemp(dir) == NULL) {
		return (1);
	}
	snprintf(path, sizeof(path), "%s/store", keep != NULL ? keep : dir);
	struct stat st;
	int exists = keep != NULL && stat(path, &st) == 0;
	if (store_open(&s, path, 0, 16ull << 30, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	// Whole days, so that a kept store is queried over the same window.
	uint64_t end_ns = (uint64_t) time(NULL) / 86400 * 24 * NS_HOUR;
	uint64_t start_ns = end_ns - DAYS * 24 * NS_HOUR;
	uint64_t step = (end_ns - start_ns) / n;
	static llmcost_proto_record recs[BATCH];
	static llmcost_proto_kv kv[BATCH][3];
	static char feat[20][16], cust[1000][16];
	static store_cost costs[BATCH];
	for (int i = 0; i < 20; i++) {
		snprintf(feat[i], sizeof(feat[i]), "feature-%02d", i);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(cust[i], sizeof(cust[i]), "cust-%04d", i);
	}
	uint64_t rng = 0x9e3779b97f4a7c15ULL, t0 = bench_now_ns();
	for (size_t done = exists ? n : 0; done < n;) {
		uint32_t m = (uint32_t) (n - done < BATCH ? n - done : BATCH);
		for (uint32_t i = 0; i < m; i++) {
			llmcost_proto_record *r = &recs[i];
			size_t k = done + i;
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			memset(r, 0, sizeof(*r));
			r->start_ns = start_ns + k * step;
			uint64_t ms = r->start_ns / 1000000u;
			for (int b = 0; b < 6; b++) {
				r->run_id[b] = (uint8_t) (ms >> (40 - 8 * b));
			}
			r->run_id[6] = 0x70;
			r->run_id[8] = 0x80;
			memcpy(r->run_id + 10, &k, sizeof(uint32_t));
			const char *const *mo = models[rng % 6];
			r->provider.ptr = mo[0];
			r->provider.len = (uint32_t) strlen(mo[0]);
			r->model.ptr = mo[1];
			r->model.len = (uint32_t) strlen(mo[1]);
			r->usage[LLMCOST_IN_UNCACHED] = 500 + rng % 2000;
			r->usage[LLMCOST_OUT_TEXT] = 100 + (rng >> 20) % 500;
			const char *v[3]
			    = { feat[(rng >> 8) % 20], envs[(rng >> 16) % 3],
				      cust[(rng >> 24) % 1000] };
			const char *key[3] = { "feature", "env", "customer" };
			for (int j = 0; j < 3; j++) {
				kv[i][j].key.ptr = key[j];
				kv[i][j].key.len = (uint32_t) strlen(key[j]);
				kv[i][j].val.ptr = v[j];
				kv[i][j].val.len = (uint32_t) strlen(v[j]);
			}
			r->meta = kv[i];
			r->n_meta = 3;
		}
		llmcost_proto_batch b;
		memset(&b, 0, sizeof(b));
		b.records = recs;
		b.n_records = m;
		b.seq = done / BATCH + 1;
		pricing_batch(&b, costs);
		store_batch sb = { &b, costs };
		store_batch_result res;
		if (store_write(s, &sb, 1, &res, end_ns, err, sizeof(err))
		    != 0) {
			fprintf(stderr, "write: %s\n", err);
			return (1);
		}
		done += m;
	}
	fprintf(stderr, "wrote %zu calls in %.1f s\n", n,
	    (double) (bench_now_ns() - t0) / 1e9);

	query_spec q;
	uint64_t runs;
	size_t rows;
	query_spec_init(&q);
	q.from_ns = start_ns;
	q.to_ns = end_ns;
	bench_metric("query_feature_30d_ms", best_ms(s, &q, &runs, &rows));
	q.from_ns = end_ns - 24 * NS_HOUR;
	bench_metric("query_feature_24h_ms", best_ms(s, &q, &runs, &rows));
	q.from_ns = start_ns;
	q.flags = QUERY_RUNS_ONLY;
	double ms = best_ms(s, &q, &runs, &rows);
	bench_metric("query_feature_30d_runs_ms", ms);
	bench_metric("scan_feature_runs_per_s", (double) runs / ms * 1e3);
	q.flags = 0;
	if (query_key_parse("meta.customer", &q.by[0]) != 0) {
		return (1);
	}
	ms = best_ms(s, &q, &runs, &rows);
	bench_metric("query_customer_30d_ms", ms);
	bench_metric("scan_customer_runs_per_s", (double) runs / ms * 1e3);
	bench_metric("query_customer_rows", (double) rows);
	if (query_filter_parse("env=production", &q.where[0]) != 0) {
		return (1);
	}
	q.n_where = 1;
	ms = best_ms(s, &q, &runs, &rows);
	bench_metric("scan_customer_env_runs_per_s", (double) runs / ms * 1e3);
	store_close(s);
	if (keep != NULL) {
		return (0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) == 0 ? 0 : 1);
}
