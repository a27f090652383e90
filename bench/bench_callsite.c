// DESIGN: the call-site cost of one fully tagged call: call_begin
// ("openai", "gpt-4o-mini"), set_meta feature/env/user_tier, add_tag,
// set_usage, call_end.  Each call is timed on its own with two
// clock_gettime(CLOCK_MONOTONIC) reads, and the median cost of an empty
// pair of reads (measured here, printed) is subtracted.  The client is
// live: a real llmcostd runs as a child on a temporary directory, so the
// sender thread drains the queue, talks nng and the daemon commits to
// LMDB while we measure, competing for the same two CPUs as a real host
// would.  Before its first row, every slot of a client's pool is touched
// once (all begun with their setters, then abandoned: nothing is sent)
// so first-touch page faults, a one-time cost, are not counted, and a
// few thousand real calls are flushed.  Before
// every chunk of 1024 calls the producer checks the queue depth and
// sleeps (untimed) while the pool could run out, so the queue never fills;
// any EFULL is counted and reported.  Two pool sizes are measured: the
// default queue_max (8192 slots, about 13 MB, which fits in this CPU's
// L3) and a large one (default 1<<18, about 400 MB, which does not).
// Baselines run in the same process: the same record (same fields, same
// checks, same string bytes) through a fair naive design (a malloc'd,
// snprintf-formatted record on a mutex-guarded list that the consumer
// takes whole at each wake-up, signalled only when it sleeps; see
// "the naive design" below for why it is fair), and a getppid() system
// call, and the least call (least_call.h: the same calls into a shared
// library that does less than any shared library keeping a call can, the
// floor under the cold rows).  The llmcost and naive measurements are repeated
// with two producer threads at once, and at a steady 1 k calls/s per
// thread with L1 and L2 evicted between calls (n/25 calls), where both
// consumers park between calls as they would between real LLM calls.
// The back-to-back llmcost rows offer calls faster than a collector
// stores them; the untimed waits that keep the pool from running out are
// counted and printed, and bench_ingest measures the sustained rate
// without them.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"
#include "least_call.h"
#include "llmcost.h"
#include "llmcost_proto.h"

#ifndef LLMCOSTD_PATH
#define LLMCOSTD_PATH "llmcostd"
#endif

#define CHUNK             1024     // calls between two queue-depth checks
#define DEFAULT_QUEUE_MAX 8192u    // llmcost_options.queue_max default
#define PACED_GAP_NS      1000000u // the paced rows: 1 k calls/s

// ---- the naive design: a mutex + condvar queue, one consumer ----

typedef struct nspan {
	uint16_t off;
	uint16_t len;
} nspan;

// The same fields as the shim's pool slot.  The fixed part comes first
// so that a push copies only what was written.
typedef struct naive_rec {
	uint8_t run_id[16];
	uint64_t start_ns;
	uint64_t start_mono;
	uint64_t duration_ns;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t fees[LLMCOST_FEE_COUNT];
	int64_t provider_cost_pusd;
	uint32_t usage_flags;
	uint32_t status;
	nspan provider;
	nspan model;
	uint16_t n_meta;
	uint16_t n_tags;
	uint16_t arena_used;
	nspan meta_key[LLMCOST_MAX_META];
	nspan meta_val[LLMCOST_MAX_META];
	nspan tags[LLMCOST_MAX_TAGS];
	char arena[LLMCOST_MAX_CALL_BYTES];
} naive_rec;

// The naive design, written as a competent engineer would write it the
// simple way, so that the comparison is fair:
// - the record is built on the caller's stack with the same fields, the
//   same checks (length, UTF-8) and the same clock reads as the shim;
// - call end formats every field with snprintf into one malloc'd node,
//   as a simple logger would, then appends it to a list under a mutex
//   held only for the O(1) append;
// - the consumer takes the whole list at each wake-up (one lock per
//   wake-up, not per record) and processes and frees the nodes without
//   the lock;
// - the producer signals the condition variable only when the consumer
//   is asleep (a flag set under the mutex), so a busy consumer costs the
//   call site no system call;
// - the list is unbounded: it never drops and never makes a caller wait
//   (it trades memory for that, which the shim refuses to do).
// What it cannot avoid is what the shim is built to avoid: malloc and
// free per call, text formatting per call, a contended mutex, and a futex
// wake whenever the consumer has gone to sleep.

#define NAIVE_TEXT_MAX 1024 // formatted bytes per record (fits the caps)

typedef struct naive_node {
	struct naive_node *next;
	size_t len;
	char text[]; // "run_id=... start_ns=... provider=... ..."
} naive_node;

typedef struct naive_queue {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	naive_node *head; // oldest; guarded by mtx
	naive_node **tailp;
	int sleeping; // the consumer waits on cv; guarded by mtx
	int stop;
	uint64_t dropped; // always 0: the list is unbounded
	uint64_t consumed;
	uint64_t wakeups;
	uint64_t sink;
	pthread_t thread;
} naive_queue;

static _Thread_local uint64_t naive_rng;
// CLOCK_REALTIME - CLOCK_MONOTONIC, as the shim keeps it: one clock read
// per begin in both designs.
static int64_t naive_real_off;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

static int
naive_put(naive_rec *r, const char *s, size_t max, int allow_empty, nspan *out)
{
	if (s == NULL) {
		return (LLMCOST_EINVAL);
	}
	size_t len = strnlen(s, max + 1);
	if (len > max) {
		return (LLMCOST_ETOOBIG);
	}
	if ((len == 0 && !allow_empty) || !llmcost__utf8_valid(s, len)) {
		return (LLMCOST_EINVAL);
	}
	if (len > sizeof(r->arena) - r->arena_used) {
		return (LLMCOST_ETOOBIG);
	}
	memcpy(r->arena + r->arena_used, s, len);
	out->off = r->arena_used;
	out->len = (uint16_t) len;
	r->arena_used += (uint16_t) len;
	return (0);
}

static int
naive_eq(const naive_rec *r, nspan sp, const char *s)
{
	size_t len = strlen(s);
	return (sp.len == len && memcmp(r->arena + sp.off, s, len) == 0);
}

static void
naive_begin(naive_rec *r, const char *provider, const char *model)
{
	// One clock read, as the shim's begin.
	r->start_mono = clock_ns(CLOCK_MONOTONIC);
	r->start_ns = r->start_mono + (uint64_t) naive_real_off;
	r->duration_ns = 0;
	r->status = LLMCOST_STATUS_OK;
	memset(r->usage, 0, sizeof(r->usage));
	memset(r->fees, 0, sizeof(r->fees));
	r->provider_cost_pusd = LLMCOST_COST_NONE;
	r->usage_flags = 0;
	r->n_meta = r->n_tags = r->arena_used = 0;
	if (naive_rng == 0) {
		naive_rng = r->start_ns | 1;
	}
	uint64_t rnd = splitmix64(&naive_rng);
	uint64_t ms = r->start_ns / 1000000u;
	for (int i = 0; i < 6; i++) {
		r->run_id[i] = (uint8_t) (ms >> (40 - 8 * i));
	}
	r->run_id[6] = 0x70;
	r->run_id[7] = 0;
	for (int i = 8; i < 16; i++) {
		r->run_id[i] = (uint8_t) (rnd >> (8 * (15 - i)));
	}
	(void) naive_put(r, provider, LLMCOST_MAX_PROVIDER, 0, &r->provider);
	(void) naive_put(r, model, LLMCOST_MAX_MODEL, 0, &r->model);
}

static int
naive_set_meta(naive_rec *r, const char *key, const char *val)
{
	uint16_t i;
	for (i = 0; i < r->n_meta; i++) {
		if (naive_eq(r, r->meta_key[i], key)) {
			break;
		}
	}
	if (i < r->n_meta || r->n_meta == LLMCOST_MAX_META) {
		return (LLMCOST_EINVAL); // not exercised here
	}
	int rv;
	if ((rv = naive_put(r, key, LLMCOST_MAX_KEY, 0, &r->meta_key[i])) != 0
	    || (rv = naive_put(r, val, LLMCOST_MAX_VALUE, 1, &r->meta_val[i]))
	        != 0) {
		return (rv);
	}
	r->n_meta++;
	return (0);
}

static int
naive_add_tag(naive_rec *r, const char *tag)
{
	for (uint16_t i = 0; i < r->n_tags; i++) {
		if (naive_eq(r, r->tags[i], tag)) {
			return (0);
		}
	}
	if (r->n_tags == LLMCOST_MAX_TAGS) {
		return (LLMCOST_ETOOBIG);
	}
	int rv = naive_put(r, tag, LLMCOST_MAX_TAG, 0, &r->tags[r->n_tags]);
	if (rv == 0) {
		r->n_tags++;
	}
	return (rv);
}

// Appends "%.*s" of a span, bounded by the node's buffer.
static size_t naive_fmt(char *buf, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static size_t
naive_fmt(char *buf, size_t off, const char *fmt, ...)
{
	va_list ap;
	if (off >= NAIVE_TEXT_MAX) {
		return (off);
	}
	va_start(ap, fmt);
	int n = vsnprintf(buf + off, NAIVE_TEXT_MAX - off, fmt, ap);
	va_end(ap);
	return (n < 0 ? off : off + (size_t) n);
}

// Formats every field into a malloc'd node, appends it, and wakes the
// consumer only if it sleeps.
static int
naive_end(naive_queue *q, naive_rec *r)
{
	r->duration_ns = clock_ns(CLOCK_MONOTONIC) - r->start_mono;
	naive_node *nd = malloc(sizeof(*nd) + NAIVE_TEXT_MAX);
	if (nd == NULL) {
		return (LLMCOST_ENOMEM);
	}
	char *t = nd->text;
	size_t o = 0;
	o = naive_fmt(t, o, "run_id=");
	for (int i = 0; i < 16; i++) {
		o = naive_fmt(t, o, "%02x", r->run_id[i]);
	}
	o = naive_fmt(t, o, " start_ns=%llu duration_ns=%llu status=%u",
	    (unsigned long long) r->start_ns,
	    (unsigned long long) r->duration_ns, r->status);
	o = naive_fmt(t, o, " provider=%.*s model=%.*s", r->provider.len,
	    r->arena + r->provider.off, r->model.len, r->arena + r->model.off);
	for (uint16_t i = 0; i < r->n_meta; i++) {
		o = naive_fmt(t, o, " %.*s=%.*s", r->meta_key[i].len,
		    r->arena + r->meta_key[i].off, r->meta_val[i].len,
		    r->arena + r->meta_val[i].off);
	}
	for (uint16_t i = 0; i < r->n_tags; i++) {
		o = naive_fmt(t, o, " tag=%.*s", r->tags[i].len,
		    r->arena + r->tags[i].off);
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (r->usage[b] != 0) {
			o = naive_fmt(t, o, " u%d=%llu", b,
			    (unsigned long long) r->usage[b]);
		}
	}
	nd->len = o < NAIVE_TEXT_MAX ? o : NAIVE_TEXT_MAX - 1;
	nd->next = NULL;

	pthread_mutex_lock(&q->mtx);
	*q->tailp = nd;
	q->tailp = &nd->next;
	int wake = q->sleeping;
	q->sleeping = 0;
	pthread_mutex_unlock(&q->mtx);
	if (wake) {
		pthread_cond_signal(&q->cv);
	}
	return (0);
}

static void *
naive_consumer(void *arg)
{
	naive_queue *q = arg;

	pthread_mutex_lock(&q->mtx);
	for (;;) {
		while (q->head == NULL && !q->stop) {
			q->sleeping = 1;
			pthread_cond_wait(&q->cv, &q->mtx);
		}
		q->sleeping = 0;
		naive_node *list = q->head;
		if (list == NULL) {
			break;
		}
		// The whole list at once; the producers go on appending.
		q->head = NULL;
		q->tailp = &q->head;
		q->wakeups++;
		pthread_mutex_unlock(&q->mtx);
		while (list != NULL) {
			naive_node *nx = list->next;
			q->sink
			    += list->len + (uint8_t) list->text[list->len / 2];
			q->consumed++;
			free(list);
			list = nx;
		}
		pthread_mutex_lock(&q->mtx);
	}
	pthread_mutex_unlock(&q->mtx);
	return (NULL);
}

static int
naive_start(naive_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->tailp = &q->head;
	naive_real_off
	    = (int64_t) (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->thread, NULL, naive_consumer, q) != 0) {
		return (-1);
	}
	return (0);
}

static void
naive_stop(naive_queue *q)
{
	pthread_mutex_lock(&q->mtx);
	q->stop = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mtx);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mtx);
}

// ---- the operations being timed ----

// The least call (least_call.h): the same call through a shared library
// that does less than any shared library keeping a call can.
static int
least_tagged_call(void)
{
	least_call *c = least_begin("openai", "gpt-4o-mini");
	least_set_meta(c, "feature", "rag-search");
	least_set_meta(c, "env", "production");
	least_set_meta(c, "user_tier", "pro");
	least_add_tag(c, "beta");
	least_set_usage(c, &bench_usage);
	least_end(c);
	return (0);
}

typedef enum { OP_OURS, OP_NAIVE, OP_GETPPID, OP_LEAST } op_kind;

static int
naive_call(naive_queue *q)
{
	naive_rec r;
	int rv = 0;
	naive_begin(&r, "openai", "gpt-4o-mini");
	rv |= naive_set_meta(&r, "feature", "rag-search");
	rv |= naive_set_meta(&r, "env", "production");
	rv |= naive_set_meta(&r, "user_tier", "pro");
	rv |= naive_add_tag(&r, "beta");
	memcpy(r.usage, bench_usage.tokens, sizeof(r.usage));
	int erv = naive_end(q, &r);
	return (erv != 0 ? erv : (rv != 0 ? LLMCOST_EINVAL : 0));
}

typedef struct worker {
	op_kind kind;
	llmcost_client *c;
	naive_queue *q;
	uint32_t queue_max;
	uint32_t overhead;
	size_t warm;     // untimed calls first
	uint64_t gap_ns; // 0: back to back; else one call per gap_ns
	int cold;        // between paced calls, evict L1 and L2 (COLD_BYTES)
	size_t n;
	uint32_t *lat;
	// With floor_iters set, each timed call is followed by busy_loop
	// (floor_iters), timed the same way into floor_lat.
	uint32_t floor_iters;
	uint32_t *floor_lat;
	uint64_t efull;
	uint64_t errors;
	uint64_t pace_sleeps;
	uint64_t cpu_ns; // the thread's CPU time in the timed loop
	pthread_barrier_t *barrier;
} worker;

// Sleeps (untimed) while fewer than three chunks' worth of pool slots
// could be free: the queue, plus up to one batch being encoded.
static void
pace(worker *w)
{
	if (w->kind != OP_OURS) {
		return;
	}
	for (;;) {
		llmcost_stats st;
		llmcost_stats_get(w->c, &st);
		if (st.queue_depth + 3 * CHUNK <= w->queue_max) {
			return;
		}
		w->pace_sleeps++;
		bench_sleep_ns(100000);
	}
}

// Writes one byte per cache line of a per-thread buffer larger than this
// CPU's L2 (2 MiB per core here), as the rest of an application would
// between two LLM calls a millisecond apart.  L3 is not evicted.
#define COLD_BYTES (4u << 20)
static _Thread_local unsigned char *cold_buf;

static void
evict_caches(void)
{
	if (cold_buf == NULL && (cold_buf = malloc(COLD_BYTES)) == NULL) {
		return;
	}
	for (size_t i = 0; i < COLD_BYTES; i += 64) {
		cold_buf[i]++;
	}
	__asm__ volatile("" : : "r"(cold_buf) : "memory");
}

// The latency of one cache miss here, the floor under the cold rows: a
// chain of MISS_CHAIN pointers, one per page on distinct lines (so no
// prefetcher guesses the next), is walked after the same eviction and
// spin as a cold call, and the median walk is divided by its length.  A
// cold call reads its client, its thread's lane and the slot the lane
// hands it one after the other, and fetches its code, so it cannot take
// less than a few of these.
#define MISS_CHAIN 16

__attribute__((noinline)) static void *
walk(void *const *p, int n)
{
	for (int i = 0; i < n; i++) {
		p = (void *const *) *p;
	}
	return ((void *) p);
}

static double
cold_miss_ns(uint32_t overhead, size_t n)
{
	size_t page = 4096;
	char *mem = aligned_alloc(page, (MISS_CHAIN + 1) * page);
	uint32_t *lat = calloc(n, sizeof(*lat));
	double ns = 0;

	if (mem != NULL && lat != NULL) {
		for (size_t i = 0; i < MISS_CHAIN; i++) {
			char *at = mem + i * page + (i % 64) * 64;
			char *next
			    = mem + (i + 1) * page + ((i + 1) % 64) * 64;
			memcpy(at, &next, sizeof(next));
		}
		void *volatile sink;
		for (size_t i = 0; i < n; i++) {
			evict_caches();
			uint64_t next = bench_now_ns() + PACED_GAP_NS;
			while (bench_now_ns() < next) {
				continue;
			}
			uint64_t t0 = bench_now_ns();
			sink = walk((void *const *) mem, MISS_CHAIN);
			uint64_t d = bench_now_ns() - t0;
			lat[i] = d > overhead ? (uint32_t) (d - overhead) : 0;
		}
		(void) sink;
		bench_pct p;
		bench_percentiles(lat, n, &p);
		ns = (double) p.p50 / MISS_CHAIN;
	}
	free(cold_buf);
	cold_buf = NULL;
	free(lat);
	free(mem);
	return (ns);
}

// The run time in nanoseconds of the batch loop (the thread named
// "llmcost-send": only one client exists while a row with it runs), from
// the scheduler's statistics; 0 when it cannot be read.
static uint64_t
sender_cpu_ns(void)
{
	FILE *f = bench_thread_file("llmcost-send", "schedstat");
	unsigned long long run = 0;

	if (f != NULL) {
		if (fscanf(f, "%llu", &run) != 1) {
			run = 0;
		}
		fclose(f);
	}
	return ((uint64_t) run);
}

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

// The host's floor: arithmetic alone, no memory, no system call; a
// dependent chain, so it takes as long on every run.
static volatile uint64_t busy_sink;
__attribute__((noinline)) static void
busy_loop(uint32_t iters)
{
	uint64_t x = busy_sink;
	for (uint32_t i = 0; i < iters; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	busy_sink = x;
}

// The iterations of busy_loop that take ns (median of timed runs, the
// timer's overhead off), at least 1.
static uint32_t
busy_iters_for(uint32_t ns, uint32_t overhead)
{
	enum { RUNS = 2001, ITERS = 1000 };
	static uint32_t lat[RUNS];
	for (int i = 0; i < RUNS; i++) {
		uint64_t t0 = bench_now_ns();
		busy_loop(ITERS);
		uint64_t d = bench_now_ns() - t0;
		lat[i] = d > overhead ? (uint32_t) (d - overhead) : 1;
	}
	bench_pct p;
	bench_percentiles(lat, RUNS, &p);
	uint64_t it = (uint64_t) ns * ITERS / (p.p50 > 0 ? p.p50 : 1);
	return (it > 0 ? (uint32_t) it : 1);
}

static int
one(worker *w)
{
	switch (w->kind) {
	case OP_OURS:
		return (bench_tagged_call(w->c));
	case OP_NAIVE:
		return (naive_call(w->q));
	case OP_LEAST:
		return (least_tagged_call());
	default:
		return (getppid() > 0 ? 0 : LLMCOST_ESYSTEM);
	}
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	// The least call's count is the thread's: the 1-thread rows run
	// on the main thread, one after another.
	uint64_t least0 = least_ended();

	for (size_t i = 0; i < w->warm; i++) {
		if (i % CHUNK == 0) {
			pace(w);
		}
		w->efull += one(w) == LLMCOST_EFULL;
	}
	if (w->barrier != NULL) {
		pthread_barrier_wait(w->barrier);
	}
	uint64_t cpu0 = thread_cpu_ns();
	uint64_t next = bench_now_ns();
	for (size_t i = 0; i < w->n;) {
		if (i % CHUNK == 0) {
			pace(w);
		}
		if (w->gap_ns != 0) {
			if (w->cold) {
				evict_caches();
			}
			// Spin, so the consumer or sender parks in between.
			next += w->gap_ns;
			while (bench_now_ns() < next) {
				continue;
			}
		}
		uint64_t t0 = bench_now_ns();
		int rv = one(w);
		uint64_t t1 = bench_now_ns();
		if (rv == LLMCOST_EFULL) {
			w->efull++;
			bench_sleep_ns(100000);
			continue;
		}
		if (rv != 0) {
			w->errors++;
		}
		uint64_t d = t1 - t0;
		if (w->floor_lat != NULL) {
			uint64_t f0 = bench_now_ns();
			busy_loop(w->floor_iters);
			uint64_t fd = bench_now_ns() - f0;
			w->floor_lat[i] = fd > w->overhead
			    ? (uint32_t) (fd - w->overhead)
			    : 0;
		}
		w->lat[i++]
		    = d > w->overhead ? (uint32_t) (d - w->overhead) : 0;
	}
	w->cpu_ns = thread_cpu_ns() - cpu0;
	uint64_t least_n = least_ended() - least0;
	if (w->kind == OP_LEAST && least_n != w->warm + w->n) {
		// The calls that did not reach the library.
		w->errors
		    += least_n < w->warm + w->n ? w->warm + w->n - least_n : 1;
	}
	free(cold_buf);
	cold_buf = NULL;
	return (NULL);
}

typedef struct result {
	const char *label;
	const char *key;
	int done; // measured (--rows selects which)
	bench_pct p;
	uint64_t efull;
	uint64_t errors;
	uint64_t pace_sleeps;
	double cpu_ns;      // CPU time per call of the producer threads
	double send_cpu_ns; // the batch loop's CPU time per call (llmcost)
	int no_cpu; // the floor rows: the CPU time is the loop's too, or none
} result;

// Runs nthreads workers of one kind, n timed calls in all, and merges
// their per-call latencies; with floor, also the busy loops timed after
// each call (proto->floor_iters).
static int
measure(
    result *res, result *floor, const worker *proto, int nthreads, size_t n)
{
	worker w[2];
	pthread_t th[2];
	pthread_barrier_t bar;
	uint32_t *lat = malloc(n * sizeof(*lat));
	uint32_t *flat = floor != NULL ? malloc(n * sizeof(*flat)) : NULL;

	if (lat == NULL || (floor != NULL && flat == NULL) || nthreads < 1
	    || nthreads > 2) {
		free(lat);
		free(flat);
		return (-1);
	}
	pthread_barrier_init(&bar, NULL, (unsigned) nthreads);
	for (int t = 0; t < nthreads; t++) {
		w[t] = *proto;
		w[t].n = n / (size_t) nthreads;
		w[t].lat = lat + (size_t) t * w[t].n;
		w[t].floor_lat
		    = flat != NULL ? flat + (size_t) t * w[t].n : NULL;
		w[t].barrier = nthreads > 1 ? &bar : NULL;
	}
	if (nthreads == 1) {
		worker_main(&w[0]);
	} else {
		for (int t = 0; t < nthreads; t++) {
			pthread_create(&th[t], NULL, worker_main, &w[t]);
		}
		for (int t = 0; t < nthreads; t++) {
			pthread_join(th[t], NULL);
		}
	}
	pthread_barrier_destroy(&bar);
	res->done = 1;
	res->efull = res->errors = res->pace_sleeps = 0;
	res->cpu_ns = 0;
	for (int t = 0; t < nthreads; t++) {
		res->efull += w[t].efull;
		res->errors += w[t].errors;
		res->pace_sleeps += w[t].pace_sleeps;
		res->cpu_ns += (double) w[t].cpu_ns;
	}
	res->cpu_ns /= (double) (w[0].n * (size_t) nthreads);
	bench_percentiles(lat, w[0].n * (size_t) nthreads, &res->p);
	if (floor != NULL) {
		floor->done = 1;
		bench_percentiles(flat, w[0].n * (size_t) nthreads, &floor->p);
	}
	free(lat);
	free(flat);
	return (0);
}

// Touches every pool slot once without sending anything, then has a few
// thousand real calls acknowledged, so that the sender, nng and the
// daemon are warm and the queue is empty when timing starts.  Every slot
// is held open at once before any is given back: a call abandoned at
// once frees its slot for the next begin, which would touch one slot
// queue_max times, and the timed rows would then pay the first write to
// each slot's pages (a page fault, 1-2 us here), a one-time cost of a
// client's first calls that is not the call site's steady cost.
// Warms c up; *efull counts the calls refused (EFULL) meanwhile, outside
// any row.
static int
warm_client(llmcost_client *c, uint32_t queue_max, uint64_t *efull)
{
	llmcost_call **held = malloc(queue_max * sizeof(*held));
	uint32_t n = 0;

	if (held == NULL) {
		fprintf(
		    stderr, "warm-up: no memory for %u handles\n", queue_max);
		return (-1);
	}
	while (n < queue_max
	    && llmcost_call_begin(c, "openai", "gpt-4o-mini", &held[n]) == 0) {
		llmcost_call *call = held[n++];
		llmcost_call_set_meta(call, "feature", "rag-search");
		llmcost_call_set_meta(call, "env", "production");
		llmcost_call_set_meta(call, "user_tier", "pro");
		llmcost_call_add_tag(call, "beta");
		llmcost_call_set_usage(call, &bench_usage);
	}
	for (uint32_t i = 0; i < n; i++) {
		llmcost_call_abandon(held[i]);
	}
	free(held);
	if (n != queue_max) {
		fprintf(
		    stderr, "warm-up: %u of %u calls begun\n", n, queue_max);
		return (-1);
	}
	for (int i = 0; i < 2048; i++) {
		*efull += bench_tagged_call(c) == LLMCOST_EFULL;
	}
	if (llmcost_flush(c, 120000) != 0) {
		fprintf(stderr, "warm-up: calls not acknowledged\n");
		return (-1);
	}
	return (0);
}

static void
print_row(const result *r, const result *ref)
{
	if (!r->done) {
		return;
	}
	printf("%-44s %7u %7u %7u %7.0f %8u %6.2fx %6.2fx\n", r->label,
	    r->p.p50, r->p.p99, r->p.p999, r->p.mean, r->p.max,
	    ref->p.p50 > 0 ? (double) r->p.p50 / ref->p.p50 : 0.0,
	    ref->p.p99 > 0 ? (double) r->p.p99 / ref->p.p99 : 0.0);
}

static void
emit(const result *r, const result *ref)
{
	char name[128];
	if (!r->done) {
		return;
	}
	snprintf(name, sizeof(name), "callsite.%s.p50_ns", r->key);
	bench_metric(name, r->p.p50);
	snprintf(name, sizeof(name), "callsite.%s.p99_ns", r->key);
	bench_metric(name, r->p.p99);
	snprintf(name, sizeof(name), "callsite.%s.p999_ns", r->key);
	bench_metric(name, r->p.p999);
	snprintf(name, sizeof(name), "callsite.%s.mean_ns", r->key);
	bench_metric(name, r->p.mean);
	snprintf(name, sizeof(name), "callsite.%s.max_ns", r->key);
	bench_metric(name, r->p.max);
	if (!r->no_cpu) {
		snprintf(name, sizeof(name), "callsite.%s.cpu_ns", r->key);
		bench_metric(name, r->cpu_ns);
	}
	if (r->send_cpu_ns > 0) {
		snprintf(
		    name, sizeof(name), "callsite.%s.send_cpu_ns", r->key);
		bench_metric(name, r->send_cpu_ns);
	}
	if (r != ref && ref->p.p50 > 0 && ref->p.p99 > 0) {
		snprintf(name, sizeof(name), "callsite.%s.ratio_p50", r->key);
		bench_metric(name, (double) r->p.p50 / ref->p.p50);
		snprintf(name, sizeof(name), "callsite.%s.ratio_p99", r->key);
		bench_metric(name, (double) r->p.p99 / ref->p.p99);
	}
}

// Flushes c and checks that every call it recorded was acknowledged, and
// that it dropped only the calls it refused at begin (efull, which the
// producers saw and counted): a call that ended must never be lost.
static int
check_delivery(llmcost_client *c, const char *what, uint64_t efull)
{
	int rv = llmcost_flush(c, 120000);
	llmcost_stats st;
	llmcost_stats_get(c, &st);
	int ok = rv == 0 && st.calls_acked == st.calls_ended
	    && st.calls_dropped == efull && st.calls_rejected == 0;
	printf("delivery (%s): %llu calls ended, %llu acknowledged by "
	       "llmcostd, %llu dropped, %llu rejected, %llu batches (%llu "
	       "resent; the drops are the EFULL above): %s\n",
	    what, (unsigned long long) st.calls_ended,
	    (unsigned long long) st.calls_acked,
	    (unsigned long long) st.calls_dropped,
	    (unsigned long long) st.calls_rejected,
	    (unsigned long long) st.batches_sent,
	    (unsigned long long) st.batches_resent, ok ? "OK" : "MISMATCH");
	return (ok ? 0 : -1);
}

static void
usage_exit(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [-n CALLS] [-q QUEUE_MAX] [--llmcostd PATH] "
	    "[--rows KEYS]\n"
	    "  -n CALLS       timed calls per measurement (default 200000)\n"
	    "  -q QUEUE_MAX   the large queue_max (default 262144)\n"
	    "  --llmcostd P   the collector binary (default %s)\n"
	    "  --rows KEYS    only these rows, by metric key, "
	    "comma-separated\n"
	    "                 (ours,ours_bigq,naive,getppid,ours2,naive2,\n"
	    "                 "
	    "ours_paced,naive_paced,ours2_paced,naive2_paced,\n"
	    "                 least,least_paced,least2_paced (the least\n"
	    "                 call: bench/least_call.h),\n"
	    "                 floor,floor2 (calls, each followed by a timed\n"
	    "                 busy loop as long as the 1-thread median),\n"
	    "                 miss (the cache-miss floor); default all),\n"
	    "                 e.g. to profile one of them\n",
	    prog, LLMCOSTD_PATH);
	exit(2);
}

// Whether the row with metric key key is selected by --rows (NULL: all).
static int
want(const char *rows, const char *key)
{
	size_t kl = strlen(key);
	const char *p = rows;

	if (rows == NULL) {
		return (1);
	}
	while (*p != '\0') {
		size_t l = strcspn(p, ",");
		if (l == kl && strncmp(p, key, kl) == 0) {
			return (1);
		}
		p += l + (p[l] == ',');
	}
	return (0);
}

// The paced rows of proto's kind that rows selects (res1 with 1 thread,
// res2 with 2): one call per PACED_GAP_NS per thread, L1 and L2 evicted
// before each, n calls in all.
static void
measure_paced(
    result *res1, result *res2, worker *proto, const char *rows, size_t n)
{
	proto->gap_ns = PACED_GAP_NS;
	proto->cold = 1;
	if (want(rows, res1->key)) {
		measure(res1, NULL, proto, 1, n);
	}
	if (want(rows, res2->key)) {
		measure(res2, NULL, proto, 2, n);
	}
}

int
main(int argc, char **argv)
{
	size_t n = 200000;
	uint32_t big_q = 1u << 18;
	const char *exe = LLMCOSTD_PATH;
	char *dir;
	char url[LLMCOST__URL_MAX];
	pid_t daemon;
	llmcost_client *c = NULL, *cbig = NULL;
	naive_queue q;
	int rc = 1;
	uint64_t warm_efull = 0, warm_big = 0;
	const char *rows = NULL;
	char *args[64];
	int nargs = 0;

	// --rows is this benchmark's own; the rest are the common options.
	for (int i = 0; i < argc && nargs < 64; i++) {
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
			rows = argv[++i];
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (nargs == 64 || bench_parse_args(nargs, args, &n, &big_q, &exe) != 0
	    || n < 1000 || big_q < 8 * CHUNK || (big_q & (big_q - 1)) != 0) {
		usage_exit(argv[0]);
	}
	n -= n % 2;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if ((dir = harness_tmpdir()) == NULL) {
		return (1);
	}
	if (harness_url(dir, url, sizeof(url)) != 0
	    || (daemon = harness_daemon_start_bin(exe, dir, NULL)) <= 0) {
		harness_rmdir(dir);
		return (1);
	}
	// The documented default pool size, the configuration users get.
	uint32_t def_q = DEFAULT_QUEUE_MAX;
	llmcost_options o = { .collector_url = url, .queue_max = def_q };
	llmcost_options obig = { .collector_url = url, .queue_max = big_q };
	int rv;
	if ((rv = llmcost_init(&c, &o)) != 0) {
		fprintf(stderr, "llmcost_init: %s\n", llmcost_strerror(rv));
		goto out;
	}
	// The collector must acknowledge before anything is timed.
	if ((rv = bench_tagged_call(c)) != 0
	    || (rv = llmcost_flush(c, 10000)) != 0) {
		fprintf(stderr, "the collector did not acknowledge: %s\n",
		    llmcost_strerror(rv));
		goto out;
	}
	uint32_t ovh, ovh99;
	bench_timer_overhead(&ovh, &ovh99);
	printf("bench_callsite: %zu timed calls per row, default queue_max "
	       "%u, large queue_max %u, collector %s\n",
	    n, def_q, big_q, url);
	printf("timer overhead (two back-to-back CLOCK_MONOTONIC reads): "
	       "median %u ns, p99 %u ns; the median is subtracted below\n",
	    ovh, ovh99);
	bench_metric("callsite.timer_overhead_ns", ovh);

	worker ours = { .kind = OP_OURS,
		.c = c,
		.queue_max = def_q,
		.overhead = ovh,
		.warm = 256 };
	worker big = { .kind = OP_OURS,
		.queue_max = big_q,
		.overhead = ovh,
		.warm = 256 };
	worker naive
	    = { .kind = OP_NAIVE, .q = &q, .overhead = ovh, .warm = 20000 };
	worker sys = { .kind = OP_GETPPID, .overhead = ovh, .warm = 10000 };
	worker least = { .kind = OP_LEAST, .overhead = ovh, .warm = 10000 };
	result r1 = { "llmcost call, 1 thread, default queue_max", "ours" };
	result b1 = { "llmcost call, 1 thread, large queue_max", "ours_bigq" };
	result n1 = { "naive mutex+condvar queue, 1 thread", "naive" };
	result s1 = { "getppid() system call", "getppid" };
	result r2 = { "llmcost call, 2 threads, default queue_max", "ours2" };
	result n2 = { "naive mutex+condvar queue, 2 threads", "naive2" };
	result l1 = { "least call (floor), 1 thread", "least" };
	result rp
	    = { "llmcost call, 1 thread, 1k calls/s, cold", "ours_paced" };
	result np
	    = { "naive queue, 1 thread, 1k calls/s, cold", "naive_paced" };
	result rp2 = { "llmcost call, 2 threads, 1k calls/s each, cold",
		"ours2_paced" };
	result np2 = { "naive queue, 2 threads, 1k calls/s each, cold",
		"naive2_paced" };
	result lp = { "least call (floor), 1 thread, 1k calls/s, cold",
		"least_paced" };
	result lp2 = { "least call (floor), 2 threads, 1k calls/s, cold",
		"least2_paced" };
	result rf = { "llmcost call, 1 thread, busy loop after each",
		"ours_floor", .no_cpu = 1 };
	result ff = { "  the busy loop, as long as a call (floor)", "floor",
		.no_cpu = 1 };
	result rf2 = { "llmcost call, 2 threads, busy loop after each",
		"ours2_floor", .no_cpu = 1 };
	result ff2 = { "  the busy loop, as long as a call (floor)", "floor2",
		.no_cpu = 1 };
	size_t n_paced = n / 25;

	// Baselines first, while the sender threads are idle.
	if (want(rows, "getppid")) {
		measure(&s1, NULL, &sys, 1, n);
	}
	if (want(rows, l1.key)) {
		measure(&l1, NULL, &least, 1, n);
	}
	least.warm = 200;
	measure_paced(&lp, &lp2, &least, rows, n_paced);
	if (naive_start(&q) != 0) {
		fprintf(stderr, "cannot start the naive consumer\n");
		goto out;
	}
	if (want(rows, n1.key)) {
		measure(&n1, NULL, &naive, 1, n);
	}
	naive.warm = 5000;
	if (want(rows, n2.key)) {
		measure(&n2, NULL, &naive, 2, n);
	}
	// Calls 1 ms apart with the caches evicted in between: the consumer
	// parks between them, as it would between real LLM calls.
	naive.warm = 200;
	measure_paced(&np, &np2, &naive, rows, n_paced);
	naive_stop(&q);

	// Each llmcost row starts warm and empty, and is drained after.
	if (warm_client(c, def_q, &warm_efull) != 0) {
		goto out;
	}
	if (want(rows, r1.key)) {
		uint64_t s0 = sender_cpu_ns();
		measure(&r1, NULL, &ours, 1, n);
		llmcost_flush(c, 120000);
		r1.send_cpu_ns = (double) (sender_cpu_ns() - s0) / (double) n;
	}
	// The large pool (400 MB) exists only for its row, and its client's
	// delivery is checked at once.
	int big_failed = 0;
	if (want(rows, b1.key)) {
		if ((rv = llmcost_init(&cbig, &obig)) != 0) {
			fprintf(stderr, "large queue_max client: %s\n",
			    llmcost_strerror(rv));
			goto out;
		}
		if (warm_client(cbig, big_q, &warm_big) != 0) {
			fprintf(stderr,
			    "large queue_max client: warm-up "
			    "was not acknowledged\n");
			goto out;
		}
		big.c = cbig;
		measure(&b1, NULL, &big, 1, n);
		big_failed = check_delivery(
		                 cbig, "large queue_max", b1.efull + warm_big)
		    != 0;
		llmcost_shutdown(cbig, 5000);
		cbig = NULL;
	}
	if (want(rows, r2.key)) {
		uint64_t s0 = sender_cpu_ns();
		measure(&r2, NULL, &ours, 2, n);
		llmcost_flush(c, 120000);
		r2.send_cpu_ns = (double) (sender_cpu_ns() - s0) / (double) n;
	}
	// The host's floor under the same load: each call followed by a
	// busy loop as long as the call's median (1 thread row; 100 ns, the
	// target, without it), timed the same way.  No operation that long
	// has a tail shorter than the loop's on this machine.
	worker fl = ours;
	fl.floor_iters = busy_iters_for(r1.done ? r1.p.p50 : 100, ovh);
	if (want(rows, "floor")) {
		measure(&rf, &ff, &fl, 1, n);
		llmcost_flush(c, 120000);
	}
	if (want(rows, "floor2")) {
		measure(&rf2, &ff2, &fl, 2, n);
		llmcost_flush(c, 120000);
	}
	measure_paced(&rp, &rp2, &ours, rows, n_paced);
	double miss = 0;
	if (want(rows, "miss")) {
		miss = cold_miss_ns(ovh, n_paced);
	}

	printf("\n%-44s %7s %7s %7s %7s %8s %7s %7s\n",
	    "operation (ns per call)", "median", "p99", "p999", "mean", "max",
	    "p50 vs", "p99 vs");
	print_row(&r1, &r1);
	print_row(&b1, &r1);
	print_row(&n1, &r1);
	print_row(&s1, &r1);
	print_row(&l1, &r1);
	print_row(&r2, &r2);
	print_row(&n2, &r2);
	print_row(&rf, &rf);
	print_row(&ff, &rf);
	print_row(&rf2, &rf2);
	print_row(&ff2, &rf2);
	print_row(&rp, &rp);
	print_row(&np, &rp);
	print_row(&lp, &rp);
	print_row(&rp2, &rp2);
	print_row(&np2, &rp2);
	print_row(&lp2, &rp2);
	if (miss > 0) {
		printf("one cache miss, the floor under the cold rows: a "
		       "dependent load of an evicted line takes %.0f ns here "
		       "(median walk of %d lines on %d pages, evicted and "
		       "spun as the cold rows)\n",
		    miss, MISS_CHAIN, MISS_CHAIN);
		bench_metric("callsite.cold_miss_ns", miss);
	}
	printf("(ratios against the llmcost row of the same group: 1 thread, "
	       "2 threads, paced; 2-thread rows merge both producers' calls; "
	       "paced rows have %zu calls)\n",
	    n_paced);

	// CPU time is immune to the waits of a busy machine, not to its
	// cache pollution; it includes the timer's reads and the pacing
	// checks, and for the paced rows the cache eviction and the spin.
	printf("\nCPU time of the calling threads per call, back-to-back rows "
	       "(timer reads included):");
	const result *cpu_rows[] = { &r1, &b1, &n1, &r2, &n2 };
	for (size_t i = 0; i < sizeof(cpu_rows) / sizeof(cpu_rows[0]); i++) {
		if (cpu_rows[i]->done) {
			printf(" %s %.0f ns;", cpu_rows[i]->key,
			    cpu_rows[i]->cpu_ns);
		}
	}
	printf("\n");
	printf("CPU time of the batch loop per call (ring to batches, "
	       "llmcost-send thread):");
	const result *send_rows[] = { &r1, &r2 };
	for (size_t i = 0; i < 2; i++) {
		if (send_rows[i]->done) {
			printf(" %s %.0f ns;", send_rows[i]->key,
			    send_rows[i]->send_cpu_ns);
		}
	}
	printf("\n");

	emit(&r1, &r1);
	emit(&b1, &r1);
	emit(&n1, &r1);
	emit(&s1, &r1);
	emit(&l1, &r1);
	emit(&r2, &r2);
	emit(&n2, &r2);
	emit(&rf, &rf);
	emit(&ff, &rf);
	emit(&rf2, &rf2);
	emit(&ff2, &rf2);
	emit(&rp, &rp);
	emit(&np, &rp);
	emit(&lp, &rp);
	emit(&rp2, &rp2);
	emit(&np2, &rp2);
	emit(&lp2, &rp2);
	uint64_t efull = r1.efull + b1.efull + r2.efull + rf.efull + rf2.efull
	    + rp.efull + rp2.efull;
	bench_metric("callsite.llmcost.efull", (double) efull);
	bench_metric("callsite.naive.dropped", (double) q.dropped);
	printf("\nEFULL: %llu; pacing sleeps (100 us each): %llu default, "
	       "%llu large, %llu 2 threads; naive queue drops: %llu; "
	       "errors: %llu\n",
	    (unsigned long long) efull, (unsigned long long) r1.pace_sleeps,
	    (unsigned long long) b1.pace_sleeps,
	    (unsigned long long) r2.pace_sleeps,
	    (unsigned long long) q.dropped,
	    (unsigned long long) (r1.errors + b1.errors + r2.errors + rf.errors
	        + rf2.errors + rp.errors + rp2.errors + n1.errors + n2.errors
	        + np.errors + np2.errors + s1.errors + l1.errors + lp.errors
	        + lp2.errors));
	printf("naive consumer: %llu records in %llu wake-ups\n",
	    (unsigned long long) q.consumed, (unsigned long long) q.wakeups);

	// Everything recorded must have reached the collector.
	rc = 0;
	if (check_delivery(c, "default queue_max",
	        r1.efull + r2.efull + rf.efull + rf2.efull + rp.efull
	            + rp2.efull + warm_efull)
	        != 0
	    || big_failed) {
		rc = 1;
	}
out:
	llmcost_shutdown(c, 5000);
	llmcost_shutdown(cbig, 5000);
	int st_rc = harness_daemon_stop(daemon, SIGTERM);
	if (st_rc != 0) {
		fprintf(stderr, "llmcostd exited with %d\n", st_rc);
		rc = 1;
	}
	harness_rmdir(dir);
	return (rc);
}
