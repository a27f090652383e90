// Server-sent events (the WHATWG "text/event-stream" format) split into
// fields as bytes arrive, in pieces cut anywhere.  Data lines are not
// kept: their bytes go straight to the sink, so an event of any length
// costs no memory; the other fields are either ignored or, for "event",
// kept in a fixed buffer that refuses an over-long value.
//
// Ownership: caller storage; the sink's pointers are valid only during
// the call.  Threading: one thread at a time.
#ifndef LLMCOST_PROVIDERS_SSE_H
#define LLMCOST_PROVIDERS_SSE_H

#include <stddef.h>
#include <stdint.h>

#define LLMCOST__SSE_EVENT_MAX 64 // bytes of an "event:" value
#define LLMCOST__SSE_FIELD_MAX 8  // bytes of a field name we recognise

// What the splitter tells its owner.  Each returns 0 or an error that
// stops the splitter.
typedef struct llmcost__sse_sink {
	// Bytes of the current event's data; a '\n' is passed between two
	// data lines of one event, as the format joins them.
	int (*data)(void *arg, const char *p, size_t n);
	// A blank line ended an event that had data; event is its "event:"
	// value ("" when none).
	int (*dispatch)(void *arg, const char *event);
} llmcost__sse_sink;

typedef struct llmcost__sse {
	const llmcost__sse_sink *sink;
	void *arg;
	int err;
	uint8_t st;       // where in a line we are
	uint8_t field;    // the field of the current line
	uint8_t cr;       // the last byte was CR (a following LF is skipped)
	uint8_t bom;      // bytes of a leading byte-order mark matched
	uint8_t name_len; // bytes of the field name so far
	uint8_t ev_len;
	uint32_t data_lines; // data lines in the current event
	char name[LLMCOST__SSE_FIELD_MAX];
	char ev[LLMCOST__SSE_EVENT_MAX + 1];
} llmcost__sse;

void llmcost__sse_init(
    llmcost__sse *s, const llmcost__sse_sink *sink, void *arg);

// Returns 0, LLMCOST_ETOOBIG (an "event:" value over its cap) or the
// sink's error; errors are sticky.
int llmcost__sse_feed(llmcost__sse *s, const char *p, size_t n);

// 1 when an event has data lines but no blank line ended it yet.
int llmcost__sse_pending(const llmcost__sse *s);

// 1 when the current line is unfinished (the input stopped mid-line).
int llmcost__sse_mid_line(const llmcost__sse *s);

#endif // LLMCOST_PROVIDERS_SSE_H
