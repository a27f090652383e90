// DESIGN: sustained, durable ingest, measured without pacing waits.  A real
// llmcostd runs as a child on a temporary directory.  Two producer
// threads offer fully tagged calls to one client for T seconds, each on
// a fixed schedule (rate R/2 per thread; with R 0, as fast as they can).
// A producer never waits for the pipeline and never retries (it sleeps
// only while ahead of its schedule): when the pool is full the
// call fails with EFULL, which the shim counts as a drop and this
// program reports, so a rate the pipeline cannot sustain shows as drops,
// not as a slower producer.  A producer that falls behind its schedule
// calls back to back until it catches up; the offered rate printed is
// what was really offered.  Then llmcost_flush(client, -1) waits until
// every accepted call is acknowledged, and the collector acknowledges
// only after its LMDB transaction has committed (synced); the durable
// rate is the calls stored over the time from the first offer to the
// return of the flush.  CPU: the client's background threads (process
// CPU minus the producers' own), the producers' (whole threads, which
// includes their sleeps' system calls), and the daemon's (from
// /proc/PID/stat), each per stored call.  The producers' CPU includes
// the schedule's own (a clock read per offer, a sleep system call per
// tick ahead of it), which is the bench's, not the library's; the call
// sites' CPU is the time inside the calls instead: each call is timed
// with one clock read more than the schedule takes anyway (its cost,
// measured, comes off), and a call that took over 50 us is counted
// apart, not timed (its thread was off the CPU).  Host steal: a
// thread samples the guest's steal time (/proc/stat) while the
// producers run; a guest whose CPU quota on the host runs out stops
// whole for tens of milliseconds, after which the calls due meanwhile
// come at once.  Drops are printed by tenth of a second, and counted
// apart where steal grew (/proc/stat counts it in 10 ms steps, both
// vCPUs added) and where the producers had fallen 4 ms or more behind
// their schedule, whatever stopped them.  Context
// switches per message (client threads the library started, and the
// daemon's), from /proc: each message costs both processes a few thread
// wake-ups whatever it carries.  Memory: RSS and
// thread count before and after llmcost_init.  The floor for durable storage is
// measured in the same run: raw in-process LMDB writes of as many fixed
// 144-byte values (sizeof(store_run)) as were stored, under 16-byte
// time-ordered keys, mdb_put with MDB_NOOVERWRITE as the store does, one
// synced commit per 1024 records, the daemon's transaction size for one
// client sending 1024-call batches.  Finally the daemon's store is opened
// read-only through the collector's own store API and must hold exactly
// the calls acknowledged.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "bench_util.h"
#include "harness.h"
#include "llmcost_common.h"
#include "llmcost.h"
#include "store.h"

#ifndef LLMCOSTD_PATH
#define LLMCOSTD_PATH "llmcostd"
#endif

#define LMDB_TXN_RECORDS 1024
#define TICK_NS          50000 // a producer ahead of schedule sleeps this long

#define WINDOWS    600 // tenths of a second: the drops' and steal's timelines
#define OFF_CPU_NS 50000u // a call this long was preempted or stalled
// Producers this far behind their schedule (us) offer, at the default
// 1 M calls/s, 4000 calls at once: half the default pool.
#define LAG_BURST_US 4000u

// One producer's state; each producer on lines of its own, as a
// producer writes its counters on every call and reads its schedule in
// the timed window (another's counters on the same line would cost a
// cross-core miss a call).
typedef struct producer {
	_Alignas(64) llmcost_client *c;
	uint64_t t0, t_end; // monotonic ns
	uint64_t gap_ps;    // picoseconds between offers; 0 = flat out
	uint32_t overhead;  // a timer read's cost, taken off each call's time
	uint64_t offered, accepted, efull, errors;
	uint64_t efull_win[WINDOWS]; // drops per tenth of a second
	uint32_t lag_win[WINDOWS];   // most us behind schedule, per tenth
	uint64_t in_calls_ns;        // time inside the calls (see top)
	uint64_t off_cpu; // calls left out of it (took > OFF_CPU_NS)
	double cpu_s;     // this thread's CPU time
	pthread_barrier_t *bar;
} producer;

typedef struct shim_result {
	double offer_s; // first offer to the end of the offering window
	double total_s; // first offer to flush return
	uint64_t offered, accepted, efull, errors;
	uint64_t efull_win[WINDOWS];
	uint32_t lag_win[WINDOWS];   // the producers' most us behind schedule
	int steal_watched;           // the watcher ran
	double cpu_watch_s;          // its CPU, taken off the client's
	uint64_t steal_win[WINDOWS]; // host steal, ms (both vCPUs) per window
	// llmcostd's write transactions (STATS txn_us, txn_over_10ms) per
	// window; txn_watched: the watcher could ask for them.
	int txn_watched;
	uint64_t txn_us_win[WINDOWS];
	uint64_t txn_slow_win[WINDOWS];
	// Over the run, from STATS after the flush (UINT64_MAX: no answer).
	uint64_t txn_max_us, txn_over_10ms, txn_over_100ms;
	double txn_mean_us;
	uint64_t in_calls_ns, off_cpu;
	double cpu_client_s, cpu_producers_s, cpu_daemon_s;
	// Context switches (voluntary and not) of the client's threads
	// (llmcost-* and nng's) and of the daemon, over the run.
	uint64_t switches_client, switches_daemon;
	long rss_before_kib, rss_init_kib, rss_end_kib;
	int threads_before, threads_init, threads_live;
	llmcost_stats st;
	uint64_t stored; // runs in the store, read back
	int flush_rv;
	uint64_t t0; // the producers' first offer (monotonic ns)
} shim_result;

static double
thread_cpu_s(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return ((double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	    + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

// utime + stime of a process, in seconds, or -1.
static double
proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return (-1);
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	// Fields after the command name, which ends with the last ')'.
	char *p = strrchr(buf, ')');
	unsigned long ut, st;
	if (p == NULL
	    || sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	           &st)
	        != 2) {
		return (-1);
	}
	return ((double) (ut + st) / (double) sysconf(_SC_CLK_TCK));
}

// The context switches of pid's threads so far, voluntary and not; with
// lib_only, only the threads the library started (named "llmcost-..."
// and nng's "nng:..."), not the bench's own producers.  A thread that
// has exited no longer counts: the threads measured here live through
// the run.
static uint64_t
proc_switches(pid_t pid, int lib_only)
{
	char path[300], line[128];
	uint64_t sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		if (lib_only) {
			char comm[64] = "";
			snprintf(path, sizeof(path), "/proc/%d/task/%s/comm",
			    (int) pid, e->d_name);
			FILE *f = fopen(path, "r");
			if (f == NULL) {
				continue;
			}
			int named = fgets(comm, sizeof(comm), f) != NULL
			    && (strncmp(comm, "llmcost-", 8) == 0
			        || strncmp(comm, "nng:", 4) == 0);
			fclose(f);
			if (!named) {
				continue;
			}
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status",
		    (int) pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			unsigned long long v;
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v)
			        == 1
			    || sscanf(line, "nonvoluntary_ctxt_switches: %llu",
			           &v)
			        == 1) {
				sum += v;
			}
		}
		fclose(f);
	}
	if (d != NULL) {
		closedir(d);
	}
	return (sum);
}

// A line of /proc/self/status ("VmRSS", "Threads") as a number, or -1.
static long
self_status(const char *key)
{
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL) {
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (v);
}

// The tenth of a second an offset from the producers' start falls in.
static unsigned
window(uint64_t ns)
{
	uint64_t w = ns / 100000000u;
	return ((unsigned) (w < WINDOWS ? w : WINDOWS - 1));
}

// Steal time so far, all CPUs, in ms: time the hypervisor kept this
// guest's vCPUs from running although they had work (/proc/stat), or 0
// where the hypervisor does not report it.
static uint64_t
steal_ms(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL) {
		return (0);
	}
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	return (n == 8 ? v[7] * 1000u / (uint64_t) sysconf(_SC_CLK_TCK) : 0);
}

// The steal watcher: samples steal_ms every STEAL_SAMPLE_NS while the
// producers run and adds what it grew by to the tenth of a second it
// was seen in.  A guest whose CPU quota on the host runs out, or whose
// host is busy, stops whole for tens of milliseconds; the producers'
// schedule keeps going meanwhile (it is wall-clock time), so the calls
// due during the stop are offered at once when it ends, as an
// application's backlog would be.
//
// Every TXN_SAMPLES samples it also asks llmcostd (STATS) how long its
// write transactions took, their synced commits included (txn_us), and
// how many took 10 ms or more (txn_over_10ms): while a commit waits for
// the disk, the client holds its calls, and a commit longer than the
// client's pool and batches hold at the offered rate drops calls with
// no host steal and the producers on schedule.  The requests go over a
// socket of this process: nng's threads in both processes do their
// share of the work, a few microseconds ten times a second, which
// counts as the client's and the daemon's CPU and context switches.
#define STEAL_SAMPLE_NS 10000000u
#define TXN_SAMPLES     10
typedef struct watch {
	uint64_t t0;
	const char *url; // llmcostd's
	_Atomic int stop;
	double cpu_s; // the watcher's own CPU, not the library's
	uint64_t steal_win[WINDOWS];
	int txn_watched;
	uint64_t txn_us_win[WINDOWS];
	uint64_t txn_slow_win[WINDOWS];
} watch;

static const char *const txn_names[] = { "txn_us", "txn_over_10ms" };

// A REQ socket dialled to url, with short timeouts; -1 when it cannot be.
static int
stats_socket(const char *url, nng_socket *s)
{
	if (nng_req0_open(s) != 0) {
		return (-1);
	}
	(void) nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, 1000);
	(void) nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, 1000);
	if (nng_dial(*s, url, NULL, 0) != 0) {
		(void) nng_close(*s);
		return (-1);
	}
	return (0);
}

static void *
watch_main(void *arg)
{
	watch *w = arg;
	uint64_t last = steal_ms();
	uint64_t txn_last[2] = { 0, 0 };
	nng_socket s;
	int open = stats_socket(w->url, &s) == 0;
	int have = open && harness_stats(s, txn_names, txn_last, 2) == 0
	    && txn_last[0] != UINT64_MAX && txn_last[1] != UINT64_MAX;
	w->txn_watched = have;
	for (unsigned n = 1; !atomic_load(&w->stop); n++) {
		bench_sleep_ns(STEAL_SAMPLE_NS);
		uint64_t now = bench_now_ns(), st = steal_ms();
		if (now > w->t0 && st > last) {
			w->steal_win[window(now - w->t0)] += st - last;
		}
		last = st;
		uint64_t v[2];
		if (have && n % TXN_SAMPLES == 0
		    && harness_stats(s, txn_names, v, 2) == 0
		    && v[0] != UINT64_MAX && v[1] != UINT64_MAX) {
			if (now > w->t0) {
				size_t k = window(now - w->t0);
				w->txn_us_win[k] += v[0] - txn_last[0];
				w->txn_slow_win[k] += v[1] - txn_last[1];
			}
			txn_last[0] = v[0];
			txn_last[1] = v[1];
		}
	}
	w->cpu_s = thread_cpu_s(RUSAGE_THREAD);
	if (open) {
		(void) nng_close(s);
	}
	return (NULL);
}

static void *
producer_main(void *arg)
{
	producer *p = arg;

	// Wake-ups as close to the schedule as the kernel allows.
	(void) prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	pthread_barrier_wait(p->bar);
	while (bench_now_ns() < p->t0) {
		continue;
	}
	for (uint64_t i = 0;; i++) {
		uint64_t now = bench_now_ns();
		if (p->gap_ps != 0) {
			// The schedule: offer i is due at t0 + i * gap, fixed in
			// advance.  A producer ahead of it sleeps (as an
			// application does between requests) for at least
			// TICK_NS, then offers every call due by then back to
			// back.  Sleeping never delays the schedule, and
			// whatever the pipeline cannot take is dropped and
			// counted.
			uint64_t due = p->t0 + i * p->gap_ps / 1000u;
			if (due > now) {
				uint64_t until = due > now + TICK_NS
				    ? due
				    : now + TICK_NS;
				struct timespec ts
				    = { (time_t) (until / 1000000000u),
					      (long) (until % 1000000000u) };
				(void) clock_nanosleep(
				    CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
				now = bench_now_ns();
			} else if (now - due >= 1000u && now < p->t_end) {
				// Behind: the calls due meanwhile come at once.
				// Whatever held the producer counts: the host,
				// the scheduler giving its CPU to the sender or
				// the daemon, its own wake-up's lateness.
				uint32_t lag
				    = (uint32_t) ((now - due) / 1000u);
				uint32_t *m = &p->lag_win[window(now - p->t0)];
				*m = lag > *m ? lag : *m;
			}
		}
		if (now >= p->t_end) {
			break;
		}
		int rv = bench_tagged_call(p->c);
		uint64_t d = bench_now_ns() - now;
		if (d < OFF_CPU_NS) {
			p->in_calls_ns
			    += d > p->overhead ? d - p->overhead : 0;
		} else {
			p->off_cpu++;
		}
		p->offered++;
		if (rv == 0) {
			p->accepted++;
		} else if (rv == LLMCOST_EFULL) {
			p->efull++;
			p->efull_win[window(now - p->t0)]++;
		} else {
			p->errors++;
		}
	}
	p->cpu_s = thread_cpu_s(RUSAGE_THREAD);
	return (NULL);
}

enum { NPROD = 2 };

// Runs the NPROD producers on c for secs at rate, and the steal
// watcher beside them; adds their counts and CPU to r.
static void
run_producers(llmcost_client *c, const char *url, double secs, double rate,
    shim_result *r)
{
	watch wt;
	producer p[NPROD];
	pthread_t th[NPROD], wth;
	pthread_barrier_t bar;
	uint32_t overhead, p99;
	bench_timer_overhead(&overhead, &p99);
	pthread_barrier_init(&bar, NULL, NPROD + 1);
	uint64_t t0 = bench_now_ns() + 20000000u; // after the threads start
	memset(&wt, 0, sizeof(wt));
	wt.t0 = t0;
	wt.url = url;
	int watching = pthread_create(&wth, NULL, watch_main, &wt) == 0;
	for (int i = 0; i < NPROD; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].c = c;
		// The call is timed with one read more than the schedule
		// takes anyway: the cost of one read comes off.
		p[i].overhead = overhead;
		p[i].t0 = t0;
		p[i].t_end = t0 + (uint64_t) (secs * 1e9);
		p[i].gap_ps = rate > 0 ? (uint64_t) (1e12 * NPROD / rate) : 0;
		p[i].bar = &bar;
		pthread_create(&th[i], NULL, producer_main, &p[i]);
	}
	pthread_barrier_wait(&bar);
	for (int i = 0; i < NPROD; i++) {
		pthread_join(th[i], NULL);
		r->offered += p[i].offered;
		r->accepted += p[i].accepted;
		r->efull += p[i].efull;
		for (int w = 0; w < WINDOWS; w++) {
			r->efull_win[w] += p[i].efull_win[w];
			if (p[i].lag_win[w] > r->lag_win[w]) {
				r->lag_win[w] = p[i].lag_win[w];
			}
		}
		r->errors += p[i].errors;
		r->in_calls_ns += p[i].in_calls_ns;
		r->off_cpu += p[i].off_cpu;
		r->cpu_producers_s += p[i].cpu_s;
	}
	pthread_barrier_destroy(&bar);
	if (watching) {
		atomic_store(&wt.stop, 1);
		pthread_join(wth, NULL);
		memcpy(r->steal_win, wt.steal_win, sizeof(r->steal_win));
		r->txn_watched = wt.txn_watched;
		memcpy(r->txn_us_win, wt.txn_us_win, sizeof(r->txn_us_win));
		memcpy(
		    r->txn_slow_win, wt.txn_slow_win, sizeof(r->txn_slow_win));
		r->steal_watched = 1;
		r->cpu_watch_s = wt.cpu_s;
	}
	r->t0 = t0;
}

static int
run_shim(const char *url, const char *dir, pid_t daemon, double secs,
    double rate, uint32_t queue_max, shim_result *r)
{
	llmcost_client *c;
	llmcost_options o = { .collector_url = url, .queue_max = queue_max };
	int rv;

	memset(r, 0, sizeof(*r));
	r->rss_before_kib = self_status("VmRSS");
	r->threads_before = (int) self_status("Threads");
	if ((rv = llmcost_init(&c, &o)) != 0) {
		fprintf(stderr, "llmcost_init: %s\n", llmcost_strerror(rv));
		return (-1);
	}
	r->rss_init_kib = self_status("VmRSS");
	r->threads_init = (int) self_status("Threads");
	// One acknowledged call proves the collector is up before timing.
	if ((rv = bench_tagged_call(c)) != 0
	    || (rv = llmcost_flush(c, 10000)) != 0) {
		fprintf(stderr, "the collector did not acknowledge: %s\n",
		    llmcost_strerror(rv));
		llmcost_shutdown(c, 1000);
		return (-1);
	}
	r->threads_live = (int) self_status("Threads");

	double cpu0 = thread_cpu_s(RUSAGE_SELF);
	double dcpu0 = proc_cpu_s(daemon);
	uint64_t sw0 = proc_switches(getpid(), 1);
	uint64_t dsw0 = proc_switches(daemon, 0);
	run_producers(c, url, secs, rate, r);
	uint64_t t0 = r->t0;
	uint64_t t1 = bench_now_ns();
	r->flush_rv = llmcost_flush(c, -1);
	uint64_t t2 = bench_now_ns();
	r->cpu_client_s = thread_cpu_s(RUSAGE_SELF) - cpu0 - r->cpu_producers_s
	    - r->cpu_watch_s;
	r->cpu_daemon_s = proc_cpu_s(daemon) - dcpu0;
	r->switches_client = proc_switches(getpid(), 1) - sw0;
	r->switches_daemon = proc_switches(daemon, 0) - dsw0;
	r->offer_s = (double) (t1 - t0) / 1e9;
	r->total_s = (double) (t2 - t0) / 1e9;
	llmcost_stats_get(c, &r->st);
	r->rss_end_kib = self_status("VmRSS");
	// llmcostd's write transactions over the run (and the readiness
	// call's, a few before it).  The mean is txn_us over txn_commits:
	// exact here, where no write fails and no retention prunes (both
	// are timed too, and not commits).
	static const char *const over[] = { "txn_max_us", "txn_over_10ms",
		"txn_over_100ms", "txn_us", "txn_commits" };
	uint64_t ov[5]
	    = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
	nng_socket ss;
	if (stats_socket(url, &ss) == 0) {
		if (harness_stats(ss, over, ov, 5) != 0) {
			ov[0] = UINT64_MAX;
		}
		(void) nng_close(ss);
	}
	r->txn_max_us = ov[0];
	r->txn_over_10ms = ov[1];
	r->txn_over_100ms = ov[2];
	r->txn_mean_us = ov[0] != UINT64_MAX && ov[3] != UINT64_MAX
	        && ov[4] != UINT64_MAX && ov[4] != 0
	    ? (double) ov[3] / (double) ov[4]
	    : 0;
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
	    "usage: %s [-t SECONDS] [-r RATE] [-q QUEUE_MAX] [--llmcostd "
	    "PATH]\n"
	    "  -t SECONDS     how long the producers offer calls (default "
	    "10)\n"
	    "  -r RATE        calls/s offered by the two producers together\n"
	    "                 (default 1000000; 0: as fast as they can)\n"
	    "  -q QUEUE_MAX   client queue_max (default 8192, the library's)\n"
	    "  --llmcostd P   the collector binary (default %s)\n",
	    prog, LLMCOSTD_PATH);
	exit(2);
}

int
main(int argc, char **argv)
{
	double secs = 10, rate = 1e6;
	uint32_t queue_max = 8192;
	const char *exe = LLMCOSTD_PATH;
	char *dir;
	char sdir[LLMCOST__PATH_MAX], ldir[LLMCOST__PATH_MAX];
	char url[LLMCOST__URL_MAX];
	pid_t daemon = -1;
	shim_result sr;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			usage_exit(argv[0]);
		}
		if (strcmp(argv[i], "-t") == 0) {
			secs = strtod(argv[++i], NULL);
		} else if (strcmp(argv[i], "-r") == 0) {
			rate = strtod(argv[++i], NULL);
		} else if (strcmp(argv[i], "-q") == 0) {
			queue_max = (uint32_t) strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--llmcostd") == 0) {
			exe = argv[++i];
		} else {
			usage_exit(argv[0]);
		}
	}
	if (secs <= 0 || secs > 3600 || rate < 0 || queue_max < 16) {
		usage_exit(argv[0]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((dir = harness_tmpdir()) == NULL) {
		return (1);
	}
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	snprintf(ldir, sizeof(ldir), "%s/lmdb", dir);
	// The library reads LLMCOST_PREFAULT itself (llmcost.h, Memory).
	const char *pre = getenv("LLMCOST_PREFAULT");
	printf("bench_ingest: 2 producers, %.0f s, offered %s%.0f calls/s, "
	       "queue_max %u%s, data in %s\n",
	    secs, rate > 0 ? "" : "(flat out) ", rate, queue_max,
	    pre != NULL && pre[0] != '\0' && strcmp(pre, "0") != 0
	        ? ", pool made resident at init (LLMCOST_PREFAULT)"
	        : "",
	    dir);

	if (harness_url(sdir, url, sizeof(url)) != 0
	    || (daemon = harness_daemon_start_bin(exe, sdir, NULL)) <= 0) {
		goto out;
	}
	int srv = run_shim(url, sdir, daemon, secs, rate, queue_max, &sr);
	int drv = harness_daemon_stop(daemon, SIGTERM);
	daemon = -1;
	if (srv != 0) {
		goto out;
	}
	if (drv != 0) {
		fprintf(stderr, "llmcostd exited with %d\n", drv);
	}
	// The store's file, all tables included (runs, roll-ups, strings).
	char dpath[LLMCOST__PATH_MAX + 16];
	struct stat dst;
	snprintf(dpath, sizeof(dpath), "%s/data.mdb", sdir);
	double disk_per_call = stat(dpath, &dst) == 0 && sr.stored > 0
	    ? (double) dst.st_size / (double) sr.stored
	    : 0;
	// Messages to the collector: each costs both processes a few
	// thread wake-ups, whatever it carries.
	double msgs = sr.st.batches_sent > 0 ? (double) sr.st.batches_sent : 1;
	double sw_client = (double) sr.switches_client / msgs;
	double sw_daemon = (double) sr.switches_daemon / msgs;
	size_t n = sr.stored > 0 ? (size_t) sr.stored : 1;
	double lmdb_s = run_lmdb(ldir, n);
	if (lmdb_s <= 0) {
		goto out;
	}

	double offered = (double) sr.offered / sr.offer_s;
	double durable = (double) sr.stored / sr.total_s;
	double floor = (double) n / lmdb_s;
	double per = sr.stored > 0 ? 1e9 / (double) sr.stored : 0;
	// The call sites' CPU: the time inside the calls (see the top).
	double calls_s = (double) sr.in_calls_ns / 1e9;
	// Host steal: over the run, and the drops in the tenths of a second
	// where it grew, or next to one (the watcher sees it up to a sample
	// late; the backlog comes after it).
	// Drops are also split by how far the producers had fallen behind
	// their schedule there or in the tenth before (whatever stopped
	// them: the host, the scheduler): producers LAG_BURST_US behind
	// offer that long's calls at once.
	uint64_t steal = 0, steal_windows = 0, efull_steal = 0;
	uint64_t efull_behind = 0, efull_txn = 0;
	for (int w = 0; w < WINDOWS; w++) {
		// A write transaction of 10 ms or more is seen at the first
		// sample after it ends (about every 100 ms), and the calls
		// it held back are dropped while it lasts: seen in the tenth
		// of the drops, the one before, or up to two after.
		int slow = 0;
		for (int k = w - 1; k <= w + 2; k++) {
			slow |= k >= 0 && k < WINDOWS
			    && sr.txn_slow_win[k] != 0;
		}
		efull_txn += slow ? sr.efull_win[w] : 0;
		steal += sr.steal_win[w];
		steal_windows += sr.steal_win[w] != 0;
		int near = sr.steal_win[w] != 0
		    || (w > 0 && sr.steal_win[w - 1] != 0)
		    || (w + 1 < WINDOWS && sr.steal_win[w + 1] != 0);
		efull_steal += near ? sr.efull_win[w] : 0;
		uint32_t lag = sr.lag_win[w];
		if (w > 0 && sr.lag_win[w - 1] > lag) {
			lag = sr.lag_win[w - 1];
		}
		efull_behind += lag >= LAG_BURST_US ? sr.efull_win[w] : 0;
	}
	double total_ns = (calls_s + sr.cpu_client_s + sr.cpu_daemon_s) * per;
	printf("\n%-56s %12s\n", "measure", "value");
	printf("%-56s %12.0f\n", "offered, calls/s (both producers)", offered);
	printf("%-56s %12llu\n", "offered, calls",
	    (unsigned long long) sr.offered);
	printf("%-56s %12llu\n", "dropped at the call site (EFULL)",
	    (unsigned long long) sr.efull);
	printf("%-56s %12.0f\n",
	    "durable, calls/s (stored / first offer..flush return)", durable);
	printf("%-56s %12.0f\n",
	    "raw LMDB, records/s (144 B, commit+sync every 1024)", floor);
	printf("%-56s %12.2f\n", "durable / raw LMDB", durable / floor);
	printf("%-56s %12.0f\n", "CPU ns per stored call: client background",
	    sr.cpu_client_s * per);
	printf("%-56s %12.0f\n", "CPU ns per stored call: daemon",
	    sr.cpu_daemon_s * per);
	printf("%-56s %12.0f\n",
	    "CPU ns per stored call: call sites (timed inside each)",
	    calls_s * per);
	printf("%-56s %12llu\n", "  calls left out (over 50 us: off the CPU)",
	    (unsigned long long) sr.off_cpu);
	printf("%-56s %12.0f\n",
	    "CPU ns per stored call: producers (calls + the schedule)",
	    sr.cpu_producers_s * per);
	printf("%-56s %12.0f\n",
	    "CPU ns per stored call: total (call sites + background + daemon)",
	    total_ns);
	printf("%-56s %12.1f\n", "store file bytes per stored call (data.mdb)",
	    disk_per_call);
	printf("%-56s %6.1f / %.1f\n",
	    "context switches per message: client / daemon", sw_client,
	    sw_daemon);
	printf(
	    "%-56s %12ld\n", "RSS KiB before llmcost_init", sr.rss_before_kib);
	printf("%-56s %12ld\n", "RSS KiB added by llmcost_init",
	    sr.rss_init_kib - sr.rss_before_kib);
	printf("%-56s %12ld\n", "RSS KiB at the end (before shutdown)",
	    sr.rss_end_kib);
	printf("%-56s %12d\n", "threads added by llmcost_init",
	    sr.threads_init - sr.threads_before);
	printf("%-56s %12d\n", "threads added once connected (with nng's)",
	    sr.threads_live - sr.threads_before);

	printf("\nclient: %llu ended, %llu acked, %llu dropped, %llu batches "
	       "(%llu resent, %.0f calls/batch); flush %s; errors %llu\n",
	    (unsigned long long) sr.st.calls_ended,
	    (unsigned long long) sr.st.calls_acked,
	    (unsigned long long) sr.st.calls_dropped,
	    (unsigned long long) sr.st.batches_sent,
	    (unsigned long long) sr.st.batches_resent,
	    sr.st.batches_sent
	        ? (double) sr.st.calls_acked / (double) sr.st.batches_sent
	        : 0.0,
	    llmcost_strerror(sr.flush_rv), (unsigned long long) sr.errors);
	// Every accepted call plus the one readiness call.
	uint64_t want = sr.accepted + 1;
	int ok = sr.flush_rv == 0 && sr.stored == want
	    && sr.st.calls_acked == want && sr.errors == 0;
	printf("verify: the store holds %llu runs, expected %llu (accepted + "
	       "1 readiness call): %s; zero drops: %s\n",
	    (unsigned long long) sr.stored, (unsigned long long) want,
	    ok ? "OK" : "MISMATCH", sr.efull == 0 ? "yes" : "NO");
	if (sr.steal_watched) {
		printf("host steal while offering: %llu ms (both vCPUs) in "
		       "%llu tenths of a second; drops there or next to one: "
		       "%llu, elsewhere: %llu\n",
		    (unsigned long long) steal,
		    (unsigned long long) steal_windows,
		    (unsigned long long) efull_steal,
		    (unsigned long long) (sr.efull - efull_steal));
	} else {
		printf("host steal: not watched (no thread for it)\n");
	}
	if (rate > 0) {
		printf("drops where the producers were %u ms or more behind "
		       "their schedule (there or a tenth before): %llu, on "
		       "schedule: %llu\n",
		    LAG_BURST_US / 1000u, (unsigned long long) efull_behind,
		    (unsigned long long) (sr.efull - efull_behind));
	}
	if (sr.txn_max_us != UINT64_MAX) {
		printf("llmcostd's write transactions (synced commit "
		       "included): mean %.2f ms, longest %.1f ms, %llu took "
		       "10 ms or more, %llu 100 ms or more",
		    sr.txn_mean_us / 1000.0, (double) sr.txn_max_us / 1000.0,
		    (unsigned long long) sr.txn_over_10ms,
		    (unsigned long long) sr.txn_over_100ms);
		if (sr.txn_watched) {
			printf("; drops where one of 10 ms or more was seen "
			       "there, a tenth before or two after: %llu",
			    (unsigned long long) efull_txn);
		}
		printf("\n");
	} else {
		printf("llmcostd's write transactions: not read (no STATS "
		       "answer)\n");
	}
	if (sr.efull != 0) {
		// When the drops happened: a start-up burst reads differently
		// from stalls spread over the run.
		printf("drops by tenth of a second (s: drops, host steal "
		       "ms there, the producers' most ms behind schedule "
		       "there or a tenth before, llmcostd's ms in write "
		       "transactions / those of 10 ms or more, seen there):");
		for (int w = 0; w < WINDOWS; w++) {
			if (sr.efull_win[w] != 0) {
				uint32_t lag = sr.lag_win[w];
				if (w > 0 && sr.lag_win[w - 1] > lag) {
					lag = sr.lag_win[w - 1];
				}
				printf(" %.1f: %llu (%llu, %.1f, %.0f/%llu)",
				    w / 10.0,
				    (unsigned long long) sr.efull_win[w],
				    (unsigned long long) sr.steal_win[w],
				    lag / 1000.0,
				    (double) sr.txn_us_win[w] / 1000.0,
				    (unsigned long long) sr.txn_slow_win[w]);
			}
		}
		printf("\n");
	}

	bench_metric("ingest.offered_calls_per_s", offered);
	bench_metric("ingest.efull", (double) sr.efull);
	bench_metric("ingest.efull_near_steal", (double) efull_steal);
	bench_metric(
	    "ingest.efull_elsewhere", (double) (sr.efull - efull_steal));
	bench_metric("ingest.steal_ms", (double) steal);
	if (rate > 0) {
		// Flat out (-r 0) there is no schedule to fall behind.
		bench_metric("ingest.efull_behind", (double) efull_behind);
	}
	if (sr.txn_watched) {
		bench_metric("ingest.efull_near_slow_txn", (double) efull_txn);
	}
	if (sr.txn_max_us != UINT64_MAX) {
		bench_metric(
		    "ingest.txn_max_ms", (double) sr.txn_max_us / 1e3);
		bench_metric(
		    "ingest.txn_over_10ms", (double) sr.txn_over_10ms);
	}
	bench_metric("ingest.durable_calls_per_s", durable);
	bench_metric("ingest.lmdb.records_per_s", floor);
	bench_metric("ingest.ratio_to_lmdb", durable / floor);
	bench_metric("ingest.cpu_ns.client_bg", sr.cpu_client_s * per);
	bench_metric("ingest.cpu_ns.daemon", sr.cpu_daemon_s * per);
	bench_metric("ingest.cpu_ns.producers", sr.cpu_producers_s * per);
	bench_metric("ingest.cpu_ns.calls", calls_s * per);
	bench_metric("ingest.cpu_ns.total", total_ns);
	bench_metric("ingest.rss_init_kib",
	    (double) (sr.rss_init_kib - sr.rss_before_kib));
	bench_metric("ingest.threads_added",
	    (double) (sr.threads_init - sr.threads_before));
	bench_metric("ingest.threads_added_live",
	    (double) (sr.threads_live - sr.threads_before));
	bench_metric("ingest.calls_per_batch",
	    sr.st.batches_sent
	        ? (double) sr.st.calls_acked / (double) sr.st.batches_sent
	        : 0.0);
	bench_metric("ingest.disk_bytes_per_call", disk_per_call);
	bench_metric("ingest.switches_per_msg.client", sw_client);
	bench_metric("ingest.switches_per_msg.daemon", sw_daemon);
	bench_metric("ingest.verify_ok", ok);
	rc = ok ? 0 : 1;
out:
	if (daemon > 0) {
		(void) harness_daemon_stop(daemon, SIGTERM);
	}
	harness_rmdir(dir);
	return (rc);
}
