// A small JSON writer for the exporters' hot path: it appends JSON text
// to a growable buffer with a hard cap, escaping strings as RFC 8259
// requires.  It builds no tree (a jansson tree per run costs about 20
// times more: STYLE.md, "Traps").  Callers write the structure
// themselves (braces, commas, keys); the writer guarantees that every
// string is a valid JSON string.
//
// Errors are sticky: once an append would pass the cap or memory runs
// out, err is set, later appends do nothing, and the caller checks err
// once at the end.
//
// Threading: a buffer belongs to one thread at a time.
#ifndef LLMCOST_JSONW_H
#define LLMCOST_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct llmcost__jbuf {
	char *p;    // the text so far (not NUL-terminated)
	size_t len; // bytes used
	size_t cap; // bytes allocated
	size_t max; // never grows past this many bytes
	int err;    // 0, LLMCOST_ETOOBIG or LLMCOST_ENOMEM
} llmcost__jbuf;

// An empty buffer that will hold at most max bytes.  Allocates nothing.
void llmcost__jbuf_init(llmcost__jbuf *b, size_t max);
// Frees the text.
void llmcost__jbuf_fini(llmcost__jbuf *b);
// Empties the buffer (keeps its memory) and clears err.
void llmcost__jbuf_reset(llmcost__jbuf *b);

// Appends bytes as they are (structure, numbers already formatted).
// Inline: a run is written in about sixty appends of a few bytes, so the
// common case (room in the buffer) is a compare and a memcpy, and the
// length of a literal is known at compile time (llmcost__jbuf_lit).
void llmcost__jbuf_raw_slow(llmcost__jbuf *b, const void *s, size_t len);
static inline void
llmcost__jbuf_raw(llmcost__jbuf *b, const void *s, size_t len)
{
	if (b->err == 0 && len != 0 && len <= b->cap - b->len) {
		memcpy(b->p + b->len, s, len);
		b->len += len;
		return;
	}
	llmcost__jbuf_raw_slow(b, s, len);
}
// Appends a NUL-terminated literal as it is.
static inline void
llmcost__jbuf_lit(llmcost__jbuf *b, const char *s)
{
	llmcost__jbuf_raw(b, s, strlen(s));
}
// Appends a JSON string: quotes, with '"', '\\' and control characters
// escaped.  s must be valid UTF-8 (the shim checks every string at the
// call site); other bytes are copied as they are.
void llmcost__jbuf_str(llmcost__jbuf *b, const char *s, size_t len);
// Appends an unsigned integer in decimal.
void llmcost__jbuf_u64(llmcost__jbuf *b, uint64_t v);

#endif // LLMCOST_JSONW_H
