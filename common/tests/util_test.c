// Tests for common/ (utf8.c, uuid.c, paths.c, error.c): UTF-8 validation, UUID
// formatting and parsing, the default directory and URL, and the error
// tables.

#include <limits.h>

#include "testutil.h"

#include "llmcost_common.h"

#define UTF8_OK(s) assert_int_equal(llmcost__utf8_valid((s), sizeof(s) - 1), 1)
#define UTF8_BAD(s)                                                           \
	assert_int_equal(llmcost__utf8_valid((s), sizeof(s) - 1), 0)

static void
test_utf8_valid(void **state)
{
	(void) state;
	UTF8_OK("");
	UTF8_OK("plain ascii");
	UTF8_OK("\x00\x7f");         // NUL and DEL are code points
	UTF8_OK("caf\xc3\xa9");      // U+00E9
	UTF8_OK("\xc2\x80");         // U+0080, smallest 2-byte
	UTF8_OK("\xdf\xbf");         // U+07FF
	UTF8_OK("\xe0\xa0\x80");     // U+0800, smallest 3-byte
	UTF8_OK("\xe2\x82\xac");     // U+20AC euro sign
	UTF8_OK("\xed\x9f\xbf");     // U+D7FF, just below surrogates
	UTF8_OK("\xee\x80\x80");     // U+E000, just above surrogates
	UTF8_OK("\xef\xbf\xbf");     // U+FFFF
	UTF8_OK("\xf0\x90\x80\x80"); // U+10000, smallest 4-byte
	UTF8_OK("\xf0\x9f\x98\x80"); // U+1F600 emoji
	UTF8_OK("\xf4\x8f\xbf\xbf"); // U+10FFFF, the last code point
	UTF8_OK("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"); // Japanese
	assert_int_equal(llmcost__utf8_valid(NULL, 0), 1);
}

static void
test_utf8_invalid(void **state)
{
	(void) state;
	UTF8_BAD("\xc0\x80");         // overlong NUL
	UTF8_BAD("\xc1\xbf");         // overlong 2-byte
	UTF8_BAD("\xe0\x80\x80");     // overlong 3-byte
	UTF8_BAD("\xe0\x9f\xbf");     // overlong U+07FF
	UTF8_BAD("\xf0\x80\x80\x80"); // overlong 4-byte
	UTF8_BAD("\xf0\x8f\xbf\xbf"); // overlong U+FFFF
	UTF8_BAD("\xed\xa0\x80");     // U+D800, high surrogate
	UTF8_BAD("\xed\xbf\xbf");     // U+DFFF, low surrogate
	UTF8_BAD("\xf4\x90\x80\x80"); // U+110000
	UTF8_BAD("\xf5\x80\x80\x80"); // lead byte beyond U+10FFFF
	UTF8_BAD("\xff");
	UTF8_BAD("\xfe");
	UTF8_BAD("\x80"); // stray continuation
	UTF8_BAD("a\xbf");
	UTF8_BAD("\xc3");         // truncated 2-byte
	UTF8_BAD("\xe2\x82");     // truncated 3-byte
	UTF8_BAD("\xf0\x9f\x98"); // truncated 4-byte
	UTF8_BAD("\xe2\x82z");    // continuation missing
	UTF8_BAD("\xc3\xa9\xc3"); // valid, then truncated
	UTF8_BAD("\xc3\x28");     // non-continuation second byte
	assert_int_equal(llmcost__utf8_valid(NULL, 1), 0);
	// The length is respected: a valid prefix of an invalid buffer.
	assert_int_equal(llmcost__utf8_valid("ok\xff", 2), 1);
	// A truncated sequence at the end of the given length is caught
	// even when the bytes after it would complete it.
	assert_int_equal(llmcost__utf8_valid("\xe2\x82\xac", 2), 0);
}

// llmcost__str_check: length and UTF-8 in one pass for ASCII, the full
// check from the first byte above 0x7f, and never more than max + 1
// bytes read (the buffers below have no NUL where that matters).
static void
test_str_check(void **state)
{
	size_t len = 0;
	char nonul[5] = { 'a', 'b', 'c', 'd', 'e' };
	char nonul8[5] = { 'a', '\xc3', '\xa9', 'd', 'e' };

	(void) state;
	assert_int_equal(llmcost__str_check("feature", 16, 0, &len), 0);
	assert_int_equal(len, 7);
	assert_int_equal(llmcost__str_check("abcd", 4, 0, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(
	    llmcost__str_check(nonul, 4, 0, &len), LLMCOST_ETOOBIG);
	assert_int_equal(
	    llmcost__str_check(nonul8, 4, 0, &len), LLMCOST_ETOOBIG);
	assert_int_equal(llmcost__str_check("ab\xc3\xa9", 4, 0, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(llmcost__str_check("caf\xc3\xa9 ok", 16, 0, &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(
	    llmcost__str_check("ab\xc3\xa9x", 4, 0, &len), LLMCOST_ETOOBIG);
	assert_int_equal(
	    llmcost__str_check("ok\xc0\xaf", 16, 0, &len), LLMCOST_EUTF8);
	assert_int_equal(
	    llmcost__str_check("\xff", 16, 0, &len), LLMCOST_EUTF8);
	assert_int_equal(llmcost__str_check("", 16, 0, &len), LLMCOST_EINVAL);
	len = 9;
	assert_int_equal(llmcost__str_check("", 16, 1, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(
	    llmcost__str_check(NULL, 16, 1, &len), LLMCOST_EINVAL);
}

static void
test_uuid_roundtrip(void **state)
{
	static const uint8_t id[16] = { 0x01, 0x8f, 0x3a, 0x2b, 0x4c, 0x5d,
		0x7e, 0x6f, 0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7 };
	char s[37];
	uint8_t back[16];

	(void) state;
	memset(s, 'x', sizeof(s));
	llmcost__uuid_str(id, s);
	assert_string_equal(s, "018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f7");
	LLMCOST_PASS(llmcost__uuid_parse(s, back));
	assert_memory_equal(back, id, 16);

	LLMCOST_PASS(
	    llmcost__uuid_parse("018F3A2B-4C5D-7E6F-8091-A2B3C4D5E6F7", back));
	assert_memory_equal(back, id, 16);
	LLMCOST_PASS(
	    llmcost__uuid_parse("018f3A2b-4C5d-7e6F-8091-a2B3c4D5e6F7", back));
	assert_memory_equal(back, id, 16);

	memset(back, 0, sizeof(back));
	llmcost__uuid_str(back, s);
	assert_string_equal(s, "00000000-0000-0000-0000-000000000000");
	memset(back, 0xff, sizeof(back));
	llmcost__uuid_str(back, s);
	assert_string_equal(s, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

static void
test_uuid_parse_bad(void **state)
{
	static const char *bad[] = {
		"",
		"018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f",   // 35
		"018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f77", // 37
		"018f3a2b4c5d7e6f8091a2b3c4d5e6f7",      // no dashes
		"018f3a2b-4c5d-7e6f-8091a-2b3c4d5e6f7",  // dash moved
		"018f3a2b_4c5d-7e6f-8091-a2b3c4d5e6f7",  // not a dash
		"018f3a2g-4c5d-7e6f-8091-a2b3c4d5e6f7",  // not hex
		"{18f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f7",
		" 18f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f7",
		"018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f ",
		"018f3a2b--4c5d7e6f-8091-a2b3c4d5e6f7",
		"urn:uuid:018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f7",
	};
	uint8_t id[16];
	uint8_t zero[16] = { 0 };

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(id, 0, sizeof(id));
		if (llmcost__uuid_parse(bad[i], id) != LLMCOST_EINVAL) {
			fail_msg("accepted \"%s\"", bad[i]);
		}
		// Nothing is written on failure.
		assert_memory_equal(id, zero, 16);
	}
	LLMCOST_FAIL(llmcost__uuid_parse(NULL, id), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost__uuid_parse("018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f7", NULL),
	    LLMCOST_EINVAL);
}

// setenv/unsetenv: restore the caller's environment after each test.
typedef struct saved_env {
	char *xdg;
	char *home;
} saved_env;

static char *
dup_env(const char *name)
{
	const char *v = getenv(name);
	char *d;

	if (v == NULL) {
		return (NULL);
	}
	d = malloc(strlen(v) + 1);
	assert_non_null(d);
	memcpy(d, v, strlen(v) + 1);
	return (d);
}

static int
env_setup(void **state)
{
	saved_env *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return (-1);
	}
	s->xdg = dup_env("XDG_STATE_HOME");
	s->home = dup_env("HOME");
	*state = s;
	return (0);
}

static void
restore(const char *name, const char *v)
{
	if (v != NULL) {
		setenv(name, v, 1);
	} else {
		unsetenv(name);
	}
}

static int
env_teardown(void **state)
{
	saved_env *s = *state;

	restore("XDG_STATE_HOME", s->xdg);
	restore("HOME", s->home);
	free(s->xdg);
	free(s->home);
	free(s);
	return (0);
}

// llmcost__default_dir for XDG_STATE_HOME and HOME (NULL: unset): the
// directory, or "" and LLMCOST_ENOTFOUND when neither is usable.
static void
test_default_dir(void **state)
{
	static const struct {
		const char *xdg;
		const char *home;
		const char *want; // NULL: LLMCOST_ENOTFOUND
	} cases[] = {
		{ "/var/state/alice", "/home/alice",
		    "/var/state/alice/llmcost" },
		{ "/var/state/alice//", "/home/alice",
		    "/var/state/alice/llmcost" },
		// Unset, empty and relative XDG_STATE_HOME all fall back to
		// HOME.
		{ NULL, "/home/alice", "/home/alice/.local/state/llmcost" },
		{ "", "/home/alice", "/home/alice/.local/state/llmcost" },
		{ "state", "/home/alice", "/home/alice/.local/state/llmcost" },
		// Neither usable.
		{ "state", NULL, NULL },
		{ "state", "", NULL },
		{ "state", "relative/home", NULL },
	};
	char buf[256];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].xdg != NULL) {
			setenv("XDG_STATE_HOME", cases[i].xdg, 1);
		} else {
			unsetenv("XDG_STATE_HOME");
		}
		if (cases[i].home != NULL) {
			setenv("HOME", cases[i].home, 1);
		} else {
			unsetenv("HOME");
		}
		if (cases[i].want != NULL) {
			LLMCOST_PASS(llmcost__default_dir(buf, sizeof(buf)));
			assert_string_equal(buf, cases[i].want);
		} else {
			LLMCOST_FAIL(llmcost__default_dir(buf, sizeof(buf)),
			    LLMCOST_ENOTFOUND);
			assert_string_equal(buf, "");
		}
	}
}

static void
test_default_dir_small(void **state)
{
	char buf[32];

	(void) state;
	setenv("XDG_STATE_HOME", "/s", 1);
	// "/s/llmcost" is 10 characters: 11 bytes fit, 10 do not.
	LLMCOST_PASS(llmcost__default_dir(buf, 11));
	assert_string_equal(buf, "/s/llmcost");
	LLMCOST_FAIL(llmcost__default_dir(buf, 10), LLMCOST_ETOOBIG);
	assert_string_equal(buf, "");
	LLMCOST_FAIL(llmcost__default_dir(buf, 0), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost__default_dir(NULL, 10), LLMCOST_EINVAL);
	setenv("XDG_STATE_HOME", "/a-very-long-directory-name-indeed", 1);
	LLMCOST_FAIL(llmcost__default_dir(buf, sizeof(buf)), LLMCOST_ETOOBIG);
}

static void
test_default_url(void **state)
{
	char buf[256];
	const char *want = "ipc:///run/user/1000/llmcost/llmcostd.sock";

	(void) state;
	setenv("XDG_STATE_HOME", "/run/user/1000", 1);
	LLMCOST_PASS(llmcost__default_url(buf, sizeof(buf)));
	assert_string_equal(buf, want);

	// Exactly enough room, then one byte short.
	LLMCOST_PASS(llmcost__default_url(buf, strlen(want) + 1));
	assert_string_equal(buf, want);
	LLMCOST_FAIL(llmcost__default_url(buf, strlen(want)), LLMCOST_ETOOBIG);
	assert_string_equal(buf, "");
	LLMCOST_FAIL(llmcost__default_url(buf, 6), LLMCOST_ETOOBIG);
	LLMCOST_FAIL(llmcost__default_url(buf, 10), LLMCOST_ETOOBIG);

	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/bob", 1);
	LLMCOST_PASS(llmcost__default_url(buf, sizeof(buf)));
	assert_string_equal(
	    buf, "ipc:///home/bob/.local/state/llmcost/llmcostd.sock");

	unsetenv("HOME");
	LLMCOST_FAIL(
	    llmcost__default_url(buf, sizeof(buf)), LLMCOST_ENOTFOUND);
	assert_string_equal(buf, "");
}

// The error codes as the header documents them, written out here rather
// than generated from LLMCOST_ERR_MAP: renumbering a code, renaming it or
// changing its text fails this test, and so does a new code until it is
// added here.
static const struct {
	int num;  // the documented number
	int code; // the enum constant
	const char *name;
	const char *text;
} want_errors[] = {
	{ 0, LLMCOST_OK, "LLMCOST_OK", "success" },
	{ 1, LLMCOST_EINVAL, "LLMCOST_EINVAL", "invalid argument" },
	{ 2, LLMCOST_ENOMEM, "LLMCOST_ENOMEM", "out of memory" },
	{ 3, LLMCOST_EFULL, "LLMCOST_EFULL",
	    "queue full, call dropped and counted" },
	{ 4, LLMCOST_ETOOBIG, "LLMCOST_ETOOBIG",
	    "value exceeds a hard limit" },
	{ 5, LLMCOST_EUTF8, "LLMCOST_EUTF8", "string is not valid UTF-8" },
	{ 6, LLMCOST_ETIMEDOUT, "LLMCOST_ETIMEDOUT", "timed out" },
	{ 7, LLMCOST_ECLOSED, "LLMCOST_ECLOSED", "client is shutting down" },
	{ 8, LLMCOST_EPROTO, "LLMCOST_EPROTO",
	    "malformed or unsupported message" },
	{ 9, LLMCOST_ECONNECT, "LLMCOST_ECONNECT", "collector not reachable" },
	{ 10, LLMCOST_ESTORE, "LLMCOST_ESTORE", "storage error" },
	{ 11, LLMCOST_EDISABLED, "LLMCOST_EDISABLED",
	    "disabled by LLMCOST_DISABLE" },
	{ 12, LLMCOST_ESYSTEM, "LLMCOST_ESYSTEM", "system error" },
	{ 13, LLMCOST_ENOTFOUND, "LLMCOST_ENOTFOUND", "not found" },
	{ 14, LLMCOST_ECONFIG, "LLMCOST_ECONFIG", "invalid configuration" },
	{ 15, LLMCOST_EINCOMPLETE, "LLMCOST_EINCOMPLETE",
	    "response ended before its usage was complete" },
	{ 16, LLMCOST_EBUDGET, "LLMCOST_EBUDGET", "budget exhausted" },
};

static void
test_error_names(void **state)
{
	size_t n = sizeof(want_errors) / sizeof(want_errors[0]);
	int max = 0;

	(void) state;
	for (size_t i = 0; i < n; i++) {
		const char *name = llmcost_err_name(want_errors[i].num);
		const char *text = llmcost_strerror(want_errors[i].num);

		if (want_errors[i].code != want_errors[i].num) {
			fail_msg("%s is %d, documented as %d",
			    want_errors[i].name, want_errors[i].code,
			    want_errors[i].num);
		}
		assert_string_equal(name, want_errors[i].name);
		assert_string_equal(text, want_errors[i].text);
		if (want_errors[i].num > max) {
			max = want_errors[i].num;
		}
	}
	// Codes are never reused or left out: 0..max, each listed once.
	assert_int_equal((size_t) max + 1, n);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(
			    want_errors[i].num, want_errors[j].num);
		}
	}

	// The table has exactly these codes: none added without a line
	// above (the success code 0 is not a row of the table).
#define COUNT_ROW(name, num, text) +1
	assert_int_equal(0 LLMCOST_ERR_MAP(COUNT_ROW), n - 1);
#undef COUNT_ROW
#define CHECK_ROW(name, num, text) assert_true((num) > 0 && (num) <= max);
	LLMCOST_ERR_MAP(CHECK_ROW)
#undef CHECK_ROW

	// Past the last code, and below 0, codes are unknown.
	const int unknown[]
	    = { max + 1, max + 2, max + 1000, -1, -max - 1, INT_MIN, INT_MAX };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_string_equal(
		    llmcost_err_name(unknown[i]), "LLMCOST_UNKNOWN");
		assert_string_equal(
		    llmcost_strerror(unknown[i]), "unknown error");
	}
}

// The version comes from CMake's project(VERSION), the one place it is
// written; common/CMakeLists.txt passes that value to this test on its
// own, as LLMCOST_TEST_PROJECT_VERSION, so the configured header and the
// library are checked against it.
#ifndef LLMCOST_TEST_PROJECT_VERSION
#error "build this test through common/CMakeLists.txt"
#endif

static void
test_version(void **state)
{
	const char *v = llmcost_version();
	unsigned major = 0;
	unsigned minor = 0;
	unsigned patch = 0;
	int end = -1;

	(void) state;
	assert_string_equal(v, LLMCOST_TEST_PROJECT_VERSION);
	assert_string_equal(
	    LLMCOST_VERSION_STRING, LLMCOST_TEST_PROJECT_VERSION);
	// MAJOR.MINOR.PATCH: digits and two dots, nothing else.
	assert_true(strlen(v) > 0 && strspn(v, "0123456789.") == strlen(v));
	assert_int_equal(
	    sscanf(v, "%u.%u.%u%n", &major, &minor, &patch, &end), 3);
	assert_int_equal(end, (int) strlen(v));
	assert_int_equal(major, LLMCOST_VERSION_MAJOR);
	assert_int_equal(minor, LLMCOST_VERSION_MINOR);
	assert_int_equal(patch, LLMCOST_VERSION_PATCH);
}

// The retry rule shared by the LangSmith exporter and the CLI's reader.
static void
test_retry_rule(void **state)
{
	static const long yes[] = { 408, 425, 429, 500, 502, 503, 504, 599 };
	static const long no[]
	    = { 0, 200, 202, 400, 401, 403, 404, 405, 409, 413, 422, 600 };
	int asked = -1;

	(void) state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_int_equal(llmcost__http_retryable(yes[i]), 1);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(llmcost__http_retryable(no[i]), 0);
	}
	assert_int_equal(
	    llmcost__retry_after_header("Retry-After: 3\r\n", 16), 3000);
	assert_int_equal(
	    llmcost__retry_after_header("retry-after:0\r\n", 15), 0);
	assert_int_equal(
	    llmcost__retry_after_header("Retry-After: 999999\r\n", 21),
	    LLMCOST__RETRY_AFTER_MAX_MS);
	// A date, another header, a negative number: no wait asked for.
	assert_int_equal(
	    llmcost__retry_after_header(
	        "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n", 45),
	    -1);
	assert_int_equal(
	    llmcost__retry_after_header("Content-Length: 3\r\n", 19), -1);
	assert_int_equal(
	    llmcost__retry_after_header("Retry-After: -1\r\n", 17), -1);
	// As curl's header callback: the line's length back; the wait
	// stored only from a Retry-After line.
	char ra[] = "Retry-After: 7\r\n", cl[] = "Content-Length: 3\r\n";
	int wait = -1;
	assert_int_equal(llmcost__retry_after_on_header(ra, 1, 16, &wait), 16);
	assert_int_equal(wait, 7000);
	assert_int_equal(llmcost__retry_after_on_header(cl, 1, 19, &wait), 19);
	assert_int_equal(wait, 7000);
	// The server's wait wins; a bare 429 waits 10 s; else the backoff.
	assert_int_equal(llmcost__retry_wait(503, 2000, 700, &asked), 2000);
	assert_int_equal(asked, 1);
	assert_int_equal(llmcost__retry_wait(429, -1, 700, &asked),
	    LLMCOST__RETRY_AFTER_429_MS);
	assert_int_equal(asked, 1);
	assert_int_equal(llmcost__retry_wait(500, -1, 700, &asked), 700);
	assert_int_equal(asked, 0);
}

// RFC 3339 UTC text of seconds since the epoch, written out literally;
// a short buffer gets the text cut, still terminated.
static void
test_utc_text(void **state)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1735689599, "2024-12-31T23:59:59Z" },
		{ 1709210096, "2024-02-29T12:34:56Z" },
		{ 4102444800, "2100-01-01T00:00:00Z" },
	};
	char buf[LLMCOST__UTC_TEXT];
	(void) state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		llmcost__utc_text(cases[i].s, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	llmcost__utc_text(0, buf, 11);
	assert_string_equal(buf, "1970-01-01");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_str_check),
		cmocka_unit_test(test_uuid_roundtrip),
		cmocka_unit_test(test_uuid_parse_bad),
		cmocka_unit_test_setup_teardown(
		    test_default_dir, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_default_dir_small, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(
		    test_default_url, env_setup, env_teardown),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_retry_rule),
		cmocka_unit_test(test_utc_text),
	};

	return (cmocka_run_group_tests_name("util", tests, NULL, NULL));
}
