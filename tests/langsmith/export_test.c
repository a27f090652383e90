// libllmcost's LangSmith exporter against the strict stand-in, with a real
// llmcostd beside it: the exact runs LangSmith receives (fields, usage in
// outputs.usage_metadata and extra.metadata.usage_metadata, metadata,
// tags, errors), the same run ids in the collector's store, the
// configuration from the environment, and the fault matrix under load
// (429 with and without Retry-After, 408, 425, 5xx, connections cut
// before and after the runs were stored, slow answers, 404 fall back to
// /runs/batch, 413 splits, 401 stops export, 422 drops): every run
// arrives exactly once by id or is dropped and counted; the exporter's
// queue stays under its bound; the collector has every call while
// LangSmith answers nothing; a stalled LangSmith does not hold up the collector, and a
// dead or silent collector does not hold up LangSmith.
// Request scopes: nested scopes across threads, metadata and tags
// inherited, trace_id, parent_run_id and dotted_order as LangSmith
// defines them, the same trace and parent in the collector's store.  The
// API key never appears in a log line.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "llmcost.h"
#include "shim.h"
#include "standin.h"
#include "store.h"
#include "test_env.h"
#include "testutil.h"

#define KEY        "lsv2_pt_test_secret_key_7f3a"
#define PROJECT    "llmcost-export-test"
#define WORKSPACE  "0b7e8f6c-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
#define WORKSPACE2 "5f4e3d2c-b1a0-4f9e-8d3c-2b1a6c8f7e0b"

static standin *S;
static char *dir; // the daemon's data directory (harness_daemon_tmp_args)
static char curl_url[600];
static pid_t daemon_pid = -1;

// ---- log capture ----

static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 16];

static void
logger(void *arg, int level, const char *msg)
{
	(void) arg;
	(void) level;
	pthread_mutex_lock(&log_mtx);
	size_t used = strlen(log_text);
	snprintf(log_text + used, sizeof(log_text) - used, "%s\n", msg);
	pthread_mutex_unlock(&log_mtx);
}

static int
log_count(const char *needle)
{
	int n = 0;
	pthread_mutex_lock(&log_mtx);
	for (const char *p = log_text; (p = strstr(p, needle)) != NULL; p++) {
		n++;
	}
	pthread_mutex_unlock(&log_mtx);
	return (n);
}

// ---- fixtures ----

static int
setup(void **state)
{
	static const char *const args[] = { "--map-size-mb", "64", NULL };
	standin_options o = { .api_key = KEY, .strict_start = 1 };

	(void) state;
	langsmith_test_clean_env();
	if (standin_start(&o, &S) != 0) {
		return (-1);
	}
	daemon_pid
	    = harness_daemon_tmp_args(&dir, curl_url, sizeof(curl_url), args);
	return (daemon_pid > 0 ? 0 : -1);
}

static int
teardown(void **state)
{
	(void) state;
	if (daemon_pid > 0) {
		(void) harness_daemon_stop(daemon_pid, SIGTERM);
	}
	harness_rmdir(dir);
	standin_stop(S);
	return (0);
}

static int
reset_each(void **state)
{
	(void) state;
	langsmith_test_clean_env();
	standin_reset(S);
	standin_faults_clear(S);
	standin_set_max_body(S, 0);
	pthread_mutex_lock(&log_mtx);
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_mtx);
	return (0);
}

static void
base_options(llmcost_options *o)
{
	memset(o, 0, sizeof(*o));
	o->collector_url = curl_url;
	o->flush_ms = 20;
	o->langsmith_api_key = KEY;
	o->langsmith_endpoint = standin_url(S);
	o->langsmith_project = PROJECT;
}

// A client whose log lines all land in log_text: those of llmcost_init
// come from the built-in stderr logger (LLMCOST_LOG=debug), caught in a
// file; the later ones from logger().
static llmcost_client *
client_ls(const llmcost_options *o, int langsmith_on)
{
	llmcost_client *c = NULL;
	char path[] = "/tmp/llmcost-export-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	setenv("LLMCOST_LOG", "debug", 1);
	int rv = llmcost_init(&c, o);
	unsetenv("LLMCOST_LOG");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	LLMCOST_PASS(rv);
	llmcost_set_logger(c, logger, NULL);
	char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n >= 0);
	buf[n] = '\0';
	// The init lines name LangSmith's endpoint when export is on: they
	// were caught.
	assert_int_equal(
	    strstr(buf, "LangSmith export to") != NULL, langsmith_on);
	logger(NULL, 0, buf);
	return (c);
}

static llmcost_client *
client(const llmcost_options *o)
{
	return (client_ls(o, 1));
}

// Ends one call; its run id into id[37].  Retries while the pool is full.
static void
call(llmcost_client *c, const char *provider, const char *model,
    const char *feature, const llmcost_usage *u, llmcost_status st,
    char id[37])
{
	llmcost_call *k = NULL;
	int rv;
	for (int i = 0; (rv = llmcost_call_begin(c, provider, model, &k))
	     == LLMCOST_EFULL;
	     i++) {
		if (i > 20000) {
			fail_msg("the pool stayed full for 20 s");
		}
		harness_sleep_ms(1);
	}
	LLMCOST_PASS(rv);
	LLMCOST_PASS(llmcost_call_set_meta(k, "feature", feature));
	if (u != NULL) {
		LLMCOST_PASS(llmcost_call_set_usage(k, u));
	}
	LLMCOST_PASS(llmcost_call_set_status(k, st));
	LLMCOST_PASS(llmcost_call_run_id(k, id, 37));
	LLMCOST_PASS(llmcost_call_end(k));
}

static json_t *
run_json(const char *id)
{
	char *text = NULL;
	json_error_t e;
	int rv = standin_run_json(S, id, &text);
	if (rv != 0) {
		fail_msg("run %s is not in LangSmith: %s", id,
		    llmcost_err_name(rv));
	}
	json_t *j = json_loads(text, 0, &e);
	free(text);
	assert_non_null(j);
	return (j);
}

static const char *
str_at(json_t *j, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(j, a);
	if (b != NULL) {
		v = json_object_get(v, b);
	}
	if (c != NULL) {
		v = json_object_get(v, c);
	}
	return (json_string_value(v));
}

// Fails unless got equals the JSON text want.
static void
json_is(json_t *got, const char *want, const char *what)
{
	json_error_t e;
	json_t *w = json_loads(want, 0, &e);
	assert_non_null(w);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
		fail_msg("%s: got %s, want %s", what, g ? g : "(null)", want);
	}
	json_decref(w);
}

static int
collector_has(const char *id)
{
	store *st = NULL;
	store_rtxn *t = NULL;
	store_run run;
	uint8_t raw[16];
	char err[256];
	LLMCOST_PASS(store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err)));
	LLMCOST_PASS(store_read_begin(st, &t));
	LLMCOST_PASS(llmcost__uuid_parse(id, raw));
	int rv = store_get_run(t, raw, &run);
	store_read_end(t);
	store_close(st);
	return (rv == 0);
}

// ---- the exact runs ----

static void
test_runs_exact(void **state)
{
	(void) state;
	llmcost_options o;
	char ida[37], idb[37], idc[37];
	llmcost_usage ua, ub;

	base_options(&o);
	llmcost_client *c = client(&o);

	// OpenAI o4-mini: 2000 in (1536 cached), 900 out (640 reasoning).
	memset(&ua, 0, sizeof(ua));
	ua.tokens[LLMCOST_IN_UNCACHED] = 464;
	ua.tokens[LLMCOST_IN_CACHE_READ] = 1536;
	ua.tokens[LLMCOST_OUT_TEXT] = 260;
	ua.tokens[LLMCOST_OUT_REASONING] = 640;
	llmcost_call *k = NULL;
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "o4-mini", &k));
	LLMCOST_PASS(llmcost_call_set_meta(k, "feature", "agent-copilot"));
	LLMCOST_PASS(llmcost_call_set_meta(k, "env", "production"));
	LLMCOST_PASS(llmcost_call_set_meta(
	    k, "note", "say \"hi\"\n\ttab\\ caf\xc3\xa9 \x01"));
	LLMCOST_PASS(llmcost_call_add_tag(k, "production"));
	LLMCOST_PASS(llmcost_call_add_tag(k, "t\"2"));
	LLMCOST_PASS(llmcost_call_set_usage(k, &ua));
	LLMCOST_PASS(llmcost_call_run_id(k, ida, sizeof(ida)));
	LLMCOST_PASS(llmcost_call_end(k));

	// Anthropic with every input detail, and audio both ways.
	memset(&ub, 0, sizeof(ub));
	ub.tokens[LLMCOST_IN_UNCACHED] = 200;
	ub.tokens[LLMCOST_IN_CACHE_READ] = 3000;
	ub.tokens[LLMCOST_IN_CACHE_WRITE_5M] = 1500;
	ub.tokens[LLMCOST_IN_CACHE_WRITE_1H] = 500;
	ub.tokens[LLMCOST_IN_AUDIO] = 7;
	ub.tokens[LLMCOST_OUT_TEXT] = 310;
	ub.tokens[LLMCOST_OUT_AUDIO] = 3;
	call(c, "anthropic", "claude-sonnet-4-5", "chat", &ub,
	    LLMCOST_STATUS_OK, idb);
	// A failed call without usage.
	call(c, "google_genai", "gemini-2.5-flash", "summarizer", NULL,
	    LLMCOST_STATUS_ERROR, idc);

	llmcost_stats s = llmcost_test_flushed(c, 60000);
	assert_int_equal(s.calls_acked, 3);
	assert_int_equal(s.langsmith_runs_sent, 3);
	assert_int_equal(s.langsmith_runs_acked, 3);
	assert_int_equal(s.langsmith_requests_retried, 0);
	assert_int_equal(s.langsmith_dropped_queue + s.langsmith_dropped_auth
	        + s.langsmith_dropped_rejected + s.langsmith_dropped_retries,
	    0);
	llmcost_shutdown(c, 5000);
	assert_int_equal(standin_runs(S), 3);

	char sid[37];
	LLMCOST_PASS(standin_session_id(S, PROJECT, sid));

	json_t *a = run_json(ida);
	assert_string_equal(str_at(a, "id", NULL, NULL), ida);
	assert_string_equal(str_at(a, "trace_id", NULL, NULL), ida);
	assert_true(json_is_null(json_object_get(a, "parent_run_id")));
	assert_string_equal(str_at(a, "session_id", NULL, NULL), sid);
	assert_string_equal(str_at(a, "run_type", NULL, NULL), "llm");
	assert_string_equal(str_at(a, "name", NULL, NULL), "o4-mini");
	assert_string_equal(str_at(a, "status", NULL, NULL), "success");
	// dotted_order: one segment, the start time to the microsecond (the
	// stand-in runs strict: start_time must equal it), then the id.
	const char *dotted = str_at(a, "dotted_order", NULL, NULL);
	const char *start = str_at(a, "start_time", NULL, NULL);
	assert_non_null(dotted);
	assert_non_null(start);
	assert_int_equal(strlen(dotted), 58);
	assert_string_equal(dotted + 22, ida);
	char want_seg[32];
	snprintf(want_seg, sizeof(want_seg), "%.4s%.2s%.2sT%.2s%.2s%.2s%.6sZ",
	    start, start + 5, start + 8, start + 11, start + 14, start + 17,
	    start + 20);
	assert_memory_equal(dotted, want_seg, 22);
	json_is(json_object_get(a, "tags"), "[\"production\", \"t\\\"2\"]",
	    "tags");
	static const char usage_a[]
	    = "{\"input_tokens\": 2000, \"output_tokens\": 900, "
	      "\"total_tokens\": 2900, \"input_token_details\": "
	      "{\"cache_read\": 1536}, \"output_token_details\": "
	      "{\"reasoning\": 640}}";
	json_is(
	    json_object_get(json_object_get(a, "outputs"), "usage_metadata"),
	    usage_a, "outputs.usage_metadata");
	json_t *meta
	    = json_object_get(json_object_get(a, "extra"), "metadata");
	json_is(json_object_get(meta, "usage_metadata"), usage_a,
	    "extra.metadata.usage_metadata");
	assert_string_equal(
	    str_at(meta, "feature", NULL, NULL), "agent-copilot");
	assert_string_equal(str_at(meta, "env", NULL, NULL), "production");
	assert_string_equal(str_at(meta, "note", NULL, NULL),
	    "say \"hi\"\n\ttab\\ caf\xc3\xa9 \x01");
	assert_string_equal(str_at(meta, "ls_provider", NULL, NULL), "openai");
	assert_string_equal(
	    str_at(meta, "ls_model_name", NULL, NULL), "o4-mini");
	// LangSmith priced it from ls_provider/ls_model_name and the usage.
	assert_false(json_is_null(json_object_get(a, "total_cost")));
	json_decref(a);

	json_t *b = run_json(idb);
	static const char usage_b[]
	    = "{\"input_tokens\": 5207, \"output_tokens\": 313, "
	      "\"total_tokens\": 5520, \"input_token_details\": "
	      "{\"cache_read\": 3000, \"ephemeral_5m_input_tokens\": 1500, "
	      "\"ephemeral_1h_input_tokens\": 500, \"audio\": 7, "
	      "\"cache_creation\": 2000}, \"output_token_details\": "
	      "{\"audio\": 3}}";
	json_is(
	    json_object_get(json_object_get(b, "outputs"), "usage_metadata"),
	    usage_b, "outputs.usage_metadata");
	meta = json_object_get(json_object_get(b, "extra"), "metadata");
	json_is(json_object_get(meta, "usage_metadata"), usage_b,
	    "extra.metadata.usage_metadata");
	assert_string_equal(
	    str_at(meta, "ls_provider", NULL, NULL), "anthropic");
	assert_string_equal(str_at(meta, "feature", NULL, NULL), "chat");
	json_decref(b);

	json_t *e = run_json(idc);
	assert_string_equal(str_at(e, "status", NULL, NULL), "error");
	assert_string_equal(str_at(e, "error", NULL, NULL), "provider error");
	json_is(
	    json_object_get(json_object_get(e, "outputs"), "usage_metadata"),
	    "{\"input_tokens\": 0, \"output_tokens\": 0, \"total_tokens\": 0}",
	    "usage of a failed call");
	json_decref(e);

	// The collector stored the same ids.
	assert_true(collector_has(ida));
	assert_true(collector_has(idb));
	assert_true(collector_has(idc));
	assert_int_equal(log_count(KEY), 0);
}

// ---- run times ----

// An ISO time "YYYY-MM-DDTHH:MM:SS.ffffffZ" as Unix seconds, or -1.
static int64_t
iso_seconds(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (t == NULL
	    || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec)
	        != 6) {
		return (-1);
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((int64_t) timegm(&tm));
}

// CLOCK_REALTIME in whole seconds (time() may read a coarser clock).
static int64_t
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec);
}

// Each run's start and end times fall within the wall-clock seconds
// around its call (give or take one: the shim reads the monotonic clock
// plus an offset it samples), for calls more than two seconds apart in
// one client: the exporter keeps the date and time of day of the last
// second it wrote, which must not outlive that second.
static void
test_times_follow_the_clock(void **state)
{
	(void) state;
	llmcost_options o;
	char id[3][37];
	int64_t before[3], after[3];

	base_options(&o);
	llmcost_client *c = client(&o);
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			harness_sleep_ms(2100);
		}
		before[i] = now_seconds();
		call(c, "openai", "gpt-4o-mini", "clock", NULL,
		    LLMCOST_STATUS_OK, id[i]);
		after[i] = now_seconds();
	}
	LLMCOST_PASS(llmcost_flush(c, 30000));
	llmcost_shutdown(c, 5000);
	for (int i = 0; i < 3; i++) {
		json_t *r = run_json(id[i]);
		int64_t start
		    = iso_seconds(str_at(r, "start_time", NULL, NULL));
		int64_t end = iso_seconds(str_at(r, "end_time", NULL, NULL));
		if (start < before[i] - 1 || start > after[i] + 1
		    || end < start || end > after[i] + 1) {
			fail_msg("run %d: start %lld, end %lld, called within "
			         "[%lld, %lld]",
			    i, (long long) start, (long long) end,
			    (long long) before[i], (long long) after[i]);
		}
		json_decref(r);
	}
}

// ---- gzip request bodies ----

// Sends n calls through a client with options o; returns the requests
// the stand-in received gzip-encoded.  Every run must arrive.
static uint64_t
gzip_round(const llmcost_options *o, int n)
{
	char id[37];
	standin_reset(S);
	llmcost_client *c = client(o);
	for (int i = 0; i < n; i++) {
		call(c, "openai", "gpt-4o-mini", "gz", NULL, LLMCOST_STATUS_OK,
		    id);
	}
	LLMCOST_PASS(llmcost_flush(c, 60000));
	llmcost_stats s;
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	assert_int_equal(s.langsmith_runs_acked, (uint64_t) n);
	llmcost_shutdown(c, 5000);
	assert_int_equal(standin_runs(S), (uint64_t) n);
	json_t *j = run_json(id);
	assert_string_equal(str_at(j, "name", NULL, NULL), "gpt-4o-mini");
	json_decref(j);
	return (standin_gzipped(S));
}

static void
test_gzip(void **state)
{
	(void) state;
	llmcost_options o;

	// The default follows GET /info, which says yes: every multipart
	// request is compressed (the stand-in decodes strictly).
	base_options(&o);
	uint64_t gz = gzip_round(&o, 250);
	assert_int_equal(gz, standin_count(S, STANDIN_EP_MULTIPART, 202));
	assert_true(gz >= 3);
	assert_int_equal(standin_count(S, STANDIN_EP_INFO, 200), 1);
	// /info says no: none.
	standin_set_gzip_flag(S, 0);
	assert_int_equal(gzip_round(&o, 50), 0);
	assert_int_equal(standin_count(S, STANDIN_EP_INFO, 200), 1);
	// Forced on, without asking /info.
	o.langsmith_gzip = 1;
	assert_true(gzip_round(&o, 50) > 0);
	assert_int_equal(standin_count(S, STANDIN_EP_INFO, 200), 0);
	standin_set_gzip_flag(S, 1);
	// Off by option, and by the SDKs' variable.
	o.langsmith_gzip = -1;
	assert_int_equal(gzip_round(&o, 50), 0);
	o.langsmith_gzip = 0;
	setenv("LANGSMITH_DISABLE_RUN_COMPRESSION", "true", 1);
	assert_int_equal(gzip_round(&o, 50), 0);
	unsetenv("LANGSMITH_DISABLE_RUN_COMPRESSION");
	assert_int_equal(standin_count(S, STANDIN_EP_INFO, 200), 0);
}

// ---- prompt and completion text ----

// 1 if the collector's data file holds the bytes s anywhere.
static int
data_file_has(const char *s)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = strlen(s), cap = 1 << 20, len;
	char *buf = malloc(cap + n);
	int found = 0;
	assert_non_null(buf);
	size_t keep = 0;
	while ((len = fread(buf + keep, 1, cap, f)) > 0) {
		len += keep;
		if (memmem(buf, len, s, n) != NULL) {
			found = 1;
			break;
		}
		keep = len < n ? len : n - 1;
		memmove(buf, buf + len - keep, keep);
	}
	fclose(f);
	free(buf);
	return (found);
}

static void
test_text(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_call *k;
	char ida[37], idb[37], idc[37], idd[37];
	static const char marker[] = "prompt-marker-5d1f0c";
	char big[300];

	// Off by default: nothing to store text in.
	base_options(&o);
	llmcost_client *c = client(&o);
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &k));
	LLMCOST_FAIL(
	    llmcost_call_add_message(k, "user", "hi", 2), LLMCOST_EDISABLED);
	LLMCOST_FAIL(
	    llmcost_call_set_output_text(k, "hi", 2), LLMCOST_EDISABLED);
	llmcost_call_abandon(k);
	llmcost_shutdown(c, 5000);

	o.text_max_bytes = 256;
	c = client(&o);
	// A conversation and its completion.
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &k));
	LLMCOST_PASS(llmcost_call_add_message(k, "system", "Be terse.", 9));
	LLMCOST_PASS(llmcost_call_add_message(k, "user", "Say \"hi\"\n", 9));
	LLMCOST_PASS(llmcost_call_set_output_text(k, "wrong", 5));
	LLMCOST_PASS(llmcost_call_set_output_text(k, "hi \xe2\x9c\x93", 6));
	LLMCOST_FAIL(
	    llmcost_call_add_message(k, "user", "\xff", 1), LLMCOST_EUTF8);
	LLMCOST_FAIL(llmcost_call_add_message(k, "", "x", 1), LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_call_run_id(k, ida, sizeof(ida)));
	LLMCOST_PASS(llmcost_call_end(k));
	// set_input_text replaces the messages, keeps the completion; the
	// marker is text only, never metadata.
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &k));
	LLMCOST_PASS(llmcost_call_add_message(k, "user", "old", 3));
	LLMCOST_PASS(llmcost_call_set_output_text(k, "done", 4));
	LLMCOST_PASS(llmcost_call_set_input_text(k, marker, strlen(marker)));
	LLMCOST_PASS(llmcost_call_run_id(k, idb, sizeof(idb)));
	LLMCOST_PASS(llmcost_call_end(k));
	// Over the bound: refused whole and counted; what fitted is sent.
	memset(big, 'x', sizeof(big));
	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &k));
	LLMCOST_PASS(llmcost_call_add_message(k, "user", big, 200));
	LLMCOST_FAIL(
	    llmcost_call_set_output_text(k, big, 60), LLMCOST_ETOOBIG);
	LLMCOST_PASS(llmcost_call_run_id(k, idc, sizeof(idc)));
	LLMCOST_PASS(llmcost_call_end(k));
	// No text handed over: none sent.
	call(
	    c, "openai", "gpt-4o-mini", "plain", NULL, LLMCOST_STATUS_OK, idd);
	LLMCOST_PASS(llmcost_flush(c, 60000));
	llmcost_stats s;
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	assert_int_equal(s.text_dropped, 1);
	assert_int_equal(s.langsmith_runs_acked, 4);
	assert_int_equal(s.calls_acked, 4);
	llmcost_shutdown(c, 5000);

	json_t *a = run_json(ida);
	json_is(json_object_get(a, "inputs"),
	    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be "
	    "terse.\"}, {\"role\": \"user\", \"content\": \"Say "
	    "\\\"hi\\\"\\n\"}]}",
	    "inputs");
	json_t *out = json_object_get(a, "outputs");
	json_is(json_object_get(out, "choices"),
	    "[{\"message\": {\"role\": \"assistant\", \"content\": \"hi "
	    "\\u2713\"}}]",
	    "outputs.choices");
	assert_non_null(json_object_get(out, "usage_metadata"));
	json_decref(a);
	json_t *b = run_json(idb);
	char want[200];
	snprintf(want, sizeof(want),
	    "{\"messages\": [{\"role\": \"user\", \"content\": \"%s\"}]}",
	    marker);
	json_is(json_object_get(b, "inputs"), want, "inputs after set");
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(
	            json_array_get(
	                json_object_get(
	                    json_object_get(b, "outputs"), "choices"),
	                0),
	            "message"),
	        "content")),
	    "done");
	json_decref(b);
	json_t *cj = run_json(idc);
	assert_int_equal(json_array_size(json_object_get(
	                     json_object_get(cj, "inputs"), "messages")),
	    1);
	assert_null(
	    json_object_get(json_object_get(cj, "outputs"), "choices"));
	json_decref(cj);
	json_t *d = run_json(idd);
	json_is(json_object_get(d, "inputs"), "{}", "inputs without text");
	assert_null(json_object_get(json_object_get(d, "outputs"), "choices"));
	json_decref(d);
	// The collector has the calls, never their text.
	assert_true(collector_has(idb));
	assert_false(data_file_has(marker));
}

// ---- request scopes across threads ----

typedef struct step {
	llmcost_client *c;
	const llmcost_scope *root;
	const char *name;
	char scope_id[37];
	char call_ids[2][37];
	char inner_id[37];
	char inner_call[37];
} step;

static void
scoped_call(const llmcost_scope *s, const char *feature, char id[37])
{
	llmcost_call *k = NULL;
	llmcost_usage u;
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = 100;
	u.tokens[LLMCOST_OUT_TEXT] = 10;
	LLMCOST_PASS(llmcost_scope_call_begin(s, "openai", "gpt-4o-mini", &k));
	if (feature != NULL) {
		LLMCOST_PASS(llmcost_call_set_meta(k, "feature", feature));
	}
	LLMCOST_PASS(llmcost_call_set_usage(k, &u));
	LLMCOST_PASS(llmcost_call_run_id(k, id, 37));
	LLMCOST_PASS(llmcost_call_end(k));
}

static void *
step_main(void *arg)
{
	step *st = arg;
	llmcost_scope s, inner;

	LLMCOST_PASS(llmcost_scope_begin(st->c, st->root, st->name, &s));
	LLMCOST_PASS(llmcost_scope_set_meta(&s, "step", st->name));
	LLMCOST_PASS(llmcost_scope_add_tag(&s, st->name));
	LLMCOST_PASS(llmcost_scope_run_id(&s, st->scope_id, 37));
	// The call's own value beats the inherited one.
	scoped_call(&s, "own-feature", st->call_ids[0]);
	scoped_call(&s, NULL, st->call_ids[1]);
	LLMCOST_PASS(llmcost_scope_begin(st->c, &s, "inner", &inner));
	LLMCOST_PASS(llmcost_scope_run_id(&inner, st->inner_id, 37));
	scoped_call(&inner, NULL, st->inner_call);
	LLMCOST_PASS(llmcost_scope_end(&inner));
	LLMCOST_PASS(llmcost_scope_end(&s));
	return (NULL);
}

// Checks run id under parent (NULL: a root) in trace: the ids, and a
// dotted_order that extends the parent's by one segment ending in id.
// Returns the run (the caller frees it).
static json_t *
check_tree(const char *id, const char *parent, const char *trace)
{
	json_t *r = run_json(id);
	assert_string_equal(str_at(r, "trace_id", NULL, NULL), trace);
	const char *dotted = str_at(r, "dotted_order", NULL, NULL);
	assert_non_null(dotted);
	size_t n = strlen(dotted);
	assert_string_equal(dotted + n - 36, id);
	if (parent == NULL) {
		assert_true(json_is_null(json_object_get(r, "parent_run_id")));
		assert_int_equal(n, 58);
	} else {
		assert_string_equal(
		    str_at(r, "parent_run_id", NULL, NULL), parent);
		json_t *p = run_json(parent);
		const char *pd = str_at(p, "dotted_order", NULL, NULL);
		size_t pn = strlen(pd);
		assert_int_equal(n, pn + 59);
		assert_memory_equal(dotted, pd, pn);
		assert_int_equal(dotted[pn], '.');
		// Segments sort in time: the child's is not before its
		// parent's (the stand-in also refuses any other order).
		assert_true(memcmp(dotted + pn + 1, pd + pn - 58, 22) >= 0);
		json_decref(p);
	}
	return (r);
}

static void
check_stored_trace(const char *id, const char *trace, const char *parent)
{
	store *st = NULL;
	store_rtxn *t = NULL;
	uint8_t raw[16], want_t[16], want_p[16], got_t[16], got_p[16];
	char err[256];
	LLMCOST_PASS(store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err)));
	LLMCOST_PASS(store_read_begin(st, &t));
	LLMCOST_PASS(llmcost__uuid_parse(id, raw));
	LLMCOST_PASS(llmcost__uuid_parse(trace, want_t));
	LLMCOST_PASS(llmcost__uuid_parse(parent, want_p));
	LLMCOST_PASS(store_get_trace(t, raw, got_t, got_p));
	store_read_end(t);
	store_close(st);
	assert_memory_equal(got_t, want_t, 16);
	assert_memory_equal(got_p, want_p, 16);
}

static void
test_scopes(void **state)
{
	(void) state;
	llmcost_options o;
	llmcost_scope root;
	char root_id[37], root_call[37];
	static step steps[2]
	    = { { .name = "retrieve" }, { .name = "answer" } };
	pthread_t th[2];

	base_options(&o);
	llmcost_client *c = client(&o);
	LLMCOST_PASS(llmcost_scope_begin(c, NULL, "handle_request", &root));
	LLMCOST_PASS(
	    llmcost_scope_set_meta(&root, "feature", "agent-copilot"));
	LLMCOST_PASS(llmcost_scope_set_meta(&root, "user_tier", "pro"));
	LLMCOST_PASS(llmcost_scope_add_tag(&root, "production"));
	// The exporter's own keys win over a caller's.
	LLMCOST_PASS(llmcost_scope_set_meta(&root, "ls_provider", "bogus"));
	LLMCOST_PASS(llmcost_scope_run_id(&root, root_id, sizeof(root_id)));
	scoped_call(&root, NULL, root_call);
	for (int i = 0; i < 2; i++) {
		steps[i].c = c;
		steps[i].root = &root;
		assert_int_equal(
		    pthread_create(&th[i], NULL, step_main, &steps[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}
	// A scope whose only metadata is a key the exporter leaves out of
	// chain runs (usage rolls up from children).
	llmcost_scope bare;
	char bare_id[37];
	LLMCOST_PASS(llmcost_scope_begin(c, NULL, "bare", &bare));
	LLMCOST_PASS(llmcost_scope_set_meta(&bare, "usage_metadata", "x"));
	LLMCOST_PASS(llmcost_scope_run_id(&bare, bare_id, sizeof(bare_id)));
	LLMCOST_PASS(llmcost_scope_end(&bare));
	LLMCOST_PASS(llmcost_scope_end(&root));
	// Ended once: a second end is refused.
	LLMCOST_FAIL(llmcost_scope_end(&root), LLMCOST_EINVAL);
	llmcost_stats s = llmcost_test_flushed(c, 60000);
	llmcost_shutdown(c, 5000);
	assert_int_equal(s.scopes_ended, 6);
	assert_int_equal(standin_runs(S), 13);
	assert_int_equal(s.langsmith_runs_acked, 13);
	json_t *br = check_tree(bare_id, NULL, bare_id);
	json_is(json_object_get(json_object_get(br, "extra"), "metadata"),
	    "{}", "metadata of a chain run without any to send");
	json_decref(br);

	// The root chain run: no usage (LangSmith rolls it up from the
	// children), the scope's metadata and tag.
	json_t *r = check_tree(root_id, NULL, root_id);
	assert_string_equal(str_at(r, "run_type", NULL, NULL), "chain");
	assert_string_equal(str_at(r, "name", NULL, NULL), "handle_request");
	assert_null(
	    json_object_get(json_object_get(r, "outputs"), "usage_metadata"));
	json_t *meta
	    = json_object_get(json_object_get(r, "extra"), "metadata");
	assert_string_equal(
	    str_at(meta, "feature", NULL, NULL), "agent-copilot");
	assert_null(json_object_get(meta, "usage_metadata"));
	assert_null(json_object_get(meta, "ls_provider"));
	json_is(json_object_get(r, "tags"), "[\"production\"]", "root tags");
	json_decref(r);

	r = check_tree(root_call, root_id, root_id);
	assert_string_equal(str_at(r, "run_type", NULL, NULL), "llm");
	meta = json_object_get(json_object_get(r, "extra"), "metadata");
	assert_string_equal(str_at(meta, "user_tier", NULL, NULL), "pro");
	assert_string_equal(str_at(meta, "ls_provider", NULL, NULL), "openai");
	assert_non_null(json_object_get(meta, "usage_metadata"));
	json_decref(r);
	check_stored_trace(root_call, root_id, root_id);

	for (int i = 0; i < 2; i++) {
		step *st = &steps[i];
		r = check_tree(st->scope_id, root_id, root_id);
		assert_string_equal(
		    str_at(r, "run_type", NULL, NULL), "chain");
		assert_string_equal(str_at(r, "name", NULL, NULL), st->name);
		json_decref(r);
		for (int k = 0; k < 2; k++) {
			r = check_tree(st->call_ids[k], st->scope_id, root_id);
			meta = json_object_get(
			    json_object_get(r, "extra"), "metadata");
			// Inherited through two levels, and from its scope.
			assert_string_equal(
			    str_at(meta, "user_tier", NULL, NULL), "pro");
			assert_string_equal(
			    str_at(meta, "step", NULL, NULL), st->name);
			assert_string_equal(
			    str_at(meta, "feature", NULL, NULL),
			    k == 0 ? "own-feature" : "agent-copilot");
			json_t *tags = json_object_get(r, "tags");
			assert_int_equal(json_array_size(tags), 2);
			assert_string_equal(
			    json_string_value(json_array_get(tags, 0)),
			    "production");
			assert_string_equal(
			    json_string_value(json_array_get(tags, 1)),
			    st->name);
			json_decref(r);
			check_stored_trace(
			    st->call_ids[k], root_id, st->scope_id);
		}
		r = check_tree(st->inner_id, st->scope_id, root_id);
		json_decref(r);
		r = check_tree(st->inner_call, st->inner_id, root_id);
		meta
		    = json_object_get(json_object_get(r, "extra"), "metadata");
		assert_string_equal(
		    str_at(meta, "step", NULL, NULL), st->name);
		json_decref(r);
		check_stored_trace(st->inner_call, root_id, st->inner_id);
		// Scopes are LangSmith's only: the collector keeps calls.
		assert_false(collector_has(st->scope_id));
		assert_true(collector_has(st->inner_call));
	}
	assert_false(collector_has(root_id));
}

// ---- configuration from the environment ----

static void
test_environment(void **state)
{
	(void) state;
	llmcost_options o;
	char id[37];

	memset(&o, 0, sizeof(o));
	o.collector_url = curl_url;
	o.flush_ms = 20;
	// The LANGCHAIN_* spellings, with a trailing slash on the endpoint.
	char ep[300];
	snprintf(ep, sizeof(ep), "%s/", standin_url(S));
	setenv("LANGCHAIN_API_KEY", KEY, 1);
	setenv("LANGCHAIN_ENDPOINT", ep, 1);
	setenv("LANGCHAIN_PROJECT", "from-env", 1);
	llmcost_client *c = client(&o);
	call(c, "openai", "gpt-4o-mini", "f", NULL, LLMCOST_STATUS_OK, id);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	llmcost_shutdown(c, 5000);
	char sid[37];
	LLMCOST_PASS(standin_session_id(S, "from-env", sid));
	json_t *r = run_json(id);
	assert_string_equal(str_at(r, "session_id", NULL, NULL), sid);
	json_decref(r);

	char tenant[128];
	standin_tenant(S, tenant, sizeof(tenant));
	assert_string_equal(tenant, "");

	// Tracing turned off: nothing goes to LangSmith, the collector
	// still gets the call.
	setenv("LANGSMITH_TRACING", "False", 1);
	c = client_ls(&o, 0);
	call(c, "openai", "gpt-4o-mini", "f", NULL, LLMCOST_STATUS_OK, id);
	llmcost_stats s = llmcost_test_flushed(c, 30000);
	assert_int_equal(s.calls_acked, 1);
	assert_int_equal(s.langsmith_runs_sent, 0);
	llmcost_shutdown(c, 5000);
	assert_int_equal(standin_runs(S), 1);
	assert_true(collector_has(id));

	// The option beats the variable.
	o.langsmith_tracing = 1;
	c = client(&o);
	call(c, "openai", "gpt-4o-mini", "f", NULL, LLMCOST_STATUS_OK, id);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	llmcost_shutdown(c, 5000);
	assert_int_equal(standin_runs(S), 2);

	// The workspace as x-tenant-id, LANGSMITH_* before LANGCHAIN_*, and
	// the JS SDK's legacy LANGCHAIN_SESSION as the project.
	unsetenv("LANGCHAIN_PROJECT");
	setenv("LANGCHAIN_SESSION", "from-session", 1);
	setenv("LANGCHAIN_WORKSPACE_ID", WORKSPACE, 1);
	c = client(&o);
	call(c, "openai", "gpt-4o-mini", "f", NULL, LLMCOST_STATUS_OK, id);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	llmcost_shutdown(c, 5000);
	standin_tenant(S, tenant, sizeof(tenant));
	assert_string_equal(tenant, WORKSPACE);
	LLMCOST_PASS(standin_session_id(S, "from-session", sid));
	r = run_json(id);
	assert_string_equal(str_at(r, "session_id", NULL, NULL), sid);
	json_decref(r);
	setenv("LANGSMITH_WORKSPACE_ID", WORKSPACE2, 1);
	c = client(&o);
	call(c, "openai", "gpt-4o-mini", "f", NULL, LLMCOST_STATUS_OK, id);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	llmcost_shutdown(c, 5000);
	standin_tenant(S, tenant, sizeof(tenant));
	assert_string_equal(tenant, WORKSPACE2);

	assert_int_equal(log_count(KEY), 0);
}

// ---- the fault matrix ----

#define LOAD_THREADS 2
#define LOAD_CALLS   400 // per thread

typedef struct loader {
	llmcost_client *c;
	int t;
	char ids[LOAD_CALLS][37];
} loader;

static void *
load_main(void *arg)
{
	loader *l = arg;
	llmcost_usage u;
	memset(&u, 0, sizeof(u));
	for (int i = 0; i < LOAD_CALLS; i++) {
		u.tokens[LLMCOST_IN_UNCACHED] = 100 + (uint64_t) i;
		u.tokens[LLMCOST_OUT_TEXT] = 10;
		call(l->c, "openai", "gpt-4o-mini", l->t ? "b" : "a", &u,
		    LLMCOST_STATUS_OK, l->ids[i]);
	}
	return (NULL);
}

typedef struct fault_case {
	const char *what;
	standin_fault f;
	size_t max_body; // standin_set_max_body, 0: none
	int expect;      // EXPECT_*
} fault_case;

enum {
	EXPECT_ALL = 0,  // every run arrives once
	EXPECT_AUTH,     // none arrives; all counted as dropped_auth
	EXPECT_REJECTED, // some dropped_rejected, the rest arrive
	EXPECT_FALLBACK, // every run arrives, through /runs/batch
	EXPECT_SPLIT,    // every run arrives, after 413s
};

static void
run_case(const fault_case *fc)
{
	static loader ls[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	llmcost_options o;
	const uint64_t n = LOAD_THREADS * LOAD_CALLS;

	reset_each(NULL);
	if (fc->f.status != 0 || fc->f.reset || fc->f.delay_ms) {
		LLMCOST_PASS(standin_fault_add(S, &fc->f));
	}
	if (fc->max_body != 0) {
		standin_set_max_body(S, fc->max_body);
	}
	base_options(&o);
	o.langsmith_queue_batches = 16;
	// Many batches, and LangSmith's bound exactly the calls made.
	o.batch_max = n / 16;
	llmcost_client *c = client(&o);
	llmcost__exporter *lx
	    = llmcost__exporter_find(c, &llmcost__exporter_langsmith);
	assert_non_null(lx);
	// LangSmith answers nothing until the collector has every call:
	// delivery to the collector does not wait for LangSmith, whatever
	// the fault.  The exporter's bound holds them all (no queue drops).
	assert_int_equal(lx->calls_max, n);
	standin_hold(S, 1);
	for (int t = 0; t < LOAD_THREADS; t++) {
		ls[t].c = c;
		ls[t].t = t;
		assert_int_equal(
		    pthread_create(&th[t], NULL, load_main, &ls[t]), 0);
	}
	for (int t = 0; t < LOAD_THREADS; t++) {
		pthread_join(th[t], NULL);
	}
	llmcost_stats s;
	for (int i = 0; i < 30000; i++) {
		LLMCOST_PASS(llmcost_stats_get(c, &s));
		if (s.calls_acked == n) {
			break;
		}
		harness_sleep_ms(1);
	}
	if (s.calls_acked != n || standin_runs(S) != 0) {
		fail_msg("%s: the collector had %llu of %llu calls while "
		         "LangSmith (holding %llu runs) answered nothing",
		    fc->what, (unsigned long long) s.calls_acked,
		    (unsigned long long) n,
		    (unsigned long long) standin_runs(S));
	}
	standin_hold(S, 0);
	int rv = llmcost_flush(c, 120000);
	if (rv != 0) {
		fail_msg("%s: flush: %s", fc->what, llmcost_err_name(rv));
	}
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	// The exporter's memory stayed under its bound: the most calls and
	// batches it held at once.
	pthread_mutex_lock(&c->mtx);
	uint64_t held_max = lx->calls_held_max;
	uint32_t count_max = lx->count_max;
	pthread_mutex_unlock(&c->mtx);
	if (held_max == 0 || held_max > lx->calls_max
	    || count_max > lx->queue_max) {
		fail_msg("%s: the exporter held up to %llu calls (bound %llu) "
		         "in %u batches (bound %u)",
		    fc->what, (unsigned long long) held_max,
		    (unsigned long long) lx->calls_max, count_max,
		    lx->queue_max);
	}
	llmcost_shutdown(c, 5000);

	uint64_t runs = standin_runs(S);
	uint64_t dropped = s.langsmith_dropped_queue + s.langsmith_dropped_auth
	    + s.langsmith_dropped_rejected + s.langsmith_dropped_retries;
	fprintf(stderr,
	    "# %-28s runs %llu acked %llu sent %llu retried %llu dropped: "
	    "queue %llu auth %llu rejected %llu retries %llu; dup %llu\n",
	    fc->what, (unsigned long long) runs,
	    (unsigned long long) s.langsmith_runs_acked,
	    (unsigned long long) s.langsmith_runs_sent,
	    (unsigned long long) s.langsmith_requests_retried,
	    (unsigned long long) s.langsmith_dropped_queue,
	    (unsigned long long) s.langsmith_dropped_auth,
	    (unsigned long long) s.langsmith_dropped_rejected,
	    (unsigned long long) s.langsmith_dropped_retries,
	    (unsigned long long) standin_duplicates(S));
	// The collector got everything whatever LangSmith did.
	assert_int_equal(s.calls_acked, n);
	assert_int_equal(s.calls_dropped, 0);
	// Every call is accounted for: acknowledged by LangSmith or dropped
	// with a cause; LangSmith stored exactly the acknowledged ones.
	if (s.langsmith_runs_acked + dropped != n) {
		fail_msg("%s: %llu acked + %llu dropped != %llu", fc->what,
		    (unsigned long long) s.langsmith_runs_acked,
		    (unsigned long long) dropped, (unsigned long long) n);
	}
	assert_int_equal(runs, s.langsmith_runs_acked);
	uint64_t found = 0;
	for (int t = 0; t < LOAD_THREADS; t++) {
		for (int i = 0; i < LOAD_CALLS; i++) {
			char *text = NULL;
			if (standin_run_json(S, ls[t].ids[i], &text) == 0) {
				found++;
				free(text);
			}
		}
	}
	assert_int_equal(found, runs);
	switch (fc->expect) {
	case EXPECT_ALL:
	case EXPECT_FALLBACK:
	case EXPECT_SPLIT:
		if (runs != n) {
			fail_msg("%s: %llu of %llu runs arrived", fc->what,
			    (unsigned long long) runs, (unsigned long long) n);
		}
		break;
	case EXPECT_AUTH:
		assert_int_equal(runs, 0);
		assert_int_equal(s.langsmith_dropped_auth, n);
		// One request, one log line: no retry storm.
		assert_int_equal(standin_received(S, STANDIN_EP_MULTIPART), 1);
		assert_int_equal(log_count("refused the API key"), 1);
		break;
	case EXPECT_REJECTED:
		assert_true(s.langsmith_dropped_rejected > 0);
		assert_true(runs > 0);
		assert_int_equal(runs + s.langsmith_dropped_rejected, n);
		assert_int_equal(log_count("LangSmith refused"), 1);
		break;
	}
	if (fc->expect == EXPECT_FALLBACK) {
		assert_true(standin_count(S, STANDIN_EP_BATCH, 202) > 0);
		assert_int_equal(log_count("using /runs/batch"), 1);
	}
	if (fc->expect == EXPECT_SPLIT) {
		assert_true(standin_count(S, STANDIN_EP_MULTIPART, 413) > 0);
	}
	if (fc->f.status != 0 && fc->expect == EXPECT_ALL) {
		// The fault fired and was retried through.
		assert_true(s.langsmith_requests_retried > 0);
	}
	assert_int_equal(log_count(KEY), 0);
}

static void
test_fault_matrix(void **state)
{
	(void) state;
	static const fault_case cases[] = {
		{ "none", { .ep = STANDIN_EP_ANY }, 0, EXPECT_ALL },
		{ "429 Retry-After: 1",
		    { .ep = STANDIN_EP_MULTIPART,
		        .status = 429,
		        .retry_after = 1,
		        .times = 2 },
		    0, EXPECT_ALL },
		{ "429 without Retry-After",
		    { .ep = STANDIN_EP_MULTIPART, .status = 429, .times = 1 },
		    0, EXPECT_ALL },
		{ "500 three times",
		    { .ep = STANDIN_EP_MULTIPART, .status = 500, .times = 3 },
		    0, EXPECT_ALL },
		{ "502 every 2nd request",
		    { .ep = STANDIN_EP_MULTIPART,
		        .status = 502,
		        .times = -1,
		        .every = 2 },
		    0, EXPECT_ALL },
		{ "503 twice",
		    { .ep = STANDIN_EP_MULTIPART, .status = 503, .times = 2 },
		    0, EXPECT_ALL },
		{ "425 once",
		    { .ep = STANDIN_EP_MULTIPART, .status = 425, .times = 1 },
		    0, EXPECT_ALL },
		{ "408 once",
		    { .ep = STANDIN_EP_MULTIPART, .status = 408, .times = 1 },
		    0, EXPECT_ALL },
		{ "connection reset x3",
		    { .ep = STANDIN_EP_MULTIPART, .reset = 1, .times = 3 }, 0,
		    EXPECT_ALL },
		{ "500 after storing x2",
		    { .ep = STANDIN_EP_MULTIPART,
		        .status = 500,
		        .after_store = 1,
		        .times = 2 },
		    0, EXPECT_ALL },
		{ "reset after storing",
		    { .ep = STANDIN_EP_MULTIPART,
		        .reset = 1,
		        .after_store = 1,
		        .times = 1 },
		    0, EXPECT_ALL },
		{ "slow answers",
		    { .ep = STANDIN_EP_MULTIPART,
		        .delay_ms = 400,
		        .times = 4 },
		    0, EXPECT_ALL },
		{ "404 on multipart",
		    { .ep = STANDIN_EP_MULTIPART, .status = 404, .times = -1 },
		    0, EXPECT_FALLBACK },
		{ "405 on multipart",
		    { .ep = STANDIN_EP_MULTIPART, .status = 405, .times = -1 },
		    0, EXPECT_FALLBACK },
		{ "413 over 40 KiB", { .ep = STANDIN_EP_ANY }, 40 << 10,
		    EXPECT_SPLIT },
		{ "401", { .ep = STANDIN_EP_ANY, .status = 401, .times = -1 },
		    0, EXPECT_AUTH },
		{ "403", { .ep = STANDIN_EP_ANY, .status = 403, .times = -1 },
		    0, EXPECT_AUTH },
		{ "422 once",
		    { .ep = STANDIN_EP_MULTIPART, .status = 422, .times = 1 },
		    0, EXPECT_REJECTED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_case(&cases[i]);
	}
}

// ---- a stalled LangSmith: bounded memory, the collector not held up ----

static void
test_stalled_langsmith(void **state)
{
	(void) state;
	llmcost_options o;
	const int waves = 12, per_wave = 50;
	const uint64_t n = (uint64_t) waves * per_wave;
	char id[37];
	standin_fault f
	    = { .ep = STANDIN_EP_MULTIPART, .delay_ms = 4000, .times = -1 };

	LLMCOST_PASS(standin_fault_add(S, &f));
	base_options(&o);
	o.langsmith_queue_batches = 2;
	o.batch_max = per_wave;
	llmcost_client *c = client(&o);
	llmcost__exporter *lx
	    = llmcost__exporter_find(c, &llmcost__exporter_langsmith);
	assert_non_null(lx);
	// Two full batches' worth of calls, however the loop cuts them.
	assert_int_equal(lx->calls_max, 2 * per_wave);

	uint64_t t0 = llmcost__mono_ns();
	uint32_t max_held = 0;
	for (int w = 0; w < waves; w++) {
		for (int i = 0; i < per_wave; i++) {
			call(c, "openai", "gpt-4o-mini", "f", NULL,
			    LLMCOST_STATUS_OK, id);
		}
		// Each wave its own batch.
		harness_sleep_ms(60);
		pthread_mutex_lock(&c->mtx);
		max_held = lx->calls_held > max_held
		    ? (uint32_t) lx->calls_held
		    : max_held;
		pthread_mutex_unlock(&c->mtx);
	}
	// The collector has every call while LangSmith's first request is
	// still stalled.
	llmcost_stats s;
	for (int i = 0; i < 3000; i++) {
		LLMCOST_PASS(llmcost_stats_get(c, &s));
		if (s.calls_acked == n) {
			break;
		}
		harness_sleep_ms(1);
	}
	uint64_t t_collector = llmcost__mono_ns() - t0;
	assert_int_equal(s.calls_acked, n);
	uint64_t runs_then = standin_runs(S);
	assert_true(runs_then < n);
	assert_true(max_held <= 2u * per_wave);

	LLMCOST_PASS(llmcost_flush(c, 120000));
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	uint64_t t_all = llmcost__mono_ns() - t0;
	llmcost_shutdown(c, 5000);
	fprintf(stderr,
	    "# stalled LangSmith: collector had all %llu calls after %.0f ms "
	    "(LangSmith had %llu); LangSmith settled after %.0f ms: %llu "
	    "acked, %llu missed (queue full)\n",
	    (unsigned long long) n, t_collector / 1e6,
	    (unsigned long long) runs_then, t_all / 1e6,
	    (unsigned long long) s.langsmith_runs_acked,
	    (unsigned long long) s.langsmith_dropped_queue);
	// Memory stayed bounded: what did not fit was dropped and counted.
	assert_true(s.langsmith_dropped_queue > 0);
	assert_int_equal(
	    s.langsmith_runs_acked + s.langsmith_dropped_queue, n);
	assert_int_equal(standin_runs(S), s.langsmith_runs_acked);
	assert_int_equal(s.calls_dropped, 0);
}

// ---- a dead or silent collector: LangSmith still gets every call ----

#define AWAY_CALLS 300 // per thread

typedef struct away_loader {
	llmcost_client *c;
	char ids[AWAY_CALLS][37];
	uint64_t full; // call_begin answered LLMCOST_EFULL (counted drops)
	int stuck;     // the pool stayed full: the loop stopped draining
} away_loader;

// Like call(), but counts the EFULL answers (each is a drop in
// llmcost_stats) and gives up, flagging it, when the pool stays full.
static void *
away_main(void *arg)
{
	away_loader *l = arg;
	for (int i = 0; i < AWAY_CALLS; i++) {
		llmcost_call *k = NULL;
		int rv;
		int tries = 0;
		while ((rv = llmcost_call_begin(
		            l->c, "openai", "gpt-4o-mini", &k))
		    == LLMCOST_EFULL) {
			l->full++;
			if (++tries > 10000) {
				l->stuck = 1;
				return (NULL);
			}
			harness_sleep_ms(1);
		}
		if (rv != 0 || llmcost_call_run_id(k, l->ids[i], 37) != 0
		    || llmcost_call_end(k) != 0) {
			l->stuck = 1;
			return (NULL);
		}
	}
	return (NULL);
}

// A TCP port on 127.0.0.1: with listen 1, a socket that accepts
// connections (the kernel's backlog) and never answers; with 0, a port
// nothing listens on.  Returns the socket (-1 when closed).
static int
away_port(int listening, char *url, size_t sz)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	snprintf(url, sz, "tcp://127.0.0.1:%u", ntohs(a.sin_port));
	if (listening) {
		assert_int_equal(listen(fd, 64), 0);
		return (fd);
	}
	close(fd);
	return (-1);
}

static void
away_case(int listening)
{
	static away_loader ls[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	llmcost_options o;
	char url[64];
	const uint64_t n = (uint64_t) LOAD_THREADS * AWAY_CALLS;
	const char *what = listening ? "silent collector" : "no collector";

	reset_each(NULL);
	int fd = away_port(listening, url, sizeof(url));
	base_options(&o);
	o.collector_url = url;
	o.queue_max = 64;
	o.batch_max = 16;
	o.langsmith_queue_batches = 16;
	llmcost_client *c = client(&o);
	memset(ls, 0, sizeof(ls));
	for (int t = 0; t < LOAD_THREADS; t++) {
		ls[t].c = c;
		assert_int_equal(
		    pthread_create(&th[t], NULL, away_main, &ls[t]), 0);
	}
	uint64_t full = 0;
	for (int t = 0; t < LOAD_THREADS; t++) {
		pthread_join(th[t], NULL);
		if (ls[t].stuck) {
			fail_msg(
			    "%s: the pool stayed full for 10 s: LangSmith "
			    "got %llu runs",
			    what, (unsigned long long) standin_runs(S));
		}
		full += ls[t].full;
	}
	llmcost_stats s;
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	fprintf(stderr,
	    "# %s: %llu calls, %llu EFULL answers, %llu dropped for the "
	    "collector, LangSmith has %llu\n",
	    what, (unsigned long long) n, (unsigned long long) full,
	    (unsigned long long) (s.calls_dropped - full),
	    (unsigned long long) standin_runs(S));
	assert_int_equal(s.calls_acked, 0);
	// Every call but what the ring and the collector exporter may still
	// hold (LLMCOST__COLLECTOR_HOLD bytes of batches, each call at
	// least its record, plus one batch) went to LangSmith alone and
	// counts as dropped for the collector (on top of the refused
	// call_begins).
	uint64_t hold = LLMCOST__COLLECTOR_HOLD(o.queue_max)
	        / sizeof(llmcost_proto_record)
	    + o.batch_max;
	assert_true(n > o.queue_max + hold);
	assert_true(s.calls_dropped >= full);
	assert_true(s.calls_dropped - full >= n - o.queue_max - hold);
	assert_true(s.calls_dropped - full <= n);
	assert_int_equal(s.langsmith_dropped_queue, 0);
	// Shutdown hands LangSmith the rest, once the collector has held its
	// batch for a second.
	llmcost_shutdown(c, 3000);
	if (fd >= 0) {
		close(fd);
	}
	uint64_t found = 0;
	for (int t = 0; t < LOAD_THREADS; t++) {
		for (int i = 0; i < AWAY_CALLS; i++) {
			char *text = NULL;
			if (standin_run_json(S, ls[t].ids[i], &text) == 0) {
				found++;
				free(text);
			}
		}
	}
	if (found != n || standin_runs(S) != n) {
		fail_msg("%s: LangSmith has %llu of %llu runs (%llu in all)",
		    what, (unsigned long long) found, (unsigned long long) n,
		    (unsigned long long) standin_runs(S));
	}
	assert_int_equal(standin_duplicates(S), 0);
}

static void
test_collector_away(void **state)
{
	(void) state;
	away_case(0);
	away_case(1);
}

static void *
cont_main(void *arg)
{
	(void) arg;
	harness_sleep_ms(1500);
	(void) kill(daemon_pid, SIGCONT);
	return (NULL);
}

// A collector that answers late, but well within the shutdown's time,
// gets every call: what is left in the ring goes to LangSmith alone only
// once the collector has held its batch for half the shutdown's timeout.
// The daemon is stopped while the calls are made (four batches in
// flight, the rest in the ring) and continued 1.5 s into a 10 s shutdown.
static void
test_slow_collector_at_shutdown(void **state)
{
	enum { N = 50 };
	static char ids[N][37];
	llmcost_options o;
	pthread_t th;

	(void) state;
	base_options(&o);
	o.queue_max = 64;
	o.batch_max = 8;
	llmcost_client *c = client(&o);
	assert_int_equal(kill(daemon_pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		call(c, "openai", "gpt-4o-mini", "slow", NULL,
		    LLMCOST_STATUS_OK, ids[i]);
	}
	assert_int_equal(pthread_create(&th, NULL, cont_main, NULL), 0);
	llmcost_shutdown(c, 10000);
	pthread_join(th, NULL);
	int missing = 0;
	for (int i = 0; i < N; i++) {
		missing += !collector_has(ids[i]);
	}
	if (missing != 0 || standin_runs(S) != N) {
		fail_msg("the collector lacks %d of %d calls; LangSmith has "
		         "%llu",
		    missing, N, (unsigned long long) standin_runs(S));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_runs_exact, reset_each),
		cmocka_unit_test_setup(test_scopes, reset_each),
		cmocka_unit_test_setup(test_environment, reset_each),
		cmocka_unit_test_setup(test_fault_matrix, reset_each),
		cmocka_unit_test_setup(test_stalled_langsmith, reset_each),
		cmocka_unit_test_setup(test_collector_away, reset_each),
		cmocka_unit_test_setup(
		    test_slow_collector_at_shutdown, reset_each),
		cmocka_unit_test_setup(test_gzip, reset_each),
		cmocka_unit_test_setup(
		    test_times_follow_the_clock, reset_each),
		cmocka_unit_test_setup(test_text, reset_each),
	};

	if (getenv("TMP_FILTER")) {
		cmocka_set_test_filter(getenv("TMP_FILTER"));
	}
	return (cmocka_run_group_tests(tests, setup, teardown));
}
