// The stand-in's fault injection as a client sees it over real HTTP: 429
// with and without Retry-After, 500/502/503, 401, slow answers, connections
// cut mid-request (before and after the runs were stored), 413, 404/405 on
// /runs/multipart with the fall back to /runs/batch, rule ordering, and
// many clients at once with cursor paging over everything they sent.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "harness.h"
#include "standin.h"
#include "testutil.h"

#define KEY "k"

static standin *S;
static char URL_MP[256];

static int
setup(void **state)
{
	int rv;

	(void) state;
	rv = standin_start(NULL, &S);
	if (rv == 0) {
		snprintf(URL_MP, sizeof(URL_MP), "%s/runs/multipart",
		    standin_url(S));
	}
	return (rv);
}

static int
teardown(void **state)
{
	(void) state;
	standin_stop(S);
	return (0);
}

static int
reset_each(void **state)
{
	(void) state;
	return (standin_restore(S));
}

static const char *const HDRS[]
    = { "Content-Type: " MP_CT, "x-api-key: " KEY, NULL };

// Send runs first..first+n-1 as one multipart request.
static void
send_runs(uint64_t first, int n, long timeout_ms, http_resp *r)
{
	http_post_runs(standin_url(S), KEY, first, n, 1, timeout_ms, r);
}

#define EXPECT_ANY    (-2) // not checked
#define EXPECT_FAILED (-1) // any transfer failure (not CURLE_OK)

// Send runs first..first+n-1 (send_runs) and check curl's result and the
// status (EXPECT_ANY: either not checked; EXPECT_FAILED: curl failed).
static void
send_expect(
    uint64_t first, int n, long timeout_ms, int want_curl, long want_status)
{
	http_resp r;

	send_runs(first, n, timeout_ms, &r);
	if (want_curl == EXPECT_FAILED) {
		assert_int_not_equal(r.curl_rc, CURLE_OK);
	} else if (want_curl != EXPECT_ANY) {
		assert_int_equal(r.curl_rc, want_curl);
	}
	if (want_status != EXPECT_ANY) {
		assert_int_equal(r.status, want_status);
	}
	http_resp_free(&r);
}

// The status of one request (http_do, no timeout of its own), the
// response freed.
static long
status_of(const char *method, const char *url, const char *const *hdrs,
    const void *body, size_t len, int chunked)
{
	http_resp r;
	http_do(method, url, hdrs, body, len, chunked, 0, &r);
	long status = r.status;
	http_resp_free(&r);
	return (status);
}

static void
fault(standin_ep ep, int status, int retry_after, int delay_ms, int reset,
    int after_store, int times, int skip)
{
	standin_fault f = { .ep = ep,
		.status = status,
		.retry_after = retry_after,
		.delay_ms = delay_ms,
		.reset = reset,
		.after_store = after_store,
		.times = times,
		.skip = skip };

	LLMCOST_PASS(standin_fault_add(S, &f));
}

static void
fault_every(standin_ep ep, int status, int reset, int after_store, int every)
{
	standin_fault f = { .ep = ep,
		.status = status,
		.reset = reset,
		.after_store = after_store,
		.times = -1,
		.every = every };

	LLMCOST_PASS(standin_fault_add(S, &f));
}

static void
test_statuses(void **state)
{
	static const int codes[] = { 429, 500, 502, 503, 401 };
	http_resp r;

	(void) state;
	// 429 with Retry-After, then without.
	fault(STANDIN_EP_MULTIPART, 429, 10, 0, 0, 0, 1, 0);
	fault(STANDIN_EP_MULTIPART, 429, 0, 0, 0, 0, 1, 0);
	send_runs(0, 2, 0, &r);
	assert_int_equal(r.status, 429);
	assert_string_equal(r.retry_after, "10");
	assert_non_null(strstr(r.body, "Too Many Requests"));
	http_resp_free(&r);
	send_runs(0, 2, 0, &r);
	assert_int_equal(r.status, 429);
	assert_string_equal(r.retry_after, "");
	http_resp_free(&r);
	assert_int_equal(standin_runs(S), 0); // refused requests store nothing
	send_runs(0, 2, 0, &r);
	assert_int_equal(r.status, 202); // the rules are used up
	http_resp_free(&r);
	assert_int_equal(standin_runs(S), 2);

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		fault(STANDIN_EP_ANY, codes[i], 0, 0, 0, 0, 1, 0);
		send_expect(10 + i, 1, 0, EXPECT_ANY, codes[i]);
		assert_int_equal(
		    standin_count(S, STANDIN_EP_MULTIPART, codes[i]),
		    i == 0 ? 3 : 1);
	}
	assert_int_equal(standin_runs(S), 2);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 202), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 0), 8);
}

static void
test_rule_order(void **state)
{
	http_resp r;
	long got[5];

	(void) state;
	// Pass one, fail two, then pass: skip and times.
	fault(STANDIN_EP_MULTIPART, 503, 0, 0, 0, 0, 2, 1);
	// A rule for another endpoint never takes multipart requests.
	fault(STANDIN_EP_BATCH, 500, 0, 0, 0, 0, -1, 0);
	for (int i = 0; i < 4; i++) {
		send_runs((uint64_t) i * 10, 1, 0, &r);
		got[i] = r.status;
		http_resp_free(&r);
	}
	assert_int_equal(got[0], 202);
	assert_int_equal(got[1], 503);
	assert_int_equal(got[2], 503);
	assert_int_equal(got[3], 202);
	// times = -1: forever.
	{
		char url[256];

		snprintf(url, sizeof(url), "%s/runs/batch", standin_url(S));
		for (int i = 0; i < 3; i++) {
			got[i] = status_of("POST", url, HDRS + 1, "{}", 2, 0);
		}
		assert_int_equal(got[0], 500);
		assert_int_equal(got[2], 500);
	}
	standin_faults_clear(S);
	send_expect(100, 1, 0, EXPECT_ANY, 202);
}

// A slow answer: a patient client gets it, an impatient one times out.
static void
test_slow(void **state)
{
	static const struct {
		int delay_ms;
		long timeout_ms;
		int curl;
		long status;
	} slow[] = { { 300, 0, CURLE_OK, 202 },
		{ 5000, 200, CURLE_OPERATION_TIMEDOUT, 0 } };
	char url[256];

	(void) state;
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		fault(
		    STANDIN_EP_MULTIPART, 0, 0, slow[i].delay_ms, 0, 0, 1, 0);
		send_expect(
		    i, 1, slow[i].timeout_ms, slow[i].curl, slow[i].status);
	}
	// A delay before an error status.
	fault(STANDIN_EP_INFO, 502, 0, 100, 0, 0, 1, 0);
	snprintf(url, sizeof(url), "%s/info", standin_url(S));
	assert_int_equal(status_of("GET", url, NULL, NULL, 0, 0), 502);
}

static void
test_reset(void **state)
{
	http_resp r;

	(void) state;
	// Cut mid-request: no answer, nothing stored.
	fault(STANDIN_EP_MULTIPART, 0, 0, 0, 1, 0, 1, 0);
	send_expect(0, 3, 0, EXPECT_FAILED, 0);
	assert_int_equal(
	    standin_count(S, STANDIN_EP_MULTIPART, STANDIN_RESET), 1);
	assert_int_equal(standin_runs(S), 0);

	// Cut after storing: the client saw nothing, the retry is a duplicate.
	fault(STANDIN_EP_MULTIPART, 0, 0, 0, 1, 1, 1, 0);
	send_expect(0, 3, 0, EXPECT_FAILED, EXPECT_ANY);
	assert_int_equal(standin_runs(S), 3);
	send_expect(0, 3, 0, EXPECT_ANY, 409);

	// A 500 after storing: likewise.
	fault(STANDIN_EP_MULTIPART, 500, 0, 0, 0, 1, 1, 0);
	send_runs(10, 2, 0, &r);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.body, "after storing"));
	http_resp_free(&r);
	send_expect(10, 2, 0, EXPECT_ANY, 409);
	assert_int_equal(standin_runs(S), 5);
	assert_int_equal(
	    standin_count(S, STANDIN_EP_MULTIPART, STANDIN_RESET), 2);
	assert_int_equal(standin_duplicates(S), 5);
}

static void
test_too_big(void **state)
{
	size_t len;
	char *mp = mp_runs(0, 10, &len);

	(void) state;
	standin_set_max_body(S, len - 1);
	assert_int_equal(status_of("POST", URL_MP, HDRS, mp, len, 1), 413);
	standin_set_max_body(S, len);
	assert_int_equal(status_of("POST", URL_MP, HDRS, mp, len, 1), 202);
	free(mp);
	assert_int_equal(standin_runs(S), 10);
}

// An old server: /runs/multipart answers 404 (or 405); the client falls
// back to /runs/batch, as the SDKs do.
static void
test_fallback(void **state)
{
	static const int codes[] = { 404, 405 };
	char url[256];

	(void) state;
	snprintf(url, sizeof(url), "%s/runs/batch", standin_url(S));
	for (size_t i = 0; i < 2; i++) {
		char body[1024];
		char id[37];

		fault(STANDIN_EP_MULTIPART, codes[i], 0, 0, 0, 0, -1, 0);
		send_expect(i, 1, 0, EXPECT_ANY, codes[i]);
		mp_run_id(i, id);
		snprintf(body, sizeof(body),
		    "{\"post\":[{\"id\":\"%s\",\"trace_id\":\"%s\","
		    "\"dotted_order\":\"20261126T120000000000Z%s\",\"name\":"
		    "\"call\",\"run_type\":\"llm\",\"start_time\":"
		    "\"2026-11-26T12:00:00Z\"}]}",
		    id, id, id);
		assert_int_equal(
		    status_of("POST", url, HDRS + 1, body, strlen(body), 0),
		    202);
		standin_faults_clear(S);
	}
	assert_int_equal(standin_runs(S), 2);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 404), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_MULTIPART, 405), 1);
	assert_int_equal(standin_count(S, STANDIN_EP_BATCH, 202), 2);
}

// ---- many clients ----

#define THREADS 4
#define BATCHES 25
#define PER     4

static void *
client_thread(void *arg)
{
	uint64_t t = (uint64_t) (uintptr_t) arg;
	long *fails = calloc(1, sizeof(long));

	for (int b = 0; b < BATCHES; b++) {
		uint64_t first = (t * BATCHES + (uint64_t) b) * PER;
		http_resp r;

		// Retry what the faults refuse, as an exporter would.
		for (int attempt = 0; attempt < 20; attempt++) {
			send_runs(first, PER, 0, &r);
			if (r.status == 202 || r.status == 409) {
				http_resp_free(&r);
				break;
			}
			(*fails)++;
			http_resp_free(&r);
		}
	}
	return (fails);
}

static void
test_load(void **state)
{
	pthread_t th[THREADS];
	long refused = 0;
	char sid[37];
	char body[512];
	char cursor[128] = "";
	size_t seen = 0;
	uint8_t *found = calloc(THREADS * BATCHES * PER, 1);

	(void) state;
	assert_non_null(found);
	// Every 7th request refused, every 11th of the others cut after
	// storing.
	fault_every(STANDIN_EP_MULTIPART, 429, 0, 0, 7);
	fault_every(STANDIN_EP_MULTIPART, 0, 1, 1, 11);
	for (uintptr_t t = 0; t < THREADS; t++) {
		assert_int_equal(
		    pthread_create(&th[t], NULL, client_thread, (void *) t),
		    0);
	}
	for (int t = 0; t < THREADS; t++) {
		void *ret;

		pthread_join(th[t], &ret);
		refused += *(long *) ret;
		free(ret);
	}
	assert_true(refused > 0);
	assert_int_equal(standin_runs(S), THREADS * BATCHES * PER);

	// Every run exactly once through v2 paging.
	LLMCOST_PASS(standin_session_id(S, "load", sid));
	for (;;) {
		json_t *res;
		json_t *it;
		size_t i;
		http_resp r;

		snprintf(body, sizeof(body),
		    "{\"project_ids\":[\"%s\"],\"min_start_time\":"
		    "\"2026-11-26T00:00:00Z\",\"max_start_time\":"
		    "\"2026-11-27T00:00:00Z\",\"page_size\":37%s%s%s}",
		    sid, cursor[0] ? ",\"cursor\":\"" : "", cursor,
		    cursor[0] ? "\"" : "");
		http_post_json(
		    standin_url(S), "/api/v2/runs/query", KEY, body, &r);
		assert_int_equal(r.status, 200);
		res = http_json(&r);
		http_resp_free(&r);
		json_array_foreach(json_object_get(res, "items"), i, it)
		{
			const char *id
			    = json_string_value(json_object_get(it, "id"));
			unsigned long long k = strtoull(id + 24, NULL, 16);

			assert_true(k < THREADS * BATCHES * PER);
			assert_int_equal(found[k], 0);
			found[k] = 1;
			seen++;
		}
		if (!json_is_true(json_object_get(res, "has_more"))) {
			json_decref(res);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s",
		    json_string_value(json_object_get(res, "next_cursor")));
		json_decref(res);
	}
	assert_int_equal(seen, THREADS * BATCHES * PER);
	free(found);
}

// Stopping does not wait out a slow answer (a hang here is a failure by
// the test's timeout).
static char slow_url[256];

static void *
slow_client(void *arg)
{
	http_resp r;

	(void) arg;
	http_do("GET", slow_url, NULL, NULL, 0, 0, 120000, &r);
	http_resp_free(&r);
	return (NULL);
}

static void
test_stop_wakes(void **state)
{
	standin *s2;
	pthread_t th;
	standin_fault f = { .ep = STANDIN_EP_ANY, .delay_ms = 600000 };

	(void) state;
	LLMCOST_PASS(standin_start(NULL, &s2));
	LLMCOST_PASS(standin_fault_add(s2, &f));
	snprintf(slow_url, sizeof(slow_url), "%s/info", standin_url(s2));
	assert_int_equal(pthread_create(&th, NULL, slow_client, NULL), 0);
	while (standin_received(s2, STANDIN_EP_INFO) == 0) {
		harness_sleep_ms(1);
	}
	standin_stop(s2);
	pthread_join(th, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_statuses, reset_each),
		cmocka_unit_test_setup(test_rule_order, reset_each),
		cmocka_unit_test_setup(test_slow, reset_each),
		cmocka_unit_test_setup(test_reset, reset_each),
		cmocka_unit_test_setup(test_too_big, reset_each),
		cmocka_unit_test_setup(test_fallback, reset_each),
		cmocka_unit_test_setup(test_load, reset_each),
		cmocka_unit_test_setup(test_stop_wakes, reset_each),
	};

	curl_global_init(CURL_GLOBAL_ALL);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
