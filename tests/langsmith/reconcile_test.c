// `llmcost reconcile` end to end: libllmcost sends every call to a real
// llmcostd and, through its LangSmith exporter, to the strict stand-in;
// the real `llmcost` binary then reconciles the two over real HTTP.
// With nothing injected every run matches and it exits 0; each injected
// discrepancy is found and classified: a run LangSmith lost, one only in
// LangSmith, token counts changed after the fact, another price for one
// model, ingest lag (the settle time), costs served as strings, the v1
// query when v2 is missing, group_by refused (one stats call per group),
// and 429/500/503 answers before success.  The API key never shows.
// A LangSmith that keeps failing is given up within --timeout, and an
// endpoint where nothing listens after a few sends, with advice.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "harness.h"
#include "llmcost.h"
#include "llmcost_common.h"
#include "standin.h"
#include "store.h"
#include "test_env.h"
#include "testutil.h"

#define KEY     "lsv2_pt_reconcile_secret_9d41"
#define PROJECT "llmcost-reconcile-test"

static standin *S;
static char *dir;
static char url[600];
static pid_t daemon_pid = -1;
static char csv_path[700];

// ---- fixtures ----

static int
setup(void **state)
{
	standin_options o = { .api_key = KEY };

	(void) state;
	langsmith_test_clean_env();
	return (standin_start(&o, &S) == 0 ? 0 : -1);
}

static int
teardown(void **state)
{
	(void) state;
	standin_stop(S);
	return (0);
}

// A fresh collector and a clean stand-in for every test.
static int
each_up(void **state)
{
	(void) state;
	if (standin_restore(S) != 0) {
		return (-1);
	}
	daemon_pid = harness_daemon_tmp(&dir, url, sizeof(url));
	if (daemon_pid <= 0) {
		return (-1);
	}
	snprintf(csv_path, sizeof(csv_path), "%s/diff.csv", dir);
	return (0);
}

static int
each_down(void **state)
{
	(void) state;
	(void) harness_daemon_stop(daemon_pid, SIGTERM);
	daemon_pid = -1;
	harness_rmdir(dir);
	dir = NULL;
	return (0);
}

static llmcost_client *
client(void)
{
	llmcost_options o;
	llmcost_client *c = NULL;

	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 20;
	o.langsmith_api_key = KEY;
	o.langsmith_endpoint = standin_url(S);
	o.langsmith_project = PROJECT;
	LLMCOST_PASS(llmcost_init(&c, &o));
	return (c);
}

// One call of model with feature, in and out tokens; its id into id.
static void
call(llmcost_client *c, const char *provider, const char *model,
    const char *feature, uint64_t in, uint64_t out, char id[37])
{
	llmcost_call *k = NULL;
	llmcost_usage u;

	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = in;
	u.tokens[LLMCOST_OUT_TEXT] = out;
	LLMCOST_PASS(llmcost_call_begin(c, provider, model, &k));
	LLMCOST_PASS(llmcost_call_set_meta(k, "feature", feature));
	LLMCOST_PASS(
	    llmcost_call_set_meta(k, "team", in % 2 ? "red" : "blue"));
	LLMCOST_PASS(llmcost_call_set_usage(k, &u));
	if (id != NULL) {
		LLMCOST_PASS(llmcost_call_run_id(k, id, 37));
	}
	LLMCOST_PASS(llmcost_call_end(k));
}

// n calls over three features and two models, flushed to both sides.
static void
calls(llmcost_client *c, int n)
{
	static const char *const feats[] = { "summarize", "chat", "search" };

	for (int i = 0; i < n; i++) {
		if (i % 4 == 3) {
			call(c, "anthropic", "claude-haiku-4-5", feats[i % 3],
			    200 + (uint64_t) i, 40, NULL);
		} else {
			call(c, "openai", "gpt-4o-mini", feats[i % 3],
			    1000 + (uint64_t) i, 100 + (uint64_t) i, NULL);
		}
	}
	LLMCOST_PASS(llmcost_flush(c, 30000));
}

// Shuts c down, after which the stand-in holds runs runs.
static void
shut_down(llmcost_client *c, int runs)
{
	llmcost_shutdown(c, 5000);
	assert_int_equal(standin_runs(S), runs);
}

// A client of its own sends n calls (as calls()) and shuts down; the
// stand-in then holds every one of them.
static void
send_calls(int n)
{
	llmcost_client *c = client();

	calls(c, n);
	shut_down(c, n);
}

// Runs `llmcost reconcile` over the last hour with settle 0 (unless the
// extra arguments say otherwise) and --json; *out gets its parsed stdout.
// Returns the exit status.  The key is never in its output.
static int
reconcile(const char *const *extra, json_t **out)
{
	// Pages of 7 runs: every test pages through LangSmith's answers.
	const char *argv[32] = { harness_cli_bin(), "reconcile", "--project",
		PROJECT, "--since", "1h", "--data-dir", dir, "--json", "--csv",
		csv_path, "--page-size", "7" };
	size_t n = 13;
	int has_settle = 0;
	char *o = NULL, *e = NULL;
	json_error_t je;

	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		has_settle |= strcmp(extra[i], "--settle") == 0;
		argv[n++] = extra[i];
	}
	if (!has_settle) {
		argv[n++] = "--settle";
		argv[n++] = "0";
	}
	argv[n] = NULL;
	setenv("LANGSMITH_API_KEY", KEY, 1);
	setenv("LANGSMITH_ENDPOINT", standin_url(S), 1);
	int rc = harness_run(argv, &o, &e);
	unsetenv("LANGSMITH_API_KEY");
	unsetenv("LANGSMITH_ENDPOINT");
	assert_non_null(o);
	assert_non_null(e);
	if (strstr(o, KEY) != NULL || strstr(e, KEY) != NULL) {
		fail_msg("the API key was printed");
	}
	*out = json_loads(o, 0, &je);
	if (*out == NULL) {
		fail_msg("exit %d, not JSON: %s\nstderr: %s", rc, o, e);
	}
	free(o);
	free(e);
	return (rc);
}

// `llmcost reconcile` over the last hour of this test's store and
// project, as text for people (test_errors changes [3] and [9]).
#define RECONCILE_TEXT_ARGV                                                   \
	{                                                                     \
		harness_cli_bin(), "reconcile", "--project", PROJECT,         \
		    "--since", "1h", "--data-dir", dir, "--settle", "0", NULL \
	}

// The same, as text for people: *out gets stdout (free it).
static int
reconcile_text(char **out)
{
	const char *argv[] = RECONCILE_TEXT_ARGV;
	char *e = NULL;

	setenv("LANGSMITH_API_KEY", KEY, 1);
	setenv("LANGSMITH_ENDPOINT", standin_url(S), 1);
	int rc = harness_run(argv, out, &e);
	unsetenv("LANGSMITH_API_KEY");
	unsetenv("LANGSMITH_ENDPOINT");
	assert_non_null(*out);
	assert_non_null(e);
	assert_null(strstr(*out, KEY));
	assert_null(strstr(e, KEY));
	free(e);
	return (rc);
}

static json_int_t
jint(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b != NULL) {
		v = json_object_get(v, b);
	}
	if (!json_is_integer(v)) {
		fail_msg("%s.%s is not an integer", a, b ? b : "");
	}
	return (json_integer_value(v));
}

static json_int_t
diff(json_t *j, const char *kind)
{
	json_t *v = json_object_get(
	    json_object_get(json_object_get(j, "runs"), "differences"), kind);
	if (!json_is_integer(v)) {
		fail_msg("runs.differences.%s is missing", kind);
	}
	return (json_integer_value(v));
}

// The group called name in the totals.
static json_t *
group(json_t *j, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(json_object_get(j, "groups"), i, g)
	{
		const char *n = json_string_value(json_object_get(g, "name"));
		if (n != NULL && strcmp(n, name) == 0) {
			return (g);
		}
	}
	fail_msg("no group %s", name);
	return (NULL);
}

// Every group agrees to the call and the token, and is "fine".
static void
groups_agree(json_t *j, int ngroups)
{
	size_t i;
	json_t *g;

	assert_int_equal(
	    json_array_size(json_object_get(j, "groups")), ngroups);
	json_array_foreach(json_object_get(j, "groups"), i, g)
	{
		json_t *l = json_object_get(g, "local");
		json_t *x = json_object_get(g, "langsmith");
		if (!json_equal(l, x)) {
			char *a = json_dumps(g, JSON_COMPACT);
			fail_msg("group differs: %s", a);
		}
		assert_string_equal(
		    json_string_value(json_object_get(g, "verdict")), "fine");
	}
}

// The number of CSV rows (header excluded) of kind, and of those
// explained ("yes").
static int
csv_rows(const char *kind, int *explained)
{
	FILE *f = fopen(csv_path, "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	*explained = 0;
	assert_non_null(fgets(line, sizeof(line), f));
	assert_true(strncmp(line, "kind,run_id,start_time,feature,", 31) == 0);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t k = strlen(kind);
		if (strncmp(line, kind, k) == 0 && line[k] == ',') {
			n++;
			*explained += strstr(line, ",yes,") != NULL;
		}
	}
	fclose(f);
	return (n);
}

// The CSV lines that contain needle.
static int
csv_has(const char *needle)
{
	FILE *f = fopen(csv_path, "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n += strstr(line, needle) != NULL;
	}
	fclose(f);
	return (n);
}

static int
csv_total(void)
{
	FILE *f = fopen(csv_path, "r");
	char line[4096];
	int n = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
	}
	fclose(f);
	return (n);
}

// ---- tests ----

// Nothing injected: every run matches, every group is fine, exit 0.
static void
test_agree(void **state)
{
	json_t *j;

	(void) state;
	send_calls(40);

	assert_int_equal(reconcile(NULL, &j), 0);
	assert_int_equal(jint(j, "runs", "local"), 40);
	assert_int_equal(jint(j, "runs", "langsmith"), 40);
	assert_int_equal(jint(j, "runs", "matched"), 40);
	assert_int_equal(jint(j, "unexplained", NULL), 0);
	assert_string_equal(
	    json_string_value(json_object_get(j, "query")), "v2");
	groups_agree(j, 3);
	json_t *g = group(j, "summarize");
	assert_int_equal(jint(g, "local", "calls"), 14);
	assert_int_equal(csv_total(), 0);
	json_decref(j);

	// By any metadata key: the query engine here, group_by there.
	const char *extra[] = { "--by", "meta.team", NULL };
	assert_int_equal(reconcile(extra, &j), 0);
	groups_agree(j, 2);
	assert_int_equal(jint(group(j, "red"), "local", "calls"), 20);
	assert_string_equal(
	    json_string_value(json_object_get(j, "by")), "meta.team");
	json_decref(j);
}

// A window without runs on either side (the project has runs, all of
// them later): nothing to match, nothing to explain, exit 0, an empty
// CSV.  Every list of runs is empty here, so the sanitizer build checks
// that no empty list reaches qsort or bsearch as a null pointer.
static void
test_empty_window(void **state)
{
	json_t *j;

	(void) state;
	send_calls(5);

	const char *extra[]
	    = { "--since", "2020-01-01", "--until", "2020-01-02", NULL };
	assert_int_equal(reconcile(extra, &j), 0);
	assert_int_equal(jint(j, "runs", "local"), 0);
	assert_int_equal(jint(j, "runs", "langsmith"), 0);
	assert_int_equal(jint(j, "runs", "matched"), 0);
	assert_int_equal(jint(j, "unexplained", NULL), 0);
	assert_int_equal(csv_total(), 0);
	json_decref(j);

	// By metadata: LangSmith's group_by over no runs.
	const char *by[] = { "--since", "2020-01-01", "--until", "2020-01-02",
		"--by", "meta.team", NULL };
	assert_int_equal(reconcile(by, &j), 0);
	assert_int_equal(jint(j, "runs", "matched"), 0);
	json_decref(j);
}

// The exporter losses the collector has stored, once it has any (waits
// up to 20 s for the report to arrive).
static uint64_t
exporter_drops_stored(void)
{
	uint64_t n = 0;

	for (int i = 0; i < 2000 && n == 0; i++) {
		store *st = NULL;
		store_rtxn *t = NULL;
		char err[STORE_ERR_MAX];
		LLMCOST_PASS(
		    store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err)));
		LLMCOST_PASS(store_read_begin(st, &t));
		LLMCOST_PASS(store_exporter_drops(t, 0, UINT32_MAX, &n));
		store_read_end(t);
		store_close(st);
		if (n == 0) {
			harness_sleep_ms(10);
		}
	}
	return (n);
}

// A model LangSmith's price map lacks: its runs have null costs there,
// found as unpriced in LangSmith (a price table gap: explained).
static void
test_unpriced_in_langsmith(void **state)
{
	json_t *j;
	int ex;

	(void) state;
	llmcost_client *c = client();
	calls(c, 6);
	for (int i = 0; i < 3; i++) {
		call(c, "openai", "gpt-4.1", "chat", 100, 10, NULL);
	}
	llmcost_shutdown(c, 5000);

	assert_int_equal(reconcile(NULL, &j), 0);
	assert_int_equal(diff(j, "unpriced_in_langsmith"), 3);
	assert_int_equal(diff(j, "price"), 0);
	assert_int_equal(jint(j, "runs", "matched"), 9);
	assert_int_equal(csv_rows("unpriced_in_langsmith", &ex), 3);
	assert_int_equal(ex, 3);
	json_decref(j);
}

// Ten calls, then one whose request the stand-in answers with status
// (its id into id unless NULL), all flushed; returns the client.
static llmcost_client *
calls_with_fault(int status, char id[37])
{
	standin_fault f = { .ep = STANDIN_EP_MULTIPART, .status = status };
	llmcost_client *c = client();

	calls(c, 10);
	LLMCOST_PASS(standin_fault_add(S, &f));
	call(c, "openai", "gpt-4o-mini", "chat", 500, 50, id);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	return (c);
}

// LangSmith refuses one request (422): the exporter drops its run and
// counts it; the shim reports the count to the collector (proto batch
// element 6), and reconcile gives it as the cause: explained, exit 0.
static void
test_dropped_by_exporter(void **state)
{
	llmcost_stats st;
	json_t *j;
	int ex;

	(void) state;
	llmcost_client *c = calls_with_fault(422, NULL);
	LLMCOST_PASS(llmcost_stats_get(c, &st));
	assert_int_equal(st.langsmith_dropped_rejected, 1);
	// With no call left to send, the shim reports the loss in an empty
	// batch of its own.
	assert_int_equal(exporter_drops_stored(), 1);
	calls(c, 5);
	shut_down(c, 15);

	assert_int_equal(reconcile(NULL, &j), 0);
	assert_int_equal(diff(j, "missing_in_langsmith"), 1);
	assert_int_equal(jint(j, "drops", "exporter"), 1);
	assert_int_equal(jint(j, "unexplained", NULL), 0);
	assert_int_equal(csv_rows("missing_in_langsmith", &ex), 1);
	assert_int_equal(ex, 1);
	json_decref(j);
}

// The stand-in answers 202 to one request and keeps nothing: a run lost
// inside LangSmith, with no exporter drop to explain it.
static void
test_lost_in_langsmith(void **state)
{
	char lost[37];
	json_t *j;
	int ex;

	(void) state;
	llmcost_client *c = calls_with_fault(202, lost);
	calls(c, 10);
	shut_down(c, 20);

	assert_int_equal(reconcile(NULL, &j), 3);
	assert_int_equal(diff(j, "missing_in_langsmith"), 1);
	assert_int_equal(diff(j, "missing_locally"), 0);
	assert_int_equal(jint(j, "unexplained", NULL), 1);
	assert_int_equal(jint(j, "runs", "matched"), 20);
	assert_int_equal(csv_rows("missing_in_langsmith", &ex), 1);
	assert_int_equal(ex, 0);
	json_decref(j);
}

// A run sent to LangSmith by something else: only in LangSmith.
static void
test_only_in_langsmith(void **state)
{
	char body[2048], id[37], t0[LLMCOST_LS_TIME_STR_LEN];
	char t1[LLMCOST_LS_TIME_STR_LEN];
	uint8_t raw[16];
	http_resp r;
	json_t *j;
	int ex;

	(void) state;
	send_calls(12);
	int64_t now = (int64_t) (llmcost__now_ns() / 1000) - 2000000;
	// A UUIDv7-shaped id of now, as the SDKs mint them.
	uint64_t ms = (uint64_t) now / 1000;
	for (int i = 0; i < 6; i++) {
		raw[i] = (uint8_t) (ms >> (40 - 8 * i));
	}
	memcpy(raw + 6, "\x70\x01\x80\x02\x03\x04\x05\x06\x07\x08", 10);
	llmcost__uuid_str(raw, id);
	llmcost_ls_time_format(now, 1, t0);
	llmcost_ls_time_format(now + 1000, 1, t1);
	snprintf(body, sizeof(body),
	    "{\"id\":\"%s\",\"name\":\"ChatOpenAI\",\"run_type\":\"llm\","
	    "\"start_time\":\"%s\",\"end_time\":\"%s\",\"session_name\":"
	    "\"%s\",\"extra\":{\"metadata\":{\"feature\":\"chat\","
	    "\"ls_provider\":\"openai\",\"ls_model_name\":\"gpt-4o-mini\"}},"
	    "\"outputs\":{\"usage_metadata\":{\"input_tokens\":77,"
	    "\"output_tokens\":7,\"total_tokens\":84}}}",
	    id, t0, t1, PROJECT);
	assert_int_equal(
	    http_post_json(standin_url(S), "/runs", KEY, body, &r), 0);
	assert_int_equal(r.status, 202);
	http_resp_free(&r);

	assert_int_equal(reconcile(NULL, &j), 3);
	assert_int_equal(diff(j, "missing_locally"), 1);
	assert_int_equal(diff(j, "missing_in_langsmith"), 0);
	assert_int_equal(jint(j, "runs", "langsmith"), 13);
	assert_int_equal(jint(j, "drops", "collector"), 0);
	// The totals see it too: chat has one more call in LangSmith.
	json_t *g = group(j, "chat");
	assert_int_equal(
	    jint(g, "langsmith", "calls"), jint(g, "local", "calls") + 1);
	assert_int_equal(csv_rows("missing_locally", &ex), 1);
	assert_int_equal(ex, 0);
	json_decref(j);
}

// Usage patched in LangSmith after the run was sent: token mismatches,
// by field, unexplained; the cost (fixed at finalization) still agrees.
static void
test_tokens_altered(void **state)
{
	char id[37], u[700], body[256];
	const char *hdr[]
	    = { "x-api-key: " KEY, "Content-Type: application/json", NULL };
	http_resp r;
	json_t *j;
	int ex;

	(void) state;
	llmcost_client *c = client();
	calls(c, 8);
	call(c, "openai", "gpt-4o-mini", "search", 3000, 300, id);
	llmcost_shutdown(c, 5000);

	snprintf(u, sizeof(u), "%s/runs/%s", standin_url(S), id);
	snprintf(body, sizeof(body),
	    "{\"outputs\":{\"usage_metadata\":{\"input_tokens\":3100,"
	    "\"output_tokens\":300,\"total_tokens\":3400}}}");
	assert_int_equal(
	    http_do("PATCH", u, hdr, body, strlen(body), 0, 0, &r), 0);
	assert_int_equal(r.status, 202);
	http_resp_free(&r);

	assert_int_equal(reconcile(NULL, &j), 3);
	assert_int_equal(diff(j, "tokens"), 1);
	assert_int_equal(diff(j, "price"), 0);
	assert_int_equal(jint(j, "runs", "matched"), 9);
	json_t *tf
	    = json_object_get(json_object_get(j, "runs"), "token_fields");
	assert_int_equal(
	    json_integer_value(json_object_get(tf, "input_tokens")), 1);
	assert_null(json_object_get(tf, "output_tokens"));
	assert_int_equal(csv_rows("tokens", &ex), 1);
	json_decref(j);
}

// LangSmith prices one model at twice our price: the same tokens, another
// cost, explained by price; the group's cost is over 20 % off.
static void
test_price(void **state)
{
	static const char map[]
	    = "[{\"name\":\"gpt-4o-mini\",\"provider\":\"openai\","
	      "\"match_pattern\":\"^gpt-4o-mini$\","
	      "\"input_per_million\":\"0.30\","
	      "\"output_per_million\":\"1.20\"},"
	      "{\"name\":\"claude-haiku-4-5\",\"provider\":\"anthropic\","
	      "\"match_pattern\":\"^claude-haiku-4-5$\","
	      "\"input_per_million\":\"1.00\","
	      "\"output_per_million\":\"5.00\"}]";
	json_t *j;
	int ex;

	(void) state;
	LLMCOST_PASS(standin_set_prices(S, map));
	send_calls(16); // 12 gpt-4o-mini, 4 claude-haiku-4-5

	assert_int_equal(reconcile(NULL, &j), 0);
	assert_int_equal(diff(j, "price"), 12);
	assert_int_equal(diff(j, "tokens"), 0);
	assert_int_equal(jint(j, "unexplained", NULL), 0);
	json_t *m = json_array_get(
	    json_object_get(json_object_get(j, "runs"), "price_by_model"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(m, "model")), "gpt-4o-mini");
	assert_int_equal(jint(m, "runs", NULL), 12);
	json_t *g = group(j, "chat"); // 4 gpt-4o-mini, 1 claude (i = 3)
	const char *v = json_string_value(json_object_get(g, "verdict"));
	assert_string_equal(v, "over 20 %: check the price table");
	assert_int_equal(csv_rows("price", &ex), 12);
	assert_int_equal(ex, 12);
	// Each row names the prices derived from that run.
	assert_int_equal(csv_has("LangSmith $0.3000 / $1.2000 per 1M input / "
	                         "output tokens, llmcost $0.1500 / $0.6000"),
	    12);
	json_decref(j);

	char *text;
	assert_int_equal(reconcile_text(&text), 0);
	print_message("%s", text);
	assert_non_null(strstr(text, "over 20 %: check the price table"));
	assert_non_null(strstr(text,
	    "LangSmith charges $0.3000 / $1.2000 per 1M input / output "
	    "tokens, llmcost $0.1500 / $0.6000"));
	assert_non_null(strstr(text, "Result: every difference is explained"));
	free(text);
}

// Ingest lag: the newest runs are not visible in LangSmith yet.  Without
// a settle time they are missing; with one that leaves them out, the
// older runs reconcile cleanly.
static void
test_settle(void **state)
{
	json_t *j;
	char settle[32];

	(void) state;
	llmcost_client *c = client();
	calls(c, 10);
	harness_sleep_ms(2500);
	int64_t mid_ms = (int64_t) (llmcost__now_ns() / 1000000);
	harness_sleep_ms(2500);
	standin_set_ingest_lag_ms(S, 600000);
	calls(c, 6);
	shut_down(c, 16);

	assert_int_equal(reconcile(NULL, &j), 3);
	assert_int_equal(diff(j, "missing_in_langsmith"), 6);
	assert_int_equal(jint(j, "runs", "langsmith"), 10);
	json_decref(j);

	// The cut between the two sets, half way: 2.5 s of margin each side.
	int64_t now_ms = (int64_t) (llmcost__now_ns() / 1000000);
	snprintf(
	    settle, sizeof(settle), "%lldms", (long long) (now_ms - mid_ms));
	const char *extra[] = { "--settle", settle, NULL };
	assert_int_equal(reconcile(extra, &j), 0);
	assert_int_equal(jint(j, "runs", "local"), 10);
	assert_int_equal(jint(j, "runs", "matched"), 10);
	assert_int_equal(diff(j, "missing_in_langsmith"), 0);
	groups_agree(j, 3);
	json_decref(j);
}

// Costs served as decimal strings by the v2 query and by stats, then the
// v1 query (strings) when v2 answers 404: still no difference.
static void
test_cost_strings_and_v1(void **state)
{
	standin_fault f
	    = { .ep = STANDIN_EP_QUERY_V2, .status = 404, .times = -1 };
	json_t *j;

	(void) state;
	send_calls(24);

	standin_set_cost_strings(S,
	    STANDIN_COSTS_DEFAULT | STANDIN_COSTS_QUERY_V2
	        | STANDIN_COSTS_STATS);
	assert_int_equal(reconcile(NULL, &j), 0);
	assert_int_equal(jint(j, "runs", "matched"), 24);
	groups_agree(j, 3);
	json_decref(j);

	LLMCOST_PASS(standin_fault_add(S, &f));
	const char *extra[] = { "--by", "model", NULL };
	assert_int_equal(reconcile(extra, &j), 0);
	assert_string_equal(
	    json_string_value(json_object_get(j, "query")), "v1");
	assert_int_equal(jint(j, "runs", "matched"), 24);
	groups_agree(j, 2);
	assert_int_equal(
	    jint(group(j, "claude-haiku-4-5"), "local", "calls"), 6);
	assert_true(standin_count(S, STANDIN_EP_QUERY_V1, 200) >= 1);
	json_decref(j);
}

// group_by refused: one filtered stats call per group, same totals.
static void
test_group_by_refused(void **state)
{
	json_t *j;

	(void) state;
	send_calls(9);
	standin_set_refuse_group_by(S, 1);

	assert_int_equal(reconcile(NULL, &j), 0);
	assert_true(json_is_true(json_object_get(j, "group_by_refused")));
	groups_agree(j, 3);
	// Two ungrouped calls (the total, the refused group_by), then one
	// per group.
	assert_int_equal(standin_count(S, STANDIN_EP_STATS, 400), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_STATS, 200), 1 + 3);
	json_decref(j);
}

// 429 (with Retry-After), 500 and 503 before success, as the exporter
// retries them.
static void
test_retries(void **state)
{
	standin_fault f429
	    = { .ep = STANDIN_EP_STATS, .status = 429, .retry_after = 1 };
	standin_fault f500 = { .ep = STANDIN_EP_QUERY_V2, .status = 500 };
	standin_fault f503 = { .ep = STANDIN_EP_SESSIONS, .status = 503 };
	json_t *j;

	(void) state;
	send_calls(7);
	LLMCOST_PASS(standin_fault_add(S, &f429));
	LLMCOST_PASS(standin_fault_add(S, &f500));
	LLMCOST_PASS(standin_fault_add(S, &f503));

	assert_int_equal(reconcile(NULL, &j), 0);
	assert_int_equal(jint(j, "runs", "matched"), 7);
	groups_agree(j, 3);
	assert_int_equal(standin_count(S, STANDIN_EP_STATS, 429), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_QUERY_V2, 500), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_SESSIONS, 503), 1);
	json_decref(j);
}

// Failures say what is wrong, with the documented status, and never
// print the key: no key (2), a key LangSmith refuses (1), no such
// project (1), a bad --settle (2).
static void
test_errors(void **state)
{
	const char *argv[] = RECONCILE_TEXT_ARGV;
	char *o = NULL, *e = NULL;

	(void) state;
	send_calls(3);

	setenv("LANGSMITH_ENDPOINT", standin_url(S), 1);
	assert_int_equal(harness_run(argv, &o, &e), 2);
	assert_non_null(strstr(e, "LANGSMITH_API_KEY"));
	free(o);
	free(e);

	setenv("LANGSMITH_API_KEY", "lsv2_wrong_key_5150", 1);
	assert_int_equal(harness_run(argv, &o, &e), 1);
	assert_non_null(strstr(e, "HTTP 401"));
	assert_null(strstr(e, "lsv2_wrong_key_5150"));
	assert_null(strstr(o, "lsv2_wrong_key_5150"));
	free(o);
	free(e);

	setenv("LANGSMITH_API_KEY", KEY, 1);
	argv[3] = "no-such-project";
	assert_int_equal(harness_run(argv, &o, &e), 1);
	assert_non_null(strstr(e, "no project named \"no-such-project\""));
	free(o);
	free(e);

	argv[3] = PROJECT;
	argv[9] = "soon";
	assert_int_equal(harness_run(argv, &o, &e), 2);
	assert_non_null(strstr(e, "--settle soon"));
	free(o);
	free(e);
	unsetenv("LANGSMITH_API_KEY");
	unsetenv("LANGSMITH_ENDPOINT");
}

// LangSmith answers 503 to every request: the retries stop at the
// --timeout budget, long before the shared rule's 10 sends (about two
// minutes of backoff), and the message says what to do.
static void
test_timeout(void **state)
{
	standin_fault f503
	    = { .ep = STANDIN_EP_SESSIONS, .status = 503, .times = -1 };
	const char *argv[] = { harness_cli_bin(), "reconcile", "--project",
		PROJECT, "--since", "1h", "--data-dir", dir, "--settle", "0",
		"--timeout", "2s", NULL };
	char *o = NULL, *e = NULL;

	(void) state;
	send_calls(3);
	LLMCOST_PASS(standin_fault_add(S, &f503));

	setenv("LANGSMITH_API_KEY", KEY, 1);
	setenv("LANGSMITH_ENDPOINT", standin_url(S), 1);
	assert_int_equal(harness_run(argv, &o, &e), 1);
	unsetenv("LANGSMITH_API_KEY");
	unsetenv("LANGSMITH_ENDPOINT");
	uint64_t sends = standin_count(S, STANDIN_EP_SESSIONS, 503);
	print_message("503 forever, --timeout 2s: %llu sends; %s",
	    (unsigned long long) sends, e);
	// 500 ms + 1 s of backoff fit in 2 s, the next 2 s do not.
	if (sends < 1 || sends > 3) {
		fail_msg("%llu sends within --timeout 2s, want 1 to 3",
		    (unsigned long long) sends);
	}
	assert_non_null(strstr(e, "HTTP 503"));
	assert_non_null(strstr(e, "raise --timeout"));
	free(o);
	free(e);
}

// Nothing listens at the endpoint (a bound TCP port that is not
// listening refuses every connection, and stays ours meanwhile): the
// command gives up after LSREAD_UNREACHABLE_ATTEMPTS sends, not after
// the shared rule's 10, and says where to look.
static void
test_unreachable(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char ep[64];
	const char *argv[] = { harness_cli_bin(), "reconcile", "--project",
		PROJECT, "--since", "1h", "--data-dir", dir, "--settle", "0",
		"--endpoint", ep, NULL };
	char *o = NULL, *e = NULL;

	(void) state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", ntohs(a.sin_port));

	setenv("LANGSMITH_API_KEY", KEY, 1);
	assert_int_equal(harness_run(argv, &o, &e), 1);
	unsetenv("LANGSMITH_API_KEY");
	close(fd);
	print_message("%s", e);
	assert_non_null(strstr(e, "cannot reach LangSmith"));
	assert_non_null(strstr(e, "3 attempts"));
	assert_non_null(strstr(e, "LANGSMITH_ENDPOINT"));
	free(o);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_agree, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_empty_window, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_lost_in_langsmith, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_dropped_by_exporter, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_only_in_langsmith, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_tokens_altered, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_price, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_unpriced_in_langsmith, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_settle, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_cost_strings_and_v1, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_group_by_refused, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_retries, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_errors, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_timeout, each_up, each_down),
		cmocka_unit_test_setup_teardown(
		    test_unreachable, each_up, each_down),
	};
	return (cmocka_run_group_tests(tests, setup, teardown));
}
