// Rendering a query result (query.h) for people and machines: an aligned
// table (costs rounded to 4 decimals), CSV and JSON (costs exact to the
// pico-dollar, as decimal strings, because JSON numbers lose precision
// past 2^53).  The CLI, the HTTP API and budget checks share it, so a
// report reads the same wherever it is asked for.
//
// Output goes to a sink: a FILE, or a caller's buffer with snprintf's
// rules (what fits is written and NUL-terminated, and the sink counts the
// whole length, so a caller can retry with a buffer of len + 1 bytes).
//
// Ownership: the caller owns the report, the sink and what it points to;
// nothing is kept after a call returns.  Threading: reentrant; a sink is
// used by one thread at a time.
#ifndef LLMCOST_CORE_RENDER_H
#define LLMCOST_CORE_RENDER_H

#include <stddef.h>
#include <stdio.h>

#include "query.h"
#include "report.h"

typedef enum render_format {
	RENDER_TABLE, // for a terminal
	RENDER_CSV,   // one row per group, header first, no total row
	RENDER_JSON,  // an object: query, rows, total, unpriced, drops
} render_format;

typedef struct render_sink {
	FILE *f;    // output goes here when not NULL
	char *buf;  // else into buf[0..cap)
	size_t cap; // bytes in buf
	size_t len; // bytes produced so far (even past cap)
	int err;    // the first error: 0, LLMCOST_ESYSTEM or LLMCOST_ENOMEM
} render_sink;

// Sets up a sink writing to f (not closed or flushed by render).
void render_sink_file(render_sink *s, FILE *f);
// Sets up a sink writing into buf[0..cap) (cap may be 0: count only).
void render_sink_buffer(render_sink *s, char *buf, size_t cap);

// Renders r in fmt and appends it to out: a column per key of
// r->spec.by (a period column first for a time series), a row per row of
// r, the total (table) and notes below the table (rounding, top, cap,
// unpriced models, usage, drops).  Returns 0; LLMCOST_ETOOBIG
// when a buffer sink was too small (out->len is the length needed,
// without the NUL); LLMCOST_ESYSTEM when writing to the FILE failed;
// LLMCOST_ENOMEM; LLMCOST_EINVAL (a NULL argument or an unknown format).
int render_query(const query_result *r, render_format fmt, render_sink *out);

#endif // LLMCOST_CORE_RENDER_H
