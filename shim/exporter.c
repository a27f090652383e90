// DESIGN: the host side of the delivery seam (exporter.h): one thread and
// one bounded FIFO of batches per exporter, the registry of exporters,
// and the bookkeeping that lets llmcost_flush wait for every destination.
// An exporter only writes its ops; threads, queues, counters, stop and
// the flush wake-up live here once.  The queues are guarded by the
// client's mutex, which is held only to move a batch pointer, never
// across I/O: a destination blocked in a send or an HTTP request holds
// no lock anyone else needs.  A batch is shared by the exporters that
// took it and freed by the last one to settle it.  The hazard this file
// guards against is a flush that returns early: an exporter settles its
// batches in order, so the settled position is a minimum over the
// exporters' oldest held batches (a sum of settled calls would let a
// fast destination's later batches stand in for a slow one's earlier
// ones).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "spool.h"

// The destinations, in order.  A new exporter is a file with its ops and
// one line here.
const struct llmcost__exporter_ops *const llmcost__exporters[] = {
	&llmcost__exporter_collector,
	&llmcost__exporter_langsmith,
	NULL,
};

int
llmcost__exporter_stopping(llmcost__exporter *ex)
{
	return (atomic_load(&ex->stopping));
}

int
llmcost__exporter_sleep(llmcost__exporter *ex, uint32_t ms)
{
	llmcost_client *c = ex->client;
	struct timespec dl = llmcost__deadline_ms((int32_t) ms);

	pthread_mutex_lock(&c->mtx);
	// A flush that came before this wait is not carried over: it asked
	// for the attempt that is now over.
	ex->kick = 0;
	while (!atomic_load(&ex->stopping) && !ex->kick) {
		if (pthread_cond_timedwait(&ex->cv, &c->mtx, &dl)
		    == ETIMEDOUT) {
			break;
		}
	}
	ex->kick = 0;
	pthread_mutex_unlock(&c->mtx);
	return (atomic_load(&ex->stopping));
}

const llmcost__batch *
llmcost__exporter_held(llmcost__exporter *ex, uint32_t i)
{
	if (i >= ex->count) {
		return (NULL);
	}
	return (ex->queue[(ex->head + i) % LLMCOST__EXPORTER_QUEUE_MAX]);
}

// Adds a settled batch's outcome to the counters.  An outcome that does
// not add up to the batch (an exporter bug) counts the rest as lost, so
// that the counters still account for every call.  kept: calls the
// spool holds for a later delivery, which are not lost.
static void
count_outcome(llmcost__exporter *ex, const llmcost__batch *b,
    const llmcost__outcome *out, uint32_t kept)
{
	uint64_t stored = out->stored, refused = out->refused;
	if (stored + refused > b->n) {
		stored = stored < b->n ? stored : b->n;
		refused = b->n - stored;
	}
	uint64_t lost = b->n - stored - refused;
	atomic_fetch_add(&ex->stored, stored);
	atomic_fetch_add(&ex->refused, refused);
	atomic_fetch_add(&ex->lost, lost > kept ? lost - kept : 0);
}

// A lossless exporter's batch settled (or given up on): the spool, when
// there is one, acknowledges or keeps it (spool.h).  Returns the calls
// it keeps.
static uint32_t
spool_settled(llmcost__exporter *ex, const llmcost__batch *b,
    const llmcost__outcome *out)
{
	if (!ex->ops->lossless || ex->client->spool == NULL) {
		return (0);
	}
	return (llmcost__spool_settled(
	    ex->client, b, out, llmcost__exporter_stopping(ex)));
}

// Drops one exporter's hold on b; the last one frees it.  c->mtx held.
static void
batch_unhold(llmcost__batch *b)
{
	if (--b->refs == 0) {
		llmcost__batch_free(b);
	}
}

// ops->idle is due: idle_ms since it last ran.
static int
idle_due(const llmcost__exporter *ex)
{
	return (llmcost__mono_ns() - ex->idle_last
	    >= (uint64_t) ex->idle_ms * 1000000u);
}

static void
run_idle(llmcost__exporter *ex)
{
	ex->idle_last = llmcost__mono_ns();
	ex->ops->idle(ex);
}

// A view of held[0..k) as one batch, for a coalescing exporter: the
// records (shallow copies: their strings stay in the held batches),
// kinds and texts side by side, in ex->merge_mem, which is kept from
// delivery to delivery (it grows to at most LLMCOST_PROTO_MAX_RECORDS
// calls' worth and is freed when the exporter stops).  NULL when there
// is no memory (then the batches go one by one).
static llmcost__batch *
merge(llmcost__exporter *ex, llmcost__batch *const *held, uint32_t k)
{
	size_t n = 0, str = 0;
	int texts = 0;
	for (uint32_t i = 0; i < k; i++) {
		n += held[i]->n;
		str += held[i]->str_bytes;
		texts |= held[i]->texts != NULL;
	}
	size_t sz = sizeof(llmcost__batch) + n * sizeof(llmcost_proto_record)
	    + (texts ? n * sizeof(llmcost_proto_str) : 0) + n;
	if (sz > ex->merge_cap) {
		// Aligned for the records, and no copy of the old contents.
		free(ex->merge_mem);
		ex->merge_cap = 0;
		if ((ex->merge_mem = malloc(sz)) == NULL) {
			return (NULL);
		}
		ex->merge_cap = sz;
	}
	char *mem = ex->merge_mem;
	llmcost__batch *m = (llmcost__batch *) (void *) mem;
	llmcost_proto_record *rec = (llmcost_proto_record *) (void *) (m + 1);
	llmcost_proto_str *tx
	    = texts ? (llmcost_proto_str *) (void *) (rec + n) : NULL;
	uint8_t *kinds = texts ? (uint8_t *) (tx + n) : (uint8_t *) (rec + n);
	memset(m, 0, sizeof(*m));
	size_t at = 0;
	for (uint32_t i = 0; i < k; i++) {
		const llmcost__batch *b = held[i];
		memcpy(rec + at, b->records, b->n * sizeof(*rec));
		memcpy(kinds + at, b->kinds, b->n);
		for (uint32_t j = 0; tx != NULL && j < b->n; j++) {
			tx[at + j] = b->texts != NULL
			    ? b->texts[j]
			    : (llmcost_proto_str) { NULL, 0 };
		}
		at += b->n;
	}
	m->first = held[0]->first;
	m->dropped = held[k - 1]->dropped;
	m->n = (uint32_t) n;
	m->str_bytes = str;
	m->records = rec;
	m->kinds = kinds;
	m->texts = tx;
	return (m);
}

static void *
exporter_main(void *arg)
{
	llmcost__exporter *ex = arg;
	llmcost_client *c = ex->client;
	char name[16]; // the kernel's limit, NUL included
	int rv;

	snprintf(name, sizeof(name), "llmcost-%s", ex->ops->name);
	if ((rv = pthread_setname_np(pthread_self(), name)) != 0) {
		llmcost__log(c, LLMCOST_LOG_DEBUG, "naming thread %s: %s",
		    name, strerror(rv));
	}
	pthread_mutex_lock(&c->mtx);
	for (;;) {
		while (ex->count == 0 && !atomic_load(&ex->stopping)) {
			if (ex->ops->idle == NULL || ex->idle_ms == 0) {
				pthread_cond_wait(&ex->cv, &c->mtx);
				atomic_fetch_add(&ex->wakes, 1);
				continue;
			}
			if (idle_due(ex)) {
				pthread_mutex_unlock(&c->mtx);
				run_idle(ex);
				pthread_mutex_lock(&c->mtx);
				continue;
			}
			struct timespec dl
			    = llmcost__deadline_ms((int32_t) ex->idle_ms);
			(void) pthread_cond_timedwait(&ex->cv, &c->mtx, &dl);
			atomic_fetch_add(&ex->wakes, 1);
		}
		if (ex->ops->linger_ms > 0
		    && ex->calls_held < ex->ops->linger_calls) {
			struct timespec dl = llmcost__deadline_ms(
			    (int32_t) ex->ops->linger_ms);
			while (!atomic_load(&ex->stopping) && !ex->kick
			    && ex->calls_held < ex->ops->linger_calls
			    && ex->count < ex->queue_max
			    && pthread_cond_timedwait(&ex->cv, &c->mtx, &dl)
			        != ETIMEDOUT) {
				atomic_fetch_add(&ex->wakes, 1);
			}
			ex->kick = 0;
		}
		if (atomic_load(&ex->stopping)) {
			break;
		}
		llmcost__batch *held[LLMCOST__EXPORTER_QUEUE_MAX];
		uint32_t k = 1;
		size_t calls = ex->queue[ex->head]->n;
		held[0] = ex->queue[ex->head];
		while (ex->ops->coalesce && k < ex->count) {
			llmcost__batch *nb = ex->queue[(ex->head + k)
			    % LLMCOST__EXPORTER_QUEUE_MAX];
			if (calls + nb->n > LLMCOST_PROTO_MAX_RECORDS) {
				break;
			}
			calls += nb->n;
			held[k++] = nb;
		}
		pthread_mutex_unlock(&c->mtx);

		llmcost__batch *merged = k > 1 ? merge(ex, held, k) : NULL;
		llmcost__batch *b = merged != NULL ? merged : held[0];
		k = merged != NULL ? k : 1;
		llmcost__outcome out;
		memset(&out, 0, sizeof(out));
		(void) ex->ops->deliver(ex, b, &out);
		count_outcome(ex, b, &out, spool_settled(ex, b, &out));
		if (ex->ops->idle != NULL && ex->idle_ms != 0
		    && idle_due(ex)) {
			run_idle(ex);
		}

		pthread_mutex_lock(&c->mtx);
		int had_room = llmcost__exporters_room(c);
		for (uint32_t i = 0; i < k; i++) {
			ex->head
			    = (ex->head + 1) % LLMCOST__EXPORTER_QUEUE_MAX;
			ex->count--;
			ex->calls_held -= held[i]->n;
			ex->bytes_held -= held[i]->bytes;
			batch_unhold(held[i]);
		}
		ex->head_ns = llmcost__mono_ns();
		// Room for the loop, when it had none (otherwise the loop is
		// not waiting for room, and a signal would only cut its sleep
		// short: a thread switch per batch), or a frame settled that
		// the spool's turn waits for; and progress for flushers.
		if (!had_room || c->spool != NULL) {
			pthread_cond_signal(&c->wake);
		}
		pthread_cond_broadcast(&c->progress);
	}
	pthread_mutex_unlock(&c->mtx);
	return (NULL);
}

// Stops and releases one exporter whose ops->start succeeded, whether its
// thread runs or not.  The batch loop must have ended: nothing hands it
// batches any more.
static void
exporter_stop(llmcost_client *c, llmcost__exporter *ex)
{
	atomic_store(&ex->stopping, 1);
	pthread_mutex_lock(&c->mtx);
	pthread_cond_broadcast(&ex->cv);
	pthread_mutex_unlock(&c->mtx);
	if (ex->ops->stop != NULL) {
		ex->ops->stop(ex);
	}
	if (ex->thread_started) {
		pthread_join(ex->thread, NULL);
		ex->thread_started = 0;
	}
	// Whatever it still holds will never be delivered.  The spool
	// takes it without c->mtx, as on the exporter's thread: writing
	// (and logging a full spool) takes that mutex.  Nothing else moves
	// this queue now, and the batch stays held meanwhile.
	pthread_mutex_lock(&c->mtx);
	while (ex->count > 0) {
		llmcost__batch *b = ex->queue[ex->head];
		llmcost__outcome out = { 0, 0, b->n };
		pthread_mutex_unlock(&c->mtx);
		uint32_t kept = spool_settled(ex, b, &out);
		pthread_mutex_lock(&c->mtx);
		count_outcome(ex, b, &out, kept);
		ex->head = (ex->head + 1) % LLMCOST__EXPORTER_QUEUE_MAX;
		ex->count--;
		ex->calls_held -= b->n;
		ex->bytes_held -= b->bytes;
		batch_unhold(b);
	}
	pthread_cond_broadcast(&c->progress);
	pthread_mutex_unlock(&c->mtx);
	ex->ops->fini(ex);
	free(ex->merge_mem);
	ex->merge_mem = NULL;
	ex->merge_cap = 0;
	if (ex->cv_ready) {
		pthread_cond_destroy(&ex->cv);
		ex->cv_ready = 0;
	}
}

int
llmcost__exporters_start(
    llmcost_client *c, const struct llmcost__exporter_ops *const *ops)
{
	int rv = 0;

	c->n_exporters = 0;
	for (size_t i = 0; ops[i] != NULL; i++) {
		if (c->n_exporters == LLMCOST__EXPORTERS_MAX) {
			rv = LLMCOST_EINVAL;
			break;
		}
		llmcost__exporter *ex = &c->exporters[c->n_exporters];
		memset(ex, 0, sizeof(*ex));
		ex->ops = ops[i];
		ex->client = c;
		ex->queue_max = 1;
		if ((rv = llmcost__cond_init(&ex->cv)) != 0) {
			break;
		}
		ex->cv_ready = 1;
		if ((rv = ex->ops->start(ex)) != 0) {
			pthread_cond_destroy(&ex->cv);
			ex->cv_ready = 0;
			if (rv == LLMCOST_EDISABLED) {
				rv = 0;
				continue;
			}
			break;
		}
		if (!ex->ops->lossless) {
			ex->bytes_max = 0; // lossless exporters only
			ex->queue_base = 0;
		}
		if (ex->queue_max < 1
		    || ex->queue_max > LLMCOST__EXPORTER_QUEUE_MAX) {
			ex->queue_max = ex->queue_max < 1
			    ? 1
			    : LLMCOST__EXPORTER_QUEUE_MAX;
		}
		c->n_exporters++;
	}
	for (uint32_t i = 0; rv == 0 && i < c->n_exporters; i++) {
		llmcost__exporter *ex = &c->exporters[i];
		if (pthread_create(&ex->thread, NULL, exporter_main, ex)
		    != 0) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "cannot start the %s exporter's thread",
			    ex->ops->name);
			rv = LLMCOST_ESYSTEM;
			break;
		}
		ex->thread_started = 1;
	}
	if (rv != 0) {
		llmcost__exporters_stop(c);
	}
	return (rv);
}

void
llmcost__exporters_stop(llmcost_client *c)
{
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		exporter_stop(c, &c->exporters[i]);
	}
	c->n_exporters = 0;
}

// With c->mtx held: ex could take a batch now.
static int
has_room(llmcost__exporter *ex)
{
	return (ex->count < ex->queue_max
	    && (ex->calls_max == 0 || ex->calls_held < ex->calls_max)
	    && (ex->bytes_max == 0 || ex->bytes_held < ex->bytes_max)
	    && !atomic_load(&ex->stopping));
}

static uint64_t lossy_fit(llmcost__exporter *ex);

int
llmcost__exporters_room(llmcost_client *c)
{
	int any = 0, lossless = 0, deep = 0, lossy_short = 0;
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		llmcost__exporter *ex = &c->exporters[i];
		int room = has_room(ex);
		if (ex->ops->lossless) {
			if (!room) {
				return (0);
			}
			lossless = 1;
			deep |= ex->queue_base != 0
			    && ex->count >= ex->queue_base;
		} else if (lossy_fit(ex) < c->cfg.batch_max) {
			lossy_short = 1;
		}
		any |= room;
	}
	// Past its base, a lossless exporter's hold must not outrun a lossy
	// exporter (exporter.h "Bounded queues").
	if (deep && lossy_short) {
		return (0);
	}
	return (lossless || any);
}

// With c->mtx held: how many calls lossy exporter ex could take in one
// batch now without missing it (llmcost__exporters_hand_to's test).
static uint64_t
lossy_fit(llmcost__exporter *ex)
{
	// A lossy exporter that stopped takes nothing; one whose queue is
	// full misses the batch.
	if (ex->count >= ex->queue_max || atomic_load(&ex->stopping)) {
		return (0);
	}
	if (ex->calls_max == 0 || ex->calls_held == 0) {
		return (UINT64_MAX);
	}
	return (ex->calls_held < ex->calls_max ? ex->calls_max - ex->calls_held
	                                       : 0);
}

int
llmcost__exporters_overflow(llmcost_client *c, uint32_t *take)
{
	uint32_t mark = c->cfg.queue_max - c->cfg.queue_max / 8;
	uint32_t depth = (uint32_t) llmcost__queue_depth(c);
	uint64_t fit = 0;
	int stalled = 0;
	int draining = atomic_load(&c->draining);
	uint64_t now = llmcost__mono_ns();

	for (uint32_t i = 0; i < c->n_exporters; i++) {
		llmcost__exporter *ex = &c->exporters[i];
		if (!ex->ops->lossless) {
			uint64_t f = lossy_fit(ex);
			fit = f > fit ? f : fit;
		} else if (draining && ex->count > 0
		    && now - ex->head_ns >= c->drain_stall_ns) {
			stalled = 1;
		}
	}
	uint64_t n;
	if (depth >= mark) {
		// Back to three quarters: the lossless exporters keep the
		// rest, and the loop is not woken once per call.
		n = depth - (mark - c->cfg.queue_max / 8);
	} else if (stalled) {
		n = depth;
	} else {
		return (0);
	}
	// No more than a lossy exporter takes whole: the calls taken are
	// lost for the lossless ones, and must not be for every one.
	n = n < fit ? n : fit;
	n = n < c->cfg.batch_max ? n : c->cfg.batch_max;
	*take = (uint32_t) n;
	return (n > 0);
}

// With c->mtx held, after a batch was queued on ex: whether its thread
// must be woken.  A lingering exporter sleeps until linger_calls calls
// or queue_max batches wait (or its linger time is over), so waking it
// for each smaller batch would only let it check and sleep again: a
// thread switch per batch, which the loop cuts small when the collector
// is fast.  The first batch wakes it (it starts the linger clock, or
// delivers at once).
static int
wake_needed(const llmcost__exporter *ex)
{
	return (ex->ops->linger_ms == 0 || ex->count == 1
	    || ex->calls_held >= ex->ops->linger_calls
	    || ex->count >= ex->queue_max);
}

void
llmcost__exporters_hand_to(llmcost_client *c, llmcost__batch *b, int which)
{
	b->refs = 0;
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		llmcost__exporter *ex = &c->exporters[i];
		if ((which == LLMCOST__HAND_LOSSY && ex->ops->lossless)
		    || (which == LLMCOST__HAND_LOSSLESS
		        && !ex->ops->lossless)) {
			continue;
		}
		if (which == LLMCOST__HAND_OVERFLOW && ex->ops->lossless) {
			atomic_fetch_add(&ex->lost, b->n);
			continue;
		}
		if (ex->count >= ex->queue_max || atomic_load(&ex->stopping)
		    || (ex->calls_max != 0 && ex->calls_held > 0
		        && ex->calls_held + b->n > ex->calls_max)) {
			atomic_fetch_add(&ex->lost, b->n);
			continue;
		}
		uint32_t tail
		    = (ex->head + ex->count) % LLMCOST__EXPORTER_QUEUE_MAX;
		ex->queue[tail] = b;
		if (ex->count++ == 0) {
			ex->head_ns = llmcost__mono_ns();
		}
		ex->calls_held += b->n;
		ex->bytes_held += b->bytes;
		b->refs++;
		if (ex->calls_held > ex->calls_held_max) {
			ex->calls_held_max = ex->calls_held;
		}
		if (ex->bytes_held > ex->bytes_held_max) {
			ex->bytes_held_max = ex->bytes_held;
		}
		if (ex->count > ex->count_max) {
			ex->count_max = ex->count;
		}
		if (!ex->sated && wake_needed(ex)) {
			pthread_cond_signal(&ex->cv);
		}
	}
	if (which != LLMCOST__HAND_LOSSLESS) {
		c->handed = b->first + b->n;
	}
	if (b->refs == 0) {
		llmcost__batch_free(b);
	}
	pthread_cond_broadcast(&c->progress);
}

uint64_t
llmcost__exporters_settled(llmcost_client *c)
{
	uint64_t pos = c->handed;
	uint64_t spooled = llmcost__spool_oldest(c->spool);
	if (spooled < pos) {
		pos = spooled;
	}
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		llmcost__exporter *ex = &c->exporters[i];
		if (ex->count > 0 && ex->queue[ex->head]->first < pos) {
			pos = ex->queue[ex->head]->first;
		}
	}
	return (pos);
}

void
llmcost__exporters_kick(llmcost_client *c)
{
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		c->exporters[i].kick = 1;
		pthread_cond_signal(&c->exporters[i].cv);
	}
}

uint64_t
llmcost__exporters_lost(llmcost_client *c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		if (c->exporters[i].ops->lossless) {
			n += atomic_load(&c->exporters[i].lost);
		}
	}
	return (n);
}

uint64_t
llmcost__exporters_lossy_lost(llmcost_client *c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		if (!c->exporters[i].ops->lossless) {
			n += atomic_load(&c->exporters[i].lost)
			    + atomic_load(&c->exporters[i].refused);
		}
	}
	return (n);
}

llmcost__exporter *
llmcost__exporter_find(
    llmcost_client *c, const struct llmcost__exporter_ops *ops)
{
	for (uint32_t i = 0; i < c->n_exporters; i++) {
		if (c->exporters[i].ops == ops) {
			return (&c->exporters[i]);
		}
	}
	return (NULL);
}
