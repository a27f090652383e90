// Live budget alerts in llmcostd: the budgets file is evaluated after
// commits, at most once per interval, on a thread of its own; a
// threshold crossed for the first time in a window is recorded in the
// outbox (outbox.h) and posted to the budget's webhooks by a delivery
// thread (webhook.h), with retries.  The same evaluation publishes which
// hard budgets are exhausted, for the shims' guard (BUDGET_STATE).
//
// Threading: alerts_committed may be called from any thread (the
// writer); alerts_reload from any thread (the main loop, on SIGHUP);
// alerts_guard_state from any thread (ingest callbacks); start, stop and
// free from the main thread.
#ifndef LLMCOSTD_ALERTS_H
#define LLMCOSTD_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "store.h"

typedef struct alerts alerts;

typedef struct alerts_cfg {
	const char *data_dir;
	const char *budgets_file; // a missing file: no budgets (yet)
	uint64_t interval_ms;     // at most one evaluation per interval
	uint64_t timeout_ms;      // per webhook post
	uint64_t retry_ms;        // the first retry's wait; doubles
	uint64_t stop_ms;         // alerts_stop's wait for a post in progress
} alerts_cfg;

// Opens the outbox, loads the budgets and starts both threads.  A
// broken budgets file is an error here (err says where); a missing one
// is not.  Returns 0, LLMCOST_ECONFIG, LLMCOST_ESTORE, LLMCOST_ENOMEM or
// LLMCOST_ESYSTEM.
int alerts_start(alerts **ap, store *s, metrics *m, const alerts_cfg *cfg,
    char *err, size_t errsz);
// Calls were committed: the budgets are evaluated again (within the
// interval).  Cheap: one flag and one signal.
void alerts_committed(alerts *a);
// Reads the budgets file again before the next evaluation; a broken file
// is logged and the budgets in force stay.
void alerts_reload(alerts *a);
// Copies the current BUDGET_STATE message body (proto/README.md) into
// buf.  Returns its length, or 0 when it does not fit.
size_t alerts_guard_state(alerts *a, void *buf, size_t bufsz);
// Stops both threads and closes the outbox.  A post in progress is
// finished and its outcome recorded (a 2xx is never posted again); one
// still unanswered stop_ms after the call is aborted and its alert stays
// pending, posted again after a restart.  No new post is started.  Call
// before the store is closed.
void alerts_stop(alerts *a);
void alerts_free(alerts *a);

#endif // LLMCOSTD_ALERTS_H
