// DESIGN: a libFuzzer target for the provider parsers, built once per
// format and mode (FUZZ_FORMAT, FUZZ_STREAM, and FUZZ_EVENTS for
// Bedrock; providers/fuzz/CMakeLists.txt).
// Besides "no crash, no out-of-bounds access, no leak, no undefined
// behaviour" (ASan and UBSan), it checks the parsers' contract on every
// input, and abort()s on a violation:
//
// - a body: success means usage (or a provider error) was read; any
//   failure reports zero usage flagged missing; flags, status, model and
//   request id are always well-formed (known bits, NUL-terminated UTF-8);
// - a stream: the same bytes fed whole, in two pieces cut at a point the
//   input chooses, and byte by byte give the same result and the same
//   return code (the parsers resume at any byte); an incomplete result is
//   aborted and flagged, never silent;
// - Bedrock's event stream: the input is also read as ".events" lines
//   ("event-type<TAB>json") and framed with valid CRCs, so that the JSON
//   inside frames gets fuzzed too, not only the CRC checks.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evs_encode.h"
#include "feed.h"
#include "llmcost.h"
#include "llmcost_common.h"
#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_response(const llmcost_response *r, int rv)
{
	size_t ml = strnlen(r->model, sizeof(r->model));
	size_t il = strnlen(r->request_id, sizeof(r->request_id));
	if (ml == sizeof(r->model) || il == sizeof(r->request_id)
	    || !llmcost__utf8_valid(r->model, ml)
	    || !llmcost__utf8_valid(r->request_id, il)) {
		abort();
	}
	if ((r->usage_flags & ~LLMCOST_USAGE_FLAGS) != 0
	    || (unsigned) r->status > LLMCOST_STATUS_ABORTED
	    || r->provider_cost_pusd < LLMCOST_COST_NONE) {
		abort();
	}
	if (r->usage_flags == LLMCOST_USAGE_MISSING) {
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			if (r->usage.tokens[b] != 0) {
				abort();
			}
		}
	}
	if (rv == LLMCOST_EINVAL) {
		abort();
	}
}

static void
body(const uint8_t *data, size_t size)
{
	llmcost_response r;
	int rv = llmcost_response_parse(FUZZ_FORMAT, data, size, &r);
	check_response(&r, rv);
	if (rv != 0) {
		if (r.usage_flags != LLMCOST_USAGE_MISSING) {
			abort();
		}
	} else if (r.usage_flags != 0) {
		abort();
	}
}

static int
stream(const uint8_t *data, size_t size, size_t cut, size_t step,
    llmcost_response *r)
{
	llmcost_stream s;
	if (llmcost_stream_init(&s, FUZZ_FORMAT) != 0) {
		abort();
	}
	feed_pieces(&s, data, size, cut, step);
	int rv = llmcost__stream_result(&s, r);
	check_response(r, rv);
	if (rv == LLMCOST_EINCOMPLETE
	    && (r->status != LLMCOST_STATUS_ABORTED || r->usage_flags == 0)) {
		abort();
	}
	return (rv);
}

static void
streams(const uint8_t *data, size_t size)
{
	llmcost_response a, b, c;
	int ra = stream(data, size, 0, 0, &a);
	size_t cut = size > 0 ? data[0] % size : 0;
	int rb = stream(data, size, cut, 0, &b);
	if (ra != rb || memcmp(&a, &b, sizeof(a)) != 0) {
		abort();
	}
	if (size <= 8192) {
		int rc = stream(data, size, 0, 1, &c);
		if (ra != rc || memcmp(&a, &c, sizeof(a)) != 0) {
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if FUZZ_STREAM
	streams(data, size);
#if FUZZ_EVENTS
	if (size < 32768) {
		static uint8_t framed[1 << 17];
		char *text = malloc(size + 1);
		if (text == NULL) {
			return (0);
		}
		memcpy(text, data, size);
		text[size] = '\0';
		size_t n = evs_encode_lines(framed, sizeof(framed), text);
		free(text);
		if (n > 0) {
			streams(framed, n);
		}
	}
#endif
#else
	body(data, size);
#endif
	return (0);
}
