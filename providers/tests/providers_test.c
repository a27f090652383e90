// Golden tests of the provider parsers: realistic bodies and streams of
// every format (providers/tests/data), each asserting every bucket, the
// fees, the provider cost, the flags, the status, the model and the
// request id; the survey's bug-report numbers; the same stream fed at
// every split point; every truncation of every body and stream; and the
// refusals.
#include "testutil.h"

#include "feed.h"
#include "golden.h"

static const char *data_dir;

static void
expect_response(
    const golden *g, const llmcost_response *r, int rv, const char *how)
{
	char what[160];
	snprintf(what, sizeof(what), "%s (%s, %s)", g->file,
	    g->streamed ? "streamed" : "body", how);
	if (rv != g->rv) {
		fail_msg("%s: returned %s, want %s", what,
		    llmcost_err_name(rv), llmcost_err_name(g->rv));
	}
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		if (r->usage.tokens[b] != g->t[b]) {
			fail_msg("%s: bucket %d is %llu, want %llu", what, b,
			    (unsigned long long) r->usage.tokens[b],
			    (unsigned long long) g->t[b]);
		}
	}
	if (r->fees[LLMCOST_FEE_WEB_SEARCH] != g->web_search
	    || r->provider_cost_pusd != g->cost || r->usage_flags != g->flags
	    || r->status != g->status) {
		fail_msg("%s: web searches %llu cost %lld flags %u status %d; "
		         "want %llu %lld %u %d",
		    what, (unsigned long long) r->fees[LLMCOST_FEE_WEB_SEARCH],
		    (long long) r->provider_cost_pusd, r->usage_flags,
		    (int) r->status, (unsigned long long) g->web_search,
		    (long long) g->cost, g->flags, (int) g->status);
	}
	if (strcmp(r->model, g->model) != 0
	    || strcmp(r->request_id, g->id) != 0) {
		fail_msg("%s: model \"%s\" id \"%s\"; want \"%s\" \"%s\"",
		    what, r->model, r->request_id, g->model, g->id);
	}
}

// Feeds buf in pieces: the first cut bytes, then the rest in pieces of
// step bytes (0: all at once).
static int
feed_stream(llmcost_format fmt, const char *buf, size_t len, size_t cut,
    size_t step, llmcost_response *r)
{
	llmcost_stream s;
	LLMCOST_PASS(llmcost_stream_init(&s, fmt));
	feed_pieces(&s, buf, len, cut, step);
	return (llmcost_stream_finish(&s, NULL, r));
}

static char *
load(const golden *g, size_t *len)
{
	char *buf = golden_load(data_dir, g->file, len);
	if (buf == NULL) {
		fail_msg("cannot read %s/%s", data_dir, g->file);
	}
	return (buf);
}

// Calls check with each golden of the kind asked (streamed or not; with
// ok_only, only those that parse without error) and its bytes.
static void
each_golden(int streamed, int ok_only,
    void (*check)(const golden *g, const char *buf, size_t len))
{
	for (size_t i = 0; i < N_GOLDENS; i++) {
		const golden *g = &goldens[i];
		if (g->streamed != streamed || (ok_only && g->rv != 0)) {
			continue;
		}
		size_t len;
		char *buf = load(g, &len);
		check(g, buf, len);
		free(buf);
	}
}

static void
check_body(const golden *g, const char *buf, size_t len)
{
	llmcost_response r;
	int rv = llmcost_response_parse(g->fmt, buf, len, &r);
	expect_response(g, &r, rv, "whole");
}

static void
test_bodies(void **state)
{
	(void) state;
	each_golden(0, 0, check_body);
}

// The same stream, fed whole, byte by byte, and cut in two at every
// byte, gives the same response.
static void
check_split_anywhere(const golden *g, const char *buf, size_t len)
{
	llmcost_response r;
	char how[64];
	expect_response(
	    g, &r, feed_stream(g->fmt, buf, len, 0, 0, &r), "whole");
	expect_response(
	    g, &r, feed_stream(g->fmt, buf, len, 0, 1, &r), "byte by byte");
	expect_response(
	    g, &r, feed_stream(g->fmt, buf, len, 0, 7, &r), "7-byte pieces");
	for (size_t cut = 1; cut < len; cut++) {
		snprintf(how, sizeof(how), "split at %zu", cut);
		expect_response(
		    g, &r, feed_stream(g->fmt, buf, len, cut, 0, &r), how);
	}
}

static void
test_streams_split_anywhere(void **state)
{
	(void) state;
	each_golden(1, 0, check_split_anywhere);
}

static size_t
trimmed(const char *buf, size_t len)
{
	while (len > 0
	    && (buf[len - 1] == '\n' || buf[len - 1] == '\r'
	        || buf[len - 1] == ' ')) {
		len--;
	}
	return (len);
}

// Every truncation of every body is refused, and says its usage is
// missing (never a zero that looks real).
static void
check_truncated_body(const golden *g, const char *buf, size_t len)
{
	size_t end = trimmed(buf, len);
	for (size_t n = 0; n < end; n++) {
		llmcost_response r;
		int rv = llmcost_response_parse(g->fmt, buf, n, &r);
		if (rv != LLMCOST_EPROTO
		    || r.usage_flags != LLMCOST_USAGE_MISSING
		    || r.usage.tokens[LLMCOST_IN_UNCACHED] != 0
		    || r.status != LLMCOST_STATUS_OK) {
			fail_msg("%s cut at %zu: %s flags %u", g->file, n,
			    llmcost_err_name(rv), r.usage_flags);
		}
	}
}

static void
test_truncated_bodies(void **state)
{
	(void) state;
	each_golden(0, 0, check_truncated_body);
}

static uint64_t
bucket_sum(const llmcost_response *r)
{
	uint64_t s = 0;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		s += r->usage.tokens[b];
	}
	return (s);
}

static uint64_t
input_total(const llmcost_response *r)
{
	return (r->usage.tokens[LLMCOST_IN_UNCACHED]
	    + r->usage.tokens[LLMCOST_IN_CACHE_READ]
	    + r->usage.tokens[LLMCOST_IN_CACHE_WRITE_5M]
	    + r->usage.tokens[LLMCOST_IN_CACHE_WRITE_1H]
	    + r->usage.tokens[LLMCOST_IN_AUDIO]
	    + r->usage.tokens[LLMCOST_IN_IMAGE]);
}

static uint64_t
output_total(const llmcost_response *r)
{
	return (r->usage.tokens[LLMCOST_OUT_TEXT]
	    + r->usage.tokens[LLMCOST_OUT_REASONING]
	    + r->usage.tokens[LLMCOST_OUT_AUDIO]
	    + r->usage.tokens[LLMCOST_OUT_IMAGE]);
}

// Every truncation of every stream: either the usage was already final
// (the same response as the whole stream), or the call is aborted and
// flagged, with no total above the final one.
static void
check_cut_stream(const golden *g, const char *buf, size_t len)
{
	int cut_missing = 0;
	llmcost_response full;
	LLMCOST_PASS(feed_stream(g->fmt, buf, len, 0, 0, &full));
	for (size_t n = 0; n < len; n++) {
		llmcost_response r;
		int rv = feed_stream(g->fmt, buf, n, 0, 0, &r);
		if (rv == 0) {
			expect_response(g, &r, rv, "cut after usage");
			continue;
		}
		if (rv != LLMCOST_EINCOMPLETE
		    || r.status != LLMCOST_STATUS_ABORTED
		    || (r.usage_flags != LLMCOST_USAGE_MISSING
		        && r.usage_flags != LLMCOST_USAGE_PARTIAL)) {
			fail_msg("%s cut at %zu: %s status %d flags %u",
			    g->file, n, llmcost_err_name(rv), (int) r.status,
			    r.usage_flags);
		}
		if (r.usage_flags == LLMCOST_USAGE_MISSING) {
			assert_int_equal(bucket_sum(&r), 0);
			cut_missing++;
		}
		// Counts reported so far never exceed the final totals (the
		// split between buckets may still change: Gemini reports
		// the cached part last).
		if (input_total(&r) > input_total(&full)
		    || output_total(&r) > output_total(&full)) {
			fail_msg(
			    "%s cut at %zu: more than the whole", g->file, n);
		}
	}
	// Every stream has a prefix without usage.
	assert_true(cut_missing > 0);
}

static void
test_cut_streams(void **state)
{
	(void) state;
	each_golden(1, 1, check_cut_stream);
}

static const golden *
find(const char *file, int streamed)
{
	for (size_t i = 0; i < N_GOLDENS; i++) {
		if (strcmp(goldens[i].file, file) == 0
		    && goldens[i].streamed == streamed) {
			return (&goldens[i]);
		}
	}
	fail_msg("no golden %s", file);
	return (NULL);
}

static void
parse_golden(const char *file, llmcost_response *r)
{
	const golden *g = find(file, 0);
	size_t len;
	char *buf = load(g, &len);
	LLMCOST_PASS(llmcost_response_parse(g->fmt, buf, len, r));
	free(buf);
}

// The numbers of the survey's bug reports (§4A), priced with list
// prices typed in here (pico-USD per token).
static void
test_bug_reports(void **state)
{
	(void) state;
	llmcost_response r;

	// Langfuse #10592: input 17,903 including 17,817 cached; shown as
	// 35,720 when the cached tokens are added again.  Reasoning is
	// inside completion_tokens: output 1,254, not 2,150.
	parse_golden("openai_chat_cached_reasoning.json", &r);
	assert_int_equal(input_total(&r), 17903);
	assert_int_equal(output_total(&r), 1254);

	// LiteLLM #9812, claude-3-7-sonnet ($3 in, $3.75 5-min write, $15
	// out per 1M): the console billed $0.05439; counting the writes
	// as input too gave $0.091311.
	parse_golden("anthropic_litellm_9812.json", &r);
	int64_t cost = (int64_t) r.usage.tokens[LLMCOST_IN_UNCACHED] * 3000000
	    + (int64_t) r.usage.tokens[LLMCOST_IN_CACHE_WRITE_5M] * 3750000
	    + (int64_t) r.usage.tokens[LLMCOST_OUT_TEXT] * 15000000;
	assert_int_equal(cost, INT64_C(54399000000));
	assert_int_equal(input_total(&r), 12307);

	// 5-minute and 1-hour writes kept apart: at claude-sonnet-4-5's
	// $3.75 and $6, pricing both at the 5-minute rate under-counts
	// the 1-hour writes by 37.5 %.
	parse_golden("anthropic_cache_5m_1h.json", &r);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_CACHE_WRITE_1H], 4803);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_CACHE_WRITE_5M], 2048);
	assert_int_equal(input_total(&r), 15 + 14942 + 6851);

	// GPT-5.6 cache writes are a write, not plain input (the 2026
	// reports: bills under-counted by about 30 %).
	parse_golden("openai_chat_gpt56_cache_write.json", &r);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_CACHE_WRITE_5M], 9077);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_UNCACHED], 3);
}

static void
stream_text(llmcost_format fmt, const char *text, llmcost_response *r,
    int *rv_feed, int *rv_finish)
{
	llmcost_stream s;
	LLMCOST_PASS(llmcost_stream_init(&s, fmt));
	*rv_feed = llmcost_stream_feed(&s, text, strlen(text));
	*rv_finish = llmcost_stream_finish(&s, NULL, r);
}

// A stream cut after message_start: partial usage, never zero.
static void
test_anthropic_cut_after_start(void **state)
{
	(void) state;
	const char *text
	    = "event: message_start\r\n"
	      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_"
	      "1\",\"type\":\"message\",\"model\":\"claude-haiku-4-5\","
	      "\"usage\":{\"input_tokens\":472,\"cache_read_input_tokens\":"
	      "2048,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}"
	      "\r\n\r\n"
	      "event: content_block_delta\r\ndata: {\"type\":\"content_";
	llmcost_response r;
	int rf, rv;
	stream_text(LLMCOST_FMT_ANTHROPIC, text, &r, &rf, &rv);
	assert_int_equal(rf, 0);
	assert_int_equal(rv, LLMCOST_EINCOMPLETE);
	assert_int_equal(r.status, LLMCOST_STATUS_ABORTED);
	assert_int_equal(r.usage_flags, LLMCOST_USAGE_PARTIAL);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_UNCACHED], 472);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_CACHE_READ], 2048);
	assert_int_equal(r.usage.tokens[LLMCOST_OUT_TEXT], 1);
	assert_string_equal(r.model, "claude-haiku-4-5");

	// An overloaded error after message_start: the provider's error,
	// with the partial usage.
	text = "data: "
	       "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\","
	       "\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
	       "event: error\n"
	       "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_"
	       "error\",\"message\":\"Overloaded\"}}\n\n";
	stream_text(LLMCOST_FMT_ANTHROPIC, text, &r, &rf, &rv);
	assert_int_equal(rv, 0);
	assert_int_equal(r.status, LLMCOST_STATUS_ERROR);
	assert_int_equal(r.usage_flags, LLMCOST_USAGE_PARTIAL);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_UNCACHED], 10);
}

// Event names, comments, CRLF, a final event without its blank line, a
// failed Responses stream, streams cut short or empty: the error, the
// status, the flags, uncached input and text output, the request id
// (NULL: none checked).
typedef struct stream_case {
	const char *what;
	llmcost_format fmt;
	const char *text;
	int rv;
	llmcost_status status;
	uint32_t flags;
	uint64_t in, out;
	const char *request_id;
} stream_case;

static const stream_case stream_cases[] = {
	{ "OpenAI with a keep-alive comment, usage in a final event that has "
	  "no blank line after it, and no [DONE]",
	    LLMCOST_FMT_OPENAI_CHAT,
	    ": keep-alive\n\n"
	    "data: "
	    "{\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"delta\":"
	    "{},\"finish_reason\":\"length\"}]}\n\n"
	    "data: {\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[],"
	    "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}",
	    0, LLMCOST_STATUS_OK, 0, 5, 7, NULL },
	{ "a JSON value split over two data lines of one event",
	    LLMCOST_FMT_OPENAI_CHAT,
	    "data: {\"choices\":[{\"finish_reason\":\"stop\"}],\n"
	    "data: \"usage\":{\"prompt_tokens\":3,\n"
	    "data: \"completion_tokens\":4}}\n\n",
	    0, LLMCOST_STATUS_OK, 0, 3, 4, NULL },
	{ "Responses: response.failed still carries usage; the call is an "
	  "error with that usage",
	    LLMCOST_FMT_OPENAI_RESPONSES,
	    "event: response.failed\n"
	    "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_"
	    "9\",\"status\":\"failed\",\"model\":\"gpt-4.1\",\"error\":{"
	    "\"code\":\"server_error\"},\"usage\":{\"input_tokens\":40,"
	    "\"output_tokens\":2}}}\n\n",
	    0, LLMCOST_STATUS_ERROR, 0, 40, 2, "resp_9" },
	{ "Gemini's array form cut after its first element: partial",
	    LLMCOST_FMT_GEMINI,
	    "[{\"usageMetadata\":{\"promptTokenCount\":9},"
	    "\"modelVersion\":\"gemini-2.0-flash\"}\r\n,{\"candi",
	    LLMCOST_EINCOMPLETE, LLMCOST_STATUS_ABORTED, LLMCOST_USAGE_PARTIAL,
	    9, 0, NULL },
	{ "nothing at all", LLMCOST_FMT_GEMINI, "", LLMCOST_EINCOMPLETE,
	    LLMCOST_STATUS_ABORTED, LLMCOST_USAGE_MISSING, 0, 0, NULL },
};

static void
test_stream_shapes(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(stream_cases) / sizeof(stream_cases[0]);
	     i++) {
		const stream_case *c = &stream_cases[i];
		llmcost_response r;
		int rf, rv;

		stream_text(c->fmt, c->text, &r, &rf, &rv);
		if (rv != c->rv || r.status != c->status
		    || r.usage_flags != c->flags
		    || r.usage.tokens[LLMCOST_IN_UNCACHED] != c->in
		    || r.usage.tokens[LLMCOST_OUT_TEXT] != c->out
		    || (c->request_id != NULL
		        && strcmp(r.request_id, c->request_id) != 0)) {
			fail_msg("%s: %s status %d flags %u in %llu out %llu "
			         "request id \"%s\"",
			    c->what, llmcost_err_name(rv), (int) r.status,
			    r.usage_flags,
			    (unsigned long long)
			        r.usage.tokens[LLMCOST_IN_UNCACHED],
			    (unsigned long long)
			        r.usage.tokens[LLMCOST_OUT_TEXT],
			    r.request_id);
		}
	}
}

typedef struct bad {
	llmcost_format fmt;
	const char *body;
	int rv;
} bad;

// Bodies that are refused, with their error; the response always says
// the usage is missing.
static void
test_bad_bodies(void **state)
{
	(void) state;
	static const bad cases[] = {
		{ LLMCOST_FMT_OPENAI_CHAT, "", LLMCOST_EPROTO },
		{ LLMCOST_FMT_OPENAI_CHAT, "<html>502 Bad Gateway</html>",
		    LLMCOST_EPROTO },
		{ LLMCOST_FMT_OPENAI_CHAT,
		    "{\"usage\":{\"prompt_tokens\":\"12\"}}", LLMCOST_EPROTO },
		{ LLMCOST_FMT_OPENAI_CHAT,
		    "{\"usage\":{\"prompt_tokens\":12.5}}", LLMCOST_EPROTO },
		{ LLMCOST_FMT_OPENAI_CHAT,
		    "{\"usage\":{\"prompt_tokens\":-3}}", LLMCOST_EPROTO },
		{ LLMCOST_FMT_OPENAI_CHAT,
		    "{\"usage\":{\"prompt_tokens\":18446744073709551616}}",
		    LLMCOST_ETOOBIG },
		// A part above its total.
		{ LLMCOST_FMT_OPENAI_CHAT,
		    "{\"usage\":{\"prompt_tokens\":10,\"prompt_tokens_"
		    "details\":"
		    "{\"cached_tokens\":11}}}",
		    LLMCOST_EPROTO },
		{ LLMCOST_FMT_OPENAI_RESPONSES,
		    "{\"usage\":{\"output_tokens\":10,\"output_tokens_"
		    "details\":"
		    "{\"reasoning_tokens\":11}}}",
		    LLMCOST_EPROTO },
		{ LLMCOST_FMT_ANTHROPIC,
		    "{\"type\":\"message\",\"usage\":{\"cache_creation_input_"
		    "tokens\":10,\"cache_creation\":{\"ephemeral_5m_input_"
		    "tokens"
		    "\":6,\"ephemeral_1h_input_tokens\":5}}}",
		    LLMCOST_EPROTO },
		{ LLMCOST_FMT_GEMINI,
		    "{\"usageMetadata\":{\"promptTokenCount\":10,"
		    "\"cachedContentTokenCount\":11}}",
		    LLMCOST_EPROTO },
		{ LLMCOST_FMT_GEMINI,
		    "{\"usageMetadata\":{\"promptTokenCount\":10,"
		    "\"promptTokensDetails\":[{\"modality\":\"AUDIO\","
		    "\"tokenCount\":4}],\"cacheTokensDetails\":[{\"modality\":"
		    "\"AUDIO\",\"tokenCount\":5}]}}",
		    LLMCOST_EPROTO },
		// A provider error whose usage cannot be: the usage is
		// missing, not zero.
		{ LLMCOST_FMT_GEMINI,
		    "{\"error\":{},\"usageMetadata\":{\"promptTokenCount\":1,"
		    "\"cachedContentTokenCount\":5}}",
		    LLMCOST_EPROTO },
		// Well-formed, but no usage.
		{ LLMCOST_FMT_OPENAI_CHAT, "{\"id\":\"x\",\"usage\":null}",
		    LLMCOST_ENOTFOUND },
		{ LLMCOST_FMT_BEDROCK_CONVERSE, "{\"output\":{}}",
		    LLMCOST_ENOTFOUND },
		{ LLMCOST_FMT_OPENAI_CHAT, "[1,2,3]", LLMCOST_ENOTFOUND },
		// Two documents.
		{ LLMCOST_FMT_OPENAI_CHAT, "{} {}", LLMCOST_EPROTO },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		llmcost_response r;
		int rv = llmcost_response_parse(
		    cases[i].fmt, cases[i].body, strlen(cases[i].body), &r);
		if (rv != cases[i].rv || r.usage_flags != LLMCOST_USAGE_MISSING
		    || bucket_sum(&r) != 0) {
			fail_msg("case %zu (%s): %s flags %u, want %s", i,
			    cases[i].body, llmcost_err_name(rv), r.usage_flags,
			    llmcost_err_name(cases[i].rv));
		}
	}

	// Nesting past 64 levels.
	char deep[300];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	llmcost_response r;
	LLMCOST_FAIL(
	    llmcost_response_parse(LLMCOST_FMT_OPENAI_CHAT, deep, 200, &r),
	    LLMCOST_ETOOBIG);

	// An OpenAI error body is an error, with nothing missing.
	const char *err = "{\"error\":{\"message\":\"Rate limit reached\","
	                  "\"type\":\"requests\",\"code\":\"rate_limit_"
	                  "exceeded\"}}";
	LLMCOST_PASS(llmcost_response_parse(
	    LLMCOST_FMT_OPENAI_CHAT, err, strlen(err), &r));
	assert_int_equal(r.status, LLMCOST_STATUS_ERROR);
	assert_int_equal(r.usage_flags, 0);

	// Misuse.
	LLMCOST_FAIL(
	    llmcost_response_parse(LLMCOST_FMT_OPENAI_CHAT, "{}", 2, NULL),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_response_parse(LLMCOST_FMT_OPENAI_CHAT, NULL, 2, &r),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_response_parse((llmcost_format) 99, "{}", 2, &r),
	    LLMCOST_EINVAL);
}

static void
test_bad_streams(void **state)
{
	(void) state;
	llmcost_response r;
	llmcost_stream s;
	int rf, rv;

	// Not JSON in a data line: the error sticks, what came before
	// stays, the call is aborted and flagged.
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_OPENAI_CHAT));
	const char *a = "data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":"
	                "{\"prompt_tokens\":8,\"completion_tokens\":1}}\n\n";
	LLMCOST_PASS(llmcost_stream_feed(&s, a, strlen(a)));
	LLMCOST_FAIL(
	    llmcost_stream_feed(&s, "data: {oops}\n\n", 14), LLMCOST_EPROTO);
	LLMCOST_FAIL(
	    llmcost_stream_feed(&s, "data: [DONE]\n\n", 14), LLMCOST_EPROTO);
	LLMCOST_FAIL(llmcost_stream_finish(&s, NULL, &r), LLMCOST_EPROTO);
	assert_int_equal(r.status, LLMCOST_STATUS_ABORTED);
	assert_int_equal(r.usage_flags, LLMCOST_USAGE_PARTIAL);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_UNCACHED], 8);
	assert_string_equal(r.model, "gpt-4o");

	// A finished stream must be initialised again.
	LLMCOST_FAIL(llmcost_stream_feed(&s, "x", 1), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_stream_finish(&s, NULL, &r), LLMCOST_EINVAL);

	// Data that is neither JSON nor [DONE].
	stream_text(LLMCOST_FMT_OPENAI_CHAT, "data: hello\n\n", &r, &rf, &rv);
	assert_int_equal(rf, LLMCOST_EPROTO);
	assert_int_equal(rv, LLMCOST_EPROTO);
	assert_int_equal(r.usage_flags, LLMCOST_USAGE_MISSING);

	// An event name over its cap.
	char line[200];
	snprintf(line, sizeof(line), "event: %080d\n", 0);
	stream_text(LLMCOST_FMT_ANTHROPIC, line, &r, &rf, &rv);
	assert_int_equal(rf, LLMCOST_ETOOBIG);

	// A data line of 1 MiB costs no memory: a long answer in the
	// final Responses event is read like a short one.
	size_t big = 1u << 20;
	char *buf = malloc(big + 400);
	assert_non_null(buf);
	int n = snprintf(buf, 400,
	    "data: {\"type\":\"response.completed\",\"response\":{"
	    "\"output\":[{\"type\":\"message\",\"content\":[{\"text\":\"");
	memset(buf + n, 'x', big);
	snprintf(buf + n + big, 400,
	    "\"}]}],\"usage\":{\"input_tokens\":5,\"output_tokens\":"
	    "262144}}}\n\n");
	stream_text(LLMCOST_FMT_OPENAI_RESPONSES, buf, &r, &rf, &rv);
	assert_int_equal(rv, 0);
	assert_int_equal(r.usage.tokens[LLMCOST_OUT_TEXT], 262144);
	free(buf);

	// A corrupted event stream message: its CRC does not match, and
	// what it said is not used.
	uint8_t msg[512];
	const char *meta
	    = "{\"usage\":{\"inputTokens\":5,\"outputTokens\":6}}";
	size_t len = evs_encode(
	    msg, sizeof(msg), "metadata", "event", meta, strlen(meta));
	assert_true(len > 0);
	msg[len - 10] ^= 0x20;
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_BEDROCK_CONVERSE));
	LLMCOST_FAIL(llmcost_stream_feed(&s, msg, len), LLMCOST_EPROTO);
	LLMCOST_FAIL(llmcost_stream_finish(&s, NULL, &r), LLMCOST_EPROTO);
	assert_int_equal(r.usage_flags, LLMCOST_USAGE_MISSING);
	assert_int_equal(r.usage.tokens[LLMCOST_IN_UNCACHED], 0);

	// An exception message: the provider's error.
	const char *exc = "{\"message\":\"Too many tokens, please wait.\"}";
	len = evs_encode(msg, sizeof(msg), "throttlingException", "exception",
	    exc, strlen(exc));
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_BEDROCK_CONVERSE));
	LLMCOST_PASS(llmcost_stream_feed(&s, msg, len));
	LLMCOST_PASS(llmcost_stream_finish(&s, NULL, &r));
	assert_int_equal(r.status, LLMCOST_STATUS_ERROR);
	assert_int_equal(r.usage_flags, LLMCOST_USAGE_MISSING);

	// Misuse.
	LLMCOST_FAIL(
	    llmcost_stream_init(NULL, LLMCOST_FMT_GEMINI), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_stream_init(&s, (llmcost_format) 0), LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_GEMINI));
	LLMCOST_FAIL(llmcost_stream_feed(&s, NULL, 3), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_stream_finish(NULL, NULL, NULL), LLMCOST_EINVAL);
}

int
main(void)
{
	data_dir = getenv("LLMCOST_SOURCE_DIR");
	static char dir[1024];
	snprintf(dir, sizeof(dir), "%s/providers/tests/data",
	    data_dir != NULL ? data_dir : ".");
	data_dir = dir;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_streams_split_anywhere),
		cmocka_unit_test(test_truncated_bodies),
		cmocka_unit_test(test_cut_streams),
		cmocka_unit_test(test_bug_reports),
		cmocka_unit_test(test_anthropic_cut_after_start),
		cmocka_unit_test(test_stream_shapes),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_bad_streams),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
