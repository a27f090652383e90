// End to end: usage read from real HTTP responses.  A real llmcostd, the
// provider stand-in (standin.c) answering with the golden bodies, the
// chat_client example calling it as it would call OpenAI (unary and
// streamed, a stream cut short, a rate-limited call), and this test
// calling the other providers' routes with libcurl the same way
// (Responses API, Anthropic, Gemini in both stream forms, Bedrock's
// binary event stream).  `llmcost report --json` must then show, per
// feature, exactly the tokens the responses carried, in every bucket,
// and the cost from list prices typed in here (pico-USD per token), with
// the web searches priced per request, the provider's own cost beside
// ours, and the calls whose usage never came counted.
#include "testutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <unistd.h>

#include "client.h"
#include "e2e.h"
#include "harness.h"

static char standin_url[64];
static pid_t standin_pid;

// Starts the stand-in and reads its port from its first line.
static void
standin_start(void)
{
	const char *bin = getenv("LLMCOST_PROVIDER_STANDIN");
	char line[128];
	int port = 0;
	if (bin == NULL) {
		fail_msg("LLMCOST_PROVIDER_STANDIN is not set (run through "
		         "ctest)");
	}
	standin_pid = harness_spawn_line(
	    (const char *[]) { bin, NULL }, line, sizeof(line));
	assert_true(standin_pid > 0);
	if (sscanf(line, "listening on 127.0.0.1:%d", &port) != 1) {
		fail_msg("stand-in said \"%s\"", line);
	}
	snprintf(
	    standin_url, sizeof(standin_url), "http://127.0.0.1:%d", port);
}

static void
run_example(const char *model, const char *const *args, int want_exit,
    const char *want_out)
{
	const char *bin = getenv("LLMCOST_CHAT_CLIENT");
	char base[128];
	const char *argv[16];
	int n = 0;
	if (bin == NULL) {
		fail_msg("LLMCOST_CHAT_CLIENT is not set (run through ctest)");
	}
	snprintf(base, sizeof(base), "%s/v1", standin_url);
	setenv("OPENAI_BASE_URL", base, 1);
	setenv("OPENAI_API_KEY", "sk-standin", 1);
	setenv("OPENAI_MODEL", model, 1);
	argv[n++] = bin;
	for (int i = 0; args[i] != NULL; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	char *out, *err;
	int rv = harness_run(argv, &out, &err);
	if (rv != want_exit || strstr(out, want_out) == NULL) {
		fail_msg("chat_client %s: exit %d (want %d)\nstdout: %s\n"
		         "stderr: %s",
		    model, rv, want_exit, out, err);
	}
	free(out);
	free(err);
}

static size_t
on_stream(char *p, size_t size, size_t n, void *arg)
{
	(void) llmcost_stream_feed(arg, p, size * n);
	return (size * n);
}

// One call to a stand-in route, recorded as an application would: a
// stream fed to the parser as it arrives, a body read whole.
typedef struct api_call {
	const char *provider, *model, *feature, *path;
	llmcost_format fmt;
	int stream;
} api_call;

static void
call_api(llmcost_client *c, const api_call *a)
{
	const char *hdr[] = { "x-api-key: test", NULL };
	char url[512], req[256];
	llmcost_call *call;

	LLMCOST_PASS(llmcost_call_begin(c, a->provider, a->model, &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", a->feature));
	snprintf(url, sizeof(url), "%s%s", standin_url, a->path);
	snprintf(req, sizeof(req),
	    "{\"model\":\"%s\",\"stream\":%s,\"max_tokens\":1024,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	    a->model, a->stream ? "true" : "false");
	if (a->stream) {
		llmcost_stream parser;
		LLMCOST_PASS(llmcost_stream_init(&parser, a->fmt));
		CURL *curl = curl_easy_init();
		struct curl_slist *h = curl_slist_append(NULL, hdr[0]);
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_stream);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &parser);
		assert_int_equal(curl_easy_perform(curl), CURLE_OK);
		long code = 0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		assert_int_equal(code, 200);
		curl_slist_free_all(h);
		curl_easy_cleanup(curl);
		LLMCOST_PASS(llmcost_stream_finish(&parser, call, NULL));
	} else {
		http_resp r;
		assert_int_equal(
		    http_do("POST", url, hdr, req, strlen(req), 0, 0, &r), 0);
		assert_int_equal(r.status, 200);
		LLMCOST_PASS(
		    llmcost_call_set_usage_from(call, a->fmt, r.body, r.len));
		http_resp_free(&r);
	}
	LLMCOST_PASS(llmcost_call_end(call));
}

#define BEDROCK_HAIKU "anthropic.claude-3-5-haiku-20241022-v1:0"

// The other formats, through libcurl and libllmcost.
static const api_call api_calls[] = {
	{ "openai", "o3", "responses", "/v1/responses",
	    LLMCOST_FMT_OPENAI_RESPONSES, 0 },
	{ "openai", "gpt-5.6-luna", "responses", "/v1/responses",
	    LLMCOST_FMT_OPENAI_RESPONSES, 1 },
	{ "anthropic", "claude-sonnet-4-5", "anthropic", "/v1/messages",
	    LLMCOST_FMT_ANTHROPIC, 0 },
	{ "anthropic", "claude-sonnet-4-5", "anthropic", "/v1/messages",
	    LLMCOST_FMT_ANTHROPIC, 1 },
	{ "google", "gemini-2.5-flash", "gemini",
	    "/v1beta/models/gemini-2.5-flash:generateContent?key=k",
	    LLMCOST_FMT_GEMINI, 0 },
	{ "google", "gemini-2.5-flash", "gemini",
	    "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
	    LLMCOST_FMT_GEMINI, 1 },
	{ "google", "gemini-2.5-flash", "gemini",
	    "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
	    LLMCOST_FMT_GEMINI, 1 },
	{ "bedrock", BEDROCK_HAIKU, "bedrock",
	    "/model/" BEDROCK_HAIKU "/converse", LLMCOST_FMT_BEDROCK_CONVERSE,
	    0 },
	{ "bedrock", BEDROCK_HAIKU, "bedrock",
	    "/model/" BEDROCK_HAIKU "/converse-stream",
	    LLMCOST_FMT_BEDROCK_CONVERSE, 1 },
	// Web searches (priced for Anthropic, not for OpenAI) and a
	// provider-reported cost.
	{ "anthropic", "standin-web-search", "web-search", "/v1/messages",
	    LLMCOST_FMT_ANTHROPIC, 1 },
	{ "openai", "standin-web-search", "openai-web-search", "/v1/responses",
	    LLMCOST_FMT_OPENAI_RESPONSES, 0 },
	{ "openrouter", "standin-openrouter", "openrouter",
	    "/v1/chat/completions", LLMCOST_FMT_OPENAI_CHAT, 0 },
};

typedef struct expect {
	const char *feature;
	uint64_t calls, unpriced, errors;
	uint64_t t[LLMCOST_BUCKET_COUNT];
	__int128 cost; // -1: not checked (a row with unpriced calls)
	uint64_t web_search;
	__int128 fee_cost;
	__int128 provider_cost; // 0: none reported
	uint64_t usage_missing;
} expect;

#define IN    LLMCOST_IN_UNCACHED
#define READ  LLMCOST_IN_CACHE_READ
#define W5M   LLMCOST_IN_CACHE_WRITE_5M
#define W1H   LLMCOST_IN_CACHE_WRITE_1H
#define OUT   LLMCOST_OUT_TEXT
#define THINK LLMCOST_OUT_REASONING

// List prices, USD per 1M tokens x 1e6 = pico-USD per token.
// gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out.
#define MINI(in, cr, out)                                                     \
	((__int128) (in) *150000 + (__int128) (cr) *75000                     \
	    + (__int128) (out) *600000)
// claude-sonnet-4-5: $3 in, $0.30 read, $3.75 5-min write, $6 1-hour
// write, $15 out (thinking included).
#define SONNET(in, cr, w5, w1, out)                                           \
	((__int128) (in) *3000000 + (__int128) (cr) *300000                   \
	    + (__int128) (w5) *3750000 + (__int128) (w1) *6000000             \
	    + (__int128) (out) *15000000)
// claude-opus-4-5: $5 in, $0.50 read, $6.25 5-min write, $25 out.
#define OPUS45(in, cr, w5, out)                                               \
	((__int128) (in) *5000000 + (__int128) (cr) *500000                   \
	    + (__int128) (w5) *6250000 + (__int128) (out) *25000000)
// anthropic.claude-3-5-haiku-20241022-v1:0 on Bedrock: $0.80 in, $0.08
// read, $1 5-min write, $4 out.
#define HAIKU35_BEDROCK(in, cr, w5, out)                                      \
	((__int128) (in) *800000 + (__int128) (cr) *80000                     \
	    + (__int128) (w5) *1000000 + (__int128) (out) *4000000)
// Anthropic web search: $10 per 1,000 searches, pico-USD per search.
#define WEB_SEARCH ((__int128) 10000000000)
// gemini-2.5-flash: $0.30 in, $0.03 cached, $2.50 out (thinking too).
#define FLASH(in, cr, out)                                                    \
	((__int128) (in) *300000 + (__int128) (cr) *30000                     \
	    + (__int128) (out) *2500000)

static const expect expects[] = {
	// chat_client, 3 unary calls: 24 in, 23 out each.
	{ "support-chat", 3, 0, 0, { [IN] = 72, [OUT] = 69 },
	    3 * MINI(24, 0, 23) },
	// chat_client, 2 streamed calls: 1250 in of which 1024 cached, 57
	// out each.
	{ "support-stream", 2, 0, 0,
	    { [IN] = 452, [READ] = 2048, [OUT] = 114 },
	    2 * MINI(226, 1024, 57) },
	// A stream cut before its usage: recorded, aborted, no tokens, and
	// counted as a call whose usage is missing.
	{ "cut-stream", 1, 0, 1, { 0 }, 0, 0, 0, 0, 1 },
	// A streamed Anthropic call that ran 5 web searches: tokens priced
	// (claude-opus-4-5-20251101, the model the stream names), and the
	// searches at $0.01 each.
	{ "web-search", 1, 0, 0,
	    { [IN] = 123201, [READ] = 426653, [W5M] = 184457, [OUT] = 2210 },
	    OPUS45(123201, 426653, 184457, 2210) + 5 * WEB_SEARCH, 5,
	    5 * WEB_SEARCH },
	// OpenAI's web search has no price in the table: 2 searches, the
	// call unpriced, no fee cost.
	{ "openai-web-search", 1, 1, 0, { [IN] = 11472, [OUT] = 186 }, -1, 2,
	    0 },
	// OpenRouter reports its own cost ($0.0093234); the provider is not
	// in the price table, so ours is unpriced.
	{ "openrouter", 1, 1, 0, { [IN] = 843, [READ] = 2048, [OUT] = 412 },
	    -1, 0, 0, 9323400000 },
	// A 429: recorded as an error, no tokens.
	{ "rate-limited", 1, 1, 1, { 0 }, -1 },
	{ "anthropic", 2, 0, 0,
	    { [IN] = 15 + 472,
	        [READ] = 14942 + 2048,
	        [W5M] = 2048,
	        [W1H] = 4803,
	        [OUT] = 690 + 348 },
	    SONNET(15, 14942, 2048, 4803, 690)
	        + SONNET(472, 2048, 0, 0, 348) },
	{ "gemini", 3, 0, 0,
	    { [IN] = 1162 + 2 * 806,
	        [READ] = 2048 + 2 * 1024,
	        [OUT] = 412 + 2 * 245,
	        [THINK] = 1066 + 2 * 611 },
	    FLASH(1162, 2048, 412 + 1066) + 2 * FLASH(806, 1024, 245 + 611) },
	// Bedrock model ids, priced from the table's Bedrock entries.
	{ "bedrock", 2, 0, 0,
	    { [IN] = 2240 + 27,
	        [READ] = 3072 + 1024,
	        [W5M] = 1472 + 256,
	        [OUT] = 512 + 113 },
	    HAIKU35_BEDROCK(2240 + 27, 3072 + 1024, 1472 + 256, 512 + 113) },
	// o3-2025-04-16 ($2 in, $0.50 cached, $8 out, reasoning too), then
	// a streamed gpt-5.6-luna whose 9077 cache writes are billed at
	// $1.25 ($1 in, $6 out).
	{ "responses", 2, 0, 0,
	    { [IN] = 86 + 3,
	        [READ] = 1920,
	        [W5M] = 9077,
	        [OUT] = 352 + 92,
	        [THINK] = 768 + 128 },
	    (__int128) 86 * 2000000 + (__int128) 1920 * 500000
	        + (__int128) (352 + 768) * 8000000 + (__int128) 3 * 1000000
	        + (__int128) 9077 * 1250000
	        + (__int128) (92 + 128) * 6000000 },
};

static void
check_report(const char *dir)
{
	json_t *root = e2e_report_json(dir, NULL);
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(
	    json_array_size(rows), sizeof(expects) / sizeof(expects[0]));
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		const expect *e = &expects[i];
		json_t *row = NULL;
		for (size_t k = 0; k < json_array_size(rows); k++) {
			json_t *r = json_array_get(rows, k);
			const char *f
			    = json_string_value(json_object_get(r, "feature"));
			if (f != NULL && strcmp(f, e->feature) == 0) {
				row = r;
			}
		}
		if (row == NULL) {
			fail_msg("no row for %s", e->feature);
		}
		uint64_t in = 0, outt = 0;
		json_t *u = json_object_get(row, "usage");
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			static const char *keys[] = { "input_uncached",
				"input_cache_read", "input_cache_write_5m",
				"input_cache_write_1h", "input_audio",
				"input_image", "output_text",
				"output_reasoning", "output_audio",
				"output_image" };
			uint64_t got = (uint64_t) json_integer_value(
			    json_object_get(u, keys[b]));
			if (got != e->t[b]) {
				fail_msg("%s: %s %llu, want %llu", e->feature,
				    keys[b], (unsigned long long) got,
				    (unsigned long long) e->t[b]);
			}
			if (b < LLMCOST_OUT_TEXT) {
				in += e->t[b];
			} else {
				outt += e->t[b];
			}
		}
		E2E_ASSERT_JSON_INT(row, "calls", e->calls);
		E2E_ASSERT_JSON_INT(row, "input_tokens", in);
		E2E_ASSERT_JSON_INT(row, "output_tokens", outt);
		E2E_ASSERT_JSON_INT(row, "unpriced_calls", e->unpriced);
		E2E_ASSERT_JSON_INT(row, "error_calls", e->errors);
		char buf[64];
		if (e->cost >= 0) {
			E2E_ASSERT_JSON_STR(row, "cost_pusd",
			    harness_fmt128(e->cost, buf, sizeof(buf)));
		}
		assert_int_equal(
		    json_integer_value(json_object_get(
		        json_object_get(row, "fees"), "web_search_requests")),
		    e->web_search);
		E2E_ASSERT_JSON_STR(row, "fee_cost_pusd",
		    harness_fmt128(e->fee_cost, buf, sizeof(buf)));
		json_t *pc = json_object_get(row, "provider_cost_pusd");
		if (e->provider_cost == 0) {
			assert_true(json_is_null(pc));
		} else {
			assert_string_equal(json_string_value(pc),
			    harness_fmt128(
			        e->provider_cost, buf, sizeof(buf)));
		}
		E2E_ASSERT_JSON_INT(
		    row, "provider_cost_calls", e->provider_cost != 0);
		E2E_ASSERT_JSON_INT(
		    row, "usage_missing_calls", e->usage_missing);
		E2E_ASSERT_JSON_INT(row, "usage_partial_calls", 0);
	}
	// The totals: one call without usage, one provider cost, and the
	// cost of the 5 priced searches.
	json_t *total = json_object_get(root, "total");
	E2E_ASSERT_JSON_INT(total, "usage_missing_calls", 1);
	E2E_ASSERT_JSON_INT(total, "provider_cost_calls", 1);
	E2E_ASSERT_JSON_STR(total, "provider_cost_usd", "0.009323400000");
	E2E_ASSERT_JSON_STR(total, "fee_cost_usd", "0.050000000000");
	json_decref(root);
}

static void
test_usage_from_responses(void **state)
{
	(void) state;
	char *dir;
	char url[1100];
	pid_t d = harness_daemon_tmp(&dir, url, sizeof(url));
	assert_true(d > 0);
	standin_start();
	setenv("LLMCOST_COLLECTOR_URL", url, 1);
	setenv("LLMCOST_FLUSH_MS", "10", 1);

	// The example, as a user runs it.
	run_example("gpt-4o-mini",
	    (const char *[]) { "--calls", "3", "--feature", "support-chat",
	        "What is the capital of France?", NULL },
	    0,
	    "call 3: unary gpt-4o-mini-2024-07-18 HTTP 200: ok (success), 24 "
	    "in (0 cached), 23 out\n");
	run_example("gpt-4o-mini",
	    (const char *[]) { "--stream", "--calls", "2", "--feature",
	        "support-stream", NULL },
	    0,
	    "call 2: streamed gpt-4o-mini-2024-07-18 HTTP 200: ok (success), "
	    "1250 in (1024 cached), 57 out\n");
	run_example("standin-cut",
	    (const char *[]) { "--stream", "--feature", "cut-stream", NULL },
	    1, "aborted");
	run_example("standin-error",
	    (const char *[]) { "--feature", "rate-limited", NULL }, 1,
	    "HTTP 429: error");

	llmcost_client *c;
	LLMCOST_PASS(llmcost_init(&c, NULL));
	for (size_t i = 0; i < sizeof(api_calls) / sizeof(api_calls[0]); i++) {
		call_api(c, &api_calls[i]);
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	llmcost_shutdown(c, 1000);
	unsetenv("LLMCOST_COLLECTOR_URL");

	check_report(dir);

	harness_daemon_stop(standin_pid, SIGTERM);
	assert_int_equal(harness_daemon_tmp_stop(d, dir), 0);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_from_responses),
	};
	int rv = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return (rv);
}
