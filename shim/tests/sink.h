// Shared by the shim's tests and the call-site benchmarks that need no
// collector: an exporter that stores every batch at once (showing it to
// sink_seen first, when set), and an
// exporter list holding only it, for llmcost__client_init.  Static, so
// each program that includes it has its own copy of the table.
#ifndef LLMCOST_SINK_H
#define LLMCOST_SINK_H

#include <string.h>

#include "batch.h"
#include "shim.h"

static int
sink_start(llmcost__exporter *ex)
{
	(void) ex;
	return (0);
}

// Called with every batch before it is stored, on the exporter's
// thread, when set (set it before the client starts): a test that
// looks at what its calls became.
static void (*sink_seen)(const llmcost__batch *b);

static int
sink_deliver(
    llmcost__exporter *ex, const llmcost__batch *b, llmcost__outcome *out)
{
	(void) ex;
	if (sink_seen != NULL) {
		sink_seen(b);
	}
	out->stored = b->n;
	return (0);
}

static void
sink_fini(llmcost__exporter *ex)
{
	(void) ex;
}

static const struct llmcost__exporter_ops sink_ops = {
	.name = "sink",
	.lossless = 1,
	.start = sink_start,
	.deliver = sink_deliver,
	.fini = sink_fini,
};

// The exporter list of a client whose calls are stored as soon as sent.
static const struct llmcost__exporter_ops *const sink_exporters[]
    = { &sink_ops, NULL };

// A client of that list with a pool of queue_max calls (0: the
// default), into *cp.  Returns llmcost__client_init's result.
static int
sink_client(llmcost_client **cp, uint32_t queue_max)
{
	llmcost_options o;
	memset(&o, 0, sizeof(o));
	o.collector_url = "ipc:///nonexistent/unused.sock";
	o.queue_max = queue_max;
	return (llmcost__client_init(cp, &o, sink_exporters));
}

#endif // LLMCOST_SINK_H
