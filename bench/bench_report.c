// DESIGN: the cost of asking questions of a large store.  The benchmark
// writes N calls (default 10 M) spread evenly over the last D days (30)
// straight through store_write, priced by the pricing stage, with 20
// features (a few of them hot), 6 models, two envs and realistic
// metadata (a customer among 500, skewed; a user tier; a region) and a
// tag.  It then measures, each as the median of R runs:
//   - the whole `llmcost report` process (fork, exec, open, read, print
//     to /dev/null, exit), wall clock and the CPU time accounted to it,
//     for cost by feature over the last 24 h and 30 days, and for an
//     ad-hoc group-by on a metadata key over 30 days (`--by
//     meta.customer`, whatever the engine in this tree does with it; an
//     engine that refuses it is reported so); the first process after
//     the store was written is timed apart, before the R runs;
//   - the store's own scan of every run in 30 days grouped by metadata
//     set in this process on one core (runs per second): the floor under
//     any metadata group-by;
//   - the bytes a stored call takes (data.mdb's used pages over runs);
//   - the same questions asked of SQLite (the sqlite3 program, a process
//     per query like the CLI): a plain table of the same calls with and
//     without an index on the start time, and a table of the same hourly
//     rollups with an index on the hour; and, when --duckdb-script is
//     given, of DuckDB (@duckdb/node-api, the script's own timing of each
//     query on a database loaded from a CSV of the same calls).
// Everything is written in a temporary directory that is removed at the
// end (or kept with --keep).  Numbers go out as "metric NAME VALUE"
// lines for bench/run.sh, which takes the median over its runs too.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_util.h"
#include "harness.h"
#include "pricing.h"
#include "store.h"
#include "workload.h"

extern char **environ;

#define BATCH      1000 // calls per batch
#define TXN_CALLS  20000
#define NS_PER_SEC UINT64_C(1000000000)
#define MAX_RUNS   31

// Cost by feature from a given start (ns), of the plain table of calls
// and (from a given hour) of the table of hourly rollups.
#define SQL_CALLS_BY_FEATURE                                                  \
	"SELECT feature, count(*), sum(in_tokens), sum(out_tokens),"          \
	" sum(cost_pusd) FROM calls WHERE start_ns >= %llu GROUP BY"          \
	" feature ORDER BY 5 DESC;"
#define SQL_ROLLUPS_BY_FEATURE                                                \
	"SELECT feature, sum(calls), sum(in_tokens), sum(out_tokens),"        \
	" sum(cost_pusd) FROM rollups WHERE hour >= %llu GROUP BY feature"    \
	" ORDER BY 5 DESC;"

static const char *const regions[]
    = { "us-east", "us-west", "eu-west", "ap-south" };
static const char *const tags[] = { "beta", "ga", "internal" };

// One call of the workload, as the strings and numbers every consumer
// (store, SQLite, CSV) takes.
typedef struct call {
	uint8_t id[16];
	uint64_t start_ns;
	const char *feature, *provider, *model, *env, *tier, *region, *tag;
	char customer[16];
	uint64_t in, cache_read, out;
} call;

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (x);
}

static void
make_call(uint64_t i, uint64_t n, uint64_t from_ns, uint64_t span_ns, call *c)
{
	uint64_t x = mix(i + 1), y = mix(x);
	c->start_ns
	    = from_ns + (uint64_t) ((__int128) span_ns * i / n) + x % 1000;
	uint64_t ms = c->start_ns / 1000000u;
	for (int k = 0; k < 6; k++) {
		c->id[k] = (uint8_t) (ms >> (40 - 8 * k));
	}
	c->id[6] = 0x70;
	c->id[7] = 0;
	c->id[8] = 0x80;
	c->id[9] = 0;
	for (int k = 0; k < 6; k++) {
		c->id[10 + k] = (uint8_t) (i >> (40 - 8 * k));
	}
	// A few hot features: half the calls go to the first five.
	uint32_t f
	    = (x & 1) ? (uint32_t) ((x >> 1) % 5) : (uint32_t) ((x >> 1) % 20);
	c->feature = workload_features[f];
	uint32_t m = (uint32_t) ((x >> 8) % 6);
	c->provider = workload_models[m].provider;
	c->model = workload_models[m].model;
	c->env = (x >> 16) % 10 == 0 ? "staging" : "production";
	c->tier = workload_tiers[(x >> 20) % 3];
	c->region = regions[(x >> 24) % 4];
	c->tag = tags[(x >> 28) % 3];
	uint32_t a = (uint32_t) (y % 500), b = (uint32_t) ((y >> 12) % 500);
	snprintf(c->customer, sizeof(c->customer), "cust-%03u",
	    a * b / 500); // skewed towards low numbers
	c->in = 200 + (y >> 24) % 6000;
	c->cache_read = (y >> 40) % 3 == 0 ? 1024 * (1 + (y >> 44) % 4) : 0;
	c->out = 20 + (y >> 48) % 900;
}

static llmcost_proto_str
S(const char *s)
{
	llmcost_proto_str r = { s, (uint32_t) strlen(s) };
	return (r);
}

// ---- the llmcost store ----

static int
load_store(const char *dir, uint64_t n, uint64_t from_ns, uint64_t span_ns)
{
	store *s;
	char err[STORE_ERR_MAX];

	if (store_open(&s, dir, 0, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return (-1);
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < n;) {
		store_batch in[TXN_CALLS / BATCH];
		llmcost_proto_batch bt[TXN_CALLS / BATCH];
		store_batch_result res[TXN_CALLS / BATCH];
		static store_cost all_costs[TXN_CALLS];
		static llmcost_proto_record all_recs[TXN_CALLS];
		static llmcost_proto_kv all_kv[TXN_CALLS][5];
		static llmcost_proto_str all_tg[TXN_CALLS];
		static call all_calls[TXN_CALLS];
		size_t nb = 0;
		while (nb < TXN_CALLS / BATCH && i < n) {
			size_t base = nb * BATCH, k = 0;
			for (; k < BATCH && i < n; k++, i++) {
				call *c = &all_calls[base + k];
				llmcost_proto_record *r = &all_recs[base + k];
				llmcost_proto_kv *m = all_kv[base + k];
				make_call(i, n, from_ns, span_ns, c);
				memset(r, 0, sizeof(*r));
				memcpy(r->run_id, c->id, 16);
				r->start_ns = c->start_ns;
				r->duration_ns
				    = 800000000u + (c->out * 9000000u);
				r->provider = S(c->provider);
				r->model = S(c->model);
				r->usage[LLMCOST_IN_UNCACHED] = c->in;
				r->usage[LLMCOST_IN_CACHE_READ]
				    = c->cache_read;
				r->usage[LLMCOST_OUT_TEXT] = c->out;
				m[0].key = S("feature");
				m[0].val = S(c->feature);
				m[1].key = S("env");
				m[1].val = S(c->env);
				m[2].key = S("customer");
				m[2].val = S(c->customer);
				m[3].key = S("user_tier");
				m[3].val = S(c->tier);
				m[4].key = S("region");
				m[4].val = S(c->region);
				r->meta = m;
				r->n_meta = 5;
				all_tg[base + k] = S(c->tag);
				r->tags = &all_tg[base + k];
				r->n_tags = 1;
			}
			memset(&bt[nb], 0, sizeof(bt[nb]));
			memset(bt[nb].client_id, 0xb0, 16);
			bt[nb].seq = i;
			bt[nb].records = &all_recs[base];
			bt[nb].n_records = (uint32_t) k;
			pricing_batch(&bt[nb], &all_costs[base]);
			in[nb].batch = &bt[nb];
			in[nb].costs = &all_costs[base];
			in[nb].price_version = NULL;
			nb++;
		}
		uint64_t now = all_recs[0].start_ns + 2 * NS_PER_SEC;
		if (store_write(s, in, nb, res, now, err, sizeof(err)) != 0) {
			fprintf(stderr, "store_write: %s\n", err);
			store_close(s);
			return (-1);
		}
	}
	double secs = (double) (bench_now_ns() - t0) / 1e9;
	printf(
	    "loaded %llu calls through store_write in %.1f s (%.0f calls/s)\n",
	    (unsigned long long) n, secs, (double) n / secs);
	bench_metric("report.load_calls_per_s", (double) n / secs);
	store_close(s);
	return (0);
}

// ---- timing a process ----

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return ((x > y) - (x < y));
}

// One process's figures, in ms: wall from spawn to exit, and the CPU
// time (user and system) the kernel accounted to it (wait4), which
// other work on a shared machine does not inflate.
typedef struct proc_time {
	double wall, cpu;
} proc_time;

// Runs argv once with stdout to /dev/null.  Returns 0, or the exit
// status (-1: could not spawn).
static int
run_once(
    const char *const *argv, posix_spawn_file_actions_t *fa, proc_time *pt)
{
	pid_t pid;
	int st;
	struct rusage ru;
	uint64_t t0 = bench_now_ns();

	if (posix_spawn(&pid, argv[0], fa, NULL, (char **) argv, environ)
	    != 0) {
		return (-1);
	}
	if (wait4(pid, &st, 0, &ru) != pid) {
		return (-1);
	}
	pt->wall = (double) (bench_now_ns() - t0) / 1e6;
	pt->cpu = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3
	    + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		return (WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	}
	return (0);
}

// Runs argv `runs` times (after `first` more, timed apart into *first_pt
// when not NULL); the medians of wall and CPU time go to *med.  Returns
// 0, or the failed run's exit status.
static int
time_runs(
    const char *const *argv, int runs, proc_time *first_pt, proc_time *med)
{
	double w[MAX_RUNS], c[MAX_RUNS];
	posix_spawn_file_actions_t fa;
	proc_time pt;
	int st = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (first_pt != NULL) {
		st = run_once(argv, &fa, first_pt);
	}
	for (int r = 0; r < runs && st == 0; r++) {
		st = run_once(argv, &fa, &pt);
		w[r] = pt.wall;
		c[r] = pt.cpu;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (st != 0) {
		return (st);
	}
	qsort(w, (size_t) runs, sizeof(w[0]), cmp_double);
	qsort(c, (size_t) runs, sizeof(c[0]), cmp_double);
	med->wall = w[runs / 2];
	med->cpu = c[runs / 2];
	return (0);
}

// Runs argv `runs` times with stdout to /dev/null; returns the median
// wall time in ms, or -1 when it failed (exit status in *status).
static double
time_process(const char *const *argv, int runs, int *status)
{
	proc_time med;
	if ((*status = time_runs(argv, runs, NULL, &med)) != 0) {
		return (-1);
	}
	return (med.wall);
}

// The 1-minute load average, for the lines that give a wall time.
static double
load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f != NULL) {
		if (fscanf(f, "%lf", &l) != 1) {
			l = -1;
		}
		fclose(f);
	}
	return (l);
}

// ---- the store's own scan ----

typedef struct scan_sum {
	uint64_t runs;
	int64_t *by_ms; // per metaset id (the workload has < 2^18 sets)
	uint32_t n_ms;
} scan_sum;

static int
on_run(void *arg, const uint8_t *id, const store_run *run)
{
	scan_sum *s = arg;
	(void) id;
	s->runs++;
	if (run->metaset < s->n_ms) {
		s->by_ms[run->metaset] += run->cost_pusd;
	}
	return (0);
}

static double
thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double) ts.tv_sec * 1e9 + (double) ts.tv_nsec);
}

// Scans [from, to) grouping cost by metadata set: the median runs per
// second of wall time, and (*cpu_rate) of this thread's CPU time, which
// other work on a shared machine does not inflate.
static double
scan_rate(const char *dir, uint64_t from, uint64_t to, int runs,
    uint64_t *scanned, double *cpu_rate)
{
	store *s;
	char err[STORE_ERR_MAX];
	double rate[MAX_RUNS], crate[MAX_RUNS];
	scan_sum sum = { 0, NULL, 1u << 18 };

	if (store_open(&s, dir, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return (-1);
	}
	sum.by_ms = calloc(sum.n_ms, sizeof(*sum.by_ms));
	for (int r = 0; r < runs; r++) {
		store_rtxn *t;
		sum.runs = 0;
		uint64_t t0 = bench_now_ns();
		double c0 = thread_cpu_ns();
		store_read_begin(s, &t);
		store_scan(t, from, to, on_run, &sum);
		store_read_end(t);
		rate[r]
		    = (double) sum.runs * 1e9 / (double) (bench_now_ns() - t0);
		crate[r] = (double) sum.runs * 1e9 / (thread_cpu_ns() - c0);
	}
	*scanned = sum.runs;
	free(sum.by_ms);
	store_close(s);
	qsort(rate, (size_t) runs, sizeof(rate[0]), cmp_double);
	qsort(crate, (size_t) runs, sizeof(crate[0]), cmp_double);
	*cpu_rate = crate[runs / 2];
	return (rate[runs / 2]);
}

// ---- rollups: hourly against daily ----

static int
count_rollup(void *arg, const store_rkey *k, const store_rollup *v)
{
	(void) k;
	(void) v;
	(*(uint64_t *) arg)++;
	return (0);
}

static int
on_rollup_sum(void *arg, const store_rkey *k, const store_rollup *v)
{
	store_i128 *sum = arg;
	(void) k;
	*sum += store_rollup_cost(v);
	return (0);
}

// The median CPU time (ms) of reading every rollup of grain g in
// [from, to) periods and summing their cost; *rows the rollups read.
static double
rollup_ms(const char *dir, store_grain g, uint32_t from, uint32_t to, int runs,
    uint64_t *rows)
{
	store *s;
	char err[STORE_ERR_MAX];
	double t[MAX_RUNS];

	if (store_open(&s, dir, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		return (-1);
	}
	for (int r = 0; r < runs; r++) {
		store_rtxn *tx;
		store_i128 sum = 0;
		double c0 = thread_cpu_ns();
		store_read_begin(s, &tx);
		store_scan_rollups_grain(tx, g, from, to, on_rollup_sum, &sum);
		store_read_end(tx);
		t[r] = (thread_cpu_ns() - c0) / 1e6;
	}
	store_rtxn *tx;
	*rows = 0;
	if (store_read_begin(s, &tx) == 0) {
		store_scan_rollups_grain(tx, g, from, to, count_rollup, rows);
		store_read_end(tx);
	}
	store_close(s);
	qsort(t, (size_t) runs, sizeof(t[0]), cmp_double);
	return (t[runs / 2]);
}

// ---- SQLite ----

static int
sql_exec(sqlite3 *db, const char *q)
{
	char *e = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &e) != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s: %s\n", q, e != NULL ? e : "?");
		sqlite3_free(e);
		return (-1);
	}
	return (0);
}

typedef struct ru_ctx {
	sqlite3_stmt *st;
	store_rtxn *t;
} ru_ctx;

static void
bind_str(ru_ctx *c, int col, uint32_t id)
{
	const char *s;
	size_t len;
	if (store_string(c->t, id, &s, &len) == 0) {
		sqlite3_bind_text(c->st, col, s, (int) len, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(c->st, col);
	}
}

static int
on_rollup(void *arg, const store_rkey *k, const store_rollup *v)
{
	ru_ctx *c = arg;
	sqlite3_bind_int64(c->st, 1, k->hour);
	bind_str(c, 2, k->feature);
	bind_str(c, 3, k->model);
	bind_str(c, 4, k->env);
	bind_str(c, 5, k->provider);
	sqlite3_bind_int64(c->st, 6, (int64_t) v->calls);
	sqlite3_bind_int64(c->st, 7, (int64_t) store_rollup_cost(v));
	sqlite3_bind_int64(c->st, 8, (int64_t) v->usage[LLMCOST_IN_UNCACHED]);
	sqlite3_bind_int64(c->st, 9, (int64_t) v->usage[LLMCOST_OUT_TEXT]);
	int rc = sqlite3_step(c->st);
	sqlite3_reset(c->st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

// The calls as a plain table, and the store's hourly rollups as another.
static int
load_sqlite(const char *path, const char *store_dir, uint64_t n,
    uint64_t from_ns, uint64_t span_ns, FILE *csv)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		return (-1);
	}
	if (sql_exec(db,
	        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	        "CREATE TABLE calls (id BLOB, start_ns INTEGER, feature TEXT,"
	        " provider TEXT, model TEXT, env TEXT, customer TEXT,"
	        " user_tier TEXT, region TEXT, tag TEXT, in_tokens INTEGER,"
	        " cache_read_tokens INTEGER, out_tokens INTEGER,"
	        " cost_pusd INTEGER);"
	        "CREATE TABLE rollups (hour INTEGER, feature TEXT, model TEXT,"
	        " env TEXT, provider TEXT, calls INTEGER, cost_pusd INTEGER,"
	        " in_tokens INTEGER, out_tokens INTEGER);"
	        "BEGIN")
	    != 0) {
		sqlite3_close(db);
		return (-1);
	}
	sqlite3_prepare_v2(db,
	    "INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st,
	    NULL);
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		call c;
		store_cost cost;
		uint64_t usage[LLMCOST_BUCKET_COUNT] = { 0 };
		make_call(i, n, from_ns, span_ns, &c);
		usage[LLMCOST_IN_UNCACHED] = c.in;
		usage[LLMCOST_IN_CACHE_READ] = c.cache_read;
		usage[LLMCOST_OUT_TEXT] = c.out;
		pricing_call pc = { .at.provider = c.provider,
			.at.provider_len = strlen(c.provider),
			.at.model = c.model,
			.at.model_len = strlen(c.model),
			.at.start_ns = c.start_ns,
			.usage = usage };
		pricing_price_call(NULL, &pc, &cost);
		sqlite3_bind_blob(st, 1, c.id, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t) c.start_ns);
		sqlite3_bind_text(st, 3, c.feature, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c.provider, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, c.model, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, c.env, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, c.customer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, c.tier, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, c.region, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, c.tag, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, (int64_t) c.in);
		sqlite3_bind_int64(st, 12, (int64_t) c.cache_read);
		sqlite3_bind_int64(st, 13, (int64_t) c.out);
		sqlite3_bind_int64(st, 14, cost.cost_pusd);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(
			    stderr, "sqlite insert: %s\n", sqlite3_errmsg(db));
			return (-1);
		}
		sqlite3_reset(st);
		if (csv != NULL) {
			fprintf(csv,
			    "%llu,%s,%s,%s,%s,%s,%s,%s,%s,%llu,%llu,%llu,%"
			    "lld\n",
			    (unsigned long long) c.start_ns, c.feature,
			    c.provider, c.model, c.env, c.customer, c.tier,
			    c.region, c.tag, (unsigned long long) c.in,
			    (unsigned long long) c.cache_read,
			    (unsigned long long) c.out,
			    (long long) cost.cost_pusd);
		}
	}
	sqlite3_finalize(st);

	// The rollups, as the store has them.
	store *s;
	char err[STORE_ERR_MAX];
	ru_ctx rc;
	if (store_open(&s, store_dir, STORE_RDONLY, 0, err, sizeof(err))
	    != 0) {
		return (-1);
	}
	store_read_begin(s, &rc.t);
	sqlite3_prepare_v2(db,
	    "INSERT INTO rollups VALUES (?,?,?,?,?,?,?,?,?)", -1, &rc.st,
	    NULL);
	int rv = store_scan_rollups(rc.t, 0, UINT32_MAX, on_rollup, &rc);
	sqlite3_finalize(rc.st);
	store_read_end(rc.t);
	store_close(s);
	if (rv != 0 || sql_exec(db, "COMMIT") != 0) {
		return (-1);
	}
	printf(
	    "loaded SQLite in %.1f s\n", (double) (bench_now_ns() - t0) / 1e9);
	sqlite3_close(db);
	return (0);
}

static int
sqlite_index(const char *path, const char *q)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		return (-1);
	}
	int rv = sql_exec(db, q);
	sqlite3_close(db);
	return (rv);
}

static double
file_mb(const char *path)
{
	struct stat st;
	return (stat(path, &st) == 0 ? (double) st.st_size / 1048576.0 : 0);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_report [-n CALLS] [-d DAYS] [-r RUNS] [--cli PATH] "
	    "[--no-sqlite] [--duckdb-script PATH] [--keep]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cli", required_argument, NULL, 'c' },
		{ "no-sqlite", no_argument, NULL, 's' },
		{ "duckdb-script", required_argument, NULL, 'D' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 10000000;
	int days = 30, runs = 7, sqlite = 1, keep = 0, c;
	const char *cli = LLMCOST_CLI_PATH, *duck = NULL;

	while ((c = getopt_long(argc, argv, "n:d:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			days = atoi(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'c':
			cli = optarg;
			break;
		case 's':
			sqlite = 0;
			break;
		case 'D':
			duck = optarg;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			usage();
			return (2);
		}
	}
	if (n == 0 || days < 2 || runs < 1 || runs > MAX_RUNS) {
		usage();
		return (2);
	}
	char *tmp = harness_tmpdir();
	char dir[1200], sq[1200], csvp[1200];
	if (tmp == NULL) {
		return (1);
	}
	snprintf(dir, sizeof(dir), "%s/store", tmp);
	snprintf(sq, sizeof(sq), "%s/calls.sqlite", tmp);
	snprintf(csvp, sizeof(csvp), "%s/calls.csv", tmp);

	// The calls end a minute ago, so "24h" and "30d" windows hold them.
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t end_ns = ((uint64_t) now.tv_sec - 60) * NS_PER_SEC;
	uint64_t span = (uint64_t) days * 86400 * NS_PER_SEC;
	uint64_t from_ns = end_ns - span;

	printf("machine: %ld CPUs; bench_report: %llu calls over %d days, %d "
	       "runs per figure (median)\n",
	    sysconf(_SC_NPROCESSORS_ONLN), (unsigned long long) n, days, runs);
	if (load_store(dir, n, from_ns, span) != 0) {
		harness_rmdir(tmp);
		return (1);
	}

	// Bytes per stored call.
	store *s;
	store_rtxn *t;
	char err[STORE_ERR_MAX];
	uint64_t used = 0, stored = 0;
	if (store_open(&s, dir, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	store_read_begin(s, &t);
	store_used_bytes(t, &used);
	store_count_runs(t, &stored);
	store_read_end(t);
	store_close(s);
	printf("store: %llu calls, %.1f MiB used, %.1f bytes per call "
	       "(data.mdb %.1f MiB)\n",
	    (unsigned long long) stored, (double) used / 1048576.0,
	    (double) used / (double) stored,
	    file_mb(strcat(strcpy(err, dir), "/data.mdb")));
	bench_metric("report.bytes_per_call", (double) used / (double) stored);

	// The whole llmcost report process.
	static const struct {
		const char *name, *since, *by;
	} q[] = {
		{ "feature_24h", "24h", "feature" },
		{ "feature_30d", "30d", "feature" },
		{ "meta_customer_30d", "30d", "meta.customer" },
	};
	// Each question is asked once first and timed apart: the first
	// process after the store was written finds the pages it reads in
	// the page cache but not yet in the CPU's caches, and the program
	// and its libraries maybe not in memory; then `runs` more, whose
	// median wall and CPU time are the figures.
	double cli_ms[3], cli_cpu[3];
	for (size_t i = 0; i < 3; i++) {
		const char *since = q[i].since;
		const char *av[] = { cli, "report", "--since", since, "--by",
			q[i].by, "--data-dir", dir, NULL };
		proc_time first, med;
		int st = time_runs(av, runs, &first, &med);
		cli_ms[i] = cli_cpu[i] = -1;
		if (st != 0) {
			printf("llmcost report --by %s --since %s: exit %d "
			       "(not supported by this engine)\n",
			    q[i].by, since, st);
			continue;
		}
		cli_ms[i] = med.wall;
		cli_cpu[i] = med.cpu;
		printf("llmcost report --by %s --since %s: %.2f ms wall, %.2f "
		       "ms CPU (first run: %.2f ms wall, %.2f ms CPU; load "
		       "%.2f)\n",
		    q[i].by, since, med.wall, med.cpu, first.wall, first.cpu,
		    load1());
		char m[64];
		snprintf(m, sizeof(m), "report.cli_%s_ms", q[i].name);
		bench_metric(m, med.wall);
		snprintf(m, sizeof(m), "report.cli_%s_cpu_ms", q[i].name);
		bench_metric(m, med.cpu);
		snprintf(m, sizeof(m), "report.cli_%s_first_ms", q[i].name);
		bench_metric(m, first.wall);
	}
	if (cli_ms[2] > 0) {
		bench_metric("report.cli_meta_runs_per_s",
		    (double) stored / (cli_ms[2] / 1e3));
		bench_metric("report.cli_meta_runs_per_cpu_s",
		    (double) stored / (cli_cpu[2] / 1e3));
	}

	// The store's scan, grouped by metadata set, one core.
	uint64_t scanned = 0;
	double cpu_rate = 0;
	double rate
	    = scan_rate(dir, from_ns, end_ns, runs, &scanned, &cpu_rate);
	printf("store_scan of %llu runs grouped by metadata set: %.1f M "
	       "runs/s of wall time, %.1f M runs/s of CPU time (one core)\n",
	    (unsigned long long) scanned, rate / 1e6, cpu_rate / 1e6);
	bench_metric("report.scan_runs_per_s", rate);
	bench_metric("report.scan_runs_per_cpu_s", cpu_rate);

	// What a 30-day report reads: hourly rollups, or daily ones.
	uint64_t nh = 0, nd = 0;
	uint32_t h0 = (uint32_t) (from_ns / (3600 * NS_PER_SEC));
	uint32_t h1 = (uint32_t) (end_ns / (3600 * NS_PER_SEC)) + 1;
	double hms = rollup_ms(dir, STORE_HOURLY, h0, h1, runs, &nh);
	double dms
	    = rollup_ms(dir, STORE_DAILY, h0 / 24, h1 / 24 + 1, runs, &nd);
	printf("30 days of rollups read and summed: hourly %llu in %.2f ms, "
	       "daily %llu in %.2f ms (CPU time)\n",
	    (unsigned long long) nh, hms, (unsigned long long) nd, dms);
	bench_metric("report.rollups_30d_hourly_ms", hms);
	bench_metric("report.rollups_30d_daily_ms", dms);

	int rv = 0;
	if (sqlite) {
		FILE *csv = duck != NULL ? fopen(csvp, "w") : NULL;
		if (load_sqlite(sq, dir, n, from_ns, span, csv) != 0) {
			rv = 1;
		}
		if (csv != NULL) {
			fclose(csv);
		}
		char qs[6][512];
		uint64_t day_ns
		    = end_ns + 60 * NS_PER_SEC - 86400 * NS_PER_SEC;
		uint64_t h24 = day_ns / (3600 * NS_PER_SEC);
		snprintf(qs[0], sizeof(qs[0]), SQL_CALLS_BY_FEATURE,
		    (unsigned long long) day_ns);
		snprintf(qs[1], sizeof(qs[1]), SQL_CALLS_BY_FEATURE,
		    (unsigned long long) from_ns);
		snprintf(qs[2], sizeof(qs[2]),
		    "SELECT customer, count(*), sum(cost_pusd) FROM calls "
		    "WHERE"
		    " start_ns >= %llu GROUP BY customer ORDER BY 3 DESC;",
		    (unsigned long long) from_ns);
		snprintf(qs[3], sizeof(qs[3]), SQL_ROLLUPS_BY_FEATURE,
		    (unsigned long long) h24);
		snprintf(qs[4], sizeof(qs[4]), SQL_ROLLUPS_BY_FEATURE,
		    (unsigned long long) (from_ns / (3600 * NS_PER_SEC)));
		static const char *const qn[3]
		    = { "feature_24h", "feature_30d", "meta_customer_30d" };
		double plain[3], indexed[3], rolled[2];
		int st;
		for (int i = 0; i < 3 && rv == 0; i++) {
			const char *av[]
			    = { "/usr/bin/sqlite3", sq, qs[i], NULL };
			plain[i] = time_process(av, runs, &st);
		}
		printf("SQLite file without indexes: %.1f bytes per call\n",
		    file_mb(sq) * 1048576.0 / (double) n);
		bench_metric("report.sqlite_plain_bytes_per_call",
		    file_mb(sq) * 1048576.0 / (double) n);
		if (sqlite_index(sq,
		        "CREATE INDEX calls_start ON calls(start_ns);"
		        "CREATE INDEX rollups_hour ON rollups(hour);")
		    != 0) {
			rv = 1;
		}
		bench_metric("report.sqlite_indexed_bytes_per_call",
		    file_mb(sq) * 1048576.0 / (double) n);
		for (int i = 0; i < 3 && rv == 0; i++) {
			const char *av[]
			    = { "/usr/bin/sqlite3", sq, qs[i], NULL };
			indexed[i] = time_process(av, runs, &st);
		}
		for (int i = 0; i < 2 && rv == 0; i++) {
			const char *av[]
			    = { "/usr/bin/sqlite3", sq, qs[3 + i], NULL };
			rolled[i] = time_process(av, runs, &st);
		}
		for (int i = 0; i < 3 && rv == 0; i++) {
			char m[96];
			printf("sqlite3 %-18s plain %9.2f ms, indexed %9.2f "
			       "ms%s",
			    qn[i], plain[i], indexed[i], i < 2 ? "" : "\n");
			if (i < 2) {
				printf(", over hourly rollups %7.2f ms\n",
				    rolled[i]);
				snprintf(m, sizeof(m),
				    "report.sqlite_rollups_%s_ms", qn[i]);
				bench_metric(m, rolled[i]);
			}
			snprintf(
			    m, sizeof(m), "report.sqlite_plain_%s_ms", qn[i]);
			bench_metric(m, plain[i]);
			snprintf(m, sizeof(m), "report.sqlite_indexed_%s_ms",
			    qn[i]);
			bench_metric(m, indexed[i]);
			if (cli_ms[i] > 0) {
				snprintf(m, sizeof(m),
				    "report.ratio_sqlite_indexed_to_llmcost_%"
				    "s",
				    qn[i]);
				bench_metric(m, indexed[i] / cli_ms[i]);
				snprintf(m, sizeof(m),
				    "report.ratio_sqlite_plain_to_llmcost_%s",
				    qn[i]);
				bench_metric(m, plain[i] / cli_ms[i]);
				if (i < 2) {
					snprintf(m, sizeof(m),
					    "report.ratio_sqlite_rollups_to_"
					    "llmcost_%s",
					    qn[i]);
					bench_metric(m, rolled[i] / cli_ms[i]);
				}
			}
		}
		if (duck != NULL && rv == 0) {
			// The script prints its own "metric" lines.
			char cmd[4096];
			snprintf(cmd, sizeof(cmd),
			    "node '%s' '%s' %llu %llu %d", duck, csvp,
			    (unsigned long long) day_ns,
			    (unsigned long long) from_ns, runs);
			fflush(stdout);
			if (system(cmd) != 0) {
				fprintf(stderr, "the DuckDB script failed\n");
				rv = 1;
			}
		}
	}
	if (keep) {
		printf("kept %s\n", tmp);
		free(tmp);
	} else {
		harness_rmdir(tmp);
	}
	return (rv);
}
