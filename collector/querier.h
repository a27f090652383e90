// The query thread: answers QUERY messages (proto/README.md) with the
// query engine (core/query.h) in read transactions of its own, off the
// writer thread and off nng's callback threads, so that a query that
// scans millions of runs delays neither ingest nor other requests' I/O.
// At most QUERIER_MAX_PENDING queries wait; a query past that is
// answered "busy" at once.  Memory is bounded by the engine's caps (the
// groups of one query at a time) and one reply message (4 MiB).
#ifndef LLMCOSTD_QUERIER_H
#define LLMCOSTD_QUERIER_H

#include <nng/nng.h>

#include "llmcost_proto.h"
#include "metrics.h"
#include "store.h"

#define QUERIER_MAX_PENDING 16

typedef struct querier querier;
typedef struct querier_job querier_job;

// Called on the query thread with the QUERY_REPLY (owned by the callee;
// NULL when no memory was left to build one).
typedef void (*querier_done_fn)(querier_job *job, nng_msg *reply);

struct querier_job {
	querier_job *next;
	const llmcost_proto_query *query; // valid until done is called
	querier_done_fn done;
	void *arg;
};

// Starts the query thread on s.  Returns 0, LLMCOST_ENOMEM or
// LLMCOST_ESYSTEM.
int querier_start(querier **qp, store *s, metrics *m);
// Queues a job.  Returns 0; LLMCOST_EFULL when QUERIER_MAX_PENDING wait
// already, LLMCOST_ECLOSED once querier_stop has begun (the job is not
// queued: answer it yourself, querier_reply_error).
int querier_submit(querier *q, querier_job *job);
// A QUERY_REPLY saying the query failed with status (an llmcost error
// code) and why; NULL without memory.
nng_msg *querier_reply_error(int status, const char *reason);
// Refuses new jobs, answers the queued ones "shutting down", finishes
// the one running and stops the thread.  Call before the store closes.
void querier_stop(querier *q);
void querier_free(querier *q);

#endif // LLMCOSTD_QUERIER_H
