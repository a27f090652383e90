// DESIGN: the batch loop, one thread per client ("llmcost-send").  While some
// exporter has room (exporter.h) it drains the submit ring into
// exporter-neutral batches of up to batch_max calls (batch.c) and hands each
// to the exporters, which deliver on their own threads.  When the queues are
// empty, or hold fewer calls than make a good message right after a take, it
// sleeps until a time sized from the arrival rate passes (at most flush_ms:
// pace_sleep_ns), a call site sees a queue pass its high mark, or
// llmcost_flush asks.  The queues are the shared ring and the per-thread
// lanes (lane.h); the loop also recycles the lanes of exited threads,
// answers flushes with a barrier over all of them (barrier_step), and when
// idle has the pool's next pages made resident ahead of the call sites
// (llmcost__pool_ahead).  While every exporter is busy it waits for room
// instead, with the sleeping flag down, so that call sites have no reason to
// wake it (a wake costs the call site a lock and a system call).  It owns
// what is common to every destination: the wake-up handshake with call
// sites, the position up to which calls have been handed over (for flush),
// and drop accounting.  Drops are reported, never hidden: when the drop count
// has moved and no call is waiting, the loop hands over an empty batch, so
// that the collector learns the count anyway (it rides on every
// batch).  While a lossless exporter (the collector) has no room the loop
// waits, so a slow collector keeps the whole ring as its buffer; once the
// ring reaches its high-water mark the loop takes the oldest calls for the
// lossy exporters alone and the collector counts them as dropped (exporter.h
// "Bounded queues"): a dead collector does not starve LangSmith.  A pool that
// runs out anyway (every exporter busy) is the loop's back-pressure: call
// sites drop and count, and the loop logs the count at most every ten
// seconds.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "shim.h"
#include "spool.h"

#define DROP_LOG_INTERVAL_NS (10ull * 1000000000ull)

// Waits for work: until a flush asks, the queue holds a batch, or
// timeout_ns passes.  When idle (no call waits), the pool's next pages
// are made resident first (llmcost__pool_ahead), in time the loop would
// sleep anyway.  Only then: populating while calls arrive fast, at the
// top of each round or before its paced sleeps, made a client starting
// at 1 M calls/s drop calls in its first tenth of a second in 11 runs
// of 24 (bench_ingest -t 1), against 1 of 24 without it: the loop and
// the call sites' own page faults wait on each other.
static void
sleep_for_work(llmcost_client *c, uint64_t timeout_ns, int idle)
{
	uint64_t at = llmcost__mono_ns() + timeout_ns;
	struct timespec ts = { .tv_sec = (time_t) (at / 1000000000u),
		.tv_nsec = (long) (at % 1000000000u) };

	if (idle) {
		llmcost__pool_ahead(c);
	}

	pthread_mutex_lock(&c->mtx);
	// Announce the sleep before the last look at the queue: a call site
	// that fills the queue after this look sees the flag and signals,
	// and its signal waits for the mutex, which the wait releases.
	atomic_store(&c->sleeping, 1);
	while (!atomic_load(&c->closing) && !c->wake_flag
	    && llmcost__queue_depth(c) < c->wake_depth) {
		if (pthread_cond_timedwait(&c->wake, &c->mtx, &ts)
		    == ETIMEDOUT) {
			break;
		}
	}
	atomic_store(&c->sleeping, 0);
	c->wake_flag = 0;
	pthread_mutex_unlock(&c->mtx);
}

// Waits up to timeout_ms for an exporter with room.  Returns 1 when one
// has room, 2 when the ring reached its high-water mark instead (*take:
// calls to take for the lossy exporters, exporter.h "Bounded queues"), 0
// after the timeout, -1 when the client is closing.
static int
wait_for_room(llmcost_client *c, int32_t timeout_ms, uint32_t *take)
{
	struct timespec ts = llmcost__deadline_ms(timeout_ms);
	int lossy = 0;
	int rv;

	for (uint32_t i = 0; i < c->n_exporters; i++) {
		lossy |= !c->exporters[i].ops->lossless;
	}
	pthread_mutex_lock(&c->mtx);
	for (;;) {
		if (atomic_load(&c->closing)) {
			rv = -1;
			break;
		}
		if (llmcost__exporters_room(c)) {
			rv = 1;
			break;
		}
		if (llmcost__exporters_overflow(c, take)) {
			rv = 2;
			break;
		}
		// Half way to the mark, call sites wake the loop (the
		// sleeping flag), so that it takes the oldest calls before
		// the pool runs out rather than a flush_ms later; only a
		// lossy exporter can take them (a wake costs the call site a
		// system call, and a slow collector alone would cost one per
		// batch for nothing).
		if (lossy && llmcost__queue_depth(c) >= c->cfg.queue_max / 2) {
			atomic_store(&c->sleeping, 1);
		}
		if (pthread_cond_timedwait(&c->wake, &c->mtx, &ts)
		    == ETIMEDOUT) {
			rv = 0;
			break;
		}
	}
	atomic_store(&c->sleeping, 0);
	pthread_mutex_unlock(&c->mtx);
	return (rv);
}

// Calls dropped so far, by the client and by its exporters.
static uint64_t
drops(llmcost_client *c)
{
	return (atomic_load(&c->dropped) + llmcost__exporters_lost(c));
}

// Logs new drops at most every DROP_LOG_INTERVAL_NS.
static void
log_drops(llmcost_client *c, uint64_t d)
{
	uint64_t now = llmcost__mono_ns();
	if (d > c->drops_logged
	    && (c->drops_logged_ns == 0
	        || now - c->drops_logged_ns >= DROP_LOG_INTERVAL_NS)) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "%llu calls dropped so far (queue full: is llmcostd "
		    "running at %s?)",
		    (unsigned long long) d, c->cfg.url);
		c->drops_logged = d;
		c->drops_logged_ns = now;
	}
}

// Takes one batch of up to max calls from the ring and hands it over to
// the exporters which selects (LLMCOST__HAND_*).  Returns 0, or -1 when
// there was nothing to hand over (a producer has claimed a position but
// not yet filled it).
static int
take_and_hand(llmcost_client *c, int report_drops, uint32_t max, int which)
{
	llmcost__batch *b = NULL;
	uint32_t n;
	int rv = llmcost__batch_take(c, max, &b, &n);
	uint64_t first = c->taken;

	if (rv == 0 && n == 0 && !report_drops) {
		llmcost__batch_free(b);
		return (-1);
	}
	c->taken += n;
	pthread_mutex_lock(&c->mtx);
	if (rv != 0) {
		// The calls were released; count them.  The next round
		// reports the new drop count.
		atomic_fetch_add(&c->dropped, n);
		c->handed = c->taken;
		pthread_cond_broadcast(&c->progress);
	} else {
		b->first = first;
		b->dropped = atomic_load(&c->dropped);
		llmcost__exporters_hand_to(c, b, which);
	}
	pthread_mutex_unlock(&c->mtx);
	return (0);
}

// Waits on the wake condition for at most timeout_ms.
static void
pause_ms(llmcost_client *c, int32_t timeout_ms)
{
	struct timespec ts = llmcost__deadline_ms(timeout_ms);

	pthread_mutex_lock(&c->mtx);
	if (!atomic_load(&c->closing)) {
		(void) pthread_cond_timedwait(&c->wake, &c->mtx, &ts);
	}
	pthread_mutex_unlock(&c->mtx);
}

// llmcost_flush's barrier (shim.h): at a new request, note where every
// queue ends; once the loop has taken past all of them, every call ended
// before the request is at a handed position below c->taken.  Runs at
// the top of each round, when c->taken counts every call popped.
static void
barrier_step(llmcost_client *c)
{
	uint64_t asked = atomic_load(&c->flush_asked);
	if (asked != c->barrier_gen) {
		c->barrier_gen = asked;
		c->barrier_on = 1;
		c->barrier[0] = llmcost__ring_pushed(&c->submit_ring);
		for (uint32_t i = 0;
		     c->lanes != NULL && i < LLMCOST__LANES_MAX; i++) {
			c->barrier[1 + i] = atomic_load_explicit(
			    &c->lanes[i].head, memory_order_acquire);
		}
	}
	if (!c->barrier_on) {
		return;
	}
	if (atomic_load_explicit(&c->submit_ring.tail, memory_order_acquire)
	    < c->barrier[0]) {
		return;
	}
	for (uint32_t i = 0; c->lanes != NULL && i < LLMCOST__LANES_MAX; i++) {
		if (atomic_load_explicit(
		        &c->lanes[i].tail, memory_order_relaxed)
		    < c->barrier[1 + i]) {
			return;
		}
	}
	c->barrier_on = 0;
	pthread_mutex_lock(&c->mtx);
	c->flush_pos = c->taken;
	c->flush_seen = c->barrier_gen;
	pthread_cond_broadcast(&c->progress);
	pthread_mutex_unlock(&c->mtx);
}

// How long the loop sleeps.  Calls arriving at a steady rate must not
// need a wake-up (a lock and a system call on the calling thread): the
// loop sleeps until PACE_CALLS (three quarters of the wake depth) wait,
// at the rate seen since it last slept, so it drains the queues before
// a call site would find one past its high mark.  It sleeps when the
// queues are empty, and also right after a round that took calls when
// fewer than PACE_CALLS wait (no flush pending, no drop count to
// report): the calls that arrived while it took the last batch wait for
// the next one instead of going out alone.  Each message costs the two
// processes about 30 context switches and a commit's share, about
// 0.2 ms of CPU in all on a 2-vCPU guest, whatever it carries, so larger
// messages cost less per call; the calls' slots wait longer, though,
// and the call sites cycle through more of them.  bench_ingest at
// 1 M calls/s, batch_max 2048: taking whatever waited after each batch,
// a small batch followed each large one (a fifth of them under 64
// calls), 900 calls a message, about 820 ns of CPU a call in all;
// sleeping after a take until PACE_CALLS wait, 1650 calls a message and
// about 710 ns (the daemon's 500 -> 400, the call sites' 74 -> 94).
// Sleeping for PACE_CALLS more calls after a take made 1840-call
// messages but could reach a lane's high mark; the whole depth gave
// 1990 calls and no less CPU.  Idle, it sleeps flush_ms.
#define PACE_CALLS(c) ((c)->wake_depth * 3 / 4)

typedef struct pace {
	uint64_t pos;    // calls ended when the loop last went to sleep
	uint64_t ns;     // and when
	uint64_t gap_ns; // smoothed time between calls; 0: idle
} pace;

// The shortest timed sleep: below this the timer's slack dominates.
#define PACE_MIN_NS 50000u

static uint64_t
pace_sleep_ns(llmcost_client *c, pace *p, uint64_t calls)
{
	uint64_t now = llmcost__mono_ns();
	uint64_t pos = llmcost__queue_pushed(c);
	uint64_t flush_ns = (uint64_t) c->cfg.flush_ms * 1000000u;

	if (p->ns != 0 && pos > p->pos) {
		uint64_t gap = (now - p->ns) / (pos - p->pos);
		p->gap_ns = p->gap_ns == 0 ? gap : (3 * p->gap_ns + gap) / 4;
	} else {
		p->gap_ns = 0;
	}
	p->pos = pos;
	p->ns = now;
	if (p->gap_ns == 0) {
		return (flush_ns);
	}
	uint64_t t = p->gap_ns * (calls + 1);
	if (t < PACE_MIN_NS) {
		t = PACE_MIN_NS;
	}
	return (t < flush_ns ? t : flush_ns);
}

static void *
sender_main(void *arg)
{
	llmcost_client *c = arg;
	uint64_t drops_reported = 0;
	pace pc = { 0, 0, 0 };
	int took = 0; // the last round took calls, and the loop has not slept
	int rv;

	if ((rv = pthread_setname_np(pthread_self(), "llmcost-send")) != 0) {
		llmcost__log(c, LLMCOST_LOG_DEBUG,
		    "naming thread llmcost-send: %s", strerror(rv));
	}
	for (;;) {
		uint64_t dropped = drops(c);
		log_drops(c, dropped);
		// What the next batch reports: the drops and the lossy
		// exporters' losses (a batch's exporter_lost); a change in
		// either is sent, in an empty batch if need be.
		uint64_t report = dropped + llmcost__exporters_lossy_lost(c);
		barrier_step(c);
		llmcost__lanes_tend(c);
		llmcost__real_off_update(c);
		if (llmcost__tsc_update(&c->clock) != 0) {
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "the CPU's time-stamp counter strayed from "
			    "CLOCK_MONOTONIC: calls are timed with "
			    "CLOCK_MONOTONIC from now on");
		}
		// With a spool, it decides while the collector is away or
		// the file holds calls (spool.c).
		if (c->spool != NULL) {
			int sp = llmcost__spool_step(c);
			if (sp < 0) {
				break;
			}
			if (sp > 0) {
				took = 0;
				continue;
			}
		}
		// Room first: while every exporter is busy the loop waits
		// here, not in sleep_for_work, so call sites have no reason
		// to wake it; it looks again every flush_ms to log drops.
		uint32_t take = 0;
		int room = wait_for_room(c, c->cfg.flush_ms, &take);
		if (room < 0) {
			break;
		}
		if (room == 0) {
			took = 0; // the calls have waited flush_ms already
			continue;
		}
		if (room == 2) {
			if (take_and_hand(c, 0, take, LLMCOST__HAND_OVERFLOW)
			    != 0) {
				pause_ms(c, 1);
			}
			continue;
		}
		// Sleep when nothing waits, or when the last round took calls
		// and fewer than PACE_CALLS wait (no flush pending, no drop
		// count to report): until PACE_CALLS wait, at the rate seen.
		uint64_t depth = llmcost__queue_depth(c);
		if (report == drops_reported
		    && (depth == 0
		        || (took && depth < PACE_CALLS(c)
		            && !c->barrier_on))) {
			sleep_for_work(c,
			    pace_sleep_ns(c, &pc, PACE_CALLS(c) - depth),
			    depth == 0);
			took = 0;
			if (atomic_load(&c->closing)) {
				break;
			}
			continue;
		}
		if (take_and_hand(c, report != drops_reported,
		        c->cfg.batch_max, LLMCOST__HAND_ALL)
		    != 0) {
			pause_ms(c, 1);
			continue;
		}
		took = 1;
		drops_reported = report;
	}
	return (NULL);
}

int
llmcost__sender_start(
    llmcost_client *c, const struct llmcost__exporter_ops *const *exporters)
{
	int rv;
	sigset_t all, old;

	// No thread of ours, nor the ones nng starts when the first socket
	// opens, may take the host's signals: start everything with every
	// signal blocked; threads inherit the mask.
	sigfillset(&all);
	if ((rv = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "pthread_sigmask: %s", strerror(rv));
		return (LLMCOST_ESYSTEM);
	}
	rv = llmcost__exporters_start(c, exporters);
	if (rv == 0 && c->n_exporters == 0) {
		llmcost__log(c, LLMCOST_LOG_ERR, "no destination configured");
		rv = LLMCOST_ECONFIG;
	}
	if (rv == 0 && pthread_create(&c->thread, NULL, sender_main, c) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR, "cannot start a thread");
		llmcost__exporters_stop(c);
		rv = LLMCOST_ESYSTEM;
	}
	if (rv == 0) {
		c->thread_started = 1;
	}
	int rv2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv2 != 0) {
		// Cannot happen with a mask pthread_sigmask gave us; if it
		// did, the host thread would be left deaf to signals.
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "restoring the signal mask: %s", strerror(rv2));
	}
	return (rv);
}

// Called by call sites once the queue holds a batch.  Only the one call
// site that finds the sender asleep takes the mutex, once per batch.
void
llmcost__sender_wake(llmcost_client *c)
{
	if (atomic_load_explicit(&c->sleeping, memory_order_relaxed)
	    && atomic_exchange(&c->sleeping, 0)) {
		pthread_mutex_lock(&c->mtx);
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->mtx);
	}
}

void
llmcost__sender_stop(llmcost_client *c)
{
	if (c->thread_started) {
		pthread_mutex_lock(&c->mtx);
		pthread_cond_broadcast(&c->wake);
		pthread_mutex_unlock(&c->mtx);
		pthread_join(c->thread, NULL);
		c->thread_started = 0;
	}
	// Then the exporters: nothing hands them batches any more.
	llmcost__exporters_stop(c);
}
