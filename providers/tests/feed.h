// For the unit tests and the fuzz targets: a stream parser fed a body in
// pieces, as bytes arrive from a network.  Header-only.
#ifndef LLMCOST_TEST_FEED_H
#define LLMCOST_TEST_FEED_H

#include <stddef.h>

#include "llmcost.h"

// Feeds s the len bytes of data: the first cut bytes (0: none apart),
// then the rest in pieces of step bytes (0: all at once).  An error is
// kept by the parser and reported by llmcost_stream_finish().
static inline void
feed_pieces(
    llmcost_stream *s, const void *data, size_t len, size_t cut, size_t step)
{
	const char *p = data;
	size_t off = 0;

	if (cut > 0) {
		(void) llmcost_stream_feed(s, p, cut);
		off = cut;
	}
	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		(void) llmcost_stream_feed(s, p + off, n);
		off += n;
	}
}

#endif // LLMCOST_TEST_FEED_H
