// The seam between the response driver (stream.c) and the format
// parsers (openai.c, anthropic.c, gemini.c, bedrock.c).  A format is a
// table of the JSON paths it reads plus three functions: commit (a
// message, i.e. a body, an SSE event or an event stream message, was
// read whole: fold what it said into the response), complete (is the
// usage final) and buckets (convert the provider's counts into the
// exclusive buckets).  Adding a format is one file and one line in
// stream.c's format list.
//
// Ownership: everything lives in the caller's llmcost_stream (or on the
// stack for a non-streamed body).  Threading: one thread at a time.
#ifndef LLMCOST_PROVIDERS_PROVIDER_H
#define LLMCOST_PROVIDERS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost.h"
#include "json.h"

// The provider's own counts, before conversion.  Which ones a format
// fills, and what its "input total" means, is the format's business.
enum llmcost__cnt {
	C_IN,          // input: the total, or (Anthropic, Bedrock) uncached
	C_IN_CACHED,   // read from a prompt cache
	C_IN_HIT,      // DeepSeek prompt_cache_hit_tokens
	C_IN_MISS,     // DeepSeek prompt_cache_miss_tokens
	C_IN_WRITE,    // written to a cache (all lifetimes)
	C_IN_WRITE_5M, // Anthropic's 5-minute writes
	C_IN_WRITE_1H, // Anthropic's 1-hour writes
	C_IN_AUDIO,
	C_IN_IMAGE,
	C_IN_TOOL,     // Gemini toolUsePromptTokenCount
	C_CACHE_AUDIO, // Gemini: the audio part of the cached tokens
	C_TOOL_AUDIO,  // Gemini: the audio part of the tool-use tokens
	C_OUT,         // output total
	C_OUT_REASONING,
	C_OUT_AUDIO,
	C_OUT_IMAGE,
	C_TOTAL,      // total_tokens, when reported
	C_WEB_SEARCH, // web searches billed per request
	C_COST,       // provider-reported cost, pico-USD
	C_UPSTREAM,   // OpenRouter BYOK upstream cost, pico-USD
	C_BYOK,       // 1: OpenRouter is_byok
	C_TIER_FLEX,  // OpenAI's service_tier said "flex"
	C_TIER_PRIO,  // OpenAI's service_tier said "priority"
	C_COUNT
};

typedef struct llmcost__counts {
	uint64_t v[C_COUNT];
	uint32_t have; // bit c: v[c] was reported
} llmcost__counts;

// What a message said, beyond counts (ev_flags).
#define EV_USAGE  0x01u // a usage object was present (not null)
#define EV_FINISH 0x02u // a finish or stop reason was present
#define EV_ERROR  0x04u // the provider reported an error

// What the response has said so far (flags).
#define F_USAGE  0x01u // usage was reported
#define F_FINAL  0x02u // usage reported as final (format-specific)
#define F_FINISH 0x04u // the model finished (a finish or stop reason)
#define F_ERROR  0x08u // the provider reported an error
#define F_DONE   0x10u // the stream's end marker ([DONE], message_stop)

#define LLMCOST__ID_MAX LLMCOST_MAX_REQUEST_ID

// A kept string: a model name or a request id.
typedef struct llmcost__text {
	uint16_t len;
	uint8_t prio; // a request id from a better source replaces one
	              // from a worse one
	uint8_t set;
	char s[LLMCOST_MAX_MODEL + 1];
} llmcost__text;

typedef struct llmcost__fmt llmcost__fmt;

// The accumulated response.  ev* describe the message being read;
// commit() folds them into the rest.
typedef struct llmcost__acc {
	const llmcost__fmt *fmt;
	uint8_t streaming;
	uint8_t ev_kind; // format-specific message kind
	uint8_t mod;     // Gemini: modality of the details entry being read
	uint8_t pad_;
	uint32_t ev_flags; // EV_*
	uint32_t flags;    // F_*
	uint64_t mod_count;
	// Bit n: some field's path (under some prefix) is n bytes long; a
	// value whose path length is not set is skipped at once.
	uint64_t path_lens[(LLMCOST__JSON_PATH_MAX + 64) / 64];
	llmcost__counts ev;
	llmcost__counts cur;
	llmcost__text ev_model;
	llmcost__text ev_id;
	llmcost__text model;
	llmcost__text id;
} llmcost__acc;

// Field kinds.
enum {
	K_COUNT,    // a token count into slot
	K_PUSD,     // a USD amount into slot, as pico-USD
	K_BOOL,     // true/false into slot as 1/0
	K_MODEL,    // the model name
	K_ID,       // a request id, with priority slot
	K_OBJ_FLAG, // an object here sets ev_flags |= slot
	K_STR_FLAG, // a string here sets ev_flags |= slot
	K_KIND,     // a string here names the message kind (fmt->kind)
	K_COUNT_IF, // a string equal to match adds 1 to slot
};

typedef struct llmcost__field {
	const char *path; // relative to one of the format's prefixes
	uint8_t len;      // strlen(path)
	uint8_t kind;     // K_*
	uint8_t slot;
	uint8_t bare;      // 1: only at the root, never under a prefix
	const char *match; // K_COUNT_IF
} llmcost__field;

#define LLMCOST__FIELD(p, k, s)                                               \
	{                                                                     \
		(p), sizeof(p) - 1, (k), (s), 0, NULL                         \
	}
#define LLMCOST__BARE(p, k, s)                                                \
	{                                                                     \
		(p), sizeof(p) - 1, (k), (s), 1, NULL                         \
	}
#define LLMCOST__COUNT_IF(p, s, m)                                            \
	{                                                                     \
		(p), sizeof(p) - 1, K_COUNT_IF, (s), 0, (m)                   \
	}

// How a format's bytes are framed when streamed.
enum { FR_SSE, FR_EVS, FR_AUTO };

struct llmcost__fmt {
	uint8_t framing; // FR_*
	// Paths are tried as written and under each of these prefixes
	// (e.g. "message." for Anthropic's message_start).
	const char *const *prefixes;
	const llmcost__field *fields;
	size_t n_fields;
	// Message kind from a K_KIND string (or an event stream's
	// :event-type); 0 for an unknown one.
	uint8_t (*kind)(const char *s, size_t n);
	// Optional: every JSON event, after the table (path relative to
	// the array element in Gemini's array form).
	int (*value)(llmcost__acc *a, const llmcost__json *j, const char *path,
	    size_t plen, int ev);
	void (*commit)(llmcost__acc *a);
	// 1 when the usage is final (streams; a body is final with usage).
	int (*complete)(const llmcost__acc *a);
	// The provider's counts in cur, into r's buckets and fees.
	// Returns 0 or LLMCOST_EPROTO (parts exceed their total).
	int (*buckets)(const llmcost__acc *a, llmcost_response *r);
};

extern const llmcost__fmt llmcost__fmt_openai_chat;
extern const llmcost__fmt llmcost__fmt_openai_responses;
extern const llmcost__fmt llmcost__fmt_anthropic;
extern const llmcost__fmt llmcost__fmt_gemini;
extern const llmcost__fmt llmcost__fmt_bedrock;

// Shared by the formats (stream.c).
// A count, 0 when not reported.
#define CNT(a, c)  ((a)->cur.v[(c)])
#define HAVE(a, c) (((a)->cur.have >> (c)) & 1u)
// cur = ev for every count (a message whose usage replaces the earlier).
void llmcost__acc_take_all(llmcost__acc *a);
// cur[c] = ev[c] for each count the message reported.
void llmcost__acc_take_reported(llmcost__acc *a);
// Model and request id of the message, when it named them.
void llmcost__acc_take_names(llmcost__acc *a);
// a - b into *out; LLMCOST_EPROTO when b > a (a part above its total).
int llmcost__sub(uint64_t a, uint64_t b, uint64_t *out);
// a + b into *out; LLMCOST_ETOOBIG when it overflows.
int llmcost__add(uint64_t a, uint64_t b, uint64_t *out);
// The provider cost (C_COST, plus C_UPSTREAM when C_BYOK) into r.
int llmcost__take_cost(const llmcost__acc *a, llmcost_response *r);

// llmcost_stream_finish() without a call (stream.c): ends the stream and
// writes the result; apply.c records it on a call.  Returns as
// llmcost_stream_finish() before the call is touched.
int llmcost__stream_result(llmcost_stream *s, llmcost_response *out);

#endif // LLMCOST_PROVIDERS_PROVIDER_H
