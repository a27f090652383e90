// DESIGN: Anthropic Messages.  Unlike OpenAI, input_tokens *excludes*
// the cache: reads and writes are reported beside it, writes split by
// lifetime in cache_creation (5 minutes at 1.25x input, 1 hour at 2x).
// The survey's bug reports come from getting this wrong: LiteLLM #9812
// billed cache_creation_input_tokens twice (once as input), LiteLLM
// #42663 priced only the message_start breakdown of a streamed request
// whose server tools wrote more cache later.  So the total
// cache_creation_input_tokens is authoritative: the 1-hour part is what
// the breakdown says, and everything else of the total is a 5-minute
// write (the default lifetime; also when the breakdown is missing, or
// is 0/0 as on some web_search turns).  A breakdown larger than its
// total is refused.  Streams split usage: message_start carries the
// input side (and output_tokens 1), message_delta the cumulative final
// counts, which replace those of message_start field by field.
#include <string.h>

#include "provider.h"

static const char *const prefixes[] = { "", "message.", NULL };

enum {
	KIND_NONE,
	KIND_MESSAGE,
	KIND_START,
	KIND_DELTA,
	KIND_STOP,
	KIND_ERROR
};

static const llmcost__field fields[] = {
	LLMCOST__FIELD("usage", K_OBJ_FLAG, EV_USAGE),
	LLMCOST__FIELD("usage.input_tokens", K_COUNT, C_IN),
	LLMCOST__FIELD("usage.output_tokens", K_COUNT, C_OUT),
	LLMCOST__FIELD("usage.cache_read_input_tokens", K_COUNT, C_IN_CACHED),
	LLMCOST__FIELD(
	    "usage.cache_creation_input_tokens", K_COUNT, C_IN_WRITE),
	LLMCOST__FIELD("usage.cache_creation.ephemeral_5m_input_tokens",
	    K_COUNT, C_IN_WRITE_5M),
	LLMCOST__FIELD("usage.cache_creation.ephemeral_1h_input_tokens",
	    K_COUNT, C_IN_WRITE_1H),
	LLMCOST__FIELD("usage.server_tool_use.web_search_requests", K_COUNT,
	    C_WEB_SEARCH),
	LLMCOST__FIELD("model", K_MODEL, 0),
	LLMCOST__FIELD("id", K_ID, 1),
	// Error bodies carry the request id itself.
	LLMCOST__BARE("request_id", K_ID, 2),
	LLMCOST__FIELD("stop_reason", K_STR_FLAG, EV_FINISH),
	LLMCOST__BARE("delta.stop_reason", K_STR_FLAG, EV_FINISH),
	LLMCOST__BARE("error", K_OBJ_FLAG, EV_ERROR),
	LLMCOST__BARE("type", K_KIND, 0),
};

static uint8_t
kind(const char *s, size_t n)
{
	static const struct {
		const char *s;
		uint8_t kind;
	} kinds[] = {
		{ "message", KIND_MESSAGE },
		{ "message_start", KIND_START },
		{ "message_delta", KIND_DELTA },
		{ "message_stop", KIND_STOP },
		{ "error", KIND_ERROR },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].s) == n && memcmp(kinds[i].s, s, n) == 0) {
			return (kinds[i].kind);
		}
	}
	return (KIND_NONE);
}

static void
commit(llmcost__acc *a)
{
	uint8_t k = a->ev_kind;
	// A body without "type" (some gateways strip it) is a message.
	if (!a->streaming && k == KIND_NONE) {
		k = KIND_MESSAGE;
	}
	switch (k) {
	case KIND_MESSAGE: // a whole body
	case KIND_START:
		if (a->ev_flags & EV_USAGE) {
			llmcost__acc_take_all(a);
			a->flags |= F_USAGE;
			if (k == KIND_MESSAGE) {
				a->flags |= F_FINAL;
			}
		}
		break;
	case KIND_DELTA:
		if (a->ev_flags & EV_USAGE) {
			llmcost__acc_take_reported(a);
			a->flags |= F_USAGE | F_FINAL;
		}
		break;
	case KIND_STOP:
		a->flags |= F_DONE;
		break;
	case KIND_ERROR:
		a->flags |= F_ERROR;
		break;
	default:
		break;
	}
	if (a->ev_flags & EV_ERROR) {
		a->flags |= F_ERROR;
	}
	if (a->ev_flags & EV_FINISH) {
		a->flags |= F_FINISH;
	}
	llmcost__acc_take_names(a);
}

static int
complete(const llmcost__acc *a)
{
	return ((a->flags & F_FINAL) != 0);
}

static int
buckets(const llmcost__acc *a, llmcost_response *r)
{
	uint64_t *t = r->usage.tokens;
	uint64_t w5 = CNT(a, C_IN_WRITE_5M), w1 = CNT(a, C_IN_WRITE_1H);
	uint64_t rest;
	int rv;

	if (HAVE(a, C_IN_WRITE)) {
		if ((rv = llmcost__sub(CNT(a, C_IN_WRITE), w1, &rest)) != 0) {
			return (rv);
		}
		// The total wins: the part without a lifetime is 5 minutes;
		// a breakdown above the total is malformed.
		if (w5 > rest) {
			return (LLMCOST_EPROTO);
		}
		w5 = rest;
	}
	t[LLMCOST_IN_UNCACHED] = CNT(a, C_IN);
	t[LLMCOST_IN_CACHE_READ] = CNT(a, C_IN_CACHED);
	t[LLMCOST_IN_CACHE_WRITE_5M] = w5;
	t[LLMCOST_IN_CACHE_WRITE_1H] = w1;
	t[LLMCOST_OUT_TEXT] = CNT(a, C_OUT);
	r->fees[LLMCOST_FEE_WEB_SEARCH] = CNT(a, C_WEB_SEARCH);
	return (0);
}

const llmcost__fmt llmcost__fmt_anthropic = {
	.framing = FR_SSE,
	.prefixes = prefixes,
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.kind = kind,
	.commit = commit,
	.complete = complete,
	.buckets = buckets,
};
