// Tests for the shim's public API (shim/client.c, call.c, options.c,
// sender.c) through the llmcost_testing library: init and options,
// argument validation at the call site, handle misuse, a collector that
// never answers, and delivery to a live llmcostd.
//
// Most tests point the client at an ipc:// path where nothing listens, so
// no daemon is needed.  The "live" group starts the llmcostd named by
// $LLMCOSTD_BIN on a temporary data directory (tests/harness/) and checks,
// through the store, that what the client reports as acknowledged was
// stored.  The error tables are tested beside their code, in
// common/tests/.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "harness.h"
#include "llmcost_proto.h"
#include "shim.h"
#include "store.h"
#include "stored.h"

// Variables the library reads; tests start from a clean environment.
static const char *const llmcost_env[]
    = { "LLMCOST_DISABLE", "LLMCOST_COLLECTOR_URL", "LLMCOST_QUEUE_MAX",
	      "LLMCOST_FLUSH_MS", "LLMCOST_ACK_TIMEOUT_MS",
	      "LLMCOST_BATCH_MAX", "LLMCOST_LOG", "LLMCOST_PREFAULT" };

static char tmpdir[256];
static char dead_url[512]; // nothing listens there

static void
clean_env(void)
{
	for (size_t i = 0; i < sizeof(llmcost_env) / sizeof(llmcost_env[0]);
	     i++) {
		unsetenv(llmcost_env[i]);
	}
}

static void
rm_rf(const char *dir)
{
	char cmd[600];
	if (dir[0] == '\0') {
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
	}
}

static int
group_setup(void **state)
{
	(void) state;
	clean_env();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/llmcost-client-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		return (-1);
	}
	snprintf(dead_url, sizeof(dead_url), "ipc://%s/none.sock", tmpdir);
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	rm_rf(tmpdir);
	return (0);
}

// Options for the dead collector, every other field zero (a default).
static void
dead_options(llmcost_options *o)
{
	memset(o, 0, sizeof(*o));
	o->collector_url = dead_url;
}

// llmcost_init(c, o) with the variables env (name and value pairs,
// NULL-terminated) set for the call only; *c is cleared first.
static int
init_env(llmcost_client **c, const llmcost_options *o, const char *const *env)
{
	for (size_t i = 0; env[i] != NULL; i += 2) {
		setenv(env[i], env[i + 1], 1);
	}
	*c = NULL;
	int rv = llmcost_init(c, o);
	for (size_t i = 0; env[i] != NULL; i += 2) {
		unsetenv(env[i]);
	}
	return (rv);
}

// A client for the dead collector with a small pool.
static llmcost_client *
dead_client(void)
{
	llmcost_options o;
	llmcost_client *c = NULL;

	dead_options(&o);
	o.queue_max = 64;
	o.batch_max = 16;
	o.flush_ms = 5;
	o.ack_timeout_ms = 100;
	LLMCOST_PASS(llmcost_init(&c, &o));
	assert_non_null(c);
	return (c);
}

// Waits (up to ten seconds) until the batch loop has taken every ended
// call.
static void
wait_taken(llmcost_client *c)
{
	for (int i = 0; i < 10000 && llmcost_test_stats(c).queue_depth != 0;
	     i++) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(llmcost_test_stats(c).queue_depth, 0);
}

// 1 while the batch loop may hand the exporters a batch.
static int
collector_room(llmcost_client *c)
{
	pthread_mutex_lock(&c->mtx);
	int room = llmcost__exporters_room(c);
	pthread_mutex_unlock(&c->mtx);
	return (room);
}

static llmcost_call *
must_begin(llmcost_client *c)
{
	llmcost_call *call = NULL;
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
	assert_non_null(call);
	return (call);
}

// A string of n copies of ch (n < sizeof(buf)).
static const char *
repeat(char *buf, size_t bufsz, char ch, size_t n)
{
	assert_true(n < bufsz);
	memset(buf, ch, n);
	buf[n] = '\0';
	return (buf);
}

// The value stored for key in the call's arena, or NULL.
static char *
meta_value(const llmcost_call *call, const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key);
	for (uint16_t i = 0; i < call->n_meta; i++) {
		llmcost__span k = call->meta[i].key, v = call->meta[i].val;
		if (k.len == klen
		    && memcmp(call->arena + k.off, key, klen) == 0) {
			assert_true(v.len < outsz);
			memcpy(out, call->arena + v.off, v.len);
			out[v.len] = '\0';
			return (out);
		}
	}
	return (NULL);
}

static int
tag_count(const llmcost_call *call, const char *tag)
{
	size_t len = strlen(tag);
	int n = 0;
	for (uint16_t i = 0; i < call->n_tags; i++) {
		llmcost__span t = call->tags[i];
		if (t.len == len
		    && memcmp(call->arena + t.off, tag, len) == 0) {
			n++;
		}
	}
	return (n);
}

// Counts the free slots of the pool by taking them all (public API only),
// then gives them back.  Each refusal counts as a drop.
static int
free_slots(llmcost_client *c)
{
	llmcost_call **calls = calloc(1u << 14, sizeof(*calls));
	int n = 0;

	assert_non_null(calls);
	for (;;) {
		llmcost_call *call = NULL;
		int rv = llmcost_call_begin(c, "openai", "gpt-4o", &call);
		if (rv == LLMCOST_EFULL) {
			break;
		}
		LLMCOST_PASS(rv);
		assert_true(n < (1 << 14));
		calls[n++] = call;
	}
	for (int i = 0; i < n; i++) {
		for (int j = i + 1; j < n && n <= 256; j++) {
			assert_ptr_not_equal(calls[i], calls[j]);
		}
		llmcost_call_abandon(calls[i]);
	}
	free(calls);
	return (n);
}

// ---- init and options ----

static void
test_init_null_clientp(void **state)
{
	(void) state;
	llmcost_options o;

	dead_options(&o);
	LLMCOST_FAIL(llmcost_init(NULL, &o), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_init(NULL, NULL), LLMCOST_EINVAL);
}

static void
test_init_bad_scheme(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_client *c = (llmcost_client *) &o; // must stay untouched

	memset(&o, 0, sizeof(o));
	o.collector_url = "bogus://x";
	LLMCOST_FAIL(llmcost_init(&c, &o), LLMCOST_ECONFIG);
	assert_ptr_equal(c, (llmcost_client *) &o);

	// The same URL from the environment.
	LLMCOST_FAIL(init_env(&c, NULL,
	                 (const char *[]) {
	                     "LLMCOST_COLLECTOR_URL", "bogus://x", NULL }),
	    LLMCOST_ECONFIG);
	assert_null(c);
}

// A URL longer than the client keeps is refused, not truncated.
static void
test_init_url_too_long(void **state)
{
	(void) state;
	char url[LLMCOST__URL_MAX + 16];
	llmcost_options o;
	llmcost_client *c = NULL;

	memset(url, 'a', sizeof(url) - 1);
	memcpy(url, "ipc:///tmp/", 11);
	url[sizeof(url) - 1] = '\0';
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	LLMCOST_FAIL(llmcost_init(&c, &o), LLMCOST_ECONFIG);
	assert_null(c);
}

static void
check_disabled(llmcost_client *c)
{
	llmcost_call *call = (llmcost_call *) c; // must be reset to NULL
	llmcost_stats s;

	LLMCOST_FAIL(llmcost_call_begin(c, "openai", "gpt-4o", &call),
	    LLMCOST_EDISABLED);
	assert_null(call);
	// The documented "no error branch" pattern works on the NULL handle.
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "feature", "x"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_end(call), LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_flush(c, 0));
	LLMCOST_PASS(llmcost_flush(c, 1000));
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	assert_int_equal(s.calls_ended, 0);
	assert_int_equal(s.calls_dropped, 0);
	assert_int_equal(s.queue_depth, 0);
}

static void
test_disable_flag(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_client *c = NULL;

	dead_options(&o);
	o.flags = LLMCOST_F_DISABLE;
	LLMCOST_PASS(llmcost_init(&c, &o));
	check_disabled(c);
	llmcost_shutdown(c, 100);

	// Disabled clients need no collector URL at all.
	o.collector_url = "bogus://x";
	c = NULL;
	LLMCOST_PASS(llmcost_init(&c, &o));
	check_disabled(c);
	llmcost_shutdown(c, 100);
}

static void
test_disable_env(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_client *c = NULL;
	llmcost_call *call = NULL;

	dead_options(&o);
	LLMCOST_PASS(init_env(
	    &c, &o, (const char *[]) { "LLMCOST_DISABLE", "1", NULL }));
	check_disabled(c);
	llmcost_shutdown(c, 100);

	// "0" does not disable.
	LLMCOST_PASS(init_env(
	    &c, &o, (const char *[]) { "LLMCOST_DISABLE", "0", NULL }));
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 100);
}

// Options are clamped and queue_max rounded up to a power of two; an
// explicit field beats the environment.
static void
test_options_clamped(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_client *c = NULL;

	dead_options(&o);
	o.queue_max = 100;
	o.batch_max = 100000;
	o.flush_ms = 100000;
	o.ack_timeout_ms = 1;
	LLMCOST_PASS(llmcost_init(&c, &o));
	assert_int_equal(c->cfg.queue_max, 128);
	assert_int_equal(c->cfg.batch_max, 2048); // documented 1..2048
	assert_int_equal(c->cfg.flush_ms, 60000);
	assert_int_equal(c->cfg.ack_timeout_ms, 50);
	assert_int_equal(free_slots(c), 128);
	llmcost_shutdown(c, 100);

	dead_options(&o);
	o.queue_max = 1;
	// o.queue_max wins over the variable.
	LLMCOST_PASS(init_env(&c, &o,
	    (const char *[]) { "LLMCOST_BATCH_MAX", "7", "LLMCOST_QUEUE_MAX",
	        "5000", NULL }));
	assert_int_equal(c->cfg.queue_max, 64);
	assert_int_equal(c->cfg.batch_max, 7);
	llmcost_shutdown(c, 100);

	dead_options(&o);
	// A batch_max that is not a number is ignored: the default.
	LLMCOST_PASS(init_env(&c, &o,
	    (const char *[]) { "LLMCOST_QUEUE_MAX", "5000",
	        "LLMCOST_BATCH_MAX", "banana", NULL }));
	assert_int_equal(c->cfg.queue_max, 8192);
	assert_int_equal(c->cfg.batch_max, 2048);
	llmcost_shutdown(c, 100);
}

// ---- argument validation ----

static void
test_begin_arguments(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call;
	char big[600];

#define BEGIN_FAILS(p, m, code)                                               \
	do {                                                                  \
		call = (llmcost_call *) c;                                    \
		LLMCOST_FAIL(llmcost_call_begin(c, (p), (m), &call), code);   \
		assert_null(call);                                            \
	} while (0)

	BEGIN_FAILS(NULL, "gpt-4o", LLMCOST_EINVAL);
	BEGIN_FAILS("", "gpt-4o", LLMCOST_EINVAL);
	BEGIN_FAILS("openai", NULL, LLMCOST_EINVAL);
	BEGIN_FAILS("openai", "", LLMCOST_EINVAL);
	BEGIN_FAILS(
	    repeat(big, sizeof(big), 'p', 65), "gpt-4o", LLMCOST_ETOOBIG);
	BEGIN_FAILS(
	    "openai", repeat(big, sizeof(big), 'm', 257), LLMCOST_ETOOBIG);
	BEGIN_FAILS(
	    "openai", repeat(big, sizeof(big), 'm', 599), LLMCOST_ETOOBIG);
	BEGIN_FAILS("\xc3\x28", "gpt-4o", LLMCOST_EUTF8);     // bad 2nd byte
	BEGIN_FAILS("\xc0\xaf", "gpt-4o", LLMCOST_EUTF8);     // overlong '/'
	BEGIN_FAILS("\xed\xa0\x80", "gpt-4o", LLMCOST_EUTF8); // surrogate
	BEGIN_FAILS("openai", "\xc3\x28", LLMCOST_EUTF8);
	BEGIN_FAILS("openai", "\xc0\xaf", LLMCOST_EUTF8);
	BEGIN_FAILS("openai", "\xed\xa0\x80", LLMCOST_EUTF8);
	BEGIN_FAILS("openai", "gpt\xf4\x90\x80\x80", LLMCOST_EUTF8);
	BEGIN_FAILS("openai", "gpt\xe2\x82", LLMCOST_EUTF8); // truncated
	BEGIN_FAILS("op\xffnai", "gpt-4o", LLMCOST_EUTF8);
	// No byte with the low bit set, so no ASCII letter or digit in it:
	// the check runs because some byte is not ASCII, whatever else.
	BEGIN_FAILS("\xc0\xae", "gpt-4o", LLMCOST_EUTF8); // overlong '.'
	BEGIN_FAILS("openai", "\xe2\x82", LLMCOST_EUTF8); // truncated
#undef BEGIN_FAILS

	// NULL client or NULL callp.
	call = (llmcost_call *) c;
	LLMCOST_FAIL(llmcost_call_begin(NULL, "openai", "gpt-4o", &call),
	    LLMCOST_EINVAL);
	assert_null(call);
	LLMCOST_FAIL(
	    llmcost_call_begin(c, "openai", "gpt-4o", NULL), LLMCOST_EINVAL);

	// Exactly at the caps, and valid multi-byte UTF-8, are accepted.
	char prov[LLMCOST_MAX_PROVIDER + 1], model[LLMCOST_MAX_MODEL + 1];
	repeat(prov, sizeof(prov), 'p', LLMCOST_MAX_PROVIDER);
	repeat(model, sizeof(model), 'm', LLMCOST_MAX_MODEL);
	LLMCOST_PASS(llmcost_call_begin(c, prov, model, &call));
	assert_int_equal(call->provider.len, LLMCOST_MAX_PROVIDER);
	assert_int_equal(call->model.len, LLMCOST_MAX_MODEL);
	assert_memory_equal(
	    call->arena + call->model.off, model, LLMCOST_MAX_MODEL);
	llmcost_call_abandon(call);
	LLMCOST_PASS(llmcost_call_begin(
	    c, "\xc3\xa9t\xc3\xa9", "mod\xe2\x82\xac\xf0\x9f\x98\x80", &call));
	llmcost_call_abandon(call);

	// The pool is intact: every slot is free again.
	assert_int_equal(free_slots(c), 64);
	llmcost_shutdown(c, 100);
}

static void
test_meta_limits(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c);
	char big[600], key[LLMCOST_MAX_KEY + 1], val[LLMCOST_MAX_VALUE + 1];
	char out[LLMCOST_MAX_VALUE + 1];

	LLMCOST_FAIL(llmcost_call_set_meta(call, NULL, "x"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_meta(call, "", "x"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_meta(call, "k", NULL), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_meta(
	                 call, repeat(big, sizeof(big), 'k', 65), "x"),
	    LLMCOST_ETOOBIG);
	LLMCOST_FAIL(llmcost_call_set_meta(
	                 call, "k", repeat(big, sizeof(big), 'v', 257)),
	    LLMCOST_ETOOBIG);
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "\xc3\x28", "x"), LLMCOST_EUTF8);
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "k", "\xc0\xaf"), LLMCOST_EUTF8);
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "k", "a\xed\xa0\x80"), LLMCOST_EUTF8);
	assert_int_equal(call->n_meta, 0);

	// At the caps: accepted.  An empty value is a value.
	repeat(key, sizeof(key), 'k', LLMCOST_MAX_KEY);
	repeat(val, sizeof(val), 'v', LLMCOST_MAX_VALUE);
	LLMCOST_PASS(llmcost_call_set_meta(call, key, val));
	LLMCOST_PASS(llmcost_call_set_meta(call, "empty", ""));
	assert_int_equal(call->n_meta, 2);
	assert_non_null(meta_value(call, key, out, sizeof(out)));
	assert_string_equal(out, val);
	assert_non_null(meta_value(call, "empty", out, sizeof(out)));
	assert_string_equal(out, "");
	llmcost_call_abandon(call);

	// 32 distinct keys fit, the 33rd is refused, replacing one of the
	// 32 still works.
	call = must_begin(c);
	for (int i = 0; i < LLMCOST_MAX_META; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		LLMCOST_PASS(llmcost_call_set_meta(call, key, "v"));
	}
	LLMCOST_FAIL(llmcost_call_set_meta(call, "k32", "v"), LLMCOST_ETOOBIG);
	assert_int_equal(call->n_meta, LLMCOST_MAX_META);
	assert_null(meta_value(call, "k32", out, sizeof(out)));
	LLMCOST_PASS(llmcost_call_set_meta(call, "k07", "seven"));
	assert_int_equal(call->n_meta, LLMCOST_MAX_META);
	assert_non_null(meta_value(call, "k07", out, sizeof(out)));
	assert_string_equal(out, "seven");
	assert_non_null(meta_value(call, "k31", out, sizeof(out)));
	assert_string_equal(out, "v");
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 100);
}

static void
test_meta_replace(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c);
	char out[LLMCOST_MAX_VALUE + 1];

	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "rag-search"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "production"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "chat"));
	assert_int_equal(call->n_meta, 2);
	assert_string_equal(
	    meta_value(call, "feature", out, sizeof(out)), "chat");
	// A longer value than the first one.
	LLMCOST_PASS(llmcost_call_set_meta(
	    call, "feature", "a-much-longer-feature-name"));
	assert_int_equal(call->n_meta, 2);
	assert_string_equal(meta_value(call, "feature", out, sizeof(out)),
	    "a-much-longer-feature-name");
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", ""));
	assert_string_equal(meta_value(call, "feature", out, sizeof(out)), "");
	assert_string_equal(
	    meta_value(call, "env", out, sizeof(out)), "production");
	// A refused replacement keeps the old value.
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "staging"));
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "env", "\xc3\x28"), LLMCOST_EUTF8);
	assert_string_equal(
	    meta_value(call, "env", out, sizeof(out)), "staging");
	// Keys are case-sensitive.
	LLMCOST_PASS(llmcost_call_set_meta(call, "Env", "other"));
	assert_int_equal(call->n_meta, 3);
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 100);
}

static void
test_tags(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c);
	char big[600], tag[16];

	LLMCOST_FAIL(llmcost_call_add_tag(call, NULL), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_add_tag(call, ""), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_call_add_tag(call, repeat(big, sizeof(big), 't', 129)),
	    LLMCOST_ETOOBIG);
	LLMCOST_FAIL(
	    llmcost_call_add_tag(call, "\xed\xa0\x80"), LLMCOST_EUTF8);
	assert_int_equal(call->n_tags, 0);
	LLMCOST_PASS(
	    llmcost_call_add_tag(call, repeat(big, sizeof(big), 't', 128)));
	assert_int_equal(call->n_tags, 1);
	llmcost_call_abandon(call);

	call = must_begin(c);
	LLMCOST_PASS(llmcost_call_add_tag(call, "beta"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "beta")); // duplicate: ignored
	assert_int_equal(call->n_tags, 1);
	assert_int_equal(tag_count(call, "beta"), 1);
	for (int i = 1; i < LLMCOST_MAX_TAGS; i++) {
		snprintf(tag, sizeof(tag), "t%02d", i);
		LLMCOST_PASS(llmcost_call_add_tag(call, tag));
	}
	assert_int_equal(call->n_tags, LLMCOST_MAX_TAGS);
	LLMCOST_FAIL(llmcost_call_add_tag(call, "t32"), LLMCOST_ETOOBIG);
	assert_int_equal(tag_count(call, "t32"), 0);
	// A duplicate of a stored tag is still fine when the list is full.
	LLMCOST_PASS(llmcost_call_add_tag(call, "t05"));
	assert_int_equal(call->n_tags, LLMCOST_MAX_TAGS);
	assert_int_equal(tag_count(call, "t05"), 1);
	assert_int_equal(tag_count(call, "beta"), 1);
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 100);
}

// The per-call arena holds LLMCOST_MAX_CALL_BYTES of strings.  Once it is
// exhausted attributes are refused with ETOOBIG and what was stored
// before stays intact.  The sizes below are chosen so that the outcome is
// the same whether or not one extra byte is counted per string.
static void
test_arena_cap(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c); // "openai" + "gpt-4o": 12 bytes
	char tags[8][LLMCOST_MAX_TAG + 1], out[LLMCOST_MAX_VALUE + 1];
	char key[61], val[101], longer[111], small[101];

	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "ab"));
	for (int i = 0; i < 7; i++) {
		repeat(tags[i], sizeof(tags[i]), (char) ('a' + i),
		    LLMCOST_MAX_TAG);
		LLMCOST_PASS(llmcost_call_add_tag(call, tags[i]));
	}
	// 12 + 9 + 7 * 128 = 917 bytes used (928 counting a byte for each
	// of the 11 strings): another 128-byte tag does not fit either way.
	repeat(tags[7], sizeof(tags[7]), 'h', LLMCOST_MAX_TAG);
	uint16_t used = call->arena_used;
	LLMCOST_FAIL(llmcost_call_add_tag(call, tags[7]), LLMCOST_ETOOBIG);
	assert_int_equal(call->n_tags, 7);
	assert_int_equal(call->arena_used, used);
	// A new key that fits followed by a value that does not: neither is
	// kept.
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, repeat(key, sizeof(key), 'k', 60),
	        repeat(val, sizeof(val), 'v', 100)),
	    LLMCOST_ETOOBIG);
	assert_int_equal(call->n_meta, 1);
	assert_int_equal(call->arena_used, used);
	// Replacing a value with a longer one that does not fit keeps the
	// old value.
	LLMCOST_FAIL(llmcost_call_set_meta(call, "feature",
	                 repeat(longer, sizeof(longer), 'l', 110)),
	    LLMCOST_ETOOBIG);
	assert_string_equal(
	    meta_value(call, "feature", out, sizeof(out)), "ab");

	// Earlier attributes are intact, byte for byte.
	for (int i = 0; i < 7; i++) {
		assert_int_equal(tag_count(call, tags[i]), 1);
	}
	assert_memory_equal(call->arena + call->provider.off, "openai", 6);
	assert_memory_equal(call->arena + call->model.off, "gpt-4o", 6);

	// A smaller attribute still fits (917 + 80 = 997, or 928 + 81 =
	// 1009 counting a byte per string), and the call can still be
	// ended.
	LLMCOST_PASS(
	    llmcost_call_add_tag(call, repeat(small, sizeof(small), 's', 80)));
	assert_int_equal(call->n_tags, 8);
	LLMCOST_FAIL(
	    llmcost_call_add_tag(call, repeat(small, sizeof(small), 'z', 60)),
	    LLMCOST_ETOOBIG);
	LLMCOST_PASS(llmcost_call_end(call));
	llmcost_shutdown(c, 100);
}

static void
test_attr_errors_counted(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c);
	char big[600];
	uint64_t before = llmcost_test_stats(c).attr_errors;

	// Five refusals...
	LLMCOST_FAIL(llmcost_call_set_meta(
	                 call, repeat(big, sizeof(big), 'k', 65), "x"),
	    LLMCOST_ETOOBIG);
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "k", "\xc3\x28"), LLMCOST_EUTF8);
	LLMCOST_FAIL(llmcost_call_set_meta(call, "", "x"), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_call_add_tag(call, repeat(big, sizeof(big), 't', 129)),
	    LLMCOST_ETOOBIG);
	LLMCOST_FAIL(llmcost_call_add_tag(call, "\xc0\xaf"), LLMCOST_EUTF8);
	// ...and successes and ignored duplicates, which do not count.
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "x"));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "y"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "a"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "a"));
	assert_int_equal(llmcost_test_stats(c).attr_errors - before, 5);

	// The 33rd key and the 33rd tag count too.
	char name[16];
	for (int i = 0; i < LLMCOST_MAX_META - 1; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		LLMCOST_PASS(llmcost_call_set_meta(call, name, "v"));
	}
	LLMCOST_FAIL(
	    llmcost_call_set_meta(call, "one-more", "v"), LLMCOST_ETOOBIG);
	for (int i = 0; i < LLMCOST_MAX_TAGS - 1; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		LLMCOST_PASS(llmcost_call_add_tag(call, name));
	}
	LLMCOST_FAIL(llmcost_call_add_tag(call, "one-more"), LLMCOST_ETOOBIG);
	assert_int_equal(llmcost_test_stats(c).attr_errors - before, 7);
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 100);
}

// ---- handle misuse ----

static void
test_null_call(void **state)
{
	(void) state;
	llmcost_usage u;
	char buf[64];

	memset(&u, 0, sizeof(u));
	LLMCOST_FAIL(llmcost_call_set_meta(NULL, "k", "v"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_add_tag(NULL, "t"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_usage(NULL, &u), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_call_set_status(NULL, LLMCOST_STATUS_OK), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_call_run_id(NULL, buf, sizeof(buf)), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_end(NULL), LLMCOST_EINVAL);
	llmcost_call_abandon(NULL);

	// NULL clients.
	llmcost_stats s;
	LLMCOST_FAIL(llmcost_flush(NULL, 0), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_stats_get(NULL, &s), LLMCOST_EINVAL);
	llmcost_shutdown(NULL, 0);
	llmcost_set_logger(NULL, NULL, NULL);

	llmcost_client *c = dead_client();
	LLMCOST_FAIL(llmcost_stats_get(c, NULL), LLMCOST_EINVAL);
	llmcost_call *call = must_begin(c);
	LLMCOST_FAIL(llmcost_call_set_usage(call, NULL), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_run_id(call, NULL, 64), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_run_id(call, buf, 36), LLMCOST_EINVAL);
	llmcost_call_abandon(call);
	llmcost_shutdown(c, 100);
}

static void
test_double_end(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c);

	LLMCOST_PASS(llmcost_call_end(call));
	LLMCOST_FAIL(llmcost_call_end(call), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_meta(call, "k", "v"), LLMCOST_EINVAL);
	llmcost_call_abandon(call); // ignored: the call was ended
	assert_int_equal(llmcost_test_stats(c).calls_ended, 1);

	// End after abandon; abandon twice.
	call = must_begin(c);
	llmcost_call_abandon(call);
	LLMCOST_FAIL(llmcost_call_end(call), LLMCOST_EINVAL);
	llmcost_call_abandon(call);
	assert_int_equal(llmcost_test_stats(c).calls_ended, 1);
	assert_int_equal(llmcost_test_stats(c).calls_dropped, 0);

	// Neither misuse put a slot back twice: the pool still has exactly
	// 64 distinct slots.  The ended call is either still queued or was
	// taken by the sender (which frees its slot).
	int got = free_slots(c);
	assert_true(got == 63 || got == 64);
	llmcost_shutdown(c, 100);
}

static void
test_run_id(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	char a[37], b[40];
	struct timespec t0, t1;

	clock_gettime(CLOCK_REALTIME, &t0);
	llmcost_call *x = must_begin(c);
	llmcost_call *y = must_begin(c);
	clock_gettime(CLOCK_REALTIME, &t1);

	memset(a, 'X', sizeof(a));
	LLMCOST_PASS(llmcost_call_run_id(x, a, sizeof(a)));
	assert_int_equal(strlen(a), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			assert_int_equal(a[i], '-');
		} else if (!((a[i] >= '0' && a[i] <= '9')
		               || (a[i] >= 'a' && a[i] <= 'f'))) {
			fail_msg(
			    "run id %s: char %d is not lowercase hex", a, i);
		}
	}
	assert_int_equal(a[14], '7');
	assert_non_null(strchr("89ab", a[19]));

	// The embedded time is the begin time.
	uint8_t id[16];
	LLMCOST_PASS(llmcost__uuid_parse(a, id));
	uint64_t ms = 0;
	for (int i = 0; i < 6; i++) {
		ms = (ms << 8) | id[i];
	}
	uint64_t ms0
	    = (uint64_t) t0.tv_sec * 1000 + (uint64_t) t0.tv_nsec / 1000000;
	uint64_t ms1
	    = (uint64_t) t1.tv_sec * 1000 + (uint64_t) t1.tv_nsec / 1000000;
	assert_in_range(ms, ms0, ms1);

	// Stable for a call, distinct between calls; a larger buffer gets
	// the same string.
	char again[37];
	LLMCOST_PASS(llmcost_call_run_id(x, again, sizeof(again)));
	assert_string_equal(a, again);
	LLMCOST_PASS(llmcost_call_run_id(y, b, sizeof(b)));
	assert_int_equal(strlen(b), 36);
	assert_string_not_equal(a, b);

	llmcost_call_abandon(x);
	LLMCOST_FAIL(llmcost_call_run_id(x, a, sizeof(a)), LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_call_end(y));
	LLMCOST_FAIL(llmcost_call_run_id(y, b, sizeof(b)), LLMCOST_EINVAL);
	llmcost_shutdown(c, 100);
}

static void
test_set_status_and_usage(void **state)
{
	(void) state;
	llmcost_client *c = dead_client();
	llmcost_call *call = must_begin(c);
	llmcost_usage u;

	assert_int_equal(call->status, LLMCOST_STATUS_OK);
	LLMCOST_PASS(llmcost_call_set_status(call, LLMCOST_STATUS_ERROR));
	assert_int_equal(call->status, LLMCOST_STATUS_ERROR);
	LLMCOST_PASS(llmcost_call_set_status(call, LLMCOST_STATUS_ABORTED));
	assert_int_equal(call->status, LLMCOST_STATUS_ABORTED);
	LLMCOST_FAIL(
	    llmcost_call_set_status(call, (llmcost_status) 3), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_status(call, (llmcost_status) -1),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_status(call, (llmcost_status) 1000),
	    LLMCOST_EINVAL);
	assert_int_equal(call->status, LLMCOST_STATUS_ABORTED);
	LLMCOST_PASS(llmcost_call_set_status(call, LLMCOST_STATUS_OK));
	assert_int_equal(call->status, LLMCOST_STATUS_OK);

	memset(&u, 0, sizeof(u));
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		u.tokens[b] = (uint64_t) (b + 1) * 1000;
	}
	u.tokens[LLMCOST_OUT_IMAGE] = UINT64_MAX;
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	assert_memory_equal(call->usage, u.tokens, sizeof(u.tokens));
	// Usage is replaced, not added.
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = 5;
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	assert_memory_equal(call->usage, u.tokens, sizeof(u.tokens));
	llmcost_call_abandon(call);

	// A recycled slot starts clean: its usage counts as unset (end
	// zeroes it; callset_test checks the records).
	for (int i = 0; i < 64; i++) {
		call = must_begin(c);
		assert_int_equal(call->status, LLMCOST_STATUS_OK);
		assert_int_equal(call->n_meta, 0);
		assert_int_equal(call->n_tags, 0);
		assert_int_equal(call->set & LLMCOST__SET_USAGE, 0);
		LLMCOST_PASS(
		    llmcost_call_set_status(call, LLMCOST_STATUS_ERROR));
		LLMCOST_PASS(llmcost_call_set_meta(call, "k", "v"));
		LLMCOST_PASS(llmcost_call_add_tag(call, "t"));
		LLMCOST_PASS(llmcost_call_set_usage(call, &u));
		llmcost_call_abandon(call);
	}
	llmcost_shutdown(c, 100);
}

// ---- a collector that never answers ----

#define LOG_KEEP 64

typedef struct log_rec {
	pthread_mutex_t mtx;
	int n;
	int levels[LOG_KEEP];
	char msgs[LOG_KEEP][256];
} log_rec;

static void
logger(void *arg, int level, const char *msg)
{
	log_rec *lr = arg;
	pthread_mutex_lock(&lr->mtx);
	if (lr->n < LOG_KEEP) {
		lr->levels[lr->n] = level;
		snprintf(lr->msgs[lr->n], sizeof(lr->msgs[0]), "%s", msg);
	}
	lr->n++;
	pthread_mutex_unlock(&lr->mtx);
}

// 1 if a message at level with the substring was logged.
static int
logged(log_rec *lr, int level, const char *needle)
{
	int found = 0;
	pthread_mutex_lock(&lr->mtx);
	for (int i = 0; i < lr->n && i < LOG_KEEP; i++) {
		if (lr->levels[i] == level && strstr(lr->msgs[i], needle)) {
			found = 1;
		}
	}
	pthread_mutex_unlock(&lr->mtx);
	return (found);
}

static void
test_dead_collector(void **state)
{
	(void) state;
	log_rec lr;
	llmcost_client *c = dead_client();
	int efull = 0, ok = 0;

	memset(&lr, 0, sizeof(lr));
	pthread_mutex_init(&lr.mtx, NULL);
	llmcost_set_logger(c, logger, &lr);

	// Batches of 16 calls, each taken whole, until the collector
	// exporter holds as much as it may: it is stuck delivering them
	// and takes no more calls.
	while (collector_room(c)) {
		assert_true(ok < 100000);
		for (int i = 0; i < 16; i++) {
			llmcost_call *call = must_begin(c);
			LLMCOST_PASS(
			    llmcost_call_set_meta(call, "feature", "dead"));
			LLMCOST_PASS(llmcost_call_end(call));
			ok++;
		}
		wait_taken(c);
	}
	int held_first = ok;
	for (int i = 0; i < 500; i++) {
		llmcost_call *call = (llmcost_call *) c;
		int rv = llmcost_call_begin(c, "openai", "gpt-4o", &call);
		if (rv == LLMCOST_EFULL) {
			assert_null(call);
			efull++;
			continue;
		}
		LLMCOST_PASS(rv);
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "dead"));
		LLMCOST_PASS(llmcost_call_end(call));
		ok++;
	}
	llmcost_stats s = llmcost_test_stats(c);
	// The pool holds 64 calls and a dead collector frees at most the
	// calls that the collector exporter holds in batches, whose memory
	// is bounded (LLMCOST__COLLECTOR_HOLD, plus one batch of 16 calls):
	// all but 64 of the later calls were dropped.
	llmcost__exporter *ex
	    = llmcost__exporter_find(c, &llmcost__exporter_collector);
	assert_non_null(ex);
	pthread_mutex_lock(&c->mtx);
	uint64_t held = ex->calls_held;
	uint64_t bytes_most = ex->bytes_held_max;
	pthread_mutex_unlock(&c->mtx);
	assert_int_equal(ex->bytes_max, LLMCOST__COLLECTOR_HOLD(64));
	assert_true(bytes_most >= ex->bytes_max);
	// A batch of these calls takes less than their slots.
	assert_true(
	    bytes_most < ex->bytes_max + 16 * sizeof(struct llmcost_call));
	assert_true(held_first >= 16 * 2);
	assert_true((uint64_t) held_first <= held);
	assert_true((uint64_t) ok <= 64 + held);
	assert_in_range(efull, 500 - 64, 500 - 63);
	assert_int_equal(s.calls_dropped, (uint64_t) efull);
	assert_int_equal(s.calls_ended, (uint64_t) ok);
	assert_int_equal(s.calls_ended + (uint64_t) efull, held_first + 500);
	assert_int_equal(s.calls_acked, 0);
	assert_int_equal(s.calls_rejected, 0);
	assert_true(s.queue_depth <= 64);

	LLMCOST_FAIL(llmcost_flush(c, 200), LLMCOST_ETIMEDOUT);
	LLMCOST_FAIL(llmcost_flush(c, 0), LLMCOST_ETIMEDOUT);
	s = llmcost_test_stats(c);
	assert_int_equal(s.calls_acked, 0);
	assert_int_equal(s.calls_dropped, (uint64_t) efull);
	assert_int_equal(s.calls_ended + (uint64_t) efull, held_first + 500);

	llmcost_shutdown(c, 100);
	// Shutdown could not deliver: it says so through the logger.
	assert_true(lr.n >= 1);
	assert_true(logged(&lr, LLMCOST_LOG_WARNING, "did not acknowledge"));
	pthread_mutex_destroy(&lr.mtx);
}

// The drop warning ("N calls dropped so far (queue full: is llmcostd
// running at URL?)") exists for exactly this situation: the collector is
// down and the pool has run out, after the sender got stuck resending its
// first batch (the usual order: calls trickle in, the first batch cannot
// be delivered, then the pool fills).  The first warning is not rate
// limited.  The sender learns of drops between two delivery attempts, one
// send timeout (1 s) apart: wait up to ten of them.
static void
test_dead_collector_warns_about_drops(void **state)
{
	(void) state;
	log_rec lr;
	llmcost_client *c = dead_client();
	int efull = 0;

	memset(&lr, 0, sizeof(lr));
	pthread_mutex_init(&lr.mtx, NULL);
	llmcost_set_logger(c, logger, &lr);

	// One call at a time, each taken into a batch of its own, until the
	// collector exporter holds as many as it may (its hold, see
	// test_dead_collector): it is now stuck delivering them and takes no
	// more calls.
	for (int b = 0; collector_room(c); b++) {
		assert_true(b < 100000);
		LLMCOST_PASS(llmcost_call_end(must_begin(c)));
		wait_taken(c);
	}
	assert_int_equal(llmcost_test_stats(c).calls_dropped, 0);

	// Now exhaust the pool: 63 or 64 calls fit (the sender frees the
	// taken calls' slots once they are copied into batches), the rest
	// are dropped.
	for (int i = 0; i < 100; i++) {
		llmcost_call *call = NULL;
		int rv = llmcost_call_begin(c, "openai", "gpt-4o", &call);
		if (rv == LLMCOST_EFULL) {
			efull++;
			continue;
		}
		LLMCOST_PASS(rv);
		LLMCOST_PASS(llmcost_call_end(call));
	}
	assert_in_range(efull, 36, 37);
	assert_int_equal(
	    llmcost_test_stats(c).calls_dropped, (uint64_t) efull);

	int warned = 0;
	for (int i = 0; i < 10 && !warned; i++) {
		LLMCOST_FAIL(llmcost_flush(c, 1000), LLMCOST_ETIMEDOUT);
		warned
		    = logged(&lr, LLMCOST_LOG_WARNING, "calls dropped so far");
	}
	llmcost_shutdown(c, 100);
	pthread_mutex_destroy(&lr.mtx);
	if (!warned) {
		fail_msg("%d calls dropped with the collector down, but no "
		         "drop warning was logged",
		    efull);
	}
}

// ---- a live collector ----

static char *live_dir; // the daemon's data directory, removed at teardown
static char live_url[4300];
static pid_t daemon_pid = -1;

static int
live_setup(void **state)
{
	static const char *const args[] = { "--map-size-mb", "16", NULL };

	(void) state;
	clean_env();
	daemon_pid = harness_daemon_tmp_args(
	    &live_dir, live_url, sizeof(live_url), args);
	return (daemon_pid > 0 ? 0 : -1);
}

static int
live_teardown(void **state)
{
	int rv = 0;

	(void) state;
	if (daemon_pid > 0) {
		int code = harness_daemon_stop(daemon_pid, SIGTERM);
		if (code != 0) {
			fprintf(stderr, "llmcostd did not stop cleanly (%d)\n",
			    code);
			rv = -1;
		}
		daemon_pid = -1;
	}
	harness_rmdir(live_dir);
	live_dir = NULL;
	return (rv);
}

static llmcost_client *
live_client(void)
{
	llmcost_options o;
	llmcost_client *c = NULL;

	memset(&o, 0, sizeof(o));
	o.collector_url = live_url;
	o.flush_ms = 20;
	LLMCOST_PASS(llmcost_init(&c, &o));
	return (c);
}

static void
test_live_idle_flush(void **state)
{
	(void) state;
	llmcost_client *c = live_client();

	// Nothing ended: a zero-timeout flush ("just check") succeeds.
	LLMCOST_PASS(llmcost_flush(c, 0));
	LLMCOST_PASS(llmcost_flush(c, 10000));
	LLMCOST_PASS(llmcost_flush(c, -1));
	llmcost_stats s = llmcost_test_stats(c);
	assert_int_equal(s.calls_ended, 0);
	assert_int_equal(s.batches_sent, 0);
	llmcost_shutdown(c, 1000);
}

// A flush whose barrier spans two batches: the loop takes one, and the
// few calls left (fewer than the loop waits for after a take) must go
// at once, not after a pace period.  Two idle seconds make that period
// long (about 100 ms a call at the rate seen), past the flush's bound.
#define BAR_THREADS 4
#define BAR_PER     5
static void *
bar_main(void *arg)
{
	llmcost_client *c = arg;
	for (int i = 0; i < BAR_PER; i++) {
		llmcost_call *call;
		if (llmcost_call_begin(c, "openai", "gpt-4o-mini", &call)
		    == 0) {
			(void) llmcost_call_end(call);
		}
	}
	return (NULL);
}

static void
test_live_flush_two_batches(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_client *c = NULL;
	memset(&o, 0, sizeof(o));
	o.collector_url = live_url;
	o.flush_ms = 60000;
	o.batch_max = 16;
	LLMCOST_PASS(llmcost_init(&c, &o));
	harness_sleep_ms(2000);
	pthread_t th[BAR_THREADS];
	for (int i = 0; i < BAR_THREADS; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, bar_main, c), 0);
	}
	for (int i = 0; i < BAR_THREADS; i++) {
		pthread_join(th[i], NULL);
	}
	LLMCOST_PASS(llmcost_flush(c, 500));
	llmcost_stats st;
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	assert_int_equal(st.calls_acked, BAR_THREADS * BAR_PER);
	llmcost_shutdown(c, 1000);
}

#define LIVE_THREADS    4
#define LIVE_PER_THREAD 250

typedef struct live_arg {
	llmcost_client *c;
	int t;
	uint8_t ids[LIVE_PER_THREAD][16];
	int errors;
} live_arg;

static void *
live_main(void *arg)
{
	live_arg *la = arg;
	static const char *const features[] = { "search", "chat", "summary" };

	for (int i = 0; i < LIVE_PER_THREAD; i++) {
		llmcost_call *call;
		llmcost_usage u;
		char id[37];

		if (llmcost_call_begin(la->c, "openai", "gpt-4o-mini", &call)
		    != 0) {
			la->errors++;
			continue;
		}
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = (uint64_t) (100 + i);
		u.tokens[LLMCOST_OUT_TEXT] = (uint64_t) (10 + la->t);
		if (llmcost_call_set_meta(call, "feature", features[i % 3])
		        != 0
		    || llmcost_call_set_meta(call, "env", "test") != 0
		    || llmcost_call_add_tag(call, "live") != 0
		    || llmcost_call_set_usage(call, &u) != 0
		    || llmcost_call_run_id(call, id, sizeof(id)) != 0
		    || llmcost__uuid_parse(id, la->ids[i]) != 0) {
			la->errors++;
		}
		if (llmcost_call_end(call) != 0) {
			la->errors++;
		}
	}
	return (NULL);
}

static void
test_live_many_threads(void **state)
{
	(void) state;
	static live_arg la[LIVE_THREADS];
	pthread_t th[LIVE_THREADS];
	uint64_t before = stored_runs_in(live_dir);
	llmcost_client *c = live_client();

	for (int i = 0; i < LIVE_THREADS; i++) {
		memset(&la[i], 0, sizeof(la[i]));
		la[i].c = c;
		la[i].t = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, live_main, &la[i]), 0);
	}
	for (int i = 0; i < LIVE_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(la[i].errors, 0);
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	llmcost_stats s = llmcost_test_stats(c);
	assert_int_equal(s.calls_ended, LIVE_THREADS * LIVE_PER_THREAD);
	assert_int_equal(s.calls_acked, LIVE_THREADS * LIVE_PER_THREAD);
	assert_int_equal(s.calls_dropped, 0);
	assert_int_equal(s.calls_rejected, 0);
	assert_int_equal(s.queue_depth, 0);
	assert_true(s.batches_sent >= 1);
	// Everything is acknowledged: a check without waiting succeeds.
	LLMCOST_PASS(llmcost_flush(c, 0));
	llmcost_shutdown(c, 1000);

	// The collector stored each call exactly once, under its run id.
	assert_int_equal(
	    stored_runs_in(live_dir) - before, LIVE_THREADS * LIVE_PER_THREAD);
	store *st = NULL;
	store_rtxn *t = NULL;
	char err[256];
	LLMCOST_PASS(
	    store_open(&st, live_dir, STORE_RDONLY, 0, err, sizeof(err)));
	LLMCOST_PASS(store_read_begin(st, &t));
	for (int i = 0; i < LIVE_THREADS; i++) {
		for (int j = 0; j < LIVE_PER_THREAD; j++) {
			store_run run;
			const char *str;
			size_t len;
			LLMCOST_PASS(store_get_run(t, la[i].ids[j], &run));
			assert_int_equal(run.usage[LLMCOST_IN_UNCACHED],
			    (uint64_t) (100 + j));
			assert_int_equal(
			    run.usage[LLMCOST_OUT_TEXT], (uint64_t) (10 + i));
			LLMCOST_PASS(store_string(t, run.model, &str, &len));
			assert_int_equal(len, strlen("gpt-4o-mini"));
			assert_memory_equal(str, "gpt-4o-mini", len);
			LLMCOST_PASS(store_string(t, run.env, &str, &len));
			assert_int_equal(len, 4);
			assert_memory_equal(str, "test", 4);
		}
	}
	store_read_end(t);
	store_close(st);
}

// Shutdown flushes: calls ended just before it reach the store.
static void
test_live_shutdown_delivers(void **state)
{
	(void) state;
	uint64_t before = stored_runs_in(live_dir);
	llmcost_client *c = live_client();

	for (int i = 0; i < 100; i++) {
		llmcost_call *call = must_begin(c);
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "bye"));
		LLMCOST_PASS(llmcost_call_end(call));
	}
	llmcost_shutdown(c, 10000);
	assert_int_equal(stored_runs_in(live_dir) - before, 100);
}

int
main(int argc, char **argv)
{
	// An optional argument selects tests by name pattern (cmocka).
	if (argc > 1) {
		cmocka_set_test_filter(argv[1]);
	}
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_init_null_clientp),
		cmocka_unit_test(test_init_bad_scheme),
		cmocka_unit_test(test_init_url_too_long),
		cmocka_unit_test(test_disable_flag),
		cmocka_unit_test(test_disable_env),
		cmocka_unit_test(test_options_clamped),
		cmocka_unit_test(test_begin_arguments),
		cmocka_unit_test(test_meta_limits),
		cmocka_unit_test(test_meta_replace),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_arena_cap),
		cmocka_unit_test(test_attr_errors_counted),
		cmocka_unit_test(test_null_call),
		cmocka_unit_test(test_double_end),
		cmocka_unit_test(test_run_id),
		cmocka_unit_test(test_set_status_and_usage),
		cmocka_unit_test(test_dead_collector),
		cmocka_unit_test(test_dead_collector_warns_about_drops),
	};
	// The idle client runs last: it connects and disconnects without
	// sending anything, possibly in the middle of the SP handshake, and
	// with nng 1.5.2 (Debian bookworm) that can leave the listener unable
	// to serve later connections (nng issue #1518).
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_flush_two_batches),
		cmocka_unit_test(test_live_many_threads),
		cmocka_unit_test(test_live_shutdown_delivers),
		cmocka_unit_test(test_live_idle_flush),
	};
	int failed = cmocka_run_group_tests_name(
	    "client", unit, group_setup, group_teardown);
	failed += cmocka_run_group_tests_name(
	    "client_live", live, live_setup, live_teardown);
	return (failed);
}
