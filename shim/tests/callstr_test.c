// Tests for the call site's string intake (shim/call.c): the inline path
// for short ASCII strings must give exactly the results of
// llmcost__str_check and store exactly the caller's bytes, for every
// length around the 16-byte limit, at every alignment, with a byte above
// 0x7f at every position; it must not read across a page it has no
// business in (a string ending at the last byte before an inaccessible
// page); and its shortcut for new keys and tags (no existing entry of
// the same length) must not hide a key or tag already set, nor write
// past the arena.  The checks
// read the pool slot directly (shim.h).
#include "testutil.h"

#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"
#include "sink.h" // calls are stored at once: no collector

static llmcost_client *
client(void)
{
	llmcost_client *c = NULL;
	LLMCOST_PASS(sink_client(&c, 64));
	return (c);
}

// Whether span sp of the call's arena holds exactly s.
static int
span_is(const llmcost_call *call, llmcost__span sp, const char *s)
{
	return (sp.len == strlen(s)
	    && memcmp(call->arena + sp.off, s, sp.len) == 0);
}

// The value of metadata entry i, as stored in the slot.
static int
meta_is(const llmcost_call *call, uint16_t i, const char *key, const char *val)
{
	return (i < call->n_meta && span_is(call, call->meta[i].key, key)
	    && span_is(call, call->meta[i].val, val));
}

static int
tag_is(const llmcost_call *call, uint16_t i, const char *tag)
{
	return (i < call->n_tags && span_is(call, call->tags[i], tag));
}

// Begins a call with provider and model: the result is want, and an
// accepted call holds exactly both names.
static void
check_begin(
    llmcost_client *c, const char *provider, const char *model, int want)
{
	llmcost_call *call;
	assert_int_equal(llmcost_call_begin(c, provider, model, &call), want);
	if (want == 0) {
		assert_true(span_is(call, call->provider, provider));
		assert_true(span_is(call, call->model, model));
		llmcost_call_abandon(call);
	}
}

// Sets s as a value and as a key and a tag of a fresh call, and compares
// each result and stored string with what llmcost__str_check says.
static void
check_string(llmcost_client *c, const char *s)
{
	llmcost_call *call;
	size_t len;
	int want_val = llmcost__str_check(s, LLMCOST_MAX_VALUE, 1, &len);
	int want_key = llmcost__str_check(s, LLMCOST_MAX_KEY, 0, &len);
	int want_tag = llmcost__str_check(s, LLMCOST_MAX_TAG, 0, &len);

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	assert_int_equal(llmcost_call_set_meta(call, "k", s), want_val);
	if (want_val == 0) {
		assert_true(meta_is(call, 0, "k", s));
	}
	assert_int_equal(llmcost_call_set_meta(call, s, "v"), want_key);
	if (want_key == 0) {
		assert_true(meta_is(call, call->n_meta - 1, s, "v"));
	}
	assert_int_equal(llmcost_call_add_tag(call, s), want_tag);
	if (want_tag == 0) {
		assert_int_equal(call->n_tags, 1);
		assert_true(tag_is(call, 0, s));
	}
	llmcost_call_abandon(call);

	// As a provider and a model name.
	check_begin(
	    c, s, "m", llmcost__str_check(s, LLMCOST_MAX_PROVIDER, 0, &len));
	check_begin(
	    c, "p", s, llmcost__str_check(s, LLMCOST_MAX_MODEL, 0, &len));
}

// Lengths 0..40 at alignments 0..31, all ASCII, then with one byte above
// 0x7f (a valid two-byte sequence, and a lone continuation byte) at each
// position.
static void
test_lengths_and_alignments(void **state)
{
	(void) state;
	llmcost_client *c = client();
	_Alignas(64) char buf[128];

	for (size_t off = 0; off < 32; off++) {
		for (size_t len = 0; len <= 40; len++) {
			char *s = buf + off;
			for (size_t i = 0; i < len; i++) {
				s[i] = (char) ('a' + (off + i) % 26);
			}
			s[len] = '\0';
			// Bytes after the NUL that the scan may see.
			memset(s + len + 1, 0xff, sizeof(buf) - off - len - 1);
			check_string(c, s);
			for (size_t p = 0; p < len; p++) {
				char keep = s[p];
				s[p] = (char) 0x80; // a lone continuation byte
				check_string(c, s);
				if (p + 1 < len) {
					char keep2 = s[p + 1];
					s[p] = (char) 0xc3; // "é"
					s[p + 1] = (char) 0xa9;
					check_string(c, s);
					s[p + 1] = keep2;
				}
				s[p] = keep;
			}
		}
	}
	llmcost_shutdown(c, 1000);
}

// Strings whose NUL is the last byte before a page that cannot be read,
// as metadata, tags, providers and models.
static void
test_page_end(void **state)
{
	(void) state;
	llmcost_client *c = client();
	size_t pg = (size_t) sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + pg, pg, PROT_NONE), 0);

	for (size_t len = 0; len <= 20; len++) {
		char *s = mem + pg - 1 - len;
		memset(mem + pg - 64, 'x', 64);
		s[len] = '\0';
		check_string(c, s);
		if (len > 0) {
			// As a provider and a model name too.
			check_begin(c, s, s, 0);
		}
	}
	assert_int_equal(munmap(mem, 2 * pg), 0);
	llmcost_shutdown(c, 1000);
}

// Keys and tags of equal length: a different one is added, the same one
// replaces the value (metadata) or is ignored (tags).
static void
test_same_length_entries(void **state)
{
	(void) state;
	llmcost_client *c = client();
	llmcost_call *call;

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "ab", "1"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "cd", "2"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "ab", "3"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "cd", "longer value"));
	assert_int_equal(call->n_meta, 2);
	assert_true(meta_is(call, 0, "ab", "3"));
	assert_true(meta_is(call, 1, "cd", "longer value"));

	LLMCOST_PASS(llmcost_call_add_tag(call, "x1"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "x2"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "x1"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "y"));
	assert_int_equal(call->n_tags, 3);
	assert_true(tag_is(call, 0, "x1"));
	assert_true(tag_is(call, 1, "x2"));
	assert_true(tag_is(call, 2, "y"));
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 1000);
}

// Fills the arena of a new call to exactly used bytes (900..1024) with
// four long values.
static llmcost_call *
call_filled(llmcost_client *c, size_t used)
{
	llmcost_call *call;
	char val[LLMCOST_MAX_VALUE + 1];
	const char *keys[4] = { "a", "b", "c", "d" };
	size_t left = used - 2; // provider and model: 1 byte each

	LLMCOST_PASS(llmcost_call_begin(c, "p", "m", &call));
	for (int i = 0; i < 4; i++) {
		size_t chunk = i < 3 ? left / (size_t) (4 - i) : left;
		memset(val, 'v', chunk - 1);
		val[chunk - 1] = '\0';
		LLMCOST_PASS(llmcost_call_set_meta(call, keys[i], val));
		left -= chunk;
	}
	assert_int_equal(call->arena_used, used);
	return (call);
}

// A short tag, key or value (of a length no entry has yet) near the end
// of the arena: it fits to the last byte, or is refused whole.
static void
test_arena_end(void **state)
{
	(void) state;
	llmcost_client *c = client();
	const char *tag = "tag-0123456789ab"; // 16 bytes
	const char *key = "key-0123456789ab";

	for (size_t used = 990; used <= LLMCOST_MAX_CALL_BYTES; used++) {
		llmcost_call *call = call_filled(c, used);
		int fits = used + 16 <= LLMCOST_MAX_CALL_BYTES;
		assert_int_equal(llmcost_call_add_tag(call, tag),
		    fits ? 0 : LLMCOST_ETOOBIG);
		assert_int_equal(call->n_tags, fits ? 1 : 0);
		assert_int_equal(call->arena_used, used + (fits ? 16 : 0));
		if (fits) {
			assert_true(tag_is(call, 0, tag));
		}
		llmcost_call_abandon(call);

		call = call_filled(c, used);
		fits = used + 32 <= LLMCOST_MAX_CALL_BYTES;
		assert_int_equal(llmcost_call_set_meta(call, key, tag),
		    fits ? 0 : LLMCOST_ETOOBIG);
		assert_int_equal(call->n_meta, fits ? 5 : 4);
		assert_int_equal(call->arena_used, used + (fits ? 32 : 0));
		if (fits) {
			assert_true(meta_is(call, 4, key, tag));
		}
		llmcost_call_abandon(call);
	}
	llmcost_shutdown(c, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths_and_alignments),
		cmocka_unit_test(test_page_end),
		cmocka_unit_test(test_same_length_entries),
		cmocka_unit_test(test_arena_end),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
