// Golden responses shared by the provider tests, the benchmark and the
// fuzz seed list: each fixture in providers/tests/data with every field
// the parser must report.  Expected numbers are worked out by hand from
// the provider's documented rules (see llmcost.h), never by the parser.
#ifndef LLMCOST_TEST_GOLDEN_H
#define LLMCOST_TEST_GOLDEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evs_encode.h"
#include "llmcost.h"

typedef struct golden {
	const char *file;
	llmcost_format fmt;
	int streamed;
	int rv;
	uint64_t t[LLMCOST_BUCKET_COUNT];
	uint64_t web_search;
	int64_t cost; // LLMCOST_COST_NONE when the body reports none
	uint32_t flags;
	llmcost_status status;
	const char *model;
	const char *id;
} golden;

#define IN    LLMCOST_IN_UNCACHED
#define READ  LLMCOST_IN_CACHE_READ
#define W5M   LLMCOST_IN_CACHE_WRITE_5M
#define W1H   LLMCOST_IN_CACHE_WRITE_1H
#define AIN   LLMCOST_IN_AUDIO
#define OUT   LLMCOST_OUT_TEXT
#define THINK LLMCOST_OUT_REASONING
#define AOUT  LLMCOST_OUT_AUDIO
#define NONE  LLMCOST_COST_NONE

static const golden goldens[] = {
	// OpenAI Chat Completions.
	{ "openai_chat.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 24, [OUT] = 23 }, 0, NONE, 0, LLMCOST_STATUS_OK,
	    "gpt-4o-mini-2024-07-18",
	    "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" },
	// Langfuse #10592's input (17,903 of which 17,817 cached) with
	// reasoning inside completion_tokens: a naive sum counts 35,720
	// input and 2,150 output tokens.
	{ "openai_chat_cached_reasoning.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 86, [READ] = 17817, [OUT] = 358, [THINK] = 896 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "o4-mini-2025-04-16",
	    "chatcmpl-CQx4mZ9pXy2r1TfK8bWnA7uE3sLdV" },
	// GPT-5.6: the cache write sits inside prompt_tokens.
	{ "openai_chat_gpt56_cache_write.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 3, [W5M] = 9077, [OUT] = 156, [THINK] = 256 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "gpt-5.6-luna",
	    "chatcmpl-D1aLk0Qw8eYb5nVx3mRt6pZs9HcJf" },
	{ "openai_chat_audio.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 44, [AIN] = 1160, [OUT] = 148, [AOUT] = 742 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "gpt-4o-audio-preview-2024-12-17",
	    "chatcmpl-AaZ3pLq6sT0vW8xY2bC4dE6fG8hIj" },
	{ "openrouter.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 843, [READ] = 2048, [OUT] = 412 }, 0, 9323400000, 0,
	    LLMCOST_STATUS_OK, "anthropic/claude-sonnet-4.5",
	    "gen-1760000000-AbCdEfGhIjKlMnOpQrSt" },
	// BYOK: OpenRouter's fee plus what the upstream billed the key.
	{ "openrouter_byok.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 843, [READ] = 2048, [OUT] = 412 }, 0,
	    466170000 + 9323400000, 0, LLMCOST_STATUS_OK,
	    "anthropic/claude-sonnet-4.5",
	    "gen-1760000123-ZyXwVuTsRqPoNmLkJiHg" },
	{ "openrouter_langfuse_10592.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 86, [READ] = 17817, [OUT] = 193, [THINK] = 1152 }, 0,
	    3160000000, 0, LLMCOST_STATUS_OK, "openai/gpt-5-mini",
	    "gen-1763651234-Lf10592CachedTwiceXy" },
	{ "deepseek.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 512, [READ] = 1024, [OUT] = 108, [THINK] = 210 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "deepseek-reasoner",
	    "930c60df-bf64-41c9-a88e-3ec75f81e00e" },
	{ "vllm.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 27, [OUT] = 48 }, 0, NONE, 0, LLMCOST_STATUS_OK,
	    "meta-llama/Llama-3.1-8B-Instruct",
	    "chatcmpl-8e4b2f1c9a7d4e3b8f6a5c2d1e0f9a8b" },
	// Groq: x_groq.id is the request id, not the completion's id.
	{ "groq.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 48, [OUT] = 312 }, 0, NONE, 0, LLMCOST_STATUS_OK,
	    "llama-3.3-70b-versatile", "req_01jbd6g2qdfw2adyrt2az8hz4w" },
	{ "mistral.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 412, [OUT] = 186 }, 0, NONE, 0, LLMCOST_STATUS_OK,
	    "mistral-large-2411", "cmpl-e5cc70bb28c444948073e77776eb30ef" },
	// total_tokens = prompt + completion + reasoning: reasoning is
	// outside completion_tokens here.
	{ "xai_exclusive_reasoning.json", LLMCOST_FMT_OPENAI_CHAT, 0, 0,
	    { [IN] = 32, [OUT] = 9, [THINK] = 324 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "grok-3-mini",
	    "3f7a2c1e-5b8d-4e9f-a1c2-d3e4f5a6b7c8" },
	{ "openai_chat_stream.sse", LLMCOST_FMT_OPENAI_CHAT, 1, 0,
	    { [IN] = 226, [READ] = 1024, [OUT] = 57 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "gpt-4o-mini-2024-07-18",
	    "chatcmpl-C1xYz7pQ2rS3tU4vW5xY6zA7bC8dE" },
	// Without stream_options.include_usage: aborted, usage missing.
	{ "openai_chat_stream_nousage.sse", LLMCOST_FMT_OPENAI_CHAT, 1,
	    LLMCOST_EINCOMPLETE, { 0 }, 0, NONE, LLMCOST_USAGE_MISSING,
	    LLMCOST_STATUS_ABORTED, "gpt-4o-mini-2024-07-18",
	    "chatcmpl-C1xYz7pQ2rS3tU4vW5xY6zA7bC8dE" },

	// OpenAI Responses API.
	{ "openai_responses.json", LLMCOST_FMT_OPENAI_RESPONSES, 0, 0,
	    { [IN] = 86, [READ] = 1920, [OUT] = 352, [THINK] = 768 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "o3-2025-04-16",
	    "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41" },
	{ "openai_responses_web_search.json", LLMCOST_FMT_OPENAI_RESPONSES, 0,
	    0, { [IN] = 11472, [OUT] = 186 }, 2, NONE, 0, LLMCOST_STATUS_OK,
	    "gpt-4.1-2025-04-14",
	    "resp_68a0c1d2e3f40581a2b3c4d5e6f708192a3b4c5d6e7f8091" },
	{ "openai_responses_stream.sse", LLMCOST_FMT_OPENAI_RESPONSES, 1, 0,
	    { [IN] = 3, [W5M] = 9077, [OUT] = 92, [THINK] = 128 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "gpt-5.6-luna",
	    "resp_68c1f2a3b4d5e6f7081929a3b4c5d6e70f1a2b3c4d5e6f70" },

	// Anthropic Messages.  LiteLLM #9812: 12,304 cache-write tokens
	// billed once as input and once as writes ($0.0913 instead of the
	// console's $0.0544).
	{ "anthropic_litellm_9812.json", LLMCOST_FMT_ANTHROPIC, 0, 0,
	    { [IN] = 3, [W5M] = 12304, [OUT] = 550 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "claude-3-7-sonnet-20250219",
	    "msg_01A8Xn6Gx3F1sZVBdTQ2c9mP" },
	{ "anthropic_cache_5m_1h.json", LLMCOST_FMT_ANTHROPIC, 0, 0,
	    { [IN] = 15,
	        [READ] = 14942,
	        [W5M] = 2048,
	        [W1H] = 4803,
	        [OUT] = 690 },
	    0, NONE, 0, LLMCOST_STATUS_OK, "claude-sonnet-4-5-20250929",
	    "msg_013Zva2CMHLNnXjNJJKqJ2EF" },
	// anthropic-sdk-java #353: a total with a 0/0 breakdown.
	{ "anthropic_web_search.json", LLMCOST_FMT_ANTHROPIC, 0, 0,
	    { [IN] = 335, [READ] = 14942, [W5M] = 12229, [OUT] = 690 }, 1,
	    NONE, 0, LLMCOST_STATUS_OK, "claude-haiku-4-5-20251001",
	    "msg_01JHqA5kXhCz2mR8tVwN9bYe" },
	{ "anthropic_error.json", LLMCOST_FMT_ANTHROPIC, 0, 0, { 0 }, 0, NONE,
	    0, LLMCOST_STATUS_ERROR, "", "req_011CSHoEeqs5C35K2UUqR7Fy" },
	{ "anthropic_stream.sse", LLMCOST_FMT_ANTHROPIC, 1, 0,
	    { [IN] = 472, [READ] = 2048, [OUT] = 348 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "claude-sonnet-4-5-20250929",
	    "msg_01XFDUDYJgAACzvnptvVoYEL" },
	// LiteLLM #42663: message_start says 31,490 5-minute writes, the
	// final message_delta 184,457 written in all.
	{ "anthropic_stream_server_tools.sse", LLMCOST_FMT_ANTHROPIC, 1, 0,
	    { [IN] = 123201, [READ] = 426653, [W5M] = 184457, [OUT] = 2210 },
	    5, NONE, 0, LLMCOST_STATUS_OK, "claude-opus-4-5-20251101",
	    "msg_01Q3kzV8bWcXyT6uR2pLmN4d" },

	// Gemini.
	{ "gemini.json", LLMCOST_FMT_GEMINI, 0, 0,
	    { [IN] = 1162, [READ] = 2048, [OUT] = 412, [THINK] = 1066 }, 0,
	    NONE, 0, LLMCOST_STATUS_OK, "gemini-2.5-flash",
	    "7ZbUaPKBN4mXz7IPkdmNwQk" },
	// Audio 3000 of which 2000 cached; image 800, billed as text, stays
	// with the text; tool use 600 text.
	{ "gemini_modalities.json", LLMCOST_FMT_GEMINI, 0, 0,
	    { [IN] = 2100, [READ] = 2500, [AIN] = 1000, [OUT] = 300 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "gemini-2.5-pro",
	    "mJbUaNa3KvGaz7IPw6mWmAs" },
	{ "gemini_stream.sse", LLMCOST_FMT_GEMINI, 1, 0,
	    { [IN] = 806, [READ] = 1024, [OUT] = 245, [THINK] = 611 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "gemini-2.5-flash",
	    "8ZbUaKqPIYuGz7IP0eTm8Qk" },
	{ "gemini_stream.json", LLMCOST_FMT_GEMINI, 1, 0,
	    { [IN] = 806, [READ] = 1024, [OUT] = 245, [THINK] = 611 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "gemini-2.5-flash",
	    "8ZbUaKqPIYuGz7IP0eTm8Qk" },
	// The streamed array, read whole as a body.
	{ "gemini_stream.json", LLMCOST_FMT_GEMINI, 0, 0,
	    { [IN] = 806, [READ] = 1024, [OUT] = 245, [THINK] = 611 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "gemini-2.5-flash",
	    "8ZbUaKqPIYuGz7IP0eTm8Qk" },

	// Bedrock: the body names no model.
	{ "bedrock_converse.json", LLMCOST_FMT_BEDROCK_CONVERSE, 0, 0,
	    { [IN] = 2240, [READ] = 3072, [W5M] = 1472, [OUT] = 512 }, 0, NONE,
	    0, LLMCOST_STATUS_OK, "", "" },
	{ "bedrock_converse_stream.events", LLMCOST_FMT_BEDROCK_CONVERSE, 1, 0,
	    { [IN] = 27, [READ] = 1024, [W5M] = 256, [OUT] = 113 }, 0, NONE, 0,
	    LLMCOST_STATUS_OK, "", "" },
};
#define N_GOLDENS (sizeof(goldens) / sizeof(goldens[0]))

#undef IN
#undef READ
#undef W5M
#undef W1H
#undef AIN
#undef OUT
#undef THINK
#undef AOUT
#undef NONE

// The bytes of a fixture as a provider sends them (".events" files are
// encoded into the binary event stream).  The caller frees; NULL when
// the file cannot be read.  dir is the data directory.
static inline char *
golden_load(const char *dir, const char *name, size_t *lenp)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name)
	    >= (int) sizeof(path)) {
		return (NULL);
	}
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return (NULL);
	}
	char *buf = malloc(1 << 20);
	size_t n = buf != NULL ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf == NULL) {
		return (NULL);
	}
	buf[n] = '\0';
	size_t dl = strlen(name);
	if (dl > 7 && strcmp(name + dl - 7, ".events") == 0) {
		uint8_t *bin = malloc(1 << 20);
		size_t bn
		    = bin != NULL ? evs_encode_lines(bin, 1 << 20, buf) : 0;
		free(buf);
		if (bn == 0) {
			free(bin);
			return (NULL);
		}
		*lenp = bn;
		return ((char *) bin);
	}
	*lenp = n;
	return (buf);
}

#endif // LLMCOST_TEST_GOLDEN_H
