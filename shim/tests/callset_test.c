// Tests for what llmcost_call_begin leaves to the setters and to
// llmcost_call_end (shim/call.c, shim.h "set"): begin does not zero a
// slot's usage, llmcost_call_set_usage marks it set and llmcost_call_end
// zeroes it when no setter did; the fast paths of set_meta and add_tag
// take a key or tag as new when no key or tag of its length was set
// (meta_lens, tag_lens), so every setter that adds one must note its
// length.  Each test checks the records the batch loop made (sink_seen):
// a call on a slot another call used holds none of that call's fields;
// usage set twice keeps the second; usage and fees and the provider's
// cost, set in either order, all arrive; keys and tags set through the
// fast path are replaced or ignored, not repeated, when set again through
// either path.
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>

#include "shim.h"
#include "sink.h" // calls are stored at once: no collector

#define MAX_RECS 8
#define TEXT_MAX 512

// What the tests look at in a record.
typedef struct rec {
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t fees[LLMCOST_FEE_COUNT];
	uint32_t has_cost;
	uint64_t cost;
	uint32_t status;
	uint32_t flags;
	uint32_t tier;
	uint32_t platform_len;
	uint32_t has_scope;
	char meta[TEXT_MAX]; // "key=value;" per entry
	char tags[TEXT_MAX]; // "tag;" per tag
} rec;

static pthread_mutex_t cap_mtx = PTHREAD_MUTEX_INITIALIZER;
static rec cap[MAX_RECS];
static uint32_t cap_n;

static void
append(char *out, const llmcost_proto_str *s, const char *sep)
{
	size_t o = strlen(out);
	size_t n = strlen(sep);
	assert_true(o + s->len + n < TEXT_MAX);
	memcpy(out + o, s->ptr, s->len);
	memcpy(out + o + s->len, sep, n + 1);
}

// sink_seen: copies what the tests look at from each call's record.
static void
cap_seen(const llmcost__batch *b)
{
	pthread_mutex_lock(&cap_mtx);
	for (uint32_t i = 0; i < b->n; i++) {
		const llmcost_proto_record *r = &b->records[i];
		if (b->kinds[i] != LLMCOST__KIND_CALL || cap_n >= MAX_RECS) {
			continue;
		}
		rec *o = &cap[cap_n++];
		memset(o, 0, sizeof(*o));
		memcpy(o->usage, r->usage, sizeof(o->usage));
		memcpy(o->fees, r->fees, sizeof(o->fees));
		o->has_cost = r->has_provider_cost;
		o->cost = r->provider_cost_pusd;
		o->status = r->status;
		o->flags = r->usage_flags;
		o->tier = r->service_tier;
		o->platform_len = r->platform.len;
		o->has_scope = r->dotted_order.len > 0;
		for (uint32_t k = 0; k < r->n_meta; k++) {
			append(o->meta, &r->meta[k].key, "=");
			append(o->meta, &r->meta[k].val, ";");
		}
		for (uint32_t k = 0; k < r->n_tags; k++) {
			append(o->tags, &r->tags[k], ";");
		}
	}
	pthread_mutex_unlock(&cap_mtx);
}

static llmcost_client *
client(void)
{
	llmcost_client *c = NULL;
	sink_seen = cap_seen;
	pthread_mutex_lock(&cap_mtx);
	cap_n = 0;
	pthread_mutex_unlock(&cap_mtx);
	LLMCOST_PASS(sink_client(&c, 64));
	return (c);
}

// Flushes c and returns how many records arrived (in cap).
static uint32_t
flushed(llmcost_client *c)
{
	LLMCOST_PASS(llmcost_flush(c, 10000));
	pthread_mutex_lock(&cap_mtx);
	uint32_t n = cap_n;
	pthread_mutex_unlock(&cap_mtx);
	return (n);
}

static const llmcost_usage usage1
    = { .tokens = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } };
static const llmcost_usage usage2
    = { .tokens = { 11, 0, 13, 0, 15, 0, 17, 0, 19, 0 } };

// A call on a slot whose last call set every field (and was abandoned)
// holds the defaults: begin resets, or end fills, each of them.
static void
test_used_slot_defaults(void **state)
{
	(void) state;
	llmcost_client *c = client();
	llmcost_call *a, *b;
	char id[40];

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &a));
	LLMCOST_PASS(llmcost_call_set_usage(a, &usage1));
	LLMCOST_PASS(llmcost_call_set_fee(a, LLMCOST_FEE_WEB_SEARCH, 3));
	LLMCOST_PASS(llmcost_call_set_provider_cost(a, 5));
	LLMCOST_PASS(llmcost_call_set_status(a, LLMCOST_STATUS_ERROR));
	LLMCOST_PASS(llmcost_call_set_usage_flags(a, LLMCOST_USAGE_PARTIAL));
	LLMCOST_PASS(llmcost_call_set_service_tier(a, LLMCOST_TIER_BATCH));
	LLMCOST_PASS(llmcost_call_set_platform(a, "vertex"));
	LLMCOST_PASS(llmcost_call_set_meta(a, "feature", "rag-search"));
	LLMCOST_PASS(llmcost_call_add_tag(a, "beta"));
	LLMCOST_PASS(llmcost_call_run_id(a, id, sizeof(id)));
	llmcost_call_abandon(a);

	// Nothing was ended yet, so no lane holds a slot: the next call
	// takes the one just freed, from the shared stack.
	LLMCOST_PASS(llmcost_call_begin(c, "anthropic", "claude", &b));
	assert_ptr_equal(b, a);
	LLMCOST_PASS(llmcost_call_end(b));

	assert_int_equal(flushed(c), 1);
	const rec *r = &cap[0];
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		assert_int_equal(r->usage[i], 0);
	}
	for (int i = 0; i < LLMCOST_FEE_COUNT; i++) {
		assert_int_equal(r->fees[i], 0);
	}
	assert_int_equal(r->has_cost, 0);
	assert_int_equal(r->status, LLMCOST_STATUS_OK);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->tier, LLMCOST_TIER_STANDARD);
	assert_int_equal(r->platform_len, 0);
	assert_int_equal(r->has_scope, 0);
	assert_string_equal(r->meta, "");
	assert_string_equal(r->tags, "");
	llmcost_shutdown(c, 1000);
}

static void
assert_usage(const rec *r, const llmcost_usage *u)
{
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		assert_int_equal(r->usage[i], u->tokens[i]);
	}
}

// Usage set twice: the second replaces the first, zeros too.
static void
test_usage_twice(void **state)
{
	(void) state;
	llmcost_client *c = client();
	llmcost_call *call;
	llmcost_usage zero;
	memset(&zero, 0, sizeof(zero));

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_usage(call, &usage1));
	LLMCOST_PASS(llmcost_call_set_usage(call, &usage2));
	LLMCOST_PASS(llmcost_call_end(call));
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_usage(call, &usage1));
	LLMCOST_PASS(llmcost_call_set_usage(call, &zero));
	LLMCOST_PASS(llmcost_call_end(call));
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	assert_int_equal(llmcost_call_set_usage(call, NULL), LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_call_end(call));

	assert_int_equal(flushed(c), 3);
	assert_usage(&cap[0], &usage2);
	assert_usage(&cap[1], &zero);
	assert_usage(&cap[2], &zero);
	llmcost_shutdown(c, 1000);
}

// Usage, fees and the provider's cost, set in either order.
static void
test_fees_and_usage(void **state)
{
	(void) state;
	llmcost_client *c = client();
	llmcost_call *call;

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_usage(call, &usage1));
	LLMCOST_PASS(llmcost_call_set_fee(call, LLMCOST_FEE_WEB_SEARCH, 7));
	LLMCOST_PASS(llmcost_call_set_provider_cost(call, 1234));
	LLMCOST_PASS(llmcost_call_end(call));
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_fee(call, LLMCOST_FEE_WEB_SEARCH, 9));
	LLMCOST_PASS(llmcost_call_set_provider_cost(call, 99));
	LLMCOST_PASS(llmcost_call_set_usage(call, &usage2));
	LLMCOST_PASS(llmcost_call_end(call));

	assert_int_equal(flushed(c), 2);
	assert_usage(&cap[0], &usage1);
	assert_int_equal(cap[0].fees[LLMCOST_FEE_WEB_SEARCH], 7);
	assert_int_equal(cap[0].has_cost, 1);
	assert_int_equal(cap[0].cost, 1234);
	assert_usage(&cap[1], &usage2);
	assert_int_equal(cap[1].fees[LLMCOST_FEE_WEB_SEARCH], 9);
	assert_int_equal(cap[1].has_cost, 1);
	assert_int_equal(cap[1].cost, 99);
	llmcost_shutdown(c, 1000);
}

// Keys and tags set through the fast path, then again through either
// path: replaced (metadata) or ignored (tags), never repeated; a
// different key or tag of the same length is added.
static void
test_set_again(void **state)
{
	(void) state;
	llmcost_client *c = client();
	llmcost_call *call;
	const char *lkey = "a-key-longer-than-sixteen";
	const char *ltag = "a-tag-longer-than-sixteen";
	const char *lval = "a value longer than sixteen bytes";

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "rag"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", lval));
	LLMCOST_PASS(llmcost_call_set_meta(call, "featurf", "x"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "prod"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "s"));
	LLMCOST_PASS(llmcost_call_set_meta(call, lkey, "v"));
	LLMCOST_PASS(llmcost_call_set_meta(call, lkey, "w"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "dev"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "beta"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "beta"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "betb"));
	LLMCOST_PASS(llmcost_call_add_tag(call, ltag));
	LLMCOST_PASS(llmcost_call_add_tag(call, ltag));
	LLMCOST_PASS(llmcost_call_add_tag(call, "betb"));
	LLMCOST_PASS(llmcost_call_end(call));

	// A key and a tag first set through the full path (a long value, a
	// non-ASCII tag), then again through the fast one's lengths.
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", lval));
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "prod"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "b\xc3\xa9ta"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "b\xc3\xa9ta"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "gamma"));
	LLMCOST_PASS(llmcost_call_end(call));

	// A short key and tag at the start of a page take the full path
	// (short_load reads no byte before a string, and so none of a page
	// it cannot tell is mapped): the same ones again, from elsewhere,
	// take the fast path's lengths.
	static _Alignas(4096) char page[4096];
	memcpy(page, "tier", 5);
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, page, "pro"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "tier", "free"));
	LLMCOST_PASS(llmcost_call_add_tag(call, page));
	LLMCOST_PASS(llmcost_call_add_tag(call, "tier"));
	LLMCOST_PASS(llmcost_call_end(call));

	assert_int_equal(flushed(c), 3);
	char want[TEXT_MAX];
	snprintf(
	    want, sizeof(want), "feature=s;featurf=x;env=dev;%s=w;", lkey);
	assert_string_equal(cap[0].meta, want);
	snprintf(want, sizeof(want), "beta;betb;%s;", ltag);
	assert_string_equal(cap[0].tags, want);
	assert_string_equal(cap[1].meta, "env=prod;");
	assert_string_equal(cap[1].tags, "b\xc3\xa9ta;gamma;");
	assert_string_equal(cap[2].meta, "tier=free;");
	assert_string_equal(cap[2].tags, "tier;");
	llmcost_shutdown(c, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_used_slot_defaults),
		cmocka_unit_test(test_usage_twice),
		cmocka_unit_test(test_fees_and_usage),
		cmocka_unit_test(test_set_again),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
