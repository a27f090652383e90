// Collector counters.  One X-macro table gives the struct, the names sent
// in STATS replies and (later) the Prometheus names.  The store's fault
// counters come from the store's own table of faults (store.h): one
// store_<fault> counter per row.
#ifndef LLMCOSTD_METRICS_H
#define LLMCOSTD_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "store.h"

#define METRICS__FAULT_ROW(XX, id, name, what, todo)                          \
	XX(store_##name, "failed store writes: " what)

#define METRICS_MAP(XX)                                                       \
	XX(msgs_received, "messages received on the ingest socket")           \
	XX(batches_received, "well-formed batches received")                  \
	XX(batches_stored, "batches committed and acknowledged")              \
	XX(records_stored, "calls newly stored")                              \
	XX(records_duplicate, "calls received again and ignored")             \
	XX(msgs_rejected, "messages rejected as malformed or oversized")      \
	XX(rejected_too_big, "rejected: over a size or count limit")          \
	XX(rejected_malformed, "rejected: not a valid v1 message")            \
	XX(store_errors, "failed write transactions (batches retried)")       \
	XX(txn_commits, "write transactions committed")                       \
	XX(txn_us,                                                            \
	    "microseconds in write transactions, synced commit "              \
	    "included (clients hold their calls meanwhile)")                  \
	XX(txn_max_us, "the longest write transaction, in microseconds")      \
	XX(txn_over_10ms, "write transactions that took 10 ms or more")       \
	XX(txn_over_100ms, "write transactions that took 100 ms or more")     \
	XX(stats_requests, "STATS requests answered")                         \
	XX(queries_answered, "QUERY requests answered")                       \
	XX(queries_busy, "QUERY requests refused: too many waiting")          \
	XX(listener_restarts, "ingest listener restarts (nng 1.5 bug)")       \
	XX(parked_fds_closed,                                                 \
	    "connections nng 1.5 left parked, closed by llmcostd")            \
	XX(prices_reloads, "price tables installed on SIGHUP")                \
	XX(prices_reload_errors,                                              \
	    "SIGHUP reloads refused (a broken price file: the table in "      \
	    "force was kept)")                                                \
	XX(budget_requests, "BUDGET_REQ requests answered")                   \
	XX(budget_evaluations, "budget evaluations")                          \
	XX(budget_errors, "budgets that could not be evaluated or recorded")  \
	XX(alerts_crossed, "thresholds crossed (once per budget and window)") \
	XX(alerts_delivered, "alerts a webhook accepted (2xx)")               \
	XX(alerts_retried, "alert deliveries scheduled again")                \
	XX(alerts_failed, "alerts a webhook refused, or retries ran out")     \
	XX(alerts_dropped, "alerts not queued: the outbox was full")          \
	XX(alerts_pending,                                                    \
	    "alerts waiting for delivery (a gauge, at the "                   \
	    "last outbox scan)")                                              \
	XX(alert_scans, "outbox scans by the delivery thread")                \
	XX(alerts_stop_waits, "stops that waited for an alert post")          \
	STORE_FAULT_ROWS(METRICS__FAULT_ROW, XX)

typedef struct metrics {
#define METRICS__FIELD(name, help) _Atomic uint64_t name;
	METRICS_MAP(METRICS__FIELD)
#undef METRICS__FIELD
} metrics;

#define METRICS_INC(m, name, n)                                               \
	atomic_fetch_add_explicit(&(m)->name, (n), memory_order_relaxed)

#endif // LLMCOSTD_METRICS_H
