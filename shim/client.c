// DESIGN: a client owns a pool of call records, a lock-free stack of free
// slots, a lock-free ring of ended calls, a registry of per-thread lanes
// (lane.h) that take the stack's and the ring's place for the threads
// that hold one, the batch loop's thread and one
// thread per exporter (exporter.h).  The call path allocates nothing: it
// takes a slot index from the stack and pushes it onto the ring; the pool,
// stack and ring are allocated here, at init, and only the background
// threads allocate afterwards (a batch, an encoded message).  Flush and
// shutdown are the only blocking functions; they wait on a condition
// variable that the loop and the exporters broadcast whenever the
// settled position may have moved (redis bio "completion job").
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "export_langsmith.h"
#include "shim.h"
#include "spool.h"
#include "uuid7.h"

int
llmcost__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rv = LLMCOST_ESYSTEM;

	if (pthread_condattr_init(&ca) != 0) {
		return (LLMCOST_ESYSTEM);
	}
	// Deadlines are CLOCK_MONOTONIC (llmcost__deadline_ms): a wait on the
	// default realtime clock would stretch or end early when the wall
	// clock is set.
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0
	    && pthread_cond_init(cv, &ca) == 0) {
		rv = 0;
	}
	(void) pthread_condattr_destroy(&ca);
	return (rv);
}

void
llmcost__real_off_update(llmcost_client *c)
{
	uint64_t mono = llmcost__mono_ns();
	uint64_t real = llmcost__now_ns();
	atomic_store_explicit(
	    &c->real_off, (int64_t) (real - mono), memory_order_relaxed);
}

// Bytes of the pool's start left on small pages (pool_map).
#define POOL_SMALL ((size_t) 2 << 20)

// Maps the pool: n slots, on a 2 MiB boundary, zero pages not touched here
// (the loop populates them ahead of the calls when idle, pool_ahead, or a
// call that outruns it touches them first).  Beyond its first POOL_SMALL
// bytes the pool asks for transparent huge pages: a busy client cycles
// through thousands of slots, and with 4 KiB pages one call in a hundred
// paid a page walk (two-level under a hypervisor) of about 2 us
// (bench_callsite p99: 1.9 -> 0.4 us).  A client that makes few calls at a
// time reuses the first slots (the free stack is LIFO) and stays on small
// pages, so its memory grows by pages, not by 2 MiB.  Returns 0 or
// LLMCOST_ENOMEM.
static int
pool_map(llmcost_client *c, uint32_t n)
{
	size_t bytes = (size_t) n * sizeof(*c->pool);
	size_t huge = (size_t) 2 << 20;
	size_t len = bytes + huge;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		return (LLMCOST_ENOMEM);
	}
	c->pool_mem = m;
	c->pool_len = len;
	uintptr_t at = ((uintptr_t) m + huge - 1) & ~(uintptr_t) (huge - 1);
	c->pool = (struct llmcost_call *) (void *) at;
	if (bytes >= POOL_SMALL + huge) {
		size_t big = (bytes - POOL_SMALL) & ~(huge - 1);
		// Advice: where huge pages are off, nothing changes.
		(void) madvise((char *) at + POOL_SMALL, big, MADV_HUGEPAGE);
	}
	return (0);
}

// The fewest slots the loop keeps resident past the last one used, and
// the most bytes it makes resident at a time (once per idle sleep).
#define POOL_AHEAD_MIN   64
#define POOL_AHEAD_ROUND ((uintptr_t) 256 << 10)

#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23 // Linux 5.14; C libraries before 2.35 lack it
#endif

// A call site takes a slot never used before only when every used one is in
// flight or held free by a lane (freelist.h, lane.h), and its first write to
// one of the slot's pages is a page fault on the calling thread: 1-2 us a 4
// KiB page on a KVM guest, about 0.1 ms to zero a 2 MiB one.  A client that
// starts at a high rate takes its first thousands of slots within
// milliseconds, each fault a call a hundred times slower than the others.  So
// when it has nothing to take the loop has the kernel populate the pages of
// the next slots: as many as call sites have used so far, at least
// POOL_AHEAD_MIN and at most wake_depth (the calls of a round at a steady
// rate), POOL_AHEAD_ROUND at a time, so that the sleep it eats into stays
// short.  Nothing is touched before the first call, and the resident pool
// stays within twice the slots ever used, plus POOL_AHEAD_MIN, rounded up to
// a page (a 2 MiB one in the part that asks for huge pages,
// pool_map).  MADV_POPULATE_WRITE writes no byte a call site could be
// writing; where the kernel lacks it, or refuses it once, call sites take
// their faults as before.
void
llmcost__pool_ahead(llmcost_client *c)
{
#ifdef MADV_POPULATE_WRITE
	uint32_t n = c->free.n;
	uint32_t used = llmcost__freelist_used(&c->free);

	if (used == 0 || c->pool_ahead_off) {
		return;
	}
	uint32_t ahead = used < c->wake_depth ? used : c->wake_depth;
	if (ahead < POOL_AHEAD_MIN) {
		ahead = POOL_AHEAD_MIN;
	}
	uint32_t want = n - used > ahead ? used + ahead : n;
	if (want <= c->pool_ready) {
		return;
	}
	// Call sites that outran the loop have touched [0, used) already.
	// The mapping ends on a page boundary past the last slot.
	uintptr_t page = c->page_size;
	uint32_t start = c->pool_ready > used ? c->pool_ready : used;
	uintptr_t from = (uintptr_t) &c->pool[start] & ~(page - 1);
	uintptr_t to = ((uintptr_t) &c->pool[want] + page - 1) & ~(page - 1);
	if (to - from > POOL_AHEAD_ROUND) {
		to = from + POOL_AHEAD_ROUND;
		want = (uint32_t) ((to - (uintptr_t) c->pool)
		    / sizeof(*c->pool));
	}
	if (madvise((void *) from, to - from, MADV_POPULATE_WRITE) != 0) {
		// An older kernel, a sandbox, or memory short (a cgroup at
		// its limit, which retrying every round would only press):
		// call sites take their faults as they would without it.
		c->pool_ahead_off = 1;
		llmcost__log(c, LLMCOST_LOG_DEBUG,
		    "populating the call pool's pages: %s; calls touch "
		    "them first from now on",
		    strerror(errno));
		return;
	}
	c->pool_ready = want;
#else
	(void) c;
#endif
}

// LLMCOST_F_PREFAULT: makes every page of the pool resident now, so that
// no call site takes a first-touch fault (llmcost.h, Memory).  Where the
// kernel cannot populate on request, one write per page does it; where
// it refuses (memory short), calls touch the pages as they go.
static void
pool_prefault(llmcost_client *c)
{
	uint32_t n = c->cfg.queue_max;
	uintptr_t page = c->page_size;
	char *from = (char *) c->pool;
	size_t len = (((uintptr_t) &c->pool[n] + page - 1) & ~(page - 1))
	    - (uintptr_t) from;
	int rv = -1;
#ifdef MADV_POPULATE_WRITE
	rv = madvise(from, len, MADV_POPULATE_WRITE);
#else
	errno = EINVAL;
#endif
	if (rv != 0 && errno == EINVAL) {
		for (size_t off = 0; off < len; off += page) {
			((volatile char *) from)[off] = 0;
		}
		rv = 0;
	}
	if (rv != 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "making the call pool resident (%zu KiB): %s; calls "
		    "touch its pages as they go",
		    len >> 10, strerror(errno));
		return;
	}
	c->pool_ready = n;
	llmcost__log(
	    c, LLMCOST_LOG_INFO, "call pool resident: %zu KiB", len >> 10);
}

// Whether the process runs under Valgrind, whose launcher preloads its
// vgpreload_* libraries into every program it runs.  Its memcheck would
// report the call site's fast paths (call.c), whose 16-byte loads may
// read past a string's NUL: the bytes there never reach a result, but
// memcheck follows them as undefined.  Under Valgrind every call takes
// the full paths, which read no byte past a NUL but the aligned block's
// (as the C library's own strlen, which memcheck accepts).
static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return (p != NULL && strstr(p, "/vgpreload_") != NULL);
}

static void
client_free(llmcost_client *c)
{
	llmcost__spool_close(c->spool);
	llmcost__lanes_fini(c);
	llmcost__freelist_fini(&c->free);
	llmcost__ring_fini(&c->submit_ring);
	if (c->pool_mem != NULL) {
		(void) munmap(c->pool_mem, c->pool_len);
	}
	free(c->texts);
	pthread_cond_destroy(&c->progress);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mtx);
	// The LangSmith API key does not outlive the client in memory.
	explicit_bzero(c->cfg.ls_key, sizeof(c->cfg.ls_key));
	free(c);
}

static int
sync_init(llmcost_client *c)
{
	if (pthread_mutex_init(&c->mtx, NULL) != 0) {
		return (LLMCOST_ESYSTEM);
	}
	if (llmcost__cond_init(&c->wake) != 0) {
		pthread_mutex_destroy(&c->mtx);
		return (LLMCOST_ESYSTEM);
	}
	if (llmcost__cond_init(&c->progress) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mtx);
		return (LLMCOST_ESYSTEM);
	}
	return (0);
}

int
llmcost_init(llmcost_client **clientp, const llmcost_options *opts)
{
	return (llmcost__client_init(clientp, opts, llmcost__exporters));
}

int
llmcost__client_init(llmcost_client **clientp, const llmcost_options *opts,
    const struct llmcost__exporter_ops *const *exporters)
{
	llmcost_client *c;
	int rv;

	if (clientp == NULL) {
		return (LLMCOST_EINVAL);
	}
	// On a page, so that the lines every call reads (shim.h) share one
	// page: a page walk is the dearest part of a call on cold caches
	// (pool_map).  The size is rounded up to the page, as aligned_alloc
	// wants a multiple of the alignment.
	size_t csize = (sizeof(*c) + 4095) & ~(size_t) 4095;
	if ((c = aligned_alloc(4096, csize)) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	memset(c, 0, sizeof(*c));
	if ((rv = sync_init(c)) != 0) {
		free(c);
		return (rv);
	}
	llmcost__config_load(&c->cfg, opts, c);
	// Beside the other fields call sites read (shim.h).
	c->disabled = (c->cfg.flags & LLMCOST_F_DISABLE) != 0;
	c->no_fast = c->disabled || under_valgrind();
	if (c->cfg.url_bad && !(c->cfg.flags & LLMCOST_F_DISABLE)) {
		// What is wrong was logged once; nothing more to say.
		client_free(c);
		return (LLMCOST_ECONFIG);
	}
	if (c->cfg.flags & LLMCOST_F_DISABLE) {
		llmcost__log(c, LLMCOST_LOG_INFO, "disabled: calls discarded");
		*clientp = c;
		return (0);
	}
	// Before anything is set up (the pool, a spool file).
	for (size_t i = 0; exporters[i] != NULL; i++) {
		if (exporters[i] == &llmcost__exporter_collector
		    && llmcost__nng_forked(c)) {
			client_free(c);
			return (LLMCOST_ESYSTEM);
		}
	}

	uint32_t n = c->cfg.queue_max;
	if (pool_map(c, n) != 0 || llmcost__freelist_init(&c->free, n) != 0
	    || llmcost__ring_init(&c->submit_ring, n) != 0) {
		client_free(c);
		return (LLMCOST_ENOMEM);
	}
	// Text storage: only address space until a call writes text.
	if (c->cfg.text_max > 0 && c->cfg.ls_on
	    && (c->texts = malloc((size_t) n * c->cfg.text_max)) == NULL) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "no memory for %u x %u bytes of text storage", n,
		    c->cfg.text_max);
		client_free(c);
		return (LLMCOST_ENOMEM);
	}
	// Nothing is written to the pool here unless asked: its pages stay
	// untouched until the loop populates them ahead of the calls
	// (pool_ahead).
	long page = sysconf(_SC_PAGESIZE);
	c->page_size = page > 0 ? (uint32_t) page : 4096u;
	if (c->cfg.flags & LLMCOST_F_PREFAULT) {
		pool_prefault(c);
	}
	c->wake_depth = c->cfg.batch_max < n / 2 ? c->cfg.batch_max : n / 2;
	// Look at the depth every few calls: a power of two up to a quarter
	// of the wake depth, at most 64.
	c->wake_mask = 0;
	while (c->wake_mask < 63 && (c->wake_mask + 1) * 8 <= c->wake_depth) {
		c->wake_mask = c->wake_mask * 2 + 1;
	}
	llmcost__lanes_init(c);
	llmcost__real_off_update(c);
	llmcost__tsc_init(&c->clock, llmcost__tsc_usable());

	if (llmcost__random_bytes(c->client_id, sizeof(c->client_id)) != 0
	    || llmcost__random_bytes(&c->seed, sizeof(c->seed)) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "the kernel's random source failed: no client id");
		client_free(c);
		return (LLMCOST_ESYSTEM);
	}
	c->client_id[6] = (uint8_t) ((c->client_id[6] & 0x0f) | 0x40); // v4
	c->client_id[8] = (uint8_t) ((c->client_id[8] & 0x3f) | 0x80);

	llmcost__spool_open(c);
	if ((rv = llmcost__sender_start(c, exporters)) != 0) {
		client_free(c);
		return (rv);
	}
	char id[LLMCOST__UUID_STR_LEN];
	llmcost__uuid_str(c->client_id, id);
	llmcost__log(c, LLMCOST_LOG_INFO,
	    "client %s: collector %s, queue %u, batch %u, flush %d ms", id,
	    c->cfg.url, c->cfg.queue_max, c->cfg.batch_max, c->cfg.flush_ms);
	*clientp = c;
	return (0);
}

int
llmcost_flush(llmcost_client *c, int32_t timeout_ms)
{
	if (c == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (c->cfg.flags & LLMCOST_F_DISABLE) {
		return (0);
	}
	// Every call ended so far sits in a queue (the shared ring or a
	// lane): flush asks the loop to note where each queue ends now and
	// to say which handed position covers them (sender.c), then waits
	// until every exporter has settled that far.  Settling every call
	// ended so far answers too.
	struct timespec dl = llmcost__deadline_ms(timeout_ms);
	int rv = 0;

	pthread_mutex_lock(&c->mtx);
	uint64_t ask = atomic_fetch_add(&c->flush_asked, 1) + 1;
	c->wake_flag = 1;
	pthread_cond_signal(&c->wake);
	llmcost__exporters_kick(c);
	for (;;) {
		uint64_t settled = llmcost__exporters_settled(c);
		if (settled >= llmcost__queue_pushed(c)
		    || (c->flush_seen >= ask && settled >= c->flush_pos)) {
			rv = 0;
			break;
		}
		if (timeout_ms == 0 || rv != 0) {
			rv = LLMCOST_ETIMEDOUT;
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&c->progress, &c->mtx);
		} else if (pthread_cond_timedwait(&c->progress, &c->mtx, &dl)
		    == ETIMEDOUT) {
			// One last look above.
			rv = LLMCOST_ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return (rv);
}

void
llmcost_shutdown(llmcost_client *c, int32_t timeout_ms)
{
	if (c == NULL) {
		return;
	}
	if (!(c->cfg.flags & LLMCOST_F_DISABLE)) {
		// What is left in the ring goes to LangSmith even when the
		// collector is away (exporter.h "Bounded queues").
		uint64_t half = timeout_ms > 0
		    ? (uint64_t) timeout_ms * 1000000ull / 2
		    : 0;
		c->drain_stall_ns = half > LLMCOST__DRAIN_STALL_NS
		    ? half
		    : LLMCOST__DRAIN_STALL_NS;
		atomic_store(&c->draining, 1);
		if (llmcost_flush(c, timeout_ms) != 0) {
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "shutdown: the destinations did not acknowledge "
			    "every call within %d ms",
			    timeout_ms);
		}
		atomic_store(&c->closing, 1);
		// Counters of stopped exporters stay readable until free.
		uint32_t n_ex = c->n_exporters;
		llmcost__sender_stop(c);
		// Whatever the loop did not take goes to the spool, or is
		// lost: count it.
		uint32_t idx;
		uint64_t lost = 0;
		if (c->spool != NULL) {
			lost = llmcost__spool_spill_ring(c);
		}
		while (llmcost__ring_pop(&c->submit_ring, &idx) == 0) {
			lost++;
		}
		uint32_t left[256];
		uint32_t k;
		while ((k = llmcost__lanes_take(c, left, 256)) > 0) {
			lost += k;
		}
		atomic_fetch_add(&c->dropped, lost);
		// Queued or in flight, every call a destination has not
		// stored or refused is gone: say how many, per destination.
		uint64_t ended = llmcost__queue_pushed(c);
		llmcost__spool_counters sp;
		llmcost__spool_counters_get(c->spool, &sp);
		if (sp.written > 0) {
			llmcost__log(c, LLMCOST_LOG_NOTICE,
			    "shutdown: the spool holds %llu bytes for the "
			    "next start",
			    (unsigned long long) sp.bytes);
		}
		for (uint32_t i = 0; i < n_ex; i++) {
			llmcost__exporter *ex = &c->exporters[i];
			uint64_t settled = atomic_load(&ex->stored)
			    + atomic_load(&ex->refused)
			    + (ex->ops->lossless ? sp.written : 0);
			if (ended > settled) {
				llmcost__log(c, LLMCOST_LOG_WARNING,
				    "shutdown: %llu calls were never "
				    "acknowledged by the %s and are lost",
				    (unsigned long long) (ended - settled),
				    ex->ops->name);
			}
		}
	}
	client_free(c);
}

int
llmcost_stats_get(llmcost_client *c, llmcost_stats *out)
{
	if (c == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	llmcost_stats s;
	memset(&s, 0, sizeof(s));
	s.calls_ended
	    = c->submit_ring.cells != NULL ? llmcost__queue_pushed(c) : 0;
	// The delivery counters are the collector's: llmcost_stats speaks
	// of the collector (calls it stored, refused, or is missing).
	s.calls_dropped = atomic_load(&c->dropped);
	const llmcost__exporter *col
	    = llmcost__exporter_find(c, &llmcost__exporter_collector);
	if (col != NULL) {
		s.calls_dropped += atomic_load(&col->lost);
		s.calls_acked = atomic_load(&col->stored);
		s.calls_rejected = atomic_load(&col->refused);
		s.batches_sent = atomic_load(&col->sent);
		s.batches_resent = atomic_load(&col->resent);
	}
	llmcost__exporter *ls
	    = llmcost__exporter_find(c, &llmcost__exporter_langsmith);
	if (ls != NULL) {
		llmcost__ls_counters n;
		llmcost__langsmith_counters(ls, &n);
		s.langsmith_runs_sent = n.runs_sent;
		s.langsmith_runs_acked = n.runs_acked;
		s.langsmith_requests_retried = n.requests_retried;
		s.langsmith_dropped_rejected = n.dropped_rejected;
		s.langsmith_dropped_auth = n.dropped_auth;
		s.langsmith_dropped_retries = n.dropped_retries;
		uint64_t lost = atomic_load(&ls->lost);
		uint64_t gave_up = n.dropped_auth + n.dropped_retries;
		s.langsmith_dropped_queue
		    = lost > gave_up ? lost - gave_up : 0;
	}
	llmcost__spool_counters sp;
	llmcost__spool_counters_get(c->spool, &sp);
	s.spool_calls_written = sp.written;
	s.spool_calls_replayed = sp.replayed;
	s.spool_calls_dropped = sp.dropped;
	s.spool_corrupt = sp.corrupt;
	s.spool_bytes = sp.bytes;
	s.text_dropped = atomic_load(&c->text_dropped);
	s.attr_errors = atomic_load(&c->attr_errors);
	s.scopes_ended = atomic_load(&c->scopes_ended);
	s.sockets_abandoned = atomic_load(&llmcost__sockets_abandoned);
	s.budget_refused = atomic_load(&c->budget_refused);
	if (c->submit_ring.cells != NULL) {
		s.queue_depth = llmcost__queue_depth(c);
	}
	*out = s;
	return (0);
}
