// End to end: live budget alerts.  A real llmcostd evaluates a budgets
// file as calls are committed and posts each threshold crossing to two
// webhooks (a JSON one and a Slack one) served by a libmicrohttpd server
// in this test, which fails some posts on purpose.  Checked: each
// threshold is delivered to each webhook exactly once per window,
// through failing-then-recovering webhooks, across daemon restarts,
// including a restart while an alert is still pending and a stop while
// a post is in progress (finished and recorded, not posted again); the
// payloads
// carry the budget, the threshold and the exact amounts; every post
// carries the alert id header.  Waits are bounded polls, never timing
// assertions.
#include "e2e.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include <nng/protocol/reqrep0/req.h>

#include "llmcost.h"

// ---- the webhook receiver ----

typedef struct hook_srv {
	struct MHD_Daemon *mhd;
	unsigned port;
	pthread_mutex_t mtx;
	int fail_next;         // answer 500 to this many posts first
	int failed;            // 500s answered
	int json_ok, slack_ok; // 2xx answered per path
	int missing_id;        // posts without X-Llmcost-Alert-Id
	int hold;              // hold 2xx answers until cleared
	int held;              // posts received while holding
	pthread_cond_t cv;     // hold cleared
	char json_body[4096], slack_body[4096], last_id[256];
} hook_srv;

typedef struct body {
	char buf[4096];
	size_t len;
} body;

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	hook_srv *s = cls;
	body *b = *con_cls;
	(void) version;

	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL) {
			return (MHD_NO);
		}
		*con_cls = b;
		return (MHD_YES);
	}
	if (*size > 0) {
		size_t n = *size < sizeof(b->buf) - 1 - b->len
		    ? *size
		    : sizeof(b->buf) - 1 - b->len;
		memcpy(b->buf + b->len, data, n);
		b->len += n;
		*size = 0;
		return (MHD_YES);
	}
	unsigned status = 200;
	const char *id = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, "X-Llmcost-Alert-Id");
	pthread_mutex_lock(&s->mtx);
	if (strcmp(method, "POST") != 0) {
		status = 405;
	} else if (s->fail_next > 0) {
		s->fail_next--;
		s->failed++;
		status = 500;
	} else if (strncmp(url, "/json/", 6) == 0) {
		// A post in progress: received, its answer not yet sent.
		if (s->hold) {
			s->held++;
			pthread_cond_broadcast(&s->cv);
			while (s->hold) {
				pthread_cond_wait(&s->cv, &s->mtx);
			}
		}
		s->json_ok++;
		memcpy(s->json_body, b->buf, b->len + 1);
	} else if (strncmp(url, "/slack/", 7) == 0) {
		s->slack_ok++;
		memcpy(s->slack_body, b->buf, b->len + 1);
	} else {
		status = 404;
	}
	if (id == NULL) {
		s->missing_id++;
	} else {
		snprintf(s->last_id, sizeof(s->last_id), "%s", id);
	}
	pthread_mutex_unlock(&s->mtx);
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    2, (void *) "ok", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rv = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return (rv);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void) cls;
	(void) conn;
	(void) toe;
	free(*con_cls);
	*con_cls = NULL;
}

static hook_srv srv;

static int
srv_get(int *field)
{
	pthread_mutex_lock(&srv.mtx);
	int v = *field;
	pthread_mutex_unlock(&srv.mtx);
	return (v);
}

static void
srv_set_fail(int n)
{
	pthread_mutex_lock(&srv.mtx);
	srv.fail_next = n;
	pthread_mutex_unlock(&srv.mtx);
}

// Polls cond for at most 30 s.
static int
wait_for(int (*cond)(void *), void *arg)
{
	for (int i = 0; i < 3000; i++) {
		if (cond(arg)) {
			return (1);
		}
		harness_sleep_ms(10);
	}
	return (cond(arg));
}

typedef struct want2 {
	int json, slack;
} want2;

static int
delivered(void *arg)
{
	const want2 *w = arg;
	return (srv_get(&srv.json_ok) >= w->json
	    && srv_get(&srv.slack_ok) >= w->slack);
}

static void
srv_set_hold(int on)
{
	pthread_mutex_lock(&srv.mtx);
	srv.hold = on;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mtx);
}

static int
held(void *arg)
{
	(void) arg;
	return (srv_get(&srv.held) >= 1);
}

static int
failed_at_least(void *arg)
{
	return (srv_get(&srv.failed) >= *(int *) arg);
}

// ---- the daemon ----

static char *dir;
static char url[1100];

static pid_t
start_daemon(void)
{
	static const char *const extra[] = { "--budget-interval-ms", "20",
		"--webhook-retry-ms", "20", "--webhook-timeout-ms", "60000",
		"--stop-bound-ms", "120000", NULL };
	pid_t pid = harness_daemon_start(dir, extra);
	assert_true(pid > 0);
	return (pid);
}

// STATS counter `name` of the running daemon.
static uint64_t
stat_of(const char *name)
{
	nng_socket s;
	uint64_t v = UINT64_MAX;
	if (nng_req0_open(&s) != 0) {
		return (v);
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	if (nng_dial(s, url, NULL, 0) == 0) {
		(void) harness_stat(s, name, &v);
	}
	nng_close(s);
	return (v);
}

// The restarted daemon has evaluated its budgets once and scanned its
// outbox once: what it would post is decided.
static int
stop_waited(void *arg)
{
	(void) arg;
	uint64_t v = stat_of("alerts_stop_waits");
	return (v != UINT64_MAX && v >= 1);
}

static int
evaluated(void *arg)
{
	uint64_t n = arg != NULL ? *(uint64_t *) arg : 1;
	uint64_t v = stat_of("budget_evaluations");
	uint64_t s = stat_of("alert_scans");
	return (v != UINT64_MAX && v >= n && s != UINT64_MAX && s >= 1);
}

// n search calls of 1000 gpt-4o input tokens: $0.0025 each.
static void
spend(int n)
{
	llmcost_client *c = e2e_client(url);
	assert_non_null(c);
	for (int i = 0; i < n; i++) {
		llmcost_call *call;
		llmcost_usage u = { { [LLMCOST_IN_UNCACHED] = 1000 } };
		LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o", &call));
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "search"));
		LLMCOST_PASS(llmcost_call_set_usage(call, &u));
		LLMCOST_PASS(llmcost_call_end(call));
	}
	LLMCOST_PASS(llmcost_flush(c, 10000));
	llmcost_shutdown(c, 1000);
}

static void
test_alerts_once(void **state)
{
	char path[1200], text[1024];
	(void) state;

	pthread_mutex_init(&srv.mtx, NULL);
	pthread_cond_init(&srv.cv, NULL);
	srv.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD
	        | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
	    0, NULL, NULL, on_request, &srv, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, &srv, MHD_OPTION_END);
	assert_non_null(srv.mhd);
	srv.port
	    = MHD_get_daemon_info(srv.mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
	dir = harness_tmpdir();
	assert_non_null(dir);
	harness_url(dir, url, sizeof(url));
	snprintf(path, sizeof(path), "%s/budgets.conf", dir);
	snprintf(text, sizeof(text),
	    "[search]\nlimit = 0.01\nwindow = day\nmatch = feature=search\n"
	    "thresholds = 50, 100\n"
	    "webhook = json http://127.0.0.1:%u/json/s3cret?key=hunter2\n"
	    "webhook = slack http://127.0.0.1:%u/slack/T0/B0/XXXX\n"
	    "[other]\nlimit = 1\nwindow = day\nmatch = feature=chat\n"
	    "webhook = json http://127.0.0.1:%u/json/other\n",
	    srv.port, srv.port, srv.port);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);

	// 50 %, through a webhook that fails three posts first.
	srv_set_fail(3);
	pid_t pid = start_daemon();
	spend(2);
	want2 w1 = { 1, 1 };
	if (!wait_for(delivered, &w1)) {
		fail_msg(
		    "50%% alert not delivered: json %d slack %d failed %d",
		    srv.json_ok, srv.slack_ok, srv.failed);
	}
	assert_int_equal(srv_get(&srv.failed), 3);
	json_t *j = json_loads(srv.json_body, 0, NULL);
	assert_non_null(j);
	E2E_ASSERT_JSON_STR(j, "budget", "search");
	E2E_ASSERT_JSON_INT(j, "threshold_percent", 50);
	E2E_ASSERT_JSON_STR(j, "spend_usd", "0.005000000000");
	E2E_ASSERT_JSON_STR(j, "state", "warn");
	json_decref(j);
	j = json_loads(srv.slack_body, 0, NULL);
	assert_non_null(j);
	assert_non_null(strstr(json_string_value(json_object_get(j, "text")),
	    "*search* crossed 50%"));
	json_decref(j);
	assert_int_equal(srv_get(&srv.missing_id), 0);

	// A restart evaluates again and finds the crossing recorded: no
	// second post.
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	pid = start_daemon();
	assert_true(wait_for(evaluated, NULL));
	assert_int_equal(stat_of("alerts_crossed"), 0);
	// ... and has nothing pending to post.
	assert_int_equal(stat_of("alerts_pending"), 0);
	assert_int_equal(srv_get(&srv.json_ok), 1);
	assert_int_equal(srv_get(&srv.slack_ok), 1);

	// 100 % while the webhook is down; the daemon stops with the alert
	// pending and delivers it after a restart, once the webhook
	// recovers.
	srv_set_fail(1000000);
	int failed_before = srv_get(&srv.failed);
	spend(2);
	int want_failed = failed_before + 2;
	assert_true(wait_for(failed_at_least, &want_failed));
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	srv_set_fail(2);
	pid = start_daemon();
	want2 w2 = { 2, 2 };
	if (!wait_for(delivered, &w2)) {
		fail_msg("100%% alert not delivered after the restart");
	}
	j = json_loads(srv.json_body, 0, NULL);
	assert_non_null(j);
	E2E_ASSERT_JSON_INT(j, "threshold_percent", 100);
	E2E_ASSERT_JSON_STR(j, "state", "exhausted");
	E2E_ASSERT_JSON_STR(j, "limit_usd", "0.010000000000");
	json_decref(j);

	// One more restart and more spend in the same window: evaluated
	// at start and after the commit, nothing new.
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	pid = start_daemon();
	spend(1);
	uint64_t two = 2;
	assert_true(wait_for(evaluated, &two));
	assert_int_equal(stat_of("alerts_crossed"), 0);
	assert_int_equal(stat_of("alerts_pending"), 0);
	assert_int_equal(srv_get(&srv.json_ok), 2);
	assert_int_equal(srv_get(&srv.slack_ok), 2);
	assert_int_equal(srv_get(&srv.missing_id), 0);
	assert_non_null(strstr(srv.last_id, "search/"));

	// SIGHUP: a broken file is refused (the daemon keeps its budgets
	// and keeps running); a good one adds a budget that is already
	// over its limit, alerted once.
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("[broken]\nlimit = x\n", f);
	fclose(f);
	uint64_t next = stat_of("budget_evaluations") + 1;
	assert_int_equal(kill(pid, SIGHUP), 0);
	// The reload's evaluation ran, with the budgets in force.
	assert_true(wait_for(evaluated, &next));
	assert_int_equal(stat_of("alerts_crossed"), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	    "%s[all]\nlimit = 0.001\nwindow = day\nthresholds = 100\n"
	    "webhook = json http://127.0.0.1:%u/json/all\n",
	    text, srv.port);
	fclose(f);
	assert_int_equal(kill(pid, SIGHUP), 0);
	want2 w3 = { 3, 2 };
	if (!wait_for(delivered, &w3)) {
		fail_msg("no alert for the budget added by SIGHUP");
	}
	j = json_loads(srv.json_body, 0, NULL);
	assert_non_null(j);
	E2E_ASSERT_JSON_STR(j, "budget", "all");
	json_decref(j);

	// SIGTERM while a post is in progress: the receiver has the post
	// and answers 2xx only once the daemon is stopping.  The stop
	// waits for the answer and records it; the restarted daemon has
	// nothing pending and posts nothing again.
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	    "%s[all]\nlimit = 0.001\nwindow = day\nthresholds = 100\n"
	    "webhook = json http://127.0.0.1:%u/json/all\n"
	    "[late]\nlimit = 0.001\nwindow = day\nthresholds = 100\n"
	    "webhook = json http://127.0.0.1:%u/json/late\n",
	    text, srv.port, srv.port);
	fclose(f);
	srv_set_hold(1);
	assert_int_equal(kill(pid, SIGHUP), 0);
	assert_true(wait_for(held, NULL));
	assert_int_equal(kill(pid, SIGTERM), 0);
	// The stop has begun and found the post in progress.
	assert_true(wait_for(stop_waited, NULL));
	srv_set_hold(0);
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	assert_int_equal(srv_get(&srv.json_ok), 4);
	pid = start_daemon();
	assert_true(wait_for(evaluated, NULL));
	assert_int_equal(stat_of("alerts_crossed"), 0);
	assert_int_equal(stat_of("alerts_pending"), 0);
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	assert_int_equal(srv_get(&srv.json_ok), 4);
	assert_int_equal(srv_get(&srv.slack_ok), 2);
	assert_int_equal(srv_get(&srv.held), 1);

	MHD_stop_daemon(srv.mhd);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alerts_once),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
