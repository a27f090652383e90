// The LangSmith stand-in over real HTTP (libcurl on loopback): the JS
// SDK's captured requests replayed byte for byte and read back through
// the v1 and v2 queries and stats; every strict-validation rejection with
// its status and reason; deduplication; the JSON ingest endpoints; the
// read API's rules; prices, gzip, size caps and the standalone program.

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <curl/curl.h>

#include "capture.h"
#include "client.h"
#include "standin.h"
#include "testutil.h"

#define KEY       "lsv2_test_key"
#define ID_CHAIN  "01a217b6-4a90-7000-8000-020dce77dd2f"
#define ID_OPENAI "01a217b6-4ac1-7000-8000-00d32f076617"
#define ID_CLAUDE "01a217b6-4ac2-7000-8000-0068899a23fa"
#define ID_GEMINI "01a217b6-4ac3-7000-8000-009da8374415"
#define ID_MINI   "01a217b6-4bec-7000-8000-030576c88e32"

static standin *S;

static int
setup(void **state)
{
	standin_options o = { .api_key = KEY };

	(void) state;
	return (standin_start(&o, &S));
}

static int
teardown(void **state)
{
	(void) state;
	standin_stop(S);
	S = NULL;
	return (0);
}

static int
reset_each(void **state)
{
	(void) state;
	return (standin_restore(S));
}

// ---- support ----

// Replay capture nnn: its method, path and every captured header exactly,
// and its body, chunked when it was captured chunked (chunked = -1) or as
// asked (0: with a Content-Length instead).
static void
replay(const char *nnn, int chunked, http_resp *out)
{
	char name[32];
	size_t len;
	size_t blen;
	char *meta;
	char *body;
	json_t *j;
	json_t *hdrs;
	const char *k;
	json_t *v;
	const char *lines[32];
	char *store[32];
	size_t n = 0;
	char url[256];
	int was_chunked = 0;

	snprintf(name, sizeof(name), "%s.json", nnn);
	meta = capture_read(name, &len);
	snprintf(name, sizeof(name), "%s.body", nnn);
	body = capture_read(name, &blen);
	assert_non_null(j = json_loadb(meta, len, 0, NULL));
	hdrs = json_object_get(j, "headers");
	json_object_foreach(hdrs, k, v)
	{
		if (strcasecmp(k, "transfer-encoding") == 0) {
			was_chunked = 1;
			if (chunked == 0) {
				continue; // send with a Content-Length instead
			}
		}
		assert_true(n < 31);
		store[n] = malloc(strlen(k) + json_string_length(v) + 3);
		sprintf(store[n], "%s: %s", k, json_string_value(v));
		lines[n] = store[n];
		n++;
	}
	lines[n] = NULL;
	snprintf(url, sizeof(url), "%s%s", standin_url(S),
	    json_string_value(json_object_get(j, "path")));
	http_do(json_string_value(json_object_get(j, "method")), url, lines,
	    body, blen, chunked < 0 ? was_chunked : chunked, 0, out);
	for (size_t i = 0; i < n; i++) {
		free(store[i]);
	}
	json_decref(j);
	free(meta);
	free(body);
}

static void
replay_all(void)
{
	static const char *const caps[] = { "001", "002", "003", "004" };
	http_resp r;

	for (size_t i = 0; i < 4; i++) {
		replay(caps[i], -1, &r);
		assert_int_equal(r.curl_rc, CURLE_OK);
		assert_int_equal(r.status, i == 0 ? 200 : 202);
		http_resp_free(&r);
	}
}

// The stored run id (standin_run_json) holds each of the NULL-terminated
// needles.
static void
run_has(const char *id, const char *needle, ...)
{
	char *txt = NULL;
	va_list ap;

	LLMCOST_PASS(standin_run_json(S, id, &txt));
	va_start(ap, needle);
	for (const char *n = needle; n != NULL; n = va_arg(ap, const char *)) {
		if (strstr(txt, n) == NULL) {
			fail_msg("run %s: no %s in %s", id, n, txt);
		}
	}
	va_end(ap);
	free(txt);
}

// POST runs first..first+n-1 (mp_runs) to /runs/multipart, chunked or
// not, and check the status.
static void
post_runs(uint64_t first, int n, int chunked, long want)
{
	http_resp r;

	http_post_runs(standin_url(S), KEY, first, n, chunked, 0, &r);
	if (r.status != want) {
		fail_msg("runs %llu+%d: status %ld, want %ld: %s",
		    (unsigned long long) first, n, r.status, want, r.body);
	}
	http_resp_free(&r);
}

static json_t *
req(const char *method, const char *path, const char *json, long want)
{
	char url[256];
	const char *h[]
	    = { "Content-Type: application/json", "x-api-key: " KEY, NULL };
	http_resp r;
	json_t *j;

	snprintf(url, sizeof(url), "%s%s", standin_url(S), path);
	http_do(method, url, h, json, strlen(json), 0, 0, &r);
	if (r.status != want) {
		fail_msg("%s %s: status %ld, want %ld: %s", method, path,
		    r.status, want, r.body);
	}
	j = http_json(&r);
	http_resp_free(&r);
	return (j);
}

static json_t *
post(const char *path, const char *json, long want)
{
	http_resp r;
	json_t *j;

	http_post_json(standin_url(S), path, KEY, json, &r);
	if (r.status != want) {
		fail_msg("%s: status %ld, want %ld: %s", path, r.status, want,
		    r.body);
	}
	j = http_json(&r);
	http_resp_free(&r);
	return (j);
}

// POST {"session":[sid]<fields>} to path (fields: more members, each
// with its leading comma); as post().
static json_t *
post_session(const char *path, const char *sid, const char *fields, long want)
{
	char body[2048];
	snprintf(body, sizeof(body), "{\"session\":[\"%s\"]%s}", sid, fields);
	return (post(path, body, want));
}

// GET path with the key; checks the status, returns the JSON body.
static json_t *
get(const char *path, long want)
{
	http_resp r;
	json_t *j;

	http_get(standin_url(S), path, KEY, &r);
	if (r.status != want) {
		fail_msg("GET %s: status %ld, want %ld: %s", path, r.status,
		    want, r.body);
	}
	j = http_json(&r);
	http_resp_free(&r);
	return (j);
}

static void
session_id(const char *name, char out[37])
{
	char path[256];
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/sessions?name=%s&limit=1", name);
	j = get(path, 200);
	assert_int_equal(json_array_size(j), 1);
	snprintf(out, 37, "%s",
	    json_string_value(json_object_get(json_array_get(j, 0), "id")));
	json_decref(j);
}

static json_t *
find_by_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "id")), id)
		    == 0) {
			return (v);
		}
	}
	fail_msg("run %s not returned", id);
	return (NULL);
}

#define GET_S(o, k) json_string_value(json_object_get(o, k))
#define GET_I(o, k) json_integer_value(json_object_get(o, k))
#define GET_R(o, k) json_real_value(json_object_get(o, k))

// ---- the captured requests ----

static void
test_replay_v1(void **state)
{
	char sid[37];
	json_t *res;
	json_t *runs;
	json_t *run;
	json_t *um;

	(void) state;
	replay_all();
	assert_int_equal(standin_runs(S), 5);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 202), 3);
	assert_int_equal(standin_count(S, STANDIN_EP_INFO, 200), 1);
	session_id("llmcost-check", sid);

	res = post_session("/api/v1/runs/query", sid, "", 200);
	runs = json_object_get(res, "runs");
	assert_int_equal(json_array_size(runs), 5);
	assert_true(json_is_null(
	    json_object_get(json_object_get(res, "cursors"), "next")));

	// The OpenAI child: ids, order, usage in both places, cost strings.
	run = find_by_id(runs, ID_OPENAI);
	assert_string_equal(GET_S(run, "trace_id"), ID_CHAIN);
	assert_string_equal(GET_S(run, "parent_run_id"), ID_CHAIN);
	assert_string_equal(GET_S(run, "run_type"), "llm");
	assert_string_equal(GET_S(run, "status"), "success");
	assert_string_equal(
	    GET_S(run, "start_time"), "2026-11-26T11:55:52.385002");
	assert_string_equal(
	    GET_S(run, "end_time"), "2026-11-26T11:55:52.385000");
	assert_int_equal(GET_I(run, "prompt_tokens"), 2000);
	assert_int_equal(GET_I(run, "completion_tokens"), 900);
	assert_int_equal(GET_I(run, "total_tokens"), 2900);
	assert_int_equal(
	    GET_I(json_object_get(run, "prompt_token_details"), "cache_read"),
	    1536);
	// o4-mini: 1536 x 0.275 + 464 x 1.10 = 932.8 ; 900 x 4.40 = 3960
	assert_string_equal(GET_S(run, "prompt_cost"), "0.0009328");
	assert_string_equal(GET_S(run, "completion_cost"), "0.00396");
	assert_string_equal(GET_S(run, "total_cost"), "0.0048928");
	assert_string_equal(
	    GET_S(json_object_get(run, "prompt_cost_details"), "cache_read"),
	    "0.0004224");
	um = json_object_get(
	    json_object_get(run, "outputs"), "usage_metadata");
	assert_int_equal(GET_I(um, "input_tokens"), 2000);
	um = json_object_get(
	    json_object_get(json_object_get(run, "extra"), "metadata"),
	    "usage_metadata");
	assert_int_equal(GET_I(um, "output_tokens"), 900);
	assert_string_equal(
	    GET_S(json_object_get(json_object_get(run, "extra"), "metadata"),
	        "feature"),
	    "agent-copilot");
	assert_non_null(GET_S(run, "price_model_id"));

	// Children extend the root's dotted_order and sort after it.
	{
		const char *root
		    = GET_S(find_by_id(runs, ID_CHAIN), "dotted_order");
		const char *c1 = GET_S(run, "dotted_order");
		const char *c2
		    = GET_S(find_by_id(runs, ID_CLAUDE), "dotted_order");

		assert_int_equal(strncmp(c1, root, strlen(root)), 0);
		assert_int_equal(c1[strlen(root)], '.');
		assert_true(strcmp(root, c1) < 0 && strcmp(c1, c2) < 0);
	}

	// Anthropic: cache read and both cache writes priced greedily.
	run = find_by_id(runs, ID_CLAUDE);
	assert_string_equal(GET_S(run, "prompt_cost"), "0.010125");
	assert_string_equal(GET_S(run, "completion_cost"), "0.00465");
	assert_string_equal(GET_S(run, "total_cost"), "0.014775");
	assert_int_equal(GET_I(json_object_get(run, "prompt_token_details"),
	                     "ephemeral_5m_input_tokens"),
	    1500);

	// The failed Gemini call: error, no usage, no cost.
	run = find_by_id(runs, ID_GEMINI);
	assert_string_equal(GET_S(run, "status"), "error");
	assert_string_equal(GET_S(run, "error"), "429 Resource exhausted");
	assert_true(json_is_null(json_object_get(run, "total_cost")));
	assert_int_equal(GET_I(run, "total_tokens"), 0);

	// Posted open, patched with end time and usage: priced at the patch.
	run = find_by_id(runs, ID_MINI);
	assert_string_equal(
	    GET_S(run, "end_time"), "2026-11-26T11:55:53.141000");
	assert_int_equal(GET_I(run, "prompt_tokens"), 812);
	assert_string_equal(GET_S(run, "total_cost"), "0.0001788");
	assert_true(json_is_null(json_object_get(run, "parent_run_id")));

	// The chain: no usage of its own.
	run = find_by_id(runs, ID_CHAIN);
	assert_string_equal(GET_S(run, "run_type"), "chain");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(run, "tags"), 0)),
	    "production");
	assert_true(json_is_null(json_object_get(run, "total_cost")));
	json_decref(res);

	// select and order.
	res = post_session("/runs/query", sid,
	    ",\"select\":[\"name\",\"total_cost\"],\"order\":\"asc\",\"run_"
	    "type\":\"llm\",\"limit\":2",
	    200);
	runs = json_object_get(res, "runs");
	assert_int_equal(json_array_size(runs), 2);
	assert_int_equal(json_object_size(json_array_get(runs, 0)), 3);
	assert_string_equal(GET_S(json_array_get(runs, 0), "id"), ID_OPENAI);
	assert_string_equal(GET_S(json_array_get(runs, 1), "id"), ID_CLAUDE);
	assert_non_null(GET_S(json_object_get(res, "cursors"), "next"));
	{
		char b2[512];
		json_t *r2;

		snprintf(b2, sizeof(b2),
		    "{\"session\":[\"%s\"],\"select\":[\"name\"],\"order\":"
		    "\"asc\",\"run_type\":\"llm\",\"limit\":2,\"cursor\":\"%"
		    "s\"}",
		    sid, GET_S(json_object_get(res, "cursors"), "next"));
		r2 = post("/api/v1/runs/query", b2, 200);
		runs = json_object_get(r2, "runs");
		assert_int_equal(json_array_size(runs), 2);
		assert_string_equal(
		    GET_S(json_array_get(runs, 0), "id"), ID_GEMINI);
		assert_string_equal(
		    GET_S(json_array_get(runs, 1), "id"), ID_MINI);
		assert_true(json_is_null(
		    json_object_get(json_object_get(r2, "cursors"), "next")));
		json_decref(r2);
	}
	json_decref(res);
}

static void
test_replay_v2(void **state)
{
	static const char *const order[]
	    = { ID_CHAIN, ID_OPENAI, ID_CLAUDE, ID_GEMINI, ID_MINI };
	char sid[37];
	char body[1024];
	char cursor[128] = "";
	size_t seen = 0;
	int pages = 0;

	(void) state;
	replay_all();
	session_id("llmcost-check", sid);
	for (;;) {
		json_t *res;
		json_t *items;
		json_t *it;
		size_t i;

		snprintf(body, sizeof(body),
		    "{\"project_ids\":[\"%s\"],\"min_start_time\":"
		    "\"2026-11-26T00:00:00Z\",\"max_start_time\":"
		    "\"2026-11-27T00:00:00Z\",\"selects\":[\"ID\",\"NAME\","
		    "\"RUN_TYPE\",\"STATUS\",\"TOTAL_COST\",\"PROMPT_TOKENS\","
		    "\"PROMPT_TOKEN_DETAILS\",\"METADATA\"],\"page_size\":2,"
		    "\"sort_order\":\"ASC\"%s%s%s}",
		    sid, cursor[0] ? ",\"cursor\":\"" : "", cursor,
		    cursor[0] ? "\"" : "");
		res = post("/api/v2/runs/query", body, 200);
		items = json_object_get(res, "items");
		pages++;
		json_array_foreach(items, i, it)
		{
			assert_true(seen < 5);
			assert_string_equal(GET_S(it, "id"), order[seen]);
			if (strcmp(order[seen], ID_OPENAI) == 0) {
				assert_string_equal(
				    GET_S(it, "run_type"), "LLM");
				assert_string_equal(
				    GET_S(it, "status"), "SUCCESS");
				assert_true(json_is_real(
				    json_object_get(it, "total_cost")));
				assert_true(
				    GET_R(it, "total_cost") == 0.0048928);
				assert_int_equal(
				    GET_I(json_object_get(
				              json_object_get(
				                  it, "prompt_token_details"),
				              "raw"),
				        "cache_read"),
				    1536);
				assert_string_equal(
				    GET_S(json_object_get(it, "metadata"),
				        "ls_model_name"),
				    "o4-mini");
			}
			if (strcmp(order[seen], ID_GEMINI) == 0) {
				assert_string_equal(
				    GET_S(it, "status"), "ERROR");
				assert_true(json_is_null(
				    json_object_get(it, "total_cost")));
			}
			seen++;
		}
		if (!json_is_true(json_object_get(res, "has_more"))) {
			assert_true(
			    json_is_null(json_object_get(res, "next_cursor")));
			json_decref(res);
			break;
		}
		snprintf(
		    cursor, sizeof(cursor), "%s", GET_S(res, "next_cursor"));
		json_decref(res);
		assert_true(pages < 10);
	}
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 3);

	// Without selects, only the id; a filter on one metadata pair.
	snprintf(body, sizeof(body),
	    "{\"project_ids\":[\"%s\"],\"min_start_time\":"
	    "\"2026-11-26T00:00:00Z\",\"max_start_time\":"
	    "\"2026-11-27T00:00:00Z\",\"filter\":\"and(eq(metadata_key, "
	    "'feature'), eq(metadata_value, 'rag-search'))\"}",
	    sid);
	{
		json_t *res = post("/api/v2/runs/query", body, 200);
		json_t *items = json_object_get(res, "items");

		assert_int_equal(json_array_size(items), 1);
		assert_int_equal(
		    json_object_size(json_array_get(items, 0)), 1);
		assert_string_equal(
		    GET_S(json_array_get(items, 0), "id"), ID_MINI);
		json_decref(res);
	}
}

static void
test_replay_stats(void **state)
{
	char sid[37];
	json_t *res;
	json_t *g;

	(void) state;
	replay_all();
	session_id("llmcost-check", sid);

	res = post_session("/api/v1/runs/stats", sid,
	    ",\"run_type\":\"llm\",\"start_time\":\"2026-11-26T00:00:00Z\","
	    "\"end_time\":\"2026-11-27T00:00:00Z\",\"select\":[\"run_count\","
	    "\"total_tokens\",\"prompt_tokens\",\"completion_tokens\",\"total_"
	    "cost\",\"prompt_cost\",\"completion_cost\"],\"group_by\":{"
	    "\"attribute\":\"metadata\",\"path\":\"feature\",\"max_groups\":"
	    "50}",
	    200);
	assert_int_equal(json_object_size(res), 3);
	g = json_object_get(res, "agent-copilot");
	assert_int_equal(GET_I(g, "run_count"), 2);
	assert_int_equal(GET_I(g, "prompt_tokens"), 7200);
	assert_int_equal(GET_I(g, "completion_tokens"), 1210);
	assert_true(GET_R(g, "total_cost") == 0.0196678);
	assert_int_equal(json_object_size(g), 7);
	g = json_object_get(res, "rag-search");
	assert_int_equal(GET_I(g, "run_count"), 1);
	assert_true(GET_R(g, "total_cost") == 0.0001788);
	g = json_object_get(res, "summarizer");
	assert_int_equal(GET_I(g, "run_count"), 1);
	assert_true(json_is_null(json_object_get(g, "total_cost")));
	json_decref(res);

	// Ungrouped, every run type; max_groups keeps the biggest group.
	res = post_session("/runs/stats", sid, "", 200);
	assert_int_equal(GET_I(res, "run_count"), 5);
	assert_int_equal(GET_I(res, "total_tokens"), 2900 + 5510 + 907);
	assert_true(GET_R(res, "error_rate") == 0.2);
	assert_int_equal(
	    GET_I(json_object_get(res, "prompt_token_details"), "cache_read"),
	    1536 + 3000);
	json_decref(res);
	res = post_session("/api/v1/runs/stats", sid,
	    ",\"group_by\":{\"attribute\":\"metadata\",\"path\":\"feature\","
	    "\"max_groups\":1}",
	    200);
	assert_int_equal(json_object_size(res), 1);
	assert_int_equal(
	    GET_I(json_object_get(res, "agent-copilot"), "run_count"), 3);
	json_decref(res);

	// The costs as decimal strings when asked; grouping refused.
	standin_set_cost_strings(S, STANDIN_COSTS_STATS);
	res = post_session("/api/v1/runs/stats", sid,
	    ",\"run_type\":\"llm\",\"filter\":\"eq(metadata_key, "
	    "\\\"feature\\\")\"",
	    200);
	assert_string_equal(GET_S(res, "total_cost"), "0.0198466");
	json_decref(res);
	standin_set_refuse_group_by(S, 1);
	res = post_session("/api/v1/runs/stats", sid,
	    ",\"group_by\":{\"attribute\":\"metadata\",\"path\":\"feature\"}",
	    400);
	assert_non_null(strstr(GET_S(res, "details"), "group_by"));
	json_decref(res);
}

// ---- strict validation ----

// POST a multipart body built from one run JSON; expect status and a
// reason in the error body.
static void
reject(const char *part_name, const char *run, const char *ct, int key,
    long status, const char *reason)
{
	char body[4096];
	char url[256];
	char cth[256];
	const char *h[3] = { cth, key ? "x-api-key: " KEY : NULL, NULL };
	http_resp r;
	json_t *j;
	int n = snprintf(body, sizeof(body),
	    "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
	    "Content-Type: %s\r\n\r\n%s\r\n--XyZ--\r\n",
	    part_name, ct, run);

	snprintf(url, sizeof(url), "%s/runs/multipart", standin_url(S));
	snprintf(cth, sizeof(cth), "Content-Type: %s", MP_CT);
	http_do("POST", url, h, body, (size_t) n, 1, 0, &r);
	if (r.status != status) {
		fail_msg("status %ld, want %ld: %s", r.status, status, r.body);
	}
	j = http_json(&r);
	if (GET_S(j, "details") == NULL
	    || strstr(GET_S(j, "details"), reason) == NULL) {
		fail_msg("error body %s lacks '%s'", r.body, reason);
	}
	json_decref(j);
	http_resp_free(&r);
}

#define RUN_OK                                                                \
	"{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI                     \
	"\",\"dotted_order\":\"20261126T115552684001Z" ID_MINI                \
	"\",\"name\":\"x\",\"run_type\":\"llm\",\"start_time\":"              \
	"\"2026-11-26T11:55:52.684001Z\"}"

static void
test_validation(void **state)
{
	char ct[64];
	char badlen[64];

	(void) state;
	snprintf(
	    ct, sizeof(ct), "application/json; length=%zu", strlen(RUN_OK));
	snprintf(badlen, sizeof(badlen), "application/json; length=%zu",
	    strlen(RUN_OK) - 3);
	// A valid one first, so that reject() is known to build valid requests.
	{
		char body[2048];
		char url[256];
		const char *h[]
		    = { "Content-Type: " MP_CT, "x-api-key: " KEY, NULL };
		http_resp r;
		int n = snprintf(body, sizeof(body),
		    "--XyZ\r\nContent-Disposition: form-data; "
		    "name=\"post." ID_MINI
		    "\"\r\nContent-Type: %s\r\n\r\n%s\r\n--XyZ--\r\n",
		    ct, RUN_OK);

		snprintf(
		    url, sizeof(url), "%s/runs/multipart", standin_url(S));
		http_do("POST", url, h, body, (size_t) n, 1, 0, &r);
		assert_int_equal(r.status, 202);
		http_resp_free(&r);
		assert_int_equal(standin_runs(S), 1);
		standin_reset(S);
	}
	reject("post." ID_MINI, RUN_OK, ct, 0, 401, "missing x-api-key");
	reject("post.01a217b6-4bec-7000-8000-030576c88e3", RUN_OK, ct, 1, 400,
	    "want post.<id>");
	reject("post." ID_MINI, RUN_OK, badlen, 1, 400,
	    "does not end at a boundary");
	reject("post." ID_MINI, RUN_OK, "application/json", 1, 400,
	    "states no size");
	{
		const char *bad_uuid
		    = "{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI
		      "\",\"parent_run_id\":\"not-a-uuid\",\"dotted_order\":"
		      "\"20261126T115552684001Z" ID_MINI
		      "\",\"name\":\"x\",\"run_type\":\"llm\",\"start_time\":"
		      "\"2026-11-26T11:55:52.684001Z\"}";
		const char *bad_dotted
		    = "{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI
		      "\",\"dotted_order\":\"20261126T115552684Z" ID_MINI
		      "\",\"name\":\"x\",\"run_type\":\"llm\",\"start_time\":"
		      "\"2026-11-26T11:55:52.684001Z\"}";
		const char *missing
		    = "{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI
		      "\",\"dotted_order\":\"20261126T115552684001Z" ID_MINI
		      "\",\"name\":\"x\",\"start_time\":"
		      "\"2026-11-26T11:55:52.684001Z\"}";
		const char *inconsistent
		    = "{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_CHAIN
		      "\",\"parent_run_id\":\"" ID_CHAIN
		      "\",\"dotted_order\":\"20261126T115552684001Z" ID_MINI
		      "\",\"name\":\"x\",\"run_type\":\"llm\",\"start_time\":"
		      "\"2026-11-26T11:55:52.684001Z\"}";
		char c2[64];

		snprintf(c2, sizeof(c2), "application/json; length=%zu",
		    strlen(bad_uuid));
		reject("post." ID_MINI, bad_uuid, c2, 1, 422,
		    "parent_run_id: 'not-a-uuid' is not a UUID");
		snprintf(c2, sizeof(c2), "application/json; length=%zu",
		    strlen(bad_dotted));
		reject("post." ID_MINI, bad_dotted, c2, 1, 400,
		    "invalid 'dotted_order'");
		snprintf(c2, sizeof(c2), "application/json; length=%zu",
		    strlen(missing));
		reject(
		    "post." ID_MINI, missing, c2, 1, 422, "run_type: missing");
		snprintf(c2, sizeof(c2), "application/json; length=%zu",
		    strlen(inconsistent));
		reject("post." ID_MINI, inconsistent, c2, 1, 400,
		    "first UUID is not the trace_id");
	}
	assert_int_equal(standin_runs(S), 0);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 401), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 400), 5);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 422), 2);

	// A wrong key; a Bearer token without a workspace; 404 and 405.
	{
		char url[256];
		const char *wrong[] = { "x-api-key: nope", NULL };
		const char *bearer[] = { "Authorization: Bearer abc", NULL };
		http_resp r;

		snprintf(
		    url, sizeof(url), "%s/api/v1/sessions", standin_url(S));
		http_do("GET", url, wrong, NULL, 0, 0, 0, &r);
		assert_int_equal(r.status, 401);
		assert_non_null(strstr(r.body, "invalid API key"));
		http_resp_free(&r);
		http_do("GET", url, bearer, NULL, 0, 0, 0, &r);
		assert_int_equal(r.status, 401);
		assert_non_null(strstr(r.body, "x-tenant-id"));
		http_resp_free(&r);
		snprintf(
		    url, sizeof(url), "%s/runs/multipart", standin_url(S));
		http_do("GET", url, wrong, NULL, 0, 0, 0, &r);
		assert_int_equal(r.status, 405);
		assert_string_equal(r.allow, "POST");
		http_resp_free(&r);
		snprintf(url, sizeof(url), "%s/api/v3/runs", standin_url(S));
		http_do("GET", url, wrong, NULL, 0, 0, 0, &r);
		assert_int_equal(r.status, 404);
		http_resp_free(&r);
		assert_int_equal(standin_count(S, STANDIN_EP_OTHER, 404), 1);
	}
}

static void
test_not_chunked(void **state)
{
	http_resp r;

	(void) state;
	// The same bytes with a Content-Length instead of chunks.
	replay("002", 0, &r);
	assert_int_equal(r.status, 202);
	http_resp_free(&r);
	assert_int_equal(standin_runs(S), 4);
}

// ---- idempotency ----

static void
test_dedup(void **state)
{
	http_resp r;
	json_t *j;

	(void) state;
	replay_all();
	assert_int_equal(standin_runs(S), 5);
	// The same create again: 409 naming it, nothing stored twice.
	replay("003", -1, &r);
	assert_int_equal(r.status, 409);
	j = http_json(&r);
	assert_string_equal(GET_S(j, "error"),
	    "Conflict: payload already received: payloads already received");
	assert_non_null(strstr(GET_S(j, "details"), ID_MINI));
	json_decref(j);
	http_resp_free(&r);
	// The same update again.
	replay("004", -1, &r);
	assert_int_equal(r.status, 409);
	http_resp_free(&r);
	assert_int_equal(standin_runs(S), 5);
	assert_int_equal(standin_duplicates(S), 2);

	// A batch with one new run and one old: the new one is kept.
	post_runs(1, 1, 1, 202);
	post_runs(1, 2, 1, 409);
	assert_int_equal(standin_runs(S), 7);
	{
		char id[37];
		char *txt = NULL;

		mp_run_id(2, id);
		run_has(id, "\"prompt_tokens\":101", NULL);
		LLMCOST_FAIL(standin_run_json(S,
		                 "01a217b6-0000-7000-8000-00000000ffff", &txt),
		    LLMCOST_ENOTFOUND);
	}
}

// ---- the JSON ingest endpoints ----

#define ROOT  "0190aaaa-0000-7000-8000-000000000001"
#define CHILD "0190aaaa-0000-7000-8000-000000000002"

static void
test_json_endpoints(void **state)
{
	char body[2048];
	char sid[37];
	json_t *j;
	json_t *run;

	(void) state;
	// POST /runs without trace_id or dotted_order: derived, as LangSmith
	// does, for a root and for a child of a stored parent.
	json_decref(post("/runs",
	    "{\"id\":\"" ROOT "\",\"name\":\"req\",\"run_type\":\"chain\","
	    "\"start_time\":\"2026-11-26T10:00:00.000001Z\",\"session_name\":"
	    "\"json\"}",
	    202));
	json_decref(post("/api/v1/runs",
	    "{\"id\":\"" CHILD "\",\"parent_run_id\":\"" ROOT "\",\"name\":"
	    "\"llm\",\"run_type\":\"llm\",\"start_time\":"
	    "\"2026-11-26T10:00:00.5Z\",\"session_name\":\"json\",\"extra\":{"
	    "\"metadata\":{\"ls_provider\":\"openai\",\"ls_model_name\":"
	    "\"gpt-4o\"}}}",
	    202));
	// A child of a run the server does not have: refused.
	j = post("/runs",
	    "{\"id\":\"0190aaaa-0000-7000-8000-000000000009\",\"parent_run_"
	    "id\":"
	    "\"0190aaaa-0000-7000-8000-00000000000a\",\"name\":\"x\","
	    "\"run_type\":\"llm\",\"start_time\":\"2026-11-26T10:00:00Z\"}",
	    422);
	assert_non_null(
	    strstr(GET_S(j, "details"), "parent run is not stored"));
	json_decref(j);
	// PATCH /runs/{id}: end time and usage in one update, priced then.
	json_decref(req("PATCH", "/runs/" CHILD,
	    "{\"end_time\":\"2026-11-26T10:00:01Z\",\"outputs\":{"
	    "\"usage_metadata\":{\"input_tokens\":1000,\"output_tokens\":100,"
	    "\"input_token_details\":{\"cache_read\":400}}}}",
	    202));
	json_decref(req("PATCH", "/runs/" CHILD, "{\"end_time\":1}", 409));
	j = req(
	    "PATCH", "/runs/0190aaaa-0000-7000-8000-0000000000ff", "{}", 404);
	json_decref(j);
	j = req("PATCH", "/runs/nope", "{}", 422);
	json_decref(j);

	session_id("json", sid);
	snprintf(
	    body, sizeof(body), "{\"trace\":\"%s\",\"order\":\"asc\"}", ROOT);
	j = post("/api/v1/runs/query", body, 200);
	assert_int_equal(json_array_size(json_object_get(j, "runs")), 2);
	run = find_by_id(json_object_get(j, "runs"), CHILD);
	assert_string_equal(GET_S(run, "dotted_order"),
	    "20261126T100000000001Z" ROOT ".20261126T100000500000Z" CHILD);
	assert_string_equal(GET_S(run, "trace_id"), ROOT);
	assert_string_equal(GET_S(run, "session_id"), sid);
	// gpt-4o: 400 x 1.25 + 600 x 2.50 = 2000; 100 x 10 = 1000
	assert_string_equal(GET_S(run, "total_cost"), "0.003");
	assert_string_equal(GET_S(run, "prompt_cost"), "0.002");
	json_decref(j);

	// POST /runs/batch: creates and updates, as the SDKs fall back to.
	snprintf(body, sizeof(body),
	    "{\"post\":[{\"id\":\"%s\",\"trace_id\":\"%s\",\"dotted_order\":"
	    "\"20261126T110000000000Z%s\",\"name\":\"b\",\"run_type\":\"llm\","
	    "\"start_time\":\"2026-11-26T11:00:00Z\",\"session_name\":"
	    "\"json\"}],"
	    "\"patch\":[{\"id\":\"%s\",\"trace_id\":\"%s\",\"dotted_order\":"
	    "\"20261126T110000000000Z%s\",\"end_time\":\"2026-11-26T11:00:"
	    "01Z\","
	    "\"error\":\"boom\"}]}",
	    ID_MINI, ID_MINI, ID_MINI, ID_MINI, ID_MINI, ID_MINI);
	json_decref(post("/runs/batch", body, 202));
	j = post("/api/v1/runs/batch", "{\"post\":[{\"id\":\"x\"}]}", 422);
	assert_non_null(strstr(GET_S(j, "details"), "id: 'x' is not a UUID"));
	json_decref(j);
	run_has(ID_MINI, "\"status\":\"error\"", "\"error\":\"boom\"", NULL);
	assert_int_equal(standin_runs(S), 3);
}

// An update that arrives before its create waits for it.
static void
test_patch_before_post(void **state)
{
	char body[2048];
	char *txt = NULL;

	(void) state;
	snprintf(body, sizeof(body),
	    "{\"patch\":[{\"id\":\"%s\",\"trace_id\":\"%s\",\"dotted_order\":"
	    "\"20261126T110000000000Z%s\",\"end_time\":\"2026-11-26T11:00:"
	    "01Z\","
	    "\"outputs\":{\"usage_metadata\":{\"input_tokens\":10,"
	    "\"output_tokens\":5}}}]}",
	    ID_MINI, ID_MINI, ID_MINI);
	json_decref(post("/runs/batch", body, 202));
	LLMCOST_FAIL(standin_run_json(S, ID_MINI, &txt), LLMCOST_ENOTFOUND);
	snprintf(body, sizeof(body),
	    "{\"post\":[{\"id\":\"%s\",\"trace_id\":\"%s\",\"dotted_order\":"
	    "\"20261126T110000000000Z%s\",\"name\":\"b\",\"run_type\":\"llm\","
	    "\"start_time\":\"2026-11-26T11:00:00Z\",\"extra\":{\"metadata\":{"
	    "\"ls_provider\":\"openai\",\"ls_model_name\":\"gpt-4o-mini\"}}}]"
	    "}",
	    ID_MINI, ID_MINI, ID_MINI);
	json_decref(post("/runs/batch", body, 202));
	// 10 x 0.15 + 5 x 0.60 = 4.5 pico-USD x 1e6
	run_has(ID_MINI, "\"prompt_tokens\":10",
	    "\"total_cost\":\"0.0000045\"", "\"session_id\"", NULL);
	// The project was "default": no session_name was given.
	{
		char sid[37];

		LLMCOST_PASS(standin_session_id(S, "default", sid));
	}
}

// ---- prices ----

static void
test_prices(void **state)
{
	const char *map
	    = "[{\"name\":\"m\",\"match_pattern\":\"^gpt-4o-mini$\","
	      "\"provider\":"
	      "\"openai\",\"input_per_million\":\"1\",\"output_per_million\":"
	      "2,"
	      "\"input_details_per_million\":{\"cache_read\":\"0.5\"}},"
	      "{\"name\":\"m2\",\"match_pattern\":\"^gpt-4o-mini$\","
	      "\"provider\":"
	      "\"openai\",\"start_time\":\"2026-11-26T12:00:00.000002Z\","
	      "\"input_per_million\":\"100\",\"output_per_million\":\"100\"}]";
	char id[37];

	(void) state;
	LLMCOST_FAIL(
	    standin_set_prices(S, "{\"not\":\"a list\"}"), LLMCOST_EINVAL);
	LLMCOST_FAIL(standin_set_prices(S, "[{\"match_pattern\":\"(\"}]"),
	    LLMCOST_EINVAL);
	LLMCOST_PASS(standin_set_prices(S, map));
	// Runs 0..2 start at .000000, .000001, .000002: the dated entry
	// applies from the third on.
	post_runs(0, 3, 1, 202);
	mp_run_id(0, id);
	// 100 x 1 + 10 x 2 = 120 micro-USD
	run_has(id, "\"total_cost\":\"0.00012\"", NULL);
	mp_run_id(2, id);
	// (102 + 10) x 100 = 11200 micro-USD
	run_has(id, "\"total_cost\":\"0.0112\"", NULL);

	// Not backfilled: a new map leaves priced runs alone.
	LLMCOST_PASS(standin_set_prices(S, "[]"));
	mp_run_id(0, id);
	run_has(id, "\"total_cost\":\"0.00012\"", NULL);
	// ...and a run after it, with no matching entry, is unpriced.
	post_runs(10, 1, 1, 202);
	mp_run_id(10, id);
	run_has(id, "\"total_cost\":null", "\"prompt_tokens\":100", NULL);

	// Greedy and unclamped: cache_read above input_tokens goes negative
	// (langsmith-sdk#1858); client-supplied costs win over the map.
	LLMCOST_PASS(standin_set_prices(S, map));
	json_decref(post("/runs/batch",
	    "{\"post\":[{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI
	    "\",\"dotted_order\":\"20261126T110000000000Z" ID_MINI
	    "\",\"name\":\"b\",\"run_type\":\"llm\",\"start_time\":"
	    "\"2026-11-26T11:00:00Z\",\"end_time\":\"2026-11-26T11:00:01Z\","
	    "\"outputs\":{\"usage_metadata\":{\"input_tokens\":100,"
	    "\"output_tokens\":0,\"input_token_details\":{\"cache_read\":300}}"
	    "},"
	    "\"extra\":{\"metadata\":{\"ls_provider\":\"openai\","
	    "\"ls_model_name\":\"gpt-4o-mini\"}}},"
	    "{\"id\":\"" ID_CHAIN "\",\"trace_id\":\"" ID_CHAIN
	    "\",\"dotted_order\":\"20261126T110000000000Z" ID_CHAIN
	    "\",\"name\":\"b\",\"run_type\":\"llm\",\"start_time\":"
	    "\"2026-11-26T11:00:00Z\",\"end_time\":\"2026-11-26T11:00:01Z\","
	    "\"outputs\":{\"usage_metadata\":{\"input_tokens\":100,"
	    "\"output_tokens\":0,\"total_cost\":\"1.5E-7\"}},"
	    "\"extra\":{\"metadata\":{\"ls_provider\":\"openai\","
	    "\"ls_model_name\":\"gpt-4o-mini\"}}}]}",
	    202));
	// 300 x 0.5 + (100 - 300) x 1 = -50 micro-USD
	run_has(ID_MINI, "\"prompt_cost\":\"-0.00005\"", NULL);
	run_has(ID_CHAIN, "\"total_cost\":\"0.00000015\"",
	    "\"price_model_id\":null", NULL);
}

// Usage that lands after the run ended is counted but not costed.
static void
test_usage_after_end(void **state)
{
	(void) state;
	json_decref(post("/runs/batch",
	    "{\"post\":[{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI
	    "\",\"dotted_order\":\"20261126T110000000000Z" ID_MINI
	    "\",\"name\":\"b\",\"run_type\":\"llm\",\"start_time\":"
	    "\"2026-11-26T11:00:00Z\",\"end_time\":\"2026-11-26T11:00:01Z\","
	    "\"extra\":{\"metadata\":{\"ls_provider\":\"openai\","
	    "\"ls_model_name\":\"gpt-4o-mini\"}}}]}",
	    202));
	json_decref(post("/runs/batch",
	    "{\"patch\":[{\"id\":\"" ID_MINI "\",\"trace_id\":\"" ID_MINI
	    "\",\"dotted_order\":\"20261126T110000000000Z" ID_MINI
	    "\",\"outputs\":{\"usage_metadata\":{\"input_tokens\":1000,"
	    "\"output_tokens\":100}}}]}",
	    202));
	run_has(
	    ID_MINI, "\"prompt_tokens\":1000", "\"total_cost\":null", NULL);
}

// ---- the read API's rules ----

// Requests the read API refuses: path, body ($SID: the session id), the
// status, and a piece of the details when they say more.
static const struct refused_query {
	const char *path, *body;
	long status;
	const char *detail;
} refused[] = {
	{ "/api/v1/runs/query", "{\"session\":[\"$SID\"],\"limit\":101}",
	    422 },
	{ "/api/v1/runs/query", "{\"run_type\":\"llm\"}", 422 },
	{ "/api/v1/runs/query",
	    "{\"session\":[\"$SID\"],\"run_type\":\"LLM\"}", 422 },
	{ "/api/v1/runs/query",
	    "{\"session\":[\"$SID\"],\"select\":[\"NAME\"]}", 422 },
	{ "/api/v1/runs/query",
	    "{\"session\":[\"$SID\"],\"filter\":\"eq(nope, 1)\"}", 400,
	    "unknown field 'nope'" },
	{ "/api/v1/runs/query",
	    "{\"session\":[\"$SID\"],\"filter\":\"and(eq(run_type, 'llm')\"}",
	    400 },
	{ "/api/v1/runs/query",
	    "{\"session\":[\"$SID\"],\"tree_filter\":\"eq(name, 'x')\"}",
	    400 },
	{ "/api/v2/runs/query",
	    "{\"min_start_time\":\"2026-11-26T00:00:00Z\"}", 422,
	    "project_ids" },
	{ "/api/v2/runs/query",
	    "{\"project_ids\":[\"$SID\"],\"run_type\":\"llm\"}", 422 },
	{ "/api/v2/runs/query",
	    "{\"project_ids\":[\"$SID\"],\"page_size\":1001}", 422 },
	{ "/api/v2/runs/query",
	    "{\"project_ids\":[\"$SID\"],\"selects\":[\"name\"]}", 422 },
	{ "/api/v2/runs/query",
	    "{\"project_ids\":[\"$SID\"],\"cursor\":\"nope\"}", 422 },
	{ "/api/v1/runs/stats", "{\"run_type\":\"llm\"}", 422 },
	{ "/api/v1/runs/stats", "{\"session\":", 400 },
};

static void
test_query_rules(void **state)
{
	char sid[37];
	char body[1024];
	json_t *j;

	(void) state;
	replay_all();
	session_id("llmcost-check", sid);
#define BODY(...) snprintf(body, sizeof(body), __VA_ARGS__)
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct refused_query *q = &refused[i];
		char *at = strstr(q->body, "$SID");
		if (at != NULL) {
			BODY("%.*s%s%s", (int) (at - q->body), q->body, sid,
			    at + 4);
		} else {
			BODY("%s", q->body);
		}
		j = post(q->path, body, q->status);
		if (q->detail != NULL
		    && strstr(GET_S(j, "details"), q->detail) == NULL) {
			fail_msg("%s %s: details %s", q->path, body,
			    GET_S(j, "details"));
		}
		json_decref(j);
	}

	// v2's default window is the last day: the captured runs (older
	// than that, or in the future) are outside it unless asked.
	BODY("{\"project_ids\":[\"%s\"],\"max_start_time\":"
	     "\"2026-11-26T11:55:52.385002Z\",\"min_start_time\":"
	     "\"2026-11-26T11:55:52.385002Z\",\"selects\":[\"ID\"]}",
	    sid);
	j = post("/api/v2/runs/query", body, 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);

	// Filters: tags, is_root, tokens, error, in(), or(), has(metadata).
#define COUNT_V1(filter, n)                                                   \
	do {                                                                  \
		BODY("{\"session\":[\"%s\"],\"select\":[\"id\"],\"filter\":"  \
		     "\"%s\"}",                                               \
		    sid, filter);                                             \
		j = post("/api/v1/runs/query", body, 200);                    \
		if (json_array_size(json_object_get(j, "runs")) != (n)) {     \
			fail_msg("%s: %zu runs, want %d", filter,             \
			    json_array_size(json_object_get(j, "runs")), n);  \
		}                                                             \
		json_decref(j);                                               \
	} while (0)
	COUNT_V1("has(tags, 'production')", 1);
	COUNT_V1("eq(is_root, true)", 3);
	COUNT_V1("gt(total_tokens, 2900)", 1);
	COUNT_V1("gte(total_tokens, 2900)", 2);
	COUNT_V1("neq(error, null)", 1);
	COUNT_V1("eq(status, 'error')", 1);
	COUNT_V1("in(metadata_value, ['summarizer', 'rag-search'])", 2);
	COUNT_V1(
	    "or(eq(name, 'ChatAnthropic'), eq(name, 'handle_request'))", 2);
	COUNT_V1(
	    "has(metadata, '{\\\\\\\"env\\\\\\\": \\\\\\\"staging\\\\\\\"}')",
	    1);
	COUNT_V1(
	    "and(eq(metadata_key, 'env'), eq(metadata_value, 'rag-search'))",
	    0);
	COUNT_V1("not(eq(run_type, 'llm'))", 1);
	COUNT_V1("gt(start_time, '2026-11-26T11:55:52.386003Z')", 2);
	COUNT_V1("search('Anthropic')", 1);

	// Ingest lag: accepted, but not visible yet.
	standin_set_ingest_lag_ms(S, 3600 * 1000);
	{
		char lsid[37];

		post_runs(100, 1, 0, 202);
		assert_int_equal(standin_runs(S), 6);
		LLMCOST_PASS(standin_session_id(S, "load", lsid));
		BODY("{\"session\":[\"%s\"]}", lsid);
		j = post("/api/v1/runs/query", body, 200);
		assert_int_equal(
		    json_array_size(json_object_get(j, "runs")), 0);
		json_decref(j);
	}
}

static void
test_sessions(void **state)
{
	json_t *j;

	(void) state;
	replay_all();
	post_runs(0, 1, 0, 202); // project "load"
	j = get("/sessions", 200);
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);
	j = get("/sessions?offset=1", 200);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(GET_S(json_array_get(j, 0), "name"), "load");
	json_decref(j);
	j = get("/sessions?name=nope", 200);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	j = get("/api/v1/sessions?name_contains=cost&include_stats=true", 200);
	assert_int_equal(json_array_size(j), 1);
	assert_int_equal(GET_I(json_array_get(j, 0), "run_count"), 5);
	// Project stats serve costs as strings.
	assert_string_equal(
	    GET_S(json_array_get(j, 0), "total_cost"), "0.0198466");
	json_decref(j);
	json_decref(get("/api/v1/sessions?limit=0", 422));
}

// ---- encodings and sizes ----

static void
test_gzip(void **state)
{
	size_t len;
	char *body = capture_read("002.body", &len);
	uLongf zlen = compressBound(len) + 64;
	unsigned char *z = malloc(zlen);
	z_stream zs;
	char url[256];
	const char *h[] = { "Content-Type: multipart/form-data; "
		            "boundary=----LangSmithFormBoundaryeuetckfhffq",
		"x-api-key: " KEY, "Content-Encoding: gzip", NULL };
	const char *hz[] = { "Content-Type: multipart/form-data; boundary=x",
		"x-api-key: " KEY, "Content-Encoding: zstd", NULL };
	http_resp r;

	(void) state;
	assert_non_null(z);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	                     Z_DEFAULT_STRATEGY),
	    Z_OK);
	zs.next_in = (Bytef *) body;
	zs.avail_in = (uInt) len;
	zs.next_out = z;
	zs.avail_out = (uInt) zlen;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	zlen = zs.total_out;
	deflateEnd(&zs);
	snprintf(url, sizeof(url), "%s/runs/multipart", standin_url(S));
	http_do("POST", url, h, z, zlen, 1, 0, &r);
	assert_int_equal(r.status, 202);
	http_resp_free(&r);
	assert_int_equal(standin_runs(S), 4);
	// Truncated gzip: 400; an encoding the stand-in cannot read: 415.
	http_do("POST", url, h, z, zlen / 2, 0, 0, &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "gzip"));
	http_resp_free(&r);
	http_do("POST", url, hz, "x", 1, 0, 0, &r);
	assert_int_equal(r.status, 415);
	http_resp_free(&r);
	// Bytes after the gzip member: 400 (one member is the whole body).
	unsigned char *zt = malloc(zlen + 4);
	assert_non_null(zt);
	memcpy(zt, z, zlen);
	memcpy(zt + zlen, "junk", 4);
	http_do("POST", url, h, zt, zlen + 4, 0, 0, &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "after the gzip member"));
	http_resp_free(&r);
	free(zt);
	assert_int_equal(standin_gzipped(S), 1);
	// The size cap applies to the decoded body.
	standin_set_max_body(S, len - 1);
	http_do("POST", url, h, z, zlen, 0, 0, &r);
	assert_int_equal(r.status, 413);
	http_resp_free(&r);
	free(z);
	free(body);
}

static void
test_too_big(void **state)
{
	http_resp r;

	(void) state;
	standin_set_max_body(S, 1000);
	replay("002", -1, &r); // chunked: no size known in advance
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(r.body, "over the limit of 1000 bytes"));
	http_resp_free(&r);
	replay("002", 0, &r); // with a Content-Length
	assert_int_equal(r.status, 413);
	http_resp_free(&r);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 413), 2);
	assert_int_equal(standin_runs(S), 0);
	// /info advertises the limit.
	replay("001", -1, &r);
	assert_non_null(strstr(r.body, "\"size_limit_bytes\":1000"));
	http_resp_free(&r);
}

// Without payloads: what queries compute on is kept, the rest is not.
static void
test_drop_payloads(void **state)
{
	standin_options o = { .api_key = KEY, .drop_payloads = 1 };
	standin *keep = S;
	char *txt;
	json_t *all;
	json_t *run;

	(void) state;
	LLMCOST_PASS(standin_start(&o, &S));
	replay_all();
	LLMCOST_PASS(standin_runs_json(S, &txt));
	standin_stop(S);
	S = keep;
	all = json_loads(txt, 0, NULL);
	free(txt);
	assert_int_equal(json_array_size(all), 5);
	// Arrival order: the chain first, the patched run last.
	assert_string_equal(GET_S(json_array_get(all, 0), "id"), ID_CHAIN);
	assert_string_equal(GET_S(json_array_get(all, 4), "id"), ID_MINI);
	run = find_by_id(all, ID_OPENAI);
	assert_true(json_is_null(json_object_get(run, "outputs")));
	assert_true(json_is_null(json_object_get(run, "inputs")));
	assert_string_equal(
	    GET_S(json_object_get(json_object_get(run, "extra"), "metadata"),
	        "ls_model_name"),
	    "o4-mini");
	assert_string_equal(GET_S(run, "total_cost"), "0.0048928");
	assert_int_equal(GET_I(run, "prompt_tokens"), 2000);
	json_decref(all);
}

// ---- the program ----

static void
test_binary(void **state)
{
	int out[2];
	pid_t pid;
	char line[128] = "";
	size_t n = 0;
	int st;
	char url[200];
	http_resp info;
	http_resp sess;
	const char *h[] = { "x-api-key: " KEY, NULL };

	(void) state;
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		// Dies with the test, whatever happens to the test.
		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		setenv("LLMCOST_STANDIN_API_KEY", "k2", 1);
		execl(STANDIN_BIN, STANDIN_BIN, "--port", "0",
		    "--drop-payloads", (char *) NULL);
		_exit(127);
	}
	close(out[1]);
	while (n + 1 < sizeof(line) && read(out[0], line + n, 1) == 1
	    && line[n] != '\n') {
		n++;
	}
	line[n] = '\0';
	close(out[0]);
	// Ask first, stop the program, then judge: a failed assertion must
	// not leave it running.
	snprintf(url, sizeof(url), "%s/info", line);
	http_do("GET", url, NULL, NULL, 0, 0, 5000, &info);
	snprintf(url, sizeof(url), "%s/sessions", line);
	http_do("GET", url, h, NULL, 0, 0, 5000, &sess);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(strncmp(line, "http://127.0.0.1:", 17), 0);
	assert_int_equal(info.status, 200);
	assert_non_null(strstr(info.body, "use_multipart_endpoint"));
	assert_int_equal(sess.status, 401); // only k2 is accepted
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	http_resp_free(&info);
	http_resp_free(&sess);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_replay_v1, reset_each),
		cmocka_unit_test_setup(test_replay_v2, reset_each),
		cmocka_unit_test_setup(test_replay_stats, reset_each),
		cmocka_unit_test_setup(test_validation, reset_each),
		cmocka_unit_test_setup(test_not_chunked, reset_each),
		cmocka_unit_test_setup(test_dedup, reset_each),
		cmocka_unit_test_setup(test_json_endpoints, reset_each),
		cmocka_unit_test_setup(test_patch_before_post, reset_each),
		cmocka_unit_test_setup(test_prices, reset_each),
		cmocka_unit_test_setup(test_usage_after_end, reset_each),
		cmocka_unit_test_setup(test_query_rules, reset_each),
		cmocka_unit_test_setup(test_sessions, reset_each),
		cmocka_unit_test_setup(test_gzip, reset_each),
		cmocka_unit_test_setup(test_too_big, reset_each),
		cmocka_unit_test_setup(test_drop_payloads, reset_each),
		cmocka_unit_test_setup(test_binary, reset_each),
	};

	curl_global_init(CURL_GLOBAL_ALL);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
