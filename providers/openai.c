// DESIGN: OpenAI's two response formats and the servers that copy them.
// Chat Completions (and OpenRouter, DeepSeek, vLLM, Groq, Mistral, ...)
// and the Responses API report inclusive totals: prompt_tokens /
// input_tokens include the cached tokens, the audio tokens and, from the
// GPT-5.6 family on, the cache writes (billed at 1.25x input *instead of*
// the input rate); completion_tokens / output_tokens include reasoning
// and audio.  Every bucket is therefore a subtraction from a total, and a
// part larger than its total is refused (LLMCOST_EPROTO) rather than
// clamped: a negative count silently turned into zero is exactly the
// kind of wrong number this code exists to prevent (the survey's
// LangSmith-sdk #1858 stored negative costs).  Two compatible servers
// differ: DeepSeek names the cache split prompt_cache_hit/miss_tokens,
// and a few servers report reasoning outside completion_tokens, which
// total_tokens reveals (total = prompt + completion + reasoning); both
// are read as what they are.  Streams: chat usage arrives in the chunk
// after the last finish_reason (stream_options.include_usage; Groq's
// older x_groq.usage in the last chunk is read the same way), Responses
// usage in response.completed / .incomplete / .failed.  Both state the
// service tier the request ran at (service_tier: flex and priority are
// billed at their own rates), which the call then carries.
#include <string.h>

#include "provider.h"

static const char *const chat_prefixes[] = { "", "x_groq.", NULL };

// Message kinds.  When a message names several (an event type and the
// status inside it), the driver keeps the highest.
enum { KIND_NONE, KIND_ERROR, KIND_DONE, KIND_FAILED };

static const llmcost__field chat_fields[] = {
	LLMCOST__FIELD("usage", K_OBJ_FLAG, EV_USAGE),
	LLMCOST__FIELD("usage.prompt_tokens", K_COUNT, C_IN),
	LLMCOST__FIELD("usage.completion_tokens", K_COUNT, C_OUT),
	LLMCOST__FIELD("usage.total_tokens", K_COUNT, C_TOTAL),
	LLMCOST__FIELD(
	    "usage.prompt_tokens_details.cached_tokens", K_COUNT, C_IN_CACHED),
	LLMCOST__FIELD(
	    "usage.prompt_tokens_details.audio_tokens", K_COUNT, C_IN_AUDIO),
	LLMCOST__FIELD("usage.prompt_tokens_details.cache_write_tokens",
	    K_COUNT, C_IN_WRITE),
	LLMCOST__FIELD("usage.completion_tokens_details.reasoning_tokens",
	    K_COUNT, C_OUT_REASONING),
	LLMCOST__FIELD("usage.completion_tokens_details.audio_tokens", K_COUNT,
	    C_OUT_AUDIO),
	LLMCOST__FIELD("usage.prompt_cache_hit_tokens", K_COUNT, C_IN_HIT),
	LLMCOST__FIELD("usage.prompt_cache_miss_tokens", K_COUNT, C_IN_MISS),
	LLMCOST__FIELD("usage.cost", K_PUSD, C_COST),
	LLMCOST__FIELD("usage.is_byok", K_BOOL, C_BYOK),
	LLMCOST__FIELD(
	    "usage.cost_details.upstream_inference_cost", K_PUSD, C_UPSTREAM),
	LLMCOST__FIELD("model", K_MODEL, 0),
	LLMCOST__COUNT_IF("service_tier", C_TIER_FLEX, "flex"),
	LLMCOST__COUNT_IF("service_tier", C_TIER_PRIO, "priority"),
	// The body's id names the completion; Groq's x_groq.id (priority
	// 2 through the prefix) is its request id.
	LLMCOST__FIELD("id", K_ID, 1),
	LLMCOST__BARE("choices[].finish_reason", K_STR_FLAG, EV_FINISH),
	LLMCOST__BARE("error", K_OBJ_FLAG, EV_ERROR),
	LLMCOST__BARE("object", K_KIND, 0),
};

static uint8_t
chat_kind(const char *s, size_t n)
{
	// vLLM and others answer errors as {"object": "error", ...}.
	return (n == 5 && memcmp(s, "error", 5) == 0 ? KIND_ERROR : KIND_NONE);
}

static void
chat_commit(llmcost__acc *a)
{
	if ((a->ev_flags & EV_ERROR) || a->ev_kind == KIND_ERROR) {
		a->flags |= F_ERROR;
	}
	if (a->ev_flags & EV_USAGE) {
		llmcost__acc_take_all(a);
		a->flags |= F_USAGE;
	}
	if (a->ev_flags & EV_FINISH) {
		a->flags |= F_FINISH;
	}
	llmcost__acc_take_names(a);
}

static int
chat_complete(const llmcost__acc *a)
{
	if (!a->streaming) {
		return ((a->flags & F_USAGE) != 0);
	}
	// Usage follows the last finish_reason; servers that send usage
	// in every chunk also send it in the finishing one.
	return ((a->flags & F_USAGE) && (a->flags & (F_FINISH | F_DONE)));
}

// The shared conversion: in_total and out_total are inclusive.
static int
inclusive_buckets(const llmcost__acc *a, llmcost_response *r)
{
	uint64_t *t = r->usage.tokens;
	uint64_t in = CNT(a, C_IN), out = CNT(a, C_OUT);
	uint64_t cached = CNT(a, C_IN_CACHED);
	uint64_t reasoning = CNT(a, C_OUT_REASONING);
	uint64_t rest;
	int rv;

	// DeepSeek: the hit count is the cache read (its cached_tokens,
	// when also sent, is the same number), and hit + miss the input.
	if (HAVE(a, C_IN_HIT)) {
		cached = CNT(a, C_IN_HIT);
		if (!HAVE(a, C_IN) && HAVE(a, C_IN_MISS)
		    && (rv = llmcost__add(cached, CNT(a, C_IN_MISS), &in))
		        != 0) {
			return (rv);
		}
	}
	// A server whose total shows reasoning outside the completion
	// count: read it as exclusive.
	uint64_t sum;
	if (HAVE(a, C_TOTAL) && reasoning > 0
	    && llmcost__add(in, out, &sum) == 0
	    && llmcost__add(sum, reasoning, &sum) == 0
	    && CNT(a, C_TOTAL) == sum) {
		out += reasoning; // <= sum: cannot overflow
	}
	t[LLMCOST_IN_CACHE_READ] = cached;
	t[LLMCOST_IN_CACHE_WRITE_5M] = CNT(a, C_IN_WRITE);
	t[LLMCOST_IN_AUDIO] = CNT(a, C_IN_AUDIO);
	t[LLMCOST_IN_IMAGE] = CNT(a, C_IN_IMAGE);
	rest = in;
	if ((rv = llmcost__sub(rest, cached, &rest)) != 0
	    || (rv = llmcost__sub(rest, CNT(a, C_IN_WRITE), &rest)) != 0
	    || (rv = llmcost__sub(rest, CNT(a, C_IN_AUDIO), &rest)) != 0
	    || (rv = llmcost__sub(rest, CNT(a, C_IN_IMAGE), &rest)) != 0) {
		return (rv);
	}
	t[LLMCOST_IN_UNCACHED] = rest;
	t[LLMCOST_OUT_REASONING] = reasoning;
	t[LLMCOST_OUT_AUDIO] = CNT(a, C_OUT_AUDIO);
	rest = out;
	if ((rv = llmcost__sub(rest, reasoning, &rest)) != 0
	    || (rv = llmcost__sub(rest, CNT(a, C_OUT_AUDIO), &rest)) != 0) {
		return (rv);
	}
	t[LLMCOST_OUT_TEXT] = rest;
	r->fees[LLMCOST_FEE_WEB_SEARCH] = CNT(a, C_WEB_SEARCH);
	// The tier the response says it was processed at ("default",
	// "auto" and "scale" are the standard rate).
	r->service_tier = HAVE(a, C_TIER_PRIO) ? LLMCOST_TIER_PRIORITY
	    : HAVE(a, C_TIER_FLEX)             ? LLMCOST_TIER_FLEX
	                                       : LLMCOST_TIER_STANDARD;
	return (llmcost__take_cost(a, r));
}

const llmcost__fmt llmcost__fmt_openai_chat = {
	.framing = FR_SSE,
	.prefixes = chat_prefixes,
	.fields = chat_fields,
	.n_fields = sizeof(chat_fields) / sizeof(chat_fields[0]),
	.kind = chat_kind,
	.commit = chat_commit,
	.complete = chat_complete,
	.buckets = inclusive_buckets,
};

// The Responses API: a body is the response object; a stream wraps it
// as {"type": "response.completed", "response": {...}}.
static const char *const resp_prefixes[] = { "", "response.", NULL };

static const llmcost__field resp_fields[] = {
	LLMCOST__FIELD("usage", K_OBJ_FLAG, EV_USAGE),
	LLMCOST__FIELD("usage.input_tokens", K_COUNT, C_IN),
	LLMCOST__FIELD("usage.output_tokens", K_COUNT, C_OUT),
	LLMCOST__FIELD("usage.total_tokens", K_COUNT, C_TOTAL),
	LLMCOST__FIELD(
	    "usage.input_tokens_details.cached_tokens", K_COUNT, C_IN_CACHED),
	LLMCOST__FIELD("usage.input_tokens_details.cache_write_tokens",
	    K_COUNT, C_IN_WRITE),
	LLMCOST__FIELD(
	    "usage.input_tokens_details.audio_tokens", K_COUNT, C_IN_AUDIO),
	LLMCOST__FIELD("usage.output_tokens_details.reasoning_tokens", K_COUNT,
	    C_OUT_REASONING),
	LLMCOST__FIELD(
	    "usage.output_tokens_details.audio_tokens", K_COUNT, C_OUT_AUDIO),
	LLMCOST__COUNT_IF("output[].type", C_WEB_SEARCH, "web_search_call"),
	LLMCOST__COUNT_IF("service_tier", C_TIER_FLEX, "flex"),
	LLMCOST__COUNT_IF("service_tier", C_TIER_PRIO, "priority"),
	LLMCOST__FIELD("model", K_MODEL, 0),
	LLMCOST__FIELD("id", K_ID, 1),
	LLMCOST__FIELD("status", K_KIND, 0),
	LLMCOST__FIELD("error", K_OBJ_FLAG, EV_ERROR),
	LLMCOST__BARE("type", K_KIND, 0),
};

static uint8_t
resp_kind(const char *s, size_t n)
{
	static const struct {
		const char *s;
		uint8_t kind;
	} kinds[] = {
		{ "response.completed", KIND_DONE },
		{ "response.incomplete", KIND_DONE },
		{ "response.failed", KIND_FAILED },
		{ "error", KIND_ERROR },
		// The response object's status.
		{ "completed", KIND_DONE },
		{ "incomplete", KIND_DONE },
		{ "failed", KIND_FAILED },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].s) == n && memcmp(kinds[i].s, s, n) == 0) {
			return (kinds[i].kind);
		}
	}
	return (KIND_NONE);
}

static void
resp_commit(llmcost__acc *a)
{
	if (a->ev_kind == KIND_FAILED || a->ev_kind == KIND_ERROR
	    || (a->ev_flags & EV_ERROR)) {
		a->flags |= F_ERROR;
	}
	if (a->ev_kind == KIND_DONE || a->ev_kind == KIND_FAILED) {
		a->flags |= F_FINISH;
	}
	if (a->ev_flags & EV_USAGE) {
		llmcost__acc_take_all(a);
		a->flags |= F_USAGE;
	}
	llmcost__acc_take_names(a);
}

static int
resp_complete(const llmcost__acc *a)
{
	if (!a->streaming) {
		return ((a->flags & F_USAGE) != 0);
	}
	return ((a->flags & F_USAGE) && (a->flags & F_FINISH));
}

const llmcost__fmt llmcost__fmt_openai_responses = {
	.framing = FR_SSE,
	.prefixes = resp_prefixes,
	.fields = resp_fields,
	.n_fields = sizeof(resp_fields) / sizeof(resp_fields[0]),
	.kind = resp_kind,
	.commit = resp_commit,
	.complete = resp_complete,
	.buckets = inclusive_buckets,
};
