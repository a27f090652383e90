// The provider stand-in's counted mode: token usage worked out from each
// request body (deterministic: the same body always gets the same
// counts), and response bodies and streams of each API that carry those
// counts, in the provider's own terms (OpenAI's and Gemini's totals
// include their cached and reasoning parts, Anthropic's and Bedrock's
// input excludes cache reads and writes, ...).
//
// Threading: reentrant; nothing is kept between calls.
#ifndef LLMCOST_TEST_COUNTED_H
#define LLMCOST_TEST_COUNTED_H

#include <stddef.h>
#include <stdint.h>

typedef enum counted_api {
	COUNTED_NONE = 0, // a route the counted mode does not serve
	COUNTED_CHAT,     // OpenAI Chat Completions (and compatible)
	COUNTED_RESPONSES,
	COUNTED_ANTHROPIC,
	COUNTED_GEMINI,
	COUNTED_BEDROCK,
} counted_api;

// What a response reports, split into llmcost's exclusive buckets as the
// API defines them: thinking that Anthropic counts inside output_tokens
// is in text, not in reasoning.
typedef struct counted_usage {
	uint64_t uncached, cache_read, write_5m, write_1h;
	uint64_t text, reasoning;
} counted_usage;

// The counts a request gets (rules in counted.c), and a 64-bit hash of
// its body in *hash (for ids), from the body's len bytes (NUL-terminated
// after them).
void counted_derive(counted_api api, const char *body, size_t len,
    counted_usage *u, uint64_t *hash);

// Writes into out (cap bytes, NUL-terminated) the response body of api
// for model, or its stream: server-sent events (Gemini with sse 0: the
// JSON array of streamGenerateContent; Bedrock: "event-type<TAB>json"
// lines, for evs_encode_lines).  A Chat Completions stream carries usage
// only with_usage (stream_options.include_usage).  Returns the length,
// or 0 when it does not fit.
size_t counted_body(counted_api api, const char *model, uint64_t hash,
    const counted_usage *u, char *out, size_t cap);
size_t counted_stream(counted_api api, int sse, int with_usage,
    const char *model, uint64_t hash, const counted_usage *u, char *out,
    size_t cap);

// Where the value of "key" starts in a JSON body (after the colon and
// spaces), or NULL: a flat search, enough for the requests the stand-in
// is sent.
const char *counted_json_value(const char *body, const char *key);

#endif // LLMCOST_TEST_COUNTED_H
