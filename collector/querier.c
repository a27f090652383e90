// DESIGN: one thread, one FIFO of at most QUERIER_MAX_PENDING jobs (a
// mutex and a condition variable, as the writer's), so that queries run
// one at a time: a query holds a read transaction and up to its group
// cap in memory, and two at once would only share one core's worth of
// memory bandwidth.  The decoded QUERY stays valid (its strings point
// into the request) until the job's done callback, which sends the
// reply.  An answer that does not fit one message is replaced by an
// error reply that says how to narrow the query, never cut.  On stop,
// queued jobs are answered "shutting down" (the client may ask again)
// before the store closes under them.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "query_wire.h"
#include "querier.h"

struct querier {
	store *st;
	metrics *m;
	pthread_t thr;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	querier_job *head, *tail;
	int n;
	int stopping;
	int started;
};

static int
msg_write(void *arg, const char *buf, size_t len)
{
	return (nng_msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}

nng_msg *
querier_reply_error(int status, const char *reason)
{
	llmcost_proto_enc enc;
	nng_msg *m;

	if (nng_msg_alloc(&m, 0) != 0) {
		return (NULL);
	}
	llmcost_proto_enc_init(&enc, msg_write, m, 0);
	if (query_error_encode(status, reason, &enc) != 0) {
		nng_msg_free(m);
		return (NULL);
	}
	return (m);
}

// Answers one query: the reply, or an error reply.
static nng_msg *
answer(querier *q, const llmcost_proto_query *wq)
{
	char err[512];
	query_spec spec;
	query_result *r;
	llmcost_proto_enc enc;
	nng_msg *m;
	int rv;

	if ((rv = query_from_wire(wq, &spec, err, sizeof(err))) != 0) {
		return (querier_reply_error(rv, err));
	}
	if ((rv = query_run(q->st, &spec, &r, err, sizeof(err))) != 0) {
		if (rv == LLMCOST_ESTORE || rv == LLMCOST_ENOMEM) {
			log_msg(LLMCOST_LOG_WARNING, "query: %s", err);
		}
		return (querier_reply_error(rv, err));
	}
	if (nng_msg_alloc(&m, 0) != 0) {
		query_result_free(r);
		return (NULL);
	}
	llmcost_proto_enc_init(&enc, msg_write, m, 0);
	rv = query_result_encode(r, &enc);
	size_t rows = r->n_rows;
	query_result_free(r);
	if (rv == 0) {
		return (m);
	}
	nng_msg_free(m);
	if (rv != LLMCOST_ETOOBIG) {
		return (querier_reply_error(rv, "cannot encode the answer"));
	}
	snprintf(err, sizeof(err),
	    "the answer (%zu rows) is larger than one reply carries (%u rows, "
	    "4 MiB): narrow the query with --top, --where, a shorter window "
	    "or a longer --every",
	    rows, LLMCOST_PROTO_MAX_QROWS);
	return (querier_reply_error(LLMCOST_ETOOBIG, err));
}

static void *
querier_main(void *arg)
{
	querier *q = arg;

	pthread_setname_np(pthread_self(), "llmcostd-query");
	pthread_mutex_lock(&q->mtx);
	for (;;) {
		while (q->head == NULL && !q->stopping) {
			pthread_cond_wait(&q->cv, &q->mtx);
		}
		querier_job *job = q->head;
		if (job == NULL) {
			break; // stopping, and nothing queued
		}
		q->head = job->next;
		if (q->head == NULL) {
			q->tail = NULL;
		}
		q->n--;
		int stopping = q->stopping;
		pthread_mutex_unlock(&q->mtx);
		nng_msg *reply = stopping
		    ? querier_reply_error(LLMCOST_ECLOSED,
		        "the collector is shutting down: ask again once it "
		        "is back, or read its data directory "
		        "(--data-dir)")
		    : answer(q, job->query);
		METRICS_INC(q->m, queries_answered, 1);
		job->done(job, reply);
		pthread_mutex_lock(&q->mtx);
	}
	pthread_mutex_unlock(&q->mtx);
	return (NULL);
}

int
querier_start(querier **qp, store *s, metrics *m)
{
	querier *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	q->st = s;
	q->m = m;
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->thr, NULL, querier_main, q) != 0) {
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mtx);
		free(q);
		return (LLMCOST_ESYSTEM);
	}
	q->started = 1;
	*qp = q;
	return (0);
}

int
querier_submit(querier *q, querier_job *job)
{
	int rv = 0;

	pthread_mutex_lock(&q->mtx);
	if (q->stopping) {
		rv = LLMCOST_ECLOSED;
	} else if (q->n >= QUERIER_MAX_PENDING) {
		rv = LLMCOST_EFULL;
	} else {
		job->next = NULL;
		if (q->tail != NULL) {
			q->tail->next = job;
		} else {
			q->head = job;
		}
		q->tail = job;
		q->n++;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mtx);
	return (rv);
}

void
querier_stop(querier *q)
{
	if (q == NULL) {
		return;
	}
	pthread_mutex_lock(&q->mtx);
	q->stopping = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mtx);
	if (q->started) {
		pthread_join(q->thr, NULL);
		q->started = 0;
	}
}

void
querier_free(querier *q)
{
	if (q == NULL) {
		return;
	}
	querier_stop(q);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mtx);
	free(q);
}
