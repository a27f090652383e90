// DESIGN: end-to-end durable ingest.  A real llmcostd runs as a child on a
// temporary directory; one thread records N fully tagged calls through
// the shim as fast as it can, then llmcost_flush(client, -1) waits until
// every call is acknowledged, and the collector acknowledges only after
// its LMDB transaction has committed (synced).  The rate is N over the
// time from the first call_begin to the return of the flush.  The
// producer never lets the pool run out: every 1024 calls it checks the
// queue depth and sleeps 50 us while fewer than four batches' worth of
// slots could be free, and an EFULL (which the shim counts as a drop) is
// retried after the same sleep and reported.  The floor for durable
// storage is measured in the same run: raw in-process LMDB writes of N
// fixed 144-byte values (sizeof(store_run)) under 16-byte time-ordered
// keys, mdb_put with MDB_NOOVERWRITE as the store does, one synced
// commit per 1024 records, which is the daemon's transaction size for one
// client sending 1024-call batches.  Finally the daemon's store is opened
// read-only through the collector's own store API and must hold exactly
// the calls sent.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "bench_util.h"
#include "harness.h"
#include "llmcost_common.h"
#include "llmcost.h"
#include "store.h"

#ifndef LLMCOSTD_PATH
#define LLMCOSTD_PATH "llmcostd"
#endif

#define CHUNK            1024
#define LMDB_TXN_RECORDS 1024

typedef struct shim_result {
	double record_s; // first begin to last end
	double total_s;  // first begin to flush return
	uint64_t efull;
	uint64_t pace_sleeps;
	uint64_t errors;
	llmcost_stats st;
	uint64_t stored; // runs in the store, read back
	int flush_rv;
} shim_result;

static int
run_shim(const char *url, const char *dir, size_t n, uint32_t queue_max,
    shim_result *r)
{
	llmcost_client *c;
	llmcost_options o = { .collector_url = url, .queue_max = queue_max };
	int rv;

	memset(r, 0, sizeof(*r));
	if ((rv = llmcost_init(&c, &o)) != 0) {
		fprintf(stderr, "llmcost_init: %s\n", llmcost_strerror(rv));
		return (-1);
	}
	// One acknowledged call proves the collector is up before timing.
	if ((rv = bench_tagged_call(c)) != 0
	    || (rv = llmcost_flush(c, 10000)) != 0) {
		fprintf(stderr, "the collector did not acknowledge: %s\n",
		    llmcost_strerror(rv));
		llmcost_shutdown(c, 1000);
		return (-1);
	}
	uint64_t slack = 4 * CHUNK;
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n;) {
		if (i % CHUNK == 0) {
			for (;;) {
				llmcost_stats st;
				llmcost_stats_get(c, &st);
				if (st.queue_depth + slack <= queue_max) {
					break;
				}
				r->pace_sleeps++;
				bench_sleep_ns(50000);
			}
		}
		rv = bench_tagged_call(c);
		if (rv == LLMCOST_EFULL) {
			r->efull++;
			bench_sleep_ns(50000);
			continue;
		}
		if (rv != 0) {
			r->errors++;
		}
		i++;
	}
	uint64_t t1 = bench_now_ns();
	r->flush_rv = llmcost_flush(c, -1);
	uint64_t t2 = bench_now_ns();
	r->record_s = (double) (t1 - t0) / 1e9;
	r->total_s = (double) (t2 - t0) / 1e9;
	llmcost_stats_get(c, &r->st);
	llmcost_shutdown(c, 5000);

	// Read the daemon's store back while it runs: acknowledged means
	// committed, so every call must be visible now.
	store *s;
	store_rtxn *t;
	char err[256];
	if ((rv = store_open(&s, dir, STORE_RDONLY, 0, err, sizeof(err)))
	    != 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return (-1);
	}
	if (store_read_begin(s, &t) != 0
	    || store_count_runs(t, &r->stored) != 0) {
		fprintf(stderr, "cannot count the stored runs\n");
		store_close(s);
		return (-1);
	}
	store_read_end(t);
	store_close(s);
	return (0);
}

// Raw LMDB: n store_run-sized values under time-ordered 16-byte keys,
// committed (synced) every LMDB_TXN_RECORDS.  Returns seconds, or < 0.
static double
run_lmdb(const char *dir, size_t n)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	store_run run;
	uint8_t key[16];
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	int rc;

	if (mkdir(dir, 0700) != 0) {
		perror("mkdir");
		return (-1);
	}
	if ((rc = mdb_env_create(&env)) != 0
	    || (rc = mdb_env_set_mapsize(env, 4ull << 30)) != 0
	    || (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) != 0) {
		fprintf(stderr, "lmdb: %s\n", mdb_strerror(rc));
		return (-1);
	}
	memset(&run, 0, sizeof(run));
	run.version = 1;
	run.usage[LLMCOST_IN_UNCACHED] = 1200;
	run.usage[LLMCOST_OUT_TEXT] = 250;

	uint64_t t0 = bench_now_ns();
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		// A UUIDv7-like key: big-endian time, then random bits.
		uint64_t now = bench_now_ns();
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		for (int b = 0; b < 8; b++) {
			key[b] = (uint8_t) (now >> (56 - 8 * b));
			key[8 + b] = (uint8_t) (rng >> (56 - 8 * b));
		}
		run.start_ns = now;
		run.ingest_ns = now;
		MDB_val k = { sizeof(key), key }, v = { sizeof(run), &run };
		rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
		if (rc == 0 && (i + 1) % LMDB_TXN_RECORDS == 0) {
			rc = mdb_txn_commit(txn);
			if (rc == 0) {
				rc = mdb_txn_begin(env, NULL, 0, &txn);
			}
		}
	}
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
	} else {
		mdb_txn_abort(txn);
	}
	uint64_t t1 = bench_now_ns();
	mdb_env_close(env);
	if (rc != 0) {
		fprintf(stderr, "lmdb: %s\n", mdb_strerror(rc));
		return (-1);
	}
	return ((double) (t1 - t0) / 1e9);
}

static void
usage_exit(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [-n CALLS] [-q QUEUE_MAX] [--llmcostd PATH]\n"
	    "  -n CALLS       calls to ingest (default 500000)\n"
	    "  -q QUEUE_MAX   client queue_max (default 65536)\n"
	    "  --llmcostd P   the collector binary (default %s)\n",
	    prog, LLMCOSTD_PATH);
	exit(2);
}

int
main(int argc, char **argv)
{
	size_t n = 500000;
	uint32_t queue_max = 1u << 16;
	const char *exe = LLMCOSTD_PATH;
	char *dir;
	char sdir[LLMCOST__PATH_MAX], ldir[LLMCOST__PATH_MAX];
	char url[LLMCOST__URL_MAX];
	pid_t daemon = -1;
	shim_result sr;
	int rc = 1;

	if (bench_parse_args(argc, argv, &n, &queue_max, &exe) != 0 || n < 1
	    || queue_max < 8 * CHUNK) {
		usage_exit(argv[0]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((dir = harness_tmpdir()) == NULL) {
		return (1);
	}
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	snprintf(ldir, sizeof(ldir), "%s/lmdb", dir);
	printf("bench_ingest: %zu calls, queue_max %u, data in %s\n", n,
	    queue_max, dir);

	if (harness_url(sdir, url, sizeof(url)) != 0
	    || (daemon = harness_daemon_start_bin(exe, sdir, NULL)) <= 0) {
		goto out;
	}
	int srv = run_shim(url, sdir, n, queue_max, &sr);
	int drv = harness_daemon_stop(daemon, SIGTERM);
	daemon = -1;
	if (srv != 0) {
		goto out;
	}
	if (drv != 0) {
		fprintf(stderr, "llmcostd exited with %d\n", drv);
	}
	double lmdb_s = run_lmdb(ldir, n);
	if (lmdb_s <= 0) {
		goto out;
	}

	double ours = (double) n / sr.total_s;
	double floor = (double) n / lmdb_s;
	printf("\n%-52s %10s %9s %12s %8s\n", "operation", "records",
	    "seconds", "records/s", "vs LMDB");
	printf("%-52s %10zu %9.3f %12.0f %7.2fx\n",
	    "llmcost: begin..end x N, flush (acked = committed)", n,
	    sr.total_s, ours, ours / floor);
	printf("%-52s %10zu %9.3f %12.0f %7.2fx\n",
	    "  of which recording only (producer thread)", n, sr.record_s,
	    (double) n / sr.record_s, (double) n / sr.record_s / floor);
	printf("%-52s %10zu %9.3f %12.0f %7.2fx\n",
	    "raw LMDB: 144 B values, commit+sync every 1024", n, lmdb_s, floor,
	    1.0);

	printf("\nclient: %llu ended, %llu acked, %llu dropped, %llu batches "
	       "(%llu resent, %.0f calls/batch); flush %s; EFULL retries "
	       "%llu, pacing sleeps %llu, errors %llu\n",
	    (unsigned long long) sr.st.calls_ended,
	    (unsigned long long) sr.st.calls_acked,
	    (unsigned long long) sr.st.calls_dropped,
	    (unsigned long long) sr.st.batches_sent,
	    (unsigned long long) sr.st.batches_resent,
	    sr.st.batches_sent
	        ? (double) sr.st.calls_acked / (double) sr.st.batches_sent
	        : 0.0,
	    llmcost_strerror(sr.flush_rv), (unsigned long long) sr.efull,
	    (unsigned long long) sr.pace_sleeps,
	    (unsigned long long) sr.errors);
	// n timed calls plus the one readiness call.
	uint64_t want = (uint64_t) n + 1;
	int ok = sr.flush_rv == 0 && sr.stored == want
	    && sr.st.calls_acked == want && sr.errors == 0;
	printf("verify: the store holds %llu runs, expected %llu (%zu + 1 "
	       "readiness call): %s\n",
	    (unsigned long long) sr.stored, (unsigned long long) want, n,
	    ok ? "OK" : "MISMATCH");

	bench_metric("ingest.ours.calls_per_s", ours);
	bench_metric(
	    "ingest.ours.record_calls_per_s", (double) n / sr.record_s);
	bench_metric("ingest.lmdb.records_per_s", floor);
	bench_metric("ingest.ours.ratio_to_lmdb", ours / floor);
	bench_metric("ingest.ours.calls_per_batch",
	    sr.st.batches_sent
	        ? (double) sr.st.calls_acked / (double) sr.st.batches_sent
	        : 0.0);
	bench_metric("ingest.ours.efull", (double) sr.efull);
	bench_metric("ingest.ours.pace_sleeps", (double) sr.pace_sleeps);
	bench_metric("ingest.verify_ok", ok);
	rc = ok ? 0 : 1;
out:
	if (daemon > 0) {
		(void) harness_daemon_stop(daemon, SIGTERM);
	}
	harness_rmdir(dir);
	return (rc);
}
