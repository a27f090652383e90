// The single store writer: batches from every ingest context are grouped,
// priced (pricing.h) and written in one LMDB transaction, and each batch
// is answered after the commit.
#ifndef LLMCOSTD_WRITER_H
#define LLMCOSTD_WRITER_H

#include <stdint.h>

#include "llmcost_proto.h"
#include "metrics.h"
#include "store.h"

typedef struct writer writer;
typedef struct writer_job writer_job;

// Called on the writer thread once the job's batch is committed (status
// LLMCOST_ACK_STORED, res set) or could not be (LLMCOST_ACK_RETRY, reason
// set).
typedef void (*writer_done_fn)(writer_job *job, uint32_t status,
    const store_batch_result *res, const char *reason);

struct writer_job {
	writer_job *next;
	const llmcost_proto_batch *batch; // valid until done is called
	writer_done_fn done;
	void *arg;
};

// Starts the writer thread on s.  Groups hold up to txn_records calls
// (one larger batch goes alone); their costs are priced into an array
// allocated here for the largest group.  Returns 0, LLMCOST_ENOMEM or
// LLMCOST_ESYSTEM.
int writer_start(writer **wp, store *s, metrics *m, uint32_t txn_records);
// Keeps the raw calls of the last retain_ns nanoseconds (0: all): the
// writer thread deletes older ones (store_prune: rollups stay) in
// transactions of at most WRITER_PRUNE_RUNS calls taken between groups,
// so ingest waits at most one of them, checking once an hour and at
// once after this call.  Thread-safe.
#define WRITER_PRUNE_RUNS 10000
void writer_retain(writer *w, uint64_t retain_ns);

// Calls fn(arg) on the writer thread after every commit (the budget
// evaluation's wake-up: it must be cheap).  Set before any job is
// submitted.
void writer_on_commit(writer *w, void (*fn)(void *), void *arg);
// Queues a job; never blocks on the store.  Returns 0, or LLMCOST_ECLOSED
// once writer_stop has begun (the job is not queued: answer it yourself).
int writer_submit(writer *w, writer_job *job);
// Refuses new jobs, finishes the queued ones (their done callbacks run),
// and stops the thread.  Submitting stays safe until writer_free.
void writer_stop(writer *w);
void writer_free(writer *w);

#endif // LLMCOSTD_WRITER_H
