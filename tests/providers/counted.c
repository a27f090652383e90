// DESIGN: the stand-in's counted mode (llmcost-provider-standin --count),
// for the demo and its end-to-end test: instead of replaying a golden
// body, every request gets usage of its own, worked out from its body
// alone, so that a run is reproducible and each call's numbers differ.
// The rules stand in for what a provider's tokenizer and cache decide:
//
//   h        = FNV-1a 64 of the body
//   prompt   = one token per 4 bytes of the body (at least 1)
//   output   = 40..100 % (by h) of the request's output cap
//              (max_tokens, max_completion_tokens, max_output_tokens,
//              maxOutputTokens, maxTokens), else 16..255
//   cached   = with the API's cache marker in the body (OpenAI
//              prompt_cache_key, Anthropic cache_control, Gemini
//              cachedContent, Bedrock cachePoint): 30..70 % of the
//              prompt, in steps of 128 tokens for OpenAI and Gemini;
//              one request in 8 (h % 8 == 0) misses instead, and
//              Anthropic and Bedrock then report a cache write (1-hour
//              when the body says "ttl":"1h")
//   thinking = with the API's reasoning option (reasoning_effort,
//              reasoning, thinking, thinkingConfig): 20..60 % of the
//              output; Anthropic counts it inside output_tokens
//
// The bodies and streams written here follow the shapes of the golden
// fixtures in providers/tests/data, with the counts put where each API
// puts them, so the parsers read them exactly as a provider's.  Buffers
// are the caller's, bounded by cap; nothing is allocated.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counted.h"

static const struct api_rules {
	const char *cache_marker, *reasoning_marker;
	int cache_step; // cached tokens come in steps of this many
	int writes;     // a miss is reported as a cache write
} rules[] = {
	[COUNTED_CHAT]
	= { "\"prompt_cache_key\"", "\"reasoning_effort\"", 128, 0 },
	[COUNTED_RESPONSES]
	= { "\"prompt_cache_key\"", "\"reasoning\"", 128, 0 },
	[COUNTED_ANTHROPIC] = { "\"cache_control\"", "\"thinking\"", 1, 1 },
	[COUNTED_GEMINI]
	= { "\"cachedContent\"", "\"thinkingConfig\"", 128, 0 },
	[COUNTED_BEDROCK] = { "\"cachePoint\"", NULL, 1, 1 },
};

static const char *const cap_keys[] = { "max_completion_tokens",
	"max_output_tokens", "max_tokens", "maxOutputTokens", "maxTokens" };

const char *
counted_json_value(const char *body, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(body, pat);
	if (p == NULL) {
		return (NULL);
	}
	p += strlen(pat);
	while (*p == ' ' || *p == ':') {
		p++;
	}
	return (p);
}

void
counted_derive(counted_api api, const char *body, size_t len, counted_usage *u,
    uint64_t *hash)
{
	const struct api_rules *r = &rules[api];
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ (unsigned char) body[i]) * 1099511628211ull;
	}
	*hash = h;
	memset(u, 0, sizeof(*u));

	uint64_t prompt = len < 4 ? 1 : (len + 3) / 4;
	uint64_t cap = 0, out;
	for (size_t i = 0;
	     cap == 0 && i < sizeof(cap_keys) / sizeof(cap_keys[0]); i++) {
		const char *v = counted_json_value(body, cap_keys[i]);
		cap = v != NULL ? strtoull(v, NULL, 10) : 0;
	}
	out = cap > 0 ? cap * (40 + (h >> 40) % 61) / 100
	              : 16 + (h >> 40) % 240;
	out = out > 0 ? out : 1;

	uint64_t cached = 0;
	if (r->cache_marker != NULL && strstr(body, r->cache_marker) != NULL) {
		cached = prompt * (30 + (h >> 8) % 41) / 100;
		cached -= cached % (uint64_t) r->cache_step;
	}
	if (cached > 0 && h % 8 == 0) {
		if (!r->writes) {
			cached = 0; // a miss, all of it uncached
		} else if (api == COUNTED_ANTHROPIC
		    && strstr(body, "\"ttl\":\"1h\"") != NULL) {
			u->write_1h = cached;
		} else {
			u->write_5m = cached;
		}
	} else {
		u->cache_read = cached;
	}
	u->uncached = prompt - cached;

	if (r->reasoning_marker != NULL
	    && strstr(body, r->reasoning_marker) != NULL) {
		u->reasoning = out * (20 + (h >> 20) % 41) / 100;
	}
	u->text = out - u->reasoning;
	if (api == COUNTED_ANTHROPIC) {
		u->text = out; // thinking is billed as output
		u->reasoning = 0;
	}
}

typedef struct outbuf {
	char *p;
	size_t cap, len;
	int over;
} outbuf;

static void put(outbuf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(outbuf *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= o->cap - o->len) {
		o->over = 1;
		return;
	}
	o->len += (size_t) n;
}

static size_t
done(outbuf *o)
{
	return (o->over ? 0 : o->len);
}

#define U64(v) ((unsigned long long) (v))

// The answer's text, in three pieces for the streams.
static const char *const words[] = { "Counted", " by the", " stand-in." };

// ---- OpenAI Chat Completions ----

static void
chat_usage(outbuf *o, const counted_usage *u)
{
	uint64_t in = u->uncached + u->cache_read;
	uint64_t out = u->text + u->reasoning;
	put(o,
	    "\"usage\":{\"prompt_tokens\":%llu,\"completion_tokens\":%llu,"
	    "\"total_tokens\":%llu,\"prompt_tokens_details\":{"
	    "\"cached_tokens\":%llu,\"audio_tokens\":0},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":%llu,"
	    "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
	    "\"rejected_prediction_tokens\":0}}",
	    U64(in), U64(out), U64(in + out), U64(u->cache_read),
	    U64(u->reasoning));
}

static size_t
chat_body(outbuf *o, const char *model, uint64_t h, const counted_usage *u)
{
	put(o,
	    "{\"id\":\"chatcmpl-standin%016llx\",\"object\":\"chat."
	    "completion\","
	    "\"created\":1767225600,\"model\":\"%s\",\"choices\":[{\"index\":"
	    "0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"%s%s%s\","
	    "\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
	    "\"finish_reason\":\"stop\"}],",
	    U64(h), model, words[0], words[1], words[2]);
	chat_usage(o, u);
	put(o,
	    ",\"service_tier\":\"default\",\"system_fingerprint\":"
	    "\"fp_standin\"}\n");
	return (done(o));
}

static size_t
chat_stream(outbuf *o, int with_usage, const char *model, uint64_t h,
    const counted_usage *u)
{
	static const char head[]
	    = "data: {\"id\":\"chatcmpl-standin%016llx\",\"object\":"
	      "\"chat.completion.chunk\",\"created\":1767225600,\"model\":"
	      "\"%s\",\"system_fingerprint\":\"fp_standin\",\"choices\":";
	for (size_t i = 0; i < 3; i++) {
		put(o, head, U64(h), model);
		put(o,
		    "[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
		    "\"logprobs\":null,\"finish_reason\":null}],"
		    "\"usage\":null}\n\n",
		    words[i]);
	}
	put(o, head, U64(h), model);
	put(o,
	    "[{\"index\":0,\"delta\":{},\"logprobs\":null,"
	    "\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
	if (with_usage) {
		put(o, head, U64(h), model);
		put(o, "[],");
		chat_usage(o, u);
		put(o, "}\n\n");
	}
	put(o, "data: [DONE]\n\n");
	return (done(o));
}

// ---- OpenAI Responses API ----

static void
responses_object(outbuf *o, const char *model, uint64_t h,
    const counted_usage *u, int completed)
{
	uint64_t in = u->uncached + u->cache_read;
	uint64_t out = u->text + u->reasoning;
	put(o,
	    "{\"id\":\"resp_standin%016llx\",\"object\":\"response\","
	    "\"created_at\":1767225600,\"status\":\"%s\",\"error\":null,"
	    "\"model\":\"%s\",\"output\":[",
	    U64(h), completed ? "completed" : "in_progress", model);
	if (completed) {
		if (u->reasoning > 0) {
			put(o,
			    "{\"id\":\"rs_standin%016llx\",\"type\":"
			    "\"reasoning\",\"summary\":[]},",
			    U64(h));
		}
		put(o,
		    "{\"type\":\"message\",\"id\":\"msg_standin%016llx\","
		    "\"status\":\"completed\",\"role\":\"assistant\","
		    "\"content\":[{\"type\":\"output_text\",\"text\":"
		    "\"%s%s%s\",\"annotations\":[]}]}",
		    U64(h), words[0], words[1], words[2]);
	}
	put(o, "],\"usage\":");
	if (completed) {
		put(o,
		    "{\"input_tokens\":%llu,\"input_tokens_details\":{"
		    "\"cached_tokens\":%llu},\"output_tokens\":%llu,"
		    "\"output_tokens_details\":{\"reasoning_tokens\":%llu},"
		    "\"total_tokens\":%llu}}",
		    U64(in), U64(u->cache_read), U64(out), U64(u->reasoning),
		    U64(in + out));
	} else {
		put(o, "null}");
	}
}

static size_t
responses_stream(
    outbuf *o, const char *model, uint64_t h, const counted_usage *u)
{
	put(o,
	    "event: response.created\ndata: {\"type\":\"response.created\","
	    "\"response\":");
	responses_object(o, model, h, u, 0);
	put(o, ",\"sequence_number\":0}\n\n");
	for (size_t i = 0; i < 3; i++) {
		put(o,
		    "event: response.output_text.delta\ndata: {\"type\":"
		    "\"response.output_text.delta\",\"item_id\":"
		    "\"msg_standin%016llx\",\"output_index\":0,"
		    "\"content_index\":0,\"delta\":\"%s\","
		    "\"sequence_number\":%zu}\n\n",
		    U64(h), words[i], i + 1);
	}
	put(o,
	    "event: response.completed\ndata: {\"type\":"
	    "\"response.completed\",\"response\":");
	responses_object(o, model, h, u, 1);
	put(o, ",\"sequence_number\":4}\n\n");
	return (done(o));
}

// ---- Anthropic Messages ----

static void
anthropic_usage(outbuf *o, const counted_usage *u, uint64_t output)
{
	put(o,
	    "\"usage\":{\"input_tokens\":%llu,\"cache_creation_input_tokens\":"
	    "%llu,\"cache_read_input_tokens\":%llu,\"cache_creation\":{"
	    "\"ephemeral_5m_input_tokens\":%llu,\"ephemeral_1h_input_tokens\":"
	    "%llu},\"output_tokens\":%llu,\"service_tier\":\"standard\"}",
	    U64(u->uncached), U64(u->write_5m + u->write_1h),
	    U64(u->cache_read), U64(u->write_5m), U64(u->write_1h),
	    U64(output));
}

static size_t
anthropic_body(
    outbuf *o, const char *model, uint64_t h, const counted_usage *u)
{
	put(o,
	    "{\"id\":\"msg_standin%016llx\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"%s\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"%s%s%s\"}],\"stop_reason\":\"end_turn\","
	    "\"stop_sequence\":null,",
	    U64(h), model, words[0], words[1], words[2]);
	anthropic_usage(o, u, u->text);
	put(o, "}\n");
	return (done(o));
}

static size_t
anthropic_stream(
    outbuf *o, const char *model, uint64_t h, const counted_usage *u)
{
	put(o,
	    "event: message_start\ndata: {\"type\":\"message_start\","
	    "\"message\":{\"id\":\"msg_standin%016llx\",\"type\":\"message\","
	    "\"role\":\"assistant\",\"model\":\"%s\",\"content\":[],"
	    "\"stop_reason\":null,\"stop_sequence\":null,",
	    U64(h), model);
	anthropic_usage(o, u, 1);
	put(o,
	    "}}\n\nevent: content_block_start\ndata: {\"type\":"
	    "\"content_block_start\",\"index\":0,\"content_block\":{"
	    "\"type\":\"text\",\"text\":\"\"}}\n\n");
	for (size_t i = 0; i < 3; i++) {
		put(o,
		    "event: content_block_delta\ndata: {\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		    "\"text_delta\",\"text\":\"%s\"}}\n\n",
		    words[i]);
	}
	put(o,
	    "event: content_block_stop\ndata: {\"type\":"
	    "\"content_block_stop\",\"index\":0}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\","
	    "\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	    "\"usage\":{\"output_tokens\":%llu}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	    U64(u->text));
	return (done(o));
}

// ---- Gemini ----

// One generateContent object; with last 0, a stream's early chunk (the
// prompt counted, no output yet).
static void
gemini_object(outbuf *o, const char *model, uint64_t h, const counted_usage *u,
    const char *text, int last)
{
	uint64_t prompt = u->uncached + u->cache_read;
	put(o,
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"%s\"}],"
	    "\"role\":\"model\"},%s\"index\":0}],\"usageMetadata\":{"
	    "\"promptTokenCount\":%llu,",
	    text, last ? "\"finishReason\":\"STOP\"," : "", U64(prompt));
	if (last) {
		put(o, "\"candidatesTokenCount\":%llu,", U64(u->text));
	}
	put(o, "\"totalTokenCount\":%llu,",
	    U64(prompt + (last ? u->text + u->reasoning : 0)));
	if (last && u->cache_read > 0) {
		put(o,
		    "\"cachedContentTokenCount\":%llu,\"cacheTokensDetails\":"
		    "[{\"modality\":\"TEXT\",\"tokenCount\":%llu}],",
		    U64(u->cache_read), U64(u->cache_read));
	}
	if (last && u->reasoning > 0) {
		put(o, "\"thoughtsTokenCount\":%llu,", U64(u->reasoning));
	}
	put(o,
	    "\"promptTokensDetails\":[{\"modality\":\"TEXT\","
	    "\"tokenCount\":%llu}]},\"modelVersion\":\"%s\","
	    "\"responseId\":\"standin%016llx\"}",
	    U64(prompt), model, U64(h));
}

static size_t
gemini_stream(
    outbuf *o, int sse, const char *model, uint64_t h, const counted_usage *u)
{
	put(o, sse ? "" : "[");
	for (size_t i = 0; i < 3; i++) {
		put(o, sse ? "data: " : i > 0 ? ",\r\n" : "");
		gemini_object(o, model, h, u, words[i], i == 2);
		put(o, sse ? "\r\n\r\n" : "");
	}
	put(o, sse ? "" : "]");
	return (done(o));
}

// ---- Bedrock Converse ----

static void
bedrock_usage(outbuf *o, const counted_usage *u)
{
	put(o,
	    "\"usage\":{\"cacheReadInputTokens\":%llu,"
	    "\"cacheWriteInputTokens\":%llu,\"inputTokens\":%llu,"
	    "\"outputTokens\":%llu,\"totalTokens\":%llu}",
	    U64(u->cache_read), U64(u->write_5m), U64(u->uncached),
	    U64(u->text),
	    U64(u->cache_read + u->write_5m + u->uncached + u->text));
}

static size_t
bedrock_stream(outbuf *o, const counted_usage *u)
{
	put(o, "messageStart\t{\"role\":\"assistant\"}\n");
	for (size_t i = 0; i < 3; i++) {
		put(o,
		    "contentBlockDelta\t{\"contentBlockIndex\":0,\"delta\":{"
		    "\"text\":\"%s\"}}\n",
		    words[i]);
	}
	put(o,
	    "contentBlockStop\t{\"contentBlockIndex\":0}\n"
	    "messageStop\t{\"stopReason\":\"end_turn\"}\n"
	    "metadata\t{\"metrics\":{\"latencyMs\":812},");
	bedrock_usage(o, u);
	put(o, "}\n");
	return (done(o));
}

size_t
counted_body(counted_api api, const char *model, uint64_t hash,
    const counted_usage *u, char *out, size_t cap)
{
	outbuf o = { out, cap, 0, 0 };
	switch (api) {
	case COUNTED_CHAT:
		return (chat_body(&o, model, hash, u));
	case COUNTED_RESPONSES:
		responses_object(&o, model, hash, u, 1);
		put(&o, "\n");
		return (done(&o));
	case COUNTED_ANTHROPIC:
		return (anthropic_body(&o, model, hash, u));
	case COUNTED_GEMINI:
		gemini_object(
		    &o, model, hash, u, "Counted by the stand-in.", 1);
		put(&o, "\n");
		return (done(&o));
	case COUNTED_BEDROCK:
		put(&o,
		    "{\"metrics\":{\"latencyMs\":812},\"output\":{\"message\":"
		    "{\"content\":[{\"text\":\"%s%s%s\"}],\"role\":"
		    "\"assistant\"}},\"stopReason\":\"end_turn\",",
		    words[0], words[1], words[2]);
		bedrock_usage(&o, u);
		put(&o, "}");
		return (done(&o));
	default:
		return (0);
	}
}

size_t
counted_stream(counted_api api, int sse, int with_usage, const char *model,
    uint64_t hash, const counted_usage *u, char *out, size_t cap)
{
	outbuf o = { out, cap, 0, 0 };
	switch (api) {
	case COUNTED_CHAT:
		return (chat_stream(&o, with_usage, model, hash, u));
	case COUNTED_RESPONSES:
		return (responses_stream(&o, model, hash, u));
	case COUNTED_ANTHROPIC:
		return (anthropic_stream(&o, model, hash, u));
	case COUNTED_GEMINI:
		return (gemini_stream(&o, sse, model, hash, u));
	case COUNTED_BEDROCK:
		return (bedrock_stream(&o, u));
	default:
		return (0);
	}
}
