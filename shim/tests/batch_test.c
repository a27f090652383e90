// Tests of the batch loop's conversion of call slots into records
// (shim/batch.c), where a call whose strings are the last call's shares
// that call's record strings: every record an exporter receives must
// hold exactly the strings its call was given, whether they equal the
// last call's, differ from them in one byte at the same places (same
// spans), are the same bytes set in another order (other spans), differ
// in the platform only, are the same arena bytes split otherwise
// (other spans), or belong to a call made in a scope (which has
// its own dotted_order).  A capture exporter writes each record out as
// text, in the order the calls ended (one thread, one lane: FIFO), and
// counts the records that share the last record's strings, so that the
// shared path is known to have run.
#include <pthread.h>

#include "testutil.h"

#include "batch.h"
#include "shim.h"
#include "sink.h"

#define MAX_CALLS 400
#define DESC_MAX  256

static pthread_mutex_t cap_mtx = PTHREAD_MUTEX_INITIALIZER;
static char cap_desc[MAX_CALLS][DESC_MAX];
static uint32_t cap_n;
static uint32_t cap_shared; // records sharing the last record's strings

static void
desc_str(char *out, size_t *o, const llmcost_proto_str *s)
{
	size_t n = s->len;
	if (n > DESC_MAX - 2 - *o) {
		n = DESC_MAX - 2 - *o;
	}
	if (n > 0) {
		memcpy(out + *o, s->ptr, n);
		*o += n;
	}
}

static void
desc_ch(char *out, size_t *o, char ch)
{
	if (*o < DESC_MAX - 1) {
		out[(*o)++] = ch;
	}
}

// provider/model|k=v;...|tag;...|platform|S when in a scope.
static void
describe(const llmcost_proto_record *r, char out[DESC_MAX])
{
	size_t o = 0;

	desc_str(out, &o, &r->provider);
	desc_ch(out, &o, '/');
	desc_str(out, &o, &r->model);
	desc_ch(out, &o, '|');
	for (uint32_t i = 0; i < r->n_meta; i++) {
		desc_str(out, &o, &r->meta[i].key);
		desc_ch(out, &o, '=');
		desc_str(out, &o, &r->meta[i].val);
		desc_ch(out, &o, ';');
	}
	desc_ch(out, &o, '|');
	for (uint32_t i = 0; i < r->n_tags; i++) {
		desc_str(out, &o, &r->tags[i]);
		desc_ch(out, &o, ';');
	}
	desc_ch(out, &o, '|');
	desc_str(out, &o, &r->platform);
	desc_ch(out, &o, '|');
	if (r->dotted_order.len > 0) {
		desc_ch(out, &o, 'S');
	}
	out[o] = '\0';
}

// sink_seen: describes each call of b, and counts the records that share
// the previous record's strings.
static void
cap_seen(const llmcost__batch *b)
{
	pthread_mutex_lock(&cap_mtx);
	for (uint32_t i = 0; i < b->n; i++) {
		const llmcost_proto_record *r = &b->records[i];
		if (b->kinds[i] != LLMCOST__KIND_CALL || cap_n >= MAX_CALLS) {
			continue;
		}
		describe(r, cap_desc[cap_n++]);
		if (i > 0 && r->provider.ptr == r[-1].provider.ptr
		    && r->n_meta > 0 && r->meta == r[-1].meta) {
			cap_shared++;
		}
	}
	pthread_mutex_unlock(&cap_mtx);
}

// The kinds of call: v0 and the ways a call may differ from it.
enum {
	V_BASE,     // openai/gpt-4o-mini, feature=search, env=prod, beta
	V_BYTE,     // env=prad: same spans, one byte differs
	V_TAG,      // tag betb
	V_ORDER,    // env set before feature: same bytes, other spans
	V_MODEL,    // gpt-4o-mina
	V_PLATFORM, // platform vertex
	V_PLAT2,    // platform vertey: same length, other bytes
	V_SCOPE,    // v0 in a scope: a dotted_order of its own
	V_EMPTY,    // env="" (an empty value)
	V_SPLIT,    // featur=esearch: the same arena bytes, other spans
	V_COUNT
};

static void
expect(int v, char out[DESC_MAX])
{
	const char *model = v == V_MODEL ? "gpt-4o-mina" : "gpt-4o-mini";
	const char *env = v == V_BYTE ? "prad" : v == V_EMPTY ? "" : "prod";
	const char *tag = v == V_TAG ? "betb" : "beta";
	const char *plat = v == V_PLATFORM ? "vertex"
	    : v == V_PLAT2                 ? "vertey"
	                                   : "";
	if (v == V_SPLIT) {
		snprintf(out, DESC_MAX,
		    "openai/%s|featur=esearch;env=%s;|%s;||", model, env, tag);
	} else if (v == V_ORDER) {
		snprintf(out, DESC_MAX,
		    "openai/%s|env=%s;feature=search;|%s;|%s|", model, env,
		    tag, plat);
	} else {
		snprintf(out, DESC_MAX,
		    "openai/%s|feature=search;env=%s;|%s;|%s|%s", model, env,
		    tag, plat, v == V_SCOPE ? "S" : "");
	}
}

static void
make_call(llmcost_client *c, const llmcost_scope *scope, int v)
{
	llmcost_call *call;
	const char *model = v == V_MODEL ? "gpt-4o-mina" : "gpt-4o-mini";
	const char *env = v == V_BYTE ? "prad" : v == V_EMPTY ? "" : "prod";

	if (v == V_SCOPE) {
		LLMCOST_PASS(
		    llmcost_scope_call_begin(scope, "openai", model, &call));
	} else {
		LLMCOST_PASS(llmcost_call_begin(c, "openai", model, &call));
	}
	if (v == V_ORDER) {
		LLMCOST_PASS(llmcost_call_set_meta(call, "env", env));
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
	} else if (v == V_SPLIT) {
		LLMCOST_PASS(llmcost_call_set_meta(call, "featur", "esearch"));
		LLMCOST_PASS(llmcost_call_set_meta(call, "env", env));
	} else {
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
		LLMCOST_PASS(llmcost_call_set_meta(call, "env", env));
	}
	LLMCOST_PASS(llmcost_call_add_tag(call, v == V_TAG ? "betb" : "beta"));
	if (v == V_PLATFORM || v == V_PLAT2) {
		LLMCOST_PASS(llmcost_call_set_platform(
		    call, v == V_PLATFORM ? "vertex" : "vertey"));
	}
	LLMCOST_PASS(llmcost_call_end(call));
}

// Every kind of call right after every other kind (a run of one or two
// calls of the first, then one of the second).
static void
test_records_hold_their_calls_strings(void **state)
{
	(void) state;
	llmcost_client *c = NULL;
	llmcost_scope scope;
	int want[MAX_CALLS];
	uint32_t n = 0;

	sink_seen = cap_seen;
	LLMCOST_PASS(sink_client(&c, 1024));
	LLMCOST_PASS(llmcost_scope_begin(c, NULL, "request", &scope));
	for (int a = 0; a < V_COUNT; a++) {
		for (int b = 0; b < V_COUNT; b++) {
			for (int k = 0; k <= (a + b) % 2; k++) {
				make_call(c, &scope, a);
				want[n++] = a;
			}
			make_call(c, &scope, b);
			want[n++] = b;
		}
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));

	pthread_mutex_lock(&cap_mtx);
	assert_int_equal(cap_n, n);
	for (uint32_t i = 0; i < n; i++) {
		char w[DESC_MAX];
		expect(want[i], w);
		if (strcmp(cap_desc[i], w) != 0) {
			fail_msg("record %u: got \"%s\", want \"%s\"", i,
			    cap_desc[i], w);
		}
	}
	// The calls of a run are ended one after another: some pair of
	// them went in one batch, so the shared path ran.
	assert_true(cap_shared > 0);
	pthread_mutex_unlock(&cap_mtx);
	LLMCOST_PASS(llmcost_scope_end(&scope));
	llmcost_shutdown(c, 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_hold_their_calls_strings),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
