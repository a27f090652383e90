// The LangSmith exporter's counters, for llmcost_stats (client.c).  The
// exporter itself is llmcost__exporter_langsmith (exporter.h).
#ifndef LLMCOST_EXPORT_LANGSMITH_H
#define LLMCOST_EXPORT_LANGSMITH_H

#include <stdint.h>

#include "exporter.h"

// Runs, except requests_retried.  The calls the seam counts as lost
// (ex->lost) are dropped_auth + dropped_retries + those never sent (queue
// full, shutdown).
typedef struct llmcost__ls_counters {
	uint64_t runs_sent;
	uint64_t runs_acked;
	uint64_t requests_retried;
	uint64_t dropped_rejected;
	uint64_t dropped_auth;
	uint64_t dropped_retries;
} llmcost__ls_counters;

// A snapshot of a running LangSmith exporter's counters.  Any thread.
void llmcost__langsmith_counters(
    llmcost__exporter *ex, llmcost__ls_counters *out);

#endif // LLMCOST_EXPORT_LANGSMITH_H
