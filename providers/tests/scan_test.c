// Unit tests of the pieces under the provider parsers: the push JSON
// scanner (events and paths, resumption at every byte, strictness,
// caps, exact dollar amounts), the server-sent events splitter and the
// AWS event stream reader (CRC-32 against zlib's).
#include "testutil.h"

#include "evs_encode.h"
#include "evstream.h"
#include "json.h"
#include "sse.h"

// Events are written to a log, one per line: "<ev> <path> <value>".
typedef struct jlog {
	char buf[65536];
	size_t len;
} jlog;

static int
log_json(void *arg, const llmcost__json *j, int ev)
{
	static const char *names[] = { "", "num", "str", "true", "false",
		"null", "obj", "arr", "end_obj", "end_arr" };
	jlog *l = arg;
	if (l->len + 2 * LLMCOST__JSON_PATH_MAX + 300 > sizeof(l->buf)) {
		fail_msg("log full");
	}
	int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s %.*s%s",
	    names[ev], (int) j->path_len, j->path, j->ovf ? "(ovf)" : "");
	l->len += (size_t) n;
	if (ev == LLMCOST__J_NUM || ev == LLMCOST__J_STR) {
		n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
		    " %.*s%s", (int) j->val_len, j->val,
		    j->val_trunc ? "(cut)" : "");
		l->len += (size_t) n;
	}
	l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0';
	return (0);
}

static int
scan(const char *doc, size_t len, size_t step, jlog *l)
{
	llmcost__json j;
	memset(l, 0, sizeof(*l));
	llmcost__json_init(&j, log_json, l);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		int rv = llmcost__json_feed(&j, doc + off, n);
		if (rv != 0) {
			return (rv);
		}
	}
	return (llmcost__json_end(&j));
}

static jlog whole_log, piece_log, jl;

static void
test_json_paths(void **state)
{
	(void) state;
	const char *doc = " {\"usage\":{\"x\":[{\"n\":12},{\"n\":-0.5e+3}],"
	                  "\"s\":\"a\\\"b\\u00e9\\ud83d\\ude00\"},"
	                  "\"e\":[1,[true,false,null]],\"o\":{}}\r\n";
	const char *want = "obj \n"
	                   "obj usage\n"
	                   "arr usage.x\n"
	                   "obj usage.x[]\n"
	                   "num usage.x[].n 12\n"
	                   "end_obj usage.x[]\n"
	                   "obj usage.x[]\n"
	                   "num usage.x[].n -0.5e+3\n"
	                   "end_obj usage.x[]\n"
	                   "end_arr usage.x\n"
	                   "str usage.s a\"b\xc3\xa9\xf0\x9f\x98\x80\n"
	                   "end_obj usage\n"
	                   "arr e\n"
	                   "num e[] 1\n"
	                   "arr e[]\n"
	                   "true e[][]\n"
	                   "false e[][]\n"
	                   "null e[][]\n"
	                   "end_arr e[]\n"
	                   "end_arr e\n"
	                   "obj o\n"
	                   "end_obj o\n"
	                   "end_obj \n";
	LLMCOST_PASS(scan(doc, strlen(doc), strlen(doc), &whole_log));
	assert_string_equal(whole_log.buf, want);
	// Resumable at every byte.
	LLMCOST_PASS(scan(doc, strlen(doc), 1, &piece_log));
	assert_string_equal(piece_log.buf, want);
	for (size_t step = 2; step < 9; step++) {
		LLMCOST_PASS(scan(doc, strlen(doc), step, &piece_log));
		assert_string_equal(piece_log.buf, want);
	}
}

// Keys that cannot be matched, and a path longer than the cap.
static void
test_json_unmatchable(void **state)
{
	(void) state;
	const char *keys = "{\"usage.prompt_tokens\":5,\"u\\u0073age\":6,"
	                   "\"a[]\":7}";
	LLMCOST_PASS(scan(keys, strlen(keys), 1, &jl));
	assert_string_equal(
	    jl.buf, "obj \nnum \x01 5\nnum \x01 6\nnum \x01 7\nend_obj \n");

	// 40 levels of a 7-byte key overflow the 160-byte path; the value
	// after the deep part is matchable again.
	char doc[1024];
	size_t n = 0;
	doc[n++] = '{';
	for (int i = 0; i < 40; i++) {
		n += (size_t) sprintf(doc + n, "\"abcde\":{");
	}
	n += (size_t) sprintf(doc + n, "\"v\":1");
	for (int i = 0; i < 40; i++) {
		doc[n++] = '}';
	}
	n += (size_t) sprintf(doc + n, ",\"usage\":2}");
	LLMCOST_PASS(scan(doc, n, n, &jl));
	assert_non_null(strstr(jl.buf, "(ovf)"));
	assert_non_null(strstr(jl.buf, "\nnum usage 2\n"));
}

static void
test_json_strings(void **state)
{
	(void) state;
	// Escapes, a lone surrogate (U+FFFD), and a value longer than the
	// 256 bytes kept.
	const char *esc = "[\"\\n\\t\\/\\\\\", \"\\ud800x\", \"\\udc00\"]";
	LLMCOST_PASS(scan(esc, strlen(esc), 1, &jl));
	assert_string_equal(jl.buf,
	    "arr \nstr [] \n\t/\\\nstr [] \xef\xbf\xbdx\nstr [] "
	    "\xef\xbf\xbd\nend_arr \n");
	char doc[400];
	doc[0] = '"';
	memset(doc + 1, 'y', 300);
	doc[301] = '"';
	LLMCOST_PASS(scan(doc, 302, 302, &jl));
	assert_non_null(strstr(jl.buf, "(cut)"));
	assert_int_equal(strlen(jl.buf), strlen("str  (cut)\n") + 256);
	assert_int_equal(jl.buf[5 + 256], '(');
}

static void
test_json_rejects(void **state)
{
	(void) state;
	static const struct {
		const char *doc;
		int rv;
	} cases[] = {
		{ "", LLMCOST_EPROTO },
		{ "{\"a\":}", LLMCOST_EPROTO },
		{ "{\"a\" 1}", LLMCOST_EPROTO },
		{ "[1,]", LLMCOST_EPROTO },
		{ "{,}", LLMCOST_EPROTO },
		{ "{\"a\":1,}", LLMCOST_EPROTO },
		{ "[1 2]", LLMCOST_EPROTO },
		{ "{\"a\":1}}", LLMCOST_EPROTO },
		{ "{} {}", LLMCOST_EPROTO },
		{ "{\"a\":1", LLMCOST_EPROTO },
		{ "[\"abc", LLMCOST_EPROTO },
		{ "01", LLMCOST_EPROTO },
		{ "1.", LLMCOST_EPROTO },
		{ "-", LLMCOST_EPROTO },
		{ "1e", LLMCOST_EPROTO },
		{ "1e+", LLMCOST_EPROTO },
		{ ".5", LLMCOST_EPROTO },
		{ "+1", LLMCOST_EPROTO },
		{ "1x", LLMCOST_EPROTO },
		{ "tru", LLMCOST_EPROTO },
		{ "nul", LLMCOST_EPROTO },
		{ "nulls", LLMCOST_EPROTO },
		{ "True", LLMCOST_EPROTO },
		{ "\"\x01\"", LLMCOST_EPROTO },
		{ "\"\\q\"", LLMCOST_EPROTO },
		{ "\"\\u12g4\"", LLMCOST_EPROTO },
		{ "'a'", LLMCOST_EPROTO },
		// UTF-8: overlong, surrogate, above U+10FFFF, truncated,
		// a stray continuation byte.
		{ "\"\xc0\x80\"", LLMCOST_EPROTO },
		{ "\"\xe0\x80\x80\"", LLMCOST_EPROTO },
		{ "\"\xed\xa0\x80\"", LLMCOST_EPROTO },
		{ "\"\xf4\x90\x80\x80\"", LLMCOST_EPROTO },
		{ "\"\xe2\x82\"", LLMCOST_EPROTO },
		{ "\"\x80\"", LLMCOST_EPROTO },
		{ "\"\xff\"", LLMCOST_EPROTO },
		// A number over 64 bytes.
		{ "12345678901234567890123456789012345678901234567890123456789"
		  "012345",
		    LLMCOST_ETOOBIG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].doc);
		int whole = scan(cases[i].doc, len, len ? len : 1, &jl);
		int bytes = scan(cases[i].doc, len, 1, &jl);
		if (whole != cases[i].rv || bytes != cases[i].rv) {
			fail_msg("case %zu (%s): %s / %s, want %s", i,
			    cases[i].doc, llmcost_err_name(whole),
			    llmcost_err_name(bytes),
			    llmcost_err_name(cases[i].rv));
		}
	}
	// Accepted: valid UTF-8 of every length, numbers of every shape.
	const char *ok = "[\"\xc2\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf"
	                 "\xbf\",0,-0,1.5,2e10,3E-2,-4.25e+1]";
	LLMCOST_PASS(scan(ok, strlen(ok), 1, &jl));

	// Depth: 64 levels are accepted, 65 refused.
	char deep[200];
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	LLMCOST_PASS(scan(deep, 128, 128, &jl));
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	LLMCOST_FAIL(scan(deep, 130, 130, &jl), LLMCOST_ETOOBIG);
}

static int
num_of(const char *text, uint64_t *u, int64_t *pusd, int *rv_u)
{
	llmcost__json j;
	llmcost__json_init(&j, NULL, NULL);
	LLMCOST_PASS(llmcost__json_feed(&j, text, strlen(text)));
	LLMCOST_PASS(llmcost__json_end(&j));
	*rv_u = llmcost__json_u64(&j, u);
	return (llmcost__json_pusd(&j, pusd));
}

static void
test_json_numbers(void **state)
{
	(void) state;
	static const struct {
		const char *text;
		int rv_u;
		uint64_t u;
		int rv_p;
		int64_t pusd;
	} cases[] = {
		{ "0", 0, 0, 0, 0 },
		{ "17903", 0, 17903, 0, INT64_C(17903000000000000) },
		{ "18446744073709551615", 0, UINT64_MAX, LLMCOST_ETOOBIG, 0 },
		{ "18446744073709551616", LLMCOST_ETOOBIG, 0, LLMCOST_ETOOBIG,
		    0 },
		{ "0.95", LLMCOST_EPROTO, 0, 0, INT64_C(950000000000) },
		{ "0.0093234", LLMCOST_EPROTO, 0, 0, INT64_C(9323400000) },
		{ "0.00046617", LLMCOST_EPROTO, 0, 0, INT64_C(466170000) },
		{ "1e-05", LLMCOST_EPROTO, 0, 0, INT64_C(10000000) },
		{ "9.55E-5", LLMCOST_EPROTO, 0, 0, INT64_C(95500000) },
		{ "2.5e2", LLMCOST_EPROTO, 0, 0, INT64_C(250000000000000) },
		// Below one pico-USD: rounded half up.
		{ "1.5e-12", LLMCOST_EPROTO, 0, 0, 2 },
		{ "4.4e-13", LLMCOST_EPROTO, 0, 0, 0 },
		{ "5e-13", LLMCOST_EPROTO, 0, 0, 1 },
		{ "0.0000000000014999", LLMCOST_EPROTO, 0, 0, 1 },
		{ "123.456789012345678901234", LLMCOST_EPROTO, 0, 0,
		    INT64_C(123456789012346) },
		{ "1e-400", LLMCOST_EPROTO, 0, 0, 0 },
		{ "9223372.036854775807", LLMCOST_EPROTO, 0, 0, INT64_MAX },
		{ "9223372.036854775808", LLMCOST_EPROTO, 0, LLMCOST_ETOOBIG,
		    0 },
		{ "1e400", LLMCOST_EPROTO, 0, LLMCOST_ETOOBIG, 0 },
		{ "0e400", LLMCOST_EPROTO, 0, 0, 0 },
		{ "-0.1", LLMCOST_EPROTO, 0, LLMCOST_EPROTO, 0 },
		{ "-1", LLMCOST_EPROTO, 0, LLMCOST_EPROTO, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t u = 0;
		int64_t p = 0;
		int rv_u;
		int rv_p = num_of(cases[i].text, &u, &p, &rv_u);
		if (rv_u != cases[i].rv_u || rv_p != cases[i].rv_p
		    || (rv_u == 0 && u != cases[i].u)
		    || (rv_p == 0 && p != cases[i].pusd)) {
			fail_msg("%s: u64 %s %llu, pusd %s %lld",
			    cases[i].text, llmcost_err_name(rv_u),
			    (unsigned long long) u, llmcost_err_name(rv_p),
			    (long long) p);
		}
	}
}

// SSE: the sink's calls, logged.
typedef struct slog {
	char buf[4096];
	size_t len;
} slog;

static int
sse_data(void *arg, const char *p, size_t n)
{
	slog *l = arg;
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return (0);
}

static int
sse_dispatch(void *arg, const char *event)
{
	slog *l = arg;
	l->len += (size_t) snprintf(
	    l->buf + l->len, sizeof(l->buf) - l->len, "|<%s>\n", event);
	return (0);
}

static const llmcost__sse_sink sink = { sse_data, sse_dispatch };

static int
split(const char *text, size_t len, size_t step, slog *l)
{
	llmcost__sse s;
	memset(l, 0, sizeof(*l));
	llmcost__sse_init(&s, &sink, l);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		int rv = llmcost__sse_feed(&s, text + off, n);
		if (rv != 0) {
			return (rv);
		}
	}
	return (0);
}

static void
test_sse(void **state)
{
	(void) state;
	// A BOM, a comment, CRLF, CR and LF line ends, an event name, two
	// data lines joined with '\n', "data:" with and without the space,
	// a field name alone, id and retry ignored, unknown fields ignored,
	// an event with no data (not dispatched), and a last event without
	// its blank line (not dispatched).
	const char *text = "\xef\xbb\xbf: hello\r\n"
	                   "event: message_start\r\n"
	                   "data: {\"a\":\r\n"
	                   "data:1}\r\n"
	                   "\r\n"
	                   "id: 7\rretry: 100\r"
	                   "data:  two spaces\r\r"
	                   "event: ping\n\n"
	                   "verylongfieldname: x\n"
	                   "data\n"
	                   "data: z\n\n"
	                   "data: unfinished";
	const char *want = "{\"a\":\n1}|<message_start>\n"
	                   " two spaces|<>\n"
	                   "\nz|<>\n"
	                   "unfinished";
	size_t len = strlen(text);
	slog l;
	for (size_t step = 1; step <= len; step++) {
		LLMCOST_PASS(split(text, len, step, &l));
		if (strcmp(l.buf, want) != 0) {
			fail_msg("step %zu: got [%s]", step, l.buf);
		}
	}
	// The event name is capped; a partial BOM is refused.
	char line[100];
	snprintf(line, sizeof(line), "event: %064d\n", 0);
	LLMCOST_PASS(split(line, strlen(line), 1, &l));
	snprintf(line, sizeof(line), "event: %065d\n", 0);
	LLMCOST_FAIL(split(line, strlen(line), 1, &l), LLMCOST_ETOOBIG);
	LLMCOST_FAIL(split("\xef\xbb"
	                   "data: x\n\n",
	                 11, 1, &l),
	    LLMCOST_EPROTO);
}

// The event stream: begin/payload/end, logged.
typedef struct elog {
	char buf[4096];
	size_t len;
} elog;

static int
evs_begin(void *arg, const char *type, const char *msg)
{
	elog *l = arg;
	l->len += (size_t) snprintf(
	    l->buf + l->len, sizeof(l->buf) - l->len, "<%s/%s>", type, msg);
	return (0);
}

static int
evs_payload(void *arg, const char *p, size_t n)
{
	elog *l = arg;
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return (0);
}

static int
evs_end(void *arg)
{
	elog *l = arg;
	l->len += (size_t) snprintf(
	    l->buf + l->len, sizeof(l->buf) - l->len, "|");
	return (0);
}

static const llmcost__evs_sink esink = { evs_begin, evs_payload, evs_end };

static int
frames(const uint8_t *b, size_t len, size_t step, elog *l, int *mid)
{
	llmcost__evs e;
	memset(l, 0, sizeof(*l));
	llmcost__evs_init(&e, &esink, l);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		int rv = llmcost__evs_feed(&e, (const char *) b + off, n);
		if (rv != 0) {
			return (rv);
		}
	}
	*mid = llmcost__evs_mid_message(&e);
	return (0);
}

static void
test_evstream(void **state)
{
	(void) state;
	uint8_t buf[2048];
	elog l;
	int mid;

	assert_int_equal(llmcost__crc32(0, "123456789", 9), 0xCBF43926u);
	assert_int_equal(llmcost__crc32(0, buf, 0), 0);
	for (size_t i = 0; i < 300; i++) {
		buf[i] = (uint8_t) (i * 7 + 3);
	}
	assert_int_equal(
	    llmcost__crc32(llmcost__crc32(0, buf, 100), buf + 100, 200),
	    (uint32_t) crc32(0, buf, 300));

	size_t n = evs_encode(buf, sizeof(buf), "messageStop", "event",
	    "{\"stopReason\":\"end_turn\"}", 25);
	size_t m = evs_encode(
	    buf + n, sizeof(buf) - n, "metadata", "event", "{}", 2);
	// An empty payload.
	size_t k = evs_encode(
	    buf + n + m, sizeof(buf) - n - m, "ping", "event", "", 0);
	for (size_t step = 1; step <= n + m + k; step++) {
		LLMCOST_PASS(frames(buf, n + m + k, step, &l, &mid));
		assert_string_equal(l.buf,
		    "<messageStop/event>{\"stopReason\":\"end_turn\"}|"
		    "<metadata/event>{}|<ping/event>|");
		assert_false(mid);
	}
	LLMCOST_PASS(frames(buf, n + 5, n + 5, &l, &mid));
	assert_true(mid);

	// Corruption: the prelude CRC, the message CRC, a payload byte.
	uint8_t bad[2048];
	memcpy(bad, buf, n);
	bad[9] ^= 1;
	LLMCOST_FAIL(frames(bad, n, 1, &l, &mid), LLMCOST_EPROTO);
	memcpy(bad, buf, n);
	bad[n - 1] ^= 1;
	LLMCOST_FAIL(frames(bad, n, 1, &l, &mid), LLMCOST_EPROTO);
	memcpy(bad, buf, n);
	bad[n - 8] ^= 1;
	LLMCOST_FAIL(frames(bad, n, n, &l, &mid), LLMCOST_EPROTO);

	// Lengths: too short, headers past the end, over the caps (each
	// with a valid prelude CRC).
	static const struct {
		uint32_t total, hdr;
		int rv;
	} lens[] = {
		{ 15, 0, LLMCOST_EPROTO },
		{ 100, 85, LLMCOST_EPROTO },
		{ (16u << 20) + 1, 0, LLMCOST_ETOOBIG },
		{ 4096, 1025, LLMCOST_ETOOBIG },
	};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		evs_put32(bad, lens[i].total);
		evs_put32(bad + 4, lens[i].hdr);
		evs_put32(bad + 8, (uint32_t) crc32(0, bad, 8));
		LLMCOST_FAIL(frames(bad, 12, 12, &l, &mid), lens[i].rv);
	}

	// Malformed headers: an unknown value type, a zero-length name, a
	// string running past the headers.  CRCs are made to match.
	static const uint8_t hdrs[][8] = {
		{ 1, 'x', 10, 0, 0, 0, 0, 0 },
		{ 0, 7, 0, 0, 0, 0, 0, 0 },
		{ 1, 'x', 7, 0, 9, 'a', 'b', 'c' },
	};
	for (size_t i = 0; i < 3; i++) {
		size_t total = 12 + 8 + 4;
		evs_put32(bad, (uint32_t) total);
		evs_put32(bad + 4, 8);
		evs_put32(bad + 8, (uint32_t) crc32(0, bad, 8));
		memcpy(bad + 12, hdrs[i], 8);
		evs_put32(bad + 20, (uint32_t) crc32(0, bad, 20));
		LLMCOST_FAIL(frames(bad, total, 1, &l, &mid), LLMCOST_EPROTO);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_paths),
		cmocka_unit_test(test_json_unmatchable),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_rejects),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_sse),
		cmocka_unit_test(test_evstream),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
