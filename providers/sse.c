// DESIGN: the server-sent events splitter that the streaming parsers sit
// on.  It follows the WHATWG parsing rules (lines end in CR, LF or CRLF,
// a leading byte-order mark is skipped, "field: value" with one optional
// space after the colon, ':' starts a comment, a blank line dispatches
// the event) and works byte by byte, so a chunk boundary anywhere (inside
// "data:", between CR and LF, inside a UTF-8 sequence) changes nothing.
// It never buffers a data line: providers' last events can repeat the
// whole answer (the Responses API's response.completed), so a line
// buffer would either grow or lose exactly the event that carries the
// usage.  Data bytes go to the sink as they come, which parses them with
// the push JSON scanner; only the "event:" value is kept, in a fixed
// buffer that refuses an over-long value with LLMCOST_ETOOBIG.
#include <string.h>

#include "llmcost.h"
#include "sse.h"

enum {
	L_START, // at the start of a line
	L_NAME,  // reading the field name
	L_SPACE, // after the colon: one space may follow
	L_VALUE, // reading the value
	L_SKIP,  // ignoring the rest of the line
};

enum { F_NONE, F_DATA, F_EVENT, F_OTHER };

static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

void
llmcost__sse_init(llmcost__sse *s, const llmcost__sse_sink *sink, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->sink = sink;
	s->arg = arg;
}

static int
name_field(const llmcost__sse *s)
{
	if (s->name_len == 4 && memcmp(s->name, "data", 4) == 0) {
		return (F_DATA);
	}
	if (s->name_len == 5 && memcmp(s->name, "event", 5) == 0) {
		return (F_EVENT);
	}
	return (F_OTHER); // id, retry and unknown fields: ignored
}

// The field name is complete: start its value.
static int
begin_value(llmcost__sse *s)
{
	s->field = (uint8_t) name_field(s);
	if (s->field == F_DATA) {
		if (s->data_lines++ > 0) {
			return (s->sink->data(s->arg, "\n", 1));
		}
	} else if (s->field == F_EVENT) {
		s->ev_len = 0;
	}
	return (0);
}

static int
end_line(llmcost__sse *s)
{
	int rv = 0;
	switch (s->st) {
	case L_START: // a blank line
		if (s->data_lines > 0) {
			s->ev[s->ev_len] = '\0';
			rv = s->sink->dispatch(s->arg, s->ev);
		}
		s->data_lines = 0;
		s->ev_len = 0;
		break;
	case L_NAME: // a field name alone: its value is empty
		rv = begin_value(s);
		break;
	default:
		break;
	}
	s->st = L_START;
	return (rv);
}

static int
value_bytes(llmcost__sse *s, const char *p, size_t n)
{
	if (s->field == F_DATA) {
		return (s->sink->data(s->arg, p, n));
	}
	if (s->field == F_EVENT) {
		if (n > (size_t) (LLMCOST__SSE_EVENT_MAX - s->ev_len)) {
			return (LLMCOST_ETOOBIG);
		}
		memcpy(s->ev + s->ev_len, p, n);
		s->ev_len += (uint8_t) n;
	}
	return (0);
}

int
llmcost__sse_feed(llmcost__sse *s, const char *p, size_t n)
{
	const char *end = p + n;
	int rv = 0;

	if (s->err != 0) {
		return (s->err);
	}
	while (p < end && rv == 0) {
		unsigned char c = (unsigned char) *p;
		if (s->bom < 3) {
			// Only the first bytes of the stream may be a BOM.
			if (c == bom[s->bom]) {
				s->bom++;
				p++;
				continue;
			}
			if (s->bom > 0) {
				rv = LLMCOST_EPROTO;
				break;
			}
			s->bom = 3;
		}
		if (s->cr) {
			s->cr = 0;
			if (c == '\n') {
				p++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			s->cr = c == '\r';
			rv = end_line(s);
			p++;
			continue;
		}
		switch (s->st) {
		case L_START:
			if (c == ':') {
				s->st = L_SKIP; // a comment
				p++;
				continue;
			}
			s->name_len = 0;
			s->st = L_NAME;
			// fall through
		case L_NAME:
			p++;
			if (c == ':') {
				rv = begin_value(s);
				s->st = L_SPACE;
			} else if (s->name_len < LLMCOST__SSE_FIELD_MAX) {
				s->name[s->name_len++] = (char) c;
			}
			// A longer name stops at the cap: it is none we know.
			continue;
		case L_SPACE:
			s->st = L_VALUE;
			if (c == ' ') {
				p++;
				continue;
			}
			// fall through
		case L_VALUE: {
			const char *run = p;
			while (p < end && *p != '\r' && *p != '\n') {
				p++;
			}
			rv = value_bytes(s, run, (size_t) (p - run));
			continue;
		}
		default: // L_SKIP
			while (p < end && *p != '\r' && *p != '\n') {
				p++;
			}
			continue;
		}
	}
	if (rv != 0) {
		s->err = rv;
	}
	return (rv);
}

int
llmcost__sse_pending(const llmcost__sse *s)
{
	return (s->data_lines > 0);
}

int
llmcost__sse_mid_line(const llmcost__sse *s)
{
	return (s->st != L_START);
}
