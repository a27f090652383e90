// The ingest socket: an nng rep0 listener answering BATCH with ACK (after
// the commit), STATS_REQ with STATS and QUERY with QUERY_REPLY (from the
// query thread, querier.h), several requests in flight.
#ifndef LLMCOSTD_INGEST_H
#define LLMCOSTD_INGEST_H

#include "alerts.h"
#include "metrics.h"
#include "querier.h"
#include "writer.h"

typedef struct ingest ingest;

// Listens on url with nctx concurrent request contexts; queries go to
// qr.  On failure writes a reason into err.
int ingest_start(ingest **ip, const char *url, int nctx, writer *w,
    querier *qr, metrics *m, char *err, size_t errsz);
// Answers BUDGET_REQ from a's guard state from now on (before: an
// empty state).  Any thread.
void ingest_set_alerts(ingest *in, alerts *a);
// Checks that the listener still accepts connections and restarts it if
// not.  Call about once a second from the main loop.
void ingest_watch(ingest *in);
// Stops starting sends and receives (an answer made from now on is
// freed unsent), waits for any being started, then closes the socket.
// Call after writer_stop, so that every batch the writer took has been
// answered while the socket was still open.
void ingest_close(ingest *in);
// Waits for every callback to finish and frees; call after ingest_close.
void ingest_free(ingest *in);

#endif // LLMCOSTD_INGEST_H
