// DESIGN: AWS Bedrock Converse and ConverseStream.  usage.inputTokens
// *excludes* cacheReadInputTokens and cacheWriteInputTokens (the survey's
// LangSmith-sdk #1858 subtracted the reads from it and stored negative
// costs), so every count maps to one bucket as reported; a write is a
// 5-minute write, Bedrock's default lifetime.  The body names no model:
// the call keeps the model id the application began it with.
// ConverseStream is an AWS event stream (evstream.c), not SSE: each
// message's :event-type header names it, its payload is the event's JSON
// (e.g. metadata = {"usage": {...}, "metrics": {...}}), and an
// :message-type of "exception" or "error" is a failure the provider
// reports.  Usage arrives in the metadata event, after messageStop.
#include <string.h>

#include "provider.h"

// "metadata." too, for a payload written wrapped in its event name.
static const char *const prefixes[] = { "", "metadata.", NULL };

enum { KIND_NONE, KIND_STOP, KIND_METADATA };

static const llmcost__field fields[] = {
	LLMCOST__FIELD("usage", K_OBJ_FLAG, EV_USAGE),
	LLMCOST__FIELD("usage.inputTokens", K_COUNT, C_IN),
	LLMCOST__FIELD("usage.outputTokens", K_COUNT, C_OUT),
	LLMCOST__FIELD("usage.totalTokens", K_COUNT, C_TOTAL),
	LLMCOST__FIELD("usage.cacheReadInputTokens", K_COUNT, C_IN_CACHED),
	LLMCOST__FIELD("usage.cacheWriteInputTokens", K_COUNT, C_IN_WRITE),
	LLMCOST__BARE("stopReason", K_STR_FLAG, EV_FINISH),
};

static uint8_t
kind(const char *s, size_t n)
{
	if (n == 11 && memcmp(s, "messageStop", 11) == 0) {
		return (KIND_STOP);
	}
	if (n == 8 && memcmp(s, "metadata", 8) == 0) {
		return (KIND_METADATA);
	}
	return (KIND_NONE);
}

static void
commit(llmcost__acc *a)
{
	if (a->ev_flags & EV_USAGE) {
		llmcost__acc_take_all(a);
		a->flags |= F_USAGE;
	}
	if ((a->ev_flags & EV_FINISH) || a->ev_kind == KIND_STOP) {
		a->flags |= F_FINISH;
	}
	if (a->ev_flags & EV_ERROR) {
		a->flags |= F_ERROR;
	}
}

static int
complete(const llmcost__acc *a)
{
	return ((a->flags & F_USAGE) != 0);
}

static int
buckets(const llmcost__acc *a, llmcost_response *r)
{
	uint64_t *t = r->usage.tokens;
	t[LLMCOST_IN_UNCACHED] = CNT(a, C_IN);
	t[LLMCOST_IN_CACHE_READ] = CNT(a, C_IN_CACHED);
	t[LLMCOST_IN_CACHE_WRITE_5M] = CNT(a, C_IN_WRITE);
	t[LLMCOST_OUT_TEXT] = CNT(a, C_OUT);
	return (0);
}

const llmcost__fmt llmcost__fmt_bedrock = {
	.framing = FR_EVS,
	.prefixes = prefixes,
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.kind = kind,
	.commit = commit,
	.complete = complete,
	.buckets = buckets,
};
