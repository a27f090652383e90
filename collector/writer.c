// DESIGN: LMDB allows one write transaction at a time and a synced commit
// costs about an fdatasync, so all writes go through one thread that
// takes every queued batch (up to txn_records calls) into a single
// transaction: under load, many clients share one commit.  Each group
// passes two stages on this thread: pricing (pricing.c), into a cost
// array allocated once at start and sized for the largest group, then the
// store write, which stores the costs as given.  A batch is acknowledged
// only after that commit returns, which is what lets the shim resend
// anything unacknowledged without ever losing a call.  If the transaction
// fails, every batch in it is answered "retry" and nothing of it is
// stored: the calls wait in their clients, which resend them, until the
// store accepts writes again.  A failing store is an episode: its kind of
// fault (store.h: no space, quota, read-only, ...) is logged once with
// the data directory and what to do, each failed write is counted under
// that kind, and the first commit afterwards logs the recovery, so a
// full disk fills the log with two lines, not one per resend.  With a
// retention set, the same thread deletes calls past it (store_prune),
// one bounded transaction between two groups, so pruning a large
// backlog never holds ingest up for long; the rollups stay.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pricing.h"
#include "writer.h"

#define MAX_GROUP      256 // batches per transaction
#define PRUNE_EVERY_NS (UINT64_C(3600) * 1000000000u) // between checks
#define PRUNE_RETRY_NS (UINT64_C(60) * 1000000000u)   // after an error

struct writer {
	store *s;
	metrics *m;
	uint32_t txn_records;
	// One cost per call of a group.  A group holds at most txn_records
	// calls, or a single batch (at most LLMCOST_PROTO_MAX_RECORDS) when
	// that batch alone is larger.
	store_cost *costs;
	size_t ncosts;
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	writer_job *head, *tail;
	int stopping;
	store_fault fault;     // of the current episode; NONE when writing
	uint64_t fault_writes; // failed writes in the current episode
	uint64_t retain_ns;    // 0: keep every call (under mtx)
	uint64_t prune_at;     // realtime ns of the next prune step (mtx)
	uint64_t pruned;       // calls deleted in the current pass (thread)
	void (*on_commit)(void *);
	void *on_commit_arg;
};

static void
count_fault(metrics *m, store_fault f)
{
	switch (f) {
#define FAULT_INC(id, name, what, todo)                                       \
	case STORE_FAULT_##id:                                                \
		METRICS_INC(m, store_##name, 1);                              \
		break;
		STORE_FAULT_MAP(FAULT_INC)
#undef FAULT_INC
	default:
		break;
	}
}

// Counts a failed write and logs its fault once per episode.
static void
write_failed(writer *w, store_fault f, size_t nbatches, const char *detail)
{
	char line[768];

	METRICS_INC(w->m, store_errors, 1);
	count_fault(w->m, f);
	if (f != w->fault) {
		store_fault_text(f, "cannot write", store_dir(w->s), detail,
		    line, sizeof(line));
		log_msg(LLMCOST_LOG_ERR,
		    "%s; until a write succeeds, batches are answered "
		    "\"retry\" and their calls wait in their clients (%zu "
		    "batches in this write)",
		    line, nbatches);
		w->fault = f;
		w->fault_writes = 0;
	}
	w->fault_writes++;
}

static void
write_succeeded(writer *w)
{
	if (w->fault != STORE_FAULT_NONE) {
		log_msg(LLMCOST_LOG_NOTICE,
		    "the store in %s accepts writes again, after %llu failed "
		    "writes (%s)",
		    store_dir(w->s), (unsigned long long) w->fault_writes,
		    store_fault_name(w->fault));
		w->fault = STORE_FAULT_NONE;
		w->fault_writes = 0;
	}
	METRICS_INC(w->m, txn_commits, 1);
}

// Counts one write transaction that took ns, its synced commit
// included: while it runs, every client waits for its acknowledgements
// and holds its calls, so a slow disk shows here first.  Only this
// thread writes txn_max_us.
static void
count_txn(metrics *m, uint64_t ns)
{
	uint64_t us = ns / 1000u;

	METRICS_INC(m, txn_us, us);
	if (us > atomic_load_explicit(&m->txn_max_us, memory_order_relaxed)) {
		atomic_store_explicit(
		    &m->txn_max_us, us, memory_order_relaxed);
	}
	if (us >= 10000u) {
		METRICS_INC(m, txn_over_10ms, 1);
	}
	if (us >= 100000u) {
		METRICS_INC(m, txn_over_100ms, 1);
	}
}

static void
run_group(writer *w, writer_job **jobs, size_t n)
{
	store_batch batches[MAX_GROUP];
	store_batch_result res[MAX_GROUP];
	char ver[MAX_GROUP][STORE_PVER_LEN + 1];
	size_t used = 0;
	char err[256];
	int rv = 0;

	for (size_t i = 0; i < n; i++) {
		const llmcost_proto_batch *b = jobs[i]->batch;
		// Grouping keeps within the array; this guards the bound.
		if (b->n_records > w->ncosts - used) {
			snprintf(err, sizeof(err),
			    "group of more than %zu calls", w->ncosts);
			rv = LLMCOST_ETOOBIG;
			break;
		}
		batches[i].batch = b;
		batches[i].costs = w->costs + used;
		batches[i].price_version = ver[i];
		pricing_batch_version(
		    b, w->costs + used, ver[i], sizeof(ver[i]));
		used += b->n_records;
	}
	store_fault f = STORE_FAULT_OTHER;
	if (rv == 0) {
		uint64_t t0 = llmcost__mono_ns();
		rv = store_write(w->s, batches, n, res, llmcost__now_ns(), err,
		    sizeof(err));
		count_txn(w->m, llmcost__mono_ns() - t0);
		f = store_last_fault(w->s);
	}
	if (rv != 0) {
		write_failed(w, f, n, err);
		// The reason each client's retry carries (and logs).
		char detail[sizeof(err)];
		memcpy(detail, err, sizeof(err));
		// A detail too long for the prefix is cut: err stays a string.
		int len = snprintf(err, sizeof(err),
		    "store write failed: %s: %s", store_fault_name(f), detail);
		(void) len;
	} else {
		write_succeeded(w);
		if (w->on_commit != NULL) {
			w->on_commit(w->on_commit_arg);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (rv == 0) {
			METRICS_INC(w->m, batches_stored, 1);
			METRICS_INC(w->m, records_stored, res[i].stored);
			METRICS_INC(
			    w->m, records_duplicate, res[i].duplicates);
			jobs[i]->done(
			    jobs[i], LLMCOST_ACK_STORED, &res[i], "");
		} else {
			jobs[i]->done(jobs[i], LLMCOST_ACK_RETRY, NULL, err);
		}
	}
}

static uint64_t
realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

// Whether a prune step is due (mtx held).
static int
prune_due(const writer *w, uint64_t now)
{
	return (w->retain_ns != 0 && now >= w->prune_at);
}

// One prune transaction; schedules the next step: at once while calls
// past the retention remain, else in an hour.
static void
prune_step(writer *w, uint64_t retain_ns)
{
	uint64_t now = realtime_ns(), n = 0, next;
	int more = 0;
	char err[256];

	int rv = 0;
	if (now > retain_ns) {
		uint64_t t0 = llmcost__mono_ns();
		rv = store_prune(w->s, now - retain_ns, WRITER_PRUNE_RUNS, 1,
		    &n, &more, err, sizeof(err));
		count_txn(w->m, llmcost__mono_ns() - t0);
	}
	w->pruned += n;
	if (rv != 0) {
		log_msg(LLMCOST_LOG_WARNING,
		    "cannot prune calls past the retention: %s; trying again "
		    "in a minute",
		    err);
		next = now + PRUNE_RETRY_NS;
	} else if (more) {
		next = now;
	} else {
		if (w->pruned > 0) {
			log_msg(LLMCOST_LOG_NOTICE,
			    "pruned %llu calls older than %llu days; their "
			    "rollups stay",
			    (unsigned long long) w->pruned,
			    (unsigned long long) (retain_ns
			        / (UINT64_C(86400) * 1000000000u)));
		}
		w->pruned = 0;
		next = now + PRUNE_EVERY_NS;
	}
	pthread_mutex_lock(&w->mtx);
	w->prune_at = next;
	pthread_mutex_unlock(&w->mtx);
}

void
writer_retain(writer *w, uint64_t retain_ns)
{
	pthread_mutex_lock(&w->mtx);
	w->retain_ns = retain_ns;
	w->prune_at = 0; // at once
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

static void *
writer_main(void *arg)
{
	writer *w = arg;
	writer_job *group[MAX_GROUP];
	int pruned_last = 0;

	pthread_setname_np(pthread_self(), "llmcostd-write");
	for (;;) {
		pthread_mutex_lock(&w->mtx);
		while (w->head == NULL && !w->stopping
		    && !prune_due(w, realtime_ns())) {
			if (w->retain_ns == 0) {
				pthread_cond_wait(&w->cv, &w->mtx);
				continue;
			}
			struct timespec until = {
				.tv_sec = (time_t) (w->prune_at / 1000000000u),
				.tv_nsec = (long) (w->prune_at % 1000000000u),
			};
			pthread_cond_timedwait(&w->cv, &w->mtx, &until);
		}
		if (w->head == NULL && w->stopping) {
			pthread_mutex_unlock(&w->mtx);
			return (NULL);
		}
		if (!w->stopping && prune_due(w, realtime_ns())
		    && (w->head == NULL || !pruned_last)) {
			// One bounded step, then a group if one waits.
			pruned_last = 1;
			uint64_t retain_ns = w->retain_ns;
			pthread_mutex_unlock(&w->mtx);
			prune_step(w, retain_ns);
			continue;
		}
		if (w->head == NULL) {
			pthread_mutex_unlock(&w->mtx);
			continue;
		}
		size_t n = 0;
		uint64_t records = 0;
		while (w->head != NULL && n < MAX_GROUP
		    && (n == 0
		        || records + w->head->batch->n_records
		            <= w->txn_records)) {
			writer_job *j = w->head;
			w->head = j->next;
			records += j->batch->n_records;
			group[n++] = j;
		}
		if (w->head == NULL) {
			w->tail = NULL;
		}
		pthread_mutex_unlock(&w->mtx);
		run_group(w, group, n);
		pruned_last = 0;
	}
}

int
writer_start(writer **wp, store *s, metrics *m, uint32_t txn_records)
{
	writer *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return (LLMCOST_ENOMEM);
	}
	w->s = s;
	w->m = m;
	w->txn_records = txn_records;
	w->ncosts = txn_records > LLMCOST_PROTO_MAX_RECORDS
	    ? txn_records
	    : LLMCOST_PROTO_MAX_RECORDS;
	if ((w->costs = calloc(w->ncosts, sizeof(*w->costs))) == NULL) {
		free(w);
		return (LLMCOST_ENOMEM);
	}
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mtx);
		free(w->costs);
		free(w);
		return (LLMCOST_ESYSTEM);
	}
	*wp = w;
	return (0);
}

void
writer_on_commit(writer *w, void (*fn)(void *), void *arg)
{
	w->on_commit = fn;
	w->on_commit_arg = arg;
}

int
writer_submit(writer *w, writer_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->mtx);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mtx);
		return (LLMCOST_ECLOSED);
	}
	if (w->tail != NULL) {
		w->tail->next = job;
	} else {
		w->head = job;
	}
	w->tail = job;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
	return (0);
}

void
writer_stop(writer *w)
{
	if (w == NULL) {
		return;
	}
	pthread_mutex_lock(&w->mtx);
	int running = !w->stopping;
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
	if (running) {
		pthread_join(w->thread, NULL);
	}
}

void
writer_free(writer *w)
{
	if (w == NULL) {
		return;
	}
	writer_stop(w);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mtx);
	free(w->costs);
	free(w);
}
