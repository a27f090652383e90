// The cost of reading usage from provider responses: a non-streamed
// 2 KB body of each format through llmcost_response_parse, and the
// golden streams of providers/tests/data fed to llmcost_stream_feed one
// event (SSE event, event stream message, JSON array element) at a time,
// as the network delivers them: nanoseconds per response and per chunk.
// No collector is involved.  Prints the CPU model, a human table, and
// "metric NAME VALUE" lines like the other benchmarks.
//
// Usage: bench_parse [-n ITERATIONS]   (default 20000 per round)
//
// The bodies are the fixtures' shapes with the answer text padded so that
// each is exactly 2048 bytes; the streams are the fixtures as they are.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "golden.h"

#define BODY_SIZE 2048
#define ROUNDS    7

static const char filler[] = "The quick brown fox jumps over the lazy dog. ";

typedef struct body_case {
	const char *name;
	llmcost_format fmt;
	const char *tmpl; // one %s: the answer text, padded to 2 KB
} body_case;

static const body_case bodies[] = {
	{ "openai_chat", LLMCOST_FMT_OPENAI_CHAT,
	    "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":"
	    "\"chat.completion\",\"created\":1741569952,\"model\":\"gpt-4o-"
	    "mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{"
	    "\"role\":"
	    "\"assistant\",\"content\":\"%s\",\"refusal\":null,"
	    "\"annotations\":"
	    "[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{"
	    "\"prompt_tokens\":1250,\"completion_tokens\":410,\"total_"
	    "tokens\":"
	    "1660,\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_"
	    "tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":"
	    "0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_"
	    "prediction_tokens\":0}},\"service_tier\":\"default\",\"system_"
	    "fingerprint\":\"fp_560af6e559\"}" },
	{ "openai_responses", LLMCOST_FMT_OPENAI_RESPONSES,
	    "{\"id\":\"resp_"
	    "67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41\","
	    "\"object\":\"response\",\"created_at\":1741476777,\"status\":"
	    "\"completed\",\"error\":null,\"incomplete_details\":null,"
	    "\"model\":\"o3-2025-04-16\",\"output\":[{\"id\":\"rs_67ccd3ab8d9c"
	    "8190\",\"type\":\"reasoning\",\"summary\":[]},{\"type\":"
	    "\"message\",\"id\":\"msg_67ccd3acc8d48190a77525dc6de64b41\","
	    "\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{"
	    "\"type\":\"output_text\",\"text\":\"%s\",\"annotations\":[]}]}],"
	    "\"parallel_tool_calls\":true,\"reasoning\":{\"effort\":"
	    "\"medium\"},"
	    "\"store\":true,\"temperature\":1.0,\"tools\":[],\"usage\":{"
	    "\"input_tokens\":2006,\"input_tokens_details\":{\"cached_"
	    "tokens\":"
	    "1920},\"output_tokens\":1120,\"output_tokens_details\":{"
	    "\"reasoning_tokens\":768},\"total_tokens\":3126},\"metadata\":{}"
	    "}" },
	{ "anthropic", LLMCOST_FMT_ANTHROPIC,
	    "{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\","
	    "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"%s\"}],\"stop_"
	    "reason\":"
	    "\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
	    "15,"
	    "\"cache_creation_input_tokens\":6851,\"cache_read_input_tokens\":"
	    "14942,\"cache_creation\":{\"ephemeral_5m_input_tokens\":2048,"
	    "\"ephemeral_1h_input_tokens\":4803},\"output_tokens\":690,"
	    "\"service_tier\":\"standard\"}}" },
	{ "gemini", LLMCOST_FMT_GEMINI,
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"%s\"}],"
	    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":3210,"
	    "\"candidatesTokenCount\":412,\"totalTokenCount\":4688,"
	    "\"cachedContentTokenCount\":2048,\"promptTokensDetails\":[{"
	    "\"modality\":\"TEXT\",\"tokenCount\":3210}],"
	    "\"cacheTokensDetails\""
	    ":[{\"modality\":\"TEXT\",\"tokenCount\":2048}],"
	    "\"thoughtsTokenCount\":1066},\"modelVersion\":\"gemini-2.5-"
	    "flash\","
	    "\"responseId\":\"7ZbUaPKBN4mXz7IPkdmNwQk\"}" },
	{ "bedrock_converse", LLMCOST_FMT_BEDROCK_CONVERSE,
	    "{\"metrics\":{\"latencyMs\":4126},\"output\":{\"message\":{"
	    "\"content\":[{\"text\":\"%s\"}],\"role\":\"assistant\"}},"
	    "\"stopReason\":\"end_turn\",\"usage\":{\"cacheReadInputTokens\":"
	    "3072,\"cacheWriteInputTokens\":1472,\"inputTokens\":2240,"
	    "\"outputTokens\":512,\"totalTokens\":7296}}" },
};

static const struct {
	const char *name, *file;
	llmcost_format fmt;
} streams[] = {
	{ "openai_chat", "openai_chat_stream.sse", LLMCOST_FMT_OPENAI_CHAT },
	{ "openai_responses", "openai_responses_stream.sse",
	    LLMCOST_FMT_OPENAI_RESPONSES },
	{ "anthropic", "anthropic_stream.sse", LLMCOST_FMT_ANTHROPIC },
	{ "gemini_sse", "gemini_stream.sse", LLMCOST_FMT_GEMINI },
	{ "gemini_array", "gemini_stream.json", LLMCOST_FMT_GEMINI },
	{ "bedrock_converse", "bedrock_converse_stream.events",
	    LLMCOST_FMT_BEDROCK_CONVERSE },
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return (x < y ? -1 : x > y);
}

// A body of exactly BODY_SIZE bytes: tmpl with its "%s" replaced by
// filler text.
static size_t
make_body(const char *tmpl, char *out)
{
	const char *mark = strstr(tmpl, "%s");
	size_t head = (size_t) (mark - tmpl), tail = strlen(mark + 2);
	size_t want = BODY_SIZE - head - tail, n = 0;
	memcpy(out, tmpl, head);
	while (n < want) {
		size_t k = sizeof(filler) - 1;
		if (k > want - n) {
			k = want - n;
		}
		memcpy(out + head + n, filler, k);
		n += k;
	}
	memcpy(out + head + want, mark + 2, tail + 1);
	return (BODY_SIZE);
}

// Where the chunks of a stream end: after each SSE event's blank line,
// each event stream message, or each element of a JSON array (Gemini
// separates them with ",\r\n").
static size_t
chunk_ends(const char *buf, size_t len, int binary, size_t *ends, size_t max)
{
	size_t n = 0;
	if (binary) {
		for (size_t off = 0; off + 12 <= len && n < max;) {
			const uint8_t *p = (const uint8_t *) buf + off;
			off += ((size_t) p[0] << 24) | ((size_t) p[1] << 16)
			    | ((size_t) p[2] << 8) | p[3];
			ends[n++] = off;
		}
		return (n);
	}
	for (size_t i = 0; i + 1 < len && n < max; i++) {
		if ((buf[i] == '\n' && buf[i + 1] == '\n')
		    || (buf[i] == ',' && buf[i + 1] == '\r')) {
			ends[n++] = i + 2;
		} else if (i + 3 < len
		    && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			ends[n++] = i + 4;
		}
	}
	if (n == 0 || ends[n - 1] != len) {
		ends[n++] = len;
	}
	return (n);
}

int
main(int argc, char **argv)
{
	size_t iters = 20000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			iters = strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(
			    stderr, "Usage: bench_parse [-n ITERATIONS]\n");
			return (2);
		}
	}
	char cpu[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f != NULL) {
		char line[512];
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "model name", 10) == 0) {
				char *v = strchr(line, ':');
				snprintf(cpu, sizeof(cpu), "%.200s",
				    v != NULL ? v + 2 : line);
				cpu[strcspn(cpu, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	printf("CPU: %s; median of %d rounds of %zu\n", cpu, ROUNDS, iters);
	printf("\n%-18s %8s %12s %10s\n", "body (2 KB)", "bytes",
	    "ns/response", "ns/byte");

	char body[BODY_SIZE + 1];
	uint64_t round[ROUNDS];
	for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		size_t len = make_body(bodies[b].tmpl, body);
		llmcost_response r;
		if (llmcost_response_parse(bodies[b].fmt, body, len, &r)
		    != 0) {
			fprintf(stderr, "bench_parse: %s: not parsed\n",
			    bodies[b].name);
			return (1);
		}
		for (int k = 0; k < ROUNDS; k++) {
			uint64_t t0 = bench_now_ns();
			for (size_t i = 0; i < iters; i++) {
				(void) llmcost_response_parse(
				    bodies[b].fmt, body, len, &r);
			}
			round[k] = (bench_now_ns() - t0) / iters;
		}
		qsort(round, ROUNDS, sizeof(round[0]), cmp_u64);
		uint64_t ns = round[ROUNDS / 2];
		printf("%-18s %8zu %12llu %10.2f\n", bodies[b].name, len,
		    (unsigned long long) ns, (double) ns / (double) len);
		char metric[64];
		snprintf(metric, sizeof(metric), "parse_body_ns_%s",
		    bodies[b].name);
		bench_metric(metric, (double) ns);
	}

	const char *src = getenv("LLMCOST_SOURCE_DIR");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/providers/tests/data",
	    src != NULL ? src : LLMCOST_SOURCE_DIR);
	printf("\n%-18s %8s %8s %12s %10s\n", "stream", "bytes", "chunks",
	    "ns/chunk", "ns/byte");
	for (size_t s = 0; s < sizeof(streams) / sizeof(streams[0]); s++) {
		size_t len, ends[256];
		char *buf = golden_load(dir, streams[s].file, &len);
		if (buf == NULL) {
			fprintf(stderr, "bench_parse: cannot read %s/%s\n",
			    dir, streams[s].file);
			return (1);
		}
		size_t n = chunk_ends(buf, len,
		    streams[s].fmt == LLMCOST_FMT_BEDROCK_CONVERSE, ends, 256);
		size_t it = iters / 10 > 0 ? iters / 10 : 1;
		for (int k = 0; k < ROUNDS; k++) {
			uint64_t t0 = bench_now_ns();
			for (size_t i = 0; i < it; i++) {
				llmcost_stream st;
				llmcost_response r;
				size_t off = 0;
				llmcost_stream_init(&st, streams[s].fmt);
				for (size_t c = 0; c < n; c++) {
					llmcost_stream_feed(
					    &st, buf + off, ends[c] - off);
					off = ends[c];
				}
				if (llmcost_stream_finish(&st, NULL, &r)
				    != 0) {
					fprintf(stderr,
					    "bench_parse: %s: "
					    "incomplete\n",
					    streams[s].name);
					return (1);
				}
			}
			round[k] = (bench_now_ns() - t0) / it;
		}
		qsort(round, ROUNDS, sizeof(round[0]), cmp_u64);
		uint64_t ns = round[ROUNDS / 2];
		printf("%-18s %8zu %8zu %12llu %10.2f\n", streams[s].name, len,
		    n, (unsigned long long) (ns / n),
		    (double) ns / (double) len);
		char metric[64];
		snprintf(metric, sizeof(metric), "parse_chunk_ns_%s",
		    streams[s].name);
		bench_metric(metric, (double) ns / (double) n);
		free(buf);
	}
	return (0);
}
