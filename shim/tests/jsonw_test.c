// Tests for the hot-path JSON writer (shim/jsonw.c), checked against
// jansson's parser: every string, including every control character,
// quotes, backslashes and multi-byte UTF-8, reads back byte for byte;
// numbers read back exactly up to UINT64_MAX; the cap is never passed and
// its error is sticky.
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"

#include "jsonw.h"

// Parses b's text as JSON or fails the test.
static json_t *
parse(const llmcost__jbuf *b)
{
	json_error_t e;
	assert_int_equal(b->err, 0);
	json_t *j
	    = json_loadb(b->p, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (j == NULL) {
		fail_msg("not JSON (%s): %.*s", e.text, (int) b->len, b->p);
	}
	return (j);
}

static void
reads_back(const char *s, size_t len)
{
	llmcost__jbuf b;
	llmcost__jbuf_init(&b, 1 << 16);
	llmcost__jbuf_str(&b, s, len);
	json_t *j = parse(&b);
	assert_true(json_is_string(j));
	assert_int_equal(json_string_length(j), len);
	assert_memory_equal(json_string_value(j), s, len);
	json_decref(j);
	llmcost__jbuf_fini(&b);
}

static void
test_every_byte_escaped(void **state)
{
	(void) state;
	char s[128];
	// Every byte from 0x00 to 0x7F, one at a time and all together.
	for (int ch = 0; ch < 128; ch++) {
		char one = (char) ch;
		reads_back(&one, 1);
		s[ch] = (char) ch;
	}
	reads_back(s, sizeof(s));
	reads_back("", 0);
	reads_back("say \"hi\" \\ back\\slash", 22);
	// Multi-byte UTF-8: copied as it is.
	const char *u
	    = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8";
	reads_back(u, strlen(u));
}

// The scan takes eight bytes at a time: every byte that must be escaped,
// at every offset of a 24-byte run of plain text (ASCII and multi-byte
// UTF-8 around it), is found wherever it falls in a word.
static void
test_escape_at_every_offset(void **state)
{
	(void) state;
	static const char bad[] = { '"', '\\', 0x00, 0x01, 0x0a, 0x1f };
	static const char *const fill[] = { "abcdefghijklmnopqrstuvwx",
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
		"\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" };
	for (size_t f = 0; f < 2; f++) {
		for (size_t k = 0; k < sizeof(bad); k++) {
			for (size_t at = 0; at < 24; at++) {
				char s[24];
				memcpy(s, fill[f], sizeof(s));
				s[at] = bad[k];
				if (f == 1 && at % 2 == 0 && at + 1 < 24) {
					s[at + 1] = 'x'; // whole characters
				} else if (f == 1) {
					s[at - 1] = 'x';
				}
				reads_back(s, sizeof(s));
			}
		}
	}
}

static void
test_object_and_numbers(void **state)
{
	(void) state;
	static const uint64_t nums[]
	    = { 0, 1, 9, 10, 99, 1000000, 4294967296ull, UINT64_MAX };
	llmcost__jbuf b;
	llmcost__jbuf_init(&b, 4096);
	llmcost__jbuf_lit(&b, "{\"k\":[");
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (i > 0) {
			llmcost__jbuf_raw(&b, ",", 1);
		}
		llmcost__jbuf_u64(&b, nums[i]);
	}
	llmcost__jbuf_lit(&b, "],\"s\":");
	llmcost__jbuf_str(&b, "a\nb", 3);
	llmcost__jbuf_lit(&b, "}");
	// jansson reads integers as json_int_t (signed 64 bits): compare the
	// text for UINT64_MAX, the values for the rest.
	assert_non_null(strstr(b.p, "18446744073709551615]"));
	llmcost__jbuf_reset(&b);
	llmcost__jbuf_lit(&b, "[");
	for (size_t i = 0; i + 1 < sizeof(nums) / sizeof(nums[0]); i++) {
		if (i > 0) {
			llmcost__jbuf_raw(&b, ",", 1);
		}
		llmcost__jbuf_u64(&b, nums[i]);
	}
	llmcost__jbuf_lit(&b, "]");
	json_t *j = parse(&b);
	for (size_t i = 0; i + 1 < sizeof(nums) / sizeof(nums[0]); i++) {
		assert_int_equal(
		    json_integer_value(json_array_get(j, i)), nums[i]);
	}
	json_decref(j);
	llmcost__jbuf_fini(&b);
}

static void
test_cap_is_sticky(void **state)
{
	(void) state;
	llmcost__jbuf b;
	llmcost__jbuf_init(&b, 10);
	llmcost__jbuf_lit(&b, "0123456789");
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 10);
	llmcost__jbuf_raw(&b, "x", 1);
	assert_int_equal(b.err, LLMCOST_ETOOBIG);
	assert_int_equal(b.len, 10);
	assert_true(b.cap <= 10);
	// Sticky: later appends that would fit do nothing.
	llmcost__jbuf_reset(&b);
	llmcost__jbuf_str(&b, "\x01\x01", 2); // 14 bytes escaped
	assert_int_equal(b.err, LLMCOST_ETOOBIG);
	assert_true(b.len <= 10);
	llmcost__jbuf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_escaped),
		cmocka_unit_test(test_escape_at_every_offset),
		cmocka_unit_test(test_object_and_numbers),
		cmocka_unit_test(test_cap_is_sticky),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
